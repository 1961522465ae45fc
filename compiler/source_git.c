/* source_git.c - the git revision and git index backends (libgit2).
 *
 * Both read the repository without touching the work tree.  Paths given to
 * the ops are root-relative; the backend maps them to prefix/path, where
 * prefix is the project root below the top of the work tree.  Symlinks and
 * confinement are handled generically in source.c; here every entry name
 * that is walked or listed is checked against the names git itself refuses
 * to check out, so a crafted tree cannot smuggle in ".GIT" or "..". */
#include "source.h"

#include <git2.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "map.h"

enum { MAX_LINK_TARGET = 4095 };

struct gitsrc {
	git_repository *repo;
	git_odb *odb;
	char *prefix;		/* "" or "infra/live", no trailing slash */
	/* revision: the project root's tree, and the trees of the directories
	 * walked so far by root-relative path (keys live in the arena) */
	git_tree *root;
	struct map trees;
	struct arena keys;
	/* index: entries sorted bytewise by path, then stage */
	git_index *index;
	struct buf path;	/* scratch */
};

/* ---- entry names ---- */

/* A zero-width or direction code point that HFS+ ignores in names
 * (git's next_hfs_char); all of them are three bytes in UTF-8. */
static int hfs_ignorable(const unsigned char *p, size_t n)
{
	if (n < 3)
		return 0;
	if (p[0] == 0xef)
		return p[1] == 0xbb && p[2] == 0xbf;		/* U+FEFF */
	if (p[0] != 0xe2)
		return 0;
	if (p[1] == 0x80)
		return (p[2] >= 0x8c && p[2] <= 0x8f) ||	/* U+200C..200F */
		       (p[2] >= 0xaa && p[2] <= 0xae);		/* U+202A..202E */
	return p[1] == 0x81 && p[2] >= 0xaa && p[2] <= 0xaf;	/* U+206A..206F */
}

/* ".git" as HFS+ sees it: case-folded, ignorable code points dropped. */
static int is_hfs_dotgit(const char *name, size_t n)
{
	const unsigned char *p = (const unsigned char *)name;
	const char *want = ".git";
	size_t i = 0, matched = 0;
	while (i < n) {
		if (hfs_ignorable(p + i, n - i)) {
			i += 3;
			continue;
		}
		if (matched == 4 || p[i] >= 0x80)
			return 0;
		char c = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
		if (c != want[matched])
			return 0;
		matched++;
		i++;
	}
	return matched == 4;
}

/* ".git" or its 8.3 short name "git~1" as NTFS sees them: trailing dots
 * and spaces dropped, and ':' starting an alternate data stream
 * (git's is_ntfs_dotgit). */
static int is_ntfs_dotgit(const char *name, size_t n)
{
	size_t i;
	if (n >= 4 && name[0] == '.' && !strncasecmp(name + 1, "git", 3))
		i = 4;
	else if (n >= 5 && !strncasecmp(name, "git~1", 5))
		i = 5;
	else
		return 0;
	for (; i < n; i++) {
		if (name[i] == '\\' || name[i] == ':')
			return 1;
		if (name[i] != '.' && name[i] != ' ')
			return 0;
	}
	return 1;
}

int source_name_refused(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return 1;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return 1;
	return is_ntfs_dotgit(name, len) || is_hfs_dotgit(name, len);
}

/* Fails with "malicious tree entry name 'NAME' in 'DIR'"; bytes outside
 * printable ASCII are shown as \xNN. */
static int refuse_name(struct source *s, const char *what, const char *name, size_t n,
		       const char *dir, size_t dirlen)
{
	char shown[96];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 5 < sizeof(shown); i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x20 && c < 0x7f)
			shown[k++] = (char)c;
		else
			k += (size_t)snprintf(shown + k, sizeof(shown) - k, "\\x%02x", c);
	}
	shown[k] = '\0';
	if (!dirlen)
		dir = ".", dirlen = 1;
	snprintf(s->err, sizeof(s->err), "malicious %s entry name '%s' in '%.*s'", what, shown,
		 (int)dirlen, dir);
	return SRC_EIO;
}

