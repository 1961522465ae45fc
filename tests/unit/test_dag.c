/* test_dag.c - compiler/dag.c: dependency targets, levels, cycles.
 *
 * Each test writes a tiny project into a temp dir, opens it, merges and
 * resolves every unit's dependencies as the compiler does, then builds
 * the graph. */
#include "helpers.h"
#include "fixture.h"

#include <errno.h>
#include <dirent.h>
#include <stdarg.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dag.h"
#include "eval.h"
#include "include.h"

static char dg_root[PATH_MAX];
static struct project dg_proj;
static bool dg_opened;

static const char dg_project_yaml[] =
	"version: 1\n"
	"project: demo\n"
	"environments:\n"
	"  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
	"  prod: { account_id: \"333333333333\", region: eu-west-1 }\n"
	"shared:\n"
	"  shared-services: { account_id: \"444444444444\", region: eu-west-1 }\n";

static void dg_mkdirs(const char *rel)
{
	fixture_mkdirs(dg_root, rel);
}

static void dg_write(const char *rel, const char *text)
{
	fixture_write(dg_root, rel, text);
}

/* Writes dir/unit.yaml depending on each path given (NULL-terminated);
 * dependency i is named d<i>, its path on line 3 + 2i, column 11. */
static void dg_unit(const char *dir, ...)
{
	struct buf text = BUF_INIT;
	va_list ap;
	va_start(ap, dir);
	int i = 0;
	for (const char *path = va_arg(ap, const char *); path; path = va_arg(ap, const char *), i++) {
		if (!i)
			buf_puts(&text, "dependencies:\n");
		buf_printf(&text, "  d%d:\n    path: \"%s\"\n", i, path);
	}
	va_end(ap);
	if (!i)
		buf_puts(&text, "inputs: {}\n");
	char *rel = arena_printf(&dg_proj.arena, "%s/unit.yaml", dir);
	dg_write(rel, buf_cstr(&text));
	buf_free(&text);
}

static void dg_setup(void)
{
	diag_clear();
	diag_set_color(0);
	fixture_tmpdir("dag", dg_root);
	/* dg_unit allocates its paths here until the project is opened. */
	memset(&dg_proj, 0, sizeof(dg_proj));
	arena_init(&dg_proj.arena);
	dg_opened = false;
	dg_write("bulkhead.yaml", dg_project_yaml);
	dg_mkdirs("dev");
	dg_mkdirs("prod");
	dg_mkdirs("shared-services");
}

static void dg_teardown(void)
{
	if (dg_opened)
		project_close(&dg_proj);
	else
		arena_free(&dg_proj.arena);
	dg_opened = false;
	if (dg_root[0])
		fixture_rm_rf(dg_root);
	diag_clear();
}

TestSuite(dag, .init = dg_setup, .fini = dg_teardown);

/* Opens the project, merges every unit and resolves its dependencies
 * (all must succeed), then returns dag_build over every unit. */
static int dg_open_and_build(void)
{
	arena_free(&dg_proj.arena);
	int rc = project_open(&dg_proj, dg_root, &(struct source_spec){ 0 });
	dg_opened = true;
	if (rc == 0)
		for (size_t i = 0; i < dg_proj.nunits; i++) {
			struct unit *u = dg_proj.units[i];
			if (include_resolve_unit(&dg_proj, u) < 0 || include_resolve_vars(&dg_proj, u) < 0 ||
			    eval_dependencies(&dg_proj, u) < 0)
				rc = -1;
		}
	if (rc < 0) {
		char *out = diag_capture();
		cr_expect_fail("the project did not load:\n%s", out);
		free(out);
		cr_assert_fail();
	}
	return dag_build(&dg_proj, dg_proj.units, dg_proj.nunits);
}

static struct unit *dg_find(const char *env, const char *id)
{
	struct env *e = project_find_env(&dg_proj, env);
	cr_assert_not_null(e, "no env '%s'", env);
	struct unit *u = env_find_unit(e, id);
	cr_assert_not_null(u, "no unit '%s' in '%s'", id, env);
	return u;
}

static void dg_expect_level(const char *env, const char *id, int level)
{
	struct unit *u = dg_find(env, id);
	cr_expect_eq(u->level, level, "%s:%s is at level %d, want %d", env, id, u->level, level);
}

