#include "drift.h"

#include <math.h>

#include "stats.h"
#include "banned.h"

void drift_pchart(const long *k, const long *n, size_t m, long n_now, double *centre,
		  double *lower)
{
	long sk = 0, sn = 0;
	double p;
	size_t i;

	for (i = 0; i < m; i++) {
		sk += k[i];
		sn += n[i];
	}
	if (!sn || n_now <= 0) {
		*centre = sn ? (double)sk / (double)sn : NAN;
		*lower = NAN;
		return;
	}
	p = (double)sk / (double)sn;
	*centre = p;
	*lower = p - DRIFT_SIGMAS * sqrt(p * (1 - p) / (double)n_now);
	if (*lower < 0)
		*lower = 0;
}

void drift_means(const double *v, size_t m, double *centre, double *sd, double *lower)
{
	double mean, ss = 0;
	size_t i;

	if (!m) {
		*centre = *sd = *lower = NAN;
		return;
	}
	mean = stats_mean(v, m);
	for (i = 0; i < m; i++)
		ss += (v[i] - mean) * (v[i] - mean);
	*centre = mean;
	*sd = m > 1 ? sqrt(ss / (double)(m - 1)) : 0;
	*lower = mean - DRIFT_SIGMAS * *sd;
}
