/* value.h - the evaluated value model.  Every value remembers the node
 * that defined it (provenance); maps keep their keys sorted bytewise so
 * lookups are binary searches and output is deterministic. */
#ifndef BULKHEAD_VALUE_H
#define BULKHEAD_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "yaml.h"

enum value_kind { VAL_NULL, VAL_BOOL, VAL_INT, VAL_FLOAT, VAL_STR, VAL_LIST, VAL_MAP };

struct value;

struct value_pair {
	const char *key;
	size_t keylen;
	struct value *value;
};

struct value {
	uint8_t kind;		/* enum value_kind */
	bool sensitive;		/* shown as (sensitive) in every report */
	/* origin is a string holding an expression, the definition of all
	 * inside the value: kept here so drift and policy, walking every
	 * leaf, need not load the node (a cache miss each). */
	bool templated;
	/* Nothing beneath this list or map is sensitive, as it was built
	 * (value_from_node: YAML holds no secrets): value_has_sensitive stops
	 * here, so a call on a large shared var (lookup(var.table, k)) costs
	 * what the call does, not a walk of the table in every unit. */
	bool plain_inside;
	const struct node *origin;	/* where it was defined; NULL if computed;
					 * set by value_set_origin */
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			const char *s;
			size_t len;
		} str;
		struct {
			struct value **items;
			size_t len;
		} list;
		struct {
			struct value_pair *pairs;	/* sorted by key */
			size_t len;
		} map;
	};
};

static inline void value_set_origin(struct value *v, const struct node *origin)
{
	v->origin = origin;
	v->templated = origin && origin->kind == NODE_STR && origin->has_expr;
}

struct value *value_null(struct arena *a, const struct node *origin);
struct value *value_bool(struct arena *a, bool b, const struct node *origin);
struct value *value_int(struct arena *a, int64_t i, const struct node *origin);
struct value *value_float(struct arena *a, double f, const struct node *origin);
struct value *value_str(struct arena *a, const char *s, size_t len, const struct node *origin);
struct value *value_list(struct arena *a, size_t len, const struct node *origin);
/* A map with room for len pairs; fill pairs then call value_map_sort. */
struct value *value_map(struct arena *a, size_t len, const struct node *origin);
/* Sorts pairs by key; returns the index of a duplicate key or -1. */
long value_map_sort(struct value *map);
/* Where value_map_sort puts the pair made from each pair of the map node
 * map: pos[i] for map->map.pairs[i].  false (pos unset) when two keys
 * are equal. */
bool value_map_positions(const struct node *map, uint32_t *pos);
struct value *value_map_get(const struct value *map, const char *key);

/* A YAML node as a value, as written (no expression handling). */
struct value *value_from_node(struct arena *a, const struct node *n);
/* An empty map with room for cap pairs, filled by value_map_add. */
struct value *value_map_room(struct arena *a, size_t cap);
/* Appends to a map made by value_map_room; sort when done. */
void value_map_add(struct value *map, const char *key, struct value *v);
struct value *value_cstr(struct arena *a, const char *s);

/* What a unit's values may add up to when written out: shared parts
 * count each time they occur, so a list of 32 references to a list of 32
 * references to ... is a few values in memory and a gigabyte of JSON. */
struct value_budget {
	size_t nodes, bytes;	/* values; bytes of strings and keys */
};
/* Takes v's values and bytes from *left; false, stopping the walk at
 * once, when v holds more than is left. */
bool value_take(const struct value *v, struct value_budget *left);

/* True when v or anything inside it is sensitive. */
bool value_has_sensitive(const struct value *v);
/* Keys that hold secrets by name: *password*, *secret*, *token*,
 * *private_key* (case-insensitive). */
bool key_is_secret(const char *key);

/* The keys from a unit's inputs down to a leaf, innermost first, on the
 * stack of a walk: its key path and whether it is a secret's are made of
 * them only for the leaves a report names (most are not). */
struct key_frame {
	const char *key;
	size_t len;
	const struct key_frame *up;
};
/* Appends one segment: ".KEY", or the key quoted as JSON when it holds a
 * dot or an odd character, as allow lists write it:
 * inputs.tags."k8s.io/role". */
void key_path_push(struct buf *path, const char *key, size_t len);
/* Appends the whole path: "inputs", then a segment per frame. */
void key_path_of(const struct key_frame *k, struct buf *path);
/* Whether a key on the way to the leaf looks like a secret's. */
bool key_frames_secret(const struct key_frame *k);

const char *value_kind_name(enum value_kind k);
bool value_equal(const struct value *a, const struct value *b);

/* Shortest text that reads back as the same double, never in exponent
 * form; integral values print as integers.  out needs 400 bytes. */
void format_double(double d, char *out, size_t size);
/* JSON as `jq -S .` prints it: sorted keys, 2-space indent, one element
 * per line, "[]"/"{}" for empty containers.  No final newline. */
void value_to_json(const struct value *v, struct buf *out);
/* The same for a value nested depth levels down in a document: its inner
 * lines are indented to fit there. */
void value_to_json_at(const struct value *v, struct buf *out, int depth);
/* value_to_json of a document with a hole: where the value at stands
 * (by address), fill writes the text in its place, nested depth levels
 * down.  For a report whose list of findings is written one finding at a
 * time, never whole in memory. */
struct json_hole {
	const struct value *at;
	void (*fill)(void *ctx, struct buf *out, int depth);
	void *ctx;
};
void value_to_json_holed(const struct value *v, struct buf *out, const struct json_hole *hole);
void json_quote(struct buf *out, const char *s, size_t len);
/* A newline and the indent of depth levels, as value_to_json prints
 * them: for text written in the same form without a value. */
void json_indent(struct buf *out, int depth);
/* JSON on one line, no spaces: [1,{"a":true}]. */
void value_to_json_compact(const struct value *v, struct buf *out);
/* The same for reports: sensitive values, and strings under keys that
 * look like secrets (or below such a key when secret is set), print as
 * "(sensitive)". */
void value_to_json_compact_redacted(const struct value *v, bool secret, struct buf *out);

#endif
