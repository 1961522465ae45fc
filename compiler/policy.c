/* policy.c - rules that hold for every env on its own or across envs. */
#include "policy.h"
#include "policy_rules.h"
#include "define.h"
#include "glob.h"
#include "parallel.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct checker {
	struct project *p;
	struct findings *out;
	struct arena *arena;		/* the findings' text */
	struct map *definitions;	/* define_node_in's cache */
	const struct node *allow;	/* policy.allow: UNIT-GLOB:KEY-GLOB:RULE */
	const struct node *cidr_keys;
	struct cidr_use *cidrs;
	size_t ncidrs, cap;
	struct buf path;		/* the key path of a leaf reported */
};

struct cidr_use {
	/* The prefix's first and last address (host bits cleared and set),
	 * made once from the text: sorting and the sweep compare them. */
	unsigned char lo[16], hi[16];
	int bits;		/* prefix length in the 128-bit space */
	const struct unit *unit;
	const char *key;
	const char *text;
	const struct node *where;
	size_t seq;		/* order of the walk, for ties in sorting */
};

const struct policy_rule policy_rules[] = {
	{ "cross-account", "A value holds the account ID of another promotion environment" },
	{ "cidr-overlap", "Two CIDR blocks of different environments overlap" },
	{ "unpinned-source", "A protected environment's module source has no pinned ref" },
	{ "shared-account", "Two environments or shared accounts have the same account ID" },
	{ "plaintext-secret", "A secret-looking key holds a literal value; use secret()" },
	{ NULL, NULL },
};

/* policy.allow entries split at the last two colons. */
static bool waived(const struct checker *c, const char *unit, const char *key, const char *rule)
{
	for (size_t i = 0; c->allow && i < c->allow->seq.len; i++) {
		const char *g = c->allow->seq.items[i]->str.s;
		const char *r = strrchr(g, ':');
		if (!r || strcmp(r + 1, rule))
			continue;
		const char *k = r;
		while (k > g && k[-1] != ':')
			k--;
		if (k == g)
			continue;
		if (glob_match_n(k, (size_t)(r - k), key) && glob_match_n(g, (size_t)(k - 1 - g), unit))
			return true;
	}
	return false;
}

static struct finding *report(struct checker *c, const char *rule, const struct env *ea, const struct env *eb,
			      const char *unit, const char *key, const char *hint)
{
	if (waived(c, unit, key, rule))
		return NULL;
	struct finding *f = findings_add(c->out);
	f->cls = F_POLICY;
	f->rule = rule;
	f->env_a = ea->label;
	f->env_b = eb->label;
	f->unit = unit;
	f->key = arena_strdup(c->arena, key);
	f->hint = hint;
	return f;
}

/* ---- walking input leaves ---- */

/* A leaf of a unit's inputs: its keys, innermost first (the items of a
 * list share their list's), and where it is defined. */
struct leaf {
	const struct unit *u;
	const struct key_frame *keys;
	const struct value *v;
	const struct node *def;
};

typedef void (*leaf_fn)(struct checker *c, const struct leaf *l);

/* The last key on the way to the leaf, which the rules read. */
static const char *leaf_key(const struct leaf *l)
{
	return l->keys ? l->keys->key : "inputs";
}

/* The leaf's key path, in the checker's buffer until the next call. */
static const char *leaf_path(struct checker *c, const struct leaf *l)
{
	buf_reset(&c->path);
	key_path_of(l->keys, &c->path);
	return c->path.data;
}

static void walk_leaves(struct checker *c, const struct unit *u, const struct key_frame *keys,
			const struct value *v, const struct node *enc, leaf_fn fn)
{
	if (v->templated)
		enc = v->origin;
	if (v->kind == VAL_MAP) {
		for (size_t i = 0; i < v->map.len; i++) {
			struct key_frame frame = { v->map.pairs[i].key, v->map.pairs[i].keylen, keys };
			walk_leaves(c, u, &frame, v->map.pairs[i].value, enc, fn);
		}
		return;
	}
	if (v->kind == VAL_LIST) {
		for (size_t i = 0; i < v->list.len; i++)
			walk_leaves(c, u, keys, v->list.items[i], enc, fn);
		return;
	}
	fn(c, &(struct leaf){ u, keys, v, enc ? enc : v->origin });
}

