/* collection.c - functions over lists and maps: length keys values lookup
 * contains concat distinct flatten merge coalesce element index range
 * reverse sort slice zipmap.
 *
 * Terraform 1.x is the reference, on bulkhead's dynamic values: a list may
 * mix types (Terraform's tuples), so results are never converted to a
 * common element type (distinct([1, "1"]) keeps both; coalesce(1, "a") is
 * 1).  Where Terraform converts a primitive to a string (map keys in
 * lookup and zipmap, sort), numbers and bools are converted here too.
 * Numeric arguments must be numbers: no string-to-number conversion. */
#include "builtins.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Recursion bound for nested values (flatten, hashing). */
enum { NEST_MAX = 1024, RANGE_MAX = 1024 };

static struct value *list_result(struct call_ctx *c, size_t len)
{
	if (len > call_limits(c)->nodes)
		return call_error(c, "result of %zu items exceeds the limit of %zu", len, call_limits(c)->nodes);
	return value_list(c->arena, len, NULL);
}

/* A whole number argument (an integral float is accepted). */
static bool arg_whole(struct call_ctx *c, struct value **args, size_t i, int64_t *out)
{
	if (!call_expect(c, args, i, VAL_INT))
		return false;
	const struct value *v = args[i];
	if (v->kind == VAL_INT) {
		*out = v->i;
		return true;
	}
	if (v->f == floor(v->f) && v->f >= -9223372036854775808.0 && v->f < 9223372036854775808.0) {
		*out = (int64_t)v->f;
		return true;
	}
	char num[400];
	format_double(v->f, num, sizeof(num));
	call_error(c, "argument %zu must be a whole number, not %s", i + 1, num);
	return false;
}

/* The text of a primitive as Terraform converts it to a string; NULL for
 * null, lists and maps. */
static const char *prim_text(struct arena *a, const struct value *v, size_t *len)
{
	char num[400];
	switch (v->kind) {
	case VAL_STR: *len = v->str.len; return v->str.s;
	case VAL_BOOL: *len = v->b ? 4 : 5; return v->b ? "true" : "false";
	case VAL_INT: snprintf(num, sizeof(num), "%lld", (long long)v->i); break;
	case VAL_FLOAT: format_double(v->f, num, sizeof(num)); break;
	default: return NULL;
	}
	*len = strlen(num);
	return arena_strndup(a, num, *len);
}

static int compare_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);
	if (r)
		return r;
	return alen < blen ? -1 : alen > blen;
}

/* Binary search by key bytes (keys may in principle hold NULs). */
static struct value *map_find(const struct value *map, const char *key, size_t len)
{
	size_t lo = 0, hi = map->map.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct value_pair *p = &map->map.pairs[mid];
		int r = compare_bytes(p->key, p->keylen, key, len);
		if (!r)
			return p->value;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- pairs with "later wins" (merge, zipmap) ---- */

struct seq_pair {
	struct value_pair p;
	size_t seq;
};

static int compare_seq_pairs(const void *pa, const void *pb)
{
	const struct seq_pair *a = pa, *b = pb;
	int r = compare_bytes(a->p.key, a->p.keylen, b->p.key, b->p.keylen);
	if (r)
		return r;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* A map of the n pairs in sp (filled in order); a later duplicate key
 * replaces an earlier one.  Frees sp. */
static struct value *map_from_pairs(struct call_ctx *c, struct seq_pair *sp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sp[i].seq = i;
	qsort(sp, n, sizeof(*sp), compare_seq_pairs);
	struct value *out = value_map_room(c->arena, n);
	for (size_t i = 0; i < n; i++) {
		bool replaced = i + 1 < n && !compare_bytes(sp[i].p.key, sp[i].p.keylen,
							    sp[i + 1].p.key, sp[i + 1].p.keylen);
		if (!replaced)
			out->map.pairs[out->map.len++] = sp[i].p;
	}
	free(sp);
	return out;
}

/* ---- hashing for distinct ---- */

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* Equal values (value_equal) hash equally: numbers hash as doubles. */
static uint64_t hash_value(const struct value *v, unsigned depth)
{
	uint64_t h = v->kind == VAL_FLOAT ? VAL_INT : v->kind, bits;
	double d;
	if (depth > NEST_MAX)
		return h;
	switch (v->kind) {
	case VAL_BOOL: return mix(h, v->b);
	case VAL_INT:
	case VAL_FLOAT:
		d = v->kind == VAL_INT ? (double)v->i : v->f;
		d = d == 0 ? 0 : d;
		memcpy(&bits, &d, sizeof(bits));
		return mix(h, bits);
	case VAL_STR: return mix(h, hash_bytes(v->str.s, v->str.len));
	case VAL_LIST:
		for (size_t i = 0; i < v->list.len; i++)
			h = mix(h, hash_value(v->list.items[i], depth + 1));
		return mix(h, v->list.len);
	case VAL_MAP:
		for (size_t i = 0; i < v->map.len; i++) {
			h = mix(h, hash_bytes(v->map.pairs[i].key, v->map.pairs[i].keylen));
			h = mix(h, hash_value(v->map.pairs[i].value, depth + 1));
		}
		return mix(h, v->map.len);
	default: return h;
	}
}

/* ---- the functions ---- */

static struct value *fn_length(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	const struct value *v = args[0];
	switch (v->kind) {
	case VAL_STR: return value_int(c->arena, (int64_t)utf8_length(v->str.s, v->str.len), NULL);
	case VAL_LIST: return value_int(c->arena, (int64_t)v->list.len, NULL);
	case VAL_MAP: return value_int(c->arena, (int64_t)v->map.len, NULL);
	default:
		return call_error(c, "argument must be a string, list or map, not %s", value_kind_phrase(v));
	}
}

static struct value *fn_keys(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!call_expect(c, args, 0, VAL_MAP))
		return NULL;
	const struct value *m = args[0];
	struct value *out = value_list(c->arena, m->map.len, NULL);
	for (size_t i = 0; i < m->map.len; i++)
		out->list.items[i] = value_str(c->arena, m->map.pairs[i].key, m->map.pairs[i].keylen, NULL);
	return out;
}

static struct value *fn_values(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!call_expect(c, args, 0, VAL_MAP))
		return NULL;
	const struct value *m = args[0];
	struct value *out = value_list(c->arena, m->map.len, NULL);
	for (size_t i = 0; i < m->map.len; i++)
		out->list.items[i] = m->map.pairs[i].value;
	return out;
}

