/*
 * ratelimit: how many requests a pool may have in flight, and when the next
 * may start. Pure logic over the caller's clock (monotonic seconds), so the
 * tests drive it with a fake one; the gateway calls it at admission and with
 * each reply.
 *
 * Concurrency is AIMD, as TCP's congestion window (Jacobson 1988; RFC 5681):
 * a pool starts at its configured maximum; a 429, or rate-limit headers
 * saying the quota is nearly spent, halves it (never below 1), at most once
 * per round trip: a signal from a request sent before the last decrease is
 * the same congestion and is ignored; every window of successful replies
 * (as many as the current limit) adds 1, back up to the maximum. A reply
 * whose headers say the quota is spent holds the pool until their reset.
 *
 * Request and token rates are token buckets (rl_bucket) holding one
 * second's worth, refilled continuously: rpm / 60 requests and tpm / 60
 * tokens a second. A request's tokens are estimated before it is sent and
 * corrected with its reply's usage; a request larger than the bucket goes
 * when the bucket is full and leaves it owing.
 *
 * Every pool keeps a timeline: a sample (time, limit, in flight, 429s,
 * requests) whenever the limit changes and at most every RL_SAMPLE_S
 * seconds otherwise; a long run thins it to at most RL_MAX_SAMPLES.
 *
 * Ownership: plain data; rl_pool_release frees the timeline.
 */
#ifndef EG_RATELIMIT_H
#define EG_RATELIMIT_H

#include <stddef.h>

struct strbuf;

#define RL_SAMPLE_S 0.25          /* the timeline's interval while nothing changes */
#define RL_MAX_SAMPLES 2048       /* a pool's timeline never holds more */

struct rl_bucket {
	double rate;              /* units a second; 0: no limit */
	double cap;               /* the most it holds: one second's worth, at least 1 */
	double level;             /* what it holds now; below 0 while a large request is owed */
	double at;                /* when level was last refilled */
};

/* a limit of per_minute units a minute (0: none), the bucket full at now */
void rl_bucket_init(struct rl_bucket *b, double per_minute, double now);
/* seconds until a request of need units may go (0: now); need is capped at the bucket's size */
double rl_bucket_wait(struct rl_bucket *b, double now, double need);
/* take n units (n < 0 gives back: a reply used fewer tokens than estimated) */
void rl_bucket_take(struct rl_bucket *b, double n);

/* what a reply's rate-limit headers said; -1 for each one absent */
struct rl_hint {
	double limit_requests;    /* x-ratelimit-limit-requests */
	double remaining_requests; /* x-ratelimit-remaining-requests */
	double reset_requests_s;  /* x-ratelimit-reset-requests, in seconds */
	double limit_tokens;      /* x-ratelimit-limit-tokens */
	double remaining_tokens;  /* x-ratelimit-remaining-tokens */
	double reset_tokens_s;    /* x-ratelimit-reset-tokens, in seconds */
};

void rl_hint_init(struct rl_hint *h);
/*
 * Read one response header into h when it is an x-ratelimit-* one (name
 * is name_len bytes, value value_len bytes, neither NUL-terminated); 1 when
 * it was, 0 otherwise.
 */
int rl_hint_header(struct rl_hint *h, const char *name, size_t name_len, const char *value,
		   size_t value_len);
/* "12ms", "6m0s", "1h2m3.5s", "0.5s", "20" (seconds): seconds, or -1 when unreadable */
double rl_parse_duration(const char *s, size_t len);

struct rl_sample {
	double t;                 /* seconds since rl_pool_begin */
	int limit;                /* the allowed concurrency */
	int in_flight;            /* requests running */
	long n429;                /* 429 replies so far */
	long requests;            /* replies so far */
};

struct rl_pool {
	const char *name;         /* "target" or "scorer", borrowed */
	int max;                  /* the configured concurrency, >= 1 */
	int limit;                /* allowed now, 1..max */
	int acked;                /* successes since the limit last grew */
	double decreased_at;      /* when the limit last halved; < 0: never */
	double hold_until;        /* the headers said the quota is spent: nothing starts before */
	double t0;                /* rl_pool_begin's now */
	long requests;            /* replies seen since rl_pool_begin */
	long n429;                /* of which 429 */
	long backoffs;            /* decreases since rl_pool_begin */
	int min_limit;            /* the lowest limit since rl_pool_begin */
	struct rl_sample *samples; /* the timeline since rl_pool_begin */
	size_t n_samples, alloc;
	double every;             /* the timeline's interval now (grows as it is thinned) */
	double sampled_at;        /* time of the last sample */
};

void rl_pool_init(struct rl_pool *p, const char *name, int max, double now);
void rl_pool_release(struct rl_pool *p);
/* a new run: counters and timeline start over at now (the limit is kept) */
void rl_pool_begin(struct rl_pool *p, double now);
/* 1 when one more request may start with in_flight running */
int rl_pool_admits(const struct rl_pool *p, double now, int in_flight);
/*
 * A reply (status 0: no reply) to a request sent at sent_at; hint may be
 * NULL. A 429 or a nearly spent quota halves the limit (once per round
 * trip); a 2xx counts towards the next increase.
 */
void rl_pool_reply(struct rl_pool *p, double now, double sent_at, long status,
		   const struct rl_hint *hint);
/* record a sample when the limit changed or the interval passed (force: always) */
void rl_pool_sample(struct rl_pool *p, double now, int in_flight, int force);

/*
 * The pools' timelines as one JSON object:
 * {"pools":[{"name","max","min_limit","n429","backoffs","requests",
 *   "samples":[[t,limit,in_flight,n429,requests],...]}]}
 */
void rl_timeline_json(struct strbuf *sb, const struct rl_pool *const *pools, size_t n);

#endif
