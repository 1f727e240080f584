/* compare: baseline references, pairing by (suite, case_id) and hash, the regression gate */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include "baseline.h"
#include "compare.h"
#include "config.h"
#include "gate.h"
#include "helper.h"
#include "regression.h"
#include "history.h"
#include "stats.h"
#include "banned.h"

TestSuite(compare, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);

static struct history *open_history(void)
{
	struct history *h = history_open(th_path("history.db"));

	cr_assert_not_null(h);
	return h;
}

/* a run of target; finished (status given) unless st is RUN_RUNNING */
static void begin(struct history *h, const char *id, const char *started, const char *target,
		  const char *git_ref, enum run_status st, const char *policy)
{
	struct run_info ri;

	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)id;
	ri.started_at = (char *)started;
	ri.status = RUN_RUNNING;
	ri.target = (char *)target;
	ri.version = (char *)"v1";
	ri.model = (char *)"m";
	ri.git_ref = (char *)git_ref;
	ri.evalgate_version = (char *)"0.1.0";
	ri.repeat_policy = (char *)policy;
	cr_assert_eq(history_run_begin(h, &ri), 0);
	if (st != RUN_RUNNING)
		cr_assert_eq(history_run_finish(h, id, st, "pass"), 0);
}

static void add_rep(struct history *h, const char *run, const char *suite, const char *case_id,
		    const char *hash, enum result_status st, int repeat, const char *tags)
{
	struct result_row r;
	struct score_row sc;
	char reason[64];

	memset(&r, 0, sizeof(r));
	memset(&sc, 0, sizeof(sc));
	snprintf(reason, sizeof(reason), "%s of %s", result_status_name(st), case_id);
	sc.scorer = "contains";
	sc.type = "contains";
	sc.score = st == RESULT_PASS ? 1 : 0;
	sc.pass = st == RESULT_PASS;
	sc.reason = reason;
	r.suite = suite;
	r.case_id = case_id;
	r.case_hash = hash;
	r.repeat = repeat;
	r.status = st;
	r.output = st == RESULT_ERROR ? NULL : (st == RESULT_PASS ? "good answer" : "bad\nanswer");
	r.output_len = r.output ? strlen(r.output) : 0;
	r.latency_ms = 10 + repeat;
	r.prompt_tokens = 3;
	r.completion_tokens = 2;
	r.error = st == RESULT_ERROR ? "gateway: 503" : NULL;
	r.attempts = 1;
	r.tags = tags;
	r.cost_usd = NAN;
	r.scores = st == RESULT_ERROR ? NULL : &sc;
	r.n_scores = st == RESULT_ERROR ? 0 : 1;
	cr_assert_eq(history_add_result(h, run, &r), 0);
}

static void add(struct history *h, const char *run, const char *suite, const char *case_id,
		const char *hash, enum result_status st)
{
	add_rep(h, run, suite, case_id, hash, st, 0, NULL);
}

/* --- pairing --- */

struct seen {
	char text[4096];
};

static int record(const struct compare_case *c, void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s/%s:%s", len ? " " : "", c->suite,
		 c->case_id, compare_kind_name(c->kind));
	return 0;
}

/*
 * base:  s1/a pass, s1/b pass, s1/c fail, s1/d fail, s1/e pass (hash h1), s1/f pass,
 *        s1/h pass, s2/x pass
 * cand:  s1/a pass, s1/b fail, s1/c pass, s1/d fail, s1/e fail (hash h2), s1/g fail,
 *        s1/h error, s2/x fail
 */
static void two_runs(struct history *h)
{
	begin(h, "base", "2026-01-01T00:00:00Z", "bot", "main", RUN_RUNNING, NULL);
	add(h, "base", "s1", "a", "h", RESULT_PASS);
	add(h, "base", "s1", "b", "h", RESULT_PASS);
	add(h, "base", "s1", "c", "h", RESULT_FAIL);
	add(h, "base", "s1", "d", "h", RESULT_FAIL);
	add(h, "base", "s1", "e", "h1", RESULT_PASS);
	add(h, "base", "s1", "f", "h", RESULT_PASS);
	add(h, "base", "s1", "h", "h", RESULT_PASS);
	add(h, "base", "s2", "x", "h", RESULT_PASS);
	cr_assert_eq(history_run_finish(h, "base", RUN_FINISHED, "pass"), 0);
	begin(h, "cand", "2026-01-02T00:00:00Z", "bot", "feature", RUN_RUNNING, NULL);
	/* stored in another order than the key order: the walk sorts */
	add(h, "cand", "s2", "x", "h", RESULT_FAIL);
	add(h, "cand", "s1", "h", "h", RESULT_ERROR);
	add(h, "cand", "s1", "g", "h", RESULT_FAIL);
	add(h, "cand", "s1", "e", "h2", RESULT_FAIL);
	add(h, "cand", "s1", "d", "h", RESULT_FAIL);
	add(h, "cand", "s1", "c", "h", RESULT_PASS);
	add(h, "cand", "s1", "b", "h", RESULT_FAIL);
	add(h, "cand", "s1", "a", "h", RESULT_PASS);
}

/* the cases of run (tag may be NULL) as the iterator gives them, one line each */
static void iter_lines(struct history *h, const char *run, const char *tag, struct strbuf *out)
{
	struct case_iter *it = history_cases_open(h, run, NULL, tag);
	struct case_row r;

	cr_assert_not_null(it);
	while (history_cases_next(it, &r) > 0)
		strbuf_addf(out, "%s|%s|%s|%s|%s|%d|%ld|%.3f\n", r.suite, r.case_id,
			    r.case_hash ? r.case_hash : "NULL", r.tags ? r.tags : "NULL",
			    result_status_name(r.status), r.flaky, r.n, r.latency_ms);
	history_cases_close(it);
	/* and the counts made from them */
	{
		struct counts c;

		cr_assert_eq(history_counts(h, run, NULL, tag, &c), 0);
		strbuf_addf(out, "%ld %ld %ld %ld %.3f\n", c.n, c.pass, c.fail, c.error, c.latency_ms);
	}
}

