/* stats: McNemar exact p, paired difference, percentiles and means against known values */
#include <criterion/criterion.h>
#include <math.h>

#include "stats.h"
#include "banned.h"

/* --- McNemar exact, two-sided (values from the binomial sums, computed exactly) --- */

Test(stats, mcnemar_known_values)
{
	cr_assert_float_eq(mcnemar_exact_p(10, 2), 0.03857421875, 1e-12);
	cr_assert_float_eq(mcnemar_exact_p(2, 10), 0.03857421875, 1e-12, "symmetric in b and c");
	cr_assert_eq(mcnemar_exact_p(0, 0), 1.0, "no discordant pair: p = 1");
	cr_assert_eq(mcnemar_exact_p(5, 5), 1.0, "as many fixed as broken: p capped at 1");
	cr_assert_float_eq(mcnemar_exact_p(3, 0), 0.25, 1e-12);
	cr_assert_float_eq(mcnemar_exact_p(0, 7), 0.015625, 1e-12);
	cr_assert_float_eq(mcnemar_exact_p(20, 10), 0.09873714670538902, 1e-12);
}

Test(stats, mcnemar_large_counts_stay_finite)
{
	/* C(4000, k) overflows a double: the sum must be done in log space */
	cr_assert_float_eq(mcnemar_exact_p(300, 250), 0.036578745549102704, 1e-9);
	cr_assert_float_eq(mcnemar_exact_p(2000, 1900), 0.11289365225934889, 1e-9);
	cr_assert(mcnemar_exact_p(100000, 0) >= 0);
	cr_assert(mcnemar_exact_p(100000, 0) < 1e-300 + 1e-300);
}

Test(stats, mcnemar_rejects_negative_counts)
{
	cr_assert(isnan(mcnemar_exact_p(-1, 3)));
}

/* --- paired difference of pass rates --- */

Test(stats, paired_diff_known_values)
{
	double d, lo, hi;

	/* 100 pairs, 10 broken, 2 fixed: d = -0.08; var = (0.12 - 0.0064) / 100 */
	paired_diff95(10, 2, 100, &d, &lo, &hi);
	cr_assert_float_eq(d, -0.08, 1e-12);
	cr_assert_float_eq(hi - d, 1.959963984540054 * sqrt((0.12 - 0.0064) / 100), 1e-12);
	cr_assert_float_eq(d - lo, hi - d, 1e-12);
	cr_assert(hi < 0, "a clear drop: the interval excludes 0");

	paired_diff95(0, 0, 50, &d, &lo, &hi);
	cr_assert_eq(d, 0);
	cr_assert_eq(lo, 0);
	cr_assert_eq(hi, 0);

	paired_diff95(5, 5, 20, &d, &lo, &hi);
	cr_assert_eq(d, 0);
	cr_assert(lo < 0 && hi > 0, "a noisy swap straddles 0");
}

Test(stats, paired_diff_bounds_and_empty)
{
	double d, lo, hi;

	paired_diff95(3, 0, 3, &d, &lo, &hi);
	cr_assert_eq(d, -1);
	cr_assert(lo >= -1 && hi <= 1);
	paired_diff95(0, 0, 0, &d, &lo, &hi);
	cr_assert(isnan(d) && isnan(lo) && isnan(hi));
	paired_diff95(4, 4, 5, &d, &lo, &hi);
	cr_assert(isnan(d), "more flips than pairs is not a sample");
}

/* --- percentiles (linear interpolation between closest ranks) --- */

Test(stats, percentile_small_samples)
{
	double a[] = {4, 1, 3, 2};
	double one[] = {7};
	double two[] = {1, 2};

	cr_assert_float_eq(stats_percentile(a, 4, 50), 2.5, 1e-12);
	cr_assert_float_eq(stats_percentile(a, 4, 90), 3.7, 1e-12);
	cr_assert_eq(stats_percentile(a, 4, 0), 1);
	cr_assert_eq(stats_percentile(a, 4, 100), 4);
	cr_assert_eq(a[0], 1, "sorted in place");
	cr_assert_eq(stats_percentile(one, 1, 50), 7);
	cr_assert_eq(stats_percentile(one, 1, 99), 7);
	cr_assert_float_eq(stats_percentile(two, 2, 95), 1.95, 1e-12);
	cr_assert(isnan(stats_percentile(a, 0, 50)));
}

Test(stats, percentile_tied_samples)
{
	double t[] = {1, 10, 1, 1};
	double same[] = {3, 3, 3, 3, 3};

	cr_assert_eq(stats_percentile(t, 4, 50), 1);
	cr_assert_float_eq(stats_percentile(t, 4, 95), 8.65, 1e-12);
	cr_assert_eq(stats_percentile(same, 5, 50), 3);
	cr_assert_eq(stats_percentile(same, 5, 99), 3);
}

Test(stats, mean)
{
	double v[] = {0.5, 1, 0};

	cr_assert_float_eq(stats_mean(v, 3), 0.5, 1e-12);
	cr_assert(isnan(stats_mean(v, 0)));
}

