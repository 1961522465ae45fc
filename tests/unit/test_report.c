/* test_report.c - compiler/report.c and compiler/baseline.c: findings as
 * text, json, sarif, github and markdown; format names; baselines written,
 * applied, stale and corrupt. */
#include "helpers.h"
#include "fixture.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "buf.h"
#include "report.h"

static struct arena rp_arena;
static struct srcfile rp_dev_file, rp_prod_file, rp_web_file;
static struct node *rp_dev, *rp_prod, *rp_web;
static struct findings rp_findings;
static struct project rp_proj;	/* only its arena: what baseline.c needs */
static char rp_dir[PATH_MAX];

static const char rp_dev_yaml[] =
	"inputs:\n"
	"  color: blue\n"
	"  replicas: ${var.replicas}\n"
	"  only: 1\n";

static const char rp_prod_yaml[] =
	"# prod\n"
	"inputs:\n"
	"  color: red\n"
	"  replicas: ${var.replicas}\n";

static const char rp_web_yaml[] =
	"inputs:\n"
	"  db_password: hunter2\n";

static struct place rp_input(const struct node *doc, const char *key)
{
	const struct node *n = node_map_get(node_map_get(doc, "inputs"), key);
	cr_assert_not_null(n, "no inputs.%s", key);
	return (struct place){ n->file, n->off };
}

/* drift on app/api inputs.color, a pending key, a parameterized one, and
 * a policy finding on app/web; sorted and fingerprinted. */
static void rp_build(struct findings *fs)
{
	memset(fs, 0, sizeof(*fs));
	struct finding *f = findings_add(fs);
	f->cls = F_PARAMETERIZED;
	f->env_a = "dev";
	f->env_b = "prod";
	f->unit = "app/api";
	f->key = "inputs.replicas";
	f->value_a = "2";
	f->value_b = "6";
	f->at_a = rp_input(rp_dev, "replicas");
	f->at_b = rp_input(rp_prod, "replicas");
	f->hint = "var.replicas: 2 -> 6";

	f = findings_add(fs);
	f->cls = F_POLICY;
	f->rule = "plaintext-secret";
	f->env_a = f->env_b = "prod";
	f->unit = "app/web";
	f->key = "inputs.db_password";
	f->value_b = "(sensitive)";
	f->at_b = rp_input(rp_web, "db_password");
	f->hint = "a literal secret: use secret() or env_secret()";

	f = findings_add(fs);
	f->cls = F_DRIFT;
	f->env_a = "dev";
	f->env_b = "prod";
	f->unit = "app/api";
	f->key = "inputs.color";
	f->value_a = "\"blue\"";
	f->value_b = "\"red\"";
	f->at_a = rp_input(rp_dev, "color");
	f->at_b = rp_input(rp_prod, "color");

	f = findings_add(fs);
	f->cls = F_PENDING;
	f->env_a = "dev";
	f->env_b = "prod";
	f->unit = "app/api";
	f->key = "inputs.only";
	f->value_a = "1";
	f->at_a = rp_input(rp_dev, "only");
	f->hint = "not yet promoted";
	findings_finish(fs);
}

static void rp_setup(void)
{
	arena_init(&rp_arena);
	diag_clear();
	diag_set_color(0);
	rp_dev_file = mem_file("dev/app/api/unit.yaml", rp_dev_yaml);
	rp_prod_file = mem_file("prod/app/api/unit.yaml", rp_prod_yaml);
	rp_web_file = mem_file("prod/app/web/unit.yaml", rp_web_yaml);
	rp_dev = load_yaml(&rp_arena, &rp_dev_file, NULL);
	rp_prod = load_yaml(&rp_arena, &rp_prod_file, NULL);
	rp_web = load_yaml(&rp_arena, &rp_web_file, NULL);
	cr_assert(rp_dev && rp_prod && rp_web);
	rp_build(&rp_findings);
	memset(&rp_proj, 0, sizeof(rp_proj));
	arena_init(&rp_proj.arena);
	char tmpl[] = "/tmp/bulkhead-rp-XXXXXX";
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	snprintf(rp_dir, sizeof(rp_dir), "%s", tmpl);
}

