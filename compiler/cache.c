/* cache.c - write and check the build cache. */
#include "cache.h"
#include "cache_dir.h"
#include "parallel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "bulkhead-cache 4 " BULKHEAD_VERSION
/* Header: the manifest.json recorded below listed exactly the outputs
 * recorded with it (struct cached_outputs). */
#define MANIFEST_WHOLE "manifest whole"

char *cache_file(const char *root, const char *out_opt, const struct selection *sel, bool allow_mocks)
{
	struct buf key = BUF_INIT, path = BUF_INIT;
	buf_printf(&key, "%s\n%s\n%d\n", MAGIC, out_opt ? out_opt : "(output.dir)", allow_mocks);
	for (size_t i = 0; i < sel->nenvs; i++)
		buf_printf(&key, "env %s\n", sel->envs[i]);
	for (size_t i = 0; i < sel->nunits; i++)
		buf_printf(&key, "unit %s\n", sel->units[i]);
	buf_printf(&path, "%s/.bulkhead/cache/build-%016llx", root,
		   (unsigned long long)XXH3_64bits(key.data, key.len));
	buf_free(&key);
	return buf_detach(&path, NULL);
}

/* ---- checking ---- */

/* path below dir_fd (fstatat: no walk of the root's own path per file)
 * still has the stat data recorded.  Only what was recorded before
 * `started` counts: a change within the same clock tick could hide. */
static bool same_stat_at(int dir_fd, const char *rel, char kind, const struct file_stamp *was, int64_t started)
{
	struct stat st;
	bool exists = fstatat(dir_fd, *rel ? rel : ".", &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!exists)
		return kind == 'm' && (errno == ENOENT || errno == ENOTDIR);
	struct file_stamp now = file_stamp_of(&st);
	if (kind == 'D')	/* the same folder, whatever it holds now */
		return S_ISDIR(st.st_mode) && now.ino == was->ino;
	if (kind != trace_kind_of(&st) || (int64_t)was->mtime_ns >= started)
		return false;
	return kind == 'd' ? folder_stamp_same(now, *was) : file_stamp_same(now, *was);
}

/* The file ends with "sum <16 hex>\n" over everything before it. */
static bool checksum_ok(const char *data, size_t len, size_t *body)
{
	const char *last = len > 21 ? data + len - 21 : NULL;	/* "sum " 16 hex "\n" */
	if (!last || strncmp(last, "sum ", 4) || data[len - 1] != '\n')
		return false;
	char want[17];
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)XXH3_64bits(data, (size_t)(last - data)));
	*body = (size_t)(last - data);
	return !strncmp(last + 4, want, 16);
}

/* The cache file's lines without the checksum line, NUL-terminated
 * (caller frees); NULL when it is unsafe to read, missing or corrupt. */
static char *read_sealed(const char *path)
{
	struct buf b = BUF_INIT;
	size_t body;
	if (!cache_path_safe(path) || buf_read_file(&b, path) < 0 || !checksum_ok(b.data, b.len, &body)) {
		buf_free(&b);
		return NULL;
	}
	b.data[body] = '\0';
	return buf_detach(&b, NULL);
}

static uint64_t env_hash(const char *name)
{
	const char *v = getenv(name);
	return v ? XXH3_64bits(v, strlen(v)) : 0;
}

/* A decimal number followed by one space; advances *p past both. */
static bool read_u64(char **p, uint64_t *out)
{
	char *s = *p, *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end != ' ')
		return false;
	*p = end + 1;
	return true;
}

/* A line the disk must confirm: "i|a|o KIND SIZE MTIME INO HASH PATH",
 * the path below the root, or below the output dir for "o"; HASH is the
 * xxh3-64 of a file's bytes (its output_hash for "o") in 16 hex digits,
 * or "-". */
struct stat_line {
	char what, kind;
	bool hashed;
	struct file_stamp stamp;
	uint64_t hash;
	const char *rel;
};

static bool read_hash(char **p, bool *hashed, uint64_t *hash)
{
	char *s = *p, *end;
	*hashed = s[0] != '-';
	if (!*hashed) {
		*hash = 0;
		*p = s + 2;
		return s[1] == ' ';
	}
	if (strspn(s, "0123456789abcdef") != 16 || s[16] != ' ')
		return false;
	*hash = strtoull(s, &end, 16);
	*p = end + 1;
	return true;
}

