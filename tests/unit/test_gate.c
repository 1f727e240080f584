/*
 * gate: Wilson intervals, the gates parsed from a config (each through its
 * type, with located errors), gates applied to a stored run and read back
 * from the history, and the verdict
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "gate.h"
#include "helper.h"
#include "history.h"
#include "banned.h"

TestSuite(gate, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);

/* --- Wilson 95% --- */

Test(gate, wilson_known_values)
{
	double lo, hi;

	wilson95(8, 10, &lo, &hi);
	cr_assert_float_eq(lo, 0.4902, 1e-4);
	cr_assert_float_eq(hi, 0.9433, 1e-4);
	/* the README's example run: 27/30 and 0/30 */
	wilson95(27, 30, &lo, &hi);
	cr_assert_float_eq(lo, 0.7438, 1e-4);
	cr_assert_float_eq(hi, 0.9654, 1e-4);
	wilson95(0, 30, &lo, &hi);
	cr_assert_float_eq(hi, 0.1135, 1e-4);
	wilson95(1, 2, &lo, &hi);
	cr_assert_float_eq(lo, 0.0945, 1e-4);
	cr_assert_float_eq(hi, 0.9055, 1e-4);
}

Test(gate, wilson_edges)
{
	double lo, hi;

	wilson95(0, 10, &lo, &hi);
	cr_assert_eq(lo, 0.0);
	cr_assert_float_eq(hi, 0.2775, 1e-4);
	wilson95(10, 10, &lo, &hi);
	cr_assert_eq(hi, 1.0);
	cr_assert_float_eq(lo, 0.7225, 1e-4);
	wilson95(0, 0, &lo, &hi);
	cr_assert(isnan(lo) && isnan(hi));
	wilson95(3, 0, &lo, &hi);
	cr_assert(isnan(lo) && isnan(hi));
}

Test(gate, wilson_is_symmetric_and_narrows_with_n)
{
	double lo1, hi1, lo2, hi2;
	long k;

	for (k = 0; k <= 17; k++) {
		wilson95(k, 17, &lo1, &hi1);
		wilson95(17 - k, 17, &lo2, &hi2);
		cr_assert_float_eq(lo1, 1 - hi2, 1e-12, "k=%ld", k);
		cr_assert_leq(lo1, (double)k / 17);
		cr_assert_geq(hi1, (double)k / 17);
	}
	wilson95(80, 100, &lo2, &hi2);
	wilson95(8, 10, &lo1, &hi1);
	cr_assert_lt(hi2 - lo2, hi1 - lo1);
}

/* --- gates over a stored run --- */

static void write_config(const char *path, const char *gates)
{
	th_writef(path, "{\"gateway\": {\"base_url\": \"http://127.0.0.1:1/v1\"},\n"
		  " \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		  " \"gates\": [\n%s\n]}\n", gates);
}

/* the config at path and its gates; both must load */
static void load(struct eg_config *cfg, struct gates *gs, const char *path)
{
	cr_assert_eq(config_load(cfg, path), 0);
	cr_assert_eq(gates_load(gs, cfg), 0);
	cr_assert_eq(gs->cfg, cfg);
}

static void release(struct eg_config *cfg, struct gates *gs)
{
	gates_release(gs);
	cr_assert_null(gs->v);
	config_release(cfg);
}

static void add(struct history *h, const char *run, const char *suite, int i,
		enum result_status st, const char *tags)
{
	struct result_row r;
	char id[32];

	snprintf(id, sizeof(id), "case-%d", i);
	memset(&r, 0, sizeof(r));
	r.suite = suite;
	r.case_id = id;
	r.case_hash = "0000";
	r.status = st;
	r.output = st == RESULT_ERROR ? NULL : "answer";
	r.output_len = st == RESULT_ERROR ? 0 : 6;
	r.latency_ms = 10;
	r.prompt_tokens = r.completion_tokens = -1;
	r.error = st == RESULT_ERROR ? "gateway: 503" : NULL;
	r.attempts = 1;
	r.tags = tags;
	r.cost_usd = NAN;
	r.ordinal = i + 1;
	cr_assert_eq(history_add_result(h, run, &r), 0);
}

/*
 * s1: 8 pass (3 tagged billing), 2 fail (1 billing), 3 error
 * s2: 5 pass, every one tagged billing and x
 * all: 13 pass, 2 fail, 3 error
 */
static struct history *stored_run(const char *run)
{
	struct history *h;
	struct run_info ri;
	const char *path;
	int i = 0, k;

	path = th_path("history.db");
	h = history_open(path);
	cr_assert_not_null(h);
	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)run;
	ri.status = RUN_RUNNING;
	ri.target = (char *)"bot";
	ri.version = (char *)"v1";
	ri.model = (char *)"m";
	ri.config_hash = (char *)"c";
	ri.evalgate_version = (char *)"0.1.0";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	cr_assert_eq(history_run_suite(h, run, "s1", "1.0.0", "h1", "golden"), 0);
	cr_assert_eq(history_run_suite(h, run, "s2", "1.0.0", "h2", "golden"), 0);
	for (k = 0; k < 3; k++)
		add(h, run, "s1", i++, RESULT_PASS, "billing");
	for (k = 0; k < 5; k++)
		add(h, run, "s1", i++, RESULT_PASS, "support");
	add(h, run, "s1", i++, RESULT_FAIL, "billing,support");
	add(h, run, "s1", i++, RESULT_FAIL, NULL);
	for (k = 0; k < 3; k++)
		add(h, run, "s1", i++, RESULT_ERROR, "support");
	for (k = 0; k < 5; k++)
		add(h, run, "s2", i++, RESULT_PASS, "x,billing");
	return h;
}

struct rows {
	int n;
	struct {
		char name[64], metric[32], scope[64], op[4], detail[128];
		double value, threshold, lo, hi;
		int pass;
		long n;
	} r[16];
};

static int collect(const struct gate_row *g, void *arg)
{
	struct rows *rows = arg;

	cr_assert_lt(rows->n, 16);
	snprintf(rows->r[rows->n].name, sizeof(rows->r[0].name), "%s", g->name);
	snprintf(rows->r[rows->n].metric, sizeof(rows->r[0].metric), "%s", g->metric);
	snprintf(rows->r[rows->n].scope, sizeof(rows->r[0].scope), "%s", g->scope);
	snprintf(rows->r[rows->n].op, sizeof(rows->r[0].op), "%s", g->op ? g->op : "");
	snprintf(rows->r[rows->n].detail, sizeof(rows->r[0].detail), "%s", g->detail ? g->detail : "");
	rows->r[rows->n].value = g->value;
	rows->r[rows->n].threshold = g->threshold;
	rows->r[rows->n].lo = g->lo;
	rows->r[rows->n].hi = g->hi;
	rows->r[rows->n].pass = g->pass;
	rows->r[rows->n].n = g->n;
	rows->n++;
	return 0;
}

