/* test_emit.c - compiler/emit.c: tfvars rendering, the manifest, atomic
 * all-or-nothing writes, unchanged files left alone, removals with
 * pruning, refusal of foreign files and corrupt manifests, selections. */
#include "helpers.h"
#include "fixture.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "buf.h"
#include "cache.h"
#include "dag.h"
#include "emit.h"
#include "eval.h"
#include "include.h"

static char em_root[PATH_MAX];
static char em_out[PATH_MAX * 2];	/* em_root/out */
static struct project em_proj;
static bool em_opened;
static struct emit_plan em_plan;

#define EM_API "dev/111111111111/eu-west-1/app/api/terraform.tfvars.json"
#define EM_WEB "dev/111111111111/eu-west-1/app/web/terraform.tfvars.json"
#define EM_PROD "prod/333333333333/eu-west-1/app/api/terraform.tfvars.json"

static const char em_project_yaml[] =
	"version: 1\n"
	"project: demo\n"
	"environments:\n"
	"  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
	"  prod: { account_id: \"333333333333\", region: eu-west-1 }\n";

static void em_mkdirs(const char *rel)
{
	fixture_mkdirs(em_root, rel);
}

/* Writes rel (root-relative), creating its folders. */
static void em_write(const char *rel, const char *text)
{
	fixture_write(em_root, rel, text);
}

/* The contents of rel (root-relative), or NULL when it does not exist. */
static char *em_read(const char *rel)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", em_root, rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	buf_puts(&b, "");
	return buf_detach(&b, NULL);
}

static bool em_exists(const char *rel)
{
	char path[PATH_MAX * 2];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", em_root, rel);
	return lstat(path, &st) == 0;
}

static void em_remove(const char *rel)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", em_root, rel);
	cr_assert_eq(unlink(path), 0, "unlink %s: %s", path, strerror(errno));
}

static void em_setup(void)
{
	diag_clear();
	diag_set_color(0);
	fixture_tmpdir("em", em_root);
	snprintf(em_out, sizeof(em_out), "%s/out", em_root);
	em_opened = false;
	memset(&em_plan, 0, sizeof(em_plan));
	em_write("bulkhead.yaml", em_project_yaml);
	em_mkdirs("dev");
	em_mkdirs("prod");
}

static void em_close(void)
{
	emit_plan_free(&em_plan);
	if (em_opened)
		project_close(&em_proj);
	em_opened = false;
}

static void em_teardown(void)
{
	diag_clear();
	em_close();
	if (em_root[0])
		fixture_rm_rf(em_root);
}

TestSuite(emit, .init = em_setup, .fini = em_teardown);

/* Opens and evaluates the project (as compile_run does); must succeed. */
static void em_compile(void)
{
	em_close();
	fixture_compile(&em_proj, em_root, &em_opened);
}

/* Plans the units sel selects with what the build cache recorded of the
 * outputs (or NULL); must succeed. */
static void em_plan_cached(const struct selection *sel, const struct cached_outputs *written)
{
	struct unit **units = ARENA_ARRAY(&em_proj.arena, struct unit *, em_proj.nunits + 1);
	size_t n = 0;
	for (size_t i = 0; i < em_proj.nunits; i++) {
		struct unit *u = em_proj.units[i];
		if (selection_has_unit(sel, u->env->label, u->env->name, u->id))
			units[n++] = u;
	}
	emit_plan_free(&em_plan);
	int rc = emit_plan(&em_proj, units, n, written, false, &em_plan);
	expect_done(rc, "emit_plan");
}

static void em_plan_selected(const struct selection *sel)
{
	em_plan_cached(sel, NULL);
}

static void em_compile_and_plan(void)
{
	em_compile();
	em_plan_selected(NULL);
}

static const struct out_file *em_file(const char *path)
{
	for (size_t i = 0; i < em_plan.nfiles; i++)
		if (!strcmp(em_plan.files[i].path, path))
			return &em_plan.files[i];
	cr_assert_fail("no planned file '%s'", path);
	return NULL;
}

/* emit_write of the plan into out/, quietly; res keeps the counts. */
static int em_write_out(const struct selection *sel, bool check, struct emit_result *res)
{
	int rc = emit_write(&em_proj, &em_plan, sel ? sel : &(struct selection){ 0 }, em_out, "out", check, true, res);
	emit_result_free(res);
	return rc;
}

static void em_write_ok(const struct selection *sel, struct emit_result *res)
{
	int rc = em_write_out(sel, false, res);
	expect_silent(rc, "emit_write");
}

/* Fails with one error whose message contains want. */
static void em_write_fails(const char *want)
{
	struct emit_result res;
	int rc = em_write_out(NULL, false, &res);
	size_t n = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(rc, -1, "emit_write should fail:\n%s", out);
	cr_expect_eq(n, 1, "%zu errors:\n%s", n, out);
	cr_expect(strstr(out, want), "want '%s' in:\n%s", want, out);
	free(out);
}

/* Sets the modification time of out/rel far into the past. */
static void em_age(const char *rel)
{
	char path[PATH_MAX * 3];
	snprintf(path, sizeof(path), "%s/%s", em_out, rel);
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0, "utimensat %s: %s", path, strerror(errno));
}

static time_t em_mtime(const char *rel)
{
	char path[PATH_MAX * 3];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", em_out, rel);
	cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
	return st.st_mtime;
}

/* out/manifest.json, loaded; lives in the project arena. */
static struct node *em_manifest(void)
{
	char *text = em_read("out/manifest.json");
	cr_assert_not_null(text, "no manifest.json");
	struct srcfile *f = ARENA_NEW(&em_proj.arena, struct srcfile);
	*f = mem_file("manifest.json", arena_strdup(&em_proj.arena, text));
	free(text);
	struct node *root = load_yaml(&em_proj.arena, f, NULL);
	cr_assert_not_null(root, "manifest.json does not parse");
	return root;
}

/* The manifest's entries are rendered one by one and spliced into the
 * document: its bytes must be what value_to_json prints of it whole. */
