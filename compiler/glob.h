/* glob.h - the spec's globs: fnmatch without flags, so '*' crosses '/'
 * and '.'. */
#ifndef BULKHEAD_GLOB_H
#define BULKHEAD_GLOB_H

#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* The first len bytes of the string glob (a part of "UNIT-GLOB:KEY-GLOB",
 * say) as a glob against s.  Its literal head decides most mismatches
 * without fnmatch (drift asks every differing leaf against every allow
 * entry), a lone '*' after it matches whatever follows, and only the
 * rest of the glob is copied for fnmatch. */
static inline bool glob_match_n(const char *glob, size_t len, const char *s)
{
	size_t lit = strcspn(glob, "*?[\\");
	if (lit > len)
		lit = len;
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

static inline bool glob_match(const char *glob, const char *s)
{
	return glob_match_n(glob, strlen(glob), s);
}

#endif
