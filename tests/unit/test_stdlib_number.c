/* test_stdlib_number.c - stdlib/number.c: abs ceil floor max min parseint. */
#include "helpers.h"

#include <stdarg.h>
#include <stdint.h>

#include "builtins.h"
#include "value.h"

static struct arena num_arena;
static const struct srcfile num_file = { "unit.yaml", "x: ${f()}\n", 10 };

static void num_setup(void)
{
	arena_init(&num_arena);
	diag_clear();
	diag_set_color(0);
}

static void num_teardown(void)
{
	diag_clear();
	arena_free(&num_arena);
}

TestSuite(stdlib_number, .init = num_setup, .fini = num_teardown);

static struct value *num_i(int64_t i)
{
	return value_int(&num_arena, i, NULL);
}

static struct value *num_f(double f)
{
	return value_float(&num_arena, f, NULL);
}

static struct value *num_s(const char *s)
{
	return value_str(&num_arena, s, strlen(s), NULL);
}

/* Calls the builtin name with n arguments (struct value *). */
static struct value *num_call(const char *name, size_t n, ...)
{
	const struct builtin *b = builtin_find(name);
	cr_assert_not_null(b, "no builtin '%s'", name);
	struct value *args[8] = { NULL };
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		args[i] = va_arg(ap, struct value *);
	va_end(ap);
	struct call_ctx c = { .arena = &num_arena, .name = b->name, .file = &num_file, .off = 3,
			      .limits = &limits_default };
	return b->fn(&c, args, n);
}

static void num_expect_int(const struct value *v, int64_t want)
{
	cr_assert_not_null(v, "unexpected error");
	cr_assert_eq(v->kind, VAL_INT, "kind %d, not an int", v->kind);
	cr_assert_eq(v->i, want, "got %lld, want %lld", (long long)v->i, (long long)want);
	cr_assert_eq(diag_error_count(), 0);
}

static void num_expect_float(const struct value *v, double want)
{
	cr_assert_not_null(v, "unexpected error");
	cr_assert_eq(v->kind, VAL_FLOAT, "kind %d, not a float", v->kind);
	cr_assert_eq(v->f, want, "got %g, want %g", v->f, want);
}

/* A NULL result with exactly one error whose text contains needle. */
static void num_expect_error(const struct value *v, const char *needle)
{
	cr_assert_null(v, "expected an error");
	cr_assert_eq(diag_error_count(), 1, "%zu errors", diag_error_count());
	char *text = diag_capture();
	cr_assert_not_null(strstr(text, needle), "'%s' not in:\n%s", needle, text);
	free(text);
}

