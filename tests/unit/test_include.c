/* test_include.c - compiler/include.c: merge_nodes (deep and shallow
 * merges, the !append/!replace/!unset tags, key order, overrides). */
#include "helpers.h"

#include "buf.h"
#include "include.h"
#include "map.h"

static struct arena inc_arena;
static struct srcfile inc_files[16];
static size_t inc_nfiles;

static void inc_setup(void)
{
	arena_init(&inc_arena);
	inc_nfiles = 0;
	diag_clear();
	diag_set_color(0);
}

static void inc_teardown(void)
{
	arena_free(&inc_arena);
	diag_clear();
}

TestSuite(include_merge, .init = inc_setup, .fini = inc_teardown);

/* Loads text as the file path; the file lives until the test ends. */
static struct node *inc_load(const char *path, const char *text)
{
	cr_assert_lt(inc_nfiles, sizeof(inc_files) / sizeof(*inc_files));
	struct srcfile *f = &inc_files[inc_nfiles++];
	*f = mem_file(path, text);
	struct node *root = load_yaml(&inc_arena, f, NULL);
	cr_assert_not_null(root, "%s did not load:\n%s", path, text);
	return root;
}

/* The node tree as one line: maps in their order, tags shown. */
static void inc_print(const struct node *n, struct buf *out)
{
	static const char *const tags[] = { "", "!append ", "!replace ", "!unset " };
	buf_puts(out, tags[n->tag]);
	if (n->kind == NODE_MAP) {
		buf_putc(out, '{');
		for (size_t i = 0; i < n->map.len; i++)
			buf_printf(out, "%s%s: ", i ? ", " : "", n->map.pairs[i].key->str.s),
				inc_print(n->map.pairs[i].value, out);
		buf_putc(out, '}');
	} else if (n->kind == NODE_SEQ) {
		buf_putc(out, '[');
		for (size_t i = 0; i < n->seq.len; i++) {
			if (i)
				buf_puts(out, ", ");
			inc_print(n->seq.items[i], out);
		}
		buf_putc(out, ']');
	} else {
		buf_puts(out, n->kind == NODE_NULL ? "~" : n->str.s);
	}
}

static void inc_expect_tree(const struct node *n, const char *want)
{
	cr_assert_not_null(n, "merge failed, want %s", want);
	struct buf b = BUF_INIT;
	inc_print(n, &b);
	cr_expect_str_eq(buf_cstr(&b), want, "got:  %s\nwant: %s", buf_cstr(&b), want);
	buf_free(&b);
}

/* Merges over onto base (YAML texts) and checks the result's shape. */
static void inc_expect_merge(const char *base, const char *over, enum merge_mode mode, const char *want)
{
	struct node *b = inc_load("base.yaml", base);
	struct node *o = inc_load("over.yaml", over);
	struct node *r = merge_nodes(&inc_arena, b, o, mode, NULL);
	char *out = diag_capture();
	cr_expect_str_eq(out, "", "unexpected diagnostics:\n%s", out);
	free(out);
	inc_expect_tree(r, want);
}

/* The merge fails with exactly nerrors errors; returns the output. */
static char *inc_expect_fail(const char *base, const char *over, size_t nerrors)
{
	struct node *b = inc_load("base.yaml", base);
	struct node *o = inc_load("over.yaml", over);
	struct node *r = merge_nodes(&inc_arena, b, o, MERGE_DEEP, NULL);
	cr_expect_null(r, "the merge should fail");
	size_t count = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(count, nerrors, "%zu errors, want %zu:\n%s", count, nerrors, out);
	return out;
}

static const struct node *inc_at(const struct node *n, const char *key)
{
	const struct node *v = node_map_get(n, key);
	cr_assert_not_null(v, "no key '%s'", key);
	return v;
}

/* ---- plain merges ---- */

Test(include_merge, deep_merges_maps_recursively)
{
	inc_expect_merge("a:\n  x: 1\n  y: 2\n  n:\n    p: 1\nb: 1\n",
			 "a:\n  y: 3\n  z: 4\n  n:\n    q: 2\nc: 5\n", MERGE_DEEP,
			 "{a: {x: 1, y: 3, n: {p: 1, q: 2}, z: 4}, b: 1, c: 5}");
}