/* Checks every '/'-separated component of the root-relative path rel. */
static int check_path(struct source *s, const char *what, const char *rel)
{
	const char *p = rel;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (source_name_refused(p, n))
			return refuse_name(s, what, p, n, rel, p > rel ? (size_t)(p - rel - 1) : 0);
		if (!p[n])
			return SRC_OK;
		p += n + 1;
	}
}

/* ---- errors ---- */

static const char *git_detail(void)
{
	const git_error *e = git_error_last();
	return e && e->message ? e->message : "unknown libgit2 error";
}

static int git_fail(struct source *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets s->err to the formatted text, then ": " and libgit2's detail. */
static int git_fail(struct source *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(s->err))
		snprintf(s->err + n, sizeof(s->err) - (size_t)n, ": %s", git_detail());
	return SRC_EIO;
}

/* ---- shared helpers ---- */

/* prefix + "/" + rel in g->path. */
static const char *full_path(struct gitsrc *g, const char *rel)
{
	buf_reset(&g->path);
	buf_puts(&g->path, g->prefix);
	if (*g->prefix && *rel)
		buf_putc(&g->path, '/');
	buf_puts(&g->path, rel);
	return buf_cstr(&g->path);
}

static int object_size(struct source *s, const git_oid *id, const char *rel, size_t *size)
{
	size_t len;
	git_object_t type;
	if (git_odb_read_header(&len, &type, ((struct gitsrc *)s->impl)->odb, id) < 0)
		return source_fail(s, "read", rel, git_detail());
	*size = len;
	return SRC_OK;
}

static int read_blob(struct source *s, const git_oid *id, const char *rel, struct buf *out)
{
	struct gitsrc *g = s->impl;
	git_blob *blob;
	if (git_blob_lookup(&blob, g->repo, id) < 0)
		return source_fail(s, "read", rel, git_detail());
	git_object_size_t n = git_blob_rawsize(blob);
	if (n > SIZE_MAX / 2) {
		git_blob_free(blob);
		return source_fail(s, "read", rel, "too large");
	}
	buf_add(out, git_blob_rawcontent(blob), (size_t)n);
	git_blob_free(blob);
	return SRC_OK;
}

static int read_link_blob(struct source *s, const git_oid *id, const char *rel, struct buf *out)
{
	buf_reset(out);
	int rc = read_blob(s, id, rel, out);
	if (rc == SRC_OK && (out->len > MAX_LINK_TARGET || memchr(buf_cstr(out), '\0', out->len))) {
		snprintf(s->err, sizeof(s->err), "symbolic link '%s' has an invalid target", rel);
		rc = SRC_EIO;
	}
	return rc;
}

static enum src_kind kind_of_mode(unsigned mode)
{
	switch (mode) {
	case GIT_FILEMODE_TREE: return SRC_DIR;
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE: return SRC_FILE;
	case GIT_FILEMODE_LINK: return SRC_LINK;
	default: return SRC_OTHER;	/* a submodule (gitlink) or junk */
	}
}

static int not_a(struct source *s, const char *rel, enum src_kind want)
{
	snprintf(s->err, sizeof(s->err), "'%s' is not a %s", rel,
		 want == SRC_LINK ? "symbolic link" : "regular file");
	return SRC_EIO;
}

/* A folder's entry as a listing gives it: its name and enum src_kind. */
struct named_kind {
	const char *name;
	char kind;
};

static int compare_named(const void *a, const void *b)
{
	return strcmp(((const struct named_kind *)a)->name, ((const struct named_kind *)b)->name);
}

/* Sorts entries bytewise, drops repeated names, appends the names
 * NUL-separated and, when kinds is given, a kind each. */
static void emit_entries(struct named_kind *v, size_t n, struct buf *names, size_t *count, struct buf *kinds)
{
	if (n)
		qsort(v, n, sizeof(*v), compare_named);
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(v[i].name, v[i - 1].name))
			continue;
		buf_add(names, v[i].name, strlen(v[i].name) + 1);
		if (kinds)
			buf_putc(kinds, v[i].kind);
		++*count;
	}
}

