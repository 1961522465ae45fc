/* test_template.c - compiler/template.c: built-in templates, rendering
 * for a unit, repo overrides and output.generate name checks. */
#include "fixture.h"
#include "helpers.h"

#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "include.h"
#include "template.h"

static char tpl_root[PATH_MAX];
static struct project tpl_proj;
static bool tpl_opened;
static struct arena tpl_arena;

static const char tpl_project_yaml[] =
	"version: 1\n"
	"project: demo\n"
	"environments:\n"
	"  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
	"  prod: { account_id: \"333333333333\", regions: [us-east-1, us-west-2] }\n";

static void tpl_mkdirs(const char *rel)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", tpl_root, rel);
	for (char *p = path + strlen(tpl_root) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
			*p = '/';
		}
	cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
}

/* Writes rel (below the root), creating its folders. */
static void tpl_write(const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", tpl_root, rel);
	const char *slash = strrchr(rel, '/');
	if (slash) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - rel), rel);
		tpl_mkdirs(dir);
	}
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
	size_t len = strlen(text);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void tpl_setup(void)
{
	diag_clear();
	diag_set_color(0);
	arena_init(&tpl_arena);
	tpl_opened = false;
	fixture_tmpdir("tpl", tpl_root);
	tpl_write("bulkhead.yaml", tpl_project_yaml);
	tpl_write("dev/app/api/unit.yaml", "inputs:\n  name: api\n");
	tpl_write("prod/us-east-1/app/api/unit.yaml", "inputs: {}\n");
	tpl_write("prod/us-west-2/app/api/unit.yaml", "inputs: {}\n");
}

static void tpl_teardown(void)
{
	if (tpl_opened)
		project_close(&tpl_proj);
	tpl_opened = false;
	arena_free(&tpl_arena);
	if (tpl_root[0])
		fixture_rm_rf(tpl_root);
	diag_clear();
}

TestSuite(template, .init = tpl_setup, .fini = tpl_teardown);

/* Opens the project and merges every unit; all must succeed. */
static void tpl_open(void)
{
	int rc = project_open(&tpl_proj, tpl_root, &(struct source_spec){ 0 });
	tpl_opened = true;
	for (size_t i = 0; rc == 0 && i < tpl_proj.nunits; i++)
		if (include_resolve_unit(&tpl_proj, tpl_proj.units[i]) < 0 ||
		    include_resolve_vars(&tpl_proj, tpl_proj.units[i]) < 0)
			rc = -1;
	if (rc < 0) {
		char *out = diag_capture();
		cr_expect_fail("the project did not load:\n%s", out);
		free(out);
		cr_assert_fail();
	}
}

static struct unit *tpl_unit(const char *env, const char *id)
{
	struct env *e = project_find_env(&tpl_proj, env);
	cr_assert_not_null(e, "no env '%s'", env);
	struct unit *u = env_find_unit(e, id);
	cr_assert_not_null(u, "no unit '%s' in '%s'", id, env);
	return u;
}

/* Renders template name for the unit and compares the whole text. */
static void tpl_expect_render(const char *env, const char *id, const char *name, const char *want)
{
	struct buf out = BUF_INIT;
	int rc = template_render(&tpl_proj, tpl_unit(env, id), name, &out);
	char *diags = diag_capture();
	cr_expect_eq(rc, 0, "rendering %s failed:\n%s", name, diags);
	cr_expect_str_eq(diags, "", "%s", diags);
	cr_expect_str_eq(buf_cstr(&out), want, "got:\n%s\nwant:\n%s", buf_cstr(&out), want);
	free(diags);
	buf_free(&out);
}

static const char tpl_dev_backend[] =
	"{\n"
	"  \"terraform\": {\n"
	"    \"backend\": {\n"
	"      \"s3\": {\n"
	"        \"bucket\": \"demo-tfstate-111111111111\",\n"
	"        \"encrypt\": true,\n"
	"        \"key\": \"dev/app/api/terraform.tfstate\",\n"
	"        \"region\": \"eu-west-1\",\n"
	"        \"use_lockfile\": true\n"
	"      }\n"
	"    }\n"
	"  }\n"
	"}\n";

/* ---- built-in templates ---- */

Test(template, builtin_backend_exists_and_parses)
{
	const struct embedded_file *f = template_builtin("backend.yaml");
	cr_assert_not_null(f);
	cr_expect_str_eq(f->path, "backend.yaml");
	cr_assert_gt(f->len, 0);
	cr_expect_eq(strlen(f->data), f->len, "text without NULs");
	struct srcfile src = mem_file_n("(built-in backend.yaml)", f->data, f->len);
	struct node *root = load_yaml(&tpl_arena, &src, NULL);
	cr_assert_not_null(root);
	cr_expect_eq(root->kind, NODE_MAP);
	const struct node *s3 = node_map_get(node_map_get(node_map_get(root, "terraform"), "backend"), "s3");
	cr_assert_not_null(s3, "terraform.backend.s3");
	cr_expect_not_null(node_map_get(s3, "bucket"));
	cr_expect_not_null(node_map_get(s3, "use_lockfile"));
}

