/*
 * confirm: flip confirmation (confirm.h; docs/gates.md "Flip confirmation").
 */
#include "confirm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "error.h"
#include "gate.h"
#include "power.h"
#include "regression.h"
#include "rng.h"
#include "stats.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/* a flipped case on its way through the rounds */
struct flip {
	char *suite;
	char *case_id;
	double key;               /* its history's estimate (the strongest over the gates); 0: none */
	uint64_t order;           /* its place in the seeded order, after key */
	int wanted;               /* gates that want it asked (not flaky in their history) */
	int fails;                /* re-asks that did not pass, in a row */
	int passed;               /* a re-ask passed: decided, passing */
};

struct flip_set {
	struct hashmap idx;       /* "suite\0case_id" -> index into v */
	struct flip *v;
	size_t n, alloc;
	uint64_t seed;            /* of the order: the run id's */
	struct flip_history *fh;  /* the history of the gate being walked, or NULL */
};

static void case_key(struct strbuf *sb, const char *suite, const char *case_id)
{
	strbuf_reset(sb);
	strbuf_addstr(sb, suite);
	strbuf_addch(sb, '\0');
	strbuf_addstr(sb, case_id);
}

static int collect_flip(const struct compare_case *c, void *arg)
{
	struct flip_set *fs = arg;
	struct strbuf key = STRBUF_INIT;
	struct eg_rng rng;
	struct flip *f;
	uint64_t *slot;
	double p;
	int added;

	if (c->kind != CMP_NEW_FAILURE && c->kind != CMP_FIXED)
		return 0;
	case_key(&key, c->suite, c->case_id);
	slot = hashmap_put_str(&fs->idx, key.buf, key.len, &added);
	if (added) {
		*slot = fs->n;
		XGROW(fs->v, fs->n + 1, fs->alloc);
		memset(&fs->v[fs->n], 0, sizeof(fs->v[fs->n]));
		fs->v[fs->n].suite = xstrdup(c->suite);
		fs->v[fs->n].case_id = xstrdup(c->case_id);
		eg_rng_seed(&rng, fs->seed, c->suite, c->case_id);
		fs->v[fs->n].order = rng.s;
		fs->n++;
	}
	f = &fs->v[*slot];
	p = fs->fh ? flip_history_p(fs->fh, c->suite, c->case_id, NULL) : NAN;
	f->wanted += !flip_history_flaky(fs->fh, p);
	if (fs->fh && !isnan(fs->fh->mean)) {
		p = isnan(p) ? fs->fh->mean : p;
		if (p > f->key)
			f->key = p;
	}
	strbuf_release(&key);
	return 0;
}

static int flip_cmp(const void *a, const void *b)
{
	const struct flip *x = a, *y = b;
	int d;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	d = strcmp(x->suite, y->suite);
	return d ? d : strcmp(x->case_id, y->case_id);
}

/* the flips of run_id against the baseline of one regression gate, into fs */
static int gate_flips(struct history *h, const char *run_id, const struct gates *gs,
		      const struct eg_gate *g, struct flip_set *fs)
{
	const struct regression_gate *rg = g->ctx;
	const char *ref = gs->baseline_override ? gs->baseline_override : rg->baseline;
	struct strbuf why = STRBUF_INIT;
	struct run_info cand, base;
	struct compare_result cmp;
	struct compare_opts o;
	struct flip_history fh;
	int rc, ret = -1;

	memset(&cmp, 0, sizeof(cmp));
	memset(&base, 0, sizeof(base));
	flip_history_init(&fh, rg->confirm.max_asks);
	rc = baseline_for_run(h, ref, run_id, gs->cfg ? gs->cfg->registry : NULL, &cand, &base,
			      &why);
	if (rc) {
		/* no baseline: the gate fails on that, nothing to confirm */
		ret = rc < 0 ? -1 : 0;
		goto out;
	}
	if (rg->confirm.use_history) {
		flip_history_release(&fh);
		if (flip_history_load(&fh, h, cand.target, base.id, cand.id, rg->confirm.max_asks))
			goto out;
		fs->fh = &fh;
	}
	regression_compare_opts(g, &o);
	o.on_case = collect_flip;
	o.arg = fs;
	ret = compare_runs(h, base.id, cand.id, &o, &cmp);
	fs->fh = NULL;
out:
	flip_history_release(&fh);
	compare_result_release(&cmp);
	run_info_release(&base);
	run_info_release(&cand);
	strbuf_release(&why);
	return ret;
}

