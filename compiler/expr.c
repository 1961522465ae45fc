/* expr.c - recursive-descent parser for templates and expressions.
 *
 * The parser reads characters directly (no token array): a template's
 * interpolations and an expression's quoted strings nest freely, and
 * every error points at the exact character in the YAML file. */
#include "expr.h"
#include "builtins.h"
#include "value.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	struct arena *arena;
	const char *text;
	size_t len;
	size_t pos;
	size_t depth;
	const struct expr_origin *origin;
	bool failed;
};

static struct expr *parse_expr(struct parser *ps);
static struct expr *parse_template_until(struct parser *ps, char quote);

bool template_has_expr(const char *text, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i] == '$' && text[i + 1] == '$' && i + 2 < len && text[i + 2] == '{')
			i += 2;
		else if (text[i] == '$' && text[i + 1] == '{')
			return true;
	}
	return false;
}

static size_t file_offset(const struct expr_origin *o, size_t pos)
{
	return o->node ? node_text_offset(o->node, pos) : pos;
}

size_t expr_file_offset(const struct expr_origin *origin, const struct expr *e)
{
	return file_offset(origin, e->off);
}

static struct expr *fail(struct parser *ps, size_t pos, const char *msg, const char *arg)
{
	if (!ps->failed) {
		const struct node *n = ps->origin->node;
		diag_error(n ? n->file : NULL, file_offset(ps->origin, pos), msg, arg);
	}
	ps->failed = true;
	return NULL;
}

static struct expr *new_expr(struct parser *ps, enum expr_kind kind, size_t off)
{
	struct expr *e = ARENA_NEW(ps->arena, struct expr);
	e->kind = kind;
	e->off = (uint32_t)off;
	return e;
}

/* ---- lexing helpers ---- */

static int peek(const struct parser *ps)
{
	return ps->pos < ps->len ? (unsigned char)ps->text[ps->pos] : -1;
}

static int peek_at(const struct parser *ps, size_t ahead)
{
	return ps->pos + ahead < ps->len ? (unsigned char)ps->text[ps->pos + ahead] : -1;
}

