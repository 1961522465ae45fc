/* buf.h - growable byte string, always NUL-terminated (like git's strbuf). */
#ifndef BULKHEAD_BUF_H
#define BULKHEAD_BUF_H

#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* The growth itself, for buf_grow. */
void buf_grow_to(struct buf *b, size_t extra);

/* Room for extra more bytes and the NUL.  Writers on hot paths (JSON,
 * the parse cache) ask for room once, then store: the check is inline,
 * the growth a call. */
static inline void buf_grow(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap)
		buf_grow_to(b, extra);
}

/* Appending is on every hot path (JSON, definitions, paths): inline. */
static inline void buf_add(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static inline void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static inline void buf_putc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

/* Decimal text of n, without printf (it is on every hot path). */
void buf_add_int(struct buf *b, long long n);
void buf_add_uint(struct buf *b, unsigned long long n);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends everything fd holds; stops with errno EFBIG once b holds more
 * than max bytes.  0, or -1 with errno set. */
int buf_read_fd(struct buf *b, int fd, size_t max);
/* The same for a regular file that fstat found size bytes long: a read
 * shorter than asked for is its end, so a file that kept its size takes
 * one read, not a second one to see end of file. */
int buf_read_regular(struct buf *b, int fd, size_t size, size_t max);
/* Writes all len bytes of data to fd, through short writes and EINTR.
 * 0, or -1 with errno set (EIO when a write took nothing). */
int write_all(int fd, const void *data, size_t len);
/* The same for the n pieces of v, in order (any number, empty ones
 * too), gathered into whole blocks on the stack: no allocation. */
int write_gathered(int fd, const struct iovec *v, size_t n);
/* Reads up to len bytes of fd into data, through short reads and EINTR,
 * stopping early only at end of file: the count read, or -1 with errno. */
ssize_t read_full(int fd, void *data, size_t len);
/* Replaces b's contents with the file at path.  Returns -1 with errno
 * set (ENOENT for a missing file) on failure. */
int buf_read_file(struct buf *b, const char *path);
/* Hands the string to the caller; the buffer is left empty. */
char *buf_detach(struct buf *b, size_t *len);
/* The contents as a C string ("" when empty, never NULL). */
const char *buf_cstr(const struct buf *b);

#endif
