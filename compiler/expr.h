/* expr.h - the expression language: templates, lexer and parser.
 *
 * A YAML string scalar is a template: literal text and ${...}
 * interpolations ("$${" is a literal "${", "%{" is literal text).  The
 * parser produces an AST whose offsets index the scalar's decoded text;
 * node_text_offset() maps them back to the file for diagnostics. */
#ifndef BULKHEAD_EXPR_H
#define BULKHEAD_EXPR_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "yaml.h"

enum expr_kind {
	E_NULL, E_BOOL, E_INT, E_FLOAT, E_TEMPLATE, E_LIST, E_MAP,
	E_REF, E_ATTR, E_INDEX, E_CALL, E_UNARY, E_BINARY, E_COND,
};

enum expr_op {
	OP_NOT, OP_NEG, OP_MUL, OP_DIV, OP_MOD, OP_ADD, OP_SUB,
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_AND, OP_OR,
};

/* The root a reference names, told when it is parsed: evaluation asks
 * it of every reference, and the names were a chain of strcmp. */
enum expr_root {
	ROOT_OTHER, ROOT_ENV, ROOT_ENVS, ROOT_VAR, ROOT_LOCAL, ROOT_UNIT, ROOT_PROJECT, ROOT_INCLUDE,
	ROOT_DEPENDENCY,
};

struct expr;

/* One piece of a template: literal text, or an interpolated expression. */
struct template_part {
	const char *text;	/* literal text when expr is NULL */
	size_t len;
	struct expr *expr;
};

struct builtin;

struct expr {
	uint8_t kind;		/* enum expr_kind */
	uint8_t op;		/* enum expr_op for E_UNARY and E_BINARY */
	uint8_t root;		/* enum expr_root for E_REF */
	uint32_t off;		/* offset in the template's decoded text */
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			struct template_part *parts;
			size_t len;
		} tmpl;
		struct {
			struct expr **items;
			size_t len;
		} list;
		struct {
			struct expr **keys;	/* E_TEMPLATE for bare and quoted keys */
			struct expr **values;
			size_t len;
		} map;
		const char *name;	/* E_REF: the root identifier */
		struct {
			struct expr *obj;
			const char *name;
		} attr;
		struct {
			struct expr *obj;
			struct expr *index;
		} index;
		struct {
			const char *name;
			struct expr **args;
			size_t len;
			/* Found when parsed (a template is parsed once and
			 * evaluated in every unit); NULL: no such function,
			 * which evaluation reports. */
			const struct builtin *fn;
		} call;
		struct {
			struct expr *x;
			struct expr *y;
			struct expr *z;
		} ops;		/* unary: x; binary: x op y; cond: x ? y : z */
	};
};

/* Where a template's text came from, to place diagnostics. */
struct expr_origin {
	const struct node *node;	/* the string scalar */
	size_t max_depth;		/* limits.expr_depth */
};

/* True when text holds a "${" that is not escaped as "$${". */
bool template_has_expr(const char *text, size_t len);
/* An HCL identifier, [A-Za-z_][A-Za-z0-9_-]*: a name expressions can
 * reach (local.NAME, include.NAME, dependency.NAME). */
bool expr_is_identifier(const char *s, size_t len);
/* Parses text as a template.  Errors are reported; returns NULL then. */
struct expr *template_parse(struct arena *a, const char *text, size_t len,
			    const struct expr_origin *origin);
/* The single expression of a template that is exactly one "${...}". */
struct expr *template_single(const struct expr *tmpl);
/* The normalised text of e: spacing and quoting do not matter. */
void expr_print(const struct expr *e, struct buf *out);

/* A chain of binary operators leans left ("a + b - c" is (a + b) - c):
 * op[0] is the innermost, whose ops.x is the leftmost operand, op[n - 1]
 * the chain itself.  A flat chain is not nesting (SPEC 8's expression
 * depth), so walkers take it in a loop, not by recursion. */
struct expr_chain {
	const struct expr **op;
	size_t n;
	const struct expr *local[16];
};
void expr_chain_of(const struct expr *e, struct expr_chain *c);
void expr_chain_free(struct expr_chain *c);
/* The file offset of an expression, for diagnostics. */
size_t expr_file_offset(const struct expr_origin *origin, const struct expr *e);

#endif
