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

# must_fail NAME WHAT PATTERN [VAR=value...] -- RUN.SH-ARGS...: a run of
# this lane that must fail, with PATTERN in its output. The harness's own
# tests are all of this shape. They skip kmemleak's scan (slow under TCG)
# unless a VAR says otherwise.
must_fail() {
	local name=$1 what=$2 pattern=$3 log=$logs/$lane-selftest-$1.log rc=0
	local envs=(MKVM_KMEMLEAK=0)
	shift 3
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	echo "=== lane $lane: $what ==="
	env "${envs[@]}" "$top/tests/vm/run.sh" --kernel "$lane" --name "selftest-$name" \
		"$@" >"$log" 2>&1 || rc=$?
	if [ $rc -ne 0 ] && grep -qE "$pattern" "$log"; then
		echo "ok - $what (as it must)"
		pass=$((pass + 1))
	else
		echo "not ok - $what: it did not (exit $rc), log: $log"
		tail -n 20 "$log"
		fail=$((fail + 1))
	fi
}

# What a seed reproducer's run shows with the fix built out.
declare -A revert_expect=(
	[000]='not ok [0-9]+ seed000|double-free|KASAN|Bad page|BUG:'
	[001]='not ok [0-9]+ seed001|KASAN'
	[003]='NULL pointer|KASAN: null-ptr-deref'
)

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
			# Reverts and build breaks rebuild the module: in a build
			# directory of their own, so the lane's stays intact.
			case "$trig" in
			build_break)
				must_fail build_break "a kernel-specific build break fails the lane" \
					'module build failed' MKVM_OUT="$logs/alt" MKVM_SELFTEST_BREAK=1 \
					-- --tests none
				;;
			revert_zap)
				must_fail "$trig" "the stale-mapping auditor fires when a zap is skipped" \
					'stale stage-2 entry' MKVM_OUT="$logs/alt" MKVM_REVERT=ZAP \
					-- --tests mmu
				;;
			revert_dirty)
				must_fail "$trig" "a guest write lost to reclaim is caught" \
					'guest write lost: reclaim discarded the page' \
					MKVM_OUT="$logs/alt" MKVM_REVERT=DIRTY -- --tests mmu
				;;
			revert_unbalanced)
				must_fail "$trig" "destroy assuming every start got its end is caught" \
					'WARNING: .*mkvm_notifier_unregister' MKVM_OUT="$logs/alt" \
					MKVM_REVERT=UNBALANCED -- --tests seeds
				;;
			revert_*)
				seed=${trig#revert_}
				must_fail "$trig" "seed $seed's reproducer fails with its fix reverted" \
					"${revert_expect[$seed]}" MKVM_OUT="$logs/alt" MKVM_REVERT="SEED_$seed" \
					-- --tests seeds
				;;
			*)
				dir=$(mktemp -d)
				cp "$top/tests/vm/triggers/$trig" "$dir/"
				# The leak trigger needs the lane's own kmemleak check
				# (an empty MKVM_KMEMLEAK), which must_fail turns off.
				km=()
				[ "$trig" = leak ] && km=(MKVM_KMEMLEAK=)
				must_fail "$trig" "the harness fails the run on '$trig'" \
					"${expect[$trig]}" "${km[@]}" \
					-- --tests none --extra "$dir" --reuse-build
				rm -rf "$dir"
				;;
			esac
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
