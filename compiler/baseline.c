/* baseline.c - read and write baseline files. */
#include "baseline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool entry_ok(const struct node *e)
{
	const struct node *fp = node_map_get(e, "fingerprint");
	if (e->kind != NODE_MAP || !fp || fp->kind != NODE_STR || fp->str.len != 16 ||
	    strspn(fp->str.s, "0123456789abcdef") != 16) {
		diag_error(e->file, e->off, "corrupt baseline: each entry needs a \"fingerprint\" of 16 hex digits");
		return false;
	}
	return true;
}

static struct node *load(struct project *p, const char *path)
{
	struct buf data = BUF_INIT;
	if (buf_read_file(&data, path) < 0) {
		diag_error(NULL, 0, "cannot read baseline '%s': %s", path, strerror(errno));
		buf_free(&data);
		return NULL;
	}
	struct srcfile *f = ARENA_NEW(&p->arena, struct srcfile);
	f->path = arena_strdup(&p->arena, path);
	f->data = arena_strndup(&p->arena, buf_cstr(&data), data.len);
	f->len = data.len;
	buf_free(&data);
	struct limits lim = limits_default;
	lim.file_size = (size_t)1 << 28;
	lim.nodes = (size_t)1 << 26;
	struct node *root;
	if (yaml_load_as(&p->arena, f, &lim, "corrupt baseline: ", &root) < 0)
		return NULL;
	if (root->kind != NODE_SEQ) {
		diag_error(f, root->off, "corrupt baseline: expected a JSON list of entries");
		return NULL;
	}
	for (size_t i = 0; i < root->seq.len; i++)
		if (!entry_ok(root->seq.items[i]))
			return NULL;
	return root;
}

int baseline_apply(struct project *p, const char *path, struct findings *fs, bool report_stale)
{
	struct node *root = load(p, path);
	if (!root)
		return -1;
	struct map index;
	map_init(&index);
	for (size_t i = 0; i < fs->len; i++)
		map_put(&index, fs->v[i].fingerprint, 16, &fs->v[i]);
	for (size_t i = 0; i < root->seq.len; i++) {
		const struct node *e = root->seq.items[i];
		const struct node *fp = node_map_get(e, "fingerprint");
		struct finding *f = map_get(&index, fp->str.s, 16);
		if (f && (finding_is_error(f) || finding_is_note(f))) {
			f->baselined = true;
			continue;
		}
		if (!report_stale)
			continue;
		const struct node *sum = node_map_get(e, "summary");
		diag_remark(e->file, e->off, "baseline entry %s matches no finding any more%s%s", fp->str.s,
			     sum && sum->kind == NODE_STR ? ": " : "", sum && sum->kind == NODE_STR ? sum->str.s : "");
	}
	map_free(&index);
	return 0;
}

static int write_atomically(const char *path, const struct buf *data)
{
	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	FILE *fp = fopen(tmp.data, "wb");
	int rc = -1;
	if (fp && fwrite(data->data, 1, data->len, fp) == data->len && fflush(fp) == 0 && !ferror(fp)) {
		if (fclose(fp) == 0 && rename(tmp.data, path) == 0)
			rc = 0;
		fp = NULL;
	}
	if (rc < 0) {
		diag_error(NULL, 0, "cannot write baseline '%s': %s", path, strerror(errno));
		if (fp)
			fclose(fp);
		unlink(tmp.data);
	}
	buf_free(&tmp);
	return rc;
}

static int compare_entries(const void *a, const void *b)
{
	const struct value *x = *(struct value *const *)a, *y = *(struct value *const *)b;
	int c = strcmp(value_map_get(x, "fingerprint")->str.s, value_map_get(y, "fingerprint")->str.s);
	return c ? c : strcmp(value_map_get(x, "summary")->str.s, value_map_get(y, "summary")->str.s);
}

int baseline_write(struct project *p, const char *path, const struct findings *fs)
{
	struct arena *a = &p->arena;
	size_t n = 0;
	for (size_t i = 0; i < fs->len; i++)
		n += finding_is_error(&fs->v[i]) || finding_is_note(&fs->v[i]);
	struct value *list = value_list(a, n, NULL);
	n = 0;
	for (size_t i = 0; i < fs->len; i++) {
		const struct finding *f = &fs->v[i];
		if (!finding_is_error(f) && !finding_is_note(f))
			continue;
		struct value *e = value_map_room(a, 2);
		value_map_add(e, "fingerprint", value_cstr(a, f->fingerprint));
		value_map_add(e, "summary", value_cstr(a, arena_printf(a, "%s %s -> %s %s %s", finding_class_name(f),
								       f->env_a, f->env_b, f->unit, f->key)));
		list->list.items[n++] = e;
	}
	/* Sorted by fingerprint: the file diffs cleanly in review. */
	qsort(list->list.items, n, sizeof(*list->list.items), compare_entries);
	struct buf out = BUF_INIT;
	value_to_json(list, &out);
	buf_putc(&out, '\n');
	int rc = write_atomically(path, &out);
	buf_free(&out);
	return rc;
}
