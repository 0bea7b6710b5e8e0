// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark: what the number of memslots costs. The same PAGES pages of
 * 4K-backed anonymous memory, at the same guest-physical range, are split
 * into 1, 100, 10,000 or 32,764 slots (MKVM_CAP_NR_MEMSLOTS) of equal
 * size, and measured in this run, after a warm-up, as medians:
 *   - the stage-2 fault rate: one MKVM_RUN touch of every page, with the
 *     host pages present (so a fault is a slot lookup, gup and a map);
 *   - the cost of one host invalidation: MADV_DONTNEED of one page the
 *     guest has mapped (a notifier walk of the hva tree and one zap),
 *     timed alone, the guest mapping it again in between.
 * Each is printed with its ratio to the 1-slot run. Asserts nothing
 * about speed.
 */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define PAGES		32764UL
#define GPA		(1UL << 32)
#define ROUNDS		5
#define DONTNEEDS	1000

struct bench {
	int vm;
	struct mkvm_vcpu_ctx vcpu;
	char *mem;
};

/* Slot k covers pages [k * PAGES / nr, (k + 1) * PAGES / nr). */
static void bench_init(struct bench *b, unsigned int nr)
{
	unsigned long k, first, next;

	b->mem = mkvm_map_anon(PAGES * PAGE_SIZE);
	ASSERT_OK(madvise(b->mem, PAGES * PAGE_SIZE, MADV_NOHUGEPAGE));
	b->vm = mkvm_vm_create();
	for (k = 0; k < nr; k++) {
		first = k * PAGES / nr;
		next = (k + 1) * PAGES / nr;
		ASSERT_OK(mkvm_set_region(b->vm, k, 0, GPA + first * PAGE_SIZE,
					  (next - first) * PAGE_SIZE,
					  b->mem + first * PAGE_SIZE));
	}
	mkvm_vcpu_open(b->vm, 0, &b->vcpu);
}

static void bench_close(struct bench *b)
{
	munmap(b->vcpu.run, PAGE_SIZE);
	close(b->vcpu.fd);
	close(b->vm);
	munmap(b->mem, PAGES * PAGE_SIZE);
}

/* Guest pages faulted in per second, the host pages already there. */
static double fault_rate(struct bench *b)
{
	struct mkvm_guest_op op = {
		.type = MKVM_OP_TOUCH_READ, .gpa = GPA, .len = PAGES * PAGE_SIZE,
	};
	unsigned long i;
	double t0, t;

	/* Empties stage-2 (the notifier zaps it all), then the host refills. */
	ASSERT_OK(madvise(b->mem, PAGES * PAGE_SIZE, MADV_DONTNEED));
	for (i = 0; i < PAGES; i++)
		b->mem[i * PAGE_SIZE] = 1;
	t0 = mkvm_now();
	ASSERT_OK(mkvm_run_ops(&b->vcpu, &op, 1));
	t = mkvm_now() - t0;
	ASSERT_EQ(b->vcpu.run->exit_reason, MKVM_EXIT_DONE);
	return PAGES / t;
}

/* Seconds for MADV_DONTNEED of one page the guest maps: the median. */
static double dontneed_cost(struct bench *b)
{
	static double v[DONTNEEDS];
	unsigned long page = PAGES / 2 + 1;
	char *p = b->mem + page * PAGE_SIZE;
	double t0;
	unsigned int i;

	for (i = 0; i < DONTNEEDS; i++) {
		*p = 1;
		mkvm_guest_read(&b->vcpu, GPA + page * PAGE_SIZE, 1);
		t0 = mkvm_now();
		ASSERT_OK(madvise(p, PAGE_SIZE, MADV_DONTNEED));
		v[i] = mkvm_now() - t0;
	}
	return mkvm_median(v, DONTNEEDS);
}

struct result {
	double rate;		/* pages per second */
	double dontneed;	/* seconds */
};

static struct result measure(unsigned int nr)
{
	double rates[ROUNDS], costs[ROUNDS];
	struct result r;
	struct bench b;
	unsigned int i;

	bench_init(&b, nr);
	fault_rate(&b);		/* warm-up */
	dontneed_cost(&b);
	for (i = 0; i < ROUNDS; i++) {
		rates[i] = fault_rate(&b);
		costs[i] = dontneed_cost(&b);
	}
	bench_close(&b);
	r.rate = mkvm_median(rates, ROUNDS);
	r.dontneed = mkvm_median(costs, ROUNDS);
	return r;
}

/* Fault rate and one-page invalidation with 1, 100, 10,000 and the cap's slots. */
TEST_T(slots_fault_rate_and_invalidation, 1200)
{
	int dev = mkvm_open();
	unsigned int counts[] = { 1, 100, 10000, 0 }, i;
	struct result base = { 0 }, r;

	counts[3] = ASSERT_OK(ioctl(dev, MKVM_CHECK_EXTENSION, MKVM_CAP_NR_MEMSLOTS));
	close(dev);
	ASSERT_TRUE(counts[3] <= PAGES);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		r = measure(counts[i]);
		if (i == 0)
			base = r;
		printf("# %5u slots, %lu pages: fault rate %.0f pages/s (ratio to 1 slot %.2f), one-page MADV_DONTNEED %.2f us (ratio to 1 slot %.2f)\n",
		       counts[i], PAGES, r.rate, r.rate / base.rate, r.dontneed * 1e6,
		       r.dontneed / base.dontneed);
	}
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
