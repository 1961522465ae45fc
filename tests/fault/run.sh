#!/bin/sh
# Fault injection for bulkhead build: I/O errors, a read-only output dir,
# SIGKILL, allocation failure and concurrent builds.  Every check ends in a
# PASS or FAIL line (SKIP when the machine cannot run it); a FAIL is
# followed by the cases that broke it.  Exit 1 when any check failed.
#
# usage (from the repo root):
#   BULKHEAD=/abs/path/to/bulkhead sh tests/fault/run.sh
# knobs: FAULT_ONLY="1 3" (run some checks), FAULT_SEED (the SIGKILL
#        delays), FAULT_KILLS (default 200), FAULT_KILL_MAX_MS (default 50,
#        or 1.5 times one build when that is longer), FAULT_VERBOSE=1 (every
#        case), TMPDIR (else the trees go to /dev/shm)
#
# The shim (tests/fault/shim.c) is an LD_PRELOAD library: FAULT_OP picks the
# calls to count, FAULT_N the one to act on (see its header).  It works with
# the release and with the ASan+UBSan binary.
#
# The scenario: samples/acme built in state A, then its inputs moved to
# state B, so the next build rewrites two files of dev (app replicas),
# writes the new unit dev/misc/memo (a new folder) and deletes the files of
# the removed unit dev/misc/note.  B2 is B with another memo message; C is
# B with stage's replicas changed too.
set -u
: "${BULKHEAD:?set BULKHEAD to the bulkhead binary under test}"
case $BULKHEAD in /*) ;; *) BULKHEAD=$(pwd)/$BULKHEAD ;; esac
top=$(cd "$(dirname "$0")/../.." && pwd -P)
started=$(date +%s)

# Trees go to tmpfs when there is one (hundreds of copies); the shim stays
# where code may be mapped.
S=$(mktemp -d) && S=$(cd "$S" && pwd -P)
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	T=$(mktemp -d -p /dev/shm)
else
	T=$(mktemp -d)
fi
T=$(cd "$T" && pwd -P)
trap 'rm -rf "$T" "$S"' EXIT
trap 'exit 1' INT TERM
SHIM=$S/shim.so
cc -shared -fPIC -O1 -o "$SHIM" "$top/tests/fault/shim.c" -ldl || { echo "FAIL cannot build the shim"; exit 1; }
# A private copy: a rebuild in the work tree must not swap the binary
# under a run of a few hundred builds.
cp "$BULKHEAD" "$S/bulkhead" || { echo "FAIL cannot copy $BULKHEAD"; exit 1; }
BULKHEAD=$S/bulkhead

# Leaks on a fatal exit are expected; the shim must come before ASan's runtime.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:verify_asan_link_order=0"
export ASAN_OPTIONS
# Nothing from the caller's environment may steer the shim.
unset FAULT_OP FAULT_N FAULT_STICKY FAULT_ACTION FAULT_ERRNO FAULT_DIR FAULT_LOG FAULT_SLEEP_MS

npass=0 nfail=0
PROB=$T/problems
: >"$PROB"

problem() { echo "$*" >>"$PROB"; }
begin() { : >"$PROB"; t_begin=$(date +%s); }
verdict() {	# text
	if [ -s "$PROB" ]; then
		echo "FAIL $1 [$(($(date +%s) - t_begin)) s]"
		v_max=12
		[ "${FAULT_VERBOSE:-}" = 1 ] && v_max=100000
		head -n $v_max "$PROB" | sed 's/^/    /'
		v_n=$(wc -l <"$PROB")
		[ "$v_n" -gt $v_max ] && echo "    ... and $((v_n - v_max)) more (FAULT_VERBOSE=1 lists all)"
		nfail=$((nfail + 1))
	else
		echo "PASS $1 [$(($(date +%s) - t_begin)) s]"
		npass=$((npass + 1))
	fi
	: >"$PROB"
}
note() { [ "${FAULT_VERBOSE:-}" = 1 ] && echo "  $*"; return 0; }
wanted() { [ -z "${FAULT_ONLY:-}" ] || case " $FAULT_ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---- inputs ----

set_state() {	# tree A|B|B2|C
	ss_t=$1
	case $2 in A) ss_r=1 ;; *) ss_r=3 ;; esac
	sed "s/^  replicas: [0-9]*\$/  replicas: $ss_r/" "$top/samples/acme/dev/vars.yaml" >"$ss_t/dev/vars.yaml"
	case $2 in C) ss_r=5 ;; *) ss_r=2 ;; esac
	sed "s/^  replicas: [0-9]*\$/  replicas: $ss_r/" "$top/samples/acme/stage/vars.yaml" >"$ss_t/stage/vars.yaml"
	rm -rf "$ss_t/dev/misc"
	case $2 in
	A) ss_unit=note ss_msg=hello ;;
	B | C) ss_unit=memo ss_msg=hi ;;
	B2) ss_unit=memo ss_msg=again ;;
	esac
	mkdir -p "$ss_t/dev/misc/$ss_unit"
	printf 'source: "git::https://example.com/modules.git//%s?ref=v1"\ninputs:\n  message: "%s"\n' \
		"$ss_unit" "$ss_msg" >"$ss_t/dev/misc/$ss_unit/unit.yaml"
}

fresh_tree() {	# dir
	rm -rf "$1"
	cp -R "$top/samples/acme" "$1"
	rm -rf "$1/out" "$1/.bulkhead/cache"
}

# bh DIR ARGS...: bulkhead in DIR; its output in $T/o and $T/e, status in
# $rc.  $FENV (FAULT_* settings and LD_PRELOAD) goes through env.  The
# inner sh reports a signal ("Killed") into $T/e, not on the terminal.
# (No redirected ( subshells ) here: dash drops their redirections inside
# some compound commands.)
FENV=
bh() {
	bh_d=$1
	shift
	timeout 60 sh -c '"$@"; exit $?' sh env -C "$bh_d" $FENV "$BULKHEAD" "$@" >"$T/o" 2>"$T/e"
	rc=$?
}

crashed() {	# the last run crashed, hung or hit a sanitizer
	[ "$rc" -gt 2 ] && return 0
	grep -Eq 'Sanitizer|runtime error:' "$T/e"
}

describe() {	# what the last run did, for a problem line
	d_from=$T/e
	[ -s "$T/e" ] || d_from=$T/o
	printf 'exit %s: %s' "$rc" "$(grep -v '^ *$' "$d_from" | head -n 2 | tr '\n' ' ' | cut -c1-220)"
}

# The temp files bulkhead writes: outputs' ".NAME.bulkhead-tmp" beside
# them, the caches' "FILE.tmp", a baseline's "FILE.tmp-PID", and the
# folder ".bulkhead-staging" a build into a new output dir writes in.
# (This once looked for the baseline's alone, so leftovers of the others
# went unseen.)
temps() {	# the temp files under a tree
	find "$1" \( -name '*.bulkhead-tmp' -o -name '*.tmp' -o -name '*.tmp-*' -o -name .bulkhead-staging \) \
		-prune -print 2>/dev/null
}

short() {	# a list of paths under $2, on one line
	echo "$1" | sed "s|$2/||" | tr '\n' ' '
}

same_tree() {	# a b: byte-identical trees (temp files are checked on their own)
	diff -r -x '*.bulkhead-tmp' -x '*.tmp' -x '*.tmp-*' -x .bulkhead-staging "$1" "$2" >/dev/null 2>&1
}

# The checks below are only as good as temps(): it must see one of each.
mkdir -p "$T/probe/out/a" "$T/probe/.bulkhead/cache" "$T/probe/out/.bulkhead-staging/dev"
: >"$T/probe/out/a/.terraform.tfvars.json.bulkhead-tmp"
: >"$T/probe/.bulkhead/cache/parse.tmp"
: >"$T/probe/baseline.json.tmp-42"
if [ "$(temps "$T/probe" | wc -l)" != 4 ]; then
	echo "fault: temps() does not see every kind of temp file" >&2
	exit 1
fi
rm -rf "$T/probe"

# Checks every file manifest.json names against its xxh3-128; prints
# "missing PATH" and "changed PATH" lines.
XXHSUM=
command -v xxhsum >/dev/null 2>&1 && XXHSUM=xxhsum
manifest_verify() {	# out-dir [tag for its scratch files]
	[ -f "$1/manifest.json" ] || return 0
	mv_x=$T/mv${2:-}
	sed -n 's/^ *"\([^"]*\)": "\([0-9a-f]\{32\}\)",\{0,1\}$/\2 \1/p' "$1/manifest.json" >"$mv_x.want"
	: >"$mv_x.have"
	(
		cd "$1" || exit 0
		while read -r _ mv_p; do
			if [ -f "$mv_p" ]; then
				echo "$mv_p" >>"$mv_x.have"
			else
				echo "missing $mv_p"
			fi
		done <"$mv_x.want"
		if [ -s "$mv_x.have" ] && [ -n "$XXHSUM" ]; then
			# shellcheck disable=SC2046
			xxhsum -H2 $(cat "$mv_x.have") 2>/dev/null |
				awk 'NR == FNR { want[$2] = $1; next } want[$2] != $1 { print "changed " $2 }' "$mv_x.want" -
		fi
	)
}

# ---- reference builds and the starting point ----

for s in A B B2 C; do
	fresh_tree "$T/ref$s"
	set_state "$T/ref$s" "$s"
	bh "$T/ref$s" -q build
	if [ "$rc" != 0 ]; then
		echo "FAIL reference build of state $s: $(describe)"
		exit 1
	fi
done
if same_tree "$T/refA/out" "$T/refB/out"; then
	echo "FAIL states A and B build the same files; the scenario tests nothing"
	exit 1
fi

# PRE: state A built, inputs moved to B.  W: the scratch copy.
fresh_tree "$T/pre"
set_state "$T/pre" A
bh "$T/pre" -q build
if [ "$rc" != 0 ]; then
	echo "FAIL the build of state A to start from: $(describe)"
	exit 1
fi
set_state "$T/pre" B
W=$T/w
# COLD=1: without out/ and the caches, as for a first build.
restore() {
	rm -rf "$W"
	cp -Rp "$T/pre" "$W"
	if [ "${COLD:-}" = 1 ]; then
		rm -rf "$W/out" "$W/.bulkhead/cache"
	fi
}
log=$T/f.log

# A dry run under the shim (nothing broken) that logs every file call.
dry_run() {	# ops dir
	restore
	rm -f "$log"
	FENV="FAULT_OP=$1 FAULT_N=0 FAULT_DIR=$2 FAULT_LOG=$log LD_PRELOAD=$SHIM"
	# shellcheck disable=SC2086 # $3: extra global options, e.g. "-j 1"
	bh "$W" ${3:-} -q build
	FENV=
	if [ "$rc" != 0 ] || ! same_tree "$W/out" "$T/refB/out"; then
		problem "the build under the shim with nothing broken: $(describe)"
	fi
}

# The calls a check over a first build acts on: it makes hundreds, one
# folder and one file after another, so the first few, about 40 spread
# over the middle, and the last 12 (the renames, the manifest, the
# journal).
cold_calls() {	# count
	awk -v n="$1" 'BEGIN { step = int((n + 39) / 40); for (i = 1; i <= n; i++)
		if (i <= 6 || i > n - 12 || i % step == 0) print i }'
}

failed_call() {	# "op path" of the call the shim acted on, from $log
	sed -n 's/^[0-9]* \([a-z]*\) \(.*\) m=[0-9]* x=[0-9]* [A-Z]*$/\1 \2/p' "$log" | head -n 1
}

# ---- 1. an I/O error at the Nth call ----

# After the point of no return: the manifest may still be the old one, but
# it must not name a missing file; build --check must list exactly what is
# still to write, and a rerun must finish the build.
judge_partial() {	# what
	manifest_verify "$W/out" >"$T/mv"
	if grep -q '^missing ' "$T/mv"; then
		problem "$1: out/manifest.json names missing files: $(grep '^missing ' "$T/mv" | head -n 3 | cut -d' ' -f2 | tr '\n' ' ')"
	fi
	(cd "$T/refB/out" && find . -type f | sed 's|^\./||' | sort) | while read -r jp_f; do
		cmp -s "$T/refB/out/$jp_f" "$W/out/$jp_f" || echo "would write out/$jp_f"
	done | sort >"$T/want"
	bh "$W" build --check
	if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
		problem "$1: build --check afterwards: $(describe)"
	else
		grep '^would write ' "$T/o" | sort >"$T/have"
		cmp -s "$T/want" "$T/have" ||
			problem "$1: build --check lists [$(tr '\n' ' ' <"$T/have")] but [$(tr '\n' ' ' <"$T/want")] differ"
	fi
	note "$1: partial: $(grep -c . "$T/mv") manifest mismatches"
}

# After a failed build (named $1), the next one must finish the job: exit
# 0 and a clean build's out/.
next_build_completes() {	# what
	bh "$W" -q build
	if [ "$rc" != 0 ]; then
		problem "$1: the build after it: $(describe)"
	elif ! same_tree "$W/out" "$T/refB/out"; then
		problem "$1: the build after it did not give the clean build's out/"
	fi
}

# A build that failed on purpose: $1 the operation, $2 the path the shim
# broke, $3 how to name the case.
judge_io_failure() {
	case $2 in
	"$W" | "$W"/.bulkhead | "$W"/.bulkhead/*) jf_where=cache ;;
	*) jf_where=out ;;
	esac
	if crashed; then
		problem "$3: crashed: $(describe)"
		return
	fi
	if [ $jf_where = cache ]; then
		# The cache is optional: losing it must not fail the build.
		if [ "$rc" != 0 ]; then
			problem "$3 (cache): $(describe)"
		elif ! same_tree "$W/out" "$T/refB/out"; then
			problem "$3 (cache): exit 0 but out/ is not the complete build"
		fi
	elif [ "$rc" != 2 ]; then
		problem "$3: $(describe), expected exit 2"
	elif ! grep -q '^bulkhead: error: cannot ' "$T/e"; then
		problem "$3: no 'bulkhead: error: cannot ...' message: $(describe)"
	fi
	jf_left=$(temps "$W")
	[ -n "$jf_left" ] && problem "$3: temp files left: $(short "$jf_left" "$W")"
	[ $jf_where = cache ] && return
	if same_tree "$W/out" "$T/pre/out"; then
		note "$3: out/ unchanged"
	else
		case $1 in
		rename | unlink) judge_partial "$3" ;;
		*) problem "$3: out/ changed although the build failed before its first rename" ;;
		esac
	fi
	# Either way the next build must finish the job.
	next_build_completes "$3"
}

check1() {
	begin
	dry_run write,rename,open,mkdir,unlink "$W"
	c1_total=0
	for c1_op in write rename open mkdir unlink; do
		eval "c1_$c1_op=\$(grep -c \" $c1_op \" \"\$log\")"
		eval "c1_total=\$((c1_total + c1_$c1_op))"
	done
	[ "$c1_total" -gt 0 ] || problem "the shim saw no file calls (a static binary?)"
	c1_step=$(((c1_total + 139) / 140))
	c1_runs=0
	for c1_op in write rename open mkdir unlink; do
		eval "c1_count=\$c1_$c1_op"
		c1_n=1
		while [ "$c1_n" -le "$c1_count" ]; do
			restore
			rm -f "$log"
			c1_errno=EIO
			[ $((c1_n % 2)) = 0 ] && c1_errno=ENOSPC
			FENV="FAULT_OP=$c1_op FAULT_N=$c1_n FAULT_ERRNO=$c1_errno FAULT_DIR=$W FAULT_LOG=$log LD_PRELOAD=$SHIM"
			bh "$W" -q build
			FENV=
			c1_path=$(failed_call | cut -d' ' -f2-)
			c1_runs=$((c1_runs + 1))
			if [ -z "$c1_path" ]; then
				problem "$c1_op #$c1_n: the shim broke nothing (fewer calls than in the dry run?)"
			else
				judge_io_failure "$c1_op" "$c1_path" "$c1_op #$c1_n ($c1_errno on ${c1_path#"$W"/})"
			fi
			c1_n=$((c1_n + c1_step))
		done
	done
	verdict "1a I/O error (EIO/ENOSPC) at each write/open(O_CREAT)/mkdir/rename/unlink of an incremental build ($c1_runs runs; calls: write $c1_write, open $c1_open, mkdir $c1_mkdir, rename $c1_rename, unlink $c1_unlink): exit 2 with 'cannot ...', out/ unchanged or (after a rename) --check lists what is left, no temp files, the next build completes"

	# 1b: the renames went through but manifest.json could not be
	# replaced, so the new unit's files are on disk and unrecorded.  Moving
	# on must work: back to A (memo's files must go) or on to B2 (they
	# change).
	begin
	dry_run rename "$W/out"
	c1_last=$(grep -c ' rename ' "$log")
	for c1_next in A B2; do
		restore
		rm -f "$log"
		FENV="FAULT_OP=rename FAULT_N=$c1_last FAULT_DIR=$W/out FAULT_LOG=$log LD_PRELOAD=$SHIM"
		bh "$W" -q build
		FENV=
		if [ "$(failed_call)" != "rename $W/out/manifest.json" ]; then
			problem "setup: rename #$c1_last is not manifest.json's: $(failed_call)"
			continue
		fi
		[ "$rc" = 2 ] || problem "manifest.json's rename fails: $(describe), expected exit 2"
		set_state "$W" "$c1_next"
		bh "$W" -q build
		if [ "$rc" != 0 ]; then
			problem "manifest.json's rename failed, then a build of state $c1_next: $(describe)"
		elif ! same_tree "$W/out" "$T/ref$c1_next/out"; then
			problem "manifest.json's rename failed, then a build of state $c1_next: out/ is not a clean build's: $(diff -rq -x '*.bulkhead-tmp' -x '*.tmp' -x '*.tmp-*' "$W/out" "$T/ref$c1_next/out" 2>&1 | sed "s|$T/||g" | head -n 3 | tr '\n' ' ')"
		fi
	done
	verdict "1b after manifest.json's rename failed, a build of changed inputs completes and equals a clean build"

	# 1c: the same for a first build (no out/): it writes below a
	# staging folder and moves the top folders into place.
	begin
	COLD=1
	dry_run write,rename,open,mkdir,unlink "$W/out"
	c1_calls=$(grep -c -v ' end ' "$log")
	c1_runs=0
	for c1_n in $(cold_calls "$c1_calls"); do
		restore
		rm -f "$log"
		FENV="FAULT_OP=write,rename,open,mkdir,unlink FAULT_N=$c1_n FAULT_DIR=$W/out FAULT_LOG=$log LD_PRELOAD=$SHIM"
		bh "$W" -q build
		FENV=
		c1_call=$(failed_call)
		judge_cold_failure "${c1_call%% *}" "${c1_call#* }" "#$c1_n (EIO on $(echo "$c1_call" | sed "s|$W/||"))"
		c1_runs=$((c1_runs + 1))
	done
	COLD=
	verdict "1c I/O error at $c1_runs of the $c1_calls file calls in out/ of a first build (no out/): exit 2 with 'cannot ...' and no out/ at all, or after a rename --check lists what is left; no temp files or staging folder; the next build completes"
}

# A first build that failed on purpose in out/: $1 the operation, $2
# the path the shim broke, $3 how to name the case.  Until its first
# rename of an output there must be no out/ at all (the build made it,
# so it goes).  (The caches' calls are 1a's.)
judge_cold_failure() {
	if crashed; then
		problem "$3: crashed: $(describe)"
		return
	fi
	[ "$rc" = 2 ] || problem "$3: $(describe), expected exit 2"
	grep -q '^bulkhead: error: cannot ' "$T/e" || problem "$3: no 'bulkhead: error: cannot ...' message: $(describe)"
	if [ -e "$W/out" ]; then
		case $1 in
		rename | unlink) judge_partial "$3" ;;
		*) problem "$3: out/ exists although the build failed before its first rename" ;;
		esac
	fi
	jc_left=$(temps "$W")
	[ -n "$jc_left" ] && problem "$3: temp files left: $(short "$jc_left" "$W")"
	next_build_completes "$3"
	jc_left=$(temps "$W")
	[ -n "$jc_left" ] && problem "$3: temp files left after the next build: $(short "$jc_left" "$W")"
}

# ---- 2. a read-only output dir ----

ro_judge() {	# what
	if crashed; then
		problem "$1: crashed: $(describe)"
	elif [ "$rc" != 2 ] || ! grep -q '^bulkhead: error: cannot ' "$T/e"; then
		problem "$1: $(describe), expected exit 2 and 'bulkhead: error: cannot ...'"
	fi
	same_tree "$W/out" "$T/pre/out" || problem "$1: out/ changed"
	ro_left=$(temps "$W/out")
	[ -n "$ro_left" ] && problem "$1: temp files left: $(short "$ro_left" "$W")"
	return 0
}

check2() {
	for c2_errno in EACCES EROFS; do
		begin
		restore
		FENV="FAULT_OP=open,mkdir,rename,unlink FAULT_N=1 FAULT_STICKY=1 FAULT_ERRNO=$c2_errno FAULT_DIR=$W/out LD_PRELOAD=$SHIM"
		bh "$W" -q build
		FENV=
		ro_judge "every create in out/ fails with $c2_errno"
		case $c2_errno in
		EACCES) c2_why='Permission denied' c2_id=2a ;;
		*) c2_why='Read-only file system' c2_id=2b ;;
		esac
		grep -q "$c2_why" "$T/e" || problem "the message does not say '$c2_why': $(describe)"
		verdict "$c2_id read-only output dir by the shim ($c2_errno on every open(O_CREAT)/mkdir/rename/unlink in out/): exit 2 with the reason, out/ unchanged"
	done

	begin
	restore
	c2_how=
	if [ "$(id -u)" != 0 ]; then
		chmod -R a-w "$W/out"
		bh "$W" -q build
		chmod -R u+w "$W/out"
		c2_how="chmod -R a-w out"
	elif unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"' sh "$W/out" 2>/dev/null; then
		timeout 60 unshare -m sh -c \
			'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && cd "$3" && exec "$2" -q build' \
			sh "$W/out" "$BULKHEAD" "$W" >"$T/o" 2>"$T/e"
		rc=$?
		c2_how="a read-only bind mount of out/"
	fi
	if [ -n "$c2_how" ]; then
		ro_judge "$c2_how"
		verdict "2c a really read-only output dir ($c2_how): exit 2, out/ unchanged"
	else
		echo "SKIP 2c a really read-only output dir: root without mount namespaces"
	fi
}

# ---- 3. SIGKILL ----

# One lane of random kills in its own tree: $1 lane, $2 kills, $3 seed.
# Writes its findings to $T/lane$1.{a,b,c} and counts to $T/lane$1.n.
kill_lane() {
	kl_k=$T/k$1
	rm -rf "$kl_k"
	cp -Rp "$T/pre" "$kl_k"
	: >"$T/lane$1.a"
	: >"$T/lane$1.b"
	: >"$T/lane$1.c"
	kl_i=0 kl_fin=0 kl_killed=0 kl_stale=0 kl_out=0 kl_cache=0
	for kl_d in $(awk -v seed="$3" -v n="$2" -v max="$maxms" \
		'BEGIN { srand(seed); for (i = 0; i < n; i++) printf "%.3f\n", int(rand() * (max + 1)) / 1000 }'); do
		kl_i=$((kl_i + 1))
		kl_s=A
		[ $((kl_i % 2)) = 1 ] && kl_s=B
		kl_what="lane $1 kill $kl_i after ${kl_d}s (to $kl_s)"
		set_state "$kl_k" "$kl_s"
		env -C "$kl_k" "$BULKHEAD" -q build >/dev/null 2>"$T/lane$1.e" &
		kl_pid=$!
		sleep "$kl_d"
		kill -9 "$kl_pid" 2>/dev/null
		{ wait "$kl_pid"; } 2>/dev/null
		kl_rc=$?
		case $kl_rc in
		0) kl_fin=$((kl_fin + 1)) ;;
		137) kl_killed=$((kl_killed + 1)) ;;
		*) echo "$kl_what: exit $kl_rc: $(head -n 2 "$T/lane$1.e" | tr '\n' ' ')" >>"$T/lane$1.a" ;;
		esac
		if [ "$kl_rc" = 137 ]; then
			manifest_verify "$kl_k/out" "lane$1" >"$T/lane$1.mv"
			grep -q '^missing ' "$T/lane$1.mv" &&
				echo "$kl_what: manifest.json names missing $(grep '^missing ' "$T/lane$1.mv" | cut -d' ' -f2 | head -n 3 | tr '\n' ' ')" >>"$T/lane$1.c"
			grep -q '^changed ' "$T/lane$1.mv" && kl_stale=$((kl_stale + 1))
			timeout 60 env -C "$kl_k" "$BULKHEAD" -q build --check >/dev/null 2>"$T/lane$1.e"
			kl_rc=$?
			if [ "$kl_rc" != 0 ] && [ "$kl_rc" != 1 ]; then
				echo "$kl_what: build --check: exit $kl_rc: $(head -n 2 "$T/lane$1.e" | tr '\n' ' ')" >>"$T/lane$1.a"
			fi
		fi
		timeout 60 env -C "$kl_k" "$BULKHEAD" -q build >/dev/null 2>"$T/lane$1.e"
		kl_rc=$?
		[ "$kl_rc" = 0 ] ||
			echo "$kl_what: the next build: exit $kl_rc: $(head -n 2 "$T/lane$1.e" | tr '\n' ' ')" >>"$T/lane$1.a"
		kl_left=$(temps "$kl_k")
		if [ -n "$kl_left" ]; then
			case $kl_left in *"$kl_k/out/"*) kl_out=$((kl_out + 1)) ;; esac
			case $kl_left in *"$kl_k/.bulkhead/"*) kl_cache=$((kl_cache + 1)) ;; esac
			echo "$kl_what: left after the next build: $(short "$kl_left" "$kl_k")" >>"$T/lane$1.b"
			echo "$kl_left" | while read -r kl_f; do rm -f "$kl_f"; done
		fi
		if ! same_tree "$kl_k/out" "$T/ref$kl_s/out"; then
			echo "$kl_what: out/ after the next build is not a clean build's" >>"$T/lane$1.a"
			rm -rf "$kl_k/out"
			cp -Rp "$T/ref$kl_s/out" "$kl_k/out"
		fi
	done
	echo "$kl_fin $kl_killed $kl_stale $kl_out $kl_cache" >"$T/lane$1.n"
}

check3() {
	begin
	c3_kills=${FAULT_KILLS:-200}
	# Kills land in the first 50 ms, or over the whole build when the
	# binary is slower than that (ASan): 1.5 times one build's time.
	restore
	c3_t0=$(date +%s%N)
	bh "$W" -q build
	c3_t1=$(date +%s%N)
	c3_ms=50
	case $c3_t0$c3_t1 in *[!0-9]*) ;; *) c3_ms=$(((c3_t1 - c3_t0) * 3 / 2 / 1000000)) ;; esac
	[ "$c3_ms" -lt 50 ] && c3_ms=50
	maxms=${FAULT_KILL_MAX_MS:-$c3_ms}
	c3_seed=${FAULT_SEED:-$(date +%s)}
	# Two lanes, each in its own tree, side by side.
	kill_lane 1 $(((c3_kills + 1) / 2)) "$c3_seed" &
	c3_p1=$!
	kill_lane 2 $((c3_kills / 2)) $((c3_seed + 1)) &
	c3_p2=$!
	wait "$c3_p1"
	wait "$c3_p2"
	set -- $(cat "$T/lane1.n" 2>/dev/null || echo 0 0 0 0 0) $(cat "$T/lane2.n" 2>/dev/null || echo 0 0 0 0 0)
	c3_fin=$(($1 + $6)) c3_killed=$(($2 + $7)) c3_stale=$(($3 + $8)) c3_out=$(($4 + $9))
	c3_cache=$(($5 + ${10}))
	cat "$T/lane1.a" "$T/lane2.a" >"$PROB"
	verdict "3a SIGKILL after 0-$maxms ms, $c3_kills builds alternating A/B (seed $c3_seed; $c3_killed killed, $c3_fin done first, $c3_stale left manifest.json with stale hashes): build --check never exits 2, the next build equals a clean build"
	t_begin=$(date +%s)
	cat "$T/lane1.b" "$T/lane2.b" >"$PROB"
	verdict "3b no temp files outlive a killed build and the build after it ($c3_out kills left some in out/, $c3_cache in .bulkhead/cache/)"
	cat "$T/lane1.c" "$T/lane2.c" >"$PROB"
	verdict "3c after SIGKILL manifest.json never names a missing file"

	# 3d: SIGKILL (sent by the shim) just before each file call.
	begin
	dry_run write,rename,open,mkdir,unlink "$W"
	c3_count=$(grep -c -v ' end ' "$log")
	kill_at_calls "$W" $(seq 1 "$c3_count")
	verdict "3d SIGKILL just before each of the $c3_count file calls of a build: manifest.json names no missing file, --check works, the next build completes, no temp files left"

	# 3e: the same for a first build, which stages its files.
	begin
	COLD=1
	dry_run write,rename,open,mkdir,unlink "$W/out"
	c3_count=$(grep -c -v ' end ' "$log")
	# shellcheck disable=SC2046 # one call number per word
	set -- $(cold_calls "$c3_count")
	kill_at_calls "$W/out" "$@"
	COLD=
	verdict "3e SIGKILL just before $# of the $c3_count file calls in out/ of a first build (no out/): manifest.json names no missing file, --check works, the next build completes, no temp files or staging folder left"
}

# kill_at_calls DIR N...: for each N, a build (from restore) killed just
# before its Nth file call under DIR; then manifest.json must name no
# missing file, --check must work, and the next build must complete
# with a clean build's out/ and no temp files.
kill_at_calls() {
	ka_dir=$1
	shift
	for ka_n in "$@"; do
		restore
		rm -f "$log"
		FENV="FAULT_OP=write,rename,open,mkdir,unlink FAULT_N=$ka_n FAULT_ACTION=kill FAULT_DIR=$ka_dir FAULT_LOG=$log LD_PRELOAD=$SHIM"
		bh "$W" -q build
		FENV=
		ka_what="kill before #$ka_n, $(failed_call | sed "s|$W/||")"
		[ "$rc" = 137 ] || problem "$ka_what: exit $rc, expected 137"
		manifest_verify "$W/out" >"$T/mv"
		grep -q '^missing ' "$T/mv" &&
			problem "$ka_what: manifest.json names missing $(grep '^missing ' "$T/mv" | cut -d' ' -f2 | head -n 3 | tr '\n' ' ')"
		bh "$W" -q build --check
		[ "$rc" = 0 ] || [ "$rc" = 1 ] || problem "$ka_what: build --check: $(describe)"
		bh "$W" -q build
		[ "$rc" = 0 ] || problem "$ka_what: the next build: $(describe)"
		same_tree "$W/out" "$T/refB/out" || problem "$ka_what: out/ after the next build is not a clean build's"
		ka_left=$(temps "$W")
		[ -n "$ka_left" ] && problem "$ka_what: temp files left after the next build: $(short "$ka_left" "$W")"
	done
}

# ---- 4. allocation failure ----

judge_oom() {	# what, ok0 (1: a clean exit 0 with the complete build is fine too)
	if crashed; then
		problem "$1: crashed: $(describe)"
		return
	fi
	if [ "$2" = 1 ] && [ "$rc" = 0 ]; then
		same_tree "$W/out" "$T/refB/out" || problem "$1: exit 0 but out/ is not the complete build"
	elif [ "$rc" != 2 ] || ! grep -q '^bulkhead: fatal: out of memory$' "$T/e"; then
		problem "$1: $(describe), expected exit 2 and 'bulkhead: fatal: out of memory'"
	fi
	jo_left=$(temps "$W")
	[ -n "$jo_left" ] && problem "$1: temp files left: $(short "$jo_left" "$W")"
	if ! same_tree "$W/out" "$T/pre/out" && ! same_tree "$W/out" "$T/refB/out"; then
		manifest_verify "$W/out" >"$T/mv"
		problem "$1: out/ is neither the old build nor the new one: $(diff -rq -x '*.bulkhead-tmp' -x '*.tmp' -x '*.tmp-*' "$T/pre/out" "$W/out" 2>&1 | sed "s|$T/||g" | head -n 2 | tr '\n' ' ')(manifest.json: $(grep -c '^missing' "$T/mv") files missing, $(grep -c '^changed' "$T/mv") changed)"
	fi
}

check4() {
	# Where the build writes, in allocations: from its first temp file to
	# manifest.json's rename.  On one thread (-j 1): with workers, how
	# many chunks each one's arena takes depends on how the items fell,
	# so call N is not the same allocation from one run to the next
	# (4c covers failures on the workers).
	begin
	dry_run open,rename "$W/out" "-j 1"
	c4_mtotal=$(sed -n 's/^0 end - m=\([0-9]*\) .*/\1/p' "$log" | tail -n 1)
	c4_xtotal=$(sed -n 's/^0 end - m=[0-9]* x=\([0-9]*\)$/\1/p' "$log" | tail -n 1)
	c4_first=$(sed -n 's/^[1-9][0-9]* .* m=\([0-9]*\) x=.*/\1/p' "$log" | head -n 1)
	c4_last=$(sed -n 's/^[1-9][0-9]* .* m=\([0-9]*\) x=.*/\1/p' "$log" | tail -n 1)
	: "${c4_mtotal:=0}" "${c4_xtotal:=0}" "${c4_first:=0}" "${c4_last:=0}"
	c4_runs=0
	if [ "$c4_mtotal" -lt 1 ]; then
		problem "the dry run counted no allocations"
	else
		{
			awk -v t="$c4_mtotal" 'BEGIN { for (i = 0; i < 30; i++) print 1 + int(i * (t - 1) / 29) }'
			# the write phase, every allocation or 40 of them
			awk -v a="$((c4_first - 2))" -v b="$((c4_last + 2))" \
				'BEGIN { s = int((b - a) / 40) + 1; for (i = a; i <= b; i += s) if (i > 0) print i }'
		} | sort -n -u >"$T/ns"
		while read -r c4_n; do
			restore
			FENV="FAULT_OP=malloc FAULT_N=$c4_n LD_PRELOAD=$SHIM"
			bh "$W" -j 1 -q build
			FENV=
			c4_runs=$((c4_runs + 1))
			judge_oom "malloc #$c4_n of $c4_mtotal" 0
		done <"$T/ns"
	fi
	verdict "4a malloc/calloc/realloc called by bulkhead returns NULL at call N ($c4_runs runs over $c4_mtotal calls, $c4_first..$c4_last being the write phase): exit 2 with 'fatal: out of memory', no crash, no temp files, out/ the old or the complete build"

	begin
	c4_runs=0
	for c4_n in $(awk -v t="$c4_xtotal" 'BEGIN { for (i = 0; i < 30 && t > 0; i++) print 1 + int(i * (t - 1) / 29) }' | sort -n -u); do
		restore
		FENV="FAULT_OP=xalloc FAULT_N=$c4_n LD_PRELOAD=$SHIM"
		bh "$W" build
		FENV=
		c4_runs=$((c4_runs + 1))
		judge_oom "strdup/strndup/realpath #$c4_n of $c4_xtotal" 1
	done
	verdict "4b strdup/strndup/realpath(p, NULL) called by bulkhead return NULL at call N ($c4_runs runs over $c4_xtotal calls): exit 2 with 'out of memory' or a correct build, no crash, out/ the old or the complete build"

	# The same on three threads: a worker that runs out of memory (while
	# parsing, rendering or comparing) ends the process before the write
	# phase.  The counts vary a little from run to run, so a run whose
	# call N never came may build correctly.
	begin
	dry_run open,rename "$W/out" "-j 3"
	c4_jtotal=$(sed -n 's/^0 end - m=\([0-9]*\) .*/\1/p' "$log" | tail -n 1)
	c4_runs=0
	for c4_n in $(awk -v t="${c4_jtotal:-0}" 'BEGIN { for (i = 0; i < 40 && t > 0; i++) print 1 + int(i * (t - 1) / 39) }' | sort -n -u); do
		restore
		FENV="FAULT_OP=malloc FAULT_N=$c4_n LD_PRELOAD=$SHIM"
		bh "$W" -j 3 -q build
		FENV=
		c4_runs=$((c4_runs + 1))
		judge_oom "malloc #$c4_n of about $c4_jtotal with -j 3" 1
	done
	[ "$c4_runs" -gt 0 ] || problem "the dry run with -j 3 counted no allocations"
	verdict "4c malloc/calloc/realloc returns NULL at call N with -j 3 ($c4_runs runs over about ${c4_jtotal:-0} calls): exit 2 with 'fatal: out of memory' or a correct build, no crash, no temp files, out/ the old or the complete build"
}

