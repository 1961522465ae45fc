/* define.h - the definition of a value, for drift (SPEC 9).
 *
 * A definition is the normalised AST of the expression that produced a
 * value together with, recursively, every local.* and include.* it reads.
 * Knobs end the chain: var, env, envs, unit, dependency.*, secret(),
 * env_secret() and get_env().  Two envs with the same definition but
 * different values differ only through knobs: "parameterized". */
#ifndef BULKHEAD_DEFINE_H
#define BULKHEAD_DEFINE_H

#include "expr.h"
#include "project.h"

/* A knob reference and the scalar it is written in. */
struct knob {
	const struct expr *ref;
	const struct node *where;
};

struct definition {
	const char *text;	/* normalised; equal texts mean equal definitions */
	struct knob *knobs;
	size_t nknobs;
	bool literal;		/* no knob anywhere in the chain */
	bool unit_independent;	/* read no local or include: cacheable */
};

/* The definition of the value defined at node n in unit u. */
void define_node(struct project *p, struct unit *u, const struct node *n, struct definition *out);
/* The same, allocating from a and caching in cache (node address ->
 * definition): what a drift worker thread uses, with its own of each.
 * The only shared state it reads is the project's parsed templates,
 * through eval_template_of, which takes the project's lock. */
void define_node_in(struct project *p, struct arena *a, struct map *cache, struct unit *u, const struct node *n,
		    struct definition *out);

/* Buffers a definition is made in, reused from one to the next. */
struct define_scratch {
	struct buf text[2];
	struct buf key;		/* "local.NAME" or "include.AS.a.b" being expanded */
	struct buf seen_keys;	/* the keys already expanded, each NUL-ended */
	struct knob *knobs;
	size_t knobs_cap;
};
void define_scratch_free(struct define_scratch *s);

/* Whether na in ua and nb in ub have equal definitions, as their
 * define_node_in texts would say, keeping neither text: a drift compares
 * half a million leaves whose values differ and keeps the definitions of
 * none but its findings.  Shared nodes go through cache as there. */
bool define_same_in(struct project *p, struct arena *a, struct map *cache, struct define_scratch *s,
		    struct unit *ua, const struct node *na, struct unit *ub, const struct node *nb);

#endif
