/* include.c - linearise includes, confine paths, merge with tags. */
#include "include.h"
#include "expr.h"
#include "schema.h"

#include <stdlib.h>
#include <string.h>

static const char *const unit_keys[] = {
	"include", "source", "locals", "dependencies", "inputs", "drift", NULL,
};
static const char *const include_keys[] = { "path", "as", "merge", NULL };
static const char *const drift_keys[] = { "allow", "only", "promoted", NULL };
static const char *const dependency_keys[] = { "path", "mock_outputs", NULL };

/* ---- merging ---- */

static struct node *apply_tags(struct arena *a, const struct node *n);

static struct node *copy_node(struct arena *a, const struct node *n)
{
	struct node *c = ARENA_NEW(a, struct node);
	*c = *n;
	c->tag = TAG_NONE;
	c->literal = false;	/* the caller changes the items */
	c->indexed = false;
	return c;
}

static bool tag_fits(const struct node *n)
{
	if (n->tag == TAG_REPLACE && n->kind != NODE_MAP) {
		diag_error(n->file, n->off, "!replace applies to a map, not a %s", node_kind_name(n->kind));
		return false;
	}
	if (n->tag == TAG_APPEND && n->kind != NODE_SEQ) {
		diag_error(n->file, n->off, "!append applies to a list, not a %s", node_kind_name(n->kind));
		return false;
	}
	return true;
}

static bool subtree_has_tags(const struct node *n)
{
	if (n->tag != TAG_NONE)
		return true;
	if (n->kind == NODE_SEQ)
		for (size_t i = 0; i < n->seq.len; i++)
			if (subtree_has_tags(n->seq.items[i]))
				return true;
	if (n->kind == NODE_MAP)
		for (size_t i = 0; i < n->map.len; i++)
			if (subtree_has_tags(n->map.pairs[i].value))
				return true;
	return false;
}

static struct node *apply_tags(struct arena *a, const struct node *n);

/* A list item: as apply_tags, but there is no key for !unset to remove. */
static struct node *apply_item_tags(struct arena *a, const struct node *item)
{
	if (item->tag == TAG_UNSET) {
		diag_error(item->file, item->off, "!unset applies to a map key, not a list item");
		return NULL;
	}
	return apply_tags(a, item);
}

/* A node with nothing beneath it to merge onto: !append gives the list,
 * !unset of nothing is a no-op (the caller drops the key), !replace gives
 * the map. */
static struct node *apply_tags(struct arena *a, const struct node *n)
{
	if (!tag_fits(n))
		return NULL;
	if (!subtree_has_tags(n))
		return (struct node *)n;
	struct node *c = copy_node(a, n);
	if (n->kind == NODE_SEQ) {
		c->seq.items = ARENA_ARRAY(a, struct node *, n->seq.len);
		for (size_t i = 0; i < n->seq.len; i++)
			if (!(c->seq.items[i] = apply_item_tags(a, n->seq.items[i])))
				return NULL;
	} else if (n->kind == NODE_MAP) {
		c->map.pairs = ARENA_ARRAY(a, struct node_pair, n->map.len);
		c->map.len = 0;
		for (size_t i = 0; i < n->map.len; i++) {
			const struct node_pair *pr = &n->map.pairs[i];
			if (pr->value->tag == TAG_UNSET)
				continue;
			struct node *v = apply_tags(a, pr->value);
			if (!v)
				return NULL;
			c->map.pairs[c->map.len++] = (struct node_pair){ pr->key, v };
		}
		node_map_index(a, c);
	}
	return c;
}

/* What a merge needs besides its inputs: where to allocate, and where to
 * record which definition overrode which (for show --explain). */
struct merger {
	struct arena *arena;
	struct map *overrides;	/* node address -> struct override, or NULL */
};

static struct node *merge_value(struct merger *m, const struct node *base, const struct node *over,
				bool deep);

