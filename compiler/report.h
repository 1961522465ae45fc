/* report.h - findings as text, json, markdown, sarif or github output. */
#ifndef BULKHEAD_REPORT_H
#define BULKHEAD_REPORT_H

#include "drift.h"

#include <stdio.h>

enum report_format { FMT_TEXT, FMT_JSON, FMT_MARKDOWN, FMT_SARIF, FMT_GITHUB };

struct report_opts {
	enum report_format format;
	bool diff;		/* diff: every class, labelled; else errors and notes */
	bool quiet;		/* hide notes */
	bool all;		/* diff: list equal keys too */
	const char *title;	/* "drift" or "diff dev prod" */
	/* Where report_write hands out each megabyte it has made, leaving
	 * the rest in out; NULL: all of it stays in out. */
	FILE *stream;
};

/* Parses a --format value; returns -1 for an unknown one. */
int report_format_parse(const char *name, enum report_format *out);
void report_write(const struct findings *f, const struct report_opts *o, struct buf *out);
/* Whether a finding is shown at all under these options. */
bool report_shows(const struct finding *f, const struct report_opts *o);
/* Markdown for a PR comment, from text a pull request may have written:
 * md_text escapes a table cell's text (the pipe and backtick with a
 * backslash; <, > and & as entities, so that no HTML, such as a "<!--"
 * hiding the rest of the comment, gets through; a newline as a space);
 * md_code writes a code span holding s whatever backticks it has. */
void md_text(struct buf *out, const char *s);
void md_code(struct buf *out, const char *s);

#endif
