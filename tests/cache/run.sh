#!/bin/sh
# The build cache on the command line: what a rebuild trusts and what it
# must notice.  Each step builds samples/acme (a copy) and compares out/
# with a clean build of the same inputs.
#
# usage (from the repo root): BULKHEAD=/abs/path/bulkhead sh tests/cache/run.sh
set -u
. "$(dirname "$0")/../lib.sh"

w=$scratch/acme
cp -R "$top/samples/acme" "$w"
rm -rf "$w/out" "$w/.bulkhead/cache"

# summary_is STEP WANT: the summary line of a build run now
summary_is() {
	got=$("$BULKHEAD" -C "$w" build 2>"$scratch/err" | tail -n 1)
	case $got in
	"$2") ok ;;
	*) bad "$1: got '$got', wanted '$2'"; head -n 3 "$scratch/err" ;;
	esac
}

inode() { ls -i "$1" | awk '{ print $1 }'; }

# same_as_clean STEP: out/ equals a fresh build of the same repo
same_as_clean() {
	rm -rf "$scratch/clean"
	cp -R "$w" "$scratch/clean"
	rm -rf "$scratch/clean/out" "$scratch/clean/.bulkhead/cache"
	"$BULKHEAD" -C "$scratch/clean" -q build >/dev/null 2>&1
	if diff -r "$w/out" "$scratch/clean/out" >/dev/null; then ok; else bad "$1: out/ differs from a clean build"; fi
}

"$BULKHEAD" -C "$w" -q build >/dev/null 2>&1 || bad "first build failed"
files=$(find "$w/out" -name '*.json' ! -name manifest.json | wc -l | tr -d ' ')
units=$("$BULKHEAD" -C "$w" build | tail -n 1 | sed 's/^build: \([0-9]*\) units.*/\1/')
summary_is "the next build" "build: $units units, 0 files written, $files unchanged, 0 removed"

tfvars=$(find "$w/out" -name terraform.tfvars.json | LC_ALL=C sort | head -n 1)

# An output edited by hand (its size changes): rewritten.
printf ' ' >>"$tfvars"
summary_is "an output grown by hand" "build: $units units, 1 file written, $((files - 1)) unchanged, 0 removed"
same_as_clean "an output grown by hand"

# The same size, other bytes: the write moves its mtime.
sleep 0.02
sed -i 's/"/'"'"'/' "$tfvars"
summary_is "an output changed in place" "build: $units units, 1 file written, $((files - 1)) unchanged, 0 removed"
same_as_clean "an output changed in place"

# An output replaced by a link to other content: not trusted; the link
# is replaced by a file and its target left alone.
mv "$tfvars" "$scratch/moved.json"
printf 'elsewhere\n' >>"$scratch/moved.json"
cp "$scratch/moved.json" "$scratch/moved.before"
ln -s "$scratch/moved.json" "$tfvars"
"$BULKHEAD" -C "$w" -q build >/dev/null 2>&1
if [ -L "$tfvars" ]; then bad "an output replaced by a link: still a link"; else ok; fi
if cmp -s "$scratch/moved.json" "$scratch/moved.before"; then ok; else bad "wrote through the link"; fi
same_as_clean "an output replaced by a link"

# A deleted output comes back.
rm "$tfvars"
summary_is "a deleted output" "build: $units units, 1 file written, $((files - 1)) unchanged, 0 removed"
same_as_clean "a deleted output"

# The cache gone, out/ kept (a fresh clone of a repo that commits its
# outputs): every output is read and compared.  The same bytes are left
# alone (same inode, same mtime); an edited one and a missing one are
# written; the next build is answered by the cache that build stored.
rm -rf "$w/.bulkhead/cache"
others=$(find "$w/out" -name terraform.tfvars.json | LC_ALL=C sort | sed -n '2p;3p')
edited=$(echo "$others" | sed -n 1p) missing=$(echo "$others" | sed -n 2p)
kept=$(find "$w/out" -name '*.json' ! -name manifest.json | LC_ALL=C sort | grep -v -e "^$edited\$" -e "^$missing\$" | head -n 1)
touch -d '2001-01-01 00:00:00' "$kept"
kept_inode=$(inode "$kept")
printf ' ' >>"$edited"
rm "$missing"
summary_is "no cache, two outputs off" "build: $units units, 2 files written, $((files - 2)) unchanged, 0 removed"
if [ "$(inode "$kept")" = "$kept_inode" ] && [ "$(stat -c %Y "$kept")" = "$(date -d '2001-01-01 00:00:00' +%s)" ]; then
	ok