static void record_override(struct merger *m, const struct node *winner, const struct node *loser)
{
	if (!m->overrides || winner == loser)
		return;
	struct override *o = ARENA_NEW(m->arena, struct override);
	o->node = loser;
	o->next = map_get(m->overrides, (const char *)&loser, sizeof(loser));
	const struct node **key = ARENA_NEW(m->arena, const struct node *);
	*key = winner;
	map_set(m->overrides, (const char *)key, sizeof(*key), o);
}

static struct node *append_lists(struct merger *m, const struct node *base, const struct node *over)
{
	struct arena *a = m->arena;
	struct node *c = copy_node(a, over);
	c->seq.len = base->seq.len + over->seq.len;
	c->seq.items = ARENA_ARRAY(a, struct node *, c->seq.len);
	if (base->seq.len)
		memcpy(c->seq.items, base->seq.items, base->seq.len * sizeof(struct node *));
	for (size_t i = 0; i < over->seq.len; i++)
		if (!(c->seq.items[base->seq.len + i] = apply_item_tags(a, over->seq.items[i])))
			return NULL;
	return c;
}

static long find_key(const struct node *base, const struct node_pair *pairs, const struct node *key,
		     const struct map *index)
{
	size_t len = base->map.len;
	if (base->indexed) {
		const struct node_pair *at = node_map_find(base, key->str.s);
		return at ? (long)(at - base->map.pairs) : -1;
	}
	if (index) {
		void *v = map_get(index, key->str.s, key->str.len);
		return v ? (long)((uintptr_t)v - 1) : -1;
	}
	for (size_t i = 0; i < len; i++)
		if (pairs[i].key->str.len == key->str.len && !strcmp(pairs[i].key->str.s, key->str.s))
			return (long)i;
	return -1;
}

/* Result: base's keys in order (merged or removed), then over's new keys. */
static struct node *merge_maps(struct merger *m, const struct node *base, const struct node *over,
			       bool deep)
{
	struct arena *a = m->arena;
	struct node *c = copy_node(a, over);
	struct node_pair *pairs = ARENA_ARRAY(a, struct node_pair, base->map.len + over->map.len);
	bool *removed = ARENA_ARRAY(a, bool, base->map.len + over->map.len);
	size_t len = base->map.len;
	struct map index;
	/* A hash index of base's keys pays for itself when many keys look
	 * into a large map; a unit overriding a few keys of a large shared
	 * map (6,000 units, 5,000 keys) scans it instead, and a map of
	 * NODE_MAP_INDEXED keys or more has its own index. */
	bool use_index = !base->indexed && base->map.len > 16 && over->map.len > 8;
	map_init(&index);
	if (base->map.len)
		memcpy(pairs, base->map.pairs, base->map.len * sizeof(*pairs));
	if (use_index)
		for (size_t i = 0; i < len; i++)
			map_put(&index, pairs[i].key->str.s, pairs[i].key->str.len, (void *)(uintptr_t)(i + 1));
	for (size_t i = 0; i < over->map.len; i++) {
		const struct node_pair *op = &over->map.pairs[i];
		long at = find_key(base, pairs, op->key, use_index ? &index : NULL);
		if (op->value->tag == TAG_UNSET) {
			if (at >= 0)
				removed[at] = true;
			continue;
		}
		struct node *v = at >= 0 ? merge_value(m, pairs[at].value, op->value, deep)
					 : apply_tags(a, op->value);
		/* A map merged key by key records its leaves' overrides; one
		 * that replaced the inherited value (!replace, shallow, another
		 * kind) overrode it whole. */
		bool merged = deep && op->value->tag != TAG_REPLACE && op->value->kind == NODE_MAP &&
			      at >= 0 && pairs[at].value->kind == NODE_MAP;
		if (v && at >= 0 && (v->kind != NODE_MAP || !merged))
			record_override(m, v, pairs[at].value);
		if (!v) {
			map_free(&index);
			return NULL;
		}
		if (at >= 0) {
			pairs[at].value = v;
			removed[at] = false;
		} else {
			pairs[len++] = (struct node_pair){ op->key, v };
		}
	}
	map_free(&index);
	c->map.pairs = pairs;
	c->map.len = 0;
	for (size_t i = 0; i < len; i++)
		if (!removed[i])
			pairs[c->map.len++] = pairs[i];
	node_map_index_over(a, c, base, removed);
	return c;
}

