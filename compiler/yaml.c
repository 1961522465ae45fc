/* yaml.c - strict YAML loader over libyaml's event parser.
 *
 * The tree is built with an explicit stack (no recursion), so nesting depth
 * is bounded by the limit rather than by the C stack.  Aliases share the
 * anchored node; each node's expanded size (nodes, and bytes of scalar
 * text) is tracked so an alias bomb is refused as soon as the expansion
 * passes the node limit, or the string limit in bytes: one 64 KiB scalar
 * aliased 15,000 times is few nodes but a gigabyte of text in every
 * output and cache that writes the tree out. */
#include "yaml.h"
#include "bytescan.h"
#include "map.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

const struct limits limits_default = {
	.file_size = 1u << 20,
	.depth = 64,
	.scalar_size = 64u << 10,
	.nodes = 1000000,
	.include_depth = 32,
	.expr_depth = 128,
	.string_size = 16u << 20,
};

/* What a node stands for once its aliases are expanded. */
struct expansion {
	size_t nodes;
	size_t bytes;		/* of scalar text */
};

struct anchor {
	struct node *node;
	struct expansion weight;
	size_t height;		/* collection levels, 0 for a scalar */
	bool complete;
};

struct frame {
	struct node *node;	/* NODE_SEQ or NODE_MAP under construction */
	struct anchor *anchor;	/* set when the collection is anchored */
	struct node **items;	/* children: values, or key,value,key,value */
	size_t len, cap;
	struct expansion weight;
	size_t height;		/* tallest child so far */
	struct map keys;	/* duplicate-key index, built past a few keys */
};

struct loader {
	struct arena *arena;
	const struct srcfile *file;
	const struct limits *lim;
	yaml_parser_t parser;
	struct frame *stack;
	size_t depth, stack_cap;
	struct map anchors;
	struct expansion expanded;	/* the document so far */
	size_t documents;
	bool ascii;		/* marks count characters; equal to bytes if ASCII */
	size_t bom;		/* bytes of a UTF-8 byte order mark, skipped */
	size_t cur_char, cur_byte;	/* cursor for char -> byte conversion */
	bool failed;		/* a non-fatal error was reported */
	const char *prefix;	/* put before every message, e.g. "corrupt manifest: " */
	struct node *root;
};

__attribute__((format(printf, 3, 4)))
static void load_error(const struct loader *l, size_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(l->file, off, l->prefix, fmt, ap);
	va_end(ap);
}

_Static_assert(sizeof(void *) != 8 || sizeof(struct node) == 32, "a node is 32 bytes on 64-bit machines");

bool node_bool(const struct node *n)
{
	return n->str.s[0] == 't' || n->str.s[0] == 'T';
}

int64_t node_int(const struct node *n)
{
	const char *s = n->str.s;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o'))
		return (int64_t)strtoull(s + 2, NULL, s[1] == 'x' ? 16 : 8);
	return strtoll(s, NULL, 10);
}

double node_float(const struct node *n)
{
	return strtod(n->str.s, NULL);
}

const char *node_kind_name(enum node_kind k)
{
	static const char *names[] = { "null", "bool", "number", "number", "string", "list", "map" };
	return names[k];
}

