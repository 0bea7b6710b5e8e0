/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_MEMSLOT_H
#define MKVM_MEMSLOT_H

#include <linux/bits.h>
#include <linux/types.h>

struct mkvm_vm;
struct mkvm_userspace_memory_region;

#define MKVM_NR_MEMSLOTS	64
#define MKVM_GUEST_PHYS_BITS	48
/* One slot may cover at most the whole guest-physical space. */
#define MKVM_MAX_GFN		(1ULL << (MKVM_GUEST_PHYS_BITS - PAGE_SHIFT))

/*
 * A memory slot is immutable once published: a change builds a new slot
 * and retires the old one after an SRCU grace period, so a reader inside
 * srcu_read_lock(&vm->srcu) may use a slot it found until it unlocks.
 */
/*
 * Kernel-only flag: the slot is being deleted or moved. Faults on it retry
 * until the change is done (KVM's KVM_MEMSLOT_INVALID). Userspace flags
 * never include it: MKVM_SET_USER_MEMORY_REGION refuses unknown flags.
 */
#define MKVM_MEMSLOT_INVALID	BIT(31)

struct mkvm_memslot {
	u32 id;
	u32 flags;
	u64 base_gfn;
	u64 npages;
	unsigned long userspace_addr;
};

/*
 * One set of memslots, sorted by base_gfn and never overlapping, so the
 * gfn lookup is a binary search. A VM has two sets: the active one, read
 * under vm->srcu, and the inactive one, which only the holder of
 * vm->slots_lock touches (memslot.c documents the swap, memslot_update.c
 * drives it).
 */
struct mkvm_memslots {
	u64 generation;
	unsigned int nr;
	struct mkvm_memslot *by_gfn[MKVM_NR_MEMSLOTS];
};

void mkvm_memslots_init(struct mkvm_vm *vm);
void mkvm_memslots_destroy(struct mkvm_vm *vm);
struct mkvm_memslots *mkvm_memslots(struct mkvm_vm *vm);
struct mkvm_memslot *mkvm_gfn_to_memslot(struct mkvm_memslots *slots, u64 gfn);

/* For the update path (memslot_update.c), with vm->slots_lock held. */
struct mkvm_memslot *mkvm_memslot_by_id(struct mkvm_vm *vm, u32 id);
bool mkvm_memslots_overlap(struct mkvm_vm *vm, u64 base_gfn, u64 npages,
			   const struct mkvm_memslot *ignore);
void mkvm_memslots_prepare(struct mkvm_vm *vm, struct mkvm_memslot *old,
			   struct mkvm_memslot *new);
void mkvm_memslots_activate(struct mkvm_vm *vm);
void mkvm_memslots_complete(struct mkvm_vm *vm, struct mkvm_memslot *old,
			    struct mkvm_memslot *new);

/* memslot_update.c: MKVM_SET_USER_MEMORY_REGION. */
int mkvm_set_memory_region(struct mkvm_vm *vm,
			   const struct mkvm_userspace_memory_region *mem);

#ifdef CONFIG_MKVM_TEST_BUILD
int mkvm_memslot_selftest(void);
#else
static inline int mkvm_memslot_selftest(void) { return 0; }
#endif

#endif /* MKVM_MEMSLOT_H */
