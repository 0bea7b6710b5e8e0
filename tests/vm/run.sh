#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The mkvm QEMU harness: build the module and the tests for a kernel, pack
# them into a busybox initramfs, boot the kernel in QEMU, run the tests
# there, and judge the run from the guest's TAP, its success sentinel and
# a scan of the whole kernel log.
#
#   run.sh [--kernel LANE] [--tests "api kmod"|none] [--extra DIR] [--demo]
#          [--name NAME] [--reuse-build]
#
# --reuse-build skips building the module and the tests when an earlier run
# of the same lane built them (the harness's own tests use it).
#
# LANE names tests/kernels/LANE.lane (stock: Debian's kernel; debug: the
# KASAN + lockdep kernel). The lane gives the kernel image, its build tree
# and the guest architecture: the harness itself knows no kernel.
# Environment: MKVM_ACCEL (kvm|hvf|tcg: skip detection), MKVM_OUT (work
# directory, default /tmp/mkvm-check), MKVM_CACHE (default /var/cache/mkvm),
# MKVM_PANIC_ON_WARN (1: stop at the first WARN; default 0 collects all),
# MKVM_TIMEOUT (seconds for the whole boot; default the lane's LANE_TIMEOUT,
# or 900), MKVM_REVERT (a
# fix-reverted build: see Kbuild), MKVM_TEST_MODULE_ONLY and
# MKVM_TESTS_FROM (must-fail runs: see build_module and build_tests),
# MKVM_GUEST_ENV (VAR=value words for the test programs' environment).
set -euo pipefail
trap 'echo "mkvm-harness: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

top=$(cd "$(dirname "$0")/../.." && pwd)
vmdir=$top/tests/vm
cache=${MKVM_CACHE:-/var/cache/mkvm}
lane=stock tests="" extra="" mode=tests name=suite reuse=0

while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) lane=$2; shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	--extra) extra=$2; shift 2 ;;
	--demo) mode=demo; name=demo; shift ;;
	--name) name=$2; shift 2 ;;
	--reuse-build) reuse=1; shift ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

log() { echo "mkvm-harness: $*" >&2; }
die() { log "$*"; exit 1; }

[ -f "$top/tests/kernels/$lane.lane" ] ||
	die "no lane '$lane' (have: $(cd "$top/tests/kernels" && ls ./*.lane | sed 's|./||; s|.lane||' | xargs))"
# shellcheck source=/dev/null
. "$top/tests/kernels/$lane.lane"
"$vmdir/deps.sh" $LANE_DEPS
lane_prepare || die "lane $lane: cannot prepare its kernel"
# A run that must fail for another reason can spare the kmemleak scan.
KMEMLEAK=${MKVM_KMEMLEAK:-$KMEMLEAK}
[ -r "$KIMAGE" ] || die "kernel image $KIMAGE not readable (run as root)"

# Builds are kept per lane; each run (NAME) gets its own directory for the
# initramfs and the logs.
build=${MKVM_OUT:-/tmp/mkvm-check}/$lane
out=$build/$name
rm -rf "$out"
mkdir -p "$out"
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")

# What differs between guest architectures; the lane names the one it uses.
case "$LANE_ARCH" in
x86_64)
	QEMU=qemu-system-x86_64 QEMU_MACHINE="" CONSOLE=ttyS0
	RESULT_DEV=/dev/ttyS1
	QEMU_RESULT_ARGS=(-serial "file:$out/results")
	TEST_CC=${CC:-gcc}
	LIB_DIRS="/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64"
	BUSYBOX=${LANE_BUSYBOX:-/bin/busybox}
	;;
