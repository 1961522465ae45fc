/* buf.c - growable byte string. */
#include "buf.h"
#include "arena.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_grow_to(struct buf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

static void add_decimal(struct buf *b, unsigned long long u, bool minus)
{
	char text[24], *p = text + sizeof(text);
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (minus)
		*--p = '-';
	buf_add(b, p, (size_t)(text + sizeof(text) - p));
}

void buf_add_int(struct buf *b, long long n)
{
	add_decimal(b, n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n, n < 0);
}

void buf_add_uint(struct buf *b, unsigned long long n)
{
	add_decimal(b, n, false);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *buf_detach(struct buf *b, size_t *len)
{
	if (!b->data)
		buf_grow(b, 0), b->data[0] = '\0';
	char *p = b->data;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}

const char *buf_cstr(const struct buf *b)
{
	return b->data ? b->data : "";
}

int write_all(int fd, const void *data, size_t len)
{
	const char *at = data;
	while (len) {
		ssize_t n = write(fd, at, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? (errno = EIO, -1) : -1;
		at += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Pieces are copied into whole blocks of this size before they are
 * written.  A writev of the pieces themselves made ext4 clear a new page
 * again for each piece landing in it: a 22 MB manifest.json in 30,000
 * pieces took 180 ms that way, 25 ms through this block (perf).  A piece
 * of a block or more goes out as it is, after what the block holds. */
enum { GATHER_BLOCK = 64 * 1024 };

int write_gathered(int fd, const struct iovec *v, size_t n)
{
	char block[GATHER_BLOCK];
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		const char *at = v[i].iov_base;
		size_t left = v[i].iov_len;
		if (left >= GATHER_BLOCK) {
			if ((used && write_all(fd, block, used) < 0) || write_all(fd, at, left) < 0)
				return -1;
			used = 0;
			continue;
		}
		while (left) {
			size_t take = left < GATHER_BLOCK - used ? left : GATHER_BLOCK - used;
			memcpy(block + used, at, take);
			used += take;
			at += take;
			left -= take;
			if (used == GATHER_BLOCK) {
				if (write_all(fd, block, used) < 0)
					return -1;
				used = 0;
			}
		}
	}
	return used ? write_all(fd, block, used) : 0;
}

ssize_t read_full(int fd, void *data, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)data + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Reads fd to its end into b, first with room for room bytes, then in
 * 64 KiB steps.  A regular file ends at a short read; anything else
 * (a pipe) at a read of nothing. */
static int read_to_end(struct buf *b, int fd, size_t room, size_t max, bool regular)
{
	for (;;) {
		buf_grow(b, room);
		size_t want = b->cap - b->len - 1;
		ssize_t n = read(fd, b->data + b->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		if (b->len > max)
			return errno = EFBIG, -1;
		if (n == 0 || (regular && (size_t)n < want))
			return 0;
		room = 65536;
	}
}

int buf_read_fd(struct buf *b, int fd, size_t max)
{
	return read_to_end(b, fd, 65536, max, false);
}

int buf_read_regular(struct buf *b, int fd, size_t size, size_t max)
{
	return read_to_end(b, fd, size < max ? size + 1 : max + 1, max, true);
}

int buf_read_file(struct buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	buf_reset(b);
	int rc = buf_read_fd(b, fd, SIZE_MAX);
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}
