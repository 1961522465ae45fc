/* cli.c - option parsing shared by every command, usage and the end of
 * a run (diagnostics out, exit status). */
#include "cli.h"
#include "parallel.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* -j N: 1 to PARALLEL_MAX_JOBS, digits only. */
static int parse_jobs(const char *arg, unsigned *jobs)
{
	unsigned n = 0;
	if (!*arg)
		return -1;
	for (const char *q = arg; *q; q++) {
		if (*q < '0' || *q > '9' || n > PARALLEL_MAX_JOBS)
			return -1;
		n = n * 10 + (unsigned)(*q - '0');
	}
	if (n < 1 || n > PARALLEL_MAX_JOBS)
		return -1;
	*jobs = n;
	return 0;
}

/* getopt reports '?' for an unknown option and ':' for a missing
 * argument (the option strings start with ':'); argv[optind - 1] is the
 * word it stopped at.  A long option is named by that word (its optopt
 * is its code, such as OPT_REV, not a letter); a short one by its
 * letter, as it may sit in a cluster such as -qo. */
static int bad_option(const struct command *cmd, int opt, char **argv)
{
	char shortopt[3] = { '-', (char)optopt, '\0' };
	const char *stopped = argv[optind - 1];
	bool is_long = !strncmp(stopped, "--", 2);
	const char *word = optopt > 0 && optopt < 128 && !is_long ? shortopt : stopped;
	if (opt == ':')
		cli_usage_error(cmd, "option '%s' needs an argument", word);
	else
		cli_usage_error(cmd, "unknown option '%s'", word);
	return -1;
}

void cli_print_command_usage(const struct command *cmd, FILE *out)
{
	fprintf(out, "usage: bulkhead %s\n\n%s.\n", cmd->usage, cmd->summary);
	if (cmd->options)
		fprintf(out, "\noptions:\n%s", cmd->options);
	fputs("\ncommon options:\n"
	      "  -C DIR          run as if started in DIR\n"
	      "  -j, --jobs N    worker threads (default: one per CPU)\n"
	      "  -q, --quiet     print only errors\n"
	      "  --rev REV       read the repo as committed at REV (no checkout)\n"
	      "  --staged        read the git index: what the next commit holds\n"
	      "  --color[=WHEN]  auto, always or never\n", out);
}

int cli_common_option(struct cli *cli, const struct command *cmd, int opt, const char *arg, char **argv)
{
	switch (opt) {
	case 'C':
		return change_dir(arg) < 0 ? -1 : 1;
	case 'q':
		cli->quiet = true;
		return 1;
	case OPT_REV:
		cli->spec.rev = arg;
		return 1;
	case OPT_STAGED:
		cli->spec.staged = true;
		return 1;
	case 'j':
		if (parse_jobs(arg, &cli->spec.jobs) < 0) {
			cli_usage_error(cmd, "--jobs takes a number of threads from 1 to %d, not '%s'",
					PARALLEL_MAX_JOBS, arg);
			return -1;
		}
		return 1;
	case OPT_COLOR:
		if (set_color(cli, arg) < 0) {
			cli_usage_error(cmd, "--color takes auto, always or never, not '%s'", arg);
			return -1;
		}
		return 1;
	case 'h':
	case OPT_HELP:
		cli_print_command_usage(cmd, stdout);
		exit(EXIT_CLEAN);
	case '?':
	case ':':
		return bad_option(cmd, opt, argv);
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

int cli_parse(struct cli *cli, const struct command *cmd, int argc, char **argv,
	      const char *shortopts, const struct option *longopts,
	      int (*on_option)(void *ctx, int opt, const char *arg), void *ctx)
{
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int r = cli_common_option(cli, cmd, opt, optarg, argv);
		if (r < 0)
			return -1;
		if (r == 0 && (!on_option || on_option(ctx, opt, optarg) < 0))
			return on_option ? -1 : bad_option(cmd, '?', argv);
	}
	/* Counted once here: every phase asks, and the count reads files. */
	unsigned given = cli->spec.jobs;
	if (given == 0)
		cli->spec.jobs = parallel_jobs(0);
	cli->spec.write_jobs = parallel_write_jobs(given, cli->spec.jobs);
	return optind;
}
