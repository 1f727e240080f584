/*
 * gate_delta: delta.<metric> gates over two stored runs with known values
 * (the paired difference, its seeded bootstrap interval, the verdict and the
 * gate line), and the paired bootstrap of stats.c
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gate.h"
#include "helper.h"
#include "history.h"
#include "stats.h"
#include "banned.h"

TestSuite(gate_delta, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);

#define N_CASES 20

/*
 * one run of N_CASES cases of suite "s": case i scores base_score(i) minus
 * drop for i < n_drop (scorer "faith"), takes latency ms, costs cost USD
 */
static void add_run(struct history *h, const char *run, double drop, int n_drop, double latency,
		    double cost)
{
	struct run_info ri;
	int i;

	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)run;
	ri.target = (char *)"bot";
	ri.model = (char *)"m";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	cr_assert_eq(history_run_suite(h, run, "s", "1", "hs", "golden"), 0);
	for (i = 0; i < N_CASES; i++) {
		struct score_row sc;
		struct result_row r;
		char id[16];

		snprintf(id, sizeof(id), "c%02d", i);
		memset(&sc, 0, sizeof(sc));
		sc.scorer = "faith";
		sc.type = "faithfulness";
		sc.score = 0.5 + i / 50.0 - (i < n_drop ? drop : 0);
		sc.pass = 1;
		sc.reason = "r";
		memset(&r, 0, sizeof(r));
		r.suite = "s";
		r.case_id = id;
		r.case_hash = "0000";
		r.status = RESULT_PASS;
		r.output = "answer";
		r.output_len = 6;
		r.latency_ms = latency + i;
		r.prompt_tokens = r.completion_tokens = -1;
		r.attempts = 1;
		r.cost_usd = cost;
		r.judge_cost_usd = NAN;
		r.ordinal = i + 1;
		r.scores = &sc;
		r.n_scores = 1;
		cr_assert_eq(history_add_result(h, run, &r), 0);
	}
	cr_assert_eq(history_run_finish(h, run, RUN_FINISHED, "pass"), 0);
}

static void write_config(const char *path, const char *gates)
{
	th_writef(path, "{\"gateway\": {\"base_url\": \"http://127.0.0.1:1/v1\"},\n"
		  " \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		  " \"gates\": [\n%s\n]}\n", gates);
}

struct rows {
	struct gate_row r[8];
	size_t n;
};

static int collect(const struct gate_row *g, void *arg)
{
	struct rows *rs = arg;

	cr_assert_lt(rs->n, 8);
	rs->r[rs->n] = *g;
	rs->r[rs->n].name = rs->r[rs->n].metric = rs->r[rs->n].scope = NULL;
	rs->r[rs->n].op = rs->r[rs->n].detail = NULL;
	rs->n++;
	return 0;
}

/* apply gates to run "cand" (baseline "base"); the rows, the printed block in out */
static int apply(const char *gates, struct rows *rs, char **out)
{
	struct eg_config cfg;
	struct gates gs;
	struct history *h;
	const char *path = th_path("c.json"), *bpath = th_path("block.txt");
	FILE *f;
	int failed;

	write_config(path, gates);
	cr_assert_eq(config_load(&cfg, path), 0);
	cr_assert_eq(gates_load(&gs, &cfg), 0);
	h = history_open(th_path("history.db"));
	cr_assert_not_null(h);
	cr_assert_eq(history_gates_clear(h, "cand"), 0);
	f = fopen(bpath, "w");
	cr_assert_not_null(f);
	failed = gates_apply(h, "cand", &gs, f, 0);
	fclose(f);
	memset(rs, 0, sizeof(*rs));
	cr_assert_eq(history_gates(h, "cand", collect, rs), 0);
	history_close(h);
	gates_release(&gs);
	config_release(&cfg);
	*out = th_slurp(bpath, NULL);
	return failed;
}

/* baseline: scores 0.5 + i/50, latency 100 + i, cost 0.01; the candidate drops half */
static void two_runs(double drop, double latency, double cost)
{
	struct history *h = history_open(th_path("history.db"));

	cr_assert_not_null(h);
	add_run(h, "base", 0, 0, 100, 0.01);
	add_run(h, "cand", drop, N_CASES / 2, latency, cost);
	history_close(h);
}

