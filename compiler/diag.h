/* diag.h - the diagnostics sink: the one piece of global mutable state.
 *
 * Locations are byte offsets into a source file; line and column are
 * computed only when printing.  Errors are collected, sorted by (file,
 * offset), capped, and printed gcc-style with the source line and a caret. */
#ifndef BULKHEAD_DIAG_H
#define BULKHEAD_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "map.h"

/* A file as loaded: its root-relative path and its bytes. */
struct srcfile {
	const char *path;
	const char *data;
	size_t len;
};

/* A place in a file, for a report kept past the run (a finding): not
 * always its node's own file (see diag_alias).  file NULL: nowhere. */
struct place {
	const struct srcfile *file;
	size_t off;
};

enum { DIAG_CAP = 50 };

enum diag_severity { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

/* Every call takes a file and an offset; file may be NULL for errors that
 * belong to no file (usage, I/O), then offset is ignored. */
void diag_error(const struct srcfile *file, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void diag_warning(const struct srcfile *file, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A note attaches to the diagnostic reported just before it. */
void diag_note(const struct srcfile *file, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A note of its own, not attached to anything. */
void diag_remark(const struct srcfile *file, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

size_t diag_error_count(void);
/* Every diagnostic held for printing, of any severity: each may point
 * into the file it names until diag_flush. */
size_t diag_count(void);
/* Mutes (or unmutes) every diagnostic reported from the calling thread;
 * returns the previous setting.  Worker threads run muted (parallel.c):
 * the sink keeps one thread's reports, in report order. */
bool diag_mute(bool on);
/* Whether this thread's reports are dropped: a failure seen muted is
 * not cached as reported. */
bool diag_muted(void);
/* A unit whose unit.yaml has the same bytes as another unit's shares
 * that file's tree (project.c), so its nodes name the other file.  While
 * a unit is worked on, the calling thread's reports naming `shared` name
 * `own` instead.  Sets the alias ({NULL, NULL}: none) and returns the
 * previous one, to restore. */
struct diag_alias {
	const struct srcfile *shared, *own;
};
struct diag_alias diag_alias(struct diag_alias to);
/* diag_error from a va_list, with prefix (or NULL) before the message:
 * for loaders reporting on a caller's behalf ("corrupt manifest: "). */
void diag_verror(const struct srcfile *file, size_t off, const char *prefix, const char *fmt, va_list ap);
/* Sorts, prints at most DIAG_CAP errors (then "too many errors") and
 * clears the sink. */
void diag_flush(FILE *out);
void diag_clear(void);

/* 1-based line and column (characters) of an offset. */
void srcfile_position(const struct srcfile *f, size_t off, unsigned *line, unsigned *col);

/* srcfile_position for many offsets in the same files (a report of
 * thousands of findings, show --explain): a file's line starts are found
 * once, and each offset's line by a binary search of them, where a scan
 * from the start of a 37,000-line file for each of its findings was
 * quadratic.  Small files are scanned as before.  One thread at a time. */
struct positions {
	struct map files;	/* srcfile address -> struct line_starts */
};
void positions_init(struct positions *ps);
void positions_free(struct positions *ps);
void positions_find(struct positions *ps, const struct srcfile *f, size_t off, unsigned *line, unsigned *col);
/* Color on/off for diag_flush. */
void diag_set_color(int on);

#endif
