// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark: mkvm's stage-2 fault-in next to native first touch and next
 * to the kernel's own secondary-MMU test driver, lib/test_hmm.c (the HMM
 * mirror behind /dev/hmm_dmirror0), on the same kernel in the same run;
 * and what a registered mkvm notifier adds to the process's own munmap()
 * and MADV_DONTNEED.
 *
 * Under TCG, absolute rates mean little and zeroing fresh pages dominates
 * a first touch, so the memory's state is kept apart:
 *   fresh      no host page yet: the fault allocates and zeroes it;
 *   populated  every host page present (written by userspace first): what
 *              is left is the secondary MMU's own cost;
 *   refault    populated, mapped once, then every root zapped
 *              (MKVM_INVALIDATE_ROOTS): the stage-2 tables are rebuilt.
 * Each case is measured after a warm-up round, ROUNDS times, and reported
 * as the median with min, max and the median absolute deviation. THP runs
 * say how much of the memory really was huge (AnonHugePages) and how many
 * stage-2 blocks mkvm built. Ratios are of medians; each is printed with
 * the target it is judged against, as information: a benchmark asserts
 * nothing about speed.
 *
 * Every result is also printed as one JSON object on a "# bench-json: "
 * line; tests/bench/report.sh gathers them into bench.json (schema in
 * docs/bench.md) and draws the plot.
 *
 * Environment: MKVM_BENCH_MB (memory per case, default 128),
 * MKVM_BENCH_ROUNDS (default 9), MKVM_BENCH_NOTIFIER_MB (default 1024),
 * MKVM_BENCH_PERF (perf's path: the profile test), MKVM_BENCH_HMM_REQUIRED
 * (1: a missing test_hmm is a failure, not a SKIP).
 */
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define MB		(1024UL * 1024)
#define HUGE_2M		(2 * MB)
#define GPA		(1UL << 30)
#define MAX_ROUNDS	31

/*
 * test_hmm's ioctl ABI, as lib/test_hmm_uapi.h defines it (the header is
 * not exported to userspace, so tools/testing/selftests/mm/hmm-tests.c
 * reaches into lib/ for it; this program only needs these).
 */
struct hmm_dmirror_cmd {
	uint64_t addr;		/* start of the range the "device" accesses */
	uint64_t ptr;		/* the bounce buffer the data goes to or from */
	uint64_t npages;
	uint64_t cpages;	/* out: pages copied */
	uint64_t faults;	/* out: device faults taken */
};

#define HMM_DMIRROR_READ		_IOWR('H', 0x00, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_WRITE		_IOWR('H', 0x01, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_DEV	_IOWR('H', 0x02, struct hmm_dmirror_cmd)
#define HMM_DEV				"/dev/hmm_dmirror0"

static size_t size;		/* bytes per case */
static int perf_ctl = -1, perf_ack = -1;	/* perf record's control fifos, when profiling */

#define PERF_WAIT_MS	30000	/* for perf to open its fifos, or to answer */
static unsigned int rounds;

enum backing { B_4K, B_THP };
enum state { FRESH, POPULATED, REFAULT };
enum hmm_op { HMM_READ, HMM_WRITE, HMM_MIGRATE };

static const char *const backing_name[] = { "4k", "thp" };

/* What one case measured: rates in 4K pages per second. */
struct result {
	const char *name;
	enum backing backing;
	double median, min, max, mad;
	double thp_fraction;	/* of the memory, huge when measured; -1: n/a */
	long s2_blocks;		/* mkvm's stage-2 blocks when measured; -1: n/a */
};

/* What the last round saw, kept for the result. */
static double last_thp_fraction = -1;
static long last_s2_blocks = -1;

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/*
 * @bytes on a 2M boundary, THP or not; munmap(p, @bytes) frees all of it,
 * so that hundreds of rounds leave no mappings behind.
 */
static char *map_backing(enum backing b, size_t bytes)
{
	char *raw = mkvm_map_anon(bytes + HUGE_2M);
	char *p = (char *)(((uintptr_t)raw + HUGE_2M - 1) & ~(HUGE_2M - 1));

	if (p > raw)
		munmap(raw, p - raw);
	if (p < raw + HUGE_2M)
		munmap(p + bytes, raw + HUGE_2M - p);
	ASSERT_OK(madvise(p, bytes, b == B_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE));
	return p;
}

/* Write every page, so that each host page is present. */
static void populate(char *p, size_t bytes)
{
	size_t i;

	for (i = 0; i < bytes; i += PAGE_SIZE)
		p[i] = 1;
}

/* The share of [p, p + bytes) that AnonHugePages counts, from smaps. */
static double thp_fraction(const char *p, size_t bytes)
{
	unsigned long start, end, kb;
	double huge = 0;
	char line[256];
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = start < (unsigned long)p + bytes && end > (unsigned long)p;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			huge += kb * 1024.0;
	}
	fclose(f);
	return huge / bytes;
}

