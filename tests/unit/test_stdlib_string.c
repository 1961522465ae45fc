/* test_stdlib_string.c - stdlib/string.c: format join split upper lower
 * title trimspace replace regex substr startswith endswith.  Expected
 * values were checked against `terraform console` (1.x) unless a comment
 * says bulkhead differs on purpose. */
#include "helpers.h"

#include <stdarg.h>
#include <stdint.h>

#include "builtins.h"
#include "value.h"

static struct arena str_arena;
static const struct srcfile str_file = { "unit.yaml", "x: ${f()}\n", 10 };
static const struct limits *str_limits = &limits_default;

static void str_setup(void)
{
	arena_init(&str_arena);
	diag_clear();
	diag_set_color(0);
	str_limits = &limits_default;
}

static void str_teardown(void)
{
	diag_clear();
	arena_free(&str_arena);
}

TestSuite(stdlib_string, .init = str_setup, .fini = str_teardown);

static struct value *str_s(const char *s)
{
	return value_str(&str_arena, s, strlen(s), NULL);
}

static struct value *str_i(int64_t i)
{
	return value_int(&str_arena, i, NULL);
}

static struct value *str_f(double f)
{
	return value_float(&str_arena, f, NULL);
}

static struct value *str_b(bool b)
{
	return value_bool(&str_arena, b, NULL);
}

static struct value *str_null(void)
{
	return value_null(&str_arena, NULL);
}

/* A list of n values. */
static struct value *str_list(size_t n, ...)
{
	struct value *l = value_list(&str_arena, n, NULL);
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		l->list.items[i] = va_arg(ap, struct value *);
	va_end(ap);
	return l;
}

/* A map of n key/value pairs (const char *, struct value *). */
static struct value *str_map(size_t n, ...)
{
	struct value *m = value_map_room(&str_arena, n);
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *k = va_arg(ap, const char *);
		value_map_add(m, k, va_arg(ap, struct value *));
	}
	va_end(ap);
	value_map_sort(m);
	return m;
}

static struct value *str_callv(const char *name, size_t n, va_list ap)
{
	const struct builtin *b = builtin_find(name);
	cr_assert_not_null(b, "no builtin '%s'", name);
	struct value *args[16] = { NULL };
	cr_assert_leq(n, 16);
	for (size_t i = 0; i < n; i++)
		args[i] = va_arg(ap, struct value *);
	struct call_ctx c = { .arena = &str_arena, .name = b->name, .file = &str_file, .off = 3,
			      .limits = str_limits };
	return b->fn(&c, args, n);
}

static struct value *str_call(const char *name, size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	struct value *v = str_callv(name, n, ap);
	va_end(ap);
	return v;
}

static char *str_errors(void)
{
	return diag_capture();
}

static void str_expect_str(const struct value *v, const char *want)
{
	if (!v) {
		char *text = str_errors();
		cr_assert_fail("unexpected error:\n%s", text);
	}
	cr_assert_eq(v->kind, VAL_STR, "kind %d, not a string", v->kind);
	cr_assert_eq(v->str.len, strlen(want), "got '%.*s' (%zu bytes), want '%s'", (int)v->str.len, v->str.s,
		     v->str.len, want);
	cr_assert_eq(memcmp(v->str.s, want, v->str.len), 0, "got '%.*s', want '%s'", (int)v->str.len, v->str.s, want);
	cr_assert_eq(v->str.s[v->str.len], '\0', "not NUL-terminated");
	cr_assert_eq(diag_error_count(), 0);
}

/* Calls a string function and checks a string result. */
static void str_check(const char *want, const char *name, size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	struct value *v = str_callv(name, n, ap);
	va_end(ap);
	str_expect_str(v, want);
}

static void str_expect_bool(const struct value *v, bool want)
{
	cr_assert_not_null(v);
	cr_assert_eq(v->kind, VAL_BOOL);
	cr_assert_eq(v->b, want);
}

/* A NULL result with exactly one error whose text contains needle. */
static void str_expect_error(const struct value *v, const char *needle)
{
	cr_assert_null(v, "expected an error");
	cr_assert_eq(diag_error_count(), 1, "%zu errors", diag_error_count());
	char *text = str_errors();
	cr_assert_not_null(strstr(text, needle), "'%s' not in:\n%s", needle, text);
	free(text);
}

/* The list v holds exactly the n given strings (NULL for a null). */
static void str_expect_list(const struct value *v, size_t n, ...)
{
	cr_assert_not_null(v, "unexpected error");
	cr_assert_eq(v->kind, VAL_LIST);
	cr_assert_eq(v->list.len, n, "%zu elements, want %zu", v->list.len, n);
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);
		const struct value *e = v->list.items[i];
		if (!want) {
			cr_expect_eq(e->kind, VAL_NULL, "element %zu is not null", i);
			continue;
		}
		cr_assert_eq(e->kind, VAL_STR, "element %zu", i);
		cr_expect_eq(e->str.len, strlen(want), "element %zu: '%.*s'", i, (int)e->str.len, e->str.s);
		cr_expect_eq(memcmp(e->str.s, want, e->str.len), 0, "element %zu: '%.*s'", i, (int)e->str.len,
			     e->str.s);
	}
	va_end(ap);
}