Test(include_merge, shallow_replaces_top_level_values)
{
	inc_expect_merge("a:\n  x: 1\n  y: 2\nb: 1\n", "a:\n  y: 3\n  z: 4\nc: 5\n", MERGE_SHALLOW,
			 "{a: {y: 3, z: 4}, b: 1, c: 5}");
}

Test(include_merge, lists_and_scalars_replace)
{
	inc_expect_merge("l: [1, 2, 3]\ns: a\nm: {k: v}\n", "l: [4]\ns: b\nm: {k: w}\n", MERGE_DEEP,
			 "{l: [4], s: b, m: {k: w}}");
	inc_expect_merge("l: [1, 2]\n", "l: []\n", MERGE_DEEP, "{l: []}");
}

Test(include_merge, type_changes_replace)
{
	inc_expect_merge("m: {a: 1}\ns: 1\nl: [1]\n", "m: 5\ns: {b: 2}\nl: {c: 3}\n", MERGE_DEEP,
			 "{m: 5, s: {b: 2}, l: {c: 3}}");
	inc_expect_merge("m: {a: 1}\n", "m: ~\n", MERGE_DEEP, "{m: ~}");
}

Test(include_merge, key_order_base_then_new)
{
	inc_expect_merge("b: 1\na: 2\nz: 0\n", "c: 3\na: 4\nd: 5\n", MERGE_DEEP,
			 "{b: 1, a: 4, z: 0, c: 3, d: 5}");
	inc_expect_merge("n:\n  y: 1\n  x: 2\n", "n:\n  w: 3\n  x: 4\n", MERGE_DEEP,
			 "{n: {y: 1, x: 4, w: 3}}");
}

Test(include_merge, null_sides)
{
	struct node *o = inc_load("over.yaml", "a: 1\n");
	cr_expect_eq(merge_nodes(&inc_arena, NULL, o, MERGE_DEEP, NULL), o, "nothing to merge onto, no tags: as is");
	cr_expect_eq(merge_nodes(&inc_arena, o, NULL, MERGE_DEEP, NULL), o);
	cr_expect_null(merge_nodes(&inc_arena, NULL, NULL, MERGE_DEEP, NULL));
	cr_expect_eq(diag_error_count(), 0);
}

Test(include_merge, inputs_are_not_modified)
{
	struct node *b = inc_load("base.yaml", "a:\n  x: 1\nl: [1]\ngone: 1\n");
	struct node *o = inc_load("over.yaml", "a:\n  y: 2\nl: !append [2]\ngone: !unset\n");
	struct node *r = merge_nodes(&inc_arena, b, o, MERGE_DEEP, NULL);
	inc_expect_tree(r, "{a: {x: 1, y: 2}, l: [1, 2]}");
	inc_expect_tree(b, "{a: {x: 1}, l: [1], gone: 1}");
	inc_expect_tree(o, "{a: {y: 2}, l: !append [2], gone: !unset ~}");
}

Test(include_merge, provenance_is_kept)
{
	struct node *b = inc_load("base.yaml", "keep: 1\nswap: 2\nm:\n  k: 3\n");
	struct node *o = inc_load("over.yaml", "swap: 9\nm:\n  j: 4\n");
	struct node *r = merge_nodes(&inc_arena, b, o, MERGE_DEEP, NULL);
	cr_assert_not_null(r);
	cr_expect_eq(inc_at(r, "keep"), inc_at(b, "keep"), "an inherited leaf is the base's node");
	cr_expect_eq(inc_at(r, "swap"), inc_at(o, "swap"), "an overriding leaf is the over's node");
	cr_expect_eq(inc_at(r, "swap")->file, &inc_files[1]);
	cr_expect_eq(inc_at(inc_at(r, "m"), "k"), inc_at(inc_at(b, "m"), "k"));
	cr_expect_eq(inc_at(inc_at(r, "m"), "j"), inc_at(inc_at(o, "m"), "j"));
}

