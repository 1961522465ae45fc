/* eval.c - from merged nodes to values, with expressions. */
#include "eval.h"
#include "builtins.h"
#include "schema.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum local_state { LOCAL_NEW, LOCAL_BUSY, LOCAL_DONE, LOCAL_FAILED };

struct local_slot {
	const char *name;
	const struct node *def;
	struct value *value;
	enum local_state state;
};

struct scope {
	struct project *p;	/* NULL when evaluating bare text */
	struct unit *u;
	struct arena *arena;
	const struct limits *lim;
	const struct value *context;	/* roots for bare text; else NULL */
	const struct node *locals;	/* the locals map of this config */
	struct map slots;		/* local name -> struct local_slot */
	/* The slots, one per entry of locals, all made on first use
	 * (index_locals): they live as long as the scope, so they are not
	 * the arena's (at 30,000 units, 7 MB of fresh memory). */
	struct local_slot *slot_pool;
	const char *stack[64];		/* locals being evaluated, for cycles */
	size_t nstack;
	struct map includes;		/* include "as" -> struct value */
	struct value *unit_v;	/* unit.*, built once */
	size_t depth;
	struct value_budget budget;	/* left to containers expressions make */
};

static void scope_init(struct scope *s, struct project *p, struct unit *u)
{
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->u = u;
	s->arena = &p->arena;
	s->lim = &p->limits;
	s->budget = (struct value_budget){ s->lim->nodes, s->lim->string_size };
	s->locals = node_map_get(u->config, "locals");
	map_init(&s->slots);
	map_init(&s->includes);
}

static void scope_free(struct scope *s)
{
	free(s->slot_pool);
	map_free(&s->slots);
	map_free(&s->includes);
}

/* Where an expression is written: its scalar and the scalar's template. */
struct site {
	const struct expr_origin *origin;
	const struct node *node;
	const struct expr *root;	/* the whole scalar's template */
};

static struct value *eval_expr(struct scope *s, const struct site *at, const struct expr *e);
static struct value *eval_node(struct scope *s, const struct node *n);

static const char *const roots[] = {
	"env", "envs", "var", "local", "unit", "project", "include", "dependency", NULL,
};

static const struct srcfile *site_file(const struct site *at)
{
	return at->node ? at->node->file : NULL;
}

/* site_file for what outlives the unit's evaluation (a mock use) or
 * names a folder (a call's): reports are mapped by diag_alias. */
static const struct srcfile *site_file_of(const struct scope *s, const struct site *at)
{
	if (!at->node)
		return NULL;
	return s->u ? unit_node_file(s->u, at->node) : at->node->file;
}

static size_t site_off(const struct site *at, const struct expr *e)
{
	return expr_file_offset(at->origin, e);
}

/* Reports at the expression; returns NULL so callers can return it. */
__attribute__((format(printf, 3, 4)))
static struct value *eval_error(const struct site *at, const struct expr *e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(site_file(at), site_off(at, e), "%s", msg);
	return NULL;
}

static struct value *copy_value(struct arena *a, const struct value *v)
{
	struct value *c = ARENA_NEW(a, struct value);
	*c = *v;
	return c;
}

static struct value *mark_sensitive(struct arena *a, struct value *v, bool sensitive)
{
	if (!sensitive || !v || v->sensitive)
		return v;
	v = copy_value(a, v);
	v->sensitive = true;
	return v;
}

/* ---- numbers ---- */

static bool is_number(const struct value *v)
{
	return v->kind == VAL_INT || v->kind == VAL_FLOAT;
}

static double as_double(const struct value *v)
{
	return v->kind == VAL_INT ? (double)v->i : v->f;
}

static struct value *make_number(struct scope *s, const struct site *at, const struct expr *e, double d)
{
	if (isnan(d) || isinf(d))
		return eval_error(at, e, "result is not a finite number");
	if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
		return value_int(s->arena, (int64_t)d, NULL);
	return value_float(s->arena, d, NULL);
}

/* An int, or a float holding a whole number within int64. */
static bool whole(const struct value *v, int64_t *out)
{
	if (v->kind == VAL_INT) {
		*out = v->i;
		return true;
	}
	if (v->kind != VAL_FLOAT || v->f != floor(v->f) || v->f < -9223372036854775808.0 ||
	    v->f >= 9223372036854775808.0)
		return false;
	*out = (int64_t)v->f;
	return true;
}

static struct value *int_arith(struct scope *s, const struct site *at, const struct expr *e,
			       int64_t a, int64_t b)
{
	int64_t r = 0;
	bool overflow = false;
	switch (e->op) {
	case OP_ADD: overflow = __builtin_add_overflow(a, b, &r); break;
	case OP_SUB: overflow = __builtin_sub_overflow(a, b, &r); break;
	case OP_MUL: overflow = __builtin_mul_overflow(a, b, &r); break;
	case OP_MOD:
		if (b == 0)
			return eval_error(at, e, "modulo by zero");
		r = b == -1 ? 0 : a % b;
		break;
	default: break;
	}
	if (overflow)
		return eval_error(at, e, "integer overflow in '%s'", e->op == OP_ADD ? "+" : e->op == OP_SUB ? "-" : "*");
	return value_int(s->arena, r, NULL);
}

static struct value *arith(struct scope *s, const struct site *at, const struct expr *e,
			   const struct value *x, const struct value *y)
{
	static const char *names[] = { [OP_MUL] = "*", [OP_DIV] = "/", [OP_MOD] = "%", [OP_ADD] = "+", [OP_SUB] = "-" };
	if (!is_number(x) || !is_number(y))
		return eval_error(at, e, "operator '%s' needs numbers, not %s and %s", names[e->op],
				  value_kind_name(x->kind), value_kind_name(y->kind));
	if (e->op == OP_DIV) {
		if (as_double(y) == 0)
			return eval_error(at, e, "division by zero");
		if (x->kind == VAL_INT && y->kind == VAL_INT && x->i == INT64_MIN && y->i == -1)
			return eval_error(at, e, "integer overflow in '/'");
		/* INT64_MIN % -1 would overflow too: the test above comes first. */
		if (x->kind == VAL_INT && y->kind == VAL_INT && y->i != 0 &&
		    !(x->i == INT64_MIN && y->i == -1) && x->i % y->i == 0)
			return value_int(s->arena, x->i / y->i, NULL);
		return make_number(s, at, e, as_double(x) / as_double(y));
	}
	if (e->op == OP_MOD) {
		int64_t a, b;
		if (!whole(x, &a) || !whole(y, &b))
			return eval_error(at, e, "operator '%%' needs integers");
		return int_arith(s, at, e, a, b);
	}
	if (x->kind == VAL_INT && y->kind == VAL_INT)
		return int_arith(s, at, e, x->i, y->i);
	double a = as_double(x), b = as_double(y);
	return make_number(s, at, e, e->op == OP_ADD ? a + b : e->op == OP_SUB ? a - b : a * b);
}

static struct value *compare(struct scope *s, const struct site *at, const struct expr *e,
			     const struct value *x, const struct value *y)
{
	if (e->op == OP_EQ || e->op == OP_NE)
		return value_bool(s->arena, value_equal(x, y) == (e->op == OP_EQ), NULL);
	if (!is_number(x) || !is_number(y))
		return eval_error(at, e, "comparison needs numbers, not %s and %s",
				  value_kind_name(x->kind), value_kind_name(y->kind));
	bool r;
	if (x->kind == VAL_INT && y->kind == VAL_INT)
		r = e->op == OP_LT ? x->i < y->i : e->op == OP_LE ? x->i <= y->i : e->op == OP_GT ? x->i > y->i : x->i >= y->i;
	else {
		double a = as_double(x), b = as_double(y);
		r = e->op == OP_LT ? a < b : e->op == OP_LE ? a <= b : e->op == OP_GT ? a > b : a >= b;
	}
	return value_bool(s->arena, r, NULL);
}

/* ---- operators ---- */

/* v, the value of e (NULL after an error), as a bool in *out. */
static struct value *as_bool(const struct site *at, const struct expr *e, struct value *v, bool *out,
			     const char *what)
{
	if (v && v->kind != VAL_BOOL)
		return eval_error(at, e, "%s needs a bool, not a %s", what, value_kind_name(v->kind));
	if (v)
		*out = v->b;
	return v;
}

