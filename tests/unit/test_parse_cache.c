/* test_parse_cache.c - unit trees kept between runs: a hit gives the
 * loader's tree, anything that does not match is a miss, never a crash. */
#include "helpers.h"
#include "fixture.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/file.h>
#include <xxhash.h>

#include "parse_cache.h"

static char pc_root[64];
static struct arena pc_arena;

static void pc_setup(void)
{
	strcpy(pc_root, "/tmp/bh-parse-XXXXXX");
	cr_assert_not_null(mkdtemp(pc_root));
	arena_init(&pc_arena);
}

static void pc_teardown(void)
{
	fixture_rm_rf(pc_root);
	arena_free(&pc_arena);
	diag_clear();
}

TestSuite(parse_cache, .init = pc_setup, .fini = pc_teardown);

/* A blob id as a git source would give it: only its bytes matter here. */
static const struct blob_id some_blob = { { 0x5a, 0x11, 0x0b, 0x1d, 0x00, 0xff, 0x80, 0x7f, 0x01, 0x02,
					    0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xee } };

/* The id given to text i of a test: each text its own. */
static struct blob_id blob_of(size_t i)
{
	struct blob_id id = some_blob;
	id.bytes[0] = (unsigned char)i;
	return id;
}

static const char *const sample_texts[] = {
	"a: 1\nb: [x, \"${var.y}\", {c: 2.5, d: null}]\ne: !append [true]\n",
	"inputs:\n  name: 'single ${x}'\n  big: -9223372036854775808\n  f: -0.0\n  g: 1e300\n"
	"  block: |\n    two\n    lines\n  m: !replace {}\n  l: []\n  u: !unset null\n  k: \"\\u00e9t\\u00e9\"\n",
	"",
	"# only a comment\n",
	"- a\n- - b\n  - c: {d: [e, {f: g}]}\n- ~\n- false\n",
};

/* The cache file of root, in a buffer of PATH_MAX bytes. */
static char *cache_file_path(const char *root, char *path)
{
	snprintf(path, PATH_MAX, "%s/.bulkhead/cache/parse", root);
	return path;
}

/* What a run gets for f: its entry's tree, or NULL. */
static struct node *cached_tree(struct parse_cache *pc, const struct srcfile *f)
{
	return parse_cache_get(pc, parse_cache_find(pc, f->data, f->len, map_hash(f->data, f->len)), &pc_arena, f);
}

static struct node *must_load(const struct srcfile *f)
{
	struct node *root = NULL;
	cr_assert_eq(yaml_load(&pc_arena, f, &limits_default, &root), 0, "cannot load %s", f->data);
	return root;
}

/* Same tree as the loader's, every node in file f. */
static void expect_same_tree(const struct node *want, const struct node *got, const struct srcfile *f)
{
	cr_assert_not_null(got);
	cr_assert_eq(got->file, f, "a decoded node names another file");
	cr_assert_eq(got->kind, want->kind);
	cr_assert_eq(got->tag, want->tag);
	cr_assert_eq(got->style, want->style);
	cr_assert_eq(got->off, want->off);
	cr_assert_eq(got->has_expr, want->has_expr);
	cr_assert_eq(got->literal, want->literal, "the decoder marks literal trees as the loader does");
	cr_assert_eq(got->indexed, want->indexed, "the decoder indexes large maps as the loader does");
	if (node_is_scalar(want)) {
		cr_assert_eq(got->str.len, want->str.len);
		cr_assert_eq(memcmp(got->str.s, want->str.s, want->str.len + 1), 0, "text '%s' came back as '%s'",
			     want->str.s, got->str.s);
	}
	if (want->kind == NODE_BOOL) {
		cr_assert_eq(node_bool(got), node_bool(want));
	} else if (want->kind == NODE_INT) {
		cr_assert_eq(node_int(got), node_int(want));
	} else if (want->kind == NODE_FLOAT) {
		double g = node_float(got), w = node_float(want);
		cr_assert_eq(memcmp(&g, &w, sizeof(double)), 0, "float bits differ");
	} else if (want->kind == NODE_SEQ) {
		cr_assert_eq(got->seq.len, want->seq.len);
		for (size_t i = 0; i < want->seq.len; i++)
			expect_same_tree(want->seq.items[i], got->seq.items[i], f);
	} else if (want->kind == NODE_MAP) {
		cr_assert_eq(got->map.len, want->map.len);
		for (size_t i = 0; i < want->map.len; i++) {
			expect_same_tree(want->map.pairs[i].key, got->map.pairs[i].key, f);
			expect_same_tree(want->map.pairs[i].value, got->map.pairs[i].value, f);
		}
	}
}

