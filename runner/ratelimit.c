/*
 * ratelimit: AIMD concurrency, token buckets and the concurrency timeline
 * (see ratelimit.h).
 */
#include "ratelimit.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonw.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define RL_LOW_SHARE 0.05         /* remaining under this share of the limit: nearly spent */
#define RL_HOLD_MAX_S 60.0        /* the longest a reset header holds a pool */

/* ---------------------------------------------------------------- buckets */

void rl_bucket_init(struct rl_bucket *b, double per_minute, double now)
{
	b->rate = per_minute > 0 ? per_minute / 60.0 : 0;
	b->cap = b->rate > 1 ? b->rate : 1;
	b->level = b->cap;
	b->at = now;
}

static void bucket_refill(struct rl_bucket *b, double now)
{
	if (now > b->at)
		b->level += (now - b->at) * b->rate;
	if (b->level > b->cap)
		b->level = b->cap;
	b->at = now;
}

double rl_bucket_wait(struct rl_bucket *b, double now, double need)
{
	if (!b->rate)
		return 0;
	bucket_refill(b, now);
	if (need > b->cap)
		need = b->cap;
	/* a refill's rounding must not leave a wait too short to advance a clock */
	if (b->level >= need - 1e-9)
		return 0;
	return (need - b->level) / b->rate;
}

void rl_bucket_take(struct rl_bucket *b, double n)
{
	if (!b->rate)
		return;
	b->level -= n;
	if (b->level > b->cap)
		b->level = b->cap;
}

/* ---------------------------------------------------------------- headers */

void rl_hint_init(struct rl_hint *h)
{
	h->limit_requests = h->remaining_requests = h->reset_requests_s = -1;
	h->limit_tokens = h->remaining_tokens = h->reset_tokens_s = -1;
}

/* a non-negative decimal number of len bytes at s, with *used set to the bytes read; -1 if none */
static double read_number(const char *s, size_t len, size_t *used)
{
	double v = 0, scale = 1;
	size_t i = 0;
	int digits = 0;

	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
		if (v < 1e15)
			v = v * 10 + (s[i] - '0');
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
			scale /= 10;
			v += (s[i] - '0') * scale;
		}
	*used = i;
	return digits ? v : -1;
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' ||
			(*s)[*len - 1] == '\r' || (*s)[*len - 1] == '\n'))
		(*len)--;
}

double rl_parse_duration(const char *s, size_t len)
{
	double total = 0;
	int parts = 0;

	trim(&s, &len);
	while (len) {
		size_t used;
		double v = read_number(s, len, &used), unit;

		if (v < 0)
			return -1;
		s += used;
		len -= used;
		if (!len) {
			/* a bare number is seconds, and only alone */
			if (parts)
				return -1;
			unit = 1;
		} else if (len >= 2 && !strncmp(s, "ms", 2)) {
			unit = 0.001;
			s += 2;
			len -= 2;
		} else if (*s == 'h' || *s == 'm' || *s == 's') {
			unit = *s == 'h' ? 3600 : *s == 'm' ? 60 : 1;
			s++;
			len--;
		} else {
			return -1;
		}
		total += v * unit;
		parts++;
	}
	return parts ? total : -1;
}

int rl_hint_header(struct rl_hint *h, const char *name, size_t name_len, const char *value,
		   size_t value_len)
{
	static const char prefix[] = "x-ratelimit-";
	static const struct {
		const char *suffix;
		size_t off;
		int duration;
	} fields[] = {
		{ "limit-requests", offsetof(struct rl_hint, limit_requests), 0 },
		{ "remaining-requests", offsetof(struct rl_hint, remaining_requests), 0 },
		{ "reset-requests", offsetof(struct rl_hint, reset_requests_s), 1 },
		{ "limit-tokens", offsetof(struct rl_hint, limit_tokens), 0 },
		{ "remaining-tokens", offsetof(struct rl_hint, remaining_tokens), 0 },
		{ "reset-tokens", offsetof(struct rl_hint, reset_tokens_s), 1 },
	};
	size_t plen = sizeof(prefix) - 1, i;

	if (name_len <= plen || strncasecmp(name, prefix, plen))
		return 0;
	name += plen;
	name_len -= plen;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		double *dst = (double *)((char *)h + fields[i].off);
		size_t used;
		double v;

		if (strlen(fields[i].suffix) != name_len ||
		    strncasecmp(name, fields[i].suffix, name_len))
			continue;
		trim(&value, &value_len);
		if (fields[i].duration) {
			v = rl_parse_duration(value, value_len);
		} else {
			v = read_number(value, value_len, &used);
			if (used != value_len)
				v = -1;
		}
		*dst = v;
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- pools */

void rl_pool_init(struct rl_pool *p, const char *name, int max, double now)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->max = max > 0 ? max : 1;
	p->limit = p->max;
	rl_pool_begin(p, now);
}

