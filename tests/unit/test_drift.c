/* drift: control limits by hand, and the drift gate over hand-built histories */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "drift.h"
#include "gate.h"
#include "helper.h"
#include "history.h"
#include "banned.h"

static struct history *hist;

static void setup(void)
{
	th_tmpdir_setup();
	hist = history_open(th_path("history.db"));
	cr_assert_not_null(hist);
}

static void gate_set_release(void);

static void teardown(void)
{
	gate_set_release();
	history_close(hist);
	th_tmpdir_teardown();
}

TestSuite(drift, .init = setup, .fini = teardown);

Test(drift, pchart_by_hand)
{
	long k[] = { 90, 92, 88 }, n[] = { 100, 100, 100 };
	double c, lo;

	/* p = 270/300 = 0.9; 3 sqrt(0.9 * 0.1 / 100) = 0.09 */
	drift_pchart(k, n, 3, 100, &c, &lo);
	cr_assert_float_eq(c, 0.9, 1e-12);
	cr_assert_float_eq(lo, 0.81, 1e-12);
	/* a smaller sample tonight widens the limit: n = 25 gives 0.9 - 0.18 */
	drift_pchart(k, n, 3, 25, &c, &lo);
	cr_assert_float_eq(lo, 0.72, 1e-12);
	/* the centre pools cases, it is not the mean of the rates */
	{
		long k2[] = { 10, 80 }, n2[] = { 10, 100 };
		drift_pchart(k2, n2, 2, 100, &c, &lo);
		cr_assert_float_eq(c, 90.0 / 110.0, 1e-12);
	}
	/* clamped at 0; undefined without cases */
	{
		long k3[] = { 1 }, n3[] = { 10 };
		drift_pchart(k3, n3, 1, 1, &c, &lo);
		cr_assert_eq(lo, 0.0);
	}
	drift_pchart(k, n, 0, 100, &c, &lo);
	cr_assert(isnan(c) && isnan(lo));
}

Test(drift, mean_chart_by_hand)
{
	double v[] = { 0.8, 0.82, 0.78 }, c, sd, lo;

	drift_means(v, 3, &c, &sd, &lo);
	cr_assert_float_eq(c, 0.8, 1e-12);
	cr_assert_float_eq(sd, 0.02, 1e-12);
	cr_assert_float_eq(lo, 0.74, 1e-12);
	drift_means(v, 1, &c, &sd, &lo);
	cr_assert_float_eq(sd, 0.0, 1e-12);
	cr_assert_float_eq(lo, 0.8, 1e-12);
	drift_means(v, 0, &c, &sd, &lo);
	cr_assert(isnan(c) && isnan(lo));
}

/*
 * a run of suite with `pass` passing and `fail` failing cases, each with a
 * "judge" score (score for passes, 0.2 for failures); started on day `day`
 */
static void add_run(const char *id, const char *suite, int day, int pass, int fail,
		    double score, enum run_status st)
{
	struct run_info ri;
	char started[48];
	int i;

	memset(&ri, 0, sizeof(ri));
	snprintf(started, sizeof(started), "2026-01-%02dT03:00:00.000Z", day);
	ri.id = (char *)id;
	ri.started_at = started;
	ri.status = RUN_RUNNING;
	ri.target = (char *)"bot";
	ri.version = (char *)"v1";
	ri.model = (char *)"m";
	ri.config_hash = (char *)"c";
	ri.evalgate_version = (char *)"0.1.0";
	cr_assert_eq(history_run_begin(hist, &ri), 0);
	cr_assert_eq(history_run_suite(hist, id, suite, "1", "h", "online"), 0);
	for (i = 0; i < pass + fail; i++) {
		struct result_row r;
		struct score_row sc;
		char cid[32];

		snprintf(cid, sizeof(cid), "c%d", i);
		memset(&r, 0, sizeof(r));
		memset(&sc, 0, sizeof(sc));
		sc.scorer = "judge";
		sc.type = "judge";
		sc.pass = i < pass;
		sc.score = i < pass ? score : 0.2;
		sc.reason = "r";
		sc.calls = 1;
		r.suite = suite;
		r.case_id = cid;
		r.case_hash = "0";
		r.status = i < pass ? RESULT_PASS : RESULT_FAIL;
		r.output = "a";
		r.output_len = 1;
		r.prompt_tokens = r.completion_tokens = -1;
		r.attempts = 1;
		r.cost_usd = NAN;
		r.ordinal = i + 1;
		r.scores = &sc;
		r.n_scores = 1;
		cr_assert_eq(history_add_result(hist, id, &r), 0);
	}
	if (st != RUN_RUNNING)
		cr_assert_eq(history_run_finish(hist, id, st, NULL), 0);
}

