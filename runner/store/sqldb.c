#include "sqldb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

void sqldb_now(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "1970-01-01T00:00:00Z");
}

static int db_error(sqlite3 *db, const char *kind, const char *path, const char *what)
{
	return error("%s %s: %s: %s", kind, path, what, sqlite3_errmsg(db));
}

int sqldb_make_parent_dirs(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	char *p;
	int ret = 0;

	if (!slash || slash == dir)
		goto out;
	*slash = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		{
			char c = *p;
			struct stat st;

			*p = '\0';
			if (mkdir(dir, 0777) && errno != EEXIST) {
				int e = errno;

				if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
					ret = error("cannot create directory %s: %s", dir,
						    strerror(e));
					goto out;
				}
			}
			*p = c;
		}
		if (!*p)
			break;
	}
out:
	free(dir);
	return ret;
}

int sqldb_exec(sqlite3 *db, const char *kind, const char *path, const char *sql)
{
	char *msg = NULL;
	int ret = 0;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ret = error("%s %s: %s", kind, path, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
	}
	return ret;
}

int sqldb_user_version(sqlite3 *db, const char *kind, const char *path, int *out)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
		db_error(db, kind, path, "cannot read the schema version");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_error(db, kind, path, "cannot read the schema version");
		goto out;
	}
	*out = sqlite3_column_int(st, 0);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int sqldb_check_version(const char *kind, const char *path, int have, int know)
{
	if (have > know)
		return error("%s %s has schema version %d, this evalgate knows up to %d", kind,
			     path, have, know);
	return 0;
}

/* bring the file to the newest schema of list[0..n) */
static int migrate(sqlite3 *db, const char *kind, const char *path, const char *const *list,
		   int n)
{
	struct strbuf sql = STRBUF_INIT;
	int have, v, ret = -1;

	if (sqldb_user_version(db, kind, path, &have) ||
	    sqldb_check_version(kind, path, have, n))
		return -1;
	if (have == n)
		return 0;
	if (sqldb_exec(db, kind, path, "BEGIN IMMEDIATE"))
		return -1;
	/* another process may have migrated while we waited for the lock */
	if (sqldb_user_version(db, kind, path, &have) ||
	    sqldb_check_version(kind, path, have, n))
		goto out_rollback;
	for (v = have; v < n; v++) {
		strbuf_reset(&sql);
		strbuf_addf(&sql, "%s;PRAGMA user_version = %d;", list[v], v + 1);
		if (sqldb_exec(db, kind, path, sql.buf))
			goto out_rollback;
	}
	if (sqldb_exec(db, kind, path, "COMMIT"))
		goto out_rollback;
	ret = 0;
	goto out;
out_rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	strbuf_release(&sql);
	return ret;
}

sqlite3 *sqldb_open_rw(const char *kind, const char *path, const char *const *list, int n)
{
	sqlite3 *db = NULL;
	int rc;

	if (sqldb_make_parent_dirs(path))
		return NULL;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		if (db)
			db_error(db, kind, path, "cannot open");
		else
			error("%s %s: cannot open: %s", kind, path, sqlite3_errstr(rc));
		goto out_close;
	}
	sqlite3_busy_timeout(db, SQLDB_BUSY_TIMEOUT_MS);
	if (sqldb_exec(db, kind, path, "PRAGMA journal_mode=WAL;"
			       "PRAGMA synchronous=NORMAL;"
			       "PRAGMA foreign_keys=ON;"))
		goto out_close;
	if (migrate(db, kind, path, list, n))
		goto out_close;
	return db;
out_close:
	sqlite3_close(db);
	return NULL;
}
