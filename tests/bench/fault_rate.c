// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark: pages faulted in per second through MKVM_RUN's touch op,
 * next to the rate at which the same CPU first-touches the same amount of
 * anonymous memory from userspace, both measured in this run. 4K-backed
 * and THP-backed. One warm-up round, then the median of ROUNDS rounds.
 * Prints numbers and ratios; asserts nothing about speed.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define MB	(1024UL * 1024)
#define SIZE	(64 * MB)
#define GPA	(1UL << 30)
#define ROUNDS	5

static char *map_backing(int thp)
{
	return mkvm_map_2m_aligned(SIZE, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

/* Pages per second for a userspace first touch of SIZE bytes. */
static double user_rate(int thp)
{
	char *p = map_backing(thp);
	double t0 = mkvm_now(), t;
	size_t i;

	for (i = 0; i < SIZE; i += PAGE_SIZE)
		p[i] = 1;
	t = mkvm_now() - t0;
	munmap(p, SIZE);
	return SIZE / PAGE_SIZE / t;
}

/* Pages per second for a guest first touch of SIZE bytes through RUN. */
static double mkvm_rate(int thp)
{
	char *p = map_backing(thp);
	struct mkvm_guest_op op = {
		.type = MKVM_OP_TOUCH_WRITE, .gpa = GPA, .len = SIZE, .data = 1,
	};
	struct mkvm_vcpu_ctx vcpu;
	int vm = mkvm_vm_create();
	double t0, t;

	ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA, SIZE, p));
	mkvm_vcpu_open(vm, 0, &vcpu);
	t0 = mkvm_now();
	ASSERT_OK(mkvm_run_ops(&vcpu, &op, 1));
	t = mkvm_now() - t0;
	ASSERT_EQ(vcpu.run->exit_reason, MKVM_EXIT_DONE);
	munmap(vcpu.run, PAGE_SIZE);
	close(vcpu.fd);
	close(vm);
	munmap(p, SIZE);
	return SIZE / PAGE_SIZE / t;
}

static double median(double (*fn)(int), int thp)
{
	double v[ROUNDS];
	int i;

	fn(thp);	/* warm-up: a cold first run was 4x slower here */
	for (i = 0; i < ROUNDS; i++)
		v[i] = fn(thp);
	return mkvm_median(v, ROUNDS);
}

static void compare(const char *name, int thp)
{
	double user = median(user_rate, thp), guest = median(mkvm_rate, thp);

	printf("# %-4s first touch of %lu MiB: userspace %.0f pages/s, mkvm RUN %.0f pages/s, ratio mkvm/userspace %.2f\n",
	       name, SIZE / MB, user, guest, guest / user);
}

/* 4K-backed memory: one stage-2 fault per page. */
TEST_T(fault_rate_4k, 600)
{
	compare("4K", 0);
}

/* THP-backed memory: one 2M block fault per 512 pages. */
TEST_T(fault_rate_thp, 600)
{
	compare("THP", 1);
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
