/* parse_cache.c - store and decode unit.yaml trees (see parse_cache.h).
 *
 * The file, .bulkhead/cache/parse:
 *   MAGIC, then u64s: root device, root inode, the limits that shape a
 *   load (depth, scalar_size, nodes, file_size), the number of entries;
 *   each entry: u32 text length, the text, NUL, u8 length of the text's
 *   git blob id (0: unknown, or BLOB_ID_SIZE) and its bytes, u32 tree
 *   length, the tree; last, the xxh3-64 of everything before it.
 * A tree is its nodes in pre-order, each: one byte kind | tag << 3 |
 * style << 5; one byte of flags (has_expr); the offset (LEB128); a
 * scalar's text (LEB128 length, bytes, NUL: its value is read from it);
 * a list's length then its items; a map's length then key, value, key,
 * value.  Numbers are little-endian.  Decoded strings point into
 * the mapped file, NUL included: a hit copies no text. */
#include "parse_cache.h"
#include "cache_dir.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "bulkhead-parse 4 " BULKHEAD_VERSION "\n"

enum { HAS_EXPR = 1 };
enum { HEADER_U64S = 7 };

/* ---- encoding ---- */

/* The fixed part of a node: kind byte, flags byte, offset, and a
 * scalar's length or a list's or map's count. */
enum { NODE_HEAD_MAX = 2 + 2 * WIRE_VARINT_MAX };

static size_t node_count(const struct node *n)
{
	return node_is_scalar(n) ? n->str.len : n->kind == NODE_SEQ ? n->seq.len : n->map.len;
}

/* Every tree of a cold build is encoded (a tenth of its instructions
 * when this went through buf_putc and wire_put_varint byte by byte): one
 * check for room per node, then raw stores. */
static bool encode_node(struct buf *b, const struct node *n, size_t *budget)
{
	if (*budget == 0)
		return false;
	--*budget;
	size_t text = node_is_scalar(n) ? n->str.len + 1 : 0;
	buf_grow(b, NODE_HEAD_MAX + text);
	unsigned char *p = (unsigned char *)b->data + b->len;
	*p++ = (unsigned char)(n->kind | n->tag << 3 | n->style << 5);
	*p++ = n->has_expr ? HAS_EXPR : 0;
	p = wire_pack_varint(p, n->off);
	p = wire_pack_varint(p, node_count(n));
	if (text)
		p = (unsigned char *)memcpy(p, n->str.s, text) + text;
	*p = '\0';
	b->len = (size_t)(p - (unsigned char *)b->data);
	if (n->kind == NODE_SEQ) {
		for (size_t i = 0; i < n->seq.len; i++)
			if (!encode_node(b, n->seq.items[i], budget))
				return false;
	} else if (n->kind == NODE_MAP) {
		for (size_t i = 0; i < n->map.len; i++)
			if (!encode_node(b, n->map.pairs[i].key, budget) ||
			    !encode_node(b, n->map.pairs[i].value, budget))
				return false;
	}
	return true;
}

/* What encode_node would append for n, without writing it; false past
 * the budget, as encode_node. */
static bool encoded_size(const struct node *n, size_t *budget, size_t *size)
{
	if (*budget == 0)
		return false;
	--*budget;
	*size += 2 + wire_varint_len(n->off) + wire_varint_len(node_count(n));
	if (node_is_scalar(n)) {
		*size += n->str.len + 1;
	} else if (n->kind == NODE_SEQ) {
		for (size_t i = 0; i < n->seq.len; i++)
			if (!encoded_size(n->seq.items[i], budget, size))
				return false;
	} else if (n->kind == NODE_MAP) {
		for (size_t i = 0; i < n->map.len; i++)
			if (!encoded_size(n->map.pairs[i].key, budget, size) ||
			    !encoded_size(n->map.pairs[i].value, budget, size))
				return false;
	}
	return true;
}