/* the same lines from the view "cases" */
static void view_lines(const char *run, const char *tag, struct strbuf *out)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	cr_assert_eq(sqlite3_open(th_path("history.db"), &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT suite, case_id, coalesce(case_hash, 'NULL'), "
					"coalesce(tags, 'NULL'), status, flaky, n, latency_ms FROM cases "
					"WHERE run_id = ?1 AND (?2 IS NULL OR instr(',' || tags "
					"|| ',', ',' || ?2 || ',') > 0) ORDER BY suite, case_id",
					-1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
	if (tag)
		sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		strbuf_addf(out, "%s|%s|%s|%s|%s|%d|%lld|%.3f\n", sqlite3_column_text(st, 0),
			    sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			    sqlite3_column_text(st, 3), sqlite3_column_text(st, 4),
			    sqlite3_column_int(st, 5), sqlite3_column_int64(st, 6),
			    sqlite3_column_double(st, 7));
	sqlite3_finalize(st);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*), total(status = 'pass'), "
					"total(status = 'fail'), total(status = 'error'), "
					"total(latency_ms) FROM cases WHERE run_id = ?1 AND (?2 IS NULL "
					"OR instr(',' || tags || ',', ',' || ?2 || ',') > 0)",
					-1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
	if (tag)
		sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	strbuf_addf(out, "%lld %.0f %.0f %.0f %.3f\n", sqlite3_column_int64(st, 0),
		    sqlite3_column_double(st, 1), sqlite3_column_double(st, 2),
		    sqlite3_column_double(st, 3), sqlite3_column_double(st, 4));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* the iterator makes each case's verdict itself: the same as the view's, policy by policy */
Test(compare, case_iterator_agrees_with_the_view)
{
	static const char *const policies[] = { NULL, "majority", "min_pass:2" };
	static const char *const tags[] = { NULL, "billing", "x", "" };
	static const enum result_status pattern[][3] = {
		{ RESULT_PASS, RESULT_PASS, RESULT_PASS }, { RESULT_PASS, RESULT_FAIL, RESULT_PASS },
		{ RESULT_FAIL, RESULT_FAIL, RESULT_PASS }, { RESULT_ERROR, RESULT_ERROR, RESULT_ERROR },
		{ RESULT_PASS, RESULT_ERROR, RESULT_ERROR }, { RESULT_FAIL, RESULT_ERROR, RESULT_PASS },
	};
	struct history *h = open_history();
	size_t p, c, k, t;

	for (p = 0; p < 3; p++) {
		char run[16];

		snprintf(run, sizeof(run), "r%zu", p);
		begin(h, run, "2026-01-01T00:00:00Z", "bot", NULL, RUN_RUNNING, policies[p]);
		for (c = 0; c < 6; c++) {
			char id[16];

			snprintf(id, sizeof(id), "c%zu", 5 - c);
			for (k = 0; k <= c % 3; k++)
				add_rep(h, run, c % 2 ? "s2" : "s1", id, c == 4 && k == 0 ? NULL : "h",
					pattern[c][k], (int)k,
					k == 1 ? "billing,x" : c == 2 ? "z" : "billing");
		}
		cr_assert_eq(history_run_finish(h, run, RUN_FINISHED, "pass"), 0);
		for (t = 0; t < 4; t++) {
			struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;

			iter_lines(h, run, tags[t], &a);
			view_lines(run, tags[t], &b);
			cr_assert_str_eq(a.buf, b.buf, "policy %s, tag %s", policies[p] ? policies[p] : "all",
					 tags[t] ? tags[t] : "none");
			cr_assert(t == 3 || strchr(a.buf, '|'), "no cases");
			strbuf_release(&a);
			strbuf_release(&b);
		}
	}
	/* no such run: no cases */
	{
		struct strbuf a = STRBUF_INIT;

		iter_lines(h, "nope", NULL, &a);
		cr_assert_str_eq(a.buf, "0 0 0 0 0.000\n");
		strbuf_release(&a);
	}
	history_close(h);
}

Test(compare, pairs_flips_and_unpaired)
{
	struct history *h = open_history();
	struct compare_result res;
	struct compare_opts o;
	struct seen seen = { "" };
	double d, lo, hi;

	two_runs(h);
	memset(&o, 0, sizeof(o));
	o.on_case = record;
	o.arg = &seen;
	cr_assert_eq(compare_runs(h, "base", "cand", &o, &res), 0);
	cr_assert_str_eq(seen.text, "s1/b:new_failure s1/c:fixed s1/e:changed s1/f:only_in_baseline "
				    "s1/g:only_in_candidate s2/x:new_failure");
	cr_assert_eq(res.all.pairs, 5);           /* a, b, c, d, x */
	cr_assert_eq(res.all.new_failures, 2);    /* b, x */
	cr_assert_eq(res.all.fixed, 1);           /* c */
	cr_assert_eq(res.all.both_pass, 1);
	cr_assert_eq(res.all.both_fail, 1);
	cr_assert_eq(res.all.changed, 1);         /* e: hash h1 -> h2, not a flip */
	cr_assert_eq(res.all.only_in_baseline, 1);
	cr_assert_eq(res.all.only_in_candidate, 1);
	cr_assert_eq(res.all.errors, 1);          /* h: errored in the candidate */
	cr_assert_eq(res.all.base.n, 8);
	cr_assert_eq(res.all.cand.n, 8);
	cr_assert_eq(res.all.cand.error, 1);
	cr_assert_float_eq(res.all.p_value, mcnemar_exact_p(2, 1), 1e-12);
	paired_diff95(2, 1, 5, &d, &lo, &hi);
	cr_assert_float_eq(res.all.diff, -0.2, 1e-12);
	cr_assert_float_eq(res.all.diff_lo, lo, 1e-12);
	cr_assert_float_eq(res.all.diff_hi, hi, 1e-12);

	cr_assert_eq(res.n_suites, 2);
	cr_assert_str_eq(res.suites[0].name, "s1");
	cr_assert_eq(res.suites[0].c.pairs, 4);
	cr_assert_eq(res.suites[0].c.new_failures, 1);
	cr_assert_eq(res.suites[0].c.fixed, 1);
	cr_assert_eq(res.suites[0].c.changed, 1);
	cr_assert_float_eq(res.suites[0].c.p_value, 1.0, 1e-12);
	cr_assert_str_eq(res.suites[1].name, "s2");
	cr_assert_eq(res.suites[1].c.pairs, 1);
	cr_assert_eq(res.suites[1].c.new_failures, 1);
	cr_assert_eq(res.suites[1].c.only_in_baseline, 0);
	compare_result_release(&res);

	/* scope: one suite */
	seen.text[0] = '\0';
	o.suite = "s2";
	cr_assert_eq(compare_runs(h, "base", "cand", &o, &res), 0);
	cr_assert_str_eq(seen.text, "s2/x:new_failure");
	cr_assert_eq(res.all.pairs, 1);
	cr_assert_eq(res.n_suites, 1);
	compare_result_release(&res);
	history_close(h);
}

Test(compare, one_empty_run_is_all_unpaired)
{
	struct history *h = open_history();
	struct compare_result res;
	struct compare_opts o;

	two_runs(h);
	begin(h, "empty", "2026-01-03T00:00:00Z", "bot", NULL, RUN_FINISHED, NULL);
	memset(&o, 0, sizeof(o));
	cr_assert_eq(compare_runs(h, "base", "empty", &o, &res), 0);
	cr_assert_eq(res.all.pairs, 0);
	cr_assert_eq(res.all.only_in_baseline, 8);
	cr_assert(isnan(res.all.diff));
	cr_assert_float_eq(res.all.p_value, 1.0, 1e-12);
	compare_result_release(&res);
	cr_assert_eq(compare_runs(h, "empty", "empty", &o, &res), 0);
	cr_assert_eq(res.n_suites, 0);
	compare_result_release(&res);
	history_close(h);
}

Test(compare, flaky_cases_are_excluded_on_request)
{
	struct history *h = open_history();
	struct compare_result res;
	struct compare_opts o;
	struct seen seen = { "" };

	/* a case that passed and failed across repeats is flaky; under "all" it fails */
	begin(h, "b", "2026-01-01T00:00:00Z", "bot", NULL, RUN_RUNNING, "all");
	add_rep(h, "b", "s", "k1", "h", RESULT_PASS, 0, NULL);
	add_rep(h, "b", "s", "k1", "h", RESULT_PASS, 1, NULL);
	add_rep(h, "b", "s", "k2", "h", RESULT_PASS, 0, NULL);
	add_rep(h, "b", "s", "k2", "h", RESULT_PASS, 1, NULL);
	add_rep(h, "b", "s", "k3", "h", RESULT_FAIL, 0, NULL);
	add_rep(h, "b", "s", "k3", "h", RESULT_PASS, 1, NULL);
	cr_assert_eq(history_run_finish(h, "b", RUN_FINISHED, NULL), 0);
	begin(h, "c", "2026-01-02T00:00:00Z", "bot", NULL, RUN_RUNNING, "all");
	add_rep(h, "c", "s", "k1", "h", RESULT_PASS, 0, NULL);
	add_rep(h, "c", "s", "k1", "h", RESULT_FAIL, 1, NULL);   /* flaky: fail */
	add_rep(h, "c", "s", "k2", "h", RESULT_FAIL, 0, NULL);
	add_rep(h, "c", "s", "k2", "h", RESULT_FAIL, 1, NULL);   /* a real failure */
	add_rep(h, "c", "s", "k3", "h", RESULT_FAIL, 0, NULL);
	add_rep(h, "c", "s", "k3", "h", RESULT_FAIL, 1, NULL);   /* flaky in the base */

	memset(&o, 0, sizeof(o));
	o.on_case = record;
	o.arg = &seen;
	cr_assert_eq(compare_runs(h, "b", "c", &o, &res), 0);
	cr_assert_eq(res.all.pairs, 3);
	cr_assert_eq(res.all.new_failures, 2);
	cr_assert_eq(res.all.both_fail, 1);
	cr_assert_eq(res.all.flaky_excluded, 0);
	cr_assert_eq(res.all.cand.flaky, 1);
	cr_assert_eq(res.all.base.flaky, 1);
	compare_result_release(&res);

	seen.text[0] = '\0';
	o.exclude_flaky = 1;
	cr_assert_eq(compare_runs(h, "b", "c", &o, &res), 0);
	cr_assert_str_eq(seen.text, "s/k2:new_failure");
	cr_assert_eq(res.all.pairs, 1);
	cr_assert_eq(res.all.new_failures, 1);
	cr_assert_eq(res.all.flaky_excluded, 2);
	compare_result_release(&res);
	history_close(h);
}

/* the merge follows byte order: prefixes, suites that interleave, thousands of cases */
Test(compare, merge_walks_both_runs_in_key_order)
{
	struct history *h = open_history();
	struct compare_result res;
	struct compare_opts o;
	char id[32];
	int i;

	begin(h, "b", "2026-01-01T00:00:00Z", "bot", NULL, RUN_RUNNING, NULL);
	begin(h, "c", "2026-01-02T00:00:00Z", "bot", NULL, RUN_RUNNING, NULL);
	cr_assert_eq(history_batch_begin(h), 0);
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "%d", i);       /* "1" < "10" < "100" < "2" */
		if (i % 7)
			add(h, "b", i % 2 ? "A" : "B", id, "h", i % 3 ? RESULT_PASS : RESULT_FAIL);
		if (i % 11)
			add(h, "c", i % 2 ? "A" : "B", id, "h", i % 5 ? RESULT_PASS : RESULT_FAIL);
	}
	add(h, "b", "A", "\xc3\xa9", "h", RESULT_PASS);   /* bytes above ASCII sort last */
	add(h, "c", "A", "\xc3\xa9", "h", RESULT_PASS);
	add(h, "c", "A", "~", "h", RESULT_PASS);
	cr_assert_eq(history_batch_commit(h), 0);
	memset(&o, 0, sizeof(o));
	cr_assert_eq(compare_runs(h, "b", "c", &o, &res), 0);
	{
		long pairs = 1, only_b = 0, only_c = 1, nf = 0, fx = 0;

		for (i = 0; i < 5000; i++) {
			int inb = i % 7 != 0, inc = i % 11 != 0;
			int pb = i % 3 != 0, pc = i % 5 != 0;

			if (inb && inc) {
				pairs++;
				nf += pb && !pc;
				fx += !pb && pc;
			} else if (inb) {
				only_b++;
			} else if (inc) {
				only_c++;
			}
		}
		cr_assert_eq(res.all.pairs, pairs);
		cr_assert_eq(res.all.only_in_baseline, only_b);
		cr_assert_eq(res.all.only_in_candidate, only_c);
		cr_assert_eq(res.all.new_failures, nf);
		cr_assert_eq(res.all.fixed, fx);
		cr_assert_eq(res.all.changed, 0);
	}
	cr_assert_eq(res.n_suites, 2);
	cr_assert_str_eq(res.suites[0].name, "A");
	cr_assert_str_eq(res.suites[1].name, "B");
	cr_assert_eq(res.suites[0].c.pairs + res.suites[1].c.pairs, res.all.pairs);
	compare_result_release(&res);
	history_close(h);
}