static void em_expect_canonical_manifest(void)
{
	char *text = em_read("out/manifest.json");
	cr_assert_not_null(text);
	struct value *v = value_from_node(&em_proj.arena, em_manifest());
	struct buf want = BUF_INIT;
	value_to_json(v, &want);
	buf_putc(&want, '\n');
	cr_expect_str_eq(text, want.data);
	buf_free(&want);
	free(text);
}

/* The manifest entry of env:unit, or NULL. */
static const struct node *em_entry(const struct node *manifest, const char *env, const char *unit)
{
	const struct node *units = node_map_get(manifest, "units");
	cr_assert_not_null(units);
	for (size_t i = 0; i < units->seq.len; i++) {
		const struct node *e = units->seq.items[i];
		if (!strcmp(node_map_get(e, "env")->str.s, env) && !strcmp(node_map_get(e, "unit")->str.s, unit))
			return e;
	}
	return NULL;
}

static int em_compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in out/rel (not "." and ".."), sorted, joined by spaces. */
static char *em_names(const char *rel)
{
	char dir[PATH_MAX * 3];
	snprintf(dir, sizeof(dir), "%s/%s", em_out, rel);
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
	char *names[64];
	size_t n = 0;
	for (struct dirent *de; (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			cr_assert_lt(n, 64, "out/%s holds more than 64 names", rel);
			names[n++] = strdup(de->d_name);
		}
	closedir(d);
	qsort(names, n, sizeof(*names), em_compare_names);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? " " : "", names[i]);
		free(names[i]);
	}
	buf_puts(&b, "");
	return buf_detach(&b, NULL);
}

static void em_expect_names(const char *rel, const char *want)
{
	char *have = em_names(rel);
	cr_expect_str_eq(have, want, "out/%s holds [%s], want [%s]", rel, have, want);
	free(have);
}

static void em_two_units(void)
{
	em_write("dev/app/api/unit.yaml", "inputs:\n  name: api\n");
	em_write("dev/app/web/unit.yaml", "inputs:\n  name: web\n");
	em_write("prod/app/api/unit.yaml", "inputs:\n  name: api\n");
}

/* ---- rendering ---- */

Test(emit, tfvars_json_is_rendered_exactly)
{
	em_write("dev/app/api/unit.yaml",
		 "inputs:\n"
		 "  zeta: 1\n"
		 "  alpha:\n"
		 "    b: [1, 2]\n"
		 "    a: x\n"
		 "  empty: {}\n"
		 "  list: []\n"
		 "  \"k8s.io/role\": \"y\"\n"
		 "  Zed: 0\n"
		 "  f: 1.5\n"
		 "  t: true\n"
		 "  n: null\n"
		 "  s: \"quote \\\" and \\u00e9\"\n");
	em_compile_and_plan();
	cr_assert_eq(em_plan.nfiles, 1);
	const struct out_file *f = em_file(EM_API);
	const char *want =
		"{\n"
		"  \"Zed\": 0,\n"
		"  \"alpha\": {\n"
		"    \"a\": \"x\",\n"
		"    \"b\": [\n"
		"      1,\n"
		"      2\n"
		"    ]\n"
		"  },\n"
		"  \"empty\": {},\n"
		"  \"f\": 1.5,\n"
		"  \"k8s.io/role\": \"y\",\n"
		"  \"list\": [],\n"
		"  \"n\": null,\n"
		"  \"s\": \"quote \\\" and \xc3\xa9\",\n"
		"  \"t\": true,\n"
		"  \"zeta\": 1\n"
		"}\n";
	cr_expect_eq(f->len, strlen(want));
	cr_expect_str_eq(f->data, want);
	cr_expect_eq(f->unit, em_proj.units[0]);
	XXH128_hash_t h = XXH3_128bits(want, strlen(want));
	cr_expect(XXH128_isEqual(f->hash, h), "the hash is xxh3-128 of the data");
}

Test(emit, empty_inputs_render_as_empty_object)
{
	em_write("dev/app/api/unit.yaml", "source: ./mod\n");
	em_mkdirs("dev/app/api/mod");
	em_compile_and_plan();
	cr_expect_str_eq(em_file(EM_API)->data, "{}\n");
}

