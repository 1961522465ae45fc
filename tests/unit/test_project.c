/* test_project.c - compiler/project.c: finding the root, bulkhead.yaml
 * (environments, regions, shared accounts, settings) and unit discovery.
 *
 * Each test writes a small repo into a temp dir and opens it. */
#include "helpers.h"
#include "fixture.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "glob.h"
#include "project.h"

static char pj_root[PATH_MAX];
static struct project pj_proj;
static bool pj_opened;

static const char pj_header[] = "version: 1\nproject: demo\n";

static void pj_mkdirs(const char *rel)
{
	fixture_mkdirs(pj_root, rel);
}

/* Writes rel (root-relative), creating its folders. */
static void pj_write(const char *rel, const char *text)
{
	fixture_write(pj_root, rel, text);
}

/* bulkhead.yaml: the header, then body. */
static void pj_project(const char *body)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, pj_header);
	buf_puts(&b, body);
	pj_write("bulkhead.yaml", b.data);
	buf_free(&b);
}

static void pj_setup(void)
{
	diag_clear();
	diag_set_color(0);
	fixture_tmpdir("pj", pj_root);
	pj_opened = false;
}

static void pj_teardown(void)
{
	diag_clear();
	if (pj_opened)
		project_close(&pj_proj);
	pj_opened = false;
	if (pj_root[0])
		fixture_rm_rf(pj_root);
}

TestSuite(project, .init = pj_setup, .fini = pj_teardown);

static int pj_open(void)
{
	int rc = project_open(&pj_proj, pj_root, &(struct source_spec){ 0 });
	pj_opened = true;
	return rc;
}

/* Opening succeeds without any diagnostic. */
static void pj_open_ok(void)
{
	int rc = pj_open();
	expect_silent(rc, "project_open");
}

/* Opening fails with exactly nerrors errors; returns the output. */
static char *pj_open_fails(size_t nerrors)
{
	int rc = pj_open();
	size_t count = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(rc, -1, "project_open should fail:\n%s", out);
	cr_expect_eq(count, nerrors, "%zu errors, want %zu:\n%s", count, nerrors, out);
	return out;
}

/* Opening fails with one error whose first line is want. */
static void pj_expect_error(const char *want)
{
	char *out = pj_open_fails(1);
	char *first = nth_line(out, 0);
	cr_expect_str_eq(first, want, "output:\n%s", out);
	free(first);
	free(out);
}

/* Discovery reports one error, whose first line is want, and keeps the
 * nunits units it found sound: the run goes on to compile them. */
static void pj_expect_discovery_error(const char *want, size_t nunits)
{
	int rc = pj_open();
	size_t count = diag_error_count();
	char *out = diag_capture();
	char *first = nth_line(out, 0);
	cr_expect_eq(rc, 0, "project_open should go on past discovery:\n%s", out);
	cr_expect(pj_proj.discovery_failed, "discovery should fail:\n%s", out);
	cr_expect_eq(count, 1, "%zu errors, want 1:\n%s", count, out);
	cr_expect_str_eq(first, want, "output:\n%s", out);
	cr_expect_eq(pj_proj.nunits, nunits, "%zu units kept, want %zu", pj_proj.nunits, nunits);
	free(first);
	free(out);
}

static struct env *pj_env(const char *label)
{
	struct env *e = project_find_env(&pj_proj, label);
	cr_assert_not_null(e, "no env '%s'", label);
	return e;
}

/* ---- project_find_root ---- */

Test(project, find_root_walks_up)
{
	pj_project("environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev/app/api/deep");
	char start[PATH_MAX * 2];
	snprintf(start, sizeof(start), "%s/dev/app/api/deep", pj_root);
	struct buf root = BUF_INIT;
	cr_expect_eq(project_find_root(start, &root), 0);
	cr_expect_str_eq(buf_cstr(&root), pj_root);
	cr_expect_eq(project_find_root(pj_root, &root), 0, "the root itself");
	cr_expect_str_eq(buf_cstr(&root), pj_root);
	buf_free(&root);
}