static struct node *merge_value(struct merger *m, const struct node *base, const struct node *over,
				bool deep)
{
	struct arena *a = m->arena;
	if (!tag_fits(over))
		return NULL;
	if (over->tag == TAG_APPEND) {
		if (!base || base->kind == NODE_NULL)
			return apply_tags(a, over);
		if (base->kind != NODE_SEQ) {
			diag_error(over->file, over->off, "!append onto a %s: the inherited value is not a list",
				   node_kind_name(base->kind));
			diag_note(base->file, base->off, "inherited value defined here");
			return NULL;
		}
		return append_lists(m, base, over);
	}
	if (over->tag != TAG_REPLACE && deep && base && base->kind == NODE_MAP && over->kind == NODE_MAP)
		return merge_maps(m, base, over, true);
	return apply_tags(a, over);
}

struct node *merge_nodes(struct arena *a, const struct node *base, const struct node *over,
			 enum merge_mode mode, struct map *overrides)
{
	struct merger m = { a, overrides };
	if (!over)
		return base ? apply_tags(a, base) : NULL;
	if (!base || base->kind != NODE_MAP || over->kind != NODE_MAP || over->tag != TAG_NONE)
		return merge_value(&m, base, over, mode == MERGE_DEEP);
	/* Shallow: top-level keys merge as whole values. */
	return merge_maps(&m, base, over, mode != MERGE_SHALLOW);
}

/* ---- file shape ---- */

static bool check_name(const struct node *name, const char *what)
{
	if (expr_is_identifier(name->str.s, name->str.len))
		return true;
	diag_error(name->file, name->off,
		   "'%s' is not a name %s.<name> can reach: use letters, digits, '_' and '-', not first a digit or '-'",
		   name->str.s, what);
	return false;
}

/* Each key of map names something an expression reaches as
 * WHAT.<name>: a name it cannot spell is an error, not a dead entry. */
static bool check_names(const struct node *map, const char *what)
{
	bool ok = true;
	for (size_t i = 0; i < map->map.len; i++)
		ok &= check_name(map->map.pairs[i].key, what);
	return ok;
}

static bool check_include_entry(const struct node *e)
{
	if (e->kind == NODE_STR)
		return true;
	if (!schema_expect(e, NODE_MAP, "an include entry"))
		return false;
	bool ok = schema_check_keys(e, include_keys, "include entry") == 0;
	const struct node *path = node_map_get(e, "path");
	const struct node *as = node_map_get(e, "as");
	const struct node *merge = node_map_get(e, "merge");
	if (!path) {
		diag_error(e->file, e->off, "include entry has no 'path'");
		ok = false;
	} else {
		ok &= schema_expect_string(path, "include path");
	}
	if (as)
		ok &= schema_expect_string(as, "include 'as'") && check_name(as, "include");
	if (merge && schema_expect_string(merge, "include 'merge'")) {
		const char *m = merge->str.s;
		if (strcmp(m, "deep") && strcmp(m, "shallow") && strcmp(m, "none")) {
			diag_error(merge->file, merge->off, "merge must be deep, shallow or none, not '%s'", m);
			ok = false;
		} else if (!strcmp(m, "none") && !as) {
			diag_error(merge->file, merge->off, "merge: none needs 'as' to name the include");
			ok = false;
		}
	} else if (merge) {
		ok = false;
	}
	return ok;
}

static bool check_drift_block(const struct node *d)
{
	if (!schema_expect(d, NODE_MAP, "drift"))
		return false;
	bool ok = schema_check_keys(d, drift_keys, "drift") == 0;
	for (size_t i = 0; i < d->map.len; i++)
		if (d->map.pairs[i].value->tag == TAG_NONE)
			ok &= schema_expect_string_list(d->map.pairs[i].value, "a drift list");
	return ok;
}

