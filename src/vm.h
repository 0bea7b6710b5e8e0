/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_VM_H
#define MKVM_VM_H

#include <linux/kcov.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/rcuwait.h>
#include <linux/refcount.h>
#include <linux/rwlock.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "clock.h"
#include "dirty.h"
#include "memslot.h"
#include "pfncache.h"

struct dentry;
struct mm_struct;

/* KVM's x86 limits. */
#define MKVM_MAX_VCPUS		1024
#define MKVM_MAX_VCPU_ID	4096

/**
 * struct mkvm_vm - one virtual machine
 *
 * Lock order, outermost first (KVM's; docs/design.md has the whole picture):
 *   vm->lock  ->  vm->slots_lock  ->  vm->mn_invalidate_lock (memslot swap;
 *	no path holds vm->lock there today, the order stands for one that will)
 *   vm->slots_lock  ->  vm->mmu_lock (zaps, dirty logging)
 *   vm->slots_lock  ->  mm's mmap_lock (a dirty log's bitmap: clear_user()
 *	in GET, copy_from_user() in CLEAR, both under slots_lock)
 *   gpc->lock  ->  vm->mn_invalidate_lock (a pfn cache refresh's check)
 *   srcu_read_lock(&vm->srcu)  ->  mm's mmap_lock (gup)  ->  vm->mmu_lock
 *   vm->lock  ->  gpc->refresh_lock  ->  gpc->lock (pfn caches)
 *   gpc->refresh_lock  ->  mm's mmap_lock (gup in a refresh)
 *   vm->lock  ->  vm->gpc_lock  ->  gpc->lock (a cache created; the notifier
 *	walking the caches takes the last two)
 *   vcpu->mutex (vcpu.h) is never held with vm->lock.
 * vm->srcu readers never take slots_lock: its holder waits for them in
 * synchronize_srcu(). Nothing that can sleep, allocate with reclaim or
 * take mmap_lock runs under mmu_lock or mn_invalidate_lock: the notifier
 * is called from reclaim and with mmap_lock held. mn_invalidate_lock and
 * mmu_lock are never held together.
 *
 * Lifetime: @users counts the VM fd, each vCPU fd and each stats fd
 * (stats.c). The last put runs
 * mkvm_vm_destroy() (vm.c documents its order) in the context of the
 * final fput, which may sleep. Every fd holds a reference on this module
 * through its fops owner, so the module cannot go away under a VM.
 */
struct mkvm_vm {
	refcount_t users;
	/* mmgrab()ed creator mm: VM and vCPU ioctls from any other mm get -EIO. */
	struct mm_struct *mm;
	unsigned int id;

	/* Protects @vcpus and @nr_vcpus, and serializes filling @gpcs. */
	struct mutex lock;
	struct xarray vcpus;
	unsigned int nr_vcpus;

	/*
	 * Serialises memslot updates (memslot_update.c). Protects the
	 * inactive set in @__memslots, @slots_by_id and the writer's side of
	 * @memslots.
	 */
	struct mutex slots_lock;
	/* id -> slot, sized by use (memslot.c); only under @slots_lock. */
	struct xarray slots_by_id;
	struct mkvm_memslots __memslots[2];
	/* The active set: written under @slots_lock, read under @srcu. */
	struct mkvm_memslots __rcu *memslots;
	/* Dirty logging (dirty.c): these three under @slots_lock. */
	bool manual_dirty_log_protect;
	u64 eager_split_chunk;		/* bytes; 0: no eager splitting */
	struct mkvm_split_cache split_cache;
	struct srcu_struct srcu;

