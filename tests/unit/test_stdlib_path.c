/* test_stdlib_path.c - stdlib/path.c: basename, dirname, file,
 * find_in_parent_folders, path_relative_to_include, get_env.
 *
 * The repo functions run against a real temporary project:
 *
 *   <tmp>/outside/secret.txt          beyond the root
 *   <tmp>/root/                       the project root
 *     bulkhead.yaml  vars.yaml
 *     _common/app.yaml  _common/data.txt
 *     dev/vars.yaml  dev/_common/tags.yaml
 *     dev/app/api/   unit.yaml policy.json sub/x.txt empty.txt utf8.txt
 *                    nul.bin bad.txt big.txt
 *                    good -> ../../../_common/data.txt
 *                    escape -> ../../../../outside/secret.txt
 *                    etc -> /etc/passwd
 *                    gitlink -> ../../../.git/config
 *                    outlink -> ../../../.bulkhead/outputs/dev/app/api.json
 *     .git/config
 *     .bulkhead/outputs/dev/app/api.json
 *     out/dev/x.tfvars.json
 */
#include "fixture.h"
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtins.h"
#include "project.h"
#include "source.h"
#include "value.h"

static char pt_tmp[PATH_MAX];
static struct project pt_proj;
static struct unit pt_unit;
static struct srcfile pt_call_file;
static const char pt_allow_text[] = "[BH_TEST_TOKEN, BH_TEST_EMPTY, BH_TEST_BAD, BH_TEST_UNSET]\n";
static struct srcfile pt_allow_file;

/* ---- the temporary project ---- */

static void pt_write(const char *rel, const char *data, size_t len)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", pt_tmp, rel);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void pt_puts(const char *rel, const char *text)
{
	pt_write(rel, text, strlen(text));
}

static void pt_mkdirs(const char *const *dirs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX * 2];
		snprintf(path, sizeof(path), "%s/%s", pt_tmp, dirs[i]);
		cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
	}
}

static void pt_symlink(const char *target, const char *rel)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", pt_tmp, rel);
	cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path, strerror(errno));
}

static void pt_make_tree(void)
{
	static const char *const dirs[] = {
		"outside", "root", "root/_common", "root/dev", "root/dev/_common", "root/dev/app",
		"root/dev/app/api", "root/dev/app/api/sub", "root/.git", "root/.bulkhead",
		"root/.bulkhead/outputs", "root/.bulkhead/outputs/dev", "root/.bulkhead/outputs/dev/app",
		"root/out", "root/out/dev",
	};
	pt_mkdirs(dirs, sizeof(dirs) / sizeof(*dirs));
	pt_puts("outside/secret.txt", "secret\n");
	pt_puts("root/bulkhead.yaml", "version: 1\n");
	pt_puts("root/vars.yaml", "a: 1\n");
	pt_puts("root/_common/app.yaml", "inputs: {}\n");
	pt_puts("root/_common/data.txt", "common\n");
	pt_puts("root/dev/vars.yaml", "b: 2\n");
	pt_puts("root/dev/_common/tags.yaml", "tags: {}\n");
	pt_puts("root/dev/app/api/unit.yaml", "source: x\n");
	pt_puts("root/dev/app/api/policy.json", "{\"a\": 1}\n");
	pt_puts("root/dev/app/api/sub/x.txt", "x\n");
	pt_puts("root/dev/app/api/empty.txt", "");
	pt_puts("root/dev/app/api/utf8.txt", "h\xc3\xa9llo \xe2\x9c\x93\n");
	pt_write("root/dev/app/api/nul.bin", "ab\0cd", 5);
	pt_puts("root/dev/app/api/bad.txt", "ab\xff");
	pt_puts("root/dev/app/api/big.txt", "0123456789012345678901234567890123456789\n");
	pt_puts("root/.git/config", "[core]\n");
	pt_puts("root/.bulkhead/outputs/dev/app/api.json", "{}\n");
	pt_puts("root/out/dev/x.tfvars.json", "{}\n");
	pt_symlink("../../../_common/data.txt", "root/dev/app/api/good");
	pt_symlink("../../../../outside/secret.txt", "root/dev/app/api/escape");
	pt_symlink("/etc/passwd", "root/dev/app/api/etc");
	pt_symlink("../../../.git/config", "root/dev/app/api/gitlink");
	pt_symlink("../../../.bulkhead/outputs/dev/app/api.json", "root/dev/app/api/outlink");
}

