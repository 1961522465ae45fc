/* test_expr.c - compiler/expr.c: templates, the expression parser, its
 * normal form, precedence, error positions and the depth limit. */
#include "helpers.h"

#include "buf.h"
#include "expr.h"

static struct arena ex_arena;
static struct srcfile ex_file;
static char ex_text[8192];

static void ex_setup(void)
{
	arena_init(&ex_arena);
	diag_clear();
	diag_set_color(0);
}

static void ex_teardown(void)
{
	arena_free(&ex_arena);
	diag_clear();
}

TestSuite(expr, .init = ex_setup, .fini = ex_teardown);

/* Loads "v: <scalar>" as e.yaml and returns the scalar's node. */
static const struct node *ex_scalar(const char *scalar)
{
	snprintf(ex_text, sizeof(ex_text), "v: %s\n", scalar);
	ex_file = mem_file("e.yaml", ex_text);
	struct node *root = load_yaml(&ex_arena, &ex_file, NULL);
	cr_assert_not_null(root, "did not load: %s", ex_text);
	const struct node *v = node_map_get(root, "v");
	cr_assert_not_null(v);
	cr_assert_eq(v->kind, NODE_STR, "'%s' is not a string", scalar);
	return v;
}

/* Parses the YAML scalar as a template with the given depth limit. */
static struct expr *ex_parse_depth(const char *scalar, size_t depth, struct expr_origin *origin)
{
	const struct node *n = ex_scalar(scalar);
	*origin = (struct expr_origin){ n, depth };
	return template_parse(&ex_arena, n->str.s, n->str.len, origin);
}

static struct expr *ex_parse(const char *scalar)
{
	static struct expr_origin origin;
	struct expr *e = ex_parse_depth(scalar, limits_default.expr_depth, &origin);
	if (!e) {
		char *out = diag_capture();
		cr_expect_fail("'%s' did not parse:\n%s", scalar, out);
		free(out);
		cr_assert_fail();
	}
	cr_assert_eq(diag_error_count(), 0);
	return e;
}

static char *ex_print(const struct expr *e)
{
	struct buf b = BUF_INIT;
	expr_print(e, &b);
	return buf_detach(&b, NULL);
}

/* The scalar is exactly one ${...} whose normal form is want. */
static void ex_expect_single(const char *scalar, const char *want)
{
	struct expr *t = ex_parse(scalar);
	struct expr *e = template_single(t);
	cr_assert_not_null(e, "'%s' is not a single interpolation", scalar);
	char *got = ex_print(e);
	cr_expect_str_eq(got, want, "'%s' prints as '%s', want '%s'", scalar, got, want);
	free(got);
}

/* The template as a whole prints as want. */
static void ex_expect_template(const char *scalar, const char *want)
{
	struct expr *t = ex_parse(scalar);
	cr_assert_eq(t->kind, E_TEMPLATE);
	char *got = ex_print(t);
	cr_expect_str_eq(got, want, "'%s' prints as '%s', want '%s'", scalar, got, want);
	free(got);
}

/* Parsing fails with one error whose first line is want. */
static void ex_expect_error_depth(const char *scalar, size_t depth, const char *want)
{
	struct expr_origin origin;
	struct expr *e = ex_parse_depth(scalar, depth, &origin);
	size_t count = diag_error_count();
	char *out = diag_capture();
	char *first = nth_line(out, 0);
	cr_expect_null(e, "'%s' parsed, but should fail", scalar);
	cr_expect_eq(count, 1, "%zu errors for '%s':\n%s", count, scalar, out);
	cr_expect_str_eq(first, want, "for %s\noutput:\n%s", scalar, out);
	free(first);
	free(out);
}

static void ex_expect_error(const char *scalar, const char *want)
{
	ex_expect_error_depth(scalar, limits_default.expr_depth, want);
}

/* ---- template_has_expr ---- */

static bool ex_has(const char *s)
{
	return template_has_expr(s, strlen(s));
}