static void rp_teardown(void)
{
	diag_clear();
	findings_free(&rp_findings);
	arena_free(&rp_proj.arena);
	arena_free(&rp_arena);
	if (rp_dir[0])
		fixture_rm_rf(rp_dir);
}

TestSuite(report, .init = rp_setup, .fini = rp_teardown);
TestSuite(baseline, .init = rp_setup, .fini = rp_teardown);

/* The report of rp_findings in format (drift mode, notes shown). */
static char *rp_render(enum report_format format)
{
	struct report_opts o = { .format = format, .title = "drift" };
	struct buf out = BUF_INIT;
	report_write(&rp_findings, &o, &out);
	return buf_detach(&out, NULL);
}

/* Parses JSON text with the strict loader; lives in rp_arena. */
static struct node *rp_parse(const char *text)
{
	struct srcfile *f = ARENA_NEW(&rp_arena, struct srcfile);
	*f = mem_file("out.json", arena_strdup(&rp_arena, text));
	struct node *root = load_yaml(&rp_arena, f, NULL);
	cr_assert_not_null(root, "not JSON:\n%s", text);
	return root;
}

static const struct node *rp_at(const struct node *n, const char *key)
{
	cr_assert_eq(n->kind, NODE_MAP, "not a map where '%s' was wanted", key);
	const struct node *v = node_map_get(n, key);
	cr_assert_not_null(v, "no key '%s'", key);
	return v;
}

static const struct node *rp_item(const struct node *n, size_t i)
{
	cr_assert_eq(n->kind, NODE_SEQ);
	cr_assert_lt(i, n->seq.len);
	return n->seq.items[i];
}

/* ---- formats ---- */

/* The report of fs in format, drift or diff mode: what report_write
 * leaves in its buffer (all of it without a stream), its length in *len. */
static char *rp_render_to(const struct findings *fs, enum report_format format, bool diff, FILE *stream,
			  size_t *len)
{
	struct report_opts o = { .format = format, .diff = diff, .title = diff ? "diff dev prod" : "drift",
				 .stream = stream };
	struct buf out = BUF_INIT;
	report_write(fs, &o, &out);
	return buf_detach(&out, len);
}

/* 20,000 findings: megabytes of report in every format. */
static void rp_many(struct findings *fs)
{
	memset(fs, 0, sizeof(*fs));
	for (size_t i = 0; i < 20000; i++) {
		struct finding *f = findings_add(fs);
		f->cls = i % 3 ? F_DRIFT : F_PARAMETERIZED;
		f->env_a = "dev";
		f->env_b = "prod";
		f->unit = arena_printf(&rp_arena, "app/u%zu", i / 10);
		f->key = arena_printf(&rp_arena, "inputs.k%zu", i);
		f->value_a = "\"a blue of the deepest kind, as the sea on a clear day\"";
		f->value_b = "\"a red of the warmest kind, as the sky at sunset\"";
		f->at_a = rp_input(rp_dev, "color");
		f->at_b = rp_input(rp_prod, "color");
		f->hint = i % 3 ? NULL : "var.replicas: 2 -> 6";
	}
	findings_finish(fs);
}

