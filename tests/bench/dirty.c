// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark: dirty logging. All in one run, as ratios where there is a
 * baseline:
 *  - turning logging on, per mapped GiB of THP-backed memory (2M blocks),
 *    with eager splitting (2M chunks) and without;
 *  - a guest pass writing every page of 4K-backed memory: logging on
 *    (each page write-protected: one fault each) against logging off
 *    (every page already mapped writable);
 *  - MKVM_GET_DIRTY_LOG with every page dirty (copy, clear and
 *    write-protect), and MKVM_CLEAR_DIRTY_LOG of all of it, per GiB;
 *  - a write to every page of THP-backed memory with logging on: time and
 *    faults, eager splitting against splitting on the first write.
 * One warm-up round, then the median of ROUNDS. Asserts nothing about speed.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define MB	(1024UL * 1024)
#define GPA	MKVM_TEST_GPA
#define SIZE	(128 * MB)
#define ROUNDS	5

struct setup {
	struct mkvm_guest g;
	int thp;
	int eager;
	int manual;
};

static void set_logging(struct setup *s, int on)
{
	ASSERT_OK(mkvm_set_region(s->g.vm, 0, on ? MKVM_MEM_LOG_DIRTY_PAGES : 0, GPA,
				  SIZE, s->g.mem));
}

static double touch(struct setup *s, uint32_t type)
{
	struct mkvm_guest_op op = { .type = type, .gpa = GPA, .len = SIZE, .data = 1 };
	double t0 = mkvm_now();

	ASSERT_OK(mkvm_run_ops(&s->g.vcpu, &op, 1));
	ASSERT_EQ(s->g.vcpu.run->exit_reason, MKVM_EXIT_DONE);
	return mkvm_now() - t0;
}

