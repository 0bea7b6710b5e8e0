// SPDX-License-Identifier: GPL-2.0
/*
 * gfn-to-pfn caches (KVM's virt/kvm/pfncache.c): kernel mappings of single
 * pages of guest or host memory that code with interrupts off can use
 * (KVM: Xen shared info, steal time, clocks). A cache is keyed by a
 * guest-physical address, translated through the memslots, or by a host
 * virtual address, which may lie outside every memslot.
 *
 * Readers take gpc->lock for read with interrupts off, check that the
 * cache is valid (and, for a GPA key, that the memslots have not changed
 * since), and use gpc->khva before unlocking. No page reference is held:
 * invalidate_range_start clears gpc->valid under gpc->lock for write
 * before the core mm can free the page, so a reader either saw it valid
 * and finishes before the page goes, or sees it invalid and refreshes.
 *
 * Refresh must drop gpc->lock to resolve the page (gup sleeps). An
 * invalidation can run entirely inside that window while the cache is
 * invalid, and so leaves no trace on it: refresh must learn of it by
 * other means before it publishes the page. Seed 004's thread has three
 * candidates, two of them wrong:
 *   1. KVM's mmu_invalidate_seq: it only moves when an invalidation hits a
 *      memslot, so an HVA key outside every slot misses it
 *      (MKVM_REVERT=SEED_004);
 *   2. a per-cache sequence bumped in invalidate_range_start: an
 *      invalidation that started before the cache was keyed and ends
 *      inside the window never bumps it (MKVM_REVERT=SEED_004_START);
 *   3. a per-VM sequence bumped in invalidate_range_end, under
 *      mn_invalidate_lock, before mn_active_invalidate_count drops, which
 *      refresh snapshots before unlocking and compares after relocking,
 *      having first checked that no invalidation is in flight. Every
 *      invalidation either is still counted when refresh relocks, or has
 *      bumped the sequence before its count dropped. mkvm does this, with
 *      the snapshot and the comparison on the same counter; the diff as
 *      posted snapshotted mmu_invalidate_seq and compared it with the new
 *      counter (MKVM_REVERT=SEED_004_MIXED).
 * The barriers: invalidate_range_end does "seq++; smp_wmb(); count--"
 * (notifier.c), refresh does "snapshot; smp_rmb(); unlock ... lock;
 * read count; smp_rmb(); read seq" (gpc_retry()).
 *
 * A per-VM sequence that moves on every invalidation of the process makes
 * a refresh racing unrelated churn retry for nothing (the thread calls it
 * a known, lurking problem). With gpc_range_aware (the default; a module
 * parameter, so that a benchmark can compare both in one run) refresh
 * retries only for an invalidation that overlaps its page:
 *   - in flight: invalidate_range_start keeps the union of the ranges in
 *     flight beside the count, under mn_invalidate_lock; the refresh
 *     checks the union under that lock;
 *   - ended since the snapshot: invalidate_range_end bumps the sequence
 *     only if its range overlaps the key of some cache, which it reads
 *     under that cache's lock.
 * Why that still catches every invalidation I that can free the page P
 * a refresh R resolved at key K: I clears the host PTE after its start
 * and before its end, and R's gup saw P mapped, so I's start (count and
 * union) came before that clear. If I's walk of the caches at start took
 * K's cache lock after R published, it invalidates the cache (the key
 * overlaps). Otherwise its count and union, written before that walk,
 * are visible to R's check through the cache lock, or I has ended: its
 * end's walk either read K (set before R's snapshot, under the same
 * lock) and bumped the sequence, or ran before R set K, and then I's PTE
 * clear came before R's gup, which cannot have returned P.
 *
 * Both supported architectures are 64-bit without highmem: a page's
 * kernel address is page_address(), valid while the page is not freed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/nospec.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/srcu.h>

#include <linux/mkvm.h>

#include "dirty.h"
#include "memslot.h"
#include "pfncache.h"
#include "testhooks.h"
#include "vm.h"

static bool gpc_range_aware = true;
module_param(gpc_range_aware, bool, 0644);
MODULE_PARM_DESC(gpc_range_aware,
		 "pfn cache refreshes retry only for invalidations of their own page (default: yes)");

/* The variants of seed 004 build the thread's own checks: no range. */
#if defined(CONFIG_MKVM_REVERT_SEED_004) || defined(CONFIG_MKVM_REVERT_SEED_004_START) || \
	defined(CONFIG_MKVM_REVERT_SEED_004_MIXED)
