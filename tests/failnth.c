// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failure injection, the way syzkaller does it: each call that
 * creates or changes something runs with /proc/thread-self/fail-nth = 1,
 * 2, 3, ... (the n-th failure point the thread reaches fails: a slab or a
 * page allocation), until a run reaches fewer than n points and so ends
 * without an injected failure. Every injected run must:
 *
 *  - fail with an errno docs/api.md documents for that call, or succeed
 *    (a failure the path absorbs, such as a fallback);
 *  - leave the state it found, or the state the call makes, nothing in
 *    between: checked by what the VM does next (the same call again, a
 *    guest access), not by trusting the errno;
 *  - leave no object behind once its VM is closed (the debugfs "alive"
 *    counters; kmemleak's scan at the end of the debug lane catches the
 *    rest).
 *
 * Each test prints how many injection points its path has. fail-nth needs
 * CONFIG_FAULT_INJECTION, with CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC
 * for the points that matter here: the debug lane's kernel has them and
 * sets MKVM_REQUIRE_FAULT_INJECTION=1; elsewhere the tests SKIP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define GPA		MKVM_TEST_GPA
#define MOVED_GPA	(GPA + (1UL << 30))
#define NPAGES		16
#define MAX_POINTS	4000

/* Errno sets, 0-terminated; every call may also absorb the failure. */
static const int enomem[] = { ENOMEM, 0 };
/* For calls that document no allocation failure: none may fail. */
static const int no_errno[] = { 0 };
/* GUP's own errno where it has one, else EFAULT (docs/api.md). */
static const int enomem_efault[] = { ENOMEM, EFAULT, 0 };

static void debugfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		tap_fail(__FILE__, __LINE__, "%s: %s", path, strerror(errno));
	close(fd);
}

/*
 * The calling thread's fail-nth file, with slab and page allocation
 * failures made injectable for the GFP_KERNEL allocations mkvm makes
 * (by default both ignore allocations that may sleep, and the page
 * allocator ignores order 0), silently.
 */
static int failnth_open(void)
{
	int fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	const char *req = getenv("MKVM_REQUIRE_FAULT_INJECTION");

	if (fd < 0 || access("/sys/kernel/debug/failslab", F_OK) ||
	    access("/sys/kernel/debug/fail_page_alloc", F_OK)) {
		if (req && *req == '1')
			tap_fail(__FILE__, __LINE__,
				 "the lane promises fault injection, but fail-nth or debugfs is missing");
		tap_skip("no fault injection (CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC, debugfs)");
	}
	debugfs_write("/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
	debugfs_write("/sys/kernel/debug/failslab/verbose", getenv("FI_VERBOSE") ? "2" : "0");
	debugfs_write("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N");
	debugfs_write("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N");
	debugfs_write("/sys/kernel/debug/fail_page_alloc/min-order", "0");
	debugfs_write("/sys/kernel/debug/fail_page_alloc/verbose", getenv("FI_VERBOSE") ? "2" : "0");
	return fd;
}

static void failnth_set(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(fd, buf, len, 0) != len)
		tap_fail(__FILE__, __LINE__, "fail-nth = %u: %s", n, strerror(errno));
}

/* Whether the failure set up with failnth_set() was injected; disarms it. */
static int failnth_injected(int fd)
{
	char buf[16] = "";
	ssize_t len = pread(fd, buf, sizeof(buf) - 1, 0);

	if (len <= 0)
		tap_fail(__FILE__, __LINE__, "read fail-nth: %s", strerror(errno));
	failnth_set(fd, 0);
	return atoi(buf) == 0;
}

/* Buffers the calls use, faulted in before fail-nth is armed. */
static uint64_t bitmap;
static struct mkvm_guest_op run_ops[NPAGES];

/* What a case works on; setup fills it, check empties it. */
struct fi_ctx {
	int dev;
	int vm;
	struct mkvm_vcpu_ctx vcpu;
	char *mem;
	long ret;	/* the call's result */
	int err;	/* and its errno */
};

