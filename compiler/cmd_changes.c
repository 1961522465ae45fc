/* cmd_changes.c - bulkhead changes --base REV [--head REV | --staged]:
 * units whose evaluated config differs between two revisions, including
 * through includes, vars.yaml and dependencies. */
#include "cli.h"
#include "dag.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>

enum change_kind { CH_CHANGED, CH_ADDED, CH_REMOVED, CH_AFFECTED };

struct change {
	enum change_kind kind;
	const struct unit *unit;	/* head side, or base side when removed */
	const char *why;		/* value diff, or "via dev:app/api" */
};

struct changes {
	struct change *v;
	size_t len, cap;
};

struct changes_opts {
	const char *base, *head, *format;
	bool exit_code;
};

enum { OPT_BASE = 320, OPT_HEAD, OPT_FORMAT_C, OPT_EXIT_CODE };

static int changes_option(void *ctx, int opt, const char *arg)
{
	struct changes_opts *o = ctx;
	switch (opt) {
	case OPT_BASE: o->base = arg; return 0;
	case OPT_HEAD: o->head = arg; return 0;
	case OPT_FORMAT_C: o->format = arg; return 0;
	case OPT_EXIT_CODE: o->exit_code = true; return 0;
	default: return -1;
	}
}

static void add_change(struct changes *cs, enum change_kind kind, const struct unit *u, const char *why)
{
	if (cs->len == cs->cap)
		cs->v = xrealloc(cs->v, (cs->cap = cs->cap ? cs->cap * 2 : 16) * sizeof(*cs->v));
	cs->v[cs->len++] = (struct change){ kind, u, why };
}

static const char *kind_name(enum change_kind k)
{
	static const char *names[] = { "changed", "added", "removed", "affected" };
	return names[k];
}

/* ---- value-level diff ---- */

static void shown(const struct value *v, bool secret, struct buf *out)
{
	if (!v)
		buf_puts(out, "(absent)");
	else if (v->sensitive || (secret && v->kind == VAL_STR))
		buf_puts(out, "(sensitive)");
	else
		value_to_json_compact_redacted(v, secret, out);
}

/* secret: a key on the way here looks like a secret's, which hides every
 * string beneath it (as drift and show do). */
static void diff_values(struct arena *a, struct buf *path, const struct value *x, const struct value *y,
			bool secret, struct buf *out)
{
	if (x && y && x->kind == VAL_MAP && y->kind == VAL_MAP) {
		size_t i = 0, k = 0;
		while (i < x->map.len || k < y->map.len) {
			const struct value_pair *p = i < x->map.len ? &x->map.pairs[i] : NULL;
			const struct value_pair *q = k < y->map.len ? &y->map.pairs[k] : NULL;
			int c = !p ? 1 : !q ? -1 : strcmp(p->key, q->key);
			const struct value_pair *here = c <= 0 ? p : q;
			size_t mark = path->len;
			key_path_push(path, here->key, here->keylen);
			diff_values(a, path, c <= 0 ? p->value : NULL, c >= 0 ? q->value : NULL,
				    secret || key_is_secret(here->key), out);
			path->len = mark;
			path->data[mark] = '\0';
			i += c <= 0;
			k += c >= 0;
		}
		return;
	}
	if (x && y && value_equal(x, y))
		return;
	struct buf vx = BUF_INIT, vy = BUF_INIT;
	shown(x, secret, &vx);
	shown(y, secret, &vy);
	buf_printf(out, "%s%s: %s -> %s", out->len ? "; " : "", path->data, vx.data, vy.data);
	buf_free(&vx);
	buf_free(&vy);
	(void)a;
}

static const char *deps_text(struct arena *a, const struct unit *u)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < u->ndeps; i++)
		buf_printf(&b, "%s%s=%s:%s", i ? "," : "", u->deps[i].name, u->deps[i].target_env, u->deps[i].target_id);
	const char *s = arena_strdup(a, buf_cstr(&b));
	buf_free(&b);
	return s;
}

/* A unit's files in a plan: emit_plan adds each unit's together. */
struct unit_files {
	const struct out_file *v;
	size_t n;
};

