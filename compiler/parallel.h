/* parallel.h - run independent pieces of a phase on several threads.
 *
 * The caller splits a phase into n items that share nothing mutable; each
 * item writes only its own result slot and allocates only from the arena
 * of the worker running it.  Results are then consumed in item order by
 * the calling thread, so the output never depends on the thread count or
 * on which thread ran what. */
#ifndef BULKHEAD_PARALLEL_H
#define BULKHEAD_PARALLEL_H

#include <stddef.h>

#include "arena.h"

enum { PARALLEL_MAX_JOBS = 64 };

/* Per-worker state kept side by side in an array is written by its own
 * worker only, yet workers writing neighbouring elements take turns
 * owning the cache line between them (false sharing: two workers bumping
 * neighbouring arenas made every allocation a cache miss).  Each element
 * of such an array starts a line of its own: its first member is
 * declared PARALLEL_OWN_LINE, and heap arrays of it come from
 * parallel_calloc. */
enum { PARALLEL_LINE = 64 };
#define PARALLEL_OWN_LINE _Alignas(PARALLEL_LINE)
/* n zeroed elements of size bytes (a multiple of PARALLEL_LINE), the
 * first on a line boundary; release with free().  Never NULL. */
void *parallel_calloc(size_t n, size_t size);

/* A worker's arena: every allocation writes it. */
struct worker_arena {
	PARALLEL_OWN_LINE struct arena arena;
};
/* n empty worker arenas, for parallel_for; parallel_arenas_free frees
 * what was allocated in them, and them. */
struct worker_arena *parallel_arenas(unsigned n);
void parallel_arenas_free(struct worker_arena *arenas, unsigned n);

/* The number of worker threads for jobs (0: one per CPU this process may
 * run on, see parallel_cpus), at least 1 and at most PARALLEL_MAX_JOBS. */
unsigned parallel_jobs(unsigned jobs);
/* The number of threads that make output files and folders, for -j
 * given (0: not given) and the worker count it came to: given (-j is the
 * user's limit), else twice the workers, since making files mostly waits
 * on the disk (see emit.c).  Takes the count rather than counting the
 * CPUs again: that reads the cgroup's files. */
unsigned parallel_write_jobs(unsigned given, unsigned workers);
/* The CPUs this process may use: its affinity mask, lowered to its
 * cgroup's CPU quota (rounded up), so that a CI container given two CPUs
 * of a 64-CPU host runs two threads, not 64 that the quota throttles.
 * Reads /proc/self/cgroup and the quota files: call it once. */
unsigned parallel_cpus(void);
/* The lowest CPU quota on the way from this process's cgroups (as listed
 * in proc_cgroup) up to their roots under sys_root: cgroup v2's cpu.max,
 * v1's cpu.cfs_quota_us over cpu.cfs_period_us; 0 when there is none. */
unsigned parallel_cgroup_cpus(const char *proc_cgroup, const char *sys_root);
/* The CPUs a cgroup v2 cpu.max text ("200000 100000") allows, rounded
 * up; 0 for "max" (no quota) or text that is not a quota. */
unsigned parallel_quota_cpus(const char *cpu_max);

/* Calls fn(ctx, i, arena) for every i in [0, n) on up to jobs threads
 * (the caller's own thread is one of them).  arenas holds jobs arenas
 * and worker w allocates only from arenas[w].arena; with arenas NULL, fn gets
 * NULL (items that allocate nothing or only with malloc).  Diagnostics are muted
 * on every worker, the caller's thread included, for the duration: an
 * item that fails reports nothing and must be redone by the caller, in
 * order, to report its errors.  Falls back to running everything on the
 * caller's thread when threads cannot be started. */
void parallel_for(size_t n, unsigned jobs, struct worker_arena *arenas,
		  void (*fn)(void *ctx, size_t i, struct arena *arena), void *ctx);
/* parallel_for, and then(ctx, i) for every i in order on the caller's
 * thread, unmuted, as soon as fn(ctx, i) has returned: the caller's own
 * share of a phase (taking each result in turn) runs beside the workers'
 * instead of after them.  Between results it runs items itself. */
void parallel_for_then(size_t n, unsigned jobs, struct worker_arena *arenas,
		       void (*fn)(void *ctx, size_t i, struct arena *arena), void (*then)(void *ctx, size_t i),
		       void *ctx);
/* Calls fn(ctx, i) for every i in [0, n), as parallel_for does, with the
 * items taken in runs of run consecutive ones: for items so small, or so
 * close on disk (files of one folder), that taking them one at a time
 * would cost more in contention than it saves in balance.  No arenas. */
void parallel_for_runs(size_t n, size_t run, unsigned jobs, void (*fn)(void *ctx, size_t i), void *ctx);
/* Inside fn: the index of the worker running it, in [0, jobs); worker 0
 * is the caller's thread.  For per-worker scratch space. */
unsigned parallel_worker(void);

#endif
