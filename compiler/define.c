/* define.c - definitions of values: normalised text and the knobs read. */
#include "define.h"
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* One definition being made; its buffers are the scratch's. */
struct definer {
	struct project *p;
	struct arena *arena;	/* for the values of literal leaves */
	struct unit *u;
	struct buf *text;
	struct define_scratch *s;	/* knobs, key, seen_keys */
	size_t nknobs;
	size_t seen[64];	/* offsets of the expanded keys in s->seen_keys */
	size_t nseen;
	bool read_files;	/* expanded a file() call: the unit's own text */
};

static void define_into(struct definer *d, const struct node *n);

static const char *const knob_roots[] = { "var", "env", "envs", "unit", "dependency", "project", NULL };
static const char *const knob_calls[] = { "secret", "env_secret", "get_env", NULL };

static bool listed(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (!strcmp(*list, name))
			return true;
	return false;
}

static const struct expr *chain_root(const struct expr *e)
{
	while (e->kind == E_ATTR || e->kind == E_INDEX)
		e = e->kind == E_ATTR ? e->attr.obj : e->index.obj;
	return e;
}

/* The step of a reference chain right above its root: "local.x" for
 * local.x.y[0]. */
static const struct expr *first_step(const struct expr *e)
{
	const struct expr *prev = NULL;
	while (e->kind == E_ATTR || e->kind == E_INDEX) {
		prev = e;
		e = e->kind == E_ATTR ? e->attr.obj : e->index.obj;
	}
	return prev;
}

static void add_knob(struct definer *d, const struct expr *e, const struct node *where)
{
	struct define_scratch *s = d->s;
	if (d->nknobs == s->knobs_cap)
		s->knobs = xrealloc(s->knobs, (s->knobs_cap = s->knobs_cap ? s->knobs_cap * 2 : 8) * sizeof(*s->knobs));
	s->knobs[d->nknobs++] = (struct knob){ e, where };
}

/* Notes d->key as expanded; false if it was, or the list is full.  Keys
 * are kept in one buffer, not the arena: a drift defines some 300,000
 * leaves at 30,000 units, and printf-ed keys were a twentieth of it. */
static bool mark_seen(struct definer *d)
{
	struct buf *seen_keys = &d->s->seen_keys;
	const char *key = buf_cstr(&d->s->key);
	for (size_t i = 0; i < d->nseen; i++)
		if (!strcmp(seen_keys->data + d->seen[i], key))
			return false;
	if (d->nseen == sizeof(d->seen) / sizeof(*d->seen))
		return false;
	d->seen[d->nseen++] = seen_keys->len;
	buf_add(seen_keys, key, d->s->key.len + 1);
	return true;
}

/* "\nKEY := " and the definition of what the key names. */
static void expand_key(struct definer *d, const struct node *def)
{
	buf_putc(d->text, '\n');
	buf_add(d->text, d->s->key.data, d->s->key.len);
	buf_puts(d->text, " := ");
	define_into(d, def);
}

/* local.NAME: append the local's own definition once. */
static void expand_local(struct definer *d, const char *name)
{
	const struct node *locals = node_map_get(d->u->config, "locals");
	const struct node *def = node_map_get(locals, name);
	struct buf *key = &d->s->key;
	buf_reset(key);
	buf_puts(key, "local.");
	buf_puts(key, name);
	if (def && mark_seen(d))
		expand_key(d, def);
}

/* include.AS.a.b: walk the exposed config by the attribute names. */
static void expand_include(struct definer *d, const struct expr *e)
{
	const char *names[16];
	size_t n = 0;
	for (const struct expr *x = e; x->kind == E_ATTR && n < 16; x = x->attr.obj)
		names[n++] = x->attr.name;
	if (!n)
		return;
	const char *as = names[n - 1];
	const struct node *at = map_get(&d->u->exposed, as, strlen(as));
	struct buf *key = &d->s->key;
	buf_reset(key);
	buf_puts(key, "include.");
	buf_puts(key, as);
	for (size_t i = n - 1; i-- > 0 && at;) {
		at = node_map_get(at, names[i]);
		buf_putc(key, '.');
		buf_puts(key, names[i]);
	}
	if (at && mark_seen(d))
		expand_key(d, at);
}

