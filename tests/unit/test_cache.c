/* cache: the response cache file, hits, misses and concurrent use */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "helper.h"
#include "banned.h"

TestSuite(cache, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);

Test(cache, cache_put_get_miss)
{
	const char *path = th_path("sub/cache.db");
	struct cache *c;
	struct cached_reply r, got;

	c = cache_open(path);
	cr_assert_not_null(c);
	cr_assert_eq(cache_get(c, "k1", &got), 1);
	memset(&r, 0, sizeof(r));
	r.content = (char *)"hel\0lo";
	r.content_len = 6;
	r.finish_reason = (char *)"stop";
	r.prompt_tokens = 12;
	r.completion_tokens = -1;
	cr_assert_eq(cache_put(c, "k1", &r), 0);
	cr_assert_eq(cache_get(c, "k1", &got), 0);
	cr_assert_eq(got.content_len, 6);
	cr_assert_eq(memcmp(got.content, "hel\0lo", 6), 0);
	cr_assert_eq(got.content[6], '\0');
	cr_assert_str_eq(got.finish_reason, "stop");
	cr_assert_eq(got.prompt_tokens, 12);
	cr_assert_eq(got.completion_tokens, -1);
	cached_reply_release(&got);
	/* a second put replaces */
	r.content = (char *)"new";
	r.content_len = 3;
	cr_assert_eq(cache_put(c, "k1", &r), 0);
	cr_assert_eq(cache_get(c, "k1", &got), 0);
	cr_assert_eq(got.content_len, 3);
	cr_assert_str_eq(got.content, "new");
	cached_reply_release(&got);
	cr_assert_eq(cache_get(c, "k2", &got), 1);
	cr_assert_null(got.content);
	cache_close(c);

	/* persisted */
	c = cache_open(path);
	cr_assert_not_null(c);
	cr_assert_eq(cache_get(c, "k1", &got), 0);
	cr_assert_str_eq(got.content, "new");
	cached_reply_release(&got);
	cache_close(c);
}

#define N_KEYS 400

struct cache_thread {
	const char *path;
	int errors;
	int hits;
};

static void *cache_writer(void *arg)
{
	struct cache_thread *t = arg;
	struct cache *c = cache_open(t->path);
	int i;

	if (!c) {
		t->errors++;
		return NULL;
	}
	for (i = 0; i < N_KEYS; i++) {
		struct cached_reply r;
		char key[32], val[32];

		snprintf(key, sizeof(key), "key-%d", i);
		snprintf(val, sizeof(val), "value-%d", i);
		memset(&r, 0, sizeof(r));
		r.content = val;
		r.content_len = strlen(val);
		r.prompt_tokens = i;
		if (cache_put(c, key, &r))
			t->errors++;
	}
	cache_close(c);
	return NULL;
}

static void *cache_reader(void *arg)
{
	struct cache_thread *t = arg;
	struct cache *c = cache_open(t->path);
	int round, i;

	if (!c) {
		t->errors++;
		return NULL;
	}
	for (round = 0; round < 3; round++) {
		for (i = 0; i < N_KEYS; i++) {
			struct cached_reply r;
			char key[32], val[32];
			int rc;

			snprintf(key, sizeof(key), "key-%d", i);
			snprintf(val, sizeof(val), "value-%d", i);
			rc = cache_get(c, key, &r);
			if (rc < 0) {
				t->errors++;
			} else if (rc == 0) {
				if (strcmp(r.content, val) || r.prompt_tokens != i)
					t->errors++;
				t->hits++;
				cached_reply_release(&r);
			}
		}
	}
	cache_close(c);
	return NULL;
}

Test(cache, cache_reader_and_writer_at_once)
{
	const char *path = th_path("cache.db");
	struct cache_thread w = { NULL, 0, 0 }, r = { NULL, 0, 0 };
	pthread_t tw, tr;
	struct cache *c;
	struct cached_reply got;
	int i;

	w.path = r.path = path;
	cr_assert_eq(pthread_create(&tr, NULL, cache_reader, &r), 0);
	cr_assert_eq(pthread_create(&tw, NULL, cache_writer, &w), 0);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	cr_assert_eq(w.errors, 0);
	cr_assert_eq(r.errors, 0);

	c = cache_open(path);
	cr_assert_not_null(c);
	for (i = 0; i < N_KEYS; i++) {
		char key[32];

		snprintf(key, sizeof(key), "key-%d", i);
		cr_assert_eq(cache_get(c, key, &got), 0);
		cached_reply_release(&got);
	}
	cache_close(c);
}

/* a hit carries the timing of the streamed answer as it was measured */
Test(cache, stream_timing_kept)
{
	struct cache *c = cache_open(th_path("cache.db"));
	struct cached_reply r, got;

	cr_assert_not_null(c);
	memset(&r, 0, sizeof(r));
	r.content = (char *)"streamed";
	r.content_len = 8;
	r.prompt_tokens = r.completion_tokens = -1;
	r.stream = (struct stream_stats){ 1, 201.5, 19.5, 19, 25, 40 };
	cr_assert_eq(cache_put(c, "s", &r), 0);
	r.stream.streamed = 0;
	cr_assert_eq(cache_put(c, "n", &r), 0);
	cr_assert_eq(cache_get(c, "s", &got), 0);
	cr_assert_eq(got.stream.streamed, 1);
	cr_assert_float_eq(got.stream.ttft_ms, 201.5, 1e-9);
	cr_assert_float_eq(got.stream.itl_ms, 19.5, 1e-9);
	cr_assert_float_eq(got.stream.itl_p50_ms, 19, 1e-9);
	cr_assert_float_eq(got.stream.itl_p95_ms, 25, 1e-9);
	cr_assert_float_eq(got.stream.tokens_per_s, 40, 1e-9);
	cached_reply_release(&got);
	cr_assert_eq(cache_get(c, "n", &got), 0);
	cr_assert_eq(got.stream.streamed, 0);
	cached_reply_release(&got);
	cache_close(c);
}