/* By unit index, its files in plan (NULL when it has none): the files of
 * a unit are found without a walk over the whole plan per unit. */
static struct unit_files *files_by_unit(const struct compilation *c, const struct emit_plan *plan)
{
	struct unit_files *by = xcalloc(c->project.nunits + 1, sizeof(*by));
	for (size_t i = 0; i < plan->nfiles; i++) {
		struct unit_files *uf = &by[plan->files[i].unit->index];
		if (!uf->n)
			uf->v = &plan->files[i];
		uf->n++;
	}
	return by;
}

static const char *file_name(const struct out_file *f)
{
	const char *slash = strrchr(f->path, '/');
	return slash ? slash + 1 : f->path;
}

/* Where a unit's files go, and the generated ones (backend, provider):
 * a move to another account or region folder (output.path) is a change
 * even when every byte is the same. */
static void diff_files(const struct unit_files *fx, const struct unit_files *fy, struct buf *out)
{
	if (fx->n && fy->n) {
		size_t dx = (size_t)(file_name(fx->v) - fx->v->path), dy = (size_t)(file_name(fy->v) - fy->v->path);
		if (dx != dy || memcmp(fx->v->path, fy->v->path, dx))
			buf_printf(out, "%soutput folder: %.*s -> %.*s", out->len ? "; " : "", (int)(dx ? dx - 1 : 0),
				   fx->v->path, (int)(dy ? dy - 1 : 0), fy->v->path);
	}
	for (size_t i = 0; i < fx->n; i++) {
		const char *name = file_name(&fx->v[i]);
		bool same = false;
		for (size_t k = 0; k < fy->n; k++)
			if (!strcmp(file_name(&fy->v[k]), name))
				same = XXH128_isEqual(fx->v[i].hash, fy->v[k].hash);
		if (!same && strcmp(name, "terraform.tfvars.json"))
			buf_printf(out, "%s%s differs", out->len ? "; " : "", name);
	}
}

/* The same local module source on both sides, whose files changed.  Each
 * side's source hashes a folder once, however many units name it. */
static bool module_changed(struct project *px, struct project *py, const char *source)
{
	uint64_t hx, hy;
	if (strncmp(source, "//", 2))
		return false;
	return source_module_hash(&px->src, source, px->limits.file_size, &hx) != SRC_OK ||
	       source_module_hash(&py->src, source, py->limits.file_size, &hy) != SRC_OK || hx != hy;
}

/* What differs between one unit's two builds, or NULL when nothing. */
static const char *unit_diff(struct arena *a, struct compilation *cx, struct compilation *cy, const struct unit *x,
			     const struct unit *y, const struct unit_files *fx, const struct unit_files *fy)
{
	struct buf out = BUF_INIT, path = BUF_INIT;
	const char *sx = x->source ? x->source : "", *sy = y->source ? y->source : "";
	if (strcmp(sx, sy))
		buf_printf(&out, "source: %s -> %s", sx, sy);
	else if (module_changed(&cx->project, &cy->project, sx))
		buf_printf(&out, "module %s: its files differ", sx);
	const char *dx = deps_text(a, x), *dy = deps_text(a, y);
	if (strcmp(dx, dy))
		buf_printf(&out, "%sdependencies: [%s] -> [%s]", out.len ? "; " : "", dx, dy);
	buf_puts(&path, "inputs");
	diff_values(a, &path, x->inputs, y->inputs, false, &out);
	diff_files(fx, fy, &out);
	const char *s = out.len ? arena_strdup(a, out.data) : NULL;
	buf_free(&out);
	buf_free(&path);
	return s;
}

/* ---- both sides ---- */

static int compile_side(struct cli *cli, struct compilation *c, const char *rev, bool staged,
			struct emit_plan *plan)
{
	struct selection sel = { 0 };
	struct source_spec spec = { rev, staged };
	(void)cli;
	if (compile_run(c, &sel, &spec) < 0)
		return -1;
	return emit_plan(&c->project, c->units, c->nunits, NULL, true, plan);	/* compared by hash */
}