Test(report, a_streamed_report_is_the_same_bytes_handed_out_as_it_grows)
{
	struct findings many;
	rp_many(&many);
	for (int format = FMT_TEXT; format <= FMT_GITHUB; format++) {
		for (int diff = 0; diff < 2; diff++) {
			size_t whole_len, rest_len;
			char *whole = rp_render_to(&many, format, diff, NULL, &whole_len);
			FILE *stream = tmpfile();
			cr_assert_not_null(stream);
			char *rest = rp_render_to(&many, format, diff, stream, &rest_len);
			long streamed = ftell(stream);
			cr_assert(streamed > 0, "format %d diff %d: nothing was handed out of %zu bytes", format, diff,
				  whole_len);
			cr_expect_lt(rest_len, (size_t)(1 << 20) + 4096, "what is left is under a megabyte and a finding");
			cr_assert_eq((size_t)streamed + rest_len, whole_len, "format %d diff %d", format, diff);
			char *got = xmalloc(whole_len + 1);
			rewind(stream);
			cr_assert_eq(fread(got, 1, (size_t)streamed, stream), (size_t)streamed);
			memcpy(got + streamed, rest, rest_len);
			cr_expect(!memcmp(got, whole, whole_len), "format %d diff %d: the streamed bytes differ", format,
				  diff);
			fclose(stream);
			free(got);
			free(rest);
			free(whole);
		}
	}
	findings_free(&many);
}

Test(report, format_names)
{
	static const struct {
		const char *name;
		enum report_format fmt;
	} ok[] = {
		{ "text", FMT_TEXT }, { "json", FMT_JSON }, { "markdown", FMT_MARKDOWN },
		{ "sarif", FMT_SARIF }, { "github", FMT_GITHUB },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		enum report_format f = (enum report_format)99;
		cr_expect_eq(report_format_parse(ok[i].name, &f), 0, "%s", ok[i].name);
		cr_expect_eq(f, ok[i].fmt, "%s", ok[i].name);
	}
	const char *bad[] = { "yaml", "JSON", "", "md", "text ", "sarif2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		enum report_format f = FMT_JSON;
		cr_expect_eq(report_format_parse(bad[i], &f), -1, "'%s'", bad[i]);
		cr_expect_eq(f, FMT_JSON, "left alone");
	}
}

Test(report, findings_are_sorted_by_unit_then_key)
{
	cr_assert_eq(rp_findings.len, 4);
	cr_expect_str_eq(rp_findings.v[0].key, "inputs.color");
	cr_expect_str_eq(rp_findings.v[1].key, "inputs.only");
	cr_expect_str_eq(rp_findings.v[2].key, "inputs.replicas");
	cr_expect_str_eq(rp_findings.v[3].unit, "app/web");
}

Test(report, text_is_gcc_style)
{
	char *out = rp_render(FMT_TEXT);
	const char *want =
		"prod/app/api/unit.yaml:3:10: error: [drift] app/api inputs.color: \"blue\" in dev, \"red\" in prod\n"
		"dev/app/api/unit.yaml:2:10: note: dev defines it here\n"
		"dev/app/api/unit.yaml:4:9: note: [pending] app/api inputs.only: 1 in dev, (absent) in prod (not yet promoted)\n"
		"prod/app/web/unit.yaml:2:16: error: [plaintext-secret] app/web inputs.db_password: (sensitive) in prod (a literal secret: use secret() or env_secret())\n"
		"drift: 2 errors, 1 note (1 parameterized, 0 allowed)\n";
	cr_expect_str_eq(out, want);
	free(out);
}

Test(report, text_quiet_hides_notes)
{
	struct report_opts o = { .format = FMT_TEXT, .title = "drift", .quiet = true };
	struct buf out = BUF_INIT;
	report_write(&rp_findings, &o, &out);
	cr_expect_eq(count_lines_with(out.data, ": note: [pending]"), 0, "%s", out.data);
	cr_expect_eq(count_lines_with(out.data, ": error: "), 2, "%s", out.data);
	buf_free(&out);
	cr_expect_not(report_shows(&rp_findings.v[1], &o));
	cr_expect(report_shows(&rp_findings.v[0], &o));
	cr_expect_not(report_shows(&rp_findings.v[2], &o), "parameterized is no error");
}