/* ---- the revision backend ---- */

/* The tree of the root-relative directory dir (dirlen bytes), or *out NULL
 * when it is missing or not a directory.  Trees are cached by path; every
 * name walked through is checked once, on the way in. */
static int rev_tree(struct source *s, const char *dir, size_t dirlen, git_tree **out)
{
	struct gitsrc *g = s->impl;
	git_tree *tree = g->root;
	size_t pos = 0;
	*out = NULL;
	while (pos < dirlen) {
		const char *name = dir + pos;
		size_t n = strcspn(name, "/");
		if (n > dirlen - pos)
			n = dirlen - pos;
		size_t end = pos + n;
		git_tree *sub = map_get(&g->trees, dir, end);
		if (!sub) {
			buf_reset(&g->path);
			buf_add(&g->path, name, n);
			const git_tree_entry *e = git_tree_entry_byname(tree, g->path.data);
			if (!e || git_tree_entry_type(e) != GIT_OBJECT_TREE)
				return SRC_OK;
			if (source_name_refused(name, n))
				return refuse_name(s, "tree", name, n, dir, pos ? pos - 1 : 0);
			if (git_tree_lookup(&sub, g->repo, git_tree_entry_id(e)) < 0)
				return git_fail(s, "cannot read '%.*s'", (int)end, dir);
			map_set(&g->trees, arena_strndup(&g->keys, dir, end), end, sub);
		}
		tree = sub;
		pos = end + 1;
	}
	*out = tree;
	return SRC_OK;
}

/* The entry at rel (not ""), or *out NULL when missing. */
static int rev_entry(struct source *s, const char *rel, const git_tree_entry **out)
{
	const char *slash = strrchr(rel, '/');
	const char *base = slash ? slash + 1 : rel;
	size_t dirlen = slash ? (size_t)(slash - rel) : 0;
	git_tree *tree;
	*out = NULL;
	int rc = rev_tree(s, rel, dirlen, &tree);
	if (rc < 0 || !tree)
		return rc;
	const git_tree_entry *e = git_tree_entry_byname(tree, base);
	if (e && source_name_refused(base, strlen(base)))
		return refuse_name(s, "tree", base, strlen(base), rel, dirlen);
	*out = e;
	return SRC_OK;
}

static int rev_lstat(struct source *s, const char *rel, enum src_kind *kind, size_t *size)
{
	const git_tree_entry *e;
	*size = 0;
	*kind = SRC_DIR;
	if (!*rel)
		return SRC_OK;
	int rc = rev_entry(s, rel, &e);
	if (rc < 0)
		return rc;
	*kind = e ? kind_of_mode(git_tree_entry_filemode(e)) : SRC_MISSING;
	if (*kind == SRC_FILE || *kind == SRC_LINK)
		rc = object_size(s, git_tree_entry_id(e), rel, size);
	return rc;
}

static int rev_blob(struct source *s, const char *rel, enum src_kind want, const git_oid **id)
{
	const git_tree_entry *e = NULL;
	int rc = *rel ? rev_entry(s, rel, &e) : SRC_OK;
	if (rc < 0)
		return rc;
	if (!e || kind_of_mode(git_tree_entry_filemode(e)) != want)
		return not_a(s, rel, want);
	*id = git_tree_entry_id(e);
	return SRC_OK;
}

static int rev_read(struct source *s, const char *rel, struct buf *out)
{
	const git_oid *id;
	int rc = rev_blob(s, rel, SRC_FILE, &id);
	return rc < 0 ? rc : read_blob(s, id, rel, out);
}

static int copy_blob_id(const git_oid *from, struct blob_id *id)
{
	_Static_assert(GIT_OID_RAWSZ == BLOB_ID_SIZE, "a git oid is a blob id");
	memcpy(id->bytes, from->id, BLOB_ID_SIZE);
	return SRC_OK;
}

