#!/bin/sh
# A tour of bulkhead on the acme sample repo (samples/acme), run on a copy.
#
#   sh samples/demo.sh /abs/path/to/bin/bulkhead
set -eu

if [ $# -ne 1 ]; then
	echo "usage: sh samples/demo.sh /abs/path/to/bin/bulkhead" >&2
	exit 2
fi
BULKHEAD=$1
if [ ! -x "$BULKHEAD" ]; then
	echo "demo: $BULKHEAD is not an executable" >&2
	exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)

DIR=$(mktemp -d "${TMPDIR:-/tmp}/bulkhead-demo.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
trap 'exit 130' HUP INT TERM
cp -R "$HERE/acme/." "$DIR/"
rm -rf "$DIR/out"               # a build made inside samples/acme is not part of it

# Print the command, then run it.
run() {
	printf '\n$ %s\n' "$*"
	"$@"
}
# Print and run a command inside the copy, so paths print relative to it.
run_in() {
	printf '\n$ (cd %s && %s)\n' "$DIR" "$1"
	(cd "$DIR" && sh -c "$1")
}
# path, mtime (ns) and inode of every output file
snapshot() { (cd "$DIR" && find out -type f -printf '%p %T@ %i\n' | LC_ALL=C sort); }

echo "bulkhead demo: acme, 3 promotion envs + 1 shared account, copied to $DIR"

run "$BULKHEAD" validate -C "$DIR"
run "$BULKHEAD" build -C "$DIR"
run_in "find out -type f | sort"
run_in "cat out/prod/333333333333/eu-west-1/app/api/terraform.tfvars.json"
run_in "head -n 30 out/manifest.json"

before=$(snapshot)
sleep 1                         # so a rewrite would show in the mtimes
run "$BULKHEAD" build -C "$DIR"
after=$(snapshot)
if [ "$before" = "$after" ]; then
	echo "(second build: no file under out/ was rewritten)"
else
	echo "(second build rewrote files; path mtime inode, before then after:)"
	printf '%s\n' "$before" "" "$after"
	exit 1
fi

run "$BULKHEAD" show app/api --env prod -C "$DIR"
