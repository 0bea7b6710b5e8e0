// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging, in the shape of KVM's on arm64: a slot with
 * MKVM_MEM_LOG_DIRTY_PAGES has a bitmap; when logging starts, the slot's
 * stage-2 entries are write-protected (and then, with eager splitting, its
 * blocks split into 4K entries, a chunk at a time); from then on a
 * fault maps the slot at 4K only and read-only for reads, and a guest
 * write faults once per page, which sets the page's bit and makes the
 * entry writable again under mmu_lock for read (mmu.c: the relax path).
 * MKVM_GET_DIRTY_LOG reports the bits; it clears them and write-protects
 * those pages again, or, with manual protect, leaves that to
 * MKVM_CLEAR_DIRTY_LOG.
 *
 * Locks: every log operation (start, get, clear) and the eager-split
 * cache hold vm->slots_lock, which keeps the slot from changing under
 * them and orders them with each other (vm.h: slots_lock comes before
 * mmu_lock, and before mmap_lock, which copying to and from userspace may
 * take). Faults set bits without it
 * (set_bit_le(), under vm->srcu); get and clear take bits with atomic
 * read-modify-writes, then write-protect under mmu_lock for write, all
 * before returning: a write that lands after the ioctl returned faults
 * and is logged again. Guest writes are logged, and the kernel's writes
 * through a pfn cache keyed by guest-physical address (pfncache.c); the
 * process writing its own memory is not (as in KVM).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/mkvm.h>

#include "dirty.h"
#include "memslot.h"
#include "pgtable.h"
#include "root.h"
#include "vm.h"

unsigned long *mkvm_dirty_bitmap_alloc(u64 npages)
{
	/*
	 * The log is set with set_bit_le() and read back as native longs:
	 * the same bits only on 64-bit little-endian, all mkvm supports.
	 */
	BUILD_BUG_ON(BITS_PER_LONG != 64 || IS_ENABLED(CONFIG_CPU_BIG_ENDIAN));
	return kvzalloc(mkvm_dirty_bitmap_bytes(npages), GFP_KERNEL_ACCOUNT);
}

/* A guest write made @gfn's entry writable: under vm->srcu, @slot logs. */
void mkvm_mark_page_dirty(struct mkvm_memslot *slot, u64 gfn)
{
	set_bit_le(gfn - slot->base_gfn, slot->dirty_bitmap);
}

/* Table pages splitting one @chunk of blocks into 4K leaves may take. */
static int split_capacity(u64 chunk)
{
	return chunk / mkvm_s2_level_size(2) +
	       DIV_ROUND_UP(chunk, mkvm_s2_level_size(1));
}

static int split_cache_topup(struct mkvm_vm *vm)
{
	struct mkvm_split_cache *c = &vm->split_cache;

	lockdep_assert_held(&vm->slots_lock);
	might_sleep();
	if (!c->objs) {
		int cap = split_capacity(vm->eager_split_chunk);

		c->objs = kvmalloc_array(cap, sizeof(*c->objs), GFP_KERNEL_ACCOUNT);
		if (!c->objs)
			return -ENOMEM;
		c->capacity = cap;
	}
	while (c->nobjs < c->capacity) {
		void *page = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!page)
			return -ENOMEM;
		c->objs[c->nobjs++] = page;
	}
	return 0;
}

/* mkvm_s2_split()'s page source: vm->slots_lock and mmu_lock held. */
static void *split_cache_take(void *arg)
{
	struct mkvm_split_cache *c = arg;

	return c->nobjs ? c->objs[--c->nobjs] : NULL;
}

/* VM destroy, or vm->slots_lock held (struct mkvm_split_cache). */
void mkvm_split_cache_free(struct mkvm_split_cache *c)
{
	while (c->nobjs)
		free_page((unsigned long)c->objs[--c->nobjs]);
	kvfree(c->objs);
	c->objs = NULL;
	c->capacity = 0;
}

static int split_step(struct mkvm_s2 *s2, u64 addr, u64 size, void *arg)
{
	return mkvm_s2_split(s2, addr, size, split_cache_take, arg);
}

static int wrprotect_step(struct mkvm_s2 *s2, u64 addr, u64 size, void *arg)
{
	return mkvm_s2_wrprotect(s2, addr, size);
}

/*
 * Run @fn over [@start, @end) of every live root (valid ones only if
 * @valid_only), yielding mmu_lock (held for write) between 2M steps.
 * Returns the first errno, or 0.
 */
static int roots_walk(struct mkvm_vm *vm, u64 start, u64 end, bool valid_only,
		      mkvm_root_step_t fn, void *arg)
{
	struct mkvm_root *root;
	int r = 0;

	lockdep_assert_held_write(&vm->mmu_lock);
	for (root = mkvm_root_next(vm, NULL); root; root = mkvm_root_next(vm, root)) {
		if (r < 0 || (valid_only && root->invalid))
			continue;
		r = mkvm_root_walk(vm, root, start, end, MKVM_ZAP_YIELD, fn, arg);
	}
	return r < 0 ? r : 0;
}