	/*
	 * Protects @roots (the list, each root's state and its table),
	 * @mmu_released, @mmu_invalidate_in_progress and
	 * @mmu_invalidate_range_*, and every write of @mmu_invalidate_seq.
	 * Faults and accesses hold it for read; everything that removes or
	 * rewrites stage-2 entries, and the notifier, hold it for write.
	 */
	rwlock_t mmu_lock;
	/* Every stage-2 root until it is freed: struct mkvm_root (root.h). */
	struct list_head roots;
#ifdef CONFIG_MKVM_TEST_BUILD
	/* Every root allocated and not freed, on or off @roots: the auditor's. */
	struct list_head roots_audit;
	/*
	 * The creator's KCOV common handle (zero: none), so that the fuzzer's
	 * coverage includes what mkvm's workers and timer run on the VM's
	 * behalf: see mkvm_vm_kcov_start(). Its type is the kernel's: a u64
	 * up to 6.x, a struct kcov_common_handle_id in 7.x.
	 */
	typeof(kcov_common_handle()) kcov_handle;
#endif
	/* The one teardown worker of invalid roots (root.c). */
	struct work_struct roots_teardown_work;
	/* Set by the notifier's release: no root may be built any more. */
	bool mmu_released;
	/* mkvm_mmu_flush_all() calls in flight; only for a stat, no lock. */
	atomic_t mmu_flushes_running;
	/* Read lock-free by faults: see mmu_invalidate_retry() in mmu.c. */
	unsigned long mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	unsigned long mmu_invalidate_range_start;
	unsigned long mmu_invalidate_range_end;

	/*
	 * Protects @mn_active_invalidate_count: invalidations between start and
	 * end, whether or not they hit a memslot. A memslot swap waits on
	 * @mn_memslots_update_rcuwait for it to reach zero, so that a start and
	 * its end always see the same memslots.
	 */
	spinlock_t mn_invalidate_lock;
	unsigned long mn_active_invalidate_count;
	/* The union of the host ranges in flight, while the count is not 0. */
	unsigned long mn_invalidate_range_start;
	unsigned long mn_invalidate_range_end;
	/*
	 * Bumped by an invalidate_range_end whose range overlaps a cache's
	 * key (every one, without gpc_range_aware), under
	 * @mn_invalidate_lock, before @mn_active_invalidate_count drops:
	 * what a pfn cache refresh compares (pfncache.c, seed 004).
	 */
	unsigned long gpc_invalidate_seq;
	/* Set once by the notifier's release: the mm has no pages any more. */
	bool mm_released;
	struct rcuwait mn_memslots_update_rcuwait;
	struct mmu_notifier mmu_notifier;

	/*
	 * pfn caches (pfncache.c): @gpcs is filled under @lock and read with
	 * smp_load_acquire(); @gpc_list (the same caches, for the notifier)
	 * is protected by @gpc_lock. Both only grow until VM destroy.
	 */
	struct mkvm_gpc *gpcs[MKVM_NR_GPCS];
	spinlock_t gpc_lock;		/* protects @gpc_list */
	struct list_head gpc_list;
	/* The clock page (clock.c); enabled and disabled under @lock. */
	struct mkvm_clock clock;

	/*
	 * Statistics, read lock-free by debugfs. None is written on every
	 * fault: those counters are per vCPU (vcpu.h), summed on read.
	 */
	atomic64_t stat_zapped;
	atomic64_t stat_invalid_root_zaps;	/* notifier zaps that hit an invalid root */
	atomic64_t stat_roots_invalidations;	/* MKVM_INVALIDATE_ROOTS calls */
	atomic64_t stat_roots_torn_down;	/* roots the worker zapped */
	atomic64_t stat_roots_freed;		/* by the worker, once they were used */
	atomic64_t stat_age_calls;	/* aging handler runs on a live table */
	atomic64_t stat_age_young;	/* ... that found an accessed entry */
	atomic64_t stat_memslot_updates;
	atomic64_t stat_gpc_refreshes;	/* pfn cache mappings made */
	atomic64_t stat_gpc_retries;	/* ... thrown away: an invalidation raced */
	struct dentry *debugfs_dir;
};

long mkvm_dev_create_vm(unsigned long type);
void mkvm_vm_get(struct mkvm_vm *vm);
void mkvm_vm_put(struct mkvm_vm *vm);

/*
 * Work done for a VM outside its creator's syscalls (the roots' teardown
 * worker, the clock's timer and refresh worker) reports KCOV coverage to
 * the creator's remote KCOV handle in test builds, as vhost's worker does:
 * otherwise no fuzzer would see it. Task or softirq context, not nested.
 */
#ifdef CONFIG_MKVM_TEST_BUILD
static inline void mkvm_vm_kcov_start(struct mkvm_vm *vm)
{
	kcov_remote_start_common(vm->kcov_handle);
}

static inline void mkvm_vm_kcov_stop(void)
{
	kcov_remote_stop();
}
#else
static inline void mkvm_vm_kcov_start(struct mkvm_vm *vm) { }
static inline void mkvm_vm_kcov_stop(void) { }
#endif

#endif /* MKVM_VM_H */
