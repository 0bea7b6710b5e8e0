/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_TESTHOOKS_H
#define MKVM_TESTHOOKS_H

#include <linux/types.h>

/*
 * Delay injection points in the race windows of the seed threads, for
 * their reproducers. Test builds only: /sys/kernel/debug/mkvm/hooks/<name>
 * takes a delay in milliseconds (0 disarms), optionally followed by how
 * many hits to delay before disarming, and reads back "delay_ms hits".
 * Release builds compile every call away.
 */
enum mkvm_hook {
	MKVM_HOOK_FLUSH_DETACHED,	/* seed 000: release, a root's table taken */
	MKVM_HOOK_FAULT_SIZED,		/* seed 001: fault sized, before mmu_lock */
	MKVM_HOOK_AGE_BEFORE_LOCK,	/* seed 003: aging, before mmu_lock */
	MKVM_HOOK_INVALIDATE_END,	/* invalidate_range_end, on entry */
	/* invalidate_range_start, zapped: in progress, host PTEs still there */
	MKVM_HOOK_INVALIDATE_ZAPPED,
	MKVM_HOOK_FAULT_INSTALLED,	/* fault, entry in, mmu_lock dropped */
	/* invalidate_range_start, counted, caches invalidated, any range */
	MKVM_HOOK_INVALIDATE_STARTED,
	/* pfn cache refresh: page resolved, gpc->lock not yet retaken (004) */
	MKVM_HOOK_GPC_REFRESH_UNLOCKED,
	/* root teardown: one 2M step zapped, mmu_lock dropped (seed 002) */
	MKVM_HOOK_ROOT_TEARDOWN_YIELD,
	MKVM_NR_HOOKS,
};

#ifdef CONFIG_MKVM_TEST_BUILD
void mkvm_hook(enum mkvm_hook hook, bool may_sleep);
#else
static inline void mkvm_hook(enum mkvm_hook hook, bool may_sleep) { }
#endif

#endif /* MKVM_TESTHOOKS_H */
