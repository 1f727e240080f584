/* history: schema, runs, results, counts, finding runs and gates */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "history.h"
#include "history_fresh.h"
#include "sqldb.h"
#include "strbuf.h"
#include "banned.h"

TestSuite(history, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);

static int pragma_int(const char *path, const char *pragma, char *text, size_t size)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char sql[64];
	int v = -1;

	snprintf(sql, sizeof(sql), "PRAGMA %s", pragma);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	if (text)
		snprintf(text, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void begin_run(struct history *h, const char *id, const char *started,
		      const char *target)
{
	struct run_info ri;

	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)id;
	ri.started_at = (char *)started;
	ri.status = RUN_RUNNING;
	ri.target = (char *)target;
	ri.version = (char *)"v1";
	ri.model = (char *)"gpt-test";
	ri.git_sha = (char *)"abc123";
	ri.evalgate_version = (char *)"0.1.0";
	cr_assert_eq(history_run_begin(h, &ri), 0);
}

static struct result_row mkrow(const char *suite, const char *case_id, int repeat,
			       enum result_status st, const char *tags)
{
	struct result_row r;

	memset(&r, 0, sizeof(r));
	r.suite = suite;
	r.case_id = case_id;
	r.case_hash = "h";
	r.repeat = repeat;
	r.status = st;
	r.output = "ok";
	r.output_len = 2;
	r.latency_ms = 100;
	r.prompt_tokens = 10;
	r.completion_tokens = 5;
	r.attempts = 1;
	r.tags = tags;
	r.cost_usd = NAN;
	return r;
}

Test(history, open_creates_directory_and_schema)
{
	const char *path;
	char mode[32];
	struct history *h;

	path = th_path("a/b/c/history.db");
	h = history_open(path);
	cr_assert_not_null(h);
	history_close(h);
	cr_assert_eq(access(path, F_OK), 0);
	cr_assert_gt(pragma_int(path, "user_version", NULL, 0), 0);
	pragma_int(path, "journal_mode", mode, sizeof(mode));
	cr_assert_str_eq(mode, "wal");

	/* reopening an up-to-date file works, read-write and read-only */
	h = history_open(path);
	cr_assert_not_null(h);
	history_close(h);
	h = history_open_ro(path);
	cr_assert_not_null(h);
	history_close(h);
}

Test(history, newer_schema_is_refused)
{
	const char *path, *err;
	struct history *h;
	sqlite3 *db;
	int known;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	history_close(h);
	known = pragma_int(path, "user_version", NULL, 0);

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	th_stderr_start();
	cr_assert_null(history_open(path));
	cr_assert_null(history_open_ro(path));
	err = th_stderr_take();
	cr_assert_neq(*err, '\0');
	cr_assert_not_null(strstr(err, "schema version 999"), "%s", err);
	{
		char want[64];
		snprintf(want, sizeof(want), "knows up to %d", known);
		cr_assert_not_null(strstr(err, want), "%s", err);
	}
	/* the file was not touched */
	cr_assert_eq(pragma_int(path, "user_version", NULL, 0), 999);
}

Test(history, readonly_missing_file_is_an_error)
{
	const char *path, *err;

	path = th_path("missing.db");
	th_stderr_start();
	cr_assert_null(history_open_ro(path));
	err = th_stderr_take();
	cr_assert_neq(*err, '\0');
	cr_assert_not_null(strstr(err, "missing.db"), "%s", err);
	cr_assert_neq(access(path, F_OK), 0);
}

struct collect {
	int n;
	char case_ids[8][32];
	int repeats[8];
	size_t out_len[8];
	char out[8][32];
	int out_null[8];
	size_t n_scores[8];
	double score0[8];
	int pass0[8];
	char scorer1[8][32];
	long ptok[8];
	double latency[8];
	double cost[8];
};

static int collect_result(const struct stored_result *r, void *arg)
{
	struct collect *c = arg;
	int i = c->n++;

	cr_assert_lt(i, 8);
	snprintf(c->case_ids[i], 32, "%s", r->row.case_id);
	c->repeats[i] = r->row.repeat;
	c->out_null[i] = r->row.output == NULL;
	c->out_len[i] = r->row.output_len;
	if (r->row.output && r->row.output_len <= 32)
		memcpy(c->out[i], r->row.output, r->row.output_len);
	c->n_scores[i] = r->n_scores;
	cr_assert_eq(r->row.n_scores, r->n_scores);
	c->score0[i] = r->n_scores ? r->scores[0].score : -1;
	c->pass0[i] = r->n_scores ? r->scores[0].pass : -1;
	if (r->n_scores > 1)
		snprintf(c->scorer1[i], 32, "%s", r->scores[1].scorer);
	c->ptok[i] = r->row.prompt_tokens;
	c->latency[i] = r->row.latency_ms;
	c->cost[i] = r->row.cost_usd;
	return 0;
}

Test(history, run_round_trip_with_exact_bytes)
{
	static const char weird[] = "a\0b\xff\xfe\xed\xa0\x80\xe2\x82"; /* NUL, invalid, surrogate, truncated */
	const char *path;
	struct history *h;
	struct result_row r;
	struct score_row sc[2];
	struct run_info ri;
	struct collect c;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	begin_run(h, "20261123T120803Z-3f9a1c", "2026-11-23T12:08:03Z", "support-bot");
	cr_assert_eq(history_run_suite(h, "20261123T120803Z-3f9a1c", "golden", "3", "sha", "golden"), 0);

	memset(sc, 0, sizeof(sc));
	sc[0].scorer = "regex";
	sc[0].type = "regex";
	sc[0].score = NAN;
	sc[0].pass = 0;
	sc[0].reason = "no match";
	sc[1].scorer = "judge";
	sc[1].type = "llm_judge";
	sc[1].score = 0.75;
	sc[1].pass = 1;
	sc[1].detail = "{\"k\":1}";

	cr_assert_eq(history_batch_begin(h), 0);
	r = mkrow("golden", "case-b", 0, RESULT_FAIL, NULL);
	r.output = weird;
	r.output_len = sizeof(weird) - 1;
	r.scores = sc;
	r.n_scores = 2;
	r.prompt_tokens = -1;
	r.cost_usd = 0.0125;
	cr_assert_eq(history_add_result(h, "20261123T120803Z-3f9a1c", &r), 0);
	r = mkrow("golden", "case-a", 0, RESULT_ERROR, NULL);
	r.output = NULL;
	r.output_len = 0;
	r.error = "HTTP 500";
	r.latency_ms = NAN;
	cr_assert_eq(history_add_result(h, "20261123T120803Z-3f9a1c", &r), 0);
	r = mkrow("golden", "case-a", 1, RESULT_PASS, NULL);
	r.output = "";
	r.output_len = 0;
	cr_assert_eq(history_add_result(h, "20261123T120803Z-3f9a1c", &r), 0);
	cr_assert_eq(history_batch_commit(h), 0);

	cr_assert_eq(history_run_finish(h, "20261123T120803Z-3f9a1c", RUN_FINISHED, "fail"), 0);
	cr_assert_eq(history_run_resolve(h, "20261123T120803Z-3f9a1c", &ri, NULL), 0);
	cr_assert_eq(ri.status, RUN_FINISHED);
	cr_assert_str_eq(ri.verdict, "fail");
	cr_assert_str_eq(ri.target, "support-bot");
	cr_assert_str_eq(ri.git_sha, "abc123");
	cr_assert_null(ri.git_ref);
	/* counts are per case: case-a errored once and passed once; an errored repeat never
	 * lets a case pass ("all"), and it saw no failure, so it is an error */
	cr_assert_eq(ri.n_cases, 2);
	cr_assert_eq(ri.n_pass, 0);
	cr_assert_eq(ri.n_fail, 1);
	cr_assert_eq(ri.n_error, 1);
	cr_assert_eq(ri.repeats, 1);
	cr_assert_str_eq(ri.repeat_policy, "all");
	cr_assert_not_null(ri.finished_at);
	cr_assert_eq(strlen(ri.finished_at), 20, "%s", ri.finished_at);
	cr_assert_eq(ri.finished_at[10], 'T');
	cr_assert_eq(ri.finished_at[19], 'Z');
	run_info_release(&ri);

	/* a later verdict replaces it; a NULL verdict at finish keeps it */
	cr_assert_eq(history_set_verdict(h, "20261123T120803Z-3f9a1c", "pass"), 0);
	cr_assert_eq(history_run_finish(h, "20261123T120803Z-3f9a1c", RUN_INTERRUPTED, NULL), 0);
	cr_assert_eq(history_run_resolve(h, "latest", &ri, NULL), 0);
	cr_assert_str_eq(ri.verdict, "pass");
	cr_assert_eq(ri.status, RUN_INTERRUPTED);
	run_info_release(&ri);

	memset(&c, 0, sizeof(c));
	cr_assert_eq(history_results(h, "20261123T120803Z-3f9a1c", "golden", collect_result, &c), 0);
	cr_assert_eq(c.n, 3);
	/* insertion order, not case id order */
	cr_assert_str_eq(c.case_ids[0], "case-b");
	cr_assert_str_eq(c.case_ids[1], "case-a");
	cr_assert_str_eq(c.case_ids[2], "case-a");
	cr_assert_eq(c.repeats[2], 1);
	cr_assert_eq(c.out_len[0], sizeof(weird) - 1);
	cr_assert_eq(memcmp(c.out[0], weird, sizeof(weird) - 1), 0);
	cr_assert(c.out_null[1]);
	cr_assert(!c.out_null[2]);
	cr_assert_eq(c.out_len[2], 0);
	cr_assert_eq(c.n_scores[0], 2);
	cr_assert(isnan(c.score0[0]));
	cr_assert_eq(c.pass0[0], 0);
	cr_assert_str_eq(c.scorer1[0], "judge");
	cr_assert_eq(c.ptok[0], -1);
	cr_assert_eq(c.ptok[2], 10);
	cr_assert(isnan(c.latency[1]));
	cr_assert_float_eq(c.cost[0], 0.0125, 1e-12);
	cr_assert(isnan(c.cost[1]));
	cr_assert_eq(c.n_scores[1], 0);
	history_close(h);
}

static int count_suite(const struct run_suite *s, void *arg)
{
	struct strbuf *sb = arg;

	strbuf_addf(sb, "%s@%s:%ld;", s->name, s->version, s->n_cases);
	return 0;
}

