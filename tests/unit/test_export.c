/* export: runs export/import round trips a hand-built history exactly; bad files change nothing */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"
#include "helper.h"
#include "history.h"
#include "strbuf.h"
#include "banned.h"

TestSuite(export, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);

/*
 * Every row of every table (all runs, or those of run_id), each value with
 * its storage class and exact bytes (REALs as hex floats); results.seq is
 * left out, it is the file's own numbering.
 */
static void dump_db(const char *path, const char *run_id, struct strbuf *out)
{
	static const char *const tables[][3] = {
		{ "runs", "id", "id" },
		{ "run_suites", "run_id", "run_id, name" },
		{ "results", "run_id", "run_id, seq" },
		{ "scores", "run_id", "run_id, suite, case_id, repeat, idx" },
		{ "gates", "run_id", "run_id, idx" },
	};
	sqlite3 *db;
	size_t t;

	strbuf_reset(out);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		struct strbuf sql = STRBUF_INIT;
		sqlite3_stmt *st;
		int i, rc;

		strbuf_addf(&sql, "SELECT * FROM %s WHERE ?1 IS NULL OR %s = ?1 ORDER BY %s",
			    tables[t][0], tables[t][1], tables[t][2]);
		cr_assert_eq(sqlite3_prepare_v2(db, sql.buf, -1, &st, NULL), SQLITE_OK, "%s",
			     sqlite3_errmsg(db));
		if (run_id)
			sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
		strbuf_addf(out, "table %s\n", tables[t][0]);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			for (i = 0; i < sqlite3_column_count(st); i++) {
				const unsigned char *p;
				int j, n;

				if (!strcmp(sqlite3_column_name(st, i), "seq"))
					continue;
				strbuf_addf(out, " %s=", sqlite3_column_name(st, i));
				switch (sqlite3_column_type(st, i)) {
				case SQLITE_NULL:
					strbuf_addstr(out, "null");
					break;
				case SQLITE_INTEGER:
					strbuf_addf(out, "int:%lld",
						    (long long)sqlite3_column_int64(st, i));
					break;
				case SQLITE_FLOAT:
					strbuf_addf(out, "real:%a", sqlite3_column_double(st, i));
					break;
				default:
					strbuf_addstr(out, sqlite3_column_type(st, i) == SQLITE_TEXT ?
							   "text:" : "blob:");
					p = sqlite3_column_blob(st, i);
					n = sqlite3_column_bytes(st, i);
					for (j = 0; j < n; j++)
						strbuf_addf(out, "%02x", p[j]);
				}
			}
			strbuf_addch(out, '\n');
		}
		cr_assert_eq(rc, SQLITE_DONE);
		sqlite3_finalize(st);
		strbuf_release(&sql);
	}
	sqlite3_close(db);
}

static const char out_nul[] = "before\0after \xff\xfe invalid \xc3";
static const char reason_bad[] = "expected 'x', got '\xe9t\xe9'"; /* Latin-1, not UTF-8 */

