/* fuzz_eval - the evaluator (compiler/eval.c) and the stdlib builtins:
 * evaluate the bytes as a template against a fixed context like
 * tests/expr/context.yaml, then print the result as JSON both ways. */
#include <stdio.h>
#include <stdlib.h>

#include "eval.h"
#include "fuzz_common.h"
#include "value.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char context_yaml[] =
	"env: { name: prod, label: prod, account_id: \"333333333333\", region: eu-west-1,"
	" protected: true, regions: [eu-west-1], tier: gold }\n"
	"envs:\n"
	"  dev: { name: dev, account_id: \"111111111111\", region: eu-west-1 }\n"
	"  prod: { name: prod, account_id: \"333333333333\", region: eu-west-1 }\n"
	"  shared-services: { name: shared-services, account_id: \"444444444444\", region: eu-west-1 }\n"
	"var: { replicas: 3, size: m6i.large, zones: [a, b, c], tags: { team: platform,"
	" \"k8s.io/role\": api }, ratio: 0.25, enabled: true, nothing: null,"
	" big: 9223372036854775807, small: -9223372036854775808, neg: -1, empty: \"\","
	" cidr: 10.0.0.0/16, list: [1, 2.5, x, true, null, [1, 2], { k: v }],"
	" db_password: hunter2, json: '{\"a\": [1, 2]}' }\n"
	"local: { name: api-prod, n: 7 }\n"
	"unit: { path: app/api, name: api, dir: prod/app/api }\n"
	"project: { name: acme }\n";

/* Lives for the whole run (reachable at exit, so not a leak). */
static struct arena ctx_arena;
static struct srcfile ctx_file;
static struct value *context;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct node *root;
	(void)argc;
	(void)argv;
	arena_init(&ctx_arena);
	ctx_file.path = "context.yaml";
	ctx_file.data = context_yaml;
	ctx_file.len = sizeof(context_yaml) - 1;
	if (yaml_load(&ctx_arena, &ctx_file, &limits_default, &root) < 0 || root->kind != NODE_MAP) {
		diag_flush(stderr);
		fputs("fuzz_eval: bad built-in context\n", stderr);
		abort();
	}
	context = value_from_node(&ctx_arena, root);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	arena_init(&a);
	struct srcfile *f = fuzz_srcfile(&a, "expr", data, size);
	struct value *v = eval_text(&a, f, context, &limits_default);
	if (v && !diag_error_count()) {
		struct buf out = BUF_INIT;
		value_to_json_compact(v, &out);
		buf_reset(&out);
		value_to_json_redacted(v, &out);
		buf_free(&out);
	}
	diag_clear();
	arena_free(&a);
	return 0;
}
