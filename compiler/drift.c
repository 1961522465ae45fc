/* drift.c - align units across environments and classify differences. */
#include "drift.h"
#include "define.h"
#include "eval.h"
#include "glob.h"
#include "parallel.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- findings ---- */

struct finding *findings_add(struct findings *f)
{
	if (f->len == f->cap)
		f->v = xrealloc(f->v, (f->cap = f->cap ? f->cap * 2 : 32) * sizeof(*f->v));
	struct finding *x = &f->v[f->len++];
	memset(x, 0, sizeof(*x));
	return x;
}

void findings_free(struct findings *f)
{
	free(f->v);
	*f = (struct findings){ 0 };
}

void findings_share_begin(struct findings_share *sh, unsigned worker, const struct findings *list)
{
	*sh = (struct findings_share){ worker, list->len, 0 };
}

void findings_share_end(struct findings_share *sh, const struct findings *list)
{
	sh->len = list->len - sh->first;
}

void findings_append_share(struct findings *out, const struct findings *list, const struct findings_share *sh)
{
	for (size_t k = 0; k < sh->len; k++)
		*findings_add(out) = list->v[sh->first + k];
}

const char *finding_class_name(const struct finding *f)
{
	static const char *names[] = { "equal", "allowed", "parameterized", "drift", "ahead", "pending", "policy" };
	return f->cls == F_POLICY ? f->rule : names[f->cls];
}

bool finding_is_error(const struct finding *f)
{
	return !f->baselined && (f->cls == F_DRIFT || f->cls == F_AHEAD || f->cls == F_POLICY);
}

bool finding_is_note(const struct finding *f)
{
	return !f->baselined && f->cls == F_PENDING;
}

static int compare_findings(const void *pa, const void *pb)
{
	const struct finding *a = pa, *b = pb;
	int c = strcmp(a->unit, b->unit);
	if (!c)
		c = strcmp(a->env_b, b->env_b);
	if (!c)
		c = strcmp(a->env_a, b->env_a);
	if (!c)
		c = strcmp(a->key, b->key);
	if (!c)
		c = strcmp(finding_class_name(a), finding_class_name(b));
	return c;
}

/* xxh3-64 of envA\0envB\0unit\0key\0class: stable when lines move. */
static void fingerprint(struct finding *f)
{
	struct buf b = BUF_INIT;
	const char *parts[] = { f->env_a, f->env_b, f->unit, f->key, finding_class_name(f) };
	for (size_t i = 0; i < 5; i++)
		buf_add(&b, parts[i], strlen(parts[i]) + (i < 4));
	snprintf(f->fingerprint, sizeof(f->fingerprint), "%016llx",
		 (unsigned long long)XXH3_64bits(b.data, b.len));
	buf_free(&b);
}

/* Sorts, fingerprints, and keeps one finding per fingerprint: two hits
 * on one leaf (a list is one leaf) are one finding. */
void findings_finish(struct findings *f)
{
	if (f->len)
		qsort(f->v, f->len, sizeof(*f->v), compare_findings);
	size_t kept = 0;
	for (size_t i = 0; i < f->len; i++) {
		fingerprint(&f->v[i]);
		if (kept && !strcmp(f->v[kept - 1].fingerprint, f->v[i].fingerprint))
			continue;
		f->v[kept++] = f->v[i];
	}
	f->len = kept;
}

/* ---- versions ---- */

/* Major, minor and patch as their digits (no leading zero): SemVer sets
 * no bound on them, so they compare by length, then bytes. */
struct semver {
	const char *n[3];
	size_t nlen[3];
	const char *pre;	/* after '-', up to '+' */
	size_t prelen;
};

/* Dot-separated identifiers of [0-9A-Za-z-], none empty (SemVer 9, 10). */
static bool identifiers_ok(const char *s, size_t len)
{
	if (!len || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
		if (s[i] != '.' && !isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

static bool parse_semver(const char *s, struct semver *v)
{
	if (*s == 'v')
		s++;
	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*s) || (s[0] == '0' && isdigit((unsigned char)s[1])))
			return false;
		v->n[i] = s;
		v->nlen[i] = strspn(s, "0123456789");
		s += v->nlen[i];
		if (i < 2 && *s++ != '.')
			return false;
	}
	v->pre = NULL;
	v->prelen = 0;
	if (*s == '-') {
		v->pre = ++s;
		while (*s && *s != '+')
			s++;
		v->prelen = (size_t)(s - v->pre);
		if (!identifiers_ok(v->pre, v->prelen))
			return false;
	}
	if (*s == '+') {
		s++;
		if (!identifiers_ok(s, strlen(s)))
			return false;
		s += strlen(s);
	}
	return *s == '\0';
}

