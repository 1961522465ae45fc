/* test_cache.c - the build cache: what it records, when it is trusted. */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cache_dir.h"
#include "source.h"

static char cache_dir[64];

static void cache_setup(void)
{
	strcpy(cache_dir, "/tmp/bh-cache-XXXXXX");
	cr_assert_not_null(mkdtemp(cache_dir));
}

static void cache_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cache_dir);
	cr_assert_eq(system(cmd), 0);
	diag_clear();
}

static void cache_write(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", cache_dir, rel);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* Records a file and a missing path the way the work tree would. */
static void cache_trace(struct trace *t, const char *rel)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", cache_dir, rel);
	trace_record(t, rel, stat(path, &st) == 0 ? &st : NULL);
}

/* A trace that began a second ago, so nothing written before is racy. */
static void cache_trace_init(struct trace *t)
{
	trace_init(t);
	t->started_ns += 1000000000;
}

static char *cache_store_jobs(struct trace *t, struct emit_plan *plan, const char *out_dir,
			      const struct file_stamp *seen, unsigned jobs)
{
	struct project p;
	struct selection sel = { 0 };
	memset(&p, 0, sizeof(p));
	p.root = cache_dir;
	p.jobs = jobs;
	char *path = cache_file(cache_dir, NULL, &sel, false);
	struct emit_result res = { .seen = (struct file_stamp *)seen };
	for (size_t i = 0; i < plan->nfiles; i++)	/* as emit_plan hashes them */
		plan->files[i].hash = XXH3_128bits(plan->files[i].data, plan->files[i].len);
	cache_store(path, t, &p, out_dir, plan, &res);
	return path;
}

static char *cache_store_seen(struct trace *t, struct emit_plan *plan, const char *out_dir,
			      const struct file_stamp *seen)
{
	return cache_store_jobs(t, plan, out_dir, seen, 0);
}

static char *cache_store_into(struct trace *t, struct emit_plan *plan, const char *out_dir)
{
	return cache_store_seen(t, plan, out_dir, NULL);
}

static char *cache_store_simple(struct trace *t, struct emit_plan *plan)
{
	return cache_store_into(t, plan, cache_dir);
}

/* Records the root as the walk lists it: stat, then names. */
static void cache_trace_root(struct trace *t)
{
	struct buf names = BUF_INIT, kinds = BUF_INIT;
	struct stat st;
	size_t count;
	cr_assert_eq(source_list_at(AT_FDCWD, cache_dir, &names, &count, &kinds, &st), 0);
	trace_record_listing(t, "", &st, source_listing_hash(names.data, names.len, kinds.data, count));
	buf_free(&names);
	buf_free(&kinds);
}

static void cache_mkdir(const char *rel)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", cache_dir, rel);
	cr_assert_eq(mkdir(path, 0777), 0, "mkdir %s", path);
}

/* A first build creates out/ and .bulkhead/ in the root it listed; the
 * next build must still find its cache fresh.  Returns the cache path. */
static char *first_build(struct trace *t, struct emit_plan *plan, const char *also)
{
	char out[256];
	cache_write("unit.yaml", "inputs: {a: 1}\n");
	cache_trace_init(t);
	cache_trace_root(t);
	cache_trace(t, "unit.yaml");
	cache_trace(t, ".bulkhead");	/* probed for dependency outputs */
	cache_trace(t, "out");		/* probed for a symlink */
	char *cache_path = cache_file(cache_dir, NULL, &(struct selection){ 0 }, false);
	cache_prepare(cache_path);
	free(cache_path);
	cache_mkdir("out");
	if (also)
		cache_mkdir(also);
	/* The coarse clock that stamps mtimes must move past them. */
	struct timespec pause = { 0, 30 * 1000000 };
	nanosleep(&pause, NULL);
	plan->nunits = 1;
	snprintf(out, sizeof(out), "%s/out", cache_dir);
	return cache_store_into(t, plan, out);
}

Test(cache, a_root_changed_only_by_the_build_stays_fresh)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct cache_summary sum;
	char *path = first_build(&t, &plan, NULL);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 1, "out/ and .bulkhead/ made the next build miss");
	/* Dependency outputs appearing under .bulkhead/ must still count. */
	cache_mkdir(".bulkhead/outputs");
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0, "new dependency outputs went unnoticed");
	trace_free(&t);
	free(path);
}

