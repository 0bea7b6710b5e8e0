// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark: the pfn caches. Everything is measured in this run, after a
 * warm-up, as the median of ROUNDS rounds; it prints numbers and ratios
 * and asserts nothing about speed.
 *   - a checked read through a valid cache (MKVM_GPC_READ), next to a
 *     bare VM ioctl (MKVM_CHECK_EXTENSION): what the check and the read
 *     add to a syscall;
 *   - a refresh (MKVM_GPC_ACTIVATE, which always maps afresh), next to
 *     that checked read;
 *   - refreshes while another thread unmaps and maps an unrelated page
 *     in a loop: the share that had to retry and the time per refresh,
 *     with the per-VM-sequence-only check (gpc_range_aware=0) and with
 *     the range-aware one (=1), switched through the module parameter.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define ROUNDS		5
#define READS		20000
#define REFRESHES	2000
#define RANGE_AWARE	"/sys/module/mkvm/parameters/gpc_range_aware"

struct bench {
	int vm;
	char *page;
};

static void activate(struct bench *b)
{
	struct mkvm_gpc_activate a = {
		.id = 0, .flags = MKVM_GPC_HVA, .addr = (uintptr_t)b->page, .len = 8,
	};

	ASSERT_OK(ioctl(b->vm, MKVM_GPC_ACTIVATE, &a));
}

/* Nanoseconds per call of @fn, the median of ROUNDS rounds of @n calls. */
static double median_ns(void (*fn)(struct bench *), struct bench *b, int n)
{
	double v[ROUNDS], t0;
	int r, i;

	for (i = 0; i < n; i++)	/* warm-up */
		fn(b);
	for (r = 0; r < ROUNDS; r++) {
		t0 = mkvm_now();
		for (i = 0; i < n; i++)
			fn(b);
		v[r] = (mkvm_now() - t0) * 1e9 / n;
	}
	return mkvm_median(v, ROUNDS);
}

static void bare_ioctl(struct bench *b)
{
	ASSERT_TRUE(ioctl(b->vm, MKVM_CHECK_EXTENSION, MKVM_CAP_NR_GPCS) > 0);
}

static void checked_read(struct bench *b)
{
	struct mkvm_gpc_access a = { .id = 0 };

	ASSERT_OK(ioctl(b->vm, MKVM_GPC_READ, &a));
}

static void setup(struct bench *b)
{
	b->vm = mkvm_vm_create();
	b->page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(b->page != MAP_FAILED);
	b->page[0] = 1;
	activate(b);
}

TEST_T(gpc_checked_read_and_refresh, 600)
{
	struct bench b;
	double bare, read, refresh;

	setup(&b);
	bare = median_ns(bare_ioctl, &b, READS);
	read = median_ns(checked_read, &b, READS);
	refresh = median_ns(activate, &b, REFRESHES);
	printf("# bare VM ioctl %.0f ns, checked read through a valid cache %.0f ns (ratio %.2f)\n",
	       bare, read, read / bare);
	printf("# refresh (activate) %.0f ns, ratio refresh/checked read %.1f\n",
	       refresh, refresh / read);
}

struct churn {
	char *elsewhere;
	volatile int stop;
};

/* Unrelated to the cache: another page of the process, unmapped and mapped. */
static void *churn(void *p)
{
	struct churn *c = p;

	while (!c->stop) {
		ASSERT_OK(munmap(c->elsewhere, PAGE_SIZE));
		ASSERT_TRUE(mmap(c->elsewhere, PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
			    c->elsewhere);
		c->elsewhere[0] = 1;
	}
	return NULL;
}

static int set_range_aware(int on)
{
	int fd = open(RANGE_AWARE, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, on ? "Y" : "N", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/* Median ns per refresh under churn, and the retries per refresh. */
static void under_churn(struct bench *b, int range_aware, double *ns, double *retried)
{
	long refreshes, retries;

	ASSERT_OK(set_range_aware(range_aware));
	refreshes = mkvm_vm_stat("gpc_refreshes");
	retries = mkvm_vm_stat("gpc_retries");
	*ns = median_ns(activate, b, REFRESHES);
	refreshes = mkvm_vm_stat("gpc_refreshes") - refreshes;
	retries = mkvm_vm_stat("gpc_retries") - retries;
	*retried = (double)retries / refreshes;
}

TEST_T(gpc_refresh_under_unrelated_churn, 600)
{
	struct churn c = { 0 };
	double ns_seq, ns_range, re_seq, re_range;
	struct bench b;
	pthread_t th;

	if (access(RANGE_AWARE, W_OK))
		mkvm_missing("the gpc_range_aware parameter", RANGE_AWARE);
	setup(&b);
	c.elsewhere = mkvm_map_anon(PAGE_SIZE);
	ASSERT_EQ(pthread_create(&th, NULL, churn, &c), 0);
	under_churn(&b, 0, &ns_seq, &re_seq);
	under_churn(&b, 1, &ns_range, &re_range);
	c.stop = 1;
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_OK(set_range_aware(1));
	printf("# refresh under unrelated munmap/mmap churn: sequence only %.0f ns, %.3f retries per refresh; range aware %.0f ns, %.3f retries per refresh; time ratio range/sequence %.2f\n",
	       ns_seq, re_seq, ns_range, re_range, ns_range / ns_seq);
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
