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

void power_rates_init(struct power_rates *pr)
{
	memset(pr, 0, sizeof(*pr));
	hashmap_init_str(&pr->index, 64);
}

int power_rates_add_run(struct power_rates *pr, struct history *h, const char *run_id)
{
	struct strbuf key = STRBUF_INIT;
	struct case_iter *it = history_cases_open(h, run_id, NULL, NULL);
	struct case_row row;
	int rc;

	if (!it)
		return -1;
	while ((rc = history_cases_next(it, &row)) > 0) {
		uint64_t *slot;
		int added;

		if (row.status == RESULT_ERROR)
			continue;
		strbuf_reset(&key);
		strbuf_addstr(&key, row.suite);
		strbuf_addch(&key, '\0');
		strbuf_addstr(&key, row.case_id);
		slot = hashmap_put_str(&pr->index, key.buf, key.len, &added);
		if (added) {
			XGROW(pr->pass, pr->n + 1, pr->alloc_p);
			XGROW(pr->seen, pr->n + 1, pr->alloc_s);
			XGROW(pr->s_pass, pr->n + 1, pr->alloc_sp);
			XGROW(pr->s_seen, pr->n + 1, pr->alloc_ss);
			pr->pass[pr->n] = pr->seen[pr->n] = 0;
			pr->s_pass[pr->n] = pr->s_seen[pr->n] = 0;
			*slot = ++pr->n;
		}
		pr->pass[*slot - 1] += row.status == RESULT_PASS;
		pr->seen[*slot - 1]++;
		pr->s_pass[*slot - 1] += row.n_pass;
		pr->s_seen[*slot - 1] += row.n_pass + row.n_fail;
	}
	history_cases_close(it);
	strbuf_release(&key);
	if (rc < 0)
		return -1;
	pr->runs++;
	return 0;
}

/* the last max_runs complete runs of target up to until_id, without exclude_id and skip_id */
static int add_runs(struct power_rates *pr, struct history *h, const char *target,
		    const char *until_id, const char *exclude_id, const char *skip_id,
		    size_t max_runs)
{
	const struct run_info *ri;
	struct run_filter f;
	struct run_iter it;
	size_t added = 0;
	int got = 0;

	memset(&f, 0, sizeof(f));
	f.target = target;
	f.complete = 1;
	f.newest_first = 1;
	f.until_id = until_id;
	f.exclude_id = exclude_id;
	if (history_runs_begin(h, &f, &it))
		return -1;
	while (added < max_runs && (got = history_runs_next(&it, &ri)) > 0) {
		if (skip_id && !strcmp(ri->id, skip_id))
			continue;
		if (power_rates_add_run(pr, h, ri->id)) {
			got = -1;
			break;
		}
		added++;
	}
	history_runs_end(&it);
	return got < 0 ? -1 : 0;
}

int power_rates_add_target(struct power_rates *pr, struct history *h, const char *target,
			   const char *until_id, size_t max_runs)
{
	return add_runs(pr, h, target, until_id, NULL, NULL, max_runs);
}

double *power_rates_values(const struct power_rates *pr, double *mean)
{
	double *p = xcalloc(pr->n + 1, sizeof(*p));
	size_t i;

	*mean = 0;
	for (i = 0; i < pr->n; i++) {
		p[i] = (double)pr->pass[i] / (double)pr->seen[i];
		*mean += p[i] / (double)pr->n;
	}
	return p;
}

void power_rates_release(struct power_rates *pr)
{
	free(pr->pass);
	free(pr->seen);
	free(pr->s_pass);
	free(pr->s_seen);
	hashmap_release(&pr->index);
	memset(pr, 0, sizeof(*pr));
}

double flip_history_flaky_p(int max_asks)
{
	return max_asks > 0 ? 1 - pow(HISTORY_FLAKY_SURVIVAL, 1.0 / max_asks) : 0;
}

void flip_history_init(struct flip_history *fh, int max_asks)
{
	power_rates_init(&fh->pr);
	fh->mean = NAN;
	fh->flaky_p = flip_history_flaky_p(max_asks);
}

