/* cmd_validate.c - bulkhead validate: load and evaluate everything. */
#include "cli.h"

#include <string.h>

/* Environments by name: the regions of one env count once. */
static size_t count_envs(const struct project *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nenvs; i++)
		n += i == 0 || p->envs[i]->decl != p->envs[i - 1]->decl;
	return n;
}

static int validate_option(void *ctx, int opt, const char *arg)
{
	if (opt != OPT_GATE_BASELINE)
		return -1;
	*(const char **)ctx = arg;
	return 0;
}

int cmd_validate(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "baseline", required_argument, NULL, OPT_GATE_BASELINE },
		{ 0 },
	};
	const char *baseline = NULL;
	const struct command *cmd = cli_find_command("validate");
	struct compilation c;
	struct selection sel = { 0 };
	int status = EXIT_ERROR;
	memset(&c, 0, sizeof(c));
	int first = cli_parse(cli, cmd, argc, argv, CLI_COMMON_SHORTOPTS, longopts, validate_option, &baseline);
	if (first < 0)
		goto out;
	if (first < argc) {
		status = cli_usage_error(cmd, "unexpected argument '%s'", argv[first]);
		goto out;
	}
	if (compile_run(&c, &sel, &cli->spec) < 0)
		goto out;
	int gate = findings_gate(&c, "validate", baseline);
	if (gate < 0) {
		status = gate == -2 ? EXIT_ERROR : EXIT_FINDINGS;
		goto out;
	}
	size_t envs = count_envs(&c.project);
	if (!cli->quiet)
		printf("validate: %zu %s, %zu %s: ok\n", envs, envs == 1 ? "environment" : "environments",
		       c.nunits, c.nunits == 1 ? "unit" : "units");
	status = EXIT_CLEAN;
out:
	status = cli_finish(cli, status);
	compile_free(&c);
	return status;
}