Test(history, counts_per_suite_and_tag)
{
	const char *path;
	struct history *h;
	struct result_row r;
	struct counts c;
	struct strbuf sb = STRBUF_INIT;
	const char *id = "r1";

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	begin_run(h, id, NULL, "t");
	cr_assert_eq(history_run_suite(h, id, "s2", "1", NULL, NULL), 0);
	cr_assert_eq(history_run_suite(h, id, "s1", "2", NULL, NULL), 0);
	cr_assert_eq(history_batch_begin(h), 0);
	r = mkrow("s1", "a", 0, RESULT_PASS, "a,b");
	cr_assert_eq(history_add_result(h, id, &r), 0);
	r = mkrow("s1", "b", 0, RESULT_FAIL, "b");
	cr_assert_eq(history_add_result(h, id, &r), 0);
	r = mkrow("s1", "c", 0, RESULT_ERROR, "ab");
	cr_assert_eq(history_add_result(h, id, &r), 0);
	r = mkrow("s2", "a", 0, RESULT_PASS, NULL);
	r.latency_ms = 250;
	cr_assert_eq(history_add_result(h, id, &r), 0);
	cr_assert_eq(history_batch_commit(h), 0);

	cr_assert_eq(history_counts(h, id, NULL, NULL, &c), 0);
	cr_assert_eq(c.n, 4);
	cr_assert_eq(c.pass, 2);
	cr_assert_eq(c.fail, 1);
	cr_assert_eq(c.error, 1);
	cr_assert_float_eq(c.latency_ms, 550, 1e-9);
	cr_assert_eq(history_counts(h, id, "s1", NULL, &c), 0);
	cr_assert_eq(c.n, 3);
	cr_assert_eq(c.pass, 1);
	cr_assert_eq(history_counts(h, id, "s2", NULL, &c), 0);
	cr_assert_eq(c.n, 1);
	cr_assert_float_eq(c.latency_ms, 250, 1e-9);
	cr_assert_eq(history_counts(h, id, NULL, "b", &c), 0);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.pass, 1);
	cr_assert_eq(c.fail, 1);
	/* exact element match: "a" is not "ab" */
	cr_assert_eq(history_counts(h, id, NULL, "a", &c), 0);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(c.pass, 1);
	cr_assert_eq(history_counts(h, id, "s2", "b", &c), 0);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(history_counts(h, "other", NULL, NULL, &c), 0);
	cr_assert_eq(c.n, 0);

	cr_assert_eq(history_run_suites(h, id, count_suite, &sb), 0);
	cr_assert_str_eq(sb.buf, "s1@2:3;s2@1:1;");
	strbuf_release(&sb);
	history_close(h);
}

/* one case per policy test: repeats with the given statuses ('p', 'f', 'e') */
static void add_repeats(struct history *h, const char *id, const char *case_id,
			const char *statuses)
{
	struct result_row r;
	int i;

	for (i = 0; statuses[i]; i++) {
		enum result_status st = statuses[i] == 'p' ? RESULT_PASS :
					statuses[i] == 'f' ? RESULT_FAIL : RESULT_ERROR;

		r = mkrow("s", case_id, i, st, NULL);
		cr_assert_eq(history_add_result(h, id, &r), 0);
	}
}

static void check_policy(const char *policy, long pass, long fail, long error)
{
	const char *path;
	char name[64];
	struct history *h;
	struct run_info ri;
	struct counts c, rc;

	snprintf(name, sizeof(name), "policy-%s.db", policy);
	path = th_path(name);
	h = history_open(path);
	cr_assert_not_null(h);
	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)"rp";
	ri.status = RUN_RUNNING;
	ri.repeats = 5;
	ri.repeat_policy = (char *)policy;
	cr_assert_eq(history_run_begin(h, &ri), 0);
	cr_assert_eq(history_run_suite(h, "rp", "s", "1", NULL, "golden"), 0);
	add_repeats(h, "rp", "all-pass", "ppppp");
	add_repeats(h, "rp", "four-of-five", "ppppf");
	add_repeats(h, "rp", "three-of-five", "pfpfp");
	add_repeats(h, "rp", "two-of-five", "fpfpf");
	add_repeats(h, "rp", "pass-and-errors", "peeee");
	add_repeats(h, "rp", "all-errors", "eeeee");
	add_repeats(h, "rp", "all-fail", "fffff");
	cr_assert_eq(history_counts(h, "rp", NULL, NULL, &c), 0);
	cr_assert_eq(c.n, 7, "one row per case whatever the repeats");
	cr_assert_eq(c.pass, pass, "%s: %ld pass", policy, c.pass);
	cr_assert_eq(c.fail, fail, "%s: %ld fail", policy, c.fail);
	cr_assert_eq(c.error, error, "%s: %ld error", policy, c.error);
	cr_assert_eq(history_result_counts(h, "rp", NULL, &rc), 0);
	cr_assert_eq(rc.n, 35, "every repeat is a stored result");
	cr_assert_eq(history_run_finish(h, "rp", RUN_FINISHED, NULL), 0);
	cr_assert_eq(history_run_resolve(h, "rp", &ri, NULL), 0);
	cr_assert_eq(ri.repeats, 5);
	cr_assert_str_eq(ri.repeat_policy, policy);
	/* the run's stored counts are the cases' verdicts by the policy */
	cr_assert_eq(ri.n_cases, 7);
	cr_assert_eq(ri.n_pass, pass, "%s: stored %ld pass", policy, ri.n_pass);
	cr_assert_eq(ri.n_fail, fail, "%s: stored %ld fail", policy, ri.n_fail);
	cr_assert_eq(ri.n_error, error, "%s: stored %ld error", policy, ri.n_error);
	run_info_release(&ri);
	history_close(h);
}

Test(history, repeat_policies_decide_case_verdicts)
{
	/*
	 * an errored repeat is a vote against, never for: a case passes when its passes
	 * alone satisfy the policy over all its repeats; one that does not and saw no
	 * failure (pass-and-errors, all-errors) is an error
	 */
	check_policy("all", 1, 4, 2);           /* all-pass */
	check_policy("majority", 3, 2, 2);      /* + four-of-five, three-of-five */
	check_policy("min_pass:2", 4, 1, 2);    /* 2 or more passes; one pass is not enough */
	check_policy("min_pass:1", 5, 1, 1);    /* pass-and-errors has its one pass */
}

Test(history, duplicate_result_undoes_only_that_row)
{
	const char *path;
	struct history *h;
	struct result_row r;
	struct score_row sc;
	struct counts c;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	begin_run(h, "r", NULL, "t");
	memset(&sc, 0, sizeof(sc));
	sc.scorer = "x";
	sc.pass = 1;
	cr_assert_eq(history_batch_begin(h), 0);
	r = mkrow("s", "a", 0, RESULT_PASS, NULL);
	r.scores = &sc;
	r.n_scores = 1;
	cr_assert_eq(history_add_result(h, "r", &r), 0);
	th_stderr_start();
	cr_assert_eq(history_add_result(h, "r", &r), -1);
	r = mkrow("s", "b", 0, RESULT_FAIL, NULL);
	cr_assert_eq(history_add_result(h, "r", &r), 0);
	cr_assert_eq(history_batch_commit(h), 0);
	/* results outside a batch are committed on their own */
	r = mkrow("s", "c", 0, RESULT_FAIL, NULL);
	cr_assert_eq(history_add_result(h, "r", &r), 0);
	/* a result for an unknown run breaks the foreign key */
	cr_assert_eq(history_add_result(h, "nope", &r), -1);
	cr_assert_eq(history_counts(h, "r", NULL, NULL, &c), 0);
	cr_assert_eq(c.n, 3);
	cr_assert_eq(history_run_finish(h, "nope", RUN_FINISHED, NULL), -1);
	history_close(h);
}

/* the cases a run stores, each twice (repeats 0 and 1), with its texts */
static void add_text_results(struct history *h, const char *run_id, const char *const *cases,
			     size_t n)
{
	char hash[32], input[64], expected[32];
	struct result_row r;
	size_t i;
	int rep;

	cr_assert_eq(history_batch_begin(h), 0);
	for (i = 0; i < n; i++)
		for (rep = 0; rep < 2; rep++) {
			snprintf(hash, sizeof(hash), "hash-%s", cases[i]);
			snprintf(input, sizeof(input), "\"question %s\"", cases[i]);
			snprintf(expected, sizeof(expected), "answer %s", cases[i]);
			r = mkrow("s", cases[i], rep, RESULT_PASS, NULL);
			r.case_hash = hash;
			r.input = input;
			r.expected = expected;
			cr_assert_eq(history_add_result(h, run_id, &r), 0);
		}
	cr_assert_eq(history_batch_commit(h), 0);
}