Test(cache, a_root_that_gained_another_entry_is_not_fresh)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct cache_summary sum;
	char *path = first_build(&t, &plan, "qa");
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0, "a folder added during the build went unnoticed");
	trace_free(&t);
	free(path);
}

Test(cache, a_root_changed_after_the_build_is_not_fresh)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct cache_summary sum;
	char *path = first_build(&t, &plan, NULL);
	cache_mkdir("qa");
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0, "a folder added after the build went unnoticed");
	trace_free(&t);
	free(path);
}

TestSuite(cache, .init = cache_setup, .fini = cache_teardown);

Test(cache, key_depends_on_selection_output_and_options)
{
	struct selection none = { 0 }, dev = { 0 };
	const char *envs[] = { "dev" };
	dev.envs = envs;
	dev.nenvs = 1;
	char *a = cache_file("/r", NULL, &none, false), *b = cache_file("/r", NULL, &dev, false);
	char *c = cache_file("/r", "/elsewhere", &none, false), *d = cache_file("/r", NULL, &none, true);
	char *e = cache_file("/r", NULL, &none, false);
	cr_expect_str_neq(a, b);
	cr_expect_str_neq(a, c);
	cr_expect_str_neq(a, d);
	cr_expect_str_eq(a, e, "the same build must find the same cache");
	cr_expect_eq(strncmp(a, "/r/.bulkhead/cache/build-", 25), 0, "got %s", a);
	free(a), free(b), free(c), free(d), free(e);
}

Test(cache, unchanged_inputs_are_fresh_and_a_change_is_not)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct cache_summary sum;
	cache_write("unit.yaml", "inputs: {a: 1}\n");
	cache_trace_init(&t);
	cache_trace(&t, "unit.yaml");
	cache_trace(&t, "vars.yaml");	/* missing: adding it must invalidate */
	plan.nunits = 1;
	char *path = cache_store_simple(&t, &plan);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 1);
	cr_expect_eq(sum.units, 1);
	cache_write("vars.yaml", "a: 2\n");
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0, "a file that appeared must invalidate");
	trace_free(&t);
	free(path);
}

Test(cache, an_edited_file_is_not_fresh)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct cache_summary sum;
	cache_write("unit.yaml", "inputs: {a: 1}\n");
	cache_trace_init(&t);
	cache_trace(&t, "unit.yaml");
	plan.nunits = 1;
	char *path = cache_store_simple(&t, &plan);
	cache_write("unit.yaml", "inputs: {a: 22}\n");
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0);
	trace_free(&t);
	free(path);
}

Test(cache, an_input_changed_during_the_build_is_racy)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct cache_summary sum;
	cache_write("unit.yaml", "inputs: {a: 1}\n");
	trace_init(&t);
	t.started_ns -= 60LL * 1000000000;	/* the build began before the write */
	cache_trace(&t, "unit.yaml");
	plan.nunits = 1;
	char *path = cache_store_simple(&t, &plan);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0, "racy entries must not be trusted");
	trace_free(&t);
	free(path);
}

Test(cache, a_corrupt_cache_is_ignored)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct cache_summary sum;
	cache_write("unit.yaml", "inputs: {a: 1}\n");
	cache_trace_init(&t);
	cache_trace(&t, "unit.yaml");
	plan.nunits = 1;
	char *path = cache_store_simple(&t, &plan);
	FILE *f = fopen(path, "r+");
	cr_assert_not_null(f);
	fseek(f, 20, SEEK_SET);
	fputc('#', f);	/* one flipped byte breaks the checksum */
	fclose(f);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0);
	cr_expect_eq(cache_fresh("/nonexistent/cache", cache_dir, 2, &sum), 0);
	trace_free(&t);
	free(path);
}

Test(cache, a_missing_output_is_not_fresh)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct out_file file = { .path = "out.json" };
	struct cache_summary sum;
	cache_write("out.json", "{}\n");
	cache_write("manifest.json", "{}\n");
	cache_trace_init(&t);
	plan.files = &file;
	plan.nfiles = 1;
	plan.nunits = 1;
	char *path = cache_store_simple(&t, &plan);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 1);
	char out[256];
	snprintf(out, sizeof(out), "%s/out.json", cache_dir);
	unlink(out);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0, "a deleted output must be rebuilt");
	trace_free(&t);
	free(path);
}

