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

/* Per thread, not global: a worker's reports are dropped while the
 * caller's thread keeps reporting (see parallel.h). */
static _Thread_local bool muted;

bool diag_mute(bool on)
{
	bool was = muted;
	muted = on;
	return was;
}

bool diag_muted(void)
{
	return muted;
}

/* Per thread too: each worker resolves and evaluates its own unit. */
static _Thread_local struct diag_alias alias;

struct diag_alias diag_alias(struct diag_alias to)
{
	struct diag_alias was = alias;
	alias = to;
	return was;
}

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

void diag_verror(const struct srcfile *file, size_t off, const char *prefix, const char *fmt, va_list ap)
{
	if (muted)
		return;
	char *msg = vformat(fmt, ap);
	diag_error(file, off, "%s%s", prefix ? prefix : "", msg);
	free(msg);
}

static struct diag *diag_new(enum diag_severity sev, const struct srcfile *file,
			     size_t off, const char *fmt, va_list ap)
{
	struct diag *d = xcalloc(1, sizeof(*d));
	if (file && file == alias.shared)
		file = alias.own;
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
	if (muted)
		return;
	va_start(ap, fmt);
	push(diag_new(DIAG_ERROR, file, off, fmt, ap));
	va_end(ap);
	sink.errors++;
}

void diag_warning(const struct srcfile *file, size_t off, const char *fmt, ...)
{
	va_list ap;
	if (muted)
		return;
	va_start(ap, fmt);
	push(diag_new(DIAG_WARNING, file, off, fmt, ap));
	va_end(ap);
}

void diag_note(const struct srcfile *file, size_t off, const char *fmt, ...)
{
	va_list ap;
	if (muted)
		return;
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

void diag_remark(const struct srcfile *file, size_t off, const char *fmt, ...)
{
	va_list ap;
	if (muted)
		return;
	va_start(ap, fmt);
	push(diag_new(DIAG_NOTE, file, off, fmt, ap));
	va_end(ap);
}

size_t diag_error_count(void)
{
	return sink.errors;
}

size_t diag_count(void)
{
	return sink.len;
}

void diag_set_color(int on)
{
	sink.color = on;
}

/* The column of end on a line starting at p: characters, not bytes. */
static unsigned column_at(const char *p, const char *end)
{
	unsigned c = 1;
	for (; p < end; p++)
		c += ((unsigned char)*p & 0xc0) != 0x80;	/* not a UTF-8 continuation byte */
	return c;
}

/* Columns count characters, not bytes, so they match what an editor
 * shows; invalid bytes count one each.  Lines are found with memchr and
 * the column counted on the last one only: diff prints two places for
 * each of 160,000 findings at 30,000 units, and a loop over every byte
 * before each was a tenth of its time. */
void srcfile_position(const struct srcfile *f, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1;
	if (off > f->len)
		off = f->len;
	const char *p = f->data, *end = f->data + off, *nl;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		l++;
		p = nl + 1;
	}
	*line = l;
	*col = column_at(p, end);
}

/* Files below this many bytes are scanned: a scan of a few lines costs
 * less than an index. */
enum { INDEXED_FILE = 4096 };

struct line_starts {
	const struct srcfile *file;	/* the key's bytes: this address */
	size_t n;
	size_t at[];			/* offsets where lines start, at[0] = 0 */
};

void positions_init(struct positions *ps)
{
	map_init(&ps->files);
}

void positions_free(struct positions *ps)
{
	for (size_t i = 0; i < ps->files.cap; i++)
		free(ps->files.slots[i].value);
	map_free(&ps->files);
}

