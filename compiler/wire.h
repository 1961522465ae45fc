/* wire.h - the little-endian binary form of bulkhead's own cache files
 * (parse_cache.c, stat_index.c): writers append to a buf, readers take
 * from a bounds-checked reader, where a short or malformed field sets
 * bad and reads as zero, so a damaged file is a miss, never a crash. */
#ifndef BULKHEAD_WIRE_H
#define BULKHEAD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The low width bytes of v, least significant first. */
void wire_pack(unsigned char *out, uint64_t v, size_t width);
void wire_put(struct buf *b, uint64_t v, size_t width);
/* LEB128: seven bits a byte, the high bit set on all but the last. */
void wire_put_varint(struct buf *b, uint64_t v);
enum { WIRE_VARINT_MAX = 10 };	/* bytes of the longest, a uint64_t's */

/* Writes v's LEB128 at out (room for WIRE_VARINT_MAX); returns its end. */
static inline unsigned char *wire_pack_varint(unsigned char *out, uint64_t v)
{
	for (; v >= 0x80; v >>= 7)
		*out++ = (unsigned char)(v | 0x80);
	*out++ = (unsigned char)v;
	return out;
}

/* The bytes of v's LEB128. */
static inline size_t wire_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >>= 7)
		n++;
	return n;
}

struct wire_reader {
	const unsigned char *p, *end;
	bool bad;
};

uint64_t wire_get(struct wire_reader *r, size_t width);
uint64_t wire_get_varint(struct wire_reader *r);
/* len bytes, then the NUL the writer put after them; NULL when absent. */
const char *wire_get_text(struct wire_reader *r, size_t len);
/* len raw bytes; NULL when there are fewer. */
const unsigned char *wire_get_bytes(struct wire_reader *r, size_t len);

#endif