Test(project, find_root_takes_the_nearest_and_skips_directories)
{
	pj_project("environments: {}\n");
	pj_write("inner/bulkhead.yaml", "version: 1\n");
	pj_mkdirs("inner/a/bulkhead.yaml");	/* a directory of that name is no root */
	pj_mkdirs("inner/a/b");
	char start[PATH_MAX * 2], want[PATH_MAX * 2];
	snprintf(start, sizeof(start), "%s/inner/a/b", pj_root);
	snprintf(want, sizeof(want), "%s/inner", pj_root);
	struct buf root = BUF_INIT;
	cr_expect_eq(project_find_root(start, &root), 0);
	cr_expect_str_eq(buf_cstr(&root), want);
	buf_free(&root);
}

Test(project, find_root_relative_start)
{
	pj_project("environments: {}\n");
	pj_mkdirs("x/y");
	char here[PATH_MAX], start[PATH_MAX * 2];
	cr_assert_not_null(getcwd(here, sizeof(here)));
	snprintf(start, sizeof(start), "%s/x", pj_root);
	cr_assert_eq(chdir(start), 0);
	struct buf root = BUF_INIT;
	int rc = project_find_root("y", &root);
	cr_assert_eq(chdir(here), 0);
	cr_expect_eq(rc, 0);
	cr_expect_str_eq(buf_cstr(&root), pj_root);
	buf_free(&root);
}

Test(project, find_root_fails_without_a_project_file)
{
	struct stat st;
	if (stat("/tmp/bulkhead.yaml", &st) == 0 || stat("/bulkhead.yaml", &st) == 0)
		cr_skip_test("a bulkhead.yaml above the temp dir");
	pj_mkdirs("a/b");
	char start[PATH_MAX * 2];
	snprintf(start, sizeof(start), "%s/a/b", pj_root);
	struct buf root = BUF_INIT;
	cr_expect_eq(project_find_root(start, &root), -1);
	snprintf(start, sizeof(start), "%s/no/such/dir", pj_root);
	cr_expect_eq(project_find_root(start, &root), -1, "a missing start directory");
	buf_free(&root);
}

/* ---- environments ---- */

Test(project, defaults_and_promotion_order)
{
	pj_project("environments:\n"
		   "  dev:   { account_id: \"111111111111\", region: eu-west-1 }\n"
		   "  stage: { account_id: \"222222222222\", region: eu-central-1 }\n"
		   "  prod:  { account_id: \"333333333333\", region: us-gov-east-1, protected: true }\n");
	pj_mkdirs("dev");
	pj_mkdirs("stage");
	pj_mkdirs("prod");
	pj_open_ok();
	cr_expect_str_eq(pj_proj.name, "demo");
	cr_assert_eq(pj_proj.nenvs, 3);
	const char *names[] = { "dev", "stage", "prod" };
	const char *accounts[] = { "111111111111", "222222222222", "333333333333" };
	const char *regions[] = { "eu-west-1", "eu-central-1", "us-gov-east-1" };
	for (int i = 0; i < 3; i++) {
		struct env *e = pj_proj.envs[i];
		cr_expect_str_eq(e->name, names[i]);
		cr_expect_str_eq(e->label, names[i]);
		cr_expect_str_eq(e->dir, names[i]);
		cr_expect_str_eq(e->account_id, accounts[i]);
		cr_expect_str_eq(e->region, regions[i]);
		cr_expect_eq(e->order, i);
		cr_expect_not(e->is_shared);
		cr_expect_eq(e->is_protected, i == 2);
		cr_expect_eq(e->nunits, 0);
	}
	cr_expect_str_eq(pj_proj.output_dir, "out");
	cr_expect_str_eq(pj_proj.output_path, "{env}/{account_id}/{region}/{unit}");
	cr_expect_str_eq(pj_proj.outputs_dir, ".bulkhead/outputs");
	cr_expect_str_eq(pj_proj.role, "terraform");
	cr_expect(pj_proj.unique_accounts);
	cr_expect_eq(pj_proj.limits.depth, limits_default.depth);
	cr_expect_null(project_find_env(&pj_proj, "qa"));
}

