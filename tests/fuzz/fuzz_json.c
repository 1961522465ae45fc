/* fuzz_json - the strict JSON loader (compiler/json.c) on arbitrary bytes.
 * What it accepts must print back (as compact JSON) to text it accepts
 * again and prints the same way: the round trip is the oracle. */
#include "fuzz_common.h"
#include "json.h"
#include "value.h"

#include <math.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A float of 2^63 or more prints as an integer (numbers never print in
 * exponent form) that no loader takes back: int64 is the integer range. */
static bool prints_back(const struct node *n)
{
	if (n->kind == NODE_FLOAT)
		return fabs(node_float(n)) < 9.2e18;
	for (size_t i = 0; n->kind == NODE_SEQ && i < n->seq.len; i++)
		if (!prints_back(n->seq.items[i]))
			return false;
	for (size_t i = 0; n->kind == NODE_MAP && i < n->map.len; i++)
		if (!prints_back(n->map.pairs[i].value))
			return false;
	return true;
}

static char *printed(struct arena *a, const struct node *root)
{
	struct buf out = BUF_INIT;
	value_to_json_compact(value_from_node(a, root), &out);
	return buf_detach(&out, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct node *root = NULL, *again = NULL;
	arena_init(&a);
	struct srcfile *f = fuzz_srcfile(&a, "fuzz.json", data, size);
	if (json_load_as(&a, f, &limits_default, NULL, &root) == 0 && prints_back(root)) {
		char *first = printed(&a, root);
		struct srcfile *g = fuzz_srcfile(&a, "again.json", (const uint8_t *)first, strlen(first));
		if (json_load_as(&a, g, &limits_default, NULL, &again) < 0)
			abort();	/* printed JSON the loader refuses */
		char *second = printed(&a, again);
		if (strcmp(first, second))
			abort();	/* not a fixed point */
		free(first);
		free(second);
	}
	diag_clear();
	arena_free(&a);
	return 0;
}
