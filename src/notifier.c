// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's mmu_notifier on its creator's mm: invalidation, aging, release.
 *
 * Owns vm->mn_invalidate_lock, vm->mn_active_invalidate_count, the range
 * in flight and vm->gpc_invalidate_seq (pfncache.c reads them; a refresh
 * takes mn_invalidate_lock under a cache's lock, which the clock's softirq
 * timer takes too: so mn_invalidate_lock is always taken with bottom
 * halves off). Every op but release
 * is a const struct mkvm_hva_range handed to one iterator, the only code
 * that walks memslots by host address: it enters vm->srcu, clips the range
 * to each memslot it hits, and only then takes mmu_lock for write, runs
 * on_lock once, the handler per slot, and after_handlers once.
 *
 * Rules from the core mm (docs/design.md, "Locks"): these run with
 * mmap_lock held, from reclaim, and the young ops under a page-table
 * spinlock, so nothing here sleeps except where the range says it may
 * block, nothing allocates, and invalidate_range_start never fails (an
 * -EAGAIN would mean its end is never called).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>

#include "compat.h"
#include "memslot.h"
#include "mmu.h"
#include "notifier.h"
#include "pfncache.h"
#include "root.h"
#include "stats.h"
#include "testhooks.h"
#include "trace.h"
#include "vm.h"

typedef bool (*mkvm_gfn_handler_t)(struct mkvm_vm *vm,
				   struct mkvm_gfn_range *range);
typedef void (*mkvm_hva_lock_fn_t)(struct mkvm_vm *vm, unsigned long start,
				   unsigned long end);

struct mkvm_hva_range {
	unsigned long start;
	unsigned long end;
	mkvm_gfn_handler_t handler;
	mkvm_hva_lock_fn_t on_lock;		/* before the handlers */
	mkvm_hva_lock_fn_t after_handlers;	/* after them, still locked */
	bool may_block;
};

static bool mkvm_null_handler(struct mkvm_vm *vm, struct mkvm_gfn_range *range)
{
	return false;
}

static void mkvm_null_lock_fn(struct mkvm_vm *vm, unsigned long start,
			      unsigned long end)
{
}

static struct mkvm_vm *mn_to_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct mkvm_vm, mmu_notifier);
}

/* What one walk did, as KVM's kvm_mmu_notifier_return. */
struct mkvm_hva_ret {
	bool ret;		/* some handler returned true */
	bool found_memslot;	/* the range hit a slot: on_lock ran */
};

