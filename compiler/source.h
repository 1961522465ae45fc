/* source.h - one interface to read the user's repo: the work tree today,
 * a git revision or the git index through the same calls.
 *
 * Paths are root-relative, '/'-separated and normalised ("" is the root).
 * Symlinks are followed here, once, with the same confinement rules for
 * every backend: a link may not lead outside the root or into .git. */
#ifndef BULKHEAD_SOURCE_H
#define BULKHEAD_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "arena.h"
#include "blob_id.h"
#include "buf.h"
#include "diag.h"
#include "map.h"
#include "src_kind.h"

enum src_err {
	SRC_OK = 0,
	SRC_ENOENT = -1,	/* no such file */
	SRC_ESCAPE = -2,	/* leaves the project root */
	SRC_ELOOP = -3,		/* too many symlinks */
	SRC_EIO = -4,		/* the OS or git said no; see source.err */
	SRC_ETOOBIG = -5,	/* over the file size limit */
	SRC_EISDIR = -6,	/* a directory where a file was wanted */
	SRC_EFORBIDDEN = -7,	/* .git/ or another refused area */
};

struct source;

struct source_ops {
	int (*lstat)(struct source *s, const char *path, enum src_kind *kind, size_t *size);
	int (*read)(struct source *s, const char *path, struct buf *out);
	int (*readlink)(struct source *s, const char *path, struct buf *out);
	/* Appends the sorted entry names of a directory, NUL-separated. */
	int (*list)(struct source *s, const char *path, struct buf *names, size_t *count);
	void (*free)(struct source *s);
	/* Optional: list, plus one char per entry in kinds, its enum
	 * src_kind as the listing told it, SRC_MISSING when it did not. */
	int (*list_kinds)(struct source *s, const char *path, struct buf *names, size_t *count, struct buf *kinds);
	/* Optional (the git sources): the blob id of path when it names a
	 * regular file, without reading it; SRC_OK or an error. */
	int (*blob_id)(struct source *s, const char *path, struct blob_id *id);
};

struct source {
	const struct source_ops *ops;
	char *label;		/* "work tree", "revision HEAD~1", "index" */
	/* The last SRC_EIO's message, naming its subject so that it can be
	 * printed alone.  When source_fail made it, "cannot VERB 'SUBJECT':
	 * REASON", err_subject and err_reason are where SUBJECT and REASON
	 * start in it (err_reason 0 otherwise) and err_subject_len is
	 * SUBJECT's length. */
	char err[256];
	unsigned short err_subject, err_subject_len, err_reason;
	void *impl;
	struct map dirs;	/* directories known to be real, not links */
	/* Module folder -> its struct module_memo: source_module_hash reads
	 * a folder that a thousand units name once. */
	struct map modules;
	struct arena dir_names;	/* the keys of dirs and modules, the memos */
};

/* Opens the work tree rooted at the absolute directory root. */
int source_open_worktree(struct source *s, const char *root);
/* Reports the stat data of every path the work tree looks at (NULL for a
 * missing one), for the build cache, with the map_hash (xxh3-64) of the
 * bytes of a file it read (hash NULL for a path only looked at); a
 * folder it lists goes to list_fn with the source_listing_hash of what it
 * held, when list_fn is given. */
typedef void watch_fn(void *ctx, const char *rel, const struct stat *st, const uint64_t *hash);
typedef void watch_list_fn(void *ctx, const char *rel, const struct stat *st, uint64_t listing_hash);
void source_watch(struct source *s, watch_fn *fn, watch_list_fn *list_fn, void *ctx);
/* The xxh3-64 of a listing: count sorted names (NUL-separated, len bytes
 * in all) and their kinds as the listing gave them, so that a folder
 * whose mtime moved can be listed again and found to hold the same. */
uint64_t source_listing_hash(const char *names, size_t len, const char *kinds, size_t count);
/* For worker threads, which must not touch a source's caches, trace or
 * scratch space.  source_reads_direct (called before the workers start)
 * says whether path is a work-tree file in a folder already resolved as
 * a real directory; source_read_direct then reads it relative to the root
 * without following a link in its last component, touching nothing
 * shared.  Any error only means "use source_read": it reports nothing.
 * The caller passes the stat data, length and map_hash of the bytes read
 * to source_note_read afterwards, on its own thread, for the build
 * cache's trace and the stat index (the worker hashed them already). */