aarch64)
	# The virt machine has one UART: results go over virtio-console.
	QEMU=qemu-system-aarch64 CONSOLE=ttyAMA0
	QEMU_MACHINE="-M virt"
	RESULT_DEV=/dev/hvc0
	QEMU_RESULT_ARGS=(-device virtio-serial-device
			  -chardev "file,id=results,path=$out/results"
			  -device virtconsole,chardev=results)
	TEST_CC=aarch64-linux-gnu-gcc
	[ "$(uname -m)" = aarch64 ] && TEST_CC=${CC:-gcc}
	LIB_DIRS="/lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu /lib"
	BUSYBOX=${LANE_BUSYBOX:-/bin/busybox}
	;;
*)	die "lane $lane: unknown architecture $LANE_ARCH" ;;
esac

# kbuild DIR ARGS...: run the kernel's make for the module in DIR, in the
# lane's chroot if it has one (newer kernels want their own gcc and libc;
# objtool needs /proc there), with the lane's ARCH/CROSS_COMPILE.
kbuild() {
	local dir=$1
	shift
	if [ -z "${LANE_CHROOT:-}" ]; then
		make -C "$KDIR" M="$dir" ${LANE_MAKE_ARGS:-} "$@"
	else
		unshare -m sh -c 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' \
			sh "$LANE_CHROOT" "$LANE_CHROOT" make -C "$KDIR" M="${dir#"$LANE_CHROOT"}" \
			${LANE_MAKE_ARGS:-} "$@"
	fi
}

# The test and release builds of the module, out of the work tree,
# warnings fatal. MKVM_TEST_MODULE_ONLY=1 (a must-fail run of make check,
# which loads only the test build: the lane's suite has checked both)
# skips the release build.
build_module() {
	local kind m kinds="test release"

	[ "${MKVM_TEST_MODULE_ONLY:-0}" = 1 ] && kinds=test
	for kind in $kinds; do
		m=${LANE_CHROOT:-}$build/module-$kind
		rm -rf "$m"
		mkdir -p "$m"
		cp -r "$top/Kbuild" "$top/dkms.conf" "$top/src" "$top/include" "$m/"
		if ! kbuild "$m" MKVM_TEST=$([ $kind = test ] && echo 1 || echo 0) \
			MKVM_SELFTEST_BREAK="${MKVM_SELFTEST_BREAK:-0}" \
			MKVM_REVERT="${MKVM_REVERT:-}" \
			W=1 modules >"$out/module-$kind-build.log" 2>&1; then
			tail -n 30 "$out/module-$kind-build.log" >&2
			die "$kind module build failed against $KDIR"
		fi
		if grep -E 'warning:|error:' "$out/module-$kind-build.log" >&2; then
			die "$kind module build has warnings (W=1) against $KDIR"
		fi
		if [ -n "${LANE_CHROOT:-}" ]; then
			mkdir -p "$build/module-$kind"
			cp "$m/mkvm.ko" "$build/module-$kind/"
		fi
	done
	[ "$kinds" = test ] && return 0
	# The fault triggers must never reach a release build.
	if grep -qa kasan_uaf "$build/module-release/mkvm.ko" ||
	   ! grep -qa kasan_uaf "$build/module-test/mkvm.ko"; then
		die "test triggers leaked into the release build (or are missing from the test build)"
	fi
}

# For the fuzzer's coverage figure: the KCOV call sites in the test
# module's .text (each call's return address is what KCOV reports), and
# the size of .text. Nothing when the module has no KCOV instrumentation.
kcov_sites() {
	local ko=$build/module-test/mkvm.ko sites size
	[ -f "$ko" ] && command -v objdump >/dev/null || return 0
	sites=$(objdump -dr -j .text "$ko" 2>/dev/null |
		grep -cE 'R_[A-Z0-9_]+[[:space:]]+__sanitizer_cov_trace_pc' || true)
	[ "${sites:-0}" -gt 0 ] || return 0
	size=$(objdump -h "$ko" | awk '$2 == ".text" { print "0x" $3 }')
	echo "MKVM_FUZZ_SITES=$sites MKVM_FUZZ_TEXT_SIZE=$size"
}