static const char gates_text[] =
	"{\"name\": \"all pass\", \"metric\": \"pass_rate\", \"min\": 0.85},\n"          /* 0: 13/15 pass */
	"{\"metric\": \"error_rate\", \"max\": 0.1},\n"                                  /* 1: 3/18 FAIL */
	"{\"metric\": \"pass_rate\", \"suite\": \"s1\", \"min\": 0.8},\n"                /* 2: 8/10 pass */
	"{\"metric\": \"pass_rate\", \"tag\": \"billing\", \"min\": 0.9},\n"             /* 3: 8/9 FAIL */
	"{\"metric\": \"pass_rate\", \"suite\": \"nosuch\", \"min\": 0},\n"              /* 4: none FAIL */
	"{\"metric\": \"error_rate\", \"suite\": \"s2\", \"max\": 0},\n"                 /* 5: 0/5 pass */
	"{\"metric\": \"error_rate\", \"tag\": \"nosuch\", \"max\": 1},\n"               /* 6: none FAIL */
	"{\"metric\": \"pass_rate\", \"suite\": \"s1\", \"min\": 0.5, \"max\": 0.7},\n"  /* 7: 0.8 FAIL */
	"{\"metric\": \"pass_rate\", \"tag\": \"bill\", \"min\": 0},\n"                  /* 8: none FAIL */
	"{\"metric\": \"error_rate\", \"tag\": \"support\", \"min\": 0.3}";              /* 9: 3/9 pass */

Test(gate, gates_over_a_stored_run)
{
	struct eg_config cfg;
	struct gates gs;
	struct history *h;
	struct rows rows = { 0 };
	const char *cfg_path, *out_path;
	char out[8192];
	FILE *out_fp;
	size_t n;
	double lo, hi;

	cfg_path = th_path("evalgate.json");
	write_config(cfg_path, gates_text);
	load(&cfg, &gs, cfg_path);
	cr_assert_eq(gs.n, 10);
	h = stored_run("run-1");

	out_path = th_path("out.txt");
	out_fp = fopen(out_path, "w+");
	cr_assert_not_null(out_fp);
	cr_assert_eq(gates_apply(h, "run-1", &gs, out_fp, 0), 6);
	rewind(out_fp);
	n = fread(out, 1, sizeof(out) - 1, out_fp);
	out[n] = '\0';
	fclose(out_fp);

	cr_assert_eq(history_gates(h, "run-1", collect, &rows), 0);
	cr_assert_eq(rows.n, 10);

	/* pass_rate leaves errors out of the denominator */
	cr_assert_str_eq(rows.r[0].name, "all pass");
	cr_assert_str_eq(rows.r[0].metric, "pass_rate");
	cr_assert_str_eq(rows.r[0].scope, "all");
	cr_assert_float_eq(rows.r[0].value, 13.0 / 15, 1e-12);
	cr_assert_eq(rows.r[0].n, 15);
	cr_assert_str_eq(rows.r[0].op, ">=");
	cr_assert_float_eq(rows.r[0].threshold, 0.85, 1e-12);
	cr_assert_eq(rows.r[0].pass, 1);
	cr_assert_str_eq(rows.r[0].detail, "13/15");
	wilson95(13, 15, &lo, &hi);
	cr_assert_float_eq(rows.r[0].lo, lo, 1e-12);
	cr_assert_float_eq(rows.r[0].hi, hi, 1e-12);

	/* error_rate counts errors over every case */
	cr_assert_str_eq(rows.r[1].name, "error_rate");
	cr_assert_float_eq(rows.r[1].value, 3.0 / 18, 1e-12);
	cr_assert_eq(rows.r[1].n, 18);
	cr_assert_str_eq(rows.r[1].op, "<=");
	cr_assert_float_eq(rows.r[1].threshold, 0.1, 1e-12);
	cr_assert_eq(rows.r[1].pass, 0);
	cr_assert_str_eq(rows.r[1].detail, "3/18");

	/* suite scope; a value equal to min passes */
	cr_assert_str_eq(rows.r[2].name, "pass_rate [suite s1]");
	cr_assert_str_eq(rows.r[2].scope, "suite:s1");
	cr_assert_float_eq(rows.r[2].value, 0.8, 1e-12);
	cr_assert_eq(rows.r[2].n, 10);
	cr_assert_eq(rows.r[2].pass, 1);
	cr_assert_float_eq(rows.r[2].lo, 0.4902, 1e-4);
	cr_assert_float_eq(rows.r[2].hi, 0.9433, 1e-4);

	/* tag scope, across suites */
	cr_assert_str_eq(rows.r[3].scope, "tag:billing");
	cr_assert_float_eq(rows.r[3].value, 8.0 / 9, 1e-12);
	cr_assert_eq(rows.r[3].n, 9);
	cr_assert_eq(rows.r[3].pass, 0);

	/* a gate over no cases fails */
	cr_assert_str_eq(rows.r[4].scope, "suite:nosuch");
	cr_assert_eq(rows.r[4].n, 0);
	cr_assert(isnan(rows.r[4].value));
	cr_assert(isnan(rows.r[4].lo) && isnan(rows.r[4].hi));
	cr_assert_eq(rows.r[4].pass, 0, "min 0 over nothing still fails");
	cr_assert_str_eq(rows.r[4].detail, "no cases in scope suite:nosuch");

	cr_assert_float_eq(rows.r[5].value, 0, 1e-12);
	cr_assert_eq(rows.r[5].n, 5);
	cr_assert_eq(rows.r[5].pass, 1, "0 <= max 0");

	cr_assert_eq(rows.r[6].n, 0);
	cr_assert_eq(rows.r[6].pass, 0, "max 1 over nothing still fails");

	/* min and max: both apply, the row shows min */
	cr_assert_eq(rows.r[7].pass, 0);
	cr_assert_str_eq(rows.r[7].op, ">=");
	cr_assert_float_eq(rows.r[7].threshold, 0.5, 1e-12);

	/* a tag matches whole tags only */
	cr_assert_str_eq(rows.r[8].scope, "tag:bill");
	cr_assert_eq(rows.r[8].n, 0);
	cr_assert_eq(rows.r[8].pass, 0);

	/* error_rate with a min, in a tag scope */
	cr_assert_float_eq(rows.r[9].value, 3.0 / 9, 1e-12);
	cr_assert_eq(rows.r[9].n, 9);
	cr_assert_eq(rows.r[9].pass, 1);

	/* the printed block */
	cr_assert_eq(strncmp(out, "gates\n", 6), 0, "%s", out);
	cr_assert_not_null(strstr(out, "  PASS  all pass "), "%s", out);
	cr_assert_not_null(strstr(out, "  FAIL  error_rate "), "%s", out);
	cr_assert_not_null(strstr(out, "(13/15, 95% CI "), "%s", out);
	cr_assert_not_null(strstr(out, "(no cases in scope suite:nosuch)\n"), "%s", out);
	cr_assert_not_null(strstr(out, "(and <= 0.7)"), "%s", out);
	cr_assert_null(strstr(out, "\033["), "no colour when not asked: %s", out);

	history_close(h);
	release(&cfg, &gs);
}

