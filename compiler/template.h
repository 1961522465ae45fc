/* template.h - output.generate: extra per-unit files from YAML templates
 * evaluated with the unit's context (backend.tf.json, provider.tf.json),
 * and the files `bulkhead init` scaffolds.  Built-in templates are
 * compiled in; a repo's own templates/<name>.yaml overrides one. */
#ifndef BULKHEAD_TEMPLATE_H
#define BULKHEAD_TEMPLATE_H

#include "project.h"

struct embedded_file {
	const char *path;	/* below templates/: "backend.yaml", "init/dev/vars.yaml" */
	const char *data;
	size_t len;
};

extern const struct embedded_file embedded_templates[];

const struct embedded_file *template_builtin(const char *path);
/* Checks that every name in output.generate has a template. */
int template_check_names(struct project *p, const struct node *generate);
/* Renders template name for unit u as JSON text ending in a newline. */
int template_render(struct project *p, struct unit *u, const char *name, struct buf *out);

#endif
