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
#include "json.h"

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

/* ---- jsondecode / yamldecode ---- */

/* Loader-found errors are in the synthetic file; point at the call too. */
static struct value *decode_failed(struct call_ctx *c)
{
	diag_note(c->file, c->off, "in this %s() call", c->name);
	return NULL;
}

/* Merge tags mean nothing in a decoded document: the first one found is
 * reported, at the call too. */
static bool refuse_decoded_tag(void *ctx, const struct node *tagged)
{
	struct call_ctx *c = ctx;
	diag_error(tagged->file, tagged->off, "%s: tag '%s' is only allowed in unit and include files", c->name,
		   node_tag_name(tagged->tag));
	decode_failed(c);
	return false;
}

static bool reject_tags(struct call_ctx *c, const struct node *n)
{
	return node_each_tagged(n, refuse_decoded_tag, c);
}

/* Decoded values are computed (no origin); integral numbers are ints. */
static void settle(struct value *v)
{
	value_set_origin(v, NULL);
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

/* jsondecode and yamldecode share the loaders of the repo's own files:
 * the same strictness and the same limits. */
/* The loader's errors quote the text and point into it: for a sensitive
 * argument (a get_env() value, a sensitive output) they are muted, and
 * one error at the call says what failed, showing none of it. */
static struct value *decode_text(struct call_ctx *c, loader_fn *load, const char *text, size_t len, bool secret)
{
	struct srcfile *f = ARENA_NEW(c->arena, struct srcfile);
	struct limits lim = *call_limits(c);
	struct node *root;
	f->path = arena_printf(c->arena, "%s() argument", c->name);
	f->data = arena_strndup(c->arena, text, len);
	f->len = len;
	lim.file_size = SIZE_MAX;	/* checked on the argument itself */
	bool was = secret ? diag_mute(true) : false;
	bool ok = load(c->arena, f, &lim, arena_printf(c->arena, "%s: ", c->name), &root) == 0;
	if (secret) {
		ok = ok && reject_tags(c, root);
		diag_mute(was);
		if (!ok) {
			call_error(c, "its argument, which is sensitive, is not a document it can decode");
			return NULL;
		}
	} else if (!ok) {
		return decode_failed(c);
	} else if (!reject_tags(c, root)) {
		return NULL;
	}
	struct value *v = value_from_node(c->arena, root);
	settle(v);
	return v;
}

static struct value *fn_jsondecode(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!decode_arg(c, args))
		return NULL;
	return decode_text(c, json_load_as, args[0]->str.s, args[0]->str.len, value_has_sensitive(args[0]));
}

static struct value *fn_yamldecode(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	if (!decode_arg(c, args))
		return NULL;
	return decode_text(c, yaml_load_as, args[0]->str.s, args[0]->str.len, value_has_sensitive(args[0]));
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
