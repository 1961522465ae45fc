/* emit.c - tfvars rendering, manifest.json, atomic all-or-nothing writes. */
#include "emit.h"
#include "cache_dir.h"
#include "eval.h"
#include "glob.h"
#include "json.h"
#include "parallel.h"
#include "template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Paths a build was about to create or delete when it stopped: owned by
 * bulkhead even though no manifest lists them yet. */
#define JOURNAL ".bulkhead-pending"
#define TEMP_SUFFIX ".bulkhead-tmp"
/* A build into a new, empty output dir writes its files below this
 * folder of it, then moves each top folder into place (see
 * publish_staged). */
#define STAGING ".bulkhead-staging"
enum { STAGING_DEPTH = 256 };	/* folders below it that a cleanup descends */
#define TFVARS "terraform.tfvars.json"

void hash_hex(XXH128_hash_t h, char out[33])
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = xmalloc(la + lb + 2);
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

/* ---- selection ---- */

bool selection_has_env(const struct selection *s, const struct env *e)
{
	if (!s || !s->nenvs)
		return true;
	for (size_t i = 0; i < s->nenvs; i++)
		if (!strcmp(s->envs[i], e->label) || !strcmp(s->envs[i], e->name))
			return true;
	return false;
}

bool selection_has_unit(const struct selection *s, const char *env_label, const char *env_name,
			const char *unit_id)
{
	if (!s)
		return true;
	bool env_ok = !s->nenvs;
	for (size_t i = 0; i < s->nenvs && !env_ok; i++)
		env_ok = !strcmp(s->envs[i], env_label) || !strcmp(s->envs[i], env_name);
	if (!env_ok)
		return false;
	if (!s->nunits)
		return true;
	for (size_t i = 0; i < s->nunits; i++)
		if (glob_match(s->units[i], unit_id))
			return true;
	return false;
}

/* ---- planning ---- */

static void expand_path(const struct project *p, const struct unit *u, struct buf *out)
{
	buf_reset(out);
	for (const char *q = p->output_path; *q;) {
		const char *close = *q == '{' ? strchr(q, '}') : NULL;
		if (!close) {
			buf_putc(out, *q++);
			continue;
		}
		size_t n = (size_t)(close - q - 1);
		const char *name = q + 1;
		if (n == 3 && !strncmp(name, "env", 3))
			buf_puts(out, u->env->name);
		else if (n == 10 && !strncmp(name, "account_id", 10))
			buf_puts(out, u->env->account_id);
		else if (n == 6 && !strncmp(name, "region", 6))
			buf_puts(out, u->env->region);
		else if (n == 4 && !strncmp(name, "unit", 4))
			buf_puts(out, u->id);
		else if (n == 7 && !strncmp(name, "project", 7))
			buf_puts(out, p->name);
		q = close + 1;
	}
}

/* A rendered text in its worker's arena, exactly sized (30,000 malloc'ed
 * buffers were 80 MB of small pages, each first touched at a fault), and
 * for an output (planned_text) its xxh3-128, taken on the worker while
 * the bytes are at hand. */
struct text {
	const char *data;
	size_t len;
	XXH128_hash_t hash;
	const struct cached_output *cached;	/* the build cache's record of it */
};

/* A text in pieces, in order, each where it was made; the array is
 * malloc'ed. */
struct pieces {
	struct iovec *v;
	size_t n, len;
};

/* output_hash of the bytes of pc. */
static uint64_t pieces_hash(const struct pieces *pc)
{
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		fatal_oom();
	XXH3_128bits_reset(st);
	for (size_t i = 0; i < pc->n; i++)
		XXH3_128bits_update(st, pc->v[i].iov_base, pc->v[i].iov_len);
	uint64_t h = XXH3_128bits_digest(st).low64;
	XXH3_freeState(st);
	return h;
}

static bool pieces_equal(const struct pieces *pc, const char *data, size_t len)
{
	if (pc->len != len)
		return false;
	for (size_t i = 0; i < pc->n; data += pc->v[i].iov_len, i++)
		if (memcmp(data, pc->v[i].iov_base, pc->v[i].iov_len))
			return false;
	return true;
}

/* The text is the plan's to keep: its arenas hold it. */
static void add_file(struct emit_plan *plan, struct unit *u, char *path, struct text t, const char *template)
{
	if (plan->nfiles == plan->cap)
		plan->files = xrealloc(plan->files, (plan->cap = plan->cap ? plan->cap * 2 : 64) * sizeof(*plan->files));
	struct out_file *f = &plan->files[plan->nfiles++];
	f->path = path;
	f->data = t.data;
	f->len = t.len;
	f->hash = t.hash;
	f->unit = u;
	f->template = template;
	f->cached = t.cached;
}

/* A worker's buffers to render in: rendering writes their lengths all
 * along, and neighbouring items run on different workers. */
struct scratch {
	PARALLEL_OWN_LINE struct buf text;
	struct buf dir, norm;
};

static struct text keep_text(struct arena *arena, const struct buf *text)
{
	return (struct text){ arena_strndup(arena, text->data, text->len), text->len, { 0, 0 }, NULL };
}

/* Whether the plan keeps a text whose bytes hash to h: not when it
 * keeps hashes only, nor when the build cache recorded the file (was)
 * with this hash, as it will most likely be found on disk (plan_text
 * renders it again when it is not).  At 30,000 units the texts are 60 MB
 * of fresh memory, which a rebuild that changes one unit writes one of. */
static bool keeps_text(const struct emit_plan *plan, const struct cached_output *was, XXH128_hash_t h)
{
	return !plan->hashes_only && (!was || was->hash != h.low64);
}

/* An output's text, for the plan: hashed, with the build cache's record
 * of the file at path, and kept if keeps_text says so. */
static struct text planned_text(struct arena *arena, const struct buf *text, const struct emit_plan *plan,
				const char *path)
{
	struct text t = { NULL, text->len, XXH3_128bits(text->data, text->len), NULL };
	if (plan->written)
		t.cached = map_get(&plan->written->files, path, strlen(path));
	if (keeps_text(plan, t.cached, t.hash))
		t.data = arena_strndup(arena, text->data, text->len);
	return t;
}

/* A unit's tfvars, as rendered on a worker: its folder below the output
 * dir (NULL when output.path leads outside it, expanded then as raw). */
struct rendered {
	const char *dir, *raw;
	char *path;
	struct text json;
};

struct rendering {
	const struct project *p;
	const struct emit_plan *plan;
	struct unit **units;
	struct rendered *out;
	struct scratch scratch[PARALLEL_MAX_JOBS];	/* per worker */
};

static void tfvars_text(const struct unit *u, struct buf *text)
{
	buf_reset(text);
	value_to_json(u->inputs, text);
	buf_putc(text, '\n');
}

static void render_tfvars(void *ctx, size_t i, struct arena *arena)
{
	struct rendering *r = ctx;
	struct scratch *sc = &r->scratch[parallel_worker()];
	struct rendered *out = &r->out[i];
	expand_path(r->p, r->units[i], &sc->dir);
	if (path_join("", sc->dir.data, &sc->norm) < 0 || !sc->norm.len) {
		out->raw = arena_strndup(arena, sc->dir.data, sc->dir.len);
		return;
	}
	out->dir = arena_strndup(arena, sc->norm.data, sc->norm.len);
	out->path = arena_concat(arena, out->dir, "/" TFVARS, (char *)NULL);
	tfvars_text(r->units[i], &sc->text);
	out->json = planned_text(arena, &sc->text, r->plan, out->path);
}