Test(gate, gates_of_other_runs_are_apart)
{
	struct eg_config cfg;
	struct gates gs;
	struct history *h;
	struct rows rows = { 0 };
	struct run_info ri;
	const char *cfg_path;

	cfg_path = th_path("evalgate.json");
	write_config(cfg_path, "{\"metric\": \"pass_rate\", \"min\": 0.5}");
	load(&cfg, &gs, cfg_path);
	h = stored_run("run-1");
	/* a second run with nothing but errors */
	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)"run-2";
	ri.target = (char *)"bot";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	add(h, "run-2", "s1", 0, RESULT_ERROR, NULL);
	add(h, "run-2", "s1", 1, RESULT_ERROR, NULL);

	cr_assert_eq(gates_apply(h, "run-2", &gs, NULL, 0), 1, "no answers: pass_rate has no cases");
	cr_assert_eq(gates_apply(h, "run-1", &gs, NULL, 0), 0);
	cr_assert_eq(history_gates(h, "run-2", collect, &rows), 0);
	cr_assert_eq(rows.n, 1);
	cr_assert_eq(rows.r[0].n, 0);
	cr_assert_eq(rows.r[0].pass, 0);
	rows.n = 0;
	cr_assert_eq(history_gates(h, "run-1", collect, &rows), 0);
	cr_assert_eq(rows.n, 1);
	cr_assert_eq(rows.r[0].n, 15);
	cr_assert_eq(rows.r[0].pass, 1);
	history_close(h);
	release(&cfg, &gs);
}

Test(gate, no_gates_prints_nothing)
{
	struct eg_config cfg;
	struct gates gs;
	struct history *h;
	struct rows rows = { 0 };
	const char *cfg_path, *out_path;
	FILE *out_fp;

	cfg_path = th_path("evalgate.json");
	write_config(cfg_path, "");
	load(&cfg, &gs, cfg_path);
	cr_assert_eq(gs.n, 0);
	h = stored_run("run-1");
	out_path = th_path("out.txt");
	out_fp = fopen(out_path, "w+");
	cr_assert_not_null(out_fp);
	cr_assert_eq(gates_apply(h, "run-1", &gs, out_fp, 1), 0);
	cr_assert_eq(ftell(out_fp), 0);
	fclose(out_fp);
	cr_assert_eq(history_gates(h, "run-1", collect, &rows), 0);
	cr_assert_eq(rows.n, 0);
	history_close(h);
	release(&cfg, &gs);
}

Test(gate, colour_when_asked)
{
	struct eg_config cfg;
	struct gates gs;
	struct history *h;
	const char *cfg_path, *out_path;
	char out[2048];
	FILE *out_fp;
	size_t n;

	cfg_path = th_path("evalgate.json");
	write_config(cfg_path, "{\"metric\": \"pass_rate\", \"min\": 0.5},\n{\"metric\": \"error_rate\", \"max\": 0}");
	load(&cfg, &gs, cfg_path);
	h = stored_run("run-1");
	out_path = th_path("out.txt");
	out_fp = fopen(out_path, "w+");
	cr_assert_not_null(out_fp);
	cr_assert_eq(gates_apply(h, "run-1", &gs, out_fp, 1), 1);
	rewind(out_fp);
	n = fread(out, 1, sizeof(out) - 1, out_fp);
	out[n] = '\0';
	fclose(out_fp);
	cr_assert_not_null(strstr(out, "\033[32mPASS\033[0m"), "%s", out);
	cr_assert_not_null(strstr(out, "\033[31mFAIL\033[0m"), "%s", out);
	history_close(h);
	release(&cfg, &gs);
}

/* --- distribution and cost gates --- */

struct vrow {
	const char *suite, *id;
	int repeat;
	enum result_status st;
	const char *tags;
	double latency;
	long pt, ct;
	int cached;
	double judge;      /* score of scorer "judge"; NaN: none; < 0: a scorer error */
	double exact;      /* score of scorer "exact"; NaN: none */
};

/*
 * Every repeat counts; errors, cache hits and unknown latencies are left
 * out of latency; unknown usage is left out of tokens and cost; a judge
 * error is left out of the judge's scores.
 */
static const struct vrow vrows[] = {
	{ "a", "c1", 0, RESULT_PASS, "x", 100, 10, 5, 0, 0.9, 1 },
	{ "a", "c1", 1, RESULT_PASS, "x", 300, 10, 7, 0, 0.7, 1 },
	{ "a", "c2", 0, RESULT_FAIL, NULL, 200, 20, 10, 0, -1, 0 },
	{ "a", "c3", 0, RESULT_ERROR, NULL, 5000, -1, -1, 0, NAN, NAN },
	{ "a", "c4", 0, RESULT_PASS, NULL, 0, 8, 2, 1, 0.5, NAN },
	{ "b", "c1", 0, RESULT_PASS, "x,y", 400, -1, -1, 0, 1.0, NAN },
	{ "b", "c2", 0, RESULT_PASS, NULL, NAN, 5, 5, 0, 0.8, NAN },
};

/* the run above, its costs priced by cfg's prices for model "m" */
static struct history *values_run(const char *run, const struct eg_config *cfg)
{
	struct history *h;
	struct run_info ri;
	const char *path;
	size_t i;

	path = th_path("history.db");
	h = history_open(path);
	cr_assert_not_null(h);
	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)run;
	ri.target = (char *)"bot";
	ri.model = (char *)"m";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	cr_assert_eq(history_run_suite(h, run, "a", "1", "ha", "golden"), 0);
	cr_assert_eq(history_run_suite(h, run, "b", "1", "hb", "golden"), 0);
	for (i = 0; i < sizeof(vrows) / sizeof(vrows[0]); i++) {
		const struct vrow *v = &vrows[i];
		struct score_row sc[2];
		struct result_row r;
		size_t n = 0;

		memset(sc, 0, sizeof(sc));
		if (!isnan(v->judge)) {
			sc[n].scorer = "judge";
			sc[n].type = "judge";
			sc[n].score = v->judge < 0 ? 0 : v->judge;
			sc[n].error = v->judge < 0;
			sc[n].reason = "r";
			sc[n].calls = 1;
			n++;
		}
		if (!isnan(v->exact)) {
			sc[n].scorer = "exact";
			sc[n].type = "equals";
			sc[n].score = v->exact;
			sc[n].pass = v->exact > 0.5;
			sc[n].reason = "r";
			n++;
		}
		memset(&r, 0, sizeof(r));
		r.suite = v->suite;
		r.case_id = v->id;
		r.case_hash = "0000";
		r.repeat = v->repeat;
		r.status = v->st;
		r.output = v->st == RESULT_ERROR ? NULL : "answer";
		r.output_len = v->st == RESULT_ERROR ? 0 : 6;
		r.latency_ms = v->latency;
		r.prompt_tokens = v->pt;
		r.completion_tokens = v->ct;
		r.error = v->st == RESULT_ERROR ? "gateway: 503" : NULL;
		r.attempts = v->cached ? 0 : 1;
		r.cached = v->cached;
		r.tags = v->tags;
		r.cost_usd = config_cost(cfg, "m", v->pt, v->ct);
		r.ordinal = (long)i + 1;
		r.scores = sc;
		r.n_scores = n;
		cr_assert_eq(history_add_result(h, run, &r), 0);
	}
	return h;
}

static void write_config_prices(const char *path, const char *gates, const char *prices)
{
	th_writef(path, "{\"gateway\": {\"base_url\": \"http://127.0.0.1:1/v1\"},\n"
		  " \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		  " \"prices\": %s,\n"
		  " \"gates\": [\n%s\n]}\n", prices, gates);
}

