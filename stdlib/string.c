/* string.c - format join split upper lower title trimspace replace regex
 * substr startswith endswith.
 *
 * Semantics follow Terraform (go-cty), with two deliberate differences:
 * lengths, offsets and widths count Unicode code points, not grapheme
 * clusters (SPEC section 9), and numbers print as the rest of bulkhead
 * prints them (never in exponent form) except under %e and %g.
 * Arguments must have the declared kinds; format's verbs convert, as
 * Terraform's do.  Invalid UTF-8, which the loaders never let through, is
 * passed on byte by byte rather than trusted.  Every result is built with
 * the string limit checked on each append, so hostile widths or
 * replacements fail before they allocate. */
#define _GNU_SOURCE		/* memmem: linear-time search */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "builtins.h"

#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <pcre2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#define BAD_CHAR 0xffffffffu

/* ---- arguments, characters, messages ---- */

static bool str_arg(struct call_ctx *c, struct value **args, size_t nargs, size_t i)
{
	if (!args || i >= nargs || !args[i]) {
		call_error(c, "argument %zu is missing", i + 1);
		return false;
	}
	return call_expect(c, args, i, VAL_STR);
}

/* A whole number that fits in int64. */
static bool whole_arg(struct call_ctx *c, struct value **args, size_t nargs, size_t i, int64_t *out)
{
	if (!args || i >= nargs || !args[i]) {
		call_error(c, "argument %zu is missing", i + 1);
		return false;
	}
	if (!call_expect(c, args, i, VAL_INT))
		return false;
	const struct value *v = args[i];
	if (v->kind == VAL_INT) {
		*out = v->i;
		return true;
	}
	if (v->f != floor(v->f) || fabs(v->f) >= 9.2e18) {
		char num[400];
		format_double(v->f, num, sizeof(num));
		call_error(c, "argument %zu must be a whole number, not %s", i + 1, num);
		return false;
	}
	*out = (int64_t)v->f;
	return true;
}

/* Decodes the character at s (len > 0) and returns its length in bytes; a
 * byte that does not start a well-formed sequence is one BAD_CHAR. */
static size_t str_next(const char *s, size_t len, unsigned *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = u[0] < 0x80 ? 1 : (u[0] & 0xe0) == 0xc0 ? 2 : (u[0] & 0xf0) == 0xe0 ? 3
		 : (u[0] & 0xf8) == 0xf0 ? 4 : 0;
	for (size_t k = 1; n && k < n && k < len; k++)
		if ((u[k] & 0xc0) != 0x80)
			n = 0;
	if (n == 0 || n > len) {
		*cp = BAD_CHAR;
		return 1;
	}
	utf8_decode(s, n, cp);
	return n;
}

static size_t char_count(const char *s, size_t len)
{
	size_t n = 0;
	unsigned cp;
	for (size_t i = 0; i < len; n++)
		i += str_next(s + i, len - i, &cp);
	return n;
}

/* The length in bytes of the first count characters of s. */
static size_t char_bytes(const char *s, size_t len, uint64_t count)
{
	size_t i = 0;
	unsigned cp;
	for (; count && i < len; count--)
		i += str_next(s + i, len - i, &cp);
	return i;
}

/* A string shown in a message: at most 40 characters, then "...", with
 * control characters escaped so that hostile input cannot drive the
 * terminal. */
static const char *subject(struct call_ctx *c, const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	size_t i = 0;
	for (size_t chars = 0; i < len && chars < 40; chars++) {
		unsigned cp;
		size_t n = str_next(s + i, len - i, &cp);
		if (cp == '\n')
			buf_puts(&b, "\\n");
		else if (cp == '\t')
			buf_puts(&b, "\\t");
		else if (cp < 0x20 || cp == 0x7f || cp == BAD_CHAR)
			buf_printf(&b, "\\x%02x", (unsigned char)s[i]);
		else
			buf_add(&b, s + i, n);
		i += n;
	}
	if (i < len)
		buf_puts(&b, "...");
	char *r = arena_strndup(c->arena, buf_cstr(&b), b.len);
	buf_free(&b);
	return r;
}

/* The text of a string, number or bool, as Terraform converts it to a
 * string; false for null, lists and maps.  num holds number text. */
static bool scalar_text(const struct value *v, char num[400], const char **s, size_t *len)
{
	switch (v->kind) {
	case VAL_STR: *s = v->str.s; *len = v->str.len; return true;
	case VAL_BOOL: *s = v->b ? "true" : "false"; break;
	case VAL_INT: snprintf(num, 400, "%lld", (long long)v->i); *s = num; break;
	case VAL_FLOAT: format_double(v->f, num, 400); *s = num; break;
	default: return false;
	}
	*len = strlen(*s);
	return true;
}

/* ---- output with the string limit ---- */

struct out {
	struct buf b;
	size_t limit;
	bool over;		/* an append would have passed the limit */
};

static void out_init(struct out *o, const struct call_ctx *c)
{
	buf_init(&o->b);
	o->limit = c->limits ? c->limits->string_size : SIZE_MAX;
	o->over = false;
}

static bool out_room(struct out *o, size_t n)
{
	if (o->over || n > o->limit - o->b.len)
		o->over = true;
	return !o->over;
}

static bool out_add(struct out *o, const void *s, size_t n)
{
	if (!out_room(o, n))
		return false;
	buf_add(&o->b, s, n);
	return true;
}

static bool out_fill(struct out *o, char ch, size_t n)
{
	if (!out_room(o, n))
		return false;
	buf_grow(&o->b, n);
	memset(o->b.data + o->b.len, ch, n);
	o->b.len += n;
	o->b.data[o->b.len] = '\0';
	return true;
}

/* The result, or NULL when ok is false (an error was reported) or the
 * output passed the limit (reported here). */
static struct value *out_finish(struct call_ctx *c, struct out *o, bool ok)
{
	struct value *r = NULL;
	if (o->over)
		call_error(c, "result exceeds the string limit of %zu bytes", o->limit);
	else if (ok)
		r = string_value(c, buf_cstr(&o->b), o->b.len);
	buf_free(&o->b);
	return r;
}

/* ---- case mapping ---- */

/* The C.UTF-8 ctype locale for towupper_l/towlower_l.  newlocale costs
 * about 40us, too much per call, so it is created once, published with a
 * compare-and-swap (safe should evaluation ever run on threads) and never
 * modified or freed afterwards.  (locale_t)0 when the system has no
 * C.UTF-8: then only ASCII letters change case. */
