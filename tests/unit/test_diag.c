/* test_diag.c - compiler/diag.c: format, notes, sorting, the cap. */
#include "helpers.h"

#include "buf.h"

static void diag_reset(void)
{
	diag_clear();
	diag_set_color(0);
}

TestSuite(diag, .init = diag_reset, .fini = diag_reset);

/* Flushes and compares the whole output. */
static void expect_output(const char *want)
{
	char *got = diag_capture();
	cr_expect_str_eq(got, want, "got:\n%s\nwant:\n%s", got, want);
	free(got);
}

Test(diag, error_line_source_line_and_caret)
{
	struct srcfile f = mem_file("dev/app/unit.yaml", "inputs:\n  replicas: yes\n");
	diag_error(&f, 20, "ambiguous value '%s'", "yes");
	cr_assert_eq(diag_error_count(), 1);
	expect_output("dev/app/unit.yaml:2:13: error: ambiguous value 'yes'\n"
		      "    replicas: yes\n"
		      "              ^\n");
	cr_assert_eq(diag_error_count(), 0, "flush clears the sink");
}

Test(diag, first_byte_of_file)
{
	struct srcfile f = mem_file("a.yaml", "x: 1\n");
	diag_error(&f, 0, "bad");
	expect_output("a.yaml:1:1: error: bad\n"
		      "  x: 1\n"
		      "  ^\n");
}

Test(diag, tabs_are_kept_in_the_caret_line)
{
	struct srcfile f = mem_file("t.yaml", "a:\n\t\tb: c\n");
	diag_error(&f, 8, "here");	/* the 'c' */
	expect_output("t.yaml:2:6: error: here\n"
		      "  \t\tb: c\n"
		      "  \t\t   ^\n");
}

Test(diag, last_line_without_newline)
{
	struct srcfile f = mem_file("t.yaml", "a: 1\nb: 2");
	diag_error(&f, 9, "at the end");	/* one past the last byte */
	expect_output("t.yaml:2:5: error: at the end\n"
		      "  b: 2\n"
		      "      ^\n");
}

Test(diag, end_of_file_after_newline_has_no_excerpt)
{
	struct srcfile f = mem_file("t.yaml", "a: 1\n");
	diag_error(&f, 5, "unexpected end of file");
	expect_output("t.yaml:2:1: error: unexpected end of file\n");
}

Test(diag, offset_past_the_end_is_clamped)
{
	struct srcfile f = mem_file("t.yaml", "ab");
	diag_error(&f, 1000, "far away");
	expect_output("t.yaml:1:3: error: far away\n"
		      "  ab\n"
		      "    ^\n");
}

Test(diag, caret_on_a_newline_points_after_the_line)
{
	struct srcfile f = mem_file("t.yaml", "key:\nnext: 1\n");
	diag_error(&f, 4, "missing value");
	expect_output("t.yaml:1:5: error: missing value\n"
		      "  key:\n"
		      "      ^\n");
}

Test(diag, error_without_file)
{
	diag_error(NULL, 123, "cannot open '%s'", "bulkhead.yaml");
	cr_assert_eq(diag_error_count(), 1);
	expect_output("bulkhead: error: cannot open 'bulkhead.yaml'\n");
}

Test(diag, warnings_print_but_do_not_count)
{
	struct srcfile f = mem_file("w.yaml", "a: 1\n");
	diag_warning(&f, 3, "odd value");
	cr_assert_eq(diag_error_count(), 0);
	expect_output("w.yaml:1:4: warning: odd value\n"
		      "  a: 1\n"
		      "     ^\n");
}

/* Columns and the caret count characters, as an editor shows them. */
Test(diag, caret_lines_up_after_multibyte_characters)
{
	struct srcfile f = mem_file("u.yaml", "n\xc3\xa9v: \xf0\x9f\x98\x80 yes\n");
	diag_error(&f, 11, "here");	/* the 'y' */
	expect_output("u.yaml:1:8: error: here\n"
		      "  n\xc3\xa9v: \xf0\x9f\x98\x80 yes\n"
		      "         ^\n");
}

/* A hostile file must not reach the terminal with escape sequences or
 * invalid UTF-8: such bytes print as \xHH, and the caret still lines up. */
