/* stat_index.c - see stat_index.h.
 *
 * The file: MAGIC, then u64s: root device, root inode, the number of
 * entries; each entry: one byte 'd' (folder) or 'f' (file); u64s
 * device, inode, mode, size, mtime and ctime (ns); u32 path length, the
 * path, NUL; a file's u64 xxh3-64 of its text; a folder's u32 count of
 * names, u32 length of the names (each NUL-terminated), the names, then
 * one kind byte per name.  Last, the xxh3-64 of everything before it.
 * Numbers are little-endian (wire.h). */
#include "stat_index.h"
#include "arena.h"
#include "cache_dir.h"
#include "src_kind.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC STAT_INDEX_MAGIC

enum { HEADER_U64S = 3, STAT_U64S = 6 };
enum { PATH_AT = 1 + 8 * STAT_U64S + 4 };	/* where an entry's path starts */

/* What a note made of an old entry. */
enum entry_fate { ENTRY_UNSEEN, ENTRY_KEPT, ENTRY_REPLACED };

/* One entry as it lies in the file. */
struct entry_view {
	char kind;			/* 'd' or 'f' */
	uint64_t stat[STAT_U64S];	/* see stat_fields */
	const char *path;
	uint64_t hash;			/* a file's */
	const char *names, *kinds;	/* a folder's */
	size_t names_len, count;
	size_t nbytes;			/* of the whole entry */
};

static void stat_fields(const struct stat *st, uint64_t out[STAT_U64S])
{
	out[0] = (uint64_t)st->st_dev;
	out[1] = (uint64_t)st->st_ino;
	out[2] = (uint64_t)st->st_mode;
	out[3] = (uint64_t)st->st_size;
	out[4] = (uint64_t)stamp_ns(st->st_mtim);
	out[5] = (uint64_t)stamp_ns(st->st_ctim);
}

/* count names, each NUL-terminated, filling exactly len bytes. */
static bool names_sound(const char *names, size_t len, size_t count)
{
	size_t seen = 0;
	for (size_t i = 0; i < len; i++)
		seen += names[i] == '\0';
	return seen == count && (!len || names[len - 1] == '\0') && (len || !count);
}

static bool kinds_sound(const char *kinds, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if ((unsigned char)kinds[i] > SRC_OTHER)
			return false;
	return true;
}

/* The entry at r, checked whole: a malformed one is false. */
static bool view_entry(struct wire_reader *r, struct entry_view *v)
{
	const unsigned char *start = r->p;
	v->kind = (char)wire_get(r, 1);
	for (size_t i = 0; i < STAT_U64S; i++)
		v->stat[i] = wire_get(r, 8);
	size_t len = wire_get(r, 4);
	v->path = wire_get_text(r, len);
	if (r->bad || (v->kind != 'd' && v->kind != 'f') || strlen(v->path) != len)
		return false;
	if (v->kind == 'f') {
		v->hash = wire_get(r, 8);
	} else {
		v->count = wire_get(r, 4);
		v->names_len = wire_get(r, 4);
		v->names = (const char *)wire_get_bytes(r, v->names_len);
		v->kinds = (const char *)wire_get_bytes(r, v->count);
		if (r->bad || !names_sound(v->names, v->names_len, v->count) || !kinds_sound(v->kinds, v->count))
			return false;
	}
	v->nbytes = (size_t)(r->p - start);
	return !r->bad;
}

/* Old entry number i (checked when the file was read). */
static void view_old(const struct stat_index *si, size_t i, struct entry_view *v)
{
	struct wire_reader r = { si->old[i], si->old_end, false };
	view_entry(&r, v);
}

struct index_slot {
	uint32_t tag;		/* the high half of the path's xxh3-64 */
	uint32_t number;	/* 1 + the entry's number; 0: empty */
};

/* The number of rel's old entry, or SIZE_MAX. */
static size_t find_old(const struct stat_index *si, const char *rel)
{
	if (!si->n)
		return SIZE_MAX;
	size_t len = strlen(rel);
	uint64_t h = XXH3_64bits(rel, len);
	for (size_t i = h & si->mask; si->slots[i].number; i = (i + 1) & si->mask) {
		size_t k = si->slots[i].number - 1;
		if (si->slots[i].tag == (uint32_t)(h >> 32) && !memcmp(si->old[k] + PATH_AT, rel, len + 1))
			return k;
	}
	return SIZE_MAX;
}

/* Entry k, at path, into the table; false when the path is there already
 * (a damaged file: a writer never repeats one). */
