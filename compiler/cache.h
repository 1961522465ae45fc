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
#include "trace.h"

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

/* Records a successful build; failures only cost the next build time.
 * A listed folder the build itself changed (creating out/ or .bulkhead/
 * in the root) is recorded as it is now if that was its only change.
 * res is what emit_write reported: its seen (or NULL) holds the outputs'
 * stat data as it left them (the outputs it does not cover are stat'ed),
 * and the manifest's hash. */
void cache_store(const char *path, struct trace *t, const struct project *p, const char *out_dir,
		 const struct emit_plan *plan, const struct emit_result *res);

#endif