static void str_expect_map_str(const struct value *m, const char *key, const char *want)
{
	cr_assert_not_null(m);
	cr_assert_eq(m->kind, VAL_MAP);
	const struct value *v = value_map_get(m, key);
	cr_assert_not_null(v, "no key '%s'", key);
	if (!want) {
		cr_expect_eq(v->kind, VAL_NULL, "'%s' is not null", key);
		return;
	}
	cr_assert_eq(v->kind, VAL_STR);
	cr_expect_eq(strcmp(v->str.s, want), 0, "'%s' is '%s'", key, v->str.s);
}

/* ---- the table ---- */

Test(stdlib_string, table_has_the_twelve_functions_with_arity)
{
	static const struct { const char *name; int min, max; } want[] = {
		{ "format", 1, -1 }, { "join", 2, -1 }, { "split", 2, 2 }, { "upper", 1, 1 },
		{ "lower", 1, 1 }, { "title", 1, 1 }, { "trimspace", 1, 1 }, { "replace", 3, 3 },
		{ "regex", 2, 2 }, { "substr", 3, 3 }, { "startswith", 2, 2 }, { "endswith", 2, 2 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		const struct builtin *b = builtin_find(want[i].name);
		cr_assert_not_null(b, "%s", want[i].name);
		cr_expect_eq(b->min_args, want[i].min, "%s", want[i].name);
		cr_expect_eq(b->max_args, want[i].max, "%s", want[i].name);
	}
}

Test(stdlib_string, missing_arguments_do_not_crash)
{
	const char *names[] = { "format", "join", "split", "upper", "lower", "title", "trimspace",
				"replace", "regex", "substr", "startswith", "endswith" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		const struct builtin *b = builtin_find(names[i]);
		struct call_ctx c = { .arena = &str_arena, .name = b->name, .file = &str_file,
				      .limits = &limits_default };
		struct value *none[3] = { NULL, NULL, NULL };
		cr_expect_null(b->fn(&c, NULL, 0), "%s", names[i]);
		cr_expect_null(b->fn(&c, none, 3), "%s", names[i]);
	}
	cr_expect_eq(diag_error_count(), 24);
}

/* ---- format ---- */

Test(stdlib_string, format_fixed_point_with_zero_padding)
{
	str_check("03.14", "format", 2, str_s("%05.2f"), str_f(3.14159));
	str_check("-003.142", "format", 2, str_s("%08.3f"), str_f(-3.14159));
	str_check("1.000000", "format", 2, str_s("%f"), str_i(1));
	str_check("2", "format", 2, str_s("%.f"), str_f(2.5));
}

Test(stdlib_string, format_plain_text_and_percent)
{
	str_check("hello", "format", 1, str_s("hello"));
	str_check("100%", "format", 1, str_s("100%%"));
	str_check("", "format", 1, str_s(""));
}

Test(stdlib_string, format_integers_in_bases)
{
	str_check("42 ff FF 10 101", "format", 6, str_s("%d %x %X %o %b"), str_i(42), str_i(255), str_i(255),
		  str_i(8), str_i(5));
	str_check("-ff -FF -101", "format", 4, str_s("%x %X %b"), str_i(-255), str_i(-255), str_i(-5));
	str_check("0xff 010 0b101 0XFF", "format", 5, str_s("%#x %#o %#b %#X"), str_i(255), str_i(8), str_i(5),
		  str_i(255));
}

Test(stdlib_string, format_integer_flags_like_go)
{
	str_check("+5  5|5   |-005", "format", 5, str_s("%+d % d|%-4d|%04d"), str_i(5), str_i(5), str_i(5),
		  str_i(-5));
	str_check("005", "format", 2, str_s("%.3d"), str_i(5));
	str_check("|", "format", 2, str_s("%.0d|"), str_i(0));
	str_check("-1   |", "format", 2, str_s("%-05d|"), str_i(-1));
	str_check("  005", "format", 2, str_s("%05.3d"), str_i(5));
	str_check(" ff", "format", 2, str_s("% x"), str_i(255));
}

Test(stdlib_string, format_integers_beyond_int64)
{
	str_check("100000000000000000000", "format", 2, str_s("%d"), str_f(1e20));
	str_check("56bc75e2d63100000", "format", 2, str_s("%x"), str_f(1e20));
	str_check("-9223372036854775808", "format", 2, str_s("%d"), str_i(INT64_MIN));
	str_check("1", "format", 2, str_s("%o"), str_f(1.0));
}

Test(stdlib_string, format_d_needs_an_integer)
{
	str_expect_error(str_call("format", 2, str_s("%d"), str_f(3.5)),
			 "format: unsupported value for '%d' at offset 0: an integer is required");
}

Test(stdlib_string, format_numeric_verbs_convert_strings)
{
	str_check("5 1000", "format", 3, str_s("%d %d"), str_s("5"), str_s("1e3"));
	str_expect_error(str_call("format", 2, str_s("%d"), str_s("0x10")), "'%d' at offset 0: a number is required");
}

Test(stdlib_string, format_numeric_verbs_reject_other_kinds)
{
	str_expect_error(str_call("format", 2, str_s("%x"), str_s("hi")), "a number is required");
	str_expect_error(str_call("format", 2, str_s("%f"), str_b(true)), "'%f' at offset 0: a number is required");
	str_expect_error(str_call("format", 2, str_s("%d"), str_null()), "null value cannot be formatted");
}

Test(stdlib_string, format_exponent_forms)
{
	str_check("1.234500e+03 1.234500E+03", "format", 3, str_s("%e %E"), str_f(1234.5), str_f(1234.5));
	str_check(" 1.235e+05", "format", 2, str_s("%10.3e"), str_i(123456));
	str_check("+5.000000e+00", "format", 2, str_s("%+e"), str_i(5));
	str_check("0.000000e+00", "format", 2, str_s("%e"), str_i(0));
}

Test(stdlib_string, format_g_is_shortest_like_go)
{
	str_check("1234.5", "format", 2, str_s("%g"), str_f(1234.5));
	str_check("1.234567e+06", "format", 2, str_s("%g"), str_i(1234567));
	str_check("123456", "format", 2, str_s("%g"), str_i(123456));
	str_check("1E+21", "format", 2, str_s("%G"), str_f(1e21));
	str_check("1.23e-05", "format", 2, str_s("%g"), str_f(0.0000123));
	str_check("1.23e+03", "format", 2, str_s("%.3g"), str_f(1234.5));
	str_check("1.5", "format", 2, str_s("%#g"), str_f(1.5));
}

Test(stdlib_string, format_float_padding_like_go)
{
	/* big.Float: '0' wins over '-'. */
	str_check("-00001.500|", "format", 2, str_s("%-010.3f|"), str_f(-1.5));
	str_check("-1.500    |", "format", 2, str_s("%-10.3f|"), str_f(-1.5));
	str_check("  1.5|", "format", 2, str_s("% 5.1f|"), str_f(1.5));
	str_check("+2.2", "format", 2, str_s("%+.1f"), str_f(2.25));
}

Test(stdlib_string, format_s_converts_scalars)
{
	str_check("5 1.5 true x", "format", 5, str_s("%s %s %s %s"), str_i(5), str_f(1.5), str_b(true), str_s("x"));
	/* bulkhead never prints numbers in exponent form. */
	str_check("100000000000000000000", "format", 2, str_s("%s"), str_f(1e20));
}

Test(stdlib_string, format_s_rejects_lists_and_null)
{
	str_expect_error(str_call("format", 2, str_s("%s"), str_list(1, str_i(1))),
			 "unsupported value for '%s' at offset 0: a string is required");
	str_expect_error(str_call("format", 2, str_s("%s"), str_null()), "null value cannot be formatted");
}

Test(stdlib_string, format_string_width_and_precision_count_characters)
{
	str_check("   ab|cd   |", "format", 3, str_s("%5s|%-5s|"), str_s("ab"), str_s("cd"));
	str_check("000ab|", "format", 2, str_s("%05s|"), str_s("ab"));
	str_check("hé", "format", 2, str_s("%.2s"), str_s("héllo"));
	str_check("   hé|", "format", 2, str_s("%5s|"), str_s("hé"));
	str_check("abc", "format", 2, str_s("%.s"), str_s("abc"));
}

Test(stdlib_string, format_v_and_sharp_v)
{
	str_check("x", "format", 2, str_s("%v"), str_s("x"));
	str_check("\"x\"", "format", 2, str_s("%#v"), str_s("x"));
	str_check("true 1.5 null", "format", 4, str_s("%v %v %v"), str_b(true), str_f(1.5), str_null());
	str_check("[1,\"a\"]", "format", 2, str_s("%v"), str_list(2, str_i(1), str_s("a")));
	str_check("{\"a\":\"x\",\"b\":1}", "format", 2, str_s("%v"), str_map(2, "b", str_i(1), "a", str_s("x")));
	str_check("{\"\\u003c\":[1.5,-2]}", "format", 2, str_s("%#v"),
		  str_map(1, "<", str_list(2, str_f(1.5), str_i(-2))));
	str_check("  [1]|", "format", 2, str_s("%5v|"), str_list(1, str_i(1)));
	str_check("[]", "format", 2, str_s("%v"), str_list(0));
}

Test(stdlib_string, format_q_is_go_json)
{
	str_check("\"a\\\"b\"", "format", 2, str_s("%q"), str_s("a\"b"));
	str_check("\"é\\n\\t\\u0001\"", "format", 2, str_s("%q"), str_s("é\n\t\x01"));
	str_check("\"\\u003c\\u0026\\u003e\"", "format", 2, str_s("%q"), str_s("<&>"));
	str_check("\"\\b\\f\\u2028\x7f\"", "format", 2, str_s("%q"), str_s("\b\f\u2028\x7f"));
	str_check("\"5\"", "format", 2, str_s("%q"), str_i(5));
	str_check("\"h\"|", "format", 2, str_s("%.1q|"), str_s("héllo"));
}

Test(stdlib_string, format_t_takes_bools_and_bool_strings)
{
	str_check("true false", "format", 3, str_s("%t %t"), str_b(true), str_s("false"));
	str_check("true|", "format", 2, str_s("%5t|"), str_b(true));
	str_expect_error(str_call("format", 2, str_s("%t"), str_i(1)),
			 "unsupported value for '%t' at offset 0: a bool is required");
}

Test(stdlib_string, format_explicit_argument_index)
{
	str_check("b a", "format", 3, str_s("%[2]s %[1]s"), str_s("a"), str_s("b"));
	str_check("a b", "format", 3, str_s("%[1]s %s"), str_s("a"), str_s("b"));
	str_check("a a", "format", 2, str_s("%[1]s %[1]s"), str_s("a"));
	str_check("b", "format", 3, str_s("%[2]s"), str_s("a"), str_s("b"));
}

Test(stdlib_string, format_not_enough_arguments)
{
	str_expect_error(str_call("format", 2, str_s("%d %d"), str_i(1)),
			 "format: not enough arguments for '%d' at offset 3: need argument 2 but have 1");
	str_expect_error(str_call("format", 3, str_s("%[3]s"), str_s("a"), str_s("b")), "need argument 3 but have 2");
}

Test(stdlib_string, format_too_many_arguments)
{
	str_expect_error(str_call("format", 3, str_s("%d"), str_i(1), str_i(2)),
			 "format: too many arguments; only 1 used by the format string");
	str_expect_error(str_call("format", 2, str_s("x"), str_s("a")), "too many arguments; no verbs");
	str_expect_error(str_call("format", 3, str_s("%[1]s"), str_s("a"), str_s("b")), "only 1 used");
}

Test(stdlib_string, format_unsupported_verb)
{
	str_expect_error(str_call("format", 2, str_s("%z"), str_i(1)),
			 "format: unsupported format verb 'z' in '%z' at offset 0");
	str_expect_error(str_call("format", 2, str_s("%c"), str_i(65)), "unsupported format verb 'c'");
}

Test(stdlib_string, format_incomplete_verb)
{
	str_expect_error(str_call("format", 1, str_s("%")), "format: incomplete verb '%' at offset 0");
	str_expect_error(str_call("format", 1, str_s("abc%")), "incomplete verb '%' at offset 3");
	str_expect_error(str_call("format", 2, str_s("%5"), str_i(1)), "incomplete verb '%5' at offset 0");
	str_expect_error(str_call("format", 2, str_s("%."), str_i(1)), "incomplete verb '%.'");
}

Test(stdlib_string, format_unrecognized_character)
{
	str_expect_error(str_call("format", 3, str_s("%*d"), str_i(5), str_i(3)),
			 "format: unrecognized format character '*' at offset 1");
	str_expect_error(str_call("format", 2, str_s("%[0]s"), str_s("a")), "unrecognized format character '0' at offset 2");
	str_expect_error(str_call("format", 2, str_s("%[1s"), str_s("a")), "unrecognized format character 's'");
	str_expect_error(str_call("format", 2, str_s("%\n"), str_s("a")), "character '\\n' at offset 1");
}

Test(stdlib_string, format_first_argument_must_be_a_string)
{
	str_expect_error(str_call("format", 1, str_i(5)), "format: argument 1 must be a string, not a number");
}

Test(stdlib_string, format_huge_width_is_refused_before_allocating)
{
	str_expect_error(str_call("format", 2, str_s("%999999999999d"), str_i(1)),
			 "width or precision exceeds the string limit");
	str_expect_error(str_call("format", 2, str_s("%.999999999f"), str_f(1.5)),
			 "width or precision exceeds the string limit");
}

Test(stdlib_string, format_output_is_held_to_the_string_limit)
{
	static const struct limits small = { .string_size = 16 };
	str_limits = &small;
	str_check("0123456789abcdef", "format", 2, str_s("%16s"), str_s("0123456789abcdef"));
	str_expect_error(str_call("format", 3, str_s("%10d%10d"), str_i(1), str_i(2)),
			 "format: result exceeds the string limit of 16 bytes");
}

/* ---- join, split ---- */

Test(stdlib_string, join_strings)
{
	str_check("a,b,c", "join", 2, str_s(","), str_list(3, str_s("a"), str_s("b"), str_s("c")));
	str_check("", "join", 2, str_s(","), str_list(0));
	str_check("x", "join", 2, str_s(", "), str_list(1, str_s("x")));
}

Test(stdlib_string, join_converts_numbers_and_bools)
{
	str_check("a-1-true-1.5", "join", 2, str_s("-"), str_list(4, str_s("a"), str_i(1), str_b(true), str_f(1.5)));
}

Test(stdlib_string, join_several_lists)
{
	str_check("a,b,c", "join", 3, str_s(","), str_list(1, str_s("a")), str_list(2, str_s("b"), str_s("c")));
	str_check("b", "join", 3, str_s(","), str_list(0), str_list(1, str_s("b")));
}

Test(stdlib_string, join_null_element)
{
	str_expect_error(str_call("join", 2, str_s(","), str_list(2, str_s("a"), str_null())),
			 "join: argument 2: element 1 is null, not a string");
}

Test(stdlib_string, join_nested_list_element)
{
	str_expect_error(str_call("join", 2, str_s(","), str_list(1, str_list(1, str_s("a")))),
			 "join: argument 2: element 0 is list, not a string");
}

Test(stdlib_string, join_needs_lists_and_a_string_separator)
{
	str_expect_error(str_call("join", 2, str_s(","), str_s("a")), "join: argument 2 must be a list, not a string");
	str_expect_error(str_call("join", 2, str_null(), str_list(0)), "join: argument 1 must be a string, not a null");
}

Test(stdlib_string, join_is_held_to_the_string_limit)
{
	static const struct limits small = { .string_size = 5 };
	str_limits = &small;
	str_expect_error(str_call("join", 2, str_s(","), str_list(3, str_s("ab"), str_s("cd"), str_s("e"))),
			 "result exceeds the string limit of 5 bytes");
}

Test(stdlib_string, split_keeps_empty_pieces)
{
	str_expect_list(str_call("split", 2, str_s(","), str_s("a,,b")), 3, "a", "", "b");
	str_expect_list(str_call("split", 2, str_s(","), str_s("")), 1, "");
	str_expect_list(str_call("split", 2, str_s("ab"), str_s("xabyab")), 3, "x", "y", "");
}

Test(stdlib_string, split_on_empty_separator_gives_characters)
{
	str_expect_list(str_call("split", 2, str_s(""), str_s("aé🤔")), 3, "a", "é", "🤔");
	str_expect_list(str_call("split", 2, str_s(""), str_s("")), 0);
}

Test(stdlib_string, split_type_errors)
{
	str_expect_error(str_call("split", 2, str_s(","), str_null()), "split: argument 2 must be a string, not a null");
	str_expect_error(str_call("split", 2, str_i(1), str_s("a")), "split: argument 1 must be a string");
}

Test(stdlib_string, split_element_limit)
{
	static const struct limits small = { .string_size = 1000, .nodes = 3 };
	str_limits = &small;
	str_expect_list(str_call("split", 2, str_s(","), str_s("a,b,c")), 3, "a", "b", "c");
	str_expect_error(str_call("split", 2, str_s(","), str_s("a,b,c,d")),
			 "split: result of 4 elements exceeds the limit of 3");
}

/* ---- case ---- */

Test(stdlib_string, upper_maps_unicode)
{
	str_check("HÉLLO ß Ǆ Σ 𐐀", "upper", 1, str_s("héllo ß ǆ σ 𐐨"));
}

Test(stdlib_string, lower_maps_unicode)
{
	str_check("àé ǆ i ς", "lower", 1, str_s("ÀÉ ǅ İ ς"));
	str_check("", "lower", 1, str_s(""));
}

Test(stdlib_string, title_capitalises_words_like_go)
{
	str_check("Hello WORLD-Foo_bar Élan X.Y", "title", 1, str_s("hello wORLD-foo_bar élan x.y"));
	str_check("ǅemal ǲ X", "title", 1, str_s("ǆemal ǳ x"));
	str_check("A–b C€d É1x", "title", 1, str_s("a–b c€d é1x"));
	str_check("A\u3000B", "title", 1, str_s("a\u3000b"));
	str_check("ა Ⴀ", "title", 1, str_s("ა ⴀ"));
}

Test(stdlib_string, case_functions_need_strings)
{
	str_expect_error(str_call("upper", 1, str_i(5)), "upper: argument 1 must be a string, not a number");
	str_expect_error(str_call("lower", 1, str_list(0)), "lower: argument 1 must be a string, not a list");
	str_expect_error(str_call("title", 1, str_null()), "title: argument 1 must be a string, not a null");
}

Test(stdlib_string, case_functions_pass_invalid_bytes_through)
{
	str_check("A\xff\xc3Z", "upper", 1, str_s("a\xff\xc3z"));
}

/* ---- trimspace, startswith, endswith ---- */

Test(stdlib_string, trimspace_ascii_and_unicode_spaces)
{
	str_check("a b", "trimspace", 1, str_s("  \t\n a b \r\n "));
	str_check("x", "trimspace", 1, str_s("\u00a0x\u00a0"));
	str_check("x", "trimspace", 1, str_s("\u3000\xc2\x85x\u2003"));
	str_check("x\u200b", "trimspace", 1, str_s("x\u200b"));
	str_check("", "trimspace", 1, str_s(" \t "));
	str_check("é", "trimspace", 1, str_s("é "));
}

Test(stdlib_string, trimspace_needs_a_string)
{
	str_expect_error(str_call("trimspace", 1, str_b(true)), "trimspace: argument 1 must be a string, not a bool");
}

Test(stdlib_string, startswith_and_endswith)
{
	str_expect_bool(str_call("startswith", 2, str_s("hello"), str_s("he")), true);
	str_expect_bool(str_call("startswith", 2, str_s("hello"), str_s("")), true);
	str_expect_bool(str_call("startswith", 2, str_s("hello"), str_s("lo")), false);
	str_expect_bool(str_call("startswith", 2, str_s("he"), str_s("hello")), false);
	str_expect_bool(str_call("endswith", 2, str_s("hello"), str_s("lo")), true);
	str_expect_bool(str_call("endswith", 2, str_s("hello"), str_s("he")), false);
	str_expect_bool(str_call("endswith", 2, str_s("lo"), str_s("hello")), false);
}

Test(stdlib_string, startswith_and_endswith_need_strings)
{
	str_expect_error(str_call("startswith", 2, str_s("x"), str_null()),
			 "startswith: argument 2 must be a string, not a null");
	str_expect_error(str_call("endswith", 2, str_i(1), str_s("1")), "endswith: argument 1 must be a string");
}

/* ---- substr ---- */

Test(stdlib_string, substr_basic_and_unicode)
{
	str_check("ello", "substr", 3, str_s("hello world"), str_i(1), str_i(4));
	str_check("🤔", "substr", 3, str_s("🤔🤷"), str_i(0), str_i(1));
	str_check("é", "substr", 3, str_s("héllo"), str_i(1), str_i(1));
}

Test(stdlib_string, substr_negative_offset_and_length)
{
	str_check("world", "substr", 3, str_s("hello world"), str_i(-5), str_i(-1));
	str_check("ello", "substr", 3, str_s("hello"), str_i(1), str_i(-2));
	str_check("he", "substr", 3, str_s("hello"), str_i(-10), str_i(2));
	str_check("he", "substr", 3, str_s("hello"), str_i(-5), str_i(2));
	str_check("he", "substr", 3, str_s("hello"), str_i(INT64_MIN), str_i(2));
}

Test(stdlib_string, substr_out_of_range_is_empty)
{
	str_check("", "substr", 3, str_s("hello"), str_i(10), str_i(2));
	str_check("", "substr", 3, str_s("hello"), str_i(5), str_i(2));
	str_check("llo", "substr", 3, str_s("hello"), str_i(2), str_i(100));
	str_check("llo", "substr", 3, str_s("hello"), str_i(2), str_i(INT64_MAX));
	str_check("", "substr", 3, str_s("hello"), str_i(0), str_i(0));
	str_check("", "substr", 3, str_s(""), str_i(0), str_i(1));
}

Test(stdlib_string, substr_offset_must_be_whole)
{
	str_expect_error(str_call("substr", 3, str_s("hello"), str_f(1.5), str_i(2)),
			 "substr: argument 2 must be a whole number, not 1.5");
	str_expect_error(str_call("substr", 3, str_s("hello"), str_i(1), str_s("2")),
			 "substr: argument 3 must be a number, not a string");
	str_check("el", "substr", 3, str_s("hello"), str_f(1.0), str_i(2));
}

/* ---- replace ---- */

Test(stdlib_string, replace_literal)
{
	str_check("hell0 w0rld", "replace", 3, str_s("hello world"), str_s("o"), str_s("0"));
	str_check("$1$1$1", "replace", 3, str_s("aaa"), str_s("a"), str_s("$1"));
	str_check("abc", "replace", 3, str_s("abc"), str_s("x"), str_s("y"));
	str_check("a-b", "replace", 3, str_s("a/b"), str_s("/"), str_s("-"));
}

Test(stdlib_string, replace_empty_substring_inserts_between_characters)
{
	str_check("-a-b-c-", "replace", 3, str_s("abc"), str_s(""), str_s("-"));
	str_check("-é-", "replace", 3, str_s("é"), str_s(""), str_s("-"));
	str_check("-", "replace", 3, str_s(""), str_s(""), str_s("-"));
}

Test(stdlib_string, replace_regex)
{
	str_check("heLo", "replace", 3, str_s("hello"), str_s("/l+/"), str_s("L"));
	str_check("xxxxx", "replace", 3, str_s("héllo"), str_s("/./"), str_s("x"));
	str_check("abaX", "replace", 3, str_s("abab"), str_s("/b$/"), str_s("X"));
}

Test(stdlib_string, replace_regex_groups_in_the_replacement)
{
	str_check("hell[o] w[o]rld", "replace", 3, str_s("hello world"), str_s("/(o)/"), str_s("[$1]"));
	str_check("hell[o] w[o]rld", "replace", 3, str_s("hello world"), str_s("/(?P<x>o)/"), str_s("[$x]"));
	str_check("hell[] w[]rld", "replace", 3, str_s("hello world"), str_s("/(o)/"), str_s("[$1x]"));
	str_check("hell[ox] w[ox]rld", "replace", 3, str_s("hello world"), str_s("/(o)/"), str_s("[${1}x]"));
	str_check("a<b>", "replace", 3, str_s("ab"), str_s("/(?P<n>b)/"), str_s("<${n}>"));
	str_check("abb", "replace", 3, str_s("ab"), str_s("/(b)/"), str_s("$1$1"));
	str_check("ac", "replace", 3, str_s("abc"), str_s("/b/"), str_s("$2"));
}

Test(stdlib_string, replace_regex_dollar_escapes)
{
	str_check("ax$y", "replace", 3, str_s("ab"), str_s("/b/"), str_s("x$$y"));
	str_check("a$", "replace", 3, str_s("ab"), str_s("/b/"), str_s("$"));
	str_check("a${", "replace", 3, str_s("ab"), str_s("/b/"), str_s("${"));
	str_check("a${1", "replace", 3, str_s("ab"), str_s("/(b)/"), str_s("${1"));
}

Test(stdlib_string, replace_regex_empty_matches_like_go)
{
	str_check("-a-b-c-", "replace", 3, str_s("abc"), str_s("/x*/"), str_s("-"));
	str_check("-b-c-", "replace", 3, str_s("baaac"), str_s("/a*/"), str_s("-"));
	str_check("-a-b-c-", "replace", 3, str_s("abc"), str_s("//"), str_s("-"));
	str_check("-é-", "replace", 3, str_s("é"), str_s("//"), str_s("-"));
}

Test(stdlib_string, replace_lone_slash_is_literal)
{
	str_check("abc", "replace", 3, str_s("abc"), str_s("/"), str_s("-"));
}

Test(stdlib_string, replace_invalid_regex)
{
	str_expect_error(str_call("replace", 3, str_s("abc"), str_s("/(/"), str_s("-")),
			 "replace: invalid pattern '(': missing closing parenthesis");
}

Test(stdlib_string, replace_regex_backreference_is_refused)
{
	str_expect_error(str_call("replace", 3, str_s("aa"), str_s("/(a)\\1/"), str_s("-")),
			 "replace: backreferences/lookaround are not supported (RE2 syntax)");
}

Test(stdlib_string, replace_needs_strings)
{
	str_expect_error(str_call("replace", 3, str_s("a"), str_s("a"), str_i(1)),
			 "replace: argument 3 must be a string, not a number");
}

Test(stdlib_string, replace_is_held_to_the_string_limit)
{
	static const struct limits small = { .string_size = 10 };
	str_limits = &small;
	str_check("xxxxxxxxxx", "replace", 3, str_s("aaaaa"), str_s("a"), str_s("xx"));
	str_expect_error(str_call("replace", 3, str_s("aaaaaa"), str_s("a"), str_s("xx")),
			 "replace: result exceeds the string limit of 10 bytes");
	str_expect_error(str_call("replace", 3, str_s("aaaaaa"), str_s("/a/"), str_s("$0$0")),
			 "result exceeds the string limit");
	str_expect_error(str_call("replace", 3, str_s("abcdef"), str_s(""), str_s("--")),
			 "result exceeds the string limit");
}

/* ---- regex ---- */

Test(stdlib_string, regex_returns_the_match)
{
	str_check("aaabbbccc", "regex", 2, str_s("[a-z]+"), str_s("53453453.345345aaabbbccc23454"));
	str_check("", "regex", 2, str_s(""), str_s("abc"));
}

Test(stdlib_string, regex_returns_groups_as_a_list)
{
	str_expect_list(str_call("regex", 2, str_s("(\\d\\d\\d\\d)-(\\d\\d)-(\\d\\d)"), str_s("2019-02-01")), 3,
			"2019", "02", "01");
	str_expect_list(str_call("regex", 2, str_s("(a)|(b)"), str_s("b")), 2, NULL, "b");
}

Test(stdlib_string, regex_returns_named_groups_as_a_map)
{
	struct value *m = str_call("regex", 2,
				   str_s("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?"),
				   str_s("https://terraform.io/docs/"));
	str_expect_map_str(m, "scheme", "https");
	str_expect_map_str(m, "authority", "terraform.io");
	cr_expect_eq(m->map.len, 2);
	struct value *n = str_call("regex", 2, str_s("(?<x>a)|(?P<y>b)"), str_s("b"));
	str_expect_map_str(n, "x", NULL);
	str_expect_map_str(n, "y", "b");
}

Test(stdlib_string, regex_no_match)
{
	str_expect_error(str_call("regex", 2, str_s("[a-z]+"), str_s("123")),
			 "regex: pattern '[a-z]+' did not match any part of '123'");
	str_expect_error(str_call("regex", 2, str_s("x"), str_s("a\nb")), "did not match any part of 'a\\nb'");
}

Test(stdlib_string, regex_mixed_named_and_unnamed_groups)
{
	str_expect_error(str_call("regex", 2, str_s("(?P<x>a)(b)"), str_s("ab")),
			 "regex: invalid pattern '(?P<x>a)(b)': cannot mix named and unnamed capture groups");
}

Test(stdlib_string, regex_compile_error_names_the_pattern)
{
	str_expect_error(str_call("regex", 2, str_s("("), str_s("x")),
			 "regex: invalid pattern '(': missing closing parenthesis at offset 1");
	str_expect_error(str_call("regex", 2, str_s("a**"), str_s("x")), "invalid pattern 'a**'");
}

Test(stdlib_string, regex_lookaround_is_refused)
{
	const char *bad[] = { "a(?=b)", "a(?!b)", "(?<=a)b", "(?<!a)b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		str_expect_error(str_call("regex", 2, str_s(bad[i]), str_s("ab")),
				 "regex: backreferences/lookaround are not supported (RE2 syntax)");
	}
}