static bool check_dependencies(const struct node *deps)
{
	if (!schema_expect(deps, NODE_MAP, "dependencies"))
		return false;
	bool ok = check_names(deps, "dependency");
	for (size_t i = 0; i < deps->map.len; i++) {
		const struct node *d = deps->map.pairs[i].value;
		if (d->tag == TAG_UNSET)
			continue;
		if (!schema_expect(d, NODE_MAP, "a dependency")) {
			ok = false;
			continue;
		}
		ok &= schema_check_keys(d, dependency_keys, "dependency") == 0;
		const struct node *path = node_map_get(d, "path");
		const struct node *mocks = node_map_get(d, "mock_outputs");
		if (path)
			ok &= schema_expect_string(path, "dependency path");
		if (mocks)
			ok &= schema_expect(mocks, NODE_MAP, "mock_outputs");
	}
	return ok;
}

/* Checks the keys and shapes of a unit or include file. */
static bool check_unit_file(const struct node *doc)
{
	if (doc->kind == NODE_NULL)
		return true;
	if (!schema_expect(doc, NODE_MAP, "a unit or include file"))
		return false;
	bool ok = schema_check_keys(doc, unit_keys, "unit file") == 0;
	const struct node *n;
	if ((n = node_map_get(doc, "include"))) {
		if ((ok &= schema_expect(n, NODE_SEQ, "include")))
			for (size_t i = 0; i < n->seq.len; i++)
				ok &= check_include_entry(n->seq.items[i]);
	}
	if ((n = node_map_get(doc, "source")) && n->tag != TAG_UNSET)
		ok &= schema_expect_string(n, "source");
	if ((n = node_map_get(doc, "locals")) && n->tag != TAG_UNSET)
		ok &= schema_expect(n, NODE_MAP, "locals") && check_names(n, "local");
	if ((n = node_map_get(doc, "inputs")) && n->tag != TAG_UNSET)
		ok &= schema_expect(n, NODE_MAP, "inputs");
	if ((n = node_map_get(doc, "dependencies")) && n->tag != TAG_UNSET)
		ok &= check_dependencies(n);
	if ((n = node_map_get(doc, "drift")) && n->tag != TAG_UNSET)
		ok &= check_drift_block(n);
	return ok;
}

/* check_unit_file once per file: only success is remembered, so a bad
 * file reports on every visit, as it did. */
static bool check_file_once(struct loaded_file *f)
{
	if (atomic_load_explicit(&f->shape_ok, memory_order_acquire))
		return true;
	bool ok = check_unit_file(f->root);
	if (ok)
		atomic_store_explicit(&f->shape_ok, true, memory_order_release);
	return ok;
}

/* The file's body: every key but include. */
static struct node *body_of(struct arena *a, const struct node *doc)
{
	if (doc->kind != NODE_MAP || !node_map_find(doc, "include"))
		return (struct node *)doc;
	struct node *c = copy_node(a, doc);
	c->tag = doc->tag;
	c->map.pairs = ARENA_ARRAY(a, struct node_pair, doc->map.len);
	c->map.len = 0;
	for (size_t i = 0; i < doc->map.len; i++)
		if (strcmp(doc->map.pairs[i].key->str.s, "include"))
			c->map.pairs[c->map.len++] = doc->map.pairs[i];
	node_map_index(a, c);
	return c;
}

/* ---- linearisation ---- */

struct step {
	struct loaded_file *file;
	enum merge_mode mode;
};

struct chain_link {
	const char *path;
	const struct node *entry;	/* the include entry that led here */
};

struct linear {
	struct project *p;
	struct arena *a;	/* the calling worker's */
	struct unit *unit;
	struct step *steps;
	size_t nsteps, cap;
	struct map seen;	/* path -> file, applied once */
	struct chain_link chain[64];
	size_t depth;
	bool in_none;		/* inside a merge: none include: tags are errors */
};

static const struct node *entry_path_node(const struct node *e)
{
	return e->kind == NODE_STR ? e : node_map_get(e, "path");
}

