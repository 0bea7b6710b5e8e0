// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU objects and their fds, and the software vCPU: MKVM_RUN executes a
 * program of guest memory accesses through stage-2 (mmu.c), faulting pages
 * in on a miss and exiting to userspace, MMIO-style, for what no memslot
 * serves. vm->lock (owned by vm.c) protects the VM's vCPU table; a vCPU fd
 * holds a VM reference; vcpu->mutex serialises everything one vCPU does.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/mkvm.h>

#include "mmu.h"
#include "root.h"
#include "stats.h"
#include "vcpu.h"
#include "vm.h"

static int op_validate(const struct mkvm_guest_op *op)
{
	u64 end;

	switch (op->type) {
	case MKVM_OP_READ:
	case MKVM_OP_WRITE:
		if (op->len || !is_power_of_2(op->size) || op->size > 8 ||
		    !IS_ALIGNED(op->gpa, op->size) ||
		    check_add_overflow(op->gpa, (u64)op->size, &end))
			return -EINVAL;
		break;
	case MKVM_OP_TOUCH_READ:
	case MKVM_OP_TOUCH_WRITE:
		if (op->size || !op->len || !PAGE_ALIGNED(op->gpa) ||
		    !PAGE_ALIGNED(op->len) ||
		    check_add_overflow(op->gpa, op->len, &end))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	return end > 1ULL << MKVM_S2_IA_BITS ? -EINVAL : 0;
}

/*
 * One access, faulting until it succeeds. Returns 0, MKVM_FAULT_MMIO, or
 * an errno (-EINTR if a signal arrived while invalidations kept racing).
 */
static int vcpu_access(struct mkvm_vcpu *vcpu, u64 gpa, unsigned int size,
		       bool write, u64 *data)
{
	int r;

	for (;;) {
		r = mkvm_mmu_access(vcpu, gpa, size, write, data);
		if (r != -ENOENT)
			return r;
		r = mkvm_mmu_fault(vcpu, gpa, write);
		if (r)
			return r;
		if (signal_pending(current))
			return -EINTR;
		cond_resched();
	}
}

static void vcpu_mmio_exit(struct mkvm_vcpu *vcpu, u64 gpa, unsigned int size,
			   bool write, u64 data)
{
	struct mkvm_run *run = vcpu->run;

	run->exit_reason = MKVM_EXIT_MMIO;
	run->mmio.gpa = gpa;
	run->mmio.size = size;
	run->mmio.is_write = write;
	run->mmio.data = write ? data : 0;
	vcpu->mmio_pending = true;
}

/* Run one op from *@progress on; 0 when the op is complete. */
static int vcpu_run_op(struct mkvm_vcpu *vcpu, struct mkvm_guest_op *op,
		       u64 *progress)
{
	bool write = op->type == MKVM_OP_WRITE || op->type == MKVM_OP_TOUCH_WRITE;
	u64 data = op->data;
	int r;

	if (op->type == MKVM_OP_READ || op->type == MKVM_OP_WRITE) {
		r = vcpu_access(vcpu, op->gpa, op->size, write, &data);
		if (r == MKVM_FAULT_MMIO)
			vcpu_mmio_exit(vcpu, op->gpa, op->size, write, op->data);
		else if (!r && !write)
			op->data = data;
		return r;
	}

	for (; *progress < op->len; *progress += PAGE_SIZE) {
		if (signal_pending(current))
			return -EINTR;
		data = op->data & 0xff;
		r = vcpu_access(vcpu, op->gpa + *progress, 1, write, &data);
		if (r == MKVM_FAULT_MMIO)
			vcpu_mmio_exit(vcpu, op->gpa + *progress, 1, write, data);
		if (r)
			return r;
		cond_resched();
	}
	return 0;
}

/* The op userspace completed after an MMIO exit: store a read's value. */
static int vcpu_complete_mmio(struct mkvm_vcpu *vcpu, struct mkvm_guest_op __user *uop,
			      u64 *progress)
{
	struct mkvm_run *run = vcpu->run;
	struct mkvm_guest_op op;

	vcpu->mmio_pending = false;
	if (copy_from_user(&op, uop, sizeof(op)))
		return -EFAULT;
	if (op.type == MKVM_OP_READ) {
		u64 data = READ_ONCE(run->mmio.data);

		if (op.size < 8)
			data &= (1ULL << (op.size * 8)) - 1;
		if (put_user(data, &uop->data))
			return -EFAULT;
		return 1;
	}
	if (op.type == MKVM_OP_TOUCH_READ || op.type == MKVM_OP_TOUCH_WRITE) {
		*progress += PAGE_SIZE;
		return *progress >= op.len;
	}
	return 1;
}

/*
 * MKVM_RUN: run ops from run->next_op until all are done, an MMIO exit, a
 * signal or an error. The run page is shared with userspace: its inputs
 * are read once, and the kernel's progress written back once, at the end
 * (litmus: run-page-single-fetch).
 */
static long vcpu_run(struct mkvm_vcpu *vcpu)
{
	struct mkvm_run *run = vcpu->run;
	struct mkvm_guest_op __user *ops = u64_to_user_ptr(READ_ONCE(run->ops));
	u32 nr = READ_ONCE(run->nr_ops), next = READ_ONCE(run->next_op);
	u64 progress = READ_ONCE(run->op_progress);
	struct mkvm_guest_op op;
	int r = 0;

	lockdep_assert_held(&vcpu->mutex);
	if (nr > MKVM_MAX_RUN_OPS)
		return -E2BIG;
	if (next > nr)
		return -EINVAL;

	/* Userspace abandons a pending MMIO access by clearing exit_reason. */
	if (vcpu->mmio_pending && next < nr &&
	    READ_ONCE(run->exit_reason) == MKVM_EXIT_MMIO) {
		r = vcpu_complete_mmio(vcpu, &ops[next], &progress);
		if (r < 0)
			goto out;
		if (r) {
			next++;
			progress = 0;
		}
		r = 0;
	}
	vcpu->mmio_pending = false;
	run->exit_reason = MKVM_EXIT_DONE;

	for (; next < nr; next++, progress = 0) {
		/*
		 * Before every op, as KVM checks before every guest entry: a
		 * program of mapped-page accesses never faults, and must still
		 * be killable and share the CPU.
		 */
		if (signal_pending(current)) {
			r = -EINTR;
			break;
		}
		cond_resched();
		if (copy_from_user(&op, &ops[next], sizeof(op))) {
			r = -EFAULT;
			break;
		}
		r = op_validate(&op);
		if (r)
			break;
		r = vcpu_run_op(vcpu, &op, &progress);
		if (r == MKVM_FAULT_MMIO) {
			r = 0;
			break;
		}
		if (r)
			break;
		if (op.type == MKVM_OP_READ && put_user(op.data, &ops[next].data)) {
			r = -EFAULT;
			break;
		}
	}
out:
	WRITE_ONCE(run->next_op, next);
	WRITE_ONCE(run->op_progress, progress);
	return r;
}

static long mkvm_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			    unsigned long arg)
{
	struct mkvm_vcpu *vcpu = filp->private_data;
	long r;

	/* Guest memory is the creator's: its mm must be the live one here. */
	if (vcpu->vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case MKVM_RUN:
		if (arg)
			return -EINVAL;
		if (mutex_lock_killable(&vcpu->mutex))
			return -EINTR;
		r = vcpu_run(vcpu);
		mutex_unlock(&vcpu->mutex);
		return r;
	case MKVM_GET_STATS_FD:
		return arg ? -EINVAL : mkvm_vcpu_stats_fd(vcpu);
	default:
		return -ENOTTY;
	}
}

