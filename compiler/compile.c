/* compile.c - drive the phases: project -> merge -> eval -> dag. */
#include "cli.h"
#include "dag.h"
#include "eval.h"
#include "glob.h"
#include "include.h"
#include "parallel.h"
#include "schema.h"
#include "template.h"

#include <pthread.h>
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

/* Units are evaluated as soon as their dependencies are: a unit becomes
 * ready when the last of them is done, and workers take ready units first
 * come, first served.  (Taking them in level order, a worker waited for
 * the other to finish a dependency: the bench repo has 260 levels of a
 * few units each, and a tenth of the evaluation went to waiting.)  The
 * results do not depend on the order: a unit reads only its own
 * dependencies, done before it starts. */
struct dag_eval {
	struct project *p;
	size_t *waiting_on;	/* by unit index: dependencies not yet done */
	struct dependants dependants;	/* project.units depend on each unit */
	size_t *ready;		/* a queue of unit indexes, each pushed once */
	size_t nready, ntaken;
	size_t idle;		/* workers waiting for a ready unit */
	bool failed;
	pthread_mutex_t lock;
	pthread_cond_t more;
};

/* Every edge counts, so a unit naming one target twice waits for it once
 * per edge and is released by it once per edge. */
static void dag_eval_init(struct dag_eval *de, struct project *p)
{
	size_t n = p->nunits;
	*de = (struct dag_eval){ .p = p, .waiting_on = xcalloc(n + 1, sizeof(size_t)),
				 .ready = xcalloc(n + 1, sizeof(size_t)) };
	for (size_t i = 0; i < n; i++)
		de->waiting_on[i] = p->units[i]->ndeps;
	/* Positions in project.units are unit indexes. */
	dependants_init(&de->dependants, p->units, n, n);
	/* Units without dependencies start. */
	for (size_t i = 0; i < n; i++)
		if (!de->waiting_on[i])
			de->ready[de->nready++] = i;
	pthread_mutex_init(&de->lock, NULL);
	pthread_cond_init(&de->more, NULL);
}

static void dag_eval_free(struct dag_eval *de)
{
	pthread_mutex_destroy(&de->lock);
	pthread_cond_destroy(&de->more);
	free(de->waiting_on);
	dependants_free(&de->dependants);
	free(de->ready);
}

/* The next ready unit, waiting while there is none; NULL once a unit
 * failed (its dependants would never be ready). */
static struct unit *take_ready(struct dag_eval *de)
{
	struct unit *u = NULL;
	pthread_mutex_lock(&de->lock);
	while (!de->failed && de->ntaken == de->nready) {
		de->idle++;
		pthread_cond_wait(&de->more, &de->lock);
		de->idle--;
	}
	if (!de->failed)
		u = de->p->units[de->ready[de->ntaken++]];
	pthread_mutex_unlock(&de->lock);
	return u;
}

/* u is done (or failed): release its dependants, waking idle workers. */
static void finish_unit(struct dag_eval *de, const struct unit *u, bool ok)
{
	pthread_mutex_lock(&de->lock);
	size_t was_ready = de->nready;
	if (!ok)
		de->failed = true;
	const struct dependants *d = &de->dependants;
	for (size_t e = d->first[u->index]; ok && e < d->first[u->index + 1]; e++)
		if (--de->waiting_on[d->of[e]] == 0)
			de->ready[de->nready++] = d->of[e];
	if (de->idle && (!ok || de->nready > was_ready))
		pthread_cond_broadcast(&de->more);
	pthread_mutex_unlock(&de->lock);
}

/* Item i is "take a ready unit": there are as many items as units, and
 * each unit becomes ready exactly once. */
static void eval_one(void *ctx, size_t i, struct arena *arena)
{
	struct dag_eval *de = ctx;
	struct unit *u = take_ready(de);
	(void)i;
	if (u)
		finish_unit(de, u, eval_unit_in(de->p, u, arena) == 0);
}

/* True when every unit evaluated on the workers.  Otherwise the caller
 * forgets it all and evaluates on one thread, which reports the errors
 * the muted workers did not. */