static struct mkvm_hva_ret mkvm_handle_hva_range(struct mkvm_vm *vm,
						 const struct mkvm_hva_range *range)
{
	struct mkvm_hva_ret r = { };
	struct mkvm_memslots *slots;
	struct mkvm_memslot *slot;
	int idx;

	if (WARN_ON_ONCE(range->end <= range->start))
		return r;

	idx = srcu_read_lock(&vm->srcu);
	slots = mkvm_memslots(vm);
	mkvm_for_each_memslot_in_hva_range(slot, slots, range->start,
					   range->end - 1) {
		unsigned long slot_end = slot->userspace_addr +
					 (slot->npages << PAGE_SHIFT);
		unsigned long start = max(range->start, slot->userspace_addr);
		unsigned long end = min(range->end, slot_end);
		struct mkvm_gfn_range gfns = {
			.slot = slot,
			.may_block = range->may_block,
		};

		gfns.start = slot->base_gfn +
			     ((start - slot->userspace_addr) >> PAGE_SHIFT);
		gfns.end = slot->base_gfn +
			   ((end + PAGE_SIZE - 1 - slot->userspace_addr) >> PAGE_SHIFT);
		if (!r.found_memslot) {
			r.found_memslot = true;
			write_lock(&vm->mmu_lock);
			range->on_lock(vm, range->start, range->end);
		}
		r.ret |= range->handler(vm, &gfns);
	}
	if (r.found_memslot) {
		range->after_handlers(vm, range->start, range->end);
		write_unlock(&vm->mmu_lock);
	}
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

static int mkvm_mn_invalidate_range_start(struct mmu_notifier *mn,
					  const struct mmu_notifier_range *r)
{
	struct mkvm_vm *vm = mn_to_vm(mn);
	const struct mkvm_hva_range range = {
		.start = r->start,
		.end = r->end,
		.handler = mkvm_unmap_gfn_range,
		.on_lock = mkvm_mmu_invalidate_begin,
		.after_handlers = mkvm_null_lock_fn,
		.may_block = mmu_notifier_range_blockable(r),
	};

	/*
	 * Counted whether or not a memslot is hit; balanced by the decrement
	 * in mkvm_mn_invalidate_range_end(). While it is non-zero, memslots
	 * cannot be swapped (mkvm_memslots_wait_invalidations()), so start
	 * and end make the same "does a slot overlap" decision and
	 * mmu_invalidate_in_progress stays balanced.
	 */
	trace_mkvm_invalidate_start(vm->id, r->start, r->end, range.may_block);
	spin_lock_bh(&vm->mn_invalidate_lock);
	/* The union of the ranges in flight, for pfn cache refreshes. */
	if (!vm->mn_active_invalidate_count++) {
		vm->mn_invalidate_range_start = r->start;
		vm->mn_invalidate_range_end = r->end;
	} else {
		vm->mn_invalidate_range_start =
			min(vm->mn_invalidate_range_start, r->start);
		vm->mn_invalidate_range_end =
			max(vm->mn_invalidate_range_end, r->end);
	}
	spin_unlock_bh(&vm->mn_invalidate_lock);

	/* Every range, in a slot or not: a cache's HVA key need not be. */
	mkvm_gpc_invalidate_start(vm, r->start, r->end);
	mkvm_hook(MKVM_HOOK_INVALIDATE_STARTED, range.may_block);

	/*
	 * Zapped and in progress, the host PTEs not changed yet: a fault here
	 * still gets the old page from gup, and only in_progress stops it.
	 */
	if (mkvm_handle_hva_range(vm, &range).found_memslot)
		mkvm_hook(MKVM_HOOK_INVALIDATE_ZAPPED, range.may_block);
	return 0;
}

static void mkvm_mn_invalidate_range_end(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *r)
{
	struct mkvm_vm *vm = mn_to_vm(mn);
	const struct mkvm_hva_range range = {
		.start = r->start,
		.end = r->end,
		/* Test builds audit for stale entries before in_progress drops. */
		.handler = IS_ENABLED(CONFIG_MKVM_TEST_BUILD) ? mkvm_audit_gfn_range :
							 mkvm_null_handler,
		.on_lock = mkvm_null_lock_fn,
		.after_handlers = mkvm_mmu_invalidate_end,
		.may_block = mmu_notifier_range_blockable(r),
	};
	bool wake, caches;

	/* Between the core mm's start and end: an unregister can land here. */
	mkvm_hook(MKVM_HOOK_INVALIDATE_END, range.may_block);
	mkvm_handle_hva_range(vm, &range);
	/* Before the lock: it walks the caches under their own locks. */
	caches = mkvm_gpc_invalidate_end(vm, r->start, r->end);

	/* Balances the increment in mkvm_mn_invalidate_range_start(). */
	spin_lock_bh(&vm->mn_invalidate_lock);
	/* In the critical section that drops the count (seed 004's rule). */
	if (caches)
		WRITE_ONCE(vm->gpc_invalidate_seq, vm->gpc_invalidate_seq + 1);
	/*
	 * Visible before the count drops: pairs with gpc_retry()'s smp_rmb()
	 * (litmus: gpc-seq-vs-count).
	 */
	smp_wmb();
	if (!WARN_ON_ONCE(!vm->mn_active_invalidate_count))
		vm->mn_active_invalidate_count--;
	wake = !vm->mn_active_invalidate_count;
	spin_unlock_bh(&vm->mn_invalidate_lock);

	/* A memslot update may be waiting for the last invalidation. */
	if (wake)
		rcuwait_wake_up(&vm->mn_memslots_update_rcuwait);
	trace_mkvm_invalidate_end(vm->id, r->start, r->end, caches);
}

static bool mkvm_mn_age(struct mmu_notifier *mn, unsigned long start,
			unsigned long end, mkvm_gfn_handler_t handler)
{
	struct mkvm_vm *vm = mn_to_vm(mn);
	const struct mkvm_hva_range range = {
		.start = start,
		.end = end,
		.handler = handler,
		.on_lock = mkvm_null_lock_fn,
		.after_handlers = mkvm_null_lock_fn,
		/* Called under the host's page-table spinlock. */
		.may_block = false,
	};
	bool young;

	/* Under the host's page-table spinlock: the hook busy-waits. */
	mkvm_hook(MKVM_HOOK_AGE_BEFORE_LOCK, false);
	young = mkvm_handle_hva_range(vm, &range).ret;
	if (handler == mkvm_test_age_gfn_range)
		trace_mkvm_test_age(vm->id, start, end, young);
	else
		trace_mkvm_age(vm->id, start, end, young);
	return young;
}

static mkvm_young_t mkvm_mn_clear_flush_young(struct mmu_notifier *mn,
					      struct mm_struct *mm,
					      unsigned long start,
					      unsigned long end)
{
	return mkvm_mn_age(mn, start, end, mkvm_age_gfn_range);
}

static mkvm_young_t mkvm_mn_clear_young(struct mmu_notifier *mn,
					struct mm_struct *mm,
					unsigned long start, unsigned long end)
{
	return mkvm_mn_age(mn, start, end, mkvm_age_gfn_range);
}

static mkvm_young_t mkvm_mn_test_young(struct mmu_notifier *mn,
				       struct mm_struct *mm,
				       unsigned long address)
{
	return mkvm_mn_age(mn, address, address + 1, mkvm_test_age_gfn_range);
}

/*
 * exit_mmap, or mmu_notifier_unregister() at VM destroy, whichever comes
 * first; they may also overlap (seed 000). Flushing is idempotent.
 */
static void mkvm_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct mkvm_vm *vm = mn_to_vm(mn);
	int idx;

	trace_mkvm_release(vm->id);
	idx = srcu_read_lock(&vm->srcu);
	mkvm_mmu_flush_all(vm);
	srcu_read_unlock(&vm->srcu, idx);
	/* The pfn caches lose their pages now too, and for good. */
	mkvm_gpc_release(vm);
}