int emit_plan(struct project *p, struct unit **units, size_t n, const struct cached_outputs *written,
	      bool hashes_only, struct emit_plan *plan)
{
	struct buf content = BUF_INIT;
	struct map seen;
	int rc = 0;
	memset(plan, 0, sizeof(*plan));
	plan->units = units;
	plan->nunits = n;
	plan->written = written;
	plan->hashes_only = hashes_only;
	map_init(&seen);
	map_reserve(&seen, n);
	/* The tfvars of every unit, on all cores: each reads only the unit's
	 * evaluated inputs and the project's output settings, and writes only
	 * its own item.  Errors are reported here, in order. */
	unsigned jobs = parallel_jobs(p->jobs);
	struct rendering r = { p, plan, units, xcalloc(n + 1, sizeof(*r.out)), { { BUF_INIT, BUF_INIT, BUF_INIT } } };
	plan->arenas = parallel_arenas(jobs);
	plan->narenas = jobs;
	parallel_for(n, jobs, plan->arenas, render_tfvars, &r);
	for (unsigned w = 0; w < PARALLEL_MAX_JOBS; w++) {
		buf_free(&r.scratch[w].text);
		buf_free(&r.scratch[w].dir);
		buf_free(&r.scratch[w].norm);
	}
	for (size_t i = 0; i < n; i++) {
		struct unit *u = units[i];
		const struct rendered *out = &r.out[i];
		const struct node *at = p->output_path_node;
		if (!out->dir) {
			diag_error(at ? at->file : NULL, at ? at->off : 0,
				   "output.path gives '%s' for unit '%s' of '%s', outside the output dir",
				   out->raw, u->id, u->env->label);
			rc = -1;
			continue;
		}
		struct unit *prev = map_put(&seen, out->path, strlen(out->path), u);
		if (prev) {
			diag_error(at ? at->file : NULL, at ? at->off : 0,
				   "output.path maps '%s:%s' and '%s:%s' to the same folder '%s'",
				   prev->env->label, prev->id, u->env->label, u->id, out->dir);
			rc = -1;
			continue;
		}
		add_file(plan, u, out->path, out->json, NULL);
		for (size_t g = 0; p->generate && g < p->generate->seq.len; g++) {
			const char *name = p->generate->seq.items[g]->str.s;
			if (template_render(p, u, name, &content) < 0) {
				rc = -1;
				continue;
			}
			char *path = arena_concat(&p->arena, out->dir, "/", name, ".tf.json", (char *)NULL);
			add_file(plan, u, path, planned_text(&plan->arenas[0].arena, &content, plan, path), name);
		}
	}
	free(r.out);
	map_free(&seen);
	buf_free(&content);
	return rc;
}

/* File f's text, rendered again when the plan kept only its hash (see
 * keeps_text): for the compiler's values, which are still there until
 * before_writing.  The bytes must hash as planned. */
static int plan_text(struct project *p, const struct emit_plan *plan, struct out_file *f)
{
	if (f->data)
		return 0;
	struct buf text = BUF_INIT;
	int rc = 0;
	if (f->template)
		rc = template_render(p, f->unit, f->template, &text);
	else
		tfvars_text(f->unit, &text);
	if (rc == 0 && !XXH128_isEqual(XXH3_128bits(text.data, text.len), f->hash)) {
		diag_error(NULL, 0, "internal error: '%s' renders differently the second time", f->path);
		rc = -1;
	}
	if (rc == 0)
		f->data = keep_text(&plan->arenas[0].arena, &text).data;
	buf_free(&text);
	return rc;
}

void emit_result_free(struct emit_result *res)
{
	free(res->seen);
	res->seen = NULL;
}

void emit_plan_free(struct emit_plan *plan)
{
	free(plan->files);
	parallel_arenas_free(plan->arenas, plan->narenas);
	memset(plan, 0, sizeof(*plan));
}

/* ---- the previous manifest ---- */

struct old_entry {
	const struct node *node;	/* the unit entry */
	bool selected;
};

struct old_manifest {
	struct old_entry *entries;
	size_t n;
	struct map files;	/* path -> struct old_entry */
	struct loaded_file *file;	/* in the arena: diagnostics point into it */
	bool journal;		/* a build stopped half way: clean up after it */
	/* Not read: the build cache vouched for it (see load_vouched).  Its
	 * files are known, all selected, and its bytes' length and hash. */
	bool vouched;
	size_t len;
	uint64_t hash;
};

/* A file that may be missing: *exists tells which. */
static int read_file(const char *path, struct buf *out, int *exists)
{
	*exists = buf_read_file(out, path) == 0;
	if (*exists)
		return 0;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
}

/* The manifest's bytes straight into the arena, which keeps them for
 * diagnostics: read into a buffer and copied over, its 22 MB at 30,000
 * units were 45 MB of fresh pages and a copy.  A file that changes while
 * it is read gives what was read; the parse judges it. */
static int read_file_in(struct arena *a, const char *path, const char **data, size_t *len, int *exists)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*exists = fd >= 0;
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	bool stated = fstat(fd, &st) == 0;
	size_t want = stated && st.st_size > 0 ? (size_t)st.st_size : 0;
	char *text = arena_alloc(a, want + 1);
	ssize_t got = stated ? read_full(fd, text, want) : -1;
	int err = errno;
	close(fd);
	errno = err;
	text[got > 0 ? got : 0] = '\0';
	*data = text;
	*len = got > 0 ? (size_t)got : 0;
	return got < 0 ? -1 : 0;
}

/* An existing output file: from disk, or where the plan says outputs are
 * tracked (the index or a revision, for build --check --staged). */
static int read_output(const struct emit_plan *plan, const char *full, const char *rel, struct buf *out,
		       int *exists)
{
	if (!plan->tracked)
		return read_file(full, out, exists);
	char *path = arena_printf(plan->tracked_arena, "%s/%s", plan->tracked_dir, rel);
	buf_reset(out);
	int rc = source_read(plan->tracked, path, (size_t)1 << 30, out);
	*exists = rc == SRC_OK;
	return rc == SRC_OK || rc == SRC_ENOENT ? 0 : (errno = EIO, -1);
}

/* Whether f's planned bytes are the existing output's (*exists: there is
 * one).  A tracked output is compared as git compares, by blob id,
 * without reading it: a pre-commit check of a repo that commits its
 * 30,000 outputs read and inflated each.  Anything the id cannot tell
 * (a link, a missing file) is read. */
static int compare_output(const struct emit_plan *plan, const char *full, const struct out_file *f,
			  struct buf *cur, int *exists, bool *same)
{
	struct blob_id committed, planned;
	if (plan->tracked &&
	    source_blob_id(plan->tracked, arena_concat(plan->tracked_arena, plan->tracked_dir, "/", f->path,
							 (char *)NULL), &committed)) {
		source_blob_id_of(f->data, f->len, &planned);
		*exists = 1;
		*same = blob_id_equal(&committed, &planned);
		return 0;
	}
	if (read_output(plan, full, f->path, cur, exists) < 0)
		return -1;
	*same = *exists && cur->len == f->len && !memcmp(cur->data, f->data, f->len);
	return 0;
}

static bool manifest_entry_ok(const struct node *e)
{
	static const char *const str_keys[] = { "env", "env_name", "unit" };
	if (e->kind != NODE_MAP) {
		diag_error(e->file, e->off, "corrupt manifest: a unit entry must be a map");
		return false;
	}
	for (size_t i = 0; i < 3; i++) {
		const struct node *v = node_map_get(e, str_keys[i]);
		if (!v || v->kind != NODE_STR) {
			diag_error(e->file, e->off, "corrupt manifest: unit entry has no string '%s'", str_keys[i]);
			return false;
		}
	}
	const struct node *files = node_map_get(e, "files");
	if (!files || files->kind != NODE_MAP) {
		diag_error(e->file, e->off, "corrupt manifest: unit entry has no 'files' map");
		return false;
	}
	for (size_t i = 0; i < files->map.len; i++) {
		const struct node *k = files->map.pairs[i].key, *h = files->map.pairs[i].value;
		struct buf norm = BUF_INIT;
		bool bad_path = path_join("", k->str.s, &norm) < 0 || strcmp(norm.data, k->str.s) ||
				!strcmp(k->str.s, MANIFEST);
		buf_free(&norm);
		if (bad_path) {
			diag_error(k->file, k->off, "corrupt manifest: file path '%s' is not a plain relative path", k->str.s);
			return false;
		}
		if (h->kind != NODE_STR || h->str.len != 32 || strspn(h->str.s, "0123456789abcdef") != 32) {
			diag_error(h->file, h->off, "corrupt manifest: hash of '%s' is not 32 hex digits", k->str.s);
			return false;
		}
	}
	return true;
}

/* The previous manifest as the build cache vouches for it: found with
 * the stat data its build left it with, so it holds the bytes that build
 * hashed, and it listed exactly the outputs the cache records.  A build
 * of every unit needs no more of it than its files (to remove those of
 * units gone) and its hash (is the new one different?).  That spares
 * parsing 22 MB of JSON into 70 MB of nodes at 30,000 units, a fifth of
 * a second on one thread. */
static bool load_vouched(struct project *p, const struct emit_plan *plan, const struct selection *sel,
			 const char *path, struct old_manifest *m)
{
	const struct cached_outputs *last = plan->written;
	if (!last || plan->tracked || !last->manifest_whole || sel->nenvs || sel->nunits ||
	    !output_unchanged(&last->manifest.st, AT_FDCWD, path))
		return false;
	struct old_entry *listed = ARENA_NEW(&p->arena, struct old_entry);
	listed->selected = true;
	for (size_t i = 0; i < last->files.cap; i++) {
		const struct map_slot *s = &last->files.slots[i];
		if (s->key)
			map_put(&m->files, s->key, s->keylen, listed);
	}
	m->vouched = true;
	m->len = (size_t)last->manifest.st.size;
	m->hash = last->manifest.hash;
	return true;
}

