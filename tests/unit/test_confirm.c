/* flip confirmation: the split decision, the stored re-asks' tally, the simulated re-asks */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compare.h"
#include "confirm.h"
#include "helper.h"
#include "history.h"
#include "power.h"
#include "regression.h"
#include "rng.h"
#include "stats.h"
#include "banned.h"

TestSuite(confirm, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);

static struct compare_counts counts(long b, long c)
{
	struct compare_counts k;

	memset(&k, 0, sizeof(k));
	k.new_failures = b;
	k.fixed = c;
	k.pairs = 100;
	k.p_value = mcnemar_exact_p(b, c);
	return k;
}

Test(confirm, alpha_is_split_between_the_two_tests)
{
	struct regression_gate rg;
	struct compare_counts c = counts(10, 3); /* p = 0.0923 */
	struct confirm_tally t;

	regression_defaults(&rg);
	cr_assert_eq(rg.confirm.max_asks, CONFIRM_DEFAULT_MAX_ASKS);
	cr_assert_float_eq(rg.confirm.alpha_share, 0.5, 1e-12, "half of alpha each by default");
	rg.confirm.alpha_share = 0.2;
	cr_assert_float_eq(regression_alpha_first(&rg), 0.08, 1e-12);
	memset(&t, 0, sizeof(t));
	t.p_value = 1;
	/* 0.0923 < alpha 0.1 but not < 0.08: the first pass alone does not block */
	cr_assert_not(regression_blocks(&rg, &c, &t));
	rg.confirm.max_asks = 0;
	cr_assert_float_eq(regression_alpha_first(&rg), 0.1, 1e-12);
	cr_assert(regression_blocks(&rg, &c, NULL), "without confirmation alpha is whole");
	rg.confirm.max_asks = 2;
	/* six confirmed new failures to none: p = 0.03125, not < 0.02 */
	t.new_failures = 6;
	t.p_value = mcnemar_exact_p(6, 0);
	cr_assert_not(regression_blocks(&rg, &c, &t));
	/* ... but < 0.05 with half of alpha for the confirmed test */
	rg.confirm.alpha_share = 0.5;
	cr_assert(regression_blocks(&rg, &c, &t));
	rg.confirm.alpha_share = 0.2;
	/* seven to none: p = 0.0156 < 0.02 blocks */
	t.new_failures = 7;
	t.p_value = mcnemar_exact_p(7, 0);
	cr_assert(regression_blocks(&rg, &c, &t));
	/* as many confirmed fixes: no drop */
	t.fixed = 7;
	t.p_value = mcnemar_exact_p(7, 7);
	cr_assert_not(regression_blocks(&rg, &c, &t));
	/* a confirmed improvement never blocks */
	t.new_failures = 0;
	t.p_value = mcnemar_exact_p(0, 7);
	cr_assert_not(regression_blocks(&rg, &c, &t));
}

Test(confirm, tally_of_stored_reasks)
{
	struct history *h = history_open(th_path("h.db"));
	struct run_info ri;
	struct confirm_state cs;
	struct compare_case k;
	long calls;

	cr_assert_not_null(h);
	memset(&ri, 0, sizeof(ri));
	ri.id = "r1";
	ri.started_at = "2026-12-06T00:00:00.000Z";
	ri.target = "t";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	cr_assert_eq(history_confirm_calls(h, "r1", &calls), 0);
	cr_assert_eq(calls, -1, "no confirmation recorded");
	/* a: fails twice (failing); b: fails, then passes (passing); c: fails once (undecided) */
	cr_assert_eq(history_add_confirmation(h, "r1", &(struct confirm_row){ "s", "a", 1, RESULT_FAIL }), 0);
	cr_assert_eq(history_add_confirmation(h, "r1", &(struct confirm_row){ "s", "a", 2, RESULT_ERROR }), 0);
	cr_assert_eq(history_add_confirmation(h, "r1", &(struct confirm_row){ "s", "b", 1, RESULT_FAIL }), 0);
	cr_assert_eq(history_add_confirmation(h, "r1", &(struct confirm_row){ "s", "b", 2, RESULT_PASS }), 0);
	cr_assert_eq(history_add_confirmation(h, "r1", &(struct confirm_row){ "s", "c", 1, RESULT_FAIL }), 0);
	cr_assert_eq(history_set_confirm_calls(h, "r1", 5), 0);

	cr_assert_eq(confirm_state_load(&cs, h, "r1", 2), 0);
	memset(&k, 0, sizeof(k));
	k.suite = "s";
	k.kind = CMP_NEW_FAILURE;
	k.case_id = "a";
	confirm_on_case(&k, &cs);
	k.case_id = "b";
	confirm_on_case(&k, &cs);
	k.kind = CMP_FIXED;
	k.case_id = "c";
	confirm_on_case(&k, &cs);
	k.case_id = "d"; /* never asked */
	confirm_on_case(&k, &cs);
	k.kind = CMP_CHANGED; /* not a flip: not tallied */
	k.case_id = "a";
	confirm_on_case(&k, &cs);
	confirm_state_finish(&cs);
	cr_assert_eq(cs.t.calls, 5);
	cr_assert_eq(cs.t.asked, 3);
	cr_assert_eq(cs.t.new_failures, 1, "an errored re-ask never confirms a pass");
	cr_assert_eq(cs.t.fixed, 0);
	cr_assert_eq(cs.t.passing, 1);
	cr_assert_eq(cs.t.undecided, 2);
	cr_assert_float_eq(cs.t.p_value, 1.0, 1e-12);
	confirm_state_release(&cs);
	history_close(h);
}