Test(diag, control_bytes_in_the_excerpt_are_escaped)
{
	const char text[] = "a: \x1b[2J\x07\xff x\n";
	struct srcfile f = mem_file("c.yaml", text);
	diag_error(&f, 10, "here");	/* the 'x' */
	char *got = diag_capture();
	cr_expect_null(strchr(got, '\x1b'), "raw ESC in the output:\n%s", got);
	cr_expect_null(strchr(got, '\x07'), "raw BEL in the output");
	cr_expect_null(strchr(got, '\xff'), "invalid UTF-8 in the output");
	char *line = nth_line(got, 1), *caret = nth_line(got, 2);
	cr_expect_str_eq(line, "  a: \\x1b[2J\\x07\\xff x");
	cr_expect_eq(strlen(caret), strlen(line), "caret not under the x:\n%s", got);
	cr_expect_eq(caret[strlen(caret) - 1], '^');
	free(line);
	free(caret);
	free(got);
}

/* A minified file can have a megabyte on one line: the excerpt shows a
 * window around the offset, with the caret under the right character. */
Test(diag, long_lines_are_cut_around_the_offset)
{
	size_t n = 100000;
	char *text = malloc(n + 2);
	for (size_t i = 0; i < n; i++)
		text[i] = (char)('a' + i % 26);
	text[n] = '\n';
	text[n + 1] = '\0';
	size_t off = 50000;
	struct srcfile f = mem_file("long.yaml", text);
	diag_error(&f, off, "here");
	char *got = diag_capture();
	cr_expect_lt(strlen(got), 1000, "the whole line was printed");
	char *head = nth_line(got, 0), *line = nth_line(got, 1), *caret = nth_line(got, 2);
	cr_expect_str_eq(head, "long.yaml:1:50001: error: here");
	size_t at = strlen(caret) - 1;
	cr_assert_eq(caret[at], '^');
	cr_assert_lt(at, strlen(line));
	cr_expect_eq(line[at], text[off], "caret under '%c', want '%c'", line[at], text[off]);
	cr_expect(strstr(line, "..."), "a cut line is marked");
	free(head);
	free(line);
	free(caret);
	free(got);
	free(text);
}

Test(diag, long_messages_are_kept_whole)
{
	char msg[3001];
	memset(msg, 'm', 3000);
	msg[3000] = '\0';
	diag_error(NULL, 0, "%s|%d", msg, 42);
	char *got = diag_capture();
	cr_assert_eq(strlen(got), strlen("bulkhead: error: ") + 3000 + 4);
	cr_assert(strstr(got, "mmm|42\n"));
	free(got);
}

Test(diag, note_attaches_to_the_previous_error)
{
	struct srcfile a = mem_file("a.yaml", "x: 1\nx: 2\n");
	struct srcfile b = mem_file("b.yaml", "y: 1\n");
	/* Reported out of order: the note must follow its error after sorting. */
	diag_error(&a, 5, "duplicate key 'x'");
	diag_note(&a, 0, "first defined here");
	diag_error(&b, 0, "other");
	diag_error(&a, 3, "earlier");
	cr_assert_eq(diag_error_count(), 3, "notes are not errors");
	expect_output("a.yaml:1:4: error: earlier\n"
		      "  x: 1\n"
		      "     ^\n"
		      "a.yaml:2:1: error: duplicate key 'x'\n"
		      "  x: 2\n"
		      "  ^\n"
		      "a.yaml:1:1: note: first defined here\n"
		      "  x: 1\n"
		      "  ^\n"
		      "b.yaml:1:1: error: other\n"
		      "  y: 1\n"
		      "  ^\n");
}

Test(diag, several_notes_keep_their_order_and_may_name_other_files)
{
	struct srcfile a = mem_file("a.yaml", "include: [b.yaml]\n");
	struct srcfile b = mem_file("b.yaml", "include: [a.yaml]\n");
	diag_error(&a, 10, "include cycle");
	diag_note(&b, 10, "b.yaml includes a.yaml");
	diag_note(NULL, 0, "the chain is a.yaml -> b.yaml -> a.yaml");
	char *got = diag_capture();
	char *l0 = nth_line(got, 0), *l3 = nth_line(got, 3), *l6 = nth_line(got, 6);
	cr_assert_str_eq(l0, "a.yaml:1:11: error: include cycle");
	cr_assert_str_eq(l3, "b.yaml:1:11: note: b.yaml includes a.yaml");
	cr_assert_str_eq(l6, "bulkhead: note: the chain is a.yaml -> b.yaml -> a.yaml");
	free(l0);
	free(l3);
	free(l6);
	free(got);
}

