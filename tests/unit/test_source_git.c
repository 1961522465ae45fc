/* test_source_git.c - compiler/source_git.c: the git revision and index
 * backends, on real repositories built with libgit2 in a temporary dir.
 *
 *   <tmp>/repo/        the work tree (git_repository_init)
 *   <tmp>/plain/       a directory outside any repository
 *   <tmp>/home/        an empty directory for the global git config
 */
#include "fixture.h"
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "source.h"

enum { GITSRC_MAX = 1 << 20 };

static char gitsrc_tmp[PATH_MAX];
static char gitsrc_dir[PATH_MAX + 16];
static git_repository *gitsrc_repo;
static struct source gitsrc_src;

/* ---- building repositories ---- */

static void gitsrc_ok(int rc, const char *what)
{
	const git_error *e = git_error_last();
	cr_assert_geq(rc, 0, "%s: %s", what, e && e->message ? e->message : "?");
}

static void gitsrc_path(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", gitsrc_dir, rel);
}

/* Creates the parent directories of the work-tree path rel. */
static void gitsrc_parents(const char *rel)
{
	char path[PATH_MAX * 2];
	gitsrc_path(path, sizeof(path), rel);
	for (char *p = path + strlen(gitsrc_dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
		*p = '/';
	}
}

static void gitsrc_write(const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	gitsrc_parents(rel);
	gitsrc_path(path, sizeof(path), rel);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
}

static void gitsrc_add(const char *rel)
{
	git_index *idx;
	gitsrc_ok(git_repository_index(&idx, gitsrc_repo), "index");
	gitsrc_ok(git_index_add_bypath(idx, rel), rel);
	gitsrc_ok(git_index_write(idx), "write index");
	git_index_free(idx);
}

/* Writes a file and stages it. */
static void gitsrc_put(const char *rel, const char *text)
{
	gitsrc_write(rel, text);
	gitsrc_add(rel);
}

static void gitsrc_link(const char *target, const char *rel)
{
	char path[PATH_MAX * 2];
	gitsrc_parents(rel);
	gitsrc_path(path, sizeof(path), rel);
	cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path, strerror(errno));
	gitsrc_add(rel);
}

/* Adds an index entry by hand (a gitlink, a conflict-free path). */
static void gitsrc_add_entry(git_index *idx, const char *path, unsigned mode, const git_oid *id,
			     unsigned short flags_extended)
{
	git_index_entry e;
	memset(&e, 0, sizeof(e));
	e.mode = mode;
	e.id = *id;
	e.path = path;
	e.flags_extended = flags_extended;
	gitsrc_ok(git_index_add(idx, &e), path);
}

/* Stages a submodule (a gitlink entry) at path, pointing at commit id. */
static void gitsrc_add_gitlink(const char *path, const git_oid *id)
{
	git_index *idx;
	gitsrc_ok(git_repository_index(&idx, gitsrc_repo), "index");
	gitsrc_add_entry(idx, path, GIT_FILEMODE_COMMIT, id, 0);
	gitsrc_ok(git_index_write(idx), "write index");
	git_index_free(idx);
}

static void gitsrc_blob(const char *text, git_oid *id)
{
	gitsrc_ok(git_blob_create_from_buffer(id, gitsrc_repo, text, strlen(text)), "blob");
}

/* Commits tree_id on top of ref (created when missing). */
static void gitsrc_commit_tree(const git_oid *tree_id, const char *ref, const char *msg, git_oid *out)
{
	static int tick;
	git_tree *tree;
	git_signature *sig;
	git_commit *parent = NULL;
	git_oid head, id;
	gitsrc_ok(git_tree_lookup(&tree, gitsrc_repo, tree_id), "tree lookup");
	gitsrc_ok(git_signature_new(&sig, "Test", "test@example.com", 1700000000 + tick++, 0), "sig");
	if (git_reference_name_to_id(&head, gitsrc_repo, ref) == 0)
		gitsrc_ok(git_commit_lookup(&parent, gitsrc_repo, &head), "parent");
	gitsrc_ok(git_commit_create_v(&id, gitsrc_repo, ref, sig, sig, NULL, msg, tree, parent ? 1 : 0,
				      parent), "commit");
	if (out)
		*out = id;
	git_commit_free(parent);
	git_signature_free(sig);
	git_tree_free(tree);
}

/* Commits the index to HEAD. */
static void gitsrc_commit(const char *msg, git_oid *out)
{
	git_index *idx;
	git_oid tree_id;
	gitsrc_ok(git_repository_index(&idx, gitsrc_repo), "index");
	gitsrc_ok(git_index_write_tree(&tree_id, idx), "write tree");
	git_index_free(idx);
	gitsrc_commit_tree(&tree_id, "HEAD", msg, out);
}

struct gitsrc_raw {
	const char *mode, *name;
	const git_oid *id;
};

/* Writes a tree object byte by byte, so it may hold names libgit2's tree
 * builder refuses.  Entries must come in git's order. */
static void gitsrc_raw_tree(const struct gitsrc_raw *v, size_t n, git_oid *out)
{
	struct buf raw = BUF_INIT;
	git_odb *odb;
	for (size_t i = 0; i < n; i++) {
		buf_printf(&raw, "%s %s", v[i].mode, v[i].name);
		buf_add(&raw, "", 1);
		buf_add(&raw, v[i].id->id, GIT_OID_RAWSZ);
	}
	gitsrc_ok(git_repository_odb(&odb, gitsrc_repo), "odb");
	gitsrc_ok(git_odb_write(out, odb, raw.data, raw.len, GIT_OBJECT_TREE), "tree write");
	git_odb_free(odb);
	buf_free(&raw);
}

static void gitsrc_chown_r(const char *path, uid_t uid)
{
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert_eq(lchown(path, uid, (gid_t)-1), 0, "chown %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return;
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char child[PATH_MAX * 2];
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		gitsrc_chown_r(child, uid);
	}
	if (d)
		closedir(d);
}

static void gitsrc_setup(void)
{
	char home[PATH_MAX + 8];
	fixture_tmpdir("git", gitsrc_tmp);
	snprintf(gitsrc_dir, sizeof(gitsrc_dir), "%s/repo", gitsrc_tmp);
	snprintf(home, sizeof(home), "%s/home", gitsrc_tmp);
	cr_assert_eq(mkdir(home, 0755), 0);
	git_libgit2_init();
	/* Keep the user's ~/.gitconfig (autocrlf, safe.directory) out. */
	for (int level = GIT_CONFIG_LEVEL_SYSTEM; level <= GIT_CONFIG_LEVEL_GLOBAL; level++)
		git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, home);
	gitsrc_ok(git_repository_init(&gitsrc_repo, gitsrc_dir, 0), "init");
	memset(&gitsrc_src, 0, sizeof(gitsrc_src));
}

