/* test_eval.c - compiler/eval.c: templates and operators (eval_text on a
 * context value), then references in real projects: locals, includes,
 * var.* from the vars.yaml chain, env.* and envs.*, dependency outputs
 * (mocks and outputs files) and inputs, did-you-mean, provenance. */
#include "helpers.h"
#include "fixture.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dag.h"
#include "eval.h"
#include "include.h"

/* ---- eval_text against a context ---- */

static struct arena ev_arena;
static struct value *ev_ctx;

static const char ev_ctx_yaml[] =
	"var:\n"
	"  n: 5\n"
	"  s: hello\n"
	"  l: [1, 2]\n"
	"  m: {k: v}\n"
	"  t: true\n"
	"  f: false\n"
	"  z: null\n"
	"  half: 0.5\n"
	"  big: 9223372036854775807\n"
	"  small: -9223372036854775808\n"
	"local:\n"
	"  name: api\n";

static void ev_text_setup(void)
{
	arena_init(&ev_arena);
	diag_clear();
	diag_set_color(0);
	struct srcfile *f = ARENA_NEW(&ev_arena, struct srcfile);
	*f = mem_file("ctx.yaml", ev_ctx_yaml);
	struct node *root = load_yaml(&ev_arena, f, NULL);
	cr_assert_not_null(root);
	ev_ctx = value_from_node(&ev_arena, root);
}

static void ev_text_teardown(void)
{
	diag_clear();
	arena_free(&ev_arena);
}

TestSuite(eval_text, .init = ev_text_setup, .fini = ev_text_teardown);

/* Evaluates text as file "t"; the value, or NULL after an error. */
static struct value *ev_eval(const char *text)
{
	struct srcfile *f = ARENA_NEW(&ev_arena, struct srcfile);
	*f = mem_file("t", arena_strdup(&ev_arena, text));
	return eval_text(&ev_arena, f, ev_ctx, &limits_default);
}

/* Evaluates without errors. */
static struct value *ev_ok(const char *text)
{
	struct value *v = ev_eval(text);
	char *out = diag_capture();
	if (!v) {
		cr_expect_fail("'%s' failed:\n%s", text, out);
		free(out);
		cr_assert_fail();
	}
	cr_expect_str_eq(out, "", "'%s': diagnostics:\n%s", text, out);
	free(out);
	return v;
}

static void ev_expect_str(const char *text, const char *want)
{
	struct value *v = ev_ok(text);
	cr_assert_eq(v->kind, VAL_STR, "'%s' is a %s", text, value_kind_name(v->kind));
	cr_expect_str_eq(v->str.s, want, "'%s'", text);
	cr_expect_eq(v->str.len, strlen(want));
}

static void ev_expect_int(const char *text, int64_t want)
{
	struct value *v = ev_ok(text);
	cr_assert_eq(v->kind, VAL_INT, "'%s' is a %s", text, value_kind_name(v->kind));
	cr_expect_eq(v->i, want, "'%s' = %lld, want %lld", text, (long long)v->i, (long long)want);
}

static void ev_expect_bool(const char *text, bool want)
{
	struct value *v = ev_ok(text);
	cr_assert_eq(v->kind, VAL_BOOL, "'%s' is a %s", text, value_kind_name(v->kind));
	cr_expect_eq(v->b, want, "'%s'", text);
}

/* Fails with one error; the first line of the output contains want. */
static void ev_expect_error(const char *text, const char *want)
{
	struct value *v = ev_eval(text);
	size_t n = diag_error_count();
	char *out = diag_capture();
	cr_expect_null(v, "'%s' should fail", text);
	cr_expect_eq(n, 1, "'%s': %zu errors:\n%s", text, n, out);
	char *first = nth_line(out, 0);
	cr_expect(strstr(first, want), "'%s': want '%s' in:\n%s", text, want, out);
	free(first);
	free(out);
}

Test(eval_text, whole_scalar_keeps_the_type)
{
	ev_expect_int("${var.n}", 5);
	ev_expect_int("${ var.n }", 5);
	ev_expect_bool("${var.t}", true);
	ev_expect_str("${var.s}", "hello");
	struct value *v = ev_ok("${var.l}");
	cr_expect_eq(v->kind, VAL_LIST);
	cr_expect_eq(v->list.len, 2);
	v = ev_ok("${var.m}");
	cr_assert_eq(v->kind, VAL_MAP);
	cr_expect_str_eq(value_map_get(v, "k")->str.s, "v");
	cr_expect_eq(ev_ok("${var.z}")->kind, VAL_NULL);
	v = ev_ok("${var.half}");
	cr_assert_eq(v->kind, VAL_FLOAT);
	cr_expect_eq(v->f, 0.5);
	ev_expect_int("${1 + 2}", 3);
	v = ev_ok("${[var.n, var.s]}");
	cr_assert_eq(v->kind, VAL_LIST);
	cr_expect_eq(v->list.items[0]->i, 5);
	ev_expect_str("${local.name}", "api");
}

Test(eval_text, mixed_text_joins_as_a_string)
{
	ev_expect_str("n=${var.n}, t=${var.t}, f=${var.f}, h=${var.half}", "n=5, t=true, f=false, h=0.5");
	ev_expect_str("${var.s}${var.n}", "hello5");
	ev_expect_str(" ${var.n}", " 5");
	ev_expect_str("${var.n} ", "5 ");
	ev_expect_str("${local.name}-${var.s}", "api-hello");
	ev_expect_str("plain text", "plain text");
	ev_expect_str("${\"in ${var.s} out\"}", "in hello out");
	ev_expect_str("100%{x}", "100%{x}");
}

Test(eval_text, collections_and_null_cannot_be_interpolated)
{
	ev_expect_error("x=${var.l}", "a list cannot be interpolated into a string");
	ev_expect_error("x=${var.m}", "a map cannot be interpolated into a string");
	ev_expect_error("x=${var.z}", "null cannot be interpolated into a string");
}

