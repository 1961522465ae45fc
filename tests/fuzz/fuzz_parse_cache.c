/* fuzz_parse_cache - the parse cache's tree encoding (compiler/parse_cache.c).
 *
 * The first byte picks what the rest is:
 *   even: YAML text.  What the loader accepts and the cache stores must
 *         decode, for another file of the same text, to the loader's tree.
 *   odd:  the bytes of a stored tree, for a fixed text.  The decoder must
 *         refuse them or give a tree the loader could have made: offsets
 *         inside the text, every scalar with a text of the length it
 *         claims, NUL-ended and without NULs, keys that are strings, known
 *         kinds, tags and styles, no deeper than the depth limit. */
#include "fuzz_common.h"
#include "buf.h"
#include "parse_cache.h"
#include "yaml.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_text[] = "a: 1\nb: [x, {c: d}]\ne: !append ['${x}', 2.5, true, null]\n";

static void same_tree(const struct node *want, const struct node *got, const struct srcfile *f)
{
	if (!got || got->file != f || got->kind != want->kind || got->tag != want->tag ||
	    got->style != want->style || got->off != want->off || got->has_expr != want->has_expr ||
	    got->indexed != want->indexed)
		abort();
	if (node_is_scalar(want) &&
	    (got->str.len != want->str.len || memcmp(got->str.s, want->str.s, want->str.len + 1)))
		abort();
	if (want->kind == NODE_SEQ) {
		if (got->seq.len != want->seq.len)
			abort();
		for (size_t i = 0; i < want->seq.len; i++)
			same_tree(want->seq.items[i], got->seq.items[i], f);
	} else if (want->kind == NODE_MAP) {
		if (got->map.len != want->map.len)
			abort();
		for (size_t i = 0; i < want->map.len; i++) {
			same_tree(want->map.pairs[i].key, got->map.pairs[i].key, f);
			same_tree(want->map.pairs[i].value, got->map.pairs[i].value, f);
		}
	}
}

static void round_trip(struct arena *a, const uint8_t *data, size_t size)
{
	struct srcfile *f = fuzz_srcfile(a, "dev/u/unit.yaml", data, size);
	struct srcfile twin = { "prod/u/unit.yaml", f->data, f->len };
	struct node *root = NULL;
	struct buf entry = BUF_INIT;
	/* Entries of both layouts: with the text's git blob id (an odd
	 * length, here) and without. */
	static const struct blob_id some_blob = { { 0xb1, 0x0b, 0x1d } };
	const struct blob_id *blob = size % 2 ? &some_blob : NULL;
	if (yaml_load(a, f, &limits_default, &root) == 0 && parse_cache_encode(&entry, f, root, blob)) {
		/* u32 text length, text, NUL, u8 blob id length, the id, u32
		 * tree length, tree */
		size_t at = 4 + size + 1 + 1 + (blob ? BLOB_ID_SIZE : 0) + 4;
		if (entry.len < at || (unsigned char)entry.data[4 + size + 1] != (blob ? BLOB_ID_SIZE : 0) ||
		    parse_cache_encoded_len(f, root, blob) != entry.len)
			abort();
		same_tree(root, parse_cache_decode(a, &twin, entry.data + at, entry.len - at, &limits_default), &twin);
	}
	buf_free(&entry);
}

static void sound(const struct node *n, const struct srcfile *f, size_t depth)
{
	if (n->kind > NODE_MAP || n->tag > TAG_UNSET || n->style > STYLE_FLOW || n->off > f->len ||
	    n->file != f || depth > limits_default.depth + 1)
		abort();
	if (node_is_scalar(n) && (!n->str.s || strlen(n->str.s) != n->str.len))
		abort();
	for (size_t i = 0; n->kind == NODE_SEQ && i < n->seq.len; i++)
		sound(n->seq.items[i], f, depth + 1);
	for (size_t i = 0; n->kind == NODE_MAP && i < n->map.len; i++) {
		if (n->map.pairs[i].key->kind != NODE_STR)
			abort();
		sound(n->map.pairs[i].key, f, depth + 1);
		sound(n->map.pairs[i].value, f, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	if (size == 0)
		return 0;
	arena_init(&a);
	if (data[0] % 2 == 0) {
		round_trip(&a, data + 1, size - 1);
	} else {
		struct srcfile f = { "u.yaml", fixed_text, sizeof(fixed_text) - 1 };
		struct node *root = parse_cache_decode(&a, &f, data + 1, size - 1, &limits_default);
		if (root)
			sound(root, &f, 0);
	}
	arena_free(&a);
	diag_clear();
	return 0;
}
