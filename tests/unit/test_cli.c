/* test_cli.c - compiler/cli.c: what the common options settle. */
#include "helpers.h"

#include "cli.h"
#include "parallel.h"

static const struct command build_cmd = { "build", NULL, "build [--check]", "write the outputs",
					   "  --check          write nothing\n" };

/* The cli after parsing a command's argv ("build" first). */
static struct cli parsed(int argc, char **argv)
{
	static const struct option longopts[] = { CLI_COMMON_LONGOPTS, { 0 } };
	struct cli cli = { 0 };
	optind = 0;	/* glibc: a fresh scan */
	cr_assert_eq(cli_parse(&cli, &build_cmd, argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL, NULL), argc);
	return cli;
}

Test(cli, without_jobs_twice_as_many_threads_write)
{
	char *argv[] = { "build", NULL };
	struct cli cli = parsed(1, argv);
	cr_expect_eq(cli.spec.jobs, parallel_jobs(0));
	cr_expect_eq(cli.spec.write_jobs, parallel_write_jobs(0, parallel_jobs(0)));
	cr_expect_gt(cli.spec.write_jobs, cli.spec.jobs);
}

Test(cli, jobs_given_limit_the_writers_too)
{
	for (unsigned n = 1; n <= 3; n++) {
		char arg[8];
		snprintf(arg, sizeof(arg), "%u", n);
		char *argv[] = { "build", "-j", arg, NULL };
		struct cli cli = parsed(3, argv);
		cr_expect_eq(cli.spec.jobs, n);
		cr_expect_eq(cli.spec.write_jobs, n);
	}
}

Test(cli, command_usage_lists_its_options_then_the_common_ones)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert(out);
	cli_print_command_usage(&build_cmd, out);
	cr_assert_eq(fclose(out), 0);
	cr_expect_str_eq(text, "usage: bulkhead build [--check]\n\nwrite the outputs.\n"
			       "\noptions:\n  --check          write nothing\n"
			       "\ncommon options:\n"
			       "  -C DIR          run as if started in DIR\n"
			       "  -j, --jobs N    worker threads (default: one per CPU)\n"
			       "  -q, --quiet     print only errors\n"
			       "  --rev REV       read the repo as committed at REV (no checkout)\n"
			       "  --staged        read the git index: what the next commit holds\n"
			       "  --color[=WHEN]  auto, always or never\n");
	free(text);
}