static locale_t utf8_locale(void)
{
	static _Atomic(locale_t) shared;
	locale_t loc = atomic_load(&shared);
	if (loc)
		return loc;
	loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (!loc)
		return (locale_t)0;
	locale_t none = (locale_t)0;
	if (!atomic_compare_exchange_strong(&shared, &none, loc)) {
		freelocale(loc);
		return none;
	}
	return loc;
}

static unsigned checked_cp(unsigned mapped, unsigned cp)
{
	bool valid = mapped <= 0x10ffff && (mapped < 0xd800 || mapped > 0xdfff);
	return valid ? mapped : cp;
}

static unsigned upper_of(unsigned cp, locale_t loc)
{
	if (cp < 0x80)
		return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
	return loc ? checked_cp((unsigned)towupper_l((wint_t)cp, loc), cp) : cp;
}

static unsigned lower_of(unsigned cp, locale_t loc)
{
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	return loc ? checked_cp((unsigned)towlower_l((wint_t)cp, loc), cp) : cp;
}

/* Title case differs from upper case for the digraphs (dz -> Dz) and
 * Georgian, whose letters are their own title case. */
static unsigned title_of(unsigned cp, locale_t loc)
{
	if (cp >= 0x1c4 && cp <= 0x1cc)
		return 0x1c5 + (cp - 0x1c4) / 3 * 3;
	if (cp >= 0x1f1 && cp <= 0x1f3)
		return 0x1f2;
	if (cp >= 0x10d0 && cp <= 0x10ff)
		return cp;
	return upper_of(cp, loc);
}

/* Go's unicode.IsSpace, as Terraform's trimspace and title use it. */
static bool is_space(unsigned cp)
{
	switch (cp) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202f: case 0x205f: case 0x3000:
		return true;
	}
	return cp >= 0x2000 && cp <= 0x200a;
}

/* Go's strings.Title word boundary: anything but ASCII letters, digits
 * and '_', except that non-ASCII characters separate only if spaces. */
static bool is_separator(unsigned cp)
{
	if (cp < 0x80)
		return !((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
			 cp == '_');
	return is_space(cp);
}

enum case_how { CASE_UPPER, CASE_LOWER, CASE_TITLE };

static struct value *case_map(struct call_ctx *c, struct value **args, size_t nargs, enum case_how how)
{
	if (!str_arg(c, args, nargs, 0))
		return NULL;
	const char *s = args[0]->str.s;
	size_t len = args[0]->str.len;
	locale_t loc = utf8_locale();
	struct buf b = BUF_INIT;
	bool word_start = true;
	for (size_t i = 0; i < len;) {
		unsigned cp, m;
		size_t n = str_next(s + i, len - i, &cp);
		if (cp == BAD_CHAR) {
			m = cp;
			word_start = false;
		} else if (how == CASE_UPPER) {
			m = upper_of(cp, loc);
		} else if (how == CASE_LOWER) {
			m = lower_of(cp, loc);
		} else {
			m = word_start ? title_of(cp, loc) : cp;
			word_start = is_separator(cp);
		}
		char enc[4];
		if (m == cp)
			buf_add(&b, s + i, n);
		else
			buf_add(&b, enc, utf8_encode(m, enc));
		i += n;
	}
	struct value *r = string_value(c, buf_cstr(&b), b.len);
	buf_free(&b);
	return r;
}

static struct value *fn_upper(struct call_ctx *c, struct value **args, size_t nargs)
{
	return case_map(c, args, nargs, CASE_UPPER);
}

static struct value *fn_lower(struct call_ctx *c, struct value **args, size_t nargs)
{
	return case_map(c, args, nargs, CASE_LOWER);
}

static struct value *fn_title(struct call_ctx *c, struct value **args, size_t nargs)
{
	return case_map(c, args, nargs, CASE_TITLE);
}

/* ---- trimspace, startswith, endswith, substr ---- */

/* The start of the last character of s[0..len), len > 0. */
static size_t last_char_start(const char *s, size_t len)
{
	size_t j = len - 1;
	while (j > 0 && len - j < 4 && ((unsigned char)s[j] & 0xc0) == 0x80)
		j--;
	return j;
}

static struct value *fn_trimspace(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!str_arg(c, args, nargs, 0))
		return NULL;
	const char *s = args[0]->str.s;
	size_t start = 0, end = args[0]->str.len;
	unsigned cp;
	while (start < end) {
		size_t n = str_next(s + start, end - start, &cp);
		if (!is_space(cp))
			break;
		start += n;
	}
	while (end > start) {
		size_t j = start + last_char_start(s + start, end - start);
		if (str_next(s + j, end - j, &cp) != end - j || !is_space(cp))
			break;
		end = j;
	}
	return string_value(c, s + start, end - start);
}

static struct value *affix(struct call_ctx *c, struct value **args, size_t nargs, bool at_end)
{
	if (!str_arg(c, args, nargs, 0) || !str_arg(c, args, nargs, 1))
		return NULL;
	const struct value *s = args[0], *x = args[1];
	bool yes = x->str.len <= s->str.len &&
		   !memcmp(s->str.s + (at_end ? s->str.len - x->str.len : 0), x->str.s, x->str.len);
	return value_bool(c->arena, yes, NULL);
}

static struct value *fn_startswith(struct call_ctx *c, struct value **args, size_t nargs)
{
	return affix(c, args, nargs, false);
}

static struct value *fn_endswith(struct call_ctx *c, struct value **args, size_t nargs)
{
	return affix(c, args, nargs, true);
}

/* substr(str, offset, length): a negative offset counts from the end, a
 * negative length means "to the end"; out of range gives "". */
static struct value *fn_substr(struct call_ctx *c, struct value **args, size_t nargs)
{
	int64_t off, count;
	if (!str_arg(c, args, nargs, 0) || !whole_arg(c, args, nargs, 1, &off) ||
	    !whole_arg(c, args, nargs, 2, &count))
		return NULL;
	const char *s = args[0]->str.s;
	size_t len = args[0]->str.len;
	int64_t total = (int64_t)char_count(s, len);
	if (off < 0)
		off = off < -total ? 0 : off + total;
	if (off >= total)
		return string_value(c, "", 0);
	size_t from = char_bytes(s, len, (uint64_t)off);
	size_t to = count < 0 ? len : from + char_bytes(s + from, len - from, (uint64_t)count);
	return string_value(c, s + from, to - from);
}

/* ---- join, split ---- */

