/* model: the report model from a history, and the writers that read it */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "helper.h"
#include "history.h"
#include "model.h"
#include "report.h"
#include "strbuf.h"
#include "banned.h"

static const char *dbpath;

static void setup(void)
{
	th_tmpdir_setup();
	dbpath = th_path("h.db");
}

TestSuite(model, .init = setup, .fini = th_tmpdir_teardown);

static void add_run(struct history *h, const char *id, const char *target, const char *started)
{
	struct run_info ri;

	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)id;
	ri.started_at = (char *)started;
	ri.target = (char *)target;
	ri.version = (char *)"v1";
	ri.model = (char *)"m";
	ri.status = RUN_RUNNING;
	cr_assert_eq(history_run_begin(h, &ri), 0);
	cr_assert_eq(history_run_suite(h, id, "alpha", "1.0.0", "aaa", "golden"), 0);
	cr_assert_eq(history_run_suite(h, id, "beta", "2.0.0", "bbb", "adversarial"), 0);
}

static void add_result(struct history *h, const char *run, const char *suite, const char *id,
		       enum result_status st, const char *output)
{
	struct result_row r;
	struct score_row sc;

	memset(&r, 0, sizeof(r));
	memset(&sc, 0, sizeof(sc));
	r.suite = suite;
	r.case_id = id;
	r.case_hash = id;
	r.status = st;
	r.output = output;
	r.output_len = output ? strlen(output) : 0;
	r.error = st == RESULT_ERROR ? "HTTP 500" : NULL;
	r.latency_ms = 10;
	r.prompt_tokens = 3;
	r.completion_tokens = 4;
	r.cost_usd = 0.5;
	r.attempts = 1;
	r.tags = "t1,t2";
	r.input = "\"question <b>\"";
	r.context = "[\"passage\"]";
	r.expected = "answer";
	sc.scorer = "judge";
	sc.type = "judge";
	sc.score = st == RESULT_PASS ? 1 : 0;
	sc.pass = st == RESULT_PASS;
	sc.reason = st == RESULT_PASS ? "fine" : "wrong </script>";
	sc.detail = "{\"prompt\":\"p\",\"samples\":[{\"raw\":\"<x>\"}]}";
	sc.calls = 1;
	if (output) {
		r.scores = &sc;
		r.n_scores = 1;
	}
	cr_assert_eq(history_add_result(h, run, &r), 0);
}

static void add_gate(struct history *h, const char *run, const char *metric, int pass,
		     const char *detail)
{
	struct gate_row g;

	memset(&g, 0, sizeof(g));
	g.name = metric;
	g.metric = metric;
	g.scope = "all";
	g.value = 0.5;
	g.op = ">=";
	g.threshold = 0.9;
	g.pass = pass;
	g.lo = g.hi = NAN;
	g.n = 4;
	g.detail = detail;
	cr_assert_eq(history_add_gate(h, run, &g), 0);
}

/*
 * r1 (base): alpha a1 pass, a2 pass, a3 fail; beta b1 pass
 * r2 (other target)
 * r3 (this): alpha a1 pass, a2 fail, a3 pass, a4 error; beta b1 pass
 */
static struct history *fixture(const char *detail)
{
	struct history *h = history_open(dbpath);

	cr_assert_not_null(h);
	add_run(h, "r1", "bot", "2026-01-01T00:00:00Z");
	add_result(h, "r1", "alpha", "a1", RESULT_PASS, "yes");
	add_result(h, "r1", "alpha", "a2", RESULT_PASS, "before a2");
	add_result(h, "r1", "alpha", "a3", RESULT_FAIL, "no");
	add_result(h, "r1", "beta", "b1", RESULT_PASS, "ok");
	cr_assert_eq(history_run_finish(h, "r1", RUN_FINISHED, "pass"), 0);
	add_run(h, "r2", "other", "2026-01-02T00:00:00Z");
	add_result(h, "r2", "alpha", "a1", RESULT_FAIL, "x");
	cr_assert_eq(history_run_finish(h, "r2", RUN_FINISHED, "fail"), 0);
	add_run(h, "r3", "bot", "2026-01-03T00:00:00Z");
	add_result(h, "r3", "alpha", "a1", RESULT_PASS, "yes");
	add_result(h, "r3", "alpha", "a2", RESULT_FAIL, "after a2 <script>");
	add_result(h, "r3", "alpha", "a3", RESULT_PASS, "yes");
	add_result(h, "r3", "alpha", "a4", RESULT_ERROR, NULL);
	add_result(h, "r3", "beta", "b1", RESULT_PASS, "ok");
	add_gate(h, "r3", "pass_rate", 1, NULL);
	add_gate(h, "r3", "regression", 0, detail);
	cr_assert_eq(history_run_finish(h, "r3", RUN_FINISHED, "fail"), 0);
	return h;
}