Test(eval_text, escaped_interpolation_is_literal)
{
	ev_expect_str("$${var.n}", "${var.n}");
	ev_expect_str("a $${b} ${var.n}", "a ${b} 5");
	ev_expect_str("$${", "${");
	ev_expect_str("$$${var.n}", "$${var.n}");
}

Test(eval_text, lazy_and_or)
{
	ev_expect_bool("${var.f && var.nope}", false);
	ev_expect_bool("${var.t || var.nope}", true);
	ev_expect_bool("${var.f && 1 / 0 == 0}", false);
	ev_expect_bool("${var.t || nosuchroot}", true);
	ev_expect_bool("${var.t && var.t}", true);
	ev_expect_bool("${var.f || var.f}", false);
	/* The right side runs when the left does not decide. */
	ev_expect_error("${var.t && var.nope}", "'var' has no key 'nope'");
	ev_expect_error("${var.f || var.nope}", "'var' has no key 'nope'");
	ev_expect_error("${var.n && true}", "'&&' needs a bool");
}

Test(eval_text, lazy_conditional)
{
	ev_expect_int("${var.t ? var.n : var.nope}", 5);
	ev_expect_str("${var.f ? var.nope : var.s}", "hello");
	ev_expect_str("${var.n > 3 ? \"big\" : 1 / 0}", "big");
	ev_expect_error("${var.f ? 1 : var.nope}", "'var' has no key 'nope'");
	ev_expect_error("${var.n ? 1 : 2}", "a condition needs a bool");
}

Test(eval_text, integer_overflow_is_an_error)
{
	ev_expect_int("${var.big - 1 + 1}", INT64_MAX);
	ev_expect_int("${var.small + 1 - 1}", INT64_MIN);
	ev_expect_error("${var.big + 1}", "integer overflow in '+'");
	ev_expect_error("${var.small - 1}", "integer overflow in '-'");
	ev_expect_error("${var.big * 2}", "integer overflow in '*'");
	ev_expect_error("${-var.small}", "integer overflow in '-'");
	ev_expect_error("${var.big + 1}", "t:1:");
}

Test(eval_text, division_is_real)
{
	struct value *v = ev_ok("${7 / 2}");
	cr_assert_eq(v->kind, VAL_FLOAT);
	cr_expect_eq(v->f, 3.5);
	v = ev_ok("${-7 / 2}");
	cr_assert_eq(v->kind, VAL_FLOAT);
	cr_expect_eq(v->f, -3.5);
	ev_expect_int("${6 / 2}", 3);
	ev_expect_int("${var.big / 1}", INT64_MAX);
	ev_expect_int("${1.5 * 2}", 3);
	ev_expect_str("x=${7 / 2}", "x=3.5");
	ev_expect_error("${1 / 0}", "division by zero");
	ev_expect_error("${1 / 0.0}", "division by zero");
}

Test(eval_text, division_of_int64_min_by_minus_one)
{
	/* The quotient 2^63 does not fit an int64: an error, not a crash
	 * (the remainder test used to raise SIGFPE) and not a wrapped int. */
	ev_expect_error("${var.small / -1}", "integer overflow in '/'");
	ev_expect_int("${var.small / 1}", INT64_MIN);
}

Test(eval_text, modulo_truncates)
{
	ev_expect_int("${7 % 3}", 1);
	ev_expect_int("${-7 % 3}", -1);
	ev_expect_int("${7 % -3}", 1);
	ev_expect_int("${var.small % -1}", 0);
	ev_expect_error("${7 % 0}", "modulo by zero");
	ev_expect_error("${7.5 % 2}", "operator '%' needs integers");
}

Test(eval_text, operators_need_numbers)
{
	ev_expect_error("${var.s + 1}", "operator '+' needs numbers");
	ev_expect_error("${var.s < 1}", "comparison needs numbers");
	ev_expect_bool("${var.s == \"hello\"}", true);
	ev_expect_bool("${var.l == [1, 2]}", true);
	ev_expect_bool("${var.n != 5}", false);
	ev_expect_bool("${!var.f}", true);
}

Test(eval_text, unknown_root_suggests)
{
	ev_expect_error("${vars.n}", "unknown reference 'vars'; did you mean 'var'?");
	ev_expect_error("${var.nn}", "did you mean 'n'?");
	ev_expect_error("x ${var.nn}", "t:1:5: error:");
}

/* ---- a real project ---- */

static char ev_root[PATH_MAX];
static struct project ev_proj;
static bool ev_opened;

static const char ev_project_yaml[] =
	"version: 1\n"
	"project: demo\n"
	"environments:\n"
	"  dev: { account_id: \"111111111111\", region: eu-west-1, tier: small }\n"
	"  prod: { account_id: \"333333333333\", region: eu-west-1, protected: true, tier: large }\n"
	"  multi: { account_id: \"555555555555\", regions: [us-east-1, us-west-2] }\n"
	"shared:\n"
	"  shared-services: { account_id: \"444444444444\", region: eu-west-1 }\n";

static void ev_mkdirs(const char *rel)
{
	fixture_mkdirs(ev_root, rel);
}

static void ev_write(const char *rel, const char *text)
{
	fixture_write(ev_root, rel, text);
}

static void ev_setup(void)
{
	diag_clear();
	diag_set_color(0);
	fixture_tmpdir("ev", ev_root);
	ev_opened = false;
	ev_write("bulkhead.yaml", ev_project_yaml);
	ev_mkdirs("dev");
	ev_mkdirs("prod");
	ev_mkdirs("multi/us-east-1");
	ev_mkdirs("multi/us-west-2");
	ev_mkdirs("shared-services");
}

static void ev_teardown(void)
{
	diag_clear();
	if (ev_opened)
		project_close(&ev_proj);
	ev_opened = false;
	if (ev_root[0])
		fixture_rm_rf(ev_root);
}

TestSuite(eval, .init = ev_setup, .fini = ev_teardown);