static int load_manifest(struct project *p, const struct emit_plan *plan, const char *out_dir, const char *display,
			 const struct selection *sel, struct old_manifest *m)
{
	struct buf data = BUF_INIT;
	int exists, rc = -1;
	char *path = arena_printf(&p->arena, "%s/%s", out_dir, MANIFEST);
	char *shown = arena_printf(&p->arena, "%s/%s", display, MANIFEST);
	struct limits lim = limits_default;
	memset(m, 0, sizeof(*m));
	map_init(&m->files);
	const char *text = NULL;
	size_t len = 0;
	if (load_vouched(p, plan, sel, path, m))
		return 0;
	if ((plan->tracked ? read_output(plan, path, MANIFEST, &data, &exists)
			   : read_file_in(&p->arena, path, &text, &len, &exists)) < 0) {
		diag_error(NULL, 0, "cannot read '%s': %s", shown, strerror(errno));
		goto out;
	}
	if (!exists) {
		rc = 0;
		goto out;
	}
	if (plan->tracked) {
		text = arena_strndup(&p->arena, buf_cstr(&data), data.len);
		len = data.len;
	}
	lim.file_size = (size_t)1 << 30;
	lim.scalar_size = (size_t)1 << 20;
	lim.nodes = (size_t)1 << 28;
	m->file = ARENA_NEW(&p->arena, struct loaded_file);
	m->file->src.path = shown;
	m->file->src.data = text;
	m->file->src.len = len;
	if (json_load_as(&p->arena, &m->file->src, &lim, "corrupt manifest: ", &m->file->root) < 0)
		goto out;
	const struct node *doc = m->file->root;
	const struct node *units = node_map_get(doc, "units");
	const struct node *version = node_map_get(doc, "version");
	if (doc->kind != NODE_MAP || !units || units->kind != NODE_SEQ || !version ||
	    version->kind != NODE_INT || node_int(version) != 1) {
		diag_error(&m->file->src, 0, "corrupt manifest: expected {\"version\": 1, \"units\": [...]}");
		goto out;
	}
	m->entries = ARENA_ARRAY(&p->arena, struct old_entry, units->seq.len);
	for (size_t i = 0; i < units->seq.len; i++) {
		const struct node *e = units->seq.items[i];
		if (!manifest_entry_ok(e))
			goto out;
		struct old_entry *oe = &m->entries[m->n++];
		oe->node = e;
		oe->selected = selection_has_unit(sel, node_map_get(e, "env")->str.s,
						  node_map_get(e, "env_name")->str.s, node_map_get(e, "unit")->str.s);
		const struct node *files = node_map_get(e, "files");
		for (size_t k = 0; k < files->map.len; k++) {
			const struct node *key = files->map.pairs[k].key;
			if (map_put(&m->files, key->str.s, key->str.len, oe)) {
				diag_error(key->file, key->off, "corrupt manifest: file '%s' is listed twice", key->str.s);
				goto out;
			}
		}
	}
	rc = 0;
out:
	buf_free(&data);
	return rc;
}

/* Adds the paths of an interrupted build's journal to the owned files. */
static int load_journal(struct project *p, const char *out_dir, struct old_manifest *m)
{
	struct buf data = BUF_INIT;
	int exists;
	char *path = join(out_dir, JOURNAL);
	int rc = read_file(path, &data, &exists);
	free(path);
	if (rc < 0 || !exists) {
		buf_free(&data);
		return rc;
	}
	struct old_entry *owned = ARENA_NEW(&p->arena, struct old_entry);
	owned->selected = true;
	m->journal = true;
	char *text = arena_strndup(&p->arena, buf_cstr(&data), data.len);
	for (char *line = text, *nl; *line; line = nl + 1) {
		if (!(nl = strchr(line, '\n')))
			break;
		*nl = '\0';
		struct buf norm = BUF_INIT;
		/* Only plain relative paths: the file is ours, but not trusted. */
		if (*line && path_join("", line, &norm) == 0 && !strcmp(norm.data, line))
			map_put(&m->files, line, strlen(line), owned);
		buf_free(&norm);
	}
	buf_free(&data);
	return 0;
}

/* ---- the new manifest ---- */

static int compare_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every mocked output the unit read, sorted and once each; returns how
 * many. */
static size_t mocked_refs(struct arena *a, const struct unit *u, const char ***out)
{
	size_t n = 0;
	for (const struct mock_use *m = u->mocks; m; m = m->next)
		n++;
	const char **refs = ARENA_ARRAY(a, const char *, n + 1);
	n = 0;
	for (const struct mock_use *m = u->mocks; m; m = m->next)
		refs[n++] = mock_ref(a, m);
	qsort(refs, n, sizeof(*refs), compare_cstr);
	size_t uniq = 0;
	for (size_t i = 0; i < n; i++)
		if (!uniq || strcmp(refs[uniq - 1], refs[i]))
			refs[uniq++] = refs[i];
	*out = refs;
	return uniq;
}

/* A manifest entry is printed as value_to_json prints the map of its
 * fields, at depth UNITS_DEPTH of the document, without making the map:
 * 30,000 of them were 45 MB of values and most of the manifest's time.
 * tests/unit/test_emit.c checks the whole document against
 * value_to_json. */
enum { UNITS_DEPTH = 2 };	/* doc { "units": [ entry ] } */

struct entry_text {
	struct buf *out;
	size_t fields;
};

static void field(struct entry_text *t, const char *key)
{
	buf_putc(t->out, t->fields++ ? ',' : '{');
	json_indent(t->out, UNITS_DEPTH + 1);
	json_quote(t->out, key, strlen(key));
	buf_puts(t->out, ": ");
}

static void str_field(struct entry_text *t, const char *key, const char *s)
{
	field(t, key);
	if (s)
		json_quote(t->out, s, strlen(s));
	else
		buf_puts(t->out, "null");
}

/* A list or map of n items whose own text item() prints. */
static void items_field(struct entry_text *t, const char *key, char open, char close, size_t n,
			void (*item)(struct buf *out, const void *ctx, size_t i), const void *ctx)
{
	field(t, key);
	buf_putc(t->out, open);
	for (size_t i = 0; i < n; i++) {
		json_indent(t->out, UNITS_DEPTH + 2);
		item(t->out, ctx, i);
		if (i + 1 < n)
			buf_putc(t->out, ',');
	}
	if (n)
		json_indent(t->out, UNITS_DEPTH + 1);
	buf_putc(t->out, close);
}

static void quoted_item(struct buf *out, const void *ctx, size_t i)
{
	const char *s = ((const char *const *)ctx)[i];
	json_quote(out, s, strlen(s));
}

static void file_item(struct buf *out, const void *ctx, size_t i)
{
	const struct out_file *f = ((const struct out_file *const *)ctx)[i];
	char hex[33];
	hash_hex(f->hash, hex);
	json_quote(out, f->path, strlen(f->path));
	buf_puts(out, ": ");
	json_quote(out, hex, 32);
}

static int compare_file_paths(const void *a, const void *b)
{
	return strcmp((*(const struct out_file *const *)a)->path, (*(const struct out_file *const *)b)->path);
}

/* The manifest entry of u, whose files start at plan->files[fi], its keys
 * in byte order. */
static void unit_entry(struct arena *a, const struct emit_plan *plan, size_t fi, const struct unit *u,
		       struct buf *out)
{
	struct entry_text t = { out, 0 };
	size_t nfiles = 0;
	while (fi + nfiles < plan->nfiles && plan->files[fi + nfiles].unit == u)
		nfiles++;
	const struct out_file **files = ARENA_ARRAY(a, const struct out_file *, nfiles + 1);
	for (size_t i = 0; i < nfiles; i++)
		files[i] = &plan->files[fi + i];
	qsort(files, nfiles, sizeof(*files), compare_file_paths);
	const char **deps = ARENA_ARRAY(a, const char *, u->ndeps + 1);
	for (size_t i = 0; i < u->ndeps; i++)
		deps[i] = arena_concat(a, u->deps[i].target_env, ":", u->deps[i].target_id, (char *)NULL);
	qsort(deps, u->ndeps, sizeof(*deps), compare_cstr);
	const char **mocked;
	size_t nmocked = mocked_refs(a, u, &mocked);
	str_field(&t, "account_id", u->env->account_id);
	items_field(&t, "dependencies", '[', ']', u->ndeps, quoted_item, deps);
	str_field(&t, "env", u->env->label);
	str_field(&t, "env_name", u->env->name);
	items_field(&t, "files", '{', '}', nfiles, file_item, files);
	field(&t, "level");
	buf_add_int(out, u->level);
	items_field(&t, "mocked", '[', ']', nmocked, quoted_item, mocked);
	str_field(&t, "region", u->env->region);
	str_field(&t, "source", u->source);
	str_field(&t, "unit", u->id);
	json_indent(out, UNITS_DEPTH);
	buf_putc(out, '}');
}

