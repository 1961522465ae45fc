/* json.c - strict JSON to the YAML loader's node tree (see json.h). */
#include "json.h"
#include "buf.h"
#include "map.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	struct arena *a;
	const struct srcfile *f;
	const struct limits *lim;
	const char *prefix;
	const char *s;
	size_t len, pos;
	size_t nodes, depth;
	struct buf text;	/* the string being decoded */
};

__attribute__((format(printf, 3, 4)))
static void *fail(struct parser *j, size_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_verror(j->f, off, j->prefix, fmt, ap);
	va_end(ap);
	return NULL;
}

static bool at(const struct parser *j, char c)
{
	return j->pos < j->len && j->s[j->pos] == c;
}

static bool digit_at(const struct parser *j, size_t p)
{
	return p < j->len && j->s[p] >= '0' && j->s[p] <= '9';
}

static void skip_space(struct parser *j)
{
	while (j->pos < j->len) {
		char c = j->s[j->pos];
		if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
			break;
		j->pos++;
	}
}

static struct node *new_node(struct parser *j, enum node_kind kind, size_t off)
{
	if (++j->nodes > j->lim->nodes)
		return fail(j, off, "document has more than %zu nodes", j->lim->nodes);
	struct node *n = ARENA_NEW(j->a, struct node);
	n->kind = kind;
	n->file = j->f;
	n->off = (uint32_t)off;
	return n;
}

/* ---- strings ---- */

static int hex4(const char *p, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16)
			return -1;
		*out = *out << 4 | d;
	}
	return 0;
}

static void put_utf8(struct buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/* \uXXXX at esc (the backslash), a surrogate pair taken whole. */
static int unicode_escape(struct parser *j, size_t esc)
{
	unsigned cp, lo;
	if (j->pos + 4 > j->len || hex4(j->s + j->pos, &cp) < 0)
		return fail(j, esc, "\\u takes four hex digits"), -1;
	j->pos += 4;
	if (cp >= 0xd800 && cp < 0xdc00) {
		if (j->pos + 6 > j->len || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u' ||
		    hex4(j->s + j->pos + 2, &lo) < 0 || lo < 0xdc00 || lo >= 0xe000)
			return fail(j, esc, "lone surrogate \\u%04X", cp), -1;
		j->pos += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp < 0xe000) {
		return fail(j, esc, "lone surrogate \\u%04X", cp), -1;
	}
	if (cp == 0)
		return fail(j, esc, "\\u0000: strings may not hold NUL characters"), -1;
	put_utf8(&j->text, cp);
	return 0;
}

static int escape(struct parser *j)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	size_t esc = j->pos;
	if (j->pos + 1 >= j->len)
		return fail(j, esc, "unterminated string"), -1;
	char e = j->s[j->pos + 1];
	j->pos += 2;
	if (e == 'u')
		return unicode_escape(j, esc);
	const char *hit = e ? strchr(from, e) : NULL;
	if (!hit)
		return fail(j, esc, "unknown escape '\\%c'", e), -1;
	buf_putc(&j->text, to[hit - from]);
	return 0;
}

