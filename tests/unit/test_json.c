/* test_json.c - compiler/json.c: the strict JSON loader. */
#include "helpers.h"

#include "buf.h"
#include "json.h"
#include "value.h"

static struct arena json_arena;
static struct srcfile json_file;

static void json_setup(void)
{
	arena_init(&json_arena);
	diag_clear();
	diag_set_color(0);
}

static void json_teardown(void)
{
	arena_free(&json_arena);
	diag_clear();
}

TestSuite(json, .init = json_setup, .fini = json_teardown);

static struct node *jl(const char *text, size_t len, const struct limits *lim)
{
	struct node *root = (struct node *)1;
	json_file = mem_file_n("m.json", text, len);
	int rc = json_load_as(&json_arena, &json_file, lim ? lim : &limits_default, "corrupt manifest: ", &root);
	if (rc == 0)
		cr_assert_not_null(root);
	else
		cr_assert_null(root, "failed but set a root");
	expect_no_leaks();
	return root;
}

static struct node *j(const char *text)
{
	return jl(text, strlen(text), NULL);
}

/* The first line of what the loader reported. */
static void expect_error(const char *text, const char *want)
{
	cr_assert_null(j(text), "accepted: %s", text);
	char *got = diag_capture();
	size_t n = strcspn(got, "\n");
	cr_expect(strlen(want) == n && !strncmp(got, want, n), "for %s\n got: %.*s\nwant: %s", text, (int)n, got,
		  want);
	free(got);
}

static char *compact(const struct node *n)
{
	struct buf out = BUF_INIT;
	value_to_json_compact(value_from_node(&json_arena, n), &out);
	return buf_detach(&out, NULL);
}

Test(json, scalars_keep_their_kind_and_text)
{
	struct node *n = j(" [\"a\", -12, 1.5e2, true, false, null, 0, -0.0] ");
	cr_assert_eq(n->kind, NODE_SEQ);
	cr_assert_eq(n->seq.len, 8);
	struct node **v = n->seq.items;
	cr_expect_eq(v[0]->kind, NODE_STR);
	cr_expect_eq(v[0]->style, STYLE_DOUBLE);
	cr_expect_str_eq(v[0]->str.s, "a");
	cr_expect_eq(v[1]->kind, NODE_INT);
	cr_expect_eq(node_int(v[1]), -12);
	cr_expect_str_eq(v[1]->str.s, "-12");
	cr_expect_eq(v[2]->kind, NODE_FLOAT);
	cr_expect_eq(node_float(v[2]), 150.0);
	cr_expect_str_eq(v[2]->str.s, "1.5e2");
	cr_expect(v[3]->kind == NODE_BOOL && node_bool(v[3]));
	cr_expect(v[4]->kind == NODE_BOOL && !node_bool(v[4]));
	cr_expect_eq(v[5]->kind, NODE_NULL);
	cr_expect_str_eq(v[5]->str.s, "null");
	cr_expect_eq(v[6]->kind, NODE_INT);
	cr_expect_eq(v[7]->kind, NODE_FLOAT);
}

Test(json, spans_point_at_the_source)
{
	struct node *n = j("{\n  \"units\": [1, {\"k\": \"v\"}]\n}\n");
	cr_assert_eq(n->kind, NODE_MAP);
	cr_expect_eq(n->off, 0);
	const struct node *units = node_map_get(n, "units");
	cr_assert_not_null(units);
	cr_expect_eq(units->off, 13);
	const struct node *k = units->seq.items[1]->map.pairs[0].key;
	cr_expect_eq(k->off, 18);
	cr_expect_eq(n->map.pairs[0].key->off, 4);
}

Test(json, escapes_decode)
{
	struct node *n = j("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00 \\u20AC\"");
	cr_assert_not_null(n);
	cr_expect_str_eq(n->str.s, "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac");
}

Test(json, templates_are_marked)
{
	struct node *n = j("[\"${var.x}\", \"plain\"]");
	cr_expect(n->seq.items[0]->has_expr);
	cr_expect_not(n->seq.items[1]->has_expr);
}

Test(json, same_tree_as_the_yaml_loader)
{
	const char *text = "{\"version\": 1, \"units\": [{\"env\": \"dev\", \"files\": {\"a/b.json\": \"00ff\"},"
			   " \"level\": 2, \"mocked\": [\"x\", \"y\"], \"ratio\": 0.25, \"on\": true, \"none\": null}]}";
	struct node *viajson = j(text);
	struct srcfile yf = mem_file("m.yaml", text);
	struct node *viayaml = load_yaml(&json_arena, &yf, NULL);
	cr_assert_not_null(viajson);
	cr_assert_not_null(viayaml);
	char *a = compact(viajson), *b = compact(viayaml);
	cr_expect_str_eq(a, b);
	free(a);
	free(b);
}

