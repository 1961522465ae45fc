/* test_source.c - compiler/source.c: path rules and the work-tree backend. */
#include "fixture.h"
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "source.h"

/* ---- path_join ---- */

struct join_case {
	const char *base, *rel;
	int rc;
	const char *want;
};

Test(source_path, join)
{
	const struct join_case cases[] = {
		{ "", "a/b", SRC_OK, "a/b" },
		{ NULL, "x.yaml", SRC_OK, "x.yaml" },
		{ "dev/app", "../x.yaml", SRC_OK, "dev/x.yaml" },
		{ "dev/app/api", "../../_common/app.yaml", SRC_OK, "dev/_common/app.yaml" },
		{ "a/b", "../../c", SRC_OK, "c" },
		{ "dev", "./a//b/./c/", SRC_OK, "dev/a/b/c" },
		{ "dev", "..", SRC_OK, "" },
		{ "dev", "", SRC_OK, "dev" },
		{ "a", "...", SRC_OK, "a/..." },
		{ "a", ".hidden/..x/x..", SRC_OK, "a/.hidden/..x/x.." },
		/* "//" is the project root, whatever the base. */
		{ "dev/app", "//_common/app.yaml", SRC_OK, "_common/app.yaml" },
		{ "dev/app", "//", SRC_OK, "" },
		{ "dev/app", "//a/./b/../c", SRC_OK, "a/c" },
		{ "dev/app", "///a", SRC_OK, "a" },
		/* Climbing above the root. */
		{ "", "..", SRC_ESCAPE, NULL },
		{ "dev", "../..", SRC_ESCAPE, NULL },
		{ "dev/app", "../../../etc/passwd", SRC_ESCAPE, NULL },
		{ "", "a/../../b", SRC_ESCAPE, NULL },
		{ "a", "//../x", SRC_ESCAPE, NULL },
		/* Absolute paths are refused outright. */
		{ "a", "/etc/passwd", SRC_EFORBIDDEN, NULL },
		{ "", "/", SRC_EFORBIDDEN, NULL },
	};
	struct buf out = BUF_INIT;
	buf_puts(&out, "stale contents");
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct join_case *c = &cases[i];
		int rc = path_join(c->base, c->rel, &out);
		cr_assert_eq(rc, c->rc, "path_join(%s, %s) = %d, want %d",
			     c->base ? c->base : "NULL", c->rel, rc, c->rc);
		if (c->want)
			cr_assert_str_eq(buf_cstr(&out), c->want, "path_join(%s, %s)",
					 c->base ? c->base : "NULL", c->rel);
	}
	buf_free(&out);
}

Test(source_path, is_url)
{
	const char *urls[] = {
		"git::https://example.com/acme/modules.git//api?ref=v1.4.0",
		"https://example.com/x.yaml",
		"http://example.com/x.yaml",
		"HTTPS://EXAMPLE.COM/X",
		"s3::https://s3-eu-west-1.amazonaws.com/bucket/x.zip",
		"git@github.com:acme/modules.git",
		"github.com/acme/modules",
		"bitbucket.org/acme/modules",
		"file:///etc/passwd",
		"git+ssh://host/repo.git",
		"hg::http://example.com/repo",
		"gcs::https://www.googleapis.com/storage/v1/bucket",
		/* RFC 3986: a scheme may hold digits after its first letter. */
		"s3://bucket/common.yaml",
	};
	const char *paths[] = {
		"a/b.yaml", "//_common/app.yaml", "../x.yaml", "a:b", "://x", "", "git/x",
		"C:/x", "dir/x://y", "./https.yaml", "github.com.yaml",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++)
		cr_expect(path_is_url(urls[i]), "'%s' should be a URL", urls[i]);
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
		cr_expect(!path_is_url(paths[i]), "'%s' should not be a URL", paths[i]);
}

Test(source_path, dirname)
{
	struct arena a;
	arena_init(&a);
	cr_assert_str_eq(path_dirname(&a, "dev/app/api/unit.yaml"), "dev/app/api");
	cr_assert_str_eq(path_dirname(&a, "dev/vars.yaml"), "dev");
	cr_assert_str_eq(path_dirname(&a, "bulkhead.yaml"), "");
	cr_assert_str_eq(path_dirname(&a, ""), "");
	arena_free(&a);
}

