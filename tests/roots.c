// SPDX-License-Identifier: GPL-2.0
/*
 * Stage-2 roots: MKVM_INVALIDATE_ROOTS (KVM's fast zap), vCPUs moving to
 * a new root, the teardown worker, seed 002's race, and coherency while
 * roots and memslots churn under running vCPUs. The test build's
 * stale-mapping auditor checks every root that exists, on the root list
 * or not, at every invalidation's end (a WARN fails the run).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/hooks.h"
#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define MB		(1024UL * 1024)
#define GPA		MKVM_TEST_GPA

/*
 * Wait up to @secs for the only VM to hold exactly one root, a valid one:
 * the worker has zapped and freed every invalid root. Returns the wait.
 */
static double wait_roots_settled(double secs)
{
	double start = mkvm_now();

	while (mkvm_vm_stat("roots") != 1 || mkvm_vm_stat("roots_invalid") != 0) {
		if (mkvm_now() - start > secs)
			tap_fail(__FILE__, __LINE__,
				 "roots did not settle in %.0f s: %ld roots, %ld invalid",
				 secs, mkvm_vm_stat("roots"), mkvm_vm_stat("roots_invalid"));
		usleep(1000);
	}
	return mkvm_now() - start;
}

/* The argument must be 0; a VM without a root has nothing to invalidate. */
TEST(invalidate_roots_einval_and_idle)
{
	int vm = mkvm_vm_create();

	ASSERT_ERRNO(ioctl(vm, MKVM_INVALIDATE_ROOTS, 1), EINVAL);
	ASSERT_OK(ioctl(vm, MKVM_INVALIDATE_ROOTS, 0));
	ASSERT_EQ(mkvm_vm_stat("roots"), 0);
	ASSERT_EQ(mkvm_vm_stat("roots_invalidations"), 1);
	close(vm);
	mkvm_assert_no_objects();
}

/*
 * After an invalidation the vCPU moves to a new root and faults its
 * memory in again, reading the same data; the old root is zapped and
 * freed by the worker once the vCPU has left it.
 */
TEST(invalidate_roots_vcpu_moves_and_refaults)
{
	const unsigned int n = 64;
	struct mkvm_guest g;
	long faults;

	mkvm_guest_init(&g, NULL, n * PAGE_SIZE, 0);
	mkvm_fill_pages(g.mem, n);
	mkvm_guest_check_pages(&g, n, 1);
	faults = mkvm_vm_stat("faults");
	ASSERT_EQ(faults, n);
	ASSERT_EQ(mkvm_vm_stat("roots"), 1);
	ASSERT_TRUE(mkvm_vm_stat("s2_tables") > 0);

	ASSERT_OK(ioctl(g.vm, MKVM_INVALIDATE_ROOTS, 0));
	ASSERT_EQ(mkvm_vm_stat("roots_invalid"), 1);
	mkvm_guest_check_pages(&g, n, 1);
	ASSERT_EQ(mkvm_vm_stat("faults"), 2 * faults);
	ASSERT_EQ(mkvm_vm_stat("root_loads"), 2);
	wait_roots_settled(5);
	ASSERT_EQ(mkvm_vm_stat("roots_torn_down"), 1);
	ASSERT_EQ(mkvm_vm_stat("roots_freed"), 1);
	mkvm_guest_close(&g);
	munmap(g.mem, n * PAGE_SIZE);
	mkvm_assert_no_objects();
}

struct reader {
	struct mkvm_vcpu_ctx *vcpu;
	uint64_t gpa;
	uint64_t value;
};

static void *read_one(void *p)
{
	struct reader *r = p;

	r->value = mkvm_guest_read(r->vcpu, r->gpa, 1);
	return NULL;
}

/*
 * Seed 002: a root's teardown yields mmu_lock between steps, and a
 * notifier runs in the gap. The guest maps page A (the first 2M step)
 * and page B (4M on); the root is invalidated; the teardown stops in the
 * hook after zapping A's step; the process unmaps B. Fixed: the root is
 * still on the list, so the munmap's notifier zaps B in it
 * (invalid_root_zaps counts that: the window was hit), and the auditor
 * finds nothing at the munmap's end. Reverted (the last put takes the
 * root off the list, then zaps it inline): the notifier cannot see the
 * root, B stays mapped after the host freed it, and the auditor WARNs.
 */
