/*
 * power: the simulation behind `evalgate power` and the reports' estimate
 * (power.h).
 */
#include "power.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "stats.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/* --- the runs' cases, read together --- */

/* one case iterator per run, each holding its next case (row) until it is used */
struct run_walk {
	struct history *h;        /* borrowed, as the run ids */
	char **run_ids;
	size_t n;
	struct case_iter **it;    /* NULL until opened */
	struct case_row *row;
	int *state;               /* per run: 1 row holds its next case, 0 at its end */
	struct strbuf suite, case_id; /* the key at hand: the last one taken or sought */
	int sought;               /* run_walk_seek has a key */
};

static void run_walk_init(struct run_walk *w, const struct power_rates *pr)
{
	memset(w, 0, sizeof(*w));
	w->h = pr->h;
	w->run_ids = pr->run_ids;
	w->n = pr->runs;
	strbuf_init(&w->suite, 0);
	strbuf_init(&w->case_id, 0);
}

static int walk_advance(struct run_walk *w, size_t i)
{
	int rc = history_cases_next(w->it[i], &w->row[i]);

	w->state[i] = rc > 0;
	return rc < 0 ? -1 : 0;
}

static void run_walk_close(struct run_walk *w)
{
	size_t i;

	for (i = 0; w->it && i < w->n; i++)
		history_cases_close(w->it[i]);
	free(w->it);
	free(w->row);
	free(w->state);
	w->it = NULL;
	w->row = NULL;
	w->state = NULL;
}

static void run_walk_release(struct run_walk *w)
{
	run_walk_close(w);
	strbuf_release(&w->suite);
	strbuf_release(&w->case_id);
}

/* every run's iterator at its first case; -1 after reporting an error */
static int run_walk_open(struct run_walk *w)
{
	size_t i;

	run_walk_close(w);
	w->it = xcalloc(w->n + 1, sizeof(*w->it));
	w->row = xcalloc(w->n + 1, sizeof(*w->row));
	w->state = xcalloc(w->n + 1, sizeof(*w->state));
	for (i = 0; i < w->n; i++) {
		w->it[i] = history_cases_open(w->h, w->run_ids[i], NULL, NULL);
		if (!w->it[i] || walk_advance(w, i))
			return -1;
	}
	return 0;
}

static int row_cmp(const struct case_row *r, const char *suite, const char *case_id)
{
	int c = strcmp(r->suite, suite);

	return c ? c : strcmp(r->case_id, case_id);
}

/* the key at hand is (suite, case_id) */
static void walk_key(struct run_walk *w, const char *suite, const char *case_id)
{
	strbuf_reset(&w->suite);
	strbuf_addstr(&w->suite, suite);
	strbuf_reset(&w->case_id);
	strbuf_addstr(&w->case_id, case_id);
}

/* add a run's case to the history ph unless its verdict is an error */
static void ph_add(struct power_history *ph, const struct case_row *r)
{
	if (r->status == RESULT_ERROR)
		return;
	ph->pass += r->status == RESULT_PASS;
	ph->seen++;
	ph->s_pass += r->n_pass;
	ph->s_seen += r->n_pass + r->n_fail;
}

/*
 * The next case of the merged runs: its history over them into *ph; 1, 0
 * at the end of every run, -1 on error. The smallest key is copied first,
 * since advancing the run that holds it moves its strings.
 */
static int run_walk_next(struct run_walk *w, struct power_history *ph)
{
	const struct case_row *min = NULL;
	size_t i;

	memset(ph, 0, sizeof(*ph));
	for (i = 0; i < w->n; i++)
		if (w->state[i] && (!min || row_cmp(&w->row[i], min->suite, min->case_id) < 0))
			min = &w->row[i];
	if (!min)
		return 0;
	walk_key(w, min->suite, min->case_id);
	for (i = 0; i < w->n; i++) {
		if (!w->state[i] || row_cmp(&w->row[i], w->suite.buf, w->case_id.buf))
			continue;
		ph_add(ph, &w->row[i]);
		if (walk_advance(w, i))
			return -1;
	}
	return 1;
}

/* the history of one case over the runs: each run moved up to the key (ascending keys) */
static int run_walk_seek(struct run_walk *w, const char *suite, const char *case_id,
			 struct power_history *ph)
{
	size_t i;