/* the hashes of every attempt to insert into case_texts, logged by a trigger */
static long text_inserts(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long n;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS text_log (hash TEXT);"
				  "CREATE TRIGGER IF NOT EXISTS text_log BEFORE INSERT ON case_texts "
				  "BEGIN INSERT INTO text_log VALUES (new.hash); END;",
				  NULL, NULL, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM text_log", -1, &st, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* a run of a new connection storing n cases: the attempts to insert texts since the file was made */
static long text_run(const char *path, const char *run_id, const char *const *cases, size_t n)
{
	struct history *h = history_open(path);

	cr_assert_not_null(h);
	begin_run(h, run_id, NULL, "t");
	add_text_results(h, run_id, cases, n);
	history_close(h);
	return text_inserts(path);
}

static int texts_seen(const struct stored_result *r, void *arg)
{
	char want[64];
	size_t *n = arg;

	snprintf(want, sizeof(want), "\"question %s\"", r->row.case_id);
	cr_assert_str_eq(r->row.input, want);
	snprintf(want, sizeof(want), "answer %s", r->row.case_id);
	cr_assert_str_eq(r->row.expected, want);
	(*n)++;
	return 0;
}

/* a result read without its texts: none, and the rest as stored */
static int texts_absent(const struct stored_result *r, void *arg)
{
	char want[32];
	size_t *n = arg;

	cr_assert_null(r->row.input);
	cr_assert_null(r->row.context);
	cr_assert_null(r->row.expected);
	snprintf(want, sizeof(want), "hash-%s", r->row.case_id);
	cr_assert_str_eq(r->row.case_hash, want);
	cr_assert_eq(r->row.status, RESULT_PASS);
	(*n)++;
	return 0;
}

/*
 * a first run stores each case's texts once (not once per result); a second
 * run of the same cases inserts none, only those of a case that is new; the
 * results read back (as the reports read them) carry the texts
 */
Test(history, case_texts_written_once_per_hash)
{
	static const char *const first[] = { "a", "b", "c" };
	static const char *const second[] = { "a", "b", "c", "d" };
	const char *path = th_path("h.db");
	struct strbuf mem = STRBUF_INIT;
	struct result_row row;
	struct history *h;
	size_t n = 0;

	h = history_open(path);
	cr_assert_not_null(h);
	history_close(h);
	cr_assert_eq(text_inserts(path), 0);

	cr_assert_eq(text_run(path, "r1", first, 3), 3);
	cr_assert_eq(text_run(path, "r2", second, 3), 3);
	cr_assert_eq(text_run(path, "r3", second, 4), 4, "only the new case's texts are inserted");
	h = history_open(path);
	cr_assert_not_null(h);
	cr_assert_eq(history_results(h, "r2", "s", texts_seen, &n), 0);
	cr_assert_eq(n, 6);
	n = 0;
	cr_assert_eq(history_results(h, "r3", "s", texts_seen, &n), 0);
	cr_assert_eq(n, 8);
	n = 0;
	cr_assert_eq(history_results_without_texts(h, "r3", "s", texts_absent, &n), 0);
	cr_assert_eq(n, 8, "the same results");
	/* and a case's texts looked up by its hash, as the HTML report does for its details */
	memset(&row, 0, sizeof(row));
	cr_assert_eq(history_case_texts(h, "hash-d", &row, &mem), 0);
	cr_assert_str_eq(row.input, "\"question d\"");
	cr_assert_null(row.context, "a case without a context has none");
	cr_assert_str_eq(row.expected, "answer d");
	row.input = "untouched";
	cr_assert_eq(history_case_texts(h, "hash-e", &row, &mem), 1, "no such hash");
	cr_assert_str_eq(row.input, "untouched");
	cr_assert_eq(history_case_texts(h, NULL, &row, &mem), 1, "a result without a hash");
	strbuf_release(&mem);
	history_close(h);
}

static void make_runs(struct history *h)
{
	begin_run(h, "20261123T120803Z-aaa111", "2026-11-23T12:08:03Z", "bot");
	begin_run(h, "20261123T120803Z-aab222", "2026-11-23T12:08:03Z", "other");
	begin_run(h, "20261125T090000Z-ccc333", "2026-11-25T09:00:00Z", "bot");
	begin_run(h, "20261124T090000Z-ddd444", "2026-11-24T09:00:00Z", "bot");
}

/* the resolver reports what it did not find when no why buffer is given */
Test(history, run_resolution_reported)
{
	const char *path, *err;
	struct history *h;
	struct run_info ri;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	th_stderr_start();
	cr_assert_eq(history_run_resolve(h, "latest", &ri, NULL), 1);
	cr_assert_null(ri.id);
	make_runs(h);

	cr_assert_eq(history_run_resolve(h, "latest", &ri, NULL), 0);
	cr_assert_str_eq(ri.id, "20261125T090000Z-ccc333");
	run_info_release(&ri);
	cr_assert_eq(history_run_resolve(h, "20261123T120803Z-aab222", &ri, NULL), 0);
	cr_assert_str_eq(ri.target, "other");
	run_info_release(&ri);
	cr_assert_eq(history_run_resolve(h, "20261124", &ri, NULL), 0);
	cr_assert_str_eq(ri.id, "20261124T090000Z-ddd444");
	run_info_release(&ri);
	cr_assert_eq(history_run_resolve(h, "20261123T120803Z-aa", &ri, NULL), 1);
	cr_assert_null(ri.id);
	cr_assert_eq(history_run_resolve(h, "2027", &ri, NULL), 1);
	cr_assert_eq(history_run_resolve(h, "", &ri, NULL), 1);
	err = th_stderr_take();
	cr_assert_neq(*err, '\0');
	cr_assert_not_null(strstr(err, "run 'latest': the history has no runs"), "%s", err);
	cr_assert_not_null(strstr(err, "run '20261123T120803Z-aa': the run id prefix is ambiguous: "
				  "it matches 20261123T120803Z-aaa111, 20261123T120803Z-aab222"),
			   "%s", err);
	cr_assert_not_null(strstr(err, "run '2027': no such run in the history"), "%s", err);
	cr_assert_not_null(strstr(err, "run '': an empty run id"), "%s", err);
	cr_assert_not_null(strstr(err, path), "%s", err);
	history_close(h);
}

/* resolve ref with a why buffer: the id found, or "-" and the reason */
static int resolve(struct history *h, const char *ref, struct strbuf *got)
{
	struct strbuf why = STRBUF_INIT;
	struct run_info ri;
	int rc = history_run_resolve(h, ref, &ri, &why);

	strbuf_reset(got);
	if (rc == 0) {
		cr_assert_eq(why.len, 0, "found, yet why says: %s", why.buf);
		strbuf_addstr(got, ri.id);
		run_info_release(&ri);
	} else {
		cr_assert_null(ri.id);
		strbuf_addf(got, "-%s", why.buf);
	}
	strbuf_release(&why);
	return rc;
}

/* with a why buffer nothing is printed; exact ids, prefixes, latest and none */
Test(history, run_resolution_with_why)
{
	const char *path, *err;
	struct strbuf got = STRBUF_INIT;
	struct history *h;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	th_stderr_start();
	cr_assert_eq(resolve(h, "latest", &got), 1);
	cr_assert_str_eq(got.buf, "-the history has no runs");
	cr_assert_eq(resolve(h, "abc", &got), 1);
	cr_assert_str_eq(got.buf, "-no such run in the history");
	/* an exact id that is also the prefix of a longer one is that run */
	begin_run(h, "abc", "2026-01-01T00:00:00Z", "bot");
	begin_run(h, "abcd", "2026-01-02T00:00:00Z", "bot");
	begin_run(h, "abce", "2026-01-03T00:00:00Z", "bot");
	begin_run(h, "xyz1", "2026-01-01T00:00:00Z", "bot");
	cr_assert_eq(resolve(h, "abc", &got), 0);
	cr_assert_str_eq(got.buf, "abc");
	cr_assert_eq(resolve(h, "abcd", &got), 0);
	cr_assert_str_eq(got.buf, "abcd");
	/* a unique prefix */
	cr_assert_eq(resolve(h, "xy", &got), 0);
	cr_assert_str_eq(got.buf, "xyz1");
	/* an ambiguous one names two of the runs it matches, in id order */
	cr_assert_eq(resolve(h, "ab", &got), 1);
	cr_assert_str_eq(got.buf, "-the run id prefix is ambiguous: it matches abc, abcd and "
			 "maybe more");
	cr_assert_eq(resolve(h, "q", &got), 1);
	cr_assert_str_eq(got.buf, "-no such run in the history");
	cr_assert_eq(resolve(h, "", &got), 1);
	cr_assert_str_eq(got.buf, "-an empty run id");
	/* latest is the newest by started_at, whatever the ids */
	cr_assert_eq(resolve(h, "latest", &got), 0);
	cr_assert_str_eq(got.buf, "abce");
	/* "latest" is a keyword, not an id prefix */
	begin_run(h, "latest-but-older", "2025-01-01T00:00:00Z", "bot");
	cr_assert_eq(resolve(h, "latest", &got), 0);
	cr_assert_str_eq(got.buf, "abce");
	err = th_stderr_take();
	cr_assert_str_eq(err, "", "printed: %s", err);
	strbuf_release(&got);
	history_close(h);
}

/* latest among runs started in the same millisecond: the greatest id, not the last stored */
Test(history, latest_breaks_ties_by_id)
{
	const char *path;
	struct strbuf got = STRBUF_INIT;
	struct history *h;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	begin_run(h, "20260101T000000Z-bbb", "2026-01-01T00:00:00.000Z", "bot");
	begin_run(h, "20260101T000000Z-aaa", "2026-01-01T00:00:00.000Z", "bot");
	cr_assert_eq(resolve(h, "latest", &got), 0);
	cr_assert_str_eq(got.buf, "20260101T000000Z-bbb");
	strbuf_release(&got);
	history_close(h);
}

/* one run of the filter test */
struct run_spec {
	const char *id, *started, *target, *version, *git_ref;
	enum run_status status;
	const char *verdict, *shard;
	const char *suites[3];
};

/*
 * r3 and r4 start at the same time (r4's id is greater), and are stored in
 * the reverse of their order, so that the storage order cannot pass for it
 */
static const struct run_spec filter_runs[] = {
	{ "r1", "2026-01-01T00:00:00Z", "bot", "v1", "main", RUN_FINISHED, "pass", NULL,
	  { "s1", NULL } },
	{ "r2", "2026-01-02T00:00:00Z", "bot", "v2", "dev", RUN_FINISHED, "fail", "1/2",
	  { "s2", NULL } },
	{ "r4", "2026-01-03T00:00:00Z", "bot", "v1", "main", RUN_INTERRUPTED, "error", NULL,
	  { "s1", NULL } },
	{ "r3", "2026-01-03T00:00:00Z", "other", "v1", "main", RUN_RUNNING, NULL, NULL,
	  { "s1", "s2", NULL } },
};

static struct history *filter_history(const char *name)
{
	const char *path;
	struct history *h;
	size_t i, k;

	path = th_path(name);
	h = history_open(path);
	cr_assert_not_null(h);
	for (i = 0; i < sizeof(filter_runs) / sizeof(filter_runs[0]); i++) {
		const struct run_spec *r = &filter_runs[i];
		struct run_info ri;

		memset(&ri, 0, sizeof(ri));
		ri.id = (char *)r->id;
		ri.started_at = (char *)r->started;
		ri.target = (char *)r->target;
		ri.version = (char *)r->version;
		ri.git_ref = (char *)r->git_ref;
		ri.status = r->status;
		ri.verdict = (char *)r->verdict;
		ri.shard = (char *)r->shard;
		cr_assert_eq(history_run_begin(h, &ri), 0);
		for (k = 0; r->suites[k]; k++)
			cr_assert_eq(history_run_suite(h, r->id, r->suites[k], "1", "h", "golden"),
				     0);
	}
	return h;
}

/* the ids a filter lists, space-separated */
static const char *list(struct history *h, const struct run_filter *f, struct strbuf *sb)
{
	struct run_iter it;
	const struct run_info *ri;
	int rc;

	strbuf_reset(sb);
	cr_assert_eq(history_runs_begin(h, f, &it), 0);
	while ((rc = history_runs_next(&it, &ri)) > 0)
		strbuf_addf(sb, "%s%s", sb->len ? " " : "", ri->id);
	cr_assert_eq(rc, 0);
	cr_assert_null(ri);
	/* past the end it stays at the end */
	cr_assert_eq(history_runs_next(&it, &ri), 0);
	history_runs_end(&it);
	return sb->buf;
}

Test(history, run_filter_each_field)
{
	struct strbuf sb = STRBUF_INIT;
	struct history *h = filter_history("h.db");

#define LIST(want, ...)                                                         \
	do {                                                                    \
		struct run_filter f = { __VA_ARGS__ };                          \
		cr_assert_str_eq(list(h, &f, &sb), want, "%s", #__VA_ARGS__);   \
	} while (0)

	LIST("r1 r2 r3 r4", .limit = 0);
	LIST("r4 r3 r2 r1", .newest_first = 1);
	LIST("r1 r2 r4", .target = "bot");
	LIST("r3", .target = "other");
	LIST("", .target = "none");
	LIST("r1 r3 r4", .version = "v1");
	LIST("r2", .version = "v2");
	LIST("r1 r3 r4", .suite = "s1");
	LIST("r2 r3", .suite = "s2");
	LIST("", .suite = "s9");
	LIST("r1 r3 r4", .git_ref = "main");
	LIST("r2", .git_ref = "dev");
	LIST("r1 r2", .status = "finished");
	LIST("r3", .status = "running");
	LIST("r4", .status = "interrupted");
	LIST("", .status = "failed");
	LIST("r1", .verdict = "pass");
	LIST("r2", .verdict = "fail");
	LIST("r4", .verdict = "error");
	LIST("r2", .sharded = 1);
	LIST("r1 r2 r3", .until_id = "r3");
	LIST("r1 r2 r3 r4", .until_id = "r4");
	LIST("r1", .until_id = "r1");
	LIST("", .until_id = "nosuch");
	LIST("r1 r3 r4", .exclude_id = "r2");
	LIST("r1 r2 r3 r4", .exclude_id = "nosuch");
	LIST("r1 r2", .limit = 2);
	LIST("r4 r3", .limit = 2, .newest_first = 1);
	/* the fields together narrow further */
	LIST("r2 r1", .target = "bot", .status = "finished", .newest_first = 1);
	LIST("r1 r4", .target = "bot", .version = "v1", .suite = "s1", .git_ref = "main");
	/* strictly before r4, newest first: what the drift gate reads */
	LIST("r3 r2", .until_id = "r4", .exclude_id = "r4", .limit = 2, .newest_first = 1);
#undef LIST
	strbuf_release(&sb);
	history_close(h);
}

Test(history, run_first_and_early_end)
{
	struct run_filter bot = { .target = "bot", .newest_first = 1 };
	struct run_filter none = { .target = "none" };
	struct history *h = filter_history("h.db");
	struct run_iter it;
	const struct run_info *ri;
	struct run_info out, copy;

	cr_assert_eq(history_run_first(h, &bot, &out), 0);
	cr_assert_str_eq(out.id, "r4");
	cr_assert_str_eq(out.verdict, "error");
	cr_assert_eq(out.status, RUN_INTERRUPTED);
	run_info_release(&out);
	bot.newest_first = 0;
	cr_assert_eq(history_run_first(h, &bot, &out), 0);
	cr_assert_str_eq(out.id, "r1");
	run_info_release(&out);
	cr_assert_eq(history_run_first(h, &none, &out), 1);
	cr_assert_null(out.id);

	/* a listing ended early; a run kept with run_info_copy outlives it */
	cr_assert_eq(history_runs_begin(h, &bot, &it), 0);
	cr_assert_eq(history_runs_next(&it, &ri), 1);
	cr_assert_str_eq(ri->id, "r1");
	cr_assert_eq(history_runs_next(&it, &ri), 1);
	cr_assert_str_eq(ri->id, "r2");
	run_info_copy(&copy, ri);
	history_runs_end(&it);
	cr_assert_str_eq(copy.id, "r2");
	cr_assert_str_eq(copy.shard, "1/2");
	cr_assert_str_eq(copy.git_ref, "dev");
	run_info_release(&copy);
	history_close(h);
}

Test(history, run_filter_on_an_empty_history)
{
	struct strbuf sb = STRBUF_INIT;
	struct run_filter all = { .newest_first = 1 };
	struct run_info out;
	const char *path;
	struct history *h;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	cr_assert_str_eq(list(h, &all, &sb), "");
	cr_assert_eq(history_run_first(h, &all, &out), 1);
	strbuf_release(&sb);
	history_close(h);
}

static int collect_gate(const struct gate_row *g, void *arg)
{
	struct strbuf *sb = arg;

	strbuf_addf(sb, "%s|%s|%s|%s|%s|%g|%d|%s|%s|%ld|%s;", g->name, g->metric, g->scope,
		    isnan(g->value) ? "NaN" : "v", g->op, g->threshold, g->pass,
		    isnan(g->lo) ? "NaN" : "lo", isnan(g->hi) ? "NaN" : "hi", g->n,
		    g->detail ? g->detail : "-");
	if (!isnan(g->value))
		strbuf_addf(sb, "%g;", g->value);
	return 0;
}

Test(history, gates_round_trip)
{
	const char *path;
	struct history *h;
	struct gate_row g;
	struct strbuf sb = STRBUF_INIT;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	begin_run(h, "r", NULL, "t");
	begin_run(h, "r2", NULL, "t");
	memset(&g, 0, sizeof(g));
	g.name = "golden pass rate";
	g.metric = "pass_rate";
	g.scope = "suite:golden";
	g.value = 0.5;
	g.op = ">=";
	g.threshold = 0.95;
	g.pass = 0;
	g.lo = 0.2;
	g.hi = 0.8;
	g.n = 10;
	cr_assert_eq(history_add_gate(h, "r", &g), 0);
	g.name = "empty";
	g.metric = "error_rate";
	g.scope = "tag:none";
	g.value = NAN;
	g.op = "<=";
	g.threshold = 0.01;
	g.pass = 1;
	g.lo = NAN;
	g.hi = NAN;
	g.n = 0;
	g.detail = "no cases";
	cr_assert_eq(history_add_gate(h, "r", &g), 0);
	cr_assert_eq(history_add_gate(h, "r2", &g), 0);
	cr_assert_eq(history_gates(h, "r", collect_gate, &sb), 0);
	cr_assert_str_eq(sb.buf,
			 "golden pass rate|pass_rate|suite:golden|v|>=|0.95|0|lo|hi|10|-;0.5;"
			 "empty|error_rate|tag:none|NaN|<=|0.01|1|NaN|NaN|0|no cases;");
	history_close(h);
	strbuf_release(&sb);
}

Test(history, reader_while_writer_holds_a_batch)
{
	const char *path;
	struct history *w, *ro;
	struct result_row r;
	struct counts c;
	struct run_info ri;

	path = th_path("h.db");
	w = history_open(path);
	cr_assert_not_null(w);
	begin_run(w, "r", NULL, "t");
	ro = history_open_ro(path);
	cr_assert_not_null(ro);
	cr_assert_eq(history_batch_begin(w), 0);
	r = mkrow("s", "a", 0, RESULT_PASS, NULL);
	cr_assert_eq(history_add_result(w, "r", &r), 0);
	/* the reader sees the last commit, not the open batch, and does not block */
	cr_assert_eq(history_counts(ro, "r", NULL, NULL, &c), 0);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(history_run_resolve(ro, "r", &ri, NULL), 0);
	run_info_release(&ri);
	cr_assert_eq(history_batch_commit(w), 0);
	cr_assert_eq(history_counts(ro, "r", NULL, NULL, &c), 0);
	cr_assert_eq(c.n, 1);
	/* a read-only handle cannot write */
	th_stderr_start();
	cr_assert_eq(history_set_verdict(ro, "r", "pass"), -1);
	history_close(ro);
	history_close(w);
}

static int collect_case(const struct case_verdict *c, void *arg)
{
	struct strbuf *sb = arg;

	strbuf_addf(sb, "%s/%s:%ld/%ld/%ld/%ld:%s:%d;", c->suite, c->case_id, c->n, c->n_pass,
		    c->n_fail, c->n_error, result_status_name(c->status), c->flaky);
	return 0;
}

static int stop_at_first(const struct case_verdict *c, void *arg)
{
	(void)c;
	++*(int *)arg;
	return 1;
}

Test(history, flaky_and_failed_cases)
{
	const char *path;
	struct history *h;
	struct run_info ri;
	struct strbuf sb = STRBUF_INIT;
	int calls = 0;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)"rf";
	ri.repeats = 5;
	ri.repeat_policy = (char *)"majority";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	add_repeats(h, "rf", "stable", "ppppp");
	add_repeats(h, "rf", "three-of-five", "pfpfp");
	add_repeats(h, "rf", "two-of-five", "fpfpf");
	add_repeats(h, "rf", "errors-only-disagree", "peeee"); /* pass and errors: not flaky */
	add_repeats(h, "rf", "all-fail", "fffff");
	/* another run's flaky case is not listed */
	begin_run(h, "other", NULL, "t");
	add_repeats(h, "other", "elsewhere", "pf");

	cr_assert_eq(history_flaky_cases(h, "rf", collect_case, &sb), 2);
	cr_assert_str_eq(sb.buf, "s/three-of-five:5/3/2/0:pass:1;s/two-of-five:5/2/3/0:fail:1;");
	strbuf_reset(&sb);
	cr_assert_eq(history_failed_cases(h, "rf", collect_case, &sb), 3);
	/* same place in the suite (ordinal 0): by case id; one pass of five, the rest
	 * errors, is no majority: an error, not a pass */
	cr_assert_str_eq(sb.buf, "s/all-fail:5/0/5/0:fail:0;s/errors-only-disagree:5/1/0/4:error:0;"
			 "s/two-of-five:5/2/3/0:fail:1;");
	/* counting alone, and stopping early */
	cr_assert_eq(history_flaky_cases(h, "rf", NULL, NULL), 2);
	cr_assert_eq(history_flaky_cases(h, "rf", stop_at_first, &calls), 1);
	cr_assert_eq(calls, 1);
	cr_assert_eq(history_flaky_cases(h, "nosuch", NULL, NULL), 0);
	strbuf_release(&sb);
	history_close(h);
}

static int collect_gate_count(const struct gate_row *g, void *arg)
{
	(void)g;
	++*(long *)arg;
	return 0;
}

Test(history, case_repeats_and_reopen)
{
	const char *path;
	struct history *h;
	struct run_info ri;
	struct gate_row g;
	struct result_row r;
	unsigned char seen[4];
	long n;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	begin_run(h, "rr", NULL, "t");
	r = mkrow("s", "c", 0, RESULT_PASS, NULL);
	cr_assert_eq(history_add_result(h, "rr", &r), 0);
	r.repeat = 2;
	cr_assert_eq(history_add_result(h, "rr", &r), 0);
	r.repeat = 7; /* beyond the buffer: not marked, not counted */
	cr_assert_eq(history_add_result(h, "rr", &r), 0);
	r = mkrow("s", "other", 1, RESULT_PASS, NULL);
	cr_assert_eq(history_add_result(h, "rr", &r), 0);

	memset(seen, 0, sizeof(seen));
	cr_assert_eq(history_case_repeats(h, "rr", "s", "c", 0, seen, 4), 2);
	cr_assert(seen[0] == 1 && seen[1] == 0 && seen[2] == 1 && seen[3] == 0);
	memset(seen, 0, sizeof(seen));
	cr_assert_eq(history_case_repeats(h, "rr", "s", "nosuch", 0, seen, 4), 0);
	cr_assert_eq(history_case_repeats(h, "rr", "t", "c", 0, seen, 4), 0);
	cr_assert_eq(history_case_repeats(h, "nosuch", "s", "c", 0, seen, 4), 0);
	cr_assert(!seen[0] && !seen[1] && !seen[2] && !seen[3]);

	/* an interrupted run with a gate result is taken up again */
	memset(&g, 0, sizeof(g));
	g.name = "gate";
	g.metric = "pass_rate";
	g.op = ">=";
	g.value = 1;
	g.pass = 1;
	g.lo = g.hi = NAN;
	cr_assert_eq(history_add_gate(h, "rr", &g), 0);
	cr_assert_eq(history_run_finish(h, "rr", RUN_INTERRUPTED, "error"), 0);
	cr_assert_eq(history_run_reopen(h, "rr"), 0);
	cr_assert_eq(history_run_resolve(h, "rr", &ri, NULL), 0);
	cr_assert_eq(ri.status, RUN_RUNNING);
	cr_assert_null(ri.finished_at);
	cr_assert_null(ri.verdict);
	run_info_release(&ri);
	n = 0;
	cr_assert_eq(history_gates(h, "rr", collect_gate_count, &n), 0);
	cr_assert_eq(n, 0, "the old gate results are gone");
	/* the results stay */
	memset(seen, 0, sizeof(seen));
	cr_assert_eq(history_case_repeats(h, "rr", "s", "c", 0, seen, 4), 2);
	th_stderr_start();
	cr_assert_eq(history_run_reopen(h, "nosuch"), -1);
	history_close(h);
}

/* run sql on the history file through a connection of its own */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sql);
	sqlite3_close(db);
}

