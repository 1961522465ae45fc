/* secret.c - secret() and env_secret(): references, never values.
 *
 * Both evaluate to the Secrets Manager ARN prefix the module resolves at
 * apply time, so a secret's value never enters the repo, the tfvars or a
 * report.  secret() names an organisation secret kept in the secrets
 * account (secrets_account: in bulkhead.yaml, default the first shared
 * account); env_secret() one kept in the unit's own env account. */
#include "builtins.h"
#include "project.h"

#include <string.h>

/* Secrets Manager names: letters, digits and /_+=.@- */
static bool valid_name(const char *s, size_t len)
{
	if (!len || len > 512)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("/_+=.@-", s[i])))
			return false;
	return true;
}

static const char *checked_name(struct call_ctx *c, struct value **args)
{
	if (!c->project || !c->unit) {
		call_error(c, "not available here");
		return NULL;
	}
	if (!call_expect(c, args, 0, VAL_STR))
		return NULL;
	if (!valid_name(args[0]->str.s, args[0]->str.len)) {
		call_error(c, "'%s' is not a valid secret name (letters, digits and /_+=.@-)", args[0]->str.s);
		return NULL;
	}
	return args[0]->str.s;
}

static struct value *arn(struct call_ctx *c, const struct env *e, const char *scope, const char *name)
{
	char *s = arena_printf(c->arena, "arn:aws:secretsmanager:%s:%s:secret:%s/%s/%s", e->region,
			       e->account_id, c->project->name, scope, name);
	return string_value(c, s, strlen(s));
}

static struct value *fn_secret(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	const char *name = checked_name(c, args);
	const struct env *e = name ? c->project->secrets_env : NULL;
	if (name && !e)
		call_error(c, "no shared account to keep organisation secrets in (add one under shared:)");
	return e ? arn(c, e, "org", name) : NULL;
}

static struct value *fn_env_secret(struct call_ctx *c, struct value **args, size_t n)
{
	(void)n;
	const char *name = checked_name(c, args);
	return name ? arn(c, c->unit->env, c->unit->env->name, name) : NULL;
}

const struct builtin stdlib_secret[] = {
	{ "secret", 1, 1, fn_secret },
	{ "env_secret", 1, 1, fn_env_secret },
	{ NULL, 0, 0, NULL },
};