static struct value *eval_bool(struct scope *s, const struct site *at, const struct expr *e, bool *out,
			       const char *what)
{
	return as_bool(at, e, eval_expr(s, at, e), out, what);
}

/* e's operator with its left operand evaluated (vx). */
static struct value *eval_logic(struct scope *s, const struct site *at, const struct expr *e, struct value *vx)
{
	bool x = false, y = false;	/* set with the value */
	const char *what = e->op == OP_AND ? "'&&'" : "'||'";
	if (!as_bool(at, e->ops.x, vx, &x, what))
		return NULL;
	/* Lazy: the right side is not evaluated when the left decides. */
	if ((e->op == OP_AND && !x) || (e->op == OP_OR && x))
		return mark_sensitive(s->arena, value_bool(s->arena, x, NULL), vx->sensitive);
	struct value *vy = eval_bool(s, at, e->ops.y, &y, what);
	if (!vy)
		return NULL;
	return mark_sensitive(s->arena, value_bool(s->arena, y, NULL), vx->sensitive || vy->sensitive);
}

static struct value *eval_unary(struct scope *s, const struct site *at, const struct expr *e)
{
	struct value *x = eval_expr(s, at, e->ops.x);
	if (!x)
		return NULL;
	struct value *r;
	if (e->op == OP_NOT) {
		if (x->kind != VAL_BOOL)
			return eval_error(at, e, "'!' needs a bool, not a %s", value_kind_name(x->kind));
		r = value_bool(s->arena, !x->b, NULL);
	} else if (x->kind == VAL_INT) {
		if (x->i == INT64_MIN)
			return eval_error(at, e, "integer overflow in '-'");
		r = value_int(s->arena, -x->i, NULL);
	} else if (x->kind == VAL_FLOAT) {
		r = value_float(s->arena, -x->f, NULL);
	} else {
		return eval_error(at, e, "'-' needs a number, not a %s", value_kind_name(x->kind));
	}
	return mark_sensitive(s->arena, r, x->sensitive);
}

/* e's operator with its left operand evaluated (x). */
static struct value *eval_operator(struct scope *s, const struct site *at, const struct expr *e, struct value *x)
{
	if (e->op == OP_AND || e->op == OP_OR)
		return eval_logic(s, at, e, x);
	struct value *y = eval_expr(s, at, e->ops.y);
	if (!y)
		return NULL;
	struct value *r = e->op >= OP_EQ ? compare(s, at, e, x, y) : arith(s, at, e, x, y);
	return mark_sensitive(s->arena, r, x->sensitive || y->sensitive);
}

/* A chain of operators from the leftmost operand up, in a loop. */
static struct value *eval_binary(struct scope *s, const struct site *at, const struct expr *e)
{
	struct expr_chain chain;
	expr_chain_of(e, &chain);
	struct value *v = eval_expr(s, at, chain.op[0]->ops.x);
	for (size_t i = 0; v && i < chain.n; i++)
		v = eval_operator(s, at, chain.op[i], v);
	expr_chain_free(&chain);
	return v;
}

static struct value *eval_cond(struct scope *s, const struct site *at, const struct expr *e)
{
	bool c = false;	/* set with the value */
	struct value *vc = eval_bool(s, at, e->ops.x, &c, "a condition");
	if (!vc)
		return NULL;
	struct value *r = eval_expr(s, at, c ? e->ops.y : e->ops.z);
	return r ? mark_sensitive(s->arena, r, vc->sensitive) : NULL;
}

/* ---- templates ---- */

/* A string, number or bool as template text; false for the others. */
static bool scalar_text(const struct value *v, struct buf *out)
{
	char num[400];
	switch (v->kind) {
	case VAL_STR: buf_add(out, v->str.s, v->str.len); return true;
	case VAL_INT: buf_add_int(out, v->i); return true;
	case VAL_FLOAT:
		format_double(v->f, num, sizeof(num));
		buf_puts(out, num);
		return true;
	case VAL_BOOL: buf_puts(out, v->b ? "true" : "false"); return true;
	default: return false;
	}
}

static bool append_text(struct scope *s, const struct site *at, const struct expr *e,
			const struct value *v, struct buf *out)
{
	if (!scalar_text(v, out)) {
		if (v->kind == VAL_NULL)
			eval_error(at, e, "null cannot be interpolated into a string");
		else
			eval_error(at, e, "a %s cannot be interpolated into a string", value_kind_name(v->kind));
		return false;
	}
	if (out->len > s->lim->string_size) {
		eval_error(at, e, "string result exceeds the limit of %zu bytes", s->lim->string_size);
		return false;
	}
	return true;
}

static struct value *eval_template(struct scope *s, const struct site *at, const struct expr *e)
{
	const struct expr *single = template_single(e);
	if (single && e == at->root)
		return eval_expr(s, at, single);
	struct buf out = BUF_INIT;
	bool sensitive = false;
	struct value *r = NULL;
	for (size_t i = 0; i < e->tmpl.len; i++) {
		const struct template_part *part = &e->tmpl.parts[i];
		if (!part->expr) {
			buf_add(&out, part->text, part->len);
			continue;
		}
		struct value *v = eval_expr(s, at, part->expr);
		if (!v || !append_text(s, at, part->expr, v, &out))
			goto out;
		sensitive |= v->sensitive;
	}
	/* The whole scalar's template: its fresh result is the scalar's value,
	 * stamped here rather than copied by eval_string (155,000 copies at
	 * 30,000 units). */
	r = value_str(s->arena, arena_strndup(s->arena, buf_cstr(&out), out.len), out.len,
		      e == at->root ? at->node : NULL);
	r->sensitive = sensitive;
out:
	buf_free(&out);
	return r;
}

/* ---- references ---- */

/* "map 'E' has no WHAT 'KEY'", with a did-you-mean from map's keys
 * unless no_hint (a sensitive map or key: no key of the map is shown). */
static struct value *suggest_missing(struct scope *s, const struct site *at, const struct expr *e,
				     const struct value *map, const char *key, const char *what, bool no_hint)
{
	const char **names = xcalloc(map->map.len + 1, sizeof(char *));
	for (size_t i = 0; i < map->map.len && !no_hint; i++)
		names[i] = map->map.pairs[i].key;
	const char *hint = no_hint ? NULL : schema_suggest(key, names);
	struct buf obj = BUF_INIT;
	expr_print(e, &obj);
	if (hint)
		eval_error(at, e, "%s '%s' has no %s '%s'; did you mean '%s'?", "map", obj.data, what, key, hint);
	else
		eval_error(at, e, "%s '%s' has no %s '%s'", "map", obj.data, what, key);
	buf_free(&obj);
	free(names);
	(void)s;
	return NULL;
}

/* obj's attribute key; secret: the key is a sensitive value, which no
 * message may print (nor, from a sensitive map, a key to suggest). */
static struct value *get_key(struct scope *s, const struct site *at, const struct expr *e,
			     const struct value *obj, const struct expr *obj_expr, const char *key, bool secret)
{
	if (obj->kind != VAL_MAP) {
		struct buf text = BUF_INIT;
		expr_print(obj_expr, &text);
		eval_error(at, e, "'%s' is a %s, not a map: it has no attribute '%s'", text.data,
			   value_kind_name(obj->kind), key);
		buf_free(&text);
		return NULL;
	}
	struct value *v = value_map_get(obj, key);
	if (!v)
		return suggest_missing(s, at, obj_expr, obj, secret ? "(sensitive)" : key, "key", secret || obj->sensitive);
	return mark_sensitive(s->arena, v, obj->sensitive || secret);
}

static struct value *get_attr(struct scope *s, const struct site *at, const struct expr *e,
			      const struct value *obj, const struct expr *obj_expr, const char *key)
{
	return get_key(s, at, e, obj, obj_expr, key, false);
}