Test(template, builtin_provider_exists_and_parses)
{
	const struct embedded_file *f = template_builtin("provider.yaml");
	cr_assert_not_null(f);
	struct srcfile src = mem_file_n("(built-in provider.yaml)", f->data, f->len);
	struct node *root = load_yaml(&tpl_arena, &src, NULL);
	cr_assert_not_null(root);
	cr_expect_not_null(node_map_get(node_map_get(root, "provider"), "aws"));
}

Test(template, builtin_lookup)
{
	cr_expect_null(template_builtin("nope.yaml"));
	cr_expect_null(template_builtin("backend"), "the name needs its .yaml");
	cr_expect_null(template_builtin(""));
	cr_expect_not_null(template_builtin("init/bulkhead.yaml"), "the init scaffold is built in too");
	/* Every built-in YAML file loads. */
	size_t n = 0;
	for (const struct embedded_file *f = embedded_templates; f->path; f++, n++) {
		size_t len = strlen(f->path);
		if (len < 5 || strcmp(f->path + len - 5, ".yaml"))
			continue;
		struct srcfile src = mem_file_n(f->path, f->data, f->len);
		cr_expect_not_null(load_yaml(&tpl_arena, &src, NULL), "%s does not load", f->path);
	}
	cr_expect_geq(n, 2);
}

/* ---- rendering ---- */

Test(template, render_builtin_backend)
{
	tpl_open();
	tpl_expect_render("dev", "app/api", "backend", tpl_dev_backend);
}

Test(template, render_builtin_provider_default_role)
{
	tpl_open();
	tpl_expect_render("dev", "app/api", "provider",
			  "{\n"
			  "  \"provider\": {\n"
			  "    \"aws\": {\n"
			  "      \"assume_role\": {\n"
			  "        \"role_arn\": \"arn:aws:iam::111111111111:role/terraform\"\n"
			  "      },\n"
			  "      \"default_tags\": {\n"
			  "        \"tags\": {\n"
			  "          \"Environment\": \"dev\",\n"
			  "          \"Project\": \"demo\",\n"
			  "          \"Unit\": \"app/api\"\n"
			  "        }\n"
			  "      },\n"
			  "      \"region\": \"eu-west-1\"\n"
			  "    }\n"
			  "  }\n"
			  "}\n");
}

Test(template, render_for_a_region_of_a_multi_region_env)
{
	tpl_open();
	tpl_expect_render("prod/us-west-2", "app/api", "backend",
			  "{\n"
			  "  \"terraform\": {\n"
			  "    \"backend\": {\n"
			  "      \"s3\": {\n"
			  "        \"bucket\": \"demo-tfstate-333333333333\",\n"
			  "        \"encrypt\": true,\n"
			  "        \"key\": \"prod/us-west-2/app/api/terraform.tfstate\",\n"
			  "        \"region\": \"us-west-2\",\n"
			  "        \"use_lockfile\": true\n"
			  "      }\n"
			  "    }\n"
			  "  }\n"
			  "}\n");
	struct buf out = BUF_INIT;
	cr_assert_eq(template_render(&tpl_proj, tpl_unit("prod/us-east-1", "app/api"), "provider", &out), 0);
	cr_expect(strstr(out.data, "\"Environment\": \"prod\",\n"), "the tag is the env name:\n%s", out.data);
	cr_expect(strstr(out.data, "\"region\": \"us-east-1\"\n"), "%s", out.data);
	cr_expect(strstr(out.data, "role/terraform\"\n"), "%s", out.data);
	buf_free(&out);
}

Test(template, render_with_a_configured_role)
{
	tpl_write("bulkhead.yaml", "version: 1\nproject: demo\nrole: deployer\nenvironments:\n"
				   "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
				   "  prod: { account_id: \"333333333333\", regions: [us-east-1, us-west-2] }\n");
	tpl_open();
	struct buf out = BUF_INIT;
	cr_assert_eq(template_render(&tpl_proj, tpl_unit("dev", "app/api"), "provider", &out), 0);
	cr_expect(strstr(out.data, "\"role_arn\": \"arn:aws:iam::111111111111:role/deployer\"\n"), "%s", out.data);
	buf_free(&out);
}

Test(template, render_replaces_the_buffer)
{
	tpl_open();
	struct buf out = BUF_INIT;
	buf_puts(&out, "stale text");
	cr_assert_eq(template_render(&tpl_proj, tpl_unit("dev", "app/api"), "backend", &out), 0);
	cr_expect_str_eq(out.data, tpl_dev_backend);
	/* Rendering twice gives the same bytes (the built-in is cached). */
	cr_assert_eq(template_render(&tpl_proj, tpl_unit("dev", "app/api"), "backend", &out), 0);
	cr_expect_str_eq(out.data, tpl_dev_backend);
	buf_free(&out);
}