static struct value *fn_lookup(struct call_ctx *c, struct value **args, size_t n)
{
	size_t len;
	if (!call_expect(c, args, 0, VAL_MAP))
		return NULL;
	const char *key = prim_text(c->arena, args[1], &len);
	if (!key)
		return call_error(c, "argument 2 must be a string, not %s", value_kind_phrase(args[1]));
	struct value *v = map_find(args[0], key, len);
	if (v)
		return v;
	if (n > 2)
		return args[2];
	return call_error(c, "no key '%.*s' in the map (a third argument gives a default)", call_clip(key, len), key);
}

static struct value *fn_contains(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!call_expect(c, args, 0, VAL_LIST))
		return NULL;
	for (size_t i = 0; i < args[0]->list.len; i++)
		if (value_equal(args[0]->list.items[i], args[1]))
			return value_bool(c->arena, true, NULL);
	return value_bool(c->arena, false, NULL);
}

static struct value *fn_concat(struct call_ctx *c, struct value **args, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (!call_expect(c, args, i, VAL_LIST))
			return NULL;
		total += args[i]->list.len;
	}
	struct value *out = list_result(c, total);
	if (!out)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < args[i]->list.len; j++)
			out->list.items[k++] = args[i]->list.items[j];
	return out;
}

/* Keeps the first of equal items; a hash set of indexes + 1 into items. */
static struct value *fn_distinct(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!call_expect(c, args, 0, VAL_LIST))
		return NULL;
	struct value **items = args[0]->list.items;
	size_t len = args[0]->list.len, cap = 16, kept = 0;
	while (cap < 2 * len)
		cap *= 2;
	size_t *slots = xcalloc(cap, sizeof(*slots));
	struct value *out = value_list(c->arena, len, NULL);
	for (size_t i = 0; i < len; i++) {
		size_t s = hash_value(items[i], 0) & (cap - 1);
		while (slots[s] && !value_equal(items[slots[s] - 1], items[i]))
			s = (s + 1) & (cap - 1);
		if (slots[s])
			continue;
		slots[s] = i + 1;
		out->list.items[kept++] = items[i];
	}
	free(slots);
	out->list.len = kept;
	return out;
}

/* Counts the leaves of nested lists into *count; false after an error. */
static bool flatten_count(struct call_ctx *c, const struct value *list, unsigned depth, size_t *count)
{
	if (depth > NEST_MAX) {
		call_error(c, "lists nested deeper than %d levels", NEST_MAX);
		return false;
	}
	for (size_t i = 0; i < list->list.len; i++) {
		const struct value *v = list->list.items[i];
		if (v->kind != VAL_LIST)
			(*count)++;
		else if (!flatten_count(c, v, depth + 1, count))
			return false;
	}
	return true;
}

static void flatten_fill(const struct value *list, struct value *out, size_t *k)
{
	for (size_t i = 0; i < list->list.len; i++) {
		struct value *v = list->list.items[i];
		if (v->kind == VAL_LIST)
			flatten_fill(v, out, k);
		else
			out->list.items[(*k)++] = v;
	}
}