static int compare_identifiers(const char *a, size_t alen, const char *b, size_t blen)
{
	bool an = alen && strspn(a, "0123456789") >= alen, bn = blen && strspn(b, "0123456789") >= blen;
	if (an && bn) {
		if (alen != blen)
			return alen < blen ? -1 : 1;
		int c = memcmp(a, b, alen);
		return c < 0 ? -1 : c > 0;
	}
	if (an != bn)
		return an ? -1 : 1;
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c < 0 ? -1 : 1;
	return alen < blen ? -1 : alen > blen;
}

/* Pre-release identifiers compare dot by dot (SemVer 2.0.0 rule 11). */
static int compare_pre(const struct semver *a, const struct semver *b)
{
	if (!a->pre || !b->pre)
		return a->pre ? -1 : b->pre ? 1 : 0;
	const char *x = a->pre, *xe = a->pre + a->prelen, *y = b->pre, *ye = b->pre + b->prelen;
	while (x < xe && y < ye) {
		const char *xd = memchr(x, '.', (size_t)(xe - x)), *yd = memchr(y, '.', (size_t)(ye - y));
		size_t xl = (size_t)((xd ? xd : xe) - x), yl = (size_t)((yd ? yd : ye) - y);
		int c = compare_identifiers(x, xl, y, yl);
		if (c)
			return c;
		x += xl + 1;
		y += yl + 1;
	}
	return x < xe ? 1 : y < ye ? -1 : 0;
}

int semver_compare(const char *a, const char *b, int *cmp)
{
	struct semver x, y;
	if (!parse_semver(a, &x) || !parse_semver(b, &y))
		return -1;
	for (int i = 0; i < 3; i++) {
		int c = compare_identifiers(x.n[i], x.nlen[i], y.n[i], y.nlen[i]);
		if (c) {
			*cmp = c;
			return 0;
		}
	}
	*cmp = compare_pre(&x, &y);
	return 0;
}

/* ---- one pair of units ---- */

struct pair {
	struct project *p;
	struct unit *a, *b;		/* earlier, later; one may be NULL */
	struct env *ea, *eb;
	const struct drift_scope *scope;
	struct findings *out;
	struct arena *arena;		/* the findings' text */
	struct map *definitions;	/* define_node_in's cache */
	struct define_scratch *scratch;	/* define_same_in's buffers */
	/* a's and b's drift.allow and drift.promoted lists, looked up once
	 * per unit pair rather than once per leaf. */
	const struct node *allow[2], *promote[2];
	struct buf path;	/* the key path of the leaf being classified */
};

/* Two values that differ at a leaf. */
static bool keep_equal(const struct pair *pr)
{
	return pr->scope && pr->scope->all;
}

/* Whether findings that never reach a drift report (allowed,
 * parameterized) need their values and knob hints: diff shows them. */
static bool want_details(const struct pair *pr)
{
	return !pr->scope || !pr->scope->lean;
}

static bool unit_list_matches(const struct node *list, const char *key)
{
	for (size_t i = 0; list && list->kind == NODE_SEQ && i < list->seq.len; i++)
		if (glob_match(list->seq.items[i]->str.s, key))
			return true;
	return false;
}

static const struct node *unit_drift_list(const struct unit *u, const char *which)
{
	return u ? node_map_get(node_map_get(u->config, "drift"), which) : NULL;
}

/* The lists that apply: the project's (globs, split when loaded) plus
 * both sides' unit lists. */
static bool lists_match(const struct pair *pr, const struct unit_key_glob *globs, size_t nglobs,
			const struct node *const units[2], const char *key)
{
	const char *unit = pr->a ? pr->a->id : pr->b->id;
	for (size_t i = 0; i < nglobs; i++)
		if (unit_key_glob_match(&globs[i], unit, key))
			return true;
	return unit_list_matches(units[0], key) || unit_list_matches(units[1], key);
}

static bool allowed(const struct pair *pr, const char *key)
{
	return lists_match(pr, pr->p->drift_allow, pr->p->ndrift_allow, pr->allow, key);
}

static bool promoted(const struct pair *pr, const char *key)
{
	return lists_match(pr, pr->p->drift_promoted, pr->p->ndrift_promoted, pr->promote, key);
}

/* A unit promoted by copying its folder shares its tree with its copy
 * (project.c): one list, asked once. */
