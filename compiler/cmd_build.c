/* cmd_build.c - bulkhead build: write every selected unit's files. */
#include "cache.h"
#include "cache_dir.h"
#include "cli.h"
#include "eval.h"

#include <stdlib.h>
#include <string.h>

static void push(const char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

/* The output dir, absolute and with "." and ".." folded: -o as given
 * (relative to the -C dir), else the project's output.dir beneath the
 * root.  *display is how messages name it. */
static char *output_dir(const struct project *p, const char *opt, char **display)
{
	struct buf folded = BUF_INIT;
	char *cwd = NULL, *dir;
	*display = xstrdup(opt ? opt : p->output_dir);
	if (!opt) {
		buf_printf(&folded, "%s/%s", p->root, p->output_dir);
		return buf_detach(&folded, NULL);
	}
	if (opt[0] != '/')
		cwd = realpath(".", NULL);
	if (path_join(cwd ? cwd + 1 : "", opt[0] == '/' ? opt + 1 : opt, &folded) < 0)
		buf_reset(&folded);
	dir = xmalloc(folded.len + 2);
	snprintf(dir, folded.len + 2, "/%s", buf_cstr(&folded));
	buf_free(&folded);
	free(cwd);
	return dir;
}

/* build refuses mocked outputs for protected envs unless --allow-mocks. */
static int check_mocks(struct compilation *c, bool allow_mocks)
{
	int rc = 0;
	for (size_t i = 0; i < c->nunits; i++) {
		const struct unit *u = c->units[i];
		if (!u->env->is_protected || allow_mocks)
			continue;
		for (const struct mock_use *m = u->mocks; m; m = m->next) {
			diag_error(m->file, m->off,
				   "'%s' comes from mock_outputs, and '%s' is protected: add its outputs file or pass --allow-mocks",
				   mock_ref(&c->project.arena, m), u->env->label);
			rc = -1;
		}
	}
	return rc;
}

struct build_opts {
	struct selection sel;
	const char *out;
	const char *baseline;
	bool check, allow_mocks;
};

static int build_option(void *ctx, int opt, const char *arg)
{
	struct build_opts *o = ctx;
	switch (opt) {
	case 'e': push(&o->sel.envs, &o->sel.nenvs, arg); return 0;
	case 'u': push(&o->sel.units, &o->sel.nunits, arg); return 0;
	case 'o': o->out = arg; return 0;
	case OPT_CHECK: o->check = true; return 0;
	case OPT_ALLOW_MOCKS: o->allow_mocks = true; return 0;
	case OPT_GATE_BASELINE: o->baseline = arg; return 0;
	default: return -1;
	}
}

struct link_probe {
	const struct project *p;
	const char *rel;
	struct buf prefix;
};

static bool link_component(void *ctx, const char *name, size_t len, size_t end)
{
	struct link_probe *lp = ctx;
	struct source *src = (struct source *)&lp->p->src;
	enum src_kind kind;
	size_t size;
	(void)name, (void)len;
	buf_reset(&lp->prefix);
	buf_add(&lp->prefix, lp->rel, end);
	return src->ops->lstat(src, lp->prefix.data, &kind, &size) == 0 && kind == SRC_LINK;
}

/* True when a component of the root-relative path is a symlink. */
static bool path_has_link(const struct project *p, const char *rel)
{
	struct link_probe lp = { p, rel, BUF_INIT };
	bool link = path_any_component(rel, link_component, &lp);
	buf_free(&lp.prefix);
	return link;
}

/* Refuses an output dir inside an environment folder: a build would then
 * write files that discovery reads back as part of the repo. */
static int check_output_dir(const struct project *p, const char *out_dir, const char *display)
{
	size_t n = strlen(p->root);
	if (strncmp(out_dir, p->root, n) || (out_dir[n] != '/' && out_dir[n] != '\0'))
		return 0;
	const char *rel = out_dir[n] ? out_dir + n + 1 : "";
	if (path_has_link(p, rel)) {
		diag_error(NULL, 0, "output dir '%s' is a symlink or lies behind one: refusing to write through it",
			   display);
		return -1;
	}
	for (size_t i = 0; i < p->nenvs; i++)
		if (path_within(rel, p->envs[i]->dir) || path_within(p->envs[i]->dir, rel)) {
			diag_error(NULL, 0, "output dir '%s' overlaps the folder '%s' of environment '%s'",
				   *rel ? rel : ".", p->envs[i]->dir, p->envs[i]->label);
			return -1;
		}
	return 0;
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* build --check --staged (or --rev) compares with the outputs the commit
 * holds when the output dir is tracked there; else with the work tree. */
static void track_committed_outputs(struct project *p, const struct source_spec *spec, bool check,
				    const char *out_dir, struct emit_plan *plan)
{
	size_t n = strlen(p->root);
	if (!check || (!spec->rev && !spec->staged) || strncmp(out_dir, p->root, n) || out_dir[n] != '/')
		return;
	const char *rel = out_dir + n + 1;
	if (source_kind(&p->src, rel) != SRC_DIR)
		return;
	plan->tracked = &p->src;
	plan->tracked_dir = arena_strdup(&p->arena, rel);
	plan->tracked_arena = &p->arena;
}

/* The values are in the plan and the manifest by now.  A diagnostic held
 * for printing may still need its file's text. */
static void forget_compiled(void *ctx)
{
	struct compilation *c = ctx;
	if (!diag_count())
		project_forget_compiled(&c->project);
}

/* The cache file for this build, or NULL when there is no project. */
static char *build_cache_path(const struct build_opts *o)
{
	struct buf root = BUF_INIT;
	char *path = NULL;
	if (project_find_root(".", &root) == 0) {
		char *out = NULL;
		if (o->out) {
			char *cwd = realpath(".", NULL);
			struct buf b = BUF_INIT;
			buf_printf(&b, "%s|%s", cwd ? cwd : "", o->out);
			out = buf_detach(&b, NULL);
			free(cwd);
		}
		path = cache_file(root.data, out, &o->sel, o->allow_mocks);
		free(out);
	}
	buf_free(&root);
	return path;
}

/* Answers a build whose inputs and outputs are all unchanged. */
static bool cached_build(struct cli *cli, const char *path)
{
	struct buf root = BUF_INIT;
	struct cache_summary sum;
	bool fresh = project_find_root(".", &root) == 0 && cache_fresh(path, root.data, cli->spec.jobs, &sum);
	if (fresh && !cli->quiet)
		printf("build: %zu %s, 0 files written, %zu unchanged, 0 removed\n", sum.units,
		       plural(sum.units, "unit", "units"), sum.files);
	buf_free(&root);
	return fresh;
}

int cmd_build(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "env", required_argument, NULL, 'e' },
		{ "unit", required_argument, NULL, 'u' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "allow-mocks", no_argument, NULL, OPT_ALLOW_MOCKS },
		{ "baseline", required_argument, NULL, OPT_GATE_BASELINE },
		{ 0 },
	};
	const struct command *cmd = cli_find_command("build");
	struct build_opts o = { 0 };
	int status = EXIT_ERROR;
	struct compilation c;
	struct emit_plan plan = { 0 };
	struct emit_result res = { 0 };
	char *out_dir = NULL, *display = NULL, *cache_path = NULL;
	struct trace trace;
	struct cached_outputs written = { 0 };
	trace_init(&trace);
	map_init(&written.files);
	memset(&c, 0, sizeof(c));
	int first = cli_parse(cli, cmd, argc, argv, CLI_COMMON_SHORTOPTS "o:e:u:", longopts, build_option, &o);
	if (first < 0)
		goto out;
	if (first < argc) {
		status = cli_usage_error(cmd, "unexpected argument '%s'", argv[first]);
		goto out;
	}
	/* A plain build of the work tree may be answered from the cache; not
	 * one whose findings a baseline file may take (the cache would not
	 * know that file). */
	bool cacheable = !o.check && !cli->spec.rev && !cli->spec.staged && !o.baseline;
	struct source_spec spec = cli->spec;
	if (cacheable && (cache_path = build_cache_path(&o)) && cached_build(cli, cache_path)) {
		status = EXIT_CLEAN;
		goto out;
	}
	if (cacheable)
		spec.trace = &trace;
	spec.mock_reads = true;
	if (compile_run(&c, &o.sel, &spec) < 0 || check_mocks(&c, o.allow_mocks) < 0)
		goto out;
	/* Error-class findings: build writes nothing and exits 1; --check
	 * still lists what would change. */
	int gate = findings_gate(&c, "build", o.baseline);
	if (gate == -2)
		goto out;
	bool findings = gate < 0;
	if (findings && !o.check) {
		status = EXIT_FINDINGS;
		goto out;
	}
	out_dir = output_dir(&c.project, o.out, &display);
	if (check_output_dir(&c.project, out_dir, display) < 0)
		goto out;
	if (cache_path)
		cache_outputs(cache_path, out_dir, &written);
	if (emit_plan(&c.project, c.units, c.nunits, cache_path ? &written : NULL, false, &plan) < 0)
		goto out;
	if (cache_path)
		cache_prepare(cache_path);
	track_committed_outputs(&c.project, &cli->spec, o.check, out_dir, &plan);
	plan.before_writing = forget_compiled;
	plan.before_writing_ctx = &c;
	if (emit_write(&c.project, &plan, &o.sel, out_dir, display, o.check, cli->quiet, &res) < 0)
		goto out;
	project_wait_parse_store(&c.project);
	if (cache_path && !diag_error_count())
		cache_store(cache_path, &trace, &c.project, out_dir, &plan, &res);
	bool changed = res.written || res.removed || res.manifest_changed;
	if (!cli->quiet)
		printf("%s: %zu %s, %zu %s %s, %zu unchanged, %zu %s\n", o.check ? "build --check" : "build",
		       c.nunits, plural(c.nunits, "unit", "units"), res.written, plural(res.written, "file", "files"),
		       o.check ? "to write" : "written", res.unchanged, res.removed,
		       o.check ? "to remove" : "removed");
	status = (o.check && changed) || findings ? EXIT_FINDINGS : EXIT_CLEAN;
out:
	trace_free(&trace);
	cache_outputs_free(&written);
	free(cache_path);
	emit_result_free(&res);
	emit_plan_free(&plan);
	free(out_dir);
	free(display);
	free(o.sel.envs);
	free(o.sel.units);
	status = cli_finish(cli, status);
	compile_free(&c);
	return status;
}
