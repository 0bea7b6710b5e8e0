// SPDX-License-Identifier: GPL-2.0
/*
 * Stage-2 roots: their list, references, invalidation, the one teardown
 * worker that zaps and frees them, and the notifier's release, which
 * takes every table at once. root.h documents the rules; seed 002's
 * thread is where they come from.
 *
 * Owns vm->roots, vm->roots_teardown_work and vm->mmu_released, all under
 * vm->mmu_lock (whose owner is mmu.c). The worker is one work item per
 * VM, and a work item never runs on two CPUs at once: so there is exactly
 * one zapper of invalid roots, as the fix in that thread asks, and no two
 * of them can put the same last reference.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "pgtable.h"
#include "root.h"
#include "stats.h"
#include "testhooks.h"
#include "vcpu.h"
#include "vm.h"

/* The end of the guest-physical space: a whole-root zap's range. */
#define ROOT_END	BIT_ULL(MKVM_S2_IA_BITS)

static struct mkvm_root *root_alloc(void)
{
	struct mkvm_root *root = kzalloc(sizeof(*root), GFP_KERNEL_ACCOUNT);

	if (!root)
		return NULL;
	root->s2 = kzalloc(sizeof(*root->s2), GFP_KERNEL_ACCOUNT);
	if (!root->s2 || mkvm_s2_init(root->s2)) {
		kfree(root->s2);
		kfree(root);
		return NULL;
	}
	mkvm_stat_inc(MKVM_STAT_ROOTS);
	return root;
}

/* No lock: nothing can reach @root any more. May sleep. */
static void root_free(struct mkvm_vm *vm, struct mkvm_root *root)
{
	might_sleep();
	if (root->s2) {
		mkvm_s2_destroy(root->s2);
		kfree(root->s2);
	}
	kfree(root);
	mkvm_stat_dec(MKVM_STAT_ROOTS);
}

static void root_audit_add(struct mkvm_vm *vm, struct mkvm_root *root)
{
#ifdef CONFIG_MKVM_TEST_BUILD
	list_add_tail(&root->audit_link, &vm->roots_audit);
#endif
}

static void root_audit_del(struct mkvm_root *root)
{
#ifdef CONFIG_MKVM_TEST_BUILD
	list_del(&root->audit_link);
#endif
}

/* Unlink every root nobody references onto @dead, to free after unlocking. */
static void roots_reap_locked(struct mkvm_vm *vm, struct list_head *dead)
{
	struct mkvm_root *root, *tmp;

	lockdep_assert_held_write(&vm->mmu_lock);
	list_for_each_entry_safe(root, tmp, &vm->roots, link) {
		/* Nobody takes a reference at zero: refcount_inc_not_zero(). */
		if (refcount_read(&root->refcount))
			continue;
		list_move(&root->link, dead);
		root_audit_del(root);
	}
}

static void roots_free(struct mkvm_vm *vm, struct list_head *dead)
{
	struct mkvm_root *root, *tmp;

	list_for_each_entry_safe(root, tmp, dead, link) {
		list_del(&root->link);
		root_free(vm, root);
		atomic64_inc(&vm->stat_roots_freed);
	}
}

static void roots_wake_teardown(struct mkvm_vm *vm)
{
	queue_work(system_unbound_wq, &vm->roots_teardown_work);
}

/*
 * A put with mmu_lock held for write, as the yield-safe walk does: at
 * zero, the worker frees the root, after this lock section.
 */
static void root_put_locked(struct mkvm_vm *vm, struct mkvm_root *root)
{
	lockdep_assert_held_write(&vm->mmu_lock);
	if (refcount_dec_and_test(&root->refcount))
		roots_wake_teardown(vm);
}

/**
 * mkvm_root_walk() - run @fn over a root's populated 2M steps
 * @vm: the VM, with mmu_lock held for write
 * @root: a root the caller keeps alive (a reference, or no yield)
 * @start: first guest-physical byte, page aligned
 * @end: the end, page aligned
 * @yield: whether and how to give up mmu_lock between steps
 * @fn: the step: 0 or 1 ("changed something"), or an errno that stops
 * @arg: for @fn
 *
 * Re-reads @root->s2 after every yield: the notifier's release may have
 * taken the table meanwhile, which leaves nothing to do.
 *
 * Return: 1 if a step changed something, else 0; or the errno of the
 * step that stopped the walk.
 */