/* The compiler's pipeline: open, merge, resolve dependencies, build the
 * DAG, evaluate dependencies first, keeping the mocked reads as build
 * does.  Returns -1 after any error. */
static int ev_compile_as(struct source_spec spec)
{
	if (ev_opened)
		project_close(&ev_proj);	/* a test that compiles twice */
	int rc = project_open(&ev_proj, ev_root, &spec);
	ev_opened = true;
	return rc < 0 ? -1 : compile_units(&ev_proj);
}

static int ev_compile(void)
{
	return ev_compile_as((struct source_spec){ .mock_reads = true });
}

static void ev_compile_ok(void)
{
	int rc = ev_compile();
	expect_silent(rc, "the project");
}

/* Fails with nerrors errors; returns the output (caller frees). */
static char *ev_compile_fails(size_t nerrors)
{
	int rc = ev_compile();
	size_t n = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(rc, -1, "should fail:\n%s", out);
	cr_expect_eq(n, nerrors, "%zu errors, want %zu:\n%s", n, nerrors, out);
	return out;
}

static struct unit *ev_unit(const char *env, const char *id)
{
	struct env *e = project_find_env(&ev_proj, env);
	cr_assert_not_null(e, "no env '%s'", env);
	struct unit *u = env_find_unit(e, id);
	cr_assert_not_null(u, "no unit '%s' in '%s'", id, env);
	return u;
}

/* inputs.KEY of a unit. */
static struct value *ev_input(const char *env, const char *id, const char *key)
{
	struct unit *u = ev_unit(env, id);
	cr_assert_not_null(u->inputs, "%s:%s was not evaluated", env, id);
	struct value *v = value_map_get(u->inputs, key);
	cr_assert_not_null(v, "%s:%s has no input '%s'", env, id, key);
	return v;
}

static void ev_expect_input_str(const char *env, const char *id, const char *key, const char *want)
{
	struct value *v = ev_input(env, id, key);
	cr_assert_eq(v->kind, VAL_STR, "inputs.%s is a %s", key, value_kind_name(v->kind));
	cr_expect_str_eq(v->str.s, want, "inputs.%s", key);
}

static void ev_expect_input_int(const char *env, const char *id, const char *key, int64_t want)
{
	struct value *v = ev_input(env, id, key);
	cr_assert_eq(v->kind, VAL_INT, "inputs.%s is a %s", key, value_kind_name(v->kind));
	cr_expect_eq(v->i, want, "inputs.%s = %lld", key, (long long)v->i);
}

/* The value as compact JSON. */
static void ev_expect_json(const struct value *v, const char *want)
{
	struct buf b = BUF_INIT;
	value_to_json_compact(v, &b);
	cr_expect_str_eq(buf_cstr(&b), want);
	buf_free(&b);
}

static void ev_expect_position(const struct node *n, const char *path, unsigned line, unsigned col)
{
	cr_assert_not_null(n);
	cr_assert_not_null(n->file);
	unsigned l, c;
	srcfile_position(n->file, n->off, &l, &c);
	cr_expect_str_eq(n->file->path, path);
	cr_expect_eq(l, line, "line %u, want %u", l, line);
	cr_expect_eq(c, col, "column %u, want %u", c, col);
}

/* ---- literal trees ---- */

/* A list or map with no expression beneath it is one value, shared by
 * every unit that reaches its node (on one thread: each worker makes its
 * own); anything with an expression, or a "$${" escape, beneath it is
 * evaluated per unit. */
Test(eval, literal_trees_are_one_value_for_every_unit)
{
	ev_write("_common/tags.yaml", "inputs:\n  tags: { team: core, cost: [a, b] }\n");
	const char *text = "include: [//_common/tags.yaml]\n"
			   "inputs:\n"
			   "  ports: [80, 443]\n"
			   "  mixed: { name: x, tier: \"${env.tier}\" }\n"
			   "  escaped: { raw: \"$${var.x}\" }\n";
	ev_write("dev/app/unit.yaml", text);
	ev_write("prod/app/unit.yaml", text);
	ev_write("dev/web/unit.yaml", "include: [//_common/tags.yaml]\ninputs: { name: \"${env.name}\" }\n");
	cr_assert_eq(project_open(&ev_proj, ev_root, &(struct source_spec){ .jobs = 1 }), 0);
	ev_opened = true;
	cr_assert_eq(compile_units(&ev_proj), 0);
	cr_expect_eq(ev_input("dev", "app", "tags"), ev_input("dev", "web", "tags"), "an include's tree");
	cr_expect_eq(ev_input("dev", "app", "tags"), ev_input("prod", "app", "tags"));
	cr_expect_eq(ev_input("dev", "app", "ports"), ev_input("prod", "app", "ports"), "a shared unit file's");
	ev_expect_json(ev_input("dev", "app", "tags"), "{\"cost\":[\"a\",\"b\"],\"team\":\"core\"}");
	ev_expect_json(ev_input("prod", "app", "ports"), "[80,443]");
	cr_expect_neq(ev_input("dev", "app", "mixed"), ev_input("prod", "app", "mixed"));
	ev_expect_json(ev_input("dev", "app", "mixed"), "{\"name\":\"x\",\"tier\":\"small\"}");
	ev_expect_json(ev_input("prod", "app", "mixed"), "{\"name\":\"x\",\"tier\":\"large\"}");
	ev_expect_json(ev_input("prod", "app", "escaped"), "{\"raw\":\"${var.x}\"}");
	const struct node *ports = node_map_get(node_map_get(ev_unit("prod", "app")->config, "inputs"), "ports");
	cr_expect_eq(ev_input("prod", "app", "ports")->origin, ports, "the value keeps its node");
}

/* ---- locals ---- */