static void write_config(const char *gates);

/* the gates of the last gate_for, released by teardown */
static struct eg_config gate_cfg;
static struct gates gate_set;

static void gate_set_release(void)
{
	if (!gate_set.cfg)
		return;
	gates_release(&gate_set);
	config_release(&gate_cfg);
}

/* a drift gate named "drift" as a config gives it, parsed by the gates layer */
static const struct eg_gate *gate_for(const char *suite, int window, const char *scorer)
{
	const char *path;
	char gate[256];

	gate_set_release();
	snprintf(gate, sizeof(gate), "{\"name\": \"drift\", \"suite\": \"%s\", \"metric\": "
		 "\"drift\", \"window\": %d%s%s%s}", suite, window, scorer ? ", \"scorer\": \"" : "",
		 scorer ? scorer : "", scorer ? "\"" : "");
	write_config(gate);
	path = th_path("cfg.json");
	cr_assert_eq(config_load(&gate_cfg, path), 0);
	cr_assert_eq(gates_load(&gate_set, &gate_cfg), 0);
	cr_assert_eq(gate_set.n, 1);
	cr_assert_str_eq(gate_set.v[0].type->name, "drift");
	return &gate_set.v[0];
}

/* the row of g over run, its detail copied into detail */
static struct gate_row eval(const struct eg_gate *g, const char *run, char *detail, size_t n)
{
	struct gate_result res;
	struct gate_row row;

	cr_assert_eq(gate_eval(g, hist, run, &gate_set, &res), 0);
	cr_assert_str_eq(res.row.scope, "suite:online");
	cr_assert_str_eq(res.row.metric, "drift");
	cr_assert_lt(res.detail.len, n);
	snprintf(detail, n, "%s", res.detail.buf);
	row = res.row;
	row.name = row.metric = row.scope = NULL; /* released below */
	row.detail = detail;
	gate_result_release(g, &res);
	return row;
}

/* five steady nights around 90/100 */
static void steady_history(void)
{
	static const int passes[] = { 90, 92, 88, 91, 89 };
	int i;

	for (i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "night%d", i + 1);
		add_run(id, "online", i + 1, passes[i], 100 - passes[i], 0.9 - 0.01 * (i % 2),
			RUN_FINISHED);
	}
}

Test(drift, a_bad_night_fails_a_normal_one_passes)
{
	const struct eg_gate *g = gate_for("online", 7, NULL);
	struct gate_row row;
	char detail[1024];

	steady_history();
	/* p = 450/500 = 0.9, lower 0.81 for n = 100 */
	add_run("bad", "online", 6, 70, 30, 0.9, RUN_RUNNING);
	row = eval(g, "bad", detail, sizeof(detail));
	cr_assert_eq(row.pass, 0);
	cr_assert_float_eq(row.value, 0.7, 1e-12);
	cr_assert_float_eq(row.threshold, 0.81, 1e-9);
	cr_assert_str_eq(row.op, ">=");
	cr_assert_eq(row.n, 100);
	cr_assert_str_eq(detail, "{\"stat\":\"pass_rate\",\"window\":[0.9,0.92,0.88,0.91,0.89],"
				 "\"n\":[100,100,100,100,100],\"centre\":0.9,\"lower\":0.81}");
	add_run("ok", "online", 7, 85, 15, 0.9, RUN_RUNNING);
	row = eval(g, "ok", detail, sizeof(detail));
	cr_assert_eq(row.pass, 1);
	cr_assert_float_eq(row.value, 0.85, 1e-12);
}

