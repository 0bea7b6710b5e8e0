/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_MEMSLOT_H
#define MKVM_MEMSLOT_H

#include <linux/bits.h>
#include <linux/rbtree.h>
#include <linux/types.h>

struct mkvm_vm;
struct mkvm_userspace_memory_region;

/* Slot ids are 0 .. MKVM_NR_MEMSLOTS - 1 (KVM's x86 KVM_USER_MEM_SLOTS). */
#define MKVM_NR_MEMSLOTS	32764
#define MKVM_GUEST_PHYS_BITS	48
/* One slot may cover at most the whole guest-physical space. */
#define MKVM_MAX_GFN		(1ULL << (MKVM_GUEST_PHYS_BITS - PAGE_SHIFT))
/*
 * ... and at most KVM's KVM_MEM_MAX_NR_PAGES pages (8 TiB): a logging
 * slot's bitmap, and the copy a get makes, stay below 256 MiB, well within
 * what kvmalloc() takes.
 */
#define MKVM_MEM_MAX_NR_PAGES	((1ULL << 31) - 1)

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

/* A slot's node in one set's hva interval tree: [start, last], inclusive. */
struct mkvm_hva_node {
	struct rb_node rb;
	unsigned long start;
	unsigned long last;
	unsigned long __subtree_last;
};

/*
 * @gfn_node and @hva_node hold one node per set (struct mkvm_memslots'
 * @node_idx), so that a slot can sit in both sets at once and a change
 * relinks it in one set without touching the other (KVM's gfn_node[2]
 * and hva_node[2]).
 */
/*
 * @dirty_bitmap: the dirty log while the slot has MKVM_MEM_LOG_DIRTY_PAGES
 * (dirty.c), else NULL: one bit per page, little-endian as userspace
 * reads it, set atomically by write faults under vm->srcu and cleared
 * under vm->slots_lock. The copies of a slot that a change publishes (the
 * invalid copy, the moved slot) share it; it is freed with the last of
 * them (mkvm_memslots_complete()).
 */
struct mkvm_memslot {
	struct rb_node gfn_node[2];
	struct mkvm_hva_node hva_node[2];
	u32 id;
	u32 flags;
	u64 base_gfn;
	u64 npages;
	unsigned long userspace_addr;
	unsigned long *dirty_bitmap;
};

/*
 * One set of memslots: an rbtree by base_gfn (slots never overlap in
 * guest-physical space, so the gfn lookup is one descent) and an interval
 * tree by host range (slots may share host memory). A VM has two sets:
 * the active one, read under vm->srcu, and the inactive one, which only
 * the holder of vm->slots_lock touches (memslot.c documents the swap,
 * memslot_update.c drives it). @node_idx picks the slots' nodes this set
 * links.
 */
struct mkvm_memslots {
	u64 generation;
	unsigned int nr;
	int node_idx;
	struct rb_root gfn_tree;
	struct rb_root_cached hva_tree;
};

void mkvm_memslots_init(struct mkvm_vm *vm);
void mkvm_memslots_destroy(struct mkvm_vm *vm);
struct mkvm_memslots *mkvm_memslots(struct mkvm_vm *vm);
struct mkvm_memslot *mkvm_gfn_to_memslot(struct mkvm_memslots *slots, u64 gfn);

/* A walk of one set's slots by host range: mkvm_for_each_memslot_in_hva_range(). */
struct mkvm_memslot_hva_iter {
	struct mkvm_memslots *slots;
	unsigned long start;
	unsigned long last;
	struct mkvm_memslot *cur;	/* NULL at the end */
};

struct mkvm_memslot_hva_iter mkvm_memslot_hva_first(struct mkvm_memslots *slots,
						    unsigned long start,
						    unsigned long last);
void mkvm_memslot_hva_next(struct mkvm_memslot_hva_iter *iter);

/**
 * mkvm_for_each_memslot_in_hva_range() - the slots whose host range meets
 *	[@start, @last]
 * @slot: the cursor, a struct mkvm_memslot *
 * @slots: a set obtained from mkvm_memslots() under vm->srcu
 * @start: first host address
 * @last: last host address, inclusive
 *
 * In order of the slots' first host address; O(log n) to start and per
 * slot found, whatever the number of slots that miss (KVM's
 * kvm_for_each_memslot_in_hva_range()). Each argument is evaluated once.
 */
#define mkvm_for_each_memslot_in_hva_range(slot, slots, start, last)	\
	for (struct mkvm_memslot_hva_iter __hva_iter =			\
		mkvm_memslot_hva_first(slots, start, last);		\
	     ((slot) = __hva_iter.cur) != NULL;				\
	     mkvm_memslot_hva_next(&__hva_iter))

/* For the update path (memslot_update.c), with vm->slots_lock held. */
struct mkvm_memslot *mkvm_memslot_by_id(struct mkvm_vm *vm, u32 id);
int mkvm_memslot_reserve_id(struct mkvm_vm *vm, u32 id);
void mkvm_memslot_release_id(struct mkvm_vm *vm, u32 id);
bool mkvm_memslots_overlap(struct mkvm_vm *vm, u64 base_gfn, u64 npages,
			   const struct mkvm_memslot *ignore);
void mkvm_memslots_prepare(struct mkvm_vm *vm, struct mkvm_memslot *old,
			   struct mkvm_memslot *new);
void mkvm_memslots_activate(struct mkvm_vm *vm);
void mkvm_memslots_complete(struct mkvm_vm *vm, struct mkvm_memslot *old,
			    struct mkvm_memslot *new);

/* memslot_update.c: MKVM_SET_USER_MEMORY_REGION; what a call changed. */
enum mkvm_slot_change {
	MKVM_SLOT_CREATE,
	MKVM_SLOT_DELETE,
	MKVM_SLOT_MOVE,
	MKVM_SLOT_FLAGS,	/* dirty logging on or off */
};

int mkvm_set_memory_region(struct mkvm_vm *vm,
			   const struct mkvm_userspace_memory_region *mem);

#ifdef CONFIG_MKVM_TEST_BUILD
int mkvm_memslot_selftest(void);
#else
static inline int mkvm_memslot_selftest(void) { return 0; }
#endif

#endif /* MKVM_MEMSLOT_H */
