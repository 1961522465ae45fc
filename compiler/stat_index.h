/* stat_index.h - the work tree's folders and unit files as the last run
 * found them, trusted by their stat data.
 *
 * Every run lists every folder of the repo (31,700 at 30,000 units: open,
 * two getdents, close) and reads every unit file (open, fstat, read,
 * close), though from one run to the next almost nothing changes.  As
 * git's index and untracked cache do, the index keeps per folder its stat
 * data and listing, and per unit file its stat data, length and xxh3-64;
 * the next run stats the folder or file once and, when the stat data are
 * the same, takes the listing from the index, or the text from the parse
 * cache, without reading.
 *
 * The stat data are device, inode, mode, size, mtime and ctime (which no
 * one can set back).  An entry is recorded only when both times are older
 * than the start of the run recording it, by the coarse clock file
 * systems stamp with: a change within the same tick could keep them
 * (git's racy entries).  The file, .bulkhead/cache/stat, is sealed with a
 * checksum and names the root (device, inode) and bulkhead's version: one
 * made elsewhere, damaged or malformed is ignored, never trusted. */
#ifndef BULKHEAD_STAT_INDEX_H
#define BULKHEAD_STAT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "buf.h"

struct index_slot;

struct stat_index {
	char *path;		/* the file; NULL: no index for this run */
	void *mapping;		/* the file as read, or NULL */
	size_t size;
	/* The old entries, read where they lie in the mapping when looked
	 * up, found by path through a table of 8-byte slots: a struct per
	 * entry and a struct map over 62,000 paths cost 40 ms of fresh
	 * memory and cache misses, a fifth of what the index saves. */
	const unsigned char **old;	/* where each starts */
	const unsigned char *old_end;	/* where the last one ends */
	unsigned char *fates;	/* what this run's notes made of each */
	size_t n;
	struct index_slot *slots;	/* open addressing, by xxh3 of the path */
	size_t mask;
	int64_t started_ns;	/* this run's start, by the coarse clock */
	unsigned long long root_dev, root_ino;
	/* Entries this run recorded anew, in the file's form. */
	struct buf fresh;
	size_t nfresh;
};

/* Opens the index of the project at root (absolute); a missing or unsound
 * file gives an empty index, an unsafe .bulkhead/ (see cache_path_safe)
 * none at all. */
void stat_index_open(struct stat_index *si, const char *root);
/* What stat_index_open does with the file's bytes (which must outlive
 * si): true when they are a sound index of the root si names, false,
 * with an index as empty as before, for anything else.  The file starts
 * with STAT_INDEX_MAGIC. */
#define STAT_INDEX_MAGIC "bulkhead-stat 1 " BULKHEAD_VERSION "\n"
bool stat_index_read(struct stat_index *si, const void *data, size_t size);

/* Lookups: for any thread, also beside the notes of another: they read
 * only the old entries and their table, which notes leave as they are.
 * st is the stat data of rel just taken (lstat: links are not followed). */

/* Appends the listing of folder rel as it was recorded (sorted names,
 * NUL-separated, one enum src_kind byte each in kinds) and sets *count,
 * when its stat data are those recorded; false, appending nothing,
 * otherwise. */
bool stat_index_listing(const struct stat_index *si, const char *rel, const struct stat *st, struct buf *names,
			size_t *count, struct buf *kinds);
/* The xxh3-64 (map_hash) and length of file rel's text when its stat data
 * are those recorded; false otherwise. */
bool stat_index_file(const struct stat_index *si, const char *rel, const struct stat *st, uint64_t *hash,
		     size_t *len);

/* Notes, on one thread, of what this run found: st is the stat data taken
 * before listing or reading.  An entry that matches the old one is kept;
 * anything else is recorded anew, unless its times are racy. */
void stat_index_note_listing(struct stat_index *si, const char *rel, const struct stat *st, const char *names,
			     size_t names_len, const char *kinds, size_t count);
void stat_index_note_file(struct stat_index *si, const char *rel, const struct stat *st, uint64_t hash, size_t len);

/* Writes the index again when a note recorded anything: the entries kept,
 * those recorded, and the old ones no note met while they are no more
 * than the rest (paths this run did not look at).  Failures only cost
 * the next run time. */
void stat_index_store(struct stat_index *si);
void stat_index_close(struct stat_index *si);

#endif
