/* cmd_drift.c - bulkhead drift (the promotion chain) and bulkhead diff A B. */
#include "baseline.h"
#include "cli.h"
#include "policy.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>

struct drift_opts {
	struct drift_scope scope;
	const char *format;
	const char *baseline;
	const char *write_baseline;
};

enum { OPT_FORMAT = 300, OPT_BASELINE, OPT_WRITE_BASELINE, OPT_ALL };

static void push(const char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

static int drift_option(void *ctx, int opt, const char *arg)
{
	struct drift_opts *o = ctx;
	switch (opt) {
	case OPT_FORMAT: o->format = arg; return 0;
	case OPT_BASELINE: o->baseline = arg; return 0;
	case OPT_WRITE_BASELINE: o->write_baseline = arg; return 0;
	case OPT_ALL: o->scope.all = true; return 0;
	case 'e': push(&o->scope.envs, &o->scope.nenvs, arg); return 0;
	case 'u': push(&o->scope.units, &o->scope.nunits, arg); return 0;
	default: return -1;
	}
}

static const struct option drift_longopts[] = {
	CLI_COMMON_LONGOPTS,
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "baseline", required_argument, NULL, OPT_BASELINE },
	{ "write-baseline", required_argument, NULL, OPT_WRITE_BASELINE },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "env", required_argument, NULL, 'e' },
	{ "unit", required_argument, NULL, 'u' },
	{ 0 },
};

/* An env label, or the name of an env with one region. */
static struct env *env_arg(struct project *p, const char *label)
{
	struct env *e = project_find_env(p, label), *by_name = NULL;
	struct buf labels = BUF_INIT;
	size_t matches = 0;
	for (size_t i = 0; !e && i < p->nenvs; i++)
		if (!strcmp(p->envs[i]->name, label)) {
			buf_printf(&labels, "%s%s", matches++ ? ", " : "", p->envs[i]->label);
			by_name = p->envs[i];
		}
	if (!e && matches == 1)
		e = by_name;
	else if (!e && matches > 1)
		diag_error(NULL, 0, "environment '%s' has several regions; name one: %s", label, labels.data);
	else if (!e)
		diag_error(NULL, 0, "unknown environment '%s'", label);
	buf_free(&labels);
	return e;
}

/* Findings, baseline and report; returns the exit status. */
static int finish_report(struct cli *cli, struct compilation *c, struct findings *fs,
			 const struct drift_opts *o, struct report_opts *ro)
{
	if (!ro->diff)
		policy_check(&c->project, fs);
	findings_finish(fs);
	if (o->write_baseline) {
		if (baseline_write(&c->project, o->write_baseline, fs) < 0)
			return EXIT_ERROR;
		if (!cli->quiet)
			printf("%s: wrote baseline %s\n", ro->title, o->write_baseline);
		return EXIT_CLEAN;
	}
	bool whole = !ro->diff && !o->scope.nenvs && !o->scope.nunits;
	if (o->baseline && baseline_apply(&c->project, o->baseline, fs, whole && !cli->quiet) < 0)
		return EXIT_ERROR;
	struct buf out = BUF_INIT;
	ro->stream = stdout;
	report_write(fs, ro, &out);
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	buf_free(&out);
	for (size_t i = 0; i < fs->len; i++)
		if (finding_is_error(&fs->v[i]))
			return EXIT_FINDINGS;
	return EXIT_CLEAN;
}

static int run(struct cli *cli, int argc, char **argv, bool is_diff)
{
	const struct command *cmd = cli_find_command(is_diff ? "diff" : "drift");
	struct drift_opts o = { .format = "text" };
	struct report_opts ro = { .diff = is_diff, .quiet = cli->quiet, .title = is_diff ? "diff" : "drift" };
	struct findings fs = { 0 };
	struct compilation c;
	int status = EXIT_ERROR;
	memset(&c, 0, sizeof(c));
	int first = cli_parse(cli, cmd, argc, argv, CLI_COMMON_SHORTOPTS "e:u:", drift_longopts, drift_option, &o);
	if (first < 0)
		goto out;
	ro.quiet = cli->quiet;
	ro.all = o.scope.all;
	if (report_format_parse(o.format, &ro.format) < 0) {
		status = cli_usage_error(cmd, "--format takes text, json, markdown, sarif or github, not '%s'", o.format);
		goto out;
	}
	if ((is_diff && argc - first != 2) || (!is_diff && first != argc) || (o.baseline && o.write_baseline) ||
	    (!is_diff && o.scope.all)) {
		status = cli_usage_error(cmd, is_diff && argc - first != 2 ? "diff takes two environments"
					 : o.scope.all ? "--all belongs to diff"
					 : o.baseline && o.write_baseline ? "give --baseline or --write-baseline, not both"
					 : "unexpected argument '%s'", argv[first]);
		goto out;
	}
	/* The selection checks --env and --unit names; drift still reads
	 * every unit, since any env may be the other side of a pair. */
	struct selection sel = { o.scope.envs, o.scope.nenvs, o.scope.units, o.scope.nunits };
	if (compile_run(&c, &sel, &cli->spec) < 0)
		goto out;
	/* No drift report lists allowed or parameterized differences, in
	 * any format: they are counted, not detailed (diff lists them). */
	o.scope.lean = !is_diff;
	if (is_diff) {
		struct env *a = env_arg(&c.project, argv[first]), *b = env_arg(&c.project, argv[first + 1]);
		if (!a || !b)
			goto out;
		ro.title = arena_printf(&c.project.arena, "diff %s %s", a->label, b->label);
		drift_pair(&c.project, a, b, &o.scope, &fs);
	} else {
		drift_chain(&c.project, &o.scope, &fs);
	}
	status = finish_report(cli, &c, &fs, &o, &ro);
out:
	findings_free(&fs);
	free(o.scope.envs);
	free(o.scope.units);
	status = cli_finish(cli, status);
	compile_free(&c);
	return status;
}

int findings_gate(struct compilation *c, const char *title, const char *baseline)
{
	struct findings fs = { 0 };
	struct report_opts ro = { .format = FMT_TEXT, .quiet = true, .title = title };
	struct drift_scope lean = { .lean = true };
	struct worker_arenas *mark = c->project.worker_arenas;
	size_t errors = 0;
	drift_chain(&c->project, &lean, &fs);
	policy_check(&c->project, &fs);
	findings_finish(&fs);
	if (baseline && baseline_apply(&c->project, baseline, &fs, false) < 0) {
		findings_free(&fs);
		project_release_worker_arenas(&c->project, mark);
		return -2;
	}
	for (size_t i = 0; i < fs.len; i++)
		errors += finding_is_error(&fs.v[i]) && !fs.v[i].baselined;
	if (errors) {
		struct buf out = BUF_INIT;
		report_write(&fs, &ro, &out);
		fputs(buf_cstr(&out), stdout);
		buf_free(&out);
	}
	findings_free(&fs);
	/* The drift workers' text went with the findings: build writes
	 * next, and needs the memory more. */
	project_release_worker_arenas(&c->project, mark);
	return errors ? -1 : 0;
}

int cmd_drift(struct cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, false);
}

int cmd_diff(struct cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, true);
}
