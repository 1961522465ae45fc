/* test_parallel.c - compiler/parallel.c. */
#define _GNU_SOURCE 1	/* sched_setaffinity and CPU_COUNT, where there are */
#include "helpers.h"
#include "fixture.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "diag.h"
#include "parallel.h"

struct visits {
	size_t n;
	atomic_int *count;		/* times each item ran */
	struct worker_arena *arenas;	/* the arenas handed to parallel_for */
	unsigned narenas;
	atomic_int bad_arena;		/* an item got an arena not in the array */
	size_t **results;		/* each item's result, in its own arena */
};

static void visit(void *ctx, size_t i, struct arena *arena)
{
	struct visits *v = ctx;
	atomic_fetch_add(&v->count[i], 1);
	/* The worker's index names the same slot as its arena. */
	if (parallel_worker() >= v->narenas || arena != &v->arenas[parallel_worker()].arena)
		atomic_store(&v->bad_arena, 1);
	size_t *r = arena_alloc(arena, sizeof(*r));
	*r = i * i;
	v->results[i] = r;
	diag_error(NULL, 0, "item %zu", i);	/* workers are muted */
}

static void run_items(size_t n, unsigned jobs)
{
	struct visits v = { .n = n, .narenas = parallel_jobs(jobs) };
	v.count = calloc(n + 1, sizeof(*v.count));
	v.results = calloc(n + 1, sizeof(*v.results));
	v.arenas = parallel_calloc(v.narenas, sizeof(*v.arenas));
	atomic_init(&v.bad_arena, 0);
	for (unsigned w = 0; w < v.narenas; w++)
		arena_init(&v.arenas[w].arena);
	diag_clear();
	parallel_for(n, jobs, v.arenas, visit, &v);
	cr_assert_eq(parallel_worker(), 0, "the caller's thread is worker 0 again");
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(atomic_load(&v.count[i]), 1, "n=%zu jobs=%u: item %zu ran %d times", n, jobs, i,
			     atomic_load(&v.count[i]));
		cr_assert_eq(*v.results[i], i * i);
	}
	cr_assert_eq(atomic_load(&v.bad_arena), 0, "an item got a foreign arena or worker index");
	cr_assert_eq(diag_error_count(), 0, "a worker's diagnostic reached the sink");
	for (unsigned w = 0; w < v.narenas; w++)
		arena_free(&v.arenas[w].arena);
	free(v.arenas);
	free(v.results);
	free(v.count);
}

