/* cmd_show.c - bulkhead show UNIT --env E: the evaluated unit as JSON. */
#include "cli.h"
#include "eval.h"
#include "explain.h"

#include <string.h>

static struct value *deps_value(struct arena *a, const struct unit *u)
{
	struct value *m = value_map_room(a, u->ndeps);
	for (size_t i = 0; i < u->ndeps; i++)
		value_map_add(m, u->deps[i].name,
			      value_cstr(a, arena_printf(a, "%s:%s", u->deps[i].target_env, u->deps[i].target_id)));
	value_map_sort(m);
	return m;
}

static void print_unit(struct project *p, const struct unit *u)
{
	struct arena *a = &p->arena;
	struct value *doc = value_map_room(a, 10);
	value_map_add(doc, "account_id", value_cstr(a, u->env->account_id));
	value_map_add(doc, "dependencies", deps_value(a, u));
	value_map_add(doc, "env", value_cstr(a, u->env->label));
	value_map_add(doc, "inputs", u->inputs);
	value_map_add(doc, "level", value_int(a, u->level, NULL));
	value_map_add(doc, "region", value_cstr(a, u->env->region));
	value_map_add(doc, "source", u->source ? value_cstr(a, u->source) : value_null(a, NULL));
	value_map_add(doc, "unit", value_cstr(a, u->id));
	value_map_add(doc, "var", value_from_node(a, u->vars));
	value_map_sort(doc);
	struct buf out = BUF_INIT;
	value_to_json_redacted(doc, &out);
	puts(out.data);
	buf_free(&out);
}

struct show_opts {
	const char *env;
	bool explain;
};

static int show_option(void *ctx, int opt, const char *arg)
{
	struct show_opts *o = ctx;
	if (opt == 'e')
		o->env = arg;
	else if (opt == OPT_EXPLAIN)
		o->explain = true;
	else
		return -1;
	return 0;
}

int cmd_show(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "env", required_argument, NULL, 'e' },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ 0 },
	};
	const struct command *cmd = cli_find_command("show");
	struct compilation c;
	struct selection sel = { 0 };
	struct show_opts o = { 0 };
	int status = EXIT_ERROR;
	memset(&c, 0, sizeof(c));
	int first = cli_parse(cli, cmd, argc, argv, CLI_COMMON_SHORTOPTS "e:", longopts, show_option, &o);
	if (first < 0)
		goto out;
	if (first + 1 != argc || !o.env) {
		status = cli_usage_error(cmd, first == argc ? "missing UNIT" : !o.env ? "missing --env" : "too many arguments");
		goto out;
	}
	sel.envs = &o.env;
	sel.nenvs = 1;
	struct source_spec spec = cli->spec;
	spec.provenance = o.explain;
	if (compile_run(&c, &sel, &spec) < 0 || require_single_env(&c.project, o.env) < 0)
		goto out;
	const struct unit *u = NULL;
	for (size_t i = 0; i < c.nunits && !u; i++)
		if (!strcmp(c.units[i]->id, argv[first]))
			u = c.units[i];
	if (!u) {
		diag_error(NULL, 0, "no unit '%s' in environment '%s'", argv[first], o.env);
		goto out;
	}
	if (o.explain) {
		struct buf out = BUF_INIT;
		explain_unit(&c.project, u, &out);
		fputs(buf_cstr(&out), stdout);
		buf_free(&out);
	} else {
		print_unit(&c.project, u);
	}
	status = EXIT_CLEAN;
out:
	status = cli_finish(cli, status);
	compile_free(&c);
	return status;
}