/* selection gives the sorting percentile exactly, ties and all, without sorting */
Test(stats, percentile_select_agrees_with_the_sort)
{
	static const size_t sizes[] = { 1, 2, 3, 10, 101, 5000 };
	static const double qs[] = { 0, 2.5, 50, 90, 95, 97.5, 99, 100 };
	static double sorted[5000], picked[5000];
	unsigned long x = 12345;
	size_t k, j, i;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];

		for (j = 0; j < sizeof(qs) / sizeof(qs[0]); j++) {
			for (i = 0; i < n; i++) {
				x = x * 6364136223846793005UL + 1442695040888963407UL;
				/* few distinct values in half the arrays: long runs of ties */
				sorted[i] = j % 2 ? (double)(x >> 61) : (double)(x >> 11) / 1e9;
				picked[i] = sorted[i];
			}
			cr_assert_eq(stats_percentile_select(picked, n, qs[j]),
				     stats_percentile(sorted, n, qs[j]), "n %zu q %g", n, qs[j]);
		}
	}
	for (i = 0; i < 5000; i++)
		picked[i] = 0;          /* every latency 0 ms: one pass, not n */
	cr_assert_eq(stats_percentile_select(picked, 5000, 95), 0);
	cr_assert(isnan(stats_percentile_select(picked, 0, 50)));
	picked[0] = 4;
	picked[1] = 1;
	picked[2] = 3;
	picked[3] = 2;
	cr_assert_float_eq(stats_percentile_select(picked, 4, 90), 3.7, 1e-12);
}

/* --- standard deviation and Student's t (95%, two-sided; published table values) --- */

Test(stats, sd_known_values)
{
	const double v[] = { 2, 4, 4, 4, 5, 5, 7, 9 };

	cr_assert_float_eq(stats_sd(v, 8), 2.138089935, 1e-9);
	cr_assert(isnan(stats_sd(v, 1)));
	cr_assert(isnan(stats_sd(v, 0)));
}

Test(stats, t95_table)
{
	cr_assert_float_eq(stats_t95(1), 12.706, 1e-9);
	cr_assert_float_eq(stats_t95(10), 2.228, 1e-9);
	cr_assert_float_eq(stats_t95(30), 2.042, 1e-9);
	/* between tabulated df: the smaller df's (wider) value */
	cr_assert_float_eq(stats_t95(11), 2.228, 1e-9);
	cr_assert_float_eq(stats_t95(1000), 1.980, 1e-9);
	cr_assert(isnan(stats_t95(0)));
}

/* --- Cohen's kappa --- */

Test(stats, kappa_published_values)
{
	/* Wikipedia "Cohen's kappa": 20/5/10/15 gives p_o 0.7, p_e 0.5, kappa 0.4 */
	const long a[] = { 20, 5, 10, 15 };
	/* the same article's two tables with equal agreement and different margins */
	const long b[] = { 45, 15, 25, 15 };
	const long c[] = { 25, 35, 5, 35 };

	cr_assert_float_eq(stats_kappa(a, 2, 0), 0.4, 1e-12);
	cr_assert_float_eq(stats_kappa(b, 2, 0), 0.1304, 1e-4);
	cr_assert_float_eq(stats_kappa(c, 2, 0), 0.2593, 1e-4);
	/* two categories: the quadratic weights are the unweighted ones */
	cr_assert_float_eq(stats_kappa(a, 2, 1), 0.4, 1e-12);
}

Test(stats, kappa_weighted)
{
	/* 3 ordered bins: p_o 0.7, p_e 0.336 unweighted; the quadratic weights forgive
	 * the near misses (1 - 0.09 / 0.31 by hand) */
	const long m[] = { 10, 4, 1, 3, 12, 5, 0, 2, 13 };

	cr_assert_float_eq(stats_kappa(m, 3, 0), 0.364 / 0.664, 1e-12);
	cr_assert_float_eq(stats_kappa(m, 3, 1), 0.7096774193548387, 1e-12);
	cr_assert_gt(stats_kappa(m, 3, 1), stats_kappa(m, 3, 0));
}

Test(stats, kappa_degenerate)
{
	const long perfect[] = { 7, 0, 0, 3 };
	const long chance[] = { 25, 25, 25, 25 };
	const long one_class[] = { 10, 0, 0, 0 };
	const long split[] = { 0, 10, 0, 0 };   /* A says 0, B says 1, always */
	const long none[] = { 0, 0, 0, 0 };
	const long opposite[] = { 0, 5, 5, 0 };

	cr_assert_float_eq(stats_kappa(perfect, 2, 0), 1.0, 1e-12);
	cr_assert_float_eq(stats_kappa(perfect, 2, 1), 1.0, 1e-12);
	cr_assert_float_eq(stats_kappa(chance, 2, 0), 0.0, 1e-12);
	cr_assert(isnan(stats_kappa(one_class, 2, 0)), "all one class: undefined");
	cr_assert_float_eq(stats_kappa(split, 2, 0), 0.0, 1e-12);
	cr_assert(isnan(stats_kappa(none, 2, 0)));
	cr_assert_float_eq(stats_kappa(opposite, 2, 0), -1.0, 1e-12);
}