	memset(ph, 0, sizeof(*ph));
	if (!w->it || (w->sought && (strcmp(suite, w->suite.buf) < 0 ||
				     (!strcmp(suite, w->suite.buf) &&
				      strcmp(case_id, w->case_id.buf) < 0)))) {
		if (run_walk_open(w)) {
			run_walk_close(w); /* the next seek opens the runs again */
			return -1;
		}
	}
	w->sought = 1;
	walk_key(w, suite, case_id);
	for (i = 0; i < w->n; i++) {
		int c = -1;

		while (w->state[i] && (c = row_cmp(&w->row[i], suite, case_id)) < 0)
			if (walk_advance(w, i))
				return -1;
		if (w->state[i] && !c)
			ph_add(ph, &w->row[i]);
	}
	return 0;
}

/* --- rates --- */

void power_rates_init(struct power_rates *pr)
{
	memset(pr, 0, sizeof(*pr));
	hashmap_init_str(&pr->index, 64);
}

/* one case's history, counted */
static void rates_add(struct power_rates *pr, const struct power_history *ph)
{
	struct power_history key = *ph;
	uint64_t *slot;
	int added;

	if (!ph->seen)
		return; /* errored in every run: no rate */
	key.count = 0;
	slot = hashmap_put_str(&pr->index, (const char *)&key, sizeof(key), &added);
	if (added) {
		XGROW(pr->v, pr->n_v + 1, pr->alloc);
		pr->v[pr->n_v] = key;
		*slot = ++pr->n_v;
	}
	pr->v[*slot - 1].count++;
	pr->n++;
	pr->s_pass += ph->s_pass;
	pr->s_seen += ph->s_seen;
}

/* the runs' cases, merged: every case's history counted */
static int rates_read(struct power_rates *pr)
{
	struct run_walk w;
	struct power_history ph;
	int rc;

	run_walk_init(&w, pr);
	rc = run_walk_open(&w);
	while (!rc && (rc = run_walk_next(&w, &ph)) > 0) {
		rates_add(pr, &ph);
		rc = 0;
	}
	run_walk_release(&w);
	return rc < 0 ? -1 : 0;
}

/* the last max_runs complete runs of target up to until_id, without exclude_id and skip_id */
static int add_runs(struct power_rates *pr, struct history *h, const char *target,
		    const char *until_id, const char *exclude_id, const char *skip_id,
		    size_t max_runs)
{
	const struct run_info *ri;
	struct run_filter f;
	struct run_iter it;
	int got = 0;

	memset(&f, 0, sizeof(f));
	f.target = target;
	f.complete = 1;
	f.newest_first = 1;
	f.until_id = until_id;
	f.exclude_id = exclude_id;
	pr->h = h;
	if (history_runs_begin(h, &f, &it))
		return -1;
	while (pr->runs < max_runs && (got = history_runs_next(&it, &ri)) > 0) {
		if (skip_id && !strcmp(ri->id, skip_id))
			continue;
		pr->run_ids = xrealloc(pr->run_ids, (pr->runs + 1) * sizeof(*pr->run_ids));
		pr->run_ids[pr->runs++] = xstrdup(ri->id);
	}
	history_runs_end(&it);
	if (got < 0)
		return -1;
	return rates_read(pr);
}

int power_rates_add_target(struct power_rates *pr, struct history *h, const char *target,
			   const char *until_id, size_t max_runs)
{
	return add_runs(pr, h, target, until_id, NULL, NULL, max_runs);
}

void power_rates_release(struct power_rates *pr)
{
	size_t i;

	for (i = 0; i < pr->runs; i++)
		free(pr->run_ids[i]);
	free(pr->run_ids);
	free(pr->v);
	hashmap_release(&pr->index);
	memset(pr, 0, sizeof(*pr));
}

/* --- the history of flip confirmation --- */

double flip_history_flaky_p(int max_asks)
{
	return max_asks > 0 ? 1 - pow(HISTORY_FLAKY_SURVIVAL, 1.0 / max_asks) : 0;
}

void flip_history_init(struct flip_history *fh, int max_asks)
{
	power_rates_init(&fh->pr);
	fh->mean = NAN;
	fh->flaky_p = flip_history_flaky_p(max_asks);
	fh->cur = NULL;
}

void flip_history_finish(struct flip_history *fh)
{
	fh->mean = fh->pr.s_seen ? (double)fh->pr.s_pass / (double)fh->pr.s_seen : NAN;
}

int flip_history_load(struct flip_history *fh, struct history *h, const char *target,
		      const char *base_id, const char *cand_id, int max_asks)
{
	flip_history_init(fh, max_asks);
	if (add_runs(&fh->pr, h, target, base_id, base_id, cand_id, POWER_REPORT_RUNS))
		return -1;
	flip_history_finish(fh);
	return 0;
}