/* Bytes of an indexed map's order, kept right before its pairs. */
static size_t order_bytes(size_t len)
{
	return (len * sizeof(uint32_t) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static const uint32_t *map_order(const struct node *map)
{
	return (const uint32_t *)(const void *)((const char *)map->map.pairs - order_bytes(map->map.len));
}

/* The first pair of key in document order: the leftmost match in the
 * order, which sorts equal keys by position. */
static struct node_pair *find_indexed(const struct node *map, const char *key)
{
	const uint32_t *order = map_order(map);
	size_t lo = 0, hi = map->map.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(map->map.pairs[order[mid]].key->str.s, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < map->map.len && !strcmp(map->map.pairs[order[lo]].key->str.s, key))
		return &map->map.pairs[order[lo]];
	return NULL;
}

struct key_at {
	const char *key;
	uint32_t at;
};

static int compare_key_at(const void *pa, const void *pb)
{
	const struct key_at *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);
	return c ? c : (a->at > b->at) - (a->at < b->at);
}

static bool wants_index(const struct node *map)
{
	return map->kind == NODE_MAP && !map->indexed && map->map.len >= NODE_MAP_INDEXED &&
	       map->map.len <= UINT32_MAX;
}

/* Moves map's pairs behind room for their order, which the caller fills;
 * returns the room. */
static uint32_t *make_room_for_order(struct arena *a, struct node *map)
{
	size_t len = map->map.len;
	char *block = arena_alloc(a, order_bytes(len) + len * sizeof(struct node_pair));
	struct node_pair *pairs = (struct node_pair *)(void *)(block + order_bytes(len));
	memcpy(pairs, map->map.pairs, len * sizeof(*pairs));
	map->map.pairs = pairs;
	map->indexed = true;
	return (uint32_t *)(void *)block;
}

/* Pairs from position first on, sorted by key; the caller frees. */
static struct key_at *sorted_keys(const struct node *map, size_t first)
{
	size_t n = map->map.len - first;
	struct key_at *sorted = xmalloc((n ? n : 1) * sizeof(*sorted));
	for (size_t i = 0; i < n; i++)
		sorted[i] = (struct key_at){ map->map.pairs[first + i].key->str.s, (uint32_t)(first + i) };
	qsort(sorted, n, sizeof(*sorted), compare_key_at);
	return sorted;
}

void node_map_index(struct arena *a, struct node *map)
{
	if (!wants_index(map))
		return;
	uint32_t *order = make_room_for_order(a, map);
	struct key_at *sorted = sorted_keys(map, 0);
	for (size_t i = 0; i < map->map.len; i++)
		order[i] = sorted[i].at;
	free(sorted);
}

void node_map_index_over(struct arena *a, struct node *map, const struct node *base, const bool *removed)
{
	if (!wants_index(map))
		return;
	if (!base->indexed) {
		node_map_index(a, map);
		return;
	}
	size_t nbase = base->map.len, kept = 0;
	uint32_t *at = xmalloc((nbase ? nbase : 1) * sizeof(*at));	/* base position -> map's */
	for (size_t i = 0; i < nbase; i++)
		at[i] = removed[i] ? UINT32_MAX : (uint32_t)kept++;
	uint32_t *order = make_room_for_order(a, map);
	const uint32_t *base_order = map_order(base);
	struct key_at *added = sorted_keys(map, kept);
	size_t nadded = map->map.len - kept, b = 0, o = 0;
	for (size_t i = 0; i < nbase; i++) {
		uint32_t from = at[base_order[i]];
		if (from == UINT32_MAX)
			continue;
		while (b < nadded && strcmp(added[b].key, map->map.pairs[from].key->str.s) < 0)
			order[o++] = added[b++].at;
		order[o++] = from;
	}
	while (b < nadded)
		order[o++] = added[b++].at;
	free(added);
	free(at);
}

struct node_pair *node_map_find(const struct node *map, const char *key)
{
	if (!map || map->kind != NODE_MAP)
		return NULL;
	if (map->indexed)
		return find_indexed(map, key);
	for (size_t i = 0; i < map->map.len; i++)
		if (!strcmp(map->map.pairs[i].key->str.s, key))
			return &map->map.pairs[i];
	return NULL;
}

const char *node_tag_name(enum node_tag tag)
{
	static const char *const names[] = { "", "!append", "!replace", "!unset" };
	return names[tag];
}

bool node_each_tagged(const struct node *n, node_tagged_fn *fn, void *ctx)
{
	if (n->tag != TAG_NONE && !fn(ctx, n))
		return false;
	size_t len = n->kind == NODE_SEQ ? n->seq.len : n->kind == NODE_MAP ? n->map.len : 0;
	for (size_t i = 0; i < len; i++)
		if (!node_each_tagged(n->kind == NODE_SEQ ? n->seq.items[i] : n->map.pairs[i].value, fn, ctx))
			return false;
	return true;
}

struct refusal {
	const char *where;
	int rc;
};

static bool refuse_tag(void *ctx, const struct node *tagged)
{
	struct refusal *r = ctx;
	diag_error(tagged->file, tagged->off, "tag '%s' is not allowed %s", node_tag_name(tagged->tag), r->where);
	r->rc = -1;
	return true;	/* all of them are reported */
}

int node_refuse_tags(const struct node *n, const char *where)
{
	struct refusal r = { where, 0 };
	node_each_tagged(n, refuse_tag, &r);
	return r.rc;
}

struct node *node_map_get(const struct node *map, const char *key)
{
	struct node_pair *p = node_map_find(map, key);
	return p ? p->value : NULL;
}

void node_mark_literal(struct node *n)
{
	bool literal = true;
	if (n->kind == NODE_SEQ)
		for (size_t i = 0; literal && i < n->seq.len; i++)
			literal = node_is_literal(n->seq.items[i]);
	else
		for (size_t i = 0; literal && i < n->map.len; i++)	/* keys too hold "${" */
			literal = !n->map.pairs[i].key->has_expr && node_is_literal(n->map.pairs[i].value);
	n->literal = literal;
}

/* Source bytes and decoded bytes of the double-quoted escape at p. */
static void escape_widths(const char *p, size_t *src, size_t *dec)
{
	switch (p[1]) {
	case 'x': *src = 4; break;
	case 'u': *src = 6; break;
	case 'U': *src = 10; break;
	default: *src = 2; break;
	}
	unsigned cp = 0;
	char hex[9] = { 0 };
	if (*src > 2) {
		memcpy(hex, p + 2, *src - 2);
		cp = (unsigned)strtoul(hex, NULL, 16);
	}
	switch (p[1]) {
	case 'N': case '_': *dec = 2; break;
	case 'L': case 'P': *dec = 3; break;
	case 'x': case 'u': case 'U':
		*dec = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		break;
	default: *dec = 1; break;
	}
}

static bool raw_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* How many bytes of decoded text a run of source whitespace [p, q) gave:
 * within a line, its own bytes; across line breaks, what folding left
 * (a space, line breaks, nothing after an escaped break), which is the
 * whitespace the decoded text has at d. */
static size_t folded_width(const struct node *n, const char *p, const char *q, size_t d)
{
	if (!memchr(p, '\n', (size_t)(q - p)) && !memchr(p, '\r', (size_t)(q - p)))
		return (size_t)(q - p);
	size_t w = 0;
	while (d + w < n->str.len && raw_space(n->str.s[d + w]))
		w++;
	return w;
}

/* Walks the scalar's source and its decoded text side by side: escapes
 * and '' are one decoded byte each, and a run of source whitespace is as
 * wide as folding made it, so the carets of multi-line plain, quoted and
 * block (| and >) scalars land on the character that failed. */
size_t node_text_offset(const struct node *n, size_t index)
{
	const char *data = n->file->data, *limit = data + n->file->len, *p = data + n->off;
	size_t d = 0;
	if (n->style == STYLE_FLOW)
		return n->off;
	if (n->style == STYLE_BLOCK) {
		/* From the header's line break on: the break and the first
		 * line's indentation are one run, which gives nothing. */
		p = memchr(p, '\n', (size_t)(limit - p));
		if (!p)
			return n->off;
	} else if (n->style != STYLE_PLAIN) {
		p++;	/* past the opening quote */
	}
	while (p < limit) {
		if (n->style == STYLE_DOUBLE && p[0] == '\\' && p + 1 < limit && (p[1] == '\n' || p[1] == '\r')) {
			p++;	/* an escaped line break: it and the indentation after it are nothing */
			while (p < limit && raw_space(*p))
				p++;
			continue;
		}
		if (raw_space(*p)) {
			if (d >= n->str.len)
				return (size_t)(p - data);	/* just past the end */
			const char *q = p;
			while (q < limit && raw_space(*q))
				q++;
			size_t w = folded_width(n, p, q, d);
			if (index < d + w)
				return (size_t)(p - data);
			d += w;
			p = q;
			continue;
		}
		size_t sw = 1, dw = 1;
		if (n->style == STYLE_DOUBLE && *p == '\\')
			escape_widths(p, &sw, &dw);
		else if (n->style == STYLE_SINGLE && p[0] == '\'' && p + 1 < limit && p[1] == '\'')
			sw = 2;
		if (d + dw > index)
			return (size_t)(p - data);
		d += dw;
		p += sw;
	}
	return d == index ? (size_t)(p - data) : n->off;
}

/* The code point at s (valid UTF-8); returns its length. */
static size_t utf8_char(const char *str, unsigned *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	*cp = n == 1 ? s[0] : n == 2 ? s[0] & 0x1fu : n == 3 ? s[0] & 0x0fu : s[0] & 0x07u;
	for (size_t i = 1; i < n; i++)
		*cp = (*cp << 6) | (s[i] & 0x3fu);
	return n;
}

int utf8_validate(const char *str, size_t len, size_t *bad_off)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp, min;
		if (c == 0)
			goto bad;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			goto bad;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += n + 1;
	}
	return 0;
