/* test_policy.c - compiler/policy.c: every rule once positive and once
 * negative (cross-account, cidr-overlap, unpinned-source, shared-account,
 * plaintext-secret), and policy.allow waivers. */
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
#include "policy.h"
#include "policy_rules.h"

static char pl_root[PATH_MAX];
static struct project pl_proj;
static bool pl_opened;
static struct findings pl_findings;

static const char pl_envs[] =
	"environments:\n"
	"  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
	"  prod: { account_id: \"333333333333\", region: eu-west-1, protected: true }\n"
	"shared:\n"
	"  shared-services: { account_id: \"444444444444\", region: eu-west-1 }\n";

static void pl_mkdirs(const char *rel)
{
	fixture_mkdirs(pl_root, rel);
}

static void pl_write(const char *rel, const char *text)
{
	fixture_write(pl_root, rel, text);
}

/* bulkhead.yaml: the header, extra settings, then the environments. */
static void pl_project(const char *settings, const char *envs)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "version: 1\nproject: demo\n%s%s", settings, envs ? envs : pl_envs);
	pl_write("bulkhead.yaml", b.data);
	buf_free(&b);
}

static void pl_setup(void)
{
	diag_clear();
	diag_set_color(0);
	fixture_tmpdir("pl", pl_root);
	pl_opened = false;
	memset(&pl_findings, 0, sizeof(pl_findings));
	pl_project("", NULL);
	pl_mkdirs("dev");
	pl_mkdirs("prod");
	pl_mkdirs("shared-services");
}

static void pl_teardown(void)
{
	diag_clear();
	findings_free(&pl_findings);
	if (pl_opened)
		project_close(&pl_proj);
	pl_opened = false;
	if (pl_root[0])
		fixture_rm_rf(pl_root);
}

TestSuite(policy, .init = pl_setup, .fini = pl_teardown);

/* Compiles the project as compile_run does, then runs the checks. */
static void pl_check(void)
{
	fixture_compile(&pl_proj, pl_root, &pl_opened);
	policy_check(&pl_proj, &pl_findings);
	findings_finish(&pl_findings);
	char *out = diag_capture();
	cr_expect_str_eq(out, "", "policy_check reported:\n%s", out);
	free(out);
}

static size_t pl_count(const char *rule)
{
	size_t n = 0;
	for (size_t i = 0; i < pl_findings.len; i++) {
		const struct finding *f = &pl_findings.v[i];
		cr_expect_eq(f->cls, F_POLICY);
		cr_expect(finding_is_error(f));
		n += !strcmp(f->rule, rule);
	}
	return n;
}

/* Every rule a check reports is listed, for policy.allow and SARIF. */
static bool pl_rule_listed(const char *rule)
{
	for (size_t k = 0; policy_rules[k].id; k++)
		if (!strcmp(policy_rules[k].id, rule))
			return true;
	return false;
}

static const struct finding *pl_find(const char *rule, const char *unit, const char *key)
{
	for (size_t i = 0; i < pl_findings.len; i++) {
		const struct finding *f = &pl_findings.v[i];
		if (!strcmp(f->rule, rule) && !strcmp(f->unit, unit) && !strcmp(f->key, key)) {
			cr_expect(pl_rule_listed(f->rule), "rule %s is not in policy_rules", f->rule);
			return f;
		}
	}
	cr_assert_fail("no %s finding for %s %s", rule, unit, key);
	return NULL;
}

static void pl_expect_line(struct place at, const char *path, unsigned line)
{
	cr_assert_not_null(at.file, "no location");
	unsigned l, c;
	srcfile_position(at.file, at.off, &l, &c);
	cr_expect_str_eq(at.file->path, path);
	cr_expect_eq(l, line, "%s: line %u, want %u", path, l, line);
}

/* ---- cross-account ---- */

Test(policy, cross_account_leak)
{
	pl_write("dev/app/unit.yaml",
		 "inputs:\n"
		 "  role: arn:aws:iam::333333333333:role/deploy\n"
		 "  principals: [\"arn:aws:iam::333333333333:root\"]\n"
		 "  embedded: x333333333333y\n");
	pl_check();
	cr_expect_eq(pl_count("cross-account"), 3);
	const struct finding *f = pl_find("cross-account", "app", "inputs.role");
	cr_expect_str_eq(f->env_a, "dev");
	cr_expect_str_eq(f->env_b, "dev");
	cr_expect_str_eq(f->hint, "names account 333333333333 of 'prod'");
	cr_expect_str_eq(f->value_b, "\"arn:aws:iam::333333333333:role/deploy\"");
	pl_expect_line(f->at_b, "dev/app/unit.yaml", 2);
	pl_find("cross-account", "app", "inputs.principals");
	pl_find("cross-account", "app", "inputs.embedded");
	cr_expect_eq(strlen(f->fingerprint), 16);
}

