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
#define MKVM_CAP_NR_MEMSLOTS	3	/* number of slot ids (32764): slot < value */
#define MKVM_CAP_MAX_VCPUS	4	/* vCPUs per VM */
#define MKVM_CAP_MAX_VCPU_ID	5	/* vCPU ids: id < value */
#define MKVM_CAP_GUEST_PHYS_BITS 6	/* guest-physical address width */
#define MKVM_CAP_RUN		7	/* MKVM_RUN and the software vCPU: 1 */
#define MKVM_CAP_MAX_RUN_OPS	8	/* ops in one MKVM_RUN program */
#define MKVM_CAP_NR_GPCS	9	/* pfn caches per VM: id < value */
/* MKVM_GET_DIRTY_LOG, MKVM_CLEAR_DIRTY_LOG: the flags MKVM_ENABLE_CAP takes */
#define MKVM_CAP_MANUAL_DIRTY_LOG_PROTECT 10
/* Eager splitting when logging starts: 1; MKVM_ENABLE_CAP sets the chunk in bytes, 0 = off */
#define MKVM_CAP_EAGER_SPLIT_CHUNK_SIZE	11
#define MKVM_CAP_BINARY_STATS_FD	12	/* MKVM_GET_STATS_FD: 1 */

/*
 * VM ioctls, on a VM fd.
 */

/* Memory slot flags. */
#define MKVM_MEM_LOG_DIRTY_PAGES	(1U << 0)	/* log guest writes: MKVM_GET_DIRTY_LOG */
#define MKVM_MEM_READONLY		(1U << 1)

/**
 * struct mkvm_userspace_memory_region - MKVM_SET_USER_MEMORY_REGION argument
 * @slot: slot id, below MKVM_CAP_NR_MEMSLOTS (32764, as KVM on x86)
 * @flags: MKVM_MEM_* flags
 * @guest_phys_addr: first guest-physical byte, page aligned
 * @memory_size: bytes, page aligned, at most 2^31 - 1 pages (as KVM);
 *	0 deletes the slot
 * @userspace_addr: first byte of the backing in the caller's address space,
 *	page aligned
 *
 * Creating a slot needs a free id and a guest-physical range that overlaps
 * no other slot. An existing slot can only be deleted (size 0), moved
 * (same size, flags and userspace_addr, new guest_phys_addr), or start or
 * stop logging (only MKVM_MEM_LOG_DIRTY_PAGES differs), one at a time.
 *
 * Errors: -EINVAL (bad id, unknown flag, misalignment, size or
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

/*
 * gfn-to-pfn caches: kernel mappings of one page of guest memory (keyed by
 * guest-physical address) or of the process's memory (keyed by host
 * virtual address, in a memslot or not), which the kernel reads and writes
 * with interrupts off and keeps coherent with every change to the
 * process's memory and to the memslots (KVM's pfncache).
 */
#define MKVM_GPC_HVA		(1U << 0)	/* @addr is a host virtual address */

/**
 * struct mkvm_gpc_activate - MKVM_GPC_ACTIVATE argument
 * @id: cache id, below MKVM_CAP_NR_GPCS
 * @flags: MKVM_GPC_HVA, or 0 for a guest-physical @addr
 * @addr: the first byte; 8-byte aligned
 * @len: bytes, a multiple of 8, with [@addr, @addr + @len) in one page
 *
 * Keys the cache (re-keys an active one) and maps its page, writable.
 * Errors: -EINVAL (bad id, unknown flag, misaligned or page-crossing
 * range, a tagged or out-of-range address), -EFAULT (nothing to map: no
 * memslot covers the GPA, the address is not mapped writable, the VM's
 * creator has exited; the cache is left inactive; or get_user_pages'
 * own errno), -EINTR (a signal while invalidations kept the refresh
 * retrying), -ENOMEM.
 */
struct mkvm_gpc_activate {
	__u32 id;
	__u32 flags;
	__u64 addr;
	__u64 len;
};

#define MKVM_GPC_ACTIVATE	_IOW(MKVMIO, 0xa6, struct mkvm_gpc_activate)
/* The argument is the id. Errors: -EINVAL (id out of range), -ENOENT (not active). */
#define MKVM_GPC_DEACTIVATE	_IO(MKVMIO, 0xa7)

#define MKVM_GPC_NO_REFRESH	(1U << 0)	/* fail with -EAGAIN instead */