/* a history with every table, NULLs, infinities, odd bytes and big integers */
static void build_history(const char *path)
{
	struct history *h = history_open(path);
	struct run_info ri;
	struct score_row sc[3];
	struct result_row r;
	struct gate_row g;

	cr_assert_not_null(h);
	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)"20260101T000000Z-aaaaaa";
	ri.started_at = (char *)"2026-01-01T00:00:00Z";
	ri.status = RUN_RUNNING;
	ri.target = (char *)"bot";
	ri.version = (char *)"v1";
	ri.model = (char *)"m\xc3\xa9";
	ri.git_ref = (char *)"main";
	ri.repeats = 2;
	ri.repeat_policy = (char *)"majority";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	cr_assert_eq(history_run_suite(h, ri.id, "s1", "1.0.0", "abc", "golden"), 0);
	cr_assert_eq(history_run_suite(h, ri.id, "s2", NULL, NULL, NULL), 0);

	memset(sc, 0, sizeof(sc));
	sc[0].scorer = "contains";
	sc[0].type = "contains";
	sc[0].score = 0.1 + 0.2;
	sc[0].pass = 1;
	sc[1].scorer = "judge \"q\"\n";
	sc[1].type = "judge";
	sc[1].score = NAN;
	sc[1].error = 1;
	sc[1].reason = reason_bad;
	sc[1].detail = "{\"k\": [1, 2]}";
	sc[1].calls = 3;
	sc[2].scorer = "inf";
	sc[2].score = INFINITY;

	memset(&r, 0, sizeof(r));
	r.suite = "s1";
	r.case_id = "c1";
	r.case_hash = "h1";
	r.status = RESULT_PASS;
	r.output = out_nul;
	r.output_len = sizeof(out_nul) - 1;
	r.latency_ms = 1e-300;
	r.prompt_tokens = 7;
	r.completion_tokens = -1;
	r.finish_reason = "stop";
	r.attempts = 2;
	r.cached = 1;
	r.tags = "a,b";
	r.scores = sc;
	r.n_scores = 3;
	r.cost_usd = DBL_MAX;
	r.ordinal = 4;
	cr_assert_eq(history_add_result(h, ri.id, &r), 0);
	r.repeat = 1;
	r.status = RESULT_FAIL;
	r.output = "";
	r.output_len = 0;
	r.latency_ms = -0.0;
	r.n_scores = 1;
	cr_assert_eq(history_add_result(h, ri.id, &r), 0);
	memset(&r, 0, sizeof(r));
	r.suite = "s2";
	r.case_id = "c\xe2\x82\xac";
	r.status = RESULT_ERROR;
	r.output = NULL;
	r.latency_ms = NAN;
	r.prompt_tokens = r.completion_tokens = -1;
	r.error = "HTTP 500:\x01\x1f control";
	r.cost_usd = NAN;
	r.attempts = 4;
	cr_assert_eq(history_add_result(h, ri.id, &r), 0);
	r.case_id = "plain";
	r.status = RESULT_PASS;
	r.output = "valid UTF-8 \xf0\x9f\x98\x80";
	r.output_len = strlen(r.output);
	r.latency_ms = 12345.678901234567;
	cr_assert_eq(history_add_result(h, ri.id, &r), 0);
	/* valid UTF-8 with a NUL inside: JSON's \u0000, and every byte after it */
	r.case_id = "nul";
	r.output = "I cannot.\0 CANARY";
	r.output_len = 17;
	cr_assert_eq(history_add_result(h, ri.id, &r), 0);

	memset(&g, 0, sizeof(g));
	g.name = "pass rate";
	g.metric = "pass_rate";
	g.scope = "all";
	g.value = 2.0 / 3.0;
	g.op = ">=";
	g.threshold = 0.5;
	g.pass = 1;
	g.lo = -INFINITY;
	g.hi = NAN;
	g.n = 4611686018427387905L; /* 2^62 + 1: not a double */
	cr_assert_eq(history_add_gate(h, ri.id, &g), 0);
	g.name = NULL;
	g.value = NAN;
	g.detail = "no cases";
	g.n = 0;
	cr_assert_eq(history_add_gate(h, ri.id, &g), 0);
	cr_assert_eq(history_run_finish(h, ri.id, RUN_FINISHED, "pass"), 0);

	/* a second run, so the export has to pick its own rows */
	ri.id = (char *)"20260102T000000Z-bbbbbb";
	ri.started_at = (char *)"2026-01-02T00:00:00Z";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	cr_assert_eq(history_run_suite(h, ri.id, "s1", "1.0.1", "def", "golden"), 0);
	memset(&r, 0, sizeof(r));
	r.suite = "s1";
	r.case_id = "c1";
	r.status = RESULT_PASS;
	r.output = "x";
	r.output_len = 1;
	r.latency_ms = 1;
	r.cost_usd = NAN;
	r.attempts = 1;
	cr_assert_eq(history_add_result(h, ri.id, &r), 0);
	history_close(h);
}

#define RUN1 "20260101T000000Z-aaaaaa"
#define RUN2 "20260102T000000Z-bbbbbb"

static int do_export(const char *hpath, const char *ref, const char *out)
{
	struct history *h = history_open_ro(hpath);
	int rc;

	cr_assert_not_null(h);
	rc = run_export(h, ref, out);
	history_close(h);
	return rc;
}

