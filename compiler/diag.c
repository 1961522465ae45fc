/* diag.c - collect, sort and print diagnostics. */
#include "diag.h"
#include "arena.h"
#include "buf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct diag {
	enum diag_severity severity;
	const struct srcfile *file;
	size_t off;
	size_t seq;		/* report order, keeps the sort stable */
	char *message;
	struct diag *notes;	/* chain of attached notes */
	struct diag *next_note;
};

static struct {
	struct diag **items;
	size_t len, cap;
	size_t errors;
	size_t seq;
	int color;
} sink;

static char *vformat(const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	buf_grow(&b, n > 0 ? (size_t)n : 0);
	vsnprintf(b.data, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
	b.len = n > 0 ? (size_t)n : 0;
	return buf_detach(&b, NULL);
}

static struct diag *diag_new(enum diag_severity sev, const struct srcfile *file,
			     size_t off, const char *fmt, va_list ap)
{
	struct diag *d = xcalloc(1, sizeof(*d));
	d->severity = sev;
	d->file = file;
	d->off = file && off > file->len ? file->len : off;
	d->seq = sink.seq++;
	d->message = vformat(fmt, ap);
	return d;
}

static void push(struct diag *d)
{
	if (sink.len == sink.cap) {
		sink.cap = sink.cap ? sink.cap * 2 : 16;
		sink.items = xrealloc(sink.items, sink.cap * sizeof(*sink.items));
	}
	sink.items[sink.len++] = d;
}

void diag_error(const struct srcfile *file, size_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	push(diag_new(DIAG_ERROR, file, off, fmt, ap));
	va_end(ap);
	sink.errors++;
}

void diag_warning(const struct srcfile *file, size_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	push(diag_new(DIAG_WARNING, file, off, fmt, ap));
	va_end(ap);
}

void diag_note(const struct srcfile *file, size_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct diag *n = diag_new(DIAG_NOTE, file, off, fmt, ap);
	va_end(ap);
	if (!sink.len) {
		push(n);
		return;
	}
	struct diag **tail = &sink.items[sink.len - 1]->notes;
	while (*tail)
		tail = &(*tail)->next_note;
	*tail = n;
}

size_t diag_error_count(void)
{
	return sink.errors;
}

void diag_set_color(int on)
{
	sink.color = on;
}

void srcfile_position(const struct srcfile *f, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1;
	size_t start = 0;
	if (off > f->len)
		off = f->len;
	for (size_t i = 0; i < off; i++)
		if (f->data[i] == '\n')
			l++, start = i + 1;
	*line = l;
	*col = (unsigned)(off - start) + 1;
}

/* Diagnostics without a file sort first, then by path and offset. */
static int compare_diag(const void *pa, const void *pb)
{
	const struct diag *a = *(const struct diag *const *)pa;
	const struct diag *b = *(const struct diag *const *)pb;
	if (!a->file != !b->file)
		return a->file ? 1 : -1;
	if (a->file && b->file) {
		int c = strcmp(a->file->path, b->file->path);
		if (c)
			return c;
		if (a->off != b->off)
			return a->off < b->off ? -1 : 1;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static const char *severity_name(enum diag_severity s)
{
	return s == DIAG_ERROR ? "error" : s == DIAG_WARNING ? "warning" : "note";
}

static const char *severity_color(enum diag_severity s)
{
	return s == DIAG_ERROR ? "\033[1;31m" : s == DIAG_WARNING ? "\033[1;35m" : "\033[1;36m";
}

/* The source line holding off, then a caret under the column.  Tabs
 * before the caret are kept so the caret lines up in a terminal. */
static void print_excerpt(FILE *out, const struct srcfile *f, size_t off)
{
	size_t start = off, end = off;
	while (start > 0 && f->data[start - 1] != '\n')
		start--;
	while (end < f->len && f->data[end] != '\n')
		end++;
	if (start == end && off == f->len)
		return;
	fprintf(out, "  %.*s\n  ", (int)(end - start), f->data + start);
	for (size_t i = start; i < off; i++)
		fputc(f->data[i] == '\t' ? '\t' : ' ', out);
	fputs("^\n", out);
}

static void print_one(FILE *out, const struct diag *d)
{
	const char *on = sink.color ? severity_color(d->severity) : "";
	const char *off = sink.color ? "\033[0m" : "";
	if (d->file) {
		unsigned line, col;
		srcfile_position(d->file, d->off, &line, &col);
		fprintf(out, "%s:%u:%u: %s%s:%s %s\n", d->file->path, line, col,
			on, severity_name(d->severity), off, d->message);
		print_excerpt(out, d->file, d->off);
	} else {
		fprintf(out, "bulkhead: %s%s:%s %s\n", on, severity_name(d->severity), off,
			d->message);
	}
}

static void free_diag(struct diag *d)
{
	while (d) {
		struct diag *next = d->next_note;
		free_diag(d->notes);
		free(d->message);
		free(d);
		d = next;
	}
}

void diag_flush(FILE *out)
{
	if (sink.len)
		qsort(sink.items, sink.len, sizeof(*sink.items), compare_diag);
	size_t errors = 0;
	bool capped = false;
	for (size_t i = 0; i < sink.len; i++) {
		struct diag *d = sink.items[i];
		if (d->severity == DIAG_ERROR && errors++ == DIAG_CAP) {
			capped = true;
			break;
		}
		print_one(out, d);
		for (struct diag *n = d->notes; n; n = n->next_note)
			print_one(out, n);
	}
	if (capped)
		fprintf(out, "bulkhead: error: too many errors (%zu), stopping after %d\n",
			sink.errors, DIAG_CAP);
	fflush(out);
	diag_clear();
}

void diag_clear(void)
{
	for (size_t i = 0; i < sink.len; i++)
		free_diag(sink.items[i]);
	free(sink.items);
	sink.items = NULL;
	sink.len = sink.cap = sink.errors = sink.seq = 0;
}
