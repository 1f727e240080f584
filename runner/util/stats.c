#include "stats.h"

#include <math.h>
#include <stdlib.h>

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
