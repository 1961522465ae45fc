/* report.c - render findings for people (text, markdown), machines (json,
 * sarif 2.1.0) and CI (github workflow annotations). */
#include "report.h"
#include "policy_rules.h"

#include <string.h>

int report_format_parse(const char *name, enum report_format *out)
{
	static const char *const names[] = { "text", "json", "markdown", "sarif", "github" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(name, names[i])) {
			*out = (enum report_format)i;
			return 0;
		}
	return -1;
}

bool report_shows(const struct finding *f, const struct report_opts *o)
{
	if (f->baselined)
		return false;
	if (o->diff)
		return f->cls != F_EQUAL || o->all;
	if (finding_is_note(f))
		return !o->quiet;
	return finding_is_error(f);
}

enum { DRAIN_AT = 1 << 20 };

/* Hands out to o->stream once it holds a megabyte: a report of a million
 * findings is written as it is made, never whole in memory. */
static void drain(const struct report_opts *o, struct buf *out)
{
	if (o->stream && out->len >= DRAIN_AT) {
		fwrite(out->data, 1, out->len, o->stream);
		buf_reset(out);
	}
}

struct tally {
	size_t errors, notes, parameterized, allowed, baselined;
};

static struct tally count(const struct findings *fs)
{
	struct tally t = { .parameterized = fs->unlisted_parameterized, .allowed = fs->unlisted_allowed };
	for (size_t i = 0; i < fs->len; i++) {
		const struct finding *f = &fs->v[i];
		t.baselined += f->baselined;
		t.errors += finding_is_error(f);
		t.notes += finding_is_note(f);
		t.parameterized += !f->baselined && f->cls == F_PARAMETERIZED;
		t.allowed += !f->baselined && f->cls == F_ALLOWED;
	}
	return t;
}

static void summary(const struct findings *fs, const struct report_opts *o, struct buf *out)
{
	struct tally t = count(fs);
	buf_printf(out, "%s: %zu error%s, %zu note%s (%zu parameterized, %zu allowed", o->title, t.errors,
		   t.errors == 1 ? "" : "s", t.notes, t.notes == 1 ? "" : "s", t.parameterized, t.allowed);
	if (t.baselined)
		buf_printf(out, ", %zu in baseline", t.baselined);
	buf_puts(out, ")");
}

static void location(struct positions *ps, const struct place *at, unsigned *line, unsigned *col)
{
	*line = *col = 0;
	if (at->file)
		positions_find(ps, at->file, at->off, line, col);
}

static const struct place *primary(const struct finding *f)
{
	return f->at_b.file ? &f->at_b : &f->at_a;
}

/* The earlier side's place, when the later side has one too. */
static const struct place *secondary(const struct finding *f)
{
	return f->at_b.file && f->at_a.file ? &f->at_a : NULL;
}

static const char *or_absent(const char *v)
{
	return v ? v : "(absent)";
}

enum { SHOWN_MAX = 100 };

/* Long values are cut for people; json and sarif carry them whole. */
static void clipped(struct buf *out, const char *v)
{
	size_t n = strlen(v);
	if (n <= SHOWN_MAX) {
		buf_add(out, v, n);
		return;
	}
	size_t cut = SHOWN_MAX - 3;
	while (cut > 0 && ((unsigned char)v[cut] & 0xc0) == 0x80)
		cut--;
	buf_add(out, v, cut);
	buf_puts(out, "...");
}

/* "[drift] app/api inputs.x: "a" in stage, "b" in prod (hint)" */
static void message(const struct finding *f, struct buf *out)
{
	buf_printf(out, "[%s] %s %s: ", finding_class_name(f), f->unit, f->key);
	if (f->cls != F_POLICY || strcmp(f->env_a, f->env_b)) {
		clipped(out, or_absent(f->value_a));
		buf_printf(out, " in %s, ", f->env_a);
	}
	clipped(out, or_absent(f->value_b));
	buf_printf(out, " in %s", f->env_b);
	if (f->hint) {
		buf_puts(out, " (");
		clipped(out, f->hint);
		buf_putc(out, ')');
	}
}

