/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_MMU_H
#define MKVM_MMU_H

#include <linux/types.h>

struct mkvm_memslot;
struct mkvm_vcpu;
struct mkvm_vm;

/* A range of guest frames inside one memslot, as notifier handlers see it. */
struct mkvm_gfn_range {
	struct mkvm_memslot *slot;
	u64 start;
	u64 end;
	bool may_block;
};

void mkvm_mmu_invalidate_begin(struct mkvm_vm *vm, unsigned long start,
			       unsigned long end);
void mkvm_mmu_invalidate_end(struct mkvm_vm *vm, unsigned long start,
			     unsigned long end);
bool mkvm_unmap_gfn_range(struct mkvm_vm *vm, struct mkvm_gfn_range *range);
bool mkvm_age_gfn_range(struct mkvm_vm *vm, struct mkvm_gfn_range *range);
bool mkvm_test_age_gfn_range(struct mkvm_vm *vm, struct mkvm_gfn_range *range);
bool mkvm_audit_gfn_range(struct mkvm_vm *vm, struct mkvm_gfn_range *range);
void mkvm_mmu_zap_slot(struct mkvm_vm *vm, const struct mkvm_memslot *slot);

/* What an access or a fault needs next. */
#define MKVM_FAULT_MMIO		1	/* no memslot can serve it: exit to userspace */

/* How a fault ended, for its tracepoint (trace.h). */
enum mkvm_fault_outcome {
	MKVM_FAULT_MAPPED,
	MKVM_FAULT_RETRY_SLOT,		/* the slot is being deleted or moved */
	MKVM_FAULT_RETRY_ROOT,		/* the vCPU's root was invalidated */
	MKVM_FAULT_RETRY_INVALIDATION,	/* an invalidation raced the lookup */
	MKVM_FAULT_SPLIT,		/* a logged write split a block */
	MKVM_FAULT_EXIT_MMIO,		/* no memslot: MKVM_FAULT_MMIO */
	MKVM_FAULT_ERROR,
};

int mkvm_mmu_access(struct mkvm_vcpu *vcpu, u64 gpa, unsigned int size,
		    bool write, u64 *data);
int mkvm_mmu_fault(struct mkvm_vcpu *vcpu, u64 gpa, bool write);

#endif /* MKVM_MMU_H */
