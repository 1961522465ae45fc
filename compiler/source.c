/* source.c - path rules, symlink confinement, and the work-tree backend. */
#include "source.h"
#include "stat_index.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xxhash.h>

enum { MAX_LINKS = 40 };

/* A value in source.dirs for a path known to be missing; the key is
 * then owned by the map and freed with it. */
static const char missing_mark;
#define MISSING_MARK ((void *)(uintptr_t)&missing_mark)

/* ---- path helpers ---- */

int path_is_url(const char *p)
{
	/* Asked of every dependency path and include (150,000 times at 1,000
	 * units x 3): the first byte rules most prefixes out. */
	static const struct {
		const char *text;
		size_t len;
	} prefixes[] = { { "git::", 5 }, { "s3::", 4 }, { "gcs::", 5 }, { "hg::", 4 }, { "http::", 6 },
			 { "https::", 7 }, { "github.com/", 11 }, { "bitbucket.org/", 14 }, { "git@", 4 } };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++)
		if (p[0] == prefixes[i].text[0] && !strncmp(p, prefixes[i].text, prefixes[i].len))
			return 1;
	const char *colon = strstr(p, "://");
	if (!colon || colon == p)
		return 0;
	/* RFC 3986: a letter, then letters, digits, '+', '-' or '.'. */
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	for (const char *q = p; q < colon; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		      *q == '+' || *q == '-' || *q == '.'))
			return 0;
	return 1;
}

static void pop_component(struct buf *out)
{
	while (out->len && out->data[out->len - 1] != '/')
		out->len--;
	if (out->len)
		out->len--;
	out->data[out->len] = '\0';
}

int path_join(const char *base, const char *rel, struct buf *out)
{
	buf_reset(out);
	buf_add(out, "", 0);
	if (rel[0] == '/' && rel[1] == '/')
		rel += 2;
	else if (rel[0] == '/')
		return SRC_EFORBIDDEN;
	else if (base && *base)
		buf_puts(out, base);
	const char *p = rel;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* empty or "." component */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (!out->len)
				return SRC_ESCAPE;
			pop_component(out);
		} else {
			if (out->len)
				buf_putc(out, '/');
			buf_add(out, p, n);
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return SRC_OK;
}

char *path_dirname(struct arena *a, const char *path)
{
	const char *slash = strrchr(path, '/');
	return arena_strndup(a, path, slash ? (size_t)(slash - path) : 0);
}

int path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (!n)
		return 1;
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

static int is_git_dir(const char *name, size_t n)
{
	return n == 4 && !strncasecmp(name, ".git", 4);
}

bool path_any_component(const char *rel, path_component_test *test, void *ctx)
{
	for (const char *q = rel; *q;) {
		const char *slash = strchr(q, '/');
		size_t n = slash ? (size_t)(slash - q) : strlen(q);
		if (test(ctx, q, n, (size_t)(q - rel) + n))
			return true;
		q += n + (slash != NULL);
	}
	return false;
}

static bool git_component(void *ctx, const char *name, size_t len, size_t end)
{
	(void)ctx, (void)end;
	return is_git_dir(name, len);
}

bool path_through_git(const char *rel)
{
	return path_any_component(rel, git_component, NULL);
}

/* ---- generic resolution ---- */

/* Notes path as a real folder (mark NULL) or as missing (MISSING_MARK),
 * unless it is known already: a walk notes 31,700 folders, hashing each
 * once, their names in one arena. */
static const char *note_dir(struct source *s, const char *path, size_t len, void *mark)
{
	uint64_t hash = map_hash(path, len);
	const struct map_slot *known = map_find_hashed(&s->dirs, path, len, hash);
	if (known)
		return known->key;
	const char *key = arena_strndup(&s->dir_names, path, len);
	map_put_hashed(&s->dirs, key, len, hash, mark ? mark : (void *)key);
	return key;
}

const char *source_known_dir(struct source *s, const char *path)
{
	return note_dir(s, path, strlen(path), NULL);
}

void source_known_missing(struct source *s, const char *path)
{
	note_dir(s, path, strlen(path), MISSING_MARK);
}