static void text_location(struct positions *ps, const struct place *at, struct buf *out)
{
	unsigned line, col;
	location(ps, at, &line, &col);
	if (at->file)
		buf_printf(out, "%s:%u:%u: ", at->file->path, line, col);
	else
		buf_puts(out, "bulkhead: ");
}

/* Without printf: diff writes two of these for each of 160,000
 * findings at 30,000 units. */
static void where(struct positions *ps, const struct place *at, struct buf *out)
{
	unsigned line, col;
	location(ps, at, &line, &col);
	if (!at->file) {
		buf_puts(out, "(absent)");
		return;
	}
	buf_puts(out, at->file->path);
	buf_putc(out, ':');
	buf_add_int(out, line);
	buf_putc(out, ':');
	buf_add_int(out, col);
}

/* " (ENV)" after a place. */
static void side(const char *env, const char *after, struct buf *out)
{
	buf_puts(out, " (");
	buf_puts(out, env);
	buf_putc(out, ')');
	buf_puts(out, after);
}

/* diff: grouped by unit, one line per key, then where each side is. */
static void write_diff_text(const struct findings *fs, const struct report_opts *o, struct positions *ps,
			    struct buf *out)
{
	const char *unit = NULL;
	for (size_t i = 0; i < fs->len; i++) {
		const struct finding *f = &fs->v[i];
		if (!report_shows(f, o))
			continue;
		if (!unit || strcmp(unit, f->unit)) {
			buf_printf(out, "%s%s\n", unit ? "\n" : "", f->unit);
			unit = f->unit;
		}
		const char *cls = finding_class_name(f);
		size_t width = strlen(cls);
		buf_puts(out, "  ");
		buf_add(out, cls, width);
		buf_add(out, "              ", width < 13 ? 14 - width : 1);	/* "%-13s " */
		buf_puts(out, f->key);
		buf_puts(out, ": ");
		clipped(out, or_absent(f->value_a));
		buf_puts(out, " -> ");
		clipped(out, or_absent(f->value_b));
		if (f->hint) {
			buf_puts(out, "  (");
			clipped(out, f->hint);
			buf_putc(out, ')');
		}
		buf_puts(out, "\n      ");
		if (f->at_a.file && f->at_a.file == f->at_b.file && f->at_a.off == f->at_b.off) {
			where(ps, &f->at_a, out);
			buf_puts(out, " (both)\n");
			drain(o, out);
			continue;
		}
		where(ps, &f->at_a, out);
		side(f->env_a, ", ", out);
		where(ps, &f->at_b, out);
		side(f->env_b, "\n", out);
		drain(o, out);
	}
	if (unit)
		buf_putc(out, '\n');
	summary(fs, o, out);
	buf_putc(out, '\n');
}

static void write_text(const struct findings *fs, const struct report_opts *o, struct positions *ps,
		       struct buf *out)
{
	if (o->diff) {
		write_diff_text(fs, o, ps, out);
		return;
	}
	for (size_t i = 0; i < fs->len; i++) {
		const struct finding *f = &fs->v[i];
		if (!report_shows(f, o))
			continue;
		const char *sev = finding_is_error(f) ? "error" : finding_is_note(f) ? "note" : "info";
		text_location(ps, primary(f), out);
		buf_printf(out, "%s: ", sev);
		message(f, out);
		buf_putc(out, '\n');
		const struct place *other = secondary(f);
		if (other) {
			text_location(ps, other, out);
			buf_printf(out, "note: %s defines it here\n", f->env_a);
		}
		drain(o, out);
	}
	summary(fs, o, out);
	buf_putc(out, '\n');
}

/* ---- JSON and SARIF ---- */