static void find_lists(struct pair *pr)
{
	pr->allow[0] = unit_drift_list(pr->a, "allow");
	pr->allow[1] = unit_drift_list(pr->b, "allow");
	pr->promote[0] = unit_drift_list(pr->a, "promoted");
	pr->promote[1] = unit_drift_list(pr->b, "promoted");
	if (pr->allow[1] == pr->allow[0])
		pr->allow[1] = NULL;
	if (pr->promote[1] == pr->promote[0])
		pr->promote[1] = NULL;
}

static const char *shown(struct arena *a, const struct value *v, bool secret)
{
	if (!v)
		return NULL;
	if (v->sensitive || (secret && v->kind == VAL_STR))
		return "(sensitive)";
	struct buf b = BUF_INIT;
	value_to_json_compact_redacted(v, secret, &b);
	const char *s = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return s;
}

static struct finding *add(struct pair *pr, enum finding_class cls, const char *key)
{
	struct finding *f = findings_add(pr->out);
	f->cls = cls;
	f->env_a = pr->ea->label;
	f->env_b = pr->eb->label;
	f->unit = pr->a ? pr->a->id : pr->b->id;
	f->key = key;
	return f;
}

/* A classified leaf becomes a finding, unless the scope is lean and no
 * report would list it: then it is only counted. */
static void keep_leaf(struct pair *pr, const struct finding *leaf, const char *key)
{
	if (!want_details(pr) && (leaf->cls == F_PARAMETERIZED || leaf->cls == F_ALLOWED)) {
		if (leaf->cls == F_PARAMETERIZED)
			pr->out->unlisted_parameterized++;
		else
			pr->out->unlisted_allowed++;
		return;
	}
	struct finding *f = add(pr, leaf->cls, arena_strdup(pr->arena, key));
	f->at_a = leaf->at_a;
	f->at_b = leaf->at_b;
	f->hint = leaf->hint;
	f->value_a = leaf->value_a;
	f->value_b = leaf->value_b;
}

/* Which knobs give the two sides different values: "var.replicas: 2 -> 6". */
static const char *knob_hint(struct pair *pr, const struct definition *da, const struct definition *db,
			     bool secret)
{
	struct buf hint = BUF_INIT;
	/* Knobs are read for the hint alone, and one in a branch the value
	 * did not take (c ? var.a : var.b) may not exist on this side: that
	 * is no error (the evaluation was lazy), and the knob is left out. */
	bool muted = diag_mute(true);
	for (size_t i = 0; i < da->nknobs && i < db->nknobs; i++) {
		struct value *va = eval_unit_expr(pr->p, pr->a, pr->arena, da->knobs[i].where, da->knobs[i].ref);
		struct value *vb = eval_unit_expr(pr->p, pr->b, pr->arena, db->knobs[i].where, db->knobs[i].ref);
		if (!va || !vb || value_equal(va, vb))
			continue;
		struct buf name = BUF_INIT;
		expr_print(da->knobs[i].ref, &name);
		if (!strstr(buf_cstr(&hint), name.data))
			buf_printf(&hint, "%s%s: %s -> %s", hint.len ? ", " : "", name.data,
				   shown(pr->arena, va, secret), shown(pr->arena, vb, secret));
		buf_free(&name);
	}
	diag_mute(muted);
	const char *s = hint.len ? arena_strdup(pr->arena, hint.data) : NULL;
	buf_free(&hint);
	return s;
}

static void classify_versions(struct finding *f, const char *va, const char *vb)
{
	int cmp;
	if (semver_compare(va, vb, &cmp) < 0) {
		f->cls = F_DRIFT;
		f->hint = "cannot order";
	} else if (cmp == 0) {
		f->cls = F_EQUAL;	/* v1.4.0 and 1.4.0, or build metadata */
	} else {
		f->cls = cmp < 0 ? F_AHEAD : F_PENDING;
		f->hint = cmp < 0 ? "the later env runs a newer version" : "not yet promoted";
	}
}

static bool same_type(const struct value *a, const struct value *b)
{
	bool an = a->kind == VAL_INT || a->kind == VAL_FLOAT, bn = b->kind == VAL_INT || b->kind == VAL_FLOAT;
	return a->kind == b->kind || (an && bn);
}


/* Whether na and nb define the leaf alike; with details, the knobs that
 * differ go in f's hint.  Without, the texts are compared and kept
 * nowhere. */
