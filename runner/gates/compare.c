#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "registry.h"
#include "stats.h"
#include "jsonw.h"
#include "xalloc.h"
#include "banned.h"

/* --- baseline references --- */

int baseline_resolve_alias(struct history *h, const struct baseline_query *q, const char *name,
			   struct run_info *out, struct strbuf *why)
{
	char *run_id = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!q->target) {
		strbuf_addf(why, "baseline 'alias:%s': an alias names a version of a target, and "
			    "the candidate run has none", name);
		return 1;
	}
	rc = registry_resolve_alias(q->registry, q->target, h, name, &run_id, why);
	if (rc)
		return rc;
	rc = history_run_lookup(h, run_id, out);
	free(run_id);
	if (rc < 0)
		return -1;
	return rc == 1 ? 0 : 1; /* the run was just found: only a race ends here */
}

static void describe_target(struct strbuf *why, const struct baseline_query *q)
{
	if (q->target)
		strbuf_addf(why, " of target '%s'", q->target);
	if (q->exclude_id)
		strbuf_addf(why, " other than run %s", q->exclude_id);
}

int baseline_resolve(struct history *h, const struct baseline_query *q, struct run_info *out,
		     struct strbuf *why)
{
	const char *bad;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!baseline_ref_valid(q->ref, &bad)) {
		strbuf_addf(why, "baseline '%s': %s", q->ref ? q->ref : "", bad);
		return 1;
	}
	if (!strncmp(q->ref, "alias:", 6))
		return baseline_resolve_alias(h, q, q->ref + 6, out, why);
	if (!strcmp(q->ref, "latest") || !strncmp(q->ref, "latest:", 7)) {
		const char *git_ref = q->ref[6] == ':' ? q->ref + 7 : NULL;

		rc = history_run_latest(h, q->target, git_ref, q->exclude_id, out);
		if (rc < 0)
			return -1;
		if (rc == 1)
			return 0;
		strbuf_addf(why, "baseline '%s': no finished run", q->ref);
		describe_target(why, q);
		if (git_ref)
			strbuf_addf(why, " with git ref '%s'", git_ref);
		strbuf_addstr(why, " in the history");
		return 1;
	}
	rc = history_run_lookup(h, q->ref, out);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return 0;
	if (rc == 2)
		strbuf_addf(why, "baseline '%s': the run id prefix is ambiguous", q->ref);
	else
		strbuf_addf(why, "baseline '%s': no such run in the history", q->ref);
	return 1;
}

/* --- pairing --- */

const char *compare_kind_name(enum compare_kind k)
{
	switch (k) {
	case CMP_NEW_FAILURE:
		return "new_failure";
	case CMP_FIXED:
		return "fixed";
	case CMP_CHANGED:
		return "changed";
	case CMP_ONLY_BASELINE:
		return "only_in_baseline";
	case CMP_ONLY_CANDIDATE:
		return "only_in_candidate";
	}
	return "unknown";
}

/* what one key of the merge is */
enum outcome {
	OUT_ONLY_BASE,
	OUT_ONLY_CAND,
	OUT_CHANGED,
	OUT_ERROR,
	OUT_FLAKY,
	OUT_PASS_PASS,
	OUT_PASS_FAIL,
	OUT_FAIL_PASS,
	OUT_FAIL_FAIL,
};

static void side_add(struct compare_side *s, const struct case_row *r)
{
	s->n++;
	s->flaky += r->flaky;
	switch (r->status) {
	case RESULT_PASS:
		s->pass++;
		break;
	case RESULT_FAIL:
		s->fail++;
		break;
	case RESULT_ERROR:
		s->error++;
		break;
	}
}

static void counts_add(struct compare_counts *c, enum outcome oc, const struct case_row *a,
		       const struct case_row *b)
{
	if (a)
		side_add(&c->base, a);
	if (b)
		side_add(&c->cand, b);
	switch (oc) {
	case OUT_ONLY_BASE:
		c->only_in_baseline++;
		break;
	case OUT_ONLY_CAND:
		c->only_in_candidate++;
		break;
	case OUT_CHANGED:
		c->changed++;
		break;
	case OUT_ERROR:
		c->errors++;
		break;
	case OUT_FLAKY:
		c->flaky_excluded++;
		break;
	case OUT_PASS_PASS:
		c->pairs++;
		c->both_pass++;
		break;
	case OUT_PASS_FAIL:
		c->pairs++;
		c->new_failures++;
		break;
	case OUT_FAIL_PASS:
		c->pairs++;
		c->fixed++;
		break;
	case OUT_FAIL_FAIL:
		c->pairs++;
		c->both_fail++;
		break;
	}
}