/* the integer a query on the history file gives */
static int raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* a new history file (its path into *path) holding the running run "rr" */
static struct history *open_with_run(const char **path)
{
	struct history *h;

	*path = th_path("h.db");
	h = history_open(*path);
	cr_assert_not_null(h);
	begin_run(h, "rr", NULL, "t");
	return h;
}

Test(history, retry_errors_replace_the_error)
{
	const char *path;
	struct history *h;
	struct result_row r;
	struct score_row sc;
	unsigned char seen[2];

	h = open_with_run(&path);
	r = mkrow("s", "c", 0, RESULT_PASS, NULL);
	cr_assert_eq(history_add_result(h, "rr", &r), 0);
	r = mkrow("s", "c", 1, RESULT_ERROR, NULL);
	r.error = "HTTP 503";
	memset(&sc, 0, sizeof(sc));
	sc.scorer = "judge";
	sc.type = "judge";
	sc.score = NAN;
	sc.error = 1;
	r.scores = &sc;
	r.n_scores = 1;
	cr_assert_eq(history_add_result(h, "rr", &r), 0);

	memset(seen, 0, sizeof(seen));
	cr_assert_eq(history_case_repeats(h, "rr", "s", "c", 0, seen, 2), 2);
	memset(seen, 0, sizeof(seen));
	cr_assert_eq(history_case_repeats(h, "rr", "s", "c", 1, seen, 2), 1,
		     "an error is not held when errors are retried");
	cr_assert(seen[0] == 1 && seen[1] == 0);

	/* without replace mode a second row of the same repeat is refused */
	r = mkrow("s", "c", 1, RESULT_PASS, NULL);
	th_stderr_start();
	cr_assert_eq(history_add_result(h, "rr", &r), -1);
	history_replace_errors(h);
	cr_assert_eq(history_add_result(h, "rr", &r), 0);
	memset(seen, 0, sizeof(seen));
	cr_assert_eq(history_case_repeats(h, "rr", "s", "c", 1, seen, 2), 2);
	/* a pass is never replaced, even in replace mode */
	th_stderr_start();
	cr_assert_eq(history_add_result(h, "rr", &r), -1);
	history_close(h);
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM results"), 2, "one row per repeat");
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM scores"), 0,
		     "the error's scores went with it");
	cr_expect_eq(raw_int(path, "SELECT count(*) FROM results WHERE status = 'error'"), 0,
		     "the error is gone");
}

