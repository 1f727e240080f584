/*
 * confirm: flip confirmation for regression gates (docs/gates.md "Flip
 * confirmation"). After the first pass of a run, the cases that flipped
 * against a regression gate's baseline (new failures and fixed ones alike)
 * are asked again, fresh samples that never go through the response cache,
 * in a seeded order and within a budget of re-asks. Each flipped case is
 * decided by a curtailed sequential rule: its first passing re-ask marks it
 * "passing", max_asks failing re-asks in a row mark it "failing"; the
 * budget running out leaves it undecided. The gate then tests the flips of
 * the failing stratum (McNemar, exact) beside the first-pass test, each at
 * half the gate's alpha.
 *
 * With "use_history" (the default), a flip on a case the target's earlier
 * runs show flaky (power.h, struct flip_history) is discounted: not asked
 * again and left out of the confirmed test, in both directions; the other
 * flips are asked strongest history first.
 *
 * The re-asks themselves are made by the caller's ask callback (the run
 * layer's run_reask): this module decides what to ask and what it means.
 *
 * Ownership: a struct confirm_state owns its map and the chained list it
 * was given stays the caller's; strings passed in are borrowed.
 */
#ifndef EG_CONFIRM_H
#define EG_CONFIRM_H

#include "compare.h"
#include "hashmap.h"
#include "history.h"

struct gates;
struct flip_history;

/* the settings of a regression gate's "confirm" (max_asks 0: no confirmation) */
struct confirm_opts {
	double max_extra_calls;   /* re-asks at most this share of the run's results */
	int max_asks;             /* failing re-asks in a row that mark a flipped case failing */
	int use_history;          /* discount flips on cases flaky in the history (default 1) */
	double alpha_share;       /* of the gate's alpha, the share of the confirmed test */
};

#define CONFIRM_DEFAULT_MAX_EXTRA_CALLS 0.25
#define CONFIRM_DEFAULT_MAX_ASKS 2
#define CONFIRM_MAX_ASKS_LIMIT 20
#define CONFIRM_DEFAULT_ALPHA_SHARE 0.5

/* one flipped case to ask again (strings borrowed for the call) */
struct confirm_case {
	const char *suite;
	const char *case_id;
};

/*
 * Ask each of cases once more, as sample `sample` (a repeat index past the
 * run's repeats), and store the answers (history_add_confirmation); the
 * number of re-asks made into *asked. 0, 1 when the run was stopped
 * (interrupted, the gateway failed), -1 on error.
 */
typedef int confirm_ask_fn(void *arg, const struct confirm_case *cases, size_t n, int sample,
			   long *asked);

/*
 * Confirm the flips of run_id for every regression gate of gs with
 * "confirm": the flips over the union of their scopes and baselines, the
 * largest max_asks and budget (max_extra_calls x results) of them. The
 * re-asks made are stored with the run (runs.confirm_calls). Prints one
 * line of what was asked unless quiet. 0 (also when nothing was to be
 * confirmed), or -1 on error.
 */
int confirm_run(struct history *h, const char *run_id, const struct gates *gs, int repeats,
		long results, confirm_ask_fn *ask, void *arg);

/* what the re-asks of a run say about a gate's flips */
struct confirm_tally {
	long calls;               /* re-asks the run made (runs.confirm_calls); -1: none recorded */
	long asked;               /* flips of the scope re-asked at least once */
	long new_failures;        /* b': new failures whose re-asks marked them failing */
	long fixed;               /* c': fixed cases whose re-asks marked them failing */
	long passing;             /* flips marked passing by a re-ask */
	long undecided;           /* flips the budget left undecided (not in the test) */
	long discounted;          /* flips on cases flaky in the history (not in the test) */
	double p_value;           /* McNemar exact over (b', c'); 1 without any */
};

#define CONFIRM_DISCOUNT_LIST_MAX 10

/* a discounted flip, as the detail lists it */
struct confirm_discount {
	char *suite, *case_id;
	int new_failure;          /* else fixed */
	double p;                 /* its estimate from the history */
	long samples;             /* the samples behind it */
};

/* the re-asks of a run, to tally a gate's flips while it pairs the runs */
struct confirm_state {
	struct hashmap cases;     /* "suite\0case_id" -> passes << 32 | non-passes */
	int max_asks;
	struct confirm_tally t;
	struct flip_history *fh;      /* the history's estimates (borrowed), or NULL */
	int from_older;           /* the case at hand was paired with an older run, not the
				   * baseline: never discounted (that run may be in fh) */
	struct confirm_discount disc[CONFIRM_DISCOUNT_LIST_MAX]; /* the first discounted flips */
	size_t n_disc;
	/* each flip and unpaired case is handed on to this callback too, or NULL */
	int (*next)(const struct compare_case *c, void *arg);
	void *next_arg;
};

/*
 * read the re-asks of run_id; 0, or -1 on error (reported). Release either
 * way. Set fh afterwards to discount flips on flaky cases.
 */
int confirm_state_load(struct confirm_state *cs, struct history *h, const char *run_id,
		       int max_asks);
/* an on_case callback for compare_runs: tallies the flips, then calls cs->next */
int confirm_on_case(const struct compare_case *c, void *arg);
/* after the walk: the test of the failing stratum into cs->t.p_value */
void confirm_state_finish(struct confirm_state *cs);
void confirm_state_release(struct confirm_state *cs);

#endif