/* The outputs' lines come back with their hashes; the manifest's line
 * holds the hash emit_write gave and, for a manifest listing exactly the
 * plan's files, the header that says so. */
Test(cache, cached_outputs_hold_hashes_and_the_manifest)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct out_file files[1] = { { .path = "a.json", .data = "{}\n", .len = 3, .hash = XXH3_128bits("{}\n", 3) } };
	cache_write("a.json", "{}\n");
	cache_write("manifest.json", "[]\n");
	plan.files = files;
	plan.nfiles = 1;
	plan.nunits = 1;
	struct project p;
	memset(&p, 0, sizeof(p));
	p.root = cache_dir;
	char *path = cache_file(cache_dir, NULL, &(struct selection){ 0 }, false);
	for (int whole = 0; whole < 2; whole++) {
		struct emit_result res = { .manifest_hash = 0x0123456789abcdefull, .manifest_whole = whole };
		struct cached_outputs got;
		cache_trace_init(&t);
		cache_store(path, &t, &p, cache_dir, &plan, &res);
		trace_free(&t);
		cache_outputs(path, cache_dir, &got);
		struct cached_output *a = map_get(&got.files, "a.json", 6);
		cr_assert_not_null(a);
		cr_expect_eq(a->hash, output_hash("{}\n", 3));
		cr_expect_eq(a->st.size, 3);
		cr_expect_null(map_get(&got.files, "manifest.json", 13), "the manifest is no output file");
		cr_expect(got.has_manifest);
		cr_expect_eq(got.manifest.hash, 0x0123456789abcdefull);
		cr_expect_eq(got.manifest_whole, (bool)whole);
		cache_outputs_free(&got);
	}
	/* Another output dir's record is not ours. */
	struct cached_outputs other;
	cache_outputs(path, "/elsewhere", &other);
	cr_expect_eq(other.files.len, 0);
	cr_expect_not(other.has_manifest);
	cr_expect_not(other.manifest_whole);
	cache_outputs_free(&other);
	free(path);
}

/* An output's line holds the stat data emit_write saw when it wrote it
 * (seen), not a stat taken afterwards: a file changed in between is then
 * not trusted.  Outputs seen has no record of are stat'ed. */
Test(cache, an_output_line_holds_the_stat_data_the_write_saw)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct out_file files[2] = { { .path = "a.json", .data = "{}\n", .len = 3 },
				     { .path = "b.json", .data = "[]\n", .len = 3 } };
	struct cache_summary sum;
	struct stat st;
	char path_a[256];
	cache_write("a.json", "{}\n");
	cache_write("b.json", "[]\n");
	cache_write("manifest.json", "{}\n");
	snprintf(path_a, sizeof(path_a), "%s/a.json", cache_dir);
	cr_assert_eq(lstat(path_a, &st), 0);
	struct file_stamp seen[2] = { file_stamp_of(&st), { 0 } };
	cache_trace_init(&t);
	plan.files = files;
	plan.nfiles = 2;
	plan.nunits = 1;
	char *path = cache_store_seen(&t, &plan, cache_dir, seen);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 1, "seen as on disk, b stat'ed");
	free(path);
	/* The write saw other stat data than a later stat gives: the line
	 * holds what it saw (the check then judges a.json by its bytes). */
	seen[0].mtime_ns += 1;
	path = cache_store_seen(&t, &plan, cache_dir, seen);
	char want[128];
	snprintf(want, sizeof(want), "\no f 3 %llu %llu ", (unsigned long long)seen[0].mtime_ns,
		 (unsigned long long)seen[0].ino);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	char text[4096];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cr_expect_not_null(strstr(text, want), "no line '%s' in:\n%s", want + 1, text);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 1, "same bytes: still fresh");
	trace_free(&t);
	free(path);
}

/* The stat checks run on the workers in runs of lines: one changed input
 * among thousands, first, last or at a run's edge, is found with any
 * thread count. */
static char *cache_of_many(struct trace *t, int n)
{
	struct emit_plan plan = { .nunits = (size_t)n };
	char name[32];
	cache_trace_init(t);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "u%04d.yaml", i);
		cache_trace(t, name);
	}
	return cache_store_simple(t, &plan);
}

/* The trace's lines are sorted and formatted on the workers, and the
 * outputs' lines formatted there: the file is the same, byte for byte,
 * on any number of them, the trace in path order, then the outputs in
 * plan order and the manifest. */