static enum merge_mode entry_mode(const struct node *e)
{
	const struct node *m = e->kind == NODE_MAP ? node_map_get(e, "merge") : NULL;
	if (!m || !strcmp(m->str.s, "deep"))
		return MERGE_DEEP;
	return !strcmp(m->str.s, "shallow") ? MERGE_SHALLOW : MERGE_NONE;
}

/* Resolves an include path relative to the including file (or the root
 * for "//"), refusing URLs, absolute paths, escapes and refused areas. */
static const char *resolve_include(struct project *p, struct arena *a, const char *from, const struct node *pn)
{
	const char *raw = pn->str.s;
	struct buf out = BUF_INIT;
	const char *result = NULL;
	if (path_is_url(raw)) {
		diag_error(pn->file, pn->off, "include '%s' is a URL: includes must be files in the repo", raw);
		goto out;
	}
	if (raw[0] == '/' && raw[1] != '/') {
		diag_error(pn->file, pn->off, "include '%s' is an absolute path: use // for the project root", raw);
		goto out;
	}
	if (path_join(path_dirname(a, from), raw, &out) < 0) {
		diag_error(pn->file, pn->off, "include '%s' leads outside the project root", raw);
		goto out;
	}
	if (path_within(out.data, p->outputs_dir) || path_within(out.data, p->output_dir)) {
		diag_error(pn->file, pn->off, "include '%s' points into the outputs or output dir", raw);
		goto out;
	}
	result = arena_strdup(a, out.data);
out:
	buf_free(&out);
	return result;
}

static void report_cycle(struct linear *l, const char *path, const struct node *entry)
{
	size_t start = 0;
	while (strcmp(l->chain[start].path, path))
		start++;
	struct buf msg = BUF_INIT;
	for (size_t i = start; i < l->depth; i++)
		buf_printf(&msg, "%s -> ", l->chain[i].path);
	buf_puts(&msg, path);
	diag_error(entry->file, entry->off, "include cycle: %s", msg.data);
	for (size_t i = start + 1; i < l->depth; i++)
		diag_note(l->chain[i].entry->file, l->chain[i].entry->off, "'%s' included from here",
			  l->chain[i].path);
	buf_free(&msg);
}

static void add_step(struct linear *l, struct loaded_file *f, enum merge_mode mode)
{
	if (l->nsteps == l->cap)
		l->steps = xrealloc(l->steps, (l->cap = l->cap ? l->cap * 2 : 8) * sizeof(*l->steps));
	l->steps[l->nsteps++] = (struct step){ f, mode };
}

static int visit(struct linear *l, const char *path, const struct node *entry, enum merge_mode mode);
static struct node *merge_steps(struct arena *a, const struct step *steps, size_t n,
				struct map *overrides);
static struct node *empty_map(struct arena *a);

/* merge: none (or an 'as' name): the include's own merged result, exposed
 * as include.<as>.*, linearised on its own. */
static int expose(struct linear *l, const char *path, const struct node *entry)
{
	const struct node *as = node_map_get(entry, "as");
	struct linear sub = { .p = l->p, .a = l->a, .unit = l->unit, .depth = l->depth,
			      .in_none = l->in_none || entry_mode(entry) == MERGE_NONE };
	memcpy(sub.chain, l->chain, l->depth * sizeof(*l->chain));
	map_init(&sub.seen);
	int rc = visit(&sub, path, entry, MERGE_DEEP);
	struct node *merged = rc == 0 ? merge_steps(l->a, sub.steps, sub.nsteps, NULL) : NULL;
	if (rc == 0 && !merged)
		rc = -1;
	if (rc == 0 && map_put(&l->unit->exposed, as->str.s, as->str.len, merged)) {
		diag_error(as->file, as->off, "include name '%s' is used twice", as->str.s);
		rc = -1;
	}
	free(sub.steps);
	map_free(&sub.seen);
	return rc;
}

static int check_no_tags(const struct node *n)
{
	return node_refuse_tags(n, "in a merge: none include");
}

