/* net.c - built-in functions (being written). */
#include "builtins.h"

const struct builtin stdlib_net[] = {
	{ NULL, 0, 0, NULL },
};
