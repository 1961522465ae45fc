#!/bin/sh
# tests/git/run.sh - bulkhead's git integration against REAL git repositories
# (SPEC section 6, issue 7): --staged, --rev, `changes`, `build --check`,
# symlinks in committed trees, and the shipped pre-commit hooks run by the
# real pre-commit tool.
#
#   BULKHEAD=/abs/build/san/bulkhead sh tests/git/run.sh
#
# Every repository lives in a temp dir.  HOME, XDG_CONFIG_HOME and
# PRE_COMMIT_HOME point inside it and GIT_CONFIG_NOSYSTEM=1, so the user's
# git and pre-commit configuration is neither read nor written.
# One PASS/FAIL line per check, then "git: N passed, M failed"; exit 1 on any
# failure.  A sanitizer report from bulkhead fails the check that ran it.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BULKHEAD=${BULKHEAD:-$top/build/san/bulkhead}
case $BULKHEAD in /*) ;; *) BULKHEAD=$(pwd)/$BULKHEAD ;; esac
if [ ! -x "$BULKHEAD" ]; then
	echo "git: bulkhead binary '$BULKHEAD' not found (make build/san/bulkhead)" >&2
	exit 2
fi
for tool in git python3; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "git: $tool is required" >&2
		exit 2
	fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/bulkhead-gittest.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

# ---- a sealed git environment ----
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
	GIT_CEILING_DIRECTORIES GIT_NAMESPACE GIT_PREFIX NO_COLOR 2>/dev/null
mkdir -p "$T/home/.config"
HOME=$T/home
XDG_CONFIG_HOME=$T/home/.config
GIT_CONFIG_NOSYSTEM=1
GIT_CONFIG_GLOBAL=$T/home/.gitconfig
GIT_AUTHOR_NAME="bulkhead test"
GIT_AUTHOR_EMAIL="test@example.invalid"
GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME
GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
GIT_TERMINAL_PROMPT=0
PRE_COMMIT_HOME=$T/pre-commit-home
PRE_COMMIT_COLOR=never
export HOME XDG_CONFIG_HOME GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_TERMINAL_PROMPT PRE_COMMIT_HOME PRE_COMMIT_COLOR
# Sanitizer reports must not pass for exit status 1 ("findings").
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=99:print_stacktrace=1"
export ASAN_OPTIONS UBSAN_OPTIONS

g() { git -c init.defaultBranch=main -c core.autocrlf=false -c advice.detachedHead=false "$@"; }

# ---- reporting ----
passed=0
failed=0
pass() {
	passed=$((passed + 1))
	echo "PASS: $1"
}
# fail NAME WHY: prints the last bulkhead command, its status and output.
fail() {
	failed=$((failed + 1))
	echo "FAIL: $1"
	echo "    expected: $2"
	echo "    command:  $last (in ${lastdir#"$T"/})"
	echo "    exit:     $rc"
	sed -n '1,15s/^/    stdout| /p' "$T/out"
	sed -n '1,15s/^/    stderr| /p' "$T/err"
}

# bh DIR ARGS...: runs bulkhead in DIR; sets rc, stdout in $T/out, stderr in $T/err.
last=none lastdir=$T rc=0
: >"$T/out"
: >"$T/err"
bh() {
	lastdir=$1
	shift
	last="bulkhead $*"
	(cd "$lastdir" && exec "$BULKHEAD" "$@") >"$T/out" 2>"$T/err"
	rc=$?
	if grep -q 'Sanitizer\|runtime error:' "$T/err"; then
		echo "    (sanitizer report from: $last)"
		rc=99
	fi
}

# expect NAME RC [TEXT...]: the last bh exited RC and printed every TEXT
# (fixed strings, stdout or stderr).
expect() {
	_name=$1 _want=$2
	shift 2
	if [ "$rc" != "$_want" ]; then
		fail "$_name" "exit $_want${1:+, output containing '$*'}"
		return
	fi
	for _t in "$@"; do
		if ! cat "$T/out" "$T/err" | grep -qF -- "$_t"; then
			fail "$_name" "exit $_want and output containing '$_t'"
			return
		fi
	done
	pass "$_name"
}

# ---- the fixture: 3 envs x 6 units ----
# _common/base.yaml is included by app/api, app/web (through _common/app.yaml,
# a nested include) and db, in every env; net/vpc includes nothing.
# app/worker depends on net/vpc but reads nothing from it; app/dns reads
# ${dependency.vpc.inputs.nat_gateways}.  vars.yaml holds the knobs
# log_level (app.yaml), replicas (app/api only) and cidr (net/vpc).
mkfixture() {
	mkdir -p "$1/_common" && (
		cd "$1" || exit 1
		cat >bulkhead.yaml <<'EOF'
version: 1
project: mini
environments:
  dev:   { account_id: "111111111111", region: eu-west-1 }
  stage: { account_id: "222222222222", region: eu-west-1 }
  prod:  { account_id: "333333333333", region: eu-west-1 }
output:
  dir: out
  path: "{env}/{unit}"
drift:
  allow: ["*:inputs.instance_type"]
EOF
		cat >_common/base.yaml <<'EOF'
inputs:
  team: platform
  tags: { owner: platform }
EOF
		cat >_common/app.yaml <<'EOF'
include:
  - //_common/base.yaml
source: "git::https://example.com/mods.git//app?ref=v1.0.0"
inputs:
  name: ${env.name}-${unit.name}
  log_level: ${var.log_level}
EOF
		n=1
		for e in dev stage prod; do
			mkdir -p $e/app/api $e/app/web $e/app/worker $e/app/dns $e/db $e/net/vpc
			case $e in
			dev) ll=debug it=t3.small ;;
			stage) ll=info it=t3.medium ;;
			*) ll=warn it=m5.large ;;
			esac
			printf 'log_level: %s\nreplicas: %s\ncidr: 10.%s.0.0/16\n' $ll $n $n >$e/vars.yaml
			n=$((n + 1))
			printf 'include: [//_common/app.yaml]\ninputs:\n  replicas: ${var.replicas}\n  instance_type: %s\n' \
				$it >$e/app/api/unit.yaml
			cat >$e/app/web/unit.yaml <<'EOF'
include: [//_common/app.yaml]
inputs:
  port: 8080
EOF
			cat >$e/db/unit.yaml <<'EOF'
include: [//_common/base.yaml]
source: "git::https://example.com/mods.git//db?ref=v1.0.0"
inputs:
  engine: postgres
  size: 20
EOF
			cat >$e/net/vpc/unit.yaml <<'EOF'
source: "git::https://example.com/mods.git//vpc?ref=v1.0.0"
inputs:
  cidr_block: ${var.cidr}
  nat_gateways: 1
EOF
			cat >$e/app/worker/unit.yaml <<'EOF'
source: "git::https://example.com/mods.git//worker?ref=v1.0.0"
dependencies:
  vpc: { path: net/vpc }
inputs:
  queue: jobs
EOF
			cat >$e/app/dns/unit.yaml <<'EOF'
source: "git::https://example.com/mods.git//dns?ref=v1.0.0"
dependencies:
  vpc: { path: ../../net/vpc }
inputs:
  zone: ${env.name}.example.com
  nat_gateways: ${dependency.vpc.inputs.nat_gateways}
EOF
		done
	)
}

# newrepo DIR: the fixture, built, committed (out/ included) on main.
newrepo() {
	mkfixture "$1" || exit 2
	(cd "$1" && "$BULKHEAD" -q build >/dev/null 2>&1 && g init -q . && g add -A && g commit -qm initial) || {
		echo "git: cannot set up the fixture repository $1" >&2
		exit 2
	}
}

# commit DIR MESSAGE: commits everything in DIR.
commit() { (cd "$1" && g add -A && g commit -qm "$2") || exit 2; }

# sedi FILE SED-EXPR: in-place edit, portable.
sedi() { sed "$2" "$1" >"$1.tmp" && mv "$1.tmp" "$1"; }

# The set of "kind env:unit" lines of `changes` text output, sorted, one line.
text_set() { grep -E '^(changed|added|removed|affected) ' "$T/out" | awk '{print $1 " " $2}' | sort | tr '\n' ';'; }
# The same from --format json.
json_set() {
	python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
print("".join(sorted("%s %s:%s;" % (r["change"], r["env"], r["unit"]) for r in rows)), end="")
' "$T/out" 2>>"$T/err"
}
# expect_set NAME WANT: the text set of the last `changes` equals WANT.
expect_set() {
	_got=$(text_set)
	if [ "$rc" = 0 ] && [ "$_got" = "$2" ]; then
		pass "$1"
	else
		fail "$1" "exit 0 and exactly: $2  (got: $_got)"
	fi
}
# showval KEY: a value from the JSON that `show` printed (python repr).
showval() {
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$T/out" "$1" 2>/dev/null
}

###########################################################################
# 1. --staged reads the index: unstaged edits do not count, staged ones do.
###########################################################################
S=$T/staged
newrepo "$S"

# (a) build --check --staged
bh "$S" build --check --staged
expect "1a build --check --staged is clean right after a committed build" 0
# A knob edit (no drift: build refuses to write while drift exists, SPEC 9).
sedi "$S/dev/vars.yaml" 's/^log_level: .*$/log_level: trace/'
bh "$S" build --check
expect "1a build --check (work tree) sees the unstaged edit" 1 "out/dev/app/web/terraform.tfvars.json"
bh "$S" build --check --staged
expect "1a build --check --staged ignores an unstaged edit" 0
(cd "$S" && g add dev/vars.yaml)
bh "$S" build --check --staged
expect "1a build --check --staged reports a staged edit's stale file" 1 "out/dev/app/web/terraform.tfvars.json"
if [ -z "$(cd "$S" && g status --porcelain --untracked-files=all -- out)" ]; then
	pass "1a build --check --staged writes nothing"
else
	fail "1a build --check --staged writes nothing" "out/ untouched" 
fi
# Outputs rebuilt in the work tree but NOT staged: the commit would still
# hold the stale tfvars, so a check of "exactly what the commit will hold"
# must still fail.  Staging them makes it pass.
bh "$S" -q build
bh "$S" build --check --staged
expect "1a build --check --staged: rebuilt but unstaged outputs are still stale in the commit" 1 \
	"out/dev/app/web/terraform.tfvars.json"
(cd "$S" && g add -A out)
bh "$S" build --check --staged
expect "1a build --check --staged passes once the rebuilt outputs are staged" 0
(cd "$S" && g reset -q --hard)

# (b) drift --staged: prod-only literal on a non-allowed key (stage has 8080).
sedi "$S/prod/app/web/unit.yaml" 's/port: 8080/port: 9090/'
bh "$S" drift
expect "1b drift (work tree) reports the planted drift" 1 "[drift]"
bh "$S" drift --staged
expect "1b drift --staged ignores a drift planted only in the work tree" 0
(cd "$S" && g add prod/app/web/unit.yaml)
bh "$S" drift --staged
expect "1b drift --staged reports the staged drift with both locations" 1 "[drift]" "inputs.port" \
	"prod/app/web/unit.yaml:3" "stage/app/web/unit.yaml:3"
(cd "$S" && g reset -q --hard)

# (c) show --staged
sedi "$S/dev/vars.yaml" 's/^replicas: 1$/replicas: 7/'
bh "$S" show app/api --env dev --staged
v=$(showval inputs.replicas)
if [ "$rc" = 0 ] && [ "$v" = 1 ]; then pass "1c show --staged prints the indexed value under an unstaged edit"
else fail "1c show --staged prints the indexed value under an unstaged edit" "exit 0, inputs.replicas 1 (got '$v')"; fi
bh "$S" show app/api --env dev
v=$(showval inputs.replicas)
if [ "$rc" = 0 ] && [ "$v" = 7 ]; then pass "1c show (work tree) prints the edited value"
else fail "1c show (work tree) prints the edited value" "exit 0, inputs.replicas 7 (got '$v')"; fi
(cd "$S" && g add dev/vars.yaml)
bh "$S" show app/api --env dev --staged
v=$(showval inputs.replicas)
if [ "$rc" = 0 ] && [ "$v" = 7 ]; then pass "1c show --staged prints the staged value"
else fail "1c show --staged prints the staged value" "exit 0, inputs.replicas 7 (got '$v')"; fi
# git commit -a / git commit PATH run hooks with GIT_INDEX_FILE set to a
# temporary index: --staged must read that one.
(cd "$S" && g reset -q --hard && sedi dev/vars.yaml 's/^replicas: 1$/replicas: 5/' &&
	cp .git/index "$T/alt-index" && GIT_INDEX_FILE=$T/alt-index g add dev/vars.yaml)
GIT_INDEX_FILE=$T/alt-index
export GIT_INDEX_FILE
bh "$S" show app/api --env dev --staged
unset GIT_INDEX_FILE
v=$(showval inputs.replicas)
if [ "$rc" = 0 ] && [ "$v" = 5 ]; then pass "1c show --staged honours GIT_INDEX_FILE (git commit -a hooks)"
else fail "1c show --staged honours GIT_INDEX_FILE (git commit -a hooks)" "exit 0, inputs.replicas 5 (got '$v')"; fi
(cd "$S" && g reset -q --hard)

# (d) The parse cache answers --staged and --rev by blob id: a run reads
# no blob whose text a run has seen, and the staged text always wins.
D=$T/blobs
newrepo "$D"
bh "$D" drift --staged
expect "1d drift --staged is clean (its run notes the blob ids)" 0
(cd "$D" && sedi prod/app/web/unit.yaml 's/port: 8080/port: 9090/' && g add prod/app/web/unit.yaml &&
	sedi prod/app/web/unit.yaml 's/port: 9090/port: 8080/')
bh "$D" drift
expect "1d drift (work tree) does not see the staged edit" 0
bh "$D" drift --staged
expect "1d drift --staged sees the staged text, not the work tree's" 1 "[drift]" "inputs.port"
bh "$D" drift --staged
expect "1d drift --staged sees it again, its text now known by id" 1 "[drift]" "inputs.port"
(cd "$D" && g reset -q)
bh "$D" drift --staged
expect "1d drift --staged is clean again once the index holds the committed text" 0
# Without the unit files' blobs, only the ids can answer.
(cd "$D" && g ls-files '*unit.yaml' | while read -r f; do
	o=$(g rev-parse ":$f") && rm -f ".git/objects/$(echo "$o" | cut -c1-2)/$(echo "$o" | cut -c3-)"
done)
bh "$D" drift --staged
expect "1d drift --staged reads no blob the cache knows by id" 0 "drift: 0 errors"
bh "$D" drift --rev HEAD
expect "1d drift --rev HEAD reads no blob the cache knows by id" 0 "drift: 0 errors"
# build --check --staged compares the committed outputs by blob id too.
(cd "$D" && g ls-files 'out/*.tfvars.json' | while read -r f; do
	o=$(g rev-parse ":$f") && rm -f ".git/objects/$(echo "$o" | cut -c1-2)/$(echo "$o" | cut -c3-)"
done)
bh "$D" build --check --staged
expect "1d build --check --staged compares committed outputs by id, reading none" 0
(cd "$D" && sedi dev/vars.yaml 's/^log_level: .*$/log_level: trace/' && g add dev/vars.yaml)
bh "$D" build --check --staged
expect "1d build --check --staged tells a stale committed output by its id" 1 \
	"would write out/dev/app/web/terraform.tfvars.json"
if grep -q "would write out/prod" "$T/out"; then
	fail "1d build --check --staged lists only the stale outputs" "no prod file listed"
else
	pass "1d build --check --staged lists only the stale outputs"
fi
(cd "$D" && g checkout -q HEAD -- dev/vars.yaml)
rm -rf "$D/.bulkhead"
bh "$D" drift --staged
expect "1d without the cache, the missing blobs are errors, not missing units" 2 \
	"object not found" "app/web/unit.yaml"
# An include's blob missing: load_file names the path once, with
# libgit2's reason (the source's message names it for callers printing
# it alone).
E=$T/noinclude
newrepo "$E"
(cd "$E" && o=$(g rev-parse ":_common/base.yaml") &&
	rm -f ".git/objects/$(echo "$o" | cut -c1-2)/$(echo "$o" | cut -c3-)")
bh "$E" drift --staged
expect "1d an include's missing blob is an error naming it once" 2 \
	"cannot read '_common/base.yaml': object not found"
if grep -q "cannot read '_common/base.yaml': cannot" "$T/err"; then
	fail "1d an include's missing blob is named once" "$(head -n 1 "$T/err")"
else
	pass "1d an include's missing blob is named once"
fi

###########################################################################
# 2. changes between two commits
###########################################################################
R=$T/changes
newrepo "$R"

# include edited: every unit including _common/base.yaml (directly or through
# _common/app.yaml), in every env, and nothing else.
sedi "$R/_common/base.yaml" 's/team: platform/team: core/'
commit "$R" "include edit"
bh "$R" changes --base HEAD~1 --head HEAD
expect_set "2 include edit reports every unit that includes it, and only those" \
	"changed dev:app/api;changed dev:app/web;changed dev:db;changed prod:app/api;changed prod:app/web;changed prod:db;changed stage:app/api;changed stage:app/web;changed stage:db;"
expect "2 include edit shows the value-level diff" 0 'inputs.team: "platform" -> "core"'

# unit deleted
(cd "$R" && g rm -qr dev/db && rm -rf out/dev/db) || exit 2
commit "$R" "delete dev/db"
bh "$R" changes --base HEAD~1 --head HEAD
expect_set "2 deleted unit is reported as removed" "removed dev:db;"

# unit renamed
(cd "$R" && g mv stage/app/web stage/app/frontend) || exit 2
commit "$R" "rename stage/app/web"
bh "$R" changes --base HEAD~1 --head HEAD
expect_set "2 renamed unit is reported as removed + added" "added stage:app/frontend;removed stage:app/web;"

# vars.yaml knob: only stage app/api reads replicas
sedi "$R/stage/vars.yaml" 's/^replicas: 2$/replicas: 3/'
commit "$R" "stage replicas"
bh "$R" changes --base HEAD~1 --head HEAD
expect_set "2 vars.yaml knob change reports exactly the unit reading it" "changed stage:app/api;"
expect "2 vars.yaml knob change shows the value-level diff" 0 "inputs.replicas: 2 -> 3"

# 3 (here, with history at hand): --rev reads older config
bh "$R" show app/api --env stage --rev HEAD~1
v=$(showval inputs.replicas)
if [ "$rc" = 0 ] && [ "$v" = 2 ]; then pass "3 show --rev HEAD~1 prints the older value"
else fail "3 show --rev HEAD~1 prints the older value" "exit 0, inputs.replicas 2 (got '$v')"; fi
bh "$R" show app/api --env stage --rev HEAD
v=$(showval inputs.replicas)
if [ "$rc" = 0 ] && [ "$v" = 3 ]; then pass "3 show --rev HEAD prints the committed value"
else fail "3 show --rev HEAD prints the committed value" "exit 0, inputs.replicas 3 (got '$v')"; fi

# dependency: dev net/vpc changes an input; app/dns reads it (changed
# itself), app/worker only depends on it (affected via dependency).
sedi "$R/dev/net/vpc/unit.yaml" 's/nat_gateways: 1/nat_gateways: 2/'
commit "$R" "dev nat gateways"
bh "$R" changes --base HEAD~1 --head HEAD
expect_set "2 dependency change: reader changed, pure dependant affected" \
	"affected dev:app/worker;changed dev:app/dns;changed dev:net/vpc;"
expect "2 affected unit names the dependency it comes through" 0 "via dev:net/vpc"

# --exit-code
bh "$R" changes --base HEAD~1 --head HEAD --exit-code
expect "2 --exit-code exits 1 when something changed" 1
bh "$R" changes --base HEAD --head HEAD --exit-code
expect "2 --exit-code exits 0 when nothing changed" 0 "0 changed, 0 added, 0 removed, 0 affected"
bh "$R" changes --base HEAD --exit-code
expect "2 --exit-code exits 0 against a clean work tree" 0
bh "$R" changes --base HEAD --staged --exit-code
expect "2 --exit-code exits 0 against an unchanged index" 0

# --format json over the whole history, same units as text
bh "$R" changes --base HEAD~5 --head HEAD
tset=$(text_set)
trc=$rc
bh "$R" changes --base HEAD~5 --head HEAD --format json
jset=$(json_set)
if [ "$trc" = 0 ] && [ "$rc" = 0 ] && [ -n "$jset" ] && [ "$jset" = "$tset" ]; then
	pass "2 --format json parses and lists the same units as text"
else
	fail "2 --format json parses and lists the same units as text" "json set = text set ($tset), got: $jset"
fi
case $jset in
*"removed dev:db;"*"removed stage:app/web;"*) pass "2 --format json lists the removed units" ;;
*) fail "2 --format json lists the removed units" "removed dev:db and stage:app/web in $jset" ;;
esac

# --format markdown: a table
bh "$R" changes --base HEAD~5 --head HEAD --format markdown
if [ "$rc" = 0 ] && grep -q '^| change | env | unit | what |$' "$T/out" && grep -q '^|---|---|---|---|$' "$T/out" &&
	grep -qF '| removed | dev | `db` |' "$T/out" && grep -qF '| added | stage | `app/frontend` |' "$T/out"; then
	pass "2 --format markdown has a table with the changed units"
else
	fail "2 --format markdown has a table with the changed units" "a header, separator and rows"
fi

# staged head: an edit staged on top of HEAD
sedi "$R/prod/db/unit.yaml" 's/size: 20/size: 40/'
(cd "$R" && g add prod/db/unit.yaml)
sedi "$R/prod/app/web/unit.yaml" 's/port: 8080/port: 8081/'
bh "$R" changes --base HEAD --staged
expect_set "2 changes --staged sees the staged edit, not the unstaged one" "changed prod:db;"
(cd "$R" && g reset -q --hard)

# Files moved to another folder (an account or region in output.path)
# are a change even when their bytes are the same.
sedi "$R/bulkhead.yaml" 's|path: "{env}/{unit}"|path: "{env}/{region}/{unit}"|'
(cd "$R" && g add bulkhead.yaml)
bh "$R" changes --base HEAD --staged --exit-code
expect "2 a unit whose files move to another folder is changed" 1 \
	"output folder: dev/net/vpc -> dev/eu-west-1/net/vpc"
(cd "$R" && g reset -q --hard)

# A value beneath a secret's key is hidden, as drift and show hide it; a
# key with a dot is quoted in the key path.
printf 'inputs:\n  api_token:\n    owner: alice\n  tags:\n    "k8s.io/role": web\n' >"$R/prod/db/unit.yaml"
commit "$R" "a token's owner"
sedi "$R/prod/db/unit.yaml" 's/owner: alice/owner: bob/'
sedi "$R/prod/db/unit.yaml" 's/role": web/role": api/'
commit "$R" "another owner"
bh "$R" changes --base HEAD~1 --head HEAD
expect "2 a value beneath a secret's key is shown as (sensitive)" 0 \
	'inputs.api_token.owner: (sensitive) -> (sensitive)' 'inputs.tags."k8s.io/role": "web" -> "api"'
if grep -q 'alice\|bob' "$T/out" "$T/err"; then
	fail "2 changes prints no value beneath a secret's key" "neither alice nor bob in the output"
else
	pass "2 changes prints no value beneath a secret's key"
fi

# A local module's files changing changes every unit running it, though
# its config text did not; a module no unit names changes nothing.
mkdir -p "$R/modules/svc" "$R/modules/unused"
printf 'variable "size" {}\n' >"$R/modules/svc/main.tf"
printf 'variable "x" {}\n' >"$R/modules/unused/main.tf"
printf 'source: //modules/svc\ninputs:\n  size: 20\n' >"$R/prod/db/unit.yaml"
commit "$R" "prod/db runs a local module"
printf 'variable "size" {\n  type = number\n}\n' >"$R/modules/svc/main.tf"
printf 'variable "y" {}\n' >"$R/modules/unused/main.tf"
commit "$R" "the module changes"
bh "$R" changes --base HEAD~1 --head HEAD
expect_set "2 a local module's files changing changes the units running it" "changed prod:db;"
expect "2 changes names the module whose files differ" 0 "module //modules/svc: its files differ"

###########################################################################
# 3. errors: bad revspec, not a repository, shallow clone
###########################################################################
bh "$R" show app/api --env dev --rev no-such-rev
expect "3 --rev with a bad revspec exits 2 naming it" 2 "unknown revision" "no-such-rev"
bh "$R" changes --base no-such-rev --head HEAD
expect "3 changes --base with a bad revspec exits 2" 2 "unknown revision"

P=$T/plain
mkfixture "$P"
if (cd "$P" && git rev-parse --git-dir >/dev/null 2>&1); then
	echo "SKIP: $T is inside a git repository; cannot test a non-repository"
else
	bh "$P" drift --staged
	expect "3 --staged outside a git repository exits 2 with a clear message" 2 "not in a git repository"
	bh "$P" show app/api --env dev --rev HEAD
	expect "3 --rev outside a git repository exits 2 with a clear message" 2 "not in a git repository"
fi

SH=$T/shallow
g clone -q --depth 1 "file://$R" "$SH" 2>"$T/err" || { echo "git: shallow clone failed" >&2; cat "$T/err" >&2; exit 2; }
bh "$SH" show app/api --env stage --rev HEAD
expect "3 shallow clone: --rev HEAD works" 0
bh "$SH" changes --base HEAD~1
expect "3 shallow clone: changes --base HEAD~1 exits 2 and says to fetch more history" 2 "fetch more history"

###########################################################################
# 4. symlinks in the committed tree
###########################################################################
L=$T/links
newrepo "$L"
printf 'include: [//_common/app.yaml, //_common/x.yaml]\ninputs:\n  port: 8080\n' >"$L/dev/app/web/unit.yaml"

ln -s /etc/hostname "$L/_common/x.yaml"
commit "$L" "absolute symlink out of the root"
rm -f "$L/_common/x.yaml"	# the work tree no longer has it: --rev must read the tree
bh "$L" validate --rev HEAD
expect "4 committed absolute symlink include is refused with --rev HEAD" 2 "outside the project root"
bh "$L" show app/web --env dev --rev HEAD
expect "4 ... also by show --rev HEAD" 2 "outside the project root"
(cd "$L" && g checkout -q -- _common/x.yaml)
bh "$L" validate
expect "4 ... and in the work tree" 2 "outside the project root"
bh "$L" validate --staged
expect "4 ... and from the index" 2 "outside the project root"

rm -f "$L/_common/x.yaml"
ln -s ../../../../../../../../../../../etc/hostname "$L/_common/x.yaml"
commit "$L" "relative symlink out of the root"
bh "$L" validate --rev HEAD
expect "4 committed relative '..' symlink leaving the root is refused with --rev HEAD" 2 "outside the project root"

rm -f "$L/_common/x.yaml"
ln -s ../.git/config "$L/_common/x.yaml"
commit "$L" "symlink into .git"
bh "$L" validate --rev HEAD
expect "4 committed symlink into .git is refused with --rev HEAD" 2

rm -f "$L/_common/x.yaml"
ln -s base.yaml "$L/_common/x.yaml"
commit "$L" "symlink inside the root"
bh "$L" show app/web --env dev --rev HEAD
v=$(showval inputs.team)
if [ "$rc" = 0 ] && [ "$v" = platform ]; then pass "4 committed symlink inside the root is followed with --rev HEAD"
else fail "4 committed symlink inside the root is followed with --rev HEAD" "exit 0, inputs.team platform (got '$v')"; fi

# Crafted trees (git mktree accepts what `git add` refuses): entry names git
# will not check out are refused on read.
(cd "$L" && g reset -q --hard) || exit 2
# mal NAME MODE TYPE SHA DIR: a commit of HEAD's tree with one entry added to
# DIR (a top-level directory); prints its id.
mal() {
	(cd "$L" && d=$( (g ls-tree "HEAD:$5"; printf '%s %s %s\t%s\n' "$2" "$3" "$4" "$1") | g mktree) &&
		r=$( (g ls-tree HEAD | grep -v "	$5\$"; printf '040000 tree %s\t%s\n' "$d" "$5") | g mktree) &&
		g commit-tree "$r" -p HEAD -m "crafted $1")
}
sub=$(cd "$L" && g rev-parse HEAD:dev/app/api)
for name in .. .GIT git~1; do
	c=$(mal "$name" 040000 tree "$sub" dev) || exit 2
	bh "$L" validate --rev "$c"
	expect "4 crafted tree entry '$name' under dev/ is refused with --rev" 2 "'$name'"
done
# A submodule (gitlink) below an env folder is skipped with a note.
c=$(mal vendored 160000 commit "$(cd "$L" && g rev-parse HEAD)" dev) || exit 2
bh "$L" validate --rev "$c"
if [ "$rc" = 0 ] && grep -qi 'note:.*submodule' "$T/err"; then pass "4 a committed submodule is skipped with a note (--rev)"
else fail "4 a committed submodule is skipped with a note (--rev)" "exit 0 and a note naming the submodule on stderr"; fi
(cd "$L" && g update-index --add --cacheinfo "160000,$(g rev-parse HEAD),dev/vendored") || exit 2
bh "$L" validate --staged
if [ "$rc" = 0 ] && grep -qi 'note:.*submodule' "$T/err"; then pass "4 a staged submodule is skipped with a note (--staged)"
else fail "4 a staged submodule is skipped with a note (--staged)" "exit 0 and a note naming the submodule on stderr"; fi
(cd "$L" && g reset -q --hard)

# A repository owned by another user: libgit2 refuses it (safe.directory).
O=$T/owned
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	newrepo "$O"
	chown -R nobody "$O"
	bh "$O" validate --rev HEAD
	expect "3 a repository owned by another user is refused with the safe.directory hint" 2 \
		"owned by another user" "safe.directory"
	git config --global --add safe.directory "$O"
	bh "$O" validate --rev HEAD
	expect "3 ... and accepted once listed in safe.directory" 0
	chown -R "$(id -u)" "$O"
else
	echo "SKIP: not root; cannot test a repository owned by another user"
fi

###########################################################################
# 5. the shipped hooks under the real pre-commit tool
###########################################################################
# Setup: out/ is committed and current (newrepo builds it), and the repo's
# .pre-commit-config.yaml is /work/main/.pre-commit-hooks.yaml turned into
# `repo: local` hooks with the absolute bulkhead path in `entry:`: both
# bulkhead-drift (drift --staged) and bulkhead-build-check
# (build --check --staged) run on every commit.  Each commit below stages
# the config change together with freshly built outputs, so the build check
# is satisfied and only the planted drift can refuse the first commit.
hooks=$top/.pre-commit-hooks.yaml
if grep -q '^- id: bulkhead-drift$' "$hooks" && grep -q '^  entry: bulkhead drift --staged$' "$hooks" &&
	grep -q '^- id: bulkhead-build-check$' "$hooks" && grep -q '^  entry: bulkhead build --check --staged$' "$hooks" &&
	[ "$(grep -c '^  language: system$' "$hooks")" = 2 ] && [ "$(grep -c '^  pass_filenames: false$' "$hooks")" = 2 ]; then
	pass "5 .pre-commit-hooks.yaml declares bulkhead-drift and bulkhead-build-check"
else
	last="(none)" rc=- ; : >"$T/out"; : >"$T/err"
	fail "5 .pre-commit-hooks.yaml declares bulkhead-drift and bulkhead-build-check" \
		"ids, entries, language: system and pass_filenames: false in $hooks"
fi

PC=$(command -v pre-commit 2>/dev/null)
if [ -z "$PC" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	apt-get install -y -qq pre-commit >/dev/null 2>&1
	PC=$(command -v pre-commit 2>/dev/null)
fi
if [ -z "$PC" ]; then
	echo "SKIP: pre-commit not available"
else
	K=$T/precommit
	newrepo "$K"
	{
		echo "repos:"
		echo "- repo: local"
		echo "  hooks:"
		sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' -e "s|entry: bulkhead |entry: $BULKHEAD |" -e 's/^/  /' "$hooks"
	} >"$K/.pre-commit-config.yaml"
	commit "$K" "pre-commit config"
	last="pre-commit install" lastdir=$K
	(cd "$K" && "$PC" install) >"$T/out" 2>"$T/err"
	rc=$?
	expect "5 pre-commit install" 0
	before=$(cd "$K" && g rev-parse HEAD)

	# A new input in every env, but prod gets its own literal: drift.
	for e in dev stage prod; do printf '  timeout: 30\n' >>"$K/$e/app/web/unit.yaml"; done
	sedi "$K/prod/app/web/unit.yaml" 's/timeout: 30/timeout: 60/'
	(cd "$K" && "$BULKHEAD" -q build >/dev/null 2>&1; g add -A)
	last="git commit (planted drift)"
	(cd "$K" && g commit -m "web timeout, prod drifted") >"$T/out" 2>"$T/err"
	rc=$?
	after=$(cd "$K" && g rev-parse HEAD)
	if [ "$rc" != 0 ] && [ "$before" = "$after" ] && cat "$T/out" "$T/err" | grep -qF "[drift]" &&
		cat "$T/out" "$T/err" | grep -q '^bulkhead drift\.*Failed'; then
		pass "5 git commit with a planted drift is refused by bulkhead-drift with the drift message"
	else
		fail "5 git commit with a planted drift is refused by bulkhead-drift with the drift message" \
			"non-zero exit, no new commit, 'bulkhead drift...Failed' and '[drift]' in the output"
	fi
	if cat "$T/out" "$T/err" | grep -qF "prod/app/web/unit.yaml"; then
		pass "5 the refused commit names the drifting file"
	else
		fail "5 the refused commit names the drifting file" "prod/app/web/unit.yaml in the hook output"
	fi

	# Fixed: prod matches stage; outputs rebuilt and staged.
	sedi "$K/prod/app/web/unit.yaml" 's/timeout: 60/timeout: 30/'
	(cd "$K" && "$BULKHEAD" -q build >/dev/null 2>&1; g add -A)
	last="git commit (fixed)"
	(cd "$K" && g commit -m "web timeout") >"$T/out" 2>"$T/err"
	rc=$?
	after=$(cd "$K" && g rev-parse HEAD)
	if [ "$rc" = 0 ] && [ "$before" != "$after" ] && cat "$T/out" "$T/err" | grep -q '^bulkhead drift\.*Passed' &&
		cat "$T/out" "$T/err" | grep -q '^bulkhead build --check\.*Passed'; then
		pass "5 git commit succeeds once the drift is fixed (both hooks pass)"
	else
		fail "5 git commit succeeds once the drift is fixed (both hooks pass)" \
			"exit 0, a new commit, both hooks Passed"
	fi

	# git commit -a: the hooks run on git's temporary index (GIT_INDEX_FILE).
	before=$after
	sedi "$K/prod/app/web/unit.yaml" 's/port: 8080/port: 9090/'
	last="git commit -a (planted drift)"
	(cd "$K" && "$BULKHEAD" -q build >/dev/null 2>&1; g commit -a -m "prod port") >"$T/out" 2>"$T/err"
	rc=$?
	after=$(cd "$K" && g rev-parse HEAD)
	if [ "$rc" != 0 ] && [ "$before" = "$after" ] && cat "$T/out" "$T/err" | grep -qF "[drift]"; then
		pass "5 git commit -a with an unstaged planted drift is refused"
	else
		fail "5 git commit -a with an unstaged planted drift is refused" "non-zero exit, no new commit, '[drift]'"
	fi
	(cd "$K" && g reset -q --hard)

	# The build-check hook on its own: a config change without rebuilt outputs.
	before=$after
	sedi "$K/_common/base.yaml" 's/team: platform/team: core/'
	(cd "$K" && g add -A)
	last="git commit (stale outputs)"
	(cd "$K" && g commit -m "team rename, outputs not rebuilt") >"$T/out" 2>"$T/err"
	rc=$?
	after=$(cd "$K" && g rev-parse HEAD)
	if [ "$rc" != 0 ] && [ "$before" = "$after" ] && cat "$T/out" "$T/err" | grep -q '^bulkhead build --check\.*Failed' &&
		cat "$T/out" "$T/err" | grep -qF "out/dev/db/terraform.tfvars.json"; then
		pass "5 git commit with stale outputs is refused by bulkhead-build-check listing the files"
	else
		fail "5 git commit with stale outputs is refused by bulkhead-build-check listing the files" \
			"non-zero exit, no new commit, 'bulkhead build --check...Failed' listing out/dev/db/terraform.tfvars.json"
	fi
	# Outputs rebuilt in the work tree but not staged: pre-commit stashes
	# unstaged changes before running hooks, so the check still sees the
	# stale outputs the commit would hold.
	(cd "$K" && "$BULKHEAD" -q build >/dev/null 2>&1)
	last="git commit (rebuilt outputs not staged)"
	(cd "$K" && g commit -m "team rename, outputs not staged") >"$T/out" 2>"$T/err"
	rc=$?
	after=$(cd "$K" && g rev-parse HEAD)
	if [ "$rc" != 0 ] && [ "$before" = "$after" ] && cat "$T/out" "$T/err" | grep -q '^bulkhead build --check\.*Failed'; then
		pass "5 git commit with rebuilt but unstaged outputs is refused by bulkhead-build-check"
	else
		fail "5 git commit with rebuilt but unstaged outputs is refused by bulkhead-build-check" \
			"non-zero exit, no new commit, 'bulkhead build --check...Failed'"
	fi
	last="git commit -a (outputs rebuilt)"
	(cd "$K" && g commit -a -m "team rename") >"$T/out" 2>"$T/err"
	rc=$?
	after=$(cd "$K" && g rev-parse HEAD)
	if [ "$rc" = 0 ] && [ "$before" != "$after" ] && cat "$T/out" "$T/err" | grep -q '^bulkhead build --check\.*Passed'; then
		pass "5 git commit -a with the rebuilt outputs succeeds"
	else
		fail "5 git commit -a with the rebuilt outputs succeeds" "exit 0, a new commit, both hooks Passed"
	fi
fi

# A change reaches its dependants however the chain runs against the
# order units are listed in: chain/a depends on chain/b, which depends on
# chain/c; c changes, b and a are affected, each via its own dependency.
for u in a b c; do mkdir -p "$R/dev/chain/$u"; done
printf 'dependencies:\n  next: { path: chain/b, mock_outputs: { id: m } }\ninputs:\n  n: 1\n' >"$R/dev/chain/a/unit.yaml"
printf 'dependencies:\n  next: { path: chain/c, mock_outputs: { id: m } }\ninputs:\n  n: 2\n' >"$R/dev/chain/b/unit.yaml"
printf 'inputs:\n  n: 3\n' >"$R/dev/chain/c/unit.yaml"
commit "$R" "dev chain"
sedi "$R/dev/chain/c/unit.yaml" 's/n: 3/n: 4/'
commit "$R" "dev chain end"
bh "$R" changes --base HEAD~1 --head HEAD
expect_set "2 a change affects its dependants transitively, against the listing order" \
	"affected dev:chain/a;affected dev:chain/b;changed dev:chain/c;"
vias=$(awk '/^affected /{u=$2} /^ *via /{print u "<" $2}' "$T/out" | tr '\n' ';')
if [ "$vias" = "dev:chain/a<dev:chain/b;dev:chain/b<dev:chain/c;" ]; then
	pass "2 each affected unit names its own dependency on the way"
else
	fail "2 each affected unit names its own dependency on the way" \
		"dev:chain/a via dev:chain/b, dev:chain/b via dev:chain/c (got '$vias')"
fi

echo "git: $passed passed, $failed failed"
[ "$failed" = 0 ]
