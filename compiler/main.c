/* main.c - bulkhead's entry: global options, the command table, exit status. */
#include "cli.h"
#include "schema.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct command commands[] = {
	{ "build", cmd_build,
	  "build [-C DIR] [--env E].. [--unit GLOB].. [-o DIR] [--check] [--allow-mocks] [--baseline F]",
	  "write terraform.tfvars.json per unit and manifest.json",
	  "  --env E          only environment E (a name, or a label such as prod/us-west-2)\n"
	  "  --unit GLOB      only units whose id matches GLOB (fnmatch; '*' crosses '/')\n"
	  "  -o DIR           write under DIR instead of output.dir\n"
	  "  --check          write nothing; exit 1 if any file would change\n"
	  "  --allow-mocks    let protected environments use mock_outputs\n"
	  "  --baseline F     the findings listed in F (drift --write-baseline) do not stop it\n" },
	{ "validate", cmd_validate, "validate [-C DIR] [--baseline F]", "load and check the whole repo",
	  "  --baseline F     the findings listed in F (drift --write-baseline) do not fail it\n" },
	{ "show", cmd_show, "show UNIT --env E [--explain] [-C DIR]", "print a unit's evaluated config as JSON",
	  "  --env E          the environment (label) of the unit\n"
	  "  --explain        every input with file:line:col and what it overrode\n" },
	{ "drift", cmd_drift, "drift [--format F] [--baseline F | --write-baseline F] [--env E].. [--unit GLOB]..",
	  "compare the promotion chain and report unintended drift",
	  "  --format F       text, json, markdown, sarif or github\n"
	  "  --baseline F     accept the findings listed in F\n"
	  "  --write-baseline F  write every current finding to F and exit 0\n"
	  "  --env E          only pairs touching environment E\n"
	  "  --unit GLOB      only units whose id matches GLOB\n" },
	{ "diff", cmd_diff, "diff ENV_A ENV_B [--format F] [--all] [--unit GLOB]..",
	  "show every difference between two environments, labelled by class",
	  "  --format F       text, json, markdown, sarif or github\n"
	  "  --all            list equal keys too\n"
	  "  --unit GLOB      only units whose id matches GLOB\n" },
	{ "changes", cmd_changes, "changes --base REV [--head REV | --staged] [--format text|json|markdown] [--exit-code]",
	  "list units whose evaluated config differs between two revisions",
	  "  --base REV       the revision to compare from (a git revspec)\n"
	  "  --head REV       the revision to compare to (default: the work tree)\n"
	  "  --staged         compare to the git index instead\n"
	  "  --format F       text, json or markdown\n"
	  "  --exit-code      exit 1 when something changed\n" },
	{ "graph", cmd_graph, "graph [--env E] [--format dot|json] [-C DIR]",
	  "print the dependency graph (Graphviz dot or JSON)",
	  "  --env E          only environment E\n"
	  "  --format F       dot (default) or json\n" },
	{ "order", cmd_order, "order --env E [-C DIR]",
	  "print the units of an environment in dependency levels (parallel groups)",
	  "  --env E          the environment\n" },
	{ "init", cmd_init, "init [DIR]", "scaffold a new repo (bulkhead.yaml, dev/stage/prod, an example unit)",
	  NULL },
	{ "help", cmd_help, "help [COMMAND]", "show help for bulkhead or one command", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct command *cli_find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* bulkhead's own usage: the commands of the table. */
static void print_usage(FILE *out)
{
	fputs("usage: bulkhead [-C DIR] [-j N] [--rev REV | --staged] [--color[=WHEN]] [-q] COMMAND [ARGS]\n"
	      "       bulkhead --version | --help\n\n"
	      "bulkhead compiles a Terraform mono-repo with one folder per environment\n"
	      "into per-account Terraform variable files.\n\ncommands:\n", out);
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fputs("\nRun 'bulkhead help COMMAND' for one command's options.\n"
	      "Exit status: 0 clean, 1 findings, 2 usage, config or I/O errors.\n", out);
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

int cmd_help(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc > 2)
		return cli_usage_error(cli_find_command("help"), "too many arguments");
	if (argc == 2) {
		const struct command *c = cli_find_command(argv[1]);
		if (!c)
			return unknown_command(argv[1]);
		cli_print_command_usage(c, stdout);
		return EXIT_CLEAN;
	}
	print_usage(stdout);
	return EXIT_CLEAN;
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
	opterr = 0;
	/* git commit -a and git commit PATH point hooks at a temporary index;
	 * the path may be relative to where the hook started, before -C. */
	char index_file[PATH_MAX];
	const char *env_index = getenv("GIT_INDEX_FILE");
	if (env_index && realpath(env_index, index_file))
		cli.spec.index_file = index_file;
	while ((opt = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'V') {
			printf("bulkhead %s\n", BULKHEAD_VERSION);
			return EXIT_CLEAN;
		}
		if (opt == 'h' || opt == OPT_HELP) {
			print_usage(stdout);
			return EXIT_CLEAN;
		}
		int handled = cli_common_option(&cli, NULL, opt, optarg, argv);
		if (handled < 0)
			return EXIT_ERROR;	/* already reported */
		if (handled == 0)
			return cli_usage_error(NULL, "unknown option; see 'bulkhead help'");
	}
	if (optind >= argc) {
		print_usage(stderr);
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