int mkvm_root_walk(struct mkvm_vm *vm, struct mkvm_root *root, u64 start,
		   u64 end, enum mkvm_zap_yield yield, mkvm_root_step_t fn,
		   void *arg)
{
	u64 step = mkvm_s2_level_size(2);
	int changed = 0, r;

	lockdep_assert_held_write(&vm->mmu_lock);
	while (root->s2 &&
	       (start = mkvm_s2_next_populated(root->s2, start, end)) < end) {
		u64 next = min(ALIGN(start + 1, step), end);

		r = fn(root->s2, start, next - start, arg);
		if (r < 0)
			return r;
		changed |= r;
		start = next;
		if (start >= end)
			break;
		if (yield == MKVM_ZAP_YIELD) {
			cond_resched_rwlock_write(&vm->mmu_lock);
		} else if (yield == MKVM_ZAP_TEARDOWN) {
			/* Always: a teardown must never hold mmu_lock for long. */
			write_unlock(&vm->mmu_lock);
			mkvm_hook(MKVM_HOOK_ROOT_TEARDOWN_YIELD, true);
			cond_resched();
			write_lock(&vm->mmu_lock);
		}
	}
	return changed;
}

static int unmap_step(struct mkvm_s2 *s2, u64 addr, u64 size, void *arg)
{
	return mkvm_s2_unmap(s2, addr, size);
}

/* Zap a root's entries in [@start, @end): mkvm_root_walk()'s rules. */
bool mkvm_root_unmap(struct mkvm_vm *vm, struct mkvm_root *root, u64 start,
		     u64 end, enum mkvm_zap_yield yield)
{
	return mkvm_root_walk(vm, root, start, end, yield, unmap_step, NULL) > 0;
}

#ifdef CONFIG_MKVM_REVERT_SEED_002
/*
 * Seed 002's bug, built only to prove its reproducer: the last put takes
 * the root off the list and then zaps it, yielding. A notifier that runs
 * during a yield cannot find the root and returns while it still maps
 * the range the host is taking back.
 */
static void root_teardown_inline(struct mkvm_vm *vm, struct mkvm_root *root)
{
	write_lock(&vm->mmu_lock);
	list_del(&root->link);
	mkvm_root_unmap(vm, root, 0, ROOT_END, MKVM_ZAP_TEARDOWN);
	root_audit_del(root);
	write_unlock(&vm->mmu_lock);
	root_free(vm, root);
}
#endif

/**
 * mkvm_root_put() - drop a reference, with no mmu_lock held
 * @vm: the root's VM
 * @root: the root
 *
 * Never frees: a root at zero maps nothing and waits on the list for the
 * teardown worker (root.h).
 */
void mkvm_root_put(struct mkvm_vm *vm, struct mkvm_root *root)
{
	lockdep_assert_not_held(&vm->mmu_lock);
	if (!refcount_dec_and_test(&root->refcount))
		return;
#ifdef CONFIG_MKVM_REVERT_SEED_002
	root_teardown_inline(vm, root);
#else
	roots_wake_teardown(vm);
#endif
}

/**
 * mkvm_root_next() - one step of a walk over the roots that may yield
 * @vm: the VM, with mmu_lock held for write
 * @prev: the root the last step returned, or NULL to start
 *
 * @prev is still on the list, since its reference keeps the worker from
 * freeing it; roots at zero are skipped (they map nothing).
 *
 * Return: the next live root, referenced, or NULL at the end.
 */
struct mkvm_root *mkvm_root_next(struct mkvm_vm *vm, struct mkvm_root *prev)
{
	struct mkvm_root *root;

	lockdep_assert_held_write(&vm->mmu_lock);
	root = prev ? list_next_entry(prev, link) :
		      list_first_entry(&vm->roots, struct mkvm_root, link);
	while (!list_entry_is_head(root, &vm->roots, link) &&
	       !refcount_inc_not_zero(&root->refcount))
		root = list_next_entry(root, link);
	if (prev)
		root_put_locked(vm, prev);
	return list_entry_is_head(root, &vm->roots, link) ? NULL : root;
}

/*
 * The teardown worker: zap every root invalidation handed over, then put
 * the reference that came with it; free every root nobody references.
 */