Test(json, errors_point_at_the_fault)
{
	expect_error("", "m.json:1:1: error: corrupt manifest: unexpected end of the file: expected a JSON value");
	expect_error("{\"a\": 1,}", "m.json:1:9: error: corrupt manifest: expected a string key");
	expect_error("[1, 2,]", "m.json:1:7: error: corrupt manifest: expected a JSON value");
	expect_error("[1 2]", "m.json:1:4: error: corrupt manifest: expected ',' or ']' in an array");
	expect_error("{\"a\" 1}", "m.json:1:6: error: corrupt manifest: expected ':' after a key");
	expect_error("{\"a\": 1, \"a\": 2}", "m.json:1:10: error: corrupt manifest: duplicate key \"a\"");
	expect_error("[01]", "m.json:1:2: error: corrupt manifest: numbers may not have leading zeros");
	expect_error("[1.]", "m.json:1:4: error: corrupt manifest: expected a digit after '.'");
	expect_error("[1e]", "m.json:1:4: error: corrupt manifest: expected a digit in the exponent");
	expect_error("[NaN]", "m.json:1:2: error: corrupt manifest: expected a JSON value");
	expect_error("[tru]", "m.json:1:2: error: corrupt manifest: expected a JSON value");
	expect_error("{} {}", "m.json:1:4: error: corrupt manifest: unexpected text after the JSON value");
	expect_error("\"abc", "m.json:1:1: error: corrupt manifest: unterminated string");
	expect_error("\"a\tb\"", "m.json:1:3: error: corrupt manifest: control character U+0009 in a string: escape it");
	expect_error("\"\\x41\"", "m.json:1:2: error: corrupt manifest: unknown escape '\\x'");
	expect_error("\"\\u12\"", "m.json:1:2: error: corrupt manifest: \\u takes four hex digits");
	expect_error("\"\\ud800x\"", "m.json:1:2: error: corrupt manifest: lone surrogate \\uD800");
	expect_error("\"\\udc00\"", "m.json:1:2: error: corrupt manifest: lone surrogate \\uDC00");
	expect_error("\"\\u0000\"", "m.json:1:2: error: corrupt manifest: \\u0000: strings may not hold NUL characters");
	expect_error("[9223372036854775808]",
		     "m.json:1:2: error: corrupt manifest: integer '9223372036854775808' is out of range (int64)");
	expect_error("[1e999]", "m.json:1:2: error: corrupt manifest: number '1e999' is out of range");
	expect_error("// c\n{}", "m.json:1:1: error: corrupt manifest: expected a JSON value");
}

Test(json, bytes_are_checked_first)
{
	cr_assert_null(jl("[\"a\0\"]", 6, NULL));
	char *got = diag_capture();
	cr_expect(strstr(got, "m.json:1:4: error: corrupt manifest: file contains a NUL byte"), "%s", got);
	free(got);
	expect_error("[\"\xff\"]", "m.json:1:3: error: corrupt manifest: file is not valid UTF-8 (byte 0xff)");
}

Test(json, limits_hold_while_parsing)
{
	struct limits lim = limits_default;
	lim.depth = 3;
	cr_expect_not_null(jl("[[[1]]]", 7, &lim));
	cr_expect_null(jl("[[[[1]]]]", 9, &lim));
	char *got = diag_capture();
	cr_expect(strstr(got, "1:4: error: corrupt manifest: nesting deeper than 3 levels"), "%s", got);
	free(got);
	lim = limits_default;
	lim.nodes = 3;
	cr_expect_not_null(jl("[1, 2]", 6, &lim));
	cr_expect_null(jl("[1, 2, 3]", 9, &lim));
	diag_clear();
	lim = limits_default;
	lim.scalar_size = 3;
	cr_expect_not_null(jl("\"abc\"", 5, &lim));
	cr_expect_null(jl("\"abcd\"", 6, &lim));
	diag_clear();
	lim = limits_default;
	lim.file_size = 4;
	cr_expect_null(jl("[1,2]", 5, &lim));
	diag_clear();
}

/* Past a few keys duplicates are found through an index: a key repeated
 * after many, and many distinct keys, both right. */
Test(json, duplicate_keys_in_a_large_object)
{
	struct buf text = BUF_INIT;
	buf_puts(&text, "{");
	for (int i = 0; i < 200; i++)
		buf_printf(&text, "%s\"k%d\": %d", i ? ", " : "", i, i);
	buf_puts(&text, "}");
	struct node *n = jl(text.data, text.len, NULL);
	cr_assert_not_null(n);
	cr_expect_eq(n->map.len, 200);
	cr_expect_eq(node_int(node_map_get(n, "k199")), 199);
	text.len--;
	buf_puts(&text, ", \"k3\": 0}");
	cr_expect_null(jl(text.data, text.len, NULL));
	char *got = diag_capture();
	cr_expect(strstr(got, "duplicate key \"k3\""), "%s", got);
	free(got);
	buf_free(&text);
}
