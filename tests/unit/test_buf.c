/* test_buf.c - compiler/buf.c. */
#include "helpers.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"

/* Every buffer with data is NUL-terminated right after len. */
static void buf_check_invariants(const struct buf *b)
{
	cr_assert_leq(b->len + (b->data ? 1 : 0), b->cap);
	if (b->data)
		cr_assert_eq(b->data[b->len], '\0', "buffer not terminated at len %zu", b->len);
	else
		cr_assert(b->len == 0 && b->cap == 0);
	cr_assert_not_null(buf_cstr(b));
}

Test(buf, init_is_empty_and_cstr_is_never_null)
{
	struct buf a = BUF_INIT, b;
	buf_init(&b);
	cr_assert_null(a.data);
	cr_assert_eq(a.len, 0);
	cr_assert_str_eq(buf_cstr(&a), "");
	cr_assert_str_eq(buf_cstr(&b), "");
	buf_check_invariants(&a);
	buf_free(&a);		/* freeing an unused buffer is fine */
	buf_free(&b);
}

Test(buf, add_puts_putc_append)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "key");
	buf_putc(&b, ':');
	buf_add(&b, " value and more", 6);
	cr_assert_str_eq(buf_cstr(&b), "key: value");
	cr_assert_eq(b.len, 10);
	buf_check_invariants(&b);
	buf_puts(&b, "");
	buf_add(&b, NULL, 0);
	cr_assert_eq(b.len, 10);
	buf_check_invariants(&b);
	buf_free(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
}

Test(buf, add_zero_bytes_on_empty_buffer_gives_empty_string)
{
	struct buf b = BUF_INIT;
	buf_add(&b, "", 0);
	cr_assert_not_null(b.data, "buf_add(.., 0) should allocate the terminator");
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(b.data, "");
	buf_free(&b);
}

Test(buf, binary_data_with_nuls)
{
	struct buf b = BUF_INIT;
	const char raw[] = { 'a', '\0', 'b', '\0' };
	buf_add(&b, raw, sizeof(raw));
	buf_putc(&b, '\0');
	cr_assert_eq(b.len, 5);
	cr_assert_eq(memcmp(b.data, raw, 4), 0);
	cr_assert_eq(b.data[4], '\0');
	buf_check_invariants(&b);
	buf_free(&b);
}

Test(buf, grows_across_many_appends)
{
	struct buf b = BUF_INIT;
	size_t n = 100000;
	for (size_t i = 0; i < n; i++) {
		buf_putc(&b, (char)('a' + i % 26));
		if (i % 1000 == 0)
			buf_check_invariants(&b);
	}
	cr_assert_eq(b.len, n);
	cr_assert_eq(strlen(b.data), n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(b.data[i], (char)('a' + i % 26), "byte %zu", i);
	buf_check_invariants(&b);
	buf_free(&b);
}

Test(buf, grow_reserves_room_without_moving_later)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "abc");
	buf_grow(&b, 1000);
	cr_assert_geq(b.cap, b.len + 1000 + 1);
	cr_assert_eq(b.len, 3, "grow must not change the length");
	cr_assert_str_eq(b.data, "abc");
	char *before = b.data;
	for (int i = 0; i < 1000; i++)
		buf_putc(&b, 'x');
	cr_assert_eq(b.data, before, "appending within reserved room reallocated");
	cr_assert_eq(b.len, 1003);
	buf_check_invariants(&b);
	buf_grow(&b, 0);
	cr_assert_eq(b.data, before);
	buf_free(&b);
}

Test(buf, printf_appends_formatted_text)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s:%u:%u", "a.yaml", 3u, 14u);
	buf_printf(&b, " %s", "error");
	cr_assert_str_eq(buf_cstr(&b), "a.yaml:3:14 error");
	cr_assert_eq(b.len, strlen("a.yaml:3:14 error"));
	/* Longer than the initial 64 bytes, and than the remaining room. */
	buf_printf(&b, "[%0*d]", 5000, 1);
	cr_assert_eq(b.len, 17 + 5002);
	cr_assert_eq(b.data[17], '[');
	cr_assert_eq(b.data[17 + 5000], '1');
	cr_assert_eq(b.data[b.len - 1], ']');
	buf_check_invariants(&b);
	buf_free(&b);
}

