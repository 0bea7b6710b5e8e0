// SPDX-License-Identifier: GPL-2.0
/*
 * gfn-to-pfn caches (MKVM_GPC_*): the kernel's reads and writes through a
 * cache follow every change to the process's memory and to the memslots,
 * for caches keyed by guest-physical address and by host address,
 * including one outside every memslot; bad input; seed 004's race,
 * reproduced with delay hooks against the three checks of its thread; and
 * the clock page, a timer writing through a cache in softirq context.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/hooks.h"
#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define GPA	MKVM_TEST_GPA

static int gpc_activate(int vm, uint32_t id, uint32_t flags, uint64_t addr, uint64_t len)
{
	struct mkvm_gpc_activate a = { .id = id, .flags = flags, .addr = addr, .len = len };

	return ioctl(vm, MKVM_GPC_ACTIVATE, &a);
}

static int gpc_access(int vm, unsigned long ioctl_nr, uint32_t id, uint32_t flags,
		      uint64_t offset, uint64_t *data)
{
	struct mkvm_gpc_access a = { .id = id, .flags = flags, .offset = offset,
				     .data = data ? *data : 0 };
	int r = ioctl(vm, ioctl_nr, &a);

	if (!r && data)
		*data = a.data;
	return r;
}

/* A read through cache @id that must succeed. */
static uint64_t gpc_read(int vm, uint32_t id, uint64_t offset)
{
	uint64_t v = 0;

	ASSERT_OK(gpc_access(vm, MKVM_GPC_READ, id, 0, offset, &v));
	return v;
}

static void gpc_write(int vm, uint32_t id, uint64_t offset, uint64_t v)
{
	ASSERT_OK(gpc_access(vm, MKVM_GPC_WRITE, id, 0, offset, &v));
}

static char *map_page_at(void *addr, uint64_t fill)
{
	char *p = mmap(addr, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (addr ? MAP_FIXED : 0), -1, 0);

	ASSERT_TRUE(p != MAP_FAILED);
	*(volatile uint64_t *)p = fill;
	return p;
}

/*
 * A cache keyed by a host address outside every memslot: coherent both
 * ways; after munmap it is invalid at once (a no-refresh read says so)
 * and the kernel never reads the old page again: with nothing mapped the
 * refresh fails, with a new mapping it maps that one; MADV_DONTNEED
 * gives the zero page's successor.
 */
TEST(gpc_hva_outside_slots_follows_the_process)
{
	struct mkvm_guest g;
	char *page;
	uint64_t v = 0;

	mkvm_guest_init(&g, NULL, 4 * PAGE_SIZE, 0);
	page = map_page_at(NULL, 0x1111);
	ASSERT_OK(gpc_activate(g.vm, 0, MKVM_GPC_HVA, (uintptr_t)page, 64));
	ASSERT_EQ(gpc_read(g.vm, 0, 0), 0x1111);
	gpc_write(g.vm, 0, 8, 0x2222);
	ASSERT_EQ(*(uint64_t *)(page + 8), 0x2222);

	ASSERT_OK(munmap(page, PAGE_SIZE));
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 0, MKVM_GPC_NO_REFRESH, 0, &v), EAGAIN);
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 0, 0, 0, &v), EFAULT);
	map_page_at(page, 0x3333);
	ASSERT_EQ(gpc_read(g.vm, 0, 0), 0x3333);
	ASSERT_EQ(gpc_read(g.vm, 0, 8), 0);

	ASSERT_OK(madvise(page, PAGE_SIZE, MADV_DONTNEED));
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 0, MKVM_GPC_NO_REFRESH, 0, &v), EAGAIN);
	ASSERT_EQ(gpc_read(g.vm, 0, 0), 0);
	gpc_write(g.vm, 0, 0, 0x4444);
	ASSERT_EQ(*(uint64_t *)page, 0x4444);
	ASSERT_TRUE(mkvm_vm_stat("gpc_refreshes") >= 3);
}

/*
 * A cache keyed by guest-physical address follows the memslots: a moved
 * slot takes the GPA away (EFAULT), moving it back restores it, a deleted
 * slot takes it for good, and a new slot at the GPA with other memory
 * gives that memory.
 */
