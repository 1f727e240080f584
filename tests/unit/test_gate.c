/* gate: Wilson intervals and gates applied to a stored run, read back from the history */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "gate.h"
#include "history.h"
#include "banned.h"

static char tmpdir[64];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/eg_gate_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(gate, .init = setup, .fini = teardown);

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
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp);
	fprintf(fp, "{\"gateway\": {\"base_url\": \"http://127.0.0.1:1/v1\"},\n"
		    " \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		    " \"gates\": [\n%s\n]}\n", gates);
	cr_assert_eq(fclose(fp), 0);
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
	char path[128];
	int i = 0, k;

	snprintf(path, sizeof(path), "%s/history.db", tmpdir);
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
	struct history *h;
	struct rows rows = { 0 };
	char cfg_path[128], out_path[128], out[8192];
	FILE *out_fp;
	size_t n;
	double lo, hi;

	snprintf(cfg_path, sizeof(cfg_path), "%s/evalgate.json", tmpdir);
	write_config(cfg_path, gates_text);
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
	cr_assert_eq(cfg.n_gates, 10);
	h = stored_run("run-1");

	snprintf(out_path, sizeof(out_path), "%s/out.txt", tmpdir);
	out_fp = fopen(out_path, "w+");
	cr_assert_not_null(out_fp);
	cr_assert_eq(gates_apply(h, "run-1", &cfg, out_fp, 0), 6);
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
	config_release(&cfg);
}

Test(gate, gates_of_other_runs_are_apart)
{
	struct eg_config cfg;
	struct history *h;
	struct rows rows = { 0 };
	struct run_info ri;
	char cfg_path[128];

	snprintf(cfg_path, sizeof(cfg_path), "%s/evalgate.json", tmpdir);
	write_config(cfg_path, "{\"metric\": \"pass_rate\", \"min\": 0.5}");
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
	h = stored_run("run-1");
	/* a second run with nothing but errors */
	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)"run-2";
	ri.target = (char *)"bot";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	add(h, "run-2", "s1", 0, RESULT_ERROR, NULL);
	add(h, "run-2", "s1", 1, RESULT_ERROR, NULL);

	cr_assert_eq(gates_apply(h, "run-2", &cfg, NULL, 0), 1, "no answers: pass_rate has no cases");
	cr_assert_eq(gates_apply(h, "run-1", &cfg, NULL, 0), 0);
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
	config_release(&cfg);
}

Test(gate, no_gates_prints_nothing)
{
	struct eg_config cfg;
	struct history *h;
	struct rows rows = { 0 };
	char cfg_path[128], out_path[128];
	FILE *out_fp;

	snprintf(cfg_path, sizeof(cfg_path), "%s/evalgate.json", tmpdir);
	write_config(cfg_path, "");
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
	cr_assert_eq(cfg.n_gates, 0);
	h = stored_run("run-1");
	snprintf(out_path, sizeof(out_path), "%s/out.txt", tmpdir);
	out_fp = fopen(out_path, "w+");
	cr_assert_not_null(out_fp);
	cr_assert_eq(gates_apply(h, "run-1", &cfg, out_fp, 1), 0);
	cr_assert_eq(ftell(out_fp), 0);
	fclose(out_fp);
	cr_assert_eq(history_gates(h, "run-1", collect, &rows), 0);
	cr_assert_eq(rows.n, 0);
	history_close(h);
	config_release(&cfg);
}

