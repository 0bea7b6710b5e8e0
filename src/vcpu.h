/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_VCPU_H
#define MKVM_VCPU_H

#include <linux/bits.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "pgtable.h"

struct mkvm_root;
struct mkvm_run;
struct mkvm_vm;

#define MKVM_MAX_RUN_OPS	BIT(20)

/*
 * Counters of one vCPU: written only by it (under its mutex, WRITE_ONCE),
 * read by debugfs at any time (READ_ONCE) and summed over the VM's vCPUs,
 * so that no cache line is shared by every fault of every vCPU.
 */
struct mkvm_vcpu_stat {
	u64 faults;		/* faults that got past the retry check to the table */
	u64 fault_retries;	/* faults an invalidation made retry */
	u64 root_loads;		/* moves to a new root */
};

/*
 * A vCPU lives as long as its VM, like KVM's: closing the vCPU fd drops the
 * fd's VM reference, and VM destroy frees the vCPU.
 */
struct mkvm_vcpu {
	struct mkvm_vm *vm;
	u32 id;
	/*
	 * Held for the whole of every vCPU ioctl. Protects @memcache, @root
	 * (the pointer and the reference it holds), @stat's writes,
	 * @mmio_pending and the kernel's use of @run.
	 */
	struct mutex mutex;
	struct mkvm_memcache memcache;
	/* The root this vCPU runs on, referenced; NULL before the first fault. */
	struct mkvm_root *root;
	struct mkvm_vcpu_stat stat;
	/* The page userspace mmap()s; shared, so read it with care. */
	struct mkvm_run *run;
	bool mmio_pending;
};

long mkvm_vm_create_vcpu(struct mkvm_vm *vm, unsigned long id);
void mkvm_vcpu_destroy(struct mkvm_vcpu *vcpu);

#endif /* MKVM_VCPU_H */
