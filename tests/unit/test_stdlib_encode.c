/* test_stdlib_encode.c - stdlib/encode.c: tostring tonumber tobool
 * jsonencode jsondecode yamldecode. */
#include "helpers.h"

#include "buf.h"
#include "builtins.h"
#include "value.h"

static struct arena enc_arena;
static struct srcfile enc_file;
static struct limits enc_limits;

static void enc_setup(void)
{
	arena_init(&enc_arena);
	diag_clear();
	diag_set_color(0);
	enc_file = mem_file("call.yaml", "v: ${f(x)}\n");
	enc_limits = limits_default;
}

static void enc_teardown(void)
{
	arena_free(&enc_arena);
	diag_clear();
}

TestSuite(encode, .init = enc_setup, .fini = enc_teardown);

/* A value from flow YAML, built by the loader (not by the code under test). */
static struct value *enc_v(const char *yaml)
{
	struct srcfile *f = ARENA_NEW(&enc_arena, struct srcfile);
	*f = mem_file("arg.yaml", arena_strdup(&enc_arena, yaml));
	struct node *n = load_yaml(&enc_arena, f, NULL);
	cr_assert_not_null(n, "test argument '%s' does not load", yaml);
	return value_from_node(&enc_arena, n);
}

static struct value *enc_str(const char *s)
{
	return value_str(&enc_arena, s, strlen(s), NULL);
}

static struct value *enc_call(const char *name, struct value *arg)
{
	const struct builtin *b = builtin_find(name);
	cr_assert_not_null(b, "no builtin '%s'", name);
	cr_assert(b->min_args == 1 && b->max_args == 1, "%s takes one argument", name);
	struct call_ctx ctx = { .arena = &enc_arena, .name = name, .file = &enc_file, .off = 5,
				.limits = &enc_limits };
	return b->fn(&ctx, &arg, 1);
}

static char *enc_json(const struct value *v)
{
	struct buf b = BUF_INIT;
	value_to_json(v, &b);
	return buf_detach(&b, NULL);
}

/* name(arg) succeeds and equals want (flow YAML) in value and kind. */
static struct value *enc_ok(const char *name, struct value *arg, const char *want)
{
	struct value *got = enc_call(name, arg);
	char *errs = diag_capture();
	cr_assert_not_null(got, "%s failed:\n%s", name, errs);
	free(errs);
	struct value *exp = enc_v(want);
	char *g = enc_json(got), *w = enc_json(exp);
	cr_expect(value_equal(got, exp) && got->kind == exp->kind, "%s: got %s, want %s", name, g, w);
	free(g);
	free(w);
	return got;
}

/* name(arg) returns a string equal to want. */
static void enc_ok_str(const char *name, struct value *arg, const char *want)
{
	struct value *got = enc_call(name, arg);
	char *errs = diag_capture();
	cr_assert_not_null(got, "%s failed:\n%s", name, errs);
	free(errs);
	cr_assert_eq(got->kind, VAL_STR, "%s returned a %s", name, value_kind_name(got->kind));
	cr_expect(got->str.len == strlen(want) && !memcmp(got->str.s, want, got->str.len),
		  "%s: got '%.*s', want '%s'", name, (int)got->str.len, got->str.s, want);
}

/* name(arg) fails with one error; returns the printed diagnostics. */
static char *enc_fail(const char *name, struct value *arg)
{
	struct value *got = enc_call(name, arg);
	size_t count = diag_error_count();
	char *out = diag_capture();
	cr_expect_null(got, "%s should fail", name);
	cr_expect_eq(count, 1, "%zu errors:\n%s", count, out);
	return out;
}

/* name(arg) fails with "call.yaml:1:6: error: NAME: <needle...>". */
static void enc_err(const char *name, struct value *arg, const char *needle)
{
	char *out = enc_fail(name, arg);
	char want[512];
	snprintf(want, sizeof(want), "call.yaml:1:6: error: %s: %s", name, needle);
	cr_expect(strstr(out, want), "want '%s' in:\n%s", want, out);
	free(out);
}