static void counts_finish(struct compare_counts *c)
{
	c->p_value = mcnemar_exact_p(c->new_failures, c->fixed);
	paired_diff95(c->new_failures, c->fixed, c->pairs, &c->diff, &c->diff_lo, &c->diff_hi);
}

static enum outcome classify(const struct case_row *a, const struct case_row *b, int exclude_flaky)
{
	if (!b)
		return OUT_ONLY_BASE;
	if (!a)
		return OUT_ONLY_CAND;
	if (!a->case_hash || !b->case_hash || strcmp(a->case_hash, b->case_hash))
		return OUT_CHANGED;
	if (a->status == RESULT_ERROR || b->status == RESULT_ERROR)
		return OUT_ERROR;
	if (exclude_flaky && (a->flaky || b->flaky))
		return OUT_FLAKY;
	if (a->status == RESULT_PASS)
		return b->status == RESULT_PASS ? OUT_PASS_PASS : OUT_PASS_FAIL;
	return b->status == RESULT_PASS ? OUT_FAIL_PASS : OUT_FAIL_FAIL;
}

/* the per-suite entry for name: names arrive in nondecreasing order */
static struct compare_suite *suite_entry(struct compare_result *r, const char *name)
{
	struct compare_suite *s;

	if (r->n_suites && !strcmp(r->suites[r->n_suites - 1].name, name))
		return &r->suites[r->n_suites - 1];
	XGROW(r->suites, r->n_suites + 1, r->alloc);
	s = &r->suites[r->n_suites++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	return s;
}

static int key_cmp(const struct case_row *a, const struct case_row *b)
{
	int c = strcmp(a->suite, b->suite);

	return c ? c : strcmp(a->case_id, b->case_id);
}

/* tell the caller about a flip or an unpaired case; nonzero stops */
static int report_case(const struct compare_opts *o, enum outcome oc, const struct case_row *a,
		       const struct case_row *b)
{
	struct compare_case cc;
	const struct case_row *r = a ? a : b;

	if (!o->on_case)
		return 0;
	memset(&cc, 0, sizeof(cc));
	switch (oc) {
	case OUT_ONLY_BASE:
		cc.kind = CMP_ONLY_BASELINE;
		break;
	case OUT_ONLY_CAND:
		cc.kind = CMP_ONLY_CANDIDATE;
		break;
	case OUT_CHANGED:
		cc.kind = CMP_CHANGED;
		break;
	case OUT_PASS_FAIL:
		cc.kind = CMP_NEW_FAILURE;
		break;
	case OUT_FAIL_PASS:
		cc.kind = CMP_FIXED;
		break;
	default:
		return 0;
	}
	cc.suite = r->suite;
	cc.case_id = r->case_id;
	cc.from = a ? a->status : RESULT_ERROR;
	cc.to = b ? b->status : RESULT_ERROR;
	return o->on_case(&cc, o->arg);
}

int compare_runs(struct history *h, const char *base_id, const char *cand_id,
		 const struct compare_opts *o, struct compare_result *out)
{
	struct case_iter *ia = NULL, *ib = NULL;
	struct case_row ra, rb;
	int ha, hb, ret = -1;
	size_t i;

	memset(out, 0, sizeof(*out));
	ia = history_cases_open(h, base_id, o->suite, o->tag);
	if (!ia)
		goto out;
	ib = history_cases_open(h, cand_id, o->suite, o->tag);
	if (!ib)
		goto out;
	ha = history_cases_next(ia, &ra);
	hb = history_cases_next(ib, &rb);
	while (ha > 0 || hb > 0) {
		const struct case_row *a = NULL, *b = NULL;
		struct compare_suite *s;
		enum outcome oc;
		int cmp;

		if (ha <= 0)
			cmp = 1;
		else if (hb <= 0)
			cmp = -1;
		else
			cmp = key_cmp(&ra, &rb);
		if (cmp <= 0)
			a = &ra;
		if (cmp >= 0)
			b = &rb;
		oc = classify(a, b, o->exclude_flaky);
		s = suite_entry(out, a ? a->suite : b->suite);
		counts_add(&s->c, oc, a, b);
		counts_add(&out->all, oc, a, b);
		if (report_case(o, oc, a, b))
			break;
		if (a)
			ha = history_cases_next(ia, &ra);
		if (b)
			hb = history_cases_next(ib, &rb);
	}
	if (ha < 0 || hb < 0)
		goto out;
	counts_finish(&out->all);
	for (i = 0; i < out->n_suites; i++)
		counts_finish(&out->suites[i].c);
	ret = 0;
out:
	history_cases_close(ia);
	history_cases_close(ib);
	if (ret)
		compare_result_release(out);
	return ret;
}

void compare_result_release(struct compare_result *r)
{
	size_t i;

	for (i = 0; i < r->n_suites; i++)
		free(r->suites[i].name);
	free(r->suites);
	memset(r, 0, sizeof(*r));
}

void compare_list_init(struct compare_list *l, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
}

static void item_push(struct compare_item **arr, size_t *n, size_t *alloc,
		      const struct compare_case *c)
{
	struct compare_item *it;

	XGROW(*arr, *n + 1, *alloc);
	it = &(*arr)[(*n)++];
	it->suite = xstrdup(c->suite);
	it->case_id = xstrdup(c->case_id);
	it->kind = c->kind;
}

int compare_list_add(const struct compare_case *c, void *arg)
{
	struct compare_list *l = arg;

	switch (c->kind) {
	case CMP_NEW_FAILURE:
		l->seen_flips++;
		if (l->n_new_failures < l->max)
			item_push(&l->new_failures, &l->n_new_failures, &l->a_new_failures, c);
		break;
	case CMP_FIXED:
		l->seen_flips++;
		if (l->n_fixed < l->max)
			item_push(&l->fixed, &l->n_fixed, &l->a_fixed, c);
		break;
	case CMP_CHANGED:
	case CMP_ONLY_BASELINE:
	case CMP_ONLY_CANDIDATE:
		l->seen_unpaired++;
		if (l->n_unpaired < l->max)
			item_push(&l->unpaired, &l->n_unpaired, &l->a_unpaired, c);
		break;
	}
	return 0;
}

static void items_free(struct compare_item *arr, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(arr[i].suite);
		free(arr[i].case_id);
	}
	free(arr);
}