static void pt_setup(void)
{
	fixture_tmpdir("path", pt_tmp);
	pt_make_tree();
	diag_clear();

	memset(&pt_proj, 0, sizeof(pt_proj));
	arena_init(&pt_proj.arena);
	pt_proj.limits = limits_default;
	char root[PATH_MAX * 2];
	snprintf(root, sizeof(root), "%s/root", pt_tmp);
	pt_proj.root = realpath(root, NULL);
	cr_assert_not_null(pt_proj.root);
	cr_assert_eq(source_open_worktree(&pt_proj.src, pt_proj.root), SRC_OK);
	pt_proj.outputs_dir = ".bulkhead/outputs";
	pt_proj.output_dir = "out";
	pt_allow_file = mem_file("bulkhead.yaml", pt_allow_text);
	pt_proj.allow_env = load_yaml(&pt_proj.arena, &pt_allow_file, NULL);
	cr_assert_not_null(pt_proj.allow_env);

	memset(&pt_unit, 0, sizeof(pt_unit));
	pt_unit.id = "app/api";
	pt_unit.dir = "dev/app/api";
	pt_unit.file = "dev/app/api/unit.yaml";
	pt_call_file = mem_file("_common/app.yaml", "inputs:\n  x: ${f()}\n");
}

static void pt_teardown(void)
{
	diag_clear();
	source_free(&pt_proj.src);
	arena_free(&pt_proj.arena);
	free(pt_proj.root);
	if (pt_tmp[0])
		fixture_rm_rf(pt_tmp);
}

TestSuite(stdlib_path, .init = pt_setup, .fini = pt_teardown);

/* ---- calling ---- */

static struct call_ctx pt_ctx(const char *name, const char *include_dir)
{
	return (struct call_ctx){ &pt_proj.arena, name, &pt_call_file, 13, &limits_default,
				  &pt_proj, &pt_unit, include_dir };
}

static struct value *pt_call_ctx(struct call_ctx *c, struct value **args, size_t nargs)
{
	const struct builtin *b = builtin_find(c->name);
	cr_assert_not_null(b, "no builtin %s", c->name);
	cr_assert((int)nargs >= b->min_args && (b->max_args < 0 || (int)nargs <= b->max_args),
		  "%s: bad arity %zu", c->name, nargs);
	return b->fn(c, args, nargs);
}

static struct value *pt_call(const char *name, struct value **args, size_t nargs)
{
	struct call_ctx c = pt_ctx(name, NULL);
	return pt_call_ctx(&c, args, nargs);
}

static struct value *pt_str(const char *s)
{
	return value_cstr(&pt_proj.arena, s);
}

static struct value *pt_call1(const char *name, const char *arg)
{
	struct value *args[] = { pt_str(arg) };
	return pt_call(name, args, 1);
}

static void pt_want_str(const struct value *v, const char *want, const char *what)
{
	if (!v) {
		char *out = diag_capture();
		cr_assert_fail("%s failed, want '%s':\n%s", what, want, out);
	}
	cr_assert_eq(v->kind, VAL_STR, "%s: not a string", what);
	cr_assert_eq(v->str.len, strlen(want), "%s: '%s', want '%s'", what, v->str.s, want);
	cr_assert_str_eq(v->str.s, want, "%s", what);
	cr_assert_eq(diag_error_count(), 0);
}

