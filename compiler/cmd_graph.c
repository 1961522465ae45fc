/* cmd_graph.c - bulkhead graph and bulkhead order: the dependency DAG. */
#include "cli.h"
#include "dag.h"

#include <stdlib.h>
#include <string.h>

struct graph_opts {
	const char *env;
	const char *format;
};

static int graph_option(void *ctx, int opt, const char *arg)
{
	struct graph_opts *o = ctx;
	if (opt == 'e')
		o->env = arg;
	else if (opt == 'f')
		o->format = arg;
	else
		return -1;
	return 0;
}

/* A DOT string: quotes and backslashes escaped, so a name from the repo
 * cannot end the string and inject attributes. */
static void dot_text(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(out, '\\');
		buf_putc(out, *s == '\n' ? ' ' : *s);
	}
}

static void dot_id(struct buf *out, const char *env, const char *id)
{
	buf_putc(out, '"');
	dot_text(out, env);
	buf_putc(out, ':');
	dot_text(out, id);
	buf_putc(out, '"');
}

static void graph_dot(const struct compilation *c, struct buf *out)
{
	const char *cluster = NULL;
	buf_puts(out, "digraph bulkhead {\n  rankdir=LR;\n  node [shape=box];\n");
	for (size_t i = 0; i < c->nunits; i++) {
		const struct unit *u = c->units[i];
		if (!cluster || strcmp(cluster, u->env->label)) {
			if (cluster)
				buf_puts(out, "  }\n");
			cluster = u->env->label;
			buf_puts(out, "  subgraph \"cluster_");
			dot_text(out, cluster);
			buf_puts(out, "\" {\n    label=\"");
			dot_text(out, cluster);
			buf_puts(out, "\";\n");
		}
		buf_puts(out, "    ");
		dot_id(out, u->env->label, u->id);
		buf_puts(out, " [label=\"");
		dot_text(out, u->id);
		buf_puts(out, "\"];\n");
	}
	if (cluster)
		buf_puts(out, "  }\n");
	for (size_t i = 0; i < c->nunits; i++) {
		const struct unit *u = c->units[i];
		for (size_t k = 0; k < u->ndeps; k++) {
			buf_puts(out, "  ");
			dot_id(out, u->env->label, u->id);
			buf_puts(out, " -> ");
			dot_id(out, u->deps[k].target_env, u->deps[k].target_id);
			buf_puts(out, " [label=\"");
			dot_text(out, u->deps[k].name);
			buf_puts(out, "\"];\n");
		}
	}
	buf_puts(out, "}\n");
}

static struct value *node_entry(struct arena *a, const struct unit *u)
{
	struct value *m = value_map_room(a, 4);
	value_map_add(m, "env", value_cstr(a, u->env->label));
	value_map_add(m, "id", value_cstr(a, arena_printf(a, "%s:%s", u->env->label, u->id)));
	value_map_add(m, "level", value_int(a, u->level, NULL));
	value_map_add(m, "unit", value_cstr(a, u->id));
	return m;
}

static struct value *edge_entry(struct arena *a, const struct unit *u, const struct dependency *d)
{
	struct value *m = value_map_room(a, 3);
	value_map_add(m, "from", value_cstr(a, arena_printf(a, "%s:%s", u->env->label, u->id)));
	value_map_add(m, "name", value_cstr(a, d->name));
	value_map_add(m, "to", value_cstr(a, arena_printf(a, "%s:%s", d->target_env, d->target_id)));
	return m;
}

static void graph_json(struct compilation *c, struct buf *out)
{
	struct arena *a = &c->project.arena;
	size_t nedges = 0;
	for (size_t i = 0; i < c->nunits; i++)
		nedges += c->units[i]->ndeps;
	struct value *nodes = value_list(a, c->nunits, NULL);
	struct value *edges = value_list(a, nedges, NULL);
	nedges = 0;
	for (size_t i = 0; i < c->nunits; i++) {
		nodes->list.items[i] = node_entry(a, c->units[i]);
		for (size_t k = 0; k < c->units[i]->ndeps; k++)
			edges->list.items[nedges++] = edge_entry(a, c->units[i], &c->units[i]->deps[k]);
	}
	struct value *doc = value_map_room(a, 2);
	value_map_add(doc, "edges", edges);
	value_map_add(doc, "nodes", nodes);
	value_to_json(doc, out);
	buf_putc(out, '\n');
}