#define GPC_SEED_004_VARIANT	1
#else
#define GPC_SEED_004_VARIANT	0
#endif

/* The cache's page overlaps [@start, @end). */
static bool gpc_in_range(const struct mkvm_gpc *gpc, unsigned long start,
			 unsigned long end)
{
	unsigned long page = ALIGN_DOWN(gpc->uhva, PAGE_SIZE);

	return page < end && page + PAGE_SIZE > start;
}

/**
 * mkvm_gpc_invalidate_start() - invalidate_range_start's part
 * @vm: the VM
 * @start: first byte of the host range
 * @end: one past its last byte
 *
 * Called with mn_active_invalidate_count already raised, for every
 * invalidation, whether or not it hits a memslot: an HVA key need not lie
 * in one. A cache being refreshed is already invalid here; the refresh
 * learns of this invalidation from the count or the sequence.
 */
void mkvm_gpc_invalidate_start(struct mkvm_vm *vm, unsigned long start,
			       unsigned long end)
{
	struct mkvm_gpc *gpc;

	spin_lock(&vm->gpc_lock);
	list_for_each_entry(gpc, &vm->gpc_list, list) {
		write_lock_irq(&gpc->lock);
		if (gpc_in_range(gpc, start, end)) {
#ifdef CONFIG_MKVM_REVERT_SEED_004_START
			if (gpc->active && gpc->hva_keyed)
				gpc->hva_invalidate_seq++;
#endif
			gpc->valid = false;
		}
		write_unlock_irq(&gpc->lock);
	}
	spin_unlock(&vm->gpc_lock);
}

/**
 * mkvm_gpc_invalidate_end() - must invalidate_range_end bump the sequence?
 * @vm: the VM
 * @start: first byte of the host range
 * @end: one past its last byte
 *
 * Return: true if the range overlaps a cache's key (active or being
 * refreshed), or if refreshes are not range aware.
 */
bool mkvm_gpc_invalidate_end(struct mkvm_vm *vm, unsigned long start,
			     unsigned long end)
{
	struct mkvm_gpc *gpc;
	bool overlaps = false;

	if (GPC_SEED_004_VARIANT || !READ_ONCE(gpc_range_aware))
		return true;
	spin_lock(&vm->gpc_lock);
	list_for_each_entry(gpc, &vm->gpc_list, list) {
		read_lock_irq(&gpc->lock);
		overlaps |= gpc->active && gpc_in_range(gpc, start, end);
		read_unlock_irq(&gpc->lock);
	}
	spin_unlock(&vm->gpc_lock);
	return overlaps;
}

/**
 * mkvm_gpc_release() - the notifier's release: the creator's mm is going
 * @vm: the VM
 *
 * exit_mmap frees every page after release without invalidating anything,
 * so no cache may stay valid, and none may map anything again: refresh
 * fails from now on (the caches stay active; the clock stops writing).
 */
void mkvm_gpc_release(struct mkvm_vm *vm)
{
	struct mkvm_gpc *gpc;

	WRITE_ONCE(vm->mm_released, true);
	spin_lock(&vm->gpc_lock);
	list_for_each_entry(gpc, &vm->gpc_list, list) {
		write_lock_irq(&gpc->lock);
		gpc->valid = false;
		write_unlock_irq(&gpc->lock);
	}
	spin_unlock(&vm->gpc_lock);
}

/* What refresh remembers of the invalidations before it unlocks. */
struct gpc_snapshot {
	unsigned long seq;
#ifdef CONFIG_MKVM_REVERT_SEED_004_START
	unsigned long hva_seq;
#endif
};

static void gpc_snapshot(struct mkvm_gpc *gpc, struct gpc_snapshot *snap)
{
	lockdep_assert_held_write(&gpc->lock);
#if defined(CONFIG_MKVM_REVERT_SEED_004) || defined(CONFIG_MKVM_REVERT_SEED_004_MIXED)
	snap->seq = READ_ONCE(gpc->vm->mmu_invalidate_seq);
#elif defined(CONFIG_MKVM_REVERT_SEED_004_START)
	snap->seq = READ_ONCE(gpc->vm->mmu_invalidate_seq);
	snap->hva_seq = gpc->hva_invalidate_seq;
#else
	snap->seq = READ_ONCE(gpc->vm->gpc_invalidate_seq);
#endif
	/*
	 * The snapshot before the page lookup: an invalidation that ends
	 * after this read shows as a new sequence. The partner is the order
	 * of an invalidation: the host PTE zapped under its page-table lock,
	 * then the sequence bumped under mn_invalidate_lock in
	 * mkvm_mn_invalidate_range_end() (litmus: gpc-seq-snapshot).
	 */
	smp_rmb();
}

