/* project.h - the project model: bulkhead.yaml, environments, units.
 *
 * Environments come in promotion order, then shared accounts.  A
 * multi-region environment becomes one struct env per region, labelled
 * "prod/us-west-2"; the first region is the canary. */
#ifndef BULKHEAD_PROJECT_H
#define BULKHEAD_PROJECT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "arena.h"
#include "map.h"
#include "parallel.h"
#include "parse_cache.h"
#include "source.h"
#include "stat_index.h"
#include "value.h"
#include "yaml.h"

struct unit;
struct trace;
struct unit_key_glob;
struct parse_store;

/* Where to read the repo from: the work tree (both unset), the tree of a
 * revision, or the git index. */
struct source_spec {
	const char *rev;
	bool staged;
	const char *index_file;	/* $GIT_INDEX_FILE, absolute; NULL for .git/index */
	struct trace *trace;	/* records what the work tree showed, or NULL */
	unsigned jobs;		/* worker threads, -j; 0: one per online CPU */
	/* Threads making output files and folders: -j when given, else twice
	 * jobs (see emit_write); 0: jobs. */
	unsigned write_jobs;
	/* Keep, per unit, which definition overrode which and the include
	 * chain that reached each file: only show --explain prints them, and
	 * at 30,000 units they were 30,000 maps and 120,000 strings. */
	bool provenance;
	/* Keep, per unit, every mocked output it read and where (struct
	 * mock_use): only build reports them (protected envs, the manifest),
	 * and at 30,000 units they were 200,000 records. */
	bool mock_reads;
};

struct env {
	const char *name;	/* "prod" */
	const char *label;	/* "prod" or "prod/us-west-2" */
	const char *dir;	/* root-relative folder of its units */
	const char *account_id;
	const char *region;
	bool is_protected;
	bool is_shared;
	int order;		/* promotion index; -1 for shared accounts */
	const struct node *decl;	/* the entry in bulkhead.yaml */
	const struct node *name_node;
	struct unit **units;	/* sorted by id */
	size_t nunits;
	struct value *value;	/* env.* as seen by expressions, built once */
};

struct dependency {
	const char *name;
	const char *target_env;	/* env label of the target unit */
	const char *target_id;
	/* "@shared/unit" of a shared account with several regions, reached
	 * in the unit's own region (or the first): the written target is
	 * the same in every region, so drift compares it as written. */
	const char *shared_name;
	const struct node *decl;
	/* Found with the path on the resolve workers (NULL when the env has
	 * no such unit: the DAG phase reports it). */
	struct unit *target;
	/* Its outputs file's values, shared with every dependant (loaded on
	 * first use); NULL while mocked: eval.c reads mock_outputs per key. */
	struct value *outputs;
	bool mocked;		/* outputs come from mock_outputs */
	bool outputs_failed;	/* the outputs file was reported bad */
	/* Its path was refused (reported): no target.  The unit is still
	 * evaluated, so its own errors show in the same run. */
	bool refused;
	/* Set before the unit is evaluated: the target can give no values
	 * (a refused path, no such unit, a broken or failed unit), for a
	 * reason reported already; a reference to it fails quietly. */
	bool unusable;
};

/* A mocked output a unit's inputs read, with where it was read. */
/* Only build reports these (mock_ref spells one out), so a drift does
 * not format the 140,000 a large repo reads. */
struct mock_use {
	const char *dependency;	/* "vpc" */
	const char *key;	/* "vpc_id" */
	const char *via;	/* NULL: dependency.vpc.outputs.vpc_id; else the
				 * dependency's unit id, which read mock_outputs
				 * and passed a value on as dependency.vpc.inputs.KEY */
	const struct srcfile *file;
	size_t off;
	struct mock_use *next;
};

/* A definition that a later one replaced in the merge, newest first. */
struct override {
	const struct node *node;
	struct override *next;
};

struct unit {
	size_t index;		/* position in project.units */
	const char *id;		/* "app/api" */
	const char *dir;	/* "dev/app/api" */
	const char *file;	/* "dev/app/api/unit.yaml" */
	struct env *env;
	/* Set by the merge phase. */
	const struct srcfile *src;	/* its unit.yaml */
	/* The file its unit.yaml's nodes name: src, or the file of the first
	 * unit with the same bytes, whose tree it shares (project.c). */
	const struct srcfile *tree_src;
	struct node *config;	/* includes + unit.yaml, tags applied */
	struct node *vars;	/* vars.yaml chain, outermost first */
	struct map exposed;	/* include "as" name -> merged node */
	struct map overrides;	/* winning node address -> struct override */
	const struct map *base_overrides;	/* the same, within its includes */
	struct map chains;	/* file path -> include chain that reached it */
	/* Its files, vars or dependency paths had errors (reported): it is
	 * not evaluated, nor are the units depending on it. */
	bool broken;
	/* Set by the eval phase. */
	struct value *inputs;
	struct mock_use *mocks;	/* mocked outputs read, newest first; kept
				 * when project.mock_reads */
	const char *source;
	struct dependency *deps;
	size_t ndeps;
	/* With more than a few dependencies, the same sorted by name for
	 * unit_dependency (an aggregating unit may name thousands, each
	 * looked up by every reference); NULL otherwise. */
	struct dependency **deps_by_name;
	int level;		/* dependency level, 0 = no dependencies */
	/* Its outputs file as values, made once by the first dependant to
	 * read it (under project.lock) and shared by all: NULL when there is
	 * none (outputs_exist unset: mock_outputs serve) or it is bad
	 * (reported then, once). */
	bool outputs_looked, outputs_exist;
	struct value *outputs;
};

