/*
 * history_impl: struct history, shared by the files that implement the
 * history (history.c, export.c, history_spend.c, history_attacks.c,
 * history_rescore.c, history_timeline.c). No other file includes it: to the layers
 * above, struct history is opaque and its tables are unseen.
 */
#ifndef EG_HISTORY_IMPL_H
#define EG_HISTORY_IMPL_H

#include "history.h"
#include "sqldb.h"

struct history {
	struct sqldb db;          /* the file */
	int readonly;             /* opened by history_open_ro */
	int in_batch;             /* inside history_batch_begin/commit */
	sqlite3_stmt *ins_result; /* cached: INSERT INTO results */
	sqlite3_stmt *ins_score;  /* cached: INSERT INTO scores */
	sqlite3_stmt *sp_begin;   /* cached: SAVEPOINT around one result */
	sqlite3_stmt *sp_release; /* cached: RELEASE that savepoint */
	sqlite3_stmt *sp_undo;    /* cached: ROLLBACK TO that savepoint */
	sqlite3_stmt *ins_text;   /* cached: INSERT OR IGNORE INTO case_texts */
	int replace_errors;       /* history_replace_errors was called */
	sqlite3_stmt *del_error;  /* cached: DELETE the error result a new one replaces */
};

/*
 * One text stored per run (rescores, run_timelines): sql binds the run id as
 * ?1 and the text as ?2 (set), or selects the text of run id ?1 (get: 0, 1
 * when there is none or the table is not in this file, -1 after reporting
 * what failed).
 */
int history_run_text_set(struct history *h, const char *sql, const char *run_id,
			 const char *text, const char *what);
int history_run_text_get(struct history *h, const char *sql, const char *run_id,
			 struct strbuf *out, const char *what);

#endif
