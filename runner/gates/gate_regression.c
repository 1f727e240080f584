/*
 * gate_regression: the "regression" gate (SPEC 7): pass->fail flips of this
 * run's cases against a baseline run, bounded by max_new_failures and/or
 * failing on a significant drop (McNemar p < alpha with more new failures
 * than fixed). A missing baseline or nothing to pair fails the gate, with
 * the reason in the detail: it never passes silently.
 *
 * The detail is a JSON object, the contract read by the report writers:
 * baseline, baseline_ref, pairs, new_failures, fixed, p_value, diff,
 * diff_lo, diff_hi, alpha, max_new_failures, the unpaired counts, error
 * (why there was no comparison), and the first REGRESSION_LIST_MAX flips
 * and unpaired cases. A case that errored in the baseline only is paired
 * with the newest older complete run that judged it (paired_with_older),
 * else it is unjudged (unjudged, unjudged_could_block and the first
 * UNJUDGED_LIST_MAX in unjudged_cases).
 */
#include "gate_types.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "compare.h"
#include "jsonw.h"
#include "power.h"
#include "regression.h"
#include "stats.h"
#include "xalloc.h"
#include "banned.h"

static const char *const regression_fields[] = { "baseline", "max_new_failures", "alpha",
						 "exclude_flaky", "errors", "min_paired", "confirm", NULL };
static const char *const confirm_fields[] = { "max_extra_calls", "max_asks", "use_history",
					      "alpha_share", NULL };

/*
 * "confirm": true (the defaults), false, or {"max_extra_calls", "max_asks",
 * "use_history", "alpha_share"}
 */
static int confirm_parse(const struct gate_parse *p, struct confirm_opts *co)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p->spec, "confirm");
	char prefix[80], field[64];
	double asks = CONFIRM_DEFAULT_MAX_ASKS;

	co->max_extra_calls = CONFIRM_DEFAULT_MAX_EXTRA_CALLS;
	co->max_asks = 0;
	co->use_history = 1;
	co->alpha_share = CONFIRM_DEFAULT_ALPHA_SHARE;
	if (!v || cJSON_IsFalse(v))
		return 0;
	if (cJSON_IsTrue(v)) {
		co->max_asks = CONFIRM_DEFAULT_MAX_ASKS;
		return 0;
	}
	gate_field(p, "confirm", field, sizeof(field));
	if (!cJSON_IsObject(v))
		return jdoc_error(p->doc, v, field, "expected true, false or an object such as "
				  "{\"max_extra_calls\": 0.25}");
	snprintf(prefix, sizeof(prefix), "%s.", field);
	if (jdoc_check_keys(p->doc, v, prefix, confirm_fields) ||
	    jdoc_number(p->doc, v, prefix, "max_extra_calls", 0, 0, 10, &co->max_extra_calls) ||
	    jdoc_number(p->doc, v, prefix, "max_asks", 0, 1, CONFIRM_MAX_ASKS_LIMIT, &asks) ||
	    jdoc_bool(p->doc, v, prefix, "use_history", &co->use_history) ||
	    jdoc_number(p->doc, v, prefix, "alpha_share", 0, 0, 1, &co->alpha_share))
		return -1;
	if (!(co->alpha_share > 0 && co->alpha_share < 1))
		return jdoc_error(p->doc, cJSON_GetObjectItem(v, "alpha_share"),
				  gate_field(p, "confirm.alpha_share", field, sizeof(field)),
				  "expected a share between 0 and 1 (exclusive), such as 0.2");
	if (asks != (int)asks)
		return jdoc_error(p->doc, cJSON_GetObjectItem(v, "max_asks"),
				  gate_field(p, "confirm.max_asks", field, sizeof(field)),
				  "expected a whole number");
	co->max_asks = (int)asks;
	return 0;
}