/* The file n, a node of u's configuration, was written in. */
static inline const struct srcfile *unit_node_file(const struct unit *u, const struct node *n)
{
	return n->file && n->file == u->tree_src ? u->src : n->file;
}

/* Where n is, for a report kept past the run; u may be NULL for a node
 * of no unit (bulkhead.yaml), n NULL for nowhere. */
static inline struct place unit_place(const struct unit *u, const struct node *n)
{
	if (!n)
		return (struct place){ NULL, 0 };
	return (struct place){ u ? unit_node_file(u, n) : n->file, n->off };
}

/* While u is worked on, reports about its nodes name its own file. */
static inline struct diag_alias unit_diag_alias(const struct unit *u)
{
	return (struct diag_alias){ u->tree_src, u->src };
}

struct loaded_file {
	struct srcfile src;
	struct node *root;	/* NULL when it failed to load */
	bool unreported;	/* failed on a muted worker: load again to report */
	/* Its keys and shapes passed the unit-file check (include.c): a file
	 * that 10,000 units include is checked once.  Set by any worker. */
	atomic_bool shape_ok;
};

/* Each worker's copy of the entries it found in the project's shared
 * maps (templates, files, vars_cache, include_cache, config_cache), read
 * without the lock: every template evaluation, include and vars chain of
 * every unit took it, and two threads contending for it cost 4 % of a
 * drift.  Only final entries are copied (a parsed template, a loaded
 * file, a merge that succeeded); the keys are the shared maps' own.
 * MEMO_LITERALS (a literal tree's value) and MEMO_KEY_ORDERS (a map
 * node's key order) have no shared map: each worker makes its own,
 * keyed by node, in its arena. */
enum memo_kind {
	MEMO_TEMPLATES, MEMO_FILES, MEMO_VARS, MEMO_BASES, MEMO_CONFIGS, MEMO_LITERALS, MEMO_KEY_ORDERS,
	MEMO_KINDS
};
struct worker_memo {
	PARALLEL_OWN_LINE struct map maps[MEMO_KINDS];
};

/* Units that include the same files in the same order share the merge
 * of those includes (include.c makes it): only the unit's own file is
 * merged per unit.  In project.include_cache, which project.c frees. */
struct merged_base {
	struct node *node;	/* NULL when the merge failed */
	struct map overrides;
	bool unreported;	/* failed on a muted worker: merge again to report */
};

struct project {
	struct arena arena;
	struct source src;	/* the repo's files: work tree, revision or index */
	struct source work;	/* the work tree: dependency outputs live here */
	char *root;		/* absolute path of the project root */
	struct loaded_file *file;	/* bulkhead.yaml */
	const char *name;
	struct limits limits;
	struct env **envs;	/* promotion order, then shared */
	size_t nenvs;
	const char *output_dir;
	const char *output_path;
	const struct node *output_path_node;
	const struct node *generate;	/* output.generate: template names */
	const char *outputs_dir;
	const char *role;
	/* Where secret() keeps organisation secrets: secrets_account, else
	 * the first shared account; NULL when there is none. */
	const struct env *secrets_env;
	/* drift.allow and drift.promoted, split (glob.h). */
	struct unit_key_glob *drift_allow, *drift_promoted;
	size_t ndrift_allow, ndrift_promoted;
	const struct node *allow_env;	/* list or NULL */
	bool unique_accounts;
	struct map files;	/* path -> struct loaded_file */
	struct map vars_cache;	/* dir -> merged vars node */
	struct map vars_values;	/* merged vars node address -> its value */
	struct map templates;	/* template text -> parsed template */
	struct worker_memo worker_memo[PARALLEL_MAX_JOBS];
	struct map include_cache;	/* include chain -> merged base */
	struct map config_cache;	/* merged base and unit tree -> configuration */
	struct map definitions;	/* node address -> struct definition, for drift */
	/* A map value whose keys were evaluated ("${env.name}-logs": ...)
	 * -> the key node of each of its pairs, in pair order: drift pairs
	 * the keys one template gives in two envs.  Under lock. */
	struct map key_nodes;
	struct value *envs_value;	/* envs.* as seen by expressions */
	struct value *project_value;	/* project.*, the same */
	struct unit **units;	/* all units, env order then id */
	size_t nunits;
	/* Discovery reported an error (a unit.yaml out of place, a bad
	 * link): the units it found sound are compiled all the same, so a
	 * run shows every error (SPEC 6), and the run fails. */
	bool discovery_failed;
	unsigned jobs;		/* worker threads (see parallel.h) */
	unsigned write_jobs;	/* see struct source_spec */
	bool provenance;	/* see struct source_spec */
	bool mock_reads;	/* see struct source_spec */
	struct worker_arenas *worker_arenas;	/* what workers made lives here */
	bool prefetched;	/* project_prefetch_units ran */
	struct parse_cache parse_cache;	/* unit trees of earlier runs */
	struct parse_store *parse_store;	/* its new entries being stored, or NULL */
	struct stat_index stat_index;	/* folders and unit files of earlier runs */
	pthread_mutex_t lock;	/* templates and arena, while workers run */
	size_t template_failures;	/* eval_template_of calls that failed */
	bool files_read;	/* file() read a file (set under lock) */
};

