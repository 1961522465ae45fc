/* emit.h - render per-unit files and write them all-or-nothing.
 *
 * Planning renders every file in memory; writing happens only when the
 * whole plan is good: temp files first, then renames, then deletions of
 * files the previous manifest recorded for units that are gone, and the
 * manifest last.  Unchanged files are not rewritten. */
#ifndef BULKHEAD_EMIT_H
#define BULKHEAD_EMIT_H

#include <stdbool.h>
#include <xxhash.h>

#include "cache_dir.h"
#include "project.h"

#define MANIFEST "manifest.json"

struct out_file {
	char *path;		/* relative to the output dir */
	/* In the plan's arenas; NULL when the plan kept only the hash (see
	 * emit_plan), until emit_write renders it again, if it must. */
	const char *data;
	size_t len;
	XXH128_hash_t hash;
	struct unit *unit;
	const char *template;	/* the generate template it is; NULL: tfvars */
	/* The build cache's record of the file (emit_plan.written), looked
	 * up once when planning; NULL when it has none. */
	const struct cached_output *cached;
};

struct selection {
	const char **envs;	/* env labels or names; none = all */
	size_t nenvs;
	const char **units;	/* unit id globs; none = all */
	size_t nunits;
};

struct emit_plan {
	struct out_file *files;
	size_t nfiles, cap;
	/* The files' texts and the manifest's entries, rendered on every
	 * worker into its own arena and freed with the plan: at 30,000 units
	 * they are 80 MB that the caches written at the end of a build do
	 * not need. */
	struct worker_arena *arenas;
	unsigned narenas;
	struct unit **units;	/* selected units, sorted by (env order, id) */
	size_t nunits;
	/* When set, existing outputs are read from this source at tracked_dir
	 * (build --check --staged: what the commit holds), not from disk. */
	struct source *tracked;
	const char *tracked_dir;
	struct arena *tracked_arena;
	/* Outputs as the last build left them, from the build cache, or
	 * NULL: one whose stat data is unchanged and whose recorded hash is
	 * that of the planned bytes is not read again. */
	const struct cached_outputs *written;
	bool hashes_only;	/* no text is kept: nothing will be written */
	/* Called once the manifest is rendered, before the first file is
	 * written (not by --check): from there on emit_write reads only the
	 * plan and the units' names, and the caller may free the rest.  The
	 * kernel then makes the files and folders in the memory just freed,
	 * which it has at hand, rather than in pages it must fetch from the
	 * host (a fault each on a VM). */
	void (*before_writing)(void *ctx);
	void *before_writing_ctx;
};

/* True when the output at path (below dir_fd, or AT_FDCWD) is a regular
 * file that still has the stat data st. */
bool output_unchanged(const struct file_stamp *st, int dir_fd, const char *path);

/* The 64-bit hash the build cache keeps of an output's bytes: the low
 * half of the xxh3-128 the manifest records (out_file.hash), so a build
 * hashes each output once. */
static inline uint64_t output_hash(const void *data, size_t len)
{
	return XXH3_128bits(data, len).low64;
}

/* An output as the build cache recorded it: its stat data then, and the
 * output_hash of the bytes that build gave it. */
struct cached_output {
	struct file_stamp st;
	uint64_t hash;
};

/* The outputs of the last build into an output dir, as its build cache
 * recorded them (cache_outputs in cache.h fills one). */
struct cached_outputs {
	struct map files;	/* path -> struct cached_output; not the manifest */
	struct cached_output manifest;
	bool has_manifest;
	/* The manifest listed exactly the files above: that build had no
	 * previous entries outside its selection to keep. */
	bool manifest_whole;
};

struct emit_result {
	size_t written, unchanged, removed;
	bool manifest_changed;
	/* Per plan file, its stat data as this build left it: taken from
	 * the temp file before its rename (which keeps all three), or the
	 * build cache's record of a file found to match it; ino 0 where the
	 * build saw none.  NULL for build --check.  emit_result_free frees
	 * it. */
	struct file_stamp *seen;
	/* The manifest as this build left it: the output_hash of its bytes, and
	 * whether it lists exactly the plan's files (for the build cache). */
	uint64_t manifest_hash;
	bool manifest_whole;
};

bool selection_has_env(const struct selection *s, const struct env *e);
bool selection_has_unit(const struct selection *s, const char *env_label, const char *env_name,
			const char *unit_id);

/* Renders the files of every selected unit (terraform.tfvars.json and
 * the generated ones) and hashes them.  A file's text is kept for
 * emit_write unless written (the build cache's record, or NULL) holds the
 * file with the same hash: emit_write renders it again if the file on
 * disk turns out to differ.  With hashes_only, no text is kept and the
 * plan must not be written. */
int emit_plan(struct project *p, struct unit **units, size_t n, const struct cached_outputs *written,
	      bool hashes_only, struct emit_plan *plan);
void emit_plan_free(struct emit_plan *plan);
/* Writes the plan under out_dir (absolute).  With check set, writes
 * nothing and prints what would change; *changed tells whether anything
 * differs.  display is the output dir as the user names it. */
int emit_write(struct project *p, const struct emit_plan *plan, const struct selection *sel,
	       const char *out_dir, const char *display, bool check, bool quiet,
	       struct emit_result *res);
void emit_result_free(struct emit_result *res);
/* The xxh3-128 of data as 32 lowercase hex digits. */
void hash_hex(XXH128_hash_t h, char out[33]);

#endif