static struct value *loc_value(struct arena *a, struct positions *ps, const struct place *at)
{
	unsigned line, col;
	if (!at->file)
		return value_null(a, NULL);
	location(ps, at, &line, &col);
	struct value *m = value_map_room(a, 3);
	value_map_add(m, "column", value_int(a, col, NULL));
	value_map_add(m, "file", value_cstr(a, at->file->path));
	value_map_add(m, "line", value_int(a, line, NULL));
	return m;
}

static struct value *str_or_null(struct arena *a, const char *s)
{
	return s ? value_cstr(a, s) : value_null(a, NULL);
}

static struct value *finding_value(struct arena *a, struct positions *ps, const struct finding *f)
{
	struct value *m = value_map_room(a, 12);
	value_map_add(m, "class", value_cstr(a, finding_class_name(f)));
	value_map_add(m, "env_a", value_cstr(a, f->env_a));
	value_map_add(m, "env_b", value_cstr(a, f->env_b));
	value_map_add(m, "fingerprint", value_cstr(a, f->fingerprint));
	value_map_add(m, "hint", str_or_null(a, f->hint));
	value_map_add(m, "key", value_cstr(a, f->key));
	value_map_add(m, "location_a", loc_value(a, ps, &f->at_a));
	value_map_add(m, "location_b", loc_value(a, ps, &f->at_b));
	value_map_add(m, "severity", value_cstr(a, finding_is_error(f) ? "error" : finding_is_note(f) ? "note" : "none"));
	value_map_add(m, "unit", value_cstr(a, f->unit));
	value_map_add(m, "value_a", str_or_null(a, f->value_a));
	value_map_add(m, "value_b", str_or_null(a, f->value_b));
	value_map_sort(m);
	return m;
}

struct shown_list {
	const struct findings *fs;
	const struct report_opts *o;
	struct value *(*fn)(struct arena *, struct positions *, const struct finding *);
	struct positions *ps;
};

/* json_hole's fill: the shown findings as a list nested depth levels
 * down, each made into a value by fn in a scratch arena, written, and
 * dropped (the arena every few thousand). */
static void fill_shown(void *ctx, struct buf *out, int depth)
{
	const struct shown_list *sl = ctx;
	struct arena scratch;
	size_t n = 0;
	arena_init(&scratch);
	for (size_t i = 0; i < sl->fs->len; i++) {
		const struct finding *f = &sl->fs->v[i];
		if (!report_shows(f, sl->o))
			continue;
		buf_putc(out, n++ ? ',' : '[');
		json_indent(out, depth + 1);
		value_to_json_at(sl->fn(&scratch, sl->ps, f), out, depth + 1);
		if (n % 4096 == 0)
			arena_free(&scratch);	/* and ready for more */
		drain(sl->o, out);
	}
	if (n) {
		json_indent(out, depth);
		buf_putc(out, ']');
	} else {
		buf_puts(out, "[]");
	}
	arena_free(&scratch);
}

/* doc as JSON, the shown findings (each fn's value) where list stands. */
static void write_with_findings(const struct value *doc, const struct value *list, const struct findings *fs,
				const struct report_opts *o, struct positions *ps,
				struct value *(*fn)(struct arena *, struct positions *, const struct finding *),
				struct buf *out)
{
	struct shown_list sl = { fs, o, fn, ps };
	struct json_hole hole = { list, fill_shown, &sl };
	value_to_json_holed(doc, out, &hole);
	buf_putc(out, '\n');
}

static void write_json(const struct findings *fs, const struct report_opts *o, struct arena *a,
		       struct positions *ps, struct buf *out)
{
	struct value *list = value_list(a, 0, NULL);
	struct tally t = count(fs);
	struct value *sum = value_map_room(a, 5);
	value_map_add(sum, "allowed", value_int(a, (int64_t)t.allowed, NULL));
	value_map_add(sum, "baselined", value_int(a, (int64_t)t.baselined, NULL));
	value_map_add(sum, "errors", value_int(a, (int64_t)t.errors, NULL));
	value_map_add(sum, "notes", value_int(a, (int64_t)t.notes, NULL));
	value_map_add(sum, "parameterized", value_int(a, (int64_t)t.parameterized, NULL));
	struct value *doc = value_map_room(a, 2);
	value_map_add(doc, "findings", list);
	value_map_add(doc, "summary", sum);
	write_with_findings(doc, list, fs, o, ps, finding_value, out);
}

