#!/bin/sh
# Output is the same for any thread count (-j): files, manifest, stdout,
# stderr and exit status, for good repos and for broken ones.
#
# usage (from the repo root): BULKHEAD=/abs/path/bulkhead sh tests/parallel/run.sh
# Needs cc to build bench/gen.c (the benchmark's repo generator).
set -u
: "${BULKHEAD:?set BULKHEAD to the binary under test}"
top=$(cd "$(dirname "$0")/../.." && pwd)
pass=0 fail=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

${CC:-cc} -O2 -std=c11 "$top/bench/gen.c" -o "$scratch/gen" || { echo "FAIL cannot build bench/gen.c"; exit 1; }
"$scratch/gen" -n 300 -e 3 -s 7 "$scratch/gen-repo" >/dev/null 2>&1 || { echo "FAIL bench-gen"; exit 1; }
cp -R "$top/samples/acme" "$scratch/acme"
rm -rf "$scratch/acme/out" "$scratch/acme/.bulkhead/cache"

# run NAME REPO J ARGS..: one run in a fresh copy of REPO; keeps stdout,
# stderr, status and the output tree under $scratch/NAME-jJ.
run() {
	name=$1 repo=$2 j=$3
	shift 3
	dir=$scratch/$name-j$j
	rm -rf "$dir"
	cp -R "$repo" "$dir"
	(cd "$dir" && "$BULKHEAD" -j "$j" "$@" >"$dir.stdout" 2>"$dir.stderr"; echo $? >"$dir.status")
}

# same NAME J1 J2: every artefact of two runs is byte-identical.
same() {
	a=$scratch/$1-j$2 b=$scratch/$1-j$3
	for f in stdout stderr status; do
		if ! cmp -s "$a.$f" "$b.$f"; then
			bad "$1: $f differs between -j $2 and -j $3"
			diff "$a.$f" "$b.$f" | head -n 10
			return
		fi
	done
	if ! diff -r -x cache "$a" "$b" >/dev/null; then
		bad "$1: output trees differ between -j $2 and -j $3"
		diff -r -x cache "$a" "$b" | head -n 10
		return
	fi
	ok
}

# check NAME REPO WANT_STATUS ARGS..: runs with 1, 2 and 7 threads.
check() {
	name=$1 repo=$2 want=$3
	shift 3
	for j in 1 2 7; do run "$name" "$repo" "$j" "$@"; done
	got=$(cat "$scratch/$name-j1.status")
	if [ "$got" != "$want" ]; then
		bad "$name: exit status $got, wanted $want"
		head -n 5 "$scratch/$name-j1.stderr"
		return
	fi
	same "$name" 1 2
	same "$name" 1 7
}

check gen-build "$scratch/gen-repo" 0 build --allow-mocks
if [ "$(find "$scratch/gen-build-j2/out" -name terraform.tfvars.json | wc -l)" -ne 900 ]; then
	bad "gen-build: expected 900 tfvars files"
else
	ok
fi
check gen-drift "$scratch/gen-repo" 0 drift
check gen-drift-json "$scratch/gen-repo" 0 drift --format json
check gen-diff "$scratch/gen-repo" 0 diff dev prod
check gen-validate "$scratch/gen-repo" 0 validate
check acme-build "$scratch/acme" 0 build
check acme-drift "$scratch/acme" 0 drift
check acme-show "$scratch/acme" 0 show app/api --env prod --explain

# Drift planted in prod units spread over the repo (a literal changed, a
# template changed): the findings come out the same, in the same order.
drifted=$scratch/drifted
cp -R "$scratch/gen-repo" "$drifted"
for f in $(find "$drifted/prod" -name unit.yaml | LC_ALL=C sort | awk 'NR % 53 == 7'); do
	sed -i 's/^  revision: [0-9]*$/  revision: 99/; s/^  label: .*$/  label: "x-${local.full}"/' "$f"
done
check drifted-drift "$drifted" 1 drift
check drifted-build "$drifted" 1 build --allow-mocks
check drifted-validate "$drifted" 1 validate
if [ "$(grep -c 'error: \[drift\]' "$scratch/drifted-drift-j2.stdout")" -lt 5 ]; then
	bad "drifted-drift: the planted drift was not reported"
else
	ok
fi

# Broken files spread over the repo: every error is reported, in the same
# order, whichever worker parsed the file.
broken=$scratch/broken
cp -R "$scratch/gen-repo" "$broken"
n=0
for f in $(find "$broken" -name unit.yaml | LC_ALL=C sort | awk 'NR % 97 == 5'); do
	n=$((n + 1))
	case $((n % 3)) in
	0) printf 'inputs: [unclosed\n' >>"$f" ;;
	1) printf 'extra: yes\n' >>"$f" ;;
	2) printf 'inputs:\n  dup: 1\n  dup: 2\n' >"$f" ;;
	esac
done
check broken-build "$broken" 2 build --allow-mocks
check broken-validate "$broken" 2 validate
if [ -d "$scratch/broken-build-j2/out" ]; then
	bad "broken-build: wrote an output dir"
else
	ok
fi
errors=$(grep -c ': error: ' "$scratch/broken-build-j2.stderr")
if [ "$errors" -lt "$n" ]; then
	bad "broken-build: $errors errors for $n broken files"
else
	ok
fi

echo "parallel: $pass passed, $fail failed"
[ "$fail" = 0 ]