static bool same_definition(struct pair *pr, const struct node *na, const struct node *nb, struct finding *f,
			    bool secret)
{
	if (!want_details(pr))
		return define_same_in(pr->p, pr->arena, pr->definitions, pr->scratch, pr->a, na, pr->b, nb);
	struct definition da, db;
	define_node_in(pr->p, pr->arena, pr->definitions, pr->a, na, &da);
	define_node_in(pr->p, pr->arena, pr->definitions, pr->b, nb, &db);
	if (strcmp(da.text, db.text))
		return false;
	f->hint = knob_hint(pr, &da, &db, secret);
	return true;
}

static void classify_leaf(struct pair *pr, const struct value *va, const struct value *vb, const struct node *na,
			  const struct node *nb, const struct key_frame *keys)
{
	/* Equal values are never a finding; only diff --all lists them, so
	 * skip the work of recording them otherwise (most leaves are equal). */
	if (va && vb && !keep_equal(pr) && value_equal(va, vb))
		return;
	bool secret = key_frames_secret(keys);
	buf_reset(&pr->path);
	key_path_of(keys, &pr->path);
	const char *key = pr->path.data;
	struct finding leaf = { .cls = F_DRIFT, .at_a = unit_place(pr->a, na), .at_b = unit_place(pr->b, nb) };
	struct finding *f = &leaf;
	if (!va || !vb) {
		f->cls = va ? F_PENDING : F_DRIFT;
		f->hint = va ? "not yet promoted" : "only in the later environment";
		if (allowed(pr, key))
			f->cls = F_ALLOWED;
	} else if (value_equal(va, vb)) {
		f->cls = F_EQUAL;
	} else if (allowed(pr, key)) {
		f->cls = F_ALLOWED;
	} else if (promoted(pr, key) && va->kind == VAL_STR && vb->kind == VAL_STR) {
		classify_versions(f, va->str.s, vb->str.s);
	} else {
		if (same_type(va, vb) && na && nb && same_definition(pr, na, nb, f, secret)) {
			f->cls = F_PARAMETERIZED;
		} else if (!same_type(va, vb)) {
			f->hint = "type changed";
		}
	}
	if (want_details(pr) || finding_is_error(f) || finding_is_note(f)) {
		f->value_a = shown(pr->arena, va, secret);
		f->value_b = shown(pr->arena, vb, secret);
	}
	keep_leaf(pr, f, key);
}

/* Keys one template gives in each env ("${env.name}-logs": dev-logs in
 * dev, prod-logs in prod) are one key, the template's: partner[i] is 1 +
 * the pair of vb that pair i of va stands for (0: none), taken[k] marks
 * vb's.  Only keys missing from the other map are paired; a map's
 * templates differ (the loader refuses a key written twice).  NULL when
 * there are none.  *key_nodes gets va's key nodes, which name the pairs. */
static size_t *pair_templated_keys(const struct pair *pr, const struct value *va, const struct value *vb,
				   bool **taken, const struct node *const **key_nodes)
{
	const struct node *const *ka = eval_key_nodes(pr->p, va), *const *kb = eval_key_nodes(pr->p, vb);
	size_t *partner = NULL;
	struct map templates;
	*taken = NULL;
	*key_nodes = ka;
	if (!ka || !kb)
		return NULL;
	map_init(&templates);
	for (size_t k = 0; k < vb->map.len; k++)
		if (kb[k]->has_expr && !value_map_get(va, vb->map.pairs[k].key))
			map_put(&templates, kb[k]->str.s, kb[k]->str.len, (void *)(uintptr_t)(k + 1));
	for (size_t i = 0; templates.len && i < va->map.len; i++) {
		if (!ka[i]->has_expr || value_map_get(vb, va->map.pairs[i].key))
			continue;
		uintptr_t k = (uintptr_t)map_get(&templates, ka[i]->str.s, ka[i]->str.len);
		if (!k)
			continue;
		if (!partner) {
			partner = xcalloc(va->map.len, sizeof(*partner));
			*taken = xcalloc(vb->map.len, sizeof(**taken));
		}
		partner[i] = k;
		(*taken)[k - 1] = true;
	}
	map_free(&templates);
	return partner;
}

/* Maps compare key by key; anything else is one leaf.  enc_a/enc_b are
 * the innermost expressions enclosing this point, if any. */