static void note_thp(enum backing b, const char *p)
{
	last_thp_fraction = b == B_THP ? thp_fraction(p, size) : -1;
}

/* One round of a userspace first touch; returns seconds. */
static double native_touch(enum backing b)
{
	char *p = map_backing(b, size);
	double t0 = mkvm_now(), t;

	populate(p, size);
	t = mkvm_now() - t0;
	note_thp(b, p);
	munmap(p, size);
	return t;
}

/*
 * Profiling: perf record counts only between perf_gate(1) and
 * perf_gate(0). perf answers each command with "ack\n" and a NUL; no
 * answer within PERF_WAIT_MS fails the test rather than hang it.
 */
static void perf_gate(int on)
{
	const char *cmd = on ? "enable\n" : "disable\n";
	struct pollfd pfd = { .fd = perf_ack, .events = POLLIN };
	char ack[16], c;
	int n = 0;

	if (perf_ctl < 0)
		return;
	ASSERT_EQ(write(perf_ctl, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	for (;;) {
		if (poll(&pfd, 1, PERF_WAIT_MS) != 1 || read(perf_ack, &c, 1) != 1)
			tap_fail(__FILE__, __LINE__, "perf record did not ack \"%.*s\" (/tmp/perf.log)",
				 (int)strlen(cmd) - 1, cmd);
		if (c == '\n')
			break;
		if (c && n < (int)sizeof(ack) - 1)
			ack[n++] = c;
	}
	ack[n] = 0;
	ASSERT_TRUE(!strcmp(ack, "ack"));
}

/* One round of MKVM_RUN touching every page of a memslot; returns seconds. */
static double mkvm_touch(enum backing b, enum state s, int write)
{
	char *p = map_backing(b, size);
	struct mkvm_guest_op op = {
		.type = write ? MKVM_OP_TOUCH_WRITE : MKVM_OP_TOUCH_READ,
		.gpa = GPA, .len = size, .data = 2,
	};
	struct mkvm_vcpu_ctx vcpu;
	int vm = mkvm_vm_create();
	double t0, t;

	if (s != FRESH)
		populate(p, size);
	ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA, size, p));
	mkvm_vcpu_open(vm, 0, &vcpu);
	if (s == REFAULT) {
		ASSERT_OK(mkvm_run_ops(&vcpu, &op, 1));
		ASSERT_OK(ioctl(vm, MKVM_INVALIDATE_ROOTS, 0));
	}
	perf_gate(1);
	t0 = mkvm_now();
	ASSERT_OK(mkvm_run_ops(&vcpu, &op, 1));
	t = mkvm_now() - t0;
	perf_gate(0);
	ASSERT_EQ(vcpu.run->exit_reason, MKVM_EXIT_DONE);
	note_thp(b, p);
	/* A refault's old root may still await its worker: not counted. */
	last_s2_blocks = s == REFAULT ? -1 : mkvm_vm_stat("s2_blocks");
	munmap(vcpu.run, PAGE_SIZE);
	close(vcpu.fd);
	close(vm);
	munmap(p, size);
	return t;
}

#define BLOCK_VMS	8

/*
 * One round of populated THP-backed memory faulted in by one access per
 * 2 MiB, BLOCK_VMS times (a new VM each time) over the same memory: one
 * pass is a few dozen faults, too short alone for a steady figure.
 * Returns the seconds of the BLOCK_VMS passes together.
 */