else
	bad "no cache: an output with the planned bytes was rewritten"
fi
same_as_clean "no cache, two outputs off"
summary_is "the build after" "build: $units units, 0 files written, $files unchanged, 0 removed"

# The whole output dir gone, the cache kept: the plan keeps no text of
# a file the cache recorded with the same hash, so the build renders
# every one again to write it.
rm -rf "$w/out"
summary_is "the output dir removed" "build: $units units, $files files written, 0 unchanged, 0 removed"
same_as_clean "the output dir removed"

# One input changed: only the files of that unit are written.
unit=$w/dev/network/vpc/unit.yaml
[ -f "$unit" ] || unit=$(find "$w/dev" -name unit.yaml | LC_ALL=C sort | head -n 1)
printf '\n# touched by tests/cache\n' >>"$unit"
summary_is "a comment added to a unit" "build: $units units, 0 files written, $files unchanged, 0 removed"
sed -i 's/^inputs:$/inputs:\n  cache_test_knob: 7/' "$unit"
got=$("$BULKHEAD" -C "$w" build 2>"$scratch/err" | tail -n 1)
case $got in
"build: $units units, 1 file written, $((files - 1)) unchanged, 0 removed") ok ;;
*) bad "an input changed: got '$got'" ;;
esac
same_as_clean "an input changed"

# A unit touched (same bytes, new mtime, as a checkout or an editor's
# save does): the build is still answered by the cache, which reads that
# one file to compare its bytes and takes its new stat data, so the next
# build reads none.
opens_of_units() { # STEP: unit.yaml files a build opens, via strace
	strace -f -e trace=openat -o "$scratch/trace" "$BULKHEAD" -C "$w" -q build >/dev/null 2>&1
	grep -c 'unit\.yaml"' "$scratch/trace"
}
# A build that runs, rather than being answered by the cache, opens unit
# files, unless the stat index vouches for them: without it, it must.
runs_open_units() {
	rm -f "$w/.bulkhead/cache/stat"
	opens_of_units
}
if command -v strace >/dev/null 2>&1 && strace -o /dev/null true >/dev/null 2>&1; then
	"$BULKHEAD" -C "$w" -q build >/dev/null 2>&1
	touch -d '2001-01-01 00:00:00' "$unit"
	n=$(opens_of_units)
	if [ "$n" = 1 ]; then ok; else bad "a touched unit: the build opened $n unit files, wanted 1"; fi
	n=$(opens_of_units)
	if [ "$n" = 0 ]; then ok; else bad "after a touched unit: the build opened $n unit files, wanted 0"; fi
	printf '\n# one more comment\n' >>"$unit"
	touch -d '2001-01-01 00:00:00' "$unit"
	n=$(runs_open_units)
	if [ "$n" -gt 1 ]; then ok; else bad "a unit with other bytes: the build opened $n unit files"; fi
	same_as_clean "a touched unit"
	# A folder whose mtime moved while its names did not (an editor's
	# swap file came and went, a checkout renamed a new copy over a
	# file): listed again and found the same, so no unit is parsed.
	"$BULKHEAD" -C "$w" -q build >/dev/null 2>&1
	dir=$(dirname "$unit")
	: >"$dir/.unit.yaml.swp"
	sleep 0.02
	rm "$dir/.unit.yaml.swp"
	n=$(opens_of_units)
	if [ "$n" = 0 ]; then ok; else bad "a folder whose mtime moved: the build opened $n unit files, wanted 0"; fi
	cp "$unit" "$dir/unit.yaml.new"
	mv "$dir/unit.yaml.new" "$unit"
	n=$(opens_of_units)
	if [ "$n" = 1 ]; then ok; else bad "a unit checked out again: the build opened $n unit files, wanted 1"; fi
	# A name added to a folder the walk listed: the build runs.
	mkdir "$dir/extra"
	n=$(runs_open_units)
	if [ "$n" -gt 1 ]; then ok; else bad "a folder added: the build opened $n unit files"; fi
	# The same names, one of another kind: the build runs.
	rmdir "$dir/extra"
	: >"$dir/extra"
	n=$(runs_open_units)
	if [ "$n" -gt 1 ]; then ok; else bad "a folder replaced by a file: the build opened $n unit files"; fi
	rm "$dir/extra"
	same_as_clean "a folder listed again"
else
	echo "cache: skipping the touched-unit checks: strace is missing or cannot trace here"
fi

