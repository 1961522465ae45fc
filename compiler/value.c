/* value.c - constructors, ordering, equality and JSON text of values. */
#include "value.h"
#include "bytescan.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct value *make(struct arena *a, enum value_kind k, const struct node *origin)
{
	struct value *v = ARENA_NEW(a, struct value);
	v->kind = k;
	value_set_origin(v, origin);
	return v;
}

struct value *value_null(struct arena *a, const struct node *origin)
{
	return make(a, VAL_NULL, origin);
}

struct value *value_bool(struct arena *a, bool b, const struct node *origin)
{
	struct value *v = make(a, VAL_BOOL, origin);
	v->b = b;
	return v;
}

struct value *value_int(struct arena *a, int64_t i, const struct node *origin)
{
	struct value *v = make(a, VAL_INT, origin);
	v->i = i;
	return v;
}

struct value *value_float(struct arena *a, double f, const struct node *origin)
{
	struct value *v = make(a, VAL_FLOAT, origin);
	v->f = f;
	return v;
}

struct value *value_str(struct arena *a, const char *s, size_t len, const struct node *origin)
{
	struct value *v = make(a, VAL_STR, origin);
	v->str.s = s;
	v->str.len = len;
	return v;
}

struct value *value_list(struct arena *a, size_t len, const struct node *origin)
{
	struct value *v = make(a, VAL_LIST, origin);
	v->list.len = len;
	v->list.items = ARENA_ARRAY(a, struct value *, len);
	return v;
}

struct value *value_map(struct arena *a, size_t len, const struct node *origin)
{
	struct value *v = make(a, VAL_MAP, origin);
	v->map.len = len;
	v->map.pairs = ARENA_ARRAY(a, struct value_pair, len);
	return v;
}

struct value *value_cstr(struct arena *a, const char *s)
{
	return value_str(a, s, strlen(s), NULL);
}

struct value *value_map_room(struct arena *a, size_t cap)
{
	struct value *v = value_map(a, cap, NULL);
	v->map.len = 0;
	return v;
}

void value_map_add(struct value *map, const char *key, struct value *v)
{
	map->map.pairs[map->map.len++] = (struct value_pair){ key, strlen(key), v };
}

struct value *value_from_node(struct arena *a, const struct node *n)
{
	struct value *v;
	switch (n->kind) {
	case NODE_NULL: return value_null(a, n);
	case NODE_BOOL: return value_bool(a, node_bool(n), n);
	case NODE_INT: return value_int(a, node_int(n), n);
	case NODE_FLOAT: return value_float(a, node_float(n), n);
	case NODE_STR: return value_str(a, n->str.s, n->str.len, n);
	case NODE_SEQ:
		v = value_list(a, n->seq.len, n);
		v->plain_inside = true;
		for (size_t i = 0; i < n->seq.len; i++)
			v->list.items[i] = value_from_node(a, n->seq.items[i]);
		return v;
	default:
		v = value_map(a, n->map.len, n);
		v->plain_inside = true;
		for (size_t i = 0; i < n->map.len; i++)
			v->map.pairs[i] = (struct value_pair){ n->map.pairs[i].key->str.s,
				n->map.pairs[i].key->str.len, value_from_node(a, n->map.pairs[i].value) };
		value_map_sort(v);
		return v;
	}
}