Test(stdlib_string, regex_backreferences_are_refused)
{
	const char *bad[] = { "(a)\\1", "(a)\\g1", "(?P<n>a)\\k<n>", "(?P<n>a)(?P=n)", "[\\1]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		str_expect_error(str_call("regex", 2, str_s(bad[i]), str_s("aa")),
				 "backreferences/lookaround are not supported (RE2 syntax)");
	}
}

Test(stdlib_string, regex_other_pcre_only_syntax_is_refused)
{
	str_expect_error(str_call("regex", 2, str_s("(?>a+)b"), str_s("ab")),
			 "regex: '(?>' in a pattern is not supported (RE2 syntax)");
	str_expect_error(str_call("regex", 2, str_s("(a|(?R))"), str_s("a")), "'(?R' in a pattern is not supported");
	str_expect_error(str_call("regex", 2, str_s("(?(1)a|b)"), str_s("a")), "'(?(' in a pattern is not supported");
	str_expect_error(str_call("regex", 2, str_s("(*LIMIT_MATCH=99999999)a"), str_s("a")),
			 "'(*' in a pattern is not supported");
	str_expect_error(str_call("regex", 2, str_s("a\\C"), str_s("a")), "'\\C' in a pattern is not supported");
}

Test(stdlib_string, regex_repeat_counts_follow_re2)
{
	str_check("aa", "regex", 2, str_s("a{2,1000}"), str_s("aa"));
	str_expect_error(str_call("regex", 2, str_s("a{2,1001}"), str_s("aa")),
			 "regex: repeat count '{2,1001}' exceeds 1000 (RE2 syntax)");
	str_expect_error(str_call("regex", 2, str_s("a{5000}"), str_s("aa")), "repeat count '{5000}'");
	str_check("A", "regex", 2, str_s("\\x{41}"), str_s("A"));
	str_check("a{x}", "regex", 2, str_s("a{x}"), str_s("a{x}"));
}

