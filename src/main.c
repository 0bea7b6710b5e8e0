// SPDX-License-Identifier: GPL-2.0
/*
 * Module init and exit, the /dev/mkvm misc device and its system ioctls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include <linux/mkvm.h>

#include "compat.h"
#include "main.h"
#include "pgtable.h"
#include "stats.h"
#include "vcpu.h"
#include "vm.h"

#ifdef CONFIG_MKVM_TEST_BUILD
#define MKVM_BUILD_KIND "test build: debugfs fault triggers compiled in"
#else
#define MKVM_BUILD_KIND "release build"
#endif

long mkvm_check_extension(unsigned long cap)
{
	switch (cap) {
	case MKVM_CAP_USER_MEMORY:
	case MKVM_CAP_READONLY_MEM:
		return 1;
	case MKVM_CAP_NR_MEMSLOTS:
		return MKVM_NR_MEMSLOTS;
	case MKVM_CAP_MAX_VCPUS:
		return MKVM_MAX_VCPUS;
	case MKVM_CAP_MAX_VCPU_ID:
		return MKVM_MAX_VCPU_ID;
	case MKVM_CAP_GUEST_PHYS_BITS:
		return MKVM_GUEST_PHYS_BITS;
	case MKVM_CAP_RUN:
		return 1;
	case MKVM_CAP_MAX_RUN_OPS:
		return MKVM_MAX_RUN_OPS;
	case MKVM_CAP_NR_GPCS:
		return MKVM_NR_GPCS;
	case MKVM_CAP_MANUAL_DIRTY_LOG_PROTECT:
		return MKVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
	case MKVM_CAP_EAGER_SPLIT_CHUNK_SIZE:
	case MKVM_CAP_BINARY_STATS_FD:
		return 1;
	default:
		return 0;
	}
}

static long mkvm_dev_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	switch (ioctl) {
	case MKVM_GET_API_VERSION:
		return arg ? -EINVAL : MKVM_API_VERSION;
	case MKVM_CREATE_VM:
		return mkvm_dev_create_vm(arg);
	case MKVM_CHECK_EXTENSION:
		return mkvm_check_extension(arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations mkvm_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = mkvm_dev_ioctl,
	/* Integer arguments must pass unchanged: no compat_ptr(). */
	.compat_ioctl = mkvm_dev_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice mkvm_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mkvm",
	.fops = &mkvm_dev_fops,
	.mode = 0660,
};

static int __init mkvm_init(void)
{
	int r;

	r = mkvm_memslot_selftest();
	if (!r)
		r = mkvm_pgtable_selftest();
	if (r)
		return r;

	mkvm_debugfs_init();
	r = misc_register(&mkvm_dev);
	if (r)
		goto err_debugfs;
	pr_info("version %s loaded (%s)\n", MKVM_VERSION, MKVM_BUILD_KIND);
	return 0;

err_debugfs:
	mkvm_debugfs_exit();
	return r;
}

static void __exit mkvm_exit(void)
{
	misc_deregister(&mkvm_dev);
	mkvm_debugfs_exit();
}

module_init(mkvm_init);
module_exit(mkvm_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The mkvm developers");
MODULE_DESCRIPTION("Minimal hypervisor MMU core modelled on KVM (/dev/mkvm)");
MODULE_VERSION(MKVM_VERSION);
MODULE_INFO(mkvm_build, MKVM_BUILD_KIND);