Test(buf, printf_of_nothing_keeps_buffer_valid)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s", "");
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(buf_cstr(&b), "");
	buf_check_invariants(&b);
	buf_puts(&b, "x");
	buf_printf(&b, "%s", "");
	cr_assert_str_eq(buf_cstr(&b), "x");
	buf_free(&b);
}

Test(buf, reset_empties_but_keeps_capacity)
{
	struct buf b = BUF_INIT;
	buf_reset(&b);		/* on an unallocated buffer */
	cr_assert_str_eq(buf_cstr(&b), "");
	buf_puts(&b, "some longer text");
	size_t cap = b.cap;
	char *data = b.data;
	buf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(buf_cstr(&b), "");
	cr_assert_eq(b.cap, cap);
	cr_assert_eq(b.data, data);
	buf_puts(&b, "new");
	cr_assert_str_eq(buf_cstr(&b), "new");
	buf_free(&b);
}

Test(buf, detach_hands_over_the_string)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "hello");
	size_t len = 0;
	char *s = buf_detach(&b, &len);
	cr_assert_str_eq(s, "hello");
	cr_assert_eq(len, 5);
	cr_assert_null(b.data, "the buffer must be left empty");
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	buf_puts(&b, "again");	/* still usable */
	cr_assert_str_eq(buf_cstr(&b), "again");
	cr_assert_str_eq(s, "hello", "detached string is independent");
	free(s);
	buf_free(&b);
}

Test(buf, detach_of_empty_buffer_is_an_owned_empty_string)
{
	struct buf b = BUF_INIT;
	size_t len = 99;
	char *s = buf_detach(&b, &len);
	cr_assert_not_null(s);
	cr_assert_str_eq(s, "");
	cr_assert_eq(len, 0);
	free(s);		/* must be malloc'd */
	s = buf_detach(&b, NULL);
	cr_assert_str_eq(s, "");
	free(s);
}

/* The one read loop every whole-file read uses: appends, and stops once
 * the buffer holds more than max bytes. */
Test(buf, read_fd_appends_and_stops_over_max)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(write(fds[1], "hello world", 11), 11);
	close(fds[1]);
	struct buf b = BUF_INIT;
	buf_puts(&b, ">");
	cr_assert_eq(buf_read_fd(&b, fds[0], 100), 0);
	cr_expect_str_eq(buf_cstr(&b), ">hello world");
	close(fds[0]);

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(write(fds[1], "0123456789", 10), 10);
	close(fds[1]);
	buf_reset(&b);
	errno = 0;
	cr_expect_eq(buf_read_fd(&b, fds[0], 4), -1);
	cr_expect_eq(errno, EFBIG);
	close(fds[0]);
	buf_free(&b);
}