static bool eval_in_parallel(struct project *p, unsigned jobs)
{
	struct dag_eval de;
	dag_eval_init(&de, p);
	size_t failures = p->template_failures;
	eval_prepare_shared(p);
	parallel_for(p->nunits, jobs, project_worker_arenas(p, jobs), eval_one, &de);
	bool ok = !de.failed && p->template_failures == failures;
	dag_eval_free(&de);
	if (ok)
		return true;
	for (size_t i = 0; i < p->nunits; i++)
		eval_reset_unit(p->units[i]);
	return false;
}

/* Whether dependency d of u can give no values, for a reason reported
 * already: a refused path, no such unit or u itself, a broken unit, a
 * unit whose evaluation failed. */
static bool dep_unusable(const struct unit *u, const struct dependency *d, const bool *done)
{
	const struct unit *t = d->target;
	return d->refused || !t || t == u || t->broken || (done[t->index] && !t->inputs);
}

/* Marks each dependency of u that gives no values now: unusable, or
 * not evaluated yet (a cycle's, when u is evaluated after the passes). */
static void mark_unusable(struct unit *u, const bool *done)
{
	for (size_t k = 0; k < u->ndeps; k++) {
		struct dependency *d = &u->deps[k];
		d->unusable = dep_unusable(u, d, done) || !done[d->target->index];
	}
}

/* Whether u can be evaluated now: when each dependency has its
 * evaluated inputs or never will.  Marks the ones that never will. */
static bool deps_ready(struct unit *u, const bool *done)
{
	for (size_t k = 0; k < u->ndeps; k++)
		if (!dep_unusable(u, &u->deps[k], done) && !done[u->deps[k].target->index])
			return false;
	mark_unusable(u, done);
	return true;
}

/* On one thread, dependencies first, so dependency.NAME.inputs reads
 * evaluated values; after errors too, so that every unit that can be
 * evaluated reports its own.  A reference to a dependency that failed
 * fails quietly: the unit's other errors show, not that one's again.
 * Passes go on while they evaluate something (the levels are only a
 * good order once the DAG is sound); units of a cycle are never ready,
 * and are evaluated last. */
static int eval_serially(struct project *p)
{
	int rc = 0;
	struct unit **order = xcalloc(p->nunits + 1, sizeof(*order));
	bool *done = xcalloc(p->nunits + 1, sizeof(*done));
	if (p->nunits)
		memcpy(order, p->units, p->nunits * sizeof(*order));
	qsort(order, p->nunits, sizeof(*order), compare_levels);
	for (bool progress = true; progress;) {
		progress = false;
		for (size_t i = 0; i < p->nunits; i++) {
			struct unit *u = order[i];
			if (done[u->index] || (!u->broken && !deps_ready(u, done)))
				continue;
			done[u->index] = progress = true;
			if (u->broken || eval_unit(p, u) < 0)
				rc = -1;
		}
	}
	/* Left: units of a cycle (reported) and units waiting on one.  Each
	 * is evaluated all the same, in order, with what it still waits for
	 * taken as unusable, so that its own errors show in this run too. */
	for (size_t i = 0; i < p->nunits; i++) {
		struct unit *u = order[i];
		if (done[u->index])
			continue;
		mark_unusable(u, done);
		done[u->index] = true;
		eval_unit(p, u);
		rc = -1;
	}
	free(order);
	free(done);
	return rc;
}

/* Dependencies first; on the workers while nothing failed before. */
static int eval_in_order(struct project *p, bool sound)
{
	unsigned jobs = parallel_jobs(p->jobs);
	if (sound && jobs > 1 && p->nunits > 1 && eval_in_parallel(p, jobs))
		return 0;
	return eval_serially(p);
}

/* A unit whose includes or vars fail is broken: it is not evaluated.
 * One with a refused dependency path is, all the same. */
static int resolve_unit_in(struct project *p, struct unit *u, struct arena *a)
{
	if (include_resolve_unit_in(p, u, a) < 0 || include_resolve_vars_in(p, u, a) < 0) {
		u->broken = true;
		return -1;
	}
	return eval_dependencies_in(p, u, a);
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
		unit_forget_resolution(p->units[i]);
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
	/* Every phase runs on what the last left sound: all errors are
	 * collected in one run (SPEC 6). */
	if (dag_build(p, p->units, p->nunits) < 0)
		rc = -1;
	if (eval_in_order(p, rc == 0) < 0)
		rc = -1;
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
	 * selection still fails the run: dependencies may reach it.  So is
	 * every sound unit after a discovery error, to report all errors. */
	if (compile_units(p) < 0 || p->discovery_failed)
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
