// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl ABI: every ioctl's happy path and each errno docs/api.md lists.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define MB		(1024UL * 1024)
#define GPA_LIMIT	(1ULL << 48)

/* /dev/mkvm reports the API version and rejects a non-zero argument. */
TEST(dev_api_version)
{
	int dev = mkvm_open();

	ASSERT_EQ(ioctl(dev, MKVM_GET_API_VERSION, 0), MKVM_API_VERSION);
	ASSERT_ERRNO(ioctl(dev, MKVM_GET_API_VERSION, 1), EINVAL);
	close(dev);
}

/* Capabilities answer on /dev/mkvm and on a VM fd; unknown ones are 0. */
TEST(dev_check_extension)
{
	int dev = mkvm_open();
	int vm = ASSERT_OK(ioctl(dev, MKVM_CREATE_VM, 0));
	int fd;

	for (fd = dev; ; fd = vm) {
		ASSERT_EQ(ioctl(fd, MKVM_CHECK_EXTENSION, MKVM_CAP_USER_MEMORY), 1);
		ASSERT_EQ(ioctl(fd, MKVM_CHECK_EXTENSION, MKVM_CAP_READONLY_MEM), 1);
		ASSERT_EQ(ioctl(fd, MKVM_CHECK_EXTENSION, MKVM_CAP_NR_MEMSLOTS), 32764);
		ASSERT_EQ(ioctl(fd, MKVM_CHECK_EXTENSION, MKVM_CAP_MAX_VCPUS), 1024);
		ASSERT_EQ(ioctl(fd, MKVM_CHECK_EXTENSION, MKVM_CAP_MAX_VCPU_ID), 4096);
		ASSERT_EQ(ioctl(fd, MKVM_CHECK_EXTENSION, MKVM_CAP_GUEST_PHYS_BITS), 48);
		ASSERT_EQ(ioctl(fd, MKVM_CHECK_EXTENSION, 0), 0);
		ASSERT_EQ(ioctl(fd, MKVM_CHECK_EXTENSION, 12345), 0);
		if (fd == vm)
			break;
	}
	close(vm);
	close(dev);
}

/* CREATE_VM takes only type 0 and hands out close-on-exec fds. */
TEST(dev_create_vm)
{
	int dev = mkvm_open();
	int vm = ASSERT_OK(ioctl(dev, MKVM_CREATE_VM, 0));

	ASSERT_TRUE(fcntl(vm, F_GETFD) & FD_CLOEXEC);
	ASSERT_ERRNO(ioctl(dev, MKVM_CREATE_VM, 1), EINVAL);
	ASSERT_ERRNO(ioctl(dev, MKVM_CREATE_VM, -1UL), EINVAL);
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "vms"), 1);
	close(vm);
	close(dev);
	mkvm_assert_no_objects();
}

/* Each fd kind answers only its own ioctls: everything else is ENOTTY. */
TEST(wrong_fd_type_enotty)
{
	int dev = mkvm_open();
	int vm = ASSERT_OK(ioctl(dev, MKVM_CREATE_VM, 0));
	int vcpu = ASSERT_OK(ioctl(vm, MKVM_CREATE_VCPU, 0));
	int null = ASSERT_OK(open("/dev/null", O_RDWR));
	void *mem = mkvm_map_anon(PAGE_SIZE);

	ASSERT_ERRNO(mkvm_set_region(dev, 0, 0, 0, PAGE_SIZE, mem), ENOTTY);
	ASSERT_ERRNO(ioctl(dev, MKVM_CREATE_VCPU, 0), ENOTTY);
	ASSERT_ERRNO(ioctl(vm, MKVM_CREATE_VM, 0), ENOTTY);
	ASSERT_ERRNO(ioctl(vm, MKVM_GET_API_VERSION, 0), ENOTTY);
	ASSERT_ERRNO(ioctl(vcpu, MKVM_CREATE_VCPU, 1), ENOTTY);
	ASSERT_ERRNO(mkvm_set_region(vcpu, 0, 0, 0, PAGE_SIZE, mem), ENOTTY);
	ASSERT_ERRNO(ioctl(vcpu, MKVM_CREATE_VM, 0), ENOTTY);
	ASSERT_ERRNO(ioctl(null, MKVM_CREATE_VM, 0), ENOTTY);
	ASSERT_ERRNO(ioctl(dev, _IO(MKVMIO, 0xff), 0), ENOTTY);
	close(null);
	close(vcpu);
	close(vm);
	close(dev);
	mkvm_assert_no_objects();
}