Test(diag, note_with_nothing_before_it_stands_alone)
{
	diag_note(NULL, 0, "just so you know");
	cr_assert_eq(diag_error_count(), 0);
	expect_output("bulkhead: note: just so you know\n");
}

Test(diag, sorted_by_path_then_offset_then_report_order)
{
	struct srcfile z = mem_file("z.yaml", "0123456789\n");
	struct srcfile a1 = mem_file("a.yaml", "0123456789\n");
	/* A second struct for the same path: sorting uses the path. */
	struct srcfile a2 = mem_file("a.yaml", "0123456789\n");
	diag_error(&z, 1, "z1");
	diag_error(&a1, 7, "a7");
	diag_error(&a2, 2, "a2");
	diag_error(NULL, 0, "nofile");
	diag_error(&a1, 2, "a2-second");
	diag_error(&a1, 0, "a0");
	char *got = diag_capture();
	const char *want[] = { "bulkhead: error: nofile", "a.yaml:1:1: error: a0",
			       "a.yaml:1:3: error: a2", "a.yaml:1:3: error: a2-second",
			       "a.yaml:1:8: error: a7", "z.yaml:1:2: error: z1" };
	size_t line = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		char *l = nth_line(got, line);
		cr_assert_str_eq(l, want[i], "entry %zu:\n%s", i, got);
		free(l);
		line += i == 0 ? 1 : 3;	/* error line + source + caret */
	}
	free(got);
}

Test(diag, paths_sort_bytewise)
{
	struct srcfile f1 = mem_file("dev/b.yaml", "x\n");
	struct srcfile f2 = mem_file("dev/a/z.yaml", "x\n");
	struct srcfile f3 = mem_file("dev-x.yaml", "x\n");
	diag_error(&f1, 0, "1");
	diag_error(&f2, 0, "2");
	diag_error(&f3, 0, "3");
	char *got = diag_capture();
	char *l0 = nth_line(got, 0), *l3 = nth_line(got, 3), *l6 = nth_line(got, 6);
	/* '-' (0x2d) < '/' (0x2f) */
	cr_assert_str_eq(l0, "dev-x.yaml:1:1: error: 3");
	cr_assert_str_eq(l3, "dev/a/z.yaml:1:1: error: 2");
	cr_assert_str_eq(l6, "dev/b.yaml:1:1: error: 1");
	free(l0);
	free(l3);
	free(l6);
	free(got);
}

Test(diag, capped_at_fifty_then_too_many_errors)
{
	/* 60 lines "l00" .. "l59"; errors reported last line first. */
	char text[60 * 4 + 1];
	for (int i = 0; i < 60; i++)
		memcpy(text + i * 4, (char[4]){ 'l', (char)('0' + i / 10), (char)('0' + i % 10), '\n' }, 4);
	text[60 * 4] = '\0';
	struct srcfile f = mem_file("big.yaml", text);
	for (int i = 59; i >= 0; i--)
		diag_error(&f, (size_t)i * 4, "error number %d", i);
	cr_assert_eq(diag_error_count(), 60);
	char *got = diag_capture();
	cr_assert_eq(count_lines_with(got, ": error: error number"), DIAG_CAP);
	/* The first 50 by position are the ones shown. */
	cr_assert(strstr(got, "big.yaml:50:1: error: error number 49\n"));
	cr_assert_null(strstr(got, "error number 50\n"));
	char *last = nth_line(got, 3 * DIAG_CAP);
	cr_assert_str_eq(last, "bulkhead: error: too many errors (60), stopping after 50");
	free(last);
	char *after = nth_line(got, 3 * DIAG_CAP + 1);
	cr_assert_str_eq(after, "", "nothing after the cap line");
	free(after);
	free(got);
	cr_assert_eq(diag_error_count(), 0);
}

