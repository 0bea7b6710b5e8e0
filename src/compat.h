/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only file in mkvm that knows kernel versions.
 *
 * Where a feature can be detected from what the headers provide, it is
 * detected that way: Debian's 6.1 carries backports, so version numbers
 * lie about everything but the supported range itself.
 */
#ifndef MKVM_COMPAT_H
#define MKVM_COMPAT_H

#include <linux/version.h>

/* The supported range: 6.1 <= version < 8.0. */
#define MKVM_KERNEL_TOO_OLD \
	(LINUX_VERSION_MAJOR == 6 && LINUX_VERSION_PATCHLEVEL < 1)
#if LINUX_VERSION_MAJOR < 6 || LINUX_VERSION_MAJOR > 7 || MKVM_KERNEL_TOO_OLD
#error "mkvm supports Linux 6.1 up to 7.x only"
#endif

/* Guest-physical and user addresses are u64 in the ABI and used as such. */
#ifndef CONFIG_64BIT
#error "mkvm supports 64-bit kernels only (x86_64, arm64)"
#endif

/*
 * 7.x turned the young callbacks' int into bool. Take the type from the
 * headers themselves rather than from a version number (typeof evaluates
 * nothing).
 */
#include <linux/mmu_notifier.h>
#define mkvm_young_t \
	typeof(((struct mmu_notifier_ops *)NULL)->clear_young(NULL, NULL, 0, 0))

/*
 * 6.13 added hrtimer_setup(), which sets the callback too; 7.x removed
 * hrtimer_init(). A function cannot be detected by the preprocessor, and
 * no Debian kernel backports either change: the version decides.
 */
#include <linux/hrtimer.h>
#define MKVM_HAVE_HRTIMER_SETUP \
	(LINUX_VERSION_MAJOR > 6 || \
	 (LINUX_VERSION_MAJOR == 6 && LINUX_VERSION_PATCHLEVEL >= 13))
static inline void mkvm_hrtimer_setup(struct hrtimer *timer,
				      enum hrtimer_restart (*fn)(struct hrtimer *),
				      clockid_t clock, enum hrtimer_mode mode)
{
#if MKVM_HAVE_HRTIMER_SETUP
	hrtimer_setup(timer, fn, clock, mode);
#else
	hrtimer_init(timer, clock, mode);
	timer->function = fn;
#endif
}

#endif /* MKVM_COMPAT_H */