Test(project, regions_become_one_env_each)
{
	pj_project("environments:\n"
		   "  dev:  { account_id: \"111111111111\", region: eu-west-1 }\n"
		   "  prod: { account_id: \"333333333333\", regions: [us-east-1, us-west-2], protected: true }\n"
		   "shared:\n"
		   "  shared-services: { account_id: \"444444444444\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_mkdirs("prod/us-east-1");
	pj_mkdirs("prod/us-west-2");
	pj_mkdirs("shared-services");
	pj_write("prod/us-west-2/app/api/unit.yaml", "inputs: {}\n");
	pj_write("prod/us-east-1/app/api/unit.yaml", "inputs: {}\n");
	pj_open_ok();
	cr_assert_eq(pj_proj.nenvs, 4);
	struct env *east = pj_proj.envs[1], *west = pj_proj.envs[2];
	cr_expect_str_eq(east->label, "prod/us-east-1");
	cr_expect_str_eq(west->label, "prod/us-west-2");
	cr_expect_str_eq(east->name, "prod");
	cr_expect_str_eq(west->name, "prod");
	cr_expect_str_eq(east->dir, "prod/us-east-1");
	cr_expect_str_eq(west->dir, "prod/us-west-2");
	cr_expect_str_eq(east->region, "us-east-1");
	cr_expect_str_eq(west->region, "us-west-2");
	cr_expect_eq(east->order, 1);
	cr_expect_eq(west->order, 1, "regions share their env's promotion index");
	cr_expect(east->is_protected && west->is_protected);
	cr_expect_eq(east->decl, west->decl);
	cr_expect_eq(pj_env("prod/us-west-2"), west);
	cr_expect_null(project_find_env(&pj_proj, "prod"), "a multi-region env is found by its labels");
	struct env *shared = pj_proj.envs[3];
	cr_expect_str_eq(shared->label, "shared-services");
	cr_expect(shared->is_shared);
	cr_expect_eq(shared->order, -1);
	/* The unit id is the path below the region folder. */
	cr_assert_eq(west->nunits, 1);
	cr_expect_str_eq(west->units[0]->id, "app/api");
	cr_expect_str_eq(west->units[0]->dir, "prod/us-west-2/app/api");
	cr_expect_str_eq(west->units[0]->file, "prod/us-west-2/app/api/unit.yaml");
	cr_expect_eq(west->units[0]->env, west);
}

Test(project, env_path_and_extra_keys)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1, path: live/dev, tier: small, vpc_cidr: 10.0.0.0/16 }\n");
	pj_mkdirs("live/dev");
	pj_write("live/dev/app/unit.yaml", "inputs: {}\n");
	pj_open_ok();
	struct env *e = pj_env("dev");
	cr_expect_str_eq(e->dir, "live/dev");
	cr_expect_str_eq(node_map_get(e->decl, "tier")->str.s, "small", "extra keys are kept");
	cr_assert_eq(e->nunits, 1);
	cr_expect_str_eq(e->units[0]->id, "app");
	cr_expect_str_eq(e->units[0]->dir, "live/dev/app");
}

Test(project, near_miss_env_key_is_an_error)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1, protectd: true }\n");
	pj_mkdirs("dev");
	pj_expect_error("bulkhead.yaml:4:57: error: unknown key 'protectd' in environment; did you mean 'protected'?");
}

Test(project, reserved_env_key)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1, name: x }\n");
	pj_mkdirs("dev");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "key 'name' in an environment is reserved"), "%s", out);
	free(out);
}