TEST_T(seed002_root_teardown_vs_munmap, 60)
{
	struct mkvm_guest g;
	struct reader rd = { .vcpu = &g.vcpu, .gpa = GPA };
	long zaps;
	pthread_t th;

	mkvm_guest_init(&g, NULL, 8 * MB, 0);
	ASSERT_OK(madvise(g.mem, 8 * MB, MADV_NOHUGEPAGE));
	mkvm_guest_write(&g.vcpu, GPA, 1, 0x11);
	mkvm_guest_write(&g.vcpu, GPA + 4 * MB, 1, 0x22);
	zaps = mkvm_vm_stat("invalid_root_zaps");

	hook_arm_times("root_teardown_yield", 3000, 1);
	ASSERT_OK(ioctl(g.vm, MKVM_INVALIDATE_ROOTS, 0));
	/* The vCPU leaves the root: its put is the last one if the VM's went. */
	ASSERT_EQ(pthread_create(&th, NULL, read_one, &rd), 0);
	ASSERT_TRUE(hook_wait("root_teardown_yield", 1, 5000));
	ASSERT_OK(munmap(g.mem + 4 * MB, PAGE_SIZE));
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_EQ(rd.value, 0x11);

	if (mkvm_vm_stat("invalid_root_zaps") == zaps)
		tap_fail(__FILE__, __LINE__,
			 "the munmap did not reach the root being torn down");
	wait_roots_settled(5);
	mkvm_guest_close(&g);
	munmap(g.mem, 8 * MB);
	mkvm_assert_no_objects();
}

#define CHURN_PAGES	256

struct churn {
	struct mkvm_guest g;
	atomic_int stop;
	long invalidations, remaps;
};

struct churn_vcpu {
	struct churn *c;
	struct mkvm_vcpu_ctx vcpu;
	long reads, zeroes, bad;
};

/* Every page holds its own index + 1, or 0 right after the host dropped it. */
static void *churn_reader(void *p)
{
	struct churn_vcpu *v = p;
	unsigned int i = 0;

	while (!v->c->stop) {
		uint64_t val = mkvm_guest_read(&v->vcpu, GPA + i * PAGE_SIZE, 8);

		if (val == 0)
			v->zeroes++;
		else if (val != i + 1)
			v->bad++;
		v->reads++;
		i = (i + 7) % CHURN_PAGES;
	}
	return NULL;
}

static void churn_fill(struct churn *c, unsigned int from, unsigned int to)
{
	unsigned int i;

	for (i = from; i < to; i++)
		*(volatile uint64_t *)(c->g.mem + i * PAGE_SIZE) = i + 1;
}

/* Invalidates every root, and drops and replaces part of the memory. */
static void *churn_mutator(void *p)
{
	struct churn *c = p;
	unsigned int half = CHURN_PAGES / 2;

	while (!c->stop) {
		ASSERT_OK(ioctl(c->g.vm, MKVM_INVALIDATE_ROOTS, 0));
		c->invalidations++;
		if (c->invalidations % 4)
			continue;
		/* A new mapping at the same address: zeroes, then the values. */
		if (mmap(c->g.mem + half * PAGE_SIZE, half * PAGE_SIZE,
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0) == MAP_FAILED)
			tap_fail(__FILE__, __LINE__, "mmap: %s", strerror(errno));
		churn_fill(c, half, CHURN_PAGES);
		ASSERT_OK(madvise(c->g.mem, 16 * PAGE_SIZE, MADV_DONTNEED));
		churn_fill(c, 0, 16);
		c->remaps++;
	}
	return NULL;
}