Test(expr, has_expr)
{
	cr_expect(ex_has("${x}"));
	cr_expect(ex_has("a ${x} b"));
	cr_expect(ex_has("${"), "an unclosed interpolation still is one");
	cr_expect(ex_has("$${a} ${b}"), "an escape, then a real one");
	cr_expect(ex_has("$${a}${b}"));
	cr_expect_not(ex_has(""));
	cr_expect_not(ex_has("plain"));
	cr_expect_not(ex_has("$"));
	cr_expect_not(ex_has("{x}"));
	cr_expect_not(ex_has("$ {x}"));
	cr_expect_not(ex_has("$${x}"), "escaped");
	cr_expect_not(ex_has("a $${x} b $${y}"));
	cr_expect_not(ex_has("%{if x}"), "%{ is literal text");
	cr_expect_not(ex_has("price: $5 {net}"));
	cr_expect_not(template_has_expr("${x}", 1), "only len bytes count");
	cr_expect(template_has_expr("${x}", 2));
}

/* ---- template_parse: structure ---- */

Test(expr, literal_text)
{
	struct expr *t = ex_parse("hello world");
	cr_assert_eq(t->kind, E_TEMPLATE);
	cr_assert_eq(t->tmpl.len, 1);
	cr_expect_null(t->tmpl.parts[0].expr);
	cr_expect_eq(t->tmpl.parts[0].len, 11);
	cr_expect_str_eq(t->tmpl.parts[0].text, "hello world");
	cr_expect_null(template_single(t), "literal text is not a single expression");
}

Test(expr, empty_text)
{
	struct expr *t = ex_parse("''");
	cr_assert_eq(t->kind, E_TEMPLATE);
	cr_expect_eq(t->tmpl.len, 0);
	cr_expect_null(template_single(t));
}

Test(expr, single_interpolation)
{
	struct expr *t = ex_parse("${var.a}");
	cr_assert_eq(t->tmpl.len, 1);
	struct expr *e = template_single(t);
	cr_assert_not_null(e);
	cr_assert_eq(e->kind, E_ATTR);
	cr_expect_str_eq(e->attr.name, "a");
	cr_assert_eq(e->attr.obj->kind, E_REF);
	cr_expect_str_eq(e->attr.obj->name, "var");
	cr_expect_eq(e->off, 2, "offsets index the decoded text");
}

Test(expr, mixed_parts)
{
	struct expr *t = ex_parse("pre-${env.name}-${unit.path}");
	cr_assert_eq(t->tmpl.len, 4);
	cr_expect_str_eq(t->tmpl.parts[0].text, "pre-");
	cr_expect_not_null(t->tmpl.parts[1].expr);
	cr_expect_str_eq(t->tmpl.parts[2].text, "-");
	cr_expect_not_null(t->tmpl.parts[3].expr);
	cr_expect_null(template_single(t));
	cr_expect_eq(t->tmpl.parts[3].expr->off, 18);
}

Test(expr, adjacent_interpolations_and_spaces)
{
	struct expr *t = ex_parse("'${a}${b} '");
	cr_assert_eq(t->tmpl.len, 3);
	cr_expect_not_null(t->tmpl.parts[0].expr);
	cr_expect_not_null(t->tmpl.parts[1].expr);
	cr_expect_str_eq(t->tmpl.parts[2].text, " ");
	t = ex_parse("'${ a }'");
	cr_expect_not_null(template_single(t), "spaces inside ${} do not make it mixed");
}

Test(expr, dollar_escapes)
{
	struct expr *t = ex_parse("$${x}");
	cr_assert_eq(t->tmpl.len, 1);
	cr_expect_null(t->tmpl.parts[0].expr);
	cr_expect_str_eq(t->tmpl.parts[0].text, "${x}");

	t = ex_parse("a $${b} ${c} $${d}");
	cr_assert_eq(t->tmpl.len, 3);
	cr_expect_str_eq(t->tmpl.parts[0].text, "a ${b} ");
	cr_expect_not_null(t->tmpl.parts[1].expr);
	cr_expect_str_eq(t->tmpl.parts[2].text, " ${d}");

	t = ex_parse("'%{if x} $5 {y}'");
	cr_assert_eq(t->tmpl.len, 1);
	cr_expect_str_eq(t->tmpl.parts[0].text, "%{if x} $5 {y}");
}

