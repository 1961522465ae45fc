/* project.c - bulkhead.yaml validation, environments, unit discovery. */
#include "project.h"
#include "glob.h"
#include "trace.h"
#include "json.h"
#include "parallel.h"
#include "policy_rules.h"
#include "schema.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const project_keys[] = {
	"version", "project", "environments", "shared", "output", "drift", "allow_env",
	"policy", "limits", "outputs_dir", "role", "secrets_account", NULL,
};
static const char *const env_keys[] = { "account_id", "region", "regions", "protected", "path", NULL };
static const char *const output_keys[] = { "dir", "path", "generate", NULL };
static const char *const drift_keys[] = { "allow", "promoted", NULL };
static const char *const policy_keys[] = { "unique_accounts", "cidr_keys", "allow", NULL };
static const char *const limit_keys[] = {
	"file_size", "depth", "scalar_size", "nodes", "include_depth", "expr_depth",
	"string_size", NULL,
};
static const char *const path_placeholders[] = {
	"env", "account_id", "region", "unit", "project", NULL,
};

int project_find_root(const char *start, struct buf *root)
{
	char *dir = realpath(start, NULL);
	if (!dir && errno == ENOMEM)
		fatal_oom();
	if (!dir)
		return -1;
	for (;;) {
		struct stat st;
		buf_reset(root);
		buf_printf(root, "%s/bulkhead.yaml", strcmp(dir, "/") ? dir : "");
		if (stat(root->data, &st) == 0 && S_ISREG(st.st_mode)) {
			buf_reset(root);
			buf_puts(root, dir);
			free(dir);
			return 0;
		}
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir) {
			if (!strcmp(dir, "/")) {
				free(dir);
				return -1;
			}
			strcpy(dir, "/");
			continue;
		}
		*slash = '\0';
	}
}

static struct loaded_file *load_file(struct project *p, struct source *src, const char *path,
				     const struct srcfile *ref, size_t ref_off, loader_fn *load);

struct loaded_file *project_load(struct project *p, const char *path,
				 const struct srcfile *ref, size_t ref_off)
{
	return load_file(p, &p->src, path, ref, ref_off, yaml_load_as);
}

/* terraform output -json files are JSON: the JSON loader reads them as
 * strictly as manifest.json, and faster than libyaml would. */
struct loaded_file *project_load_outputs(struct project *p, const char *path)
{
	return load_file(p, &p->work, path, NULL, 0, json_load_as);
}

static struct loaded_file *load_file(struct project *p, struct source *src, const char *path,
				     const struct srcfile *ref, size_t ref_off, loader_fn *load)
{
	struct loaded_file *lf = map_get(&p->files, path, strlen(path));
	if (lf && (lf->root || !lf->unreported || diag_muted()))
		return lf->root ? lf : NULL;
	if (!lf) {
		lf = ARENA_NEW(&p->arena, struct loaded_file);
		lf->src.path = arena_strdup(&p->arena, path);
		map_put(&p->files, lf->src.path, strlen(lf->src.path), lf);
	}
	/* A failure is cached once reported; a muted one is tried again. */
	lf->unreported = diag_muted();
	struct buf data = BUF_INIT;
	int rc = source_read(src, path, p->limits.file_size, &data);
	if (rc < 0) {
		if (rc == SRC_ETOOBIG) {
			lf->src.data = "";
			diag_error(&lf->src, 0, "file is %s", source_strerror(src, rc));
		} else if (ref) {
			diag_error(ref, ref_off, "cannot read '%s': %s", path, source_read_error(src, rc, path));
		} else {
			diag_error(NULL, 0, "cannot read '%s': %s", path, source_read_error(src, rc, path));
		}
		buf_free(&data);
		return NULL;
	}
	lf->src.len = data.len;
	lf->src.data = arena_strndup(&p->arena, buf_cstr(&data), data.len);
	buf_free(&data);
	if (load(&p->arena, &lf->src, &p->limits, NULL, &lf->root) < 0)
		return NULL;
	lf->unreported = false;
	return lf;
}

/* ---- parallel parsing ---- */

/* A unit is promoted by copying its folder, so most unit.yaml files have
 * the text of the same unit in the other envs: each text is parsed once
 * and the files holding it share the tree, whose nodes name the first
 * file.  Each unit maps that file back to its own wherever it reports a
 * place (unit_node_file, diag_alias): copying the trees to give each its
 * file cost 100 MB of fresh memory at 30,000 units, 5 % of a drift. */
struct prefetch {
	const struct source *src;
	const struct limits *limits;
	struct loaded_file **files;
	bool *direct;		/* the worker reads the file itself */
	struct stat *stats;	/* of what a worker read, for the trace */
	uint64_t *hashes;	/* map_hash of each file's text, for the index */
	size_t *first;		/* the file whose text it shares (itself), or SIZE_MAX */
	struct parse_cache *cache;
	/* Per file: its tree for the cache, when parsed, and the blob id a
	 * git source gave it (prepare_prefetch). */
	struct parse_fresh *fresh;
	struct parse_entry **stored;	/* per file: the cache entry of its text */
	pthread_mutex_t lock;	/* texts */
	struct map texts;	/* text -> 1 + index of the first file holding it */
};

/* Gives file i its text, whose map_hash is hash (once for both maps,
 * outside the lock): the text of an earlier file with the same bytes,
 * else the parse cache's copy (stored, its entry, or NULL), else a copy
 * of its own.  Returns the index of the file parsed. */
static size_t share_text(struct prefetch *pf, size_t i, const char *text, size_t len, uint64_t hash,
			 struct parse_entry *stored, struct arena *arena)
{
	struct loaded_file *lf = pf->files[i];
	pf->hashes[i] = hash;
	pthread_mutex_lock(&pf->lock);
	uintptr_t seen = (uintptr_t)map_get_hashed(&pf->texts, text, len, hash);
	if (seen) {
		pf->first[i] = seen - 1;
		lf->src.data = pf->files[seen - 1]->src.data;
	} else {
		pf->first[i] = i;
		if (pf->direct[i])
			lf->src.data = stored ? stored->text : arena_strndup(arena, text, len);
		map_put_hashed(&pf->texts, lf->src.data, len, hash, (void *)(uintptr_t)(i + 1));
	}
	lf->src.len = len;
	pthread_mutex_unlock(&pf->lock);
	return pf->first[i];
}

/* share_text for a text in hand: looked up in the parse cache by bytes. */
static size_t share_read_text(struct prefetch *pf, size_t i, const char *text, size_t len, struct arena *arena,
			      struct parse_entry **stored)
{
	uint64_t hash = map_hash(text, len);
	*stored = parse_cache_find(pf->cache, text, len, hash);
	return share_text(pf, i, text, len, hash, *stored, arena);
}

static void parse_one(void *ctx, size_t i, struct arena *arena)
{
	struct prefetch *pf = ctx;
	struct loaded_file *lf = pf->files[i];
	if (!lf)
		return;
	size_t first, len;
	uint64_t hash;
	struct parse_entry *stored;
	if (pf->direct[i] &&
	    source_indexed_text(pf->src, lf->src.path, pf->limits->file_size, &pf->stats[i], &hash, &len) &&
	    (stored = parse_cache_find_hash(pf->cache, hash, len))) {
		/* Unchanged since a run hashed it: the cache holds its text. */
		first = share_text(pf, i, stored->text, len, hash, stored, arena);
	} else if (pf->direct[i]) {
		struct buf data = BUF_INIT;
		int rc = source_read_direct(pf->src, lf->src.path, pf->limits->file_size, &data, &pf->stats[i]);
		if (rc == SRC_OK)
			first = share_read_text(pf, i, buf_cstr(&data), data.len, arena, &stored);
		buf_free(&data);
		if (rc != SRC_OK)
			return;
	} else {
		first = share_read_text(pf, i, lf->src.data, lf->src.len, arena, &stored);
		pf->stored[i] = stored;
	}
	if (first != i || (lf->root = parse_cache_get(pf->cache, stored, arena, &lf->src)))
		return;
	if (yaml_load(arena, &lf->src, pf->limits, &lf->root) < 0) {
		lf->root = NULL;
		return;
	}
	pf->fresh[i].src = &lf->src;
	pf->fresh[i].root = lf->root;
}

