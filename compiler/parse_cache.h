/* parse_cache.h - unit.yaml trees kept from one run to the next.
 *
 * libyaml is most of the cost of reading a repo (about 300 instructions
 * a byte), and from one commit to the next almost every unit.yaml keeps
 * its bytes.  A run stores the tree of each unit file it parsed in
 * .bulkhead/cache/, keyed by the file's whole text; the next run that
 * meets the same text decodes the tree instead of parsing it, about
 * forty times cheaper.  A hit needs the stored text to equal the file's
 * byte for byte, not only a hash of it, unless the stat index vouches
 * for the file (its stat data unchanged since a run hashed its text: see
 * stat_index.h); then the text is not read at all.  The cache file is sealed with a
 * checksum and names the root folder (device, inode) and the loader's
 * limits it was made with: a cache copied or committed from elsewhere, a
 * corrupt one or one made under other limits is ignored, never trusted.
 * Only files that loaded without error are stored, so every diagnostic
 * still comes from the loader.
 *
 * An entry also keeps the git blob id of its text once a run has read
 * that text from a git source (--staged, --rev): the next such run finds
 * the entry by the id the index or tree gives the file, and reads no
 * blob at all (libgit2 checks a blob's bytes against its id when it
 * reads them, so the id names exactly that text). */
#ifndef BULKHEAD_PARSE_CACHE_H
#define BULKHEAD_PARSE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "blob_id.h"
#include "buf.h"
#include "map.h"
#include "yaml.h"

enum entry_state { ENTRY_UNUSED, ENTRY_USED, ENTRY_DEAD };

struct parse_entry {
	const char *text;	/* in the mapped file, NUL-terminated */
	size_t text_len;
	const unsigned char *tree, *end;	/* the encoded tree */
	const unsigned char *bytes;	/* the whole entry, to copy it on */
	size_t nbytes;
	enum entry_state state;	/* set by the lookup that meets it */
	const unsigned char *blob_at;	/* the entry's blob id field */
	bool has_blob, learned;	/* learned: blob was noted by this run */
	struct blob_id blob;	/* git's id for the text, when has_blob */
};

struct parse_cache {
	char *path;		/* NULL: no cache for this run */
	void *mapping;		/* the file, mapped read-only, or NULL */
	size_t size;
	struct parse_entry *entries;
	size_t nentries;
	struct map by_text;	/* text -> struct parse_entry */
	struct map by_blob;	/* blob id bytes -> struct parse_entry */
	size_t learned;		/* entries that learned their blob id */
	struct limits limits;
	unsigned long long root_dev, root_ino;
};

/* Opens the cache of the project at root (absolute) for loads under lim;
 * a missing or unsound file gives an empty cache, an unsafe .bulkhead/
 * (not a real folder) none at all. */
void parse_cache_open(struct parse_cache *pc, const char *root, const struct limits *lim);
/* The entry of text (whose ->text, NUL-terminated, lasts as long as the
 * cache is open: a file with a stored tree needs no copy of its own), or
 * NULL; hash is map_hash(text, len).  Threads may call it at once. */
struct parse_entry *parse_cache_find(const struct parse_cache *pc, const char *text, size_t len, uint64_t hash);
/* The entry whose text has this map_hash and length, text unseen: for a
 * file the stat index vouches for (stat_index.h).  Threads may call it
 * at once. */
struct parse_entry *parse_cache_find_hash(const struct parse_cache *pc, uint64_t hash, size_t len);
/* The entry whose text git's blob id names (a git source gave the id
 * for a file: source_blob_id), or NULL.  Threads may call it at once. */
struct parse_entry *parse_cache_find_blob(const struct parse_cache *pc, const struct blob_id *id);
/* e's text is the blob id names: a run read it so from a git source.
 * The store keeps the id with the entry.  Not beside the lookups. */
void parse_cache_note_blob(struct parse_cache *pc, struct parse_entry *e, const struct blob_id *id);
/* The tree of entry e (NULL: none) for file f, whose text is e's,
 * decoded into a; NULL on a miss, and e is then dropped at the store.
 * Threads may call it at once for different entries. */
struct node *parse_cache_get(struct parse_cache *pc, struct parse_entry *e, struct arena *a, const struct srcfile *f);
/* The tree encoded in tree[0..len), for file f, decoded into a under lim;
 * NULL when the bytes are not a whole, well-formed tree. */
struct node *parse_cache_decode(struct arena *a, const struct srcfile *f, const void *tree, size_t len,
				const struct limits *lim);
/* Appends the entry for f's tree to out, with the blob id of f's text
 * (NULL: unknown); false (out unchanged) when the tree cannot be stored
 * (aliases expanded beyond node_copy_budget). */
bool parse_cache_encode(struct buf *out, const struct srcfile *f, const struct node *root,
			const struct blob_id *blob);
/* The bytes parse_cache_encode would append for f's tree, without
 * encoding it; 0 when it cannot be stored. */
size_t parse_cache_encoded_len(const struct srcfile *f, const struct node *root, const struct blob_id *blob);
/* A tree this run parsed, for the cache (src NULL: none).  The store
 * measures it (parse_cache_encoded_len), then encodes it once, into the
 * file: 30,000 entries kept encoded until the store were 38 MB of fresh
 * memory.  Both must stay as they are until the store returns. */
struct parse_fresh {
	const struct srcfile *src;
	const struct node *root;
	bool has_blob;		/* src was read from a git source as blob */
	struct blob_id blob;
};
/* Writes the cache again when fresh (in the order given), a dropped
 * entry or a learned blob id changes it: the entries this run used, then the fresh ones, then
 * the unused ones while they are at most twice the rest.  Failures only
 * cost the next run time. */
void parse_cache_store(struct parse_cache *pc, const struct parse_fresh *fresh, size_t n);
/* Unmaps the file: trees decoded from it point into it. */
void parse_cache_close(struct parse_cache *pc);

#endif