static bool parse_stat_line(char *line, struct stat_line *sl)
{
	sl->what = line[0];
	sl->kind = line[1] == ' ' ? line[2] : 0;
	if ((sl->what != 'i' && sl->what != 'a' && sl->what != 'o') || !sl->kind || line[3] != ' ')
		return false;
	char *p = line + 4;
	if (!read_u64(&p, &sl->stamp.size) || !read_u64(&p, &sl->stamp.mtime_ns) || !read_u64(&p, &sl->stamp.ino) ||
	    !read_hash(&p, &sl->hashed, &sl->hash))
		return false;
	sl->rel = p;
	return true;
}

/* The stat lines, checked on every worker in runs: a no-op build is
 * 130,000 of them at 30,000 units.  Any mismatch ends the check. */
struct freshness {
	struct stat_line *lines;
	size_t n, cap;
	int root_fd, out_fd;
	int64_t started;
	atomic_bool stale;
	atomic_bool refreshed;	/* some line now has new stat data */
	char *headers;		/* the lines between the first and the stat lines */
	size_t headers_len;
	bool has_root;		/* the "root" line: the work tree's identity */
	uint64_t root_dev, root_ino;
};

/* The lines that need no disk: "units", "out", "root", "env",
 * "manifest whole".  *kept says whether line was one of them; false when
 * it does not hold. */
static bool check_header_line(const char *line, const char **out_dir, struct cache_summary *sum,
			      struct freshness *fr, bool *kept)
{
	uint64_t hash;
	int used = 0;
	*kept = true;
	if (sscanf(line, "units %zu files %zu", &sum->units, &sum->files) == 2)
		return true;
	if (sscanf(line, "root %" SCNu64 " %" SCNu64, &fr->root_dev, &fr->root_ino) == 2) {
		fr->has_root = true;
		return true;
	}
	if (!strncmp(line, "out ", 4)) {
		*out_dir = line + 4;
		return true;
	}
	if (!strcmp(line, MANIFEST_WHOLE))
		return true;
	if (sscanf(line, "env %" SCNu64 " %n", &hash, &used) == 1 && used)
		return env_hash(line + used) == hash;	/* get_env reads it */
	*kept = false;
	return true;
}

enum { STAT_RUN = 1024 };

/* A file whose stat data moved still holds the bytes the build hashed:
 * take its new stat data (from before the read, so a change during the
 * read shows next time). */
static bool same_bytes_at(int dir_fd, struct stat_line *sl)
{
	struct stat st;
	struct buf data = BUF_INIT;
	bool same = source_read_at(dir_fd, sl->rel, SIZE_MAX, &data, &st) == SRC_OK &&
		    (sl->what == 'o' ? output_hash(data.data, data.len) : XXH3_64bits(data.data, data.len)) ==
			    sl->hash;
	buf_free(&data);
	if (same)
		sl->stamp = file_stamp_of(&st);
	return same;
}

/* The same for a listed folder: the same names of the same kinds. */
static bool same_names_at(int dir_fd, struct stat_line *sl)
{
	struct stat st;
	struct buf names = BUF_INIT, kinds = BUF_INIT;
	size_t count;
	bool same = source_list_at(dir_fd, *sl->rel ? sl->rel : ".", &names, &count, &kinds, &st) == 0 &&
		    source_listing_hash(names.data, names.len, kinds.data, count) == sl->hash;
	buf_free(&names);
	buf_free(&kinds);
	if (same)
		sl->stamp = file_stamp_of(&st);
	return same;
}

static void check_line(void *ctx, size_t i)
{
	struct freshness *fr = ctx;
	struct stat_line *sl = &fr->lines[i];
	if (atomic_load_explicit(&fr->stale, memory_order_relaxed))
		return;	/* one stale line decides */
	/* Outputs are written after the build started, and adopted folders
	 * were checked against the coarse clock when stored; only the other
	 * inputs can be racy. */
	int dir_fd = sl->what == 'o' ? fr->out_fd : fr->root_fd;
	if (same_stat_at(dir_fd, sl->rel, sl->kind, &sl->stamp, sl->what == 'i' ? fr->started : INT64_MAX))
		return;
	bool same = sl->hashed && (sl->kind == 'f' ? same_bytes_at(dir_fd, sl) :
				   sl->kind == 'd' ? same_names_at(dir_fd, sl) : false);
	if (same)
		atomic_store(&fr->refreshed, true);
	else
		atomic_store(&fr->stale, true);
}

/* Every line read in order; the stat lines kept for check_line, the
 * header lines before them remembered for a refresh. */