/* An entry's fixed part: text length, the text's NUL, blob id length,
 * tree length. */
enum { ENTRY_HEAD = 4 + 1 + 1 + 4 };

static const unsigned char blob_id_size = BLOB_ID_SIZE;

bool parse_cache_encode(struct buf *out, const struct srcfile *f, const struct node *root,
			const struct blob_id *blob)
{
	size_t mark = out->len, budget = node_copy_budget(f->len);
	if (f->len > UINT32_MAX)
		return false;
	buf_grow(out, 4 * f->len + 64);	/* a tree takes about 2.8 bytes a byte of text */
	wire_put(out, f->len, 4);
	buf_add(out, f->data, f->len);
	buf_putc(out, '\0');
	buf_putc(out, blob ? BLOB_ID_SIZE : 0);
	if (blob)
		buf_add(out, blob->bytes, BLOB_ID_SIZE);
	size_t len_at = out->len;
	wire_put(out, 0, 4);
	if (!encode_node(out, root, &budget) || out->len - len_at - 4 > UINT32_MAX) {
		out->len = mark;
		out->data[mark] = '\0';
		return false;
	}
	wire_pack((unsigned char *)out->data + len_at, out->len - len_at - 4, 4);
	return true;
}

size_t parse_cache_encoded_len(const struct srcfile *f, const struct node *root, const struct blob_id *blob)
{
	size_t budget = node_copy_budget(f->len), tree = 0;
	if (f->len > UINT32_MAX || !encoded_size(root, &budget, &tree) || tree > UINT32_MAX)
		return 0;
	return ENTRY_HEAD + f->len + (blob ? BLOB_ID_SIZE : 0) + tree;
}

/* ---- decoding: every read is bounds-checked, a bad byte is a miss ---- */

struct decoding {
	struct wire_reader r;
	struct arena *arena;
	const struct srcfile *file;
	size_t nodes_left, depth_left;
};

static struct node *decode_node(struct decoding *d);

static bool decode_items(struct decoding *d, struct node *n)
{
	struct wire_reader *r = &d->r;
	uint64_t len = wire_get_varint(r);
	/* Every node takes two bytes at least: no count can outgrow the file. */
	if (r->bad || len > (uint64_t)(r->end - r->p) / 2)
		return false;
	if (n->kind == NODE_SEQ) {
		n->seq.len = len;
		n->seq.items = ARENA_ARRAY(d->arena, struct node *, len);
		for (size_t i = 0; i < len; i++)
			if (!(n->seq.items[i] = decode_node(d)))
				return false;
		return true;
	}
	n->map.len = len;
	n->map.pairs = ARENA_ARRAY(d->arena, struct node_pair, len);
	for (size_t i = 0; i < len; i++) {
		struct node_pair *p = &n->map.pairs[i];
		if (!(p->key = decode_node(d)) || p->key->kind != NODE_STR || !p->key->str.s ||
		    !(p->value = decode_node(d)))
			return false;
	}
	node_map_index(d->arena, n);
	return true;
}

static struct node *decode_node(struct decoding *d)
{
	struct wire_reader *r = &d->r;
	if (d->nodes_left == 0 || d->depth_left == 0 || r->end - r->p < 2)
		return NULL;
	d->nodes_left--;
	unsigned head = r->p[0], flags = r->p[1];
	r->p += 2;
	struct node *n = ARENA_NEW(d->arena, struct node);
	n->kind = head & 7;
	n->tag = (head >> 3) & 3;
	n->style = head >> 5;
	n->has_expr = flags & HAS_EXPR;
	n->file = d->file;
	uint64_t off = wire_get_varint(r);
	if (n->kind > NODE_MAP || n->style > STYLE_FLOW || flags > HAS_EXPR || off > d->file->len)
		return NULL;
	n->off = (uint32_t)off;
	if (node_is_scalar(n)) {
		n->str.len = wire_get_varint(r);
		if (r->bad || !(n->str.s = wire_get_text(r, n->str.len)) || memchr(n->str.s, '\0', n->str.len))
			return NULL;
	}
	bool ok = !r->bad;
	if (!node_is_scalar(n)) {
		d->depth_left--;
		ok = decode_items(d, n);
		d->depth_left++;
		if (ok)
			node_mark_literal(n);
	}
	return ok && !r->bad ? n : NULL;
}