Test(eval, locals_chain)
{
	ev_write("dev/app/unit.yaml",
		 "locals:\n"
		 "  c: ${local.b}-z\n"
		 "  b: ${local.a}-y\n"
		 "  a: x\n"
		 "  n: ${length([local.a, local.b, local.c])}\n"
		 "inputs:\n"
		 "  v: ${local.c}\n"
		 "  n: ${local.n}\n"
		 "  all: ${local}\n");
	ev_compile_ok();
	ev_expect_input_str("dev", "app", "v", "x-y-z");
	ev_expect_input_int("dev", "app", "n", 3);
	ev_expect_json(ev_input("dev", "app", "all"), "{\"a\":\"x\",\"b\":\"x-y\",\"c\":\"x-y-z\",\"n\":3}");
}

Test(eval, locals_cycle_names_the_chain)
{
	ev_write("dev/app/unit.yaml",
		 "locals:\n"
		 "  a: ${local.b}\n"
		 "  b: ${local.c}\n"
		 "  c: x-${local.a}\n"
		 "inputs:\n"
		 "  v: ${local.a}\n");
	char *out = ev_compile_fails(1);
	char *first = nth_line(out, 0);
	cr_expect_str_eq(first, "dev/app/unit.yaml:4:10: error: locals cycle: local.a -> local.b -> local.c -> local.a",
			 "%s", out);
	free(first);
	free(out);
}

Test(eval, self_referencing_local)
{
	ev_write("dev/app/unit.yaml", "locals:\n  a: ${local.a}\ninputs: {}\n");
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, "locals cycle: local.a -> local.a"), "%s", out);
	free(out);
}

Test(eval, unused_broken_local_is_reported)
{
	ev_write("dev/app/unit.yaml", "locals:\n  name: api\n  bad: ${local.nme}\ninputs: {}\n");
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, "dev/app/unit.yaml:3:10: error: unknown local 'local.nme'; did you mean 'local.name'?"),
		  "%s", out);
	free(out);
}

/* ---- includes ---- */

Test(eval, include_as_exposes_the_merged_file)
{
	ev_write("_common/net.yaml",
		 "locals:\n"
		 "  prefix: ${env.name}-net\n"
		 "inputs:\n"
		 "  cidr: 10.0.0.0/16\n"
		 "  name: ${local.prefix}\n"
		 "  tags: {team: core}\n");
	ev_write("dev/app/unit.yaml",
		 "include:\n"
		 "  - { path: //_common/net.yaml, as: net, merge: none }\n"
		 "locals:\n"
		 "  prefix: unit-local\n"
		 "inputs:\n"
		 "  cidr: ${include.net.inputs.cidr}\n"
		 "  name: ${include.net.inputs.name}\n"
		 "  team: ${include.net.inputs.tags.team}\n"
		 "  mine: ${local.prefix}\n");
	ev_compile_ok();
	struct unit *u = ev_unit("dev", "app");
	cr_expect_eq(u->inputs->map.len, 4, "merge: none does not merge the include's inputs");
	ev_expect_input_str("dev", "app", "cidr", "10.0.0.0/16");
	ev_expect_input_str("dev", "app", "name", "dev-net");	/* the include's own locals, in the unit's env */
	ev_expect_input_str("dev", "app", "team", "core");
	ev_expect_input_str("dev", "app", "mine", "unit-local");
}

Test(eval, include_as_with_deep_merge)
{
	ev_write("_common/base.yaml", "inputs:\n  size: small\n  color: blue\n");
	ev_write("dev/app/unit.yaml",
		 "include:\n"
		 "  - { path: ../../_common/base.yaml, as: base }\n"
		 "inputs:\n"
		 "  size: large\n"
		 "  was: ${include.base.inputs.size}\n");
	ev_compile_ok();
	ev_expect_input_str("dev", "app", "size", "large");
	ev_expect_input_str("dev", "app", "color", "blue");
	ev_expect_input_str("dev", "app", "was", "small");
}

Test(eval, unknown_include)
{
	ev_write("_common/net.yaml", "inputs:\n  cidr: 10.0.0.0/16\n");
	ev_write("dev/app/unit.yaml",
		 "include:\n"
		 "  - { path: //_common/net.yaml, as: net, merge: none }\n"
		 "inputs:\n"
		 "  cidr: ${include.nett.inputs.cidr}\n");
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, "dev/app/unit.yaml:4:11: error: no include named 'nett'"), "%s", out);
	free(out);
}

/* ---- var.* ---- */

Test(eval, vars_chain_nested_overrides_outer)
{
	ev_write("dev/vars.yaml", "replicas: 1\nsize: small\nnested:\n  a: 1\n  b: 2\n");
	ev_write("dev/app/vars.yaml", "replicas: 3\nnested:\n  b: 20\n");
	ev_write("dev/app/api/unit.yaml",
		 "inputs:\n"
		 "  r: ${var.replicas}\n"
		 "  s: ${var.size}\n"
		 "  n: ${var.nested}\n"
		 "  all: ${var}\n");
	ev_write("dev/db/unit.yaml", "inputs:\n  r: ${var.replicas}\n  n: ${var.nested}\n");
	ev_write("prod/vars.yaml", "replicas: 6\nsize: large\nnested: {a: 9}\n");
	ev_write("prod/app/api/unit.yaml", "inputs:\n  r: ${var.replicas}\n  s: ${var.size}\n");
	ev_compile_ok();
	ev_expect_input_int("dev", "app/api", "r", 3);
	ev_expect_input_str("dev", "app/api", "s", "small");
	ev_expect_json(ev_input("dev", "app/api", "n"), "{\"a\":1,\"b\":20}");
	ev_expect_json(ev_input("dev", "app/api", "all"),
		       "{\"nested\":{\"a\":1,\"b\":20},\"replicas\":3,\"size\":\"small\"}");
	ev_expect_input_int("dev", "db", "r", 1);
	ev_expect_json(ev_input("dev", "db", "n"), "{\"a\":1,\"b\":2}");
	ev_expect_input_int("prod", "app/api", "r", 6);
	ev_expect_input_str("prod", "app/api", "s", "large");
}