struct fi_case {
	const char *name;
	const int *errnos;
	/* The path allocates nothing of its own (0 points is fine). */
	bool may_have_none;
	void (*setup)(struct fi_ctx *c);
	long (*call)(struct fi_ctx *c);
	/* The state is the one before the call or the one after it. */
	void (*check)(struct fi_ctx *c);
};

static int errno_allowed(const int *set, int err)
{
	for (; *set; set++)
		if (*set == err)
			return 1;
	return 0;
}

/* One guest access, 0 or the run's errno; MMIO exits count as -ENOENT. */
static int guest_op(struct mkvm_vcpu_ctx *vcpu, uint32_t type, uint64_t gpa, uint64_t *data)
{
	struct mkvm_guest_op op = { .type = type, .size = 8, .gpa = gpa, .data = *data };

	if (mkvm_run_ops(vcpu, &op, 1))
		return errno;
	if (vcpu->run->exit_reason == MKVM_EXIT_MMIO)
		return ENOENT;
	*data = op.data;
	return 0;
}

/* The memslot at @gpa maps c->mem: the guest sees a process write. */
static void check_slot_maps(struct fi_ctx *c, uint64_t gpa)
{
	uint64_t v = 0;

	*(volatile uint64_t *)(c->mem + PAGE_SIZE) = 0x5107;
	ASSERT_EQ(guest_op(&c->vcpu, MKVM_OP_READ, gpa + PAGE_SIZE, &v), 0);
	ASSERT_EQ(v, 0x5107);
	v = 0x600d;
	ASSERT_EQ(guest_op(&c->vcpu, MKVM_OP_WRITE, gpa + 2 * PAGE_SIZE, &v), 0);
	ASSERT_EQ(*(volatile uint64_t *)(c->mem + 2 * PAGE_SIZE), 0x600d);
}

static void check_no_slot_at(struct fi_ctx *c, uint64_t gpa)
{
	uint64_t v = 0;

	ASSERT_EQ(guest_op(&c->vcpu, MKVM_OP_READ, gpa, &v), ENOENT);
}

static void ctx_close(struct fi_ctx *c)
{
	if (c->vcpu.run)
		ASSERT_OK(munmap(c->vcpu.run, PAGE_SIZE));
	if (c->vcpu.fd > 0)
		close(c->vcpu.fd);
	if (c->vm > 0)
		close(c->vm);
	if (c->dev > 0)
		close(c->dev);
	if (c->mem)
		ASSERT_OK(munmap(c->mem, NPAGES * PAGE_SIZE));
	memset(c, 0, sizeof(*c));
}

/*
 * Run @fc with the n-th failure point failing, n = 1, 2, ..., until a run
 * ends without an injected failure. Returns the number of points.
 */
static unsigned int inject_each_point(const struct fi_case *fc)
{
	unsigned int n, i, failed = 0, absorbed = 0, seen[8] = { 0 };
	int nth = failnth_open();
	char errs[128] = "";

	/* The calls' own buffers, faulted in before any point is armed. */
	memset(run_ops, 0, sizeof(run_ops));
	bitmap = 0;
	for (n = 1; n <= MAX_POINTS; n++) {
		struct fi_ctx c = { 0 };
		int injected, call_failed, call_err;

		fc->setup(&c);
		failnth_set(nth, n);
		errno = 0;
		c.ret = fc->call(&c);
		c.err = errno;
		injected = failnth_injected(nth);
		if (c.ret < 0 && !injected)
			tap_fail(__FILE__, __LINE__, "%s failed without an injected failure: %s",
				 fc->name, strerrorname_np(c.err));
		if (c.ret < 0 && !errno_allowed(fc->errnos, c.err))
			tap_fail(__FILE__, __LINE__,
				 "%s with failure point %u failing: errno %s, which docs/api.md does not give for it",
				 fc->name, n, strerrorname_np(c.err));
		call_failed = c.ret < 0;
		call_err = c.err;
		fc->check(&c);
		ctx_close(&c);
		mkvm_assert_no_objects();
		if (!injected)
			break;
		if (call_failed) {
			failed++;
			for (i = 0; fc->errnos[i]; i++)
				seen[i] += fc->errnos[i] == call_err;
		}
		else
			absorbed++;
	}
	close(nth);
	if (n > MAX_POINTS)
		tap_fail(__FILE__, __LINE__, "%s: still failing at point %u", fc->name, n);
	for (i = 0; fc->errnos[i]; i++)
		if (seen[i])
			snprintf(errs + strlen(errs), sizeof(errs) - strlen(errs), " %s x%u",
				 strerrorname_np(fc->errnos[i]), seen[i]);
	printf("# %s: %u injection points (%u failed the call:%s; %u absorbed)\n",
	       fc->name, n - 1, failed, failed ? errs : " none", absorbed);
	return n - 1;
}

