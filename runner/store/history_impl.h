/*
 * history_impl: struct history, shared by the files that implement the
 * history (history.c, export.c, history_spend.c, history_attacks.c,
 * history_rescore.c, history_timeline.c). No other file includes it: to the layers
 * above, struct history is opaque and its tables are unseen.
 */
#ifndef EG_HISTORY_IMPL_H
#define EG_HISTORY_IMPL_H

#include "hashmap.h"
#include "history.h"
#include "sqldb.h"

/* a case's texts waiting for the batch's commit (owned copies) */
struct text_row {
	char *hash;               /* the case's content hash: case_texts' key */
	char *input, *context, *expected; /* NULL when the case has none */
};

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
	sqlite3_stmt *sel_text;   /* cached: is a hash in case_texts */
	sqlite3_stmt *get_text;   /* cached: the texts of a hash (history_case_texts) */
	int replace_errors;       /* history_replace_errors was called */
	sqlite3_stmt *del_error;  /* cached: DELETE the error result a new one replaces */
	/*
	 * case_texts: the hashes the open batch wrote or found there (a set,
	 * emptied at its commit), and its new texts, written at the commit in
	 * hash order
	 */
	struct hashmap texts_known;
	struct text_row *texts;
	size_t texts_nr, texts_alloc;
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