# The test programs; MKVM_TESTS_FROM=DIR takes those an earlier run of
# the same lane built (they do not depend on the module's build).
build_tests() {
	rm -rf "$build/tests"
	if [ -x "${MKVM_TESTS_FROM:-/nonexistent}/mkvm-modctl" ]; then
		cp -r "$MKVM_TESTS_FROM" "$build/tests"
		return 0
	fi
	# Not the caller's make variables: `make check TESTS=...` or `make
	# bench BENCHES=prog:test` would reach this make through MAKEFLAGS
	# and override the lists tests/Makefile builds.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -s -C "$top/tests" O="$build/tests" CC="$TEST_CC" >"$out/tests-build.log" 2>&1 || {
		cat "$out/tests-build.log" >&2
		die "test programs failed to build"
	}
}

# Copy the libraries dynamically linked programs need, and their
# interpreter, into the staging root. readelf rather than ldd, so that it
# works for a foreign architecture too.
copy_libs() {	# copy_libs root binary...
	local root=$1 todo lib f d found
	shift
	# Scripts among the programs are not ELF: readelf fails on them.
	todo=$(for f in "$@"; do readelf -d "$f" 2>/dev/null || true; done |
	       sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
	for f in "$@"; do
		readelf -l "$f" 2>/dev/null || true
	done | sed -n 's/.*interpreter: \(.*\)\]/\1/p' | sort -u | while read -r lib; do
		cp --parents -L "$lib" "$root/"
	done
	while [ -n "$todo" ]; do
		set -- $todo
		todo=""
		for lib in "$@"; do
			[ -n "$(find "$root" -name "$lib" -print -quit)" ] && continue
			found=""
			for d in $LIB_DIRS; do
				if [ -e "$d/$lib" ]; then found=$d/$lib; break; fi
			done
			[ -n "$found" ] || die "library $lib not found in $LIB_DIRS"
			cp --parents -L "$found" "$root/"
			todo="$todo $(readelf -d "$found" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
		done
	done
}

# stage_initramfs DIR MODE: busybox, init, config; for tests also the
# module, the test programs and EXTRA_TESTS.
stage_initramfs() {
	local root=$1 mode=$2 t
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,mkvm/bin,mkvm/extra}
	cp "$BUSYBOX" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	cp "$vmdir/init.sh" "$root/init"
	cp "$vmdir/splat-patterns.txt" "$root/mkvm/"
	cat >"$root/mkvm/config" <<-EOF
	MODE=$mode
	TESTS="$tests"
	KMEMLEAK=$KMEMLEAK
	TEST_TIMEOUT=${MKVM_TEST_TIMEOUT:-600}
	MKVM_VERSION=$version
	RESULT_DEV=$RESULT_DEV
	MKVM_KO=${GUEST_KO_PATH:-/mkvm/mkvm.ko}
	LOADER=${GUEST_LOADER:-libkmod}
	GUEST_ENV="${LANE_GUEST_ENV:-} ${MKVM_GUEST_ENV:-} $(kcov_sites)"
	PRELOAD="$(for m in ${LANE_PRELOAD:-}; do echo "/mkvm/preload/${m##*/}"; done | xargs)"
	EOF
	if [ -n "${LANE_PRELOAD:-}" ]; then
		mkdir -p "$root/mkvm/preload"
		cp ${LANE_PRELOAD} "$root/mkvm/preload/"
	fi
	[ "$mode" = probe ] && return 0
	if [ -n "${GUEST_KO:-}" ]; then
		# The lane's own module (e.g. DKMS-built), found by modprobe.
		mkdir -p "$root/$(dirname "$GUEST_KO_PATH")"
		cp "$GUEST_KO" "$root/$GUEST_KO_PATH"
		depmod -b "$root" "$KVER"
	else
		# The test build, or the build the lane names (LANE_MODULE).
		cp "$build/module-${LANE_MODULE:-test}/mkvm.ko" "$root/mkvm/"
	fi
	cp "$build/tests/"* "$root/mkvm/bin/"
	cp "$build/tests/mkvm-modctl" "$root/bin/"
	# backings' ext4 tests format a RAM disk: the host's mkfs.ext4, where
	# the guest runs the host's architecture (busybox's mke2fs makes ext2
	# only, and its applet links would replace a binary named mke2fs).
	if [ "$(uname -m)" = "$LANE_ARCH" ] && command -v mkfs.ext4 >/dev/null; then
		mkdir -p "$root/sbin" "$root/etc"
		cp "$(command -v mkfs.ext4)" "$root/sbin/mkfs.ext4"
		[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
	fi
	# Host tools the lane wants in the guest (the bench lane's perf).
	for t in ${LANE_GUEST_TOOLS:-}; do
		cp "$t" "$root/bin/"
	done
	if [ -n "$extra" ]; then
		for t in "$extra"/*; do
			[ -f "$t" ] && [ -x "$t" ] && cp "$t" "$root/mkvm/extra/"
		done
	fi
	copy_libs "$root" "$root"/mkvm/bin/* $(find "$root/mkvm/extra" -type f) \
		$(find "$root/sbin" -name mkfs.ext4) \
		$(for t in ${LANE_GUEST_TOOLS:-}; do echo "$root/bin/${t##*/}"; done)
}

pack_initramfs() {	# pack_initramfs DIR OUTPUT
	(cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
}

# boot INITRD ACCEL TIMEOUT: results land in $out/results, the console
# in $out/console.log. Prints the results live. Returns QEMU's status.
boot() {
	local initrd=$1 accel=$2 limit=$3 cpu=max rc=0 qpid
	[ "$accel" = tcg ] || cpu=host
	: >"$out/results"
	: >"$out/console.log"
	timeout --foreground -k 5 "$limit" \
		"$QEMU" $QEMU_MACHINE -accel "$accel" -cpu "$cpu" -smp 2 -m "$QEMU_MEM" \
		-nodefaults -nographic -no-reboot -monitor none \
		-serial "file:$out/console.log" "${QEMU_RESULT_ARGS[@]}" \
		-kernel "$KIMAGE" -initrd "$initrd" \
		-append "console=$CONSOLE panic=-1 oops=panic panic_on_warn=${MKVM_PANIC_ON_WARN:-0} loglevel=7 $HUGE_1G rdinit=/init" \
		</dev/null >"$out/qemu.log" 2>&1 &
	qpid=$!
	if [ -z "${BOOT_QUIET:-}" ]; then
		tail --pid=$qpid -n +1 -f "$out/results" | tr -d '\r' >&2 &
	fi
	# Quietly: a probe QEMU that aborts is an answer, not news.
	{ wait $qpid || rc=$?; } 2>/dev/null
	wait 2>/dev/null || true
	# The serial line turns \n into \r\n.
	sed -i 's/\r$//' "$out/results" "$out/console.log"
	return $rc
}

# Use KVM (or HVF) only if a guest really boots with it: on nested hosts
# /dev/kvm can exist while guests hang in early boot. The answer is cached
# per host kernel and QEMU version.
detect_accel() {
	local want="" key f
	if [ -n "${MKVM_ACCEL:-}" ]; then
		ACCEL=$MKVM_ACCEL
		return
	fi
	if [ "$(uname -s)" = Darwin ]; then
		want=hvf
	elif [ -w /dev/kvm ] && [ "$(uname -m)" = "$LANE_ARCH" ]; then
		want=kvm
	fi
	ACCEL=tcg
	[ -n "$want" ] || return 0
	key=$(echo "$(uname -r) $("$QEMU" --version | head -n1) $want" | sha256sum | cut -c1-12)
	f=$cache/accel-$key
	if [ -f "$f" ]; then
		ACCEL=$(cat "$f")
		return
	fi
	stage_initramfs "$out/probe-root" probe
	pack_initramfs "$out/probe-root" "$out/probe.img"
	if BOOT_QUIET=1 boot "$out/probe.img" "$want" 30 && grep -q mkvm-probe-ok "$out/results"; then
		ACCEL=$want
	else
		log "$want is present but a probe guest did not boot with it: using TCG"
	fi
	mkdir -p "$cache"
	echo "$ACCEL" >"$f"
}

# Host-side verdict: the sentinel, the TAP counts, and the whole console
# scanned for splats (catches anything the guest could not report).
judge() {
	local pass fail skip verdict=0 scan=0
	# The guest's TAP, plus what lane hooks checked on the host.
	cat "$out/results" "$out/host-results" >"$out/all-results"
	skip=$(grep -cE '^ *ok .*# SKIP' "$out/all-results" || true)
	pass=$(( $(grep -cE '^ *ok ' "$out/all-results" || true) - skip ))
	fail=$(grep -cE '^ *not ok ' "$out/all-results" || true)
	grep -E -f "$vmdir/splat-patterns.txt" "$out/console.log" >"$out/splats" || scan=$?
	if [ $scan -gt 1 ]; then
		log "cannot scan the console log"
		fail=$((fail + 1))
		verdict=1
	elif [ $scan -eq 0 ]; then
		if boot_splat "$out/console.log"; then
			log "kernel splat during boot, before mkvm was loaded: a problem of this kernel or of QEMU, not of mkvm or of the test that was to run"
		fi
		log "kernel splat in the console log ($out/console.log):"
		grep -E -B2 -A25 -m3 -f "$vmdir/splat-patterns.txt" "$out/console.log" | head -n 80 >&2
		fail=$((fail + 1))
		verdict=1
	fi
	if ! grep -qx 'mkvm-harness: success' "$out/results"; then
		log "no success sentinel from the guest (crash, hang, timeout or failed test); console tail:"
		tail -n 40 "$out/console.log" >&2
		[ "$fail" -gt 0 ] || fail=1
		verdict=1
	fi
	[ "$fail" -eq 0 ] || verdict=1
	echo "lane $lane: kernel $KVER, accel $ACCEL, $(( $(date +%s) - start ))s"
	# Skips are reported, never counted as passes.
	echo "$pass passed, $fail failed, $skip skipped"
	return $verdict
}

# boot_splat CONSOLE_LOG: did a splat come before init's marker that the
# boot itself was checked (or with no marker at all, as when the kernel
# died before init ran its checks)?
boot_splat() {
	local first marker
	first=$(grep -n -E -m1 -f "$vmdir/splat-patterns.txt" "$1" | cut -d: -f1)
	[ -n "$first" ] || return 1
	marker=$(grep -n -m1 'mkvm-harness: boot checked' "$1" | cut -d: -f1)
	[ -z "$marker" ] || [ "$first" -lt "$marker" ]
}

start=$(date +%s)
# The whole suite, and what the lane adds to it (LANE_SUITE_EXTRA: the
# debug lane's short benchmark run, for which it loads test_hmm).
[ -n "$tests" ] ||
	tests="$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top/tests" list) ${LANE_SUITE_EXTRA:-}"
[ "$tests" = none ] && tests=""
# One 1G hugetlb page, reserved at boot while memory is still contiguous,
# for mmu's 1G stage-2 block test and dirty's 1G split; lanes give the
# guest 3G so that a free, 1G-aligned gigabyte exists beside the kernel and
# the initramfs. Only for runs of those: kmemleak tracks a boot-time
# reservation like an object and scans its gigabyte on every pass, over a
# minute under TCG with KASAN.
HUGE_1G=""
case " $tests " in
*" mmu "* | *" mmu:"* | *" dirty "* | *" dirty:"*) HUGE_1G="hugepagesz=1G hugepages=1" ;;
esac
if [ "$mode" = demo ]; then
	log "lane $lane: kernel $KVER ($KIMAGE), demo"
