/* ratelimit: AIMD concurrency, token buckets, rate-limit headers and the timeline, on a fake clock */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ratelimit.h"
#include "strbuf.h"
#include "banned.h"

/* --- AIMD --- */

Test(ratelimit, starts_at_the_configured_maximum)
{
	struct rl_pool p;

	rl_pool_init(&p, "target", 16, 100.0);
	cr_assert_eq(p.limit, 16);
	cr_assert(rl_pool_admits(&p, 100.0, 15));
	cr_assert_not(rl_pool_admits(&p, 100.0, 16), "no more than the limit in flight");
	rl_pool_release(&p);
}

Test(ratelimit, a_429_halves_once_per_round_trip)
{
	struct rl_pool p;

	rl_pool_init(&p, "target", 16, 0.0);
	rl_pool_reply(&p, 1.0, 0.5, 429, NULL);
	cr_assert_eq(p.limit, 8);
	/* requests sent before that decrease answer 429 too: the same congestion */
	rl_pool_reply(&p, 1.1, 0.6, 429, NULL);
	rl_pool_reply(&p, 1.2, 0.9, 429, NULL);
	cr_assert_eq(p.limit, 8, "one halving per round trip, not one per 429");
	/* one sent after it is a new signal */
	rl_pool_reply(&p, 1.5, 1.05, 429, NULL);
	cr_assert_eq(p.limit, 4);
	cr_assert_eq(p.n429, 4);
	cr_assert_eq(p.backoffs, 2);
	cr_assert_eq(p.min_limit, 4);
	rl_pool_release(&p);
}

Test(ratelimit, never_below_one)
{
	struct rl_pool p;
	int i;

	rl_pool_init(&p, "target", 3, 0.0);
	for (i = 0; i < 10; i++)
		rl_pool_reply(&p, 1.0 + i, 0.5 + i, 429, NULL);
	cr_assert_eq(p.limit, 1);
	cr_assert(rl_pool_admits(&p, 20.0, 0), "one request may always go");
	cr_assert_eq(p.backoffs, 1, "3 -> 1, then nothing left to halve");
	rl_pool_release(&p);
}

/* a reply of 200 10 ms after the previous one, to a request sent just before */
static void ok(struct rl_pool *p, double *t)
{
	*t += 0.01;
	rl_pool_reply(p, *t, *t - 0.005, 200, NULL);
}

Test(ratelimit, grows_by_one_per_window_of_successes_up_to_the_maximum)
{
	struct rl_pool p;
	double t = 1.0;
	int i;

	rl_pool_init(&p, "target", 8, 0.0);
	rl_pool_reply(&p, t, 0.5, 429, NULL);
	cr_assert_eq(p.limit, 4);
	for (i = 0; i < 3; i++)
		ok(&p, &t);
	cr_assert_eq(p.limit, 4, "a window is as many replies as the limit");
	ok(&p, &t);
	cr_assert_eq(p.limit, 5);
	for (i = 0; i < 5; i++)
		ok(&p, &t);
	cr_assert_eq(p.limit, 6);
	for (i = 0; i < 1000; i++)
		ok(&p, &t);
	cr_assert_eq(p.limit, 8, "never past the configured maximum");
	rl_pool_release(&p);
}

Test(ratelimit, errors_other_than_429_neither_halve_nor_grow)
{
	struct rl_pool p;

	rl_pool_init(&p, "target", 2, 0.0);
	rl_pool_reply(&p, 1.0, 0.5, 429, NULL);
	cr_assert_eq(p.limit, 1);
	rl_pool_reply(&p, 2.0, 1.5, 500, NULL);
	rl_pool_reply(&p, 2.1, 1.6, 0, NULL);
	cr_assert_eq(p.limit, 1);
	cr_assert_eq(p.acked, 0);
	cr_assert_eq(p.requests, 3);
	rl_pool_release(&p);
}

/* --- headers --- */

static void header(struct rl_hint *h, const char *name, const char *value)
{
	cr_assert(rl_hint_header(h, name, strlen(name), value, strlen(value)), "%s", name);
}