static int regression_parse(struct eg_gate *g, const struct gate_parse *p)
{
	struct regression_gate *rg = xcalloc(1, sizeof(*rg));
	const char *baseline = "latest", *why, *errors;
	char prefix[64], field[64];
	double v;
	int bare;

	g->ctx = rg;
	gate_field(p, "", prefix, sizeof(prefix));
	if (jdoc_string(p->doc, p->spec, prefix, "baseline", 0, &baseline) ||
	    jdoc_bool(p->doc, p->spec, prefix, "exclude_flaky", &rg->exclude_flaky))
		return -1;
	if (!baseline_ref_valid(baseline, &why))
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "baseline"),
				  gate_field(p, "baseline", field, sizeof(field)), "'%s': %s",
				  baseline, why);
	rg->baseline = xstrdup(baseline);
	rg->has_max_new_failures = !!cJSON_GetObjectItemCaseSensitive(p->spec, "max_new_failures");
	rg->has_alpha = !!cJSON_GetObjectItemCaseSensitive(p->spec, "alpha");
	v = 0;
	if (jdoc_number(p->doc, p->spec, prefix, "max_new_failures", 0, 0, 1e9, &v))
		return -1;
	if (v != floor(v))
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "max_new_failures"),
				  gate_field(p, "max_new_failures", field, sizeof(field)),
				  "expected a whole number");
	rg->max_new_failures = (long)v;
	if (jdoc_number(p->doc, p->spec, prefix, "alpha", 0, 0, 1, &rg->alpha))
		return -1;
	if (rg->has_alpha && !(rg->alpha > 0 && rg->alpha < 1))
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "alpha"),
				  gate_field(p, "alpha", field, sizeof(field)),
				  "expected a significance level between 0 and 1, such as 0.05");
	bare = !rg->has_max_new_failures && !rg->has_alpha;
	if (bare) {
		/* a bare regression gate: the recommended test (docs/gates.md) */
		rg->has_alpha = 1;
		rg->alpha = REGRESSION_DEFAULT_ALPHA;
	}
	errors = "count";
	if (jdoc_string(p->doc, p->spec, prefix, "errors", 0, &errors))
		return -1;
	if (strcmp(errors, "count") && strcmp(errors, "exclude"))
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "errors"),
				  gate_field(p, "errors", field, sizeof(field)),
				  "'%s': expected count (a case that errors in this run is a "
				  "failure) or exclude", errors);
	rg->exclude_errors = !strcmp(errors, "exclude");
	rg->min_paired = REGRESSION_DEFAULT_MIN_PAIRED;
	if (jdoc_number(p->doc, p->spec, prefix, "min_paired", 0, 0, 1, &rg->min_paired))
		return -1;
	if (confirm_parse(p, &rg->confirm))
		return -1;
	if (bare && !cJSON_GetObjectItemCaseSensitive(p->spec, "confirm"))
		rg->confirm.max_asks = CONFIRM_DEFAULT_MAX_ASKS; /* on in the recommended gate */
	return 0;
}

void regression_defaults(struct regression_gate *rg)
{
	memset(rg, 0, sizeof(*rg));
	rg->has_alpha = 1;
	rg->alpha = REGRESSION_DEFAULT_ALPHA;
	rg->min_paired = REGRESSION_DEFAULT_MIN_PAIRED;
	rg->confirm.max_extra_calls = CONFIRM_DEFAULT_MAX_EXTRA_CALLS;
	rg->confirm.max_asks = CONFIRM_DEFAULT_MAX_ASKS;
	rg->confirm.use_history = 1;
	rg->confirm.alpha_share = CONFIRM_DEFAULT_ALPHA_SHARE;
}

double regression_alpha_first(const struct regression_gate *rg)
{
	return rg->confirm.max_asks ? rg->alpha * (1 - rg->confirm.alpha_share) : rg->alpha;
}

/* the confirmed test's share of alpha */
static double regression_alpha_confirmed(const struct regression_gate *rg)
{
	return rg->alpha * rg->confirm.alpha_share;
}

int regression_blocks(const struct regression_gate *rg, const struct compare_counts *c,
		      const struct confirm_tally *t)
{
	double a = regression_alpha_first(rg), ac = regression_alpha_confirmed(rg);

	if (rg->has_max_new_failures && c->new_failures > rg->max_new_failures)
		return 1;
	if (!rg->has_alpha)
		return 0;
	if (c->p_value < a && c->new_failures > c->fixed)
		return 1;
	return t && rg->confirm.max_asks && t->p_value < ac && t->new_failures > t->fixed;
}

void regression_compare_opts(const struct eg_gate *g, struct compare_opts *o)
{
	const struct regression_gate *rg = g->ctx;

	memset(o, 0, sizeof(*o));
	o->suite = g->suite;
	o->tag = g->tag;
	o->exclude_flaky = rg->exclude_flaky;
	o->count_errors = !rg->exclude_errors;
}

static void regression_release(struct eg_gate *g)
{
	struct regression_gate *rg = g->ctx;

	if (rg)
		free(rg->baseline);
	free(rg);
}

/* a case that errored in the baseline and not in the candidate */
struct errored_case {
	char *suite, *case_id;
	char *hash;               /* its content hash in the candidate, or NULL */
	enum result_status to;    /* the candidate's verdict */
	int flaky;                /* flaky in the candidate */
	int judged;               /* an older complete run paired it (or left it out as flaky) */
};

/* the errored cases of the baseline, in (suite, case_id) order */
struct errored_list {
	struct errored_case *v;
	size_t n, alloc;
};

