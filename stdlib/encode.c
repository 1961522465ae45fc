/* encode.c - type conversion and JSON/YAML text: tostring tonumber tobool
 * jsonencode jsondecode yamldecode.
 *
 * jsonencode writes compact JSON with sorted keys, escaping as Terraform
 * (Go's encoding/json) does: <, > and & as \u003c \u003e \u0026, U+2028
 * and U+2029 as \u2028 \u2029, and invalid UTF-8 as \ufffd.
 *
 * jsondecode and yamldecode go through the strict YAML loader and the
 * project's limits.  jsondecode first checks the text against the JSON
 * grammar (RFC 8259) itself, so YAML that is not JSON (plain words, block
 * style, single quotes, comments, trailing commas, anchors, tags) is
 * refused; those errors are reported at the call as "jsondecode: invalid
 * JSON: ... at line L, column C".  The checked text goes to the loader
 * with a few JSON-only forms rewritten into their YAML equivalents
 * (surrogate-pair escapes, raw characters YAML does not allow in a
 * quoted scalar).  Errors the loader finds (duplicate keys, limits,
 * integers beyond int64, "\u0000") are reported, prefixed "jsondecode: ",
 * in a synthetic file named "jsondecode() argument" (or "yamldecode()
 * argument") whose text is the argument, so line and column point into
 * the decoded text; a note points at the call.  Decoded values are computed
 * values (no origin); integral numbers become integers. */
#include "builtins.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { NEST_MAX = 1024 };

/* ---- tostring tonumber tobool ---- */

static struct value *fn_tostring(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	struct value *v = args[0];
	char num[400];
	switch (v->kind) {
	case VAL_NULL:
	case VAL_STR: return v;
	case VAL_BOOL: return value_cstr(c->arena, v->b ? "true" : "false");
	case VAL_INT: snprintf(num, sizeof(num), "%lld", (long long)v->i); break;
	case VAL_FLOAT: format_double(v->f, num, sizeof(num)); break;
	default: return call_error(c, "cannot convert %s to a string", value_kind_phrase(v));
	}
	return string_value(c, num, strlen(num));
}

static size_t skip_digits(const char *s, size_t i, size_t len)
{
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* [+-]?(digits[.digits?] | .digits)([eE][+-]?digits)?; sets *integral
 * when there is neither a point nor an exponent. */
static bool decimal_syntax(const char *s, size_t len, bool *integral)
{
	size_t i = len && (s[0] == '+' || s[0] == '-') ? 1 : 0;
	size_t int_end = skip_digits(s, i, len), frac_end = int_end;
	*integral = true;
	if (int_end < len && s[int_end] == '.') {
		*integral = false;
		frac_end = skip_digits(s, int_end + 1, len);
	}
	if (int_end == i && frac_end <= int_end + 1)
		return false;
	i = frac_end;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		*integral = false;
		i += i + 1 < len && (s[i + 1] == '+' || s[i + 1] == '-') ? 2 : 1;
		size_t end = skip_digits(s, i, len);
		if (end == i)
			return false;
		i = end;
	}
	return i == len;
}

static struct value *parse_number(struct call_ctx *c, const struct value *v)
{
	const char *s = v->str.s;
	size_t len = v->str.len;
	bool integral;
	if (!decimal_syntax(s, len, &integral))
		return call_error(c, "cannot convert '%.*s' to a number: it is not a decimal number",
				  call_clip(s, len), s);
	char *text = arena_strndup(c->arena, s, len);
	errno = 0;
	if (integral) {
		long long i = strtoll(text, NULL, 10);
		if (errno == ERANGE)
			return call_error(c, "integer '%.*s' is out of range (int64)", call_clip(s, len), s);
		return value_int(c->arena, i, NULL);
	}
	double d = strtod(text, NULL);
	if (!isfinite(d))
		return call_error(c, "number '%.*s' is out of range", call_clip(s, len), s);
	return number_value(c, d);
}

static struct value *fn_tonumber(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	struct value *v = args[0];
	switch (v->kind) {
	case VAL_NULL:
	case VAL_INT:
	case VAL_FLOAT: return v;
	case VAL_STR: return parse_number(c, v);
	default: return call_error(c, "cannot convert %s to a number", value_kind_phrase(v));
	}
}