/* A file of n bytes 'a'..'z' repeated, open for reading, unlinked. */
static int temp_file(size_t n)
{
	char path[] = "/tmp/bulkhead-test-buf.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	for (size_t i = 0; i < n; i++) {
		char c = (char)('a' + i % 26);
		cr_assert_eq(write(fd, &c, 1), 1);
	}
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void expect_letters(const struct buf *b, size_t n)
{
	buf_check_invariants(b);
	cr_assert_eq(b->len, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(b->data[i], 'a' + i % 26, "byte %zu", i);
}

Test(buf, read_regular_takes_what_the_file_holds)
{
	struct buf b = BUF_INIT;
	size_t sizes[] = { 0, 1, 1700, 65536, 200000 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(*sizes); k++) {
		int fd = temp_file(sizes[k]);
		buf_reset(&b);
		cr_assert_eq(buf_read_regular(&b, fd, sizes[k], SIZE_MAX), 0);
		expect_letters(&b, sizes[k]);
		close(fd);
	}
	/* The size fstat gave is only a hint: a file that grew or shrank
	 * since is read to its end. */
	int fd = temp_file(100000);
	buf_reset(&b);
	cr_assert_eq(buf_read_regular(&b, fd, 10, SIZE_MAX), 0);
	expect_letters(&b, 100000);
	close(fd);
	fd = temp_file(50);
	buf_reset(&b);
	cr_assert_eq(buf_read_regular(&b, fd, 5000, SIZE_MAX), 0);
	expect_letters(&b, 50);
	close(fd);
	fd = temp_file(300);
	buf_reset(&b);
	errno = 0;
	cr_expect_eq(buf_read_regular(&b, fd, 10, 100), -1, "more than max");
	cr_expect_eq(errno, EFBIG);
	close(fd);
	buf_free(&b);
}

/* read_full takes every byte asked for through short reads (a pipe hands
 * them over as they come) and stops early only at end of file. */
Test(buf, read_full_reads_through_short_reads_to_end_of_file)
{
	char got[300];
	int fd = temp_file(200);
	cr_expect_eq(read_full(fd, got, 150), 150);
	cr_expect_eq(got[0], 'a');
	cr_expect_eq(got[149], (char)('a' + 149 % 26));
	cr_expect_eq(read_full(fd, got, 150), 50, "the rest, then end of file");
	cr_expect_eq(read_full(fd, got, 10), 0);
	close(fd);

	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		close(p[0]);
		for (int i = 0; i < 3; i++) {
			if (write(p[1], "abcd", 4) != 4)
				_exit(1);
			usleep(20000);
		}
		_exit(0);
	}
	close(p[1]);
	cr_expect_eq(read_full(p[0], got, 12), 12, "three short writes, one call");
	cr_expect_eq(memcmp(got, "abcdabcdabcd", 12), 0);
	cr_expect_eq(read_full(p[0], got, 4), 0, "the writer closed its end");
	close(p[0]);
	int status;
	cr_expect_eq(waitpid(child, &status, 0), child);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	cr_expect_eq(read_full(-1, got, 1), -1);
	cr_expect_eq(errno, EBADF);
}

/* write_gathered writes the pieces in order whatever their sizes: none,
 * empty ones, pieces that cross the blocks it gathers into, and ones
 * larger than a block (written as they are, after what the block held);
 * a write that fails is an error. */
Test(buf, write_gathered_writes_the_pieces_in_order)
{
	static char big[200000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	struct iovec v[] = { { "", 0 }, { "head,", 5 }, { big, 70000 }, { "", 0 }, { big + 70000, 3 },
			     { big + 70003, sizeof(big) - 70003 }, { ",tail", 5 } };
	size_t counts[] = { 0, 1, 2, sizeof(v) / sizeof(*v) };
	for (size_t k = 0; k < sizeof(counts) / sizeof(*counts); k++) {
		FILE *f = tmpfile();
		cr_assert_not_null(f);
		cr_assert_eq(write_gathered(fileno(f), v, counts[k]), 0);
		struct buf want = BUF_INIT, got = BUF_INIT;
		for (size_t i = 0; i < counts[k]; i++)
			buf_add(&want, v[i].iov_base, v[i].iov_len);
		cr_assert_eq(lseek(fileno(f), 0, SEEK_SET), 0);
		cr_assert_eq(buf_read_fd(&got, fileno(f), SIZE_MAX), 0);
		cr_expect_eq(got.len, want.len, "%zu pieces", counts[k]);
		cr_expect(got.len == want.len && !memcmp(buf_cstr(&got), buf_cstr(&want), got.len), "%zu pieces", counts[k]);
		buf_free(&want);
		buf_free(&got);
		fclose(f);
	}
	errno = 0;
	cr_expect_eq(write_gathered(-1, v, 2), -1);
	cr_expect_eq(errno, EBADF);
}