/**
 * struct mkvm_gpc_access - MKVM_GPC_READ / MKVM_GPC_WRITE argument
 * @id: an active cache
 * @flags: MKVM_GPC_NO_REFRESH or 0
 * @offset: from the cache's @addr; 8-byte aligned, @offset + 8 <= @len
 * @data: the value written, or (READ) the value read
 *
 * The kernel reads or writes 8 bytes through the cache's mapping, with
 * interrupts off after a check that never sleeps, as an atomic-context
 * user would. If the check fails (an invalidation, a memslot change), it
 * refreshes the mapping and tries again, unless MKVM_GPC_NO_REFRESH.
 * Errors: -EINVAL (bad id, flag or offset), -ENOENT (not active),
 * -EAGAIN (MKVM_GPC_NO_REFRESH and the cache is invalid), -EFAULT (the
 * refresh found nothing to map: the page is gone, or no memslot covers
 * the GPA any more; the cache stays active and the next access retries),
 * -EINTR.
 */
struct mkvm_gpc_access {
	__u32 id;
	__u32 flags;
	__u64 offset;
	__u64 data;
};

#define MKVM_GPC_READ		_IOWR(MKVMIO, 0xa8, struct mkvm_gpc_access)
#define MKVM_GPC_WRITE		_IOW(MKVMIO, 0xa9, struct mkvm_gpc_access)

/**
 * struct mkvm_clock_page - what the clock writes at its cache's address
 * @version: odd while a write is in progress: read @version, then @ticks,
 *	then @version again, and retry unless both reads are equal and even
 * @pad: 0
 * @ticks: timer periods since the clock was enabled, counted even while
 *	the cache could not be written (the next write catches up)
 */
struct mkvm_clock_page {
	__u32 version;
	__u32 pad;
	__u64 ticks;
};

#define MKVM_CLOCK_MIN_PERIOD_NS	100000ULL	/* 100 us */
#define MKVM_CLOCK_MAX_PERIOD_NS	1000000000ULL	/* 1 s */

/**
 * struct mkvm_clock_enable - MKVM_CLOCK_ENABLE argument
 * @id: an active pfn cache of at least 16 bytes
 * @flags: 0
 * @period_ns: between MKVM_CLOCK_MIN_PERIOD_NS and MKVM_CLOCK_MAX_PERIOD_NS
 *
 * A timer writes a struct mkvm_clock_page through the cache every period,
 * from softirq context; when the cache is invalid it defers the refresh
 * to a worker and writes at the next period after it. One clock per VM.
 * Errors: -EINVAL (bad id, flags or period, a cache shorter than 16
 * bytes), -ENOENT (the cache is not active), -EBUSY (the clock is on).
 */
struct mkvm_clock_enable {
	__u32 id;
	__u32 flags;
	__u64 period_ns;
};

#define MKVM_CLOCK_ENABLE	_IOW(MKVMIO, 0xaa, struct mkvm_clock_enable)
/* Argument 0. Errors: -EINVAL (argument not 0), -ENOENT (the clock is off). */
#define MKVM_CLOCK_DISABLE	_IO(MKVMIO, 0xab)

/*
 * KVM's "fast zap": every stage-2 root becomes invalid at once. vCPUs
 * move to a new root at their next access and fault their memory in
 * again; the old roots are zapped and freed in the background, and stay
 * coherent with the process's memory until they are gone. The argument
 * must be 0 (-EINVAL).
 */
#define MKVM_INVALIDATE_ROOTS	_IO(MKVMIO, 0xac)

/**
 * struct mkvm_enable_cap - MKVM_ENABLE_CAP argument
 * @cap: MKVM_CAP_MANUAL_DIRTY_LOG_PROTECT or MKVM_CAP_EAGER_SPLIT_CHUNK_SIZE
 * @flags: 0
 * @args: the capability's arguments; unused ones must be 0
 *
 * MKVM_CAP_MANUAL_DIRTY_LOG_PROTECT: @args[0] is 0 or
 * MKVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE. With it, MKVM_GET_DIRTY_LOG only
 * reads the log, and MKVM_CLEAR_DIRTY_LOG clears and write-protects.
 * MKVM_CAP_EAGER_SPLIT_CHUNK_SIZE: @args[0] is 0 (off) or a block size
 * (2M or 1G): enabling logging splits block mappings into 4K ones, this
 * much at a time; only while the VM has no memslot (-EINVAL after).
 * Errors: -EINVAL (unknown cap, flags, args), -EFAULT.
 */
struct mkvm_enable_cap {
	__u32 cap;
	__u32 flags;
	__u64 args[4];
};

#define MKVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE	(1ULL << 0)

#define MKVM_ENABLE_CAP		_IOW(MKVMIO, 0xad, struct mkvm_enable_cap)

