/* blob_id.h - the object id git gives a file's bytes (a blob).  A git
 * source (source.h) tells it for a path without reading the blob, and the
 * parse cache (parse_cache.h) finds a text by it: the pre-commit hook's
 * runs (--staged) then read no blob whose text a run has seen before. */
#ifndef BULKHEAD_BLOB_ID_H
#define BULKHEAD_BLOB_ID_H

#include <stdbool.h>
#include <string.h>

enum { BLOB_ID_SIZE = 20 };	/* SHA-1: the object format libgit2 reads */

struct blob_id {
	unsigned char bytes[BLOB_ID_SIZE];
};

static inline bool blob_id_equal(const struct blob_id *a, const struct blob_id *b)
{
	return !memcmp(a->bytes, b->bytes, BLOB_ID_SIZE);
}

#endif