/* An ioctl number with another size encoded is a different ioctl: ENOTTY. */
TEST(memory_region_wrong_struct_size)
{
	int vm = mkvm_vm_create();
	char big[sizeof(struct mkvm_userspace_memory_region) + 8] = { 0 };

	ASSERT_ERRNO(ioctl(vm, _IOW(MKVMIO, 0xa3, big), big), ENOTTY);
	ASSERT_ERRNO(ioctl(vm, _IOW(MKVMIO, 0xa3, __u64), big), ENOTTY);
	ASSERT_ERRNO(ioctl(vm, _IOR(MKVMIO, 0xa3, struct mkvm_userspace_memory_region), big),
		     ENOTTY);
	close(vm);
}

/* Unreadable argument pointers give EFAULT and change nothing. */
TEST(memory_region_bad_pointer)
{
	int vm = mkvm_vm_create();
	void *guard = mmap(NULL, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_TRUE(guard != MAP_FAILED);
	ASSERT_ERRNO(ioctl(vm, MKVM_SET_USER_MEMORY_REGION, NULL), EFAULT);
	ASSERT_ERRNO(ioctl(vm, MKVM_SET_USER_MEMORY_REGION, 1UL), EFAULT);
	ASSERT_ERRNO(ioctl(vm, MKVM_SET_USER_MEMORY_REGION, guard), EFAULT);
	ASSERT_ERRNO(ioctl(vm, MKVM_SET_USER_MEMORY_REGION, 0xffff880000000000UL), EFAULT);
	ASSERT_EQ(mkvm_vm_stat("memslot_updates"), 0);
	close(vm);
	mkvm_assert_no_objects();
}

/* Create, read back through the per-VM stats, delete, and re-create. */
TEST(memory_region_create_delete)
{
	int vm = mkvm_vm_create();
	char *mem = mkvm_map_anon(4 * MB);
	const char *stats = MKVM_DEBUGFS "/stats";

	ASSERT_OK(mkvm_set_region(vm, 0, 0, 0, 2 * MB, mem));
	ASSERT_OK(mkvm_set_region(vm, 1, MKVM_MEM_READONLY, 2 * MB, 2 * MB, mem + 2 * MB));
	ASSERT_EQ(mkvm_stat(stats, "memslots"), 2);
	ASSERT_OK(mkvm_set_region(vm, 0, 0, 0, 0, NULL));
	ASSERT_EQ(mkvm_stat(stats, "memslots"), 1);
	/* Deleting a slot that does not exist. */
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, 0, NULL), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 7, 0, 0, 0, NULL), EINVAL);
	ASSERT_OK(mkvm_set_region(vm, 0, 0, 0, 2 * MB, mem));
	/* The same region again is a no-op: no new set is published. */
	ASSERT_EQ(mkvm_vm_stat("memslot_updates"), 4);
	ASSERT_OK(mkvm_set_region(vm, 0, 0, 0, 2 * MB, mem));
	ASSERT_EQ(mkvm_vm_stat("memslot_updates"), 4);
	ASSERT_EQ(mkvm_stat(stats, "memslots"), 2);
	close(vm);
	mkvm_assert_no_objects();
}

/* Addresses and sizes must be page aligned. */
TEST(memory_region_misaligned_einval)
{
	int vm = mkvm_vm_create();
	char *mem = mkvm_map_anon(4 * PAGE_SIZE);

	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 1, PAGE_SIZE, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 2048, PAGE_SIZE, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE + 1, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, 100, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE, mem + 8), EINVAL);
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "memslots"), 0);
	close(vm);
}

/* Only READONLY and LOG_DIRTY_PAGES are flags; ids are bounded. */
TEST(memory_region_flags_and_ids_einval)
{
	int vm = mkvm_vm_create();
	int nr = ASSERT_OK(ioctl(vm, MKVM_CHECK_EXTENSION, MKVM_CAP_NR_MEMSLOTS));
	char *mem = mkvm_map_anon(PAGE_SIZE);

	ASSERT_ERRNO(mkvm_set_region(vm, 0, MKVM_MEM_LOG_DIRTY_PAGES | 1U << 2, 0,
				     PAGE_SIZE, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 1U << 2, 0, PAGE_SIZE, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 1U << 31, 0, PAGE_SIZE, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, nr, 0, 0, PAGE_SIZE, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, -1U, 0, 0, PAGE_SIZE, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, nr, 0, 0, 0, NULL), EINVAL);
	ASSERT_OK(mkvm_set_region(vm, nr - 1, MKVM_MEM_READONLY, 0, PAGE_SIZE, mem));
	/* A delete validates the id and the flags too. */
	ASSERT_ERRNO(mkvm_set_region(vm, nr - 1, MKVM_MEM_READONLY | 1U << 3, 0, 0,
				     NULL), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, nr - 1, 1U << 9, 0, 0, NULL), EINVAL);
	ASSERT_EQ(mkvm_vm_stat("memslots"), 1);
	ASSERT_OK(mkvm_set_region(vm, nr - 1, 0, 0, 0, NULL));
	ASSERT_EQ(mkvm_vm_stat("memslots"), 0);
	close(vm);
}