static void errored_list_release(struct errored_list *el)
{
	size_t i;

	for (i = 0; i < el->n; i++) {
		free(el->v[i].suite);
		free(el->v[i].case_id);
		free(el->v[i].hash);
	}
	free(el->v);
	memset(el, 0, sizeof(*el));
}

/* what print shows beyond the row: the res->state of a regression gate */
struct regression_outcome {
	char *baseline_id;        /* the resolved baseline, or NULL */
	struct strbuf why;        /* why there was no comparison, empty when there was one */
	struct compare_counts c;  /* the counts over the gate's scope */
	int confirmed;            /* the gate confirms flips: t holds the tally */
	int has_power;            /* est holds the gate's estimated false-block rate and power */
	struct power_estimate est;
	struct confirm_tally t;   /* what the run's re-asks say about the flips */
	int used_history;         /* the confirmed test discounted flaky cases from the history */
	size_t history_runs;      /* the runs behind the history's estimates */
	double flaky_p;           /* an estimate under this made a case flaky */
	struct confirm_discount *disc; /* the first discounted flips (taken from the tally) */
	size_t n_disc;
	struct errored_list errored; /* the cases that errored in the baseline only */
	long older_pairs;         /* of them, paired with an older complete run */
	long unjudged;            /* of them, errored in every older complete run too */
	long unjudged_fail;       /* of the unjudged, those this run fails */
	int unjudged_could_block; /* counting those as new failures would block the gate */
};

static void regression_result_release(struct gate_result *res)
{
	struct regression_outcome *ro = res->state;

	if (ro) {
		size_t i;

		for (i = 0; i < ro->n_disc; i++) {
			free(ro->disc[i].suite);
			free(ro->disc[i].case_id);
		}
		free(ro->disc);
		free(ro->baseline_id);
		strbuf_release(&ro->why);
		errored_list_release(&ro->errored);
	}
	free(ro);
}

static void json_items(struct jsonw *w, const struct compare_item *arr, size_t n, size_t *room,
		       int flips)
{
	size_t i;

	for (i = 0; i < n && *room; i++, (*room)--) {
		int nf = arr[i].kind == CMP_NEW_FAILURE;

		jsonw_object_begin(w);
		jsonw_member_str(w, "suite", arr[i].suite);
		jsonw_member_str(w, "case_id", arr[i].case_id);
		if (flips) {
			jsonw_member_str(w, "from", nf ? "pass" : "fail");
			jsonw_member_str(w, "to", nf ? "fail" : "pass");
		} else {
			jsonw_member_str(w, "why", arr[i].kind == CMP_CHANGED
							   ? "changed" : compare_kind_name(arr[i].kind));
		}
		jsonw_object_end(w);
	}
}

