# tests/lib.sh - the start every shell test runner under tests/*/ shares:
# sourced right after `set -u` by tests/cache/run.sh and
# tests/parallel/run.sh.  Gives $top (the checkout), $scratch (removed on
# exit), the counters and ok/bad; the runner prints and judges them.
: "${BULKHEAD:?set BULKHEAD to the binary under test}"
top=$(cd "$(dirname "$0")/../.." && pwd)
pass=0 fail=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# at_least MIN PATTERN FILE WHAT: ok when FILE has MIN or more lines
# matching PATTERN (grep BRE); else bad "WHAT", with the file's head.
at_least() {
	found=$(grep -c -- "$2" "$3")
	if [ "$found" -ge "$1" ]; then
		ok
	else
		bad "$4 ($found lines match '$2', want $1 or more)"
		head -n 5 "$3"
	fi
}
