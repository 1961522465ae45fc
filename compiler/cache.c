/* cache.c - write and check the build cache. */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "bulkhead-cache 1 " BULKHEAD_VERSION

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

void trace_init(struct trace *t)
{
	struct timespec now;
	map_init(&t->entries);
	clock_gettime(CLOCK_REALTIME, &now);
	t->started_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->entries.cap; i++)
		if (t->entries.slots[i].key) {
			free((char *)t->entries.slots[i].key);
			free(t->entries.slots[i].value);
		}
	map_free(&t->entries);
}

static char kind_of(const struct stat *st)
{
	return !st ? 'm' : S_ISREG(st->st_mode) ? 'f' : S_ISDIR(st->st_mode) ? 'd' : S_ISLNK(st->st_mode) ? 'l' : 'o';
}

void trace_record(struct trace *t, const char *rel, const struct stat *st)
{
	struct trace_entry *e = map_get(&t->entries, rel, strlen(rel));
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		char *key = xstrdup(rel);
		map_put(&t->entries, key, strlen(key), e);
	}
	e->kind = kind_of(st);
	e->size = st ? (uint64_t)st->st_size : 0;
	e->mtime_ns = st ? (uint64_t)mtime_ns(st) : 0;
	e->ino = st ? (uint64_t)st->st_ino : 0;
}

char *cache_file(const char *root, const char *out_opt, const struct selection *sel, bool allow_mocks)
{
	struct buf key = BUF_INIT, path = BUF_INIT;
	buf_printf(&key, "%s\n%s\n%d\n", MAGIC, out_opt ? out_opt : "(output.dir)", allow_mocks);
	for (size_t i = 0; i < sel->nenvs; i++)
		buf_printf(&key, "env %s\n", sel->envs[i]);
	for (size_t i = 0; i < sel->nunits; i++)
		buf_printf(&key, "unit %s\n", sel->units[i]);
	buf_printf(&path, "%s/.bulkhead/cache/build-%016llx", root,
		   (unsigned long long)XXH3_64bits(key.data, key.len));
	buf_free(&key);
	return buf_detach(&path, NULL);
}

/* ---- checking ---- */

static bool same_stat(const char *path, char kind, uint64_t size, uint64_t mtime, uint64_t ino, int64_t started)
{
	struct stat st;
	bool exists = lstat(path, &st) == 0;
	if (!exists)
		return kind == 'm' && (errno == ENOENT || errno == ENOTDIR);
	if (kind != kind_of(&st) || (int64_t)mtime >= started)
		return false;
	if (kind == 'd')	/* a folder's size varies by file system */
		return (uint64_t)mtime_ns(&st) == mtime && (uint64_t)st.st_ino == ino;
	return (uint64_t)st.st_size == size && (uint64_t)mtime_ns(&st) == mtime && (uint64_t)st.st_ino == ino;
}

static char *read_all(const char *path, size_t *len)
{
	struct buf b = BUF_INIT;
	if (buf_read_file(&b, path) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, len);
}

/* The file ends with "sum <16 hex>\n" over everything before it. */
static bool checksum_ok(const char *data, size_t len, size_t *body)
{
	const char *last = len > 21 ? data + len - 21 : NULL;	/* "sum " 16 hex "\n" */
	if (!last || strncmp(last, "sum ", 4) || data[len - 1] != '\n')
		return false;
	char want[17];
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)XXH3_64bits(data, (size_t)(last - data)));
	*body = (size_t)(last - data);
	return !strncmp(last + 4, want, 16);
}

static uint64_t env_hash(const char *name)
{
	const char *v = getenv(name);
	return v ? XXH3_64bits(v, strlen(v)) : 0;
}

/* A decimal number followed by one space; advances *p past both. */
static bool read_u64(char **p, uint64_t *out)
{
	char *s = *p, *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end != ' ')
		return false;
	*p = end + 1;
	return true;
}

static bool check_line(char *line, const char *root, const char **out_dir, int64_t started,
		       struct cache_summary *sum, struct buf *path)
{
	char kind, what;
	uint64_t size, mtime, ino;
	int used = 0;
	if (sscanf(line, "units %zu files %zu", &sum->units, &sum->files) == 2)
		return true;
	if (!strncmp(line, "out ", 4)) {
		*out_dir = line + 4;
		return true;
	}
	if (sscanf(line, "env %" SCNu64 " %n", &size, &used) == 1 && used)
		return env_hash(line + used) == size;	/* get_env reads it */
	if (!*out_dir)
		return false;
	what = line[0];
	kind = line[1] == ' ' ? line[2] : 0;
	if ((what != 'i' && what != 'o') || !kind || line[3] != ' ')
		return false;
	char *p = line + 4;
	if (!read_u64(&p, &size) || !read_u64(&p, &mtime) || !read_u64(&p, &ino))
		return false;
	buf_reset(path);
	buf_puts(path, what == 'i' ? root : *out_dir);
	buf_putc(path, '/');
	buf_puts(path, p);
	/* Outputs are written after the build started; only inputs can be racy. */
	return same_stat(path->data, kind, size, mtime, ino, what == 'i' ? started : INT64_MAX);
}

