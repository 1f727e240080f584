#include "sqldb.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

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

int sqldb_create(const char *path, const void *image, size_t len)
{
	struct strbuf tmp = STRBUF_INIT;
	const char *p = image;
	size_t left = len;
	int fd, ret = -1;

	if (!access(path, F_OK))
		return 1;
	if (errno != ENOENT)
		return -1;
	strbuf_addf(&tmp, "%s.new-%ld", path, (long)getpid());
	/* SQLite's own mode for the files it creates (umask applies) */
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	while (left) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
	if (close(fd) || left)
		goto out_unlink;
	if (!link(tmp.buf, path))
		ret = 0;
	else if (errno == EEXIST)
		ret = 1;
out_unlink:
	unlink(tmp.buf);
out:
	strbuf_release(&tmp);
	return ret;
}

/* --- errors and statements --- */

int sqldb_error(const struct sqldb *d, const char *what)
{
	return error("%s %s: %s: %s", d->kind, d->path, what, sqlite3_errmsg(d->db));
}

int sqldb_exec(const struct sqldb *d, const char *sql)
{
	char *msg = NULL;
	int ret = 0;

	if (sqlite3_exec(d->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ret = error("%s %s: %s", d->kind, d->path, msg ? msg : sqlite3_errmsg(d->db));
		sqlite3_free(msg);
	}
	return ret;
}

void sqldb_rollback(const struct sqldb *d)
{
	sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

int sqldb_prepare(const struct sqldb *d, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(d->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return sqldb_error(d, "cannot prepare a statement");
	}
	return 0;
}

int sqldb_prepare_cached(const struct sqldb *d, const char *sql, sqlite3_stmt **st)
{
	if (*st)
		return 0;
	if (sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return sqldb_error(d, "cannot prepare a statement");
	}
	return 0;
}

int sqldb_step_done(const struct sqldb *d, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	int ret = 0;

	if (rc != SQLITE_DONE)
		ret = sqldb_error(d, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/* --- values --- */

void sqldb_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void sqldb_bind_real(sqlite3_stmt *st, int i, double v)
{
	if (isnan(v))
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_double(st, i, v);
}

void sqldb_bind_count(sqlite3_stmt *st, int i, long v)
{
	if (v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

const char *sqldb_col_text(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(st, i);
}

char *sqldb_col_dup(sqlite3_stmt *st, int i)
{
	const char *s = sqldb_col_text(st, i);

	return s ? xstrdup(s) : NULL;
}

double sqldb_col_real(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NAN;
	return sqlite3_column_double(st, i);
}

void sqldb_bind_stream(sqlite3_stmt *st, int first, const struct stream_stats *s)
{
	const double v[SQLDB_STREAM_N] = { s->ttft_ms, s->itl_ms, s->itl_p50_ms, s->itl_p95_ms,
					   s->tokens_per_s };
	int i;

	for (i = 0; i < SQLDB_STREAM_N; i++)
		sqldb_bind_real(st, first + i, s->streamed ? v[i] : NAN);
}

void sqldb_col_stream(sqlite3_stmt *st, int first, struct stream_stats *s)
{
	double *v[SQLDB_STREAM_N] = { &s->ttft_ms, &s->itl_ms, &s->itl_p50_ms, &s->itl_p95_ms,
				      &s->tokens_per_s };
	int i;

	s->streamed = 0;
	for (i = 0; i < SQLDB_STREAM_N; i++) {
		*v[i] = sqldb_col_real(st, first + i);
		if (!isnan(*v[i]))
			s->streamed = 1;
	}
}

long sqldb_col_count(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return -1;
	return (long)sqlite3_column_int64(st, i);
}

char *sqldb_col_bytes_dup(sqlite3_stmt *st, int i, size_t *len)
{
	const void *b = sqlite3_column_blob(st, i);
	char *p;

	*len = (size_t)sqlite3_column_bytes(st, i);
	p = xmalloc(*len + 1);
	if (*len)
		memcpy(p, b, *len);
	p[*len] = '\0';
	return p;
}

/* --- opening and the schema --- */

/* the number a pragma (sql) gives; -1 when it cannot be read, reported as what unless NULL */
static int pragma_int(const struct sqldb *d, const char *sql, const char *what, int *out)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		if (what)
			sqldb_error(d, what);
		goto out;
	}
	*out = sqlite3_column_int(st, 0);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

static int user_version(const struct sqldb *d, int *out)
{
	return pragma_int(d, "PRAGMA user_version", "cannot read the schema version", out);
}

/* -1 (reported) when the file's schema is newer than this evalgate knows */
static int check_version(const struct sqldb *d, int have, int know)
{
	if (have > know)
		return error("%s %s has schema version %d, this evalgate knows up to %d", d->kind,
			     d->path, have, know);
	return 0;
}

/*
 * bring the file to the newest schema of list[0..n); a new file (version 0)
 * gets fresh, which is version fresh_v, when there is one
 */
static int migrate(const struct sqldb *d, const char *const *list, int n, const char *fresh,
		   int fresh_v)
{
	struct strbuf sql = STRBUF_INIT;
	int have, v, ret = -1;

	if (user_version(d, &have) || check_version(d, have, n))
		return -1;
	if (have == n)
		return 0;
	if (sqldb_exec(d, "BEGIN IMMEDIATE"))
		return -1;
	/* another process may have migrated while we waited for the lock */
	if (user_version(d, &have) || check_version(d, have, n))
		goto out_rollback;
	if (!have && fresh && fresh_v <= n) {
		strbuf_addf(&sql, "%s;PRAGMA user_version = %d;", fresh, fresh_v);
		if (sqldb_exec(d, sql.buf))
			goto out_rollback;
		have = fresh_v;
	}
	for (v = have; v < n; v++) {
		strbuf_reset(&sql);
		strbuf_addf(&sql, "%s;PRAGMA user_version = %d;", list[v], v + 1);
		if (sqldb_exec(d, sql.buf))
			goto out_rollback;
	}
	if (sqldb_exec(d, "COMMIT"))
		goto out_rollback;
	ret = 0;
	goto out;
out_rollback:
	sqldb_rollback(d);
out:
	strbuf_release(&sql);
	return ret;
}

/* --- checkpoints off the caller's path --- */

static void *checkpoint_main(void *arg)
{
	struct sqldb_checkpoint *c = arg;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(db, SQLDB_BUSY_TIMEOUT_MS);
		/* a first read opens the connection's WAL, which the checkpoint needs */
		if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL; SELECT 1 FROM sqlite_master LIMIT 1",
				 NULL, NULL, NULL) == SQLITE_OK)
			sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	sqlite3_close(db);
	atomic_store(&c->busy, 0);
	return NULL;
}

static void checkpoint_wait(struct sqldb_checkpoint *c)
{
	if (!c->running)
		return;
	pthread_join(c->thread, NULL);
	c->running = 0;
	free(c->path);
	c->path = NULL;
}

static void checkpoint_start(struct sqldb_checkpoint *c, const char *path)
{
	checkpoint_wait(c);
	c->path = xstrdup(path);
	atomic_store(&c->busy, 1);
	c->running = !pthread_create(&c->thread, NULL, checkpoint_main, c);
	if (!c->running) {
		atomic_store(&c->busy, 0);
		free(c->path);
		c->path = NULL;
	}
}

void sqldb_checkpoint_start(struct sqldb *d)
{
	if (d->ckpt.wal_frames >= d->ckpt.frames / 4)
		checkpoint_start(&d->ckpt, d->path);
}

/*
 * SQLite's wal hook: after each commit, with the frames now in the WAL.
 * The thread's checkpoint copies what the WAL held when it began; the WAL
 * is used again from its start only after a checkpoint that copied all of
 * it, and this connection went on committing meanwhile. So the next time
 * the WAL is past the size, once the thread is done, the checkpoint runs
 * here, between this connection's transactions, where it copies the rest
 * (what came after the thread's) and the next transaction starts the WAL
 * again. Without it the WAL grew by every commit: 480 MB for 100,000 cases.
 * A thread slower than the commits (a slow disk) is waited for once the WAL
 * is four times the size: then the WAL stays within that and one commit.
 */
static int wal_grown(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sqldb_checkpoint *c = arg;
	const char *path;

	c->wal_frames = frames;
	if (frames < c->frames)
		return SQLITE_OK;
	if (atomic_load(&c->busy)) {
		/* one running is left to finish: the next commit looks again */
		if (frames < 4 * c->frames)
			return SQLITE_OK;
		checkpoint_wait(c);
	}
	if (c->copied) {
		c->copied = 0;
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	path = sqlite3_db_filename(db, name);
	if (path && *path) {
		checkpoint_start(c, path);
		c->copied = c->running;
	}
	return SQLITE_OK;
}

/* from now on a commit that grows the WAL past SQLDB_WAL_BYTES starts a checkpoint */
static void checkpoint_background(struct sqldb *d)
{
	struct sqldb_checkpoint *c = &d->ckpt;
	int page;

	/* SQLite's default page when the size cannot be read */
	if (pragma_int(d, "PRAGMA page_size", NULL, &page) || page <= 0)
		page = 4096;
	c->frames = (int)(SQLDB_WAL_BYTES / page);
	/* replaces SQLite's own automatic checkpoint, which is this hook's default */
	sqlite3_wal_hook(d->db, wal_grown, c);
}

/* --- opening and closing --- */

/*
 * Before SQLite's first use: no count of its memory (the count takes a
 * global lock for every allocation, and nothing reads it). Too late once
 * SQLite is initialised; then it is left as it is.
 */
static void configure(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* sqlite3_open_v2 with the busy timeout; -1 (reported, d closed) on error */
static int open_file(struct sqldb *d, const char *kind, const char *path, int flags)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int rc;

	pthread_once(&once, configure);
	d->kind = kind;
	d->path = xstrdup(path);
	d->db = NULL;
	/* a connection is used by one thread at a time: SQLite's own locking per call is not needed */
	rc = sqlite3_open_v2(path, &d->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (d->db)
			sqldb_error(d, "cannot open");
		else
			error("%s %s: cannot open: %s", kind, path, sqlite3_errstr(rc));
		sqldb_close(d);
		return -1;
	}
	sqlite3_busy_timeout(d->db, SQLDB_BUSY_TIMEOUT_MS);
	return 0;
}

/*
 * Two connections opening a new file at once (a cache shared by parallel
 * runs) can each hold the lock the other needs to switch it to WAL; SQLite
 * answers SQLITE_BUSY at once then, without its busy handler (waiting
 * would deadlock). The switch is tried again, a few milliseconds apart, for
 * as long as the busy timeout allows; then the last answer is reported.
 */
static int wal_mode(const struct sqldb *d)
{
	long waited;

	for (waited = 0; waited < SQLDB_BUSY_TIMEOUT_MS; waited += 2) {
		if (sqlite3_exec(d->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_BUSY)
			break;
		sqlite3_sleep(2);
	}
	return sqldb_exec(d, "PRAGMA journal_mode=WAL");
}

int sqldb_open(struct sqldb *d, const char *kind, const char *path, const char *const *list,
	       int n)
{
	return sqldb_open_fresh(d, kind, path, list, n, NULL, 0);
}

int sqldb_open_fresh(struct sqldb *d, const char *kind, const char *path,
		     const char *const *list, int n, const char *fresh_sql, int fresh_v)
{
	struct stat sb;
	int fresh;

	memset(d, 0, sizeof(*d));
	if (sqldb_make_parent_dirs(path))
		return -1;
	fresh = stat(path, &sb) != 0;
	if (open_file(d, kind, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
		return -1;
	/*
	 * A new file is made (in rollback mode, then switched to WAL) and
	 * given its schema without syncing: nothing in it can be lost, and
	 * the half dozen fsyncs were most of a short run's start-up.
	 * One made with its schema in one batch (the history) gets 16 KiB
	 * pages: a run appends a few rows to each of its tables and indexes
	 * per result, and WAL commits and checkpoints write and read a page
	 * per system call (two for a WAL frame), so a quarter of the pages
	 * was a quarter of the calls (a quarter of its writer's time at 10,000
	 * results). The page size is kept with the file.
	 */
	if ((fresh && fresh_sql && sqldb_exec(d, "PRAGMA page_size=" SQLDB_FRESH_PAGE_SIZE)) ||
	    (fresh && sqldb_exec(d, "PRAGMA synchronous=OFF")) ||
	    wal_mode(d) ||
	    sqldb_exec(d, "PRAGMA foreign_keys=ON") ||
	    migrate(d, list, n, fresh_sql, fresh_v) ||
	    sqldb_exec(d, "PRAGMA synchronous=NORMAL"))
		goto out_close;
	checkpoint_background(d);
	return 0;
out_close:
	sqldb_close(d);
	return -1;
}

int sqldb_open_ro(struct sqldb *d, const char *kind, const char *path, int n)
{
	struct stat sb;
	int have;

	memset(d, 0, sizeof(*d));
	if (stat(path, &sb))
		return error("cannot open %s %s: %s", kind, path, strerror(errno));
	if (open_file(d, kind, path, SQLITE_OPEN_READONLY))
		return -1;
	if (user_version(d, &have) || check_version(d, have, n))
		goto out_close;
	if (have == 0) {
		error("%s is not an evalgate %s (no schema)", path, kind);
		goto out_close;
	}
	if (have < n) {
		error("%s %s has schema version %d; a writing command (such as run) "
		      "upgrades it to %d", kind, path, have, n);
		goto out_close;
	}
	return 0;
out_close:
	sqldb_close(d);
	return -1;
}

void sqldb_close(struct sqldb *d)
{
	/* this connection's close must be the last: it checkpoints the rest and syncs */
	checkpoint_wait(&d->ckpt);
	sqlite3_close(d->db);
	free(d->path);
	d->db = NULL;
	d->path = NULL;
}