/* One run that parses texts and stores them in root's cache. */
static void store_texts(const char *root, const char *const *texts, size_t n, const struct limits *lim)
{
	struct parse_cache pc;
	struct srcfile *files = xcalloc(n + 1, sizeof(*files));
	struct parse_fresh *fresh = xcalloc(n + 1, sizeof(*fresh));
	parse_cache_open(&pc, root, lim);
	for (size_t i = 0; i < n; i++) {
		files[i] = mem_file("dev/u/unit.yaml", texts[i]);
		cr_assert_null(cached_tree(&pc, &files[i]), "a hit in an empty cache");
		fresh[i] = (struct parse_fresh){ &files[i], must_load(&files[i]) };
	}
	parse_cache_store(&pc, fresh, n);
	parse_cache_close(&pc);
	free(fresh);
	free(files);
}

/* One run over texts, as the prefetch does it: each a hit (checked
 * against the loader's tree) or parsed and stored.  Returns the hits. */
static size_t run_hits(const char *root, const char *const *texts, size_t n, const struct limits *lim)
{
	struct parse_cache pc;
	struct srcfile *files = xcalloc(n + 1, sizeof(*files));
	struct parse_fresh *fresh = xcalloc(n + 1, sizeof(*fresh));
	size_t hits = 0;
	parse_cache_open(&pc, root, lim ? lim : &limits_default);
	for (size_t i = 0; i < n; i++) {
		struct srcfile loaded = mem_file("x.yaml", texts[i]);
		files[i] = mem_file("prod/u/unit.yaml", texts[i]);
		struct node *got = cached_tree(&pc, &files[i]);
		if (got) {
			expect_same_tree(must_load(&loaded), got, &files[i]);
			hits++;
		} else {
			fresh[i] = (struct parse_fresh){ &files[i], must_load(&files[i]) };
		}
	}
	parse_cache_store(&pc, fresh, n);
	parse_cache_close(&pc);
	free(fresh);
	free(files);
	return hits;
}

static bool run_finds(const char *root, const char *text, const struct limits *lim)
{
	return run_hits(root, &text, 1, lim) == 1;
}

Test(parse_cache, a_second_run_gets_the_loaders_tree)
{
	size_t n = sizeof(sample_texts) / sizeof(*sample_texts);
	store_texts(pc_root, sample_texts, n, &limits_default);
	cr_expect_eq(run_hits(pc_root, sample_texts, n, NULL), n);
	cr_expect_eq(run_hits(pc_root, sample_texts, n, NULL), n, "a run of hits keeps them all");
	expect_no_leaks();
}

Test(parse_cache, a_large_map_comes_back_indexed)
{
	struct buf text = BUF_INIT;
	for (int i = NODE_MAP_INDEXED * 2; i > 0; i--)
		buf_printf(&text, "k%03d: %d\n", i, i);
	const char *texts[] = { text.data };
	store_texts(pc_root, texts, 1, &limits_default);
	cr_expect_eq(run_hits(pc_root, texts, 1, NULL), 1, "and expect_same_tree compared indexed");
	struct parse_cache pc;
	struct srcfile f = mem_file("dev/u/unit.yaml", text.data);
	parse_cache_open(&pc, pc_root, &limits_default);
	struct node *root = cached_tree(&pc, &f);
	cr_assert_not_null(root);
	cr_expect(root->indexed);
	cr_expect_str_eq(node_map_get(root, "k001")->str.s, "1");
	cr_expect_str_eq(node_map_get(root, "k128")->str.s, "128");
	cr_expect_null(node_map_get(root, "k000"));
	parse_cache_close(&pc);
	buf_free(&text);
}