static void gitsrc_teardown(void)
{
	source_free(&gitsrc_src);
	git_repository_free(gitsrc_repo);
	gitsrc_repo = NULL;
	git_libgit2_shutdown();
	if (gitsrc_tmp[0])
		fixture_rm_rf(gitsrc_tmp);
	diag_clear();
}

TestSuite(source_git, .init = gitsrc_setup, .fini = gitsrc_teardown);

/* ---- opening and checking ---- */

static void gitsrc_open_rev(const char *prefix, const char *rev)
{
	source_free(&gitsrc_src);
	int rc = source_open_revision(&gitsrc_src, gitsrc_dir, prefix, rev);
	cr_assert_eq(rc, 0, "open revision %s: %s", rev, gitsrc_src.err);
}

static void gitsrc_open_index(const char *prefix)
{
	source_free(&gitsrc_src);
	int rc = source_open_index(&gitsrc_src, gitsrc_dir, prefix);
	cr_assert_eq(rc, 0, "open index: %s", gitsrc_src.err);
}

static void gitsrc_expect_read(const char *path, int want_rc, const char *want)
{
	struct buf out = BUF_INIT;
	int rc = source_read(&gitsrc_src, path, GITSRC_MAX, &out);
	cr_expect_eq(rc, want_rc, "%s: read %s = %d (%s), want %d", gitsrc_src.label, path, rc,
		     source_strerror(&gitsrc_src, rc), want_rc);
	if (rc == SRC_OK && want)
		cr_expect_str_eq(buf_cstr(&out), want, "%s: contents of %s", gitsrc_src.label, path);
	buf_free(&out);
}

/* Expects the listing of path, names joined with ','. */
static void gitsrc_expect_list(const char *path, const char *want)
{
	struct buf names = BUF_INIT, joined = BUF_INIT;
	size_t count = 0;
	int rc = source_list(&gitsrc_src, path, &names, &count);
	cr_assert_eq(rc, SRC_OK, "%s: list %s: %s", gitsrc_src.label, path,
		     source_strerror(&gitsrc_src, rc));
	size_t seen = 0;
	for (size_t pos = 0; pos < names.len; pos += strlen(names.data + pos) + 1, seen++) {
		if (joined.len)
			buf_putc(&joined, ',');
		buf_puts(&joined, names.data + pos);
	}
	cr_expect_eq(seen, count, "count %zu, but %zu names", count, seen);
	cr_expect_str_eq(buf_cstr(&joined), want, "%s: list %s", gitsrc_src.label, path);
	buf_free(&names);
	buf_free(&joined);
}

/* Expects open or an operation to have failed with text in s->err. */
static void gitsrc_expect_err(const char *text)
{
	cr_expect(strstr(gitsrc_src.err, text), "error '%s' lacks '%s'", gitsrc_src.err, text);
}

static enum src_kind gitsrc_lstat(const char *path)
{
	enum src_kind kind;
	size_t size;
	int rc = gitsrc_src.ops->lstat(&gitsrc_src, path, &kind, &size);
	cr_assert_eq(rc, SRC_OK, "lstat %s: %s", path, gitsrc_src.err);
	return kind;
}

/* ---- revisions ---- */

Test(source_git, reads_head_and_an_earlier_revision)
{
	gitsrc_put("bulkhead.yaml", "version: 1\n");
	gitsrc_put("dev/vars.yaml", "size: small\n");
	gitsrc_commit("one", NULL);
	gitsrc_put("dev/vars.yaml", "size: large\n");
	gitsrc_commit("two", NULL);

	gitsrc_open_rev("", "HEAD");
	cr_assert_str_eq(gitsrc_src.label, "revision HEAD");
	gitsrc_expect_read("dev/vars.yaml", SRC_OK, "size: large\n");
	gitsrc_expect_read("./dev//vars.yaml", SRC_OK, "size: large\n");
	gitsrc_expect_read("bulkhead.yaml", SRC_OK, "version: 1\n");

	gitsrc_open_rev("", "HEAD~1");
	cr_assert_str_eq(gitsrc_src.label, "revision HEAD~1");
	gitsrc_expect_read("dev/vars.yaml", SRC_OK, "size: small\n");

	/* A tree, a branch and an annotated tag name revisions too. */
	gitsrc_open_rev("", "HEAD~1^{tree}");
	gitsrc_expect_read("dev/vars.yaml", SRC_OK, "size: small\n");
	gitsrc_open_rev("", "master");
	gitsrc_expect_read("dev/vars.yaml", SRC_OK, "size: large\n");
	git_object *target;
	git_oid tag;
	git_signature *sig;
	gitsrc_ok(git_revparse_single(&target, gitsrc_repo, "HEAD~1"), "HEAD~1");
	gitsrc_ok(git_signature_new(&sig, "Test", "test@example.com", 1700000000, 0), "sig");
	gitsrc_ok(git_tag_create(&tag, gitsrc_repo, "v1.0.0", target, sig, "release", 0), "tag");
	git_signature_free(sig);
	git_object_free(target);
	gitsrc_open_rev("", "v1.0.0");
	gitsrc_expect_read("dev/vars.yaml", SRC_OK, "size: small\n");
	expect_no_leaks();
}