static void compare_values(struct pair *pr, const struct value *va, const struct value *vb, const struct node *enc_a,
			   const struct node *enc_b, const struct key_frame *keys)
{
	/* One value on both sides (a literal tree both units reach, a var
	 * of a shared account): equal all through, so no finding beneath. */
	if (va == vb && va && !keep_equal(pr))
		return;
	if (va && va->templated)
		enc_a = va->origin;
	if (vb && vb->templated)
		enc_b = vb->origin;
	if (va && vb && va->kind == VAL_MAP && vb->kind == VAL_MAP && !va->sensitive && !vb->sensitive) {
		bool *taken;
		const struct node *const *ka;
		size_t *partner = pair_templated_keys(pr, va, vb, &taken, &ka);
		size_t i = 0, k = 0;
		while (i < va->map.len || k < vb->map.len) {
			const struct value_pair *x = i < va->map.len ? &va->map.pairs[i] : NULL;
			const struct value_pair *y = k < vb->map.len ? &vb->map.pairs[k] : NULL;
			int c = !x ? 1 : !y ? -1 : strcmp(x->key, y->key);
			const struct value_pair *here = c <= 0 ? x : y;
			struct key_frame frame = { here->key, here->keylen, keys };
			bool paired = partner && (c < 0 ? partner[i] : c > 0 && taken[k]);
			if (!paired)
				compare_values(pr, c <= 0 ? x->value : NULL, c >= 0 ? y->value : NULL, enc_a, enc_b,
					       &frame);
			i += c <= 0;
			k += c >= 0;
		}
		/* Paired keys go by their template's text. */
		for (i = 0; partner && i < va->map.len; i++)
			if (partner[i]) {
				struct key_frame frame = { ka[i]->str.s, ka[i]->str.len, keys };
				compare_values(pr, va->map.pairs[i].value, vb->map.pairs[partner[i] - 1].value, enc_a,
					       enc_b, &frame);
			}
		free(partner);
		free(taken);
		return;
	}
	classify_leaf(pr, va, vb, va ? (enc_a ? enc_a : va->origin) : NULL, vb ? (enc_b ? enc_b : vb->origin) : NULL,
		      keys);
}

/* "git::https://host/repo.git//dir?ref=v1.4.0" -> address and ref. */
static void split_source(struct arena *a, const char *src, const char **addr, const char **ref)
{
	const char *q = strstr(src, "?ref=");
	if (!q)
		q = strstr(src, "&ref=");
	*ref = NULL;
	if (!q) {
		*addr = src;
		return;
	}
	const char *end = strchr(q + 5, '&');
	*ref = end ? arena_strndup(a, q + 5, (size_t)(end - q - 5)) : q + 5;
	*addr = arena_strndup(a, src, (size_t)(q - src));
}

/* Two local module folders ("//dev/app/m", "//prod/app/m") holding the
 * same files run the same module: an env's own copy is no drift until
 * it changes.  Terragrunt's "//" subdirectory marker must match. */
static bool same_module_folder(struct pair *pr, const char *addr_a, const char *addr_b)
{
	const char *sub_a = strstr(addr_a + 2, "//"), *sub_b = strstr(addr_b + 2, "//");
	if (!sub_a != !sub_b || (sub_a && strcmp(sub_a, sub_b)))
		return false;
	uint64_t ha, hb;
	pthread_mutex_lock(&pr->p->lock);	/* the source is shared */
	bool same = source_module_hash(&pr->p->src, addr_a, pr->p->limits.file_size, &ha) == SRC_OK &&
		    source_module_hash(&pr->p->src, addr_b, pr->p->limits.file_size, &hb) == SRC_OK && ha == hb;
	pthread_mutex_unlock(&pr->p->lock);
	return same;
}

static void compare_source(struct pair *pr)
{
	const char *sa = pr->a->source ? pr->a->source : "", *sb = pr->b->source ? pr->b->source : "";
	const struct node *na = node_map_get(pr->a->config, "source"), *nb = node_map_get(pr->b->config, "source");
	if (!strcmp(sa, sb) && !keep_equal(pr))
		return;
	struct finding *f = add(pr, F_EQUAL, "source");
	f->value_a = shown(pr->arena, value_cstr(pr->arena, sa), false);
	f->value_b = shown(pr->arena, value_cstr(pr->arena, sb), false);
	f->at_a = unit_place(pr->a, na);
	f->at_b = unit_place(pr->b, nb);
	if (!strcmp(sa, sb))
		return;
	const char *addr_a, *ref_a, *addr_b, *ref_b;
	split_source(pr->arena, sa, &addr_a, &ref_a);
	split_source(pr->arena, sb, &addr_b, &ref_b);
	/* Both local module folders (resolved as "//..."), never pinned. */
	bool local = !ref_a && !ref_b && !strncmp(addr_a, "//", 2) && !strncmp(addr_b, "//", 2);
	if (allowed(pr, "source"))
		f->cls = F_ALLOWED;
	else if (local && same_module_folder(pr, addr_a, addr_b))
		f->cls = F_EQUAL;
	else if (strcmp(addr_a, addr_b) || !ref_a || !ref_b) {
		f->cls = F_DRIFT;
		f->hint = "different module address";
		if (!strcmp(addr_a, addr_b))
			f->hint = "only one side pins a ref";
		else if (local)
			f->hint = "the module folders hold different files";
	} else {
		classify_versions(f, ref_a, ref_b);
	}
}

