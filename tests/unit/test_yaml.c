/* test_yaml.c - compiler/yaml.c: the strict YAML loader. */
#include "helpers.h"

#include <time.h>

#include "buf.h"

static struct arena yaml_arena;
static struct srcfile yaml_file;

static void yaml_setup(void)
{
	arena_init(&yaml_arena);
	diag_clear();
	diag_set_color(0);
}

static void yaml_teardown(void)
{
	arena_free(&yaml_arena);
	diag_clear();
}

TestSuite(yaml, .init = yaml_setup, .fini = yaml_teardown);

/* Loads text as "t.yaml"; NULL on failure. */
static struct node *yl(const char *text, const struct limits *lim)
{
	yaml_file = mem_file("t.yaml", text);
	return load_yaml(&yaml_arena, &yaml_file, lim);
}

static struct node *y(const char *text)
{
	return yl(text, NULL);
}

/* Loads "v: <scalar>" and returns the value node. */
static struct node *yval(const char *scalar)
{
	static char text[256];
	snprintf(text, sizeof(text), "v: %s\n", scalar);
	struct node *root = y(text);
	cr_assert_not_null(root, "'%s' did not load", scalar);
	cr_assert_eq(root->kind, NODE_MAP);
	struct node *v = node_map_get(root, "v");
	cr_assert_not_null(v);
	return v;
}

/* The load must fail with exactly nerrors errors; returns the printed
 * diagnostics (caller frees). */
static char *yerr_n(const char *text, size_t len, const struct limits *lim, size_t nerrors)
{
	yaml_file = mem_file_n("t.yaml", text, len);
	struct node *root = load_yaml(&yaml_arena, &yaml_file, lim);
	size_t count = diag_error_count();
	char *out = diag_capture();
	if (root || count != nerrors) {
		cr_expect_null(root, "loaded, but should fail:\n%s", text);
		cr_expect_eq(count, nerrors, "%zu errors, want %zu:\n%s", count, nerrors, out);
		free(out);
		cr_assert_fail("input:\n%s", text);
	}
	return out;
}

static char *yerr(const char *text, const struct limits *lim, size_t nerrors)
{
	return yerr_n(text, strlen(text), lim, nerrors);
}

/* The load fails with one error whose first output line is want. */
static void expect_error(const char *text, const char *want)
{
	char *out = yerr_n(text, strlen(text), NULL, 1);
	char *first = nth_line(out, 0);
	cr_expect_str_eq(first, want, "input:\n%s\noutput:\n%s", text, out);
	free(first);
	free(out);
}

/* The load fails with one error whose message contains needle. */
static void expect_error_like(const char *text, const struct limits *lim, const char *needle)
{
	char *out = yerr_n(text, strlen(text), lim, 1);
	cr_expect(strstr(out, needle), "want '%s' in:\n%s", needle, out);
	free(out);
}

/* ---- typing of plain scalars (YAML 1.2 core schema) ---- */

Test(yaml, plain_nulls)
{
	const char *nulls[] = { "~", "null", "Null", "NULL", "" };
	for (size_t i = 0; i < sizeof(nulls) / sizeof(*nulls); i++) {
		struct node *v = yval(nulls[i]);
		cr_expect_eq(v->kind, NODE_NULL, "'%s' is %s", nulls[i], node_kind_name(v->kind));
		cr_expect_str_eq(v->str.s, nulls[i], "the text is kept");
	}
}

Test(yaml, plain_bools)
{
	const char *t[] = { "true", "True", "TRUE" }, *f[] = { "false", "False", "FALSE" };
	for (size_t i = 0; i < 3; i++) {
		struct node *v = yval(t[i]);
		cr_expect(v->kind == NODE_BOOL && node_bool(v), "'%s'", t[i]);
		v = yval(f[i]);
		cr_expect(v->kind == NODE_BOOL && !node_bool(v), "'%s'", f[i]);
	}
}