static double mkvm_blocks_round(void)
{
	char *p = map_backing(B_THP, size);
	unsigned int i, k, n = size / HUGE_2M;
	struct mkvm_guest_op *ops = calloc(n, sizeof(*ops));
	struct mkvm_vcpu_ctx vcpu;
	double t = 0, t0;
	int vm;

	ASSERT_TRUE(ops != NULL);
	for (i = 0; i < n; i++)
		ops[i] = (struct mkvm_guest_op){
			.type = MKVM_OP_READ, .size = 1, .gpa = GPA + i * HUGE_2M,
		};
	populate(p, size);
	for (k = 0; k < BLOCK_VMS; k++) {
		vm = mkvm_vm_create();
		ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA, size, p));
		mkvm_vcpu_open(vm, 0, &vcpu);
		t0 = mkvm_now();
		ASSERT_OK(mkvm_run_ops(&vcpu, ops, n));
		t += mkvm_now() - t0;
		ASSERT_EQ(vcpu.run->exit_reason, MKVM_EXIT_DONE);
		last_s2_blocks = mkvm_vm_stat("s2_blocks");
		munmap(vcpu.run, PAGE_SIZE);
		close(vcpu.fd);
		close(vm);
	}
	note_thp(B_THP, p);
	free(ops);
	munmap(p, size);
	return t;
}

static int hmm_open(void)
{
	int fd = open(HMM_DEV, O_RDWR);

	if (fd < 0) {
		if (env_ulong("MKVM_BENCH_HMM_REQUIRED", 0))
			tap_fail(__FILE__, __LINE__, "%s: %s (test_hmm.ko not loaded?)",
				 HMM_DEV, strerror(errno));
		tap_skip("%s: %s: the kernel has no test_hmm (TEST_HMM=m)", HMM_DEV,
			 strerror(errno));
	}
	return fd;
}

/*
 * One round of test_hmm's mirror over the memory; returns seconds. A new
 * fd is a new mirror with an empty device page table, so each round
 * faults every page in again, as mkvm's new VM does.
 */
static double hmm_run(enum backing b, enum state s, enum hmm_op o)
{
	static const unsigned long cmds[] = {
		HMM_DMIRROR_READ, HMM_DMIRROR_WRITE, HMM_DMIRROR_MIGRATE_TO_DEV,
	};
	char *p = map_backing(b, size), *bounce = mkvm_map_anon(size);
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)p, .ptr = (uintptr_t)bounce, .npages = size / PAGE_SIZE,
	};
	int fd = hmm_open();
	double t0, t;

	populate(bounce, size);
	if (s != FRESH)
		populate(p, size);
	t0 = mkvm_now();
	if (ioctl(fd, cmds[o], &cmd))
		tap_fail(__FILE__, __LINE__, "test_hmm ioctl %d: %s", o, strerror(errno));
	t = mkvm_now() - t0;
	note_thp(b, p);
	ASSERT_EQ(cmd.cpages, size / PAGE_SIZE);
	close(fd);
	munmap(bounce, size);
	munmap(p, size);
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median, min, max and median absolute deviation of @n values. */
static void summarize(double *v, unsigned int n, struct result *r)
{
	double dev[MAX_ROUNDS];
	unsigned int i;

	qsort(v, n, sizeof(*v), cmp_double);
	r->min = v[0];
	r->max = v[n - 1];
	r->median = mkvm_median(v, n);
	for (i = 0; i < n; i++)
		dev[i] = fabs(v[i] - r->median);
	r->mad = mkvm_median(dev, n);
}

static void print_json_num(const char *key, double v)
{
	/* JSON has no NaN or infinity: a figure that is not one is null. */
	if (!isfinite(v) || v < 0)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%.6g", key, v);
}