static void wrprotect_gfns(struct mkvm_vm *vm, u64 start, u64 end)
{
	roots_walk(vm, start << PAGE_SHIFT, end << PAGE_SHIFT, false,
		   wrprotect_step, NULL);
}

/*
 * Eager splitting: the slot's blocks become 4K entries before the guest
 * writes to them, one chunk at a time: top up the cache for a chunk
 * (sleeps: no mmu_lock), split it under mmu_lock, drop the lock. Only
 * valid roots: invalid ones are on their way out and no vCPU runs on
 * them. Best effort, as arm64's: if memory runs out, what is left of the
 * blocks is split by the first write fault on each.
 */
static void split_slot(struct mkvm_vm *vm, const struct mkvm_memslot *slot)
{
	u64 chunk = vm->eager_split_chunk;
	u64 addr = slot->base_gfn << PAGE_SHIFT;
	u64 end = (slot->base_gfn + slot->npages) << PAGE_SHIFT;
	int r, tries = 0;

	lockdep_assert_held(&vm->slots_lock);
	while (addr < end) {
		u64 next = min(ALIGN(addr + 1, chunk), end);

		if (split_cache_topup(vm))
			return;
		write_lock(&vm->mmu_lock);
		r = roots_walk(vm, addr, next, true, split_step, &vm->split_cache);
		write_unlock(&vm->mmu_lock);
		/* A chunk takes at most a full cache per root: go on or give up. */
		if (r == -ENOMEM && ++tries < 3)
			continue;
		tries = 0;
		addr = next;
		/* A large slot has many chunks, mostly empty: share the CPU. */
		cond_resched();
	}
}

/**
 * mkvm_dirty_log_start() - a slot has just started logging
 * @vm: the VM, with vm->slots_lock held
 * @slot: the slot, published, after the grace period that retired its
 *	non-logging version: no fault still maps it without logging
 *
 * Write-protects every entry that maps it, in every root, then splits its
 * blocks if the VM asked for eager splitting.
 */
void mkvm_dirty_log_start(struct mkvm_vm *vm, struct mkvm_memslot *slot)
{
	lockdep_assert_held(&vm->slots_lock);
	write_lock(&vm->mmu_lock);
	wrprotect_gfns(vm, slot->base_gfn, slot->base_gfn + slot->npages);
	write_unlock(&vm->mmu_lock);
	/* As arm64: protected first, so the split copies read-only entries. */
	if (vm->eager_split_chunk)
		split_slot(vm, slot);
}

/* The logging slot @id, with vm->slots_lock held: or -EINVAL, -ENOENT. */
static struct mkvm_memslot *logging_slot(struct mkvm_vm *vm, u32 id)
{
	struct mkvm_memslot *slot;

	lockdep_assert_held(&vm->slots_lock);
	if (id >= MKVM_NR_MEMSLOTS)
		return ERR_PTR(-EINVAL);
	slot = mkvm_memslot_by_id(vm, id);
	if (!slot || !mkvm_slot_logs_dirty(slot))
		return ERR_PTR(-ENOENT);
	return slot;
}

/*
 * Take the bits of @mask off word @w of @slot's log, and write-protect
 * the pages they stand for (from the first to the last, as arm64 does).
 * Returns the bits that were set.
 */
static unsigned long take_and_protect(struct mkvm_vm *vm,
				      struct mkvm_memslot *slot,
				      unsigned long w, unsigned long mask)
{
	u64 gfn = slot->base_gfn + w * BITS_PER_LONG;

	lockdep_assert_held_write(&vm->mmu_lock);
	/*
	 * Atomic: a pfn cache write sets bits without mmu_lock. Fully
	 * ordered: the page is copied after its bit is taken, and pairs with
	 * the smp_mb__before_atomic() in mkvm_gpc_mark_dirty()
	 * (litmus: dirty-log-gpc-write).
	 */
	mask &= atomic_long_fetch_andnot(mask, (atomic_long_t *)&slot->dirty_bitmap[w]);
	if (mask)
		wrprotect_gfns(vm, gfn + __ffs(mask), gfn + __fls(mask) + 1);
	return mask;
}

/**
 * mkvm_vm_ioctl_get_dirty_log() - MKVM_GET_DIRTY_LOG
 * @vm: the VM
 * @log: the argument, as copied from userspace
 *
 * Return: 0, or the errno listed for MKVM_GET_DIRTY_LOG.
 */