/* A dependency's target as a unit of either env sees it: a unit id of
 * the unit's own env, or "@shared/id" for a shared account's unit (the
 * same "vpc" there is another account's); a shared region reached by
 * the unit's own region counts as written, with no region. */
static const char *dep_target(struct arena *a, const struct unit *u, const struct dependency *d)
{
	if (!strcmp(d->target_env, u->env->label))
		return d->target_id;
	return arena_concat(a, "@", d->shared_name ? d->shared_name : d->target_env, "/", d->target_id, (char *)NULL);
}

/* The set of dependencies: names and targets, each env's own units
 * aligned as units are. */
static void compare_dependencies(struct pair *pr)
{
	for (int side = 0; side < 2; side++) {
		const struct unit *u = side ? pr->b : pr->a, *other = side ? pr->a : pr->b;
		for (size_t i = 0; i < u->ndeps; i++) {
			const struct dependency *d = &u->deps[i], *o = unit_dependency(other, d->name);
			if (side && o)
				continue;	/* compared from the earlier side */
			const char *mine = dep_target(pr->arena, u, d), *theirs = o ? dep_target(pr->arena, other, o) : NULL;
			bool same = theirs && !strcmp(mine, theirs);
			if (same && !keep_equal(pr))
				continue;
			const char *key = arena_printf(pr->arena, "dependencies.%s", d->name);
			const char *ta = side ? NULL : mine, *tb = side ? mine : theirs;
			struct finding *f = add(pr, same ? F_EQUAL : F_DRIFT, key);
			f->value_a = ta ? shown(pr->arena, value_cstr(pr->arena, ta), false) : NULL;
			f->value_b = tb ? shown(pr->arena, value_cstr(pr->arena, tb), false) : NULL;
			if (side) {
				f->at_b = unit_place(u, d->decl);
			} else {
				f->at_a = unit_place(u, d->decl);
				f->at_b = unit_place(other, o ? o->decl : NULL);
			}
			if (!same && allowed(pr, key))
				f->cls = F_ALLOWED;
			else if (!same && !o)
				f->cls = side ? F_DRIFT : F_PENDING;
		}
	}
}

static bool only_lists(const struct unit *u, const struct env *e)
{
	const struct node *only = unit_drift_list(u, "only");
	if (!only)
		return true;
	for (size_t i = 0; i < only->seq.len; i++)
		if (!strcmp(only->seq.items[i]->str.s, e->name) || !strcmp(only->seq.items[i]->str.s, e->label))
			return true;
	return false;
}

/* Where a whole unit is: its inputs, else the top of its unit.yaml. */
static struct place unit_anchor(struct project *p, const struct unit *u)
{
	const struct node *inputs = node_map_get(u->config, "inputs");
	if (inputs)
		return unit_place(u, inputs);
	struct loaded_file *f = project_load(p, u->file, NULL, 0);
	return unit_place(u, f ? f->root : NULL);
}

/* A unit on one side only: pending when not yet promoted, drift when a
 * later env has a unit the earlier lacks, allowed when drift.only says
 * the unit lives only there on purpose or an allow list names its key
 * path, "(unit)". */
static void compare_missing(struct pair *pr)
{
	const struct unit *u = pr->a ? pr->a : pr->b;
	const struct env *absent = pr->a ? pr->eb : pr->ea;
	struct finding *f = add(pr, pr->a ? F_PENDING : F_DRIFT, "(unit)");
	f->value_a = pr->a ? "present" : NULL;
	f->value_b = pr->b ? "present" : NULL;
	if (pr->a)
		f->at_a = unit_anchor(pr->p, pr->a);
	if (pr->b)
		f->at_b = unit_anchor(pr->p, pr->b);
	f->hint = pr->a ? "not yet promoted" : "only in the later environment: a skipped promotion";
	if (!only_lists(u, absent) || allowed(pr, "(unit)"))
		f->cls = F_ALLOWED;
}