/* jsondecode(text) fails in the JSON loader with "jsondecode() argument:
 * LINE:COL: error: jsondecode: MESSAGE", then points at the call. */
static void dec_err(const char *text, unsigned line, unsigned col, const char *message)
{
	char *out = enc_fail("jsondecode", enc_str(text));
	char want[256];
	snprintf(want, sizeof(want), "jsondecode() argument:%u:%u: error: jsondecode: %s\n", line, col, message);
	cr_expect(strstr(out, want), "text '%s': want '%s' in:\n%s", text, want, out);
	cr_expect(strstr(out, "call.yaml:1:6: note: in this jsondecode() call"), "%s", out);
	free(out);
}

/* ---- tostring ---- */

Test(encode, tostring_primitives)
{
	enc_ok_str("tostring", enc_v("42"), "42");
	enc_ok_str("tostring", enc_v("-1.5"), "-1.5");
	enc_ok_str("tostring", value_float(&enc_arena, 1e-7, NULL), "0.0000001");
	enc_ok_str("tostring", value_float(&enc_arena, 1e20, NULL), "100000000000000000000");
	enc_ok_str("tostring", enc_v("true"), "true");
	enc_ok_str("tostring", enc_v("hello"), "hello");
}

Test(encode, tostring_null_is_null)
{
	enc_ok("tostring", enc_v("null"), "null");
}

Test(encode, tostring_errors)
{
	enc_err("tostring", enc_v("[1]"), "cannot convert a list to a string");
	enc_err("tostring", enc_v("{a: 1}"), "cannot convert a map to a string");
}

/* ---- tonumber ---- */

Test(encode, tonumber_decimal_strings)
{
	struct value *v = enc_ok("tonumber", enc_str("12"), "12");
	cr_expect_eq(v->kind, VAL_INT);
	enc_ok("tonumber", enc_str("1.5e3"), "1500");
	enc_ok("tonumber", enc_str("-2.25"), "-2.25");
	enc_ok("tonumber", enc_str(".5"), "0.5");
	enc_ok("tonumber", enc_str("5."), "5");
	enc_ok("tonumber", enc_str("+5"), "5");
	enc_ok("tonumber", enc_str("007"), "7");
	enc_ok("tonumber", enc_str("-9223372036854775808"), "-9223372036854775808");
}

Test(encode, tonumber_passes_numbers_and_null)
{
	enc_ok("tonumber", enc_v("3"), "3");
	enc_ok("tonumber", enc_v("2.5"), "2.5");
	enc_ok("tonumber", enc_v("null"), "null");
}

Test(encode, tonumber_bad_text)
{
	const char *bad[] = { "abc", "", " 1", "1 ", "0x10", "1_000", "Inf", "NaN", "1e", ".", "-", "1.2.3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char want[64];
		snprintf(want, sizeof(want), "cannot convert '%s' to a number: it is not a decimal number", bad[i]);
		enc_err("tonumber", enc_str(bad[i]), want);
	}
}

Test(encode, tonumber_out_of_range)
{
	enc_err("tonumber", enc_str("9223372036854775808"), "integer '9223372036854775808' is out of range (int64)");
	enc_err("tonumber", enc_str("1e400"), "number '1e400' is out of range");
}

Test(encode, tonumber_other_kinds)
{
	enc_err("tonumber", enc_v("true"), "cannot convert a bool to a number");
	enc_err("tonumber", enc_v("[1]"), "cannot convert a list to a number");
}

/* ---- tobool ---- */

Test(encode, tobool_values)
{
	enc_ok("tobool", enc_str("true"), "true");
	enc_ok("tobool", enc_str("false"), "false");
	enc_ok("tobool", enc_v("false"), "false");
	enc_ok("tobool", enc_v("null"), "null");
}

Test(encode, tobool_errors)
{
	enc_err("tobool", enc_str("True"), "cannot convert 'True' to a bool: only 'true' and 'false' are allowed");
	enc_err("tobool", enc_str("yes"), "cannot convert 'yes' to a bool");
	enc_err("tobool", enc_v("1"), "cannot convert a number to a bool");
	enc_err("tobool", enc_v("{}"), "cannot convert a map to a bool");
}