static vm_fault_t mkvm_vcpu_vm_fault(struct vm_fault *vmf)
{
	struct mkvm_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff)
		return VM_FAULT_SIGBUS;
	page = virt_to_page(vcpu->run);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct mkvm_vcpu_vm_ops = {
	.fault = mkvm_vcpu_vm_fault,
};

/*
 * The run page: one shared page at offset 0. A private mapping would turn
 * into the process's own copy at its first write, which RUN never sees.
 */
static int mkvm_vcpu_mmap(struct file *filp, struct vm_area_struct *vma)
{
	if (vma->vm_pgoff || vma_pages(vma) != 1 ||
	    !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	vma->vm_ops = &mkvm_vcpu_vm_ops;
	return 0;
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
	.mmap = mkvm_vcpu_mmap,
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
	vcpu->run = (struct mkvm_run *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run) {
		kfree(vcpu);
		return -ENOMEM;
	}
	vcpu->vm = vm;
	vcpu->id = id;
	mutex_init(&vcpu->mutex);

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
	/* Read without vm->lock by debugfs: one untorn value, no ordering. */
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
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
	return r;
}

/* Called from VM destroy only, when no vCPU fd is left. */
void mkvm_vcpu_destroy(struct mkvm_vcpu *vcpu)
{
	mkvm_vcpu_put_root(vcpu);
	mkvm_memcache_free(&vcpu->memcache);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
	mkvm_stat_dec(MKVM_STAT_VCPUS);
}