TEST(gpc_gpa_follows_memslots)
{
	struct mkvm_guest g;
	char *other = mkvm_map_anon(2 * PAGE_SIZE);
	uint64_t v = 0;

	mkvm_guest_init(&g, NULL, 2 * PAGE_SIZE, 0);
	*(uint64_t *)(g.mem + PAGE_SIZE + 16) = 0x51;
	ASSERT_OK(gpc_activate(g.vm, 1, 0, GPA + PAGE_SIZE + 16, 16));
	ASSERT_EQ(gpc_read(g.vm, 1, 0), 0x51);
	gpc_write(g.vm, 1, 8, 0x52);
	ASSERT_EQ(*(uint64_t *)(g.mem + PAGE_SIZE + 24), 0x52);
	/* The guest sees the kernel's write, and the kernel the guest's. */
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + PAGE_SIZE + 24, 8), 0x52);
	mkvm_guest_write(&g.vcpu, GPA + PAGE_SIZE + 16, 8, 0x53);
	ASSERT_EQ(gpc_read(g.vm, 1, 0), 0x53);

	ASSERT_OK(mkvm_set_region(g.vm, 0, 0, 2 * GPA, 2 * PAGE_SIZE, g.mem));
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 1, MKVM_GPC_NO_REFRESH, 0, &v), EAGAIN);
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 1, 0, 0, &v), EFAULT);
	ASSERT_OK(mkvm_set_region(g.vm, 0, 0, GPA, 2 * PAGE_SIZE, g.mem));
	ASSERT_EQ(gpc_read(g.vm, 1, 0), 0x53);

	ASSERT_OK(mkvm_set_region(g.vm, 0, 0, 0, 0, NULL));
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 1, 0, 0, &v), EFAULT);
	*(uint64_t *)(other + PAGE_SIZE + 16) = 0x54;
	ASSERT_OK(mkvm_set_region(g.vm, 3, 0, GPA, 2 * PAGE_SIZE, other));
	ASSERT_EQ(gpc_read(g.vm, 1, 0), 0x54);
	ASSERT_OK(ioctl(g.vm, MKVM_GPC_DEACTIVATE, 1));
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 1, 0, 0, &v), ENOENT);
}

/*
 * fork shares the page copy-on-write; the parent's next write gets a copy,
 * and the cache must follow the parent's copy, never keep the page the
 * child now owns.
 */
TEST(gpc_follows_fork_cow)
{
	struct mkvm_guest g;
	int pipefd[2], status;
	pid_t pid;
	char c;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	*(uint64_t *)g.mem = 1;
	ASSERT_OK(gpc_activate(g.vm, 0, 0, GPA, 8));
	ASSERT_EQ(gpc_read(g.vm, 0, 0), 1);
	ASSERT_OK(pipe(pipefd));
	pid = ASSERT_OK(fork());
	if (!pid) {
		ASSERT_EQ(read(pipefd[0], &c, 1), 1);
		_exit(*(uint64_t *)g.mem == 1 ? 0 : 1);
	}
	*(volatile uint64_t *)g.mem = 2;	/* breaks COW: the parent's copy */
	ASSERT_EQ(gpc_read(g.vm, 0, 0), 2);
	gpc_write(g.vm, 0, 0, 3);
	ASSERT_EQ(*(uint64_t *)g.mem, 3);
	ASSERT_EQ(write(pipefd[1], "x", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* memfd: a punched hole reads as zero through the cache; mremap takes the key away. */
TEST(gpc_follows_punch_hole_and_mremap)
{
	int fd = ASSERT_OK(memfd_create("mkvm-gpc", MFD_CLOEXEC));
	char *mem, *target;
	struct mkvm_guest g;
	uint64_t v = 0;

	ASSERT_OK(ftruncate(fd, 2 * PAGE_SIZE));
	mem = mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(mem != MAP_FAILED);
	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	*(uint64_t *)mem = 7;
	ASSERT_OK(gpc_activate(g.vm, 2, MKVM_GPC_HVA, (uintptr_t)mem, 8));
	ASSERT_EQ(gpc_read(g.vm, 2, 0), 7);
	ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE));
	ASSERT_EQ(gpc_read(g.vm, 2, 0), 0);
	gpc_write(g.vm, 2, 0, 8);
	ASSERT_EQ(*(uint64_t *)mem, 8);

	target = mmap(NULL, 2 * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(mremap(mem, 2 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
			   target) == target);
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 2, 0, 0, &v), EFAULT);
	ASSERT_EQ(*(uint64_t *)target, 8);
	close(fd);
}