static const char value_gates[] =
	"{\"metric\": \"score.judge\", \"min\": 0.75},\n"                               /* 0 */
	"{\"metric\": \"score.judge\", \"stat\": \"min\", \"min\": 0.6},\n"             /* 1 FAIL */
	"{\"metric\": \"score.judge\", \"stat\": \"p90\", \"suite\": \"a\", \"max\": 0.9},\n" /* 2 */
	"{\"metric\": \"score.judge\", \"tag\": \"x\", \"min\": 0.85},\n"               /* 3 */
	"{\"metric\": \"score.exact\", \"suite\": \"b\", \"min\": 0},\n"                /* 4 FAIL */
	"{\"metric\": \"latency_ms\", \"stat\": \"p95\", \"max\": 400},\n"              /* 5 */
	"{\"metric\": \"latency_ms\", \"stat\": \"max\", \"max\": 399},\n"              /* 6 FAIL */
	"{\"metric\": \"tokens\", \"stat\": \"p50\", \"max\": 15},\n"                   /* 7 */
	"{\"metric\": \"tokens\", \"max\": 16},\n"                                      /* 8 FAIL */
	"{\"name\": \"budget\", \"metric\": \"cost_usd\", \"max\": 0.12},\n"            /* 9 */
	"{\"metric\": \"cost_usd\", \"suite\": \"a\", \"max\": 0.09},\n"                /* 10 FAIL */
	"{\"metric\": \"latency_ms\", \"suite\": \"nosuch\", \"max\": 1},\n"            /* 11 FAIL */
	"{\"metric\": \"score.judge\", \"stat\": \"p50\", \"min\": 0.8, \"max\": 0.8},\n" /* 12 */
	"{\"metric\": \"score.exact\", \"stat\": \"mean\", \"min\": 0.6}";              /* 13 */

/* USD per million tokens: 1000 in, 2000 out, so a call costs (pt + 2 ct) / 1000 */
static const char value_prices[] =
	"{\"m\": {\"input_per_mtok\": 1000, \"output_per_mtok\": 2000}}";

Test(gate, distribution_and_cost_gates)
{
	struct eg_config cfg;
	struct gates gs;
	struct history *h;
	struct rows rows = { 0 };
	const char *cfg_path, *out_path;
	char out[8192];
	FILE *out_fp;
	size_t n;
	int i;

	cfg_path = th_path("evalgate.json");
	write_config_prices(cfg_path, value_gates, value_prices);
	load(&cfg, &gs, cfg_path);
	cr_assert_eq(gs.n, 14);
	h = values_run("run-v", &cfg);

	out_path = th_path("out.txt");
	out_fp = fopen(out_path, "w+");
	cr_assert_not_null(out_fp);
	cr_assert_eq(gates_apply(h, "run-v", &gs, out_fp, 0), 6);
	rewind(out_fp);
	n = fread(out, 1, sizeof(out) - 1, out_fp);
	out[n] = '\0';
	fclose(out_fp);
	cr_assert_eq(history_gates(h, "run-v", collect, &rows), 0);
	cr_assert_eq(rows.n, 14);

	/* judge scores of every repeat: 0.9 0.7 0.5 1.0 0.8, the error left out */
	cr_assert_str_eq(rows.r[0].name, "mean score.judge");
	cr_assert_str_eq(rows.r[0].metric, "score.judge");
	cr_assert_float_eq(rows.r[0].value, 3.9 / 5, 1e-12);
	cr_assert_eq(rows.r[0].n, 5);
	cr_assert_eq(rows.r[0].pass, 1);
	cr_assert_str_eq(rows.r[0].detail, "mean of 5 scores; 1 scorer error left out");
	for (i = 0; i < 14; i++)
		if (i != 4 && i != 11)
			cr_assert(!strstr(rows.r[i].metric, "rate") && isnan(rows.r[i].lo) &&
				  isnan(rows.r[i].hi), "gate %d: no Wilson interval", i);

	cr_assert_float_eq(rows.r[1].value, 0.5, 1e-12);
	cr_assert_eq(rows.r[1].pass, 0);
	cr_assert_str_eq(rows.r[1].detail, "min of 5 scores; 1 scorer error left out");

	/* suite a: 0.9 0.7 0.5; p90 interpolates 0.7 + 0.8 * 0.2 */
	cr_assert_str_eq(rows.r[2].scope, "suite:a");
	cr_assert_float_eq(rows.r[2].value, 0.86, 1e-12);
	cr_assert_eq(rows.r[2].n, 3);
	cr_assert_str_eq(rows.r[2].op, "<=");
	cr_assert_eq(rows.r[2].pass, 1);

	/* tag x: both repeats of a/c1 and b/c1 */
	cr_assert_str_eq(rows.r[3].scope, "tag:x");
	cr_assert_float_eq(rows.r[3].value, 2.6 / 3, 1e-12);
	cr_assert_eq(rows.r[3].n, 3);
	cr_assert_eq(rows.r[3].pass, 1);
	cr_assert_str_eq(rows.r[3].detail, "mean of 3 scores");

	/* a scorer with no scores in scope: undefined, fails even min 0 */
	cr_assert(isnan(rows.r[4].value));
	cr_assert_eq(rows.r[4].n, 0);
	cr_assert_eq(rows.r[4].pass, 0);
	cr_assert_str_eq(rows.r[4].detail, "no scores of scorer 'exact' in scope suite:b");

	/* latency of answered calls: 100 300 200 400; error, a cache hit stored without a
	 * latency, and NULL left out */
	cr_assert_str_eq(rows.r[5].name, "p95 latency_ms");
	cr_assert_float_eq(rows.r[5].value, 385, 1e-9);
	cr_assert_eq(rows.r[5].n, 4);
	cr_assert_eq(rows.r[5].pass, 1);
	cr_assert_str_eq(rows.r[5].detail, "p95 of 4 calls; 3 without a measured latency "
			 "(error, no call, or a cache hit stored without one) left out");
	cr_assert_float_eq(rows.r[6].value, 400, 1e-9);
	cr_assert_eq(rows.r[6].pass, 0);

	/* tokens: 15 17 30 10 10, two unknown */
	cr_assert_float_eq(rows.r[7].value, 15, 1e-9);
	cr_assert_eq(rows.r[7].n, 5);
	cr_assert_eq(rows.r[7].pass, 1, "15 <= 15");
	cr_assert_float_eq(rows.r[8].value, 82.0 / 5, 1e-9);
	cr_assert_eq(rows.r[8].pass, 0);
	cr_assert_str_eq(rows.r[8].detail, "mean of 5 results; 2 without usage left out");

	/* cost: (pt + 2 ct) / 1000 summed: 20 + 24 + 40 + 12 + 15 = 111 thousandths */
	cr_assert_str_eq(rows.r[9].name, "budget");
	cr_assert_str_eq(rows.r[9].metric, "cost_usd");
	cr_assert_float_eq(rows.r[9].value, 0.111, 1e-12);
	cr_assert_eq(rows.r[9].n, 5);
	cr_assert_eq(rows.r[9].pass, 1);
	cr_assert_str_eq(rows.r[9].detail, "total of 5 results; 2 without usage left out");
	cr_assert_float_eq(rows.r[10].value, 0.096, 1e-12);
	cr_assert_eq(rows.r[10].n, 4);
	cr_assert_eq(rows.r[10].pass, 0);

	cr_assert(isnan(rows.r[11].value));
	cr_assert_eq(rows.r[11].pass, 0);
	cr_assert_str_eq(rows.r[11].detail, "no calls with a value in scope suite:nosuch");

	/* min and max together, met exactly */
	cr_assert_float_eq(rows.r[12].value, 0.8, 1e-12);
	cr_assert_eq(rows.r[12].pass, 1);

	/* exact: 1 1 0 over suite a (no error to leave out) */
	cr_assert_float_eq(rows.r[13].value, 2.0 / 3, 1e-12);
	cr_assert_eq(rows.r[13].pass, 1);
	cr_assert_str_eq(rows.r[13].detail, "mean of 3 scores");

	/* the verdict block prints each metric in its unit */
	cr_assert_not_null(strstr(out, "  PASS  p95 latency_ms "), "%s", out);
	cr_assert_not_null(strstr(out, " 385.0 <= 400 "), "%s", out);
	/* a failed gate reads as the rule it broke */
	cr_assert_not_null(strstr(out, " 400.0 > 399 allowed "), "%s", out);
	cr_assert_null(strstr(out, " 400.0 <= 399 "), "%s", out);
	cr_assert_not_null(strstr(out, " 0.7800 >= 0.75 "), "%s", out);
	cr_assert_not_null(strstr(out, "  PASS  budget "), "%s", out);
	cr_assert_not_null(strstr(out, " 0.111000 <= 0.12 "), "%s", out);
	cr_assert_not_null(strstr(out, " 16.4 > 16 allowed "), "%s", out);
	cr_assert_not_null(strstr(out, "  FAIL  mean latency_ms [suite nosuch] "), "%s", out);
	cr_assert_not_null(strstr(out, " n/a, no value to hold to <= 1 "), "%s", out);
	cr_assert_null(strstr(out, "95% CI"), "no interval for distributions: %s", out);
	history_close(h);
	release(&cfg, &gs);
}

