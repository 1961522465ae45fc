/* explain.h - provenance of a unit's inputs, for show --explain. */
#ifndef BULKHEAD_EXPLAIN_H
#define BULKHEAD_EXPLAIN_H

#include "project.h"

/* One entry per input leaf: its value, file:line:col of its definition,
 * every definition it overrode, and the include chains. */
void explain_unit(struct project *p, const struct unit *u, struct buf *out);

#endif
