/* arena.h - one bump allocator per compilation, freed once. */
#ifndef BULKHEAD_ARENA_H
#define BULKHEAD_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *chunks;
	size_t used;		/* objects fill the newest chunk up to here */
	size_t cap;		/* text fills it down to here */
};

void arena_init(struct arena *a);
void arena_free(struct arena *a);
/* Every object is aligned to ARENA_ALIGN bytes: enough for pointers,
 * int64_t and double, the widest types bulkhead stores; the strings of
 * arena_strndup, arena_strdup, arena_printf and arena_concat are not
 * aligned.  Never returns NULL: allocation failure aborts with a message. */
enum { ARENA_ALIGN = 8 };
void *arena_alloc(struct arena *a, size_t size);
void *arena_zalloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The strings given, up to a NULL, joined: arena_printf without a
 * format to read, for the paths and names made per unit or per read
 * (vsnprintf cost a thousand instructions a call). */
char *arena_concat(struct arena *a, ...) __attribute__((sentinel));

#define ARENA_NEW(a, type) ((type *)arena_zalloc((a), sizeof(type)))
#define ARENA_ARRAY(a, type, n) ((type *)arena_zalloc((a), sizeof(type) * (n)))

/* Out-of-memory is fatal everywhere: the process cannot report anything
 * sensible without memory, and nothing has been written yet. */
void fatal_oom(void) __attribute__((noreturn));
void *xmalloc(size_t size);
void *xrealloc(void *p, size_t size);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Fresh zeroed pages mapped for bytes (a multiple of 4096), asking for
 * transparent huge pages from ARENA_HUGE_PAGE up: one page fault where
 * there were 512, on a virtual machine the dearest part of a large run.
 * Arena chunks and large hash tables use them; free with pages_unmap. */
enum { ARENA_HUGE_PAGE = 2 * 1024 * 1024 };
void *pages_map(size_t bytes);
void pages_unmap(void *p, size_t bytes);

#endif
