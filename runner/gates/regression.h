/*
 * regression: the settings of a "regression" gate (SPEC 7), which fails on
 * flips against a baseline run rather than on a min/max bound. The gate
 * type (gate_regression.c) resolves the baseline (baseline.h), pairs the two
 * runs (compare.h) and stores the detail JSON the report writers read.
 *
 * Ownership: the settings are the gate's ctx (struct eg_gate), freed with
 * the gate.
 */
#ifndef EG_REGRESSION_H
#define EG_REGRESSION_H

#include "confirm.h"

#define REGRESSION_LIST_MAX 200   /* flips and unpaired cases stored in the gate's detail */
#define UNJUDGED_LIST_MAX 10      /* unjudged cases named in the gate's detail */

struct regression_gate {
	char *baseline;           /* baseline reference (baseline.h); default "latest" */
	int has_max_new_failures, has_alpha;
	long max_new_failures;    /* most pass->fail flips allowed */
	double alpha;             /* fail on a significant drop: McNemar p < alpha and b > c */
	int exclude_flaky;        /* leave out cases flaky in either run */
	int exclude_errors;       /* "errors": "exclude": errored cases left out of the pairs
				     (0.3.0); default "count": a candidate's error is a failure */
	double min_paired;        /* least share of the cases in scope that must be paired */
	struct confirm_opts confirm; /* "confirm": flip confirmation (max_asks 0: off) */
};

/* the recommended configuration a bare {"metric": "regression"} gets (docs/gates.md) */
#define REGRESSION_DEFAULT_ALPHA 0.1
#define REGRESSION_DEFAULT_MIN_PAIRED 0.9

struct compare_counts;
struct compare_opts;
struct eg_gate;
/* the pairing options of regression gate g (its scope, flaky and error policies) into o */
void regression_compare_opts(const struct eg_gate *g, struct compare_opts *o);
/* the settings of a bare {"metric": "regression"} into rg (its baseline NULL: "latest") */
void regression_defaults(struct regression_gate *rg);
/*
 * The decision of a regression gate over enough pairs: 1 when c blocks
 * (more new failures than max_new_failures, or a significant drop: McNemar
 * p < alpha with b > c). With confirmation the test of the confirmed flips
 * t (NULL: none) takes confirm.alpha_share of alpha, the first-pass test the
 * rest (regression_alpha_first), and either blocks. The gate and `evalgate
 * power` both decide here.
 */
double regression_alpha_first(const struct regression_gate *rg);
int regression_blocks(const struct regression_gate *rg, const struct compare_counts *c,
		      const struct confirm_tally *t);

#endif
