/*
 * gate_delta: the "delta.<metric>" gates (SPEC 13): how far a value moved
 * against the regression baseline, over the cases paired with it.
 *
 *   delta.score.<scorer>  the mean paired difference of the scorer's score
 *                         (candidate - baseline); "max_drop" in [0, 1]
 *   delta.latency_ms      the change of a stat ("stat", default mean) of the
 *                         cases' latencies, in percent of the baseline's;
 *                         "max_increase_pct"
 *   delta.cost_usd        the change of the mean cost of a case, in percent;
 *                         "max_increase_pct"
 *
 * The baseline is named and resolved as for a regression gate ("baseline",
 * default "latest", run --baseline first), and cases are paired by
 * compare_runs (same suite, id and content). A case's value is the mean
 * over its repeats of the values that are known (a scored answer; a
 * measured or stored latency; a known cost); a pair without a value on
 * either side is left out and counted. Too few pairs (min_paired of the
 * candidate's cases in scope, default REGRESSION_DEFAULT_MIN_PAIRED) or no
 * baseline fails the gate with the reason.
 *
 * The interval is a paired percentile bootstrap (DELTA_BOOT_REPS resamples
 * of the pairs) seeded by "seed" and the two run ids: the same runs give
 * the same interval. The gate fails when the point estimate is past the
 * limit; the interval is shown beside it (docs/gates.md says why).
 */
#include "gate_types.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "compare.h"
#include "hashmap.h"
#include "regression.h"
#include "rng.h"
#include "xalloc.h"
#include "banned.h"

#define DELTA_BOOT_REPS 2000

enum delta_kind {
	DELTA_SCORE,
	DELTA_LATENCY,
	DELTA_COST,
};

/* the settings of a delta gate: the gate's ctx */
struct delta_gate {
	enum delta_kind kind;
	char *baseline;           /* baseline reference (baseline.h); default "latest" */
	double limit;             /* max_drop (score) or max_increase_pct (latency, cost) */
	double min_paired;        /* least share of the candidate's cases in scope paired */
	unsigned long long seed;  /* of the bootstrap, with the two run ids */
};

static const char *const delta_fields[] = { "baseline", "max_drop", "max_increase_pct", "stat",
					    "min_paired", "seed", NULL };

static int delta_parse(struct eg_gate *g, const struct gate_parse *p)
{
	struct delta_gate *dg = xcalloc(1, sizeof(*dg));
	const char *rest = g->metric + strlen("delta."), *baseline = "latest", *why;
	const char *limit_key;
	char prefix[64], field[64];
	struct strbuf name = STRBUF_INIT;
	double seed = 0;

	g->ctx = dg;
	gate_field(p, "", prefix, sizeof(prefix));
	if (!strncmp(rest, "score.", 6) && rest[6]) {
		dg->kind = DELTA_SCORE;
		g->scorer = xstrdup(rest + 6);
	} else if (!strcmp(rest, "latency_ms")) {
		dg->kind = DELTA_LATENCY;
	} else if (!strcmp(rest, "cost_usd")) {
		dg->kind = DELTA_COST;
	} else {
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "metric"),
				  gate_field(p, "metric", field, sizeof(field)),
				  "'%s': expected delta.score.<scorer>, delta.latency_ms or "
				  "delta.cost_usd", g->metric);
	}
	/* the stat only (min and max are not among the fields) */
	if (gate_parse_limits(g, p, dg->kind == DELTA_LATENCY, 0))
		return -1;
	limit_key = dg->kind == DELTA_SCORE ? "max_drop" : "max_increase_pct";
	if (cJSON_GetObjectItemCaseSensitive(p->spec, dg->kind == DELTA_SCORE ? "max_increase_pct"
							: "max_drop"))
		return jdoc_error(p->doc, p->spec, gate_field(p, NULL, field, sizeof(field)),
				  "%s takes %s", g->metric, limit_key);
	if (jdoc_number(p->doc, p->spec, prefix, limit_key, 1, 0,
			dg->kind == DELTA_SCORE ? 1 : 1e9, &dg->limit) ||
	    jdoc_string(p->doc, p->spec, prefix, "baseline", 0, &baseline))
		return -1;
	if (!baseline_ref_valid(baseline, &why))
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "baseline"),
				  gate_field(p, "baseline", field, sizeof(field)), "'%s': %s",
				  baseline, why);
	dg->baseline = xstrdup(baseline);
	dg->min_paired = REGRESSION_DEFAULT_MIN_PAIRED;
	if (jdoc_number(p->doc, p->spec, prefix, "min_paired", 0, 0, 1, &dg->min_paired) ||
	    jdoc_number(p->doc, p->spec, prefix, "seed", 0, 0, 9007199254740992.0, &seed))
		return -1;
	if (seed != floor(seed))
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "seed"),
				  gate_field(p, "seed", field, sizeof(field)),
				  "expected a whole number");
	dg->seed = (unsigned long long)seed;
	/* "faithfulness delta", "p95 latency_ms delta", "cost_usd delta", then the scope */
	if (!g->name) {
		if (dg->kind == DELTA_SCORE)
			strbuf_addf(&name, "%s delta", g->scorer);
		else if (dg->kind == DELTA_LATENCY)
			strbuf_addf(&name, "%s latency_ms delta", gate_stat_name(g->stat));
		else
			strbuf_addstr(&name, "cost_usd delta");
		if (g->suite)
			strbuf_addf(&name, " [suite %s]", g->suite);
		if (g->tag)
			strbuf_addf(&name, " [tag %s]", g->tag);
		g->name = strbuf_detach(&name, NULL);
	}
	return 0;
}