/* A manifest entry: a unit of this build (its first file's index) or an
 * entry of the previous manifest outside the selection. */
struct manifest_entry {
	const char *env, *unit;	/* the sort key */
	struct unit *u;		/* NULL for a kept entry */
	size_t first_file;
	const struct node *kept;
	struct text text;	/* rendered as an item of "units" */
};

static int compare_entries(const void *pa, const void *pb)
{
	const struct manifest_entry *a = pa, *b = pb;
	int c = strcmp(a->env, b->env);
	return c ? c : strcmp(a->unit, b->unit);
}

struct entry_rendering {
	const struct emit_plan *plan;
	struct manifest_entry *v;
	size_t n;
	struct scratch scratch[PARALLEL_MAX_JOBS];	/* per worker */
};

/* Entry i as an item of "units", with the line break and indent before
 * it and the comma after it (but the last). */
static void render_entry(void *ctx, size_t i, struct arena *arena)
{
	struct entry_rendering *er = ctx;
	struct manifest_entry *m = &er->v[i];
	struct buf *text = &er->scratch[parallel_worker()].text;
	buf_reset(text);
	json_indent(text, UNITS_DEPTH);
	if (m->u)
		unit_entry(arena, er->plan, m->first_file, m->u, text);
	else
		value_to_json_at(value_from_node(arena, m->kept), text, UNITS_DEPTH);
	if (i + 1 < er->n)
		buf_putc(text, ',');
	m->text = keep_text(arena, text);
}

static void add_piece(struct pieces *pc, const char *data, size_t len)
{
	pc->v[pc->n++] = (struct iovec){ (void *)data, len };
	pc->len += len;
}

/* The document with "units": [] made from values, and the entries, each
 * rendered on a worker (30,000 of them took 0.3 s on one thread), spliced
 * in: byte for byte what value_to_json prints of the whole.  The entries
 * stay where they were rendered: copied into one text, they were 22 MB
 * more fresh memory and 60 ms on one thread at 30,000 units. */
static struct pieces assemble_manifest(struct project *p, struct arena *into, const struct manifest_entry *v,
				       size_t n)
{
	struct arena *a = &p->arena;
	struct value *doc = value_map_room(a, 4);
	value_map_add(doc, "generator", value_cstr(a, "bulkhead"));
	value_map_add(doc, "project", value_cstr(a, p->name));
	value_map_add(doc, "units", value_list(a, 0, NULL));
	value_map_add(doc, "version", value_int(a, 1, NULL));
	value_map_sort(doc);
	struct buf head = BUF_INIT;
	value_to_json(doc, &head);
	buf_putc(&head, '\n');
	struct pieces pc = { xcalloc(n + 2, sizeof(*pc.v)), 0, 0 };
	/* Strings cannot hold a raw newline: this is the top-level key. */
	static const char empty_units[] = "\n  \"units\": []";
	const char *found = strstr(head.data, empty_units);
	size_t split = (size_t)(found - head.data) + sizeof(empty_units) - 2;	/* after "[" */
	if (!n) {
		add_piece(&pc, arena_strndup(into, head.data, head.len), head.len);
	} else {
		add_piece(&pc, arena_strndup(into, head.data, split), split);
		for (size_t i = 0; i < n; i++)
			add_piece(&pc, v[i].text.data, v[i].text.len);
		const char *rest = arena_printf(into, "\n  %s", head.data + split);
		add_piece(&pc, rest, strlen(rest));
	}
	buf_free(&head);
	return pc;
}

/* Whether the new manifest keeps entries of the previous one: those
 * outside this build's selection. */
static bool keeps_old_entries(const struct old_manifest *old)
{
	for (size_t i = 0; i < old->n; i++)
		if (!old->entries[i].selected)
			return true;
	return false;
}

/* Entries of this build plus the previous manifest's entries outside the
 * selection, sorted by (env, unit). */
static struct pieces render_manifest(struct project *p, const struct emit_plan *plan,
				     const struct old_manifest *old)
{
	struct manifest_entry *v = xcalloc(plan->nunits + old->n + 1, sizeof(*v));
	size_t n = 0, fi = 0;
	for (size_t i = 0; i < plan->nunits; i++) {
		struct unit *u = plan->units[i];
		v[n++] = (struct manifest_entry){ u->env->label, u->id, u, fi, NULL, { NULL, 0 } };
		while (fi < plan->nfiles && plan->files[fi].unit == u)
			fi++;
	}
	for (size_t i = 0; i < old->n; i++)
		if (!old->entries[i].selected) {
			const struct node *e = old->entries[i].node;
			v[n++] = (struct manifest_entry){ node_map_get(e, "env")->str.s, node_map_get(e, "unit")->str.s,
							  NULL, 0, e, { NULL, 0 } };
		}
	qsort(v, n, sizeof(*v), compare_entries);
	struct entry_rendering er = { plan, v, n, { { BUF_INIT } } };
	/* In the plan's arenas: the entries are pieces of the manifest until
	 * it is written, after before_writing freed the project's. */
	parallel_for(n, plan->narenas, plan->arenas, render_entry, &er);
	for (unsigned w = 0; w < PARALLEL_MAX_JOBS; w++)
		buf_free(&er.scratch[w].text);
	struct pieces doc = assemble_manifest(p, &plan->arenas[0].arena, v, n);
	free(v);
	return doc;
}

/* ---- writing ---- */

enum action { ACT_KEEP, ACT_WRITE };

/* The write phase allocates nothing once it has begun (an allocation
 * failure half way would strand files): every path is made up front and
 * the folders it creates are noted in a pool reserved beforehand. */
struct dir_log {
	PARALLEL_OWN_LINE char *pool;	/* created folders, NUL-separated */
	size_t pool_len, pool_cap;
	size_t *created;	/* offsets of created folders in pool */
	size_t ncreated, created_cap;
};

/* A temp file that could not be written: the errno, and whether it was
 * its folder that could not be made. */
struct write_error {
	int err;
	bool in_dir;
};

struct write_state {
	const char *out_dir;
	const char *display;	/* out_dir as the user names it, for messages */
	char **temps;		/* temp path per file to write, NULL if kept */
	char **finals;		/* final path per file to rename (not staged) */
	struct write_error *errs;	/* per file */
	unsigned jobs;		/* threads writing temp files (project.write_jobs) */
	struct file_stamp *seen;	/* per file: its temp file's stat data */
	bool fresh;		/* out_dir is new and empty, made by this build */
	char *staging;		/* out_dir/STAGING when the files go there */
	char **top_from, **top_to;	/* staged top folders, their places */
	size_t ntops;
	struct dir_log made;	/* folders made on this thread */
	struct dir_log *worker_made;	/* folders made by each worker */
};

static void reserve(struct dir_log *log, size_t bytes, size_t dirs)
{
	if (log->pool_len + bytes > log->pool_cap) {
		log->pool_cap = log->pool_len + bytes;
		log->pool = xrealloc(log->pool, log->pool_cap);
	}
	if (log->ncreated + dirs > log->created_cap) {
		log->created_cap = log->ncreated + dirs;
		log->created = xrealloc(log->created, log->created_cap * sizeof(*log->created));
	}
}

static const char *created_dir(const struct dir_log *log, size_t i)
{
	return log->pool + log->created[i];
}

static void dir_log_free(struct dir_log *log)
{
	free(log->pool);
	free(log->created);
}

static void log_dir(struct dir_log *log, const char *path, size_t len)
{
	reserve(log, len + 1, 1);
	log->created[log->ncreated++] = log->pool_len;
	memcpy(log->pool + log->pool_len, path, len + 1);
	log->pool_len += len + 1;
}

/* mkdir -p on path[0..len), noting what it created so a failure can undo
 * it, parents before children.  mkdir comes first: on a cold build the
 * parent exists (a sibling made it) and one call does it all; only a
 * missing parent costs a walk up.  Workers may race to make one folder:
 * the one whose mkdir succeeds notes it. */
static int make_dirs_at(struct dir_log *log, char *path, size_t len)
{
	struct stat st;
	path[len] = '\0';
	int rc = mkdir(path, 0777);
	if (rc == 0) {
		log_dir(log, path, len);
		return 0;
	}
	if (errno == EEXIST)
		return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
	size_t parent = len;
	while (parent > 0 && path[parent - 1] != '/')
		parent--;
	if (errno != ENOENT || parent <= 1)
		return -1;
	if (make_dirs_at(log, path, parent - 1) < 0)
		return -1;
	path[parent - 1] = '/';
	path[len] = '\0';
	if (mkdir(path, 0777) == 0)
		log_dir(log, path, len);
	else if (errno != EEXIST)
		return -1;
	return 0;
}

/* Allocates only when the reservation is short. */
static int make_dirs(struct dir_log *log, const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	if (len >= sizeof(path))
		return errno = ENAMETOOLONG, -1;
	memcpy(path, dir, len + 1);
	return make_dirs_at(log, path, len);
}