Test(eval, region_vars_merge_after_env_vars)
{
	ev_write("multi/vars.yaml", "replicas: 2\nzone: none\n");
	ev_write("multi/us-west-2/vars.yaml", "zone: west\n");
	ev_write("multi/us-west-2/app/unit.yaml", "inputs:\n  r: ${var.replicas}\n  z: ${var.zone}\n");
	ev_write("multi/us-east-1/app/unit.yaml", "inputs:\n  r: ${var.replicas}\n  z: ${var.zone}\n");
	ev_compile_ok();
	ev_expect_input_int("multi/us-west-2", "app", "r", 2);
	ev_expect_input_str("multi/us-west-2", "app", "z", "west");
	ev_expect_input_str("multi/us-east-1", "app", "z", "none");
}

Test(eval, missing_var_suggests)
{
	ev_write("dev/vars.yaml", "replicas: 1\n");
	ev_write("dev/app/unit.yaml", "inputs:\n  r: ${var.replica}\n");
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, "dev/app/unit.yaml:2:8: error:"), "%s", out);
	cr_expect(strstr(out, "did you mean 'replicas'?"), "%s", out);
	free(out);
}

/* ---- env.*, envs.*, unit.*, project.* ---- */

Test(eval, env_and_envs)
{
	ev_write("dev/app/api/unit.yaml",
		 "inputs:\n"
		 "  name: ${env.name}\n"
		 "  label: ${env.label}\n"
		 "  account: ${env.account_id}\n"
		 "  region: ${env.region}\n"
		 "  protected: ${env.protected}\n"
		 "  tier: ${env.tier}\n"
		 "  regions: ${env.regions}\n"
		 "  prod_account: ${envs.prod.account_id}\n"
		 "  prod_protected: ${envs.prod.protected}\n"
		 "  prod_tier: ${envs.prod.tier}\n"
		 "  shared: ${envs.shared-services.account_id}\n"
		 "  multi_regions: ${envs.multi.regions}\n"
		 "  unit: ${unit.path} ${unit.name} ${unit.dir}\n"
		 "  project: ${project.name}\n");
	ev_compile_ok();
	ev_expect_input_str("dev", "app/api", "name", "dev");
	ev_expect_input_str("dev", "app/api", "label", "dev");
	ev_expect_input_str("dev", "app/api", "account", "111111111111");
	ev_expect_input_str("dev", "app/api", "region", "eu-west-1");
	cr_expect_eq(ev_input("dev", "app/api", "protected")->kind, VAL_BOOL);
	cr_expect_not(ev_input("dev", "app/api", "protected")->b);
	ev_expect_input_str("dev", "app/api", "tier", "small");
	ev_expect_json(ev_input("dev", "app/api", "regions"), "[\"eu-west-1\"]");
	ev_expect_input_str("dev", "app/api", "prod_account", "333333333333");
	cr_expect(ev_input("dev", "app/api", "prod_protected")->b);
	ev_expect_input_str("dev", "app/api", "prod_tier", "large");
	ev_expect_input_str("dev", "app/api", "shared", "444444444444");
	ev_expect_json(ev_input("dev", "app/api", "multi_regions"), "[\"us-east-1\",\"us-west-2\"]");
	ev_expect_input_str("dev", "app/api", "unit", "app/api api dev/app/api");
	ev_expect_input_str("dev", "app/api", "project", "demo");
}

Test(eval, env_of_a_region)
{
	ev_write("multi/us-west-2/app/unit.yaml",
		 "inputs:\n"
		 "  name: ${env.name}\n"
		 "  label: ${env.label}\n"
		 "  region: ${env.region}\n"
		 "  regions: ${env.regions}\n"
		 "  dir: ${unit.dir}\n");
	ev_compile_ok();
	ev_expect_input_str("multi/us-west-2", "app", "name", "multi");
	ev_expect_input_str("multi/us-west-2", "app", "label", "multi/us-west-2");
	ev_expect_input_str("multi/us-west-2", "app", "region", "us-west-2");
	ev_expect_json(ev_input("multi/us-west-2", "app", "regions"), "[\"us-east-1\",\"us-west-2\"]");
	ev_expect_input_str("multi/us-west-2", "app", "dir", "multi/us-west-2/app");
}

Test(eval, unknown_env_key_suggests)
{
	ev_write("dev/app/unit.yaml", "inputs:\n  t: ${env.teir}\n");
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, "did you mean 'tier'?"), "%s", out);
	free(out);
}

/* ---- dependencies ---- */

static const char ev_vpc_unit[] = "inputs:\n  cidr: 10.0.0.0/16\n";

static const char ev_api_unit[] =
	"dependencies:\n"
	"  vpc:\n"
	"    path: ../../network/vpc\n"
	"    mock_outputs:\n"
	"      vpc_id: vpc-00000000\n"
	"      subnets: [a, b]\n"
	"inputs:\n"
	"  vpc_id: ${dependency.vpc.outputs.vpc_id}\n"
	"  subnets: ${dependency.vpc.outputs.subnets}\n"
	"  cidr: ${dependency.vpc.inputs.cidr}\n";

Test(eval, dependency_outputs_from_mocks)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml", ev_api_unit);
	ev_compile_ok();
	ev_expect_input_str("dev", "app/api", "vpc_id", "vpc-00000000");
	ev_expect_json(ev_input("dev", "app/api", "subnets"), "[\"a\",\"b\"]");
	ev_expect_input_str("dev", "app/api", "cidr", "10.0.0.0/16");
	struct unit *u = ev_unit("dev", "app/api");
	cr_assert_eq(u->ndeps, 1);
	cr_expect(u->deps[0].mocked);
	cr_expect_str_eq(u->deps[0].target_env, "dev");
	cr_expect_str_eq(u->deps[0].target_id, "network/vpc");
	/* Both mocked reads are recorded, newest first, where they are read. */
	const struct mock_use *m = u->mocks;
	cr_assert_not_null(m);
	bool vpc_id = false, subnets = false;
	struct arena a;
	arena_init(&a);
	for (; m; m = m->next) {
		cr_expect_str_eq(m->file->path, "dev/app/api/unit.yaml");
		unsigned line, col;
		srcfile_position(m->file, m->off, &line, &col);
		const char *ref = mock_ref(&a, m);
		if (!strcmp(ref, "dependency.vpc.outputs.vpc_id")) {
			vpc_id = true;
			cr_expect_eq(line, 8);
			cr_expect_eq(col, 13);
		} else if (!strcmp(ref, "dependency.vpc.outputs.subnets")) {
			subnets = true;
			cr_expect_eq(line, 9);
		} else {
			cr_expect_fail("unexpected mock use '%s'", ref);
		}
	}
	arena_free(&a);
	cr_expect(vpc_id && subnets);
	cr_expect_null(ev_unit("dev", "network/vpc")->mocks);
}