static bool add_slot(struct stat_index *si, const char *path, size_t k)
{
	size_t len = strlen(path);
	uint64_t h = XXH3_64bits(path, len);
	size_t i = h & si->mask;
	for (; si->slots[i].number; i = (i + 1) & si->mask)
		if (!strcmp((const char *)si->old[si->slots[i].number - 1] + PATH_AT, path))
			return false;
	si->slots[i] = (struct index_slot){ (uint32_t)(h >> 32), (uint32_t)(k + 1) };
	return true;
}

static bool same_stat(const struct entry_view *v, const struct stat *st)
{
	uint64_t now[STAT_U64S];
	stat_fields(st, now);
	return !memcmp(v->stat, now, sizeof(now));
}

/* A stamp of this run's tick or later may yet be kept by a change. */
static bool racy(const struct stat_index *si, const struct stat *st)
{
	uint64_t f[STAT_U64S];
	stat_fields(st, f);
	return f[4] >= (uint64_t)si->started_ns || f[5] >= (uint64_t)si->started_ns;
}

static bool lookup(const struct stat_index *si, const char *rel, char kind, const struct stat *st,
		   struct entry_view *v)
{
	size_t i = find_old(si, rel);
	if (i == SIZE_MAX)
		return false;
	view_old(si, i, v);
	return v->kind == kind && same_stat(v, st);
}

bool stat_index_listing(const struct stat_index *si, const char *rel, const struct stat *st, struct buf *names,
			size_t *count, struct buf *kinds)
{
	struct entry_view v;
	if (!lookup(si, rel, 'd', st, &v))
		return false;
	buf_add(names, v.names, v.names_len);
	buf_add(kinds, v.kinds, v.count);
	*count = v.count;
	return true;
}

bool stat_index_file(const struct stat_index *si, const char *rel, const struct stat *st, uint64_t *hash,
		     size_t *len)
{
	struct entry_view v;
	if (!lookup(si, rel, 'f', st, &v))
		return false;
	*hash = v.hash;
	*len = (size_t)v.stat[3];
	return true;
}

/* ---- notes ---- */

static void put_head(struct buf *b, char kind, const char *rel, const struct stat *st)
{
	uint64_t f[STAT_U64S];
	size_t len = strlen(rel);
	stat_fields(st, f);
	buf_putc(b, kind);
	for (size_t i = 0; i < STAT_U64S; i++)
		wire_put(b, f[i], 8);
	wire_put(b, len, 4);
	buf_add(b, rel, len);
	buf_putc(b, '\0');
}

/* The old entry of rel, marked kept when same says it is unchanged, else
 * replaced; true when kept. */
static bool settle_old(struct stat_index *si, const char *rel, char kind, const struct stat *st,
		       bool (*same)(const struct entry_view *v, const void *ctx), const void *ctx)
{
	size_t i = find_old(si, rel);
	struct entry_view v;
	if (i == SIZE_MAX)
		return false;
	view_old(si, i, &v);
	if (si->fates[i] != ENTRY_REPLACED && v.kind == kind && same_stat(&v, st) && same(&v, ctx)) {
		si->fates[i] = ENTRY_KEPT;
		return true;
	}
	si->fates[i] = ENTRY_REPLACED;
	return false;
}

struct listing_seen {
	const char *names, *kinds;
	size_t names_len, count;
};

static bool same_listing(const struct entry_view *v, const void *ctx)
{
	const struct listing_seen *l = ctx;
	return v->count == l->count && v->names_len == l->names_len &&
	       (!l->names_len || !memcmp(v->names, l->names, l->names_len)) &&
	       (!l->count || !memcmp(v->kinds, l->kinds, l->count));
}

void stat_index_note_listing(struct stat_index *si, const char *rel, const struct stat *st, const char *names,
			     size_t names_len, const char *kinds, size_t count)
{
	struct listing_seen l = { names, kinds, names_len, count };
	if (!si->path || settle_old(si, rel, 'd', st, same_listing, &l) || racy(si, st))
		return;
	put_head(&si->fresh, 'd', rel, st);
	wire_put(&si->fresh, count, 4);
	wire_put(&si->fresh, names_len, 4);
	buf_add(&si->fresh, names, names_len);
	buf_add(&si->fresh, kinds, count);
	si->nfresh++;
}

static bool same_hash(const struct entry_view *v, const void *ctx)
{
	return v->hash == *(const uint64_t *)ctx;
}

void stat_index_note_file(struct stat_index *si, const char *rel, const struct stat *st, uint64_t hash, size_t len)
{
	if (!si->path || (uint64_t)st->st_size != len || settle_old(si, rel, 'f', st, same_hash, &hash) ||
	    racy(si, st))
		return;
	put_head(&si->fresh, 'f', rel, st);
	wire_put(&si->fresh, hash, 8);
	si->nfresh++;
}

