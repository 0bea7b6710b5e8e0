// SPDX-License-Identifier: GPL-2.0
/*
 * The MMU through MKVM_RUN: guest accesses go through stage-2 and stay
 * coherent with the process's memory across every mm operation; MMIO
 * exits; block mappings; bad input; accesses racing with the host taking
 * memory away. Every invalidation is also checked by the test build's
 * stale-mapping auditor (a WARN fails the run).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/aging.h"
#include "lib/hooks.h"
#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define MB		(1024UL * 1024)
#define GPA		MKVM_TEST_GPA

/* Guest writes of every size land in the process's memory, and back. */
TEST(anon_read_write_coherent)
{
	struct mkvm_guest g;
	uint64_t *p;

	mkvm_guest_init(&g, NULL, 4 * PAGE_SIZE, 0);
	p = (uint64_t *)g.mem;
	mkvm_guest_write(&g.vcpu, GPA, 8, 0x1122334455667788ULL);
	ASSERT_EQ(p[0], 0x1122334455667788ULL);
	mkvm_guest_write(&g.vcpu, GPA + 8, 4, 0xaabbccdd);
	mkvm_guest_write(&g.vcpu, GPA + 12, 2, 0xeeff);
	mkvm_guest_write(&g.vcpu, GPA + 14, 1, 0x42);
	ASSERT_EQ(p[1], 0x0042eeffaabbccddULL);
	p[2] = 0x0102030405060708ULL;
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 16, 8), 0x0102030405060708ULL);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 16, 1), 0x08);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 18, 2), 0x0506);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 20, 4), 0x01020304);
	/* Untouched memory reads as zero; the fault counters moved. */
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 3 * PAGE_SIZE, 8), 0);
	ASSERT_TRUE(g.vcpu.run->stat_faults >= 2);
	ASSERT_TRUE(mkvm_vm_stat("faults") >= 2);
}

/* A program of many ops runs in one RUN; reads come back in the array. */
TEST(run_program_and_touch)
{
	struct mkvm_guest g;
	struct mkvm_guest_op ops[4] = {
		{ .type = MKVM_OP_TOUCH_WRITE, .gpa = GPA, .len = 64 * PAGE_SIZE, .data = 0x5a },
		{ .type = MKVM_OP_WRITE, .size = 8, .gpa = GPA + 8, .data = 77 },
		{ .type = MKVM_OP_READ, .size = 8, .gpa = GPA + 8 },
		{ .type = MKVM_OP_TOUCH_READ, .gpa = GPA, .len = 64 * PAGE_SIZE },
	};
	int i;

	mkvm_guest_init(&g, NULL, 64 * PAGE_SIZE, 0);
	ASSERT_OK(mkvm_run_ops(&g.vcpu, ops, 4));
	ASSERT_EQ(g.vcpu.run->exit_reason, MKVM_EXIT_DONE);
	ASSERT_EQ(g.vcpu.run->next_op, 4);
	ASSERT_EQ(ops[2].data, 77);
	for (i = 0; i < 64; i++)
		ASSERT_EQ(g.mem[i * PAGE_SIZE], 0x5a);
}

/* No slot: an MMIO exit with the details; a read completes with userspace's value. */
TEST(mmio_exit_and_resume)
{
	struct mkvm_guest g;
	struct mkvm_guest_op ops[3] = {
		{ .type = MKVM_OP_WRITE, .size = 4, .gpa = 0x1000, .data = 0xdeadbeef },
		{ .type = MKVM_OP_READ, .size = 2, .gpa = 0x2002 },
		{ .type = MKVM_OP_WRITE, .size = 8, .gpa = GPA, .data = 9 },
	};
	struct mkvm_run *run;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	run = g.vcpu.run;
	ASSERT_OK(mkvm_run_ops(&g.vcpu, ops, 3));
	ASSERT_EQ(run->exit_reason, MKVM_EXIT_MMIO);
	ASSERT_EQ(run->next_op, 0);
	ASSERT_EQ(run->mmio.gpa, 0x1000);
	ASSERT_EQ(run->mmio.size, 4);
	ASSERT_EQ(run->mmio.is_write, 1);
	ASSERT_EQ(run->mmio.data, 0xdeadbeef);
	ASSERT_OK(ioctl(g.vcpu.fd, MKVM_RUN, 0));
	ASSERT_EQ(run->exit_reason, MKVM_EXIT_MMIO);
	ASSERT_EQ(run->next_op, 1);
	ASSERT_EQ(run->mmio.gpa, 0x2002);
	ASSERT_EQ(run->mmio.is_write, 0);
	run->mmio.data = 0xabcdef;
	ASSERT_OK(ioctl(g.vcpu.fd, MKVM_RUN, 0));
	ASSERT_EQ(run->exit_reason, MKVM_EXIT_DONE);
	ASSERT_EQ(run->next_op, 3);
	ASSERT_EQ(ops[1].data, 0xcdef);		/* truncated to the op's size */
	ASSERT_EQ(*(uint64_t *)g.mem, 9);
}