Test(yaml, plain_ints)
{
	struct {
		const char *text;
		int64_t value;
	} cases[] = {
		{ "0", 0 }, { "42", 42 }, { "-17", -17 }, { "+5", 5 }, { "-0", 0 },
		{ "123456789012", 123456789012 },
		{ "9223372036854775807", INT64_MAX },
		{ "-9223372036854775808", INT64_MIN },
		{ "0x1F", 31 }, { "0xff", 255 }, { "0x0", 0 }, { "0x7fffffffffffffff", INT64_MAX },
		{ "0o17", 15 }, { "0o0", 0 }, { "0o777", 511 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct node *v = yval(cases[i].text);
		cr_expect_eq(v->kind, NODE_INT, "'%s' is %s", cases[i].text, node_kind_name(v->kind));
		if (v->kind == NODE_INT)
			cr_expect_eq(node_int(v), cases[i].value, "'%s' = %lld", cases[i].text, (long long)node_int(v));
		cr_expect_str_eq(v->str.s, cases[i].text);
		cr_expect_eq(v->style, STYLE_PLAIN);
	}
}

Test(yaml, plain_floats)
{
	struct {
		const char *text;
		double value;
	} cases[] = {
		{ "1.5", 1.5 }, { "-0.5", -0.5 }, { ".5", 0.5 }, { "+.5", 0.5 }, { "1.", 1.0 },
		{ "0.0", 0.0 }, { "1e3", 1000.0 }, { "6.5E+2", 650.0 }, { "+1.0e-2", 0.01 },
		{ "1.e2", 100.0 }, { "0.25", 0.25 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct node *v = yval(cases[i].text);
		cr_expect_eq(v->kind, NODE_FLOAT, "'%s' is %s", cases[i].text, node_kind_name(v->kind));
		if (v->kind == NODE_FLOAT)
			cr_expect_eq(node_float(v), cases[i].value, "'%s' = %g", cases[i].text, node_float(v));
	}
}

Test(yaml, plain_strings)
{
	const char *strs[] = {
		"hello", "t3.small", "v1.4.0", "1.2.3", "0x", "0xZZ", "0X1F", "0o8", "0o", "1e",
		".", "1_000", "12:30", "2024-01-01", "tRUE", "nul", "~x", "yess", "none",
		"-0x10", "1e+", "api-${env.name}", "0b101", "NaN", "inf", "+-1",
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
		struct node *v = yval(strs[i]);
		cr_expect_eq(v->kind, NODE_STR, "'%s' is %s", strs[i], node_kind_name(v->kind));
		cr_expect_str_eq(v->str.s, strs[i]);
		cr_expect_eq(v->str.len, strlen(strs[i]));
	}
	cr_assert_eq(diag_error_count(), 0);
}

Test(yaml, quoted_and_block_scalars_stay_strings)
{
	struct {
		const char *text, *value;
		int style;
	} cases[] = {
		{ "\"yes\"", "yes", STYLE_DOUBLE }, { "'no'", "no", STYLE_SINGLE },
		{ "\"0123\"", "0123", STYLE_DOUBLE }, { "'012345678901'", "012345678901", STYLE_SINGLE },
		{ "\"true\"", "true", STYLE_DOUBLE }, { "'~'", "~", STYLE_SINGLE },
		{ "\"\"", "", STYLE_DOUBLE }, { "\"1.5\"", "1.5", STYLE_DOUBLE },
		{ "'.inf'", ".inf", STYLE_SINGLE }, { "\"<<\"", "<<", STYLE_DOUBLE },
		{ "|\n  yes\n", "yes\n", STYLE_BLOCK }, { ">-\n  0123\n", "0123", STYLE_BLOCK },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct node *v = yval(cases[i].text);
		cr_expect_eq(v->kind, NODE_STR, "%s is %s", cases[i].text, node_kind_name(v->kind));
		cr_expect_str_eq(v->str.s, cases[i].value);
		cr_expect_eq(v->style, cases[i].style, "style of %s", cases[i].text);
	}
	cr_assert_eq(diag_error_count(), 0);
}

Test(yaml, keys_keep_their_text)
{
	struct node *root = y("1: a\ntrue: b\nnull: c\n~: d\n0x10: e\n");
	cr_assert_not_null(root);
	cr_assert_eq(root->map.len, 5);
	const char *keys[] = { "1", "true", "null", "~", "0x10" };
	for (size_t i = 0; i < 5; i++) {
		struct node *k = root->map.pairs[i].key;
		cr_expect_eq(k->kind, NODE_STR, "key '%s' is %s", keys[i], node_kind_name(k->kind));
		cr_expect_str_eq(k->str.s, keys[i]);
	}
	cr_expect_str_eq(node_map_get(root, "0x10")->str.s, "e");
}

/* yaml.h: "struct node *key;  always NODE_STR", also when the key is an
 * alias of a value that was typed as a number. */
Test(yaml, aliased_key_is_still_a_string)
{
	struct node *root = y("a: &n 5\n*n : b\n");
	if (!root)
		return;		/* refusing aliased keys would also be fine */
	cr_assert_eq(root->map.len, 2);
	struct node *k = root->map.pairs[1].key;
	cr_expect_str_eq(k->str.s, "5");
	cr_expect_eq(k->kind, NODE_STR, "a mapping key came out as a %s (kind %d)",
		     node_kind_name(k->kind), k->kind);
	cr_expect_eq(node_map_get(root, "a")->kind, NODE_INT, "the value stays a number");
}

/* ---- structure ---- */

/* yaml.h: the loader marks a list or map literal when no scalar beneath
 * holds "${" (a "$${" escape counts: its text is not its value). */
Test(yaml, lists_and_maps_without_expressions_are_marked_literal)
{
	struct node *root = y("plain: {a: 1, b: [x, w], c: {d: true}}\n"
			      "templated: {a: 1, b: [x, \"${var.y}\"]}\n"
			      "escaped: [\"$${not}\"]\n"
			      "empty: []\n"
			      "shared: &s {k: v}\n"
			      "again: *s\n");
	cr_assert_not_null(root);
	const struct node *plain = node_map_get(root, "plain"), *templated = node_map_get(root, "templated");
	cr_expect(plain->literal);
	cr_expect(node_map_get(plain, "b")->literal);
	cr_expect(node_map_get(plain, "c")->literal);
	cr_expect_not(templated->literal, "a map with an expression two levels down");
	cr_expect_not(node_map_get(templated, "b")->literal);
	cr_expect_not(node_map_get(root, "escaped")->literal);
	cr_expect(node_map_get(root, "empty")->literal);
	cr_expect(node_map_get(root, "again")->literal);
	cr_expect_not(root->literal);
	cr_expect(node_is_literal(node_map_get(plain, "a")), "a number");
	cr_expect_not(node_is_literal(node_map_get(templated, "b")->seq.items[1]));
}

Test(yaml, maps_and_sequences)
{
	struct node *root = y("name: api\nlist:\n  - 1\n  - two\n  - [3, {x: why}]\nmap: {a: 1, b: [], c: {}}\n");
	cr_assert_not_null(root);
	cr_assert_eq(root->kind, NODE_MAP);
	cr_assert_eq(root->style, STYLE_BLOCK);
	cr_assert_eq(root->map.len, 3);
	cr_assert_str_eq(root->map.pairs[0].key->str.s, "name", "order is kept");
	cr_assert_str_eq(root->map.pairs[2].key->str.s, "map");
	struct node *list = node_map_get(root, "list");
	cr_assert_eq(list->kind, NODE_SEQ);
	cr_assert_eq(list->seq.len, 3);
	cr_assert_eq(node_int(list->seq.items[0]), 1);
	cr_assert_str_eq(list->seq.items[1]->str.s, "two");
	struct node *inner = list->seq.items[2];
	cr_assert_eq(inner->style, STYLE_FLOW);
	cr_assert_eq(inner->seq.len, 2);
	cr_assert_str_eq(node_map_get(inner->seq.items[1], "x")->str.s, "why");
	struct node *map = node_map_get(root, "map");
	cr_assert_eq(map->kind, NODE_MAP);
	cr_assert_eq(node_map_get(map, "b")->kind, NODE_SEQ);
	cr_assert_eq(node_map_get(map, "b")->seq.len, 0);
	cr_assert_eq(node_map_get(map, "c")->map.len, 0);
	cr_assert_null(node_map_get(map, "zz"));
	cr_assert_null(node_map_get(list, "a"), "node_map_get on a list");
	cr_assert_null(node_map_get(NULL, "a"));
	struct node_pair *p = node_map_find(map, "c");
	cr_assert_not_null(p);
	cr_assert_str_eq(p->key->str.s, "c");
	cr_assert_eq(root->file, &yaml_file, "nodes point at their file");
	cr_assert_eq(list->seq.items[0]->file, &yaml_file);
}

Test(yaml, empty_documents_are_null)
{
	const char *texts[] = { "", "# only a comment\n", "---\n", "--- ~\n", "\n\n" };
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		struct node *root = y(texts[i]);
		cr_assert_not_null(root, "'%s' failed", texts[i]);
		cr_expect_eq(root->kind, NODE_NULL, "'%s' is %s", texts[i], node_kind_name(root->kind));
		cr_expect_eq(root->file, &yaml_file);
	}
}

Test(yaml, one_explicit_document_is_fine)
{
	struct node *root = y("---\na: 1\n...\n");
	cr_assert_not_null(root);
	cr_assert_eq(node_int(node_map_get(root, "a")), 1);
}

Test(yaml, anchors_and_aliases_share_the_node)
{
	struct node *root = y("a: &x {k: [1, 2]}\nb: *x\nc: &s text\nd: [*s, *x]\n");
	cr_assert_not_null(root);
	struct node *a = node_map_get(root, "a"), *b = node_map_get(root, "b");
	cr_assert_eq(a, b, "the alias is the anchored node itself");
	cr_assert_eq(a->kind, NODE_MAP);
	struct node *d = node_map_get(root, "d");
	cr_assert_eq(d->seq.items[0], node_map_get(root, "c"));
	cr_assert_eq(d->seq.items[1], a);
	cr_assert_str_eq(d->seq.items[0]->str.s, "text");
}

Test(yaml, allowed_tags_are_recorded)
{
	struct node *root = y("a: !append [1]\nb: !replace {x: 1}\nc: !unset\nd: !append\n  - 2\ne: plain\n");
	cr_assert_not_null(root);
	struct node *a = node_map_get(root, "a"), *b = node_map_get(root, "b");
	struct node *c = node_map_get(root, "c"), *d = node_map_get(root, "d");
	cr_expect(a->tag == TAG_APPEND && a->kind == NODE_SEQ);
	cr_expect(b->tag == TAG_REPLACE && b->kind == NODE_MAP);
	cr_expect(c->tag == TAG_UNSET && c->kind == NODE_NULL);
	cr_expect(d->tag == TAG_APPEND && d->kind == NODE_SEQ && d->seq.len == 1);
	cr_expect_eq(node_map_get(root, "e")->tag, TAG_NONE);
}

Test(yaml, utf8_text_is_kept)
{
	struct node *root = y("name: \"caf\xc3\xa9 \xf0\x9f\x98\x80\"\n\xc3\xa9t\xc3\xa9: \xe2\x82\xac\n");
	cr_assert_not_null(root);
	cr_assert_str_eq(node_map_get(root, "name")->str.s, "caf\xc3\xa9 \xf0\x9f\x98\x80");
	cr_assert_str_eq(node_map_get(root, "\xc3\xa9t\xc3\xa9")->str.s, "\xe2\x82\xac");
}

/* ---- spans ---- */

Test(yaml, spans_are_byte_offsets)
{
	struct node *root = y("name: value\nother: 42\nlist: [a, \"b\"]\n");
	cr_assert_not_null(root);
	struct node_pair *p = node_map_find(root, "name");
	cr_assert_eq(p->key->off, 0);
	cr_assert_eq(node_text_offset(p->key, p->key->str.len), 4, "just past the key");
	cr_assert_eq(p->value->off, 6);
	cr_assert_eq(node_text_offset(p->value, p->value->str.len), 11);
	cr_assert_eq(node_map_get(root, "other")->off, 19);
	struct node *list = node_map_get(root, "list");
	cr_assert_eq(list->off, 28);
	cr_assert_eq(list->seq.items[1]->off, 32, "a quoted scalar starts at its quote");
	cr_assert_eq(node_text_offset(list->seq.items[1], 1), 34, "the closing quote is not text");
}

Test(yaml, spans_after_multibyte_characters)
{
	/* e-acute is 2 bytes, u-umlaut 2, the emoji 4: byte offsets, not
	 * character counts. */
	const char *text = "\xc3\xa9: \xc3\xbc\nk: v\n\xf0\x9f\x98\x80\xf0\x9f\x98\x80: [x, \"\xc3\xa9\", z]\nlast: end\n";
	struct node *root = y(text);
	cr_assert_not_null(root);
	cr_assert_eq(root->map.pairs[0].value->off, 4);
	cr_assert_eq(node_text_offset(root->map.pairs[0].value, 2), 6);
	struct node_pair *k = node_map_find(root, "k");
	cr_assert_eq(k->key->off, 7);
	cr_assert_eq(k->value->off, 10);
	cr_assert_eq(node_text_offset(k->value, 1), 11);
	struct node *seq = root->map.pairs[2].value;
	cr_assert_eq(root->map.pairs[2].key->off, 12);
	cr_assert_eq(seq->off, 22);
	cr_assert_eq(seq->seq.items[0]->off, 23);
	cr_assert_eq(seq->seq.items[1]->off, 26);
	cr_assert_eq(seq->seq.items[2]->off, 32);
	struct node *last = node_map_get(root, "last");
	cr_assert_eq(last->off, 41);
	cr_assert_eq(memcmp(text + last->off, "end", 3), 0);
}

/* Folding turns line breaks and indentation into a space, line breaks
 * or nothing: offsets into the text still find the source byte. */
Test(yaml, spans_in_multi_line_scalars)
{
	const char *text = "f: >\n  one\n  two x\n\n  three\n"
			   "p: a\n  b c\n"
			   "d: \"a \\\n   b\\tc\n  e\"\n"
			   "s: 'it''s\n  z'\n";
	struct node *root = y(text);
	cr_assert_not_null(root);
	struct node *f = node_map_get(root, "f"), *p = node_map_get(root, "p");
	struct node *d = node_map_get(root, "d"), *s = node_map_get(root, "s");
	cr_assert_str_eq(f->str.s, "one two x\nthree\n");
	cr_expect_eq(node_text_offset(f, 0), (size_t)(strstr(text, "one") - text));
	cr_expect_eq(node_text_offset(f, 8), (size_t)(strstr(text, "x\n") - text));
	cr_expect_eq(node_text_offset(f, 10), (size_t)(strstr(text, "three") - text));
	cr_assert_str_eq(p->str.s, "a b c");
	cr_expect_eq(node_text_offset(p, 4), (size_t)(strstr(text, "c\n") - text));
	cr_assert_str_eq(d->str.s, "a b\tc e");
	cr_expect_eq(node_text_offset(d, 2), (size_t)(strstr(text, "b\\t") - text));
	cr_expect_eq(node_text_offset(d, 4), (size_t)(strstr(text, "c\n  e") - text));
	cr_expect_eq(node_text_offset(d, 6), (size_t)(strstr(text, "e\"") - text));
	cr_assert_str_eq(s->str.s, "it's z");
	cr_expect_eq(node_text_offset(s, 5), (size_t)(strstr(text, "z'") - text));
}

Test(yaml, spans_with_crlf_line_ends)
{
	struct node *root = y("key: value\r\nb: 2\r\n");
	cr_assert_not_null(root);
	cr_assert_eq(node_map_get(root, "key")->off, 5);
	cr_assert_eq(node_text_offset(node_map_get(root, "key"), 5), 10);
	cr_assert_eq(node_map_find(root, "b")->key->off, 12);
	cr_assert_eq(node_map_get(root, "b")->off, 15);
}

/* YAML allows a byte order mark at the start of a stream (editors on
 * Windows write one); offsets still count it. */
Test(yaml, file_starting_with_a_bom_loads)
{
	struct node *root = y("\xef\xbb\xbfkey: value\nb: 2\n");
	char *out = diag_capture();
	cr_expect_not_null(root, "a UTF-8 BOM broke the load:\n%s", out);
	free(out);
	if (!root)
		return;
	cr_assert_eq(node_map_find(root, "key")->key->off, 3);
	cr_assert_eq(node_map_get(root, "key")->off, 8);
	cr_assert_eq(node_map_find(root, "b")->key->off, 14);
	cr_assert_eq(node_int(node_map_get(root, "b")), 2);
}

Test(yaml, error_position_after_multibyte_characters)
{
	/* Columns count characters: the value starts in column 6. */
	expect_error("n\xc3\xa9v: yes\n",
		     "t.yaml:1:6: error: ambiguous value 'yes': YAML 1.1 reads it as a boolean; quote it (\"yes\") or write true/false");
}

/* ---- strict typing errors ---- */

Test(yaml, yaml11_booleans_are_errors)
{
	const char *words[] = { "yes", "Yes", "YES", "yEs", "no", "No", "NO", "on", "On", "ON",
				"off", "Off", "OFF", "y", "Y", "n", "N" };
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
		char text[32];
		snprintf(text, sizeof(text), "v: %s\n", words[i]);
		char *out = yerr_n(text, strlen(text), NULL, 1);
		cr_expect(strstr(out, "ambiguous value"), "%s: %s", words[i], out);
		free(out);
	}
	/* Inside flow collections too. */
	char *out = yerr("[1, on]", NULL, 1);
	free(out);
}