Test(policy, cross_account_negatives)
{
	pl_write("dev/app/unit.yaml",
		 "inputs:\n"
		 "  own: arn:aws:iam::111111111111:role/x\n"
		 "  shared: 444444444444.dkr.ecr.eu-west-1.amazonaws.com/app\n"
		 "  longer: \"1333333333333\"\n"
		 "  shorter: \"33333333333\"\n"
		 "  number: 333333333333\n");
	/* A shared account may name env accounts (an ECR repository policy). */
	pl_write("shared-services/ecr/unit.yaml",
		 "inputs:\n  pull: [\"arn:aws:iam::111111111111:root\", \"arn:aws:iam::333333333333:root\"]\n");
	pl_check();
	cr_expect_eq(pl_count("cross-account"), 0);
}

Test(policy, cross_account_through_an_expression)
{
	pl_write("dev/app/unit.yaml", "inputs:\n  peer: \"arn:aws:iam::${envs.prod.account_id}:root\"\n");
	pl_check();
	const struct finding *f = pl_find("cross-account", "app", "inputs.peer");
	pl_expect_line(f->at_b, "dev/app/unit.yaml", 2);
}

Test(policy, cross_account_secret_key_is_redacted)
{
	pl_write("dev/app/unit.yaml", "inputs:\n  token_owner: \"333333333333\"\n");
	pl_check();
	const struct finding *f = pl_find("cross-account", "app", "inputs.token_owner");
	cr_expect_str_eq(f->value_b, "(sensitive)");
}

/* A key path spells a key with a dot quoted, as allow lists write it;
 * the rules read the key itself, and a secret's key anywhere above a
 * leaf hides it. */
Test(policy, key_paths_quote_odd_keys)
{
	pl_write("dev/app/unit.yaml",
		 "inputs:\n"
		 "  tags:\n"
		 "    \"db.password\": hunter2\n"
		 "    \"net.vpc_cidr\": 10.0.0.0/16\n"
		 "  api_token:\n"
		 "    owner: \"333333333333\"\n");
	pl_write("prod/app/unit.yaml", "inputs:\n  vpc_cidr: 10.0.0.0/16\n");
	pl_check();
	const struct finding *f = pl_find("plaintext-secret", "app", "inputs.tags.\"db.password\"");
	cr_expect_str_eq(f->value_b, "(sensitive)");
	cr_expect_eq(pl_count("cidr-overlap"), 0, "the key is 'net.vpc_cidr', not 'vpc_cidr'");
	f = pl_find("cross-account", "app", "inputs.api_token.owner");
	cr_expect_str_eq(f->value_b, "(sensitive)", "beneath api_token");
}

/* ---- cidr-overlap ---- */

Test(policy, cidr_overlap_ipv4)
{
	pl_write("dev/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: 10.0.0.0/16\n");
	pl_write("prod/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: 10.0.128.0/17\n");
	pl_check();
	cr_expect_eq(pl_count("cidr-overlap"), 1);
	const struct finding *f = pl_find("cidr-overlap", "network/vpc", "inputs.vpc_cidr");
	cr_expect_str_eq(f->env_a, "dev");
	cr_expect_str_eq(f->env_b, "prod");
	cr_expect_str_eq(f->value_a, "\"10.0.0.0/16\"");
	cr_expect_str_eq(f->value_b, "\"10.0.128.0/17\"");
	cr_expect_str_eq(f->hint, "overlaps 10.0.0.0/16 of 'network/vpc' in 'dev'");
	pl_expect_line(f->at_a, "dev/network/vpc/unit.yaml", 2);
	pl_expect_line(f->at_b, "prod/network/vpc/unit.yaml", 2);
}

Test(policy, cidr_no_overlap_ipv4)
{
	pl_write("dev/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: 10.0.0.0/16\n  other: {cidr_block: 10.2.0.0/16}\n");
	pl_write("prod/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: 10.1.0.0/16\n");
	/* Overlaps within one env are not this rule's business. */
	pl_write("dev/network/peer/unit.yaml", "inputs:\n  vpc_cidr: 10.0.0.0/16\n");
	pl_check();
	cr_expect_eq(pl_count("cidr-overlap"), 0);
}

