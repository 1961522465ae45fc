/* schema.h - shape checks for loaded YAML: expected kinds, known keys with
 * a did-you-mean, and the small value formats of bulkhead.yaml. */
#ifndef BULKHEAD_SCHEMA_H
#define BULKHEAD_SCHEMA_H

#include <stdbool.h>

#include "yaml.h"

/* Reports "WHAT must be a KIND, not a ..." when n is not of kind k. */
bool schema_expect(const struct node *n, enum node_kind k, const char *what);
/* A string scalar, or an error naming what. */
bool schema_expect_string(const struct node *n, const char *what);
/* Reports every key of map not in the NULL-terminated list known, with
 * the closest known key as a suggestion.  Returns the number reported. */
int schema_check_keys(const struct node *map, const char *const *known, const char *what);
/* The known word closest to word within a small edit distance, or NULL. */
const char *schema_suggest(const char *word, const char *const *known);
/* True when map has an unknown key that is a near miss of key: a missing
 * required key then needs no error of its own, the did-you-mean says it. */
bool schema_near_miss(const struct node *map, const char *key);
/* Every item of a list of strings; reports the others. */
bool schema_expect_string_list(const struct node *n, const char *what);

#endif
