/* map.c - linear probing with backward-shift deletion. */
#include "map.h"
#include "arena.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Tables of 2 MiB and more (65,536 slots: a large repo's folders, files
 * and units) take huge pages, as arena chunks do (pages_map).  Under
 * ARENA_MALLOC (the sanitizer build) every table is malloc'ed, so
 * AddressSanitizer sees them all. */
#ifdef ARENA_MALLOC
#define HUGE_TABLE SIZE_MAX
#else
#define HUGE_TABLE ((size_t)ARENA_HUGE_PAGE)
#endif

static struct map_slot *alloc_slots(size_t cap)
{
	size_t bytes = cap * sizeof(struct map_slot);
	return bytes < HUGE_TABLE ? xcalloc(cap, sizeof(struct map_slot)) : pages_map(bytes);
}

static void free_slots(struct map_slot *slots, size_t cap)
{
	if (cap * sizeof(struct map_slot) < HUGE_TABLE)
		free(slots);
	else
		pages_unmap(slots, cap * sizeof(struct map_slot));
}

void map_init(struct map *m)
{
	m->slots = NULL;
	m->cap = m->len = 0;
}

void map_free(struct map *m)
{
	free_slots(m->slots, m->cap);
	map_init(m);
}

void map_clear(struct map *m)
{
	if (m->len)
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->len = 0;
}

static struct map_slot *find(const struct map *m, const char *key, size_t keylen,
			     uint64_t hash)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct map_slot *s = &m->slots[i];
		if (!s->key)
			return s;
		if (s->hash == hash && s->keylen == keylen && !memcmp(s->key, key, keylen))
			return s;
	}
}

/* The table again at cap slots (a power of two, more than it holds). */
static void resize(struct map *m, size_t cap)
{
	struct map_slot *old = m->slots;
	size_t oldcap = m->cap;
	m->cap = cap;
	m->slots = alloc_slots(m->cap);
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*find(m, old[i].key, old[i].keylen, old[i].hash) = old[i];
	free_slots(old, oldcap);
}

static void grow(struct map *m)
{
	resize(m, m->cap ? m->cap * 2 : 16);
}

/* Whether a table of cap slots may hold n entries: at most 3/4 full, so
 * probes stay short.  Inserts and reservations grow by the same rule. */
static bool holds(size_t cap, size_t n)
{
	return n <= cap / 4 * 3;
}

void map_reserve(struct map *m, size_t n)
{
	if (!n)
		return;
	size_t cap = m->cap ? m->cap : 16;
	while (!holds(cap, n)) {
		if (cap > SIZE_MAX / 2 / sizeof(struct map_slot))
			fatal_oom();
		cap *= 2;
	}
	if (cap != m->cap)
		resize(m, cap);
}

uint64_t map_hash(const char *key, size_t keylen)
{
	return XXH3_64bits(key, keylen);
}

const struct map_slot *map_find_hashed(const struct map *m, const char *key, size_t keylen, uint64_t hash)
{
	if (!m->len)
		return NULL;
	struct map_slot *s = find(m, key, keylen, hash);
	return s->key ? s : NULL;
}

const struct map_slot *map_find_hash(const struct map *m, uint64_t hash, size_t keylen)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash & mask; m->len && m->slots[i].key; i = (i + 1) & mask)
		if (m->slots[i].hash == hash && m->slots[i].keylen == keylen)
			return &m->slots[i];
	return NULL;
}

void *map_get_hashed(const struct map *m, const char *key, size_t keylen, uint64_t hash)
{
	const struct map_slot *s = map_find_hashed(m, key, keylen, hash);
	return s ? s->value : NULL;
}

void *map_get(const struct map *m, const char *key, size_t keylen)
{
	return m->len ? map_get_hashed(m, key, keylen, map_hash(key, keylen)) : NULL;
}

static struct map_slot *slot_for_insert(struct map *m, const char *key, size_t keylen, uint64_t hash)
{
	if (!holds(m->cap, m->len + 1))
		grow(m);
	return find(m, key, keylen, hash);
}

void *map_put_hashed(struct map *m, const char *key, size_t keylen, uint64_t hash, void *value)
{
	struct map_slot *s = slot_for_insert(m, key, keylen, hash);
	if (s->key)
		return s->value;
	*s = (struct map_slot){ key, keylen, hash, value };
	m->len++;
	return NULL;
}

void *map_put(struct map *m, const char *key, size_t keylen, void *value)
{
	return map_put_hashed(m, key, keylen, map_hash(key, keylen), value);
}

void map_set(struct map *m, const char *key, size_t keylen, void *value)
{
	uint64_t hash = map_hash(key, keylen);
	struct map_slot *s = slot_for_insert(m, key, keylen, hash);
	if (!s->key) {
		*s = (struct map_slot){ key, keylen, hash, value };
		m->len++;
	}
	s->value = value;
}

int map_remove(struct map *m, const char *key, size_t keylen)
{
	if (!m->len)
		return 0;
	struct map_slot *s = find(m, key, keylen, XXH3_64bits(key, keylen));
	if (!s->key)
		return 0;
	size_t mask = m->cap - 1, hole = (size_t)(s - m->slots);
	for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
		size_t home = m->slots[i].hash & mask;
		/* Move i into the hole unless its home lies cyclically in (hole, i]. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			m->slots[hole] = m->slots[i];
			hole = i;
		}
	}
	m->slots[hole].key = NULL;
	m->len--;
	return 1;
}
