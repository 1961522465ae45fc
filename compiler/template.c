/* template.c - find, load and render generate templates. */
#include "template.h"
#include "eval.h"

#include <string.h>

const struct embedded_file *template_builtin(const char *path)
{
	for (const struct embedded_file *f = embedded_templates; f->path; f++)
		if (!strcmp(f->path, path))
			return f;
	return NULL;
}

static bool valid_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static const char *repo_path(struct project *p, const char *name)
{
	return arena_printf(&p->arena, "templates/%s.yaml", name);
}

/* The repo's template if it has one, else the built-in one. */
static struct loaded_file *load(struct project *p, const char *name, const struct node *ref)
{
	const char *path = repo_path(p, name);
	if (source_kind(&p->src, path) != SRC_MISSING)
		return project_load(p, path, ref ? ref->file : NULL, ref ? ref->off : 0);
	const char *key = arena_printf(&p->arena, "(built-in %s.yaml)", name);
	struct loaded_file *lf = map_get(&p->files, key, strlen(key));
	if (lf)
		return lf->root ? lf : NULL;
	const struct embedded_file *e = template_builtin(arena_printf(&p->arena, "%s.yaml", name));
	if (!e)
		return NULL;
	lf = ARENA_NEW(&p->arena, struct loaded_file);
	lf->src = (struct srcfile){ key, e->data, e->len };
	map_put(&p->files, key, strlen(key), lf);
	return yaml_load(&p->arena, &lf->src, &p->limits, &lf->root) < 0 ? NULL : lf;
}

int template_check_names(struct project *p, const struct node *generate)
{
	int rc = 0;
	for (size_t i = 0; i < generate->seq.len; i++) {
		const struct node *n = generate->seq.items[i];
		if (!valid_name(n->str.s)) {
			diag_error(n->file, n->off, "template name '%s' must match [a-z][a-z0-9_-]*", n->str.s);
			rc = -1;
			continue;
		}
		bool repo = source_kind(&p->src, repo_path(p, n->str.s)) != SRC_MISSING;
		if (!repo && !template_builtin(arena_printf(&p->arena, "%s.yaml", n->str.s))) {
			diag_error(n->file, n->off, "no template '%s': add templates/%s.yaml (built-in: backend, provider)",
				   n->str.s, n->str.s);
			rc = -1;
		} else if (!load(p, n->str.s, n)) {
			rc = -1;
		} else if (load(p, n->str.s, n)->root->kind != NODE_MAP) {
			const struct node *root = load(p, n->str.s, n)->root;
			diag_error(root->file, root->off, "template '%s' must be a map", n->str.s);
			rc = -1;
		}
	}
	return rc;
}

int template_render(struct project *p, struct unit *u, const char *name, struct buf *out)
{
	struct loaded_file *lf = load(p, name, NULL);
	struct value *v = lf ? eval_unit_node(p, u, lf->root) : NULL;
	if (!v)
		return -1;
	buf_reset(out);
	value_to_json(v, out);
	buf_putc(out, '\n');
	return 0;
}
