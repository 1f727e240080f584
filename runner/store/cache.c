/*
 * cache: the response cache in its own SQLite file. Its schema is the
 * append-only list migrations[], applied by sqldb.c like the history's.
 */
#include "cache.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sqldb.h"
#include "xalloc.h"
#include "banned.h"

static const char *const migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE cache ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  content BLOB,"
	"  finish_reason TEXT,"
	"  prompt_tokens INTEGER,"
	"  completion_tokens INTEGER,"
	"  created_at TEXT NOT NULL"
	");",
	/* 2: how long the answer took when it was obtained, for the latency scorer */
	"ALTER TABLE cache ADD COLUMN latency_ms REAL;",
	/* 3: the target reply's context and the like (results.target_reply) */
	"ALTER TABLE cache ADD COLUMN target_reply TEXT;",
	/* 4: a streamed reply's timing, carried by a hit like its latency */
	"ALTER TABLE cache ADD COLUMN ttft_ms REAL;"
	"ALTER TABLE cache ADD COLUMN itl_ms REAL;"
	"ALTER TABLE cache ADD COLUMN itl_p50_ms REAL;"
	"ALTER TABLE cache ADD COLUMN itl_p95_ms REAL;"
	"ALTER TABLE cache ADD COLUMN tokens_per_s REAL;",
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

struct cache {
	struct sqldb db;          /* the file */
	sqlite3_stmt *get;        /* cached: SELECT by key */
	sqlite3_stmt *put;        /* cached: INSERT OR REPLACE */
};

struct cache *cache_open(const char *path)
{
	struct cache *c = xcalloc(1, sizeof(*c));

	if (sqldb_open(&c->db, "cache", path, migrations, N_MIGRATIONS)) {
		free(c);
		return NULL;
	}
	if (sqldb_prepare_cached(&c->db, "SELECT content, finish_reason, prompt_tokens, "
				 "completion_tokens, latency_ms, target_reply, "
				 SQLDB_STREAM_COLS " FROM cache WHERE key = ?1", &c->get) ||
	    sqldb_prepare_cached(&c->db, "INSERT OR REPLACE INTO cache (key, content, "
				 "finish_reason, prompt_tokens, completion_tokens, created_at, "
				 "latency_ms, target_reply, " SQLDB_STREAM_COLS ") "
				 "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", &c->put)) {
		cache_close(c);
		return NULL;
	}
	return c;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqldb_close(&c->db);
	free(c);
}

int cache_get(struct cache *c, const char *key, struct cached_reply *out)
{
	sqlite3_stmt *st = c->get;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	sqldb_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 1;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		sqldb_error(&c->db, "cannot read the cache");
		goto out;
	}
	out->content = sqldb_col_bytes_dup(st, 0, &out->content_len);
	out->finish_reason = sqldb_col_dup(st, 1);
	out->prompt_tokens = sqldb_col_count(st, 2);
	out->completion_tokens = sqldb_col_count(st, 3);
	out->latency_ms = sqldb_col_real(st, 4);
	out->target_reply = sqldb_col_dup(st, 5);
	sqldb_col_stream(st, 6, &out->stream);
	ret = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

int cache_put(struct cache *c, const char *key, const struct cached_reply *r)
{
	sqlite3_stmt *st = c->put;
	char now[32];

	sqldb_now(now, sizeof(now));
	sqldb_bind_text(st, 1, key);
	sqlite3_bind_blob64(st, 2, r->content ? r->content : "",
			    r->content ? r->content_len : 0, SQLITE_STATIC);
	sqldb_bind_text(st, 3, r->finish_reason);
	sqldb_bind_count(st, 4, r->prompt_tokens);
	sqldb_bind_count(st, 5, r->completion_tokens);
	sqldb_bind_text(st, 6, now);
	sqldb_bind_real(st, 7, r->latency_ms > 0 ? r->latency_ms : NAN);
	sqldb_bind_text(st, 8, r->target_reply);
	sqldb_bind_stream(st, 9, &r->stream);
	return sqldb_step_done(&c->db, st, "cannot write the cache");
}

int cache_batch_begin(struct cache *c)
{
	return sqldb_exec(&c->db, "BEGIN IMMEDIATE");
}

int cache_batch_commit(struct cache *c)
{
	if (sqldb_exec(&c->db, "COMMIT")) {
		sqldb_rollback(&c->db);
		return -1;
	}
	return 0;
}

void cached_reply_release(struct cached_reply *r)
{
	free(r->content);
	free(r->finish_reason);
	free(r->target_reply);
	memset(r, 0, sizeof(*r));
}