/* file(PATH) with a PATH of no knob reads a file of the repo as an
 * include does, from the unit's folder: its text is part of the
 * definition (the same file() in two envs reading two texts is drift,
 * not a difference through knobs).  A PATH built from knobs is explained
 * by them.  The text goes in as its xxh3-64; a call that cannot be
 * evaluated here (an untaken branch) as "?", muted. */
static void expand_file(struct definer *d, const struct expr *call, const struct node *where)
{
	bool was = diag_mute(true);
	struct value *v = eval_unit_expr(d->p, d->u, d->arena, where, call);
	diag_mute(was);
	char hash[24] = "?";
	if (v && v->kind == VAL_STR)
		snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)XXH3_64bits(v->str.s, v->str.len));
	buf_puts(d->text, "\n");
	expr_print(call, d->text);
	buf_puts(d->text, " := xxh3:");
	buf_puts(d->text, hash);
	d->read_files = true;
}

/* Collects knobs and expands locals and includes, outermost chain first. */
static void walk(struct definer *d, const struct expr *e, const struct node *where)
{
	switch (e->kind) {
	case E_REF:
	case E_ATTR:
	case E_INDEX: {
		const struct expr *root = chain_root(e);
		if (e->kind == E_INDEX)
			walk(d, e->index.index, where);
		if (root->kind != E_REF) {
			walk(d, root, where);
		} else if (listed(knob_roots, root->name)) {
			add_knob(d, e, where);
		} else if (!strcmp(root->name, "local")) {
			const struct expr *first = first_step(e);
			if (first && first->kind == E_ATTR)
				expand_local(d, first->attr.name);
		} else if (!strcmp(root->name, "include")) {
			expand_include(d, e);
		}
		return;
	}
	case E_TEMPLATE:
		for (size_t i = 0; i < e->tmpl.len; i++)
			if (e->tmpl.parts[i].expr)
				walk(d, e->tmpl.parts[i].expr, where);
		return;
	case E_LIST:
		for (size_t i = 0; i < e->list.len; i++)
			walk(d, e->list.items[i], where);
		return;
	case E_MAP:
		for (size_t i = 0; i < e->map.len; i++) {
			walk(d, e->map.keys[i], where);
			walk(d, e->map.values[i], where);
		}
		return;
	case E_CALL:
		if (listed(knob_calls, e->call.name)) {
			add_knob(d, e, where);
			return;
		}
	{
		size_t knobs = d->nknobs;
		for (size_t i = 0; i < e->call.len; i++)
			walk(d, e->call.args[i], where);
		if (!strcmp(e->call.name, "file") && d->nknobs == knobs)
			expand_file(d, e, where);
		return;
	}
	case E_BINARY: {
		struct expr_chain chain;	/* left to right, in a loop */
		expr_chain_of(e, &chain);
		walk(d, chain.op[0]->ops.x, where);
		for (size_t i = 0; i < chain.n; i++)
			walk(d, chain.op[i]->ops.y, where);
		expr_chain_free(&chain);
		return;
	}
	case E_UNARY:
	case E_COND:
		walk(d, e->ops.x, where);
		if (e->kind == E_COND) {
			walk(d, e->ops.y, where);
			walk(d, e->ops.z, where);
		}
		return;
	default:
		return;
	}
}

static void define_into(struct definer *d, const struct node *n)
{
	const struct expr *t = eval_template_of(d->p, n);
	if (t) {
		expr_print(t, d->text);
		walk(d, t, n);
		return;
	}
	if (n->kind == NODE_SEQ || n->kind == NODE_MAP) {
		/* Collections may hold expressions: define each child. */
		bool map = n->kind == NODE_MAP;
		size_t len = map ? n->map.len : n->seq.len;
		buf_putc(d->text, map ? '{' : '[');
		for (size_t i = 0; i < len; i++) {
			if (map) {
				json_quote(d->text, n->map.pairs[i].key->str.s, n->map.pairs[i].key->str.len);
				buf_putc(d->text, ':');
			}
			define_into(d, map ? n->map.pairs[i].value : n->seq.items[i]);
			buf_putc(d->text, ',');
		}
		buf_putc(d->text, map ? '}' : ']');
		return;
	}
	struct value *v = value_from_node(d->arena, n);
	buf_puts(d->text, value_kind_name(v->kind));
	buf_putc(d->text, ':');
	value_to_json_compact(v, d->text);
}