static struct value *eval_index(struct scope *s, const struct site *at, const struct expr *e)
{
	struct value *obj = eval_expr(s, at, e->index.obj);
	struct value *ix = obj ? eval_expr(s, at, e->index.index) : NULL;
	if (!ix)
		return NULL;
	if (obj->kind == VAL_MAP) {
		if (ix->kind != VAL_STR)
			return eval_error(at, e->index.index, "a map index must be a string, not a %s",
					  value_kind_name(ix->kind));
		return get_key(s, at, e, obj, e->index.obj, ix->str.s, ix->sensitive);
	}
	if (obj->kind != VAL_LIST)
		return eval_error(at, e, "a %s cannot be indexed", value_kind_name(obj->kind));
	int64_t i;
	if (!whole(ix, &i))
		return eval_error(at, e->index.index, "a list index must be a whole number, not a %s",
				  value_kind_name(ix->kind));
	if ((i < 0 || (uint64_t)i >= obj->list.len) && (ix->sensitive || obj->sensitive))
		return eval_error(at, e->index.index, "index (sensitive) is out of range for the list");
	if (i < 0 || (uint64_t)i >= obj->list.len)
		return eval_error(at, e->index.index, "index %lld is out of range for a list of %zu",
				  (long long)i, obj->list.len);
	return mark_sensitive(s->arena, obj->list.items[i], obj->sensitive || ix->sensitive);
}

/* ---- locals ---- */

/* The slots of all the locals, on first use: one pass over the map, so
 * a config with a thousand locals (each evaluated, each looked up)
 * finds them by hash, not by a scan of the map per name (6,000 units
 * sharing 1,000 locals: 11.4 s of validate in strcmp).  A hash, not
 * node_map_find's bsearch of an indexed map: on those 6,000 units the
 * bsearch took 0.15 s more. */
static void index_locals(struct scope *s)
{
	size_t n = s->locals->kind == NODE_MAP ? s->locals->map.len : 0;
	s->slot_pool = xcalloc(n, sizeof(*s->slot_pool));
	map_reserve(&s->slots, n);
	for (size_t i = 0; i < n; i++) {
		struct local_slot *slot = &s->slot_pool[i];
		slot->name = s->locals->map.pairs[i].key->str.s;
		slot->def = s->locals->map.pairs[i].value;
		map_put(&s->slots, slot->name, strlen(slot->name), slot);
	}
}

/* The local at position i of locals. */
static struct local_slot *local_slot_at(struct scope *s, size_t i)
{
	if (!s->slot_pool)
		index_locals(s);
	return &s->slot_pool[i];
}

static struct local_slot *local_slot(struct scope *s, const char *name)
{
	if (!s->locals)
		return NULL;
	if (!s->slot_pool)
		index_locals(s);
	return map_get(&s->slots, name, strlen(name));
}

static struct value *report_local_cycle(struct scope *s, const struct site *at, const struct expr *e,
					const char *name)
{
	struct buf chain = BUF_INIT;
	size_t start = 0;
	while (start < s->nstack && strcmp(s->stack[start], name))
		start++;
	for (size_t i = start; i < s->nstack; i++)
		buf_printf(&chain, "local.%s -> ", s->stack[i]);
	buf_printf(&chain, "local.%s", name);
	eval_error(at, e, "locals cycle: %s", chain.data);
	buf_free(&chain);
	return NULL;
}

/* The local's value, evaluated on first use. */
static struct value *eval_slot(struct scope *s, const struct site *at, const struct expr *e,
			       struct local_slot *slot)
{
	switch (slot->state) {
	case LOCAL_DONE: return slot->value;
	case LOCAL_FAILED: return NULL;
	case LOCAL_BUSY: return report_local_cycle(s, at, e, slot->name);
	case LOCAL_NEW: break;
	}
	if (s->nstack == sizeof(s->stack) / sizeof(*s->stack))
		return eval_error(at, e, "locals nested more than %zu deep", s->nstack);
	slot->state = LOCAL_BUSY;
	s->stack[s->nstack++] = slot->name;
	slot->value = eval_node(s, slot->def);
	s->nstack--;
	slot->state = slot->value ? LOCAL_DONE : LOCAL_FAILED;
	return slot->value;
}

static struct value *eval_local(struct scope *s, const struct site *at, const struct expr *e,
				const char *name)
{
	struct local_slot *slot = local_slot(s, name);
	if (slot)
		return eval_slot(s, at, e, slot);
	const char *names[256] = { 0 };
	for (size_t i = 0; s->locals && i < s->locals->map.len && i < 255; i++)
		names[i] = s->locals->map.pairs[i].key->str.s;
	const char *hint = schema_suggest(name, names);
	return eval_error(at, e, "unknown local 'local.%s'%s%s%s", name, hint ? "; did you mean 'local." : "",
			  hint ? hint : "", hint ? "'?" : "");
}

static struct value *eval_all_locals(struct scope *s, const struct site *at, const struct expr *e)
{
	size_t n = s->locals ? s->locals->map.len : 0;
	struct value *m = value_map_room(s->arena, n);
	for (size_t i = 0; i < n; i++) {
		const char *name = s->locals->map.pairs[i].key->str.s;
		struct value *v = eval_slot(s, at, e, local_slot_at(s, i));
		if (!v)
			return NULL;
		value_map_add(m, name, v);
	}
	value_map_sort(m);
	return m;
}

/* ---- includes exposed with 'as' ---- */

/* include.AS names no include: suggest one of the unit's 'as' names. */
static struct value *missing_include(struct scope *s, const struct site *at, const struct expr *e, const char *as)
{
	const struct map *exposed = s->u ? &s->u->exposed : NULL;
	const char **names = xcalloc((exposed ? exposed->len : 0) + 1, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; exposed && i < exposed->cap; i++)
		if (exposed->slots[i].key)
			names[n++] = exposed->slots[i].key;
	const char *hint = schema_suggest(as, names);
	if (hint)
		eval_error(at, e, "no include named '%s'; did you mean '%s'?", as, hint);
	else
		eval_error(at, e, "no include named '%s' (give an include entry 'as: %s')", as, as);
	free(names);
	return NULL;
}

static struct value *eval_include(struct scope *s, const struct site *at, const struct expr *e,
				  const char *as)
{
	struct value *cached = map_get(&s->includes, as, strlen(as));
	if (cached)
		return cached;
	struct node *config = s->u ? map_get(&s->u->exposed, as, strlen(as)) : NULL;
	if (!config)
		return missing_include(s, at, e, as);
	/* The include's own locals, evaluated in the unit's context. */
	struct scope sub = { .p = s->p, .u = s->u, .arena = s->arena, .lim = s->lim,
			     .locals = node_map_get(config, "locals"), .depth = s->depth };
	map_init(&sub.slots);
	map_init(&sub.includes);
	struct value *v = eval_node(&sub, config);
	scope_free(&sub);
	if (v)
		map_put(&s->includes, as, strlen(as), v);
	return v;
}

/* ---- dependencies ---- */

static struct dependency *find_dependency(struct scope *s, const struct site *at, const struct expr *e,
					  const char *name)
{
	struct dependency *d = s->u ? unit_dependency(s->u, name) : NULL;
	if (d)
		return d;
	const char *names[256] = { 0 };
	for (size_t i = 0; s->u && i < s->u->ndeps && i < 255; i++)
		names[i] = s->u->deps[i].name;
	const char *hint = schema_suggest(name, names);
	eval_error(at, e, "unknown dependency '%s'%s%s%s", name, hint ? "; did you mean '" : "",
		   hint ? hint : "", hint ? "'?" : "");
	return NULL;
}

/* terraform output -json: {"name": {"value": V, "type": T, "sensitive": B}} */
static struct value *outputs_from_file(struct scope *s, const struct loaded_file *f)
{
	const struct node *doc = f->root;
	if (doc->kind != NODE_MAP) {
		diag_error(doc->file, doc->off, "outputs file must be a JSON object (terraform output -json)");
		return NULL;
	}
	struct value *m = value_map_room(s->arena, doc->map.len);
	for (size_t i = 0; i < doc->map.len; i++) {
		const struct node *entry = doc->map.pairs[i].value;
		const struct node *value = node_map_get(entry, "value");
		const struct node *sensitive = node_map_get(entry, "sensitive");
		if (!value) {
			diag_error(entry->file, entry->off, "output '%s' has no \"value\" (expected terraform output -json format)",
				   doc->map.pairs[i].key->str.s);
			return NULL;
		}
		struct value *v = value_from_node(s->arena, value);
		v->sensitive = sensitive && sensitive->kind == NODE_BOOL && node_bool(sensitive);
		value_map_add(m, doc->map.pairs[i].key->str.s, v);
	}
	value_map_sort(m);
	return m;
}