/*
 * Root lifecycle under churn: two vCPU threads read while another thread
 * invalidates every root in a loop and replaces the memory under them.
 * Every read is the page's value or 0, never another page's; once the
 * churn stops and each vCPU has run once more (leaving its old root),
 * the worker frees every invalid root within a bounded time, and closing
 * the VM leaves no root behind (kmemleak checks the rest).
 */
TEST_T(roots_churn_settles, 120)
{
	struct churn c = { 0 };
	struct churn_vcpu v[2];
	pthread_t mut, th[2];
	long reads = 0, zeroes = 0;
	double settle;
	int i;

	mkvm_guest_init(&c.g, NULL, CHURN_PAGES * PAGE_SIZE, 0);
	churn_fill(&c, 0, CHURN_PAGES);
	for (i = 0; i < 2; i++) {
		v[i] = (struct churn_vcpu){ .c = &c };
		if (i)
			mkvm_vcpu_open(c.g.vm, i, &v[i].vcpu);
		else
			v[i].vcpu = c.g.vcpu;
	}
	ASSERT_EQ(pthread_create(&mut, NULL, churn_mutator, &c), 0);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(pthread_create(&th[i], NULL, churn_reader, &v[i]), 0);
	sleep(3);
	c.stop = 1;
	ASSERT_EQ(pthread_join(mut, NULL), 0);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(pthread_join(th[i], NULL), 0);
		ASSERT_EQ(v[i].bad, 0);
		reads += v[i].reads;
		zeroes += v[i].zeroes;
		/* Off the old root, onto the valid one. */
		ASSERT_EQ(mkvm_guest_read(&v[i].vcpu, GPA, 8), 1);
	}
	settle = wait_roots_settled(10);
	printf("# %ld reads (%ld zero), %ld invalidations, %ld remaps, %ld roots freed, settled in %.3f s\n",
	       reads, zeroes, c.invalidations, c.remaps, mkvm_vm_stat("roots_freed"), settle);
	ASSERT_TRUE(reads > 0 && c.invalidations > 0);
	ASSERT_OK(munmap(v[1].vcpu.run, PAGE_SIZE));
	close(v[1].vcpu.fd);
	mkvm_guest_close(&c.g);
	munmap(c.g.mem, CHURN_PAGES * PAGE_SIZE);
	mkvm_assert_no_objects();
}

#define SLOT_PAGES	64
#define SLOT1_GPA_A	(2 * GPA)
#define SLOT1_GPA_B	(3 * GPA)

struct slot_churn {
	int vm;
	char *mem0, *mem1;
	atomic_int stop;
	long updates;
};

struct slot_reader {
	struct slot_churn *s;
	struct mkvm_vcpu_ctx vcpu;
	long reads, mmio, bad;
};

/* One read; MMIO (no slot there now) reads as -1. */
static int64_t read_or_mmio(struct mkvm_vcpu_ctx *vcpu, uint64_t gpa)
{
	struct mkvm_guest_op op = { .type = MKVM_OP_READ, .size = 8, .gpa = gpa };

	if (mkvm_run_ops(vcpu, &op, 1))
		tap_fail(__FILE__, __LINE__, "MKVM_RUN: %s", strerror(errno));
	if (vcpu->run->exit_reason == MKVM_EXIT_MMIO)
		return -1;
	return op.data;
}

/*
 * Slot 0 never changes: its pages always read their values. Slot 1 is
 * deleted, moved and re-added: at either of its places a read is slot 1's
 * value or an MMIO exit, never anything else.
 */
static void *slot_reader(void *p)
{
	struct slot_reader *r = p;
	unsigned int i = 0;

	while (!r->s->stop) {
		uint64_t base = i & 1 ? SLOT1_GPA_A : SLOT1_GPA_B;
		unsigned int pg = i % SLOT_PAGES;
		int64_t v0 = read_or_mmio(&r->vcpu, GPA + pg * PAGE_SIZE);
		int64_t v1 = read_or_mmio(&r->vcpu, base + pg * PAGE_SIZE);

		if (v0 != pg + 1)
			r->bad++;
		if (v1 == -1)
			r->mmio++;
		else if (v1 != pg + 1001)
			r->bad++;
		r->reads += 2;
		i += 3;
	}
	return NULL;
}

