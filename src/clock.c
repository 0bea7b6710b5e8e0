// SPDX-License-Identifier: GPL-2.0
/*
 * The clock page: every period, a timer writes a tick count into a page
 * through a pfn cache, seqcount-style like kvmclock (version odd while the
 * write is in progress, even when done), in softirq context. When the
 * cache's check fails (an invalidation, a memslot change) the timer
 * cannot refresh it, which sleeps: it hands that to a work item and goes
 * on counting, so the next write after the refresh catches up. This is
 * KVM's pattern for its atomic-context caches.
 *
 * The work item refreshes in the VM creator's mm, which it borrows with
 * kthread_use_mm() if the mm still has users. VM destroy stops the timer
 * and then the work, before anything they use goes away.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>

#include <linux/mkvm.h>

#include "clock.h"
#include "compat.h"
#include "pfncache.h"
#include "vm.h"

/* Ticks to wait before asking the worker again after a failed refresh. */
#define CLOCK_REFRESH_BACKOFF	16
/* Mappings the worker tries per refresh: it runs again at a later tick. */
#define CLOCK_REFRESH_TRIES	8

static enum hrtimer_restart clock_tick(struct hrtimer *timer)
{
	struct mkvm_clock *clk = container_of(timer, struct mkvm_clock, timer);
	struct mkvm_vm *vm = container_of(clk, struct mkvm_vm, clock);
	struct mkvm_gpc *gpc = clk->gpc;
	struct mkvm_clock_page *page;
	unsigned long flags;
	bool refresh;
	int idx;

	mkvm_vm_kcov_start(vm);
	/* Periods, not callbacks: a late callback counts the ones it missed. */
	clk->ticks += hrtimer_forward_now(timer, clk->period);
	/* SRCU: a memslot update waits for a write through its old translation. */
	idx = srcu_read_lock(&vm->srcu);
	read_lock_irqsave(&gpc->lock, flags);
	if (mkvm_gpc_check(gpc) && gpc->len >= sizeof(*page)) {
		page = gpc->khva;
		WRITE_ONCE(page->version, ++clk->version);
		/*
		 * Odd version before the ticks: pairs with the reader's first
		 * rmb (litmus: clock-page-seqcount).
		 */
		smp_wmb();
		WRITE_ONCE(page->ticks, clk->ticks);
		WRITE_ONCE(page->pad, 0);
		/*
		 * Ticks before the even version: pairs with the reader's
		 * second rmb (litmus: clock-page-seqcount).
		 */
		smp_wmb();
		WRITE_ONCE(page->version, ++clk->version);
		mkvm_gpc_mark_dirty(gpc);
		atomic64_inc(&clk->writes);
		refresh = false;
	} else {
		atomic64_inc(&clk->deferred);
		/*
		 * Only what a refresh can fix: not an inactive or too short
		 * cache, not after release (nothing is left to map), and not
		 * at every tick while refreshes keep failing.
		 */
		refresh = gpc->active && gpc->len >= sizeof(*page) &&
			  !READ_ONCE(vm->mm_released) &&
			  atomic_dec_if_positive(&clk->backoff) < 0;
	}
	read_unlock_irqrestore(&gpc->lock, flags);
	srcu_read_unlock(&vm->srcu, idx);
	if (refresh)
		schedule_work(&clk->refresh);
	mkvm_vm_kcov_stop();
	return HRTIMER_RESTART;
}

static void clock_refresh(struct work_struct *work)
{
	struct mkvm_clock *clk = container_of(work, struct mkvm_clock, refresh);
	struct mkvm_vm *vm = container_of(clk, struct mkvm_vm, clock);

	/* An exiting process: there is nothing left to map. */
	if (!mmget_not_zero(vm->mm))
		return;
	mkvm_vm_kcov_start(vm);
	kthread_use_mm(vm->mm);
	if (mkvm_gpc_refresh(clk->gpc, CLOCK_REFRESH_TRIES)) {
		atomic64_inc(&clk->refresh_failures);
		atomic_set(&clk->backoff, CLOCK_REFRESH_BACKOFF);
	}
	kthread_unuse_mm(vm->mm);
	mmput(vm->mm);
	mkvm_vm_kcov_stop();
}

void mkvm_clock_init(struct mkvm_vm *vm)
{
	mkvm_hrtimer_setup(&vm->clock.timer, clock_tick, CLOCK_MONOTONIC,
			   HRTIMER_MODE_REL_SOFT);
	INIT_WORK(&vm->clock.refresh, clock_refresh);
}

/* Timer first: it is what queues the work. */
static void clock_stop_locked(struct mkvm_vm *vm)
{
	lockdep_assert_held(&vm->lock);
	hrtimer_cancel(&vm->clock.timer);
	cancel_work_sync(&vm->clock.refresh);
	vm->clock.gpc = NULL;
}

/* VM destroy: no fd is left, so no ioctl races with this. */
void mkvm_clock_stop(struct mkvm_vm *vm)
{
	mutex_lock(&vm->lock);
	clock_stop_locked(vm);
	mutex_unlock(&vm->lock);
}

/**
 * mkvm_vm_ioctl_clock_enable() - MKVM_CLOCK_ENABLE
 * @vm: the VM
 * @arg: the request, copied from userspace
 *
 * Return: 0, or the errno listed for MKVM_CLOCK_ENABLE.
 */
long mkvm_vm_ioctl_clock_enable(struct mkvm_vm *vm,
				const struct mkvm_clock_enable *arg)
{
	struct mkvm_clock *clk = &vm->clock;
	struct mkvm_gpc *gpc;
	bool usable;
	long r;

	if (arg->id >= MKVM_NR_GPCS || arg->flags ||
	    arg->period_ns < MKVM_CLOCK_MIN_PERIOD_NS ||
	    arg->period_ns > MKVM_CLOCK_MAX_PERIOD_NS)
		return -EINVAL;
	gpc = mkvm_gpc_get(vm, arg->id, false);
	if (!gpc)
		return -ENOENT;
	read_lock_irq(&gpc->lock);
	r = !gpc->active ? -ENOENT : gpc->len < sizeof(struct mkvm_clock_page) ? -EINVAL : 0;
	read_unlock_irq(&gpc->lock);
	if (r)
		return r;

	mutex_lock(&vm->lock);
	usable = !clk->gpc;
	if (usable) {
		clk->gpc = gpc;
		clk->period = ns_to_ktime(arg->period_ns);
		clk->ticks = 0;
		atomic_set(&clk->backoff, 0);
		hrtimer_start(&clk->timer, clk->period, HRTIMER_MODE_REL_SOFT);
	}
	mutex_unlock(&vm->lock);
	return usable ? 0 : -EBUSY;
}

/**
 * mkvm_vm_ioctl_clock_disable() - MKVM_CLOCK_DISABLE
 * @vm: the VM
 * @arg: must be 0
 *
 * Return: 0, -EINVAL (@arg not 0), -ENOENT (the clock is off).
 */
long mkvm_vm_ioctl_clock_disable(struct mkvm_vm *vm, unsigned long arg)
{
	long r = -ENOENT;

	if (arg)
		return -EINVAL;
	mutex_lock(&vm->lock);
	if (vm->clock.gpc) {
		clock_stop_locked(vm);
		r = 0;
	}
	mutex_unlock(&vm->lock);
	return r;
}
