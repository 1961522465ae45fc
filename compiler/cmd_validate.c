/* cmd_validate.c - bulkhead validate: load and evaluate everything. */
#include "cli.h"

#include <string.h>

int cmd_validate(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_COMMON_LONGOPTS, { 0 } };
	const struct command *cmd = cli_find_command("validate");
	struct compilation c;
	struct selection sel = { 0 };
	int opt, status = EXIT_ERROR;
	memset(&c, 0, sizeof(c));
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		int r = cli_common_option(cli, cmd, opt, optarg);
		if (r < 0)
			goto out;
		if (r == 0) {
			status = cli_usage_error(cmd, "unknown option");
			goto out;
		}
	}
	if (optind < argc) {
		status = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (compile_run(&c, &sel) < 0)
		goto out;
	if (!cli->quiet)
		printf("validate: %zu environments, %zu units: ok\n", c.project.nenvs, c.nunits);
	status = EXIT_CLEAN;
out:
	status = cli_finish(cli, status);
	compile_free(&c);
	return status;
}