Test(yaml, yaml11_boolean_message)
{
	char *out = yerr("replicas: yes\n", NULL, 1);
	cr_assert_str_eq(out,
			 "t.yaml:1:11: error: ambiguous value 'yes': YAML 1.1 reads it as a boolean; quote it (\"yes\") or write true/false\n"
			 "  replicas: yes\n"
			 "            ^\n");
	free(out);
}

Test(yaml, leading_zeros_are_errors)
{
	expect_error("account_id: 0123\n",
		     "t.yaml:1:13: error: number '0123' has a leading zero: quote it (account IDs are strings: \"0123\")");
	expect_error("account_id: 012345678901\n",
		     "t.yaml:1:13: error: number '012345678901' has a leading zero: quote it (account IDs are strings: \"012345678901\")");
	const char *more[] = { "-0123", "+012", "00", "007", "01.5" };
	for (size_t i = 0; i < sizeof(more) / sizeof(*more); i++) {
		char text[32];
		snprintf(text, sizeof(text), "v: %s\n", more[i]);
		char *out = yerr_n(text, strlen(text), NULL, 1);
		cr_expect(strstr(out, "leading zero"), "%s: %s", more[i], out);
		free(out);
	}
}

Test(yaml, int64_overflow_is_an_error)
{
	expect_error("v: 9223372036854775808\n",
		     "t.yaml:1:4: error: integer '9223372036854775808' is out of range (int64)");
	const char *more[] = { "-9223372036854775809", "99999999999999999999",
			       "0x8000000000000000", "0xFFFFFFFFFFFFFFFFFF",
			       "0o1000000000000000000000" };
	for (size_t i = 0; i < sizeof(more) / sizeof(*more); i++) {
		char text[64];
		snprintf(text, sizeof(text), "v: %s\n", more[i]);
		char *out = yerr_n(text, strlen(text), NULL, 1);
		cr_expect(strstr(out, "out of range (int64)"), "%s: %s", more[i], out);
		free(out);
	}
	expect_error("v: 1e400\n", "t.yaml:1:4: error: number '1e400' is out of range");
}