double flip_history_est(const struct flip_history *fh, long s_pass, long s_seen)
{
	if (s_seen < HISTORY_MIN_SAMPLES || isnan(fh->mean))
		return NAN;
	return ((double)s_pass + HISTORY_PRIOR_WEIGHT * fh->mean) /
	       ((double)s_seen + HISTORY_PRIOR_WEIGHT);
}

double flip_history_p(struct flip_history *fh, const char *suite, const char *case_id,
		      long *n)
{
	struct power_history ph;

	if (n)
		*n = 0;
	if (!fh->pr.runs)
		return NAN;
	if (!fh->cur) {
		fh->cur = xmalloc(sizeof(*fh->cur));
		run_walk_init(fh->cur, &fh->pr);
	}
	if (run_walk_seek(fh->cur, suite, case_id, &ph)) {
		if (n)
			*n = -1;
		return NAN;
	}
	if (n)
		*n = ph.s_seen;
	return flip_history_est(fh, ph.s_pass, ph.s_seen);
}

void flip_history_release(struct flip_history *fh)
{
	if (fh->cur) {
		run_walk_release(fh->cur);
		free(fh->cur);
		fh->cur = NULL;
	}
	power_rates_release(&fh->pr);
}

struct power_group *power_groups(const struct flip_history *fh, double *mean)
{
	struct power_group *g = xcalloc(fh->pr.n_v + 1, sizeof(*g));
	size_t i;

	*mean = 0;
	for (i = 0; i < fh->pr.n_v; i++) {
		const struct power_history *ph = &fh->pr.v[i];

		g[i].p = (double)ph->pass / (double)ph->seen;
		g[i].est = flip_history_est(fh, ph->s_pass, ph->s_seen);
		g[i].count = ph->count;
		*mean += g[i].p * (double)ph->count;
	}
	if (fh->pr.n)
		*mean /= (double)fh->pr.n;
	return g;
}

/* --- simulation --- */

/* one flipped case of a simulated PR on its way through the re-asks */
struct sim_flip {
	double pc;                /* the candidate's rate */
	unsigned char new_failure; /* else fixed */
	unsigned char fails, passed;
};

struct sim_flips {
	struct sim_flip *v;
	size_t n, alloc;
};

static void flips_push(struct sim_flips *f, double pc, int new_failure, uint64_t k)
{
	XGROW(f->v, f->n + k + 1, f->alloc);
	while (k--) {
		struct sim_flip *s = &f->v[f->n++];

		s->pc = pc;
		s->new_failure = (unsigned char)new_failure;
		s->fails = s->passed = 0;
	}
}

/* v[from..n) in a random order (Fisher-Yates) */
static void flips_shuffle(struct sim_flips *f, size_t from, struct eg_rng *rng)
{
	size_t i;

	for (i = f->n; i > from + 1; i--) {
		size_t j = from + (size_t)eg_rng_below(rng, i - from);
		struct sim_flip t = f->v[i - 1];

		f->v[i - 1] = f->v[j];
		f->v[j] = t;
	}
}

/*
 * the re-asks of flip confirmation over the PR's flips, in their order
 * (strongest history first, then random: confirm_run's), within the budget
 */
static void simulate_confirm(const struct regression_gate *rg, struct sim_flip *fl, size_t nf,
			     size_t n, struct eg_rng *rng, struct confirm_tally *t)
{
	long budget = (long)(rg->confirm.max_extra_calls * (double)n), used = 0;
	int round;
	size_t i;

	for (round = 0; round < rg->confirm.max_asks; round++)
		for (i = 0; i < nf && used < budget; i++) {
			if (fl[i].passed || fl[i].fails != round)
				continue;
			used++;
			if (eg_rng_uniform(rng) < fl[i].pc)
				fl[i].passed = 1;
			else
				fl[i].fails++;
		}
	for (i = 0; i < nf; i++)
		if (!fl[i].passed && fl[i].fails >= rg->confirm.max_asks) {
			t->new_failures += fl[i].new_failure;
			t->fixed += !fl[i].new_failure;
		}
	t->calls = used;
	t->p_value = mcnemar_exact_p(t->new_failures, t->fixed);
}

/* the order confirm_run re-asks in: the groups by their key, strongest first */
struct group_key {
	double key;
	size_t i;
};

