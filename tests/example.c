// SPDX-License-Identifier: GPL-2.0
/*
 * An example of a test program of one's own, written against the test
 * library only (tests/lib: lib/tap.h, lib/mkvm_util.h, libmkvmtest.a):
 * docs/writing-tests.md builds it outside this tree and runs it in the
 * QEMU guests with EXTRA_TESTS. The suite runs it too, so it keeps
 * working.
 */
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define GPA	MKVM_TEST_GPA

/* The guest and the process see one memory; a page the host drops is gone. */
TEST(guest_and_process_share_memory)
{
	struct mkvm_guest g;

	/* A VM, one vCPU, one memslot of 4 pages at GPA, new memory behind it. */
	mkvm_guest_init(&g, NULL, 4 * PAGE_SIZE, 0);
	g.mem[PAGE_SIZE] = 0x5a;
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + PAGE_SIZE, 1), 0x5a);
	mkvm_guest_write(&g.vcpu, GPA + 2 * PAGE_SIZE, 8, 0x1234);
	ASSERT_EQ(*(volatile uint64_t *)(g.mem + 2 * PAGE_SIZE), 0x1234);
	/* The notifier zaps the guest's mapping: it reads the new zero page. */
	ASSERT_OK(madvise(g.mem + PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED));
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + PAGE_SIZE, 1), 0);
	ASSERT_TRUE(mkvm_vm_stat("zaps") >= 1);
	mkvm_guest_close(&g);
	munmap(g.mem, g.size);
	/* Every fd closed: no VM, vCPU, memslot or root may be left. */
	mkvm_assert_no_objects();
}

/* An access no memslot covers exits to userspace, with its address. */
TEST(unmapped_access_exits_to_userspace)
{
	struct mkvm_guest_op op = { .type = MKVM_OP_READ, .size = 4, .gpa = 2 * GPA };
	struct mkvm_guest g;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	ASSERT_OK(mkvm_run_ops(&g.vcpu, &op, 1));
	ASSERT_EQ(g.vcpu.run->exit_reason, MKVM_EXIT_MMIO);
	ASSERT_EQ(g.vcpu.run->mmio.gpa, 2 * GPA);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CREATE_VCPU, 0), EEXIST);
	mkvm_guest_close(&g);
	munmap(g.mem, g.size);
	mkvm_assert_no_objects();
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