/* ---- reading ---- */

static bool read_entries(struct stat_index *si, const unsigned char *data, size_t size)
{
	size_t magic = sizeof(MAGIC) - 1;
	if (size < magic + 8 * HEADER_U64S + 8 || memcmp(data, MAGIC, magic) ||
	    wire_get(&(struct wire_reader){ data + size - 8, data + size, false }, 8) != XXH3_64bits(data, size - 8))
		return false;
	struct wire_reader r = { data + magic, data + size - 8, false };
	si->old_end = r.end;
	if (wire_get(&r, 8) != si->root_dev || wire_get(&r, 8) != si->root_ino)
		return false;
	uint64_t n = wire_get(&r, 8);
	if (n > (uint64_t)(r.end - r.p) / (PATH_AT + 1 + 8) || n >= UINT32_MAX / 2)	/* an entry's least */
		return false;
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	si->old = xcalloc(n + 1, sizeof(*si->old));
	si->fates = xcalloc(n + 1, sizeof(*si->fates));
	si->slots = xcalloc(cap, sizeof(*si->slots));
	si->mask = cap - 1;
	for (size_t i = 0; i < n; i++) {
		struct entry_view v;
		si->old[i] = r.p;
		if (!view_entry(&r, &v) || !add_slot(si, v.path, i))
			return false;
	}
	si->n = n;
	return r.p == r.end;
}

bool stat_index_read(struct stat_index *si, const void *data, size_t size)
{
	if (read_entries(si, data, size))
		return true;
	free(si->old);
	free(si->fates);
	free(si->slots);
	si->old = NULL;
	si->fates = NULL;
	si->slots = NULL;
	si->n = 0;
	return false;
}

void stat_index_open(struct stat_index *si, const char *root)
{
	struct stat st;
	memset(si, 0, sizeof(*si));
	si->started_ns = cache_coarse_now_ns();
	if (!root || stat(root, &st) < 0)
		return;
	si->root_dev = (unsigned long long)st.st_dev;
	si->root_ino = (unsigned long long)st.st_ino;
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/.bulkhead/cache/stat", root);
	si->path = buf_detach(&path, NULL);
	if (!cache_path_safe(si->path)) {
		free(si->path);
		si->path = NULL;
		return;
	}
	if ((si->mapping = cache_map_file(si->path, &si->size)))
		stat_index_read(si, si->mapping, si->size);
}

/* ---- writing ---- */

static void add_old(struct buf *b, const struct stat_index *si, enum entry_fate fate, size_t *count)
{
	for (size_t i = 0; i < si->n; i++)
		if (si->fates[i] == fate) {
			struct entry_view v;
			view_old(si, i, &v);
			buf_add(b, si->old[i], v.nbytes);
			++*count;
		}
}

void stat_index_store(struct stat_index *si)
{
	if (!si->path || !si->nfresh)
		return;
	size_t unseen = 0, count = 0;
	for (size_t i = 0; i < si->n; i++)
		unseen += si->fates[i] == ENTRY_UNSEEN;
	struct buf b = BUF_INIT;
	unsigned char seal[8];
	buf_grow(&b, si->size + si->fresh.len);
	buf_puts(&b, MAGIC);
	wire_put(&b, si->root_dev, 8);
	wire_put(&b, si->root_ino, 8);
	size_t count_at = b.len;
	wire_put(&b, 0, 8);	/* the count, known at the end */
	add_old(&b, si, ENTRY_KEPT, &count);
	buf_add(&b, si->fresh.data, si->fresh.len);
	count += si->nfresh;
	if (unseen <= count)	/* the unseen are no more than the rest */
		add_old(&b, si, ENTRY_UNSEEN, &count);
	wire_pack((unsigned char *)b.data + count_at, count, 8);
	wire_pack(seal, XXH3_64bits(b.data, b.len), 8);
	buf_add(&b, seal, 8);
	int lock_fd;
	if (cache_prepare(si->path) && (lock_fd = cache_lock_dir(si->path)) >= 0) {
		cache_write_file(si->path, &b);
		close(lock_fd);
	}
	buf_free(&b);
}

void stat_index_close(struct stat_index *si)
{
	if (si->mapping)
		munmap(si->mapping, si->size);
	free(si->slots);
	free(si->old);
	free(si->fates);
	free(si->path);
	buf_free(&si->fresh);
	memset(si, 0, sizeof(*si));
}
