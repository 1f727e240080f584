/*
 * sqldb: the SQLite files evalgate writes (the history, the response cache,
 * the registry's store) opened and read the same way, through one set of
 * helpers.
 *
 * Opening read-write creates the parent directories, sets a busy timeout,
 * WAL and foreign keys, and brings the schema forward by an append-only
 * list of migrations (entry i takes PRAGMA user_version from i to i + 1) in
 * one IMMEDIATE transaction, so two processes opening a new file at once do
 * not race.
 *
 * Values: a NULL string binds and reads as SQL NULL; a NaN double binds as
 * NULL and a NULL reads back as NaN; a negative count (-1: unknown) binds as
 * NULL and a NULL reads back as -1.
 *
 * Ownership: struct sqldb owns its connection and its copy of the path
 * (sqldb_close frees both). Strings bound with sqldb_bind_text are not
 * copied: they must live until the statement is reset or finalized.
 * sqldb_col_text points into the row (valid until the next step);
 * sqldb_col_dup and sqldb_col_bytes_dup return malloc'd copies. Every
 * function that can fail reports its own error and returns -1 (or NULL).
 */
#ifndef EG_SQLDB_H
#define EG_SQLDB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <sqlite3.h>

#include "stats.h"

#define SQLDB_BUSY_TIMEOUT_MS 5000

/* a checkpoint on a thread of its own (sqldb_checkpoint_start) */
struct sqldb_checkpoint {
	pthread_t thread;
	char *path;               /* the file, the thread's while it runs */
	int running;              /* the thread was started and not joined */
	atomic_int busy;          /* the thread has not finished its checkpoint */
	int frames;               /* the WAL's size, in pages, that starts one after a commit */
	int copied;               /* the last one started after a commit: the next is the writer's */
	int wal_frames;           /* the WAL's frames after the last commit */
};

struct sqldb {
	sqlite3 *db;              /* the connection; NULL when not open */
	const char *kind;         /* names the file in messages: "history", "registry" (static) */
	char *path;               /* the file name, for messages */
	struct sqldb_checkpoint ckpt; /* read-write: its checkpoints; waited for by sqldb_close */
};

/* the time now, UTC to the second, as evalgate's rows store it (2026-01-31T12:00:00Z) */
void sqldb_now(char *buf, size_t size);
/* mkdir -p of path's directory */
int sqldb_make_parent_dirs(const char *path);
/*
 * Make the new file path holding the len bytes image (a whole database),
 * in its existing directory, atomically: written beside it under another
 * name, then linked in place,
 * so no opener ever reads half of it and an existing file is never
 * replaced. 0 when made; 1 when path already exists; -1 when it cannot be
 * made this way (nothing reported: the caller creates it through SQLite,
 * which reports what is wrong).
 */
int sqldb_create(const char *path, const void *image, size_t len);

/* open path read-write (creating it), set the pragmas and apply list[0..n) */
int sqldb_open(struct sqldb *d, const char *kind, const char *path, const char *const *list,
	       int n);
/*
 * sqldb_open, but a new file (user_version 0) is given fresh_sql, the schema
 * list[0..fresh_v) makes, in one batch, then list[fresh_v..n); such a file
 * is made with pages of SQLDB_FRESH_PAGE_SIZE bytes
 */
#define SQLDB_FRESH_PAGE_SIZE "16384"
int sqldb_open_fresh(struct sqldb *d, const char *kind, const char *path,
		     const char *const *list, int n, const char *fresh_sql, int fresh_v);
/*
 * open an existing file read-only whose schema is list's newest (n): a
 * missing file, one without a schema, an older or a newer one is an error
 */
int sqldb_open_ro(struct sqldb *d, const char *kind, const char *path, int n);
void sqldb_close(struct sqldb *d);

/*
 * A passive checkpoint of d's file (WAL mode) on a connection of its own,
 * in a thread: the pages written so far reach the database file while the
 * caller goes on, its reads and writes unblocked. What is written after,
 * or what a reader still needed, is left to the last connection's close,
 * which checkpoints the rest and syncs as ever. Nothing is reported: a
 * checkpoint that could not run here loses nothing. One still running is
 * waited for first; sqldb_close waits for the last. A WAL under a quarter
 * of SQLDB_WAL_BYTES is left to the close: for a few pages the thread's
 * own connection (opening it reads the schema) costs more than it saves.
 *
 * A connection opened read-write starts one by itself whenever a commit
 * leaves SQLDB_WAL_BYTES in the WAL and none runs, instead of SQLite's own
 * automatic checkpoint. That one copies the WAL and syncs twice in the
 * thread that committed: it stalled a run's writer for tens of
 * milliseconds, and the run's network loop with it once the writer fell
 * behind. Checkpoints during a run also leave less for the close to copy
 * and sync at the end.
 */
#define SQLDB_WAL_BYTES (4L << 20)
void sqldb_checkpoint_start(struct sqldb *d);

/* report what failed with SQLite's message for the connection; returns -1 */
int sqldb_error(const struct sqldb *d, const char *what);
/* run one or more statements that return no rows */
int sqldb_exec(const struct sqldb *d, const char *sql);
/* end the open transaction without keeping anything (after an error: reports nothing) */
void sqldb_rollback(const struct sqldb *d);
int sqldb_prepare(const struct sqldb *d, const char *sql, sqlite3_stmt **st);
/* prepare sql into *st once, for statements that live as long as the connection */
int sqldb_prepare_cached(const struct sqldb *d, const char *sql, sqlite3_stmt **st);
/* step a statement that returns no rows, then reset it and clear its bindings */
int sqldb_step_done(const struct sqldb *d, sqlite3_stmt *st, const char *what);

void sqldb_bind_text(sqlite3_stmt *st, int i, const char *s);
void sqldb_bind_real(sqlite3_stmt *st, int i, double v);
void sqldb_bind_count(sqlite3_stmt *st, int i, long v);
const char *sqldb_col_text(sqlite3_stmt *st, int i);
char *sqldb_col_dup(sqlite3_stmt *st, int i);
double sqldb_col_real(sqlite3_stmt *st, int i);
/*
 * a streamed reply's timing as SQLITE_STREAM_COLS columns from index first:
 * ttft_ms, itl_ms, itl_p50_ms, itl_p95_ms, tokens_per_s (NULL: unknown, or
 * not streamed); read back streamed when one of them is known
 */
#define SQLDB_STREAM_COLS "ttft_ms, itl_ms, itl_p50_ms, itl_p95_ms, tokens_per_s"
#define SQLDB_STREAM_N 5
void sqldb_bind_stream(sqlite3_stmt *st, int first, const struct stream_stats *s);
void sqldb_col_stream(sqlite3_stmt *st, int first, struct stream_stats *s);
long sqldb_col_count(sqlite3_stmt *st, int i);
/* a NUL-terminated copy of a column's bytes (any bytes), its length in *len */
char *sqldb_col_bytes_dup(sqlite3_stmt *st, int i, size_t *len);

#endif