/* Rewrites an absolute link target that points into the root as a
 * root-relative one; anything else absolute escapes. */
static int absolute_target(struct source *s, struct buf *target);

/* Resolves path and gives the kind and size of what it names, from the
 * walk's own lstat of the last component where there was one: each read
 * or listing then costs one lstat, not two or three. */
static int resolve_stat(struct source *s, const char *path, struct buf *resolved, enum src_kind *kind,
			size_t *size)
{
	struct buf rest = BUF_INIT, target = BUF_INIT;
	int links = 0, rc = SRC_OK;
	bool have_kind = false;	/* *kind describes resolved as it stands */
	s->err_reason = 0;	/* err describes this call's failure only */
	buf_reset(resolved);
	buf_add(resolved, "", 0);
	buf_puts(&rest, path);
	size_t pos = 0;
	while (pos < rest.len) {
		const char *p = rest.data + pos;
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		pos += n + (slash ? 1 : 0);
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (!resolved->len) {
				rc = SRC_ESCAPE;
				goto out;
			}
			pop_component(resolved);
			have_kind = false;
			continue;
		}
		if (is_git_dir(p, n)) {
			rc = SRC_EFORBIDDEN;
			goto out;
		}
		size_t saved = resolved->len;
		if (resolved->len)
			buf_putc(resolved, '/');
		buf_add(resolved, p, n);
		/* A directory seen before needs no lstat: walking the same
		 * folders for every unit would cost a syscall per level. */
		void *known = map_get(&s->dirs, resolved->data, resolved->len);
		if (known == MISSING_MARK) {
			rc = SRC_ENOENT;
			goto out;
		}
		if (known) {
			*kind = SRC_DIR;
			*size = 0;
			have_kind = true;
			continue;
		}
		rc = s->ops->lstat(s, resolved->data, kind, size);
		if (rc < 0)
			goto out;
		have_kind = true;
		if (*kind == SRC_MISSING) {
			/* Remember it: every unit probes the same missing outputs dir. */
			note_dir(s, resolved->data, resolved->len, MISSING_MARK);
			rc = SRC_ENOENT;
			goto out;
		}
		if (*kind == SRC_DIR)
			source_known_dir(s, resolved->data);
		if (*kind != SRC_LINK)
			continue;
		have_kind = false;
		if (++links > MAX_LINKS) {
			rc = SRC_ELOOP;
			goto out;
		}
		rc = s->ops->readlink(s, resolved->data, &target);
		if (rc < 0)
			goto out;
		resolved->len = saved;
		resolved->data[saved] = '\0';
		if (target.len && target.data[0] == '/') {
			rc = absolute_target(s, &target);
			if (rc < 0)
				goto out;
			buf_reset(resolved);
			buf_add(resolved, "", 0);
		}
		/* Continue with the link's target followed by what is left. */
		buf_puts(&target, pos < rest.len ? "/" : "");
		buf_add(&target, rest.data + pos, rest.len - pos);
		buf_reset(&rest);
		buf_add(&rest, target.data, target.len);
		pos = 0;
	}
	if (rc == SRC_OK && !have_kind)
		rc = s->ops->lstat(s, resolved->data, kind, size);
out:
	buf_free(&rest);
	buf_free(&target);
	return rc;
}

int source_resolve(struct source *s, const char *path, struct buf *resolved)
{
	enum src_kind kind;
	size_t size;
	return resolve_stat(s, path, resolved, &kind, &size);
}

