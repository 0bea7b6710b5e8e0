#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the mkvm test guest (busybox sh). Its main body at the bottom is
# the checklist: mounts, baseline, load the module, run each test program
# with the kernel checks after it, unload, kmemleak, sentinel, reboot.
#
# The console carries the kernel log; $RESULT_DEV (a second serial port,
# or a virtio console) carries the TAP results. The line "mkvm-harness: success" is written to ttyS1 only if
# every check passed: a panic, hang or early exit leaves no sentinel, and
# the host reads that as failure.

export PATH=/bin:/sbin
export HOME=/tmp
. /mkvm/config	# MODE TESTS KMEMLEAK TEST_TIMEOUT MKVM_VERSION RESULT_DEV PRELOAD
		# MKVM_KO LOADER GUEST_ENV

export MKVM_KO MKVM_REQUIRE=1 MKVM_VERSION
# What the lane promises the tests on top (VAR=1 words, e.g. MKVM_REQUIRE_EXT4=1).
for kv in $GUEST_ENV; do
	export "${kv?}"
done
TAINT_OK=$((4096 | 8192))	# O (out-of-tree) and E (unsigned) only
n=0
failed=0

setup() {
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	mount -t debugfs debugfs /sys/kernel/debug
	mount -t tmpfs tmp /tmp
	# Drivers the result port needs, where the kernel has them as modules,
	# and what else the lane preloads (test_hmm on the debug and bench lanes).
	for m in $PRELOAD; do
		insmod "$m"
	done
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ -e "$RESULT_DEV" ] && break
		sleep 0.2
	done
	exec 3>"$RESULT_DEV"
	echo 1 >/proc/sys/kernel/panic_on_oops
}

say() { echo "$@" >&3; }

result() {	# result OK|FAIL description [diagnostic file]
	n=$((n + 1))
	if [ "$1" = OK ]; then
		say "ok $n $2"
	else
		failed=$((failed + 1))
		say "not ok $n $2"
		[ -n "$3" ] && sed 's/^/# /' "$3" >&3
	fi
}

# Kernel state checks after a step: splats in the new log lines, new
# taint bits other than O/E, lockdep turned off by a report.
check_kernel() {	# check_kernel label
	dmesg -c >/tmp/dmesg.new
	cat /tmp/dmesg.new >>/tmp/dmesg.all
	grep -E -f /mkvm/splat-patterns.txt /tmp/dmesg.new >/tmp/splat
	case $? in
	0) result FAIL "$1: kernel splat" /tmp/splat; return ;;
	1) ;;
	*) result FAIL "$1: cannot scan the kernel log"; return ;;
	esac
	taint=$(cat /proc/sys/kernel/tainted)
	if [ $((taint & ~TAINT_BASE & ~TAINT_OK)) -ne 0 ]; then
		echo "tainted=$taint, was $TAINT_BASE" >/tmp/splat
		# Report each new taint bit once.
		TAINT_BASE=$taint
		result FAIL "$1: new taint" /tmp/splat
		return
	fi
	if [ -e /proc/lockdep_stats ] &&
	   grep -q 'debug_locks: *0' /proc/lockdep_stats; then
		echo "lockdep turned itself off (debug_locks: 0)" >/tmp/splat
		result FAIL "$1: lockdep still on" /tmp/splat
		return
	fi
	result OK "$1: kernel log clean"
}

check_no_objects() {	# check_no_objects label
	stats=/sys/kernel/debug/mkvm/stats
	[ -e $stats ] || return 0
	grep -E '^(vms|vcpus|memslots) ' $stats >/tmp/objects
	if [ "$(grep -c . /tmp/objects)" != 3 ]; then
		result FAIL "$1: cannot read the object counters" $stats
	elif grep -vE ' 0$' /tmp/objects >/tmp/leak; then
		result FAIL "$1: objects left after exit" /tmp/leak
	else
		result OK "$1: no objects left"
	fi
}

# libkmod from a path by default; modprobe by name for a module installed
# in /lib/modules (the DKMS lane), as users load it.
ensure_loaded() {
	mkvm-modctl loaded && return 0
	if [ "$LOADER" = modprobe ]; then
		modprobe mkvm 2>/tmp/load.err && return 0
	else
		mkvm-modctl load 2>/tmp/load.err && return 0
	fi
	result FAIL "load mkvm ($LOADER)" /tmp/load.err
	return 1
}

