/* fuzz_yaml - the strict YAML loader (compiler/yaml.c) on arbitrary bytes.
 * Also looks up every key of every map (a large map by its index), and
 * turns a loaded tree into a value and prints it as JSON, which walks
 * every node (aliases expanded) once more. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "value.h"
#include "yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every key of every map is found at its own pair, by a scan or by the
 * index of a large map (the loader refuses a key written twice). */
static void check_lookups(const struct node *n)
{
	if (n->kind == NODE_SEQ)
		for (size_t i = 0; i < n->seq.len; i++)
			check_lookups(n->seq.items[i]);
	if (n->kind != NODE_MAP)
		return;
	if (n->indexed != (n->map.len >= NODE_MAP_INDEXED))
		abort();
	for (size_t i = 0; i < n->map.len; i++) {
		if (node_map_find(n, n->map.pairs[i].key->str.s) != &n->map.pairs[i])
			abort();
		check_lookups(n->map.pairs[i].value);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct node *root = NULL;
	arena_init(&a);
	struct srcfile *f = fuzz_srcfile(&a, "fuzz.yaml", data, size);
	if (yaml_load(&a, f, &limits_default, &root) == 0 && root) {
		struct buf out = BUF_INIT;
		check_lookups(root);
		value_to_json_compact(value_from_node(&a, root), &out);
		buf_free(&out);
	}
	diag_clear();
	arena_free(&a);
	return 0;
}