/* join(separator, list, ...): elements may be strings, numbers or bools. */
static struct value *fn_join(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!str_arg(c, args, nargs, 0))
		return NULL;
	const struct value *sep = args[0];
	struct out o;
	out_init(&o, c);
	bool ok = true, first = true;
	for (size_t a = 1; ok && a < nargs; a++) {
		if (!args[a] || !call_expect(c, args, a, VAL_LIST)) {
			ok = false;
			break;
		}
		for (size_t k = 0; ok && k < args[a]->list.len; k++) {
			const struct value *e = args[a]->list.items[k];
			char num[400];
			const char *s;
			size_t n;
			if (!scalar_text(e, num, &s, &n)) {
				call_error(c, "argument %zu: element %zu is %s, not a string", a + 1, k,
					   e->kind == VAL_NULL ? "null" : value_kind_name(e->kind));
				ok = false;
				break;
			}
			ok = (first || out_add(&o, sep->str.s, sep->str.len)) && out_add(&o, s, n);
			first = false;
		}
	}
	return out_finish(c, &o, ok);
}

/* Appends piece number *n of a split; false (reported) past the limit. */
static bool split_piece(struct call_ctx *c, struct value *list, size_t *n, const char *s, size_t len)
{
	struct value *v = string_value(c, s, len);
	if (!v)
		return false;
	list->list.items[(*n)++] = v;
	return true;
}

/* The number of pieces strings.Split(s, sep) gives. */
static size_t split_count(const char *s, size_t len, const char *sep, size_t seplen)
{
	if (!seplen)
		return char_count(s, len);
	size_t n = 1;
	for (const char *p = s, *end = s + len; (p = memmem(p, (size_t)(end - p), sep, seplen)); p += seplen)
		n++;
	return n;
}

/* split(separator, str), as Go's strings.Split: an empty separator splits
 * into characters. */
static struct value *fn_split(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!str_arg(c, args, nargs, 0) || !str_arg(c, args, nargs, 1))
		return NULL;
	const char *sep = args[0]->str.s, *s = args[1]->str.s;
	size_t seplen = args[0]->str.len, len = args[1]->str.len;
	size_t count = split_count(s, len, sep, seplen);
	if (c->limits && count > c->limits->nodes)
		return call_error(c, "result of %zu elements exceeds the limit of %zu", count, c->limits->nodes);
	struct value *list = value_list(c->arena, count, NULL);
	size_t n = 0;
	unsigned cp;
	for (size_t i = 0, piece; !seplen && i < len; i += piece) {
		piece = str_next(s + i, len - i, &cp);
		if (!split_piece(c, list, &n, s + i, piece))
			return NULL;
	}
	for (size_t i = 0; seplen;) {
		const char *hit = memmem(s + i, len - i, sep, seplen);
		size_t piece = hit ? (size_t)(hit - (s + i)) : len - i;
		if (!split_piece(c, list, &n, s + i, piece))
			return NULL;
		if (!hit)
			break;
		i += piece + seplen;
	}
	return list;
}

/* ---- format ---- */

/* One verb: %[flags][[n]][width][.precision]letter. */
struct verb {
	size_t start, end;	/* offsets of the '%' and one past the letter */
	size_t arg;		/* 1-based argument number */
	long width, prec;	/* -1: not given */
	bool zero, sharp, plus, minus, space;
	char mode;
};

/* A decimal number, saturating at a billion (above any string limit). */
static long read_num(const char *s, size_t len, size_t *i)
{
	long n = 0;
	for (; *i < len && s[*i] >= '0' && s[*i] <= '9'; (*i)++)
		n = n >= 100000000L ? 1000000000L : n * 10 + (s[*i] - '0');
	return n;
}

static void read_flags(const char *s, size_t len, size_t *i, struct verb *v)
{
	for (; *i < len; (*i)++) {
		switch (s[*i]) {
		case '0': v->zero = true; break;
		case '#': v->sharp = true; break;
		case '-': v->minus = true; break;
		case '+': v->plus = true; break;
		case ' ': v->space = true; break;
		default: return;
		}
	}
}

static bool bad_format_char(struct call_ctx *c, const char *s, size_t len, size_t start, size_t p)
{
	if (p >= len)
		call_error(c, "incomplete verb '%s' at offset %zu", subject(c, s + start, len - start), start);
	else
		call_error(c, "unrecognized format character '%s' at offset %zu",
			   subject(c, s + p, char_bytes(s + p, len - p, 1)), p);
	return false;
}

/* Parses the verb at s[*i] == '%' (Terraform's grammar) and moves *i past it. */
static bool verb_parse(struct call_ctx *c, const char *s, size_t len, size_t *i, size_t next_arg,
		       struct verb *v)
{
	size_t p = *i + 1;
	*v = (struct verb){ .start = *i, .arg = next_arg, .width = -1, .prec = -1 };
	read_flags(s, len, &p, v);
	if (p < len && s[p] == '[') {
		if (++p >= len || s[p] < '1' || s[p] > '9')
			return bad_format_char(c, s, len, *i, p);
		v->arg = (size_t)read_num(s, len, &p);
		if (p >= len || s[p] != ']')
			return bad_format_char(c, s, len, *i, p);
		p++;
	}
	if (p < len && s[p] >= '1' && s[p] <= '9')
		v->width = read_num(s, len, &p);
	if (p < len && s[p] == '.') {
		p++;
		v->prec = read_num(s, len, &p);
	}
	if (p >= len || !((s[p] >= 'a' && s[p] <= 'z') || (s[p] >= 'A' && s[p] <= 'Z')))
		return bad_format_char(c, s, len, *i, p);
	v->mode = s[p];
	v->end = *i = p + 1;
	return true;
}

static bool verb_error(struct call_ctx *c, const char *f, const struct verb *v, const char *why)
{
	call_error(c, "unsupported value for '%.*s' at offset %zu: %s", (int)(v->end - v->start),
		   f + v->start, v->start, why);
	return false;
}

/* Pads text to the verb's width in characters (Terraform's formatPadWidth). */
static bool pad_add(struct out *o, const struct verb *v, const char *s, size_t len)
{
	size_t chars = char_count(s, len);
	size_t pad = v->width > 0 && (size_t)v->width > chars ? (size_t)v->width - chars : 0;
	char ch = v->zero ? '0' : ' ';
	if (v->minus)
		return out_add(o, s, len) && out_fill(o, ch, pad);
	return out_fill(o, ch, pad) && out_add(o, s, len);
}

static const char *json_escape(unsigned char ch)
{
	switch (ch) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	case '\b': return "\\b";
	case '\f': return "\\f";
	}
	return NULL;
}

