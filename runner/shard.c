#include "shard.h"

#include <stdint.h>
#include <string.h>

#include "error.h"
#include "sha256.h"
#include "banned.h"

/* a decimal number without sign or spaces, 1..max; -1 otherwise */
static long parse_count(const char *s, const char *end, long max)
{
	const char *p;
	long v = 0;

	if (s == end || end - s > 9)
		return -1;
	for (p = s; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= max ? v : -1;
}

int shard_parse(const char *s, struct shard *out)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	long i, n;

	memset(out, 0, sizeof(*out));
	if (!slash)
		return error("--shard '%s': expected I/N, e.g. 2/4", s ? s : "");
	n = parse_count(slash + 1, slash + strlen(slash), SHARD_MAX);
	if (n < 0)
		return error("--shard '%s': N must be a whole number from 1 to %d", s, SHARD_MAX);
	i = parse_count(s, slash, SHARD_MAX);
	if (i < 0 || i > n)
		return error("--shard '%s': I must be a whole number from 1 to %ld", s, n);
	out->index = (unsigned)i;
	out->count = (unsigned)n;
	return 0;
}

unsigned shard_of(const char *suite, const char *case_id, unsigned count)
{
	struct sha256 c;
	unsigned char dig[32];
	uint64_t h = 0;
	int k;

	if (count <= 1)
		return 1;
	sha256_init(&c);
	sha256_update(&c, suite, strlen(suite));
	sha256_update(&c, "", 1);
	sha256_update(&c, case_id, strlen(case_id));
	sha256_final(&c, dig);
	for (k = 0; k < 8; k++)
		h = (h << 8) | dig[k];
	return (unsigned)(h % count) + 1;
}

int shard_contains(const struct shard *sh, const char *suite, const char *case_id)
{
	if (!sh || !sh->count)
		return 1;
	return shard_of(suite, case_id, sh->count) == sh->index;
}