Test(cache, the_same_file_on_every_thread_count)
{
	enum { N = 3000, OUTPUTS = 1000 };
	static const unsigned jobs[] = { 1, 2, 3, 7 };
	static char out_names[OUTPUTS][16];
	static struct out_file files[OUTPUTS];
	struct trace t;
	struct emit_plan plan = { .nunits = N, .files = files, .nfiles = OUTPUTS };
	struct buf first = BUF_INIT, text = BUF_INIT;
	char name[32];
	cache_trace_init(&t);
	for (int i = N; i-- > 0;) {
		snprintf(name, sizeof(name), "u%04d.yaml", i);
		cache_write(name, "inputs: {a: 1}\n");
		cache_trace(&t, name);
		snprintf(name, sizeof(name), "gone%04d.yaml", i);
		cache_trace(&t, name);
	}
	for (int i = 0; i < OUTPUTS; i++) {	/* planned against path order */
		snprintf(out_names[i], sizeof(out_names[i]), "o%04d.json", OUTPUTS - 1 - i);
		files[i] = (struct out_file){ .path = out_names[i], .data = "{}\n", .len = 3 };
		cache_write(out_names[i], "{}\n");
	}
	cache_write("manifest.json", "{}\n");
	for (size_t j = 0; j < sizeof(jobs) / sizeof(*jobs); j++) {
		char *path = cache_store_jobs(&t, &plan, cache_dir, NULL, jobs[j]);
		FILE *f = fopen(path, "r");
		cr_assert_not_null(f, "-j %u", jobs[j]);
		buf_reset(&text);
		cr_assert_eq(buf_read_fd(&text, fileno(f), SIZE_MAX), 0);
		fclose(f);
		free(path);
		if (j == 0) {
			buf_add(&first, text.data, text.len);
			const char *a = strstr(text.data, " gone0000.yaml\n"), *b = strstr(text.data, " gone2999.yaml\n"),
				   *c = strstr(text.data, " u0000.yaml\n"), *d = strstr(text.data, " u2999.yaml\n");
			cr_expect(a && b && c && d && a < b && b < c && c < d, "lines in path order");
			const char *e = strstr(text.data, " o0999.json\n"), *g = strstr(text.data, " o0000.json\n"),
				   *m = strstr(text.data, " manifest.json\nsum ");
			cr_expect(e && g && m && d < e && e < g && g < m, "outputs in plan order, then the manifest");
			continue;
		}
		cr_expect(text.len == first.len && !memcmp(text.data, first.data, text.len), "-j %u differs from -j 1",
			  jobs[j]);
	}
	buf_free(&first);
	buf_free(&text);
	trace_free(&t);
}

Test(cache, one_change_among_thousands_on_every_thread_count)
{
	enum { N = 3000 };
	static const unsigned jobs[] = { 1, 2, 3 };
	static const int changed[] = { 0, 1023, 1024, N - 1 };
	struct cache_summary sum;
	char name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "u%04d.yaml", i);
		cache_write(name, "inputs: {a: 1}\n");
	}
	for (size_t c = 0; c < sizeof(changed) / sizeof(*changed); c++) {
		struct trace t;
		char *path = cache_of_many(&t, N);
		for (size_t j = 0; j < sizeof(jobs) / sizeof(*jobs); j++)
			cr_expect_eq(cache_fresh(path, cache_dir, jobs[j], &sum), 1, "-j %u", jobs[j]);
		snprintf(name, sizeof(name), "u%04d.yaml", changed[c]);
		cache_write(name, "inputs: {a: 22}\n");
		for (size_t j = 0; j < sizeof(jobs) / sizeof(*jobs); j++)
			cr_expect_eq(cache_fresh(path, cache_dir, jobs[j], &sum), 0, "%s changed, -j %u", name, jobs[j]);
		trace_free(&t);
		free(path);
	}
}

/* The build checks that the output dir is a real folder (so the trace
 * has its stat data), then writes into it: a rebuild after a change must
 * still find the next build's cache fresh, unless the folder was swapped. */
