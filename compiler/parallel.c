/* parallel.c - a fork-join loop over items on POSIX threads. */
#define _GNU_SOURCE 1	/* sched_getaffinity and CPU_COUNT, where there are */
#include "parallel.h"
#include "diag.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct job {
	size_t n;
	atomic_size_t next;	/* the next item nobody has taken */
	void (*fn)(void *ctx, size_t i, struct arena *arena);
	void *ctx;
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

/* cpu.max of this process's cgroup (v2: the "0::PATH" line). */
static unsigned cgroup_quota_cpus(void)
{
	char line[4096], path[4200], text[64];
	unsigned cpus = 0;
	FILE *f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::/", 4))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max", strcmp(line + 3, "/") ? line + 3 : "");
		FILE *q = fopen(path, "r");
		if (q && fgets(text, sizeof(text), q))
			cpus = parallel_quota_cpus(text);
		if (q)
			fclose(q);
		break;
	}
	if (f)
		fclose(f);
	return cpus;
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
	unsigned quota = cgroup_quota_cpus();
	return quota && quota < cpus ? quota : cpus;
}

unsigned parallel_jobs(unsigned jobs)
{
	if (jobs == 0)
		jobs = parallel_cpus();
	return jobs > PARALLEL_MAX_JOBS ? PARALLEL_MAX_JOBS : jobs;
}

/* Items are taken one at a time: they vary in size (a unit file of ten
 * lines next to one of a thousand), so fixed slices would leave a core
 * idle at the end. */
static void *work(void *arg)
{
	struct worker *w = arg;
	struct job *job = w->job;
	bool was_muted = diag_mute(true);
	unsigned was_index = worker_index;
	worker_index = w->index;
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
		if (i >= job->n)
			break;
		job->fn(job->ctx, i, w->arena);
	}
	diag_mute(was_muted);
	worker_index = was_index;
	return NULL;
}

void parallel_for(size_t n, unsigned jobs, struct arena *arenas,
		  void (*fn)(void *ctx, size_t i, struct arena *arena), void *ctx)
{
	struct job job = { .n = n, .fn = fn, .ctx = ctx };
	struct worker workers[PARALLEL_MAX_JOBS];
	atomic_init(&job.next, 0);
	jobs = parallel_jobs(jobs);
	if ((size_t)jobs > n)
		jobs = n ? (unsigned)n : 1;
	unsigned started = 1;
	for (unsigned w = 0; w < jobs; w++)
		workers[w] = (struct worker){ .job = &job, .arena = arenas ? &arenas[w] : NULL, .index = w };
	/* Thread creation failing (EAGAIN under a process limit) only costs
	 * speed: the threads that did start, and this one, take every item. */
	while (started < jobs && pthread_create(&workers[started].thread, NULL, work, &workers[started]) == 0)
		started++;
	work(&workers[0]);
	for (unsigned w = 1; w < started; w++)
		pthread_join(workers[w].thread, NULL);
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