/* Malformed requests get their documented errno and change nothing. */
TEST(gpc_bad_input)
{
	struct mkvm_guest g;
	char *page = map_page_at(NULL, 5);
	uintptr_t hva = (uintptr_t)page;
	uint64_t v = 0;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	ASSERT_TRUE(ioctl(g.vm, MKVM_CHECK_EXTENSION, MKVM_CAP_NR_GPCS) == 8);
	ASSERT_ERRNO(gpc_activate(g.vm, 8, MKVM_GPC_HVA, hva, 8), EINVAL);
	ASSERT_ERRNO(gpc_activate(g.vm, 0, 2, hva, 8), EINVAL);
	ASSERT_ERRNO(gpc_activate(g.vm, 0, MKVM_GPC_HVA, hva, 0), EINVAL);
	ASSERT_ERRNO(gpc_activate(g.vm, 0, MKVM_GPC_HVA, hva + 4, 8), EINVAL);
	ASSERT_ERRNO(gpc_activate(g.vm, 0, MKVM_GPC_HVA, hva, 12), EINVAL);
	ASSERT_ERRNO(gpc_activate(g.vm, 0, MKVM_GPC_HVA, hva + PAGE_SIZE - 8, 16), EINVAL);
	ASSERT_ERRNO(gpc_activate(g.vm, 0, MKVM_GPC_HVA, hva, PAGE_SIZE + 8), EINVAL);
	ASSERT_ERRNO(gpc_activate(g.vm, 0, 0, 1ULL << 48, 8), EINVAL);
	ASSERT_ERRNO(gpc_activate(g.vm, 0, 0, -8ULL, 8), EINVAL);
	ASSERT_ERRNO(gpc_activate(g.vm, 0, MKVM_GPC_HVA, -PAGE_SIZE, 8), EFAULT);
	/* Nothing to map: no slot at the GPA, nothing at the address. */
	ASSERT_ERRNO(gpc_activate(g.vm, 0, 0, 2 * GPA, 8), EFAULT);
	ASSERT_OK(munmap(page, PAGE_SIZE));
	ASSERT_ERRNO(gpc_activate(g.vm, 0, MKVM_GPC_HVA, hva, 8), EFAULT);
	/* ... and the failed activation left the cache inactive. */
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 0, 0, 0, &v), ENOENT);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_GPC_DEACTIVATE, 0), ENOENT);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_GPC_DEACTIVATE, 8), EINVAL);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_GPC_DEACTIVATE, 5), ENOENT);

	ASSERT_OK(gpc_activate(g.vm, 0, 0, GPA, 16));
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 0, 0, 16, &v), EINVAL);
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 0, 0, 4, &v), EINVAL);
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 0, 4, 0, &v), EINVAL);
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 9, 0, 0, &v), EINVAL);
	ASSERT_ERRNO(gpc_access(g.vm, MKVM_GPC_READ, 4, 0, 0, &v), ENOENT);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_GPC_READ, NULL), EFAULT);
	ASSERT_EQ(gpc_read(g.vm, 0, 8), 0);
}

struct refresher {
	int vm;
	uintptr_t hva;
	int r, err;
	volatile int go, done;
};

static void on_signal(int sig)
{
	(void)sig;
}

static void *activate_hva(void *p)
{
	struct refresher *t = p;

	while (!t->go)
		usleep(100);
	t->r = gpc_activate(t->vm, 0, MKVM_GPC_HVA, t->hva, 8);
	t->err = errno;
	t->done = 1;
	return NULL;
}

struct dontneed {
	char *page;
};

static void *dontneed_parked(void *p)
{
	struct dontneed *d = p;

	/* Parks this invalidation just after its start: counted, page still there. */
	hook_arm_times("invalidate_started", 3000, 1);
	ASSERT_OK(madvise(d->page, PAGE_SIZE, MADV_DONTNEED));
	return NULL;
}

