#!/bin/sh
# Runs tests/expr.test: a table of expression cases.
#   context: FILE         switch the context (a YAML map, relative to tests/)
#   TEMPLATE<TAB>EXPECTED one case: compact JSON, or error@COL: message
# Lines starting with '#' and blank lines are ignored.
set -u
: "${EVALEXPR:?set EVALEXPR to the evalexpr tool}"
top=$(cd "$(dirname "$0")" && pwd)
table=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM
pass=0 fail=0 context=
tab=$(printf '\t')

flush() {
	[ -s "$scratch/in" ] || return 0
	"$EVALEXPR" "$top/$context" <"$scratch/in" >"$scratch/got" 2>"$scratch/err" || {
		echo "FAIL: evalexpr failed on context $context"; cat "$scratch/err"; fail=$((fail + 1)); }
	if grep -q 'AddressSanitizer\|runtime error:' "$scratch/err"; then
		echo "FAIL: sanitizer report"; cat "$scratch/err"; fail=$((fail + 1))
	fi
	n=0
	while IFS= read -r want <&3 && IFS= read -r got <&4; do
		n=$((n + 1))
		if [ "$want" = "$got" ]; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "FAIL: $(sed -n "${n}p" "$scratch/in")"
			echo "  want: $want"
			echo "  got:  $got"
		fi
	done 3<"$scratch/want" 4<"$scratch/got"
	: >"$scratch/in"
	: >"$scratch/want"
}

: >"$scratch/in"
: >"$scratch/want"
while IFS= read -r line; do
	case $line in
	''|'#'*) continue ;;
	'context: '*) flush; context=${line#context: }; continue ;;
	esac
	printf '%s\n' "${line%%"$tab"*}" >>"$scratch/in"
	printf '%s\n' "${line#*"$tab"}" >>"$scratch/want"
done <"$table"
flush
echo "expr: $pass passed, $fail failed"
[ "$fail" = 0 ]