Test(yaml, infinity_and_nan_are_errors)
{
	expect_error("v: .inf\n",
		     "t.yaml:1:4: error: '.inf' is not a finite number; quote it if it is a string");
	const char *more[] = { "-.inf", "+.inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN" };
	for (size_t i = 0; i < sizeof(more) / sizeof(*more); i++) {
		char text[32];
		snprintf(text, sizeof(text), "v: %s\n", more[i]);
		char *out = yerr_n(text, strlen(text), NULL, 1);
		cr_expect(strstr(out, "not a finite number"), "%s: %s", more[i], out);
		free(out);
	}
}

Test(yaml, all_errors_of_a_file_are_reported)
{
	char *out = yerr("a: yes\nb: 0123\nc: !foo x\nd: .nan\n", NULL, 4);
	cr_expect_eq(count_lines_with(out, ": error: "), 4, "%s", out);
	cr_expect(strstr(out, "t.yaml:1:4: error: ambiguous value 'yes'"));
	cr_expect(strstr(out, "t.yaml:2:4: error: number '0123'"));
	cr_expect(strstr(out, "t.yaml:3:4: error: unknown tag '!foo'"));
	cr_expect(strstr(out, "t.yaml:4:4: error: '.nan'"));
	free(out);
}

/* ---- duplicate and merge keys ---- */