# The manifest: the cache records its hash, so a touched one needs no
# build, and a build of every unit takes the last one's file list from
# the cache instead of reading it.  A unit removed from prod (pending
# there, not drift) loses its files either way.
"$BULKHEAD" -C "$w" -q build >/dev/null 2>&1
touch -d '2001-01-01 00:00:00' "$w/out/manifest.json"
summary_is "a touched manifest" "build: $units units, 0 files written, $files unchanged, 0 removed"
web=$(find "$w/out/prod" -path '*/app/web/*' -type f | wc -l | tr -d ' ')
mv "$w/prod/app/web" "$scratch/prod-web"
summary_is "a unit removed" "build: $((units - 1)) units, 0 files written, $((files - web)) unchanged, $web removed"
if grep -q '"prod/[^"]*/app/web/' "$w/out/manifest.json"; then
	bad "a unit removed: the manifest still lists prod's app/web"
else ok; fi
same_as_clean "a unit removed"
mv "$scratch/prod-web" "$w/prod/app/web"
summary_is "a unit back" "build: $units units, $web files written, $((files - web)) unchanged, 0 removed"
same_as_clean "a unit back"

# A corrupt cache is ignored: the build is still right.
for c in "$w"/.bulkhead/cache/build-*; do printf 'garbage' >>"$c"; done
printf ' ' >>"$tfvars"
summary_is "a corrupt cache" "build: $units units, 1 file written, $((files - 1)) unchanged, 0 removed"
same_as_clean "a corrupt cache"

# ---- the parse cache: unit trees kept from one run to the next ----
# Reports are the same whether a run parsed its unit files or decoded the
# trees an earlier run stored, and an edited unit is parsed again.
pc=$scratch/pc
cp -R "$top/samples/acme" "$pc"
rm -rf "$pc/out" "$pc/.bulkhead/cache"
reports() { # DIR OUT: what the read-only commands print, and their status
	for args in "drift" "drift --format json" "diff dev prod --all" "validate" \
		"show app/api --env prod --explain" "graph --format json" "build --check"; do
		echo "== $args"
		# shellcheck disable=SC2086 # the words of args
		"$BULKHEAD" -C "$1" $args 2>&1
		echo "status $?"
	done >"$2"
}
# as_without_cache DIR OUT STEP: the reports of DIR (into OUT) equal those
# of a copy of it without .bulkhead/cache/
as_without_cache() {
	rm -rf "$scratch/uncached"
	cp -R "$1" "$scratch/uncached"
	rm -rf "$scratch/uncached/.bulkhead/cache"
	reports "$1" "$2"
	reports "$scratch/uncached" "$scratch/uncached.out"
	if cmp -s "$2" "$scratch/uncached.out"; then ok; else bad "$3"; diff "$scratch/uncached.out" "$2" | head -n 10; fi
}
reports "$pc" "$scratch/pc.cold"
if [ -s "$pc/.bulkhead/cache/parse" ]; then ok; else bad "no parse cache after a run"; fi
before=$(inode "$pc/.bulkhead/cache/parse")
reports "$pc" "$scratch/pc.warm"
if cmp -s "$scratch/pc.cold" "$scratch/pc.warm"; then ok; else bad "reports differ once the trees are stored"; diff "$scratch/pc.cold" "$scratch/pc.warm" | head -n 10; fi
# A run whose every tree was a hit adds nothing, so it leaves the file be.
if [ "$(inode "$pc/.bulkhead/cache/parse")" = "$before" ]; then ok; else bad "a run of hits rewrote the parse cache"; fi
# An edit: that unit is parsed again, and every report follows it.
sed -i 's/health_check_grace_period: 60/health_check_grace_period: 90/' "$pc/dev/app/api/unit.yaml"
as_without_cache "$pc" "$scratch/pc.edited" "reports after an edit differ from a run without the cache"
if grep -q 'health_check_grace_period.*90' "$scratch/pc.edited"; then ok; else bad "the edit does not show"; fi
if [ "$(inode "$pc/.bulkhead/cache/parse")" != "$before" ]; then ok; else bad "the edited unit's tree was not stored"; fi
# A damaged cache is ignored, and replaced.
printf 'garbage' >>"$pc/.bulkhead/cache/parse"
reports "$pc" "$scratch/pc.damaged"
if cmp -s "$scratch/pc.edited" "$scratch/pc.damaged"; then ok; else bad "reports differ with a damaged parse cache"; fi
if tail -c 7 "$pc/.bulkhead/cache/parse" | grep -q garbage; then bad "the damaged parse cache was kept"; else ok; fi

