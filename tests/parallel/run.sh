#!/bin/sh
# Output is the same for any thread count (-j): files, manifest, stdout,
# stderr and exit status, for good repos and for broken ones.
#
# usage (from the repo root): BULKHEAD=/abs/path/bulkhead sh tests/parallel/run.sh
# Needs cc to build bench/gen.c (the benchmark's repo generator).
set -u
. "$(dirname "$0")/../lib.sh"

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
at_least 5 'error: \[drift\]' "$scratch/drifted-drift-j2.stdout" "drifted-drift: the planted drift was not reported"

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
at_least "$n" ': error: ' "$scratch/broken-build-j2.stderr" "broken-build: fewer errors than the $n broken files"

# Policy findings from units all over the repo (literal secrets,
# overlapping CIDRs, another env's account id) come out in one order.
policy=$scratch/policy
cp -R "$scratch/gen-repo" "$policy"
k=0
for f in $(find "$policy" -name unit.yaml | LC_ALL=C sort | awk 'NR % 37 == 11'); do
	k=$((k + 1))
	sed -i "/^inputs:\$/a\\  db_password: \"hunter$k\"\n  vpc_cidr: \"10.$((k % 3)).0.0/16\"\n  peer: \"arn:aws:iam::100000333333:role/x\"" "$f"
done
check policy-validate "$policy" 1 validate
check policy-drift "$policy" 1 drift
at_least "$k" 'plaintext-secret' "$scratch/policy-drift-j2.stdout" "policy: fewer plaintext-secret findings than the $k planted"

# file() and find_in_parent_folders() read the repo through the shared
# source from every worker (under the project's lock).
withfiles=$scratch/withfiles
cp -R "$scratch/gen-repo" "$withfiles"
printf 'shared text\n' >"$withfiles/_common/motd.txt"
for f in $(find "$withfiles" -name unit.yaml | LC_ALL=C sort | awk 'NR % 3 == 1'); do
	sed -i '/^inputs:$/a\  motd: ${file("//_common/motd.txt")}\n  parent_folder: ${find_in_parent_folders("_common")}' "$f"
