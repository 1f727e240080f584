/*
 * gate_values: the value metrics, one family: the values the run's results
 * hold (history_values, every repeat counted) in scope, reduced to one
 * number between min and max.
 *
 *   score.<scorer>  a stat of that scorer's scores, in [0, 1]
 *   latency_ms      a stat of the target calls' latencies
 *   tokens          a stat of prompt + completion tokens per target call
 *   cost_usd        the total cost of the target calls, from the config's prices
 *   ttft_ms         a stat of the streamed calls' times to first token
 *   itl_ms          a stat of the streamed calls' mean inter-token times
 *   steps           a stat of the replies per answered result (agent loop steps; 1 without)
 *
 * A stat is mean (the default), min, max, p50, p90, p95 or p99. Values that
 * are not known (an errored scorer, a cache hit's latency, missing usage)
 * are left out and counted in the detail.
 */
#include "gate_types.h"

#include <math.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

/* what one type of the family reads and how its details speak of it */
struct values_kind {
	enum history_values what;
	const char *noun;         /* what a value is called in details */
	const char *unknown;      /* why a value can be missing */
	int total;                /* the sum of the values rather than a stat */
};

double gate_stat_of(enum gate_stat s, double *v, size_t n)
{
	switch (s) {
	case STAT_MIN:
		return stats_percentile(v, n, 0);
	case STAT_MAX:
		return stats_percentile(v, n, 100);
	case STAT_P50:
		return stats_percentile(v, n, 50);
	case STAT_P90:
		return stats_percentile(v, n, 90);
	case STAT_P95:
		return stats_percentile(v, n, 95);
	case STAT_P99:
		return stats_percentile(v, n, 99);
	case STAT_MEAN:
	case STAT_NONE:
		break;
	}
	return stats_mean(v, n);
}

static int values_eval(const struct eg_gate *g, struct history *h, const char *run_id,
		       const struct values_kind *k, struct gate_result *res)
{
	struct gate_row *row = &res->row;
	struct strbuf *detail = &res->detail;
	struct value_set vs;
	size_t i;

	if (history_values(h, run_id, g->suite, g->tag, k->what, g->scorer, &vs))
		return -1;
	row->n = (long)vs.n;
	if (!vs.n) {
		row->value = NAN;
		if (g->scorer)
			strbuf_addf(detail, "no scores of scorer '%s' in scope %s", g->scorer,
				    res->scope.buf);
		else
			strbuf_addf(detail, "no %s with a value in scope %s", k->noun,
				    res->scope.buf);
	} else if (k->total) {
		row->value = 0;
		for (i = 0; i < vs.n; i++)
			row->value += vs.v[i];
		strbuf_addf(detail, "total of %zu %s", vs.n, k->noun);
	} else {
		row->value = gate_stat_of(g->stat, vs.v, vs.n);
		strbuf_addf(detail, "%s of %zu %s", gate_stat_name(g->stat), vs.n, k->noun);
	}
	if (vs.n_error)
		strbuf_addf(detail, "; %ld scorer error%s left out", vs.n_error,
			    vs.n_error == 1 ? "" : "s");
	if (vs.n_unknown)
		strbuf_addf(detail, "; %ld %s left out", vs.n_unknown, k->unknown);
	gate_detail_cut(detail);
	value_set_release(&vs);
	gate_check_limits(g, row);
	return 0;
}

/* --- score.<scorer> --- */

static int score_parse(struct eg_gate *g, const struct gate_parse *p)
{
	char field[64];

	if (!g->metric[strlen(g->type->name)])
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "metric"),
				  gate_field(p, "metric", field, sizeof(field)),
				  "score. needs a scorer name, e.g. score.judge");
	g->scorer = xstrdup(g->metric + strlen(g->type->name));
	return gate_parse_bounded(g, p, 1, 1);
}

static int score_eval(const struct eg_gate *g, struct history *h, const char *run_id,
		      const struct gates *gs, struct gate_result *res)
{
	static const struct values_kind k = { VALUES_SCORE, "scores", "without a score", 0 };

	return values_eval(g, h, run_id, &k, res);
}

const struct gate_type gate_score = {
	.name = "score.",
	.shown = "score.<scorer>",
	.fields = gate_limit_fields,
	.parse = score_parse,
	.eval = score_eval,
};

/* --- latency_ms --- */

/*
 * "cached": how a cache hit's latency counts. "stored" (the default): the
 * latency stored with the answer when it was obtained, so a re-run from the
 * cache is gated as the run that filled it; "exclude": cache hits are left
 * out, and a run answered wholly from the cache has no latency to gate.
 */
static const char *const latency_fields[] = { "stat", "min", "max", "window", "scorer",
					      "cached", NULL };

struct latency_gate {
	int exclude_cached;       /* "cached": "exclude" */
};

