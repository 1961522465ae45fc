/* number.c - abs ceil floor max min parseint.
 *
 * Integers stay exact int64 values; a result that does not fit is an
 * error, never a silent wrap.  Arguments must be numbers (no string to
 * number conversion: the evaluator is strict about types too). */
#include "builtins.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Checks that argument i exists and has kind k. */
static bool kind_arg(struct call_ctx *c, struct value **args, size_t nargs, size_t i, enum value_kind k)
{
	if (!args || i >= nargs || !args[i]) {
		call_error(c, "argument %zu is missing", i + 1);
		return false;
	}
	return call_expect(c, args, i, k);
}

static bool number_arg(struct call_ctx *c, struct value **args, size_t nargs, size_t i)
{
	return kind_arg(c, args, nargs, i, VAL_FLOAT);
}

static double number_of(const struct value *v)
{
	return v->kind == VAL_INT ? (double)v->i : v->f;
}

/* A fresh copy of a number value, without the argument's provenance. */
static struct value *number_copy(struct call_ctx *c, const struct value *v)
{
	if (v->kind == VAL_INT)
		return value_int(c->arena, v->i, NULL);
	return number_value(c, v->f);
}

static struct value *fn_abs(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!number_arg(c, args, nargs, 0))
		return NULL;
	const struct value *v = args[0];
	if (v->kind == VAL_FLOAT)
		return number_value(c, fabs(v->f));
	if (v->i == INT64_MIN)
		return call_error(c, "integer overflow: the absolute value of %lld does not fit in 64 bits",
				  (long long)v->i);
	return value_int(c->arena, v->i < 0 ? -v->i : v->i, NULL);
}

static struct value *fn_ceil(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!number_arg(c, args, nargs, 0))
		return NULL;
	if (args[0]->kind == VAL_INT)
		return number_copy(c, args[0]);
	return number_value(c, ceil(args[0]->f));
}

static struct value *fn_floor(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!number_arg(c, args, nargs, 0))
		return NULL;
	if (args[0]->kind == VAL_INT)
		return number_copy(c, args[0]);
	return number_value(c, floor(args[0]->f));
}

/* <0, 0, >0 like strcmp; exact when both are integers. */
static int number_cmp(const struct value *a, const struct value *b)
{
	if (a->kind == VAL_INT && b->kind == VAL_INT)
		return (a->i > b->i) - (a->i < b->i);
	double x = number_of(a), y = number_of(b);
	return (x > y) - (x < y);
}

/* The argument that compares as `want` (1: largest, -1: smallest). */
static struct value *extreme(struct call_ctx *c, struct value **args, size_t nargs, int want)
{
	if (!nargs)
		return call_error(c, "must pass at least one number");
	size_t best = 0;
	for (size_t i = 0; i < nargs; i++) {
		if (!number_arg(c, args, nargs, i))
			return NULL;
		if (number_cmp(args[i], args[best]) * want > 0)
			best = i;
	}
	return number_copy(c, args[best]);
}

static struct value *fn_max(struct call_ctx *c, struct value **args, size_t nargs)
{
	return extreme(c, args, nargs, 1);
}

static struct value *fn_min(struct call_ctx *c, struct value **args, size_t nargs)
{
	return extreme(c, args, nargs, -1);
}

/* The value of one digit, as Go's big.Int reads it: 0-9, then a-z, then
 * A-Z (case-insensitive up to base 36); 99 for anything else. */
static int digit_value(char ch, int base)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A' + (base <= 36 ? 10 : 36);
	return 99;
}

/* The subject of a message: at most 40 bytes, cut at a character
 * boundary, control characters shown as '?' so that a hostile string
 * cannot drive the terminal. */
static const char *number_subject(struct call_ctx *c, const char *s, size_t len)
{
	size_t n = len > 40 ? 40 : len;
	while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	char *out = arena_printf(c->arena, "%.*s%s", (int)n, s, n < len ? "..." : "");
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
}

/* Parses s in base into *out; returns 0, -1 for a bad digit, -2 on overflow. */
static int parse_int(const char *s, size_t len, int base, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (len && (s[0] == '+' || s[0] == '-'))
		neg = s[i++] == '-';
	if (i == len)
		return -1;
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t mag = 0;
	bool overflow = false;
	for (; i < len; i++) {
		int d = digit_value(s[i], base);
		if (d >= base)
			return -1;
		if (mag > (limit - (uint64_t)d) / (uint64_t)base)
			overflow = true;
		else
			mag = mag * (uint64_t)base + (uint64_t)d;
	}
	if (overflow)
		return -2;
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return 0;
}

static struct value *fn_parseint(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!kind_arg(c, args, nargs, 0, VAL_STR) || !number_arg(c, args, nargs, 1))
		return NULL;
	double b = number_of(args[1]);
	if (b != floor(b) || b < 2 || b > 62)
		return call_error(c, "base must be a whole number between 2 and 62");
	int base = (int)b;
	const struct value *str = args[0];
	int64_t r = 0;
	int rc = parse_int(str->str.s, str->str.len, base, &r);
	if (rc == -1)
		return call_error(c, "'%s' is not a number in base %d",
				  number_subject(c, str->str.s, str->str.len), base);
	if (rc == -2)
		return call_error(c, "'%s' in base %d does not fit in a 64-bit integer",
				  number_subject(c, str->str.s, str->str.len), base);
	return value_int(c->arena, r, NULL);
}

const struct builtin stdlib_number[] = {
	{ "abs", 1, 1, fn_abs },
	{ "ceil", 1, 1, fn_ceil },
	{ "floor", 1, 1, fn_floor },
	{ "max", 1, -1, fn_max },
	{ "min", 1, -1, fn_min },
	{ "parseint", 2, 2, fn_parseint },
	{ NULL, 0, 0, NULL },
};