static bool str_is(const struct value *v, const char *word)
{
	return v->str.len == strlen(word) && !memcmp(v->str.s, word, v->str.len);
}

static struct value *fn_tobool(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	struct value *v = args[0];
	switch (v->kind) {
	case VAL_NULL:
	case VAL_BOOL: return v;
	case VAL_STR:
		if (str_is(v, "true") || str_is(v, "false"))
			return value_bool(c->arena, str_is(v, "true"), NULL);
		return call_error(c, "cannot convert '%.*s' to a bool: only 'true' and 'false' are allowed",
				  call_clip(v->str.s, v->str.len), v->str.s);
	default: return call_error(c, "cannot convert %s to a bool", value_kind_phrase(v));
	}
}

/* ---- jsonencode ---- */

struct enc {
	struct call_ctx *c;
	struct buf out;
	size_t max;		/* string limit */
};

static void enc_ascii(struct buf *out, unsigned char ch)
{
	switch (ch) {
	case '"': buf_puts(out, "\\\""); return;
	case '\\': buf_puts(out, "\\\\"); return;
	case '\n': buf_puts(out, "\\n"); return;
	case '\r': buf_puts(out, "\\r"); return;
	case '\t': buf_puts(out, "\\t"); return;
	case '\b': buf_puts(out, "\\b"); return;
	case '\f': buf_puts(out, "\\f"); return;
	case '<': case '>': case '&': buf_printf(out, "\\u%04x", ch); return;
	default:
		if (ch < 0x20)
			buf_printf(out, "\\u%04x", ch);
		else
			buf_putc(out, (char)ch);
	}
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const char *s, size_t len)
{
	unsigned char ch = (unsigned char)s[0];
	size_t n = (ch & 0xe0) == 0xc0 ? 2 : (ch & 0xf0) == 0xe0 ? 3 : (ch & 0xf8) == 0xf0 ? 4 : 0;
	size_t bad;
	if (!n || n > len || utf8_validate(s, n, &bad) < 0)
		return 0;
	return n;
}

static void enc_string(struct buf *out, const char *s, size_t len)
{
	buf_putc(out, '"');
	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t n = (unsigned char)s[i] < 0x80 ? 1 : utf8_seq(s + i, len - i);
		if (n == 1)
			enc_ascii(out, (unsigned char)s[i]);
		else if (!n)
			buf_puts(out, "\\ufffd");
		else if (utf8_decode(s + i, n, &cp) && (cp == 0x2028 || cp == 0x2029))
			buf_printf(out, "\\u%04x", cp);
		else
			buf_add(out, s + i, n);
		i += n ? n : 1;
	}
	buf_putc(out, '"');
}

static bool enc_value(struct enc *e, const struct value *v, unsigned depth);

static bool enc_list(struct enc *e, const struct value *v, unsigned depth)
{
	buf_putc(&e->out, '[');
	for (size_t i = 0; i < v->list.len; i++) {
		if (i)
			buf_putc(&e->out, ',');
		if (!enc_value(e, v->list.items[i], depth + 1))
			return false;
	}
	buf_putc(&e->out, ']');
	return true;
}

static bool enc_map(struct enc *e, const struct value *v, unsigned depth)
{
	buf_putc(&e->out, '{');
	for (size_t i = 0; i < v->map.len; i++) {
		if (i)
			buf_putc(&e->out, ',');
		enc_string(&e->out, v->map.pairs[i].key, v->map.pairs[i].keylen);
		buf_putc(&e->out, ':');
		if (!enc_value(e, v->map.pairs[i].value, depth + 1))
			return false;
	}
	buf_putc(&e->out, '}');
	return true;
}