/* The temp file of an output: beside it, named after it.  The name is
 * fixed, not per process, so the next build (holding the lock) can find
 * and remove what a killed one left behind. */
static char *temp_name(const char *out_dir, const char *rel)
{
	struct buf b = BUF_INIT;
	const char *slash = strrchr(rel, '/');
	buf_printf(&b, "%s/%.*s%s.%s%s", out_dir, slash ? (int)(slash - rel) : 0, rel, slash ? "/" : "",
		   slash ? slash + 1 : rel, TEMP_SUFFIX);
	return buf_detach(&b, NULL);
}

/* Creates the folder of final; 0 or the errno, reporting nothing. */
static int make_file_dir(struct dir_log *log, const char *final)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(final, '/');
	size_t n = slash ? (size_t)(slash - final) : 0;
	if (n >= sizeof(dir))
		n = sizeof(dir) - 1;
	memcpy(dir, final, n);
	dir[n] = '\0';
	return make_dirs(log, dir) < 0 ? errno : 0;
}

static void report_write_error(const struct write_state *ws, const char *rel, struct write_error e)
{
	if (e.in_dir)
		diag_error(NULL, 0, "cannot create the directory of '%s/%s': %s", ws->display, rel, strerror(e.err));
	else
		diag_error(NULL, 0, "cannot write '%s/%s': %s", ws->display, rel, strerror(e.err));
}

/* Writes the pieces of text to temp; 0 or the errno, reporting nothing
 * (workers call it).  A temp file that could not be written whole is
 * removed.  seen (or NULL) gets its stat data once written: its rename
 * keeps them. */
static int write_temp_file(const char *temp, const struct pieces *text, struct file_stamp *seen)
{
	struct stat st;
	int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	bool ok = fd >= 0 && (text->n == 1 ? write_all(fd, text->v[0].iov_base, text->v[0].iov_len)
					   : write_gathered(fd, text->v, text->n)) == 0;
	if (ok && seen && fstat(fd, &st) == 0)
		*seen = file_stamp_of(&st);
	if (ok && close(fd) == 0)
		return 0;
	int err = errno;
	if (fd >= 0) {
		if (!ok)
			close(fd);
		unlink(temp);
	}
	return err ? err : EIO;
}

/* Makes temp's folder, noted in log, and writes text to temp; the
 * outcome, reporting nothing. */
static struct write_error write_in_dir(struct dir_log *log, const char *temp, const struct pieces *text,
				       struct file_stamp *seen)
{
	struct write_error e = { make_file_dir(log, temp), true };
	if (!e.err)
		e = (struct write_error){ write_temp_file(temp, text, seen), false };
	return e;
}

/* Writes text to temp, beside the file rel, on the calling thread. */
static int write_temp(struct write_state *ws, const char *rel, const char *temp, const struct pieces *text)
{
	struct write_error e = write_in_dir(&ws->made, temp, text, NULL);
	if (e.err)
		report_write_error(ws, rel, e);
	return e.err ? -1 : 0;
}

/* The temp files of the outputs and their folders, on every worker: the
 * kernel makes files and folders in different places in parallel, and on
 * a file system without a journal each new inode costs a scan (30 us).
 * There are more writers than CPUs (parallel_write_jobs): a new folder
 * gets a block, and ext4 reads the bitmaps of block groups it has not
 * cached from the disk.  On a cold build at 30,000 units two writers
 * slept a fifth of the time, two thirds of their sleeps in those reads;
 * with four, the writing took 0.88 s instead of 1.08 (medians of 8).
 * Plain system calls, not io_uring: mkdirat has no non-blocking path, so
 * batched it goes to io-wq's kernel threads on the same cores (the write
 * floor's files so: 0.95-1.24 s against 0.72-0.82 s).
 * Each worker notes the folders it made in a log of its own, reserved
 * beforehand.  The manifest's temp file, when it changed, is the first
 * item: at 30,000 units it is 22 MB, 40 ms of writing that ran on the
 * calling thread alone once the files were done.  After a failure the
 * other workers stop taking files; the first failed file in plan order
 * is reported, then the manifest. */
struct temp_writes {
	const struct emit_plan *plan;
	struct write_state *ws;
	const char *mtemp;			/* NULL: no manifest to write */
	const struct pieces *manifest;
	atomic_bool failed;
};

/* write_in_dir on a worker, the outcome in *e; a failure stops the
 * others taking files. */
static void write_one(struct temp_writes *tw, struct write_error *e, const char *temp,
		      const struct pieces *text, struct file_stamp *seen)
{
	*e = write_in_dir(&tw->ws->worker_made[parallel_worker()], temp, text, seen);
	if (e->err)
		atomic_store(&tw->failed, true);
}

/* Files are planned in path order: a run of them fills a few folders.
 * Workers take whole runs, so two rarely make entries in one folder at
 * once (they would queue on its lock). */
enum { WRITE_RUN = 512 };

/* Item 0 is the manifest, item i > 0 file i - 1. */
static void write_item(void *ctx, size_t i)
{
	struct temp_writes *tw = ctx;
	struct write_state *ws = tw->ws;
	if (atomic_load_explicit(&tw->failed, memory_order_relaxed))
		return;
	if (i == 0) {
		if (tw->mtemp)
			write_one(tw, &ws->errs[tw->plan->nfiles], tw->mtemp, tw->manifest, NULL);
		return;
	}
	const struct out_file *f = &tw->plan->files[--i];
	if (ws->temps[i])
		write_one(tw, &ws->errs[i], ws->temps[i],
			  &(struct pieces){ &(struct iovec){ (void *)f->data, f->len }, 1, f->len }, &ws->seen[i]);
}

/* Writes the temp files of the plan and, if mtemp is set, the manifest's
 * text to mtemp. */
static int write_temps(struct write_state *ws, const struct emit_plan *plan, const char *mtemp,
		       const struct pieces *manifest)
{
	struct temp_writes tw = { .plan = plan, .ws = ws, .mtemp = mtemp, .manifest = manifest };
	atomic_init(&tw.failed, false);
	parallel_for_runs(plan->nfiles + 1, WRITE_RUN, ws->jobs, write_item, &tw);
	for (size_t i = 0; i < plan->nfiles; i++)
		if (ws->errs[i].err) {
			report_write_error(ws, plan->files[i].path, ws->errs[i]);
			return -1;
		}
	if (ws->errs[plan->nfiles].err) {
		report_write_error(ws, MANIFEST, ws->errs[plan->nfiles]);
		return -1;
	}
	return 0;
}

static bool remove_logged_dirs(const struct dir_log *log)
{
	bool removed = false;
	for (size_t i = log->ncreated; i-- > 0;)
		removed |= rmdir(created_dir(log, i)) == 0;
	return removed;
}

/* Each log lists parents before children, but one worker's folder may
 * hold another's: sweep until a pass removes nothing. */
static void remove_created_dirs(const struct write_state *ws)
{
	bool removed = true;
	while (removed) {
		removed = remove_logged_dirs(&ws->made);
		for (unsigned w = 0; ws->worker_made && w < ws->jobs; w++)
			removed |= remove_logged_dirs(&ws->worker_made[w]);
	}
}

/* Removes the folders above a deleted file that it left empty. */
static void prune_dirs(const char *out_dir, const char *full)
{
	char path[PATH_MAX];
	size_t top = strlen(out_dir), len = strlen(full);
	if (len >= sizeof(path))
		return;
	memcpy(path, full, len + 1);
	for (char *slash = strrchr(path, '/'); slash && (size_t)(slash - path) > top; slash = strrchr(path, '/')) {
		*slash = '\0';
		if (rmdir(path) < 0)
			break;
	}
}

/* Two builds into one output dir take turns: the second waits.  The lock
 * is on the directory itself, so no lock file is left behind. */
static int lock_output(const struct write_state *ws, int *fd)
{
	*fd = open(ws->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0 || flock(*fd, LOCK_EX) < 0) {
		diag_error(NULL, 0, "cannot lock '%s': %s", ws->display, strerror(errno));
		return -1;
	}
	return 0;
}

struct change_list {
	enum action *actions;
	struct file_stamp *seen;	/* per file, for the build cache; or NULL */
	const char **removals;
	size_t nremovals;
	bool manifest_changed;
	struct pieces manifest;	/* in the plan's arenas; the array malloc'ed */
	uint64_t manifest_hash;	/* output_hash of its bytes */
	bool manifest_whole;	/* it lists the plan's files and no others */
};