Test(expr, backslash_is_literal_outside_quotes)
{
	/* In a YAML scalar, escapes are YAML's: the template keeps a backslash. */
	struct expr *t = ex_parse("'a\\nb'");
	cr_assert_eq(t->tmpl.len, 1);
	cr_expect_str_eq(t->tmpl.parts[0].text, "a\\nb");
}

Test(expr, nested_quoted_templates)
{
	struct expr *t = ex_parse("'${\"pre-${var.x}-post\"}'");
	struct expr *e = template_single(t);
	cr_assert_not_null(e);
	cr_assert_eq(e->kind, E_TEMPLATE);
	cr_assert_eq(e->tmpl.len, 3);
	cr_expect_str_eq(e->tmpl.parts[0].text, "pre-");
	cr_expect_eq(e->tmpl.parts[1].expr->kind, E_ATTR);
	cr_expect_str_eq(e->tmpl.parts[2].text, "-post");

	ex_expect_single("'${upper(\"a${\"b${c}\"}\")}'", "upper(\"a${\"b${c}\"}\")");
}

Test(expr, string_escapes_in_expressions)
{
	struct expr *t = ex_parse("'${\"q\\\"b\\\\s\\nn\\tt\\rr\\u00e9\\U0001F600$${x}\"}'");
	struct expr *e = template_single(t);
	cr_assert_not_null(e);
	cr_assert_eq(e->kind, E_TEMPLATE);
	cr_assert_eq(e->tmpl.len, 1);
	const char *want = "q\"b\\s\nn\tt\rr\xc3\xa9\xf0\x9f\x98\x80${x}";
	cr_expect_eq(e->tmpl.parts[0].len, strlen(want));
	cr_expect_str_eq(e->tmpl.parts[0].text, want);
}

Test(expr, literals)
{
	struct expr *e = template_single(ex_parse("${42}"));
	cr_expect(e->kind == E_INT && e->i == 42);
	e = template_single(ex_parse("${9223372036854775807}"));
	cr_expect(e->kind == E_INT && e->i == INT64_MAX);
	e = template_single(ex_parse("${1.5}"));
	cr_expect(e->kind == E_FLOAT && e->f == 1.5);
	e = template_single(ex_parse("${1e3}"));
	cr_expect(e->kind == E_FLOAT && e->f == 1000.0, "an exponent makes a float");
	e = template_single(ex_parse("${2.5E-1}"));
	cr_expect(e->kind == E_FLOAT && e->f == 0.25);
	e = template_single(ex_parse("${true}"));
	cr_expect(e->kind == E_BOOL && e->b);
	e = template_single(ex_parse("${false}"));
	cr_expect(e->kind == E_BOOL && !e->b);
	e = template_single(ex_parse("${null}"));
	cr_expect_eq(e->kind, E_NULL);
	e = template_single(ex_parse("${truex}"));
	cr_expect(e->kind == E_REF && !strcmp(e->name, "truex"), "a longer name is a reference");
}

/* ---- expr_print: the normal form ---- */

Test(expr, print_ignores_spacing)
{
	ex_expect_single("${var.a+1}", "(var.a + 1)");
	ex_expect_single("'${ var.a  +  1 }'", "(var.a + 1)");
	ex_expect_single("\"${\\tvar.a\\n+\\n1 }\"", "(var.a + 1)");
	ex_expect_single("'${f( 1 ,2 )}'", "f(1, 2)");
	ex_expect_single("'${ [ 1,2 , ] }'", "[1, 2]");
}

Test(expr, print_ignores_quoting_and_comments)
{
	ex_expect_single("'${{a = 1, \"b\" = 2}}'", "{(\"a\") = 1, (\"b\") = 2}");
	ex_expect_single("'${{\"a\": 1, b: 2,}}'", "{(\"a\") = 1, (\"b\") = 2}");
	ex_expect_single("\"${x # why\\n}\"", "x");
	ex_expect_single("|-\n  ${x // why\n  }", "x");
	ex_expect_single("'${1.50}'", "1.5");
	ex_expect_single("'${0.0000001}'", "0.0000001");
}

