/*
 * compare: the pairing of two stored runs and its statistics (SPEC 2
 * `compare`, SPEC 7 `regression`); baselines are named and resolved in
 * baseline.h, and the regression gate (gate_regression.c) is built on this.
 *
 * Pairing walks both runs' cases (the view "cases": each case's verdict over
 * its repeats) in (suite, case_id) order and merges them, so memory does not
 * grow with the runs. A case is paired only when its content hash is the same
 * in both runs; changed cases and cases present in one run only are counted
 * and reported, never dropped silently. Cases that errored on either side are
 * left out of the flips and counted, unless count_errors makes a candidate's
 * error a failure (errors never hide a regression).
 *
 * Ownership: structs filled here are released with their *_release
 * function; strings passed in are borrowed; a struct compare_case handed to
 * a callback is valid only during the call.
 */
#ifndef EG_COMPARE_H
#define EG_COMPARE_H

#include <stddef.h>

#include "history.h"
#include "strbuf.h"

/* --- pairing --- */

enum compare_kind {
	CMP_NEW_FAILURE,          /* pass in the baseline, fail in the candidate */
	CMP_FIXED,                /* fail in the baseline, pass in the candidate */
	CMP_CHANGED,              /* in both runs with different content: not paired */
	CMP_ONLY_BASELINE,        /* in the baseline only */
	CMP_ONLY_CANDIDATE,       /* in the candidate only */
};
/* "new_failure", "fixed", "changed", "only_in_baseline", "only_in_candidate" */
const char *compare_kind_name(enum compare_kind k);

struct compare_case {
	enum compare_kind kind;
	const char *suite;
	const char *case_id;
	enum result_status from, to; /* the verdicts in the baseline and the candidate */
};

/* the cases of one run in scope, by verdict */
struct compare_side {
	long n, pass, fail, error, flaky;
};

struct compare_counts {
	struct compare_side base, cand;
	long pairs;               /* same content, scored in both runs, not excluded */
	long new_failures;        /* b: pass -> fail */
	long fixed;               /* c: fail -> pass */
	long both_pass, both_fail;
	long errors;              /* same content, error in either run: left out (with
				     count_errors: error in the baseline only) */
	long cand_errors;         /* count_errors: errors in the candidate counted as failures */
	long flaky_excluded;      /* same content, flaky in either run, when excluded */
	long changed;             /* in both runs, content hash differs */
	long only_in_baseline, only_in_candidate;
	double p_value;           /* McNemar exact, two-sided (1 without flips) */
	double diff, diff_lo, diff_hi; /* paired pass-rate difference, candidate - baseline, 95%; NaN without pairs */
};

struct compare_suite {
	char *name;
	struct compare_counts c;
};

struct compare_result {
	struct compare_counts all; /* every suite in scope */
	struct compare_suite *suites; /* per suite, in byte order of the names */
	size_t n_suites;
	size_t alloc;
};

struct compare_opts {
	const char *suite;        /* only this suite, or NULL */
	const char *tag;          /* only cases with this tag, or NULL */
	int exclude_flaky;        /* leave out cases flaky in either run */
	int count_errors;         /* a case that errored in the candidate (and not in the
				     baseline) is a failure there: pass -> error is a new failure */
	/* each flip and unpaired case in (suite, case_id) order; nonzero stops the walk; may be NULL */
	int (*on_case)(const struct compare_case *c, void *arg);
	void *arg;
	/*
	 * each case with the same content in both runs (errored and flaky ones
	 * too, whatever else the options leave out), in (suite, case_id) order;
	 * nonzero stops the walk; may be NULL. Gets arg too.
	 */
	int (*on_pair)(const struct case_row *base, const struct case_row *cand, void *arg);
};

/* 0 ok (out filled, release with compare_result_release), -1 error (reported) */
int compare_runs(struct history *h, const char *base_id, const char *cand_id,
		 const struct compare_opts *o, struct compare_result *out);
void compare_result_release(struct compare_result *r);
/*
 * the candidate's cases in scope: the pairs and what could not be paired
 * (changed, new, errored, flaky); the baseline's cases the candidate did not
 * run are not among them (a partial candidate is never evidence either)
 */
long compare_cases_in_scope(const struct compare_counts *c);

/* the first max flips and unpaired cases, kept by compare_list_add (an on_case callback) */
struct compare_item {
	char *suite;
	char *case_id;
	enum compare_kind kind;
};
struct compare_list {
	size_t max;               /* most kept in each of the three lists */
	struct compare_item *new_failures, *fixed, *unpaired;
	size_t n_new_failures, n_fixed, n_unpaired;
	size_t a_new_failures, a_fixed, a_unpaired; /* allocated */
	long seen_flips, seen_unpaired; /* all that were offered */
};
void compare_list_init(struct compare_list *l, size_t max);
int compare_list_add(const struct compare_case *c, void *arg);
void compare_list_release(struct compare_list *l);

/* --- trajectories --- */

/*
 * fn gets a case whose tool calls changed: base's and cand's calls
 * (trajectory_calls_stored; "" for none), valid during the call; nonzero stops
 */
typedef int compare_traj_fn(const char *suite, const char *case_id, const char *base,
			    const char *cand, void *arg);
/*
 * The cases both runs hold at their first repeat (one suite when suite is
 * not NULL) whose tool calls differ, in (suite, case_id) order: a case
 * without a trajectory, or without a reply, counts as one without calls.
 * Both runs' replies (history_replies_open) are merged like the cases, so
 * nothing is kept per case; a case with calls in one run only costs a
 * lookup in the other. 0, or -1 (reported).
 */
int compare_trajectories(struct history *h, const char *base_id, const char *cand_id,
			 const char *suite, compare_traj_fn *fn, void *arg);

#endif