/* A read-only slot reads fine; a write to it exits as an MMIO write. */
TEST(readonly_slot_write_exits)
{
	struct mkvm_guest g;
	struct mkvm_guest_op op = { .type = MKVM_OP_WRITE, .size = 8, .gpa = GPA, .data = 5 };

	mkvm_guest_init(&g, NULL, PAGE_SIZE, MKVM_MEM_READONLY);
	*(uint64_t *)g.mem = 1234;
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 1234);
	ASSERT_OK(mkvm_run_ops(&g.vcpu, &op, 1));
	ASSERT_EQ(g.vcpu.run->exit_reason, MKVM_EXIT_MMIO);
	ASSERT_EQ(g.vcpu.run->mmio.is_write, 1);
	ASSERT_EQ(g.vcpu.run->mmio.data, 5);
	ASSERT_EQ(*(uint64_t *)g.mem, 1234);
}

/* Malformed programs are refused with the documented errno. */
TEST(run_bad_input)
{
	struct mkvm_guest g;
	struct mkvm_guest_op op = { .type = MKVM_OP_READ, .size = 8, .gpa = GPA };
	struct mkvm_guest_op bad[] = {
		{ .type = MKVM_OP_READ, .size = 3, .gpa = GPA },
		{ .type = MKVM_OP_READ, .size = 16, .gpa = GPA },
		{ .type = MKVM_OP_READ, .size = 0, .gpa = GPA },
		{ .type = MKVM_OP_WRITE, .size = 8, .gpa = GPA + 4 },
		{ .type = MKVM_OP_READ, .size = 8, .gpa = 1ULL << 48 },
		{ .type = MKVM_OP_READ, .size = 8, .gpa = GPA, .len = 8 },
		{ .type = 0, .size = 8, .gpa = GPA },
		{ .type = 99, .size = 8, .gpa = GPA },
		{ .type = MKVM_OP_TOUCH_READ, .gpa = GPA + 1, .len = PAGE_SIZE },
		{ .type = MKVM_OP_TOUCH_READ, .gpa = GPA, .len = 100 },
		{ .type = MKVM_OP_TOUCH_READ, .gpa = GPA, .len = 0 },
		{ .type = MKVM_OP_TOUCH_READ, .gpa = -PAGE_SIZE, .len = 2 * PAGE_SIZE },
		{ .type = MKVM_OP_READ, .size = 8, .gpa = 0xfffffffffffffff8ULL },
		{ .type = MKVM_OP_WRITE, .size = 1, .gpa = -1ULL },
	};
	unsigned int i;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_ERRNO(mkvm_run_ops(&g.vcpu, &bad[i], 1), EINVAL);
		ASSERT_EQ(g.vcpu.run->next_op, 0);
	}
	ASSERT_ERRNO(ioctl(g.vcpu.fd, MKVM_RUN, 1), EINVAL);
	ASSERT_ERRNO(mkvm_run_ops(&g.vcpu, &op, (1U << 20) + 1), E2BIG);
	ASSERT_ERRNO(mkvm_run_ops(&g.vcpu, NULL, 1), EFAULT);
	g.vcpu.run->ops = (uintptr_t)&op;
	g.vcpu.run->nr_ops = 1;
	g.vcpu.run->next_op = 2;
	ASSERT_ERRNO(ioctl(g.vcpu.fd, MKVM_RUN, 0), EINVAL);
	/* An empty program is fine. */
	ASSERT_OK(mkvm_run_ops(&g.vcpu, &op, 0));
	ASSERT_EQ(g.vcpu.run->exit_reason, MKVM_EXIT_DONE);
	/* The run page is one page at offset 0. */
	ASSERT_TRUE(mmap(NULL, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, g.vcpu.fd, 0) == MAP_FAILED);
	ASSERT_TRUE(mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, g.vcpu.fd, PAGE_SIZE) ==
		    MAP_FAILED);
	ASSERT_TRUE(mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, g.vcpu.fd, 0) ==
		    MAP_FAILED);
}

/* A forked child cannot run the parent's vCPU. */
TEST(run_from_other_mm_eio)
{
	struct mkvm_guest g;
	pid_t pid;
	int status;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	pid = ASSERT_OK(fork());
	if (!pid) {
		ASSERT_ERRNO(ioctl(g.vcpu.fd, MKVM_RUN, 0), EIO);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* After MADV_DONTNEED the guest sees the fresh zero page, then new data. */
TEST(anon_dontneed_guest_sees_zero)
{
	struct mkvm_guest g;

	mkvm_guest_init(&g, NULL, 2 * PAGE_SIZE, 0);
	mkvm_guest_write(&g.vcpu, GPA, 8, 111);
	ASSERT_EQ(*(uint64_t *)g.mem, 111);
	ASSERT_OK(madvise(g.mem, 2 * PAGE_SIZE, MADV_DONTNEED));
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 0);
	*(uint64_t *)g.mem = 222;
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 222);
	ASSERT_TRUE(mkvm_vm_stat("zaps") >= 1);
}

