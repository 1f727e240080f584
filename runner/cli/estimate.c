#include "estimate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hashmap.h"
#include "stats.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/* runs looked at: recent enough to price today's prompts, few enough to read quickly */
#define ESTIMATE_RUNS 20

struct usage_index {
	const struct eg_config *cfg;
	struct hashmap by_hash;  /* case_hash -> 1 + index in tokens/cost */
	struct hashmap by_id;    /* "suite\037id" -> the same */
	double *tokens, *cost;   /* per case seen, the newest result's */
	size_t n, alloc_t, alloc_c;
	struct strbuf key;
};

static int add_usage(const struct case_usage *u, void *arg)
{
	struct usage_index *x = arg;
	const struct eg_config *cfg = x->cfg;
	const char *model = cfg->target.model ? cfg->target.model : u->model;
	const char *judge = cfg->judge.model ? cfg->judge.model : model;
	uint64_t *slot;
	int added_hash = 0, added_id;
	double cost;

	strbuf_reset(&x->key);
	strbuf_addf(&x->key, "%s\037%s", u->suite, u->case_id);
	slot = hashmap_put_str(&x->by_id, x->key.buf, x->key.len, &added_id);
	if (!added_id)
		return 0; /* a newer result of the case was seen */
	*slot = x->n + 1;
	if (u->case_hash) {
		slot = hashmap_put_str(&x->by_hash, u->case_hash, strlen(u->case_hash), &added_hash);
		if (added_hash)
			*slot = x->n + 1;
	}
	XGROW(x->tokens, x->n + 1, x->alloc_t);
	XGROW(x->cost, x->n + 1, x->alloc_c);
	x->tokens[x->n] = (double)((u->prompt_tokens > 0 ? u->prompt_tokens : 0) +
				   (u->completion_tokens > 0 ? u->completion_tokens : 0) +
				   (u->judge_prompt_tokens > 0 ? u->judge_prompt_tokens : 0) +
				   (u->judge_completion_tokens > 0 ? u->judge_completion_tokens : 0));
	cost = config_cost(cfg, model, u->prompt_tokens < 0 ? 0 : u->prompt_tokens,
			   u->completion_tokens < 0 ? 0 : u->completion_tokens);
	if (u->judge_prompt_tokens > 0 || u->judge_completion_tokens > 0)
		cost += config_cost(cfg, judge, u->judge_prompt_tokens < 0 ? 0 : u->judge_prompt_tokens,
				    u->judge_completion_tokens < 0 ? 0 : u->judge_completion_tokens);
	x->cost[x->n] = cost;
	x->n++;
	return 0;
}

/* index + 1 of the case's usage, 0 when it has none */
static uint64_t find_usage(struct usage_index *x, const char *suite, const struct eg_case *c)
{
	uint64_t *slot = hashmap_get_str(&x->by_hash, c->hash, strlen(c->hash));

	if (slot)
		return *slot;
	strbuf_reset(&x->key);
	strbuf_addf(&x->key, "%s\037%s", suite, c->id);
	slot = hashmap_get_str(&x->by_id, x->key.buf, x->key.len);
	return slot ? *slot : 0;
}

/* the sum of n known values plus m unknown ones drawn like them, and its 95% interval */
static void sum_interval(const double *v, size_t n, long m, double *sum, double *lo, double *hi)
{
	double known = 0, mean = stats_mean(v, n), sd = stats_sd(v, n), half;
	size_t i;

	for (i = 0; i < n; i++)
		known += v[i];
	*sum = known + (m ? (double)m * mean : 0);
	if (!m) {
		*lo = *hi = *sum;
		return;
	}
	if (n < 2 || isnan(*sum)) {
		*lo = *hi = NAN;
		return;
	}
	half = stats_t95((long)n - 1) * sd * sqrt((double)m + (double)m * (double)m / (double)n);
	*lo = *sum - half < known ? known : *sum - half;
	*hi = *sum + half;
}

int cost_estimate(const struct setup *s, struct history *h, int repeats,
		  struct cost_estimate *out)
{
	struct usage_index x;
	double *tok = NULL, *cost = NULL;
	size_t n = 0, alloc_t = 0, alloc_c = 0, i;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->repeats = repeats > 1 ? repeats : 1;
	memset(&x, 0, sizeof(x));
	x.cfg = &s->cfg;
	hashmap_init_str(&x.by_hash, 0);
	hashmap_init_str(&x.by_id, 0);
	strbuf_init(&x.key, 0);
	if (h && history_case_usage(h, ESTIMATE_RUNS, add_usage, &x))
		goto out;
	for (i = 0; i < s->n_suites; i++) {
		struct case_reader rd;
		struct eg_case c;
		int rc;

		if (case_reader_open(&rd, &s->suites[i], &s->filter))
			goto out;
		while ((rc = case_reader_next(&rd, &c)) > 0) {
			uint64_t k = find_usage(&x, s->suites[i].name, &c);

			out->cases++;
			if (k) {
				XGROW(tok, n + 1, alloc_t);
				XGROW(cost, n + 1, alloc_c);
				tok[n] = x.tokens[k - 1];
				cost[n] = x.cost[k - 1];
				n++;
			}
			case_release(&c);
		}
		case_reader_close(&rd);
		if (rc < 0)
			goto out;
	}
	out->known = (long)n;
	sum_interval(tok, n, out->cases - out->known, &out->tokens, &out->tokens_lo,
		     &out->tokens_hi);
	sum_interval(cost, n, out->cases - out->known, &out->cost_usd, &out->cost_lo,
		     &out->cost_hi);
	out->tokens *= out->repeats;
	out->tokens_lo *= out->repeats;
	out->tokens_hi *= out->repeats;
	out->cost_usd *= out->repeats;
	out->cost_lo *= out->repeats;
	out->cost_hi *= out->repeats;
	ret = 0;
out:
	free(tok);
	free(cost);
	free(x.tokens);
	free(x.cost);
	hashmap_release(&x.by_hash);
	hashmap_release(&x.by_id);
	strbuf_release(&x.key);
	return ret;
}

void cost_estimate_print(FILE *f, const struct cost_estimate *e)
{
	if (!e->known) {
		fprintf(f, "  cost estimate: none (no case of the %ld has tokens in the history)\n",
			e->cases);
		return;
	}
	fprintf(f, "  cost estimate: %.0f tokens", e->tokens);
	if (!isnan(e->tokens_lo))
		fprintf(f, " (95%% interval %.0f to %.0f)", e->tokens_lo, e->tokens_hi);
	if (isnan(e->cost_usd))
		fprintf(f, ", cost unknown (a model has no price in prices)");
	else if (!isnan(e->cost_lo))
		fprintf(f, ", $%.4f (95%% interval $%.4f to $%.4f)", e->cost_usd, e->cost_lo,
			e->cost_hi);
	else
		fprintf(f, ", $%.4f (no interval: too few cases with history)", e->cost_usd);
	fprintf(f, "\n  from the history of %ld of %ld cases; %ld have no history (estimated at "
		"the mean of the others)%s\n", e->known, e->cases, e->cases - e->known,
		e->repeats > 1 ? ", times the repeats" : "");
}
