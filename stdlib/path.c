/* path.c - basename, dirname, file, find_in_parent_folders,
 * path_relative_to_include, get_env.
 *
 * basename and dirname are pure string functions with Go's (Terraform's)
 * filepath rules.  The others look at the repo or the environment through
 * the call context: paths resolve from the unit's directory (also when the
 * call is written in an include), "//" is the project root, results are
 * root-relative, and nothing outside the root, in .git/ or in the output
 * folders is read.  Results computed from a sensitive argument stay
 * sensitive, and error messages never print a sensitive argument. */
#include "builtins.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "project.h"
#include "source.h"
#include "yaml.h"

/* find_in_parent_folders() without a name looks for "vars.yaml": the
 * per-folder variables file is bulkhead's counterpart of the parent
 * terragrunt.hcl Terragrunt looks for (bulkhead.yaml would always be the
 * root's, which the caller can write as "//bulkhead.yaml"). */
static const char default_parent_file[] = "vars.yaml";

/* ---- shared helpers ---- */

static const char *shown(const struct value *v)
{
	return v->sensitive ? "(sensitive)" : v->str.s;
}

static struct value *result_str(struct call_ctx *c, const char *s, size_t len, bool sensitive)
{
	struct value *v = string_value(c, s, len);
	if (v)
		v->sensitive = sensitive;
	return v;
}

/* The repo functions need a project and a unit. */
static bool have_repo(struct call_ctx *c)
{
	if (c->project && c->unit)
		return true;
	call_error(c, "not available here");
	return false;
}

/* String argument i, refusing embedded NULs (they would cut the path). */
static bool text_arg(struct call_ctx *c, struct value **args, size_t i)
{
	if (!call_expect(c, args, i, VAL_STR))
		return false;
	if (memchr(args[i]->str.s, '\0', args[i]->str.len)) {
		call_error(c, "argument %zu contains a NUL byte", i + 1);
		return false;
	}
	return true;
}

/* ---- basename, dirname (Go's filepath.Base / Dir / Clean) ---- */

/* Folds a ".." onto the cleaned output, as Go's filepath.Clean. */
static void clean_dotdot(struct buf *out, bool rooted, size_t *dotdot)
{
	if (out->len > *dotdot) {
		out->len--;
		while (out->len > *dotdot && out->data[out->len] != '/')
			out->len--;
	} else if (!rooted) {
		buf_puts(out, out->len ? "/.." : "..");
		*dotdot = out->len;
	}
	out->data[out->len] = '\0';
}

/* Lexically cleans s[0..len) into out, as Go's filepath.Clean. */
static void path_clean(const char *s, size_t len, struct buf *out)
{
	bool rooted = len && s[0] == '/';
	size_t r = 0, dotdot = rooted;
	buf_reset(out);
	buf_add(out, "/", rooted);
	while (r < len) {
		size_t n = 0;
		while (r + n < len && s[r + n] != '/')
			n++;
		if (n == 2 && s[r] == '.' && s[r + 1] == '.') {
			clean_dotdot(out, rooted, &dotdot);
		} else if (n && !(n == 1 && s[r] == '.')) {
			if (out->len > (size_t)rooted)
				buf_putc(out, '/');
			buf_add(out, s + r, n);
		}
		r += n + 1;
	}
	if (!out->len)
		buf_putc(out, '.');
}

static struct value *fn_basename(struct call_ctx *c, struct value **args, size_t nargs)
{
	(void)nargs;
	if (!call_expect(c, args, 0, VAL_STR))
		return NULL;
	const char *s = args[0]->str.s;
	size_t len = args[0]->str.len;
	if (!len)
		return result_str(c, ".", 1, args[0]->sensitive);
	while (len > 0 && s[len - 1] == '/')
		len--;
	if (!len)
		return result_str(c, "/", 1, args[0]->sensitive);
	size_t start = len;
	while (start > 0 && s[start - 1] != '/')
		start--;
	return result_str(c, s + start, len - start, args[0]->sensitive);
}

static struct value *fn_dirname(struct call_ctx *c, struct value **args, size_t nargs)
{
	(void)nargs;
	if (!call_expect(c, args, 0, VAL_STR))
		return NULL;
	const char *s = args[0]->str.s;
	size_t len = args[0]->str.len;
	while (len > 0 && s[len - 1] != '/')
		len--;
	struct buf out = BUF_INIT;
	path_clean(s, len, &out);
	struct value *v = result_str(c, out.data, out.len, args[0]->sensitive);
	buf_free(&out);
	return v;
}

/* ---- file ---- */