static bool read_lines(char *line, const char **out_dir, struct cache_summary *sum, struct freshness *fr)
{
	fr->headers = line;
	for (char *nl; *line; line = nl + 1) {
		bool header;
		if (!(nl = strchr(line, '\n')))
			return false;
		*nl = '\0';
		if (!check_header_line(line, out_dir, sum, fr, &header))
			return false;
		if (header) {
			if (fr->n)
				return false;	/* cache_store writes them first */
			fr->headers_len = (size_t)(nl + 1 - fr->headers);
			continue;
		}
		if (!*out_dir)
			return false;
		if (fr->n == fr->cap)
			fr->lines = xrealloc(fr->lines, (fr->cap = fr->cap ? fr->cap * 2 : 1024) * sizeof(*fr->lines));
		if (!parse_stat_line(line, &fr->lines[fr->n++]))
			return false;
	}
	return true;
}

static void refresh_cache(const char *path, const struct freshness *fr, int64_t checked_ns);

/* The cache belongs to the work tree that wrote it.  Comparing bytes
 * would otherwise let a cache file committed to a repo vouch for outputs
 * in any fresh clone of it; a clone's root is a new folder. */
static bool same_root(int root_fd, const struct freshness *fr)
{
	struct stat st;
	return fr->has_root && fstat(root_fd, &st) == 0 && (uint64_t)st.st_dev == fr->root_dev &&
	       (uint64_t)st.st_ino == fr->root_ino;
}

int cache_fresh(const char *path, const char *root, unsigned jobs, struct cache_summary *sum)
{
	int64_t checked_ns = cache_coarse_now_ns();	/* before any stat: see refresh_cache */
	const char *out_dir = NULL;
	char *data = read_sealed(path);
	int fresh = 0;
	long long started;
	struct freshness fr = { .root_fd = -1, .out_fd = -1 };
	memset(sum, 0, sizeof(*sum));
	if (!data)
		goto out;
	char *nl = strchr(data, '\n');
	if (!nl || strncmp(data, MAGIC " started ", sizeof(MAGIC " started ") - 1) ||
	    sscanf(data + sizeof(MAGIC " started ") - 1, "%lld", &started) != 1)
		goto out;
	if (!read_lines(nl + 1, &out_dir, sum, &fr))
		goto out;
	fr.started = (int64_t)started;
	fr.root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fr.out_fd = out_dir ? open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fr.root_fd < 0 || (out_dir && fr.out_fd < 0) || !same_root(fr.root_fd, &fr))
		goto out;
	atomic_init(&fr.stale, false);
	atomic_init(&fr.refreshed, false);
	parallel_for_runs(fr.n, STAT_RUN, jobs, check_line, &fr);
	fresh = !atomic_load(&fr.stale) && (sum->units > 0 || sum->files > 0);
	if (fresh && atomic_load(&fr.refreshed))
		refresh_cache(path, &fr, checked_ns);
out:
	if (fr.root_fd >= 0)
		close(fr.root_fd);
	if (fr.out_fd >= 0)
		close(fr.out_fd);
	free(fr.lines);
	free(data);
	return fresh;
}

/* ---- outputs as the last build left them ---- */

/* "o f SIZE MTIME INO HASH PATH" (regular files with their hash), after
 * the "out" line. */
static void collect_output(char *line, struct cached_outputs *out)
{
	struct stat_line sl;
	if (strncmp(line, "o f ", 4) || !parse_stat_line(line, &sl) || !*sl.rel || !sl.hashed)
		return;
	struct cached_output co = { sl.stamp, sl.hash };
	if (!strcmp(sl.rel, MANIFEST)) {
		out->manifest = co;
		out->has_manifest = true;
		return;
	}
	struct cached_output *kept = xmalloc(sizeof(*kept));
	*kept = co;
	char *key = xstrdup(sl.rel);
	if (map_put(&out->files, key, strlen(key), kept)) {
		free(key);
		free(kept);
	}
}

void cache_outputs(const char *path, const char *out_dir, struct cached_outputs *out)
{
	char *data = read_sealed(path);
	bool ours = false, whole = false;
	memset(out, 0, sizeof(*out));
	map_init(&out->files);
	for (char *line = data, *nl; line && *line; line = nl + 1) {
		if (!(nl = strchr(line, '\n')))
			break;
		*nl = '\0';
		if (!strncmp(line, "out ", 4))
			ours = !strcmp(line + 4, out_dir);
		else if (!strcmp(line, MANIFEST_WHOLE))
			whole = true;
		else if (ours)
			collect_output(line, out);
	}
	out->manifest_whole = whole && out->has_manifest;
	free(data);
}