Test(project, shared_accounts)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		   "shared:\n"
		   "  shared-services: { account_id: \"444444444444\", region: eu-west-1 }\n"
		   "  logs: { account_id: \"555555555555\", region: us-east-1 }\n");
	pj_mkdirs("dev");
	pj_mkdirs("shared-services/ecr");
	pj_mkdirs("logs");
	pj_write("shared-services/ecr/unit.yaml", "inputs: {}\n");
	pj_open_ok();
	cr_assert_eq(pj_proj.nenvs, 3);
	struct env *ss = pj_env("shared-services"), *logs = pj_env("logs");
	cr_expect(ss->is_shared && logs->is_shared);
	cr_expect_eq(ss->order, -1);
	cr_expect_str_eq(logs->account_id, "555555555555");
	cr_expect_eq(pj_proj.envs[0], pj_env("dev"), "promotion envs come first");
	cr_assert_eq(ss->nunits, 1);
	cr_expect_str_eq(ss->units[0]->id, "ecr");
}

Test(project, env_and_shared_name_clash)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		   "shared:\n"
		   "  dev: { account_id: \"444444444444\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "bulkhead.yaml:6:3: error: 'dev' is both an environment and a shared account"), "%s", out);
	cr_expect(strstr(out, "bulkhead.yaml:4:3: note: first defined here"), "%s", out);
	free(out);
}

/* ---- environment errors ---- */

Test(project, account_id_unquoted)
{
	pj_project("environments:\n"
		   "  dev: { account_id: 111111111111, region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_expect_error("bulkhead.yaml:4:22: error: account_id must be a quoted 12-digit string, e.g. \"111111111111\"");
}

Test(project, account_id_with_leading_zero_unquoted)
{
	/* A YAML int would drop the zero: it must be quoted. */
	pj_project("environments:\n"
		   "  dev: { account_id: 012345678901, region: eu-west-1 }\n");
	pj_mkdirs("dev");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "bulkhead.yaml:4:"), "%s", out);
	free(out);
}

Test(project, account_id_eleven_digits)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"11111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_expect_error("bulkhead.yaml:4:22: error: account_id '11111111111' is not 12 digits");
}

Test(project, account_id_not_digits)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"11111111111x\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_expect_error("bulkhead.yaml:4:22: error: account_id '11111111111x' is not 12 digits");
}

Test(project, account_id_missing)
{
	pj_project("environments:\n"
		   "  dev: { region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_expect_error("bulkhead.yaml:4:3: error: environment 'dev' has no account_id");
}

Test(project, bad_regions)
{
	const char *bad[] = { "eu-west", "eu-west-0", "EU-west-1", "euwest1", "eu-west-1a", "-west-1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char body[256], want[256];
		snprintf(body, sizeof(body),
			 "environments:\n  dev: { account_id: \"111111111111\", region: \"%s\" }\n", bad[i]);
		pj_project(body);
		pj_mkdirs("dev");
		snprintf(want, sizeof(want),
			 "bulkhead.yaml:4:46: error: region '%s' does not look like an AWS region (e.g. eu-west-1)", bad[i]);
		pj_expect_error(want);
		project_close(&pj_proj);
		pj_opened = false;
	}
}

Test(project, region_and_regions_conflict)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1, regions: [eu-west-1] }\n");
	pj_mkdirs("dev");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "give either region or regions, not both"), "%s", out);
	free(out);
}

Test(project, bad_region_in_list)
{
	pj_project("environments:\n"
		   "  prod: { account_id: \"333333333333\", regions: [us-east-1, mars-1] }\n");
	pj_expect_error("bulkhead.yaml:4:60: error: region 'mars-1' does not look like an AWS region (e.g. eu-west-1)");
}

Test(project, empty_regions)
{
	pj_project("environments:\n"
		   "  prod: { account_id: \"333333333333\", regions: [] }\n");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "regions must list at least one region"), "%s", out);
	free(out);
}

Test(project, bad_env_names)
{
	const char *bad[] = { "Dev", "1dev", "dev_1", "a123456789012345678901234567890123" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char body[256], want[256];
		snprintf(body, sizeof(body),
			 "environments:\n  %s: { account_id: \"111111111111\", region: eu-west-1 }\n", bad[i]);
		pj_project(body);
		pj_mkdirs(bad[i]);
		snprintf(want, sizeof(want),
			 "bulkhead.yaml:4:3: error: environment name '%s' must match [a-z][a-z0-9-]{0,31}", bad[i]);
		pj_expect_error(want);
		project_close(&pj_proj);
		pj_opened = false;
	}
}

