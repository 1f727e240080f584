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

#define REGRESSION_LIST_MAX 200   /* flips and unpaired cases stored in the gate's detail */

struct regression_gate {
	char *baseline;           /* baseline reference (baseline.h); default "latest" */
	int has_max_new_failures, has_alpha;
	long max_new_failures;    /* most pass->fail flips allowed */
	double alpha;             /* fail on a significant drop: McNemar p < alpha and b > c */
	int exclude_flaky;        /* leave out cases flaky in either run */
};

#endif