/* Records each component path_any_component offers, as "name@end". */
struct component_log {
	char seen[128];
	const char *stop_at;
};

static bool log_component(void *ctx, const char *name, size_t len, size_t end)
{
	struct component_log *log = ctx;
	size_t used = strlen(log->seen);
	snprintf(log->seen + used, sizeof(log->seen) - used, "%s%.*s@%zu", used ? " " : "", (int)len, name, end);
	return log->stop_at && len == strlen(log->stop_at) && !strncmp(name, log->stop_at, len);
}

Test(source_path, any_component_in_order_with_its_end)
{
	struct component_log log = { "", NULL };
	cr_assert_not(path_any_component("dev/app/unit.yaml", log_component, &log));
	cr_assert_str_eq(log.seen, "dev@3 app@7 unit.yaml@17");
	log = (struct component_log){ "", "app" };
	cr_assert(path_any_component("dev/app/unit.yaml", log_component, &log));
	cr_assert_str_eq(log.seen, "dev@3 app@7", "the walk stops at the first component that passes");
	log = (struct component_log){ "", NULL };
	cr_assert_not(path_any_component("", log_component, &log));
	cr_assert_str_eq(log.seen, "");
	cr_assert(path_through_git("dev/.GIT/config"));
	cr_assert_not(path_through_git("dev/.github/x"));
}

Test(source_path, within)
{
	cr_assert(path_within("dev/app", "dev"));
	cr_assert(path_within("dev", "dev"));
	cr_assert(path_within("dev/app/api", "dev/app"));
	cr_assert(path_within("anything/at/all", ""));
	cr_assert(path_within("", ""));
	cr_assert_not(path_within("devx/app", "dev"), "a prefix is not a parent");
	cr_assert_not(path_within("dev-x", "dev"));
	cr_assert_not(path_within("dev", "dev/app"));
	cr_assert_not(path_within("", "dev"));
	cr_assert_not(path_within("de", "dev"));
}

/* ---- the work-tree backend on a temporary directory ----
 *
 *   <tmp>/outside/secret.txt
 *   <tmp>/root2/secret.txt         a sibling whose name extends "root"
 *   <tmp>/root/                     the project (given as a realpath)
 *     a.txt  empty.txt  big.bin (1000 bytes)  large.bin (200000 bytes)
 *     dir/b.yaml  dir/sub/c.yaml
 *     dir/up -> ../a.txt            relative, stays inside
 *     dir/out -> ../../outside      relative, escapes
 *     link_in -> dir/b.yaml
 *     dirlink -> dir
 *     etc_link -> /etc/passwd
 *     abs_in -> <root>/dir/b.yaml   absolute, inside the root
 *     abs_root -> <root>
 *     abs_sibling -> <tmp>/root2/secret.txt
 *     outdir -> <tmp>/outside       absolute, a directory outside
 *     loop_a -> loop_b, loop_b -> loop_a
 *     chain0 -> chain1 -> ... -> chain30 -> a.txt
 *     .git/config  git_link -> .git/config
 *     sorted/{b,a,Z,_u,a.b,a-b}
 */

static char src_tmp[PATH_MAX];
static char src_root[PATH_MAX + 8];
static struct source src;

static void src_write(const char *rel, const char *data, size_t len)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", src_tmp, rel);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void src_mkdir(const char *rel)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", src_tmp, rel);
	cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
}

static void src_symlink(const char *target, const char *rel)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", src_tmp, rel);
	cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path, strerror(errno));
}

