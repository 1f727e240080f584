/*
 * sqldb: the SQLite files evalgate writes (the history, the response cache,
 * the registry's store) opened the same way: parent directories created, a
 * busy timeout, WAL, foreign keys, and the schema brought forward by an
 * append-only list of migrations (entry i takes PRAGMA user_version from i to
 * i + 1) in one IMMEDIATE transaction, so two processes opening a new file at
 * once do not race.
 *
 * kind names the file in messages ("history", "registry"); every function
 * reports its own errors.
 */
#ifndef EG_SQLDB_H
#define EG_SQLDB_H

#include <stddef.h>

#include <sqlite3.h>

#define SQLDB_BUSY_TIMEOUT_MS 5000

/* the time now, UTC to the second, as evalgate's rows store it (2026-01-31T12:00:00Z) */
void sqldb_now(char *buf, size_t size);
/* mkdir -p of path's directory */
int sqldb_make_parent_dirs(const char *path);
int sqldb_exec(sqlite3 *db, const char *kind, const char *path, const char *sql);
int sqldb_user_version(sqlite3 *db, const char *kind, const char *path, int *out);
/* -1 (reported) when the file's schema is newer than this evalgate knows */
int sqldb_check_version(const char *kind, const char *path, int have, int know);
/* open path read-write (creating it), set the pragmas and apply list[0..n); NULL on error */
sqlite3 *sqldb_open_rw(const char *kind, const char *path, const char *const *list, int n);

#endif