bool source_reads_direct(const struct source *s, const char *path);
int source_read_direct(const struct source *s, const char *path, size_t max_size, struct buf *out,
		       struct stat *st);
void source_note_read(struct source *s, const char *path, const struct stat *st, size_t len, uint64_t hash);
/* With a stat index (see source_use_index): true when path, a regular
 * file of at most max_size bytes, has the stat data (one lstat, into st)
 * the index recorded with its text's xxh3-64 (map_hash) and length; the
 * text itself is then wherever the caller keeps texts by hash (the
 * parse cache), and source_note_read takes it as if read.  For workers,
 * as source_read_direct. */
bool source_indexed_text(const struct source *s, const char *path, size_t max_size, struct stat *st,
			 uint64_t *hash, size_t *len);
/* What source_read_direct does, below any folder descriptor: a regular
 * file, not through a link in its last component, at most max_size
 * bytes; *st is its stat data from before the read. */
int source_read_at(int dir_fd, const char *rel, size_t max_size, struct buf *out, struct stat *st);
/* The same for listing a folder: source_lists_direct (called before the
 * workers start) says whether path ("" for the root) is a work-tree
 * folder already resolved as a real directory; source_list_direct lists
 * it as source_list_kinds would (sorted names, kinds from the listing)
 * with its stat data when the source is watched or indexed (st is left
 * alone otherwise), without following a link; source_note_listing
 * hands the listing to the trace and the index afterwards, on the
 * caller's thread.  source_note_read's hash is map_hash(data, len). */
bool source_lists_direct(const struct source *s, const char *path);
int source_list_direct(const struct source *s, const char *path, struct buf *names, size_t *count,
		       struct buf *kinds, struct stat *st);
void source_note_listing(struct source *s, const char *path, const struct stat *st, const struct buf *names,
			 const struct buf *kinds, size_t count);
/* What source_list_direct does, below any folder descriptor (AT_FDCWD
 * for a path as the OS names it): appends the sorted names and their
 * kinds, and *st, taken before reading, when st is not NULL.  -1 with
 * errno when the folder cannot be read. */
int source_list_at(int dir_fd, const char *rel, struct buf *names, size_t *count, struct buf *kinds,
		   struct stat *st);
/* Empty caches for a source being opened. */
void source_init_caches(struct source *s);
void source_free(struct source *s);
/* Lets a work-tree source take folder listings and unit texts from si
 * (which outlives it) when their stat data say they are unchanged, and
 * note in it what it lists and reads; other sources ignore it. */
struct stat_index;
void source_use_index(struct source *s, struct stat_index *si);

/* The git backends (source_git.c, libgit2) read the repository without a
 * checkout.  repo_dir is any directory inside the work tree (the repository
 * is searched upward from it).  prefix is the project root relative to the
 * top of the work tree: "" at the top, "infra/live" in a mono-repo, or NULL
 * to take repo_dir itself as the project root.  Each returns 0, or -1 with
 * the reason in s->err (s is then empty; source_free on it is harmless). */

/* The tree of rev ("HEAD~1", a branch, a tag, a SHA). */
int source_open_revision(struct source *s, const char *repo_dir, const char *prefix,
			 const char *rev);
/* The git index: exactly what the next commit holds.  A path with merge
 * conflicts reads as SRC_EIO; intent-to-add entries are missing. */
int source_open_index(struct source *s, const char *repo_dir, const char *prefix);
/* The same with an explicit index file, as git's $GIT_INDEX_FILE (set for
 * the hooks of "git commit -a" and "git commit PATH"); NULL: the
 * repository's own index. */
int source_open_index_file(struct source *s, const char *repo_dir, const char *prefix,
			   const char *index_file);
/* True for an entry name git refuses to check out: empty, ".", "..", one
 * holding '/' or NUL, and ".git" as any case-insensitive filesystem may see
 * it (".GIT", ".git. ", "git~1", ".git:x", ".g\u200cit"). */