struct parse_entry *parse_cache_find(const struct parse_cache *pc, const char *text, size_t len, uint64_t hash)
{
	return map_get_hashed(&pc->by_text, text, len, hash);
}

struct parse_entry *parse_cache_find_hash(const struct parse_cache *pc, uint64_t hash, size_t len)
{
	const struct map_slot *s = map_find_hash(&pc->by_text, hash, len);
	return s ? s->value : NULL;
}

struct parse_entry *parse_cache_find_blob(const struct parse_cache *pc, const struct blob_id *id)
{
	return map_get(&pc->by_blob, (const char *)id->bytes, BLOB_ID_SIZE);
}

void parse_cache_note_blob(struct parse_cache *pc, struct parse_entry *e, const struct blob_id *id)
{
	if (e->has_blob)
		return;	/* one text has one id */
	e->has_blob = e->learned = true;
	e->blob = *id;
	pc->learned++;
}

struct node *parse_cache_decode(struct arena *a, const struct srcfile *f, const void *tree, size_t len,
				const struct limits *lim)
{
	struct decoding d = {
		.r = { tree, (const unsigned char *)tree + len }, .arena = a, .file = f,
		.nodes_left = lim->nodes, .depth_left = lim->depth + 1,
	};
	struct node *root = decode_node(&d);
	return root && d.r.p == d.r.end ? root : NULL;	/* a tree fills its bytes */
}

struct node *parse_cache_get(struct parse_cache *pc, struct parse_entry *e, struct arena *a, const struct srcfile *f)
{
	if (!e)
		return NULL;
	struct node *root = parse_cache_decode(a, f, e->tree, (size_t)(e->end - e->tree), &pc->limits);
	e->state = root ? ENTRY_USED : ENTRY_DEAD;
	return root;
}

/* ---- the file ---- */

static char *cache_path(const char *root)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/.bulkhead/cache/parse", root);
	return buf_detach(&b, NULL);
}

static void header_u64s(const struct parse_cache *pc, uint64_t out[HEADER_U64S - 1])
{
	out[0] = pc->root_dev;
	out[1] = pc->root_ino;
	out[2] = pc->limits.depth;
	out[3] = pc->limits.scalar_size;
	out[4] = pc->limits.nodes;
	out[5] = pc->limits.file_size;
}

/* An entry's blob id field: none, or BLOB_ID_SIZE bytes. */
static bool read_blob_id(struct wire_reader *r, struct parse_entry *e)
{
	size_t len = wire_get(r, 1);
	const unsigned char *id = len == BLOB_ID_SIZE ? wire_get_bytes(r, len) : NULL;
	if (r->bad || (len && !id))
		return false;
	if (id) {
		memcpy(e->blob.bytes, id, BLOB_ID_SIZE);
		e->has_blob = true;
	}
	return true;
}

/* The entries of a sealed file made for this root and these limits;
 * false, with nothing kept, for anything else. */