/* Looks for the outputs file of t, the target of a dependency (the DAG
 * phase found every target before evaluation), and makes it into values,
 * once for all its dependants: each of them looked for the file again.
 * Under project.lock. */
static void look_for_outputs(struct scope *s, struct unit *t)
{
	if (t->outputs_looked)
		return;
	const char *path = arena_concat(s->arena, s->p->outputs_dir, "/", t->env->label, "/", t->id, ".json", (char *)NULL);
	t->outputs_exist = source_kind(&s->p->work, path) != SRC_MISSING;
	struct loaded_file *f = t->outputs_exist ? project_load_outputs(s->p, path) : NULL;
	t->outputs = f ? outputs_from_file(s, f) : NULL;
	t->outputs_looked = true;
}

/* The outputs of d's outputs file, loaded on first use; NULL when the
 * file is bad (reported once) or when there is none: then d->mocked is
 * set and mock_output serves. */
static struct value *dependency_outputs(struct scope *s, struct dependency *d)
{
	if (d->outputs || d->outputs_failed || d->mocked)
		return d->outputs;	/* a bad outputs file is reported once */
	/* The source and the file cache are shared with other workers.  A
	 * bad file is reported here, once, even on a worker: the load is
	 * cached and a redo on one thread would not report it again. */
	pthread_mutex_lock(&s->p->lock);
	bool muted = diag_mute(false);
	look_for_outputs(s, d->target);
	bool exists = d->target->outputs_exist;
	diag_mute(muted);
	pthread_mutex_unlock(&s->p->lock);
	if (exists) {
		d->outputs = d->target->outputs;
		d->outputs_failed = !d->outputs;
		return d->outputs;
	}
	d->mocked = true;
	return NULL;
}

static struct value *literal_value(struct scope *s, const struct node *n);

/* mock_outputs.KEY of d as written, or NULL.  Made when read: a unit
 * reads one or two of each dependency's mocks, and the whole map made
 * for each dependency of each unit was 16 MB of fresh memory at 30,000
 * units, a tenth of a drift's values. */
static struct value *mock_output(struct scope *s, const struct dependency *d, const char *key)
{
	const struct node *n = node_map_get(node_map_get(d->decl, "mock_outputs"), key);
	if (!n)
		return NULL;
	struct value *v = literal_value(s, n);
	return v ? v : value_from_node(s->arena, n);
}

static void record_mock_ref(struct scope *s, const struct site *at, const struct expr *e, const char *dependency,
			    const char *key, const char *via)
{
	if (!s->p || !s->p->mock_reads)
		return;
	struct mock_use *m = ARENA_NEW(s->arena, struct mock_use);
	m->dependency = dependency;
	m->key = key;
	m->via = via;
	m->file = site_file_of(s, at);
	m->off = site_off(at, e);
	m->next = s->u->mocks;
	s->u->mocks = m;
}

static struct value *eval_output(struct scope *s, const struct site *at, const struct expr *e,
				 struct dependency *d, const char *key)
{
	struct value *outputs = dependency_outputs(s, d);
	if (!outputs && !d->mocked)
		return NULL;
	struct value *v = outputs ? value_map_get(outputs, key) : mock_output(s, d, key);
	if (!v)
		return eval_error(at, e, "dependency '%s' (unit '%s' of '%s') has no output '%s'%s", d->name,
				  d->target_id, d->target_env, key,
				  d->mocked ? " and no outputs file: add it to mock_outputs" : "");
	if (d->mocked)
		record_mock_ref(s, at, e, d->name, key, NULL);
	return v;
}

const char *mock_ref(struct arena *a, const struct mock_use *m)
{
	if (!m->via)
		return arena_concat(a, "dependency.", m->dependency, ".outputs.", m->key, (char *)NULL);
	return arena_concat(a, "dependency.", m->dependency, ".inputs.", m->key, " (", m->via, " read mock_outputs)",
			    (char *)NULL);
}

/* dependency.NAME.outputs.KEY and dependency.NAME.inputs.KEY */
static struct value *eval_dependency_ref(struct scope *s, const struct site *at, const struct expr *e)
{
	const struct expr *part = e->attr.obj;	/* dependency.NAME.outputs */
	const struct expr *name = part->kind == E_ATTR ? part->attr.obj : NULL;
	if (!name || name->kind != E_ATTR || name->attr.obj->kind != E_REF)
		return NULL;
	struct dependency *d = find_dependency(s, at, name, name->attr.name);
	if (!d || d->unusable)
		return NULL;	/* an unusable one's reason is reported */
	if (!strcmp(part->attr.name, "outputs"))
		return eval_output(s, at, e, d, e->attr.name);
	if (!strcmp(part->attr.name, "inputs")) {
		if (!d->target || !d->target->inputs)
			return eval_error(at, e, "inputs of dependency '%s' are not evaluated", d->name);
		/* A dependency that read mock_outputs may pass a mock on through
		 * its inputs: count the read as mocked, so a protected env
		 * refuses it and the manifest records it. */
		if (d->target->mocks)
			record_mock_ref(s, at, e, d->name, e->attr.name, d->target_id);
		return get_attr(s, at, e, d->target->inputs, part, e->attr.name);
	}
	return eval_error(at, part, "dependency '%s' has outputs and inputs, not '%s'", d->name, part->attr.name);
}

static bool is_dependency_path(const struct expr *e)
{
	const struct expr *part = e->attr.obj;
	return part->kind == E_ATTR && part->attr.obj->kind == E_ATTR &&
	       part->attr.obj->attr.obj->kind == E_REF && part->attr.obj->attr.obj->root == ROOT_DEPENDENCY;
}

/* ---- roots ---- */

static struct value *regions_value(struct arena *a, const struct env *e)
{
	const struct node *regions = node_map_get(e->decl, "regions");
	if (regions)
		return value_from_node(a, regions);
	struct value *list = value_list(a, 1, NULL);
	list->list.items[0] = value_cstr(a, e->region);
	return list;
}

/* env.*: the entry's own keys, its extra keys, and the derived ones. */
static struct value *env_value(struct project *p, struct env *e)
{
	if (e->value)
		return e->value;
	struct arena *a = &p->arena;
	const struct node *d = e->decl;
	struct value *m = value_map_room(a, d->map.len + 6);
	value_map_add(m, "name", value_cstr(a, e->name));
	value_map_add(m, "label", value_cstr(a, e->label));
	value_map_add(m, "account_id", value_cstr(a, e->account_id));
	value_map_add(m, "region", value_cstr(a, e->region));
	value_map_add(m, "protected", value_bool(a, e->is_protected, NULL));
	value_map_add(m, "regions", regions_value(a, e));
	static const char *const derived[] = {
		"name", "label", "account_id", "region", "protected", "regions", "path", NULL,
	};
	for (size_t i = 0; i < d->map.len; i++) {
		const char *k = d->map.pairs[i].key->str.s;
		const char *const *r = derived;
		while (*r && strcmp(*r, k))
			r++;
		if (!*r)
			value_map_add(m, k, value_from_node(a, d->map.pairs[i].value));
	}
	value_map_sort(m);
	e->value = m;
	return m;
}

static struct value *envs_value(struct project *p)
{
	if (p->envs_value)
		return p->envs_value;
	struct value *m = value_map_room(&p->arena, p->nenvs);
	for (size_t i = 0; i < p->nenvs; i++)
		if (!value_map_get(m, p->envs[i]->name)) {
			value_map_add(m, p->envs[i]->name, env_value(p, p->envs[i]));
			value_map_sort(m);
		}
	p->envs_value = m;
	return m;
}

/* var.*: one value per merged vars node, shared by every unit below the
 * same folder. */