bad:
	*bad_off = i;
	return -1;
}

/* libyaml marks count characters; convert to a byte offset by walking
 * UTF-8 from a cursor (marks arrive nearly in order). */
static uint32_t mark_offset(struct loader *l, const yaml_mark_t *m)
{
	size_t target = m->index;
	size_t len = l->file->len - l->bom;
	if (l->ascii)
		return (uint32_t)((target > len ? len : target) + l->bom);
	const unsigned char *s = (const unsigned char *)l->file->data + l->bom;
	while (l->cur_char < target && l->cur_byte < len) {
		l->cur_byte++;
		while (l->cur_byte < len && (s[l->cur_byte] & 0xc0) == 0x80)
			l->cur_byte++;
		l->cur_char++;
	}
	while (l->cur_char > target && l->cur_byte > 0) {
		l->cur_byte--;
		while (l->cur_byte > 0 && (s[l->cur_byte] & 0xc0) == 0x80)
			l->cur_byte--;
		l->cur_char--;
	}
	return (uint32_t)(l->cur_byte + l->bom);
}

static struct node *new_node(struct loader *l, enum node_kind kind, const yaml_event_t *e)
{
	struct node *n = ARENA_NEW(l->arena, struct node);
	n->kind = kind;
	n->file = l->file;
	n->off = mark_offset(l, &e->start_mark);
	return n;
}

