/* drift.h - compare environments unit by unit and classify each
 * difference (SPEC 5 and 9), and hold the findings of the policy checks. */
#ifndef BULKHEAD_DRIFT_H
#define BULKHEAD_DRIFT_H

#include "project.h"

enum finding_class {
	F_EQUAL,		/* diff --all only */
	F_ALLOWED,
	F_PARAMETERIZED,
	F_DRIFT,
	F_AHEAD,
	F_PENDING,
	F_POLICY,		/* rule names which */
};

struct finding {
	enum finding_class cls;
	const char *rule;		/* policy rule id, else NULL */
	const char *env_a, *env_b;	/* earlier and later env labels */
	const char *unit;
	const char *key;		/* "inputs.tags.\"k8s.io/role\"", "source", ... */
	const char *value_a, *value_b;	/* compact JSON, "(sensitive)" or NULL if absent */
	struct place at_a, at_b;	/* where each side is defined */
	const char *hint;		/* knobs that differ, "cannot order", ... */
	char fingerprint[17];
	bool baselined;
};

struct findings {
	struct finding *v;
	size_t len, cap;
	/* Allowed and parameterized differences a lean drift only counts:
	 * no report lists them, and there may be hundreds of thousands. */
	size_t unlisted_parameterized, unlisted_allowed;
};

struct drift_scope {
	const char **envs;	/* --env: only pairs touching these labels */
	size_t nenvs;
	const char **units;	/* --unit globs */
	size_t nunits;
	bool all;		/* record equal keys too (diff --all) */
	bool lean;		/* skip values and knob hints of findings no drift
				   report shows (allowed, parameterized) */
};

/* Compares every consecutive pair of the promotion chain, and each
 * multi-region env's regions against its canary. */
void drift_chain(struct project *p, const struct drift_scope *scope, struct findings *out);
/* Compares two env labels (or names) with a as the earlier side. */
void drift_pair(struct project *p, struct env *a, struct env *b, const struct drift_scope *scope,
		struct findings *out);

struct finding *findings_add(struct findings *f);
void findings_free(struct findings *f);

/* Findings made on workers (drift, policy): each worker appends to a list
 * of its own and each item notes its share of it; appending the shares
 * in item order gives the findings one thread would have made. */
struct findings_share {
	unsigned worker;	/* whose list */
	size_t first, len;	/* where in it */
};
void findings_share_begin(struct findings_share *sh, unsigned worker, const struct findings *list);
void findings_share_end(struct findings_share *sh, const struct findings *list);
/* Appends the share sh of list (the list of worker sh->worker) to out. */
void findings_append_share(struct findings *out, const struct findings *list, const struct findings_share *sh);
/* Sorts by (unit, key, envs), computes fingerprints. */
void findings_finish(struct findings *f);
bool finding_is_error(const struct finding *f);
bool finding_is_note(const struct finding *f);
const char *finding_class_name(const struct finding *f);

/* SemVer precedence with an optional leading 'v'; returns 0 and sets
 * *cmp (-1, 0, 1) when both parse, else -1. */
int semver_compare(const char *a, const char *b, int *cmp);

#endif
