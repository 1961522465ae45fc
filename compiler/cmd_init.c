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

/* Where f goes in dir; in ".", its own path, as messages show it. */
static char *target(const char *dir, const struct embedded_file *f)
{
	struct buf b = BUF_INIT;
	const char *rel = f->path + sizeof(INIT_PREFIX) - 1;
	if (strcmp(dir, "."))
		buf_printf(&b, "%s/%s", dir, rel);
	else
		buf_puts(&b, rel);
	return buf_detach(&b, NULL);
}

/* What init made, to take back when a later step fails: no half
 * scaffold is left behind. */
struct made {
	struct {
		char *path;
		bool is_dir;
	} *v;			/* files and folders, in the order made */
	size_t n;
};

static void note_made(struct made *m, const char *path, bool is_dir)
{
	m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	m->v[m->n].path = xstrdup(path);
	m->v[m->n++].is_dir = is_dir;
}

/* Removes what was made, the newest first (files before their folders). */
static void undo_made(const struct made *m)
{
	for (size_t i = m->n; i-- > 0;)
		(void)(m->v[i].is_dir ? rmdir(m->v[i].path) : unlink(m->v[i].path));
}

static void made_free(struct made *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
}

static int make_parents(char *path, struct made *m)
{
	for (char *slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		int rc = mkdir(path, 0777);
		if (rc == 0)
			note_made(m, path, true);
		*slash = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

static int write_new(const char *path, const char *data, size_t len, struct made *m)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0)
		return -1;
	note_made(m, path, false);
	int rc = write_all(fd, data, len);
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

/* A folder on the way to path (below dir) that is something else. */
static int check_parents(const char *dir, char *path)
{
	int rc = 0;
	for (char *slash = strchr(path + strlen(dir) + 1, '/'); slash && rc == 0; slash = strchr(slash + 1, '/')) {
		struct stat st;
		*slash = '\0';
		if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
			diag_error(NULL, 0, "'%s' exists and is not a folder: init needs one there", path);
			rc = -1;
		}
		*slash = '/';
	}
	return rc;
}

/* Refuses before writing anything if any file would be overwritten, or
 * a folder init needs is a file. */
static int check_free(const char *dir)
{
	int rc = 0;
	for (const struct embedded_file *f = embedded_templates; f->path; f++) {
		if (!is_scaffold(f))
			continue;
		char *path = target(dir, f);
		struct stat st;
		if (check_parents(dir, path) < 0) {
			rc = -1;
		} else if (lstat(path, &st) == 0) {
			diag_error(NULL, 0, "'%s' exists: init never overwrites files", path);
			rc = -1;
		}
		free(path);
	}
	return rc;
}

static int scaffold(const char *dir, size_t *written, struct made *m)
{
	for (const struct embedded_file *f = embedded_templates; f->path; f++) {
		if (!is_scaffold(f))
			continue;
		char *path = target(dir, f);
		int rc = make_parents(path, m) < 0 ? -1 : write_new(path, f->data, f->len, m);
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
	struct made made = { 0 };
	int status = EXIT_ERROR;
	int first = cli_parse(cli, cmd, argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL, NULL);
	if (first < 0)
		goto out;
	if (argc - first > 1) {
		status = cli_usage_error(cmd, "unexpected argument '%s'", argv[first + 1]);
		goto out;
	}
	const char *dir = first < argc ? argv[first] : ".";
	if (mkdir(dir, 0777) == 0) {
		note_made(&made, dir, true);
	} else if (errno != EEXIST) {
		diag_error(NULL, 0, "cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (check_free(dir) < 0 || scaffold(dir, &written, &made) < 0) {
		undo_made(&made);
		goto out;
	}
	if (!cli->quiet)
		printf("init: wrote %zu files in %s\nnext: edit bulkhead.yaml (account IDs, regions), then run 'bulkhead build'\n",
		       written, dir);
	status = EXIT_CLEAN;
out:
	made_free(&made);
	return cli_finish(cli, status);
}