/* A JSON string as Go's encoding/json writes it (Terraform's %q, %#v). */
static void json_quote_go(struct buf *b, const char *s, size_t len)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *e = json_escape(ch);
		if (e) {
			buf_puts(b, e);
		} else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&') {
			buf_printf(b, "\\u%04x", ch);
		} else if (ch == 0xe2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
			   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			buf_printf(b, "\\u202%c", (unsigned char)s[i + 2] == 0xa8 ? '8' : '9');
			i += 2;
		} else {
			buf_putc(b, (char)ch);
		}
	}
	buf_putc(b, '"');
}

/* Compact JSON, as Terraform's %#v prints values. */
static void json_compact(struct buf *b, const struct value *v)
{
	char num[400];
	const char *s;
	size_t len;
	switch (v->kind) {
	case VAL_NULL: buf_puts(b, "null"); return;
	case VAL_STR: json_quote_go(b, v->str.s, v->str.len); return;
	case VAL_LIST:
		buf_putc(b, '[');
		for (size_t i = 0; i < v->list.len; i++) {
			if (i)
				buf_putc(b, ',');
			json_compact(b, v->list.items[i]);
		}
		buf_putc(b, ']');
		return;
	case VAL_MAP:
		buf_putc(b, '{');
		for (size_t i = 0; i < v->map.len; i++) {
			buf_puts(b, i ? "," : "");
			json_quote_go(b, v->map.pairs[i].key, v->map.pairs[i].keylen);
			buf_putc(b, ':');
			json_compact(b, v->map.pairs[i].value);
		}
		buf_putc(b, '}');
		return;
	default:
		scalar_text(v, num, &s, &len);
		buf_add(b, s, len);
	}
}

/* %v: strings as they are, numbers as bulkhead prints them, everything
 * else (and everything under %#v) as compact JSON. */
static bool fmt_asis(struct out *o, const struct verb *v, const struct value *arg)
{
	char num[400];
	const char *s;
	size_t len;
	if (!v->sharp && (arg->kind == VAL_STR || arg->kind == VAL_INT || arg->kind == VAL_FLOAT) &&
	    scalar_text(arg, num, &s, &len))
		return pad_add(o, v, s, len);
	struct buf j = BUF_INIT;
	json_compact(&j, arg);
	bool ok = pad_add(o, v, buf_cstr(&j), j.len);
	buf_free(&j);
	return ok;
}

/* %t: a bool, or the strings "true" and "false"; no padding (as Terraform). */
static bool fmt_bool(struct call_ctx *c, struct out *o, const char *f, const struct verb *v,
		     const struct value *arg)
{
	bool b;
	if (arg->kind == VAL_BOOL)
		b = arg->b;
	else if (arg->kind == VAL_STR && arg->str.len == 4 && !memcmp(arg->str.s, "true", 4))
		b = true;
	else if (arg->kind == VAL_STR && arg->str.len == 5 && !memcmp(arg->str.s, "false", 5))
		b = false;
	else
		return verb_error(c, f, v, "a bool is required");
	return b ? out_add(o, "true", 4) : out_add(o, "false", 5);
}

/* %s and %q: strings, numbers and bools; precision truncates the input. */
static bool fmt_string(struct call_ctx *c, struct out *o, const char *f, const struct verb *v,
		       const struct value *arg)
{
	char num[400];
	const char *s;
	size_t len;
	if (!scalar_text(arg, num, &s, &len))
		return verb_error(c, f, v, "a string is required");
	if (v->prec > 0)
		len = char_bytes(s, len, (uint64_t)v->prec);
	if (v->mode == 's')
		return pad_add(o, v, s, len);
	struct buf q = BUF_INIT;
	json_quote_go(&q, s, len);
	bool ok = pad_add(o, v, buf_cstr(&q), q.len);
	buf_free(&q);
	return ok;
}

/* A number argument: a number, or a string that reads as one. */
static bool verb_number(const struct value *arg, double *d, int64_t *i, bool *is_int)
{
	*is_int = arg->kind == VAL_INT;
	if (arg->kind == VAL_INT) {
		*i = arg->i;
		*d = (double)arg->i;
		return true;
	}
	if (arg->kind == VAL_FLOAT) {
		*d = arg->f;
		return true;
	}
	if (arg->kind != VAL_STR || !arg->str.len || arg->str.len > 350)
		return false;
	char tmp[352], *end;
	memcpy(tmp, arg->str.s, arg->str.len);
	tmp[arg->str.len] = '\0';
	if (strspn(tmp, "0123456789.eE+-") != arg->str.len)
		return false;
	*d = strtod(tmp, &end);
	return *end == '\0' && isfinite(*d);
}

/* The digits of an integral magnitude: mag, or big when it passes uint64
 * (then base 10 is printf's exact expansion and the power-of-two bases
 * divide exactly).  out holds 1100 bytes. */
static size_t int_digits(uint64_t mag, double big, unsigned base, bool upper, char *out)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	if (big > 0 && base == 10)
		return (size_t)snprintf(out, 1100, "%.0f", big);
	char rev[1100];
	size_t n = 0;
	do {
		unsigned d = big > 0 ? (unsigned)fmod(big, base) : (unsigned)(mag % base);
		rev[n++] = digits[d];
		if (big > 0)
			big = (big - d) / base;
		else
			mag /= base;
	} while (big > 0 || mag);
	for (size_t k = 0; k < n; k++)
		out[k] = rev[n - 1 - k];
	return n;
}

/* %b %d %o %x %X as Go's big.Int prints them: '#' adds 0b/0/0x, the
 * precision is a minimum digit count, '-' beats '0', and '0' is ignored
 * when a precision is given. */
static bool fmt_int(struct call_ctx *c, struct out *o, const char *f, const struct verb *v,
		    const struct value *arg)
{
	double d;
	int64_t i;
	bool is_int;
	if (!verb_number(arg, &d, &i, &is_int))
		return verb_error(c, f, v, "a number is required");
	if (!is_int && d != floor(d))
		return verb_error(c, f, v, "an integer is required");
	bool neg = is_int ? i < 0 : d < 0;
	uint64_t mag = is_int ? (neg ? 0 - (uint64_t)i : (uint64_t)i) : 0;
	double big = is_int ? 0 : fabs(d);
	if (!is_int && big < 18446744073709551616.0) {
		mag = (uint64_t)big;
		big = 0;
	}
	unsigned base = v->mode == 'b' ? 2 : v->mode == 'o' ? 8 : v->mode == 'd' ? 10 : 16;
	char digits[1100];
	size_t nd = int_digits(mag, big, base, v->mode == 'X', digits);
	if (v->prec == 0 && nd == 1 && digits[0] == '0')
		return true;
	const char *sign = neg ? "-" : v->plus ? "+" : v->space ? " " : "";
	const char *prefix = !v->sharp ? "" : base == 2 ? "0b" : base == 8 ? "0" : base == 10 ? ""
			   : v->mode == 'X' ? "0X" : "0x";
	size_t zeros = v->prec > 0 && (size_t)v->prec > nd ? (size_t)v->prec - nd : 0;
	size_t length = strlen(sign) + strlen(prefix) + zeros + nd, left = 0, right = 0;
	if (v->width > 0 && (size_t)v->width > length) {
		size_t pad = (size_t)v->width - length;
		if (v->minus)
			right = pad;
		else if (v->zero && v->prec < 0)
			zeros += pad;
		else
			left = pad;
	}
	return out_fill(o, ' ', left) && out_add(o, sign, strlen(sign)) &&
	       out_add(o, prefix, strlen(prefix)) && out_fill(o, '0', zeros) && out_add(o, digits, nd) &&
	       out_fill(o, ' ', right);
}