static int group_key_cmp(const void *a, const void *b)
{
	const struct group_key *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static double clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

long power_simulate(const struct regression_gate *rg, const struct power_group *g, size_t m,
		    size_t cases, double drop, double mean_p, size_t n, long prs,
		    const struct flip_history *fh, struct eg_rng *rng)
{
	int confirm = rg->confirm.max_asks > 0;
	int hist = confirm && fh && rg->confirm.use_history;
	struct group_key *order = xcalloc(m + 1, sizeof(*order));
	uint64_t *drawn = xcalloc(m + 1, sizeof(*drawn));
	struct sim_flips fl = { 0 };
	struct compare_counts c;
	struct confirm_tally t;
	long blocked = 0, k;
	size_t i;

	for (i = 0; i < m; i++) {
		order[i].i = i;
		order[i].key = hist ? (isnan(g[i].est) ? fh->mean : g[i].est) : 0;
	}
	qsort(order, m, sizeof(*order), group_key_cmp);
	for (k = 0; k < prs; k++) {
		uint64_t left = n, weight = cases;
		size_t block = 0;

		memset(&c, 0, sizeof(c));
		memset(&t, 0, sizeof(t));
		fl.n = 0;
		/* the PR's cases: each once, or n drawn from all of them (multinomial) */
		for (i = 0; i < m; i++) {
			if (n == cases) {
				drawn[i] = g[i].count;
			} else {
				drawn[i] = i + 1 == m || !weight ? left
					   : eg_rng_binomial(rng, left,
							     (double)g[i].count / (double)weight);
				left -= drawn[i];
				weight -= g[i].count;
			}
		}
		for (i = 0; i < m; i++) {
			const struct power_group *gr = &g[order[i].i];
			uint64_t d = drawn[order[i].i], nf, fx;
			double pb = gr->p, pc = clamp01(mean_p > 0 ? pb - drop * pb / mean_p : pb);
			double p_nf = pb * (1 - pc), p_fx = (1 - pb) * pc;

			if (i && order[i].key != order[i - 1].key) {
				flips_shuffle(&fl, block, rng);
				block = fl.n;
			}
			/* pass -> fail, then fail -> pass among the rest */
			nf = eg_rng_binomial(rng, d, p_nf);
			fx = p_nf < 1 ? eg_rng_binomial(rng, d - nf, p_fx / (1 - p_nf)) : 0;
			c.new_failures += (long)nf;
			c.fixed += (long)fx;
			if (!confirm || !(nf + fx))
				continue;
			if (hist && flip_history_flaky(fh, gr->est)) {
				t.discounted += (long)(nf + fx); /* not asked, not in the confirmed test */
				continue;
			}
			flips_push(&fl, pc, 1, nf);
			flips_push(&fl, pc, 0, fx);
		}
		flips_shuffle(&fl, block, rng);
		c.pairs = (long)n;
		c.p_value = mcnemar_exact_p(c.new_failures, c.fixed);
		if (confirm)
			simulate_confirm(rg, fl.v, fl.n, n, rng, &t);
		blocked += regression_blocks(rg, &c, confirm ? &t : NULL);
	}
	free(fl.v);
	free(order);
	free(drawn);
	return blocked;
}

int power_estimate(const struct regression_gate *rg, struct history *h, const char *target,
		   const char *until_id, size_t n, struct power_estimate *out)
{
	struct flip_history fh;
	struct power_group *g = NULL;
	struct eg_rng rng;
	double mean;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	flip_history_init(&fh, rg->confirm.max_asks);
	if (power_rates_add_target(&fh.pr, h, target, until_id, POWER_REPORT_RUNS))
		goto out;
	ret = 1;
	if (!fh.pr.n || !n)
		goto out;
	flip_history_finish(&fh);
	g = power_groups(&fh, &mean);
	out->runs = fh.pr.runs;
	out->cases = fh.pr.n;
	out->n = n;
	out->prs = POWER_REPORT_PRS;
	/* the order of `evalgate power`: no change first, then the drop, one stream */
	eg_rng_init(&rng, POWER_REPORT_SEED);
	out->false_blocks = power_simulate(rg, g, fh.pr.n_v, fh.pr.n, 0, mean, n, out->prs, &fh,
					   &rng);
	out->caught = POWER_REPORT_DROP > mean ? 0
		      : power_simulate(rg, g, fh.pr.n_v, fh.pr.n, POWER_REPORT_DROP, mean, n,
				       out->prs, &fh, &rng);
	ret = 0;
out:
	free(g);
	flip_history_release(&fh);
	return ret;
}
