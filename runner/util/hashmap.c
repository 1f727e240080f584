#include "hashmap.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

#define MIN_SLOTS 16

uint64_t hashmap_no_slots[1];

/* the slots for hint keys: a power of two, at least twice hint */
static size_t slots_for(size_t hint)
{
	size_t n = MIN_SLOTS;

	while (n < 2 * hint)
		n *= 2;
	return n;
}

/* the table in one allocation: keys, values, then for string maps the copies and lengths */
static void alloc_slots(struct hashmap *m, size_t slots)
{
	size_t per = sizeof(*m->keys) + sizeof(*m->values) +
		     (m->str_keys ? sizeof(*m->strs) + sizeof(*m->lens) : 0);
	char *p = xcalloc(slots, per);

	m->keys = (uint64_t *)p;
	m->values = (uint64_t *)(p + slots * sizeof(*m->keys));
	if (m->str_keys) {
		m->strs = (char **)(p + slots * (sizeof(*m->keys) + sizeof(*m->values)));
		m->lens = (size_t *)(p + slots * (sizeof(*m->keys) + sizeof(*m->values) +
						  sizeof(*m->strs)));
	}
	m->mask = slots - 1;
}

static void init(struct hashmap *m, size_t hint, int str_keys)
{
	memset(m, 0, sizeof(*m));
	m->str_keys = str_keys;
	m->keys = hashmap_no_slots;
	if (hint)
		alloc_slots(m, slots_for(hint));
}

void hashmap_init(struct hashmap *m, size_t hint)
{
	init(m, hint, 0);
}

void hashmap_init_str(struct hashmap *m, size_t hint)
{
	init(m, hint, 1);
}

void hashmap_release(struct hashmap *m)
{
	size_t i;

	if (m->keys != hashmap_no_slots) {
		if (m->strs)
			for (i = 0; i <= m->mask; i++)
				free(m->strs[i]);
		free(m->keys);
	}
	init(m, 0, m->str_keys);
}

/* the slot of hash h (string maps: of the bytes key), or the empty slot where it would go */
static size_t find(const struct hashmap *m, uint64_t h, const char *key, size_t len)
{
	size_t i;

	for (i = hashmap_slot_(h, m->mask); m->keys[i]; i = (i + 1) & m->mask)
		if (m->keys[i] == h &&
		    (!m->str_keys || (m->lens[i] == len && !memcmp(m->strs[i], key, len))))
			break;
	return i;
}

/* room for one more key: the table stays at most half full */
static void reserve_one(struct hashmap *m)
{
	struct hashmap old = *m;
	size_t i;

	if (m->keys != hashmap_no_slots && 2 * (m->n + 1) <= m->mask + 1)
		return;
	alloc_slots(m, m->keys == hashmap_no_slots ? MIN_SLOTS : 2 * (old.mask + 1));
	if (old.keys == hashmap_no_slots)
		return;
	for (i = 0; i <= old.mask; i++) {
		size_t k;

		if (!old.keys[i])
			continue;
		for (k = hashmap_slot_(old.keys[i], m->mask); m->keys[k]; k = (k + 1) & m->mask)
			;
		m->keys[k] = old.keys[i];
		m->values[k] = old.values[i];
		if (m->str_keys) {
			m->strs[k] = old.strs[i];
			m->lens[k] = old.lens[i];
		}
	}
	free(old.keys);
}

uint64_t *hashmap_put(struct hashmap *m, uint64_t key, int *added)
{
	size_t i;

	if (added)
		*added = 0;
	if (!key) {
		if (!m->has_zero) {
			m->has_zero = 1;
			m->zero_value = 0;
			m->n++;
			if (added)
				*added = 1;
		}
		return &m->zero_value;
	}
	reserve_one(m);
	for (i = hashmap_slot_(key, m->mask); m->keys[i] && m->keys[i] != key; i = (i + 1) & m->mask)
		;
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->n++;
		if (added)
			*added = 1;
	}
	return &m->values[i];
}

uint64_t *hashmap_get(const struct hashmap *m, uint64_t key)
{
	size_t i;

	if (!key)
		return m->has_zero ? (uint64_t *)&m->zero_value : NULL;
	i = find(m, key, NULL, 0);
	return m->keys[i] ? &m->values[i] : NULL;
}

/* the hash a string key is filed under: never 0, which marks an empty slot */
static uint64_t str_hash(const char *key, size_t len)
{
	uint64_t h = fnv1a(key, len);

	return h ? h : 1;
}

uint64_t *hashmap_put_str(struct hashmap *m, const char *key, size_t len, int *added)
{
	uint64_t h = str_hash(key, len);
	size_t i;

	if (added)
		*added = 0;
	reserve_one(m);
	i = find(m, h, key, len);
	if (!m->keys[i]) {
		m->keys[i] = h;
		m->strs[i] = xmalloc(len + 1);
		memcpy(m->strs[i], key, len);
		m->strs[i][len] = '\0';
		m->lens[i] = len;
		m->n++;
		if (added)
			*added = 1;
	}
	return &m->values[i];
}

uint64_t *hashmap_get_str(const struct hashmap *m, const char *key, size_t len)
{
	size_t i = find(m, str_hash(key, len), key, len);

	return m->keys[i] ? &m->values[i] : NULL;
}