/* a result whose score cannot be stored leaves nothing behind, in a batch or not */
Test(history, result_failing_half_way_is_undone)
{
	const char *path;
	struct history *h;
	struct result_row r;
	struct score_row sc[2];

	h = open_with_run(&path);
	raw_exec(path, "CREATE TRIGGER boom BEFORE INSERT ON scores WHEN NEW.scorer = 'boom' "
		 "BEGIN SELECT RAISE(ABORT, 'boom'); END");
	memset(sc, 0, sizeof(sc));
	sc[0].scorer = "fine";
	sc[0].pass = 1;
	sc[1].scorer = "boom";
	cr_assert_eq(history_batch_begin(h), 0);
	r = mkrow("s", "a", 0, RESULT_PASS, NULL);
	r.scores = sc;
	r.n_scores = 1;
	cr_assert_eq(history_add_result(h, "rr", &r), 0);
	r = mkrow("s", "b", 0, RESULT_PASS, NULL);
	r.scores = sc;
	r.n_scores = 2;
	th_stderr_start();
	cr_assert_eq(history_add_result(h, "rr", &r), -1);
	r = mkrow("s", "c", 0, RESULT_PASS, NULL);
	r.scores = sc;
	r.n_scores = 1;
	cr_assert_eq(history_add_result(h, "rr", &r), 0);
	cr_assert_eq(history_batch_commit(h), 0);
	/* outside a batch */
	r = mkrow("s", "d", 0, RESULT_PASS, NULL);
	r.scores = sc;
	r.n_scores = 2;
	cr_assert_eq(history_add_result(h, "rr", &r), -1);
	history_close(h);
	cr_assert_eq(raw_int(path, "SELECT count(*) FROM results WHERE case_id IN ('b', 'd')"), 0);
	cr_assert_eq(raw_int(path, "SELECT count(*) FROM scores WHERE case_id IN ('b', 'd')"), 0);
	cr_assert_eq(raw_int(path, "SELECT count(*) FROM results"), 2);
	cr_assert_eq(raw_int(path, "SELECT count(*) FROM scores"), 2);
}

Test(history, run_owner_and_lock)
{
	const char *path;
	struct history *h;
	struct run_info ri;
	char host[256], sql[512];

	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	h = open_with_run(&path);
	cr_assert_eq(history_run_resolve(h, "rr", &ri, NULL), 0);
	cr_expect_eq(ri.owner_pid, (long)getpid());
	cr_expect_str_eq(ri.owner_host, host);
	cr_expect_not_null(ri.owner_since);
	cr_expect_eq(run_owner_state(&ri), OWNER_ALIVE);
	cr_expect_str_eq(run_state_name(&ri), "running");
	run_info_release(&ri);
	history_close(h);

	/* another live process owns it: a second writer is refused */
	snprintf(sql, sizeof(sql), "UPDATE runs SET owner_pid = %ld", (long)getppid());
	raw_exec(path, sql);
	h = history_open(path);
	cr_assert_not_null(h);
	th_stderr_start();
	cr_assert_eq(history_run_reopen(h, "rr"), -1);
	cr_expect(strstr(th_stderr_take(), "being written by pid") != NULL);

	/* the owner is gone (no pid is this large): crashed, and taken up */
	raw_exec(path, "UPDATE runs SET owner_pid = 2147483646");
	cr_assert_eq(history_run_resolve(h, "rr", &ri, NULL), 0);
	cr_expect_eq(run_owner_state(&ri), OWNER_DEAD);
	cr_expect_str_eq(run_state_name(&ri), "crashed");
	run_info_release(&ri);
	cr_assert_eq(history_run_reopen(h, "rr"), 0);
	cr_assert_eq(history_run_resolve(h, "rr", &ri, NULL), 0);
	cr_expect_eq(ri.owner_pid, (long)getpid(), "the resume owns it now");
	run_info_release(&ri);

	/* on another host: cannot tell, not refused */
	snprintf(sql, sizeof(sql), "UPDATE runs SET owner_pid = %ld, owner_host = 'elsewhere-%s'",
		 (long)getppid(), host);
	raw_exec(path, sql);
	cr_assert_eq(history_run_resolve(h, "rr", &ri, NULL), 0);
	cr_expect_eq(run_owner_state(&ri), OWNER_UNKNOWN);
	cr_expect_str_eq(run_state_name(&ri), "running");
	run_info_release(&ri);
	cr_assert_eq(history_run_reopen(h, "rr"), 0);

	/* a finished run is never crashed */
	cr_assert_eq(history_run_finish(h, "rr", RUN_FINISHED, "pass"), 0);
	raw_exec(path, "UPDATE runs SET owner_pid = 2147483646");
	cr_assert_eq(history_run_resolve(h, "rr", &ri, NULL), 0);
	cr_expect_str_eq(run_state_name(&ri), "finished");
	run_info_release(&ri);
	history_close(h);
}

static void add_usage_row(struct history *h, const char *suite, const char *case_id,
			  enum result_status st, double latency, long prompt, long completion,
			  double cost, int cached)
{
	struct result_row r = mkrow(suite, case_id, 0, st, NULL);
	struct score_row sc = { "judge", "judge", 0, 0, 0, "wrong answer", NULL, 1, 1 };

	r.latency_ms = latency;
	r.prompt_tokens = prompt;
	r.completion_tokens = completion;
	r.cost_usd = cost;
	r.cached = cached;
	if (st == RESULT_FAIL) {
		r.scores = &sc;
		r.n_scores = 1;
	}
	cr_assert_eq(history_add_result(h, "u", &r), 0);
}

