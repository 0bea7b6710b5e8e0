/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_VM_H
#define MKVM_VM_H

#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/srcu.h>
#include <linux/xarray.h>

#include "memslot.h"

struct dentry;
struct mm_struct;

#define MKVM_MAX_VCPUS		16
#define MKVM_MAX_VCPU_ID	64

/**
 * struct mkvm_vm - one virtual machine
 *
 * Lock order, outermost first (KVM's, cut to what exists so far):
 *   vm->lock  ->  vm->slots_lock  ->  srcu_read_lock(&vm->srcu)
 * vm->srcu readers never take slots_lock: its holder waits for them in
 * synchronize_srcu().
 *
 * Lifetime: @users counts the VM fd and each vCPU fd. The last put runs
 * mkvm_vm_destroy() (vm.c documents its order) in the context of the
 * final fput, which may sleep. Every fd holds a reference on this module
 * through its fops owner, so the module cannot go away under a VM.
 */
struct mkvm_vm {
	refcount_t users;
	/* mmgrab()ed creator mm: VM and vCPU ioctls from any other mm get -EIO. */
	struct mm_struct *mm;
	unsigned int id;

	/* Protects @vcpus and @nr_vcpus. */
	struct mutex lock;
	struct xarray vcpus;
	unsigned int nr_vcpus;

	/*
	 * Serialises memslot updates. Protects the inactive set in
	 * @__memslots, @slots_by_id and the writer's side of @memslots.
	 */
	struct mutex slots_lock;
	struct mkvm_memslot *slots_by_id[MKVM_NR_MEMSLOTS];
	struct mkvm_memslots __memslots[2];
	/* The active set: written under @slots_lock, read under @srcu. */
	struct mkvm_memslots __rcu *memslots;
	struct srcu_struct srcu;

	/* Statistics, read lock-free by debugfs. */
	atomic64_t stat_memslot_updates;
	struct dentry *debugfs_dir;
};

long mkvm_dev_create_vm(unsigned long type);
void mkvm_vm_get(struct mkvm_vm *vm);
void mkvm_vm_put(struct mkvm_vm *vm);

#endif /* MKVM_VM_H */