/* munmap + mmap at the same address: the guest sees the new mapping. */
TEST(anon_remap_guest_sees_new)
{
	struct mkvm_guest g;
	char *again;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	mkvm_guest_write(&g.vcpu, GPA, 8, 1);
	ASSERT_OK(munmap(g.mem, PAGE_SIZE));
	again = mmap(g.mem, PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_TRUE(again == g.mem);
	*(uint64_t *)again = 2;
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 2);
}

/* mremap moves the backing away: the guest faults (EFAULT), never reads the old page. */
TEST(anon_mremap_guest_faults)
{
	struct mkvm_guest g;
	struct mkvm_guest_op op = { .type = MKVM_OP_READ, .size = 8, .gpa = GPA };
	char *moved, *target = mmap(NULL, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	mkvm_guest_write(&g.vcpu, GPA, 8, 3);
	moved = mremap(g.mem, PAGE_SIZE, PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	ASSERT_TRUE(moved == target);
	ASSERT_EQ(*(uint64_t *)moved, 3);
	ASSERT_ERRNO(mkvm_run_ops(&g.vcpu, &op, 1), EFAULT);
	/* Mapping the old address again gives the guest that new memory. */
	ASSERT_TRUE(mmap(g.mem, PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == g.mem);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 0);
}

/* mprotect(PROT_READ): guest reads work, writes fail; PROT_WRITE again: they work. */
TEST(anon_mprotect_readonly)
{
	struct mkvm_guest g;
	struct mkvm_guest_op op = { .type = MKVM_OP_WRITE, .size = 8, .gpa = GPA, .data = 6 };

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	mkvm_guest_write(&g.vcpu, GPA, 8, 5);
	ASSERT_OK(mprotect(g.mem, PAGE_SIZE, PROT_READ));
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 5);
	ASSERT_ERRNO(mkvm_run_ops(&g.vcpu, &op, 1), EFAULT);
	ASSERT_EQ(*(uint64_t *)g.mem, 5);
	ASSERT_OK(mprotect(g.mem, PAGE_SIZE, PROT_READ | PROT_WRITE));
	mkvm_guest_write(&g.vcpu, GPA, 8, 7);
	ASSERT_EQ(*(uint64_t *)g.mem, 7);
}

/*
 * fork shares the pages copy-on-write: after it, guest writes go to the
 * parent's own copy, never to the page the child still sees.
 */
TEST(anon_fork_cow_guest_writes_private)
{
	struct mkvm_guest g;
	int pipefd[2];
	pid_t pid;
	char c;
	int status;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	mkvm_guest_write(&g.vcpu, GPA, 8, 10);
	ASSERT_OK(pipe(pipefd));
	pid = ASSERT_OK(fork());
	if (!pid) {
		ASSERT_EQ(read(pipefd[0], &c, 1), 1);
		_exit(*(uint64_t *)g.mem == 10 ? 0 : 1);
	}
	mkvm_guest_write(&g.vcpu, GPA, 8, 20);
	ASSERT_EQ(*(uint64_t *)g.mem, 20);
	ASSERT_EQ(write(pipefd[1], "x", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* And a process write after the fork is what the guest reads. */
	*(uint64_t *)g.mem = 30;
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 30);
}

/*
 * THP-backed memory gets 2M stage-2 blocks: a 2M range needs no level-3
 * table. Memory that is not THP gets 4K pages: one level-3 table.
 */
TEST(thp_block_mapping_vs_4k)
{
	struct mkvm_guest g;
	char *thp, *small;

	mkvm_need_thp();
	thp = mkvm_map_2m_aligned(2 * MB, MADV_HUGEPAGE);
	thp[0] = 1;	/* fault in a THP */
	mkvm_guest_init(&g, thp, 2 * MB, 0);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 4096 * 3, 1), 0);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 1), 1);
	/* Levels 1 and 2 below the root, and no level-3 table. */
	ASSERT_EQ(mkvm_vm_stat("s2_tables"), 2);
	ASSERT_EQ(mkvm_vm_stat("faults"), 1);
	/* The run page mapping holds the vCPU fd, hence the VM: drop all three. */
	ASSERT_OK(munmap(g.vcpu.run, PAGE_SIZE));
	close(g.vm);
	close(g.vcpu.fd);

	small = mkvm_map_2m_aligned(2 * MB, MADV_NOHUGEPAGE);
	small[0] = 1;
	mkvm_guest_init(&g, small, 2 * MB, 0);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 1), 1);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 4096 * 3, 1), 0);
	ASSERT_EQ(mkvm_vm_stat("s2_tables"), 3);
	ASSERT_EQ(mkvm_vm_stat("faults"), 2);
}