Test(ratelimit, reads_the_openai_headers)
{
	struct rl_hint h;

	rl_hint_init(&h);
	header(&h, "x-ratelimit-limit-requests", " 500\r\n");
	header(&h, "X-RateLimit-Remaining-Requests", "499");
	header(&h, "x-ratelimit-reset-requests", "120ms");
	header(&h, "x-ratelimit-limit-tokens", "30000");
	header(&h, "x-ratelimit-remaining-tokens", "29000");
	header(&h, "x-ratelimit-reset-tokens", "6m0s");
	cr_assert_eq(h.limit_requests, 500);
	cr_assert_eq(h.remaining_requests, 499);
	cr_assert_float_eq(h.reset_requests_s, 0.12, 1e-9);
	cr_assert_eq(h.limit_tokens, 30000);
	cr_assert_eq(h.remaining_tokens, 29000);
	cr_assert_float_eq(h.reset_tokens_s, 360, 1e-9);
	cr_assert_not(rl_hint_header(&h, "x-request-id", 12, "1", 1));
	cr_assert_not(rl_hint_header(&h, "x-ratelimit-", 12, "1", 1));
	header(&h, "x-ratelimit-remaining-tokens", "lots");
	cr_assert_eq(h.remaining_tokens, -1, "an unreadable value is unknown");
}

Test(ratelimit, durations)
{
	cr_assert_float_eq(rl_parse_duration("12ms", 4), 0.012, 1e-12);
	cr_assert_float_eq(rl_parse_duration("6m0s", 4), 360, 1e-12);
	cr_assert_float_eq(rl_parse_duration("1h2m3.5s", 8), 3723.5, 1e-9);
	cr_assert_float_eq(rl_parse_duration("0.5s", 4), 0.5, 1e-12);
	cr_assert_float_eq(rl_parse_duration(" 20 ", 4), 20, 1e-12, "a bare number is seconds");
	cr_assert_float_eq(rl_parse_duration("1s500ms", 7), 1.5, 1e-12);
	cr_assert_eq(rl_parse_duration("", 0), -1);
	cr_assert_eq(rl_parse_duration("s", 1), -1);
	cr_assert_eq(rl_parse_duration("5x", 2), -1);
	cr_assert_eq(rl_parse_duration("1m5", 3), -1, "a bare number only alone");
	cr_assert_eq(rl_parse_duration("-1s", 3), -1);
}

Test(ratelimit, a_nearly_spent_quota_halves_before_any_429)
{
	struct rl_pool p;
	struct rl_hint h;

	rl_pool_init(&p, "target", 16, 0.0);
	rl_hint_init(&h);
	h.limit_requests = 1000;
	h.remaining_requests = 400;
	rl_pool_reply(&p, 1.0, 0.5, 200, &h);
	cr_assert_eq(p.limit, 16, "plenty left");
	h.remaining_requests = 30; /* 3% */
	rl_pool_reply(&p, 1.1, 0.6, 200, &h);
	cr_assert_eq(p.limit, 8);
	cr_assert_eq(p.n429, 0);
	rl_hint_init(&h);
	h.limit_tokens = 100000;
	h.remaining_tokens = 1000;
	rl_pool_reply(&p, 2.0, 1.5, 200, &h);
	cr_assert_eq(p.limit, 4, "the token quota counts too");
	rl_pool_release(&p);
}

Test(ratelimit, a_spent_quota_holds_the_pool_until_its_reset)
{
	struct rl_pool p;
	struct rl_hint h;

	rl_pool_init(&p, "target", 4, 0.0);
	rl_hint_init(&h);
	h.remaining_requests = 0;
	h.reset_requests_s = 2.5;
	rl_pool_reply(&p, 10.0, 9.9, 429, &h);
	cr_assert_eq(p.limit, 2);
	cr_assert_not(rl_pool_admits(&p, 11.0, 0), "held until the reset");
	cr_assert_not(rl_pool_admits(&p, 12.49, 0));
	cr_assert(rl_pool_admits(&p, 12.5, 0));
	/* an absurd reset holds a minute at most */
	h.reset_requests_s = 86400;
	rl_pool_reply(&p, 20.0, 19.9, 429, &h);
	cr_assert(rl_pool_admits(&p, 80.0, 0));
	rl_pool_release(&p);
}

/* --- buckets --- */

Test(ratelimit, rpm_paces_requests)
{
	struct rl_bucket b;
	double t = 0;
	int sent = 0;

	/* 1200 a minute: 20 a second, one second's worth at once */
	rl_bucket_init(&b, 1200, 0.0);
	while (t < 3.0) {
		double w = rl_bucket_wait(&b, t, 1);

		if (w > 0) {
			t += w;
			continue;
		}
		rl_bucket_take(&b, 1);
		sent++;
	}
	/* 20 at once, then 20 a second for 3 s */
	cr_assert(sent >= 79 && sent <= 81, "sent %d", sent);
}

Test(ratelimit, no_limit_never_waits)
{
	struct rl_bucket b;

	rl_bucket_init(&b, 0, 0.0);
	rl_bucket_take(&b, 1e9);
	cr_assert_eq(rl_bucket_wait(&b, 0.0, 1e9), 0);
}