static bool read_entries(struct parse_cache *pc, const unsigned char *data, size_t size)
{
	size_t magic = sizeof(MAGIC) - 1;
	if (size < magic + 8 * HEADER_U64S + 8 || memcmp(data, MAGIC, magic) ||
	    wire_get(&(struct wire_reader){ data + size - 8, data + size }, 8) != XXH3_64bits(data, size - 8))
		return false;
	struct wire_reader r = { data + magic, data + size - 8 };
	uint64_t want[HEADER_U64S - 1];
	header_u64s(pc, want);
	for (size_t i = 0; i < HEADER_U64S - 1; i++)
		if (wire_get(&r, 8) != want[i])
			return false;
	uint64_t n = wire_get(&r, 8);
	if (n > (uint64_t)(r.end - r.p) / 10)	/* an entry takes 10 bytes at least */
		return false;
	pc->entries = xcalloc(n + 1, sizeof(*pc->entries));
	for (size_t i = 0; i < n; i++) {
		struct parse_entry *e = &pc->entries[i];
		e->bytes = r.p;
		e->text_len = wire_get(&r, 4);
		e->text = wire_get_text(&r, e->text_len);
		e->blob_at = r.p;
		if (!read_blob_id(&r, e))
			return false;
		size_t tree_len = wire_get(&r, 4);
		if (r.bad || (size_t)(r.end - r.p) < tree_len)
			return false;
		e->tree = r.p;
		e->end = r.p + tree_len;
		r.p = e->end;
		e->nbytes = (size_t)(r.p - e->bytes);
		pc->nentries++;
		map_put(&pc->by_text, e->text, e->text_len, e);
		if (e->has_blob)
			map_put(&pc->by_blob, (const char *)e->blob.bytes, BLOB_ID_SIZE, e);
	}
	return r.p == r.end;
}

static void map_file(struct parse_cache *pc)
{
	pc->mapping = cache_map_file(pc->path, &pc->size);
	if (pc->mapping && !read_entries(pc, pc->mapping, pc->size)) {
		map_clear(&pc->by_text);
		map_clear(&pc->by_blob);
		free(pc->entries);
		pc->entries = NULL;
		pc->nentries = 0;
	}
}

void parse_cache_open(struct parse_cache *pc, const char *root, const struct limits *lim)
{
	struct stat st;
	memset(pc, 0, sizeof(*pc));
	map_init(&pc->by_text);
	map_init(&pc->by_blob);
	pc->limits = *lim;
	if (!root || stat(root, &st) < 0)
		return;
	pc->root_dev = (unsigned long long)st.st_dev;
	pc->root_ino = (unsigned long long)st.st_ino;
	pc->path = cache_path(root);
	if (!cache_path_safe(pc->path)) {
		free(pc->path);
		pc->path = NULL;
		return;
	}
	map_file(pc);
}

/* The bytes entry e takes in the new file. */
static size_t entry_bytes(const struct parse_entry *e)
{
	return e->nbytes + (e->learned ? BLOB_ID_SIZE : 0);
}

static size_t bytes_in(const struct parse_cache *pc, enum entry_state state)
{
	size_t sum = 0;
	for (size_t i = 0; i < pc->nentries; i++)
		sum += pc->entries[i].state == state ? entry_bytes(&pc->entries[i]) : 0;
	return sum;
}

static size_t count_in(const struct parse_cache *pc, enum entry_state state)
{
	size_t n = 0;
	for (size_t i = 0; i < pc->nentries; i++)
		n += pc->entries[i].state == state;
	return n;
}

/* The new file goes out in pieces, straight from where they are (the
 * mapped old file, the fresh entries) through write_gathered's block, and
 * the seal is summed on the way: at 30,000 units the file is 38 MB, and a
 * copy of it all in one buffer was that much more fresh memory. */
enum { GATHER_MAX = 256 };
enum { FRESH_BATCH = 1 << 20 };	/* bytes of fresh entries per write */

struct gather {
	int fd;
	bool failed;
	XXH3_state_t *sum;
	struct iovec iov[GATHER_MAX];
	int n;
};

static void gather_flush(struct gather *g)
{
	if (!g->failed && write_gathered(g->fd, g->iov, (size_t)g->n) < 0)
		g->failed = true;
	g->n = 0;
}

