#define _GNU_SOURCE 1	/* memmem */
/* registry.c - lookup over the function groups, and shared helpers. */
#include "builtins.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

static const struct builtin *const groups[] = {
	stdlib_number, stdlib_string, stdlib_collection, stdlib_encode, stdlib_net, stdlib_path,
	stdlib_secret,
};

const struct builtin *builtin_find(const char *name)
{
	for (size_t g = 0; g < sizeof(groups) / sizeof(*groups); g++)
		for (const struct builtin *b = groups[g]; b->name; b++)
			if (!strcmp(b->name, name))
				return b;
	return NULL;
}

const char *const *builtin_names(void)
{
	/* Built once from constant tables; the result never changes. */
	static const char *names[128];
	if (!names[0]) {
		size_t n = 0;
		for (size_t g = 0; g < sizeof(groups) / sizeof(*groups); g++)
			for (const struct builtin *b = groups[g]; b->name && n < 127; b++)
				names[n++] = b->name;
		names[n] = NULL;
	}
	return names;
}

/* Replaces every occurrence of a sensitive argument's text (or a prefix
 * of it, as messages quote long values cut short) with (sensitive). */
static void redact(const struct call_ctx *c, struct buf *msg)
{
	for (size_t i = 0; i < c->nargs; i++) {
		const struct value *v = c->args[i];
		if (!v->sensitive || v->kind != VAL_STR || v->str.len < 4)
			continue;
		size_t want = v->str.len < 24 ? v->str.len : 24;
		char *hit;
		while ((hit = memmem(msg->data, msg->len, v->str.s, want))) {
			size_t n = want;
			while (hit + n < msg->data + msg->len && n < v->str.len && hit[n] == v->str.s[n])
				n++;
			struct buf out = BUF_INIT;
			buf_add(&out, msg->data, (size_t)(hit - msg->data));
			buf_puts(&out, "(sensitive)");
			buf_add(&out, hit + n, msg->len - (size_t)(hit - msg->data) - n);
			buf_free(msg);
			*msg = out;
		}
	}
}

struct value *call_error(struct call_ctx *c, const char *fmt, ...)
{
	char text[512];
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	buf_puts(&msg, text);
	redact(c, &msg);
	diag_error(c->file, c->off, "%s: %s", c->name, msg.data);
	buf_free(&msg);
	return NULL;
}

bool call_expect(struct call_ctx *c, struct value **args, size_t i, enum value_kind k)
{
	enum value_kind got = args[i]->kind;
	if (got == k || (k == VAL_FLOAT && got == VAL_INT) || (k == VAL_INT && got == VAL_FLOAT))
		return true;
	call_error(c, "argument %zu must be a %s, not a %s", i + 1, value_kind_name(k), value_kind_name(got));
	return false;
}

struct value *number_value(struct call_ctx *c, double d)
{
	if (isnan(d) || isinf(d))
		return call_error(c, "result is not a finite number");
	if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
		return value_int(c->arena, (int64_t)d, NULL);
	return value_float(c->arena, d, NULL);
}

struct value *string_value(struct call_ctx *c, const char *s, size_t len)
{
	if (c->limits && len > c->limits->string_size)
		return call_error(c, "result of %zu bytes exceeds the string limit of %zu bytes", len,
				  c->limits->string_size);
	return value_str(c->arena, arena_strndup(c->arena, s, len), len, NULL);
}

size_t utf8_decode(const char *str, size_t len, unsigned *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	if (!len) {
		*cp = 0;
		return 0;
	}
	if (s[0] < 0x80 || len < 2) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		*cp = ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu);
		return 2;
	}
	if ((s[0] & 0xf0) == 0xe0 && len >= 3) {
		*cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
		return 3;
	}
	if (len >= 4) {
		*cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) | (s[3] & 0x3fu);
		return 4;
	}
	*cp = s[0];
	return 1;
}

size_t utf8_encode(unsigned cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t utf8_length(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

const struct limits *call_limits(const struct call_ctx *c)
{
	return c->limits ? c->limits : &limits_default;
}

const char *value_kind_phrase(const struct value *v)
{
	static const char *names[] = { "null", "a bool", "a number", "a number", "a string", "a list", "a map" };
	return names[v->kind];
}

int call_clip(const char *s, size_t len)
{
	enum { QUOTE_MAX = 100 };
	if (len <= QUOTE_MAX)
		return (int)len;
	len = QUOTE_MAX;
	while (len && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return (int)len;
}