int source_read(struct source *s, const char *path, size_t max_size, struct buf *out)
{
	struct buf resolved = BUF_INIT;
	enum src_kind kind;
	size_t size;
	int rc = resolve_stat(s, path, &resolved, &kind, &size);
	if (rc < 0)
		goto out;
	if (kind == SRC_DIR) {
		rc = SRC_EISDIR;
		goto out;
	}
	if (kind != SRC_FILE) {
		rc = kind == SRC_MISSING ? SRC_ENOENT : SRC_EIO;
		if (rc == SRC_EIO)
			snprintf(s->err, sizeof(s->err), "not a regular file");
		goto out;
	}
	if (size > max_size) {
		snprintf(s->err, sizeof(s->err), "%zu bytes, over the limit of %zu bytes", size, max_size);
		rc = SRC_ETOOBIG;
		goto out;
	}
	buf_reset(out);
	rc = s->ops->read(s, resolved.data, out);
	if (rc == SRC_OK && out->len > max_size) {
		snprintf(s->err, sizeof(s->err), "%zu bytes, over the limit of %zu bytes", out->len, max_size);
		rc = SRC_ETOOBIG;
	}
out:
	buf_free(&resolved);
	return rc;
}

bool source_blob_id(struct source *s, const char *path, struct blob_id *id)
{
	if (!s->ops->blob_id)
		return false;
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	size_t n = strlen(name);
	if (!n || (n == 1 && name[0] == '.') || (n == 2 && !memcmp(name, "..", 2)) || is_git_dir(name, n))
		return false;
	/* The folder as source_read resolves it (known folders cost no
	 * lookup); the name itself is the backend's: a link is not a blob. */
	struct buf dir = BUF_INIT, resolved = BUF_INIT;
	enum src_kind kind = SRC_DIR;
	size_t size;
	bool found = false;
	if (slash)
		buf_add(&dir, path, (size_t)(slash - path));
	if (!slash || (resolve_stat(s, buf_cstr(&dir), &resolved, &kind, &size) == SRC_OK && kind == SRC_DIR)) {
		if (resolved.len)
			buf_putc(&resolved, '/');
		buf_add(&resolved, name, n);
		found = s->ops->blob_id(s, buf_cstr(&resolved), id) == SRC_OK;
	}
	buf_free(&dir);
	buf_free(&resolved);
	return found;
}

enum src_kind source_kind(struct source *s, const char *path)
{
	struct buf resolved = BUF_INIT;
	enum src_kind kind = SRC_MISSING;
	size_t size;
	if (resolve_stat(s, path, &resolved, &kind, &size) != SRC_OK)
		kind = SRC_MISSING;
	buf_free(&resolved);
	return kind;
}

int source_list_kinds(struct source *s, const char *path, struct buf *names, size_t *count, struct buf *kinds)
{
	struct buf resolved = BUF_INIT;
	enum src_kind kind;
	size_t size;
	buf_reset(names);
	if (kinds)
		buf_reset(kinds);
	*count = 0;
	int rc = resolve_stat(s, path, &resolved, &kind, &size);
	if (rc == SRC_OK && kind != SRC_DIR) {
		snprintf(s->err, sizeof(s->err), "'%s' is not a directory", path);
		rc = SRC_EIO;
	}
	if (rc == SRC_OK && kinds && s->ops->list_kinds) {
		rc = s->ops->list_kinds(s, resolved.data, names, count, kinds);
	} else if (rc == SRC_OK) {
		rc = s->ops->list(s, resolved.data, names, count);
		for (size_t i = 0; kinds && rc == SRC_OK && i < *count; i++)
			buf_putc(kinds, SRC_MISSING);
	}
	buf_free(&resolved);
	return rc;
}

int source_list(struct source *s, const char *path, struct buf *names, size_t *count)
{
	return source_list_kinds(s, path, names, count, NULL);
}

/* ---- folder contents ---- */

struct tree_walk {
	struct source *s;
	size_t max_size;
	size_t entries_left;
	size_t top_len;		/* of the folder hashed: paths are hashed below it */
	XXH3_state_t *state;
};

static int hash_entry(struct tree_walk *w, const char *path, char kind);

/* Each file below dir, depth first in name order, as its path below the
 * top folder and its bytes' hash; dot entries are skipped, as discovery
 * skips them, and folders count only through their files (git keeps no
 * empty folder). */
