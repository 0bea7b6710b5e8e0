// SPDX-License-Identifier: GPL-2.0
/*
 * The MMU: the stage-2 table's owner. The fault path with KVM's sequence
 * retry, the software vCPU's access through stage-2, the invalidation
 * bookkeeping, and the handlers the notifier (notifier.c) runs per memslot.
 *
 * Owns vm->mmu_lock and the vm->mmu_invalidate_* fields (vm.h says what
 * protects what); the roots that hold the tables are root.c's. The
 * protocol, as in KVM:
 *   - an invalidation raises mmu_invalidate_in_progress and zaps before the
 *     primary MMU changes anything, and bumps mmu_invalidate_seq when done;
 *   - a fault snapshots the sequence, resolves the page (may sleep), and
 *     installs it under mmu_lock only if no invalidation overlapping it is
 *     in progress and the sequence has not moved. Otherwise it retries.
 * So no stage-2 entry can outlive the host mapping it was made from.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <linux/mkvm.h>

#include "dirty.h"
#include "memslot.h"
#include "mmu.h"
#include "pgtable.h"
#include "root.h"
#include "stats.h"
#include "testhooks.h"
#include "trace.h"
#include "vcpu.h"
#include "vm.h"

void mkvm_mmu_invalidate_begin(struct mkvm_vm *vm, unsigned long start,
			       unsigned long end)
{
	lockdep_assert_held_write(&vm->mmu_lock);
	/*
	 * Overlapping invalidations merge into one range that only shrinks
	 * back when the last one ends: simpler than tracking each, and a
	 * fault that retries a little too often is still correct.
	 */
	if (likely(vm->mmu_invalidate_in_progress++ == 0)) {
		vm->mmu_invalidate_range_start = start;
		vm->mmu_invalidate_range_end = end;
	} else {
		vm->mmu_invalidate_range_start =
			min(vm->mmu_invalidate_range_start, start);
		vm->mmu_invalidate_range_end =
			max(vm->mmu_invalidate_range_end, end);
	}
}

void mkvm_mmu_invalidate_end(struct mkvm_vm *vm, unsigned long start,
			     unsigned long end)
{
	lockdep_assert_held_write(&vm->mmu_lock);
	/* Bump the sequence in the same critical section (seed 004's rule). */
	vm->mmu_invalidate_seq++;
	/*
	 * Sequence before in_progress. Pairs with the smp_rmb() in
	 * mmu_invalidate_retry(): a fault that sees in_progress drop also
	 * sees the new sequence, and retries (litmus: mmu-seq-vs-in-progress).
	 */
	smp_wmb();
	vm->mmu_invalidate_in_progress--;
	WARN_ON_ONCE(vm->mmu_invalidate_in_progress < 0);
}

/* Must a fault that snapshotted @mmu_seq and maps [@hva, @hva_end) retry? */
static bool mmu_invalidate_retry(struct mkvm_vm *vm, unsigned long mmu_seq,
				 unsigned long hva, unsigned long hva_end)
{
	lockdep_assert_held(&vm->mmu_lock);
	/* MKVM_REVERT=IN_PROGRESS: only the sequence, for its reproducer. */
	if (!IS_ENABLED(CONFIG_MKVM_REVERT_IN_PROGRESS) &&
	    unlikely(vm->mmu_invalidate_in_progress) &&
	    hva < vm->mmu_invalidate_range_end &&
	    hva_end > vm->mmu_invalidate_range_start)
		return true;
	/*
	 * Pairs with the smp_wmb() in mkvm_mmu_invalidate_end()
	 * (litmus: mmu-seq-vs-in-progress).
	 */
	smp_rmb();
	return READ_ONCE(vm->mmu_invalidate_seq) != mmu_seq;
}

/*
 * Notifier handlers: called by notifier.c with mmu_lock held for write,
 * once per memslot the hva range hits. They reach every root on the list,
 * invalid ones included: a root the teardown worker has not finished
 * still maps pages (seed 002). They return "needs a TLB flush", which for
 * a software vCPU only reports that something changed.
 */