done
check withfiles-build "$withfiles" 0 build --allow-mocks
if grep -q '"motd": "shared text' "$scratch/withfiles-build-j2/out/dev/"*/*/g00/s000/u00000/terraform.tfvars.json; then
	ok
else
	bad "withfiles: file() did not reach the output"
fi

# Errors found while evaluating (a missing knob, a type error) and a
# corrupt outputs file of a dependency, spread over several dependency
# levels: the same report, each error once, whatever ran where.
evalbroken=$scratch/evalbroken
cp -R "$scratch/gen-repo" "$evalbroken"
m=0
for f in $(find "$evalbroken/stage" -name unit.yaml | LC_ALL=C sort | awk 'NR % 41 == 3'); do
	m=$((m + 1))
	case $((m % 2)) in	# units without a revision line stay as they are
	0) sed -i 's/^  revision: [0-9]*$/  revision: ${var.no_such_knob}/' "$f" ;;
	1) sed -i 's/^  revision: [0-9]*$/  revision: ${upper(1)}/' "$f" ;;
	esac
done
for u in g00/s000/u00004 g00/s001/u00020 g00/s005/u00100; do
	mkdir -p "$evalbroken/.bulkhead/outputs/stage/$(dirname "$u")"
	printf '{"id": {"value": "x"' >"$evalbroken/.bulkhead/outputs/stage/$u.json"
done
check evalbroken-validate "$evalbroken" 2 validate
check evalbroken-build "$evalbroken" 2 build --allow-mocks
check evalbroken-drift "$evalbroken" 2 drift
# A unit whose dependency failed is not evaluated (one thread does the
# same), so not every broken unit is reached; the first ones are.
at_least 3 ': error: ' "$scratch/evalbroken-validate-j2.stderr" "evalbroken: fewer than 3 errors reported"
reported=0
for u in g00/s000/u00004 g00/s001/u00020 g00/s005/u00100; do
	n=$(grep -c "^.bulkhead/outputs/stage/$u.json:.*error" "$scratch/evalbroken-validate-j2.stderr")
	[ "$n" -le 1 ] || bad "evalbroken: outputs of $u reported $n times"
	reported=$((reported + n))
done
if [ "$reported" -ge 1 ]; then ok; else bad "evalbroken: no corrupt outputs file reported"; fi

# Includes resolved on every worker: a missing include, a shared include
# that does not parse, a merge error in a shared chain (!append onto a
# map), an include cycle and a vars.yaml that is not a map, each used by
# units all over the repo.  A failure first met on a muted worker is
# reported once, by the redo on one thread.
incbroken=$scratch/incbroken
cp -R "$scratch/gen-repo" "$incbroken"
c=$incbroken/_common
printf 'inputs: [unclosed\n' >"$c/unparsable.yaml"
printf 'inputs:\n  tags:\n    team: x\n' >"$c/tags-map.yaml"
printf 'include: [tags-map.yaml]\ninputs:\n  tags: !append [extra]\n' >"$c/append-bad.yaml"
printf 'include: [cycle-b.yaml]\n' >"$c/cycle-a.yaml"
printf 'include: [cycle-a.yaml]\n' >"$c/cycle-b.yaml"
printf -- '- not a map\n' >"$incbroken/prod/g01/vars.yaml"
i=0
for f in $(find "$incbroken/dev" "$incbroken/stage" -name unit.yaml | LC_ALL=C sort | awk 'NR % 29 == 4'); do
	i=$((i + 1))
	case $((i % 4)) in
	0) target=//_common/missing.yaml ;;
	1) target=//_common/unparsable.yaml ;;
	2) target=//_common/append-bad.yaml ;;
	3) target=//_common/cycle-a.yaml ;;
	esac
	sed -i "s|^include:\$|include:\n  - $target|" "$f"
done
check incbroken-validate "$incbroken" 2 validate
check incbroken-build "$incbroken" 2 build --allow-mocks
for what in "_common/unparsable.yaml:" "!append onto a map"; do
	n=$(grep -c -F "$what" "$scratch/incbroken-validate-j2.stderr")
	if [ "$n" = 1 ]; then ok; else bad "incbroken: '$what' reported $n times, wanted once"; fi
done
for what in "cannot read '_common/missing.yaml'" "include cycle" "vars.yaml"; do
	if grep -q -F "$what" "$scratch/incbroken-validate-j2.stderr"; then ok; else bad "incbroken: no '$what' error"; fi
done

# The walk lists folders on the workers: a linked folder deep in an env,
# and a unit.yaml inside another unit, are reported the same way.
walked=$scratch/walked
cp -R "$scratch/gen-repo" "$walked"
ln -s ../s012 "$walked/stage/g01/s014/linked"
check walked-validate "$walked" 2 validate
nested=$scratch/nested
cp -R "$scratch/gen-repo" "$nested"
mkdir -p "$nested/dev/g00/s000/u00002/nested"
cp "$nested/dev/g00/s000/u00002/unit.yaml" "$nested/dev/g00/s000/u00002/nested/unit.yaml"
check nested-validate "$nested" 2 validate
if grep -q -F "stage/g01/s014/linked' is a symlink to the folder" "$scratch/walked-validate-j2.stderr" &&
   grep -q -F "unit.yaml inside another unit" "$scratch/nested-validate-j2.stderr"; then
	ok
else
	bad "walked: the linked folder or the nested unit was not reported"
fi

# A sanitizer's report (ASan, UBSan, TSan) in any run fails the test.
if grep -l -E 'Sanitizer|runtime error:' "$scratch"/*.stderr >/dev/null 2>&1; then
	bad "sanitizer reports in: $(grep -l -E 'Sanitizer|runtime error:' "$scratch"/*.stderr | sed "s|$scratch/||" | tr '\n' ' ')"
else
	ok
fi

echo "parallel: $pass passed, $fail failed"
[ "$fail" = 0 ]