static int compare_keys(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int compare_pairs(const void *pa, const void *pb)
{
	const struct value_pair *a = pa, *b = pb;
	return compare_keys(a->key, a->keylen, b->key, b->keylen);
}

/* A key's first eight bytes, big-endian and zero-padded: two prefixes
 * that differ order their keys as compare_keys does, so most comparisons
 * are one integer compare. */
struct sort_slot {
	uint64_t prefix;
	struct value_pair pair;
};

static uint64_t key_prefix(const char *key, size_t len)
{
	uint64_t p = 0;
	for (size_t i = 0; i < 8; i++)
		p = p << 8 | (i < len ? (unsigned char)key[i] : 0);
	return p;
}

static bool slot_before(const struct sort_slot *a, const struct sort_slot *b)
{
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix;
	return compare_pairs(&a->pair, &b->pair) < 0;
}

/* Stable: equal keys keep their order, so a duplicate is reported at
 * its second occurrence whatever the map's size. */
static void merge_runs(const struct sort_slot *from, struct sort_slot *to, size_t n, size_t width)
{
	for (size_t lo = 0; lo < n; lo += 2 * width) {
		size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
		size_t i = lo, k = mid, o = lo;
		while (i < mid && k < hi)
			to[o++] = slot_before(&from[k], &from[i]) ? from[k++] : from[i++];
		while (i < mid)
			to[o++] = from[i++];
		while (k < hi)
			to[o++] = from[k++];
	}
}

/* Maps of a large compilation are mostly inputs of 20 to 60 keys: glibc's
 * qsort, with a call and a memcmp per comparison and a malloc per sort,
 * was a twentieth of a drift. */
static void sort_pairs(struct value_pair *v, size_t n)
{
	enum { RUN = 8, ON_STACK = 128 };
	struct sort_slot stack[2 * ON_STACK];
	struct sort_slot *a = n <= ON_STACK ? stack : xmalloc(2 * n * sizeof(*a)), *b = a + n;
	for (size_t i = 0; i < n; i++)
		a[i] = (struct sort_slot){ key_prefix(v[i].key, v[i].keylen), v[i] };
	for (size_t lo = 0; lo < n; lo += RUN)
		for (size_t i = lo + 1; i < n && i < lo + RUN; i++)
			for (size_t k = i; k > lo && slot_before(&a[k], &a[k - 1]); k--) {
				struct sort_slot t = a[k];
				a[k] = a[k - 1];
				a[k - 1] = t;
			}
	for (size_t width = RUN; width < n; width *= 2) {
		merge_runs(a, b, n, width);
		struct sort_slot *t = a;
		a = b;
		b = t;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = a[i].pair;
	if (n > ON_STACK)
		free(a < b ? a : b);
}

long value_map_sort(struct value *map)
{
	struct value_pair *v = map->map.pairs;
	if (map->map.len <= 8) {
		/* Small maps (most of them) sort faster by insertion. */
		for (size_t i = 1; i < map->map.len; i++)
			for (size_t k = i; k > 0 && compare_pairs(&v[k - 1], &v[k]) > 0; k--) {
				struct value_pair t = v[k];
				v[k] = v[k - 1];
				v[k - 1] = t;
			}
	} else {
		sort_pairs(v, map->map.len);
	}
	for (size_t i = 1; i < map->map.len; i++)
		if (!compare_pairs(&map->map.pairs[i - 1], &map->map.pairs[i]))
			return (long)i;
	return -1;
}

/* The pairs are sorted by value_map_sort itself, each pointing at its
 * own mark, so the order is exactly the one it gives the values. */
bool value_map_positions(const struct node *map, uint32_t *pos)
{
	size_t n = map->map.len;
	struct value_pair *pairs = xmalloc((n ? n : 1) * sizeof(*pairs));
	struct value *marks = xmalloc((n ? n : 1) * sizeof(*marks));
	for (size_t i = 0; i < n; i++)
		pairs[i] = (struct value_pair){ map->map.pairs[i].key->str.s, map->map.pairs[i].key->str.len, &marks[i] };
	bool distinct = value_map_sort(&(struct value){ .kind = VAL_MAP, .map = { pairs, n } }) < 0;
	for (size_t i = 0; i < n; i++)
		pos[pairs[i].value - marks] = (uint32_t)i;
	free(marks);
	free(pairs);
	return distinct;
}

struct value *value_map_get(const struct value *map, const char *key)
{
	if (!map || map->kind != VAL_MAP)
		return NULL;
	size_t lo = 0, hi = map->map.len, klen = strlen(key);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct value_pair *p = &map->map.pairs[mid];
		int c = compare_keys(p->key, p->keylen, key, klen);
		if (!c)
			return p->value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool value_take(const struct value *v, struct value_budget *left)
{
	if (!left->nodes--)
		return false;
	switch (v->kind) {
	case VAL_STR:
		if (v->str.len > left->bytes)
			return false;
		left->bytes -= v->str.len;
		return true;
	case VAL_LIST:
		for (size_t i = 0; i < v->list.len; i++)
			if (!value_take(v->list.items[i], left))
				return false;
		return true;
	case VAL_MAP:
		for (size_t i = 0; i < v->map.len; i++) {
			if (v->map.pairs[i].keylen > left->bytes)
				return false;
			left->bytes -= v->map.pairs[i].keylen;
			if (!value_take(v->map.pairs[i].value, left))
				return false;
		}
		return true;
	default:
		return true;
	}
}

bool value_has_sensitive(const struct value *v)
{
	if (v->sensitive)
		return true;
	if (v->plain_inside)
		return false;
	if (v->kind == VAL_LIST)
		for (size_t i = 0; i < v->list.len; i++)
			if (value_has_sensitive(v->list.items[i]))
				return true;
	if (v->kind == VAL_MAP)
		for (size_t i = 0; i < v->map.len; i++)
			if (value_has_sensitive(v->map.pairs[i].value))
				return true;
	return false;
}

/* One pass over the key, which policy and drift ask of every leaf: a
 * match can only start at a 'p', 's' or 't' with room for five more
 * bytes, and its second letter decides almost every candidate. */
bool key_is_secret(const char *key)
{
	static const struct {
		const char *word;
		size_t len;
	} words[] = { { "password", 8 }, { "private_key", 11 }, { "secret", 6 }, { "token", 5 } };
	size_t len = strlen(key);
	for (size_t i = 0; i + 5 <= len; i++) {
		size_t first, last;
		switch (key[i] | 0x20) {
		case 'p': first = 0, last = 2; break;
		case 's': first = 2, last = 3; break;
		case 't': first = 3, last = 4; break;
		default: continue;
		}
		for (size_t w = first; w < last; w++)
			if ((key[i + 1] | 0x20) == words[w].word[1] && i + words[w].len <= len &&
			    !strncasecmp(key + i, words[w].word, words[w].len))
				return true;
	}
	return false;
}

/* The characters of a key written bare in a key path (ASCII, whatever
 * the locale). */
static bool plain_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

void key_path_push(struct buf *path, const char *key, size_t len)
{
	bool plain = len > 0;
	for (size_t i = 0; i < len && plain; i++)
		plain = plain_key_char(key[i]);
	buf_putc(path, '.');
	if (plain)
		buf_add(path, key, len);
	else
		json_quote(path, key, len);
}

void key_path_of(const struct key_frame *k, struct buf *path)
{
	if (!k) {
		buf_puts(path, "inputs");
		return;
	}
	key_path_of(k->up, path);
	key_path_push(path, k->key, k->len);
}

bool key_frames_secret(const struct key_frame *k)
{
	for (; k; k = k->up)
		if (key_is_secret(k->key))
			return true;
	return false;
}

const char *value_kind_name(enum value_kind k)
{
	static const char *names[] = { "null", "bool", "number", "number", "string", "list", "map" };
	return names[k];
}

static bool numbers_equal(const struct value *a, const struct value *b)
{
	if (a->kind == VAL_INT && b->kind == VAL_INT)
		return a->i == b->i;
	if (a->kind != b->kind) {
		/* Exactly: 2^53 + 1 and 2^53.0 print differently in tfvars. */
		const struct value *i = a->kind == VAL_INT ? a : b, *f = a->kind == VAL_INT ? b : a;
		return f->f == floor(f->f) && f->f >= -9223372036854775808.0 && f->f < 9223372036854775808.0 &&
		       (int64_t)f->f == i->i;
	}
	double x = a->kind == VAL_INT ? (double)a->i : a->f;
	double y = b->kind == VAL_INT ? (double)b->i : b->f;
	return x == y;
}

bool value_equal(const struct value *a, const struct value *b)
{
	bool an = a->kind == VAL_INT || a->kind == VAL_FLOAT;
	bool bn = b->kind == VAL_INT || b->kind == VAL_FLOAT;
	if (an && bn)
		return numbers_equal(a, b);
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case VAL_NULL: return true;
	case VAL_BOOL: return a->b == b->b;
	case VAL_STR: return a->str.len == b->str.len && !memcmp(a->str.s, b->str.s, a->str.len);
	case VAL_LIST:
		if (a->list.len != b->list.len)
			return false;
		for (size_t i = 0; i < a->list.len; i++)
			if (!value_equal(a->list.items[i], b->list.items[i]))
				return false;
		return true;
	case VAL_MAP:
		if (a->map.len != b->map.len)
			return false;
		for (size_t i = 0; i < a->map.len; i++)
			if (compare_pairs(&a->map.pairs[i], &b->map.pairs[i]) ||
			    !value_equal(a->map.pairs[i].value, b->map.pairs[i].value))
				return false;
		return true;
	default: return false;
	}
}

/* Rewrites "1.5e-07" style output of %.*g as plain decimal digits. */
static void expand_exponent(const char *g, char *out, size_t size)
{
	char digits[40];
	size_t nd = 0;
	const char *p = g;
	bool neg = *p == '-';
	if (neg)
		p++;
	int point = -1;
	for (; *p && *p != 'e'; p++) {
		if (*p == '.')
			point = (int)nd;
		else
			digits[nd++] = *p;
	}
	if (point < 0)
		point = (int)nd;
	int exp = atoi(p + 1);
	point += exp;	/* position of the decimal point within digits */
	char *o = out, *end = out + size - 1;
	if (neg && o < end)
		*o++ = '-';
	if (point <= 0) {
		if (o < end) *o++ = '0';
		if (o < end) *o++ = '.';
		for (int i = 0; i < -point && o < end; i++)
			*o++ = '0';
		for (size_t i = 0; i < nd && o < end; i++)
			*o++ = digits[i];
	} else {
		for (int i = 0; i < point && o < end; i++)
			*o++ = i < (int)nd ? digits[i] : '0';
		if ((size_t)point < nd) {
			if (o < end) *o++ = '.';
			for (size_t i = (size_t)point; i < nd && o < end; i++)
				*o++ = digits[i];
		}
	}
	*o = '\0';
}

void format_double(double d, char *out, size_t size)
{
	if (d == 0) {
		snprintf(out, size, "0");
		return;
	}
	if (d == floor(d) && fabs(d) < 9.2e18) {
		snprintf(out, size, "%lld", (long long)d);
		return;
	}
	char g[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(g, sizeof(g), "%.*g", prec, d);
		if (strtod(g, NULL) == d)
			break;
	}
	if (strchr(g, 'e'))
		expand_exponent(g, out, size);
	else
		snprintf(out, size, "%s", g);
}

/* Bytes JSON text spells with an escape: controls, '"', '\\' and DEL
 * (bytes16_json_escape for sixteen at once). */
#define ESC8(c) [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1, [c + 4] = 1, [c + 5] = 1, [c + 6] = 1, [c + 7] = 1
static const unsigned char json_escapes[256] = {
	ESC8(0x00), ESC8(0x08), ESC8(0x10), ESC8(0x18), ['"'] = 1, ['\\'] = 1, [0x7f] = 1,
};
#undef ESC8

/* The length of the run of bytes at s[0..len) that need no escape:
 * sixteen at a time, then byte by byte through a table.  Every key and
 * string of every tfvars file and manifest comes through here. */
static size_t plain_run(const char *s, size_t len)
{
	size_t i = 0;
	for (; i + 16 <= len; i += 16)
		if (mask16_any(bytes16_json_escape(bytes16_load(s + i))))
			break;
	while (i < len && !json_escapes[(unsigned char)s[i]])
		i++;
	return i;
}

/* The plain string, as most are, in one copy. */
static void quote_plain(struct buf *out, const char *s, size_t len)
{
	buf_grow(out, len + 2);
	char *d = out->data + out->len;
	d[0] = '"';
	if (len)
		memcpy(d + 1, s, len);
	d[len + 1] = '"';
	d[len + 2] = '\0';
	out->len += len + 2;
}

void json_quote(struct buf *out, const char *s, size_t len)
{
	size_t i = plain_run(s, len);
	if (i == len) {
		quote_plain(out, s, len);
		return;
	}
	buf_grow(out, len + 2);
	buf_putc(out, '"');
	buf_add(out, s, i);
	while (i < len) {
		unsigned char c = (unsigned char)s[i++];
		switch (c) {
		case '"': buf_puts(out, "\\\""); break;
		case '\\': buf_puts(out, "\\\\"); break;
		case '\n': buf_puts(out, "\\n"); break;
		case '\t': buf_puts(out, "\\t"); break;
		case '\r': buf_puts(out, "\\r"); break;
		case '\b': buf_puts(out, "\\b"); break;
		case '\f': buf_puts(out, "\\f"); break;
		default: buf_printf(out, "\\u%04x", c);
		}
		size_t run = plain_run(s + i, len - i);
		buf_add(out, s + i, run);
		i += run;
	}
	buf_putc(out, '"');
}

/* A line break and the indent, on every line of every tfvars file: a
 * run of spaces of a fixed size is copied (no call; sixteen bytes serve
 * depths up to 7) and the length set to what the depth needs. */
void json_indent(struct buf *out, int depth)
{
	static const char spaces[] = "\n                                                                ";
	size_t want = 1 + 2 * (size_t)depth;
	if (want < sizeof(spaces)) {
		buf_grow(out, sizeof(spaces));
		if (want <= 16)
			memcpy(out->data + out->len, spaces, 16);
		else
			memcpy(out->data + out->len, spaces, sizeof(spaces));
		out->len += want;
		out->data[out->len] = '\0';
		return;
	}
	buf_putc(out, '\n');
	for (int i = 0; i < depth; i++)
		buf_add(out, "  ", 2);
}

static void to_json(const struct value *v, struct buf *out, int depth, const struct json_hole *hole)
{
	char num[400];
	if (hole && v == hole->at) {
		hole->fill(hole->ctx, out, depth);
		return;
	}
	switch (v->kind) {
	case VAL_NULL: buf_puts(out, "null"); break;
	case VAL_BOOL: buf_puts(out, v->b ? "true" : "false"); break;
	case VAL_INT: buf_add_int(out, v->i); break;
	case VAL_FLOAT:
		format_double(v->f, num, sizeof(num));
		buf_puts(out, num);
		break;
	case VAL_STR: json_quote(out, v->str.s, v->str.len); break;
	case VAL_LIST:
		if (!v->list.len) {
			buf_puts(out, "[]");
			break;
		}
		buf_putc(out, '[');
		for (size_t i = 0; i < v->list.len; i++) {
			json_indent(out, depth + 1);
			to_json(v->list.items[i], out, depth + 1, hole);
			if (i + 1 < v->list.len)
				buf_putc(out, ',');
		}
		json_indent(out, depth);
		buf_putc(out, ']');
		break;
	case VAL_MAP:
		if (!v->map.len) {
			buf_puts(out, "{}");
			break;
		}
		buf_putc(out, '{');
		for (size_t i = 0; i < v->map.len; i++) {
			json_indent(out, depth + 1);
			json_quote(out, v->map.pairs[i].key, v->map.pairs[i].keylen);
			buf_puts(out, ": ");
			to_json(v->map.pairs[i].value, out, depth + 1, hole);
			if (i + 1 < v->map.len)
				buf_putc(out, ',');
		}
		json_indent(out, depth);
		buf_putc(out, '}');
		break;
	}
}

void value_to_json(const struct value *v, struct buf *out)
{
	to_json(v, out, 0, NULL);
}

void value_to_json_at(const struct value *v, struct buf *out, int depth)
{
	to_json(v, out, depth, NULL);
}

void value_to_json_holed(const struct value *v, struct buf *out, const struct json_hole *hole)
{
	to_json(v, out, 0, hole);
}

void value_to_json_compact(const struct value *v, struct buf *out)
{
	if (v->kind == VAL_LIST) {
		buf_putc(out, '[');
		for (size_t i = 0; i < v->list.len; i++) {
			if (i)
				buf_putc(out, ',');
			value_to_json_compact(v->list.items[i], out);
		}
		buf_putc(out, ']');
	} else if (v->kind == VAL_MAP) {
		buf_putc(out, '{');
		for (size_t i = 0; i < v->map.len; i++) {
			if (i)
				buf_putc(out, ',');
			json_quote(out, v->map.pairs[i].key, v->map.pairs[i].keylen);
			buf_putc(out, ':');
			value_to_json_compact(v->map.pairs[i].value, out);
		}
		buf_putc(out, '}');
	} else {
		to_json(v, out, 0, NULL);
	}
}

void value_to_json_compact_redacted(const struct value *v, bool secret, struct buf *out)
{
	if (v->sensitive || (secret && v->kind == VAL_STR)) {
		buf_puts(out, "\"(sensitive)\"");
	} else if (v->kind == VAL_LIST) {
		buf_putc(out, '[');
		for (size_t i = 0; i < v->list.len; i++) {
			if (i)
				buf_putc(out, ',');
			value_to_json_compact_redacted(v->list.items[i], secret, out);
		}
		buf_putc(out, ']');
	} else if (v->kind == VAL_MAP) {
		buf_putc(out, '{');
		for (size_t i = 0; i < v->map.len; i++) {
			if (i)
				buf_putc(out, ',');
			json_quote(out, v->map.pairs[i].key, v->map.pairs[i].keylen);
			buf_putc(out, ':');
			value_to_json_compact_redacted(v->map.pairs[i].value,
						       secret || key_is_secret(v->map.pairs[i].key), out);
		}
		buf_putc(out, '}');
	} else {
		to_json(v, out, 0, NULL);
	}
}
