/* schema.c - shape checks shared by the project, unit and include files. */
#include "schema.h"

#include <string.h>

bool schema_expect(const struct node *n, enum node_kind k, const char *what)
{
	if (n->kind == k || (k == NODE_FLOAT && n->kind == NODE_INT))
		return true;
	diag_error(n->file, n->off, "%s must be a %s, not a %s", what, node_kind_name(k),
		   n->kind == NODE_NULL ? "null" : node_kind_name(n->kind));
	return false;
}

bool schema_expect_string(const struct node *n, const char *what)
{
	return schema_expect(n, NODE_STR, what);
}

bool schema_expect_string_list(const struct node *n, const char *what)
{
	if (!schema_expect(n, NODE_SEQ, what))
		return false;
	bool ok = true;
	for (size_t i = 0; i < n->seq.len; i++)
		ok &= schema_expect_string(n->seq.items[i], what);
	return ok;
}

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

/* Levenshtein distance, capped: words longer than 63 bytes never match. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 64;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			row[j] = min3(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1]));
			diag = up;
		}
	}
	return row[lb];
}

const char *schema_suggest(const char *word, const char *const *known)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	size_t limit = strlen(word) / 3 + 1;
	if (limit > 3)
		limit = 3;
	for (; *known; known++) {
		if (!strcmp(word, *known))
			continue;	/* suggesting the word itself helps nobody */
		size_t d = edit_distance(word, *known);
		if (d <= limit && d < best_d)
			best = *known, best_d = d;
	}
	return best;
}

int schema_check_keys(const struct node *map, const char *const *known, const char *what)
{
	int bad = 0;
	for (size_t i = 0; i < map->map.len; i++) {
		const struct node *key = map->map.pairs[i].key;
		const char *const *k = known;
		while (*k && strcmp(*k, key->str.s))
			k++;
		if (*k)
			continue;
		const char *hint = schema_suggest(key->str.s, known);
		if (hint)
			diag_error(key->file, key->off, "unknown key '%s' in %s; did you mean '%s'?",
				   key->str.s, what, hint);
		else
			diag_error(key->file, key->off, "unknown key '%s' in %s", key->str.s, what);
		bad++;
	}
	return bad;
}

bool schema_near_miss(const struct node *map, const char *key)
{
	const char *const want[] = { key, NULL };
	for (size_t i = 0; i < map->map.len; i++) {
		const char *k = map->map.pairs[i].key->str.s;
		if (strcmp(k, key) && schema_suggest(k, want))
			return true;
	}
	return false;
}
