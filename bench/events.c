/* events.c - libyaml's bare event parser over a repo's YAML files.
 *
 * usage: bench-events ROOT
 *
 * Reads every *.yaml file below ROOT (skipping the top-level out/ and
 * folders starting with '.', as the CSafeLoader baseline does) into
 * memory, then, on one thread, runs libyaml's parser over each to its
 * last event, building nothing.  Prints the seconds the parsing took
 * (the reading is not timed).
 *
 * Issue 8 gives this as its yardstick: "libyaml's bare event parser alone
 * needs about 0.6 s on one core for the 30,000 unit files" of the 10k
 * repo.  Measured in the same run as bulkhead, it tells how fast the
 * machine is today against the one the figures were taken on. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <yaml.h>

struct text {
	unsigned char *data;
	size_t len;
};

struct texts {
	struct text *v;
	size_t n, cap;
};

static int add_file(struct texts *t, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0) {
		if (f)
			fclose(f);
		return -1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		struct text *grown = realloc(t->v, cap * sizeof(*grown));
		if (!grown) {
			fclose(f);
			return -1;
		}
		t->v = grown;
		t->cap = cap;
	}
	struct text *x = &t->v[t->n];
	x->data = malloc((size_t)st.st_size + 1);
	x->len = x->data ? fread(x->data, 1, (size_t)st.st_size, f) : 0;
	int rc = x->data && !ferror(f) ? 0 : -1;
	fclose(f);
	if (rc == 0)
		t->n++;
	else
		free(x->data);
	return rc;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* Every *.yaml below dir; top says dir is ROOT. */
static int walk(struct texts *t, const char *dir, int top)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "bench-events: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (top && (e->d_name[0] == '.' || !strcmp(e->d_name, "out")))
			continue;
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		char *path = malloc(len);
		struct stat st;
		if (!path) {
			rc = -1;
			break;
		}
		snprintf(path, len, "%s/%s", dir, e->d_name);
		int found = lstat(path, &st) == 0;
		if (found && S_ISDIR(st.st_mode)) {
			rc = walk(t, path, 0);	/* reports its own errors */
		} else if (!found ||
			   (S_ISREG(st.st_mode) && ends_with(e->d_name, ".yaml") && add_file(t, path) < 0)) {
			fprintf(stderr, "bench-events: %s: %s\n", path, strerror(errno));
			rc = -1;
		}
		free(path);
	}
	closedir(d);
	return rc;
}

/* Parses text to its stream's end; the number of events, or -1. */
static long parse_events(const struct text *x)
{
	yaml_parser_t parser;
	yaml_event_t event;
	long events = 0;
	if (!yaml_parser_initialize(&parser))
		return -1;
	yaml_parser_set_input_string(&parser, x->data, x->len);
	for (int done = 0; !done; events++) {
		if (!yaml_parser_parse(&parser, &event)) {
			events = -1;
			break;
		}
		done = event.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	return events;
}

int main(int argc, char **argv)
{
	struct texts t = { 0 };
	struct timespec t0, t1;
	int rc = 0;
	if (argc != 2) {
		fputs("usage: bench-events ROOT\n", stderr);
		return 2;
	}
	if (walk(&t, argv[1], 1) < 0)
		rc = 2;
	else if (!t.n) {
		fprintf(stderr, "bench-events: no .yaml file below %s\n", argv[1]);
		rc = 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; rc == 0 && i < t.n; i++)
		if (parse_events(&t.v[i]) < 0) {
			fprintf(stderr, "bench-events: file %zu of %zu does not parse\n", i + 1, t.n);
			rc = 2;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (size_t i = 0; i < t.n; i++)
		free(t.v[i].data);
	free(t.v);
	if (rc == 0)
		printf("%.3f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return rc;
}