/* The build succeeded without diagnostics. */
static void dg_expect_ok(int rc)
{
	char *out = diag_capture();
	cr_expect_eq(rc, 0, "dag_build failed:\n%s", out);
	cr_expect_str_eq(out, "", "diagnostics:\n%s", out);
	free(out);
}

/* ---- levels ---- */

Test(dag, no_dependencies_is_level_zero)
{
	dg_unit("dev/a", NULL);
	dg_unit("dev/b", NULL);
	dg_expect_ok(dg_open_and_build());
	dg_expect_level("dev", "a", 0);
	dg_expect_level("dev", "b", 0);
}

Test(dag, chain_levels)
{
	dg_unit("dev/net/vpc", NULL);
	dg_unit("dev/data/db", "net/vpc", NULL);
	dg_unit("dev/app/api", "../../data/db", NULL);
	dg_unit("dev/app/web", "app/api", NULL);
	dg_expect_ok(dg_open_and_build());
	dg_expect_level("dev", "net/vpc", 0);
	dg_expect_level("dev", "data/db", 1);
	dg_expect_level("dev", "app/api", 2);
	dg_expect_level("dev", "app/web", 3);

	struct unit *api = dg_find("dev", "app/api");
	cr_assert_eq(api->ndeps, 1);
	cr_expect_eq(api->deps[0].target, dg_find("dev", "data/db"), "the target is resolved");
	cr_expect_str_eq(api->deps[0].name, "d0");
}

Test(dag, diamond_levels)
{
	dg_unit("dev/base", NULL);
	dg_unit("dev/left", "base", NULL);
	dg_unit("dev/right", "base", NULL);
	dg_unit("dev/top", "left", "right", NULL);
	dg_expect_ok(dg_open_and_build());
	dg_expect_level("dev", "base", 0);
	dg_expect_level("dev", "left", 1);
	dg_expect_level("dev", "right", 1);
	dg_expect_level("dev", "top", 2);
}

Test(dag, level_is_one_more_than_the_deepest_target)
{
	/* top depends on a level-0 and a level-2 unit: it is level 3. */
	dg_unit("dev/a", NULL);
	dg_unit("dev/b", "a", NULL);
	dg_unit("dev/c", "b", NULL);
	dg_unit("dev/top", "a", "c", NULL);
	dg_unit("dev/z", "top", "a", NULL);
	dg_expect_ok(dg_open_and_build());
	dg_expect_level("dev", "top", 3);
	dg_expect_level("dev", "z", 4);
}

Test(dag, envs_have_their_own_graphs)
{
	dg_unit("dev/a", NULL);
	dg_unit("dev/b", "a", NULL);
	dg_unit("prod/a", "b", NULL);
	dg_unit("prod/b", NULL);
	dg_expect_ok(dg_open_and_build());
	dg_expect_level("dev", "a", 0);
	dg_expect_level("dev", "b", 1);
	dg_expect_level("prod", "a", 1);
	dg_expect_level("prod", "b", 0);
	cr_expect_eq(dg_find("prod", "a")->deps[0].target, dg_find("prod", "b"));
}

Test(dag, shared_account_levels)
{
	dg_unit("shared-services/ecr", NULL);
	dg_unit("shared-services/mirror", "ecr", NULL);
	dg_unit("dev/app", "@shared-services/mirror", NULL);
	dg_unit("dev/web", "app", NULL);
	dg_unit("prod/app", "@shared-services/ecr", NULL);
	dg_expect_ok(dg_open_and_build());
	dg_expect_level("shared-services", "ecr", 0);
	dg_expect_level("shared-services", "mirror", 1);
	dg_expect_level("dev", "app", 2);
	dg_expect_level("dev", "web", 3);
	dg_expect_level("prod", "app", 1);
	struct unit *app = dg_find("dev", "app");
	cr_expect_str_eq(app->deps[0].target_env, "shared-services");
	cr_expect_eq(app->deps[0].target, dg_find("shared-services", "mirror"));

	/* Within one env (bulkhead order), edges to units outside the given
	 * set do not count. */
	struct env *dev = project_find_env(&dg_proj, "dev");
	dg_expect_ok(dag_build(&dg_proj, dev->units, dev->nunits));
	dg_expect_level("dev", "app", 0);
	dg_expect_level("dev", "web", 1);
}