/* The call failed with exactly one error holding needle (located at the call). */
static void pt_want_err(const struct value *v, const char *needle)
{
	cr_assert_null(v, "expected an error containing '%s'", needle);
	cr_assert_eq(diag_error_count(), 1);
	char *out = diag_capture();
	cr_assert(strstr(out, needle), "diagnostic\n%s\nlacks '%s'", out, needle);
	cr_assert(strstr(out, "_common/app.yaml:2:"), "no location in\n%s", out);
	free(out);
}

/* ---- basename, dirname ---- */

struct pt_case {
	const char *in, *want;
};

static void pt_table(const char *name, const struct pt_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct value *args[] = { pt_str(t[i].in) };
		/* Pure functions: no project needed. */
		struct call_ctx c = { &pt_proj.arena, name, &pt_call_file, 0, NULL, NULL, NULL, NULL };
		pt_want_str(pt_call_ctx(&c, args, 1), t[i].want, t[i].in);
	}
}

Test(stdlib_path, basename_as_terraform)
{
	const struct pt_case t[] = {
		{ "foo/bar/baz.txt", "baz.txt" }, { "foo/bar/", "bar" }, { "", "." }, { "/", "/" },
		{ "//", "/" }, { "foo", "foo" }, { "foo//", "foo" }, { "/a", "a" }, { ".", "." },
		{ "a/b/..", ".." }, { "a\\b", "a\\b" }, { "dev/app/api", "api" },
	};
	pt_table("basename", t, sizeof(t) / sizeof(*t));
}

Test(stdlib_path, dirname_as_terraform)
{
	const struct pt_case t[] = {
		{ "foo", "." }, { "foo/bar/baz.txt", "foo/bar" }, { "", "." }, { "/", "/" },
		{ "/a", "/" }, { "foo/bar/", "foo/bar" }, { "a//b", "a" }, { "./a/../b", "." },
		{ "a/./b", "a" }, { "..", "." }, { "a\\b", "." }, { "//a//b//", "/a/b" },
		{ "../../x", "../.." }, { "a/../../b/c", "../b" }, { "/../a/b", "/a" },
		{ "/a/../../b", "/" }, { "x/../y/", "y" },
	};
	pt_table("dirname", t, sizeof(t) / sizeof(*t));
}

Test(stdlib_path, basename_dirname_wrong_type)
{
	struct value *args[] = { value_int(&pt_proj.arena, 5, NULL) };
	pt_want_err(pt_call("basename", args, 1), "basename: argument 1 must be a");
	diag_clear();
	args[0] = value_null(&pt_proj.arena, NULL);
	pt_want_err(pt_call("dirname", args, 1), "dirname: argument 1 must be a");
}

Test(stdlib_path, basename_keeps_sensitive)
{
	struct value *args[] = { pt_str("a/secret") };
	args[0]->sensitive = true;
	struct value *v = pt_call("basename", args, 1);
	pt_want_str(v, "secret", "basename");
	cr_assert(v->sensitive);
	cr_assert_not(pt_call1("dirname", "a/b")->sensitive);
}

/* ---- file ---- */

Test(stdlib_path, file_from_unit_dir)
{
	pt_want_str(pt_call1("file", "policy.json"), "{\"a\": 1}\n", "policy.json");
	pt_want_str(pt_call1("file", "./sub/x.txt"), "x\n", "sub");
	pt_want_str(pt_call1("file", "sub/../policy.json"), "{\"a\": 1}\n", "dotdot inside");
}

Test(stdlib_path, file_project_root_marker)
{
	pt_want_str(pt_call1("file", "//_common/data.txt"), "common\n", "//");
	pt_want_str(pt_call1("file", "../../../_common/data.txt"), "common\n", "climb to root");
}