static void src_setup(void)
{
	fixture_tmpdir("test", src_tmp);
	src_mkdir("outside");
	src_write("outside/secret.txt", "secret\n", 7);
	src_mkdir("root2");
	src_write("root2/secret.txt", "secret2\n", 8);
	src_mkdir("root");
	snprintf(src_root, sizeof(src_root), "%s/root", src_tmp);

	char big[1000], *large = malloc(200000);
	memset(big, 'b', sizeof(big));
	for (size_t i = 0; i < 200000; i++)
		large[i] = (char)('0' + i % 10);
	src_write("root/a.txt", "hello\n", 6);
	src_write("root/empty.txt", "", 0);
	src_write("root/big.bin", big, sizeof(big));
	src_write("root/large.bin", large, 200000);
	free(large);
	src_mkdir("root/dir");
	src_mkdir("root/dir/sub");
	src_write("root/dir/b.yaml", "b: 1\n", 5);
	src_write("root/dir/sub/c.yaml", "c: 2\n", 5);
	src_symlink("../a.txt", "root/dir/up");
	src_symlink("../../outside", "root/dir/out");
	src_symlink("dir/b.yaml", "root/link_in");
	src_symlink("dir", "root/dirlink");
	src_symlink("/etc/passwd", "root/etc_link");

	char target[PATH_MAX * 2];
	snprintf(target, sizeof(target), "%s/dir/b.yaml", src_root);
	src_symlink(target, "root/abs_in");
	src_symlink(src_root, "root/abs_root");
	snprintf(target, sizeof(target), "%s/root2/secret.txt", src_tmp);
	src_symlink(target, "root/abs_sibling");
	snprintf(target, sizeof(target), "%s/outside", src_tmp);
	src_symlink(target, "root/outdir");
	src_symlink("loop_b", "root/loop_a");
	src_symlink("loop_a", "root/loop_b");
	for (int i = 0; i < 30; i++) {
		char name[32], next[32];
		snprintf(name, sizeof(name), "root/chain%d", i);
		snprintf(next, sizeof(next), "chain%d", i + 1);
		src_symlink(next, name);
	}
	src_symlink("a.txt", "root/chain30");
	src_mkdir("root/.git");
	src_write("root/.git/config", "[core]\n", 7);
	src_symlink(".git/config", "root/git_link");
	src_mkdir("root/sorted");
	const char *names[] = { "b", "a", "Z", "_u", "a.b", "a-b" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "root/sorted/%s", names[i]);
		src_write(rel, "", 0);
	}
	cr_assert_eq(source_open_worktree(&src, src_root), SRC_OK);
}

static void src_teardown(void)
{
	source_free(&src);
	if (src_tmp[0])
		fixture_rm_rf(src_tmp);
	diag_clear();
}

TestSuite(worktree, .init = src_setup, .fini = src_teardown);

/* Reads path and checks the result code and, on success, the contents. */
static void expect_read(const char *path, size_t max, int want_rc, const char *want)
{
	struct buf out = BUF_INIT;
	buf_puts(&out, "previous contents");
	int rc = source_read(&src, path, max, &out);
	cr_expect_eq(rc, want_rc, "source_read(%s) = %d (%s), want %d", path, rc,
		     source_strerror(&src, rc), want_rc);
	if (rc == SRC_OK && want)
		cr_expect_str_eq(buf_cstr(&out), want, "contents of %s", path);
	buf_free(&out);
	expect_no_leaks();
}

Test(worktree, reads_a_file)
{
	expect_read("a.txt", 1 << 20, SRC_OK, "hello\n");
	expect_read("dir/b.yaml", 1 << 20, SRC_OK, "b: 1\n");
	expect_read("./dir//sub/../b.yaml", 1 << 20, SRC_OK, "b: 1\n");
	expect_read("empty.txt", 1 << 20, SRC_OK, "");
	cr_assert_str_eq(src.label, "work tree");
}

Test(worktree, reads_a_file_larger_than_one_read)
{
	struct buf out = BUF_INIT;
	cr_assert_eq(source_read(&src, "large.bin", 1 << 20, &out), SRC_OK);
	cr_assert_eq(out.len, 200000);
	for (size_t i = 0; i < 200000; i += 1111)
		cr_assert_eq(out.data[i], (char)('0' + i % 10), "byte %zu", i);
	cr_assert_eq(out.data[out.len], '\0');
	buf_free(&out);
}