static void print_result(const struct result *r, const char *unit)
{
	printf("# %-4s %-26s %12.6g %s  (min %.6g, max %.6g, MAD %.1f%%)",
	       backing_name[r->backing], r->name, r->median, unit, r->min, r->max,
	       r->median > 0 ? 100 * r->mad / r->median : 0);
	if (r->thp_fraction >= 0)
		printf(" huge %.0f%%", 100 * r->thp_fraction);
	if (r->s2_blocks >= 0)
		printf(" s2 blocks %ld", r->s2_blocks);
	printf("\n# bench-json: {\"kind\":\"measure\",\"name\":\"%s\",\"backing\":\"%s\",\"unit\":\"%s\",\"rounds\":%u",
	       r->name, backing_name[r->backing], unit, rounds);
	print_json_num("median", r->median);
	print_json_num("min", r->min);
	print_json_num("max", r->max);
	print_json_num("mad", r->mad);
	print_json_num("thp_fraction", r->thp_fraction);
	print_json_num("s2_blocks", r->s2_blocks);
	printf("}\n");
	fflush(stdout);
}

/* Summarizes and prints @v (ROUNDS values) as @r. */
static void record(struct result *r, const char *name, enum backing b, double *v,
		   const char *unit)
{
	r->name = name;
	r->backing = b;
	summarize(v, rounds, r);
	r->thp_fraction = last_thp_fraction;
	r->s2_blocks = last_s2_blocks;
	last_thp_fraction = -1;
	last_s2_blocks = -1;
	print_result(r, unit);
}

/*
 * Runs @call once to warm up and ROUNDS times to measure; @call returns
 * the seconds it took for @bytes, recorded as 4K pages per second.
 */
#define MEASURE(r, name, b, bytes, call) do {				\
	double v_[MAX_ROUNDS];						\
	unsigned int i_;						\
									\
	call;								\
	for (i_ = 0; i_ < rounds; i_++)					\
		v_[i_] = (bytes) / PAGE_SIZE / (call);			\
	record((r), (name), (b), v_, "pages/s");			\
} while (0)

/* A ratio of medians, with the target it is judged against (if any). */
static void ratio(const char *name, const struct result *num, const struct result *den,
		  const char *cmp, double target)
{
	double v = num->median / den->median;
	int met = !cmp ? -1 : *cmp == '>' ? v >= target : v <= target;

	printf("# ratio %-44s %8.2f", name, v);
	if (cmp)
		printf("   target %s %.2f: %s", cmp, target, met ? "met" : "NOT met");
	printf("\n# bench-json: {\"kind\":\"ratio\",\"name\":\"%s\",\"num\":\"%s/%s\",\"den\":\"%s/%s\"",
	       name, num->name, backing_name[num->backing], den->name,
	       backing_name[den->backing]);
	print_json_num("value", v);
	if (cmp)
		printf(",\"target\":\"%s %g\",\"met\":%s}\n", cmp, target, met ? "true" : "false");
	else
		printf(",\"target\":null,\"met\":null}\n");
	fflush(stdout);
}

/* Rounds per case, and (@mb_var) the memory per case, checked and said. */
static void setup(const char *mb_var, unsigned long mb)
{
	rounds = env_ulong("MKVM_BENCH_ROUNDS", 9);
	size = env_ulong(mb_var, mb) * MB;
	ASSERT_TRUE(rounds >= 1 && rounds <= MAX_ROUNDS);
	ASSERT_TRUE(size >= HUGE_2M && size % HUGE_2M == 0);
	printf("# %lu MiB per case, warm-up + %u rounds, median (min, max, median absolute deviation)\n",
	       size / MB, rounds);
}

/* Each case of one backing; ratios within it. */
struct cases {
	struct result native, fresh, populated, refault, populated_read, populated_blocks;
	struct result hmm_read, hmm_write, hmm_fresh_write, hmm_migrate;
};

