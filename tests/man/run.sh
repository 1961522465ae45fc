#!/bin/sh
# Run every command of the EXAMPLES sections of the man pages, and check that
# the pages render and lint clean.
#
#   BULKHEAD=/abs/path/bin/bulkhead sh tests/man/run.sh
#
# An example command is a line
#
#   .Dl $ bulkhead ARGS
#
# in the EXAMPLES section of man/*.[0-9].  It must exit 0, unless a roff
# comment line
#
#   .\" status: N
#
# before it (and after the previous command) says N.  The examples of each
# page run in order, as the page tells them, at the root of a fresh copy of
# samples/acme committed to a new Git repository (for --rev, --staged and
# changes): later examples may rely on earlier ones, such as a build before a
# build --check.  ARGS is evaluated by sh, so it may quote globs.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BULKHEAD=${BULKHEAD:-$ROOT/bin/bulkhead}
case $BULKHEAD in /*) ;; *) BULKHEAD=$PWD/$BULKHEAD ;; esac
if [ ! -x "$BULKHEAD" ]; then
	echo "error: BULKHEAD=$BULKHEAD is not an executable" >&2
	exit 2
fi
if ! command -v git >/dev/null 2>&1; then
	echo "error: git is required (examples use --rev, --staged and changes)" >&2
	exit 2
fi
# A hook or a CI job may export these; the examples need their own repo.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_COMMON_DIR GIT_OBJECT_DIRECTORY
export BULKHEAD

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bulkhead-man.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' HUP INT TERM

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# ---- rendering and lint ----

if command -v mandoc >/dev/null 2>&1; then
	for page in "$ROOT"/man/*.[0-9]; do
		name=man/${page##*/}
		if mandoc -T utf8 "$page" >"$TMP/render" 2>&1 && [ -s "$TMP/render" ]; then
			ok "render $name"
		else
			bad "render $name"
		fi
	done
	# The pages refer to each other: lint them together.
	if out=$(mandoc -T lint -W warning "$ROOT"/man/*.[0-9] 2>&1) && [ -z "$out" ]; then
		ok "mandoc -T lint -W warning man/*"
	else
		bad "mandoc -T lint -W warning man/*"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
else
	echo "SKIP: mandoc not found; pages not rendered or linted"
fi

# ---- examples ----

# Prints "STATUS<TAB>ARGS" for each example command of a page.
examples() {
	awk '
		/^\.Sh / { in_ex = ($0 == ".Sh EXAMPLES"); status = ""; next }
		!in_ex { next }
		/^\.\\" status: [0-9]+[ \t]*$/ { status = $3; next }
		/^\.Dl \$ bulkhead([ \t]|$)/ {
			args = $0
			sub(/^\.Dl \$ bulkhead/, "", args)
			print (status == "" ? 0 : status) "\t" args
			status = ""
		}
	' "$1" | sed 's/\\&//g; s/\\-/-/g; s/\\e/\\/g'
}

# A fresh copy of samples/acme, committed to a new repository.
fresh_repo() {
	rm -rf "$1"
	mkdir -p "$1" || return 1
	cp -R "$ROOT/samples/acme/." "$1/" || return 1
	rm -rf "$1/out" "$1/.bulkhead/cache"
	(
		cd "$1" &&
		git -c init.defaultBranch=main init -q &&
		git add -A &&
		git -c user.name=bulkhead-tests -c user.email=tests@example.invalid \
		    -c commit.gpgsign=false commit -q -m "samples/acme"
	) >"$TMP/git.log" 2>&1 || { cat "$TMP/git.log"; return 1; }
}

for page in "$ROOT"/man/*.[0-9]; do
	name=man/${page##*/}
	work=$TMP/repo
	if ! fresh_repo "$work"; then
		bad "$name: cannot set up a copy of samples/acme"
		continue
	fi
	examples "$page" >"$TMP/list"
	if [ ! -s "$TMP/list" ]; then
		bad "$name: no example commands (.Dl \$ bulkhead ...) in EXAMPLES"
		continue
	fi
	while IFS='	' read -r want args; do
		(cd "$work" && eval "\"\$BULKHEAD\"$args") </dev/null >"$TMP/log" 2>&1
		got=$?
		label="$name: bulkhead$args"
		if [ "$got" != "$want" ]; then
			bad "$label: exit $got, expected $want"
			tail -n 20 "$TMP/log" | sed 's/^/    /'
		elif grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$TMP/log"; then
			bad "$label: sanitizer report"
			grep -m 5 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$TMP/log" | sed 's/^/    /'
		else
			ok "$label (exit $got)"
		fi
	done <"$TMP/list"
done

echo "man: $pass passed, $fail failed"
[ "$fail" = 0 ]
