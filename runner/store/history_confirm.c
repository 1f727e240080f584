/*
 * history_confirm: the re-asks of flip confirmation (table confirmations,
 * runs.confirm_calls; docs/gates.md "Flip confirmation"). A re-ask is kept
 * apart from the run's results: it never changes a count, a verdict or a
 * report, only the regression gate that asked for it reads it.
 */
#include <sqlite3.h>
#include <string.h>

#include "error.h"
#include "history_impl.h"
#include "banned.h"

int history_add_confirmation(struct history *h, const char *run_id, const struct confirm_row *c)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (sqldb_prepare(&h->db, "INSERT OR REPLACE INTO confirmations "
			  "(run_id, suite, case_id, sample, status) VALUES (?1, ?2, ?3, ?4, ?5)",
			  &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, c->suite);
	sqldb_bind_text(st, 3, c->case_id);
	sqldb_bind_count(st, 4, c->sample);
	sqldb_bind_text(st, 5, result_status_name(c->status));
	ret = sqldb_step_done(&h->db, st, "cannot store a confirmation re-ask");
	sqlite3_finalize(st);
	return ret;
}

int history_confirmations(struct history *h, const char *run_id,
			  int (*fn)(const struct confirm_row *c, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (sqldb_prepare(&h->db, "SELECT suite, case_id, sample, status FROM confirmations "
			  "WHERE run_id = ?1 ORDER BY suite, case_id, sample", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct confirm_row c;
		const char *status = sqldb_col_text(st, 3);

		c.suite = sqldb_col_text(st, 0);
		c.case_id = sqldb_col_text(st, 1);
		c.sample = (int)sqldb_col_count(st, 2);
		c.status = !status ? RESULT_ERROR : !strcmp(status, "pass") ? RESULT_PASS
			   : !strcmp(status, "fail") ? RESULT_FAIL : RESULT_ERROR;
		if (fn(&c, arg)) {
			ret = 0;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read the confirmation re-asks");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int history_set_confirm_calls(struct history *h, const char *run_id, long calls)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (sqldb_prepare(&h->db, "UPDATE runs SET confirm_calls = ?2 WHERE id = ?1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_count(st, 2, calls);
	ret = sqldb_step_done(&h->db, st, "cannot record the confirmation calls");
	sqlite3_finalize(st);
	return ret;
}

int history_confirm_calls(struct history *h, const char *run_id, long *calls)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	*calls = -1;
	if (sqldb_prepare(&h->db, "SELECT confirm_calls FROM runs WHERE id = ?1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*calls = sqldb_col_count(st, 0);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		sqldb_error(&h->db, "cannot read the confirmation calls");
	}
	sqlite3_finalize(st);
	return ret;
}