/* Setups. */
static void setup_dev(struct fi_ctx *c)
{
	c->dev = mkvm_open();
}

static void setup_vm(struct fi_ctx *c)
{
	c->vm = mkvm_vm_create();
	c->mem = mkvm_map_anon(NPAGES * PAGE_SIZE);
	memset(c->mem, 0x11, NPAGES * PAGE_SIZE);
}

static void setup_vm_vcpu(struct fi_ctx *c)
{
	setup_vm(c);
	mkvm_vcpu_open(c->vm, 0, &c->vcpu);
	/* Fault the run page in now: a user page fault may allocate too. */
	c->vcpu.run->exit_reason = 0;
}

static void setup_guest(struct fi_ctx *c)
{
	setup_vm_vcpu(c);
	ASSERT_OK(mkvm_set_region(c->vm, 0, 0, GPA, NPAGES * PAGE_SIZE, c->mem));
}

/* A guest that wrote to every page of a logging slot. */
static void setup_logging_guest(struct fi_ctx *c)
{
	unsigned int i;
	uint64_t v = 1;

	setup_guest(c);
	ASSERT_OK(mkvm_set_region(c->vm, 0, MKVM_MEM_LOG_DIRTY_PAGES, GPA,
				  NPAGES * PAGE_SIZE, c->mem));
	for (i = 0; i < NPAGES; i++)
		ASSERT_EQ(guest_op(&c->vcpu, MKVM_OP_WRITE, GPA + i * PAGE_SIZE, &v), 0);
}

static void setup_manual_logging_guest(struct fi_ctx *c)
{
	struct mkvm_enable_cap cap = {
		.cap = MKVM_CAP_MANUAL_DIRTY_LOG_PROTECT,
		.args = { MKVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE },
	};

	setup_vm_vcpu(c);
	ASSERT_OK(ioctl(c->vm, MKVM_ENABLE_CAP, &cap));
	ASSERT_OK(mkvm_set_region(c->vm, 0, MKVM_MEM_LOG_DIRTY_PAGES, GPA,
				  NPAGES * PAGE_SIZE, c->mem));
	check_slot_maps(c, GPA);
}

static void setup_guest_gpc(struct fi_ctx *c)
{
	struct mkvm_gpc_activate a = { .id = 0, .addr = GPA, .len = 16 };

	setup_guest(c);
	ASSERT_OK(ioctl(c->vm, MKVM_GPC_ACTIVATE, &a));
	/* The process drops the page: the next access must refresh. */
	ASSERT_OK(madvise(c->mem, PAGE_SIZE, MADV_DONTNEED));
}

/* Calls and their checks. */
static long call_create_vm(struct fi_ctx *c)
{
	return ioctl(c->dev, MKVM_CREATE_VM, 0);
}