/* A unit file the workers cannot read themselves (a git source's, or a
 * work-tree file behind a link), on the calling thread.  From a git
 * source, its text comes from the parse cache when a run has seen the
 * blob's id before (libgit2 inflated a loose object for each: 0.4 to
 * 1.1 s of a pre-commit drift at 30,000 units), and the id goes with the
 * file either way, for the cache to learn.  false when it cannot be
 * read (load_file reports it later). */
static bool read_before_workers(struct project *p, struct prefetch *pf, size_t i, const char *path,
				struct buf *data, const char **text, size_t *len)
{
	struct parse_fresh *fr = &pf->fresh[i];
	fr->has_blob = source_blob_id(&p->src, path, &fr->blob);
	struct parse_entry *e = fr->has_blob ? parse_cache_find_blob(pf->cache, &fr->blob) : NULL;
	if (e && e->text_len <= p->limits.file_size) {
		*text = e->text;
		*len = e->text_len;
		return true;
	}
	if (source_read(&p->src, path, p->limits.file_size, data) < 0)
		return false;
	*text = arena_strndup(&p->arena, buf_cstr(data), data->len);
	*len = data->len;
	return true;
}

/* The blob ids of files whose text the cache held (found by text or by
 * id): the store keeps them with the entries.  On the calling thread. */
static void learn_blob_ids(struct prefetch *pf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pf->fresh[i].has_blob && pf->stored[i])
			parse_cache_note_blob(pf->cache, pf->stored[i], &pf->fresh[i].blob);
}

void *memo_find(struct project *p, enum memo_kind kind, const char *key, size_t len, struct memo_probe *probe)
{
	*probe = (struct memo_probe){ &p->worker_memo[parallel_worker()].maps[kind], len, map_hash(key, len) };
	return map_get_hashed(probe->mine, key, len, probe->hash);
}

void memo_keep(const struct memo_probe *probe, const char *stored_key, void *value)
{
	map_put_hashed(probe->mine, stored_key, probe->len, probe->hash, value);
}

struct worker_arena *project_worker_arenas(struct project *p, unsigned jobs)
{
	struct worker_arenas *w = xcalloc(1, sizeof(*w));
	w->arenas = parallel_arenas(jobs);
	w->n = jobs;
	w->next = p->worker_arenas;
	p->worker_arenas = w;
	return w->arenas;
}

void project_release_worker_arenas(struct project *p, struct worker_arenas *mark)
{
	while (p->worker_arenas && p->worker_arenas != mark) {
		struct worker_arenas *w = p->worker_arenas;
		p->worker_arenas = w->next;
		parallel_arenas_free(w->arenas, w->n);
		free(w);
	}
}

/* Work-tree files are read by the workers too; a git source, whose
 * reader is not thread-safe, is read here first.  A file that fails to
 * read or parse is left out: the lazy path of project_load then reports
 * it exactly as a one-thread run does. */
static void prepare_prefetch(struct project *p, struct prefetch *pf)
{
	struct buf data = BUF_INIT;
	for (size_t i = 0; i < p->nunits; i++) {
		const char *path = p->units[i]->file;
		if (map_get(&p->files, path, strlen(path)))
			continue;
		const char *text = NULL;
		size_t len = 0;
		pf->direct[i] = source_reads_direct(&p->src, path);
		if (!pf->direct[i] && !read_before_workers(p, pf, i, path, &data, &text, &len))
			continue;
		struct loaded_file *lf = ARENA_NEW(&p->arena, struct loaded_file);
		lf->src.path = arena_strdup(&p->arena, path);
		lf->src.data = text;
		lf->src.len = len;
		pf->files[i] = lf;
	}
	buf_free(&data);
}

/* The parse cache's new entries, encoded and stored on a thread of their
 * own while the run goes on: at 30,000 units the file is 38 MB, 30 ms of
 * writing that the main thread did alone between the prefetch and the
 * resolution.  It reads the trees, which nothing changes once loaded,
 * beside the workers; whoever frees them waits for it first
 * (project_wait_parse_store). */
struct parse_store {
	struct parse_cache *cache;
	struct parse_fresh *fresh;
	size_t n;
	pthread_t thread;
};

static void store_parse_cache(struct parse_store *ps)
{
	parse_cache_store(ps->cache, ps->fresh, ps->n);
	free(ps->fresh);
}

static void *parse_store_thread(void *arg)
{
	store_parse_cache(arg);
	return NULL;
}

/* With one job the store runs here: -j 1 asks for one thread. */
static void start_parse_store(struct project *p, struct parse_fresh *fresh, unsigned jobs)
{
	struct parse_store *ps = xmalloc(sizeof(*ps));
	*ps = (struct parse_store){ .cache = &p->parse_cache, .fresh = fresh, .n = p->nunits };
	if (jobs > 1 && pthread_create(&ps->thread, NULL, parse_store_thread, ps) == 0) {
		p->parse_store = ps;
		return;
	}
	store_parse_cache(ps);
	free(ps);
}

void project_wait_parse_store(struct project *p)
{
	if (!p->parse_store)
		return;
	pthread_join(p->parse_store->thread, NULL);
	free(p->parse_store);
	p->parse_store = NULL;
}

/* Reads and parses every unit's own file on all workers, then keeps what
 * parsed, in unit order, with the trace of what was read.  With one
 * thread too: each text is still parsed once (3.5 -> 2.5 s for drift -j 1
 * at 30,000 units). */
void project_prefetch_units(struct project *p)
{
	unsigned jobs = parallel_jobs(p->jobs);
	if (p->nunits < 2 || p->prefetched)
		return;
	p->prefetched = true;
	struct prefetch pf = {
		&p->src, &p->limits, xcalloc(p->nunits, sizeof(*pf.files)), xcalloc(p->nunits, sizeof(*pf.direct)),
		xcalloc(p->nunits, sizeof(*pf.stats)), xcalloc(p->nunits, sizeof(*pf.hashes)),
		xcalloc(p->nunits, sizeof(*pf.first)),
		.cache = &p->parse_cache, .fresh = xcalloc(p->nunits, sizeof(*pf.fresh)),
		.stored = xcalloc(p->nunits, sizeof(*pf.stored)),
	};
	parse_cache_open(&p->parse_cache, p->root, &p->limits);
	pthread_mutex_init(&pf.lock, NULL);
	map_init(&pf.texts);
	for (size_t i = 0; i < p->nunits; i++)
		pf.first[i] = SIZE_MAX;
	prepare_prefetch(p, &pf);
	struct worker_arena *arenas = project_worker_arenas(p, jobs);
	parallel_for(p->nunits, jobs, arenas, parse_one, &pf);
	learn_blob_ids(&pf, p->nunits);
	map_reserve(&p->files, p->files.len + p->nunits);
	for (size_t i = 0; i < p->nunits; i++) {
		struct loaded_file *lf = pf.files[i];
		/* A first file that failed to parse leaves the files sharing its
		 * text out too, to be loaded, and reported, one by one. */
		if (lf && pf.first[i] != SIZE_MAX && pf.first[i] != i)
			lf->root = pf.files[pf.first[i]]->root;
		if (!lf || !lf->root)
			continue;
		if (pf.direct[i])
			source_note_read(&p->src, lf->src.path, &pf.stats[i], lf->src.len, pf.hashes[i]);
		map_put(&p->files, lf->src.path, strlen(lf->src.path), lf);
	}
	start_parse_store(p, pf.fresh, jobs);
	map_free(&pf.texts);
	pthread_mutex_destroy(&pf.lock);
	free(pf.files);
	free(pf.direct);
	free(pf.stats);
	free(pf.hashes);
	free(pf.first);
	free(pf.stored);
}

