/*
 * stats: the statistics behind the gates (PROTOCOLS "Statistics for the gates").
 * Pure functions on numbers: stats_percentile sorts the caller's array in place
 * (stats_percentile_select reorders it);
 * the kappa functions allocate only temporaries (freed before they return).
 */
#ifndef EG_STATS_H
#define EG_STATS_H

#include <stddef.h>

/* Wilson score interval (95%) for k successes of n; NaN bounds when n == 0 */
void wilson95(long k, long n, double *lo, double *hi);

/*
 * McNemar's exact two-sided p-value for paired pass/fail outcomes:
 * b = pairs that went pass -> fail, c = pairs that went fail -> pass.
 * p = min(1, 2 * P[Bin(b + c, 1/2) <= min(b, c)]); 1 when b + c == 0.
 */
double mcnemar_exact_p(long b, long c);

/*
 * Paired difference of pass rates, candidate minus base, over n pairs with
 * b pass->fail and c fail->pass flips: d = (c - b) / n, and its 95% interval
 * (Wald interval for paired proportions, clamped to [-1, 1]). NaN when n == 0.
 */
void paired_diff95(long b, long c, long n, double *d, double *lo, double *hi);

/*
 * The q-th percentile (q in [0, 100]) of v[0..n-1] by linear interpolation
 * between closest ranks (the "type 7" definition of R and NumPy). Sorts v in
 * place. NaN when n == 0.
 */
double stats_percentile(double *v, size_t n, double q);
/*
 * The same value, found by selection in O(n) rather than by a sort: v (no
 * NaN in it) is reordered in place, not sorted. For large arrays.
 */
double stats_percentile_select(double *v, size_t n, double q);

/* mean of v[0..n-1]; NaN when n == 0 */
double stats_mean(const double *v, size_t n);

/* the timing of a streamed reply (SPEC 11); a zeroed struct: not streamed */
struct stream_stats {
	int streamed;            /* 1: the reply was streamed; 0: every value below is unknown */
	double ttft_ms;          /* the request's send to the first content or tool delta; NaN unknown */
	double itl_ms;           /* mean time between content chunks; NaN with fewer than 2 */
	double itl_p50_ms;       /* median of those times; NaN with fewer than 2 */
	double itl_p95_ms;       /* their 95th percentile; NaN with fewer than 2 */
	double tokens_per_s;     /* completion tokens over the seconds from the send to the
				    last content chunk; NaN unknown */
};

/*
 * s from the send time and the arrival times t[0..n-1] of the content
 * chunks (seconds, one clock); tokens < 0: count the chunks as tokens
 */
void stream_stats_compute(struct stream_stats *s, double send_s, const double *t, size_t n,
			  long tokens);
/* s marked streamed, every value unknown */
void stream_stats_unknown(struct stream_stats *s);
/* sample standard deviation (n - 1 in the denominator) of v[0..n-1]; NaN when n < 2 */
double stats_sd(const double *v, size_t n);

/* the two-sided 95% quantile of Student's t with df degrees of freedom (df >= 1; a
 * table rounded down to the nearest tabulated df, so the interval errs wide) */
double stats_t95(long df);

/*
 * Cohen's kappa of two raters over k ordered categories, from the k x k
 * confusion matrix m (m[i * k + j]: items rater A put in category i and
 * rater B in j): 1 - sum(w o) / sum(w e), with o the observed and e the
 * chance proportions (the product of the margins) and weights w_ij = 1 for
 * i != j (quadratic 0) or ((i - j) / (k - 1))^2 (quadratic 1, for scores
 * binned into k ordered bins). 1 is perfect agreement, 0 chance, < 0 worse.
 * NaN when there are no items or when chance disagreement is 0 (both
 * raters put every item in one and the same category: kappa is undefined).
 */
double stats_kappa(const long *m, size_t k, int quadratic);

/*
 * A 95% percentile-bootstrap interval of stats_kappa over n paired ratings
 * a[i], b[i] in [0, k): reps resamples drawn with a PRNG seeded by seed (the
 * same inputs give the same interval). Resamples where kappa is undefined
 * are left out; NaN bounds when n == 0 or every resample is undefined.
 */
void stats_kappa_boot95(const int *a, const int *b, size_t n, size_t k, int quadratic,
			unsigned long long seed, size_t reps, double *lo, double *hi);

/* how far a rater asked several times per item agrees with itself */
struct stats_consistency {
	double all_agree;         /* share of items whose ratings are all one category */
	double pairwise;          /* mean over items of the share of agreeing rating pairs */
	double fleiss;            /* Fleiss' kappa of the ratings; NaN when undefined */
};

/*
 * Self-consistency of n items rated r >= 2 times each into q categories:
 * v[i * r + s] in [0, q) is rating s of item i. Fleiss' kappa is (P - Pe) /
 * (1 - Pe), P the mean pairwise agreement and Pe the sum of the squared
 * shares of the categories over all ratings; it is NaN when every rating
 * falls in one category (Pe 1). Every field is NaN when n == 0 or r < 2.
 */
void stats_self_consistency(const int *v, size_t n, size_t r, size_t q,
			    struct stats_consistency *out);

/*
 * A paired 95% percentile-bootstrap interval of a statistic of n pairs
 * (base[i], cand[i]): reps resamples of the pairs drawn with a PRNG seeded
 * by seed (the same inputs give the same interval); stat computes the
 * statistic of a resample (it may sort rb and rc, which are scratch
 * copies). Resamples where stat is NaN are left out; NaN bounds when n == 0
 * or every resample is NaN.
 */
void stats_paired_boot95(const double *base, const double *cand, size_t n,
			 double (*stat)(double *rb, double *rc, size_t n, void *arg), void *arg,
			 unsigned long long seed, size_t reps, double *lo, double *hi);

#endif
