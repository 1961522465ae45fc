/* path.c - built-in functions (being written). */
#include "builtins.h"

const struct builtin stdlib_path[] = {
	{ NULL, 0, 0, NULL },
};