/*
 * Guest writes go through kmap, never through the process's page table,
 * so no host PTE records them: mkvm marks a page dirty whenever it maps it
 * writable. Without that, a page freed lazily (MADV_FREE) that the guest
 * then writes would still look clean to reclaim, which discards clean
 * lazyfree pages instead of writing them anywhere: the guest's data gone.
 * MADV_PAGEOUT reclaims the page; on 6.1 it checks references first, and
 * the guest's access keeps the page once, so it runs twice. A page nobody
 * wrote again is the control, and must be discarded (or this kernel did
 * not reclaim at all). Pinned to one CPU: madvise drains only its own
 * CPU's LRU batches, and a page still in another's is not reclaimed.
 */
TEST(guest_write_survives_lazyfree_reclaim)
{
	struct mkvm_guest g;
	char *control;

	mkvm_pin_cpu();
	mkvm_guest_init(&g, NULL, 2 * PAGE_SIZE, 0);
	control = g.mem + PAGE_SIZE;
	memset(g.mem, 1, 2 * PAGE_SIZE);
	/* Map both writable in stage-2, then free them lazily: that zaps. */
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 1), 1);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + PAGE_SIZE, 1), 1);
	ASSERT_OK(madvise(g.mem, 2 * PAGE_SIZE, MADV_FREE));
	/* The guest writes the first page again; the host PTE stays clean. */
	mkvm_guest_write(&g.vcpu, GPA + 8, 8, 0x1234);
	ASSERT_OK(madvise(g.mem, 2 * PAGE_SIZE, MADV_PAGEOUT));
	ASSERT_OK(madvise(g.mem, 2 * PAGE_SIZE, MADV_PAGEOUT));
	if (control[0] != 0) {
		if (mkvm_required())
			tap_fail(__FILE__, __LINE__, "MADV_PAGEOUT did not reclaim a lazyfree page");
		tap_skip("MADV_PAGEOUT does not reclaim lazyfree pages here");
	}
	if (*(uint64_t *)(g.mem + 8) != 0x1234)
		tap_fail(__FILE__, __LINE__, "guest write lost: reclaim discarded the page");
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 8, 8), 0x1234);
}

#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB	(30 << MAP_HUGE_SHIFT)
#endif

/*
 * A 1G hugetlb page gets one 1G stage-2 block: one fault maps the whole
 * gigabyte, and no table is needed below level 1. munmap zaps the block.
 * The harness reserves the page (hugepagesz=1G hugepages=1); elsewhere,
 * without a free one, this skips.
 */
TEST_T(hugetlb_1g_block_mapping, 120)
{
	struct mkvm_guest_op op = { .type = MKVM_OP_READ, .size = 8, .gpa = GPA };
	const size_t gb = 1UL << 30;
	struct mkvm_guest g;
	char *mem;
	int i;

	mem = mmap(NULL, gb, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB, -1, 0);
	if (mem == MAP_FAILED) {
		if (mkvm_required())
			tap_fail(__FILE__, __LINE__,
				 "the harness reserves a 1G hugetlb page, but mmap: %s",
				 strerror(errno));
		tap_skip("no free 1G hugetlb page (hugepagesz=1G hugepages=1 reserves one)");
	}
	for (i = 0; i < 512; i++)
		mem[i * 2 * MB] = i & 0x7f;
	mkvm_guest_init(&g, mem, gb, 0);
	for (i = 0; i < 512; i += 73)
		ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + i * 2 * MB, 1), i & 0x7f);
	ASSERT_EQ(mkvm_vm_stat("faults"), 1);
	ASSERT_EQ(mkvm_vm_stat("s2_tables"), 1);
	mkvm_guest_write(&g.vcpu, GPA + gb - 8, 8, 0x77);
	ASSERT_EQ(*(uint64_t *)(mem + gb - 8), 0x77);
	ASSERT_EQ(mkvm_vm_stat("faults"), 1);

	ASSERT_OK(munmap(mem, gb));
	ASSERT_ERRNO(mkvm_run_ops(&g.vcpu, &op, 1), EFAULT);
}

