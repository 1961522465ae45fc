/* test_map.c - compiler/map.c. */
#include "helpers.h"

#include <xxhash.h>

#include "map.h"

#define K(s) (s), strlen(s)

static int *val(int i)
{
	static int vals[16];
	return &vals[i];
}

/* Linear probing holds its keys only if no empty slot lies between a
 * key's home slot and the slot it sits in. */
static void map_check_invariants(const struct map *m)
{
	size_t used = 0;
	if (!m->cap) {
		cr_assert_eq(m->len, 0);
		return;
	}
	cr_assert_eq(m->cap & (m->cap - 1), 0, "capacity %zu is not a power of two", m->cap);
	cr_assert_leq(m->len * 4, m->cap * 3, "load factor over 3/4");
	size_t mask = m->cap - 1;
	for (size_t i = 0; i < m->cap; i++) {
		const struct map_slot *s = &m->slots[i];
		if (!s->key)
			continue;
		used++;
		cr_assert_eq(s->hash, XXH3_64bits(s->key, s->keylen), "slot %zu has a stale hash", i);
		for (size_t j = s->hash & mask; j != i; j = (j + 1) & mask)
			cr_assert_not_null(m->slots[j].key,
					   "hole at slot %zu between home %zu and slot %zu of key '%.*s'",
					   j, (size_t)(s->hash & mask), i, (int)s->keylen, s->key);
	}
	cr_assert_eq(used, m->len, "len %zu but %zu occupied slots", m->len, used);
}

Test(map, empty_map)
{
	struct map m;
	map_init(&m);
	cr_assert_null(map_get(&m, K("a")));
	cr_assert_eq(map_remove(&m, K("a")), 0);
	cr_assert_eq(m.len, 0);
	map_check_invariants(&m);
	map_free(&m);
	map_free(&m);		/* twice is harmless */
}

Test(map, put_get_and_put_does_not_replace)
{
	struct map m;
	map_init(&m);
	cr_assert_null(map_put(&m, K("alpha"), val(1)));
	cr_assert_null(map_put(&m, K("beta"), val(2)));
	cr_assert_eq(m.len, 2);
	cr_assert_eq(map_get(&m, K("alpha")), val(1));
	cr_assert_eq(map_get(&m, K("beta")), val(2));
	cr_assert_null(map_get(&m, K("gamma")));
	/* Existing key: returns the old value and keeps it. */
	cr_assert_eq(map_put(&m, K("alpha"), val(3)), val(1));
	cr_assert_eq(map_get(&m, K("alpha")), val(1));
	cr_assert_eq(m.len, 2);
	map_check_invariants(&m);
	map_free(&m);
}

/* The hashed entry points are the plain ones with the hash given: a key
 * put one way is found the other, and map_find_hashed hands back the
 * stored key (a worker copies it into its own memo). */
Test(map, hashed_calls_match_plain_ones)
{
	struct map m;
	map_init(&m);
	char key[2][16];
	for (int i = 0; i < 2; i++)
		snprintf(key[i], sizeof(key[i]), "key-%d", i);
	cr_assert_eq(map_hash(K("key-0")), XXH3_64bits("key-0", 5));
	cr_assert_null(map_find_hashed(&m, K("key-0"), map_hash(K("key-0"))), "empty map");
	cr_assert_null(map_put_hashed(&m, key[0], 5, map_hash(key[0], 5), val(1)));
	cr_assert_null(map_put(&m, key[1], 5, val(2)));
	cr_assert_eq(map_put_hashed(&m, K("key-0"), map_hash(K("key-0")), val(3)), val(1), "no replace");
	cr_assert_eq(map_get(&m, K("key-0")), val(1));
	cr_assert_eq(map_get_hashed(&m, K("key-1"), map_hash(K("key-1"))), val(2));
	const struct map_slot *s = map_find_hashed(&m, K("key-1"), map_hash(K("key-1")));
	cr_assert_not_null(s);
	cr_assert_eq(s->key, key[1], "the stored key, not the probe's");
	cr_assert_eq(s->value, val(2));
	cr_assert_null(map_get_hashed(&m, K("key-2"), map_hash(K("key-2"))));
	map_check_invariants(&m);
	map_free(&m);
}

