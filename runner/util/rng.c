#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sha256.h"
#include "banned.h"

void eg_rng_init(struct eg_rng *r, unsigned long long seed)
{
	r->s = seed;
}

void eg_rng_seed(struct eg_rng *r, unsigned long long seed, const char *a, const char *b)
{
	struct sha256 c;
	unsigned char dig[32];
	char num[24];
	int i;

	snprintf(num, sizeof(num), "%llu", seed);
	sha256_init(&c);
	sha256_update(&c, num, strlen(num) + 1);
	sha256_update(&c, a, strlen(a) + 1);
	sha256_update(&c, b, strlen(b) + 1);
	sha256_final(&c, dig);
	r->s = 0;
	for (i = 0; i < 8; i++)
		r->s = r->s << 8 | dig[i];
}

uint64_t eg_rng_next(struct eg_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t eg_rng_below(struct eg_rng *r, uint64_t n)
{
	/* rejection keeps it uniform */
	uint64_t lim = UINT64_MAX - UINT64_MAX % n, v;

	do
		v = eg_rng_next(r);
	while (v >= lim);
	return v % n;
}

double eg_rng_uniform(struct eg_rng *r)
{
	return (double)(eg_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t eg_rng_binomial(struct eg_rng *r, uint64_t n, double p)
{
	uint64_t k = 0, used = 0;
	double lq;

	if (!(p > 0) || !n)
		return 0;
	if (p >= 1)
		return n;
	if (p > 0.5)
		return n - eg_rng_binomial(r, n, 1 - p);
	lq = log1p(-p);
	for (;;) {
		/* the failures before the next success: P(g >= j) = (1 - p)^j, u in (0, 1] */
		double g = floor(log(1 - eg_rng_uniform(r)) / lq);

		if (g >= (double)(n - used))
			return k;
		used += (uint64_t)g + 1;
		k++;
	}
}
