// SPDX-License-Identifier: GPL-2.0
/*
 * Which kernel path asks the young callbacks differs by kernel:
 *
 * - 6.1: MADV_PAGEOUT runs reclaim over the range, which checks references
 *   (folio_referenced(), clear_flush_young) before it tries to swap. The
 *   guests have no swap, so the pages stay.
 * - 6.9 on: MADV_PAGEOUT ignores references, and without swap reclaim does
 *   not scan anonymous memory at all. Debian's 6.12 and 7.x build DAMON in:
 *   a kdamond monitoring physical addresses makes the sampled page of each
 *   region old every millisecond (clear_young, through the rmap), and then
 *   asks whether it was accessed: by the PTE and the page's idle flag
 *   first, so test_young is asked only when those say no, and 6.12 skips
 *   re-checking a page it checked last. Make-old is what is counted on.
 *   One region per page of the range (min and max number of regions set
 *   to that, so that DAMON never merges them).
 *
 * Both only look at pages on an LRU list, and madvise() drains only the
 * local CPU's LRU-add batch: a page just faulted in on another CPU is
 * invisible to them. So the batches of every CPU are flushed first, by
 * faulting in fresh pages on each.
 *
 * A test that fails in the middle leaves the kdamond running (and
 * DAMON_STAT off) until the next start, which stops it first.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aging.h"
#include "mkvm_util.h"
#include "tap.h"

#define DAMON_ADMIN	"/sys/kernel/mm/damon/admin/kdamonds"
#define DAMON_CTX	DAMON_ADMIN "/0/contexts/0"
/* Debian 7.x runs DAMON_STAT over all memory by default: it would age too. */
#define DAMON_STAT	"/sys/module/damon_stat/parameters/enabled"

static enum mkvm_ager ager;
static void *age_mem;
static size_t age_size;
static bool damon_stat_was_on;
static pthread_t pageout_thread;
static bool pageout_running;
static atomic_bool pageout_stop;

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n = -1;

	if (fd >= 0) {
		n = write(fd, val, strlen(val));
		close(fd);
	}
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static int write_ulong(const char *path, unsigned long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", val);
	return write_file(path, buf);
}