Test(template, repo_template_overrides_the_builtin)
{
	tpl_write("templates/backend.yaml",
		  "terraform:\n"
		  "  backend:\n"
		  "    local:\n"
		  "      path: \"/state/${env.label}/${unit.path}.tfstate\"\n");
	tpl_open();
	tpl_expect_render("dev", "app/api", "backend",
			  "{\n"
			  "  \"terraform\": {\n"
			  "    \"backend\": {\n"
			  "      \"local\": {\n"
			  "        \"path\": \"/state/dev/app/api.tfstate\"\n"
			  "      }\n"
			  "    }\n"
			  "  }\n"
			  "}\n");
	/* The other built-in stays. */
	struct buf out = BUF_INIT;
	cr_assert_eq(template_render(&tpl_proj, tpl_unit("dev", "app/api"), "provider", &out), 0);
	cr_expect(strstr(out.data, "\"provider\": {"), "%s", out.data);
	buf_free(&out);
}

Test(template, repo_only_template)
{
	tpl_write("templates/versions.yaml",
		  "terraform:\n  required_version: \">= 1.6\"\n  unit: ${unit.name}\n  n: ${1 + 1}\n");
	tpl_open();
	tpl_expect_render("dev", "app/api", "versions",
			  "{\n"
			  "  \"terraform\": {\n"
			  "    \"n\": 2,\n"
			  "    \"required_version\": \">= 1.6\",\n"
			  "    \"unit\": \"api\"\n"
			  "  }\n"
			  "}\n");
}

Test(template, render_errors)
{
	tpl_write("templates/broken.yaml", "terraform:\n  x: ${nope.y}\n");
	tpl_open();
	struct buf out = BUF_INIT;
	cr_expect_eq(template_render(&tpl_proj, tpl_unit("dev", "app/api"), "missing", &out), -1,
		     "no such template");
	cr_expect_eq(template_render(&tpl_proj, tpl_unit("dev", "app/api"), "broken", &out), -1);
	char *diags = diag_capture();
	cr_expect(strstr(diags, "templates/broken.yaml:2:"), "the error points into the template:\n%s", diags);
	cr_expect(strstr(diags, "unknown reference 'nope'"), "%s", diags);
	free(diags);
	buf_free(&out);
}

/* ---- template_check_names ---- */

/* output.generate written as a flow list, checked. */
static int tpl_check(const char *list, char **out)
{
	char *text = arena_printf(&tpl_arena, "%soutput:\n  generate: %s\n", tpl_project_yaml, list);
	tpl_write("bulkhead.yaml", text);
	tpl_open();
	cr_assert_not_null(tpl_proj.generate);
	int rc = template_check_names(&tpl_proj, tpl_proj.generate);
	*out = diag_capture();
	return rc;
}

Test(template, check_builtin_names)
{
	char *out;
	cr_expect_eq(tpl_check("[backend, provider]", &out), 0);
	cr_expect_str_eq(out, "", "%s", out);
	free(out);
}

Test(template, check_unknown_name)
{
	char *out;
	cr_expect_eq(tpl_check("[backend, vesrions]", &out), -1);
	cr_expect_eq(count_lines_with(out, ": error: "), 1, "%s", out);
	char *l0 = nth_line(out, 0);
	cr_expect_str_eq(l0, "bulkhead.yaml:7:23: error: no template 'vesrions': add templates/vesrions.yaml (built-in: backend, provider)",
			 "%s", out);
	free(l0);
	free(out);
}

Test(template, check_repo_name)
{
	tpl_write("templates/versions.yaml", "terraform: {}\n");
	char *out;
	cr_expect_eq(tpl_check("[backend, versions]", &out), 0);
	cr_expect_str_eq(out, "", "%s", out);
	free(out);
}

Test(template, check_bad_names)
{
	char *out;
	cr_expect_eq(tpl_check("[Backend, ../x, 1st, '']", &out), -1);
	cr_expect_eq(count_lines_with(out, ": error: template name '"), 4, "%s", out);
	cr_expect(strstr(out, "bulkhead.yaml:7:14: error: template name 'Backend' must match [a-z][a-z0-9_-]*\n"),
		  "%s", out);
	cr_expect(strstr(out, "error: template name '../x' must match"), "%s", out);
	free(out);
}

Test(template, check_repo_template_must_be_a_map)
{
	tpl_write("templates/listy.yaml", "- a\n- b\n");
	char *out;
	cr_expect_eq(tpl_check("[listy]", &out), -1);
	cr_expect(strstr(out, "templates/listy.yaml:1:1: error: template 'listy' must be a map\n"), "%s", out);
	free(out);
}

Test(template, check_repo_template_that_does_not_load)
{
	tpl_write("templates/bad.yaml", "a: [1\n");
	char *out;
	cr_expect_eq(tpl_check("[bad]", &out), -1);
	cr_expect(strstr(out, "templates/bad.yaml:"), "%s", out);
	free(out);
}