/* ---- errors ---- */

Test(dag, three_cycle_names_every_edge)
{
	dg_unit("dev/p", "q", NULL);
	dg_unit("dev/q", "r", NULL);
	dg_unit("dev/r", "p", NULL);
	dg_unit("dev/free", NULL);
	int rc = dg_open_and_build();
	cr_expect_eq(rc, -1);
	size_t errors = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(errors, 1, "one cycle, one error:\n%s", out);
	cr_expect_eq(count_lines_with(out, ": error: "), 1, "%s", out);
	cr_expect_eq(count_lines_with(out, ": note: "), 2, "a note for each other edge:\n%s", out);
	char *l0 = nth_line(out, 0), *l3 = nth_line(out, 3), *l6 = nth_line(out, 6);
	cr_expect_str_eq(l0, "dev/p/unit.yaml:3:11: error: dependency cycle in 'dev': p -> q -> r -> p", "%s", out);
	cr_expect_str_eq(l3, "dev/q/unit.yaml:3:11: note: 'q' depends on 'r' here", "%s", out);
	cr_expect_str_eq(l6, "dev/r/unit.yaml:3:11: note: 'r' depends on 'p' here", "%s", out);
	free(l0);
	free(l3);
	free(l6);
	free(out);
}

/* Building fails with this many errors and notes; returns the output. */
static char *dg_expect_cycles(size_t nerrors, size_t nnotes)
{
	cr_expect_eq(dg_open_and_build(), -1);
	size_t errors = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(errors, nerrors, "%s", out);
	cr_expect_eq(count_lines_with(out, ": note: "), nnotes, "%s", out);
	return out;
}

Test(dag, cycle_reached_from_outside_is_reported_once)
{
	/* w depends on the cycle but is not part of it. */
	dg_unit("dev/w", "p", NULL);
	dg_unit("dev/p", "q", NULL);
	dg_unit("dev/q", "r", NULL);
	dg_unit("dev/r", "p", NULL);
	char *out = dg_expect_cycles(1, 2);
	cr_expect(strstr(out, "error: dependency cycle in 'dev': p -> q -> r -> p\n"), "%s", out);
	cr_expect_not(strstr(out, "'w'"), "w is not part of the cycle:\n%s", out);
	free(out);
}

Test(dag, two_cycles_two_errors)
{
	dg_unit("dev/a", "b", NULL);
	dg_unit("dev/b", "a", NULL);
	dg_unit("prod/c", "d", NULL);
	dg_unit("prod/d", "c", NULL);
	char *out = dg_expect_cycles(2, 2);
	cr_expect(strstr(out, "dev/a/unit.yaml:3:11: error: dependency cycle in 'dev': a -> b -> a\n"), "%s", out);
	cr_expect(strstr(out, "prod/c/unit.yaml:3:11: error: dependency cycle in 'prod': c -> d -> c\n"), "%s", out);
	free(out);
}

Test(dag, two_cycles_through_one_unit_two_errors)
{
	/* a -> b -> a and a -> c -> a: fixing one must not reveal the other
	 * only on the next run. */
	dg_unit("dev/a", "b", "c", NULL);
	dg_unit("dev/b", "a", NULL);
	dg_unit("dev/c", "a", NULL);
	char *out = dg_expect_cycles(2, 2);
	cr_expect(strstr(out, "dev/a/unit.yaml:3:11: error: dependency cycle in 'dev': a -> b -> a\n"), "%s", out);
	cr_expect(strstr(out, "dev/a/unit.yaml:5:11: error: dependency cycle in 'dev': a -> c -> a\n"), "%s", out);
	cr_expect(strstr(out, "dev/c/unit.yaml:3:11: note: 'c' depends on 'a' here\n"), "%s", out);
	free(out);
}

