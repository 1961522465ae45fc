/* yaml.h - strict YAML 1.2 loader: libyaml events -> node tree with spans.
 *
 * Strict means: core-schema typing only, and errors (never guesses) for
 * duplicate keys, '<<' merge keys, tags other than !append/!replace/!unset,
 * several documents, invalid UTF-8, NUL bytes, YAML 1.1 booleans such as
 * 'yes', and numbers with leading zeros.  Every limit is enforced while
 * parsing, so a hostile file is rejected before it costs memory. */
#ifndef BULKHEAD_YAML_H
#define BULKHEAD_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

enum node_kind { NODE_NULL, NODE_BOOL, NODE_INT, NODE_FLOAT, NODE_STR, NODE_SEQ, NODE_MAP };
enum node_tag { TAG_NONE, TAG_APPEND, TAG_REPLACE, TAG_UNSET };
enum node_style { STYLE_PLAIN, STYLE_SINGLE, STYLE_DOUBLE, STYLE_BLOCK, STYLE_FLOW };

struct node;

struct node_pair {
	struct node *key;	/* always NODE_STR */
	struct node *value;
};

struct node {
	uint8_t kind;		/* enum node_kind */
	uint8_t tag;		/* enum node_tag */
	uint8_t style;		/* enum node_style */
	/* A scalar: its text holds "${" (set for every scalar).  A list or
	 * map: literal, no scalar beneath holds "${".  Only the loader and
	 * the parse cache's decoder set literal, bottom-up; a copy clears it
	 * (copy_node), so a tree built elsewhere counts as not known. */
	bool has_expr : 1;
	bool literal : 1;
	/* A map of NODE_MAP_INDEXED pairs or more: node_map_index put its
	 * keys' sorted order before the pairs, and lookups bsearch it. */
	bool indexed : 1;
	uint32_t off;		/* byte offset where the node's text starts */
	const struct srcfile *file;
	/* By kind: a scalar's text (every scalar keeps it, whatever its
	 * type; node_bool, node_int and node_float read the value from it,
	 * as the loader checked it), a list's items or a map's pairs.  A
	 * node is 32 bytes: a large repo holds 4 million of them, and at 48
	 * they were 64 MB more of fresh memory for every run. */
	union {
		struct {
			const char *s;	/* NUL-terminated, holds no NULs */
			size_t len;
		} str;
		struct {
			struct node **items;
			size_t len;
		} seq;
		struct {
			struct node_pair *pairs;
			size_t len;
		} map;
	};
};

/* Scalars hold str; lists and maps do not. */
static inline bool node_is_scalar(const struct node *n)
{
	return n->kind != NODE_SEQ && n->kind != NODE_MAP;
}
/* Whether no scalar in n's tree holds "${", as far as is known. */
static inline bool node_is_literal(const struct node *n)
{
	return node_is_scalar(n) ? n->kind != NODE_STR || !n->has_expr : n->literal;
}
/* Marks a list or map literal when all its items are: for code that
 * builds a tree bottom-up from nodes it made itself. */
void node_mark_literal(struct node *n);
/* The value of a NODE_BOOL, NODE_INT or NODE_FLOAT scalar, from its text
 * (YAML 1.2 core or JSON, as the loader accepted it). */
bool node_bool(const struct node *n);
int64_t node_int(const struct node *n);
double node_float(const struct node *n);

struct limits {
	size_t file_size;
	size_t depth;
	size_t scalar_size;
	size_t nodes;
	size_t include_depth;
	size_t expr_depth;
	size_t string_size;
};

extern const struct limits limits_default;

/* Parses f into *out (a NODE_NULL node for an empty document).  Errors go
 * to the diagnostics sink; returns 0 on success, -1 on any error. */
int yaml_load(struct arena *a, const struct srcfile *f, const struct limits *lim,
	      struct node **out);
/* The same, with prefix put before every message ("corrupt manifest: "). */
int yaml_load_as(struct arena *a, const struct srcfile *f, const struct limits *lim,
		 const char *prefix, struct node **out);
/* What yaml_load_as and json_load_as share, for callers that pick one. */
typedef int loader_fn(struct arena *a, const struct srcfile *f, const struct limits *lim, const char *prefix,
		      struct node **out);

/* Checks strict UTF-8 (no overlong forms, surrogates or NULs); on failure
 * stores the offending offset in *bad_off and returns -1. */
int utf8_validate(const char *s, size_t len, size_t *bad_off);

/* The file offset of byte index of a string scalar's decoded text, so an
 * error inside an expression points at its column.  Exact for single-line
 * plain, single- and double-quoted scalars; other scalars map to their
 * start. */
size_t node_text_offset(const struct node *n, size_t index);

/* Whether s holds "${": what node.has_expr records. */
bool text_has_template(const char *s, size_t len);

/* The node budget for copying the tree of a text len bytes long: an
 * alias's subtree is copied once per use, and a text without aliases
 * never reaches twice its length in nodes (parse_cache_encode). */
static inline size_t node_copy_budget(size_t len)
{
	return 2 * len + 16;
}

const char *node_kind_name(enum node_kind k);
/* The pair (its value) of key in map, or NULL; the first such pair when
 * a map holds a key twice.  A scan, or a binary search of an indexed map:
 * a key read once per key of a large map (locals, mock_outputs, an
 * include's inputs) costs log n, not n. */
struct node *node_map_get(const struct node *map, const char *key);
struct node_pair *node_map_find(const struct node *map, const char *key);
/* Indexes map when it has NODE_MAP_INDEXED pairs or more: moves its pairs
 * to a block of a that starts with their keys' sorted order.  Called by
 * whatever makes a map, once its pairs are final; a copy (struct
 * assignment) whose pairs change must clear indexed. */
enum { NODE_MAP_INDEXED = 64 };
void node_map_index(struct arena *a, struct node *map);
/* The same for a merge's result: map's pairs are base's in order but
 * for those removed[i], then keys base lacks.  base's own index serves
 * for the first part, so a large map merged into every unit with a key
 * or two changed is not sorted again for each. */
void node_map_index_over(struct arena *a, struct node *map, const struct node *base, const bool *removed);
/* Reports every merge tag (!append, !replace, !unset) in the tree n as
 * "tag '!x' is not allowed WHERE"; -1 when there was one.  For files in
 * which a tag would have nothing to merge with. */
int node_refuse_tags(const struct node *n, const char *where);
/* "!append", "!replace" or "!unset" ("" for TAG_NONE). */
const char *node_tag_name(enum node_tag tag);
/* Calls fn on each node of the tree n that carries a merge tag (n first,
 * then list items and map values, in document order) until fn returns
 * false; false when one did. */
typedef bool node_tagged_fn(void *ctx, const struct node *tagged);
bool node_each_tagged(const struct node *n, node_tagged_fn *fn, void *ctx);

#endif