static const char good_detail[] =
	"{\"baseline\":\"r1\",\"baseline_ref\":\"latest:main\",\"pairs\":4,\"new_failures\":1,"
	"\"fixed\":1,\"p_value\":1,\"diff\":0,\"diff_lo\":-0.5,\"diff_hi\":0.5,\"alpha\":null,"
	"\"max_new_failures\":0,\"only_in_candidate\":1,\"only_in_baseline\":0,\"changed\":0,"
	"\"flaky_excluded\":0,\"flips\":[{\"suite\":\"alpha\",\"case_id\":\"a2\",\"from\":\"pass\","
	"\"to\":\"fail\"},{\"suite\":\"alpha\",\"case_id\":\"a3\",\"from\":\"fail\",\"to\":\"pass\"}],"
	"\"unpaired\":[{\"suite\":\"alpha\",\"case_id\":\"a4\",\"why\":\"only_in_candidate\"}]}";

Test(model, counts_gates_usage)
{
	struct history *h = fixture(good_detail);
	struct report_model m;

	cr_assert_eq(report_model_build(&m, h, "latest"), 0);
	cr_assert_str_eq(m.run.id, "r3");
	cr_assert_str_eq(report_verdict(&m), "fail");
	cr_assert_eq(m.n_suites, 2);
	cr_assert_str_eq(m.suites[0].name, "alpha");
	cr_assert_eq(m.suites[0].cases.n, 4);
	cr_assert_eq(m.suites[0].cases.pass, 2);
	cr_assert_eq(m.suites[0].cases.fail, 1);
	cr_assert_eq(m.suites[0].cases.error, 1);
	cr_assert_eq(m.cases.n, 5);
	cr_assert_eq(m.results.n, 5);
	cr_assert_eq(m.usage.prompt_tokens, 15);
	cr_assert_float_eq(m.usage.cost_usd, 2.5, 1e-9);
	cr_assert_eq(m.n_gates, 2);
	cr_assert_eq(m.gates_failed, 1);
	cr_assert_float_eq(report_pass_rate(&m.suites[0].cases), 2.0 / 3.0, 1e-9);
	report_model_release(&m);
	history_close(h);
}

Test(model, regression_baseline_and_trend)
{
	struct history *h = fixture(good_detail);
	struct report_model m;
	const struct report_suite *a;

	cr_assert_eq(report_model_build(&m, h, "r3"), 0);
	cr_assert(m.reg.present);
	cr_assert_not(m.reg.pass);
	cr_assert_str_eq(m.reg.baseline, "r1");
	cr_assert_str_eq(m.reg.baseline_ref, "latest:main");
	cr_assert(m.reg.have_base_run);
	cr_assert_eq(m.reg.new_failures, 1);
	cr_assert(isnan(m.reg.alpha));
	cr_assert_float_eq(m.reg.max_new_failures, 0, 1e-12);
	cr_assert_eq(m.reg.n_flips, 2);
	cr_assert_str_eq(m.reg.flips[0].case_id, "a2");
	cr_assert_eq(m.reg.n_unpaired, 1);
	a = &m.suites[0];
	cr_assert(a->has_base);
	cr_assert_eq(a->base.pass, 2);
	cr_assert_eq(a->base.fail, 1);
	cr_assert_eq(a->flips_new, 1);
	cr_assert_eq(a->flips_fixed, 1);
	/* the trend: r1 then r3 (r2 is another target), oldest first */
	cr_assert_eq(a->n_trend, 2);
	cr_assert_str_eq(a->trend[0].run_id, "r1");
	cr_assert(a->trend[0].is_baseline);
	cr_assert_not(a->trend[0].is_current);
	cr_assert_str_eq(a->trend[1].run_id, "r3");
	cr_assert(a->trend[1].is_current);
	report_model_release(&m);
	history_close(h);
}

struct side {
	char out[64];
	int n;
};

static int grab(const struct stored_result *r, void *arg)
{
	struct side *s = arg;

	s->n++;
	snprintf(s->out, sizeof(s->out), "%s", r->row.output ? r->row.output : "");
	cr_assert_str_eq(r->row.input, "\"question <b>\"");
	cr_assert_str_eq(r->row.expected, "answer");
	return 0;
}

