/* test_stat_index.c - folders and files trusted by their stat data: a
 * lookup hits only for the stat data noted, racy stamps are never
 * recorded, and a file that is not sound, or made for another root, is
 * ignored. */
#include "helpers.h"
#include "fixture.h"

#include <fcntl.h>
#include <stdint.h>
#include <xxhash.h>

#include "source.h"
#include "stat_index.h"

static char si_root[64];

static void si_setup(void)
{
	strcpy(si_root, "/tmp/bh-stat-XXXXXX");
	cr_assert_not_null(mkdtemp(si_root));
	fixture_write(si_root, "a/unit.yaml", "inputs: {x: 1}\n");
	fixture_write(si_root, "b/unit.yaml", "inputs: {y: 2}\n");
	/* Old mtimes: a change made by a test then moves them for sure,
	 * even within the clock tick that made the files. */
	static const char *const made[] = { "a", "b", "a/unit.yaml", "b/unit.yaml" };
	const struct timespec old[2] = { { 978307200, 0 }, { 978307200, 0 } };
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof(made) / sizeof(*made); i++) {
		snprintf(path, sizeof(path), "%s/%s", si_root, made[i]);
		cr_assert_eq(utimensat(AT_FDCWD, path, old, 0), 0);
	}
}

static void si_teardown(void)
{
	fixture_rm_rf(si_root);
}

TestSuite(stat_index, .init = si_setup, .fini = si_teardown);

static struct stat lstat_of(const char *root, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(lstat(path, &st), 0, "lstat %s", path);
	return st;
}

static char *index_path(const char *root, char *path)
{
	snprintf(path, PATH_MAX, "%s/.bulkhead/cache/stat", root);
	return path;
}

/* Opens the index of root as a run does, with every stamp counted as
 * old: files made by a test are as new as its run. */
static void open_settled(struct stat_index *si, const char *root)
{
	stat_index_open(si, root);
	si->started_ns = INT64_MAX;
}

static const char one_name[] = "unit.yaml";	/* with its NUL: one name */
static const char one_kind[] = { SRC_FILE };

/* Notes folder dir (holding unit.yaml) and its unit.yaml as a run would. */
static void note_unit(struct stat_index *si, const char *root, const char *dir, uint64_t hash)
{
	char file[PATH_MAX];
	struct stat st = lstat_of(root, dir);
	stat_index_note_listing(si, dir, &st, one_name, sizeof(one_name), one_kind, 1);
	snprintf(file, sizeof(file), "%s/unit.yaml", dir);
	st = lstat_of(root, file);
	stat_index_note_file(si, file, &st, hash, (size_t)st.st_size);
}

static void store_both(const char *root)
{
	struct stat_index si;
	open_settled(&si, root);
	note_unit(&si, root, "a", 0xa1);
	note_unit(&si, root, "b", 0xb2);
	stat_index_store(&si);
	stat_index_close(&si);
}

static bool file_hits(const struct stat_index *si, const char *root, const char *rel, uint64_t *hash)
{
	struct stat st = lstat_of(root, rel);
	size_t len;
	return stat_index_file(si, rel, &st, hash, &len) && len == (size_t)st.st_size;
}

Test(stat_index, lookups_hit_for_the_stat_data_noted)
{
	struct stat_index si;
	struct buf names = BUF_INIT, kinds = BUF_INIT;
	size_t count = 0;
	uint64_t hash = 0;
	store_both(si_root);
	stat_index_open(&si, si_root);
	struct stat st = lstat_of(si_root, "a");
	cr_assert(stat_index_listing(&si, "a", &st, &names, &count, &kinds));
	cr_assert_eq(count, 1);
	cr_assert_eq(names.len, sizeof(one_name));
	cr_assert_str_eq(names.data, "unit.yaml");
	cr_assert_eq(kinds.data[0], SRC_FILE);
	cr_assert(file_hits(&si, si_root, "b/unit.yaml", &hash));
	cr_assert_eq(hash, 0xb2);
	/* A folder is not a file, and a path never noted is no hit. */
	cr_assert_not(stat_index_file(&si, "a", &st, &hash, &count));
	cr_assert_not(stat_index_listing(&si, "c", &st, &names, &count, &kinds));
	/* A file whose bytes changed (its size and times) misses. */
	fixture_write(si_root, "a/unit.yaml", "inputs: {x: 10}\n");
	cr_assert_not(file_hits(&si, si_root, "a/unit.yaml", &hash));
	/* A folder given a new entry (its times) misses. */
	fixture_write(si_root, "b/vars.yaml", "k: v\n");
	st = lstat_of(si_root, "b");
	cr_assert_not(stat_index_listing(&si, "b", &st, &names, &count, &kinds));
	stat_index_close(&si);
	buf_free(&names);
	buf_free(&kinds);
}

