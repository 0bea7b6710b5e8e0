/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_CLOCK_H
#define MKVM_CLOCK_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/workqueue.h>

struct mkvm_vm;
struct mkvm_gpc;
struct mkvm_clock_enable;

/**
 * struct mkvm_clock - a per-VM clock page, written through a pfn cache
 * from a timer, as KVM writes kvmclock and Xen's runstate pages: the
 * atomic-context user of pfncache.c.
 *
 * @gpc, @period and @ticks are set under vm->lock while the timer is
 * stopped, and read by the timer and @refresh; vm->lock also serializes
 * enable and disable. Then @ticks and @version belong to the timer;
 * @version only grows, across enables, so a reader never sees it repeat.
 */
struct mkvm_clock {
	struct hrtimer timer;
	struct work_struct refresh;	/* refresh @gpc where sleeping is allowed */
	struct mkvm_gpc *gpc;		/* NULL: off */
	ktime_t period;
	u64 ticks;
	u32 version;
	/* Ticks left before the timer may ask for a refresh again. */
	atomic_t backoff;
	atomic64_t writes;		/* ticks written */
	atomic64_t deferred;		/* ticks the cache was invalid for */
	atomic64_t refresh_failures;	/* refreshes that found nothing to map */
};

void mkvm_clock_init(struct mkvm_vm *vm);
void mkvm_clock_stop(struct mkvm_vm *vm);
long mkvm_vm_ioctl_clock_enable(struct mkvm_vm *vm,
				const struct mkvm_clock_enable *arg);
long mkvm_vm_ioctl_clock_disable(struct mkvm_vm *vm, unsigned long arg);

#endif /* MKVM_CLOCK_H */
