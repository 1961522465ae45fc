/* glob.h - the spec's globs: fnmatch without flags, so '*' crosses '/'
 * and '.'. */
#ifndef BULKHEAD_GLOB_H
#define BULKHEAD_GLOB_H

#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* The length of the glob's literal head: the bytes before its first
 * '*', '?', '[' or '\\'. */
static inline size_t glob_head(const char *glob)
{
	return strcspn(glob, "*?[\\");
}

/* The first len bytes of the string glob (a part of "UNIT-GLOB:KEY-GLOB",
 * say) as a glob against s, its literal head lit bytes long.  The head
 * decides most mismatches without fnmatch (drift asks every differing
 * leaf against every allow entry), a lone '*' after it matches whatever
 * follows, and only the rest of the glob is copied for fnmatch. */
static inline bool glob_match_at(const char *glob, size_t len, size_t lit, const char *s)
{
	if (strncmp(glob, s, lit))
		return false;
	if (lit == len)
		return s[lit] == '\0';
	if (lit + 1 == len && glob[lit] == '*')
		return true;
	char small[128];
	size_t rest = len - lit;
	char *pattern = rest < sizeof(small) ? small : xmalloc(rest + 1);
	memcpy(pattern, glob + lit, rest);
	pattern[rest] = '\0';
	bool hit = fnmatch(pattern, s + lit, 0) == 0;
	if (pattern != small)
		free(pattern);
	return hit;
}

static inline bool glob_match_n(const char *glob, size_t len, const char *s)
{
	size_t lit = glob_head(glob);
	return glob_match_at(glob, len, lit < len ? lit : len, s);
}

static inline bool glob_match(const char *glob, const char *s)
{
	return glob_match_n(glob, strlen(glob), s);
}

/* A "UNIT-GLOB:KEY-GLOB" entry (drift.allow, drift.promoted), split at
 * its first colon once: drift asks every differing leaf of every unit
 * against each entry. */
struct unit_key_glob {
	const char *unit;	/* the entry: the unit glob is its first unit_len bytes */
	size_t unit_len;
	const char *key;	/* the key glob, after the colon */
	size_t key_len, key_lit;	/* key_lit: its literal head */
};

/* entry holds a colon (the loader checked). */
static inline struct unit_key_glob unit_key_glob_split(const char *entry)
{
	const char *key = strchr(entry, ':') + 1;
	size_t key_len = strlen(key), lit = glob_head(key);
	return (struct unit_key_glob){ entry, (size_t)(key - 1 - entry), key, key_len, lit };
}

/* The key part first, as it rules out most. */
static inline bool unit_key_glob_match(const struct unit_key_glob *g, const char *unit, const char *key)
{
	return glob_match_at(g->key, g->key_len, g->key_lit, key) && glob_match_n(g->unit, g->unit_len, unit);
}

#endif