/* ---- small validators ---- */

static bool valid_env_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 32 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Regions look like eu-west-1, us-gov-east-1, ap-southeast-2. */
static bool valid_region(const char *s)
{
	int parts = 0;
	const char *p = s;
	while (*p >= 'a' && *p <= 'z') {
		const char *start = p;
		while (*p >= 'a' && *p <= 'z')
			p++;
		if (p == start || *p != '-')
			return false;
		p++;
		parts++;
	}
	if (parts < 2 || !(*p >= '1' && *p <= '9'))
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

/* A look-alike such as Cyrillic 'о' in "prоd" reads as valid: name the
 * character and point at it. */
static void report_bad_name(const struct node *name)
{
	const unsigned char *s = (const unsigned char *)name->str.s;
	size_t i = 0;
	while (s[i] && s[i] < 0x80)
		i++;
	if (!s[i]) {
		diag_error(name->file, name->off, "environment name '%s' must match [a-z][a-z0-9-]{0,31}",
			   name->str.s);
		return;
	}
	unsigned cp = s[i] >= 0xf0 ? s[i] & 0x07u : s[i] >= 0xe0 ? s[i] & 0x0fu : s[i] & 0x1fu;
	for (size_t k = i + 1; (s[k] & 0xc0) == 0x80; k++)
		cp = (cp << 6) | (s[k] & 0x3fu);
	size_t off = name->style == STYLE_PLAIN ? name->off + i : name->off;
	diag_error(name->file, off, "environment name '%s' contains the non-ASCII character U+%04X; names must match [a-z][a-z0-9-]{0,31}",
		   name->str.s, cp);
}

static bool check_account_id(const struct node *n)
{
	if (n->kind != NODE_STR || n->style == STYLE_PLAIN) {
		diag_error(n->file, n->off, "account_id must be a quoted 12-digit string, e.g. \"%s\"",
			   n->kind == NODE_INT ? n->str.s : "111111111111");
		return false;
	}
	bool digits = n->str.len == 12;
	for (size_t i = 0; digits && i < 12; i++)
		digits = n->str.s[i] >= '0' && n->str.s[i] <= '9';
	if (!digits) {
		diag_error(n->file, n->off, "account_id '%s' is not 12 digits", n->str.s);
		return false;
	}
	return true;
}

static bool check_region(const struct node *n)
{
	if (!schema_expect_string(n, "region"))
		return false;
	if (!valid_region(n->str.s)) {
		diag_error(n->file, n->off, "region '%s' does not look like an AWS region (e.g. eu-west-1)",
			   n->str.s);
		return false;
	}
	return true;
}

/* Env entries may carry extra keys (they become env.<key>), so only a key
 * that is a near miss of a known one is an error. */
static bool check_env_extras(const struct node *entry)
{
	bool ok = true;
	for (size_t i = 0; i < entry->map.len; i++) {
		const struct node *key = entry->map.pairs[i].key;
		const char *const *k = env_keys;
		while (*k && strcmp(*k, key->str.s))
			k++;
		const char *hint = *k ? NULL : schema_suggest(key->str.s, env_keys);
		if (!strcmp(key->str.s, "name") || !strcmp(key->str.s, "label")) {
			diag_error(key->file, key->off, "key '%s' in an environment is reserved (env.%s is derived)",
				   key->str.s, key->str.s);
			ok = false;
		} else if (hint) {
			diag_error(key->file, key->off, "unknown key '%s' in environment; did you mean '%s'?",
				   key->str.s, hint);
			ok = false;
		}
	}
	return ok;
}

/* ---- environments ---- */

/* The env's folder as given by path: (default: its name), folded as
 * paths are ("./dev/", "//dev" and "dev" are one folder), so that
 * discovery and the overlap checks compare folders, not spellings.
 * check_env_path has refused a path that does not fold to a folder. */
static const char *env_folder(struct project *p, const struct node *entry, const char *name)
{
	const struct node *path = node_map_get(entry, "path");
	if (!path || path->kind != NODE_STR)
		return name;
	struct buf norm = BUF_INIT;
	const char *dir = path_join("", path->str.s, &norm) == 0 && norm.len
				  ? arena_strndup(&p->arena, norm.data, norm.len) : path->str.s;
	buf_free(&norm);
	return dir;
}

static struct env *new_env(struct project *p, const struct node *name, const struct node *entry,
			   bool shared, int order)
{
	struct env *e = ARENA_NEW(&p->arena, struct env);
	e->name = name->str.s;
	e->label = name->str.s;
	e->name_node = name;
	e->decl = entry;
	e->is_shared = shared;
	e->order = order;
	const struct node *acct = node_map_get(entry, "account_id");
	e->account_id = acct && acct->kind == NODE_STR ? acct->str.s : "";
	const struct node *prot = node_map_get(entry, "protected");
	e->is_protected = prot && prot->kind == NODE_BOOL && node_bool(prot);
	e->dir = env_folder(p, entry, e->name);
	return e;
}

static void push_env(struct project *p, struct env *e, size_t *cap)
{
	if (p->nenvs == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		struct env **v = ARENA_ARRAY(&p->arena, struct env *, *cap);
		if (p->nenvs)
			memcpy(v, p->envs, p->nenvs * sizeof(*v));
		p->envs = v;
	}
	p->envs[p->nenvs++] = e;
}

static bool dot_component(void *ctx, const char *name, size_t len, size_t end)
{
	(void)ctx, (void)len, (void)end;
	return name[0] == '.';
}

/* True when a component of the root-relative path starts with '.'. */
static bool path_has_dot_folder(const char *rel)
{
	return path_any_component(rel, dot_component, NULL);
}

static bool check_env_path(struct project *p, const struct node *path)
{
	struct buf norm = BUF_INIT;
	bool ok = schema_expect_string(path, "path");
	if (ok && (path_is_url(path->str.s) || path_join("", path->str.s, &norm) < 0 || !norm.len)) {
		diag_error(path->file, path->off, "environment path '%s' must be a folder beneath the project root",
			   path->str.s);
		ok = false;
	} else if (ok && path_has_dot_folder(norm.data)) {
		/* Discovery skips such folders: the env would have no units. */
		diag_error(path->file, path->off,
			   "environment path '%s' lies in a folder whose name starts with '.', which discovery skips",
			   path->str.s);
		ok = false;
	}
	buf_free(&norm);
	(void)p;
	return ok;
}

/* A region listed twice would make two envs of one label. */
static bool check_regions_unique(const struct node *regions)
{
	bool ok = true;
	for (size_t i = 1; i < regions->seq.len; i++)
		for (size_t k = 0; k < i; k++) {
			const struct node *a = regions->seq.items[k], *b = regions->seq.items[i];
			if (a->kind == NODE_STR && b->kind == NODE_STR && !strcmp(a->str.s, b->str.s)) {
				diag_error(b->file, b->off, "region '%s' is listed twice", b->str.s);
				ok = false;
				break;
			}
		}
	return ok;
}

static bool check_env_entry(struct project *p, const struct node *name, const struct node *entry)
{
	bool ok = true;
	if (!valid_env_name(name->str.s)) {
		report_bad_name(name);
		ok = false;
	}
	if (!schema_expect(entry, NODE_MAP, "an environment"))
		return false;
	ok &= check_env_extras(entry);
	const struct node *acct = node_map_get(entry, "account_id");
	const struct node *region = node_map_get(entry, "region");
	const struct node *regions = node_map_get(entry, "regions");
	const struct node *prot = node_map_get(entry, "protected");
	const struct node *path = node_map_get(entry, "path");
	if (!acct) {
		diag_error(name->file, name->off, "environment '%s' has no account_id", name->str.s);
		ok = false;
	} else {
		ok &= check_account_id(acct);
	}
	if (region && regions) {
		diag_error(regions->file, regions->off, "give either region or regions, not both");
		ok = false;
	} else if (!region && !regions) {
		diag_error(name->file, name->off, "environment '%s' has no region", name->str.s);
		ok = false;
	} else if (region) {
		ok &= check_region(region);
	} else if (schema_expect(regions, NODE_SEQ, "regions")) {
		if (!regions->seq.len) {
			diag_error(regions->file, regions->off, "regions must list at least one region");
			ok = false;
		}
		for (size_t i = 0; i < regions->seq.len; i++)
			ok &= check_region(regions->seq.items[i]);
		ok &= check_regions_unique(regions);
	} else {
		ok = false;
	}
	if (prot)
		ok &= schema_expect(prot, NODE_BOOL, "protected");
	if (path)
		ok &= check_env_path(p, path);
	return ok;
}

/* One struct env per region; the env's folder gains the region. */
static void add_env(struct project *p, const struct node *name, const struct node *entry,
		    bool shared, int order, size_t *cap)
{
	const struct node *regions = node_map_get(entry, "regions");
	if (!regions) {
		struct env *e = new_env(p, name, entry, shared, order);
		e->region = node_map_get(entry, "region")->str.s;
		push_env(p, e, cap);
		return;
	}
	for (size_t i = 0; i < regions->seq.len; i++) {
		struct env *e = new_env(p, name, entry, shared, order);
		e->region = regions->seq.items[i]->str.s;
		e->label = arena_printf(&p->arena, "%s/%s", e->name, e->region);
		e->dir = arena_printf(&p->arena, "%s/%s", e->dir, e->region);
		push_env(p, e, cap);
	}
}

static bool load_env_group(struct project *p, const struct node *group, bool shared,
			   size_t *cap, struct map *names)
{
	bool ok = true;
	if (!schema_expect(group, NODE_MAP, shared ? "shared" : "environments"))
		return false;
	for (size_t i = 0; i < group->map.len; i++) {
		const struct node *name = group->map.pairs[i].key;
		const struct node *entry = group->map.pairs[i].value;
		const struct node *prev = map_put(names, name->str.s, name->str.len, (void *)name);
		if (prev) {
			diag_error(name->file, name->off, "'%s' is both an environment and a shared account",
				   name->str.s);
			diag_note(prev->file, prev->off, "first defined here");
			ok = false;
			continue;
		}
		if (!check_env_entry(p, name, entry)) {
			ok = false;
			continue;
		}
		add_env(p, name, entry, shared, shared ? -1 : (int)i, cap);
	}
	return ok;
}

/* ---- top-level keys ---- */

static bool load_limits(struct project *p, const struct node *n)
{
	if (!schema_expect(n, NODE_MAP, "limits"))
		return false;
	bool ok = schema_check_keys(n, limit_keys, "limits") == 0;
	size_t *fields[] = {
		&p->limits.file_size, &p->limits.depth, &p->limits.scalar_size, &p->limits.nodes,
		&p->limits.include_depth, &p->limits.expr_depth, &p->limits.string_size,
	};
	for (size_t i = 0; limit_keys[i]; i++) {
		const struct node *v = node_map_get(n, limit_keys[i]);
		if (!v)
			continue;
		if (v->kind != NODE_INT || node_int(v) < 1) {
			diag_error(v->file, v->off, "limits.%s must be a positive integer", limit_keys[i]);
			ok = false;
		} else if ((uint64_t)node_int(v) > *fields[i]) {
			diag_error(v->file, v->off, "limits.%s may only lower the default (%zu)",
				   limit_keys[i], *fields[i]);
			ok = false;
		} else {
			*fields[i] = (size_t)node_int(v);
		}
	}
	return ok;
}

static bool check_output_path(const struct node *n)
{
	const char *s = n->str.s;
	bool ok = true;
	for (const char *q = strchr(s, '{'); q; q = strchr(q + 1, '{')) {
		const char *close = strchr(q, '}');
		if (!close) {
			diag_error(n->file, n->off, "output.path has an unclosed '{'");
			return false;
		}
		char name[64];
		size_t len = (size_t)(close - q - 1);
		snprintf(name, sizeof(name), "%.*s", (int)(len < 63 ? len : 63), q + 1);
		const char *const *k = path_placeholders;
		while (*k && strcmp(*k, name))
			k++;
		if (!*k) {
			const char *hint = schema_suggest(name, path_placeholders);
			diag_error(n->file, n->off, "output.path: unknown placeholder '{%s}'%s%s%s", name,
				   hint ? "; did you mean '{" : "", hint ? hint : "", hint ? "}'?" : "");
			ok = false;
		}
	}
	if (!strstr(s, "{unit}")) {
		diag_error(n->file, n->off, "output.path must contain {unit}");
		ok = false;
	}
	return ok;
}

static bool root_relative_dir(struct project *p, const struct node *n, const char *what,
			      const char **out)
{
	struct buf norm = BUF_INIT;
	bool ok = schema_expect_string(n, what);
	if (ok && (path_is_url(n->str.s) || path_join("", n->str.s, &norm) < 0 || !norm.len)) {
		diag_error(n->file, n->off, "%s '%s' must be a folder beneath the project root", what,
			   n->str.s);
		ok = false;
	} else if (ok && path_through_git(norm.data)) {
		diag_error(n->file, n->off, "%s '%s' lies in a .git folder: refusing to use it", what, n->str.s);
		ok = false;
	}
	if (ok)
		*out = arena_strdup(&p->arena, norm.data);
	buf_free(&norm);
	return ok;
}

static bool load_output(struct project *p, const struct node *n)
{
	if (!schema_expect(n, NODE_MAP, "output"))
		return false;
	bool ok = schema_check_keys(n, output_keys, "output") == 0;
	const struct node *dir = node_map_get(n, "dir");
	const struct node *path = node_map_get(n, "path");
	const struct node *gen = node_map_get(n, "generate");
	if (dir)
		ok &= root_relative_dir(p, dir, "output.dir", &p->output_dir);
	if (path && schema_expect_string(path, "output.path")) {
		if (check_output_path(path)) {
			p->output_path = path->str.s;
			p->output_path_node = path;
		} else {
			ok = false;
		}
	} else if (path) {
		ok = false;
	}
	if (gen && (ok &= schema_expect_string_list(gen, "output.generate")))
		p->generate = gen;
	return ok;
}

/* Project-level globs name the unit: UNIT-GLOB:KEY-GLOB (colons = 1), and
 * policy.allow also the rule: UNIT-GLOB:KEY-GLOB:RULE (colons = 2).  An
 * entry without them would silently match nothing. */
static bool globs_have_parts(const struct node *list, int colons)
{
	bool ok = true;
	for (size_t i = 0; i < list->seq.len; i++) {
		const struct node *g = list->seq.items[i];
		int n = 0;
		for (const char *c = g->str.s; *c; c++)
			n += *c == ':';
		if (n < colons) {
			diag_error(g->file, g->off, "'%s' must be %s", g->str.s,
				   colons == 1 ? "UNIT-GLOB:KEY-GLOB, e.g. \"*:inputs.instance_type\""
					       : "UNIT-GLOB:KEY-GLOB:RULE, e.g. \"app/*:inputs.*:cross-account\"");
			ok = false;
		}
	}
	return ok;
}

/* A checked drift.allow or drift.promoted list, split for drift.c. */
static struct unit_key_glob *split_globs(struct project *p, const struct node *list, size_t *n)
{
	struct unit_key_glob *v = ARENA_ARRAY(&p->arena, struct unit_key_glob, list->seq.len + 1);
	for (size_t i = 0; i < list->seq.len; i++)
		v[i] = unit_key_glob_split(list->seq.items[i]->str.s);
	*n = list->seq.len;
	return v;
}

static bool load_drift(struct project *p, const struct node *n)
{
	if (!schema_expect(n, NODE_MAP, "drift"))
		return false;
	bool ok = schema_check_keys(n, drift_keys, "drift") == 0;
	const struct node *allow = node_map_get(n, "allow");
	const struct node *promoted = node_map_get(n, "promoted");
	if (allow && schema_expect_string_list(allow, "drift.allow") && globs_have_parts(allow, 1))
		p->drift_allow = split_globs(p, allow, &p->ndrift_allow);
	else
		ok &= !allow;
	if (promoted && schema_expect_string_list(promoted, "drift.promoted") && globs_have_parts(promoted, 1))
		p->drift_promoted = split_globs(p, promoted, &p->ndrift_promoted);
	else
		ok &= !promoted;
	return ok;
}

/* policy.allow's RULE must name a rule: a misspelt one would waive
 * nothing, without a word. */
static bool allow_rules_known(const struct node *allow)
{
	bool ok = true;
	size_t n = 0;
	while (policy_rules[n].id)
		n++;
	const char **ids = xcalloc(n + 1, sizeof(*ids));
	for (size_t k = 0; k < n; k++)
		ids[k] = policy_rules[k].id;
	for (size_t i = 0; i < allow->seq.len; i++) {
		const struct node *g = allow->seq.items[i];
		const char *rule = strrchr(g->str.s, ':') + 1;	/* globs_have_parts saw two */
		bool known = false;
		for (size_t k = 0; k < n && !known; k++)
			known = !strcmp(rule, ids[k]);
		if (known)
			continue;
		const char *hint = schema_suggest(rule, ids);
		diag_error(g->file, g->off, "'%s' names no policy rule%s%s%s", rule, hint ? "; did you mean '" : "",
			   hint ? hint : "", hint ? "'?" : "");
		ok = false;
	}
	free(ids);
	return ok;
}

static bool load_policy(struct project *p, const struct node *n)
{
	if (!schema_expect(n, NODE_MAP, "policy"))
		return false;
	bool ok = schema_check_keys(n, policy_keys, "policy") == 0;
	const struct node *uniq = node_map_get(n, "unique_accounts");
	const struct node *cidr = node_map_get(n, "cidr_keys");
	const struct node *allow = node_map_get(n, "allow");
	if (uniq && (ok &= schema_expect(uniq, NODE_BOOL, "policy.unique_accounts")))
		p->unique_accounts = node_bool(uniq);
	if (cidr)
		ok &= schema_expect_string_list(cidr, "policy.cidr_keys");
	if (allow)
		ok &= schema_expect_string_list(allow, "policy.allow") && globs_have_parts(allow, 2) &&
		      allow_rules_known(allow);
	return ok;
}

static bool load_header(struct project *p, const struct node *doc)
{
	bool ok = true;
	const struct node *version = node_map_get(doc, "version");
	const struct node *name = node_map_get(doc, "project");
	if (!version) {
		if (!schema_near_miss(doc, "version"))
			diag_error(doc->file, doc->off, "bulkhead.yaml has no 'version' (write version: 1)");
		ok = false;
	} else if (version->kind == NODE_STR && !strcmp(version->str.s, "1")) {
		diag_error(version->file, version->off, "version must be the number 1, not the string \"1\"");
		ok = false;
	} else if (version->kind != NODE_INT || node_int(version) != 1) {
		diag_error(version->file, version->off, "unsupported version '%s' (this bulkhead reads version 1)",
			   version->str.s);
		ok = false;
	}
	if (!name) {
		if (!schema_near_miss(doc, "project"))
			diag_error(doc->file, doc->off, "bulkhead.yaml has no 'project' name");
		ok = false;
	} else if (schema_expect_string(name, "project")) {
		p->name = name->str.s;
		if (!valid_env_name(name->str.s)) {
			diag_error(name->file, name->off, "project name '%s' must match [a-z][a-z0-9-]{0,31}",
				   name->str.s);
			ok = false;
		}
	} else {
		ok = false;
	}
	return ok;
}

static bool load_settings(struct project *p, const struct node *doc)
{
	bool ok = true;
	const struct node *n;
	if ((n = node_map_get(doc, "limits")))
		ok &= load_limits(p, n);
	if ((n = node_map_get(doc, "output")))
		ok &= load_output(p, n);
	if ((n = node_map_get(doc, "drift")))
		ok &= load_drift(p, n);
	if ((n = node_map_get(doc, "policy")))
		ok &= load_policy(p, n);
	if ((n = node_map_get(doc, "allow_env")) && (ok &= schema_expect_string_list(n, "allow_env")))
		p->allow_env = n;
	if ((n = node_map_get(doc, "outputs_dir")))
		ok &= root_relative_dir(p, n, "outputs_dir", &p->outputs_dir);
	if ((n = node_map_get(doc, "role")) && (ok &= schema_expect_string(n, "role")))
		p->role = n->str.s;
	if ((n = node_map_get(doc, "secrets_account")))
		ok &= schema_expect_string(n, "secrets_account");
	return ok;
}

/* The account secret() uses: secrets_account, which must name a shared
 * account (checked here, at its line, not first where a secret() reads
 * it), else the first shared account. */
static bool find_secrets_env(struct project *p, const struct node *doc)
{
	const struct node *n = node_map_get(doc, "secrets_account");
	if (n && n->kind != NODE_STR)
		return true;	/* load_settings said so */
	const char **shared = xcalloc(p->nenvs + 1, sizeof(char *));
	size_t nshared = 0;
	for (size_t i = 0; i < p->nenvs && !p->secrets_env; i++)
		if (p->envs[i]->is_shared) {
			shared[nshared++] = p->envs[i]->name;
			if (!n || !strcmp(p->envs[i]->name, n->str.s))
				p->secrets_env = p->envs[i];
		}
	if (n && !p->secrets_env && !nshared) {
		diag_error(n->file, n->off, "secrets_account '%s' is not a shared account: bulkhead.yaml lists none under shared:",
			   n->str.s);
	} else if (n && !p->secrets_env) {
		const char *hint = schema_suggest(n->str.s, shared);
		diag_error(n->file, n->off, "secrets_account '%s' is not a shared account%s%s%s", n->str.s,
			   hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
	}
	free(shared);
	return !n || p->secrets_env;
}

static bool load_envs(struct project *p, const struct node *doc)
{
	const struct node *envs = node_map_get(doc, "environments");
	const struct node *shared = node_map_get(doc, "shared");
	struct map names;
	size_t cap = 0;
	bool ok = true;
	map_init(&names);
	if (!envs) {
		if (!schema_near_miss(doc, "environments"))
			diag_error(doc->file, doc->off, "bulkhead.yaml has no 'environments'");
		ok = false;
	} else {
		ok &= load_env_group(p, envs, false, &cap, &names);
		if (envs->kind == NODE_MAP && !envs->map.len) {
			diag_error(envs->file, envs->off, "environments must list at least one environment");
			ok = false;
		}
	}
	if (shared)
		ok &= load_env_group(p, shared, true, &cap, &names);
	map_free(&names);
	return ok;
}

/* The folder an env owns: a multi-region env's holds its region folders
 * and nothing of another env's. */
static const char *env_base(struct project *p, const struct env *e)
{
	return strcmp(e->label, e->name) ? env_folder(p, e->decl, e->name) : e->dir;
}

/* Whether envs[i] is the first (or only) region of its entry: the
 * folder it owns is checked once. */
static bool first_region(const struct project *p, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (p->envs[k]->decl == p->envs[i]->decl)
			return false;
	return true;
}

/* The folder envs[i] owns may not nest inside another env's (from an
 * earlier entry) or the output dir, nor hold them. */
static bool check_overlaps(struct project *p, size_t i)
{
	bool ok = true;
	const struct env *a = p->envs[i];
	const struct node *at = a->name_node;
	const char *base_a = env_base(p, a);
	if (path_within(base_a, p->output_dir) || path_within(p->output_dir, base_a)) {
		diag_error(at->file, at->off, "folder '%s' of '%s' overlaps the output dir '%s'", base_a, a->name,
			   p->output_dir);
		ok = false;
	}
	for (size_t j = 0; j < i; j++) {
		const struct env *b = p->envs[j];
		if (!first_region(p, j) || a->decl == b->decl)
			continue;
		const char *base_b = env_base(p, b);
		if (path_within(base_a, base_b) || path_within(base_b, base_a)) {
			diag_error(at->file, at->off, "folder '%s' of '%s' overlaps folder '%s' of '%s'", base_a,
				   a->name, base_b, b->name);
			ok = false;
		}
	}
	return ok;
}

/* Env folders may not nest inside each other or the output dir, and
 * each must exist. */
static bool check_folders(struct project *p)
{
	bool ok = true;
	for (size_t i = 0; i < p->nenvs; i++) {
		struct env *a = p->envs[i];
		if (first_region(p, i))
			ok &= check_overlaps(p, i);
		if (source_kind(&p->src, a->dir) != SRC_DIR) {
			diag_error(a->name_node->file, a->name_node->off,
				   "folder '%s' of environment '%s' does not exist", a->dir, a->label);
			ok = false;
		}
	}
	return ok;
}

/* ---- unit discovery ---- */

struct walk {
	struct project *p;
	char **found;		/* directories holding unit.yaml */
	size_t n, cap;
};

static bool skip_dir(const struct project *p, const char *path, const char *name)
{
	return name[0] == '.' || !strcmp(path, p->output_dir) ||
	       (p->outputs_dir && !strcmp(path, p->outputs_dir));
}

/* Folders are not followed through symlinks: a unit reached that way
 * would have two identities, or live outside the root. */
static void report_link(struct project *p, const char *path)
{
	struct buf target = BUF_INIT;
	int rc = source_resolve(&p->src, path, &target);
	if (rc == SRC_ESCAPE)
		diag_error(NULL, 0, "'%s' is a symlink leading outside the project root", path);
	else if (rc == SRC_ELOOP)
		diag_error(NULL, 0, "'%s' is a symlink loop", path);
	else if (rc == SRC_OK)
		diag_error(NULL, 0, "'%s' is a symlink to the folder '%s': units must live in real folders", path, target.data);
	else
		diag_error(NULL, 0, "'%s' is a broken symlink", path);
	buf_free(&target);
}

static bool in_env_folder(const struct project *p, const char *path)
{
	for (size_t i = 0; i < p->nenvs; i++)
		if (path_within(path, p->envs[i]->dir))
			return true;
	return false;
}

/* One folder of the walk: its listing, made on a worker when it can be. */
struct listing {
	bool direct;		/* a worker lists it */
	int rc;
	struct buf names, kinds;
	size_t count;
	struct stat st;
};

/* One depth of the walk: its folders, their listings, and the folders of
 * the next depth found in them. */
struct level {
	struct walk *w;
	size_t depth;
	const char **dirs;	/* root-relative, "" for the root; the source's */
	struct listing *listings;
	size_t n;
	const char **next;
	size_t nnext, next_cap;
	int rc;
};

static void list_one(void *ctx, size_t i, struct arena *arena)
{
	struct level *lv = ctx;
	struct listing *l = &lv->listings[i];
	(void)arena;
	if (l->direct)
		l->rc = source_list_direct(&lv->w->p->src, lv->dirs[i], &l->names, &l->count, &l->kinds, &l->st);
}

/* The listing of dir, made here when a worker could not. */
static int take_listing(struct project *p, const char *dir, struct listing *l)
{
	if (l->direct && l->rc == SRC_OK) {
		source_note_listing(&p->src, dir, &l->st, &l->names, &l->kinds, l->count);
		return 0;
	}
	int rc = source_list_kinds(&p->src, dir, &l->names, &l->count, &l->kinds);
	if (rc < 0)
		diag_error(NULL, 0, "%s", source_strerror(&p->src, rc));
	return rc < 0 ? -1 : 0;
}

static void add_next(struct level *lv, const char *dir)
{
	if (lv->nnext == lv->next_cap)
		lv->next = xrealloc(lv->next, (lv->next_cap = lv->next_cap ? lv->next_cap * 2 : 64) * sizeof(*lv->next));
	lv->next[lv->nnext++] = dir;
}

/* "dir/name", or "name" at the root: the walk makes one per entry, so
 * without printf. */
static void child_path(struct buf *b, const char *dir, const char *name)
{
	buf_reset(b);
	buf_puts(b, dir);
	if (*dir)
		buf_putc(b, '/');
	buf_puts(b, name);
}

/* The entries of one listed folder: units found, folders to list next. */
static int take_entries(struct level *lv, const char *dir, const struct listing *l)
{
	struct walk *w = lv->w;
	struct buf child = BUF_INIT;
	int rc = 0;
	const char *name = l->names.data;
	bool unit_here = false, vars_here = false;
	for (size_t i = 0; i < l->count; i++, name += strlen(name) + 1) {
		vars_here |= !strcmp(name, "vars.yaml");
		child_path(&child, dir, name);
		enum src_kind kind = (enum src_kind)l->kinds.data[i];
		size_t size;
		/* An entry that cannot be looked at is an error: skipping it
		 * would drop the units below it without a word. */
		int lrc = kind == SRC_MISSING ? w->p->src.ops->lstat(&w->p->src, child.data, &kind, &size) : SRC_OK;
		if (lrc < 0) {
			diag_error(NULL, 0, "%s", source_strerror(&w->p->src, lrc));	/* names the path */
			rc = -1;
			continue;
		}
		/* A linked folder would give units two identities or a home
		 * outside the root, and a dangling link in an env folder would
		 * silently drop what it held: refuse them.  Links elsewhere
		 * (shared includes) are checked where they are read. */
		enum src_kind target = kind == SRC_LINK ? source_kind(&w->p->src, child.data) : SRC_MISSING;
		if (kind == SRC_LINK && name[0] != '.' &&
		    (target == SRC_DIR || (target != SRC_FILE && in_env_folder(w->p, child.data)))) {
			report_link(w->p, child.data);
			rc = -1;
			continue;
		}
		if (kind == SRC_OTHER && w->p->src.ops != w->p->work.ops) {
			/* A gitlink: the submodule's files are not in this tree. */
			diag_remark(NULL, 0, "skipping submodule '%s'", child.data);
			continue;
		}
		if (kind == SRC_DIR && !strcmp(name, "unit.yaml")) {
			diag_error(NULL, 0, "'%s' is a folder: a unit's unit.yaml must be a file", child.data);
			rc = -1;
		} else if (kind == SRC_DIR && !skip_dir(w->p, child.data, name)) {
			add_next(lv, source_known_dir(&w->p->src, child.data));
		} else if (kind != SRC_DIR && !strcmp(name, "unit.yaml")) {
			if (w->n == w->cap)
				w->found = xrealloc(w->found, (w->cap = w->cap ? w->cap * 2 : 64) * sizeof(char *));
			w->found[w->n++] = arena_strdup(&w->p->arena, dir);
			unit_here = true;
		}
	}
	/* Every unit looks for a vars.yaml of its own: most have none. */
	if (unit_here && !vars_here) {
		child_path(&child, dir, "vars.yaml");
		source_known_missing(&w->p->src, child.data);
	}
	buf_free(&child);
	return rc;
}

/* Takes folder i's listing, on the walk's thread, and frees it.  A
 * failure is remembered and the walk goes on, so that every bad entry
 * of the repo is reported in one run. */
static void take_one(void *ctx, size_t i)
{
	struct level *lv = ctx;
	struct listing *l = &lv->listings[i];
	if (take_listing(lv->w->p, lv->dirs[i], l) < 0) {
		lv->rc = -1;
	} else if (lv->depth > 64) {
		diag_error(NULL, 0, "directory '%s' is nested more than 64 levels deep", lv->dirs[i]);
		lv->rc = -1;
	} else if (take_entries(lv, lv->dirs[i], l) < 0) {
		lv->rc = -1;
	}
	buf_free(&l->names);
	buf_free(&l->kinds);
}

/* The walk goes one depth at a time: the folders of a depth are listed on
 * every worker (the syscalls are most of a walk's cost) and taken in
 * order on this thread as they come, while the workers list on: each is
 * handed to the trace, its links checked, its units and the folders of
 * the next depth found.  Units are sorted afterwards, so the order of
 * finding them does not matter. */
static int walk_tree(struct walk *w)
{
	const char **dirs = xmalloc(sizeof(*dirs));
	size_t n = 1;
	unsigned jobs = parallel_jobs(w->p->jobs);
	int rc = 0;
	dirs[0] = "";
	for (size_t depth = 0; n; depth++) {
		struct level lv = { .w = w, .depth = depth, .dirs = dirs, .n = n,
				    .listings = xcalloc(n, sizeof(*lv.listings)) };
		bool workers = jobs > 1 && n > 1;
		for (size_t i = 0; i < n; i++)
			lv.listings[i].direct = workers && source_lists_direct(&w->p->src, dirs[i]);
		if (workers)
			parallel_for_then(n, jobs, NULL, list_one, take_one, &lv);
		else
			for (size_t i = 0; i < n; i++)
				take_one(&lv, i);
		if (lv.rc < 0)
			rc = -1;
		free(lv.listings);	/* take_one freed each listing's buffers */
		free(dirs);
		dirs = lv.next;
		n = lv.nnext;
	}
	free(dirs);
	return rc;
}

static struct env *env_of_dir(struct project *p, const char *dir, bool *in_multi_region_root)
{
	*in_multi_region_root = false;
	for (size_t i = 0; i < p->nenvs; i++)
		if (path_within(dir, p->envs[i]->dir))
			return p->envs[i];
	for (size_t i = 0; i < p->nenvs; i++)
		if (strcmp(p->envs[i]->label, p->envs[i]->name) && path_within(dir, env_base(p, p->envs[i])))
			*in_multi_region_root = true;
	return NULL;
}

/* An error about a unit.yaml as a whole, shown at its first line. */
static void report_unit_at(struct project *p, const char *dir, const char *fmt, const char *arg)
{
	struct srcfile *f = ARENA_NEW(&p->arena, struct srcfile);
	struct buf data = BUF_INIT;
	f->path = arena_concat(&p->arena, dir, *dir ? "/" : "", "unit.yaml", (char *)NULL);
	if (source_read(&p->src, f->path, p->limits.file_size, &data) < 0)
		buf_reset(&data);
	f->data = arena_strndup(&p->arena, buf_cstr(&data), data.len);
	f->len = data.len;
	buf_free(&data);
	diag_error(f, 0, fmt, arg);
}

static void add_unit(struct project *p, struct env *e, const char *dir)
{
	struct unit *u = ARENA_NEW(&p->arena, struct unit);
	u->env = e;
	u->dir = dir;
	u->id = dir + strlen(e->dir) + 1;
	u->file = arena_concat(&p->arena, dir, "/unit.yaml", (char *)NULL);
	map_init(&u->exposed);
	map_init(&u->overrides);
	map_init(&u->chains);
	e->units = e->units ? e->units : ARENA_ARRAY(&p->arena, struct unit *, p->nunits + 1);
	e->units[e->nunits++] = u;
}

static int compare_units(const void *a, const void *b)
{
	return strcmp((*(struct unit *const *)a)->id, (*(struct unit *const *)b)->id);
}

static int classify_units(struct project *p, struct walk *w)
{
	struct map unit_dirs;
	map_init(&unit_dirs);
	map_reserve(&unit_dirs, w->n);
	for (size_t i = 0; i < w->n; i++)
		map_put(&unit_dirs, w->found[i], strlen(w->found[i]), w->found[i]);
	p->nunits = w->n;
	for (size_t i = 0; i < w->n; i++) {
		const char *dir = w->found[i];
		bool multi;
		struct env *e = env_of_dir(p, dir, &multi);
		const char *outer = NULL;
		for (size_t k = strlen(dir); k > 0 && !outer; k--)
			if (dir[k] == '/' && map_get(&unit_dirs, dir, k))
				outer = arena_strndup(&p->arena, dir, k);
		if (outer) {
			report_unit_at(p, dir, "unit.yaml inside another unit ('%s')", outer);
		} else if (!e) {
			report_unit_at(p, dir, multi ? "unit.yaml in '%s' is outside every region folder"
						     : "unit.yaml in '%s' is outside every environment folder", dir);
		} else if (!strcmp(dir, e->dir)) {
			report_unit_at(p, dir, "unit.yaml directly in environment folder '%s': units live in subfolders", dir);
		} else {
			add_unit(p, e, dir);
		}
	}
	map_free(&unit_dirs);
	p->units = ARENA_ARRAY(&p->arena, struct unit *, p->nunits + 1);
	p->nunits = 0;
	for (size_t i = 0; i < p->nenvs; i++)
		if (p->envs[i]->nunits)
			qsort(p->envs[i]->units, p->envs[i]->nunits, sizeof(struct unit *), compare_units);
	for (size_t i = 0; i < p->nenvs; i++)
		for (size_t j = 0; j < p->envs[i]->nunits; j++) {
			p->envs[i]->units[j]->index = p->nunits;
			p->units[p->nunits++] = p->envs[i]->units[j];
		}
	return diag_error_count() ? -1 : 0;
}

static int discover_units(struct project *p)
{
	struct walk w = { .p = p };
	int rc = walk_tree(&w);
	if (classify_units(p, &w) < 0)
		rc = -1;
	free(w.found);
	return rc;
}

/* ---- open / close ---- */

static void watch_path(void *ctx, const char *rel, const struct stat *st, const uint64_t *hash)
{
	if (hash)
		trace_record_read(ctx, rel, st, *hash);
	else
		trace_record(ctx, rel, st);
}

static void watch_listing(void *ctx, const char *rel, const struct stat *st, uint64_t listing_hash)
{
	trace_record_listing(ctx, rel, st, listing_hash);
}

/* The work tree always (dependency outputs are runtime state, never
 * committed); the repo's own files from the revision or index if asked. */
static int open_sources(struct project *p, const char *root, const struct source_spec *spec)
{
	source_open_worktree(&p->work, root);
	int rc = spec->rev ? source_open_revision(&p->src, root, NULL, spec->rev)
	       : spec->staged ? source_open_index_file(&p->src, root, NULL, spec->index_file)
	       : source_open_worktree(&p->src, root);
	if (rc < 0)
		diag_error(NULL, 0, "%s", p->src.err);
	if (rc == 0 && !spec->rev && !spec->staged) {
		stat_index_open(&p->stat_index, root);
		source_use_index(&p->src, &p->stat_index);
	}
	if (rc == 0 && spec->trace) {
		/* It records what the index holds: the folders and the files read. */
		trace_expect(spec->trace, p->stat_index.n);
		source_watch(&p->src, watch_path, watch_listing, spec->trace);
		source_watch(&p->work, watch_path, watch_listing, spec->trace);
	}
	return rc;
}

int project_open(struct project *p, const char *root, const struct source_spec *spec)
{
	size_t errors_before = diag_error_count();
	memset(p, 0, sizeof(*p));
	arena_init(&p->arena);
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&p->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	map_init(&p->files);
	map_init(&p->vars_cache);
	map_init(&p->templates);
	for (size_t i = 0; i < PARALLEL_MAX_JOBS; i++)
		for (size_t k = 0; k < MEMO_KINDS; k++)
			map_init(&p->worker_memo[i].maps[k]);
	map_init(&p->vars_values);
	map_init(&p->include_cache);
	map_init(&p->config_cache);
	map_init(&p->definitions);
	map_init(&p->key_nodes);
	p->root = xstrdup(root);
	p->jobs = spec->jobs;
	p->write_jobs = spec->write_jobs ? spec->write_jobs : spec->jobs;
	p->provenance = spec->provenance;
	p->mock_reads = spec->mock_reads;
	p->limits = limits_default;
	p->output_dir = "out";
	p->output_path = "{env}/{account_id}/{region}/{unit}";
	p->outputs_dir = ".bulkhead/outputs";
	p->role = "terraform";
	p->unique_accounts = true;
	if (open_sources(p, root, spec) < 0)
		return -1;
	p->file = project_load(p, "bulkhead.yaml", NULL, 0);
	if (!p->file)
		return -1;
	const struct node *doc = p->file->root;
	if (!schema_expect(doc, NODE_MAP, "bulkhead.yaml"))
		return -1;
	bool ok = schema_check_keys(doc, project_keys, "bulkhead.yaml") == 0;
	ok &= node_refuse_tags(doc, "in bulkhead.yaml: it merges with nothing") == 0;
	ok &= load_header(p, doc);
	ok &= load_settings(p, doc);
	if (load_envs(p, doc))
		ok &= find_secrets_env(p, doc);
	else
		ok = false;
	/* Units are looked for only in a sound layout; the test of the count
	 * keeps a check that forgot to say it failed from passing. */
	if (!ok || !check_folders(p) || diag_error_count() > errors_before)
		return -1;
	p->discovery_failed = discover_units(p) < 0;
	return 0;
}

static void free_worker_memos(struct project *p)
{
	for (size_t i = 0; i < PARALLEL_MAX_JOBS; i++)
		for (size_t k = 0; k < MEMO_KINDS; k++)
			map_free(&p->worker_memo[i].maps[k]);
}

void unit_forget_resolution(struct unit *u)
{
	u->config = u->vars = NULL;
	u->base_overrides = NULL;
	map_free(&u->exposed);
	map_free(&u->overrides);
	map_free(&u->chains);
	map_init(&u->exposed);
	map_init(&u->overrides);
	map_init(&u->chains);
	u->deps = NULL;
	u->ndeps = 0;
	u->deps_by_name = NULL;
	u->broken = false;
}

/* Up to this many, a scan finds a dependency as fast. */
enum { DEPS_SCANNED = 8 };

static int compare_dep_names(const void *a, const void *b)
{
	return strcmp((*(struct dependency *const *)a)->name, (*(struct dependency *const *)b)->name);
}

static int compare_name_to_dep(const void *name, const void *dep)
{
	return strcmp(name, (*(struct dependency *const *)dep)->name);
}

void unit_index_dependencies(struct unit *u, struct arena *a)
{
	u->deps_by_name = NULL;
	if (u->ndeps <= DEPS_SCANNED)
		return;
	u->deps_by_name = ARENA_ARRAY(a, struct dependency *, u->ndeps);
	for (size_t i = 0; i < u->ndeps; i++)
		u->deps_by_name[i] = &u->deps[i];
	qsort(u->deps_by_name, u->ndeps, sizeof(*u->deps_by_name), compare_dep_names);
}

struct dependency *unit_dependency(const struct unit *u, const char *name)
{
	if (!u->deps_by_name) {
		for (size_t i = 0; i < u->ndeps; i++)
			if (!strcmp(u->deps[i].name, name))
				return &u->deps[i];
		return NULL;
	}
	struct dependency *const *found =
		bsearch(name, u->deps_by_name, u->ndeps, sizeof(*u->deps_by_name), compare_name_to_dep);
	return found ? *found : NULL;
}

/* The merged include chains and configurations; the merges themselves
 * live in worker arenas. */
static void free_include_cache(struct project *p)
{
	for (size_t i = 0; i < p->include_cache.cap; i++)
		if (p->include_cache.slots[i].key)
			map_free(&((struct merged_base *)p->include_cache.slots[i].value)->overrides);
	map_free(&p->include_cache);
	map_free(&p->config_cache);
}

void project_forget_compiled(struct project *p)
{
	project_wait_parse_store(p);	/* it reads the trees */
	free_include_cache(p);	/* before the worker arenas it points into */
	free_worker_memos(p);
	for (size_t i = 0; i < p->nunits; i++) {
		struct unit *u = p->units[i];
		unit_forget_resolution(u);
		u->inputs = NULL;
		u->mocks = NULL;
		u->source = NULL;
	}
	project_release_worker_arenas(p, NULL);
}

/* True when the root-relative path lies in dir (skipped when unset). */
static bool inside(const char *path, const char *dir)
{
	struct buf norm = BUF_INIT;
	bool in = dir && *dir && path_join("", dir, &norm) == SRC_OK && norm.len &&
		  path_within(path, norm.data);
	buf_free(&norm);
	return in;
}

const char *project_output_area(const struct project *p, const char *path)
{
	if (inside(path, p->outputs_dir))
		return p->outputs_dir;
	if (inside(path, p->output_dir))
		return p->output_dir;
	return NULL;
}

void project_close(struct project *p)
{
	map_free(&p->files);
	map_free(&p->vars_cache);
	map_free(&p->templates);
	free_worker_memos(p);
	map_free(&p->vars_values);
	free_include_cache(p);
	map_free(&p->definitions);
	map_free(&p->key_nodes);
	for (size_t i = 0; i < p->nunits; i++) {
		map_free(&p->units[i]->exposed);
		map_free(&p->units[i]->overrides);
		map_free(&p->units[i]->chains);
	}
	source_free(&p->src);
	source_free(&p->work);
	project_wait_parse_store(p);	/* it holds the cache folder's lock */
	stat_index_store(&p->stat_index);	/* what the source noted in it */
	stat_index_close(&p->stat_index);
	free(p->root);
	project_release_worker_arenas(p, NULL);
	if (p->prefetched)
		parse_cache_close(&p->parse_cache);	/* after the trees pointing into it */
	pthread_mutex_destroy(&p->lock);
	arena_free(&p->arena);
}

struct env *project_find_env(const struct project *p, const char *label)
{
	for (size_t i = 0; i < p->nenvs; i++)
		if (!strcmp(p->envs[i]->label, label))
			return p->envs[i];
	return NULL;
}

struct unit *env_find_unit(const struct env *e, const char *id)
{
	size_t lo = 0, hi = e->nunits;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(e->units[mid]->id, id);
		if (!c)
			return e->units[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