Test(parse_cache, only_the_same_bytes_hit)
{
	const char *text = "a: 1\nb: two\n";
	store_texts(pc_root, &text, 1, &limits_default);
	const char *near[] = { text, "a: 1\nb: twO\n", "a: 1\nb: two\n\n", "a: 1\nb: two" };
	cr_expect_eq(run_hits(pc_root, near, 4, NULL), 1, "one byte differs, one more, one less: misses");
	cr_expect_eq(run_hits(pc_root, near, 4, NULL), 4, "the misses were stored");
}

Test(parse_cache, a_cache_from_another_root_is_ignored)
{
	char other[128], cmd[PATH_MAX * 3];
	const char *text = "a: 1\n";
	store_texts(pc_root, &text, 1, &limits_default);
	snprintf(other, sizeof(other), "%s/clone", pc_root);
	fixture_mkdirs(pc_root, "clone/.bulkhead/cache");
	char from[PATH_MAX], to[PATH_MAX];
	snprintf(cmd, sizeof(cmd), "cp %s %s", cache_file_path(pc_root, from), cache_file_path(other, to));
	cr_assert_eq(system(cmd), 0);
	cr_expect(!run_finds(other, text, NULL), "a copied (or committed) cache vouches for its own root only");
	cr_expect(run_finds(other, text, NULL), "and is replaced by one for this root");
	cr_expect(run_finds(pc_root, text, NULL));
}

Test(parse_cache, other_limits_miss)
{
	const char *text = "a: [[[1]]]\n";
	struct limits lower = limits_default;
	lower.depth = 8;
	store_texts(pc_root, &text, 1, &limits_default);
	cr_expect(!run_finds(pc_root, text, &lower), "a tree made under other limits is not used");
	cr_expect(run_finds(pc_root, text, &lower));
	cr_expect(!run_finds(pc_root, text, NULL));
}

Test(parse_cache, an_alias_bomb_is_not_stored)
{
	const char *text = "a: &a [1, 2, 3, 4, 5, 6, 7, 8]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: [*b, *b, *b, *b, *b, *b, *b, *b]\n";
	struct srcfile f = mem_file("u.yaml", text);
	struct buf b = BUF_INIT;
	buf_puts(&b, "kept");
	cr_expect(!parse_cache_encode(&b, &f, must_load(&f), NULL), "671 nodes from 106 bytes");
	cr_expect_eq(b.len, 4, "a refused entry leaves nothing behind");
	buf_free(&b);
	const char *small = "a: &a {x: 1}\nb: *a\n";
	store_texts(pc_root, &small, 1, &limits_default);
	cr_expect(run_finds(pc_root, small, NULL), "an alias within the budget is stored expanded");
}

/* The store measures each entry before it takes the lock and writes it
 * in one pass; a length that disagrees would fail the whole write. */