Test(policy, cidr_overlap_nested_keys_and_shared_accounts)
{
	pl_write("dev/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: 10.0.0.0/8\n");
	pl_write("prod/network/vpc/unit.yaml", "inputs:\n  subnets:\n    a:\n      cidr_block: 10.1.0.0/16\n");
	pl_write("shared-services/network/unit.yaml", "inputs:\n  vpc_cidr: 10.2.0.0/16\n");
	pl_check();
	cr_expect_eq(pl_count("cidr-overlap"), 2, "dev overlaps both; prod and shared do not overlap");
	pl_find("cidr-overlap", "network/vpc", "inputs.subnets.a.cidr_block");
	const struct finding *f = pl_find("cidr-overlap", "network", "inputs.vpc_cidr");
	cr_expect_str_eq(f->env_a, "dev");
	cr_expect_str_eq(f->env_b, "shared-services");
}

/* A prefix meets the prefixes that contain it or lie in it, whatever the
 * order they come in: here a /24 that starts where a larger block of the
 * same env starts, and a /24 beside it in prod that only the larger one
 * holds; many same-env uses of one block are no finding. */
Test(policy, cidr_overlap_meets_only_the_blocks_that_nest)
{
	pl_write("dev/a/unit.yaml", "inputs:\n  cidr_block: 10.0.0.0/24\n");
	pl_write("dev/b/unit.yaml", "inputs:\n  vpc_cidr: 10.0.0.0/16\n");
	for (int i = 0; i < 40; i++) {
		char path[64];
		snprintf(path, sizeof(path), "dev/same/u%02d/unit.yaml", i);
		pl_write(path, "inputs:\n  vpc_cidr: 10.9.0.0/16\n");
	}
	pl_write("prod/c/unit.yaml", "inputs:\n  cidr_block: 10.0.1.0/24\n");
	pl_write("prod/d/unit.yaml", "inputs:\n  cidr_block: [10.0.0.128/25, 10.7.0.0/16]\n");
	pl_check();
	/* prod/c meets dev/b's /16 only; prod/d's /25 meets both of dev's
	 * blocks, and its leaf (a list is one leaf) keeps the pair of the
	 * use first in order of address and then of the walk: dev/a's. */
	cr_expect_eq(pl_count("cidr-overlap"), 2);
	const struct finding *c = pl_find("cidr-overlap", "c", "inputs.cidr_block");
	cr_expect_str_eq(c->hint, "overlaps 10.0.0.0/16 of 'b' in 'dev'");
	const struct finding *d = pl_find("cidr-overlap", "d", "inputs.cidr_block");
	cr_expect_str_eq(d->hint, "overlaps 10.0.0.0/24 of 'a' in 'dev'");
	cr_expect_str_eq(d->value_b, "\"10.0.0.128/25\"");
}

Test(policy, cidr_overlap_ipv6)
{
	pl_write("dev/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: \"2001:db8::/32\"\n");
	pl_write("prod/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: \"2001:db8:1::/48\"\n");
	pl_check();
	cr_expect_eq(pl_count("cidr-overlap"), 1);
}

Test(policy, cidr_no_overlap_ipv6)
{
	pl_write("dev/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: \"2001:db8::/32\"\n");
	pl_write("prod/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: \"2001:db9::/32\"\n");
	pl_write("shared-services/network/unit.yaml", "inputs:\n  vpc_cidr: 10.0.0.0/8\n");
	pl_check();
	cr_expect_eq(pl_count("cidr-overlap"), 0, "different prefixes, and IPv4 never meets IPv6 here");
}

Test(policy, cidr_keys_replace_the_defaults)
{
	pl_project("policy:\n  cidr_keys: [subnet_range]\n", NULL);
	pl_write("dev/network/vpc/unit.yaml", "inputs:\n  subnet_range: 10.0.0.0/16\n  vpc_cidr: 172.16.0.0/12\n");
	pl_write("prod/network/vpc/unit.yaml", "inputs:\n  subnet_range: 10.0.0.0/24\n  vpc_cidr: 172.16.0.0/16\n");
	pl_check();
	cr_expect_eq(pl_count("cidr-overlap"), 1);
	pl_find("cidr-overlap", "network/vpc", "inputs.subnet_range");
}