Test(expr, map_items_separated_by_newlines)
{
	/* HCL: map items are separated by a comma or a newline. */
	ex_expect_single("|-\n  ${{a = 1\n  b = 2\n  }}", "{(\"a\") = 1, (\"b\") = 2}");
}

Test(expr, map_items_separated_by_newlines_after_any_value)
{
	ex_expect_single("|-\n  ${{\n    a = x.y\n    b = f(1)\n    c = [1]\n    d = \"s\"\n  }}",
			 "{(\"a\") = x.y, (\"b\") = f(1), (\"c\") = [1], (\"d\") = \"s\"}");
}

Test(expr, print_every_kind)
{
	ex_expect_single("'${null}'", "null");
	ex_expect_single("'${[true, false]}'", "[true, false]");
	ex_expect_single("'${a.b[0].c-d}'", "a.b[0].c-d");
	ex_expect_single("'${m[\"k\"]}'", "m[\"k\"]");
	ex_expect_single("'${!x}'", "(!x)");
	ex_expect_single("'${-1}'", "(-1)");
	ex_expect_single("'${c ? 1 : 2}'", "(c ? 1 : 2)");
	ex_expect_single("'${{(k) = v}}'", "{(k) = v}");
	ex_expect_single("'${{1 = x}}'", "{(\"1\") = x}");
	ex_expect_single("'${f()}'", "f()");
	ex_expect_single("'${\"a\\\"b\"}'", "\"a\\\"b\"");
	ex_expect_single("'${\"$${x}\"}'", "\"$${x}\"");
}

Test(expr, print_templates)
{
	ex_expect_template("a-${ x }-b", "\"a-${x}-b\"");
	ex_expect_template("$${lit}", "\"$${lit}\"");
	ex_expect_template("'say \"${x}\"'", "\"say \\\"${x}\\\"\"");
	ex_expect_template("'${a}${b}'", "\"${a}${b}\"");
}

Test(expr, print_normal_forms_agree)
{
	const char *pairs[][2] = {
		{ "${var.a+1}", "'${ var.a  +  1 }'" },
		{ "'${{a = 1}}'", "'${{\"a\": 1}}'" },
		{ "'${(x)}'", "'${x}'" },
		{ "'${ (1 + 2) * 3 }'", "'${(1+2)*3}'" },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++) {
		char *a = ex_print(ex_parse(pairs[i][0]));
		char *b = ex_print(ex_parse(pairs[i][1]));
		cr_expect_str_eq(a, b, "%s vs %s", pairs[i][0], pairs[i][1]);
		free(a);
		free(b);
	}
}

/* ---- precedence and associativity ---- */

Test(expr, precedence)
{
	ex_expect_single("'${1 + 2 * 3}'", "(1 + (2 * 3))");
	ex_expect_single("'${1 * 2 + 3}'", "((1 * 2) + 3)");
	ex_expect_single("'${(1 + 2) * 3}'", "((1 + 2) * 3)");
	ex_expect_single("'${1 - 2 - 3}'", "((1 - 2) - 3)");
	ex_expect_single("'${8 / 4 / 2}'", "((8 / 4) / 2)");
	ex_expect_single("'${7 % 3 * 2}'", "((7 % 3) * 2)");
	ex_expect_single("'${a || b && c}'", "(a || (b && c))");
	ex_expect_single("'${a && b || c}'", "((a && b) || c)");
	ex_expect_single("'${a == b && c != d}'", "((a == b) && (c != d))");
	ex_expect_single("'${a + 1 > b * 2}'", "((a + 1) > (b * 2))");
	ex_expect_single("'${a < b == c >= d}'", "((a < b) == (c >= d))");
	ex_expect_single("'${a <= b}'", "(a <= b)");
	ex_expect_single("'${!a && b}'", "((!a) && b)");
	ex_expect_single("'${-x * y}'", "((-x) * y)");
	ex_expect_single("'${- -x}'", "(-(-x))");
	ex_expect_single("'${a ? b : c ? d : e}'", "(a ? b : (c ? d : e))");
	ex_expect_single("'${a || b ? 1 + 2 : 3}'", "((a || b) ? (1 + 2) : 3)");
	ex_expect_single("'${a.b - c}'", "(a.b - c)");
	ex_expect_single("'${a.b-c}'", "a.b-c");
	ex_expect_single("'${f(x)[0].y * 2}'", "(f(x)[0].y * 2)");
}