static bool enc_value(struct enc *e, const struct value *v, unsigned depth)
{
	char num[400];
	if (depth > NEST_MAX || e->out.len > e->max) {
		if (depth > NEST_MAX)
			call_error(e->c, "value is nested deeper than %d levels", NEST_MAX);
		else
			call_error(e->c, "result exceeds the string limit of %zu bytes", e->max);
		return false;
	}
	switch (v->kind) {
	case VAL_NULL: buf_puts(&e->out, "null"); return true;
	case VAL_BOOL: buf_puts(&e->out, v->b ? "true" : "false"); return true;
	case VAL_INT: buf_printf(&e->out, "%lld", (long long)v->i); return true;
	case VAL_FLOAT:
		if (!isfinite(v->f)) {
			call_error(e->c, "cannot encode a number that is not finite");
			return false;
		}
		format_double(v->f, num, sizeof(num));
		buf_puts(&e->out, num);
		return true;
	case VAL_STR: enc_string(&e->out, v->str.s, v->str.len); return true;
	case VAL_LIST: return enc_list(e, v, depth);
	default: return enc_map(e, v, depth);
	}
}

static struct value *fn_jsonencode(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	struct enc e = { c, BUF_INIT, call_limits(c)->string_size };
	struct value *out = NULL;
	if (enc_value(&e, args[0], 0))
		out = string_value(c, buf_cstr(&e.out), e.out.len);
	buf_free(&e.out);
	return out;
}

/* ---- the JSON grammar check for jsondecode ---- */

struct jp {
	struct call_ctx *c;
	const char *s;
	size_t len, pos;
	struct buf out;		/* the text for the YAML loader */
	size_t depth, max_depth;
};

static bool jp_fail(struct jp *p, const char *what)
{
	struct srcfile f = { NULL, p->s, p->len };
	unsigned line, col;
	srcfile_position(&f, p->pos, &line, &col);
	call_error(p->c, "invalid JSON: %s at line %u, column %u", what, line, col);
	return false;
}

static bool jp_unexpected(struct jp *p)
{
	char what[64];
	unsigned cp;
	if (p->pos >= p->len)
		return jp_fail(p, "unexpected end of text");
	utf8_decode(p->s + p->pos, p->len - p->pos, &cp);
	if (cp > 0x20 && cp < 0x7f)
		snprintf(what, sizeof(what), "unexpected character '%c'", (char)cp);
	else
		snprintf(what, sizeof(what), "unexpected character U+%04X", cp);
	return jp_fail(p, what);
}