static bool unmap_root(struct mkvm_vm *vm, struct mkvm_root *root,
		       struct mkvm_gfn_range *range, enum mkvm_zap_yield yield)
{
	bool unmapped = mkvm_root_unmap(vm, root, range->start << PAGE_SHIFT,
					range->end << PAGE_SHIFT, yield);

	if (unmapped && root->invalid)
		atomic64_inc(&vm->stat_invalid_root_zaps);
	return unmapped;
}

bool mkvm_unmap_gfn_range(struct mkvm_vm *vm, struct mkvm_gfn_range *range)
{
	struct mkvm_root *root;
	bool unmapped = false;

	lockdep_assert_held_write(&vm->mmu_lock);
	/* The auditor's proof build skips the zap (Kbuild: MKVM_REVERT). */
	if (IS_ENABLED(CONFIG_MKVM_REVERT_ZAP))
		return false;
	if (range->may_block) {
		for (root = mkvm_root_next(vm, NULL); root;
		     root = mkvm_root_next(vm, root))
			unmapped |= unmap_root(vm, root, range, MKVM_ZAP_YIELD);
	} else {
		mkvm_for_each_root(vm, root)
			unmapped |= unmap_root(vm, root, range, MKVM_ZAP_ATOMIC);
	}
	if (unmapped)
		atomic64_inc(&vm->stat_zapped);
	trace_mkvm_zap(vm->id, range->start, range->end, unmapped);
	return unmapped;
}

static bool age_gfn_range(struct mkvm_vm *vm, struct mkvm_gfn_range *range,
			  bool clear)
{
	struct mkvm_root *root;
	bool young = false;

	lockdep_assert_held_write(&vm->mmu_lock);
	/* After release no root has a table: nothing is young (seed 003). */
	if (!IS_ENABLED(CONFIG_MKVM_REVERT_SEED_003) && vm->mmu_released) {
		mkvm_stat_inc(MKVM_STAT_AGE_AFTER_RELEASE);
		return false;
	}
	/* Every root's table is there until release (root.h). */
	mkvm_for_each_root(vm, root)
		young |= mkvm_s2_age(root->s2, range->start << PAGE_SHIFT,
				     (range->end - range->start) << PAGE_SHIFT,
				     clear);
	atomic64_inc(&vm->stat_age_calls);
	if (young)
		atomic64_inc(&vm->stat_age_young);
	return young;
}

bool mkvm_age_gfn_range(struct mkvm_vm *vm, struct mkvm_gfn_range *range)
{
	return age_gfn_range(vm, range, true);
}

bool mkvm_test_age_gfn_range(struct mkvm_vm *vm, struct mkvm_gfn_range *range)
{
	return age_gfn_range(vm, range, false);
}

/*
 * The stale-mapping auditor (test builds): at invalidate_range_end, before
 * in_progress drops, nothing may map the invalidated range. A fault cannot
 * have installed anything there since start (it retries), so any entry
 * found is a missed zap: WARN now instead of a rare wrong read later. It
 * checks every root that exists, on the list or not (vm->roots_audit): a
 * root the notifier could not reach is exactly what it must catch.
 */
bool mkvm_audit_gfn_range(struct mkvm_vm *vm, struct mkvm_gfn_range *range)
{
#ifdef CONFIG_MKVM_TEST_BUILD
	struct mkvm_root *root;

	lockdep_assert_held_write(&vm->mmu_lock);
	list_for_each_entry(root, &vm->roots_audit, audit_link) {
		/* A walk that skips absent subtrees: cheap enough to leave on. */
		WARN(root->s2 &&
		     mkvm_s2_any_mapped(root->s2, range->start << PAGE_SHIFT,
					(range->end - range->start) << PAGE_SHIFT),
		     "mkvm: stale stage-2 entry in gfns 0x%llx-0x%llx after invalidation (%s root)\n",
		     range->start, range->end, root->invalid ? "invalid" : "valid");
	}
#endif
	return false;
}

/* Zap a memslot's range (memslot_update.c, deleting or moving it). */
void mkvm_mmu_zap_slot(struct mkvm_vm *vm, const struct mkvm_memslot *slot)
{
	struct mkvm_gfn_range range = {
		.start = slot->base_gfn,
		.end = slot->base_gfn + slot->npages,
		.may_block = true,
	};

	write_lock(&vm->mmu_lock);
	mkvm_unmap_gfn_range(vm, &range);
	write_unlock(&vm->mmu_lock);
}