/* Below NODE_MAP_INDEXED keys the merge hashes base's keys; from there
 * on base has an index of its own, and so has the result. */
Test(include_merge, large_maps_use_an_index)
{
	const int sizes[] = { 40, NODE_MAP_INDEXED + 36 };
	for (size_t s = 0; s < 2; s++) {
		int n = sizes[s];
		struct buf base = BUF_INIT, over = BUF_INIT, want = BUF_INIT;
		buf_puts(&want, "{");
		for (int i = 0; i < n; i++) {
			buf_printf(&base, "k%02d: %d\n", i, i);
			if (i == 7)
				continue;	/* unset below */
			buf_printf(&want, "%sk%02d: %d", i ? ", " : "", i, i == 33 ? 333 : i == 17 ? 1700 : i);
		}
		buf_printf(&over, "new: 1\nk33: 333\nk07: !unset\nk17: 1700\n");
		buf_puts(&want, ", new: 1}");
		inc_expect_merge(base.data, over.data, MERGE_DEEP, want.data);
		struct node *b = inc_load("base.yaml", base.data);
		struct node *r = merge_nodes(&inc_arena, b, inc_load("over.yaml", over.data), MERGE_DEEP, NULL);
		cr_assert_not_null(r);
		cr_expect_eq(r->indexed, r->map.len >= NODE_MAP_INDEXED, "%zu keys", r->map.len);
		for (size_t i = 0; i < r->map.len; i++)
			cr_expect_eq(node_map_find(r, r->map.pairs[i].key->str.s), &r->map.pairs[i]);
		cr_expect_null(node_map_find(r, "k07"), "the unset key is gone from the index too");
		cr_expect_str_eq(inc_at(r, "k33")->str.s, "333");
		/* New keys that sort before, among and after base's. */
		if (s == 0)
			goto next;	/* an indexed base: the large size only */
		r = merge_nodes(&inc_arena, b, inc_load("over.yaml", "a0: 0\nk05x: 1\nzz: 2\nk09: !unset\nk00: !unset\n"),
				MERGE_DEEP, NULL);
		cr_assert_not_null(r);
		cr_expect_eq(r->indexed, r->map.len >= NODE_MAP_INDEXED, "%zu keys", r->map.len);
		for (size_t i = 0; i < r->map.len; i++)
			cr_expect_eq(node_map_find(r, r->map.pairs[i].key->str.s), &r->map.pairs[i], "key %s",
				     r->map.pairs[i].key->str.s);
		cr_expect_null(node_map_find(r, "k09"));
		cr_expect_null(node_map_find(r, "k00"));
next:
		buf_free(&base);
		buf_free(&over);
		buf_free(&want);
	}
}

/* A merge copies nodes and changes their items: the copies do not keep
 * the loader's literal mark (yaml.h), or a literal list or map from one
 * side would hide an expression from the other side from evaluation. */
Test(include_merge, merged_copies_are_not_marked_literal)
{
	/* Each side literal in turn, the other holding the expression. */
	static const char *const sides[][2] = {
		{ "m: {x: 1}\nl: [a]\nkept: {k: v}\n", "m: {y: \"${var.z}\"}\nl: !append [\"${var.z}\"]\n" },
		{ "m: {y: \"${var.z}\"}\nl: [\"${var.z}\"]\nkept: {k: v}\n", "m: {x: 1}\nl: !append [a]\n" },
	};
	for (size_t i = 0; i < 2; i++) {
		struct node *b = inc_load("base.yaml", sides[i][0]);
		struct node *o = inc_load("over.yaml", sides[i][1]);
		const struct node *lit = i == 0 ? b : o;
		cr_assert(node_map_get(lit, "m")->literal && node_map_get(lit, "l")->literal);
		struct node *r = merge_nodes(&inc_arena, b, o, MERGE_DEEP, NULL);
		cr_assert_not_null(r);
		cr_expect_not(inc_at(r, "m")->literal, "case %zu: a merged map holding an expression", i);
		cr_expect_not(inc_at(r, "l")->literal, "case %zu: an appended list holding an expression", i);
		cr_expect(inc_at(r, "kept")->literal, "case %zu: a subtree the merge took as it was keeps its mark", i);
	}
}

