// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU objects and their fds. vm->lock (owned by vm.c) protects the VM's
 * vCPU table; a vCPU fd holds a VM reference.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>

#include <linux/mkvm.h>

#include "stats.h"
#include "vcpu.h"
#include "vm.h"

static long mkvm_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			    unsigned long arg)
{
	struct mkvm_vcpu *vcpu = filp->private_data;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	return -ENOTTY;
}

static int mkvm_vcpu_release(struct inode *inode, struct file *filp)
{
	struct mkvm_vcpu *vcpu = filp->private_data;

	mkvm_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations mkvm_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = mkvm_vcpu_release,
	.unlocked_ioctl = mkvm_vcpu_ioctl,
	.compat_ioctl = mkvm_vcpu_ioctl,
	.llseek = noop_llseek,
};

/**
 * mkvm_vm_create_vcpu() - MKVM_CREATE_VCPU
 * @vm: the VM, referenced by the caller's VM fd
 * @id: the new vCPU's id
 *
 * Return: a vCPU fd, or the errno listed for MKVM_CREATE_VCPU.
 */
long mkvm_vm_create_vcpu(struct mkvm_vm *vm, unsigned long id)
{
	struct mkvm_vcpu *vcpu;
	char name[24];
	int r;

	if (id >= MKVM_MAX_VCPU_ID)
		return -EINVAL;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->nr_vcpus >= MKVM_MAX_VCPUS)
		goto err_unlock;
	r = xa_insert(&vm->vcpus, id, vcpu, GFP_KERNEL_ACCOUNT);
	if (r == -EBUSY)
		r = -EEXIST;
	if (r)
		goto err_unlock;

	/* The fd's reference; the caller's VM fd keeps this from being the first. */
	mkvm_vm_get(vm);
	snprintf(name, sizeof(name), "mkvm-vcpu:%u", vcpu->id);
	r = anon_inode_getfd(name, &mkvm_vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (r < 0)
		goto err_erase;
	/* Pairs with the READ_ONCE in the debugfs reader. */
	WRITE_ONCE(vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	mkvm_stat_inc(MKVM_STAT_VCPUS);
	return r;

err_erase:
	xa_erase(&vm->vcpus, id);
	/* Not the last reference: the caller's VM fd holds one. */
	refcount_dec(&vm->users);
err_unlock:
	mutex_unlock(&vm->lock);
	kfree(vcpu);
	return r;
}

/* Called from VM destroy only, when no vCPU fd is left. */
void mkvm_vcpu_destroy(struct mkvm_vcpu *vcpu)
{
	kfree(vcpu);
	mkvm_stat_dec(MKVM_STAT_VCPUS);
}