Test(yaml, duplicate_key_in_a_small_map)
{
	char *out = yerr("a: 1\nb: 2\na: 3\n", NULL, 1);
	cr_assert_str_eq(out,
			 "t.yaml:3:1: error: duplicate key 'a'\n"
			 "  a: 3\n"
			 "  ^\n"
			 "t.yaml:1:1: note: first defined here\n"
			 "  a: 1\n"
			 "  ^\n");
	free(out);
}

Test(yaml, duplicate_keys_compare_text)
{
	char *out = yerr("{a: 1, \"a\": 2}", NULL, 1);
	cr_expect(strstr(out, "t.yaml:1:8: error: duplicate key 'a'"), "%s", out);
	free(out);
	/* Equal keys in different maps are fine. */
	struct node *root = y("a: {x: 1}\nb: {x: 2}\nc: [{x: 1}, {x: 2}]\n");
	cr_assert_not_null(root);
}

/* Builds a map of n keys k0..k(n-1), then repeats key k(dup). */
static char *map_with_dup(size_t n, size_t dup)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "k%zu: %zu\n", i, i);
	buf_printf(&b, "k%zu: again\n", dup);
	return buf_detach(&b, NULL);
}

Test(yaml, duplicate_key_in_a_big_map)
{
	char *text = map_with_dup(25, 3);
	char *out = yerr_n(text, strlen(text), NULL, 1);
	char *l0 = nth_line(out, 0), *l3 = nth_line(out, 3);
	cr_expect_str_eq(l0, "t.yaml:26:1: error: duplicate key 'k3'");
	cr_expect_str_eq(l3, "t.yaml:4:1: note: first defined here");
	free(l0);
	free(l3);
	free(out);
	free(text);
}

Test(yaml, duplicate_detection_at_every_map_size)
{
	/* Around the switch from scanning to the hash index. */
	for (size_t n = 1; n <= 40; n++) {
		size_t dups[] = { 0, n / 2, n - 1 };
		for (size_t d = 0; d < 3; d++) {
			char *text = map_with_dup(n, dups[d]);
			char *out = yerr_n(text, strlen(text), NULL, 1);
			char want[64];
			snprintf(want, sizeof(want), "t.yaml:%zu:1: note: first defined here\n",
				 dups[d] + 1);
			cr_expect(strstr(out, want), "n=%zu dup=%zu:\n%s", n, dups[d], out);
			free(out);
			free(text);
		}
		/* And without a duplicate every key is found. */
		struct buf b = BUF_INIT;
		for (size_t i = 0; i < n; i++)
			buf_printf(&b, "k%zu: %zu\n", i, i);
		struct node *root = y(buf_cstr(&b));
		cr_assert_not_null(root, "%zu distinct keys", n);
		cr_assert_eq(root->map.len, n);
		for (size_t i = 0; i < n; i++) {
			char key[16];
			snprintf(key, sizeof(key), "k%zu", i);
			struct node *v = node_map_get(root, key);
			cr_assert(v && v->kind == NODE_INT && node_int(v) == (int64_t)i);
		}
		buf_free(&b);
	}
}

Test(yaml, merge_key_is_an_error)
{
	expect_error("base: &b {x: 1}\nd:\n  <<: *b\n",
		     "t.yaml:3:3: error: merge keys ('<<') are not supported: write the keys out or use an include");
	char *out = yerr("d: {<<: {x: 1}}\n", NULL, 1);
	cr_expect(strstr(out, "merge keys"), "%s", out);
	free(out);
	/* A quoted "<<" is an ordinary key. */
	struct node *root = y("\"<<\": 1\n");
	cr_assert_not_null(root);
	cr_assert_eq(node_int(node_map_get(root, "<<")), 1);
}

/* ---- tags ---- */

Test(yaml, unknown_tags_are_errors)
{
	expect_error("a: !foo x\n",
		     "t.yaml:1:4: error: unknown tag '!foo' (only !append, !replace and !unset are allowed)");
	/* Shown as written, although libyaml expands !!str to a URI. */
	expect_error("a: !!str x\n",
		     "t.yaml:1:4: error: unknown tag '!!str' (only !append, !replace and !unset are allowed)");
	const char *more[] = { "a: !!int 5\n", "a: !foo [1]\n", "a: !foo {x: 1}\n",
			       "a: !<tag:example.com,2000:x> z\n", "a: !Append [1]\n" };
	for (size_t i = 0; i < sizeof(more) / sizeof(*more); i++)
		expect_error_like(more[i], NULL, "unknown tag");
}

Test(yaml, tag_on_a_key_is_an_error)
{
	char *out = yerr("!append a: 1\n", NULL, 1);
	cr_expect(strstr(out, "t.yaml:1:1: error: tags are not allowed on mapping keys"), "%s", out);
	free(out);
}

/* ---- documents, bytes ---- */

Test(yaml, multiple_documents_are_an_error)
{
	expect_error("a: 1\n---\nb: 2\n",
		     "t.yaml:2:1: error: a file holds one YAML document; found a second one");
	expect_error_like("---\na: 1\n---\n", NULL, "found a second one");
	expect_error_like("a: 1\n...\n---\nb: 1\n", NULL, "found a second one");
}

Test(yaml, invalid_utf8_is_an_error)
{
	expect_error("a: \xff\n", "t.yaml:1:4: error: file is not valid UTF-8 (byte 0xff)");
	expect_error("k: ok\na: \xc0\xaf\n", "t.yaml:2:4: error: file is not valid UTF-8 (byte 0xc0)");
	expect_error("a: \xed\xa0\x80\n", "t.yaml:1:4: error: file is not valid UTF-8 (byte 0xed)");
	expect_error_like("a: \xe2\x82", NULL, "not valid UTF-8");		/* truncated */
	expect_error_like("a: \xf4\x90\x80\x80\n", NULL, "not valid UTF-8");	/* > U+10FFFF */
	expect_error_like("a: \x80\n", NULL, "not valid UTF-8");		/* lone continuation */
	expect_error_like("a: \xe0\x80\xaf\n", NULL, "not valid UTF-8");	/* 3-byte overlong */
	expect_error_like("a: \xf0\x82\x82\xac\n", NULL, "not valid UTF-8");	/* 4-byte overlong */
}

