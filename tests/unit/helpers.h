/* helpers.h - shared helpers for the Criterion unit tests.
 *
 * Every test file in tests/unit is linked into one binary, so everything here is
 * static inline: each test file gets its own private copy. */
#ifndef BULKHEAD_TEST_HELPERS_H
#define BULKHEAD_TEST_HELPERS_H

#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "yaml.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

/* LeakSanitizer's report at process exit does not fail a Criterion test, so
 * tests where a leak is the likely symptom of a bug ask for a check
 * themselves.  A no-op without AddressSanitizer. */
static inline void expect_no_leaks(void)
{
#ifdef __SANITIZE_ADDRESS__
	cr_expect_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked (see the report above)");
#endif
}

/* An in-memory source file; text must outlive the struct. */
static inline struct srcfile mem_file(const char *path, const char *text)
{
	return (struct srcfile){ path, text, strlen(text) };
}

/* The same for bytes that may hold NULs. */
static inline struct srcfile mem_file_n(const char *path, const char *data, size_t len)
{
	return (struct srcfile){ path, data, len };
}

/* Loads f with lim (NULL for the defaults).  Returns the root node, or NULL
 * when yaml_load failed; also checks that the return code and *out agree.
 * Nodes live in a and point at f, so both must outlive the result.  Also
 * checks that the loader freed its scratch memory, on success and failure. */
static inline struct node *load_yaml(struct arena *a, const struct srcfile *f,
				     const struct limits *lim)
{
	struct node *root = (struct node *)1;
	int rc = yaml_load(a, f, lim ? lim : &limits_default, &root);
	if (rc == 0)
		cr_assert_not_null(root, "yaml_load returned 0 but no root");
	else
		cr_assert_null(root, "yaml_load failed (%d) but set a root", rc);
	expect_no_leaks();
	return rc == 0 ? root : NULL;
}

/* Flushes the diagnostics sink into a malloc'd string (caller frees). */
static inline char *diag_capture(void)
{
	char *s = NULL;
	size_t n = 0;
	FILE *out = open_memstream(&s, &n);
	cr_assert_not_null(out, "open_memstream failed");
	diag_flush(out);
	cr_assert_eq(fclose(out), 0);
	return s;
}

/* Flushes the diagnostics sink; when rc is not 0, fails the test with
 * them, saying what failed; with silent, also when there were any. */
static inline void expect_step(int rc, const char *what, bool silent)
{
	char *out = diag_capture();
	if (rc != 0) {
		cr_expect_fail("%s failed:\n%s", what, out);
		free(out);
		cr_assert_fail();
	}
	if (silent)
		cr_expect_str_eq(out, "", "diagnostics:\n%s", out);
	free(out);
}

static inline void expect_done(int rc, const char *what)
{
	expect_step(rc, what, false);
}

static inline void expect_silent(int rc, const char *what)
{
	expect_step(rc, what, true);
}

/* Number of lines (newline-terminated) in s that contain needle. */
static inline size_t count_lines_with(const char *s, const char *needle)
{
	size_t n = 0, nlen = strlen(needle);
	while (*s) {
		size_t len = strcspn(s, "\n");
		for (size_t i = 0; i + nlen <= len; i++)
			if (!memcmp(s + i, needle, nlen)) {
				n++;
				break;
			}
		s += len + (s[len] == '\n');
	}
	return n;
}

/* The n-th (0-based) line of s, without its newline, as a malloc'd string
 * ("" past the end). */
static inline char *nth_line(const char *s, size_t n)
{
	size_t pos = 0;
	while (n-- && s[pos]) {
		pos += strcspn(s + pos, "\n");
		if (s[pos])
			pos++;
	}
	size_t len = strcspn(s + pos, "\n");
	char *line = malloc(len + 1);
	cr_assert_not_null(line);
	memcpy(line, s + pos, len);
	line[len] = '\0';
	return line;
}

/* A deterministic xorshift64* generator for randomized tests. */
static inline uint64_t test_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif
