// SPDX-License-Identifier: GPL-2.0
/*
 * Test-build only: triggers that prove the QEMU harness catches what it
 * must. Each file under /sys/kernel/debug/mkvm/test/ does one bad thing
 * when written to:
 *
 *   warn		WARN() once: any kernel lane must fail the run
 *   kasan_uaf		read a freed object: the debug lane's KASAN must report
 *   lock_inversion	take two mutexes in both orders: lockdep must report
 *   leak		lose a small allocation: kmemleak must report
 *   leak_count	count one VM more than exists, as a leaked VM would:
 *			the harness's leaked-object check must report
 *
 * and /sys/kernel/debug/mkvm/hooks/ holds the delay injection points of
 * testhooks.h.
 *
 * None of this is built into a release module (Kbuild: MKVM_TEST=1).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "stats.h"
#include "testhooks.h"

static void trigger_warn(void)
{
	WARN(1, "mkvm: test trigger: deliberate warning");
}

static void trigger_kasan_uaf(void)
{
	char *p = kmalloc(64, GFP_KERNEL);

	if (!p)
		return;
	kfree(p);
	pr_info("test trigger: reading freed object: %d\n", READ_ONCE(p[8]));
}

static DEFINE_MUTEX(test_lock_a);
static DEFINE_MUTEX(test_lock_b);

static void trigger_lock_inversion(void)
{
	mutex_lock(&test_lock_a);
	mutex_lock(&test_lock_b);
	mutex_unlock(&test_lock_b);
	mutex_unlock(&test_lock_a);

	mutex_lock(&test_lock_b);
	mutex_lock(&test_lock_a);
	mutex_unlock(&test_lock_a);
	mutex_unlock(&test_lock_b);
}

static noinline void trigger_leak(void)
{
	void *p = kmalloc(128, GFP_KERNEL_ACCOUNT);

	pr_info("test trigger: leaking an object (%s)\n", p ? "ok" : "ENOMEM");
}

static void trigger_leak_count(void)
{
	mkvm_stat_inc(MKVM_STAT_VMS);
}

struct test_trigger {
	const char *name;
	void (*fire)(void);
};

static const struct test_trigger test_triggers[] = {
	{ "warn", trigger_warn },
	{ "kasan_uaf", trigger_kasan_uaf },
	{ "lock_inversion", trigger_lock_inversion },
	{ "leak", trigger_leak },
	{ "leak_count", trigger_leak_count },
};

static ssize_t trigger_write(struct file *file, const char __user *buf,
			     size_t len, loff_t *ppos)
{
	const struct test_trigger *t = file->private_data;

	t->fire();
	return len;
}

static const struct file_operations trigger_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = trigger_write,
	.llseek = noop_llseek,
};

#ifdef MKVM_SELFTEST_BUILD_BREAK
#include <linux/mm.h>
/*
 * The harness's proof that a lane catches a kernel-specific break: an API
 * used without a compat.h wrapper. follow_pfn() exists in 6.1 and is gone
 * from 6.10 on, so this builds on bookworm's kernel and breaks on newer.
 */
int mkvm_selftest_build_break(struct vm_area_struct *vma, unsigned long *pfn);
int mkvm_selftest_build_break(struct vm_area_struct *vma, unsigned long *pfn)
{
	return follow_pfn(vma, 0, pfn);
}
#endif

static const char * const hook_names[MKVM_NR_HOOKS] = {
	[MKVM_HOOK_FLUSH_DETACHED] = "flush_detached",
	[MKVM_HOOK_FAULT_SIZED] = "fault_sized",
	[MKVM_HOOK_AGE_BEFORE_LOCK] = "age_before_lock",
	[MKVM_HOOK_INVALIDATE_END] = "invalidate_end",
	[MKVM_HOOK_INVALIDATE_ZAPPED] = "invalidate_zapped",
	[MKVM_HOOK_FAULT_INSTALLED] = "fault_installed",
	[MKVM_HOOK_INVALIDATE_STARTED] = "invalidate_started",
	[MKVM_HOOK_GPC_REFRESH_UNLOCKED] = "gpc_refresh_unlocked",
	[MKVM_HOOK_ROOT_TEARDOWN_YIELD] = "root_teardown_yield",
};

