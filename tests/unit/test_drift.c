/* test_drift.c - compiler/drift.c and compiler/define.c: SemVer
 * precedence, the classes of drift_pair on a two-env project,
 * definitions (normalised text, local chains, knobs) and fingerprints. */
#include "helpers.h"
#include "fixture.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "buf.h"
#include "dag.h"
#include "define.h"
#include "drift.h"
#include "eval.h"
#include "include.h"

/* ---- semver_compare ---- */

static void dr_expect_order(const char *a, const char *b, int want)
{
	int cmp = 99;
	cr_assert_eq(semver_compare(a, b, &cmp), 0, "'%s' vs '%s' should parse", a, b);
	cr_expect_eq(cmp, want, "'%s' vs '%s': %d, want %d", a, b, cmp, want);
	cr_assert_eq(semver_compare(b, a, &cmp), 0);
	cr_expect_eq(cmp, -want, "'%s' vs '%s': %d, want %d", b, a, cmp, -want);
}

static void dr_expect_not_semver(const char *s)
{
	int cmp = 99;
	cr_expect_eq(semver_compare(s, "1.0.0", &cmp), -1, "'%s' is not SemVer", s);
	cr_expect_eq(semver_compare("1.0.0", s, &cmp), -1, "'%s' is not SemVer", s);
	cr_expect_eq(cmp, 99, "*cmp is left alone");
}

Test(semver, leading_v_is_optional)
{
	dr_expect_order("v1.2.3", "1.2.3", 0);
	dr_expect_order("v1.2.3", "v1.2.3", 0);
	dr_expect_order("v1.2.3", "1.2.4", -1);
	dr_expect_order("0.0.0", "v0.0.1", -1);
}

Test(semver, numbers_compare_numerically)
{
	dr_expect_order("v0.9.0", "v0.10.0", -1);
	dr_expect_order("v9.99.99", "v10.0.0", -1);
	dr_expect_order("1.2.10", "1.2.9", 1);
	dr_expect_order("2.0.0", "1.99.99", 1);
	dr_expect_order("1.10.0", "1.9.9", 1);
	/* SemVer sets no bound: past 2^64 they still compare, not saturate. */
	dr_expect_order("99999999999999999999.0.0", "100000000000000000000.0.0", -1);
	dr_expect_order("1.18446744073709551616.0", "1.18446744073709551617.0", -1);
	dr_expect_order("0.0.18446744073709551615", "0.0.18446744073709551616", -1);
}

Test(semver, prerelease_precedence)
{
	/* The example chain of SemVer 2.0.0, rule 11. */
	const char *chain[] = {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
	};
	size_t n = sizeof(chain) / sizeof(*chain);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++)
			dr_expect_order(chain[i], chain[k], i < k ? -1 : i > k);
	dr_expect_order("1.0.0-2", "1.0.0-10", -1);
	dr_expect_order("1.0.0-9", "1.0.0-a", -1);
	dr_expect_order("0.9.9", "1.0.0-alpha", -1);
}

Test(semver, build_metadata_is_ignored)
{
	dr_expect_order("1.0.0+build.1", "1.0.0+build.2", 0);
	dr_expect_order("1.0.0+20130313144700", "1.0.0", 0);
	dr_expect_order("v1.0.0-alpha+001", "1.0.0-alpha", 0);
	dr_expect_order("1.0.0-beta+exp.sha.5114f85", "1.0.0-alpha", 1);
}