int source_name_refused(const char *name, size_t len);

/* Resolves symlinks in path (root-relative) within the root.  On success
 * *resolved holds the root-relative target. */
int source_resolve(struct source *s, const char *path, struct buf *resolved);
/* Records that path, free of links, is a directory, as the caller's own
 * lstat found: resolving paths through it then needs no lstat.  Returns
 * the source's copy of path, which lives as long as s. */
const char *source_known_dir(struct source *s, const char *path);
/* The caller listed path's folder and path was not in it: a lookup
 * answers "missing" without a syscall.  (The listing is in the trace.) */
void source_known_missing(struct source *s, const char *path);
/* Reads a file after resolving it; refuses files over max_size. */
int source_read(struct source *s, const char *path, size_t max_size, struct buf *out);
/* For a git source: true, with git's blob id of the regular file path
 * names (in a folder reached as source_read would reach it), when it
 * can tell without reading the file.  false for the work tree, a link,
 * anything that is not a plain file, or an error: source_read then
 * reads (and reports) as ever.  Reports nothing. */
bool source_blob_id(struct source *s, const char *path, struct blob_id *id);
/* The blob id git would give len bytes of data (`git hash-object`), to
 * compare with source_blob_id's without reading the blob; for a caller
 * holding a git source open. */
void source_blob_id_of(const void *data, size_t len, struct blob_id *id);
enum src_kind source_kind(struct source *s, const char *path);
int source_list(struct source *s, const char *path, struct buf *names, size_t *count);
/* The same with each entry's kind (enum src_kind as a char) in kinds
 * (NULL: names only),
 * SRC_MISSING where the backend cannot tell without an lstat: a walk
 * over a large tree then needs no lstat per entry. */
int source_list_kinds(struct source *s, const char *path, struct buf *names, size_t *count, struct buf *kinds);
/* A hash of the files below the folder dir, as module folders compare:
 * each file's path below dir and bytes (up to max_size), dot entries
 * left out, at most 10,000 entries (SRC_ETOOBIG past them). */
int source_tree_hash(struct source *s, const char *dir, size_t max_size, uint64_t *hash);
/* The same for a resolved local module source, "//dir" or "//dir//sub":
 * the files of dir, the package Terragrunt copies whole.  A folder hashed
 * once is not read again (a source is a snapshot); like the rest of a
 * source, not for concurrent callers. */
int source_module_hash(struct source *s, const char *module, size_t max_size, uint64_t *hash);
const char *source_strerror(const struct source *s, int err);
/* Sets s->err to "cannot VERB 'SUBJECT': REASON"; returns SRC_EIO. */
int source_fail(struct source *s, const char *verb, const char *subject, const char *reason);
/* Why reading path failed, for a message that names path itself
 * ("cannot read 'PATH': %s"): source_strerror, less the "cannot VERB
 * 'PATH': " of a source_fail message about the same path, which would
 * name it twice. */
const char *source_read_error(const struct source *s, int err, const char *path);

/* Joins rel onto the root-relative directory base, folding '.' and '..'.
 * A leading "//" means the project root.  Returns SRC_ESCAPE when '..'
 * climbs above the root, SRC_EFORBIDDEN for absolute paths. */
int path_join(const char *base, const char *rel, struct buf *out);
/* True for "scheme://...", "git::", "s3::" and similar remote addresses. */
int path_is_url(const char *p);
/* The directory part of a root-relative path ("" for a top-level file). */
char *path_dirname(struct arena *a, const char *path);
/* True when path is dir or lies beneath it (dir "" contains everything). */
int path_within(const char *path, const char *dir);
/* Whether test holds for a component of the slash-separated path rel:
 * it gets the component (name, len) and where it ends in rel, so it can
 * look at the path up to there; components are tried in order, and the
 * walk stops at the first that passes. */
typedef bool path_component_test(void *ctx, const char *name, size_t len, size_t end);
bool path_any_component(const char *rel, path_component_test *test, void *ctx);
/* True when a component of the root-relative path rel is a .git folder
 * (in any case, as git's own checks). */
bool path_through_git(const char *rel);

#endif
