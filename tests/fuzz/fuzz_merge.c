/* fuzz_merge - include merging (compiler/include.c merge_nodes) with the
 * tags !append, !replace and !unset.  The input is split into a base and
 * an override document: at the first NUL byte when there is one (seeds
 * use that; a NUL can never be part of valid YAML), else into two halves.
 * Both are loaded as YAML and merged deeply, recording overrides. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "include.h"
#include "map.h"
#include "value.h"
#include "yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct node *base = NULL, *over = NULL;
	const uint8_t *nul = memchr(data, 0, size);
	size_t split = nul ? (size_t)(nul - data) : size / 2;
	size_t rest = nul ? split + 1 : split;
	arena_init(&a);
	struct srcfile *fb = fuzz_srcfile(&a, "base.yaml", data, split);
	struct srcfile *fo = fuzz_srcfile(&a, "over.yaml", data + rest, size - rest);
	int rb = yaml_load(&a, fb, &limits_default, &base);
	int ro = yaml_load(&a, fo, &limits_default, &over);
	if (rb == 0 && ro == 0) {
		struct map overrides;
		map_init(&overrides);
		struct node *m = merge_nodes(&a, base, over, MERGE_DEEP, &overrides);
		if (m) {
			struct buf out = BUF_INIT;
			value_to_json_compact(value_from_node(&a, m), &out);
			buf_free(&out);
		}
		/* The other modes, and a merge onto nothing. */
		diag_clear();
		(void)merge_nodes(&a, base, over, MERGE_SHALLOW, NULL);
		diag_clear();
		(void)merge_nodes(&a, base, over, MERGE_NONE, NULL);
		diag_clear();
		(void)merge_nodes(&a, NULL, over, MERGE_DEEP, NULL);
		map_free(&overrides);
	}
	diag_clear();
	arena_free(&a);
	return 0;
}