static int visit_includes(struct linear *l, struct loaded_file *f)
{
	const struct node *list = node_map_get(f->root, "include");
	int rc = 0;
	for (size_t i = 0; list && i < list->seq.len; i++) {
		const struct node *e = list->seq.items[i];
		const char *target = resolve_include(l->p, l->a, f->src.path, entry_path_node(e));
		if (!target) {
			rc = -1;
			continue;
		}
		enum merge_mode mode = entry_mode(e);
		if (mode != MERGE_NONE && visit(l, target, e, mode) < 0)
			rc = -1;
		else if (e->kind == NODE_MAP && node_map_get(e, "as") && expose(l, target, e) < 0)
			rc = -1;
	}
	return rc;
}

/* "unit.yaml -> _common/app.yaml -> _common/tags.yaml": how path was reached. */
static void record_chain(struct linear *l, const char *path)
{
	struct buf chain = BUF_INIT;
	for (size_t i = 0; i < l->depth; i++) {
		buf_puts(&chain, l->chain[i].path);
		buf_puts(&chain, " -> ");
	}
	buf_puts(&chain, path);
	char *text = arena_strdup(l->a, chain.data);
	map_put(&l->unit->chains, path, strlen(path), text);
	buf_free(&chain);
}

/* project_load from any worker: the file cache is shared. */
static struct loaded_file *load_shared(struct project *p, const char *path, const struct srcfile *ref,
				       size_t ref_off)
{
	struct memo_probe probe;
	struct loaded_file *f = memo_find(p, MEMO_FILES, path, strlen(path), &probe);
	if (f)
		return f;
	pthread_mutex_lock(&p->lock);
	f = project_load(p, path, ref, ref_off);
	pthread_mutex_unlock(&p->lock);
	if (f)
		memo_keep(&probe, f->src.path, f);
	return f;
}

static int visit(struct linear *l, const char *path, const struct node *entry, enum merge_mode mode)
{
	for (size_t i = 0; i < l->depth; i++)
		if (!strcmp(l->chain[i].path, path)) {
			report_cycle(l, path, entry);
			return -1;
		}
	if (map_get(&l->seen, path, strlen(path)))
		return 0;
	if (l->depth > l->p->limits.include_depth || l->depth >= 64) {	/* the unit file is depth 0 */
		diag_error(entry->file, entry->off, "includes nested deeper than %zu levels",
			   l->p->limits.include_depth);
		return -1;
	}
	const struct node *pn = entry ? entry_path_node(entry) : NULL;
	struct loaded_file *f = load_shared(l->p, path, pn ? pn->file : NULL, pn ? pn->off : 0);
	if (!f || !check_file_once(f))
		return -1;
	if (l->in_none && check_no_tags(f->root) < 0)
		return -1;
	l->chain[l->depth++] = (struct chain_link){ path, entry };
	int rc = visit_includes(l, f);
	l->depth--;
	if (rc < 0)
		return -1;
	if (!map_put(&l->seen, f->src.path, strlen(f->src.path), f)) {
		add_step(l, f, mode);
		if (l->p->provenance)
			record_chain(l, f->src.path);
	}
	return 0;
}

static struct node *merge_steps(struct arena *a, const struct step *steps, size_t n,
				struct map *overrides)
{
	struct node *acc = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct node *body = body_of(a, steps[i].file->root);
		if (body->kind == NODE_NULL)
			continue;
		acc = merge_nodes(a, acc, body, steps[i].mode, overrides);
		if (!acc)
			return NULL;
	}
	return acc ? acc : empty_map(a);
}

/* Shared by every worker; made under the lock, in the arena of the
 * worker that needed it first (worker arenas live as long as p). */