static struct value *fn_flatten(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	size_t count = 0, k = 0;
	if (!call_expect(c, args, 0, VAL_LIST) || !flatten_count(c, args[0], 0, &count))
		return NULL;
	struct value *out = list_result(c, count);
	if (out)
		flatten_fill(args[0], out, &k);
	return out;
}

/* Later maps win; null arguments are skipped, as in Terraform. */
static struct value *fn_merge(struct call_ctx *c, struct value **args, size_t n)
{
	size_t total = 0, k = 0;
	for (size_t i = 0; i < n; i++) {
		if (args[i]->kind == VAL_NULL)
			continue;
		if (!call_expect(c, args, i, VAL_MAP))
			return NULL;
		total += args[i]->map.len;
	}
	struct seq_pair *sp = xcalloc(total ? total : 1, sizeof(*sp));
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; args[i]->kind == VAL_MAP && j < args[i]->map.len; j++)
			sp[k++].p = args[i]->map.pairs[j];
	return map_from_pairs(c, sp, total);
}

static struct value *fn_coalesce(struct call_ctx *c, struct value **args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct value *v = args[i];
		if (v->kind != VAL_NULL && !(v->kind == VAL_STR && !v->str.len))
			return args[i];
	}
	return call_error(c, "no non-null, non-empty-string arguments");
}

static struct value *fn_element(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	int64_t idx;
	if (!call_expect(c, args, 0, VAL_LIST) || !arg_whole(c, args, 1, &idx))
		return NULL;
	if (!args[0]->list.len)
		return call_error(c, "cannot take an element of an empty list");
	if (idx < 0)
		return call_error(c, "index %lld must not be negative", (long long)idx);
	return args[0]->list.items[(uint64_t)idx % args[0]->list.len];
}

static struct value *fn_index(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!call_expect(c, args, 0, VAL_LIST))
		return NULL;
	for (size_t i = 0; i < args[0]->list.len; i++)
		if (value_equal(args[0]->list.items[i], args[1]))
			return value_int(c->arena, (int64_t)i, NULL);
	return call_error(c, "item not found in the list");
}

/* ---- range ---- */

static double num_of(const struct value *v)
{
	return v->kind == VAL_INT ? (double)v->i : v->f;
}

/* Rounds away the error that start + i * step accumulates (0.1 * 3). */
static double tidy(double d)
{
	char g[40];
	snprintf(g, sizeof(g), "%.15g", d);
	return strtod(g, NULL);
}

static struct value *range_error(struct call_ctx *c)
{
	return call_error(c, "more than %d values were generated; reduce the distance between "
			     "start and limit or use a larger step", RANGE_MAX);
}

/* Exact integers: the count is computed up front, without overflow. */
static struct value *range_ints(struct call_ctx *c, int64_t start, int64_t limit, int64_t step)
{
	bool up = step > 0;
	uint64_t dist = up ? (uint64_t)limit - (uint64_t)start : (uint64_t)start - (uint64_t)limit;
	uint64_t by = up ? (uint64_t)step : 0 - (uint64_t)step;
	if ((up && limit <= start) || (!up && limit >= start))
		dist = 0;
	uint64_t count = dist / by + (dist % by != 0);
	if (count > RANGE_MAX)
		return range_error(c);
	struct value *out = value_list(c->arena, (size_t)count, NULL);
	for (uint64_t i = 0; i < count; i++)
		out->list.items[i] = value_int(c->arena, (int64_t)((uint64_t)start + i * (uint64_t)step), NULL);
	return out;
}

static struct value *range_doubles(struct call_ctx *c, double start, double limit, double step)
{
	double vals[RANGE_MAX];
	size_t count = 0;
	for (;;) {
		double v = tidy(start + (double)count * step);
		if (step > 0 ? !(v < limit) : !(v > limit))
			break;
		if (count == RANGE_MAX)
			return range_error(c);
		vals[count++] = v;
	}
	struct value *out = value_list(c->arena, count, NULL);
	for (size_t i = 0; i < count; i++)
		if (!(out->list.items[i] = number_value(c, vals[i])))
			return NULL;
	return out;
}

/* range(limit), range(start, limit) or range(start, limit, step); without
 * a step it counts by 1 towards the limit, or by -1 when that is below. */