static void roots_teardown_work(struct work_struct *work)
{
	struct mkvm_vm *vm = container_of(work, struct mkvm_vm,
					  roots_teardown_work);
	struct mkvm_root *root;
	LIST_HEAD(dead);

	mkvm_vm_kcov_start(vm);
	write_lock(&vm->mmu_lock);
	for (;;) {
		bool found = false;

		mkvm_for_each_root(vm, root) {
			if (root->teardown_pending) {
				found = true;
				break;
			}
		}
		if (!found)
			break;
		/* The VM's reference is ours: @root stays on the list. */
		root->teardown_pending = false;
#ifdef CONFIG_MKVM_REVERT_SEED_002
		write_unlock(&vm->mmu_lock);
		mkvm_root_put(vm, root);
		write_lock(&vm->mmu_lock);
#else
		mkvm_root_unmap(vm, root, 0, ROOT_END, MKVM_ZAP_TEARDOWN);
		atomic64_inc(&vm->stat_roots_torn_down);
		/*
		 * It maps nothing now: the VM's reference may go (root.h). No
		 * wake-up at zero: this run reaps it below. At zero, check the
		 * rule every walker that skips zero-count roots relies on.
		 */
		if (refcount_dec_and_test(&root->refcount))
			WARN_ON_ONCE(root->s2 &&
				     mkvm_s2_next_populated(root->s2, 0, ROOT_END) != ROOT_END);
#endif
	}
	roots_reap_locked(vm, &dead);
	write_unlock(&vm->mmu_lock);
	roots_free(vm, &dead);
	mkvm_vm_kcov_stop();
}

/**
 * mkvm_roots_invalidate_locked() - KVM's fast zap: retire every root
 * @vm: the VM, with mmu_lock held for write
 *
 * Constant work under the lock per root: new faults build a new root,
 * vCPUs move to it, and the worker zaps the old ones in the background.
 */
void mkvm_roots_invalidate_locked(struct mkvm_vm *vm)
{
	struct mkvm_root *root;
	bool any = false;

	lockdep_assert_held_write(&vm->mmu_lock);
	mkvm_for_each_root(vm, root) {
		if (root->invalid)
			continue;
		/* Read unlocked by mkvm_vcpu_load_root(), rechecked under the lock. */
		WRITE_ONCE(root->invalid, true);
		root->teardown_pending = true;
		any = true;
	}
	if (any)
		roots_wake_teardown(vm);
}

/* MKVM_INVALIDATE_ROOTS (memslot_update.c says why deletion does not use it). */
void mkvm_mmu_invalidate_roots(struct mkvm_vm *vm)
{
	write_lock(&vm->mmu_lock);
	mkvm_roots_invalidate_locked(vm);
	write_unlock(&vm->mmu_lock);
	atomic64_inc(&vm->stat_roots_invalidations);
}

/* A valid root, referenced, or NULL; mmu_lock held either way. */
static struct mkvm_root *roots_get_valid(struct mkvm_vm *vm)
{
	struct mkvm_root *root;

	lockdep_assert_held(&vm->mmu_lock);
	mkvm_for_each_root(vm, root) {
		if (!root->invalid) {
			/* The VM's reference keeps a valid root above zero. */
			refcount_inc(&root->refcount);
			return root;
		}
	}
	return NULL;
}

/**
 * mkvm_vcpu_load_root() - make sure @vcpu has a valid root to run on
 * @vcpu: the vCPU, its mutex held
 *
 * Drops an invalid root for the VM's valid one, or a new one. Allocates
 * before taking mmu_lock, as KVM does; a racing vCPU may install a root
 * first, and then the spare is freed.
 *
 * Return: 0; -EFAULT once the notifier's release ran (the VM's mm is going
 * away, no root may be built); -ENOMEM.
 */
int mkvm_vcpu_load_root(struct mkvm_vcpu *vcpu)
{
	struct mkvm_vm *vm = vcpu->vm;
	struct mkvm_root *root = vcpu->root, *spare;
	int r = 0;

	lockdep_assert_held(&vcpu->mutex);
	/* Unlocked peek: faults and accesses check again under mmu_lock. */
	if (root && !READ_ONCE(root->invalid))
		return 0;
	if (root) {
		vcpu->root = NULL;
		mkvm_root_put(vm, root);
	}

	read_lock(&vm->mmu_lock);
	root = roots_get_valid(vm);
	read_unlock(&vm->mmu_lock);
	if (!root) {
		spare = root_alloc();
		if (!spare)
			return -ENOMEM;
		write_lock(&vm->mmu_lock);
		if (vm->mmu_released) {
			r = -EFAULT;
		} else {
			root = roots_get_valid(vm);
			if (!root) {
				/* The VM's reference and this vCPU's. */
				refcount_set(&spare->refcount, 2);
				list_add_tail(&spare->link, &vm->roots);
				root_audit_add(vm, spare);
				root = spare;
				spare = NULL;
			}
		}
		write_unlock(&vm->mmu_lock);
		if (spare)
			root_free(vm, spare);
		if (r)
			return r;
	}
	vcpu->root = root;
	WRITE_ONCE(vcpu->stat.root_loads, vcpu->stat.root_loads + 1);
	return 0;
}

