/* fuzz_expr - the template/expression parser (compiler/expr.c): parse the
 * bytes as one template (a YAML string scalar's decoded text), then print
 * the AST back in its normalised form (expr_print). */
#include <stdio.h>
#include <stdlib.h>

#include "expr.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	/* No node: diagnostics carry no file and use text offsets. */
	struct expr_origin origin = { .node = NULL, .max_depth = limits_default.expr_depth };
	arena_init(&a);
	const char *text = arena_strndup(&a, (const char *)data, size);
	(void)template_has_expr(text, size);
	struct expr *e = template_parse(&a, text, size, &origin);
	if (e) {
		struct buf out = BUF_INIT;
		(void)template_single(e);
		expr_print(e, &out);
		buf_free(&out);
	}
	diag_clear();
	arena_free(&a);
	return 0;
}