Test(worktree, missing_files)
{
	expect_read("missing.txt", 1 << 20, SRC_ENOENT, NULL);
	expect_read("nodir/x.yaml", 1 << 20, SRC_ENOENT, NULL);
	expect_read("a.txt/x", 1 << 20, SRC_ENOENT, NULL);	/* ENOTDIR */
	cr_assert_str_eq(source_strerror(&src, SRC_ENOENT), "no such file");
}

Test(worktree, directory_is_not_a_file)
{
	expect_read("dir", 1 << 20, SRC_EISDIR, NULL);
	expect_read("", 1 << 20, SRC_EISDIR, NULL);
	expect_read("dirlink", 1 << 20, SRC_EISDIR, NULL);
}

Test(worktree, size_limit)
{
	expect_read("big.bin", 1000, SRC_OK, NULL);
	struct buf out = BUF_INIT;
	int rc = source_read(&src, "big.bin", 999, &out);
	cr_assert_eq(rc, SRC_ETOOBIG);
	cr_assert(strstr(source_strerror(&src, rc), "1000 bytes"),
		  "message: %s", source_strerror(&src, rc));
	cr_assert(strstr(source_strerror(&src, rc), "999"));
	buf_free(&out);
}

/* A backend's message names its subject; a caller that names the path
 * itself takes only the reason, and only when the subject is that path. */
Test(source_errors, a_read_error_names_its_path_once)
{
	struct source s = { 0 };
	cr_assert_eq(source_fail(&s, "open", "dev/app/unit.yaml", "Permission denied"), SRC_EIO);
	cr_assert_str_eq(s.err, "cannot open 'dev/app/unit.yaml': Permission denied");
	cr_assert_str_eq(source_read_error(&s, SRC_EIO, "dev/app/unit.yaml"), "Permission denied");
	cr_assert_str_eq(source_read_error(&s, SRC_EIO, "dev/app/unit.yam"), s.err);
	cr_assert_str_eq(source_read_error(&s, SRC_EIO, "dev/app/unit.yaml.x"), s.err);
	cr_assert_str_eq(source_read_error(&s, SRC_EIO, "dev/app"), s.err);
	cr_assert_str_eq(source_read_error(&s, SRC_ENOENT, "dev/app/unit.yaml"), "no such file");
	/* A message cut short at the buffer's end keeps it all. */
	char subject[300];
	memset(subject, 'a', sizeof(subject) - 1);
	subject[sizeof(subject) - 1] = '\0';
	source_fail(&s, "read", subject, "too large");
	cr_assert_eq(strlen(s.err), sizeof(s.err) - 1);
	cr_assert_str_eq(source_read_error(&s, SRC_EIO, subject), s.err);
}

/* A FIFO would block a reader forever: it is refused without opening it. */
Test(worktree, special_files_are_refused, .timeout = 10)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/fifo", src_root);
	cr_assert_eq(mkfifo(path, 0644), 0, "mkfifo: %s", strerror(errno));
	src_symlink("fifo", "root/fifo_link");
	expect_read("fifo", 1 << 20, SRC_EIO, NULL);
	cr_assert_str_eq(source_strerror(&src, SRC_EIO), "not a regular file");
	expect_read("fifo_link", 1 << 20, SRC_EIO, NULL);
	cr_assert_eq(source_kind(&src, "fifo"), SRC_OTHER);
}

Test(worktree, symlinks_inside_the_root_are_followed)
{
	expect_read("link_in", 1 << 20, SRC_OK, "b: 1\n");
	expect_read("dir/up", 1 << 20, SRC_OK, "hello\n");
	expect_read("dirlink/b.yaml", 1 << 20, SRC_OK, "b: 1\n");
	expect_read("dirlink/sub/c.yaml", 1 << 20, SRC_OK, "c: 2\n");
	expect_read("dirlink/../a.txt", 1 << 20, SRC_OK, "hello\n");
	expect_read("chain0", 1 << 20, SRC_OK, "hello\n");
}

Test(worktree, absolute_symlink_into_the_root_works)
{
	expect_read("abs_in", 1 << 20, SRC_OK, "b: 1\n");
	expect_read("abs_root/a.txt", 1 << 20, SRC_OK, "hello\n");
	struct buf r = BUF_INIT;
	cr_assert_eq(source_resolve(&src, "abs_in", &r), SRC_OK);
	cr_assert_str_eq(buf_cstr(&r), "dir/b.yaml", "resolved paths are root-relative");
	buf_free(&r);
}