static int count_expansion(struct loader *l, struct expansion weight, uint32_t off)
{
	l->expanded.nodes += weight.nodes;
	l->expanded.bytes += weight.bytes;
	if (l->expanded.nodes > l->lim->nodes) {
		load_error(l, off, "document expands to more than %zu nodes (alias bomb?)", l->lim->nodes);
		return -1;
	}
	if (l->expanded.bytes > l->lim->string_size) {
		load_error(l, off, "document expands to more than %zu bytes of text (alias bomb?)",
			   l->lim->string_size);
		return -1;
	}
	return 0;
}

static int parse_tag(struct loader *l, const yaml_char_t *tag, uint32_t off, uint8_t *out)
{
	*out = TAG_NONE;
	if (!tag)
		return 0;
	const char *t = (const char *)tag;
	if (!strcmp(t, "!append"))
		*out = TAG_APPEND;
	else if (!strcmp(t, "!replace"))
		*out = TAG_REPLACE;
	else if (!strcmp(t, "!unset"))
		*out = TAG_UNSET;
	else {
		/* Show the tag as written: libyaml expands !!x to its URI. */
		static const char core[] = "tag:yaml.org,2002:";
		bool is_core = !strncmp(t, core, sizeof(core) - 1);
		load_error(l, off, "unknown tag '%s%s' (only !append, !replace and !unset are allowed)",
			   is_core ? "!!" : "", is_core ? t + sizeof(core) - 1 : t);
		l->failed = true;
		return -1;
	}
	return 0;
}

static bool is_yaml11_bool(const char *s)
{
	static const char *words[] = { "yes", "no", "on", "off", "y", "n" };
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	return false;
}

static bool is_special_float(const char *s)
{
	static const char *words[] = { ".inf", "+.inf", "-.inf", ".nan" };
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	return false;
}

/* Matches [-+]?[0-9]+ (decimal) or a float per the core schema; sets
 * *is_float and the position of the first digit. */
static bool looks_numeric(const char *s, bool *is_float, size_t *digits_at)
{
	size_t i = (*s == '-' || *s == '+') ? 1 : 0;
	*digits_at = i;
	size_t int_digits = 0, frac_digits = 0;
	while (s[i] >= '0' && s[i] <= '9')
		i++, int_digits++;
	*is_float = false;
	if (s[i] == '.') {
		*is_float = true;
		i++;
		while (s[i] >= '0' && s[i] <= '9')
			i++, frac_digits++;
	}
	if (!int_digits && !frac_digits)
		return false;
	if ((s[i] == 'e' || s[i] == 'E') && (int_digits || frac_digits)) {
		*is_float = true;
		i++;
		if (s[i] == '-' || s[i] == '+')
			i++;
		if (!(s[i] >= '0' && s[i] <= '9'))
			return false;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return s[i] == '\0';
}

static int resolve_radix_int(const char *s, struct node *n)
{
	int base = s[1] == 'x' ? 16 : 8;
	const char *digits = s + 2;
	if (!*digits)
		return 1;
	for (const char *p = digits; *p; p++) {
		bool ok = base == 16 ? ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
					(*p >= 'A' && *p <= 'F'))
				     : (*p >= '0' && *p <= '7');
		if (!ok)
			return 1;
	}
	errno = 0;
	unsigned long long v = strtoull(digits, NULL, base);
	if (errno || v > INT64_MAX)
		return -1;
	n->kind = NODE_INT;
	return 0;
}

