/* fuzz_yaml - the strict YAML loader (compiler/yaml.c) on arbitrary bytes.
 * Also turns a loaded tree into a value and prints it as JSON, which walks
 * every node (aliases expanded) once more. */
#include "fuzz_common.h"
#include "value.h"
#include "yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct node *root = NULL;
	arena_init(&a);
	struct srcfile *f = fuzz_srcfile(&a, "fuzz.yaml", data, size);
	if (yaml_load(&a, f, &limits_default, &root) == 0 && root) {
		struct buf out = BUF_INIT;
		value_to_json_compact(value_from_node(&a, root), &out);
		buf_free(&out);
	}
	diag_clear();
	arena_free(&a);
	return 0;
}