Test(parallel, every_item_runs_exactly_once)
{
	static const size_t sizes[] = { 0, 1, 2, 7, 1000 };
	static const unsigned jobs[] = { 1, 2, 3, 8 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
		for (size_t j = 0; j < sizeof(jobs) / sizeof(*jobs); j++)
			run_items(sizes[s], jobs[j]);
}

static void slow_item(void *ctx, size_t i, struct arena *arena)
{
	(void)arena;
	(void)i;
	atomic_int *others = ctx;
	struct timespec pause = { 0, 2000000 };	/* 2 ms: let the other thread take items */
	nanosleep(&pause, NULL);
	static _Thread_local int mine;
	if (!mine++)
		atomic_fetch_add(others, 1);
}

Test(parallel, uses_more_than_one_thread)
{
	struct worker_arena arenas[2];
	atomic_int threads;
	atomic_init(&threads, 0);
	arena_init(&arenas[0].arena);
	arena_init(&arenas[1].arena);
	parallel_for(40, 2, arenas, slow_item, &threads);
	cr_assert_eq(atomic_load(&threads), 2, "40 items of 2 ms ran on %d thread(s)", atomic_load(&threads));
	arena_free(&arenas[0].arena);
	arena_free(&arenas[1].arena);
}

Test(parallel, caller_diagnostics_resume_after_the_loop)
{
	diag_clear();
	run_items(3, 2);
	diag_error(NULL, 0, "after");
	cr_assert_eq(diag_error_count(), 1);
	cr_assert_eq(diag_mute(true), false, "the caller was left muted");
	diag_mute(false);
	diag_clear();
}

struct run_visits {
	atomic_int *count;	/* times each item ran */
	unsigned *worker;	/* which worker ran it */
};

static void visit_in_run(void *ctx, size_t i)
{
	struct run_visits *v = ctx;
	atomic_fetch_add(&v->count[i], 1);
	v->worker[i] = parallel_worker();
}

/* Every item once, the last run short, and a run never split between
 * workers. */
Test(parallel, runs_cover_every_item_once_and_stay_on_one_worker)
{
	static const size_t sizes[] = { 0, 1, 5, 512, 513, 4000 };
	static const size_t runs[] = { 1, 7, 512 };
	static const unsigned jobs[] = { 1, 2, 3 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
		for (size_t r = 0; r < sizeof(runs) / sizeof(*runs); r++)
			for (size_t j = 0; j < sizeof(jobs) / sizeof(*jobs); j++) {
				size_t n = sizes[s], run = runs[r];
				struct run_visits v = { calloc(n + 1, sizeof(atomic_int)), calloc(n + 1, sizeof(unsigned)) };
				parallel_for_runs(n, run, jobs[j], visit_in_run, &v);
				for (size_t i = 0; i < n; i++) {
					cr_assert_eq(atomic_load(&v.count[i]), 1, "n=%zu run=%zu jobs=%u: item %zu ran %d times",
						     n, run, jobs[j], i, atomic_load(&v.count[i]));
					cr_assert_eq(v.worker[i], v.worker[i - i % run],
						     "n=%zu run=%zu: item %zu left its run's worker", n, run, i);
				}
				free(v.count);
				free(v.worker);
			}
}

struct ordered {
	size_t n;
	atomic_int *ran;	/* times each item ran */
	size_t taken;		/* results taken so far, by the caller */
	int out_of_order;	/* a result taken before its item ran, or twice */
	int on_a_worker;	/* a result taken off the caller's thread */
	int muted;		/* a result taken while muted */
	pthread_t caller;
	unsigned slow_every;	/* every so many items sleep, so the caller waits */
};

static void ordered_item(void *ctx, size_t i, struct arena *arena)
{
	struct ordered *o = ctx;
	(void)arena;
	if (o->slow_every && i % o->slow_every == 0) {
		struct timespec pause = { 0, 1000000 };
		nanosleep(&pause, NULL);
	}
	diag_error(NULL, 0, "item %zu", i);	/* workers are muted */
	atomic_fetch_add(&o->ran[i], 1);
}

static void take_in_order(void *ctx, size_t i)
{
	struct ordered *o = ctx;
	o->out_of_order |= i != o->taken++ || atomic_load(&o->ran[i]) != 1;
	o->on_a_worker |= !pthread_equal(pthread_self(), o->caller);
	o->muted |= diag_muted();
}

/* Each result is taken once, in order, on the caller's thread, unmuted,
 * after its item ran, whatever the thread count and however long the
 * items take; every item runs once. */
Test(parallel, then_takes_each_result_in_order_after_its_item)
{
	static const size_t sizes[] = { 0, 1, 2, 7, 3000 };
	static const unsigned jobs[] = { 1, 2, 3, 8 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
		for (size_t j = 0; j < sizeof(jobs) / sizeof(*jobs); j++)
			for (unsigned slow = 0; slow <= 500; slow += 500) {
				size_t n = sizes[s];
				struct ordered o = { .n = n, .ran = calloc(n + 1, sizeof(atomic_int)),
						     .caller = pthread_self(), .slow_every = slow };
				diag_clear();
				parallel_for_then(n, jobs[j], NULL, ordered_item, take_in_order, &o);
				cr_assert_eq(o.taken, n, "n=%zu jobs=%u: %zu results taken", n, jobs[j], o.taken);
				cr_assert(!o.out_of_order, "n=%zu jobs=%u: a result was taken out of order", n, jobs[j]);
				cr_assert(!o.on_a_worker, "n=%zu jobs=%u: a result was taken on a worker", n, jobs[j]);
				cr_assert(!o.muted, "n=%zu jobs=%u: a result was taken muted", n, jobs[j]);
				for (size_t i = 0; i < n; i++)
					cr_assert_eq(atomic_load(&o.ran[i]), 1, "n=%zu jobs=%u: item %zu ran %d times", n,
						     jobs[j], i, atomic_load(&o.ran[i]));
				cr_assert_eq(diag_error_count(), 0, "an item's diagnostic reached the sink");
				cr_assert_eq(parallel_worker(), 0);
				free(o.ran);
			}
}

Test(parallel, job_counts)
{
	cr_assert_geq(parallel_jobs(0), 1);
	cr_assert_eq(parallel_jobs(0), parallel_cpus());
	cr_assert_eq(parallel_jobs(1), 1);
	cr_assert_eq(parallel_jobs(2), 2);
	cr_assert_eq(parallel_jobs(100000), PARALLEL_MAX_JOBS);
}

Test(parallel, writers_are_twice_the_cpus_unless_jobs_are_given)
{
	unsigned cpus = parallel_jobs(0);
	unsigned twice = 2 * cpus > PARALLEL_MAX_JOBS ? PARALLEL_MAX_JOBS : 2 * cpus;
	cr_expect_eq(parallel_write_jobs(0, cpus), twice);
	/* -j is the user's limit, -j 1 too. */
	cr_expect_eq(parallel_write_jobs(1, 1), 1);
	cr_expect_eq(parallel_write_jobs(3, 3), 3);
	cr_expect_eq(parallel_write_jobs(100000, parallel_jobs(100000)), PARALLEL_MAX_JOBS);
}

/* Each Criterion test runs in a process of its own, so narrowing this
 * one's affinity touches no other test. */
Test(parallel, default_follows_the_affinity_mask)
{
#ifdef CPU_COUNT
	cpu_set_t all, one;
	cr_assert_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	int first = 0;
	while (!CPU_ISSET(first, &all))
		first++;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	cr_expect_eq(parallel_cpus(), 1, "one CPU allowed, %u counted", parallel_cpus());
	cr_expect_eq(parallel_jobs(0), 1);
	cr_assert_eq(sched_setaffinity(0, sizeof(all), &all), 0);
	cr_expect_geq(parallel_cpus(), 1);
#else
	cr_skip_test("no sched_getaffinity here");
#endif
}

Test(parallel, cgroup_quota_text)
{
	cr_expect_eq(parallel_quota_cpus("max 100000\n"), 0, "no quota");
	cr_expect_eq(parallel_quota_cpus("200000 100000\n"), 2);
	cr_expect_eq(parallel_quota_cpus("150000 100000"), 2, "a CPU and a half rounds up");
	cr_expect_eq(parallel_quota_cpus("50000 100000\n"), 1);
	cr_expect_eq(parallel_quota_cpus("100000000 1000\n"), PARALLEL_MAX_JOBS);
	cr_expect_eq(parallel_quota_cpus(""), 0);
	cr_expect_eq(parallel_quota_cpus("200000"), 0, "no period");
	cr_expect_eq(parallel_quota_cpus("200000 0\n"), 0);
	cr_expect_eq(parallel_quota_cpus("0 100000\n"), 0);
	cr_expect_eq(parallel_quota_cpus("-1 100000\n"), 0, "strtoull would take a sign");
	cr_expect_eq(parallel_quota_cpus("2e5 100000\n"), 0);
	cr_expect_eq(parallel_quota_cpus("200000 100000 junk"), 0);
}

/* ---- cgroup quotas, on a made-up /proc/self/cgroup and /sys/fs/cgroup ---- */

static char cg_root[64];

static void cg_setup(void)
{
	strcpy(cg_root, "/tmp/bh-cgroup-XXXXXX");
	cr_assert_not_null(mkdtemp(cg_root));
}

static void cg_teardown(void)
{
	fixture_rm_rf(cg_root);
}

static unsigned cg_cpus(void)
{
	char proc[128], sys[128];
	snprintf(proc, sizeof(proc), "%s/proc-cgroup", cg_root);
	snprintf(sys, sizeof(sys), "%s/sys", cg_root);
	return parallel_cgroup_cpus(proc, sys);
}

TestSuite(cgroup, .init = cg_setup, .fini = cg_teardown);

Test(cgroup, v2_takes_the_lowest_quota_up_the_tree)
{
	fixture_write(cg_root, "proc-cgroup", "0::/ci/job/step\n");
	fixture_write(cg_root, "sys/ci/job/step/cpu.max", "max 100000\n");
	cr_expect_eq(cg_cpus(), 0, "no quota anywhere");
	fixture_write(cg_root, "sys/ci/cpu.max", "400000 100000\n");
	cr_expect_eq(cg_cpus(), 4, "a parent's quota binds its children");
	fixture_write(cg_root, "sys/ci/job/cpu.max", "150000 100000\n");
	cr_expect_eq(cg_cpus(), 2, "the lowest on the way up, rounded up");
}

Test(cgroup, a_path_the_mount_does_not_hold_ends_at_its_root)
{
	/* No cgroup namespace: the host's path, the container's own cgroup
	 * mounted as the root. */
	fixture_write(cg_root, "proc-cgroup", "0::/kubepods/burstable/pod1/c1\n");
	fixture_write(cg_root, "sys/cpu.max", "200000 100000\n");
	cr_expect_eq(cg_cpus(), 2);
}

Test(cgroup, v1_reads_the_cfs_quota_of_the_cpu_controller)
{
	fixture_write(cg_root, "proc-cgroup",
		      "9:name=systemd:/docker/abc\n4:memory:/docker/abc\n2:cpuacct:/\n1:cpu,cpuacct:/docker/abc\n");
	fixture_write(cg_root, "sys/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
	fixture_write(cg_root, "sys/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
	cr_expect_eq(cg_cpus(), 0, "-1 is no quota");
	fixture_write(cg_root, "sys/cpu,cpuacct/docker/cpu.cfs_quota_us", "300000\n");
	fixture_write(cg_root, "sys/cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n");
	cr_expect_eq(cg_cpus(), 3);
	/* A quota without its period is no quota. */
	fixture_write(cg_root, "sys/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "100000\n");
	fixture_write(cg_root, "sys/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "");
	cr_expect_eq(cg_cpus(), 3);
	/* cpuacct alone is not the cpu controller. */
	fixture_write(cg_root, "proc-cgroup", "2:cpuacct:/docker/abc\n");
	cr_expect_eq(cg_cpus(), 0);
}

Test(cgroup, odd_lines_and_a_deep_path)
{
	char line[3000], rel[2100], quota[2200];
	size_t n = 0;
	while (n + 10 < 2000)
		n += (size_t)snprintf(rel + n, sizeof(rel) - n, "/%08zu", n);
	snprintf(line, sizeof(line), "garbage\n:\n0::relative\n1:cpu\n0::%s\n", rel);
	fixture_write(cg_root, "proc-cgroup", line);
	snprintf(quota, sizeof(quota), "sys%s/cpu.max", rel);
	fixture_write(cg_root, quota, "100000 100000\n");
	cr_expect_eq(cg_cpus(), 1, "a cgroup 222 levels deep");
	fixture_write(cg_root, "proc-cgroup", "");
	cr_expect_eq(cg_cpus(), 0);
}

Test(cgroup, no_file_no_quota)
{
	cr_expect_eq(cg_cpus(), 0);
}

/* Per-worker elements each start a cache line of their own, on the heap
 * and on the stack, whatever the size of what they hold. */
Test(parallel, worker_slots_start_cache_lines_of_their_own)
{
	struct worker_arena *heap = parallel_calloc(5, sizeof(*heap));
	struct worker_arena stack[3];
	cr_assert_eq(sizeof(*heap) % PARALLEL_LINE, 0);
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq((uintptr_t)&heap[i] % PARALLEL_LINE, 0, "heap slot %zu", i);
		cr_assert_eq(heap[i].arena.chunks, NULL, "slot %zu is not zeroed", i);
	}
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq((uintptr_t)&stack[i] % PARALLEL_LINE, 0, "stack slot %zu", i);
	free(heap);
	void *none = parallel_calloc(0, PARALLEL_LINE);
	cr_assert_not_null(none, "no elements still gives a block to free");
	free(none);
}