Test(gate, gating_again_replaces_the_stored_rows)
{
	struct eg_config strict_cfg, loose_cfg;
	struct gates strict, loose;
	struct history *h;
	struct rows rows = { 0 };
	const char *cfg_path;

	cfg_path = th_path("loose.json");
	write_config_prices(cfg_path, "{\"metric\": \"latency_ms\", \"stat\": \"p95\", \"max\": 1000},\n"
			    "{\"metric\": \"cost_usd\", \"max\": 1}", value_prices);
	load(&loose_cfg, &loose, cfg_path);
	cfg_path = th_path("strict.json");
	write_config_prices(cfg_path, "{\"metric\": \"latency_ms\", \"stat\": \"p95\", \"max\": 100}",
			    value_prices);
	load(&strict_cfg, &strict, cfg_path);
	h = values_run("run-v", &loose_cfg);
	cr_assert_eq(gates_apply(h, "run-v", &loose, NULL, 0), 0);

	cr_assert_eq(history_batch_begin(h), 0);
	cr_assert_eq(history_gates_clear(h, "run-v"), 0);
	cr_assert_eq(gates_apply(h, "run-v", &strict, NULL, 0), 1);
	cr_assert_eq(history_batch_commit(h), 0);
	cr_assert_eq(history_gates(h, "run-v", collect, &rows), 0);
	cr_assert_eq(rows.n, 1, "the old rows are gone");
	cr_assert_float_eq(rows.r[0].threshold, 100, 1e-12);
	cr_assert_eq(rows.r[0].pass, 0);

	/* an undone batch leaves the rows as they were */
	cr_assert_eq(history_batch_begin(h), 0);
	cr_assert_eq(history_gates_clear(h, "run-v"), 0);
	cr_assert_eq(gates_apply(h, "run-v", &loose, NULL, 0), 0);
	cr_assert_eq(history_batch_rollback(h), 0);
	rows.n = 0;
	cr_assert_eq(history_gates(h, "run-v", collect, &rows), 0);
	cr_assert_eq(rows.n, 1);
	cr_assert_eq(rows.r[0].pass, 0);
	history_close(h);
	release(&strict_cfg, &strict);
	release(&loose_cfg, &loose);
}

Test(gate, values_of_the_history)
{
	struct eg_config cfg;
	struct gates gs;
	struct history *h;
	struct value_set vs;
	const char *cfg_path;

	cfg_path = th_path("evalgate.json");
	write_config_prices(cfg_path, "", value_prices);
	load(&cfg, &gs, cfg_path);
	h = values_run("run-v", &cfg);
	/* in storage order, every repeat */
	cr_assert_eq(history_values(h, "run-v", "a", NULL, VALUES_SCORE, "judge", &vs), 0);
	cr_assert_eq(vs.n, 3);
	cr_assert_float_eq(vs.v[0], 0.9, 1e-12);
	cr_assert_float_eq(vs.v[1], 0.7, 1e-12);
	cr_assert_float_eq(vs.v[2], 0.5, 1e-12);
	cr_assert_eq(vs.n_error, 1);
	cr_assert_eq(vs.n_unknown, 0);
	value_set_release(&vs);
	cr_assert_eq(history_values(h, "run-v", NULL, "y", VALUES_TOKENS, NULL, &vs), 0);
	cr_assert_eq(vs.n, 0);
	cr_assert_eq(vs.n_unknown, 1);
	value_set_release(&vs);
	cr_assert_eq(history_values(h, "run-v", NULL, NULL, VALUES_SCORE, "nosuch", &vs), 0);
	cr_assert_eq(vs.n + (size_t)vs.n_error + (size_t)vs.n_unknown, 0);
	value_set_release(&vs);
	cr_assert_eq(history_values(h, "other-run", NULL, NULL, VALUES_COST_USD, NULL, &vs), 0);
	cr_assert_eq(vs.n, 0);
	value_set_release(&vs);
	history_close(h);
	release(&cfg, &gs);
}

Test(gate, gate_suites_must_be_run)
{
	struct eg_config cfg;
	struct gates gs;
	const char *names[] = { "s1", "adv" };
	const char *kinds[] = { "golden", "adversarial" };
	const char *cfg_path;

	th_stderr_start();
	cfg_path = th_path("evalgate.json");
	write_config(cfg_path, "{\"metric\": \"pass_rate\", \"suite\": \"s1\", \"min\": 0.5},\n"
		     "{\"metric\": \"attack_success_rate\", \"suite\": \"adv\", \"max\": 0.1},\n"
		     "{\"metric\": \"latency_ms\", \"suite\": \"s2\", \"max\": 10}");
	load(&cfg, &gs, cfg_path);
	cr_assert_eq(gates_check_suites(&gs, names, kinds, 2, 1), -1);
	cr_assert_not_null(strstr(th_stderr_take(), "evalgate.json:6: gates: gate 'mean latency_ms "
				  "[suite s2]' names suite 's2', which is not among the run's suites\n"));
	cr_assert_eq(gates_check_suites(&gs, names, kinds, 2, 0), 0, "s2 not run: let be");
	names[1] = "s2";
	cr_assert_eq(gates_check_suites(&gs, names, kinds, 2, 1), -1, "adv not run");
	names[0] = "adv";
	kinds[0] = "golden";
	cr_assert_eq(gates_check_suites(&gs, names, kinds, 2, 0), -1, "attack on a golden suite");
	cr_assert_not_null(strstr(th_stderr_take(), "evalgate.json:5: gates: gate 'attack_success_rate "
				  "[suite adv]': attack_success_rate needs an adversarial suite, and "
				  "adv is golden\n"));
	kinds[0] = "adversarial";
	names[1] = "s1";
	cr_assert_eq(gates_check_suites(&gs, names, kinds, 2, 1), -1, "s2 still missing");
	release(&cfg, &gs);
}

/* --- parsing: each entry of the config's "gates" through its type --- */

#define TARGET "\"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"}"

static const char *gates_path;