Test(semver, non_semver_is_minus_one)
{
	const char *bad[] = {
		"main", "master", "", "v", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "v1.2.x",
		"1.2.3-", "-1.2.3", "1.2.3 ", " 1.2.3", "V1.2.3", "vv1.2.3",
		"0123456789abcdef0123456789abcdef01234567",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		dr_expect_not_semver(bad[i]);
}

Test(semver, empty_identifiers_are_not_semver)
{
	/* SemVer 2.0.0 rules 9 and 10: identifiers are non-empty. */
	dr_expect_not_semver("1.2.3+");
	dr_expect_not_semver("1.2.3-a..b");
	dr_expect_not_semver("1.2.3-a.");
	dr_expect_not_semver("1.2.3+a..b");
}

/* ---- a two-env project ---- */

static char dr_root[PATH_MAX];
static struct project dr_proj;
static bool dr_opened;
static struct findings dr_findings;

static const char dr_project_yaml[] =
	"version: 1\n"
	"project: demo\n"
	"environments:\n"
	"  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
	"  prod: { account_id: \"333333333333\", region: eu-west-1 }\n"
	"drift:\n"
	"  allow: [\"*:inputs.instance_type\", \"app/svc:source\"]\n";

static void dr_write(const char *rel, const char *text)
{
	fixture_write(dr_root, rel, text);
}

static void dr_close(void)
{
	findings_free(&dr_findings);
	if (dr_opened)
		project_close(&dr_proj);
	dr_opened = false;
}

static void dr_setup(void)
{
	diag_clear();
	diag_set_color(0);
	fixture_tmpdir("dr", dr_root);
	dr_opened = false;
	memset(&dr_findings, 0, sizeof(dr_findings));
	dr_write("bulkhead.yaml", dr_project_yaml);
	dr_write("dev/vars.yaml", "replicas: 2\na: 1\nb: 2\nc: 3\n");
	dr_write("prod/vars.yaml", "replicas: 6\na: 5\nb: 2\nc: 4\n");
}

static void dr_teardown(void)
{
	diag_clear();
	dr_close();
	if (dr_root[0])
		fixture_rm_rf(dr_root);
}

TestSuite(drift, .init = dr_setup, .fini = dr_teardown);
TestSuite(define, .init = dr_setup, .fini = dr_teardown);

/* Opens and evaluates the project as compile_run does; must succeed. */
static void dr_compile(void)
{
	dr_close();
	fixture_compile(&dr_proj, dr_root, &dr_opened);
}

static struct env *dr_env(const char *label)
{
	struct env *e = project_find_env(&dr_proj, label);
	cr_assert_not_null(e, "no env '%s'", label);
	return e;
}

/* Compiles, compares dev with prod and finishes the findings. */
static void dr_run(void)
{
	dr_compile();
	drift_pair(&dr_proj, dr_env("dev"), dr_env("prod"), NULL, &dr_findings);
	findings_finish(&dr_findings);
	char *out = diag_capture();
	cr_expect_str_eq(out, "", "drift reported:\n%s", out);
	free(out);
}

/* The finding on unit's key, or NULL. */
static const struct finding *dr_find_opt(const char *unit, const char *key)
{
	const struct finding *hit = NULL;
	for (size_t i = 0; i < dr_findings.len; i++)
		if (!strcmp(dr_findings.v[i].unit, unit) && !strcmp(dr_findings.v[i].key, key)) {
			cr_assert_null(hit, "two findings for %s %s", unit, key);
			hit = &dr_findings.v[i];
		}
	return hit;
}

static const struct finding *dr_find(const char *unit, const char *key)
{
	const struct finding *hit = dr_find_opt(unit, key);
	cr_assert_not_null(hit, "no finding for %s %s", unit, key);
	return hit;
}

/* Equal values are no finding, or (diff --all) an "equal" one. */
static void dr_expect_equal(const char *unit, const char *key)
{
	const struct finding *f = dr_find_opt(unit, key);
	cr_expect(!f || f->cls == F_EQUAL, "%s %s is '%s'", unit, key, f ? finding_class_name(f) : "");
}

static void dr_expect_class(const char *unit, const char *key, enum finding_class cls)
{
	const struct finding *f = dr_find(unit, key);
	cr_expect_eq(f->cls, cls, "%s %s is '%s'", unit, key, finding_class_name(f));
}

static void dr_expect_line(struct place at, const char *path, unsigned line)
{
	cr_assert_not_null(at.file, "no definition");
	unsigned l, c;
	srcfile_position(at.file, at.off, &l, &c);
	cr_expect_str_eq(at.file->path, path);
	cr_expect_eq(l, line, "%s: line %u, want %u", path, l, line);
}

static const char dr_api_dev[] =
	"source: \"git::https://example.com/m.git//api?ref=v1.4.0\"\n"
	"locals:\n"
	"  role: a-${var.replicas}\n"
	"inputs:\n"
	"  replicas: ${var.replicas}\n"
	"  same: 1\n"
	"  color: blue\n"
	"  instance_type: t3.small\n"
	"  only_dev: 1\n"
	"  tags:\n"
	"    team: core\n"
	"    owner: a\n"
	"  role: ${local.role}\n"
	"  kind: 1\n"
	"drift:\n"
	"  allow: [inputs.tags.owner]\n";

static const char dr_api_prod[] =
	"source: \"git::https://example.com/m.git//api?ref=v1.5.0\"\n"
	"locals:\n"
	"  role: b-${var.replicas}\n"
	"inputs:\n"
	"  replicas: \"${ var.replicas }\"\n"
	"  same: 1\n"
	"  color: red\n"
	"  instance_type: m5.large\n"
	"  only_prod: 1\n"
	"  tags:\n"
	"    team: core\n"
	"    owner: b\n"
	"  role: ${local.role}\n"
	"  kind: \"1\"\n";

static void dr_api_units(void)
{
	dr_write("dev/app/api/unit.yaml", dr_api_dev);
	dr_write("prod/app/api/unit.yaml", dr_api_prod);
}

Test(drift, parameterized_names_the_knob)
{
	dr_api_units();
	dr_run();
	const struct finding *f = dr_find("app/api", "inputs.replicas");
	cr_expect_eq(f->cls, F_PARAMETERIZED, "'%s'", finding_class_name(f));
	cr_assert_not_null(f->hint);
	cr_expect(strstr(f->hint, "var.replicas"), "hint: %s", f->hint);
	cr_expect_str_eq(f->hint, "var.replicas: 2 -> 6");
	cr_expect_str_eq(f->value_a, "2");
	cr_expect_str_eq(f->value_b, "6");
	cr_expect_str_eq(f->env_a, "dev");
	cr_expect_str_eq(f->env_b, "prod");
	cr_expect_not(finding_is_error(f));
	cr_expect_not(finding_is_note(f));
}

Test(drift, different_literals_drift)
{
	dr_api_units();
	dr_run();
	const struct finding *f = dr_find("app/api", "inputs.color");
	cr_expect_eq(f->cls, F_DRIFT, "'%s'", finding_class_name(f));
	cr_expect_str_eq(f->value_a, "\"blue\"");
	cr_expect_str_eq(f->value_b, "\"red\"");
	dr_expect_line(f->at_a, "dev/app/api/unit.yaml", 7);
	dr_expect_line(f->at_b, "prod/app/api/unit.yaml", 7);
	cr_expect(finding_is_error(f));
	dr_expect_equal("app/api", "inputs.same");
	dr_expect_equal("app/api", "inputs.tags.team");
}

/* Files with the same bytes share one tree (parsed once), whose nodes
 * name the first file; each unit still reports its own. */
Test(drift, units_of_the_same_text_share_a_tree_and_name_their_own_files)
{
	const char *text = "inputs:\n  replicas: ${var.replicas}\n  extra: ${var.c}\n";
	dr_write("dev/app/api/unit.yaml", text);
	dr_write("prod/app/api/unit.yaml", text);
	dr_write("dev/app/web/unit.yaml", "inputs:\n  replicas: 1\n");
	dr_run();
	const struct unit *dev = env_find_unit(dr_env("dev"), "app/api");
	const struct unit *prod = env_find_unit(dr_env("prod"), "app/api");
	cr_assert(dev && prod);
	cr_expect_str_eq(dev->src->path, "dev/app/api/unit.yaml");
	cr_expect_str_eq(prod->src->path, "prod/app/api/unit.yaml");
	/* Which of the two parses the text depends on which worker gets
	 * there first; the other shares that tree. */
	const struct unit *parsed = dev->tree_src == dev->src ? dev : prod;
	const struct unit *sharing = parsed == dev ? prod : dev;
	cr_expect_eq(parsed->tree_src, parsed->src, "the file parsed names itself");
	cr_expect_eq(sharing->tree_src, parsed->src, "the other shares its tree");
	const struct node *in_dev = node_map_get(node_map_get(dev->config, "inputs"), "replicas");
	const struct node *in_prod = node_map_get(node_map_get(prod->config, "inputs"), "replicas");
	cr_expect_eq(in_dev, in_prod, "one node for both");
	cr_expect_eq(unit_node_file(prod, in_prod), prod->src);
	cr_expect_eq(unit_node_file(dev, in_dev), dev->src);
	const struct finding *f = dr_find("app/api", "inputs.replicas");
	cr_expect_eq(f->cls, F_PARAMETERIZED, "'%s'", finding_class_name(f));
	dr_expect_line(f->at_a, "dev/app/api/unit.yaml", 2);
	dr_expect_line(f->at_b, "prod/app/api/unit.yaml", 2);
	f = dr_find("app/api", "inputs.extra");
	dr_expect_line(f->at_a, "dev/app/api/unit.yaml", 3);
	dr_expect_line(f->at_b, "prod/app/api/unit.yaml", 3);
}

Test(drift, type_change_is_one_drift)
{
	dr_api_units();
	dr_run();
	const struct finding *f = dr_find("app/api", "inputs.kind");
	cr_expect_eq(f->cls, F_DRIFT);
	cr_expect_str_eq(f->hint, "type changed");
}

Test(drift, same_expression_different_local_drifts)
{
	/* ${local.role} reads the same, but the locals differ. */
	dr_api_units();
	dr_run();
	dr_expect_class("app/api", "inputs.role", F_DRIFT);
}

Test(drift, shared_include_reading_different_locals_drifts)
{
	/* One node of a shared include, read in two units whose locals differ:
	 * the definition is per unit, not per node. */
	dr_write("_common/role.yaml", "inputs:\n  role: ${local.role}\n");
	dr_write("dev/app/unit.yaml", "include: [//_common/role.yaml]\nlocals:\n  role: a-${var.replicas}\n");
	dr_write("prod/app/unit.yaml", "include: [//_common/role.yaml]\nlocals:\n  role: b-${var.replicas}\n");
	dr_write("dev/same/unit.yaml", "include: [//_common/role.yaml]\nlocals:\n  role: x-${var.replicas}\n");
	dr_write("prod/same/unit.yaml", "include: [//_common/role.yaml]\nlocals:\n  role: x-${var.replicas}\n");
	dr_run();
	dr_expect_class("app", "inputs.role", F_DRIFT);
	const struct finding *f = dr_find("same", "inputs.role");
	cr_expect_eq(f->cls, F_PARAMETERIZED, "'%s'", finding_class_name(f));
	cr_expect_str_eq(f->hint, "var.replicas: 2 -> 6");
}

Test(drift, allow_globs)
{
	dr_api_units();
	dr_run();
	dr_expect_class("app/api", "inputs.instance_type", F_ALLOWED);
	dr_expect_class("app/api", "inputs.tags.owner", F_ALLOWED);
}

Test(drift, keys_on_one_side)
{
	dr_api_units();
	dr_run();
	const struct finding *f = dr_find("app/api", "inputs.only_dev");
	cr_expect_eq(f->cls, F_PENDING, "only in the earlier env: '%s'", finding_class_name(f));
	cr_expect(finding_is_note(f));
	cr_expect_str_eq(f->value_a, "1");
	cr_expect_null(f->value_b);
	f = dr_find("app/api", "inputs.only_prod");
	cr_expect_eq(f->cls, F_DRIFT, "only in the later env: '%s'", finding_class_name(f));
	cr_expect_null(f->value_a);
	cr_expect_str_eq(f->value_b, "1");
	dr_expect_line(f->at_b, "prod/app/api/unit.yaml", 9);
}

Test(drift, keys_of_one_template_are_one_key)
{
	/* "${env.name}-x" is dev-x in dev and prod-x in prod: one key, named
	 * by its template; keys of other templates, or literal ones, are not
	 * paired with it. */
	const char *text = "inputs:\n"
			   "  m:\n"
			   "    \"${env.name}-x\": { n: \"${var.n}\", same: 1 }\n"
			   "    \"${env.name}-y\": 1\n"
			   "    lit: 2\n";
	dr_write("dev/app/unit.yaml", text);
	dr_write("prod/app/unit.yaml", text);
	dr_write("dev/vars.yaml", "n: 1\n");
	dr_write("prod/vars.yaml", "n: 2\n");
	dr_run();
	dr_expect_class("app", "inputs.m.\"${env.name}-x\".n", F_PARAMETERIZED);
	dr_expect_equal("app", "inputs.m.\"${env.name}-x\".same");
	dr_expect_equal("app", "inputs.m.\"${env.name}-y\"");
	dr_expect_equal("app", "inputs.m.lit");
	cr_expect_null(dr_find_opt("app", "inputs.m.dev-x"));
	cr_expect_null(dr_find_opt("app", "inputs.m.prod-x"));
	cr_expect_null(dr_find_opt("app", "inputs.m.prod-y"));
}

Test(drift, key_templates_that_differ_are_not_paired)
{
	dr_write("dev/app/unit.yaml", "inputs:\n  m:\n    \"${env.name}-x\": 1\n");
	dr_write("prod/app/unit.yaml", "inputs:\n  m:\n    \"${env.name}-z\": 1\n");
	dr_run();
	dr_expect_class("app", "inputs.m.dev-x", F_PENDING);
	dr_expect_class("app", "inputs.m.prod-z", F_DRIFT);
}

Test(drift, newer_ref_in_the_later_env_is_ahead)
{
	dr_api_units();
	dr_run();
	const struct finding *f = dr_find("app/api", "source");
	cr_expect_eq(f->cls, F_AHEAD, "'%s'", finding_class_name(f));
	cr_expect(finding_is_error(f));
	dr_expect_line(f->at_a, "dev/app/api/unit.yaml", 1);
	dr_expect_line(f->at_b, "prod/app/api/unit.yaml", 1);
}

static void dr_source_pair(const char *id, const char *dev, const char *prod)
{
	char path[256], text[512];
	snprintf(path, sizeof(path), "dev/%s/unit.yaml", id);
	snprintf(text, sizeof(text), "source: \"%s\"\ninputs: {}\n", dev);
	dr_write(path, text);
	snprintf(path, sizeof(path), "prod/%s/unit.yaml", id);
	snprintf(text, sizeof(text), "source: \"%s\"\ninputs: {}\n", prod);
	dr_write(path, text);
}

Test(drift, source_refs)
{
	dr_source_pair("a/pending", "git::https://h/m.git//x?ref=v2.0.0", "git::https://h/m.git//x?ref=v1.9.0");
	dr_source_pair("a/equal", "git::https://h/m.git//x?ref=v1.0.0", "git::https://h/m.git//x?ref=1.0.0");
	dr_source_pair("a/branch", "git::https://h/m.git//x?ref=main", "git::https://h/m.git//x?ref=develop");
	dr_source_pair("a/addr", "git::https://h/m.git//x?ref=v1.0.0", "git::https://h/m.git//y?ref=v1.0.0");
	dr_source_pair("a/unpinned", "git::https://h/m.git//x", "git::https://h/m.git//x?ref=v1.0.0");
	dr_source_pair("a/pre", "git::https://h/m.git//x?ref=v1.0.0-rc.1", "git::https://h/m.git//x?ref=v1.0.0");
	dr_source_pair("app/svc", "git::https://h/m.git//x?ref=main", "git::https://h/m.git//x?ref=v1.0.0");
	dr_run();
	const struct finding *f = dr_find("a/pending", "source");
	cr_expect_eq(f->cls, F_PENDING, "'%s'", finding_class_name(f));
	cr_expect_str_eq(f->hint, "not yet promoted");
	dr_expect_equal("a/equal", "source");
	f = dr_find("a/branch", "source");
	cr_expect_eq(f->cls, F_DRIFT);
	cr_expect_str_eq(f->hint, "cannot order");
	f = dr_find("a/addr", "source");
	cr_expect_eq(f->cls, F_DRIFT);
	cr_expect_str_eq(f->hint, "different module address");
	dr_expect_class("a/unpinned", "source", F_DRIFT);
	dr_expect_class("a/pre", "source", F_AHEAD);
	dr_expect_class("app/svc", "source", F_ALLOWED);
}

Test(drift, units_on_one_side)
{
	dr_write("dev/app/new/unit.yaml", "inputs: {}\n");
	dr_write("prod/app/extra/unit.yaml", "inputs:\n  a: 1\n");
	dr_write("prod/app/special/unit.yaml", "inputs: {}\ndrift:\n  only: [prod]\n");
	dr_write("dev/app/devonly/unit.yaml", "inputs: {}\ndrift:\n  only: [dev]\n");
	dr_write("prod/app/wrongonly/unit.yaml", "inputs: {}\ndrift:\n  only: [dev, prod]\n");
	dr_run();
	const struct finding *f = dr_find("app/new", "(unit)");
	cr_expect_eq(f->cls, F_PENDING, "'%s'", finding_class_name(f));
	cr_expect_str_eq(f->value_a, "present");
	cr_expect_null(f->value_b);
	f = dr_find("app/extra", "(unit)");
	cr_expect_eq(f->cls, F_DRIFT, "'%s'", finding_class_name(f));
	cr_expect(strstr(f->hint, "skipped promotion"), "%s", f->hint);
	dr_expect_line(f->at_b, "prod/app/extra/unit.yaml", 2);	/* its inputs */
	dr_expect_class("app/special", "(unit)", F_ALLOWED);
	dr_expect_class("app/devonly", "(unit)", F_ALLOWED);
	dr_expect_class("app/wrongonly", "(unit)", F_DRIFT);
}

Test(drift, dependency_sets)
{
	dr_write("dev/network/vpc/unit.yaml", "inputs: {}\n");
	dr_write("prod/network/vpc/unit.yaml", "inputs: {}\n");
	dr_write("dev/network/db/unit.yaml", "inputs: {}\n");
	dr_write("prod/network/db/unit.yaml", "inputs: {}\n");
	dr_write("dev/app/unit.yaml",
		 "dependencies:\n"
		 "  vpc: { path: network/vpc, mock_outputs: { id: a } }\n"
		 "  net: { path: network/vpc }\n"
		 "inputs: {}\n");
	dr_write("prod/app/unit.yaml",
		 "dependencies:\n"
		 "  vpc: { path: ../network/vpc, mock_outputs: { id: b } }\n"
		 "  net: { path: network/db }\n"
		 "  db: { path: network/db }\n"
		 "inputs: {}\n");
	dr_run();
	dr_expect_equal("app", "dependencies.vpc");
	const struct finding *f = dr_find("app", "dependencies.net");
	cr_expect_eq(f->cls, F_DRIFT);
	cr_expect_str_eq(f->value_a, "\"network/vpc\"");
	cr_expect_str_eq(f->value_b, "\"network/db\"");
	dr_expect_class("app", "dependencies.db", F_DRIFT);
}

Test(drift, dependency_only_in_earlier_env_is_pending)
{
	dr_write("dev/network/vpc/unit.yaml", "inputs: {}\n");
	dr_write("prod/network/vpc/unit.yaml", "inputs: {}\n");
	dr_write("dev/app/unit.yaml", "dependencies:\n  vpc: { path: network/vpc }\ninputs: {}\n");
	dr_write("prod/app/unit.yaml", "inputs: {}\n");
	dr_run();
	dr_expect_class("app", "dependencies.vpc", F_PENDING);
}

Test(drift, mock_outputs_are_not_compared)
{
	dr_write("dev/network/vpc/unit.yaml", "inputs: {}\n");
	dr_write("prod/network/vpc/unit.yaml", "inputs: {}\n");
	dr_write("dev/app/unit.yaml", "dependencies:\n  vpc: { path: network/vpc, mock_outputs: { id: vpc-dev } }\ninputs: {}\n");
	dr_write("prod/app/unit.yaml", "dependencies:\n  vpc: { path: network/vpc, mock_outputs: { id: vpc-prod } }\ninputs: {}\n");
	dr_run();
	for (size_t i = 0; i < dr_findings.len; i++)
		cr_expect_eq(dr_findings.v[i].cls, F_EQUAL, "%s %s is '%s'", dr_findings.v[i].unit,
			     dr_findings.v[i].key, finding_class_name(&dr_findings.v[i]));
}

Test(drift, quoted_key_paths)
{
	dr_write("dev/app/unit.yaml", "inputs:\n  tags:\n    \"k8s.io/role\": a\n");
	dr_write("prod/app/unit.yaml", "inputs:\n  tags:\n    \"k8s.io/role\": b\n");
	dr_run();
	dr_expect_class("app", "inputs.tags.\"k8s.io/role\"", F_DRIFT);
}

Test(drift, promoted_values_follow_ref_rules)
{
	dr_write("bulkhead.yaml",
		 "version: 1\nproject: demo\n"
		 "environments:\n"
		 "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		 "  prod: { account_id: \"333333333333\", region: eu-west-1 }\n"
		 "drift:\n"
		 "  promoted: [\"*:inputs.image_tag\"]\n");
	dr_write("dev/a/unit.yaml", "inputs:\n  image_tag: v1.2.0\n");
	dr_write("prod/a/unit.yaml", "inputs:\n  image_tag: v1.3.0\n");
	dr_write("dev/b/unit.yaml", "inputs:\n  image_tag: v1.3.0\n");
	dr_write("prod/b/unit.yaml", "inputs:\n  image_tag: v1.2.0\n");
	dr_run();
	dr_expect_class("a", "inputs.image_tag", F_AHEAD);
	dr_expect_class("b", "inputs.image_tag", F_PENDING);
}

Test(drift, secret_values_are_redacted)
{
	dr_write("dev/app/unit.yaml", "inputs:\n  db_password: one\n");
	dr_write("prod/app/unit.yaml", "inputs:\n  db_password: two\n");
	dr_run();
	const struct finding *f = dr_find("app", "inputs.db_password");
	cr_expect_eq(f->cls, F_DRIFT);
	cr_expect_str_eq(f->value_a, "(sensitive)");
	cr_expect_str_eq(f->value_b, "(sensitive)");
}

/* A secret's key anywhere above a leaf hides it; a sibling shows. */
Test(drift, values_beneath_a_secret_key_are_redacted)
{
	dr_write("dev/app/unit.yaml", "inputs:\n  db:\n    credentials:\n      user: alice\n    host: db-dev\n");
	dr_write("prod/app/unit.yaml", "inputs:\n  db:\n    credentials:\n      user: bob\n    host: db-prod\n");
	dr_write("dev/web/unit.yaml", "inputs:\n  api_token:\n    \"a.b\": one\n");
	dr_write("prod/web/unit.yaml", "inputs:\n  api_token:\n    \"a.b\": two\n");
	dr_run();
	const struct finding *host = dr_find("app", "inputs.db.host");
	cr_expect_str_eq(host->value_a, "\"db-dev\"");
	cr_expect_str_eq(host->value_b, "\"db-prod\"");
	const struct finding *user = dr_find("app", "inputs.db.credentials.user");
	cr_expect_str_eq(user->value_a, "\"alice\"", "credentials is no secret's name");
	const struct finding *token = dr_find("web", "inputs.api_token.\"a.b\"");
	cr_expect_eq(token->cls, F_DRIFT);
	cr_expect_str_eq(token->value_a, "(sensitive)");
	cr_expect_str_eq(token->value_b, "(sensitive)");
}

Test(drift, scope_narrows_units)
{
	dr_api_units();
	dr_write("dev/other/unit.yaml", "inputs:\n  x: 1\n");
	dr_write("prod/other/unit.yaml", "inputs:\n  x: 2\n");
	dr_compile();
	const char *globs[] = { "oth*" };
	struct drift_scope scope = { .units = globs, .nunits = 1 };
	drift_pair(&dr_proj, dr_env("dev"), dr_env("prod"), &scope, &dr_findings);
	findings_finish(&dr_findings);
	cr_assert_gt(dr_findings.len, 0);
	for (size_t i = 0; i < dr_findings.len; i++)
		cr_expect_str_eq(dr_findings.v[i].unit, "other");
}

Test(drift, scope_all_records_equal_keys)
{
	dr_api_units();
	dr_compile();
	struct drift_scope scope = { .all = true };
	drift_pair(&dr_proj, dr_env("dev"), dr_env("prod"), &scope, &dr_findings);
	findings_finish(&dr_findings);
	dr_expect_class("app/api", "inputs.same", F_EQUAL);
	dr_expect_class("app/api", "inputs.tags.team", F_EQUAL);
	dr_expect_class("app/api", "inputs.color", F_DRIFT);
	const struct finding *f = dr_find("app/api", "inputs.same");
	cr_expect_str_eq(f->value_a, "1");
	cr_expect_str_eq(f->value_b, "1");
	cr_expect_not(finding_is_error(f) || finding_is_note(f));
}

Test(drift, chain_compares_consecutive_envs)
{
	dr_write("bulkhead.yaml",
		 "version: 1\nproject: demo\n"
		 "environments:\n"
		 "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		 "  stage: { account_id: \"222222222222\", region: eu-west-1 }\n"
		 "  prod: { account_id: \"333333333333\", regions: [us-east-1, us-west-2] }\n"
		 "shared:\n"
		 "  shared-services: { account_id: \"444444444444\", region: eu-west-1 }\n");
	dr_write("dev/app/unit.yaml", "inputs:\n  x: 1\n");
	dr_write("stage/app/unit.yaml", "inputs:\n  x: 2\n");
	dr_write("prod/us-east-1/app/unit.yaml", "inputs:\n  x: 3\n");
	dr_write("prod/us-west-2/app/unit.yaml", "inputs:\n  x: 4\n");
	dr_write("shared-services/app/unit.yaml", "inputs:\n  x: 5\n");
	dr_write("prod/vars.yaml", "a: 1\n");
	dr_compile();
	drift_chain(&dr_proj, NULL, &dr_findings);
	findings_finish(&dr_findings);
	const char *pairs[][2] = {
		{ "dev", "stage" }, { "stage", "prod/us-east-1" }, { "stage", "prod/us-west-2" },
		{ "prod/us-east-1", "prod/us-west-2" },
	};
	size_t n = sizeof(pairs) / sizeof(*pairs), seen = 0;
	for (size_t i = 0; i < dr_findings.len; i++) {
		const struct finding *f = &dr_findings.v[i];
		if (f->cls == F_EQUAL)
			continue;	/* the equal sources */
		bool known = false;
		for (size_t k = 0; k < n; k++)
			known |= !strcmp(f->env_a, pairs[k][0]) && !strcmp(f->env_b, pairs[k][1]);
		cr_expect(known, "unexpected pair %s -> %s", f->env_a, f->env_b);
		cr_expect_str_eq(f->key, "inputs.x");
		cr_expect_eq(f->cls, F_DRIFT);
		cr_expect_str_neq(f->unit, "shared-services", "shared accounts are not in the chain");
		seen++;
	}
	cr_expect_eq(seen, n, "one drift per pair");
}

/* ---- define_node ---- */

static const char dr_def_unit[] =
	"locals:\n"
	"  l: ${var.b}-x\n"
	"  m: ${local.l}/${var.c}\n"
	"inputs:\n"
	"  x: ${var.a + 1}\n"
	"  y: \"${ var.a+1 }\"\n"
	"  z: ${var.a + 2}\n"
	"  w: ${local.m}\n"
	"  lit: abc\n"
	"  num: 5\n"
	"  mixed: pre-${var.a}-${local.l}\n";

static const struct node *dr_input_node(struct unit *u, const char *key)
{
	const struct node *n = node_map_get(node_map_get(u->config, "inputs"), key);
	cr_assert_not_null(n, "no inputs.%s", key);
	return n;
}

static void dr_expect_knob(const struct definition *d, size_t i, const char *want)
{
	cr_assert_lt(i, d->nknobs);
	struct buf b = BUF_INIT;
	expr_print(d->knobs[i].ref, &b);
	cr_expect_str_eq(buf_cstr(&b), want);
	buf_free(&b);
}

Test(define, spacing_and_quoting_do_not_matter)
{
	dr_write("dev/app/unit.yaml", dr_def_unit);
	dr_compile();
	struct unit *u = env_find_unit(dr_env("dev"), "app");
	struct definition x, y, z;
	define_node(&dr_proj, u, dr_input_node(u, "x"), &x);
	define_node(&dr_proj, u, dr_input_node(u, "y"), &y);
	define_node(&dr_proj, u, dr_input_node(u, "z"), &z);
	cr_expect_str_eq(x.text, y.text);
	cr_expect_str_neq(x.text, z.text);
	cr_expect_eq(x.nknobs, 1);
	dr_expect_knob(&x, 0, "var.a");
	cr_expect_eq(x.knobs[0].where, dr_input_node(u, "x"), "the scalar the knob is written in");
	cr_expect_not(x.literal);
}

Test(define, local_chains_are_included)
{
	dr_write("dev/app/unit.yaml", dr_def_unit);
	dr_compile();
	struct unit *u = env_find_unit(dr_env("dev"), "app");
	struct definition w;
	define_node(&dr_proj, u, dr_input_node(u, "w"), &w);
	cr_expect(strstr(w.text, "local.m := "), "%s", w.text);
	cr_expect(strstr(w.text, "local.l := "), "%s", w.text);
	cr_assert_eq(w.nknobs, 2, "%s", w.text);
	/* In reading order: local.l (and its var.b) comes before var.c. */
	dr_expect_knob(&w, 0, "var.b");
	dr_expect_knob(&w, 1, "var.c");
	const struct node *locals = node_map_get(u->config, "locals");
	cr_expect_eq(w.knobs[0].where, node_map_get(locals, "l"));
	cr_expect_eq(w.knobs[1].where, node_map_get(locals, "m"));
	cr_expect_not(w.literal);
	struct definition mixed;
	define_node(&dr_proj, u, dr_input_node(u, "mixed"), &mixed);
	cr_expect_eq(mixed.nknobs, 2, "var.a, then var.b through local.l");
}

Test(define, literals_have_no_knobs)
{
	dr_write("dev/app/unit.yaml", dr_def_unit);
	dr_compile();
	struct unit *u = env_find_unit(dr_env("dev"), "app");
	struct definition lit, num, none;
	define_node(&dr_proj, u, dr_input_node(u, "lit"), &lit);
	define_node(&dr_proj, u, dr_input_node(u, "num"), &num);
	define_node(&dr_proj, u, NULL, &none);
	cr_expect(lit.literal);
	cr_expect_eq(lit.nknobs, 0);
	cr_expect(num.literal);
	cr_expect_str_neq(lit.text, num.text);
	cr_expect_not(none.literal, "a computed value is no literal");
	cr_expect_str_eq(none.text, "(computed)");
}

Test(define, same_text_across_envs_and_files)
{
	/* Written in an include in one env and in the unit in the other. */
	dr_write("_common/x.yaml", "inputs:\n  v: \"${var.a*2}\"\n");
	dr_write("dev/app/unit.yaml", "include: [//_common/x.yaml]\n");
	dr_write("prod/app/unit.yaml", "inputs:\n  v: ${ var.a * 2 }\n");
	dr_run();
	const struct finding *f = dr_find("app", "inputs.v");
	cr_expect_eq(f->cls, F_PARAMETERIZED, "'%s'", finding_class_name(f));
	cr_expect_str_eq(f->hint, "var.a: 1 -> 5");
	dr_expect_line(f->at_a, "_common/x.yaml", 2);
}

Test(define, knobs_end_the_chain)
{
	dr_write("dev/network/vpc/unit.yaml", "inputs: {}\n");
	dr_write("dev/app/unit.yaml",
		 "dependencies:\n  vpc: { path: network/vpc, mock_outputs: { id: x } }\n"
		 "inputs:\n"
		 "  a: ${upper(env.name)}-${unit.path}-${envs.dev.region}-${dependency.vpc.outputs.id}\n");
	dr_compile();
	struct unit *u = env_find_unit(dr_env("dev"), "app");
	struct definition a;
	define_node(&dr_proj, u, dr_input_node(u, "a"), &a);
	cr_assert_eq(a.nknobs, 4);
	dr_expect_knob(&a, 0, "env.name");
	dr_expect_knob(&a, 1, "unit.path");
	dr_expect_knob(&a, 2, "envs.dev.region");
	dr_expect_knob(&a, 3, "dependency.vpc.outputs.id");
}

/* define_same_in, which keeps no text, says what comparing the texts of
 * define_node says: for every pair of leaves of two units whose local.l
 * differs, through one reused scratch, with a node of a shared include
 * and a computed value among them. */
Test(define, same_in_agrees_with_the_texts)
{
	static const char *const keys[] = { "x", "y", "z", "w", "lit", "num", "mixed", "inc", NULL };
	dr_write("_common/inc.yaml", "inputs:\n  inc: ${var.a + 1}\n");
	dr_write("dev/app/unit.yaml", "include: [//_common/inc.yaml]\n" "locals:\n  l: ${var.b}-x\n"
		 "  m: ${local.l}/${var.c}\n" "inputs:\n  x: ${var.a + 1}\n  y: \"${ var.a+1 }\"\n"
		 "  z: ${var.a + 2}\n  w: ${local.m}\n  lit: abc\n  num: 5\n  mixed: pre-${var.a}-${local.l}\n");
	dr_write("prod/app/unit.yaml", "include: [//_common/inc.yaml]\n" "locals:\n  l: ${var.b}-y\n"
		 "  m: ${local.l}/${var.c}\n" "inputs:\n  x: ${var.a+1}\n  y: ${var.a * 1}\n"
		 "  z: ${var.a + 2}\n  w: ${local.m}\n  lit: abc\n  num: \"5\"\n  mixed: pre-${var.a}-${local.l}\n");
	dr_compile();
	struct unit *a = env_find_unit(dr_env("dev"), "app"), *b = env_find_unit(dr_env("prod"), "app");
	struct define_scratch scratch = { 0 };
	struct map cache;
	map_init(&cache);
	size_t same = 0;
	for (size_t i = 0; i <= 8; i++)
		for (size_t k = 0; k <= 8; k++) {
			const struct node *na = keys[i] ? dr_input_node(a, keys[i]) : NULL;
			const struct node *nb = keys[k] ? dr_input_node(b, keys[k]) : NULL;
			struct definition da, db;
			define_node(&dr_proj, a, na, &da);
			define_node(&dr_proj, b, nb, &db);
			bool want = !strcmp(da.text, db.text);
			bool got = define_same_in(&dr_proj, &dr_proj.arena, &cache, &scratch, a, na, b, nb);
			cr_expect_eq(got, want, "dev %s vs prod %s: %s and %s", keys[i] ? keys[i] : "(computed)",
				     keys[k] ? keys[k] : "(computed)", da.text, db.text);
			same += want;
		}
	/* var.a + 1 is written as dev's x, y and inc and prod's x and inc
	 * (6 pairs); z, lit and the computed value match themselves; prod's
	 * y is var.a * 1, its num a string, and its local.l changes w and
	 * mixed. */
	cr_expect_eq(same, 9, "pairs with the same definition: %zu", same);
	map_free(&cache);
	define_scratch_free(&scratch);
}

/* The same unit file in two envs reaching the same includes shares one
 * configuration (include.c), and drift takes its definitions as alike
 * without making them.  The same bytes reaching different files (a
 * relative include, an exposed one) are merged and defined per unit. */
Test(define, a_shared_configuration_is_defined_alike)
{
	static const char same[] = "include: [//_common/role.yaml]\nlocals:\n  r: ${var.replicas}-x\n"
				   "inputs:\n  role: ${local.role}\n  r: ${local.r}\n";
	static const char near[] = "include: [../role.yaml]\ninputs:\n  role: ${local.role}\n";
	static const char exposed[] = "include: [{ path: ../role.yaml, as: near, merge: none }]\n"
				      "inputs:\n  role: ${include.near.locals.role}\n";
	dr_write("_common/role.yaml", "locals:\n  role: r-${var.replicas}\n");
	dr_write("dev/role.yaml", "locals:\n  role: a-${var.replicas}\n");
	dr_write("prod/role.yaml", "locals:\n  role: b-${var.replicas}\n");
	const char *const units[][2] = { { "same", same }, { "near", near }, { "exposed", exposed } };
	for (size_t i = 0; i < 3; i++)
		for (size_t e = 0; e < 2; e++) {
			char path[64];
			snprintf(path, sizeof(path), "%s/%s/unit.yaml", e ? "prod" : "dev", units[i][0]);
			dr_write(path, units[i][1]);
		}
	dr_run();
	struct unit *a = env_find_unit(dr_env("dev"), "same"), *b = env_find_unit(dr_env("prod"), "same");
	cr_expect_eq(a->config, b->config, "the same bytes and includes share a configuration");
	const struct finding *f = dr_find("same", "inputs.role");
	cr_expect_eq(f->cls, F_PARAMETERIZED, "'%s'", finding_class_name(f));
	cr_expect_str_eq(f->hint, "var.replicas: 2 -> 6");
	dr_expect_class("same", "inputs.r", F_PARAMETERIZED);
	a = env_find_unit(dr_env("dev"), "near");
	b = env_find_unit(dr_env("prod"), "near");
	cr_expect_neq(a->config, b->config, "../role.yaml is another file in each env");
	dr_expect_class("near", "inputs.role", F_DRIFT);
	dr_expect_class("exposed", "inputs.role", F_DRIFT);
	/* The lean comparison a build and drift make takes the same path. */
	struct define_scratch scratch = { 0 };
	struct map cache;
	map_init(&cache);
	a = env_find_unit(dr_env("dev"), "same");
	b = env_find_unit(dr_env("prod"), "same");
	cr_expect(define_same_in(&dr_proj, &dr_proj.arena, &cache, &scratch, a, dr_input_node(a, "role"), b,
				 dr_input_node(b, "role")));
	a = env_find_unit(dr_env("dev"), "exposed");
	b = env_find_unit(dr_env("prod"), "exposed");
	cr_expect_not(define_same_in(&dr_proj, &dr_proj.arena, &cache, &scratch, a, dr_input_node(a, "role"), b,
				     dr_input_node(b, "role")));
	map_free(&cache);
	define_scratch_free(&scratch);
}

/* show --explain records each unit's overrides: no configuration is
 * shared when provenance is on. */
Test(define, provenance_merges_each_unit)
{
	static const char text[] = "include: [//_common/x.yaml]\ninputs:\n  v: 2\n";
	dr_write("_common/x.yaml", "inputs:\n  v: 1\n");
	dr_write("dev/app/unit.yaml", text);
	dr_write("prod/app/unit.yaml", text);
	dr_close();
	cr_assert_eq(project_open(&dr_proj, dr_root, &(struct source_spec){ .provenance = true }), 0);
	dr_opened = true;
	cr_assert_eq(compile_units(&dr_proj), 0);
	struct unit *a = env_find_unit(dr_env("dev"), "app"), *b = env_find_unit(dr_env("prod"), "app");
	cr_expect_neq(a->config, b->config);
	cr_expect_eq(a->overrides.len, 1, "dev's own override of inputs.v");
	cr_expect_eq(b->overrides.len, 1, "prod's own override of inputs.v");
}

/* ---- fingerprints ---- */

struct dr_print {
	char unit[64], key[64], cls[32], fp[17];
	unsigned line_b;
};

static size_t dr_snapshot(struct dr_print *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < dr_findings.len && n < cap; i++) {
		const struct finding *f = &dr_findings.v[i];
		if (f->cls == F_EQUAL)
			continue;
		snprintf(out[n].unit, sizeof(out[n].unit), "%s", f->unit);
		snprintf(out[n].key, sizeof(out[n].key), "%s", f->key);
		snprintf(out[n].cls, sizeof(out[n].cls), "%s", finding_class_name(f));
		memcpy(out[n].fp, f->fingerprint, sizeof(out[n].fp));
		unsigned c = 0;
		out[n].line_b = 0;
		if (f->at_b.file)
			srcfile_position(f->at_b.file, f->at_b.off, &out[n].line_b, &c);
		n++;
	}
	return n;
}

Test(drift, fingerprints_are_16_hex_and_stable_when_lines_move)
{
	dr_api_units();
	dr_run();
	struct dr_print before[32], after[32];
	size_t n = dr_snapshot(before, 32);
	cr_assert_gt(n, 5);
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(strlen(before[i].fp), 16, "%s", before[i].fp);
		cr_expect_eq(strspn(before[i].fp, "0123456789abcdef"), 16, "%s", before[i].fp);
	}
	/* The same repo with three lines inserted above everything. */
	struct buf dev = BUF_INIT, prod = BUF_INIT;
	buf_printf(&dev, "# moved\n\n# down\n%s", dr_api_dev);
	buf_printf(&prod, "# moved\n\n# down\n%s", dr_api_prod);
	dr_write("dev/app/api/unit.yaml", dev.data);
	dr_write("prod/app/api/unit.yaml", prod.data);
	buf_free(&dev);
	buf_free(&prod);
	dr_run();
	cr_assert_eq(dr_snapshot(after, 32), n);
	for (size_t i = 0; i < n; i++) {
		cr_expect_str_eq(after[i].key, before[i].key);
		cr_expect_str_eq(after[i].fp, before[i].fp, "%s moved", before[i].key);
		if (before[i].line_b)
			cr_expect_eq(after[i].line_b, before[i].line_b + 3, "%s: the lines did move", before[i].key);
	}
}

Test(drift, fingerprint_is_xxh3_of_envs_unit_key_class)
{
	dr_api_units();
	dr_run();
	const struct finding *f = dr_find("app/api", "inputs.color");
	static const char parts[] = "dev\0prod\0app/api\0inputs.color\0drift";
	char want[17];
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)XXH3_64bits(parts, sizeof(parts) - 1));
	cr_expect_str_eq(f->fingerprint, want);
}

