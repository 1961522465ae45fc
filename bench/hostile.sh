#!/bin/sh
# Adversarial speed: each hostile file of about 1 MiB must be rejected
# (exit 2) in under a second.  Prints one line per file and a verdict.
# usage: sh bench/hostile.sh /abs/bin/bulkhead
set -u
BIN=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
fails=0
mkrepo() {
	rm -rf "$TMP/r" && mkdir -p "$TMP/r/dev/app" "$TMP/r/prod/app"
	printf 'version: 1\nproject: acme\nenvironments:\n  dev: { account_id: "111111111111", region: eu-west-1 }\n  prod: { account_id: "333333333333", region: eu-west-1 }\n' >"$TMP/r/bulkhead.yaml"
	echo 'inputs: {a: 1}' >"$TMP/r/prod/app/unit.yaml"
}
gen() {
	python3 - "$1" "$TMP/r/dev/app/unit.yaml" <<'PY'
import sys
kind, out = sys.argv[1], sys.argv[2]
MiB = 1024 * 1024 - 64
if kind == "alias-bomb":
    lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]']
    for i in range(1, 40):
        lines.append('a%d: &a%d [%s]' % (i, i, ', '.join(['*a%d' % (i - 1)] * 10)))
    text = '\n'.join(lines) + '\n'
elif kind == "deep-nesting":
    text = 'inputs: ' + '[' * (MiB // 2 - 10) + ']' * (MiB // 2 - 10) + '\n'
elif kind == "many-keys":
    text = 'inputs:\n' + ''.join('  k%07d: %d\n' % (i, i) for i in range(MiB // 18)) + '  k0000000: dup\n'
elif kind == "long-expression":
    # a flat chain is not nesting: evaluated in a loop, up to the bad last operand
    text = 'inputs:\n  a: "${' + '+'.join(['1'] * (60000 // 2 - 3)) + '+true}"\n'
elif kind == "deep-expression":
    text = 'inputs:\n  a: "${' + '(' * 30000 + '1' + ')' * 30000 + '}"\n'
elif kind == "string-growth":
    lines = ['locals:', '  s0: "xxxxxxxxxxxxxxxx"']
    for i in range(1, 40):
        lines.append('  s%d: "${local.s%d}${local.s%d}"' % (i, i - 1, i - 1))
    text = '\n'.join(lines) + '\ninputs:\n  a: ${local.s39}\n'
elif kind == "many-locals":
    # every local is evaluated, each looked up by name: by hash, not by a scan of the map
    text = 'locals:\n' + ''.join('  l%07d: %d\n' % (i, i) for i in range(MiB // 19)) + '  bad: ${local.nope}\n'
elif kind == "norway-everywhere":
    text = 'inputs:\n' + ''.join('  k%07d: yes\n' % i for i in range(MiB // 16))
data = text.encode()
if len(data) > 1024 * 1024:
    data = data[:1024 * 1024 - 1] + b'\n'
open(out, 'wb').write(data)
PY
}
for kind in alias-bomb deep-nesting many-keys long-expression deep-expression string-growth many-locals norway-everywhere; do
	mkrepo
	gen "$kind"
	start=$(date +%s%N)
	"$BIN" -C "$TMP/r" validate >/dev/null 2>&1
	rc=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	verdict=ok
	if [ "$rc" != 2 ] || [ "$ms" -ge 1000 ]; then verdict=MISS; fails=$((fails + 1)); fi
	printf '%-20s %6d ms  exit %s  %s\n' "$kind" "$ms" "$rc" "$verdict"
done
[ "$fails" = 0 ]