static void skip_space(struct parser *ps)
{
	while (ps->pos < ps->len) {
		char c = ps->text[ps->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			ps->pos++;
		else if (c == '#' || (c == '/' && peek_at(ps, 1) == '/')) {
			while (ps->pos < ps->len && ps->text[ps->pos] != '\n')
				ps->pos++;
		} else {
			break;
		}
	}
}

/* True when a newline separates the previous token from the next: the
 * parser may already have skipped it, so look both ways. */
static bool newline_ahead(const struct parser *ps)
{
	for (size_t i = ps->pos; i > 0; i--) {
		char c = ps->text[i - 1];
		if (c == '\n')
			return true;
		if (c != ' ' && c != '\t' && c != '\r')
			break;
	}
	for (size_t i = ps->pos; i < ps->len; i++) {
		char c = ps->text[i];
		if (c == '\n')
			return true;
		if (c != ' ' && c != '\t' && c != '\r')
			return false;
	}
	return false;
}

static bool accept(struct parser *ps, const char *tok)
{
	skip_space(ps);
	size_t n = strlen(tok);
	if (ps->pos + n > ps->len || memcmp(ps->text + ps->pos, tok, n))
		return false;
	/* "=" must not swallow "==", "!" not "!=", "<" not "<=". */
	if (n == 1 && (tok[0] == '=' || tok[0] == '!' || tok[0] == '<' || tok[0] == '>') &&
	    peek_at(ps, 1) == '=')
		return false;
	ps->pos += n;
	return true;
}

static bool expect(struct parser *ps, const char *tok)
{
	if (accept(ps, tok))
		return true;
	if (peek(ps) < 0)
		fail(ps, ps->pos, "expected '%s' but the expression ends here", tok);
	else
		fail(ps, ps->pos, "expected '%s'", tok);
	return false;
}

static bool ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ident_char(int c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '-';
}

bool expr_is_identifier(const char *s, size_t len)
{
	if (!len || !ident_start((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!ident_char((unsigned char)s[i]))
			return false;
	return true;
}

static const char *read_ident(struct parser *ps)
{
	size_t start = ps->pos;
	while (ps->pos < ps->len && ident_char(peek(ps)))
		ps->pos++;
	return arena_strndup(ps->arena, ps->text + start, ps->pos - start);
}

/* ---- primaries ---- */

static struct expr *parse_number(struct parser *ps)
{
	size_t start = ps->pos;
	bool is_float = false;
	while (peek(ps) >= '0' && peek(ps) <= '9')
		ps->pos++;
	if (peek(ps) == '.' && peek_at(ps, 1) >= '0' && peek_at(ps, 1) <= '9') {
		is_float = true;
		ps->pos++;
		while (peek(ps) >= '0' && peek(ps) <= '9')
			ps->pos++;
	}
	if (peek(ps) == 'e' || peek(ps) == 'E') {
		size_t save = ps->pos++;
		if (peek(ps) == '+' || peek(ps) == '-')
			ps->pos++;
		if (peek(ps) >= '0' && peek(ps) <= '9') {
			is_float = true;
			while (peek(ps) >= '0' && peek(ps) <= '9')
				ps->pos++;
		} else {
			ps->pos = save;
		}
	}
	char *lit = arena_strndup(ps->arena, ps->text + start, ps->pos - start);
	errno = 0;
	if (!is_float) {
		long long v = strtoll(lit, NULL, 10);
		if (errno == ERANGE)
			return fail(ps, start, "integer '%s' is out of range (int64)", lit);
		struct expr *e = new_expr(ps, E_INT, start);
		e->i = v;
		return e;
	}
	double d = strtod(lit, NULL);
	if (!isfinite(d))
		return fail(ps, start, "number '%s' is out of range", lit);
	struct expr *e = new_expr(ps, E_FLOAT, start);
	e->f = d;
	return e;
}

static struct expr *parse_list(struct parser *ps, size_t start)
{
	struct expr *e = new_expr(ps, E_LIST, start);
	struct expr **items = NULL;
	size_t n = 0, cap = 0;
	while (!accept(ps, "]")) {
		if (n && !accept(ps, ","))
			if (!expect(ps, "]"))
				goto out;
		if (accept(ps, "]"))
			break;
		struct expr *item = parse_expr(ps);
		if (!item)
			goto out;
		if (n == cap)
			items = xrealloc(items, (cap = cap ? cap * 2 : 8) * sizeof(*items));
		items[n++] = item;
	}
	e->list.items = ARENA_ARRAY(ps->arena, struct expr *, n);
	if (n)
		memcpy(e->list.items, items, n * sizeof(*items));
	e->list.len = n;
	free(items);
	return e;
out:
	free(items);
	return NULL;
}

static struct expr *literal_key(struct parser *ps, const char *name, size_t off)
{
	struct expr *k = new_expr(ps, E_TEMPLATE, off);
	k->tmpl.parts = ARENA_NEW(ps->arena, struct template_part);
	k->tmpl.parts[0].text = name;
	k->tmpl.parts[0].len = strlen(name);
	k->tmpl.len = 1;
	return k;
}

/* Keys: a bare identifier is literal text, "(expr)" is evaluated, a
 * quoted string is a template, a number is its text. */
static struct expr *parse_map_key(struct parser *ps)
{
	skip_space(ps);
	size_t at = ps->pos;
	if (ident_start(peek(ps)))
		return literal_key(ps, read_ident(ps), at);
	if (peek(ps) >= '0' && peek(ps) <= '9') {
		while (peek(ps) >= '0' && peek(ps) <= '9')
			ps->pos++;
		return literal_key(ps, arena_strndup(ps->arena, ps->text + at, ps->pos - at), at);
	}
	if (accept(ps, "\"")) {
		struct expr *k = parse_template_until(ps, '"');
		if (k)
			k->off = (uint32_t)at;
		return k;
	}
	if (accept(ps, "(")) {
		struct expr *k = parse_expr(ps);
		return k && expect(ps, ")") ? k : NULL;
	}
	return fail(ps, at, "expected a map key%s", "");
}

static struct expr *parse_map(struct parser *ps, size_t start)
{
	struct expr *e = new_expr(ps, E_MAP, start);
	struct expr **keys = NULL, **values = NULL;
	size_t n = 0, cap = 0;
	while (!accept(ps, "}")) {
		/* Items are separated by a comma or a newline (HCL). */
		if (n && !newline_ahead(ps) && !accept(ps, ",")) {
			fail(ps, ps->pos, "expected ',' or a newline between map items%s", "");
			goto out;
		}
		if (accept(ps, "}"))
			break;
		struct expr *k = parse_map_key(ps);
		if (!k || (!accept(ps, "=") && !expect(ps, ":")))
			goto out;
		struct expr *v = parse_expr(ps);
		if (!v)
			goto out;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			keys = xrealloc(keys, cap * sizeof(*keys));
			values = xrealloc(values, cap * sizeof(*values));
		}
		keys[n] = k;
		values[n++] = v;
	}
	e->map.keys = ARENA_ARRAY(ps->arena, struct expr *, n);
	e->map.values = ARENA_ARRAY(ps->arena, struct expr *, n);
	if (n) {
		memcpy(e->map.keys, keys, n * sizeof(*keys));
		memcpy(e->map.values, values, n * sizeof(*values));
	}
	e->map.len = n;
	free(keys);
	free(values);
	return e;
out:
	free(keys);
	free(values);
	return NULL;
}

static struct expr *parse_call(struct parser *ps, const char *name, size_t start)
{
	struct expr *e = new_expr(ps, E_CALL, start);
	struct expr **args = NULL;
	size_t n = 0, cap = 0;
	e->call.name = name;
	e->call.fn = builtin_find(name);
	while (!accept(ps, ")")) {
		if (n && !accept(ps, ","))
			if (!expect(ps, ")"))
				goto out;
		if (accept(ps, ")"))
			break;
		struct expr *arg = parse_expr(ps);
		if (!arg)
			goto out;
		if (n == cap)
			args = xrealloc(args, (cap = cap ? cap * 2 : 4) * sizeof(*args));
		args[n++] = arg;
	}
	e->call.args = ARENA_ARRAY(ps->arena, struct expr *, n);
	if (n)
		memcpy(e->call.args, args, n * sizeof(*args));
	e->call.len = n;
	free(args);
	return e;
out:
	free(args);
	return NULL;
}

static enum expr_root root_of(const char *name)
{
	static const struct {
		const char *name;
		enum expr_root root;
	} roots[] = {
		{ "env", ROOT_ENV },         { "envs", ROOT_ENVS },       { "var", ROOT_VAR },
		{ "local", ROOT_LOCAL },     { "unit", ROOT_UNIT },       { "project", ROOT_PROJECT },
		{ "include", ROOT_INCLUDE }, { "dependency", ROOT_DEPENDENCY },
	};
	for (size_t i = 0; i < sizeof(roots) / sizeof(*roots); i++)
		if (!strcmp(name, roots[i].name))
			return roots[i].root;
	return ROOT_OTHER;
}

static struct expr *parse_primary(struct parser *ps)
{
	skip_space(ps);
	size_t start = ps->pos;
	int c = peek(ps);
	if (c < 0)
		return fail(ps, start, "expected an expression%s", "");
	if (c >= '0' && c <= '9')
		return parse_number(ps);
	if (accept(ps, "\"")) {
		struct expr *e = parse_template_until(ps, '"');
		if (e)
			e->off = (uint32_t)start;
		return e;
	}
	if (accept(ps, "(")) {
		struct expr *e = parse_expr(ps);
		return e && expect(ps, ")") ? e : NULL;
	}
	if (accept(ps, "["))
		return parse_list(ps, start);
	if (accept(ps, "{"))
		return parse_map(ps, start);
	if (!ident_start(c))
		return fail(ps, start, "unexpected character '%s' in expression",
			    arena_strndup(ps->arena, ps->text + start, 1));
	const char *name = read_ident(ps);
	if (!strcmp(name, "true") || !strcmp(name, "false")) {
		struct expr *e = new_expr(ps, E_BOOL, start);
		e->b = name[0] == 't';
		return e;
	}
	if (!strcmp(name, "null"))
		return new_expr(ps, E_NULL, start);
	if (accept(ps, "("))
		return parse_call(ps, name, start);
	struct expr *e = new_expr(ps, E_REF, start);
	e->name = name;
	e->root = root_of(name);
	return e;
}

static struct expr *parse_postfix(struct parser *ps)
{
	struct expr *e = parse_primary(ps);
	size_t links = 0;	/* a.b.c[0] deepens the tree one level a link */
	while (e) {
		if (links++ + ps->depth > ps->origin->max_depth)
			return fail(ps, ps->pos, "expression nested deeper than %s levels",
				    arena_printf(ps->arena, "%zu", ps->origin->max_depth));
		if (accept(ps, ".")) {
			skip_space(ps);
			if (!ident_start(peek(ps)))
				return fail(ps, ps->pos, "expected an attribute name after '.'%s", "");
			/* Errors about a reference point at its start. */
			struct expr *a = new_expr(ps, E_ATTR, e->off);
			a->attr.obj = e;
			a->attr.name = read_ident(ps);
			e = a;
		} else if (accept(ps, "[")) {
			struct expr *ix = new_expr(ps, E_INDEX, e->off);
			ix->index.obj = e;
			if (!(ix->index.index = parse_expr(ps)) || !expect(ps, "]"))
				return NULL;
			e = ix;
		} else {
			break;
		}
	}
	return e;
}

static bool enter(struct parser *ps)
{
	if (++ps->depth <= ps->origin->max_depth)
		return true;
	fail(ps, ps->pos, "expression nested deeper than %s levels",
	     arena_printf(ps->arena, "%zu", ps->origin->max_depth));
	return false;
}

/* -9223372036854775808 is an int64, though its digits alone are not:
 * the minus and the literal are read as one number. */
static struct expr *int64_min(struct parser *ps, size_t at)
{
	static const char digits[] = "9223372036854775808";
	size_t n = sizeof(digits) - 1, save = ps->pos;
	skip_space(ps);
	if (ps->len - ps->pos >= n && !memcmp(ps->text + ps->pos, digits, n) &&
	    (ps->pos + n == ps->len || !strchr("0123456789.eE", ps->text[ps->pos + n]))) {
		ps->pos += n;
		struct expr *e = new_expr(ps, E_INT, at);
		e->i = INT64_MIN;
		return e;
	}
	ps->pos = save;
	return NULL;
}

static struct expr *parse_unary(struct parser *ps)
{
	skip_space(ps);
	size_t at = ps->pos;
	enum expr_op op;
	struct expr *min;
	if (accept(ps, "!"))
		op = OP_NOT;
	else if (accept(ps, "-") && (min = int64_min(ps, at)))
		return min;
	else if (ps->pos > at)
		op = OP_NEG;
	else
		return parse_postfix(ps);
	if (!enter(ps))
		return NULL;
	struct expr *x = parse_unary(ps);
	ps->depth--;
	if (!x)
		return NULL;
	struct expr *e = new_expr(ps, E_UNARY, at);
	e->op = (uint8_t)op;
	e->ops.x = x;
	return e;
}

struct binop {
	const char *tok;
	enum expr_op op;
};

static const struct binop levels[][4] = {
	{ { "||", OP_OR } },
	{ { "&&", OP_AND } },
	{ { "==", OP_EQ }, { "!=", OP_NE } },
	{ { "<=", OP_LE }, { ">=", OP_GE }, { "<", OP_LT }, { ">", OP_GT } },
	{ { "+", OP_ADD }, { "-", OP_SUB } },
	{ { "*", OP_MUL }, { "/", OP_DIV }, { "%", OP_MOD } },
};
enum { NLEVELS = sizeof(levels) / sizeof(*levels) };

/* Left-associative binary operators by precedence level. */
static struct expr *parse_binary(struct parser *ps, size_t level)
{
	if (level == NLEVELS)
		return parse_unary(ps);
	struct expr *left = parse_binary(ps, level + 1);
	/* A chain (a + b + c) is not nesting: walkers loop over it
	 * (expr_chain_of); only its right operands nest a level. */
	while (left) {
		skip_space(ps);
		size_t at = ps->pos;
		const struct binop *hit = NULL;
		for (size_t i = 0; i < 4 && levels[level][i].tok && !hit; i++)
			if (accept(ps, levels[level][i].tok))
				hit = &levels[level][i];
		if (!hit)
			break;
		if (!enter(ps))
			return NULL;
		struct expr *right = parse_binary(ps, level + 1);
		ps->depth--;
		if (!right)
			return NULL;
		struct expr *e = new_expr(ps, E_BINARY, at);
		e->op = (uint8_t)hit->op;
		e->ops.x = left;
		e->ops.y = right;
		left = e;
	}
	return left;
}

static struct expr *parse_expr(struct parser *ps)
{
	if (!enter(ps))
		return NULL;
	struct expr *c = parse_binary(ps, 0);
	skip_space(ps);
	size_t at = ps->pos;
	if (c && accept(ps, "?")) {
		struct expr *e = new_expr(ps, E_COND, at);
		e->ops.x = c;
		if (!(e->ops.y = parse_expr(ps)) || !expect(ps, ":") || !(e->ops.z = parse_expr(ps)))
			c = NULL;
		else
			c = e;
	}
	ps->depth--;
	return c;
}

/* ---- templates ---- */

struct parts {
	struct template_part *v;
	size_t len, cap;
	struct buf lit;		/* literal text being collected */
};

static void flush_literal(struct parser *ps, struct parts *pt)
{
	if (!pt->lit.len)
		return;
	if (pt->len == pt->cap)
		pt->v = xrealloc(pt->v, (pt->cap = pt->cap ? pt->cap * 2 : 4) * sizeof(*pt->v));
	pt->v[pt->len++] = (struct template_part){
		arena_strndup(ps->arena, pt->lit.data, pt->lit.len), pt->lit.len, NULL };
	buf_reset(&pt->lit);
}

static void push_expr(struct parts *pt, struct expr *e)
{
	if (pt->len == pt->cap)
		pt->v = xrealloc(pt->v, (pt->cap = pt->cap ? pt->cap * 2 : 4) * sizeof(*pt->v));
	pt->v[pt->len++] = (struct template_part){ NULL, 0, e };
}

static int hex_value(const char *s, size_t n, unsigned *out)
{
	*out = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*out = *out * 16 + (unsigned)d;
	}
	return 0;
}

/* Escapes inside a quoted string of an expression. */
static bool parse_escape(struct parser *ps, struct buf *lit)
{
	size_t at = ps->pos;
	int c = peek_at(ps, 1);
	const char *simple = c == '"' ? "\"" : c == '\\' ? "\\" : c == 'n' ? "\n" : c == 'r' ? "\r"
			   : c == 't' ? "\t" : NULL;
	if (simple) {
		buf_puts(lit, simple);
		ps->pos += 2;
		return true;
	}
	size_t digits = c == 'u' ? 4 : c == 'U' ? 8 : 0;
	unsigned cp;
	if (!digits) {
		fail(ps, at, "unknown escape sequence '%s' (use \\\" \\\\ \\n \\r \\t \\uNNNN or \\UNNNNNNNN)",
		     arena_strndup(ps->arena, ps->text + at, c < 0 ? 1 : 2));
		return false;
	}
	if (ps->pos + 2 + digits > ps->len || hex_value(ps->text + ps->pos + 2, digits, &cp) < 0 ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0) {
		fail(ps, at, "invalid Unicode escape '%s'",
		     arena_strndup(ps->arena, ps->text + at, ps->pos + 2 + digits > ps->len ? ps->len - at : 2 + digits));
		return false;
	}
	char enc[4];
	size_t n = utf8_encode(cp, enc);
	buf_add(lit, enc, n);
	ps->pos += 2 + digits;
	return true;
}

/* Reads a template up to the closing quote (quote '"'), or to the end of
 * the text (quote 0: a whole YAML scalar, where escapes are YAML's). */
static struct expr *parse_template_until(struct parser *ps, char quote)
{
	struct parts pt = { 0 };
	struct expr *e = new_expr(ps, E_TEMPLATE, ps->pos);
	size_t start = ps->pos;
	buf_init(&pt.lit);
	for (;;) {
		int c = peek(ps);
		if (c < 0) {
			if (quote) {
				fail(ps, start - 1, "unterminated string%s", "");
				goto out;
			}
			break;
		}
		if (quote && c == quote) {
			ps->pos++;
			break;
		}
		if (quote && c == '\n') {
			fail(ps, start - 1, "unterminated string%s", "");
			goto out;
		}
		if (c == '$' && peek_at(ps, 1) == '$' && peek_at(ps, 2) == '{') {
			buf_puts(&pt.lit, "${");
			ps->pos += 3;
		} else if (c == '$' && peek_at(ps, 1) == '{') {
			flush_literal(ps, &pt);
			size_t open = ps->pos;
			ps->pos += 2;
			struct expr *x = parse_expr(ps);
			if (!x)
				goto out;
			skip_space(ps);
			if (peek(ps) != '}') {
				if (peek(ps) < 0)
					fail(ps, open, "unclosed '${': expected '}'%s", "");
				else
					fail(ps, ps->pos, "expected '}' to close the '${' opened before%s", "");
				goto out;
			}
			ps->pos++;
			push_expr(&pt, x);
		} else if (quote && c == '\\') {
			if (!parse_escape(ps, &pt.lit))
				goto out;
		} else {
			buf_putc(&pt.lit, (char)c);
			ps->pos++;
		}
	}
	flush_literal(ps, &pt);
	e->tmpl.parts = ARENA_ARRAY(ps->arena, struct template_part, pt.len);
	if (pt.len)
		memcpy(e->tmpl.parts, pt.v, pt.len * sizeof(*pt.v));
	e->tmpl.len = pt.len;
	free(pt.v);
	buf_free(&pt.lit);
	return e;
out:
	free(pt.v);
	buf_free(&pt.lit);
	return NULL;
}

struct expr *template_parse(struct arena *a, const char *text, size_t len,
			    const struct expr_origin *origin)
{
	struct parser ps = { .arena = a, .text = text, .len = len, .origin = origin };
	return parse_template_until(&ps, 0);
}

struct expr *template_single(const struct expr *tmpl)
{
	if (tmpl->kind == E_TEMPLATE && tmpl->tmpl.len == 1 && tmpl->tmpl.parts[0].expr)
		return tmpl->tmpl.parts[0].expr;
	return NULL;
}

/* ---- printing (normalised form) ---- */

static const char *op_text(enum expr_op op)
{
	static const char *text[] = { "!", "-", "*", "/", "%", "+", "-", "==", "!=", "<", "<=",
				      ">", ">=", "&&", "||" };
	return text[op];
}

static void print_template(const struct expr *e, struct buf *out)
{
	buf_putc(out, '"');
	for (size_t i = 0; i < e->tmpl.len; i++) {
		const struct template_part *p = &e->tmpl.parts[i];
		if (p->expr) {
			buf_puts(out, "${");
			expr_print(p->expr, out);
			buf_putc(out, '}');
			continue;
		}
		for (size_t k = 0; k < p->len; k++) {
			char c = p->text[k];
			if (c == '"' || c == '\\')
				buf_putc(out, '\\');
			if (c == '$' && k + 1 < p->len && p->text[k + 1] == '{')
				buf_putc(out, '$');
			buf_putc(out, c);
		}
	}
	buf_putc(out, '"');
}

static void print_list(struct expr **items, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(out, ", ");
		expr_print(items[i], out);
	}
}

