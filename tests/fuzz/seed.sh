#!/bin/sh
# Regenerates the seed corpora in tests/fuzz/corpus/<harness>/ from:
#   fuzz_yaml   every *.yaml in samples/acme and tests/{bad,cases}/*/repo
#   fuzz_merge  pairs (an included or parent file, the file that uses it)
#               from those repos, joined by one NUL byte (fuzz_merge splits
#               there), plus the tag seeds below
#   fuzz_expr,  the template column of tests/expr.test (read now: it grows)
#   fuzz_eval   and tests/fuzz/templates.txt, one template per file
# Files over 64 KiB are skipped.  Names are content hashes, so rerunning
# only adds.  Usage: sh tests/fuzz/seed.sh
set -eu
cd "$(dirname "$0")/../.."
out=tests/fuzz/corpus
max=65536
tab=$(printf '\t')
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT INT TERM
mkdir -p "$out/fuzz_yaml" "$out/fuzz_expr" "$out/fuzz_eval" "$out/fuzz_merge"

add() {	# add HARNESS FILE
	[ "$(wc -c <"$2")" -le "$max" ] || return 0
	h=$(sha1sum <"$2" | cut -c1-40)
	cp "$2" "$out/$1/$h"
}

repos="samples/acme $(ls -d tests/bad/*/repo tests/cases/*/repo 2>/dev/null || true)"

# YAML files.
for r in $repos; do
	find "$r" -name '*.yaml' -type f | sort | while IFS= read -r f; do
		add fuzz_yaml "$f"
	done
done

# Merge pairs: each file of a repo that names another (include paths are
# written root-relative or relative; match on the path after the root),
# and each vars.yaml after the vars.yaml of a parent folder.
pair() {	# pair BASE OVER
	{ cat "$1"; printf '\0'; cat "$2"; } >"$tmp"
	add fuzz_merge "$tmp"
}
for r in $repos; do
	files=$(cd "$r" && find . -name '*.yaml' -type f | sed 's|^\./||' | sort)
	for f in $files; do
		for g in $files; do
			[ "$f" != "$g" ] || continue
			case $g in
			*/vars.yaml)
				case $f in
				vars.yaml|*/vars.yaml)
					d=$(dirname "$f")
					case $g in "$d"/*) pair "$r/$f" "$r/$g" ;; esac
					[ "$d" != . ] || pair "$r/$f" "$r/$g"
					continue ;;
				esac ;;
			esac
			if grep -qF "$(basename "$f" .yaml)" "$r/$g" 2>/dev/null &&
			   grep -qF "$f" "$r/$g" 2>/dev/null; then
				pair "$r/$f" "$r/$g"
			fi
		done
	done
done
# Tag seeds.
seed_merge() {	# seed_merge BASE OVER
	printf '%s\0%s' "$1" "$2" >"$tmp"
	add fuzz_merge "$tmp"
}
seed_merge 'a: [1, 2]
b: {c: 1, d: [x]}
e: keep' 'a: !append [3]
b: !replace {z: 1}
e: !unset'
seed_merge 'tags: {team: x, owner: y}
list: &l [1, 2]
alias: *l' 'tags: {owner: !unset , new: 1}
list: !append *l
alias: !replace [9]'
seed_merge 'a: {b: {c: {d: [1]}}}' 'a: {b: {c: {d: !append [2], e: !unset }}}'
seed_merge 'a: 1' '!append [1]'
seed_merge '[1, 2]' '!append [3]'
seed_merge 'a: {x: 1}' 'a: !append [1]'
seed_merge 'a: [1]' 'a: !replace {b: [!append [2]]}'
seed_merge 'a: [1]' 'a: !append {b: 1}'
seed_merge '' 'a: !unset'
seed_merge 'a: !unset' 'b: 1'

# Templates, one per file.
templates() {
	if [ -f tests/expr.test ]; then
		while IFS= read -r line; do
			case $line in
			''|'#'*|'context: '*) continue ;;
			esac
			printf '%s\n' "${line%%"$tab"*}"
		done <tests/expr.test
	fi
	grep -v '^$' tests/fuzz/templates.txt
}
templates | while IFS= read -r t; do
	printf '%s' "$t" >"$tmp"
	add fuzz_expr "$tmp"
	add fuzz_eval "$tmp"
done

for h in fuzz_yaml fuzz_expr fuzz_eval fuzz_merge; do
	echo "$h: $(ls "$out/$h" | wc -l) seeds"
done
