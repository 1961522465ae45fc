/* floor.c - the kernel's share of a cold build, without bulkhead.
 *
 * usage: bench-floor DIR JOBS < LIST
 *
 * LIST holds one "SIZE PATH" line per file (as `find -printf '%s %P\n'`
 * prints them for a built output tree, manifest.json included).
 * bench-floor makes DIR (which must not exist) and writes every file below
 * it as a cold build does (emit.c): a file in a folder goes straight into
 * a staging tree, DIR/.staging/PATH, its folders made on demand (mkdir,
 * parents when missing), filled with SIZE bytes; a file at the top (the
 * manifest) goes to a temp file beside it, then a rename onto its name;
 * last, each top folder of the staging tree is renamed into DIR.  JOBS
 * threads take runs of 512 files in turn, as bulkhead's writers do.
 * Prints the seconds taken.
 *
 * What it leaves out is bulkhead's own work (and its one fstat per file,
 * for the build cache), so the benchmark's cold build minus this is what
 * bulkhead adds to making the files at all. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STAGING ".staging"

enum { RUN = 512, MAX_JOBS = 64, FILLER = 64 * 1024 };

struct file {
	char *path;
	size_t size;
};

struct job {
	const char *dir;
	struct file *files;
	size_t n;
	atomic_size_t next_run;
	atomic_int failed;
};

static char filler[FILLER];

static int make_parents(char *path)
{
	char *slash = strrchr(path, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	int rc = mkdir(path, 0777);
	if (rc < 0 && errno == ENOENT && make_parents(path) == 0)
		rc = mkdir(path, 0777);
	if (rc < 0 && errno == EEXIST)
		rc = 0;
	*slash = '/';
	return rc;
}

static int fill(const char *path, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return -1;
	int rc = 0;
	for (size_t left = size; left && rc == 0;) {
		ssize_t n = write(fd, filler, left < FILLER ? left : FILLER);
		if (n > 0)
			left -= (size_t)n;
		else if (n == 0 || errno != EINTR)
			rc = -1;
	}
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

static int write_one(const char *dir, const struct file *f)
{
	char final[4096], temp[4096 + 8];
	if (!strchr(f->path, '/')) {
		if ((size_t)snprintf(final, sizeof(final), "%s/%s", dir, f->path) >= sizeof(final))
			return errno = ENAMETOOLONG, -1;
		snprintf(temp, sizeof(temp), "%s.tmp", final);
		return fill(temp, f->size) < 0 ? -1 : rename(temp, final);
	}
	if ((size_t)snprintf(final, sizeof(final), "%s/" STAGING "/%s", dir, f->path) >= sizeof(final))
		return errno = ENAMETOOLONG, -1;
	return make_parents(final) < 0 ? -1 : fill(final, f->size);
}

/* Renames each top folder of DIR/.staging into DIR, then removes the
 * staging folder, as a cold build publishes its files. */
static int publish(const char *dir)
{
	char staging[4096], from[4096 + 256], to[4096 + 256];
	if ((size_t)snprintf(staging, sizeof(staging), "%s/" STAGING, dir) >= sizeof(staging))
		return errno = ENAMETOOLONG, -1;
	DIR *d = opendir(staging);
	if (!d)
		return errno == ENOENT ? 0 : -1;	/* no file below a folder */
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(from, sizeof(from), "%s/%s", staging, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", dir, e->d_name);
		rc = rename(from, to);
	}
	closedir(d);
	return rc == 0 ? rmdir(staging) : -1;
}

static void *worker(void *arg)
{
	struct job *job = arg;
	for (;;) {
		size_t first = atomic_fetch_add(&job->next_run, 1) * RUN;
		if (first >= job->n || atomic_load(&job->failed))
			return NULL;
		for (size_t i = first; i < first + RUN && i < job->n; i++)
			if (write_one(job->dir, &job->files[i]) < 0) {
				fprintf(stderr, "bench-floor: %s: %s\n", job->files[i].path, strerror(errno));
				atomic_store(&job->failed, 1);
				return NULL;
			}
	}
}

static int read_list(struct file **files, size_t *n)
{
	char line[4096];
	size_t cap = 0;
	while (fgets(line, sizeof(line), stdin)) {
		char *end, *path;
		unsigned long size = strtoul(line, &end, 10);
		line[strcspn(line, "\n")] = '\0';
		if (end == line || *end != ' ' || !*(path = end + 1))
			return fprintf(stderr, "bench-floor: bad line: %s\n", line), -1;
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			struct file *grown = realloc(*files, cap * sizeof(**files));
			if (!grown)
				return perror("bench-floor"), -1;
			*files = grown;
		}
		if (!((*files)[*n].path = strdup(path)))
			return perror("bench-floor"), -1;
		(*files)[(*n)++].size = size;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct job job = { 0 };
	pthread_t threads[MAX_JOBS];
	struct timespec t0, t1;
	int jobs = argc == 3 ? atoi(argv[2]) : 0;
	if (jobs < 1 || jobs > MAX_JOBS) {
		fputs("usage: bench-floor DIR JOBS < LIST\n", stderr);
		return 2;
	}
	job.dir = argv[1];
	if (read_list(&job.files, &job.n) < 0)
		return 2;
	memset(filler, 'x', sizeof(filler));
	if (mkdir(job.dir, 0777) < 0)
		return fprintf(stderr, "bench-floor: %s: %s\n", job.dir, strerror(errno)), 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int started = 0;
	while (started < jobs && pthread_create(&threads[started], NULL, worker, &job) == 0)
		started++;
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (started && !atomic_load(&job.failed) && publish(job.dir) < 0) {
		fprintf(stderr, "bench-floor: publishing %s/" STAGING ": %s\n", job.dir, strerror(errno));
		atomic_store(&job.failed, 1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (size_t i = 0; i < job.n; i++)
		free(job.files[i].path);
	free(job.files);
	if (!started || atomic_load(&job.failed))
		return 2;
	printf("%.3f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