static int jp_peek(const struct jp *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void jp_copy(struct jp *p, size_t n)
{
	buf_add(&p->out, p->s + p->pos, n);
	p->pos += n;
}

static void jp_ws(struct jp *p)
{
	while (jp_peek(p) == ' ' || jp_peek(p) == '\t' || jp_peek(p) == '\n' || jp_peek(p) == '\r')
		jp_copy(p, 1);
}

static bool jp_literal(struct jp *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
		return jp_unexpected(p);
	jp_copy(p, n);
	return true;
}

static size_t jp_digits(struct jp *p, size_t i)
{
	while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
		i++;
	return i;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool jp_number(struct jp *p)
{
	size_t i = p->pos + (jp_peek(p) == '-'), end;
	if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
		return jp_fail(p, "invalid number");
	i = p->s[i] == '0' ? i + 1 : jp_digits(p, i);
	if (i < p->len && p->s[i] == '.') {
		if ((end = jp_digits(p, i + 1)) == i + 1)
			return jp_fail(p, "invalid number");
		i = end;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		i += i + 1 < p->len && (p->s[i + 1] == '+' || p->s[i + 1] == '-') ? 2 : 1;
		if ((end = jp_digits(p, i)) == i)
			return jp_fail(p, "invalid number");
		i = end;
	}
	jp_copy(p, i - p->pos);
	return true;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The code unit of a \uXXXX at s + i, or -1. */
static long jp_u16(const struct jp *p, size_t i)
{
	long v = 0;
	if (p->len - i < 6 || p->s[i] != '\\' || p->s[i + 1] != 'u')
		return -1;
	for (size_t k = 2; k < 6; k++) {
		int d = hex_digit(p->s[i + k]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* \uXXXX: a surrogate pair becomes YAML's \UXXXXXXXX, a lone surrogate
 * U+FFFD (as Go decodes it). */
static bool jp_unicode_escape(struct jp *p)
{
	long hi = jp_u16(p, p->pos), lo;
	if (hi < 0) {
		p->pos++;
		return jp_fail(p, "invalid \\u escape");
	}
	if (hi < 0xd800 || hi > 0xdfff) {
		jp_copy(p, 6);
		return true;
	}
	lo = jp_u16(p, p->pos + 6);
	if (hi < 0xdc00 && lo >= 0xdc00 && lo <= 0xdfff) {
		buf_printf(&p->out, "\\U%08lX", 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
		p->pos += 12;
	} else {
		buf_puts(&p->out, "\\ufffd");
		p->pos += 6;
	}
	return true;
}

static bool jp_escape(struct jp *p)
{
	if (p->pos + 1 >= p->len)
		return jp_fail(p, "unterminated string");
	char ch = p->s[p->pos + 1];
	if (ch == 'u')
		return jp_unicode_escape(p);
	if (!ch || !strchr("\"\\/bfnrt", ch)) {
		p->pos++;
		return jp_fail(p, "invalid escape in a string");
	}
	jp_copy(p, 2);
	return true;
}

/* Characters JSON allows raw in a string but a YAML quoted scalar does
 * not (non-printable, or line breaks that YAML would fold). */
static bool yaml_unsafe(unsigned cp)
{
	return cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0xfeff || cp == 0xfffe || cp == 0xffff;
}

static bool jp_string(struct jp *p)
{
	jp_copy(p, 1);
	for (;;) {
		int ch = jp_peek(p);
		unsigned cp;
		if (ch < 0)
			return jp_fail(p, "unterminated string");
		if (ch == '"') {
			jp_copy(p, 1);
			return true;
		}
		if (ch < 0x20)
			return jp_fail(p, "control character in a string (escape it)");
		if (ch == '\\') {
			if (!jp_escape(p))
				return false;
			continue;
		}
		size_t n = utf8_decode(p->s + p->pos, p->len - p->pos, &cp);
		if (yaml_unsafe(cp)) {
			buf_printf(&p->out, "\\u%04x", cp);
			p->pos += n;
		} else {
			jp_copy(p, n);
		}
	}
}

static bool jp_value(struct jp *p);

/* '[' or '{' opening a container of depth + 1. */
static bool jp_open(struct jp *p)
{
	if (++p->depth > p->max_depth) {
		char what[64];
		snprintf(what, sizeof(what), "nesting deeper than %zu levels", p->max_depth);
		return jp_fail(p, what);
	}
	jp_copy(p, 1);
	jp_ws(p);
	return true;
}

static bool jp_member(struct jp *p)
{
	if (jp_peek(p) != '"')
		return jp_unexpected(p);
	if (!jp_string(p))
		return false;
	jp_ws(p);
	if (jp_peek(p) != ':')
		return jp_unexpected(p);
	jp_copy(p, 1);
	jp_ws(p);
	return jp_value(p);
}

/* An array or object: items separated by commas up to the closing char. */
static bool jp_container(struct jp *p, char close, bool (*item)(struct jp *))
{
	if (!jp_open(p))
		return false;
	if (jp_peek(p) != close) {
		for (;;) {
			if (!item(p))
				return false;
			jp_ws(p);
			if (jp_peek(p) == close)
				break;
			if (jp_peek(p) != ',')
				return jp_unexpected(p);
			jp_copy(p, 1);
			jp_ws(p);
		}
	}
	jp_copy(p, 1);
	p->depth--;
	return true;
}

static bool jp_value(struct jp *p)
{
	switch (jp_peek(p)) {
	case '{': return jp_container(p, '}', jp_member);
	case '[': return jp_container(p, ']', jp_value);
	case '"': return jp_string(p);
	case 't': return jp_literal(p, "true");
	case 'f': return jp_literal(p, "false");
	case 'n': return jp_literal(p, "null");
	default:
		if (jp_peek(p) == '-' || (jp_peek(p) >= '0' && jp_peek(p) <= '9'))
			return jp_number(p);
		return jp_unexpected(p);
	}
}

/* Checks s as one JSON text; on success out holds the loader's text. */
static bool json_check(struct call_ctx *c, const char *s, size_t len, struct buf *out)
{
	struct jp p = { c, s, len, 0, BUF_INIT, 0, call_limits(c)->depth };
	jp_ws(&p);
	bool ok = p.pos < len ? jp_value(&p) : jp_fail(&p, "empty text");
	if (ok) {
		jp_ws(&p);
		if (p.pos < len)
			ok = jp_fail(&p, "extra text after the value");
	}
	if (ok)
		*out = p.out;
	else
		buf_free(&p.out);
	return ok;
}

/* ---- jsondecode / yamldecode ---- */

/* Loader-found errors are in the synthetic file; point at the call too. */
static struct value *decode_failed(struct call_ctx *c)
{
	diag_note(c->file, c->off, "in this %s() call", c->name);
	return NULL;
}

/* Merge tags mean nothing in a decoded document. */
static bool reject_tags(struct call_ctx *c, const struct node *n)
{
	static const char *names[] = { "", "!append", "!replace", "!unset" };
	if (n->tag != TAG_NONE) {
		diag_error(n->file, n->off, "%s: tag '%s' is only allowed in unit and include files", c->name,
			   names[n->tag]);
		decode_failed(c);
		return false;
	}
	size_t len = n->kind == NODE_SEQ ? n->seq.len : n->kind == NODE_MAP ? n->map.len : 0;
	for (size_t i = 0; i < len; i++)
		if (!reject_tags(c, n->kind == NODE_SEQ ? n->seq.items[i] : n->map.pairs[i].value))
			return false;
	return true;
}

/* Decoded values are computed (no origin); integral numbers are ints. */
static void settle(struct value *v)
{
	v->origin = NULL;
	if (v->kind == VAL_FLOAT && v->f == floor(v->f) && v->f >= -9223372036854775808.0 &&
	    v->f < 9223372036854775808.0) {
		int64_t i = (int64_t)v->f;
		v->kind = VAL_INT;
		v->i = i;
	}
	for (size_t i = 0; v->kind == VAL_LIST && i < v->list.len; i++)
		settle(v->list.items[i]);
	for (size_t i = 0; v->kind == VAL_MAP && i < v->map.len; i++)
		settle(v->map.pairs[i].value);
}

/* The argument as text to decode; reports and returns false if unfit. */
static bool decode_arg(struct call_ctx *c, struct value **args)
{
	size_t bad;
	const struct value *v = args[0];
	if (!call_expect(c, args, 0, VAL_STR))
		return false;
	if (v->str.len > call_limits(c)->file_size)
		call_error(c, "argument of %zu bytes exceeds the limit of %zu bytes", v->str.len,
			   call_limits(c)->file_size);
	else if (utf8_validate(v->str.s, v->str.len, &bad) < 0)
		call_error(c, "argument is not valid UTF-8 text (byte %zu)", bad);
	else
		return true;
	return false;
}

static struct value *decode_text(struct call_ctx *c, const char *text, size_t len)
{
	struct srcfile *f = ARENA_NEW(c->arena, struct srcfile);
	struct limits lim = *call_limits(c);
	struct node *root;
	f->path = arena_printf(c->arena, "%s() argument", c->name);
	f->data = arena_strndup(c->arena, text, len);
	f->len = len;
	lim.file_size = SIZE_MAX;	/* checked on the argument itself */
	if (yaml_load_as(c->arena, f, &lim, arena_printf(c->arena, "%s: ", c->name), &root) < 0)
		return decode_failed(c);
	if (!reject_tags(c, root))
		return NULL;
	struct value *v = value_from_node(c->arena, root);
	settle(v);
	return v;
}

static struct value *fn_jsondecode(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	struct buf text = BUF_INIT;
	if (!decode_arg(c, args) || !json_check(c, args[0]->str.s, args[0]->str.len, &text))
		return NULL;
	struct value *v = decode_text(c, buf_cstr(&text), text.len);
	buf_free(&text);
	return v;
}

static struct value *fn_yamldecode(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!decode_arg(c, args))
		return NULL;
	return decode_text(c, args[0]->str.s, args[0]->str.len);
}

const struct builtin stdlib_encode[] = {
	{ "jsondecode", 1, 1, fn_jsondecode },
	{ "jsonencode", 1, 1, fn_jsonencode },
	{ "tobool", 1, 1, fn_tobool },
	{ "tonumber", 1, 1, fn_tonumber },
	{ "tostring", 1, 1, fn_tostring },
	{ "yamldecode", 1, 1, fn_yamldecode },
	{ NULL, 0, 0, NULL },
};