# ---- the stat index: folders and unit files trusted by their stat data ----
# A warm run lists no folder and opens no unit file whose stat data are
# unchanged, and reports the same; what changed behind stat data that
# look alike (same size, mtime put back) is caught by the ctime.
si=$pc/.bulkhead/cache/stat
reports "$pc" "$scratch/si.first"
if [ -s "$si" ]; then ok; else bad "no stat index after a run"; fi
before=$(inode "$si")
reports "$pc" "$scratch/si.warm"
if cmp -s "$scratch/si.first" "$scratch/si.warm"; then ok; else bad "reports differ with the stat index"; fi
if [ "$(inode "$si")" = "$before" ]; then ok; else bad "a run of hits rewrote the stat index"; fi
if command -v strace >/dev/null 2>&1 && strace -o /dev/null true >/dev/null 2>&1; then
	strace -f -e trace=openat -o "$scratch/si.trace" "$BULKHEAD" -C "$pc" drift >/dev/null 2>&1
	n=$(grep -c 'unit\.yaml"' "$scratch/si.trace")
	if [ "$n" = 0 ]; then ok; else bad "a warm drift opened $n unit files, wanted 0"; fi
	n=$(grep -c 'O_DIRECTORY' "$scratch/si.trace")
	if [ "$n" -le 2 ]; then ok; else bad "a warm drift opened $n folders"; fi
else
	echo "cache: skipping the stat index's open counts: strace is missing or cannot trace here"
fi
unit=$pc/dev/app/api/unit.yaml
cp -p "$unit" "$scratch/si.ref"
sed 's/health_check_grace_period: 90/health_check_grace_period: 45/' "$unit" >"$scratch/si.new"
cat "$scratch/si.new" >"$unit"	# the same inode and size
touch -r "$scratch/si.ref" "$unit"	# and the same mtime
as_without_cache "$pc" "$scratch/si.edited" "an edit behind the same size and mtime was missed"
if grep -q 'health_check_grace_period.*45' "$scratch/si.edited"; then ok; else bad "the edit behind the same mtime does not show"; fi
# A unit added in a folder the index lists: found.
mkdir "$pc/dev/app/worker-si"
printf 'source: "git::https://example.com/m.git//w?ref=v1.0.0"\ninputs:\n  si_test: 1\n' >"$pc/dev/app/worker-si/unit.yaml"
if "$BULKHEAD" -C "$pc" show app/worker-si --env dev 2>&1 | grep -q 'si_test'; then ok; else bad "a unit added under the index was not found"; fi
rm -r "$pc/dev/app/worker-si"
if "$BULKHEAD" -C "$pc" show app/worker-si --env dev >/dev/null 2>&1; then bad "a removed unit is still found"; else ok; fi
# A damaged index is ignored, and replaced.
printf 'garbage' >>"$si"
reports "$pc" "$scratch/si.damaged"
if cmp -s "$scratch/si.edited" "$scratch/si.damaged"; then ok; else bad "reports differ with a damaged stat index"; fi
if tail -c 7 "$si" | grep -q garbage; then bad "the damaged stat index was kept"; else ok; fi

# ---- an output dir below other folders ----
# The first build makes out/ and its parents, changing the folders above;
# the next build is still answered by the cache (without the stat index,
# a build that runs opens unit files), whether the folder above out/ was
# walked (gen/) or made by the first build (new/deep/).
if command -v strace >/dev/null 2>&1 && strace -o /dev/null true >/dev/null 2>&1; then
	for od in gen/out new/deep/out; do
		nd=$scratch/nested
		rm -rf "$nd"
		cp -R "$top/samples/acme" "$nd"
		rm -rf "$nd/out" "$nd/.bulkhead/cache"
		mkdir "$nd/gen"
		echo notes >"$nd/gen/README"
		sed -i "s|^  dir: out\$|  dir: $od|" "$nd/bulkhead.yaml"
		"$BULKHEAD" -C "$nd" -q build >/dev/null 2>&1 || bad "output dir $od: the first build failed"
		rm -f "$nd/.bulkhead/cache/stat"
		strace -f -e trace=openat -o "$scratch/nested.trace" "$BULKHEAD" -C "$nd" -q build >/dev/null 2>&1
		n=$(grep -c 'unit\.yaml"' "$scratch/nested.trace")
		if [ "$n" = 0 ]; then ok; else bad "output dir $od: the next build opened $n unit files, wanted 0"; fi
	done
else
	echo "cache: skipping the nested output dir checks: strace is missing or cannot trace here"
fi

echo "cache: $pass passed, $fail failed"
[ "$fail" = 0 ]