Test(emit, output_path_placeholders_expand)
{
	em_write("bulkhead.yaml",
		 "version: 1\nproject: demo\n"
		 "output: { dir: build, path: \"{project}/{env}-{region}/{account_id}/{unit}\" }\n"
		 "environments:\n"
		 "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		 "  prod: { account_id: \"333333333333\", regions: [us-east-1, us-west-2] }\n");
	em_mkdirs("prod/us-east-1");
	em_mkdirs("prod/us-west-2");
	em_write("dev/network/vpc/unit.yaml", "inputs: {}\n");
	em_write("prod/us-west-2/network/vpc/unit.yaml", "inputs: {}\n");
	em_compile_and_plan();
	cr_assert_eq(em_plan.nfiles, 2);
	cr_expect_str_eq(em_plan.files[0].path, "demo/dev-eu-west-1/111111111111/network/vpc/terraform.tfvars.json");
	cr_expect_str_eq(em_plan.files[1].path, "demo/prod-us-west-2/333333333333/network/vpc/terraform.tfvars.json");
}

Test(emit, two_units_in_one_folder_is_an_error)
{
	em_write("bulkhead.yaml",
		 "version: 1\nproject: demo\n"
		 "output: { path: \"{env}/{unit}\" }\n"
		 "environments:\n"
		 "  prod: { account_id: \"333333333333\", regions: [us-east-1, us-west-2] }\n");
	em_write("prod/us-east-1/app/unit.yaml", "inputs: {}\n");
	em_write("prod/us-west-2/app/unit.yaml", "inputs: {}\n");
	em_compile();
	int rc = emit_plan(&em_proj, em_proj.units, em_proj.nunits, NULL, false, &em_plan);
	char *out = diag_capture();
	cr_expect_eq(rc, -1);
	cr_expect(strstr(out, "output.path maps 'prod/us-east-1:app' and 'prod/us-west-2:app' to the same folder 'prod/app'"),
		  "%s", out);
	free(out);
}

Test(emit, generated_files_follow_the_tfvars)
{
	em_write("bulkhead.yaml",
		 "version: 1\nproject: demo\n"
		 "output: { generate: [backend, provider] }\n"
		 "environments:\n"
		 "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		 "  prod: { account_id: \"333333333333\", region: eu-west-1 }\n");
	em_write("dev/app/api/unit.yaml", "inputs: {}\n");
	em_compile_and_plan();
	cr_assert_eq(em_plan.nfiles, 3);
	cr_expect_str_eq(em_plan.files[0].path, EM_API);
	cr_expect_str_eq(em_plan.files[1].path, "dev/111111111111/eu-west-1/app/api/backend.tf.json");
	cr_expect_str_eq(em_plan.files[2].path, "dev/111111111111/eu-west-1/app/api/provider.tf.json");
	cr_expect(strstr(em_plan.files[1].data, "\"bucket\": \"demo-tfstate-111111111111\""), "%s", em_plan.files[1].data);
	cr_expect(strstr(em_plan.files[2].data, "arn:aws:iam::111111111111:role/terraform"), "%s", em_plan.files[2].data);
	for (size_t i = 0; i < 3; i++)
		cr_expect_eq(em_plan.files[i].data[em_plan.files[i].len - 1], '\n');
}

/* ---- writing ---- */

Test(emit, first_write_writes_files_and_manifest)
{
	em_two_units();
	em_compile_and_plan();
	cr_assert_eq(em_plan.nfiles, 3);
	struct emit_result res;
	em_write_ok(NULL, &res);
	cr_expect_eq(res.written, 3);
	cr_expect_eq(res.unchanged, 0);
	cr_expect_eq(res.removed, 0);
	cr_expect(res.manifest_changed);
	for (size_t i = 0; i < em_plan.nfiles; i++) {
		char rel[PATH_MAX];
		snprintf(rel, sizeof(rel), "out/%s", em_plan.files[i].path);
		char *data = em_read(rel);
		cr_assert_not_null(data, "%s was not written", rel);
		cr_expect_str_eq(data, em_plan.files[i].data);
		free(data);
	}
	struct node *m = em_manifest();
	cr_expect_eq(node_int(node_map_get(m, "version")), 1);
	cr_expect_str_eq(node_map_get(m, "project")->str.s, "demo");
	cr_expect_str_eq(node_map_get(m, "generator")->str.s, "bulkhead");
	const struct node *units = node_map_get(m, "units");
	cr_assert_eq(units->seq.len, 3);
	const char *order[][2] = { { "dev", "app/api" }, { "dev", "app/web" }, { "prod", "app/api" } };
	for (size_t i = 0; i < 3; i++) {
		cr_expect_str_eq(node_map_get(units->seq.items[i], "env")->str.s, order[i][0]);
		cr_expect_str_eq(node_map_get(units->seq.items[i], "unit")->str.s, order[i][1]);
	}
	const struct node *api = em_entry(m, "dev", "app/api");
	cr_expect_str_eq(node_map_get(api, "account_id")->str.s, "111111111111");
	cr_expect_str_eq(node_map_get(api, "region")->str.s, "eu-west-1");
	cr_expect_str_eq(node_map_get(api, "env_name")->str.s, "dev");
	cr_expect_eq(node_int(node_map_get(api, "level")), 0);
	cr_expect_eq(node_map_get(api, "source")->kind, NODE_NULL);
	const struct node *files = node_map_get(api, "files");
	cr_assert_eq(files->map.len, 1);
	char hex[33];
	hash_hex(em_file(EM_API)->hash, hex);
	cr_expect_str_eq(files->map.pairs[0].key->str.s, EM_API);
	cr_expect_str_eq(files->map.pairs[0].value->str.s, hex);
	em_expect_canonical_manifest();
	/* No absolute paths, no timestamps. */
	char *text = em_read("out/manifest.json");
	cr_expect_not(strstr(text, em_root), "%s", text);
	cr_expect_eq(text[strlen(text) - 1], '\n');
	free(text);
	/* No temp files, journal or staging folder are left behind. */
	em_expect_names("", "dev manifest.json prod");
	em_expect_names("dev/111111111111/eu-west-1/app/api", "terraform.tfvars.json");
}

/* Compiles, plans and writes everything; written files are expected. */
static void em_build_writes(size_t written)
{
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	cr_expect_eq(res.written, written);
}

/* A first build stages its files in out/.bulkhead-staging and moves the
 * top folders into place; when a top folder could be one of bulkhead's
 * own names (a dot first: here the staging folder itself), the files
 * are written one by one instead, to the same result. */
Test(emit, first_write_with_a_dot_folder_on_top_writes_file_by_file)
{
	em_write("bulkhead.yaml", "version: 1\nproject: demo\n"
		 "environments:\n  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		 "output: { dir: out, path: \".bulkhead-staging/{env}/{unit}\" }\n");
	em_write("dev/app/api/unit.yaml", "inputs:\n  name: api\n");
	em_build_writes(1);
	em_expect_names("", ".bulkhead-staging manifest.json");
	em_expect_names(".bulkhead-staging/dev/app/api", "terraform.tfvars.json");
	char *data = em_read("out/.bulkhead-staging/dev/app/api/terraform.tfvars.json");
	cr_assert_not_null(data);
	cr_expect_str_eq(data, "{\n  \"name\": \"api\"\n}\n");
	free(data);
}

/* An output dir that is there but empty was not made by this build:
 * another may be filling it, so files go one by one, as into any
 * existing dir. */
Test(emit, first_write_into_an_existing_empty_dir)
{
	em_two_units();
	em_mkdirs("out");
	em_build_writes(3);
	em_expect_names("", "dev manifest.json prod");
}

/* A build killed while staging leaves the journal and the staging
 * folder; the next build owns both, removes the folder and completes. */
Test(emit, a_killed_first_build_leaves_nothing_after_the_next)
{
	em_two_units();
	em_write("out/.bulkhead-pending", EM_API "\n");
	em_write("out/.bulkhead-staging/dev/111111111111/eu-west-1/app/api/terraform.tfvars.json", "{}");
	em_build_writes(3);
	em_expect_names("", "dev manifest.json prod");
	em_expect_canonical_manifest();
}

/* Without a journal the folder is not bulkhead's to remove. */
Test(emit, a_staging_folder_without_a_journal_is_left_alone)
{
	em_two_units();
	em_write("out/.bulkhead-staging/notes.txt", "mine");
	em_build_writes(3);
	em_expect_names("", ".bulkhead-staging dev manifest.json prod");
}

Test(emit, manifest_records_dependencies_and_mocks)
{
	em_write("dev/network/vpc/unit.yaml", "source: \"git::https://example.com/m.git//vpc?ref=v1.0.0\"\ninputs: {}\n");
	em_write("dev/app/api/unit.yaml",
		 "dependencies:\n"
		 "  vpc: { path: ../../network/vpc, mock_outputs: { vpc_id: vpc-0, cidr: 10.0.0.0/16 } }\n"
		 "inputs:\n"
		 "  a: ${dependency.vpc.outputs.vpc_id}\n"
		 "  b: ${dependency.vpc.outputs.vpc_id}-x\n"
		 "  c: ${dependency.vpc.outputs.cidr}\n");
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	struct node *m = em_manifest();
	const struct node *api = em_entry(m, "dev", "app/api");
	cr_assert_not_null(api);
	cr_expect_eq(node_int(node_map_get(api, "level")), 1);
	const struct node *deps = node_map_get(api, "dependencies");
	cr_assert_eq(deps->seq.len, 1);
	cr_expect_str_eq(deps->seq.items[0]->str.s, "dev:network/vpc");
	const struct node *mocked = node_map_get(api, "mocked");
	cr_assert_eq(mocked->seq.len, 2, "sorted, each once");
	cr_expect_str_eq(mocked->seq.items[0]->str.s, "dependency.vpc.outputs.cidr");
	cr_expect_str_eq(mocked->seq.items[1]->str.s, "dependency.vpc.outputs.vpc_id");
	const struct node *vpc = em_entry(m, "dev", "network/vpc");
	cr_expect_str_eq(node_map_get(vpc, "source")->str.s, "git::https://example.com/m.git//vpc?ref=v1.0.0");
	cr_expect_eq(node_map_get(vpc, "mocked")->seq.len, 0);
}

/* A hook that frees the compilation, as build's does, noting when it ran. */
struct em_hook {
	int calls;
	bool file_before, manifest_before;
};

static void em_forget(void *ctx)
{
	struct em_hook *h = ctx;
	h->calls++;
	h->file_before = em_exists("out/" EM_API);
	h->manifest_before = em_exists("out/manifest.json");
	project_forget_compiled(&em_proj);
}

static void em_with_dependency(void)
{
	em_write("dev/network/vpc/unit.yaml", "source: \"git::https://example.com/m.git//vpc?ref=v1.0.0\"\ninputs: {}\n");
	em_write("dev/app/api/unit.yaml",
		 "dependencies:\n"
		 "  vpc: { path: ../../network/vpc, mock_outputs: { vpc_id: vpc-0 } }\n"
		 "inputs:\n"
		 "  a: ${dependency.vpc.outputs.vpc_id}\n"
		 "  tags: { name: api, env: \"${env.name}\" }\n");
}

/* build frees the compiled values once the manifest is rendered: the
 * hook runs then, before any file, and what it freed is not read again
 * (AddressSanitizer) nor missed: the same files and manifest. */
Test(emit, compiled_values_may_be_freed_before_the_files_are_written)
{
	em_with_dependency();
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	char *want_api = em_read("out/" EM_API), *want_manifest = em_read("out/manifest.json");
	fixture_rm_rf(em_out);
	em_compile_and_plan();
	struct em_hook h = { 0 };
	em_plan.before_writing = em_forget;
	em_plan.before_writing_ctx = &h;
	em_write_ok(NULL, &res);
	cr_expect_eq(h.calls, 1);
	cr_expect_not(h.file_before, "the hook ran after a file was written");
	cr_expect_not(h.manifest_before, "the hook ran after the manifest was written");
	cr_expect_eq(res.written, 2);
	for (size_t i = 0; i < em_proj.nunits; i++) {
		cr_expect_null(em_proj.units[i]->inputs);
		cr_expect_null(em_proj.units[i]->config);
		cr_expect_eq(em_proj.units[i]->ndeps, 0);
	}
	char *api = em_read("out/" EM_API), *manifest = em_read("out/manifest.json");
	cr_assert_not_null(api);
	cr_expect_str_eq(api, want_api);
	cr_assert_not_null(manifest);
	cr_expect_str_eq(manifest, want_manifest);
	free(api);
	free(manifest);
	free(want_api);
	free(want_manifest);
	em_close();	/* here, not in the fini: a use after free must fail the test */
}

/* --check writes nothing, and has nothing to free the values for. */
Test(emit, check_mode_does_not_call_the_hook)
{
	em_with_dependency();
	em_compile_and_plan();
	struct em_hook h = { 0 };
	em_plan.before_writing = em_forget;
	em_plan.before_writing_ctx = &h;
	struct emit_result res;
	cr_assert_eq(em_write_out(NULL, true, &res), 0);
	cr_expect_eq(h.calls, 0);
	cr_expect_not_null(em_proj.units[0]->inputs);
}

Test(emit, second_write_writes_nothing)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	const char *rels[] = { EM_API, EM_WEB, EM_PROD, "manifest.json" };
	for (size_t i = 0; i < 4; i++)
		em_age(rels[i]);
	/* A fresh compilation renders the same bytes. */
	em_compile_and_plan();
	em_write_ok(NULL, &res);
	cr_expect_eq(res.written, 0);
	cr_expect_eq(res.unchanged, 3);
	cr_expect_eq(res.removed, 0);
	cr_expect_not(res.manifest_changed);
	for (size_t i = 0; i < 4; i++)
		cr_expect_eq(em_mtime(rels[i]), 1000000000, "%s was rewritten", rels[i]);
}

/* The stat data of out/REL now, as the build cache records it. */
static struct file_stamp em_stat(const char *rel)
{
	char path[PATH_MAX * 3];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", em_out, rel);
	cr_assert_eq(lstat(path, &st), 0, "%s: %s", rel, strerror(errno));
	return file_stamp_of(&st);
}

/* The output_hash of out/REL's bytes, as the build cache records it. */
static uint64_t em_hash(const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "out/%s", rel);
	char *data = em_read(path);
	cr_assert_not_null(data, "%s", rel);
	uint64_t hash = output_hash(data, strlen(data));
	free(data);
	return hash;
}

static void em_expect_seen(const struct emit_result *res, const char *rel, struct file_stamp want)
{
	size_t i = (size_t)(em_file(rel) - em_plan.files);
	cr_expect(res->seen[i].ino == want.ino && res->seen[i].size == want.size &&
			  res->seen[i].mtime_ns == want.mtime_ns,
		  "%s: seen %llu/%llu/%llu, want %llu/%llu/%llu", rel, (unsigned long long)res->seen[i].ino,
		  (unsigned long long)res->seen[i].size, (unsigned long long)res->seen[i].mtime_ns,
		  (unsigned long long)want.ino, (unsigned long long)want.size, (unsigned long long)want.mtime_ns);
}

/* Written files: the temp file's stat data, which its rename kept; files
 * the build cache vouched for: its record; files found with the planned
 * bytes: the stat data of what was read. */
Test(emit, result_holds_the_stat_data_of_what_it_wrote_or_trusted)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	cr_assert_eq(emit_write(&em_proj, &em_plan, &(struct selection){ 0 }, em_out, "out", false, true, &res), 0);
	cr_assert_not_null(res.seen);
	em_expect_seen(&res, EM_API, em_stat(EM_API));
	em_expect_seen(&res, EM_WEB, em_stat(EM_WEB));
	em_expect_seen(&res, EM_PROD, em_stat(EM_PROD));
	emit_result_free(&res);
	cr_expect_null(res.seen);

	/* Next build: the cache vouches for api (its record is what is on
	 * disk), not for prod; web changes. */
	struct cached_output api = { em_stat(EM_API), em_hash(EM_API) };
	em_write("dev/app/web/unit.yaml", "inputs:\n  name: web2\n");
	em_compile();
	struct cached_outputs written = { 0 };
	map_init(&written.files);
	map_put(&written.files, EM_API, strlen(EM_API), &api);
	em_plan_cached(NULL, &written);
	cr_assert_eq(emit_write(&em_proj, &em_plan, &(struct selection){ 0 }, em_out, "out", false, true, &res), 0);
	cr_expect_eq(res.written, 1);
	em_expect_seen(&res, EM_API, api.st);
	em_expect_seen(&res, EM_WEB, em_stat(EM_WEB));
	em_expect_seen(&res, EM_PROD, em_stat(EM_PROD));
	emit_result_free(&res);
	map_free(&written.files);
}

