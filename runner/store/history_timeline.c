/*
 * history_timeline: a run's concurrency timeline (table run_timelines), as
 * the gateway's rate limiter recorded it (runner/ratelimit.h).
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "history_impl.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

int history_set_timeline(struct history *h, const char *run_id, const char *json)
{
	return history_run_text_set(h, "INSERT OR REPLACE INTO run_timelines (run_id, timeline) "
				    "VALUES (?1, ?2)", run_id, json,
				    "cannot store the run's concurrency timeline");
}

int history_timeline(struct history *h, const char *run_id, struct strbuf *out)
{
	return history_run_text_get(h, "SELECT timeline FROM run_timelines WHERE run_id = ?1",
				    run_id, out, "cannot read the run's concurrency timeline");
}

static long num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

/* a stored pool into p; -1 when it is not what the run wrote */
static int load_pool(const cJSON *o, struct timeline_pool *p)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
	const cJSON *samples = cJSON_GetObjectItemCaseSensitive(o, "samples"), *s;

	if (!cJSON_IsString(name) || !cJSON_IsArray(samples))
		return -1;
	p->name = xstrdup(name->valuestring);
	p->max = (int)num(o, "max");
	p->min_limit = (int)num(o, "min_limit");
	p->n429 = num(o, "n429");
	p->backoffs = num(o, "backoffs");
	p->requests = num(o, "requests");
	p->samples = xcalloc((size_t)cJSON_GetArraySize(samples) + 1, sizeof(*p->samples));
	cJSON_ArrayForEach(s, samples) {
		struct timeline_sample *ts = &p->samples[p->n_samples];
		double v[5];
		int i;

		if (cJSON_GetArraySize(s) != 5)
			return -1;
		for (i = 0; i < 5; i++) {
			const cJSON *x = cJSON_GetArrayItem(s, i);

			if (!cJSON_IsNumber(x))
				return -1;
			v[i] = x->valuedouble;
		}
		ts->t = v[0];
		ts->limit = (int)v[1];
		ts->in_flight = (int)v[2];
		ts->n429 = (long)v[3];
		ts->requests = (long)v[4];
		if (ts->limit > p->top_limit)
			p->top_limit = ts->limit;
		p->n_samples++;
	}
	return 0;
}

int history_timeline_load(struct history *h, const char *run_id, struct run_timeline *tl)
{
	struct strbuf sb = STRBUF_INIT;
	const cJSON *pools, *o;
	cJSON *root = NULL;
	int ret;

	memset(tl, 0, sizeof(*tl));
	ret = history_timeline(h, run_id, &sb);
	if (ret)
		goto out;
	root = cJSON_Parse(sb.buf);
	pools = cJSON_GetObjectItemCaseSensitive(root, "pools");
	ret = 1;
	if (!cJSON_IsArray(pools))
		goto out;
	tl->pools = xcalloc((size_t)cJSON_GetArraySize(pools) + 1, sizeof(*tl->pools));
	cJSON_ArrayForEach(o, pools)
		if (load_pool(o, &tl->pools[tl->n_pools++]))
			goto out_release;
	ret = 0;
	goto out;
out_release:
	run_timeline_release(tl);
out:
	cJSON_Delete(root);
	strbuf_release(&sb);
	return ret;
}

void run_timeline_release(struct run_timeline *tl)
{
	size_t i;

	for (i = 0; i < tl->n_pools; i++) {
		free(tl->pools[i].name);
		free(tl->pools[i].samples);
	}
	free(tl->pools);
	memset(tl, 0, sizeof(*tl));
}

void timeline_pool_summary(struct strbuf *sb, const struct timeline_pool *p)
{
	strbuf_addf(sb, "%s %d max, %d-%d, %ld 429s, %ld back-offs", p->name, p->max, p->min_limit,
		    p->top_limit, p->n429, p->backoffs);
}
