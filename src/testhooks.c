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
 * None of this is built into a release module (Kbuild: MKVM_TEST=1).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "stats.h"

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

void mkvm_testhooks_init(struct dentry *root)
{
	struct dentry *dir = debugfs_create_dir("test", root);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(test_triggers); i++)
		debugfs_create_file(test_triggers[i].name, 0200, dir,
				    (void *)&test_triggers[i], &trigger_fops);
}