/* a stored re-ask of the round being read back */
struct round_read {
	struct flip_set *fs;
	int sample;
	struct strbuf key;
};

static int read_reask(const struct confirm_row *c, void *arg)
{
	struct round_read *rr = arg;
	uint64_t *slot;

	if (c->sample != rr->sample)
		return 0;
	case_key(&rr->key, c->suite, c->case_id);
	slot = hashmap_get_str(&rr->fs->idx, rr->key.buf, rr->key.len);
	if (!slot)
		return 0;
	if (c->status == RESULT_PASS)
		rr->fs->v[*slot].passed = 1;
	else
		rr->fs->v[*slot].fails++; /* an error never confirms a pass */
	return 0;
}

static void flip_set_release(struct flip_set *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		free(fs->v[i].suite);
		free(fs->v[i].case_id);
	}
	free(fs->v);
	hashmap_release(&fs->idx);
}

int confirm_run(struct history *h, const char *run_id, const struct gates *gs, int repeats,
		long results, confirm_ask_fn *ask, void *arg)
{
	struct confirm_case *list = NULL;
	struct strbuf note = STRBUF_INIT;
	struct round_read rr;
	struct flip_set fs;
	long budget = 0, used = 0, failing = 0, passing = 0, discounted = 0;
	int max_asks = 0, round, rc = 0, ret = -1;
	size_t i, m;

	memset(&fs, 0, sizeof(fs));
	hashmap_init_str(&fs.idx, 64);
	fs.seed = fnv1a(run_id, strlen(run_id));
	strbuf_init(&rr.key, 0);
	for (i = 0; i < gs->n; i++) {
		const struct eg_gate *g = &gs->v[i];
		const struct regression_gate *rg = g->ctx;
		long b;

		if (strcmp(g->type->name, "regression") || !rg->confirm.max_asks)
			continue;
		b = (long)(rg->confirm.max_extra_calls * (double)results);
		if (b > budget)
			budget = b;
		if (rg->confirm.max_asks > max_asks)
			max_asks = rg->confirm.max_asks;
		if (gate_flips(h, run_id, gs, g, &fs))
			goto out;
	}
	if (!max_asks) {
		ret = 0;
		goto out;
	}
	if (fs.n)
		qsort(fs.v, fs.n, sizeof(*fs.v), flip_cmp);
	for (i = 0; i < fs.n; i++) {
		/* the sort moved them: index again */
		case_key(&rr.key, fs.v[i].suite, fs.v[i].case_id);
		*hashmap_put_str(&fs.idx, rr.key.buf, rr.key.len, NULL) = i;
	}
	list = xcalloc(fs.n + 1, sizeof(*list));
	for (round = 0; round < max_asks && used < budget && rc == 0; round++) {
		long asked = 0;

		/* the undecided flips that failed every re-ask so far: strongest history first, then seeded */
		for (i = m = 0; i < fs.n && used + (long)m < budget; i++)
			if (fs.v[i].wanted && !fs.v[i].passed && fs.v[i].fails == round) {
				list[m].suite = fs.v[i].suite;
				list[m].case_id = fs.v[i].case_id;
				m++;
			}
		if (!m)
			break;
		rc = ask(arg, list, m, repeats + round, &asked);
		used += asked;
		if (rc < 0)
			goto out;
		rr.fs = &fs;
		rr.sample = repeats + round;
		if (history_confirmations(h, run_id, read_reask, &rr))
			goto out;
	}
	if (history_set_confirm_calls(h, run_id, used))
		goto out;
	for (i = 0; i < fs.n; i++) {
		discounted += !fs.v[i].wanted;
		failing += fs.v[i].wanted && !fs.v[i].passed && fs.v[i].fails >= max_asks;
		passing += fs.v[i].passed;
	}
	if (discounted)
		strbuf_addf(&note, ", %ld on cases flaky in the history not asked", discounted);
	info("flip confirmation: %zu flipped case%s, %ld re-ask%s (at most %ld): %ld failing, "
	     "%ld passing, %ld undecided%s%s", fs.n, fs.n == 1 ? "" : "s", used,
	     used == 1 ? "" : "s", budget, failing, passing,
	     (long)fs.n - failing - passing - discounted, note.buf,
	     rc ? " (the run was stopped)" : "");
	ret = 0;
out:
	free(list);
	strbuf_release(&note);
	strbuf_release(&rr.key);
	flip_set_release(&fs);
	return ret;
}