/* %g without a precision, as Go prints a big.Float: the shortest digits
 * that read back, in exponent form when the exponent is < -4 or >= 6. */
static void shortest_g(struct buf *b, double x, bool upper)
{
	char e[48];
	int p = 0;
	for (;; p++) {
		snprintf(e, sizeof(e), "%.*e", p, x);
		if (p >= 16 || strtod(e, NULL) == x)
			break;
	}
	int exp = atoi(strchr(e, 'e') + 1);
	if (exp < -4 || exp >= 6)
		buf_printf(b, upper ? "%.*E" : "%.*e", p, x);
	else
		buf_printf(b, "%.*f", p > exp ? p - exp : 0, x);
}

/* The digits of |x| for %e %E %f %g %G (default precision 6). */
static void float_body(struct buf *b, char mode, long prec, double x)
{
	int p = prec < 0 ? 6 : (int)prec;
	if (prec < 0 && (mode == 'g' || mode == 'G')) {
		shortest_g(b, x, mode == 'G');
		return;
	}
	switch (mode) {
	case 'e': buf_printf(b, "%.*e", p, x); break;
	case 'E': buf_printf(b, "%.*E", p, x); break;
	case 'f': buf_printf(b, "%.*f", p, x); break;
	case 'g': buf_printf(b, "%.*g", p, x); break;
	default: buf_printf(b, "%.*G", p, x); break;
	}
}

/* Floats as Go's big.Float pads them: '0' beats '-', '#' is ignored. */
static bool fmt_float(struct call_ctx *c, struct out *o, const char *f, const struct verb *v,
		      const struct value *arg)
{
	double x;
	int64_t i;
	bool is_int;
	if (!verb_number(arg, &x, &i, &is_int))
		return verb_error(c, f, v, "a number is required");
	struct buf body = BUF_INIT;
	float_body(&body, v->mode, v->prec, fabs(x));
	const char *sign = x < 0 ? "-" : v->plus ? "+" : v->space ? " " : "";
	size_t length = strlen(sign) + body.len;
	size_t pad = v->width > 0 && (size_t)v->width > length ? (size_t)v->width - length : 0;
	bool ok;
	if (v->zero)
		ok = out_add(o, sign, strlen(sign)) && out_fill(o, '0', pad) && out_add(o, body.data, body.len);
	else if (v->minus)
		ok = out_add(o, sign, strlen(sign)) && out_add(o, body.data, body.len) && out_fill(o, ' ', pad);
	else
		ok = out_fill(o, ' ', pad) && out_add(o, sign, strlen(sign)) && out_add(o, body.data, body.len);
	buf_free(&body);
	return ok;
}

/* Checks the verb against the arguments, then formats one. */
static bool verb_apply(struct call_ctx *c, struct out *o, const char *f, const struct verb *v,
		       struct value **vals, size_t nvals)
{
	int len = (int)(v->end - v->start);
	if (!strchr("vtbdoxXeEfgGsq", v->mode)) {
		call_error(c, "unsupported format verb '%c' in '%.*s' at offset %zu", v->mode, len,
			   f + v->start, v->start);
		return false;
	}
	if (v->arg > nvals) {
		call_error(c, "not enough arguments for '%.*s' at offset %zu: need argument %zu but have %zu",
			   len, f + v->start, v->start, v->arg, nvals);
		return false;
	}
	if ((v->width > 0 && (size_t)v->width > o->limit) || (v->prec > 0 && (size_t)v->prec > o->limit))
		return verb_error(c, f, v, "width or precision exceeds the string limit");
	const struct value *arg = vals[v->arg - 1];
	if (v->mode == 'v')
		return fmt_asis(o, v, arg);
	if (arg->kind == VAL_NULL)
		return verb_error(c, f, v, "null value cannot be formatted");
	switch (v->mode) {
	case 't': return fmt_bool(c, o, f, v, arg);
	case 's': case 'q': return fmt_string(c, o, f, v, arg);
	case 'e': case 'E': case 'f': case 'g': case 'G': return fmt_float(c, o, f, v, arg);
	default: return fmt_int(c, o, f, v, arg);
	}
}

/* format(spec, args...): Terraform's printf; every argument must be used. */
static struct value *fn_format(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!str_arg(c, args, nargs, 0))
		return NULL;
	for (size_t k = 1; k < nargs; k++)
		if (!args[k])
			return call_error(c, "argument %zu is missing", k + 1);
	const char *f = args[0]->str.s;
	size_t len = args[0]->str.len, nvals = nargs - 1, next = 1, used = 0;
	struct out o;
	out_init(&o, c);
	bool ok = true;
	for (size_t i = 0; ok && i < len;) {
		const char *pct = memchr(f + i, '%', len - i);
		size_t lit = pct ? (size_t)(pct - (f + i)) : len - i;
		if (!out_add(&o, f + i, lit))
			break;
		i += lit;
		if (i >= len)
			break;
		if (i + 1 < len && f[i + 1] == '%') {
			ok = out_add(&o, "%", 1);
			i += 2;
			continue;
		}
		struct verb v;
		ok = verb_parse(c, f, len, &i, next, &v) && verb_apply(c, &o, f, &v, args + 1, nvals);
		next = v.arg + 1;
		used = v.arg > used ? v.arg : used;
	}
	if (ok && !o.over && used < nvals) {
		if (used)
			call_error(c, "too many arguments; only %zu used by the format string", used);
		else
			call_error(c, "too many arguments; no verbs in the format string");
		ok = false;
	}
	return out_finish(c, &o, ok);
}

/* ---- regular expressions: RE2 syntax on PCRE2, with bounded time ---- */