/* import, with what it printed on stderr in msg */
static int do_import(const char *hpath, const char *in, int replace, struct strbuf *msg)
{
	struct history *h = history_open(hpath);
	char *id = NULL;
	int rc;

	cr_assert_not_null(h);
	th_stderr_start();
	th_stderr_take(); /* what came before is not this import's */
	rc = run_import(h, in, replace, &id);
	history_close(h);
	if (msg) {
		strbuf_reset(msg);
		strbuf_addstr(msg, th_stderr_take());
	}
	if (!rc) {
		cr_assert_not_null(id);
		free(id);
	} else {
		cr_assert_null(id);
	}
	return rc;
}

Test(export, round_trip_is_exact)
{
	const char *src, *dst, *doc, *again;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	char *t1, *t2;

	src = th_path("src.db");
	dst = th_path("dst.db");
	doc = th_path("run.json");
	again = th_path("again.json");
	build_history(src);

	cr_assert_eq(do_export(src, "20260101", doc), 0); /* a unique prefix */
	cr_assert_eq(do_import(dst, doc, 0, NULL), 0);
	dump_db(src, RUN1, &a);
	dump_db(dst, NULL, &b);
	cr_assert_str_eq(b.buf, a.buf);
	/* the dump really holds the odd values */
	cr_assert(strstr(a.buf, "output=blob:6265666f726500"), "NUL inside the output");
	cr_assert(strstr(a.buf, "output=blob:492063616e6e6f742e002043414e415259"),
		  "a NUL in a valid UTF-8 output and what follows it");
	cr_assert(strstr(a.buf, "output=blob: "), "empty output is an empty blob");
	cr_assert(strstr(a.buf, "output=null"));
	cr_assert(strstr(a.buf, "n=int:4611686018427387905"));
	cr_assert(strstr(a.buf, "lo=real:-inf"));
	cr_assert(strstr(a.buf, "score=real:inf"));
	cr_assert(strstr(a.buf, "reason=text:"));

	/* the document itself: base64 only where the bytes are not UTF-8 */
	t1 = th_slurp(doc, NULL);
	cr_assert(strstr(t1, "\"format\":\"evalgate-run\",\"schema_version\":2,"));
	cr_assert(strstr(t1, "\"output\":{\"base64\":\"YmVmb3JlAGFmdGVyIP/+IGludmFsaWQgww==\"}"));
	cr_assert(strstr(t1, "\"output\":\"valid UTF-8 \xf0\x9f\x98\x80\""));
	cr_assert(strstr(t1, "\"output\":\"I cannot.\\u0000 CANARY\""), "a NUL as \\u0000");
	cr_assert(strstr(t1, "\"error\":\"HTTP 500:\\u0001\\u001f control\""));
	cr_assert(strstr(t1, "\"lo\":{\"real\":\"-inf\"},\"hi\":null"));
	cr_assert(strstr(t1, "\"score\":0.30000000000000004"));
	cr_assert(strstr(t1, "\"threshold\":0.5,"));
	cr_assert(strstr(t1, "\"n_cases\":4,"));
	cr_assert_null(strstr(t1, RUN2), "only the exported run");
	cr_assert_null(strstr(t1, "\"seq\""));
	cr_assert_null(strstr(t1, "\"run_id\""));

	/* exporting the imported run gives the same bytes */
	cr_assert_eq(do_export(dst, RUN1, again), 0);
	t2 = th_slurp(again, NULL);
	cr_assert_str_eq(t2, t1);

	/* the second run travels alone too, into the same history */
	cr_assert_eq(do_export(src, "latest", doc), 0);
	cr_assert_eq(do_import(dst, doc, 0, NULL), 0);
	dump_db(src, NULL, &a);
	dump_db(dst, NULL, &b);
	cr_assert_str_eq(b.buf, a.buf);

	strbuf_release(&a);
	strbuf_release(&b);
	free(t1);
	free(t2);
}

