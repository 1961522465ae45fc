/* compile.c - drive the phases: project -> merge -> eval -> dag. */
#include "cli.h"
#include "dag.h"
#include "eval.h"
#include "glob.h"
#include "include.h"
#include "parallel.h"
#include "schema.h"
#include "template.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static int check_selection(const struct project *p, const struct selection *sel)
{
	int rc = 0;
	const char **names = xcalloc(p->nenvs * 2 + 1, sizeof(char *));
	for (size_t i = 0; i < p->nenvs; i++) {
		names[2 * i] = p->envs[i]->label;
		names[2 * i + 1] = p->envs[i]->name;
	}
	for (size_t i = 0; i < sel->nenvs; i++) {
		bool found = false;
		for (size_t k = 0; k < p->nenvs && !found; k++)
			found = !strcmp(sel->envs[i], p->envs[k]->label) || !strcmp(sel->envs[i], p->envs[k]->name);
		if (found)
			continue;
		const char *hint = schema_suggest(sel->envs[i], names);
		diag_error(NULL, 0, "unknown environment '%s'%s%s%s", sel->envs[i],
			   hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
		rc = -1;
	}
	free(names);
	return rc;
}

static int check_unit_globs(const struct compilation *c, const struct selection *sel)
{
	int rc = 0;
	for (size_t g = 0; g < sel->nunits; g++) {
		bool hit = false;
		for (size_t i = 0; i < c->nunits && !hit; i++)
			hit = glob_match(sel->units[g], c->units[i]->id);
		if (!hit) {
			diag_error(NULL, 0, "--unit '%s' matches no unit of the selected environments", sel->units[g]);
			rc = -1;
		}
	}
	return rc;
}

static int compare_levels(const void *a, const void *b)
{
	const struct unit *x = *(struct unit *const *)a, *y = *(struct unit *const *)b;
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return x < y ? -1 : x > y;
}

static bool deps_evaluated(const struct unit *u)
{
	for (size_t k = 0; k < u->ndeps; k++)
		if (!u->deps[k].target->inputs)
			return false;
	return true;
}

/* Units in level order on every worker, with no barrier between levels
 * (the bench repo has 260 levels, most of a few units, and a barrier at
 * each left a core idle): a worker that takes a unit first waits for its
 * dependencies.  They come earlier in the order, so other workers took
 * them before and are evaluating them, or are done: nobody waits on an
 * item that no worker holds. */
enum { EVAL_PENDING, EVAL_DONE, EVAL_FAILED };

struct dag_eval {
	struct project *p;
	struct unit **order;
	atomic_uchar *state;	/* by unit index */
	atomic_bool failed;
};

static bool wait_for_deps(struct dag_eval *de, const struct unit *u)
{
	for (size_t k = 0; k < u->ndeps; k++) {
		atomic_uchar *state = &de->state[u->deps[k].target->index];
		unsigned char s;
		while ((s = atomic_load_explicit(state, memory_order_acquire)) == EVAL_PENDING) {
			if (atomic_load_explicit(&de->failed, memory_order_relaxed))
				return false;
			sched_yield();
		}
		if (s != EVAL_DONE)
			return false;
	}
	return true;
}

static void eval_one(void *ctx, size_t i, struct arena *arena)
{
	struct dag_eval *de = ctx;
	struct unit *u = de->order[i];
	bool ok = !atomic_load_explicit(&de->failed, memory_order_relaxed) && wait_for_deps(de, u) &&
		  eval_unit_in(de->p, u, arena) == 0;
	if (!ok)
		atomic_store(&de->failed, true);
	atomic_store_explicit(&de->state[u->index], ok ? EVAL_DONE : EVAL_FAILED, memory_order_release);
}

/* True when every unit evaluated on the workers.  Otherwise the caller
 * forgets it all and evaluates on one thread, which reports the errors
 * the muted workers did not. */
static bool eval_in_parallel(struct project *p, struct unit **order, unsigned jobs)
{
	struct dag_eval de = { .p = p, .order = order, .state = xcalloc(p->nunits, sizeof(*de.state)) };
	atomic_init(&de.failed, false);
	for (size_t i = 0; i < p->nunits; i++)
		atomic_init(&de.state[i], EVAL_PENDING);
	size_t failures = p->template_failures;
	eval_prepare_shared(p);
	parallel_for(p->nunits, jobs, project_worker_arenas(p, jobs), eval_one, &de);
	bool ok = !atomic_load(&de.failed) && p->template_failures == failures;
	free(de.state);
	if (ok)
		return true;
	for (size_t i = 0; i < p->nunits; i++)
		eval_reset_unit(p->units[i]);
	return false;
}

/* Dependencies first, so dependency.NAME.inputs reads evaluated values. */
static int eval_in_order(struct project *p)
{
	struct unit **order = xcalloc(p->nunits + 1, sizeof(*order));
	unsigned jobs = parallel_jobs(p->jobs);
	int rc = 0;
	if (p->nunits)
		memcpy(order, p->units, p->nunits * sizeof(*order));
	qsort(order, p->nunits, sizeof(*order), compare_levels);
	if (jobs > 1 && p->nunits > 1 && eval_in_parallel(p, order, jobs)) {
		free(order);
		return 0;
	}
	for (size_t i = 0; i < p->nunits; i++)
		if (!deps_evaluated(order[i]) || eval_unit(p, order[i]) < 0)
			rc = -1;
	free(order);
	return rc;
}

static int resolve_unit_in(struct project *p, struct unit *u, struct arena *a)
{
	if (include_resolve_unit_in(p, u, a) < 0 || include_resolve_vars_in(p, u, a) < 0 ||
	    eval_dependencies_in(p, u, a) < 0)
		return -1;
	return 0;
}

struct unit_resolve {
	struct project *p;
	atomic_bool failed;
};

static void resolve_one(void *ctx, size_t i, struct arena *arena)
{
	struct unit_resolve *ur = ctx;
	if (resolve_unit_in(ur->p, ur->p->units[i], arena) < 0)
		atomic_store(&ur->failed, true);
}

static void forget_resolution(struct unit *u)
{
	u->config = u->vars = NULL;
	u->base_overrides = NULL;
	map_free(&u->exposed);
	map_free(&u->overrides);
	map_free(&u->chains);
	map_init(&u->exposed);
	map_init(&u->overrides);
	map_init(&u->chains);
	u->deps = NULL;
	u->ndeps = 0;
}

/* True when every unit's includes, vars and dependency paths resolved on
 * the workers.  Otherwise the caller forgets it all and resolves on one
 * thread, which reports the errors (a load or merge that failed muted is
 * cached as unreported, and done again there). */
static bool resolve_in_parallel(struct project *p, unsigned jobs)
{
	struct unit_resolve ur = { .p = p };
	atomic_init(&ur.failed, false);
	parallel_for(p->nunits, jobs, project_worker_arenas(p, jobs), resolve_one, &ur);
	if (!atomic_load(&ur.failed))
		return true;
	for (size_t i = 0; i < p->nunits; i++)
		forget_resolution(p->units[i]);
	return false;
}

int compile_units(struct project *p)
{
	int rc = 0;
	unsigned jobs = parallel_jobs(p->jobs);
	project_prefetch_units(p);
	if (jobs < 2 || p->nunits < 2 || !resolve_in_parallel(p, jobs))
		for (size_t i = 0; i < p->nunits; i++)
			if (resolve_unit_in(p, p->units[i], &p->arena) < 0)
				rc = -1;
	if (rc == 0)
		rc = dag_build(p, p->units, p->nunits);
	if (rc == 0)
		rc = eval_in_order(p);
	return rc;
}

int compile_run(struct compilation *c, const struct selection *sel, const struct source_spec *spec)
{
	struct buf root = BUF_INIT;
	struct project *p = &c->project;
	int rc = -1;
	memset(c, 0, sizeof(*c));
	if (project_find_root(".", &root) < 0) {
		diag_error(NULL, 0, "no bulkhead.yaml found in this directory or any parent");
		goto out;
	}
	c->opened = true;
	if (spec->rev && spec->staged) {
		diag_error(NULL, 0, "give --rev or --staged, not both");
		goto out;
	}
	if (project_open(p, root.data, spec) < 0 || check_selection(p, sel) < 0 ||
	    (p->generate && template_check_names(p, p->generate) < 0))
		goto out;
	/* Every unit is merged and evaluated, so a broken unit outside the
	 * selection still fails the run: dependencies may reach it. */
	if (compile_units(p) < 0)
		goto out;
	c->units = ARENA_ARRAY(&p->arena, struct unit *, p->nunits + 1);
	for (size_t i = 0; i < p->nunits; i++)
		if (selection_has_unit(sel, p->units[i]->env->label, p->units[i]->env->name, p->units[i]->id))
			c->units[c->nunits++] = p->units[i];
	rc = check_unit_globs(c, sel);
out:
	buf_free(&root);
	return rc;
}

void compile_free(struct compilation *c)
{
	if (c->opened)
		project_close(&c->project);
	c->opened = false;
}

int require_single_env(const struct project *p, const char *env)
{
	size_t matches = 0;
	struct buf labels = BUF_INIT;
	for (size_t i = 0; i < p->nenvs; i++)
		if (!strcmp(p->envs[i]->name, env) || !strcmp(p->envs[i]->label, env))
			buf_printf(&labels, "%s%s", matches++ ? ", " : "", p->envs[i]->label);
	if (matches > 1)
		diag_error(NULL, 0, "environment '%s' has several regions; name one: %s", env, labels.data);
	buf_free(&labels);
	return matches > 1 ? -1 : 0;
}