/* Splitting the THP under a block mapping zaps the block; the guest sees the split result. */
TEST(thp_split_guest_sees_result)
{
	struct mkvm_guest g;
	char *thp;
	int i;

	mkvm_need_thp();
	thp = mkvm_map_2m_aligned(2 * MB, MADV_HUGEPAGE);
	for (i = 0; i < 512; i++)
		thp[i * PAGE_SIZE] = i & 0x7f;
	mkvm_guest_init(&g, thp, 2 * MB, 0);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 5 * PAGE_SIZE, 1), 5);
	/* Dropping one 4K page splits the huge page. */
	ASSERT_OK(madvise(thp + 7 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED));
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 7 * PAGE_SIZE, 1), 0);
	for (i = 0; i < 512; i++)
		if (i != 7)
			ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + i * PAGE_SIZE, 1), i & 0x7f);
	thp[9 * PAGE_SIZE] = 99;
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 9 * PAGE_SIZE, 1), 99);
}

/*
 * Aging for real: the core mm asks the young callbacks (lib/aging.c: by
 * MADV_PAGEOUT's reclaim on 6.1, by DAMON on newer kernels). A page the
 * guest accessed is reported young, and its access flag is cleared: aged
 * again without an access it stays old; after a new access, young again.
 */
TEST(aging_reports_and_clears_young)
{
	enum mkvm_ager ager;
	struct mkvm_guest g;
	long young;

	/*
	 * MADV_PAGEOUT skips a page still in a CPU's LRU batch, where the
	 * last pageout put it back; madvise() drains only its own CPU's, so
	 * stay on one (seen on arm64 under load: the second age found none).
	 */
	mkvm_pin_cpu();
	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	mkvm_guest_write(&g.vcpu, GPA, 8, 1);
	ager = mkvm_ager_start(g.mem, PAGE_SIZE);
	if (!mkvm_age())
		mkvm_ager_unavailable(ager);
	printf("# aged by %s\n", mkvm_ager_name(ager));
	young = mkvm_vm_stat("age_young");
	ASSERT_TRUE(young >= 1);
	/* At least one make-old ran since the access: nothing is young now. */
	ASSERT_TRUE(mkvm_age());
	young = mkvm_vm_stat("age_young");
	ASSERT_TRUE(mkvm_age());
	ASSERT_TRUE(mkvm_age());
	ASSERT_EQ(mkvm_vm_stat("age_young"), young);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), *(uint64_t *)g.mem);
	ASSERT_TRUE(mkvm_age());
	ASSERT_TRUE(mkvm_vm_stat("age_young") > young);
	mkvm_ager_stop();
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

/* khugepaged-style collapse of 4K pages into a THP: the guest sees the same data. */
TEST(thp_collapse_guest_sees_result)
{
	struct mkvm_guest g;
	char *mem;
	int i;

	mkvm_need_thp();
	mem = mkvm_map_2m_aligned(2 * MB, MADV_NOHUGEPAGE);
	mkvm_fill_pages(mem, 512);
	mkvm_guest_init(&g, mem, 2 * MB, 0);
	mkvm_guest_check_pages(&g, 512, 17);
	ASSERT_EQ(mkvm_vm_stat("s2_tables"), 3);
	ASSERT_OK(madvise(mem, 2 * MB, MADV_HUGEPAGE));
	/* A collapse can fail for passing reasons (EAGAIN): try a few times. */
	for (i = 0; madvise(mem, 2 * MB, MADV_COLLAPSE); i++) {
		if (errno == EINVAL)
			mkvm_missing("MADV_COLLAPSE", "not supported by this kernel");
		if (i == 4)
			mkvm_missing("a THP collapse", strerror(errno));
		usleep(100000);
	}
	/* The collapse zapped the 4K entries; refaults see the huge page's data. */
	for (i = 0; i < 512; i++)
		ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + i * PAGE_SIZE, 1), i & 0x7f);
	mem[3 * PAGE_SIZE] = 100;
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 3 * PAGE_SIZE, 1), 100);
}

#define RACE_PAGES	64

struct race {
	struct mkvm_guest g;
	volatile int stop;
};

struct race_vcpu {
	struct race *race;
	struct mkvm_vcpu_ctx vcpu;
	long bad, reads, unmapped;
};

/*
 * A vCPU thread: reads every page over and over until told to stop. While
 * the range is unmapped a read fails with EFAULT; nothing else may fail.
 */
static void *race_reader(void *p)
{
	struct race_vcpu *v = p;

	while (!v->race->stop) {
		int i;

		for (i = 0; i < RACE_PAGES; i++) {
			struct mkvm_guest_op op = {
				.type = MKVM_OP_READ, .size = 8, .gpa = GPA + i * PAGE_SIZE,
			};

			if (mkvm_run_ops(&v->vcpu, &op, 1)) {
				v->bad += errno != EFAULT;
				v->unmapped++;
				continue;
			}
			v->bad += v->vcpu.run->exit_reason != MKVM_EXIT_DONE;
			v->bad += op.data && op.data % 1000 != (uint64_t)i;
			v->reads++;
		}
	}
	return NULL;
}