static const struct mmu_notifier_ops mkvm_mmu_notifier_ops = {
	.invalidate_range_start = mkvm_mn_invalidate_range_start,
	.invalidate_range_end = mkvm_mn_invalidate_range_end,
	.clear_flush_young = mkvm_mn_clear_flush_young,
	.clear_young = mkvm_mn_clear_young,
	.test_young = mkvm_mn_test_young,
	.release = mkvm_mn_release,
};

/* Called from VM create, in the creator's context (its mm is live). */
int mkvm_notifier_register(struct mkvm_vm *vm)
{
	spin_lock_init(&vm->mn_invalidate_lock);
	rcuwait_init(&vm->mn_memslots_update_rcuwait);
	vm->mmu_notifier.ops = &mkvm_mmu_notifier_ops;
	return mmu_notifier_register(&vm->mmu_notifier, vm->mm);
}

/*
 * Called from VM destroy. unregister runs release if exit_mmap has not,
 * and waits for every callback in flight: after it, none can touch the VM.
 * If it landed between a start and its end, that end never comes: the
 * count and in_progress stay raised. Nothing in mkvm's destroy waits on
 * them (it frees memslots directly; KVM's x86 destroy deletes memslots
 * through the path that waits, and would hang), so there is no hazard to
 * build back in for a proof; the count is reset as KVM does, so that no
 * later teardown step can ever wait on it, and the stat lets a test prove
 * it reached this case. With balanced counts, nothing may be in progress.
 */
void mkvm_notifier_unregister(struct mkvm_vm *vm)
{
	mmu_notifier_unregister(&vm->mmu_notifier, vm->mm);
	WARN_ON_ONCE(rcuwait_active(&vm->mn_memslots_update_rcuwait));
	if (vm->mn_active_invalidate_count) {
		mkvm_stat_inc(MKVM_STAT_UNREGISTERED_MID_INVALIDATION);
		vm->mn_active_invalidate_count = 0;
	} else {
		WARN_ON_ONCE(vm->mmu_invalidate_in_progress);
	}
}

/**
 * mkvm_memslots_wait_invalidations() - publish memslots between invalidations
 * @vm: the VM, with vm->slots_lock held
 * @publish: called with no invalidation in flight, under mn_invalidate_lock
 *
 * Like kvm_swap_active_memslots(): a start and its end must see the same
 * memslots. This can starve behind a stream of invalidations, as KVM's can.
 */
void mkvm_memslots_wait_invalidations(struct mkvm_vm *vm,
				      void (*publish)(struct mkvm_vm *vm))
{
	lockdep_assert_held(&vm->slots_lock);
	spin_lock_bh(&vm->mn_invalidate_lock);
	prepare_to_rcuwait(&vm->mn_memslots_update_rcuwait);
	while (vm->mn_active_invalidate_count) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		spin_unlock_bh(&vm->mn_invalidate_lock);
		schedule();
		spin_lock_bh(&vm->mn_invalidate_lock);
	}
	finish_rcuwait(&vm->mn_memslots_update_rcuwait);
	publish(vm);
	spin_unlock_bh(&vm->mn_invalidate_lock);
}
