/* wire.c - see wire.h. */
#include "wire.h"

void wire_pack(unsigned char *out, uint64_t v, size_t width)
{
	for (size_t i = 0; i < width; i++)
		out[i] = (unsigned char)(v >> (8 * i));
}

void wire_put(struct buf *b, uint64_t v, size_t width)
{
	unsigned char le[8];
	wire_pack(le, v, width);
	buf_add(b, le, width);
}

void wire_put_varint(struct buf *b, uint64_t v)
{
	unsigned char out[WIRE_VARINT_MAX];
	buf_add(b, out, (size_t)(wire_pack_varint(out, v) - out));
}

uint64_t wire_get(struct wire_reader *r, size_t width)
{
	uint64_t v = 0;
	if ((size_t)(r->end - r->p) < width) {
		r->bad = true;
		return 0;
	}
	for (size_t i = 0; i < width; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += width;
	return v;
}

uint64_t wire_get_varint(struct wire_reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p == r->end)
			break;
		unsigned char c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

const char *wire_get_text(struct wire_reader *r, size_t len)
{
	if ((size_t)(r->end - r->p) <= len || r->p[len] != '\0') {
		r->bad = true;
		return NULL;
	}
	const char *s = (const char *)r->p;
	r->p += len + 1;
	return s;
}

const unsigned char *wire_get_bytes(struct wire_reader *r, size_t len)
{
	if ((size_t)(r->end - r->p) < len) {
		r->bad = true;
		return NULL;
	}
	const unsigned char *s = r->p;
	r->p += len;
	return s;
}