/* A root-relative path as a URI reference (RFC 3986): bytes outside
 * the unreserved set and '/' percent-encoded, so that a folder named
 * "my app#2" is not cut at a fragment. */
static const char *uri_path(struct arena *a, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT;
	for (const unsigned char *q = (const unsigned char *)path; *q; q++) {
		if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		    strchr("-._~/", *q)) {
			buf_putc(&b, (char)*q);
		} else {
			buf_putc(&b, '%');
			buf_putc(&b, hex[*q >> 4]);
			buf_putc(&b, hex[*q & 15]);
		}
	}
	const char *out = arena_strndup(a, buf_cstr(&b), b.len);
	buf_free(&b);
	return out;
}

static struct value *sarif_location(struct arena *a, struct positions *ps, const struct place *at,
				    const char *text)
{
	unsigned line, col;
	location(ps, at, &line, &col);
	struct value *region = value_map_room(a, 2);
	value_map_add(region, "startColumn", value_int(a, col, NULL));
	value_map_add(region, "startLine", value_int(a, line, NULL));
	struct value *artifact = value_map_room(a, 1);
	value_map_add(artifact, "uri", value_cstr(a, uri_path(a, at->file->path)));
	struct value *phys = value_map_room(a, 2);
	value_map_add(phys, "artifactLocation", artifact);
	value_map_add(phys, "region", region);
	struct value *loc = value_map_room(a, 2);
	if (text) {
		struct value *msg = value_map_room(a, 1);
		value_map_add(msg, "text", value_cstr(a, text));
		value_map_add(loc, "message", msg);
	}
	value_map_add(loc, "physicalLocation", phys);
	value_map_sort(loc);
	return loc;
}

/* Every rule a result may name, in a fixed order: the finding classes,
 * then the policy rules.  Tools such as GitHub code scanning show a
 * rule's description beside its results. */
static const struct sarif_class {
	const char *id, *level, *summary;
} sarif_classes[] = {
	{ "drift", "error", "A value, source or dependency differs between environments, not by their knobs" },
	{ "ahead", "error", "A later environment runs a newer ref or promoted value than the earlier one" },
	{ "pending", "note", "A change of an earlier environment not yet promoted" },
	{ "parameterized", "none", "The same definition, a different value through an environment knob" },
	{ "allowed", "none", "A difference matching a drift.allow glob" },
	{ "equal", "none", "The same value in both environments" },
};
enum { SARIF_NCLASSES = sizeof(sarif_classes) / sizeof(*sarif_classes) };

static size_t sarif_rule_index(const char *id)
{
	for (size_t i = 0; i < SARIF_NCLASSES; i++)
		if (!strcmp(sarif_classes[i].id, id))
			return i;
	size_t k = 0;
	while (policy_rules[k].id && strcmp(policy_rules[k].id, id))
		k++;
	return SARIF_NCLASSES + k;	/* every rule is listed: a test holds it */
}

static struct value *sarif_rule(struct arena *a, const char *id, const char *level, const char *summary)
{
	struct value *config = value_map_room(a, 1), *text = value_map_room(a, 1), *r = value_map_room(a, 3);
	value_map_add(config, "level", value_cstr(a, level));
	value_map_add(text, "text", value_cstr(a, summary));
	value_map_add(r, "defaultConfiguration", config);
	value_map_add(r, "id", value_cstr(a, id));
	value_map_add(r, "shortDescription", text);
	return r;
}