enum {
	RE_MAX_PATTERN = 16384,		/* bytes */
	RE_MATCH_LIMIT = 1000000,	/* backtracking steps per match */
	/* Steps of one call in all (regex, regexall, replace): PCRE2's match
	 * limit counts from zero again at each start position, so a subject
	 * of many blocks each just under it cost its length times the limit
	 * (a 25 KB one took 16 s).  The pattern's callouts count them all. */
	RE_CALL_STEPS = 20000000,
	RE_DEPTH_LIMIT = 10000,		/* nested backtracking points */
	RE_HEAP_LIMIT = 65536,		/* KiB of backtracking memory */
	RE_MAX_REPEAT = 1000,		/* RE2's largest {n,m} */
};

struct regex {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	uint32_t ncap;		/* capture groups, not counting the whole match */
	uint32_t nnames;
	size_t steps;		/* callouts so far, in every match of the call */
};

/* Called before each item of the pattern is matched (PCRE2_AUTO_CALLOUT),
 * backtracking included: a step.  Past the call's budget, the match is
 * abandoned. */
static int re_step(pcre2_callout_block *block, void *data)
{
	struct regex *re = data;
	(void)block;
	return ++re->steps > RE_CALL_STEPS ? PCRE2_ERROR_CALLOUT : 0;
}

static bool not_re2(struct call_ctx *c)
{
	call_error(c, "backreferences/lookaround are not supported (RE2 syntax)");
	return false;
}

static bool unsupported(struct call_ctx *c, const char *what, size_t len)
{
	call_error(c, "'%s' in a pattern is not supported (RE2 syntax)", subject(c, what, len));
	return false;
}

/* An escape at p[*i] == '\\', as RE2 reads it, copied to out as PCRE2
 * reads the same thing; *i moves to its end.  RE2 has octal escapes
 * (\0, \12, \101: up to three digits, a lone \1-\7 is a backreference)
 * where PCRE2 would take \12 as a backreference when there are twelve
 * groups: they go to PCRE2 as \o{..}.  Escapes RE2 lacks (\K \Z \h \R
 * \G \X ...) are refused rather than given PCRE2's meaning. */
static bool re2_escape(struct call_ctx *c, const char *p, size_t len, size_t *i, struct buf *out)
{
	size_t start = *i;
	if (*i + 1 >= len) {
		buf_add(out, p + start, len - start);
		return true;	/* PCRE2 reports the trailing backslash */
	}
	char e = p[++*i];
	if (e >= '0' && e <= '7') {
		size_t n = 1;
		while (n < 3 && *i + n < len && p[*i + n] >= '0' && p[*i + n] <= '7')
			n++;
		if (e != '0' && n == 1)
			return not_re2(c);
		buf_puts(out, "\\o{");
		buf_add(out, p + *i, n);
		buf_putc(out, '}');
		*i += n - 1;
		return true;
	}
	if (e == 'Q') {
		const char *end = memmem(p + *i, len - *i, "\\E", 2);
		*i = end ? (size_t)(end - p) + 1 : len - 1;
	} else if (e && strchr("xpP", e) && *i + 1 < len && p[*i + 1] == '{') {
		const char *end = memchr(p + *i, '}', len - *i);
		*i = end ? (size_t)(end - p) : len - 1;
	} else if (e == '8' || e == '9' || e == 'g' || e == 'k') {
		return not_re2(c);
	} else if (isalpha((unsigned char)e) && !strchr("aftnrvdDsSwWbBAzpPx", e)) {
		return unsupported(c, p + start, 2);
	}
	buf_add(out, p + start, *i + 1 - start);
	return true;
}

/* A group at p[i] == '(': only (?:, named groups and flag groups. */
static bool re2_group(struct call_ctx *c, const char *p, size_t len, size_t i)
{
	if (i + 1 < len && p[i + 1] == '*')
		return unsupported(c, p + i, 2);
	if (i + 1 >= len || p[i + 1] != '?')
		return true;
	const char *q = p + i + 2;
	size_t n = len - i - 2, k = 0;
	if (n && (q[0] == '=' || q[0] == '!'))
		return not_re2(c);
	if (n >= 2 && q[0] == '<' && (q[1] == '=' || q[1] == '!'))
		return not_re2(c);
	if ((n && q[0] == '<') || (n >= 2 && q[0] == 'P' && q[1] == '<'))
		return true;
	if (n >= 2 && q[0] == 'P' && (q[1] == '=' || q[1] == '>'))
		return not_re2(c);
	while (k < n && q[k] && strchr("imsU-", q[k]))
		k++;
	if (k < n && (q[k] == ':' || q[k] == ')'))
		return true;
	return unsupported(c, p + i, 2 + char_bytes(q, n, 1));
}

/* A repeat {n}, {n,} or {n,m} at p[i] == '{' (anything else is literal). */
static bool re2_repeat(struct call_ctx *c, const char *p, size_t len, size_t i)
{
	size_t j = i + 1;
	long lo = read_num(p, len, &j), hi = 0;
	if (j == i + 1)
		return true;
	if (j < len && p[j] == ',') {
		j++;
		hi = read_num(p, len, &j);
	}
	if (j >= len || p[j] != '}')
		return true;
	if (lo > RE_MAX_REPEAT || hi > RE_MAX_REPEAT) {
		call_error(c, "repeat count '%s' exceeds %d (RE2 syntax)", subject(c, p + i, j + 1 - i),
			   RE_MAX_REPEAT);
		return false;
	}
	return true;
}

/* Skips a character class starting at p[i] == '['; returns its last index. */
static size_t re2_class_end(const char *p, size_t len, size_t i)
{
	size_t j = i + 1;
	if (j < len && p[j] == '^')
		j++;
	if (j < len && p[j] == ']')
		j++;
	for (; j < len && p[j] != ']'; j++) {
		if (p[j] == '\\')
			j++;
		else if (p[j] == '[' && j + 1 < len && p[j + 1] == ':') {
			const char *end = memmem(p + j, len - j, ":]", 2);
			j = end ? (size_t)(end - p) + 1 : j;
		}
	}
	return j;
}

/* A character class at p[*i] == '[', its escapes as re2_escape reads
 * them; *i moves to its closing ']'. */
static bool re2_class(struct call_ctx *c, const char *p, size_t len, size_t *i, struct buf *out)
{
	size_t end = re2_class_end(p, len, *i);
	buf_putc(out, '[');
	for (size_t k = *i + 1; k < end && k < len; k++) {
		if (p[k] != '\\')
			buf_putc(out, p[k]);
		else if (!re2_escape(c, p, len, &k, out))
			return false;
	}
	if (end < len)
		buf_putc(out, p[end]);
	*i = end;
	return true;
}

