/* eval.h - evaluate a unit's merged config into values.
 *
 * Every value keeps the node that defined it (provenance).  A string that
 * holds "${" is an expression; "$${" is a literal "${". */
#ifndef BULKHEAD_EVAL_H
#define BULKHEAD_EVAL_H

#include "project.h"

/* Sets u->inputs, u->source and u->deps.  Returns -1 after reporting. */
int eval_unit(struct project *p, struct unit *u);
/* A literal node as a value (strings unescaped for "$${"). */
struct value *eval_literal(struct project *p, const struct node *n);

#endif