void cache_outputs_free(struct cached_outputs *out)
{
	for (size_t i = 0; i < out->files.cap; i++)
		if (out->files.slots[i].key) {
			free((char *)out->files.slots[i].key);
			free(out->files.slots[i].value);
		}
	map_free(&out->files);
	memset(out, 0, sizeof(*out));
}

/* ---- storing ---- */

/* "WHAT KIND SIZE MTIME INO HASH PATH": 130,000 of them at 30,000 units,
 * where printf would cost a tenth of a second.  hash NULL writes "-". */
static void stat_line(struct buf *b, char what, char kind, const struct file_stamp *stamp, const uint64_t *hash,
		      const char *rel)
{
	static const char hex[] = "0123456789abcdef";
	char head[] = { what, ' ', kind, ' ' }, digits[17] = "-";
	buf_add(b, head, sizeof(head));
	buf_add_uint(b, stamp->size);
	buf_putc(b, ' ');
	buf_add_uint(b, stamp->mtime_ns);
	buf_putc(b, ' ');
	buf_add_uint(b, stamp->ino);
	buf_putc(b, ' ');
	for (int i = 0; hash && i < 16; i++)
		digits[i] = hex[(*hash >> (60 - 4 * i)) & 0xf];
	buf_add(b, digits, hash ? 16 : 1);
	buf_putc(b, ' ');
	buf_puts(b, rel);
	buf_putc(b, '\n');
}

static void output_line(struct buf *b, const struct stat *st, const uint64_t *hash, const char *rel)
{
	struct file_stamp stamp = file_stamp_of(st);
	stat_line(b, 'o', trace_kind_of(st), &stamp, hash, rel);
}

/* Writes the n pieces of v to path atomically, followed by the checksum
 * line of their bytes, in v[n] (v has room for it).  The pieces are not
 * joined first: at 30,000 units they hold 8 MB, and copying them into
 * one buffer was a tenth of storing the cache. */
static void seal_pieces_and_write(const char *path, struct iovec *v, size_t n)
{
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		fatal_oom();
	XXH3_64bits_reset(st);
	for (size_t i = 0; i < n; i++)
		XXH3_64bits_update(st, v[i].iov_base, v[i].iov_len);
	char sum[32];
	int len = snprintf(sum, sizeof(sum), "sum %016llx\n", (unsigned long long)XXH3_64bits_digest(st));
	XXH3_freeState(st);
	v[n] = (struct iovec){ sum, (size_t)len };
	cache_write_pieces(path, v, n + 1);
}

/* The same for the bytes of b, which it frees. */
static void seal_and_write(const char *path, struct buf *b)
{
	struct iovec v[2] = { { b->data, b->len } };
	seal_pieces_and_write(path, v, 1);
	buf_free(b);
}

/* The cache again, with the stat data check_line took for files whose
 * bytes had not changed, so the next check needs no read.  Every line was
 * confirmed after checked_ns (a coarse clock reading taken first): that
 * becomes the racy bound, as a new build's start would be.  A refresh
 * that fails only costs the next check the same reads. */
static void refresh_cache(const char *path, const struct freshness *fr, int64_t checked_ns)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s started %lld\n", MAGIC, (long long)checked_ns);
	for (size_t i = 0; i < fr->headers_len; i++)
		buf_putc(&b, fr->headers[i] ? fr->headers[i] : '\n');	/* read_lines cut them */
	for (size_t i = 0; i < fr->n; i++) {
		const struct stat_line *sl = &fr->lines[i];
		stat_line(&b, sl->what, sl->kind, &sl->stamp, sl->hashed ? &sl->hash : NULL, sl->rel);
	}
	seal_and_write(path, &b);
}

/* The cache's lines are formatted on the workers in shares, a few per
 * worker: lines cost unevenly (a hash or none, long paths or short). */
enum { LINE_PARTS_PER_JOB = 4 };

/* Where share part of nparts begins among n lines. */
static size_t share_start(size_t n, size_t part, size_t nparts)
{
	return n * part / nparts;
}

/* Appends the parts to the pieces v[*n..]. */
static void add_parts(struct iovec *v, size_t *n, const struct buf *parts, size_t nparts)
{
	for (size_t k = 0; k < nparts; k++)
		v[(*n)++] = (struct iovec){ parts[k].data, parts[k].len };
}

static void free_parts(struct buf *parts, size_t n)
{
	for (size_t k = 0; k < n; k++)
		buf_free(&parts[k]);
	free(parts);
}

