/*
 * history_spend: what runs spent, for the spend cap of a run and the cost
 * estimate of run --dry-run (SPEC 14).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "history_impl.h"
#include "banned.h"

int history_run_spend(struct history *h, const char *run_id, double *cost_usd, long *tokens)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	*cost_usd = 0;
	*tokens = 0;
	if (sqldb_prepare(&h->db, "SELECT total(cost_usd) + total(judge_cost_usd), "
			  "total(prompt_tokens) + total(completion_tokens) + "
			  "total(judge_prompt_tokens) + total(judge_completion_tokens) "
			  "FROM results WHERE run_id = ?1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqldb_error(&h->db, "cannot sum what the run spent");
		goto out;
	}
	*cost_usd = sqlite3_column_double(st, 0);
	*tokens = (long)sqlite3_column_double(st, 1);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

static long col_tokens(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : (long)sqlite3_column_int64(st, i);
}

int history_case_usage(struct history *h, size_t max_runs,
		       int (*fn)(const struct case_usage *u, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	struct case_usage u;
	int rc, ret = -1;

	if (sqldb_prepare(&h->db, "WITH recent AS (SELECT id, model, started_at FROM runs "
			  "ORDER BY started_at DESC, id DESC LIMIT ?1) "
			  "SELECT r.suite, r.case_id, r.case_hash, u.model, r.prompt_tokens, "
			  "r.completion_tokens, r.judge_prompt_tokens, r.judge_completion_tokens "
			  "FROM results r JOIN recent u ON u.id = r.run_id "
			  "WHERE r.prompt_tokens IS NOT NULL OR r.completion_tokens IS NOT NULL "
			  "ORDER BY u.started_at DESC, u.id DESC, r.rowid", &st))
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max_runs);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&u, 0, sizeof(u));
		u.suite = sqldb_col_text(st, 0);
		u.case_id = sqldb_col_text(st, 1);
		u.case_hash = sqldb_col_text(st, 2);
		u.model = sqldb_col_text(st, 3);
		u.prompt_tokens = col_tokens(st, 4);
		u.completion_tokens = col_tokens(st, 5);
		u.judge_prompt_tokens = col_tokens(st, 6);
		u.judge_completion_tokens = col_tokens(st, 7);
		if (!u.suite || !u.case_id)
			continue;
		if (fn(&u, arg)) {
			ret = 0;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read the usage of recent runs");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}
