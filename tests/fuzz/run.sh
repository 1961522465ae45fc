#!/bin/sh
# Builds the libFuzzer harnesses in tests/fuzz/ and runs each for SECONDS.
#
#   sh tests/fuzz/run.sh SECONDS [HARNESS...]     (default: every fuzz_*.c)
#
# Builds with clang -fsanitize=fuzzer,address,undefined into build/fuzz/,
# runs each harness on a writable copy of its seed corpus
# (build/fuzz/corpus-NAME, kept between runs so coverage accumulates; the
# seeds in tests/fuzz/corpus/ are never modified), prints the executions
# and the verdict per harness, and exits 1 when any harness found a crash,
# leak, timeout or out-of-memory; the reproducer is left in
# build/fuzz/NAME-crash-* (or -leak-, -timeout-, -oom-) and the log in
# build/fuzz/NAME.log.  Reproduce with: build/fuzz/NAME build/fuzz/NAME-crash-...
# Without clang's libFuzzer runtime: prints "SKIP: libFuzzer not available"
# and exits 0.
#
# Past findings in tests/fuzz/crashes/NAME-* are added to the corpus copy.
# Environment: CLANG (default clang), FUZZ_JOBS=N runs N harnesses at once
# (default 1), FUZZ_ARGS adds libFuzzer options.
set -u
cd "$(dirname "$0")/../.." || exit 2
secs=${1:?usage: run.sh SECONDS [HARNESS...]}
shift
case $secs in
''|*[!0-9]*) echo "run.sh: SECONDS must be a number" >&2; exit 2 ;;
esac
CLANG=${CLANG:-clang}
jobs=${FUZZ_JOBS:-1}
out=build/fuzz
pkgs="yaml-0.1 libxxhash libpcre2-8 libgit2"

mkdir -p "$out/obj"
probe=$out/probe
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe.c"
if ! command -v "$CLANG" >/dev/null 2>&1 ||
   ! "$CLANG" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" >/dev/null 2>&1; then
	echo "SKIP: libFuzzer not available"
	exit 0
fi
if ! pkg_flags=$(pkg-config --cflags $pkgs) || ! pkg_libs=$(pkg-config --libs $pkgs); then
	echo "run.sh: pkg-config cannot find $pkgs (run make deps)" >&2
	exit 2
fi