bool output_unchanged(const struct file_stamp *st, int dir_fd, const char *path)
{
	struct stat now;
	if (fstatat(dir_fd, path, &now, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(now.st_mode))
		return false;
	return file_stamp_same(file_stamp_of(&now), *st);
}

/* An output the last build wrote with the content now planned, not
 * touched since (its stat data is as the build cache recorded): the same
 * trust as a no-op build's, without reading 30,000 files for one change.
 * Paths below the output dir are looked up from out_fd, the dir opened
 * once (-1 when it could not be: then nothing is below it); a lookup from
 * the root walked its six folders again for each of 60,000 paths. */
static const struct file_stamp *known_current(const struct emit_plan *plan, const struct out_file *f,
					      int out_fd)
{
	const struct cached_output *was = f->cached;
	if (!was || plan->tracked || out_fd < 0 || was->hash != f->hash.low64 ||
	    !output_unchanged(&was->st, out_fd, f->path))
		return NULL;
	return &was->st;
}

/* Refuses a path under the output dir that passes through a symlink: a
 * committed link could otherwise point a build anywhere on the runner. */
static int check_no_links(int out_fd, const char *display, const char *rel, struct map *checked)
{
	char *folder = xstrdup(rel);
	int rc = 0;
	for (char *slash = strchr(folder, '/'); slash && rc == 0; slash = strchr(slash + 1, '/')) {
		struct stat st;
		*slash = '\0';
		size_t n = (size_t)(slash - folder);
		if (!map_get(checked, folder, n)) {
			if (out_fd >= 0 && fstatat(out_fd, folder, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode)) {
				diag_error(NULL, 0, "refusing to write through '%s/%s': it is a symlink", display,
					   folder);
				rc = -1;
			}
			char *key = xstrndup(folder, n);
			if (map_put(checked, key, n, key))
				free(key);
		}
		*slash = '/';
	}
	free(folder);
	return rc;
}

static void free_checked(struct map *checked)
{
	for (size_t i = 0; i < checked->cap; i++)
		free(checked->slots[i].value);
	map_free(checked);
}

/* What the scan found of each planned file, on the workers: known
 * current (the build cache vouches for it, or its bytes are the planned
 * ones), or to be written (missing, or other bytes in a file the last
 * manifest recorded).  The rest (a link on the way, a read error, a file
 * bulkhead did not write, a text the plan did not keep) is left to the
 * careful path on the calling thread, which reports. */
enum verdict { VERDICT_CAREFUL, VERDICT_KEEP, VERDICT_WRITE };

struct scanned {
	enum verdict verdict;
	struct file_stamp st;	/* VERDICT_KEEP: the file as found */
};

/* A worker's memo of checked folders (workers take runs of files, so it
 * serves a run's shared parents) and its buffer for reading. */
struct scan_worker {
	PARALLEL_OWN_LINE struct map dirs;
	struct buf text;
};

struct output_scan {
	const struct emit_plan *plan;
	const struct old_manifest *old;
	int out_fd;
	struct scanned *found;	/* per file */
	struct scan_worker *workers;
};

/* Reads f below out_fd into text and compares it with the planned bytes:
 * a read of a file whose size is not the text's is saved.  Without a
 * build cache (a fresh clone of a repo that commits its outputs, or
 * build --check) this is every file: at 30,000 of them 0.55 s on the
 * calling thread alone, 0.18 s here. */
static enum verdict compare_found(const struct output_scan *sc, const struct out_file *f, struct buf *text,
				  struct file_stamp *seen)
{
	struct stat st;
	int fd = openat(sc->out_fd, f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? VERDICT_WRITE : VERDICT_CAREFUL;
	enum verdict v = VERDICT_CAREFUL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		bool same = (uint64_t)st.st_size == f->len;
		if (same) {
			buf_reset(text);
			buf_grow(text, f->len + 1);
			same = read_full(fd, text->data, f->len + 1) == (ssize_t)f->len &&
			       !memcmp(text->data, f->data, f->len);
		}
		if (same) {
			*seen = file_stamp_of(&st);
			v = VERDICT_KEEP;
		} else if (map_get(&sc->old->files, f->path, strlen(f->path))) {
			v = VERDICT_WRITE;
		}
	}
	close(fd);
	return v;
}

static void scan_item(void *ctx, size_t i)
{
	struct output_scan *sc = ctx;
	struct scan_worker *w = &sc->workers[parallel_worker()];
	const struct out_file *f = &sc->plan->files[i];
	struct scanned *out = &sc->found[i];
	/* A file known current is neither read nor written: no link on its
	 * way can lead a write astray, and 30,000 of them cost 33,000 more
	 * lookups for one changed unit.  Every other file is checked. */
	const struct file_stamp *st = known_current(sc->plan, f, sc->out_fd);
	if (st)
		*out = (struct scanned){ VERDICT_KEEP, *st };
	else if (check_no_links(sc->out_fd, "", f->path, &w->dirs) == 0 && f->data)
		out->verdict = compare_found(sc, f, &w->text, &out->st);
}

/* The scan of every planned file below out_fd (not of files a source
 * tracks: the calling thread reads those). */
static struct scanned *scan_outputs(const struct emit_plan *plan, const struct old_manifest *old, int out_fd,
				    unsigned jobs)
{
	struct scan_worker workers[PARALLEL_MAX_JOBS];
	struct output_scan sc = { plan, old, out_fd, xcalloc(plan->nfiles + 1, sizeof(*sc.found)), workers };
	for (unsigned w = 0; w < jobs; w++) {
		map_init(&workers[w].dirs);
		workers[w].text = (struct buf)BUF_INIT;
	}
	if (!plan->tracked && out_fd >= 0)
		parallel_for_runs(plan->nfiles, WRITE_RUN, jobs, scan_item, &sc);
	for (unsigned w = 0; w < jobs; w++) {
		free_checked(&workers[w].dirs);
		buf_free(&workers[w].text);
	}
	return sc.found;
}

/* File i, found current as st, is kept with it for the build cache. */
static void keep_known(struct change_list *cl, size_t i, const struct file_stamp *st)
{
	cl->actions[i] = ACT_KEEP;
	if (cl->seen)
		cl->seen[i] = *st;
}

/* Compares the plan with the disk and the previous manifest.  In a
 * fresh output dir (this build just made it, and holds its lock) there is
 * nothing to read, compare or check for links: every file is written. */
static int diff_outputs(struct project *p, const struct emit_plan *plan, const struct old_manifest *old,
			const char *out_dir, const char *display, bool fresh, struct change_list *cl)
{
	struct buf cur = BUF_INIT;
	struct map planned;
	int rc = 0, exists;
	bool same;
	struct map checked;
	int out_fd = fresh ? -1 : open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* What can be told of each file, found on all cores; the rest is
	 * read, compared and reported below. */
	struct scanned *found = fresh ? NULL : scan_outputs(plan, old, out_fd, parallel_jobs(p->jobs));
	map_init(&planned);
	if (!fresh)
		map_reserve(&planned, plan->nfiles);
	map_init(&checked);
	cl->actions = xcalloc(plan->nfiles + 1, sizeof(*cl->actions));
	for (size_t i = 0; fresh && i < plan->nfiles; i++) {
		cl->actions[i] = ACT_WRITE;
		if (plan_text(p, plan, &plan->files[i]) < 0)
			rc = -1;
	}
	for (size_t i = 0; !fresh && i < plan->nfiles; i++) {
		const struct out_file *f = &plan->files[i];
		map_put(&planned, f->path, strlen(f->path), (void *)f);
		if (found[i].verdict != VERDICT_CAREFUL) {
			if (found[i].verdict == VERDICT_KEEP)
				keep_known(cl, i, &found[i].st);
			else
				cl->actions[i] = ACT_WRITE;
			continue;
		}
		char *full = join(out_dir, f->path);
		if (check_no_links(out_fd, display, f->path, &checked) < 0) {
			rc = -1;
		} else if (plan_text(p, plan, &plan->files[i]) < 0) {
			rc = -1;
		} else if (compare_output(plan, full, f, &cur, &exists, &same) < 0) {
			diag_error(NULL, 0, "cannot read '%s/%s': %s", display, f->path, strerror(errno));
			rc = -1;
		} else if (same) {
			cl->actions[i] = ACT_KEEP;
		} else if (exists && !map_get(&old->files, f->path, strlen(f->path))) {
			diag_error(NULL, 0, "refusing to overwrite '%s/%s': bulkhead did not write it (not in %s)",
				   display, f->path, MANIFEST);
			rc = -1;
		} else {
			cl->actions[i] = ACT_WRITE;
		}
		free(full);
	}
	cl->removals = xcalloc(old->files.len + 1, sizeof(char *));
	for (size_t i = 0; i < old->files.cap; i++) {
		const struct map_slot *s = &old->files.slots[i];
		const struct old_entry *oe = s->value;
		if (s->key && oe->selected && !map_get(&planned, s->key, s->keylen)) {
			if (check_no_links(out_fd, display, s->key, &checked) < 0)
				rc = -1;
			cl->removals[cl->nremovals++] = s->key;
		}
	}
	free_checked(&checked);
	cl->manifest = render_manifest(p, plan, old);
	cl->manifest_hash = pieces_hash(&cl->manifest);
	cl->manifest_whole = !keeps_old_entries(old);
	/* load_manifest read it under the same lock: compare with its bytes,
	 * or the hash the build cache vouched for. */
	const struct srcfile *was = old->file ? &old->file->src : NULL;
	if (old->vouched)
		cl->manifest_changed = old->len != cl->manifest.len || old->hash != cl->manifest_hash;
	else
		cl->manifest_changed = !was || !pieces_equal(&cl->manifest, was->data, was->len);
	free(found);
	if (out_fd >= 0)
		close(out_fd);
	map_free(&planned);
	buf_free(&cur);
	return rc;
}


static void print_changes(const struct emit_plan *plan, const struct change_list *cl,
			  const char *display, bool check, bool quiet)
{
	if (quiet)
		return;
	for (size_t i = 0; i < plan->nfiles; i++)
		if (cl->actions[i] == ACT_WRITE)
			printf("%s %s/%s\n", check ? "would write" : "wrote", display, plan->files[i].path);
	for (size_t i = 0; i < cl->nremovals; i++)
		printf("%s %s/%s\n", check ? "would remove" : "removed", display, cl->removals[i]);
}

/* The length of a path's first folder ("dev" of "dev/app/x.json"); 0
 * when the path has none. */
static size_t top_len(const char *rel)
{
	const char *slash = strchr(rel, '/');
	return slash ? (size_t)(slash - rel) : 0;
}

/* Whether a fresh build's files can be staged: each lies in a top folder,
 * and none of those is one of bulkhead's own names. */
static bool can_stage(const struct emit_plan *plan, const struct change_list *cl)
{
	for (size_t i = 0; i < plan->nfiles; i++) {
		const char *rel = plan->files[i].path;
		size_t n = top_len(rel);
		if (cl->actions[i] == ACT_WRITE &&
		    (!n || rel[0] == '.' || (n == strlen(MANIFEST) && !strncmp(rel, MANIFEST, n))))
			return false;
	}
	return true;
}

/* Notes the top folder of rel for publish_staged, once. */
static void note_top(struct write_state *ws, struct map *seen, const char *rel)
{
	size_t n = top_len(rel);
	if (map_get(seen, rel, n))
		return;
	char *top = xstrndup(rel, n);
	map_put(seen, top, n, top);
	ws->top_from = xrealloc(ws->top_from, (ws->ntops + 1) * sizeof(char *));
	ws->top_to = xrealloc(ws->top_to, (ws->ntops + 1) * sizeof(char *));
	ws->top_from[ws->ntops] = join(ws->staging, top);
	ws->top_to[ws->ntops++] = join(ws->out_dir, top);
}

/* Every path the write phase needs, made before it begins. */
struct write_paths {
	char *mfinal, *mtemp;	/* manifest.json */
	char *jfinal, *jtemp;	/* the journal */
	char **removals;	/* full paths of files to delete */
	struct buf journal;	/* the journal's text */
};

static void prepare_paths(struct write_state *ws, const struct change_list *cl, const struct emit_plan *plan,
			  const struct old_manifest *old, struct write_paths *wp)
{
	size_t n = plan->nfiles, bytes = 0, dirs = 0;
	struct map tops;
	map_init(&tops);
	ws->temps = xcalloc(n + 1, sizeof(char *));
	ws->finals = xcalloc(n + 1, sizeof(char *));
	ws->errs = xcalloc(n + 1, sizeof(*ws->errs));
	ws->staging = ws->fresh && can_stage(plan, cl) ? join(ws->out_dir, STAGING) : NULL;
	dirs += ws->staging != NULL;
	buf_init(&wp->journal);
	for (size_t i = 0; i < n; i++) {
		const char *rel = plan->files[i].path;
		if (cl->actions[i] != ACT_WRITE)
			continue;
		/* A staged file moves with its top folder: no final path. */
		if (ws->staging) {
			ws->temps[i] = join(ws->staging, rel);
			note_top(ws, &tops, rel);
		} else {
			ws->finals[i] = join(ws->out_dir, rel);
			ws->temps[i] = temp_name(ws->out_dir, rel);
		}
		bytes += strlen(ws->temps[i]) + 1;	/* the folders made are the temp's */
		for (const char *c = rel; *c; c++)
			dirs += *c == '/';
		if (!map_get(&old->files, rel, strlen(rel))) {
			buf_puts(&wp->journal, rel);
			buf_putc(&wp->journal, '\n');
		}
	}
	wp->removals = xcalloc(cl->nremovals + 1, sizeof(char *));
	for (size_t i = 0; i < cl->nremovals; i++) {
		wp->removals[i] = join(ws->out_dir, cl->removals[i]);
		buf_printf(&wp->journal, "%s\n", cl->removals[i]);
	}
	buf_grow(&wp->journal, 0);
	wp->mfinal = join(ws->out_dir, MANIFEST);
	wp->mtemp = temp_name(ws->out_dir, MANIFEST);
	wp->jfinal = join(ws->out_dir, JOURNAL);
	wp->jtemp = temp_name(ws->out_dir, JOURNAL);
	for (size_t i = 0; i < tops.cap; i++)
		free(tops.slots[i].value);
	map_free(&tops);
	reserve(&ws->made, bytes, dirs);
	/* Any worker may make any folder. */
	ws->worker_made = parallel_calloc(ws->jobs, sizeof(*ws->worker_made));
	for (unsigned w = 0; w < ws->jobs; w++)
		reserve(&ws->worker_made[w], bytes, dirs);
}

static void free_paths(struct write_state *ws, size_t n, struct write_paths *wp, size_t nremovals)
{
	for (size_t i = 0; i < n; i++) {
		free(ws->temps[i]);
		free(ws->finals[i]);
	}
	free(ws->temps);
	free(ws->finals);
	free(ws->errs);
	for (size_t i = 0; i < ws->ntops; i++) {
		free(ws->top_from[i]);
		free(ws->top_to[i]);
	}
	free(ws->top_from);
	free(ws->top_to);
	free(ws->staging);
	for (size_t i = 0; i < nremovals; i++)
		free(wp->removals[i]);
	free(wp->removals);
	free(wp->mfinal);
	free(wp->mtemp);
	free(wp->jfinal);
	free(wp->jtemp);
	buf_free(&wp->journal);
}

static void report_replace_error(const struct write_state *ws, const char *rel, int err)
{
	diag_error(NULL, 0, "cannot replace '%s/%s': %s", ws->display, rel, strerror(err));
}

static int replace(const struct write_state *ws, const char *temp, const char *final, const char *rel)
{
	if (rename(temp, final) == 0)
		return 0;
	report_replace_error(ws, rel, errno);
	return -1;
}

static int remove_journal(const struct write_state *ws, const char *jfinal)
{
	if (unlink(jfinal) == 0 || errno == ENOENT)
		return 0;
	diag_error(NULL, 0, "cannot remove '%s/%s': %s", ws->display, JOURNAL, strerror(errno));
	return -1;
}

/* Temp files a killed build left beside the outputs it was writing. */
static void remove_stale_temps(const struct emit_plan *plan, const struct old_manifest *old, const char *out_dir)
{
	const char *fixed[] = { MANIFEST, JOURNAL };
	for (size_t i = 0; i < plan->nfiles + 2; i++) {
		char *temp = temp_name(out_dir, i < plan->nfiles ? plan->files[i].path : fixed[i - plan->nfiles]);
		unlink(temp);
		free(temp);
	}
	for (size_t i = 0; i < old->files.cap; i++)
		if (old->files.slots[i].key) {
			char *temp = temp_name(out_dir, old->files.slots[i].key);
			unlink(temp);
			free(temp);
		}
}

/* The renames of the outputs, on every worker, in runs as the temp
 * files were written: each in a folder of its own, so they rarely queue
 * on a folder's lock (30,000 of them took 0.3 s on one thread).  After a
 * failure the workers stop; the journal covers what was not renamed, and
 * the first failure in plan order is reported. */
struct renames {
	struct write_state *ws;
	atomic_bool failed;
};

static void rename_item(void *ctx, size_t i)
{
	struct renames *r = ctx;
	struct write_state *ws = r->ws;
	if (!ws->temps[i] || atomic_load_explicit(&r->failed, memory_order_relaxed))
		return;
	if (rename(ws->temps[i], ws->finals[i]) == 0) {
		ws->temps[i][0] = '\0';	/* renamed: nothing to clean up */
		return;
	}
	ws->errs[i] = (struct write_error){ errno, false };
	atomic_store(&r->failed, true);
}

static int rename_outputs(const struct emit_plan *plan, struct write_state *ws)
{
	struct renames r = { .ws = ws };
	atomic_init(&r.failed, false);
	parallel_for_runs(plan->nfiles, WRITE_RUN, ws->jobs, rename_item, &r);
	for (size_t i = 0; i < plan->nfiles; i++)
		if (ws->errs[i].err) {
			report_replace_error(ws, plan->files[i].path, ws->errs[i].err);
			return -1;
		}
	return 0;
}

/* A staged build's top folders moved into the output dir: one rename
 * each where every file took one (30,000 renames at 30,000 units, about
 * 5 % of a cold build's time).  Each file still appears whole. */
static int publish_staged(const struct emit_plan *plan, struct write_state *ws)
{
	for (size_t i = 0; i < ws->ntops; i++)
		if (rename(ws->top_from[i], ws->top_to[i]) < 0) {
			report_replace_error(ws, ws->top_to[i] + strlen(ws->out_dir) + 1, errno);
			return -1;
		}
	for (size_t i = 0; i < plan->nfiles; i++)
		if (ws->temps[i])
			ws->temps[i][0] = '\0';	/* moved with its folder */
	rmdir(ws->staging);
	return 0;
}

/* The renames, then the manifest, then the deletions.  Allocates nothing. */
static int commit_changes(const struct emit_plan *plan, struct change_list *cl, struct write_state *ws,
			  struct write_paths *wp, bool manifest)
{
	if ((ws->staging ? publish_staged(plan, ws) : rename_outputs(plan, ws)) < 0)
		return -1;
	if (manifest && replace(ws, wp->mtemp, wp->mfinal, MANIFEST) < 0)
		return -1;
	for (size_t i = 0; i < cl->nremovals; i++) {
		if (unlink(wp->removals[i]) < 0 && errno != ENOENT) {
			diag_error(NULL, 0, "cannot remove '%s/%s': %s", ws->display, cl->removals[i], strerror(errno));
			return -1;
		}
		prune_dirs(ws->out_dir, wp->removals[i]);
	}
	return remove_journal(ws, wp->jfinal);
}

/* Removes the folder name below dir_fd and what it holds; links are
 * removed, never followed, and depth bounds the descent. */
static void remove_tree_at(int dir_fd, const char *name, int depth)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		else if (errno == ENOTDIR || errno == ELOOP)
			unlinkat(dir_fd, name, 0);
		return;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && (errno == EISDIR || errno == EPERM) && depth > 0)
			remove_tree_at(dirfd(d), e->d_name, depth - 1);
	}
	closedir(d);
	unlinkat(dir_fd, name, AT_REMOVEDIR);
}