/* Waits until the parse cache's new entries, encoded from the trees and
 * stored on a thread of their own after the prefetch, are written:
 * before anything else writes in .bulkhead/cache/, and before the trees
 * are freed (project_forget_compiled and project_close wait too). */
void project_wait_parse_store(struct project *p);

/* One set of per-worker arenas, freed with the project. */
struct worker_arenas {
	struct worker_arena *arenas;
	unsigned n;
	struct worker_arenas *next;
};

/* Finds the directory holding bulkhead.yaml, walking up from start. */
int project_find_root(const char *start, struct buf *root);
/* Loads and validates bulkhead.yaml and discovers every unit.  Errors go
 * to the diagnostics sink; returns -1 when the project cannot be read
 * (bulkhead.yaml), and sets discovery_failed when units were found out
 * of place: the rest are there to compile. */
int project_open(struct project *p, const char *root, const struct source_spec *spec);
void project_close(struct project *p);
/* The output folder or the outputs folder when the root-relative path
 * lies in one (bulkhead writes them; nothing reads them), else NULL. */
const char *project_output_area(const struct project *p, const char *path);

/* Loads a YAML file once per project.  On failure reports at (ref, off) when
 * ref is given, and returns NULL. */
struct loaded_file *project_load(struct project *p, const char *path,
				 const struct srcfile *ref, size_t ref_off);
/* A dependency's outputs file, as JSON, from the work tree whatever the
 * project reads (--rev and --staged too). */
struct loaded_file *project_load_outputs(struct project *p, const char *path);
/* Parses every unit's own file on all cores ahead of the merge, which
 * then finds them loaded.  Output is the same for any thread count. */
void project_prefetch_units(struct project *p);
/* jobs fresh arenas for the workers of one parallel phase; what they
 * hold lives as long as the project. */
struct worker_arena *project_worker_arenas(struct project *p, unsigned jobs);
/* A lookup in one of the running worker's memo maps (see parallel_worker
 * and struct worker_memo): memo_find hashes key once, for the shared map
 * too, and returns the memo's value or NULL; memo_keep then notes the
 * value found under the lock, under the shared map's own key. */
struct memo_probe {
	struct map *mine;
	size_t len;
	uint64_t hash;
};
void *memo_find(struct project *p, enum memo_kind kind, const char *key, size_t len, struct memo_probe *probe);
void memo_keep(const struct memo_probe *probe, const char *stored_key, void *value);
/* Frees the sets made after mark (an earlier p->worker_arenas; NULL for
 * all): for a phase whose results are no longer used. */
void project_release_worker_arenas(struct project *p, struct worker_arenas *mark);
/* Forgets what the resolve phase set in u (configuration, vars, include
 * maps, dependencies), to redo it or because its memory is going. */
void unit_forget_resolution(struct unit *u);
/* Sorts the unit's dependencies by name for unit_dependency, when there
 * are enough to be worth it; a in which to keep the order. */
void unit_index_dependencies(struct unit *u, struct arena *a);
/* The unit's dependency called name, or NULL. */
struct dependency *unit_dependency(const struct unit *u, const char *name);
/* Frees everything the workers made (file texts, trees, merges, values)
 * and forgets the units' configurations, inputs and dependencies, which
 * pointed there; units, envs and the project file stay.  For a caller
 * done with every value and holding no diagnostic, which may print a
 * file's text: build, before it writes its files. */
void project_forget_compiled(struct project *p);
struct env *project_find_env(const struct project *p, const char *label);
struct unit *env_find_unit(const struct env *e, const char *id);

#endif
