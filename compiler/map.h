/* map.h - string-keyed open-addressing hash table (xxh3).  Keys are not
 * copied: they must outlive the map (arena strings usually do). */
#ifndef BULKHEAD_MAP_H
#define BULKHEAD_MAP_H

#include <stddef.h>
#include <stdint.h>

struct map_slot {
	const char *key;
	size_t keylen;
	uint64_t hash;
	void *value;
};

struct map {
	struct map_slot *slots;
	size_t cap;		/* power of two, or 0 */
	size_t len;
};

void map_init(struct map *m);
void map_free(struct map *m);
/* Removes every entry but keeps the table for reuse. */
void map_clear(struct map *m);
void *map_get(const struct map *m, const char *key, size_t keylen);
/* Returns the existing value if the key is present (and does not replace
 * it), else inserts value and returns NULL. */
void *map_put(struct map *m, const char *key, size_t keylen, void *value);
/* The same with the key's hash computed beforehand by map_hash: a map
 * shared by threads is hashed outside its lock. */
uint64_t map_hash(const char *key, size_t keylen);
void *map_get_hashed(const struct map *m, const char *key, size_t keylen, uint64_t hash);
/* The entry itself (its stored key), or NULL. */
const struct map_slot *map_find_hashed(const struct map *m, const char *key, size_t keylen, uint64_t hash);
void *map_put_hashed(struct map *m, const char *key, size_t keylen, uint64_t hash, void *value);
/* The first entry whose key has this hash and length, key unseen: for a
 * caller that trusts a 64-bit hash it recorded earlier (stat_index.h). */
const struct map_slot *map_find_hash(const struct map *m, uint64_t hash, size_t keylen);
/* Room for n entries in all: filling the map up to n grows it no more
 * (each growth rehashes every entry into a fresh table). */
void map_reserve(struct map *m, size_t n);
/* Replaces or inserts. */
void map_set(struct map *m, const char *key, size_t keylen, void *value);
int map_remove(struct map *m, const char *key, size_t keylen);

#endif