/* one usage struct: tokens, cost, cache hits and the answered calls' latency */
Test(history, usage_of_a_run_and_of_a_suite)
{
	const char *path;
	struct history *h;
	struct usage u;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	begin_run(h, "u", "2026-01-01T00:00:00Z", "bot");
	add_usage_row(h, "a", "c1", RESULT_PASS, 100, 10, 5, 0.01, 0);
	add_usage_row(h, "a", "c2", RESULT_FAIL, 300, 20, 7, NAN, 0);
	add_usage_row(h, "a", "c3", RESULT_ERROR, 5000, -1, -1, NAN, 0);
	add_usage_row(h, "b", "c4", RESULT_PASS, 200, 1, 1, 0.02, 1);

	cr_assert_eq(history_usage(h, "u", NULL, &u), 0);
	cr_assert_eq(u.results, 4);
	cr_assert_eq(u.prompt_tokens, 31);
	cr_assert_eq(u.completion_tokens, 13);
	cr_assert_eq(u.n_tokens, 6);
	cr_assert_float_eq(u.cost_usd, 0.03, 1e-12);
	cr_assert_eq(u.n_cost, 2);
	cr_assert_eq(u.cached, 1);
	/* the errored call (5000 ms) is left out of the latency */
	cr_assert_float_eq(u.latency_p50, 200, 1e-9);
	cr_assert_float_eq(u.latency_p95, 290, 1e-9);

	cr_assert_eq(history_usage(h, "u", "a", &u), 0);
	cr_assert_eq(u.results, 3);
	cr_assert_eq(u.prompt_tokens, 30);
	cr_assert_eq(u.n_tokens, 4);
	cr_assert_float_eq(u.cost_usd, 0.01, 1e-12);
	cr_assert_eq(u.n_cost, 1);
	cr_assert_eq(u.cached, 0);
	cr_assert_float_eq(u.latency_p50, 200, 1e-9);
	cr_assert_float_eq(u.latency_p95, 290, 1e-9);

	cr_assert_eq(history_usage(h, "u", "none", &u), 0);
	cr_assert_eq(u.results, 0);
	cr_assert_eq(u.n_cost, 0);
	cr_assert(isnan(u.latency_p50));
	cr_assert(isnan(u.latency_p95));
	history_close(h);
}

/* what history_usage_suites hands out, one line a call */
static int usage_line(const char *suite, const struct usage *u, void *arg)
{
	struct strbuf *sb = arg;

	strbuf_addf(sb, "%s: %ld results, %ld+%ld tokens, $%.2f (%ld), %ld cached, p50 %g p95 %g\n",
		    suite ? suite : "(all)", u->results, u->prompt_tokens, u->completion_tokens,
		    u->cost_usd, u->n_cost, u->cached, u->latency_p50, u->latency_p95);
	return 0;
}

static int mean_line(const char *suite, const char *scorer, double mean, long n, void *arg)
{
	struct strbuf *sb = arg;

	strbuf_addf(sb, "%s %s: %g (%ld)\n", suite ? suite : "(all)", scorer, mean, n);
	return 0;
}

/* each suite's usage and scores, then all of them, from one pass: as history_usage gives them */
Test(history, usage_and_score_means_of_every_suite_at_once)
{
	struct strbuf sb = STRBUF_INIT;
	struct score_row sc[2] = {
		{ "judge", "judge", 0.25, 0, 0, NULL, NULL, 1, 1 },
		{ NULL, "regex", 1, 1, 0, NULL, NULL, 0, 1 },
	};
	struct result_row r;
	struct history *h = history_open(th_path("h.db"));

	cr_assert_not_null(h);
	begin_run(h, "u", "2026-01-01T00:00:00Z", "bot");
	/* stored out of suite order: the pass reads them in it */
	add_usage_row(h, "b", "c4", RESULT_PASS, 200, 1, 1, 0.02, 1);
	add_usage_row(h, "a", "c1", RESULT_PASS, 100, 10, 5, 0.01, 0);
	add_usage_row(h, "a", "c2", RESULT_FAIL, 300, 20, 7, NAN, 0);
	add_usage_row(h, "a", "c3", RESULT_ERROR, 5000, -1, -1, NAN, 0);
	r = mkrow("b", "c5", 0, RESULT_PASS, NULL);
	r.scores = sc;
	r.n_scores = 2;
	r.latency_ms = 400;
	r.prompt_tokens = r.completion_tokens = -1;
	r.cost_usd = NAN;
	cr_assert_eq(history_add_result(h, "u", &r), 0);
	sc[0].score = 0.75;
	sc[0].error = 1;           /* an errored score is left out */
	r.case_id = "c6";
	r.latency_ms = 600;
	cr_assert_eq(history_add_result(h, "u", &r), 0);

	cr_assert_eq(history_usage_suites(h, "u", NULL, usage_line, &sb), 0);
	cr_assert_str_eq(sb.buf,
			 "a: 3 results, 30+12 tokens, $0.01 (1), 0 cached, p50 200 p95 290\n"
			 "b: 3 results, 1+1 tokens, $0.02 (1), 1 cached, p50 400 p95 580\n"
			 "(all): 6 results, 31+13 tokens, $0.03 (2), 1 cached, p50 300 p95 560\n");
	strbuf_reset(&sb);
	cr_assert_eq(history_usage_suites(h, "u", "b", usage_line, &sb), 0);
	cr_assert_str_eq(sb.buf,
			 "b: 3 results, 1+1 tokens, $0.02 (1), 1 cached, p50 400 p95 580\n"
			 "(all): 3 results, 1+1 tokens, $0.02 (1), 1 cached, p50 400 p95 580\n");
	strbuf_reset(&sb);
	cr_assert_eq(history_score_means_suites(h, "u", NULL, mean_line, &sb), 0);
	cr_assert_str_eq(sb.buf,
			 "a judge: 0 (1)\n"
			 "b judge: 0.25 (1)\n"
			 "b regex: 1 (2)\n"
			 "(all) judge: 0.125 (2)\n"
			 "(all) regex: 1 (2)\n");
	strbuf_reset(&sb);
	cr_assert_eq(history_score_means_suites(h, "u", "none", mean_line, &sb), 0);
	cr_assert_str_eq(sb.buf, "");
	strbuf_release(&sb);
	history_close(h);
}

/* history_case_sample is a lookup: 0 found, 1 no such case */
Test(history, case_sample_found_or_not)
{
	const char *path;
	struct history *h;
	struct case_sample s;

	path = th_path("h.db");
	h = history_open(path);
	cr_assert_not_null(h);
	begin_run(h, "u", "2026-01-01T00:00:00Z", "bot");
	add_usage_row(h, "a", "c2", RESULT_FAIL, 300, 20, 7, NAN, 0);
	cr_assert_eq(history_case_sample(h, "u", "a", "c2", RESULT_FAIL, &s), 0);
	cr_assert_eq(s.status, RESULT_FAIL);
	cr_assert_str_eq(s.output, "ok");
	cr_assert_eq(s.n_failed, 1);
	cr_assert_str_eq(s.failed[0].scorer, "judge");
	cr_assert_str_eq(s.failed[0].reason, "wrong answer");
	case_sample_release(&s);
	cr_assert_eq(history_case_sample(h, "u", "a", "nosuch", RESULT_FAIL, &s), 1);
	cr_assert_null(s.output);
	cr_assert_eq(s.n_failed, 0);
	cr_assert_eq(history_case_sample(h, "other", "a", "c2", RESULT_FAIL, &s), 1);
	history_close(h);
}

/* a streamed result's timing: stored, read back, gated on; a non-streamed one has none */
static int stream_of(const struct stored_result *r, void *arg)
{
	struct stream_stats *out = arg;

	out[r->row.case_id[1] - '1'] = r->row.stream;
	return 0;
}

Test(history, stream_timing_round_trip_and_values)
{
	struct history *h = history_open(th_path("h.db"));
	struct result_row r;
	struct stream_stats got[3];
	struct value_set vs;
	struct usage u;

	cr_assert_not_null(h);
	begin_run(h, "s", "2026-01-01T00:00:00Z", "bot");
	r = mkrow("a", "c1", 0, RESULT_PASS, NULL);
	r.stream = (struct stream_stats){ 1, 210.5, 20.25, 20, 31, 14.5 };
	cr_assert_eq(history_add_result(h, "s", &r), 0);
	r = mkrow("a", "c2", 0, RESULT_PASS, NULL);
	stream_stats_unknown(&r.stream);
	r.stream.ttft_ms = 190;
	cr_assert_eq(history_add_result(h, "s", &r), 0);
	r = mkrow("a", "c3", 0, RESULT_PASS, NULL);
	cr_assert_eq(history_add_result(h, "s", &r), 0);

	memset(got, 0xff, sizeof(got));
	cr_assert_eq(history_results(h, "s", "a", stream_of, got), 0);
	cr_assert_eq(got[0].streamed, 1);
	cr_assert_float_eq(got[0].ttft_ms, 210.5, 1e-9);
	cr_assert_float_eq(got[0].itl_ms, 20.25, 1e-9);
	cr_assert_float_eq(got[0].itl_p50_ms, 20, 1e-9);
	cr_assert_float_eq(got[0].itl_p95_ms, 31, 1e-9);
	cr_assert_float_eq(got[0].tokens_per_s, 14.5, 1e-9);
	cr_assert_eq(got[1].streamed, 1);
	cr_assert(isnan(got[1].itl_ms));
	cr_assert_eq(got[2].streamed, 0);
	cr_assert(isnan(got[2].ttft_ms));

	cr_assert_eq(history_values(h, "s", NULL, NULL, VALUES_TTFT_MS, NULL, &vs), 0);
	cr_assert_eq(vs.n, 2);
	cr_assert_eq(vs.n_unknown, 1);
	cr_assert_float_eq(vs.v[0], 210.5, 1e-9);
	cr_assert_float_eq(vs.v[1], 190, 1e-9);
	value_set_release(&vs);
	cr_assert_eq(history_values(h, "s", NULL, NULL, VALUES_ITL_MS, NULL, &vs), 0);
	cr_assert_eq(vs.n, 1);
	cr_assert_eq(vs.n_unknown, 2);
	value_set_release(&vs);

	cr_assert_eq(history_usage(h, "s", NULL, &u), 0);
	cr_assert_float_eq(u.ttft_p50, 200.25, 1e-9);
	cr_assert_float_eq(u.itl_p95, 20.25, 1e-9);
	history_close(h);
}