Test(report, text_diff_lists_every_class)
{
	struct report_opts o = { .format = FMT_TEXT, .title = "diff dev prod", .diff = true };
	struct buf out = BUF_INIT;
	report_write(&rp_findings, &o, &out);
	cr_expect(strstr(out.data, "app/api\n"), "%s", out.data);
	cr_expect(strstr(out.data, "  parameterized inputs.replicas: 2 -> 6  (var.replicas: 2 -> 6)\n"
				   "      dev/app/api/unit.yaml:3:13 (dev), prod/app/api/unit.yaml:4:13 (prod)\n"),
		  "%s", out.data);
	cr_expect(strstr(out.data, "  drift         inputs.color: \"blue\" -> \"red\"\n"), "%s", out.data);
	cr_expect(strstr(out.data, "\napp/web\n"), "%s", out.data);
	cr_expect(strstr(out.data, "diff dev prod: 2 errors, 1 note (1 parameterized, 0 allowed)\n"), "%s", out.data);
	buf_free(&out);
}

Test(report, json_parses_with_the_expected_keys)
{
	char *out = rp_render(FMT_JSON);
	struct node *doc = rp_parse(out);
	free(out);
	const struct node *findings = rp_at(doc, "findings");
	cr_assert_eq(findings->seq.len, 3, "errors and notes only");
	const struct node *f = rp_item(findings, 0);
	static const char *const keys[] = {
		"class", "env_a", "env_b", "fingerprint", "hint", "key", "location_a", "location_b",
		"severity", "unit", "value_a", "value_b",
	};
	cr_expect_eq(f->map.len, sizeof(keys) / sizeof(*keys));
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		rp_at(f, keys[i]);
	cr_expect_str_eq(rp_at(f, "class")->str.s, "drift");
	cr_expect_str_eq(rp_at(f, "severity")->str.s, "error");
	cr_expect_str_eq(rp_at(f, "unit")->str.s, "app/api");
	cr_expect_str_eq(rp_at(f, "key")->str.s, "inputs.color");
	cr_expect_str_eq(rp_at(f, "value_a")->str.s, "\"blue\"");
	cr_expect_str_eq(rp_at(f, "fingerprint")->str.s, rp_findings.v[0].fingerprint);
	cr_expect_eq(rp_at(f, "hint")->kind, NODE_NULL);
	const struct node *loc = rp_at(f, "location_b");
	cr_expect_str_eq(rp_at(loc, "file")->str.s, "prod/app/api/unit.yaml");
	cr_expect_eq(node_int(rp_at(loc, "line")), 3);
	cr_expect_eq(node_int(rp_at(loc, "column")), 10);
	const struct node *pending = rp_item(findings, 1);
	cr_expect_str_eq(rp_at(pending, "severity")->str.s, "note");
	cr_expect_eq(rp_at(pending, "location_b")->kind, NODE_NULL);
	cr_expect_eq(rp_at(pending, "value_b")->kind, NODE_NULL);
	cr_expect_str_eq(rp_at(rp_item(findings, 2), "class")->str.s, "plaintext-secret");
	const struct node *sum = rp_at(doc, "summary");
	cr_expect_eq(node_int(rp_at(sum, "errors")), 2);
	cr_expect_eq(node_int(rp_at(sum, "notes")), 1);
	cr_expect_eq(node_int(rp_at(sum, "parameterized")), 1);
	cr_expect_eq(node_int(rp_at(sum, "allowed")), 0);
	cr_expect_eq(node_int(rp_at(sum, "baselined")), 0);
}

