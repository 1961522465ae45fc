/* cmd_init.c - bulkhead init [DIR]: scaffold a repo from templates/init. */
#include "cli.h"
#include "template.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char INIT_PREFIX[] = "init/";

static bool is_scaffold(const struct embedded_file *f)
{
	return !strncmp(f->path, INIT_PREFIX, sizeof(INIT_PREFIX) - 1);
}

static char *target(const char *dir, const struct embedded_file *f)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", dir, f->path + sizeof(INIT_PREFIX) - 1);
	return buf_detach(&b, NULL);
}

static int make_parents(char *path)
{
	for (char *slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		int rc = mkdir(path, 0777);
		*slash = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

static int write_new(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, data, len);
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

/* Refuses before writing anything if any file would be overwritten. */
static int check_free(const char *dir)
{
	int rc = 0;
	for (const struct embedded_file *f = embedded_templates; f->path; f++) {
		if (!is_scaffold(f))
			continue;
		char *path = target(dir, f);
		struct stat st;
		if (lstat(path, &st) == 0) {
			diag_error(NULL, 0, "'%s' exists: init never overwrites files", path);
			rc = -1;
		}
		free(path);
	}
	return rc;
}

static int scaffold(const char *dir, size_t *written)
{
	for (const struct embedded_file *f = embedded_templates; f->path; f++) {
		if (!is_scaffold(f))
			continue;
		char *path = target(dir, f);
		int rc = make_parents(path) < 0 ? -1 : write_new(path, f->data, f->len);
		if (rc < 0)
			diag_error(NULL, 0, "cannot write '%s': %s", path, strerror(errno));
		free(path);
		if (rc < 0)
			return -1;
		(*written)++;
	}
	return 0;
}

int cmd_init(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_COMMON_LONGOPTS, { 0 } };
	const struct command *cmd = cli_find_command("init");
	size_t written = 0;
	int status = EXIT_ERROR;
	int first = cli_parse(cli, cmd, argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL, NULL);
	if (first < 0)
		goto out;
	if (argc - first > 1) {
		status = cli_usage_error(cmd, "unexpected argument '%s'", argv[first + 1]);
		goto out;
	}
	const char *dir = first < argc ? argv[first] : ".";
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		diag_error(NULL, 0, "cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (check_free(dir) < 0 || scaffold(dir, &written) < 0)
		goto out;
	if (!cli->quiet)
		printf("init: wrote %zu files in %s\nnext: edit bulkhead.yaml (account IDs, regions), then run 'bulkhead build'\n",
		       written, dir);
	status = EXIT_CLEAN;
out:
	return cli_finish(cli, status);
}