/*
 * Seed 004, with the interleaving its reviewer gave for the posted patch.
 * A cache keyed by a host address outside every memslot:
 *   1. MADV_DONTNEED of the page starts and parks (count raised, page
 *      still mapped);
 *   2. the cache is activated: its refresh resolves the old page and
 *      parks with gpc->lock dropped, for longer;
 *   3. the invalidation finishes: the page is freed, the count drops;
 *   4. the refresh relocks: nothing is in flight.
 * Only a sequence bumped in invalidate_range_end, snapshotted and compared
 * as one counter, tells it to retry. Then the kernel's read through the
 * cache must see the fresh page, and what the process writes next.
 * KVM's check (mmu_invalidate_seq, no slot hit: MKVM_REVERT=SEED_004) and
 * the posted patch's (a per-cache sequence bumped at start, before the
 * cache was keyed: SEED_004_START) publish the freed page; the reviewer's
 * diff as posted (SEED_004_MIXED) compares two unrelated counters and
 * retries for as long as they differ. Both are caught here.
 */
#define RANGE_AWARE	"/sys/module/mkvm/parameters/gpc_range_aware"

/* The module's gpc_range_aware parameter; false if it cannot be set. */
static bool set_range_aware(int on)
{
	int fd = open(RANGE_AWARE, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, on ? "Y" : "N", 1) == 1;
	close(fd);
	return ok;
}

static void seed004_scenario(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct refresher t = { 0 };
	struct dontneed d;
	struct mkvm_guest g;
	pthread_t inv, ref;
	long retries;
	uint64_t v = 0;
	int i;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	d.page = map_page_at(NULL, 0xdeadbeef);
	t.vm = g.vm;
	t.hva = (uintptr_t)d.page;
	ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
	/* Disarmed, counts at zero; reading them warms stdio (no COW of ours later). */
	hook_arm("invalidate_started", 0);
	hook_arm("gpc_refresh_unlocked", 0);
	hook_hits("invalidate_started");
	hook_hits("gpc_refresh_unlocked");
	retries = mkvm_vm_stat("gpc_retries");

	/*
	 * Both threads exist before anything parks: creating one mprotects
	 * its stack guard, which needs mmap_lock for write and would wait for
	 * the parked MADV_DONTNEED to finish.
	 */
	ASSERT_EQ(pthread_create(&ref, NULL, activate_hva, &t), 0);
	ASSERT_EQ(pthread_create(&inv, NULL, dontneed_parked, &d), 0);
	ASSERT_TRUE(hook_wait("invalidate_started", 1, 5000));
	hook_arm_times("gpc_refresh_unlocked", 5000, 1);
	t.go = 1;
	ASSERT_TRUE(hook_wait("gpc_refresh_unlocked", 1, 5000));
	/* The refresh took its snapshot while the invalidation was parked. */
	if (pthread_tryjoin_np(inv, NULL) != EBUSY)
		tap_fail(__FILE__, __LINE__, "missed the window: the invalidation ended first");
	/* Both parked: the invalidation ends first, the refresh after it. */
	ASSERT_EQ(pthread_join(inv, NULL), 0);
	for (i = 0; i < 5000 && !t.done; i++)
		usleep(1000);
	if (!t.done) {
		pthread_kill(ref, SIGUSR1);
		ASSERT_EQ(pthread_join(ref, NULL), 0);
		tap_fail(__FILE__, __LINE__,
			 "pfn cache refresh retried for 5 s after the invalidation ended (%ld retries): it compares counters that never agree",
			 mkvm_vm_stat("gpc_retries") - retries);
	}
	ASSERT_EQ(pthread_join(ref, NULL), 0);
	errno = t.err;
	ASSERT_OK(t.r);

	v = gpc_read(g.vm, 0, 0);
	*(volatile uint64_t *)d.page = 0x600d;
	if (v != 0 || gpc_read(g.vm, 0, 0) != 0x600d)
		tap_fail(__FILE__, __LINE__,
			 "pfn cache kept a page the host freed: read 0x%llx, then not the process's write",
			 (unsigned long long)v);
	/* The window was hit: the refresh threw one page away. */
	ASSERT_TRUE(mkvm_vm_stat("gpc_retries") > retries);
}

/* With the range-aware check (the default). */
TEST_T(seed004_refresh_vs_invalidation_outside_slots, 60)
{
	if (!set_range_aware(1))
		mkvm_missing("the gpc_range_aware parameter", RANGE_AWARE);
	seed004_scenario();
}

