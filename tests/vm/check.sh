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

# must_fail NAME WHAT PATTERNS [VAR=value...] -- RUN.SH-ARGS...: a run of
# this lane that must fail, with every one of PATTERNS (extended regexes
# joined by " && ") in its output or its guest's console log. The
# harness's own tests are all of this shape. They skip kmemleak's scan
# (slow under TCG) unless a VAR says otherwise.
must_fail() {
	local name=$1 what=$2 patterns=$3 log=$logs/$lane-selftest-$1.log rc=0
	local envs=(MKVM_KMEMLEAK=0) out=${MKVM_OUT:-/tmp/mkvm-check} p seen=1
	shift 3
	while [ "$1" != -- ]; do
		envs+=("$1")
		case "$1" in MKVM_OUT=*) out=${1#MKVM_OUT=} ;; esac
		shift
	done
	shift
	echo "=== lane $lane: $what ==="
	env "${envs[@]}" "$top/tests/vm/run.sh" --kernel "$lane" --name "selftest-$name" \
		"$@" >"$log" 2>&1 || rc=$?
	while [ -n "$patterns" ]; do
		p=${patterns%% && *}
		[ "$p" = "$patterns" ] && patterns="" || patterns=${patterns#* && }
		# No pipe: with pipefail, a cat killed by grep -q's early exit
		# would read as "not seen". A missing console log is no error.
		grep -qsE -- "$p" "$log" "$out/$lane/selftest-$name/console.log" || seen=0
	done
	if [ $rc -ne 0 ] && [ $seen = 1 ]; then
		echo "ok - $what (as it must)"
		pass=$((pass + 1))
	else
		echo "not ok - $what: it did not (exit $rc), log: $log"
		grep -q 'not of mkvm or of the test that was to run' "$log" &&
			echo "# that run's kernel splatted during boot, before mkvm was loaded, twice: not mkvm's doing"
		tail -n 20 "$log"
		fail=$((fail + 1))
	fi
}

# Fix-reverted builds (MKVM_REVERT) and what must show when each runs only
# its own reproducer: that test's own report, never any splat of any test.
declare -A revert_build revert_test revert_expect revert_what
revert_proof() {	# revert_proof TRIGGER BUILD PROG:TEST WHAT PATTERNS
	revert_build[$1]=$2 revert_test[$1]=$3 revert_what[$1]=$4 revert_expect[$1]=$5
}
revert_proof revert_000 SEED_000 seeds:seed000_release_vs_destroy \
	"seed 000's reproducer fails with its fix reverted" \
	'BUG: KASAN: (double-free|use-after-free|invalid-free) in (mkvm_s2_destroy|mkvm_mmu_flush_all|kfree)\+|VM_BUG_ON_PAGE\(page_ref_count\(page\) == 0\) && mkvm_mmu_flush_all\+0x'
revert_proof revert_000_split SEED_000_SPLIT dirty:seed000_split_cache_release_vs_destroy \
	"seed 000's split-cache half fails with release freeing the cache" \
	'BUG: KASAN: ([a-z]+-)?(use-after-free|double-free|invalid-free) in (mkvm_split_cache_free|kfree|kvfree|free_pages)\+|VM_BUG_ON_PAGE\(page_ref_count\(page\) == 0\) && mkvm_split_cache_free'
revert_proof revert_001 SEED_001 seeds:seed001_thp_split_vs_block_fault \
	"seed 001's reproducer fails with its fix reverted" \
	'^ *# .*guest read the page the THP split dropped'
revert_proof revert_003 SEED_003 seeds:seed003_aging_vs_release \
	"seed 003's reproducer fails with its fix reverted" \
	'KASAN: null-ptr-deref|BUG: kernel NULL pointer dereference && mkvm_s2_age\+0x'
revert_proof revert_zap ZAP mmu:anon_dontneed_guest_sees_zero \
	"the stale-mapping auditor fires when a zap is skipped" \
	'WARNING: .*mkvm_audit_gfn_range && stale stage-2 entry'
revert_proof revert_dirty DIRTY mmu:guest_write_survives_lazyfree_reclaim \
	"a guest write lost to reclaim is caught" \
	'^ *# .*guest write lost: reclaim discarded the page'
revert_proof revert_dirty_unlocked DIRTY_UNLOCKED mmu:dirtied_under_mmu_lock_lazyfree \
	"dirtying a page after dropping mmu_lock is caught (MADV_FREE)" \
	'^ *# .*re-dirtied after an invalidation zapped its entry'
revert_proof revert_dirty_unlocked_ext4 DIRTY_UNLOCKED backings:ext4_dirtied_under_mmu_lock \
	"dirtying a page after dropping mmu_lock is caught (ext4 writeback)" \
	'WARNING: .* at fs/ext4/inode.c:[0-9]+ ext4_dirty_folio'
revert_proof revert_004 SEED_004 pfncache:seed004_refresh_vs_invalidation_outside_slots \
	"seed 004's reproducer fails with KVM's check (mmu_invalidate_seq)" \
	'pfn cache kept a page the host freed|BUG: KASAN: [a-z-]+ in mkvm_vm_ioctl_gpc_access'
revert_proof revert_004_start SEED_004_START pfncache:seed004_refresh_vs_invalidation_outside_slots \
	"seed 004's reproducer fails with the posted patch (sequence bumped at start)" \
	'pfn cache kept a page the host freed|BUG: KASAN: [a-z-]+ in mkvm_vm_ioctl_gpc_access'
revert_proof revert_004_mixed SEED_004_MIXED pfncache:seed004_refresh_vs_invalidation_outside_slots \
	"seed 004's reproducer fails with the reviewer's diff as posted (mixed counters)" \
	'refresh retried for 5 s after the invalidation ended|pfn cache kept a page the host freed'
revert_proof revert_002 SEED_002 roots:seed002_root_teardown_vs_munmap \
	"seed 002's reproducer fails with its fix reverted (teardown on the last put, off the list)" \
	'WARNING: .*mkvm_audit_gfn_range && stale stage-2 entry in gfns .* \(invalid root\)'
revert_proof revert_in_progress IN_PROGRESS mmu:fault_retries_while_invalidation_in_progress \
	"a fault that ignores an invalidation in progress is caught" \
	'^ *# .*guest read the page an invalidation in progress was dropping && stale stage-2 entry'

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
			revert_*)
				[ -n "${revert_build[$trig]:-}" ] || {
					echo "not ok - lane $lane: unknown proof $trig"
					fail=$((fail + 1))
					continue
				}
				# Only the test module: about 15 s less per proof.
				must_fail "$trig" "${revert_what[$trig]}" "${revert_expect[$trig]}" \
					MKVM_OUT="$logs/alt" MKVM_REVERT="${revert_build[$trig]}" \
					MKVM_TEST_MODULE_ONLY=1 MKVM_TESTS_FROM="$logs/$lane/tests" \
					-- --tests "${revert_test[$trig]}"
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

# The memory-model proofs need the sid chroot, which the sid lane has
# built by now: with that lane, `make check` runs `make prove` too.
case " $lanes " in
*" sid "*)
	start=$(date +%s)
	echo "=== proofs: LKMM litmus tests (make prove) ==="
	"$top/proofs/prove.sh" | tee "$logs/prove.log"
	line=$(tail -n1 "$logs/prove.log")
	pass=0 fail=1
	[[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] &&
		pass=${BASH_REMATCH[1]} fail=${BASH_REMATCH[2]}
	[ "$fail" -gt 0 ] || [ "$pass" -gt 0 ] || fail=1
	summary+=("proofs: $pass passed, $fail failed in $(( $(date +%s) - start ))s")
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	;;
esac

wait
echo "=== summary ==="
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