static void measure_backing(enum backing b, struct cases *c)
{
	MEASURE(&c->native, "native_first_touch", b, size, native_touch(b));
	MEASURE(&c->fresh, "mkvm_fresh", b, size, mkvm_touch(b, FRESH, 1));
	MEASURE(&c->populated, "mkvm_populated", b, size, mkvm_touch(b, POPULATED, 1));
	MEASURE(&c->populated_read, "mkvm_populated_read", b, size, mkvm_touch(b, POPULATED, 0));
	MEASURE(&c->refault, "mkvm_refault", b, size, mkvm_touch(b, REFAULT, 1));
	if (b == B_THP)
		MEASURE(&c->populated_blocks, "mkvm_populated_per_2m", b, BLOCK_VMS * size,
			mkvm_blocks_round());
	MEASURE(&c->hmm_read, "hmm_populated_read", b, size, hmm_run(b, POPULATED, HMM_READ));
	MEASURE(&c->hmm_write, "hmm_populated_write", b, size, hmm_run(b, POPULATED, HMM_WRITE));
	MEASURE(&c->hmm_fresh_write, "hmm_fresh_write", b, size, hmm_run(b, FRESH, HMM_WRITE));
	/* migrate_vma splits a THP into 4K pages first (6.1): 4K only. */
	if (b == B_4K)
		MEASURE(&c->hmm_migrate, "hmm_populated_migrate", b, size,
			hmm_run(b, POPULATED, HMM_MIGRATE));
}

/*
 * Every case on 4K and on THP-backed memory, and the ratios the project
 * reports against: fresh 4K fault-in >= 0.8x native first touch;
 * populated >= 4x test_hmm's mirror (which copies every page into its own
 * and out again); THP >= 100x the 4K rate per byte.
 */
TEST_T(fault_in, 1800)
{
	struct cases k4, thp;

	setup("MKVM_BENCH_MB", 128);
	mkvm_need_thp();
	close(hmm_open());
	measure_backing(B_4K, &k4);
	measure_backing(B_THP, &thp);

	/* The THP cases must really have been huge, or their figures lie. */
	ASSERT_TRUE(thp.populated.thp_fraction >= 0.9);
	ASSERT_EQ(thp.populated.s2_blocks, (long)(size / HUGE_2M));
	ASSERT_EQ(thp.populated_blocks.s2_blocks, (long)(size / HUGE_2M));
	ASSERT_EQ(k4.populated.s2_blocks, 0);

	ratio("4k mkvm fresh / native first touch", &k4.fresh, &k4.native, ">=", 0.8);
	ratio("4k mkvm populated read / hmm populated read", &k4.populated_read, &k4.hmm_read, ">=", 4);
	ratio("4k mkvm populated write / hmm populated write", &k4.populated, &k4.hmm_write, ">=", 4);
	ratio("4k mkvm populated / native first touch", &k4.populated, &k4.native, NULL, 0);
	ratio("4k mkvm refault / mkvm populated", &k4.refault, &k4.populated, NULL, 0);
	ratio("4k hmm fresh write / native first touch", &k4.hmm_fresh_write, &k4.native, NULL, 0);
	ratio("4k hmm migrate / hmm populated read", &k4.hmm_migrate, &k4.hmm_read, NULL, 0);
	ratio("thp mkvm fresh / native first touch", &thp.fresh, &thp.native, ">=", 0.8);
	ratio("thp mkvm populated read / hmm populated read", &thp.populated_read, &thp.hmm_read, ">=", 4);
	ratio("thp mkvm populated, 1 access per 2M / 4k", &thp.populated_blocks, &k4.populated_read, ">=", 100);
	ratio("thp mkvm populated / 4k mkvm populated", &thp.populated, &k4.populated, NULL, 0);
	ratio("thp mkvm fresh / 4k mkvm fresh", &thp.fresh, &k4.fresh, NULL, 0);
	ratio("thp mkvm refault / 4k mkvm refault", &thp.refault, &k4.refault, NULL, 0);
}

enum zap_call { ZAP_MUNMAP, ZAP_DONTNEED };
enum zap_setup { NO_VM, VM_ELSEWHERE, VM_MAPPED };

/*
 * One round: @bytes of populated 4K memory, a VM per @vms, and the time of
 * the process's own munmap() or MADV_DONTNEED of the memory. VM_ELSEWHERE
 * has the VM (so its notifier) but a memslot on other memory; VM_MAPPED
 * has every page of the memory mapped in stage-2.
 */