Test(policy, cidr_values_that_are_not_cidrs)
{
	pl_write("dev/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: 10.0.0.0\n  cidr_block: 10.0.0.0/33\n");
	pl_write("prod/network/vpc/unit.yaml", "inputs:\n  vpc_cidr: not-a-cidr/16\n  cidr_block: 10.0.0.0/x\n");
	pl_check();
	cr_expect_eq(pl_count("cidr-overlap"), 0);
}

/* ---- unpinned-source ---- */

static void pl_source(const char *env, const char *id, const char *source)
{
	char path[256], text[512];
	snprintf(path, sizeof(path), "%s/%s/unit.yaml", env, id);
	snprintf(text, sizeof(text), "source: \"%s\"\ninputs: {}\n", source);
	pl_write(path, text);
}

Test(policy, unpinned_sources_in_protected_envs)
{
	pl_source("prod", "branch", "git::https://h/m.git//x?ref=main");
	pl_source("prod", "noref", "git::https://h/m.git//x");
	pl_source("prod", "short", "git::https://h/m.git//x?ref=1.2");
	pl_source("prod", "shortsha", "git::https://h/m.git//x?ref=0123456");
	pl_check();
	cr_expect_eq(pl_count("unpinned-source"), 4);
	const struct finding *f = pl_find("unpinned-source", "branch", "source");
	cr_expect_str_eq(f->env_b, "prod");
	cr_expect_str_eq(f->value_b, "\"git::https://h/m.git//x?ref=main\"");
	pl_expect_line(f->at_b, "prod/branch/unit.yaml", 1);
	pl_find("unpinned-source", "noref", "source");
}

Test(policy, pinned_sources_and_unprotected_envs)
{
	pl_source("prod", "tag", "git::https://h/m.git//x?ref=v1.2.3");
	pl_source("prod", "bare", "git::https://h/m.git//x?ref=1.2.3-rc.1");
	pl_source("prod", "sha", "git::https://h/m.git//x?ref=0123456789abcdef0123456789abcdef01234567");
	pl_source("prod", "amp", "git::https://h/m.git//x?depth=1&ref=v2.0.0");
	pl_source("prod", "local", "../../modules/x");
	pl_source("prod", "root", "//modules/x");
	pl_mkdirs("modules/x");
	pl_source("dev", "branch", "git::https://h/m.git//x?ref=main");
	pl_write("prod/nosource/unit.yaml", "inputs: {}\n");
	pl_check();
	cr_expect_eq(pl_count("unpinned-source"), 0);
}

/* ---- shared-account ---- */

static const char pl_shared_envs[] =
	"environments:\n"
	"  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
	"  stage: { account_id: \"111111111111\", region: eu-west-1 }\n"
	"  prod: { account_id: \"333333333333\", regions: [eu-west-1, us-east-1] }\n"
	"shared:\n"
	"  shared-services: { account_id: \"444444444444\", region: eu-west-1 }\n";

Test(policy, shared_account)
{
	pl_project("", pl_shared_envs);
	pl_mkdirs("stage");
	pl_mkdirs("prod/eu-west-1");
	pl_mkdirs("prod/us-east-1");
	pl_check();
	cr_expect_eq(pl_count("shared-account"), 1, "the regions of one env share its account");
	const struct finding *f = pl_find("shared-account", "(project)", "account_id");
	cr_expect_str_eq(f->env_a, "dev");
	cr_expect_str_eq(f->env_b, "stage");
	cr_expect_str_eq(f->value_a, "\"111111111111\"");
	pl_expect_line(f->at_a, "bulkhead.yaml", 4);
	pl_expect_line(f->at_b, "bulkhead.yaml", 5);
}

