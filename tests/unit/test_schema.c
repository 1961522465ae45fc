/* test_schema.c - compiler/schema.c: expected kinds, unknown keys with a
 * did-you-mean, near misses and string lists. */
#include "helpers.h"

#include "schema.h"

static struct arena sch_arena;
static struct srcfile sch_file;

static const char *const sch_unit_keys[] = {
	"include", "source", "locals", "dependencies", "inputs", "drift", NULL,
};

static void sch_setup(void)
{
	arena_init(&sch_arena);
	diag_clear();
	diag_set_color(0);
}

static void sch_teardown(void)
{
	arena_free(&sch_arena);
	diag_clear();
}

TestSuite(schema, .init = sch_setup, .fini = sch_teardown);

static struct node *sch_load(const char *text)
{
	sch_file = mem_file("s.yaml", text);
	struct node *root = load_yaml(&sch_arena, &sch_file, NULL);
	cr_assert_not_null(root, "did not load:\n%s", text);
	return root;
}

/* The value of key v in "v: <scalar>". */
static struct node *sch_val(const char *text)
{
	struct node *root = sch_load(text);
	struct node *v = node_map_get(root, "v");
	cr_assert_not_null(v);
	return v;
}

/* Exactly nerrors were reported; returns the output (caller frees). */
static char *sch_errors(size_t nerrors)
{
	size_t count = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(count, nerrors, "%zu errors, want %zu:\n%s", count, nerrors, out);
	return out;
}

/* One error was reported, with this first line. */
static void sch_expect_one(const char *want)
{
	char *out = sch_errors(1);
	char *first = nth_line(out, 0);
	cr_expect_str_eq(first, want, "output:\n%s", out);
	free(first);
	free(out);
}

static void sch_expect_none(void)
{
	char *out = sch_errors(0);
	free(out);
}

/* ---- schema_expect ---- */

Test(schema, expect_matching_kind)
{
	struct node *root = sch_load("s: text\ni: 3\nf: 1.5\nb: true\nl: [1]\nm: {a: 1}\n");
	cr_expect(schema_expect(node_map_get(root, "s"), NODE_STR, "s"));
	cr_expect(schema_expect(node_map_get(root, "i"), NODE_INT, "i"));
	cr_expect(schema_expect(node_map_get(root, "f"), NODE_FLOAT, "f"));
	cr_expect(schema_expect(node_map_get(root, "b"), NODE_BOOL, "b"));
	cr_expect(schema_expect(node_map_get(root, "l"), NODE_SEQ, "l"));
	cr_expect(schema_expect(node_map_get(root, "m"), NODE_MAP, "m"));
	cr_expect(schema_expect(root, NODE_MAP, "root"));
	cr_expect(schema_expect(node_map_get(root, "i"), NODE_FLOAT, "i"), "an integer is a number");
	cr_expect(schema_expect_string(node_map_get(root, "s"), "s"));
	sch_expect_none();
}

Test(schema, expect_messages)
{
	cr_expect_not(schema_expect(sch_val("v: 3\n"), NODE_STR, "source"));
	sch_expect_one("s.yaml:1:4: error: source must be a string, not a number");

	cr_expect_not(schema_expect(sch_val("v: [a]\n"), NODE_MAP, "inputs"));
	sch_expect_one("s.yaml:1:4: error: inputs must be a map, not a list");

	cr_expect_not(schema_expect(sch_val("v:\n  a: 1\n"), NODE_SEQ, "include"));
	sch_expect_one("s.yaml:2:3: error: include must be a list, not a map");

	cr_expect_not(schema_expect(sch_val("v:\n"), NODE_MAP, "locals"));
	sch_expect_one("s.yaml:1:3: error: locals must be a map, not a null");

	cr_expect_not(schema_expect(sch_val("v: 'yes'\n"), NODE_BOOL, "protected"));
	sch_expect_one("s.yaml:1:4: error: protected must be a bool, not a string");

	cr_expect_not(schema_expect(sch_val("v: false\n"), NODE_FLOAT, "a number"));
	sch_expect_one("s.yaml:1:4: error: a number must be a number, not a bool");

	cr_expect_not(schema_expect_string(sch_val("v: {a: 1}\n"), "project"));
	sch_expect_one("s.yaml:1:4: error: project must be a string, not a map");
}

Test(schema, expect_string_rejects_other_scalars)
{
	/* A number or bool is not a string even though its text is kept. */
	cr_expect_not(schema_expect_string(sch_val("v: 42\n"), "role"));
	cr_expect_not(schema_expect_string(sch_val("v: true\n"), "role"));
	cr_expect_not(schema_expect_string(sch_val("v: null\n"), "role"));
	char *out = sch_errors(3);
	cr_expect_eq(count_lines_with(out, "role must be a string"), 3, "%s", out);
	free(out);
	cr_expect(schema_expect_string(sch_val("v: '42'\n"), "role"), "a quoted number is a string");
	sch_expect_none();
}