Test(gate, colour_when_asked)
{
	struct eg_config cfg;
	struct history *h;
	char cfg_path[128], out_path[128], out[2048];
	FILE *out_fp;
	size_t n;

	snprintf(cfg_path, sizeof(cfg_path), "%s/evalgate.json", tmpdir);
	write_config(cfg_path, "{\"metric\": \"pass_rate\", \"min\": 0.5},\n{\"metric\": \"error_rate\", \"max\": 0}");
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
	h = stored_run("run-1");
	snprintf(out_path, sizeof(out_path), "%s/out.txt", tmpdir);
	out_fp = fopen(out_path, "w+");
	cr_assert_not_null(out_fp);
	cr_assert_eq(gates_apply(h, "run-1", &cfg, out_fp, 1), 1);
	rewind(out_fp);
	n = fread(out, 1, sizeof(out) - 1, out_fp);
	out[n] = '\0';
	fclose(out_fp);
	cr_assert_not_null(strstr(out, "\033[32mPASS\033[0m"), "%s", out);
	cr_assert_not_null(strstr(out, "\033[31mFAIL\033[0m"), "%s", out);
	history_close(h);
	config_release(&cfg);
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
	char path[128];
	size_t i;

	snprintf(path, sizeof(path), "%s/history.db", tmpdir);
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
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp);
	fprintf(fp, "{\"gateway\": {\"base_url\": \"http://127.0.0.1:1/v1\"},\n"
		    " \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		    " \"prices\": %s,\n"
		    " \"gates\": [\n%s\n]}\n", prices, gates);
	cr_assert_eq(fclose(fp), 0);
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
	struct history *h;
	struct rows rows = { 0 };
	char cfg_path[128], out_path[128], out[8192];
	FILE *out_fp;
	size_t n;
	int i;

	snprintf(cfg_path, sizeof(cfg_path), "%s/evalgate.json", tmpdir);
	write_config_prices(cfg_path, value_gates, value_prices);
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
	cr_assert_eq(cfg.n_gates, 14);
	h = values_run("run-v", &cfg);

	snprintf(out_path, sizeof(out_path), "%s/out.txt", tmpdir);
	out_fp = fopen(out_path, "w+");
	cr_assert_not_null(out_fp);
	cr_assert_eq(gates_apply(h, "run-v", &cfg, out_fp, 0), 6);
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

	/* latency of answered calls: 100 300 200 400; error, cache hit and NULL left out */
	cr_assert_str_eq(rows.r[5].name, "p95 latency_ms");
	cr_assert_float_eq(rows.r[5].value, 385, 1e-9);
	cr_assert_eq(rows.r[5].n, 4);
	cr_assert_eq(rows.r[5].pass, 1);
	cr_assert_str_eq(rows.r[5].detail, "p95 of 4 calls; 3 without a measured latency "
			 "(error, cache hit or no call) left out");
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
	cr_assert_not_null(strstr(out, " 400.0 <= 399 "), "%s", out);
	cr_assert_not_null(strstr(out, " 0.7800 >= 0.75 "), "%s", out);
	cr_assert_not_null(strstr(out, "  PASS  budget "), "%s", out);
	cr_assert_not_null(strstr(out, " 0.111000 <= 0.12 "), "%s", out);
	cr_assert_not_null(strstr(out, " 16.4 <= 16 "), "%s", out);
	cr_assert_not_null(strstr(out, "  FAIL  mean latency_ms [suite nosuch] "), "%s", out);
	cr_assert_not_null(strstr(out, " n/a <= 1 "), "%s", out);
	cr_assert_null(strstr(out, "95% CI"), "no interval for distributions: %s", out);
	history_close(h);
	config_release(&cfg);
}

Test(gate, gating_again_replaces_the_stored_rows)
{
	struct eg_config strict, loose;
	struct history *h;
	struct rows rows = { 0 };
	char cfg_path[128];

	snprintf(cfg_path, sizeof(cfg_path), "%s/loose.json", tmpdir);
	write_config_prices(cfg_path, "{\"metric\": \"latency_ms\", \"stat\": \"p95\", \"max\": 1000},\n"
			    "{\"metric\": \"cost_usd\", \"max\": 1}", value_prices);
	cr_assert_eq(config_load(&loose, cfg_path), 0);
	snprintf(cfg_path, sizeof(cfg_path), "%s/strict.json", tmpdir);
	write_config_prices(cfg_path, "{\"metric\": \"latency_ms\", \"stat\": \"p95\", \"max\": 100}",
			    value_prices);
	cr_assert_eq(config_load(&strict, cfg_path), 0);
	h = values_run("run-v", &loose);
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
	config_release(&strict);
	config_release(&loose);
}

Test(gate, values_of_the_history)
{
	struct eg_config cfg;
	struct history *h;
	struct value_set vs;
	char cfg_path[128];

	snprintf(cfg_path, sizeof(cfg_path), "%s/evalgate.json", tmpdir);
	write_config_prices(cfg_path, "", value_prices);
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
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
	config_release(&cfg);
}

Test(gate, gate_suites_must_be_run)
{
	struct eg_config cfg;
	const char *names[] = { "s1", "adv" };
	const char *kinds[] = { "golden", "adversarial" };
	char cfg_path[128];

	cr_redirect_stderr();
	snprintf(cfg_path, sizeof(cfg_path), "%s/evalgate.json", tmpdir);
	write_config(cfg_path, "{\"metric\": \"pass_rate\", \"suite\": \"s1\", \"min\": 0.5},\n"
		     "{\"metric\": \"attack_success_rate\", \"suite\": \"adv\", \"max\": 0.1},\n"
		     "{\"metric\": \"latency_ms\", \"suite\": \"s2\", \"max\": 10}");
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
	cr_assert_eq(gates_check_suites(&cfg, names, kinds, 2, 1), -1);
	cr_assert_eq(gates_check_suites(&cfg, names, kinds, 2, 0), 0, "s2 not run: let be");
	names[1] = "s2";
	cr_assert_eq(gates_check_suites(&cfg, names, kinds, 2, 1), -1, "adv not run");
	names[0] = "adv";
	kinds[0] = "golden";
	cr_assert_eq(gates_check_suites(&cfg, names, kinds, 2, 0), -1, "attack on a golden suite");
	kinds[0] = "adversarial";
	names[1] = "s1";
	cr_assert_eq(gates_check_suites(&cfg, names, kinds, 2, 1), -1, "s2 still missing");
	config_release(&cfg);
	fflush(stderr);
}