/* Core-schema typing of a plain scalar.  Returns -1 after reporting. */
static int resolve_plain(struct loader *l, struct node *n)
{
	const char *s = n->str.s;
	bool is_float;
	size_t d;
	size_t len = n->str.len;
	if (!len || (len == 1 && *s == '~') ||
	    (len == 4 && (!strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")))) {
		n->kind = NODE_NULL;
		return 0;
	}
	if ((len == 4 && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))) ||
	    (len == 5 && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")))) {
		n->kind = NODE_BOOL;
		return 0;
	}
	/* The length test first: most plain scalars are longer words. */
	if (len <= 3 && is_yaml11_bool(s)) {
		load_error(l, n->off, "ambiguous value '%s': YAML 1.1 reads it as a boolean; quote it (\"%s\") or write true/false", s, s);
		return -1;
	}
	if (len >= 4 && len <= 5 && is_special_float(s)) {
		load_error(l, n->off, "'%s' is not a finite number; quote it if it is a string", s);
		return -1;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
		int r = resolve_radix_int(s, n);
		if (r < 0) {
			load_error(l, n->off, "integer '%s' is out of range (int64)", s);
			return -1;
		}
		return 0;	/* r == 1: not a radix number, stays a string */
	}
	if (!looks_numeric(s, &is_float, &d))
		return 0;
	if (s[d] == '0' && s[d + 1] >= '0' && s[d + 1] <= '9') {
		load_error(l, n->off, "number '%s' has a leading zero: quote it (account IDs are strings: \"%s\")", s, s);
		return -1;
	}
	errno = 0;	/* only the range is checked here: node_int reads the value */
	if (!is_float) {
		(void)strtoll(s, NULL, 10);
		if (errno == ERANGE) {
			load_error(l, n->off, "integer '%s' is out of range (int64)", s);
			return -1;
		}
		n->kind = NODE_INT;
		return 0;
	}
	double v = strtod(s, NULL);
	if (!isfinite(v)) {
		load_error(l, n->off, "number '%s' is out of range", s);
		return -1;
	}
	n->kind = NODE_FLOAT;
	return 0;
}

static enum node_style scalar_style(yaml_scalar_style_t s)
{
	switch (s) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE: return STYLE_SINGLE;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return STYLE_DOUBLE;
	case YAML_LITERAL_SCALAR_STYLE:
	case YAML_FOLDED_SCALAR_STYLE: return STYLE_BLOCK;
	default: return STYLE_PLAIN;
	}
}

static struct frame *top(struct loader *l)
{
	return l->depth ? &l->stack[l->depth - 1] : NULL;
}

static struct node *key_at(struct frame *f, size_t i)
{
	return f->items[i * 2];
}

/* Reports a duplicate key; small maps scan, large ones use a hash index. */
static bool duplicate_key(struct loader *l, struct frame *f, struct node *key)
{
	size_t nkeys = f->len / 2;
	struct node *prev = NULL;
	if (nkeys < 16) {
		for (size_t i = 0; i < nkeys && !prev; i++)
			if (key_at(f, i)->str.len == key->str.len &&
			    !memcmp(key_at(f, i)->str.s, key->str.s, key->str.len))
				prev = key_at(f, i);
		if (nkeys == 15)
			for (size_t i = 0; i < nkeys; i++)
				map_put(&f->keys, key_at(f, i)->str.s, key_at(f, i)->str.len, key_at(f, i));
	} else {
		prev = map_get(&f->keys, key->str.s, key->str.len);
	}
	if (!prev) {
		if (nkeys >= 15)
			map_put(&f->keys, key->str.s, key->str.len, key);
		return false;
	}
	load_error(l, key->off, "duplicate key '%s'", key->str.s);
	diag_note(l->file, prev->off, "first defined here");
	return true;
}

static int check_key(struct loader *l, struct frame *f, struct node *key)
{
	if (key->kind == NODE_SEQ || key->kind == NODE_MAP) {
		load_error(l, key->off, "mapping keys must be scalars, not a %s", node_kind_name(key->kind));
		return -1;
	}
	if (key->style == STYLE_PLAIN && !strcmp(key->str.s, "<<")) {
		load_error(l, key->off, "merge keys ('<<') are not supported: write the keys out or use an include");
		return -1;
	}
	if (key->tag != TAG_NONE) {
		load_error(l, key->off, "tags are not allowed on mapping keys");
		return -1;
	}
	return duplicate_key(l, f, key) ? -1 : 0;
}