static struct line_starts *index_lines(const struct srcfile *f)
{
	size_t n = 1;
	for (const char *p = f->data, *end = f->data + f->len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		n++;
	struct line_starts *ls = xmalloc(sizeof(*ls) + n * sizeof(ls->at[0]));
	ls->file = f;
	ls->n = 0;
	ls->at[ls->n++] = 0;
	for (const char *p = f->data, *end = f->data + f->len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		ls->at[ls->n++] = (size_t)(p + 1 - f->data);
	return ls;
}

void positions_find(struct positions *ps, const struct srcfile *f, size_t off, unsigned *line, unsigned *col)
{
	if (f->len < INDEXED_FILE) {
		srcfile_position(f, off, line, col);
		return;
	}
	struct line_starts *ls = map_get(&ps->files, (const char *)&f, sizeof(f));
	if (!ls) {
		ls = index_lines(f);
		map_put(&ps->files, (const char *)&ls->file, sizeof(ls->file), ls);
	}
	if (off > f->len)
		off = f->len;
	size_t lo = 0, hi = ls->n;	/* the last start at or before off */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (ls->at[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	*line = (unsigned)lo + 1;
	*col = column_at(f->data + ls->at[lo], f->data + off);
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

/* Lines up to EXCERPT_LINE bytes print whole; longer ones print a window
 * of EXCERPT_CONTEXT bytes either side of the caret. */
enum { EXCERPT_LINE = 160, EXCERPT_CONTEXT = 60 };

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	size_t n = p[0] >= 0xf0 && p[0] < 0xf5 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (!n || p[0] >= 0xf5 || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Appends the bytes [from, to) for a terminal: control characters and
 * invalid UTF-8 as \xHH, so a hostile file cannot send escape sequences. */
static void render(struct buf *out, const unsigned char *from, const unsigned char *to)
{
	while (from < to) {
		size_t n = *from >= 0x80 ? utf8_seq(from, to) : 1;
		if (*from == '\t' || (*from >= 0x20 && *from < 0x7f)) {
			buf_putc(out, (char)*from);
		} else if (n > 1) {
			buf_add(out, from, n);
		} else {
			buf_printf(out, "\\x%02x", *from);
			n = 1;
		}
		from += n;
	}
}

/* The source line holding off, cut to a window around it when long, then
 * a caret under the offending character. */
static void print_excerpt(FILE *out, const struct srcfile *f, size_t off)
{
	const unsigned char *data = (const unsigned char *)f->data;
	size_t start = off, end = off;
	while (start > 0 && data[start - 1] != '\n')
		start--;
	while (end < f->len && data[end] != '\n')
		end++;
	if (start == end && off == f->len)
		return;
	bool is_long = end - start > EXCERPT_LINE;
	bool cut_left = is_long && off - start > EXCERPT_CONTEXT;
	bool cut_right = is_long && end - off > EXCERPT_CONTEXT;
	size_t from = cut_left ? off - EXCERPT_CONTEXT : start, to = cut_right ? off + EXCERPT_CONTEXT : end;
	while (from > start && (data[from] & 0xc0) == 0x80)
		from--;
	while (to < end && (data[to] & 0xc0) == 0x80)
		to++;
	struct buf line = BUF_INIT, caret = BUF_INIT;
	if (cut_left)
		buf_puts(&line, "...");
	render(&line, data + from, data + off);
	/* The caret line mirrors the text before it: tabs stay tabs, every
	 * other character becomes one space. */
	for (size_t i = 0; i < line.len; i++) {
		unsigned char b = (unsigned char)line.data[i];
		if ((b & 0xc0) != 0x80)
			buf_putc(&caret, b == '\t' ? '\t' : ' ');
	}
	render(&line, data + off, data + to);
	if (cut_right)
		buf_puts(&line, "...");
	fprintf(out, "  %s\n  %s^\n", buf_cstr(&line), buf_cstr(&caret));
	buf_free(&line);
	buf_free(&caret);
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

static bool same_diag(const struct diag *a, const struct diag *b)
{
	return a->severity == b->severity && a->off == b->off && !a->file == !b->file &&
	       (!a->file || !strcmp(a->file->path, b->file->path)) && !strcmp(a->message, b->message);
}

/* One error met along several paths (a broken include shared by units
 * with different include chains) is printed once.  Needs sorted items. */
static void drop_repeats(void)
{
	size_t kept = 0;
	for (size_t i = 0; i < sink.len; i++) {
		struct diag *d = sink.items[i];
		if (kept && same_diag(sink.items[kept - 1], d)) {
			sink.errors -= d->severity == DIAG_ERROR;
			free_diag(d);
			continue;
		}
		sink.items[kept++] = d;
	}
	sink.len = kept;
}

void diag_flush(FILE *out)
{
	if (sink.len)
		qsort(sink.items, sink.len, sizeof(*sink.items), compare_diag);
	drop_repeats();
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