/* Joins the argument onto the unit's directory; reports and returns -1
 * for URLs, absolute paths and escapes. */
static int unit_path(struct call_ctx *c, const struct value *arg, struct buf *out)
{
	if (path_is_url(arg->str.s)) {
		call_error(c, "'%s' is a URL; only files in the repo can be read", shown(arg));
		return -1;
	}
	int rc = path_join(c->unit->dir, arg->str.s, out);
	if (rc == SRC_EFORBIDDEN)
		call_error(c, "'%s' is an absolute path; write it relative to the unit, or from the "
			   "project root with a leading '//'", shown(arg));
	else if (rc == SRC_ESCAPE)
		call_error(c, "'%s' leads outside the project root", shown(arg));
	return rc == SRC_OK ? 0 : -1;
}

/* Resolves symlinks and checks the output folders; reports on failure. */
static int readable_path(struct call_ctx *c, const struct value *arg, const char *path,
			 struct buf *resolved)
{
	struct source *src = &c->project->src;
	/* Units are evaluated on several threads; the source is shared. */
	pthread_mutex_lock(&c->project->lock);
	int rc = source_resolve(src, path, resolved);
	if (rc < 0)
		call_error(c, "cannot read '%s': %s", shown(arg), source_strerror(src, rc));
	pthread_mutex_unlock(&c->project->lock);
	if (rc < 0)
		return -1;
	const char *area = project_output_area(c->project, resolved->data);
	if (area) {
		call_error(c, "cannot read '%s': it is in the output folder '%s'", shown(arg), area);
		return -1;
	}
	return 0;
}

static int read_text(struct call_ctx *c, const struct value *arg, const char *path, struct buf *out)
{
	struct source *src = &c->project->src;
	pthread_mutex_lock(&c->project->lock);
	int rc = source_read(src, path, c->project->limits.file_size, out);
	c->project->files_read = true;
	if (rc < 0)
		call_error(c, "cannot read '%s': %s", shown(arg), source_read_error(src, rc, path));
	pthread_mutex_unlock(&c->project->lock);
	if (rc < 0)
		return -1;
	size_t bad;
	if (utf8_validate(out->data ? out->data : "", out->len, &bad) < 0) {
		call_error(c, "'%s' is not UTF-8 text without NUL bytes (byte %zu)", shown(arg), bad);
		return -1;
	}
	return 0;
}

static struct value *fn_file(struct call_ctx *c, struct value **args, size_t nargs)
{
	(void)nargs;
	if (!have_repo(c) || !text_arg(c, args, 0))
		return NULL;
	struct buf path = BUF_INIT, resolved = BUF_INIT, data = BUF_INIT;
	struct value *v = NULL;
	if (unit_path(c, args[0], &path) < 0 || readable_path(c, args[0], path.data, &resolved) < 0 ||
	    read_text(c, args[0], resolved.data, &data) < 0)
		goto out;
	v = result_str(c, buf_cstr(&data), data.len, args[0]->sensitive);
out:
	buf_free(&path);
	buf_free(&resolved);
	buf_free(&data);
	return v;
}

/* ---- find_in_parent_folders ---- */

/* A name is a relative path below each candidate folder: no leading '/',
 * no '..', not empty, not a URL. */
static bool valid_search_name(const char *name)
{
	if (!*name || name[0] == '/' || path_is_url(name))
		return false;
	for (const char *p = name; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += n + (p[n] == '/');
	}
	return true;
}

/* True when dir/name exists inside the root and outside the outputs. */
static bool found_in(struct project *p, const char *dir, const char *name, struct buf *cand)
{
	struct buf resolved = BUF_INIT;
	pthread_mutex_lock(&p->lock);
	bool ok = path_join(dir, name, cand) == SRC_OK && cand->len &&
		  source_resolve(&p->src, cand->data, &resolved) == SRC_OK &&
		  !project_output_area(p, resolved.data);
	enum src_kind kind = ok ? source_kind(&p->src, cand->data) : SRC_MISSING;
	pthread_mutex_unlock(&p->lock);
	buf_free(&resolved);
	return kind == SRC_FILE || kind == SRC_DIR;
}