Test(stdlib_string, regex_catastrophic_backtracking_is_bounded)
{
	char subject[64];
	memset(subject, 'a', sizeof(subject) - 2);
	subject[sizeof(subject) - 2] = '!';
	subject[sizeof(subject) - 1] = '\0';
	str_expect_error(str_call("regex", 2, str_s("^(a+)+$"), str_s(subject)),
			 "regex: pattern is too expensive to match (backtracking limit reached)");
}

/* Blocks that each cost just under the per-start-position limit used to
 * add up: the whole call is bounded, whatever the subject's length.  The
 * old code took about 20 s on this subject; the timeout says minutes
 * are a failure, not the budget being timed. */
Test(stdlib_string, regex_cost_is_bounded_per_call_not_per_position, .timeout = 60)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 2000; i++)
		buf_puts(&b, "                        !");
	buf_putc(&b, 'x');
	str_expect_error(str_call("replace", 3, str_s(b.data), str_s("/(?: |  )+x/"), str_s("y")),
			 "replace: pattern is too expensive to match (backtracking limit reached)");
	str_expect_error(str_call("regex", 2, str_s("(?: |  )+x"), str_s(b.data)),
			 "regex: pattern is too expensive to match (backtracking limit reached)");
	buf_free(&b);
	/* An ordinary pattern over a long subject is well within it. */
	struct buf words = BUF_INIT;
	for (int i = 0; i < 20000; i++)
		buf_puts(&words, "word-1 ");
	str_check("word-1", "regex", 2, str_s("[a-z]+-[0-9]+$|word-[0-9]"), str_s(words.data));
	buf_free(&words);
}