static void check_create_vm(struct fi_ctx *c)
{
	if (c->ret >= 0)
		c->vm = c->ret;
	else
		c->vm = ASSERT_OK(ioctl(c->dev, MKVM_CREATE_VM, 0));
	c->mem = mkvm_map_anon(NPAGES * PAGE_SIZE);
	mkvm_vcpu_open(c->vm, 0, &c->vcpu);
	ASSERT_OK(mkvm_set_region(c->vm, 0, 0, GPA, NPAGES * PAGE_SIZE, c->mem));
	check_slot_maps(c, GPA);
}

static long call_create_vcpu(struct fi_ctx *c)
{
	return ioctl(c->vm, MKVM_CREATE_VCPU, 0);
}

static void check_create_vcpu(struct fi_ctx *c)
{
	if (c->ret >= 0) {
		/* The id is taken: a second create says so. */
		ASSERT_ERRNO(ioctl(c->vm, MKVM_CREATE_VCPU, 0), EEXIST);
		close(c->ret);
	}
	/* A failed create left the id free; a vCPU with it runs. */
	mkvm_vcpu_open(c->vm, c->ret >= 0 ? 1 : 0, &c->vcpu);
	ASSERT_OK(mkvm_set_region(c->vm, 0, 0, GPA, NPAGES * PAGE_SIZE, c->mem));
	check_slot_maps(c, GPA);
}

static long call_slot_create(struct fi_ctx *c)
{
	return mkvm_set_region(c->vm, 0, 0, GPA, NPAGES * PAGE_SIZE, c->mem);
}

static void check_slot_create(struct fi_ctx *c)
{
	if (c->ret < 0) {
		check_no_slot_at(c, GPA);
		ASSERT_OK(call_slot_create(c));
	} else {
		ASSERT_ERRNO(mkvm_set_region(c->vm, 1, 0, GPA, PAGE_SIZE, c->mem), EEXIST);
	}
	check_slot_maps(c, GPA);
}

static long call_slot_move(struct fi_ctx *c)
{
	return mkvm_set_region(c->vm, 0, 0, MOVED_GPA, NPAGES * PAGE_SIZE, c->mem);
}

static void check_slot_move(struct fi_ctx *c)
{
	uint64_t at = c->ret < 0 ? GPA : MOVED_GPA;

	check_slot_maps(c, at);
	check_no_slot_at(c, c->ret < 0 ? MOVED_GPA : GPA);
}

static long call_slot_delete(struct fi_ctx *c)
{
	return mkvm_set_region(c->vm, 0, 0, GPA, 0, c->mem);
}

static void check_slot_delete(struct fi_ctx *c)
{
	if (c->ret < 0) {
		check_slot_maps(c, GPA);
		ASSERT_OK(call_slot_delete(c));
	}
	check_no_slot_at(c, GPA);
	ASSERT_ERRNO(call_slot_delete(c), EINVAL);
}

static long call_log_enable(struct fi_ctx *c)
{
	return mkvm_set_region(c->vm, 0, MKVM_MEM_LOG_DIRTY_PAGES, GPA,
			       NPAGES * PAGE_SIZE, c->mem);
}

/* What the log holds after a guest write to page 3 (or everything). */
static void check_log_after_write(struct fi_ctx *c)
{
	struct mkvm_dirty_log log = { .slot = 0 };
	uint64_t bitmap = 0, v = 7;

	ASSERT_EQ(guest_op(&c->vcpu, MKVM_OP_WRITE, GPA + 3 * PAGE_SIZE, &v), 0);
	log.dirty_bitmap = (uintptr_t)&bitmap;
	ASSERT_OK(ioctl(c->vm, MKVM_GET_DIRTY_LOG, &log));
	ASSERT_TRUE(bitmap & (1UL << 3));
	ASSERT_EQ(*(volatile uint64_t *)(c->mem + 3 * PAGE_SIZE), 7);
}