/* Decodes the string whose opening quote is at j->pos into j->text. */
static int scan_string(struct parser *j)
{
	size_t start = j->pos++, run = j->pos;
	buf_reset(&j->text);
	for (;;) {
		if (j->pos >= j->len)
			return fail(j, start, "unterminated string"), -1;
		unsigned char c = (unsigned char)j->s[j->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(j, j->pos, "control character U+%04X in a string: escape it", c), -1;
		if (c != '\\') {
			j->pos++;
			continue;
		}
		buf_add(&j->text, j->s + run, j->pos - run);
		if (escape(j) < 0)
			return -1;
		run = j->pos;
	}
	buf_add(&j->text, j->s + run, j->pos - run);
	j->pos++;
	if (j->text.len > j->lim->scalar_size)
		return fail(j, start, "string of %zu bytes exceeds the limit of %zu bytes", j->text.len,
			    j->lim->scalar_size), -1;
	return 0;
}

static struct node *parse_string(struct parser *j)
{
	size_t off = j->pos;
	if (scan_string(j) < 0)
		return NULL;
	struct node *n = new_node(j, NODE_STR, off);
	if (!n)
		return NULL;
	n->style = STYLE_DOUBLE;
	n->str.s = arena_strndup(j->a, buf_cstr(&j->text), j->text.len);
	n->str.len = j->text.len;
	n->has_expr = text_has_template(n->str.s, n->str.len);
	return n;
}

/* ---- other scalars ---- */

static size_t skip_digits(const struct parser *j, size_t p)
{
	while (digit_at(j, p))
		p++;
	return p;
}

static struct node *parse_number(struct parser *j)
{
	size_t start = j->pos, p = j->pos + (j->s[j->pos] == '-');
	bool integral = true;
	if (!digit_at(j, p))
		return fail(j, start, "expected a digit");
	if (j->s[p] == '0' && digit_at(j, p + 1))
		return fail(j, start, "numbers may not have leading zeros");
	p = skip_digits(j, p);
	if (p < j->len && j->s[p] == '.') {
		integral = false;
		if (!digit_at(j, ++p))
			return fail(j, p, "expected a digit after '.'");
		p = skip_digits(j, p);
	}
	if (p < j->len && (j->s[p] == 'e' || j->s[p] == 'E')) {
		integral = false;
		p += p + 1 < j->len && (j->s[p + 1] == '+' || j->s[p + 1] == '-') ? 2 : 1;
		if (!digit_at(j, p))
			return fail(j, p, "expected a digit in the exponent");
		p = skip_digits(j, p);
	}
	struct node *n = new_node(j, integral ? NODE_INT : NODE_FLOAT, start);
	if (!n)
		return NULL;
	n->str.s = arena_strndup(j->a, j->s + start, p - start);
	n->str.len = p - start;
	j->pos = p;
	errno = 0;	/* node_int and node_float read the text again */
	double f = integral ? (double)strtoll(n->str.s, NULL, 10) : strtod(n->str.s, NULL);
	if (integral && errno == ERANGE)
		return fail(j, start, "integer '%s' is out of range (int64)", n->str.s);
	if (!integral && (errno == ERANGE || !isfinite(f)))
		return fail(j, start, "number '%s' is out of range", n->str.s);
	return n;
}

static struct node *parse_word(struct parser *j)
{
	static const struct {
		const char *word;
		enum node_kind kind;
	} words[] = { { "true", NODE_BOOL }, { "false", NODE_BOOL }, { "null", NODE_NULL } };
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
		size_t n = strlen(words[i].word);
		if (j->len - j->pos < n || memcmp(j->s + j->pos, words[i].word, n))
			continue;
		struct node *v = new_node(j, words[i].kind, j->pos);
		if (!v)
			return NULL;
		v->str.s = words[i].word;
		v->str.len = n;
		j->pos += n;
		return v;
	}
	return fail(j, j->pos, "expected a JSON value");
}

/* ---- collections ---- */

static struct node *parse_value(struct parser *j);

struct items {
	struct node **v;
	size_t len, cap;
};

static void push(struct items *it, struct node *n)
{
	if (it->len == it->cap)
		it->v = xrealloc(it->v, (it->cap = it->cap ? it->cap * 2 : 16) * sizeof(*it->v));
	it->v[it->len++] = n;
}

static struct node *open_collection(struct parser *j, enum node_kind kind)
{
	if (j->depth >= j->lim->depth)
		return fail(j, j->pos, "nesting deeper than %zu levels", j->lim->depth);
	struct node *n = new_node(j, kind, j->pos++);
	if (n) {
		n->style = STYLE_FLOW;
		j->depth++;
	}
	return n;
}

/* After an item: true at the closing bracket, false at a comma. */
static int next_item(struct parser *j, char close, const char *what)
{
	skip_space(j);
	if (at(j, ',')) {
		j->pos++;
		return 0;
	}
	if (at(j, close)) {
		j->pos++;
		return 1;
	}
	fail(j, j->pos, "expected ',' or '%c' in %s", close, what);
	return -1;
}

static struct node *parse_array(struct parser *j)
{
	struct node *n = open_collection(j, NODE_SEQ);
	struct items it = { 0 };
	int end = 0;
	if (!n)
		return NULL;
	skip_space(j);
	if (at(j, ']')) {
		j->pos++;
		end = 1;
	}
	while (!end) {
		struct node *v = parse_value(j);
		if (!v || (end = next_item(j, ']', "an array")) < 0) {
			free(it.v);
			return NULL;
		}
		push(&it, v);
	}
	n->seq.items = ARENA_ARRAY(j->a, struct node *, it.len);
	if (it.len)
		memcpy(n->seq.items, it.v, it.len * sizeof(*it.v));
	n->seq.len = it.len;
	j->depth--;
	free(it.v);
	return n;
}

