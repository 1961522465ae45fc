/* test_stdlib_collection.c - stdlib/collection.c: length keys values lookup
 * contains concat distinct flatten merge coalesce element index range
 * reverse sort slice zipmap.
 *
 * Arguments and expected results are written as flow YAML and built with
 * the strict loader, so the tests do not depend on the code under test. */
#include "helpers.h"

#include <stdarg.h>

#include "buf.h"
#include "builtins.h"
#include "value.h"

static struct arena col_arena;
static struct srcfile col_file;
static struct limits col_limits;

static void col_setup(void)
{
	arena_init(&col_arena);
	diag_clear();
	diag_set_color(0);
	col_file = mem_file("call.yaml", "v: ${f(x)}\n");
	col_limits = limits_default;
}

static void col_teardown(void)
{
	arena_free(&col_arena);
	diag_clear();
}

TestSuite(collection, .init = col_setup, .fini = col_teardown);

/* A value from flow YAML ("[1, 'a']", "{a: 1}", "null", ...). */
static struct value *col_v(const char *yaml)
{
	struct srcfile *f = ARENA_NEW(&col_arena, struct srcfile);
	*f = mem_file("arg.yaml", arena_strdup(&col_arena, yaml));
	struct node *n = load_yaml(&col_arena, f, NULL);
	cr_assert_not_null(n, "test argument '%s' does not load", yaml);
	return value_from_node(&col_arena, n);
}

static struct value *col_callv(const char *name, struct value **args, size_t n)
{
	const struct builtin *b = builtin_find(name);
	cr_assert_not_null(b, "no builtin '%s'", name);
	struct call_ctx ctx = { .arena = &col_arena, .name = name, .file = &col_file, .off = 5,
				.limits = &col_limits };
	return b->fn(&ctx, args, n);
}

/* Calls name with n arguments, each given as flow YAML. */
static struct value *col_call(const char *name, size_t n, va_list ap)
{
	struct value *args[8];
	cr_assert(n <= 8);
	for (size_t i = 0; i < n; i++)
		args[i] = col_v(va_arg(ap, const char *));
	return col_callv(name, args, n);
}

static char *col_json(const struct value *v)
{
	struct buf b = BUF_INIT;
	value_to_json(v, &b);
	return buf_detach(&b, NULL);
}

/* The call succeeds with the value written as want (YAML). */
static struct value *col_ok(const char *want, const char *name, size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	struct value *got = col_call(name, n, ap);
	va_end(ap);
	char *errs = diag_capture();
	cr_assert_not_null(got, "%s failed:\n%s", name, errs);
	free(errs);
	struct value *exp = col_v(want);
	char *g = col_json(got), *w = col_json(exp);
	cr_expect(value_equal(got, exp) && got->kind == exp->kind, "%s: got %s, want %s", name, g, w);
	free(g);
	free(w);
	return got;
}

/* The call fails with exactly one error "NAME: <needle...>" at the call. */
static void col_err(const char *needle, const char *name, size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	struct value *got = col_call(name, n, ap);
	va_end(ap);
	size_t count = diag_error_count();
	char *out = diag_capture();
	char want[256];
	snprintf(want, sizeof(want), "call.yaml:1:6: error: %s: %s", name, needle);
	cr_expect_null(got, "%s should fail", name);
	cr_expect_eq(count, 1, "%zu errors:\n%s", count, out);
	cr_expect(strstr(out, want), "want '%s' in:\n%s", want, out);
	free(out);
}

/* ---- the table ---- */