/* ---- errors, at exact columns ---- */

Test(expr, error_unexpected_character)
{
	ex_expect_error("'${1 +}'", "e.yaml:1:10: error: unexpected character '}' in expression");
	ex_expect_error("'${}'", "e.yaml:1:7: error: unexpected character '}' in expression");
	ex_expect_error("'${ @x}'", "e.yaml:1:8: error: unexpected character '@' in expression");
}

Test(expr, error_unclosed)
{
	ex_expect_error("a ${x", "e.yaml:1:6: error: unclosed '${': expected '}'");
	ex_expect_error("'${x y}'", "e.yaml:1:9: error: expected '}' to close the '${' opened before");
	ex_expect_error("'${1 +'", "e.yaml:1:10: error: expected an expression");
}

Test(expr, error_unterminated_string)
{
	ex_expect_error("'${\"abc}'", "e.yaml:1:7: error: unterminated string");
	ex_expect_error("'x ${f(\"a\", \"b)}'", "e.yaml:1:16: error: unterminated string");
}

Test(expr, error_escapes)
{
	ex_expect_error("'${\"a\\q\"}'",
			"e.yaml:1:9: error: unknown escape sequence '\\q' (use \\\" \\\\ \\n \\r \\t \\uNNNN or \\UNNNNNNNN)");
	ex_expect_error("'${\"\\ud800\"}'", "e.yaml:1:8: error: invalid Unicode escape '\\ud800'");
	ex_expect_error("'${\"\\u0000\"}'", "e.yaml:1:8: error: invalid Unicode escape '\\u0000'");
	ex_expect_error("'${\"\\U00110000\"}'", "e.yaml:1:8: error: invalid Unicode escape '\\U00110000'");
	ex_expect_error("'${\"\\u12g4\"}'", "e.yaml:1:8: error: invalid Unicode escape '\\u12g4'");
}

Test(expr, error_numbers)
{
	ex_expect_error("'${99999999999999999999}'",
			"e.yaml:1:7: error: integer '99999999999999999999' is out of range (int64)");
	ex_expect_error("'${1 + 1e999}'", "e.yaml:1:11: error: number '1e999' is out of range");
}

Test(expr, error_syntax)
{
	ex_expect_error("'${a.}'", "e.yaml:1:9: error: expected an attribute name after '.'");
	ex_expect_error("'${[1 2]}'", "e.yaml:1:10: error: expected ']'");
	ex_expect_error("'${x ? 1}'", "e.yaml:1:12: error: expected ':'");
	ex_expect_error("'${(1 + 2}'", "e.yaml:1:13: error: expected ')'");
	ex_expect_error("'${{a = 1 b = 2}}'", "e.yaml:1:14: error: expected ',' or a newline between map items");
	ex_expect_error("'${{+ = 1}}'", "e.yaml:1:8: error: expected a map key");
	ex_expect_error("'${m[0}'", "e.yaml:1:10: error: expected ']'");
}

Test(expr, error_columns_in_double_quoted_scalar)
{
	/* "a\tb ${x y}": the YAML escape \t is two bytes in the file, one in
	 * the text; the error points at the 'y' in the file. */
	ex_expect_error("\"a\\tb ${x y}\"", "e.yaml:1:14: error: expected '}' to close the '${' opened before");
	ex_expect_error("\"\\u00e9 ${1 +}\"", "e.yaml:1:17: error: unexpected character '}' in expression");
}

Test(expr, only_the_first_error_is_reported)
{
	struct expr_origin origin;
	cr_expect_null(ex_parse_depth("'${[1 2} ${\"x}'", 128, &origin));
	cr_expect_eq(diag_error_count(), 1);
}