void flip_history_finish(struct flip_history *fh)
{
	long s = 0, n = 0;
	size_t i;

	for (i = 0; i < fh->pr.n; i++) {
		s += fh->pr.s_pass[i];
		n += fh->pr.s_seen[i];
	}
	fh->mean = n ? (double)s / (double)n : NAN;
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

double flip_history_p_at(const struct flip_history *fh, size_t i, long *n)
{
	long s = fh->pr.s_pass[i], k = fh->pr.s_seen[i];

	if (n)
		*n = k;
	if (k < HISTORY_MIN_SAMPLES || isnan(fh->mean))
		return NAN;
	return ((double)s + HISTORY_PRIOR_WEIGHT * fh->mean) / ((double)k + HISTORY_PRIOR_WEIGHT);
}

double flip_history_p(const struct flip_history *fh, const char *suite, const char *case_id,
		      long *n)
{
	struct strbuf key = STRBUF_INIT;
	uint64_t *slot;

	strbuf_addstr(&key, suite);
	strbuf_addch(&key, '\0');
	strbuf_addstr(&key, case_id);
	slot = hashmap_get_str(&fh->pr.index, key.buf, key.len);
	strbuf_release(&key);
	if (slot)
		return flip_history_p_at(fh, *slot - 1, n);
	if (n)
		*n = 0;
	return NAN;
}

double *flip_history_values(const struct flip_history *fh)
{
	double *v = xcalloc(fh->pr.n + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < fh->pr.n; i++)
		v[i] = flip_history_p_at(fh, i, NULL);
	return v;
}

void flip_history_release(struct flip_history *fh)
{
	power_rates_release(&fh->pr);
}

/* uniform in [0, 1) from the top 53 bits */
static double uniform(struct eg_rng *rng)
{
	return (double)(eg_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* one flipped case of a simulated PR on its way through the re-asks */
struct sim_flip {
	double pc;                /* the candidate's rate */
	double key;               /* its history's estimate: the order of the re-asks */
	size_t at;                /* its place among the PR's flips (ties) */
	int new_failure;          /* else fixed */
	int fails, passed;
};

/* strongest history first, then the order of the cases */
static int sim_flip_cmp(const void *a, const void *b)
{
	const struct sim_flip *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/*
 * the re-asks of flip confirmation over the PR's flips (in case order,
 * which is random: the cases are; strongest history first with one), as
 * confirm_run makes them
 */
static void simulate_confirm(const struct regression_gate *rg, struct sim_flip *fl, size_t nf,
			     size_t n, int sorted, struct eg_rng *rng, struct confirm_tally *t)
{
	long budget = (long)(rg->confirm.max_extra_calls * (double)n), used = 0;
	int round;
	size_t i;

	if (sorted && nf > 1)
		qsort(fl, nf, sizeof(*fl), sim_flip_cmp);
	for (round = 0; round < rg->confirm.max_asks; round++)
		for (i = 0; i < nf && used < budget; i++) {
			if (fl[i].passed || fl[i].fails != round)
				continue;
			used++;
			if (uniform(rng) < fl[i].pc)
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

long power_simulate(const struct regression_gate *rg, const double *p, size_t m, double drop,
		    double mean_p, size_t n, long prs, const struct flip_history *fh,
		    const double *est, struct eg_rng *rng)
{
	struct sim_flip *fl = rg->confirm.max_asks ? xcalloc(n + 1, sizeof(*fl)) : NULL;
	int hist = fl && fh && est && rg->confirm.use_history;
	struct compare_counts c;
	struct confirm_tally t;
	long blocked = 0, k;
	size_t i, nf;

	for (k = 0; k < prs; k++) {
		memset(&c, 0, sizeof(c));
		memset(&t, 0, sizeof(t));
		nf = 0;
		for (i = 0; i < n; i++) {
			size_t at = n == m ? i : (size_t)eg_rng_below(rng, m);
			double pb = p[at];
			double pc = mean_p > 0 ? pb - drop * pb / mean_p : pb;
			int b = uniform(rng) < pb;
			int a = uniform(rng) < pc;

			c.new_failures += b && !a;
			c.fixed += !b && a;
			if (!fl || b == a)
				continue;
			if (hist && flip_history_flaky(fh, est[at])) {
				t.discounted++; /* not asked, not in the confirmed test */
				continue;
			}
			memset(&fl[nf], 0, sizeof(fl[nf]));
			fl[nf].pc = pc;
			fl[nf].key = hist ? (isnan(est[at]) ? fh->mean : est[at]) : 0;
			fl[nf].at = nf;
			fl[nf].new_failure = b;
			nf++;
		}
		c.pairs = (long)n;
		c.p_value = mcnemar_exact_p(c.new_failures, c.fixed);
		if (fl)
			simulate_confirm(rg, fl, nf, n, hist, rng, &t);
		blocked += regression_blocks(rg, &c, fl ? &t : NULL);
	}
	free(fl);
	return blocked;
}

int power_estimate(const struct regression_gate *rg, struct history *h, const char *target,
		   const char *until_id, size_t n, struct power_estimate *out)
{
	struct flip_history fh;
	struct eg_rng rng;
	double *p = NULL, *est = NULL, mean;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	flip_history_init(&fh, rg->confirm.max_asks);
	if (power_rates_add_target(&fh.pr, h, target, until_id, POWER_REPORT_RUNS))
		goto out;
	ret = 1;
	if (!fh.pr.n || !n)
		goto out;
	flip_history_finish(&fh);
	p = power_rates_values(&fh.pr, &mean);
	est = flip_history_values(&fh);
	out->runs = fh.pr.runs;
	out->cases = fh.pr.n;
	out->n = n;
	out->prs = POWER_REPORT_PRS;
	/* the order of `evalgate power`: no change first, then the drop, one stream */
	eg_rng_init(&rng, POWER_REPORT_SEED);
	out->false_blocks = power_simulate(rg, p, fh.pr.n, 0, mean, n, out->prs, &fh, est, &rng);
	out->caught = POWER_REPORT_DROP > mean ? 0
		      : power_simulate(rg, p, fh.pr.n, POWER_REPORT_DROP, mean, n, out->prs, &fh,
				       est, &rng);
	ret = 0;
out:
	free(p);
	free(est);
	flip_history_release(&fh);
	return ret;
}