/* ---- schema_suggest ---- */

Test(schema, suggest_close_words)
{
	cr_expect_str_eq(schema_suggest("inputz", sch_unit_keys), "inputs");
	cr_expect_str_eq(schema_suggest("input", sch_unit_keys), "inputs");
	cr_expect_str_eq(schema_suggest("dependncies", sch_unit_keys), "dependencies");
	cr_expect_str_eq(schema_suggest("lcoals", sch_unit_keys), "locals", "a transposition is two edits");
	cr_expect_str_eq(schema_suggest("Source", sch_unit_keys), "source", "case is an edit");
	cr_expect_str_eq(schema_suggest("includes", sch_unit_keys), "include");
}

Test(schema, suggest_nothing_when_far)
{
	cr_expect_null(schema_suggest("variables", sch_unit_keys));
	cr_expect_null(schema_suggest("xyz", sch_unit_keys));
	cr_expect_null(schema_suggest("inp", sch_unit_keys), "3 edits is too far for a 3-letter word");
	cr_expect_null(schema_suggest("", sch_unit_keys));
	const char *const none[] = { NULL };
	cr_expect_null(schema_suggest("inputs", none));
}

Test(schema, suggest_limit_grows_with_length)
{
	const char *const known[] = { "ab", "abcdef", "abcdefghijkl", NULL };
	/* Up to 2 letters: one edit. */
	cr_expect_str_eq(schema_suggest("ax", known), "ab");
	cr_expect_null(schema_suggest("xy", known));
	/* 6 letters: three edits. */
	cr_expect_str_eq(schema_suggest("abcxyz", known), "abcdef");
	cr_expect_null(schema_suggest("abwxyz", known), "four edits");
	/* Never more than three edits, however long. */
	cr_expect_str_eq(schema_suggest("abcdefghiXYZ", known), "abcdefghijkl");
	cr_expect_null(schema_suggest("abcdefghWXYZ", known));
}

Test(schema, suggest_never_the_word_itself)
{
	const char *const known[] = { "inputs", NULL };
	cr_expect_null(schema_suggest("inputs", known));
	const char *const two[] = { "input", "inputs", NULL };
	cr_expect_str_eq(schema_suggest("inputs", two), "input", "the other word, not itself");
	cr_expect_str_eq(schema_suggest("input", two), "inputs");
	for (const char *const *k = sch_unit_keys; *k; k++) {
		const char *s = schema_suggest(*k, sch_unit_keys);
		cr_expect(!s || strcmp(s, *k), "'%s' suggested itself", *k);
	}
}

Test(schema, suggest_prefers_the_closest_then_the_first)
{
	const char *const known[] = { "region", "regions", NULL };
	cr_expect_str_eq(schema_suggest("regionss", known), "regions", "distance 1 beats distance 2");
	cr_expect_str_eq(schema_suggest("regio", known), "region");
	const char *const tie[] = { "cat", "car", NULL };
	cr_expect_str_eq(schema_suggest("cab", tie), "cat", "a tie goes to the first known word");
	const char *const tie2[] = { "car", "cat", NULL };
	cr_expect_str_eq(schema_suggest("cab", tie2), "car");
}

Test(schema, suggest_ignores_very_long_words)
{
	char a[80], b[80];
	memset(a, 'a', 70);
	a[70] = '\0';
	memcpy(b, a, sizeof(a));
	b[69] = 'b';
	const char *const known[] = { b, NULL };
	cr_expect_null(schema_suggest(a, known), "words over 63 bytes never match");
}

/* ---- schema_check_keys ---- */

Test(schema, check_keys_all_known)
{
	struct node *root = sch_load("source: x\ninputs: {}\ninclude: []\n");
	cr_expect_eq(schema_check_keys(root, sch_unit_keys, "unit file"), 0);
	sch_expect_none();
	struct node *empty = sch_load("{}\n");
	cr_expect_eq(schema_check_keys(empty, sch_unit_keys, "unit file"), 0);
	sch_expect_none();
}

Test(schema, check_keys_did_you_mean)
{
	struct node *root = sch_load("source: x\ninputz:\n  a: 1\n");
	cr_expect_eq(schema_check_keys(root, sch_unit_keys, "unit file"), 1);
	char *out = sch_errors(1);
	char *first = nth_line(out, 0);
	cr_expect_str_eq(first, "s.yaml:2:1: error: unknown key 'inputz' in unit file; did you mean 'inputs'?",
			 "%s", out);
	char *src = nth_line(out, 1), *caret = nth_line(out, 2);
	cr_expect_str_eq(src, "  inputz:");
	cr_expect_str_eq(caret, "  ^");
	free(first);
	free(src);
	free(caret);
	free(out);
}