static void delta_release(struct eg_gate *g)
{
	struct delta_gate *dg = g->ctx;

	if (dg)
		free(dg->baseline);
	free(dg);
}

/* --- the values of one run, per case --- */

struct case_value {
	double sum;               /* of the known values over the case's repeats */
	long n;                   /* how many were known */
};

struct run_values {
	const struct eg_gate *g;
	enum delta_kind kind;
	struct hashmap index;     /* "suite\0case_id" -> 1 + index into v */
	struct case_value *v;
	size_t n, alloc;
};

/* the value of one stored result for the gate; NaN when not known */
static double result_value(const struct run_values *rv, const struct stored_result *r)
{
	const struct result_row *row = &r->row;
	size_t i;

	switch (rv->kind) {
	case DELTA_SCORE:
		for (i = 0; i < r->n_scores; i++)
			if (!strcmp(r->scores[i].scorer, rv->g->scorer) && !r->scores[i].error)
				return r->scores[i].score;
		return NAN;
	case DELTA_LATENCY:
		/* as a latency_ms gate counts it: a cache hit at its stored latency */
		if (row->status != RESULT_ERROR &&
		    ((!row->cached && row->attempts > 0) || (row->cached && row->latency_ms > 0)))
			return row->latency_ms;
		return NAN;
	case DELTA_COST:
		if (isnan(row->cost_usd) && isnan(row->judge_cost_usd))
			return NAN;
		return (isnan(row->cost_usd) ? 0 : row->cost_usd) +
		       (isnan(row->judge_cost_usd) ? 0 : row->judge_cost_usd);
	}
	return NAN;
}

static size_t case_key(struct strbuf *sb, const char *suite, const char *case_id)
{
	strbuf_reset(sb);
	strbuf_addstr(sb, suite);
	strbuf_addch(sb, '\0');
	strbuf_addstr(sb, case_id);
	return sb->len;
}

static int add_result(const struct stored_result *r, void *arg)
{
	struct run_values *rv = arg;
	struct strbuf key = STRBUF_INIT;
	double v = result_value(rv, r);
	size_t len = case_key(&key, r->row.suite, r->row.case_id);
	uint64_t *slot;
	int added;

	slot = hashmap_put_str(&rv->index, key.buf, len, &added);
	if (added) {
		XGROW(rv->v, rv->n + 1, rv->alloc);
		memset(&rv->v[rv->n], 0, sizeof(rv->v[rv->n]));
		*slot = ++rv->n;
	}
	if (!isnan(v)) {
		rv->v[*slot - 1].sum += v;
		rv->v[*slot - 1].n++;
	}
	strbuf_release(&key);
	return 0;
}

struct suite_walk {
	struct history *h;
	const char *run_id;
	struct run_values *rv;
	int err;
};

static int load_suite(const struct run_suite *s, void *arg)
{
	struct suite_walk *w = arg;

	w->err = history_results_without_texts(w->h, w->run_id, s->name, add_result, w->rv);
	return w->err;
}

/* the values of the gate's suite, or of every suite of the run */
static int run_values_load(struct run_values *rv, const struct eg_gate *g, struct history *h,
			   const char *run_id)
{
	const struct delta_gate *dg = g->ctx;
	struct suite_walk w = { h, run_id, rv, 0 };

	memset(rv, 0, sizeof(*rv));
	rv->g = g;
	rv->kind = dg->kind;
	hashmap_init_str(&rv->index, 64);
	if (g->suite)
		return history_results_without_texts(h, run_id, g->suite, add_result, rv);
	if (history_run_suites(h, run_id, load_suite, &w))
		return -1;
	return w.err ? -1 : 0;
}

