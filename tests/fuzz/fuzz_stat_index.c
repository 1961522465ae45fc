/* fuzz_stat_index - the stat index's reader (compiler/stat_index.c).
 *
 * The input is the body of an index file: the harness adds the header
 * (magic, root device and inode 0) and the seal, so the reader's checks
 * of each entry's shape are what is fuzzed, not the checksum.  An index
 * the reader accepts must be one a run can use: every entry is found by
 * its own path and stat data, a folder's listing holds as many names as
 * it counts, and noting every entry as found changes nothing. */
#include "fuzz_common.h"
#include "buf.h"
#include "source.h"
#include "stat_index.h"
#include "wire.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <xxhash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { STAT_FIELDS = 6 };

/* Entry i's kind, path and stat data, as the file holds them; false when
 * the stat data do not fit a struct stat (no run could match them). */
static bool entry_stat(const struct stat_index *si, size_t i, char *kind, const char **path, struct stat *st)
{
	struct wire_reader r = { si->old[i], si->old[i] + 1 + 8 * STAT_FIELDS + 4, false };
	uint64_t f[STAT_FIELDS];
	*kind = (char)wire_get(&r, 1);
	for (size_t k = 0; k < STAT_FIELDS; k++)
		f[k] = wire_get(&r, 8);
	*path = (const char *)r.end;
	memset(st, 0, sizeof(*st));
	st->st_dev = (dev_t)f[0];
	st->st_ino = (ino_t)f[1];
	st->st_mode = (mode_t)f[2];
	st->st_size = (off_t)f[3];
	st->st_mtim.tv_sec = (time_t)(f[4] / 1000000000);
	st->st_mtim.tv_nsec = (long)(f[4] % 1000000000);
	st->st_ctim.tv_sec = (time_t)(f[5] / 1000000000);
	st->st_ctim.tv_nsec = (long)(f[5] % 1000000000);
	return (uint64_t)st->st_dev == f[0] && (uint64_t)st->st_ino == f[1] && (uint64_t)st->st_mode == f[2] &&
	       st->st_size >= 0 && (uint64_t)st->st_size == f[3];
}

static size_t nuls(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += s[i] == '\0';
	return n;
}

static void check_entry(struct stat_index *si, size_t i)
{
	char kind;
	const char *path;
	struct stat st;
	struct buf names = BUF_INIT, kinds = BUF_INIT;
	size_t count = 0, len = 0;
	uint64_t hash = 0;
	if (!entry_stat(si, i, &kind, &path, &st))
		return;
	if (kind == 'd') {
		if (!stat_index_listing(si, path, &st, &names, &count, &kinds) || nuls(names.data, names.len) != count ||
		    kinds.len != count)
			abort();
		stat_index_note_listing(si, path, &st, buf_cstr(&names), names.len, buf_cstr(&kinds), count);
	} else {
		if (!stat_index_file(si, path, &st, &hash, &len) || len != (size_t)st.st_size)
			abort();
		stat_index_note_file(si, path, &st, hash, len);
	}
	buf_free(&names);
	buf_free(&kinds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stat_index si;
	struct buf file = BUF_INIT;
	unsigned char seal[8];
	memset(&si, 0, sizeof(si));
	si.path = strdup("unused");	/* notes need a file to go to; none is written */
	si.started_ns = INT64_MAX;
	buf_puts(&file, STAT_INDEX_MAGIC);
	wire_put(&file, 0, 8);	/* root device */
	wire_put(&file, 0, 8);	/* root inode */
	buf_add(&file, data, size);
	wire_pack(seal, XXH3_64bits(file.data, file.len), 8);
	buf_add(&file, seal, 8);
	if (stat_index_read(&si, file.data, file.len)) {
		for (size_t i = 0; i < si.n; i++)
			check_entry(&si, i);
		if (si.nfresh)	/* an entry noted as it was found is kept, not recorded */
			abort();
	}
	stat_index_close(&si);
	buf_free(&file);
	return 0;
}