static int compare_units(const void *a, const void *b)
{
	const struct unit *x = *(struct unit *const *)a, *y = *(struct unit *const *)b;
	int c = strcmp(x->env->label, y->env->label);
	return c ? c : strcmp(x->id, y->id);
}

static struct unit **sorted_units(const struct compilation *c)
{
	struct unit **v = xcalloc(c->nunits + 1, sizeof(*v));
	if (c->nunits) {
		memcpy(v, c->units, c->nunits * sizeof(*v));
		qsort(v, c->nunits, sizeof(*v), compare_units);
	}
	return v;
}

/* Dependants of a changed unit, transitively, that did not change: one
 * walk up the edges from every changed unit, O(units + edges) (rounds
 * that rescanned every unit and the list of changes each were cubic
 * along a chain).  Each names the first of its dependencies, as
 * declared, that changed or is affected; they are added in unit order. */
static void add_affected(struct arena *a, struct compilation *head, struct changes *cs)
{
	enum { NONE, CHANGED, AFFECTED };
	size_t n = head->project.nunits, queued = 0, done = 0;
	unsigned char *state = xcalloc(n + 1, 1);
	const struct unit **queue = xcalloc(n + 1, sizeof(*queue));
	struct dependants d;
	dependants_init(&d, head->units, head->nunits, n);
	/* A removed unit is the base's: nothing of the head depends on it. */
	for (size_t j = 0; j < cs->len; j++)
		if (cs->v[j].kind != CH_REMOVED && state[cs->v[j].unit->index] == NONE) {
			state[cs->v[j].unit->index] = CHANGED;
			queue[queued++] = cs->v[j].unit;
		}
	while (done < queued) {
		const struct unit *t = queue[done++];
		for (size_t e = d.first[t->index]; e < d.first[t->index + 1]; e++) {
			const struct unit *u = head->units[d.of[e]];
			if (state[u->index] == NONE) {
				state[u->index] = AFFECTED;
				queue[queued++] = u;
			}
		}
	}
	for (size_t i = 0; i < head->nunits; i++) {
		const struct unit *u = head->units[i];
		for (size_t k = 0; state[u->index] == AFFECTED && k < u->ndeps; k++) {
			const struct unit *t = u->deps[k].target;
			if (t && state[t->index] != NONE) {
				add_change(cs, CH_AFFECTED, u, arena_printf(a, "via %s:%s", t->env->label, t->id));
				break;
			}
		}
	}
	dependants_free(&d);
	free(queue);
	free(state);
}

static void collect(struct arena *a, struct compilation *base, struct compilation *head,
		    const struct emit_plan *pb, const struct emit_plan *ph, struct changes *cs)
{
	struct unit **x = sorted_units(base), **y = sorted_units(head);
	struct unit_files *fb = files_by_unit(base, pb), *fh = files_by_unit(head, ph);
	size_t i = 0, k = 0;
	while (i < base->nunits || k < head->nunits) {
		int c = i == base->nunits ? 1 : k == head->nunits ? -1 : compare_units(&x[i], &y[k]);
		if (c < 0)
			add_change(cs, CH_REMOVED, x[i], NULL);
		else if (c > 0)
			add_change(cs, CH_ADDED, y[k], NULL);
		else {
			const char *why = unit_diff(a, base, head, x[i], y[k], &fb[x[i]->index], &fh[y[k]->index]);
			if (why)
				add_change(cs, CH_CHANGED, y[k], why);
		}
		i += c <= 0;
		k += c >= 0;
	}
	free(x);
	free(y);
	free(fb);
	free(fh);
	add_affected(a, head, cs);
}

/* ---- output ---- */

static void write_text(const struct changes *cs, struct buf *out)
{
	size_t n[4] = { 0 };
	for (size_t i = 0; i < cs->len; i++) {
		const struct change *ch = &cs->v[i];
		n[ch->kind]++;
		buf_printf(out, "%-9s%s:%s", kind_name(ch->kind), ch->unit->env->label, ch->unit->id);
		if (ch->why)
			buf_printf(out, "\n  %s", ch->why);
		buf_putc(out, '\n');
	}
	buf_printf(out, "changes: %zu changed, %zu added, %zu removed, %zu affected via dependency\n",
		   n[CH_CHANGED], n[CH_ADDED], n[CH_REMOVED], n[CH_AFFECTED]);
}