Test(project, longest_env_name_is_fine)
{
	/* 32 characters: [a-z] then 31 more. */
	pj_project("environments:\n"
		   "  a1234567890123456789012345678901: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("a1234567890123456789012345678901");
	pj_open_ok();
	cr_expect_eq(pj_proj.nenvs, 1);
}

Test(project, non_ascii_env_name_names_the_character)
{
	/* "prоd" with a Cyrillic 'о' (U+043E): the caret is on it. */
	pj_project("environments:\n"
		   "  pr\xd0\xbe" "d: { account_id: \"111111111111\", region: eu-west-1 }\n");
	char *out = pj_open_fails(1);
	char *first = nth_line(out, 0);
	cr_expect_str_eq(first, "bulkhead.yaml:4:5: error: environment name 'pr\xd0\xbe" "d' contains the non-ASCII character U+043E; names must match [a-z][a-z0-9-]{0,31}",
			 "%s", out);
	char *caret = nth_line(out, 2);
	cr_expect_str_eq(caret, "      ^", "the caret under the 'о':\n%s", out);
	free(caret);
	free(first);
	free(out);
}

Test(project, non_ascii_env_name_four_byte_character)
{
	pj_project("environments:\n"
		   "  \"dev\xf0\x9f\x98\x80\": { account_id: \"111111111111\", region: eu-west-1 }\n");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "contains the non-ASCII character U+1F600"), "%s", out);
	free(out);
}

Test(project, env_folder_must_exist)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_expect_error("bulkhead.yaml:4:3: error: folder 'dev' of environment 'dev' does not exist");
}

Test(project, env_folders_may_not_overlap)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		   "  prod: { account_id: \"333333333333\", region: eu-west-1, path: dev/prod }\n");
	pj_mkdirs("dev/prod");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "folder 'dev/prod' of 'prod' overlaps folder 'dev' of 'dev'"), "%s", out);
	free(out);
}

Test(project, env_path_must_stay_beneath_the_root)
{
	pj_project("environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1, path: ../elsewhere }\n");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "environment path '../elsewhere' must be a folder beneath the project root"), "%s", out);
	free(out);
}

Test(project, no_environments)
{
	pj_project("environments: {}\n");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "environments must list at least one environment"), "%s", out);
	free(out);
}

/* ---- header and settings ---- */