Test(eval, dependency_outputs_from_an_outputs_file)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml",
		 "dependencies:\n"
		 "  vpc:\n"
		 "    path: network/vpc\n"
		 "    mock_outputs: { vpc_id: vpc-00000000 }\n"
		 "inputs:\n"
		 "  vpc_id: ${dependency.vpc.outputs.vpc_id}\n"
		 "  subnets: ${dependency.vpc.outputs.subnets}\n"
		 "  db_password: ${dependency.vpc.outputs.db_password}\n"
		 "  dsn: postgres://app:${dependency.vpc.outputs.db_password}@db\n");
	ev_write(".bulkhead/outputs/dev/network/vpc.json",
		 "{\n"
		 "  \"db_password\": {\"sensitive\": true, \"type\": \"string\", \"value\": \"hunter2\"},\n"
		 "  \"subnets\": {\"sensitive\": false, \"type\": [\"list\", \"string\"], \"value\": [\"s-1\", \"s-2\"]},\n"
		 "  \"vpc_id\": {\"sensitive\": false, \"type\": \"string\", \"value\": \"vpc-0abc\"}\n"
		 "}\n");
	ev_compile_ok();
	ev_expect_input_str("dev", "app/api", "vpc_id", "vpc-0abc");
	cr_expect_not(ev_input("dev", "app/api", "vpc_id")->sensitive);
	ev_expect_json(ev_input("dev", "app/api", "subnets"), "[\"s-1\",\"s-2\"]");
	struct value *pw = ev_input("dev", "app/api", "db_password");
	cr_expect_str_eq(pw->str.s, "hunter2", "tfvars get the real value");
	cr_expect(pw->sensitive, "a sensitive output stays sensitive");
	struct value *dsn = ev_input("dev", "app/api", "dsn");
	cr_expect_str_eq(dsn->str.s, "postgres://app:hunter2@db");
	cr_expect(dsn->sensitive, "text built from a sensitive value is sensitive");
	struct unit *u = ev_unit("dev", "app/api");
	cr_expect_not(u->deps[0].mocked);
	cr_expect_null(u->mocks, "no mocks were read");
	struct buf b = BUF_INIT;
	value_to_json_redacted(u->inputs, &b);
	cr_expect(strstr(b.data, "\"db_password\": \"(sensitive)\""), "%s", b.data);
	cr_expect_not(strstr(b.data, "hunter2"), "%s", b.data);
	buf_free(&b);
}

/* A secret used as a map key, an index or a decoded text: no value, key
 * or message shows it. */
static const char ev_secret_outputs[] =
	"{\"pw\": {\"sensitive\": true, \"type\": \"string\", \"value\": \"hunter2\"}}\n";

Test(eval, a_secret_as_a_key_makes_its_map_sensitive)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml",
		 "dependencies:\n"
		 "  vpc: { path: network/vpc }\n"
		 "inputs:\n"
		 "  by_secret: '${ {(dependency.vpc.outputs.pw) = 1} }'\n"
		 "  names: '${keys({(dependency.vpc.outputs.pw) = 1})}'\n"
		 "  merged: '${merge({a = 1}, {(dependency.vpc.outputs.pw) = 2})}'\n");
	ev_write(".bulkhead/outputs/dev/network/vpc.json", ev_secret_outputs);
	ev_compile_ok();
	const char *keys[] = { "by_secret", "names", "merged" };
	for (size_t i = 0; i < 3; i++) {
		struct value *v = ev_input("dev", "app/api", keys[i]);
		cr_expect(value_has_sensitive(v), "%s is not sensitive", keys[i]);
		struct buf b = BUF_INIT;
		value_to_json_redacted(v, &b);
		cr_expect_not(strstr(b.data, "hunter2"), "%s shows the secret: %s", keys[i], b.data);
		buf_free(&b);
	}
	struct buf tfvars = BUF_INIT;
	value_to_json(ev_input("dev", "app/api", "by_secret"), &tfvars);
	cr_expect(strstr(tfvars.data, "\"hunter2\": 1"), "tfvars get the real key: %s", tfvars.data);
	buf_free(&tfvars);
}

Test(eval, errors_about_a_secret_do_not_show_it)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml",
		 "dependencies:\n"
		 "  vpc: { path: network/vpc }\n"
		 "inputs:\n"
		 "  key: '${var[dependency.vpc.outputs.pw]}'\n"
		 "  index: '${[0][length(dependency.vpc.outputs.pw)]}'\n"
		 "  json: '${jsondecode(dependency.vpc.outputs.pw)}'\n"
		 "  yaml: '${yamldecode(\"a: [${dependency.vpc.outputs.pw}\")}'\n"
		 "  dup: '${ {(dependency.vpc.outputs.pw) = 1, hunter2 = 2} }'\n");
	ev_write(".bulkhead/outputs/dev/network/vpc.json", ev_secret_outputs);
	char *out = ev_compile_fails(5);
	for (const char *q = out; (q = strstr(q, "hunter2")); q++)
		cr_expect(q > out && (!strncmp(q - 1, " hunter2 = 2", 12) || !strncmp(q - 2, ", hunter2 = 2", 13)),
			  "the secret is shown outside its source line:\n%s", out);
	cr_expect(strstr(out, "has no key '(sensitive)'"), "%s", out);
	cr_expect(strstr(out, "index (sensitive) is out of range"), "%s", out);
	cr_expect(strstr(out, "jsondecode: its argument, which is sensitive"), "%s", out);
	cr_expect(strstr(out, "duplicate key '(sensitive)'"), "%s", out);
	free(out);
}