Test(dag, every_edge_on_a_cycle_is_named_once)
{
	/* Four edges, all on cycles.  The first, a -> b, is closed the
	 * shortest way (b -> a); b -> c is left, on b -> c -> a -> b. */
	dg_unit("dev/a", "b", NULL);
	dg_unit("dev/b", "c", "a", NULL);
	dg_unit("dev/c", "a", NULL);
	char *out = dg_expect_cycles(2, 3);
	cr_expect(strstr(out, "dev/a/unit.yaml:3:11: error: dependency cycle in 'dev': a -> b -> a\n"), "%s", out);
	cr_expect(strstr(out, "dev/b/unit.yaml:3:11: error: dependency cycle in 'dev': b -> c -> a -> b\n"), "%s", out);
	free(out);
}

Test(dag, long_ring_is_one_error)
{
	/* 400 units in one ring, each depending on the next. */
	enum { RING = 400 };
	for (int i = 0; i < RING; i++) {
		char dir[32], next[32];
		snprintf(dir, sizeof(dir), "dev/u%03d", i);
		snprintf(next, sizeof(next), "u%03d", (i + 1) % RING);
		dg_unit(dir, next, NULL);
	}
	char *out = dg_expect_cycles(1, RING - 1);
	cr_expect(strstr(out, "error: dependency cycle in 'dev': u000 -> u001 -> "), "%s", out);
	cr_expect(strstr(out, " -> u399 -> u000\n"), "%s", out);
	free(out);
}

Test(dag, cycles_past_the_edge_budget_are_counted)
{
	/* Two rings of 600: the first is shown whole, the second would take
	 * the notes past 1,000 and is counted instead. */
	enum { RING = 600 };
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < RING; i++) {
			char dir[32], next[32];
			snprintf(dir, sizeof(dir), "dev/r%d/u%03d", r, i);
			snprintf(next, sizeof(next), "r%d/u%03d", r, (i + 1) % RING);
			dg_unit(dir, next, NULL);
		}
	char *out = dg_expect_cycles(2, RING - 1);
	cr_expect(strstr(out, "error: dependency cycle in 'dev': r0/u000 -> r0/u001 -> "), "%s", out);
	cr_expect(strstr(out, "bulkhead: error: 600 more dependencies lie on cycles not shown: break the cycles above first\n"),
		  "%s", out);
	free(out);
}

Test(dag, missing_target)
{
	dg_unit("dev/a", NULL);
	dg_unit("dev/b", "a", "nope/there", NULL);
	cr_expect_eq(dg_open_and_build(), -1);
	size_t errors = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(errors, 1, "%s", out);
	char *l0 = nth_line(out, 0);
	cr_expect_str_eq(l0, "dev/b/unit.yaml:5:11: error: dependency 'd1': no unit 'nope/there' in environment 'dev'",
			 "%s", out);
	free(l0);
	free(out);
}

Test(dag, missing_shared_target)
{
	dg_unit("shared-services/ecr", NULL);
	dg_unit("dev/a", "@shared-services/ecs", NULL);
	cr_expect_eq(dg_open_and_build(), -1);
	char *out = diag_capture();
	cr_expect(strstr(out, "dev/a/unit.yaml:3:11: error: dependency 'd0': no unit 'ecs' in environment 'shared-services'\n"),
		  "%s", out);
	free(out);
}

Test(dag, target_only_in_another_env)
{
	/* prod/b exists, dev/b does not: a unit id names a unit of its own env. */
	dg_unit("dev/a", "b", NULL);
	dg_unit("prod/b", NULL);
	cr_expect_eq(dg_open_and_build(), -1);
	char *out = diag_capture();
	cr_expect(strstr(out, "error: dependency 'd0': no unit 'b' in environment 'dev'"), "%s", out);
	free(out);
}

Test(dag, self_dependency)
{
	dg_unit("dev/a", "./", NULL);
	dg_unit("dev/b", "b", NULL);
	cr_expect_eq(dg_open_and_build(), -1);
	size_t errors = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(errors, 2, "%s", out);
	cr_expect(strstr(out, "dev/a/unit.yaml:3:11: error: dependency 'd0': unit 'a' depends on itself\n"), "%s", out);
	cr_expect(strstr(out, "dev/b/unit.yaml:3:11: error: dependency 'd0': unit 'b' depends on itself\n"), "%s", out);
	free(out);
}
