/* hashmap: integer and string keys, value slots, growth, the key 0, and FNV-1a */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hashmap.h"
#include "banned.h"

Test(hashmap, fnv1a_vectors)
{
	/* the published FNV-1a 64-bit test vectors */
	cr_assert_eq(fnv1a("", 0), 0xcbf29ce484222325ULL);
	cr_assert_eq(fnv1a("a", 1), 0xaf63dc4c8601ec8cULL);
	cr_assert_eq(fnv1a("foobar", 6), 0x85944171f73967e8ULL);
}

Test(hashmap, empty_map_finds_nothing)
{
	struct hashmap m, s;

	hashmap_init(&m, 0);
	hashmap_init_str(&s, 0);
	cr_assert_not(hashmap_has(&m, 1));
	cr_assert_not(hashmap_has(&m, 0));
	cr_assert_null(hashmap_get(&m, 42));
	cr_assert_null(hashmap_get_str(&s, "x", 1));
	cr_assert_eq(m.n, 0);
	hashmap_release(&m);
	hashmap_release(&s);
}

Test(hashmap, integer_keys_grow_and_keep_values)
{
	struct hashmap m;
	uint64_t k;
	int added;

	hashmap_init(&m, 0);
	for (k = 0; k < 5000; k++) {
		uint64_t *v = hashmap_put(&m, k * 0x9e3779b97f4a7c15ULL, &added);

		cr_assert(added, "key %llu", (unsigned long long)k);
		*v = k + 1;
	}
	cr_assert_eq(m.n, 5000);
	cr_assert_leq(2 * m.n, m.mask + 1, "at most half full");
	for (k = 0; k < 5000; k++) {
		uint64_t *v = hashmap_get(&m, k * 0x9e3779b97f4a7c15ULL);

		cr_assert_not_null(v);
		cr_assert_eq(*v, k + 1);
		cr_assert(hashmap_has(&m, k * 0x9e3779b97f4a7c15ULL));
	}
	cr_assert_not(hashmap_has(&m, 5001 * 0x9e3779b97f4a7c15ULL));
	/* a second put finds the same slot and says it was there */
	cr_assert_eq(*hashmap_put(&m, 7 * 0x9e3779b97f4a7c15ULL, &added), 8);
	cr_assert_not(added);
	cr_assert_eq(m.n, 5000);
	hashmap_release(&m);
	cr_assert_eq(m.n, 0);
	cr_assert_not(hashmap_has(&m, 7 * 0x9e3779b97f4a7c15ULL));
}

Test(hashmap, the_key_zero_is_a_key)
{
	struct hashmap m;
	int added;

	hashmap_init(&m, 4);
	cr_assert_not(hashmap_has(&m, 0));
	*hashmap_put(&m, 0, &added) = 99;
	cr_assert(added);
	cr_assert(hashmap_has(&m, 0));
	cr_assert_eq(*hashmap_get(&m, 0), 99);
	hashmap_put(&m, 0, &added);
	cr_assert_not(added);
	cr_assert_eq(m.n, 1);
	hashmap_release(&m);
}

Test(hashmap, hint_sizes_the_table_once)
{
	struct hashmap m;
	uint64_t *slots;
	uint64_t k;

	hashmap_init(&m, 100);
	slots = m.keys;
	for (k = 1; k <= 100; k++)
		hashmap_put(&m, k, NULL);
	cr_assert_eq(m.keys, slots, "no growth within the hint");
	hashmap_release(&m);
}

Test(hashmap, string_keys_are_bytes_with_a_length)
{
	struct hashmap m;
	char key[32];
	int i, added;

	hashmap_init_str(&m, 0);
	/* embedded NULs and prefixes are distinct keys */
	*hashmap_put_str(&m, "suite\0a", 7, &added) = 1;
	cr_assert(added);
	*hashmap_put_str(&m, "suite\0ab", 8, &added) = 2;
	cr_assert(added);
	*hashmap_put_str(&m, "suite", 5, &added) = 3;
	cr_assert(added);
	cr_assert_eq(*hashmap_get_str(&m, "suite\0a", 7), 1);
	cr_assert_eq(*hashmap_get_str(&m, "suite\0ab", 8), 2);
	cr_assert_eq(*hashmap_get_str(&m, "suite", 5), 3);
	cr_assert_null(hashmap_get_str(&m, "suite\0b", 7));
	for (i = 0; i < 3000; i++) {
		int n = snprintf(key, sizeof(key), "case-%d", i);

		*hashmap_put_str(&m, key, (size_t)n, &added) = (uint64_t)i;
		cr_assert(added);
	}
	for (i = 0; i < 3000; i++) {
		int n = snprintf(key, sizeof(key), "case-%d", i);
		uint64_t *v = hashmap_get_str(&m, key, (size_t)n);

		cr_assert_not_null(v, "%s", key);
		cr_assert_eq(*v, (uint64_t)i);
	}
	/* the map keeps its own copy of the key */
	memcpy(key, "mutable", 8);
	hashmap_put_str(&m, key, 7, NULL);
	key[0] = 'M';
	cr_assert_not_null(hashmap_get_str(&m, "mutable", 7));
	cr_assert_null(hashmap_get_str(&m, key, 7));
	cr_assert_eq(m.n, 3004);
	hashmap_release(&m);
	cr_assert_eq(m.n, 0);
	cr_assert(m.str_keys, "release keeps the kind");
}

Test(hashmap, add_builds_a_set_through_growth)
{
	struct hashmap m;
	uint64_t k;

	hashmap_init(&m, 0);
	for (k = 0; k < 1000; k++)
		cr_assert(hashmap_add(&m, k * 7), "key %llu", (unsigned long long)(k * 7));
	for (k = 0; k < 1000; k++)
		cr_assert_not(hashmap_add(&m, k * 7));
	cr_assert_eq(m.n, 1000);
	for (k = 0; k < 7000; k++)
		cr_assert_eq(hashmap_has(&m, k), k % 7 == 0, "key %llu", (unsigned long long)k);
	/* a key added to a set has the value 0 */
	cr_assert_eq(*hashmap_get(&m, 14), 0);
	cr_assert_eq(*hashmap_get(&m, 0), 0);
	hashmap_release(&m);
}
