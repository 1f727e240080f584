/*
 * shard: which cases belong to shard I of N (`run --shard I/N`).
 *
 * A case belongs to shard (h mod N) + 1, where h is the first 8 bytes, read
 * big-endian, of SHA-256(suite name, one NUL byte, case id). The assignment
 * depends on nothing but those two strings and N: it is the same on every
 * machine and evalgate version, does not move when cases are added, removed
 * or reordered, and is balanced because SHA-256 spreads ids uniformly.
 *
 * Plain data: nothing to free.
 */
#ifndef EG_SHARD_H
#define EG_SHARD_H

#define SHARD_MAX 4096            /* most shards a run may be split into */

struct shard {
	unsigned index;           /* 1..count */
	unsigned count;           /* 0: not sharded, every case */
};

/* "I/N" with 1 <= I <= N <= SHARD_MAX; -1 after reporting (the caller exits 2) */
int shard_parse(const char *s, struct shard *out);
/* the shard (1..count) of a case; count must be at least 1 */
unsigned shard_of(const char *suite, const char *case_id, unsigned count);
/* 1 when the case is in sh (always when sh is NULL or not sharded) */
int shard_contains(const struct shard *sh, const char *suite, const char *case_id);

#endif