Test(ratelimit, tpm_owes_a_large_request_and_takes_back_the_estimate)
{
	struct rl_bucket b;

	/* 6000 tokens a minute: 100 a second, bucket of 100 */
	rl_bucket_init(&b, 6000, 0.0);
	cr_assert_eq(rl_bucket_wait(&b, 0.0, 400), 0, "larger than the bucket: goes when it is full");
	rl_bucket_take(&b, 400);
	cr_assert_float_eq(rl_bucket_wait(&b, 0.0, 10), 3.1, 1e-9, "owes 300, needs 10");
	/* the reply used 150 tokens, not 400 */
	rl_bucket_take(&b, 150 - 400);
	cr_assert_float_eq(rl_bucket_wait(&b, 0.0, 10), 0.6, 1e-9);
	rl_bucket_take(&b, -1e6);
	cr_assert_float_eq(b.level, 100, 1e-9, "never more than the bucket holds");
}

/* --- the timeline --- */

Test(ratelimit, timeline_samples_changes_and_intervals)
{
	struct rl_pool p;
	const struct rl_pool *pools[1] = { &p };
	struct strbuf sb = STRBUF_INIT;
	cJSON *root, *pool, *samples;

	rl_pool_init(&p, "target", 8, 100.0);
	rl_pool_sample(&p, 100.0, 0, 1);
	rl_pool_sample(&p, 100.1, 3, 0);
	cr_assert_eq(p.n_samples, 1, "nothing changed within the interval");
	rl_pool_sample(&p, 100.3, 8, 0);
	cr_assert_eq(p.n_samples, 2);
	rl_pool_reply(&p, 100.35, 100.2, 429, NULL);
	rl_pool_sample(&p, 100.36, 4, 0);
	cr_assert_eq(p.n_samples, 3, "a change is sampled at once");
	cr_assert_eq(p.samples[2].limit, 4);
	cr_assert_eq(p.samples[2].n429, 1);
	cr_assert_float_eq(p.samples[2].t, 0.36, 1e-9);

	rl_timeline_json(&sb, pools, 1);
	root = cJSON_Parse(sb.buf);
	cr_assert_not_null(root, "%s", sb.buf);
	pool = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "pools"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(pool, "name")->valuestring, "target");
	cr_assert_eq(cJSON_GetObjectItem(pool, "max")->valueint, 8);
	cr_assert_eq(cJSON_GetObjectItem(pool, "min_limit")->valueint, 4);
	cr_assert_eq(cJSON_GetObjectItem(pool, "n429")->valueint, 1);
	cr_assert_eq(cJSON_GetObjectItem(pool, "backoffs")->valueint, 1);
	samples = cJSON_GetObjectItem(pool, "samples");
	cr_assert_eq(cJSON_GetArraySize(samples), 3);
	cr_assert_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(samples, 2), 1)->valueint, 4);
	cJSON_Delete(root);
	strbuf_release(&sb);
	rl_pool_release(&p);
}

Test(ratelimit, a_long_run_thins_its_timeline)
{
	struct rl_pool p;
	int i;

	rl_pool_init(&p, "target", 8, 0.0);
	for (i = 0; i < 3 * RL_MAX_SAMPLES; i++)
		rl_pool_sample(&p, i * 1.0, i % 5, 0);
	cr_assert_leq(p.n_samples, RL_MAX_SAMPLES);
	cr_assert_geq(p.n_samples, RL_MAX_SAMPLES / 4);
	cr_assert_eq(p.samples[0].t, 0, "the start is kept");
	cr_assert_gt(p.samples[p.n_samples - 1].t, 2.0 * RL_MAX_SAMPLES, "and the end");
	for (i = 1; i < (int)p.n_samples; i++)
		cr_assert_gt(p.samples[i].t, p.samples[i - 1].t);
	rl_pool_release(&p);
}

Test(ratelimit, begin_starts_the_counters_over_and_keeps_the_limit)
{
	struct rl_pool p;

	rl_pool_init(&p, "scorer", 8, 0.0);
	rl_pool_reply(&p, 1.0, 0.5, 429, NULL);
	rl_pool_sample(&p, 1.0, 1, 1);
	rl_pool_begin(&p, 50.0);
	cr_assert_eq(p.limit, 4);
	cr_assert_eq(p.min_limit, 4);
	cr_assert_eq(p.n429, 0);
	cr_assert_eq(p.backoffs, 0);
	cr_assert_eq(p.n_samples, 0);
	rl_pool_sample(&p, 50.5, 1, 1);
	cr_assert_float_eq(p.samples[0].t, 0.5, 1e-9);
	rl_pool_release(&p);
}