/* the mean known value of a case, NaN when none is known or the case is not there */
static double run_value(const struct run_values *rv, const char *suite, const char *case_id)
{
	struct strbuf key = STRBUF_INIT;
	size_t len = case_key(&key, suite, case_id);
	const uint64_t *slot = hashmap_get_str(&rv->index, key.buf, len);
	double v = NAN;

	if (slot && rv->v[*slot - 1].n)
		v = rv->v[*slot - 1].sum / (double)rv->v[*slot - 1].n;
	strbuf_release(&key);
	return v;
}

static void run_values_release(struct run_values *rv)
{
	hashmap_release(&rv->index);
	free(rv->v);
	memset(rv, 0, sizeof(*rv));
}

/* --- pairing --- */

struct pairs {
	const struct run_values *base, *cand;
	double *b, *c;            /* the paired values */
	size_t n, alloc_b, alloc_c;
	long no_value;            /* same content, no value on one side */
};

static int add_pair(const struct case_row *a, const struct case_row *b, void *arg)
{
	struct pairs *p = arg;
	double vb = run_value(p->base, a->suite, a->case_id);
	double vc = run_value(p->cand, b->suite, b->case_id);

	if (isnan(vb) || isnan(vc)) {
		p->no_value++;
		return 0;
	}
	XGROW(p->b, p->n + 1, p->alloc_b);
	XGROW(p->c, p->n + 1, p->alloc_c);
	p->b[p->n] = vb;
	p->c[p->n] = vc;
	p->n++;
	return 0;
}

/* --- the statistic --- */

struct delta_stat {
	enum delta_kind kind;
	enum gate_stat stat;
};

/* score: mean(c) - mean(b); else the stat's change in percent of the baseline's */
static double delta_of(double *b, double *c, size_t n, void *arg)
{
	const struct delta_stat *ds = arg;
	double sb, sc;

	if (ds->kind == DELTA_SCORE)
		return stats_mean(c, n) - stats_mean(b, n);
	sb = gate_stat_of(ds->stat, b, n);
	sc = gate_stat_of(ds->stat, c, n);
	if (!(sb > 0))
		return NAN;
	return 100 * (sc - sb) / sb;
}

/* what print shows beyond the row: the res->state of a delta gate */
struct delta_outcome {
	char *baseline_id;        /* the resolved baseline, or NULL */
	struct strbuf why;        /* why there was no comparison; empty when there was one */
};

static void delta_result_release(struct gate_result *res)
{
	struct delta_outcome *dout = res->state;

	if (dout) {
		free(dout->baseline_id);
		strbuf_release(&dout->why);
	}
	free(dout);
}