Test(collection, table_arity)
{
	struct {
		const char *name;
		int min, max;
	} t[] = {
		{ "length", 1, 1 }, { "keys", 1, 1 }, { "values", 1, 1 }, { "lookup", 2, 3 },
		{ "contains", 2, 2 }, { "concat", 1, -1 }, { "distinct", 1, 1 }, { "flatten", 1, 1 },
		{ "merge", 0, -1 }, { "coalesce", 1, -1 }, { "element", 2, 2 }, { "index", 2, 2 },
		{ "range", 1, 3 }, { "reverse", 1, 1 }, { "sort", 1, 1 }, { "slice", 3, 3 },
		{ "zipmap", 2, 2 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		const struct builtin *b = builtin_find(t[i].name);
		cr_assert_not_null(b, "%s", t[i].name);
		cr_expect_eq(b->min_args, t[i].min, "%s min", t[i].name);
		cr_expect_eq(b->max_args, t[i].max, "%s max", t[i].name);
	}
}

/* ---- length keys values ---- */

Test(collection, length_counts_code_points)
{
	col_ok("5", "length", 1, "\"h\xc3\xa9llo\"");
	col_ok("1", "length", 1, "\"\xf0\x9f\x98\x80\"");
	col_ok("0", "length", 1, "\"\"");
}

Test(collection, length_lists_and_maps)
{
	col_ok("3", "length", 1, "[1, [2, 3], {}]");
	col_ok("2", "length", 1, "{a: 1, b: 2}");
	col_ok("0", "length", 1, "[]");
}

Test(collection, length_errors)
{
	col_err("argument must be a string, list or map, not a number", "length", 1, "5");
	col_err("argument must be a string, list or map, not null", "length", 1, "null");
	col_err("argument must be a string, list or map, not a bool", "length", 1, "true");
}

Test(collection, keys_sorted)
{
	col_ok("[B, a, b]", "keys", 1, "{b: 1, a: 2, B: 3}");
	col_ok("[]", "keys", 1, "{}");
}

Test(collection, keys_error)
{
	col_err("argument 1 must be a map, not a list", "keys", 1, "[1]");
}

Test(collection, values_in_key_order)
{
	col_ok("[2, 1, [3]]", "values", 1, "{b: 1, a: 2, c: [3]}");
}

Test(collection, values_error)
{
	col_err("argument 1 must be a map", "values", 1, "\"x\"");
}

/* ---- lookup ---- */

Test(collection, lookup_found_and_default)
{
	col_ok("1", "lookup", 2, "{a: 1}", "a");
	col_ok("1", "lookup", 3, "{a: 1}", "a", "5");
	col_ok("5", "lookup", 3, "{a: 1}", "b", "5");
	col_ok("null", "lookup", 3, "{a: 1}", "b", "null");
}

Test(collection, lookup_number_key_is_text)
{
	col_ok("x", "lookup", 2, "{'1': x}", "1");
	col_ok("t", "lookup", 2, "{'true': t}", "true");
}

Test(collection, lookup_missing_key)
{
	col_err("no key 'b' in the map (a third argument gives a default)", "lookup", 2, "{a: 1}", "b");
}

Test(collection, lookup_bad_arguments)
{
	col_err("argument 1 must be a map, not a list", "lookup", 2, "[1]", "a");
	col_err("argument 1 must be a map, not", "lookup", 2, "null", "a");
	col_err("argument 2 must be a string, not a list", "lookup", 2, "{a: 1}", "[a]");
	col_err("argument 2 must be a string, not null", "lookup", 2, "{a: 1}", "null");
}

Test(collection, lookup_long_key_is_clipped)
{
	char key[400];
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	struct value *args[] = { col_v("{a: 1}"), value_cstr(&col_arena, key) };
	cr_expect_null(col_callv("lookup", args, 2));
	char *out = diag_capture();
	cr_expect(strstr(out, "no key 'kkkk") && !strstr(out, key), "%s", out);
	free(out);
}

/* ---- contains index ---- */

Test(collection, contains_compares_values)
{
	col_ok("true", "contains", 2, "[1, 2]", "2");
	col_ok("false", "contains", 2, "[1, 2]", "'2'");
	col_ok("true", "contains", 2, "[1, {a: [1]}]", "{a: [1]}");
	col_ok("true", "contains", 2, "[1.0]", "1");
	col_ok("false", "contains", 2, "[]", "null");
}

Test(collection, contains_error)
{
	col_err("argument 1 must be a list, not a string", "contains", 2, "ab", "a");
}

Test(collection, index_finds_first)
{
	col_ok("1", "index", 2, "[a, b, b]", "b");
	col_ok("0", "index", 2, "[[1], 2]", "[1]");
}

Test(collection, index_errors)
{
	col_err("item not found in the list", "index", 2, "[1, 2, 3]", "5");
	col_err("item not found in the list", "index", 2, "[1, 2, 3]", "'2'");
	col_err("argument 1 must be a list", "index", 2, "abc", "a");
}

/* ---- concat distinct flatten ---- */

Test(collection, concat_lists)
{
	col_ok("[1, 2, 3]", "concat", 3, "[1]", "[2, 3]", "[]");
	col_ok("[]", "concat", 1, "[]");
	col_ok("[[1], {a: 1}]", "concat", 2, "[[1]]", "[{a: 1}]");
}

Test(collection, concat_errors)
{
	col_err("argument 2 must be a list, not a string", "concat", 2, "[1]", "a");
	col_err("argument 1 must be a list, not", "concat", 1, "null");
}

Test(collection, concat_respects_the_list_limit)
{
	col_limits.nodes = 3;
	col_err("result of 4 items exceeds the limit of 3", "concat", 2, "[1, 2]", "[3, 4]");
}

Test(collection, distinct_keeps_first)
{
	col_ok("[1, 2, '1', [1], {a: 1}]", "distinct", 1, "[1, 2, 1, '1', [1], 2, [1], {a: 1}, {a: 1}]");
	col_ok("[]", "distinct", 1, "[]");
	col_ok("[null]", "distinct", 1, "[null, null]");
}

Test(collection, distinct_numbers_by_value)
{
	struct value *v = col_ok("[1, 0]", "distinct", 1, "[1, 1.0, 0, -0.0, 0.0]");
	cr_expect_eq(v->list.items[0]->kind, VAL_INT, "the first of equal items is kept");
}

Test(collection, distinct_large_list)
{
	struct value *list = value_list(&col_arena, 20000, NULL);
	for (size_t i = 0; i < list->list.len; i++)
		list->list.items[i] = value_int(&col_arena, (int64_t)(i % 1000), NULL);
	struct value *out = col_callv("distinct", &list, 1);
	cr_assert_not_null(out);
	cr_assert_eq(out->list.len, 1000);
	for (size_t i = 0; i < 1000; i++)
		cr_expect_eq(out->list.items[i]->i, (int64_t)i);
}

Test(collection, distinct_error)
{
	col_err("argument 1 must be a list, not a map", "distinct", 1, "{a: 1}");
}

Test(collection, flatten_recursive)
{
	col_ok("[1, 2, 3]", "flatten", 1, "[[1, [2, []]], 3, []]");
	col_ok("[null, 1, null, {a: [1]}]", "flatten", 1, "[null, [1, null], [{a: [1]}]]");
	col_ok("[]", "flatten", 1, "[]");
}

Test(collection, flatten_errors)
{
	col_err("argument 1 must be a list, not a number", "flatten", 1, "1");
	col_err("argument 1 must be a list, not", "flatten", 1, "null");
}

Test(collection, flatten_too_deep)
{
	struct value *v = value_list(&col_arena, 0, NULL);
	for (int i = 0; i < 2000; i++) {
		struct value *outer = value_list(&col_arena, 1, NULL);
		outer->list.items[0] = v;
		v = outer;
	}
	cr_expect_null(col_callv("flatten", &v, 1));
	char *out = diag_capture();
	cr_expect(strstr(out, "flatten: lists nested deeper than 1024 levels"), "%s", out);
	free(out);
}

Test(collection, flatten_respects_the_list_limit)
{
	col_limits.nodes = 2;
	col_err("result of 3 items exceeds the limit of 2", "flatten", 1, "[[1, [2]], 3]");
}

/* ---- merge coalesce ---- */

Test(collection, merge_later_wins)
{
	col_ok("{a: 1, b: 3, c: 4}", "merge", 4, "{a: 1, b: 2}", "{b: 3}", "null", "{c: 4}");
	col_ok("{a: {y: 2}}", "merge", 2, "{a: {x: 1}}", "{a: {y: 2}}");
	col_ok("{b: 3}", "merge", 3, "{b: 1}", "{b: 2}", "{b: 3}");
}

Test(collection, merge_empty)
{
	col_ok("{}", "merge", 0);
	col_ok("{}", "merge", 2, "null", "{}");
}

Test(collection, merge_result_is_sorted_map)
{
	struct value *v = col_ok("{a: 1, m: 2, z: 3}", "merge", 2, "{z: 3, a: 1}", "{m: 2}");
	cr_expect(value_map_get(v, "m") && value_map_get(v, "m")->i == 2);
}

Test(collection, merge_errors)
{
	col_err("argument 2 must be a map, not a list", "merge", 2, "{a: 1}", "[1]");
	col_err("argument 1 must be a map, not a string", "merge", 1, "x");
}

Test(collection, coalesce_first_non_empty)
{
	col_ok("1", "coalesce", 3, "null", "''", "1");
	col_ok("b", "coalesce", 3, "''", "null", "b");
	col_ok("[]", "coalesce", 2, "[]", "[1]");
	col_ok("false", "coalesce", 2, "null", "false");
}

Test(collection, coalesce_error)
{
	col_err("no non-null, non-empty-string arguments", "coalesce", 2, "null", "''");
}

/* ---- element ---- */

Test(collection, element_wraps)
{
	col_ok("2", "element", 2, "[1, 2, 3]", "4");
	col_ok("1", "element", 2, "[1, 2, 3]", "0");
	col_ok("3", "element", 2, "[1, 2, 3]", "2.0");
	col_ok("1", "element", 2, "[1]", "9223372036854775807");
}

Test(collection, element_errors)
{
	col_err("cannot take an element of an empty list", "element", 2, "[]", "0");
	col_err("index -1 must not be negative", "element", 2, "[1, 2]", "-1");
	col_err("argument 2 must be a whole number, not 1.5", "element", 2, "[1, 2]", "1.5");
	col_err("argument 2 must be a number, not a string", "element", 2, "[1, 2]", "'1'");
	col_err("argument 1 must be a list, not a string", "element", 2, "a", "0");
}

/* ---- range ---- */

Test(collection, range_one_argument)
{
	col_ok("[0, 1, 2]", "range", 1, "3");
	col_ok("[0, -1, -2]", "range", 1, "-3");
	col_ok("[]", "range", 1, "0");
	col_ok("[0, 1]", "range", 1, "1.5");
}

Test(collection, range_two_arguments)
{
	col_ok("[1, 2, 3]", "range", 2, "1", "4");
	col_ok("[5, 4, 3, 2]", "range", 2, "5", "1");
	col_ok("[]", "range", 2, "1", "1");
}

Test(collection, range_with_step)
{
	col_ok("[0, 3, 6, 9]", "range", 3, "0", "10", "3");
	col_ok("[5, 3]", "range", 3, "5", "1", "-2");
	col_ok("[0, 0.25, 0.5, 0.75]", "range", 3, "0", "1", "0.25");
	struct value *v = col_ok("[0, 0.1, 0.2, 0.3]", "range", 3, "0", "0.35", "0.1");
	cr_expect_eq(v->list.items[3]->f, 0.3, "no accumulated error");
	cr_expect_eq(v->list.items[0]->kind, VAL_INT, "integral results are integers");
}

Test(collection, range_int64_extremes)
{
	col_ok("[9223372036854775805, 9223372036854775806]", "range", 2, "9223372036854775805",
	       "9223372036854775807");
	col_ok("[-9223372036854775808, -1, 9223372036854775806]", "range", 3, "-9223372036854775808", "9223372036854775807",
	       "9223372036854775807");
	col_ok("[9223372036854775807, -1]", "range", 3, "9223372036854775807", "-9223372036854775808",
	       "-9223372036854775808");
}

Test(collection, range_limit)
{
	struct value *arg = col_v("1024");
	struct value *v = col_callv("range", &arg, 1);
	cr_assert_not_null(v);
	cr_expect_eq(v->list.len, 1024);
	cr_expect_eq(v->list.items[1023]->i, 1023);
	col_err("more than 1024 values were generated", "range", 1, "1025");
	col_err("more than 1024 values were generated", "range", 3, "0", "1", "0.0001");
	col_err("more than 1024 values were generated", "range", 3, "0", "1", "1e-300");
}

Test(collection, range_errors)
{
	col_err("step must not be zero", "range", 3, "0", "1", "0");
	col_err("limit must not be greater than start when step is negative", "range", 3, "1", "5", "-1");
	col_err("limit must not be less than start when step is positive", "range", 3, "2", "1", "1");
	col_err("argument 1 must be a number, not a string", "range", 1, "'3'");
	col_err("argument 3 must be a number, not", "range", 3, "1", "2", "null");
}

/* ---- reverse sort slice ---- */

Test(collection, reverse_list)
{
	col_ok("[3, [2], 1]", "reverse", 1, "[1, [2], 3]");
	col_ok("[]", "reverse", 1, "[]");
}

Test(collection, reverse_error)
{
	col_err("argument 1 must be a list, not a string", "reverse", 1, "abc");
}

Test(collection, sort_bytewise)
{
	col_ok("['10', '9', B, a, b, \"\xc3\xa9\"]", "sort", 1, "[b, \"\xc3\xa9\", a, B, '10', '9']");
	col_ok("[]", "sort", 1, "[]");
}

Test(collection, sort_converts_numbers_and_bools)
{
	col_ok("['10', '2', '2.5', '3']", "sort", 1, "[3, 10, 2, 2.5]");
	col_ok("['false', 'true']", "sort", 1, "[true, false]");
}

Test(collection, sort_errors)
{
	col_err("element at index 1 must be a string, not null", "sort", 1, "[a, null]");
	col_err("element at index 0 must be a string, not a list", "sort", 1, "[[1]]");
	col_err("argument 1 must be a list, not a map", "sort", 1, "{a: 1}");
}

Test(collection, slice_ranges)
{
	col_ok("[2, 3]", "slice", 3, "[1, 2, 3, 4]", "1", "3");
	col_ok("[]", "slice", 3, "[1, 2, 3]", "3", "3");
	col_ok("[1, 2, 3]", "slice", 3, "[1, 2, 3]", "0", "3");
}

Test(collection, slice_errors)
{
	col_err("start index 2 is greater than end index 1", "slice", 3, "[1, 2, 3]", "2", "1");
	col_err("end index 4 is outside the list of 3 items", "slice", 3, "[1, 2, 3]", "0", "4");
	col_err("end index -1 is outside the list of 3 items", "slice", 3, "[1, 2, 3]", "0", "-1");
	col_err("start index -1 must not be negative", "slice", 3, "[1, 2, 3]", "-1", "2");
	col_err("argument 2 must be a whole number, not 0.5", "slice", 3, "[1, 2, 3]", "0.5", "2");
	col_err("argument 1 must be a list, not a string", "slice", 3, "abc", "0", "1");
}

/* ---- zipmap ---- */

Test(collection, zipmap_pairs)
{
	col_ok("{a: 1, b: 2}", "zipmap", 2, "[b, a]", "[2, 1]");
	col_ok("{}", "zipmap", 2, "[]", "[]");
	col_ok("{'1': x, '2.5': z, 'true': w}", "zipmap", 2, "[1, true, 2.5]", "[x, w, z]");
}

Test(collection, zipmap_later_duplicate_wins)
{
	col_ok("{a: 3, b: 2}", "zipmap", 2, "[a, b, a]", "[1, 2, 3]");
}

Test(collection, zipmap_errors)
{
	col_err("number of keys (1) does not match number of values (2)", "zipmap", 2, "[a]", "[1, 2]");
	col_err("key at index 0 must be a string, not null", "zipmap", 2, "[null]", "[1]");
	col_err("key at index 1 must be a string, not a list", "zipmap", 2, "[a, [b]]", "[1, 2]");
	col_err("argument 2 must be a list, not", "zipmap", 2, "[a]", "null");
}