Test(stdlib_string, regex_pattern_length_limit)
{
	static char pattern[20000];
	memset(pattern, 'a', sizeof(pattern) - 1);
	str_expect_error(str_call("regex", 2, str_s(pattern), str_s("a")),
			 "regex: pattern of 19999 bytes exceeds the limit of 16384 bytes");
}

Test(stdlib_string, regex_re2_semantics_on_pcre2)
{
	/* $ is the end of the text, '.' stops at newlines, \d \w are ASCII. */
	str_expect_error(str_call("regex", 2, str_s("b$"), str_s("ab\n")), "did not match");
	str_expect_error(str_call("regex", 2, str_s("a.c"), str_s("a\nc")), "did not match");
	str_check("3", "regex", 2, str_s("\\d+"), str_s("١٢3"));
	str_check("h", "regex", 2, str_s("\\w+"), str_s("héllo"));
	str_check("É", "regex", 2, str_s("(?i)é"), str_s("É"));
	str_check("héllo", "regex", 2, str_s("\\pL+"), str_s("héllo1"));
	str_check("ab", "regex", 2, str_s("[[:alpha:]]+"), str_s("ab1"));
	str_check("a.b", "regex", 2, str_s("\\Qa.b\\E"), str_s("a.b"));
	str_check("b\nc", "regex", 2, str_s("(?s)b.c"), str_s("ab\nc"));
	str_check("b", "regex", 2, str_s("(?m)b$"), str_s("ab\nc"));
}

Test(stdlib_string, regex_needs_strings)
{
	str_expect_error(str_call("regex", 2, str_s("a"), str_i(1)), "regex: argument 2 must be a string, not a number");
	str_expect_error(str_call("regex", 2, str_list(0), str_s("a")), "regex: argument 1 must be a string, not a list");
}

Test(stdlib_string, regex_invalid_utf8_subject)
{
	str_expect_error(str_call("regex", 2, str_s("a"), str_s("\xff")), "regex: matching failed");
}

Test(stdlib_string, null_pointers_after_the_first_argument)
{
	struct value *args[3] = { str_s("hello"), NULL, NULL };
	struct call_ctx c = { .arena = &str_arena, .name = "substr", .file = &str_file, .limits = &limits_default };
	str_expect_error(builtin_find("substr")->fn(&c, args, 3), "substr: argument 2 is missing");
	c.name = "format";
	args[0] = str_s("%s");
	str_expect_error(builtin_find("format")->fn(&c, args, 2), "format: argument 2 is missing");
}

Test(stdlib_string, replace_allows_mixed_named_and_unnamed_groups)
{
	str_check("<b|a>", "replace", 3, str_s("ab"), str_s("/(?P<x>a)(b)/"), str_s("<$2|${x}>"));
}