/* data must stay put until the next flush. */
static void gather_put(struct gather *g, const void *data, size_t len)
{
	if (g->n == GATHER_MAX)
		gather_flush(g);
	g->iov[g->n++] = (struct iovec){ (void *)data, len };
}

/* A piece under the seal. */
static void gather_add(struct gather *g, const void *data, size_t len)
{
	if (!len)
		return;
	XXH3_64bits_update(g->sum, data, len);
	gather_put(g, data, len);
}

/* An entry as the old file holds it, or with the blob id this run
 * learned in place of its empty field: around it, its own bytes. */
static void gather_entry(struct gather *g, const struct parse_entry *e)
{
	if (!e->learned) {
		gather_add(g, e->bytes, e->nbytes);
		return;
	}
	const unsigned char *tree_at = e->blob_at + 1;
	gather_add(g, e->bytes, (size_t)(e->blob_at - e->bytes));
	gather_add(g, &blob_id_size, 1);
	gather_add(g, e->blob.bytes, BLOB_ID_SIZE);
	gather_add(g, tree_at, (size_t)(e->bytes + e->nbytes - tree_at));
}

static void gather_entries(struct gather *g, const struct parse_cache *pc, enum entry_state state)
{
	for (size_t i = 0; i < pc->nentries; i++)
		if (pc->entries[i].state == state)
			gather_entry(g, &pc->entries[i]);
}

/* What the new file is made of, allocated before it is opened, so that
 * running out of memory (fatal) never leaves a temp file behind: the
 * fresh entries' lengths, the header, the running sum, and a buffer with
 * room for a write's worth of fresh entries and the largest one. */
struct store_plan {
	const struct parse_fresh *fresh;
	size_t *lens;		/* of each fresh entry, 0 for none */
	size_t n, bytes, largest;
	bool keep_unused;
	struct buf head, batch;
	XXH3_state_t *sum;
};

/* Each fresh entry's length, measured without encoding it: entries
 * that cannot be stored (aliases expanded beyond the budget) get 0. */
static void measure_fresh(struct store_plan *sp)
{
	for (size_t i = 0; i < sp->n; i++) {
		const struct parse_fresh *f = &sp->fresh[i];
		sp->lens[i] = f->src ? parse_cache_encoded_len(f->src, f->root, f->has_blob ? &f->blob : NULL) : 0;
		sp->bytes += sp->lens[i];
		if (sp->lens[i] > sp->largest)
			sp->largest = sp->lens[i];
	}
}

static void prepare_store(struct store_plan *sp, const struct parse_cache *pc)
{
	uint64_t fields[HEADER_U64S - 1];
	uint64_t count = count_in(pc, ENTRY_USED) + (sp->keep_unused ? count_in(pc, ENTRY_UNUSED) : 0);
	for (size_t i = 0; i < sp->n; i++)
		count += sp->lens[i] > 0;
	header_u64s(pc, fields);
	buf_puts(&sp->head, MAGIC);
	for (size_t i = 0; i < HEADER_U64S - 1; i++)
		wire_put(&sp->head, fields[i], 8);
	wire_put(&sp->head, count, 8);
	if (sp->bytes)
		buf_grow(&sp->batch, FRESH_BATCH + sp->largest);
	if (!(sp->sum = XXH3_createState()))
		fatal_oom();
}

/* The fresh entries, encoded into the batch buffer (which has the
 * room: no allocation), written out each time it passes FRESH_BATCH. */
static void gather_fresh(struct gather *g, struct store_plan *sp)
{
	struct buf *batch = &sp->batch;
	for (size_t i = 0; i < sp->n; i++) {
		size_t at = batch->len;
		if (!sp->lens[i])
			continue;
		const struct parse_fresh *f = &sp->fresh[i];
		if (!parse_cache_encode(batch, f->src, f->root, f->has_blob ? &f->blob : NULL) ||
		    batch->len - at != sp->lens[i])
			g->failed = true;	/* cannot be: the same tree encodes alike */
		if (batch->len >= FRESH_BATCH) {
			gather_add(g, batch->data, batch->len);
			gather_flush(g);
			buf_reset(batch);
		}
	}
	gather_add(g, batch->data, batch->len);
	gather_flush(g);
}

