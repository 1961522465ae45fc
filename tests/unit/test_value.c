/* test_value.c - compiler/value.c: constructors, map order and lookup,
 * equality, number text and JSON text. */
#include "helpers.h"

#include <math.h>
#include <stdarg.h>

#include "value.h"

static struct arena val_arena;
static struct srcfile val_file;

static void val_setup(void)
{
	arena_init(&val_arena);
	diag_clear();
	diag_set_color(0);
}

static void val_teardown(void)
{
	arena_free(&val_arena);
	diag_clear();
}

TestSuite(value, .init = val_setup, .fini = val_teardown);

static struct value *val_int(int64_t i)
{
	return value_int(&val_arena, i, NULL);
}

static struct value *val_float(double f)
{
	return value_float(&val_arena, f, NULL);
}

static struct value *val_str(const char *s)
{
	return value_cstr(&val_arena, s);
}

/* A list of the given items (NULL-terminated). */
static struct value *val_list(struct value *first, ...)
{
	struct value *items[32];
	size_t n = 0;
	va_list ap;
	va_start(ap, first);
	for (struct value *v = first; v; v = va_arg(ap, struct value *))
		items[n++] = v;
	va_end(ap);
	struct value *l = value_list(&val_arena, n, NULL);
	for (size_t i = 0; i < n; i++)
		l->list.items[i] = items[i];
	return l;
}

/* A sorted map of key, value, key, value, ..., NULL. */
static struct value *val_map(const char *key, ...)
{
	struct value_pair pairs[32];
	size_t n = 0;
	va_list ap;
	va_start(ap, key);
	for (const char *k = key; k; k = va_arg(ap, const char *)) {
		pairs[n].key = k;
		pairs[n].keylen = strlen(k);
		pairs[n++].value = va_arg(ap, struct value *);
	}
	va_end(ap);
	struct value *m = value_map(&val_arena, n, NULL);
	if (n)
		memcpy(m->map.pairs, pairs, n * sizeof(*pairs));
	cr_assert_eq(value_map_sort(m), -1, "val_map: duplicate key");
	return m;
}

/* format_double's text for d. */
static void val_expect_double(double d, const char *want)
{
	char out[400];
	memset(out, 'x', sizeof(out));
	format_double(d, out, sizeof(out));
	cr_expect_str_eq(out, want, "format_double(%.17g) = '%s', want '%s'", d, out, want);
	cr_expect(!strchr(out, 'e') && !strchr(out, 'E'), "exponent in '%s'", out);
	cr_expect_eq(strtod(out, NULL), d, "'%s' does not read back as %.17g", out, d);
}

static void val_expect_json(const struct value *v, const char *want)
{
	struct buf b = BUF_INIT;
	value_to_json(v, &b);
	cr_expect_str_eq(buf_cstr(&b), want, "got:\n%s\nwant:\n%s", buf_cstr(&b), want);
	buf_free(&b);
}

static void val_expect_compact(const struct value *v, const char *want)
{
	struct buf b = BUF_INIT;
	value_to_json_compact(v, &b);
	cr_expect_str_eq(buf_cstr(&b), want, "got: %s\nwant: %s", buf_cstr(&b), want);
	buf_free(&b);
}

static void val_expect_quote(const char *s, size_t len, const char *want)
{
	struct buf b = BUF_INIT;
	json_quote(&b, s, len);
	cr_expect_eq(b.len, strlen(want), "length %zu, want %zu: %s", b.len, strlen(want), buf_cstr(&b));
	cr_expect_str_eq(buf_cstr(&b), want);
	buf_free(&b);
}

/* ---- constructors ---- */

Test(value, scalar_constructors)
{
	struct node origin = { .kind = NODE_STR };
	struct value *v = value_null(&val_arena, &origin);
	cr_expect_eq(v->kind, VAL_NULL);
	cr_expect_eq(v->origin, &origin);
	cr_expect_not(v->sensitive);

	v = value_bool(&val_arena, true, NULL);
	cr_expect(v->kind == VAL_BOOL && v->b);
	cr_expect_null(v->origin);
	v = value_bool(&val_arena, false, &origin);
	cr_expect(v->kind == VAL_BOOL && !v->b && v->origin == &origin);

	v = value_int(&val_arena, INT64_MIN, NULL);
	cr_expect(v->kind == VAL_INT && v->i == INT64_MIN);
	v = value_float(&val_arena, -2.5, NULL);
	cr_expect(v->kind == VAL_FLOAT && v->f == -2.5);
}

Test(value, string_constructors_keep_length)
{
	static const char text[] = "ab\0cd";
	struct value *v = value_str(&val_arena, text, 5, NULL);
	cr_expect_eq(v->kind, VAL_STR);
	cr_expect_eq(v->str.s, text, "the bytes are not copied");
	cr_expect_eq(v->str.len, 5, "an embedded NUL is part of the string");

	v = value_cstr(&val_arena, "hello");
	cr_expect_eq(v->kind, VAL_STR);
	cr_expect_eq(v->str.len, 5);
	cr_expect_str_eq(v->str.s, "hello");
	cr_expect_null(v->origin);
}