/* The stat data of every output: as emit_write saw it where it did (all
 * of them after a cold build or a one-unit change: 30,000 stats saved),
 * else taken on the workers below the output dir's descriptor; ok[i]
 * false where there is none. */
struct output_stats {
	const struct emit_plan *plan;
	const struct file_stamp *seen;
	int out_fd;
	struct stat *st;
	bool *ok;
	struct buf *parts;	/* the lines of each share of the outputs */
	size_t nparts;
};

static bool seen_at(const struct file_stamp *seen, size_t i)
{
	return seen && seen[i].ino;
}

static void stat_output(void *ctx, size_t i)
{
	struct output_stats *os = ctx;
	if (!seen_at(os->seen, i))
		os->ok[i] = fstatat(os->out_fd, os->plan->files[i].path, &os->st[i], AT_SYMLINK_NOFOLLOW) == 0;
}

/* The lines of the outputs of one share, in plan order, on a worker. */
static void format_outputs(void *ctx, size_t part)
{
	struct output_stats *os = ctx;
	const struct file_stamp *seen = os->seen;
	size_t n = os->plan->nfiles;
	for (size_t i = share_start(n, part, os->nparts); i < share_start(n, part + 1, os->nparts); i++) {
		if (!seen_at(seen, i) && !os->ok[i])
			continue;
		uint64_t hash = os->plan->files[i].hash.low64;	/* output_hash of its bytes */
		if (seen_at(seen, i))
			stat_line(&os->parts[part], 'o', 'f', &seen[i], &hash, os->plan->files[i].path);
		else
			output_line(&os->parts[part], &os->st[i], &hash, os->plan->files[i].path);
	}
}

/* The outputs' lines and the manifest's, in parts (*nparts of them, to
 * free with their array) formatted on the workers like the trace's. */
static struct buf *output_lines(const char *out_dir, const struct emit_plan *plan, const struct emit_result *res,
				unsigned jobs, size_t *nparts)
{
	const struct file_stamp *seen = res->seen;
	struct output_stats os = { plan, seen, open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
				   xcalloc(plan->nfiles + 1, sizeof(struct stat)), xcalloc(plan->nfiles + 1, sizeof(bool)),
				   NULL, (size_t)jobs * LINE_PARTS_PER_JOB };
	struct stat st;
	size_t unseen = 0;
	for (size_t i = 0; i < plan->nfiles; i++)
		unseen += !seen_at(seen, i);
	if (os.out_fd >= 0 && unseen)
		parallel_for_runs(plan->nfiles, STAT_RUN, jobs, stat_output, &os);
	os.parts = xcalloc(os.nparts, sizeof(*os.parts));
	parallel_for_runs(os.nparts, 1, jobs, format_outputs, &os);
	if (os.out_fd >= 0 && fstatat(os.out_fd, MANIFEST, &st, AT_SYMLINK_NOFOLLOW) == 0)
		output_line(&os.parts[os.nparts - 1], &st, &res->manifest_hash, MANIFEST);
	if (os.out_fd >= 0)
		close(os.out_fd);
	free(os.st);
	free(os.ok);
	*nparts = os.nparts;
	return os.parts;
}

/* A file found missing in a folder whose mtime is recorded needs no line
 * of its own: creating it would change the folder's mtime. */
static bool parent_watched(const struct trace *t, const char *path, const struct trace_entry *e)
{
	const char *slash = strrchr(path, '/');
	if (e->kind != 'm' || !slash)
		return false;
	const struct trace_entry *dir = map_get(&t->entries, path, (size_t)(slash - path));
	return dir && dir->kind == 'd';
}

/* The entry of full (absolute) inside dir (absolute), if full lies
 * beneath it: "out" for dir /r and full /r/out/dev. */
static bool child_of(const char *dir, const char *full, struct buf *name)
{
	size_t n = strlen(dir);
	if (strncmp(full, dir, n) || full[n] != '/' || !full[n + 1])
		return false;
	const char *start = full + n + 1, *slash = strchr(start, '/');
	buf_reset(name);
	buf_add(name, start, slash ? (size_t)(slash - start) : strlen(start));
	return true;
}