static int hash_folder(struct tree_walk *w, const char *dir)
{
	struct buf names = BUF_INIT, kinds = BUF_INIT, path = BUF_INIT;
	size_t count = 0;
	int rc = source_list_kinds(w->s, dir, &names, &count, &kinds);
	const char *name = names.data;
	for (size_t i = 0; rc == SRC_OK && i < count; i++, name += strlen(name) + 1) {
		if (name[0] == '.')
			continue;
		if (!w->entries_left--) {
			rc = SRC_ETOOBIG;
			break;
		}
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, name);
		rc = hash_entry(w, path.data, kinds.data[i]);
	}
	buf_free(&names);
	buf_free(&kinds);
	buf_free(&path);
	return rc;
}

static int hash_entry(struct tree_walk *w, const char *path, char kind)
{
	if (kind == SRC_MISSING || kind == SRC_LINK)
		kind = (char)source_kind(w->s, path);	/* a link counts as what it leads to */
	if (kind == SRC_DIR)
		return hash_folder(w, path);
	if (kind != SRC_FILE)
		return SRC_OK;
	struct buf data = BUF_INIT;
	int rc = source_read(w->s, path, w->max_size, &data);
	if (rc == SRC_OK) {
		uint64_t h = XXH3_64bits(data.data ? data.data : "", data.len);
		XXH3_64bits_update(w->state, path + w->top_len + 1, strlen(path + w->top_len + 1) + 1);
		XXH3_64bits_update(w->state, &h, sizeof(h));
	}
	buf_free(&data);
	return rc;
}

int source_tree_hash(struct source *s, const char *dir, size_t max_size, uint64_t *hash)
{
	struct tree_walk w = { s, max_size, 10000, strlen(dir), XXH3_createState() };
	if (!w.state)
		fatal_oom();
	XXH3_64bits_reset(w.state);
	int rc = hash_folder(&w, dir);
	*hash = XXH3_64bits_digest(w.state);
	XXH3_freeState(w.state);
	return rc;
}

struct module_memo {
	size_t max_size;	/* the limit it was hashed with */
	uint64_t hash;
};

/* Only hashes that succeeded are kept: a failure sets s->err, which the
 * caller may print, and is rare. */
int source_module_hash(struct source *s, const char *module, size_t max_size, uint64_t *hash)
{
	const char *sub = strstr(module + 2, "//");
	size_t len = sub ? (size_t)(sub - module - 2) : strlen(module + 2);
	uint64_t key_hash = map_hash(module + 2, len);
	const struct map_slot *known = map_find_hashed(&s->modules, module + 2, len, key_hash);
	const struct module_memo *memo = known ? known->value : NULL;
	if (memo && memo->max_size == max_size) {
		*hash = memo->hash;
		return SRC_OK;
	}
	const char *dir = arena_strndup(&s->dir_names, module + 2, len);
	int rc = source_tree_hash(s, dir, max_size, hash);
	if (rc != SRC_OK)
		return rc;
	struct module_memo *m = ARENA_NEW(&s->dir_names, struct module_memo);
	*m = (struct module_memo){ max_size, *hash };
	map_set(&s->modules, dir, len, m);
	return rc;
}

const char *source_strerror(const struct source *s, int err)
{
	switch (err) {
	case SRC_OK: return "success";
	case SRC_ENOENT: return "no such file";
	case SRC_ESCAPE: return "path leads outside the project root";
	case SRC_ELOOP: return "too many levels of symbolic links";
	case SRC_ETOOBIG: return s->err;
	case SRC_EISDIR: return "is a directory";
	case SRC_EFORBIDDEN: return "path is refused (.git or absolute)";
	default: return s->err[0] ? s->err : "input/output error";
	}
}

int source_fail(struct source *s, const char *verb, const char *subject, const char *reason)
{
	int n = snprintf(s->err, sizeof(s->err), "cannot %s '%s': %s", verb, subject, reason);
	size_t at = strlen("cannot ") + strlen(verb) + strlen(" '"), len = strlen(subject);
	bool whole = n >= 0 && (size_t)n < sizeof(s->err);
	s->err_subject = whole ? (unsigned short)at : 0;
	s->err_subject_len = whole ? (unsigned short)len : 0;
	s->err_reason = whole ? (unsigned short)(at + len + strlen("': ")) : 0;
	return SRC_EIO;
}

