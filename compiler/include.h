/* include.h - include resolution, path confinement and merging.
 *
 * A unit's includes are linearised depth-first; a file reached twice (a
 * diamond) applies once, at its first position; the including file comes
 * last.  Maps merge deeply, lists and scalars replace; the tags !append,
 * !replace and !unset adjust one node. */
#ifndef BULKHEAD_INCLUDE_H
#define BULKHEAD_INCLUDE_H

#include "project.h"

enum merge_mode { MERGE_DEEP, MERGE_SHALLOW, MERGE_NONE };

/* Merges over onto base (either may be NULL) and returns the result with
 * every tag applied and removed.  Errors are reported; returns NULL then.
 * When overrides is given, each leaf that replaced an inherited one is
 * recorded there (node address -> struct override). */
struct node *merge_nodes(struct arena *a, const struct node *base, const struct node *over,
			 enum merge_mode mode, struct map *overrides);

/* Sets u->config and u->exposed.  Returns -1 after reporting errors.
 * The _in forms allocate from a worker's arena and may run on several
 * workers at once (shared caches are taken under p->lock). */
int include_resolve_unit(struct project *p, struct unit *u);
int include_resolve_unit_in(struct project *p, struct unit *u, struct arena *a);
/* Sets u->vars from every vars.yaml between the env folder and the unit. */
int include_resolve_vars(struct project *p, struct unit *u);
int include_resolve_vars_in(struct project *p, struct unit *u, struct arena *a);

#endif