static void frame_push_item(struct frame *f, struct node *n)
{
	if (f->len == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->items = xrealloc(f->items, f->cap * sizeof(*f->items));
	}
	f->items[f->len++] = n;
}

/* Hands a finished node (or alias target) to its parent collection. */
static void attach(struct loader *l, struct node *n, struct expansion weight, size_t height)
{
	struct frame *f = top(l);
	if (!f) {
		l->root = n;
		return;
	}
	f->weight.nodes += weight.nodes;
	f->weight.bytes += weight.bytes;
	if (height > f->height)
		f->height = height;
	if (f->node->kind == NODE_MAP && f->len % 2 == 0) {
		/* n is a key: keys are compared as text whatever their type. */
		if (check_key(l, f, n) < 0) {
			l->failed = true;
		}
	}
	frame_push_item(f, n);
}

/* A key node keeps its text: typing applies to values only. */
static bool next_is_key(struct loader *l)
{
	struct frame *f = top(l);
	return f && f->node->kind == NODE_MAP && f->len % 2 == 0;
}

static struct anchor *define_anchor(struct loader *l, const yaml_char_t *name,
				    struct node *n, uint32_t off)
{
	if (!name)
		return NULL;
	struct anchor *a = ARENA_NEW(l->arena, struct anchor);
	a->node = n;
	const char *key = arena_strdup(l->arena, (const char *)name);
	/* Redefining an anchor is legal YAML; later aliases see the new one. */
	map_set(&l->anchors, key, strlen(key), a);
	(void)off;
	return a;
}

/* memchr finds the rare '$' faster than strstr scans for the pair. */
bool text_has_template(const char *s, size_t len)
{
	const char *end = s + len;
	for (const char *p = s; (p = memchr(p, '$', (size_t)(end - p))); p++)
		if (p + 1 < end && p[1] == '{')
			return true;
	return false;
}

static int on_scalar(struct loader *l, yaml_event_t *e)
{
	struct node *n = new_node(l, NODE_STR, e);
	size_t len = e->data.scalar.length;
	if (len > l->lim->scalar_size) {
		load_error(l, n->off, "scalar of %zu bytes exceeds the limit of %zu bytes",
			   len, l->lim->scalar_size);
		return -1;
	}
	struct expansion weight = { 1, len };
	if (count_expansion(l, weight, n->off) < 0)
		return -1;
	n->style = scalar_style(e->data.scalar.style);
	n->str.s = arena_strndup(l->arena, (const char *)e->data.scalar.value, len);
	n->str.len = len;
	n->has_expr = text_has_template(n->str.s, len);
	if (memchr(n->str.s, '\0', len)) {
		load_error(l, n->off, "scalar contains a NUL character");
		l->failed = true;
	}
	bool tag_ok = parse_tag(l, e->data.scalar.tag, n->off, &n->tag) == 0;
	bool key = next_is_key(l);
	if (tag_ok && !key && n->style == STYLE_PLAIN && resolve_plain(l, n) < 0)
		l->failed = true;
	struct anchor *a = define_anchor(l, e->data.scalar.anchor, n, n->off);
	if (a) {
		a->weight = weight;
		a->complete = true;
	}
	attach(l, n, weight, 0);
	return 0;
}

static int on_collection_start(struct loader *l, yaml_event_t *e, enum node_kind kind)
{
	struct node *n = new_node(l, kind, e);
	if (l->depth >= l->lim->depth) {
		load_error(l, n->off, "nesting deeper than %zu levels", l->lim->depth);
		return -1;
	}
	if (next_is_key(l)) {
		load_error(l, n->off, "mapping keys must be scalars, not a %s", node_kind_name(kind));
		return -1;
	}
	if (count_expansion(l, (struct expansion){ 1, 0 }, n->off) < 0)
		return -1;
	const yaml_char_t *tag = kind == NODE_MAP ? e->data.mapping_start.tag : e->data.sequence_start.tag;
	const yaml_char_t *anchor = kind == NODE_MAP ? e->data.mapping_start.anchor : e->data.sequence_start.anchor;
	bool flow = kind == NODE_MAP ? e->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
				     : e->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
	n->style = flow ? STYLE_FLOW : STYLE_BLOCK;
	parse_tag(l, tag, n->off, &n->tag);
	if (l->depth == l->stack_cap) {
		size_t old = l->stack_cap;
		l->stack_cap = l->stack_cap ? l->stack_cap * 2 : 16;
		l->stack = xrealloc(l->stack, l->stack_cap * sizeof(*l->stack));
		memset(l->stack + old, 0, (l->stack_cap - old) * sizeof(*l->stack));
	}
	struct frame *f = &l->stack[l->depth++];
	/* Frames keep their item buffer and key index between collections at
	 * the same depth: no malloc/free per collection. */
	struct node **items = f->items;
	size_t cap = f->cap;
	struct map keys = f->keys;
	memset(f, 0, sizeof(*f));
	f->items = items;
	f->cap = cap;
	f->keys = keys;
	map_clear(&f->keys);
	f->node = n;
	f->weight = (struct expansion){ 1, 0 };
	f->anchor = define_anchor(l, anchor, n, n->off);
	return 0;
}