Test(model, flip_answers_before_and_after)
{
	struct history *h = fixture(good_detail);
	struct report_model m;
	struct side s = { "", 0 };

	cr_assert_eq(report_model_build(&m, h, "r3"), 0);
	cr_assert_eq(report_model_case(&m, 1, "alpha", "a2", grab, &s), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.out, "before a2");
	cr_assert_eq(report_model_case(&m, 0, "alpha", "a2", grab, &s), 0);
	cr_assert_str_eq(s.out, "after a2 <script>");
	report_model_release(&m);
	history_close(h);
}

Test(model, bad_detail_is_left_out)
{
	static const char *const details[] = {
		"not json", "[1,2]", "{\"flips\":[1,{\"suite\":7},{\"suite\":\"alpha\"}],\"pairs\":-5,"
		"\"p_value\":\"x\",\"baseline\":\"gone\"}",
	};
	size_t i;

	th_stderr_start();
	for (i = 0; i < sizeof(details) / sizeof(details[0]); i++) {
		struct history *h;
		struct report_model m;
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -f '%s'*", dbpath);
		cr_assert_eq(system(cmd), 0);
		h = fixture(details[i]);
		cr_assert_eq(report_model_build(&m, h, "r3"), 0, "detail %zu", i);
		if (i < 2) {
			cr_assert_not(m.reg.present);
		} else {
			cr_assert(m.reg.present);
			cr_assert_eq(m.reg.n_flips, 0);
			cr_assert_eq(m.reg.pairs, 0);
			cr_assert(isnan(m.reg.p_value));
			cr_assert_not(m.reg.have_base_run);
			cr_assert_not(m.suites[0].has_base);
		}
		report_model_release(&m);
		history_close(h);
	}
}

Test(model, flips_are_capped)
{
	struct strbuf d = STRBUF_INIT;
	struct history *h;
	struct report_model m;
	int i;

	strbuf_addstr(&d, "{\"baseline\":\"r1\",\"flips\":[");
	for (i = 0; i < 300; i++)
		strbuf_addf(&d, "%s{\"suite\":\"alpha\",\"case_id\":\"c%d\",\"from\":\"pass\",\"to\":\"fail\"}",
			    i ? "," : "", i);
	strbuf_addstr(&d, "]}");
	h = fixture(d.buf);
	cr_assert_eq(report_model_build(&m, h, "r3"), 0);
	cr_assert_eq(m.reg.n_flips, REPORT_MAX_FLIPS);
	cr_assert(m.reg.flips_truncated);
	report_model_release(&m);
	history_close(h);
	strbuf_release(&d);
}

Test(model, unknown_run)
{
	struct history *h = fixture(good_detail);
	struct report_model m;

	th_stderr_start();
	cr_assert_eq(report_model_build(&m, h, "zz"), -1);
	history_close(h);
}

/* the JSON summary and the Markdown agree with the model */
Test(model, summary_and_markdown)
{
	struct history *h = fixture(good_detail);
	struct report_model m;
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	cJSON *v, *s0;

	cr_assert_eq(report_model_build(&m, h, "r3"), 0);
	jsonw_init(&w, &sb, JSONW_SCRIPT);
	report_json_summary(&w, &m);
	jsonw_object_end(&w);
	v = cJSON_Parse(sb.buf);
	cr_assert_not_null(v, "%s", sb.buf);
	cr_assert_eq(cJSON_GetObjectItem(v, "schema_version")->valueint, REPORT_SCHEMA_VERSION);
	s0 = cJSON_GetArrayItem(cJSON_GetObjectItem(v, "suites"), 0);
	cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(s0, "cases"), "fail")->valueint, 1);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(s0, "trend")), 2);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
		cJSON_GetObjectItem(v, "regression"), "flips"), 0), "before")->child->valuestring, "pass");
	cJSON_Delete(v);

	strbuf_reset(&sb);
	report_md_render(&sb, &m, REPORT_MD_MAX);
	cr_assert(strstr(sb.buf, "| alpha@1.0.0 | 4 | 2 | 1 | 1 | 66.7% | 66.7% | +0.0 pp"), "%s", sb.buf);
	cr_assert(strstr(sb.buf, "### Gates: 1 of 2 failed"));
	cr_assert(strstr(sb.buf, "after a2 &lt;script&gt;"));
	cr_assert_null(strstr(sb.buf, "<script"));
	report_model_release(&m);
	history_close(h);
	strbuf_release(&sb);
}

