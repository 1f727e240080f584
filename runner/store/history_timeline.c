/*
 * history_timeline: a run's concurrency timeline (table run_timelines), as
 * the gateway's rate limiter recorded it (runner/ratelimit.h).
 */
#include <sqlite3.h>
#include <string.h>

#include "error.h"
#include "history_impl.h"
#include "strbuf.h"
#include "banned.h"

int history_set_timeline(struct history *h, const char *run_id, const char *json)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (sqldb_prepare(&h->db, "INSERT OR REPLACE INTO run_timelines (run_id, timeline) "
			  "VALUES (?1, ?2)", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, json);
	ret = sqldb_step_done(&h->db, st, "cannot store the run's concurrency timeline");
	sqlite3_finalize(st);
	return ret;
}

int history_timeline(struct history *h, const char *run_id, struct strbuf *out)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	strbuf_reset(out);
	if (sqldb_prepare(&h->db, "SELECT timeline FROM run_timelines WHERE run_id = ?1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqldb_col_text(st, 0)) {
		strbuf_addstr(out, sqldb_col_text(st, 0));
		ret = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		ret = 1;
	} else {
		sqldb_error(&h->db, "cannot read the run's concurrency timeline");
	}
	sqlite3_finalize(st);
	return ret;
}