/* the heterogeneous suite of tests/bench/gate_sim.py, 500 cases, into p; their mean */
static double het_suite(struct power_group *g)
{
	g[0] = (struct power_group){ 0.98, 0.98, 350 };
	g[1] = (struct power_group){ 0.8, 0.8, 100 };
	g[2] = (struct power_group){ 0.5, 0.5, 50 };
	return (350 * 0.98 + 100 * 0.8 + 50 * 0.5) / 500;
}

Test(confirm, simulation_is_seeded_and_a_thin_drop_costs_little)
{
	struct regression_gate with, without;
	struct power_group p[3];
	double mean = het_suite(p);
	struct eg_rng rng;
	long a, b, fb;

	regression_defaults(&with);
	without = with;
	without.confirm.max_asks = 0;
	eg_rng_init(&rng, 3);
	a = power_simulate(&with, p, 3, 500, 0.05, mean, 500, 300, NULL, &rng);
	eg_rng_init(&rng, 3);
	cr_assert_eq(power_simulate(&with, p, 3, 500, 0.05, mean, 500, 300, NULL, &rng), a, "seeded");
	eg_rng_init(&rng, 3);
	b = power_simulate(&without, p, 3, 500, 0.05, mean, 500, 300, NULL, &rng);
	/*
	 * a proportional drop spreads thinly over the cases (none breaks): the
	 * confirmed test finds little and the first pass has only its share of
	 * alpha, so confirmation may cost a little power here; it must stay
	 * bounded
	 */
	cr_assert_geq(a, 180, "with confirmation %ld of 300", a);
	cr_assert_geq(a + 60, b, "with %ld, without %ld of 300", a, b);
	eg_rng_init(&rng, 4);
	fb = power_simulate(&with, p, 3, 500, 0, mean, 500, 1000, NULL, &rng);
	cr_assert_leq(fb, 60, "false blocks %ld of 1000", fb);
}

/* a finished run of target "t" with the given samples: "case:PPFF" (P pass, F fail, E error) */
static void hist_run(struct history *h, const char *id, const char *started, const char *const *cases)
{
	struct run_info ri;
	size_t i, k;

	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)id;
	ri.started_at = (char *)started;
	ri.status = RUN_RUNNING;
	ri.target = (char *)"t";
	ri.repeat_policy = (char *)"majority";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	for (i = 0; cases[i]; i++) {
		const char *colon = strchr(cases[i], ':');
		char case_id[32];

		snprintf(case_id, sizeof(case_id), "%.*s", (int)(colon - cases[i]), cases[i]);
		for (k = 0; colon[1 + k]; k++) {
			struct result_row r;
			char c = colon[1 + k];

			memset(&r, 0, sizeof(r));
			r.suite = "s";
			r.case_id = case_id;
			r.case_hash = "h";
			r.repeat = (int)k;
			r.status = c == 'P' ? RESULT_PASS : c == 'F' ? RESULT_FAIL : RESULT_ERROR;
			r.output = c == 'E' ? NULL : "x";
			r.output_len = r.output ? 1 : 0;
			r.error = c == 'E' ? "gateway: 503" : NULL;
			r.cost_usd = NAN;
			cr_assert_eq(history_add_result(h, id, &r), 0);
		}
	}
	cr_assert_eq(history_run_finish(h, id, RUN_FINISHED, "pass"), 0);
}