/* A link on the way to a file the build cache vouches for leads no
 * write astray: the file is neither read nor written, and the build goes
 * on.  The same link on the way to a file that must be written is
 * refused, and nothing is written. */
Test(emit, a_link_is_refused_on_the_way_to_a_file_to_write_only)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	emit_result_free(&res);
	char from[PATH_MAX * 3], to[PATH_MAX * 3];
	em_mkdirs("elsewhere");
	snprintf(from, sizeof(from), "%s/dev/111111111111/eu-west-1/app/api", em_out);
	snprintf(to, sizeof(to), "%s/elsewhere/api", em_root);
	cr_assert_eq(rename(from, to), 0, "%s", strerror(errno));
	cr_assert_eq(symlink(to, from), 0, "%s", strerror(errno));
	struct cached_output api = { em_stat(EM_API), em_hash(EM_API) };
	struct cached_outputs written = { 0 };
	map_init(&written.files);
	map_put(&written.files, EM_API, strlen(EM_API), &api);

	em_write("dev/app/web/unit.yaml", "inputs:\n  name: web2\n");
	em_compile();
	em_plan_cached(NULL, &written);
	cr_assert_eq(emit_write(&em_proj, &em_plan, &(struct selection){ 0 }, em_out, "out", false, true, &res), 0);
	cr_expect_eq(res.written, 1, "web only: api is vouched for");
	emit_result_free(&res);

	em_write("dev/app/api/unit.yaml", "inputs:\n  name: api2\n");
	em_age(EM_API);	/* through the link: the file behind it */
	em_compile();
	em_plan_cached(NULL, &written);
	em_write_fails("refusing to write through 'out/dev/111111111111/eu-west-1/app/api': it is a symlink");
	cr_expect_eq(em_mtime(EM_API), 1000000000, "nothing written behind the link");
	map_free(&written.files);
}

