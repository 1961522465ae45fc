#!/bin/sh
# Compares bulkhead's standard library with real `terraform console`.
#
#   EVALEXPR=/abs/path/to/evalexpr sh tests/terraform/console.sh
#
# Every call below is evaluated twice: by bulkhead's evalexpr (one "${CALL}"
# template per line) and by a single `terraform console` process.  The
# results are compared as JSON values (map key order does not matter, 3 and
# 3.0 are the same number).  Only calls where SPEC does not deliberately
# differ from Terraform are listed: no float sums that Terraform computes
# with arbitrary precision (0.1 + 0.2), no implicit number-to-string
# conversion, no exponent-form numbers.
#
# terraform console prints only the result of the LAST line when stdin is
# not a terminal, so all calls go into one expression:
#   join("\n", [jsonencode(CALL1), jsonencode(CALL2), ...])
# whose result console prints as a heredoc, one JSON document per line.
#
# Without terraform (or python3) the comparison is skipped (exit 0).
set -u
: "${EVALEXPR:?set EVALEXPR to the evalexpr tool}"

tf=
if [ -x /usr/local/bin/terraform ]; then
	tf=/usr/local/bin/terraform
elif command -v terraform >/dev/null 2>&1; then
	tf=$(command -v terraform)
fi
if [ -z "$tf" ]; then
	echo "SKIP: terraform not found; stdlib not compared with terraform console"
	exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 not found; stdlib not compared with terraform console"
	exit 0
fi

top=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM
mkdir "$scratch/work"

# One call per line.  Keep "${" and "%{" out of strings: both languages
# would read them as template syntax.
cat >"$scratch/calls" <<'EOF'
cidrsubnet("10.0.0.0/16", 8, 2)
cidrsubnet("172.16.0.0/12", 4, 15)
cidrsubnet("10.1.0.0/16", 0, 0)
cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)
cidrhost("10.12.112.0/20", 16)
cidrhost("10.12.112.0/20", 268)
cidrhost("10.0.0.0/24", -1)
cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)
cidrnetmask("172.16.0.0/12")
cidrnetmask("10.1.2.0/27")
format("Hello, %s!", "Ander")
format("%d items, %d left", 42, -3)
format("%05.2f|%.3f|%8.1f", 3.14159, 2.5, -1.25)
format("%-6s|%6s|", "ab", "cd")
format("%q", "x\"y")
format("%x %X %o %b", 255, 255, 8, 5)
format("%t %v %v %%", true, "v", 7)
join(", ", ["a", "b", "c"])
join("-", ["x"], ["y", "z"])
split(",", "a,b,,c")
split("::", "x::y")
upper("héllo wörld")
lower("ÀBC Déf")
title("hello wörld-x y_z")
trimspace("  \n a b \t ")
replace("1 + 2 + 3", "+", "-")
replace("a1b22c333", "/[0-9]+/", "#")
replace("hello world", "/(\\w+) (\\w+)/", "$2 $1")
replace("abc", "/(?P<first>a)/", "[$first]")
regex("[a-z]+", "53453453.345345aaabbbccc23454")
regex("(\\d\\d\\d\\d)-(\\d\\d)-(\\d\\d)", "2019-02-01")
regex("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", "https://terraform.io/docs/")
regex("(?i)HELLO", "say hello")
substr("hello world", 1, 4)
substr("🤔🤷x", 0, 2)
substr("hello", -3, -1)
substr("hello", 2, 100)
startswith("hello world", "hello")
startswith("hello world", "world")
endswith("hello world", "world")
endswith("hello world", "hello")
length("héllo")
length([1, 2, 3])
length({a = 1, b = 2})
keys({b = 1, a = 2, c = 3})
values({b = 1, a = 2, c = 3})
lookup({a = "ay", b = "bee"}, "a", "what?")
lookup({a = "ay", b = "bee"}, "c", "what?")
contains(["a", "b", "c"], "a")
contains(["a", "b", "c"], "d")
concat(["a", ""], ["b", "c"])
distinct(["a", "b", "a", "c", "d", "b"])
flatten([["a", "b"], [], ["c"]])
flatten([[["a", "b"], []], ["c"]])
merge({a = "b", c = "d"}, {e = "f", c = "z"})
merge({a = {x = 1}}, {a = {y = 2}})
coalesce("", "b")
coalesce("a", "b")
element(["a", "b", "c"], 1)
element(["a", "b", "c"], 3)
index(["a", "b", "c"], "b")
range(3)
range(1, 4)
range(1, 8, 2)
range(4, 1)
range(0, 1, 0.25)
reverse([1, 2, 3])
sort(["e", "d", "a", "x"])
slice(["a", "b", "c", "d"], 1, 3)
zipmap(["a", "b"], [1, 2])
tostring("hello")
tostring(true)
tonumber("42")
tonumber("3.5")
tobool("true")
tobool(false)
jsonencode({hello = "world", list = [1, true, null]})
jsonencode(["x\ny", 2.5])
jsondecode("{\"hello\": \"world\", \"n\": [1, 2.5, null]}")
jsondecode("[true, \"x\"]")
abs(-12.4)
abs(23)
ceil(5.1)
floor(4.9)
floor(-4.1)
max(12, 54, 3)
min(12, 54, 3)
max(-1.5, -2)
parseint("100", 10)
parseint("FF", 16)
parseint("-10", 16)
parseint("zz", 36)
parseint("1011111011101111", 2)
basename("foo/bar/baz.txt")
dirname("foo/bar/baz.txt")
basename("foo")
dirname("foo/bar/")
EOF

