/* dag.c - Kahn's algorithm for levels; a DFS names a cycle's edges. */
#include "dag.h"

#include <stdlib.h>
#include <string.h>

static const struct node *dep_path_node(const struct dependency *d)
{
	const struct node *path = node_map_get(d->decl, "path");
	return path ? path : d->decl;
}

/* Every dependency names a unit (found when its path was resolved) and
 * not its own. */
static int check_targets(struct unit **units, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct unit *u = units[i];
		for (size_t k = 0; k < u->ndeps; k++) {
			struct dependency *d = &u->deps[k];
			if (d->refused) {
				rc = -1;	/* resolving reported it */
			} else if (!d->target) {
				const struct node *at = dep_path_node(d);
				diag_error(unit_node_file(u, at), at->off,
					   "dependency '%s': no unit '%s' in environment '%s'", d->name, d->target_id,
					   d->target_env);
				rc = -1;
			} else if (d->target == u) {
				const struct node *at = dep_path_node(d);
				diag_error(unit_node_file(u, at), at->off,
					   "dependency '%s': unit '%s' depends on itself", d->name, u->id);
				rc = -1;
			}
		}
	}
	return rc;
}

/* The unit dependency k of u leads to, or NULL for an edge that
 * check_targets refused (no such unit, or u itself). */
static struct unit *edge_target(const struct unit *u, size_t k)
{
	struct unit *t = u->deps[k].target;
	return t != u ? t : NULL;
}

/* Walks from start along edges between still-unplaced units until a unit
 * repeats, then reports the cycle with every edge's location and marks
 * its units reported.  A walk that runs into a reported cycle stops. */
struct unit_set {
	struct unit **v;
	size_t len, cap;
};

static bool set_has(const struct unit_set *s, const struct unit *u)
{
	for (size_t i = 0; i < s->len; i++)
		if (s->v[i] == u)
			return true;
	return false;
}

static void set_add(struct unit_set *s, struct unit *u)
{
	if (s->len == s->cap)
		s->v = xrealloc(s->v, (s->cap = s->cap ? s->cap * 2 : 8) * sizeof(*s->v));
	s->v[s->len++] = u;
}

static void report_cycle(struct unit *start, const struct map *unplaced, struct unit_set *reported)
{
	struct unit **path = NULL;
	struct dependency **edges = NULL;
	size_t len = 0, cap = 0;
	struct unit *u = start;
	for (;;) {
		size_t seen = 0;
		if (set_has(reported, u))
			break;
		while (seen < len && path[seen] != u)
			seen++;
		if (seen < len) {
			struct buf msg = BUF_INIT;
			for (size_t i = seen; i < len; i++)
				buf_printf(&msg, "%s -> ", path[i]->id);
			buf_puts(&msg, u->id);
			const struct node *at = dep_path_node(edges[seen]);
			diag_error(unit_node_file(path[seen], at), at->off, "dependency cycle in '%s': %s", u->env->label,
				   msg.data);
			for (size_t i = seen + 1; i < len; i++) {
				at = dep_path_node(edges[i]);
				diag_note(unit_node_file(path[i], at), at->off, "'%s' depends on '%s' here", path[i]->id,
					  edges[i]->target->id);
			}
			for (size_t i = seen; i < len; i++)
				set_add(reported, path[i]);
			buf_free(&msg);
			break;
		}
		struct dependency *next = NULL;
		for (size_t k = 0; k < u->ndeps && !next; k++)
			if (edge_target(u, k) && map_get(unplaced, (const char *)&u->deps[k].target, sizeof(void *)))
				next = &u->deps[k];
		if (!next)
			break;
		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			path = xrealloc(path, cap * sizeof(*path));
			edges = xrealloc(edges, cap * sizeof(*edges));
		}
		path[len] = u;
		edges[len++] = next;
		u = next->target;
	}
	free(path);
	free(edges);
}

int dag_build(struct project *p, struct unit **units, size_t n)
{
	/* Refused edges are left out, so that cycles among the others are
	 * reported in the same run. */
	int rc = check_targets(units, n);
	/* Levels by repeated relaxation in topological order (Kahn). */
	struct map unplaced;
	size_t *pending = xcalloc(n, sizeof(*pending));
	size_t *queue = xcalloc(n, sizeof(*queue));
	size_t head = 0, tail = 0, placed = 0;
	/* By project index: the unit's position in units + 1, 0 for a unit
	 * outside them (graph --env builds the DAG of one env). */
	size_t *position = xcalloc(p->nunits + 1, sizeof(*position));
	map_init(&unplaced);
	for (size_t i = 0; i < n; i++) {
		units[i]->level = 0;
		position[units[i]->index] = i + 1;
	}
	/* dependants[i]: units depending on unit i, as a flat edge list. */
	size_t nedges = 0;
	for (size_t i = 0; i < n; i++)
		nedges += units[i]->ndeps;
	size_t *edge_from = xcalloc(nedges + 1, sizeof(size_t)), *edge_start = xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < units[i]->ndeps; k++) {
			size_t t = edge_target(units[i], k) ? position[units[i]->deps[k].target->index] : 0;
			if (t) {
				edge_start[t - 1]++;
				pending[i]++;
			}
		}
	for (size_t i = 0, sum = 0; i <= n; i++) {
		size_t c = i < n ? edge_start[i] : 0;
		edge_start[i] = sum;
		sum += c;
	}
	size_t *fill = xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < units[i]->ndeps; k++) {
			size_t t = edge_target(units[i], k) ? position[units[i]->deps[k].target->index] : 0;
			if (t)
				edge_from[edge_start[t - 1] + fill[t - 1]++] = i;
		}
	for (size_t i = 0; i < n; i++)
		if (!pending[i])
			queue[tail++] = i;
	while (head < tail) {
		size_t t = queue[head++];
		placed++;
		for (size_t e = edge_start[t]; e < edge_start[t + 1]; e++) {
			size_t d = edge_from[e];
			if (units[d]->level < units[t]->level + 1)
				units[d]->level = units[t]->level + 1;
			if (--pending[d] == 0)
				queue[tail++] = d;
		}
	}
	if (placed < n) {
		for (size_t i = 0; i < n; i++)
			if (pending[i])
				map_put(&unplaced, (const char *)&units[i], sizeof(void *), units[i]);
		struct unit_set reported = { 0 };
		for (size_t i = 0; i < n; i++)
			if (pending[i])
				report_cycle(units[i], &unplaced, &reported);
		free(reported.v);
		rc = -1;
	}
	free(pending);
	free(queue);
	free(edge_from);
	free(edge_start);
	free(fill);
	free(position);
	map_free(&unplaced);
	return rc;
}