Test(yaml, utf8_validate)
{
	size_t bad = 999;
	const char ok[] = "ascii \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf";
	cr_assert_eq(utf8_validate(ok, strlen(ok), &bad), 0);
	cr_assert_eq(utf8_validate("", 0, &bad), 0);
	struct {
		const char *s;
		size_t len, off;
	} cases[] = {
		{ "ab\xc0\xaf", 4, 2 }, { "\xed\xa0\x80", 3, 0 }, { "x\xed\xbf\xbf", 4, 1 },
		{ "abc\0d", 5, 3 }, { "\xc3", 1, 0 }, { "ok\xe2\x82", 4, 2 }, { "\xf8\x88\x80\x80\x80", 5, 0 },
		{ "\xc3\xa9\xc3\x28", 4, 2 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		bad = 999;
		cr_expect_eq(utf8_validate(cases[i].s, cases[i].len, &bad), -1, "case %zu", i);
		cr_expect_eq(bad, cases[i].off, "case %zu: bad offset %zu", i, bad);
	}
}

Test(yaml, nul_bytes_are_errors)
{
	char *out = yerr_n("a: x\0y\n", 7, NULL, 1);
	char *first = nth_line(out, 0);
	cr_expect_str_eq(first, "t.yaml:1:5: error: file contains a NUL byte");
	free(first);
	free(out);
	/* An escaped NUL inside a double-quoted scalar too. */
	expect_error("a: \"x\\0y\"\n", "t.yaml:1:4: error: scalar contains a NUL character");
}

/* YAML's character set excludes C0 and C1 controls, DEL and U+FFFE/U+FFFF
 * (libyaml's reader refuses them); the error must point at the offending
 * character, not at the start of the file. */
Test(yaml, control_character_error_points_at_the_character)
{
	const char *texts[] = {
		"a: 1\nb: x\x01y\n",		/* C0 */
		"a: 1\nb: x\x7fy\n",		/* DEL */
		"a: 1\nb: x\xc2\x80y\n",	/* U+0080, C1 */
		"a: 1\nb: x\xc2\x9by\n",	/* U+009B, the 8-bit CSI */
		"a: 1\nb: x\xef\xbf\xbey\n",	/* U+FFFE */
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		char *out = yerr(texts[i], NULL, 1);
		char *first = nth_line(out, 0);
		cr_expect(strstr(first, "control characters are not allowed"), "case %zu: %s", i, out);
		cr_expect(!strncmp(first, "t.yaml:2:5: ", 12), "case %zu reported at the wrong place:\n%s",
			  i, out);
		free(first);
		free(out);
	}
}

/* The loader tests sixteen bytes at a time whether a file is plain ASCII
 * (then a mark's character index is its byte offset): an odd byte in any
 * lane of any block, or in the tail, must send it to the full checks. */
Test(yaml, an_odd_byte_anywhere_is_found)
{
	static const struct {
		const char *bytes, *want;
	} odd[] = {
		{ "\x01", "control characters are not allowed" },
		{ "\x7f", "control characters are not allowed" },
		{ "\x1b", "control characters are not allowed" },
		{ "\xff", "not valid UTF-8" },
	};
	for (size_t k = 0; k < sizeof(odd) / sizeof(*odd); k++)
		for (size_t at = 0; at < 40; at++) {
			char text[64];
			memset(text, 'x', sizeof(text));
			memcpy(text, "k: ", 3);
			text[3 + at] = odd[k].bytes[0];
			memcpy(text + 3 + 40, "\n", 2);
			char *out = yerr_n(text, 3 + 40 + 1, NULL, 1);
			char want[32];
			snprintf(want, sizeof(want), "t.yaml:1:%zu: ", 4 + at);
			cr_expect(strstr(out, odd[k].want) && !strncmp(out, want, strlen(want)),
				  "byte 0x%02x at %zu:\n%s", (unsigned char)odd[k].bytes[0], 3 + at, out);
			free(out);
		}
	/* Text after a two-byte character: its marks count characters, and
	 * an error there must still land on its byte. */
	for (size_t at = 0; at < 40; at++) {
		char text[96];
		memset(text, 'x', sizeof(text));
		memcpy(text, "k: ", 3);
		memcpy(text + 3 + at, "\xc3\xa9", 2);
		memcpy(text + 3 + 42, "\nv: [\n", 6);
		char *out = yerr_n(text, 3 + 42 + 6, NULL, 1);
		cr_expect(!strncmp(out, "t.yaml:3:1: error:", 18),
			  "with U+00E9 at %zu:\n%s", 3 + at, out);
		free(out);
	}
}

Test(yaml, syntax_errors_are_reported)
{
	expect_error_like("a: [1, 2\n", NULL, "while parsing a flow sequence");
	expect_error_like("a: b: c\n", NULL, "mapping values are not allowed");
	expect_error_like("a: \"unterminated\n", NULL, "quoted scalar");
	expect_error_like("a:\n\tb: 1\n", NULL, "tab character in indentation");
}

/* ---- limits ---- */

Test(yaml, file_size_limit)
{
	struct limits lim = limits_default;
	lim.file_size = 10;
	cr_assert_not_null(yl("a: 123456\n", &lim), "exactly at the limit");
	char *out = yerr("a: 12345678\n", &lim, 1);
	char *first = nth_line(out, 0);
	cr_expect_str_eq(first, "t.yaml:1:1: error: file is 12 bytes, over the limit of 10 bytes");
	free(first);
	free(out);
}

Test(yaml, default_file_size_limit_is_one_mib)
{
	size_t n = (1u << 20) + 1;
	char *text = malloc(n + 1);
	memset(text, ' ', n);
	memcpy(text, "a: b", 4);
	text[n] = '\0';
	expect_error_like(text, NULL, "over the limit of 1048576 bytes");
	text[n - 1] = '\0';	/* exactly 1 MiB is fine */
	cr_assert_not_null(y(text));
	free(text);
}

static char *nested(size_t depth)
{
	char *s = malloc(2 * depth + 1);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

Test(yaml, depth_limit_boundary)
{
	char *ok = nested(64), *deep = nested(65);
	struct node *root = y(ok);
	cr_assert_not_null(root, "64 levels are allowed");
	size_t levels = 0;
	for (struct node *n = root; n && n->kind == NODE_SEQ; n = n->seq.len ? n->seq.items[0] : NULL)
		levels++;
	cr_assert_eq(levels, 64);
	expect_error(deep, "t.yaml:1:65: error: nesting deeper than 64 levels");
	free(ok);
	free(deep);
	struct limits lim = limits_default;
	lim.depth = 3;
	cr_assert_not_null(yl("a: {b: [1]}\n", &lim));
	expect_error_like("a: {b: [[1]]}\n", &lim, "nesting deeper than 3 levels");
}

Test(yaml, deep_nesting_fails_fast, .timeout = 20)
{
	char *s = malloc(100001);
	memset(s, '[', 100000);
	s[100000] = '\0';
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *out = yerr_n(s, 100000, NULL, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	char *first = nth_line(out, 0);
	cr_expect_str_eq(first, "t.yaml:1:65: error: nesting deeper than 64 levels");
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_expect_lt(secs, 2.0, "took %.2f s", secs);
	free(first);
	free(out);
	free(s);
}

static size_t tree_depth(const struct node *n)
{
	size_t max = 0;
	if (n->kind == NODE_SEQ)
		for (size_t i = 0; i < n->seq.len; i++) {
			size_t d = tree_depth(n->seq.items[i]);
			max = d > max ? d : max;
		}
	else if (n->kind == NODE_MAP)
		for (size_t i = 0; i < n->map.len; i++) {
			size_t d = tree_depth(n->map.pairs[i].value);
			max = d > max ? d : max;
		}
	else
		return 0;
	return max + 1;
}

/* The depth limit protects every later phase that walks the tree; an
 * alias must not smuggle a deep node under another deep one. */
Test(yaml, depth_limit_holds_after_alias_expansion)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "a: &x ");
	for (int i = 0; i < 40; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < 40; i++)
		buf_putc(&b, ']');
	buf_puts(&b, "\nb: ");
	for (int i = 0; i < 40; i++)
		buf_putc(&b, '[');
	buf_puts(&b, "*x");
	for (int i = 0; i < 40; i++)
		buf_putc(&b, ']');
	buf_putc(&b, '\n');
	struct node *root = y(buf_cstr(&b));
	if (root)
		cr_expect_leq(tree_depth(root), limits_default.depth,
			      "loaded a tree %zu levels deep (limit %zu)", tree_depth(root),
			      limits_default.depth);
	buf_free(&b);
}

Test(yaml, scalar_size_limit)
{
	struct limits lim = limits_default;
	lim.scalar_size = 8;
	cr_assert_not_null(yl("a: 12345678\n", &lim), "exactly at the limit");
	expect_error_like("a: 123456789\n", &lim, "scalar of 9 bytes exceeds the limit of 8 bytes");
	expect_error_like("abcdefghi: 1\n", &lim, "scalar of 9 bytes exceeds the limit of 8 bytes");
	expect_error_like("a: \"12345\\t789\"\n", &lim, "exceeds the limit of 8 bytes");
	/* The default is 64 KiB. */
	size_t n = (64u << 10) + 1;
	char *text = malloc(n + 4);
	memcpy(text, "a: ", 3);
	memset(text + 3, 'x', n);
	text[n + 3] = '\0';
	expect_error_like(text, NULL, "scalar of 65537 bytes exceeds the limit of 65536 bytes");
	text[n + 2] = '\0';
	cr_assert_not_null(y(text));
	free(text);
}

/* text loads with *limit (a field of lim) at n, and fails with want at
 * n - 1. */
static void expect_limit_exact(const char *text, struct limits *lim, size_t *limit, size_t n, const char *want)
{
	*limit = n;
	cr_assert_not_null(yl(text, lim));
	*limit = n - 1;
	expect_error_like(text, lim, want);
}

Test(yaml, node_limit_counts_alias_expansion_exactly)
{
	/* map, key a, [1, 2] (3), key b, seq, *x (3), *x (3) = 13 nodes */
	struct limits lim = limits_default;
	expect_limit_exact("a: &x [1, 2]\nb: [*x, *x]\n", &lim, &lim.nodes, 13,
			   "document expands to more than 12 nodes (alias bomb?)");
}

Test(yaml, text_limit_counts_alias_expansion_exactly)
{
	/* keys a, b (2 bytes), "xyz" (3), *x twice (6): 11 bytes of text in
	 * 6 nodes, under any node limit that matters. */
	struct limits lim = limits_default;
	expect_limit_exact("a: &x xyz\nb: [*x, *x]\n", &lim, &lim.string_size, 11,
			   "document expands to more than 10 bytes of text (alias bomb?)");
	/* An anchored collection carries its text to every alias of it. */
	expect_limit_exact("a: &m {k: vvvv}\nb: [*m, *m]\n", &lim, &lim.string_size, 2 + 5 * 3,
			   "bytes of text (alias bomb?)");
}

Test(yaml, billion_laughs_is_refused, .timeout = 20)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (char c = 'b'; c <= 'i'; c++) {
		buf_printf(&b, "%c: &%c [", c, c);
		for (int i = 0; i < 9; i++)
			buf_printf(&b, "%s*%c", i ? "," : "", c - 1);
		buf_puts(&b, "]\n");
	}
	char *out = yerr_n(b.data, b.len, NULL, 1);
	cr_expect(strstr(out, "document expands to more than 1000000 nodes (alias bomb?)"), "%s", out);
	free(out);
	buf_free(&b);
}