/* gpc_retry() for range-aware refreshes (the top of this file says why). */
static bool gpc_retry_range(struct mkvm_gpc *gpc, const struct gpc_snapshot *snap)
{
	struct mkvm_vm *vm = gpc->vm;
	bool retry;

	lockdep_assert_held_write(&gpc->lock);
	/* Under the lock, no barrier pair: the count, the union, the sequence. */
	spin_lock(&vm->mn_invalidate_lock);
	retry = (vm->mn_active_invalidate_count &&
		 gpc_in_range(gpc, vm->mn_invalidate_range_start,
			      vm->mn_invalidate_range_end)) ||
		vm->gpc_invalidate_seq != snap->seq;
	spin_unlock(&vm->mn_invalidate_lock);
	return retry;
}

/* Must a refresh that took @snap throw its page away and retry? */
static bool gpc_retry(struct mkvm_gpc *gpc, const struct gpc_snapshot *snap)
{
	struct mkvm_vm *vm = gpc->vm;

	lockdep_assert_held_write(&gpc->lock);
	if (!GPC_SEED_004_VARIANT && READ_ONCE(gpc_range_aware))
		return gpc_retry_range(gpc, snap);
	/*
	 * An invalidation between its start and its end (any range: the
	 * count is not per range) may not have freed the page yet.
	 */
	if (READ_ONCE(vm->mn_active_invalidate_count))
		return true;
	/*
	 * The count before the sequence: either the old, raised count or the
	 * new sequence is seen. Pairs with the smp_wmb() in
	 * mkvm_mn_invalidate_range_end() (litmus: gpc-seq-vs-count).
	 */
	smp_rmb();
#if defined(CONFIG_MKVM_REVERT_SEED_004)
	return READ_ONCE(vm->mmu_invalidate_seq) != snap->seq;
#elif defined(CONFIG_MKVM_REVERT_SEED_004_START)
	return READ_ONCE(vm->mmu_invalidate_seq) != snap->seq ||
	       gpc->hva_invalidate_seq != snap->hva_seq;
#else
	/* SEED_004_MIXED compares this with mmu_invalidate_seq's snapshot. */
	return READ_ONCE(vm->gpc_invalidate_seq) != snap->seq;
#endif
}

/* The page at @uhva, writable, with a reference; or an errno. */
static int gpc_get_page(unsigned long uhva, struct page **page)
{
	long n;

	if (get_user_page_fast_only(uhva, FOLL_WRITE, page))
		return 0;
	n = get_user_pages_unlocked(uhva, 1, page, FOLL_WRITE);
	if (n == 1)
		return 0;
	return n < 0 ? n : -EFAULT;
}

/*
 * Resolve and map the page at gpc->uhva, trying at most @max_tries times
 * (0: until a signal). Called and returns with gpc->lock held for write,
 * which it drops in between; on success *@ref holds the page's reference,
 * for the caller to put after unlocking.
 */
static int gpc_map_retry(struct mkvm_gpc *gpc, unsigned int max_tries,
			 struct page **ref)
{
	struct gpc_snapshot snap;
	unsigned int tries = 0;
	struct page *page;
	int r;

	lockdep_assert_held(&gpc->refresh_lock);
	lockdep_assert_held_write(&gpc->lock);
	/* From here on the notifier finds nothing to clear. */
	gpc->valid = false;
	for (;;) {
		gpc_snapshot(gpc, &snap);
		write_unlock_irq(&gpc->lock);

		/* May sleep and take mmap_lock: no gpc->lock here. */
		r = gpc_get_page(gpc->uhva, &page);
		if (r)
			goto relock;
		mkvm_hook(MKVM_HOOK_GPC_REFRESH_UNLOCKED, true);

		write_lock_irq(&gpc->lock);
		/* Only refresh sets it, and refresh_lock is ours. */
		WARN_ON_ONCE(gpc->valid);
		if (!gpc_retry(gpc, &snap))
			break;
		write_unlock_irq(&gpc->lock);
		atomic64_inc(&gpc->vm->stat_gpc_retries);
		put_page(page);
		/*
		 * An invalidation storm must not hold an ioctl for ever, nor a
		 * worker, which no signal reaches: it tries again later.
		 */
		r = -EINTR;
		if (signal_pending(current))
			goto relock;
		r = -EAGAIN;
		if (max_tries && ++tries >= max_tries)
			goto relock;
		cond_resched();
		write_lock_irq(&gpc->lock);
	}
	gpc->page = page;
	gpc->khva = page_address(page) + offset_in_page(gpc->uhva);
	gpc->valid = true;
	*ref = page;
	return 0;

relock:
	write_lock_irq(&gpc->lock);
	return r;
}