static int latency_ms_parse(struct eg_gate *g, const struct gate_parse *p)
{
	struct latency_gate *lg = xcalloc(1, sizeof(*lg));
	const char *cached = "stored";
	char prefix[64], field[64];

	g->ctx = lg;
	if (jdoc_string(p->doc, p->spec, gate_field(p, "", prefix, sizeof(prefix)), "cached", 0,
			&cached))
		return -1;
	if (strcmp(cached, "stored") && strcmp(cached, "exclude"))
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "cached"),
				  gate_field(p, "cached", field, sizeof(field)),
				  "'%s': expected stored (a cache hit counts at the latency stored "
				  "with its answer) or exclude", cached);
	lg->exclude_cached = !strcmp(cached, "exclude");
	return gate_parse_bounded(g, p, 1, 1e9);
}

static int latency_ms_eval(const struct eg_gate *g, struct history *h, const char *run_id,
			   const struct gates *gs, struct gate_result *res)
{
	static const struct values_kind fresh = {
		VALUES_LATENCY_MS, "calls",
		"without a measured latency (error, cache hit or no call)", 0
	};
	static const struct values_kind stored = {
		VALUES_LATENCY_MS_STORED, "calls",
		"without a measured latency (error, no call, or a cache hit stored without one)", 0
	};
	const struct latency_gate *lg = g->ctx;

	return values_eval(g, h, run_id, lg->exclude_cached ? &fresh : &stored, res);
}

const struct gate_type gate_latency_ms = {
	.name = "latency_ms",
	.fields = latency_fields,
	.value_decimals = 1,
	.parse = latency_ms_parse,
	.eval = latency_ms_eval,
};

/* --- ttft_ms and itl_ms: streamed replies (SPEC 11, 13); a cache hit carries the original --- */

extern const struct gate_type gate_ttft_ms;

static int stream_eval(const struct eg_gate *g, struct history *h, const char *run_id,
		       const struct gates *gs, struct gate_result *res)
{
	static const struct values_kind ttft = {
		VALUES_TTFT_MS, "streamed calls",
		"without a first token (error, not streamed or no content)", 0
	};
	static const struct values_kind itl = {
		VALUES_ITL_MS, "streamed calls",
		"without two content chunks (error, not streamed or one chunk)", 0
	};

	return values_eval(g, h, run_id, g->type == &gate_ttft_ms ? &ttft : &itl, res);
}

const struct gate_type gate_ttft_ms = {
	.name = "ttft_ms",
	.fields = gate_limit_fields,
	.value_decimals = 1,
	.parse = latency_ms_parse,
	.eval = stream_eval,
};

const struct gate_type gate_itl_ms = {
	.name = "itl_ms",
	.fields = gate_limit_fields,
	.value_decimals = 1,
	.parse = latency_ms_parse,
	.eval = stream_eval,
};

/* --- tokens --- */

static int tokens_parse(struct eg_gate *g, const struct gate_parse *p)
{
	return gate_parse_bounded(g, p, 1, 1e12);
}

static int tokens_eval(const struct eg_gate *g, struct history *h, const char *run_id,
		       const struct gates *gs, struct gate_result *res)
{
	static const struct values_kind k = { VALUES_TOKENS, "results", "without usage", 0 };

	return values_eval(g, h, run_id, &k, res);
}

const struct gate_type gate_tokens = {
	.name = "tokens",
	.fields = gate_limit_fields,
	.value_decimals = 1,
	.parse = tokens_parse,
	.eval = tokens_eval,
};

/* --- cost_usd --- */

/* a cost_usd gate needs the target model's price */
static int cost_usd_parse(struct eg_gate *g, const struct gate_parse *p)
{
	const cJSON *prices = cJSON_GetObjectItemCaseSensitive(p->cfg->root, "prices");

	if (gate_parse_bounded(g, p, 0, 1e9))
		return -1;
	if (config_price(p->cfg, p->cfg->target.model))
		return 0;
	gate_name_default(g);
	if (!p->cfg->target.model)
		return jdoc_error(p->doc, p->spec, "target.model",
				  "gate '%s' prices the answers at the target's model: name it",
				  g->name);
	return jdoc_error(p->doc, prices ? prices : p->spec, "prices",
			  "no price for model '%s' (target.model), which gate '%s' needs",
			  p->cfg->target.model, g->name);
}

static int cost_usd_eval(const struct eg_gate *g, struct history *h, const char *run_id,
			 const struct gates *gs, struct gate_result *res)
{
	static const struct values_kind k = { VALUES_COST_USD, "results", "without usage", 1 };

	return values_eval(g, h, run_id, &k, res);
}

const struct gate_type gate_cost_usd = {
	.name = "cost_usd",
	.fields = gate_limit_fields,
	.value_decimals = 6,
	.parse = cost_usd_parse,
	.eval = cost_usd_eval,
};

/* --- steps --- */

static int steps_parse(struct eg_gate *g, const struct gate_parse *p)
{
	return gate_parse_bounded(g, p, 1, 1e6);
}

static int steps_eval(const struct eg_gate *g, struct history *h, const char *run_id,
		      const struct gates *gs, struct gate_result *res)
{
	static const struct values_kind k = { VALUES_STEPS, "answered results", "without an answer",
					      0 };

	return values_eval(g, h, run_id, &k, res);
}

const struct gate_type gate_steps = {
	.name = "steps",
	.fields = gate_limit_fields,
	.value_decimals = 2,
	.parse = steps_parse,
	.eval = steps_eval,
};