Test(source_git, missing_files_and_directories)
{
	gitsrc_put("a.yaml", "a\n");
	gitsrc_put("dir/b.yaml", "b\n");
	gitsrc_commit("one", NULL);
	gitsrc_write("worktree_only.yaml", "w\n");
	gitsrc_put("staged_only.yaml", "s\n");

	gitsrc_open_rev("", "HEAD");
	gitsrc_expect_read("worktree_only.yaml", SRC_ENOENT, NULL);
	gitsrc_expect_read("staged_only.yaml", SRC_ENOENT, NULL);
	gitsrc_expect_read("nodir/x.yaml", SRC_ENOENT, NULL);
	gitsrc_expect_read("a.yaml/x", SRC_ENOENT, NULL);
	gitsrc_expect_read("dir", SRC_EISDIR, NULL);
	gitsrc_expect_read("", SRC_EISDIR, NULL);
	cr_expect_eq(source_kind(&gitsrc_src, "dir"), SRC_DIR);
	cr_expect_eq(source_kind(&gitsrc_src, "a.yaml"), SRC_FILE);
	cr_expect_eq(source_kind(&gitsrc_src, "nope"), SRC_MISSING);

	gitsrc_open_index("");
	cr_assert_str_eq(gitsrc_src.label, "index");
	gitsrc_expect_read("worktree_only.yaml", SRC_ENOENT, NULL);
	gitsrc_expect_read("staged_only.yaml", SRC_OK, "s\n");
	gitsrc_expect_read("a.yaml/x", SRC_ENOENT, NULL);
	gitsrc_expect_read("dir", SRC_EISDIR, NULL);
	gitsrc_expect_read("di", SRC_ENOENT, NULL);	/* a prefix of a directory */
	gitsrc_expect_read("", SRC_EISDIR, NULL);
	cr_expect_eq(source_kind(&gitsrc_src, "dir"), SRC_DIR);
	cr_expect_eq(source_kind(&gitsrc_src, "a.yaml"), SRC_FILE);
}

Test(source_git, staged_edits_show_in_the_index_unstaged_ones_do_not)
{
	gitsrc_put("a.yaml", "v1\n");
	gitsrc_put("dir/b.yaml", "b\n");
	gitsrc_commit("one", NULL);

	gitsrc_write("a.yaml", "v2 unstaged\n");
	gitsrc_open_index("");
	gitsrc_expect_read("a.yaml", SRC_OK, "v1\n");

	gitsrc_add("a.yaml");
	git_index *idx;
	gitsrc_ok(git_repository_index(&idx, gitsrc_repo), "index");
	gitsrc_ok(git_index_remove_bypath(idx, "dir/b.yaml"), "rm --cached");
	gitsrc_ok(git_index_write(idx), "write index");
	git_index_free(idx);

	gitsrc_open_index("");
	gitsrc_expect_read("a.yaml", SRC_OK, "v2 unstaged\n");
	gitsrc_expect_read("dir/b.yaml", SRC_ENOENT, NULL);
	cr_expect_eq(source_kind(&gitsrc_src, "dir"), SRC_MISSING, "no entries left beneath it");
	gitsrc_expect_list("", "a.yaml");

	gitsrc_open_rev("", "HEAD");
	gitsrc_expect_read("a.yaml", SRC_OK, "v1\n");
	gitsrc_expect_read("dir/b.yaml", SRC_OK, "b\n");
}

/* git commit -a and git commit PATH run hooks with $GIT_INDEX_FILE naming
 * a temporary index; source_open_index_file reads such a file. */
Test(source_git, an_explicit_index_file)
{
	gitsrc_put("a.yaml", "v1\n");
	git_oid blob;
	gitsrc_blob("from the other index\n", &blob);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/other-index", gitsrc_tmp);
	git_index *idx;
	gitsrc_ok(git_index_open(&idx, path), "index open");
	gitsrc_add_entry(idx, "a.yaml", GIT_FILEMODE_BLOB, &blob, 0);
	gitsrc_ok(git_index_write(idx), "write index");
	git_index_free(idx);

	cr_assert_eq(source_open_index_file(&gitsrc_src, gitsrc_dir, "", path), 0, "%s", gitsrc_src.err);
	gitsrc_expect_read("a.yaml", SRC_OK, "from the other index\n");
	source_free(&gitsrc_src);
	cr_assert_eq(source_open_index_file(&gitsrc_src, gitsrc_dir, "", NULL), 0, "%s", gitsrc_src.err);
	gitsrc_expect_read("a.yaml", SRC_OK, "v1\n");
}

Test(source_git, sizes_modes_and_the_size_limit)
{
	char big[1001];
	memset(big, 'b', 1000);
	big[1000] = '\0';
	gitsrc_put("big.txt", big);
	gitsrc_put("empty.txt", "");
	char path[PATH_MAX * 2];
	gitsrc_write("run.sh", "#!/bin/sh\n");
	gitsrc_path(path, sizeof(path), "run.sh");
	cr_assert_eq(chmod(path, 0755), 0);
	gitsrc_add("run.sh");
	gitsrc_commit("one", NULL);

	for (int backend = 0; backend < 2; backend++) {
		if (backend)
			gitsrc_open_index("");
		else
			gitsrc_open_rev("", "HEAD");
		enum src_kind kind;
		size_t size;
		cr_assert_eq(gitsrc_src.ops->lstat(&gitsrc_src, "big.txt", &kind, &size), SRC_OK);
		cr_expect_eq(kind, SRC_FILE);
		cr_expect_eq(size, 1000);
		cr_expect_eq(gitsrc_lstat("run.sh"), SRC_FILE, "an executable is a file");
		gitsrc_expect_read("run.sh", SRC_OK, "#!/bin/sh\n");
		gitsrc_expect_read("empty.txt", SRC_OK, "");

		struct buf out = BUF_INIT;
		cr_expect_eq(source_read(&gitsrc_src, "big.txt", 1000, &out), SRC_OK);
		cr_expect_eq(out.len, 1000);
		int rc = source_read(&gitsrc_src, "big.txt", 999, &out);
		cr_expect_eq(rc, SRC_ETOOBIG);
		cr_expect(strstr(source_strerror(&gitsrc_src, rc), "1000 bytes"), "%s",
			  source_strerror(&gitsrc_src, rc));
		buf_free(&out);
	}
}

/* ---- listing ---- */