/* ---- jsonencode ---- */

Test(encode, jsonencode_compact_sorted)
{
	enc_ok_str("jsonencode", enc_v("{c: true, b: [1, 2.5, x], a: null}"),
		   "{\"a\":null,\"b\":[1,2.5,\"x\"],\"c\":true}");
	enc_ok_str("jsonencode", enc_v("[]"), "[]");
	enc_ok_str("jsonencode", enc_v("{}"), "{}");
	enc_ok_str("jsonencode", enc_v("null"), "null");
	enc_ok_str("jsonencode", enc_v("{B: 1, a: {y: [], x: {}}}"), "{\"B\":1,\"a\":{\"x\":{},\"y\":[]}}");
}

Test(encode, jsonencode_numbers)
{
	enc_ok_str("jsonencode", value_float(&enc_arena, 1e20, NULL), "100000000000000000000");
	enc_ok_str("jsonencode", value_float(&enc_arena, 1e-7, NULL), "0.0000001");
	enc_ok_str("jsonencode", value_float(&enc_arena, 0.1, NULL), "0.1");
	enc_ok_str("jsonencode", value_int(&enc_arena, INT64_MIN, NULL), "-9223372036854775808");
}

Test(encode, jsonencode_escapes_like_go)
{
	enc_ok_str("jsonencode", enc_str("<a&b>"), "\"\\u003ca\\u0026b\\u003e\"");
	enc_ok_str("jsonencode", enc_str("q\"\\/"), "\"q\\\"\\\\/\"");
	enc_ok_str("jsonencode", enc_str("\b\f\n\r\t\x01\x1f\x7f"), "\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"");
	enc_ok_str("jsonencode", enc_str("\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80"),
		   "\"\xc3\xa9\\u2028\\u2029\xf0\x9f\x98\x80\"");
}

Test(encode, jsonencode_invalid_utf8)
{
	enc_ok_str("jsonencode", enc_str("a\xff" "b\xc3"), "\"a\\ufffdb\\ufffd\"");
	enc_ok_str("jsonencode", enc_str("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
}

Test(encode, jsonencode_keys_escaped)
{
	enc_ok_str("jsonencode", enc_v("{'a<b': 1}"), "{\"a\\u003cb\":1}");
}

Test(encode, jsonencode_string_limit)
{
	enc_limits.string_size = 10;
	enc_err("jsonencode", enc_v("[aaaa, bbbb, cccc]"), "result");
	enc_ok_str("jsonencode", enc_v("[aaaa]"), "[\"aaaa\"]");
}

Test(encode, jsonencode_too_deep)
{
	struct value *v = value_list(&enc_arena, 0, NULL);
	for (int i = 0; i < 1100; i++) {
		struct value *outer = value_list(&enc_arena, 1, NULL);
		outer->list.items[0] = v;
		v = outer;
	}
	enc_err("jsonencode", v, "value is nested deeper than 1024 levels");
}

/* ---- jsondecode ---- */

Test(encode, jsondecode_object)
{
	struct value *v = enc_ok("jsondecode", enc_str("{\"b\":[true,null,\"x\"],\"a\":1,\"c\":{\"d\":-2.5e1}}"),
				 "{a: 1, b: [true, null, x], c: {d: -25}}");
	cr_expect_null(v->origin, "decoded values are computed");
}

Test(encode, jsondecode_scalars)
{
	enc_ok("jsondecode", enc_str(" 12.5e1 "), "125");
	enc_ok("jsondecode", enc_str("\"hi\""), "hi");
	enc_ok("jsondecode", enc_str("true"), "true");
	enc_ok("jsondecode", enc_str("null"), "null");
	enc_ok("jsondecode", enc_str("-0"), "0");
	enc_ok("jsondecode", enc_str("0.5"), "0.5");
	enc_ok("jsondecode", enc_str("\"\""), "''");
}

Test(encode, jsondecode_integral_floats_are_ints)
{
	struct value *v = enc_ok("jsondecode", enc_str("[1.0, 1e2, 1.5]"), "[1, 100, 1.5]");
	cr_expect_eq(v->list.items[0]->kind, VAL_INT);
	cr_expect_eq(v->list.items[1]->kind, VAL_INT);
	cr_expect_eq(v->list.items[2]->kind, VAL_FLOAT);
}

Test(encode, jsondecode_whitespace)
{
	enc_ok("jsondecode", enc_str("{\n\t\"a\" : [ 1 ,\t2 ] ,\r\n\t\"b\":{ }\n}\n"), "{a: [1, 2], b: {}}");
}

Test(encode, jsondecode_escapes)
{
	enc_ok_str("jsondecode", enc_str("\"a\\\"b\\\\c\\/d\\n\\t\\b\\f\\r\""), "a\"b\\c/d\n\t\b\f\r");
	enc_ok_str("jsondecode", enc_str("\"\\u00e9\\u0041\""), "\xc3\xa9" "A");
	enc_ok_str("jsondecode", enc_str("\"\\ud83d\\ude00\""), "\xf0\x9f\x98\x80");
	enc_ok_str("jsondecode", enc_str("\"\\uD83D\\uDE00!\""), "\xf0\x9f\x98\x80!");
}

/* RFC 8259 leaves lone surrogates to the parser: the strict loader
 * refuses them rather than guess a replacement character. */
Test(encode, jsondecode_lone_surrogates)
{
	dec_err("\"\\ud800x\"", 1, 2, "lone surrogate \\uD800");
	dec_err("\"\\udc00\\ud800\"", 1, 2, "lone surrogate \\uDC00");
}

Test(encode, jsondecode_raw_characters_yaml_dislikes)
{
	/* DEL, NEL, U+2028 and a BOM are fine raw in a JSON string. */
	const char *raw = "\x7f\xc2\x85\xe2\x80\xa8\xef\xbb\xbf";
	char text[64];
	snprintf(text, sizeof(text), "\"%s\"", raw);
	enc_ok_str("jsondecode", enc_str(text), raw);
	snprintf(text, sizeof(text), "{\"%s\":1}", raw);
	struct value *v = enc_call("jsondecode", enc_str(text));
	cr_assert_not_null(v);
	cr_expect(v->map.len == 1 && !strcmp(v->map.pairs[0].key, raw));
}

Test(encode, jsondecode_round_trip)
{
	struct value *orig = enc_v("{list: [1, 2.5, 'x<y', null, true], map: {'k\"': {}, z: []}, s: \"\\u2028\"}");
	struct value *text = enc_call("jsonencode", orig);
	cr_assert_not_null(text);
	struct value *back = enc_call("jsondecode", text);
	cr_assert_not_null(back);
	cr_expect(value_equal(orig, back));
}

Test(encode, jsondecode_rejects_yaml)
{
	dec_err("abc", 1, 1, "expected a JSON value");
	dec_err("a: 1", 1, 1, "expected a JSON value");
	dec_err("- 1\n- 2", 1, 1, "expected a digit");
	dec_err("{a: 1}", 1, 2, "expected a string key");
	dec_err("{'a': 1}", 1, 2, "expected a string key");
	dec_err("[1, 2,]", 1, 7, "expected a JSON value");
	dec_err("{\"a\":1,}", 1, 8, "expected a string key");
	dec_err("[1] # note", 1, 5, "unexpected text after the JSON value");
	dec_err("1 2", 1, 3, "unexpected text after the JSON value");
	dec_err("[&a 1, *a]", 1, 2, "expected a JSON value");
	dec_err("!!str 1", 1, 1, "expected a JSON value");
	dec_err("[yes]", 1, 2, "expected a JSON value");
	dec_err("[True]", 1, 2, "expected a JSON value");
	dec_err("[nul]", 1, 2, "expected a JSON value");
	dec_err("---\n1", 1, 1, "expected a digit");
	dec_err("{\"a\" 1}", 1, 6, "expected ':' after a key");
	dec_err("[1\n2]", 2, 1, "expected ',' or ']' in an array");
	dec_err("[1", 1, 3, "expected ',' or ']' in an array");
	dec_err("\xef\xbb\xbf{}", 1, 1, "expected a JSON value");
}

Test(encode, jsondecode_bad_numbers)
{
	dec_err("012", 1, 1, "numbers may not have leading zeros");
	dec_err("1.", 1, 3, "expected a digit after '.'");
	dec_err(".5", 1, 1, "expected a JSON value");
	dec_err("-", 1, 1, "expected a digit");
	dec_err("1e", 1, 3, "expected a digit in the exponent");
	dec_err("1e+", 1, 4, "expected a digit in the exponent");
	dec_err("+1", 1, 1, "expected a JSON value");
	dec_err("-a", 1, 1, "expected a digit");
	dec_err("0x10", 1, 2, "unexpected text after the JSON value");
}

Test(encode, jsondecode_bad_strings)
{
	dec_err("\"a\tb\"", 1, 3, "control character U+0009 in a string: escape it");
	dec_err("\"a\nb\"", 1, 3, "control character U+000A in a string: escape it");
	dec_err("\"\\x41\"", 1, 2, "unknown escape '\\x'");
	dec_err("\"\\u12\"", 1, 2, "\\u takes four hex digits");
	dec_err("\"abc", 1, 1, "unterminated string");
	dec_err("\"abc\\", 1, 5, "unterminated string");
	dec_err("'a'", 1, 1, "expected a JSON value");
}

Test(encode, jsondecode_empty)
{
	dec_err("", 1, 1, "unexpected end of the file: expected a JSON value");
	dec_err("  \n ", 2, 2, "unexpected end of the file: expected a JSON value");
}

Test(encode, jsondecode_depth_limit)
{
	char text[200] = "";
	for (int i = 0; i < 65; i++)
		strcat(text, "[");
	dec_err(text, 1, 65, "nesting deeper than 64 levels");
	enc_limits.depth = 2;
	enc_ok("jsondecode", enc_str("[[1]]"), "[[1]]");
	dec_err("[{\"a\":[]}]", 1, 7, "nesting deeper than 2 levels");
}

Test(encode, jsondecode_argument_errors)
{
	enc_err("jsondecode", enc_v("12"), "argument 1 must be a string, not a number");
	enc_err("jsondecode", enc_v("null"), "argument 1 must be a string, not");
	enc_err("jsondecode", value_str(&enc_arena, "\"\xff\"", 3, NULL), "argument is not valid UTF-8 text (byte 1)");
	enc_limits.file_size = 4;
	enc_err("jsondecode", enc_str("[1,2]"), "argument of 5 bytes exceeds the limit of 4 bytes");
}

/* Loader errors are reported in the synthetic file, with a note at the call. */
Test(encode, jsondecode_duplicate_key)
{
	char *out = enc_fail("jsondecode", enc_str("{\"a\":1,\n \"a\":2}"));
	char *l0 = nth_line(out, 0);
	cr_expect_str_eq(l0, "jsondecode() argument:2:2: error: jsondecode: duplicate key \"a\"", "%s", out);
	cr_expect(strstr(out, "jsondecode() argument:1:2: note: first defined here"), "%s", out);
	cr_expect(strstr(out, "call.yaml:1:6: note: in this jsondecode() call"), "%s", out);
	free(l0);
	free(out);
}

Test(encode, jsondecode_loader_limits)
{
	char *out = enc_fail("jsondecode", enc_str("[1, 99999999999999999999]"));
	cr_expect(strstr(out, "jsondecode() argument:1:5: error: jsondecode: integer '99999999999999999999' is out of range"), "%s", out);
	cr_expect(strstr(out, "note: in this jsondecode() call"), "%s", out);
	free(out);
	out = enc_fail("jsondecode", enc_str("\"a\\u0000b\""));
	cr_expect(strstr(out, "jsondecode() argument:1:3: error: jsondecode: \\u0000: strings may not hold NUL characters"), "%s", out);
	free(out);
	enc_limits.nodes = 3;
	out = enc_fail("jsondecode", enc_str("[1,2,3]"));
	cr_expect(strstr(out, "jsondecode: document has more than 3 nodes"), "%s", out);
	free(out);
}

/* ---- yamldecode ---- */

Test(encode, yamldecode_documents)
{
	enc_ok("yamldecode", enc_str("a: 1\nb: [x, 2]\nc:\n  - true\n  - ~\n"), "{a: 1, b: [x, 2], c: [true, null]}");
	enc_ok("yamldecode", enc_str("{\"a\": 1}"), "{a: 1}");
	enc_ok("yamldecode", enc_str("hello"), "hello");
	enc_ok("yamldecode", enc_str("'007'"), "'007'");
	enc_ok("yamldecode", enc_str("x: 2.0"), "{x: 2}");
}

Test(encode, yamldecode_empty_is_null)
{
	enc_ok("yamldecode", enc_str(""), "null");
	enc_ok("yamldecode", enc_str("# only a comment\n"), "null");
}

Test(encode, yamldecode_aliases_expand)
{
	struct value *v = enc_ok("yamldecode", enc_str("a: &x [1, 2]\nb: *x\n"), "{a: [1, 2], b: [1, 2]}");
	cr_expect_neq(value_map_get(v, "a"), value_map_get(v, "b"), "each use is its own value");
}

Test(encode, yamldecode_strict_errors)
{
	struct {
		const char *text, *line;
	} t[] = {
		{ "v: yes", "yamldecode() argument:1:4: error: yamldecode: ambiguous value 'yes'" },
		{ "v: 012", "yamldecode() argument:1:4: error: yamldecode: number '012' has a leading zero" },
		{ "a: 1\na: 2", "yamldecode() argument:2:1: error: yamldecode: duplicate key 'a'" },
		{ "a: 1\n---\nb: 2", "yamldecode() argument:2:1: error: yamldecode: a file holds one YAML document" },
		{ "<<: {a: 1}", "yamldecode() argument:1:1: error: yamldecode: merge keys ('<<') are not supported" },
		{ "!!str 5", "yamldecode() argument:1:1: error: yamldecode: unknown tag '!!str'" },
		{ "{", "yamldecode() argument:" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		char *out = enc_fail("yamldecode", enc_str(t[i].text));
		cr_expect(strstr(out, t[i].line), "want '%s' in:\n%s", t[i].line, out);
		cr_expect(strstr(out, "call.yaml:1:6: note: in this yamldecode() call"), "%s", out);
		free(out);
	}
}

Test(encode, yamldecode_rejects_merge_tags)
{
	char *out = enc_fail("yamldecode", enc_str("a: !append [1]"));
	cr_expect(strstr(out, "yamldecode() argument:1:4: error: yamldecode: tag '!append' is only allowed in unit and include files"),
		  "%s", out);
	cr_expect(strstr(out, "note: in this yamldecode() call"), "%s", out);
	free(out);
}

Test(encode, yamldecode_limits)
{
	enc_limits.depth = 2;
	char *out = enc_fail("yamldecode", enc_str("a: {b: {c: 1}}"));
	cr_expect(strstr(out, "yamldecode: nesting deeper than 2 levels"), "%s", out);
	free(out);
	enc_limits = limits_default;
	enc_limits.nodes = 50;
	out = enc_fail("yamldecode", enc_str("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a]\n"));
	cr_expect(strstr(out, "yamldecode: document expands to more than 50 nodes"), "%s", out);
	free(out);
}

Test(encode, yamldecode_argument_errors)
{
	enc_err("yamldecode", enc_v("[a]"), "argument 1 must be a string, not a list");
	enc_err("yamldecode", value_str(&enc_arena, "a\0b", 3, NULL), "argument is not valid UTF-8 text (byte 1)");
}