void source_blob_id_of(const void *data, size_t len, struct blob_id *id)
{
	git_oid oid;
	if (git_odb_hash(&oid, data, len, GIT_OBJECT_BLOB) < 0)
		memset(&oid, 0, sizeof(oid));	/* matches no blob */
	copy_blob_id(&oid, id);
}

static int rev_blob_id(struct source *s, const char *rel, struct blob_id *id)
{
	const git_oid *oid;
	int rc = rev_blob(s, rel, SRC_FILE, &oid);
	return rc < 0 ? rc : copy_blob_id(oid, id);
}

static int rev_readlink(struct source *s, const char *rel, struct buf *out)
{
	const git_oid *id;
	int rc = rev_blob(s, rel, SRC_LINK, &id);
	return rc < 0 ? rc : read_link_blob(s, id, rel, out);
}

/* The kinds come from the tree's modes: a walk reads no blob to learn
 * that unit.yaml is a file (a header read of each cost a loose object's
 * open and inflate). */
static int rev_list_kinds(struct source *s, const char *rel, struct buf *names, size_t *count, struct buf *kinds)
{
	git_tree *tree;
	*count = 0;
	int rc = rev_tree(s, rel, strlen(rel), &tree);
	if (rc < 0)
		return rc;
	if (!tree) {
		snprintf(s->err, sizeof(s->err), "'%s' is not a directory", rel);
		return SRC_EIO;
	}
	size_t n = git_tree_entrycount(tree);
	struct named_kind *v = xmalloc((n ? n : 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		v[i] = (struct named_kind){ git_tree_entry_name(e), (char)kind_of_mode(git_tree_entry_filemode(e)) };
		if (source_name_refused(v[i].name, strlen(v[i].name))) {
			rc = refuse_name(s, "tree", v[i].name, strlen(v[i].name), rel, strlen(rel));
			free(v);
			return rc;
		}
	}
	emit_entries(v, n, names, count, kinds);
	free(v);
	return SRC_OK;
}

static int rev_list(struct source *s, const char *rel, struct buf *names, size_t *count)
{
	return rev_list_kinds(s, rel, names, count, NULL);
}

/* ---- the index backend ---- */

/* An entry only intended to be added ("git add -N") is not committed. */
static int ita(const git_index_entry *e)
{
	return (e->flags_extended & GIT_INDEX_ENTRY_INTENT_TO_ADD) != 0;
}

/* The first entry whose path does not sort before key (bytewise). */
static size_t idx_lower_bound(git_index *index, const char *key)
{
	size_t lo = 0, hi = git_index_entrycount(index);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(git_index_get_byindex(index, mid)->path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int has_prefix(const char *path, const char *prefix, size_t n)
{
	return !strncmp(path, prefix, n);
}

/* True when some entry lies beneath key, a directory path ending in '/'. */
static int idx_is_dir(git_index *index, const char *key)
{
	size_t n = strlen(key), count = git_index_entrycount(index);
	for (size_t i = idx_lower_bound(index, key); i < count; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		if (!has_prefix(e->path, key, n))
			return 0;
		if (!ita(e))
			return 1;
	}
	return 0;
}

/* The stage-0 entry for rel, or *out NULL when there is none; a path with
 * only conflict stages is an error. */
static int idx_entry(struct source *s, const char *rel, const git_index_entry **out)
{
	struct gitsrc *g = s->impl;
	const char *path = full_path(g, rel);
	size_t pos = idx_lower_bound(g->index, path);
	const git_index_entry *e = pos < git_index_entrycount(g->index)
		? git_index_get_byindex(g->index, pos) : NULL;
	*out = NULL;
	if (!e || strcmp(e->path, path) || ita(e))
		return SRC_OK;
	if (GIT_INDEX_ENTRY_STAGE(e) != 0) {
		snprintf(s->err, sizeof(s->err), "'%s' has merge conflicts in the index", rel);
		return SRC_EIO;
	}
	*out = e;
	return check_path(s, "index", rel);
}

static int idx_lstat(struct source *s, const char *rel, enum src_kind *kind, size_t *size)
{
	struct gitsrc *g = s->impl;
	const git_index_entry *e;
	*size = 0;
	*kind = SRC_DIR;
	if (!*rel)
		return SRC_OK;
	int rc = idx_entry(s, rel, &e);
	if (rc < 0)
		return rc;
	if (e) {
		*kind = kind_of_mode(e->mode);
		if (*kind == SRC_DIR)	/* a sparse-index directory entry */
			*kind = SRC_OTHER;
		if (*kind == SRC_FILE || *kind == SRC_LINK)
			rc = object_size(s, &e->id, rel, size);
		return rc;
	}
	full_path(g, rel);
	buf_putc(&g->path, '/');
	if (!idx_is_dir(g->index, g->path.data)) {
		*kind = SRC_MISSING;
		return SRC_OK;
	}
	return check_path(s, "index", rel);
}

static int idx_blob(struct source *s, const char *rel, enum src_kind want, const git_oid **id)
{
	const git_index_entry *e;
	int rc = idx_entry(s, rel, &e);
	if (rc < 0)
		return rc;
	if (!e || kind_of_mode(e->mode) != want)
		return not_a(s, rel, want);
	*id = &e->id;
	return SRC_OK;
}

static int idx_read(struct source *s, const char *rel, struct buf *out)
{
	const git_oid *id;
	int rc = idx_blob(s, rel, SRC_FILE, &id);
	return rc < 0 ? rc : read_blob(s, id, rel, out);
}

static int idx_blob_id(struct source *s, const char *rel, struct blob_id *id)
{
	const git_oid *oid;
	int rc = idx_blob(s, rel, SRC_FILE, &oid);
	return rc < 0 ? rc : copy_blob_id(oid, id);
}

static int idx_readlink(struct source *s, const char *rel, struct buf *out)
{
	const git_oid *id;
	int rc = idx_blob(s, rel, SRC_LINK, &id);
	return rc < 0 ? rc : read_link_blob(s, id, rel, out);
}

/* The kind of an entry of the index named directly in a folder, from
 * its mode, as idx_lstat tells it. */
static enum src_kind idx_kind(const git_index_entry *e)
{
	enum src_kind kind = kind_of_mode(e->mode);
	return kind == SRC_DIR ? SRC_OTHER : kind;	/* a sparse-index directory entry */
}

/* Walks the sorted entries beneath rel once per child: after the first
 * entry of a subdirectory, a binary search skips the rest of it.  The
 * kinds come from the modes, as rev_list_kinds's. */
static int idx_list_kinds(struct source *s, const char *rel, struct buf *names, size_t *count, struct buf *kinds)
{
	struct gitsrc *g = s->impl;
	struct buf key = BUF_INIT, store = BUF_INIT;
	/* Each child's name, as an offset into store (which moves as it
	 * grows), and its kind. */
	struct {
		size_t off;
		char kind;
	} *at = NULL;
	size_t n = 0, cap = 0, total = git_index_entrycount(g->index);
	struct named_kind *v = NULL;
	int rc = SRC_OK;
	*count = 0;
	buf_puts(&key, full_path(g, rel));
	if (key.len)
		buf_putc(&key, '/');
	size_t keylen = key.len;
	size_t i = idx_lower_bound(g->index, key.data);
	while (i < total) {
		const git_index_entry *e = git_index_get_byindex(g->index, i);
		if (!has_prefix(e->path, key.data, keylen))
			break;
		const char *name = e->path + keylen;
		size_t len = strcspn(name, "/");
		if (ita(e)) {
			i++;
			continue;
		}
		if (source_name_refused(name, len)) {
			rc = refuse_name(s, "index", name, len, rel, strlen(rel));
			goto out;
		}
		if (n == cap)
			at = xrealloc(at, (cap = cap ? cap * 2 : 16) * sizeof(*at));
		at[n].off = store.len;
		at[n++].kind = (char)(name[len] ? SRC_DIR : idx_kind(e));
		buf_add(&store, name, len);
		buf_add(&store, "", 1);
		if (!name[len]) {
			i++;
			continue;
		}
		/* All of "name/..." sorts before "name0" ('0' follows '/'). */
		buf_add(&key, name, len);
		buf_putc(&key, '0');
		i = idx_lower_bound(g->index, key.data);
		key.len = keylen;
		key.data[keylen] = '\0';
	}
	v = xmalloc((n ? n : 1) * sizeof(*v));
	for (size_t k = 0; k < n; k++)
		v[k] = (struct named_kind){ store.data + at[k].off, at[k].kind };
	emit_entries(v, n, names, count, kinds);
out:
	free(v);
	free(at);
	buf_free(&key);
	buf_free(&store);
	return rc;
}

static int idx_list(struct source *s, const char *rel, struct buf *names, size_t *count)
{
	return idx_list_kinds(s, rel, names, count, NULL);
}

/* ---- open / free ---- */

static void git_free_impl(struct gitsrc *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->trees.cap; i++)
		if (g->trees.slots[i].key)
			git_tree_free(g->trees.slots[i].value);
	map_free(&g->trees);
	arena_free(&g->keys);
	git_tree_free(g->root);
	git_index_free(g->index);
	git_odb_free(g->odb);
	git_repository_free(g->repo);
	free(g->prefix);
	buf_free(&g->path);
	free(g);
	git_libgit2_shutdown();
}

static void gitsrc_free(struct source *s)
{
	git_free_impl(s->impl);
	s->impl = NULL;
}

static const struct source_ops revision_ops = {
	rev_lstat, rev_read, rev_readlink, rev_list, gitsrc_free, rev_list_kinds, rev_blob_id,
};

static const struct source_ops index_ops = {
	idx_lstat, idx_read, idx_readlink, idx_list, gitsrc_free, idx_list_kinds, idx_blob_id,
};

/* The project root relative to the top of the work tree, when the caller
 * gave the project root itself as repo_dir. */
static int derive_prefix(struct source *s, struct gitsrc *g, const char *repo_dir, struct buf *out)
{
	const char *workdir = git_repository_workdir(g->repo);
	char top[PATH_MAX], here[PATH_MAX];
	if (!workdir)
		return SRC_OK;	/* bare: the top of the tree */
	if (!realpath(workdir, top) || !realpath(repo_dir, here)) {
		snprintf(s->err, sizeof(s->err), "cannot resolve '%s'", repo_dir);
		return -1;
	}
	size_t n = strlen(top);
	if (!strcmp(top, "/"))
		n = 0;
	if (strncmp(here, top, n) || (here[n] != '/' && here[n] != '\0')) {
		snprintf(s->err, sizeof(s->err), "'%s' is not inside the work tree '%.200s'", repo_dir, top);
		return -1;
	}
	buf_puts(out, here + n + (here[n] == '/'));
	return SRC_OK;
}

/* libgit2 refuses a repository owned by another user, as git does; 1.5.1
 * says so with GIT_EOWNER, or with GIT_ENOTFOUND about a missing
 * safe.directory setting when there is none at all. */
static int owner_refused(int rc)
{
	const git_error *e = git_error_last();
	return rc == GIT_EOWNER || (rc == GIT_ENOTFOUND && e && e->klass == GIT_ERROR_CONFIG &&
				    e->message && strstr(e->message, "safe.directory"));
}

static void owner_error(struct source *s, const char *repo_dir)
{
	git_buf gitdir = { 0 };
	const char *top = repo_dir;
	if (git_repository_discover(&gitdir, repo_dir, 0, NULL) == 0) {
		size_t n = strlen(gitdir.ptr);
		if (n > 6 && !strcmp(gitdir.ptr + n - 6, "/.git/"))
			gitdir.ptr[n - 6] = '\0';
		top = gitdir.ptr;
	}
	snprintf(s->err, sizeof(s->err), "the git repository at '%s' is owned by another user, and "
		 "git refuses it; if you trust it, run: git config --global --add safe.directory %s",
		 top, top);
	git_buf_dispose(&gitdir);
}

static int open_repo(struct source *s, struct gitsrc *g, const char *repo_dir, const char *prefix)
{
	int rc = git_repository_open_ext(&g->repo, repo_dir, 0, NULL);
	if (rc < 0 && owner_refused(rc)) {
		owner_error(s, repo_dir);
		return -1;
	}
	if (rc == GIT_ENOTFOUND) {
		snprintf(s->err, sizeof(s->err), "'%s' is not in a git repository", repo_dir);
		return -1;
	}
	if (rc < 0) {
		git_fail(s, "cannot open the git repository at '%s'", repo_dir);
		return -1;
	}
	if (git_repository_odb(&g->odb, g->repo) < 0) {
		git_fail(s, "cannot open the object database");
		return -1;
	}
	struct buf norm = BUF_INIT, derived = BUF_INIT;
	if (!prefix) {
		if (derive_prefix(s, g, repo_dir, &derived) < 0) {
			buf_free(&derived);
			return -1;
		}
		prefix = buf_cstr(&derived);
	}
	rc = path_join("", prefix, &norm);
	if (rc < 0)
		snprintf(s->err, sizeof(s->err), "invalid project prefix '%s'", prefix);
	else
		g->prefix = xstrdup(buf_cstr(&norm));
	buf_free(&norm);
	buf_free(&derived);
	return rc < 0 ? -1 : 0;
}

/* An abbreviated or full object id, as "git rev-parse" takes them. */
static int is_object_id(const char *rev)
{
	size_t n = strspn(rev, "0123456789abcdefABCDEF");
	return n >= 4 && n <= GIT_OID_HEXSZ && !rev[n];
}

/* Explains why rev did not resolve.  In a shallow clone, a missing object
 * (a parent beyond the cut, or a commit never fetched) means the history
 * is too short rather than the name wrong. */
static void revparse_error(struct source *s, struct gitsrc *g, const char *rev, int rc)
{
	const git_error *e = git_error_last();
	int missing_object = (e && e->klass == GIT_ERROR_ODB) || is_object_id(rev);
	if (rc == GIT_ENOTFOUND && missing_object && git_repository_is_shallow(g->repo) == 1)
		snprintf(s->err, sizeof(s->err), "revision '%s' is not in this shallow clone: fetch more "
			 "history (git fetch --deepen or --unshallow)", rev);
	else if (rc == GIT_EAMBIGUOUS)
		git_fail(s, "ambiguous revision '%s'", rev);
	else if ((rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) &&
		 git_repository_head_unborn(g->repo) == 1 && !strncmp(rev, "HEAD", 4))
		snprintf(s->err, sizeof(s->err), "unknown revision '%s': there are no commits yet", rev);
	else if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC || rc == GIT_EUNBORNBRANCH)
		snprintf(s->err, sizeof(s->err), "unknown revision '%s'", rev);
	else
		git_fail(s, "cannot resolve revision '%s'", rev);
}

/* Resolves rev to its tree, then descends to the project root. */
static int open_tree(struct source *s, struct gitsrc *g, const char *rev)
{
	git_object *obj = NULL, *peeled = NULL;
	git_tree_entry *e = NULL;
	int ret = -1;
	int rc = git_revparse_single(&obj, g->repo, rev);
	if (rc < 0) {
		revparse_error(s, g, rev, rc);
		goto out;
	}
	if (git_object_peel(&peeled, obj, GIT_OBJECT_TREE) < 0) {
		git_object *target = NULL;
		git_object_t type = git_object_type(obj);
		if (type == GIT_OBJECT_TAG && git_object_peel(&target, obj, GIT_OBJECT_ANY) == 0)
			type = git_object_type(target);
		git_object_free(target);
		if (type == GIT_OBJECT_COMMIT || type == GIT_OBJECT_TREE)
			git_fail(s, "cannot read the tree of revision '%s'", rev);
		else
			snprintf(s->err, sizeof(s->err), "revision '%s' is a %s, not a commit or tree", rev,
				 git_object_type2string(type));
		goto out;
	}
	g->root = (git_tree *)peeled;
	peeled = NULL;
	if (*g->prefix) {
		rc = git_tree_entry_bypath(&e, g->root, g->prefix);
		if (rc == GIT_ENOTFOUND || (rc == 0 && git_tree_entry_type(e) != GIT_OBJECT_TREE)) {
			snprintf(s->err, sizeof(s->err), "the project root '%s' is not a directory in "
				 "revision '%s'", g->prefix, rev);
			goto out;
		}
		git_tree *sub;
		if (rc < 0 || git_tree_lookup(&sub, g->repo, git_tree_entry_id(e)) < 0) {
			git_fail(s, "cannot read '%s' in revision '%s'", g->prefix, rev);
			goto out;
		}
		git_tree_free(g->root);
		g->root = sub;
	}
	ret = 0;
out:
	git_tree_entry_free(e);
	git_object_free(peeled);
	git_object_free(obj);
	return ret;
}

static int open_index(struct source *s, struct gitsrc *g, const char *index_file)
{
	int rc = index_file ? git_index_open(&g->index, index_file)
		: git_repository_index(&g->index, g->repo);
	if (rc < 0 || git_index_read(g->index, 0) < 0) {
		git_fail(s, "cannot read the git index");
		return -1;
	}
	/* Lookups here are bytewise, whatever core.ignoreCase says. */
	int caps = git_index_caps(g->index);
	if ((caps & GIT_INDEX_CAPABILITY_IGNORE_CASE) &&
	    git_index_set_caps(g->index, caps & ~GIT_INDEX_CAPABILITY_IGNORE_CASE) < 0) {
		git_fail(s, "cannot read the git index");
		return -1;
	}
	if (*g->prefix) {
		buf_reset(&g->path);
		buf_printf(&g->path, "%s/", g->prefix);
		if (!idx_is_dir(g->index, g->path.data)) {
			snprintf(s->err, sizeof(s->err), "the project root '%s' has no files in the index",
				 g->prefix);
			return -1;
		}
	}
	return 0;
}

static struct gitsrc *open_start(struct source *s)
{
	source_init_caches(s);
	s->ops = NULL;
	s->label = NULL;
	s->impl = NULL;
	s->err[0] = '\0';
	if (git_libgit2_init() < 0) {
		snprintf(s->err, sizeof(s->err), "cannot initialise libgit2: %s", git_detail());
		return NULL;
	}
	struct gitsrc *g = xcalloc(1, sizeof(*g));
	map_init(&g->trees);
	arena_init(&g->keys);
	return g;
}

static void open_done(struct source *s, const struct source_ops *ops, struct gitsrc *g, char *label)
{
	s->ops = ops;
	s->label = label;
	s->impl = g;
}

int source_open_revision(struct source *s, const char *repo_dir, const char *prefix, const char *rev)
{
	struct gitsrc *g = open_start(s);
	if (!g)
		return -1;
	if (open_repo(s, g, repo_dir, prefix) < 0 || open_tree(s, g, rev) < 0) {
		git_free_impl(g);
		return -1;
	}
	struct buf label = BUF_INIT;
	buf_printf(&label, "revision %s", rev);
	open_done(s, &revision_ops, g, buf_detach(&label, NULL));
	return 0;
}

int source_open_index_file(struct source *s, const char *repo_dir, const char *prefix,
			   const char *index_file)
{
	struct gitsrc *g = open_start(s);
	if (!g)
		return -1;
	if (open_repo(s, g, repo_dir, prefix) < 0 || open_index(s, g, index_file) < 0) {
		git_free_impl(g);
		return -1;
	}
	open_done(s, &index_ops, g, xstrdup("index"));
	return 0;
}

int source_open_index(struct source *s, const char *repo_dir, const char *prefix)
{
	return source_open_index_file(s, repo_dir, prefix, NULL);
}