Test(parse_cache, the_measured_length_is_the_encoded_one)
{
	struct buf long_text = BUF_INIT, b = BUF_INIT;
	/* Offsets past two LEB128 bytes and a scalar longer than 127. */
	buf_puts(&long_text, "pad:\n");
	for (int i = 0; i < 400; i++)
		buf_printf(&long_text, "  - item %d\n", i);
	buf_puts(&long_text, "long: \"");
	for (int i = 0; i < 300; i++)
		buf_putc(&long_text, 'x');
	buf_puts(&long_text, "\"\n");
	const char *texts[sizeof(sample_texts) / sizeof(*sample_texts) + 2];
	size_t n = 0;
	for (; n < sizeof(sample_texts) / sizeof(*sample_texts); n++)
		texts[n] = sample_texts[n];
	texts[n++] = long_text.data;
	texts[n++] = "a: &a {x: 1, y: [2, 3]}\nb: *a\nc: *a\n";
	for (size_t i = 0; i < n; i++) {
		struct srcfile f = mem_file("u.yaml", texts[i]);
		struct node *root = must_load(&f);
		for (int with_blob = 0; with_blob < 2; with_blob++) {
			const struct blob_id *id = with_blob ? &some_blob : NULL;
			buf_reset(&b);
			buf_puts(&b, "before");
			cr_assert(parse_cache_encode(&b, &f, root, id), "text %zu", i);
			cr_expect_eq(parse_cache_encoded_len(&f, root, id), b.len - 6, "text %zu, blob id %d", i,
				     with_blob);
		}
	}
	const char *bomb = "a: &a [1, 2, 3, 4, 5, 6, 7, 8]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: [*b, *b, *b, *b, *b, *b, *b, *b]\n";
	struct srcfile f = mem_file("u.yaml", bomb);
	cr_expect_eq(parse_cache_encoded_len(&f, must_load(&f), NULL), 0, "refused, as by parse_cache_encode");
	buf_free(&b);
	buf_free(&long_text);
}

/* ---- blob ids: a git source's runs find a text without reading it ---- */

/* One run that parses texts read as blobs blob_of(i) and stores them. */
static void store_blobs(const char *root, const char *const *texts, size_t n)
{
	struct parse_cache pc;
	struct srcfile *files = xcalloc(n + 1, sizeof(*files));
	struct parse_fresh *fresh = xcalloc(n + 1, sizeof(*fresh));
	parse_cache_open(&pc, root, &limits_default);
	for (size_t i = 0; i < n; i++) {
		files[i] = mem_file("dev/u/unit.yaml", texts[i]);
		fresh[i] = (struct parse_fresh){ &files[i], must_load(&files[i]), true, blob_of(i) };
	}
	parse_cache_store(&pc, fresh, n);
	parse_cache_close(&pc);
	free(fresh);
	free(files);
}

/* The text and tree the cache of root holds for blob id, checked against
 * want (NULL: no entry may answer the id). */
static void expect_blob(const char *root, const struct blob_id *id, const char *want)
{
	struct parse_cache pc;
	parse_cache_open(&pc, root, &limits_default);
	struct parse_entry *e = parse_cache_find_blob(&pc, id);
	if (!want) {
		cr_expect_null(e, "an entry answers an id it was never given");
	} else {
		cr_assert_not_null(e, "no entry for the blob of '%s'", want);
		cr_expect_eq(e->text_len, strlen(want));
		cr_expect_str_eq(e->text, want);
		struct srcfile f = mem_file("stage/u/unit.yaml", e->text);
		struct srcfile loaded = mem_file("x.yaml", want);
		expect_same_tree(must_load(&loaded), parse_cache_get(&pc, e, &pc_arena, &f), &f);
	}
	parse_cache_close(&pc);
}

Test(parse_cache, a_blob_id_finds_its_text_in_the_next_run)
{
	store_blobs(pc_root, sample_texts, 3);
	for (size_t i = 0; i < 3; i++) {
		struct blob_id id = blob_of(i);
		expect_blob(pc_root, &id, sample_texts[i]);
	}
	struct blob_id unknown = blob_of(3);
	expect_blob(pc_root, &unknown, NULL);
	/* The texts are found by their bytes as well. */
	cr_expect_eq(run_hits(pc_root, sample_texts, 3, NULL), 3);
}