Test(eval, shared_and_region_outputs_files)
{
	ev_write("shared-services/ecr/unit.yaml", "inputs: {}\n");
	ev_write("multi/us-west-2/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("multi/us-west-2/app/unit.yaml",
		 "dependencies:\n"
		 "  ecr: { path: \"@shared-services/ecr\" }\n"
		 "  vpc: { path: network/vpc }\n"
		 "inputs:\n"
		 "  repo: ${dependency.ecr.outputs.url}\n"
		 "  vpc: ${dependency.vpc.outputs.vpc_id}\n");
	ev_write(".bulkhead/outputs/shared-services/ecr.json",
		 "{\"url\": {\"value\": \"444444444444.dkr.ecr.eu-west-1.amazonaws.com/app\", \"type\": \"string\"}}\n");
	ev_write(".bulkhead/outputs/multi/us-west-2/network/vpc.json",
		 "{\"vpc_id\": {\"value\": \"vpc-west\", \"type\": \"string\"}}\n");
	ev_compile_ok();
	ev_expect_input_str("multi/us-west-2", "app", "repo", "444444444444.dkr.ecr.eu-west-1.amazonaws.com/app");
	ev_expect_input_str("multi/us-west-2", "app", "vpc", "vpc-west");
}

/* The api unit reads vpc's outputs from this file; compiling fails with
 * needle in the report. */
static void expect_outputs_error(const char *outputs, const char *needle)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml", ev_api_unit);
	ev_write(".bulkhead/outputs/dev/network/vpc.json", outputs);
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, needle), "want '%s' in:\n%s", needle, out);
	free(out);
}

Test(eval, outputs_file_in_the_wrong_format)
{
	expect_outputs_error("{\"vpc_id\": \"vpc-1\"}\n", "output 'vpc_id' has no \"value\"");
}

/* Two units that depend on vpc read its outputs file as one set of
 * values, made once. */
Test(eval, an_outputs_file_is_made_into_values_once)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml", ev_api_unit);
	ev_write("dev/app/web/unit.yaml", ev_api_unit);
	ev_write(".bulkhead/outputs/dev/network/vpc.json",
		 "{\"vpc_id\": {\"value\": \"vpc-1\"}, \"subnets\": {\"value\": [\"s1\"]}}\n");
	ev_compile_ok();
	ev_expect_input_str("dev", "app/api", "vpc_id", "vpc-1");
	ev_expect_input_str("dev", "app/web", "vpc_id", "vpc-1");
	const struct dependency *api = &ev_unit("dev", "app/api")->deps[0], *web = &ev_unit("dev", "app/web")->deps[0];
	cr_expect(!api->mocked && !web->mocked);
	cr_assert_not_null(api->outputs);
	cr_expect_eq(api->outputs, web->outputs, "each dependant made its own values of vpc.json");
}

/* A bad outputs file is reported once, however many units read it. */
Test(eval, a_bad_outputs_file_is_reported_once)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml", ev_api_unit);
	ev_write("dev/app/web/unit.yaml", ev_api_unit);
	ev_write(".bulkhead/outputs/dev/network/vpc.json", "{\"vpc_id\": \"vpc-1\"}\n");
	char *out = ev_compile_fails(1);
	cr_expect_eq(count_lines_with(out, "output 'vpc_id' has no \"value\""), 1, "%s", out);
	free(out);
}

/* Outputs files are terraform output -json: YAML that is not JSON is
 * refused by the JSON loader, at the place it stops. */
Test(eval, outputs_file_must_be_json)
{
	expect_outputs_error("vpc_id: {value: vpc-1}\n",
			     ".bulkhead/outputs/dev/network/vpc.json:1:1: error: expected a JSON value");
	expect_outputs_error("{\"vpc_id\": {\"value\": \"vpc-1\"},}\n",
			     ".bulkhead/outputs/dev/network/vpc.json:1:31: error: expected a string key");
}

Test(eval, missing_output_without_mock)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml",
		 "dependencies:\n"
		 "  vpc: { path: ../../network/vpc, mock_outputs: { vpc_id: x } }\n"
		 "inputs:\n"
		 "  subnet: ${dependency.vpc.outputs.subnet_id}\n");
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, "dev/app/api/unit.yaml:4:13: error: dependency 'vpc' (unit 'network/vpc' of 'dev') has no output 'subnet_id' and no outputs file: add it to mock_outputs"),
		  "%s", out);
	free(out);
}

Test(eval, unknown_dependency_suggests)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml",
		 "dependencies:\n"
		 "  vpc: { path: ../../network/vpc, mock_outputs: { vpc_id: x } }\n"
		 "inputs:\n"
		 "  id: ${dependency.vcp.outputs.vpc_id}\n");
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, "dev/app/api/unit.yaml:4:9: error: unknown dependency 'vcp'; did you mean 'vpc'?"), "%s", out);
	free(out);
}

Test(eval, dependency_needs_outputs_or_inputs)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml",
		 "dependencies:\n"
		 "  vpc: { path: ../../network/vpc }\n"
		 "inputs:\n"
		 "  a: ${dependency.vpc.output.vpc_id}\n");
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, "dependency 'vpc' has outputs and inputs, not 'output'"), "%s", out);
	free(out);
}