/* Without a build cache every output is read and compared (on the
 * workers): the same bytes are kept, with the stat data of what was read;
 * other bytes in a file the manifest recorded, or no file, are written. */
Test(emit, outputs_are_compared_by_their_bytes_without_a_build_cache)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	emit_result_free(&res);
	em_age(EM_WEB);
	em_write("out/" EM_API, "{}\n");
	em_remove("out/" EM_PROD);
	em_compile_and_plan();
	cr_assert_eq(emit_write(&em_proj, &em_plan, &(struct selection){ 0 }, em_out, "out", false, true, &res), 0);
	cr_expect_eq(res.written, 2, "api (edited) and prod (removed)");
	cr_expect_eq(res.unchanged, 1);
	cr_expect_eq(em_mtime(EM_WEB), 1000000000, "web was not rewritten");
	em_expect_seen(&res, EM_WEB, em_stat(EM_WEB));
	em_expect_seen(&res, EM_API, em_stat(EM_API));
	em_expect_seen(&res, EM_PROD, em_stat(EM_PROD));
	char *api = em_read("out/" EM_API);
	cr_expect(strstr(api, "\"name\""), "api rendered again:\n%s", api);
	free(api);
	emit_result_free(&res);
}

/* What the build cache records of the build that just wrote out/: each
 * planned file's stat data and hash, and the manifest's.  The keys are
 * the caller's to free (em_uncache). */
