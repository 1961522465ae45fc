/* json.h - strict JSON (RFC 8259) to the node tree the YAML loader makes.
 *
 * For JSON that bulkhead reads back in bulk (manifest.json holds an entry
 * per unit: 22 MB at 30,000 units), where libyaml's general scanner costs
 * a third of a second.  The nodes are those yaml_load gives for the same
 * text: objects are maps, arrays sequences, strings NODE_STR (style
 * double), integers NODE_INT (exact int64), other numbers NODE_FLOAT, and
 * every scalar keeps its source text.  Strict: one value, nothing after
 * it; no comments, trailing commas, leading zeros, NaN, control
 * characters, lone surrogates, \u0000 or duplicate keys; valid UTF-8; the
 * limits (file size, depth, scalar size, node count) hold while parsing.
 * Errors go to the diagnostics sink at their byte offset. */
#ifndef BULKHEAD_JSON_H
#define BULKHEAD_JSON_H

#include "yaml.h"

/* Parses f into *out; prefix (or NULL) goes before every message, as for
 * yaml_load_as.  Returns 0, or -1 after reporting the first error. */
int json_load_as(struct arena *a, const struct srcfile *f, const struct limits *lim, const char *prefix,
		 struct node **out);

#endif
