/*
 * hashmap: the one hash map (and set) of the program, and the one FNV-1a.
 *
 * Open addressing with linear probing over a power-of-two table that is
 * kept at most half full. Keys are either 64-bit integers (hashmap_init:
 * any value, 0 included) or byte strings (hashmap_init_str: any bytes, with
 * their length; the map keeps its own copy). Every key has a 64-bit value
 * slot, 0 when the key is added; a map whose values nobody reads is a set.
 *
 * A value pointer returned by hashmap_put*() or hashmap_get*() stays valid
 * until the next put into the same map (which may move the table).
 * fnv1a() and lookups of integer keys (hashmap_has) are inline: scorers
 * call them on their hot path.
 *
 * Ownership: a map owns its table and its copies of string keys;
 * hashmap_release() frees them and leaves an empty map of the same kind.
 * Keys passed in are borrowed.
 */
#ifndef EG_HASHMAP_H
#define EG_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

/* the 64-bit FNV-1a hash of len bytes (a fast spread, not a digest); inline for hot loops */
static inline uint64_t fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct hashmap {
	uint64_t *keys;      /* per slot: the integer key, or the string key's hash; 0 = empty */
	uint64_t *values;    /* per slot: the value */
	char **strs;         /* string maps: per slot, the key's copy (NUL-terminated); else NULL */
	size_t *lens;        /* string maps: per slot, the key's length; else NULL */
	size_t n;            /* keys held */
	size_t mask;         /* slots - 1; keys points to hashmap_no_slots while nothing is held */
	int str_keys;        /* keys are strings */
	int has_zero;        /* integer maps: the key 0 is held (it has no slot) */
	uint64_t zero_value; /* and its value */
};

/* the one empty slot of a map that holds nothing: lookups need no NULL check */
extern uint64_t hashmap_no_slots[1];

/* an integer map with room for hint keys before it grows */
void hashmap_init(struct hashmap *m, size_t hint);
/* a string map with room for hint keys */
void hashmap_init_str(struct hashmap *m, size_t hint);
void hashmap_release(struct hashmap *m);

/* integer maps: the value slot of key, added (value 0) when absent; *added (may be NULL) says so */
uint64_t *hashmap_put(struct hashmap *m, uint64_t key, int *added);
/* the value slot of key, NULL when absent */
uint64_t *hashmap_get(const struct hashmap *m, uint64_t key);

/* string maps: the same for the len bytes at key */
uint64_t *hashmap_put_str(struct hashmap *m, const char *key, size_t len, int *added);
uint64_t *hashmap_get_str(const struct hashmap *m, const char *key, size_t len);

/* the first slot probed for hash h (internal to the map) */
static inline size_t hashmap_slot_(uint64_t h, size_t mask)
{
	return (size_t)(h ^ (h >> 29) ^ (h >> 47)) & mask;
}

/* integer maps: 1 when key is held */
static inline int hashmap_has(const struct hashmap *m, uint64_t key)
{
	size_t i;

	if (!key)
		return m->has_zero;
	for (i = hashmap_slot_(key, m->mask); m->keys[i]; i = (i + 1) & m->mask)
		if (m->keys[i] == key)
			return 1;
	return 0;
}

/*
 * integer maps used as sets: add key (its value 0) when absent; 1 when it
 * was added. Inline, like hashmap_has: sets are built on hot paths too.
 */
static inline int hashmap_add(struct hashmap *m, uint64_t key)
{
	size_t i;
	int added;

	if (!key || 2 * (m->n + 1) > m->mask + 1) {
		hashmap_put(m, key, &added); /* the key 0, or the table grows */
		return added;
	}
	for (i = hashmap_slot_(key, m->mask); m->keys[i]; i = (i + 1) & m->mask)
		if (m->keys[i] == key)
			return 0;
	m->keys[i] = key;
	m->n++;
	return 1;
}

#endif