static struct value *vars_value(struct project *p, const struct node *vars)
{
	struct value *v = map_get(&p->vars_values, (const char *)&vars, sizeof(vars));
	if (v)
		return v;
	v = value_from_node(&p->arena, vars);
	const struct node **key = ARENA_NEW(&p->arena, const struct node *);
	*key = vars;
	map_put(&p->vars_values, (const char *)key, sizeof(*key), v);
	return v;
}

static struct value *unit_value(struct arena *a, const struct unit *u)
{
	struct value *m = value_map_room(a, 3);
	const char *slash = strrchr(u->id, '/');
	value_map_add(m, "dir", value_cstr(a, u->dir));
	value_map_add(m, "name", value_cstr(a, slash ? slash + 1 : u->id));
	value_map_add(m, "path", value_cstr(a, u->id));
	value_map_sort(m);
	return m;
}

/* project.*: one value for every unit, as envs.* */
static struct value *project_value(struct project *p)
{
	if (p->project_value)
		return p->project_value;
	struct value *m = value_map_room(&p->arena, 2);
	value_map_add(m, "name", value_cstr(&p->arena, p->name));
	value_map_add(m, "role", value_cstr(&p->arena, p->role));
	p->project_value = m;
	return m;
}

static struct value *unknown_root(const struct site *at, const struct expr *e)
{
	const char *hint = schema_suggest(e->name, roots);
	return eval_error(at, e, "unknown reference '%s'%s%s%s", e->name, hint ? "; did you mean '" : "",
			  hint ? hint : "", hint ? "'?" : "");
}

static struct value *eval_root(struct scope *s, const struct site *at, const struct expr *e)
{
	const char *n = e->name;
	if (s->context) {
		struct value *v = value_map_get(s->context, n);
		return v ? v : unknown_root(at, e);
	}
	switch ((enum expr_root)e->root) {
	case ROOT_ENV: return env_value(s->p, s->u->env);
	case ROOT_ENVS: return envs_value(s->p);
	case ROOT_VAR: return vars_value(s->p, s->u->vars);
	case ROOT_LOCAL: return eval_all_locals(s, at, e);
	case ROOT_UNIT: return s->unit_v ? s->unit_v : (s->unit_v = unit_value(s->arena, s->u));
	case ROOT_PROJECT: return project_value(s->p);
	case ROOT_INCLUDE:
	case ROOT_DEPENDENCY: return eval_error(at, e, "'%s' needs a name: %s.NAME", n, n);
	case ROOT_OTHER: break;
	}
	return unknown_root(at, e);
}

static struct value *eval_attr(struct scope *s, const struct site *at, const struct expr *e)
{
	const struct expr *obj = e->attr.obj;
	if (!s->context && obj->kind == E_REF) {
		if (obj->root == ROOT_LOCAL)
			return eval_local(s, at, e, e->attr.name);
		if (obj->root == ROOT_INCLUDE)
			return eval_include(s, at, e, e->attr.name);
		if (obj->root == ROOT_DEPENDENCY)
			return eval_error(at, e, "use dependency.%s.outputs.KEY or dependency.%s.inputs.KEY",
					  e->attr.name, e->attr.name);
	}
	if (!s->context && obj->kind == E_ATTR && obj->attr.obj->kind == E_REF &&
	    obj->attr.obj->root == ROOT_DEPENDENCY)
		return eval_error(at, e, "use dependency.%s.outputs.KEY or dependency.%s.inputs.KEY",
				  obj->attr.name, obj->attr.name);
	if (!s->context && is_dependency_path(e))
		return eval_dependency_ref(s, at, e);
	struct value *v = eval_expr(s, at, obj);
	return v ? get_attr(s, at, e, v, obj, e->attr.name) : NULL;
}

/* ---- calls ---- */