/* --- trajectory flips --- */

/* a result of run at repeat whose target replied reply (NULL: nothing besides the answer) */
static void add_reply(struct history *h, const char *run, const char *suite, const char *case_id,
		      int repeat, const char *reply)
{
	struct result_row r;

	memset(&r, 0, sizeof(r));
	r.suite = suite;
	r.case_id = case_id;
	r.case_hash = "h";
	r.repeat = repeat;
	r.status = RESULT_PASS;
	r.output = "done";
	r.output_len = 4;
	r.attempts = 1;
	r.cost_usd = NAN;
	r.target_reply = reply;
	cr_assert_eq(history_add_result(h, run, &r), 0);
}

#define CALL_F1 "{\"trajectory\":[{\"tool_calls\":[{\"name\":\"f\",\"args\":{\"x\":1}}]}]}"
#define CALL_F2 "{\"trajectory\":[{\"tool_calls\":[{\"name\":\"f\",\"args\":{\"x\":2}}]}]}"
#define CALL_G "{\"trajectory\":[{\"tool_calls\":[{\"name\":\"g\",\"args\":{}}]}]}"
#define CALL_FG "{\"trajectory\":[{\"tool_calls\":[{\"name\":\"f\",\"args\":{\"x\":1}}]}," \
	"{\"tool_calls\":[{\"name\":\"g\",\"args\":{}}]}]}"
