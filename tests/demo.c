// SPDX-License-Identifier: GPL-2.0
/*
 * A tour of mkvm for newcomers: what `make demo` runs inside the QEMU guest.
 * Each step prints what it does and what the module answered.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define MB	(1024UL * 1024)

static void show_stats(const char *what)
{
	printf("    %-28s vms=%ld vcpus=%ld memslots=%ld\n", what,
	       mkvm_stat(MKVM_DEBUGFS "/stats", "vms"),
	       mkvm_stat(MKVM_DEBUGFS "/stats", "vcpus"),
	       mkvm_stat(MKVM_DEBUGFS "/stats", "memslots"));
}

static void step(const char *fmt, const char *call, long r)
{
	printf("%-46s -> %s\n", fmt, r < 0 ? strerror(errno) : call);
}

int main(void)
{
	int dev, vm, vcpu[2];
	char *ram, ok[32];
	long r;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("== mkvm demo ==\n");
	dev = mkvm_open();
	r = ioctl(dev, MKVM_GET_API_VERSION, 0);
	printf("open /dev/mkvm, MKVM_GET_API_VERSION         -> %ld\n", r);
	printf("capabilities: memslots=%d max vcpus=%d guest-physical bits=%d\n",
	       ioctl(dev, MKVM_CHECK_EXTENSION, MKVM_CAP_NR_MEMSLOTS),
	       ioctl(dev, MKVM_CHECK_EXTENSION, MKVM_CAP_MAX_VCPUS),
	       ioctl(dev, MKVM_CHECK_EXTENSION, MKVM_CAP_GUEST_PHYS_BITS));

	vm = ioctl(dev, MKVM_CREATE_VM, 0);
	snprintf(ok, sizeof(ok), "VM fd %d", vm);
	step("MKVM_CREATE_VM", ok, vm);
	show_stats("after CREATE_VM:");

	ram = mkvm_map_anon(4 * MB);
	r = mkvm_set_region(vm, 0, 0, 0, 2 * MB, ram);
	step("slot 0: guest 0x0-0x1fffff <- 2 MiB of anon", "ok", r);
	r = mkvm_set_region(vm, 1, MKVM_MEM_READONLY, 1UL << 32, 2 * MB, ram + 2 * MB);
	step("slot 1: guest 4 GiB, read-only", "ok", r);
	r = mkvm_set_region(vm, 2, 0, MB, 2 * MB, ram);
	step("slot 2: overlapping slot 0 (must fail)", "ok?!", r);
	r = mkvm_set_region(vm, 0, 0, 16 * MB, 2 * MB, ram);
	step("slot 0: moved to 16 MiB", "ok", r);
	printf("    per-VM stats: memslots=%ld generation=%ld updates=%ld\n",
	       mkvm_vm_stat("memslots"), mkvm_vm_stat("memslot_generation"),
	       mkvm_vm_stat("memslot_updates"));

	vcpu[0] = ioctl(vm, MKVM_CREATE_VCPU, 0);
	snprintf(ok, sizeof(ok), "vCPU fd %d", vcpu[0]);
	step("MKVM_CREATE_VCPU id 0", ok, vcpu[0]);
	vcpu[1] = ioctl(vm, MKVM_CREATE_VCPU, 0);
	step("MKVM_CREATE_VCPU id 0 again (must fail)", "ok?!", vcpu[1]);
	show_stats("after vCPUs and slots:");

	pid = fork();
	if (!pid) {
		r = ioctl(vm, MKVM_CREATE_VCPU, 1);
		step("forked child: MKVM_CREATE_VCPU (other mm)", "ok?!", r);
		_exit(0);
	}
	waitpid(pid, NULL, 0);

	close(vm);
	show_stats("VM fd closed, vCPU fd open:");
	close(vcpu[0]);
	show_stats("all fds closed:");
	close(dev);
	printf("== demo done ==\n");
	return 0;
}