Test(stdlib_number, table_has_the_six_functions_with_arity)
{
	static const struct { const char *name; int min, max; } want[] = {
		{ "abs", 1, 1 }, { "ceil", 1, 1 }, { "floor", 1, 1 },
		{ "max", 1, -1 }, { "min", 1, -1 }, { "parseint", 2, 2 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		const struct builtin *b = builtin_find(want[i].name);
		cr_assert_not_null(b, "%s", want[i].name);
		cr_expect_eq(b->min_args, want[i].min, "%s", want[i].name);
		cr_expect_eq(b->max_args, want[i].max, "%s", want[i].name);
	}
}

Test(stdlib_number, abs_of_negative_int)
{
	num_expect_int(num_call("abs", 1, num_i(-3)), 3);
	num_expect_int(num_call("abs", 1, num_i(INT64_MAX)), INT64_MAX);
}

Test(stdlib_number, abs_of_float)
{
	num_expect_float(num_call("abs", 1, num_f(-3.5)), 3.5);
	num_expect_int(num_call("abs", 1, num_f(-4.0)), 4);
}

Test(stdlib_number, abs_of_int64_min_overflows)
{
	num_expect_error(num_call("abs", 1, num_i(INT64_MIN)), "abs: integer overflow");
}

Test(stdlib_number, abs_of_string_is_a_type_error)
{
	num_expect_error(num_call("abs", 1, num_s("-3")), "abs: argument 1 must be a number, not a string");
}

Test(stdlib_number, abs_of_null_is_a_type_error)
{
	num_expect_error(num_call("abs", 1, value_null(&num_arena, NULL)), "must be a number, not a null");
}

Test(stdlib_number, ceil_and_floor_of_floats)
{
	num_expect_int(num_call("ceil", 1, num_f(1.2)), 2);
	num_expect_int(num_call("ceil", 1, num_f(-1.2)), -1);
	num_expect_int(num_call("floor", 1, num_f(-1.5)), -2);
	num_expect_int(num_call("floor", 1, num_f(1.99)), 1);
}

Test(stdlib_number, ceil_and_floor_keep_ints_exact)
{
	num_expect_int(num_call("ceil", 1, num_i(INT64_MAX)), INT64_MAX);
	num_expect_int(num_call("floor", 1, num_i(INT64_MIN)), INT64_MIN);
}

Test(stdlib_number, floor_beyond_int64_stays_a_float)
{
	num_expect_float(num_call("floor", 1, num_f(1e300)), 1e300);
}

Test(stdlib_number, ceil_of_bool_is_a_type_error)
{
	num_expect_error(num_call("ceil", 1, value_bool(&num_arena, true, NULL)),
			 "ceil: argument 1 must be a number, not a bool");
}

Test(stdlib_number, floor_of_list_is_a_type_error)
{
	num_expect_error(num_call("floor", 1, value_list(&num_arena, 0, NULL)), "floor: argument 1 must be a number");
}

Test(stdlib_number, max_and_min_of_ints)
{
	num_expect_int(num_call("max", 3, num_i(1), num_i(7), num_i(-2)), 7);
	num_expect_int(num_call("min", 3, num_i(1), num_i(7), num_i(-2)), -2);
}

Test(stdlib_number, max_and_min_mix_ints_and_floats)
{
	num_expect_float(num_call("max", 3, num_i(1), num_f(3.5), num_i(3)), 3.5);
	num_expect_float(num_call("min", 2, num_i(2), num_f(-1.5)), -1.5);
}

Test(stdlib_number, max_of_one_argument)
{
	num_expect_int(num_call("max", 1, num_i(42)), 42);
	num_expect_int(num_call("min", 1, num_i(-42)), -42);
}

Test(stdlib_number, max_compares_large_ints_exactly)
{
	/* As doubles these two are equal. */
	num_expect_int(num_call("max", 2, num_i(INT64_MAX - 1), num_i(INT64_MAX)), INT64_MAX);
	num_expect_int(num_call("min", 2, num_i(INT64_MAX), num_i(INT64_MAX - 1)), INT64_MAX - 1);
}

Test(stdlib_number, max_with_a_string_names_the_argument)
{
	num_expect_error(num_call("max", 2, num_i(1), num_s("5")), "max: argument 2 must be a number, not a string");
}

Test(stdlib_number, min_without_arguments)
{
	num_expect_error(num_call("min", 0), "min: must pass at least one number");
}

Test(stdlib_number, max_result_has_no_provenance)
{
	struct value *v = num_call("max", 2, num_i(1), num_i(2));
	cr_assert_not_null(v);
	cr_expect_null(v->origin);
}

Test(stdlib_number, parseint_hex_with_sign_and_case)
{
	num_expect_int(num_call("parseint", 2, num_s("FF"), num_i(16)), 255);
	num_expect_int(num_call("parseint", 2, num_s("-ff"), num_i(16)), -255);
	num_expect_int(num_call("parseint", 2, num_s("+5"), num_i(10)), 5);
	num_expect_int(num_call("parseint", 2, num_s("-0"), num_i(10)), 0);
}

Test(stdlib_number, parseint_binary_and_octal)
{
	num_expect_int(num_call("parseint", 2, num_s("1010"), num_i(2)), 10);
	num_expect_int(num_call("parseint", 2, num_s("777"), num_i(8)), 511);
}

Test(stdlib_number, parseint_base_62_is_case_sensitive)
{
	num_expect_int(num_call("parseint", 2, num_s("zz"), num_i(62)), 2205);
	num_expect_int(num_call("parseint", 2, num_s("Zz"), num_i(62)), 3817);
	num_expect_int(num_call("parseint", 2, num_s("ZZ"), num_i(36)), 1295);
}

Test(stdlib_number, parseint_base_as_integral_float)
{
	num_expect_int(num_call("parseint", 2, num_s("10"), num_f(16.0)), 16);
}

Test(stdlib_number, parseint_bad_digit_full_message)
{
	num_expect_error(num_call("parseint", 2, num_s("12z"), num_i(10)),
			 "unit.yaml:1:4: error: parseint: '12z' is not a number in base 10\n");
}

Test(stdlib_number, parseint_digit_out_of_base)
{
	num_expect_error(num_call("parseint", 2, num_s("102"), num_i(2)), "'102' is not a number in base 2");
}

Test(stdlib_number, parseint_empty_and_sign_only)
{
	num_expect_error(num_call("parseint", 2, num_s(""), num_i(10)), "'' is not a number in base 10");
	num_expect_error(num_call("parseint", 2, num_s("-"), num_i(10)), "'-' is not a number");
}

Test(stdlib_number, parseint_rejects_spaces_prefixes_and_underscores)
{
	num_expect_error(num_call("parseint", 2, num_s(" 5"), num_i(10)), "' 5' is not a number");
	num_expect_error(num_call("parseint", 2, num_s("0x10"), num_i(16)), "'0x10' is not a number in base 16");
	num_expect_error(num_call("parseint", 2, num_s("1_0"), num_i(10)), "'1_0' is not a number");
}

Test(stdlib_number, parseint_int64_bounds)
{
	num_expect_int(num_call("parseint", 2, num_s("9223372036854775807"), num_i(10)), INT64_MAX);
	num_expect_int(num_call("parseint", 2, num_s("-9223372036854775808"), num_i(10)), INT64_MIN);
	num_expect_int(num_call("parseint", 2, num_s("7fffffffffffffff"), num_i(16)), INT64_MAX);
}

Test(stdlib_number, parseint_overflow_is_an_error)
{
	num_expect_error(num_call("parseint", 2, num_s("9223372036854775808"), num_i(10)),
			 "parseint: '9223372036854775808' in base 10 does not fit in a 64-bit integer");
	num_expect_error(num_call("parseint", 2, num_s("99999999999999999999999999"), num_i(10)),
			 "does not fit");
}

Test(stdlib_number, parseint_base_out_of_range)
{
	num_expect_error(num_call("parseint", 2, num_s("1"), num_i(63)),
			 "parseint: base must be a whole number between 2 and 62");
	num_expect_error(num_call("parseint", 2, num_s("1"), num_i(1)), "between 2 and 62");
	num_expect_error(num_call("parseint", 2, num_s("1"), num_i(-16)), "between 2 and 62");
}

Test(stdlib_number, parseint_fractional_base)
{
	num_expect_error(num_call("parseint", 2, num_s("10"), num_f(2.5)), "base must be a whole number");
}

Test(stdlib_number, parseint_wrong_types)
{
	num_expect_error(num_call("parseint", 2, num_i(5), num_i(10)),
			 "parseint: argument 1 must be a string, not a number");
	num_expect_error(num_call("parseint", 2, num_s("5"), num_s("10")),
			 "parseint: argument 2 must be a number, not a string");
}

Test(stdlib_number, parseint_subject_is_clipped_and_sanitised)
{
	num_expect_error(num_call("parseint", 2, num_s("a\nb\x1b[31m"), num_i(10)), "'a?b?[31m' is not");
	char long_str[200];
	memset(long_str, '9', sizeof(long_str) - 2);
	long_str[sizeof(long_str) - 2] = 'x';
	long_str[sizeof(long_str) - 1] = '\0';
	num_expect_error(num_call("parseint", 2, num_s(long_str), num_i(10)),
			 "'9999999999999999999999999999999999999999...' is not");
}

Test(stdlib_number, missing_arguments_do_not_crash)
{
	const char *names[] = { "abs", "ceil", "floor", "max", "min", "parseint" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		const struct builtin *b = builtin_find(names[i]);
		struct call_ctx c = { .arena = &num_arena, .name = b->name, .file = &num_file,
				      .limits = &limits_default };
		struct value *none[1] = { NULL };
		cr_expect_null(b->fn(&c, NULL, 0), "%s", names[i]);
		cr_expect_null(b->fn(&c, none, 1), "%s", names[i]);
	}
	cr_expect_geq(diag_error_count(), 6);
}