Test(value, container_constructors)
{
	struct value *l = value_list(&val_arena, 3, NULL);
	cr_expect_eq(l->kind, VAL_LIST);
	cr_expect_eq(l->list.len, 3);
	for (size_t i = 0; i < 3; i++)
		cr_expect_null(l->list.items[i], "items start empty");

	struct value *m = value_map(&val_arena, 2, NULL);
	cr_expect_eq(m->kind, VAL_MAP);
	cr_expect_eq(m->map.len, 2);
	cr_expect_null(m->map.pairs[0].key);

	struct value *r = value_map_room(&val_arena, 3);
	cr_expect_eq(r->kind, VAL_MAP);
	cr_expect_eq(r->map.len, 0, "room, but no pairs yet");
	value_map_add(r, "zeta", val_int(1));
	value_map_add(r, "alpha", val_int(2));
	value_map_add(r, "mid", val_int(3));
	cr_expect_eq(r->map.len, 3);
	cr_expect_eq(r->map.pairs[0].keylen, 4);
	cr_expect_eq(value_map_sort(r), -1);
	cr_expect_str_eq(r->map.pairs[0].key, "alpha");
	cr_expect_str_eq(r->map.pairs[1].key, "mid");
	cr_expect_str_eq(r->map.pairs[2].key, "zeta");
	cr_expect_eq(value_map_get(r, "mid")->i, 3);

	struct value *empty = value_list(&val_arena, 0, NULL);
	cr_expect_eq(empty->list.len, 0);
}

Test(value, kind_names)
{
	cr_expect_str_eq(value_kind_name(VAL_NULL), "null");
	cr_expect_str_eq(value_kind_name(VAL_BOOL), "bool");
	cr_expect_str_eq(value_kind_name(VAL_INT), "number");
	cr_expect_str_eq(value_kind_name(VAL_FLOAT), "number");
	cr_expect_str_eq(value_kind_name(VAL_STR), "string");
	cr_expect_str_eq(value_kind_name(VAL_LIST), "list");
	cr_expect_str_eq(value_kind_name(VAL_MAP), "map");
}

/* ---- value_map_sort and value_map_get ---- */

/* A map of n keys "k<perm(i)>" in a scrambled order, values = the number. */
static struct value *val_scrambled_map(size_t n, uint64_t seed)
{
	struct value *m = value_map(&val_arena, n, NULL);
	for (size_t i = 0; i < n; i++) {
		char *k = arena_printf(&val_arena, "k%03zu", i);
		m->map.pairs[i] = (struct value_pair){ k, strlen(k), val_int((int64_t)i) };
	}
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(test_rand(&seed) % i);
		struct value_pair t = m->map.pairs[i - 1];
		m->map.pairs[i - 1] = m->map.pairs[j];
		m->map.pairs[j] = t;
	}
	return m;
}

static void val_expect_sorted(const struct value *m)
{
	for (size_t i = 1; i < m->map.len; i++) {
		const struct value_pair *a = &m->map.pairs[i - 1], *b = &m->map.pairs[i];
		size_t n = a->keylen < b->keylen ? a->keylen : b->keylen;
		int c = memcmp(a->key, b->key, n);
		cr_expect(c < 0 || (c == 0 && a->keylen <= b->keylen), "'%s' before '%s'", a->key, b->key);
	}
}

Test(value, sort_small_map_by_insertion)
{
	for (size_t n = 0; n <= 16; n++) {
		struct value *m = val_scrambled_map(n, 0x1234 + n);
		cr_expect_eq(value_map_sort(m), -1, "n=%zu: no duplicates", n);
		val_expect_sorted(m);
		for (size_t i = 0; i < n; i++)
			cr_expect_eq(m->map.pairs[i].value->i, (int64_t)i, "n=%zu: pair %zu keeps its value", n, i);
	}
}

Test(value, sort_large_map_by_merging)
{
	size_t sizes[] = { 9, 17, 18, 64, 128, 129, 300 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		size_t n = sizes[s];
		struct value *m = val_scrambled_map(n, 0x9876 + n);
		cr_expect_eq(value_map_sort(m), -1, "n=%zu", n);
		val_expect_sorted(m);
		for (size_t i = 0; i < n; i++)
			cr_expect_eq(m->map.pairs[i].value->i, (int64_t)i, "n=%zu: pair %zu", n, i);
	}
}

Test(value, sort_is_bytewise)
{
	/* Uppercase before lowercase, a prefix before its extensions, UTF-8
	 * (bytes >= 0x80) after ASCII. */
	struct value *m = value_map_room(&val_arena, 7);
	const char *keys[] = { "\xc3\xa9t\xc3\xa9", "b", "ab", "a", "B", "_", "a-b" };
	for (size_t i = 0; i < 7; i++)
		value_map_add(m, keys[i], val_int((int64_t)i));
	cr_expect_eq(value_map_sort(m), -1);
	const char *want[] = { "B", "_", "a", "a-b", "ab", "b", "\xc3\xa9t\xc3\xa9" };
	for (size_t i = 0; i < 7; i++)
		cr_expect_str_eq(m->map.pairs[i].key, want[i], "position %zu", i);
}