void expr_chain_of(const struct expr *e, struct expr_chain *c)
{
	c->n = 0;
	for (const struct expr *x = e; x->kind == E_BINARY; x = x->ops.x)
		c->n++;
	c->op = c->n <= sizeof(c->local) / sizeof(*c->local) ? c->local : xcalloc(c->n, sizeof(*c->op));
	size_t i = c->n;
	for (const struct expr *x = e; x->kind == E_BINARY; x = x->ops.x)
		c->op[--i] = x;
}

void expr_chain_free(struct expr_chain *c)
{
	if (c->op != c->local)
		free(c->op);
	c->op = NULL;
}

/* "((a + b) - c)": each operator's parentheses, as a nested one prints. */
static void print_chain(const struct expr *e, struct buf *out)
{
	struct expr_chain chain;
	expr_chain_of(e, &chain);
	for (size_t i = 0; i < chain.n; i++)
		buf_putc(out, '(');
	expr_print(chain.op[0]->ops.x, out);
	for (size_t i = 0; i < chain.n; i++) {
		buf_putc(out, ' ');
		buf_puts(out, op_text(chain.op[i]->op));
		buf_putc(out, ' ');
		expr_print(chain.op[i]->ops.y, out);
		buf_putc(out, ')');
	}
	expr_chain_free(&chain);
}