/*
 * Bring an active cache up to date with its key: for a GPA key, the slot
 * that maps it now; then, if invalid, a fresh mapping. gpc->lock held for
 * write (dropped and retaken inside).
 */
static int gpc_refresh_locked(struct mkvm_gpc *gpc, unsigned int max_tries,
			      struct page **ref)
{
	struct mkvm_vm *vm = gpc->vm;

	lockdep_assert_held(&gpc->refresh_lock);
	lockdep_assert_held_write(&gpc->lock);
	if (!gpc->active)
		return -ENOENT;
	/*
	 * The creator's mm is gone (mkvm_gpc_release()): nothing to map. A
	 * refresh cannot straddle the release: it runs in an ioctl of the
	 * creator or in the clock's worker, which both hold an mm_users
	 * reference, and exit_mmap runs only once the last is dropped.
	 */
	if (READ_ONCE(vm->mm_released))
		return -EFAULT;
	if (!gpc->hva_keyed) {
		u64 gfn = gpc->gpa >> PAGE_SHIFT;
		struct mkvm_memslots *slots;
		struct mkvm_memslot *slot;
		unsigned long uhva;
		int idx;

		idx = srcu_read_lock(&vm->srcu);
		slots = mkvm_memslots(vm);
		slot = mkvm_gfn_to_memslot(slots, gfn);
		/* As KVM: no slot, or one being deleted or moved, is no page. */
		if (!slot || (slot->flags & MKVM_MEMSLOT_INVALID)) {
			srcu_read_unlock(&vm->srcu, idx);
			gpc->valid = false;
			return -EFAULT;
		}
		uhva = slot->userspace_addr + (gfn - slot->base_gfn) * PAGE_SIZE +
		       offset_in_page(gpc->gpa);
		gpc->generation = slots->generation;
		srcu_read_unlock(&vm->srcu, idx);
		if (uhva != gpc->uhva) {
			gpc->uhva = uhva;
			gpc->valid = false;
		}
	}
	if (gpc->valid)
		return 0;
	atomic64_inc(&vm->stat_gpc_refreshes);
	return gpc_map_retry(gpc, max_tries, ref);
}

/**
 * mkvm_gpc_refresh() - make an active cache valid again (may sleep)
 * @gpc: the cache
 * @max_tries: mappings to try before giving up with -EAGAIN, 0 for no
 *	limit but a signal
 *
 * Runs in the VM creator's mm: an ioctl of the creator, or a worker that
 * took the mm with kthread_use_mm().
 *
 * Return: 0, -ENOENT (not active), -EFAULT (nothing to map) or gup's
 * errno, -EINTR, -EAGAIN.
 */
int mkvm_gpc_refresh(struct mkvm_gpc *gpc, unsigned int max_tries)
{
	struct page *ref = NULL;
	int r;

	mutex_lock(&gpc->refresh_lock);
	write_lock_irq(&gpc->lock);
	r = gpc_refresh_locked(gpc, max_tries, &ref);
	write_unlock_irq(&gpc->lock);
	mutex_unlock(&gpc->refresh_lock);
	/* The mapping keeps no reference: the notifier keeps it coherent. */
	if (ref)
		put_page(ref);
	return r;
}

/**
 * mkvm_gpc_check() - may a reader use gpc->khva now?
 * @gpc: the cache, with gpc->lock held (read or write), and inside
 *	vm->srcu for as long as the reader uses gpc->khva
 *
 * Never sleeps: for readers with interrupts off. If false, refresh. The
 * SRCU section is what makes a memslot update wait for a reader that
 * passed this check with the old memslots: after the update returns,
 * nothing writes through the old translation.
 */
bool mkvm_gpc_check(struct mkvm_gpc *gpc)
{
	struct mkvm_vm *vm = gpc->vm;

	lockdep_assert_held(&gpc->lock);
	RCU_LOCKDEP_WARN(!srcu_read_lock_held(&vm->srcu),
			 "mkvm: pfn cache checked outside vm->srcu");
	if (!gpc->active || !gpc->valid)
		return false;
	/* A GPA key's translation holds for the memslots it was made in. */
	return gpc->hva_keyed ||
	       mkvm_memslots(vm)->generation == gpc->generation;
}