/* the first UNJUDGED_LIST_MAX unjudged cases: "unjudged_cases": [{suite, case_id}] */
static void unjudged_json(struct jsonw *w, const struct errored_list *el)
{
	size_t i, room = UNJUDGED_LIST_MAX;

	jsonw_key(w, "unjudged_cases");
	jsonw_array_begin(w);
	for (i = 0; i < el->n && room; i++) {
		if (el->v[i].judged)
			continue;
		room--;
		jsonw_object_begin(w);
		jsonw_member_str(w, "suite", el->v[i].suite);
		jsonw_member_str(w, "case_id", el->v[i].case_id);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

/*
 * what the history did to the confirmed test: "history_runs", "flaky_p",
 * "discounted" and the first discounted flips in "discounted_cases":
 * [{suite, case_id, flip, p, samples}]
 */
static void discounted_json(struct jsonw *w, const struct regression_outcome *ro)
{
	size_t i;

	jsonw_member_int(w, "history_runs", (long)ro->history_runs);
	jsonw_member_num(w, "flaky_p", ro->flaky_p);
	jsonw_member_int(w, "discounted", ro->t.discounted);
	jsonw_key(w, "discounted_cases");
	jsonw_array_begin(w);
	for (i = 0; i < ro->n_disc; i++) {
		jsonw_object_begin(w);
		jsonw_member_str(w, "suite", ro->disc[i].suite);
		jsonw_member_str(w, "case_id", ro->disc[i].case_id);
		jsonw_member_str(w, "flip", ro->disc[i].new_failure ? "new_failure" : "fixed");
		jsonw_member_num(w, "p", ro->disc[i].p);
		jsonw_member_int(w, "samples", ro->disc[i].samples);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

/* the detail contract of the regression gate; l may be NULL (no comparison) */
static void regression_detail(struct strbuf *sb, const struct regression_gate *rg,
			      const char *ref, const struct regression_outcome *ro,
			      const struct compare_list *l)
{
	const struct compare_counts *c = &ro->c;
	struct jsonw w;
	size_t room;

	jsonw_init(&w, sb, 0);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "baseline", ro->baseline_id);
	jsonw_member_str(&w, "baseline_ref", ref);
	jsonw_member_int(&w, "pairs", c->pairs);
	jsonw_member_int(&w, "new_failures", c->new_failures);
	jsonw_member_int(&w, "fixed", c->fixed);
	jsonw_member_num(&w, "p_value", l ? c->p_value : NAN);
	jsonw_member_num(&w, "diff", c->diff);
	jsonw_member_num(&w, "diff_lo", c->diff_lo);
	jsonw_member_num(&w, "diff_hi", c->diff_hi);
	jsonw_member_num(&w, "alpha", rg->has_alpha ? rg->alpha : NAN);
	jsonw_key(&w, "max_new_failures");
	if (rg->has_max_new_failures)
		jsonw_int(&w, rg->max_new_failures);
	else
		jsonw_null(&w);
	jsonw_member_int(&w, "only_in_candidate", c->only_in_candidate);
	jsonw_member_int(&w, "only_in_baseline", c->only_in_baseline);
	jsonw_member_int(&w, "changed", c->changed);
	jsonw_member_int(&w, "flaky_excluded", c->flaky_excluded);
	jsonw_member_int(&w, "errors_excluded", c->errors);
	jsonw_member_int(&w, "errors_counted", c->cand_errors);
	jsonw_member_int(&w, "paired_with_older", ro->older_pairs);
	jsonw_member_int(&w, "unjudged", ro->unjudged);
	jsonw_member_bool(&w, "unjudged_could_block", ro->unjudged_could_block);
	unjudged_json(&w, &ro->errored);
	jsonw_member_num(&w, "min_paired", rg->min_paired);
	if (ro->has_power) {
		/* what this gate does to the suite, by simulation (power.h) */
		jsonw_key(&w, "power");
		jsonw_object_begin(&w);
		jsonw_member_int(&w, "runs", (long)ro->est.runs);
		jsonw_member_int(&w, "cases", (long)ro->est.cases);
		jsonw_member_int(&w, "n", (long)ro->est.n);
		jsonw_member_int(&w, "prs", ro->est.prs);
		jsonw_member_int(&w, "seed", POWER_REPORT_SEED);
		jsonw_member_num(&w, "false_block", (double)ro->est.false_blocks / (double)ro->est.prs);
		jsonw_member_num(&w, "drop", POWER_REPORT_DROP);
		jsonw_member_num(&w, "power", (double)ro->est.caught / (double)ro->est.prs);
		jsonw_object_end(&w);
	}
	if (rg->confirm.max_asks) {
		jsonw_key(&w, "confirm");
		jsonw_object_begin(&w);
		jsonw_member_num(&w, "max_extra_calls", rg->confirm.max_extra_calls);
		jsonw_member_int(&w, "max_asks", rg->confirm.max_asks);
		jsonw_member_num(&w, "alpha_share", rg->confirm.alpha_share);
		jsonw_member_int(&w, "calls", ro->t.calls);
		jsonw_member_int(&w, "asked", ro->t.asked);
		jsonw_member_int(&w, "new_failures", ro->t.new_failures);
		jsonw_member_int(&w, "fixed", ro->t.fixed);
		jsonw_member_int(&w, "passing", ro->t.passing);
		jsonw_member_int(&w, "undecided", ro->t.undecided);
		jsonw_member_num(&w, "p_value", l ? ro->t.p_value : NAN);
		jsonw_member_bool(&w, "use_history", rg->confirm.use_history);
		if (ro->used_history)
			discounted_json(&w, ro);
		jsonw_object_end(&w);
	}
	if (ro->why.len)
		jsonw_member_str(&w, "error", ro->why.buf);
	jsonw_key(&w, "flips");
	jsonw_array_begin(&w);
	room = REGRESSION_LIST_MAX;
	if (l) {
		json_items(&w, l->new_failures, l->n_new_failures, &room, 1);
		json_items(&w, l->fixed, l->n_fixed, &room, 1);
	}
	jsonw_array_end(&w);
	if (l && l->seen_flips > REGRESSION_LIST_MAX)
		jsonw_member_bool(&w, "flips_truncated", 1);
	jsonw_key(&w, "unpaired");
	jsonw_array_begin(&w);
	room = REGRESSION_LIST_MAX;
	if (l)
		json_items(&w, l->unpaired, l->n_unpaired, &room, 0);
	jsonw_array_end(&w);
	if (l && l->seen_unpaired > REGRESSION_LIST_MAX)
		jsonw_member_bool(&w, "unpaired_truncated", 1);
	jsonw_object_end(&w);
}

static double paired_fraction(const struct compare_counts *c)
{
	long n = compare_cases_in_scope(c);

	return n ? (double)c->pairs / (double)n : 0;
}

static void no_counts(struct compare_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->p_value = c->diff = c->diff_lo = c->diff_hi = NAN;
}

/*
 * The walk of the pairing: flips and unpaired cases go on to on_case; the
 * cases that errored in the baseline and not in this run are kept in errored.
 */
struct regression_walk {
	int (*on_case)(const struct compare_case *c, void *arg);
	void *arg;
	struct errored_list *errored;
	struct confirm_state *cs; /* the tally behind on_case, or NULL */
};

static int walk_case(const struct compare_case *c, void *arg)
{
	struct regression_walk *w = arg;

	return w->on_case(c, w->arg);
}

static int walk_pair(const struct case_row *base, const struct case_row *cand, void *arg)
{
	struct regression_walk *w = arg;
	struct errored_list *el = w->errored;
	struct errored_case *e;

	if (base->status != RESULT_ERROR || cand->status == RESULT_ERROR)
		return 0;
	XGROW(el->v, el->n + 1, el->alloc);
	e = &el->v[el->n++];
	memset(e, 0, sizeof(*e));
	e->suite = xstrdup(cand->suite);
	e->case_id = xstrdup(cand->case_id);
	e->hash = cand->case_hash ? xstrdup(cand->case_hash) : NULL;
	e->to = cand->status;
	e->flaky = cand->flaky;
	return 0;
}

/* pair errored case e with old, its verdict in an older complete run, into c */
static void pair_older(struct errored_case *e, const struct case_row *old,
		       const struct compare_opts *o, struct compare_counts *c,
		       struct regression_walk *w, long *older_pairs)
{
	struct compare_case cc;

	e->judged = 1;
	c->errors--;
	if (o->exclude_flaky && (old->flaky || e->flaky)) {
		c->flaky_excluded++;
		return;
	}
	c->pairs++;
	(*older_pairs)++;
	memset(&cc, 0, sizeof(cc));
	cc.suite = e->suite;
	cc.case_id = e->case_id;
	cc.from = old->status;
	cc.to = e->to;
	if (old->status == RESULT_PASS && e->to == RESULT_PASS) {
		c->both_pass++;
		return;
	}
	if (old->status != RESULT_PASS && e->to != RESULT_PASS) {
		c->both_fail++;
		return;
	}
	if (old->status == RESULT_PASS) {
		c->new_failures++;
		cc.kind = CMP_NEW_FAILURE;
	} else {
		c->fixed++;
		cc.kind = CMP_FIXED;
	}
	if (w->cs)
		w->cs->from_older = 1;
	w->on_case(&cc, w->arg);
	if (w->cs)
		w->cs->from_older = 0;
}

/* the order of the case iterator: (suite, case_id) in byte order */
static int errored_cmp(const struct errored_case *e, const struct case_row *r)
{
	int c = strcmp(e->suite, r->suite);

	return c ? c : strcmp(e->case_id, r->case_id);
}

/* the errored cases run_id judged (same content, not an error), merged in key order */
static int pair_in_run(struct history *h, const char *run_id, const struct compare_opts *o,
		       struct regression_walk *w, struct compare_counts *c, long *older_pairs,
		       size_t *left)
{
	struct errored_list *el = w->errored;
	struct case_iter *it = history_cases_open(h, run_id, o->suite, o->tag);
	struct case_row row;
	size_t i = 0;
	int rc = 0;

	if (!it)
		return -1;
	while (i < el->n && (rc = history_cases_next(it, &row)) > 0) {
		int cmp = 0;

		while (i < el->n && (cmp = errored_cmp(&el->v[i], &row)) < 0)
			i++;
		if (i == el->n || cmp > 0)
			continue;
		if (!el->v[i].judged && row.status != RESULT_ERROR && el->v[i].hash &&
		    row.case_hash && !strcmp(el->v[i].hash, row.case_hash)) {
			pair_older(&el->v[i], &row, o, c, w, older_pairs);
			(*left)--;
		}
	}
	history_cases_close(it);
	return rc < 0 ? -1 : 0;
}

/*
 * Pair the cases that errored in baseline base_id with the newest complete
 * run that judged them (the rules of "latest": same target, and git ref
 * when ref is latest:GITREF; older than the candidate), one walk of each run
 * until every case is judged; the rest stay unjudged. Updates c.
 */
static int pair_errored(struct history *h, const struct run_info *cand, const char *base_id,
			const char *ref, const struct compare_opts *o, struct regression_walk *w,
			struct regression_outcome *ro)
{
	struct run_filter f = { .target = cand->target, .status = "finished",
				.until_id = cand->id, .exclude_id = cand->id,
				.newest_first = 1, .complete = 1 };
	struct compare_counts *c = &ro->c;
	const struct run_info *r;
	struct run_iter it;
	size_t i, left = w->errored->n;
	int rc = 0, ret = -1;

	if (!left)
		return 0;
	if (!strncmp(ref, "latest:", 7))
		f.git_ref = ref + 7;
	if (history_runs_begin(h, &f, &it))
		goto out;
	while (left && (rc = history_runs_next(&it, &r)) > 0)
		if (strcmp(r->id, base_id) &&
		    pair_in_run(h, r->id, o, w, c, &ro->older_pairs, &left))
			goto out;
	if (rc < 0)
		goto out;
	c->p_value = mcnemar_exact_p(c->new_failures, c->fixed);
	paired_diff95(c->new_failures, c->fixed, c->pairs, &c->diff, &c->diff_lo, &c->diff_hi);
	for (i = 0; i < w->errored->n; i++) {
		if (w->errored->v[i].judged)
			continue;
		ro->unjudged++;
		if (w->errored->v[i].to != RESULT_PASS)
			ro->unjudged_fail++;
	}
	ret = 0;
out:
	history_runs_end(&it);
	return ret;
}

/* would counting the unjudged cases this run fails as new failures block the gate? */
static int unjudged_could_block(const struct regression_gate *rg,
				const struct regression_outcome *ro)
{
	struct compare_counts c = ro->c;

	if (!ro->unjudged_fail)
		return 0;
	c.new_failures += ro->unjudged_fail;
	c.both_pass += ro->unjudged - ro->unjudged_fail;
	c.pairs += ro->unjudged;
	c.p_value = mcnemar_exact_p(c.new_failures, c.fixed);
	return regression_blocks(rg, &c, ro->confirmed ? &ro->t : NULL);
}

/*
 * Resolve the baseline (the run's --baseline first), pair, fill the row and
 * the detail; -1 only on a history error.
 */
static int regression_eval(const struct eg_gate *g, struct history *h, const char *run_id,
			   const struct gates *gs, struct gate_result *res)
{
	const struct regression_gate *rg = g->ctx;
	const char *ref = gs->baseline_override ? gs->baseline_override : rg->baseline;
	struct regression_outcome *ro = xcalloc(1, sizeof(*ro));
	struct gate_row *row = &res->row;
	struct run_info cand, base;
	struct compare_result cmp;
	struct compare_list list;
	struct compare_opts o;
	struct regression_walk walk;
	struct confirm_state cs;
	struct flip_history fh;
	int rc, cs_loaded = 0, ret = -1;

	memset(&cs, 0, sizeof(cs));
	flip_history_init(&fh, rg->confirm.max_asks);
	res->state = ro;
	strbuf_init(&ro->why, 0);
	no_counts(&ro->c);
	memset(&cmp, 0, sizeof(cmp));
	memset(&base, 0, sizeof(base));
	compare_list_init(&list, REGRESSION_LIST_MAX);
	row->op = "<=";
	row->threshold = rg->has_max_new_failures ? (double)rg->max_new_failures : NAN;
	row->value = NAN;

	rc = baseline_for_run(h, ref, run_id, gs->cfg ? gs->cfg->registry : NULL, &cand, &base,
			      &ro->why);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		/* no baseline: the gate fails, it never passes silently */
		regression_detail(&res->detail, rg, ref, ro, NULL);
		ret = 0;
		goto out;
	}
	ro->baseline_id = xstrdup(base.id);
	regression_compare_opts(g, &o);
	o.on_case = compare_list_add;
	o.arg = &list;
	if (rg->confirm.max_asks) {
		/* the re-asks of the run decide the confirmed flips */
		cs_loaded = 1;
		if (confirm_state_load(&cs, h, cand.id, rg->confirm.max_asks))
			goto out;
		cs.next = compare_list_add;
		cs.next_arg = &list;
		o.on_case = confirm_on_case;
		o.arg = &cs;
	}
	if (rg->confirm.max_asks && rg->confirm.use_history) {
		/* flips on cases flaky in the runs before the baseline are discounted */
		flip_history_release(&fh);
		if (flip_history_load(&fh, h, cand.target, base.id, cand.id, rg->confirm.max_asks))
			goto out;
		cs.fh = &fh;
		ro->used_history = 1;
		ro->history_runs = fh.pr.runs;
		ro->flaky_p = fh.flaky_p;
	}
	/* the walk keeps the cases that errored in the baseline for an older run to judge */
	walk.on_case = o.on_case;
	walk.arg = o.arg;
	walk.errored = &ro->errored;
	walk.cs = rg->confirm.max_asks ? &cs : NULL;
	o.on_case = walk_case;
	o.on_pair = walk_pair;
	o.arg = &walk;
	if (compare_runs(h, base.id, cand.id, &o, &cmp))
		goto out;
	ro->c = cmp.all;
	if (pair_errored(h, &cand, base.id, ref, &o, &walk, ro))
		goto out;
	if (rg->confirm.max_asks) {
		confirm_state_finish(&cs);
		ro->confirmed = 1;
		ro->t = cs.t;
		ro->n_disc = cs.n_disc;
		ro->disc = xcalloc(cs.n_disc + 1, sizeof(*ro->disc));
		memcpy(ro->disc, cs.disc, cs.n_disc * sizeof(*ro->disc));
		cs.n_disc = 0; /* the strings are ro's now */
	}
	row->value = (double)ro->c.new_failures;
	row->n = ro->c.pairs;
	row->lo = ro->c.diff_lo;
	row->hi = ro->c.diff_hi;
	if (!ro->c.pairs) {
		strbuf_addf(&ro->why, "no case of scope %s could be paired with baseline %s "
			    "(%ld changed, %ld only in the baseline, %ld only in this run, "
			    "%ld errored, %ld flaky left out)", res->scope.buf, base.id,
			    ro->c.changed, ro->c.only_in_baseline, ro->c.only_in_candidate,
			    ro->c.errors, ro->c.flaky_excluded);
	} else if (paired_fraction(&ro->c) < rg->min_paired) {
		/* too few pairs to judge: what was left out could hide a regression */
		strbuf_addf(&ro->why, "only %ld of this run's %ld cases of scope %s could be "
			    "paired with baseline %s (%.1f%%, min_paired %g): %ld changed, %ld only "
			    "in this run, %ld errored, %ld flaky left out", ro->c.pairs,
			    compare_cases_in_scope(&ro->c), res->scope.buf, base.id,
			    100 * paired_fraction(&ro->c), rg->min_paired, ro->c.changed,
			    ro->c.only_in_candidate, ro->c.errors, ro->c.flaky_excluded);
	} else {
		row->pass = !regression_blocks(rg, &ro->c, ro->confirmed ? &ro->t : NULL);
		ro->unjudged_could_block = row->pass && unjudged_could_block(rg, ro);
	}
	rc = power_estimate(rg, h, cand.target, base.id, (size_t)compare_cases_in_scope(&ro->c),
			    &ro->est);
	if (rc < 0)
		goto out;
	ro->has_power = rc == 0;
	regression_detail(&res->detail, rg, ref, ro, &list);
	ret = 0;
out:
	if (cs_loaded)
		confirm_state_release(&cs);
	flip_history_release(&fh);
	compare_list_release(&list);
	compare_result_release(&cmp);
	run_info_release(&base);
	run_info_release(&cand);
	return ret;
}

/* the line of flip confirmation: what the re-asks said, and its test */
static void regression_print_confirm(FILE *out, const struct regression_gate *rg,
				     const struct confirm_tally *t)
{
	double a = regression_alpha_confirmed(rg);

	if (t->calls < 0) {
		fprintf(out, "        confirmed: no re-asks recorded with this run\n");
		return;
	}
	fprintf(out, "        confirmed by %ld re-ask%s: %ld new failure%s and %ld fixed case%s "
		"failed %d re-ask%s in a row, %ld flip%s passed one, %ld undecided; McNemar p = %.4g",
		t->calls, t->calls == 1 ? "" : "s", t->new_failures,
		t->new_failures == 1 ? "" : "s", t->fixed, t->fixed == 1 ? "" : "s",
		rg->confirm.max_asks, rg->confirm.max_asks == 1 ? "" : "s", t->passing,
		t->passing == 1 ? "" : "s", t->undecided, t->p_value);
	if (rg->has_alpha)
		fprintf(out, " %s %g%s", t->p_value < a ? "<" : ">=", a,
			t->p_value < a && t->new_failures > t->fixed ? ": a confirmed drop" : "");
	fputc('\n', out);
}

/* the flips the history discounted: "2 flips on cases flaky in the history (p < 0.78) ..." */
static void regression_print_discounted(FILE *out, const struct regression_outcome *ro)
{
	size_t i;

	if (!ro->t.discounted)
		return;
	fprintf(out, "        %ld flip%s on cases flaky in the history (p < %.2f over %zu run%s) "
		"discounted:", ro->t.discounted, ro->t.discounted == 1 ? "" : "s", ro->flaky_p,
		ro->history_runs, ro->history_runs == 1 ? "" : "s");
	for (i = 0; i < ro->n_disc; i++)
		fprintf(out, "%s %s/%s (p = %.2f, %ld samples)", i ? "," : "", ro->disc[i].suite,
			ro->disc[i].case_id, ro->disc[i].p, ro->disc[i].samples);
	if ((size_t)ro->t.discounted > ro->n_disc)
		fprintf(out, ", ...");
	fputc('\n', out);
}

/* the gate line and a short summary (pairs, new failures, fixed, p) */
static void regression_print(FILE *out, const struct eg_gate *g, const struct gate_result *res,
			     int color)
{
	const char *red = color ? "\033[31m" : "", *green = color ? "\033[32m" : "",
		   *reset = color ? "\033[0m" : "";
	const struct regression_gate *rg = g->ctx;
	const struct regression_outcome *ro = res->state;
	const struct compare_counts *c = &ro->c;
	double a_first = regression_alpha_first(rg);

	gate_print_head(out, g, res->row.pass, color);
	if (!ro->baseline_id || ro->why.len) {
		fprintf(out, "no comparison: %s\n", ro->why.buf);
		return;
	}
	/* the rule and the outcome: "4 new failures > 0 allowed (p=0.003 < alpha 0.05: ...)" */
	fprintf(out, "%ld new failure%s", c->new_failures, c->new_failures == 1 ? "" : "s");
	if (rg->has_max_new_failures)
		fprintf(out, " %s %ld allowed", c->new_failures > rg->max_new_failures ? ">" : "<=",
			rg->max_new_failures);
	else
		fprintf(out, ", %ld fixed", c->fixed);
	if (rg->has_alpha && ro->confirmed)
		fprintf(out, " (p=%.2g %s %g, the first pass's share of alpha %g%s)", c->p_value,
			c->p_value < a_first ? "<" : ">=", a_first, rg->alpha,
			c->p_value < a_first && c->new_failures > c->fixed ? ": significant drop" : "");
	else if (rg->has_alpha)
		fprintf(out, " (p=%.2g %s alpha %g%s)", c->p_value,
			c->p_value < rg->alpha ? "<" : ">=", rg->alpha,
			c->p_value < rg->alpha && c->new_failures > c->fixed ? ": significant drop"
			: c->p_value < rg->alpha ? ": an improvement" : "");
	else
		fprintf(out, " (p=%.2g)", c->p_value);
	fprintf(out, " vs %s\n", ro->baseline_id);
	fprintf(out, "        %ld pairs: %s%ld new failure%s%s, %s%ld fixed%s, McNemar p = %.4g",
		c->pairs, c->new_failures ? red : "", c->new_failures,
		c->new_failures == 1 ? "" : "s", reset, c->fixed ? green : "", c->fixed, reset,
		c->p_value);
	if (!isnan(c->diff))
		fprintf(out, ", pass rate %+.1f pp (95%% CI %+.1f to %+.1f)", 100 * c->diff,
			100 * c->diff_lo, 100 * c->diff_hi);
	if (c->cand_errors)
		fprintf(out, "; %ld error%s in this run counted as failure%s", c->cand_errors,
			c->cand_errors == 1 ? "" : "s", c->cand_errors == 1 ? "" : "s");
	if (c->changed || c->only_in_baseline || c->only_in_candidate || c->errors ||
	    c->flaky_excluded)
		fprintf(out, "; not paired: %ld changed, %ld only in baseline, %ld only in this run, "
			"%ld errored, %ld flaky", c->changed, c->only_in_baseline,
			c->only_in_candidate, c->errors, c->flaky_excluded);
	fputc('\n', out);
	if (ro->older_pairs)
		fprintf(out, "        %ld case%s that errored in the baseline paired with an older "
			"complete run\n", ro->older_pairs, ro->older_pairs == 1 ? "" : "s");
	if (ro->unjudged) {
		fprintf(out, "        %ld case%s unjudged: %s in the baseline and in every older "
			"complete run", ro->unjudged, ro->unjudged == 1 ? "" : "s",
			ro->unjudged == 1 ? "it errored" : "they errored");
		if (ro->unjudged_could_block)
			fprintf(out, "; this run fails %ld of them, and counted as new failures "
				"they would block the gate", ro->unjudged_fail);
		fputc('\n', out);
	}
	if (ro->confirmed) {
		regression_print_confirm(out, rg, &ro->t);
		regression_print_discounted(out, ro);
	}
}

const struct gate_type gate_regression = {
	.name = "regression",
	.fields = regression_fields,
	.parse = regression_parse,
	.eval = regression_eval,
	.print = regression_print,
	.release = regression_release,
	.result_release = regression_result_release,
};
