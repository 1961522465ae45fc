/* policy.h - the policy checks of SPEC 5 and 9: cross-account leaks,
 * overlapping CIDRs, unpinned sources in protected envs, shared account
 * IDs and plaintext secrets.  Findings are error-class, rule-named, and
 * can be waived by policy.allow or a baseline. */
#ifndef BULKHEAD_POLICY_H
#define BULKHEAD_POLICY_H

#include "drift.h"

void policy_check(struct project *p, struct findings *out);

#endif