Test(history, calibrations_newest_per_judge_key)
{
	struct history *h = history_open(th_path("cal.db"));
	struct calibration c, got;
	char k1[65], k2[65];

	cr_assert_not_null(h);
	memset(k1, 'a', 64);
	k1[64] = 0;
	memset(k2, 'b', 64);
	k2[64] = 0;
	cr_assert_eq(history_calibration_newest(h, k1, &got), 1, "none stored yet");

	memset(&c, 0, sizeof(c));
	memcpy(c.judge_key, k1, 65);
	c.scorer = "judge";
	c.kappa = 0.4;
	c.lo = 0.1;
	c.hi = 0.7;
	c.n = 20;
	snprintf(c.run_id, sizeof(c.run_id), "r1");
	cr_assert_eq(history_add_calibration(h, &c), 0);
	c.kappa = 0.75;
	c.lo = NAN;
	c.n = 30;
	snprintf(c.run_id, sizeof(c.run_id), "r2");
	cr_assert_eq(history_add_calibration(h, &c), 0);

	cr_assert_eq(history_calibration_newest(h, k1, &got), 0);
	cr_assert_float_eq(got.kappa, 0.75, 1e-12, "the newest row wins");
	cr_assert(isnan(got.lo), "an undefined bound stays undefined");
	cr_assert_float_eq(got.hi, 0.7, 1e-12);
	cr_assert_eq(got.n, 30);
	cr_assert_str_eq(got.run_id, "r2");
	cr_assert_str_eq(got.judge_key, k1);
	cr_assert_gt(strlen(got.created_at), 0);
	cr_assert_eq(history_calibration_newest(h, k2, &got), 1, "another key was never calibrated");
	history_close(h);
}

