/* eval.h - evaluate a unit's merged config into values.
 *
 * Evaluation is lazy and memoised: a local is computed on first use and
 * a cycle among locals is reported with its chain.  Every value keeps the
 * node that defined it (provenance).  Evaluation performs no I/O except
 * reading the project's own files through the source (file(), outputs). */
#ifndef BULKHEAD_EVAL_H
#define BULKHEAD_EVAL_H

#include "expr.h"
#include "project.h"

/* Resolves the unit's dependency paths (u->deps); needed before the DAG. */
int eval_dependencies(struct project *p, struct unit *u);
/* The same from a worker's arena: reads only the unit and p's envs. */
int eval_dependencies_in(struct project *p, struct unit *u, struct arena *a);
/* Sets u->inputs and u->source; dependencies' targets must be evaluated
 * first (the DAG gives that order).  Returns -1 after reporting. */
int eval_unit(struct project *p, struct unit *u);

/* For evaluating units on workers (compile.c): eval_prepare_shared builds
 * the values every unit shares (env.*, envs.*, each var.*) first, on one
 * thread; eval_unit_in then takes the arena of the worker, and touches
 * the project's template cache and dependency outputs only under its
 * lock.  eval_reset_unit forgets an evaluation, to redo it on one thread
 * after a worker failed (its reports were muted). */
void eval_prepare_shared(struct project *p);
int eval_unit_in(struct project *p, struct unit *u, struct arena *arena);
void eval_reset_unit(struct unit *u);

/* The key node of each pair of a map whose keys were evaluated, in pair
 * order ("${env.name}-logs" for the pair "dev-logs"); NULL for a map
 * whose keys were all written as they are. */
const struct node *const *eval_key_nodes(const struct project *p, const struct value *map);

/* "dependency.vpc.outputs.vpc_id": the mocked value m names. */
const char *mock_ref(struct arena *a, const struct mock_use *m);

/* Evaluates a node (a template file, say) in the unit's scope. */
struct value *eval_unit_node(struct project *p, struct unit *u, const struct node *n);
/* Evaluates e (a part of the template of where) in the unit's scope,
 * into arena; used to read the knobs a definition depends on. */
struct value *eval_unit_expr(struct project *p, struct unit *u, struct arena *arena, const struct node *where,
			     const struct expr *e);
/* The parsed template of a string scalar holding "${", else NULL. */
const struct expr *eval_template_of(struct project *p, const struct node *n);

/* Evaluates text as a template against context, a map whose keys are the
 * reference roots (env, var, local, ...).  Errors are reported against a
 * file holding just the text.  For tests and tools. */
struct value *eval_text(struct arena *a, const struct srcfile *file, const struct value *context,
			const struct limits *lim);

/* Prints v as JSON for people: sensitive values show as "(sensitive)". */
void value_to_json_redacted(const struct value *v, struct buf *out);

#endif
