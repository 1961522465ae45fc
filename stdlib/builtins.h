/* builtins.h - the expression language's built-in functions.
 *
 * Every function is pure: it reads its arguments and the call context and
 * returns a new value, or reports an error at the call and returns NULL.
 * Nothing here runs a program, opens a socket or reads outside the
 * project root.  Functions are grouped by theme, one table per file. */
#ifndef BULKHEAD_BUILTINS_H
#define BULKHEAD_BUILTINS_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"
#include "value.h"

struct project;
struct unit;

struct call_ctx {
	struct arena *arena;
	const char *name;		/* the function being called */
	const struct srcfile *file;	/* where the call is written */
	size_t off;
	const struct limits *limits;	/* string_size, depth, ... */
	/* For the functions that look at the repo or the environment (file,
	 * find_in_parent_folders, path_relative_to_include, get_env); NULL
	 * in contexts without a project, where they report an error. */
	struct project *project;
	const struct unit *unit;
	const char *include_dir;	/* dir of the file the call is written in */
	/* The arguments: call_error hides the text of sensitive ones. */
	struct value **args;
	size_t nargs;
};

typedef struct value *(*builtin_fn)(struct call_ctx *c, struct value **args, size_t nargs);

struct builtin {
	const char *name;
	int min_args;
	int max_args;		/* -1: variadic */
	builtin_fn fn;
};

/* NULL-terminated tables, one per group. */
extern const struct builtin stdlib_number[];	/* abs ceil floor max min parseint */
extern const struct builtin stdlib_string[];	/* format join split upper lower title trimspace
						   replace regex substr startswith endswith */
extern const struct builtin stdlib_collection[];	/* length keys values lookup contains concat
						   distinct flatten merge coalesce element index
						   range reverse sort slice zipmap */
extern const struct builtin stdlib_encode[];	/* tostring tonumber tobool jsonencode
						   jsondecode yamldecode */
extern const struct builtin stdlib_net[];	/* cidrsubnet cidrhost cidrnetmask */
extern const struct builtin stdlib_secret[];	/* secret env_secret */
extern const struct builtin stdlib_path[];	/* basename dirname file find_in_parent_folders
						   path_relative_to_include get_env */

const struct builtin *builtin_find(const char *name);
/* Every builtin name, NULL-terminated (for did-you-mean). */
const char *const *builtin_names(void);

/* Reports "NAME: message" at the call; returns NULL for convenience. */
struct value *call_error(struct call_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Checks the kind of argument i (1-based in messages); reports on mismatch. */
bool call_expect(struct call_ctx *c, struct value **args, size_t i, enum value_kind k);

/* A number result: integral values within int64 become VAL_INT; NaN and
 * infinity are errors. */
struct value *number_value(struct call_ctx *c, double d);
/* A string result copied into the arena; checks limits->string_size. */
struct value *string_value(struct call_ctx *c, const char *s, size_t len);

/* The call's limits, or the defaults where a caller gave none. */
const struct limits *call_limits(const struct call_ctx *c);
/* "null", "a bool", "a list", ... for messages. */
const char *value_kind_phrase(const struct value *v);
/* How many bytes of s to quote in a message: at most 100, cut on a
 * character boundary. */
int call_clip(const char *s, size_t len);

/* UTF-8 helpers shared by the string functions. */
size_t utf8_length(const char *s, size_t len);
/* Decodes one code point at s (valid UTF-8 assumed); returns its length. */
size_t utf8_decode(const char *s, size_t len, unsigned *cp);
size_t utf8_encode(unsigned cp, char out[4]);

#endif