static void em_cache(struct cached_outputs *c, struct cached_output *files, const struct emit_result *res)
{
	memset(c, 0, sizeof(*c));
	map_init(&c->files);
	for (size_t i = 0; i < em_plan.nfiles; i++) {
		const char *rel = em_plan.files[i].path;
		files[i] = (struct cached_output){ em_stat(rel), em_hash(rel) };
		map_put(&c->files, xstrdup(rel), strlen(rel), &files[i]);
	}
	c->manifest = (struct cached_output){ em_stat(MANIFEST), res->manifest_hash };
	c->has_manifest = true;
	c->manifest_whole = res->manifest_whole;
}

static void em_uncache(struct cached_outputs *c)
{
	for (size_t i = 0; i < c->files.cap; i++)
		free((char *)c->files.slots[i].key);
	map_free(&c->files);
}

/* Overwrites out/manifest.json in place with as many other bytes and
 * sets its mtime back: its stat data are unchanged, only its bytes
 * (which nothing may then read) tell. */
static void em_spoil_manifest_keeping_stat(void)
{
	char path[PATH_MAX * 3];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", em_out, MANIFEST);
	cr_assert_eq(stat(path, &st), 0);
	int fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0);
	for (off_t i = 0; i < st.st_size; i++)
		cr_assert_eq(write(fd, "x", 1), 1);
	close(fd);
	struct timespec ts[2] = { st.st_atim, st.st_mtim };
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	cr_assert_eq(em_stat(MANIFEST).mtime_ns, file_stamp_of(&st).mtime_ns);
}

/* A build of every unit takes the previous manifest's file list from the
 * build cache when it vouches for the manifest (its stat data as the
 * cache recorded, and it listed exactly the files the cache holds): the
 * manifest is not read, a removed unit's file still goes, and the new
 * manifest replaces it. */
Test(emit, a_full_build_takes_the_manifest_the_build_cache_vouches_for)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	cr_assert_eq(emit_write(&em_proj, &em_plan, &(struct selection){ 0 }, em_out, "out", false, true, &res), 0);
	cr_expect(res.manifest_whole);
	struct cached_output files[3];
	struct cached_outputs cached;
	cr_assert_eq(em_plan.nfiles, 3);
	em_cache(&cached, files, &res);
	emit_result_free(&res);
	em_spoil_manifest_keeping_stat();
	char web[PATH_MAX * 2];
	snprintf(web, sizeof(web), "%s/dev/app/web", em_root);
	fixture_rm_rf(web);
	em_compile();
	em_plan_cached(NULL, &cached);
	em_write_ok(NULL, &res);
	cr_expect_eq(res.written, 0);
	cr_expect_eq(res.removed, 1);
	cr_expect(res.manifest_changed);
	cr_expect_not(em_exists("out/" EM_WEB));
	const struct node *units = node_map_get(em_manifest(), "units");
	cr_expect_eq(units->seq.len, 2, "the manifest lists api in dev and prod");
	em_plan.written = NULL;
	em_uncache(&cached);
}

/* emit_plan keeps no text of a file the build cache recorded with the
 * same hash; emit_write renders it again when the file is not as the
 * cache recorded (here: edited by hand).  A file the cache holds another
 * hash for keeps its text.  A plan of hashes only keeps none. */
Test(emit, texts_the_build_cache_vouches_for_are_rendered_again_when_needed)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	struct cached_output files[3];
	struct cached_outputs cached;
	cr_assert_eq(em_plan.nfiles, 3);
	em_cache(&cached, files, &res);
	emit_result_free(&res);
	files[em_file(EM_WEB) - em_plan.files].hash ^= 1;
	char *api = em_read("out/" EM_API);
	em_write("out/" EM_API, "{}\n");
	em_compile();
	emit_plan_free(&em_plan);
	cr_assert_eq(emit_plan(&em_proj, em_proj.units, em_proj.nunits, &cached, false, &em_plan), 0);
	cr_expect_null(em_file(EM_API)->data, "the cache vouches for api's hash: no text kept");
	cr_expect_null(em_file(EM_PROD)->data);
	cr_expect_not_null(em_file(EM_WEB)->data, "the cache holds another hash for web");
	em_write_ok(NULL, &res);
	cr_expect_eq(res.written, 1, "api, edited by hand, is written again");
	cr_expect_eq(res.unchanged, 2);
	char *again = em_read("out/" EM_API);
	cr_expect_str_eq(again, api, "from a text rendered again");
	emit_result_free(&res);
	free(api);
	free(again);
	em_uncache(&cached);

	emit_plan_free(&em_plan);
	cr_assert_eq(emit_plan(&em_proj, em_proj.units, em_proj.nunits, NULL, true, &em_plan), 0);
	for (size_t i = 0; i < em_plan.nfiles; i++) {
		cr_expect_null(em_plan.files[i].data, "hashes only: %s", em_plan.files[i].path);
		cr_expect_eq(em_plan.files[i].hash.low64, em_hash(em_plan.files[i].path), "the hash of what is on disk");
	}
}

/* Anything less and the manifest is read (here: found corrupt). */
Test(emit, the_manifest_is_read_unless_the_build_cache_vouches_for_all_of_it)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	cr_assert_eq(emit_write(&em_proj, &em_plan, &(struct selection){ 0 }, em_out, "out", false, true, &res), 0);
	struct cached_output files[3];
	struct cached_outputs cached;
	em_cache(&cached, files, &res);
	emit_result_free(&res);
	em_spoil_manifest_keeping_stat();
	em_plan_cached(NULL, &cached);

	cached.manifest_whole = false;	/* it listed files the cache does not hold */
	em_write_fails("corrupt manifest");
	cached.manifest_whole = true;

	cached.manifest.st.mtime_ns++;	/* not as the cache recorded it */
	em_write_fails("corrupt manifest");
	cached.manifest.st.mtime_ns--;

	/* A build of some units keeps the others' entries: it needs them. */
	const char *dev[] = { "dev" };
	struct selection only_dev = { .envs = dev, .nenvs = 1 };
	cr_expect_eq(em_write_out(&only_dev, false, &res), -1);
	char *out = diag_capture();
	cr_expect(strstr(out, "corrupt manifest"), "%s", out);
	free(out);

	em_plan.written = NULL;
	em_uncache(&cached);
}

