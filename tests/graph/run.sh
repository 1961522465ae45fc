#!/bin/sh
# Graphviz accepts what `bulkhead graph --format dot` prints.
#
# usage (from the repo root): BULKHEAD=/abs/path/bulkhead sh tests/graph/run.sh
# Needs `dot`; as root it tries `apt-get install -y graphviz`, otherwise a
# machine without Graphviz prints "SKIP: graphviz not found" and exits 0.
set -u
: "${BULKHEAD:?set BULKHEAD to the binary under test}"
top=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v dot >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "graph: dot not found, trying apt-get install -y graphviz" >&2
	apt-get install -y graphviz >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1 && apt-get install -y graphviz >/dev/null 2>&1; }
fi
if ! command -v dot >/dev/null 2>&1; then
	echo "SKIP: graphviz not found"
	exit 0
fi

pass=0 fail=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM

# A copy of the sample, so that nothing is written into the source tree.
cp -R "$top/samples/acme" "$scratch/acme"
rm -rf "$scratch/acme/out"

# A repo whose dependency names try to break out of the DOT quoting
# (an untrusted PR may name a dependency anything YAML allows).
hostile=$scratch/hostile
mkdir -p "$hostile/dev/app/api" "$hostile/dev/app/web"
cat >"$hostile/bulkhead.yaml" <<'YAML'
version: 1
project: hostile
environments:
  dev: { account_id: "111111111111", region: eu-west-1 }
output:
  dir: out
  path: "{env}/{account_id}/{region}/{unit}"
YAML
printf 'inputs: {name: api}\n' >"$hostile/dev/app/api/unit.yaml"
cat >"$hostile/dev/app/web/unit.yaml" <<'YAML'
dependencies:
  'api" URL="javascript:alert(1)': { path: ../api }
  'api\': { path: ../api }
  "api\n}\ndigraph x {": { path: ../api }
inputs:
  name: web
YAML

# check NAME DIR [GRAPH-ARGS...]: graph --format dot piped to dot -Tsvg;
# both must succeed and the result must be an SVG.  Extra checks per test
# run from the caller on $scratch/$NAME.svg.
check() {
	name=$1 dir=$2
	shift 2
	why=
	{ "$BULKHEAD" graph --format dot -C "$dir" "$@" 2>"$scratch/$name.err"; echo $? >"$scratch/$name.status"; } |
		dot -Tsvg >"$scratch/$name.svg" 2>"$scratch/$name.dot-err"
	dot_status=$?
	status=$(cat "$scratch/$name.status")
	if [ "$status" != 0 ]; then
		why="bulkhead graph exited $status"
	elif [ "$dot_status" != 0 ]; then
		why="dot -Tsvg exited $dot_status: $(head -n 3 "$scratch/$name.dot-err")"
	elif ! grep -q '<svg' "$scratch/$name.svg"; then
		why="no <svg in dot's output"
	fi
	if [ -s "$scratch/$name.err" ] && [ -z "$why" ]; then
		why="bulkhead graph wrote to stderr: $(head -n 3 "$scratch/$name.err")"
	fi
	[ -z "$why" ]
}

result() {
	if [ -z "$why" ]; then
		pass=$((pass + 1))
	else
		echo "FAIL $1: $why"
		fail=$((fail + 1))
	fi
}

# Every unit of the sample appears as a node (dot keeps node ids as
# titles, with '-' written as &#45;).
has_units() {
	for u in "$@"; do
		t=$(printf '%s' "$u" | sed 's/-/\&#45;/g')
		grep -q "<title>$t</title>" "$scratch/$name.svg" || { why="no node $u in the SVG"; return 1; }
	done
}

check all "$scratch/acme" &&
	has_units dev:app/api dev:app/web dev:data/rds dev:network/vpc prod:app/web stage:security/ci-deploy-role shared-services:ecr
result "graph (all envs)"

check prod "$scratch/acme" --env prod &&
	has_units prod:app/api prod:app/web prod:data/rds prod:network/vpc prod:security/ci-deploy-role
[ -z "$why" ] && grep -q '<title>dev:' "$scratch/prod.svg" && why="--env prod shows dev units"
result "graph --env prod"

check dev "$scratch/acme" --env dev &&
	has_units dev:app/api dev:app/web dev:data/rds dev:network/vpc dev:security/ci-deploy-role
result "graph --env dev"

# Hostile names: still valid DOT, and no attribute smuggled in (an URL
# attribute would become a javascript: link in the SVG).  Refusing such
# names with a diagnostic (exit 2) is fine too.
if check hostile "$hostile"; then
	if grep -q 'href="javascript' "$scratch/hostile.svg"; then
		why="a dependency name injected an URL attribute (javascript: link in the SVG)"
	elif grep -q '<title>x</title>' "$scratch/hostile.svg"; then
		why="a dependency name injected a second graph"
	fi
elif [ "$(cat "$scratch/hostile.status")" = 2 ] && grep -q 'error:' "$scratch/hostile.err" &&
     ! grep -q 'AddressSanitizer\|runtime error:' "$scratch/hostile.err"; then
	why=
fi
result "graph with quotes and backslashes in dependency names"

echo "graph: $pass passed, $fail failed"
[ "$fail" = 0 ]