static void check_log_enable(struct fi_ctx *c)
{
	struct mkvm_dirty_log log = { .slot = 0 };
	uint64_t bitmap;

	log.dirty_bitmap = (uintptr_t)&bitmap;
	if (c->ret < 0) {
		/* Not logging: the flag did not stick. */
		ASSERT_ERRNO(ioctl(c->vm, MKVM_GET_DIRTY_LOG, &log), ENOENT);
		check_slot_maps(c, GPA);
		ASSERT_OK(call_log_enable(c));
	}
	check_log_after_write(c);
}

static long call_get_log(struct fi_ctx *c)
{
	struct mkvm_dirty_log log = { .slot = 0, .dirty_bitmap = (uintptr_t)&bitmap };

	bitmap = 0;
	c->ret = ioctl(c->vm, MKVM_GET_DIRTY_LOG, &log);
	/* Every page was written: a successful get reports them all. */
	if (c->ret == 0 && bitmap != (1UL << NPAGES) - 1)
		tap_fail(__FILE__, __LINE__, "GET_DIRTY_LOG reported %#lx", (unsigned long)bitmap);
	return c->ret;
}

static void check_get_log(struct fi_ctx *c)
{
	/* The copy is allocated before the log is taken: a failure keeps it. */
	if (c->ret < 0)
		ASSERT_OK(call_get_log(c));
	check_log_after_write(c);
}

static long call_clear_log(struct fi_ctx *c)
{
	uint64_t bitmap = (1UL << NPAGES) - 1;
	struct mkvm_clear_dirty_log clr = {
		.slot = 0, .first_page = 0, .num_pages = NPAGES,
		.dirty_bitmap = (uintptr_t)&bitmap,
	};

	return ioctl(c->vm, MKVM_CLEAR_DIRTY_LOG, &clr);
}

static void check_clear_log(struct fi_ctx *c)
{
	check_log_after_write(c);
}

/* The guest reads every page: each one faults in. */
static long call_run_faults(struct fi_ctx *c)
{
	unsigned int i;

	for (i = 0; i < NPAGES; i++)
		run_ops[i] = (struct mkvm_guest_op){
			.type = MKVM_OP_READ, .size = 8, .gpa = GPA + i * PAGE_SIZE,
		};
	return mkvm_run_ops(&c->vcpu, run_ops, NPAGES);
}

static void check_run_faults(struct fi_ctx *c)
{
	struct mkvm_guest_op *ops = (void *)(uintptr_t)c->vcpu.run->ops;
	unsigned int i;

	if (c->ret < 0) {
		/* RUN resumes at the op that failed. */
		ASSERT_TRUE(c->vcpu.run->next_op < NPAGES);
		ASSERT_OK(ioctl(c->vcpu.fd, MKVM_RUN, 0));
	}
	ASSERT_EQ(c->vcpu.run->next_op, NPAGES);
	for (i = 0; i < NPAGES; i++)
		ASSERT_EQ(ops[i].data, 0x1111111111111111ULL);
	check_slot_maps(c, GPA);
}

/* A guest whose pages are mapped, on a root MKVM_INVALIDATE_ROOTS retired. */
static void setup_guest_retired_root(struct fi_ctx *c)
{
	setup_guest(c);
	ASSERT_EQ(call_run_faults(c), 0);
	ASSERT_OK(ioctl(c->vm, MKVM_INVALIDATE_ROOTS, 0));
}

static long call_gpc_activate(struct fi_ctx *c)
{
	struct mkvm_gpc_activate a = { .id = 0, .addr = GPA + PAGE_SIZE, .len = 16 };

	return ioctl(c->vm, MKVM_GPC_ACTIVATE, &a);
}

static void check_gpc_read(struct fi_ctx *c, uint64_t offset_in_mem)
{
	struct mkvm_gpc_access acc = { .id = 0 };

	*(volatile uint64_t *)(c->mem + offset_in_mem) = 0x9c;
	ASSERT_OK(ioctl(c->vm, MKVM_GPC_READ, &acc));
	ASSERT_EQ(acc.data, 0x9c);
}

