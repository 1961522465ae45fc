/* test_arena.c - compiler/arena.c.
 *
 * The check build links arena.c with -DARENA_MALLOC (one malloc per object),
 * while release builds use the bump allocator.  Both must behave the same,
 * so this file also compiles a private copy of arena.c without ARENA_MALLOC
 * (its public names prefixed bump_) and runs every test against both.
 * When arena.c gains a public function, add its rename below, or the unit
 * test binary will not link (duplicate symbol). */
#include "helpers.h"

#include <stdalign.h>
#include <stdint.h>

#pragma push_macro("ARENA_MALLOC")
#undef ARENA_MALLOC
#define xmalloc bump_xmalloc
#define xrealloc bump_xrealloc
#define xcalloc bump_xcalloc
#define xstrdup bump_xstrdup
#define xstrndup bump_xstrndup
#define fatal_oom bump_fatal_oom
#define arena_init bump_arena_init
#define arena_free bump_arena_free
#define arena_alloc bump_arena_alloc
#define arena_zalloc bump_arena_zalloc
#define arena_strndup bump_arena_strndup
#define arena_strdup bump_arena_strdup
#define arena_printf bump_arena_printf
#define arena_concat bump_arena_concat
#define pages_map bump_pages_map
#define pages_unmap bump_pages_unmap
#include "arena.c"
#undef xmalloc
#undef xrealloc
#undef xcalloc
#undef xstrdup
#undef xstrndup
#undef fatal_oom
#undef arena_init
#undef arena_free
#undef arena_alloc
#undef arena_zalloc
#undef arena_strndup
#undef arena_strdup
#undef arena_printf
#undef arena_concat
#undef pages_map
#undef pages_unmap
#pragma pop_macro("ARENA_MALLOC")

struct arena_impl {
	const char *name;
	void (*init)(struct arena *);
	void (*release)(struct arena *);
	void *(*alloc)(struct arena *, size_t);
	void *(*zalloc)(struct arena *, size_t);
	char *(*dupn)(struct arena *, const char *, size_t);
	char *(*dup)(struct arena *, const char *);
	char *(*fmt)(struct arena *, const char *, ...);
	char *(*concat)(struct arena *, ...);
};

static const struct arena_impl arena_impls[] = {
	{ "linked", arena_init, arena_free, arena_alloc, arena_zalloc,
	  arena_strndup, arena_strdup, arena_printf, arena_concat },
	{ "bump", bump_arena_init, bump_arena_free, bump_arena_alloc, bump_arena_zalloc,
	  bump_arena_strndup, bump_arena_strdup, bump_arena_printf, bump_arena_concat },
};

#define FOR_EACH_IMPL(im) \
	for (const struct arena_impl *im = arena_impls; \
	     im < arena_impls + sizeof(arena_impls) / sizeof(*arena_impls); im++)

static int aligned(const void *p)
{
	return (uintptr_t)p % ARENA_ALIGN == 0;
}

Test(arena, alloc_is_aligned_for_any_type)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		for (size_t size = 0; size <= 200; size++) {
			void *p = im->alloc(&a, size);
			cr_assert_not_null(p, "%s: alloc(%zu)", im->name, size);
			cr_assert(aligned(p), "%s: alloc(%zu) = %p is not aligned to %d",
				  im->name, size, p, ARENA_ALIGN);
		}
		/* Odd sizes interleaved with big ones keep the alignment. */
		for (size_t i = 0; i < 50; i++) {
			void *p = im->alloc(&a, i % 2 ? 3 : 40000);
			cr_assert(aligned(p), "%s: interleaved alloc %zu misaligned", im->name, i);
			/* UBSan checks the alignment of each store too. */
			double *d = im->alloc(&a, sizeof(double));
			*d = (double)i;
			int64_t *n = im->alloc(&a, sizeof(int64_t));
			*n = (int64_t)i;
			void **ptr = im->alloc(&a, sizeof(void *));
			*ptr = d;
			cr_assert(aligned(d) && aligned(n) && aligned(ptr));
		}
		im->release(&a);
	}
	expect_no_leaks();
}

