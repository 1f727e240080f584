/*
 * power: what a regression gate does to a suite, by simulation from the
 * history (docs/gates.md "Power: evalgate power"): the share of unchanged
 * pull requests it blocks and the share with a real drop it catches. The
 * simulated PR is decided by regression_blocks(), the gate's own decision,
 * flip confirmation included (its re-asks drawn from the candidate's rate,
 * within the same budget). `evalgate power` and the reports both use it.
 *
 * Ownership: struct power_rates owns its arrays and map (power_rates_release).
 */
#ifndef EG_POWER_H
#define EG_POWER_H

#include <stddef.h>

#include "hashmap.h"
#include "history.h"
#include "regression.h"
#include "rng.h"

/* per-case passes and verdicts over runs, keyed "suite\0case_id" */
struct power_rates {
	struct hashmap index;     /* key -> 1 + index into pass and seen */
	long *pass, *seen;        /* verdicts: passing, and passing or failing */
	long *s_pass, *s_seen;    /* scored samples (each repeat): passing, and passing or failing */
	size_t n, alloc_p, alloc_s, alloc_sp, alloc_ss;
	size_t runs;              /* runs added */
};

void power_rates_init(struct power_rates *pr);
/* add the case verdicts of run_id (errored ones left out); 0, or -1 on error */
int power_rates_add_run(struct power_rates *pr, struct history *h, const char *run_id);
/*
 * add the last max_runs complete runs of target, none later than until_id
 * (NULL: no bound); 0 (pr->runs says how many), or -1 on error
 */
int power_rates_add_target(struct power_rates *pr, struct history *h, const char *target,
			   const char *until_id, size_t max_runs);
/* the rates (malloc'd, pr->n of them) and their mean into *mean */
double *power_rates_values(const struct power_rates *pr, double *mean);
void power_rates_release(struct power_rates *pr);

/*
 * Per-case pass probabilities from the history, for flip confirmation
 * (docs/gates.md "Flaky cases from the history"). A case's estimate is the
 * mean of its Beta posterior: a Beta prior centred on the pooled share m
 * of passing samples with the weight of HISTORY_PRIOR_WEIGHT samples,
 * updated with its own samples (every scored repeat): (s + k m) / (n + k).
 * A case with fewer than HISTORY_MIN_SAMPLES samples has no estimate.
 */
#define HISTORY_PRIOR_WEIGHT 2.0
#define HISTORY_MIN_SAMPLES 3
/* a chance flip survives max_asks failing re-asks at least this often: the case is flaky */
#define HISTORY_FLAKY_SURVIVAL 0.05

struct flip_history {
	struct power_rates pr;    /* samples of the runs read */
	double mean;              /* the prior's centre m: the pooled share of passing samples */
	double flaky_p;           /* an estimate under this marks a case flaky */
};

/* 1 - HISTORY_FLAKY_SURVIVAL^(1/max_asks): 0.776 at max_asks 2 */
double flip_history_flaky_p(int max_asks);
/* empty, for rg's max_asks; add runs to fh->pr, then flip_history_finish */
void flip_history_init(struct flip_history *fh, int max_asks);
/* the prior's centre from the runs added */
void flip_history_finish(struct flip_history *fh);
/*
 * init, then the last POWER_REPORT_RUNS complete runs of target older than
 * base_id (the baseline itself and cand_id left out: their verdicts make
 * the flips), then finish; 0, or -1 on error. Release either way.
 */
int flip_history_load(struct flip_history *fh, struct history *h, const char *target,
		      const char *base_id, const char *cand_id, int max_asks);
/* a case's estimate, NaN without enough samples; its samples into *n (may be NULL) */
double flip_history_p(const struct flip_history *fh, const char *suite, const char *case_id,
		      long *n);
/* the estimate of the case at index i of fh->pr (as flip_history_p) */
double flip_history_p_at(const struct flip_history *fh, size_t i, long *n);
void flip_history_release(struct flip_history *fh);
/* is an estimate p (NaN: none) flaky? */
static inline int flip_history_flaky(const struct flip_history *fh, double p)
{
	return fh && p == p && p < fh->flaky_p;
}

/*
 * The number of prs simulated PRs of n cases (drawn from p[0..m-1], each
 * once when n == m) that rg blocks, every case's rate lowered by drop
 * (a fraction) in proportion to it; rng advances. With fh (NULL: none) and
 * rg's confirm.use_history, flip confirmation uses the history as the
 * gate does: est[i] is case i's estimate (flip_history_p_at; NaN: none).
 */
long power_simulate(const struct regression_gate *rg, const double *p, size_t m, double drop,
		    double mean_p, size_t n, long prs, const struct flip_history *fh,
		    const double *est, struct eg_rng *rng);
/* the estimates of fh's cases, in fh->pr's order (malloc'd, fh->pr.n of them) */
double *flip_history_values(const struct flip_history *fh);

/* the estimate a regression gate stores for the reports (detail "power") */
struct power_estimate {
	size_t runs, cases;       /* the runs and cases the rates come from */
	size_t n;                 /* cases per simulated PR: the gate's cases in scope */
	long prs;                 /* simulated PRs per figure */
	long false_blocks;        /* unchanged PRs blocked */
	long caught;              /* PRs with a drop of POWER_REPORT_DROP blocked */
};

/* the seed, PRs and drop the gates estimate with, so the same history gives the same */
#define POWER_REPORT_SEED 1
#define POWER_REPORT_PRS 400
#define POWER_REPORT_DROP 0.05
#define POWER_REPORT_RUNS 5

/*
 * The estimate for rg over n cases, from the last POWER_REPORT_RUNS complete
 * runs of target up to the baseline until_id: 0 (out filled), 1 when the
 * history has no rates, -1 on error. The same as `evalgate power --runs 5
 * --prs 400 --seed 1 --drop 5 --n N` on the history of then.
 */
int power_estimate(const struct regression_gate *rg, struct history *h, const char *target,
		   const char *until_id, size_t n, struct power_estimate *out);

#endif
