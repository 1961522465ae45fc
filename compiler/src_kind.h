/* src_kind.h - what a path in the user's repo is, as the sources report
 * it (source.h) and the stat index keeps it for each folder entry
 * (stat_index.h). */
#ifndef BULKHEAD_SRC_KIND_H
#define BULKHEAD_SRC_KIND_H

enum src_kind { SRC_MISSING, SRC_FILE, SRC_DIR, SRC_LINK, SRC_OTHER };

#endif