Test(expr, file_offset_of_expressions)
{
	static struct expr_origin origin;
	struct expr *t = ex_parse_depth("'ab ${x} ${ y }'", 128, &origin);
	cr_assert_not_null(t);
	cr_assert_eq(t->tmpl.len, 4);
	/* v: 'ab ${x} ${ y }': the scalar's text starts at byte 4. */
	cr_expect_eq(expr_file_offset(&origin, t->tmpl.parts[1].expr), 4 + 5);
	cr_expect_eq(expr_file_offset(&origin, t->tmpl.parts[3].expr), 4 + 11);
}

/* ---- the depth limit ---- */

static char *ex_nested(const char *open, size_t n, const char *mid, const char *close)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "'${");
	for (size_t i = 0; i < n; i++)
		buf_puts(&b, open);
	buf_puts(&b, mid);
	for (size_t i = 0; i < n; i++)
		buf_puts(&b, close);
	buf_puts(&b, "}'");
	return buf_detach(&b, NULL);
}

/* Parses the nested text with the depth limit; returns whether it parsed. */
static bool ex_nested_parses(const char *open, size_t n, const char *mid, const char *close,
			     size_t depth)
{
	char *text = ex_nested(open, n, mid, close);
	struct expr_origin origin;
	bool ok = ex_parse_depth(text, depth, &origin) != NULL;
	size_t count = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(count, ok ? 0 : 1, "%s", out);
	cr_expect(ok || strstr(out, "error: expression nested deeper than"), "%s", out);
	free(out);
	free(text);
	return ok;
}

Test(expr, depth_limit_parentheses)
{
	cr_expect(ex_nested_parses("(", 4, "1", ")", 5));
	cr_expect_not(ex_nested_parses("(", 5, "1", ")", 5));
	cr_expect(ex_nested_parses("(", 100, "1", ")", 128));
	cr_expect_not(ex_nested_parses("(", 200, "1", ")", 128));
}

Test(expr, depth_limit_message)
{
	ex_expect_error_depth("'${((((((1))))))}'", 5, "e.yaml:1:12: error: expression nested deeper than 5 levels");
}

Test(expr, depth_limit_other_nestings)
{
	cr_expect_not(ex_nested_parses("[", 200, "1", "]", 128), "lists");
	cr_expect(ex_nested_parses("[", 50, "1", "]", 128));
	cr_expect_not(ex_nested_parses("{a = ", 200, "1", "}", 128), "maps");
	cr_expect_not(ex_nested_parses("f(", 200, "1", ")", 128), "calls");
	cr_expect_not(ex_nested_parses("!", 200, "x", "", 128), "unary operators");
	cr_expect(ex_nested_parses("!", 50, "x", "", 128));
	cr_expect_not(ex_nested_parses("x[", 200, "0", "]", 128), "indexes");
	cr_expect_not(ex_nested_parses("\"${", 200, "x", "}\"", 128), "quoted templates");
	cr_expect(ex_nested_parses("\"${", 20, "x", "}\"", 128));
}

Test(expr, operator_chains_are_not_nesting)
{
	/* A flat chain is walked in a loop: its length is not depth. */
	cr_expect(ex_nested_parses("", 0, "1 + 1 + 1 + 1", "", 2));
	cr_expect(ex_nested_parses("1 + ", 200, "1", "", 128));
	cr_expect(ex_nested_parses("a || ", 1000, "b", "", 128));
	cr_expect(ex_nested_parses("2 * 3 - ", 1000, "1", "", 128), "mixed precedence");
	/* Its right operands still nest, as conditionals do. */
	cr_expect_not(ex_nested_parses("1 + (", 200, "1", ")", 128));
	cr_expect_not(ex_nested_parses("c ? 1 : ", 200, "2", "", 128), "conditionals nest to the right");
}

Test(expr, long_chain_prints_as_nested_parentheses)
{
	ex_expect_single("'${x + x + x * 2 - y}'", "(((x + x) + (x * 2)) - y)");
}