Test(worktree, symlinks_leading_outside_escape)
{
	expect_read("etc_link", 1 << 20, SRC_ESCAPE, NULL);
	expect_read("dir/out/secret.txt", 1 << 20, SRC_ESCAPE, NULL);
	expect_read("dir/out", 1 << 20, SRC_ESCAPE, NULL);
	expect_read("outdir/secret.txt", 1 << 20, SRC_ESCAPE, NULL);
	/* Shares the root's name as a prefix, but is not beneath it. */
	expect_read("abs_sibling", 1 << 20, SRC_ESCAPE, NULL);
	expect_read("../outside/secret.txt", 1 << 20, SRC_ESCAPE, NULL);
	expect_read("dir/../../outside/secret.txt", 1 << 20, SRC_ESCAPE, NULL);
	cr_assert_str_eq(source_strerror(&src, SRC_ESCAPE), "path leads outside the project root");
}

Test(worktree, symlink_loop)
{
	expect_read("loop_a", 1 << 20, SRC_ELOOP, NULL);
	expect_read("loop_b/x", 1 << 20, SRC_ELOOP, NULL);
}

Test(worktree, git_dir_is_forbidden)
{
	expect_read(".git/config", 1 << 20, SRC_EFORBIDDEN, NULL);
	expect_read("dir/../.git/config", 1 << 20, SRC_EFORBIDDEN, NULL);
	expect_read(".GIT/config", 1 << 20, SRC_EFORBIDDEN, NULL);
	expect_read("git_link", 1 << 20, SRC_EFORBIDDEN, NULL);
	expect_read(".git", 1 << 20, SRC_EFORBIDDEN, NULL);
	/* A name that merely starts with .git is fine (and here missing). */
	expect_read(".gitignore", 1 << 20, SRC_ENOENT, NULL);
}

Test(worktree, resolve_returns_the_target)
{
	struct buf r = BUF_INIT;
	cr_assert_eq(source_resolve(&src, "dirlink/sub/../b.yaml", &r), SRC_OK);
	cr_assert_str_eq(buf_cstr(&r), "dir/b.yaml");
	cr_assert_eq(source_resolve(&src, "dir/up", &r), SRC_OK);
	cr_assert_str_eq(buf_cstr(&r), "a.txt");
	cr_assert_eq(source_resolve(&src, "chain0", &r), SRC_OK);
	cr_assert_str_eq(buf_cstr(&r), "a.txt");
	cr_assert_eq(source_resolve(&src, "", &r), SRC_OK);
	cr_assert_str_eq(buf_cstr(&r), "");
	buf_free(&r);
}

Test(worktree, kind)
{
	cr_assert_eq(source_kind(&src, "a.txt"), SRC_FILE);
	cr_assert_eq(source_kind(&src, "dir"), SRC_DIR);
	cr_assert_eq(source_kind(&src, ""), SRC_DIR);
	cr_assert_eq(source_kind(&src, "link_in"), SRC_FILE, "links are resolved");
	cr_assert_eq(source_kind(&src, "dirlink"), SRC_DIR);
	cr_assert_eq(source_kind(&src, "missing"), SRC_MISSING);
	cr_assert_eq(source_kind(&src, "etc_link"), SRC_MISSING, "an escape is not there");
}

/* Splits a NUL-separated list and compares it with want. */
static void expect_names(const struct buf *names, size_t count, const char *const *want,
			 size_t nwant)
{
	cr_assert_eq(count, nwant, "count %zu, want %zu", count, nwant);
	size_t pos = 0;
	for (size_t i = 0; i < nwant; i++) {
		cr_assert_lt(pos, names->len, "names end after %zu entries", i);
		cr_assert_str_eq(names->data + pos, want[i], "entry %zu", i);
		pos += strlen(names->data + pos) + 1;
	}
	cr_assert_eq(pos, names->len, "trailing bytes after the last name");
}

