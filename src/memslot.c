// SPDX-License-Identifier: GPL-2.0
/*
 * Memory slots: validation, the two-set SRCU publication, gfn lookup.
 *
 * Owns vm->slots_lock (writers) and vm->srcu (readers). As in KVM, a VM
 * keeps two sets of slots. Readers only ever see the active one. An update,
 * under slots_lock:
 *   1. applies the change to the inactive set, which no reader can see;
 *   2. publishes it as the active set (rcu_assign_pointer);
 *   3. waits for a grace period of vm->srcu, after which no reader is still
 *      inside the previously active set;
 *   4. applies the same change to that set, making it the new inactive one
 *      and the two sets equal again;
 *   5. frees the slot the change retired, which neither set holds now.
 * Readers never block writers and writers never block readers; a reader
 * sees either the whole old layout or the whole new one.
 *
 * Deleting or moving a slot will also have to zap its stage-2 mappings,
 * and the new layout must not become visible before that zap: like KVM's
 * kvm_invalidate_memslot(), the MMU will first publish an invalid copy of
 * the old slot (faults on it retry), wait for SRCU, zap, and only then
 * publish the new layout. All of that will go through slots_commit(), the
 * one place that publishes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/mkvm.h>

#include "memslot.h"
#include "mmu.h"
#include "notifier.h"
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

static void slots_publish(struct mkvm_vm *vm, void *next)
{
	rcu_assign_pointer(vm->memslots, (struct mkvm_memslots *)next);
}

/* Publish one change to the active set: @old replaced by @new. */
static void slots_commit(struct mkvm_vm *vm, struct mkvm_memslot *old,
			 struct mkvm_memslot *new)
{
	struct mkvm_memslots *active = slots_active(vm);
	struct mkvm_memslots *next = slots_inactive(vm);

	lockdep_assert_held(&vm->slots_lock);

	slots_replace(next, old, new);
	next->generation = active->generation + 1;
	/* Never between an invalidation's start and its end (notifier.c). */
	mkvm_memslots_wait_invalidations(vm, slots_publish, next);
	synchronize_srcu_expedited(&vm->srcu);

	/* No reader can be inside @active any more: bring it up to date. */
	slots_replace(active, old, new);
	active->generation = next->generation;
	WARN_ON_ONCE(active->nr != next->nr ||
		     memcmp(active->by_gfn, next->by_gfn,
			    next->nr * sizeof(next->by_gfn[0])));

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

/*
 * Deleting or moving a slot, in KVM's order (kvm_invalidate_memslot()):
 * first publish an invalid copy, on which faults retry; once SRCU has
 * synchronized, no fault still uses the old slot and none can start, so
 * the zap leaves nothing behind; then publish the final layout. A guest
 * never sees the new layout with the old slot's mappings still present.
 */
static void slots_retire(struct mkvm_vm *vm, struct mkvm_memslot *old,
			 struct mkvm_memslot *invalid, struct mkvm_memslot *new)
{
	lockdep_assert_held(&vm->slots_lock);
	*invalid = *old;
	invalid->flags |= MKVM_MEMSLOT_INVALID;
	slots_commit(vm, old, invalid);
	mkvm_mmu_zap_slot(vm, invalid);
	slots_commit(vm, invalid, new);
}

/* Checks that do not depend on the VM's current slots. */
static int region_validate(const struct mkvm_userspace_memory_region *mem)
{
	u64 end;

	if (mem->slot >= MKVM_NR_MEMSLOTS)
		return -EINVAL;
	if (mem->flags & ~MKVM_MEM_READONLY)
		return -EINVAL;	/* unknown, or MKVM_MEM_LOG_DIRTY_PAGES */
	if (!mem->memory_size)
		return 0;
	if (!PAGE_ALIGNED(mem->guest_phys_addr) ||
	    !PAGE_ALIGNED(mem->memory_size) ||
	    !PAGE_ALIGNED(mem->userspace_addr))
		return -EINVAL;
	if (check_add_overflow(mem->guest_phys_addr, mem->memory_size, &end) ||
	    end > MKVM_MAX_GFN << PAGE_SHIFT)
		return -EINVAL;
	/* As KVM: a tagged address (arm64 TBI, x86 LAM) is not an hva. */
	if (mem->userspace_addr != untagged_addr(mem->userspace_addr))
		return -EINVAL;
	if (mem->userspace_addr + mem->memory_size < mem->userspace_addr)
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(mem->userspace_addr), mem->memory_size))
		return -EFAULT;
	return 0;
}

static struct mkvm_memslot *slot_create(const struct mkvm_userspace_memory_region *mem)
{
	struct mkvm_memslot *slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);

	if (!slot)
		return NULL;
	slot->id = mem->slot;
	slot->flags = mem->flags;
	slot->base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	slot->npages = mem->memory_size >> PAGE_SHIFT;
	slot->userspace_addr = mem->userspace_addr;
	return slot;
}

/**
 * mkvm_set_memory_region() - create, move or delete a memory slot
 * @vm: the VM
 * @mem: the region, as copied from userspace
 *
 * Return: 0, or the errno listed for MKVM_SET_USER_MEMORY_REGION.
 */
int mkvm_set_memory_region(struct mkvm_vm *vm,
			   const struct mkvm_userspace_memory_region *mem)
{
	struct mkvm_memslot *old, *new, *invalid;
	int r;

	r = region_validate(mem);
	if (r)
		return r;

	/* Allocated up front: a retirement cannot fail half way. */
	invalid = kmalloc(sizeof(*invalid), GFP_KERNEL_ACCOUNT);
	if (!invalid)
		return -ENOMEM;

	mutex_lock(&vm->slots_lock);
	old = vm->slots_by_id[mem->slot];
	if (!mem->memory_size) {
		r = -EINVAL;
		if (old) {
			slots_retire(vm, old, invalid, NULL);
			invalid = NULL;
			atomic64_inc(&vm->stat_memslot_updates);
			r = 0;
		}
		goto out;
	}

	if (old) {
		/* Like KVM: an existing slot may only move. */
		r = -EINVAL;
		if (mem->memory_size != old->npages << PAGE_SHIFT ||
		    mem->userspace_addr != old->userspace_addr ||
		    mem->flags != old->flags)
			goto out;
		r = 0;
		if (mem->guest_phys_addr == old->base_gfn << PAGE_SHIFT)
			goto out;
	}

	r = -EEXIST;
	if (slots_overlap(slots_active(vm), mem->guest_phys_addr >> PAGE_SHIFT,
			  mem->memory_size >> PAGE_SHIFT, old))
		goto out;

	r = -ENOMEM;
	new = slot_create(mem);
	if (!new)
		goto out;
	if (old) {
		slots_retire(vm, old, invalid, new);
		invalid = NULL;
	} else {
		slots_commit(vm, NULL, new);
	}
	atomic64_inc(&vm->stat_memslot_updates);
	r = 0;
out:
	mutex_unlock(&vm->slots_lock);
	/* Still ours unless a retirement took it. */
	kfree(invalid);
	return r;
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
