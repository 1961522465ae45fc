/* encode.c - built-in functions (being written). */
#include "builtins.h"

const struct builtin stdlib_encode[] = {
	{ NULL, 0, 0, NULL },
};