Test(parse_cache, an_entry_learns_the_blob_id_of_its_text)
{
	store_texts(pc_root, sample_texts, 2, &limits_default);
	struct blob_id id = blob_of(1);
	expect_blob(pc_root, &id, NULL);
	/* A run reads text 1 from a git source and finds it by its bytes. */
	struct parse_cache pc;
	parse_cache_open(&pc, pc_root, &limits_default);
	struct srcfile f = mem_file("dev/u/unit.yaml", sample_texts[1]);
	struct parse_entry *e = parse_cache_find(&pc, f.data, f.len, map_hash(f.data, f.len));
	cr_assert_not_null(e);
	cr_assert_not_null(parse_cache_get(&pc, e, &pc_arena, &f));
	parse_cache_note_blob(&pc, e, &id);
	parse_cache_store(&pc, NULL, 0);
	parse_cache_close(&pc);
	expect_blob(pc_root, &id, sample_texts[1]);
	/* Text 0 went on as it was: found by its bytes, by no id. */
	struct blob_id other = blob_of(0);
	expect_blob(pc_root, &other, NULL);
	cr_expect_eq(run_hits(pc_root, sample_texts, 2, NULL), 2);
	expect_blob(pc_root, &id, sample_texts[1]);
}

/* ---- damage: every case is a miss, none a crash ---- */

static struct buf read_cache(void)
{
	struct buf b = BUF_INIT;
	char path[PATH_MAX];
	cr_assert_eq(buf_read_file(&b, cache_file_path(pc_root, path)), 0);
	return b;
}

