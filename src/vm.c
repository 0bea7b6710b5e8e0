// SPDX-License-Identifier: GPL-2.0
/*
 * The VM object: creation, references, VM-fd ioctls and destroy.
 *
 * Owns vm->lock (vCPU table) and the VM's lifetime. Memslots belong to
 * memslot.c, their update path and vm->slots_lock to memslot_update.c,
 * vCPUs to vcpu.c.
 *
 * Destroy order (mkvm_vm_destroy), run by whoever drops the last
 * reference, which is always the release of the VM fd, a vCPU fd or a
 * stats fd (in any process that holds one) and so may sleep:
 *   0. stop the clock page's timer, then its refresh worker (which may
 *      hold the creator's mm);
 *   1. unregister the mmu_notifier: it runs release if exit_mmap has not
 *      (both may run at once: seed 000) and then waits for every callback
 *      in flight, which may be aging parked before mmu_lock (seed 003);
 *      from here on no callback touches the VM. Before the steps below,
 *      because nothing before release may wait for an RCU grace period: a young callback
 *      in flight holds a page-table spinlock and would keep it from ending;
 *   2. remove the debugfs directory; debugfs waits for readers in flight,
 *      the last users that hold no reference (they cope with no stage-2);
 *   3. free the vCPUs (no vCPU fd is left, so nothing runs on them),
 *      which puts the roots they ran on;
 *   4. flush stage-2 (unregister's release always did: this finds no
 *      table, and is there so that destroy does not depend on it),
 *      run the roots' teardown worker to the end, so that every root is
 *      freed and no work is left queued; free the pfn caches (they hold
 *      no page references);
 *   5. free the memslots and the eager-split cache, then clean up the
 *      SRCU that protected the memslots; no reader is left: ioctls hold
 *      an fd, callbacks are gone since step 1 and debugfs readers (also
 *      vm->srcu readers) since step 2;
 *   6. mmdrop() the creator's mm, last, as nothing above needs it;
 *   7. free the VM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/mkvm.h>

#include "main.h"
#include "mmu.h"
#include "dirty.h"
#include "notifier.h"
#include "root.h"
#include "stats.h"
#include "vcpu.h"
#include "vm.h"

static DEFINE_IDA(mkvm_vm_ida);

void mkvm_vm_get(struct mkvm_vm *vm)
{
	refcount_inc(&vm->users);
}

static void mkvm_vm_destroy(struct mkvm_vm *vm)
{
	struct mkvm_vcpu *vcpu;
	unsigned long i;

	might_sleep();
	/* Nothing may tick into the VM while it goes: no timer, no worker. */
	mkvm_clock_stop(vm);
	mkvm_notifier_unregister(vm);
	mkvm_debugfs_vm_remove(vm);

	/* The last reference is gone: nobody can take vm->lock any more. */
	lockdep_assert_not_held(&vm->lock);
	xa_for_each(&vm->vcpus, i, vcpu)
		mkvm_vcpu_destroy(vcpu);
	xa_destroy(&vm->vcpus);

	lockdep_assert_not_held(&vm->mmu_lock);
	mkvm_mmu_flush_all(vm);
	mkvm_roots_destroy(vm);

	/* No notifier and no fd: nothing reaches the caches. */
	mkvm_gpc_destroy_vm(vm);

	lockdep_assert_not_held(&vm->slots_lock);
	mkvm_memslots_destroy(vm);
	/* Its one other freer holds slots_lock, which nobody can take now. */
	mkvm_split_cache_free(&vm->split_cache);
	cleanup_srcu_struct(&vm->srcu);

	mmdrop(vm->mm);
	ida_free(&mkvm_vm_ida, vm->id);
	kfree(vm);
	mkvm_stat_dec(MKVM_STAT_VMS);
}

void mkvm_vm_put(struct mkvm_vm *vm)
{
	if (refcount_dec_and_test(&vm->users))
		mkvm_vm_destroy(vm);
}

static long mkvm_vm_ioctl_set_memory_region(struct mkvm_vm *vm,
					    void __user *argp)
{
	struct mkvm_userspace_memory_region mem;

	if (copy_from_user(&mem, argp, sizeof(mem)))
		return -EFAULT;
	return mkvm_set_memory_region(vm, &mem);
}

static long mkvm_vm_ioctl_gpc_activate_user(struct mkvm_vm *vm,
					    void __user *argp)
{
	struct mkvm_gpc_activate act;

	if (copy_from_user(&act, argp, sizeof(act)))
		return -EFAULT;
	return mkvm_vm_ioctl_gpc_activate(vm, &act);
}

static long mkvm_vm_ioctl_gpc_access_user(struct mkvm_vm *vm,
					  struct mkvm_gpc_access __user *argp,
					  bool write)
{
	struct mkvm_gpc_access acc;
	long r;

	if (copy_from_user(&acc, argp, sizeof(acc)))
		return -EFAULT;
	r = mkvm_vm_ioctl_gpc_access(vm, &acc, write);
	if (!r && !write && put_user(acc.data, &argp->data))
		return -EFAULT;
	return r;
}

static long mkvm_vm_ioctl_clock_enable_user(struct mkvm_vm *vm,
					    void __user *argp)
{
	struct mkvm_clock_enable en;

	if (copy_from_user(&en, argp, sizeof(en)))
		return -EFAULT;
	return mkvm_vm_ioctl_clock_enable(vm, &en);
}

