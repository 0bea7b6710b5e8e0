#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: for each lane, the suite in QEMU, then the harness's own
# tests: each fault trigger the lane must catch (LANE_MUST_CATCH) is fired
# in a guest of its own, and that run must fail with the matching report.
#
#   check.sh [--tests "..."] [--extra DIR] LANE...
#
# Prints a summary per lane and, last, the total "N passed, N failed".
# Exits non-zero if anything failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
tests="" extra=""
while [ $# -gt 0 ]; do
	case "$1" in
	--tests) tests=$2; shift 2 ;;
	--extra) extra=$2; shift 2 ;;
	*) break ;;
	esac
done
lanes=${*:-stock debug}
logs=${MKVM_OUT:-/tmp/mkvm-check}
mkdir -p "$logs"

# What each trigger's failed run must show.
declare -A expect=(
	[warn]='WARNING: .*mkvm: test trigger: deliberate warning|test trigger: deliberate warning'
	[kasan_uaf]='BUG: KASAN: .*use-after-free'
	[lock_inversion]='WARNING: possible circular locking dependency detected'
	[leak]='unreferenced object'
	[fail_exit]='^not ok [0-9]+ fail_exit$'
	[taint_only]='taint_only: new taint'
	[leak_count]='objects left after exit'
	[early_exit]='no success sentinel from the guest'
	[console_only_splat]='kernel splat in the console log'
	[quiet_kmsg_splat]='^not ok [0-9]+ quiet_kmsg_splat: kernel splat'
)

total_pass=0 total_fail=0 total_skip=0

# A seed reproducer must fail when the fix it guards is built out.
declare -A revert_expect=(
	[000]='not ok [0-9]+ seed000|double-free|KASAN|Bad page|BUG:'
	[001]='not ok [0-9]+ seed001|KASAN'
	[003]='not ok [0-9]+ seed003|NULL pointer|Oops|KASAN'
)
selftest_revert() {
	local lane=$1 seed=$2 log=$logs/$1-selftest-revert_$2.log rc=0
	echo "=== lane $lane: seed $seed's reproducer must fail without its fix ==="
	# A build directory of its own: the lane's test module stays intact.
	MKVM_OUT=$logs/alt MKVM_REVERT=$seed "$top/tests/vm/run.sh" --kernel "$lane" --tests seeds \
		--name "selftest-revert_$seed" >"$log" 2>&1 || rc=$?
	if [ $rc -ne 0 ] && grep -qE "${revert_expect[$seed]}" "$log"; then
		echo "ok - seed $seed's reproducer fails with the fix reverted (as it must)"
		pass=$((pass + 1))
	else
		echo "not ok - seed $seed's reproducer passed with the fix reverted, log: $log"
		tail -n 20 "$log"
		fail=$((fail + 1))
	fi
}

# A build that uses an API this lane's kernel lacks must fail the lane.
selftest_build_break() {
	local lane=$1 log=$logs/$1-selftest-build_break.log rc=0
	echo "=== lane $lane: the harness must catch a kernel-specific build break ==="
	MKVM_OUT=$logs/alt MKVM_SELFTEST_BREAK=1 "$top/tests/vm/run.sh" --kernel "$lane" --tests none \
		--name selftest-build_break >"$log" 2>&1 || rc=$?
	if [ $rc -ne 0 ] && grep -q 'module build failed' "$log"; then
		echo "ok - a kernel-specific build break fails the lane (as it must)"
		pass=$((pass + 1))
	else
		echo "not ok - a kernel-specific build break did not fail the lane, log: $log"
		tail -n 20 "$log"
		fail=$((fail + 1))
	fi
}
summary=()

# Host-side, before any lane: the install step (so checkpatch's source is
# there) and the style check.
deps=""
for lane in $lanes; do
	# shellcheck source=/dev/null
	deps="$deps $(. "$top/tests/kernels/$lane.lane" && echo "$LANE_DEPS")"
done
# shellcheck disable=SC2086
"$top/tests/vm/deps.sh" $deps || exit 1
# Lanes whose kernel takes long to get (a kernel build, a debootstrap, a
# download) start getting it now, in the background, while earlier lanes
# run: their scripts lock and cache, so lane_prepare later just waits for
# or reuses the result.
for lane in $lanes; do
	(
		# shellcheck source=/dev/null
		. "$top/tests/kernels/$lane.lane"
		if declare -F lane_prefetch >/dev/null; then
			lane_prefetch >"$logs/$lane-prefetch.log" 2>&1
		fi
	) &
done

if "$top/tests/checkpatch.sh"; then
	echo "ok - checkpatch --strict clean on src/ and include/"
	total_pass=1
else
	echo "not ok - checkpatch --strict on src/ and include/"
	total_fail=1
fi

for lane in $lanes; do
	start=$(date +%s)
	pass=0 fail=0 skip=0
	echo "=== lane $lane: suite ==="
	"$top/tests/vm/run.sh" --kernel "$lane" --tests "$tests" ${extra:+--extra "$extra"} \
		2>&1 | tee "$logs/$lane-suite.log"
	rc=${PIPESTATUS[0]}
	line=$(tail -n1 "$logs/$lane-suite.log")
	if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]] && [ "$rc" = 0 ]; then
		pass=${BASH_REMATCH[1]} fail=${BASH_REMATCH[2]} skip=${BASH_REMATCH[3]}
	else
		[[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]] &&
			pass=${BASH_REMATCH[1]} fail=${BASH_REMATCH[2]} skip=${BASH_REMATCH[3]}
		[ "$fail" -gt 0 ] || fail=1
	fi

	if [ -z "$tests" ]; then
		# shellcheck source=/dev/null
		must=$(. "$top/tests/kernels/$lane.lane" && echo "$LANE_MUST_CATCH")
		for trig in $must; do
			case "$trig" in
			build_break) selftest_build_break "$lane"; continue ;;
			revert_*) selftest_revert "$lane" "${trig#revert_}"; continue ;;
			esac
			echo "=== lane $lane: the harness must catch '$trig' ==="
			dir=$(mktemp -d)
			cp "$top/tests/vm/triggers/$trig" "$dir/"
			"$top/tests/vm/run.sh" --kernel "$lane" --tests none --extra "$dir" \
				--name "selftest-$trig" --reuse-build >"$logs/$lane-selftest-$trig.log" 2>&1
			rc=$?
			rm -rf "$dir"
			if [ $rc -ne 0 ] && grep -qE "${expect[$trig]}" "$logs/$lane-selftest-$trig.log"; then
				echo "ok - harness fails the run on '$trig' (as it must)"
				pass=$((pass + 1))
			else
				echo "not ok - harness did not fail on '$trig' (exit $rc), log: $logs/$lane-selftest-$trig.log"
				tail -n 20 "$logs/$lane-selftest-$trig.log"
				fail=$((fail + 1))
			fi
		done
	fi
	summary+=("lane $lane: $pass passed, $fail failed, $skip skipped in $(( $(date +%s) - start ))s")
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
done

wait
echo "=== summary ==="
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