#define NO_CALLS_YET "{\"trajectory\":[{\"content\":\"no tools needed\"}]}"
#define NO_TRAJECTORY "{\"model\":\"m\"}"

static int traj_line(const char *suite, const char *case_id, const char *base, const char *cand,
		     void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s/%s: %s -> %s\n", suite, case_id,
		 *base ? base : "-", *cand ? cand : "-");
	return 0;
}

static int traj_first(const char *suite, const char *case_id, const char *base,
		      const char *cand, void *arg)
{
	traj_line(suite, case_id, base, cand, arg);
	return 1;
}

/*
 * The merge walk over both runs' first repeats: the cases stored in
 * another order than the key order in each run, some in one run only,
 * a trajectory in one run only, replies without calls and later repeats
 */
Test(compare, trajectory_flips_merge_both_runs_in_key_order)
{
	struct history *h = open_history();
	struct seen s;

	begin(h, "a", "2026-01-01T00:00:00Z", "bot", NULL, RUN_RUNNING, NULL);
	begin(h, "b", "2026-01-02T00:00:00Z", "bot", NULL, RUN_RUNNING, NULL);
	add_reply(h, "a", "s2", "a", 0, CALL_F1);
	add_reply(h, "a", "s1", "a", 0, CALL_F1);
	add_reply(h, "a", "s1", "b", 0, CALL_G);
	add_reply(h, "a", "s1", "c", 0, NULL);          /* no reply: no calls */
	add_reply(h, "a", "s1", "d", 0, CALL_G);
	add_reply(h, "a", "s1", "e", 0, NO_CALLS_YET);
	add_reply(h, "a", "s1", "g", 0, CALL_G);
	add_reply(h, "a", "s1", "h", 0, CALL_G);
	add_reply(h, "a", "s1", "h", 1, CALL_G);
	add_reply(h, "a", "s1", "9", 0, CALL_F1);
	add_reply(h, "a", "s1", "10", 0, CALL_F1);
	add_reply(h, "a", "s1", "only-a", 0, CALL_G);
	add_reply(h, "a", "s1", "x", 0, NULL);
	/* B: stored backwards */
	add_reply(h, "b", "s1", "x", 0, NULL);          /* no reply on either side */
	add_reply(h, "b", "s1", "only-b", 0, CALL_G);   /* not in A: not a flip */
	add_reply(h, "b", "s1", "10", 0, CALL_F2);
	add_reply(h, "b", "s1", "9", 0, CALL_F2);
	add_reply(h, "b", "s1", "h", 1, CALL_F1);       /* a later repeat: not compared */
	add_reply(h, "b", "s1", "h", 0, CALL_G);
	add_reply(h, "b", "s1", "g", 1, NULL);          /* no first repeat in B */
	add_reply(h, "b", "s1", "e", 0, NULL);          /* none and none */
	add_reply(h, "b", "s1", "d", 0, NO_TRAJECTORY); /* a reply without a trajectory */
	add_reply(h, "b", "s1", "c", 0, CALL_G);        /* calls in B only */
	add_reply(h, "b", "s1", "b", 0, CALL_G);        /* the same calls */
	add_reply(h, "b", "s1", "a", 0, CALL_F2);
	add_reply(h, "b", "s2", "a", 0, CALL_FG);

	memset(&s, 0, sizeof(s));
	cr_assert_eq(compare_trajectories(h, "a", "b", NULL, traj_line, &s), 0);
	cr_assert_str_eq(s.text,
			 "s1/10: f({\"x\":1}) -> f({\"x\":2})\n"
			 "s1/9: f({\"x\":1}) -> f({\"x\":2})\n"
			 "s1/a: f({\"x\":1}) -> f({\"x\":2})\n"
			 "s1/c: - -> g({})\n"
			 "s1/d: g({}) -> -\n"
			 "s2/a: f({\"x\":1}) -> f({\"x\":1}), g({})\n");
	/* the other way round: the same cases, the sides swapped */
	memset(&s, 0, sizeof(s));
	cr_assert_eq(compare_trajectories(h, "b", "a", NULL, traj_line, &s), 0);
	cr_assert_str_eq(s.text,
			 "s1/10: f({\"x\":2}) -> f({\"x\":1})\n"
			 "s1/9: f({\"x\":2}) -> f({\"x\":1})\n"
			 "s1/a: f({\"x\":2}) -> f({\"x\":1})\n"
			 "s1/c: g({}) -> -\n"
			 "s1/d: - -> g({})\n"
			 "s2/a: f({\"x\":1}), g({}) -> f({\"x\":1})\n");
	memset(&s, 0, sizeof(s));
	cr_assert_eq(compare_trajectories(h, "a", "b", "s2", traj_line, &s), 0);
	cr_assert_str_eq(s.text, "s2/a: f({\"x\":1}) -> f({\"x\":1}), g({})\n");
	memset(&s, 0, sizeof(s));
	cr_assert_eq(compare_trajectories(h, "a", "b", NULL, traj_first, &s), 0);
	cr_assert_str_eq(s.text, "s1/10: f({\"x\":1}) -> f({\"x\":2})\n", "the callback stops the walk");
	memset(&s, 0, sizeof(s));
	cr_assert_eq(compare_trajectories(h, "a", "a", NULL, traj_line, &s), 0);
	cr_assert_str_eq(s.text, "", "a run against itself");
	cr_assert_eq(compare_trajectories(h, "a", "nosuch", NULL, traj_line, &s), 0);
	cr_assert_str_eq(s.text, "", "no run: no pairs");
	history_close(h);
}