Test(stat_index, racy_stamps_are_never_recorded)
{
	struct stat_index si;
	char path[PATH_MAX];
	stat_index_open(&si, si_root);
	si.started_ns = 0;	/* every stamp is this run's or later */
	note_unit(&si, si_root, "a", 1);
	stat_index_store(&si);
	stat_index_close(&si);
	cr_assert_neq(access(index_path(si_root, path), F_OK), 0, "an index of racy entries was written");
}

Test(stat_index, a_run_of_hits_writes_nothing)
{
	struct stat_index si;
	store_both(si_root);
	struct stat before = lstat_of(si_root, ".bulkhead/cache/stat");
	open_settled(&si, si_root);
	note_unit(&si, si_root, "a", 0xa1);
	note_unit(&si, si_root, "b", 0xb2);
	stat_index_store(&si);
	stat_index_close(&si);
	struct stat after = lstat_of(si_root, ".bulkhead/cache/stat");
	cr_assert_eq(before.st_ino, after.st_ino, "rewritten");
}

/* Paths this run did not look at stay while they are no more than the
 * rest; a changed entry replaces its old one. */
Test(stat_index, unseen_entries_stay_and_changed_ones_are_replaced)
{
	struct stat_index si;
	uint64_t hash = 0;
	store_both(si_root);
	open_settled(&si, si_root);
	note_unit(&si, si_root, "a", 0xa9);	/* another text: recorded anew */
	stat_index_store(&si);
	stat_index_close(&si);
	stat_index_open(&si, si_root);
	cr_assert(file_hits(&si, si_root, "a/unit.yaml", &hash));
	cr_assert_eq(hash, 0xa9, "the old entry survived its replacement");
	cr_assert(file_hits(&si, si_root, "b/unit.yaml", &hash), "an unseen entry was dropped");
	cr_assert_eq(hash, 0xb2);
	cr_assert_eq(si.n, 4, "%zu entries, wanted 4 (no duplicates)", si.n);
	stat_index_close(&si);
}

static void reopen_expect_empty(const char *root, const char *why)
{
	struct stat_index si;
	uint64_t hash;
	stat_index_open(&si, root);
	cr_assert_eq(si.n, 0, "%s: %zu entries trusted", why, si.n);
	cr_assert_not(file_hits(&si, root, "a/unit.yaml", &hash), "%s: a hit", why);
	stat_index_close(&si);
}

static void rewrite(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

Test(stat_index, a_damaged_file_is_ignored)
{
	char path[PATH_MAX];
	struct buf b = BUF_INIT;
	store_both(si_root);
	cr_assert_eq(buf_read_file(&b, index_path(si_root, path)), 0);
	b.data[b.len / 2] ^= 0x40;
	rewrite(path, b.data, b.len);
	reopen_expect_empty(si_root, "a flipped bit");
	rewrite(path, b.data, b.len / 3);
	reopen_expect_empty(si_root, "a cut file");
	buf_free(&b);
}

/* Sealed, but a folder's names do not fill what its count says: the
 * reader checks the shape, not only the seal. */
Test(stat_index, a_sealed_but_malformed_file_is_ignored)
{
	char path[PATH_MAX];
	struct buf b = BUF_INIT;
	store_both(si_root);
	cr_assert_eq(buf_read_file(&b, index_path(si_root, path)), 0);
	/* The first entry is folder "a" (noted first): its name count
	 * follows kind, six u64 stat fields, the u32 path length, "a\0". */
	const char *magic_end = memchr(b.data, '\n', b.len);
	size_t entry = (size_t)(magic_end + 1 - b.data) + 3 * 8;
	size_t count_at = entry + 1 + 6 * 8 + 4 + 2;
	cr_assert_eq(b.data[entry], 'd');
	cr_assert_eq((unsigned char)b.data[count_at], 1);
	b.data[count_at] = 2;
	uint64_t seal = XXH3_64bits(b.data, b.len - 8);
	for (size_t i = 0; i < 8; i++)
		b.data[b.len - 8 + i] = (char)(seal >> (8 * i));
	rewrite(path, b.data, b.len);
	reopen_expect_empty(si_root, "two names counted, one there");
	buf_free(&b);
}

Test(stat_index, a_file_made_for_another_root_is_ignored)
{
	char path[PATH_MAX], other_path[PATH_MAX], other[64];
	struct buf b = BUF_INIT;
	store_both(si_root);
	strcpy(other, "/tmp/bh-stat-XXXXXX");
	cr_assert_not_null(mkdtemp(other));
	fixture_write(other, "a/unit.yaml", "inputs: {x: 1}\n");
	cr_assert_eq(buf_read_file(&b, index_path(si_root, path)), 0);
	fixture_write(other, ".bulkhead/cache/stat", "");
	rewrite(index_path(other, other_path), b.data, b.len);
	reopen_expect_empty(other, "another root's index");
	fixture_rm_rf(other);
	buf_free(&b);
}