/* build --check writes nothing and sees nothing. */
Test(emit, check_mode_has_no_stat_data)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	cr_assert_eq(emit_write(&em_proj, &em_plan, &(struct selection){ 0 }, em_out, "out", true, true, &res), 0);
	cr_expect_null(res.seen);
	emit_result_free(&res);
}

Test(emit, changed_unit_rewrites_only_its_file)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	em_age(EM_API);
	em_age(EM_PROD);
	em_write("dev/app/web/unit.yaml", "inputs:\n  name: web2\n");
	em_compile_and_plan();
	em_write_ok(NULL, &res);
	cr_expect_eq(res.written, 1);
	cr_expect_eq(res.unchanged, 2);
	cr_expect(res.manifest_changed, "the hash changed");
	char *web = em_read("out/" EM_WEB);
	cr_expect_str_eq(web, "{\n  \"name\": \"web2\"\n}\n");
	free(web);
	cr_expect_eq(em_mtime(EM_API), 1000000000);
	cr_expect_eq(em_mtime(EM_PROD), 1000000000);
	char hex[33];
	hash_hex(em_file(EM_WEB)->hash, hex);
	const struct node *files = node_map_get(em_entry(em_manifest(), "dev", "app/web"), "files");
	cr_expect_str_eq(node_map_get(files, EM_WEB)->str.s, hex);
}

Test(emit, check_mode_writes_nothing)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	int rc = em_write_out(NULL, true, &res);
	char *out = diag_capture();
	cr_expect_eq(rc, 0, "%s", out);
	free(out);
	cr_expect_eq(res.written, 3, "what would be written");
	cr_expect(res.manifest_changed);
	cr_expect_not(em_exists("out"), "check mode created the output dir");
}

Test(emit, check_mode_lists_what_would_change)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	em_write("dev/app/web/unit.yaml", "inputs:\n  name: web2\n");
	em_compile_and_plan();
	char tmp[PATH_MAX * 2];
	snprintf(tmp, sizeof(tmp), "%s/stdout.txt", em_root);
	fflush(stdout);
	int saved = dup(1), fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	int rc = emit_write(&em_proj, &em_plan, &(struct selection){ 0 }, em_out, "out", true, false, &res);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	cr_expect_eq(rc, 0);
	char *printed = em_read("stdout.txt");
	cr_expect_str_eq(printed, "would write out/" EM_WEB "\nwould write out/manifest.json\n");
	free(printed);
	char *web = em_read("out/" EM_WEB);
	cr_expect_str_eq(web, "{\n  \"name\": \"web\"\n}\n", "check mode left the old file");
	free(web);
}

/* ---- removals ---- */

Test(emit, removed_unit_files_are_deleted_and_dirs_pruned)
{
	em_two_units();
	em_write("out/README.md", "not bulkhead's\n");
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	em_remove("dev/app/web/unit.yaml");
	em_remove("prod/app/api/unit.yaml");
	em_compile_and_plan();
	cr_assert_eq(em_plan.nfiles, 1);
	em_write_ok(NULL, &res);
	cr_expect_eq(res.removed, 2);
	cr_expect_eq(res.written, 0);
	cr_expect_eq(res.unchanged, 1);
	cr_expect_not(em_exists("out/" EM_WEB));
	cr_expect_not(em_exists("out/dev/111111111111/eu-west-1/app/web"), "its folder is pruned");
	cr_expect(em_exists("out/" EM_API));
	cr_expect_not(em_exists("out/prod"), "every folder emptied is pruned");
	cr_expect(em_exists("out/README.md"), "files bulkhead never wrote are never touched");
	struct node *m = em_manifest();
	cr_expect_eq(node_map_get(m, "units")->seq.len, 1);
	cr_expect_null(em_entry(m, "dev", "app/web"));
}

Test(emit, restricted_selection_keeps_the_rest)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	em_remove("dev/app/web/unit.yaml");
	em_write("dev/app/api/unit.yaml", "inputs:\n  name: api2\n");
	em_compile();
	const char *envs[] = { "dev" }, *units[] = { "app/api" };
	struct selection sel = { envs, 1, units, 1 };
	em_plan_selected(&sel);
	cr_assert_eq(em_plan.nfiles, 1);
	em_write_ok(&sel, &res);
	cr_expect_eq(res.written, 1);
	cr_expect_eq(res.removed, 0, "app/web is outside the selection");
	cr_expect(em_exists("out/" EM_WEB));
	struct node *m = em_manifest();
	cr_expect_eq(node_map_get(m, "units")->seq.len, 3, "entries outside the selection are kept");
	cr_expect_not_null(em_entry(m, "dev", "app/web"));
	cr_expect_not_null(em_entry(m, "prod", "app/api"));
	em_expect_canonical_manifest();
}

Test(emit, manifest_of_no_units_is_an_empty_list)
{
	em_compile_and_plan();
	cr_assert_eq(em_plan.nunits, 0);
	struct emit_result res;
	em_write_ok(NULL, &res);
	char *text = em_read("out/manifest.json");
	cr_expect_str_eq(text, "{\n  \"generator\": \"bulkhead\",\n  \"project\": \"demo\",\n  \"units\": [],\n"
			       "  \"version\": 1\n}\n");
	free(text);
}

/* ---- refusals ---- */

Test(emit, foreign_file_is_refused)
{
	em_two_units();
	em_write("out/" EM_API, "mine\n");
	em_compile_and_plan();
	em_write_fails("refusing to overwrite 'out/" EM_API "': bulkhead did not write it (not in manifest.json)");
	char *data = em_read("out/" EM_API);
	cr_expect_str_eq(data, "mine\n");
	free(data);
	cr_expect_not(em_exists("out/" EM_WEB), "all or nothing");
	cr_expect_not(em_exists("out/" EM_PROD));
	cr_expect_not(em_exists("out/manifest.json"));
}

Test(emit, foreign_file_not_in_the_manifest_is_refused_later_too)
{
	em_two_units();
	em_compile_and_plan();
	struct emit_result res;
	em_write_ok(NULL, &res);
	/* A new unit whose target someone else wrote. */
	em_write("dev/app/db/unit.yaml", "inputs: {}\n");
	em_write("out/dev/111111111111/eu-west-1/app/db/terraform.tfvars.json", "hand-made\n");
	em_write("dev/app/web/unit.yaml", "inputs:\n  name: changed\n");
	em_age(EM_WEB);
	em_compile_and_plan();
	em_write_fails("refusing to overwrite 'out/dev/111111111111/eu-west-1/app/db/terraform.tfvars.json'");
	cr_expect_eq(em_mtime(EM_WEB), 1000000000, "nothing written");
}

