// SPDX-License-Identifier: GPL-2.0
/*
 * Memory slots, the data structure: the two sets, their order, the gfn
 * lookup, and the three steps of a swap. The update path that decides
 * what changes, and in which order slots, stage-2 and the notifier move,
 * is memslot_update.c's.
 *
 * As in KVM, a VM keeps two sets of slots. Readers (vm->srcu) only ever
 * see the active one. One change, under vm->slots_lock:
 *   1. mkvm_memslots_prepare() applies it to the inactive set, which no
 *      reader can see;
 *   2. mkvm_memslots_activate() publishes that set (rcu_assign_pointer);
 *   3. after a grace period of vm->srcu, no reader is still inside the
 *      previously active set: mkvm_memslots_complete() applies the same
 *      change to it, making the two sets equal again, and frees the slot
 *      the change retired, which neither set holds now.
 * Readers never block writers and writers never block readers; a reader
 * sees either the whole old layout or the whole new one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <linux/mkvm.h>

#include "memslot.h"
#include "stats.h"
#include "vm.h"

static struct mkvm_memslots *slots_active(struct mkvm_vm *vm)
{
	return rcu_dereference_protected(vm->memslots,
					 lockdep_is_held(&vm->slots_lock));
}

static struct mkvm_memslots *slots_inactive(struct mkvm_vm *vm)
{
	struct mkvm_memslots *active = slots_active(vm);

	return active == &vm->__memslots[0] ? &vm->__memslots[1] :
					      &vm->__memslots[0];
}

/* Index of the first slot whose base_gfn is greater than @gfn. */
static unsigned int slots_upper_bound(const struct mkvm_memslots *slots,
				      u64 gfn)
{
	unsigned int lo = 0, hi = slots->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (slots->by_gfn[mid]->base_gfn <= gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/**
 * mkvm_gfn_to_memslot() - find the slot that maps a guest frame
 * @slots: a set obtained from mkvm_memslots() under vm->srcu
 * @gfn: guest frame number
 *
 * Return: the slot, valid until srcu_read_unlock(), or NULL.
 */
struct mkvm_memslot *mkvm_gfn_to_memslot(struct mkvm_memslots *slots, u64 gfn)
{
	unsigned int i = slots_upper_bound(slots, gfn);
	struct mkvm_memslot *slot;

	if (!i)
		return NULL;
	slot = slots->by_gfn[i - 1];
	return gfn - slot->base_gfn < slot->npages ? slot : NULL;
}

/* The active set; the caller holds vm->srcu for reading or vm->slots_lock. */
struct mkvm_memslots *mkvm_memslots(struct mkvm_vm *vm)
{
	return srcu_dereference_check(vm->memslots, &vm->srcu,
				      lockdep_is_held(&vm->slots_lock));
}

/* Does [base, base + npages) overlap any slot of @slots but @ignore? */
static bool slots_overlap(const struct mkvm_memslots *slots, u64 base,
			  u64 npages, const struct mkvm_memslot *ignore)
{
	unsigned int i = slots_upper_bound(slots, base + npages - 1);

	/* Only the slots starting at or below the range's end can overlap. */
	while (i--) {
		struct mkvm_memslot *s = slots->by_gfn[i];

		if (s == ignore)
			continue;
		return s->base_gfn + s->npages > base;
	}
	return false;
}

/* Replace @old by @new in @slots; either may be NULL. Keeps the sort. */
static void slots_replace(struct mkvm_memslots *slots,
			  struct mkvm_memslot *old, struct mkvm_memslot *new)
{
	unsigned int i;

	if (old) {
		for (i = 0; slots->by_gfn[i] != old; i++)
			;
		memmove(&slots->by_gfn[i], &slots->by_gfn[i + 1],
			(slots->nr - i - 1) * sizeof(slots->by_gfn[0]));
		slots->nr--;
	}
	if (new) {
		i = slots_upper_bound(slots, new->base_gfn);
		memmove(&slots->by_gfn[i + 1], &slots->by_gfn[i],
			(slots->nr - i) * sizeof(slots->by_gfn[0]));
		slots->by_gfn[i] = new;
		slots->nr++;
	}
}

/**
 * mkvm_memslots_overlap() - would a slot collide with the active set?
 * @vm: the VM, with vm->slots_lock held
 * @base_gfn: the slot's first guest frame
 * @npages: its size
 * @ignore: a slot of the set that does not count (the one moving), or NULL
 */
bool mkvm_memslots_overlap(struct mkvm_vm *vm, u64 base_gfn, u64 npages,
			   const struct mkvm_memslot *ignore)
{
	return slots_overlap(slots_active(vm), base_gfn, npages, ignore);
}

/* The slot with this id, or NULL; vm->slots_lock held. */
struct mkvm_memslot *mkvm_memslot_by_id(struct mkvm_vm *vm, u32 id)
{
	lockdep_assert_held(&vm->slots_lock);
	return vm->slots_by_id[id];
}

/* Step 1 of a swap: @old replaced by @new (either NULL) in the inactive set. */
void mkvm_memslots_prepare(struct mkvm_vm *vm, struct mkvm_memslot *old,
			   struct mkvm_memslot *new)
{
	struct mkvm_memslots *next = slots_inactive(vm);

	lockdep_assert_held(&vm->slots_lock);
	slots_replace(next, old, new);
	next->generation = slots_active(vm)->generation + 1;
}

/* Step 2: the prepared set becomes the one readers see. */
void mkvm_memslots_activate(struct mkvm_vm *vm)
{
	lockdep_assert_held(&vm->slots_lock);
	rcu_assign_pointer(vm->memslots, slots_inactive(vm));
}

/*
 * Step 3, after a grace period of vm->srcu since step 2: bring the set
 * no reader can be inside any more up to date, and free what @old was.
 */
void mkvm_memslots_complete(struct mkvm_vm *vm, struct mkvm_memslot *old,
			    struct mkvm_memslot *new)
{
	struct mkvm_memslots *active = slots_active(vm);
	struct mkvm_memslots *stale = slots_inactive(vm);

	lockdep_assert_held(&vm->slots_lock);
	slots_replace(stale, old, new);
	stale->generation = active->generation;
	WARN_ON_ONCE(stale->nr != active->nr ||
		     memcmp(stale->by_gfn, active->by_gfn,
			    active->nr * sizeof(active->by_gfn[0])));

	if (old) {
		vm->slots_by_id[old->id] = NULL;
		kfree(old);
		mkvm_stat_dec(MKVM_STAT_MEMSLOTS);
	}
	if (new) {
		vm->slots_by_id[new->id] = new;
		mkvm_stat_inc(MKVM_STAT_MEMSLOTS);
	}
}

void mkvm_memslots_init(struct mkvm_vm *vm)
{
	RCU_INIT_POINTER(vm->memslots, &vm->__memslots[0]);
}

/* Called from VM destroy, when no fd and hence no reader or writer is left. */
void mkvm_memslots_destroy(struct mkvm_vm *vm)
{
	unsigned int i;

	for (i = 0; i < MKVM_NR_MEMSLOTS; i++) {
		if (!vm->slots_by_id[i])
			continue;
		kfree(vm->slots_by_id[i]);
		vm->slots_by_id[i] = NULL;
		mkvm_stat_dec(MKVM_STAT_MEMSLOTS);
	}
}

#ifdef CONFIG_MKVM_TEST_BUILD
#include "selftest/memslot.c"
#endif