void expr_print(const struct expr *e, struct buf *out)
{
	char num[400];
	switch (e->kind) {
	case E_NULL: buf_puts(out, "null"); break;
	case E_BOOL: buf_puts(out, e->b ? "true" : "false"); break;
	case E_INT: buf_add_int(out, e->i); break;
	case E_FLOAT:
		format_double(e->f, num, sizeof(num));
		buf_puts(out, num);
		break;
	case E_TEMPLATE: print_template(e, out); break;
	case E_LIST:
		buf_putc(out, '[');
		print_list(e->list.items, e->list.len, out);
		buf_putc(out, ']');
		break;
	case E_MAP:
		buf_putc(out, '{');
		for (size_t i = 0; i < e->map.len; i++) {
			if (i)
				buf_puts(out, ", ");
			buf_putc(out, '(');
			expr_print(e->map.keys[i], out);
			buf_puts(out, ") = ");
			expr_print(e->map.values[i], out);
		}
		buf_putc(out, '}');
		break;
	case E_REF: buf_puts(out, e->name); break;
	case E_ATTR:
		expr_print(e->attr.obj, out);
		buf_putc(out, '.');
		buf_puts(out, e->attr.name);
		break;
	case E_INDEX:
		expr_print(e->index.obj, out);
		buf_putc(out, '[');
		expr_print(e->index.index, out);
		buf_putc(out, ']');
		break;
	case E_CALL:
		buf_puts(out, e->call.name);
		buf_putc(out, '(');
		print_list(e->call.args, e->call.len, out);
		buf_putc(out, ')');
		break;
	case E_UNARY:
		buf_putc(out, '(');
		buf_puts(out, op_text(e->op));
		expr_print(e->ops.x, out);
		buf_putc(out, ')');
		break;
	case E_BINARY:
		print_chain(e, out);
		break;
	case E_COND:
		buf_putc(out, '(');
		expr_print(e->ops.x, out);
		buf_puts(out, " ? ");
		expr_print(e->ops.y, out);
		buf_puts(out, " : ");
		expr_print(e->ops.z, out);
		buf_putc(out, ')');
		break;
	}
}