Test(yaml, large_legitimate_document_loads)
{
	struct buf b = BUF_INIT;
	buf_putc(&b, '[');
	for (int i = 0; i < 100000; i++)
		buf_printf(&b, "%s%d", i ? "," : "", i % 10);
	buf_putc(&b, ']');
	struct node *root = y(buf_cstr(&b));
	cr_assert_not_null(root);
	cr_assert_eq(root->seq.len, 100000);
	cr_assert_eq(node_int(root->seq.items[99999]), 9);
	buf_free(&b);
}

/* ---- aliases ---- */

Test(yaml, alias_inside_its_own_anchor_is_an_error)
{
	expect_error("a: &x [*x]\n", "t.yaml:1:8: error: alias '*x' refers to a node that contains it");
	expect_error_like("a: &x {b: [1, {c: *x}]}\n", NULL, "refers to a node that contains it");
}

Test(yaml, unknown_alias_is_an_error)
{
	expect_error("a: *nope\n", "t.yaml:1:4: error: unknown anchor 'nope'");
	/* An anchor defined later does not count. */
	expect_error_like("a: *x\nb: &x 1\n", NULL, "unknown anchor 'x'");
}

Test(yaml, complex_keys_are_errors)
{
	expect_error("? {a: 1}\n: v\n", "t.yaml:1:3: error: mapping keys must be scalars, not a map");
	expect_error_like("? [a]\n: v\n", NULL, "mapping keys must be scalars, not a list");
	expect_error_like("[a]: v\n", NULL, "mapping keys must be scalars, not a list");
	expect_error_like("m: &m {x: 1}\n? *m\n: v\n", NULL, "mapping keys must be scalars, not a map");
}