Test(drift, not_enough_history_passes_with_a_note)
{
	const struct eg_gate *g = gate_for("online", 7, NULL);
	struct gate_row row;
	char detail[1024];

	add_run("n1", "online", 1, 95, 5, 0.9, RUN_FINISHED);
	add_run("n2", "online", 2, 95, 5, 0.9, RUN_FINISHED);
	add_run("n3", "online", 3, 10, 90, 0.9, RUN_RUNNING);
	row = eval(g, "n3", detail, sizeof(detail));
	cr_assert_eq(row.pass, 1);
	cr_assert(isnan(row.threshold));
	cr_assert_str_eq(detail, "{\"stat\":\"pass_rate\",\"window\":[0.95,0.95],\"n\":[100,100],"
				 "\"centre\":0.95,\"note\":\"not enough history: 2 earlier runs "
				 "with data, 3 needed\"}");
}

Test(drift, the_window_takes_only_earlier_finished_runs_of_the_suite)
{
	const struct eg_gate *g = gate_for("online", 3, NULL);
	struct gate_row row;
	char detail[1024];

	add_run("old", "online", 1, 10, 90, 0.9, RUN_FINISHED);    /* outside a window of 3 */
	add_run("a", "online", 2, 90, 10, 0.9, RUN_FINISHED);
	add_run("other", "golden", 3, 0, 100, 0.9, RUN_FINISHED);  /* another suite */
	add_run("b", "online", 4, 90, 10, 0.9, RUN_FINISHED);
	add_run("cut", "online", 5, 0, 100, 0.9, RUN_INTERRUPTED); /* not finished */
	add_run("c", "online", 6, 90, 10, 0.9, RUN_FINISHED);
	add_run("now", "online", 7, 75, 25, 0.9, RUN_RUNNING);
	add_run("later", "online", 8, 0, 100, 0.9, RUN_FINISHED);  /* after the run gated */
	row = eval(g, "now", detail, sizeof(detail));
	cr_assert_str_eq(detail, "{\"stat\":\"pass_rate\",\"window\":[0.9,0.9,0.9],"
				 "\"n\":[100,100,100],\"centre\":0.9,\"lower\":0.81}");
	cr_assert_eq(row.pass, 0);
	/* re-gating an older run uses the runs before it */
	row = eval(g, "c", detail, sizeof(detail));
	cr_assert_str_eq(detail, "{\"stat\":\"pass_rate\",\"window\":[0.1,0.9,0.9],"
				 "\"n\":[100,100,100],\"centre\":0.633333,\"lower\":0.488765}");
	cr_assert_eq(row.pass, 1);
}

Test(drift, mean_score_chart)
{
	const struct eg_gate *g = gate_for("online", 7, "judge");
	struct gate_row row;
	char detail[1024];
	double lo;

	/* per-run judge means: 0.9*0.9+0.1*0.2 = 0.83 etc. */
	add_run("m1", "online", 1, 90, 10, 0.90, RUN_FINISHED);
	add_run("m2", "online", 2, 90, 10, 0.92, RUN_FINISHED);
	add_run("m3", "online", 3, 90, 10, 0.88, RUN_FINISHED);
	add_run("m4", "online", 4, 90, 10, 0.70, RUN_RUNNING);
	row = eval(g, "m4", detail, sizeof(detail));
	/* means 0.83, 0.848, 0.812: centre 0.83, sd 0.018, lower 0.776 */
	lo = 0.83 - 3 * 0.018;
	cr_assert_float_eq(row.threshold, lo, 1e-9);
	cr_assert_float_eq(row.value, 0.9 * 0.7 + 0.1 * 0.2, 1e-9);
	cr_assert_eq(row.pass, 0);
	cr_assert_eq(row.n, 100);
	cr_assert_str_eq(detail, "{\"stat\":\"mean\",\"window\":[0.83,0.848,0.812],"
				 "\"n\":[100,100,100],\"centre\":0.83,\"sd\":0.018,\"lower\":0.776}");
	/* an unknown scorer has no scores: the gate fails and says so */
	g = gate_for("online", 7, "nosuch");
	row = eval(g, "m4", detail, sizeof(detail));
	cr_assert_eq(row.pass, 0);
	cr_assert(strstr(detail, "\"note\":\"no scores in scope suite:online\""), "%s", detail);
}