run_program() {		# run_program path [test...]
	name=${1##*/}
	say "# $name"
	ensure_loaded || return
	cd /tmp
	# Output goes to a file, not a pipe: a stray child of a killed program
	# could hold a pipe open forever. Then nothing of the program may
	# outlive it (kill -1 spares only PID 1, this script).
	timeout -s KILL "$TEST_TIMEOUT" "$@" >/tmp/out 2>&1
	rc=$?
	kill -9 -1 2>/dev/null
	sed 's/^/    /' /tmp/out >&3
	cd /
	if [ "$rc" = 0 ]; then
		result OK "$name"
	else
		echo "exit status $rc" >/tmp/rcmsg
		[ "$rc" = 137 ] && echo "killed after ${TEST_TIMEOUT}s" >>/tmp/rcmsg
		result FAIL "$name" /tmp/rcmsg
	fi
	check_kernel "$name"
	check_no_objects "$name"
}

check_kmemleak() {
	km=/sys/kernel/debug/kmemleak
	[ "$KMEMLEAK" = 1 ] || return 0
	# kmemleak ignores objects younger than about 5 s. A kmemleak that
	# turned itself off refuses the scan: that is a failure, not a pass.
	sleep 6
	if ! { echo scan >$km && echo scan >$km; } 2>/tmp/leaks; then
		dmesg | grep -i kmemleak >>/tmp/leaks
		result FAIL "kmemleak: scan refused (kmemleak off?)" /tmp/leaks
		return
	fi
	cat $km >/tmp/leaks || { result FAIL "kmemleak: report unreadable"; return; }
	if grep -q . /tmp/leaks; then
		head -n 40 /tmp/leaks >/tmp/leaks.head
		result FAIL "kmemleak: no leaks" /tmp/leaks.head
	else
		result OK "kmemleak: no leaks"
	fi
}

finish() {
	say "# guest: $((n - failed)) passed, $failed failed"
	[ "$failed" -eq 0 ] && say "mkvm-harness: success"
	sync
	reboot -f
}

setup
if [ "$MODE" = probe ]; then
	say "mkvm-probe-ok"
	reboot -f
fi

# Boot-time state is the baseline: later checks report only what is new.
TAINT_BASE=$(cat /proc/sys/kernel/tainted)
check_kernel "boot, before mkvm was loaded"
# The host tells a splat of the boot itself from one of the tests by this.
echo "mkvm-harness: boot checked, mkvm not loaded yet" >/dev/kmsg
# kmemleak scans only when asked (check_kmemleak): its own thread would
# compete with the tests for the CPU, and a 1G hugetlb reservation makes
# each scan long.
[ -e /sys/kernel/debug/kmemleak ] && echo scan=off >/sys/kernel/debug/kmemleak
[ "$KMEMLEAK" = 1 ] && echo clear >/sys/kernel/debug/kmemleak

if [ "$MODE" = demo ]; then
	ensure_loaded && { /mkvm/bin/demo >/tmp/out 2>&1; echo $? >/tmp/rc; }
	sed 's/^/    /' /tmp/out >&3
	[ "$(cat /tmp/rc 2>/dev/null)" = 0 ] && result OK "demo" || result FAIL "demo"
	check_kernel "demo"
else
	# "prog" runs every test of a program, "prog:a,b" only tests a and b.
	for t in $TESTS; do
		sel=""
		[ "${t%%:*}" != "$t" ] && sel=$(echo "${t#*:}" | tr , ' ')
		# shellcheck disable=SC2086
		run_program "/mkvm/bin/${t%%:*}" $sel
	done
	for t in /mkvm/extra/*; do
		[ -x "$t" ] && run_program "$t"
	done
fi

if mkvm-modctl loaded; then
	mkvm-modctl unload 2>/tmp/unload.err &&
		result OK "mkvm unloads cleanly" ||
		result FAIL "mkvm unloads cleanly" /tmp/unload.err
fi
check_kernel "unload"
check_kmemleak
check_kernel "final"
finish