/* ---------------------------------------------------------------- the gate's tally */

static int load_reask(const struct confirm_row *c, void *arg)
{
	struct confirm_state *cs = arg;
	struct strbuf key = STRBUF_INIT;
	uint64_t *slot;

	case_key(&key, c->suite, c->case_id);
	slot = hashmap_put_str(&cs->cases, key.buf, key.len, NULL);
	*slot += c->status == RESULT_PASS ? (uint64_t)1 << 32 : 1;
	strbuf_release(&key);
	return 0;
}

int confirm_state_load(struct confirm_state *cs, struct history *h, const char *run_id,
		       int max_asks)
{
	memset(cs, 0, sizeof(*cs));
	hashmap_init_str(&cs->cases, 64);
	cs->max_asks = max_asks;
	cs->t.p_value = 1;
	if (history_confirm_calls(h, run_id, &cs->t.calls))
		return -1;
	return history_confirmations(h, run_id, load_reask, cs);
}

/* a flip on a case flaky in the history: counted and listed, not tallied; 1 when so */
static int discount(struct confirm_state *cs, const struct compare_case *c)
{
	struct confirm_discount *d;
	double p;
	long n;

	if (!cs->fh || cs->from_older)
		return 0;
	p = flip_history_p(cs->fh, c->suite, c->case_id, &n);
	if (!flip_history_flaky(cs->fh, p))
		return 0;
	cs->t.discounted++;
	if (cs->n_disc < CONFIRM_DISCOUNT_LIST_MAX) {
		d = &cs->disc[cs->n_disc++];
		d->suite = xstrdup(c->suite);
		d->case_id = xstrdup(c->case_id);
		d->new_failure = c->kind == CMP_NEW_FAILURE;
		d->p = p;
		d->samples = n;
	}
	return 1;
}

int confirm_on_case(const struct compare_case *c, void *arg)
{
	struct confirm_state *cs = arg;

	if ((c->kind == CMP_NEW_FAILURE || c->kind == CMP_FIXED) && !discount(cs, c)) {
		struct strbuf key = STRBUF_INIT;
		uint64_t *slot, passes = 0, others = 0;

		case_key(&key, c->suite, c->case_id);
		slot = hashmap_get_str(&cs->cases, key.buf, key.len);
		strbuf_release(&key);
		if (slot) {
			passes = *slot >> 32;
			others = *slot & 0xffffffffu;
			cs->t.asked++;
		}
		if (passes)
			cs->t.passing++;
		else if (others >= (uint64_t)cs->max_asks && c->kind == CMP_NEW_FAILURE)
			cs->t.new_failures++;
		else if (others >= (uint64_t)cs->max_asks)
			cs->t.fixed++;
		else
			cs->t.undecided++;
	}
	return cs->next ? cs->next(c, cs->next_arg) : 0;
}

void confirm_state_finish(struct confirm_state *cs)
{
	cs->t.p_value = mcnemar_exact_p(cs->t.new_failures, cs->t.fixed);
}

void confirm_state_release(struct confirm_state *cs)
{
	size_t i;

	for (i = 0; i < cs->n_disc; i++) {
		free(cs->disc[i].suite);
		free(cs->disc[i].case_id);
	}
	cs->n_disc = 0;
	hashmap_release(&cs->cases);
}