/*
 * The largest leaf the host maps @hva with, from the host page tables, as
 * x86 KVM sizes mappings: a lockless walk with interrupts off. What keeps
 * the tables alive (seed 001): the fault runs in a thread of the VM's mm
 * (checked on every vCPU ioctl), so exit_mmap cannot run; and a page-table
 * page that munmap or a THP collapse frees is freed only after an IPI or
 * an RCU grace period, neither of which can complete while this CPU has
 * interrupts off (what GUP-fast relies on too). The answer is only a size
 * hint: if the host mapping changes after the walk, an invalidation bumps
 * the sequence and the fault retries before installing anything.
 */
static int host_mapping_level(struct mm_struct *mm, unsigned long hva)
{
	unsigned long flags;
	int level = MKVM_S2_LEAF_LEVEL;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;

	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd) || !pgd_present(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (pud_none(pud) || !pud_present(pud))
		goto out;
	if (pud_leaf(pud)) {
		level = 1;
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	if (pmd_present(pmd) && pmd_leaf(pmd))
		level = 2;
out:
	local_irq_restore(flags);
	return level;
}

/* The level to map @gpa at: what the host maps, if the slot allows it. */
static int fault_level(struct mkvm_vm *vm, const struct mkvm_memslot *slot,
		       u64 gpa, unsigned long hva)
{
	int level;

	/* A logging slot is mapped page by page, so each write is seen. */
	if (mkvm_slot_logs_dirty(slot))
		return MKVM_S2_LEAF_LEVEL;
	for (level = host_mapping_level(vm->mm, hva);
	     level < MKVM_S2_LEAF_LEVEL; level++) {
		u64 size = mkvm_s2_level_size(level);
		u64 first = ALIGN_DOWN(gpa, size) >> PAGE_SHIFT;

		/* Guest and host offsets must agree, the block fit the slot. */
		if ((gpa & (size - 1)) == (hva & (size - 1)) &&
		    first >= slot->base_gfn &&
		    first + (size >> PAGE_SHIFT) <= slot->base_gfn + slot->npages)
			break;
	}
	return level;
}

/*
 * Resolve the host page; sets *writable if it may be mapped writable.
 * @eager_writable: a read may map it writable too, if the host has it so.
 */
static int fault_get_page(unsigned long hva, bool write, bool eager_writable,
			  struct page **page, bool *writable)
{
	*writable = false;
	/* Map writable whenever the host page already is, as KVM does. */
	if (eager_writable && get_user_page_fast_only(hva, FOLL_WRITE, page)) {
		*writable = true;
		return 0;
	}
	if (get_user_pages_unlocked(hva, 1, page, write ? FOLL_WRITE : 0) != 1)
		return -EFAULT;
	*writable = write;
	return 0;
}

/*
 * Install the leaf, or find the one a racing fault installed. -EAGAIN: a
 * write met a write-protected block where only pages may be writable (a
 * logging slot): the caller splits the block and the access faults again.
 */
static int fault_map(struct mkvm_s2 *s2, u64 gpa, int level, struct page *page,
		     unsigned long hva, bool writable, bool pages_only,
		     struct mkvm_memcache *mc)
{
	u64 size = mkvm_s2_level_size(level);
	u64 pfn = page_to_pfn(page) - ((hva & (size - 1)) >> PAGE_SHIFT);
	enum mkvm_prot prot = MKVM_PROT_R | (writable ? MKVM_PROT_W : 0);
	struct mkvm_s2_leaf leaf;
	int r;

	r = mkvm_s2_map(s2, ALIGN_DOWN(gpa, size), level, pfn, prot, mc);
	if (r == -ENOTBLK)	/* smaller leaves already there: add one */
		r = mkvm_s2_map(s2, ALIGN_DOWN(gpa, PAGE_SIZE), MKVM_S2_LEAF_LEVEL,
				page_to_pfn(page), prot, mc);
	if (r != -EAGAIN)
		return r;
	/*
	 * A leaf is there already. If it lacks the write permission this
	 * fault has, it maps the same page: a different page would have
	 * needed an invalidation, which the sequence check ruled out.
	 */
	if (writable && mkvm_s2_lookup(s2, gpa, &leaf) &&
	    !(mkvm_s2_leaf_prot(&leaf) & MKVM_PROT_W)) {
		/*
		 * Never grant write to a page other than the one gup gave us.
		 * Reaching this is a bug; retrying would meet the same entry
		 * for ever, so the access fails instead.
		 */
		if (WARN_ON_ONCE(mkvm_s2_leaf_pfn(&leaf, gpa) != page_to_pfn(page)))
			return -EIO;
		if (pages_only && leaf.level != MKVM_S2_LEAF_LEVEL)
			return -EAGAIN;
		mkvm_s2_leaf_relax(&leaf, MKVM_PROT_W);
	}
	return 0;
}

/*
 * Guest writes through a writable entry go through kmap and never set the
 * host PTE's dirty bit: mark the page dirty whenever the entry is
 * writable, even for a read fault, or reclaim could drop a clean shmem (or
 * lazily freed) page the guest later wrote (arm64 KVM does the same).
 * (MKVM_REVERT=DIRTY builds that loss back in, for its test.)
 *
 * Called under mmu_lock, right after the entry went in, as KVM does: an
 * invalidation that zaps the entry (MADV_FREE, writeback's mkclean,
 * truncate) needs mmu_lock for write, so it comes after this and its
 * cleaning wins. Dirtying after the unlock could land after such an
 * invalidation and writeback, re-dirtying a page no entry maps: that
 * defeats MADV_FREE, and on ext4 reaches ext4_dirty_folio()'s WARN for a
 * folio whose buffers reclaim already stripped (MKVM_REVERT=DIRTY_UNLOCKED
 * builds that back in).
 *
 * Only the flag, as KVM's kvm_set_page_dirty(): set_page_dirty_lock()
 * sleeps on the page lock, and set_page_dirty() without it may race with
 * truncate. The flag alone is safe here: for anon, shmem and hugetlb
 * folios it is all their dirty_folio does; a shared file page can only
 * be mapped writable after a write fault ran ->page_mkwrite and dirtied
 * (and tagged) it through the filesystem, and writeback write-protects
 * the host PTE (an invalidation) before it cleans, so under mmu_lock,
 * with the sequence unchanged, the folio is still dirty or being made so
 * by the filesystem: the flag adds nothing the filesystem must account.
 * The gup reference keeps the page from being freed meanwhile.
 */
static void fault_mark_dirty(struct page *page)
{
	SetPageDirty(page);
}

/**
 * mkvm_mmu_fault() - make @gpa accessible to @vcpu, or say why not
 * @vcpu: the faulting vCPU (its mutex held, in a thread of the VM's mm)
 * @gpa: guest-physical address
 * @write: the access writes
 *
 * Return: 0 when the caller should retry the access (the page is mapped,
 * or a race asked for a retry); MKVM_FAULT_MMIO when no memslot serves
 * it; -EFAULT if the host memory cannot be resolved or the notifier's
 * release ran (the mm is going away); -ENOMEM; -EIO if
 * stage-2 holds an entry it never should (a WARN says which).
 */
int mkvm_mmu_fault(struct mkvm_vcpu *vcpu, u64 gpa, bool write)
{
	struct mkvm_vm *vm = vcpu->vm;
	struct mkvm_memslot *slot;
	struct mkvm_root *root;
	int outcome = MKVM_FAULT_ERROR, level = -1, r, idx;
	unsigned long mmu_seq, hva = 0, size;
	bool writable, slot_writable, logging, installed = false;
	struct page *page;

	/* The vCPU's memory cache and root are its mutex's. */
	lockdep_assert_held(&vcpu->mutex);
	might_sleep();
	/* Table pages come from the cache, filled here where we may sleep. */
	r = mkvm_memcache_topup(&vcpu->memcache, MKVM_MEMCACHE_MIN);
	if (r)
		goto out;
	/* Its root is valid now, or the check under mmu_lock sends us back. */
	r = mkvm_vcpu_load_root(vcpu);
	if (r)
		goto out;
	root = vcpu->root;

	idx = srcu_read_lock(&vm->srcu);
	slot = mkvm_gfn_to_memslot(mkvm_memslots(vm), gpa >> PAGE_SHIFT);
	r = 0;
	outcome = MKVM_FAULT_RETRY_SLOT;
	if (slot && (slot->flags & MKVM_MEMSLOT_INVALID))
		goto out_srcu;	/* being deleted or moved: retry */
	slot_writable = slot && !(slot->flags & MKVM_MEM_READONLY);
	r = MKVM_FAULT_MMIO;
	outcome = MKVM_FAULT_EXIT_MMIO;
	if (!slot || (write && !slot_writable))
		goto out_srcu;
	hva = slot->userspace_addr +
	      ((gpa >> PAGE_SHIFT) - slot->base_gfn) * PAGE_SIZE;

	/* Snapshot the sequence before resolving the page. */
	mmu_seq = READ_ONCE(vm->mmu_invalidate_seq);
	/*
	 * The snapshot before the page lookup. The partner is the order of an
	 * invalidation: the host PTE is zapped under its page-table lock, and
	 * only then mkvm_mmu_invalidate_end() bumps the sequence under
	 * mmu_lock. So a lookup that still finds the old page comes with the
	 * old sequence: an invalidation that ends after this read shows as a
	 * new sequence under mmu_lock, one still running as in_progress
	 * (litmus: mmu-seq-snapshot).
	 */
	smp_rmb();

	/* May sleep and take mmap_lock: no mmu_lock here. */
	logging = mkvm_slot_logs_dirty(slot);
	/* A logging slot maps reads read-only: the first write must fault. */
	outcome = MKVM_FAULT_ERROR;
	r = fault_get_page(hva, write, slot_writable && (write || !logging),
			   &page, &writable);
	if (r)
		goto out_srcu;
	level = fault_level(vm, slot, gpa, hva);
	size = mkvm_s2_level_size(level);
	mkvm_hook(MKVM_HOOK_FAULT_SIZED, true);

	read_lock(&vm->mmu_lock);
	if (root->invalid) {
		/* Invalidated or released since the load: load again. */
		r = 0;
		outcome = MKVM_FAULT_RETRY_ROOT;
	} else if (!IS_ENABLED(CONFIG_MKVM_REVERT_SEED_001) &&
		   mmu_invalidate_retry(vm, mmu_seq, ALIGN_DOWN(hva, size),
					ALIGN_DOWN(hva, size) + size)) {
		vcpu->run->stat_retries++;
		WRITE_ONCE(vcpu->stat.fault_retries, vcpu->stat.fault_retries + 1);
		r = 0;
		outcome = MKVM_FAULT_RETRY_INVALIDATION;
	} else {
		/* A valid root always has its table (root.h). */
		r = fault_map(root->s2, gpa, level, page, hva, writable,
			      logging, &vcpu->memcache);
		installed = !r;
		if (installed)
			outcome = MKVM_FAULT_MAPPED;
		if (installed && writable && !IS_ENABLED(CONFIG_MKVM_REVERT_DIRTY) &&
		    !IS_ENABLED(CONFIG_MKVM_REVERT_DIRTY_UNLOCKED))
			fault_mark_dirty(page);
		/* Under mmu_lock: a get or clear that write-protects comes after. */
		if (installed && writable && logging)
			mkvm_mark_page_dirty(slot, gpa >> PAGE_SHIFT);
		vcpu->run->stat_faults++;
		WRITE_ONCE(vcpu->stat.faults, vcpu->stat.faults + 1);
	}
	read_unlock(&vm->mmu_lock);

	if (r == -EAGAIN) {
		/*
		 * A write to a block of a logging slot that eager splitting
		 * did not split: split it now, as arm64 does on the fault,
		 * from this vCPU's cache (a 1G block takes two pages). The
		 * split re-expresses what the block maps, nothing new: no
		 * sequence check. Then the access faults again, on a page.
		 */
		write_lock(&vm->mmu_lock);
		outcome = root->invalid ? MKVM_FAULT_RETRY_ROOT : MKVM_FAULT_SPLIT;
		if (!root->invalid)
			mkvm_s2_split(root->s2, ALIGN_DOWN(gpa, PAGE_SIZE), PAGE_SIZE,
				      mkvm_memcache_take, &vcpu->memcache);
		write_unlock(&vm->mmu_lock);
		r = 0;
	}

	if (installed) {
		/* Where the dirtying used to be: an invalidation may run here. */
		mkvm_hook(MKVM_HOOK_FAULT_INSTALLED, true);
		/* The proof build of the old bug: dirtying after the unlock. */
		if (IS_ENABLED(CONFIG_MKVM_REVERT_DIRTY_UNLOCKED) && writable)
			set_page_dirty_lock(page);
	}
	put_page(page);
out_srcu:
	srcu_read_unlock(&vm->srcu, idx);
out:
	trace_mkvm_fault(vm->id, vcpu->id, gpa, hva, level, write, outcome, r < 0 ? r : 0);
	return r;
}

/*
 * Naturally aligned accesses are single-copy atomic, as on hardware: a
 * guest never sees a torn value while the process writes the same word.
 * The ABI's values are little-endian, like both supported architectures.
 */
static void access_copy(void *va, unsigned int size, bool write, u64 *data)
{
	switch (size) {
	case 1:
		if (write)
			WRITE_ONCE(*(u8 *)va, *data);
		else
			*data = READ_ONCE(*(u8 *)va);
		break;
	case 2:
		if (write)
			WRITE_ONCE(*(u16 *)va, *data);
		else
			*data = READ_ONCE(*(u16 *)va);
		break;
	case 4:
		if (write)
			WRITE_ONCE(*(u32 *)va, *data);
		else
			*data = READ_ONCE(*(u32 *)va);
		break;
	default:
		if (write)
			WRITE_ONCE(*(u64 *)va, *data);
		else
			*data = READ_ONCE(*(u64 *)va);
		break;
	}
}

/**
 * mkvm_mmu_access() - one guest access through stage-2
 * @vcpu: the vCPU
 * @gpa: guest-physical address, aligned to @size
 * @size: 1, 2, 4 or 8
 * @write: write *@data, else read into *@data
 * @data: the value
 *
 * The walk and the access to the host page happen under mmu_lock for
 * read, the software version of hardware walking stage-2 between TLB
 * flushes: a zap (mmu_lock for write) cannot remove the entry while the
 * access uses it, so no access ever touches a page the host took back.
 *
 * Return: 0; -ENOENT if the vCPU must fault (no entry, or no write
 * permission for a write); or what loading a root returned (-EFAULT once
 * the mm is going away, -ENOMEM).
 */
int mkvm_mmu_access(struct mkvm_vcpu *vcpu, u64 gpa, unsigned int size,
		    bool write, u64 *data)
{
	struct mkvm_vm *vm = vcpu->vm;
	struct mkvm_s2_leaf leaf;
	struct mkvm_root *root;
	void *va;
	int r;

	lockdep_assert_held(&vcpu->mutex);
	/*
	 * On the VM's valid root, which other vCPUs may have filled: a vCPU
	 * faults only for what no vCPU mapped, as hardware walking a shared
	 * root would.
	 */
	r = mkvm_vcpu_load_root(vcpu);
	if (r)
		return r;
	root = vcpu->root;
	r = -ENOENT;
	read_lock(&vm->mmu_lock);
	/* Invalidated since the load: the fault moves to a new root. */
	if (root->invalid || !mkvm_s2_lookup(root->s2, gpa, &leaf))
		goto out;
	if (write && !(mkvm_s2_leaf_prot(&leaf) & MKVM_PROT_W))
		goto out;
	mkvm_s2_leaf_mkyoung(&leaf);
	va = kmap_local_page(pfn_to_page(mkvm_s2_leaf_pfn(&leaf, gpa)));
	access_copy(va + offset_in_page(gpa), size, write, data);
	kunmap_local(va);
	r = 0;
out:
	read_unlock(&vm->mmu_lock);
	return r;
}