Test(report, sarif_2_1_0)
{
	char *out = rp_render(FMT_SARIF);
	struct node *doc = rp_parse(out);
	free(out);
	const char *schema = rp_at(doc, "$schema")->str.s;
	const char *suffix = "/sarif-2.1.0.json";
	cr_expect(strlen(schema) > strlen(suffix) && !strcmp(schema + strlen(schema) - strlen(suffix), suffix),
		  "$schema is %s", schema);
	cr_expect_eq(strncmp(schema, "https://", 8), 0);
	cr_expect_str_eq(rp_at(doc, "version")->str.s, "2.1.0");
	const struct node *run = rp_item(rp_at(doc, "runs"), 0);
	cr_expect_str_eq(rp_at(rp_at(rp_at(run, "tool"), "driver"), "name")->str.s, "bulkhead");
	const struct node *results = rp_at(run, "results");
	cr_assert_eq(results->seq.len, 3);
	const struct node *r = rp_item(results, 0);
	cr_expect_str_eq(rp_at(r, "ruleId")->str.s, "drift");
	cr_expect_str_eq(rp_at(r, "level")->str.s, "error");
	cr_expect_eq(strncmp(rp_at(rp_at(r, "message"), "text")->str.s, "[drift] app/api inputs.color", 28), 0);
	const struct node *phys = rp_at(rp_item(rp_at(r, "locations"), 0), "physicalLocation");
	cr_expect_str_eq(rp_at(rp_at(phys, "artifactLocation"), "uri")->str.s, "prod/app/api/unit.yaml");
	cr_expect_eq(node_int(rp_at(rp_at(phys, "region"), "startLine")), 3);
	cr_expect_eq(node_int(rp_at(rp_at(phys, "region"), "startColumn")), 10);
	const struct node *rel = rp_item(rp_at(r, "relatedLocations"), 0);
	cr_expect_str_eq(rp_at(rp_at(rp_at(rel, "physicalLocation"), "artifactLocation"), "uri")->str.s,
			 "dev/app/api/unit.yaml");
	cr_expect_str_eq(rp_at(rp_at(rel, "message"), "text")->str.s, "dev defines it here");
	cr_expect_str_eq(rp_at(rp_at(r, "partialFingerprints"), "bulkhead/v1")->str.s, rp_findings.v[0].fingerprint);
	cr_expect_str_eq(rp_at(rp_item(results, 1), "level")->str.s, "note");
	cr_expect_eq(rp_at(rp_item(results, 1), "relatedLocations")->seq.len, 0);
	cr_expect_str_eq(rp_at(rp_item(results, 2), "ruleId")->str.s, "plaintext-secret");
}

/* SARIF 2.1.0 3.27.6: a result's ruleIndex is its rule's place in
 * tool.driver.rules, whose id is the result's ruleId. */
Test(report, sarif_results_index_their_rules)
{
	char *out = rp_render(FMT_SARIF);
	struct node *doc = rp_parse(out);
	free(out);
	const struct node *run = rp_item(rp_at(doc, "runs"), 0);
	const struct node *rules = rp_at(rp_at(rp_at(run, "tool"), "driver"), "rules");
	const struct node *results = rp_at(run, "results");
	cr_assert_gt(results->seq.len, 0);
	for (size_t i = 0; i < results->seq.len; i++) {
		const struct node *r = rp_item(results, i);
		int64_t k = node_int(rp_at(r, "ruleIndex"));
		cr_assert(k >= 0 && (size_t)k < rules->seq.len, "ruleIndex %lld", (long long)k);
		const struct node *rule = rp_item(rules, (size_t)k);
		cr_expect_str_eq(rp_at(rule, "id")->str.s, rp_at(r, "ruleId")->str.s);
		cr_expect(rp_at(rp_at(rule, "shortDescription"), "text")->str.len > 0);
	}
	for (size_t i = 0; i < rules->seq.len; i++)
		for (size_t k = 0; k < i; k++)
			cr_expect_str_neq(rp_at(rp_item(rules, i), "id")->str.s, rp_at(rp_item(rules, k), "id")->str.s);
}

Test(report, sarif_without_locations)
{
	findings_free(&rp_findings);
	struct finding *f = findings_add(&rp_findings);
	f->cls = F_DRIFT;
	f->env_a = "dev";
	f->env_b = "prod";
	f->unit = "x";
	f->key = "source";
	findings_finish(&rp_findings);
	char *out = rp_render(FMT_SARIF);
	struct node *doc = rp_parse(out);
	free(out);
	const struct node *r = rp_item(rp_at(rp_item(rp_at(doc, "runs"), 0), "results"), 0);
	cr_expect_eq(rp_at(r, "locations")->seq.len, 0);
}

