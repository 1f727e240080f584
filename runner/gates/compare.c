#include "compare.h"

#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "trajectory.h"
#include "xalloc.h"
#include "banned.h"

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
	OUT_PASS_FAIL_ERROR,      /* counted errors: pass in the baseline, error in the candidate */
	OUT_FAIL_ERROR,           /* counted errors: fail in the baseline, error in the candidate */
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
	case OUT_PASS_FAIL_ERROR:
		c->pairs++;
		c->new_failures++;
		c->cand_errors++;
		break;
	case OUT_FAIL_ERROR:
		c->pairs++;
		c->both_fail++;
		c->cand_errors++;
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

static enum outcome classify(const struct case_row *a, const struct case_row *b,
			    const struct compare_opts *o)
{
	int exclude_flaky = o->exclude_flaky;

	if (!b)
		return OUT_ONLY_BASE;
	if (!a)
		return OUT_ONLY_CAND;
	if (!a->case_hash || !b->case_hash || strcmp(a->case_hash, b->case_hash))
		return OUT_CHANGED;
	/* counted errors: an error in the candidate is a failure there; the baseline's stay out */
	if (o->count_errors && a->status != RESULT_ERROR && b->status == RESULT_ERROR)
		return a->status == RESULT_PASS ? OUT_PASS_FAIL_ERROR : OUT_FAIL_ERROR;
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
	case OUT_PASS_FAIL_ERROR:
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
		oc = classify(a, b, o);
		s = suite_entry(out, a ? a->suite : b->suite);
		counts_add(&s->c, oc, a, b);
		counts_add(&out->all, oc, a, b);
		if (report_case(o, oc, a, b))
			break;
		if (o->on_pair && a && b && oc != OUT_CHANGED && o->on_pair(a, b, o->arg))
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

long compare_cases_in_scope(const struct compare_counts *c)
{
	return c->pairs + c->changed + c->only_in_candidate + c->errors + c->flaky_excluded;
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

/* --- trajectories --- */

/* a result's calls (malloc'd); a reply without a trajectory has none: "" */
static char *calls_sig(const char *target_reply)
{
	struct strbuf sb = STRBUF_INIT;

	if (trajectory_calls_stored(&sb, target_reply) < 0)
		strbuf_reset(&sb);
	return strbuf_detach(&sb, NULL);
}

struct traj_walk {
	struct reply_iter *base, *cand;
	compare_traj_fn *fn;
	void *arg;
};

/* one case's calls in both runs ("": none): fn's when they differ; nonzero stops */
static int traj_pair(struct traj_walk *w, const char *suite, const char *case_id,
		     const char *base, const char *cand)
{
	return strcmp(base, cand) ? w->fn(suite, case_id, base, cand, w->arg) : 0;
}

/*
 * a case with a reply in one run only (r): a flip when it made calls and
 * the other run holds the case without a reply; nonzero stops, -1 error
 */
static int traj_one_side(struct traj_walk *w, const struct reply_row *r, int in_base)
{
	char *sig = calls_sig(r->target_reply);
	int rc = 0;

	if (*sig && (rc = history_replies_has_case(in_base ? w->cand : w->base, r->suite,
						   r->case_id)) == 1)
		rc = traj_pair(w, r->suite, r->case_id, in_base ? sig : "", in_base ? "" : sig);
	free(sig);
	return rc;
}

int compare_trajectories(struct history *h, const char *base_id, const char *cand_id,
			 const char *suite, compare_traj_fn *fn, void *arg)
{
	struct traj_walk w = { NULL, NULL, fn, arg };
	struct reply_row ra, rb;
	int ha = 0, hb = 0, stop = 0, ret = -1;

	if (!(w.base = history_replies_open(h, base_id, suite)) ||
	    !(w.cand = history_replies_open(h, cand_id, suite)))
		goto out;
	if ((ha = history_replies_next(w.base, &ra)) < 0 ||
	    (hb = history_replies_next(w.cand, &rb)) < 0)
		goto out;
	while (!stop && (ha || hb)) {
		int cmp = !ha ? 1 : !hb ? -1 : strcmp(ra.suite, rb.suite);

		if (ha && hb && !cmp)
			cmp = strcmp(ra.case_id, rb.case_id);
		if (!cmp) {
			char *sa = calls_sig(ra.target_reply), *sb = calls_sig(rb.target_reply);

			stop = traj_pair(&w, ra.suite, ra.case_id, sa, sb);
			free(sa);
			free(sb);
		} else {
			stop = cmp < 0 ? traj_one_side(&w, &ra, 1) : traj_one_side(&w, &rb, 0);
			if (stop < 0)
				goto out;
		}
		if (!stop && cmp <= 0 && (ha = history_replies_next(w.base, &ra)) < 0)
			goto out;
		if (!stop && cmp >= 0 && (hb = history_replies_next(w.cand, &rb)) < 0)
			goto out;
	}
	ret = 0;
out:
	history_replies_close(w.base);
	history_replies_close(w.cand);
	return ret;
}
