/*
 * history_rescore: the link from a re-scored run to the run whose answers
 * it scored again (table rescores, SPEC 14).
 */
#include <sqlite3.h>
#include <string.h>

#include "error.h"
#include "history_impl.h"
#include "strbuf.h"
#include "banned.h"

int history_set_rescored_from(struct history *h, const char *run_id, const char *from)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (sqldb_prepare(&h->db, "INSERT OR REPLACE INTO rescores (run_id, rescored_from) "
			  "VALUES (?1, ?2)", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, from);
	ret = sqldb_step_done(&h->db, st, "cannot record the re-scored run");
	sqlite3_finalize(st);
	return ret;
}

int history_rescored_from(struct history *h, const char *run_id, struct strbuf *out)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	strbuf_reset(out);
	if (sqldb_prepare(&h->db, "SELECT rescored_from FROM rescores WHERE run_id = ?1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqldb_col_text(st, 0)) {
		strbuf_addstr(out, sqldb_col_text(st, 0));
		ret = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		ret = 1;
	} else {
		sqldb_error(&h->db, "cannot read the re-scored run");
	}
	sqlite3_finalize(st);
	return ret;
}