Test(worktree, list_is_sorted_and_nul_separated)
{
	struct buf names = BUF_INIT;
	size_t count = 99;
	buf_puts(&names, "junk");
	cr_assert_eq(source_list(&src, "sorted", &names, &count), SRC_OK);
	const char *want[] = { "Z", "_u", "a", "a-b", "a.b", "b" };
	expect_names(&names, count, want, sizeof(want) / sizeof(*want));
	cr_assert_eq(source_list(&src, "dir", &names, &count), SRC_OK);
	const char *want_dir[] = { "b.yaml", "out", "sub", "up" };
	expect_names(&names, count, want_dir, sizeof(want_dir) / sizeof(*want_dir));
	/* A link to a directory inside the root lists that directory. */
	cr_assert_eq(source_list(&src, "dirlink", &names, &count), SRC_OK);
	expect_names(&names, count, want_dir, sizeof(want_dir) / sizeof(*want_dir));
	buf_free(&names);
}

Test(worktree, list_of_a_file_or_missing_dir_fails)
{
	struct buf names = BUF_INIT;
	size_t count;
	cr_assert_lt(source_list(&src, "a.txt", &names, &count), 0);
	cr_assert_lt(source_list(&src, "nodir", &names, &count), 0);
	buf_free(&names);
}

/* The header: "Symlinks are followed here, once, with the same confinement
 * rules for every backend: a link may not lead outside the root or into
 * .git" - listing must obey them as reading does. */
Test(worktree, list_is_confined_to_the_root)
{
	struct buf names = BUF_INIT;
	size_t count = 0;
	cr_expect_eq(source_list(&src, "outdir", &names, &count), SRC_ESCAPE,
		     "listed a directory outside the root through a symlink");
	cr_expect_eq(source_list(&src, "dir/out", &names, &count), SRC_ESCAPE);
	cr_expect_eq(source_list(&src, "..", &names, &count), SRC_ESCAPE,
		     "listed the parent of the root");
	cr_expect_eq(source_list(&src, ".git", &names, &count), SRC_EFORBIDDEN);
	buf_free(&names);
}

/* Discovery takes each entry's kind from the listing (d_type); a file
 * system that does not say gives SRC_MISSING, and the caller lstats. */
Test(worktree, list_kinds_come_from_the_listing)
{
	struct buf names = BUF_INIT, kinds = BUF_INIT;
	size_t count = 0;
	cr_assert_eq(source_list_kinds(&src, "dir", &names, &count, &kinds), SRC_OK);
	const char *want[] = { "b.yaml", "out", "sub", "up" };
	const enum src_kind want_kind[] = { SRC_FILE, SRC_LINK, SRC_DIR, SRC_LINK };
	expect_names(&names, count, want, sizeof(want) / sizeof(*want));
	cr_assert_eq(kinds.len, count);
	for (size_t i = 0; i < count; i++)
		cr_expect(kinds.data[i] == (char)want_kind[i] || kinds.data[i] == (char)SRC_MISSING,
			  "entry %zu (%s): kind %d, want %d", i, want[i], kinds.data[i], want_kind[i]);
	cr_expect_eq(source_list_kinds(&src, "outdir", &names, &count, &kinds), SRC_ESCAPE);
	cr_expect_lt(source_list_kinds(&src, "a.txt", &names, &count, &kinds), 0);
	buf_free(&names);
	buf_free(&kinds);
}

/* Workers read unit files without the resolver: only in a folder already
 * known to be real, never through a link in the last component, never
 * over the size limit; any refusal sends the caller to source_read. */