int cache_fresh(const char *path, const char *root, struct cache_summary *sum)
{
	const char *out_dir = NULL;
	size_t len, body;
	char *data = read_all(path, &len);
	int fresh = 0;
	long long started;
	struct buf scratch = BUF_INIT;
	memset(sum, 0, sizeof(*sum));
	if (!data || !checksum_ok(data, len, &body))
		goto out;
	data[body] = '\0';
	char *line = data, *nl = strchr(line, '\n');
	if (!nl || strncmp(line, MAGIC " started ", sizeof(MAGIC " started ") - 1) ||
	    sscanf(line + sizeof(MAGIC " started ") - 1, "%lld", &started) != 1)
		goto out;
	for (line = nl + 1; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			goto out;
		*nl = '\0';
		if (!check_line(line, root, &out_dir, (int64_t)started, sum, &scratch))
			goto out;
	}
	fresh = sum->units > 0 || sum->files > 0;
out:
	buf_free(&scratch);
	free(data);
	return fresh;
}

/* ---- storing ---- */

static int write_file(const char *path, const struct buf *b)
{
	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s.tmp", path);	/* fixed: a killed build's is reused */
	int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	int rc = -1;
	if (fd >= 0) {
		ssize_t n = write(fd, b->data, b->len);
		rc = (n == (ssize_t)b->len && close(fd) == 0 && rename(tmp.data, path) == 0) ? 0 : -1;
		if (rc < 0)
			unlink(tmp.data);
	}
	buf_free(&tmp);
	return rc;
}

static void make_cache_dir(const char *path)
{
	char *dir = xstrdup(path);
	for (char *slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0777);
		*slash = '/';
	}
	free(dir);
}

static void output_line(struct buf *b, const char *out_dir, const char *rel)
{
	struct stat st;
	struct buf full = BUF_INIT;
	buf_printf(&full, "%s/%s", out_dir, rel);
	if (lstat(full.data, &st) == 0)
		buf_printf(b, "o %c %llu %lld %llu %s\n", kind_of(&st), (unsigned long long)st.st_size,
			   (long long)mtime_ns(&st), (unsigned long long)st.st_ino, rel);
	buf_free(&full);
}

/* A file found missing in a folder whose mtime is recorded needs no line
 * of its own: creating it would change the folder's mtime. */
static bool parent_watched(const struct trace *t, const char *path, const struct trace_entry *e)
{
	const char *slash = strrchr(path, '/');
	if (e->kind != 'm' || !slash)
		return false;
	const struct trace_entry *dir = map_get(&t->entries, path, (size_t)(slash - path));
	return dir && dir->kind == 'd';
}

void cache_store(const char *path, const struct trace *t, const struct project *p, const char *out_dir,
		 const struct emit_plan *plan)
{
	struct buf b = BUF_INIT;
	if (strchr(out_dir, '\n'))
		return;
	buf_printf(&b, "%s started %lld\nunits %zu files %zu\nout %s\n", MAGIC, (long long)t->started_ns,
		   plan->nunits, plan->nfiles, out_dir);
	for (size_t i = 0; p->allow_env && i < p->allow_env->seq.len; i++) {
		const char *name = p->allow_env->seq.items[i]->str.s;
		buf_printf(&b, "env %llu %s\n", (unsigned long long)env_hash(name), name);
	}
	for (size_t i = 0; i < t->entries.cap; i++) {
		const struct map_slot *s = &t->entries.slots[i];
		const struct trace_entry *e = s->value;
		if (!s->key || strchr(s->key, '\n') || parent_watched(t, s->key, e))
			continue;
		buf_printf(&b, "i %c %llu %llu %llu %s\n", e->kind, (unsigned long long)e->size,
			   (unsigned long long)e->mtime_ns, (unsigned long long)e->ino, s->key);
	}
	for (size_t i = 0; i < plan->nfiles; i++)
		output_line(&b, out_dir, plan->files[i].path);
	output_line(&b, out_dir, "manifest.json");
	buf_printf(&b, "sum %016llx\n", (unsigned long long)XXH3_64bits(b.data, b.len));
	make_cache_dir(path);
	write_file(path, &b);
	buf_free(&b);
}