else
	log "lane $lane: kernel $KVER ($KIMAGE), tests: ${tests:-none}${extra:+, extra: $extra}"
fi
if [ $reuse = 1 ] && [ -f "$build/module-test/mkvm.ko" ] && [ -x "$build/tests/mkvm-modctl" ]; then
	log "reusing the module and tests built in $build"
else
	build_module
	build_tests
fi
# What a lane file sets (lane_prepare): KDIR, KIMAGE, KVER, KMEMLEAK,
# QEMU_MEM; optionally LANE_TIMEOUT, LANE_GUEST_ENV, LANE_PRELOAD (modules
# insmod'ed before the tests), LANE_SUITE_EXTRA (programs added to a run
# of the whole suite), LANE_GUEST_TOOLS (host programs copied into the
# guest's /bin with their libraries), LANE_MODULE (release: load that
# build instead of the test build), LANE_CHROOT, LANE_MAKE_ARGS.
# Optional lane hooks: lane_guest_module provides the module the guest
# loads (GUEST_KO, GUEST_KO_PATH, GUEST_LOADER); lane_after_boot checks
# host state after the run and prints TAP lines, which judge() counts.
: >"$out/host-results"
if declare -F lane_guest_module >/dev/null; then
	lane_guest_module >"$out/lane-module.log" 2>&1 || {
		tail -n 30 "$out/lane-module.log" >&2
		die "lane $lane: cannot provide the guest's module"
	}
	# shellcheck source=/dev/null
	. "$out/lane-module.env"