/* The listing hash of names and kinds without the names in drop. */
static uint64_t names_hash_without(const struct buf *names, const struct buf *kinds, size_t count,
				   const struct buf *drop, size_t ndrop, unsigned mask)
{
	struct buf kept = BUF_INIT, kept_kinds = BUF_INIT;
	const char *name = names->data;
	size_t nkept = 0;
	for (size_t i = 0; i < count; i++, name += strlen(name) + 1) {
		bool dropped = false;
		for (size_t k = 0; k < ndrop && !dropped; k++)
			dropped = (mask & (1u << k)) && !strcmp(name, drop[k].data);
		if (dropped)
			continue;
		buf_add(&kept, name, strlen(name) + 1);
		buf_putc(&kept_kinds, kinds->data[i]);
		nkept++;
	}
	uint64_t h = source_listing_hash(kept.data, kept.len, kept_kinds.data, nkept);
	buf_free(&kept);
	buf_free(&kept_kinds);
	return h;
}

/* A folder the walk found missing and the build created.  The output
 * dir (or a folder above it) needs no line: the lines of the outputs
 * inside it fail when it goes.  .bulkhead/ for the cache is recorded as
 * it is now: from here on, anything else appearing in it (dependency
 * outputs) changes its mtime. */
static void adopt_created(struct trace_entry *e, const char *full, const char *out_dir, const char *cache_path,
			  int64_t coarse_ns, struct buf *scratch)
{
	struct stat st;
	bool output = !strcmp(full, out_dir) || child_of(full, out_dir, scratch);
	if ((!output && !child_of(full, cache_path, scratch)) || lstat(full, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	if (output) {
		e->kind = 0;	/* not written */
		return;
	}
	if (stamp_ns(st.st_mtim) >= coarse_ns)
		return;
	e->kind = 'd';
	e->stamp = (struct file_stamp){ 0, (uint64_t)stamp_ns(st.st_mtim), (uint64_t)st.st_ino };
	e->adopted = true;
}

/* Whether root/rel (root for "") is path or a folder above it. */
static bool leads_to(const char *root, size_t root_len, const char *rel, const char *path)
{
	if (strncmp(path, root, root_len))
		return false;
	path += root_len;
	if (*rel) {
		size_t n = strlen(rel);
		if (path[0] != '/' || strncmp(path + 1, rel, n))
			return false;
		path += 1 + n;
	}
	return !path[0] || path[0] == '/';
}

/* The newest mtime of the folders from root down to path's parent
 * (path is below root); 0 when none can be read. */
static int64_t newest_above(const char *root, size_t root_len, const char *path)
{
	char dir[PATH_MAX];
	int64_t newest = 0;
	size_t len = strlen(path);
	if (len >= sizeof(dir) || strncmp(path, root, root_len))
		return 0;
	memcpy(dir, path, len + 1);
	for (size_t i = root_len; i < len; i++) {
		struct stat st;
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';	/* root, then each folder below it */
		if (lstat(dir, &st) == 0 && stamp_ns(st.st_mtim) > newest)
			newest = stamp_ns(st.st_mtim);
		dir[i] = '/';
	}
	return newest;
}

/* The coarse clock once it has passed the mtimes of the folders above
 * out/ and .bulkhead/cache/: a folder stamped in the current tick cannot
 * be vouched for (a change later in the tick would keep its mtime), and
 * the build made out/ or the cache folder in them moments ago.  Waits at
 * most two ticks of the slowest kernel clock (100 Hz), once per first
 * build; a small repo's next build missed the cache without it. */
static int64_t coarse_after_own_folders(const char *root, const char *out_dir, const char *cache_path)
{
	size_t root_len = strlen(root);
	int64_t newest = newest_above(root, root_len, out_dir), other = newest_above(root, root_len, cache_path);
	int64_t now = cache_coarse_now_ns();
	newest = other > newest ? other : newest;
	for (int waits = 0; now <= newest && waits < 20; waits++) {
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		now = cache_coarse_now_ns();
	}
	return now;
}

/* The root (or another listed folder) gains out/ or .bulkhead/ during the
 * first build, which would make the next build miss the cache.  When the
 * folder's names now are what the walk saw plus only those, take its new
 * stat data: nothing the compilation read has changed.  Only entries on
 * the way to out/ or .bulkhead/ can be such: the others (31,700 folders
 * at 30,000 units) are passed over before their path is made. */
static void adopt_own_entries(struct trace *t, const char *root, const char *out_dir, const char *cache_path)
{
#ifdef CLOCK_REALTIME_COARSE
	struct buf full = BUF_INIT, names = BUF_INIT, kinds = BUF_INIT, drop[2] = { BUF_INIT, BUF_INIT };
	/* File systems stamp mtimes from the coarse clock.  A folder whose
	 * mtime is older than this reading and whose names are as expected
	 * cannot change again without getting a newer mtime, so its line
	 * needs no racy check (see check_line). */
	int64_t coarse_ns = coarse_after_own_folders(root, out_dir, cache_path);
	size_t root_len = strlen(root);
	for (size_t i = 0; i < t->entries.cap; i++) {
		const struct map_slot *s = &t->entries.slots[i];
		struct trace_entry *e = s->value;
		struct stat st;
		if (!s->key || (!e->listed && e->kind != 'm') ||
		    (!leads_to(root, root_len, s->key, out_dir) && !leads_to(root, root_len, s->key, cache_path)))
			continue;
		buf_reset(&full);
		buf_printf(&full, "%s%s%s", root, *s->key ? "/" : "", s->key);
		if (e->kind == 'm') {
			adopt_created(e, full.data, out_dir, cache_path, coarse_ns, &names);
			continue;
		}
		size_t ndrop = 0;
		ndrop += child_of(full.data, out_dir, &drop[ndrop]);
		ndrop += child_of(full.data, cache_path, &drop[ndrop]);
		size_t count;
		buf_reset(&names);
		buf_reset(&kinds);
		if (!ndrop || source_list_at(AT_FDCWD, full.data, &names, &count, &kinds, &st) < 0 ||
		    stamp_ns(st.st_mtim) >= coarse_ns ||
		    folder_stamp_same(file_stamp_of(&st), e->stamp))
			continue;
		/* From here on the folder is vouched for as it is now. */
		for (unsigned mask = 0; mask < (1u << ndrop); mask++)
			if (names_hash_without(&names, &kinds, count, drop, ndrop, mask) == e->names_hash) {
				e->stamp = file_stamp_of(&st);
				e->names_hash = source_listing_hash(names.data, names.len, kinds.data, count);
				e->adopted = true;
				break;
			}
	}
	buf_free(&full);
	buf_free(&names);
	buf_free(&kinds);
	buf_free(&drop[0]);
	buf_free(&drop[1]);
#else
	(void)t, (void)root, (void)out_dir, (void)cache_path;
#endif
}

/* Whether the file at dir_fd/name starts with this version's magic. */
static bool ours(int dir_fd, const char *name)
{
	char head[sizeof(MAGIC) - 1];
	int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return true;	/* leave alone what cannot be read */
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return n == (ssize_t)sizeof(head) && !memcmp(head, MAGIC, sizeof(head));
}

/* The file name holds the version (cache_file), so every upgrade would
 * leave its predecessor's cache behind, megabytes each in a large repo:
 * drop the build-* files another version wrote. */
static void prune_other_versions(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = xstrndup(path, slash ? (size_t)(slash - path) : 0);
	DIR *d = *dir ? opendir(dir) : NULL;
	for (struct dirent *e; d && (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (strncmp(e->d_name, "build-", 6) || !strcmp(e->d_name, slash + 1) ||
		    (n > 4 && !strcmp(e->d_name + n - 4, ".tmp")) || ours(dirfd(d), e->d_name))
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	free(dir);
}

static int compare_slot_keys(const void *a, const void *b)
{
	return strcmp((*(const struct map_slot *const *)a)->key, (*(const struct map_slot *const *)b)->key);
}

/* The trace's lines in path order (consecutive stats then walk the same
 * folders, whose entries the kernel has at hand), sorted and formatted on
 * the workers, each its share: at 30,000 units the 62,000 lines took 60
 * ms on one thread, at the end of every build that stores a cache. */
struct trace_lines {
	const struct trace *t;
	const struct map_slot **slots;	/* the entries, sorted part by part, then merged */
	size_t n, nparts;
	struct buf *parts;	/* per part of the sorted entries: its lines */
};

static size_t part_start(const struct trace_lines *tl, size_t part)
{
	return share_start(tl->n, part, tl->nparts);
}

static void sort_part(void *ctx, size_t part)
{
	struct trace_lines *tl = ctx;
	size_t from = part_start(tl, part);
	qsort(tl->slots + from, part_start(tl, part + 1) - from, sizeof(*tl->slots), compare_slot_keys);
}

/* Merges the sorted runs (a few: one per part) into one, by key. */
static void merge_parts(struct trace_lines *tl)
{
	const struct map_slot **out = xcalloc(tl->n + 1, sizeof(*out));
	size_t *next = xcalloc(tl->nparts, sizeof(*next));
	for (size_t k = 0; k < tl->nparts; k++)
		next[k] = part_start(tl, k);
	for (size_t i = 0; i < tl->n; i++) {
		size_t best = tl->nparts;
		for (size_t k = 0; k < tl->nparts; k++)
			if (next[k] < part_start(tl, k + 1) &&
			    (best == tl->nparts || strcmp(tl->slots[next[k]]->key, tl->slots[next[best]]->key) < 0))
				best = k;
		out[i] = tl->slots[next[best]++];
	}
	free(next);
	free(tl->slots);
	tl->slots = out;
}

static void format_part(void *ctx, size_t part)
{
	struct trace_lines *tl = ctx;
	struct buf *b = &tl->parts[part];
	for (size_t i = part_start(tl, part); i < part_start(tl, part + 1); i++) {
		const struct map_slot *s = tl->slots[i];
		const struct trace_entry *e = s->value;
		if (!e->kind || strchr(s->key, '\n') || parent_watched(tl->t, s->key, e))
			continue;
		/* A folder the build found but did not list was only checked
		 * to be one (a path's component, the output dir): what it read
		 * below has entries of its own.  Only its kind and identity are
		 * kept ("D"): its mtime moves whenever anything in it does, the
		 * build's own out/ and .bulkhead/cache/ included, and the
		 * rebuild after every first build missed.  A folder the build
		 * made where it found nothing (adopted) keeps its mtime: no
		 * path below it was looked at. */
		char kind = e->kind == 'd' && !e->listed && !e->adopted ? 'D' : e->kind;
		const uint64_t *hash = e->hashed ? &e->hash : e->listed && kind == 'd' ? &e->names_hash : NULL;
		stat_line(b, e->adopted ? 'a' : 'i', kind, &e->stamp, hash, s->key);
	}
}

/* The lines of t in parts, *nparts of them, to free with their array. */
static struct buf *trace_lines(const struct trace *t, unsigned jobs,
			       size_t *nparts)
{
	struct trace_lines tl = { t, xcalloc(t->entries.len + 1, sizeof(*tl.slots)), 0, jobs, NULL };
	for (size_t i = 0; i < t->entries.cap; i++)
		if (t->entries.slots[i].key)
			tl.slots[tl.n++] = &t->entries.slots[i];
	parallel_for_runs(tl.nparts, 1, jobs, sort_part, &tl);
	if (tl.nparts > 1)
		merge_parts(&tl);
	tl.nparts = (size_t)jobs * LINE_PARTS_PER_JOB;	/* formats unevenly: smaller shares */
	tl.parts = xcalloc(tl.nparts, sizeof(*tl.parts));
	parallel_for_runs(tl.nparts, 1, jobs, format_part, &tl);
	free(tl.slots);
	*nparts = tl.nparts;
	return tl.parts;
}

void cache_store(const char *path, struct trace *t, const struct project *p, const char *out_dir,
		 const struct emit_plan *plan, const struct emit_result *res)
{
	struct buf b = BUF_INIT;
	if (strchr(out_dir, '\n') || !cache_prepare(path))
		return;
	adopt_own_entries(t, p->root, out_dir, path);
	struct stat root;
	if (stat(p->root, &root) < 0)
		return;
	buf_printf(&b, "%s started %lld\nunits %zu files %zu\nout %s\nroot %llu %llu\n", MAGIC,
		   (long long)t->started_ns, plan->nunits, plan->nfiles, out_dir, (unsigned long long)root.st_dev,
		   (unsigned long long)root.st_ino);
	for (size_t i = 0; p->allow_env && i < p->allow_env->seq.len; i++) {
		const char *name = p->allow_env->seq.items[i]->str.s;
		buf_printf(&b, "env %llu %s\n", (unsigned long long)env_hash(name), name);
	}
	if (res->manifest_whole)
		buf_printf(&b, "%s\n", MANIFEST_WHOLE);
	unsigned jobs = parallel_jobs(p->jobs);
	size_t ntrace, noutputs, n = 0;
	struct buf *trace = trace_lines(t, jobs, &ntrace);
	struct buf *outputs = output_lines(out_dir, plan, res, jobs, &noutputs);
	struct iovec *v = xcalloc(1 + ntrace + noutputs + 1, sizeof(*v));	/* and the sum */
	v[n++] = (struct iovec){ b.data, b.len };
	add_parts(v, &n, trace, ntrace);
	add_parts(v, &n, outputs, noutputs);
	seal_pieces_and_write(path, v, n);
	prune_other_versions(path);
	free_parts(trace, ntrace);
	free_parts(outputs, noutputs);
	free(v);
	buf_free(&b);
}
