// SPDX-License-Identifier: GPL-2.0
/*
 * The memslot update path: MKVM_SET_USER_MEMORY_REGION from validation to
 * the last publication, and the one place that orders the three parties
 * of a change: the memslot sets (memslot.c, the data structure), the
 * notifier's in-flight invalidations (notifier.c), and stage-2 (mmu.c).
 * Whatever changes slots (dirty logging's flag changes too) goes through
 * here; roots never change slots.
 *
 * Holds vm->slots_lock for the whole of an update: it serializes updates
 * and guards the inactive set and vm->slots_by_id (vm.h). A change is
 * published by slots_commit(), in KVM's order (kvm_swap_active_memslots()):
 *   1. prepare the inactive set;
 *   2. activate it, but never between an invalidation's start and its end
 *      (a start and its end must see the same slots: notifier.c waits for
 *      the in-flight count to drop and publishes under its lock);
 *   3. wait for an SRCU grace period: no reader is left in the old set;
 *   4. complete: the sets are equal again, the retired slot is freed.
 * Deleting or moving a slot retires it first (slots_retire()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/mkvm.h>

#include "dirty.h"
#include "memslot.h"
#include "mmu.h"
#include "notifier.h"
#include "trace.h"
#include "vm.h"

/* Publish one change to the active set: @old replaced by @new. */
static void slots_commit(struct mkvm_vm *vm, struct mkvm_memslot *old,
			 struct mkvm_memslot *new)
{
	lockdep_assert_held(&vm->slots_lock);
	mkvm_memslots_prepare(vm, old, new);
	mkvm_memslots_wait_invalidations(vm, mkvm_memslots_activate);
	/* No reader left in the old set (litmus: memslots-grace-period). */
	synchronize_srcu_expedited(&vm->srcu);
	mkvm_memslots_complete(vm, old, new);
}

/*
 * Deleting or moving a slot, in KVM's order (kvm_invalidate_memslot()):
 * first publish an invalid copy, on which faults retry; once SRCU has
 * synchronized, no fault still uses the old slot and none can start, so
 * the zap leaves nothing behind; then publish the final layout. A guest
 * never sees the new layout with the old slot's mappings still present.
 *
 * The zap is of the slot's range, in every root (invalid ones too), not
 * KVM's fast zap (MKVM_INVALIDATE_ROOTS), which x86 uses here by default.
 * The range zap costs what the slot maps (the walk skips absent
 * subtrees) and leaves every other slot mapped. A fast zap would cost
 * more, never less: every vCPU would fault all its memory in again, and
 * the deleted slot's entries would live on in invalid roots where the
 * notifier, which finds roots' entries through the memslots by host
 * address, could no longer reach them once the slot is gone; so the
 * deletion would have to wait for the worker to zap everything, as
 * kvm_mmu_zap_all_fast() waits for the invalidated roots' zap. The fast
 * zap stays what it is good for: dropping everything at once.
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

/* One more change made: counted, and traced. */
static void slot_updated(struct mkvm_vm *vm, const struct mkvm_userspace_memory_region *mem,
			 enum mkvm_slot_change change)
{
	atomic64_inc(&vm->stat_memslot_updates);
	trace_mkvm_memslot_update(vm->id, mem->slot, change, mem->guest_phys_addr,
				  mem->memory_size, mem->flags);
}