/* The selected units, then the units outside the selection that their
 * dependencies reach (a shared account's, under --env), in the
 * project's order: both ends of every edge are nodes. */
static void add_dependency_targets(struct compilation *c)
{
	struct project *p = &c->project;
	char *seen = xcalloc(p->nunits + 1, 1);	/* 1 selected, 2 reached */
	size_t reached = 0;
	for (size_t i = 0; i < c->nunits; i++)
		seen[c->units[i]->index] = 1;
	for (size_t i = 0; i < c->nunits; i++)
		for (size_t k = 0; k < c->units[i]->ndeps; k++) {
			const struct unit *t = c->units[i]->deps[k].target;
			if (t && !seen[t->index]) {
				seen[t->index] = 2;
				reached++;
			}
		}
	if (reached) {
		struct unit **all = ARENA_ARRAY(&p->arena, struct unit *, c->nunits + reached + 1);
		memcpy(all, c->units, c->nunits * sizeof(*all));
		for (size_t i = 0; i < p->nunits; i++)
			if (seen[i] == 2)
				all[c->nunits++] = p->units[i];
		c->units = all;
	}
	free(seen);
}

int cmd_graph(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "env", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ 0 },
	};
	const struct command *cmd = cli_find_command("graph");
	struct graph_opts o = { NULL, "dot" };
	struct selection sel = { 0 };
	struct compilation c;
	struct buf out = BUF_INIT;
	int status = EXIT_ERROR;
	memset(&c, 0, sizeof(c));
	int first = cli_parse(cli, cmd, argc, argv, CLI_COMMON_SHORTOPTS "e:f:", longopts, graph_option, &o);
	if (first < 0)
		goto out;
	if (first < argc || (strcmp(o.format, "dot") && strcmp(o.format, "json"))) {
		status = first < argc ? cli_usage_error(cmd, "unexpected argument '%s'", argv[first])
				      : cli_usage_error(cmd, "--format takes dot or json, not '%s'", o.format);
		goto out;
	}
	if (o.env) {
		sel.envs = &o.env;
		sel.nenvs = 1;
	}
	if (compile_run(&c, &sel, &cli->spec) < 0)
		goto out;
	add_dependency_targets(&c);
	if (!strcmp(o.format, "dot"))
		graph_dot(&c, &out);
	else
		graph_json(&c, &out);
	fputs(buf_cstr(&out), stdout);
	status = EXIT_CLEAN;
out:
	buf_free(&out);
	status = cli_finish(cli, status);
	compile_free(&c);
	return status;
}

/* Levels within one environment: units of a level depend only on units
 * of earlier levels, so each level can be applied in parallel.  Shared
 * accounts are applied on their own and do not count here. */
int cmd_order(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "env", required_argument, NULL, 'e' },
		{ 0 },
	};
	const struct command *cmd = cli_find_command("order");
	struct graph_opts o = { NULL, "text" };
	struct selection sel = { 0 };
	struct compilation c;
	int status = EXIT_ERROR;
	memset(&c, 0, sizeof(c));
	int first = cli_parse(cli, cmd, argc, argv, CLI_COMMON_SHORTOPTS "e:", longopts, graph_option, &o);
	if (first < 0)
		goto out;
	if (first < argc || !o.env) {
		status = first < argc ? cli_usage_error(cmd, "unexpected argument '%s'", argv[first])
				      : cli_usage_error(cmd, "missing --env");
		goto out;
	}
	sel.envs = &o.env;
	sel.nenvs = 1;
	if (compile_run(&c, &sel, &cli->spec) < 0 || require_single_env(&c.project, o.env) < 0 ||
	    dag_build(&c.project, c.units, c.nunits) < 0)
		goto out;
	int max = -1;
	for (size_t i = 0; i < c.nunits; i++)
		max = c.units[i]->level > max ? c.units[i]->level : max;
	for (int level = 0; level <= max; level++) {
		printf("level %d:", level);
		for (size_t i = 0; i < c.nunits; i++)
			if (c.units[i]->level == level)
				printf(" %s", c.units[i]->id);
		putchar('\n');
	}
	status = EXIT_CLEAN;
out:
	status = cli_finish(cli, status);
	compile_free(&c);
	return status;
}
