/* dag.h - the dependency graph: targets, cycles, levels. */
#ifndef BULKHEAD_DAG_H
#define BULKHEAD_DAG_H

#include "project.h"

/* Checks every dependency of the given units names a target unit,
 * reports unknown targets and cycles (naming every edge), both in one
 * run, and sets each unit's level: 0 without dependencies, else 1 + the
 * deepest target. */
int dag_build(struct project *p, struct unit **units, size_t n);

#endif
