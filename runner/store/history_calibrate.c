/*
 * history_calibrate: what `evalgate calibrate` measured of a judge against
 * human labels (table calibrations, SPEC 14), and its newest row per judge
 * key for the judge_kappa gate.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "history_impl.h"
#include "banned.h"

int history_add_calibration(struct history *h, struct calibration *c)
{
	sqlite3_stmt *st = NULL;
	int ret;

	sqldb_now(c->created_at, sizeof(c->created_at));
	if (sqldb_prepare(&h->db, "INSERT INTO calibrations (judge_key, scorer, kappa, lo, hi, n, "
			  "created_at, run_id, agreement, samples, self_all_agree, self_pairwise, "
			  "self_fleiss) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
			  &st))
		return -1;
	sqldb_bind_text(st, 1, c->judge_key);
	sqldb_bind_text(st, 2, c->scorer);
	sqldb_bind_real(st, 3, c->kappa);
	sqldb_bind_real(st, 4, c->lo);
	sqldb_bind_real(st, 5, c->hi);
	sqlite3_bind_int64(st, 6, c->n);
	sqldb_bind_text(st, 7, c->created_at);
	sqldb_bind_text(st, 8, c->run_id);
	sqldb_bind_real(st, 9, c->agreement);
	sqlite3_bind_int(st, 10, c->samples > 1 ? c->samples : 1);
	sqldb_bind_real(st, 11, c->self_all_agree);
	sqldb_bind_real(st, 12, c->self_pairwise);
	sqldb_bind_real(st, 13, c->self_fleiss);
	ret = sqldb_step_done(&h->db, st, "cannot store the calibration");
	sqlite3_finalize(st);
	return ret;
}

int history_calibration_newest(struct history *h, const char *judge_key, struct calibration *out)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (sqldb_prepare(&h->db, "SELECT kappa, lo, hi, n, created_at, run_id, agreement, samples, "
			  "self_all_agree, self_pairwise, self_fleiss FROM calibrations WHERE judge_key = ?1 "
			  "ORDER BY created_at DESC, rowid DESC LIMIT 1", &st))
		return -1;
	sqldb_bind_text(st, 1, judge_key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out->judge_key, sizeof(out->judge_key), "%s", judge_key);
		out->kappa = sqldb_col_real(st, 0);
		out->lo = sqldb_col_real(st, 1);
		out->hi = sqldb_col_real(st, 2);
		out->n = (long)sqlite3_column_int64(st, 3);
		snprintf(out->created_at, sizeof(out->created_at), "%s", sqldb_col_text(st, 4));
		snprintf(out->run_id, sizeof(out->run_id), "%s", sqldb_col_text(st, 5));
		out->agreement = sqldb_col_real(st, 6);
		out->samples = sqlite3_column_int(st, 7);
		out->self_all_agree = sqldb_col_real(st, 8);
		out->self_pairwise = sqldb_col_real(st, 9);
		out->self_fleiss = sqldb_col_real(st, 10);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		sqldb_error(&h->db, "cannot read the calibrations");
	}
	sqlite3_finalize(st);
	return ret;
}

int history_run_judge_keys(struct history *h, const char *run_id, const char *suite,
			   const char *tag, const char *scorer,
			   int (*fn)(const char *scorer, const char *key, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1, stop = 0;

	/* the partial index scores_judge holds the judge results only: a run without is free */
	if (sqldb_prepare(&h->db, "SELECT MIN(scorer), k FROM (SELECT scorer, CASE WHEN "
			  "json_valid(detail) THEN json_extract(detail, '$.judge_key') END AS k "
			  "FROM scores s WHERE run_id = ?1 AND type = 'judge' AND "
			  "(?2 IS NULL OR suite = ?2) AND (?4 IS NULL OR scorer = ?4) AND "
			  "(?3 IS NULL OR EXISTS (SELECT 1 FROM results r WHERE r.run_id = s.run_id "
			  "AND r.suite = s.suite AND r.case_id = s.case_id AND r.repeat = s.repeat AND "
			  "instr(',' || r.tags || ',', ',' || ?3 || ',') > 0))) "
			  "WHERE typeof(k) = 'text' GROUP BY k ORDER BY 1, 2", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	sqldb_bind_text(st, 3, tag);
	sqldb_bind_text(st, 4, scorer);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = fn(sqldb_col_text(st, 0), sqldb_col_text(st, 1), arg);
	if (stop)
		ret = stop < 0 ? -1 : 0;
	else if (rc == SQLITE_DONE)
		ret = 0;
	else
		sqldb_error(&h->db, "cannot read the run's judge keys");
	sqlite3_finalize(st);
	return ret;
}

/* history_results_all: one suite's results, for history_run_suites */
struct all_results {
	struct history *h;
	const char *run_id;
	int (*fn)(const struct stored_result *r, void *arg);
	void *arg;
};

static int suite_results(const struct run_suite *s, void *arg)
{
	struct all_results *a = arg;

	return history_results(a->h, a->run_id, s->name, a->fn, a->arg) ? -1 : 0;
}

int history_results_all(struct history *h, const char *run_id, const char *suite,
			int (*fn)(const struct stored_result *r, void *arg), void *arg)
{
	struct all_results a = { h, run_id, fn, arg };

	if (suite)
		return history_results(h, run_id, suite, fn, arg);
	return history_run_suites(h, run_id, suite_results, &a) ? -1 : 0;
}