static void write_cache(const struct buf *b, bool reseal)
{
	if (reseal) {
		uint64_t sum = XXH3_64bits(b->data, b->len - 8);
		for (size_t i = 0; i < 8; i++)
			b->data[b->len - 8 + i] = (char)(sum >> (8 * i));
	}
	char path[PATH_MAX];
	FILE *f = fopen(cache_file_path(pc_root, path), "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(b->data, 1, b->len, f), b->len);
	cr_assert_eq(fclose(f), 0);
}

Test(parse_cache, a_damaged_file_is_ignored)
{
	const char *text = "a: 1\nb: [x, z]\n";
	store_texts(pc_root, &text, 1, &limits_default);
	struct buf good = read_cache();
	for (size_t at = 0; at < good.len; at += 7) {
		struct buf b = BUF_INIT;
		buf_add(&b, good.data, good.len);
		b.data[at] ^= 0x20;
		write_cache(&b, false);
		cr_expect(!run_finds(pc_root, text, NULL), "byte %zu flipped, yet a hit", at);
		cr_expect(run_finds(pc_root, text, NULL), "the miss stored the text again");
		buf_free(&b);
	}
	for (size_t len = 0; len < good.len; len += 5) {
		struct buf b = BUF_INIT;
		buf_add(&b, good.data, len);
		if (len >= 8)
			write_cache(&b, true);	/* sealed, but cut short */
		else
			write_cache(&b, false);
		cr_expect(!run_finds(pc_root, text, NULL), "cut to %zu bytes, yet a hit", len);
		buf_free(&b);
	}
	buf_free(&good);
}

/* Where the first entry's blob id field lies in a cache file b holding
 * text: after the magic line, seven u64s, the text's length, the text
 * and its NUL.  The field's length byte (0: none), then the tree's
 * length and the tree follow. */
static size_t blob_field_at(const struct buf *b, const char *text)
{
	const char *nl = memchr(b->data, '\n', b->len);
	cr_assert_not_null(nl);
	size_t at = (size_t)(nl + 1 - b->data) + 7 * 8 + 4 + strlen(text) + 1;
	cr_assert_lt(at, b->len - 8);
	return at;
}

/* An id field of another length than none or BLOB_ID_SIZE is damage. */
Test(parse_cache, a_blob_id_field_of_another_length_spoils_the_file)
{
	const char *text = "a: 1\n";
	store_texts(pc_root, &text, 1, &limits_default);
	struct buf b = read_cache();
	size_t field = blob_field_at(&b, text);
	cr_assert_eq(b.data[field], 0, "the field of a text read from the work tree is empty");
	b.data[field] = 7;
	write_cache(&b, true);
	cr_expect(!run_finds(pc_root, text, NULL), "a hit from a file with a bad id field");
	buf_free(&b);
}

/* A file sealed after its tree bytes were changed: the decoder checks
 * every count, kind and offset itself, so each change is a miss or a
 * tree that keeps the loader's invariants; the entry is then dropped. */
Test(parse_cache, a_resealed_bad_tree_is_a_miss_and_dropped)
{
	const char *text = "a: 1\nb: [x, {c: d}]\n";
	store_texts(pc_root, &text, 1, &limits_default);
	struct buf good = read_cache();
	/* The tree, up to the seal: after the empty blob id field and the
	 * tree's length. */
	size_t tree_at = blob_field_at(&good, text) + 1 + 4;
	cr_assert_lt(tree_at, good.len - 8);
	size_t misses = 0;
	for (size_t at = tree_at; at < good.len - 8; at++)
		for (unsigned bit = 0; bit < 8; bit++) {
			struct buf b = BUF_INIT;
			buf_add(&b, good.data, good.len);
			b.data[at] ^= (char)(1u << bit);
			write_cache(&b, true);
			struct parse_cache pc;
			struct srcfile f = mem_file("u.yaml", text);
			parse_cache_open(&pc, pc_root, &limits_default);
			struct node *got = cached_tree(&pc, &f);
			if (!got) {
				misses++;
				parse_cache_store(&pc, NULL, 0);
				parse_cache_close(&pc);
				struct buf after = read_cache();
				cr_expect_lt(after.len, good.len, "the bad entry was kept (byte %zu, bit %u)", at, bit);
				buf_free(&after);
			} else {
				parse_cache_close(&pc);
			}
			buf_free(&b);
		}
	cr_expect_gt(misses, 0);
	buf_free(&good);
}

Test(parse_cache, no_cache_through_a_link)
{
	char target[128], link[128];
	snprintf(target, sizeof(target), "%s/elsewhere", pc_root);
	snprintf(link, sizeof(link), "%s/repo/.bulkhead", pc_root);
	fixture_mkdirs(pc_root, "elsewhere");
	fixture_mkdirs(pc_root, "repo");
	cr_assert_eq(symlink(target, link), 0);
	char repo[PATH_MAX];
	snprintf(repo, sizeof(repo), "%s/repo", pc_root);
	const char *text = "a: 1\n";
	store_texts(repo, &text, 1, &limits_default);
	struct stat st;
	char written[PATH_MAX + 16];
	snprintf(written, sizeof(written), "%s/cache/parse", target);
	cr_expect(stat(written, &st) < 0, "wrote through a .bulkhead link");
	cr_expect(!run_finds(repo, text, NULL));
}

/* ---- what a run keeps ---- */

Test(parse_cache, unused_entries_go_when_they_outweigh_the_rest)
{
	const char *texts[] = { "a: 1\n", "b: 2\n", "c: 3\n", "d: 4\n" };
	store_texts(pc_root, texts, 4, &limits_default);
	struct buf all = read_cache();
	/* Three unused entries weigh more than twice the one used. */
	cr_expect(run_finds(pc_root, texts[0], NULL));
	struct buf after = read_cache();
	cr_expect_lt(after.len, all.len);
	cr_expect_eq(run_hits(pc_root, texts, 2, NULL), 1, "the unused were dropped");
	/* Two unused against two used: kept. */
	cr_expect_eq(run_hits(pc_root, texts, 4, NULL), 2);
	cr_expect_eq(run_hits(pc_root, texts, 2, NULL), 2);
	cr_expect_eq(run_hits(pc_root, texts, 4, NULL), 4);
	buf_free(&all);
	buf_free(&after);
}

Test(parse_cache, a_run_that_adds_nothing_writes_nothing)
{
	const char *texts[] = { "a: 1\n", "b: 2\n" };
	store_texts(pc_root, texts, 2, &limits_default);
	struct stat before, after;
	char path[PATH_MAX];
	cr_assert_eq(stat(cache_file_path(pc_root, path), &before), 0);
	cr_expect_eq(run_hits(pc_root, texts, 2, NULL), 2);
	cr_assert_eq(stat(path, &after), 0);
	cr_expect_eq(before.st_ino, after.st_ino, "the file was replaced");
	/* A new text is added beside the old ones. */
	const char *three[] = { texts[0], texts[1], "c: 3\n" };
	cr_expect_eq(run_hits(pc_root, three, 3, NULL), 2);
	cr_expect_eq(run_hits(pc_root, three, 3, NULL), 3);
}

Test(parse_cache, a_writer_leaves_the_update_to_the_holder_of_the_lock)
{
	const char *texts[] = { "a: 1\n", "b: 2\n" };
	store_texts(pc_root, texts, 1, &limits_default);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/.bulkhead/cache", pc_root);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	cr_expect_eq(run_hits(pc_root, texts, 2, NULL), 1);
	cr_expect_eq(run_hits(pc_root, texts, 2, NULL), 1, "wrote while another writer held the lock");
	close(fd);
	cr_expect_eq(run_hits(pc_root, texts, 2, NULL), 1);
	cr_expect_eq(run_hits(pc_root, texts, 2, NULL), 2, "the lock was released, the miss stored");
}

Test(parse_cache, many_entries_go_out_in_several_writes)
{
	enum { N = 700 };	/* more pieces than one writev takes */
	static char bufs[N][32];
	const char *texts[N];
	for (size_t i = 0; i < N; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "k%zu: %zu\n", i, i * 7);
		texts[i] = bufs[i];
	}
	store_texts(pc_root, texts, N, &limits_default);
	cr_expect_eq(run_hits(pc_root, texts, N, NULL), N);
}