Test(stdlib_path, file_in_include_resolves_from_unit)
{
	struct value *args[] = { pt_str("policy.json") };
	struct call_ctx c = pt_ctx("file", "_common");
	pt_want_str(pt_call_ctx(&c, args, 1), "{\"a\": 1}\n", "include");
	args[0] = pt_str("data.txt");	/* next to the include, not the unit */
	pt_want_err(pt_call_ctx(&c, args, 1), "file: cannot read 'data.txt': no such file");
}

Test(stdlib_path, file_missing)
{
	pt_want_err(pt_call1("file", "x.txt"), "error: file: cannot read 'x.txt': no such file");
}

Test(stdlib_path, file_absolute_refused)
{
	pt_want_err(pt_call1("file", "/etc/passwd"), "file: '/etc/passwd' is an absolute path");
}

Test(stdlib_path, file_url_refused)
{
	pt_want_err(pt_call1("file", "https://example.com/x.txt"), "file: 'https://example.com/x.txt' is a URL");
	diag_clear();
	pt_want_err(pt_call1("file", "git::ssh://h/r.git//x"), "is a URL");
}

Test(stdlib_path, file_dotdot_escape)
{
	pt_want_err(pt_call1("file", "../../../../outside/secret.txt"),
		    "file: '../../../../outside/secret.txt' leads outside the project root");
	diag_clear();
	pt_want_err(pt_call1("file", "//../x"), "leads outside the project root");
}

Test(stdlib_path, file_symlink_escape)
{
	pt_want_err(pt_call1("file", "escape"), "file: cannot read 'escape': path leads outside the project root");
	diag_clear();
	pt_want_err(pt_call1("file", "etc"), "cannot read 'etc': path leads outside the project root");
}

Test(stdlib_path, file_symlink_inside)
{
	pt_want_str(pt_call1("file", "good"), "common\n", "good link");
}

Test(stdlib_path, file_git_refused)
{
	pt_want_err(pt_call1("file", "//.git/config"), "file: cannot read '//.git/config': path is refused");
	diag_clear();
	pt_want_err(pt_call1("file", "gitlink"), "cannot read 'gitlink': path is refused");
	diag_clear();
	pt_want_err(pt_call1("file", "//.GIT/config"), "path is refused");
}

Test(stdlib_path, file_outputs_dir_refused)
{
	pt_want_err(pt_call1("file", "//.bulkhead/outputs/dev/app/api.json"),
		    "file: cannot read '//.bulkhead/outputs/dev/app/api.json': it is in the output folder "
		    "'.bulkhead/outputs'");
	diag_clear();
	pt_want_err(pt_call1("file", "outlink"), "cannot read 'outlink': it is in the output folder");
}

Test(stdlib_path, file_output_dir_refused)
{
	pt_want_err(pt_call1("file", "//out/dev/x.tfvars.json"), "it is in the output folder 'out'");
}

Test(stdlib_path, file_directory)
{
	pt_want_err(pt_call1("file", "sub"), "file: cannot read 'sub': is a directory");
	diag_clear();
	pt_want_err(pt_call1("file", ""), "cannot read '': is a directory");
}

Test(stdlib_path, file_too_big)
{
	pt_proj.limits.file_size = 16;
	pt_want_err(pt_call1("file", "big.txt"), "file: cannot read 'big.txt': 41 bytes, over the limit of 16 bytes");
}

Test(stdlib_path, file_string_limit)
{
	struct limits lim = limits_default;
	lim.string_size = 4;
	struct value *args[] = { pt_str("policy.json") };
	struct call_ctx c = pt_ctx("file", NULL);
	c.limits = &lim;
	pt_want_err(pt_call_ctx(&c, args, 1), "exceeds the string limit of 4 bytes");
}

Test(stdlib_path, file_nul_bytes_refused)
{
	pt_want_err(pt_call1("file", "nul.bin"), "file: 'nul.bin' is not UTF-8 text without NUL bytes (byte 2)");
}