static void unit_leaves(struct checker *c, const struct unit *u, leaf_fn fn)
{
	walk_leaves(c, u, NULL, u->inputs, NULL, fn);
}

/* ---- cross-account ---- */

/* A 12-digit run bounded by non-digits equal to another promotion env's
 * account that is not this env's own. */
static void cross_account_leaf(struct checker *c, const struct leaf *l)
{
	const struct unit *u = l->u;
	const struct value *v = l->v;
	if (u->env->is_shared || v->kind != VAL_STR || v->sensitive)
		return;
	const char *s = v->str.s;
	for (size_t i = 0; i + 12 <= v->str.len; i++) {
		if (!isdigit((unsigned char)s[i]) || (i && isdigit((unsigned char)s[i - 1])))
			continue;
		size_t n = 0;
		while (isdigit((unsigned char)s[i + n]))
			n++;
		if (n != 12)
			continue;
		for (size_t e = 0; e < c->p->nenvs; e++) {
			const struct env *other = c->p->envs[e];
			if (other->is_shared || strncmp(other->account_id, s + i, 12) ||
			    !strcmp(u->env->account_id, other->account_id))
				continue;
			struct finding *f = report(c, "cross-account", u->env, u->env, u->id, leaf_path(c, l),
						   arena_printf(c->arena, "names account %s of '%s'",
								other->account_id, other->label));
			if (f) {
				f->value_b = key_frames_secret(l->keys) ? "(sensitive)" : arena_printf(c->arena, "\"%s\"", s);
				f->at_b = unit_place(u, l->def);
			}
			return;
		}
	}
}

/* ---- CIDR overlap ---- */

/* The first and last address of addr/bits. */
static void set_range(struct cidr_use *u, const unsigned char addr[16])
{
	for (int i = 0; i < 16; i++) {
		int keep = u->bits - i * 8;
		unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
		u->lo[i] = addr[i] & mask;
		u->hi[i] = (unsigned char)(addr[i] | ~mask);
	}
}

static bool parse_cidr(const char *s, struct cidr_use *out)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	char *end;
	long bits = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1)
		return false;
	unsigned char v4[4], v6[16] = { 0 };
	if (inet_pton(AF_INET, addr, v4) == 1 && bits >= 0 && bits <= 32) {
		v6[10] = v6[11] = 0xff;	/* IPv4-mapped */
		memcpy(v6 + 12, v4, 4);
		out->bits = 96 + (int)bits;
	} else if (inet_pton(AF_INET6, addr, v6) == 1 && bits >= 0 && bits <= 128) {
		out->bits = (int)bits;
	} else {
		return false;
	}
	set_range(out, v6);
	return true;
}

static bool is_cidr_key(const struct checker *c, const char *last)
{
	if (!c->cidr_keys)
		return !strcmp(last, "cidr_block") || !strcmp(last, "vpc_cidr");
	for (size_t i = 0; i < c->cidr_keys->seq.len; i++)
		if (!strcmp(last, c->cidr_keys->seq.items[i]->str.s))
			return true;
	return false;
}

/* Appends a use, numbered in the order uses reach this checker. */
static void add_cidr(struct checker *c, const struct cidr_use *use)
{
	if (c->ncidrs == c->cap)
		c->cidrs = xrealloc(c->cidrs, (c->cap = c->cap ? c->cap * 2 : 16) * sizeof(*c->cidrs));
	c->cidrs[c->ncidrs] = *use;
	c->cidrs[c->ncidrs].seq = c->ncidrs;
	c->ncidrs++;
}

static void cidr_leaf(struct checker *c, const struct leaf *l)
{
	struct cidr_use use;
	if (l->v->kind != VAL_STR || !is_cidr_key(c, leaf_key(l)) || !parse_cidr(l->v->str.s, &use))
		return;
	use.unit = l->u;
	use.key = arena_strdup(c->arena, leaf_path(c, l));
	use.text = l->v->str.s;
	use.where = l->def;
	add_cidr(c, &use);
}

