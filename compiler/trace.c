/* trace.c - record what a build looked at in the work tree. */
#include "trace.h"
#include "cache_dir.h"

#include <string.h>

void trace_init(struct trace *t)
{
	map_init(&t->entries);
	arena_init(&t->arena);
	t->started_ns = cache_coarse_now_ns();
}

void trace_expect(struct trace *t, size_t n)
{
	map_reserve(&t->entries, n);
}

void trace_free(struct trace *t)
{
	map_free(&t->entries);
	arena_free(&t->arena);
}

char trace_kind_of(const struct stat *st)
{
	return !st ? 'm' : S_ISREG(st->st_mode) ? 'f' : S_ISDIR(st->st_mode) ? 'd' : S_ISLNK(st->st_mode) ? 'l' : 'o';
}

/* The entry of rel with st recorded; a hash it held survives only the
 * same stat data. */
static struct trace_entry *record(struct trace *t, const char *rel, const struct stat *st)
{
	size_t len = strlen(rel);
	struct trace_entry *e = map_get(&t->entries, rel, len);
	if (!e) {
		/* 60,000 of them in a large repo: one malloc each was a tenth
		 * of the page faults of a cold build. */
		e = ARENA_NEW(&t->arena, struct trace_entry);
		map_put(&t->entries, arena_strndup(&t->arena, rel, len), len, e);
	}
	struct trace_entry was = *e;
	e->kind = trace_kind_of(st);
	e->stamp = st ? file_stamp_of(st) : (struct file_stamp){ 0 };
	/* The bytes hashed at a read hold only for the same stat data. */
	e->hashed = was.hashed && was.kind == e->kind && file_stamp_same(was.stamp, e->stamp);
	return e;
}

void trace_record(struct trace *t, const char *rel, const struct stat *st)
{
	record(t, rel, st);
}

void trace_record_read(struct trace *t, const char *rel, const struct stat *st, uint64_t hash)
{
	struct trace_entry *e = record(t, rel, st);
	e->hashed = e->kind == 'f';
	e->hash = hash;
}

void trace_record_listing(struct trace *t, const char *rel, const struct stat *st, uint64_t listing_hash)
{
	struct trace_entry *e = record(t, rel, st);
	e->listed = true;
	e->names_hash = listing_hash;
}