static void write_config(const char *gates)
{
	th_writef(th_path("cfg.json"),
		  "{\"gateway\": {\"base_url\": \"http://127.0.0.1:1/v1\"},\n"
		  " \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		  " \"suites\": [],\n \"gates\": [\n%s\n]}\n", gates);
}

/* the config loads, its gates do not: exactly "<path>:5: <msg>" on stderr */
static void config_fails(const char *gates, const char *msg)
{
	struct eg_config cfg;
	struct gates gs;
	const char *path;
	char want[512];

	write_config(gates);
	path = th_path("cfg.json");
	snprintf(want, sizeof(want), "evalgate: %s:5: %s\n", path, msg);
	cr_assert_eq(config_load(&cfg, path), 0);
	cr_assert_eq(gates_load(&gs, &cfg), -1);
	cr_assert_null(gs.v);
	config_release(&cfg);
	cr_assert_str_eq(th_stderr_take(), want);
}

Test(drift, config)
{
	struct eg_config cfg;
	struct gates gs;
	const struct drift_gate *d0, *d1;
	const char *path;

	write_config("{\"suite\": \"online\", \"metric\": \"drift\"},\n"
		     "{\"suite\": \"online\", \"metric\": \"drift\", \"scorer\": \"judge\", \"window\": 14}");
	path = th_path("cfg.json");
	cr_assert_eq(config_load(&cfg, path), 0);
	cr_assert_eq(gates_load(&gs, &cfg), 0);
	cr_assert_eq(gs.v[0].type, gate_type_find("drift"));
	cr_assert_str_eq(gs.v[0].type->name, "drift");
	d0 = gs.v[0].ctx;
	d1 = gs.v[1].ctx;
	cr_assert_eq(d0->window, 7);
	cr_assert_null(gs.v[0].scorer);
	cr_assert_str_eq(gs.v[0].name, "drift [suite online]");
	cr_assert_eq(d1->window, 14);
	cr_assert_str_eq(gs.v[1].scorer, "judge");
	gates_release(&gs);
	config_release(&cfg);
}

Test(drift, config_errors)
{
	th_stderr_start();
	config_fails("{\"metric\": \"drift\"}",
		     "gates[0]: a drift gate needs a suite (its history is per suite)");
	config_fails("{\"suite\": \"s\", \"metric\": \"drift\", \"min\": 0.9}",
		     "gates[0]: a drift gate takes no min or max: its lower limit comes from "
		     "the suite's previous runs");
	config_fails("{\"suite\": \"s\", \"metric\": \"drift\", \"window\": 2}",
		     "gates[0].window: 2 is out of range [3, 50]");
	config_fails("{\"suite\": \"s\", \"metric\": \"pass_rate\", \"min\": 0.9, \"window\": 5}",
		     "gates[0]: window and scorer belong to drift gates");
}

Test(drift, through_gates_apply)
{
	struct eg_config cfg;
	struct gates gs;
	const char *path;
	FILE *out = tmpfile();
	char buf[2048];
	size_t n;

	steady_history();
	add_run("bad", "online", 6, 70, 30, 0.9, RUN_RUNNING);
	write_config("{\"suite\": \"online\", \"metric\": \"drift\", \"window\": 5}");
	path = th_path("cfg.json");
	cr_assert_eq(config_load(&cfg, path), 0);
	cr_assert_eq(gates_load(&gs, &cfg), 0);
	cr_assert_eq(gates_apply(hist, "bad", &gs, out, 0), 1);
	rewind(out);
	n = fread(buf, 1, sizeof(buf) - 1, out);
	buf[n] = '\0';
	cr_assert(strstr(buf, "FAIL  drift [suite online]"), "%s", buf);
	cr_assert(strstr(buf, "0.7000 < 0.81 required"), "%s", buf);
	cr_assert_null(strstr(buf, "95% CI"), "%s", buf);
	fclose(out);
	gates_release(&gs);
	config_release(&cfg);
}
