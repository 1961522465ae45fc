/* main.c - bulkhead's entry: global options, the command table, exit status. */
#include "cli.h"
#include "schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct command commands[] = {
	{ "build", cmd_build, "build [-C DIR] [--env E].. [--unit GLOB].. [-o DIR] [--check]",
	  "write terraform.tfvars.json per unit and manifest.json" },
	{ "validate", cmd_validate, "validate [-C DIR]", "load and check the whole repo" },
	{ "show", cmd_show, "show UNIT --env E [-C DIR]", "print a unit's evaluated config as JSON" },
	{ "help", cmd_help, "help [COMMAND]", "show help for bulkhead or one command" },
	{ NULL, NULL, NULL, NULL },
};

const struct command *cli_find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

void cli_print_usage(const struct command *cmd, FILE *out)
{
	if (cmd) {
		fprintf(out, "usage: bulkhead %s\n\n%s.\n", cmd->usage, cmd->summary);
		fputs("\ncommon options:\n"
		      "  -C DIR          run as if started in DIR\n"
		      "  -q, --quiet     print only errors\n"
		      "  --color[=WHEN]  auto, always or never\n", out);
		return;
	}
	fputs("usage: bulkhead [-C DIR] [--color[=WHEN]] [-q] COMMAND [ARGS]\n\n"
	      "bulkhead compiles a Terraform mono-repo with one folder per environment\n"
	      "into per-account Terraform variable files.\n\ncommands:\n", out);
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fputs("\nRun 'bulkhead help COMMAND' for one command's options.\n"
	      "Exit status: 0 clean, 1 findings, 2 usage, config or I/O errors.\n", out);
}

int cli_usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("bulkhead: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd)
		fprintf(stderr, "usage: bulkhead %s\n", cmd->usage);
	return EXIT_ERROR;
}

static int set_color(struct cli *cli, const char *arg)
{
	if (!arg || !strcmp(arg, "always"))
		cli->color = COLOR_ALWAYS;
	else if (!strcmp(arg, "never"))
		cli->color = COLOR_NEVER;
	else if (!strcmp(arg, "auto"))
		cli->color = COLOR_AUTO;
	else
		return -1;
	return 0;
}

static int change_dir(const char *dir)
{
	if (chdir(dir) == 0)
		return 0;
	fprintf(stderr, "bulkhead: error: cannot change to '%s': %s\n", dir, strerror(errno));
	return -1;
}

int cli_common_option(struct cli *cli, const struct command *cmd, int opt, const char *arg)
{
	switch (opt) {
	case 'C':
		return change_dir(arg) < 0 ? -1 : 1;
	case 'q':
		cli->quiet = true;
		return 1;
	case OPT_COLOR:
		if (set_color(cli, arg) < 0) {
			cli_usage_error(cmd, "--color takes auto, always or never, not '%s'", arg);
			return -1;
		}
		return 1;
	case 'h':
	case OPT_HELP:
		cli_print_usage(cmd, stdout);
		exit(EXIT_CLEAN);
	case '?':
		cli_usage_error(cmd, "see 'bulkhead help %s'", cmd ? cmd->name : "");
		return -1;
	default:
		return 0;
	}
}

static bool color_enabled(const struct cli *cli)
{
	if (cli->color != COLOR_AUTO)
		return cli->color == COLOR_ALWAYS;
	const char *no_color = getenv("NO_COLOR");
	return !(no_color && *no_color) && isatty(STDERR_FILENO);
}

int cli_finish(struct cli *cli, int status)
{
	diag_set_color(color_enabled(cli));
	if (diag_error_count())
		status = EXIT_ERROR;
	diag_flush(stderr);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "bulkhead: error: cannot write to standard output\n");
		status = EXIT_ERROR;
	}
	return status;
}

int cmd_help(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc > 2)
		return cli_usage_error(cli_find_command("help"), "too many arguments");
	if (argc == 2) {
		const struct command *c = cli_find_command(argv[1]);
		if (!c)
			return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
		cli_print_usage(c, stdout);
		return EXIT_CLEAN;
	}
	cli_print_usage(NULL, stdout);
	return EXIT_CLEAN;
}

static int unknown_command(const char *name)
{
	const char *names[sizeof(commands) / sizeof(*commands)];
	size_t n = 0;
	for (const struct command *c = commands; c->name; c++)
		names[n++] = c->name;
	names[n] = NULL;
	const char *hint = schema_suggest(name, names);
	if (hint)
		return cli_usage_error(NULL, "unknown command '%s'; did you mean '%s'?", name, hint);
	return cli_usage_error(NULL, "unknown command '%s'; see 'bulkhead help'", name);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct cli cli = { 0 };
	int opt;
	while ((opt = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'V') {
			printf("bulkhead %s\n", BULKHEAD_VERSION);
			return EXIT_CLEAN;
		}
		int r = cli_common_option(&cli, NULL, opt, optarg);
		if (r < 0)
			return EXIT_ERROR;
		if (r == 0)
			return cli_usage_error(NULL, "unknown option; see 'bulkhead help'");
	}
	if (optind >= argc) {
		cli_print_usage(NULL, stderr);
		return EXIT_ERROR;
	}
	const struct command *cmd = cli_find_command(argv[optind]);
	if (!cmd)
		return unknown_command(argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: 0 re-initialises getopt for the command */
	return cmd->run(&cli, argc, argv);
}