Test(arena, allocations_do_not_overlap)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		enum { N = 5000 };
		unsigned char *ptrs[N];
		size_t sizes[N];
		uint64_t seed = 42;
		char text[300];
		/* Enough small objects to fill several 64 KiB chunks; every
		 * third one a string, which shares the chunk unaligned. */
		for (size_t i = 0; i < N; i++) {
			sizes[i] = test_rand(&seed) % 300;
			if (i % 3 == 0) {
				memset(text, (int)(i & 0xff) | 1, sizes[i]);
				ptrs[i] = (unsigned char *)im->dupn(&a, text, sizes[i]);
				continue;
			}
			ptrs[i] = im->alloc(&a, sizes[i]);
			cr_assert(aligned(ptrs[i]), "%s: object %zu after a string is misaligned", im->name, i);
			memset(ptrs[i], (int)(i & 0xff), sizes[i]);
		}
		for (size_t i = 0; i < N; i++) {
			unsigned char fill = (unsigned char)((i & 0xff) | (i % 3 == 0));
			for (size_t k = 0; k < sizes[i]; k++)
				cr_assert_eq(ptrs[i][k], fill, "%s: object %zu byte %zu was overwritten", im->name, i, k);
			if (i % 3 == 0)
				cr_assert_eq(ptrs[i][sizes[i]], 0, "%s: string %zu lost its NUL", im->name, i);
		}
		im->release(&a);
	}
	expect_no_leaks();
}

Test(arena, zero_size_allocations_are_distinct)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		char *p = im->alloc(&a, 0);
		char *q = im->alloc(&a, 0);
		cr_assert_not_null(p);
		cr_assert_not_null(q);
		cr_assert_neq(p, q, "%s: two zero-size allocations share an address", im->name);
		im->release(&a);
	}
	expect_no_leaks();
}

Test(arena, zalloc_zeroes_recycled_memory)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		/* Dirty some heap memory and give it back, so fresh allocations
		 * are likely to reuse dirty bytes (ASan also fills new blocks). */
		for (int i = 0; i < 8; i++) {
			void *junk = malloc(70000);
			memset(junk, 0xa5, 70000);
			free(junk);
		}
		const size_t sizes[] = { 1, 7, 33, 1000, 20000, 100000 };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
			unsigned char *p = im->zalloc(&a, sizes[i]);
			for (size_t k = 0; k < sizes[i]; k++)
				cr_assert_eq(p[k], 0, "%s: zalloc(%zu) byte %zu is %#x",
					     im->name, sizes[i], k, p[k]);
			memset(p, 0xff, sizes[i]);
		}
		im->release(&a);
	}
	expect_no_leaks();
}

Test(arena, strndup_copies_exactly_len_bytes)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		const char *src = "hello, world";
		char *s = im->dupn(&a, src, 5);
		cr_assert_str_eq(s, "hello", "%s", im->name);
		cr_assert_neq(s, src);
		char *e = im->dupn(&a, src, 0);
		cr_assert_str_eq(e, "");
		/* The source need not be NUL-terminated, and may hold NULs. */
		const char raw[4] = { 'a', '\0', 'b', 'c' };
		char *r = im->dupn(&a, raw, 4);
		cr_assert_eq(memcmp(r, raw, 4), 0);
		cr_assert_eq(r[4], '\0');
		char *d = im->dup(&a, src);
		cr_assert_str_eq(d, src);
		cr_assert_neq(d, src);
		d[0] = 'H';
		cr_assert_str_eq(src, "hello, world", "strdup must copy");
		im->release(&a);
	}
	expect_no_leaks();
}

Test(arena, strdup_of_a_big_string)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		size_t n = 300000;
		char *big = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			big[i] = (char)('a' + i % 26);
		big[n] = '\0';
		char *s = im->dup(&a, big);
		cr_assert_eq(strlen(s), n, "%s", im->name);
		cr_assert_eq(memcmp(s, big, n + 1), 0);
		free(big);
		im->release(&a);
	}
	expect_no_leaks();
}