static double zap_round(size_t bytes, enum zap_call call, enum zap_setup vms)
{
	char *p = map_backing(B_4K, bytes), *other = NULL;
	struct mkvm_guest_op op = {
		.type = MKVM_OP_TOUCH_READ, .gpa = GPA, .len = bytes,
	};
	struct mkvm_vcpu_ctx vcpu;
	double t0, t;
	int vm = -1;

	populate(p, bytes);
	if (vms != NO_VM) {
		vm = mkvm_vm_create();
		if (vms == VM_ELSEWHERE) {
			other = map_backing(B_4K, HUGE_2M);
			op.len = HUGE_2M;
		}
		ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA, op.len, other ? other : p));
		mkvm_vcpu_open(vm, 0, &vcpu);
		ASSERT_OK(mkvm_run_ops(&vcpu, &op, 1));
	}
	t0 = mkvm_now();
	if (call == ZAP_MUNMAP)
		ASSERT_OK(munmap(p, bytes));
	else
		ASSERT_OK(madvise(p, bytes, MADV_DONTNEED));
	t = mkvm_now() - t0;
	if (call == ZAP_DONTNEED)
		munmap(p, bytes);
	if (vm >= 0) {
		munmap(vcpu.run, PAGE_SIZE);
		close(vcpu.fd);
		close(vm);
	}
	if (other)
		munmap(other, HUGE_2M);
	return t;
}

/*
 * The cost a registered mkvm notifier adds to the process's own munmap()
 * and MADV_DONTNEED of memory mkvm maps, against the same call on memory
 * it does not map (target <= 1.3x), and against a process with no VM.
 */
TEST_T(notifier_overhead, 1800)
{
	size_t bytes;
	static const char *const names[][3] = {
		{ "munmap_no_vm", "munmap_vm_elsewhere", "munmap_vm_mapped" },
		{ "dontneed_no_vm", "dontneed_vm_elsewhere", "dontneed_vm_mapped" },
	};
	double v[2][3][MAX_ROUNDS];
	struct result r[2][3];
	unsigned int i;
	int call, vms;

	setup("MKVM_BENCH_NOTIFIER_MB", 1024);
	bytes = size;
	printf("# the process's own call on %lu MiB of populated 4K memory\n", bytes / MB);
	/*
	 * Interleaved, a round of each setup at a time, so that a drift in
	 * the guest (its free memory, the host's load) weighs on all alike.
	 * All in this process: after the first VM its mm keeps an (empty)
	 * notifier list, so "no VM" is no VM now, not no notifier ever.
	 * A new process per round was tried: its first touch and exit of
	 * 1 GiB made the spread 3-6 times wider (MAD up to 19%).
	 */
	for (i = 0; i <= rounds; i++)
		for (call = ZAP_MUNMAP; call <= ZAP_DONTNEED; call++)
			for (vms = NO_VM; vms <= VM_MAPPED; vms++) {
				double t = zap_round(bytes, call, vms) * 1000;

				if (i)	/* round 0 warms up */
					v[call][vms][i - 1] = t;
			}
	for (call = ZAP_MUNMAP; call <= ZAP_DONTNEED; call++) {
		for (vms = NO_VM; vms <= VM_MAPPED; vms++)
			record(&r[call][vms], names[call][vms], B_4K, v[call][vms], "ms");
		/* Times, not rates: mapped over elsewhere, the target a ceiling. */
		ratio(call == ZAP_MUNMAP ? "munmap mapped / elsewhere" :
		      "MADV_DONTNEED mapped / elsewhere",
		      &r[call][VM_MAPPED], &r[call][VM_ELSEWHERE], "<=", 1.3);
		ratio(call == ZAP_MUNMAP ? "munmap mapped / no VM" : "MADV_DONTNEED mapped / no VM",
		      &r[call][VM_MAPPED], &r[call][NO_VM], NULL, 0);
	}
}

/* perf report's lines for @data, as TAP comments; @opts picks the view. */
static void perf_report(const char *perf, const char *data, const char *opts)
{
	char cmd[512], line[512];
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "%s report -i %s --stdio --comms bench_peer --percentage relative %s 2>&1",
		 perf, data, opts);
	printf("# perf: %s\n", cmd);
	f = popen(cmd, "r");
	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (line[0] != '\n' && strcmp(line, "#\n") && !strstr(line, "tips.txt") &&
		    !strstr(line, "--header"))
			printf("# perf: %s", line);
	ASSERT_EQ(pclose(f), 0);
}