fi
stage_initramfs "$out/root" "$mode"
pack_initramfs "$out/root" "$out/initramfs.img"
detect_accel
log "accelerator: $ACCEL"
boot "$out/initramfs.img" "$ACCEL" "${MKVM_TIMEOUT:-${LANE_TIMEOUT:-900}}" || log "QEMU exited with status $?"
# A kernel that dies before it starts /init never saw mkvm (it is loaded
# from /init): under TCG, Debian's 7.x kernel has been seen to trap on a
# half-patched instruction in early boot, once in some dozens of boots.
# Boot once more, keep the first console log, and say so.
if ! grep -q "Run /init as init process" "$out/console.log" && [ ! -s "$out/results" ]; then
	mv "$out/console.log" "$out/console.first-boot.log"
	log "the kernel died before starting /init (log: $out/console.first-boot.log); booting once more"
	boot "$out/initramfs.img" "$ACCEL" "${MKVM_TIMEOUT:-${LANE_TIMEOUT:-900}}" || log "QEMU exited with status $?"
# A splat during boot, before mkvm was loaded (the debug kernel has shown a
# rare early KASAN report under TCG), says nothing about mkvm, but it would
# fail this run, and turn lockdep off for a proof that needs it: keep its
# log, say so plainly, and boot once more. A second one fails the run.
elif grep -qE '^not ok [0-9]+ boot, before mkvm was loaded: ' "$out/results"; then
	mv "$out/console.log" "$out/console.boot-splat.log"
	log "kernel splat during boot, before mkvm was loaded (log: $out/console.boot-splat.log):"
	# Prefixed: a proof that greps this log must not take it for its own.
	{ grep -E -A12 -m1 -f "$vmdir/splat-patterns.txt" "$out/console.boot-splat.log" || true; } |
		head -n 20 | sed 's/^/boot-splat| /' >&2
	log "not mkvm's doing; booting once more"
	boot "$out/initramfs.img" "$ACCEL" "${MKVM_TIMEOUT:-${LANE_TIMEOUT:-900}}" || log "QEMU exited with status $?"
fi
if declare -F lane_after_boot >/dev/null; then
	lane_after_boot >"$out/host-results" 2>"$out/lane-after.log" || true
	cat "$out/host-results" >&2
fi
# In a condition, so a failing verdict is not reported as a script error.
if judge; then
	exit 0
fi
exit 1