static void check_gpc_activate(struct fi_ctx *c)
{
	struct mkvm_gpc_access acc = { .id = 0 };

	if (c->ret < 0) {
		/* The cache is left inactive. */
		ASSERT_ERRNO(ioctl(c->vm, MKVM_GPC_READ, &acc), ENOENT);
		ASSERT_OK(call_gpc_activate(c));
	}
	check_gpc_read(c, PAGE_SIZE);
}

static long call_gpc_hva_activate(struct fi_ctx *c)
{
	struct mkvm_gpc_activate a = {
		.id = 0, .flags = MKVM_GPC_HVA, .addr = (uintptr_t)c->mem, .len = 16,
	};

	return ioctl(c->vm, MKVM_GPC_ACTIVATE, &a);
}

static void check_gpc_hva_activate(struct fi_ctx *c)
{
	struct mkvm_gpc_access acc = { .id = 0 };

	if (c->ret < 0) {
		ASSERT_ERRNO(ioctl(c->vm, MKVM_GPC_READ, &acc), ENOENT);
		ASSERT_OK(call_gpc_hva_activate(c));
	}
	check_gpc_read(c, 0);
}

static long call_gpc_refresh(struct fi_ctx *c)
{
	struct mkvm_gpc_access acc = { .id = 0 };

	return ioctl(c->vm, MKVM_GPC_READ, &acc);
}

static void check_gpc_refresh(struct fi_ctx *c)
{
	/* Still active: the next access refreshes again. */
	check_gpc_read(c, 0);
}

static long call_gpc_write(struct fi_ctx *c)
{
	struct mkvm_gpc_access acc = { .id = 0, .offset = 8, .data = 0x77 };

	return ioctl(c->vm, MKVM_GPC_WRITE, &acc);
}

/* Written once through the cache, or (failed) not at all, and then written. */
static void check_gpc_write(struct fi_ctx *c)
{
	volatile uint64_t *w = (volatile uint64_t *)(c->mem + 8);

	if (c->ret < 0) {
		ASSERT_EQ(*w, 0);	/* the page the process dropped, refaulted */
		ASSERT_OK(call_gpc_write(c));
	}
	ASSERT_EQ(*w, 0x77);
	check_gpc_read(c, 0);
}

static long call_log_disable(struct fi_ctx *c)
{
	return mkvm_set_region(c->vm, 0, 0, GPA, NPAGES * PAGE_SIZE, c->mem);
}

/* Logging, with its log, or not logging; the slot maps either way. */
static void check_log_disable(struct fi_ctx *c)
{
	struct mkvm_dirty_log log = { .slot = 0 };
	uint64_t bitmap = 0;

	log.dirty_bitmap = (uintptr_t)&bitmap;
	if (c->ret < 0) {
		ASSERT_OK(ioctl(c->vm, MKVM_GET_DIRTY_LOG, &log));
		ASSERT_EQ(bitmap, (1UL << NPAGES) - 1);
		ASSERT_OK(call_log_disable(c));
	}
	ASSERT_ERRNO(ioctl(c->vm, MKVM_GET_DIRTY_LOG, &log), ENOENT);
	check_slot_maps(c, GPA);
}

/* Calls that allocate nothing of their own: still none may misbehave. */
static long call_check_extension(struct fi_ctx *c)
{
	return ioctl(c->vm, MKVM_CHECK_EXTENSION, MKVM_CAP_NR_MEMSLOTS);
}

static void check_check_extension(struct fi_ctx *c)
{
	if (c->ret >= 0)
		ASSERT_EQ(c->ret, 32764);
}

static long call_enable_cap(struct fi_ctx *c)
{
	struct mkvm_enable_cap cap = {
		.cap = MKVM_CAP_MANUAL_DIRTY_LOG_PROTECT,
		.args = { MKVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE },
	};

	return ioctl(c->vm, MKVM_ENABLE_CAP, &cap);
}

