/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_ROOT_H
#define MKVM_ROOT_H

#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/types.h>

struct mkvm_s2;
struct mkvm_vcpu;
struct mkvm_vm;

/**
 * struct mkvm_root - one stage-2 table and its lifetime (root.c)
 * @s2: the table; NULL once the notifier's release took it (seeds 000
 *	and 003): it is invalid then, and the VM's mm is going away.
 * @link: on vm->roots
 * @refcount: see below
 * @invalid: no fault maps into it and no vCPU uses it any more
 * @teardown_pending: the teardown worker has yet to zap it
 * @audit_link: (test builds) on vm->roots_audit, for the stale-mapping
 *	auditor, from creation until the root is freed
 *
 * As the TDP MMU's roots (seed 002's thread):
 *
 * The list. vm->roots holds every root from its creation until the
 * teardown worker frees it: valid or invalid, referenced or not. It is
 * changed only with vm->mmu_lock held for write and walked only with
 * mmu_lock held, so it needs no RCU, and a root is filled in before it
 * is added (litmus: roots-publish; roots-publish-unlocked-walker shows
 * what an unlocked walker could see). @invalid, @teardown_pending and @s2
 * change only with mmu_lock held for write, and are read under it (a
 * vCPU's unlocked peek at @invalid is rechecked under it).
 *
 * The references. A valid root holds one for the VM (the list's) and one
 * for each vCPU whose root it is. New references are taken only on a
 * valid root, under mmu_lock (refcount_inc: the VM's keeps it above zero),
 * or with refcount_inc_not_zero() by a walker that must keep a root
 * across a yield of mmu_lock.
 *
 * Invalidation (mkvm_mmu_invalidate_roots(), the notifier's release)
 * marks roots invalid under mmu_lock for write and hands the VM's
 * reference to the teardown worker (@teardown_pending). The worker zaps
 * the root, yielding mmu_lock between steps, while it is still on the
 * list: a notifier that runs during a yield finds the root and zaps its
 * range itself. Only then does the worker put that reference. Hence a
 * root's count reaches zero only when it maps nothing: no put can leave
 * a notifier unaware of a mapping (seed 002's bug), and a walker that
 * skips a root at zero misses nothing.
 *
 * Freeing. Only the teardown worker frees a root that was ever on the
 * list, and only at zero: it takes it off under mmu_lock for write and
 * frees it after unlocking. A put never frees; at zero it wakes the
 * worker. VM destroy runs the worker last, when nothing else holds a
 * reference. (A vCPU's spare root that lost the race to be installed was
 * never published, and is freed where it was made; the notifier's
 * release frees tables, @s2, not roots.)
 */
struct mkvm_root {
	struct mkvm_s2 *s2;
	struct list_head link;
	refcount_t refcount;
	bool invalid;
	bool teardown_pending;
#ifdef CONFIG_MKVM_TEST_BUILD
	struct list_head audit_link;
#endif
};

void mkvm_roots_init(struct mkvm_vm *vm);
void mkvm_roots_destroy(struct mkvm_vm *vm);
void mkvm_mmu_flush_all(struct mkvm_vm *vm);

int mkvm_vcpu_load_root(struct mkvm_vcpu *vcpu);
void mkvm_vcpu_put_root(struct mkvm_vcpu *vcpu);

void mkvm_mmu_invalidate_roots(struct mkvm_vm *vm);
void mkvm_roots_invalidate_locked(struct mkvm_vm *vm);
void mkvm_root_put(struct mkvm_vm *vm, struct mkvm_root *root);
/*
 * Every live root, each referenced while the body runs, so that the body
 * may yield mmu_lock (held for write): for (root = mkvm_root_next(vm,
 * NULL); root; root = mkvm_root_next(vm, root)). The body must not break
 * out: the next step puts the reference.
 */
struct mkvm_root *mkvm_root_next(struct mkvm_vm *vm, struct mkvm_root *prev);

/* How a zap yields mmu_lock between its 2M steps. */
enum mkvm_zap_yield {
	MKVM_ZAP_ATOMIC,	/* never: the caller may not sleep */
	MKVM_ZAP_YIELD,		/* when someone waits: the notifier's zaps */
	MKVM_ZAP_TEARDOWN,	/* every step: the teardown of a root */
};

bool mkvm_root_unmap(struct mkvm_vm *vm, struct mkvm_root *root, u64 start,
		     u64 end, enum mkvm_zap_yield yield);

/* One step of a walk over a root's table: see mkvm_root_walk(). */
typedef int (*mkvm_root_step_t)(struct mkvm_s2 *s2, u64 addr, u64 size,
				void *arg);
int mkvm_root_walk(struct mkvm_vm *vm, struct mkvm_root *root, u64 start,
		   u64 end, enum mkvm_zap_yield yield, mkvm_root_step_t fn,
		   void *arg);

/*
 * Every root on the list, with mmu_lock held throughout (no yield):
 * roots at zero included, which map nothing.
 */
#define mkvm_for_each_root(vm, root) \
	list_for_each_entry(root, &(vm)->roots, link)

#endif /* MKVM_ROOT_H */
