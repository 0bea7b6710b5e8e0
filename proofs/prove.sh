#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make prove: the proofs of docs/proofs.md, as TAP.
#
#  1. check-barriers.sh: every ordering claim in the source names its
#     litmus test, and every litmus test has a claim and a twin; and
#     check-correspondence.sh: every step docs/proofs.md maps from a model
#     to the source is still in both.
#  2. Every litmus test in proofs/litmus/ through herd7 with the kernel's
#     own memory model (tools/memory-model of linux-source-6.1). Each test
#     says what herd7 must answer ("Expect: Never", "Sometimes" or
#     "Always" in its comment); a twin with the barriers taken out must
#     say "Sometimes", so that the proof can fail. herdtools7 is packaged
#     in sid, not in bookworm: herd7 runs in the sid chroot the sid lane
#     builds.
#  3. Every Promela model in proofs/spin/ through spin, an exhaustive
#     search, once per variant its "Runs:" line lists: mkvm's must pass
#     (no assertion violated, no invalid end state, the whole state space
#     searched); each bug's variant must fail, and its counterexample trail
#     is kept (under $MKVM_OUT/proofs, default /tmp/mkvm-check/proofs).
#
# The last line is "N passed, N failed".
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${MKVM_OUT:-/tmp/mkvm-check}/proofs
"$top/tests/vm/deps.sh" chroot proofs >&2
rm -rf "$out"
mkdir -p "$out"

n=0 fail=0
echo "TAP version 13"
pass() { n=$((n + 1)); echo "ok $n $*"; }
flunk() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $*"; }

# 1. The claims and their names.
if "$top/proofs/check-barriers.sh" >"$out/check-barriers.log" 2>&1; then
	pass "every ordering claim names its litmus test ($(tail -n1 "$out/check-barriers.log"))"
else
	flunk "ordering claims without a proof:"
	sed 's/^/# /' "$out/check-barriers.log"
fi
if "$top/proofs/check-correspondence.sh" >"$out/check-correspondence.log" 2>&1; then
	pass "docs/proofs.md's model-to-source tables match both ($(tail -n1 "$out/check-correspondence.log"))"
else
	flunk "docs/proofs.md's model-to-source tables have drifted:"
	sed 's/^/# /' "$out/check-correspondence.log"
fi

# 2. The litmus tests.
ch=$("$top/tests/kernels/chroot.sh" sid)
if ! chroot "$ch" sh -c 'command -v herd7' >/dev/null 2>&1; then
	echo "prove: installing herdtools7 in the sid chroot" >&2
	# The chroot's package lists are the debootstrap's; the archive here
	# can be a snapshot whose Release has expired: do not insist.
	chroot "$ch" sh -c 'export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq --no-install-recommends herdtools7 ||
		{ apt-get update -qq -o Acquire::Check-Valid-Until=false &&
		  apt-get install -y -qq --no-install-recommends herdtools7; }' >&2
fi
work=$ch/tmp/mkvm-prove
rm -rf "$work"
mkdir -p "$work"
tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$work" --strip-components=2 \
	linux-source-6.1/tools/memory-model
cp "$top"/proofs/litmus/*.litmus "$work/"
for f in "$top"/proofs/litmus/*.litmus; do
	name=${f##*/}
	expect=$(sed -n 's/^ \* Expect: \([A-Za-z]*\)$/\1/p' "$f")
	got=$(chroot "$ch" sh -c "cd /tmp/mkvm-prove/memory-model &&
		herd7 -conf linux-kernel.cfg ../$name" 2>&1 |
	      sed -n 's/^Observation [^ ]* \([A-Za-z]*\) .*/\1/p')
	if [ -n "$expect" ] && [ "$got" = "$expect" ]; then
		pass "$name: $got"
	else
		flunk "$name: herd7 says '${got:-nothing}', the test expects '${expect:-(no Expect: line)}'"
	fi
done

# 3. The models. pan's exit status says nothing: read its report.
for f in "$top"/proofs/spin/*.pml; do
	model=$(basename "$f" .pml)
	# The Runs: line and its continuation lines, up to a bare " *".
	runs=$(sed -n '/^ \* Runs: /,/^ \*$/p' "$f" | sed 's/^ \* *//; s/^Runs: //')
	[ -n "$runs" ] || { flunk "$model: no Runs: line"; continue; }
	for run in $runs; do
		# VARIANT=pass, or VARIANT=fail:EXPR with the assertion (as pan
		# prints it, without spaces) that the bug must violate.
		variant=${run%%=*} expect=${run#*=} want=""
		case "$expect" in fail:*) want=${expect#fail:} expect=fail ;; esac
		def=() && [ "$variant" = mkvm ] || def=("-D$variant")
		dir=$out/$model-$variant
		mkdir -p "$dir"
		cp "$f" "$dir/"
		if ! (cd "$dir" && spin -a "${def[@]}" "$model.pml" &&
		      gcc -O2 -DSAFETY -o pan pan.c) >"$dir/build.log" 2>&1; then
			flunk "$model $variant: the model does not build"
			sed 's/^/# /' "$dir/build.log" | tail -n 5
			continue
		fi
		(cd "$dir" && ./pan -m100000 >report.txt 2>&1) || true
		errors=$(sed -n 's/.*errors: \([0-9]*\)$/\1/p' "$dir/report.txt")
		states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$dir/report.txt")
		why=$(grep -m1 -E 'assertion violated|invalid end state|acceptance cycle' \
			"$dir/report.txt" | sed 's/^pan:[0-9]*: *//' || true)
		violated=$(sed -n 's/^pan:[0-9]*: *assertion violated \(.*\) (at depth [0-9]*)$/\1/p' \
			"$dir/report.txt" | head -n1 | tr -d ' ')
		if [ -z "$errors" ]; then
			flunk "$model $variant: pan gave no verdict"
			sed 's/^/# /' "$dir/report.txt" | tail -n 5
		elif grep -q 'max search depth too small' "$dir/report.txt"; then
			flunk "$model $variant: the search was cut short (depth)"
		elif [ "$expect" = pass ] && [ "$errors" = 0 ]; then
			pass "$model $variant: no violation in $states states (exhaustive)"
		elif [ "$expect" = fail ] && [ "$errors" != 0 ] && [ "$violated" != "$want" ]; then
			flunk "$model $variant: failed, but not on the bug's assertion $want: ${why:-no assertion}"
		elif [ "$expect" = fail ] && [ "$errors" != 0 ]; then
			(cd "$dir" && spin -t -p -g "${def[@]}" "$model.pml") >"$dir/trail.txt" 2>&1 || true
			pass "$model $variant: counterexample, $why ($(grep -c '^ *[0-9]*:' "$dir/trail.txt") steps, trail: $dir/trail.txt)"
		else
			flunk "$model $variant: expected $expect, pan found $errors errors${why:+: $why}"
		fi
	done
done

echo "1..$n"
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
