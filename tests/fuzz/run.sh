#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make fuzz [SEED=N] [DURATION=120s|30m|2h] [PROG=FILE]: the fuzzer
# (tests/fuzz.c) on the debug lane's kernel (KASAN, lockdep, KCOV), then
# where its coverage stands: the share of mkvm's KCOV sites it reached, and
# per function the sites it did not reach, most first. A finding fails the
# run and prints the programs the executors were running; PROG=FILE (those
# lines, or a tests/fuzz/regress/ file) replays them over and over for
# DURATION instead of fuzzing.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
seed=${SEED:-}
dur=${DURATION:-120s}
case "$dur" in
*h) secs=$(( ${dur%h} * 3600 )) ;;
*m) secs=$(( ${dur%m} * 60 )) ;;
*s) secs=${dur%s} ;;
*) secs=$dur ;;
esac
out=${MKVM_OUT:-/tmp/mkvm-fuzz}
log=$out/fuzz.log
mkdir -p "$out"

# The guest takes programs as one word: ',' for newlines, ':' for blanks.
prog=
if [ -n "${PROG:-}" ]; then
	prog=$(grep -E '^[# ]*(executor [0-9]+|[0-9]+ +[a-z_]+( +(0x[0-9a-f]+|0)){6} *$)' "$PROG" |
		sed -e 's/^[# ]*//' -e 's/ *$//' -e 's/  */:/g' | paste -sd, -)
	[ -n "$prog" ] || { echo "$PROG: no program in it" >&2; exit 2; }
fi

rc=0
MKVM_OUT=$out MKVM_FUZZ_SECONDS=$secs MKVM_TEST_TIMEOUT=$((secs + 600)) \
MKVM_TIMEOUT=$((secs + 900)) \
MKVM_GUEST_ENV="MKVM_FUZZ_PRINT_COVER=1${seed:+ MKVM_FUZZ_SEED=$seed}${prog:+ MKVM_FUZZ_PROG=$prog}" \
	"$top/tests/vm/run.sh" --kernel debug --tests fuzz --name fuzz 2>&1 | tee "$log" || rc=$?
[ "${PIPESTATUS[0]}" = 0 ] || rc=1

# Coverage by function: the sites (return addresses of the KCOV calls in
# .text, as KCOV reports them) against the covered offsets the guest printed.
ko=$out/debug/module-test/mkvm.ko
if [ -f "$ko" ]; then
	grep -o '# covered:.*' "$log" | sed 's/^# covered://' | tr ' ' '\n' |
		sed '/^$/d' | sort -u >"$out/covered.txt" || true
	# The reloc's offset is the call's operand: the call returns 4 later.
	objdump -dr -j .text "$ko" | awk '
		function hex(s,	i, v) {
			v = 0
			for (i = 1; i <= length(s); i++)
				v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v
		}
		/^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn) }
		/R_[A-Z0-9_]+[ \t]+__sanitizer_cov_trace_pc/ {
			printf "%#x %s\n", hex(substr($1, 1, length($1) - 1)) + 4, fn
		}' >"$out/sites.txt" 2>/dev/null || true
	if [ -s "$out/sites.txt" ]; then
		total=$(wc -l <"$out/sites.txt")
		hit=$(awk 'NR == FNR { c[$1] = 1; next } ($1 in c)' "$out/covered.txt" \
			"$out/sites.txt" | wc -l)
		echo "=== coverage: $((hit * 100 / total))% of mkvm's KCOV sites ($hit of $total) ==="
		echo "=== not reached, by function (sites not reached / sites) ==="
		awk 'NR == FNR { c[$1] = 1; next }
		     { n[$2]++; if (!($1 in c)) m[$2]++ }
		     END { for (f in m) printf "%5d / %-5d %s\n", m[f], n[f], f }' \
			"$out/covered.txt" "$out/sites.txt" | sort -rn | sed -n 1,40p
	fi
fi
exit $rc