Test(eval, dependency_inputs_pass_mocks_on)
{
	ev_write("dev/network/vpc/unit.yaml",
		 "dependencies:\n"
		 "  base: { path: ../base, mock_outputs: { id: mocked } }\n"
		 "inputs:\n"
		 "  base_id: ${dependency.base.outputs.id}\n");
	ev_write("dev/network/base/unit.yaml", "inputs: {}\n");
	ev_write("dev/app/unit.yaml",
		 "dependencies:\n"
		 "  vpc: { path: network/vpc }\n"
		 "inputs:\n"
		 "  id: ${dependency.vpc.inputs.base_id}\n");
	ev_compile_ok();
	ev_expect_input_str("dev", "app", "id", "mocked");
	struct unit *u = ev_unit("dev", "app");
	cr_assert_not_null(u->mocks, "a mock read through inputs counts as mocked");
	struct arena a;
	arena_init(&a);
	const char *ref = mock_ref(&a, u->mocks);
	cr_expect_str_eq(ref, "dependency.vpc.inputs.base_id (network/vpc read mock_outputs)");
	arena_free(&a);
}

/* drift, diff, show and validate read mocks freely and report none. */
Test(eval, mocked_reads_are_kept_only_when_asked)
{
	ev_write("dev/network/vpc/unit.yaml", ev_vpc_unit);
	ev_write("dev/app/api/unit.yaml", ev_api_unit);
	expect_silent(ev_compile_as((struct source_spec){ 0 }), "the project");
	ev_expect_input_str("dev", "app/api", "vpc_id", "vpc-00000000");
	ev_expect_input_str("dev", "app/api", "cidr", "10.0.0.0/16");
	struct unit *u = ev_unit("dev", "app/api");
	cr_expect(u->deps[0].mocked);
	cr_expect_null(u->mocks, "no command asked for the mocked reads");
	ev_compile_ok();
	cr_expect_not_null(ev_unit("dev", "app/api")->mocks, "build asks for them");
}

/* ---- unknown references ---- */

Test(eval, unknown_root_suggests)
{
	ev_write("dev/app/unit.yaml", "locals:\n  a: 1\ninputs:\n  x: ${lcoal.a}\n");
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, "dev/app/unit.yaml:4:8: error: unknown reference 'lcoal'; did you mean 'local'?"), "%s", out);
	free(out);
}

Test(eval, errors_are_all_reported)
{
	ev_write("dev/app/unit.yaml",
		 "inputs:\n"
		 "  a: ${nope.x}\n"
		 "  b: ${var.missing}\n"
		 "  c: ${1 / 0}\n");
	char *out = ev_compile_fails(3);
	cr_expect_eq(count_lines_with(out, ": error: "), 3, "%s", out);
	free(out);
}

/* ---- provenance ---- */

Test(eval, value_origins)
{
	ev_write("_common/base.yaml", "inputs:\n  inherited: from-base\n  list: [1, 2]\n");
	ev_write("dev/vars.yaml", "size: small\n");
	ev_write("dev/app/unit.yaml",
		 "include: [//_common/base.yaml]\n"
		 "locals:\n"
		 "  x: lx\n"
		 "inputs:\n"
		 "  lit: hello\n"
		 "  num: 3\n"
		 "  tmpl: ${local.x}\n"
		 "  size: \"${var.size}\"\n"
		 "  map:\n"
		 "    k: v\n");
	ev_compile_ok();
	ev_expect_position(ev_input("dev", "app", "lit")->origin, "dev/app/unit.yaml", 5, 8);
	ev_expect_position(ev_input("dev", "app", "num")->origin, "dev/app/unit.yaml", 6, 8);
	ev_expect_position(ev_input("dev", "app", "tmpl")->origin, "dev/app/unit.yaml", 7, 9);
	ev_expect_position(ev_input("dev", "app", "size")->origin, "dev/app/unit.yaml", 8, 9);
	struct value *map = ev_input("dev", "app", "map");
	ev_expect_position(map->origin, "dev/app/unit.yaml", 10, 5);
	ev_expect_position(value_map_get(map, "k")->origin, "dev/app/unit.yaml", 10, 8);
	ev_expect_position(ev_input("dev", "app", "inherited")->origin, "_common/base.yaml", 2, 14);
	ev_expect_position(ev_input("dev", "app", "list")->origin, "_common/base.yaml", 3, 9);
	/* The origin is the merged config's node itself. */
	struct unit *u = ev_unit("dev", "app");
	const struct node *inputs = node_map_get(u->config, "inputs");
	cr_expect_eq(ev_input("dev", "app", "lit")->origin, node_map_get(inputs, "lit"));
	cr_expect_eq(ev_input("dev", "app", "tmpl")->origin, node_map_get(inputs, "tmpl"));
}

Test(eval, source_is_evaluated)
{
	ev_write("dev/vars.yaml", "ref: v1.2.3\n");
	ev_write("dev/app/unit.yaml", "source: \"git::https://example.com/m.git//app?ref=${var.ref}\"\ninputs: {}\n");
	ev_write("dev/bad/unit.yaml", "source: \"${[1]}\"\ninputs: {}\n");
	char *out = ev_compile_fails(1);
	cr_expect(strstr(out, "dev/bad/unit.yaml:1:9: error: source must be a string, not a list"), "%s", out);
	free(out);
	cr_expect_str_eq(ev_unit("dev", "app")->source, "git::https://example.com/m.git//app?ref=v1.2.3");
}

Test(eval, eval_unit_node_in_the_units_scope)
{
	ev_write("dev/app/unit.yaml", "locals:\n  x: 7\ninputs: {}\n");
	ev_compile_ok();
	struct srcfile *f = ARENA_NEW(&ev_proj.arena, struct srcfile);
	*f = mem_file("tmpl.yaml", "v: ${local.x * 2}-${env.name}\n");
	struct node *root = load_yaml(&ev_proj.arena, f, NULL);
	cr_assert_not_null(root);
	struct value *v = eval_unit_node(&ev_proj, ev_unit("dev", "app"), root);
	cr_assert_not_null(v);
	cr_expect_str_eq(value_map_get(v, "v")->str.s, "14-dev");
}