Test(export, duplicate_and_replace)
{
	const char *src, *doc;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT, msg = STRBUF_INIT;
	sqlite3 *db;

	src = th_path("src.db");
	doc = th_path("run.json");
	build_history(src);
	cr_assert_eq(do_export(src, RUN1, doc), 0);
	dump_db(src, NULL, &a);
	cr_assert_eq(do_import(src, doc, 0, &msg), -1);
	cr_assert(strstr(msg.buf, "run " RUN1 " is already in history"), "%s", msg.buf);
	cr_assert(strstr(msg.buf, "--replace"));
	dump_db(src, NULL, &b);
	cr_assert_str_eq(b.buf, a.buf);

	/* --replace puts back the exported rows over changed ones */
	cr_assert_eq(sqlite3_open(src, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA foreign_keys = ON;"
				  "UPDATE runs SET verdict = 'fail' WHERE id = '" RUN1 "';"
				  "DELETE FROM gates WHERE run_id = '" RUN1 "' AND idx = 1;"
				  "DELETE FROM results WHERE run_id = '" RUN1 "' AND case_id = 'plain'",
				  NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	dump_db(src, NULL, &b);
	cr_assert_str_neq(b.buf, a.buf);
	cr_assert_eq(do_import(src, doc, 1, NULL), 0);
	dump_db(src, NULL, &b);
	cr_assert_str_eq(b.buf, a.buf);
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&msg);
}

/* a small valid document; the bad ones below are edits of it */
#define HEAD "{\"format\":\"evalgate-run\",\"schema_version\":1,\"history_user_version\":2,\n"
#define RUN "\"run\":{\"id\":\"r1\",\"started_at\":\"2026-01-01T00:00:00Z\",\"status\":\"finished\"},\n"
#define SUITES "\"suites\":[{\"name\":\"s\",\"version\":\"1\"}],\n"
#define RES0 "{\"suite\":\"s\",\"case_id\":\"a\",\"status\":\"pass\",\"output\":\"x\"}"
#define RES1 "{\"suite\":\"s\",\"case_id\":\"b\",\"status\":\"fail\",\"output\":{\"base64\":\"AP8=\"}}"
#define RESULTS "\"results\":[\n" RES0 ",\n" RES1 "\n],\n"
#define SCORES "\"scores\":[{\"suite\":\"s\",\"case_id\":\"a\",\"repeat\":0,\"idx\":0,\"pass\":1}],\n"
#define GATES "\"gates\":[{\"idx\":0,\"pass\":1,\"value\":{\"real\":\"inf\"}}]}\n"
#define GOOD HEAD RUN SUITES RESULTS SCORES GATES

struct bad_doc {
	const char *what;
	const char *text;
	const char *msg;     /* expected in the message */
};

static const struct bad_doc bad_docs[] = {
	{ "empty file", "", "empty file" },
	{ "not JSON", "hello", "expected a JSON object" },
	{ "an array", "[]", "expected a JSON object" },
	{ "wrong format", "{\"format\":\"junit\",\"schema_version\":1," RUN "}",
	  "format: not an evalgate run export" },
	{ "format not first", "{\"schema_version\":1,\"format\":\"evalgate-run\"}",
	  "the first member must be \"format\"" },
	{ "newer schema", "{\"format\":\"evalgate-run\",\"schema_version\":3," RUN "}",
	  "newer evalgate" },
	{ "schema as a string", "{\"format\":\"evalgate-run\",\"schema_version\":\"1\"}",
	  "schema_version: expected an integer" },
	{ "no schema", "{\"format\":\"evalgate-run\"," RUN "}", "\"schema_version\" must come" },
	{ "unknown member", HEAD "\"history_user_version2\":1}", "unknown member" },
	{ "missing run", "{\"format\":\"evalgate-run\",\"schema_version\":1}", "no \"run\"" },
	{ "rows before the run", HEAD SUITES RUN "}", "the run must come first" },
	{ "run without id", HEAD "\"run\":{\"started_at\":\"x\"}}", "run: id:" },
	{ "run with a numeric id", HEAD "\"run\":{\"id\":5,\"started_at\":\"x\"}}", "run: id:" },
	{ "run without started_at", HEAD "\"run\":{\"id\":\"r1\"}}", "NOT NULL constraint failed" },
	{ "result without suite", HEAD RUN "\"results\":[" RES0 ",{\"case_id\":\"z\",\"status\":\"pass\"}]}",
	  "results[1]: cannot import: NOT NULL constraint failed: results.suite" },
	{ "duplicate result", HEAD RUN "\"results\":[" RES0 "," RES0 "]}", "results[1]: cannot import: UNIQUE" },
	{ "unknown column", HEAD RUN "\"results\":[" RES0 ",{\"suite\":\"s\",\"zz\":1,\"yy\":null}]}",
	  "results[1]: unknown column(s) zz, yy" },
	{ "run_id in a row", HEAD RUN "\"gates\":[{\"run_id\":\"r1\",\"idx\":0,\"pass\":1}]}",
	  "gates[0]: column \"run_id\" is not part of an export" },
	{ "seq in a row", HEAD RUN "\"results\":[{\"seq\":1,\"suite\":\"s\"}]}", "column \"seq\"" },
	{ "bad status", HEAD RUN "\"results\":[{\"suite\":\"s\",\"case_id\":\"a\",\"status\":\"ok\"}]}",
	  "results[0]: status: not a known value" },
	{ "bad base64", HEAD RUN "\"results\":[{\"suite\":\"s\",\"case_id\":\"a\",\"status\":\"pass\","
	  "\"output\":{\"base64\":\"AP8\"}}]}", "results[0].output: invalid base64" },
	{ "bad real", HEAD RUN "\"gates\":[{\"idx\":0,\"pass\":1,\"value\":{\"real\":\"nan\"}}]}",
	  "gates[0].value: \"real\" must be" },
	{ "array value", HEAD RUN "\"gates\":[{\"idx\":0,\"pass\":[1]}]}", "gates[0].pass: expected a column value" },
	{ "huge integer", HEAD RUN "\"gates\":[{\"idx\":0,\"pass\":1,\"n\":99999999999999999999}]}",
	  "out of range" },
	{ "bad number", HEAD RUN "\"gates\":[{\"idx\":0,\"pass\":01}]}", "bad number" },
	{ "duplicate column", HEAD RUN "\"gates\":[{\"idx\":0,\"idx\":1,\"pass\":1}]}", "appears twice" },
	{ "duplicate member", HEAD RUN SUITES SUITES "}", "member \"suites\" appears twice" },
	{ "score without its result", HEAD RUN "\"scores\":[{\"suite\":\"s\",\"case_id\":\"q\",\"repeat\":0,"
	  "\"idx\":0,\"pass\":1}]}", "FOREIGN KEY constraint failed" },
	{ "trailing data", GOOD "{}", "unexpected data after the document" },
	{ "bad escape", HEAD "\"run\":{\"id\":\"r\\q\"}}", "bad escape" },
	{ "lone surrogate", HEAD "\"run\":{\"id\":\"\\ud800x\"}}", "lone surrogate" },
	{ "raw invalid UTF-8", HEAD "\"run\":{\"id\":\"\xff\"}}", "not UTF-8" },
	{ "control character", HEAD "\"run\":{\"id\":\"a\nb\"}}", "control character" },
	{ "missing comma", HEAD RUN "\"results\":[" RES0 RES1 "]}", "expected ',' or ']'" },
};

Test(export, bad_documents_change_nothing)
{
	const char *hpath, *doc;
	struct strbuf before = STRBUF_INIT, after = STRBUF_INIT, msg = STRBUF_INIT;
	size_t i;

	hpath = th_path("h.db");
	doc = th_path("bad.json");
	build_history(hpath);
	dump_db(hpath, NULL, &before);

	/* the base document is good (into a copy of the history) */
	{
		const char *other = th_path("good.db");

		th_write(doc, GOOD);
		cr_assert_eq(do_import(other, doc, 0, &msg), 0, "%s", msg.buf);
		dump_db(other, "r1", &after);
		cr_assert(strstr(after.buf, "output=blob:00ff"), "%s", after.buf);
		cr_assert(strstr(after.buf, "value=real:inf"));
	}
	for (i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		const struct bad_doc *b = &bad_docs[i];

		th_write(doc, b->text);
		cr_expect_eq(do_import(hpath, doc, 0, &msg), -1, "%s: accepted", b->what);
		cr_expect(strstr(msg.buf, b->msg), "%s: message '%s' lacks '%s'", b->what, msg.buf,
			  b->msg);
		cr_expect(strstr(msg.buf, "bad.json"), "%s: message '%s' does not name the file",
			  b->what, msg.buf);
		dump_db(hpath, NULL, &after);
		cr_expect_str_eq(after.buf, before.buf, "%s: the history changed", b->what);
	}
	strbuf_release(&before);
	strbuf_release(&after);
	strbuf_release(&msg);
}

Test(export, every_truncation_is_refused)
{
	const char *src, *hpath, *doc, *cut;
	struct strbuf before = STRBUF_INIT, after = STRBUF_INIT;
	struct strbuf msg = STRBUF_INIT;
	size_t text_len, len, n = 0;
	char *text;

	src = th_path("src.db");
	hpath = th_path("h.db");
	doc = th_path("run.json");
	cut = th_path("cut.json");
	build_history(src);
	cr_assert_eq(do_export(src, RUN1, doc), 0);
	text = th_slurp(doc, &text_len);
	/* the history receiving the cut documents holds the other run */
	cr_assert_eq(do_export(src, RUN2, cut), 0);
	cr_assert_eq(do_import(hpath, cut, 0, NULL), 0);
	dump_db(hpath, NULL, &before);

	/* every length short of the closing brace (the final newline is optional) */
	for (len = 0; len + 2 < text_len; len += 1 + len / 40) {
		th_write_bytes(cut, text, len);
		cr_assert_eq(do_import(hpath, cut, 0, &msg), -1, "accepted %zu of %zu bytes", len,
			     text_len);
		cr_assert(strstr(msg.buf, "cut.json:"), "%s", msg.buf);
		n++;
	}
	cr_assert_gt(n, 50);
	dump_db(hpath, NULL, &after);
	cr_assert_str_eq(after.buf, before.buf);
	th_write_bytes(cut, text, text_len - 1);
	cr_assert_eq(do_import(hpath, cut, 0, &msg), 0, "%s", msg.buf);
	free(text);
	strbuf_release(&before);
	strbuf_release(&after);
	strbuf_release(&msg);
}

Test(export, unknown_run_and_unwritable_path)
{
	const char *src, *doc;

	src = th_path("src.db");
	doc = th_path("no/such/dir/run.json");
	build_history(src);
	cr_assert_eq(do_export(src, RUN1, doc), -1);
	doc = th_path("run.json");
	cr_assert_eq(do_export(src, "nosuchrun", doc), -1);
	cr_assert_neq(access(doc, F_OK), 0);
	cr_assert_eq(do_export(src, "2026", doc), -1); /* ambiguous prefix */
	cr_assert_neq(access(doc, F_OK), 0);
}

/* runs list filters: the ids the filter gives, space-separated */
static int collect(struct history *h, const struct run_filter *f, struct strbuf *sb)
{
	struct run_iter it;
	const struct run_info *ri;
	int rc = -1;

	strbuf_reset(sb);
	if (!history_runs_begin(h, f, &it))
		while ((rc = history_runs_next(&it, &ri)) > 0) {
			if (sb->len)
				strbuf_addch(sb, ' ');
			strbuf_addstr(sb, ri->id);
		}
	history_runs_end(&it);
	return rc;
}

Test(export, runs_find_filters)
{
	const char *hpath;
	struct strbuf sb = STRBUF_INIT;
	struct run_filter f;
	struct history *h;
	sqlite3 *db;

	hpath = th_path("h.db");
	build_history(hpath);
	cr_assert_eq(sqlite3_open(hpath, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "UPDATE runs SET git_ref = 'dev', target = 'other' "
				  "WHERE id = '" RUN2 "'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	h = history_open_ro(hpath);
	cr_assert_not_null(h);

#define FIND(field, value, want)                                        \
	do {                                                            \
		memset(&f, 0, sizeof(f));                               \
		f.newest_first = 1;                                     \
		f.field = value;                                        \
		cr_assert_eq(collect(h, &f, &sb), 0);                   \
		cr_assert_str_eq(sb.buf, want, #field);                 \
	} while (0)

	FIND(target, NULL, RUN2 " " RUN1);
	FIND(target, "bot", RUN1);
	FIND(target, "other", RUN2);
	FIND(suite, "s2", RUN1);
	FIND(suite, "s1", RUN2 " " RUN1);
	FIND(suite, "s9", "");
	FIND(git_ref, "main", RUN1);
	FIND(git_ref, "dev", RUN2);
	FIND(status, "finished", RUN1);
	FIND(status, "running", RUN2);
	FIND(limit, 1, RUN2);
	memset(&f, 0, sizeof(f));
	f.newest_first = 1;
	f.suite = "s1";
	f.status = "finished";
	cr_assert_eq(collect(h, &f, &sb), 0);
	cr_assert_str_eq(sb.buf, RUN1);
	history_close(h);
	strbuf_release(&sb);
}