/*
 * Coherency across slot deletion, moves, re-adds and root invalidations
 * while two vCPU threads run: no read ever returns data from a slot's
 * old place or another slot.
 */
TEST_T(slot_churn_with_invalidations_coherent, 120)
{
	struct mkvm_vcpu_ctx checker;
	struct slot_churn s = { 0 };
	struct slot_reader r[2];
	pthread_t th[2];
	long reads = 0, mmio = 0;
	unsigned int i;
	double end;

	s.vm = mkvm_vm_create();
	s.mem0 = mkvm_map_anon(SLOT_PAGES * PAGE_SIZE);
	s.mem1 = mkvm_map_anon(SLOT_PAGES * PAGE_SIZE);
	for (i = 0; i < SLOT_PAGES; i++) {
		*(uint64_t *)(s.mem0 + i * PAGE_SIZE) = i + 1;
		*(uint64_t *)(s.mem1 + i * PAGE_SIZE) = i + 1001;
	}
	ASSERT_OK(mkvm_set_region(s.vm, 0, 0, GPA, SLOT_PAGES * PAGE_SIZE, s.mem0));
	ASSERT_OK(mkvm_set_region(s.vm, 1, 0, SLOT1_GPA_A, SLOT_PAGES * PAGE_SIZE, s.mem1));
	for (i = 0; i < 2; i++) {
		r[i] = (struct slot_reader){ .s = &s };
		mkvm_vcpu_open(s.vm, i, &r[i].vcpu);
		ASSERT_EQ(pthread_create(&th[i], NULL, slot_reader, &r[i]), 0);
	}
	/*
	 * The readers cannot tell a stale mapping of slot 1 from a live one
	 * (one backing, either place): after each change, this thread's own
	 * vCPU checks that the place slot 1 left is no slot's any more.
	 */
	mkvm_vcpu_open(s.vm, 2, &checker);
	for (i = 0, end = mkvm_now() + 3; mkvm_now() < end; i++) {
		unsigned int pg = i % SLOT_PAGES;

		switch (i % 4) {
		case 0:		/* move A -> B */
			ASSERT_EQ(read_or_mmio(&checker, SLOT1_GPA_A + pg * PAGE_SIZE),
				  pg + 1001);
			ASSERT_OK(mkvm_set_region(s.vm, 1, 0, SLOT1_GPA_B,
						  SLOT_PAGES * PAGE_SIZE, s.mem1));
			ASSERT_EQ(read_or_mmio(&checker, SLOT1_GPA_A + pg * PAGE_SIZE), -1);
			break;
		case 1:
			ASSERT_EQ(read_or_mmio(&checker, SLOT1_GPA_B + pg * PAGE_SIZE),
				  pg + 1001);
			ASSERT_OK(ioctl(s.vm, MKVM_INVALIDATE_ROOTS, 0));
			break;
		case 2:		/* delete, then re-add at A */
			ASSERT_OK(mkvm_set_region(s.vm, 1, 0, 0, 0, NULL));
			ASSERT_EQ(read_or_mmio(&checker, SLOT1_GPA_B + pg * PAGE_SIZE), -1);
			ASSERT_OK(mkvm_set_region(s.vm, 1, 0, SLOT1_GPA_A,
						  SLOT_PAGES * PAGE_SIZE, s.mem1));
			ASSERT_EQ(read_or_mmio(&checker, SLOT1_GPA_B + pg * PAGE_SIZE), -1);
			break;
		default:
			usleep(500);
		}
		s.updates++;
	}
	ASSERT_OK(munmap(checker.run, PAGE_SIZE));
	close(checker.fd);
	s.stop = 1;
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(pthread_join(th[i], NULL), 0);
		ASSERT_EQ(r[i].bad, 0);
		reads += r[i].reads;
		mmio += r[i].mmio;
		ASSERT_OK(munmap(r[i].vcpu.run, PAGE_SIZE));
		close(r[i].vcpu.fd);
	}
	printf("# %ld reads (%ld MMIO exits), %ld updates\n", reads, mmio, s.updates);
	ASSERT_TRUE(reads > 0 && s.updates > 0);
	close(s.vm);
	munmap(s.mem0, SLOT_PAGES * PAGE_SIZE);
	munmap(s.mem1, SLOT_PAGES * PAGE_SIZE);
	mkvm_assert_no_objects();
}