/* --- self-consistency of a rater asked several times --- */

Test(stats, self_consistency_fleiss_published)
{
	/* Wikipedia "Fleiss' kappa": 10 items, 14 ratings each, 5 categories;
	 * P 0.378, Pe 0.213, kappa 0.210 */
	static const int counts[10][5] = {
		{ 0, 0, 0, 0, 14 }, { 0, 2, 6, 4, 2 }, { 0, 0, 3, 5, 6 }, { 0, 3, 9, 2, 0 },
		{ 2, 2, 8, 1, 1 },  { 7, 7, 0, 0, 0 }, { 3, 2, 6, 3, 0 }, { 2, 5, 3, 2, 2 },
		{ 6, 5, 2, 1, 0 },  { 0, 2, 2, 3, 7 },
	};
	int v[10 * 14];
	size_t i, c, k = 0;
	struct stats_consistency sc;

	for (i = 0; i < 10; i++)
		for (c = 0; c < 5; c++) {
			int m;

			for (m = 0; m < counts[i][c]; m++)
				v[k++] = (int)c;
		}
	cr_assert_eq(k, 140);
	stats_self_consistency(v, 10, 14, 5, &sc);
	cr_assert_float_eq(sc.pairwise, 0.378021978021978, 1e-12);
	cr_assert_float_eq(sc.fleiss, 0.20993070442195522, 1e-12);
	cr_assert_float_eq(sc.all_agree, 0.1, 1e-12); /* only the first item is unanimous */
}

Test(stats, self_consistency_by_hand)
{
	/* 4 items x 3 pass/fail samples: unanimous, 2-1, unanimous, 1-2 */
	const int v[] = { 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0 };
	struct stats_consistency sc;

	stats_self_consistency(v, 4, 3, 2, &sc);
	cr_assert_float_eq(sc.all_agree, 0.5, 1e-12);
	/* a 2-1 item agrees on 1 pair of 3 */
	cr_assert_float_eq(sc.pairwise, (1 + 1.0 / 3 + 1 + 1.0 / 3) / 4, 1e-12);
	/* 6 of 12 ratings pass: Pe 0.5 */
	cr_assert_float_eq(sc.fleiss, ((1 + 1.0 / 3 + 1 + 1.0 / 3) / 4 - 0.5) / 0.5, 1e-12);
}

Test(stats, self_consistency_degenerate)
{
	const int same[] = { 1, 1, 1, 1, 1, 1 };
	const int alternating[] = { 1, 0, 1, 0, 1, 0 };
	const int v[] = { 0 };
	struct stats_consistency sc;

	/* always the same verdict: fully consistent, Fleiss undefined (Pe 1) */
	stats_self_consistency(same, 3, 2, 2, &sc);
	cr_assert_float_eq(sc.all_agree, 1.0, 1e-12);
	cr_assert_float_eq(sc.pairwise, 1.0, 1e-12);
	cr_assert(isnan(sc.fleiss));
	/* two samples that always differ: no agreement, kappa -1 */
	stats_self_consistency(alternating, 3, 2, 2, &sc);
	cr_assert_float_eq(sc.all_agree, 0.0, 1e-12);
	cr_assert_float_eq(sc.pairwise, 0.0, 1e-12);
	cr_assert_float_eq(sc.fleiss, -1.0, 1e-12);
	/* no items, or one rating per item: nothing to measure */
	stats_self_consistency(v, 0, 3, 2, &sc);
	cr_assert(isnan(sc.all_agree) && isnan(sc.pairwise) && isnan(sc.fleiss));
	stats_self_consistency(v, 1, 1, 2, &sc);
	cr_assert(isnan(sc.all_agree) && isnan(sc.pairwise) && isnan(sc.fleiss));
}

Test(stats, kappa_bootstrap_interval)
{
	int a[50], b[50];
	double lo, hi, lo2, hi2;
	size_t i;

	/* the 20/5/10/15 table as 50 pairs */
	for (i = 0; i < 50; i++) {
		a[i] = i < 25 ? 0 : 1;
		b[i] = i < 20 ? 0 : i < 25 ? 1 : i < 35 ? 0 : 1;
	}
	stats_kappa_boot95(a, b, 50, 2, 0, 7, 2000, &lo, &hi);
	cr_assert(lo < 0.4 && 0.4 < hi, "[%g, %g]", lo, hi);
	cr_assert(lo > 0.0 && hi < 0.75, "[%g, %g]", lo, hi);
	/* seeded: the same interval again */
	stats_kappa_boot95(a, b, 50, 2, 0, 7, 2000, &lo2, &hi2);
	cr_assert_eq(lo, lo2);
	cr_assert_eq(hi, hi2);
	stats_kappa_boot95(a, b, 0, 2, 0, 7, 2000, &lo, &hi);
	cr_assert(isnan(lo) && isnan(hi));
}