static void race_map(struct race *r)
{
	void *p = mmap(r->g.mem, RACE_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	ASSERT_TRUE(p == r->g.mem);
}

/*
 * The process's writer: page i always holds i + 1000 * generation, or 0.
 * Each generation ends another way: MADV_DONTNEED, an mmap(MAP_FIXED)
 * over the range, or munmap and, a moment later, mmap again.
 */
static void *race_mutator(void *p)
{
	struct race *r = p;
	uint64_t gen = 1;

	while (!r->stop) {
		int i;

		for (i = 0; i < RACE_PAGES; i++)
			*(volatile uint64_t *)(r->g.mem + i * PAGE_SIZE) = i + 1000 * gen;
		switch (gen % 3) {
		case 0:
			ASSERT_OK(madvise(r->g.mem, RACE_PAGES * PAGE_SIZE, MADV_DONTNEED));
			break;
		case 1:
			race_map(r);
			break;
		default:
			ASSERT_OK(munmap(r->g.mem, RACE_PAGES * PAGE_SIZE));
			usleep(100);
			race_map(r);
		}
		gen++;
	}
	return NULL;
}

/*
 * Three vCPU threads fault and read in parallel (mmu_lock for read) while
 * the process rewrites, drops, replaces and unmaps the same memory: every
 * read is 0 or a value that belongs to that page, never the content of a
 * page the host freed and reused; and the auditor stays quiet. Bounded:
 * 3 seconds.
 */
TEST_T(accesses_race_host_unmap, 120)
{
	struct race r = { 0 };
	struct race_vcpu v[3];
	long reads = 0, faults = 0, retries = 0, unmapped = 0;
	pthread_t mut, th[3];
	int i;

	mkvm_guest_init(&r.g, NULL, RACE_PAGES * PAGE_SIZE, 0);
	for (i = 0; i < 3; i++) {
		v[i] = (struct race_vcpu){ .race = &r };
		if (i)
			mkvm_vcpu_open(r.g.vm, i, &v[i].vcpu);
		else
			v[i].vcpu = r.g.vcpu;
	}
	ASSERT_EQ(pthread_create(&mut, NULL, race_mutator, &r), 0);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(pthread_create(&th[i], NULL, race_reader, &v[i]), 0);
	sleep(3);
	r.stop = 1;
	ASSERT_EQ(pthread_join(mut, NULL), 0);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(pthread_join(th[i], NULL), 0);
		ASSERT_EQ(v[i].bad, 0);
		reads += v[i].reads;
		unmapped += v[i].unmapped;
		faults += v[i].vcpu.run->stat_faults;
		retries += v[i].vcpu.run->stat_retries;
	}
	printf("# %ld reads, %ld while unmapped, %ld faults, %ld retries\n",
	       reads, unmapped, faults, retries);
	ASSERT_TRUE(reads > 0);
}

/* Deleting and moving a slot zaps its mappings: the old guest range exits as MMIO. */
TEST(slot_delete_and_move_zap)
{
	struct mkvm_guest g;
	struct mkvm_guest_op op = { .type = MKVM_OP_READ, .size = 8, .gpa = GPA };

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	*(uint64_t *)g.mem = 4;
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 4);
	ASSERT_OK(mkvm_set_region(g.vm, 0, 0, 2 * GPA, PAGE_SIZE, g.mem));
	ASSERT_OK(mkvm_run_ops(&g.vcpu, &op, 1));
	ASSERT_EQ(g.vcpu.run->exit_reason, MKVM_EXIT_MMIO);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, 2 * GPA, 8), 4);
	ASSERT_OK(mkvm_set_region(g.vm, 0, 0, 0, 0, NULL));
	op.gpa = 2 * GPA;
	ASSERT_OK(mkvm_run_ops(&g.vcpu, &op, 1));
	ASSERT_EQ(g.vcpu.run->exit_reason, MKVM_EXIT_MMIO);
	/* Nothing left mapped: all tables below the root are gone. */
	ASSERT_EQ(mkvm_vm_stat("s2_tables"), 0);
}

static void on_signal(int sig)
{
	(void)sig;
}

struct interrupter {
	pthread_t target;
	/* The RUN started: its first write reached this word. */
	volatile uint64_t *started;
	volatile int stop;
	int sent;
};

/*
 * Signals the RUN thread (not with SIGALRM: tap's timeout) once the RUN is
 * seen to have started, and then every millisecond until told to stop: a
 * fast RUN cannot finish before the first signal, a slow one cannot miss
 * it.
 */
static void *interrupter(void *p)
{
	struct interrupter *t = p;

	while (!*t->started && !t->stop)
		usleep(100);
	while (!t->stop) {
		pthread_kill(t->target, SIGUSR1);
		t->sent++;
		usleep(1000);
	}
	return NULL;
}