Test(value, sort_reports_duplicate_small)
{
	struct value *m = value_map_room(&val_arena, 4);
	value_map_add(m, "b", val_int(1));
	value_map_add(m, "c", val_int(2));
	value_map_add(m, "a", val_int(3));
	value_map_add(m, "b", val_int(4));
	/* Sorted: a b b c: the second "b" is at index 2. */
	long dup = value_map_sort(m);
	cr_expect_eq(dup, 2);
	cr_assert_geq(dup, 1);
	cr_expect_str_eq(m->map.pairs[dup].key, "b");
	cr_expect_str_eq(m->map.pairs[dup - 1].key, "b");
}

Test(value, sort_reports_duplicate_large)
{
	struct value *m = val_scrambled_map(40, 77);
	/* Make one key a copy of "k020"; it sorts next to it. */
	for (size_t i = 0; i < 40; i++)
		if (!strcmp(m->map.pairs[i].key, "k031")) {
			m->map.pairs[i].key = "k020";
			m->map.pairs[i].keylen = 4;
		}
	long dup = value_map_sort(m);
	cr_expect_eq(dup, 21, "k000..k019, k020, k020: the duplicate is at 21");
	cr_assert_gt(dup, 0);
	cr_expect_str_eq(m->map.pairs[dup].key, "k020");
	cr_expect_str_eq(m->map.pairs[dup - 1].key, "k020");
}

Test(value, sort_duplicate_needs_same_length)
{
	/* "a" and "a\0b" (length 3) share a C-string prefix but differ. */
	static const char ab[] = "a\0b";
	struct value *m = value_map(&val_arena, 2, NULL);
	m->map.pairs[0] = (struct value_pair){ ab, 3, val_int(1) };
	m->map.pairs[1] = (struct value_pair){ "a", 1, val_int(2) };
	cr_expect_eq(value_map_sort(m), -1);
	cr_expect_eq(m->map.pairs[0].keylen, 1, "the shorter key sorts first");
}

/* Against a reference: random keys over a two-letter alphabet, 0 to 12
 * bytes long, so that many share their first eight bytes (the sort's
 * integer prefix) or are prefixes of each other, some hold a NUL, and
 * many are equal: equal keys must keep their order (stable), whatever
 * the size (insertion, merging on the stack, merging in a heap buffer). */
struct ref_pair {
	struct value_pair pair;
	size_t index;
};

static int ref_compare(const void *pa, const void *pb)
{
	const struct ref_pair *a = pa, *b = pb;
	size_t n = a->pair.keylen < b->pair.keylen ? a->pair.keylen : b->pair.keylen;
	int c = memcmp(a->pair.key, b->pair.key, n);
	if (!c)
		c = a->pair.keylen < b->pair.keylen ? -1 : a->pair.keylen > b->pair.keylen;
	return c ? c : a->index < b->index ? -1 : 1;
}

