#!/bin/sh
# Feed every terraform.tfvars.json that bulkhead emits for samples/acme to a
# real terraform, and check that a second build rewrites nothing.
#
#   BULKHEAD=/abs/path/bin/bulkhead sh tests/terraform/run.sh
#
# For each tfvars file a variables-only root module is generated (one
# `variable "KEY" {}` per top-level key) and `terraform plan -var-file=FILE`
# must succeed: the file is valid JSON that terraform accepts, every key is a
# legal variable name, and nothing is missing. Runs offline (no providers,
# no backend, no CLI config). Skips, exit 0, when terraform is not installed.
set -u

if [ -x /usr/local/bin/terraform ]; then
	TF=/usr/local/bin/terraform
elif TF=$(command -v terraform 2>/dev/null); then
	:
else
	echo "SKIP: terraform not found; emitted tfvars not checked by terraform"
	exit 0
fi

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BULKHEAD=${BULKHEAD:-$ROOT/bin/bulkhead}
if [ ! -x "$BULKHEAD" ]; then
	echo "error: BULKHEAD=$BULKHEAD is not an executable" >&2
	exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "error: python3 is required" >&2
	exit 2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bulkhead-tf.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' HUP INT TERM
REPO=$TMP/repo
MOD=$TMP/module
LOG=$TMP/log

# Hermetic terraform: no user config, no TF_VAR_* values that could hide a
# missing key, no extra CLI args, no update check, no network.
for v in $(env | sed -n 's/^\(TF_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
TF_CLI_CONFIG_FILE=/dev/null
TF_IN_AUTOMATION=1
CHECKPOINT_DISABLE=1
TF_DATA_DIR=$TMP/tf-data
export TF_CLI_CONFIG_FILE TF_IN_AUTOMATION CHECKPOINT_DISABLE TF_DATA_DIR

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ] || exit 1
	exit 0
}
# mtime (ns) and inode of every output file: a rewrite, in place or by
# rename, changes one of them.
snapshot() { (cd "$REPO" && find out -type f -printf '%p %T@ %i\n' | LC_ALL=C sort); }

mkdir "$REPO" "$MOD" || exit 2
cp -R "$ROOT/samples/acme/." "$REPO/" || exit 2
rm -rf "$REPO/out"

# 1. build
if "$BULKHEAD" build -C "$REPO" >"$LOG" 2>&1; then
	ok
else
	bad "bulkhead build -C <samples/acme copy> exited $?"
	cat "$LOG"
	finish
fi

# 2. one tfvars per unit
(cd "$REPO" && find out -type f -name terraform.tfvars.json | LC_ALL=C sort) >"$TMP/tfvars"
nunits=$(cd "$REPO" && find . -path './.*' -prune -o -path ./out -prune -o \
	-type f -name unit.yaml -print | wc -l)
nfiles=$(wc -l <"$TMP/tfvars")
if [ "$nfiles" -gt 0 ] && [ "$nfiles" -eq "$nunits" ]; then
	ok
else
	bad "$nunits units but $nfiles terraform.tfvars.json files under out/"
	cat "$TMP/tfvars"
fi

# 3. terraform accepts every tfvars file
: >"$MOD/main.tf"
if ! "$TF" -chdir="$MOD" init -input=false -backend=false -no-color >"$LOG" 2>&1; then
	bad "terraform init of an empty module"
	cat "$LOG"
	finish
fi
accepted=0
while IFS= read -r f; do
	if ! python3 -c '
import json, sys
def pairs(kv):
    seen = set()
    for k, _ in kv:
        if k in seen:
            sys.exit("duplicate key %s" % json.dumps(k))
        seen.add(k)
    return dict(kv)
try:
    with open(sys.argv[1], encoding="utf-8") as fh:
        d = json.load(fh, object_pairs_hook=pairs)
except ValueError as e:
    sys.exit("invalid JSON: %s" % e)
if not isinstance(d, dict):
    sys.exit("top level is not a JSON object")
for k in d:
    print("variable %s {}" % json.dumps(k))
' "$REPO/$f" >"$MOD/main.tf" 2>"$LOG"; then
		bad "$f is not a JSON object of variables"
		cat "$LOG"
		continue
	fi
	if "$TF" -chdir="$MOD" plan -input=false -lock=false -refresh=false \
		-no-color -var-file="$REPO/$f" >"$LOG" 2>&1; then
		ok
		accepted=$((accepted + 1))
	else
		bad "terraform rejects $f"
		echo "--- $f"
		cat "$REPO/$f"
		echo "--- generated module"
		cat "$MOD/main.tf"
		echo "--- terraform plan"
		cat "$LOG"
	fi
done <"$TMP/tfvars"
echo "terraform: $accepted tfvars files accepted"

# 3b. an emitted backend.tf.json with a variables-only module passes
# terraform init -backend=false and terraform validate (the provider
# template needs the AWS provider, which cannot be fetched here).
for f in $(cd "$REPO" && find out -name backend.tf.json | LC_ALL=C sort | head -n 3); do
	BMOD=$TMP/backend-$(echo "$f" | cksum | cut -d' ' -f1)
	mkdir -p "$BMOD"
	cp "$REPO/$f" "$BMOD/backend.tf.json"
	python3 -c '
import json, sys
for k in json.load(open(sys.argv[1])):
    print("variable %s {}" % json.dumps(k))
' "$REPO/$(dirname "$f")/terraform.tfvars.json" >"$BMOD/main.tf"
	if "$TF" -chdir="$BMOD" init -input=false -backend=false -no-color >"$LOG" 2>&1 &&
	   "$TF" -chdir="$BMOD" validate -no-color >>"$LOG" 2>&1; then
		ok
	else
		bad "terraform init -backend=false / validate rejects $f"
		cat "$REPO/$f" "$LOG"
	fi
done

# 4. a second build rewrites nothing
snapshot >"$TMP/before"
sleep 1
if "$BULKHEAD" build -C "$REPO" >"$LOG" 2>&1; then
	snapshot >"$TMP/after"
	if cmp -s "$TMP/before" "$TMP/after"; then
		ok
	else
		bad "second build rewrote files (path mtime inode, before/after):"
		diff "$TMP/before" "$TMP/after"
	fi
else
	bad "second bulkhead build exited $?"
	cat "$LOG"
fi

finish