static atomic_t hook_delay_ms[MKVM_NR_HOOKS];
static atomic_t hook_hits[MKVM_NR_HOOKS];
/* Delays left before the hook disarms itself; negative: no limit. */
static atomic_t hook_left[MKVM_NR_HOOKS];

/*
 * Widen a race window: count the hit, then wait. Where sleeping is not
 * allowed (the young callbacks run under a page-table spinlock) it
 * busy-waits, which needs a second CPU for the other side of the race.
 */
void mkvm_hook(enum mkvm_hook hook, bool may_sleep)
{
	/* Pairs with the release in hook_write(): see its hook_left (litmus: hook-arm). */
	int ms = atomic_read_acquire(&hook_delay_ms[hook]);

	if (!ms)
		return;
	/* A hook armed for n hits claims one; an unlimited one (-1) runs. */
	if (atomic_read(&hook_left[hook]) >= 0) {
		if (!atomic_add_unless(&hook_left[hook], -1, 0))
			return;
		/* The last one disarms it, so that reading it says so. */
		if (!atomic_read(&hook_left[hook]))
			atomic_set(&hook_delay_ms[hook], 0);
	}
	atomic_inc(&hook_hits[hook]);
	if (may_sleep)
		msleep(ms);
	else
		mdelay(ms);
}

static int hook_show(struct seq_file *m, void *unused)
{
	long hook = (long)m->private;

	seq_printf(m, "%d %d\n", atomic_read(&hook_delay_ms[hook]),
		   atomic_read(&hook_hits[hook]));
	return 0;
}

static int hook_open(struct inode *inode, struct file *file)
{
	return single_open(file, hook_show, inode->i_private);
}

/* "ms" arms the hook for every hit, "ms n" for the next n hits only. */
static ssize_t hook_write(struct file *file, const char __user *buf,
			  size_t len, loff_t *ppos)
{
	long hook = (long)file_inode(file)->i_private;
	char kbuf[32], *ms_str, *p = kbuf;
	unsigned int ms, times = 0;

	if (len >= sizeof(kbuf))
		return -EINVAL;
	if (copy_from_user(kbuf, buf, len))
		return -EFAULT;
	kbuf[len] = '\0';
	ms_str = strsep(&p, " ");
	if (kstrtouint(ms_str, 0, &ms) || ms > 10000)
		return -EINVAL;
	if (p && (kstrtouint(p, 0, &times) || !times || times > INT_MAX))
		return -EINVAL;
	atomic_set(&hook_delay_ms[hook], 0);
	atomic_set(&hook_hits[hook], 0);
	atomic_set(&hook_left[hook], times ? times : -1);
	/* Pairs with the acquire in mkvm_hook() (litmus: hook-arm). */
	atomic_set_release(&hook_delay_ms[hook], ms);
	return len;
}

static const struct file_operations hook_fops = {
	.owner = THIS_MODULE,
	.open = hook_open,
	.read = seq_read,
	.write = hook_write,
	.llseek = seq_lseek,
	.release = single_release,
};

void mkvm_testhooks_init(struct dentry *root)
{
	struct dentry *dir = debugfs_create_dir("test", root);
	long i;

	for (i = 0; i < ARRAY_SIZE(test_triggers); i++)
		debugfs_create_file(test_triggers[i].name, 0200, dir,
				    (void *)&test_triggers[i], &trigger_fops);
	dir = debugfs_create_dir("hooks", root);
	for (i = 0; i < MKVM_NR_HOOKS; i++)
		debugfs_create_file(hook_names[i], 0600, dir, (void *)i, &hook_fops);
}