static struct value *fn_find_in_parent_folders(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!have_repo(c) || (nargs > 0 && !text_arg(c, args, 0)) ||
	    (nargs > 1 && !call_expect(c, args, 1, VAL_STR)))
		return NULL;
	const char *name = nargs > 0 ? args[0]->str.s : default_parent_file;
	bool sensitive = nargs > 0 && args[0]->sensitive;
	if (!valid_search_name(name))
		return call_error(c, "'%s' must be a relative path without '..'",
				  sensitive ? "(sensitive)" : name);
	struct buf cand = BUF_INIT;
	struct value *v = NULL;
	const char *dir = c->unit->dir;
	while (*dir) {
		dir = path_dirname(c->arena, dir);
		if (found_in(c->project, dir, name, &cand)) {
			v = result_str(c, cand.data, cand.len, sensitive);
			goto out;
		}
	}
	if (nargs > 1)
		v = args[1];
	else
		call_error(c, "no '%s' in any parent folder of '%s'", sensitive ? "(sensitive)" : name,
			   c->unit->dir);
out:
	buf_free(&cand);
	return v;
}

/* ---- path_relative_to_include ---- */

static size_t count_components(const char *p)
{
	size_t n = 0;
	while (*p) {
		p += strcspn(p, "/");
		p += *p == '/';
		n++;
	}
	return n;
}

/* Length of the longest common prefix of whole components of two
 * normalised paths. */
static size_t common_prefix(const char *a, const char *b)
{
	size_t common = 0;
	for (size_t i = 0;; i++) {
		bool end_a = a[i] == '\0' || a[i] == '/', end_b = b[i] == '\0' || b[i] == '/';
		if (end_a && end_b)
			common = i;
		if (a[i] != b[i] || !a[i])
			return common;
	}
}

/* The relative path from directory from to directory to (both normalised
 * and root-relative), "." when they are the same. */
static void relative_path(const char *from, const char *to, struct buf *out)
{
	size_t common = common_prefix(from, to);
	const char *up = from + common + (from[common] == '/');
	const char *down = to + common + (to[common] == '/');
	buf_reset(out);
	for (size_t n = count_components(up); n; n--)
		buf_puts(out, out->len ? "/.." : "..");
	if (*down && out->len)
		buf_putc(out, '/');
	buf_puts(out, down);
	if (!out->len)
		buf_putc(out, '.');
}

static struct value *fn_path_relative_to_include(struct call_ctx *c, struct value **args,
						  size_t nargs)
{
	(void)args, (void)nargs;
	if (!have_repo(c))
		return NULL;
	struct buf from = BUF_INIT, to = BUF_INIT, rel = BUF_INIT;
	struct value *v = NULL;
	if (path_join("", c->include_dir ? c->include_dir : c->unit->dir, &from) != SRC_OK ||
	    path_join("", c->unit->dir, &to) != SRC_OK) {
		call_error(c, "the include folder leads outside the project root");
		goto out;
	}
	relative_path(from.data, to.data, &rel);
	v = result_str(c, rel.data, rel.len, false);
out:
	buf_free(&from);
	buf_free(&to);
	buf_free(&rel);
	return v;
}

/* ---- get_env ---- */

static bool env_allowed(const struct project *p, const char *name)
{
	const struct node *list = p->allow_env;
	if (!list || list->kind != NODE_SEQ)
		return false;
	for (size_t i = 0; i < list->seq.len; i++) {
		const struct node *n = list->seq.items[i];
		if (n && n->kind == NODE_STR && !strcmp(n->str.s, name))
			return true;
	}
	return false;
}

static struct value *fn_get_env(struct call_ctx *c, struct value **args, size_t nargs)
{
	if (!have_repo(c) || !text_arg(c, args, 0) || (nargs > 1 && !call_expect(c, args, 1, VAL_STR)))
		return NULL;
	const char *name = args[0]->str.s;
	if (!env_allowed(c->project, name))
		return call_error(c, "'%s' is not listed in allow_env in bulkhead.yaml", shown(args[0]));
	const char *val = getenv(name);
	if (!val && nargs < 2)
		return call_error(c, "environment variable '%s' is not set", shown(args[0]));
	if (!val)
		return result_str(c, args[1]->str.s, args[1]->str.len, true);
	size_t bad;
	if (utf8_validate(val, strlen(val), &bad) < 0)
		return call_error(c, "environment variable '%s' is not valid UTF-8", shown(args[0]));
	return result_str(c, val, strlen(val), true);
}

const struct builtin stdlib_path[] = {
	{ "basename", 1, 1, fn_basename },
	{ "dirname", 1, 1, fn_dirname },
	{ "file", 1, 1, fn_file },
	{ "find_in_parent_folders", 0, 2, fn_find_in_parent_folders },
	{ "path_relative_to_include", 0, 0, fn_path_relative_to_include },
	{ "get_env", 1, 2, fn_get_env },
	{ NULL, 0, 0, NULL },
};