if [ $# -gt 0 ]; then
	harnesses=$*
else
	harnesses=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
fi

# ---- build ----
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-std=c11 -g -O1 -fno-omit-frame-pointer $SAN -DARENA_MALLOC \
-iquote compiler -iquote stdlib -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
-DBULKHEAD_VERSION=\"fuzz\" $pkg_flags"
# The library: every compiler/ and stdlib/ source but main.c, and the
# built-in templates make generates (template.c needs them), instrumented
# for coverage, archived so each harness links only what it uses.
if [ ! -f build/gen/templates.c ]; then
	echo "run.sh: build/gen/templates.c is missing (make fuzz makes it)" >&2
	exit 2
fi
lib_src="$(ls compiler/*.c stdlib/*.c | grep -v '^compiler/main\.c$') build/gen/templates.c"
headers=$(ls compiler/*.h stdlib/*.h)
flags_now="$CLANG $CFLAGS"
if [ ! -f "$out/obj/flags" ] || [ "$(cat "$out/obj/flags")" != "$flags_now" ]; then
	rm -f "$out"/obj/*.o
	printf '%s\n' "$flags_now" >"$out/obj/flags"
fi
newest_header=$(ls -t $headers | head -n 1)
stale=
for src in $lib_src; do
	obj=$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ]; then
		stale="$stale $src"
	fi
done
if [ -n "$stale" ]; then
	echo "fuzz: compiling$(echo $stale | wc -w | sed 's/^/ /') sources"
	# A source that does not compile (work in progress elsewhere) is left
	# out with a warning; linking fails if a harness needs it.
	export CLANG CFLAGS out
	# shellcheck disable=SC2086
	printf '%s\n' $stale | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} sh -c '
		obj=$out/obj/$(echo "$1" | tr / _ | sed "s/\.c\$/.o/")
		$CLANG $CFLAGS -fsanitize=fuzzer-no-link -c "$1" -o "$obj" 2>"$obj.err" ||
			{ rm -f "$obj"; echo "fuzz: warning: $1 does not compile, left out:"; head -n 5 "$obj.err"; }
		rm -f "$obj.err"
	' sh {}
fi
objs=
for src in $lib_src; do
	obj=$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')
	[ ! -f "$obj" ] || objs="$objs $obj"
done
rm -f "$out/libbulkhead-fuzz.a"
# shellcheck disable=SC2086
ar rcs "$out/libbulkhead-fuzz.a" $objs || exit 2
for h in $harnesses; do
	[ -f "tests/fuzz/$h.c" ] || { echo "run.sh: no harness tests/fuzz/$h.c" >&2; exit 2; }
	echo "fuzz: linking $h"
	# shellcheck disable=SC2086
	"$CLANG" $CFLAGS -Wall -Wextra -Wno-missing-field-initializers -fsanitize=fuzzer \
		-iquote tests/fuzz "tests/fuzz/$h.c" "$out/libbulkhead-fuzz.a" -o "$out/$h" \
		$pkg_libs -lm -pthread || { echo "fuzz: linking $h failed" >&2; exit 2; }
done

# ---- run ----
run_one() {	# run_one NAME: fuzz, write NAME.log and NAME.result
	h=$1
	corpus=$out/corpus-$h
	mkdir -p "$corpus"
	if [ -d "tests/fuzz/corpus/$h" ]; then
		cp tests/fuzz/corpus/"$h"/* "$corpus"/ 2>/dev/null
	fi
	# Past findings run first as regression inputs.
	for c in tests/fuzz/crashes/"$h"-*; do
		[ ! -f "$c" ] || cp "$c" "$corpus/regression-$(basename "$c")"
	done
	dict=
	case $h in
	fuzz_yaml|fuzz_merge|fuzz_json|fuzz_parse_cache) dict=tests/fuzz/yaml.dict ;;
	fuzz_expr|fuzz_eval) dict=tests/fuzz/expr.dict ;;
	esac
	[ -n "$dict" ] && [ -f "$dict" ] && dict="-dict=$dict" || dict=
	rm -f "$out/$h".result
	# shellcheck disable=SC2086
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$out/$h" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$out/$h-" $dict ${FUZZ_ARGS:-} \
		"$corpus" >"$out/$h.log" 2>&1
	echo $? >"$out/$h.result"
}

# Old reproducers would be mistaken for new findings.
for h in $harnesses; do
	rm -f "$out/$h"-crash-* "$out/$h"-leak-* "$out/$h"-timeout-* "$out/$h"-oom-* \
	      "$out/$h"-slow-unit-*
done
running=0
for h in $harnesses; do
	echo "fuzz: running $h for ${secs}s"
	if [ "$jobs" -gt 1 ]; then
		run_one "$h" &
		running=$((running + 1))
		if [ "$running" -ge "$jobs" ]; then
			wait
			running=0
		fi
	else
		run_one "$h"
	fi
done
wait

status=0
for h in $harnesses; do
	rc=$(cat "$out/$h.result" 2>/dev/null || echo "?")
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$h.log" | tail -n 1)
	# Without the final stats (-fork, or a crash in the seeds): the last
	# progress line "#N ...".
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$out/$h.log" | tail -n 1)
	found=$(ls "$out/$h"-crash-* "$out/$h"-leak-* "$out/$h"-timeout-* "$out/$h"-oom-* 2>/dev/null)
	if [ "$rc" = 0 ] && [ -z "$found" ]; then
		printf '%-12s %12s executions  ok\n' "$h" "${execs:-?}"
	else
		status=1
		printf '%-12s %12s executions  FOUND (exit %s): %s\n' "$h" "${execs:-?}" "$rc" \
			"$(echo ${found:-see $out/$h.log})"
		grep -m 1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|==ERROR' \
			"$out/$h.log" | sed 's/^/    /'
	fi
done
exit $status