/* A use and its place in sorted order. */
struct cidr_span {
	const struct cidr_use *use;
	size_t pos;		/* in c->cidrs once sorted by first address */
};

/* First address, then the order of the walk: a and b of a finding are
 * the earlier and the later use in this order. */
static int compare_starts(const void *pa, const void *pb)
{
	const struct cidr_use *a = pa, *b = pb;
	int c = memcmp(a->lo, b->lo, 16);
	return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* The sweep's order: first address, then the larger prefix first, so
 * that each span lies inside every prefix still open when it comes. */
static int compare_sweep(const void *pa, const void *pb)
{
	const struct cidr_span *a = pa, *b = pb;
	int c = memcmp(a->use->lo, b->use->lo, 16);
	if (!c)
		c = (a->use->bits > b->use->bits) - (a->use->bits < b->use->bits);
	return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

/* The uses of one prefix in one env, by position. */
struct env_uses {
	const struct env *env;
	size_t *pos;
	size_t n, cap;
};

/* A prefix the sweep is inside of, with its uses grouped by env. */
struct open_prefix {
	const struct cidr_use *prefix;	/* its first use in the sweep */
	struct env_uses *envs;
	size_t nenvs;
};

struct use_pair {
	size_t a, b;		/* positions, a < b */
};

static int compare_use_pairs(const void *pa, const void *pb)
{
	const struct use_pair *x = pa, *y = pb;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return (x->b > y->b) - (x->b < y->b);
}

static void add_use(struct open_prefix *op, const struct env *env, size_t pos)
{
	size_t e = 0;
	while (e < op->nenvs && op->envs[e].env != env)
		e++;
	if (e == op->nenvs) {
		op->envs = xrealloc(op->envs, (op->nenvs + 1) * sizeof(*op->envs));
		op->envs[op->nenvs++] = (struct env_uses){ env, NULL, 0, 0 };
	}
	struct env_uses *u = &op->envs[e];
	if (u->n == u->cap)
		u->pos = xrealloc(u->pos, (u->cap = u->cap ? u->cap * 2 : 4) * sizeof(*u->pos));
	u->pos[u->n++] = pos;
}

static void close_prefix(struct open_prefix *op)
{
	for (size_t e = 0; e < op->nenvs; e++)
		free(op->envs[e].pos);
	free(op->envs);
}

/* Every pair of uses of different envs whose prefixes overlap.  Prefixes
 * overlap only by nesting, so the prefixes open at any point of a sweep
 * by first address form a chain (129 at most) and a use meets only the
 * uses in it: the cost follows the pairs found, not the square of the
 * uses (15,000 units passing one env's VPC CIDR to every unit took 0.7 s
 * of a validate with pairs compared one by one). */
static size_t overlapping_pairs(const struct cidr_use *uses, size_t n, struct use_pair **out)
{
	struct cidr_span *spans = xcalloc(n + 1, sizeof(*spans));
	struct open_prefix chain[130];
	size_t depth = 0, npairs = 0, cap = 0;
	struct use_pair *pairs = NULL;
	for (size_t i = 0; i < n; i++)
		spans[i] = (struct cidr_span){ &uses[i], i };
	if (n)
		qsort(spans, n, sizeof(*spans), compare_sweep);
	for (size_t s = 0; s < n; s++) {
		const struct cidr_span *sp = &spans[s];
		const struct cidr_use *use = sp->use;
		const struct env *env = use->unit->env;
		while (depth && memcmp(chain[depth - 1].prefix->hi, use->lo, 16) < 0)
			close_prefix(&chain[--depth]);
		for (size_t d = 0; d < depth; d++)
			for (size_t e = 0; e < chain[d].nenvs; e++) {
				const struct env_uses *u = &chain[d].envs[e];
				for (size_t k = 0; u->env != env && k < u->n; k++) {
					if (npairs == cap)
						pairs = xrealloc(pairs, (cap = cap ? cap * 2 : 16) * sizeof(*pairs));
					size_t q = u->pos[k];
					pairs[npairs++] = q < sp->pos ? (struct use_pair){ q, sp->pos }
								      : (struct use_pair){ sp->pos, q };
				}
			}
		if (!depth || chain[depth - 1].prefix->bits != use->bits ||
		    memcmp(chain[depth - 1].prefix->lo, use->lo, 16))
			chain[depth++] = (struct open_prefix){ use, NULL, 0 };
		add_use(&chain[depth - 1], env, sp->pos);
	}
	while (depth)
		close_prefix(&chain[--depth]);
	free(spans);
	if (npairs)
		qsort(pairs, npairs, sizeof(*pairs), compare_use_pairs);
	*out = pairs;
	return npairs;
}

/* Pairwise across envs, regions and shared accounts, each pair reported
 * on its later use in order of first address, in that order. */
static void check_cidrs(struct checker *c)
{
	if (c->ncidrs)
		qsort(c->cidrs, c->ncidrs, sizeof(*c->cidrs), compare_starts);
	struct use_pair *pairs;
	size_t npairs = overlapping_pairs(c->cidrs, c->ncidrs, &pairs);
	for (size_t p = 0; p < npairs; p++) {
		const struct cidr_use *a = &c->cidrs[pairs[p].a], *b = &c->cidrs[pairs[p].b];
		struct finding *f = report(c, "cidr-overlap", a->unit->env, b->unit->env, b->unit->id, b->key,
					   arena_printf(c->arena, "overlaps %s of '%s' in '%s'", a->text, a->unit->id,
							a->unit->env->label));
		if (f) {
			f->value_a = arena_printf(c->arena, "\"%s\"", a->text);
			f->value_b = arena_printf(c->arena, "\"%s\"", b->text);
			f->at_a = unit_place(a->unit, a->where);
			f->at_b = unit_place(b->unit, b->where);
		}
	}
	free(pairs);
}

/* ---- unpinned sources ---- */

static bool is_sha(const char *s)
{
	return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

static bool pinned(const char *src)
{
	if (!strncmp(src, "./", 2) || !strncmp(src, "../", 3) || !strncmp(src, "//", 2))
		return true;
	const char *ref = strstr(src, "?ref=");
	if (!ref)
		ref = strstr(src, "&ref=");
	if (!ref)
		return false;
	char r[128];
	size_t n = strcspn(ref + 5, "&");
	if (n >= sizeof(r))
		return false;
	memcpy(r, ref + 5, n);
	r[n] = '\0';
	int cmp;
	return is_sha(r) || semver_compare(r, r, &cmp) == 0;
}

static void check_sources(struct checker *c)
{
	for (size_t i = 0; i < c->p->nunits; i++) {
		const struct unit *u = c->p->units[i];
		if (!u->env->is_protected || !u->source || pinned(u->source))
			continue;
		struct finding *f = report(c, "unpinned-source", u->env, u->env, u->id, "source",
					   "protected envs need a SemVer tag, a 40-hex SHA or a local path");
		if (f) {
			f->value_b = arena_printf(c->arena, "\"%s\"", u->source);
			f->at_b = unit_place(u, node_map_get(u->config, "source"));
		}
	}
}

/* ---- shared accounts ---- */

static void check_accounts(struct checker *c)
{
	for (size_t i = 0; i < c->p->nenvs; i++)
		for (size_t k = i + 1; k < c->p->nenvs; k++) {
			const struct env *a = c->p->envs[i], *b = c->p->envs[k];
			if (a->decl == b->decl || strcmp(a->account_id, b->account_id))
				continue;
			if (!c->p->unique_accounts && !a->is_shared && !b->is_shared)
				continue;
			struct finding *f = report(c, "shared-account", a, b, "(project)", "account_id",
						   "two environments share one account");
			if (f) {
				f->value_a = f->value_b = arena_printf(c->arena, "\"%s\"", a->account_id);
				f->at_a = unit_place(NULL, node_map_get(a->decl, "account_id"));
				f->at_b = unit_place(NULL, node_map_get(b->decl, "account_id"));
			}
		}
}

/* ---- plaintext secrets ---- */

static void secret_leaf(struct checker *c, const struct leaf *l)
{
	const struct value *v = l->v;
	if (v->kind != VAL_STR || !v->str.len || v->sensitive || !key_is_secret(leaf_key(l)))
		return;
	struct definition d;
	define_node_in(c->p, c->arena, c->definitions, (struct unit *)l->u, l->def, &d);
	if (!d.literal)
		return;
	struct finding *f = report(c, "plaintext-secret", l->u->env, l->u->env, l->u->id, leaf_path(c, l),
				   "a literal secret: use secret() or env_secret()");
	if (f) {
		f->value_b = "(sensitive)";
		f->at_b = unit_place(l->u, l->def);
	}
}

/* One walk over the inputs serves every per-leaf rule. */
static void every_leaf_rule(struct checker *c, const struct leaf *l)
{
	cross_account_leaf(c, l);
	cidr_leaf(c, l);
	secret_leaf(c, l);
}

/* ---- the leaves of every unit, on every worker ---- */

/* Each worker checks whole units with a checker of its own (findings,
 * CIDRs, arena, definitions); each unit's share is then appended in unit
 * order, as one thread would have made it. */
struct unit_share {
	struct findings_share findings;
	size_t first_cidr, ncidrs;	/* in the worker's CIDR uses */
};

/* What one worker of check_leaves writes. */
struct leaf_worker {
	PARALLEL_OWN_LINE struct checker checker;
	struct findings found;
	struct map definitions;
};

struct leaf_run {
	struct leaf_worker *workers;
	struct worker_arena *arenas;
	struct unit_share *shares;
	struct unit **units;
};

static void check_unit(void *ctx, size_t i, struct arena *arena)
{
	struct leaf_run *lr = ctx;
	unsigned w = parallel_worker();
	struct leaf_worker *mine = &lr->workers[w];
	struct checker *c = &mine->checker;
	struct unit_share *sh = &lr->shares[i];
	(void)arena;	/* the checker's own */
	findings_share_begin(&sh->findings, w, &mine->found);
	sh->first_cidr = c->ncidrs;
	unit_leaves(c, lr->units[i], every_leaf_rule);
	findings_share_end(&sh->findings, &mine->found);
	sh->ncidrs = c->ncidrs - sh->first_cidr;
}

static void check_leaves(struct checker *c)
{
	struct project *p = c->p;
	unsigned jobs = parallel_jobs(p->jobs);
	struct leaf_run lr = {
		parallel_calloc(jobs, sizeof(*lr.workers)), project_worker_arenas(p, jobs),
		xcalloc(p->nunits + 1, sizeof(*lr.shares)), p->units,
	};
	for (unsigned w = 0; w < jobs; w++) {
		struct leaf_worker *lw = &lr.workers[w];
		lw->checker = (struct checker){ .p = p, .out = &lw->found, .arena = &lr.arenas[w].arena,
						.definitions = &lw->definitions, .allow = c->allow,
						.cidr_keys = c->cidr_keys };
	}
	parallel_for(p->nunits, jobs, lr.arenas, check_unit, &lr);
	for (size_t i = 0; i < p->nunits; i++) {
		const struct unit_share *sh = &lr.shares[i];
		const struct leaf_worker *lw = &lr.workers[sh->findings.worker];
		const struct checker *wc = &lw->checker;
		findings_append_share(c->out, &lw->found, &sh->findings);
		for (size_t k = 0; k < sh->ncidrs; k++)
			add_cidr(c, &wc->cidrs[sh->first_cidr + k]);
	}
	for (unsigned w = 0; w < jobs; w++) {
		findings_free(&lr.workers[w].found);
		map_free(&lr.workers[w].definitions);
		free(lr.workers[w].checker.cidrs);
		buf_free(&lr.workers[w].checker.path);
	}
	free(lr.workers);
	free(lr.shares);
}

void policy_check(struct project *p, struct findings *out)
{
	const struct node *policy = node_map_get(p->file->root, "policy");
	struct checker c = { .p = p, .out = out, .arena = &p->arena, .definitions = &p->definitions,
			     .allow = node_map_get(policy, "allow"), .cidr_keys = node_map_get(policy, "cidr_keys") };
	check_leaves(&c);
	check_cidrs(&c);
	check_sources(&c);
	check_accounts(&c);
	free(c.cidrs);
	buf_free(&c.path);
}