/**
 * struct mkvm_dirty_log - MKVM_GET_DIRTY_LOG argument
 * @slot: a slot with MKVM_MEM_LOG_DIRTY_PAGES
 * @padding: 0
 * @dirty_bitmap: where to write one bit per page of the slot (bit i of
 *	the little-endian bitmap is the slot's page i), rounded up to 64 bits
 *
 * Copies the pages guest writes dirtied since logging started or the last
 * clear. Without manual protect it also clears them and write-protects
 * them again, so the next write is logged. Errors: -EINVAL (slot id out
 * of range, padding), -ENOENT (no such slot, or it does not log), -EFAULT
 * (checked before the log is taken), -ENOMEM.
 */
struct mkvm_dirty_log {
	__u32 slot;
	__u32 padding;
	__u64 dirty_bitmap;
};

#define MKVM_GET_DIRTY_LOG	_IOW(MKVMIO, 0xae, struct mkvm_dirty_log)

/**
 * struct mkvm_clear_dirty_log - MKVM_CLEAR_DIRTY_LOG argument
 * @slot: a slot with MKVM_MEM_LOG_DIRTY_PAGES
 * @num_pages: pages, a multiple of 64 unless the range ends with the slot
 * @first_page: the slot's first page to clear, a multiple of 64
 * @dirty_bitmap: bit i set: clear page @first_page + i (and write-protect it)
 *
 * Needs manual protect (MKVM_CAP_MANUAL_DIRTY_LOG_PROTECT). Errors:
 * -EINVAL (slot id out of range, manual protect off, misaligned or
 * out-of-slot range), -ENOENT (no such slot, or it does not log), -EFAULT
 * (nothing cleared), -ENOMEM.
 */
struct mkvm_clear_dirty_log {
	__u32 slot;
	__u32 num_pages;
	__u64 first_page;
	__u64 dirty_bitmap;
};

#define MKVM_CLEAR_DIRTY_LOG	_IOWR(MKVMIO, 0xaf, struct mkvm_clear_dirty_log)

/*
 * vCPU ioctls, on a vCPU fd.
 *
 * The software vCPU runs a program of guest memory accesses through the
 * VM's stage-2 table. Userspace mmap()s one page of the vCPU fd at offset 0
 * as a struct mkvm_run, points it at an array of struct mkvm_guest_op and
 * calls MKVM_RUN (argument 0). docs/api.md describes the protocol.
 */
#define MKVM_OP_READ		1	/* read @size bytes at @gpa into @data */
#define MKVM_OP_WRITE		2	/* write @size bytes of @data at @gpa */
#define MKVM_OP_TOUCH_READ	3	/* read one byte of each page of [@gpa, @gpa + @len) */
#define MKVM_OP_TOUCH_WRITE	4	/* write one byte (@data) to each page of the range */

/**
 * struct mkvm_guest_op - one guest memory access
 * @type: MKVM_OP_*
 * @size: 1, 2, 4 or 8 for READ and WRITE (@gpa aligned to it); 0 for TOUCH
 * @gpa: guest-physical address (page aligned for TOUCH)
 * @data: the value written; for READ, the value read (written back)
 * @len: TOUCH: bytes, a page multiple; 0 otherwise
 */
struct mkvm_guest_op {
	__u32 type;
	__u32 size;
	__u64 gpa;
	__u64 data;
	__u64 len;
};

#define MKVM_EXIT_DONE		1	/* every op ran */
#define MKVM_EXIT_MMIO		2	/* an op needs userspace: see @mmio */

/**
 * struct mkvm_run - the mmap()ed page of a vCPU fd
 * @ops: (in) user address of the struct mkvm_guest_op array
 * @nr_ops: (in) its length, at most MKVM_CAP_MAX_RUN_OPS
 * @next_op: (in/out) the op RUN starts at; RUN advances it past each op it
 *	completes, so after -EINTR or an MMIO exit, RUN resumes there
 * @op_progress: (in/out) bytes of a TOUCH op already done, likewise
 * @exit_reason: (out) MKVM_EXIT_*
 * @mmio: (out, and in for a read) the access no memslot can serve: a
 *	guest-physical address outside every slot, or a write to a read-only
 *	slot. For a read, userspace stores the value in @mmio.data before the
 *	next RUN, which completes the op with it. RUN completes the access
 *	only while @exit_reason still says MKVM_EXIT_MMIO: userspace that
 *	sets @exit_reason to 0 abandons it, and RUN starts afresh at @next_op.
 * @stat_faults: (out) stage-2 faults this vCPU handled
 * @stat_retries: (out) faults retried because an invalidation raced
 */
