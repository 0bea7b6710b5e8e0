/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_VCPU_H
#define MKVM_VCPU_H

#include <linux/bits.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "pgtable.h"

struct mkvm_vm;
struct mkvm_run;

#define MKVM_MAX_RUN_OPS	BIT(20)

/*
 * A vCPU lives as long as its VM, like KVM's: closing the vCPU fd drops the
 * fd's VM reference, and VM destroy frees the vCPU.
 */
struct mkvm_vcpu {
	struct mkvm_vm *vm;
	u32 id;
	/*
	 * Held for the whole of every vCPU ioctl. Protects @memcache,
	 * @mmio_pending and the kernel's use of @run.
	 */
	struct mutex mutex;
	struct mkvm_memcache memcache;
	/* The page userspace mmap()s; shared, so read it with care. */
	struct mkvm_run *run;
	bool mmio_pending;
};

long mkvm_vm_create_vcpu(struct mkvm_vm *vm, unsigned long id);
void mkvm_vcpu_destroy(struct mkvm_vcpu *vcpu);

#endif /* MKVM_VCPU_H */
