#include "stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "xalloc.h"
#include "banned.h"

void wilson95(long k, long n, double *lo, double *hi)
{
	const double z = 1.959963984540054;
	double p, denom, centre, half;

	if (n <= 0) {
		*lo = *hi = NAN;
		return;
	}
	p = (double)k / (double)n;
	denom = 1 + z * z / n;
	centre = (p + z * z / (2.0 * n)) / denom;
	half = z / denom * sqrt(p * (1 - p) / n + z * z / (4.0 * n * n));
	/* at k = 0 and k = n the bound is exactly 0 or 1; rounding would miss it */
	*lo = k <= 0 || centre - half < 0 ? 0 : centre - half;
	*hi = k >= n || centre + half > 1 ? 1 : centre + half;
}

/* log of C(n, k) */
static double log_choose(long n, long k)
{
	return lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1);
}

double mcnemar_exact_p(long b, long c)
{
	long n = b + c, m = b < c ? b : c, i;
	double lmax, sum = 0, p;

	if (b < 0 || c < 0)
		return NAN;
	if (n == 0)
		return 1;
	/* sum the binomial tail in log space, scaled by its largest term (the last) */
	lmax = log_choose(n, m);
	for (i = 0; i <= m; i++)
		sum += exp(log_choose(n, i) - lmax);
	p = 2 * exp(lmax - (double)n * log(2.0)) * sum;
	return p > 1 ? 1 : p;
}