/* a config with the target, the given gates (from line 5) and the given prices member */
static void write_gates_prices(const char *gates, const char *prices)
{
	gates_path = th_path("evalgate.json");
	th_write_gates_config(gates_path, gates, prices);
}

/* a config with the target and the given gates array (starting on line 4) */
static void write_gates(const char *gates)
{
	write_gates_prices(gates, "");
}

static void gates_ok(struct eg_config *cfg, struct gates *gs)
{
	cr_assert_eq(config_load(cfg, gates_path), 0, "%s", th_stderr_take());
	cr_assert_eq(gates_load(gs, cfg), 0, "%s", th_stderr_take());
}

/* the config loads, its gates do not: "<path>:<line>: <rest>" on stderr */
static void gates_fail(int line, const char *rest)
{
	struct eg_config cfg;
	struct gates gs;
	char want[1024];
	const char *err;

	cr_assert_eq(config_load(&cfg, gates_path), 0, "%s", th_stderr_take());
	cr_assert_eq(gates_load(&gs, &cfg), -1, "accepted (want %s)", rest);
	/* a failed load leaves nothing to release */
	cr_assert_null(gs.v);
	cr_assert_eq(gs.n, 0);
	err = th_stderr_take();
	snprintf(want, sizeof(want), "evalgate: %s:%d: %s\n", gates_path, line, rest);
	cr_assert_not_null(strstr(err, want), "want '%s' in: %s", want, err);
	config_release(&cfg);
}

static int is_type(const struct eg_gate *g, const char *metric)
{
	return g->type == gate_type_find(metric) && !strcmp(g->type->name, metric);
}

Test(gate, gates_read_and_named)
{
	struct eg_config cfg;
	struct gates gs;

	th_stderr_start();
	write_gates("    {\"name\": \"golden pass rate\", \"suite\": \"s1\", \"metric\": \"pass_rate\", \"min\": 0.95},\n"
		    "    {\"metric\": \"error_rate\", \"max\": 0.01},\n"
		    "    {\"metric\": \"pass_rate\", \"suite\": \"s2\", \"min\": 0, \"max\": 1},\n"
		    "\n"
		    "    {\"metric\": \"error_rate\", \"tag\": \"billing\", \"max\": 0.5}\n");
	gates_ok(&cfg, &gs);
	cr_assert_eq(gs.n, 4);
	cr_assert_str_eq(gs.v[0].name, "golden pass rate");
	cr_assert(is_type(&gs.v[0], "pass_rate"));
	cr_assert_str_eq(gs.v[0].metric, "pass_rate");
	cr_assert_str_eq(gs.v[0].suite, "s1");
	cr_assert_null(gs.v[0].tag);
	cr_assert(gs.v[0].has_min && !gs.v[0].has_max);
	cr_assert_float_eq(gs.v[0].min, 0.95, 1e-12);
	cr_assert_eq(gs.v[0].line, 5);

	cr_assert_str_eq(gs.v[1].name, "error_rate");
	cr_assert(is_type(&gs.v[1], "error_rate"));
	cr_assert_null(gs.v[1].suite);
	cr_assert(!gs.v[1].has_min && gs.v[1].has_max);
	cr_assert_float_eq(gs.v[1].max, 0.01, 1e-12);
	cr_assert_eq(gs.v[1].line, 6);

	cr_assert_str_eq(gs.v[2].name, "pass_rate [suite s2]");
	cr_assert(gs.v[2].has_min && gs.v[2].has_max);
	cr_assert_float_eq(gs.v[2].min, 0, 1e-12);
	cr_assert_float_eq(gs.v[2].max, 1, 1e-12);

	cr_assert_str_eq(gs.v[3].name, "error_rate [tag billing]");
	cr_assert_str_eq(gs.v[3].tag, "billing");
	cr_assert_null(gs.v[3].suite);
	cr_assert_eq(gs.v[3].line, 9);
	release(&cfg, &gs);
}

Test(gate, gate_errors)
{
	th_stderr_start();
	write_gates("    {\"metric\": \"pass_rate\", \"min\": 0.9},\n"
		    "    {\"metric\":\n \"pass_ratio\", \"min\": 0.9}\n");
	gates_fail(6, "gates[1].metric: unknown metric 'pass_ratio' (known: pass_rate, error_rate, "
		   "attack_success_rate, judge_error_rate, score.<scorer>, latency_ms, tokens, cost_usd, "
		   "regression, drift, ttft_ms, itl_ms, scorer_error_rate, tool_error_rate, steps, judge_kappa, delta.<metric>)");
	write_gates("    {\"metric\": \"pass_rate\"}\n");
	gates_fail(5, "gates[0]: a gate needs min or max");
	write_gates("    {\"metric\": \"judge_kappa\", \"max\": 0.5}\n");
	gates_fail(5, "gates[0]: judge_kappa takes \"min\" (the lowest kappa accepted) and no \"max\"");
	write_gates("    {\"metric\": \"pass_rate\", \"suite\": \"s\", \"tag\": \"t\", \"min\": 1}\n");
	gates_fail(5, "gates[0]: give either suite or tag, not both");
	write_gates("    {\"name\": \"\", \"metric\": \"pass_rate\", \"min\": 1}\n");
	gates_fail(5, "gates[0].name: an empty name (leave it out to have one made from the metric "
		   "and scope)");
	write_gates("    {\"min\": 0.5}\n");
	gates_fail(5, "gates[0].metric: missing (a string is required)");
	write_gates("    {\"metric\": \"error_rate\",\n     \"max\": 2}\n");
	gates_fail(6, "gates[0].max: 2 is out of range [0, 1]");
	write_gates("    {\"metric\": \"pass_rate\", \"min\": \"0.9\"}\n");
	gates_fail(5, "gates[0].min: expected a number");
	write_gates("    {\"metric\": \"pass_rate\", \"min\": 0.9, \"statistic\": \"mean\"}\n");
	gates_fail(5, "gates[0].statistic: unknown field");
	/* a field of another type is refused by this one's list */
	write_gates("    {\"metric\": \"pass_rate\", \"min\": 0.9, \"baseline\": \"latest\"}\n");
	gates_fail(5, "gates[0].baseline: unknown field");
	/* the rest of the array is not looked at after the first error */
	write_gates("    {\"metric\": 5},\n    {\"metric\": \"nosuch\"}\n");
	gates_fail(5, "gates[0].metric: expected a string");
}