/* Copies the RE2 pattern p to out as PCRE2 is to read it (re2_escape),
 * refusing what RE2 lacks and what makes a backtracking engine slow:
 * backreferences, lookaround, recursion, conditionals, atomic groups,
 * backtracking verbs, escapes of PCRE only, repeat counts above 1000. */
static bool re2_check(struct call_ctx *c, const char *p, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		bool ok = true;
		if (p[i] == '\\') {
			ok = re2_escape(c, p, len, &i, out);
		} else if (p[i] == '[') {
			ok = re2_class(c, p, len, &i, out);
		} else {
			if (p[i] == '(')
				ok = re2_group(c, p, len, i);
			else if (p[i] == '{')
				ok = re2_repeat(c, p, len, i);
			else if (strchr("*+?}", p[i]) && i + 1 < len && p[i + 1] == '+')
				ok = unsupported(c, p + i, 2);	/* possessive: PCRE only */
			buf_putc(out, p[i]);
		}
		if (!ok)
			return false;
	}
	return true;
}

static void re_free(struct regex *re)
{
	pcre2_match_context_free(re->mctx);
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	memset(re, 0, sizeof(*re));
}

/* Compiles pcre, the PCRE2 form of the pattern pat that errors name. */
static pcre2_code *re_pcre2(struct call_ctx *c, const char *pat, size_t len, const struct buf *pcre)
{
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	if (!cc) {
		call_error(c, "out of memory compiling a pattern");
		return NULL;
	}
	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	pcre2_set_max_pattern_length(cc, RE_MAX_PATTERN);
	int err;
	PCRE2_SIZE at;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)buf_cstr(pcre), pcre->len,
					 PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C | PCRE2_AUTO_CALLOUT, &err,
					 &at, cc);
	pcre2_compile_context_free(cc);
	if (!code) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof(msg));
		/* Offsets are the PCRE2 form's: the pattern's own only when
		 * no octal escape was rewritten. */
		if (pcre->len == len)
			call_error(c, "invalid pattern '%s': %s at offset %zu", subject(c, pat, len), (char *)msg,
				   (size_t)at);
		else
			call_error(c, "invalid pattern '%s': %s", subject(c, pat, len), (char *)msg);
	}
	return code;
}

/* Compiles pat with the RE2 checks and the match limits; on failure
 * reports and leaves nothing to free. */
static bool re_compile(struct call_ctx *c, const char *pat, size_t len, struct regex *re)
{
	memset(re, 0, sizeof(*re));
	if (len > RE_MAX_PATTERN) {
		call_error(c, "pattern of %zu bytes exceeds the limit of %d bytes", len, RE_MAX_PATTERN);
		return false;
	}
	struct buf pcre = BUF_INIT;
	bool ok = re2_check(c, pat, len, &pcre) && (re->code = re_pcre2(c, pat, len, &pcre));
	buf_free(&pcre);
	if (!ok)
		return false;
	pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &re->ncap);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &re->nnames);
	re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
	re->mctx = pcre2_match_context_create(NULL);
	if (!re->md || !re->mctx) {
		call_error(c, "out of memory compiling a pattern");
		re_free(re);
		return false;
	}
	pcre2_set_match_limit(re->mctx, RE_MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, RE_DEPTH_LIMIT);
	pcre2_set_heap_limit(re->mctx, RE_HEAP_LIMIT);
	pcre2_set_callout(re->mctx, re_step, re);
	return true;
}

/* 1 on a match, 0 on none, -1 after reporting an error.  The subject is
 * checked as UTF-8 on the first call only (opts 0); later calls on the
 * same subject pass PCRE2_NO_UTF_CHECK to stay linear. */
static int re_exec(struct call_ctx *c, struct regex *re, const char *s, size_t len, size_t start,
		   uint32_t opts)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)(len ? s : ""), len, start, opts, re->md, re->mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
	    rc == PCRE2_ERROR_CALLOUT) {
		call_error(c, "pattern is too expensive to match (backtracking limit reached)");
	} else {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(rc, msg, sizeof(msg));
		call_error(c, "matching failed: %s", (char *)msg);
	}
	return -1;
}

/* Start and end of group k of the last match; false when it did not take part. */
static bool re_group(const struct regex *re, const char *s, uint32_t k, const char **at, size_t *len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
	if (k >= pcre2_get_ovector_count(re->md) || ov[2 * k] == PCRE2_UNSET)
		return false;
	*at = s + ov[2 * k];
	*len = ov[2 * k + 1] > ov[2 * k] ? ov[2 * k + 1] - ov[2 * k] : 0;
	return true;
}

static struct value *group_value(struct call_ctx *c, const struct regex *re, const char *s, uint32_t k)
{
	const char *at;
	size_t len;
	if (!re_group(re, s, k, &at, &len))
		return value_null(c->arena, NULL);
	return string_value(c, at, len);
}

/* Named groups as a map (unmatched ones null). */
static struct value *named_groups(struct call_ctx *c, const struct regex *re, const char *s)
{
	PCRE2_SPTR table;
	uint32_t size;
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &size);
	struct value *map = value_map_room(c->arena, re->nnames);
	for (uint32_t i = 0; i < re->nnames; i++) {
		PCRE2_SPTR e = table + (size_t)i * size;
		struct value *v = group_value(c, re, s, (uint32_t)(e[0] << 8 | e[1]));
		if (!v)
			return NULL;
		value_map_add(map, arena_strdup(c->arena, (const char *)e + 2), v);
	}
	value_map_sort(map);
	return map;
}

/* regex's result: the match, a list of the groups, or a map of named groups. */
static struct value *match_value(struct call_ctx *c, const struct regex *re, const char *s)
{
	if (!re->ncap)
		return group_value(c, re, s, 0);
	if (re->nnames)
		return named_groups(c, re, s);
	struct value *list = value_list(c->arena, re->ncap, NULL);
	for (uint32_t k = 1; k <= re->ncap; k++)
		if (!(list->list.items[k - 1] = group_value(c, re, s, k)))
			return NULL;
	return list;
}

static struct value *fn_regex(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!str_arg(c, args, nargs, 0) || !str_arg(c, args, nargs, 1))
		return NULL;
	const struct value *pat = args[0], *str = args[1];
	struct regex re;
	if (!re_compile(c, pat->str.s, pat->str.len, &re))
		return NULL;
	struct value *r = NULL;
	int m = -1;
	if (re.nnames && re.nnames != re.ncap)
		call_error(c, "invalid pattern '%s': cannot mix named and unnamed capture groups",
			   subject(c, pat->str.s, pat->str.len));
	else
		m = re_exec(c, &re, str->str.s, str->str.len, 0, 0);
	if (m == 0)
		call_error(c, "pattern '%s' did not match any part of '%s'", subject(c, pat->str.s, pat->str.len),
			   subject(c, str->str.s, str->str.len));
	else if (m == 1)
		r = match_value(c, &re, str->str.s);
	re_free(&re);
	return r;
}

