/* bytescan.h - tests on sixteen bytes at once, for the scans every byte
 * of every input and output goes through: the YAML loader's check that
 * a file is plain ASCII and JSON's search for bytes it must escape.
 *
 * GCC and Clang vector types: SSE2 on x86-64, NEON on arm64, and plain
 * code elsewhere.  Each test gives a vector whose bytes are all ones
 * where the byte matches and zero elsewhere. */
#ifndef BULKHEAD_BYTESCAN_H
#define BULKHEAD_BYTESCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef unsigned char bytes16 __attribute__((vector_size(16)));
typedef signed char mask16 __attribute__((vector_size(16)));

static inline bytes16 bytes16_load(const void *p)
{
	bytes16 v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* The n (< 16) bytes at p, the rest of the vector filled with pad: a
 * scan's tail goes through the same test as its blocks. */
static inline bytes16 bytes16_load_tail(const void *p, size_t n, unsigned char pad)
{
	unsigned char block[16];
	memset(block, pad, sizeof(block));
	memcpy(block, p, n);
	return bytes16_load(block);
}

static inline bool mask16_any(mask16 m)
{
	uint64_t w[2];
	memcpy(w, &m, sizeof(w));
	return (w[0] | w[1]) != 0;
}

/* Bytes outside printable ASCII, tab, LF and CR. */
static inline mask16 bytes16_not_plain_ascii(bytes16 v)
{
	return ((v < 0x20) & (v != '\t') & (v != '\n') & (v != '\r')) | (v >= 0x7f);
}

/* Bytes a JSON string spells with an escape: controls, '"', '\\' and DEL
 * (bytes from 0x80 never: UTF-8 goes through as it is). */
static inline mask16 bytes16_json_escape(bytes16 v)
{
	return (v < 0x20) | (v == '"') | (v == '\\') | (v == 0x7f);
}

#endif