/* With the per-VM sequence alone (gpc_range_aware=N), as KVM would have it. */
TEST_T(seed004_refresh_vs_invalidation_sequence_only, 60)
{
	/* A release build SKIPs here, not with the parameter left off. */
	hook_arm("invalidate_started", 0);
	if (!set_range_aware(0))
		mkvm_missing("the gpc_range_aware parameter", RANGE_AWARE);
	seed004_scenario();
	ASSERT_TRUE(set_range_aware(1));
}

struct churn {
	char *page;
	volatile int stop;
	volatile long rounds;
};

/* Replace the page over and over, each generation with its own value. */
static void *churn_page(void *p)
{
	struct churn *c = p;

	while (!c->stop) {
		c->rounds++;
		ASSERT_OK(munmap(c->page, PAGE_SIZE));
		map_page_at(c->page, 1000 + c->rounds);
		if (c->rounds % 3 == 0)
			ASSERT_OK(madvise(c->page, PAGE_SIZE, MADV_DONTNEED));
	}
	return NULL;
}

/*
 * Stress, bounded to 2 s: the kernel reads through an HVA cache while
 * another thread replaces the page; every read is 0 (a moment with no
 * page or after DONTNEED), a value some generation wrote, or EFAULT,
 * never anything else.
 */
TEST_T(gpc_stress_reads_vs_page_replacement, 60)
{
	struct churn c = { 0 };
	struct mkvm_guest g;
	long reads = 0, gone = 0;
	struct timespec t0, t;
	pthread_t th;
	uint64_t v = 0;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	c.page = map_page_at(NULL, 1000);
	ASSERT_OK(gpc_activate(g.vm, 0, MKVM_GPC_HVA, (uintptr_t)c.page, 8));
	ASSERT_EQ(pthread_create(&th, NULL, churn_page, &c), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (gpc_access(g.vm, MKVM_GPC_READ, 0, 0, 0, &v)) {
			ASSERT_EQ(errno, EFAULT);
			gone++;
		} else {
			ASSERT_TRUE(v == 0 || (v >= 1000 && v <= 1000 + (uint64_t)c.rounds + 1));
			reads++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 2);
	c.stop = 1;
	ASSERT_EQ(pthread_join(th, NULL), 0);
	printf("# %ld reads, %ld with no page, %ld replacements, %ld refreshes, %ld retries\n",
	       reads, gone, c.rounds, mkvm_vm_stat("gpc_refreshes"), mkvm_vm_stat("gpc_retries"));
	ASSERT_TRUE(reads > 0);
}

/* The clock's ticks at @p, read seqcount-style. */
static uint64_t clock_ticks(const void *p)
{
	const volatile struct mkvm_clock_page *clk = p;
	uint32_t v1, v2;
	uint64_t ticks;

	do {
		v1 = clk->version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		ticks = clk->ticks;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		v2 = clk->version;
	} while ((v1 & 1) || v1 != v2);
	return ticks;
}

/* Wait up to @ms for the ticks at @p to pass @above; returns them. */
static uint64_t clock_wait_above(const void *p, uint64_t above, int ms)
{
	uint64_t t;

	while ((t = clock_ticks(p)) <= above && ms-- > 0)
		usleep(1000);
	return t;
}

static void clock_enable(int vm, uint32_t id, uint64_t period_ns)
{
	struct mkvm_clock_enable en = { .id = id, .period_ns = period_ns };

	ASSERT_OK(ioctl(vm, MKVM_CLOCK_ENABLE, &en));
}

/*
 * The clock page through an HVA cache: the timer's ticks appear, and keep
 * coming. mremap moves the page away: the kernel never writes the moved
 * page again (its ticks stand still), and once a new page is mapped at the
 * key the ticks go on there from where the timer is, not from zero. After
 * disable nothing is written.
 */
TEST_T(clock_ticks_follow_the_page, 60)
{
	char *page = map_page_at(NULL, 0), *moved;
	char *target = mmap(NULL, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mkvm_guest g;
	uint64_t t, frozen;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	ASSERT_OK(gpc_activate(g.vm, 0, MKVM_GPC_HVA, (uintptr_t)page, 16));
	clock_enable(g.vm, 0, 1000000);
	t = clock_wait_above(page, 2, 5000);
	ASSERT_TRUE(t > 2);
	ASSERT_TRUE(clock_wait_above(page, t, 5000) > t);

	moved = mremap(page, PAGE_SIZE, PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	ASSERT_TRUE(moved == target);
	frozen = clock_ticks(moved);
	usleep(50000);
	if (clock_ticks(moved) != frozen)
		tap_fail(__FILE__, __LINE__, "the clock wrote a page after it moved away");
	/* The worker tried, and found nothing mapped. */
	for (t = 0; t < 5000 && mkvm_vm_stat("clock_refresh_failures") < 1; t++)
		usleep(1000);
	map_page_at(page, 0);
	t = clock_wait_above(page, frozen, 5000);
	ASSERT_TRUE(t > frozen);
	ASSERT_TRUE(mkvm_vm_stat("clock_deferred") > 0);
	ASSERT_TRUE(mkvm_vm_stat("clock_refresh_failures") > 0);

	ASSERT_OK(ioctl(g.vm, MKVM_CLOCK_DISABLE, 0));
	t = clock_ticks(page);
	usleep(20000);
	ASSERT_EQ(clock_ticks(page), t);
}

/*
 * The clock page through a GPA cache follows the memslots: moving the slot
 * away stops the writes into its memory; a slot with other memory at the
 * GPA gets them.
 */
TEST_T(clock_ticks_follow_the_memslots, 60)
{
	char *other = mkvm_map_anon(PAGE_SIZE);
	struct mkvm_guest g;
	uint64_t t, frozen;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	ASSERT_OK(gpc_activate(g.vm, 3, 0, GPA + 64, 16));
	clock_enable(g.vm, 3, 1000000);
	t = clock_wait_above(g.mem + 64, 1, 5000);
	ASSERT_TRUE(t > 1);
	/* The guest reads what the kernel writes. */
	ASSERT_TRUE(mkvm_guest_read(&g.vcpu, GPA + 72, 8) >= t);

	/* Once the move returns, nothing writes through the old translation. */
	ASSERT_OK(mkvm_set_region(g.vm, 0, 0, 2 * GPA, PAGE_SIZE, g.mem));
	frozen = clock_ticks(g.mem + 64);
	usleep(50000);
	if (clock_ticks(g.mem + 64) != frozen)
		tap_fail(__FILE__, __LINE__, "the clock wrote through a GPA no slot maps");
	ASSERT_OK(mkvm_set_region(g.vm, 1, 0, GPA, PAGE_SIZE, other));
	ASSERT_TRUE(clock_wait_above(other + 64, frozen, 5000) > frozen);
}

/* Clock ioctls refuse what they must. */
TEST(clock_bad_input)
{
	struct mkvm_clock_enable en = { .id = 0, .period_ns = 1000000 };
	struct mkvm_guest g;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CLOCK_ENABLE, &en), ENOENT);
	ASSERT_OK(gpc_activate(g.vm, 0, 0, GPA, 8));
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CLOCK_ENABLE, &en), EINVAL);	/* 8 bytes */
	ASSERT_OK(gpc_activate(g.vm, 0, 0, GPA, 16));
	en.period_ns = MKVM_CLOCK_MIN_PERIOD_NS - 1;
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CLOCK_ENABLE, &en), EINVAL);
	en.period_ns = MKVM_CLOCK_MAX_PERIOD_NS + 1;
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CLOCK_ENABLE, &en), EINVAL);
	en.period_ns = 1000000;
	en.flags = 1;
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CLOCK_ENABLE, &en), EINVAL);
	en.flags = 0;
	en.id = 8;
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CLOCK_ENABLE, &en), EINVAL);
	en.id = 0;
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CLOCK_DISABLE, 0), ENOENT);
	ASSERT_OK(ioctl(g.vm, MKVM_CLOCK_ENABLE, &en));
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CLOCK_ENABLE, &en), EBUSY);
	ASSERT_ERRNO(ioctl(g.vm, MKVM_CLOCK_DISABLE, 1), EINVAL);
	/* Closing the VM with the clock on stops it: nothing is left. */
	mkvm_guest_close(&g);
	mkvm_assert_no_objects();
}