/* the reader under the walk: first repeats with a reply only, and lookups of the others */
Test(compare, replies_reader)
{
	struct history *h = open_history();
	struct reply_iter *it;
	struct reply_row r;

	begin(h, "b", "2026-01-02T00:00:00Z", "bot", NULL, RUN_RUNNING, NULL);
	add_reply(h, "b", "s1", "x", 0, NULL);
	add_reply(h, "b", "s1", "g", 1, CALL_G);
	add_reply(h, "b", "s1", "c", 0, CALL_G);
	add_reply(h, "b", "s1", "a", 0, NO_TRAJECTORY);
	add_reply(h, "b", "s2", "a", 0, CALL_FG);
	it = history_replies_open(h, "b", NULL);
	cr_assert_not_null(it);
	cr_assert_eq(history_replies_next(it, &r), 1);
	cr_assert_str_eq(r.case_id, "a");
	cr_assert_str_eq(r.target_reply, NO_TRAJECTORY);
	cr_assert_eq(history_replies_has_case(it, "s1", "x"), 1, "stored without a reply");
	cr_assert_eq(history_replies_has_case(it, "s1", "g"), 0, "a later repeat only");
	cr_assert_eq(history_replies_has_case(it, "s3", "a"), 0);
	cr_assert_str_eq(r.case_id, "a", "a lookup leaves the row alone");
	cr_assert_eq(history_replies_next(it, &r), 1);
	cr_assert_str_eq(r.suite, "s1");
	cr_assert_str_eq(r.case_id, "c");
	cr_assert_eq(history_replies_next(it, &r), 1);
	cr_assert_str_eq(r.suite, "s2");
	cr_assert_eq(history_replies_next(it, &r), 0);
	cr_assert_eq(history_replies_next(it, &r), 0, "the end stays the end");
	history_replies_close(it);
	it = history_replies_open(h, "b", "s2");
	cr_assert_not_null(it);
	cr_assert_eq(history_replies_next(it, &r), 1);
	cr_assert_str_eq(r.suite, "s2");
	cr_assert_eq(history_replies_next(it, &r), 0);
	history_replies_close(it);
	history_close(h);
}

/* --- baseline references --- */

static void resolution_runs(struct history *h)
{
	begin(h, "20260101-aaa", "2026-01-01T00:00:00Z", "bot", "main", RUN_FINISHED, NULL);
	begin(h, "20260102-bbb", "2026-01-02T00:00:00Z", "bot", "feature", RUN_FINISHED, NULL);
	begin(h, "20260103-ccc", "2026-01-03T00:00:00Z", "bot", "main", RUN_INTERRUPTED, NULL);
	begin(h, "20260104-ddd", "2026-01-04T00:00:00Z", "other", "main", RUN_FINISHED, NULL);
	begin(h, "20260105-eee", "2026-01-05T00:00:00Z", "bot", "main", RUN_RUNNING, NULL);
}

static int resolve(struct history *h, const char *ref, const char *target, const char *cand,
		   char *id, size_t idlen, struct strbuf *why)
{
	char reg[128];
	struct baseline_query q = { ref, target, cand, reg };
	struct run_info ri;
	int rc;

	snprintf(reg, sizeof(reg), "sqlite:%s", th_path("registry.db"));
	strbuf_reset(why);
	rc = baseline_resolve(h, &q, &ri, why);
	snprintf(id, idlen, "%s", rc == 0 ? ri.id : "");
	if (rc == 0)
		run_info_release(&ri);
	else
		cr_assert_null(ri.id);
	return rc;
}

Test(compare, baseline_resolution)
{
	struct history *h = open_history();
	struct strbuf why = STRBUF_INIT;
	char id[64];

	resolution_runs(h);
	/* latest: finished, same target, not the candidate; interrupted and running runs skipped */
	cr_assert_eq(resolve(h, "latest", "bot", "20260105-eee", id, sizeof(id), &why), 0);
	cr_assert_str_eq(id, "20260102-bbb");
	cr_assert_eq(resolve(h, "latest", "bot", "20260102-bbb", id, sizeof(id), &why), 0);
	cr_assert_str_eq(id, "20260101-aaa");
	cr_assert_eq(resolve(h, "latest", "other", "20260105-eee", id, sizeof(id), &why), 0);
	cr_assert_str_eq(id, "20260104-ddd");
	cr_assert_eq(resolve(h, "latest", "other", "20260104-ddd", id, sizeof(id), &why), 1);
	cr_assert_str_eq(why.buf, "baseline 'latest': no finished run of target 'other' other "
				  "than run 20260104-ddd in the history");
	/* latest:REF: the stored git ref */
	cr_assert_eq(resolve(h, "latest:main", "bot", "20260105-eee", id, sizeof(id), &why), 0);
	cr_assert_str_eq(id, "20260101-aaa");
	cr_assert_eq(resolve(h, "latest:feature", "bot", "20260105-eee", id, sizeof(id), &why), 0);
	cr_assert_str_eq(id, "20260102-bbb");
	cr_assert_eq(resolve(h, "latest:feature", "bot", "20260102-bbb", id, sizeof(id), &why), 1);
	cr_assert(strstr(why.buf, "with git ref 'feature'"), "%s", why.buf);
	cr_assert_eq(resolve(h, "latest:main", NULL, NULL, id, sizeof(id), &why), 0);
	cr_assert_str_eq(id, "20260104-ddd");
	/* ids and unique prefixes, whatever their status */
	cr_assert_eq(resolve(h, "20260103-ccc", "bot", "20260105-eee", id, sizeof(id), &why), 0);
	cr_assert_str_eq(id, "20260103-ccc");
	cr_assert_eq(resolve(h, "20260102", "bot", NULL, id, sizeof(id), &why), 0);
	cr_assert_str_eq(id, "20260102-bbb");
	cr_assert_eq(resolve(h, "2026010", "bot", NULL, id, sizeof(id), &why), 1);
	cr_assert(strstr(why.buf, "ambiguous"), "%s", why.buf);
	cr_assert_eq(resolve(h, "2027", "bot", NULL, id, sizeof(id), &why), 1);
	cr_assert_str_eq(why.buf, "baseline '2027': no such run in the history");
	/* registry aliases: an alias nobody holds does not resolve, and says so */
	cr_assert_eq(resolve(h, "alias:production", "bot", NULL, id, sizeof(id), &why), 1);
	cr_assert(strstr(why.buf, "the alias 'production' of bot is not set in the sqlite registry"),
		  "%s", why.buf);
	cr_assert_eq(resolve(h, "alias:production", NULL, NULL, id, sizeof(id), &why), 1);
	cr_assert(strstr(why.buf, "the candidate run has none"), "%s", why.buf);
	/* malformed references */
	cr_assert_eq(resolve(h, "latest:", "bot", NULL, id, sizeof(id), &why), 1);
	cr_assert_eq(resolve(h, "", "bot", NULL, id, sizeof(id), &why), 1);
	cr_assert_eq(resolve(h, "tag:v1", "bot", NULL, id, sizeof(id), &why), 1);
	cr_assert(strstr(why.buf, "expected a run id, latest"), "%s", why.buf);
	strbuf_release(&why);
	history_close(h);
}