Test(worktree, direct_reads)
{
	struct buf out = BUF_INIT;
	struct stat st;
	cr_expect_not(source_reads_direct(&src, "dir/b.yaml"), "a folder nobody resolved");
	cr_expect_not(source_reads_direct(&src, "a.txt"), "a file in the root has no folder to know");
	cr_assert_eq(source_kind(&src, "dir"), SRC_DIR);	/* resolving notes the folder */
	cr_expect(source_reads_direct(&src, "dir/b.yaml"));
	cr_assert_eq(source_read_direct(&src, "dir/b.yaml", 1 << 20, &out, &st), SRC_OK);
	cr_expect_str_eq(buf_cstr(&out), "b: 1\n");
	cr_expect_eq(st.st_size, 5);
	buf_reset(&out);
	cr_expect_neq(source_read_direct(&src, "dir/up", 1 << 20, &out, &st), SRC_OK, "followed a link");
	buf_reset(&out);
	cr_expect_neq(source_read_direct(&src, "dir/sub", 1 << 20, &out, &st), SRC_OK, "read a folder");
	buf_reset(&out);
	cr_expect_neq(source_read_direct(&src, "dir/b.yaml", 3, &out, &st), SRC_OK, "read over the limit");
	buf_reset(&out);
	cr_expect_neq(source_read_direct(&src, "dir/missing.yaml", 1 << 20, &out, &st), SRC_OK);
	source_known_dir(&src, "dir/sub");
	cr_expect(source_reads_direct(&src, "dir/sub/c.yaml"), "a folder the walk noted");
	buf_free(&out);
}

static void note_path(void *ctx, const char *rel, const struct stat *st, const uint64_t *hash)
{
	(void)st;
	buf_printf(ctx, "%s;", rel);
	if (hash)
		buf_printf(ctx, "%016llx;", (unsigned long long)*hash);
}

Test(worktree, a_direct_read_is_traced_when_noted)
{
	struct buf seen = BUF_INIT;
	struct stat st = { 0 };
	source_watch(&src, note_path, NULL, &seen);
	source_note_read(&src, "dir/b.yaml", &st, 5, map_hash("a: 1\n", 5));
	char want[64];
	snprintf(want, sizeof(want), "dir/b.yaml;%016llx;", (unsigned long long)map_hash("a: 1\n", 5));
	cr_expect_str_eq(buf_cstr(&seen), want);
	source_watch(&src, NULL, NULL, NULL);
	buf_free(&seen);
}

/* The walk notes a unit's missing vars.yaml from the folder's listing:
 * the lookup is answered from the note, without touching the disk (here
 * a file that does exist, to tell the two apart), and traces nothing. */
Test(worktree, a_known_missing_path_needs_no_syscall)
{
	struct buf seen = BUF_INIT;
	cr_assert_eq(source_kind(&src, "dir/b.yaml"), SRC_FILE);
	source_known_missing(&src, "dir/b.yaml");
	source_watch(&src, note_path, NULL, &seen);
	cr_expect_eq(source_kind(&src, "dir/b.yaml"), SRC_MISSING);
	cr_expect_eq(seen.len, 0, "traced '%s'", buf_cstr(&seen));
	source_watch(&src, NULL, NULL, NULL);
	buf_free(&seen);
}

static void note_listing(void *ctx, const char *rel, const struct stat *st, uint64_t listing_hash)
{
	(void)st;
	buf_printf(ctx, "%s: %016llx;", rel, (unsigned long long)listing_hash);
}

static const char *joined_names(struct buf *out, const struct buf *names, size_t count)
{
	const char *n = names->data;
	buf_reset(out);
	for (size_t i = 0; i < count; i++, n += strlen(n) + 1)
		buf_printf(out, "%s%s", i ? " " : "", n);
	return buf_cstr(out);
}

/* Workers list the folders of the walk without the resolver: only the
 * root and folders already known to be real, never through a link; what
 * they list is what source_list_kinds lists, and it reaches the trace
 * only when the caller notes it. */