Test(source_git, lists_names_sorted_bytewise, .timeout = 60)
{
	const char *files[] = {
		"sorted/b", "sorted/a.b", "sorted/Z", "sorted/_u", "sorted/a-b", "sorted/a/x",
		"sorted/a/y", "sorted/a/deep/z", "sorted/a0", "sorted/a0b/q", "top.yaml",
		"sortedx/not-mine",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
		gitsrc_put(files[i], "x\n");
	gitsrc_commit("one", NULL);

	for (int backend = 0; backend < 2; backend++) {
		if (backend)
			gitsrc_open_index("");
		else
			gitsrc_open_rev("", "HEAD");
		/* git's own tree order puts "a-b" and "a.b" before the
		 * directory "a"; listings are plain bytewise. */
		gitsrc_expect_list("sorted", "Z,_u,a,a-b,a.b,a0,a0b,b");
		gitsrc_expect_list("sorted/a", "deep,x,y");
		gitsrc_expect_list("sorted/a/deep", "z");
		gitsrc_expect_list("", "sorted,sortedx,top.yaml");
		struct buf names = BUF_INIT;
		size_t count = 99;
		cr_expect_eq(source_list(&gitsrc_src, "top.yaml", &names, &count), SRC_EIO);
		cr_expect_eq(source_list(&gitsrc_src, "nope", &names, &count), SRC_ENOENT);
		buf_free(&names);
	}
	expect_no_leaks();
}

/* The index is listed by binary search over its sorted entries; a large
 * directory lists every child once. */
Test(source_git, lists_a_large_index, .timeout = 60)
{
	git_oid blob;
	gitsrc_blob("x\n", &blob);
	git_index *idx;
	gitsrc_ok(git_repository_index(&idx, gitsrc_repo), "index");
	char path[64];
	for (int d = 0; d < 300; d++)
		for (int f = 0; f < 3; f++) {
			snprintf(path, sizeof(path), "big/d%03d/f%d.yaml", 299 - d, f);
			gitsrc_add_entry(idx, path, GIT_FILEMODE_BLOB, &blob, 0);
		}
	gitsrc_add_entry(idx, "big/d150.yaml", GIT_FILEMODE_BLOB, &blob, 0);
	gitsrc_ok(git_index_write(idx), "write index");
	git_index_free(idx);

	gitsrc_open_index("");
	struct buf names = BUF_INIT;
	size_t count = 0;
	cr_assert_eq(source_list(&gitsrc_src, "big", &names, &count), SRC_OK);
	cr_assert_eq(count, 301);
	size_t pos = 0;
	for (int d = 0; d < 300; d++) {
		char want[32];
		snprintf(want, sizeof(want), "d%03d", d);
		cr_assert_str_eq(names.data + pos, want);
		pos += strlen(want) + 1;
		if (d == 150) {
			cr_assert_str_eq(names.data + pos, "d150.yaml");
			pos += strlen("d150.yaml") + 1;
		}
	}
	buf_free(&names);
	gitsrc_expect_list("big/d007", "f0.yaml,f1.yaml,f2.yaml");
	gitsrc_expect_read("big/d299/f2.yaml", SRC_OK, "x\n");
}

/* ---- symlinks (resolved generically in source.c) ---- */

static void gitsrc_check_links(void)
{
	gitsrc_expect_read("link_in", SRC_OK, "b\n");
	gitsrc_expect_read("dir/up", SRC_OK, "a\n");
	gitsrc_expect_read("dirlink/b.yaml", SRC_OK, "b\n");
	gitsrc_expect_read("dirlink/../a.yaml", SRC_OK, "a\n");
	gitsrc_expect_read("dir/out", SRC_ESCAPE, NULL);
	gitsrc_expect_read("dir/out/secret", SRC_ESCAPE, NULL);
	gitsrc_expect_read("etc_link", SRC_ESCAPE, NULL);
	gitsrc_expect_read("loop_a", SRC_ELOOP, NULL);
	gitsrc_expect_read("git_link", SRC_EFORBIDDEN, NULL);
	gitsrc_expect_read("dangling", SRC_ENOENT, NULL);
	cr_expect_eq(gitsrc_lstat("link_in"), SRC_LINK);
	cr_expect_eq(source_kind(&gitsrc_src, "link_in"), SRC_FILE);
	cr_expect_eq(source_kind(&gitsrc_src, "dirlink"), SRC_DIR);

	struct buf r = BUF_INIT;
	cr_expect_eq(gitsrc_src.ops->readlink(&gitsrc_src, "dir/out", &r), SRC_OK);
	cr_expect_str_eq(buf_cstr(&r), "../../outside");
	cr_expect_eq(source_resolve(&gitsrc_src, "dirlink/b.yaml", &r), SRC_OK);
	cr_expect_str_eq(buf_cstr(&r), "dir/b.yaml");
	cr_expect_eq(gitsrc_src.ops->readlink(&gitsrc_src, "a.yaml", &r), SRC_EIO, "not a link");
	buf_free(&r);
}

Test(source_git, symlinks_are_followed_within_the_root)
{
	gitsrc_put("a.yaml", "a\n");
	gitsrc_put("dir/b.yaml", "b\n");
	gitsrc_link("../a.yaml", "dir/up");
	gitsrc_link("dir/b.yaml", "link_in");
	gitsrc_link("dir", "dirlink");
	gitsrc_link("../../outside", "dir/out");
	gitsrc_link("/etc/passwd", "etc_link");
	gitsrc_link("loop_b", "loop_a");
	gitsrc_link("loop_a", "loop_b");
	gitsrc_link(".git/config", "git_link");
	gitsrc_link("nowhere", "dangling");
	gitsrc_commit("links", NULL);

	gitsrc_open_rev("", "HEAD");
	gitsrc_check_links();
	gitsrc_open_index("");
	gitsrc_check_links();
	expect_no_leaks();
}

/* ---- kinds and blob ids, read from the index and trees alone ---- */

/* Removes the loose object id: a read of it then fails. */
static void gitsrc_drop_object(const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], path[PATH_MAX * 2];
	git_oid_tostr(hex, sizeof(hex), id);
	snprintf(path, sizeof(path), "%s/.git/objects/%.2s/%s", gitsrc_dir, hex, hex + 2);
	cr_assert_eq(unlink(path), 0, "unlink %s: %s", path, strerror(errno));
}

/* Expects the listing of path with kinds: "name:kind,..." (kind as the
 * enum's number). */
static void gitsrc_expect_kinds(const char *path, const char *want)
{
	struct buf names = BUF_INIT, kinds = BUF_INIT, joined = BUF_INIT;
	size_t count = 0;
	int rc = source_list_kinds(&gitsrc_src, path, &names, &count, &kinds);
	cr_assert_eq(rc, SRC_OK, "%s: list %s: %s", gitsrc_src.label, path, source_strerror(&gitsrc_src, rc));
	cr_assert_eq(kinds.len, count);
	size_t i = 0;
	for (size_t pos = 0; pos < names.len; pos += strlen(names.data + pos) + 1, i++)
		buf_printf(&joined, "%s%s:%d", joined.len ? "," : "", names.data + pos, kinds.data[i]);
	cr_expect_str_eq(buf_cstr(&joined), want, "%s: kinds in %s", gitsrc_src.label, path);
	buf_free(&names);
	buf_free(&kinds);
	buf_free(&joined);
}

