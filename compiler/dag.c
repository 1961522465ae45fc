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

/* The graph of the units dag_build could not place, by position in its
 * units: each one's edges to other unplaced units, in declaration order. */
struct rest_graph {
	struct unit **units;
	size_t n;
	size_t *start;	/* edges of unit i: start[i] .. start[i + 1] - 1 */
	size_t *from, *to;	/* edge e leads from unit from[e] to unit to[e] */
	struct dependency **dep;	/* edge e as declared */
};

/* Strongly connected components (Tarjan's, with an explicit stack, as a
 * hostile repo may chain 30,000 units): comp[i] for each unit.  A cycle
 * lies within one component and every edge within one is on a cycle. */
static void components(const struct rest_graph *g, size_t *comp)
{
	enum { UNSEEN = 0 };
	size_t *index = xcalloc(g->n + 1, sizeof(size_t)), *low = xcalloc(g->n + 1, sizeof(size_t));
	size_t *next_edge = xcalloc(g->n + 1, sizeof(size_t));
	size_t *stack = xcalloc(g->n + 1, sizeof(size_t)), *calls = xcalloc(g->n + 1, sizeof(size_t));
	bool *on_stack = xcalloc(g->n + 1, sizeof(bool));
	size_t counter = 0, depth = 0, ncalls = 0, ncomps = 0;
	for (size_t root = 0; root < g->n; root++) {
		if (index[root] != UNSEEN)
			continue;
		calls[ncalls++] = root;
		index[root] = low[root] = ++counter;
		next_edge[root] = g->start[root];
		stack[depth++] = root;
		on_stack[root] = true;
		while (ncalls) {
			size_t v = calls[ncalls - 1];
			if (next_edge[v] < g->start[v + 1]) {
				size_t w = g->to[next_edge[v]++];
				if (index[w] == UNSEEN) {
					index[w] = low[w] = ++counter;
					next_edge[w] = g->start[w];
					stack[depth++] = w;
					on_stack[w] = true;
					calls[ncalls++] = w;
				} else if (on_stack[w] && index[w] < low[v]) {
					low[v] = index[w];
				}
				continue;
			}
			if (--ncalls && low[v] < low[calls[ncalls - 1]])
				low[calls[ncalls - 1]] = low[v];
			if (low[v] != index[v])
				continue;
			size_t w;
			do {
				w = stack[--depth];
				on_stack[w] = false;
				comp[w] = ncomps;
			} while (w != v);
			ncomps++;
		}
	}
	free(index);
	free(low);
	free(next_edge);
	free(stack);
	free(calls);
	free(on_stack);
}

/* The shortest way back from unit from to unit home within their
 * component (breadth first, edges in declaration order): via[u] is the
 * edge that reached u.  False when there is none. */
static bool way_back(const struct rest_graph *g, const size_t *comp, size_t from, size_t home, size_t *via,
		     size_t *queue, bool *seen)
{
	size_t head = 0, tail = 0;
	memset(seen, 0, g->n * sizeof(*seen));
	queue[tail++] = from;
	seen[from] = true;
	while (head < tail) {
		size_t u = queue[head++];
		if (u == home)
			return true;
		for (size_t e = g->start[u]; e < g->start[u + 1]; e++) {
			size_t t = g->to[e];
			if (comp[t] == comp[from] && !seen[t]) {
				seen[t] = true;
				via[t] = e;
				queue[tail++] = t;
			}
		}
	}
	return false;
}

/* The cycle made of the edges given, in order: an error at the first
 * edge naming the whole loop, a note at each other edge. */
static void report_cycle(const struct rest_graph *g, const size_t *edges, size_t len)
{
	struct buf msg = BUF_INIT;
	const struct unit *first = g->units[g->from[edges[0]]];
	for (size_t i = 0; i < len; i++)
		buf_printf(&msg, "%s -> ", g->units[g->from[edges[i]]]->id);
	buf_puts(&msg, first->id);
	const struct node *at = dep_path_node(g->dep[edges[0]]);
	diag_error(unit_node_file(first, at), at->off, "dependency cycle in '%s': %s", first->env->label, msg.data);
	for (size_t i = 1; i < len; i++) {
		const struct unit *u = g->units[g->from[edges[i]]];
		at = dep_path_node(g->dep[edges[i]]);
		diag_note(unit_node_file(u, at), at->off, "'%s' depends on '%s' here", u->id,
			  g->dep[edges[i]]->target->id);
	}
	buf_free(&msg);
}

/* Past the first cycle, cycles are shown while their edges add up to no
 * more than this: a knot of 20,000 units holds thousands of long ones. */
enum { CYCLE_EDGES_SHOWN = 1000 };

/* Names every edge that lies on a cycle in some reported cycle: for each
 * such edge not named yet, in unit and declaration order, the shortest
 * cycle through it.  At most DIAG_CAP cycles, each found in linear time,
 * so a hostile graph costs no more than the errors it can show; beyond
 * CYCLE_EDGES_SHOWN, one error counts the edges left. */