/* Checks that do not depend on the VM's current slots. */
static int region_validate(const struct mkvm_userspace_memory_region *mem)
{
	u64 end;

	if (mem->slot >= MKVM_NR_MEMSLOTS)
		return -EINVAL;
	if (mem->flags & ~(MKVM_MEM_READONLY | MKVM_MEM_LOG_DIRTY_PAGES))
		return -EINVAL;
	if (!mem->memory_size)
		return 0;
	if (!PAGE_ALIGNED(mem->guest_phys_addr) ||
	    !PAGE_ALIGNED(mem->memory_size) ||
	    !PAGE_ALIGNED(mem->userspace_addr))
		return -EINVAL;
	if (check_add_overflow(mem->guest_phys_addr, mem->memory_size, &end) ||
	    end > MKVM_MAX_GFN << PAGE_SHIFT ||
	    mem->memory_size >> PAGE_SHIFT > MKVM_MEM_MAX_NR_PAGES)
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

/*
 * Only the logging flag changes, in place (KVM's KVM_MR_FLAGS_ONLY): the
 * new slot replaces the old in one publication. Once its grace period is
 * over no fault still maps from the old version, so what follows covers
 * every entry: starting to log write-protects (and eagerly splits) the
 * slot; stopping zaps it, so that faults map blocks again where the host
 * has them (x86 recovers huge pages by zapping too; arm64 leaves the 4K
 * entries until something unmaps them).
 */
static int slots_change_flags(struct mkvm_vm *vm, struct mkvm_memslot *old,
			      const struct mkvm_userspace_memory_region *mem)
{
	struct mkvm_memslot *new = slot_create(mem);

	lockdep_assert_held(&vm->slots_lock);
	if (!new)
		return -ENOMEM;
	if (mem->flags & MKVM_MEM_LOG_DIRTY_PAGES) {
		new->dirty_bitmap = mkvm_dirty_bitmap_alloc(new->npages);
		if (!new->dirty_bitmap) {
			kfree(new);
			return -ENOMEM;
		}
	}
	slots_commit(vm, old, new);
	if (mkvm_slot_logs_dirty(new))
		mkvm_dirty_log_start(vm, new);
	else
		mkvm_mmu_zap_slot(vm, new);
	return 0;
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
	old = mkvm_memslot_by_id(vm, mem->slot);
	if (!mem->memory_size) {
		r = -EINVAL;
		if (old) {
			slots_retire(vm, old, invalid, NULL);
			invalid = NULL;
			slot_updated(vm, mem, MKVM_SLOT_DELETE);
			r = 0;
		}
		goto out;
	}

	if (old) {
		/*
		 * Like KVM: an existing slot may move, or change its logging
		 * flag in place; not both at once, and nothing else.
		 */
		r = -EINVAL;
		if (mem->memory_size != old->npages << PAGE_SHIFT ||
		    mem->userspace_addr != old->userspace_addr ||
		    (mem->flags ^ old->flags) & ~MKVM_MEM_LOG_DIRTY_PAGES)
			goto out;
		if (mem->flags != old->flags) {
			if (mem->guest_phys_addr != old->base_gfn << PAGE_SHIFT)
				goto out;
			r = slots_change_flags(vm, old, mem);
			if (!r)
				slot_updated(vm, mem, MKVM_SLOT_FLAGS);
			goto out;
		}
		r = 0;
		if (mem->guest_phys_addr == old->base_gfn << PAGE_SHIFT)
			goto out;
	}

	r = -EEXIST;
	if (mkvm_memslots_overlap(vm, mem->guest_phys_addr >> PAGE_SHIFT,
				  mem->memory_size >> PAGE_SHIFT, old))
		goto out;

	/*
	 * A new id gets its room in the id map now, the last step that can
	 * fail: the commit below cannot. Released if the slot is not made.
	 */
	r = -ENOMEM;
	if (!old && mkvm_memslot_reserve_id(vm, mem->slot))
		goto out;
	new = slot_create(mem);
	/* A moved slot keeps its log; a new one starts with an empty one. */
	if (new && mkvm_slot_logs_dirty_flags(mem->flags)) {
		new->dirty_bitmap = old ? old->dirty_bitmap :
					  mkvm_dirty_bitmap_alloc(new->npages);
		if (!new->dirty_bitmap) {
			kfree(new);
			new = NULL;
		}
	}
	if (!new) {
		if (!old)
			mkvm_memslot_release_id(vm, mem->slot);
		goto out;
	}
	if (old) {
		slots_retire(vm, old, invalid, new);
		invalid = NULL;
	} else {
		slots_commit(vm, NULL, new);
	}
	slot_updated(vm, mem, old ? MKVM_SLOT_MOVE : MKVM_SLOT_CREATE);
	r = 0;
out:
	mutex_unlock(&vm->slots_lock);
	/* Still ours unless a retirement took it. */
	kfree(invalid);
	return r;
}