static struct value *sarif_rule_list(struct arena *a)
{
	size_t npolicy = 0;
	while (policy_rules[npolicy].id)
		npolicy++;
	struct value *rules = value_list(a, SARIF_NCLASSES + npolicy, NULL);
	for (size_t i = 0; i < SARIF_NCLASSES; i++)
		rules->list.items[i] = sarif_rule(a, sarif_classes[i].id, sarif_classes[i].level, sarif_classes[i].summary);
	for (size_t k = 0; k < npolicy; k++)
		rules->list.items[SARIF_NCLASSES + k] = sarif_rule(a, policy_rules[k].id, "error", policy_rules[k].summary);
	return rules;
}

static struct value *sarif_result(struct arena *a, struct positions *ps, const struct finding *f)
{
	struct buf text = BUF_INIT;
	message(f, &text);
	struct value *r = value_map_room(a, 7);
	struct value *msg = value_map_room(a, 1);
	value_map_add(msg, "text", value_cstr(a, arena_strdup(a, text.data)));
	buf_free(&text);
	value_map_add(r, "level", value_cstr(a, finding_is_error(f) ? "error" : "note"));
	struct value *locs = value_list(a, primary(f)->file ? 1 : 0, NULL);
	if (locs->list.len)
		locs->list.items[0] = sarif_location(a, ps, primary(f), NULL);
	value_map_add(r, "locations", locs);
	value_map_add(r, "message", msg);
	struct value *fp = value_map_room(a, 1);
	value_map_add(fp, "bulkhead/v1", value_cstr(a, f->fingerprint));
	value_map_add(r, "partialFingerprints", fp);
	const struct place *other = secondary(f);
	struct value *related = value_list(a, other ? 1 : 0, NULL);
	if (related->list.len)
		related->list.items[0] = sarif_location(a, ps, other, arena_printf(a, "%s defines it here", f->env_a));
	value_map_add(r, "relatedLocations", related);
	value_map_add(r, "ruleId", value_cstr(a, finding_class_name(f)));
	value_map_add(r, "ruleIndex", value_int(a, (int64_t)sarif_rule_index(finding_class_name(f)), NULL));
	value_map_sort(r);
	return r;
}

static void write_sarif(const struct findings *fs, const struct report_opts *o, struct arena *a,
			struct positions *ps, struct buf *out)
{
	struct value *results = value_list(a, 0, NULL);
	struct value *driver = value_map_room(a, 4);
	value_map_add(driver, "informationUri", value_cstr(a, "https://example.invalid/bulkhead"));
	value_map_add(driver, "name", value_cstr(a, "bulkhead"));
	value_map_add(driver, "rules", sarif_rule_list(a));
	value_map_add(driver, "version", value_cstr(a, BULKHEAD_VERSION));
	struct value *tool = value_map_room(a, 1);
	value_map_add(tool, "driver", driver);
	struct value *run = value_map_room(a, 2);
	value_map_add(run, "results", results);
	value_map_add(run, "tool", tool);
	struct value *runs = value_list(a, 1, NULL);
	runs->list.items[0] = run;
	struct value *doc = value_map_room(a, 3);
	value_map_add(doc, "$schema", value_cstr(a, "https://json.schemastore.org/sarif-2.1.0.json"));
	value_map_add(doc, "runs", runs);
	value_map_add(doc, "version", value_cstr(a, "2.1.0"));
	value_map_sort(doc);
	write_with_findings(doc, results, fs, o, ps, sarif_result, out);
}

/* ---- markdown and github ---- */

void md_text(struct buf *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': buf_puts(out, "&lt;"); break;
		case '>': buf_puts(out, "&gt;"); break;
		case '&': buf_puts(out, "&amp;"); break;
		case '\n': buf_putc(out, ' '); break;
		case '|':
		case '`':
			buf_putc(out, '\\');
			/* fall through */
		default: buf_putc(out, *s);
		}
	}
}

/* A fence longer than any run of backticks in s; a space inside it when
 * s starts or ends with one (CommonMark strips one from each side). */
