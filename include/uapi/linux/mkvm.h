/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mkvm: a minimal hypervisor MMU core, modelled on KVM.
 *
 * The ABI follows KVM's: /dev/mkvm hands out VM file descriptors, a VM fd
 * hands out vCPU file descriptors and takes memory slots. Every structure
 * uses fixed-size fields with explicit padding; unknown flags and non-zero
 * padding are rejected with -EINVAL so they can be given meaning later.
 * docs/api.md documents every ioctl and errno.
 *
 * Errors common to every ioctl:
 *   -ENOTTY  the ioctl is not one this kind of fd knows
 *   -EFAULT  an argument pointer cannot be read or written
 *   -EIO     (VM and vCPU fds) the caller's mm is not the VM creator's
 */
#ifndef _UAPI_LINUX_MKVM_H
#define _UAPI_LINUX_MKVM_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MKVM_API_VERSION	1

/*
 * KVM uses 0xAE. 0xAF numbers 0x00-0x1f belong to fsl_hypervisor; mkvm
 * takes 0xa0 and up.
 */
#define MKVMIO			0xAF

/*
 * System ioctls, on /dev/mkvm.
 */

/* Returns MKVM_API_VERSION. The argument must be 0 (-EINVAL). */
#define MKVM_GET_API_VERSION	_IO(MKVMIO, 0xa0)
/* Returns a new VM fd. The argument (VM type) must be 0 (-EINVAL). */
#define MKVM_CREATE_VM		_IO(MKVMIO, 0xa1)
/*
 * Returns 0 if the capability is absent, a positive value if present
 * (its meaning depends on the capability). Also accepted on a VM fd.
 */
#define MKVM_CHECK_EXTENSION	_IO(MKVMIO, 0xa2)

/* Capabilities for MKVM_CHECK_EXTENSION. */
#define MKVM_CAP_USER_MEMORY	1	/* MKVM_SET_USER_MEMORY_REGION: 1 */
#define MKVM_CAP_READONLY_MEM	2	/* MKVM_MEM_READONLY accepted: 1 */
#define MKVM_CAP_NR_MEMSLOTS	3	/* number of slot ids: slot < value */
#define MKVM_CAP_MAX_VCPUS	4	/* vCPUs per VM */
#define MKVM_CAP_MAX_VCPU_ID	5	/* vCPU ids: id < value */
#define MKVM_CAP_GUEST_PHYS_BITS 6	/* guest-physical address width */

/*
 * VM ioctls, on a VM fd.
 */

/* Memory slot flags. */
#define MKVM_MEM_LOG_DIRTY_PAGES	(1U << 0)	/* reserved, -EINVAL */
#define MKVM_MEM_READONLY		(1U << 1)

/**
 * struct mkvm_userspace_memory_region - MKVM_SET_USER_MEMORY_REGION argument
 * @slot: slot id, below MKVM_CAP_NR_MEMSLOTS
 * @flags: MKVM_MEM_* flags
 * @guest_phys_addr: first guest-physical byte, page aligned
 * @memory_size: bytes, page aligned; 0 deletes the slot
 * @userspace_addr: first byte of the backing in the caller's address space,
 *	page aligned
 *
 * Creating a slot needs a free id and a guest-physical range that overlaps
 * no other slot. An existing slot can only be deleted (size 0) or moved
 * (same size, flags and userspace_addr, new guest_phys_addr).
 *
 * Errors: -EINVAL (bad id, unknown or reserved flag, misalignment, size or
 * address beyond the limits, wrap-around, a tagged userspace_addr, an
 * illegal change to an existing slot, deleting a slot that does not
 * exist), -EFAULT (the userspace range is not valid for the process),
 * -EEXIST (overlap with another slot), -ENOMEM.
 */
struct mkvm_userspace_memory_region {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
};

#define MKVM_SET_USER_MEMORY_REGION \
	_IOW(MKVMIO, 0xa3, struct mkvm_userspace_memory_region)

/*
 * Returns a new vCPU fd. The argument is the vCPU id, below
 * MKVM_CAP_MAX_VCPU_ID. Errors: -EINVAL (id out of range, or the VM already
 * has MKVM_CAP_MAX_VCPUS vCPUs), -EEXIST (id in use), -ENOMEM, -EMFILE.
 */
#define MKVM_CREATE_VCPU	_IO(MKVMIO, 0xa4)

#endif /* _UAPI_LINUX_MKVM_H */