Test(schema, check_keys_no_suggestion_when_far)
{
	struct node *root = sch_load("variables: {}\n");
	cr_expect_eq(schema_check_keys(root, sch_unit_keys, "unit file"), 1);
	sch_expect_one("s.yaml:1:1: error: unknown key 'variables' in unit file");
}

Test(schema, check_keys_reports_every_unknown_key)
{
	struct node *root = sch_load("lcoals: {}\nsource: x\nbogus: 1\n  # comment\nsorce: z\n");
	cr_expect_eq(schema_check_keys(root, sch_unit_keys, "unit file"), 3);
	char *out = sch_errors(3);
	char *l0 = nth_line(out, 0), *l3 = nth_line(out, 3), *l6 = nth_line(out, 6);
	cr_expect_str_eq(l0, "s.yaml:1:1: error: unknown key 'lcoals' in unit file; did you mean 'locals'?");
	cr_expect_str_eq(l3, "s.yaml:3:1: error: unknown key 'bogus' in unit file");
	cr_expect_str_eq(l6, "s.yaml:5:1: error: unknown key 'sorce' in unit file; did you mean 'source'?",
			 "%s", out);
	free(l0);
	free(l3);
	free(l6);
	free(out);
}

Test(schema, check_keys_nested_map_points_at_key)
{
	struct node *root = sch_load("include:\n  - { path: a.yaml, mrege: deep }\n");
	const char *const include_keys[] = { "path", "as", "merge", NULL };
	struct node *entry = node_map_get(root, "include")->seq.items[0];
	cr_expect_eq(schema_check_keys(entry, include_keys, "include entry"), 1);
	sch_expect_one("s.yaml:2:21: error: unknown key 'mrege' in include entry; did you mean 'merge'?");
}

/* ---- schema_near_miss ---- */

Test(schema, near_miss)
{
	struct node *root = sch_load("verison: 1\nproject: acme\n");
	cr_expect(schema_near_miss(root, "version"), "'verison' is a near miss of 'version'");
	cr_expect_not(schema_near_miss(root, "project"), "the key itself is no near miss");
	cr_expect_not(schema_near_miss(root, "environments"));

	root = sch_load("environment: {}\n");
	cr_expect(schema_near_miss(root, "environments"));
	root = sch_load("version: 1\n");
	cr_expect_not(schema_near_miss(root, "version"));
	root = sch_load("{}\n");
	cr_expect_not(schema_near_miss(root, "version"));
	root = sch_load("role: x\n");
	cr_expect_not(schema_near_miss(root, "version"), "a far key is no near miss");
	sch_expect_none();
}

/* ---- schema_expect_string_list ---- */

Test(schema, string_list_ok)
{
	cr_expect(schema_expect_string_list(sch_val("v: [a, 'b', \"c\"]\n"), "allow_env"));
	cr_expect(schema_expect_string_list(sch_val("v: []\n"), "allow_env"), "an empty list is a list");
	cr_expect(schema_expect_string_list(sch_val("v:\n  - x\n  - z\n"), "allow_env"));
	sch_expect_none();
}

Test(schema, string_list_not_a_list)
{
	cr_expect_not(schema_expect_string_list(sch_val("v: CI_COMMIT_SHA\n"), "allow_env"));
	sch_expect_one("s.yaml:1:4: error: allow_env must be a list, not a string");
	cr_expect_not(schema_expect_string_list(sch_val("v:\n"), "allow_env"));
	sch_expect_one("s.yaml:1:3: error: allow_env must be a list, not a null");
}

Test(schema, string_list_reports_every_bad_item)
{
	cr_expect_not(schema_expect_string_list(sch_val("v: [ok, 3, {a: b}, also-ok, [x]]\n"), "drift.allow"));
	char *out = sch_errors(3);
	char *l0 = nth_line(out, 0), *l3 = nth_line(out, 3), *l6 = nth_line(out, 6);
	cr_expect_str_eq(l0, "s.yaml:1:9: error: drift.allow must be a string, not a number", "%s", out);
	cr_expect_str_eq(l3, "s.yaml:1:12: error: drift.allow must be a string, not a map");
	cr_expect_str_eq(l6, "s.yaml:1:29: error: drift.allow must be a string, not a list");
	free(l0);
	free(l3);
	free(l6);
	free(out);
}