Test(policy, unique_accounts_false_waives_promotion_envs_only)
{
	pl_project("policy: { unique_accounts: false }\n",
		   "environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		   "  stage: { account_id: \"111111111111\", region: eu-west-1 }\n"
		   "shared:\n"
		   "  shared-services: { account_id: \"444444444444\", region: eu-west-1 }\n");
	pl_mkdirs("stage");
	pl_check();
	cr_expect_eq(pl_count("shared-account"), 0);
}

Test(policy, shared_accounts_stay_unique)
{
	pl_project("policy: { unique_accounts: false }\n",
		   "environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		   "shared:\n"
		   "  shared-services: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pl_check();
	cr_expect_eq(pl_count("shared-account"), 1);
	const struct finding *f = pl_find("shared-account", "(project)", "account_id");
	cr_expect_str_eq(f->env_b, "shared-services");
}

/* ---- plaintext-secret ---- */

Test(policy, plaintext_secret)
{
	pl_write("dev/app/unit.yaml",
		 "locals:\n"
		 "  t: abc123\n"
		 "inputs:\n"
		 "  db_password: hunter2\n"
		 "  api_token: ${local.t}\n"
		 "  auth:\n"
		 "    Private_Key: \"-----BEGIN KEY-----\"\n"
		 "  ClientSecret: s3cr3t\n");
	pl_check();
	cr_expect_eq(pl_count("plaintext-secret"), 4);
	const struct finding *f = pl_find("plaintext-secret", "app", "inputs.db_password");
	cr_expect_str_eq(f->value_b, "(sensitive)");
	cr_expect_str_eq(f->env_b, "dev");
	pl_expect_line(f->at_b, "dev/app/unit.yaml", 4);
	pl_find("plaintext-secret", "app", "inputs.api_token");
	pl_find("plaintext-secret", "app", "inputs.auth.Private_Key");
	pl_find("plaintext-secret", "app", "inputs.ClientSecret");
}

Test(policy, secret_references_are_not_plaintext)
{
	pl_write("dev/vars.yaml", "pw_name: db\n");
	pl_write("dev/app/unit.yaml",
		 "inputs:\n"
		 "  db_password: ${secret(\"db_password\")}\n"
		 "  admin_password: ${env_secret(\"admin\")}\n"
		 "  other_password: ${env_secret(var.pw_name)}\n"
		 "  empty_password: \"\"\n"
		 "  password_length: 16\n"
		 "  token_ttl: 3600\n"
		 "  name: hunter2\n");
	pl_check();
	cr_expect_eq(pl_count("plaintext-secret"), 0);
}

Test(policy, secret_from_a_knob_is_not_plaintext)
{
	pl_write("dev/vars.yaml", "pw: from-vars\n");
	pl_write("dev/app/unit.yaml", "inputs:\n  db_password: ${var.pw}\n  api_token: pre-${env.name}\n");
	pl_check();
	cr_expect_eq(pl_count("plaintext-secret"), 0);
}

/* ---- policy.allow ---- */

Test(policy, allow_waives_one_rule)
{
	pl_project("policy:\n"
		   "  allow:\n"
		   "    - \"app/*:inputs.db_*:plaintext-secret\"\n"
		   "    - \"(project):account_id:shared-account\"\n"
		   "    - \"*:inputs.vpc_cidr:cidr-overlap\"\n"
		   "    - \"app/web:inputs.role:plaintext-secret\"\n",
		   "environments:\n"
		   "  dev: { account_id: \"111111111111\", region: eu-west-1 }\n"
		   "  prod: { account_id: \"111111111111\", region: eu-west-1 }\n");
	pl_write("dev/app/api/unit.yaml", "inputs:\n  db_password: hunter2\n  api_token: t0k3n\n  vpc_cidr: 10.0.0.0/16\n");
	pl_write("prod/app/api/unit.yaml", "inputs:\n  vpc_cidr: 10.0.0.0/16\n");
	pl_write("dev/app/web/unit.yaml", "inputs:\n  role: \"arn:aws:iam::222222222222:role/x\"\n");
	pl_check();
	cr_expect_eq(pl_count("shared-account"), 0);
	cr_expect_eq(pl_count("cidr-overlap"), 0);
	cr_expect_eq(pl_count("plaintext-secret"), 1, "api_token is not waived");
	pl_find("plaintext-secret", "app/api", "inputs.api_token");
}

Test(policy, allow_for_another_rule_does_not_waive)
{
	pl_project("policy:\n  allow: [\"app:inputs.db_password:cross-account\", \"other:inputs.db_password:plaintext-secret\"]\n", NULL);
	pl_write("dev/app/unit.yaml", "inputs:\n  db_password: hunter2\n");
	pl_check();
	cr_expect_eq(pl_count("plaintext-secret"), 1);
}

Test(policy, clean_project_has_no_findings)
{
	pl_write("dev/network/vpc/unit.yaml",
		 "source: \"git::https://h/m.git//vpc?ref=v1.0.0\"\ninputs:\n  vpc_cidr: 10.10.0.0/16\n  account: \"111111111111\"\n");
	pl_write("prod/network/vpc/unit.yaml",
		 "source: \"git::https://h/m.git//vpc?ref=v1.0.0\"\ninputs:\n  vpc_cidr: 10.30.0.0/16\n  account: \"333333333333\"\n");
	pl_check();
	cr_expect_eq(pl_findings.len, 0);
}