void compare_list_release(struct compare_list *l)
{
	items_free(l->new_failures, l->n_new_failures);
	items_free(l->fixed, l->n_fixed);
	items_free(l->unpaired, l->n_unpaired);
	compare_list_init(l, l->max);
}

/* --- the regression gate --- */

void regression_outcome_release(struct regression_outcome *ro)
{
	free(ro->baseline_id);
	strbuf_release(&ro->why);
	memset(ro, 0, sizeof(*ro));
	strbuf_init(&ro->why, 0);
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

/* the detail contract of the regression gate; l may be NULL (no comparison) */
static void regression_detail(struct strbuf *sb, const struct eg_gate *g, const char *ref,
			      const struct regression_outcome *ro, const struct compare_list *l)
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
	jsonw_member_num(&w, "alpha", g->has_alpha ? g->alpha : NAN);
	jsonw_key(&w, "max_new_failures");
	if (g->has_max_new_failures)
		jsonw_int(&w, g->max_new_failures);
	else
		jsonw_null(&w);
	jsonw_member_int(&w, "only_in_candidate", c->only_in_candidate);
	jsonw_member_int(&w, "only_in_baseline", c->only_in_baseline);
	jsonw_member_int(&w, "changed", c->changed);
	jsonw_member_int(&w, "flaky_excluded", c->flaky_excluded);
	jsonw_member_int(&w, "errors_excluded", c->errors);
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

static void no_counts(struct compare_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->p_value = c->diff = c->diff_lo = c->diff_hi = NAN;
}

int regression_gate_eval(struct history *h, const char *run_id, const struct eg_config *cfg,
			 const struct eg_gate *g, const char *scope, struct gate_row *row,
			 struct strbuf *detail, struct regression_outcome *ro)
{
	const char *ref = cfg->baseline_override ? cfg->baseline_override
			  : g->baseline ? g->baseline : "latest";
	const cJSON *reg = cfg->root ? cJSON_GetObjectItemCaseSensitive(cfg->root, "registry") : NULL;
	struct baseline_query q;
	struct run_info cand, base;
	struct compare_result res;
	struct compare_list list;
	struct compare_opts o;
	int rc, ret = -1;

	memset(ro, 0, sizeof(*ro));
	strbuf_init(&ro->why, 0);
	no_counts(&ro->c);
	memset(&res, 0, sizeof(res));
	memset(&base, 0, sizeof(base));
	compare_list_init(&list, REGRESSION_LIST_MAX);
	strbuf_reset(detail);
	memset(row, 0, sizeof(*row));
	row->name = g->name;
	row->metric = g->metric_name;
	row->scope = scope;
	row->op = "<=";
	row->threshold = g->has_max_new_failures ? (double)g->max_new_failures : NAN;
	row->value = row->lo = row->hi = NAN;

	rc = history_run_lookup(h, run_id, &cand);
	if (rc != 1) {
		if (rc >= 0)
			error("history: no run %s to gate", run_id);
		return -1;
	}
	memset(&q, 0, sizeof(q));
	q.ref = ref;
	q.target = cand.target;
	q.exclude_id = cand.id;
	q.registry = cJSON_IsString(reg) ? reg->valuestring : NULL;
	rc = baseline_resolve(h, &q, &base, &ro->why);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		/* no baseline: the gate fails, it never passes silently */
		regression_detail(detail, g, ref, ro, NULL);
		ret = 0;
		goto out;
	}
	ro->baseline_id = xstrdup(base.id);
	memset(&o, 0, sizeof(o));
	o.suite = g->suite;
	o.tag = g->tag;
	o.exclude_flaky = g->exclude_flaky;
	o.on_case = compare_list_add;
	o.arg = &list;
	if (compare_runs(h, base.id, cand.id, &o, &res))
		goto out;
	ro->c = res.all;
	row->value = (double)ro->c.new_failures;
	row->n = ro->c.pairs;
	row->lo = ro->c.diff_lo;
	row->hi = ro->c.diff_hi;
	if (!ro->c.pairs) {
		strbuf_addf(&ro->why, "no case of scope %s could be paired with baseline %s "
			    "(%ld changed, %ld only in the baseline, %ld only in this run, "
			    "%ld errored, %ld flaky left out)", scope, base.id, ro->c.changed,
			    ro->c.only_in_baseline, ro->c.only_in_candidate, ro->c.errors,
			    ro->c.flaky_excluded);
	} else {
		row->pass = 1;
		if (g->has_max_new_failures && ro->c.new_failures > g->max_new_failures)
			row->pass = 0;
		if (g->has_alpha && ro->c.p_value < g->alpha && ro->c.new_failures > ro->c.fixed)
			row->pass = 0;
	}
	regression_detail(detail, g, ref, ro, &list);
	ret = 0;
out:
	row->detail = detail->buf;
	compare_list_release(&list);
	compare_result_release(&res);
	run_info_release(&base);
	run_info_release(&cand);
	return ret;
}