/* Makes n's definition in u into text, with s's buffers; true when it
 * expanded no local and no include. */
static bool define_text(struct project *p, struct arena *a, struct unit *u, const struct node *n,
			struct define_scratch *s, struct buf *text, size_t *nknobs)
{
	struct definer d = { .p = p, .arena = a, .u = u, .text = text, .s = s };
	buf_reset(text);
	buf_reset(&s->seen_keys);
	if (n)
		define_into(&d, n);
	else
		buf_puts(text, "(computed)");
	*nknobs = d.nknobs;
	return d.nseen == 0 && !d.read_files;
}

static void define_fresh(struct project *p, struct arena *a, struct unit *u, const struct node *n,
			 struct definition *out)
{
	struct define_scratch s = { 0 };
	size_t nknobs;
	out->unit_independent = define_text(p, a, u, n, &s, &s.text[0], &nknobs);
	out->text = arena_strndup(a, buf_cstr(&s.text[0]), s.text[0].len);
	out->knobs = ARENA_ARRAY(a, struct knob, nknobs + 1);
	if (nknobs)
		memcpy(out->knobs, s.knobs, nknobs * sizeof(*s.knobs));
	out->nknobs = nknobs;
	out->literal = n && nknobs == 0;
	define_scratch_free(&s);
}

/* A node of a file other than the unit's own: an include, shared. */
static bool is_shared(const struct unit *u, const struct node *n)
{
	return n && n->file && n->file != u->tree_src;
}

/* A definition that expanded no local and no include is the same in
 * every unit: keep it when it comes from an include file, since shared
 * includes are defined again and again.  A node of the unit's own file
 * is defined at most twice (a middle env is compared on both sides), so
 * caching those cost more in map growth than it saved. */
void define_node_in(struct project *p, struct arena *a, struct map *cache, struct unit *u, const struct node *n,
		    struct definition *out)
{
	bool shared = is_shared(u, n);
	struct definition *cached = shared ? map_get(cache, (const char *)&n, sizeof(n)) : NULL;
	if (cached) {
		*out = *cached;
		return;
	}
	define_fresh(p, a, u, n, out);
	if (shared && out->unit_independent) {
		struct definition *keep = ARENA_NEW(a, struct definition);
		const struct node **key = ARENA_NEW(a, const struct node *);
		*keep = *out;
		*key = n;
		map_put(cache, (const char *)key, sizeof(*key), keep);
	}
}

void define_node(struct project *p, struct unit *u, const struct node *n, struct definition *out)
{
	define_node_in(p, &p->arena, &p->definitions, u, n, out);
}

/* The text of n's definition in u: a shared node's through the cache, a
 * unit's own node's made in text and kept nowhere. */
static const char *text_of(struct project *p, struct arena *a, struct map *cache, struct define_scratch *s,
			   struct unit *u, const struct node *n, struct buf *text)
{
	if (is_shared(u, n)) {
		struct definition d;
		define_node_in(p, a, cache, u, n, &d);
		return d.text;
	}
	size_t nknobs;
	define_text(p, a, u, n, s, text, &nknobs);
	return buf_cstr(text);
}

bool define_same_in(struct project *p, struct arena *a, struct map *cache, struct define_scratch *s,
		    struct unit *ua, const struct node *na, struct unit *ub, const struct node *nb)
{
	/* One node of one configuration (shared by the same unit in two envs:
	 * include.c) reads the same locals: its definition is the same on
	 * both sides.  Exposed includes are merged per unit, so units with
	 * any are defined in full, and so is every unit of a repo whose
	 * units read files (expand_file): each reads its own folder's. */
	if (na == nb && ua->config == ub->config && !ua->exposed.len && !ub->exposed.len && !p->files_read)
		return true;
	const char *ta = text_of(p, a, cache, s, ua, na, &s->text[0]);
	const char *tb = text_of(p, a, cache, s, ub, nb, &s->text[1]);
	return !strcmp(ta, tb);
}

void define_scratch_free(struct define_scratch *s)
{
	for (size_t i = 0; i < 2; i++)
		buf_free(&s->text[i]);
	buf_free(&s->key);
	buf_free(&s->seen_keys);
	free(s->knobs);
	memset(s, 0, sizeof(*s));
}
