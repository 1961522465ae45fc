/* dag.h - the dependency graph: targets, cycles, levels. */
#ifndef BULKHEAD_DAG_H
#define BULKHEAD_DAG_H

#include "project.h"

/* Checks every dependency of the given units names a target unit,
 * reports unknown targets and cycles (naming every edge), both in one
 * run, and sets each unit's level: 0 without dependencies, else 1 + the
 * deepest target. */
int dag_build(struct project *p, struct unit **units, size_t n);

/* The units that depend on each unit, grouped by the unit they depend on:
 * those of the unit at project index t are units[of[e]] for e from
 * first[t] up to first[t + 1].  A unit naming one target twice is there
 * twice; a dependency without a target is left out. */
struct dependants {
	size_t *first;	/* by project index, up to the project's nunits */
	size_t *of;	/* positions in the units the edges came from */
};
void dependants_init(struct dependants *d, struct unit *const *units, size_t n, size_t nindex);
void dependants_free(struct dependants *d);

#endif
