/* cmd_build.c - bulkhead build: write every selected unit's files. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void push(const char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

/* The output dir: -o as given (relative to the -C dir), else the
 * project's output.dir beneath the root. */
static char *output_dir(const struct project *p, const char *opt, char **display)
{
	if (opt) {
		*display = xstrdup(opt);
		if (opt[0] == '/')
			return xstrdup(opt);
		char *cwd = realpath(".", NULL);
		size_t n = strlen(cwd) + strlen(opt) + 2;
		char *dir = xmalloc(n);
		snprintf(dir, n, "%s/%s", cwd, opt);
		free(cwd);
		return dir;
	}
	*display = xstrdup(p->output_dir);
	size_t n = strlen(p->root) + strlen(p->output_dir) + 2;
	char *dir = xmalloc(n);
	snprintf(dir, n, "%s/%s", p->root, p->output_dir);
	return dir;
}

/* build refuses mocked outputs for protected envs unless --allow-mocks. */
static int check_mocks(const struct compilation *c, bool allow_mocks)
{
	int rc = 0;
	for (size_t i = 0; i < c->nunits; i++) {
		const struct unit *u = c->units[i];
		if (!u->env->is_protected || allow_mocks)
			continue;
		for (const struct mock_use *m = u->mocks; m; m = m->next) {
			diag_error(m->file, m->off,
				   "'%s' comes from mock_outputs, and '%s' is protected: add its outputs file or pass --allow-mocks",
				   m->ref, u->env->label);
			rc = -1;
		}
	}
	return rc;
}

int cmd_build(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "env", required_argument, NULL, 'e' },
		{ "unit", required_argument, NULL, 'u' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "allow-mocks", no_argument, NULL, OPT_ALLOW_MOCKS },
		{ 0 },
	};
	const struct command *cmd = cli_find_command("build");
	struct selection sel = { 0 };
	const char *out_opt = NULL;
	bool check = false, allow_mocks = false;
	int opt, status = EXIT_ERROR;
	struct compilation c;
	struct emit_plan plan = { 0 };
	char *out_dir = NULL, *display = NULL;
	memset(&c, 0, sizeof(c));
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "o:", longopts, NULL)) != -1) {
		int r = cli_common_option(cli, cmd, opt, optarg);
		if (r < 0)
			goto out;
		if (r > 0)
			continue;
		switch (opt) {
		case 'e': push(&sel.envs, &sel.nenvs, optarg); break;
		case 'u': push(&sel.units, &sel.nunits, optarg); break;
		case 'o': out_opt = optarg; break;
		case OPT_CHECK: check = true; break;
		case OPT_ALLOW_MOCKS: allow_mocks = true; break;
		default: status = cli_usage_error(cmd, "unknown option"); goto out;
		}
	}
	if (optind < argc) {
		status = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (compile_run(&c, &sel) < 0 || check_mocks(&c, allow_mocks) < 0 ||
	    emit_plan(&c.project, c.units, c.nunits, &plan) < 0)
		goto out;
	out_dir = output_dir(&c.project, out_opt, &display);
	struct emit_result res;
	if (emit_write(&c.project, &plan, &sel, out_dir, display, check, cli->quiet, &res) < 0)
		goto out;
	bool changed = res.written || res.removed || res.manifest_changed;
	if (!cli->quiet)
		printf("%s: %zu units, %zu files %s, %zu unchanged, %zu %s\n", check ? "build --check" : "build",
		       c.nunits, res.written, check ? "to write" : "written", res.unchanged, res.removed,
		       check ? "to remove" : "removed");
	status = check && changed ? EXIT_FINDINGS : EXIT_CLEAN;
out:
	emit_plan_free(&plan);
	free(out_dir);
	free(display);
	free(sel.envs);
	free(sel.units);
	status = cli_finish(cli, status);
	compile_free(&c);
	return status;
}
