/*
 * cache: the response cache, a second SQLite file beside the history
 * (cache.db), keyed by a SHA-256 of base path, model, params and messages
 * (the key is the caller's). Only successful replies are cached. Several
 * processes may read and write one cache at once (WAL).
 *
 * Ownership: cache_open returns a handle freed by cache_close; a reply
 * filled by cache_get belongs to the caller (cached_reply_release); keys and
 * replies passed in are borrowed.
 */
#ifndef EG_CACHE_H
#define EG_CACHE_H

#include <stddef.h>

#include "stats.h"

struct cache;

struct cached_reply {
	char *content;           /* the answer's bytes, NUL-terminated */
	size_t content_len;
	char *finish_reason;     /* or NULL */
	long prompt_tokens, completion_tokens; /* -1 unknown */
	double latency_ms;       /* when the answer was obtained; NaN (or 0) unknown */
	char *target_reply;      /* JSON, as result_row.target_reply (history.h), or NULL */
	struct stream_stats stream; /* a streamed reply's timing as obtained; zeroed: not streamed */
};

/* open (creating the file and its directory) and migrate; NULL after reporting */
struct cache *cache_open(const char *path);
void cache_close(struct cache *c);
/* a lookup (see history.h): 0 hit (out filled), 1 miss, -1 error (reported) */
int cache_get(struct cache *c, const char *key, struct cached_reply *out);
int cache_put(struct cache *c, const char *key, const struct cached_reply *r);
/* many puts in one transaction (the run's writer): -1 (reported) on error */
int cache_batch_begin(struct cache *c);
int cache_batch_commit(struct cache *c);
void cached_reply_release(struct cached_reply *r);

#endif