Test(compare, ref_syntax)
{
	const char *why;

	cr_assert(baseline_ref_valid("latest", &why));
	cr_assert(baseline_ref_valid("latest:release/1.2", &why));
	cr_assert(baseline_ref_valid("alias:production", &why));
	cr_assert(baseline_ref_valid("20261123T120803Z-3f9a1c", &why));
	cr_assert_not(baseline_ref_valid("latest:", &why));
	cr_assert_not(baseline_ref_valid("alias:", &why));
	cr_assert_not(baseline_ref_valid("", &why));
	cr_assert_not(baseline_ref_valid("run 1", &why));
	cr_assert_not(baseline_ref_valid("sha:abc", &why));
	cr_assert_not_null(why);
}

/* --- the regression gate --- */

static void write_config(const char *path, const char *gates)
{
	th_writef(path, "{\"gateway\": {\"base_url\": \"http://127.0.0.1:1/v1\"},\n"
		  " \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		  " \"gates\": [\n%s\n]}\n", gates);
}

struct details {
	int n;
	char *detail[8];
	double value[8], threshold[8];
	int pass[8];
	long n_pairs[8];
};

static int collect(const struct gate_row *g, void *arg)
{
	struct details *d = arg;

	cr_assert_lt(d->n, 8);
	cr_assert_str_eq(g->metric, "regression");
	d->detail[d->n] = strdup(g->detail ? g->detail : "");
	d->value[d->n] = g->value;
	d->threshold[d->n] = g->threshold;
	d->pass[d->n] = g->pass;
	d->n_pairs[d->n] = g->n;
	d->n++;
	return 0;
}

static int apply(struct history *h, const char *run, const char *gates, const char *override,
		 struct details *d, char *out, size_t outlen)
{
	struct eg_config cfg;
	struct gates gs;
	const char *cfg_path = th_path("evalgate.json"), *out_path = th_path("out.txt");
	FILE *fp;
	size_t n;
	int failed;

	write_config(cfg_path, gates);
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
	cr_assert_eq(gates_load(&gs, &cfg), 0);
	gs.baseline_override = override;
	fp = fopen(out_path, "w+");
	cr_assert_not_null(fp);
	failed = gates_apply(h, run, &gs, fp, 0);
	rewind(fp);
	n = fread(out, 1, outlen - 1, fp);
	out[n] = '\0';
	fclose(fp);
	gates_release(&gs);
	config_release(&cfg);
	memset(d, 0, sizeof(*d));
	cr_assert_eq(history_gates(h, run, collect, d), 0);
	return failed;
}

static void details_free(struct details *d)
{
	int i;

	for (i = 0; i < d->n; i++)
		free(d->detail[i]);
}

static const cJSON *item(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	cr_assert_not_null(v, "no %s", k);
	return v;
}

Test(compare, regression_gate_detail_and_verdicts)
{
	struct history *h = open_history();
	struct details d;
	char out[8192];
	cJSON *j;
	const cJSON *f;
	int failed;

	two_runs(h);
	/* the candidate is still running while it is gated, as in `run` */
	failed = apply(h, "cand",
		       "{\"metric\": \"regression\", \"max_new_failures\": 1, \"min_paired\": 0, \"errors\": \"exclude\"},\n"
		       "{\"metric\": \"regression\", \"baseline\": \"base\", \"max_new_failures\": 2, \"min_paired\": 0, \"errors\": \"exclude\"},\n"
		       "{\"metric\": \"regression\", \"alpha\": 0.05, \"min_paired\": 0, \"errors\": \"exclude\"},\n"
		       "{\"metric\": \"regression\", \"suite\": \"s2\", \"max_new_failures\": 0}",
		       NULL, &d, out, sizeof(out));
	cr_assert_eq(failed, 2, "%s", out);
	cr_assert_eq(d.n, 4);
	cr_assert_eq(d.pass[0], 0);     /* 2 new failures > 1 */
	cr_assert_eq(d.pass[1], 1);     /* 2 <= 2 */
	cr_assert_eq(d.pass[2], 1);     /* p = 1 */
	cr_assert_eq(d.pass[3], 0);     /* s2: 1 > 0 */
	cr_assert_float_eq(d.value[0], 2, 1e-12);
	cr_assert_float_eq(d.threshold[0], 1, 1e-12);
	cr_assert(isnan(d.threshold[2]));
	cr_assert_eq(d.n_pairs[0], 5);
	cr_assert_eq(d.n_pairs[3], 1);
	cr_assert(strstr(out, "5 pairs: 2 new failures, 1 fixed, McNemar p = 1"), "%s", out);

	j = cJSON_Parse(d.detail[0]);
	cr_assert_not_null(j, "%s", d.detail[0]);
	cr_assert_str_eq(item(j, "baseline")->valuestring, "base");
	cr_assert_str_eq(item(j, "baseline_ref")->valuestring, "latest");
	cr_assert_eq(item(j, "pairs")->valueint, 5);
	cr_assert_eq(item(j, "new_failures")->valueint, 2);
	cr_assert_eq(item(j, "fixed")->valueint, 1);
	cr_assert_float_eq(item(j, "p_value")->valuedouble, 1.0, 1e-9);
	cr_assert_float_eq(item(j, "diff")->valuedouble, -0.2, 1e-9);
	cr_assert(cJSON_IsNumber(item(j, "diff_lo")) && cJSON_IsNumber(item(j, "diff_hi")));
	cr_assert(cJSON_IsNull(item(j, "alpha")));
	cr_assert_eq(item(j, "max_new_failures")->valueint, 1);
	cr_assert_eq(item(j, "only_in_candidate")->valueint, 1);
	cr_assert_eq(item(j, "only_in_baseline")->valueint, 1);
	cr_assert_eq(item(j, "changed")->valueint, 1);
	cr_assert_eq(item(j, "flaky_excluded")->valueint, 0);
	f = item(j, "flips");
	cr_assert_eq(cJSON_GetArraySize(f), 3);
	/* new failures first, then fixed */
	cr_assert_str_eq(item(cJSON_GetArrayItem(f, 0), "case_id")->valuestring, "b");
	cr_assert_str_eq(item(cJSON_GetArrayItem(f, 1), "case_id")->valuestring, "x");
	cr_assert_str_eq(item(cJSON_GetArrayItem(f, 1), "suite")->valuestring, "s2");
	cr_assert_str_eq(item(cJSON_GetArrayItem(f, 1), "to")->valuestring, "fail");
	cr_assert_str_eq(item(cJSON_GetArrayItem(f, 2), "case_id")->valuestring, "c");
	cr_assert_str_eq(item(cJSON_GetArrayItem(f, 2), "from")->valuestring, "fail");
	cr_assert_str_eq(item(cJSON_GetArrayItem(f, 2), "to")->valuestring, "pass");
	f = item(j, "unpaired");
	cr_assert_eq(cJSON_GetArraySize(f), 3);
	cr_assert_str_eq(item(cJSON_GetArrayItem(f, 0), "why")->valuestring, "changed");
	cr_assert_str_eq(item(cJSON_GetArrayItem(f, 1), "why")->valuestring, "only_in_baseline");
	cr_assert_str_eq(item(cJSON_GetArrayItem(f, 2), "why")->valuestring, "only_in_candidate");
	cr_assert_null(cJSON_GetObjectItem(j, "flips_truncated"));
	cJSON_Delete(j);
	j = cJSON_Parse(d.detail[2]);
	cr_assert_float_eq(item(j, "alpha")->valuedouble, 0.05, 1e-12);
	cr_assert(cJSON_IsNull(item(j, "max_new_failures")));
	cJSON_Delete(j);
	details_free(&d);
	history_close(h);
}