Test(gate, stat_gates_read)
{
	struct eg_config cfg;
	struct gates gs;

	th_stderr_start();
	write_gates_prices(
		"    {\"metric\": \"score.judge\", \"min\": 0.8},\n"
		"    {\"metric\": \"latency_ms\", \"stat\": \"p95\", \"suite\": \"s1\", \"max\": 4000},\n"
		"    {\"metric\": \"tokens\", \"stat\": \"max\", \"min\": 1, \"max\": 1e6},\n"
		"    {\"name\": \"budget\", \"metric\": \"cost_usd\", \"tag\": \"t\", \"max\": 5.5},\n"
		"    {\"metric\": \"score.my.faith\", \"stat\": \"min\", \"min\": 0}\n",
		"\"prices\": {\"m\": {\"input_per_mtok\": 0.15, \"output_per_mtok\": 0.6},\n"
		"             \"other\": {\"output_per_mtok\": 10, \"input_per_mtok\": 2}}");
	gates_ok(&cfg, &gs);
	cr_assert_eq(gs.n, 5);
	cr_assert(is_type(&gs.v[0], "score."));
	cr_assert_str_eq(gs.v[0].scorer, "judge");
	cr_assert_str_eq(gs.v[0].metric, "score.judge");
	cr_assert_eq(gs.v[0].stat, STAT_MEAN, "mean by default");
	cr_assert_str_eq(gs.v[0].name, "mean score.judge");

	cr_assert(is_type(&gs.v[1], "latency_ms"));
	cr_assert_eq(gs.v[1].stat, STAT_P95);
	cr_assert_null(gs.v[1].scorer);
	cr_assert_float_eq(gs.v[1].max, 4000, 1e-9, "thresholds beyond 1 for latency");
	cr_assert_str_eq(gs.v[1].name, "p95 latency_ms [suite s1]");
	cr_assert_eq(gs.v[1].line, 6);

	cr_assert(is_type(&gs.v[2], "tokens"));
	cr_assert_eq(gs.v[2].stat, STAT_MAX);
	cr_assert_str_eq(gs.v[2].name, "max tokens");

	cr_assert(is_type(&gs.v[3], "cost_usd"));
	cr_assert_eq(gs.v[3].stat, STAT_NONE);
	cr_assert_str_eq(gs.v[3].name, "budget");
	cr_assert_float_eq(gs.v[3].max, 5.5, 1e-12);

	cr_assert_str_eq(gs.v[4].scorer, "my.faith", "a label may hold dots");
	cr_assert_eq(gs.v[4].stat, STAT_MIN);
	release(&cfg, &gs);

	/* pass_rate and friends take no stat */
	write_gates("    {\"metric\": \"pass_rate\", \"min\": 0.5}\n");
	gates_ok(&cfg, &gs);
	cr_assert_eq(gs.v[0].stat, STAT_NONE);
	cr_assert_null(gs.v[0].scorer);
	release(&cfg, &gs);
}

#define KNOWN_METRICS " (known: pass_rate, error_rate, attack_success_rate, judge_error_rate, score.<scorer>, latency_ms, tokens, cost_usd, regression, drift, ttft_ms, itl_ms, scorer_error_rate, tool_error_rate, steps, judge_kappa, delta.<metric>)"

Test(gate, stat_gate_and_price_errors)
{
	static const struct {
		const char *gate;   /* the gate on line 5 */
		const char *prices; /* a prices member on line 7, or "" */
		int line;
		const char *want;
	} t[] = {
		{ "{\"metric\": \"score.\", \"min\": 0.5}", "", 5,
		  "gates[0].metric: score. needs a scorer name, e.g. score.judge" },
		{ "{\"metric\": \"scores.judge\", \"min\": 0.5}", "", 5,
		  "gates[0].metric: unknown metric 'scores.judge'" KNOWN_METRICS },
		{ "{\"metric\": \"latency\", \"max\": 5}", "", 5,
		  "gates[0].metric: unknown metric 'latency'" KNOWN_METRICS },
		{ "{\"metric\": \"pass_rate\", \"stat\": \"mean\", \"min\": 0.5}", "", 5,
		  "gates[0].stat: pass_rate takes no stat (only score.<scorer>, latency_ms, tokens, ttft_ms and itl_ms do)" },
		{ "{\"metric\": \"cost_usd\", \"stat\": \"p95\", \"max\": 5}",
		  "\"prices\": {\"m\": {\"input_per_mtok\": 1, \"output_per_mtok\": 1}}", 5,
		  "gates[0].stat: cost_usd takes no stat (only score.<scorer>, latency_ms, tokens, ttft_ms and itl_ms do)" },
		{ "{\"metric\": \"latency_ms\", \"stat\": \"p42\", \"max\": 5}", "", 5,
		  "gates[0].stat: unknown stat 'p42' (known: mean, min, max, p50, p90, p95, p99)" },
		{ "{\"metric\": \"latency_ms\", \"stat\": \"P95\", \"max\": 5}", "", 5,
		  "gates[0].stat: unknown stat 'P95' (known: mean, min, max, p50, p90, p95, p99)" },
		{ "{\"metric\": \"tokens\", \"stat\": 95, \"max\": 5}", "", 5,
		  "gates[0].stat: expected a string" },
		{ "{\"metric\": \"score.judge\", \"min\": 0.9, \"max\": 0.5}", "", 5,
		  "gates[0]: min 0.9 is greater than max 0.5" },
		{ "{\"metric\": \"latency_ms\", \"min\": 5000, \"max\": 4000}", "", 5,
		  "gates[0]: min 5000 is greater than max 4000" },
		{ "{\"metric\": \"score.judge\", \"min\": 1.5}", "", 5,
		  "gates[0].min: 1.5 is out of range [0, 1]" },
		{ "{\"metric\": \"latency_ms\", \"max\": -1}", "", 5,
		  "gates[0].max: -1 is out of range [0, 1e+09]" },
		{ "{\"metric\": \"cost_usd\", \"max\": 5}", "", 5,
		  "prices: no price for model 'm' (target.model), which gate 'cost_usd' needs" },
		{ "{\"metric\": \"cost_usd\", \"max\": 5}",
		  "\"prices\": {\"M\": {\"input_per_mtok\": 1, \"output_per_mtok\": 1}}", 7,
		  "prices: no price for model 'm' (target.model), which gate 'cost_usd' needs" },
	};
	size_t i;
	char gate[512];

	th_stderr_start();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(gate, sizeof(gate), "    %s\n", t[i].gate);
		write_gates_prices(gate, t[i].prices);
		gates_fail(t[i].line, t[i].want);
	}
}

Test(gate, a_config_without_gates_has_none)
{
	struct eg_config cfg;
	struct gates gs;

	gates_path = th_path("evalgate.json");
	th_write(gates_path, "{\"gateway\": {\"base_url\": \"http://h\"}, " TARGET "}\n");
	load(&cfg, &gs, gates_path);
	cr_assert_eq(gs.n, 0);
	cr_assert_null(gs.v);
	release(&cfg, &gs);
}

