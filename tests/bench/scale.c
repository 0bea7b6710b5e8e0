// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark: how mkvm scales with vCPU threads, and what tearing down a
 * VM with a lot mapped costs.
 *
 *  - Fault-in of populated memory (host pages present: the stage-2 cost
 *    alone) by 1, 2 and 4 vCPU threads, each on its own part of one slot;
 *    between rounds MKVM_INVALIDATE_ROOTS makes every vCPU fault it all in
 *    again. Ratio against one thread (the target: 2 threads >=
 *    1.7x one, on a guest with 2 CPUs).
 *  - Teardown (the close of the last fd: release takes the tables, frees
 *    them while yielding) per mapped GiB, 4K and 2M backed, and the worst
 *    wake-up delay of a probe thread that sleeps 1 ms at a time on the
 *    same CPU meanwhile (target: <= 5 ms), against the same probe with
 *    nothing else running.
 *
 * One warm-up round, then the median of ROUNDS. Asserts nothing about speed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define MB	(1024UL * 1024)
#define GPA	MKVM_TEST_GPA
#define ROUNDS	5

#define FAULT_SIZE	(64 * MB)

struct toucher {
	struct mkvm_vcpu_ctx vcpu;
	uint64_t gpa, len;
	pthread_barrier_t *go;
};

static void *touch(void *p)
{
	struct toucher *t = p;
	struct mkvm_guest_op op = {
		.type = MKVM_OP_TOUCH_WRITE, .gpa = t->gpa, .len = t->len, .data = 1,
	};

	pthread_barrier_wait(t->go);
	ASSERT_OK(mkvm_run_ops(&t->vcpu, &op, 1));
	ASSERT_EQ(t->vcpu.run->exit_reason, MKVM_EXIT_DONE);
	return NULL;
}

/* Pages per second: @n vCPU threads fault in FAULT_SIZE of populated memory. */
static double fault_rate(int vm, struct toucher *t, int n)
{
	pthread_barrier_t go;
	pthread_t th[4];
	double t0, el;
	int i;

	ASSERT_OK(ioctl(vm, MKVM_INVALIDATE_ROOTS, 0));
	pthread_barrier_init(&go, NULL, n + 1);
	for (i = 0; i < n; i++) {
		t[i].gpa = GPA + i * (FAULT_SIZE / n);
		t[i].len = FAULT_SIZE / n;
		t[i].go = &go;
		ASSERT_EQ(pthread_create(&th[i], NULL, touch, &t[i]), 0);
	}
	pthread_barrier_wait(&go);
	t0 = mkvm_now();
	for (i = 0; i < n; i++)
		ASSERT_EQ(pthread_join(th[i], NULL), 0);
	el = mkvm_now() - t0;
	pthread_barrier_destroy(&go);
	return FAULT_SIZE / PAGE_SIZE / el;
}

TEST_T(fault_in_by_vcpu_threads, 600)
{
	char *mem = mkvm_map_2m_aligned(FAULT_SIZE, MADV_NOHUGEPAGE);
	int vm = mkvm_vm_create(), threads[] = { 1, 2, 4 };
	struct toucher t[4];
	double rate[3], v[ROUNDS];
	size_t off;
	int i, k;

	for (off = 0; off < FAULT_SIZE; off += PAGE_SIZE)
		mem[off] = 1;	/* populated: the host pages exist */
	ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA, FAULT_SIZE, mem));
	for (i = 0; i < 4; i++)
		mkvm_vcpu_open(vm, i, &t[i].vcpu);
	printf("# %ld CPUs online\n", sysconf(_SC_NPROCESSORS_ONLN));
	for (k = 0; k < 3; k++) {
		fault_rate(vm, t, threads[k]);	/* warm-up */
		for (i = 0; i < ROUNDS; i++)
			v[i] = fault_rate(vm, t, threads[k]);
		rate[k] = mkvm_median(v, ROUNDS);
		printf("# populated 4K fault-in, %d vCPU thread(s): %.0f pages/s, ratio to 1 thread %.2f (spread %.0f-%.0f)\n",
		       threads[k], rate[k], rate[k] / rate[0], v[0], v[ROUNDS - 1]);
	}
	for (i = 0; i < 4; i++) {
		munmap(t[i].vcpu.run, PAGE_SIZE);
		close(t[i].vcpu.fd);
	}
	close(vm);
	munmap(mem, FAULT_SIZE);
}

#define TEARDOWN_SIZE	(256 * MB)

/* Seconds to close a VM with TEARDOWN_SIZE mapped; *@worst: probe's worst delay. */
static double teardown(int thp, double *worst)
{
	char *mem = mkvm_map_2m_aligned(TEARDOWN_SIZE, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	struct mkvm_guest_op op = {
		.type = MKVM_OP_TOUCH_WRITE, .gpa = GPA, .len = TEARDOWN_SIZE, .data = 1,
	};
	struct mkvm_probe pr;
	struct mkvm_vcpu_ctx vcpu;
	int vm = mkvm_vm_create();
	double t0, el;

	ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA, TEARDOWN_SIZE, mem));
	mkvm_vcpu_open(vm, 0, &vcpu);
	ASSERT_OK(mkvm_run_ops(&vcpu, &op, 1));
	munmap(vcpu.run, PAGE_SIZE);
	close(vcpu.fd);
	mkvm_probe_start(&pr, 0);
	usleep(20000);
	pr.worst = 0;
	t0 = mkvm_now();
	close(vm);	/* the last fd: destroy runs here, in close() */
	el = mkvm_now() - t0;
	usleep(5000);
	*worst = mkvm_probe_stop(&pr);
	munmap(mem, TEARDOWN_SIZE);
	return el;
}

/* The probe's worst delay over @secs with nothing else on its CPU. */
static double idle_probe(double secs)
{
	struct mkvm_probe pr;

	mkvm_probe_start(&pr, 0);
	usleep(secs * 1e6);
	return mkvm_probe_stop(&pr);
}

static void teardown_report(const char *name, int thp)
{
	double t[ROUNDS], w[ROUNDS], worst = 0, el;
	int i;

	teardown(thp, &worst);	/* warm-up */
	for (i = 0; i < ROUNDS; i++) {
		t[i] = teardown(thp, &w[i]);
		if (w[i] > worst)
			worst = w[i];
	}
	el = mkvm_median(t, ROUNDS);
	printf("# teardown, %s backed: %.3f s per mapped GiB (median of %d, %lu MiB each); probe's worst wake-up delay %.2f ms (median %.2f ms; idle baseline %.2f ms)\n",
	       name, el * 1024 * MB / TEARDOWN_SIZE, ROUNDS, TEARDOWN_SIZE / MB,
	       worst * 1e3, mkvm_median(w, ROUNDS) * 1e3, idle_probe(el > 0.2 ? el : 0.2) * 1e3);
}

/* The closing thread shares CPU 0 with the probe: only yielding lets it run. */
TEST_T(teardown_per_gib_and_wakeup_delay, 900)
{
	mkvm_pin_to_cpu(0);
	teardown_report("4K", 0);
	teardown_report("THP", 1);
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
