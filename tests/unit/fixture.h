/* fixture.h - temp project trees for the unit tests that need files.
 *
 * Static inline, like helpers.h: every test file gets its own copy. */
#ifndef BULKHEAD_TEST_FIXTURE_H
#define BULKHEAD_TEST_FIXTURE_H

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "helpers.h"

/* A new folder /tmp/bulkhead-TAG-XXXXXX; its real path in root. */
static inline void fixture_tmpdir(const char *tag, char root[PATH_MAX])
{
	char tmpl[64];
	snprintf(tmpl, sizeof(tmpl), "/tmp/bulkhead-%s-XXXXXX", tag);
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	cr_assert_not_null(realpath(tmpl, root));
}

/* mkdir -p root/rel. */
static inline void fixture_mkdirs(const char *root, const char *rel)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
			*p = '/';
		}
	cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
}

/* Writes root/rel, making its folders. */
static inline void fixture_write(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	if (strcmp(path, root))
		fixture_mkdirs(root, path + strlen(root) + 1);
	*slash = '/';
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
	size_t len = strlen(text);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* rm -rf path, without following links. */
static inline void fixture_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char child[PATH_MAX * 2];
		size_t lp = strlen(path), ln = strlen(de->d_name);
		if (lp + ln + 2 > sizeof(child))
			continue;
		memcpy(child, path, lp);
		child[lp] = '/';
		memcpy(child + lp + 1, de->d_name, ln + 1);
		fixture_rm_rf(child);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* Opens and evaluates the project at root as build's compile_run does
 * (mocked reads kept), which must succeed; *opened is set once p needs
 * project_close. */
static inline void fixture_compile(struct project *p, const char *root, bool *opened)
{
	int rc = project_open(p, root, &(struct source_spec){ .mock_reads = true });
	*opened = true;
	if (rc == 0)
		rc = compile_units(p);
	expect_done(rc, "the project");
}

#endif