Test(arena, printf_formats_into_the_arena)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		cr_assert_str_eq(im->fmt(&a, "%s:%d:%zu", "f.yaml", -3, (size_t)42),
				 "f.yaml:-3:42", "%s", im->name);
		cr_assert_str_eq(im->fmt(&a, "%s", ""), "");
		cr_assert_str_eq(im->fmt(&a, "%5.1f|%-3s|", 2.25, "x"), "  2.2|x  |");
		/* Output longer than a chunk, and than vsnprintf's first guess. */
		char *s = im->fmt(&a, "<%0*d>", 100000, 7);
		cr_assert_eq(strlen(s), 100002);
		cr_assert_eq(s[0], '<');
		cr_assert_eq(s[100000], '7');
		cr_assert_eq(s[100001], '>');
		cr_assert_eq(strspn(s + 1, "0"), 99999);
		cr_assert(aligned(im->alloc(&a, 1)), "%s: an object after text is aligned", im->name);
		/* Around the stack buffer's 256 bytes: 255, 256 and 257 long. */
		for (int w = 255; w <= 257; w++) {
			s = im->fmt(&a, "%0*d", w, 1);
			cr_assert_eq(strlen(s), (size_t)w, "%d wide", w);
			cr_assert_eq(s[w - 1], '1');
			cr_assert_eq(strspn(s, "0"), (size_t)w - 1);
		}
		im->release(&a);
	}
	expect_no_leaks();
}

Test(arena, concat_joins_up_to_the_null)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		cr_assert_str_eq(im->concat(&a, "dependency.", "vpc", ".outputs.", "id", (char *)NULL),
				 "dependency.vpc.outputs.id", "%s", im->name);
		cr_assert_str_eq(im->concat(&a, (char *)NULL), "", "%s: nothing to join", im->name);
		cr_assert_str_eq(im->concat(&a, "", "a", "", (char *)NULL), "a", "%s", im->name);
		char *first = im->concat(&a, "ab", (char *)NULL), *second = im->concat(&a, "cd", (char *)NULL);
		cr_assert_str_eq(first, "ab", "%s: the next string does not run into it", im->name);
		cr_assert_str_eq(second, "cd");
		/* Longer than a chunk. */
		char *big = malloc(100001);
		memset(big, 'x', 100000);
		big[100000] = '\0';
		char *s = im->concat(&a, "<", big, ">", (char *)NULL);
		cr_assert_eq(strlen(s), 100002, "%s", im->name);
		cr_assert_eq(s[0], '<');
		cr_assert_eq(s[100001], '>');
		cr_assert_eq(strspn(s + 1, "x"), 100000);
		cr_assert(aligned(im->alloc(&a, 1)), "%s: an object after text is aligned", im->name);
		free(big);
		im->release(&a);
	}
	expect_no_leaks();
}

Test(arena, big_allocations_keep_small_ones_intact)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		/* A big allocation first, before any chunk exists. */
		unsigned char *first = im->alloc(&a, 1 << 20);
		memset(first, 0x11, 1 << 20);
		unsigned char *small[200];
		unsigned char *big[20];
		for (size_t i = 0; i < 200; i++) {
			small[i] = im->alloc(&a, 48);
			memset(small[i], (int)i, 48);
			if (i % 10 == 0) {
				size_t size = 16385 + i * 1000;	/* just over a quarter chunk, and more */
				big[i / 10] = im->alloc(&a, size);
				cr_assert(aligned(big[i / 10]));
				memset(big[i / 10], 0xee, size);
			}
		}
		for (size_t i = 0; i < 200; i++)
			for (size_t k = 0; k < 48; k++)
				cr_assert_eq(small[i][k], (unsigned char)i,
					     "%s: small object %zu clobbered by a big one", im->name, i);
		for (size_t i = 0; i < 20; i++) {
			size_t size = 16385 + i * 10 * 1000;
			for (size_t k = 0; k < size; k += 97)
				cr_assert_eq(big[i][k], 0xee);
		}
		for (size_t k = 0; k < (1 << 20); k += 4099)
			cr_assert_eq(first[k], 0x11);
		/* A 64 MiB object. */
		unsigned char *huge = im->alloc(&a, (size_t)64 << 20);
		huge[0] = 1;
		huge[((size_t)64 << 20) - 1] = 2;
		cr_assert_eq(huge[0] + huge[((size_t)64 << 20) - 1], 3);
		im->release(&a);
	}
	expect_no_leaks();
}