Test(project, unsupported_version)
{
	pj_write("bulkhead.yaml", "version: 2\nproject: demo\nenvironments:\n"
		 "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_expect_error("bulkhead.yaml:1:10: error: unsupported version '2' (this bulkhead reads version 1)");
}

Test(project, unknown_top_level_key_suggests)
{
	pj_write("bulkhead.yaml", "version: 1\nproject: demo\nenviroments:\n"
		 "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "bulkhead.yaml:3:1: error:"), "%s", out);
	cr_expect(strstr(out, "did you mean 'environments'?"), "%s", out);
	free(out);
}

Test(project, limits_may_only_lower)
{
	char body[256];
	snprintf(body, sizeof(body),
		 "limits: { file_size: %zu }\n"
		 "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n",
		 limits_default.file_size + 1);
	pj_project(body);
	pj_mkdirs("dev");
	char want[256];
	snprintf(want, sizeof(want), "bulkhead.yaml:3:22: error: limits.file_size may only lower the default (%zu)",
		 limits_default.file_size);
	pj_expect_error(want);
}

Test(project, limits_lowered)
{
	pj_project("limits: { depth: 10, expr_depth: 5 }\n"
		   "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_open_ok();
	cr_expect_eq(pj_proj.limits.depth, 10);
	cr_expect_eq(pj_proj.limits.expr_depth, 5);
	cr_expect_eq(pj_proj.limits.nodes, limits_default.nodes);
}

Test(project, limits_must_be_positive)
{
	pj_project("limits: { depth: 0 }\n"
		   "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_expect_error("bulkhead.yaml:3:18: error: limits.depth must be a positive integer");
}

Test(project, output_path_placeholders)
{
	pj_project("output: { dir: build/tf, path: \"{project}/{env}/{region}/{account_id}/{unit}\" }\n"
		   "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_open_ok();
	cr_expect_str_eq(pj_proj.output_dir, "build/tf");
	cr_expect_str_eq(pj_proj.output_path, "{project}/{env}/{region}/{account_id}/{unit}");
	cr_expect_not_null(pj_proj.output_path_node);
}

Test(project, output_path_unknown_placeholder_suggests)
{
	pj_project("output: { path: \"{env}/{acount_id}/{unit}\" }\n"
		   "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_expect_error("bulkhead.yaml:3:17: error: output.path: unknown placeholder '{acount_id}'; did you mean '{account_id}'?");
}

Test(project, output_path_needs_unit)
{
	pj_project("output: { path: \"{env}/{region}\" }\n"
		   "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_expect_error("bulkhead.yaml:3:17: error: output.path must contain {unit}");
}

Test(project, output_path_unclosed_brace)
{
	pj_project("output: { path: \"{env/{unit}\" }\n"
		   "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "output.path: unknown placeholder '{env/{unit}'"), "%s", out);
	free(out);
}

Test(project, output_dir_may_not_overlap_an_env)
{
	pj_project("output: { dir: dev/out }\n"
		   "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	char *out = pj_open_fails(1);
	cr_expect(strstr(out, "folder 'dev' of 'dev' overlaps the output dir 'dev/out'"), "%s", out);
	free(out);
}

Test(project, settings)
{
	pj_project("outputs_dir: state/outputs\nrole: deployer\npolicy: { unique_accounts: false }\n"
		   "drift: { allow: [\"app/*:inputs.x*\"], promoted: [\"a:b:c\", \"*:inputs.tag\"] }\nallow_env: [CI]\n"
		   "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	pj_open_ok();
	cr_expect_str_eq(pj_proj.outputs_dir, "state/outputs");
	cr_expect_str_eq(pj_proj.role, "deployer");
	cr_expect_not(pj_proj.unique_accounts);
	cr_assert_eq(pj_proj.ndrift_allow, 1);
	const struct unit_key_glob *g = &pj_proj.drift_allow[0];
	cr_expect_eq(g->unit_len, 5, "the unit glob is 'app/*'");
	cr_expect_str_eq(g->key, "inputs.x*");
	cr_expect_eq(g->key_lit, 8);
	cr_expect(unit_key_glob_match(g, "app/api", "inputs.xy"));
	cr_expect_not(unit_key_glob_match(g, "db/rds", "inputs.xy"));
	cr_expect_not(unit_key_glob_match(g, "app/api", "inputs.y"));
	cr_assert_eq(pj_proj.ndrift_promoted, 2);
	cr_expect_eq(pj_proj.drift_promoted[0].unit_len, 1, "split at the first colon");
	cr_expect_str_eq(pj_proj.drift_promoted[0].key, "b:c");
	cr_assert_not_null(pj_proj.allow_env);
	cr_expect_str_eq(pj_proj.allow_env->seq.items[0]->str.s, "CI");
}

Test(project, project_globs_name_the_unit)
{
	pj_project("drift: { allow: [\"inputs.x\", \"*:inputs.y\"] }\n"
		   "policy: { allow: [\"app:inputs.z\", \"app:inputs.z:plaintext-secret\"] }\n"
		   "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pj_mkdirs("dev");
	char *out = pj_open_fails(2);
	cr_expect(strstr(out, "bulkhead.yaml:3:18: error: 'inputs.x' must be UNIT-GLOB:KEY-GLOB"), "%s", out);
	cr_expect(strstr(out, "bulkhead.yaml:4:19: error: 'app:inputs.z' must be UNIT-GLOB:KEY-GLOB:RULE"), "%s", out);
	free(out);
}

/* ---- unit discovery ---- */

static const char pj_two_envs[] =
	"environments:\n"
	"  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
	"  prod: { account_id: \"333333333333\", region: eu-west-1 }\n";

Test(project, units_sorted_by_id)
{
	pj_project(pj_two_envs);
	pj_write("prod/network/vpc/unit.yaml", "inputs: {}\n");
	pj_write("dev/network/vpc/unit.yaml", "inputs: {}\n");
	pj_write("dev/app/web/unit.yaml", "inputs: {}\n");
	pj_write("dev/app/api/unit.yaml", "inputs: {}\n");
	pj_write("dev/app-x/unit.yaml", "inputs: {}\n");
	pj_write("dev/app/vars.yaml", "a: 1\n");
	pj_open_ok();
	struct env *dev = pj_env("dev"), *prod = pj_env("prod");
	const char *want[] = { "app-x", "app/api", "app/web", "network/vpc" };
	cr_assert_eq(dev->nunits, 4);
	for (size_t i = 0; i < 4; i++)
		cr_expect_str_eq(dev->units[i]->id, want[i], "unit %zu", i);
	cr_assert_eq(prod->nunits, 1);
	cr_assert_eq(pj_proj.nunits, 5);
	for (size_t i = 0; i < 4; i++)
		cr_expect_eq(pj_proj.units[i], dev->units[i], "env order, then id");
	cr_expect_eq(pj_proj.units[4], prod->units[0]);
	struct unit *u = dev->units[1];
	cr_expect_str_eq(u->dir, "dev/app/api");
	cr_expect_str_eq(u->file, "dev/app/api/unit.yaml");
	cr_expect_eq(u->env, dev);
}

Test(project, env_find_unit)
{
	pj_project(pj_two_envs);
	const char *ids[] = { "a", "b/c", "b/d", "c", "network/vpc", "z/z/z" };
	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
		char path[128];
		snprintf(path, sizeof(path), "dev/%s/unit.yaml", ids[i]);
		pj_write(path, "inputs: {}\n");
	}
	pj_mkdirs("prod");
	pj_open_ok();
	struct env *dev = pj_env("dev");
	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
		struct unit *u = env_find_unit(dev, ids[i]);
		cr_assert_not_null(u, "'%s' not found", ids[i]);
		cr_expect_str_eq(u->id, ids[i]);
	}
	cr_expect_null(env_find_unit(dev, "b"));
	cr_expect_null(env_find_unit(dev, "network"));
	cr_expect_null(env_find_unit(dev, ""));
	cr_expect_null(env_find_unit(dev, "zz"));
	cr_expect_null(env_find_unit(pj_env("prod"), "a"), "no units at all");
}

Test(project, hidden_and_output_dirs_are_skipped)
{
	pj_project(pj_two_envs);
	pj_write("dev/app/unit.yaml", "inputs: {}\n");
	pj_write("dev/.terraform/mod/unit.yaml", "inputs: {}\n");
	pj_write("dev/app/.cache/unit.yaml", "inputs: {}\n");
	pj_write("out/dev/x/unit.yaml", "inputs: {}\n");
	pj_write(".bulkhead/outputs/dev/x/unit.yaml", "inputs: {}\n");
	pj_mkdirs("prod");
	pj_open_ok();
	cr_expect_eq(pj_proj.nunits, 1);
	cr_expect_str_eq(pj_proj.units[0]->id, "app");
}

Test(project, unit_inside_unit)
{
	pj_project(pj_two_envs);
	pj_mkdirs("prod");
	pj_write("dev/app/unit.yaml", "inputs: {}\n");
	pj_write("dev/app/api/unit.yaml", "inputs: {}\n");
	pj_expect_discovery_error("dev/app/api/unit.yaml:1:1: error: unit.yaml inside another unit ('dev/app')", 1);
}

Test(project, unit_deep_inside_unit_names_the_outer_unit)
{
	/* The message names the unit that holds it, not just the parent folder. */
	pj_project(pj_two_envs);
	pj_mkdirs("prod");
	pj_write("dev/app/unit.yaml", "inputs: {}\n");
	pj_write("dev/app/x/api/unit.yaml", "inputs: {}\n");
	pj_expect_discovery_error("dev/app/x/api/unit.yaml:1:1: error: unit.yaml inside another unit ('dev/app')", 1);
}

Test(project, unit_outside_every_env)
{
	pj_project(pj_two_envs);
	pj_mkdirs("prod");
	pj_write("dev/app/unit.yaml", "inputs: {}\n");
	pj_write("modules/x/unit.yaml", "inputs: {}\n");
	pj_expect_discovery_error("modules/x/unit.yaml:1:1: error: unit.yaml in 'modules/x' is outside every environment folder", 1);
}

Test(project, unit_outside_every_region_folder)
{
	pj_project("environments:\n"
		   "  prod: { account_id: \"333333333333\", regions: [us-east-1, us-west-2] }\n");
	pj_mkdirs("prod/us-east-1");
	pj_mkdirs("prod/us-west-2");
	pj_write("prod/app/unit.yaml", "inputs: {}\n");
	pj_expect_discovery_error("prod/app/unit.yaml:1:1: error: unit.yaml in 'prod/app' is outside every region folder", 0);
}

Test(project, unit_directly_in_env_folder)
{
	pj_project(pj_two_envs);
	pj_mkdirs("prod");
	pj_write("dev/unit.yaml", "inputs: {}\n");
	pj_expect_discovery_error("dev/unit.yaml:1:1: error: unit.yaml directly in environment folder 'dev': units live in subfolders", 0);
}

Test(project, symlinked_unit_folder_is_refused)
{
	pj_project(pj_two_envs);
	pj_mkdirs("prod");
	pj_write("dev/app/unit.yaml", "inputs: {}\n");
	char link[PATH_MAX * 2];
	snprintf(link, sizeof(link), "%s/prod/app", pj_root);
	cr_assert_eq(symlink("../dev/app", link), 0, "symlink: %s", strerror(errno));
	pj_expect_discovery_error("bulkhead: error: 'prod/app' is a symlink to the folder 'dev/app': units must live in real folders", 1);
	cr_expect_str_eq(pj_proj.units[0]->dir, "dev/app");
}

/* unit_dependency: by name, scanned for a few, by binary search over the
 * sorted index for many; the index leaves the declared order alone. */
static void expect_dependencies_found(size_t n)
{
	struct arena a;
	arena_init(&a);
	struct unit u = { 0 };
	u.deps = ARENA_ARRAY(&a, struct dependency, n);
	for (size_t i = 0; i < n; i++)	/* out of name order (7 and n coprime) */
		u.deps[i].name = arena_printf(&a, "d%03zu", (i * 7) % n);
	u.ndeps = n;
	unit_index_dependencies(&u, &a);
	cr_expect_eq(u.deps_by_name != NULL, n > 8, "%zu dependencies", n);
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "d%03zu", i);
		struct dependency *d = unit_dependency(&u, name);
		cr_assert_not_null(d, "%s among %zu", name, n);
		cr_expect_str_eq(d->name, name);
		cr_expect(d >= u.deps && d < u.deps + n, "a pointer into the unit's own array");
	}
	cr_expect_null(unit_dependency(&u, "d"));
	cr_expect_null(unit_dependency(&u, "zzz"));
	cr_expect_null(unit_dependency(&u, ""));
	char second[32];
	snprintf(second, sizeof(second), "d%03zu", 7 % n);
	cr_expect_str_eq(u.deps[1].name, second, "declared order kept");
	arena_free(&a);
}

Test(project, dependency_by_name_few_and_many)
{
	expect_dependencies_found(3);
	expect_dependencies_found(9);
	expect_dependencies_found(500);
}