Test(worktree, direct_listing)
{
	struct buf names = BUF_INIT, kinds = BUF_INIT, want = BUF_INIT, want_kinds = BUF_INIT, seen = BUF_INIT;
	size_t count = 0, want_count = 0;
	struct stat st;
	cr_expect(source_lists_direct(&src, ""), "the root");
	cr_expect_not(source_lists_direct(&src, "dir"), "a folder nobody resolved");
	cr_assert_eq(source_kind(&src, "dir"), SRC_DIR);
	cr_expect(source_lists_direct(&src, "dir"));
	cr_expect_not(source_lists_direct(&src, "dirlink"), "a link to a folder");
	source_watch(&src, note_path, note_listing, &seen);
	cr_assert_eq(source_list_direct(&src, "dir", &names, &count, &kinds, &st), SRC_OK);
	cr_expect_eq(seen.len, 0, "a direct listing traced '%s'", buf_cstr(&seen));
	cr_assert_eq(source_list_kinds(&src, "dir", &want, &want_count, &want_kinds), SRC_OK);
	cr_expect_eq(count, want_count);
	cr_expect(names.len == want.len && !memcmp(names.data, want.data, names.len), "names differ");
	cr_expect(kinds.len == want_kinds.len && !memcmp(kinds.data, want_kinds.data, kinds.len), "kinds differ");
	cr_expect(S_ISDIR(st.st_mode));
	cr_expect_str_eq(joined_names(&seen, &names, count), "b.yaml out sub up");
	buf_reset(&seen);
	source_note_listing(&src, "dir", &st, &names, &kinds, count);
	char expect[64];
	snprintf(expect, sizeof(expect), "dir: %016llx;",
		 (unsigned long long)source_listing_hash(want.data, want.len, want_kinds.data, want_count));
	cr_expect_str_eq(buf_cstr(&seen), expect);
	cr_expect_neq(source_list_direct(&src, "dirlink", &names, &count, &kinds, &st), SRC_OK, "followed a link");
	cr_expect_neq(source_list_direct(&src, "a.txt", &names, &count, &kinds, &st), SRC_OK, "listed a file");
	source_watch(&src, NULL, NULL, NULL);
	buf_free(&names);
	buf_free(&kinds);
	buf_free(&want);
	buf_free(&want_kinds);
	buf_free(&seen);
}

/* The hash that lets the cache accept a folder whose mtime moved: the
 * same names of the same kinds give the same hash, a changed kind or a
 * name added, dropped or renamed another. */
Test(worktree, listing_hash_covers_names_and_kinds)
{
	static const char two[] = "a.yaml\0sub\0", other[] = "a.yaml\0sub2\0", one[] = "a.yaml\0";
	const char kinds[] = { SRC_FILE, SRC_DIR }, swapped[] = { SRC_FILE, SRC_FILE };
	uint64_t h = source_listing_hash(two, sizeof(two) - 1, kinds, 2);
	cr_expect_eq(h, source_listing_hash(two, sizeof(two) - 1, kinds, 2));
	cr_expect_neq(h, source_listing_hash(two, sizeof(two) - 1, swapped, 2), "a kind changed");
	cr_expect_neq(h, source_listing_hash(other, sizeof(other) - 1, kinds, 2), "a name changed");
	cr_expect_neq(h, source_listing_hash(one, sizeof(one) - 1, kinds, 1), "a name dropped");
	cr_expect_neq(source_listing_hash("", 0, "", 0), source_listing_hash(one, sizeof(one) - 1, kinds, 1));
}

/* A module folder is hashed once per source: the source is a snapshot,
 * so a file changed after the first hash does not show ("//dir" and
 * "//dir//sub" are one folder), while another size limit hashes again
 * and a fresh source sees the change. */
Test(worktree, module_folder_hashed_once_per_source)
{
	uint64_t first, again, sub, other_limit, fresh;
	cr_assert_eq(source_module_hash(&src, "//dir", 1 << 20, &first), SRC_OK);
	src_write("root/dir/b.yaml", "b: 2\n", 5);
	cr_assert_eq(source_module_hash(&src, "//dir", 1 << 20, &again), SRC_OK);
	cr_expect_eq(again, first, "the folder was read again");
	cr_assert_eq(source_module_hash(&src, "//dir//sub", 1 << 20, &sub), SRC_OK);
	cr_expect_eq(sub, first, "//dir//sub is the folder dir");
	cr_assert_eq(source_module_hash(&src, "//dir", 1 << 19, &other_limit), SRC_OK);
	cr_expect_neq(other_limit, first, "another limit must hash the folder as it is now");
	struct source next;
	cr_assert_eq(source_open_worktree(&next, src_root), SRC_OK);
	cr_assert_eq(source_module_hash(&next, "//dir", 1 << 20, &fresh), SRC_OK);
	cr_expect_neq(fresh, first);
	cr_expect_eq(fresh, other_limit);
	source_free(&next);
}