int mkvm_vm_ioctl_get_dirty_log(struct mkvm_vm *vm, const struct mkvm_dirty_log *log)
{
	void __user *ubuf = u64_to_user_ptr(log->dirty_bitmap);
	struct mkvm_memslot *slot;
	unsigned long *buf = NULL, w, words;
	size_t bytes = 0;
	int r;

	if (log->padding)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	slot = logging_slot(vm, log->slot);
	r = PTR_ERR_OR_ZERO(slot);
	if (r)
		goto out;
	bytes = mkvm_dirty_bitmap_bytes(slot->npages);
	words = bytes / sizeof(long);
	/* A buffer userspace cannot write must not cost it the log. */
	r = -EFAULT;
	if (clear_user(ubuf, bytes))
		goto out;
	r = -ENOMEM;
	buf = kvmalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!buf)
		goto out;
	if (vm->manual_dirty_log_protect) {
		for (w = 0; w < words; w++)
			buf[w] = READ_ONCE(slot->dirty_bitmap[w]);
	} else {
		write_lock(&vm->mmu_lock);
		for (w = 0; w < words; w++) {
			buf[w] = take_and_protect(vm, slot, w, ~0UL);
			/* Each word stands alone: yield between them. */
			cond_resched_rwlock_write(&vm->mmu_lock);
		}
		write_unlock(&vm->mmu_lock);
	}
	r = 0;
out:
	mutex_unlock(&vm->slots_lock);
	if (!r && copy_to_user(ubuf, buf, bytes))
		r = -EFAULT;
	kvfree(buf);
	return r;
}

/**
 * mkvm_vm_ioctl_clear_dirty_log() - MKVM_CLEAR_DIRTY_LOG
 * @vm: the VM
 * @log: the argument, as copied from userspace
 *
 * Return: 0, or the errno listed for MKVM_CLEAR_DIRTY_LOG.
 */
int mkvm_vm_ioctl_clear_dirty_log(struct mkvm_vm *vm,
				  const struct mkvm_clear_dirty_log *log)
{
	size_t bytes = DIV_ROUND_UP((u64)log->num_pages, 64) * 8;
	struct mkvm_memslot *slot;
	unsigned long *buf = NULL, w;
	int r;

	if (log->first_page & 63)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	slot = logging_slot(vm, log->slot);
	r = PTR_ERR_OR_ZERO(slot);
	if (r)
		goto out;
	r = -EINVAL;
	if (!vm->manual_dirty_log_protect || log->first_page > slot->npages ||
	    log->num_pages > slot->npages - log->first_page ||
	    (log->num_pages < slot->npages - log->first_page &&
	     (log->num_pages & 63)))
		goto out;
	r = 0;
	if (!bytes)
		goto out;
	/* Sized by the slot now: at most its bitmap. */
	r = -ENOMEM;
	buf = kvmalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!buf)
		goto out;
	r = -EFAULT;
	if (copy_from_user(buf, u64_to_user_ptr(log->dirty_bitmap), bytes))
		goto out;
	/* Bits past num_pages in the last word are not the caller's to clear. */
	if (log->num_pages & 63)
		buf[bytes / 8 - 1] &= BIT_ULL(log->num_pages & 63) - 1;
	write_lock(&vm->mmu_lock);
	for (w = 0; w < bytes / 8; w++) {
		if (buf[w])
			take_and_protect(vm, slot, log->first_page / 64 + w, buf[w]);
		cond_resched_rwlock_write(&vm->mmu_lock);
	}
	write_unlock(&vm->mmu_lock);
	r = 0;
out:
	mutex_unlock(&vm->slots_lock);
	kvfree(buf);
	return r;
}

/* Can the VM still change its eager-split chunk? vm->slots_lock held. */
static bool vm_has_no_memslots(struct mkvm_vm *vm)
{
	lockdep_assert_held(&vm->slots_lock);
	return !mkvm_memslots(vm)->nr;
}

/**
 * mkvm_vm_ioctl_enable_cap() - MKVM_ENABLE_CAP
 * @vm: the VM
 * @cap: the argument, as copied from userspace
 *
 * Return: 0, or -EINVAL (unknown capability, flags or arguments; an
 * eager-split chunk size once the VM has a memslot).
 */
int mkvm_vm_ioctl_enable_cap(struct mkvm_vm *vm, const struct mkvm_enable_cap *cap)
{
	u64 chunk = cap->args[0];
	int r = -EINVAL;

	if (cap->flags || cap->args[1] || cap->args[2] || cap->args[3])
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	switch (cap->cap) {
	case MKVM_CAP_MANUAL_DIRTY_LOG_PROTECT:
		if (cap->args[0] & ~MKVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
			break;
		vm->manual_dirty_log_protect = cap->args[0];
		r = 0;
		break;
	case MKVM_CAP_EAGER_SPLIT_CHUNK_SIZE:
		/* As arm64: a block size, set before any memslot exists. */
		if ((chunk && chunk != mkvm_s2_level_size(2) &&
		     chunk != mkvm_s2_level_size(1)) || !vm_has_no_memslots(vm))
			break;
		if (chunk != vm->eager_split_chunk)
			mkvm_split_cache_free(&vm->split_cache);
		vm->eager_split_chunk = chunk;
		r = 0;
		break;
	}
	mutex_unlock(&vm->slots_lock);
	return r;
}
