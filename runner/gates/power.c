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
			pr->pass[pr->n] = pr->seen[pr->n] = 0;
			*slot = ++pr->n;
		}
		pr->pass[*slot - 1] += row.status == RESULT_PASS;
		pr->seen[*slot - 1]++;
	}
	history_cases_close(it);
	strbuf_release(&key);
	if (rc < 0)
		return -1;
	pr->runs++;
	return 0;
}

int power_rates_add_target(struct power_rates *pr, struct history *h, const char *target,
			   const char *until_id, size_t max_runs)
{
	const struct run_info *ri;
	struct run_filter f;
	struct run_iter it;
	int got;

	memset(&f, 0, sizeof(f));
	f.target = target;
	f.complete = 1;
	f.newest_first = 1;
	f.limit = max_runs;
	f.until_id = until_id;
	if (history_runs_begin(h, &f, &it))
		return -1;
	while ((got = history_runs_next(&it, &ri)) > 0)
		if (power_rates_add_run(pr, h, ri->id)) {
			got = -1;
			break;
		}
	history_runs_end(&it);
	return got ? -1 : 0;
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
	hashmap_release(&pr->index);
	memset(pr, 0, sizeof(*pr));
}

/* uniform in [0, 1) from the top 53 bits */
static double uniform(struct eg_rng *rng)
{
	return (double)(eg_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* one flipped case of a simulated PR on its way through the re-asks */
struct sim_flip {
	double pc;                /* the candidate's rate */
	int new_failure;          /* else fixed */
	int fails, passed;
};

/*
 * the re-asks of flip confirmation over the PR's flips (in case order,
 * which is random: the cases are), as confirm_run makes them
 */
static void simulate_confirm(const struct regression_gate *rg, struct sim_flip *fl, size_t nf,
			     size_t n, struct eg_rng *rng, struct confirm_tally *t)
{
	long budget = (long)(rg->confirm.max_extra_calls * (double)n), used = 0;
	int round;
	size_t i;

	memset(t, 0, sizeof(*t));
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
		    double mean_p, size_t n, long prs, struct eg_rng *rng)
{
	struct sim_flip *fl = rg->confirm.max_asks ? xcalloc(n + 1, sizeof(*fl)) : NULL;
	struct compare_counts c;
	struct confirm_tally t;
	long blocked = 0, k;
	size_t i, nf;

	for (k = 0; k < prs; k++) {
		memset(&c, 0, sizeof(c));
		nf = 0;
		for (i = 0; i < n; i++) {
			double pb = p[n == m ? i : (size_t)eg_rng_below(rng, m)];
			double pc = mean_p > 0 ? pb - drop * pb / mean_p : pb;
			int b = uniform(rng) < pb;
			int a = uniform(rng) < pc;

			c.new_failures += b && !a;
			c.fixed += !b && a;
			if (fl && b != a) {
				memset(&fl[nf], 0, sizeof(fl[nf]));
				fl[nf].pc = pc;
				fl[nf].new_failure = b;
				nf++;
			}
		}
		c.pairs = (long)n;
		c.p_value = mcnemar_exact_p(c.new_failures, c.fixed);
		if (fl)
			simulate_confirm(rg, fl, nf, n, rng, &t);
		blocked += regression_blocks(rg, &c, fl ? &t : NULL);
	}
	free(fl);
	return blocked;
}

int power_estimate(const struct regression_gate *rg, struct history *h, const char *target,
		   const char *until_id, size_t n, struct power_estimate *out)
{
	struct power_rates pr;
	struct eg_rng rng;
	double *p = NULL, mean;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	power_rates_init(&pr);
	if (power_rates_add_target(&pr, h, target, until_id, POWER_REPORT_RUNS))
		goto out;
	ret = 1;
	if (!pr.n || !n)
		goto out;
	p = power_rates_values(&pr, &mean);
	out->runs = pr.runs;
	out->cases = pr.n;
	out->n = n;
	out->prs = POWER_REPORT_PRS;
	/* the order of `evalgate power`: no change first, then the drop, one stream */
	eg_rng_init(&rng, POWER_REPORT_SEED);
	out->false_blocks = power_simulate(rg, p, pr.n, 0, mean, n, out->prs, &rng);
	out->caught = POWER_REPORT_DROP > mean ? 0
		      : power_simulate(rg, p, pr.n, POWER_REPORT_DROP, mean, n, out->prs, &rng);
	ret = 0;
out:
	free(p);
	power_rates_release(&pr);
	return ret;
}