Test(gate_delta, score_drop_fails_on_the_point_estimate)
{
	struct rows rs;
	char *out;
	double lo, hi;

	two_runs(0.1, 100, 0.01);
	/* half the cases drop 0.1: the mean drops 0.05 */
	cr_assert_eq(apply("{\"metric\": \"delta.score.faith\", \"max_drop\": 0.02, "
			   "\"baseline\": \"base\"}", &rs, &out), 1);
	cr_assert_eq(rs.n, 1);
	cr_assert_float_eq(rs.r[0].value, -0.05, 1e-9);
	cr_assert_float_eq(rs.r[0].threshold, -0.02, 1e-12);
	cr_assert_eq(rs.r[0].n, N_CASES);
	cr_assert_eq(rs.r[0].pass, 0);
	/* every resample of ten -0.1 and ten 0 differences lies in [-0.1, 0] */
	cr_assert(rs.r[0].lo >= -0.1 && rs.r[0].lo < -0.05, "lo %g", rs.r[0].lo);
	cr_assert(rs.r[0].hi > -0.05 && rs.r[0].hi <= 0, "hi %g", rs.r[0].hi);
	cr_assert_not_null(strstr(out, "FAIL  faith delta"), "%s", out);
	cr_assert_not_null(strstr(out, "-0.050 (95% CI "), "%s", out);
	cr_assert_not_null(strstr(out, ") > 0.02 drop allowed  (mean 0.69 -> 0.64 over 20 pairs vs "
				       "base)"), "%s", out);
	lo = rs.r[0].lo;
	hi = rs.r[0].hi;
	free(out);
	/* seeded: gating again gives the same interval; another seed another one */
	cr_assert_eq(apply("{\"metric\": \"delta.score.faith\", \"max_drop\": 0.02, "
			   "\"baseline\": \"base\"}", &rs, &out), 1);
	cr_assert_eq(rs.r[0].lo, lo);
	cr_assert_eq(rs.r[0].hi, hi);
	free(out);
	/* a looser limit passes the same drop */
	cr_assert_eq(apply("{\"metric\": \"delta.score.faith\", \"max_drop\": 0.06, "
			   "\"baseline\": \"base\"}", &rs, &out), 0);
	cr_assert_eq(rs.r[0].pass, 1);
	cr_assert_not_null(strstr(out, "PASS  faith delta"), "%s", out);
	cr_assert_not_null(strstr(out, "<= 0.06 drop allowed"), "%s", out);
	free(out);
}

Test(gate_delta, latency_and_cost_in_percent)
{
	struct rows rs;
	char *out;

	/* latency 120 + i against 100 + i; cost 0.0125 against 0.01 (+25%) */
	two_runs(0, 120, 0.0125);
	cr_assert_eq(apply("{\"metric\": \"delta.latency_ms\", \"stat\": \"p95\", "
			   "\"max_increase_pct\": 15, \"baseline\": \"base\"},\n"
			   "{\"metric\": \"delta.latency_ms\", \"max_increase_pct\": 20, "
			   "\"baseline\": \"base\"},\n"
			   "{\"metric\": \"delta.cost_usd\", \"max_increase_pct\": 30, "
			   "\"baseline\": \"base\"}", &rs, &out), 1, "%s", out);
	cr_assert_eq(rs.n, 3);
	/* p95 of 100..119 is 118.05; of 120..139, 138.05 */
	cr_assert_float_eq(rs.r[0].value, 100 * 20 / 118.05, 1e-9);
	cr_assert_eq(rs.r[0].pass, 0);
	cr_assert_not_null(strstr(out, "FAIL  p95 latency_ms delta"), "%s", out);
	cr_assert_not_null(strstr(out, "+16.9% (95% CI "), "%s", out);
	cr_assert_not_null(strstr(out, "> 15% increase allowed"), "%s", out);
	/* the mean: 109.5 -> 129.5 */
	cr_assert_float_eq(rs.r[1].value, 100 * 20 / 109.5, 1e-9);
	cr_assert_eq(rs.r[1].pass, 1);
	cr_assert_not_null(strstr(out, "PASS  mean latency_ms delta"), "%s", out);
	cr_assert_float_eq(rs.r[2].value, 25, 1e-9);
	cr_assert_eq(rs.r[2].pass, 1);
	cr_assert_float_eq(rs.r[2].lo, 25, 1e-9);
	cr_assert_float_eq(rs.r[2].hi, 25, 1e-9);
	free(out);
}