Test(diag, exactly_fifty_errors_are_not_capped)
{
	for (int i = 0; i < DIAG_CAP; i++)
		diag_error(NULL, 0, "e%d", i);
	char *got = diag_capture();
	cr_assert_eq(count_lines_with(got, "bulkhead: error: e"), DIAG_CAP);
	cr_assert_null(strstr(got, "too many errors"));
	free(got);
}

Test(diag, warnings_do_not_use_up_the_cap)
{
	for (int i = 0; i < 100; i++)
		diag_warning(NULL, 0, "w%d", i);
	for (int i = 0; i < 10; i++)
		diag_error(NULL, 0, "e%d", i);
	char *got = diag_capture();
	cr_assert_eq(count_lines_with(got, "bulkhead: warning: w"), 100);
	cr_assert_eq(count_lines_with(got, "bulkhead: error: e"), 10);
	cr_assert_null(strstr(got, "too many errors"));
	free(got);
}

Test(diag, clear_discards_everything)
{
	struct srcfile f = mem_file("a.yaml", "a\n");
	diag_error(&f, 0, "one");
	diag_note(&f, 0, "its note");
	diag_warning(NULL, 0, "two");
	cr_assert_eq(diag_error_count(), 1);
	diag_clear();
	cr_assert_eq(diag_error_count(), 0);
	/* Still usable after clearing, and the old entries are gone. */
	diag_error(NULL, 0, "again");
	cr_assert_eq(diag_error_count(), 1);
	expect_output("bulkhead: error: again\n");
}

Test(diag, flush_of_an_empty_sink_prints_nothing)
{
	/* Every successful run flushes an empty sink. */
	expect_output("");
	diag_error(NULL, 0, "x");
	diag_clear();
	expect_output("");
}

Test(diag, color_marks_the_severity)
{
	struct srcfile f = mem_file("c.yaml", "a\n");
	diag_set_color(1);
	diag_error(&f, 0, "red");
	diag_note(&f, 0, "cyan");
	expect_output("c.yaml:1:1: \033[1;31merror:\033[0m red\n"
		      "  a\n"
		      "  ^\n"
		      "c.yaml:1:1: \033[1;36mnote:\033[0m cyan\n"
		      "  a\n"
		      "  ^\n");
	diag_set_color(0);
	diag_warning(NULL, 0, "plain");
	expect_output("bulkhead: warning: plain\n");
}

Test(diag, srcfile_position_counts_lines_and_character_columns)
{
	struct srcfile f = mem_file("p.yaml", "ab\n\ncd\xc3\xa9x\n");
	struct {
		size_t off;
		unsigned line, col;
	} cases[] = {
		{ 0, 1, 1 }, { 1, 1, 2 }, { 2, 1, 3 },	/* the '\n' itself */
		{ 3, 2, 1 },				/* empty line */
		{ 4, 3, 1 }, { 6, 3, 3 },		/* start of the é */
		{ 7, 3, 4 },				/* inside it */
		{ 8, 3, 4 },				/* 'x': é is one column */
		{ 10, 4, 1 },				/* end of file */
		{ 9999, 4, 1 },				/* clamped */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		unsigned line = 0, col = 0;
		srcfile_position(&f, cases[i].off, &line, &col);
		cr_assert(line == cases[i].line && col == cases[i].col,
			  "offset %zu: got %u:%u, want %u:%u", cases[i].off, line, col,
			  cases[i].line, cases[i].col);
	}
	struct srcfile empty = mem_file("e.yaml", "");
	unsigned line = 0, col = 0;
	srcfile_position(&empty, 0, &line, &col);
	cr_assert(line == 1 && col == 1);

	/* Many lines: "key_NNN: v\n" is 11 bytes each. */
	struct buf text = BUF_INIT;
	for (int i = 0; i < 300; i++)
		buf_printf(&text, "key_%03d: v\n", i);
	struct srcfile big = mem_file("big.yaml", text.data);
	srcfile_position(&big, 11 * 250 + 9, &line, &col);
	cr_expect(line == 251 && col == 10, "got %u:%u, want 251:10", line, col);
	srcfile_position(&big, text.len, &line, &col);
	cr_expect(line == 301 && col == 1, "got %u:%u, want 301:1", line, col);
	buf_free(&text);
}