static struct value *fn_range(struct call_ctx *c, struct value **args, size_t n)
{
	bool ints = true;
	for (size_t i = 0; i < n; i++) {
		if (!call_expect(c, args, i, VAL_INT))
			return NULL;
		ints &= args[i]->kind == VAL_INT;
	}
	struct value *zero = value_int(c->arena, 0, NULL);
	struct value *start = n > 1 ? args[0] : zero, *limit = n > 1 ? args[1] : args[0];
	double s = num_of(start), l = num_of(limit), step = n > 2 ? num_of(args[2]) : l < s ? -1 : 1;
	if (step == 0)
		return call_error(c, "step must not be zero");
	if (step < 0 && l > s)
		return call_error(c, "limit must not be greater than start when step is negative");
	if (step > 0 && l < s)
		return call_error(c, "limit must not be less than start when step is positive");
	if (ints)
		return range_ints(c, start->i, limit->i, n > 2 ? args[2]->i : (int64_t)step);
	return range_doubles(c, s, l, step);
}

static struct value *fn_reverse(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!call_expect(c, args, 0, VAL_LIST))
		return NULL;
	size_t len = args[0]->list.len;
	struct value *out = value_list(c->arena, len, NULL);
	for (size_t i = 0; i < len; i++)
		out->list.items[i] = args[0]->list.items[len - 1 - i];
	return out;
}

static int compare_str_values(const void *pa, const void *pb)
{
	const struct value *a = *(const struct value *const *)pa;
	const struct value *b = *(const struct value *const *)pb;
	return compare_bytes(a->str.s, a->str.len, b->str.s, b->str.len);
}

/* Strings sorted bytewise; numbers and bools are sorted as their text. */
static struct value *fn_sort(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!call_expect(c, args, 0, VAL_LIST))
		return NULL;
	size_t len = args[0]->list.len, tlen;
	struct value *out = value_list(c->arena, len, NULL);
	for (size_t i = 0; i < len; i++) {
		struct value *v = args[0]->list.items[i];
		const char *text = prim_text(c->arena, v, &tlen);
		if (!text)
			return call_error(c, "element at index %zu must be a string, not %s", i, value_kind_phrase(v));
		out->list.items[i] = v->kind == VAL_STR ? v : value_str(c->arena, text, tlen, NULL);
	}
	qsort(out->list.items, len, sizeof(*out->list.items), compare_str_values);
	return out;
}

static struct value *fn_slice(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	int64_t start, end;
	if (!call_expect(c, args, 0, VAL_LIST) || !arg_whole(c, args, 1, &start) ||
	    !arg_whole(c, args, 2, &end))
		return NULL;
	size_t len = args[0]->list.len;
	if (start < 0)
		return call_error(c, "start index %lld must not be negative", (long long)start);
	if (end < 0 || (uint64_t)end > len)
		return call_error(c, "end index %lld is outside the list of %zu items", (long long)end, len);
	if (start > end)
		return call_error(c, "start index %lld is greater than end index %lld", (long long)start,
				  (long long)end);
	struct value *out = value_list(c->arena, (size_t)(end - start), NULL);
	for (int64_t i = start; i < end; i++)
		out->list.items[i - start] = args[0]->list.items[i];
	return out;
}

/* A later duplicate key wins, as in Terraform. */
static struct value *fn_zipmap(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!call_expect(c, args, 0, VAL_LIST) || !call_expect(c, args, 1, VAL_LIST))
		return NULL;
	size_t len = args[0]->list.len;
	if (len != args[1]->list.len)
		return call_error(c, "number of keys (%zu) does not match number of values (%zu)", len,
				  args[1]->list.len);
	struct seq_pair *sp = xcalloc(len ? len : 1, sizeof(*sp));
	for (size_t i = 0; i < len; i++) {
		const struct value *k = args[0]->list.items[i];
		sp[i].p.key = prim_text(c->arena, k, &sp[i].p.keylen);
		sp[i].p.value = args[1]->list.items[i];
		if (!sp[i].p.key) {
			free(sp);
			return call_error(c, "key at index %zu must be a string, not %s", i, value_kind_phrase(k));
		}
	}
	return map_from_pairs(c, sp, len);
}

const struct builtin stdlib_collection[] = {
	{ "coalesce", 1, -1, fn_coalesce },
	{ "concat", 1, -1, fn_concat },
	{ "contains", 2, 2, fn_contains },
	{ "distinct", 1, 1, fn_distinct },
	{ "element", 2, 2, fn_element },
	{ "flatten", 1, 1, fn_flatten },
	{ "index", 2, 2, fn_index },
	{ "keys", 1, 1, fn_keys },
	{ "length", 1, 1, fn_length },
	{ "lookup", 2, 3, fn_lookup },
	{ "merge", 0, -1, fn_merge },
	{ "range", 1, 3, fn_range },
	{ "reverse", 1, 1, fn_reverse },
	{ "slice", 3, 3, fn_slice },
	{ "sort", 1, 1, fn_sort },
	{ "values", 1, 1, fn_values },
	{ "zipmap", 2, 2, fn_zipmap },
	{ NULL, 0, 0, NULL },
};