static struct value *eval_call(struct scope *s, const struct site *at, const struct expr *e)
{
	const struct builtin *b = e->call.fn;
	if (!b) {
		const char *hint = schema_suggest(e->call.name, builtin_names());
		return eval_error(at, e, "unknown function '%s'%s%s%s", e->call.name,
				  hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
	}
	size_t n = e->call.len;
	if ((int)n < b->min_args || (b->max_args >= 0 && (int)n > b->max_args)) {
		if (b->min_args == b->max_args)
			return eval_error(at, e, "%s takes %d argument%s, not %zu", b->name, b->min_args,
					  b->min_args == 1 ? "" : "s", n);
		if (b->max_args < 0)
			return eval_error(at, e, "%s takes at least %d argument%s, not %zu", b->name,
					  b->min_args, b->min_args == 1 ? "" : "s", n);
		return eval_error(at, e, "%s takes %d to %d arguments, not %zu", b->name, b->min_args,
				  b->max_args, n);
	}
	struct value **args = ARENA_ARRAY(s->arena, struct value *, n + 1);
	bool sensitive = false;
	for (size_t i = 0; i < n; i++) {
		if (!(args[i] = eval_expr(s, at, e->call.args[i])))
			return NULL;
		/* jsonencode({dsn = <sensitive>}) is as secret as its part. */
		sensitive |= value_has_sensitive(args[i]);
	}
	const struct srcfile *file = site_file_of(s, at);
	struct call_ctx c = {
		.arena = s->arena, .name = b->name, .file = file, .off = site_off(at, e),
		.limits = s->lim, .project = s->p, .unit = s->u,
		.include_dir = file ? path_dirname(s->arena, file->path) : NULL,
		.args = args, .nargs = n,
	};
	struct value *r = b->fn(&c, args, n);
	return r ? mark_sensitive(s->arena, r, sensitive) : NULL;
}

/* ---- literals ---- */

static struct value *eval_list_literal(struct scope *s, const struct site *at, const struct expr *e)
{
	struct value *v = value_list(s->arena, e->list.len, NULL);
	for (size_t i = 0; i < e->list.len; i++)
		if (!(v->list.items[i] = eval_expr(s, at, e->list.items[i])))
			return NULL;
	return v;
}

static struct value *eval_map_literal(struct scope *s, const struct site *at, const struct expr *e)
{
	struct value *v = value_map_room(s->arena, e->map.len);
	struct map seen;
	bool secret_key = false;	/* a key is a sensitive value: so is the map */
	map_init(&seen);
	for (size_t i = 0; i < e->map.len; i++) {
		struct value *k = eval_expr(s, at, e->map.keys[i]);
		struct value *val = k ? eval_expr(s, at, e->map.values[i]) : NULL;
		if (val && k->kind != VAL_STR)
			val = eval_error(at, e->map.keys[i], "a map key must be a string, not a %s",
					 value_kind_name(k->kind));
		if (val && map_put(&seen, k->str.s, k->str.len, val))
			val = eval_error(at, e->map.keys[i], "duplicate key '%s' in map",
					 k->sensitive || secret_key ? "(sensitive)" : k->str.s);
		if (!val) {
			map_free(&seen);
			return NULL;
		}
		v->map.pairs[v->map.len++] = (struct value_pair){ k->str.s, k->str.len, val };
		secret_key |= k->sensitive;
	}
	map_free(&seen);
	value_map_sort(v);
	return mark_sensitive(s->arena, v, secret_key);
}

static struct value *eval_expr(struct scope *s, const struct site *at, const struct expr *e)
{
	if (++s->depth > s->lim->expr_depth * 4) {
		s->depth--;
		return eval_error(at, e, "evaluation nested deeper than %zu levels", s->lim->expr_depth * 4);
	}
	struct value *v = NULL;
	switch (e->kind) {
	case E_NULL: v = value_null(s->arena, NULL); break;
	case E_BOOL: v = value_bool(s->arena, e->b, NULL); break;
	case E_INT: v = value_int(s->arena, e->i, NULL); break;
	case E_FLOAT: v = make_number(s, at, e, e->f); break;	/* 7.0 is 7 */
	case E_TEMPLATE: v = eval_template(s, at, e); break;
	case E_LIST: v = eval_list_literal(s, at, e); break;
	case E_MAP: v = eval_map_literal(s, at, e); break;
	case E_REF: v = eval_root(s, at, e); break;
	case E_ATTR: v = eval_attr(s, at, e); break;
	case E_INDEX: v = eval_index(s, at, e); break;
	case E_CALL: v = eval_call(s, at, e); break;
	case E_UNARY: v = eval_unary(s, at, e); break;
	case E_BINARY: v = eval_binary(s, at, e); break;
	case E_COND: v = eval_cond(s, at, e); break;
	}
	s->depth--;
	return v;
}

/* ---- nodes ---- */

static const struct expr *parsed_template(struct scope *s, const struct node *n, struct expr_origin *origin)
{
	origin->node = n;
	origin->max_depth = s->lim->expr_depth;
	if (!s->p)
		return template_parse(s->arena, n->str.s, n->str.len, origin);
	/* Keyed by text, not node: the same expression is written in every
	 * env's copy of a unit, and the tree's offsets are relative to the
	 * text, so one parse serves them all.  Only successes are kept, so
	 * each bad copy still reports its own error. */
	/* Workers evaluate and define concurrently: the cache and the
	 * project's arena are touched under the project's lock.  Failures
	 * are counted, so that work done on workers (whose reports are
	 * muted) can be redone on one thread, where the error is reported. */
	struct memo_probe probe;
	struct expr *t = memo_find(s->p, MEMO_TEMPLATES, n->str.s, n->str.len, &probe);
	if (t)
		return t;
	/* The shared entry's key is the project's copy of the text: the
	 * node's own may live in a scope's passing arena. */
	const char *key = NULL;
	pthread_mutex_lock(&s->p->lock);
	const struct map_slot *shared = map_find_hashed(&s->p->templates, n->str.s, n->str.len, probe.hash);
	if (shared) {
		t = shared->value;
		key = shared->key;
	} else {
		t = template_parse(&s->p->arena, n->str.s, n->str.len, origin);
		if (t)
			map_put_hashed(&s->p->templates, key = arena_strndup(&s->p->arena, n->str.s, n->str.len),
				       n->str.len, probe.hash, t);
		s->p->template_failures += t == NULL;
	}
	pthread_mutex_unlock(&s->p->lock);
	if (t)
		memo_keep(&probe, key, t);
	return t;
}

static struct value *eval_string(struct scope *s, const struct node *n)
{
	/* has_expr: the loader found "${" in the text, an expression or a
	 * "$${" escape; without it the string is literal. */
	if (!n->has_expr)
		return value_str(s->arena, n->str.s, n->str.len, n);
	struct expr_origin origin;
	const struct expr *t = parsed_template(s, n, &origin);
	if (!t)
		return NULL;
	struct site at = { &origin, n, t };
	struct value *v = eval_expr(s, &at, t);
	if (!v)
		return NULL;
	/* Shared values are cheap to hold, not to write out or walk: the
	 * containers expressions make count against the unit's budget (the
	 * YAML around them is bounded by the loader's limits). */
	if ((v->kind == VAL_LIST || v->kind == VAL_MAP) && !value_take(v, &s->budget))
		return eval_error(&at, t, "values expand to more than %zu values or %zu bytes of text when written out",
				  s->lim->nodes, s->lim->string_size);
	if (v->origin != n) {
		v = copy_value(s->arena, v);
		value_set_origin(v, n);
	}
	return v;
}

/* A list or map with no expression beneath it (node.literal; a "$${"
 * escape counts as an expression: its text is not the value) has
 * value_from_node's value in every unit.  Such trees are 45 % of the
 * values of a large repo (tags and settings in shared includes, and in
 * each unit file, whose copies in the other envs share its tree:
 * project.c).  Each worker makes a tree's value once and keeps it, by
 * node; values are never changed once made, so units share them as they
 * share a var's.  Trees the loader did not mark (merges) are walked, and
 * not kept: each is one unit's own. */
static struct value *literal_value(struct scope *s, const struct node *n)
{
	if (!s->p || !n->literal)
		return NULL;
	struct memo_probe probe;
	struct value *v = memo_find(s->p, MEMO_LITERALS, (const char *)&n, sizeof(n), &probe);
	if (!v) {
		v = value_from_node(s->arena, n);
		const struct node **key = ARENA_NEW(s->arena, const struct node *);
		*key = n;
		memo_keep(&probe, (const char *)key, v);
	}
	return v;
}

/* The place of each pair of the map node n among its keys in byte order
 * (value_map_positions), found once per node and worker: a unit's
 * inputs are one merged node in every env whose file and includes are
 * alike, and an include's maps one node in every unit that includes it,
 * so most evaluated maps need no sort (value_map_sort was 3 % of a
 * cold build).  NULL: sort the value. */
static const uint32_t *key_positions(struct scope *s, const struct node *n)
{
	if (!s->p || n->map.len < 2 || n->map.len > UINT32_MAX)
		return NULL;
	struct memo_probe probe;
	uint32_t *pos = memo_find(s->p, MEMO_KEY_ORDERS, (const char *)&n, sizeof(n), &probe);
	if (pos)
		return pos;
	pos = ARENA_ARRAY(s->arena, uint32_t, n->map.len);
	if (!value_map_positions(n, pos))
		return NULL;
	const struct node **key = ARENA_NEW(s->arena, const struct node *);
	*key = n;
	memo_keep(&probe, (const char *)key, pos);
	return pos;
}

/* Whether a key of the map node holds "${": its keys are evaluated. */
static bool map_has_key_expr(const struct node *n)
{
	for (size_t i = 0; i < n->map.len; i++)
		if (n->map.pairs[i].key->has_expr)
			return true;
	return false;
}

/* A map key holding "${...}" is evaluated as any string scalar is (SPEC
 * 3): a number or bool gives its text; a sensitive key makes the map
 * sensitive.  false after an error, reported. */
static bool eval_key(struct scope *s, const struct node *key, struct value_pair *to, bool *sensitive)
{
	struct value *k = eval_string(s, key);
	if (!k)
		return false;
	struct buf text = BUF_INIT;
	bool ok = scalar_text(k, &text);
	if (ok) {
		to->keylen = text.len;
		to->key = arena_strndup(s->arena, buf_cstr(&text), text.len);
		*sensitive |= k->sensitive;
	} else {
		diag_error(key->file, key->off, "a map key must be a string, not %s%s",
			   k->kind == VAL_NULL ? "" : "a ", value_kind_name(k->kind));
	}
	buf_free(&text);
	return ok;
}

/* Notes the key node of each pair of v, the map made of map node n
 * with its keys evaluated (pair i from n's pair i, before sorting), for
 * drift (project.key_nodes): the pairs are sorted here as
 * value_map_sort sorts v's, each carrying its key node. */
static void note_key_nodes(struct scope *s, const struct node *n, struct value *v)
{
	if (!s->p)
		return;
	struct value_pair *tagged = ARENA_ARRAY(s->arena, struct value_pair, v->map.len + 1);
	for (size_t i = 0; i < v->map.len; i++)
		tagged[i] = (struct value_pair){ v->map.pairs[i].key, v->map.pairs[i].keylen,
						 (struct value *)n->map.pairs[i].key };
	struct value sorted = { .kind = VAL_MAP, .map = { tagged, v->map.len } };
	value_map_sort(&sorted);
	const struct node **keys = ARENA_ARRAY(s->arena, const struct node *, v->map.len + 1);
	for (size_t i = 0; i < v->map.len; i++)
		keys[i] = (const struct node *)tagged[i].value;
	struct value **at = ARENA_NEW(s->arena, struct value *);
	*at = v;
	pthread_mutex_lock(&s->p->lock);
	map_put(&s->p->key_nodes, (const char *)at, sizeof(*at), keys);
	pthread_mutex_unlock(&s->p->lock);
}

const struct node *const *eval_key_nodes(const struct project *p, const struct value *map)
{
	return map_get(&p->key_nodes, (const char *)&map, sizeof(map));
}

/* Two keys of map node n that are the same once evaluated: an error at
 * the second one's value, as the loader reports duplicate keys. */
static struct value *duplicate_key(const struct node *n, const struct value *v, size_t dup)
{
	const struct value_pair *pr = &v->map.pairs[dup];
	const struct node *at = pr->value->origin ? pr->value->origin : n;
	if (v->sensitive)
		diag_error(at->file, at->off, "a key (sensitive) appears twice in this map once its keys are evaluated");
	else
		diag_error(at->file, at->off, "the key '%s' appears twice in this map once its keys are evaluated",
			   pr->key);
	return NULL;
}

static struct value *eval_node(struct scope *s, const struct node *n)
{
	struct value *literal;
	switch (n->kind) {
	case NODE_STR:
		return eval_string(s, n);
	case NODE_SEQ: {
		if ((literal = literal_value(s, n)))
			return literal;
		struct value *v = value_list(s->arena, n->seq.len, n);
		for (size_t i = 0; i < n->seq.len; i++)
			if (!(v->list.items[i] = eval_node(s, n->seq.items[i])))
				return NULL;
		return v;
	}
	case NODE_MAP: {
		if ((literal = literal_value(s, n)))
			return literal;
		bool keyed = map_has_key_expr(n);
		const uint32_t *pos = keyed ? NULL : key_positions(s, n);
		struct value *v = value_map(s->arena, n->map.len, n);
		bool ok = true;
		for (size_t i = 0; i < n->map.len; i++) {
			const struct node_pair *pr = &n->map.pairs[i];
			struct value_pair *to = &v->map.pairs[pos ? pos[i] : i];
			to->key = pr->key->str.s;
			to->keylen = pr->key->str.len;
			if (pr->key->has_expr)
				ok &= eval_key(s, pr->key, to, &v->sensitive);
			ok &= (to->value = eval_node(s, pr->value)) != NULL;
		}
		if (!ok)
			return NULL;
		if (keyed)
			note_key_nodes(s, n, v);
		long dup = pos ? -1 : value_map_sort(v);
		if (dup >= 0 && keyed)
			return duplicate_key(n, v, (size_t)dup);
		return v;
	}
	default:
		return value_from_node(s->arena, n);
	}
}

/* ---- units ---- */

/* The shared account "@name/..." names.  One with several regions is
 * reached in the unit's own region when it has it, else in its first;
 * "@name/REGION/unit" names a region (*rest then skips it). */
static struct env *shared_region(struct project *p, const struct unit *u, const char *name, const char **rest,
				 bool *by_region)
{
	struct env *e = project_find_env(p, name), *first = NULL, *same = NULL;
	*by_region = false;
	if (e)
		return e;
	for (size_t i = 0; i < p->nenvs; i++) {
		struct env *r = p->envs[i];
		if (!r->is_shared || strcmp(r->name, name))
			continue;
		size_t n = strlen(r->region);
		if (!strncmp(*rest + 1, r->region, n) && (*rest)[n + 1] == '/') {
			*rest += n + 1;
			return r;
		}
		if (!first)
			first = r;
		if (!same && !strcmp(r->region, u->env->region))
			same = r;
	}
	*by_region = first != NULL;
	return same ? same : first;
}

/* "./x" and "../x" resolve from the unit's own directory (also when
 * written in an include); "@shared/unit" names a shared account's unit;
 * anything else is a unit id of the same env. */
static int resolve_dependency(struct project *p, struct arena *a, struct unit *u, struct dependency *d,
			      const struct node *path)
{
	const char *raw = path->str.s;
	struct buf norm = BUF_INIT;
	int rc = -1;
	if (raw[0] == '@') {
		const char *slash = strchr(raw, '/');
		const char *label = slash ? arena_strndup(a, raw + 1, (size_t)(slash - raw - 1)) : raw + 1;
		bool by_region = false;
		struct env *e = slash ? shared_region(p, u, label, &slash, &by_region) : NULL;
		if (!e || !e->is_shared || !slash[1]) {
			diag_error(path->file, path->off, "'%s' does not name a unit of a shared account (@<shared>/<unit>)", raw);
			goto out;
		}
		d->target_env = e->label;
		d->target_id = arena_strdup(a, slash + 1);
		d->target = env_find_unit(e, d->target_id);
		d->shared_name = by_region ? e->name : NULL;
		rc = 0;
		goto out;
	}
	if (!raw[0] || path_is_url(raw) || raw[0] == '/' || template_has_expr(raw, path->str.len)) {
		diag_error(path->file, path->off, "dependency path '%s' must name a unit: a unit id, ./ or ../ path, or @<shared>/<unit>", raw);
		goto out;
	}
	bool relative = !strncmp(raw, "./", 2) || !strncmp(raw, "../", 3);
	if (path_join(relative ? u->dir : u->env->dir, raw, &norm) < 0 ||
	    !path_within(norm.data, u->env->dir) || !strcmp(norm.data, u->env->dir)) {
		struct env *other = NULL;
		for (size_t i = 0; norm.len && i < p->nenvs && !other; i++)
			if (p->envs[i] != u->env && path_within(norm.data, p->envs[i]->dir))
				other = p->envs[i];
		if (other)
			diag_error(path->file, path->off,
				   "dependency '%s' reaches into environment '%s': units may depend only on their own environment or on shared accounts (@<shared>/<unit>)",
				   raw, other->label);
		else
			diag_error(path->file, path->off, "dependency path '%s' leaves environment '%s'", raw, u->env->label);
		goto out;
	}
	d->target_env = u->env->label;
	d->target_id = arena_strdup(a, norm.data + strlen(u->env->dir) + 1);
	d->target = env_find_unit(u->env, d->target_id);
	rc = 0;
out:
	buf_free(&norm);
	return rc;
}

int eval_dependencies(struct project *p, struct unit *u)
{
	return eval_dependencies_in(p, u, &p->arena);
}

int eval_dependencies_in(struct project *p, struct unit *u, struct arena *a)
{
	const struct node *deps = node_map_get(u->config, "dependencies");
	int rc = 0;
	if (!deps)
		return 0;
	struct diag_alias was = diag_alias(unit_diag_alias(u));
	u->deps = ARENA_ARRAY(a, struct dependency, deps->map.len);
	for (size_t i = 0; i < deps->map.len; i++) {
		const struct node *decl = deps->map.pairs[i].value;
		const struct node *path = node_map_get(decl, "path");
		struct dependency *d = &u->deps[u->ndeps];
		d->name = deps->map.pairs[i].key->str.s;
		d->decl = decl;
		if (!path) {
			diag_error(decl->file, decl->off, "dependency '%s' has no path", d->name);
			d->refused = true;
		} else if (resolve_dependency(p, a, u, d, path) < 0) {
			d->refused = true;
		}
		if (d->refused)
			rc = -1;
		u->ndeps++;
	}
	unit_index_dependencies(u, a);
	diag_alias(was);
	return rc;
}

/* ---- module sources ---- */

/* Terraform's local paths ("./m", "../m") and bulkhead's root-relative
 * "//m"; absolute paths are local too, and refused.  URLs and registry
 * addresses ("acme/vpc/aws") are not paths. */
static bool local_source(const char *src)
{
	return src[0] == '/' || !strcmp(src, ".") || !strcmp(src, "..") || !strncmp(src, "./", 2) ||
	       !strncmp(src, "../", 3);
}

/* The source as messages name it: quoted, or (sensitive). */
static const char *source_shown(struct scope *s, const struct value *v)
{
	return v->sensitive ? "(sensitive)" : arena_concat(s->arena, "'", v->str.s, "'", (char *)NULL);
}

/* A folder of the module, root-relative: it must exist and be readable
 * as the unit's own files are.  Reports at source and returns -1; a
 * sensitive source is named in no message, nor what it leads to. */
static int check_module_folder(struct scope *s, const struct node *source, const struct value *v, const char *path)
{
	struct buf resolved = BUF_INIT;
	struct source *src = &s->p->src;
	pthread_mutex_lock(&s->p->lock);	/* the source is shared by the workers */
	int rc = source_resolve(src, path, &resolved);
	enum src_kind kind = rc == SRC_OK ? source_kind(src, resolved.data) : SRC_MISSING;
	const char *why = rc < 0 && rc != SRC_ENOENT && rc != SRC_EFORBIDDEN ? source_read_error(src, rc, path) : NULL;
	pthread_mutex_unlock(&s->p->lock);
	const char *area = rc < 0 ? NULL : project_output_area(s->p, resolved.data);
	buf_free(&resolved);
	if (rc == SRC_OK && !area && kind == SRC_DIR)
		return 0;
	const char *shown = source_shown(s, v);
	const char *where = v->sensitive ? "it" : arena_concat(s->arena, "'", path, "'", (char *)NULL);
	if (rc == SRC_ENOENT)
		diag_error(source->file, source->off, "module source %s: there is no %s%s", shown,
			   v->sensitive ? "such folder" : "folder ", v->sensitive ? "" : where);
	else if (rc == SRC_EFORBIDDEN)
		diag_error(source->file, source->off, "module source %s leads into .git/, which is never read", shown);
	else if (rc < 0)
		diag_error(source->file, source->off, "module source %s: %s", shown,
			   v->sensitive ? "cannot be read" : why);
	else if (area)
		diag_error(source->file, source->off, "module source %s is in the output folder '%s'", shown, area);
	else
		diag_error(source->file, source->off, "module source %s: %s is not a folder", shown, where);
	return -1;
}

/* A local module source resolved from the unit's directory, also when an
 * include wrote it (as file() is): "//modules/vpc", so the same module
 * reads the same from every env and region depth.  Terragrunt's "//"
 * subdirectory marker stays ("//modules//vpc").  Other sources come back
 * as written; NULL after an error. */
static const char *resolve_source(struct scope *s, const struct node *source, const struct value *v)
{
	const char *src = v->str.s;
	if (!local_source(src))
		return src;
	const char *marker = strstr(src + (src[1] == '/' ? 2 : 0), "//");
	const char *pkg = marker ? arena_strndup(s->arena, src, (size_t)(marker - src)) : src;
	struct buf folder = BUF_INIT, sub = BUF_INIT;
	const char *out = NULL;
	int rc = path_join(s->u->dir, pkg, &folder);
	if (rc == SRC_OK && marker)
		rc = path_join(folder.data, marker + 2, &sub);
	bool has_sub = marker && sub.len > folder.len;
	if (rc == SRC_EFORBIDDEN)
		diag_error(source->file, source->off,
			   "module source %s is an absolute path; write it relative to the unit, or from the "
			   "project root with a leading '//'", source_shown(s, v));
	else if (rc != SRC_OK || (marker && !path_within(sub.data, folder.data)))
		diag_error(source->file, source->off, "module source %s leads outside the %s", source_shown(s, v),
			   rc == SRC_OK ? "module folder" : "project root");
	else if (!folder.len)
		diag_error(source->file, source->off, "module source %s names the project root, not a module folder",
			   source_shown(s, v));
	else if (check_module_folder(s, source, v, folder.data) == 0 &&
		 (!has_sub || check_module_folder(s, source, v, sub.data) == 0))
		out = arena_concat(s->arena, "//", folder.data, has_sub ? "//" : "",
				   has_sub ? sub.data + folder.len + 1 : "", (char *)NULL);
	buf_free(&folder);
	buf_free(&sub);
	return out;
}

int eval_unit(struct project *p, struct unit *u)
{
	return eval_unit_in(p, u, &p->arena);
}

int eval_unit_in(struct project *p, struct unit *u, struct arena *arena)
{
	struct scope s;
	const struct node *inputs = node_map_get(u->config, "inputs");
	const struct node *source = node_map_get(u->config, "source");
	int rc = 0;
	struct diag_alias was = diag_alias(unit_diag_alias(u));
	scope_init(&s, p, u);
	s.arena = arena;
	u->inputs = inputs ? eval_node(&s, inputs) : value_map(arena, 0, NULL);
	if (!u->inputs)
		rc = -1;
	if (source) {
		struct value *v = eval_node(&s, source);
		if (v && v->kind != VAL_STR) {
			diag_error(source->file, source->off, "source must be a string, not a %s", value_kind_name(v->kind));
			v = NULL;
		}
		if (!v || !(u->source = resolve_source(&s, source, v)))
			rc = -1;
	}
	/* Every local is evaluated, used or not, so a broken one is reported. */
	for (size_t i = 0; s.locals && i < s.locals->map.len; i++) {
		struct expr_origin origin = { s.locals->map.pairs[i].key, p->limits.expr_depth };
		struct expr dummy = { .kind = E_REF };
		struct site at = { &origin, s.locals->map.pairs[i].key, NULL };
		if (!eval_slot(&s, &at, &dummy, local_slot_at(&s, i)))
			rc = -1;
	}
	scope_free(&s);
	diag_alias(was);
	return rc;
}

void eval_prepare_shared(struct project *p)
{
	envs_value(p);
	project_value(p);
	for (size_t i = 0; i < p->nunits; i++)
		if (p->units[i]->vars)
			vars_value(p, p->units[i]->vars);
}

void eval_reset_unit(struct unit *u)
{
	u->inputs = NULL;
	u->source = NULL;
	u->mocks = NULL;
	for (size_t i = 0; i < u->ndeps; i++) {
		u->deps[i].outputs = NULL;
		u->deps[i].mocked = false;
		u->deps[i].outputs_failed = false;
	}
}

struct value *eval_unit_node(struct project *p, struct unit *u, const struct node *n)
{
	struct scope s;
	scope_init(&s, p, u);
	struct value *v = eval_node(&s, n);
	scope_free(&s);
	return v;
}

struct value *eval_unit_expr(struct project *p, struct unit *u, struct arena *arena, const struct node *where,
			     const struct expr *e)
{
	struct scope s;
	struct expr_origin origin = { where, p->limits.expr_depth };
	struct site at = { &origin, where, NULL };
	scope_init(&s, p, u);
	s.arena = arena;
	struct value *v = eval_expr(&s, &at, e);
	scope_free(&s);
	return v;
}

const struct expr *eval_template_of(struct project *p, const struct node *n)
{
	if (n->kind != NODE_STR || !n->has_expr)
		return NULL;
	struct scope s = { .p = p, .arena = &p->arena, .lim = &p->limits };
	struct expr_origin origin;
	return parsed_template(&s, n, &origin);	/* thread-safe: see there */
}

struct value *eval_text(struct arena *a, const struct srcfile *file, const struct value *context,
			const struct limits *lim)
{
	struct scope s = { .arena = a, .lim = lim, .context = context, .budget = { lim->nodes, lim->string_size } };
	struct node n = { .kind = NODE_STR, .style = STYLE_PLAIN, .file = file, .off = 0 };
	n.str.s = file->data;
	n.str.len = file->len;
	n.has_expr = text_has_template(n.str.s, n.str.len);
	map_init(&s.slots);
	map_init(&s.includes);
	struct value *v = eval_string(&s, &n);
	if (v && v->origin == &n)
		value_set_origin(v, NULL);
	scope_free(&s);
	return v;
}

static void redacted(const struct value *v, struct buf *out, int depth, bool secret_key)
{
	if (v->sensitive || (secret_key && v->kind == VAL_STR)) {
		buf_puts(out, "\"(sensitive)\"");
		return;
	}
	if (v->kind != VAL_LIST && v->kind != VAL_MAP) {
		value_to_json(v, out);
		return;
	}
	bool is_map = v->kind == VAL_MAP;
	size_t n = is_map ? v->map.len : v->list.len;
	if (!n) {
		buf_puts(out, is_map ? "{}" : "[]");
		return;
	}
	buf_putc(out, is_map ? '{' : '[');
	for (size_t i = 0; i < n; i++) {
		buf_putc(out, '\n');
		for (int k = 0; k <= depth; k++)
			buf_puts(out, "  ");
		if (is_map) {
			json_quote(out, v->map.pairs[i].key, v->map.pairs[i].keylen);
			buf_puts(out, ": ");
		}
		redacted(is_map ? v->map.pairs[i].value : v->list.items[i], out, depth + 1,
			 secret_key || (is_map && key_is_secret(v->map.pairs[i].key)));
		if (i + 1 < n)
			buf_putc(out, ',');
	}
	buf_putc(out, '\n');
	for (int k = 0; k < depth; k++)
		buf_puts(out, "  ");
	buf_putc(out, is_map ? '}' : ']');
}

void value_to_json_redacted(const struct value *v, struct buf *out)
{
	redacted(v, out, 0, false);
}