static void on_collection_end(struct loader *l)
{
	struct frame *f = top(l);
	struct node *n = f->node;
	if (n->kind == NODE_SEQ) {
		n->seq.len = f->len;
		n->seq.items = ARENA_ARRAY(l->arena, struct node *, f->len);
		if (f->len)
			memcpy(n->seq.items, f->items, f->len * sizeof(*f->items));
	} else {
		n->map.len = f->len / 2;
		n->map.pairs = ARENA_ARRAY(l->arena, struct node_pair, n->map.len);
		for (size_t i = 0; i < n->map.len; i++) {
			n->map.pairs[i].key = f->items[2 * i];
			n->map.pairs[i].value = f->items[2 * i + 1];
		}
		node_map_index(l->arena, n);
	}
	node_mark_literal(n);
	struct expansion weight = f->weight;
	size_t height = f->height + 1;
	if (f->anchor) {
		f->anchor->weight = weight;
		f->anchor->height = height;
		f->anchor->complete = true;
	}
	l->depth--;
	attach(l, n, weight, height);
}

static int on_alias(struct loader *l, yaml_event_t *e)
{
	uint32_t off = mark_offset(l, &e->start_mark);
	const char *name = (const char *)e->data.alias.anchor;
	struct anchor *a = map_get(&l->anchors, name, strlen(name));
	if (!a) {
		load_error(l, off, "unknown anchor '%s'", name);
		return -1;
	}
	if (!a->complete) {
		load_error(l, off, "alias '*%s' refers to a node that contains it", name);
		return -1;
	}
	if (next_is_key(l) && (a->node->kind == NODE_SEQ || a->node->kind == NODE_MAP)) {
		load_error(l, off, "mapping keys must be scalars, not a %s", node_kind_name(a->node->kind));
		return -1;
	}
	if (l->depth + a->height > l->lim->depth) {
		load_error(l, off, "alias '*%s' nests deeper than %zu levels", name, l->lim->depth);
		return -1;
	}
	if (count_expansion(l, a->weight, off) < 0)
		return -1;
	struct node *target = a->node;
	if (next_is_key(l) && target->kind != NODE_STR) {
		/* Keys are text whatever the anchored scalar's type. */
		target = ARENA_NEW(l->arena, struct node);
		*target = *a->node;
		target->kind = NODE_STR;
	}
	attach(l, target, a->weight, a->height);
	return 0;
}

static void report_parser_error(struct loader *l)
{
	yaml_parser_t *p = &l->parser;
	/* The reader reports a byte offset; the scanner and parser a mark. */
	size_t off = p->error == YAML_READER_ERROR ? p->problem_offset + l->bom
						    : mark_offset(l, &p->problem_mark);
	const char *problem = p->problem ? p->problem : "invalid YAML";
	if (off < l->file->len && l->file->data[off] == '\t') {
		load_error(l, off, "tab character in indentation: YAML indents with spaces");
		return;
	}
	if (p->context)
		load_error(l, off, "%s %s", problem, p->context);
	else
		load_error(l, off, "%s", problem);
}

