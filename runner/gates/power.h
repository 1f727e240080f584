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
	long *pass, *seen;
	size_t n, alloc_p, alloc_s;
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
 * The number of prs simulated PRs of n cases (drawn from p[0..m-1], each
 * once when n == m) that rg blocks, every case's rate lowered by drop
 * (a fraction) in proportion to it; rng advances.
 */
long power_simulate(const struct regression_gate *rg, const double *p, size_t m, double drop,
		    double mean_p, size_t n, long prs, struct eg_rng *rng);

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