const char *source_read_error(const struct source *s, int err, const char *path)
{
	if (err == SRC_EIO && s->err_reason && strlen(path) == s->err_subject_len &&
	    !memcmp(s->err + s->err_subject, path, s->err_subject_len))
		return s->err + s->err_reason;
	return source_strerror(s, err);
}

void source_init_caches(struct source *s)
{
	map_init(&s->dirs);
	map_init(&s->modules);
	arena_init(&s->dir_names);
}

void source_free(struct source *s)
{
	map_free(&s->dirs);
	map_free(&s->modules);
	arena_free(&s->dir_names);
	if (s->ops)
		s->ops->free(s);
	free(s->label);
	s->ops = NULL;
	s->label = NULL;
}

/* ---- work-tree backend ---- */

struct worktree {
	char *root;		/* absolute, no trailing slash */
	int root_fd;		/* the root, opened once; -1 if it could not be */
	struct buf path;	/* scratch: root + "/" + rel */
	watch_fn *watch;
	watch_list_fn *watch_list;
	void *watch_ctx;
	struct stat_index *index;	/* NULL: list and read everything */
};

static void watched_read(struct worktree *w, const char *rel, const struct stat *st, const uint64_t *hash)
{
	if (w->watch)
		w->watch(w->watch_ctx, rel, st, hash);
}

static void watched(struct worktree *w, const char *rel, const struct stat *st)
{
	watched_read(w, rel, st, NULL);
}

/* Paths are looked up relative to the root's descriptor: the kernel then
 * walks only the components below the root, for every one of the tens of
 * thousands of lookups a large repo costs. */
static int wt_dir_fd(const struct worktree *w)
{
	return w->root_fd >= 0 ? w->root_fd : AT_FDCWD;
}

static const char *wt_path(struct worktree *w, const char *rel)
{
	if (w->root_fd >= 0)
		return *rel ? rel : ".";
	buf_reset(&w->path);
	buf_puts(&w->path, w->root);
	if (*rel) {
		buf_putc(&w->path, '/');
		buf_puts(&w->path, rel);
	}
	return w->path.data;
}

static int io_error(struct source *s, const char *what, const char *rel)
{
	return source_fail(s, what, *rel ? rel : ".", strerror(errno));
}

static int wt_lstat(struct source *s, const char *rel, enum src_kind *kind, size_t *size)
{
	struct worktree *w = s->impl;
	struct stat st;
	*size = 0;
	if (fstatat(wt_dir_fd(w), wt_path(w, rel), &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			*kind = SRC_MISSING;
			watched(w, rel, NULL);
			return SRC_OK;
		}
		return io_error(s, "stat", rel);
	}
	watched(w, rel, &st);
	*size = (size_t)st.st_size;
	*kind = S_ISREG(st.st_mode) ? SRC_FILE : S_ISDIR(st.st_mode) ? SRC_DIR
		: S_ISLNK(st.st_mode) ? SRC_LINK : SRC_OTHER;
	return SRC_OK;
}