Test(source_git, listings_tell_kinds_without_reading_a_blob)
{
	git_oid blob;
	gitsrc_put("a.yaml", "a\n");
	gitsrc_put("dir/b.yaml", "b\n");
	gitsrc_link("dir", "dirlink");
	gitsrc_blob("a\n", &blob);
	gitsrc_add_gitlink("modules/vpc", &blob);
	gitsrc_commit("kinds", NULL);
	gitsrc_drop_object(&blob);
	char want[128];
	snprintf(want, sizeof(want), "a.yaml:%d,dir:%d,dirlink:%d,modules:%d", SRC_FILE, SRC_DIR, SRC_LINK, SRC_DIR);
	for (int backend = 0; backend < 2; backend++) {
		if (backend)
			gitsrc_open_index("");
		else
			gitsrc_open_rev("", "HEAD");
		gitsrc_expect_kinds("", want);
		char sub[32];
		snprintf(sub, sizeof(sub), "vpc:%d", SRC_OTHER);
		gitsrc_expect_kinds("modules", sub);
		/* What a listing tells, an lstat would have read the blob for. */
		enum src_kind kind;
		size_t size;
		cr_expect_lt(gitsrc_src.ops->lstat(&gitsrc_src, "a.yaml", &kind, &size), 0,
			     "%s: the dropped blob was still read", gitsrc_src.label);
	}
}

/* A blob the object database lacks (a damaged repo, a partial clone):
 * the error names the path once, with libgit2's reason. */
Test(source_git, a_missing_blob_is_an_error_naming_its_path)
{
	git_oid blob;
	gitsrc_put("dir/a.yaml", "a\n");
	gitsrc_blob("a\n", &blob);
	gitsrc_commit("one", NULL);
	gitsrc_drop_object(&blob);
	for (int backend = 0; backend < 2; backend++) {
		if (backend)
			gitsrc_open_index("");
		else
			gitsrc_open_rev("", "HEAD");
		struct buf out = BUF_INIT;
		int rc = source_read(&gitsrc_src, "dir/a.yaml", 1 << 20, &out);
		cr_assert_eq(rc, SRC_EIO, "%s: read gave %d", gitsrc_src.label, rc);
		cr_expect(!strncmp(gitsrc_src.err, "cannot read 'dir/a.yaml': ", 26), "%s: %s", gitsrc_src.label,
			  gitsrc_src.err);
		const char *reason = source_read_error(&gitsrc_src, rc, "dir/a.yaml");
		cr_expect(*reason && !strstr(reason, "dir/a.yaml") && strncmp(reason, "cannot", 6), "%s: %s",
			  gitsrc_src.label, reason);
		buf_free(&out);
	}
}

/* source_blob_id, as the parse cache is asked by it. */
static void gitsrc_expect_blob_id(const char *path, const char *text)
{
	struct blob_id got;
	bool found = source_blob_id(&gitsrc_src, path, &got);
	if (!text) {
		cr_expect(!found, "%s: %s has a blob id", gitsrc_src.label, path);
		return;
	}
	git_oid want;
	gitsrc_ok(git_odb_hash(&want, text, strlen(text), GIT_OBJECT_BLOB), "hash");
	cr_assert(found, "%s: no blob id for %s", gitsrc_src.label, path);
	cr_expect_eq(memcmp(got.bytes, want.id, BLOB_ID_SIZE), 0, "%s: the id of %s", gitsrc_src.label, path);
}

Test(source_git, blob_ids_of_files_as_the_index_and_trees_hold_them)
{
	gitsrc_put("dir/b.yaml", "b\n");
	gitsrc_link("dir", "dirlink");
	gitsrc_link("dir/b.yaml", "link_in");
	gitsrc_commit("ids", NULL);
	gitsrc_put("dir/b.yaml", "staged\n");
	for (int backend = 0; backend < 2; backend++) {
		if (backend)
			gitsrc_open_index("");
		else
			gitsrc_open_rev("", "HEAD");
		const char *text = backend ? "staged\n" : "b\n";
		gitsrc_expect_blob_id("dir/b.yaml", text);
		gitsrc_expect_blob_id("dirlink/b.yaml", text);	/* the folder resolved */
		gitsrc_expect_blob_id("link_in", NULL);		/* a link is read as ever */
		gitsrc_expect_blob_id("dir", NULL);
		gitsrc_expect_blob_id("dir/missing.yaml", NULL);
		gitsrc_expect_blob_id("missing/b.yaml", NULL);
		gitsrc_expect_blob_id("dir/.git", NULL);
	}
	source_free(&gitsrc_src);
	cr_assert_eq(source_open_worktree(&gitsrc_src, gitsrc_dir), 0);
	gitsrc_expect_blob_id("dir/b.yaml", NULL);
}

Test(source_git, the_blob_id_of_bytes_is_the_one_git_stores_them_under)
{
	const char *texts[] = { "", "b\n", "{\n  \"a\": 1\n}\n" };
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		git_oid stored;
		struct blob_id id;
		gitsrc_blob(texts[i], &stored);
		source_blob_id_of(texts[i], strlen(texts[i]), &id);
		cr_expect_eq(memcmp(id.bytes, stored.id, BLOB_ID_SIZE), 0, "text %zu", i);
	}
}

/* ---- submodules ---- */

Test(source_git, a_submodule_is_other)
{
	gitsrc_put("a.yaml", "a\n");
	git_oid head;
	gitsrc_commit("one", &head);
	gitsrc_add_gitlink("modules/vpc", &head);
	gitsrc_commit("submodule", NULL);

	for (int backend = 0; backend < 2; backend++) {
		if (backend)
			gitsrc_open_index("");
		else
			gitsrc_open_rev("", "HEAD");
		cr_expect_eq(gitsrc_lstat("modules/vpc"), SRC_OTHER);
		cr_expect_eq(source_kind(&gitsrc_src, "modules/vpc"), SRC_OTHER);
		gitsrc_expect_list("modules", "vpc");
		gitsrc_expect_read("modules/vpc", SRC_EIO, NULL);
		gitsrc_expect_read("modules/vpc/main.tf", SRC_ENOENT, NULL);
	}
}

/* ---- entry names ---- */