# bulkhead: one template per line.
sed 's/.*/${&}/' "$scratch/calls" >"$scratch/bh.in"
if ! "$EVALEXPR" "$top/expr/context.yaml" <"$scratch/bh.in" >"$scratch/bh.out" 2>"$scratch/bh.err"; then
	echo "FAIL: evalexpr failed"
	cat "$scratch/bh.err"
	exit 1
fi

# terraform: one console process, one expression for all calls.
{
	printf 'join("\\n", ['
	first=1
	while IFS= read -r call; do
		[ "$first" = 1 ] || printf ', '
		first=0
		printf 'jsonencode(%s)' "$call"
	done <"$scratch/calls"
	printf '])\n'
} >"$scratch/tf.in"
(
	cd "$scratch/work" &&
	TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 \
		"$tf" console <"$scratch/tf.in" >"$scratch/tf.out" 2>"$scratch/tf.err"
)
tf_rc=$?

python3 - "$scratch/calls" "$scratch/bh.out" "$scratch/tf.out" "$scratch/tf.err" "$tf_rc" <<'PY'
import json, sys

calls_path, bh_path, tf_path, tf_err_path, tf_rc = sys.argv[1:6]
calls = open(calls_path, encoding="utf-8").read().splitlines()
bh = open(bh_path, encoding="utf-8").read().splitlines()


def unescape_template(s):
    # console escapes template syntax in strings it prints.
    return s.replace("$${", "${").replace("%%{", "%{")


def terraform_lines(text):
    """The JSON documents console printed, one per call."""
    text = text.strip("\n")
    lines = text.split("\n")
    if lines and lines[0].startswith("<<") and lines[-1].strip() == lines[0][2:].lstrip("-"):
        return [unescape_template(l) for l in lines[1:-1]]
    if text.startswith('"'):
        # A single-line result: a quoted HCL string (JSON-compatible escapes).
        return unescape_template(json.loads(text)).split("\n")
    raise ValueError("unexpected console output: %r" % text[:200])


def norm(v):
    """Canonical JSON: sorted keys, integral floats as integers."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    return v


def canon(v):
    return json.dumps(norm(v), sort_keys=True, ensure_ascii=False)


failed = passed = 0
tf_values = None
if tf_rc != "0":
    print("FAIL: terraform console exited with status %s" % tf_rc)
    sys.stdout.write(open(tf_err_path, encoding="utf-8", errors="replace").read())
else:
    try:
        tf_values = [json.loads(l) for l in terraform_lines(open(tf_path, encoding="utf-8").read())]
    except ValueError as e:
        print("FAIL: cannot read terraform console output: %s" % e)
    if tf_values is not None and len(tf_values) != len(calls):
        print("FAIL: terraform console gave %d results for %d calls" % (len(tf_values), len(calls)))
        tf_values = None

for i, call in enumerate(calls):
    got = bh[i] if i < len(bh) else "(no output)"
    if tf_values is None:
        failed += 1
        continue
    want = canon(tf_values[i])
    try:
        have = canon(json.loads(got))
    except ValueError:
        have = got
    if have == want:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s" % call)
        print("  terraform: %s" % want)
        print("  bulkhead:  %s" % have)

print("console: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
