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

/*
 * Per-case passes over runs, kept as the number of cases with each history:
 * a million cases over five runs have a few dozen histories, so neither
 * memory nor the simulation grows with the cases. The runs are read
 * together in (suite, case_id) order (one pass each, no per-case state).
 */
struct power_history {
	long pass, seen;          /* verdicts: passing, and passing or failing */
	long s_pass, s_seen;      /* scored samples (each repeat): passing, and passing or failing */
	size_t count;             /* cases with this history */
};

struct power_rates {
	struct hashmap index;     /* a history's four counts -> 1 + index into v */
	struct power_history *v;
	size_t n_v, alloc;
	size_t n;                 /* cases with a verdict in a run read */
	long s_pass, s_seen;      /* samples summed over the cases */
	size_t runs;              /* runs added */
	struct history *h;        /* where the runs are (borrowed), for flip_history_p */
	char **run_ids;           /* the runs added */
};

void power_rates_init(struct power_rates *pr);
/*
 * add the last max_runs complete runs of target, none later than until_id
 * (NULL: no bound); 0 (pr->runs says how many), or -1 on error. Once only.
 */
int power_rates_add_target(struct power_rates *pr, struct history *h, const char *target,
			   const char *until_id, size_t max_runs);
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

struct run_walk;
struct flip_history {
	struct power_rates pr;    /* the runs read */
	double mean;              /* the prior's centre m: the pooled share of passing samples */
	double flaky_p;           /* an estimate under this marks a case flaky */
	struct run_walk *cur;     /* flip_history_p's walk of the runs, opened on first use */
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
/*
 * A case's estimate, NaN without enough samples; its samples into *n (may
 * be NULL). It reads the runs in step: asked in (suite, case_id) order, as
 * a comparison's walk asks, the runs are read once; a key before the last
 * one asked starts the walk again. NaN with *n -1 on a history error
 * (reported).
 */
double flip_history_p(struct flip_history *fh, const char *suite, const char *case_id,
		      long *n);
/* the estimate from s_pass passing of s_seen samples (as flip_history_p) */
double flip_history_est(const struct flip_history *fh, long s_pass, long s_seen);
void flip_history_release(struct flip_history *fh);
/* is an estimate p (NaN: none) flaky? */
static inline int flip_history_flaky(const struct flip_history *fh, double p)
{
	return fh && p == p && p < fh->flaky_p;
}

/* cases with the same rate and estimate, counted: what a simulated PR draws from */
struct power_group {
	double p;                 /* the pass rate of the cases' verdicts */
	double est;               /* their flip-confirmation estimate; NaN: none */
	size_t count;             /* cases */
};
/* fh->pr's histories as groups (malloc'd, fh->pr.n_v of them); the mean case rate into *mean */
struct power_group *power_groups(const struct flip_history *fh, double *mean);

/*
 * The number of prs simulated PRs of n cases that rg blocks, the cases
 * drawn from the groups g[0..m-1] (cases in all; each case once when n ==
 * cases), every case's rate lowered by drop (a fraction) in proportion to
 * it; rng advances. A group's flips are drawn at once (binomial), so a PR
 * costs its flips, not its cases. With fh (NULL: none) and rg's
 * confirm.use_history, flip confirmation uses the groups' estimates as the
 * gate uses the history: a flaky case's flip is discounted, the others are
 * re-asked strongest history first.
 */
long power_simulate(const struct regression_gate *rg, const struct power_group *g, size_t m,
		    size_t cases, double drop, double mean_p, size_t n, long prs,
		    const struct flip_history *fh, struct eg_rng *rng);

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
