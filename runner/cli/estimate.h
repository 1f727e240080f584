/*
 * estimate: what a run will cost, from the history (run --dry-run, SPEC 14).
 *
 * Each selected case is looked up in the results of recent runs (by its
 * content hash, else by suite and id); its tokens there, priced at the
 * config's prices now, are its cost. Cases without history are estimated
 * at the mean of the others. The interval is a 95% t interval for the sum:
 * the known cases are taken as they are, the unknown ones as draws from
 * the known ones' distribution (so the interval is 0 wide when every case
 * has history). Ownership: plain data.
 */
#ifndef EG_ESTIMATE_H
#define EG_ESTIMATE_H

#include <stdio.h>

#include "history.h"
#include "setup.h"

struct cost_estimate {
	long cases;              /* selected cases */
	long known;              /* of them, with tokens in the history */
	int repeats;             /* each case's repeats, counted in the sums */
	double tokens, tokens_lo, tokens_hi;
	double cost_usd, cost_lo, cost_hi; /* NaN when a model has no price */
};

/* the estimate for the setup's selected cases, from h (NULL: no history); -1 after reporting */
int cost_estimate(const struct setup *s, struct history *h, int repeats,
		  struct cost_estimate *out);
void cost_estimate_print(FILE *f, const struct cost_estimate *e);

#endif