/* A VM with SIZE of populated memory, all of it mapped writable. */
static void setup(struct setup *s)
{
	struct mkvm_enable_cap cap = {
		.cap = MKVM_CAP_EAGER_SPLIT_CHUNK_SIZE, .args = { 2 * MB },
	};

	s->g.mem = mkvm_map_2m_aligned(SIZE, s->thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(s->g.mem, 1, SIZE);
	s->g.size = SIZE;
	s->g.vm = mkvm_vm_create();
	if (s->eager)
		ASSERT_OK(ioctl(s->g.vm, MKVM_ENABLE_CAP, &cap));
	if (s->manual) {
		cap.cap = MKVM_CAP_MANUAL_DIRTY_LOG_PROTECT;
		cap.args[0] = MKVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
		ASSERT_OK(ioctl(s->g.vm, MKVM_ENABLE_CAP, &cap));
	}
	ASSERT_OK(mkvm_set_region(s->g.vm, 0, 0, GPA, SIZE, s->g.mem));
	mkvm_vcpu_open(s->g.vm, 0, &s->g.vcpu);
	touch(s, MKVM_OP_TOUCH_WRITE);
}

static void teardown(struct setup *s)
{
	mkvm_guest_close(&s->g);
	munmap(s->g.mem, SIZE);
}

static double per_gib(double secs)
{
	return secs * 1024 * MB / SIZE;
}

/* Seconds to turn logging on, THP-backed, eager or not. */
static double enable_time(int eager)
{
	struct setup s = { .thp = 1, .eager = eager };
	double t0, t;

	setup(&s);
	t0 = mkvm_now();
	set_logging(&s, 1);
	t = mkvm_now() - t0;
	teardown(&s);
	return t;
}

TEST_T(enable_logging_per_gib, 600)
{
	double lazy[ROUNDS], eager[ROUNDS];
	int i;

	mkvm_need_thp();
	enable_time(0);
	enable_time(1);
	for (i = 0; i < ROUNDS; i++) {
		lazy[i] = enable_time(0);
		eager[i] = enable_time(1);
	}
	printf("# logging on, THP-backed: %.4f s per mapped GiB without eager split, %.4f s with (2M chunks), ratio %.1f\n",
	       per_gib(mkvm_median(lazy, ROUNDS)), per_gib(mkvm_median(eager, ROUNDS)), mkvm_median(eager, ROUNDS) / mkvm_median(lazy, ROUNDS));
}

TEST_T(guest_writes_logging_on_vs_off, 600)
{
	double off[ROUNDS], on[ROUNDS];
	struct setup s = { 0 };
	uint64_t *bm = malloc(SIZE / PAGE_SIZE / 8);
	struct mkvm_dirty_log log = { .dirty_bitmap = (uintptr_t)bm };
	int i;

	setup(&s);
	touch(&s, MKVM_OP_TOUCH_WRITE);
	for (i = 0; i < ROUNDS; i++)
		off[i] = touch(&s, MKVM_OP_TOUCH_WRITE);
	set_logging(&s, 1);
	touch(&s, MKVM_OP_TOUCH_WRITE);
	for (i = 0; i < ROUNDS; i++) {
		/* Every page write-protected again: each write faults. */
		ASSERT_OK(ioctl(s.g.vm, MKVM_GET_DIRTY_LOG, &log));
		on[i] = touch(&s, MKVM_OP_TOUCH_WRITE);
	}
	printf("# guest writes to every page of %lu MiB (4K): logging off %.0f pages/s, on %.0f pages/s, ratio on/off %.3f\n",
	       SIZE / MB, SIZE / PAGE_SIZE / mkvm_median(off, ROUNDS), SIZE / PAGE_SIZE / mkvm_median(on, ROUNDS),
	       mkvm_median(off, ROUNDS) / mkvm_median(on, ROUNDS));
	teardown(&s);
	free(bm);
}

TEST_T(get_and_clear_dirty_log_per_gib, 600)
{
	double get[ROUNDS], clear[ROUNDS], copy[ROUNDS];
	size_t bytes = SIZE / PAGE_SIZE / 8;
	uint64_t *bm = malloc(bytes);
	struct mkvm_dirty_log log = { .dirty_bitmap = (uintptr_t)bm };
	struct mkvm_clear_dirty_log cl = {
		.num_pages = SIZE / PAGE_SIZE, .dirty_bitmap = (uintptr_t)bm,
	};
	struct setup s = { 0 }, m = { .manual = 1 };
	double t0;
	int i;

	setup(&s);
	setup(&m);
	set_logging(&s, 1);
	set_logging(&m, 1);
	for (i = -1; i < ROUNDS; i++) {
		touch(&s, MKVM_OP_TOUCH_WRITE);
		t0 = mkvm_now();
		ASSERT_OK(ioctl(s.g.vm, MKVM_GET_DIRTY_LOG, &log));
		if (i >= 0)
			get[i] = mkvm_now() - t0;

		touch(&m, MKVM_OP_TOUCH_WRITE);
		t0 = mkvm_now();
		ASSERT_OK(ioctl(m.g.vm, MKVM_GET_DIRTY_LOG, &log));
		if (i >= 0)
			copy[i] = mkvm_now() - t0;
		t0 = mkvm_now();
		ASSERT_OK(ioctl(m.g.vm, MKVM_CLEAR_DIRTY_LOG, &cl));
		if (i >= 0)
			clear[i] = mkvm_now() - t0;
	}
	printf("# every page dirty: GET_DIRTY_LOG %.4f s per GiB (copy, clear, write-protect); with manual protect GET %.4f s and CLEAR_DIRTY_LOG %.4f s per GiB\n",
	       per_gib(mkvm_median(get, ROUNDS)), per_gib(mkvm_median(copy, ROUNDS)), per_gib(mkvm_median(clear, ROUNDS)));
	teardown(&s);
	teardown(&m);
	free(bm);
}

/* THP-backed, logging on: a guest write to every page. */
static double thp_write_pass(int eager, long *faults)
{
	struct setup s = { .thp = 1, .eager = eager };
	long before;
	double t;

	setup(&s);
	set_logging(&s, 1);
	before = mkvm_vm_stat("faults");
	t = touch(&s, MKVM_OP_TOUCH_WRITE);
	*faults = mkvm_vm_stat("faults") - before;
	teardown(&s);
	return t;
}

TEST_T(thp_write_faults_eager_vs_on_write, 600)
{
	double lazy[ROUNDS], eager[ROUNDS];
	long lf = 0, ef = 0;
	int i;

	mkvm_need_thp();
	thp_write_pass(0, &lf);
	thp_write_pass(1, &ef);
	for (i = 0; i < ROUNDS; i++) {
		lazy[i] = thp_write_pass(0, &lf);
		eager[i] = thp_write_pass(1, &ef);
	}
	printf("# THP-backed, logging on, a write to each of %lu pages: split on first write %.3f s (%ld faults), eager split %.3f s (%ld faults), ratio eager/on-write %.2f\n",
	       SIZE / PAGE_SIZE, mkvm_median(lazy, ROUNDS), lf, mkvm_median(eager, ROUNDS), ef,
	       mkvm_median(eager, ROUNDS) / mkvm_median(lazy, ROUNDS));
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