Test(confirm, flaky_threshold_follows_max_asks)
{
	/* a chance flip survives max_asks failing re-asks 5% of the time at the threshold */
	cr_assert_float_eq(flip_history_flaky_p(1), 0.95, 1e-12);
	cr_assert_float_eq(flip_history_flaky_p(2), 1 - sqrt(0.05), 1e-12);
	cr_assert_float_eq(pow(1 - flip_history_flaky_p(3), 3), 0.05, 1e-12);
}

Test(confirm, history_estimates_shrink_towards_the_mean_from_samples)
{
	struct history *h = history_open(th_path("h.db"));
	/* a nightly run with 5 repeats: a passes 1 of 5, b 5 of 5, c has 3 samples only */
	const char *nightly[] = { "a:PFFFF", "b:PPPPP", "c:PPE", NULL };
	/* the baseline passes a and fails b: it must not count */
	const char *base[] = { "a:P", "b:F", "c:P", NULL };
	const char *cand[] = { "a:F", "b:P", "c:F", NULL };
	struct flip_history fh;
	double pa, pb, mean;
	long n;

	cr_assert_not_null(h);
	hist_run(h, "r0", "2026-12-06T00:00:00.000Z", nightly);
	hist_run(h, "r1", "2026-12-06T01:00:00.000Z", base);
	hist_run(h, "r2", "2026-12-06T02:00:00.000Z", cand);
	cr_assert_eq(flip_history_load(&fh, h, "t", "r1", "r2", 2), 0);
	cr_assert_eq(fh.pr.runs, 1, "only the run before the baseline");
	/* the pooled share of passing samples: (1 + 5 + 2) / (5 + 5 + 2): errors left out */
	mean = 8.0 / 12;
	cr_assert_float_eq(fh.mean, mean, 1e-12);
	pa = flip_history_p(&fh, "s", "a", &n);
	cr_assert_eq(n, 5, "every repeat is a sample, not only the verdict");
	cr_assert_float_eq(pa, (1 + HISTORY_PRIOR_WEIGHT * mean) / (5 + HISTORY_PRIOR_WEIGHT), 1e-12);
	pb = flip_history_p(&fh, "s", "b", &n);
	cr_assert_float_eq(pb, (5 + HISTORY_PRIOR_WEIGHT * mean) / (5 + HISTORY_PRIOR_WEIGHT), 1e-12);
	cr_assert(flip_history_flaky(&fh, pa), "a is flaky: p %g", pa);
	cr_assert_not(flip_history_flaky(&fh, pb), "b is not: p %g", pb);
	cr_assert(isnan(flip_history_p(&fh, "s", "c", &n)), "too few samples: no estimate");
	cr_assert_eq(n, 2);
	cr_assert(isnan(flip_history_p(&fh, "s", "zz", &n)), "never seen");
	cr_assert_eq(n, 0);
	cr_assert_not(flip_history_flaky(&fh, NAN));
	cr_assert_not(flip_history_flaky(NULL, 0.1));
	flip_history_release(&fh);

	/* with the candidate as the baseline the nightly and r1 count; r2 itself never */
	cr_assert_eq(flip_history_load(&fh, h, "t", "r2", "r1", 2), 0);
	cr_assert_eq(fh.pr.runs, 1, "the baseline and the candidate are both left out");
	flip_history_release(&fh);
	history_close(h);
}

