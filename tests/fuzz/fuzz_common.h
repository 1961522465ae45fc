/* fuzz_common.h - shared helpers for the libFuzzer harnesses.
 *
 * Every harness allocates from a fresh arena per input and frees it, and
 * clears the diagnostics sink, so LeakSanitizer sees no growth between
 * inputs.  Diagnostics are collected but never printed (that would drown
 * libFuzzer's output); diag_clear() drops them. */
#ifndef BULKHEAD_FUZZ_COMMON_H
#define BULKHEAD_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "diag.h"

/* A srcfile holding a NUL-terminated arena copy of data[0..size). */
static inline struct srcfile *fuzz_srcfile(struct arena *a, const char *path,
					   const uint8_t *data, size_t size)
{
	struct srcfile *f = ARENA_NEW(a, struct srcfile);
	f->path = path;
	f->data = arena_strndup(a, (const char *)data, size);
	f->len = size;
	return f;
}

#endif
