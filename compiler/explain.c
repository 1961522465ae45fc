/* explain.c - show --explain: every input leaf with where it was defined,
 * what it overrode, and the include chain that brought each file in. */
#include "explain.h"

#include <string.h>

enum { SHOWN_MAX = 72 };

static void print_value(const struct value *v, bool secret, struct buf *out)
{
	size_t start = out->len;
	if (v->sensitive || (secret && v->kind == VAL_STR)) {
		buf_puts(out, "(sensitive)");
		return;
	}
	value_to_json_compact(v, out);
	if (out->len - start > SHOWN_MAX) {
		out->len = start + SHOWN_MAX - 3;
		buf_puts(out, "...");
	}
}

/* One unit being explained into out; positions serve every leaf's
 * file:line (a unit file of 20,000 leaves was scanned from its start
 * for each). */
struct explainer {
	struct project *p;
	const struct unit *u;
	struct positions positions;
	struct buf *out;
};

static void print_location(struct explainer *x, const struct node *n)
{
	const struct srcfile *file = unit_node_file(x->u, n);
	unsigned line, col;
	positions_find(&x->positions, file, n->off, &line, &col);
	buf_printf(x->out, "%s:%u:%u", file->path, line, col);
}

static void print_chain(struct explainer *x, const struct node *n)
{
	const char *path = unit_node_file(x->u, n)->path;
	const char *chain = map_get(&x->u->chains, path, strlen(path));
	if (chain && strchr(chain, ' '))
		buf_printf(x->out, " (via %s)", chain);
}

/* What n overrode: the unit's own overrides, then those inside its
 * shared includes, each override's own in turn. */
static void print_overrides(struct explainer *x, const struct node *n, bool secret)
{
	const struct unit *u = x->u;
	struct buf *out = x->out;
	const struct map *maps[] = { &u->overrides, u->base_overrides };
	const struct node *from = n;
	for (size_t m = 0; m < 2 && maps[m]; m++) {
		const struct override *o = map_get(maps[m], (const char *)&from, sizeof(from));
		for (; o; o = o->next) {
			buf_puts(out, "  ");
			print_location(x, o->node);
			buf_puts(out, ": overrides ");
			print_value(value_from_node(&x->p->arena, o->node), secret, out);
			print_chain(x, o->node);
			buf_putc(out, '\n');
			if (!o->next)
				from = o->node;
		}
	}
}

/* Whether node n overrode something: a leaf, or a map that replaced an
 * inherited value whole. */
static bool overrode(const struct unit *u, const struct node *n)
{
	return n && (map_get(&u->overrides, (const char *)&n, sizeof(n)) ||
		     (u->base_overrides && map_get(u->base_overrides, (const char *)&n, sizeof(n))));
}

static void explain_leaf(struct explainer *x, const struct value *v, const char *path, bool secret)
{
	struct buf *out = x->out;
	buf_printf(out, "%s = ", path);
	print_value(v, secret, out);
	buf_putc(out, '\n');
	const struct node *n = v->origin;
	if (!n || !n->file)
		return;
	buf_puts(out, "  ");
	print_location(x, n);
	buf_puts(out, ": defined here");
	if (n->kind == NODE_STR && strstr(n->str.s, "${"))
		buf_printf(out, " as %s", n->str.s);
	print_chain(x, n);
	buf_putc(out, '\n');
	print_overrides(x, n, secret);
}

static void explain_value(struct explainer *x, const struct value *v, struct buf *path, bool secret)
{
	if (v->kind != VAL_MAP || !v->map.len || v->sensitive) {
		explain_leaf(x, v, path->data, secret);
		return;
	}
	if (overrode(x->u, v->origin) && v->origin->file) {
		buf_printf(x->out, "%s replaced\n  ", path->data);
		print_location(x, v->origin);
		buf_puts(x->out, ": replaces the map it inherited");
		print_chain(x, v->origin);
		buf_putc(x->out, '\n');
		print_overrides(x, v->origin, secret);
	}
	for (size_t i = 0; i < v->map.len; i++) {
		size_t mark = path->len;
		key_path_push(path, v->map.pairs[i].key, v->map.pairs[i].keylen);
		explain_value(x, v->map.pairs[i].value, path, secret || key_is_secret(v->map.pairs[i].key));
		path->len = mark;
		path->data[mark] = '\0';
	}
}

void explain_unit(struct project *p, const struct unit *u, struct buf *out)
{
	struct buf path = BUF_INIT;
	buf_printf(out, "%s in %s (account %s, %s)\n", u->id, u->env->label, u->env->account_id,
		   u->env->region);
	if (u->source)
		buf_printf(out, "source = %s\n", u->source);
	struct explainer x = { .p = p, .u = u, .out = out };
	positions_init(&x.positions);
	buf_puts(&path, "inputs");
	explain_value(&x, u->inputs, &path, false);
	positions_free(&x.positions);
	buf_free(&path);
}