Test(map, set_inserts_or_replaces)
{
	struct map m;
	map_init(&m);
	map_set(&m, K("k"), val(1));
	cr_assert_eq(map_get(&m, K("k")), val(1));
	cr_assert_eq(m.len, 1);
	map_set(&m, K("k"), val(2));
	cr_assert_eq(map_get(&m, K("k")), val(2));
	cr_assert_eq(m.len, 1, "replacing must not add an entry");
	map_set(&m, K("other"), NULL);	/* NULL values are storable */
	cr_assert_eq(m.len, 2);
	cr_assert_null(map_get(&m, K("other")));
	cr_assert_eq(map_put(&m, K("other"), val(5)), NULL,
		     "put on a key holding NULL returns its (NULL) value");
	cr_assert_eq(m.len, 2);
	map_free(&m);
}

Test(map, keys_are_byte_strings_with_explicit_length)
{
	struct map m;
	map_init(&m);
	const char *text = "abcdef";
	map_put(&m, text, 3, val(1));	/* "abc", not NUL-terminated in place */
	cr_assert_eq(map_get(&m, "abc", 3), val(1));
	cr_assert_null(map_get(&m, "abcd", 4));
	cr_assert_null(map_get(&m, "ab", 2));
	map_put(&m, "", 0, val(2));	/* the empty key */
	cr_assert_eq(map_get(&m, "", 0), val(2));
	const char nul_key[] = { 'x', '\0', 'y' };
	map_put(&m, nul_key, 3, val(3));
	cr_assert_eq(map_get(&m, nul_key, 3), val(3));
	cr_assert_null(map_get(&m, "x", 1));
	cr_assert_eq(m.len, 3);
	cr_assert_eq(map_remove(&m, "", 0), 1);
	cr_assert_null(map_get(&m, "", 0));
	cr_assert_eq(map_get(&m, "abc", 3), val(1));
	map_free(&m);
}

Test(map, remove_then_reinsert)
{
	struct map m;
	map_init(&m);
	map_put(&m, K("a"), val(1));
	map_put(&m, K("b"), val(2));
	cr_assert_eq(map_remove(&m, K("a")), 1);
	cr_assert_eq(map_remove(&m, K("a")), 0, "second remove finds nothing");
	cr_assert_eq(m.len, 1);
	cr_assert_null(map_get(&m, K("a")));
	cr_assert_eq(map_get(&m, K("b")), val(2));
	cr_assert_null(map_put(&m, K("a"), val(3)));
	cr_assert_eq(map_get(&m, K("a")), val(3));
	cr_assert_eq(m.len, 2);
	map_check_invariants(&m);
	map_free(&m);
}

/* After map_reserve(n) the table takes n entries without growing (the
 * slots array stays put), keeps what it held, and a smaller reservation
 * changes nothing. */
Test(map, reserve_makes_room_without_growing)
{
	enum { N = 2000 };	/* more than 3/4 of 2,048 slots */
	static char keys[N][16];
	struct map m;
	map_init(&m);
	map_reserve(&m, 0);
	cr_expect_eq(m.cap, 0, "no room asked, none made");
	for (size_t i = 0; i < 10; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
		cr_assert_null(map_put(&m, K(keys[i]), &keys[i]));
	}
	map_reserve(&m, N);
	map_check_invariants(&m);
	cr_assert_geq(m.cap * 3, (size_t)N * 4);
	for (size_t i = 0; i < 10; i++)
		cr_expect_eq(map_get(&m, K(keys[i])), &keys[i], "lost %s in the reservation", keys[i]);
	const struct map_slot *slots = m.slots;
	size_t cap = m.cap;
	map_reserve(&m, 5);
	cr_expect(m.slots == slots && m.cap == cap, "a smaller reservation moved the table");
	for (size_t i = 10; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
		cr_assert_null(map_put(&m, K(keys[i]), &keys[i]));
	}
	cr_expect(m.slots == slots && m.cap == cap, "the table grew within its reservation");
	map_check_invariants(&m);
	for (size_t i = 0; i < N; i++)
		cr_expect_eq(map_get(&m, K(keys[i])), &keys[i], "lost %s", keys[i]);
	map_free(&m);
}

