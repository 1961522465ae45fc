/* test_explain.c - compiler/explain.c: show --explain prints every input
 * leaf with where it is defined, what it overrode (with file:line) and
 * the include chain that brought each file in. */
#include "helpers.h"
#include "fixture.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dag.h"
#include "eval.h"
#include "explain.h"
#include "include.h"

static char ex_root[PATH_MAX];
static struct project ex_proj;
static bool ex_opened;

static void ex_write(const char *rel, const char *text)
{
	fixture_write(ex_root, rel, text);
}

static void ex_setup(void)
{
	diag_clear();
	diag_set_color(0);
	fixture_tmpdir("ex", ex_root);
	ex_opened = false;
	ex_write("bulkhead.yaml",
		 "version: 1\n"
		 "project: demo\n"
		 "environments:\n"
		 "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	ex_write("_common/base.yaml",
		 "inputs:\n"
		 "  size: tiny\n"
		 "  color: blue\n");
	ex_write("_common/app.yaml",
		 "include: [base.yaml]\n"
		 "inputs:\n"
		 "  size: small\n"
		 "  region: ${env.region}\n");
}

static void ex_teardown(void)
{
	diag_clear();
	if (ex_opened)
		project_close(&ex_proj);
	ex_opened = false;
	if (ex_root[0])
		fixture_rm_rf(ex_root);
}

TestSuite(explain, .init = ex_setup, .fini = ex_teardown);

/* Compiles the project as compile_run does, keeping provenance as show
 * --explain asks, and gives dev:id. */
static struct unit *ex_compile(const char *id, bool provenance)
{
	int rc = project_open(&ex_proj, ex_root, &(struct source_spec){ .provenance = provenance });
	ex_opened = true;
	for (size_t i = 0; rc == 0 && i < ex_proj.nunits; i++) {
		struct unit *u = ex_proj.units[i];
		if (include_resolve_unit(&ex_proj, u) < 0 || include_resolve_vars(&ex_proj, u) < 0 ||
		    eval_dependencies(&ex_proj, u) < 0)
			rc = -1;
	}
	if (rc == 0)
		rc = dag_build(&ex_proj, ex_proj.units, ex_proj.nunits);
	for (size_t i = 0; rc == 0 && i < ex_proj.nunits; i++)
		if (eval_unit(&ex_proj, ex_proj.units[i]) < 0)
			rc = -1;
	expect_done(rc, "the project");
	struct unit *u = env_find_unit(project_find_env(&ex_proj, "dev"), id);
	cr_assert_not_null(u, "no unit '%s'", id);
	return u;
}

/* show --explain of dev:id. */
static char *ex_explain(const char *id)
{
	struct unit *u = ex_compile(id, true);
	struct buf b = BUF_INIT;
	explain_unit(&ex_proj, u, &b);
	return buf_detach(&b, NULL);
}

/* The lines of out from the one starting with head up to the next line
 * that does not start with a space. */
