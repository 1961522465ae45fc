/* fuzz_gittree.c - the git tree reader (compiler/source_git.c).
 *
 * Each input is turned into raw tree objects, written unvalidated into a
 * scratch repository, so hostile entry names (.., .GIT, names with NULs
 * or slashes), odd modes, symlinks and gitlinks all reach the reader.
 * The tree is then opened as a revision and walked: list every folder,
 * read every file (following links through source_read). */
#define _XOPEN_SOURCE 700	/* nftw */
#include <ftw.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "source.h"

static git_repository *repo;
static char repo_dir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* The scratch repository grows by every input's objects (130 MB in a
 * 30-second run): it goes when the fuzzer exits, as libFuzzer does at
 * the end of its time. */
static void remove_repo(void)
{
	git_repository_free(repo);
	repo = NULL;
	nftw(repo_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	strcpy(repo_dir, "/tmp/bulkhead-fuzz-git-XXXXXX");
	if (!mkdtemp(repo_dir) || git_libgit2_init() < 0 || git_repository_init(&repo, repo_dir, 0) < 0)
		abort();
	atexit(remove_repo);
	return 0;
}

/* Input: records of [mode byte][name len][name][data len][data]; a
 * record's mode picks blob, executable, symlink, gitlink or subtree. */
static int write_tree(const uint8_t **p, const uint8_t *end, int depth, git_oid *out)
{
	static const char *const modes[] = { "100644", "100755", "120000", "160000", "40000" };
	git_odb *odb;
	git_buf body = { 0 };
	int rc = -1;
	if (git_repository_odb(&odb, repo) < 0)
		return -1;
	for (int n = 0; n < 16 && end - *p >= 2; n++) {
		unsigned mode = (*p)[0] % 5, nlen = (*p)[1] % 32;
		*p += 2;
		if ((size_t)(end - *p) < nlen)
			break;
		const uint8_t *name = *p;
		*p += nlen;
		git_oid oid;
		if (mode == 4 && depth < 4) {
			if (write_tree(p, end, depth + 1, &oid) < 0)
				goto out;
		} else {
			unsigned dlen = *p < end ? **p : 0;
			if (*p < end)
				(*p)++;
			if ((size_t)(end - *p) < dlen)
				dlen = (unsigned)(end - *p);
			if (git_odb_write(&oid, odb, *p, dlen, GIT_OBJECT_BLOB) < 0)
				goto out;
			*p += dlen;
			if (mode == 4)
				mode = 0;
		}
		git_buf_grow(&body, body.size + 64 + nlen);
		memcpy(body.ptr + body.size, modes[mode], strlen(modes[mode]));
		body.size += strlen(modes[mode]);
		body.ptr[body.size++] = ' ';
		memcpy(body.ptr + body.size, name, nlen);
		body.size += nlen;
		body.ptr[body.size++] = '\0';
		memcpy(body.ptr + body.size, oid.id, GIT_OID_RAWSZ);
		body.size += GIT_OID_RAWSZ;
	}
	rc = git_odb_write(out, odb, body.ptr ? body.ptr : "", body.size, GIT_OBJECT_TREE);
out:
	git_buf_dispose(&body);
	git_odb_free(odb);
	return rc;
}

static void walk(struct source *s, const char *dir, int depth)
{
	struct buf names = BUF_INIT, path = BUF_INIT, data = BUF_INIT;
	size_t count;
	if (depth > 6 || source_list(s, dir, &names, &count) < 0)
		goto out;
	const char *name = names.data;
	for (size_t i = 0; i < count; i++, name += strlen(name) + 1) {
		buf_reset(&path);
		buf_printf(&path, "%s%s%s", dir, *dir ? "/" : "", name);
		enum src_kind kind = source_kind(s, path.data);
		if (kind == SRC_DIR)
			walk(s, path.data, depth + 1);
		else
			source_read(s, path.data, 1 << 20, &data);
	}
out:
	buf_free(&names);
	buf_free(&path);
	buf_free(&data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	git_oid tree;
	char hex[GIT_OID_HEXSZ + 1];
	struct source s;
	if (write_tree(&p, data + size, 0, &tree) < 0)
		return 0;
	git_oid_tostr(hex, sizeof(hex), &tree);
	memset(&s, 0, sizeof(s));
	if (source_open_revision(&s, repo_dir, "", hex) == 0)
		walk(&s, "", 0);
	source_free(&s);
	diag_clear();
	return 0;
}
