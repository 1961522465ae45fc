/* cache.h - the build cache: a no-op build reads no YAML at all.
 *
 * Like git's index, the cache records the stat data (size, mtime, inode)
 * of every path the work-tree source looked at, files read, folders
 * listed and files found missing, and of every output file, and the
 * xxh3-64 of the bytes of every file read or written.  When all of them
 * still match, nothing the build depends on changed, and neither did its
 * result.  A file whose stat data moved (touched, checked out again,
 * rewritten within the build's clock tick) is read and hashed: the same
 * bytes still count as unchanged, and the cache is then rewritten with
 * the new stat data, as git refreshes its index; so is a listed folder
 * whose mtime moved (a checkout replaced its files, an editor's swap file
 * came and went) but whose names and their kinds did not.  A cache holds the
 * identity of the work tree's root and vouches for no other (a fresh
 * clone of a repo that committed one).  A cache that does not match its
 * inputs, or is corrupt, is ignored, never trusted. */
#ifndef BULKHEAD_CACHE_H
#define BULKHEAD_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "emit.h"

struct trace {
	struct map entries;	/* root-relative path -> struct trace_entry */
	struct arena arena;	/* the entries and their paths */
	int64_t started_ns;	/* when the build began: later mtimes are racy */
};

struct trace_entry {
	char kind;		/* f file, d directory, l link, o other, m missing */
	bool listed;		/* a folder whose names were read */
	bool adopted;		/* changed by the build itself (cache_store) */
	uint64_t size, mtime_ns, ino;
	uint64_t names_hash;	/* source_listing_hash, when listed */
	bool hashed;		/* a file read: hash holds its bytes' xxh3-64 */
	uint64_t hash;
};

void trace_init(struct trace *t);
/* Room for about n entries (a hint: the stat index's count, as the last
 * run found the repo), so the trace does not rehash on the way. */
void trace_expect(struct trace *t, size_t n);
void trace_free(struct trace *t);
/* st is NULL for a path found missing. */
void trace_record(struct trace *t, const char *rel, const struct stat *st);
/* A file read, with the map_hash (xxh3-64) of the bytes the build used. */
void trace_record_read(struct trace *t, const char *rel, const struct stat *st, uint64_t hash);
/* A folder that was listed, with the source_listing_hash of what it held. */
void trace_record_listing(struct trace *t, const char *rel, const struct stat *st, uint64_t listing_hash);

/* What a cached build printed. */
struct cache_summary {
	size_t units, files;
};

/* The cache file of one kind of build: -o as resolved (or NULL for
 * output.dir), the selection and the options. */
char *cache_file(const char *root, const char *out_opt, const struct selection *sel, bool allow_mocks);
/* 1 when the cache at path proves the outputs are current, else 0.  The
 * stat checks run on jobs workers (0: one per CPU). */
int cache_fresh(const char *path, const char *root, unsigned jobs, struct cache_summary *sum);
/* Fills out with the outputs a sound cache of a build into out_dir
 * records; leaves it empty otherwise.  cache_outputs_free releases it. */
void cache_outputs(const char *path, const char *out_dir, struct cached_outputs *out);
void cache_outputs_free(struct cached_outputs *out);

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
/* Records a successful build; failures only cost the next build time.
 * A listed folder the build itself changed (creating out/ or .bulkhead/
 * in the root) is recorded as it is now if that was its only change.
 * res is what emit_write reported: its seen (or NULL) holds the outputs'
 * stat data as it left them (the outputs it does not cover are stat'ed),
 * and the manifest's hash. */
void cache_store(const char *path, struct trace *t, const struct project *p, const char *out_dir,
		 const struct emit_plan *plan, const struct emit_result *res);

/* False when .bulkhead/ or .bulkhead/cache/ above path is there but is
 * not a real folder (a symlink, a file): nothing is read or written
 * there (parse_cache.c keeps its file beside the build cache). */
bool cache_path_safe(const char *path);

#endif