Test(report, github_annotations)
{
	char *out = rp_render(FMT_GITHUB);
	cr_expect_eq(count_lines_with(out, "::"), 3, "%s", out);
	char *l0 = nth_line(out, 0), *l1 = nth_line(out, 1), *l2 = nth_line(out, 2);
	cr_expect_str_eq(l0, "::error file=prod/app/api/unit.yaml,line=3,col=10,title=drift::"
			     "[drift] app/api inputs.color: \"blue\" in dev, \"red\" in prod");
	const char *notice = "::notice file=dev/app/api/unit.yaml,line=4,col=9,title=pending::[pending]";
	cr_expect_eq(strncmp(l1, notice, strlen(notice)), 0, "%s", l1);
	cr_expect_eq(strncmp(l2, "::error file=", 13), 0, "%s", l2);
	free(l0);
	free(l1);
	free(l2);
	free(out);
}

Test(report, github_escapes)
{
	findings_free(&rp_findings);
	struct finding *f = findings_add(&rp_findings);
	f->cls = F_DRIFT;
	f->env_a = "dev";
	f->env_b = "prod";
	f->unit = "app";
	f->key = "inputs.x";
	f->value_a = "\"50%\"";
	f->value_b = "\"a\\nb\"";
	f->hint = "line one\nline two";
	findings_finish(&rp_findings);
	char *out = rp_render(FMT_GITHUB);
	cr_expect_str_eq(out, "::error title=drift::[drift] app inputs.x: \"50%25\" in dev, \"a\\nb\" in prod (line one%0Aline two)\n");
	free(out);
	/* Properties escape ':' and ',' too. */
	static struct srcfile odd;
	odd = mem_file("a,b:c.yaml", "x: 1\n");
	struct node *doc = load_yaml(&rp_arena, &odd, NULL);
	cr_assert_not_null(doc);
	const struct node *x = node_map_get(doc, "x");
	rp_findings.v[0].at_b = (struct place){ x->file, x->off };
	out = rp_render(FMT_GITHUB);
	cr_expect_eq(strncmp(out, "::error file=a%2Cb%3Ac.yaml,line=1,col=4,title=drift::", 54), 0, "%s", out);
	free(out);
}

Test(report, markdown_table)
{
	char *out = rp_render(FMT_MARKDOWN);
	cr_expect_eq(strncmp(out, "### bulkhead drift: 2 errors, 1 note", 36), 0, "%s", out);
	cr_expect(strstr(out, "\n#### `app/api`\n\n| class | key | envs | earlier | later | note |\n|---|---|---|---|---|---|\n"),
		  "%s", out);
	cr_expect(strstr(out, "\n| drift | inputs.color | dev \xe2\x86\x92 prod | \"blue\" | \"red\" |  |\n"), "%s", out);
	cr_expect(strstr(out, "\n| pending | inputs.only | dev \xe2\x86\x92 prod | 1 | (absent) | not yet promoted |\n"), "%s", out);
	cr_expect(strstr(out, "\n#### `app/web`\n"), "%s", out);
	cr_expect_eq(count_lines_with(out, "|---|"), 2, "one table per unit:\n%s", out);
	free(out);
}

Test(report, markdown_escapes_cells)
{
	findings_free(&rp_findings);
	struct finding *f = findings_add(&rp_findings);
	f->cls = F_DRIFT;
	f->env_a = "dev";
	f->env_b = "prod";
	f->unit = "app";
	f->key = "inputs.x";
	f->value_a = "\"a|b\"";
	f->value_b = "\"`c`\"";
	findings_finish(&rp_findings);
	char *out = rp_render(FMT_MARKDOWN);
	cr_expect(strstr(out, "| \"a\\|b\" | \"\\`c\\`\" |"), "%s", out);
	free(out);
}

Test(report, long_values_are_clipped_for_people)
{
	char *longv = arena_alloc(&rp_arena, 301);
	memset(longv, 'x', 300);
	longv[300] = '\0';
	rp_findings.v[0].value_b = longv;
	char *text = rp_render(FMT_TEXT);
	cr_expect(strstr(text, "...") && !strstr(text, longv), "%s", text);
	free(text);
	char *json = rp_render(FMT_JSON);
	cr_expect(strstr(json, longv), "json carries the whole value");
	free(json);
}