static long mkvm_vm_ioctl_enable_cap_user(struct mkvm_vm *vm, void __user *argp)
{
	struct mkvm_enable_cap cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	return mkvm_vm_ioctl_enable_cap(vm, &cap);
}

static long mkvm_vm_ioctl_get_dirty_log_user(struct mkvm_vm *vm, void __user *argp)
{
	struct mkvm_dirty_log log;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	return mkvm_vm_ioctl_get_dirty_log(vm, &log);
}

static long mkvm_vm_ioctl_clear_dirty_log_user(struct mkvm_vm *vm, void __user *argp)
{
	struct mkvm_clear_dirty_log log;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	return mkvm_vm_ioctl_clear_dirty_log(vm, &log);
}

static long mkvm_vm_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	struct mkvm_vm *vm = filp->private_data;

	/* Memslot addresses mean something only in the creator's mm. */
	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case MKVM_SET_USER_MEMORY_REGION:
		return mkvm_vm_ioctl_set_memory_region(vm, (void __user *)arg);
	case MKVM_CREATE_VCPU:
		return mkvm_vm_create_vcpu(vm, arg);
	case MKVM_CHECK_EXTENSION:
		return mkvm_check_extension(arg);
	case MKVM_GPC_ACTIVATE:
		return mkvm_vm_ioctl_gpc_activate_user(vm, (void __user *)arg);
	case MKVM_GPC_DEACTIVATE:
		return mkvm_vm_ioctl_gpc_deactivate(vm, arg);
	case MKVM_GPC_READ:
		return mkvm_vm_ioctl_gpc_access_user(vm, (void __user *)arg, false);
	case MKVM_GPC_WRITE:
		return mkvm_vm_ioctl_gpc_access_user(vm, (void __user *)arg, true);
	case MKVM_CLOCK_ENABLE:
		return mkvm_vm_ioctl_clock_enable_user(vm, (void __user *)arg);
	case MKVM_CLOCK_DISABLE:
		return mkvm_vm_ioctl_clock_disable(vm, arg);
	case MKVM_ENABLE_CAP:
		return mkvm_vm_ioctl_enable_cap_user(vm, (void __user *)arg);
	case MKVM_GET_DIRTY_LOG:
		return mkvm_vm_ioctl_get_dirty_log_user(vm, (void __user *)arg);
	case MKVM_CLEAR_DIRTY_LOG:
		return mkvm_vm_ioctl_clear_dirty_log_user(vm, (void __user *)arg);
	case MKVM_INVALIDATE_ROOTS:
		if (arg)
			return -EINVAL;
		mkvm_mmu_invalidate_roots(vm);
		return 0;
	case MKVM_GET_STATS_FD:
		return arg ? -EINVAL : mkvm_vm_stats_fd(vm);
	default:
		return -ENOTTY;
	}
}

static int mkvm_vm_release(struct inode *inode, struct file *filp)
{
	mkvm_vm_put(filp->private_data);
	return 0;
}

static const struct file_operations mkvm_vm_fops = {
	.owner = THIS_MODULE,
	.release = mkvm_vm_release,
	.unlocked_ioctl = mkvm_vm_ioctl,
	/* As KVM does: the layouts are the same for 32-bit userspace. */
	.compat_ioctl = mkvm_vm_ioctl,
	.llseek = noop_llseek,
};

static struct mkvm_vm *mkvm_vm_create(void)
{
	struct mkvm_vm *vm;
	int r;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return ERR_PTR(-ENOMEM);

	r = ida_alloc(&mkvm_vm_ida, GFP_KERNEL);
	if (r < 0)
		goto err_free;
	vm->id = r;

	r = init_srcu_struct(&vm->srcu);
	if (r)
		goto err_ida;

	refcount_set(&vm->users, 1);
#ifdef CONFIG_MKVM_TEST_BUILD
	vm->kcov_handle = kcov_common_handle();
#endif
	mutex_init(&vm->lock);
	mutex_init(&vm->slots_lock);
	xa_init(&vm->vcpus);
	mkvm_memslots_init(vm);
	mkvm_gpc_init_vm(vm);
	mkvm_clock_init(vm);
	/* No root yet: the first fault builds one. */
	mkvm_roots_init(vm);
	mmgrab(current->mm);
	vm->mm = current->mm;
	/* Last: from here on callbacks can arrive, and everything is ready. */
	r = mkvm_notifier_register(vm);
	if (r)
		goto err_mm;

	mkvm_stat_inc(MKVM_STAT_VMS);
	mkvm_stat_inc(MKVM_STAT_VMS_CREATED);
	mkvm_debugfs_vm_add(vm);
	return vm;

err_mm:
	mmdrop(vm->mm);
	cleanup_srcu_struct(&vm->srcu);
err_ida:
	ida_free(&mkvm_vm_ida, vm->id);
err_free:
	kfree(vm);
	return ERR_PTR(r);
}

/**
 * mkvm_dev_create_vm() - MKVM_CREATE_VM
 * @type: VM type, must be 0
 *
 * Return: a VM fd, -EINVAL for a non-zero type, -ENOMEM or -EMFILE.
 */
long mkvm_dev_create_vm(unsigned long type)
{
	struct mkvm_vm *vm;
	int fd;

	if (type)
		return -EINVAL;

	vm = mkvm_vm_create();
	if (IS_ERR(vm))
		return PTR_ERR(vm);

	fd = anon_inode_getfd("mkvm-vm", &mkvm_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		mkvm_vm_put(vm);
	return fd;
}