/* Caches are created on first use, under vm->lock, and live as long as the VM. */
struct mkvm_gpc *mkvm_gpc_get(struct mkvm_vm *vm, u32 id, bool create)
{
	struct mkvm_gpc *gpc;

	/* A user's index: no speculation past the caller's bound check. */
	id = array_index_nospec(id, MKVM_NR_GPCS);
	/* Pairs with the smp_store_release() below (litmus: gpcs-publish). */
	gpc = smp_load_acquire(&vm->gpcs[id]);
	if (gpc || !create)
		return gpc;

	mutex_lock(&vm->lock);
	gpc = vm->gpcs[id];
	if (!gpc) {
		gpc = kzalloc(sizeof(*gpc), GFP_KERNEL_ACCOUNT);
		if (gpc) {
			gpc->vm = vm;
			gpc->id = id;
			mutex_init(&gpc->refresh_lock);
			rwlock_init(&gpc->lock);
			spin_lock(&vm->gpc_lock);
			list_add_tail(&gpc->list, &vm->gpc_list);
			spin_unlock(&vm->gpc_lock);
			/*
			 * Initialized before found: pairs with the
			 * smp_load_acquire() above (litmus: gpcs-publish).
			 */
			smp_store_release(&vm->gpcs[id], gpc);
		}
	}
	mutex_unlock(&vm->lock);
	return gpc;
}

/**
 * mkvm_vm_ioctl_gpc_activate() - MKVM_GPC_ACTIVATE
 * @vm: the VM
 * @arg: the request, copied from userspace
 *
 * Keys the cache (an active one is re-keyed) and maps its page. A cache
 * whose page cannot be mapped is left inactive.
 *
 * Return: 0, or the errno listed for MKVM_GPC_ACTIVATE.
 */
long mkvm_vm_ioctl_gpc_activate(struct mkvm_vm *vm,
				const struct mkvm_gpc_activate *arg)
{
	bool hva = arg->flags & MKVM_GPC_HVA;
	struct page *ref = NULL;
	struct mkvm_gpc *gpc;
	u64 end;
	int r;

	if (arg->id >= MKVM_NR_GPCS || arg->flags & ~MKVM_GPC_HVA)
		return -EINVAL;
	/* 64-bit fields, within one page. */
	if (!arg->len || !IS_ALIGNED(arg->addr | arg->len, 8) ||
	    offset_in_page(arg->addr) + arg->len > PAGE_SIZE ||
	    check_add_overflow(arg->addr, arg->len, &end))
		return -EINVAL;
	if (hva) {
		/* As for memslots: a tagged address is not an hva. */
		if (arg->addr != untagged_addr(arg->addr))
			return -EINVAL;
		if (!access_ok(u64_to_user_ptr(arg->addr), arg->len))
			return -EFAULT;
	} else if (end > MKVM_MAX_GFN << PAGE_SHIFT) {
		return -EINVAL;
	}

	gpc = mkvm_gpc_get(vm, arg->id, true);
	if (!gpc)
		return -ENOMEM;

	mutex_lock(&gpc->refresh_lock);
	write_lock_irq(&gpc->lock);
	gpc->active = true;
	gpc->valid = false;
	gpc->hva_keyed = hva;
	gpc->gpa = hva ? 0 : arg->addr;
	gpc->uhva = hva ? arg->addr : 0;
	gpc->len = arg->len;
	r = gpc_refresh_locked(gpc, 0, &ref);
	if (r)
		gpc->active = false;
	write_unlock_irq(&gpc->lock);
	mutex_unlock(&gpc->refresh_lock);
	if (ref)
		put_page(ref);
	return r;
}

/**
 * mkvm_vm_ioctl_gpc_deactivate() - MKVM_GPC_DEACTIVATE
 * @vm: the VM
 * @id: the cache
 *
 * Return: 0, -EINVAL for an id out of range, -ENOENT if it is not active.
 */
long mkvm_vm_ioctl_gpc_deactivate(struct mkvm_vm *vm, unsigned long id)
{
	struct mkvm_gpc *gpc;
	bool was_active;

	if (id >= MKVM_NR_GPCS)
		return -EINVAL;
	gpc = mkvm_gpc_get(vm, id, false);
	if (!gpc)
		return -ENOENT;
	mutex_lock(&gpc->refresh_lock);
	write_lock_irq(&gpc->lock);
	was_active = gpc->active;
	gpc->active = false;
	gpc->valid = false;
	gpc->page = NULL;
	gpc->khva = NULL;
	write_unlock_irq(&gpc->lock);
	mutex_unlock(&gpc->refresh_lock);
	return was_active ? 0 : -ENOENT;
}