Test(model, markdown_is_cut_under_the_limit)
{
	struct history *h = fixture(good_detail);
	struct report_model m;
	struct strbuf sb = STRBUF_INIT;
	size_t max;

	cr_assert_eq(report_model_build(&m, h, "r3"), 0);
	report_md_render(&sb, &m, REPORT_MD_MAX);
	for (max = sb.len - 1; max > 100; max -= 97) {
		struct strbuf cut = STRBUF_INIT;

		report_md_render(&cut, &m, max);
		cr_assert_leq(cut.len, max);
		cr_assert(strstr(cut.buf, "cut here") || cut.len + 150 > max, "max %zu", max);
		cr_assert_eq(memcmp(cut.buf, sb.buf, cut.len - (strstr(cut.buf, "\n*The report was cut") ?
			strlen(strstr(cut.buf, "\n*The report was cut")) : 0)), 0);
		strbuf_release(&cut);
	}
	report_model_release(&m);
	history_close(h);
	strbuf_release(&sb);
}

/* past HTML_MAX_ROWS (50,000) results the table is a summary: failures first, then a note */
Test(model, html_rows_past_the_limit_are_summarised)
{
	struct history *h = history_open(dbpath);
	struct report_model m;
	const char *hp = th_path("big.html");
	char *html, *p;
	sqlite3 *db;

	cr_assert_not_null(h);
	add_run(h, "big", "bot", "2026-01-01T00:00:00Z");
	add_result(h, "big", "alpha", "c00000", RESULT_PASS, "yes");
	/* 50,002 more in one statement; the failures come last in the file: they still get rows */
	cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
				  "WHERE i < 50002) INSERT INTO results (run_id, suite, case_id, "
				  "case_hash, ordinal, status, output, latency_ms, attempts, tags) "
				  "SELECT 'big', 'alpha', printf('c%05d', i), 'h', i, CASE WHEN i >= "
				  "50000 THEN 'fail' ELSE 'pass' END, 'yes', 10, 1, 't1' FROM n",
				  NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(history_run_finish(h, "big", RUN_FINISHED, "fail"), 0);
	cr_assert_eq(report_model_build(&m, h, "big"), 0);
	cr_assert_eq(report_html_write(&m, hp, -1), 0);
	html = th_slurp(hp, NULL);
	cr_assert_eq(th_count(html, "<tr class=\"case\""), 50000);
	cr_assert_eq(th_count(html, "<tr class=\"case\" data-s=\"fail\""), 3);
	cr_assert_not_null(strstr(html, ">c50002</td>"));
	cr_assert_null(strstr(html, ">c49997</td>"), "the last passing rows are left out");
	p = strstr(html, "id=\"rows-note\">This run has 50003 results");
	cr_assert_not_null(p);
	cr_assert_not_null(strstr(p, "leaves out 3 (the suites' counts"));
	cr_assert_not_null(strstr(p, "evalgate runs export big FILE"));
	cr_assert_not_null(strstr(html, "\"rows_left_out\":3"));
	free(html);
	report_model_release(&m);
	history_close(h);
}

Test(model, json_and_html_files)
{
	struct history *h = fixture(good_detail);
	struct report_model m;
	const char *jp = th_path("r.json"), *hp = th_path("r.html"), *hp0 = th_path("r0.html");
	char *json, *html;
	cJSON *v;

	cr_assert_eq(report_model_build(&m, h, "r3"), 0);
	cr_assert_eq(report_json_write(&m, jp), 0);
	cr_assert_eq(report_html_write(&m, hp, -1), 0);
	cr_assert_eq(report_html_write(&m, hp0, 0), 0);
	json = th_slurp(jp, NULL);
	v = cJSON_Parse(json);
	cr_assert_not_null(v);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(v, "results")), 5);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "results"), 0),
					     "input")->valuestring, "question <b>");
	cJSON_Delete(v);
	free(json);

	html = th_slurp(hp, NULL);
	cr_assert_eq(th_count(html, "<tr class=\"case\""), 5);
	cr_assert_null(strstr(html, "<script>alert"));
	cr_assert_null(strstr(html, "after a2 <script>"));
	cr_assert_not_null(strstr(html, "after a2 &lt;script&gt;"));
	cr_assert_null(strstr(html, "id=\"details-note\""));
	cr_assert_null(strstr(html, "id=\"rows-note\""));
	free(html);
	/* with no room for passing details: 3 passing rows without details, and a note */
	html = th_slurp(hp0, NULL);
	cr_assert_eq(th_count(html, "<tr class=\"case\" data-s="), 5);
	cr_assert_eq(th_count(html, " data-d=\""), 2);
	cr_assert_not_null(strstr(html, "id=\"details-note\""));
	free(html);
	report_model_release(&m);
	history_close(h);
}
