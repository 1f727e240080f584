/* shard: parsing I/N, the documented assignment, stability, balance, one shard per case */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "shard.h"
#include "banned.h"

/* --- parsing --- */

Test(shard, parse_accepts_i_of_n)
{
	struct shard sh;

	cr_assert_eq(shard_parse("1/4", &sh), 0);
	cr_assert_eq(sh.index, 1);
	cr_assert_eq(sh.count, 4);
	cr_assert_eq(shard_parse("4/4", &sh), 0);
	cr_assert_eq(sh.index, 4);
	cr_assert_eq(shard_parse("1/1", &sh), 0);
	cr_assert_eq(sh.count, 1);
	cr_assert_eq(shard_parse("07/12", &sh), 0, "leading zeros are still decimal");
	cr_assert_eq(sh.index, 7);
	cr_assert_eq(sh.count, 12);
	cr_assert_eq(shard_parse("4096/4096", &sh), 0);
	cr_assert_eq(sh.count, SHARD_MAX);
}

static const char *const bad_shards[] = {
	"", "4", "/", "1/", "/4", "0/4", "5/4", "1/0", "-1/4", "1/-4", "+1/4", " 1/4", "1/4 ",
	"1/4x", "a/b", "1.5/4", "1/4/2", "1/4097", "99999999999999999999/4", "1/99999999999999999999",
};

#define N_BAD (sizeof(bad_shards) / sizeof(bad_shards[0]))

/* parameters are indexes: pointers do not survive into Criterion's test processes */
ParameterizedTestParameters(shard, parse_rejects)
{
	static int idx[N_BAD];
	size_t i;

	for (i = 0; i < N_BAD; i++)
		idx[i] = (int)i;
	return cr_make_param_array(int, idx, N_BAD);
}

ParameterizedTest(int *i, shard, parse_rejects)
{
	struct shard sh = { 9, 9 };
	const char *s = bad_shards[*i];

	cr_assert_eq(shard_parse(s, &sh), -1, "'%s' must be refused", s);
	cr_assert_eq(sh.count, 0, "a refused shard leaves the struct cleared");
}

/* --- the assignment --- */

/*
 * Known answers of the documented rule, computed independently with
 * Python: int.from_bytes(sha256(suite + b"\0" + id).digest()[:8], "big") % n + 1
 */
Test(shard, documented_assignment)
{
	cr_assert_eq(shard_of("support-golden", "refund-001", 4), 2);   /* 0x4af972ae718a84f5 */
	cr_assert_eq(shard_of("support-golden", "refund-002", 4), 1);   /* 0xaacb2a22ab10afd4 */
	cr_assert_eq(shard_of("rag-policies", "rag-data-export", 7), 4);
	cr_assert_eq(shard_of("s", "", 3), 3);
	cr_assert_eq(shard_of("prompt-injection", "pi-ignore-previous", 1000), 340);
}

Test(shard, suite_name_is_part_of_the_key)
{
	unsigned differ = 0, i;
	char id[32];

	/* the NUL separator keeps ("ab", "c") and ("a", "bc") apart */
	for (i = 0; i < 64; i++) {
		snprintf(id, sizeof(id), "c%u", i);
		differ += shard_of("suite-a", id, 1000) != shard_of("suite-b", id, 1000);
	}
	cr_assert_gt(differ, 50, "the same ids in two suites land in different shards");
	cr_assert_neq(shard_of("ab", "c", 1u << 30), shard_of("a", "bc", 1u << 30));
}

Test(shard, stable_across_calls_and_order)
{
	unsigned first[500], i;
	char id[32];

	for (i = 0; i < 500; i++) {
		snprintf(id, sizeof(id), "case-%u", i);
		first[i] = shard_of("golden", id, 8);
		cr_assert(first[i] >= 1 && first[i] <= 8);
	}
	/* backwards, interleaved with other work: same answers */
	for (i = 500; i-- > 0;) {
		snprintf(id, sizeof(id), "case-%u", i);
		(void)shard_of("other", id, 5);
		cr_assert_eq(shard_of("golden", id, 8), first[i], "case-%u moved", i);
	}
}

Test(shard, one_shard_takes_everything)
{
	struct shard all = { 0, 0 }, one = { 1, 1 };

	cr_assert_eq(shard_of("x", "y", 1), 1);
	cr_assert(shard_contains(NULL, "x", "y"));
	cr_assert(shard_contains(&all, "x", "y"));
	cr_assert(shard_contains(&one, "x", "y"));
}

/* 10,000 ids over 7 suites: every shard within 5% of its fair share, for N = 2..8 */
Test(shard, balanced_within_a_few_percent)
{
	unsigned counts[9], n, i, k;
	char suite[32], id[32];

	for (n = 2; n <= 8; n++) {
		memset(counts, 0, sizeof(counts));
		for (i = 0; i < 10000; i++) {
			snprintf(suite, sizeof(suite), "suite-%u", i % 7);
			snprintf(id, sizeof(id), "case-%05u", i);
			counts[shard_of(suite, id, n)]++;
		}
		cr_assert_eq(counts[0], 0, "shards are numbered from 1");
		for (k = 1; k <= n; k++) {
			double share = 10000.0 / n, dev = (counts[k] - share) / share;

			cr_assert(dev < 0.05 && dev > -0.05,
				  "N=%u: shard %u has %u ids, fair share %.0f (%.1f%% off)", n, k,
				  counts[k], share, 100 * dev);
		}
	}
}

/* every case is in exactly one shard I of N, for every I */
Test(shard, every_case_in_exactly_one_shard)
{
	struct shard sh;
	unsigned n, i, in, total[6] = { 0 };
	char id[32];

	for (n = 1; n <= 5; n++) {
		for (i = 0; i < 2000; i++) {
			snprintf(id, sizeof(id), "id-%u", i * 7919u);
			in = 0;
			for (sh.count = n, sh.index = 1; sh.index <= n; sh.index++)
				in += (unsigned)shard_contains(&sh, "suite", id);
			cr_assert_eq(in, 1, "N=%u: %s is in %u shards", n, id, in);
			total[n]++;
		}
		cr_assert_eq(total[n], 2000);
	}
}