Test(cache, the_output_dir_counts_by_identity_not_mtime)
{
	struct trace t;
	struct emit_plan plan = { .nunits = 1 };
	struct cache_summary sum;
	char out[256], moved[256], inside[300];
	snprintf(out, sizeof(out), "%s/out", cache_dir);
	snprintf(moved, sizeof(moved), "%s/out.old", cache_dir);
	snprintf(inside, sizeof(inside), "%s/new.json", out);
	cr_assert_eq(mkdir(out, 0777), 0);
	cache_write("unit.yaml", "inputs: {a: 1}\n");
	cache_trace_init(&t);
	cache_trace(&t, "unit.yaml");
	cache_trace(&t, "out");
	char *path = cache_store_into(&t, &plan, out);
	struct timespec tick = { 0, 20000000 };
	nanosleep(&tick, NULL);	/* past the coarse clock's tick */
	FILE *f = fopen(inside, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 1, "a file the build wrote into out/ made the cache miss");
	cr_assert_eq(rename(out, moved), 0);
	cr_assert_eq(mkdir(out, 0777), 0);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0, "another folder in out/'s place went unnoticed");
	cr_assert_eq(rmdir(out), 0);
	cr_assert_eq(symlink("out.old", out), 0);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0, "out/ turned into a link went unnoticed");
	trace_free(&t);
	free(path);
}

/* ---- stat data that moved, bytes that did not ---- */

/* Records a file read the way the work tree does: stat, then bytes. */
static void cache_trace_read(struct trace *t, const char *rel)
{
	char path[256], data[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", cache_dir, rel);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot read %s", path);
	cr_assert_eq(fstat(fileno(f), &st), 0);
	size_t len = fread(data, 1, sizeof(data), f);
	fclose(f);
	trace_record_read(t, rel, &st, map_hash(data, len));
}

/* Sets a file's mtime to seconds since the epoch: moved stat data that
 * is not racy (long before any trace began). */
static void cache_set_mtime(const char *rel, time_t when)
{
	char path[256];
	struct timespec times[2] = { { when, 0 }, { when, 0 } };
	snprintf(path, sizeof(path), "%s/%s", cache_dir, rel);
	cr_assert_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* The line the cache holds for rel, or "" (a static buffer). */
static const char *cache_line_of(const char *cache_path, const char *rel)
{
	static char line[512];
	char want[256];
	FILE *f = fopen(cache_path, "r");
	cr_assert_not_null(f);
	snprintf(want, sizeof(want), " %s\n", rel);
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line), w = strlen(want);
		if (n >= w && !strcmp(line + n - w, want)) {
			fclose(f);
			return line;
		}
	}
	fclose(f);
	return "";
}

/* The cache at path is fresh until rel gets other bytes (text). */
static void fresh_until_written(const char *path, const char *rel, const char *text)
{
	struct cache_summary sum;
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 1, "before %s changed", rel);
	cache_write(rel, text);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0, "after %s changed", rel);
}

/* A build of one unit that read unit.yaml ("inputs: {a: 1}"), nothing
 * racy; returns the cache path. */
static char *cache_of_read_unit(struct trace *t)
{
	struct emit_plan plan = { .nunits = 1 };
	cache_write("unit.yaml", "inputs: {a: 1}\n");
	cache_trace_init(t);
	cache_trace_read(t, "unit.yaml");
	return cache_store_simple(t, &plan);
}

Test(cache, a_touched_input_with_the_same_bytes_stays_fresh_and_is_refreshed)
{
	struct trace t;
	struct cache_summary sum;
	char *path = cache_of_read_unit(&t);
	cr_expect(strstr(cache_line_of(path, "unit.yaml"), "i f 15 "), "%s", cache_line_of(path, "unit.yaml"));
	cache_set_mtime("unit.yaml", 1500000000);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 1, "the same bytes under a new mtime");
	cr_expect_eq(sum.units, 1);
	cr_expect(strstr(cache_line_of(path, "unit.yaml"), " 1500000000000000000 "),
		  "the cache was not refreshed with the new mtime: %s", cache_line_of(path, "unit.yaml"));
	cr_expect_eq(cache_fresh(path, cache_dir, 1, &sum), 1, "the refreshed cache");
	trace_free(&t);
	free(path);
}

Test(cache, moved_stat_data_and_other_bytes_of_the_same_size_are_not_fresh)
{
	struct trace t;
	struct cache_summary sum;
	char *path = cache_of_read_unit(&t);
	cache_write("unit.yaml", "inputs: {a: 2}\n");
	cache_set_mtime("unit.yaml", 1500000000);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0);
	trace_free(&t);
	free(path);
}

/* Racy stat data no longer forces a rebuild when the bytes are the ones
 * the build read; changed bytes still do. */