void paired_diff95(long b, long c, long n, double *d, double *lo, double *hi)
{
	const double z = 1.959963984540054;
	double dn, diff, var, half;

	if (n <= 0 || b < 0 || c < 0 || b + c > n) {
		*d = *lo = *hi = NAN;
		return;
	}
	dn = (double)n;
	diff = (double)(c - b) / dn;
	var = ((double)(b + c) / dn - diff * diff) / dn;
	half = z * sqrt(var > 0 ? var : 0);
	*d = diff;
	*lo = diff - half < -1 ? -1 : diff - half;
	*hi = diff + half > 1 ? 1 : diff + half;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double stats_percentile(double *v, size_t n, double q)
{
	double pos, frac;
	size_t i;

	if (n == 0 || isnan(q))
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	if (q <= 0)
		return v[0];
	if (q >= 100)
		return v[n - 1];
	pos = q / 100.0 * (double)(n - 1);
	i = (size_t)pos;
	frac = pos - (double)i;
	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + frac * (v[i + 1] - v[i]);
}

static void swap_double(double *a, double *b)
{
	double t = *a;

	*a = *b;
	*b = t;
}

/* the middle one of three values */
static double median3(double a, double b, double c)
{
	if (a < b)
		return b < c ? b : a < c ? c : a;
	return a < c ? a : b < c ? c : b;
}

/*
 * Put the k-th smallest of v[0..n-1] at v[k], nothing larger before it and
 * nothing smaller after it: quickselect with a three-way partition, so that
 * equal values (latencies of 0 ms) cost one pass; a range that does not
 * shrink fast enough is sorted instead, which bounds the worst case.
 */
static void select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n, rounds = 0;

	while (hi - lo > 1) {
		size_t lt = lo, i = lo, gt = hi;
		double p;

		if (++rounds > 64) {
			qsort(v + lo, hi - lo, sizeof(*v), cmp_double);
			return;
		}
		p = median3(v[lo], v[lo + (hi - lo) / 2], v[hi - 1]);
		while (i < gt) {
			if (v[i] < p)
				swap_double(&v[lt++], &v[i++]);
			else if (v[i] > p)
				swap_double(&v[i], &v[--gt]);
			else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return;
	}
}

double stats_percentile_select(double *v, size_t n, double q)
{
	double pos, frac, next;
	size_t i, j;

	if (n == 0 || isnan(q))
		return NAN;
	pos = q / 100.0 * (double)(n - 1);
	i = q <= 0 ? 0 : q >= 100 ? n - 1 : (size_t)pos;
	select_kth(v, n, i);
	if (q <= 0 || q >= 100 || i + 1 >= n)
		return v[i];
	/* the next value in sorted order: the smallest of those after v[i] */
	frac = pos - (double)i;
	next = v[i + 1];
	for (j = i + 2; j < n; j++)
		if (v[j] < next)
			next = v[j];
	return v[i] + frac * (next - v[i]);
}

double stats_mean(const double *v, size_t n)
{
	double sum = 0;
	size_t i;

	if (n == 0)
		return NAN;
	for (i = 0; i < n; i++)
		sum += v[i];
	return sum / (double)n;
}

void stream_stats_unknown(struct stream_stats *s)
{
	s->streamed = 1;
	s->ttft_ms = s->itl_ms = s->itl_p50_ms = s->itl_p95_ms = s->tokens_per_s = NAN;
}

void stream_stats_compute(struct stream_stats *s, double send_s, const double *t, size_t n,
			  long tokens)
{
	double *gaps;
	size_t i;

	stream_stats_unknown(s);
	if (!n)
		return;
	s->ttft_ms = (t[0] - send_s) * 1000.0;
	if (tokens < 0)
		tokens = (long)n;
	if (t[n - 1] > send_s)
		s->tokens_per_s = (double)tokens / (t[n - 1] - send_s);
	if (n < 2)
		return;
	gaps = xmalloc((n - 1) * sizeof(*gaps));
	for (i = 1; i < n; i++)
		gaps[i - 1] = (t[i] - t[i - 1]) * 1000.0;
	s->itl_ms = stats_mean(gaps, n - 1);
	s->itl_p50_ms = stats_percentile(gaps, n - 1, 50);
	s->itl_p95_ms = stats_percentile(gaps, n - 1, 95);
	free(gaps);
}

double stats_sd(const double *v, size_t n)
{
	double m, ss = 0;
	size_t i;

	if (n < 2)
		return NAN;
	m = stats_mean(v, n);
	for (i = 0; i < n; i++)
		ss += (v[i] - m) * (v[i] - m);
	return sqrt(ss / (double)(n - 1));
}

double stats_t95(long df)
{
	static const struct { long df; double t; } tab[] = {
		{ 1, 12.706 }, { 2, 4.303 }, { 3, 3.182 }, { 4, 2.776 }, { 5, 2.571 },
		{ 6, 2.447 }, { 7, 2.365 }, { 8, 2.306 }, { 9, 2.262 }, { 10, 2.228 },
		{ 12, 2.179 }, { 15, 2.131 }, { 20, 2.086 }, { 25, 2.060 }, { 30, 2.042 },
		{ 40, 2.021 }, { 60, 2.000 }, { 120, 1.980 },
	};
	size_t i;

	if (df < 1)
		return NAN;
	for (i = sizeof(tab) / sizeof(tab[0]); i-- > 0;)
		if (tab[i].df <= df)
			return tab[i].t;
	return tab[0].t;
}

double stats_kappa(const long *m, size_t k, int quadratic)
{
	double n = 0, obs = 0, exp = 0;
	double *ra, *cb;
	size_t i, j;

	if (k == 0)
		return NAN;
	ra = xcalloc(k, sizeof(*ra));
	cb = xcalloc(k, sizeof(*cb));
	for (i = 0; i < k; i++)
		for (j = 0; j < k; j++) {
			n += (double)m[i * k + j];
			ra[i] += (double)m[i * k + j];
			cb[j] += (double)m[i * k + j];
		}
	for (i = 0; n > 0 && i < k; i++)
		for (j = 0; j < k; j++) {
			double w;

			if (quadratic && k > 1)
				w = ((double)i - (double)j) * ((double)i - (double)j) /
				    (((double)k - 1) * ((double)k - 1));
			else
				w = i != j;
			obs += w * (double)m[i * k + j] / n;
			exp += w * (ra[i] / n) * (cb[j] / n);
		}
	free(ra);
	free(cb);
	if (n <= 0 || exp <= 0)
		return NAN;
	return 1.0 - obs / exp;
}

void stats_kappa_boot95(const int *a, const int *b, size_t n, size_t k, int quadratic,
			unsigned long long seed, size_t reps, double *lo, double *hi)
{
	long *m = xcalloc(k ? k * k : 1, sizeof(*m));
	double *ks = xcalloc(reps ? reps : 1, sizeof(*ks));
	struct eg_rng rng;
	size_t r, i, got = 0;

	eg_rng_init(&rng, seed);
	*lo = *hi = NAN;
	if (!n || !k)
		goto out;
	for (r = 0; r < reps; r++) {
		double kv;

		memset(m, 0, k * k * sizeof(*m));
		for (i = 0; i < n; i++) {
			size_t p = (size_t)eg_rng_below(&rng, n);
			m[(size_t)a[p] * k + (size_t)b[p]]++;
		}
		kv = stats_kappa(m, k, quadratic);
		if (!isnan(kv))
			ks[got++] = kv;
	}
	if (got) {
		*lo = stats_percentile(ks, got, 2.5);
		*hi = stats_percentile(ks, got, 97.5);
	}
out:
	free(m);
	free(ks);
}

void stats_paired_boot95(const double *base, const double *cand, size_t n,
			 double (*stat)(double *rb, double *rc, size_t n, void *arg), void *arg,
			 unsigned long long seed, size_t reps, double *lo, double *hi)
{
	double *rb = xcalloc(n ? n : 1, sizeof(*rb)), *rc = xcalloc(n ? n : 1, sizeof(*rc));
	double *vs = xcalloc(reps ? reps : 1, sizeof(*vs));
	struct eg_rng rng;
	size_t r, i, got = 0;

	eg_rng_init(&rng, seed);
	*lo = *hi = NAN;
	if (!n)
		goto out;
	for (r = 0; r < reps; r++) {
		double v;

		for (i = 0; i < n; i++) {
			size_t p = (size_t)eg_rng_below(&rng, n);

			rb[i] = base[p];
			rc[i] = cand[p];
		}
		v = stat(rb, rc, n, arg);
		if (!isnan(v))
			vs[got++] = v;
	}
	if (got) {
		*lo = stats_percentile(vs, got, 2.5);
		*hi = stats_percentile(vs, got, 97.5);
	}
out:
	free(rb);
	free(rc);
	free(vs);
}

void stats_self_consistency(const int *v, size_t n, size_t r, size_t q,
			    struct stats_consistency *out)
{
	double *share, *cnt, p_sum = 0, pe = 0;
	size_t i, s, c, all = 0;

	out->all_agree = out->pairwise = out->fleiss = NAN;
	if (!n || r < 2 || !q)
		return;
	share = xcalloc(q, sizeof(*share));
	cnt = xcalloc(q, sizeof(*cnt));
	for (i = 0; i < n; i++) {
		double sq = 0;

		memset(cnt, 0, q * sizeof(*cnt));
		for (s = 0; s < r; s++) {
			cnt[v[i * r + s]]++;
			share[v[i * r + s]]++;
		}
		for (c = 0; c < q; c++)
			sq += cnt[c] * cnt[c];
		all += sq == (double)(r * r);
		p_sum += (sq - (double)r) / ((double)r * (double)(r - 1));
	}
	for (c = 0; c < q; c++) {
		double p = share[c] / ((double)n * (double)r);

		pe += p * p;
	}
	out->all_agree = (double)all / (double)n;
	out->pairwise = p_sum / (double)n;
	out->fleiss = pe < 1 ? (out->pairwise - pe) / (1 - pe) : NAN;
	free(share);
	free(cnt);
}