Test(compare, regression_gate_without_baseline_fails)
{
	struct history *h = open_history();
	struct details d;
	char out[4096];
	cJSON *j;

	begin(h, "only", "2026-01-01T00:00:00Z", "bot", NULL, RUN_RUNNING, NULL);
	add(h, "only", "s", "a", "h", RESULT_PASS);
	cr_assert_eq(apply(h, "only", "{\"metric\": \"regression\", \"max_new_failures\": 5}",
			   NULL, &d, out, sizeof(out)), 1);
	cr_assert_eq(d.pass[0], 0);
	cr_assert(isnan(d.value[0]));
	cr_assert(strstr(out, "FAIL") && strstr(out, "no finished run of target 'bot'"), "%s", out);
	j = cJSON_Parse(d.detail[0]);
	cr_assert_not_null(j);
	cr_assert(cJSON_IsNull(item(j, "baseline")));
	cr_assert(strstr(item(j, "error")->valuestring, "no finished run"));
	cr_assert_eq(cJSON_GetArraySize(item(j, "flips")), 0);
	cJSON_Delete(j);
	details_free(&d);

	/* an override that names a missing run fails the same way */
	cr_assert_eq(apply(h, "only", "{\"metric\": \"regression\", \"max_new_failures\": 5}",
			   "nosuch", &d, out, sizeof(out)), 1);
	cr_assert_eq(d.n, 2);   /* gate rows accumulate on the run */
	j = cJSON_Parse(d.detail[1]);
	cr_assert_str_eq(item(j, "baseline_ref")->valuestring, "nosuch");
	cr_assert(strstr(item(j, "error")->valuestring, "no such run"));
	cJSON_Delete(j);
	details_free(&d);

	/* a baseline with nothing in common: no pairs, the gate fails and says why */
	begin(h, "other", "2026-01-01T00:00:00Z", "bot", NULL, RUN_FINISHED, NULL);
	cr_assert_eq(apply(h, "only", "{\"metric\": \"regression\", \"max_new_failures\": 5}",
			   "other", &d, out, sizeof(out)), 1);
	cr_assert(strstr(d.detail[2], "could be paired"), "%s", d.detail[2]);
	cr_assert(strstr(out, "no comparison: no case of scope all could be paired"), "%s", out);
	details_free(&d);
	history_close(h);
}

Test(compare, regression_gate_detail_is_bounded)
{
	struct history *h = open_history();
	struct details d;
	char out[4096], id[32];
	cJSON *j;
	int i;

	begin(h, "b", "2026-01-01T00:00:00Z", "bot", NULL, RUN_RUNNING, NULL);
	begin(h, "c", "2026-01-02T00:00:00Z", "bot", NULL, RUN_RUNNING, NULL);
	cr_assert_eq(history_batch_begin(h), 0);
	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "n%03d", i);
		add(h, "b", "s", id, "h", RESULT_PASS);
		add(h, "c", "s", id, "h", RESULT_FAIL);
		snprintf(id, sizeof(id), "o%03d", i);
		add(h, "c", "s", id, "h", RESULT_PASS);
	}
	cr_assert_eq(history_batch_commit(h), 0);
	cr_assert_eq(history_run_finish(h, "b", RUN_FINISHED, NULL), 0);
	cr_assert_eq(apply(h, "c", "{\"metric\": \"regression\", \"alpha\": 0.01, \"min_paired\": 0}", NULL, &d, out,
			   sizeof(out)), 1);
	cr_assert(strstr(out, "significant drop"), "%s", out);
	j = cJSON_Parse(d.detail[0]);
	cr_assert_not_null(j);
	cr_assert_eq(item(j, "new_failures")->valueint, 300);
	cr_assert_eq(cJSON_GetArraySize(item(j, "flips")), REGRESSION_LIST_MAX);
	cr_assert(cJSON_IsTrue(item(j, "flips_truncated")));
	cr_assert_eq(cJSON_GetArraySize(item(j, "unpaired")), REGRESSION_LIST_MAX);
	cr_assert(cJSON_IsTrue(item(j, "unpaired_truncated")));
	cr_assert_eq(item(j, "only_in_candidate")->valueint, 300);
	cJSON_Delete(j);
	details_free(&d);
	history_close(h);
}