static void report_cycles(const struct rest_graph *g)
{
	size_t nedges = g->start[g->n];
	size_t *comp = xcalloc(g->n + 1, sizeof(size_t)), *via = xcalloc(g->n + 1, sizeof(size_t));
	size_t *queue = xcalloc(g->n + 1, sizeof(size_t)), *cycle = xcalloc(g->n + 1, sizeof(size_t));
	bool *seen = xcalloc(g->n + 1, sizeof(bool)), *named = xcalloc(nedges + 1, sizeof(bool));
	components(g, comp);
	size_t reported = 0, shown = 0, left = 0;
	for (size_t e = 0; e < nedges && reported < DIAG_CAP && !left; e++) {
		size_t home = g->from[e], target = g->to[e];
		if (named[e] || comp[home] != comp[target] || !way_back(g, comp, target, home, via, queue, seen))
			continue;
		/* The way back, walked from home to the target, then reversed. */
		size_t len = 0;
		for (size_t u = home; u != target; u = g->from[via[u]])
			cycle[len++] = via[u];
		cycle[len++] = e;
		for (size_t i = 0; i < len / 2; i++) {
			size_t t = cycle[i];
			cycle[i] = cycle[len - 1 - i];
			cycle[len - 1 - i] = t;
		}
		if (reported && shown + len > CYCLE_EDGES_SHOWN) {
			for (size_t f = e; f < nedges; f++)
				left += !named[f] && comp[g->from[f]] == comp[g->to[f]];
			break;
		}
		report_cycle(g, cycle, len);
		for (size_t i = 0; i < len; i++)
			named[cycle[i]] = true;
		reported++;
		shown += len;
	}
	if (left)
		diag_error(NULL, 0, "%zu more dependencies lie on cycles not shown: break the cycles above first", left);
	free(comp);
	free(via);
	free(queue);
	free(cycle);
	free(seen);
	free(named);
}

/* Kahn's algorithm left the units with pending[i] set: those on a
 * cycle and those depending on one.  position maps a project index to
 * a place in units + 1. */
static void report_unplaced(struct unit **units, size_t n, const size_t *pending, const size_t *position)
{
	struct rest_graph g = { 0 };
	size_t *place = xcalloc(n + 1, sizeof(size_t)), nedges = 0;
	g.units = xcalloc(n + 1, sizeof(*g.units));
	for (size_t i = 0; i < n; i++)
		if (pending[i]) {
			place[i] = g.n + 1;
			g.units[g.n++] = units[i];
			nedges += units[i]->ndeps;
		}
	g.start = xcalloc(g.n + 1, sizeof(size_t));
	g.from = xcalloc(nedges + 1, sizeof(size_t));
	g.to = xcalloc(nedges + 1, sizeof(size_t));
	g.dep = xcalloc(nedges + 1, sizeof(*g.dep));
	nedges = 0;
	for (size_t i = 0; i < g.n; i++) {
		struct unit *u = g.units[i];
		g.start[i] = nedges;
		for (size_t k = 0; k < u->ndeps; k++) {
			size_t t = edge_target(u, k) ? position[u->deps[k].target->index] : 0;
			if (!t || !place[t - 1])
				continue;
			g.from[nedges] = i;
			g.to[nedges] = place[t - 1] - 1;
			g.dep[nedges++] = &u->deps[k];
		}
	}
	g.start[g.n] = nedges;
	report_cycles(&g);
	free(place);
	free(g.units);
	free(g.start);
	free(g.from);
	free(g.to);
	free(g.dep);
}

int dag_build(struct project *p, struct unit **units, size_t n)
{
	/* Refused edges are left out, so that cycles among the others are
	 * reported in the same run. */
	int rc = check_targets(units, n);
	/* Levels by repeated relaxation in topological order (Kahn). */
	size_t *pending = xcalloc(n, sizeof(*pending));
	size_t *queue = xcalloc(n, sizeof(*queue));
	size_t head = 0, tail = 0, placed = 0;
	/* By project index: the unit's position in units + 1, 0 for a unit
	 * outside them (graph --env builds the DAG of one env). */
	size_t *position = xcalloc(p->nunits + 1, sizeof(*position));
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
		report_unplaced(units, n, pending, position);
		rc = -1;
	}
	free(pending);
	free(queue);
	free(edge_from);
	free(edge_start);
	free(fill);
	free(position);
	return rc;
}

void dependants_init(struct dependants *d, struct unit *const *units, size_t n, size_t nindex)
{
	size_t nedges = 0;
	d->first = xcalloc(nindex + 2, sizeof(*d->first));
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < units[i]->ndeps; k++)
			if (units[i]->deps[k].target) {
				d->first[units[i]->deps[k].target->index + 2]++;
				nedges++;
			}
	for (size_t i = 2; i < nindex + 2; i++)
		d->first[i] += d->first[i - 1];
	d->of = xcalloc(nedges + 1, sizeof(*d->of));
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < units[i]->ndeps; k++)
			if (units[i]->deps[k].target)
				d->of[d->first[units[i]->deps[k].target->index + 1]++] = i;
}

void dependants_free(struct dependants *d)
{
	free(d->first);
	free(d->of);
}