/* VM destroy, for each vCPU: nothing runs on it any more. */
void mkvm_vcpu_put_root(struct mkvm_vcpu *vcpu)
{
	if (vcpu->root)
		mkvm_root_put(vcpu->vm, vcpu->root);
	vcpu->root = NULL;
}

static struct mkvm_s2 *roots_detach_table(struct mkvm_vm *vm)
{
	struct mkvm_root *root;
	struct mkvm_s2 *s2 = NULL;

	write_lock(&vm->mmu_lock);
	mkvm_for_each_root(vm, root) {
		if (root->s2) {
			s2 = root->s2;
			root->s2 = NULL;
			break;
		}
	}
	write_unlock(&vm->mmu_lock);
	return s2;
}

/**
 * mkvm_mmu_flush_all() - drop all of stage-2, for good
 * @vm: the VM
 *
 * The notifier's release (exit_mmap, or unregister at VM destroy): after
 * it no root maps anything, and none can be built. Release and destroy
 * can run it at once (seed 000): each table is taken off its root under
 * mmu_lock for write, so exactly one caller gets it and frees it; the
 * others find NULL. Everything that uses a root's table checks for NULL
 * under mmu_lock (seed 003). Freeing happens after unlocking, since
 * nothing can reach a taken table, and yields. The roots themselves stay
 * for their references, invalid and empty, until the worker frees them.
 */
void mkvm_mmu_flush_all(struct mkvm_vm *vm)
{
	struct mkvm_s2 *s2;
	bool took = false;

	might_sleep();
	/* Flushes running now, for the stat below: not a lock. */
	atomic_inc(&vm->mmu_flushes_running);
	write_lock(&vm->mmu_lock);
	vm->mmu_released = true;
	mkvm_roots_invalidate_locked(vm);
	write_unlock(&vm->mmu_lock);

#ifdef CONFIG_MKVM_REVERT_SEED_000_SPLIT
	{
		/*
		 * Seed 000's second half, built only to prove its reproducer:
		 * release frees the eager-split cache, without slots_lock, as
		 * kvm_uninit_stage2_mmu() did; two releases free it twice.
		 */
		struct mkvm_split_cache cache = vm->split_cache;

		mkvm_hook(MKVM_HOOK_FLUSH_DETACHED, true);
		memset(&vm->split_cache, 0, sizeof(vm->split_cache));
		mkvm_split_cache_free(&cache);
	}
#endif
#ifdef CONFIG_MKVM_REVERT_SEED_000
	{
		struct mkvm_root *root;

		/* Seed 000's bug, built only to prove its reproducer: no mmu_lock. */
		list_for_each_entry(root, &vm->roots, link) {
			s2 = READ_ONCE(root->s2);
			mkvm_hook(MKVM_HOOK_FLUSH_DETACHED, true);
			WRITE_ONCE(root->s2, NULL);
			if (s2) {
				mkvm_s2_destroy(s2);
				kfree(s2);
			}
		}
		took = true;
	}
#endif
	while ((s2 = roots_detach_table(vm))) {
		mkvm_hook(MKVM_HOOK_FLUSH_DETACHED, true);
		took = true;
		mkvm_s2_destroy(s2);
		kfree(s2);
	}
	/* Seed 000's window: another flush has the table, still freeing it. */
	if (!took && atomic_read(&vm->mmu_flushes_running) > 1)
		mkvm_stat_inc(MKVM_STAT_FLUSH_FOUND_DETACHED);
	atomic_dec(&vm->mmu_flushes_running);
}

void mkvm_roots_init(struct mkvm_vm *vm)
{
	rwlock_init(&vm->mmu_lock);
	INIT_LIST_HEAD(&vm->roots);
#ifdef CONFIG_MKVM_TEST_BUILD
	INIT_LIST_HEAD(&vm->roots_audit);
#endif
	INIT_WORK(&vm->roots_teardown_work, roots_teardown_work);
}

/*
 * VM destroy, after release and after every vCPU put its root: only the
 * worker's references are left. Run it to the end, then nothing remains.
 */
void mkvm_roots_destroy(struct mkvm_vm *vm)
{
	might_sleep();
	write_lock(&vm->mmu_lock);
	mkvm_roots_invalidate_locked(vm);
	write_unlock(&vm->mmu_lock);
	flush_work(&vm->roots_teardown_work);
	WARN_ON_ONCE(!list_empty(&vm->roots));
}