/*
 * The ids below MKVM_CAP_NR_MEMSLOTS are usable, the first and the last
 * of them included; the cap itself and beyond are not. (tests/slots.c
 * fills every id at once.)
 */
TEST(memory_region_too_many_slots)
{
	int vm = mkvm_vm_create();
	int nr = ASSERT_OK(ioctl(vm, MKVM_CHECK_EXTENSION, MKVM_CAP_NR_MEMSLOTS));
	char *mem = mkvm_map_anon(66 * PAGE_SIZE);
	int i;

	ASSERT_TRUE(nr > 64);
	for (i = 0; i < 64; i++)
		ASSERT_OK(mkvm_set_region(vm, i, 0, i * PAGE_SIZE, PAGE_SIZE,
					  mem + i * PAGE_SIZE));
	ASSERT_OK(mkvm_set_region(vm, nr - 1, 0, 64 * PAGE_SIZE, PAGE_SIZE,
				  mem + 64 * PAGE_SIZE));
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "memslots"), 65);
	ASSERT_ERRNO(mkvm_set_region(vm, nr, 0, 65 * PAGE_SIZE, PAGE_SIZE,
				     mem + 65 * PAGE_SIZE), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, -1U, 0, 65 * PAGE_SIZE, PAGE_SIZE,
				     mem + 65 * PAGE_SIZE), EINVAL);
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "memslots"), 65);
	close(vm);
	mkvm_assert_no_objects();
}

/* Guest-physical ranges may touch but never overlap, in any arrangement. */
TEST(memory_region_overlap_eexist)
{
	int vm = mkvm_vm_create();
	char *mem = mkvm_map_anon(16 * PAGE_SIZE);
	uint64_t p = PAGE_SIZE;

	ASSERT_OK(mkvm_set_region(vm, 0, 0, 4 * p, 4 * p, mem));
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, 4 * p, 4 * p, mem), EEXIST);	/* same */
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, 2 * p, 3 * p, mem), EEXIST);	/* head */
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, 7 * p, 2 * p, mem), EEXIST);	/* tail */
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, 5 * p, 1 * p, mem), EEXIST);	/* inside */
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, 0, 16 * p, mem), EEXIST);	/* around */
	ASSERT_OK(mkvm_set_region(vm, 1, 0, 0, 4 * p, mem));			/* below */
	ASSERT_OK(mkvm_set_region(vm, 2, 0, 8 * p, 4 * p, mem));		/* above */
	ASSERT_ERRNO(mkvm_set_region(vm, 3, 0, 3 * p, 6 * p, mem), EEXIST);	/* across */
	/* Userspace ranges may alias: only guest-physical space is exclusive. */
	ASSERT_OK(mkvm_set_region(vm, 3, 0, 12 * p, 4 * p, mem));
	close(vm);
}

/* An existing slot can move; any other change to it is EINVAL. */
TEST(memory_region_move_and_modify)
{
	int vm = mkvm_vm_create();
	char *mem = mkvm_map_anon(8 * PAGE_SIZE);
	uint64_t p = PAGE_SIZE;

	ASSERT_OK(mkvm_set_region(vm, 0, 0, 0, 4 * p, mem));
	ASSERT_OK(mkvm_set_region(vm, 1, 0, 8 * p, 4 * p, mem + 4 * p));
	ASSERT_EQ(mkvm_vm_stat("memslot_updates"), 2);
	ASSERT_OK(mkvm_set_region(vm, 0, 0, 2 * p, 4 * p, mem));	/* overlaps only itself */
	ASSERT_OK(mkvm_set_region(vm, 0, 0, 16 * p, 4 * p, mem));
	ASSERT_EQ(mkvm_vm_stat("memslot_updates"), 4);
	/* A move publishes twice: an invalid copy of the slot, then the result. */
	ASSERT_EQ(mkvm_vm_stat("memslot_generation"), 6);
	ASSERT_EQ(mkvm_vm_stat("memslots"), 2);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 6 * p, 4 * p, mem), EEXIST);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 16 * p, 2 * p, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 16 * p, 4 * p, mem + p), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, MKVM_MEM_READONLY, 16 * p, 4 * p, mem), EINVAL);
	/* Refused changes neither publish a new set nor count as updates. */
	ASSERT_EQ(mkvm_vm_stat("memslot_updates"), 4);
	ASSERT_EQ(mkvm_vm_stat("memslot_generation"), 6);
	close(vm);
}