void rl_pool_release(struct rl_pool *p)
{
	free(p->samples);
	p->samples = NULL;
	p->n_samples = p->alloc = 0;
}

void rl_pool_begin(struct rl_pool *p, double now)
{
	p->t0 = now;
	p->requests = p->n429 = p->backoffs = 0;
	p->min_limit = p->limit;
	p->n_samples = 0;
	p->every = RL_SAMPLE_S;
	p->sampled_at = -1;
	p->decreased_at = -1;
	p->hold_until = 0;
	p->acked = 0;
}

int rl_pool_admits(const struct rl_pool *p, double now, int in_flight)
{
	return in_flight < p->limit && now >= p->hold_until;
}

static void decrease(struct rl_pool *p, double now, double sent_at)
{
	/* the same congestion as the last decrease: its requests were already out */
	if (p->decreased_at >= 0 && sent_at < p->decreased_at)
		return;
	p->decreased_at = now;
	p->acked = 0;
	if (p->limit > 1) {
		p->limit = p->limit / 2;
		p->backoffs++;
		if (p->limit < p->min_limit)
			p->min_limit = p->limit;
	}
}

/* remaining of limit is nearly spent */
static int low(double remaining, double limit)
{
	if (remaining < 0)
		return 0;
	if (remaining < 1)
		return 1;
	return limit > 0 && remaining < limit * RL_LOW_SHARE;
}

/* the quota is spent: hold the pool until the header's reset */
static void hold(struct rl_pool *p, double now, double remaining, double reset_s)
{
	if (remaining < 0 || remaining >= 1 || reset_s <= 0)
		return;
	if (reset_s > RL_HOLD_MAX_S)
		reset_s = RL_HOLD_MAX_S;
	if (now + reset_s > p->hold_until)
		p->hold_until = now + reset_s;
}

void rl_pool_reply(struct rl_pool *p, double now, double sent_at, long status,
		   const struct rl_hint *hint)
{
	int near = 0;

	p->requests++;
	if (hint) {
		near = low(hint->remaining_requests, hint->limit_requests) ||
		       low(hint->remaining_tokens, hint->limit_tokens);
		hold(p, now, hint->remaining_requests, hint->reset_requests_s);
		hold(p, now, hint->remaining_tokens, hint->reset_tokens_s);
	}
	if (status == 429)
		p->n429++;
	if (status == 429 || near) {
		decrease(p, now, sent_at);
		return;
	}
	if (status < 200 || status >= 300)
		return;
	if (++p->acked >= p->limit) {
		p->acked = 0;
		if (p->limit < p->max)
			p->limit++;
	}
}

/* halve the timeline: every other sample goes, and the interval doubles */
static void thin(struct rl_pool *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->n_samples; i += 2)
		p->samples[n++] = p->samples[i];
	p->n_samples = n;
	p->every *= 2;
}

void rl_pool_sample(struct rl_pool *p, double now, int in_flight, int force)
{
	struct rl_sample *last = p->n_samples ? &p->samples[p->n_samples - 1] : NULL;
	struct rl_sample *s;

	if (!force && last && last->limit == p->limit && now - p->sampled_at < p->every)
		return;
	if (p->n_samples == RL_MAX_SAMPLES)
		thin(p);
	XGROW(p->samples, p->n_samples + 1, p->alloc);
	s = &p->samples[p->n_samples++];
	s->t = now - p->t0 > 0 ? now - p->t0 : 0;
	s->limit = p->limit;
	s->in_flight = in_flight;
	s->n429 = p->n429;
	s->requests = p->requests;
	p->sampled_at = now;
}

void rl_timeline_json(struct strbuf *sb, const struct rl_pool *const *pools, size_t n)
{
	struct jsonw w;
	size_t i, k;

	jsonw_init(&w, sb, 0);
	jsonw_object_begin(&w);
	jsonw_key(&w, "pools");
	jsonw_array_begin(&w);
	for (i = 0; i < n; i++) {
		const struct rl_pool *p = pools[i];

		jsonw_object_begin(&w);
		jsonw_member_str(&w, "name", p->name);
		jsonw_member_int(&w, "max", p->max);
		jsonw_member_int(&w, "min_limit", p->min_limit);
		jsonw_member_int(&w, "n429", p->n429);
		jsonw_member_int(&w, "backoffs", p->backoffs);
		jsonw_member_int(&w, "requests", p->requests);
		jsonw_key(&w, "samples");
		jsonw_array_begin(&w);
		for (k = 0; k < p->n_samples; k++) {
			const struct rl_sample *s = &p->samples[k];

			jsonw_array_begin(&w);
			jsonw_num(&w, floor(s->t * 1000 + 0.5) / 1000);
			jsonw_int(&w, s->limit);
			jsonw_int(&w, s->in_flight);
			jsonw_int(&w, s->n429);
			jsonw_int(&w, s->requests);
			jsonw_array_end(&w);
		}
		jsonw_array_end(&w);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
}