Test(diag, one_error_met_twice_prints_once)
{
	struct srcfile f = mem_file("_common/x.yaml", "a: 1\nb: 2\n");
	struct srcfile copy = mem_file("_common/x.yaml", "a: 1\nb: 2\n");
	diag_error(&f, 5, "bad merge");
	diag_error(&f, 0, "other");
	diag_error(&copy, 5, "bad merge");	/* same path and place, seen again */
	diag_error(&f, 5, "another message");	/* same place, not the same error */
	expect_output("_common/x.yaml:1:1: error: other\n"
		      "  a: 1\n"
		      "  ^\n"
		      "_common/x.yaml:2:1: error: bad merge\n"
		      "  b: 2\n"
		      "  ^\n"
		      "_common/x.yaml:2:1: error: another message\n"
		      "  b: 2\n"
		      "  ^\n");
}

Test(diag, repeats_do_not_count_towards_the_cap)
{
	struct srcfile f = mem_file("a.yaml", "x: 1\n");
	for (int i = 0; i < 60; i++)
		diag_error(&f, 0, "same");
	char *got = diag_capture();
	cr_expect_str_eq(got, "a.yaml:1:1: error: same\n  x: 1\n  ^\n", "got:\n%s", got);
	free(got);
}

Test(diag, an_alias_names_the_own_file_until_restored)
{
	const char *text = "inputs:\n  size: ${local.size}\n";
	struct srcfile first = mem_file("dev/app/unit.yaml", text);
	struct srcfile twin = mem_file("prod/app/unit.yaml", text);
	struct srcfile other = mem_file("_common/x.yaml", "a: 1\n");
	struct diag_alias was = diag_alias((struct diag_alias){ &first, &twin });
	cr_assert_null(was.shared, "no alias to begin with");
	diag_error(&first, 16, "first as the twin");
	diag_note(&other, 0, "other files are themselves");
	struct diag_alias set = diag_alias(was);
	cr_assert_eq(set.shared, &first);
	cr_assert_eq(set.own, &twin);
	diag_error(&first, 16, "first as itself");
	expect_output("dev/app/unit.yaml:2:9: error: first as itself\n"
		      "    size: ${local.size}\n"
		      "          ^\n"
		      "prod/app/unit.yaml:2:9: error: first as the twin\n"
		      "    size: ${local.size}\n"
		      "          ^\n"
		      "_common/x.yaml:1:1: note: other files are themselves\n"
		      "  a: 1\n"
		      "  ^\n");
}

/* positions_find gives what srcfile_position gives, for every offset of
 * files above and below the size it indexes from, offsets asked in any
 * order and past the end, lines with multibyte characters, blank lines
 * and no final newline. */
Test(diag, positions_agree_with_a_scan_at_every_offset)
{
	struct buf big = BUF_INIT;
	for (int i = 0; big.len < 3 * 4096; i++) {
		if (i % 7 == 0)
			buf_puts(&big, "\n");
		else if (i % 5 == 0)
			buf_printf(&big, "  k%d: \"héllo wörld\"\n", i);
		else
			buf_printf(&big, "  k%d: %d\n", i, i);
	}
	buf_puts(&big, "last: line without newline");
	const char *texts[] = { "a: 1\nb: 2\n", "", "\n\n\n", big.data };
	struct positions ps;
	positions_init(&ps);
	struct srcfile files[sizeof(texts) / sizeof(*texts)];	/* each its own: ps knows them by address */
	for (size_t t = 0; t < sizeof(texts) / sizeof(*texts); t++) {
		files[t] = mem_file("dev/app/unit.yaml", texts[t]);
		/* backwards, then forwards: no order is assumed */
		for (int pass = 0; pass < 2; pass++) {
			for (size_t k = 0; k <= files[t].len + 2; k++) {
				size_t off = pass == 0 ? files[t].len + 2 - k : k;
				unsigned wl, wc, gl, gc;
				srcfile_position(&files[t], off, &wl, &wc);
				positions_find(&ps, &files[t], off, &gl, &gc);
				cr_assert(wl == gl && wc == gc, "text %zu offset %zu: %u:%u, want %u:%u", t, off, gl, gc, wl,
					  wc);
			}
		}
	}
	positions_free(&ps);
	buf_free(&big);
}