Test(arena, free_resets_and_the_arena_is_reusable)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		cr_assert_null(a.chunks);
		im->release(&a);	/* freeing an empty arena is fine */
		for (int round = 0; round < 3; round++) {
			for (int i = 0; i < 1000; i++)
				im->dup(&a, "some text that fills chunks");
			im->alloc(&a, 100000);
			cr_assert_not_null(a.chunks);
			im->release(&a);
			cr_assert_null(a.chunks, "%s: free left chunks behind", im->name);
			cr_assert_eq(a.used, 0);
			cr_assert_eq(a.cap, 0);
		}
		im->release(&a);	/* and freeing twice too */
	}
	expect_no_leaks();
}

Test(arena, typed_helpers)
{
	struct pt {
		int x;
		double y;
		void *p;
	};
	struct arena a;
	arena_init(&a);
	struct pt *p = ARENA_NEW(&a, struct pt);
	cr_assert_eq(p->x, 0);
	cr_assert_eq(p->y, 0.0);
	cr_assert_null(p->p);
	struct pt *v = ARENA_ARRAY(&a, struct pt, 1000);
	for (size_t i = 0; i < 1000; i++)
		cr_assert(v[i].x == 0 && v[i].p == NULL);
	v[999].x = 5;
	cr_assert_eq(v[999].x, 5);
	arena_free(&a);
}

Test(arena, x_allocators)
{
	char *p = xmalloc(0);
	cr_assert_not_null(p);
	free(p);
	int *c = xcalloc(100, sizeof(int));
	for (int i = 0; i < 100; i++)
		cr_assert_eq(c[i], 0);
	c[99] = 7;
	c = xrealloc(c, 100000 * sizeof(int));
	cr_assert_eq(c[99], 7, "xrealloc must keep the contents");
	free(c);
	void *z = xcalloc(0, 0);
	cr_assert_not_null(z);
	free(z);
	char *s = xstrdup("abc");
	cr_assert_str_eq(s, "abc");
	free(s);
}

/* The bump arena's chunks double up to 32 MiB and objects above 512 KiB
 * get their own mapping; zalloc relies on mapped memory starting zero,
 * so every byte handed out must be zero once and belong to one object
 * only, through every chunk size (48 MiB in all: two chunks of the
 * largest size). */
Test(arena, zalloc_is_zero_and_disjoint_across_chunk_growth)
{
	FOR_EACH_IMPL(im) {
		struct arena a;
		im->init(&a);
		enum { N = 2400 };
		unsigned char *ptrs[N];
		size_t sizes[N];
		uint64_t seed = 7;
		for (size_t i = 0; i < N; i++) {
			sizes[i] = i % 50 == 49 ? 600000 + i : test_rand(&seed) % 40000;
			ptrs[i] = im->zalloc(&a, sizes[i]);
			cr_assert(aligned(ptrs[i]));
			size_t k = 0;
			while (k < sizes[i] && !ptrs[i][k])
				k++;
			cr_assert_eq(k, sizes[i], "%s: zalloc(%zu) #%zu byte %zu is %#x", im->name, sizes[i], i, k,
				     k < sizes[i] ? ptrs[i][k] : 0);
			memset(ptrs[i], (int)(i & 0xff), sizes[i]);
		}
		for (size_t i = 0; i < N; i++)
			for (size_t k = 0; k < sizes[i]; k += 13)
				cr_assert_eq(ptrs[i][k], (unsigned char)(i & 0xff),
					     "%s: object %zu byte %zu was overwritten", im->name, i, k);
		im->release(&a);
	}
	expect_no_leaks();
}