/* the schema rows of path in a fixed order, one line each */
static void schema_of(const char *path, struct strbuf *out)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, coalesce(sql, '-') "
					"FROM sqlite_master ORDER BY type, name", -1, &st, NULL),
		     SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		strbuf_addf(out, "%s|%s|%s|%s\n", (const char *)sqlite3_column_text(st, 0),
			    (const char *)sqlite3_column_text(st, 1),
			    (const char *)sqlite3_column_text(st, 2),
			    (const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* a new history has 16 KiB pages (fewer WAL frames a run); an existing one keeps its own */
Test(history, new_history_has_large_pages)
{
	const char *a = th_path("new.db"), *b = th_path("old.db");
	struct history *h;
	sqlite3 *db;
	char mode[16];

	h = history_open(a);
	cr_assert_not_null(h);
	history_close(h);
	cr_assert_eq(pragma_int(a, "page_size", NULL, 0), 16384);
	pragma_int(a, "journal_mode", mode, sizeof(mode));
	cr_assert_str_eq(mode, "wal");
	cr_assert_eq(sqlite3_open(b, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA page_size=4096; CREATE TABLE t (x)", NULL, NULL,
				  NULL), SQLITE_OK);
	sqlite3_close(db);
	h = history_open(b);
	cr_assert_not_null(h);
	history_close(h);
	cr_assert_eq(pragma_int(b, "page_size", NULL, 0), 4096);
}

Test(history, new_history_schema_equals_migrated_one)
{
	struct strbuf fresh = STRBUF_INIT, stepwise = STRBUF_INIT;
	const char *a = th_path("fresh.db"), *b = th_path("stepwise.db");
	struct history *h;

	h = history_open(a);
	cr_assert_not_null(h);
	history_close(h);
	h = history_open_stepwise(b);
	cr_assert_not_null(h);
	history_close(h);
	schema_of(a, &fresh);
	schema_of(b, &stepwise);
	cr_assert_gt(fresh.len, 0);
	cr_assert_str_eq(fresh.buf, stepwise.buf);
	cr_assert_gt(pragma_int(b, "user_version", NULL, 0), 0);
	cr_assert_eq(pragma_int(a, "user_version", NULL, 0), pragma_int(b, "user_version", NULL, 0));
	/* the ready-made file a new history is written from is that schema too */
	{
		struct strbuf image = STRBUF_INIT;
		const char *c = th_path("image.db");

		cr_assert_eq(sqldb_create(c, history_image, history_image_size), 0);
		schema_of(c, &image);
		cr_assert_str_eq(image.buf, stepwise.buf);
		cr_assert_eq(pragma_int(c, "user_version", NULL, 0),
			     pragma_int(b, "user_version", NULL, 0));
		strbuf_release(&image);
	}
	/* a file made by either is already up to date for the other */
	h = history_open_stepwise(a);
	cr_assert_not_null(h);
	history_close(h);
	h = history_open_ro(b);
	cr_assert_not_null(h);
	history_close(h);
	strbuf_release(&fresh);
	strbuf_release(&stepwise);
}

Test(history, a_new_file_is_made_whole_and_never_replaced)
{
	struct strbuf left = STRBUF_INIT;
	const char *path = th_path("made.db");
	char *got;

	cr_assert_eq(sqldb_create(path, "first", 5), 0);
	got = th_slurp(path, NULL);
	cr_assert_str_eq(got, "first");
	free(got);
	/* the name it was written under is gone */
	strbuf_addf(&left, "%s.new-%ld", path, (long)getpid());
	cr_assert_neq(access(left.buf, F_OK), 0);
	/* an existing file is kept as it is */
	cr_assert_eq(sqldb_create(path, "second", 6), 1);
	got = th_slurp(path, NULL);
	cr_assert_str_eq(got, "first");
	free(got);
	/* no directory: not made this way (SQLite's open reports why) */
	cr_assert_eq(sqldb_create(th_path("no/such/dir.db"), "x", 1), -1);
	cr_assert_neq(access(th_path("no/such/dir.db"), F_OK), 0);
	strbuf_release(&left);
}

Test(history, a_new_history_opens_from_the_ready_made_file)
{
	const char *path = th_path("sub/dir/h.db");
	struct history *h = history_open(path);

	cr_assert_not_null(h);
	cr_assert_eq(pragma_int(path, "user_version", NULL, 0), FRESH_VERSION);
	history_close(h);
	/* what is left is a database SQLite reads whole */
	{
		char text[64];

		pragma_int(path, "integrity_check", text, sizeof(text));
		cr_assert_str_eq(text, "ok");
	}
}

/* a result of the tally's history: 'p' pass, 'f' fail, 'e' call error, 's' scorer error */
static void add_tally_case(struct history *h, const char *id, const char *suite,
			   const char *case_id, const char *statuses)
{
	struct result_row r;
	int i;

	for (i = 0; statuses[i]; i++) {
		char c = statuses[i];

		r = mkrow(suite, case_id, i, c == 'p' ? RESULT_PASS : c == 'f' ? RESULT_FAIL
					       : RESULT_ERROR, NULL);
		r.error = c == 'e' ? "timeout" : NULL;
		/* a latency not known is stored as NULL and counts 0 */
		r.latency_ms = i == 1 ? NAN : 10.0 * (i + 1) + (double)strlen(case_id);
		cr_assert_eq(history_add_result(h, id, &r), 0);
	}
}

/* the four numbers of got against want's (the stored n_* of a run have no latency) */
static void expect_statuses(const struct counts *got, const struct counts *want, const char *what)
{
	cr_expect_eq(got->n, want->n, "%s: n %ld, counted %ld", what, got->n, want->n);
	cr_expect_eq(got->pass, want->pass, "%s: pass %ld, counted %ld", what, got->pass,
		     want->pass);
	cr_expect_eq(got->fail, want->fail, "%s: fail %ld, counted %ld", what, got->fail,
		     want->fail);
	cr_expect_eq(got->error, want->error, "%s: error %ld, counted %ld", what, got->error,
		     want->error);
}

static void expect_counts(const struct counts *got, const struct counts *want, const char *what)
{
	expect_statuses(got, want, what);
	cr_expect(fabs(got->latency_ms - want->latency_ms) < 1e-9, "%s: latency %g, counted %g",
		  what, got->latency_ms, want->latency_ms);
}

/* the stored n_* of run id */
static void stored_counts(struct history *h, const char *id, struct counts *c)
{
	struct run_info ri;

	cr_assert_eq(history_run_resolve(h, id, &ri, NULL), 0);
	memset(c, 0, sizeof(*c));
	c->n = ri.n_cases;
	c->pass = ri.n_pass;
	c->fail = ri.n_fail;
	c->error = ri.n_error;
	run_info_release(&ri);
}

/* the one-pass tally against the counts each query makes, under one repeat policy */
/* a new history (file) with run "run" (and "other" first when other) of repeats under policy */
static struct history *policy_runs(const char *file, int repeats, const char *policy, int other)
{
	struct history *h = history_open(th_path(file));
	struct run_info ri;

	cr_assert_not_null(h);
	memset(&ri, 0, sizeof(ri));
	ri.status = RUN_RUNNING;
	ri.repeats = repeats;
	ri.repeat_policy = (char *)policy;
	if (other) {
		ri.id = (char *)"other";
		cr_assert_eq(history_run_begin(h, &ri), 0);
	}
	ri.id = (char *)"run";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	return h;
}

static void check_tally(const char *policy)
{
	static const char *const suites[] = { "alpha", "beta", "gamma" };
	static const char *const repeats[] = { "ppp", "ppf", "pfe", "pse", "eee", "sss", "fff",
					       "pee", "psp", "ffs", "p", "e", "s", "f" };
	struct history *h;
	struct run_tally t;
	struct counts c, stored;
	char name[64], case_id[32], what[64];
	long n, k;
	size_t i, j;

	snprintf(name, sizeof(name), "tally-%s.db", policy);
	h = policy_runs(name, 3, policy, 1);
	/* another run's results are never counted */
	add_tally_case(h, "other", "alpha", "c00", "fff");
	/* every mix of statuses in each suite, a suite's cases interleaved with another's */
	cr_assert_eq(history_batch_begin(h), 0);
	for (j = 0; j < sizeof(repeats) / sizeof(repeats[0]); j++)
		for (i = 0; i < 2; i++) {
			snprintf(case_id, sizeof(case_id), "c%02zu-%zu", j, i);
			add_tally_case(h, "run", suites[(i + j) % 2], case_id, repeats[j]);
		}
	cr_assert_eq(history_batch_commit(h), 0);

	cr_assert_eq(history_run_tally(h, "run", &t), 0);
	cr_assert_eq(t.n_suites, 2, "the suites with results: alpha and beta");
	cr_assert_str_eq(t.suites[0].name, "alpha");
	cr_assert_str_eq(t.suites[1].name, "beta");
	cr_assert_eq(history_result_counts(h, "run", NULL, &c), 0);
	expect_counts(&t.results, &c, "results");
	cr_assert_eq(history_scorer_error_counts(h, "run", NULL, NULL, &n, &k), 0);
	cr_expect_eq(t.results.n, n);
	cr_expect_eq(t.scorer_errors, k, "%s: scorer errors %ld, counted %ld", policy,
		     t.scorer_errors, k);
	cr_assert_eq(history_counts(h, "run", NULL, NULL, &c), 0);
	expect_counts(&t.cases, &c, "cases");
	for (i = 0; i < 3; i++) {
		const struct tally_suite *ts = run_tally_suite(&t, suites[i]);

		cr_assert_eq(history_result_counts(h, "run", suites[i], &c), 0);
		expect_counts(&ts->results, &c, suites[i]);
		cr_assert_eq(history_scorer_error_counts(h, "run", suites[i], NULL, &n, &k), 0);
		cr_expect_eq(ts->results.n, n);
		cr_expect_eq(ts->scorer_errors, k, "%s: %s: scorer errors %ld, counted %ld",
			     policy, suites[i], ts->scorer_errors, k);
		cr_assert_eq(history_counts(h, "run", suites[i], NULL, &c), 0);
		expect_counts(&ts->cases, &c, suites[i]);
	}
	cr_expect_eq(run_tally_suite(&t, "gamma")->cases.n, 0, "no results: all zero");
	/* the policy decides: some cases of each kind, so a wrong count shows */
	cr_expect_gt(t.cases.pass, 0);
	cr_expect_gt(t.cases.fail, 0);
	cr_expect_gt(t.cases.error, 0);
	cr_expect_gt(t.scorer_errors, 0);
	cr_expect_lt(t.scorer_errors, t.results.error);

	/* the counts stored at the finish are the tally's, and so the view's */
	cr_assert_eq(history_run_finish(h, "run", RUN_FINISHED, "pass"), 0);
	stored_counts(h, "run", &stored);
	cr_assert_eq(history_counts(h, "run", NULL, NULL, &c), 0);
	snprintf(what, sizeof(what), "%s: stored at the finish", policy);
	expect_statuses(&stored, &c, what);
	cr_assert_eq(history_run_finish_tallied(h, "run", RUN_FINISHED, "pass", &t.cases), 0);
	stored_counts(h, "run", &c);
	snprintf(what, sizeof(what), "%s: stored from the tally", policy);
	expect_statuses(&c, &stored, what);
	run_tally_release(&t);

	/* a run not stored counts nothing; finishing it is an error */
	cr_assert_eq(history_run_tally(h, "nope", &t), 0);
	cr_expect_eq(t.results.n + t.cases.n + (long)t.n_suites, 0);
	th_stderr_start();
	cr_expect_eq(history_run_finish_tallied(h, "nope", RUN_FINISHED, NULL, &t.cases), -1);
	cr_expect(strstr(th_stderr_take(), "no run nope") != NULL);
	run_tally_release(&t);
	history_close(h);
}

Test(history, tally_counts_as_the_queries_do)
{
	check_tally("all");
	check_tally("majority");
	check_tally("min_pass:2");
	check_tally("min_pass:1");
}

/*
 * Close h, the last connection: the WAL (wal, in the test's directory) is
 * folded into the file and removed, and run r of the file read again has
 * n cases (c).
 */
static void close_and_count(struct history *h, const char *path, const char *wal, long n,
			    struct counts *c)
{
	history_close(h);
	cr_assert_neq(access(th_path(wal), F_OK), 0);
	h = history_open_ro(path);
	cr_assert_not_null(h);
	cr_assert_eq(history_counts(h, "r", NULL, NULL, c), 0);
	cr_assert_eq(c->n, n);
	history_close(h);
}

Test(history, checkpoint_off_the_path_keeps_every_row)
{
	static char answer[4096];
	const char *path = th_path("ckpt.db");
	struct history *h;
	struct result_row r;
	struct counts c;
	char id[16];
	int i;

	/* 2 MB of answers: past the WAL a checkpoint is started for */
	memset(answer, 'a', sizeof(answer));
	h = history_open(path);
	cr_assert_not_null(h);
	begin_run(h, "r", NULL, "t");
	cr_assert_eq(history_batch_begin(h), 0);
	for (i = 0; i < 500; i++) {
		snprintf(id, sizeof(id), "c%03d", i);
		r = mkrow("s", id, 0, i % 3 ? RESULT_PASS : RESULT_FAIL, NULL);
		r.output = answer;
		r.output_len = sizeof(answer);
		cr_assert_eq(history_add_result(h, "r", &r), 0);
	}
	cr_assert_eq(history_batch_commit(h), 0);
	/* the checkpoint runs while this connection reads and writes */
	history_checkpoint_start(h);
	cr_assert_eq(history_counts(h, "r", NULL, NULL, &c), 0);
	cr_assert_eq(c.n, 500);
	cr_assert_eq(history_run_finish(h, "r", RUN_FINISHED, "pass"), 0);
	/* a second start waits for the first */
	history_checkpoint_start(h);
	close_and_count(h, path, "ckpt.db-wal", 500, &c);
	cr_assert_eq(c.fail, 167);
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : sb.st_size;
}

/* the WAL past SQLDB_WAL_BYTES is checkpointed on a thread, not by the commit that grew it */
Test(history, a_grown_wal_is_checkpointed_off_the_writer)
{
	const char *path = th_path("grown.db");
	static char big[8192];
	struct history *h;
	struct result_row r;
	struct counts c;
	off_t fresh;
	char id[16];
	int i, tries;

	memset(big, 'x', sizeof(big));
	h = history_open(path);
	cr_assert_not_null(h);
	begin_run(h, "r", NULL, "t");
	fresh = file_size(path);
	/* 6 MB of answers in batches: past the threshold, short of SQLite's own 1000 pages */
	for (i = 0; i < 750; i++) {
		if (i % 50 == 0)
			cr_assert_eq(history_batch_begin(h), 0);
		snprintf(id, sizeof(id), "c%03d", i);
		r = mkrow("s", id, 0, RESULT_PASS, NULL);
		r.output = big;
		r.output_len = sizeof(big);
		cr_assert_eq(history_add_result(h, "r", &r), 0);
		if (i % 50 == 49)
			cr_assert_eq(history_batch_commit(h), 0);
	}
	/*
	 * The pages reach the file while this connection stays open and
	 * writes nothing: SQLite's own checkpoint would wait for 16 MB of WAL
	 * (1000 of the history's pages), and runs only in a commit.
	 */
	for (tries = 0; tries < 500 && file_size(path) < fresh + (2L << 20); tries++)
		usleep(10000);
	cr_expect_geq(file_size(path), fresh + (2L << 20), "the file grew from %ld to %ld bytes",
		      (long)fresh, (long)file_size(path));
	close_and_count(h, path, "grown.db-wal", 750, &c);
}

/*
 * A WAL checkpointed on the thread while the writer goes on committing is
 * used again (sqldb.c's wal_grown): it keeps neither every commit nor more
 * than four times SQLDB_WAL_BYTES and a commit, however slow the thread.
 */
Test(history, the_wal_is_used_again_while_the_writer_goes_on)
{
	static const char *const schema[] = { "CREATE TABLE t (x BLOB)" };
	const char *path = th_path("reused.db");
	static char big[8192];
	struct sqldb d;
	sqlite3_stmt *ins = NULL;
	off_t wal, most = 0;
	int i, k;

	memset(big, 'y', sizeof(big));
	cr_assert_eq(sqldb_open(&d, "test", path, schema, 1), 0);
	cr_assert_eq(sqldb_prepare(&d, "INSERT INTO t VALUES (?1)", &ins), 0);
	/* 64 MB in commits of 400 KB */
	for (i = 0; i < 160; i++) {
		cr_assert_eq(sqldb_exec(&d, "BEGIN IMMEDIATE"), 0);
		for (k = 0; k < 50; k++) {
			sqlite3_bind_blob(ins, 1, big, sizeof(big), SQLITE_STATIC);
			cr_assert_eq(sqlite3_step(ins), SQLITE_DONE);
			sqlite3_reset(ins);
		}
		cr_assert_eq(sqldb_exec(&d, "COMMIT"), 0);
		wal = file_size(th_path("reused.db-wal"));
		if (wal > most)
			most = wal;
	}
	cr_expect_leq(most, 4 * SQLDB_WAL_BYTES + (2L << 20), "the WAL reached %ld bytes",
		      (long)most);
	sqlite3_finalize(ins);
	sqldb_close(&d);
}

static void expect_same_tally(const struct run_tally *got, const struct run_tally *want,
			      const char *policy)
{
	size_t i;

	expect_counts(&got->results, &want->results, policy);
	expect_counts(&got->cases, &want->cases, policy);
	cr_expect_eq(got->scorer_errors, want->scorer_errors, "%s: scorer errors %ld, counted %ld",
		     policy, got->scorer_errors, want->scorer_errors);
	cr_assert_eq(got->n_suites, want->n_suites, "%s: %zu suites, counted %zu", policy,
		     got->n_suites, want->n_suites);
	for (i = 0; i < got->n_suites; i++) {
		cr_assert_str_eq(got->suites[i].name, want->suites[i].name);
		expect_counts(&got->suites[i].results, &want->suites[i].results, got->suites[i].name);
		expect_counts(&got->suites[i].cases, &want->suites[i].cases, got->suites[i].name);
		cr_expect_eq(got->suites[i].scorer_errors, want->suites[i].scorer_errors);
	}
}

/* a run of one repeat counted as its results are written: the tally the history gives */
Test(history, a_tally_kept_while_writing_is_the_stored_one)
{
	static const char *const policies[] = { "all", "majority", "min_pass:1" };
	static const char *const suites[] = { "gamma", "alpha", "beta" };
	static const char statuses[] = "pfesppfesfe";
	struct history *h;
	struct run_tally kept, t;
	struct result_row r;
	char name[64], case_id[32];
	size_t p, i;

	for (p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
		snprintf(name, sizeof(name), "kept-%zu.db", p);
		h = policy_runs(name, 1, policies[p], 0);
		memset(&kept, 0, sizeof(kept));
		/* written in the order answers come, the suites interleaved */
		cr_assert_eq(history_batch_begin(h), 0);
		for (i = 0; i < 40; i++) {
			char c = statuses[i % (sizeof(statuses) - 1)];

			snprintf(case_id, sizeof(case_id), "c%02zu", 39 - i);
			r = mkrow(suites[i % 3], case_id, 0, c == 'p' ? RESULT_PASS
				  : c == 'f' ? RESULT_FAIL : RESULT_ERROR, NULL);
			r.error = c == 'e' ? "timeout" : NULL;
			r.latency_ms = i % 7 == 3 ? NAN : 12.5 * (double)i;
			cr_assert_eq(history_add_result(h, "run", &r), 0);
			run_tally_add_case(&kept, policies[p], r.suite, r.status, r.error != NULL,
					   r.latency_ms);
		}
		cr_assert_eq(history_batch_commit(h), 0);
		cr_assert_eq(history_run_tally(h, "run", &t), 0);
		cr_expect_gt(t.scorer_errors, 0);
		cr_expect_gt(t.cases.error, t.scorer_errors);
		expect_same_tally(&kept, &t, policies[p]);
		run_tally_release(&kept);
		run_tally_release(&t);
		history_close(h);
	}
}