#define BIG_COPIES	4
#define BIG_THP		(256 * MB)
#define BIG_4K		(64 * MB)

/*
 * Tearing down a VM with more than a gigabyte mapped yields all along.
 * Four slots share one 256 MiB THP backing (1 GiB of guest memory in 2M
 * blocks where THP is on) and four share 64 MiB of 4K pages (256 MiB in
 * 4K entries): little host memory, a lot of stage-2. Closing the VM, on
 * the same CPU as a thread that sleeps 1 ms at a time, neither trips the
 * debug kernel's soft-lockup and RCU-stall detectors (the harness fails
 * the run on either) nor leaves anything behind. The probe's worst
 * wake-up delay is printed, not asserted (no timing assertions in tests:
 * bench_scale compares it with an idle probe's); so this test proves the
 * teardown completes cleanly, not that each step yields.
 */
TEST_T(teardown_of_a_gigabyte_yields, 300)
{
	char *thp, *small;
	struct mkvm_guest_op ops[2 * BIG_COPIES];
	struct mkvm_vcpu_ctx vcpu;
	int vm = mkvm_vm_create(), i;
	struct mkvm_probe pr;
	double t0, el, worst;

	/* Without THP the gigabyte would be 262,144 4K faults: too slow here. */
	mkvm_need_thp();
	thp = mkvm_map_2m_aligned(BIG_THP, MADV_HUGEPAGE);
	small = mkvm_map_2m_aligned(BIG_4K, MADV_NOHUGEPAGE);
	/* The probe shares CPU 0: only yielding lets it run on time. */
	mkvm_pin_to_cpu(0);
	for (i = 0; i < BIG_COPIES; i++) {
		uint64_t gpa_thp = GPA + i * BIG_THP, gpa_4k = 8 * GPA + i * BIG_4K;

		ASSERT_OK(mkvm_set_region(vm, 2 * i, 0, gpa_thp, BIG_THP, thp));
		ASSERT_OK(mkvm_set_region(vm, 2 * i + 1, 0, gpa_4k, BIG_4K, small));
		ops[2 * i] = (struct mkvm_guest_op){
			.type = MKVM_OP_TOUCH_WRITE, .gpa = gpa_thp, .len = BIG_THP, .data = 1,
		};
		ops[2 * i + 1] = (struct mkvm_guest_op){
			.type = MKVM_OP_TOUCH_WRITE, .gpa = gpa_4k, .len = BIG_4K, .data = 2,
		};
	}
	mkvm_vcpu_open(vm, 0, &vcpu);
	ASSERT_OK(mkvm_run_ops(&vcpu, ops, 2 * BIG_COPIES));
	ASSERT_EQ(vcpu.run->exit_reason, MKVM_EXIT_DONE);
	printf("# %lu MiB of guest memory mapped, %ld stage-2 table pages\n",
	       BIG_COPIES * (BIG_THP + BIG_4K) / MB, mkvm_vm_stat("s2_tables"));
	ASSERT_OK(munmap(vcpu.run, PAGE_SIZE));
	close(vcpu.fd);

	mkvm_probe_start(&pr, 0);
	usleep(20000);
	pr.worst = 0;
	t0 = mkvm_now();
	close(vm);	/* the last fd: destroy, release and the frees run here */
	el = mkvm_now() - t0;
	usleep(5000);
	worst = mkvm_probe_stop(&pr);
	printf("# teardown took %.3f s; the probe's worst wake-up delay %.2f ms\n",
	       el, worst * 1e3);
	munmap(thp, BIG_THP);
	munmap(small, BIG_4K);
	mkvm_assert_no_objects();
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
