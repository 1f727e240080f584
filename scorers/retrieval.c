/*
 * retrieval: did the target retrieve the passages it should have? No model
 * call: the case's expected_context_ids against the ids of the passages the
 * target returned (the http target's `context_ids`, or the case's own
 * `context_ids` in an online suite), in the order returned.
 *
 * {"type": "retrieval", "metric": "recall", "k": 5, "min": 0.8}
 *
 *   metric  "hit"    1 when one of the first k retrieved ids is expected;
 *           "recall" the share of the expected ids among the first k
 *                    (default);
 *           "mrr"    1 / rank of the first expected id among the first k,
 *                    0 when none is (reciprocal rank);
 *           "ndcg"   nDCG@k with binary relevance: DCG = sum over expected
 *                    ids at rank r <= k of 1 / log2(r + 1), divided by the
 *                    DCG of the ideal order, min(k, expected) hits first.
 *   k       how many retrieved ids count, >= 1 (default 10);
 *   min     pass when the score is at least this, in [0, 1] (default 1 for
 *           hit, 0.5 for the others).
 * A retrieved id met twice counts once, at its first rank. A case without
 * expected_context_ids is a scorer error (there is nothing to measure); a
 * target that returned no ids scores 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "xalloc.h"
#include "banned.h"

enum retrieval_metric { RM_HIT, RM_RECALL, RM_MRR, RM_NDCG };

static const char *const metric_names[] = { "hit", "recall", "mrr", "ndcg" };

struct retrieval_ctx {
	enum retrieval_metric metric;
	size_t k;   /* retrieved ids that count, >= 1 */
	double min; /* pass threshold, in [0, 1] */
};

static const char *const retrieval_fields[] = { "metric", "k", "min", NULL };

static int retrieval_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const char *metric = "recall";
	double k = 10, min = -1;
	struct retrieval_ctx *ctx;
	size_t m;

	if (scorer_spec_opt_string(spec, "metric", loc, "retrieval", &metric) ||
	    scorer_spec_opt_number(spec, "k", loc, "retrieval", &k) ||
	    scorer_spec_opt_number(spec, "min", loc, "retrieval", &min))
		return -1;
	for (m = 0; m < sizeof(metric_names) / sizeof(metric_names[0]); m++)
		if (!strcmp(metric, metric_names[m]))
			break;
	if (m == sizeof(metric_names) / sizeof(metric_names[0])) {
		struct strbuf q = STRBUF_INIT;
		esc_visible(&q, metric, strlen(metric), SCORER_QUOTE_MAX);
		scorer_error(loc, "retrieval", "field \"metric\" must be hit, recall, mrr or ndcg, "
			     "not \"%s\"", q.buf);
		strbuf_release(&q);
		return -1;
	}
	if (k < 1 || k > 1e6 || k != floor(k))
		return scorer_error(loc, "retrieval", "field \"k\" must be a whole number from 1, "
				    "not %g", k);
	if (cJSON_GetObjectItemCaseSensitive(spec, "min") && (min < 0 || min > 1))
		return scorer_error(loc, "retrieval", "field \"min\" must be between 0 and 1, "
				    "not %g", min);
	ctx = xmalloc(sizeof(*ctx));
	ctx->metric = (enum retrieval_metric)m;
	ctx->k = (size_t)k;
	ctx->min = min >= 0 ? min : m == RM_HIT ? 1 : 0.5;
	s->ctx = ctx;
	return 0;
}

static int in_list(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] && !strcmp(v[i], s))
			return 1;
	return 0;
}

static enum score_status retrieval_score(const struct scorer *s, struct score_job *job,
					 struct score_result *out)
{
	const struct retrieval_ctx *ctx = s->ctx;
	const struct eg_case *c = job->kase;
	struct strbuf r = STRBUF_INIT;
	size_t i, rank = 0, hits = 0, first = 0, n_exp, ideal;
	double dcg = 0, idcg = 0;

	if (!c || !c->n_expected_context_ids) {
		out->error = 1;
		out->reason = xstrdup("case has no expected_context_ids");
		return SCORE_DONE;
	}
	/* distinct expected ids */
	for (i = n_exp = 0; i < c->n_expected_context_ids; i++)
		n_exp += !in_list(c->expected_context_ids, i, c->expected_context_ids[i]);
	for (i = 0; i < c->n_context_ids && rank < ctx->k; i++) {
		const char *id = c->context_ids[i];

		if (!id || in_list(c->context_ids, i, id))
			continue; /* a repeat keeps its first rank */
		rank++;
		if (!in_list(c->expected_context_ids, c->n_expected_context_ids, id))
			continue;
		hits++;
		if (!first)
			first = rank;
		dcg += 1 / log2((double)rank + 1);
	}
	ideal = n_exp < ctx->k ? n_exp : ctx->k;
	for (i = 1; i <= ideal; i++)
		idcg += 1 / log2((double)i + 1);
	switch (ctx->metric) {
	case RM_HIT: out->score = hits > 0; break;
	case RM_RECALL: out->score = (double)hits / (double)n_exp; break;
	case RM_MRR: out->score = first ? 1 / (double)first : 0; break;
	case RM_NDCG: out->score = dcg / idcg; break;
	}
	if (out->score > 1)
		out->score = 1;
	out->pass = out->score >= ctx->min - 1e-12;
	strbuf_addf(&r, "%s@%zu %.3f (min %.3f): %zu of %zu expected among the first %zu of %zu "
		    "retrieved", metric_names[ctx->metric], ctx->k, out->score, ctx->min, hits, n_exp,
		    rank, c->n_context_ids);
	if (first)
		strbuf_addf(&r, ", first at rank %zu", first);
	out->reason = strbuf_detach(&r, NULL);
	return SCORE_DONE;
}

static void retrieval_release(struct scorer *s)
{
	free(s->ctx);
	s->ctx = NULL;
}

const struct scorer_type scorer_retrieval = {
	.name = "retrieval",
	.init = retrieval_init,
	.score = retrieval_score,
	.release = retrieval_release,
	.fields = retrieval_fields,
};