/* Order matters for a build that dies half way (a kill, a full disk):
 * the journal first, so the next build knows which paths are ours; temp
 * files; renames; the manifest; removals; the journal goes last. */
static int apply_changes(const struct emit_plan *plan, struct change_list *cl, const struct old_manifest *old,
			 struct write_state *ws)
{
	struct write_paths wp;
	size_t n = plan->nfiles;
	int rc = -1;
	prepare_paths(ws, cl, plan, old, &wp);
	/* From here on nothing is allocated but on error paths. */
	struct iovec journal = { wp.journal.data, wp.journal.len };
	if (write_temp(ws, JOURNAL, wp.jtemp, &(struct pieces){ &journal, 1, wp.journal.len }) < 0 ||
	    replace(ws, wp.jtemp, wp.jfinal, JOURNAL) < 0)
		goto undo;
	if (write_temps(ws, plan, cl->manifest_changed ? wp.mtemp : NULL, &cl->manifest) < 0)
		goto undo;
	/* Point of no return: on failure the journal stays, and the next
	 * build owns the paths it names. */
	rc = commit_changes(plan, cl, ws, &wp, cl->manifest_changed);
	for (size_t i = 0; i < n; i++)
		if (ws->temps[i] && ws->temps[i][0])
			unlink(ws->temps[i]);
	if (rc < 0 && ws->staging)	/* the journal names what it held */
		remove_tree_at(AT_FDCWD, ws->staging, STAGING_DEPTH);
	if (rc < 0 && cl->manifest_changed)
		unlink(wp.mtemp);
	goto out;
undo:
	for (size_t i = 0; i < n; i++)
		if (ws->temps[i])
			unlink(ws->temps[i]);
	unlink(wp.mtemp);
	unlink(wp.jtemp);
	remove_journal(ws, wp.jfinal);
	remove_created_dirs(ws);
out:
	free_paths(ws, n, &wp, cl->nremovals);
	return rc;
}

