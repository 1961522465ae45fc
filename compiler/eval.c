/* eval.c - from merged nodes to values with provenance. */
#include "eval.h"

#include <string.h>

/* "$${" is a literal "${"; a bare "${" starts an expression, which this
 * version of bulkhead does not evaluate yet: refuse rather than emit the
 * text unevaluated into a tfvars file. */
static struct value *eval_string(struct project *p, const struct node *n)
{
	const char *s = n->str.s;
	const char *dollar = strstr(s, "${");
	if (!dollar)
		return value_str(&p->arena, s, n->str.len, n);
	struct buf out = BUF_INIT;
	struct value *v = NULL;
	for (const char *q = s; *q;) {
		if (q[0] == '$' && q[1] == '$' && q[2] == '{') {
			buf_puts(&out, "${");
			q += 3;
		} else if (q[0] == '$' && q[1] == '{') {
			size_t off = n->off + (n->style == STYLE_DOUBLE || n->style == STYLE_SINGLE) +
				     (size_t)(q - s);
			diag_error(n->file, n->style == STYLE_PLAIN || n->style == STYLE_SINGLE ||
						    n->style == STYLE_DOUBLE ? off : n->off,
				   "expressions (${...}) are not supported by this version of bulkhead");
			goto out;
		} else {
			buf_putc(&out, *q++);
		}
	}
	v = value_str(&p->arena, arena_strndup(&p->arena, buf_cstr(&out), out.len), out.len, n);
out:
	buf_free(&out);
	return v;
}

struct value *eval_literal(struct project *p, const struct node *n)
{
	struct arena *a = &p->arena;
	switch (n->kind) {
	case NODE_NULL: return value_null(a, n);
	case NODE_BOOL: return value_bool(a, n->b, n);
	case NODE_INT: return value_int(a, n->i, n);
	case NODE_FLOAT: return value_float(a, n->f, n);
	case NODE_STR: return eval_string(p, n);
	case NODE_SEQ: {
		struct value *v = value_list(a, n->seq.len, n);
		for (size_t i = 0; i < n->seq.len; i++)
			if (!(v->list.items[i] = eval_literal(p, n->seq.items[i])))
				return NULL;
		return v;
	}
	case NODE_MAP: {
		struct value *v = value_map(a, n->map.len, n);
		bool ok = true;
		for (size_t i = 0; i < n->map.len; i++) {
			const struct node_pair *pr = &n->map.pairs[i];
			v->map.pairs[i].key = pr->key->str.s;
			v->map.pairs[i].keylen = pr->key->str.len;
			ok &= (v->map.pairs[i].value = eval_literal(p, pr->value)) != NULL;
		}
		if (!ok)
			return NULL;
		value_map_sort(v);
		return v;
	}
	}
	return NULL;
}

/* "./x" and "../x" resolve from the unit's own directory (also when
 * written in an include); "@shared/unit" names a shared account's unit;
 * anything else is a unit id of the same env. */
static int resolve_dependency(struct project *p, struct unit *u, struct dependency *d,
			      const struct node *path)
{
	const char *raw = path->str.s;
	struct buf norm = BUF_INIT;
	int rc = -1;
	if (raw[0] == '@') {
		const char *slash = strchr(raw, '/');
		const char *label = slash ? arena_strndup(&p->arena, raw + 1, (size_t)(slash - raw - 1)) : raw + 1;
		struct env *e = project_find_env(p, label);
		if (!e || !e->is_shared || !slash) {
			diag_error(path->file, path->off, "'%s' does not name a unit of a shared account (@<shared>/<unit>)", raw);
			goto out;
		}
		d->target_env = e->label;
		d->target_id = arena_strdup(&p->arena, slash + 1);
		rc = 0;
		goto out;
	}
	if (path_is_url(raw) || raw[0] == '/') {
		diag_error(path->file, path->off, "dependency path '%s' must name a unit, not a URL or absolute path", raw);
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
	d->target_id = arena_strdup(&p->arena, norm.data + strlen(u->env->dir) + 1);
	rc = 0;
out:
	buf_free(&norm);
	return rc;
}

static int eval_dependencies(struct project *p, struct unit *u, const struct node *deps)
{
	int rc = 0;
	if (!deps)
		return 0;
	u->deps = ARENA_ARRAY(&p->arena, struct dependency, deps->map.len);
	for (size_t i = 0; i < deps->map.len; i++) {
		const struct node *decl = deps->map.pairs[i].value;
		const struct node *path = node_map_get(decl, "path");
		struct dependency *d = &u->deps[u->ndeps];
		d->name = deps->map.pairs[i].key->str.s;
		d->decl = decl;
		if (!path) {
			diag_error(decl->file, decl->off, "dependency '%s' has no path", d->name);
			rc = -1;
			continue;
		}
		if (resolve_dependency(p, u, d, path) < 0) {
			rc = -1;
			continue;
		}
		u->ndeps++;
	}
	return rc;
}

int eval_unit(struct project *p, struct unit *u)
{
	const struct node *inputs = node_map_get(u->config, "inputs");
	const struct node *source = node_map_get(u->config, "source");
	int rc = 0;
	if (inputs) {
		if (!(u->inputs = eval_literal(p, inputs)))
			rc = -1;
	} else {
		u->inputs = value_map(&p->arena, 0, NULL);
	}
	if (source) {
		struct value *s = eval_literal(p, source);
		if (s)
			u->source = s->str.s;
		else
			rc = -1;
	}
	if (eval_dependencies(p, u, node_map_get(u->config, "dependencies")) < 0)
		rc = -1;
	return rc;
}