static char *ex_entry(const char *out, const char *head)
{
	size_t hl = strlen(head);
	const char *p = out;
	while (*p && !(strncmp(p, head, hl) == 0 && (p == out || p[-1] == '\n')))
		p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');
	cr_assert(*p, "no entry '%s' in:\n%s", head, out);
	const char *end = p + strcspn(p, "\n");
	while (*end == '\n' && end[1] == ' ')
		end += 1 + strcspn(end + 1, "\n");
	size_t len = (size_t)(end - p) + (*end == '\n');
	char *s = malloc(len + 1);
	cr_assert_not_null(s);
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static void ex_expect_entry(const char *out, const char *head, const char *want)
{
	char *got = ex_entry(out, head);
	cr_expect_str_eq(got, want, "in:\n%s", out);
	free(got);
}

Test(explain, override_shows_winner_and_overridden)
{
	ex_write("dev/app/unit.yaml",
		 "include:\n"
		 "  - //_common/base.yaml\n"
		 "inputs:\n"
		 "  size: large\n");
	char *out = ex_explain("app");
	ex_expect_entry(out, "inputs.size = ",
			"inputs.size = \"large\"\n"
			"  dev/app/unit.yaml:4:9: defined here\n"
			"  _common/base.yaml:2:9: overrides \"tiny\" (via dev/app/unit.yaml -> _common/base.yaml)\n");
	ex_expect_entry(out, "inputs.color = ",
			"inputs.color = \"blue\"\n"
			"  _common/base.yaml:3:10: defined here (via dev/app/unit.yaml -> _common/base.yaml)\n");
	free(out);
}

Test(explain, overrides_through_nested_includes)
{
	ex_write("dev/app/api/unit.yaml",
		 "source: ./mod\n"
		 "include:\n"
		 "  - //_common/app.yaml\n"
		 "inputs:\n"
		 "  size: large\n");
	fixture_mkdirs(ex_root, "dev/app/api/mod");
	char *out = ex_explain("app/api");
	char *first = nth_line(out, 0);
	cr_expect_str_eq(first, "app/api in dev (account 111111111111, eu-west-1)");
	free(first);
	cr_expect(strstr(out, "\nsource = //dev/app/api/mod\n"), "%s", out);
	/* The unit's value wins over app.yaml's, which won over base.yaml's. */
	ex_expect_entry(out, "inputs.size = ",
			"inputs.size = \"large\"\n"
			"  dev/app/api/unit.yaml:5:9: defined here\n"
			"  _common/app.yaml:3:9: overrides \"small\" (via dev/app/api/unit.yaml -> _common/app.yaml)\n"
			"  _common/base.yaml:2:9: overrides \"tiny\" (via dev/app/api/unit.yaml -> _common/app.yaml -> _common/base.yaml)\n");
	ex_expect_entry(out, "inputs.region = ",
			"inputs.region = \"eu-west-1\"\n"
			"  _common/app.yaml:4:11: defined here as ${env.region} (via dev/app/api/unit.yaml -> _common/app.yaml)\n");
	free(out);
}

Test(explain, override_inside_includes_only)
{
	/* No override in the unit itself: the include's own override shows. */
	ex_write("dev/app/unit.yaml", "include: [//_common/app.yaml]\n");
	char *out = ex_explain("app");
	ex_expect_entry(out, "inputs.size = ",
			"inputs.size = \"small\"\n"
			"  _common/app.yaml:3:9: defined here (via dev/app/unit.yaml -> _common/app.yaml)\n"
			"  _common/base.yaml:2:9: overrides \"tiny\" (via dev/app/unit.yaml -> _common/app.yaml -> _common/base.yaml)\n");
	free(out);
}

Test(explain, replaced_map_shows_what_it_replaced)
{
	/* A !replace'd map overrode the inherited map whole: its own leaves
	 * override nothing, so the map's entry says what went. */
	ex_write("_common/tags.yaml", "inputs:\n  tags: { team: core, cost: \"42\" }\n");
	ex_write("dev/app/unit.yaml",
		 "include: [//_common/tags.yaml]\n"
		 "inputs:\n"
		 "  tags: !replace { owner: me }\n");
	char *out = ex_explain("app");
	ex_expect_entry(out, "inputs.tags replaced",
			"inputs.tags replaced\n"
			"  dev/app/unit.yaml:3:9: replaces the map it inherited\n"
			"  _common/tags.yaml:2:9: overrides {\"cost\":\"42\",\"team\":\"core\"} (via dev/app/unit.yaml -> _common/tags.yaml)\n");
	ex_expect_entry(out, "inputs.tags.owner = ",
			"inputs.tags.owner = \"me\"\n  dev/app/unit.yaml:3:27: defined here\n");
	cr_expect_not(strstr(out, "inputs.tags.team"), "%s", out);
	free(out);
}

Test(explain, nested_keys_secrets_and_quoting)
{
	ex_write("dev/app/unit.yaml",
		 "inputs:\n"
		 "  tags:\n"
		 "    team: core\n"
		 "    \"k8s.io/role\": web\n"
		 "  db_password: hunter2\n"
		 "  empty: {}\n"
		 "  list: [1, 2]\n");
	char *out = ex_explain("app");
	ex_expect_entry(out, "inputs.tags.team = ",
			"inputs.tags.team = \"core\"\n  dev/app/unit.yaml:3:11: defined here\n");
	ex_expect_entry(out, "inputs.tags.\"k8s.io/role\" = ",
			"inputs.tags.\"k8s.io/role\" = \"web\"\n  dev/app/unit.yaml:4:20: defined here\n");
	ex_expect_entry(out, "inputs.db_password = ",
			"inputs.db_password = (sensitive)\n  dev/app/unit.yaml:5:16: defined here\n");
	ex_expect_entry(out, "inputs.empty = ", "inputs.empty = {}\n  dev/app/unit.yaml:6:10: defined here\n");
	ex_expect_entry(out, "inputs.list = ", "inputs.list = [1,2]\n  dev/app/unit.yaml:7:9: defined here\n");
	cr_expect_not(strstr(out, "hunter2"), "%s", out);
	free(out);
}

Test(explain, overridden_secrets_stay_hidden)
{
	ex_write("_common/db.yaml", "inputs:\n  db_password: old-secret\n");
	ex_write("dev/app/unit.yaml", "include: [//_common/db.yaml]\ninputs:\n  db_password: new-secret\n");
	char *out = ex_explain("app");
	ex_expect_entry(out, "inputs.db_password = ",
			"inputs.db_password = (sensitive)\n"
			"  dev/app/unit.yaml:3:16: defined here\n"
			"  _common/db.yaml:2:16: overrides (sensitive) (via dev/app/unit.yaml -> _common/db.yaml)\n");
	cr_expect_not(strstr(out, "secret\""), "%s", out);
	free(out);
}

/* Other commands compile without provenance: no override records and no
 * include chains, per unit or per shared merge of includes. */
Test(explain, provenance_is_kept_only_when_asked)
{
	ex_write("dev/app/unit.yaml",
		 "include:\n"
		 "  - //_common/app.yaml\n"
		 "inputs:\n"
		 "  size: large\n");
	struct unit *u = ex_compile("app", false);
	cr_expect_eq(u->overrides.len, 0, "overrides kept without provenance: %zu", u->overrides.len);
	cr_expect_eq(u->base_overrides->len, 0, "base overrides kept without provenance: %zu",
		     u->base_overrides->len);
	cr_expect_eq(u->chains.len, 0, "include chains kept without provenance: %zu", u->chains.len);
	const struct value *size = value_map_get(u->inputs, "size");
	cr_assert_not_null(size, "the merge still happens");
	cr_expect_str_eq(size->str.s, "large");
	project_close(&ex_proj);
	ex_opened = false;
	diag_clear();
	u = ex_compile("app", true);
	cr_expect_eq(u->overrides.len, 1, "the unit's size overrides app.yaml's: %zu", u->overrides.len);
	cr_expect_eq(u->base_overrides->len, 1, "app.yaml's size overrides base.yaml's: %zu",
		     u->base_overrides->len);
	cr_expect_eq(u->chains.len, 3, "a chain per file: %zu", u->chains.len);
}