/* ---- baselines ---- */

static char *rp_path(const char *name)
{
	return arena_printf(&rp_arena, "%s/%s", rp_dir, name);
}

static void rp_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fputs(text, f) < 0, 0);
	cr_assert_eq(fclose(f), 0);
}

static char *rp_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot read %s", path);
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	buf_puts(&b, "");
	return buf_detach(&b, NULL);
}

Test(baseline, write_then_apply)
{
	const char *path = rp_path("baseline.json");
	cr_assert_eq(baseline_write(&rp_proj, path, &rp_findings), 0);
	char *text = rp_read_file(path);
	struct node *doc = rp_parse(text);
	cr_assert_eq(doc->kind, NODE_SEQ);
	cr_assert_eq(doc->seq.len, 3, "errors and notes:\n%s", text);
	for (size_t i = 0; i < 3; i++) {
		const char *fp = rp_at(rp_item(doc, i), "fingerprint")->str.s;
		cr_expect_eq(strlen(fp), 16);
		if (i)
			cr_expect_lt(strcmp(rp_at(rp_item(doc, i - 1), "fingerprint")->str.s, fp), 0, "sorted");
	}
	cr_expect(strstr(text, "\"summary\": \"drift dev -> prod app/api inputs.color\""), "%s", text);
	cr_expect(strstr(text, "\"summary\": \"plaintext-secret prod -> prod app/web inputs.db_password\""), "%s", text);
	cr_expect_eq(text[strlen(text) - 1], '\n');
	free(text);

	/* A new run finds the same things. */
	struct findings again;
	rp_build(&again);
	cr_assert_eq(baseline_apply(&rp_proj, path, &again, true), 0);
	char *out = diag_capture();
	cr_expect_str_eq(out, "", "%s", out);
	free(out);
	size_t baselined = 0;
	for (size_t i = 0; i < again.len; i++) {
		baselined += again.v[i].baselined;
		cr_expect_eq(again.v[i].baselined, again.v[i].cls != F_PARAMETERIZED, "%s", again.v[i].key);
		cr_expect_not(finding_is_error(&again.v[i]));
		cr_expect_not(finding_is_note(&again.v[i]));
	}
	cr_expect_eq(baselined, 3);
	struct report_opts o = { .format = FMT_TEXT, .title = "drift" };
	struct buf rep = BUF_INIT;
	report_write(&again, &o, &rep);
	cr_expect_str_eq(rep.data, "drift: 0 errors, 0 notes (1 parameterized, 0 allowed, 3 in baseline)\n");
	buf_free(&rep);
	findings_free(&again);
}

Test(baseline, stale_entries_are_notes)
{
	const char *path = rp_path("baseline.json");
	rp_write_file(path, "[\n  {\"fingerprint\": \"0123456789abcdef\", \"summary\": \"drift dev -> prod gone inputs.x\"}\n]\n");
	cr_expect_eq(baseline_apply(&rp_proj, path, &rp_findings, true), 0);
	cr_expect_eq(diag_error_count(), 0);
	char *out = diag_capture();
	cr_expect(strstr(out, ":2:3: note: baseline entry 0123456789abcdef matches no finding any more: drift dev -> prod gone inputs.x"),
		  "%s", out);
	free(out);
	for (size_t i = 0; i < rp_findings.len; i++)
		cr_expect_not(rp_findings.v[i].baselined);
}

/* Under -q, or after a run on a selection (where an entry outside it was
 * not looked for), stale entries go unsaid; a corrupt file still fails. */