Test(value, sort_matches_stable_reference)
{
	uint64_t seed = 42;
	size_t sizes[] = { 2, 7, 8, 9, 15, 16, 17, 33, 127, 128, 129, 257, 1000 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
		for (int round = 0; round < 20; round++) {
			size_t n = sizes[s];
			struct value *m = value_map(&val_arena, n, NULL);
			struct ref_pair *ref = calloc(n, sizeof(*ref));
			cr_assert(ref);
			for (size_t i = 0; i < n; i++) {
				size_t len = (size_t)(test_rand(&seed) % 13);
				char *k = arena_alloc(&val_arena, len + 1);
				for (size_t c = 0; c < len; c++) {
					uint64_t r = test_rand(&seed) % 16;
					k[c] = r == 0 ? '\0' : r < 8 ? 'a' : 'b';
				}
				k[len] = '\0';
				m->map.pairs[i] = (struct value_pair){ k, len, val_int((int64_t)i) };
				ref[i] = (struct ref_pair){ m->map.pairs[i], i };
			}
			qsort(ref, n, sizeof(*ref), ref_compare);
			long dup = value_map_sort(m);
			long want_dup = -1;
			for (size_t i = 1; i < n && want_dup < 0; i++)
				if (ref[i].pair.keylen == ref[i - 1].pair.keylen &&
				    !memcmp(ref[i].pair.key, ref[i - 1].pair.key, ref[i].pair.keylen))
					want_dup = (long)i;
			cr_expect_eq(dup, want_dup, "n=%zu round %d: first duplicate", n, round);
			for (size_t i = 0; i < n; i++)
				cr_expect_eq(m->map.pairs[i].value->i, (int64_t)ref[i].index, "n=%zu round %d: position %zu",
					     n, round, i);
			free(ref);
		}
}

Test(value, get_finds_every_key)
{
	size_t sizes[] = { 1, 2, 3, 16, 17, 100 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		size_t n = sizes[s];
		struct value *m = val_scrambled_map(n, 5 + n);
		value_map_sort(m);
		for (size_t i = 0; i < n; i++) {
			char key[32];
			snprintf(key, sizeof(key), "k%03zu", i);
			struct value *v = value_map_get(m, key);
			cr_expect_not_null(v, "n=%zu: '%s' not found", n, key);
			if (v)
				cr_expect_eq(v->i, (int64_t)i);
		}
		cr_expect_null(value_map_get(m, "k"), "a prefix of every key");
		cr_expect_null(value_map_get(m, "k0000"), "an extension of a key");
		cr_expect_null(value_map_get(m, "a"), "before every key");
		cr_expect_null(value_map_get(m, "z"), "after every key");
		cr_expect_null(value_map_get(m, ""));
	}
}

Test(value, get_on_non_maps)
{
	cr_expect_null(value_map_get(NULL, "a"));
	cr_expect_null(value_map_get(val_int(1), "a"));
	cr_expect_null(value_map_get(val_list(val_str("a"), NULL), "a"));
	cr_expect_null(value_map_get(value_map(&val_arena, 0, NULL), "a"));
	struct value *m = val_map("", val_int(7), NULL);
	cr_expect_eq(value_map_get(m, "")->i, 7, "the empty key is a key");
}

/* ---- key_is_secret ---- */

Test(value, secret_keys)
{
	const char *yes[] = {
		"password", "db_password", "PASSWORD", "Password1", "SECRET", "client_secret",
		"secretName", "Token", "api_token", "github_TOKEN", "tokens", "private_key",
		"ssh_PRIVATE_KEY", "Private_Key_pem", "xpasswordx", "stoken", "sssecret", "pprivate_key",
		"ppassword", "ttoken", "x_token", "x_secret", "db.password",
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		cr_expect(key_is_secret(yes[i]), "'%s' is a secret key", yes[i]);
}

Test(value, non_secret_keys)
{
	const char *no[] = {
		"", "name", "passwd", "pass", "pwd", "secre", "tok", "toke", "private", "privatekey",
		"private-key", "key", "username", "description", "tags", "instance_type", "s", "t", "p",
		"passwor", "api_toke", "x_secre", "private_ke",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		cr_expect_not(key_is_secret(no[i]), "'%s' is not a secret key", no[i]);
}

/* ---- value_equal ---- */

Test(value, equal_scalars)
{
	cr_expect(value_equal(value_null(&val_arena, NULL), value_null(&val_arena, NULL)));
	cr_expect(value_equal(value_bool(&val_arena, true, NULL), value_bool(&val_arena, true, NULL)));
	cr_expect_not(value_equal(value_bool(&val_arena, true, NULL), value_bool(&val_arena, false, NULL)));
	cr_expect(value_equal(val_int(42), val_int(42)));
	cr_expect_not(value_equal(val_int(42), val_int(43)));
	cr_expect(value_equal(val_str("abc"), val_str("abc")));
	cr_expect_not(value_equal(val_str("abc"), val_str("abd")));
	cr_expect_not(value_equal(val_str("ab"), val_str("abc")));
	cr_expect(value_equal(val_str(""), val_str("")));
	static const char nul1[] = "a\0b", nul2[] = "a\0c";
	cr_expect_not(value_equal(value_str(&val_arena, nul1, 3, NULL), value_str(&val_arena, nul2, 3, NULL)),
		      "bytes after a NUL count");
}

Test(value, equal_ignores_origin_and_kinds_differ)
{
	struct node n1 = { 0 }, n2 = { 0 };
	cr_expect(value_equal(value_int(&val_arena, 1, &n1), value_int(&val_arena, 1, &n2)));
	cr_expect_not(value_equal(val_str("1"), val_int(1)), "a string is not a number");
	cr_expect_not(value_equal(value_null(&val_arena, NULL), value_bool(&val_arena, false, NULL)));
	cr_expect_not(value_equal(val_int(0), value_null(&val_arena, NULL)));
	cr_expect_not(value_equal(val_str("true"), value_bool(&val_arena, true, NULL)));
	cr_expect_not(value_equal(value_list(&val_arena, 0, NULL), value_map(&val_arena, 0, NULL)),
		      "[] is not {}");
}

Test(value, equal_int_and_float)
{
	cr_expect(value_equal(val_int(3), val_float(3.0)));
	cr_expect(value_equal(val_float(3.0), val_int(3)));
	cr_expect(value_equal(val_float(0.5), val_float(0.5)));
	cr_expect(value_equal(val_int(0), val_float(-0.0)));
	cr_expect_not(value_equal(val_int(3), val_float(3.5)));
	cr_expect_not(value_equal(val_float(0.1 + 0.2), val_float(0.3)));
	cr_expect(value_equal(val_int(INT64_MAX), val_int(INT64_MAX)));
	cr_expect_not(value_equal(val_int(INT64_MAX), val_int(INT64_MAX - 1)),
		      "two ints compare exactly, not through double");
}

Test(value, equal_int_and_float_exactly)
{
	/* 2^53 + 1 has no double: the int and the float 2^53 are different
	 * numbers (they print differently in tfvars), so they must not be
	 * equal. */
	int64_t big = (INT64_C(1) << 53) + 1;
	cr_expect_not(value_equal(val_int(big), val_float(9007199254740992.0)),
		      "9007199254740993 == 9007199254740992.0");
	cr_expect_not(value_equal(val_float(9007199254740992.0), val_int(big)));
	cr_expect(value_equal(val_int(INT64_C(1) << 53), val_float(9007199254740992.0)));
}

Test(value, equal_lists)
{
	struct value *a = val_list(val_int(1), val_str("x"), NULL);
	struct value *b = val_list(val_float(1.0), val_str("x"), NULL);
	cr_expect(value_equal(a, b), "elements compare as values");
	cr_expect_not(value_equal(a, val_list(val_str("x"), val_int(1), NULL)), "order matters");
	cr_expect_not(value_equal(a, val_list(val_int(1), NULL)), "length matters");
	cr_expect(value_equal(value_list(&val_arena, 0, NULL), value_list(&val_arena, 0, NULL)));
}

Test(value, equal_maps_nested)
{
	struct value *a = val_map("tags", val_map("env", val_str("dev"), "team", val_str("core"), NULL),
				  "ports", val_list(val_int(80), val_map("tls", value_bool(&val_arena, true, NULL), NULL), NULL),
				  "size", val_int(2), NULL);
	struct value *b = val_map("size", val_float(2.0),
				  "ports", val_list(val_int(80), val_map("tls", value_bool(&val_arena, true, NULL), NULL), NULL),
				  "tags", val_map("team", val_str("core"), "env", val_str("dev"), NULL), NULL);
	cr_expect(value_equal(a, b), "key order of construction does not matter once sorted");

	struct value *c = val_map("tags", val_map("env", val_str("dev"), "team", val_str("core"), NULL),
				  "ports", val_list(val_int(80), val_map("tls", value_bool(&val_arena, false, NULL), NULL), NULL),
				  "size", val_int(2), NULL);
	cr_expect_not(value_equal(a, c), "a difference three levels down");

	struct value *d = val_map("tags", val_map("env", val_str("dev"), "teams", val_str("core"), NULL),
				  "ports", val_list(val_int(80), val_map("tls", value_bool(&val_arena, true, NULL), NULL), NULL),
				  "size", val_int(2), NULL);
	cr_expect_not(value_equal(a, d), "a different key, same value");
	cr_expect_not(value_equal(val_map("a", val_int(1), NULL), val_map("a", val_int(1), "b", val_int(2), NULL)));
	cr_expect(value_equal(val_map(NULL), val_map(NULL)));
}

/* ---- format_double ---- */

Test(value, double_integral_prints_as_integer)
{
	val_expect_double(0.0, "0");
	val_expect_double(-0.0, "0");
	val_expect_double(1.0, "1");
	val_expect_double(2.0, "2");
	val_expect_double(-3.0, "-3");
	val_expect_double(1e15, "1000000000000000");
	val_expect_double(9007199254740992.0, "9007199254740992");
}

Test(value, double_shortest_round_trip)
{
	val_expect_double(0.1, "0.1");
	val_expect_double(0.5, "0.5");
	val_expect_double(123.456, "123.456");
	val_expect_double(-123.456, "-123.456");
	val_expect_double(3.5, "3.5");
	val_expect_double(-0.25, "-0.25");
	val_expect_double(1.0 / 3.0, "0.3333333333333333");
	val_expect_double(0.1 + 0.2, "0.30000000000000004");
	val_expect_double(2.5e-3, "0.0025");
	val_expect_double(1234567.125, "1234567.125");
}

Test(value, double_never_exponent)
{
	val_expect_double(1e-7, "0.0000001");
	val_expect_double(-1e-7, "-0.0000001");
	val_expect_double(1.5e-7, "0.00000015");
	val_expect_double(1e-5, "0.00001");
	val_expect_double(1.25e-10, "0.000000000125");
	val_expect_double(1e21, "1000000000000000000000");
	val_expect_double(-1e21, "-1000000000000000000000");
	val_expect_double(1e19, "10000000000000000000");
	val_expect_double(1.5e20, "150000000000000000000");
	val_expect_double(1.2345e22, "12345000000000000000000");
}

Test(value, double_extremes_fit)
{
	char out[400];
	format_double(5e-324, out, sizeof(out));
	size_t len = strlen(out);
	cr_expect_eq(len, 2 + 323 + 1, "0. + 323 zeros + 5, got %zu bytes", len);
	cr_expect(!strncmp(out, "0.000", 5));
	cr_expect_eq(out[len - 1], '5');
	cr_expect_eq(strtod(out, NULL), 5e-324);

	format_double(-1.7976931348623157e308, out, sizeof(out));
	cr_expect_eq(strlen(out), 310, "sign + 309 digits");
	cr_expect(!strncmp(out, "-17976931348623157", 18), "%s", out);
	cr_expect_eq(strtod(out, NULL), -1.7976931348623157e308);
}

/* ---- JSON ---- */

Test(value, json_scalars)
{
	val_expect_json(value_null(&val_arena, NULL), "null");
	val_expect_json(value_bool(&val_arena, true, NULL), "true");
	val_expect_json(value_bool(&val_arena, false, NULL), "false");
	val_expect_json(val_int(-42), "-42");
	val_expect_json(val_int(INT64_MIN), "-9223372036854775808");
	val_expect_json(val_float(2.0), "2");
	val_expect_json(val_float(1e-7), "0.0000001");
	val_expect_json(val_float(0.1), "0.1");
	val_expect_json(val_str("hi"), "\"hi\"");
}

Test(value, json_empty_containers)
{
	val_expect_json(value_list(&val_arena, 0, NULL), "[]");
	val_expect_json(value_map(&val_arena, 0, NULL), "{}");
	val_expect_json(val_map("a", value_list(&val_arena, 0, NULL), "b", value_map(&val_arena, 0, NULL), NULL),
			"{\n"
			"  \"a\": [],\n"
			"  \"b\": {}\n"
			"}");
}

Test(value, json_as_jq_prints)
{
	/* printf '{"b":[1,{"x":[]},{}],"a":"t","c":{"z":null,"y":true}}' | jq -S . */
	struct value *v = val_map("b", val_list(val_int(1), val_map("x", value_list(&val_arena, 0, NULL), NULL),
						value_map(&val_arena, 0, NULL), NULL),
				  "a", val_str("t"),
				  "c", val_map("z", value_null(&val_arena, NULL), "y", value_bool(&val_arena, true, NULL), NULL),
				  NULL);
	val_expect_json(v,
			"{\n"
			"  \"a\": \"t\",\n"
			"  \"b\": [\n"
			"    1,\n"
			"    {\n"
			"      \"x\": []\n"
			"    },\n"
			"    {}\n"
			"  ],\n"
			"  \"c\": {\n"
			"    \"y\": true,\n"
			"    \"z\": null\n"
			"  }\n"
			"}");
}

Test(value, json_list_of_lists_and_no_final_newline)
{
	struct value *v = val_list(val_list(val_int(1), val_float(2.5), NULL), val_str("a\"b"), NULL);
	val_expect_json(v,
			"[\n"
			"  [\n"
			"    1,\n"
			"    2.5\n"
			"  ],\n"
			"  \"a\\\"b\"\n"
			"]");
}

Test(value, json_escapes_keys_and_strings)
{
	/* jq -S . prints control characters other than \b\f\n\r\t, and DEL,
	 * as \u00XX with lowercase hex; '/' and UTF-8 stay as they are. */
	struct value *v = val_map("k\"\n", val_str("t\x01\x7f\"\\\n\t\r\b\f/\xc3\xa9\x1f"), NULL);
	val_expect_json(v,
			"{\n"
			"  \"k\\\"\\n\": \"t\\u0001\\u007f\\\"\\\\\\n\\t\\r\\b\\f/\xc3\xa9\\u001f\"\n"
			"}");
}

Test(value, json_quote_cases)
{
	val_expect_quote("", 0, "\"\"");
	val_expect_quote(NULL, 0, "\"\"");	/* an empty string may have no bytes at all */
	val_expect_quote("plain text", 10, "\"plain text\"");
	val_expect_quote("a\0b", 3, "\"a\\u0000b\"");
	val_expect_quote("\x7f", 1, "\"\\u007f\"");
	val_expect_quote("\x1b[0m", 4, "\"\\u001b[0m\"");
	val_expect_quote("\x0b", 1, "\"\\u000b\"");
	val_expect_quote("\"\\", 2, "\"\\\"\\\\\"");
	val_expect_quote("\xe2\x82\xac 5", 5, "\"\xe2\x82\xac 5\"");
	val_expect_quote("\x80\xff", 2, "\"\x80\xff\"");
	val_expect_quote("</script>", 9, "\"</script>\"");

	/* json_quote appends. */
	struct buf b = BUF_INIT;
	buf_puts(&b, "x=");
	json_quote(&b, "y", 1);
	cr_expect_str_eq(buf_cstr(&b), "x=\"y\"");
	buf_free(&b);
}

/* The byte at a time reading of JSON's escapes, to hold json_quote's
 * sixteen at a time scan to. */
static void quote_bytewise(struct buf *out, const unsigned char *s, size_t len)
{
	buf_putc(out, '"');
	for (size_t i = 0; i < len; i++) {
		const char *esc = s[i] == '"' ? "\\\"" : s[i] == '\\' ? "\\\\" : s[i] == '\n' ? "\\n"
			: s[i] == '\t' ? "\\t" : s[i] == '\r' ? "\\r" : s[i] == '\b' ? "\\b" : s[i] == '\f' ? "\\f" : NULL;
		if (esc)
			buf_puts(out, esc);
		else if (s[i] < 0x20 || s[i] == 0x7f)
			buf_printf(out, "\\u%04x", s[i]);
		else
			buf_putc(out, (char)s[i]);
	}
	buf_putc(out, '"');
}

Test(value, json_quote_finds_every_byte_at_every_place_in_a_word)
{
	/* Every byte value at every offset of strings up to 35 bytes long
	 * (two blocks of sixteen and a tail), alone and next to a second
	 * one: a scan that missed a byte in some lane or in the tail, or took
	 * a neighbour (0x80 and up) for one, would differ. */
	unsigned char s[35];
	struct buf got = BUF_INIT, want = BUF_INIT;
	for (size_t len = 1; len <= sizeof(s); len++)
		for (size_t at = 0; at < len; at++)
			for (unsigned c = 0; c < 256; c++)
				for (unsigned second = 0; second < 3; second++) {
					memset(s, 'a', sizeof(s));
					s[at] = (unsigned char)c;
					if (second && at + 1 < len)
						s[at + 1] = second == 1 ? 0x01 : 0xff;
					buf_reset(&got);
					buf_reset(&want);
					json_quote(&got, (const char *)s, len);
					quote_bytewise(&want, s, len);
					if (strcmp(buf_cstr(&got), buf_cstr(&want))) {
						cr_expect_str_eq(buf_cstr(&got), buf_cstr(&want),
								 "byte 0x%02x at %zu of %zu (second %u)", c, at, len, second);
						goto out;
					}
				}
out:
	buf_free(&got);
	buf_free(&want);
}

Test(value, json_compact)
{
	val_expect_compact(val_list(val_int(1), val_map("a", value_bool(&val_arena, true, NULL), NULL), NULL),
			   "[1,{\"a\":true}]");
	val_expect_compact(value_list(&val_arena, 0, NULL), "[]");
	val_expect_compact(value_map(&val_arena, 0, NULL), "{}");
	val_expect_compact(val_str("a\nb"), "\"a\\nb\"");
	val_expect_compact(val_float(1e21), "1000000000000000000000");
	val_expect_compact(value_null(&val_arena, NULL), "null");
	val_expect_compact(val_map("z", val_list(val_map(NULL), value_list(&val_arena, 0, NULL), NULL),
				   "a", val_float(-0.5), "m", val_str("\x7f"), NULL),
			   "{\"a\":-0.5,\"m\":\"\\u007f\",\"z\":[{},[]]}");
}

/* ---- value_from_node ---- */

static struct node *val_load(const char *text)
{
	val_file = mem_file("v.yaml", text);
	struct node *root = load_yaml(&val_arena, &val_file, NULL);
	cr_assert_not_null(root, "did not load:\n%s", text);
	return root;
}

Test(value, from_node_scalars_and_containers)
{
	struct node *root = val_load("zeta: 'quoted'\n"
				     "alpha: [1, 2.5, true, null, \"x\"]\n"
				     "mid: {b: 2, a: 1}\n"
				     "n: ~\n");
	struct value *v = value_from_node(&val_arena, root);
	cr_assert_eq(v->kind, VAL_MAP);
	cr_expect_eq(v->origin, root);
	cr_assert_eq(v->map.len, 4);
	const char *order[] = { "alpha", "mid", "n", "zeta" };
	for (size_t i = 0; i < 4; i++)
		cr_expect_str_eq(v->map.pairs[i].key, order[i], "keys are sorted");

	struct value *z = value_map_get(v, "zeta");
	cr_assert_not_null(z);
	cr_expect_eq(z->kind, VAL_STR);
	cr_expect_str_eq(z->str.s, "quoted");
	cr_expect_eq(z->origin, node_map_get(root, "zeta"), "provenance is the node");

	struct value *l = value_map_get(v, "alpha");
	cr_assert_eq(l->kind, VAL_LIST);
	cr_assert_eq(l->list.len, 5);
	cr_expect(l->list.items[0]->kind == VAL_INT && l->list.items[0]->i == 1);
	cr_expect(l->list.items[1]->kind == VAL_FLOAT && l->list.items[1]->f == 2.5);
	cr_expect(l->list.items[2]->kind == VAL_BOOL && l->list.items[2]->b);
	cr_expect_eq(l->list.items[3]->kind, VAL_NULL);
	cr_expect(l->list.items[4]->kind == VAL_STR && !strcmp(l->list.items[4]->str.s, "x"));
	cr_expect_eq(l->list.items[1]->origin, node_map_get(root, "alpha")->seq.items[1]);

	struct value *m = value_map_get(v, "mid");
	cr_assert_eq(m->kind, VAL_MAP);
	cr_expect_str_eq(m->map.pairs[0].key, "a");
	cr_expect_eq(value_map_get(m, "b")->i, 2);
	cr_expect_eq(value_map_get(v, "n")->kind, VAL_NULL);
}

Test(value, from_node_keeps_expressions_as_text)
{
	struct node *root = val_load("a: ${var.x}\nb: '007'\n");
	struct value *v = value_from_node(&val_arena, root);
	struct value *a = value_map_get(v, "a");
	cr_assert_not_null(a);
	cr_expect_eq(a->kind, VAL_STR);
	cr_expect_str_eq(a->str.s, "${var.x}", "no expression handling");
	cr_expect_eq(value_map_get(v, "b")->kind, VAL_STR, "a quoted number stays a string");
}

Test(value, from_node_round_trips_to_json)
{
	struct node *root = val_load("b: [1, {y: 2, x: \"\\u007f\"}]\na: {}\nc: []\nd: 0.1\n");
	struct buf b = BUF_INIT;
	value_to_json(value_from_node(&val_arena, root), &b);
	cr_expect_str_eq(buf_cstr(&b),
			 "{\n"
			 "  \"a\": {},\n"
			 "  \"b\": [\n"
			 "    1,\n"
			 "    {\n"
			 "      \"x\": \"\\u007f\",\n"
			 "      \"y\": 2\n"
			 "    }\n"
			 "  ],\n"
			 "  \"c\": [],\n"
			 "  \"d\": 0.1\n"
			 "}", "got:\n%s", buf_cstr(&b));
	buf_free(&b);
}

Test(value, from_node_scalar_root)
{
	struct node *root = val_load("42\n");
	struct value *v = value_from_node(&val_arena, root);
	cr_expect(v->kind == VAL_INT && v->i == 42);
	root = val_load("");
	cr_expect_eq(value_from_node(&val_arena, root)->kind, VAL_NULL);
}

/* ---- value_map_positions ---- */

/* eval places a map node's pairs where value_map_positions says instead of
 * sorting each value: the places must be the sort's, for the insertion
 * sort of small maps and the merge sort of large ones. */
Test(value, map_positions_are_where_the_sort_puts_each_pair)
{
	const char *texts[] = {
		"b: 1\na: 2\n",
		"zz: 1\nz: 2\n\"z\\u00e9\": 3\nZ: 4\n\"\": 5\nab: 6\naa: 7\na: 8\n",
		"k19: 1\nk3: 1\nk07: 1\nlong_key_name_b: 1\nlong_key_name_a: 1\nk1: 1\nk10: 1\nk2: 1\n"
		"k11: 1\nx: 1\nm: 1\nk0: 1\nlong_key: 1\nlong_key_name: 1\n\"k1 \": 1\nk100: 1\n",
	};
	for (size_t t = 0; t < sizeof(texts) / sizeof(*texts); t++) {
		struct node *root = val_load(texts[t]);
		size_t n = root->map.len;
		uint32_t *pos = calloc(n, sizeof(*pos));
		cr_assert(value_map_positions(root, pos), "text %zu: keys are distinct", t);
		struct value *sorted = value_from_node(&val_arena, root);
		for (size_t i = 0; i < n; i++) {
			cr_assert_lt(pos[i], n);
			cr_expect_str_eq(sorted->map.pairs[pos[i]].key, root->map.pairs[i].key->str.s,
					 "text %zu: key %zu", t, i);
		}
		free(pos);
	}
}

Test(value, map_positions_refuse_equal_keys)
{
	/* The loader refuses duplicate keys; a map built elsewhere with two
	 * falls back to sorting its values. */
	struct node *root = val_load("a: 1\nb: 2\nc: 3\n");
	root->map.pairs[2].key = root->map.pairs[0].key;
	uint32_t pos[3];
	cr_expect(!value_map_positions(root, pos));
}

/* Shared parts count each time they occur, as output writes them. */
static bool val_takes(const struct value *v, size_t nodes, size_t bytes)
{
	struct value_budget left = { nodes, bytes };
	return value_take(v, &left);
}

Test(value, take_counts_shared_values_as_written_out)
{
	struct value *leaf = value_str(&val_arena, "abcd", 4, NULL);
	struct value *inner = value_list(&val_arena, 3, NULL);
	for (size_t i = 0; i < 3; i++)
		inner->list.items[i] = leaf;
	struct value *outer = value_map_room(&val_arena, 2);
	value_map_add(outer, "x", inner);
	value_map_add(outer, "y", inner);
	value_map_sort(outer);
	/* 1 map + 2 x (1 list + 3 strings) = 9 values; 2 keys + 6 x 4 bytes = 26 bytes */
	cr_expect(val_takes(outer, 9, 26));
	cr_expect_not(val_takes(outer, 8, 26));
	cr_expect_not(val_takes(outer, 9, 25));
	struct value_budget left = { 20, 100 };
	cr_assert(value_take(outer, &left));
	cr_expect_eq(left.nodes, 11);
	cr_expect_eq(left.bytes, 74);
	cr_expect(value_take(outer, &left), "a second take fits in what the first left");
	cr_expect_not(value_take(outer, &left), "a third does not: 2 values were left");
	/* A tower of shared lists, 32 wide and 6 high: a billion leaves, found
	 * out after a million. */
	struct value *v = leaf;
	for (int level = 0; level < 6; level++) {
		struct value *l = value_list(&val_arena, 32, NULL);
		for (size_t i = 0; i < 32; i++)
			l->list.items[i] = v;
		v = l;
	}
	cr_expect_not(val_takes(v, 1000000, (size_t)16 << 20));
}

/* A tree read from YAML holds nothing sensitive, and says so: the walk
 * stops at it.  Marks set on a fresh value (an output's) still count,
 * and a computed container is walked down to its plain parts. */
Test(value, has_sensitive_stops_at_trees_read_from_yaml)
{
	struct value *table = value_from_node(&val_arena, val_load("a: {b: [1, {c: x}]}\nd: 2\n"));
	cr_expect(table->plain_inside);
	cr_expect(value_map_get(table, "a")->plain_inside, "every container of the tree");
	cr_expect_not(value_has_sensitive(table));
	struct value *secret = val_str("s3cr3t");
	secret->sensitive = true;
	struct value *computed = value_list(&val_arena, 2, NULL);
	computed->list.items[0] = table;
	computed->list.items[1] = secret;
	cr_expect_not(computed->plain_inside);
	cr_expect(value_has_sensitive(computed));
	computed->list.items[1] = val_int(1);
	cr_expect_not(value_has_sensitive(computed));
	struct value *output = value_from_node(&val_arena, val_load("[1, 2]\n"));
	output->sensitive = true;
	cr_expect(value_has_sensitive(output), "a sensitive output's own mark comes first");
}
