/* parallel.c - a fork-join loop over items on POSIX threads. */
#define _GNU_SOURCE 1	/* sched_getaffinity and CPU_COUNT, where there are */
#include "parallel.h"
#include "buf.h"
#include "diag.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct job {
	size_t n;
	void (*fn)(void *ctx, size_t i, struct arena *arena);
	void *ctx;
	_Atomic unsigned char *done;	/* per item, for parallel_for_then; or NULL */
	/* Every item taken writes it: the fields read beside it stay put. */
	PARALLEL_OWN_LINE atomic_size_t next;	/* the next item nobody has taken */
};

struct worker {
	struct job *job;
	struct arena *arena;
	unsigned index;
	pthread_t thread;
};

static _Thread_local unsigned worker_index;

unsigned parallel_worker(void)
{
	return worker_index;
}

unsigned parallel_quota_cpus(const char *cpu_max)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)cpu_max[0]))
		return 0;	/* "max", or a sign strtoull would accept */
	unsigned long long quota = strtoull(cpu_max, &end, 10);
	if (*end != ' ' || !isdigit((unsigned char)end[1]) || errno)
		return 0;
	unsigned long long period = strtoull(end + 1, &end, 10);
	if ((*end && *end != '\n') || errno || period == 0 || quota == 0)
		return 0;
	unsigned long long cpus = quota / period + (quota % period != 0);
	return cpus > PARALLEL_MAX_JOBS ? PARALLEL_MAX_JOBS : (unsigned)cpus;
}

/* The first line of a small file (cpu.max, cpu.cfs_quota_us). */
static bool read_first_line(const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, out, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return true;
}

/* The quota set in one cgroup folder: v2's cpu.max, or v1's CFS quota
 * and period (a quota of -1 is none). */
static unsigned quota_in(struct buf *dir, bool v1)
{
	char quota[64], period[64], text[130];
	size_t len = dir->len;
	bool ok;
	buf_puts(dir, v1 ? "/cpu.cfs_quota_us" : "/cpu.max");
	ok = read_first_line(dir->data, quota, sizeof(quota));
	dir->len = len;
	if (ok && v1) {
		buf_puts(dir, "/cpu.cfs_period_us");
		ok = read_first_line(dir->data, period, sizeof(period));
		dir->len = len;
		snprintf(text, sizeof(text), "%s %s", quota, ok ? period : "");
	} else {
		snprintf(text, sizeof(text), "%s", ok ? quota : "");
	}
	dir->data[len] = '\0';
	return parallel_quota_cpus(text);
}

/* The tighter of two quotas, 0 being none. */
static unsigned tighter(unsigned a, unsigned b)
{
	return a && (!b || a < b) ? a : b;
}

/* The lowest quota from the cgroup rel up to the root of the hierarchy
 * mounted at mount: a parent's limit binds its children.  A container
 * without a cgroup namespace of its own names a path its mount does not
 * hold; the walk then ends at the mount's root, its own cgroup. */
static unsigned lowest_quota(const char *mount, const char *rel, bool v1)
{
	struct buf dir = BUF_INIT;
	size_t root = strlen(mount);
	unsigned lowest = 0;
	buf_puts(&dir, mount);
	buf_puts(&dir, strcmp(rel, "/") ? rel : "");
	for (;;) {
		lowest = tighter(quota_in(&dir, v1), lowest);
		if (dir.len <= root)
			break;
		while (dir.len > root && dir.data[dir.len - 1] != '/')
			dir.len--;
		dir.len -= dir.len > root;	/* the slash */
		dir.data[dir.len] = '\0';
	}
	buf_free(&dir);
	return lowest;
}

/* Whether a v1 line's controller list ("cpu,cpuacct") holds "cpu". */
static bool has_cpu_controller(const char *list, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = strcspn(list + i, ",:");
		if (n == 3 && !strncmp(list + i, "cpu", 3))
			return true;
		i += n + 1;
	}
	return false;
}

unsigned parallel_cgroup_cpus(const char *proc_cgroup, const char *sys_root)
{
	struct buf text = BUF_INIT, mount = BUF_INIT;
	unsigned lowest = 0;
	if (buf_read_file(&text, proc_cgroup) < 0)
		goto out;
	for (char *line = text.data, *next; line && *line; line = next) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		/* "ID:CONTROLLERS:PATH"; v2 is "0::PATH" */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || c2[1] != '/')
			continue;
		bool v2 = c2 == c1 + 1 && !strncmp(line, "0:", 2);
		if (!v2 && !has_cpu_controller(c1 + 1, (size_t)(c2 - c1 - 1)))
			continue;
		buf_reset(&mount);
		buf_puts(&mount, sys_root);
		if (!v2) {
			buf_putc(&mount, '/');
			buf_add(&mount, c1 + 1, (size_t)(c2 - c1 - 1));
		}
		lowest = tighter(lowest_quota(mount.data, c2 + 1, !v2), lowest);
	}
out:
	buf_free(&text);
	buf_free(&mount);
	return lowest;
}

unsigned parallel_cpus(void)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned cpus = online > 0 ? (unsigned)online : 1;
#ifdef CPU_COUNT
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		cpus = (unsigned)CPU_COUNT(&set);
#endif
	return tighter(parallel_cgroup_cpus("/proc/self/cgroup", "/sys/fs/cgroup"), cpus);
}

