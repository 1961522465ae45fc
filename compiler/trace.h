/* trace.h - what a build looked at in the work tree.
 *
 * The work-tree source records every path it stats, reads or lists
 * (source_spec.trace) with its stat data, the hash of a file's bytes and
 * of a folder's entries; the build cache (cache.c) stores the trace and
 * checks it on the next build. */
#ifndef BULKHEAD_TRACE_H
#define BULKHEAD_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "arena.h"
#include "cache_dir.h"
#include "map.h"

struct trace {
	struct map entries;	/* root-relative path -> struct trace_entry */
	struct arena arena;	/* the entries and their paths */
	int64_t started_ns;	/* when the build began: later mtimes are racy */
};

struct trace_entry {
	char kind;		/* f file, d directory, l link, o other, m missing */
	bool listed;		/* a folder whose names were read */
	bool adopted;		/* changed by the build itself (cache_store) */
	struct file_stamp stamp;
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

/* The kind of file st describes, as trace_entry.kind gives it ('m' for
 * NULL: missing). */
char trace_kind_of(const struct stat *st);

#endif
