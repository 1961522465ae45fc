/* glob.h - the spec's globs: fnmatch without flags, so '*' crosses '/'
 * and '.'. */
#ifndef BULKHEAD_GLOB_H
#define BULKHEAD_GLOB_H

#include <fnmatch.h>
#include <stdbool.h>
#include <string.h>

/* The literal head of the glob decides most mismatches without fnmatch:
 * drift asks every differing leaf against every allow entry. */
static inline bool glob_match(const char *glob, const char *s)
{
	size_t lit = strcspn(glob, "*?[\\");
	if (strncmp(glob, s, lit))
		return false;
	if (!glob[lit])
		return s[lit] == '\0';
	return fnmatch(glob + lit, s + lit, 0) == 0;
}

#endif