/* ---- !append ---- */

Test(include_merge, append_onto_a_list)
{
	inc_expect_merge("l: [1, 2]\n", "l: !append [3, 4]\n", MERGE_DEEP, "{l: [1, 2, 3, 4]}");
	inc_expect_merge("l: [1, 2]\n", "l: !append []\n", MERGE_DEEP, "{l: [1, 2]}");
	inc_expect_merge("l: []\n", "l: !append [x]\n", MERGE_DEEP, "{l: [x]}");
	inc_expect_merge("m:\n  l: [a]\n", "m:\n  l: !append [b]\n", MERGE_DEEP, "{m: {l: [a, b]}}");
}

Test(include_merge, append_in_a_shallow_merge)
{
	inc_expect_merge("l: [1]\n", "l: !append [2]\n", MERGE_SHALLOW, "{l: [1, 2]}");
}

Test(include_merge, append_onto_nothing_gives_the_list)
{
	inc_expect_merge("a: 1\n", "l: !append [1, 2]\n", MERGE_DEEP, "{a: 1, l: [1, 2]}");
	inc_expect_merge("l: ~\n", "l: !append [1]\n", MERGE_DEEP, "{l: [1]}");
	struct node *o = inc_load("over.yaml", "l: !append [1]\n");
	inc_expect_tree(merge_nodes(&inc_arena, NULL, o, MERGE_DEEP, NULL), "{l: [1]}");
}

Test(include_merge, append_onto_a_map_is_an_error)
{
	char *out = inc_expect_fail("l:\n  a: 1\n", "l: !append [1]\n", 1);
	char *l0 = nth_line(out, 0), *l3 = nth_line(out, 3);
	cr_expect_str_eq(l0, "over.yaml:1:4: error: !append onto a map: the inherited value is not a list",
			 "%s", out);
	cr_expect_str_eq(l3, "base.yaml:2:3: note: inherited value defined here", "%s", out);
	free(l0);
	free(l3);
	free(out);
}

Test(include_merge, append_onto_a_scalar_is_an_error)
{
	char *out = inc_expect_fail("l: text\n", "l: !append [1]\n", 1);
	cr_expect(strstr(out, "over.yaml:1:4: error: !append onto a string: the inherited value is not a list"),
		  "%s", out);
	free(out);
}

Test(include_merge, append_needs_a_list)
{
	char *out = inc_expect_fail("l: [1]\n", "l: !append 3\n", 1);
	char *l0 = nth_line(out, 0);
	cr_expect_str_eq(l0, "over.yaml:1:4: error: !append applies to a list, not a number", "%s", out);
	free(l0);
	free(out);
	out = inc_expect_fail("a: 1\n", "l: !append {x: 1}\n", 1);
	cr_expect(strstr(out, "!append applies to a list, not a map"), "%s", out);
	free(out);
}

/* ---- !replace ---- */

Test(include_merge, replace_a_map)
{
	inc_expect_merge("m:\n  a: 1\n  b: 2\n", "m: !replace\n  c: 3\n", MERGE_DEEP, "{m: {c: 3}}");
	inc_expect_merge("m:\n  a: 1\n", "m: !replace {}\n", MERGE_DEEP, "{m: {}}");
	inc_expect_merge("x: 1\n", "m: !replace {c: 3}\n", MERGE_DEEP, "{x: 1, m: {c: 3}}");
	inc_expect_merge("m: [1]\n", "m: !replace {c: 3}\n", MERGE_DEEP, "{m: {c: 3}}");
}

Test(include_merge, replace_the_whole_document)
{
	/* A tag on the document's root map applies to the whole inherited
	 * config, as on any other map. */
	inc_expect_merge("inputs:\n  a: 1\n  b: 2\n", "!replace\ninputs:\n  c: 3\n", MERGE_DEEP,
			 "{inputs: {c: 3}}");
}