Test(gate_delta, no_baseline_or_no_values_fails_with_the_reason)
{
	struct rows rs;
	char *out;

	two_runs(0, 100, NAN);
	cr_assert_eq(apply("{\"metric\": \"delta.score.faith\", \"max_drop\": 0.02, "
			   "\"baseline\": \"nosuchrun\"}", &rs, &out), 1);
	cr_assert(isnan(rs.r[0].value));
	cr_assert_not_null(strstr(out, "FAIL  faith delta"), "%s", out);
	cr_assert_not_null(strstr(out, "no comparison: baseline 'nosuchrun'"), "%s", out);
	free(out);
	/* the candidate's costs are unknown: nothing to pair */
	cr_assert_eq(apply("{\"metric\": \"delta.cost_usd\", \"max_increase_pct\": 5, "
			   "\"baseline\": \"base\"}", &rs, &out), 1);
	cr_assert_not_null(strstr(out, "only 0 of this run's 20 cases"), "%s", out);
	cr_assert_not_null(strstr(out, "20 without a value"), "%s", out);
	free(out);
	/* a scorer no result has */
	cr_assert_eq(apply("{\"metric\": \"delta.score.nope\", \"max_drop\": 0.02, "
			   "\"baseline\": \"base\"}", &rs, &out), 1);
	cr_assert_eq(rs.r[0].pass, 0);
	free(out);
}

Test(gate_delta, config_errors)
{
	struct eg_config cfg;
	struct gates gs;
	const char *path = th_path("c.json");
	static const char *const bad[][2] = {
		{ "{\"metric\": \"delta.score.faith\"}", "max_drop" },
		{ "{\"metric\": \"delta.score.faith\", \"max_increase_pct\": 5}", "takes max_drop" },
		{ "{\"metric\": \"delta.latency_ms\", \"max_drop\": 0.1}", "takes max_increase_pct" },
		{ "{\"metric\": \"delta.cost_usd\", \"stat\": \"p95\", \"max_increase_pct\": 5}",
		  "takes no stat" },
		{ "{\"metric\": \"delta.score.faith\", \"max_drop\": 2}", "max_drop" },
		{ "{\"metric\": \"delta.tokens\", \"max_increase_pct\": 5}",
		  "expected delta.score.<scorer>, delta.latency_ms or delta.cost_usd" },
		{ "{\"metric\": \"delta.score.faith\", \"max_drop\": 0.1, \"min\": 0.5}", "min" },
		{ "{\"metric\": \"delta.score.faith\", \"max_drop\": 0.1, \"baseline\": \"a b\"}",
		  "baseline" },
		{ "{\"metric\": \"delta.score.faith\", \"max_drop\": 0.1, \"seed\": 1.5}",
		  "whole number" },
	};
	size_t i;

	th_stderr_start();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *err;

		write_config(path, bad[i][0]);
		cr_assert_eq(config_load(&cfg, path), 0);
		cr_assert_eq(gates_load(&gs, &cfg), -1, "%s", bad[i][0]);
		err = th_stderr_take();
		cr_assert_not_null(strstr(err, "gates[0]"), "%s: %s", bad[i][0], err);
		cr_assert_not_null(strstr(err, bad[i][1]), "%s: %s", bad[i][0], err);
		config_release(&cfg);
	}
}

static double mean_diff(double *b, double *c, size_t n, void *arg)
{
	(void)arg;
	return stats_mean(c, n) - stats_mean(b, n);
}

Test(gate_delta, paired_bootstrap)
{
	double b[40], c[40], lo, hi, lo2, hi2;
	size_t i;

	for (i = 0; i < 40; i++) {
		b[i] = (double)i;
		/* a constant shift: every resample has the same paired difference */
		c[i] = (double)i + 2;
	}
	stats_paired_boot95(b, c, 40, mean_diff, NULL, 7, 500, &lo, &hi);
	cr_assert_float_eq(lo, 2, 1e-9);
	cr_assert_float_eq(hi, 2, 1e-9);
	/* unpaired resampling would spread this wide; paired differences in [0, 4] do not */
	for (i = 0; i < 40; i++)
		c[i] = (double)i + (double)(i * 7 % 11) * 0.4;
	stats_paired_boot95(b, c, 40, mean_diff, NULL, 7, 2000, &lo, &hi);
	cr_assert(lo > 1 && lo < 2 && hi > 2 && hi < 3, "%g..%g", lo, hi);
	stats_paired_boot95(b, c, 40, mean_diff, NULL, 7, 2000, &lo2, &hi2);
	cr_assert_eq(lo, lo2);
	cr_assert_eq(hi, hi2);
	stats_paired_boot95(b, c, 40, mean_diff, NULL, 8, 2000, &lo2, &hi2);
	cr_assert(lo != lo2 || hi != hi2);
	stats_paired_boot95(b, c, 0, mean_diff, NULL, 7, 100, &lo, &hi);
	cr_assert(isnan(lo) && isnan(hi));
}