/* Duplicate keys: a scan while the object is small, a map once it grows
 * (a hostile file may hold an object of a million keys). */
enum { SCAN_KEYS = 16 };

/* The earlier key equal to key, or NULL. */
static const struct node *duplicate_key(struct items *it, struct map *index, const struct node *key)
{
	size_t pairs = it->len / 2;
	if (pairs < SCAN_KEYS) {
		for (size_t i = 0; i < pairs; i++) {
			const struct node *k = it->v[2 * i];
			if (k->str.len == key->str.len && !memcmp(k->str.s, key->str.s, k->str.len))
				return k;
		}
		return NULL;
	}
	if (!index->len)
		for (size_t i = 0; i < pairs; i++)
			map_put(index, it->v[2 * i]->str.s, it->v[2 * i]->str.len, it->v[2 * i]);
	return map_put(index, key->str.s, key->str.len, (void *)key);
}

static struct node *object_member(struct parser *j, struct items *it, struct map *index)
{
	skip_space(j);
	if (!at(j, '"'))
		return fail(j, j->pos, "expected a string key");
	struct node *key = parse_string(j);
	if (!key)
		return NULL;
	const struct node *first = duplicate_key(it, index, key);
	if (first) {
		fail(j, key->off, "duplicate key \"%s\"", key->str.s);
		diag_note(j->f, first->off, "first defined here");
		return NULL;
	}
	skip_space(j);
	if (!at(j, ':'))
		return fail(j, j->pos, "expected ':' after a key");
	j->pos++;
	struct node *value = parse_value(j);
	if (value) {
		push(it, key);
		push(it, value);
	}
	return value;
}

static struct node *parse_object(struct parser *j)
{
	struct node *n = open_collection(j, NODE_MAP);
	struct items it = { 0 };
	struct map index;
	int end = 0;
	if (!n)
		return NULL;
	map_init(&index);
	skip_space(j);
	if (at(j, '}')) {
		j->pos++;
		end = 1;
	}
	while (!end) {
		if (!object_member(j, &it, &index) || (end = next_item(j, '}', "an object")) < 0) {
			n = NULL;
			goto out;
		}
	}
	n->map.len = it.len / 2;
	n->map.pairs = ARENA_ARRAY(j->a, struct node_pair, n->map.len);
	for (size_t i = 0; i < n->map.len; i++)
		n->map.pairs[i] = (struct node_pair){ it.v[2 * i], it.v[2 * i + 1] };
	node_map_index(j->a, n);
	j->depth--;
out:
	map_free(&index);
	free(it.v);
	return n;
}

static struct node *parse_value(struct parser *j)
{
	skip_space(j);
	if (j->pos >= j->len)
		return fail(j, j->pos, "unexpected end of the file: expected a JSON value");
	char c = j->s[j->pos];
	if (c == '{')
		return parse_object(j);
	if (c == '[')
		return parse_array(j);
	if (c == '"')
		return parse_string(j);
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(j);
	return parse_word(j);
}

int json_load_as(struct arena *a, const struct srcfile *f, const struct limits *lim, const char *prefix,
		 struct node **out)
{
	struct parser j = { .a = a, .f = f, .lim = lim, .prefix = prefix, .s = f->data, .len = f->len };
	size_t bad;
	*out = NULL;
	if (f->len > lim->file_size) {
		fail(&j, 0, "file is %zu bytes, over the limit of %zu bytes", f->len, lim->file_size);
		return -1;
	}
	if (utf8_validate(f->data, f->len, &bad) < 0) {
		if (f->data[bad] == '\0')
			fail(&j, bad, "file contains a NUL byte");
		else
			fail(&j, bad, "file is not valid UTF-8 (byte 0x%02x)", (unsigned char)f->data[bad]);
		return -1;
	}
	struct node *root = parse_value(&j);
	if (root) {
		skip_space(&j);
		if (j.pos < j.len)
			root = fail(&j, j.pos, "unexpected text after the JSON value");
	}
	buf_free(&j.text);
	*out = root;
	return root ? 0 : -1;
}
