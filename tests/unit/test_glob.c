/* test_glob.c - compiler/glob.h: the literal-head shortcut agrees with
 * fnmatch(3) without flags. */
#include "helpers.h"

#include <fnmatch.h>

#include "glob.h"

Test(glob, literal_globs_match_only_themselves)
{
	cr_expect(glob_match("inputs.instance_type", "inputs.instance_type"));
	cr_expect(!glob_match("inputs.instance_type", "inputs.instance_type_x"));
	cr_expect(!glob_match("inputs.instance_type", "inputs.instance"));
	cr_expect(glob_match("", ""));
	cr_expect(!glob_match("", "x"));
}

Test(glob, star_crosses_slash_and_dot)
{
	cr_expect(glob_match("*", "app/api"));
	cr_expect(glob_match("app/*", "app/api/v2"));
	cr_expect(glob_match("inputs.*", "inputs.tags.\"k8s.io/role\""));
	cr_expect(glob_match("*.image_tag", "inputs.image_tag"));
	cr_expect(!glob_match("net/*", "app/api"));
	cr_expect(glob_match(".*", ".hidden"));
}

Test(glob, agrees_with_fnmatch_on_every_pair)
{
	static const char *const globs[] = {
		"", "*", "?", "a", "a*", "*a", "a?c", "[ab]c", "[!a]c", "\\*", "a\\*b", "a[", "inputs.*.x",
		"app/*/db", "*:inputs.x", "ab*cd*ef",
	};
	static const char *const names[] = {
		"", "a", "ab", "abc", "bc", "cc", "*", "a*b", "axb", "a[", "inputs.y.x", "inputs.x",
		"app/a/b/db", "app/db", "abcdef", "abcdXef", "abef",
	};
	for (size_t g = 0; g < sizeof(globs) / sizeof(*globs); g++)
		for (size_t n = 0; n < sizeof(names) / sizeof(*names); n++) {
			bool want = fnmatch(globs[g], names[n], 0) == 0;
			cr_expect_eq(glob_match(globs[g], names[n]), want, "glob '%s' on '%s'", globs[g], names[n]);
			/* The same glob as the first part of a longer text. */
			char text[256];
			snprintf(text, sizeof(text), "%s:*x[", globs[g]);
			cr_expect_eq(glob_match_n(text, strlen(globs[g]), names[n]), want, "glob '%s' cut from '%s' on '%s'",
				     globs[g], text, names[n]);
		}
}

Test(glob, a_long_pattern_is_copied_whole)
{
	char glob[300], name[300];
	memset(glob, 'a', 200);
	memcpy(glob + 200, "?*b", 4);
	memset(name, 'a', 250);
	memcpy(name + 250, "b", 2);
	cr_expect(glob_match(glob, name));
	name[250] = 'c';
	cr_expect(!glob_match(glob, name));
	memcpy(glob, "*?", 2);	/* the rest after the head is 202 bytes */
	name[250] = 'b';
	cr_expect(glob_match(glob, name));
}
