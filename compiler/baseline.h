/* baseline.h - accepted findings, so a repo can adopt bulkhead gradually.
 * The file is a sorted JSON list of {"fingerprint", "summary"} entries;
 * fingerprints are xxh3-64 of envs, unit, key path and class, so they
 * stay stable when lines move. */
#ifndef BULKHEAD_BASELINE_H
#define BULKHEAD_BASELINE_H

#include "drift.h"

/* Marks findings listed in the baseline file; with report_stale, entries
 * that match nothing are reported as notes (not under -q, nor when the
 * run compared a selection: an entry outside it was not looked for).  A
 * corrupt file is an error (-1). */
int baseline_apply(struct project *p, const char *path, struct findings *f, bool report_stale);
/* Writes every error and note finding to path, atomically. */
int baseline_write(struct project *p, const char *path, const struct findings *f);

#endif
