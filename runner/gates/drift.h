/*
 * drift: the control-chart gate comparing a run's suite with the suite's
 * previous runs (PROTOCOLS "Statistics for the gates"): its statistics
 * (drift.c) and its settings; the gate type is gate_drift.c.
 *
 * Pass rates use a p-chart: centre p = (sum of passes) / (sum of scored
 * cases) over the window, lower limit p - 3 sqrt(p (1 - p) / n) with n this
 * run's scored cases. Mean scores (gate field "scorer") use the window's
 * per-run means: centre their mean, lower limit centre - 3 sd (sample
 * standard deviation). The gate fails when this run is below the lower
 * limit. With fewer than DRIFT_MIN_HISTORY previous runs holding data the
 * gate passes and says "not enough history", so the first nights of a new
 * nightly job do not fail.
 *
 * Ownership: nothing here allocates beyond the call; the settings are the
 * gate's ctx (struct eg_gate), freed with the gate.
 */
#ifndef EG_DRIFT_H
#define EG_DRIFT_H

#include <stddef.h>

#define DRIFT_MIN_HISTORY 3
#define DRIFT_SIGMAS 3.0

/* p-chart over m runs with k[i] passes of n[i]; NaN centre and limit when no cases */
void drift_pchart(const long *k, const long *n, size_t m, long n_now, double *centre,
		  double *lower);
/* mean chart over m run means; sd is the sample standard deviation (0 when m < 2) */
void drift_means(const double *v, size_t m, double *centre, double *sd, double *lower);

/* a drift gate's own settings; the scorer whose mean is charted is the gate's scorer */
struct drift_gate {
	int window;               /* previous runs compared with, 3..50 (default 7) */
};

#endif