void md_code(struct buf *out, const char *s)
{
	size_t longest = 0, run = 0, len = strlen(s);
	for (const char *q = s; *q; q++) {
		run = *q == '`' ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	bool pad = len && (s[0] == '`' || s[len - 1] == '`');
	for (size_t i = 0; i <= longest; i++)
		buf_putc(out, '`');
	if (pad)
		buf_putc(out, ' ');
	for (const char *q = s; *q; q++)
		buf_putc(out, *q == '\n' ? ' ' : *q);
	if (pad)
		buf_putc(out, ' ');
	for (size_t i = 0; i <= longest; i++)
		buf_putc(out, '`');
}

static void md_cell(struct buf *out, const char *s)
{
	buf_putc(out, ' ');
	md_text(out, s);
	buf_puts(out, " |");
}

static void write_markdown(const struct findings *fs, const struct report_opts *o, struct buf *out)
{
	struct buf envs = BUF_INIT;
	buf_puts(out, "### bulkhead ");
	summary(fs, o, out);
	buf_puts(out, "\n");
	const char *unit = NULL;
	for (size_t i = 0; i < fs->len; i++) {
		const struct finding *f = &fs->v[i];
		if (!report_shows(f, o))
			continue;
		if (!unit || strcmp(unit, f->unit)) {
			unit = f->unit;
			buf_puts(out, "\n#### ");
			md_code(out, unit);
			buf_puts(out, "\n\n| class | key | envs | earlier | later | note |\n|---|---|---|---|---|---|\n");
		}
		buf_putc(out, '|');
		md_cell(out, finding_class_name(f));
		md_cell(out, f->key);
		buf_reset(&envs);
		buf_printf(&envs, "%s → %s", f->env_a, f->env_b);
		md_cell(out, envs.data);
		md_cell(out, or_absent(f->value_a));
		md_cell(out, or_absent(f->value_b));
		md_cell(out, f->hint ? f->hint : "");
		buf_putc(out, '\n');
		drain(o, out);
	}
	buf_free(&envs);
}

static void gh_escape(struct buf *out, const char *s, bool property)
{
	for (; *s; s++) {
		if (*s == '%')
			buf_puts(out, "%25");
		else if (*s == '\r')
			buf_puts(out, "%0D");
		else if (*s == '\n')
			buf_puts(out, "%0A");
		else if (property && *s == ':')
			buf_puts(out, "%3A");
		else if (property && *s == ',')
			buf_puts(out, "%2C");
		else
			buf_putc(out, *s);
	}
}

static void write_github(const struct findings *fs, const struct report_opts *o, struct positions *ps,
			 struct buf *out)
{
	for (size_t i = 0; i < fs->len; i++) {
		const struct finding *f = &fs->v[i];
		if (!report_shows(f, o))
			continue;
		const struct place *at = primary(f);
		unsigned line, col;
		location(ps, at, &line, &col);
		buf_printf(out, "::%s ", finding_is_error(f) ? "error" : "notice");
		if (at->file) {
			buf_puts(out, "file=");
			gh_escape(out, at->file->path, true);
			buf_printf(out, ",line=%u,col=%u,", line, col);
		}
		buf_puts(out, "title=");
		gh_escape(out, finding_class_name(f), true);
		buf_puts(out, "::");
		struct buf msg = BUF_INIT;
		message(f, &msg);
		gh_escape(out, msg.data, false);
		buf_free(&msg);
		buf_putc(out, '\n');
		drain(o, out);
	}
}

void report_write(const struct findings *fs, const struct report_opts *o, struct buf *out)
{
	struct arena a;
	struct positions ps;
	arena_init(&a);
	positions_init(&ps);
	switch (o->format) {
	case FMT_TEXT: write_text(fs, o, &ps, out); break;
	case FMT_JSON: write_json(fs, o, &a, &ps, out); break;
	case FMT_MARKDOWN: write_markdown(fs, o, out); break;
	case FMT_SARIF: write_sarif(fs, o, &a, &ps, out); break;
	case FMT_GITHUB: write_github(fs, o, &ps, out); break;
	}
	positions_free(&ps);
	arena_free(&a);
}