static bool unit_selected(const struct drift_scope *scope, const char *id)
{
	if (!scope || !scope->nunits)
		return true;
	for (size_t i = 0; i < scope->nunits; i++)
		if (glob_match(scope->units[i], id))
			return true;
	return false;
}

/* One unit in two envs (or in one of them). */
static void compare_units(struct pair *pr)
{
	find_lists(pr);
	if (!pr->a || !pr->b) {
		compare_missing(pr);
		return;
	}
	compare_source(pr);
	compare_dependencies(pr);
	pr->path = (struct buf)BUF_INIT;
	compare_values(pr, pr->a->inputs, pr->b->inputs, NULL, NULL, NULL);
	buf_free(&pr->path);
}

/* Calls fn for every selected unit of a and b, aligned by id. */
static void align_units(const struct env *a, const struct env *b, const struct drift_scope *scope,
			void (*fn)(void *ctx, struct unit *x, struct unit *y), void *ctx)
{
	size_t i = 0, k = 0;
	while (i < a->nunits || k < b->nunits) {
		struct unit *x = i < a->nunits ? a->units[i] : NULL, *y = k < b->nunits ? b->units[k] : NULL;
		int c = !x ? 1 : !y ? -1 : strcmp(x->id, y->id);
		i += c <= 0;
		k += c >= 0;
		if (c > 0)
			x = NULL;
		if (c < 0)
			y = NULL;
		if (unit_selected(scope, x ? x->id : y->id))
			fn(ctx, x, y);
	}
}

static void compare_now(void *ctx, struct unit *x, struct unit *y)
{
	struct pair *pr = ctx;
	pr->a = x;
	pr->b = y;
	compare_units(pr);
}

/* drift_pair on the calling thread. */
static void compare_pair(struct project *p, struct env *a, struct env *b, const struct drift_scope *scope,
			 struct findings *out)
{
	struct define_scratch scratch = { 0 };
	struct pair pr = {
		.p = p, .ea = a, .eb = b, .scope = scope, .out = out, .arena = &p->arena, .definitions = &p->definitions,
		.scratch = &scratch,
	};
	align_units(a, b, scope, compare_now, &pr);
	define_scratch_free(&scratch);
}

static bool env_selected(const struct drift_scope *scope, const struct env *a, const struct env *b)
{
	if (!scope || !scope->nenvs)
		return true;
	for (size_t i = 0; i < scope->nenvs; i++) {
		const char *e = scope->envs[i];
		if (!strcmp(e, a->label) || !strcmp(e, a->name) || !strcmp(e, b->label) || !strcmp(e, b->name))
			return true;
	}
	return false;
}

/* The region of prev to compare e with: the same region if prev has it,
 * else prev's first region (its canary). */
static struct env *counterpart(struct project *p, size_t prev_first, const struct env *e)
{
	struct env *first = p->envs[prev_first];
	for (size_t i = prev_first; i < p->nenvs && p->envs[i]->decl == first->decl; i++)
		if (!strcmp(p->envs[i]->region, e->region))
			return p->envs[i];
	return first;
}

/* ---- the chain, on one thread or on all ---- */

/* A drift over many units, lean, runs on every worker: each compares
 * its units into findings of its own with an arena and a definitions
 * cache of its own, and the findings are joined in the order one thread
 * would have made them.  Only lean scopes qualify: the knob hints of
 * detailed findings evaluate expressions, which is not thread-safe. */
struct drift_task {
	struct unit *a, *b;
	struct env *ea, *eb;
	struct findings_share share;
};

/* What one worker of drift_in_parallel writes. */
struct drift_worker {
	PARALLEL_OWN_LINE struct map definitions;	/* define_node_in's cache */
	struct define_scratch scratch;
	struct findings found;
};

struct drift_plan {
	struct project *p;
	const struct drift_scope *scope;
	struct drift_task *tasks;
	size_t n, cap;
	struct env *ea, *eb;	/* of the pair being planned */
	struct drift_worker *workers;
	struct worker_arena *arenas;
};

static void plan_task(void *ctx, struct unit *x, struct unit *y)
{
	struct drift_plan *dp = ctx;
	if (dp->n == dp->cap)
		dp->tasks = xrealloc(dp->tasks, (dp->cap = dp->cap ? dp->cap * 2 : 256) * sizeof(*dp->tasks));
	dp->tasks[dp->n++] = (struct drift_task){ .a = x, .b = y, .ea = dp->ea, .eb = dp->eb };
}