static void check_enable_cap(struct fi_ctx *c)
{
	if (c->ret < 0)
		ASSERT_OK(call_enable_cap(c));
	/* Manual protect on: CLEAR_DIRTY_LOG works on a logging slot. */
	ASSERT_OK(mkvm_set_region(c->vm, 0, MKVM_MEM_LOG_DIRTY_PAGES, GPA,
				  NPAGES * PAGE_SIZE, c->mem));
	ASSERT_OK(call_clear_log(c));
}

static long call_invalidate_roots(struct fi_ctx *c)
{
	return ioctl(c->vm, MKVM_INVALIDATE_ROOTS, 0);
}

static void check_invalidate_roots(struct fi_ctx *c)
{
	check_slot_maps(c, GPA);
}

static long call_gpc_deactivate(struct fi_ctx *c)
{
	return ioctl(c->vm, MKVM_GPC_DEACTIVATE, 0);
}

static void check_gpc_deactivate(struct fi_ctx *c)
{
	struct mkvm_gpc_access acc = { .id = 0 };

	if (c->ret < 0)
		ASSERT_OK(call_gpc_deactivate(c));
	ASSERT_ERRNO(ioctl(c->vm, MKVM_GPC_READ, &acc), ENOENT);
}

static long call_clock_enable(struct fi_ctx *c)
{
	struct mkvm_clock_enable ce = { .id = 0, .period_ns = MKVM_CLOCK_MAX_PERIOD_NS };

	return ioctl(c->vm, MKVM_CLOCK_ENABLE, &ce);
}

static void check_clock_enable(struct fi_ctx *c)
{
	if (c->ret < 0) {
		ASSERT_ERRNO(ioctl(c->vm, MKVM_CLOCK_DISABLE, 0), ENOENT);
		ASSERT_OK(call_clock_enable(c));
	}
	ASSERT_ERRNO(call_clock_enable(c), EBUSY);
	ASSERT_OK(ioctl(c->vm, MKVM_CLOCK_DISABLE, 0));
}

static void setup_guest_clock(struct fi_ctx *c)
{
	setup_guest_gpc(c);
	ASSERT_OK(call_clock_enable(c));
}

static long call_clock_disable(struct fi_ctx *c)
{
	return ioctl(c->vm, MKVM_CLOCK_DISABLE, 0);
}

/* Off, and the clock can start again. */
static void check_clock_disable(struct fi_ctx *c)
{
	if (c->ret < 0)
		ASSERT_OK(call_clock_disable(c));
	ASSERT_ERRNO(call_clock_disable(c), ENOENT);
	ASSERT_OK(call_clock_enable(c));
	ASSERT_OK(call_clock_disable(c));
}

