/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_VCPU_H
#define MKVM_VCPU_H

#include <linux/types.h>

struct mkvm_vm;

/*
 * A vCPU lives as long as its VM, like KVM's: closing the vCPU fd drops the
 * fd's VM reference, and VM destroy frees the vCPU.
 */
struct mkvm_vcpu {
	struct mkvm_vm *vm;
	u32 id;
};

long mkvm_vm_create_vcpu(struct mkvm_vm *vm, unsigned long id);
void mkvm_vcpu_destroy(struct mkvm_vcpu *vcpu);

#endif /* MKVM_VCPU_H */