Test(gate, types_by_metric)
{
	static const char *const metrics[] = { "pass_rate", "error_rate", "attack_success_rate",
					       "judge_error_rate", "score.x", "latency_ms",
					       "tokens", "cost_usd", "regression", "drift" };
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const struct gate_type *t = gate_type_find(metrics[i]);

		cr_assert_not_null(t, "%s", metrics[i]);
		cr_assert_not_null(t->parse, "%s", metrics[i]);
		cr_assert_not_null(t->eval, "%s", metrics[i]);
	}
	cr_assert_null(gate_type_find("score"));
	cr_assert_null(gate_type_find("pass_rates"));
	cr_assert_null(gate_type_find(""));
	cr_assert_str_eq(gate_type_find("score.judge")->name, "score.");
	/* values print in their metric's unit */
	gate_format_value("latency_ms", 812.04, buf, sizeof(buf));
	cr_assert_str_eq(buf, "812.0");
	gate_format_value("tokens", 15, buf, sizeof(buf));
	cr_assert_str_eq(buf, "15.0");
	gate_format_value("cost_usd", 0.111, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0.111000");
	gate_format_value("score.judge", 0.78, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0.7800");
	gate_format_value("no such metric", 0.5, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0.5000");
	gate_format_value(NULL, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1.0000");
	gate_format_value("pass_rate", NAN, buf, sizeof(buf));
	cr_assert_str_eq(buf, "n/a");
}

/* --- the verdict --- */

Test(gate, verdict)
{
	struct counts c = { 10, 8, 1, 1, 0 };
	const char *why;

	cr_assert_eq(gates_verdict(RUN_FINISHED, &c, 0.1, 0, &why), VERDICT_PASS);
	cr_assert_null(why);
	cr_assert_eq(gates_verdict(RUN_FINISHED, &c, 0.1, 2, &why), VERDICT_FAIL);
	cr_assert_null(why);
	/* 1 of 10 errored: over 0.05, whatever the gates say */
	cr_assert_eq(gates_verdict(RUN_FINISHED, &c, 0.05, 0, &why), VERDICT_ERROR);
	cr_assert_str_eq(why, "error rate");
	cr_assert_eq(gates_verdict(RUN_FINISHED, NULL, 0.05, 0, &why), VERDICT_PASS, "counts not known");
	cr_assert_eq(gates_verdict(RUN_INTERRUPTED, &c, 0.1, 0, &why), VERDICT_ERROR);
	cr_assert_str_eq(why, "interrupted");
	cr_assert_eq(gates_verdict(RUN_FAILED, NULL, 1, 3, &why), VERDICT_ERROR);
	cr_assert_str_eq(why, "failed");
	c.n = c.error = 0;
	cr_assert_eq(gates_verdict(RUN_FINISHED, &c, 0, 0, &why), VERDICT_PASS, "no results, no rate");
	cr_assert_str_eq(gate_verdict_name(VERDICT_PASS), "pass");
	cr_assert_str_eq(gate_verdict_name(VERDICT_FAIL), "fail");
	cr_assert_str_eq(gate_verdict_name(VERDICT_ERROR), "error");
}

Test(gate, verdict_line)
{
	char buf[256];
	FILE *fp;
	size_t n;

	fp = tmpfile();
	cr_assert_not_null(fp);
	gates_print_verdict(fp, VERDICT_PASS, NULL, 0, 3, 0);
	gates_print_verdict(fp, VERDICT_FAIL, NULL, 2, 3, 0);
	gates_print_verdict(fp, VERDICT_ERROR, "error rate", 0, 3, 1);
	gates_print_verdict(fp, VERDICT_PASS, NULL, 0, 0, 1);
	gates_print_verdict(fp, VERDICT_FAIL, NULL, 1, 1, 1);
	rewind(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	cr_assert_str_eq(buf, "verdict: PASS\n"
			 "verdict: FAIL (2 of 3 gates failed)\n"
			 "verdict: ERROR (error rate)\n"
			 "verdict: \033[1;32mPASS\033[0m\n"
			 "verdict: \033[1;31mFAIL\033[0m (1 of 1 gates failed)\n");
}

/* the gates' text printed and their rows stored by one way of applying them */
static int apply_gates(struct history *h, const struct gates *gs, const struct run_tally *t,
		       struct rows *rows, char *out, size_t size)
{
	FILE *fp = fopen(th_path("apply.txt"), "w+");
	size_t n;
	int failed;

	cr_assert_not_null(fp);
	cr_assert_eq(history_gates_clear(h, "run-1"), 0);
	failed = t ? gates_apply_tallied(h, "run-1", gs, t, fp, 0) : gates_apply(h, "run-1", gs, fp, 0);
	rewind(fp);
	n = fread(out, 1, size - 1, fp);
	out[n] = '\0';
	fclose(fp);
	memset(rows, 0, sizeof(*rows));
	cr_assert_eq(history_gates(h, "run-1", collect, rows), 0);
	return failed;
}

Test(gate, tallied_gates_agree_with_the_queries)
{
	static const char more[] =
		",\n{\"metric\": \"scorer_error_rate\", \"suite\": \"s1\", \"max\": 0.5}";
	struct eg_config cfg;
	struct gates gs, implicit;
	struct history *h;
	struct run_tally t;
	struct result_row r;
	struct rows want, got;
	struct counts all, tallied;
	char text[sizeof(gates_text) + sizeof(more)], out_want[8192], out_got[8192];
	int i, k, failed;

	/* the gates of gates_over_a_stored_run, and one on scorer errors of a suite */
	snprintf(text, sizeof(text), "%s%s", gates_text, more);
	write_config(th_path("evalgate.json"), text);
	load(&cfg, &gs, th_path("evalgate.json"));
	h = stored_run("run-1");
	/* two results that errored in a scorer (no call error): the implicit gate fails */
	for (i = 0; i < 2; i++) {
		char id[32];

		snprintf(id, sizeof(id), "scorer-%d", i);
		memset(&r, 0, sizeof(r));
		r.suite = i ? "s2" : "s1";
		r.case_id = id;
		r.status = RESULT_ERROR;
		r.output = "answer";
		r.output_len = 6;
		r.latency_ms = 10;
		r.prompt_tokens = r.completion_tokens = -1;
		r.cost_usd = NAN;
		r.attempts = 1;
		cr_assert_eq(history_add_result(h, "run-1", &r), 0);
	}
	cr_assert_eq(history_run_tally(h, "run-1", &t), 0);
	cr_assert_eq(t.scorer_errors, 2);

	/* with and without the tally: the same rows, the same text, the same failures */
	failed = apply_gates(h, &gs, NULL, &want, out_want, sizeof(out_want));
	cr_assert_eq(apply_gates(h, &gs, &t, &got, out_got, sizeof(out_got)), failed);
	cr_assert_eq(got.n, want.n);
	cr_assert_str_eq(out_got, out_want);
	for (k = 0; k < want.n; k++) {
		cr_expect_str_eq(got.r[k].name, want.r[k].name);
		cr_expect_str_eq(got.r[k].detail, want.r[k].detail, "%s", want.r[k].name);
		cr_expect_eq(got.r[k].n, want.r[k].n, "%s", want.r[k].name);
		cr_expect_eq(got.r[k].pass, want.r[k].pass, "%s", want.r[k].name);
		cr_expect(got.r[k].value == want.r[k].value ||
			  (isnan(got.r[k].value) && isnan(want.r[k].value)), "%s", want.r[k].name);
	}

	/* without a scorer_error_rate gate the implicit one counts from the tally too */
	implicit = gs;
	implicit.n = 2;
	failed = apply_gates(h, &implicit, NULL, &want, out_want, sizeof(out_want));
	cr_assert_eq(want.n, 3, "two gates and the implicit one");
	cr_assert_str_eq(want.r[2].name, "scorer_error_rate (implicit)");
	cr_assert_eq(apply_gates(h, &implicit, &t, &got, out_got, sizeof(out_got)), failed);
	cr_assert_str_eq(out_got, out_want);
	cr_assert_eq(got.n, 3);
	cr_expect_str_eq(got.r[2].detail, want.r[2].detail);
	cr_expect_eq(got.r[2].n, want.r[2].n);

	/* the verdict's counts: the call errors alone */
	cr_assert_eq(gates_gateway_counts(h, "run-1", &all), 0);
	gates_tally_gateway_counts(&t, &tallied);
	cr_expect_eq(tallied.n, all.n);
	cr_expect_eq(tallied.pass, all.pass);
	cr_expect_eq(tallied.fail, all.fail);
	cr_expect_eq(tallied.error, all.error);
	cr_expect_eq(tallied.error, 3);
	run_tally_release(&t);
	history_close(h);
	release(&cfg, &gs);
}
