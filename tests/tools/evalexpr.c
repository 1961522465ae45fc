/* evalexpr - evaluate templates line by line, for the expression tests.
 *
 *   evalexpr CONTEXT.yaml < lines
 *
 * Each input line is a template (a YAML scalar's text, e.g. "${1 + 2}");
 * each output line is the result as compact JSON, or "error@COL: message"
 * with the 1-based column of the first error. */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first diagnostic as "error@COL: message". */
static void first_error(struct buf *out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	diag_flush(f);
	fclose(f);
	char *colon = strstr(text, ": error: ");
	char *nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	if (colon) {
		*colon = '\0';
		char *col = strrchr(text, ':');
		buf_printf(out, "error@%s: %s", col ? col + 1 : "?", colon + 9);
	} else {
		buf_printf(out, "error: %s", text);
	}
	free(text);
}

static struct value *load_context(struct arena *a, const char *path, struct srcfile *src)
{
	FILE *f = fopen(path, "r");
	struct buf data = BUF_INIT;
	char chunk[4096];
	size_t n;
	if (!f) {
		perror(path);
		exit(2);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&data, chunk, n);
	fclose(f);
	src->path = path;
	src->data = arena_strndup(a, buf_cstr(&data), data.len);
	src->len = data.len;
	buf_free(&data);
	struct node *root;
	if (yaml_load(a, src, &limits_default, &root) < 0 || root->kind != NODE_MAP) {
		diag_flush(stderr);
		fprintf(stderr, "%s: context must be a YAML map\n", path);
		exit(2);
	}
	return value_from_node(a, root);
}

int main(int argc, char **argv)
{
	struct arena arena;
	struct srcfile ctx_file;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	if (argc != 2) {
		fputs("usage: evalexpr CONTEXT.yaml < templates\n", stderr);
		return 2;
	}
	arena_init(&arena);
	struct value *context = load_context(&arena, argv[1], &ctx_file);
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		struct srcfile f = { "expr", arena_strndup(&arena, line, (size_t)len), (size_t)len };
		struct buf out = BUF_INIT;
		struct value *v = eval_text(&arena, &f, context, &limits_default);
		if (v && !diag_error_count())
			value_to_json_compact(v, &out);
		else
			first_error(&out);
		diag_clear();
		puts(buf_cstr(&out));
		buf_free(&out);
	}
	free(line);
	arena_free(&arena);
	return 0;
}