/*
 * The creator exits with the clock on, while another process keeps the
 * VM: exit_mmap frees every page without an invalidation, after the
 * notifier's release. The caches must lose their pages there: the clock
 * writes nothing any more (a write would go to freed memory: KASAN on
 * the debug lane), and asks for no refresh, which has nothing to map.
 */
TEST_T(clock_stops_writing_when_the_creator_exits, 60)
{
	int sv[2], vm, status;
	long writes, deferred;
	pid_t pid;
	char c;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = ASSERT_OK(fork());
	if (!pid) {
		struct mkvm_guest g;

		mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
		ASSERT_OK(gpc_activate(g.vm, 0, 0, GPA, 16));
		ASSERT_OK(gpc_activate(g.vm, 1, MKVM_GPC_HVA, (uintptr_t)g.mem + 64, 16));
		clock_enable(g.vm, 1, MKVM_CLOCK_MIN_PERIOD_NS);
		ASSERT_TRUE(clock_wait_above(g.mem + 64, 10, 5000) > 10);
		ASSERT_OK(mkvm_send_fd(sv[1], g.vm));
		ASSERT_EQ(read(sv[1], &c, 1), 1);
		_exit(0);	/* exit_mmap with the clock ticking */
	}
	vm = ASSERT_OK(mkvm_recv_fd(sv[0]));
	ASSERT_EQ(write(sv[0], "k", 1), 1);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	writes = mkvm_vm_stat("clock_writes");
	deferred = mkvm_vm_stat("clock_deferred");
	usleep(50000);
	ASSERT_EQ(mkvm_vm_stat("clock_writes"), writes);
	ASSERT_TRUE(mkvm_vm_stat("clock_deferred") > deferred);
	close(vm);
	close(sv[0]);
	close(sv[1]);
	mkvm_assert_no_objects();
}