Test(stdlib_path, file_invalid_utf8_refused)
{
	pt_want_err(pt_call1("file", "bad.txt"), "'bad.txt' is not UTF-8 text without NUL bytes (byte 2)");
}

Test(stdlib_path, file_empty_and_unicode)
{
	pt_want_str(pt_call1("file", "empty.txt"), "", "empty");
	pt_want_str(pt_call1("file", "utf8.txt"), "h\xc3\xa9llo \xe2\x9c\x93\n", "utf8");
}

Test(stdlib_path, file_nul_in_path)
{
	struct value *args[] = { value_str(&pt_proj.arena, "policy.json\0x", 13, NULL) };
	pt_want_err(pt_call("file", args, 1), "file: argument 1 contains a NUL byte");
}

Test(stdlib_path, file_wrong_type)
{
	struct value *args[] = { value_bool(&pt_proj.arena, true, NULL) };
	pt_want_err(pt_call("file", args, 1), "file: argument 1 must be a");
}

Test(stdlib_path, file_sensitive_path_hidden)
{
	struct value *args[] = { pt_str("/hunter2") };
	args[0]->sensitive = true;
	cr_assert_null(pt_call("file", args, 1));
	char *out = diag_capture();
	cr_assert(strstr(out, "'(sensitive)'") && !strstr(out, "hunter2"), "%s", out);
	free(out);
	args[0] = pt_str("policy.json");
	args[0]->sensitive = true;
	struct value *v = pt_call("file", args, 1);
	cr_assert(v && v->sensitive);
}

/* ---- the repo functions without a repo ---- */

Test(stdlib_path, repo_functions_not_available)
{
	const char *names[] = { "file", "find_in_parent_folders", "path_relative_to_include", "get_env" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct value *args[] = { pt_str("BH_TEST_TOKEN") };
		struct call_ctx c = pt_ctx(names[i], NULL);
		c.project = i % 2 ? NULL : &pt_proj;
		c.unit = i % 2 ? &pt_unit : NULL;
		size_t nargs = strcmp(names[i], "path_relative_to_include") ? 1 : 0;
		cr_assert_null(pt_call_ctx(&c, args, nargs), "%s", names[i]);
		char *out = diag_capture();
		char want[128];
		snprintf(want, sizeof(want), "error: %s: not available here", names[i]);
		cr_assert(strstr(out, want), "%s", out);
		free(out);
		c.project = NULL;
		c.unit = NULL;
		cr_assert_null(pt_call_ctx(&c, args, nargs));
		diag_clear();
	}
}

/* ---- find_in_parent_folders ---- */

Test(stdlib_path, find_default_is_nearest_vars)
{
	struct value *v = pt_call("find_in_parent_folders", NULL, 0);
	pt_want_str(v, "dev/vars.yaml", "default");
	cr_assert_not(v->sensitive);
}

Test(stdlib_path, find_named)
{
	pt_want_str(pt_call1("find_in_parent_folders", "bulkhead.yaml"), "bulkhead.yaml", "root file");
	pt_want_str(pt_call1("find_in_parent_folders", "_common/app.yaml"), "_common/app.yaml", "subpath");
	pt_want_str(pt_call1("find_in_parent_folders", "_common/tags.yaml"), "dev/_common/tags.yaml", "nearest");
	pt_want_str(pt_call1("find_in_parent_folders", "./_common"), "dev/_common", "directory");
}

Test(stdlib_path, find_starts_in_parent)
{
	pt_want_err(pt_call1("find_in_parent_folders", "unit.yaml"),
		    "find_in_parent_folders: no 'unit.yaml' in any parent folder of 'dev/app/api'");
}

Test(stdlib_path, find_ignores_include_dir)
{
	struct call_ctx c = pt_ctx("find_in_parent_folders", "_common");
	pt_want_str(pt_call_ctx(&c, NULL, 0), "dev/vars.yaml", "include");
}