unsigned parallel_jobs(unsigned jobs)
{
	if (jobs == 0)
		jobs = parallel_cpus();
	return jobs > PARALLEL_MAX_JOBS ? PARALLEL_MAX_JOBS : jobs;
}

unsigned parallel_write_jobs(unsigned given, unsigned workers)
{
	return parallel_jobs(given ? given : 2 * workers);
}

/* Runs item i on worker w, muted, and marks it done for a caller taking
 * results in order. */
static void run_item(struct worker *w, size_t i)
{
	struct job *job = w->job;
	bool was_muted = diag_mute(true);
	unsigned was_index = worker_index;
	worker_index = w->index;
	job->fn(job->ctx, i, w->arena);
	worker_index = was_index;
	diag_mute(was_muted);
	if (job->done)
		atomic_store_explicit(&job->done[i], 1, memory_order_release);
}

/* The next item nobody has taken, or n. */
static size_t take_item(struct job *job)
{
	size_t i = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
	return i < job->n ? i : job->n;
}

/* Items are taken one at a time: they vary in size (a unit file of ten
 * lines next to one of a thousand), so fixed slices would leave a core
 * idle at the end. */
static void *work(void *arg)
{
	struct worker *w = arg;
	for (size_t i; (i = take_item(w->job)) < w->job->n;)
		run_item(w, i);
	return NULL;
}

void *parallel_calloc(size_t n, size_t size)
{
	n = n ? n : 1;
	if (size % PARALLEL_LINE || size > SIZE_MAX / n)
		fatal_oom();
	void *p = aligned_alloc(PARALLEL_LINE, n * size);
	if (!p)
		fatal_oom();
	return memset(p, 0, n * size);
}

struct worker_arena *parallel_arenas(unsigned n)
{
	struct worker_arena *arenas = parallel_calloc(n, sizeof(*arenas));
	for (unsigned i = 0; i < n; i++)
		arena_init(&arenas[i].arena);
	return arenas;
}

void parallel_arenas_free(struct worker_arena *arenas, unsigned n)
{
	for (unsigned i = 0; arenas && i < n; i++)
		arena_free(&arenas[i].arena);
	free(arenas);
}

/* Starts the workers of job after the caller's own (workers[0]); returns
 * how many run, the caller's included.  Thread creation failing (EAGAIN
 * under a process limit) only costs speed: the threads that did start,
 * and the caller's, take every item. */
static unsigned start_workers(struct job *job, struct worker *workers, unsigned jobs, struct worker_arena *arenas)
{
	jobs = parallel_jobs(jobs);
	if ((size_t)jobs > job->n)
		jobs = job->n ? (unsigned)job->n : 1;
	for (unsigned w = 0; w < jobs; w++)
		workers[w] = (struct worker){ .job = job, .arena = arenas ? &arenas[w].arena : NULL, .index = w };
	unsigned started = 1;
	while (started < jobs && pthread_create(&workers[started].thread, NULL, work, &workers[started]) == 0)
		started++;
	return started;
}

static void join_workers(struct worker *workers, unsigned started)
{
	for (unsigned w = 1; w < started; w++)
		pthread_join(workers[w].thread, NULL);
}

void parallel_for(size_t n, unsigned jobs, struct worker_arena *arenas,
		  void (*fn)(void *ctx, size_t i, struct arena *arena), void *ctx)
{
	struct job job = { .n = n, .fn = fn, .ctx = ctx };
	struct worker workers[PARALLEL_MAX_JOBS];
	atomic_init(&job.next, 0);
	unsigned started = start_workers(&job, workers, jobs, arenas);
	work(&workers[0]);
	join_workers(workers, started);
}

void parallel_for_then(size_t n, unsigned jobs, struct worker_arena *arenas,
		       void (*fn)(void *ctx, size_t i, struct arena *arena), void (*then)(void *ctx, size_t i),
		       void *ctx)
{
	struct job job = { .n = n, .fn = fn, .ctx = ctx, .done = xcalloc(n ? n : 1, sizeof(*job.done)) };
	struct worker workers[PARALLEL_MAX_JOBS];
	atomic_init(&job.next, 0);
	for (size_t i = 0; i < n; i++)
		atomic_init(&job.done[i], 0);
	unsigned started = start_workers(&job, workers, jobs, arenas);
	for (size_t next = 0; next < n;) {
		size_t i;
		if (atomic_load_explicit(&job.done[next], memory_order_acquire))
			then(ctx, next++);
		else if ((i = take_item(&job)) < n)
			run_item(&workers[0], i);
		else
			sched_yield();	/* item next is running on another worker */
	}
	join_workers(workers, started);
	free(job.done);
}

struct runs {
	size_t n, run;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
};

static void one_run(void *ctx, size_t r, struct arena *arena)
{
	const struct runs *rs = ctx;
	size_t end = rs->n - r * rs->run < rs->run ? rs->n : (r + 1) * rs->run;
	(void)arena;
	for (size_t i = r * rs->run; i < end; i++)
		rs->fn(rs->ctx, i);
}

void parallel_for_runs(size_t n, size_t run, unsigned jobs, void (*fn)(void *ctx, size_t i), void *ctx)
{
	struct runs rs = { n, run ? run : 1, fn, ctx };
	parallel_for((n + rs.run - 1) / rs.run, jobs, NULL, one_run, &rs);
}