/* The group a replacement names ("1", "name"), as Go's Regexp.Expand
 * reads it: digits without a leading zero are a number; -1 if none. */
static long template_group(const struct regex *re, const char *name, size_t len)
{
	long num = 0;
	for (size_t i = 0; i < len && num >= 0; i++)
		num = name[i] >= '0' && name[i] <= '9' && num < 100000000L ? num * 10 + (name[i] - '0') : -1;
	if (num >= 0 && !(name[0] == '0' && len > 1))
		return num <= (long)re->ncap ? num : -1;
	char buf[40];
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	int k = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)buf);
	return k > 0 ? k : -1;
}

static bool is_name_char(unsigned cp)
{
	locale_t loc = utf8_locale();
	if (cp < 0x80 || !loc)
		return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
	return cp != BAD_CHAR && iswalnum_l((wint_t)cp, loc);
}

/* After a '$' at t[*i - 1]: "name" or "{name}"; false if malformed. */
static bool template_name(const char *t, size_t len, size_t *i, const char **name, size_t *nlen)
{
	bool brace = *i < len && t[*i] == '{';
	size_t j = *i + brace;
	unsigned cp;
	while (j < len) {
		size_t n = str_next(t + j, len - j, &cp);
		if (!is_name_char(cp))
			break;
		j += n;
	}
	*name = t + *i + brace;
	*nlen = j - (*i + brace);
	if (!*nlen || (brace && (j >= len || t[j] != '}')))
		return false;
	*i = j + brace;
	return true;
}

/* Appends the replacement with $1, ${1}, $name, ${name} and $$ expanded. */
static bool expand(struct out *o, const struct regex *re, const char *t, size_t len, const char *s)
{
	for (size_t i = 0; i < len;) {
		const char *dollar = memchr(t + i, '$', len - i);
		if (!dollar)
			return out_add(o, t + i, len - i);
		if (!out_add(o, t + i, (size_t)(dollar - (t + i))))
			return false;
		i = (size_t)(dollar - t) + 1;
		const char *name, *at;
		size_t nlen, glen;
		if (i < len && t[i] == '$') {
			i++;
			if (!out_add(o, "$", 1))
				return false;
		} else if (!template_name(t, len, &i, &name, &nlen)) {
			if (!out_add(o, "$", 1))
				return false;
		} else {
			long k = template_group(re, name, nlen);
			if (k >= 0 && re_group(re, s, (uint32_t)k, &at, &glen) && !out_add(o, at, glen))
				return false;
		}
	}
	return true;
}

/* Go's Regexp.ReplaceAllString: an empty match right after a match is
 * not replaced, and the search always advances by a character. */
static struct value *regex_replace(struct call_ctx *c, const struct value *str, const char *pat, size_t plen,
				   const struct value *rep)
{
	struct regex re;
	if (!re_compile(c, pat, plen, &re))
		return NULL;
	const char *s = str->str.s;
	size_t len = str->str.len, search = 0, last = 0;
	struct out o;
	out_init(&o, c);
	bool ok = true;
	for (uint32_t opts = 0; ok && search <= len; opts = PCRE2_NO_UTF_CHECK) {
		int m = re_exec(c, &re, s, len, search, opts);
		if (m <= 0) {
			ok = m == 0;
			break;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re.md);
		size_t from = ov[0] > last ? ov[0] : last, to = ov[1] > from ? ov[1] : from;
		ok = out_add(&o, s + last, from - last);
		if (ok && (to > last || from == 0))
			ok = expand(&o, &re, rep->str.s, rep->str.len, s);
		last = to;
		unsigned cp;
		size_t w = search < len ? str_next(s + search, len - search, &cp) : 1;
		search = search + w > to ? search + w : to;
	}
	ok = ok && out_add(&o, s + last, len - last);
	re_free(&re);
	return out_finish(c, &o, ok);
}

/* Go's strings.Replace: an empty substring matches before every character
 * and at the end. */
static struct value *literal_replace(struct call_ctx *c, const struct value *str, const struct value *sub,
				     const struct value *rep)
{
	const char *s = str->str.s;
	size_t len = str->str.len;
	struct out o;
	out_init(&o, c);
	bool ok = true;
	unsigned cp;
	for (size_t i = 0, n; ok && !sub->str.len; i += n) {
		ok = out_add(&o, rep->str.s, rep->str.len);
		if (i >= len)
			break;
		n = str_next(s + i, len - i, &cp);
		ok = ok && out_add(&o, s + i, n);
	}
	for (size_t i = 0; ok && sub->str.len;) {
		const char *hit = memmem(s + i, len - i, sub->str.s, sub->str.len);
		size_t lit = hit ? (size_t)(hit - (s + i)) : len - i;
		ok = out_add(&o, s + i, lit);
		if (!hit)
			break;
		ok = ok && out_add(&o, rep->str.s, rep->str.len);
		i += lit + sub->str.len;
	}
	return out_finish(c, &o, ok);
}

/* replace(str, substr, replacement); "/re/" makes substr a regex. */
static struct value *fn_replace(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!str_arg(c, args, nargs, 0) || !str_arg(c, args, nargs, 1) || !str_arg(c, args, nargs, 2))
		return NULL;
	const struct value *sub = args[1];
	if (sub->str.len > 1 && sub->str.s[0] == '/' && sub->str.s[sub->str.len - 1] == '/')
		return regex_replace(c, args[0], sub->str.s + 1, sub->str.len - 2, args[2]);
	return literal_replace(c, args[0], sub, args[2]);
}

const struct builtin stdlib_string[] = {
	{ "format", 1, -1, fn_format },
	{ "join", 2, -1, fn_join },
	{ "split", 2, 2, fn_split },
	{ "upper", 1, 1, fn_upper },
	{ "lower", 1, 1, fn_lower },
	{ "title", 1, 1, fn_title },
	{ "trimspace", 1, 1, fn_trimspace },
	{ "replace", 3, 3, fn_replace },
	{ "regex", 2, 2, fn_regex },
	{ "substr", 3, 3, fn_substr },
	{ "startswith", 2, 2, fn_startswith },
	{ "endswith", 2, 2, fn_endswith },
	{ NULL, 0, 0, NULL },
};