Test(baseline, stale_entries_unsaid_when_not_reporting)
{
	const char *path = rp_path("baseline.json");
	rp_write_file(path, "[\n  {\"fingerprint\": \"0123456789abcdef\", \"summary\": \"gone\"}\n]\n");
	cr_expect_eq(baseline_apply(&rp_proj, path, &rp_findings, false), 0);
	char *out = diag_capture();
	cr_expect_str_eq(out, "");
	free(out);
	rp_write_file(path, "[{\"fingerprint\": \"xyz\"}]\n");
	cr_expect_eq(baseline_apply(&rp_proj, path, &rp_findings, false), -1);
	free(diag_capture());
}

Test(baseline, empty_baseline)
{
	const char *path = rp_path("baseline.json");
	struct findings none = { 0 };
	cr_assert_eq(baseline_write(&rp_proj, path, &none), 0);
	char *text = rp_read_file(path);
	cr_expect_str_eq(text, "[]\n");
	free(text);
	cr_expect_eq(baseline_apply(&rp_proj, path, &rp_findings, true), 0);
}

static void rp_expect_corrupt(const char *text, const char *want)
{
	const char *path = rp_path("bad.json");
	rp_write_file(path, text);
	cr_expect_eq(baseline_apply(&rp_proj, path, &rp_findings, true), -1, "accepted:\n%s", text);
	size_t n = diag_error_count();
	char *out = diag_capture();
	cr_expect_eq(n, 1, "%s", out);
	cr_expect(strstr(out, want), "want '%s' in:\n%s", want, out);
	free(out);
	for (size_t i = 0; i < rp_findings.len; i++)
		cr_expect_not(rp_findings.v[i].baselined);
}

Test(baseline, corrupt_baseline_is_an_error)
{
	rp_expect_corrupt("[{\"fingerprint\": \"xyz\"}]\n", "corrupt baseline: each entry needs a \"fingerprint\" of 16 hex digits");
	rp_expect_corrupt("[{\"fingerprint\": \"0123456789ABCDEF\"}]\n", "corrupt baseline: each entry needs");
	rp_expect_corrupt("[{\"summary\": \"x\"}]\n", "corrupt baseline: each entry needs");
	rp_expect_corrupt("[\"0123456789abcdef\"]\n", "corrupt baseline: each entry needs");
	rp_expect_corrupt("{\"fingerprint\": \"0123456789abcdef\"}\n", "corrupt baseline: expected a JSON list of entries");
	rp_expect_corrupt("[{\"fingerprint\": \"0123456789abcdef\"\n", "corrupt baseline: ");
	rp_expect_corrupt("", "corrupt baseline: expected a JSON list");
}

Test(baseline, missing_and_unwritable_files)
{
	const char *missing = rp_path("nope.json");
	cr_expect_eq(baseline_apply(&rp_proj, missing, &rp_findings, true), -1);
	char *out = diag_capture();
	cr_expect(strstr(out, "cannot read baseline"), "%s", out);
	free(out);
	const char *bad = rp_path("no/such/dir/b.json");
	cr_expect_eq(baseline_write(&rp_proj, bad, &rp_findings), -1);
	out = diag_capture();
	cr_expect(strstr(out, "cannot write baseline"), "%s", out);
	free(out);
}

/* Markdown goes into PR comments, from values a pull request wrote. */
Test(report, markdown_text_lets_no_html_through)
{
	struct buf out = BUF_INIT;
	md_text(&out, "x <!-- <img src=y> a|b `c` & d\ne");
	cr_assert_str_eq(buf_cstr(&out), "x &lt;!-- &lt;img src=y&gt; a\\|b \\`c\\` &amp; d e");
	buf_free(&out);
}

Test(report, markdown_code_spans_hold_any_backticks)
{
	const struct { const char *in, *want; } cases[] = {
		{ "app/api", "`app/api`" },
		{ "a`b", "``a`b``" },
		{ "`a``", "``` `a`` ```" },
		{ "<!--", "`<!--`" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct buf out = BUF_INIT;
		md_code(&out, cases[i].in);
		cr_expect_str_eq(buf_cstr(&out), cases[i].want, "md_code(%s)", cases[i].in);
		buf_free(&out);
	}
}
