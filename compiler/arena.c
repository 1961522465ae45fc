/* arena.c - bump allocation in chunks.  With -DARENA_MALLOC every object is
 * its own malloc block so AddressSanitizer sees each one. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
	struct arena_chunk *next;
	uint64_t data[];
};

/* Rounding to max_align_t's 32 bytes instead of ARENA_ALIGN cost a
 * fifth of the memory of a large compilation: most objects are short
 * strings and 56-byte nodes. */
enum { CHUNK_SIZE = 64 * 1024, ALIGN = ARENA_ALIGN };

void fatal_oom(void)
{
	fputs("bulkhead: fatal: out of memory\n", stderr);
	exit(2);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		fatal_oom();
	return p;
}

void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		fatal_oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		fatal_oom();
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void arena_init(struct arena *a)
{
	a->chunks = NULL;
	a->used = 0;
	a->cap = 0;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->chunks, *next;
	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	arena_init(a);
}

#ifdef ARENA_MALLOC
void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk *c = xmalloc(sizeof(*c) + (size ? size : 1));
	c->next = a->chunks;
	a->chunks = c;
	return c->data;
}
#else
static void *alloc_big(struct arena *a, size_t size)
{
	/* Large objects get a private chunk linked behind the current one so
	 * the bump pointer of the current chunk stays usable. */
	struct arena_chunk *c = xmalloc(sizeof(*c) + size);
	if (a->chunks) {
		c->next = a->chunks->next;
		a->chunks->next = c;
	} else {
		c->next = NULL;
		a->chunks = c;
		a->used = a->cap = size;
	}
	return c->data;
}

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (size == 0)
		size = ALIGN;
	if (size > CHUNK_SIZE / 4)
		return alloc_big(a, size);
	if (!a->chunks || a->used + size > a->cap) {
		struct arena_chunk *c = xmalloc(sizeof(*c) + CHUNK_SIZE);
		c->next = a->chunks;
		a->chunks = c;
		a->used = 0;
		a->cap = CHUNK_SIZE;
	}
	void *p = (char *)a->chunks->data + a->used;
	a->used += size;
	return p;
}
#endif

void *arena_zalloc(struct arena *a, size_t size)
{
	return memset(arena_alloc(a, size), 0, size);
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

/* Most results are short: format once into the stack, and a second time
 * only when that was too small (vsnprintf is most of the cost). */
char *arena_printf(struct arena *a, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(small))
		return arena_strndup(a, small, (size_t)n);
	char *p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