static struct merged_base *base_for(struct project *p, struct arena *a, const struct step *steps, size_t n)
{
	struct buf key = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		buf_add(&key, &steps[i].file, sizeof(steps[i].file));
		buf_add(&key, &steps[i].mode, sizeof(steps[i].mode));
	}
	struct memo_probe probe;
	struct merged_base *b = memo_find(p, MEMO_BASES, buf_cstr(&key), key.len, &probe);
	if (b) {
		buf_free(&key);
		return b;
	}
	pthread_mutex_lock(&p->lock);
	const struct map_slot *shared = map_find_hashed(&p->include_cache, buf_cstr(&key), key.len, probe.hash);
	const char *k = shared ? shared->key : arena_strndup(a, buf_cstr(&key), key.len);
	b = shared ? shared->value : NULL;
	bool fresh = !b;
	if (fresh) {
		b = ARENA_NEW(a, struct merged_base);
		map_init(&b->overrides);
		map_put_hashed(&p->include_cache, k, key.len, probe.hash, b);
	}
	if (fresh || (!b->node && b->unreported && !diag_muted())) {
		map_free(&b->overrides);
		map_init(&b->overrides);
		b->node = n ? merge_steps(a, steps, n, p->provenance ? &b->overrides : NULL) : empty_map(a);
		b->unreported = !b->node && diag_muted();
	}
	pthread_mutex_unlock(&p->lock);
	if (b->node)
		memo_keep(&probe, k, b);
	buf_free(&key);
	return b;
}

/* The unit's configuration: its own file's body merged onto the base.
 * The same unit in each env usually has the same bytes (promotion copies
 * the file; project.c shares its tree) and reaches the same includes, so
 * the first of them to merge shares the result with the others: one
 * merge where there were three (dev, stage, prod), and drift finds their
 * definitions alike without making them (define.c).  Merged outside the
 * lock; a worker that lost a race takes the stored one, equal to its
 * own.  With provenance each unit records its own overrides, and a
 * failed merge is not kept: each unit reports its error. */
static struct node *merge_own(struct project *p, struct arena *a, struct unit *u, const struct merged_base *b,
			      const struct node *root)
{
	if (root->kind == NODE_NULL)
		return b->node;
	if (p->provenance)
		return merge_nodes(a, b->node, body_of(a, root), MERGE_DEEP, &u->overrides);
	const void *key[2] = { b, root };
	struct memo_probe probe;
	struct node *config = memo_find(p, MEMO_CONFIGS, (const char *)key, sizeof(key), &probe);
	if (config)
		return config;
	pthread_mutex_lock(&p->lock);
	const struct map_slot *shared = map_find_hashed(&p->config_cache, (const char *)key, sizeof(key), probe.hash);
	pthread_mutex_unlock(&p->lock);
	const char *stored = shared ? shared->key : NULL;
	config = shared ? shared->value : merge_nodes(a, b->node, body_of(a, root), MERGE_DEEP, NULL);
	if (!config)
		return NULL;
	if (!stored) {
		stored = memcpy(arena_alloc(a, sizeof(key)), key, sizeof(key));
		pthread_mutex_lock(&p->lock);
		if ((shared = map_find_hashed(&p->config_cache, stored, sizeof(key), probe.hash))) {
			stored = shared->key;
			config = shared->value;
		} else {
			map_put_hashed(&p->config_cache, stored, sizeof(key), probe.hash, config);
		}
		pthread_mutex_unlock(&p->lock);
	}
	memo_keep(&probe, stored, config);
	return config;
}

int include_resolve_unit(struct project *p, struct unit *u)
{
	return include_resolve_unit_in(p, u, &p->arena);
}

int include_resolve_unit_in(struct project *p, struct unit *u, struct arena *a)
{
	struct loaded_file *f = load_shared(p, u->file, NULL, 0);
	if (!f)
		return -1;
	u->src = &f->src;
	u->tree_src = f->root->file;
	struct diag_alias was = diag_alias(unit_diag_alias(u));
	struct linear l = { .p = p, .a = a, .unit = u };
	map_init(&l.seen);
	int rc = visit(&l, u->file, NULL, MERGE_DEEP);
	if (rc == 0) {
		/* The unit's own file is always the last step. */
		struct merged_base *b = base_for(p, a, l.steps, l.nsteps - 1);
		u->base_overrides = &b->overrides;
		u->config = b->node ? merge_own(p, a, u, b, l.steps[l.nsteps - 1].file->root) : NULL;
		if (!u->config)
			rc = -1;
	}
	free(l.steps);
	map_free(&l.seen);
	diag_alias(was);
	return rc;
}

