/* cache_dir.h - the folder .bulkhead/cache/ and the files in it.
 *
 * Every cache bulkhead keeps (the build cache, the parse cache, the stat
 * index) lives there and is reached the same way: the path is checked to
 * lead through real folders only (a pull request could commit either
 * folder as a link), its writers take turns on the folder's lock and
 * replace a file whole (temp file, then rename), and its readers map it.
 * These are the steps they share; what each file holds is its own. */
#ifndef BULKHEAD_CACHE_DIR_H
#define BULKHEAD_CACHE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "buf.h"

/* Creates the cache's folders.  A build about to write calls it before
 * writing, so that the folders it creates in the root all date from
 * well before cache_store (see there).  False when the cache must not be
 * used: .bulkhead/ or .bulkhead/cache/ is not a real folder. */
bool cache_prepare(const char *path);
/* The lock of the cache folder holding path, for a writer of a file
 * there (the parse cache, the stat index): a descriptor to close when
 * done, or -1 when another process holds it (it will write) or the
 * folder cannot be opened. */
int cache_lock_dir(const char *path);
/* Replaces the file at path with b's bytes, atomically: written to
 * path.tmp (a fixed name: the writer holds the folder's lock, or owns
 * the file), then renamed.  0, or -1 with nothing replaced. */
int cache_write_file(const char *path, const struct buf *b);
/* The regular file at path (not through a link) mapped read-only, its
 * pages read in; NULL when it is missing, empty or cannot be mapped.
 * munmap(mapping, *size) when done. */
void *cache_map_file(const char *path, size_t *size);
/* Now by the coarse clock file systems stamp mtimes with, in ns: a stamp
 * older than it cannot change again without a newer stamp. */
int64_t cache_coarse_now_ns(void);
/* A file's time stamp (st_mtim, st_ctim) in ns, as the caches record
 * and compare them.  Reckoned unsigned: a stamp past 2262 (a hostile or
 * fuzzed one) wraps rather than overflowing. */
static inline int64_t stamp_ns(struct timespec t)
{
	return (int64_t)((uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec);
}
/* What a cache records of a file to know it unchanged without reading it,
 * as git's index does: size, mtime and inode. */
struct file_stamp {
	uint64_t size, mtime_ns, ino;
};
static inline struct file_stamp file_stamp_of(const struct stat *st)
{
	return (struct file_stamp){ (uint64_t)st->st_size, (uint64_t)stamp_ns(st->st_mtim), (uint64_t)st->st_ino };
}
static inline bool file_stamp_same(struct file_stamp a, struct file_stamp b)
{
	return a.size == b.size && a.mtime_ns == b.mtime_ns && a.ino == b.ino;
}
/* A folder's size varies by file system: folders compare without it. */
static inline bool folder_stamp_same(struct file_stamp a, struct file_stamp b)
{
	return a.mtime_ns == b.mtime_ns && a.ino == b.ino;
}
/* cache_write_file for the n pieces of v, in order. */
int cache_write_pieces(const char *path, const struct iovec *v, size_t n);
/* A file with no name in the folder dir_fd (O_TMPFILE), for a writer
 * that runs beside threads which may end the process (out of memory:
 * fatal): the file goes with the process unless cache_link_unnamed names
 * it, where a named temp file would be left behind.  -1 where the file
 * system makes none: the writer falls back to a named temp file. */
int cache_open_unnamed(int dir_fd);
/* Names the unnamed file fd `name` in dir_fd, in place of the file there,
 * which goes first: a reader finds the old file, none (a missing cache is
 * built again) or the new one.  The caller holds the folder's lock.
 * 0, or -1 (and then no file by that name may be left). */
int cache_link_unnamed(int dir_fd, int fd, const char *name);

/* False when .bulkhead/ or .bulkhead/cache/ above path is there but is
 * not a real folder (a symlink, a file): nothing is read or written
 * there (parse_cache.c keeps its file beside the build cache). */
bool cache_path_safe(const char *path);

#endif
