/* policy_rules.h - the rules of the policy checks (SPEC 9 Policy): their
 * ids, as findings, policy.allow and the report formats name them. */
#ifndef BULKHEAD_POLICY_RULES_H
#define BULKHEAD_POLICY_RULES_H

struct policy_rule {
	const char *id;		/* "cross-account" */
	const char *summary;	/* one line, for SARIF's rule list */
};

/* Every rule, in a fixed order, up to an entry whose id is NULL. */
extern const struct policy_rule policy_rules[];

#endif
