/*
 * history_rescore: the link from a re-scored run to the run whose answers
 * it scored again (table rescores, SPEC 14), and the helpers of a text
 * stored per run that it shares with history_timeline.c.
 */
#include <sqlite3.h>
#include <string.h>

#include "error.h"
#include "history_impl.h"
#include "strbuf.h"
#include "banned.h"

int history_run_text_set(struct history *h, const char *sql, const char *run_id,
			 const char *text, const char *what)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (sqldb_prepare(&h->db, sql, &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, text);
	ret = sqldb_step_done(&h->db, st, what);
	sqlite3_finalize(st);
	return ret;
}

int history_run_text_get(struct history *h, const char *sql, const char *run_id,
			 struct strbuf *out, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	strbuf_reset(out);
	/* a history opened read-only may predate the table: it then holds nothing */
	if (sqlite3_prepare_v2(h->db.db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return 1;
	}
	sqldb_bind_text(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqldb_col_text(st, 0)) {
		strbuf_addstr(out, sqldb_col_text(st, 0));
		ret = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		ret = 1;
	} else {
		sqldb_error(&h->db, what);
	}
	sqlite3_finalize(st);
	return ret;
}

int history_set_rescored_from(struct history *h, const char *run_id, const char *from)
{
	return history_run_text_set(h, "INSERT OR REPLACE INTO rescores (run_id, rescored_from) "
				    "VALUES (?1, ?2)", run_id, from,
				    "cannot record the re-scored run");
}

int history_rescored_from(struct history *h, const char *run_id, struct strbuf *out)
{
	return history_run_text_get(h, "SELECT rescored_from FROM rescores WHERE run_id = ?1",
				    run_id, out, "cannot read the re-scored run");
}