static void run_task(void *ctx, size_t i, struct arena *arena)
{
	struct drift_plan *dp = ctx;
	struct drift_task *t = &dp->tasks[i];
	unsigned w = parallel_worker();
	struct drift_worker *mine = &dp->workers[w];
	struct pair pr = {
		.p = dp->p, .a = t->a, .b = t->b, .ea = t->ea, .eb = t->eb, .scope = dp->scope,
		.out = &mine->found, .arena = arena, .definitions = &mine->definitions, .scratch = &mine->scratch,
	};
	findings_share_begin(&t->share, w, &mine->found);
	compare_units(&pr);
	findings_share_end(&t->share, &mine->found);
}

typedef void pair_fn(struct project *p, struct env *a, struct env *b, const struct drift_scope *scope,
		     void *ctx);

static void plan_pair(struct project *p, struct env *a, struct env *b, const struct drift_scope *scope, void *ctx)
{
	struct drift_plan *dp = ctx;
	(void)p;
	dp->ea = a;
	dp->eb = b;
	align_units(a, b, scope, plan_task, dp);
}

static void each_pair(struct project *p, const struct drift_scope *scope, pair_fn *fn, void *ctx);

static void run_pair(struct project *p, struct env *a, struct env *b, const struct drift_scope *scope, void *ctx)
{
	compare_pair(p, a, b, scope, ctx);
}

/* Runs the tasks of the pair a, b (a NULL: of the chain) on every worker.
 * False, with out untouched, when there is one thread or one unit, or
 * when a template failed to parse on the way (its error must be
 * reported): the caller compares on one thread. */
static bool drift_in_parallel(struct project *p, const struct drift_scope *scope, struct env *a, struct env *b,
			      struct findings *out)
{
	unsigned jobs = parallel_jobs(p->jobs);
	if (jobs < 2 || p->nunits < 2)
		return false;
	struct drift_plan dp = { .p = p, .scope = scope };
	if (a)
		plan_pair(p, a, b, scope, &dp);
	else
		each_pair(p, scope, plan_pair, &dp);
	dp.arenas = project_worker_arenas(p, jobs);
	dp.workers = parallel_calloc(jobs, sizeof(*dp.workers));
	size_t failures = p->template_failures;
	parallel_for(dp.n, jobs, dp.arenas, run_task, &dp);
	bool ok = p->template_failures == failures;
	for (size_t i = 0; ok && i < dp.n; i++)
		findings_append_share(out, &dp.workers[dp.tasks[i].share.worker].found, &dp.tasks[i].share);
	for (unsigned w = 0; w < jobs; w++) {
		struct drift_worker *dw = &dp.workers[w];
		if (ok) {
			out->unlisted_parameterized += dw->found.unlisted_parameterized;
			out->unlisted_allowed += dw->found.unlisted_allowed;
		}
		map_free(&dw->definitions);
		define_scratch_free(&dw->scratch);
		findings_free(&dw->found);
	}
	free(dp.workers);
	free(dp.tasks);
	return ok;
}

void drift_chain(struct project *p, const struct drift_scope *scope, struct findings *out)
{
	if (!scope || !scope->lean || !drift_in_parallel(p, scope, NULL, NULL, out))
		each_pair(p, scope, run_pair, out);
}

/* Every worker, lean or not: a report's knob hints evaluate in a unit's
 * scope (which may load its dependency's outputs), and one pair holds
 * each unit once, so no two workers touch a unit.  (A chain holds its
 * middle envs twice: drift_chain keeps details on one thread.) */
void drift_pair(struct project *p, struct env *a, struct env *b, const struct drift_scope *scope,
		struct findings *out)
{
	if (!drift_in_parallel(p, scope, a, b, out))
		compare_pair(p, a, b, scope, out);
}

/* Calls fn for each pair of envs the promotion chain compares. */
static void each_pair(struct project *p, const struct drift_scope *scope, pair_fn *fn, void *ctx)
{
	size_t prev_first = (size_t)-1;
	for (size_t i = 0; i < p->nenvs;) {
		struct env *canary = p->envs[i];
		if (canary->is_shared)
			break;
		size_t end = i;
		while (end < p->nenvs && p->envs[end]->decl == canary->decl)
			end++;
		for (size_t r = i; r < end; r++) {
			struct env *e = p->envs[r];
			if (prev_first != (size_t)-1) {
				struct env *a = counterpart(p, prev_first, e);
				if (env_selected(scope, a, e))
					fn(p, a, e, scope, ctx);
			}
			if (r > i && env_selected(scope, canary, e))
				fn(p, canary, e, scope, ctx);
		}
		prev_first = i;
		i = end;
	}
}