static void interrupter_start(struct interrupter *t, pthread_t *th,
			      volatile uint64_t *started)
{
	struct sigaction sa = { .sa_handler = on_signal };

	*t = (struct interrupter){ .target = pthread_self(), .started = started };
	ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(pthread_create(th, NULL, interrupter, t), 0);
}

/* A signal interrupts a long TOUCH with EINTR; RUN then resumes where it stopped. */
TEST(run_eintr_and_resume)
{
	struct mkvm_guest g;
	struct mkvm_guest_op op = {
		.type = MKVM_OP_TOUCH_WRITE, .gpa = GPA, .len = 64 * MB, .data = 1,
	};
	struct interrupter irq;
	pthread_t t;
	int r, interrupted = 0, i;

	mkvm_guest_init(&g, NULL, 64 * MB, 0);
	/* The TOUCH writes the first page first. */
	interrupter_start(&irq, &t, (volatile uint64_t *)g.mem);
	r = mkvm_run_ops(&g.vcpu, &op, 1);
	if (r && errno == EINTR) {
		interrupted++;
		irq.stop = 1;
		ASSERT_TRUE(g.vcpu.run->op_progress > 0);
		ASSERT_TRUE(g.vcpu.run->op_progress < op.len);
		ASSERT_EQ(g.vcpu.run->next_op, 0);
	}
	while (r && errno == EINTR)
		r = ioctl(g.vcpu.fd, MKVM_RUN, 0);
	irq.stop = 1;
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(r, 0);
	if (!interrupted)
		tap_fail(__FILE__, __LINE__, "RUN ignored %d signals", irq.sent);
	ASSERT_EQ(g.vcpu.run->next_op, 1);
	for (i = 0; i < 64 * 256; i++)
		ASSERT_EQ(g.mem[i * PAGE_SIZE], 1);
}

/*
 * A program of 2^20 reads of one mapped page never faults: RUN must still
 * stop for a signal between ops (KVM checks before every guest entry), or
 * SIGKILL would wait for the whole program. EINTR part way, then resume.
 */
TEST_T(run_mapped_reads_eintr_and_resume, 120)
{
	const unsigned int n = 1U << 20;
	struct mkvm_guest_op *ops = calloc(n, sizeof(*ops));
	struct interrupter irq;
	unsigned int i, next;
	struct mkvm_guest g;
	uint64_t faults;
	pthread_t t;
	int r;

	ASSERT_TRUE(ops);
	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	*(uint64_t *)g.mem = 0x5555;
	ops[0] = (struct mkvm_guest_op){
		.type = MKVM_OP_WRITE, .size = 8, .gpa = GPA + 8, .data = 1,
	};
	for (i = 1; i < n; i++)
		ops[i] = (struct mkvm_guest_op){ .type = MKVM_OP_READ, .size = 8, .gpa = GPA };
	/* Mapped writable before the program: no op of it faults. */
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 0x5555);
	faults = g.vcpu.run->stat_faults;

	interrupter_start(&irq, &t, (volatile uint64_t *)(g.mem + 8));
	r = mkvm_run_ops(&g.vcpu, ops, n);
	irq.stop = 1;
	ASSERT_EQ(pthread_join(t, NULL), 0);
	if (r == 0)
		tap_fail(__FILE__, __LINE__, "RUN of %u mapped reads ignored %d signals", n,
			 irq.sent);
	ASSERT_EQ(errno, EINTR);
	next = g.vcpu.run->next_op;
	printf("# interrupted at op %u of %u after %d signals\n", next, n, irq.sent);
	ASSERT_TRUE(next > 0 && next < n);
	ASSERT_EQ(ops[next - 1].data, next > 1 ? 0x5555 : 1);
	ASSERT_EQ(ops[next].data, 0);

	do
		r = ioctl(g.vcpu.fd, MKVM_RUN, 0);
	while (r && errno == EINTR);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(g.vcpu.run->next_op, n);
	ASSERT_EQ(ops[n - 1].data, 0x5555);
	/* The stops did not come from faults (a migration may add one). */
	ASSERT_TRUE(g.vcpu.run->stat_faults - faults <= 2);
	free(ops);
}

struct guest_reader {
	struct mkvm_vcpu_ctx *vcpu;
	uint64_t gpa, value;
};

static void *guest_reader(void *p)
{
	struct guest_reader *r = p;

	r->value = mkvm_guest_read(r->vcpu, r->gpa, 8);
	return NULL;
}

struct invalidator {
	const char *hook;
	char *mem;
	size_t size;
	int advice;
};

/*
 * Arms @hook for one hit itself, right before its own madvise(): writes
 * of the main thread break copy-on-write sharing with tap's parent, and
 * each of those invalidates too.
 */