/*
 * Opens perf's control fifo for writing once perf holds it (it opens both
 * read-write), failing if perf exits first or takes longer than
 * PERF_WAIT_MS; then the ack fifo.
 */
static void perf_open_fifos(pid_t pid, const char *ctl, const char *ack)
{
	int status, waited;

	for (waited = 0; (perf_ctl = open(ctl, O_WRONLY | O_NONBLOCK)) < 0; waited += 10) {
		ASSERT_TRUE(errno == ENXIO);	/* no reader yet */
		if (waitpid(pid, &status, WNOHANG) == pid) {
			system("cat /tmp/perf.log");
			tap_fail(__FILE__, __LINE__, "perf record exited (status %#x)", status);
		}
		if (waited >= PERF_WAIT_MS)
			tap_fail(__FILE__, __LINE__, "perf record did not open %s", ctl);
		usleep(10 * 1000);
	}
	perf_ack = open(ack, O_RDONLY | O_NONBLOCK);
	ASSERT_TRUE(perf_ack >= 0);
}

/*
 * perf records the whole guest (cpu-clock, call graphs by frame pointer),
 * but only while MKVM_RUN faults in 4K memory in state @s (ROUNDS times):
 * it starts disabled and mkvm_touch() turns it on and off through
 * perf's control fifo, so that setting up each round is not counted. The
 * report keeps this process's samples: its own and the kernel's on its
 * behalf.
 */
static void profile_state(const char *perf, enum state s, const char *data)
{
	static const char ctl[] = "/tmp/perf-ctl", ack[] = "/tmp/perf-ack";
	char control[64];
	int status;
	unsigned int i;
	pid_t pid;

	unlink(ctl);
	unlink(ack);
	ASSERT_OK(mkfifo(ctl, 0600));
	ASSERT_OK(mkfifo(ack, 0600));
	snprintf(control, sizeof(control), "fifo:%s,%s", ctl, ack);
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		freopen("/tmp/perf.log", "w", stderr);
		execl(perf, "perf", "record", "-a", "-g", "-e", "cpu-clock", "-F", "2000",
		      "-N", "-q", "-D", "-1", "--control", control, "-o", data, NULL);
		_exit(127);
	}
	perf_open_fifos(pid, ctl, ack);
	/* A populated round is short: four times as many for the samples. */
	for (i = 0; i < (s == FRESH ? rounds : 4 * rounds); i++)
		mkvm_touch(B_4K, s, 1);
	close(perf_ctl);
	close(perf_ack);
	perf_ctl = perf_ack = -1;
	ASSERT_OK(kill(pid, SIGINT));
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	/* perf record writes its data, then dies of the SIGINT it was sent. */
	ASSERT_TRUE((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
		    (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT));
	perf_report(perf, data, "--no-children --sort dso,sym -g none --percent-limit 1.5");
	perf_report(perf, data, "--children --sort sym -g none --percent-limit 5");
	/* The guest's /tmp is memory the later benchmarks may want. */
	unlink(data);
	unlink(ctl);
	unlink(ack);
}

/*
 * Where a fault-in's time goes, populated (the stage-2 fault path alone)
 * and fresh (with the host's page allocation). Needs perf in the guest
 * (the bench lane copies the host's): MKVM_BENCH_PERF is its path.
 */
TEST_T(profile, 900)
{
	const char *perf = getenv("MKVM_BENCH_PERF");

	if (!perf)
		tap_skip("no MKVM_BENCH_PERF: only the bench lane has perf in the guest");
	if (access(perf, X_OK))
		tap_fail(__FILE__, __LINE__, "MKVM_BENCH_PERF=%s: %s", perf, strerror(errno));
	/* A perf that dies mid-run fails the write, not the test program. */
	signal(SIGPIPE, SIG_IGN);
	setup("MKVM_BENCH_MB", 128);
	printf("# profile: populated 4K memory\n");
	profile_state(perf, POPULATED, "/tmp/perf-populated.data");
	printf("# profile: fresh 4K memory\n");
	profile_state(perf, FRESH, "/tmp/perf-fresh.data");
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