/* Header, entries, seal, into fd; false when a write failed. */
static bool write_entries(int fd, const struct parse_cache *pc, struct store_plan *sp)
{
	struct gather g = { .fd = fd, .sum = sp->sum };
	unsigned char seal[8];
	XXH3_64bits_reset(g.sum);
	gather_add(&g, sp->head.data, sp->head.len);
	gather_entries(&g, pc, ENTRY_USED);
	gather_fresh(&g, sp);
	if (sp->keep_unused)
		gather_entries(&g, pc, ENTRY_UNUSED);
	wire_pack(seal, XXH3_64bits_digest(g.sum), sizeof(seal));
	gather_put(&g, seal, sizeof(seal));
	gather_flush(&g);
	return !g.failed;
}

/* Under the lock of the cache folder (dir_fd): the new file, with no
 * name until it is whole, in place of the old.  The store runs beside
 * the workers, and a worker out of memory ends the process at once: a
 * named temp file would be left behind (tests/fault 4c).  Where the file
 * system makes no unnamed files, a temp file beside the old is renamed
 * over it. */
static void write_cache(const struct parse_cache *pc, int dir_fd, const char *tmp, struct store_plan *sp)
{
	prepare_store(sp, pc);
	int fd = cache_open_unnamed(dir_fd);
	if (fd >= 0) {
		if (write_entries(fd, pc, sp) && cache_link_unnamed(dir_fd, fd, strrchr(pc->path, '/') + 1) == 0)
			unlink(tmp);	/* a fallback's, killed */
		close(fd);
		return;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
	bool ok = fd >= 0 && write_entries(fd, pc, sp);
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (fd >= 0 && (!ok || rename(tmp, pc->path) < 0))
		unlink(tmp);
}

void parse_cache_store(struct parse_cache *pc, const struct parse_fresh *fresh, size_t n)
{
	if (!pc->path)
		return;
	struct store_plan sp = { .fresh = fresh, .lens = xcalloc(n + 1, sizeof(*sp.lens)), .n = n,
				 .head = BUF_INIT, .batch = BUF_INIT };
	measure_fresh(&sp);
	size_t used = bytes_in(pc, ENTRY_USED), unused = bytes_in(pc, ENTRY_UNUSED);
	bool dead = count_in(pc, ENTRY_DEAD) > 0;
	sp.keep_unused = unused <= 2 * (used + sp.bytes);
	bool changes = sp.bytes || dead || pc->learned || (!sp.keep_unused && unused);
	struct buf tmp = BUF_INIT;
	struct stat st;
	int lock_fd;
	buf_printf(&tmp, "%s.tmp", pc->path);	/* ours while the lock is */
	/* A killed writer's temp file (38 MB at 30,000 units) goes with the
	 * next run that finds the lock free. */
	bool stale = !changes && lstat(tmp.data, &st) == 0;
	if ((changes || stale) && cache_prepare(pc->path) && (lock_fd = cache_lock_dir(pc->path)) >= 0) {
		if (changes)
			write_cache(pc, lock_fd, tmp.data, &sp);
		else
			unlink(tmp.data);
		close(lock_fd);
	}
	buf_free(&tmp);
	buf_free(&sp.head);
	buf_free(&sp.batch);
	if (sp.sum)
		XXH3_freeState(sp.sum);
	free(sp.lens);
}

void parse_cache_close(struct parse_cache *pc)
{
	if (pc->mapping)
		munmap(pc->mapping, pc->size);
	map_free(&pc->by_text);
	map_free(&pc->by_blob);
	free(pc->entries);
	free(pc->path);
	memset(pc, 0, sizeof(*pc));
}
