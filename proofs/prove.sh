#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make prove: every litmus test in proofs/litmus/ through herd7 with the
# kernel's own memory model (tools/memory-model of linux-source-6.1). Each
# test says what herd7 must answer ("Expect: Never", "Sometimes" or
# "Always" in its comment); a twin with the barriers taken out must say
# "Sometimes", so that the proof can fail. herdtools7 is packaged in sid,
# not in bookworm: herd7 runs in the sid chroot the sid lane builds.
# Output is TAP; the last line is "N passed, N failed".
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tests/vm/deps.sh" chroot >&2
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

n=0 fail=0
echo "TAP version 13"
for f in "$top"/proofs/litmus/*.litmus; do
	name=${f##*/}
	n=$((n + 1))
	expect=$(sed -n 's/^ \* Expect: \([A-Za-z]*\)$/\1/p' "$f")
	got=$(chroot "$ch" sh -c "cd /tmp/mkvm-prove/memory-model &&
		herd7 -conf linux-kernel.cfg ../$name" 2>&1 |
	      sed -n 's/^Observation [^ ]* \([A-Za-z]*\) .*/\1/p')
	if [ -n "$expect" ] && [ "$got" = "$expect" ]; then
		echo "ok $n $name: $got"
	else
		echo "not ok $n $name: herd7 says '${got:-nothing}', the test expects '${expect:-(no Expect: line)}'"
		fail=$((fail + 1))
	fi
done
echo "1..$n"
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