Test(include_merge, append_on_the_whole_document_is_an_error)
{
	/* As on any other map: a map cannot be appended to. */
	char *out = inc_expect_fail("inputs:\n  a: 1\n", "!append\ninputs:\n  c: 3\n", 1);
	cr_expect(strstr(out, "over.yaml:1:1: error: !append applies to a list, not a map"), "%s", out);
	free(out);
}

Test(include_merge, replace_on_a_list_is_an_error)
{
	char *out = inc_expect_fail("l: [1]\n", "l: !replace [2]\n", 1);
	char *l0 = nth_line(out, 0);
	cr_expect_str_eq(l0, "over.yaml:1:4: error: !replace applies to a map, not a list", "%s", out);
	free(l0);
	free(out);
	out = inc_expect_fail("a: 1\n", "s: !replace text\n", 1);
	cr_expect(strstr(out, "!replace applies to a map, not a string"), "%s", out);
	free(out);
}

/* ---- !unset ---- */

Test(include_merge, unset_an_inherited_key)
{
	inc_expect_merge("a: 1\nb: 2\nc: 3\n", "b: !unset\n", MERGE_DEEP, "{a: 1, c: 3}");
	inc_expect_merge("m:\n  x: 1\n  y: 2\n", "m:\n  x: !unset\n", MERGE_DEEP, "{m: {y: 2}}");
	inc_expect_merge("m:\n  x: 1\n", "m: !unset\n", MERGE_DEEP, "{}");
	inc_expect_merge("a: 1\nb: 2\n", "b: !unset\n", MERGE_SHALLOW, "{a: 1}");
}

Test(include_merge, unset_of_nothing_is_a_no_op)
{
	inc_expect_merge("a: 1\n", "z: !unset\n", MERGE_DEEP, "{a: 1}");
	inc_expect_merge("m:\n  a: 1\n", "m:\n  z: !unset\n", MERGE_DEEP, "{m: {a: 1}}");
	struct node *o = inc_load("over.yaml", "z: !unset\nk: 1\n");
	inc_expect_tree(merge_nodes(&inc_arena, NULL, o, MERGE_DEEP, NULL), "{k: 1}");
	cr_expect_eq(diag_error_count(), 0);
}

Test(include_merge, unset_in_a_list_is_an_error)
{
	char *out = inc_expect_fail("a: 1\n", "l: [x, !unset ~]\n", 1);
	char *l0 = nth_line(out, 0);
	cr_expect_str_eq(l0, "over.yaml:1:8: error: !unset applies to a map key, not a list item", "%s", out);
	free(l0);
	free(out);
}

/* ---- tags below new keys ---- */

Test(include_merge, nested_tags_in_new_keys_are_applied_and_removed)
{
	inc_expect_merge("a: 1\n",
			 "new:\n"
			 "  inner:\n"
			 "    l: !append [1]\n"
			 "    gone: !unset\n"
			 "    m: !replace {x: 1}\n"
			 "    deeper:\n"
			 "      - {k: !append [2], u: !unset ~}\n",
			 MERGE_DEEP,
			 "{a: 1, new: {inner: {l: [1], m: {x: 1}, deeper: [{k: [2]}]}}}");
}

Test(include_merge, nested_tags_inside_appended_items)
{
	inc_expect_merge("l: [a]\n", "l: !append\n  - {m: !replace {x: 1}, z: !unset ~}\n", MERGE_DEEP,
			 "{l: [a, {m: {x: 1}}]}");
}

Test(include_merge, nested_tags_inside_a_replaced_map)
{
	inc_expect_merge("m:\n  a: 1\n", "m: !replace\n  l: !append [1]\n  g: !unset\n", MERGE_DEEP,
			 "{m: {l: [1]}}");
}

Test(include_merge, tag_errors_deep_inside_new_keys)
{
	char *out = inc_expect_fail("a: 1\n", "new:\n  inner:\n    l: !replace [1]\n", 1);
	cr_expect(strstr(out, "over.yaml:3:8: error: !replace applies to a map, not a list"), "%s", out);
	free(out);
}

/* ---- overrides ---- */

static const struct override *inc_override(struct map *ov, const struct node *winner)
{
	return map_get(ov, (const char *)&winner, sizeof(winner));
}