void regression_gate_print(FILE *out, const struct eg_gate *g, const struct gate_row *row,
			   const struct regression_outcome *ro, int color)
{
	const char *red = color ? "\033[31m" : "", *green = color ? "\033[32m" : "",
		   *reset = color ? "\033[0m" : "";
	const struct compare_counts *c = &ro->c;

	fprintf(out, "  %s%s%s  %-36s ", row->pass ? green : red, row->pass ? "PASS" : "FAIL",
		reset, g->name);
	if (!ro->baseline_id || ro->why.len) {
		fprintf(out, "no comparison: %s\n", ro->why.buf);
		return;
	}
	fprintf(out, "%8ld %s ", c->new_failures, row->op);
	if (g->has_max_new_failures)
		fprintf(out, "%-8ld", g->max_new_failures);
	else
		fprintf(out, "%-8s", "-");
	fprintf(out, "  (new failures vs %s)\n", ro->baseline_id);
	fprintf(out, "        %ld pairs: %s%ld new failure%s%s, %s%ld fixed%s, McNemar p = %.4g",
		c->pairs, c->new_failures ? red : "", c->new_failures,
		c->new_failures == 1 ? "" : "s", reset, c->fixed ? green : "", c->fixed, reset,
		c->p_value);
	if (g->has_alpha)
		fprintf(out, " (alpha %g%s)", g->alpha,
			c->p_value < g->alpha && c->new_failures > c->fixed ? ": significant drop" : "");
	if (!isnan(c->diff))
		fprintf(out, ", pass rate %+.1f pp (95%% CI %+.1f to %+.1f)", 100 * c->diff,
			100 * c->diff_lo, 100 * c->diff_hi);
	if (c->changed || c->only_in_baseline || c->only_in_candidate || c->errors ||
	    c->flaky_excluded)
		fprintf(out, "; not paired: %ld changed, %ld only in baseline, %ld only in this run, "
			"%ld errored, %ld flaky", c->changed, c->only_in_baseline,
			c->only_in_candidate, c->errors, c->flaky_excluded);
	fputc('\n', out);
}