static int wt_read(struct source *s, const char *rel, struct buf *out)
{
	struct worktree *w = s->impl;
	int fd = openat(wt_dir_fd(w), wt_path(w, rel), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return io_error(s, "open", rel);
	/* The stat data before the bytes: a file changed in between is one
	 * whose stat no longer matches, and the cache then compares bytes. */
	struct stat st;
	bool stated = w->watch && fstat(fd, &st) == 0;
	int rc = buf_read_fd(out, fd, SIZE_MAX) < 0 ? io_error(s, "read", rel) : SRC_OK;
	uint64_t hash = rc == SRC_OK && stated ? map_hash(buf_cstr(out), out->len) : 0;
	if (stated)
		watched_read(w, rel, &st, rc == SRC_OK ? &hash : NULL);
	close(fd);
	return rc;
}

static int wt_readlink(struct source *s, const char *rel, struct buf *out)
{
	struct worktree *w = s->impl;
	char target[4096];
	ssize_t n = readlinkat(wt_dir_fd(w), wt_path(w, rel), target, sizeof(target) - 1);
	if (n < 0)
		return io_error(s, "read link", rel);
	buf_reset(out);
	buf_add(out, target, (size_t)n);
	return SRC_OK;
}

/* A folder's entries as read: names in a pool, sorted when complete. */
struct dir_entry {
	const char *name;	/* into the pool, set once it stops growing */
	size_t off;
	char kind;		/* enum src_kind; SRC_MISSING when the OS did not say */
};

struct entry_list {
	struct buf pool;
	struct dir_entry *v;
	size_t n, cap;
};

static int compare_entries(const void *a, const void *b)
{
	return strcmp(((const struct dir_entry *)a)->name, ((const struct dir_entry *)b)->name);
}

static char kind_of_type(unsigned char d_type)
{
	switch (d_type) {
	case DT_REG: return SRC_FILE;
	case DT_DIR: return SRC_DIR;
	case DT_LNK: return SRC_LINK;
	case DT_UNKNOWN: return SRC_MISSING;
	default: return SRC_OTHER;
	}
}

static void entry_add(struct entry_list *l, const char *name, unsigned char d_type)
{
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return;
	if (l->n == l->cap)
		l->v = xrealloc(l->v, (l->cap = l->cap ? l->cap * 2 : 16) * sizeof(*l->v));
	l->v[l->n++] = (struct dir_entry){ NULL, l->pool.len, kind_of_type(d_type) };
	buf_add(&l->pool, name, strlen(name) + 1);
}

static void entries_free(struct entry_list *l)
{
	buf_free(&l->pool);
	free(l->v);
}

/* Appends the sorted names, NUL-separated, and their kinds to kinds when
 * it is not NULL; frees l. */
static void entries_emit(struct entry_list *l, struct buf *names, size_t *count, struct buf *kinds)
{
	for (size_t i = 0; i < l->n; i++)
		l->v[i].name = l->pool.data + l->v[i].off;
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), compare_entries);
	for (size_t i = 0; i < l->n; i++) {
		buf_add(names, l->v[i].name, strlen(l->v[i].name) + 1);
		if (kinds)
			buf_putc(kinds, l->v[i].kind);
	}
	*count = l->n;
	entries_free(l);
}