static const struct fi_case cases[] = {
	{ "MKVM_CREATE_VM", enomem, false, setup_dev, call_create_vm, check_create_vm },
	{ "MKVM_CREATE_VCPU", enomem, false, setup_vm, call_create_vcpu, check_create_vcpu },
	{ "memslot create", enomem, false, setup_vm_vcpu, call_slot_create, check_slot_create },
	{ "memslot move", enomem, false, setup_guest, call_slot_move, check_slot_move },
	{ "memslot delete", enomem, false, setup_guest, call_slot_delete, check_slot_delete },
	{ "dirty logging on", enomem, false, setup_guest, call_log_enable, check_log_enable },
	{ "MKVM_GET_DIRTY_LOG", enomem, false, setup_logging_guest, call_get_log, check_get_log },
	{ "MKVM_CLEAR_DIRTY_LOG", enomem, false, setup_manual_logging_guest, call_clear_log,
	  check_clear_log },
	{ "MKVM_RUN faults", enomem_efault, false, setup_guest, call_run_faults, check_run_faults },
	{ "MKVM_RUN on a new root", enomem_efault, false, setup_guest_retired_root, call_run_faults,
	  check_run_faults },
	{ "MKVM_GPC_ACTIVATE (GPA)", enomem_efault, false, setup_guest, call_gpc_activate,
	  check_gpc_activate },
	{ "MKVM_GPC_ACTIVATE (HVA)", enomem_efault, false, setup_vm, call_gpc_hva_activate,
	  check_gpc_hva_activate },
	{ "MKVM_GPC_READ refresh", enomem_efault, false, setup_guest_gpc, call_gpc_refresh,
	  check_gpc_refresh },
	{ "MKVM_GPC_WRITE refresh", enomem_efault, false, setup_guest_gpc, call_gpc_write,
	  check_gpc_write },
	{ "dirty logging off", enomem, true, setup_logging_guest, call_log_disable,
	  check_log_disable },
	{ "MKVM_CHECK_EXTENSION", no_errno, true, setup_vm, call_check_extension,
	  check_check_extension },
	{ "MKVM_ENABLE_CAP", no_errno, true, setup_vm, call_enable_cap, check_enable_cap },
	{ "MKVM_INVALIDATE_ROOTS", no_errno, true, setup_guest_retired_root, call_invalidate_roots,
	  check_invalidate_roots },
	{ "MKVM_GPC_DEACTIVATE", no_errno, true, setup_guest_gpc, call_gpc_deactivate,
	  check_gpc_deactivate },
	{ "MKVM_CLOCK_ENABLE", no_errno, true, setup_guest_gpc, call_clock_enable,
	  check_clock_enable },
	{ "MKVM_CLOCK_DISABLE", no_errno, true, setup_guest_clock, call_clock_disable,
	  check_clock_disable },
};

static void run_case(const char *name)
{
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(cases[i].name, name))
			continue;
		/* A path that allocates must have a point, or the test saw nothing. */
		ASSERT_TRUE(inject_each_point(&cases[i]) > 0 || cases[i].may_have_none);
		return;
	}
	tap_fail(__FILE__, __LINE__, "no case %s", name);
}

TEST_T(create_vm, 120) { run_case("MKVM_CREATE_VM"); }
TEST_T(create_vcpu, 120) { run_case("MKVM_CREATE_VCPU"); }
TEST_T(memslot_create, 120) { run_case("memslot create"); }
TEST_T(memslot_move, 120) { run_case("memslot move"); }
TEST_T(memslot_delete, 120) { run_case("memslot delete"); }
TEST_T(dirty_logging_on, 120) { run_case("dirty logging on"); }
TEST_T(get_dirty_log, 120) { run_case("MKVM_GET_DIRTY_LOG"); }
TEST_T(clear_dirty_log, 120) { run_case("MKVM_CLEAR_DIRTY_LOG"); }
TEST_T(run_faults, 120) { run_case("MKVM_RUN faults"); }
TEST_T(run_new_root, 120) { run_case("MKVM_RUN on a new root"); }
TEST_T(gpc_activate_gpa, 120) { run_case("MKVM_GPC_ACTIVATE (GPA)"); }
TEST_T(gpc_activate_hva, 120) { run_case("MKVM_GPC_ACTIVATE (HVA)"); }
TEST_T(gpc_refresh, 120) { run_case("MKVM_GPC_READ refresh"); }
TEST_T(gpc_write_refresh, 120) { run_case("MKVM_GPC_WRITE refresh"); }
TEST_T(dirty_logging_off, 120) { run_case("dirty logging off"); }
TEST_T(check_extension, 120) { run_case("MKVM_CHECK_EXTENSION"); }
TEST_T(enable_cap, 120) { run_case("MKVM_ENABLE_CAP"); }
TEST_T(invalidate_roots, 120) { run_case("MKVM_INVALIDATE_ROOTS"); }
TEST_T(gpc_deactivate, 120) { run_case("MKVM_GPC_DEACTIVATE"); }
TEST_T(clock_enable, 120) { run_case("MKVM_CLOCK_ENABLE"); }
TEST_T(clock_disable, 120) { run_case("MKVM_CLOCK_DISABLE"); }

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