Test(source_git, refused_names)
{
	const char *refused[] = {
		".", "..", ".git", ".GIT", ".Git", ".gIT", "git~1", "GIT~1", "Git~1",
		".git ", ".git.", ".git . .", "git~1.", "git~1 ", ".git:$DATA", ".git::$INDEX_ALLOCATION",
		".git\\hooks", "a/b",
		".g\xe2\x80\x8cit",		/* U+200C ZERO WIDTH NON-JOINER */
		"\xe2\x80\x8e.GIT",		/* U+200E LEFT-TO-RIGHT MARK */
		".gi\xef\xbb\xbft",		/* U+FEFF */
		".git\xe2\x81\xaf",		/* U+206F */
		".g\xe2\x80\xaei\xe2\x80\xaat",	/* U+202E, U+202A */
	};
	const char *allowed[] = {
		"...", ".gitignore", ".github", ".gitmodules", ".git-x", ".gitx", "x.git", "git",
		".git~1", "git~2", "git~10", "~1", "a b", "a\\b", "dev", "_common", ".hidden",
		".g\xe2\x80\x8bit",		/* U+200B is not ignored by HFS+ */
		"\xc3\xa9t\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++)
		cr_expect(source_name_refused(refused[i], strlen(refused[i])), "'%s' should be refused",
			  refused[i]);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
		cr_expect(!source_name_refused(allowed[i], strlen(allowed[i])),
			  "'%s' should be allowed", allowed[i]);
	cr_expect(source_name_refused("", 0));
	cr_expect(source_name_refused("a\0b", 3));
	cr_expect(source_name_refused(".gitx", 4), "only len bytes count");
}

/* Commits, on branch "evil", a tree whose "dev" holds ok.yaml and an entry
 * named name (a directory holding "config"). */
static void gitsrc_evil_commit(const char *name)
{
	git_oid blob, inner, dev, root;
	gitsrc_blob("x: 1\n", &blob);
	struct gitsrc_raw in[] = { { "100644", "config", &blob } };
	gitsrc_raw_tree(in, 1, &inner);
	/* Every name tested sorts before "ok.yaml". */
	struct gitsrc_raw d[] = { { "40000", name, &inner }, { "100644", "ok.yaml", &blob } };
	gitsrc_raw_tree(d, 2, &dev);
	struct gitsrc_raw r[] = { { "100644", "bulkhead.yaml", &blob }, { "40000", "dev", &dev } };
	gitsrc_raw_tree(r, 2, &root);
	gitsrc_commit_tree(&root, "refs/heads/evil", "evil", NULL);
}

Test(source_git, malicious_tree_entries_are_refused)
{
	struct evil {
		const char *name, *shown;
		int read_rc;		/* reading name/config */
	} cases[] = {
		{ ".GIT", ".GIT", SRC_EFORBIDDEN },
		{ ".git", ".git", SRC_EFORBIDDEN },
		{ ".Git", ".Git", SRC_EFORBIDDEN },
		{ "..", "..", SRC_ENOENT },	/* "dev/../config" is "config" */
		{ ".", ".", SRC_ENOENT },
		{ "git~1", "git~1", SRC_EIO },
		{ "GIT~1", "GIT~1", SRC_EIO },
		{ ".git ", ".git ", SRC_EIO },
		{ ".git. .", ".git. .", SRC_EIO },
		{ ".git:x", ".git:x", SRC_EIO },
		{ ".g\xe2\x80\x8cit", ".g\\xe2\\x80\\x8cit", SRC_EIO },
		{ "a/b", "a/b", SRC_ENOENT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct evil *c = &cases[i];
		gitsrc_evil_commit(c->name);
		gitsrc_open_rev("", "evil");
		char want[128], path[64];
		snprintf(want, sizeof(want), "malicious tree entry name '%s' in 'dev'", c->shown);

		struct buf names = BUF_INIT;
		size_t count;
		int rc = source_list(&gitsrc_src, "dev", &names, &count);
		cr_expect_eq(rc, SRC_EIO, "listing a tree holding '%s'", c->shown);
		cr_expect_str_eq(gitsrc_src.err, want);
		cr_expect_str_eq(source_strerror(&gitsrc_src, rc), want);
		buf_free(&names);

		snprintf(path, sizeof(path), "dev/%s/config", c->name);
		gitsrc_src.err[0] = '\0';
		gitsrc_expect_read(path, c->read_rc, NULL);
		if (c->read_rc == SRC_EIO)
			cr_expect_str_eq(gitsrc_src.err, want);
		/* The rest of the tree still reads. */
		gitsrc_expect_read("dev/ok.yaml", SRC_OK, "x: 1\n");
		gitsrc_expect_list("", "bulkhead.yaml,dev");
	}
	expect_no_leaks();
}

Test(source_git, malicious_name_at_the_root)
{
	git_oid blob, root;
	gitsrc_blob("x\n", &blob);
	struct gitsrc_raw r[] = { { "100644", "GIT~1", &blob }, { "100644", "bulkhead.yaml", &blob } };
	gitsrc_raw_tree(r, 2, &root);
	gitsrc_commit_tree(&root, "refs/heads/evil", "evil", NULL);
	gitsrc_open_rev("", "evil");
	struct buf names = BUF_INIT;
	size_t count;
	cr_expect_eq(source_list(&gitsrc_src, "", &names, &count), SRC_EIO);
	cr_expect_str_eq(gitsrc_src.err, "malicious tree entry name 'GIT~1' in '.'");
	gitsrc_expect_read("GIT~1", SRC_EIO, NULL);
	gitsrc_expect_read("bulkhead.yaml", SRC_OK, "x\n");
	buf_free(&names);
}

/* libgit2 refuses ".git" and the NTFS names in an index, but not the HFS+
 * ones; a hostile index file can hold them. */
Test(source_git, malicious_index_entries_are_refused)
{
	git_oid blob;
	gitsrc_blob("x\n", &blob);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/evil-index", gitsrc_tmp);
	git_index *idx;
	gitsrc_ok(git_index_open(&idx, path), "index open");
	gitsrc_add_entry(idx, "bulkhead.yaml", GIT_FILEMODE_BLOB, &blob, 0);
	gitsrc_add_entry(idx, "dev/.g\xe2\x80\x8cit/config", GIT_FILEMODE_BLOB, &blob, 0);
	gitsrc_add_entry(idx, "dev/ok.yaml", GIT_FILEMODE_BLOB, &blob, 0);
	gitsrc_ok(git_index_write(idx), "write index");
	git_index_free(idx);

	cr_assert_eq(source_open_index_file(&gitsrc_src, gitsrc_dir, "", path), 0, "%s", gitsrc_src.err);
	const char *want = "malicious index entry name '.g\\xe2\\x80\\x8cit' in 'dev'";
	struct buf names = BUF_INIT;
	size_t count;
	cr_expect_eq(source_list(&gitsrc_src, "dev", &names, &count), SRC_EIO);
	cr_expect_str_eq(gitsrc_src.err, want);
	gitsrc_src.err[0] = '\0';
	gitsrc_expect_read("dev/.g\xe2\x80\x8cit/config", SRC_EIO, NULL);
	cr_expect_str_eq(gitsrc_src.err, want);
	gitsrc_expect_read("dev/ok.yaml", SRC_OK, "x\n");
	gitsrc_expect_list("", "bulkhead.yaml,dev");
	buf_free(&names);
}

/* ---- index states ---- */

Test(source_git, conflicted_paths_are_errors)
{
	gitsrc_put("dev/a.yaml", "a\n");
	gitsrc_commit("one", NULL);
	git_oid base, ours, theirs;
	gitsrc_blob("size: 1\n", &base);
	gitsrc_blob("size: 2\n", &ours);
	gitsrc_blob("size: 3\n", &theirs);
	git_index_entry e[3];
	const git_oid *ids[3] = { &base, &ours, &theirs };
	for (int i = 0; i < 3; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].mode = GIT_FILEMODE_BLOB;
		e[i].id = *ids[i];
		e[i].path = "dev/c.yaml";
	}
	git_index *idx;
	gitsrc_ok(git_repository_index(&idx, gitsrc_repo), "index");
	gitsrc_ok(git_index_conflict_add(idx, &e[0], &e[1], &e[2]), "conflict");
	gitsrc_ok(git_index_write(idx), "write index");
	git_index_free(idx);

	gitsrc_open_index("");
	gitsrc_expect_read("dev/c.yaml", SRC_EIO, NULL);
	cr_expect_str_eq(gitsrc_src.err, "'dev/c.yaml' has merge conflicts in the index");
	gitsrc_expect_list("dev", "a.yaml,c.yaml");
	gitsrc_expect_read("dev/a.yaml", SRC_OK, "a\n");
}

Test(source_git, intent_to_add_entries_are_not_committed)
{
	gitsrc_put("a.yaml", "a\n");
	git_oid empty;
	gitsrc_blob("", &empty);
	git_index *idx;
	gitsrc_ok(git_repository_index(&idx, gitsrc_repo), "index");
	gitsrc_add_entry(idx, "new/later.yaml", GIT_FILEMODE_BLOB, &empty, GIT_INDEX_ENTRY_INTENT_TO_ADD);
	gitsrc_ok(git_index_write(idx), "write index");
	git_index_free(idx);

	gitsrc_open_index("");
	gitsrc_expect_read("new/later.yaml", SRC_ENOENT, NULL);
	cr_expect_eq(source_kind(&gitsrc_src, "new"), SRC_MISSING);
	gitsrc_expect_list("", "a.yaml");
}

/* ---- the project prefix ---- */

static void gitsrc_prefix_repo(void)
{
	gitsrc_put("README.md", "readme\n");
	gitsrc_put("common.yaml", "common\n");
	gitsrc_put("infra/live/bulkhead.yaml", "project\n");
	gitsrc_put("infra/live/dev/vars.yaml", "dev\n");
	gitsrc_link("dev/vars.yaml", "infra/live/inner");
	gitsrc_link("../../common.yaml", "infra/live/shared");
	gitsrc_put("infra/live.txt", "sibling file\n");
	gitsrc_put("infra/livex/y.yaml", "sibling dir\n");
	gitsrc_commit("one", NULL);
}

static void gitsrc_check_prefix(void)
{
	gitsrc_expect_read("bulkhead.yaml", SRC_OK, "project\n");
	gitsrc_expect_read("dev/vars.yaml", SRC_OK, "dev\n");
	gitsrc_expect_read("inner", SRC_OK, "dev\n");
	/* Inside the repository but outside the project. */
	gitsrc_expect_read("shared", SRC_ESCAPE, NULL);
	gitsrc_expect_read("../../common.yaml", SRC_ESCAPE, NULL);
	gitsrc_expect_read("README.md", SRC_ENOENT, NULL);
	gitsrc_expect_list("", "bulkhead.yaml,dev,inner,shared");
	cr_expect_eq(source_kind(&gitsrc_src, ""), SRC_DIR);
}

Test(source_git, project_in_a_subfolder)
{
	gitsrc_prefix_repo();
	const char *prefixes[] = { "infra/live", "infra/live/", "./infra//live" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++) {
		gitsrc_open_rev(prefixes[i], "HEAD");
		gitsrc_check_prefix();
		gitsrc_open_index(prefixes[i]);
		gitsrc_check_prefix();
	}

	/* NULL: repo_dir is the project root, the prefix is derived. */
	char root[PATH_MAX * 2];
	gitsrc_path(root, sizeof(root), "infra/live");
	source_free(&gitsrc_src);
	cr_assert_eq(source_open_revision(&gitsrc_src, root, NULL, "HEAD"), 0, "%s", gitsrc_src.err);
	gitsrc_check_prefix();
	source_free(&gitsrc_src);
	cr_assert_eq(source_open_index(&gitsrc_src, root, NULL), 0, "%s", gitsrc_src.err);
	gitsrc_check_prefix();

	/* repo_dir anywhere inside the work tree. */
	gitsrc_path(root, sizeof(root), "infra");
	source_free(&gitsrc_src);
	cr_assert_eq(source_open_revision(&gitsrc_src, root, "infra/live", "HEAD"), 0, "%s",
		     gitsrc_src.err);
	gitsrc_check_prefix();

	/* The top of the work tree. */
	gitsrc_open_rev(NULL, "HEAD");
	gitsrc_expect_read("common.yaml", SRC_OK, "common\n");
	gitsrc_expect_read("infra/live/shared", SRC_OK, "common\n");
}

Test(source_git, a_missing_project_root_is_an_error)
{
	gitsrc_prefix_repo();
	cr_expect_eq(source_open_revision(&gitsrc_src, gitsrc_dir, "infra/nope", "HEAD"), -1);
	cr_expect_str_eq(gitsrc_src.err, "the project root 'infra/nope' is not a directory in revision 'HEAD'");
	cr_expect_eq(source_open_revision(&gitsrc_src, gitsrc_dir, "README.md", "HEAD"), -1);
	gitsrc_expect_err("is not a directory");
	cr_expect_eq(source_open_index(&gitsrc_src, gitsrc_dir, "infra/nope"), -1);
	cr_expect_str_eq(gitsrc_src.err, "the project root 'infra/nope' has no files in the index");
	cr_expect_eq(source_open_index(&gitsrc_src, gitsrc_dir, "infra/liv"), -1);
	cr_expect_eq(source_open_revision(&gitsrc_src, gitsrc_dir, "../x", "HEAD"), -1);
	cr_expect_str_eq(gitsrc_src.err, "invalid project prefix '../x'");
	cr_expect_eq(source_open_index(&gitsrc_src, gitsrc_dir, "/abs"), -1);
	cr_expect_null(gitsrc_src.ops);
	cr_expect_null(gitsrc_src.label);
	expect_no_leaks();
}

/* ---- errors on open ---- */

Test(source_git, unknown_revisions)
{
	cr_expect_eq(source_open_revision(&gitsrc_src, gitsrc_dir, "", "HEAD"), -1);
	cr_expect_str_eq(gitsrc_src.err, "unknown revision 'HEAD': there are no commits yet");

	gitsrc_put("a.yaml", "a\n");
	gitsrc_commit("one", NULL);
	gitsrc_put("a.yaml", "b\n");
	gitsrc_commit("two", NULL);
	const char *bad[] = { "nosuchbranch", "HEAD~5", "@@{", "HEAD~~~x", "deadbeef",
			      "0123456789012345678901234567890123456789" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char want[128];
		snprintf(want, sizeof(want), "unknown revision '%s'", bad[i]);
		cr_expect_eq(source_open_revision(&gitsrc_src, gitsrc_dir, "", bad[i]), -1, "%s", bad[i]);
		cr_expect_str_eq(gitsrc_src.err, want);
		cr_expect_null(gitsrc_src.ops);
	}
	cr_expect_eq(source_open_revision(&gitsrc_src, gitsrc_dir, "", "HEAD:a.yaml"), -1);
	cr_expect_str_eq(gitsrc_src.err, "revision 'HEAD:a.yaml' is a blob, not a commit or tree");
	expect_no_leaks();
}

Test(source_git, not_a_repository)
{
	char plain[PATH_MAX + 16], want[PATH_MAX + 64];
	snprintf(plain, sizeof(plain), "%s/plain", gitsrc_tmp);
	cr_assert_eq(mkdir(plain, 0755), 0);
	snprintf(want, sizeof(want), "'%s' is not in a git repository", plain);
	cr_expect_eq(source_open_revision(&gitsrc_src, plain, "", "HEAD"), -1);
	cr_expect_str_eq(gitsrc_src.err, want);
	cr_expect_eq(source_open_index(&gitsrc_src, plain, NULL), -1);
	cr_expect_str_eq(gitsrc_src.err, want);
	source_free(&gitsrc_src);	/* harmless after a failed open */
}

/* A shallow clone cut below HEAD: the parent commit is not there. */
Test(source_git, revision_beyond_a_shallow_clone)
{
	git_oid one, two;
	gitsrc_put("a.yaml", "a\n");
	gitsrc_commit("one", &one);
	gitsrc_put("a.yaml", "b\n");
	gitsrc_commit("two", &two);
	char hex[GIT_OID_HEXSZ + 1], path[PATH_MAX * 2];
	git_oid_tostr(hex, sizeof(hex), &two);
	snprintf(path, sizeof(path), "%s/.git/shallow", gitsrc_dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s\n", hex);
	cr_assert_eq(fclose(f), 0);
	git_oid_tostr(hex, sizeof(hex), &one);
	snprintf(path, sizeof(path), "%s/.git/objects/%.2s/%s", gitsrc_dir, hex, hex + 2);
	cr_assert_eq(unlink(path), 0, "unlink %s: %s", path, strerror(errno));

	gitsrc_open_rev("", "HEAD");
	gitsrc_expect_read("a.yaml", SRC_OK, "b\n");
	source_free(&gitsrc_src);
	const char *revs[] = { "HEAD~1", "HEAD^", hex };
	for (size_t i = 0; i < sizeof(revs) / sizeof(*revs); i++) {
		char want[256];
		snprintf(want, sizeof(want), "revision '%s' is not in this shallow clone: fetch more "
			 "history (git fetch --deepen or --unshallow)", revs[i]);
		cr_expect_eq(source_open_revision(&gitsrc_src, gitsrc_dir, "", revs[i]), -1);
		cr_expect_str_eq(gitsrc_src.err, want);
	}
	cr_expect_eq(source_open_revision(&gitsrc_src, gitsrc_dir, "", "nosuchbranch"), -1);
	cr_expect_str_eq(gitsrc_src.err, "unknown revision 'nosuchbranch'");
}

/* git and libgit2 refuse a repository another user owns (CVE-2022-24765). */
Test(source_git, repository_owned_by_another_user)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to give the repository away");
	gitsrc_put("a.yaml", "a\n");
	gitsrc_commit("one", NULL);
	gitsrc_chown_r(gitsrc_dir, 65534);
	cr_expect_eq(source_open_revision(&gitsrc_src, gitsrc_dir, "", "HEAD"), -1);
	gitsrc_expect_err("is owned by another user");
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "safe.directory %s", gitsrc_dir);
	gitsrc_expect_err(want);
	cr_expect_eq(source_open_index(&gitsrc_src, gitsrc_dir, ""), -1);
	gitsrc_expect_err("is owned by another user");
}

/* Each source holds one libgit2 reference, released when freed, also when
 * open fails. */
Test(source_git, libgit2_init_is_balanced)
{
	gitsrc_put("a.yaml", "a\n");
	gitsrc_commit("one", NULL);
	int before = git_libgit2_init();
	git_libgit2_shutdown();
	struct source a, b, c;
	cr_assert_eq(source_open_revision(&a, gitsrc_dir, "", "HEAD"), 0);
	cr_assert_eq(source_open_index(&b, gitsrc_dir, ""), 0);
	cr_assert_eq(source_open_revision(&c, gitsrc_dir, "", "nosuch"), -1);
	cr_expect_eq(git_libgit2_init(), before + 2);
	git_libgit2_shutdown();
	source_free(&a);
	source_free(&b);
	source_free(&c);
	cr_expect_eq(git_libgit2_init(), before);
	git_libgit2_shutdown();
	expect_no_leaks();
}