static int delta_eval(const struct eg_gate *g, struct history *h, const char *run_id,
		      const struct gates *gs, struct gate_result *res)
{
	const struct delta_gate *dg = g->ctx;
	const char *ref = gs->baseline_override ? gs->baseline_override : dg->baseline;
	struct delta_outcome *dout = xcalloc(1, sizeof(*dout));
	struct delta_stat ds = { dg->kind, g->stat };
	struct gate_row *row = &res->row;
	struct run_values vb, vc;
	struct pairs pairs;
	struct run_info cand, base;
	struct compare_result cmp;
	struct compare_opts o;
	struct eg_rng rng;
	double *tb = NULL, *tc = NULL, sb, sc;
	long in_scope;
	int rc, ret = -1;

	res->state = dout;
	strbuf_init(&dout->why, 0);
	memset(&cmp, 0, sizeof(cmp));
	memset(&base, 0, sizeof(base));
	memset(&pairs, 0, sizeof(pairs));
	memset(&vb, 0, sizeof(vb));
	memset(&vc, 0, sizeof(vc));
	hashmap_init_str(&vb.index, 0);
	hashmap_init_str(&vc.index, 0);
	row->value = NAN;
	row->op = dg->kind == DELTA_SCORE ? ">=" : "<=";
	row->threshold = dg->kind == DELTA_SCORE ? -dg->limit : dg->limit;

	rc = baseline_for_run(h, ref, run_id, gs->cfg ? gs->cfg->registry : NULL, &cand, &base,
			      &dout->why);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		strbuf_addstr(&res->detail, dout->why.buf);
		ret = 0;
		goto out;
	}
	dout->baseline_id = xstrdup(base.id);
	run_values_release(&vb);
	run_values_release(&vc);
	if (run_values_load(&vb, g, h, base.id) || run_values_load(&vc, g, h, cand.id))
		goto out;
	pairs.base = &vb;
	pairs.cand = &vc;
	memset(&o, 0, sizeof(o));
	o.suite = g->suite;
	o.tag = g->tag;
	o.on_pair = add_pair;
	o.arg = &pairs;
	if (compare_runs(h, base.id, cand.id, &o, &cmp))
		goto out;
	row->n = (long)pairs.n;
	in_scope = compare_cases_in_scope(&cmp.all);
	if (!pairs.n || (double)pairs.n < dg->min_paired * (double)in_scope) {
		strbuf_addf(&dout->why, "only %zu of this run's %ld cases of scope %s could be "
			    "paired with baseline %s with a value on both sides (min_paired %g): "
			    "%ld changed, %ld only in this run, %ld without a value", pairs.n,
			    in_scope, res->scope.buf, base.id, dg->min_paired, cmp.all.changed,
			    cmp.all.only_in_candidate, pairs.no_value);
		strbuf_addstr(&res->detail, dout->why.buf);
		ret = 0;
		goto out;
	}
	/* the point estimate; the stats sort, so on copies */
	tb = xcalloc(pairs.n, sizeof(*tb));
	tc = xcalloc(pairs.n, sizeof(*tc));
	memcpy(tb, pairs.b, pairs.n * sizeof(*tb));
	memcpy(tc, pairs.c, pairs.n * sizeof(*tc));
	sb = gate_stat_of(ds.stat, tb, pairs.n); /* a score's stat is STAT_NONE: the mean */
	sc = gate_stat_of(ds.stat, tc, pairs.n);
	memcpy(tb, pairs.b, pairs.n * sizeof(*tb));
	memcpy(tc, pairs.c, pairs.n * sizeof(*tc));
	row->value = delta_of(tb, tc, pairs.n, &ds);
	eg_rng_seed(&rng, dg->seed, base.id, cand.id);
	stats_paired_boot95(pairs.b, pairs.c, pairs.n, delta_of, &ds, eg_rng_next(&rng),
			    DELTA_BOOT_REPS, &row->lo, &row->hi);
	/* the point estimate decides (docs/gates.md): NaN (a baseline of 0) fails */
	row->pass = dg->kind == DELTA_SCORE ? row->value >= -dg->limit : row->value <= dg->limit;
	strbuf_addf(&res->detail, "%s %.6g -> %.6g over %zu pairs vs %s",
		    dg->kind == DELTA_SCORE ? "mean" : gate_stat_name(g->stat == STAT_NONE
								     ? STAT_MEAN : g->stat),
		    sb, sc, pairs.n, base.id);
	if (pairs.no_value)
		strbuf_addf(&res->detail, "; %ld without a value left out", pairs.no_value);
	if (!(sb > 0) && dg->kind != DELTA_SCORE)
		strbuf_addstr(&res->detail, "; the baseline's value is 0: no change in percent");
	gate_detail_cut(&res->detail);
	ret = 0;
out:
	free(tb);
	free(tc);
	free(pairs.b);
	free(pairs.c);
	run_values_release(&vb);
	run_values_release(&vc);
	compare_result_release(&cmp);
	run_info_release(&base);
	run_info_release(&cand);
	return ret;
}

/*
 * the rule and the outcome:
 *   "FAIL  faithfulness delta  -0.041 (95% CI -0.060..-0.022) > 0.02 drop allowed"
 *   "PASS  p95 latency_ms delta  +4.2% (95% CI -1.0%..+9.5%) <= 10% increase allowed"
 */
static void delta_print(FILE *out, const struct eg_gate *g, const struct gate_result *res,
			int color)
{
	const struct delta_gate *dg = g->ctx;
	const struct delta_outcome *dout = res->state;
	const struct gate_row *row = &res->row;
	int score = dg->kind == DELTA_SCORE;
	const char *unit = score ? "" : "%";

	gate_print_head(out, g, row->pass, color);
	if (!dout->baseline_id || dout->why.len) {
		fprintf(out, "no comparison: %s\n", dout->why.buf);
		return;
	}
	fprintf(out, score ? "%+.3f%s" : "%+.1f%s", row->value, unit);
	if (!isnan(row->lo))
		fprintf(out, score ? " (95%% CI %+.3f%s..%+.3f%s)" : " (95%% CI %+.1f%s..%+.1f%s)",
			row->lo, unit, row->hi, unit);
	fprintf(out, " %s %g%s %s allowed  (%s)\n", row->pass ? "<=" : ">", dg->limit, unit,
		score ? "drop" : "increase", res->detail.buf);
}

const struct gate_type gate_delta = {
	.name = "delta.",
	.shown = "delta.<metric>",
	.fields = delta_fields,
	.parse = delta_parse,
	.eval = delta_eval,
	.print = delta_print,
	.release = delta_release,
	.result_release = delta_result_release,
};