Test(confirm, runs_are_read_in_step_and_counted_by_history)
{
	struct history *h = history_open(th_path("h.db"));
	/* interleaved keys, a case missing from a run, an errored verdict, repeats */
	const char *r0[] = { "a:PPP", "b:FFF", "d:PPP", "e:EEE", NULL };
	const char *r1[] = { "a:PPP", "c:PPF", "d:PPP", "e:PPP", NULL };
	const char *r2[] = { "b:FFF", "c:PPF", "d:PPP", NULL };
	struct power_group *g;
	struct flip_history fh;
	double mean, p;
	size_t i, cases = 0;
	long n;

	cr_assert_not_null(h);
	hist_run(h, "r0", "2026-12-06T00:00:00.000Z", r0);
	hist_run(h, "r1", "2026-12-06T01:00:00.000Z", r1);
	hist_run(h, "r2", "2026-12-06T02:00:00.000Z", r2);
	flip_history_init(&fh, 2);
	cr_assert_eq(power_rates_add_target(&fh.pr, h, "t", NULL, 5), 0);
	flip_history_finish(&fh);
	cr_assert_eq(fh.pr.runs, 3);
	/* a, b, c, d and e (e errored in r0 only: one verdict) */
	cr_assert_eq(fh.pr.n, 5);
	/* passing verdicts: a 2 of 2, b 0 of 2, c 2 of 2 (4 of 6 samples), d 3 of 3, e 1 of 1 */
	cr_assert_eq(fh.pr.n_v, 5);
	g = power_groups(&fh, &mean);
	for (i = 0; i < fh.pr.n_v; i++)
		cases += g[i].count;
	cr_assert_eq(cases, 5);
	cr_assert_float_eq(mean, (1 + 0 + 1 + 1 + 1) / 5.0, 1e-12);
	/* samples: a 6/6, b 0/6, c 4/6, d 9/9, e 3/3 */
	cr_assert_float_eq(fh.mean, 22.0 / 30, 1e-12);
	free(g);

	/* flip_history_p in key order, then backwards: the walk starts again */
	p = flip_history_p(&fh, "s", "c", &n);
	cr_assert_eq(n, 6);
	cr_assert_float_eq(p, (4 + HISTORY_PRIOR_WEIGHT * fh.mean) / (6 + HISTORY_PRIOR_WEIGHT), 1e-12);
	cr_assert(isnan(flip_history_p(&fh, "s", "cc", &n)), "between two cases: none");
	cr_assert_eq(n, 0);
	p = flip_history_p(&fh, "s", "e", &n);
	cr_assert_eq(n, 3, "the errored verdict of r0 is left out");
	p = flip_history_p(&fh, "s", "a", &n);
	cr_assert_eq(n, 6, "asked again after a later key");
	cr_assert_float_eq(p, (6 + HISTORY_PRIOR_WEIGHT * fh.mean) / (6 + HISTORY_PRIOR_WEIGHT), 1e-12);
	p = flip_history_p(&fh, "s", "a", &n);
	cr_assert_eq(n, 6, "the same key twice");
	p = flip_history_p(&fh, "s", "b", &n);
	cr_assert_eq(n, 6);
	cr_assert(isnan(flip_history_p(&fh, "t", "a", &n)), "another suite");
	flip_history_release(&fh);
	history_close(h);
}

Test(confirm, many_cases_with_one_history_are_one_group)
{
	struct history *h = history_open(th_path("h.db"));
	static char ids[2000][16], texts[2000][24];
	const char *cases[2001];
	struct flip_history fh;
	size_t i;

	cr_assert_not_null(h);
	for (i = 0; i < 2000; i++) {
		snprintf(ids[i], sizeof(ids[i]), "c%04zu", i);
		snprintf(texts[i], sizeof(texts[i]), "%s:%s", ids[i], i % 2 ? "P" : "F");
		cases[i] = texts[i];
	}
	cases[2000] = NULL;
	hist_run(h, "r0", "2026-12-06T00:00:00.000Z", cases);
	hist_run(h, "r1", "2026-12-06T01:00:00.000Z", cases);
	flip_history_init(&fh, 2);
	cr_assert_eq(power_rates_add_target(&fh.pr, h, "t", NULL, 5), 0);
	cr_assert_eq(fh.pr.n, 2000);
	cr_assert_eq(fh.pr.n_v, 2, "the state is the histories, not the cases");
	cr_assert_eq(fh.pr.v[0].count + fh.pr.v[1].count, 2000);
	flip_history_release(&fh);
	history_close(h);
}

Test(confirm, a_pr_drawn_from_groups_is_a_pr_of_cases)
{
	/*
	 * one group of 1,000 cases at p 0.9 and no drop: a PR's new failures are
	 * Binomial(1000, 0.9 * 0.1), whether the cases are taken once each or
	 * drawn with replacement; max_new_failures 90 blocks 47% of them
	 */
	struct power_group g[2] = { { 0.9, NAN, 600 }, { 0.9, NAN, 400 } };
	struct regression_gate rg;
	struct eg_rng rng;
	long once, drawn;

	regression_defaults(&rg);
	rg.has_alpha = 0;
	rg.has_max_new_failures = 1;
	rg.max_new_failures = 90;
	rg.confirm.max_asks = 0;
	eg_rng_init(&rng, 9);
	once = power_simulate(&rg, g, 2, 1000, 0, 0.9, 1000, 4000, NULL, &rng);
	drawn = power_simulate(&rg, g, 2, 1000, 0, 0.9, 999, 4000, NULL, &rng);
	/* P(Binomial(1000, 0.09) > 90) = 0.4720 (0.4680 at n 999): within 5 standard errors */
	cr_assert(labs(once - 1888) < 5 * 32, "each case once: %ld of 4000 blocked", once);
	cr_assert(labs(drawn - 1872) < 5 * 32, "drawn: %ld of 4000 blocked", drawn);
}