struct mkvm_run {
	__u64 ops;
	__u32 nr_ops;
	__u32 next_op;
	__u64 op_progress;
	__u32 exit_reason;
	__u32 pad;
	struct {
		__u64 gpa;
		__u64 data;
		__u32 size;
		__u8 is_write;
		__u8 pad[3];
	} mmio;
	__u64 stat_faults;
	__u64 stat_retries;
};

/*
 * Errors: -EINVAL (argument not 0, a malformed op: unknown type, bad
 * size, misaligned, wrapping or out-of-range address, @next_op beyond
 * @nr_ops), -E2BIG (@nr_ops too large), -EFAULT (the op array is
 * unreadable, or the memory behind a slot cannot be resolved), -EINTR (a
 * signal is pending: checked before every op; RUN resumes at @next_op),
 * -EIO (not the VM creator's mm, or stage-2 found inconsistent: a bug,
 * with a WARN in the kernel log), -ENOMEM.
 */
#define MKVM_RUN		_IO(MKVMIO, 0xa5)

/*
 * Binary statistics, on a VM fd or a vCPU fd: KVM_GET_STATS_FD's format,
 * field for field, so that code reading KVM's stats reads mkvm's. The
 * argument must be 0 (-EINVAL). Returns a new read-only fd (O_CLOEXEC):
 * a header, the id string at id_offset (name_size bytes: "mkvm-vm<N>" or
 * "mkvm-vm<N>/vcpu-<id>"), num_desc descriptors at desc_offset (each
 * sizeof(struct mkvm_stats_desc) + name_size bytes), and the values at
 * data_offset, a __u64 each (desc->size of them at desc->offset bytes
 * into the data). Everything but the values is fixed for the fd's life;
 * the values are read afresh by every read() or pread(). The fd keeps the
 * VM, not its creator's address space, alive; any process may read it.
 * Errors: -EINVAL, -ENOMEM, -EMFILE, -ENFILE.
 */
#define MKVM_GET_STATS_FD	_IO(MKVMIO, 0xb0)

#define MKVM_STATS_NAME_SIZE	48

struct mkvm_stats_header {
	__u32 flags;		/* 0 */
	__u32 name_size;	/* MKVM_STATS_NAME_SIZE */
	__u32 num_desc;
	__u32 id_offset;
	__u32 desc_offset;
	__u32 data_offset;
};

#define MKVM_STATS_TYPE_SHIFT		0
#define MKVM_STATS_TYPE_MASK		(0xF << MKVM_STATS_TYPE_SHIFT)
#define MKVM_STATS_TYPE_CUMULATIVE	(0x0 << MKVM_STATS_TYPE_SHIFT)
#define MKVM_STATS_TYPE_INSTANT		(0x1 << MKVM_STATS_TYPE_SHIFT)
#define MKVM_STATS_TYPE_PEAK		(0x2 << MKVM_STATS_TYPE_SHIFT)
#define MKVM_STATS_TYPE_LINEAR_HIST	(0x3 << MKVM_STATS_TYPE_SHIFT)
#define MKVM_STATS_TYPE_LOG_HIST	(0x4 << MKVM_STATS_TYPE_SHIFT)

#define MKVM_STATS_UNIT_SHIFT		4
#define MKVM_STATS_UNIT_MASK		(0xF << MKVM_STATS_UNIT_SHIFT)
#define MKVM_STATS_UNIT_NONE		(0x0 << MKVM_STATS_UNIT_SHIFT)
#define MKVM_STATS_UNIT_BYTES		(0x1 << MKVM_STATS_UNIT_SHIFT)
#define MKVM_STATS_UNIT_SECONDS		(0x2 << MKVM_STATS_UNIT_SHIFT)
#define MKVM_STATS_UNIT_CYCLES		(0x3 << MKVM_STATS_UNIT_SHIFT)
#define MKVM_STATS_UNIT_BOOLEAN		(0x4 << MKVM_STATS_UNIT_SHIFT)

#define MKVM_STATS_BASE_SHIFT		8
#define MKVM_STATS_BASE_MASK		(0xF << MKVM_STATS_BASE_SHIFT)
#define MKVM_STATS_BASE_POW10		(0x0 << MKVM_STATS_BASE_SHIFT)
#define MKVM_STATS_BASE_POW2		(0x1 << MKVM_STATS_BASE_SHIFT)

struct mkvm_stats_desc {
	__u32 flags;		/* MKVM_STATS_TYPE_* | _UNIT_* | _BASE_* */
	__s16 exponent;		/* the value is value * base^exponent */
	__u16 size;		/* __u64 values: 1 for a counter */
	__u32 offset;		/* of the first, from data_offset */
	__u32 bucket_size;	/* histograms only: 0 */
	char name[];		/* name_size bytes, NUL-padded */
};

#endif /* _UAPI_LINUX_MKVM_H */