Test(include_merge, overrides_record_winner_and_loser)
{
	struct node *b = inc_load("base.yaml", "s: a\nl: [1]\nm:\n  k: 1\n  keep: 2\nlone: 1\n");
	struct node *o = inc_load("over.yaml", "s: b\nl: [2]\nm:\n  k: 9\nnew: 1\n");
	struct map ov;
	map_init(&ov);
	struct node *r = merge_nodes(&inc_arena, b, o, MERGE_DEEP, &ov);
	cr_assert_not_null(r);

	const struct override *x = inc_override(&ov, inc_at(o, "s"));
	cr_assert_not_null(x, "scalar override recorded");
	cr_expect_eq(x->node, inc_at(b, "s"));
	cr_expect_null(x->next);

	x = inc_override(&ov, inc_at(o, "l"));
	cr_assert_not_null(x, "list override recorded");
	cr_expect_eq(x->node, inc_at(b, "l"));

	x = inc_override(&ov, inc_at(inc_at(o, "m"), "k"));
	cr_assert_not_null(x, "nested leaf override recorded");
	cr_expect_eq(x->node, inc_at(inc_at(b, "m"), "k"));

	cr_expect_null(inc_override(&ov, inc_at(r, "m")), "a merged map is no override");
	cr_expect_null(inc_override(&ov, inc_at(o, "new")), "a new key overrides nothing");
	cr_expect_null(inc_override(&ov, inc_at(b, "lone")), "an inherited key overrides nothing");
	cr_expect_eq(ov.len, 3, "exactly three overrides, got %zu", ov.len);
	map_free(&ov);
}

Test(include_merge, overrides_chain_through_layers)
{
	struct node *l1 = inc_load("one.yaml", "s: a\n");
	struct node *l2 = inc_load("two.yaml", "s: b\n");
	struct node *l3 = inc_load("three.yaml", "s: c\n");
	struct map ov;
	map_init(&ov);
	struct node *acc = merge_nodes(&inc_arena, NULL, l1, MERGE_DEEP, &ov);
	acc = merge_nodes(&inc_arena, acc, l2, MERGE_DEEP, &ov);
	acc = merge_nodes(&inc_arena, acc, l3, MERGE_DEEP, &ov);
	cr_assert_not_null(acc);
	cr_expect_eq(inc_at(acc, "s"), inc_at(l3, "s"));
	const struct override *x = inc_override(&ov, inc_at(l3, "s"));
	cr_assert_not_null(x);
	cr_expect_eq(x->node, inc_at(l2, "s"), "newest loser first");
	cr_assert_not_null(x->next, "the loser's own losers follow");
	cr_expect_eq(x->next->node, inc_at(l1, "s"));
	cr_expect_null(x->next->next);
	map_free(&ov);
}

Test(include_merge, overrides_for_append_and_type_change)
{
	struct node *b = inc_load("base.yaml", "l: [1]\nm:\n  a: 1\n");
	struct node *o = inc_load("over.yaml", "l: !append [2]\nm: 3\n");
	struct map ov;
	map_init(&ov);
	struct node *r = merge_nodes(&inc_arena, b, o, MERGE_DEEP, &ov);
	cr_assert_not_null(r);
	const struct override *x = inc_override(&ov, inc_at(r, "l"));
	cr_assert_not_null(x, "the appended list overrides the inherited one");
	cr_expect_eq(x->node, inc_at(b, "l"));
	x = inc_override(&ov, inc_at(o, "m"));
	cr_assert_not_null(x, "a scalar replacing a map");
	cr_expect_eq(x->node, inc_at(b, "m"));
	map_free(&ov);
}

Test(include_merge, no_override_when_the_same_node_wins)
{
	struct node *b = inc_load("base.yaml", "s: a\n");
	struct map ov;
	map_init(&ov);
	cr_assert_not_null(merge_nodes(&inc_arena, b, b, MERGE_DEEP, &ov));
	cr_expect_eq(ov.len, 0, "a node does not override itself");
	map_free(&ov);
}