Test(drift, findings_finish_sorts_and_merges_duplicates)
{
	struct findings fs = { 0 };
	const char *units[] = { "b", "a", "b", "a" };
	const char *keys[] = { "inputs.y", "inputs.x", "inputs.x", "inputs.x" };
	for (size_t i = 0; i < 4; i++) {
		struct finding *f = findings_add(&fs);
		f->cls = F_DRIFT;
		f->env_a = "dev";
		f->env_b = "prod";
		f->unit = units[i];
		f->key = keys[i];
	}
	findings_finish(&fs);
	cr_assert_eq(fs.len, 3, "two findings on one leaf are one");
	cr_expect_str_eq(fs.v[0].unit, "a");
	cr_expect_str_eq(fs.v[1].unit, "b");
	cr_expect_str_eq(fs.v[1].key, "inputs.x");
	cr_expect_str_eq(fs.v[2].key, "inputs.y");
	cr_expect_str_neq(fs.v[1].fingerprint, fs.v[2].fingerprint);
	findings_free(&fs);
	cr_expect_eq(fs.len, 0);
	cr_expect_null(fs.v);
}

Test(drift, class_names_and_severities)
{
	struct finding f = { .cls = F_POLICY, .rule = "cross-account" };
	cr_expect_str_eq(finding_class_name(&f), "cross-account");
	cr_expect(finding_is_error(&f));
	f.baselined = true;
	cr_expect_not(finding_is_error(&f));
	struct finding p = { .cls = F_PENDING };
	cr_expect_str_eq(finding_class_name(&p), "pending");
	cr_expect(finding_is_note(&p));
	struct finding a = { .cls = F_AHEAD };
	cr_expect(finding_is_error(&a));
	struct finding q = { .cls = F_PARAMETERIZED };
	cr_expect_not(finding_is_error(&q) || finding_is_note(&q));
	struct finding l = { .cls = F_ALLOWED };
	cr_expect_str_eq(finding_class_name(&l), "allowed");
	cr_expect_not(finding_is_error(&l) || finding_is_note(&l));
}