/* The guest-physical space is 48 bits; ranges may not wrap. */
TEST(memory_region_limits_einval)
{
	int vm = mkvm_vm_create();
	char *mem = mkvm_map_anon(2 * PAGE_SIZE);

	ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA_LIMIT - PAGE_SIZE, PAGE_SIZE, mem));
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, GPA_LIMIT, PAGE_SIZE, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, GPA_LIMIT - PAGE_SIZE, 2 * PAGE_SIZE, mem),
		     EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, -PAGE_SIZE, 2 * PAGE_SIZE, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, 0, -PAGE_SIZE, mem), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, 0, GPA_LIMIT + PAGE_SIZE, mem), EINVAL);
	/* KVM's size limit: fewer than 2^31 pages (the backing need not exist). */
	ASSERT_ERRNO(mkvm_set_region(vm, 1, 0, 0, (1ULL << 31) * PAGE_SIZE, mem), EINVAL);
	ASSERT_OK(mkvm_set_region(vm, 1, 0, 0, ((1ULL << 31) - 1) * PAGE_SIZE,
				  (void *)(1UL << 20)));
	ASSERT_OK(mkvm_set_region(vm, 1, 0, 0, 0, NULL));
	close(vm);
}

/*
 * The backing must be a user range: kernel addresses EFAULT, wrapping
 * EINVAL, and a tagged address (arm64 top byte) EINVAL as in KVM; on x86
 * without LAM a tagged address is simply not a user address: EFAULT.
 */
TEST(memory_region_bad_user_range)
{
	int vm = mkvm_vm_create();

	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE,
				     (void *)0xffff880000000000UL), EFAULT);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, 2 * PAGE_SIZE,
				     (void *)-PAGE_SIZE), EINVAL);
#ifdef __aarch64__
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE,
				     (char *)mkvm_map_anon(PAGE_SIZE) + (0x5aUL << 56)), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE, (void *)(1UL << 63)), EINVAL);
#else
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE,
				     (char *)mkvm_map_anon(PAGE_SIZE) + (0x5aUL << 56)), EFAULT);
	ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE, (void *)(1UL << 63)), EFAULT);
#endif
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "memslots"), 0);
	close(vm);
}

/*
 * vCPU ids are bounded and unique; a VM has at most 1,024 vCPUs (KVM's
 * x86 limits), each of which runs. Ids are spread over 0..4095; a vCPU
 * lives with its VM, so each fd is closed once its vCPU has run.
 */
TEST_T(vcpu_create_limits, 120)
{
	struct mkvm_guest g;
	long faults;
	int i, fd;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	mkvm_guest_write(&g.vcpu, MKVM_TEST_GPA, 8, 0x1234);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CREATE_VCPU, 4096), EINVAL);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CREATE_VCPU, -1UL), EINVAL);
	fd = ASSERT_OK(ioctl(g.vm, MKVM_CREATE_VCPU, 4095));
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CREATE_VCPU, 4095), EEXIST);
	/* Closing a vCPU fd does not free its id: the vCPU lives with the VM. */
	close(fd);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CREATE_VCPU, 4095), EEXIST);
	/* Ids 4 apart, from 1 (mkvm_guest_init's vCPU is 0). */
	for (i = 1; i < 1023; i++) {
		struct mkvm_vcpu_ctx vcpu;

		mkvm_vcpu_open(g.vm, i * 4 + 1, &vcpu);
		ASSERT_EQ(mkvm_guest_read(&vcpu, MKVM_TEST_GPA, 8), 0x1234);
		ASSERT_OK(munmap(vcpu.run, PAGE_SIZE));
		close(vcpu.fd);
	}
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "vcpus"), 1024);
	ASSERT_EQ(mkvm_vm_stat("vcpus"), 1024);
	/* The 1,025th: EINVAL (before the id is looked at, as KVM), nothing changed. */
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CREATE_VCPU, 2), EINVAL);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CREATE_VCPU, 4095), EINVAL);
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "vcpus"), 1024);
	/* Per-vCPU counters, summed: one fault in all (the first write). */
	faults = mkvm_vm_stat("faults");
	ASSERT_EQ(faults, 1);
	ASSERT_EQ(mkvm_vm_stat("root_loads"), 1023);
	mkvm_guest_close(&g);
	munmap(g.mem, PAGE_SIZE);
	mkvm_assert_no_objects();
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