/* Returns 1 at stream end, 0 to continue, -1 on a fatal error. */
static int on_event(struct loader *l, yaml_event_t *e)
{
	switch (e->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (l->documents++) {
			load_error(l, mark_offset(l, &e->start_mark),
				   "a file holds one YAML document; found a second one");
			return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(l, e);
	case YAML_SEQUENCE_START_EVENT:
		return on_collection_start(l, e, NODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_collection_start(l, e, NODE_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_collection_end(l);
		return 0;
	case YAML_ALIAS_EVENT:
		return on_alias(l, e);
	case YAML_STREAM_END_EVENT:
		return 1;
	default:
		return 0;
	}
}

/* YAML's printable set: no C0 controls but tab, LF and CR, no DEL, no
 * C1 controls (U+0080-U+009F, NEL included) and no U+FFFE/U+FFFF. */
static size_t find_control(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return i;
		if (c == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return i;
		if (c == 0xef && i + 2 < len && s[i + 1] == 0xbf && (s[i + 2] == 0xbe || s[i + 2] == 0xbf))
			return i;
	}
	return len;
}

/* Printable ASCII, tab, CR and LF only: the common case, checked sixteen
 * bytes at a time (a byte at a time it was 3 % of a cold build), the
 * tail padded with spaces; anything else takes the full UTF-8 and
 * control checks. */
static bool plain_ascii(const char *str, size_t len)
{
	size_t i = 0;
	for (; i + 16 <= len; i += 16)
		if (mask16_any(bytes16_not_plain_ascii(bytes16_load(str + i))))
			return false;
	return i == len || !mask16_any(bytes16_not_plain_ascii(bytes16_load_tail(str + i, len - i, ' ')));
}

/* Sets *ascii when f is plain ASCII (no BOM then: its bytes are not). */
static int check_bytes(const struct loader *l, const struct srcfile *f, const struct limits *lim, bool *ascii)
{
	size_t bad;
	*ascii = f->len <= lim->file_size && plain_ascii(f->data, f->len);
	if (*ascii)
		return 0;
	if (f->len > lim->file_size) {
		load_error(l, 0, "file is %zu bytes, over the limit of %zu bytes", f->len, lim->file_size);
		return -1;
	}
	if (utf8_validate(f->data, f->len, &bad) < 0) {
		if (f->data[bad] == '\0')
			load_error(l, bad, "file contains a NUL byte");
		else
			load_error(l, bad, "file is not valid UTF-8 (byte 0x%02x)", (unsigned char)f->data[bad]);
		return -1;
	}
	if ((bad = find_control(f->data, f->len)) < f->len) {
		unsigned cp;
		utf8_char(f->data + bad, &cp);
		load_error(l, bad, "control characters are not allowed (U+%04X)", cp);
		return -1;
	}
	return 0;
}

static void free_loader(struct loader *l)
{
	for (size_t i = 0; i < l->stack_cap; i++) {
		free(l->stack[i].items);
		map_free(&l->stack[i].keys);
	}
	free(l->stack);
	map_free(&l->anchors);
	yaml_parser_delete(&l->parser);
}

int yaml_load(struct arena *a, const struct srcfile *f, const struct limits *lim,
	      struct node **out)
{
	return yaml_load_as(a, f, lim, NULL, out);
}

int yaml_load_as(struct arena *a, const struct srcfile *f, const struct limits *lim,
		 const char *prefix, struct node **out)
{
	struct loader l = { .arena = a, .file = f, .lim = lim, .prefix = prefix };
	int rc = -1;
	*out = NULL;
	if (check_bytes(&l, f, lim, &l.ascii) < 0)
		return -1;
	/* libyaml keeps a BOM as a character when told the encoding. */
	l.bom = f->len >= 3 && !memcmp(f->data, "\xef\xbb\xbf", 3) ? 3 : 0;
	if (l.bom)
		l.ascii = plain_ascii(f->data + l.bom, f->len - l.bom);
	map_init(&l.anchors);
	if (!yaml_parser_initialize(&l.parser)) {
		load_error(&l, 0, "cannot initialise the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)f->data + l.bom, f->len - l.bom);
	yaml_parser_set_encoding(&l.parser, YAML_UTF8_ENCODING);
	for (;;) {
		yaml_event_t e;
		if (!yaml_parser_parse(&l.parser, &e)) {
			report_parser_error(&l);
			goto out;
		}
		int r = on_event(&l, &e);
		yaml_event_delete(&e);
		if (r < 0)
			goto out;
		if (r > 0)
			break;
	}
	if (l.failed)
		goto out;
	if (!l.root) {
		l.root = ARENA_NEW(a, struct node);
		l.root->kind = NODE_NULL;
		l.root->str.s = "";	/* a scalar, with the text it has */
		l.root->file = f;
	}
	*out = l.root;
	rc = 0;
out:
	free_loader(&l);
	return rc;
}