Test(cache, a_racy_input_is_judged_by_its_bytes)
{
	struct trace t;
	struct emit_plan plan = { .nunits = 1 };
	cache_write("unit.yaml", "inputs: {a: 1}\n");
	trace_init(&t);
	t.started_ns -= 60LL * 1000000000;	/* the build began before the write */
	cache_trace_read(&t, "unit.yaml");
	char *path = cache_store_simple(&t, &plan);
	fresh_until_written(path, "unit.yaml", "inputs: {a: 3}\n");
	trace_free(&t);
	free(path);
}

/* Bytes hashed at a read hold only for the stat data seen with them: a
 * later look at the path with other stat data drops the hash. */
Test(cache, a_later_look_with_other_stat_data_drops_the_hash)
{
	struct trace t;
	struct emit_plan plan = { .nunits = 1 };
	struct cache_summary sum;
	cache_write("unit.yaml", "inputs: {a: 1}\n");
	cache_trace_init(&t);
	cache_trace_read(&t, "unit.yaml");
	cache_set_mtime("unit.yaml", 1400000000);
	cache_trace(&t, "unit.yaml");
	char *path = cache_store_simple(&t, &plan);
	cr_expect(strstr(cache_line_of(path, "unit.yaml"), " - unit.yaml"), "%s", cache_line_of(path, "unit.yaml"));
	cache_set_mtime("unit.yaml", 1500000000);
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0, "trusted bytes nobody hashed");
	trace_free(&t);
	free(path);
}

/* Outputs carry the hash of what the build wrote: one touched since is
 * still current, one edited is not. */
Test(cache, a_touched_output_with_the_same_bytes_stays_fresh)
{
	struct trace t;
	struct emit_plan plan = { 0 };
	struct out_file file = { .path = "out.json", .data = "{}\n", .len = 3 };
	cache_write("out.json", "{}\n");
	cache_write("manifest.json", "{}\n");
	cache_trace_init(&t);
	plan.files = &file;
	plan.nfiles = 1;
	plan.nunits = 1;
	char *path = cache_store_simple(&t, &plan);
	cache_set_mtime("out.json", 1500000000);
	fresh_until_written(path, "out.json", "[]\n");
	trace_free(&t);
	free(path);
}

/* Every version names its cache file differently: storing drops the
 * build-* files another version wrote, and keeps this version's other
 * selections and anything else in the folder. */
Test(cache, storing_drops_the_caches_of_other_versions)
{
	struct trace t;
	struct emit_plan plan = { .nunits = 1 };
	struct cache_summary sum;
	char other[300], sibling[300], keep[300], tmp[300];
	char *mine = cache_file(cache_dir, NULL, &(struct selection){ 0 }, false);
	char *selected = cache_file(cache_dir, NULL, &(struct selection){ .envs = (const char *[]){ "dev" }, .nenvs = 1 },
				    false);
	cache_prepare(mine);
	snprintf(other, sizeof(other), "%s/.bulkhead/cache/build-0123456789abcdef", cache_dir);
	snprintf(keep, sizeof(keep), "%s/.bulkhead/cache/notes", cache_dir);
	snprintf(tmp, sizeof(tmp), "%s/.bulkhead/cache/build-0123456789abcdef.tmp", cache_dir);
	snprintf(sibling, sizeof(sibling), "%s", selected);
	cache_write(".bulkhead/cache/build-0123456789abcdef", "bulkhead-cache 1 v0.9\nsum 0\n");
	cache_write(".bulkhead/cache/notes", "kept\n");
	cache_write(".bulkhead/cache/build-0123456789abcdef.tmp", "half\n");
	cache_write("unit.yaml", "inputs: {a: 1}\n");
	/* A cache of this version for another selection. */
	cache_trace_init(&t);
	cache_trace_read(&t, "unit.yaml");
	struct project p;
	memset(&p, 0, sizeof(p));
	p.root = cache_dir;
	cache_store(sibling, &t, &p, cache_dir, &plan, &(struct emit_result){ 0 });
	char *path = cache_store_simple(&t, &plan);
	cr_expect_str_eq(path, mine);
	cr_expect_neq(access(other, F_OK), 0, "another version's cache was kept");
	cr_expect_eq(access(sibling, F_OK), 0, "this version's cache of another selection was dropped");
	cr_expect_eq(access(keep, F_OK), 0, "a file that is no cache was dropped");
	cr_expect_eq(access(tmp, F_OK), 0, "a temporary file was dropped");
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 1);
	trace_free(&t);
	free(path);
	free(mine);
	free(selected);
}