Test(yaml, text_has_template_finds_dollar_brace_anywhere)
{
	cr_expect(text_has_template("${x}", 4));
	cr_expect(text_has_template("a $ b ${", 8));
	cr_expect(text_has_template("$${x}", 5));	/* holds "${": the evaluator decides */
	cr_expect(!text_has_template("", 0));
	cr_expect(!text_has_template("$", 1));
	cr_expect(!text_has_template("a$b$", 4));
	cr_expect(!text_has_template("${", 1));	/* the '{' lies past len */
	cr_expect(!text_has_template("{$}", 3));
}


/* node_each_tagged: every merge tag in document order (map values and
 * list items, the root first), until the callback says stop. */
struct tag_visits {
	size_t seen, stop_after;
	uint32_t offs[8];
	enum node_tag tags[8];
};

static bool note_tag(void *ctx, const struct node *tagged)
{
	struct tag_visits *tv = ctx;
	tv->offs[tv->seen] = tagged->off;
	tv->tags[tv->seen] = tagged->tag;
	return ++tv->seen != tv->stop_after;
}

Test(yaml, each_tagged_node_in_order_until_told_to_stop)
{
	const char *text = "a: !append [1]\nb:\n  c: !unset\n  d: [x, !replace {e: 1}]\nf: plain\n";
	struct node *root = y(text);
	cr_assert_not_null(root);
	struct tag_visits all = { 0, 0, { 0 }, { 0 } };
	cr_expect(node_each_tagged(root, note_tag, &all));
	cr_assert_eq(all.seen, 3);
	cr_expect_eq(all.tags[0], TAG_APPEND);
	cr_expect_eq(all.tags[1], TAG_UNSET);
	cr_expect_eq(all.tags[2], TAG_REPLACE);
	cr_expect_eq(all.offs[0], (uint32_t)(strstr(text, "!append") - text));
	cr_expect_eq(all.offs[2], (uint32_t)(strstr(text, "!replace") - text));
	struct tag_visits first = { 0, 2, { 0 }, { 0 } };
	cr_expect_not(node_each_tagged(root, note_tag, &first));
	cr_expect_eq(first.seen, 2);
	cr_expect_str_eq(node_tag_name(TAG_UNSET), "!unset");
	cr_expect_str_eq(node_tag_name(TAG_NONE), "");
}

/* A map of n pairs "k<j>: <i>", its keys in a stride through 0..n-1
 * (coprime to n: every key once, not sorted). */
static struct node *strided_map(size_t n)
{
	struct buf text = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		buf_printf(&text, "k%zu: %zu\n", (i * 37) % n, i);
	struct node *root = y(text.data);
	buf_free(&text);
	return root;
}

Test(yaml, a_large_map_finds_every_key_as_a_scan_does)
{
	for (size_t n = NODE_MAP_INDEXED - 1; n <= NODE_MAP_INDEXED + 1; n++) {
		struct node *root = strided_map(n);
		cr_assert_not_null(root);
		cr_assert_eq(root->map.len, n);
		cr_expect_eq(root->indexed, n >= NODE_MAP_INDEXED, "%zu pairs", n);
		for (size_t i = 0; i < n; i++) {
			struct node_pair *at = node_map_find(root, root->map.pairs[i].key->str.s);
			cr_expect_eq(at, &root->map.pairs[i], "key %s of %zu pairs", root->map.pairs[i].key->str.s, n);
		}
		const char *absent[] = { "", "k", "k999", "k00", "l0", "k1x" };
		for (size_t i = 0; i < sizeof(absent) / sizeof(*absent); i++)
			cr_expect_null(node_map_find(root, absent[i]), "'%s' is no key", absent[i]);
	}
}

Test(yaml, an_index_finds_the_first_of_a_key_written_twice)
{
	/* The loader refuses duplicate keys; a map built otherwise may hold
	 * one twice, and a scan finds the first. */
	struct node *root = strided_map(NODE_MAP_INDEXED + 6);
	cr_assert_not_null(root);
	struct node *plain = ARENA_NEW(&yaml_arena, struct node);
	*plain = *root;
	plain->indexed = false;
	plain->map.pairs = ARENA_ARRAY(&yaml_arena, struct node_pair, root->map.len);
	memcpy(plain->map.pairs, root->map.pairs, root->map.len * sizeof(struct node_pair));
	plain->map.pairs[40].key = plain->map.pairs[3].key;
	plain->map.pairs[9].key = plain->map.pairs[3].key;
	node_map_index(&yaml_arena, plain);
	cr_assert(plain->indexed);
	cr_expect_eq(node_map_find(plain, root->map.pairs[3].key->str.s), &plain->map.pairs[3]);
	cr_expect_str_eq(node_map_get(plain, root->map.pairs[40].key->str.s) ? "found" : "gone", "gone",
			 "the key written over is no longer in the map");
	cr_expect_eq(node_map_find(plain, root->map.pairs[41].key->str.s), &plain->map.pairs[41]);
}