Test(emit, symlink_in_the_output_path_is_refused)
{
	em_two_units();
	em_mkdirs("elsewhere");
	em_mkdirs("out");
	char link[PATH_MAX * 3];
	snprintf(link, sizeof(link), "%s/prod", em_out);
	cr_assert_eq(symlink("../elsewhere", link), 0);
	em_compile_and_plan();
	em_write_fails("refusing to write through 'out/prod': it is a symlink");
	cr_expect_not(em_exists("elsewhere/333333333333"));
	cr_expect_not(em_exists("out/" EM_API));
}

static void em_corrupt(const char *manifest, const char *want)
{
	em_write("out/manifest.json", manifest);
	em_write_fails(want);
	cr_expect_not(em_exists("out/" EM_API), "nothing written");
}

Test(emit, corrupt_manifest_is_an_error)
{
	em_two_units();
	em_compile_and_plan();
	em_corrupt("{\"version\": 1, \"units\": 5}\n", "corrupt manifest: expected {\"version\": 1, \"units\": [...]}");
	em_corrupt("{\"version\": 2, \"units\": []}\n", "corrupt manifest: expected");
	em_corrupt("[1, 2\n", "out/manifest.json:");
	em_corrupt("{\"version\": 1, \"units\": [{\"env\": \"dev\", \"env_name\": \"dev\", \"unit\": \"x\", "
		   "\"files\": {\"x/terraform.tfvars.json\": \"abc\"}}]}\n",
		   "corrupt manifest: hash of 'x/terraform.tfvars.json' is not 32 hex digits");
	em_corrupt("{\"version\": 1, \"units\": [{\"env\": \"dev\", \"env_name\": \"dev\", \"unit\": \"x\", "
		   "\"files\": {\"../../etc/passwd\": \"0123456789abcdef0123456789abcdef\"}}]}\n",
		   "corrupt manifest: file path '../../etc/passwd' is not a plain relative path");
	em_corrupt("{\"version\": 1, \"units\": [{\"env\": \"dev\", \"unit\": \"x\", \"files\": {}}]}\n",
		   "corrupt manifest: unit entry has no string 'env_name'");
}

Test(emit, corrupt_manifest_message_names_the_line)
{
	em_two_units();
	em_compile_and_plan();
	em_write("out/manifest.json", "{\n  \"version\": 1,\n  \"units\": [\n    7\n  ]\n}\n");
	em_write_fails("out/manifest.json:4:5: error: corrupt manifest: a unit entry must be a map");
}

/* ---- hash_hex and selections ---- */

Test(emit, hash_hex_is_32_hex_digits)
{
	char hex[33];
	memset(hex, 'x', sizeof(hex));
	hash_hex(XXH3_128bits("", 0), hex);
	cr_expect_str_eq(hex, "99aa06d3014798d86001c324468d497f", "xxh3-128 of nothing, high half first");
	hash_hex((XXH128_hash_t){ .low64 = 1, .high64 = 0xabc }, hex);
	cr_expect_str_eq(hex, "0000000000000abc0000000000000001");
	hash_hex(XXH3_128bits("abc", 3), hex);
	cr_expect_eq(strlen(hex), 32);
	cr_expect_eq(strspn(hex, "0123456789abcdef"), 32);
}

Test(emit, selection_has_unit_globs)
{
	cr_expect(selection_has_unit(NULL, "dev", "dev", "app/api"));
	struct selection all = { 0 };
	cr_expect(selection_has_unit(&all, "prod/us-west-2", "prod", "x"));
	const char *globs[] = { "app/*" };
	struct selection units = { NULL, 0, globs, 1 };
	cr_expect(selection_has_unit(&units, "dev", "dev", "app/api"));
	cr_expect(selection_has_unit(&units, "dev", "dev", "app/api/v2"), "* crosses /");
	cr_expect_not(selection_has_unit(&units, "dev", "dev", "network/vpc"));
	cr_expect_not(selection_has_unit(&units, "dev", "dev", "app"));
	const char *exact[] = { "network/vpc", "db" };
	struct selection two = { NULL, 0, exact, 2 };
	cr_expect(selection_has_unit(&two, "dev", "dev", "db"));
	cr_expect_not(selection_has_unit(&two, "dev", "dev", "db2"));
	const char *classes[] = { "app/[aw]*" };
	struct selection cls = { NULL, 0, classes, 1 };
	cr_expect(selection_has_unit(&cls, "dev", "dev", "app/web"));
	cr_expect_not(selection_has_unit(&cls, "dev", "dev", "app/db"));
}

Test(emit, selection_by_env_name_or_label)
{
	const char *by_name[] = { "prod" };
	struct selection name = { by_name, 1, NULL, 0 };
	cr_expect(selection_has_unit(&name, "prod/us-west-2", "prod", "app"), "a name selects every region");
	cr_expect(selection_has_unit(&name, "prod", "prod", "app"));
	cr_expect_not(selection_has_unit(&name, "dev", "dev", "app"));
	const char *by_label[] = { "prod/us-west-2" };
	struct selection label = { by_label, 1, NULL, 0 };
	cr_expect(selection_has_unit(&label, "prod/us-west-2", "prod", "app"));
	cr_expect_not(selection_has_unit(&label, "prod/us-east-1", "prod", "app"));
	const char *globs[] = { "app" };
	struct selection both = { by_name, 1, globs, 1 };
	cr_expect_not(selection_has_unit(&both, "dev", "dev", "app"), "env and unit must both match");
	cr_expect(selection_has_unit(&both, "prod", "prod", "app"));
	struct env e = { .name = "prod", .label = "prod/us-east-1" };
	cr_expect(selection_has_env(&name, &e));
	cr_expect_not(selection_has_env(&label, &e));
	cr_expect(selection_has_env(NULL, &e));
}