#ifdef __linux__
/* getdents64 straight into a stack buffer: fdopendir's own fstat and
 * fcntl and its 32 KiB buffer cost a third of listing the 30,000 unit
 * folders of a large repo. */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int read_dir_fd(int fd, struct entry_list *l)
{
	char chunk[8192] __attribute__((aligned(8)));
	for (;;) {
		long got = syscall(SYS_getdents64, fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -1 : 0;
		for (long pos = 0; pos < got;) {
			unsigned short reclen;
			unsigned char type;
			memcpy(&reclen, chunk + pos + offsetof(struct linux_dirent64, d_reclen), sizeof(reclen));
			memcpy(&type, chunk + pos + offsetof(struct linux_dirent64, d_type), sizeof(type));
			entry_add(l, chunk + pos + offsetof(struct linux_dirent64, d_name), type);
			pos += reclen;
		}
	}
}
#else
static int read_dir_fd(int fd, struct entry_list *l)
{
	DIR *d = fdopendir(dup(fd));
	struct dirent *de;
	if (!d)
		return -1;
	while ((de = readdir(d)))
		entry_add(l, de->d_name, de->d_type);
	closedir(d);
	return 0;
}
#endif

/* Appends the folder's sorted names (and kinds) and, when st is given,
 * its stat data, taken before reading: adding or removing an entry
 * changes it.  -1 with errno; touches nothing shared. */
int source_list_at(int dir_fd, const char *path, struct buf *names, size_t *count, struct buf *kinds,
		   struct stat *st)
{
	struct entry_list l = { BUF_INIT, NULL, 0, 0 };
	int fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if ((st && fstat(fd, st) < 0) || read_dir_fd(fd, &l) < 0) {
		int saved = errno;
		close(fd);
		entries_free(&l);
		errno = saved;
		return -1;
	}
	close(fd);
	entries_emit(&l, names, count, kinds);
	return 0;
}

uint64_t source_listing_hash(const char *names, size_t len, const char *kinds, size_t count)
{
	return XXH3_64bits_withSeed(kinds, count, XXH3_64bits(names, len));
}

static void watched_listing(struct worktree *w, const char *rel, const struct stat *st, const struct buf *names,
			    size_t names_from, const struct buf *kinds, size_t kinds_from, size_t count)
{
	if (w->watch && w->watch_list)
		w->watch_list(w->watch_ctx, rel, st,
			      source_listing_hash(names->data + names_from, names->len - names_from,
						  kinds->data + kinds_from, count));
	else
		watched(w, rel, st);
}

/* A listing made (names and kinds from these offsets on), for the trace
 * and the index. */
static void noted_listing(struct worktree *w, const char *rel, const struct stat *st, const struct buf *names,
			  size_t names_from, const struct buf *kinds, size_t kinds_from, size_t count)
{
	if (w->watch)
		watched_listing(w, rel, st, names, names_from, kinds, kinds_from, count);
	if (w->index)
		stat_index_note_listing(w->index, rel, st, buf_cstr(names) + names_from, names->len - names_from,
					buf_cstr(kinds) + kinds_from, count);
}

/* An index with entries: an empty one (a first run) would cost an lstat
 * of every folder and file for nothing. */
static bool wt_indexed(const struct worktree *w)
{
	return w->index && w->index->n && w->root_fd >= 0;
}

/* The folder's listing from the index when its stat data (taken into st,
 * before any listing) are those recorded; *stated says st holds them. */
static bool indexed_listing(const struct worktree *w, const char *rel, struct buf *names, size_t *count,
			    struct buf *kinds, struct stat *st, bool *stated)
{
	*stated = wt_indexed(w) &&
		  fstatat(w->root_fd, *rel ? rel : ".", st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st->st_mode);
	return *stated && stat_index_listing(w->index, rel, st, names, count, kinds);
}

static int wt_list_kinds(struct source *s, const char *rel, struct buf *names, size_t *count, struct buf *kinds)
{
	struct worktree *w = s->impl;
	struct stat st;
	struct buf own_kinds = BUF_INIT;	/* the trace and the index keep kinds too */
	struct buf *k = kinds ? kinds : &own_kinds;
	size_t names_from = names->len, kinds_from = k->len;
	bool stated, want_st = w->watch || w->index;
	int rc = SRC_OK;
	if (!indexed_listing(w, rel, names, count, k, &st, &stated) &&
	    source_list_at(wt_dir_fd(w), wt_path(w, rel), names, count, k, want_st && !stated ? &st : NULL) < 0)
		rc = io_error(s, "list", rel);
	else
		noted_listing(w, rel, &st, names, names_from, k, kinds_from, *count);
	buf_free(&own_kinds);
	return rc;
}

static int wt_list(struct source *s, const char *rel, struct buf *names, size_t *count)
{
	return wt_list_kinds(s, rel, names, count, NULL);
}

static void wt_free(struct source *s)
{
	struct worktree *w = s->impl;
	free(w->root);
	if (w->root_fd >= 0)
		close(w->root_fd);
	buf_free(&w->path);
	free(w);
}

static const struct source_ops worktree_ops = {
	wt_lstat, wt_read, wt_readlink, wt_list, wt_free, wt_list_kinds,
};

bool source_reads_direct(const struct source *s, const char *path)
{
	if (s->ops != &worktree_ops || ((const struct worktree *)s->impl)->root_fd < 0)
		return false;
	const char *slash = strrchr(path, '/');
	void *known = slash ? map_get(&s->dirs, path, (size_t)(slash - path)) : NULL;
	return known && known != MISSING_MARK && !is_git_dir(slash + 1, strlen(slash + 1));
}

int source_read_direct(const struct source *s, const char *path, size_t max_size, struct buf *out,
		       struct stat *st)
{
	const struct worktree *w = s->impl;
	return source_read_at(w->root_fd, path, max_size, out, st);
}

int source_read_at(int dir_fd, const char *rel, size_t max_size, struct buf *out, struct stat *st)
{
	int fd = openat(dir_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return SRC_EIO;
	int rc = SRC_OK;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || (size_t)st->st_size > max_size)
		rc = SRC_EIO;
	else if (buf_read_regular(out, fd, (size_t)st->st_size, max_size) < 0)
		rc = errno == EFBIG ? SRC_ETOOBIG : SRC_EIO;
	close(fd);
	return rc;
}

void source_note_read(struct source *s, const char *path, const struct stat *st, size_t len, uint64_t hash)
{
	if (s->ops != &worktree_ops)
		return;
	struct worktree *w = s->impl;
	watched_read(w, path, st, &hash);
	if (w->index)
		stat_index_note_file(w->index, path, st, hash, len);
}

bool source_indexed_text(const struct source *s, const char *path, size_t max_size, struct stat *st,
			 uint64_t *hash, size_t *len)
{
	const struct worktree *w = s->impl;
	return wt_indexed(w) && fstatat(w->root_fd, path, st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st->st_mode) &&
	       (size_t)st->st_size <= max_size && stat_index_file(w->index, path, st, hash, len);
}

bool source_lists_direct(const struct source *s, const char *path)
{
	if (s->ops != &worktree_ops || ((const struct worktree *)s->impl)->root_fd < 0)
		return false;
	void *known = *path ? map_get(&s->dirs, path, strlen(path)) : (void *)s;
	return known && known != MISSING_MARK;
}

int source_list_direct(const struct source *s, const char *path, struct buf *names, size_t *count,
		       struct buf *kinds, struct stat *st)
{
	const struct worktree *w = s->impl;
	bool stated;
	buf_reset(names);
	buf_reset(kinds);
	*count = 0;
	if (indexed_listing(w, path, names, count, kinds, st, &stated))
		return SRC_OK;
	/* The folder's stat is for the trace and the index only: 30,000
	 * fstat calls saved on a walk with neither. */
	return source_list_at(w->root_fd, *path ? path : ".", names, count, kinds,
			      (w->watch || w->index) && !stated ? st : NULL) < 0
		       ? SRC_EIO : SRC_OK;
}

void source_note_listing(struct source *s, const char *path, const struct stat *st, const struct buf *names,
			 const struct buf *kinds, size_t count)
{
	if (s->ops == &worktree_ops)
		noted_listing(s->impl, path, st, names, 0, kinds, 0, count);
}

void source_use_index(struct source *s, struct stat_index *si)
{
	if (s->ops != &worktree_ops)
		return;
	((struct worktree *)s->impl)->index = si;
	/* The index holds the folders and unit files the last run found;
	 * the folder map will hold the folders and, for most unit folders,
	 * a vars.yaml they lack: about as many.  Sized once, it is not
	 * rehashed on the way: at 30,000 units its growth cost 6 MiB of
	 * fresh pages more than the last table alone. */
	map_reserve(&s->dirs, si->n);
}

static int absolute_target(struct source *s, struct buf *target)
{
	if (s->ops != &worktree_ops)
		return SRC_ESCAPE;
	struct worktree *w = s->impl;
	size_t n = strlen(w->root);
	if (strncmp(target->data, w->root, n) || (target->data[n] != '/' && target->data[n] != '\0'))
		return SRC_ESCAPE;
	size_t skip = n + (target->data[n] == '/');
	memmove(target->data, target->data + skip, target->len - skip + 1);
	target->len -= skip;
	return SRC_OK;
}

void source_watch(struct source *s, watch_fn *fn, watch_list_fn *list_fn, void *ctx)
{
	if (s->ops != &worktree_ops)
		return;
	struct worktree *w = s->impl;
	w->watch = fn;
	w->watch_list = list_fn;
	w->watch_ctx = ctx;
}

int source_open_worktree(struct source *s, const char *root)
{
	struct worktree *w = xcalloc(1, sizeof(*w));
	w->root = xstrdup(root);
	w->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->ops = &worktree_ops;
	source_init_caches(s);
	s->label = xstrdup("work tree");
	s->err[0] = '\0';
	s->impl = w;
	return SRC_OK;
}