/**
 * mkvm_gpc_mark_dirty() - the kernel wrote through a valid cache
 * @gpc: the cache, checked valid, its lock held, under vm->srcu
 *
 * No dirty PTE maps what the kernel wrote: the page is marked while the
 * cache holds it. A GPA-keyed cache's write is a write to guest memory,
 * and goes into its slot's dirty log when it logs, as KVM's
 * kvm_gpc_mark_dirty_in_slot() does (a valid cache's memslots are the
 * active ones, so the slot is there).
 */
void mkvm_gpc_mark_dirty(struct mkvm_gpc *gpc)
{
	struct mkvm_memslot *slot;
	u64 gfn = gpc->gpa >> PAGE_SHIFT;

	lockdep_assert_held(&gpc->lock);
	SetPageDirty(gpc->page);
	if (gpc->hva_keyed)
		return;
	slot = mkvm_gfn_to_memslot(mkvm_memslots(gpc->vm), gfn);
	if (slot && mkvm_slot_logs_dirty(slot)) {
		/*
		 * What was written before its bit: set_bit() orders nothing,
		 * and no mmu_lock orders this against the log's reader. Pairs
		 * with take_and_protect()'s fully ordered take
		 * (litmus: dirty-log-gpc-write).
		 */
		smp_mb__before_atomic();
		mkvm_mark_page_dirty(slot, gfn);
	}
}

/**
 * mkvm_vm_ioctl_gpc_access() - MKVM_GPC_READ and MKVM_GPC_WRITE
 * @vm: the VM
 * @arg: the request; a read's value is returned in @arg->data
 * @write: write @arg->data, else read
 *
 * The access itself runs as an atomic-context user's would: under
 * gpc->lock for read, interrupts off, after a check that never sleeps.
 * Only when the check fails does it refresh (which may sleep) and try
 * again, unless told not to.
 *
 * Return: 0, or the errno listed for MKVM_GPC_READ.
 */
long mkvm_vm_ioctl_gpc_access(struct mkvm_vm *vm, struct mkvm_gpc_access *arg,
			      bool write)
{
	struct mkvm_gpc *gpc;
	unsigned long flags;
	int r, idx;
	u64 *p;

	if (arg->id >= MKVM_NR_GPCS || arg->flags & ~MKVM_GPC_NO_REFRESH ||
	    !IS_ALIGNED(arg->offset, 8) || arg->offset >= PAGE_SIZE)
		return -EINVAL;
	gpc = mkvm_gpc_get(vm, arg->id, false);
	if (!gpc)
		return -ENOENT;

	for (;;) {
		idx = srcu_read_lock(&vm->srcu);
		read_lock_irqsave(&gpc->lock, flags);
		r = -ENOENT;
		if (!gpc->active)
			goto unlock;
		r = -EINVAL;
		if (arg->offset + 8 > gpc->len)
			goto unlock;
		if (mkvm_gpc_check(gpc))
			break;
		read_unlock_irqrestore(&gpc->lock, flags);
		srcu_read_unlock(&vm->srcu, idx);

		if (arg->flags & MKVM_GPC_NO_REFRESH)
			return -EAGAIN;
		r = mkvm_gpc_refresh(gpc, 0);
		if (r)
			return r;
	}
	p = gpc->khva + arg->offset;
	if (write) {
		WRITE_ONCE(*p, arg->data);
		mkvm_gpc_mark_dirty(gpc);
	} else {
		arg->data = READ_ONCE(*p);
	}
	r = 0;
unlock:
	read_unlock_irqrestore(&gpc->lock, flags);
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

void mkvm_gpc_init_vm(struct mkvm_vm *vm)
{
	spin_lock_init(&vm->gpc_lock);
	INIT_LIST_HEAD(&vm->gpc_list);
}

/* VM destroy, after the notifier is gone and no fd is left. */
void mkvm_gpc_destroy_vm(struct mkvm_vm *vm)
{
	struct mkvm_gpc *gpc, *next;

	list_for_each_entry_safe(gpc, next, &vm->gpc_list, list) {
		list_del(&gpc->list);
		kfree(gpc);
	}
}