/* The staging folder a killed build left: its files are ours, and the
 * journal names where they were going. */
static void remove_stale_staging(int out_fd)
{
	remove_tree_at(out_fd, STAGING, STAGING_DEPTH);
}

/* True when the folder open at fd holds nothing: a concurrent build
 * that locked it first may have filled the folder this build made. */
static bool dir_empty(int fd)
{
	int own = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = own >= 0 ? fdopendir(own) : NULL;
	bool empty = d != NULL;
	for (struct dirent *e; empty && (e = readdir(d));)
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	else if (own >= 0)
		close(own);
	return empty;
}

/* Takes the output dir's lock before reading the manifest: two builds
 * into one dir take turns, and the second sees the first one's result. */
static int open_output(struct write_state *ws, int *lock_fd)
{
	if (make_dirs(&ws->made, ws->out_dir) < 0) {
		diag_error(NULL, 0, "cannot create directory '%s': %s", ws->display, strerror(errno));
		return -1;
	}
	return lock_output(ws, lock_fd);
}

static void free_write_state(struct write_state *ws, int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
	dir_log_free(&ws->made);
	for (unsigned w = 0; ws->worker_made && w < ws->jobs; w++)
		dir_log_free(&ws->worker_made[w]);
	free(ws->worker_made);
}

int emit_write(struct project *p, const struct emit_plan *plan, const struct selection *sel,
	       const char *out_dir, const char *display, bool check, bool quiet,
	       struct emit_result *res)
{
	struct old_manifest old = { 0 };
	struct change_list cl = { 0 };
	struct write_state ws = { .out_dir = out_dir, .display = display, .jobs = parallel_jobs(p->write_jobs) };
	int rc = -1, lock_fd = -1;
	memset(res, 0, sizeof(*res));
	map_init(&old.files);
	if (!check)
		res->seen = ws.seen = cl.seen = xcalloc(plan->nfiles + 1, sizeof(*res->seen));
	if (!check && open_output(&ws, &lock_fd) < 0)
		goto fail;
	if (load_manifest(p, plan, out_dir, display, sel, &old) < 0)
		goto fail;
	if (!plan->tracked && load_journal(p, out_dir, &old) < 0) {
		diag_error(NULL, 0, "cannot read '%s/%s': %s", display, JOURNAL, strerror(errno));
		goto fail;
	}
	/* open_output makes the output dir last, after its parents. */
	ws.fresh = !check && !plan->tracked && ws.made.ncreated &&
		   !strcmp(created_dir(&ws.made, ws.made.ncreated - 1), out_dir) && dir_empty(lock_fd);
	if (diff_outputs(p, plan, &old, out_dir, display, ws.fresh, &cl) < 0)
		goto fail;
	qsort(cl.removals, cl.nremovals, sizeof(char *), compare_cstr);
	for (size_t i = 0; i < plan->nfiles; i++)
		cl.actions[i] == ACT_WRITE ? res->written++ : res->unchanged++;
	res->removed = cl.nremovals;
	res->manifest_changed = cl.manifest_changed;
	res->manifest_hash = cl.manifest_hash;
	res->manifest_whole = cl.manifest_whole;
	if (check) {
		print_changes(plan, &cl, display, true, quiet);
		if (cl.manifest_changed && !quiet)
			printf("would write %s/%s\n", display, MANIFEST);
		rc = 0;
		goto out;
	}
	if (plan->before_writing)
		plan->before_writing(plan->before_writing_ctx);
	if (old.journal) {
		remove_stale_temps(plan, &old, out_dir);
		remove_stale_staging(lock_fd);
	}
	if (res->written || res->removed || cl.manifest_changed)
		rc = apply_changes(plan, &cl, &old, &ws);
	else
		rc = 0;
	if (rc == 0 && old.journal) {
		char *journal = join(out_dir, JOURNAL);
		rc = remove_journal(&ws, journal);
		free(journal);
	}
	if (rc == 0)
		print_changes(plan, &cl, display, false, quiet);
	if (rc == 0 && cl.manifest_changed && !quiet)
		printf("wrote %s/%s\n", display, MANIFEST);
	goto out;
fail:
	/* Nothing was written: undo the output dir if this build made it. */
	remove_created_dirs(&ws);
out:
	free_write_state(&ws, lock_fd);
	map_free(&old.files);
	free(cl.actions);
	free(cl.removals);
	free(cl.manifest.v);
	return rc;
}