Test(map, grows_to_ten_thousand_keys)
{
	enum { N = 10000 };
	static char keys[N][16];
	struct map m;
	map_init(&m);
	for (size_t i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
		cr_assert_null(map_put(&m, K(keys[i]), &keys[i]));
		cr_assert_eq(m.len, i + 1);
	}
	map_check_invariants(&m);
	cr_assert_geq(m.cap, (size_t)N * 4 / 3);
	for (size_t i = 0; i < N; i++)
		cr_assert_eq(map_get(&m, K(keys[i])), &keys[i], "lost key %s", keys[i]);
	cr_assert_null(map_get(&m, K("key-10000")));
	/* Remove every other key; the rest must stay findable. */
	for (size_t i = 0; i < N; i += 2)
		cr_assert_eq(map_remove(&m, K(keys[i])), 1);
	cr_assert_eq(m.len, N / 2);
	map_check_invariants(&m);
	for (size_t i = 0; i < N; i++) {
		void *v = map_get(&m, K(keys[i]));
		if (i % 2)
			cr_assert_eq(v, &keys[i], "lost %s after removals", keys[i]);
		else
			cr_assert_null(v, "%s still present after removal", keys[i]);
	}
	map_free(&m);
}

/* Random put/set/remove/get against a plain array model.  A small key space
 * keeps the table at 16 slots with long, wrapping probe chains; a large one
 * exercises growth in between removals. */
static void map_random_check(size_t nkeys, size_t ops, uint64_t seed)
{
	char (*keys)[32] = calloc(nkeys, sizeof(*keys));
	int *present = calloc(nkeys, sizeof(int));
	void **model = calloc(nkeys, sizeof(void *));
	size_t live = 0;
	struct map m;
	map_init(&m);
	for (size_t i = 0; i < nkeys; i++)
		snprintf(keys[i], sizeof(keys[i]), "k%zu/%llx", i,
			 (unsigned long long)(test_rand(&seed) & 0xffff));
	for (size_t op = 0; op < ops; op++) {
		size_t k = test_rand(&seed) % nkeys;
		void *v = (void *)(uintptr_t)(op + 1);	/* a distinct value per op */
		switch (test_rand(&seed) % 4) {
		case 0: {
			void *old = map_put(&m, K(keys[k]), v);
			cr_assert_eq(old, present[k] ? model[k] : NULL, "op %zu put %s", op, keys[k]);
			if (!present[k])
				present[k] = 1, model[k] = v, live++;
			break;
		}
		case 1:
			map_set(&m, K(keys[k]), v);
			if (!present[k])
				present[k] = 1, live++;
			model[k] = v;
			break;
		case 2:
		case 3: {
			int r = map_remove(&m, K(keys[k]));
			cr_assert_eq(r, present[k], "op %zu remove %s", op, keys[k]);
			if (present[k])
				present[k] = 0, live--;
			break;
		}
		}
		cr_assert_eq(m.len, live, "op %zu: len %zu, model %zu", op, m.len, live);
		if (op % 97 == 0 || nkeys <= 16) {
			for (size_t i = 0; i < nkeys; i++)
				cr_assert_eq(map_get(&m, K(keys[i])), present[i] ? model[i] : NULL,
					     "op %zu: key %s wrong", op, keys[i]);
			map_check_invariants(&m);
		}
	}
	for (size_t i = 0; i < nkeys; i++)
		cr_assert_eq(map_get(&m, K(keys[i])), present[i] ? model[i] : NULL);
	map_free(&m);
	free(keys);
	free(present);
	free(model);
}

Test(map, random_ops_dense_small_table)
{
	map_random_check(12, 20000, 1);
}

Test(map, random_ops_wrapping_chains)
{
	/* 12 keys never grow a 16-slot table; many seeds give chains that
	 * wrap around the end of the slot array. */
	for (uint64_t seed = 2; seed < 40; seed++)
		map_random_check(12, 500, seed * 7919);
}

Test(map, random_ops_large)
{
	map_random_check(3000, 60000, 99);
}