/* ---- vars.yaml chain ---- */

/* Sets *out to the vars.yaml of dir, or NULL when there is none. */
static int load_vars_file(struct project *p, struct arena *a, const char *dir, struct node **out)
{
	const char *path = arena_concat(a, dir, "/vars.yaml", (char *)NULL);
	*out = NULL;
	pthread_mutex_lock(&p->lock);
	bool missing = source_kind(&p->src, path) == SRC_MISSING;
	pthread_mutex_unlock(&p->lock);
	if (missing)
		return 0;
	struct loaded_file *f = load_shared(p, path, NULL, 0);
	if (!f)
		return -1;
	if (f->root->kind == NODE_NULL)
		return 0;
	if (!schema_expect(f->root, NODE_MAP, "vars.yaml"))
		return -1;
	*out = f->root;
	return 0;
}

static struct node *empty_map(struct arena *a)
{
	struct node *n = ARENA_NEW(a, struct node);
	n->kind = NODE_MAP;
	return n;
}

static struct node *cached_vars(struct project *p, const char *dir)
{
	struct memo_probe probe;
	struct node *n = memo_find(p, MEMO_VARS, dir, strlen(dir), &probe);
	if (n)
		return n;
	/* The slot is read under the lock: another worker may grow the map. */
	pthread_mutex_lock(&p->lock);
	const struct map_slot *shared = map_find_hashed(&p->vars_cache, dir, probe.len, probe.hash);
	const char *key = shared ? shared->key : NULL;
	n = shared ? shared->value : NULL;
	pthread_mutex_unlock(&p->lock);
	if (n)
		memo_keep(&probe, key, n);
	return n;
}

/* Memoised per directory: every unit below a folder shares its chain.
 * Two workers may merge one folder at once: the first to store wins, and
 * both go on with the stored one.  A failure is not stored, so a redo on
 * one thread reports it. */
static int vars_of_dir(struct project *p, struct arena *a, const char *dir, const struct env *e,
		       struct node **out)
{
	const char *env_dir = e->dir;
	bool multi_region = strcmp(e->label, e->name) != 0;
	struct node *parent = NULL, *own;
	if ((*out = cached_vars(p, dir)))
		return 0;
	if (strcmp(dir, env_dir) && path_within(dir, env_dir)) {
		if (vars_of_dir(p, a, path_dirname(a, dir), e, &parent) < 0)
			return -1;
	} else if (multi_region && !strcmp(dir, env_dir)) {
		/* A region folder: <env>/vars.yaml merges before <env>/<region>/vars.yaml. */
		if (load_vars_file(p, a, path_dirname(a, env_dir), &parent) < 0)
			return -1;
		if (parent && !(parent = merge_nodes(a, NULL, parent, MERGE_DEEP, NULL)))
			return -1;
	}
	if (load_vars_file(p, a, dir, &own) < 0)
		return -1;
	struct node *merged = own ? merge_nodes(a, parent, own, MERGE_DEEP, NULL) : parent;
	if (own && !merged)
		return -1;
	if (!merged)
		merged = empty_map(a);
	const char *key = arena_strdup(a, dir);
	pthread_mutex_lock(&p->lock);
	struct node *first = map_get(&p->vars_cache, key, strlen(key));
	if (first)
		merged = first;
	else
		map_put(&p->vars_cache, key, strlen(key), merged);
	pthread_mutex_unlock(&p->lock);
	*out = merged;
	return 0;
}

int include_resolve_vars(struct project *p, struct unit *u)
{
	return include_resolve_vars_in(p, u, &p->arena);
}

int include_resolve_vars_in(struct project *p, struct unit *u, struct arena *a)
{
	return vars_of_dir(p, a, u->dir, u->env, &u->vars);
}