/* A cache vouches only for the work tree that wrote it: the same files
 * and the same cache file in another folder (a fresh clone of a repo
 * that committed its cache, say) are not trusted, bytes and all. */
Test(cache, a_cache_in_another_work_tree_is_not_trusted)
{
	struct trace t;
	struct cache_summary sum;
	char copy[128], cmd[512], copied_cache[512];
	char *path = cache_of_read_unit(&t);
	cr_assert_eq(cache_fresh(path, cache_dir, 2, &sum), 1);
	snprintf(copy, sizeof(copy), "%s-clone", cache_dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -a %s %s", copy, cache_dir, copy);
	cr_assert_eq(system(cmd), 0);
	snprintf(copied_cache, sizeof(copied_cache), "%s%s", copy, path + strlen(cache_dir));
	cr_expect_eq(cache_fresh(copied_cache, copy, 2, &sum), 0, "a copied cache vouched for another tree");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", copy);
	cr_assert_eq(system(cmd), 0);
	trace_free(&t);
	free(path);
}

/* .bulkhead/ comes from the repo: committed as a link, it would lead the
 * cache's writes and its pruning out of the work tree.  Then the cache
 * is not used at all. */
Test(cache, a_linked_bulkhead_folder_is_neither_written_nor_pruned)
{
	struct trace t;
	struct cache_summary sum;
	char target[128], link[128], foreign[256], cmd[700];
	snprintf(target, sizeof(target), "%s-elsewhere", cache_dir);
	snprintf(link, sizeof(link), "%s/.bulkhead", cache_dir);
	snprintf(foreign, sizeof(foreign), "%s/cache/build-0123456789abcdef", target);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/cache && echo old > %s", target, target, foreign);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(symlink(target, link), 0);
	char *path = cache_of_read_unit(&t);
	cr_expect_neq(access(path, F_OK), 0, "wrote the cache through the link");
	cr_expect_eq(access(foreign, F_OK), 0, "pruned a file through the link");
	cr_expect_eq(cache_fresh(path, cache_dir, 2, &sum), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", target);
	cr_assert_eq(system(cmd), 0);
	trace_free(&t);
	free(path);
}

/* The names in cache_dir, sorted and joined by spaces. */
static char *cache_names(void)
{
	struct buf b = BUF_INIT;
	struct dirent **names;
	int n = scandir(cache_dir, &names, NULL, alphasort);
	cr_assert_geq(n, 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
			buf_printf(&b, "%s%s", b.len ? " " : "", names[i]->d_name);
		free(names[i]);
	}
	free(names);
	buf_puts(&b, "");
	return buf_detach(&b, NULL);
}

/* A file written with no name leaves nothing behind until it is linked
 * in (the parse cache's store, beside workers that may end the process),
 * and then replaces the file of that name whole. */
Test(cache, an_unnamed_file_shows_only_once_linked_in_place_of_the_old)
{
	cache_write("parse", "old\n");
	int dir_fd = open(cache_dir, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(dir_fd, 0);
	int fd = cache_open_unnamed(dir_fd);
	if (fd < 0) {
		cr_log_warn("no O_TMPFILE on %s: the named temp file is used (skipped)", cache_dir);
		close(dir_fd);
		return;
	}
	cr_assert_eq(write(fd, "new\n", 4), 4);
	char *names = cache_names();
	cr_expect_str_eq(names, "parse", "a file with no name shows in the folder");
	free(names);
	cr_assert_eq(cache_link_unnamed(dir_fd, fd, "parse"), 0, "%s", strerror(errno));
	close(fd);
	names = cache_names();
	cr_expect_str_eq(names, "parse");
	free(names);
	char path[256], got[16] = { 0 };
	snprintf(path, sizeof(path), "%s/parse", cache_dir);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_expect_eq(fread(got, 1, sizeof(got) - 1, f), 4);
	fclose(f);
	cr_expect_str_eq(got, "new\n");

	/* Never linked: gone with its descriptor. */
	fd = cache_open_unnamed(dir_fd);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "lost\n", 5), 5);
	close(fd);
	names = cache_names();
	cr_expect_str_eq(names, "parse");
	free(names);
	close(dir_fd);
}
