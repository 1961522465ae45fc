/* arena.c - bump allocation in chunks.  With -DARENA_MALLOC every object is
 * its own malloc block so AddressSanitizer sees each one. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;		/* bytes allocated, this header included */
	uint64_t data[];
};

/* Rounding to max_align_t's 32 bytes instead of ARENA_ALIGN cost a
 * fifth of the memory of a large compilation: most objects are short
 * strings and 48-byte nodes.  Chunks double from CHUNK_MIN to CHUNK_MAX,
 * so a small arena stays small and a large one takes few mappings;
 * objects above BIG get a chunk of their own. */
enum {
	CHUNK_MIN = 64 * 1024,
	CHUNK_MAX = 32 * 1024 * 1024,
	BIG = 512 * 1024,
	ALIGN = ARENA_ALIGN,
};

void fatal_oom(void)
{
	fputs("bulkhead: fatal: out of memory\n", stderr);
	exit(2);
}

void *pages_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal_oom();
	if (bytes >= ARENA_HUGE_PAGE)
		(void)madvise(p, bytes, MADV_HUGEPAGE);	/* a hint: no THP is fine */
	return p;
}

void pages_unmap(void *p, size_t bytes)
{
	munmap(p, bytes);
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

#ifdef ARENA_MALLOC
void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->chunks, *next;
	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	arena_init(a);
}

void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk *c = xmalloc(sizeof(*c) + (size ? size : 1));
	c->next = a->chunks;
	a->chunks = c;
	return c->data;
}

void *arena_zalloc(struct arena *a, size_t size)
{
	return memset(arena_alloc(a, size), 0, size);
}

static char *alloc_text(struct arena *a, size_t size)
{
	return arena_alloc(a, size);
}
#else
/* Chunks are mapped, not malloc'ed: fresh pages are zero, so
 * arena_zalloc needs no memset (clearing memory the kernel had just
 * cleared was a tenth of a large build), and chunks of 2 MiB and more
 * get huge pages (faults were a fifth of a large build on a VM). */
static struct arena_chunk *map_chunk(size_t size)
{
	struct arena_chunk *c = pages_map(size);
	c->size = size;
	return c;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->chunks, *next;
	for (; c; c = next) {
		next = c->next;
		pages_unmap(c, c->size);
	}
	arena_init(a);
}

static size_t page_round(size_t n)
{
	const size_t page = 4096;
	if (n > SIZE_MAX - page)
		fatal_oom();
	return (n + page - 1) & ~(page - 1);
}

/* Large objects get a chunk of their own linked behind the current one,
 * so the bump pointer of the current chunk stays usable. */
static void *alloc_big(struct arena *a, size_t size)
{
	struct arena_chunk *c = map_chunk(page_round(sizeof(*c) + size));
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

/* Twice the current chunk, within [CHUNK_MIN, CHUNK_MAX], and room for
 * size (at most BIG). */
static void new_chunk(struct arena *a, size_t size)
{
	size_t bytes = a->chunks ? 2 * a->chunks->size : CHUNK_MIN;
	if (bytes < CHUNK_MIN)
		bytes = CHUNK_MIN;
	if (a->chunks && bytes < ARENA_HUGE_PAGE)
		bytes = ARENA_HUGE_PAGE;
	if (bytes > CHUNK_MAX)
		bytes = CHUNK_MAX;
	while (bytes - sizeof(struct arena_chunk) < size)
		bytes *= 2;
	struct arena_chunk *c = map_chunk(bytes);
	c->next = a->chunks;
	a->chunks = c;
	a->used = 0;
	a->cap = bytes - sizeof(*c);
}

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (size == 0)
		size = ALIGN;
	if (!a->chunks || a->used + size > a->cap) {
		if (size > BIG)
			return alloc_big(a, size);
		new_chunk(a, size);
	}
	void *p = (char *)a->chunks->data + a->used;
	a->used += size;
	return p;
}

/* Bump memory is never handed out twice, and mapped pages start zero. */
void *arena_zalloc(struct arena *a, size_t size)
{
	return arena_alloc(a, size);
}

/* Text needs no alignment: it fills the chunk from the top down while
 * objects fill it from the bottom up, so the 3.5 M short strings of a
 * large compilation round to nothing. */
static char *alloc_text(struct arena *a, size_t size)
{
	if (!a->chunks || a->cap - a->used < size) {
		if (size > BIG)
			return alloc_big(a, size);
		new_chunk(a, size);
	}
	a->cap -= size;
	return (char *)a->chunks->data + a->cap;
}
#endif

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = alloc_text(a, len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_concat(struct arena *a, ...)
{
	va_list ap;
	size_t len = 0;
	va_start(ap, a);
	for (const char *s; (s = va_arg(ap, const char *));) {
		size_t n = strlen(s);
		if (n > SIZE_MAX - 1 - len)
			fatal_oom();
		len += n;
	}
	va_end(ap);
	char *out = alloc_text(a, len + 1), *p = out;
	va_start(ap, a);
	for (const char *s; (s = va_arg(ap, const char *));) {
		size_t n = strlen(s);
		memcpy(p, s, n);
		p += n;
	}
	va_end(ap);
	*p = '\0';
	return out;
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
	char *p = alloc_text(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