static void flush_lru_add_batches(void)
{
	long cpu, cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const size_t size = 128 * PAGE_SIZE;
	cpu_set_t all, one;
	size_t off;

	ASSERT_OK(sched_getaffinity(0, sizeof(all), &all));
	for (cpu = 0; cpu < cpus; cpu++) {
		char *p;

		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			continue;
		p = mkvm_map_anon(size);
		for (off = 0; off < size; off += PAGE_SIZE)
			p[off] = 1;
		munmap(p, size);
	}
	ASSERT_OK(sched_setaffinity(0, sizeof(all), &all));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The physical address of each page, from /proc/self/pagemap (root only). */
static uint64_t *phys_pages(void *mem, size_t npages)
{
	uint64_t *phys = calloc(npages, sizeof(*phys));
	int fd = open("/proc/self/pagemap", O_RDONLY);
	size_t i;

	ASSERT_TRUE(phys);
	ASSERT_OK(fd);
	for (i = 0; i < npages; i++) {
		uintptr_t va = (uintptr_t)mem + i * PAGE_SIZE;
		uint64_t e;

		ASSERT_EQ(pread(fd, &e, sizeof(e), va / PAGE_SIZE * sizeof(e)),
			  (ssize_t)sizeof(e));
		if (!(e & (1ULL << 63)) || !(e & ((1ULL << 55) - 1)))
			tap_fail(__FILE__, __LINE__, "page %zu: not present, or no pfn", i);
		phys[i] = (e & ((1ULL << 55) - 1)) * PAGE_SIZE;
	}
	close(fd);
	qsort(phys, npages, sizeof(*phys), cmp_u64);
	return phys;
}

static void damon_stat_set(bool on)
{
	write_file(DAMON_STAT, on ? "Y" : "N");
}

static bool damon_stat_on(void)
{
	char c = 0;
	int fd = open(DAMON_STAT, O_RDONLY);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y';
}

/*
 * 0 if a kdamond now samples each page of the range; -1 if this kernel has
 * no DAMON. A kernel that has it but refuses the setup fails the test.
 */
static int damon_start(void *mem, size_t size)
{
	size_t i, npages = size / PAGE_SIZE;
	unsigned long nr_regions = npages < 3 ? 3 : npages;	/* DAMON's minimum */
	uint64_t *phys;
	char path[256];

	if (access(DAMON_ADMIN "/nr_kdamonds", W_OK))
		return -1;
	/* A kdamond left running by a failed test refuses reconfiguration. */
	write_file(DAMON_ADMIN "/0/state", "off");
	if (write_file(DAMON_ADMIN "/nr_kdamonds", "1") ||
	    write_file(DAMON_ADMIN "/0/contexts/nr_contexts", "1"))
		tap_fail(__FILE__, __LINE__, "DAMON: cannot create a kdamond: %s",
			 strerror(errno));
	if (write_file(DAMON_CTX "/operations", "paddr"))
		return -1;	/* built without physical-address monitoring */

	damon_stat_was_on = damon_stat_on();
	if (damon_stat_was_on)
		damon_stat_set(false);
	phys = phys_pages(mem, npages);
	ASSERT_OK(write_file(DAMON_CTX "/monitoring_attrs/intervals/sample_us", "1000"));
	ASSERT_OK(write_file(DAMON_CTX "/monitoring_attrs/intervals/aggr_us", "20000"));
	ASSERT_OK(write_file(DAMON_CTX "/monitoring_attrs/intervals/update_us", "1000000"));
	ASSERT_OK(write_ulong(DAMON_CTX "/monitoring_attrs/nr_regions/max", nr_regions));
	ASSERT_OK(write_ulong(DAMON_CTX "/monitoring_attrs/nr_regions/min", nr_regions));
	ASSERT_OK(write_file(DAMON_CTX "/targets/nr_targets", "1"));
	ASSERT_OK(write_ulong(DAMON_CTX "/targets/0/regions/nr_regions", npages));
	for (i = 0; i < npages; i++) {
		snprintf(path, sizeof(path), DAMON_CTX "/targets/0/regions/%zu/start", i);
		ASSERT_OK(write_ulong(path, phys[i]));
		snprintf(path, sizeof(path), DAMON_CTX "/targets/0/regions/%zu/end", i);
		ASSERT_OK(write_ulong(path, phys[i] + PAGE_SIZE));
	}
	free(phys);
	if (write_file(DAMON_ADMIN "/0/state", "on"))
		tap_fail(__FILE__, __LINE__, "DAMON: kdamond did not start: %s", strerror(errno));
	return 0;
}

static void *pageout_loop(void *unused __attribute__((unused)))
{
	while (!atomic_load(&pageout_stop))
		madvise(age_mem, age_size, MADV_PAGEOUT);
	return NULL;
}

static enum mkvm_ager ager_start(void *mem, size_t size, bool background)
{
	ASSERT_EQ(ager, MKVM_AGER_NONE);
	age_mem = mem;
	age_size = size;
	flush_lru_add_batches();
	if (!damon_start(mem, size))
		return ager = MKVM_AGER_DAMON;
	ager = MKVM_AGER_PAGEOUT;
	if (background) {
		atomic_store(&pageout_stop, false);
		ASSERT_EQ(pthread_create(&pageout_thread, NULL, pageout_loop, NULL), 0);
		pageout_running = true;
	}
	return ager;
}

enum mkvm_ager mkvm_ager_start(void *mem, size_t size)
{
	return ager_start(mem, size, false);
}

enum mkvm_ager mkvm_ager_start_background(void *mem, size_t size)
{
	return ager_start(mem, size, true);
}

bool mkvm_age(void)
{
	long calls = mkvm_vm_stat("age_calls");
	int ms;

	if (ager == MKVM_AGER_PAGEOUT) {
		ASSERT_OK(madvise(age_mem, age_size, MADV_PAGEOUT));
		return mkvm_vm_stat("age_calls") > calls;
	}
	ASSERT_EQ(ager, MKVM_AGER_DAMON);
	/*
	 * Every millisecond a make-old, sometimes a check in between. Of the
	 * next three calls counted, the last two began after this snapshot,
	 * and at least one of those is a make-old.
	 */
	for (ms = 0; ms < 5000; ms++) {
		if (mkvm_vm_stat("age_calls") >= calls + 3)
			return true;
		usleep(1000);
	}
	return false;
}

void mkvm_ager_stop(void)
{
	if (ager == MKVM_AGER_DAMON) {
		ASSERT_OK(write_file(DAMON_ADMIN "/0/state", "off"));
		if (damon_stat_was_on)
			damon_stat_set(true);
	} else if (ager == MKVM_AGER_PAGEOUT && pageout_running) {
		atomic_store(&pageout_stop, true);
		ASSERT_EQ(pthread_join(pageout_thread, NULL), 0);
		pageout_running = false;
	}
	ager = MKVM_AGER_NONE;
}

void mkvm_ager_unavailable(enum mkvm_ager kind)
{
	mkvm_ager_stop();
	/* Every harness kernel has one of them: 6.1 MADV_PAGEOUT, or DAMON. */
	if (mkvm_required())
		tap_fail(__FILE__, __LINE__, "%s does not reach the young callbacks",
			 mkvm_ager_name(kind));
	tap_skip("%s does not reach the young callbacks on this kernel",
		 mkvm_ager_name(kind));
}

const char *mkvm_ager_name(enum mkvm_ager kind)
{
	static const char * const names[] = {
		[MKVM_AGER_NONE] = "none",
		[MKVM_AGER_PAGEOUT] = "MADV_PAGEOUT",
		[MKVM_AGER_DAMON] = "DAMON",
	};

	return names[kind];
}