# ---- 5. concurrent builds ----

check5() {
	begin
	c5_round=0
	for c5_mode in two two two two two two two two two two two two fresh3 fresh3 fresh3 fresh3; do
		restore
		c5_k=2
		if [ "$c5_mode" = fresh3 ]; then
			rm -rf "$W/out" "$W/.bulkhead/cache"
			c5_k=3
		fi
		c5_j=1
		while [ "$c5_j" -le "$c5_k" ]; do
			timeout 60 env -C "$W" "$BULKHEAD" -q build >"$T/c$c5_j.o" 2>"$T/c$c5_j.e" &
			eval "c5_pid$c5_j=\$!"
			c5_j=$((c5_j + 1))
		done
		c5_j=1
		while [ "$c5_j" -le "$c5_k" ]; do
			eval "wait \$c5_pid$c5_j"
			c5_rc=$?
			[ "$c5_rc" = 0 ] || problem "round $c5_round ($c5_mode): build $c5_j of $c5_k: exit $c5_rc: $(head -n 2 "$T/c$c5_j.e" | tr '\n' ' ')"
			grep -Eq 'Sanitizer|runtime error:' "$T/c$c5_j.e" && problem "round $c5_round: sanitizer report"
			c5_j=$((c5_j + 1))
		done
		same_tree "$W/out" "$T/refB/out" || problem "round $c5_round ($c5_mode): out/ is not a clean build's"
		c5_left=$(temps "$W")
		[ -n "$c5_left" ] && problem "round $c5_round ($c5_mode): temp files left: $(short "$c5_left" "$W")"
		c5_round=$((c5_round + 1))
	done
	verdict "5a concurrent builds of one repo into one output dir ($c5_round rounds: 12 x two builds over an old out/, 4 x three builds and no out/): all exit 0, out/ equals a clean build, no temp files"

	# 5b: build --env dev and build --env stage at once (state C changes
	# both).  The first holds the lock a while (the shim sleeps after its
	# flock) and the second starts meanwhile.  Whatever the order, the
	# result must be the full build of C, with a manifest that matches.
	begin
	for c5_r in 1 2 3; do
		restore
		set_state "$W" C
		rm -f "$log"
		timeout 60 env -C "$W" FAULT_OP=flock FAULT_N=1 FAULT_ACTION=sleep FAULT_SLEEP_MS=700 \
			FAULT_DIR="$W/out" FAULT_LOG="$log" LD_PRELOAD="$SHIM" "$BULKHEAD" -q build --env dev \
			>"$T/c1.o" 2>"$T/c1.e" &
		c5_p1=$!
		c5_w=0
		while ! grep -q flock "$log" 2>/dev/null && [ "$c5_w" -lt 500 ]; do
			sleep 0.01
			c5_w=$((c5_w + 1))
		done
		bh "$W" -q build --env stage
		wait "$c5_p1"
		c5_rc=$?
		[ "$c5_rc" = 0 ] || problem "round $c5_r: build --env dev: exit $c5_rc: $(head -n 2 "$T/c1.e" | tr '\n' ' ')"
		[ "$rc" = 0 ] || problem "round $c5_r: build --env stage: $(describe)"
		manifest_verify "$W/out" >"$T/mv"
		[ -s "$T/mv" ] &&
			problem "round $c5_r: manifest.json does not match the files ($(grep -c . "$T/mv")): $(head -n 4 "$T/mv" | sed 's|^\([a-z]*\) \([a-z-]*\)/[0-9]*/[a-z0-9-]*/\(.*\)$|\1 \2/\3|' | tr '\n' ' ')"
		same_tree "$W/out" "$T/refC/out" || problem "round $c5_r: out/ is not a clean build's of both changes"
	done
	verdict "5b build --env dev and build --env stage at once into one output dir: manifest.json matches the files, out/ equals a clean build"
}

wanted 1 && check1
wanted 2 && check2
wanted 3 && check3
wanted 4 && check4
wanted 5 && check5

echo "fault: $npass passed, $nfail failed ($(($(date +%s) - started)) s)"
[ "$nfail" = 0 ]