/* a pass -> fail flip of case_id (suite "s") through the tally */
static void new_failure(struct confirm_state *cs, const char *case_id)
{
	struct compare_case k;

	memset(&k, 0, sizeof(k));
	k.suite = "s";
	k.kind = CMP_NEW_FAILURE;
	k.case_id = case_id;
	confirm_on_case(&k, cs);
}

Test(confirm, flips_on_flaky_cases_are_discounted_from_the_tally)
{
	struct history *h = history_open(th_path("h.db"));
	const char *nightly[] = { "a:PFFFF", "b:PPPPP", NULL }, *none[] = { NULL };
	struct flip_history fh;
	struct confirm_state cs;

	cr_assert_not_null(h);
	hist_run(h, "r0", "2026-12-06T00:00:00.000Z", nightly);
	hist_run(h, "r1", "2026-12-06T01:00:00.000Z", none);
	hist_run(h, "r2", "2026-12-06T02:00:00.000Z", none);
	cr_assert_eq(history_add_confirmation(h, "r2", &(struct confirm_row){ "s", "a", 1, RESULT_FAIL }), 0);
	cr_assert_eq(history_add_confirmation(h, "r2", &(struct confirm_row){ "s", "a", 2, RESULT_FAIL }), 0);
	cr_assert_eq(history_add_confirmation(h, "r2", &(struct confirm_row){ "s", "b", 1, RESULT_FAIL }), 0);
	cr_assert_eq(history_add_confirmation(h, "r2", &(struct confirm_row){ "s", "b", 2, RESULT_FAIL }), 0);
	cr_assert_eq(flip_history_load(&fh, h, "t", "r1", "r2", 2), 0);
	cr_assert_eq(confirm_state_load(&cs, h, "r2", 2), 0);
	cs.fh = &fh;
	new_failure(&cs, "a");
	new_failure(&cs, "b");
	confirm_state_finish(&cs);
	cr_assert_eq(cs.t.new_failures, 1, "b's flip counts");
	cr_assert_eq(cs.t.discounted, 1, "a's is discounted");
	cr_assert_eq(cs.n_disc, 1);
	cr_assert_str_eq(cs.disc[0].case_id, "a");
	cr_assert_eq(cs.disc[0].samples, 5);
	cr_assert(cs.disc[0].new_failure);
	/* a flip paired with an older run is never discounted (that run may be in the history) */
	cs.from_older = 1;
	new_failure(&cs, "a");
	cr_assert_eq(cs.t.discounted, 1);
	cr_assert_eq(cs.t.new_failures, 2);
	confirm_state_release(&cs);

	/* without the history both count */
	cr_assert_eq(confirm_state_load(&cs, h, "r2", 2), 0);
	new_failure(&cs, "a");
	new_failure(&cs, "b");
	cr_assert_eq(cs.t.new_failures, 2);
	cr_assert_eq(cs.t.discounted, 0);
	confirm_state_release(&cs);
	flip_history_release(&fh);
	history_close(h);
}

Test(confirm, simulation_with_the_history_keeps_alpha)
{
	struct regression_gate rg, plain;
	struct flip_history fh;
	struct power_group p[3];
	double mean = het_suite(p); /* the history knows each case's rate */
	struct eg_rng rng;
	long fb, with, without;

	regression_defaults(&rg);
	cr_assert(rg.confirm.use_history, "on by default");
	flip_history_init(&fh, rg.confirm.max_asks);
	fh.mean = mean;
	eg_rng_init(&rng, 5);
	fb = power_simulate(&rg, p, 3, 500, 0, mean, 500, 2000, &fh, &rng);
	/* alpha 0.1, two tests at 0.05 each, one-sided: at most about 5% */
	cr_assert_leq(fb, 110, "false blocks %ld of 2000", fb);
	eg_rng_init(&rng, 6);
	with = power_simulate(&rg, p, 3, 500, 0.05, mean, 500, 300, &fh, &rng);
	plain = rg;
	plain.confirm.use_history = 0;
	eg_rng_init(&rng, 6);
	without = power_simulate(&plain, p, 3, 500, 0.05, mean, 500, 300, &fh, &rng);
	/* the p = .5 cases' flips (10% of the cases, most of the flips) leave the confirmed test */
	cr_assert_geq(with + 15, without, "with the history %ld, without %ld of 300", with, without);
	flip_history_release(&fh);
}
