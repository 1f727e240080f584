/*
 * rng: the one seeded PRNG (splitmix64) for what must come out the same on
 * every machine and run: attack mutations, the seeded case order of a capped
 * run, bootstrap resamples, samples of a traffic log, the simulated PRs of
 * the power estimate. Never rand(). Ownership: plain data.
 */
#ifndef EG_RNG_H
#define EG_RNG_H

#include <stdint.h>

struct eg_rng {
	uint64_t s;              /* the state */
};

/* seeded by a number alone */
void eg_rng_init(struct eg_rng *r, unsigned long long seed);
/* seeded by SHA-256 of (seed, a, b): one stream per (seed, a, b) */
void eg_rng_seed(struct eg_rng *r, unsigned long long seed, const char *a, const char *b);
uint64_t eg_rng_next(struct eg_rng *r);
/* uniform in [0, n), n >= 1 */
uint64_t eg_rng_below(struct eg_rng *r, uint64_t n);
/* uniform in [0, 1), from the top 53 bits of one draw */
double eg_rng_uniform(struct eg_rng *r);
/*
 * the successes of n independent trials of probability p (clamped to
 * [0, 1]): exact, by the geometric gaps between successes, so it costs
 * one draw per success (per failure when p > 1/2) rather than one per trial
 */
uint64_t eg_rng_binomial(struct eg_rng *r, uint64_t n, double p);

#endif