/* too few pairs: the gate fails and says why, whatever the flips */
Test(compare, regression_gate_needs_min_paired)
{
	struct history *h = history_open(th_path("h.db"));
	struct details d = { 0 };
	char out[8192];
	cJSON *j;

	two_runs(h);
	cr_assert_eq(apply(h, "cand", "{\"metric\": \"regression\"},\n"
			   "{\"metric\": \"regression\", \"min_paired\": 0.6, \"max_new_failures\": 2},\n"
			   "{\"metric\": \"regression\", \"min_paired\": 0.5, \"max_new_failures\": 2, "
			   "\"errors\": \"exclude\"}",
			   NULL, &d, out, sizeof(out)), 2, "%s", out);
	cr_assert_eq(d.pass[0], 0);
	/* of the candidate's 8 cases, a b c d h x pair (h's error counted); e g do not */
	cr_assert(strstr(out, "only 6 of this run's 8 cases of scope all could be paired"), "%s", out);
	cr_assert(strstr(out, "min_paired 0.9"), "%s", out);
	j = cJSON_Parse(d.detail[0]);
	cr_assert_not_null(j);
	cr_assert(strstr(item(j, "error")->valuestring, "could be paired"));
	cJSON_Delete(j);
	/* h passed in the baseline and errored here: a new failure, 3 > 2 */
	cr_assert_eq(d.pass[1], 0, "6 of 8 is over 0.6, and the error counts: %s", out);
	cr_assert_float_eq(d.value[1], 3, 1e-12);
	cr_assert(strstr(out, "3 new failures > 2 allowed"), "%s", out);
	cr_assert(strstr(out, "1 error in this run counted as failure"), "%s", out);
	j = cJSON_Parse(d.detail[1]);
	cr_assert_eq(item(j, "errors_counted")->valueint, 1);
	cJSON_Delete(j);
	/* the 0.3.0 policy left it out: 2 new failures, the regression hidden */
	cr_assert_eq(d.pass[2], 1, "%s", out);
	cr_assert_float_eq(d.value[2], 2, 1e-12);
	details_free(&d);
	history_close(h);
}

/* --- the gate's config --- */

static void load_fails(const char *gate, const char *want)
{
	struct eg_config cfg;
	struct gates gs;
	const char *path = th_path("bad.json"), *err;

	write_config(path, gate);
	th_stderr_start();
	cr_assert_eq(config_load(&cfg, path), 0, "%s", gate);
	cr_assert_eq(gates_load(&gs, &cfg), -1, "%s", gate);
	cr_assert_null(gs.v);
	config_release(&cfg);
	err = th_stderr_take();
	cr_assert_neq(*err, '\0');
	cr_assert(strstr(err, want), "want '%s' in '%s'", want, err);
}

/* a bare regression gate gets the recommended configuration (docs/gates.md) */
Test(compare, config_bare_gets_the_recommended_defaults)
{
	struct eg_config cfg;
	struct gates gs;
	const struct regression_gate *rg;
	const char *path = th_path("bare.json");

	write_config(path, "{\"metric\": \"regression\"}");
	cr_assert_eq(config_load(&cfg, path), 0);
	cr_assert_eq(gates_load(&gs, &cfg), 0);
	rg = gs.v[0].ctx;
	cr_assert(rg->has_alpha);
	cr_assert_float_eq(rg->alpha, REGRESSION_DEFAULT_ALPHA, 1e-12);
	cr_assert_not(rg->has_max_new_failures);
	cr_assert_not(rg->exclude_errors, "errors are counted");
	cr_assert_float_eq(rg->min_paired, REGRESSION_DEFAULT_MIN_PAIRED, 1e-12);
	cr_assert_str_eq(rg->baseline, "latest");
	gates_release(&gs);
	config_release(&cfg);
}

Test(compare, config_errors_policy)
{
	load_fails("{\"metric\": \"regression\", \"errors\": \"ignore\"}",
		   "bad.json:4: gates[0].errors: 'ignore': expected count");
	load_fails("{\"metric\": \"regression\", \"min_paired\": 1.5}", "gates[0].min_paired");
}

Test(compare, config_alpha_range)
{
	load_fails("{\"metric\": \"regression\", \"alpha\": 1}", "gates[0].alpha: expected a significance level");
}

Test(compare, config_whole_max_new_failures)
{
	load_fails("{\"metric\": \"regression\", \"max_new_failures\": 1.5}",
		   "gates[0].max_new_failures: expected a whole number");
}

Test(compare, config_no_min_max)
{
	load_fails("{\"metric\": \"regression\", \"alpha\": 0.05, \"min\": 0.5}",
		   "gates[0].min: unknown field");
}

Test(compare, config_bad_baseline)
{
	load_fails("{\"metric\": \"regression\", \"alpha\": 0.05, \"baseline\": \"latest:\"}",
		   "gates[0].baseline: 'latest:': latest: needs a git ref");
}

Test(compare, config_fields)
{
	struct eg_config cfg;
	struct gates gs;
	const struct regression_gate *r0, *r1;
	const char *path = th_path("ok.json");

	write_config(path, "{\"metric\": \"regression\", \"baseline\": \"latest:main\", "
			   "\"max_new_failures\": 0, \"exclude_flaky\": true, \"tag\": \"billing\"},\n"
			   "{\"metric\": \"regression\", \"alpha\": 0.05}");
	cr_assert_eq(config_load(&cfg, path), 0);
	cr_assert_eq(gates_load(&gs, &cfg), 0);
	cr_assert_eq(gs.n, 2);
	cr_assert_eq(gs.v[0].type, gate_type_find("regression"));
	cr_assert_str_eq(gs.v[0].type->name, "regression");
	r0 = gs.v[0].ctx;
	r1 = gs.v[1].ctx;
	cr_assert_str_eq(r0->baseline, "latest:main");
	cr_assert_eq(r0->has_max_new_failures, 1);
	cr_assert_eq(r0->max_new_failures, 0);
	cr_assert_eq(r0->has_alpha, 0);
	cr_assert_eq(r0->exclude_flaky, 1);
	cr_assert_str_eq(gs.v[0].tag, "billing");
	cr_assert_str_eq(gs.v[0].name, "regression [tag billing]");
	cr_assert_str_eq(r1->baseline, "latest");
	cr_assert_eq(r1->has_alpha, 1);
	cr_assert_eq(r1->has_max_new_failures, 0);
	cr_assert_null(gs.baseline_override);
	gates_release(&gs);
	config_release(&cfg);
}