static void *invalidate(void *p)
{
	struct invalidator *t = p;

	hook_arm_times(t->hook, 1000, 1);
	ASSERT_OK(madvise(t->mem, t->size, t->advice));
	return NULL;
}

/*
 * The in-progress half of the retry check, deterministically. MADV_DONTNEED
 * stops in invalidate_range_start after mkvm's zap, before the core mm
 * clears the host PTE: gup still returns the old page and the sequence has
 * not moved, so only "an overlapping invalidation is in progress" keeps
 * the fault from installing a page the host is about to free. The fault
 * must retry for as long as the invalidation is parked, then read the new
 * (zero) page. MKVM_REVERT=IN_PROGRESS, which drops that half, reads the
 * old page, and the auditor finds its entry at invalidate_range_end.
 */
TEST_T(fault_retries_while_invalidation_in_progress, 60)
{
	struct invalidator inv = { .hook = "invalidate_zapped", .advice = MADV_DONTNEED };
	struct mkvm_guest g;
	uint64_t value, retries;
	pthread_t th;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	memset(g.mem, 0x11, PAGE_SIZE);
	inv.mem = g.mem;
	inv.size = PAGE_SIZE;
	/* Disarm, so that the hit count starts at zero. */
	hook_arm("invalidate_zapped", 0);
	/* Reading the count warms stdio: no COW break of ours uses the hit. */
	hook_hits("invalidate_zapped");
	retries = g.vcpu.run->stat_retries;
	ASSERT_EQ(pthread_create(&th, NULL, invalidate, &inv), 0);
	ASSERT_TRUE(hook_wait("invalidate_zapped", 1, 5000));
	/* The invalidation is parked, in progress, for a second. */
	value = mkvm_guest_read(&g.vcpu, GPA, 8);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	if (value == 0x1111111111111111ULL)
		tap_fail(__FILE__, __LINE__,
			 "guest read the page an invalidation in progress was dropping");
	ASSERT_EQ(value, 0);
	printf("# %llu retries while the invalidation was in progress\n",
	       (unsigned long long)(g.vcpu.run->stat_retries - retries));
	ASSERT_TRUE(g.vcpu.run->stat_retries > retries);
	*(uint64_t *)g.mem = 42;
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 42);
}

/*
 * A fault marks the page dirty under mmu_lock, in the section that
 * installed the writable entry, never after dropping it. The fault parks
 * after the unlock (hook fault_installed), where the dirtying used to be;
 * meanwhile MADV_FREE zaps the entry and cleans the page, and mprotect
 * keeps later faults from mapping it writable again. Reclaim must then
 * discard the page like a control page nobody touched. Dirtying after the
 * unlock (MKVM_REVERT=DIRTY_UNLOCKED) re-dirties it and reclaim keeps it.
 * No MADV_PAGEOUT in the window itself: the parked fault holds a
 * reference, and a page reclaim unmaps but cannot free proves nothing.
 * Pinned to one CPU, as guest_write_survives_lazyfree_reclaim.
 */
TEST_T(dirtied_under_mmu_lock_lazyfree, 60)
{
	struct guest_reader rd = { .gpa = GPA };
	struct mkvm_guest g;
	pthread_t th;
	char *control;

	mkvm_pin_cpu();
	mkvm_guest_init(&g, NULL, 2 * PAGE_SIZE, 0);
	rd.vcpu = &g.vcpu;
	control = g.mem + PAGE_SIZE;
	memset(g.mem, 1, 2 * PAGE_SIZE);
	/* Clean and lazily freed, mapped writable by the host. */
	ASSERT_OK(madvise(g.mem, 2 * PAGE_SIZE, MADV_FREE));
	hook_hits("fault_installed");
	hook_arm_times("fault_installed", 1000, 1);
	/* A read fault maps the page writable (the host PTE is): it dirties. */
	ASSERT_EQ(pthread_create(&th, NULL, guest_reader, &rd), 0);
	ASSERT_TRUE(hook_wait("fault_installed", 1, 5000));
	ASSERT_OK(madvise(g.mem, PAGE_SIZE, MADV_FREE));
	ASSERT_OK(mprotect(g.mem, 2 * PAGE_SIZE, PROT_READ));
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_EQ(rd.value, 0x0101010101010101ULL);

	ASSERT_OK(madvise(g.mem, 2 * PAGE_SIZE, MADV_PAGEOUT));
	ASSERT_OK(madvise(g.mem, 2 * PAGE_SIZE, MADV_PAGEOUT));
	if (control[0] != 0)
		mkvm_missing("reclaim of lazyfree pages by MADV_PAGEOUT", "the control page stayed");
	if (g.mem[0] != 0)
		tap_fail(__FILE__, __LINE__,
			 "lazyfree page re-dirtied after an invalidation zapped its entry: reclaim kept it");
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 0);
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