Test(stdlib_path, find_fallback)
{
	struct value *args[] = { pt_str("nope.yaml"), pt_str("//_common/app.yaml") };
	pt_want_str(pt_call("find_in_parent_folders", args, 2), "//_common/app.yaml", "fallback");
	args[0] = pt_str("vars.yaml");
	pt_want_str(pt_call("find_in_parent_folders", args, 2), "dev/vars.yaml", "found wins");
}

Test(stdlib_path, find_fallback_wrong_type)
{
	struct value *args[] = { pt_str("vars.yaml"), value_int(&pt_proj.arena, 1, NULL) };
	pt_want_err(pt_call("find_in_parent_folders", args, 2), "find_in_parent_folders: argument 2 must be a");
}

Test(stdlib_path, find_bad_names)
{
	const char *bad[] = { "../vars.yaml", "a/../../x", "/etc/passwd", "//vars.yaml", "", "..",
			      "https://example.com/x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cr_assert_null(pt_call1("find_in_parent_folders", bad[i]), "'%s' accepted", bad[i]);
		char *out = diag_capture();
		cr_assert(strstr(out, "must be a relative path without '..'"), "'%s': %s", bad[i], out);
		free(out);
	}
}

Test(stdlib_path, find_skips_refused_areas)
{
	pt_want_err(pt_call1("find_in_parent_folders", ".git/config"), "no '.git/config' in any parent folder");
	diag_clear();
	pt_want_err(pt_call1("find_in_parent_folders", ".bulkhead/outputs/dev/app/api.json"), "no '");
	diag_clear();
	pt_want_err(pt_call1("find_in_parent_folders", "api/escape"), "no 'api/escape'");
	diag_clear();
	pt_want_str(pt_call1("find_in_parent_folders", "api/good"), "dev/app/api/good", "link inside");
}

Test(stdlib_path, find_unit_at_top)
{
	pt_unit.dir = "dev";
	pt_want_str(pt_call1("find_in_parent_folders", "vars.yaml"), "vars.yaml", "root");
	diag_clear();
	pt_unit.dir = "";
	pt_want_err(pt_call1("find_in_parent_folders", "vars.yaml"), "no 'vars.yaml' in any parent folder of ''");
}

/* ---- path_relative_to_include ---- */

struct pt_rel_case {
	const char *include_dir, *unit_dir, *want;
};