/* The store encodes fresh entries again into a buffer it writes out each
 * time it passes 1 MiB: entries across several such writes come back. */
Test(parse_cache, fresh_entries_beyond_one_write_buffer_come_back)
{
	enum { N = 300, LEN = 8000 };	/* 2.4 MB of entries */
	static char bufs[N][LEN + 32];
	const char *texts[N];
	for (size_t i = 0; i < N; i++) {
		int at = snprintf(bufs[i], sizeof(bufs[i]), "k%zu: ", i);
		for (size_t j = 0; j < LEN; j++)
			bufs[i][at + j] = (char)('a' + (i + j) % 26);
		memcpy(bufs[i] + at + LEN, "\n", 2);
		texts[i] = bufs[i];
	}
	store_texts(pc_root, texts, N, &limits_default);
	cr_expect_eq(run_hits(pc_root, texts, N, NULL), N);
}

Test(parse_cache, a_killed_writers_temp_file_goes_with_the_next_free_lock)
{
	const char *text = "a: 1\n";
	char tmp[PATH_MAX + 8], dir[PATH_MAX];
	store_texts(pc_root, &text, 1, &limits_default);
	snprintf(tmp, sizeof(tmp), "%s/.bulkhead/cache/parse.tmp", pc_root);
	snprintf(dir, sizeof(dir), "%s/.bulkhead/cache", pc_root);
	FILE *f = fopen(tmp, "w");
	cr_assert_not_null(f);
	fputs("half a cache", f);
	fclose(f);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	struct stat st;
	cr_expect(run_finds(pc_root, text, NULL));
	cr_expect_eq(stat(tmp, &st), 0, "removed while a writer held the lock");
	close(fd);
	cr_expect(run_finds(pc_root, text, NULL));
	cr_expect_neq(stat(tmp, &st), 0, "a run of hits left the stale temp file");
	cr_expect(run_finds(pc_root, text, NULL), "the cache itself is untouched");
}
