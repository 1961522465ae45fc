/* cache_dir.c - the folder .bulkhead/cache/ and the files in it. */
#define _GNU_SOURCE 1	/* O_TMPFILE and AT_EMPTY_PATH, where there are */
#include "cache_dir.h"
#include "arena.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* File systems stamp mtimes from the coarse clock.  A file whose mtime is
 * older than a reading of it cannot change again without a newer mtime;
 * against the fine clock, a change in the same tick could keep it. */
int64_t cache_coarse_now_ns(void)
{
	struct timespec now;
#ifdef CLOCK_REALTIME_COARSE
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
#else
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec = 0;	/* a whole second back: never later than a stamp */
#endif
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* The cache lives in ROOT/.bulkhead/cache/, and both folders come from
 * the repo: a pull request could commit either as a link to anywhere.
 * Neither may be anything but a real folder (or absent, before the first
 * build), or the cache is neither read nor written nor pruned. */
bool cache_path_safe(const char *path)
{
	char *dir = xstrdup(path);
	bool safe = true;
	for (int up = 0; up < 2 && safe; up++) {
		char *slash = strrchr(dir, '/');
		struct stat st;
		if (!slash || slash == dir)
			break;
		*slash = '\0';
		safe = lstat(dir, &st) == 0 ? S_ISDIR(st.st_mode) : errno == ENOENT;
	}
	free(dir);
	return safe;
}

int cache_write_pieces(const char *path, const struct iovec *v, size_t n)
{
	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s.tmp", path);	/* fixed: a killed build's is reused */
	int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
	int rc = -1;
	if (fd >= 0) {
		bool written = write_gathered(fd, v, n) == 0;
		rc = (close(fd) == 0 && written && rename(tmp.data, path) == 0) ? 0 : -1;
		if (rc < 0)
			unlink(tmp.data);
	}
	buf_free(&tmp);
	return rc;
}

int cache_write_file(const char *path, const struct buf *b)
{
	struct iovec one = { b->data, b->len };
	return cache_write_pieces(path, &one, 1);
}

/* Writers take turns on a lock of the cache folder (none is left behind
 * by a killed one).  Beyond sparing work, it keeps a mapped cache whole:
 * two writers sharing the fixed temp name would both write the inode
 * the first renames into place, under a reader that checked it already.
 * A writer that finds the lock taken leaves the update to its holder. */
int cache_lock_dir(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(dir);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void *cache_map_file(const char *path, size_t *size)
{
	struct stat st;
	void *m = NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		m = m == MAP_FAILED ? NULL : m;
		*size = (size_t)st.st_size;
	}
	close(fd);
	return m;
}

bool cache_prepare(const char *path)
{
	if (!cache_path_safe(path))
		return false;
	char *dir = xstrdup(path);
	for (char *slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0777);
		*slash = '/';
	}
	free(dir);
	return true;
}

int cache_open_unnamed(int dir_fd)
{
#ifdef O_TMPFILE
	return openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
#else
	(void)dir_fd;
	errno = EOPNOTSUPP;
	return -1;
#endif
}

/* linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the descriptor's
 * name under /proc does not. */
int cache_link_unnamed(int dir_fd, int fd, const char *name)
{
	char proc[64];
	if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
		return -1;
#ifdef AT_EMPTY_PATH
	if (linkat(fd, "", dir_fd, name, AT_EMPTY_PATH) == 0)
		return 0;
#endif
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW);
}
