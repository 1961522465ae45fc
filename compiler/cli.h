/* cli.h - options every command shares, and the command table. */
#ifndef BULKHEAD_CLI_H
#define BULKHEAD_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "emit.h"
#include "project.h"

enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct cli {
	bool quiet;
	enum color_mode color;
	struct source_spec spec;	/* --rev REV or --staged: where to read the repo */
};

/* Exit statuses (SPEC 9). */
enum { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_ERROR = 2 };

struct command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;
	const char *summary;
	const char *options;	/* the command's own options, one per line */
};

/* Long options shared by every command; OPT_* values above 255. */
enum { OPT_COLOR = 256, OPT_HELP, OPT_ALLOW_MOCKS, OPT_CHECK, OPT_EXPLAIN, OPT_REV, OPT_STAGED, OPT_GATE_BASELINE };
#define CLI_COMMON_LONGOPTS \
	{ "color", optional_argument, NULL, OPT_COLOR }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "rev", required_argument, NULL, OPT_REV }, \
	{ "staged", no_argument, NULL, OPT_STAGED }, \
	{ "jobs", required_argument, NULL, 'j' }, \
	{ "help", no_argument, NULL, OPT_HELP }
/* Global options stop at the command name ('+'); a command's own options
 * may come before or after its operands. */
#define CLI_GLOBAL_SHORTOPTS "+:C:j:qh"
#define CLI_COMMON_SHORTOPTS ":C:j:qh"

/* Handles -C, -j, -q, --color and --help; returns 1 if handled, 0 if not a
 * common option, -1 on a usage error (already reported).  cmd is NULL
 * for the options before the command, where main handles --help (the
 * usage that lists every command). */
int cli_common_option(struct cli *cli, const struct command *cmd, int opt, const char *arg, char **argv);
/* Runs getopt over a command's arguments: common options are handled
 * here, the command's own by on_option (which returns -1 after reporting
 * a usage error).  Returns the index of the first operand, or -1. */
int cli_parse(struct cli *cli, const struct command *cmd, int argc, char **argv,
	      const char *shortopts, const struct option *longopts,
	      int (*on_option)(void *ctx, int opt, const char *arg), void *ctx);
/* A command's usage, its options and the common ones. */
void cli_print_command_usage(const struct command *cmd, FILE *out);
const struct command *cli_find_command(const char *name);
/* Reports a usage error for cmd and returns EXIT_ERROR. */
int cli_usage_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints collected diagnostics to stderr; returns EXIT_ERROR if any were
 * errors, else status. */
int cli_finish(struct cli *cli, int status);

/* The compiler pipeline up to evaluated, ordered units. */
struct compilation {
	struct project project;
	bool opened;
	struct unit **units;	/* selected units in (env, id) order */
	size_t nunits;
};

/* Merges, evaluates and orders every unit of an opened project: the
 * phases after project_open, in dependency order. */
int compile_units(struct project *p);
/* Finds the root from the current directory, opens the project and runs
 * merge, eval and the DAG for the selected units.  Returns -1 on errors. */
int compile_run(struct compilation *c, const struct selection *sel, const struct source_spec *spec);
void compile_free(struct compilation *c);
/* --env prod on a multi-region env must name the region: reports and
 * returns -1 when env matches several labels. */
int require_single_env(const struct project *p, const char *env);

/* Runs the drift chain and the policy checks; prints the error-class
 * findings and returns -1 when any remain after the baseline file
 * baseline (NULL: none) takes those it lists (SPEC 9: the caller exits
 * 1, and build writes nothing); -2 when the baseline file is bad.  Notes,
 * stale baseline entries among them, are left to drift. */
int findings_gate(struct compilation *c, const char *title, const char *baseline);

int cmd_build(struct cli *cli, int argc, char **argv);
int cmd_validate(struct cli *cli, int argc, char **argv);
int cmd_show(struct cli *cli, int argc, char **argv);
int cmd_graph(struct cli *cli, int argc, char **argv);
int cmd_drift(struct cli *cli, int argc, char **argv);
int cmd_diff(struct cli *cli, int argc, char **argv);
int cmd_order(struct cli *cli, int argc, char **argv);
int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_changes(struct cli *cli, int argc, char **argv);
int cmd_help(struct cli *cli, int argc, char **argv);

#endif