Test(stdlib_path, relative_to_include)
{
	const struct pt_rel_case t[] = {
		{ "_common", "dev/app/api", "../dev/app/api" },
		{ NULL, "dev/app/api", "." },
		{ "dev/app/api", "dev/app/api", "." },
		{ "dev/_common", "dev/app/api", "../app/api" },
		{ "dev/app/api/sub", "dev/app/api", ".." },
		{ "", "dev/app/api", "dev/app/api" },
		{ "dev/app", "dev/app/api", "api" },
		{ "dev/application", "dev/app/api", "../app/api" },
		{ "dev/app/api", "dev", "../.." },
		{ "prod/x", "dev/app", "../../dev/app" },
		{ "dev/app/", "dev/app/api", "api" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		pt_unit.dir = t[i].unit_dir;
		struct call_ctx c = pt_ctx("path_relative_to_include", t[i].include_dir);
		char what[128];
		snprintf(what, sizeof(what), "%s -> %s", t[i].include_dir ? t[i].include_dir : "NULL",
			 t[i].unit_dir);
		pt_want_str(pt_call_ctx(&c, NULL, 0), t[i].want, what);
	}
}

Test(stdlib_path, relative_to_include_escape)
{
	struct call_ctx c = pt_ctx("path_relative_to_include", "../x");
	pt_want_err(pt_call_ctx(&c, NULL, 0), "path_relative_to_include: the include folder leads outside");
}

/* ---- get_env ---- */

Test(stdlib_path, get_env_listed)
{
	setenv("BH_TEST_TOKEN", "s3cr3t", 1);
	struct value *v = pt_call1("get_env", "BH_TEST_TOKEN");
	pt_want_str(v, "s3cr3t", "get_env");
	cr_assert(v->sensitive, "get_env results are sensitive");
}

Test(stdlib_path, get_env_not_listed)
{
	setenv("BH_TEST_OTHER", "x", 1);
	pt_want_err(pt_call1("get_env", "HOME"), "error: get_env: 'HOME' is not listed in allow_env in bulkhead.yaml");
	diag_clear();
	pt_want_err(pt_call1("get_env", "BH_TEST_OTHER"), "'BH_TEST_OTHER' is not listed in allow_env");
	diag_clear();
	pt_want_err(pt_call1("get_env", "bh_test_token"), "is not listed in allow_env");
}

Test(stdlib_path, get_env_no_allow_list)
{
	setenv("BH_TEST_TOKEN", "s3cr3t", 1);
	pt_proj.allow_env = NULL;
	pt_want_err(pt_call1("get_env", "BH_TEST_TOKEN"), "'BH_TEST_TOKEN' is not listed in allow_env");
}

Test(stdlib_path, get_env_unset)
{
	unsetenv("BH_TEST_UNSET");
	pt_want_err(pt_call1("get_env", "BH_TEST_UNSET"), "get_env: environment variable 'BH_TEST_UNSET' is not set");
}

Test(stdlib_path, get_env_default)
{
	unsetenv("BH_TEST_UNSET");
	setenv("BH_TEST_TOKEN", "from-env", 1);
	struct value *args[] = { pt_str("BH_TEST_UNSET"), pt_str("fallback") };
	struct value *v = pt_call("get_env", args, 2);
	pt_want_str(v, "fallback", "default");
	cr_assert(v->sensitive);
	args[0] = pt_str("BH_TEST_TOKEN");
	pt_want_str(pt_call("get_env", args, 2), "from-env", "set wins");
}

Test(stdlib_path, get_env_empty_value)
{
	setenv("BH_TEST_EMPTY", "", 1);
	struct value *args[] = { pt_str("BH_TEST_EMPTY"), pt_str("fallback") };
	pt_want_str(pt_call("get_env", args, 2), "", "empty");
}

Test(stdlib_path, get_env_invalid_utf8)
{
	setenv("BH_TEST_BAD", "ab\xff", 1);
	cr_assert_null(pt_call1("get_env", "BH_TEST_BAD"));
	char *out = diag_capture();
	cr_assert(strstr(out, "get_env: environment variable 'BH_TEST_BAD' is not valid UTF-8"), "%s", out);
	cr_assert_not(strstr(out, "ab\xff"), "%s", out);
	free(out);
}

Test(stdlib_path, get_env_wrong_types)
{
	struct value *args[] = { value_int(&pt_proj.arena, 1, NULL) };
	pt_want_err(pt_call("get_env", args, 1), "get_env: argument 1 must be a");
	diag_clear();
	struct value *args2[] = { pt_str("BH_TEST_TOKEN"), value_null(&pt_proj.arena, NULL) };
	pt_want_err(pt_call("get_env", args2, 2), "get_env: argument 2 must be a");
	diag_clear();
	struct value *args3[] = { value_str(&pt_proj.arena, "BH_TEST_TOKEN\0X", 15, NULL) };
	pt_want_err(pt_call("get_env", args3, 1), "get_env: argument 1 contains a NUL byte");
}

Test(stdlib_path, table_arity)
{
	const struct { const char *name; int min, max; } t[] = {
		{ "basename", 1, 1 }, { "dirname", 1, 1 }, { "file", 1, 1 },
		{ "find_in_parent_folders", 0, 2 }, { "path_relative_to_include", 0, 0 }, { "get_env", 1, 2 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		const struct builtin *b = builtin_find(t[i].name);
		cr_assert(b && b->min_args == t[i].min && b->max_args == t[i].max, "%s", t[i].name);
	}
}