static void write_markdown(const struct changes *cs, struct buf *out)
{
	buf_printf(out, "### bulkhead changes: %zu unit%s\n\n| change | env | unit | what |\n|---|---|---|---|\n",
		   cs->len, cs->len == 1 ? "" : "s");
	for (size_t i = 0; i < cs->len; i++) {
		const struct change *ch = &cs->v[i];
		buf_printf(out, "| %s | %s | ", kind_name(ch->kind), ch->unit->env->label);
		md_code(out, ch->unit->id);
		buf_puts(out, " | ");
		md_text(out, ch->why);
		buf_puts(out, " |\n");
	}
}

static void write_json(struct arena *a, const struct changes *cs, struct buf *out)
{
	struct value *list = value_list(a, cs->len, NULL);
	for (size_t i = 0; i < cs->len; i++) {
		const struct change *ch = &cs->v[i];
		struct value *m = value_map_room(a, 4);
		value_map_add(m, "change", value_cstr(a, kind_name(ch->kind)));
		value_map_add(m, "detail", ch->why ? value_cstr(a, ch->why) : value_null(a, NULL));
		value_map_add(m, "env", value_cstr(a, ch->unit->env->label));
		value_map_add(m, "unit", value_cstr(a, ch->unit->id));
		list->list.items[i] = m;
	}
	value_to_json(list, out);
	buf_putc(out, '\n');
}

static int compare_changes(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return compare_units(&x->unit, &y->unit);
}

int cmd_changes(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "base", required_argument, NULL, OPT_BASE },
		{ "head", required_argument, NULL, OPT_HEAD },
		{ "format", required_argument, NULL, OPT_FORMAT_C },
		{ "exit-code", no_argument, NULL, OPT_EXIT_CODE },
		{ 0 },
	};
	const struct command *cmd = cli_find_command("changes");
	struct changes_opts o = { .format = "text" };
	struct compilation base, head;
	struct emit_plan pb = { 0 }, ph = { 0 };
	struct changes cs = { 0 };
	struct arena scratch;
	int status = EXIT_ERROR;
	memset(&base, 0, sizeof(base));
	memset(&head, 0, sizeof(head));
	arena_init(&scratch);
	int first = cli_parse(cli, cmd, argc, argv, CLI_COMMON_SHORTOPTS, longopts, changes_option, &o);
	if (first < 0)
		goto out;
	if (first < argc) {
		status = cli_usage_error(cmd, "unexpected argument '%s'", argv[first]);
		goto out;
	}
	if (!o.base || (o.head && cli->spec.staged) || cli->spec.rev ||
	    (strcmp(o.format, "text") && strcmp(o.format, "json") && strcmp(o.format, "markdown"))) {
		status = cli_usage_error(cmd, "%s", !o.base ? "missing --base REV"
					 : cli->spec.rev ? "use --base and --head, not --rev"
					 : o.head && cli->spec.staged ? "give --head or --staged, not both"
					 : "--format takes text, json or markdown");
		goto out;
	}
	if (compile_side(cli, &base, o.base, false, &pb) < 0 ||
	    compile_side(cli, &head, o.head, cli->spec.staged, &ph) < 0)
		goto out;
	collect(&scratch, &base, &head, &pb, &ph, &cs);
	if (cs.len)
		qsort(cs.v, cs.len, sizeof(*cs.v), compare_changes);
	struct buf out = BUF_INIT;
	if (!strcmp(o.format, "json"))
		write_json(&scratch, &cs, &out);
	else if (!strcmp(o.format, "markdown"))
		write_markdown(&cs, &out);
	else
		write_text(&cs, &out);
	fputs(buf_cstr(&out), stdout);
	buf_free(&out);
	status = o.exit_code && cs.len ? EXIT_FINDINGS : EXIT_CLEAN;
out:
	free(cs.v);
	emit_plan_free(&pb);
	emit_plan_free(&ph);
	status = cli_finish(cli, status);
	compile_free(&base);
	compile_free(&head);
	arena_free(&scratch);
	return status;
}
