#!/bin/sh
# Adversarial speed: each hostile file of about 1 MiB must be rejected
# (exit 2) in under a second; so must the large but valid files after
# them, each read by key once per key (by index, not by a scan of the
# map), finish with their expected status.  Prints one line per file and
# a verdict.
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
import os, sys
kind, out = sys.argv[1], sys.argv[2]
MiB = 1024 * 1024 - 64
repo = os.path.dirname(os.path.dirname(os.path.dirname(out)))
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
elif kind in ("many-local-reads", "many-diff-lines", "many-explained-lines"):
    # drift defines each input by the local it reads: 18,500 lookups
    # of 18,500 locals, in both envs (the texts differ: no shortcut);
    # diff and show --explain give the file:line of each of 37,000
    # lines of the same files
    n = 18500
    def unit(extra):
        return ('locals:\n' + ''.join('  l%05d: "${env.name}%d"\n' % (i, i) for i in range(n)) +
                'inputs:\n' + ''.join('  i%05d: ${local.l%05d}\n' % (i, n - 1 - i) for i in range(n)) + extra)
    open(os.path.join(repo, 'prod/app/unit.yaml'), 'w').write(unit('  only_in_prod: 1\n'))
    text = unit('')
elif kind == "one-cidr-everywhere":
    # 12,000 units of dev pass dev's VPC CIDR on (no finding: one env)
    # and prod's is another: overlaps are swept, not compared pairwise
    for i in range(12000):
        d = os.path.join(repo, 'dev/s%03d/u%05d' % (i // 100, i))
        os.makedirs(d)
        open(os.path.join(d, 'unit.yaml'), 'w').write('inputs: {vpc_cidr: 10.0.0.0/16}\n')
    open(os.path.join(repo, 'prod/app/unit.yaml'), 'w').write('inputs: {vpc_cidr: 10.1.0.0/16}\n')
    text = 'inputs: {vpc_cidr: 10.0.0.0/16}\n'
elif kind == "many-mock-reads":
    # every mock output of a dependency read once, the same in both envs
    n = 15000
    text = ('dependencies:\n  lib:\n    path: lib\n    mock_outputs:\n' +
            ''.join('      o%05d: %d\n' % (i, i) for i in range(n)) +
            'inputs:\n' + ''.join('  i%05d: ${dependency.lib.outputs.o%05d}\n' % (i, n - 1 - i) for i in range(n)))
    for env in ('dev', 'prod'):
        os.makedirs(os.path.join(repo, env, 'lib'))
        open(os.path.join(repo, env, 'lib/unit.yaml'), 'w').write('inputs: {a: 1}\n')
    open(os.path.join(repo, 'prod/app/unit.yaml'), 'w').write(text)
data = text.encode()
if len(data) > 1024 * 1024:
    data = data[:1024 * 1024 - 1] + b'\n'
open(out, 'wb').write(data)
PY
}
for kind in alias-bomb deep-nesting many-keys long-expression deep-expression string-growth many-locals \
	    norway-everywhere many-local-reads many-diff-lines many-explained-lines many-mock-reads \
	    one-cidr-everywhere; do
	# command and expected exit status: rejected, or for the valid
	# ones, drift's and diff's one error (a key only in prod), or a
	# clean run; validate of one-cidr-everywhere finds 12,000 units not
	# promoted (notes) and prod/app's CIDR differing (a drift)
	case $kind in
	many-local-reads) set -- drift; want=1 ;;
	many-diff-lines) set -- diff dev prod; want=1 ;;
	many-explained-lines) set -- show app --env prod --explain; want=0 ;;
	many-mock-reads) set -- validate; want=0 ;;
	one-cidr-everywhere) set -- validate; want=1 ;;
	*) set -- validate; want=2 ;;
	esac
	mkrepo
	gen "$kind"
	start=$(date +%s%N)
	"$BIN" -C "$TMP/r" "$@" >/dev/null 2>&1
	rc=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	verdict=ok
	if [ "$rc" != "$want" ] || [ "$ms" -ge 1000 ]; then verdict=MISS; fails=$((fails + 1)); fi
	printf '%-20s %6d ms  exit %s  %s\n' "$kind" "$ms" "$rc" "$verdict"
done
[ "$fails" = 0 ]