struct slot_mover {
	struct mkvm_guest *g;
	volatile int stop;
	long moves;
};

static void *move_slot(void *p)
{
	struct slot_mover *m = p;

	while (!m->stop) {
		ASSERT_OK(mkvm_set_region(m->g->vm, 0, 0, 2 * GPA, PAGE_SIZE, m->g->mem));
		ASSERT_OK(mkvm_set_region(m->g->vm, 0, 0, GPA, PAGE_SIZE, m->g->mem));
		m->moves++;
	}
	return NULL;
}

/*
 * Stress, bounded to 2 s: the clock ticks every 100 us through a GPA cache
 * and an HVA cache's page is replaced in a loop, while another thread moves
 * the slot back and forth; the kernel reads through the HVA cache. Then
 * the clock must still be ticking into the slot's memory. (Zero splats:
 * the harness checks.)
 */
TEST_T(clock_stress_with_churn_and_slot_moves, 60)
{
	struct churn c = { 0 };
	struct slot_mover m = { 0 };
	struct mkvm_guest g;
	struct timespec t0, t;
	pthread_t th[2];
	uint64_t v = 0, last;

	mkvm_guest_init(&g, NULL, PAGE_SIZE, 0);
	m.g = &g;
	c.page = map_page_at(NULL, 1000);
	ASSERT_OK(gpc_activate(g.vm, 0, 0, GPA, 16));
	ASSERT_OK(gpc_activate(g.vm, 1, MKVM_GPC_HVA, (uintptr_t)c.page, 8));
	clock_enable(g.vm, 0, MKVM_CLOCK_MIN_PERIOD_NS);
	ASSERT_EQ(pthread_create(&th[0], NULL, churn_page, &c), 0);
	ASSERT_EQ(pthread_create(&th[1], NULL, move_slot, &m), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (gpc_access(g.vm, MKVM_GPC_READ, 1, 0, 0, &v))
			ASSERT_EQ(errno, EFAULT);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 2);
	c.stop = 1;
	m.stop = 1;
	ASSERT_EQ(pthread_join(th[0], NULL), 0);
	ASSERT_EQ(pthread_join(th[1], NULL), 0);
	last = clock_ticks(g.mem);
	ASSERT_TRUE(clock_wait_above(g.mem, last, 5000) > last);
	printf("# %ld slot moves, %ld page replacements, %ld clock writes, %ld deferred\n",
	       m.moves, c.rounds, mkvm_vm_stat("clock_writes"), mkvm_vm_stat("clock_deferred"));
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
