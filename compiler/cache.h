/* cache.h - the build cache: a no-op build reads no YAML at all.
 *
 * Like git's index, the cache records the stat data (size, mtime, inode)
 * of every path the work-tree source looked at, files read, folders
 * listed and files found missing, and of every output file.  When all
 * of them still match, nothing the build depends on changed, and neither
 * did its result.  A cache that does not match its inputs, is corrupt or
 * is racy (an input changed within the build) is ignored, never trusted. */
#ifndef BULKHEAD_CACHE_H
#define BULKHEAD_CACHE_H

#include <stdint.h>
#include <sys/stat.h>

#include "emit.h"

struct trace {
	struct map entries;	/* root-relative path -> struct trace_entry */
	int64_t started_ns;	/* when the build began: later mtimes are racy */
};

struct trace_entry {
	char kind;		/* f file, d directory, l link, o other, m missing */
	uint64_t size, mtime_ns, ino;
};

void trace_init(struct trace *t);
void trace_free(struct trace *t);
/* st is NULL for a path found missing. */
void trace_record(struct trace *t, const char *rel, const struct stat *st);

/* What a cached build printed. */
struct cache_summary {
	size_t units, files;
};

/* The cache file of one kind of build: -o as resolved (or NULL for
 * output.dir), the selection and the options. */
char *cache_file(const char *root, const char *out_opt, const struct selection *sel, bool allow_mocks);
/* 1 when the cache at path proves the outputs are current, else 0. */
int cache_fresh(const char *path, const char *root, struct cache_summary *sum);
/* Records a successful build; failures only cost the next build time. */
void cache_store(const char *path, const struct trace *t, const struct project *p, const char *out_dir,
		 const struct emit_plan *plan);

#endif
