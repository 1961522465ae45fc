#!/bin/sh
# Golden CLI cases.  Each case is a directory holding:
#   cmd      the arguments to bulkhead, one line (word-split by sh);
#            run in a scratch copy of repo/ (or of samples/acme with
#            a file named 'sample')
#   repo/    the input repo (optional with 'sample')
#   setup    optional sh script run in the scratch copy first (symlinks,
#            large or binary files that do not belong in git as such)
#   stdout, stderr, status   what bulkhead must print and return
# A case whose status is 2 must also leave no output directory behind,
# unless it holds a file 'keeps-out' (its setup made out/ on purpose); its
# setup then records out/ and the case checks it is unchanged.
#
# usage: BULKHEAD=/path/to/bulkhead sh tests/run-cases.sh DIR...
#        UPDATE=1 ... rewrites the expectations (review the diff!)
set -u
: "${BULKHEAD:?set BULKHEAD to the binary under test}"
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM

run_case() {
	case_dir=$1
	name=${case_dir#"$top"/}
	# git keeps no empty folder: a case passing here would fail in a clone.
	empty=$(find "$case_dir" -type d -empty | head -n 1)
	if [ -n "$empty" ]; then
		echo "FAIL $name: empty folder ${empty#"$case_dir"/} (git drops it; add a .gitkeep)"
		fail=$((fail + 1))
		return
	fi
	work=$scratch/work
	rm -rf "$work"
	if [ -f "$case_dir/sample" ]; then
		cp -R "$top/samples/acme" "$work"
		rm -rf "$work/out"
	fi
	if [ -d "$case_dir/repo" ]; then
		mkdir -p "$work"
		cp -R "$case_dir/repo/." "$work/"
	fi
	mkdir -p "$work"
	if [ -f "$case_dir/setup" ]; then
		# Its output shows only when it fails: a passing run stays quiet.
		if ! (cd "$work" && sh "$case_dir/setup") >"$scratch/setup.log" 2>&1; then
			echo "FAIL $name: setup failed"
			sed 's/^/  | /' "$scratch/setup.log"
			fail=$((fail + 1))
			return
		fi
	fi
	before=
	[ -d "$work/out" ] && before=$(cd "$work" && find out -type f -exec cksum {} + | sort)
	args=$(cat "$case_dir/cmd")
	(cd "$work" && eval "set -- $args" && "$BULKHEAD" "$@" >"$scratch/out" 2>"$scratch/err")
	status=$?
	if [ "${UPDATE:-}" = 1 ]; then
		cp "$scratch/out" "$case_dir/stdout"
		cp "$scratch/err" "$case_dir/stderr"
		echo "$status" >"$case_dir/status"
	fi
	ok=1
	if [ "$status" != "$(cat "$case_dir/status" 2>/dev/null)" ]; then
		echo "FAIL $name: status $status, expected $(cat "$case_dir/status" 2>/dev/null)"
		ok=0
	fi
	if ! diff -u "$case_dir/stdout" "$scratch/out" >"$scratch/diff" 2>&1; then
		echo "FAIL $name: stdout differs"; cat "$scratch/diff"; ok=0
	fi
	if ! diff -u "$case_dir/stderr" "$scratch/err" >"$scratch/diff" 2>&1; then
		echo "FAIL $name: stderr differs"; cat "$scratch/diff"; ok=0
	fi
	if [ "$status" = 2 ] && [ -e "$work/out" ] && [ ! -f "$case_dir/keeps-out" ]; then
		echo "FAIL $name: exit 2 but an output directory was written"; ok=0
	fi
	if [ "$status" = 2 ] && [ -f "$case_dir/keeps-out" ] &&
	   [ "$before" != "$(cd "$work" && find out -type f -exec cksum {} + | sort)" ]; then
		echo "FAIL $name: exit 2 but out/ changed"; ok=0
	fi
	if grep -q 'AddressSanitizer\|runtime error:' "$scratch/err"; then
		echo "FAIL $name: sanitizer report"; ok=0
	fi
	if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}

for dir in "$@"; do
	case $dir in /*) ;; *) dir=$top/$dir ;; esac
	for c in "$dir"/*/; do
		[ -f "$c/cmd" ] && run_case "${c%/}"
	done
done
echo "cases: $pass passed, $fail failed"
[ "$fail" = 0 ]
