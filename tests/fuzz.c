// SPDX-License-Identifier: GPL-2.0
/*
 * A coverage-guided fuzzer for mkvm, run in the test guest.
 *
 * Executor threads run programs: short sequences of random, well-typed
 * calls on every kind of fd (/dev/mkvm, VM, vCPU) with arguments pushed
 * to the edges (sizes, alignment, overlaps, ids, op arrays). Each program
 * runs with KCOV on for its thread: one that reaches a new edge in mkvm
 * joins the corpus, which later programs mutate. A chaos thread meanwhile
 * changes the backing memory (munmap and MAP_FIXED, mremap away and back,
 * madvise DONTNEED/FREE/PAGEOUT/HUGEPAGE/COLLAPSE, mprotect, fork, a punched
 * hole in memfd memory), arms the test build's delay hooks, replaces fds
 * with /dev/null (dup2) and run pages with fresh memory under the
 * executors.
 *
 * Oracles:
 *  - every errno is one docs/api.md gives for that call;
 *  - every guest read (and pfn cache read) returns bytes that were
 *    written to that page: each 8-byte word of backing page (r, i) only
 *    ever holds, byte for byte, 0 or the word W(r, i); canary pages around
 *    every region must keep their pattern;
 *  - no hang: a watchdog fails the run when no call completes for 60 s;
 *  - no kernel splat, no leak: the harness's own checks.
 *
 * Seeded: each executor's generator is seeded from the seed, and a
 * failure prints the seed and the failing program (every call with its
 * arguments). `make fuzz SEED=...` reruns with the same seed: the first
 * programs are the same, but which corpus entries later programs mutate
 * depends on coverage found by both executors, and so on timing, as do the
 * interleavings with the chaos thread. The printed program is what to turn
 * into a regression test.
 *
 * Environment: MKVM_FUZZ_SEED (default: from the clock), MKVM_FUZZ_SECONDS
 * (default 10; the debug lane runs 120), MKVM_FUZZ_SITES and MKVM_FUZZ_TEXT_SIZE (from the
 * harness: the number of KCOV call sites in mkvm.ko's .text, and its size),
 * MKVM_FUZZ_PRINT_COVER=1 (print the covered offsets, for make fuzz).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"
/* tests/fuzz/regress/'s programs, by tests/fuzz/embed.sh: fuzz_regressions_text[]. */
#include "fuzz_regress.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define KCOV_INIT_TRACE		_IOR('c', 1, unsigned long)
#define KCOV_ENABLE		_IO('c', 100)
#define KCOV_DISABLE		_IO('c', 101)
#define KCOV_TRACE_PC		0
#define COVER_WORDS		(64 << 10)

/* uapi/linux/kcov.h's, which not every libc's kernel headers have yet. */
struct kcov_remote_arg {
	uint32_t trace_mode;
	uint32_t area_size;
	uint32_t num_handles;
	uint64_t common_handle __attribute__((aligned(8)));
};

#define KCOV_REMOTE_ENABLE	_IOW('c', 102, struct kcov_remote_arg)

#define NEXEC		2
#define NREGIONS	2		/* per executor */
#define REGION_PAGES	512		/* 2M of data */
#define NVMS		2		/* per executor */
#define NSHARED		2		/* VMs both executors use */
#define MAX_RETIRED	32
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NSLOTS		4
#define NVCPUS		2
#define MAX_CALLS	16
#define CORPUS_MAX	512
#define EDGE_BITS	(1 << 16)
/* The top half of every word written; its low byte is what TOUCH_WRITE writes. */
#define MAGIC		0xf0220ca5000000a5ULL

/* A 64-bit generator per thread (xorshift64*). */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static uint64_t pick(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

/* A backing region: canary page, REGION_PAGES data pages, canary page. */
struct region {
	char *base;		/* the first canary page */
	int memfd;		/* >= 0: shared memfd memory */
	int id;
};

/*
 * The word every 8 bytes of data page @i of region @r hold, or 0: byte 0
 * is TOUCH_WRITE's 0xa5, bytes 1 to 3 say which page (none of them 0, so
 * that a page of another region or index never passes for this one).
 */
static uint64_t word_of(int r, uint64_t i)
{
	return MAGIC | (1 + i / 255) << 24 | (1 + i % 255) << 16 | (uint64_t)(0x10 + r) << 8;
}

static char *data_of(struct region *rg)
{
	return rg->base + PAGE_SIZE;
}

enum call_kind {
	C_CREATE_VM, C_CREATE_VCPU, C_SET_REGION, C_RUN, C_GPC_ACTIVATE,
	C_GPC_ACCESS, C_GPC_DEACTIVATE, C_CLOCK, C_INVALIDATE_ROOTS,
	C_ENABLE_CAP, C_GET_LOG, C_CLEAR_LOG, C_QUERY, C_CLOSE, C_BAD_IOCTL,
	C_PROCESS_WRITE, C_STATS, NR_CALL_KINDS,
};

static const char * const call_names[] = {
	"create_vm", "create_vcpu", "set_region", "run", "gpc_activate",
	"gpc_access", "gpc_deactivate", "clock", "invalidate_roots",
	"enable_cap", "get_dirty_log", "clear_dirty_log", "query", "close",
	"bad_ioctl", "process_write", "stats",
};

struct call {
	uint8_t kind;
	uint64_t a[6];
};

struct prog {
	unsigned int n;
	struct call c[MAX_CALLS];
};

struct slot {
	bool used;
	uint32_t flags;
	uint64_t gpa, npages;
	int region;		/* backing: region (regions[]) and first data page */
	uint64_t first;
};

/*
 * A VM as the executors know it, under @lock: its owner's e->lock, or for
 * a shared VM its own. Calls that change what is known (create, slots,
 * pfn cache keys, close) run under @lock and bump @gen; the others drop
 * @lock for the ioctl (@busy counts them) and trust what they saw only if
 * @gen did not move meanwhile. An fd closed while @busy is dup2()ed over
 * with /dev/null and closed when the last such call returns, so that its
 * number is never reused under a running call; a run page likewise gives
 * way to anonymous memory first.
 */
struct vm {
	pthread_mutex_t *lock;
	pthread_cond_t idle;	/* @busy fell to 0 */
	int busy;
	unsigned long gen;
	bool shared;
	int retired_fds[MAX_RETIRED], nretired_fds;
	void *retired_runs[MAX_RETIRED];
	int nretired_runs;
	/* From here on, reset by vm_reset(). */
	int fd;			/* -1: none */
	bool sabotaged;		/* the chaos thread replaced an fd */
	struct slot slots[NSLOTS];
	struct mkvm_vcpu_ctx vcpu[NVCPUS];
	/*
	 * Per vCPU, its op array and whether an executor is running it. Only
	 * one runs a vCPU at a time, so only one writes its run page and its
	 * ops; and a run page the kernel kept (the chaos thread replaced the
	 * process's mapping) points only at this vCPU's ops, built for this VM.
	 */
	struct mkvm_guest_op ops[NVCPUS][32];
	int running[NVCPUS];	/* the executor's id + 1; 0 once closed */
	/* What each pfn cache is keyed on, once activated. */
	struct { bool active, hva; uint64_t key; } gpc[3];
};

struct executor {
	int id;
	pthread_t thread;
	uint64_t rng;
	struct region reg[NREGIONS];
	struct vm vms[NVMS];
	pthread_mutex_t lock;	/* vms[]: this thread and the chaos thread */
	struct prog cur;
	unsigned int cur_call;
	int kcov;
	unsigned long *cover;
	unsigned long *remote_cover;	/* see executor_start() */
	atomic_long calls;
	bool idle;		/* replaying, with no program of its own */
	atomic_bool done;	/* its thread has returned */
};

static struct executor execs[NEXEC];
static struct region *regions[NEXEC * NREGIONS];
static struct vm shared_vms[NSHARED];
static pthread_mutex_t shared_locks[NSHARED];
/* MKVM_FUZZ_PROG or a regression: each executor's program, run over and over. */
static struct prog replay[NEXEC];
static bool replaying;
static atomic_long replays;
/* The chaos thread's completed operations, for the watchdog; and whether it returned. */
static atomic_long chaos_ops;
static atomic_bool chaos_done;
static uint64_t seed;
static double deadline;
static atomic_int stop;
/*
 * Held for write while the chaos thread leaves a hole in a region (munmap,
 * mremap away), for read by an executor's mmap: one landing in the hole
 * would be taken over by the MAP_FIXED or mremap that closes it.
 */
static pthread_rwlock_t holes = PTHREAD_RWLOCK_INITIALIZER;
static char *clock_page;	/* the clock writes here only */
static int devnull, self_mem;

static pthread_mutex_t corpus_lock = PTHREAD_MUTEX_INITIALIZER;
static struct prog corpus[CORPUS_MAX];
static unsigned int corpus_n;
static uint8_t edges[EDGE_BITS / 8];
static uint8_t *covered;	/* one byte per .text offset */
static unsigned long text_start, text_size;
static long sites;
static atomic_long edges_n, new_inputs;

/* Straight to fd 1: on_sigsegv() prints programs too. */
static void print_prog(const struct prog *p)
{
	unsigned int i;

	for (i = 0; i < p->n; i++)
		dprintf(1, "#   %2u %-16s %#llx %#llx %#llx %#llx %#llx %#llx\n", i,
			call_names[p->c[i].kind], (unsigned long long)p->c[i].a[0],
			(unsigned long long)p->c[i].a[1], (unsigned long long)p->c[i].a[2],
			(unsigned long long)p->c[i].a[3], (unsigned long long)p->c[i].a[4],
			(unsigned long long)p->c[i].a[5]);
}

/*
 * What every executor is running, in the form MKVM_FUZZ_PROG and
 * tests/fuzz/regress/ take: a line "executor K ...", then its calls. The
 * other executor's program matters too: they share VMs.
 */
static void print_programs(void)
{
	int k;

	for (k = 0; k < NEXEC; k++) {
		if (execs[k].idle || !execs[k].cur.n)
			continue;
		dprintf(1, "# executor %d at call %u of:\n", k, execs[k].cur_call);
		print_prog(&execs[k].cur);
	}
}

/* A finding: say what, the seed, and the programs; fail the test. */
static void __attribute__((noreturn, format(printf, 3, 4)))
finding(struct executor *e, int line, const char *fmt, ...)
{
	va_list ap;

	atomic_store(&stop, 1);
	printf("# FUZZ FINDING (seed %llu, executor %d, call %u):\n# ",
	       (unsigned long long)seed, e ? e->id : -1, e ? e->cur_call : 0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n# to replay: the executor lines below in FILE, then make fuzz PROG=FILE\n");
	fflush(stdout);
	print_programs();
	fflush(stdout);
	tap_fail(__FILE__, line, "fuzz finding, seed %llu", (unsigned long long)seed);
}

/*
 * Programs from text: a line "executor K" (after any '#' and blanks)
 * starts executor K's program; a line "N name a0 a1 a2 a3 a4 a5", as
 * print_prog() prints it, is a call; other lines are comments. False,
 * having said why, for a call outside any executor or an unknown name.
 */
static bool parse_programs(const char *text, struct prog *progs)
{
	char *copy = strdup(text), *line, *save = NULL;
	bool ok = true;
	int k = -1;

	ASSERT_TRUE(copy);
	memset(progs, 0, NEXEC * sizeof(*progs));
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long a[6];
		unsigned int idx, kind;
		char name[32];

		line += strspn(line, "# \t");
		if (sscanf(line, "executor %d", &k) == 1) {
			if (k < 0 || k >= NEXEC) {
				printf("# executor %d: there are %d\n", k, NEXEC);
				ok = false;
			}
			continue;
		}
		if (sscanf(line, "%u %31s %llx %llx %llx %llx %llx %llx", &idx, name, &a[0],
			   &a[1], &a[2], &a[3], &a[4], &a[5]) != 8)
			continue;
		for (kind = 0; kind < NR_CALL_KINDS && strcmp(name, call_names[kind]); kind++)
			;
		if (kind == NR_CALL_KINDS || k < 0 || k >= NEXEC || progs[k].n == MAX_CALLS) {
			printf("# not a call of an executor's program: %s\n", line);
			ok = false;
			continue;
		}
		progs[k].c[progs[k].n].kind = kind;
		memcpy(progs[k].c[progs[k].n].a, a, sizeof(a));
		progs[k].n++;
	}
	free(copy);
	return ok;
}

/* The errnos docs/api.md gives for each call, 0-terminated. */
static const int errs_create_vm[] = { EINVAL, ENOMEM, EMFILE, ENFILE, 0 };
static const int errs_create_vcpu[] = { EINVAL, EEXIST, ENOMEM, EMFILE, ENFILE, 0 };
static const int errs_set_region[] = { EINVAL, EFAULT, EEXIST, ENOMEM, 0 };
static const int errs_run[] = { EINVAL, E2BIG, EFAULT, EINTR, ENOMEM, 0 };
static const int errs_gpc_activate[] = { EINVAL, EFAULT, EINTR, ENOMEM, 0 };
static const int errs_gpc_access[] = { EINVAL, ENOENT, EAGAIN, EFAULT, EINTR, ENOMEM, 0 };
static const int errs_gpc_deactivate[] = { EINVAL, ENOENT, 0 };
static const int errs_clock[] = { EINVAL, ENOENT, EBUSY, EFAULT, 0 };
static const int errs_einval[] = { EINVAL, 0 };
static const int errs_enable_cap[] = { EINVAL, EFAULT, 0 };
static const int errs_log[] = { EINVAL, ENOENT, EFAULT, ENOMEM, 0 };
static const int errs_bad[] = { ENOTTY, 0 };
static const int errs_stats[] = { EINVAL, ENOMEM, EMFILE, ENFILE, 0 };
static const int errs_none[] = { 0 };

/* Calls that succeeded and failed, by errno class, for the report. */
static atomic_long n_ok, n_failed, n_reads_checked, n_sabotaged;

static void check_errno(struct executor *e, long r, int err, const int *allowed,
			bool sabotaged, const char *what)
{
	if (r >= 0) {
		atomic_fetch_add(&n_ok, 1);
		return;
	}
	atomic_fetch_add(&n_failed, 1);
	for (; *allowed; allowed++)
		if (*allowed == err)
			return;
	/* An fd the chaos thread replaced with /dev/null. */
	if (sabotaged && (err == ENOTTY || err == EBADF))
		return;
	finding(e, __LINE__, "%s: errno %s, not one docs/api.md gives for it", what,
		strerrorname_np(err));
}

/* Byte by byte, @w is 0 or @want, its page's word. */
static bool word_ok(uint64_t w, uint64_t want)
{
	int b;

	for (b = 0; b < 64; b += 8) {
		uint64_t got = (w >> b) & 0xff;

		if (got && got != ((want >> b) & 0xff))
			return false;
	}
	return true;
}

static void check_word(struct executor *e, uint64_t w, uint64_t want, const char *what)
{
	atomic_fetch_add(&n_reads_checked, 1);
	if (!word_ok(w, want))
		finding(e, __LINE__,
			"%s read %#llx, which was never written there (the page holds 0 or %#llx)",
			what, (unsigned long long)w, (unsigned long long)want);
}

/* The word of data page @i of regions[@r]. */
static uint64_t page_word(int r, uint64_t i)
{
	return word_of(r, i);
}

/* Sizes and addresses: mostly sane, often at an edge. */
static uint64_t pick_pages(uint64_t *s)
{
	static const uint64_t edge[] = { 0, 1, 2, 511, 512, 513, REGION_PAGES,
					 REGION_PAGES + 1, 1ULL << 31, ~0ULL };

	return pick(s, 4) ? 1 + pick(s, REGION_PAGES) : edge[pick(s, 10)];
}

static uint64_t pick_gpa(uint64_t *s)
{
	static const uint64_t edge[] = { 0, PAGE_SIZE - 8, 1ULL << 48, (1ULL << 48) - PAGE_SIZE,
					 ~0ULL - PAGE_SIZE + 1, 3 };

	if (pick(s, 6))
		return (pick(s, 8) << 21) + (pick(s, 4) ? pick(s, REGION_PAGES) * PAGE_SIZE : 0);
	return edge[pick(s, 6)];
}

static void gen_call(uint64_t *s, struct call *c)
{
	unsigned int i;

	c->kind = pick(s, NR_CALL_KINDS);
	for (i = 0; i < 6; i++)
		c->a[i] = rnd(s);
}

static void gen_prog(uint64_t *s, struct prog *p)
{
	unsigned int i;

	p->n = 1 + pick(s, MAX_CALLS);
	for (i = 0; i < p->n; i++)
		gen_call(s, &p->c[i]);
	/* Most programs start by making something to work on. */
	if (pick(s, 4)) {
		p->c[0].kind = C_CREATE_VM;
		if (p->n > 3) {
			p->c[1].kind = C_SET_REGION;
			p->c[2].kind = C_CREATE_VCPU;
			p->c[3].kind = C_RUN;
			/* The same VM and vCPU for all four. */
			p->c[1].a[0] = p->c[2].a[0] = p->c[3].a[0] = p->c[0].a[0];
			p->c[3].a[1] = p->c[2].a[1];
		}
	}
}

static void mutate_prog(uint64_t *s, struct prog *p)
{
	unsigned int i = pick(s, p->n);

	switch (pick(s, 4)) {
	case 0:		/* one argument */
		p->c[i].a[pick(s, 6)] = rnd(s);
		break;
	case 1:		/* one call */
		gen_call(s, &p->c[i]);
		break;
	case 2:		/* insert one */
		if (p->n < MAX_CALLS) {
			memmove(&p->c[i + 1], &p->c[i], (p->n - i) * sizeof(p->c[0]));
			gen_call(s, &p->c[i]);
			p->n++;
		}
		break;
	default:	/* splice another input's tail */
		if (corpus_n) {
			const struct prog *o = &corpus[pick(s, corpus_n)];
			unsigned int j = pick(s, o->n);

			for (; j < o->n && i < MAX_CALLS; j++, i++)
				p->c[i] = o->c[j];
			if (i > p->n)
				p->n = i;
		}
		break;
	}
}

/* The VM a call's arguments name: one call in three names a shared one. */
static struct vm *vm_of(struct executor *e, uint64_t a)
{
	if (a % (NVMS + 1) == NVMS)
		return &shared_vms[a / (NVMS + 1) % NSHARED];
	return &e->vms[a % (NVMS + 1)];
}

static void vm_reset(struct vm *v)
{
	int i;

	v->fd = -1;
	v->sabotaged = false;
	memset(v->slots, 0, sizeof(v->slots));
	memset(v->gpc, 0, sizeof(v->gpc));
	memset(v->running, 0, sizeof(v->running));
	for (i = 0; i < NVCPUS; i++) {
		v->vcpu[i].fd = -1;
		v->vcpu[i].run = NULL;
	}
	v->gen++;
}

static void vm_init(struct vm *v, pthread_mutex_t *lock, bool shared)
{
	memset(v, 0, sizeof(*v));
	v->lock = lock;
	v->shared = shared;
	pthread_cond_init(&v->idle, NULL);
	vm_reset(v);
}

/* Close @fd of @v, under v->lock: see struct vm. */
static void fd_retire(struct vm *v, int fd)
{
	if (fd < 0)
		return;
	while (v->busy && v->nretired_fds == MAX_RETIRED)
		pthread_cond_wait(&v->idle, v->lock);
	if (!v->busy) {
		close(fd);
		return;
	}
	if (dup2(devnull, fd) != fd)
		tap_fail(__FILE__, __LINE__, "dup2 over fd %d: %s", fd, strerror(errno));
	v->retired_fds[v->nretired_fds++] = fd;
}

static void run_retire(struct vm *v, struct mkvm_run *run)
{
	if (!run)
		return;
	while (v->busy && v->nretired_runs == MAX_RETIRED)
		pthread_cond_wait(&v->idle, v->lock);
	if (!v->busy) {
		munmap(run, PAGE_SIZE);
		return;
	}
	if (mmap(run, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) != run)
		tap_fail(__FILE__, __LINE__, "replacing a run page: %s", strerror(errno));
	v->retired_runs[v->nretired_runs++] = run;
}

static void vcpu_close(struct vm *v, int i)
{
	/* The fd first: no new RUN may find the page gone and the fd alive. */
	fd_retire(v, v->vcpu[i].fd);
	run_retire(v, v->vcpu[i].run);
	v->vcpu[i].fd = -1;
	v->vcpu[i].run = NULL;
	v->running[i] = 0;
	v->gen++;
}

static void vm_close(struct vm *v)
{
	int i;

	for (i = 0; i < NVCPUS; i++)
		vcpu_close(v, i);
	fd_retire(v, v->fd);
	vm_reset(v);
}

/* Drop v->lock for a call on @v; returns the generation it saw. */
static unsigned long vm_unlock_for_call(struct vm *v)
{
	unsigned long gen = v->gen;

	v->busy++;
	pthread_mutex_unlock(v->lock);
	return gen;
}

/*
 * Back under v->lock after the call: close what was retired meanwhile if
 * this was the last call out. True if @v is still the VM the call saw,
 * untouched by the chaos thread: its results can be checked.
 */
static bool vm_relock_after_call(struct vm *v, unsigned long gen)
{
	int i;

	pthread_mutex_lock(v->lock);
	if (!--v->busy) {
		for (i = 0; i < v->nretired_fds; i++)
			close(v->retired_fds[i]);
		for (i = 0; i < v->nretired_runs; i++)
			munmap(v->retired_runs[i], PAGE_SIZE);
		v->nretired_fds = v->nretired_runs = 0;
		pthread_cond_broadcast(&v->idle);
	}
	return v->gen == gen && !v->sabotaged;
}

/* The slot that maps @gpa, or NULL. */
static struct slot *slot_at(struct vm *v, uint64_t gpa)
{
	int i;

	for (i = 0; i < NSLOTS; i++) {
		struct slot *sl = &v->slots[i];

		if (sl->used && gpa >= sl->gpa && gpa - sl->gpa < sl->npages * PAGE_SIZE)
			return sl;
	}
	return NULL;
}

/* A READ/WRITE op program over a VM's slots; checks what was read. */
static void do_run(struct executor *e, struct vm *v, const uint64_t *a)
{
	int vi = a[0] % NVCPUS, i, n = 1 + a[1] % 24;
	struct mkvm_vcpu_ctx vcpu = v->vcpu[vi];
	struct slot *used[NSLOTS], *sl;
	struct mkvm_guest_op *ops;
	uint64_t s = a[2];
	unsigned long gen;
	int nused = 0;
	bool same;
	long r;
	int err;

	if (vcpu.fd < 0 || !vcpu.run || v->running[vi])
		return;
	ops = v->ops[vi];
	/* Ops past this program's stop a stale run page's longer one (EINVAL). */
	memset(ops, 0, sizeof(v->ops[vi]));
	for (i = 0; i < NSLOTS; i++)
		if (v->slots[i].used)
			used[nused++] = &v->slots[i];
	for (i = 0; i < n; i++) {
		struct mkvm_guest_op *op = &ops[i];
		uint64_t gpa;

		/* Mostly inside a slot: an access outside exits to userspace. */
		sl = nused && pick(&s, 16) ? used[pick(&s, nused)] : NULL;
		gpa = sl ? sl->gpa + pick(&s, sl->npages) * PAGE_SIZE +
			pick(&s, PAGE_SIZE / 8) * 8 : pick_gpa(&s);
		op->gpa = gpa;
		switch (pick(&s, 8) ? 2 + pick(&s, 6) : pick(&s, 2) ? pick(&s, 2) : 8) {
		case 0:
			op->type = MKVM_OP_TOUCH_READ;
			op->gpa &= ~(PAGE_SIZE - 1);
			op->len = (1 + pick(&s, 4)) * PAGE_SIZE;
			break;
		case 1:
			op->type = MKVM_OP_TOUCH_WRITE;
			op->gpa &= ~(PAGE_SIZE - 1);
			op->len = (1 + pick(&s, 4)) * PAGE_SIZE;
			op->data = MAGIC & 0xff;
			break;
		case 2:
		case 3: {
			struct slot *at = slot_at(v, gpa);

			/*
			 * The page's word; on a shared VM, whose slots may
			 * change before this runs, only the byte every page's
			 * word has.
			 */
			op->type = MKVM_OP_WRITE;
			op->size = 8;
			op->data = at && !v->shared ? page_word(at->region, at->first +
						 (gpa - at->gpa) / PAGE_SIZE) : MAGIC & 0xff;
			break;
		}
		case 8:		/* an edge */
			op->type = pick(&s, 6);
			op->size = pick(&s, 10);
			op->len = pick(&s, 3) * PAGE_SIZE;
			break;
		default:
			op->type = MKVM_OP_READ;
			op->size = 8;
			break;
		}
	}
	/*
	 * Unlocked: the chaos thread may replace this VM's fds or this run
	 * page meanwhile, and on a shared VM the other executor may change
	 * its slots, or close it.
	 */
	v->running[vi] = e->id + 1;
	gen = vm_unlock_for_call(v);
	r = mkvm_run_ops(&vcpu, ops, n);
	err = errno;
	same = vm_relock_after_call(v, gen);
	/* Unless closing the vCPU cleared it, and maybe another took it since. */
	if (v->running[vi] == e->id + 1)
		v->running[vi] = 0;
	check_errno(e, r, err, errs_run, !same, "MKVM_RUN");
	if (r || !same)
		return;
	/* Every read that ran read what its page holds. */
	for (i = 0; i < (int)vcpu.run->next_op && i < n; i++) {
		struct mkvm_guest_op *op = &ops[i];

		if (op->type != MKVM_OP_READ || op->size != 8 || (op->gpa & 7))
			continue;
		sl = slot_at(v, op->gpa);
		if (sl)
			check_word(e, op->data, page_word(sl->region,
				   sl->first + (op->gpa - sl->gpa) / PAGE_SIZE), "a guest read");
	}
}

/*
 * The word a pfn cache's page holds (its key's page, now) in @word; false
 * when that is unknown here: a key in no data page, or in a slot with an
 * id this program does not track.
 */
static bool gpc_word(struct vm *v, unsigned int id, uint64_t *word)
{
	uint64_t key = v->gpc[id].key;
	struct slot *sl;
	int r;

	if (v->gpc[id].hva) {
		for (r = 0; r < NEXEC * NREGIONS; r++) {
			uintptr_t d = (uintptr_t)data_of(regions[r]);

			if (key >= d && key - d < REGION_PAGES * PAGE_SIZE) {
				*word = page_word(r, (key - d) / PAGE_SIZE);
				return true;
			}
		}
		return false;
	}
	sl = slot_at(v, key);
	if (!sl)
		return false;
	*word = page_word(sl->region, sl->first + (key - sl->gpa) / PAGE_SIZE);
	return true;
}

/*
 * One ioctl on @fd of @v with v->lock dropped, its errno checked against
 * @allowed (NULL: unchecked); *@same says whether @v stayed the same VM.
 */
static long vm_call(struct executor *e, struct vm *v, int fd, unsigned long req,
		    unsigned long arg, const int *allowed, const char *what, bool *same)
{
	unsigned long gen = vm_unlock_for_call(v);
	long r;
	int err;

	r = ioctl(fd, req, arg);
	err = errno;
	*same = vm_relock_after_call(v, gen);
	if (allowed)
		check_errno(e, r, err, allowed, !*same, what);
	return r;
}

/* One call of a program, on @v (the VM its first argument names), under v->lock. */
static void do_call(struct executor *e, struct vm *v, const struct call *c)
{
	const uint64_t *a = c->a;
	long r = 0;
	int err = 0;
	bool same;

	switch (c->kind) {
	case C_CREATE_VM:
	case C_CREATE_VCPU:
	case C_SET_REGION:
	case C_GPC_ACTIVATE:
	case C_GPC_DEACTIVATE:
	case C_CLOSE:
		/* What a call running unlocked on @v knows may change. */
		v->gen++;
		break;
	default:
		break;
	}
	errno = 0;
	switch (c->kind) {
	case C_CREATE_VM: {
		int dev = mkvm_open();

		if (v->fd >= 0)
			vm_close(v);
		r = ioctl(dev, MKVM_CREATE_VM, a[1] % 8 ? 0 : a[1]);
		err = errno;
		close(dev);
		check_errno(e, r, err, errs_create_vm, false, "MKVM_CREATE_VM");
		if (r >= 0)
			v->fd = r;
		return;
	}
	case C_CREATE_VCPU: {
		int vi = a[1] % NVCPUS;
		uint64_t id = a[2] % 4 ? a[2] % 8 : a[2] % 5000;

		if (v->fd < 0 || v->vcpu[vi].fd >= 0)
			return;
		r = ioctl(v->fd, MKVM_CREATE_VCPU, id);
		err = errno;
		check_errno(e, r, err, errs_create_vcpu, v->sabotaged, "MKVM_CREATE_VCPU");
		if (r >= 0) {
			v->vcpu[vi].fd = r;
			pthread_rwlock_rdlock(&holes);
			v->vcpu[vi].run = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
					       MAP_SHARED, r, 0);
			pthread_rwlock_unlock(&holes);
			if (v->vcpu[vi].run == MAP_FAILED)
				v->vcpu[vi].run = NULL;
		}
		return;
	}
	case C_SET_REGION: {
		uint32_t slot = a[1] % 8 ? a[1] % NSLOTS : a[1] % 40000;
		uint64_t s = a[2], npages = pick_pages(&s), first = pick(&s, REGION_PAGES);
		int reg = e->id * NREGIONS + pick(&s, NREGIONS);
		uint32_t flags = pick(&s, 4) ? (pick(&s, 3) ? 0 : MKVM_MEM_LOG_DIRTY_PAGES) :
				 (uint32_t)rnd(&s) & 7;
		uint64_t gpa = pick_gpa(&s) & ~(PAGE_SIZE - 1);
		uint64_t hva = (uintptr_t)data_of(regions[reg]) + first * PAGE_SIZE;
		bool in_region = first + npages <= REGION_PAGES;

		if (v->fd < 0)
			return;
		if (!pick(&s, 8))	/* an edge: unaligned, foreign, kernel */
			hva = pick(&s, 2) ? hva + 8 : 0xffff800000000000ULL;
		/* Stay off the canaries; the huge edges fail validation anyway. */
		if (!in_region && npages < (1ULL << 20))
			npages = REGION_PAGES - first;
		if (!pick(&s, 6))
			npages = 0;	/* delete */
		/* Often a change of flags alone (dirty logging on or off). */
		if (slot < NSLOTS && v->slots[slot].used && pick(&s, 3)) {
			struct slot *old = &v->slots[slot];

			gpa = old->gpa;
			npages = old->npages;
			reg = old->region;
			first = old->first;
			hva = (uintptr_t)data_of(regions[reg]) + first * PAGE_SIZE;
			flags = old->flags ^ MKVM_MEM_LOG_DIRTY_PAGES;
		}
		r = mkvm_set_region(v->fd, slot, flags, gpa, npages * PAGE_SIZE,
				    (void *)(uintptr_t)hva);
		err = errno;
		check_errno(e, r, err, errs_set_region, v->sabotaged,
			    "MKVM_SET_USER_MEMORY_REGION");
		if (r || slot >= NSLOTS)
			return;
		if (!npages) {
			v->slots[slot].used = false;
			return;
		}
		/* A flags-only change keeps where the slot is. */
		if (v->slots[slot].used && v->slots[slot].gpa == gpa &&
		    v->slots[slot].npages == npages) {
			v->slots[slot].flags = flags;
			return;
		}
		v->slots[slot] = (struct slot){ true, flags, gpa, npages, reg, first };
		return;
	}
	case C_RUN:
		if (v->fd >= 0)
			do_run(e, v, a + 1);
		return;
	case C_GPC_ACTIVATE: {
		uint64_t s = a[2];
		struct mkvm_gpc_activate act = {
			.id = pick(&s, 8) ? pick(&s, 3) : (uint32_t)rnd(&s),
			.flags = pick(&s, 2) ? MKVM_GPC_HVA : (pick(&s, 8) ? 0 : (uint32_t)rnd(&s)),
			.len = pick(&s, 8) ? 8 * (1 + pick(&s, 4)) : pick(&s, 9000),
		};
		struct slot *sl = &v->slots[pick(&s, NSLOTS)];

		if (v->fd < 0)
			return;
		if (act.flags == MKVM_GPC_HVA)
			act.addr = (uintptr_t)data_of(&e->reg[pick(&s, NREGIONS)]) +
				   pick(&s, REGION_PAGES) * PAGE_SIZE;
		else
			act.addr = sl->used ? sl->gpa + pick(&s, sl->npages) * PAGE_SIZE :
				   pick_gpa(&s);
		if (!pick(&s, 8))
			act.addr += pick(&s, 2) ? 4 : PAGE_SIZE - 8;
		r = ioctl(v->fd, MKVM_GPC_ACTIVATE, &act);
		err = errno;
		check_errno(e, r, err, errs_gpc_activate, v->sabotaged, "MKVM_GPC_ACTIVATE");
		if (act.id < 3 && !r) {
			v->gpc[act.id].active = true;
			v->gpc[act.id].hva = act.flags == MKVM_GPC_HVA;
			v->gpc[act.id].key = act.addr;
		}
		return;
	}
	case C_GPC_ACCESS: {
		uint64_t want;
		struct mkvm_gpc_access acc = {
			.id = a[1] % 8 ? a[1] % 3 : (uint32_t)a[1],
			.flags = a[2] % 4 ? 0 : a[2] % 3,
			.offset = a[3] % 4 ? (a[3] % 4) * 8 : a[3] % 100,
			.data = 0,
		};

		if (v->fd < 0)
			return;
		/* Reads only: a write would break the page words (the clock has its own). */
		r = vm_call(e, v, v->fd, MKVM_GPC_READ, (uintptr_t)&acc, errs_gpc_access,
			    "MKVM_GPC_READ", &same);
		if (!r && same && acc.id < 3 && v->gpc[acc.id].active &&
		    gpc_word(v, acc.id, &want))
			check_word(e, acc.data, want, "a pfn cache read");
		return;
	}
	case C_GPC_DEACTIVATE:
		if (v->fd < 0)
			return;
		r = ioctl(v->fd, MKVM_GPC_DEACTIVATE, a[1] % 8 ? a[1] % 4 : a[1]);
		err = errno;
		if (!r && a[1] % 8 && a[1] % 4 < 3)
			v->gpc[a[1] % 4].active = false;
		check_errno(e, r, err, errs_gpc_deactivate, v->sabotaged, "MKVM_GPC_DEACTIVATE");
		return;
	case C_CLOCK: {
		/* Cache 3 is the clock's, keyed on a page of its own. */
		struct mkvm_gpc_activate act = {
			.id = 3, .flags = MKVM_GPC_HVA, .addr = (uintptr_t)clock_page, .len = 16,
		};
		struct mkvm_clock_enable ce = {
			/* 3, or out of range: on a guest page's cache its writes break the words. */
			.id = a[1] % 8 || (uint32_t)a[1] < 8 ? 3 : (uint32_t)a[1],
			.flags = a[2] % 8 ? 0 : (uint32_t)a[2],
			.period_ns = a[3] % 4 ? MKVM_CLOCK_MIN_PERIOD_NS * (1 + a[3] % 50) : a[3],
		};

		if (v->fd < 0)
			return;
		if (a[4] % 2) {
			vm_call(e, v, v->fd, MKVM_CLOCK_DISABLE, a[5] % 8 ? 0 : a[5], errs_clock,
				"MKVM_CLOCK_DISABLE", &same);
		} else {
			vm_call(e, v, v->fd, MKVM_GPC_ACTIVATE, (uintptr_t)&act, NULL, NULL, &same);
			if (v->fd >= 0)
				vm_call(e, v, v->fd, MKVM_CLOCK_ENABLE, (uintptr_t)&ce, errs_clock,
					"MKVM_CLOCK_ENABLE", &same);
		}
		return;
	}
	case C_INVALIDATE_ROOTS:
		if (v->fd < 0)
			return;
		vm_call(e, v, v->fd, MKVM_INVALIDATE_ROOTS, a[1] % 8 ? 0 : a[1], errs_einval,
			"MKVM_INVALIDATE_ROOTS", &same);
		return;
	case C_ENABLE_CAP: {
		struct mkvm_enable_cap cap = {
			.cap = a[1] % 2 ? MKVM_CAP_MANUAL_DIRTY_LOG_PROTECT :
				MKVM_CAP_EAGER_SPLIT_CHUNK_SIZE,
			.args = { a[2] % 3 == 0 ? 0 : a[2] % 3 == 1 ? 1 : 2 << 20 },
		};

		if (v->fd < 0)
			return;
		if (!(a[3] % 8))
			cap.flags = a[3];
		vm_call(e, v, v->fd, MKVM_ENABLE_CAP, (uintptr_t)&cap, errs_enable_cap,
			"MKVM_ENABLE_CAP", &same);
		return;
	}
	case C_GET_LOG:
	case C_CLEAR_LOG: {
		static uint64_t bitmap[REGION_PAGES / 64 + 1];
		struct mkvm_dirty_log log = {
			.slot = a[1] % 8 ? a[1] % NSLOTS : (uint32_t)a[1],
			.dirty_bitmap = a[2] % 8 ? (uintptr_t)bitmap : a[2] % 3,
		};
		struct mkvm_clear_dirty_log clr = {
			.slot = log.slot, .first_page = a[3] % 4 ? 0 : a[3] % 1000,
			.num_pages = a[4] % 4 ? 64 : a[4] % 1000, .dirty_bitmap = log.dirty_bitmap,
		};

		if (v->fd < 0)
			return;
		bitmap[0] = ~0ULL;
		if (c->kind == C_GET_LOG)
			vm_call(e, v, v->fd, MKVM_GET_DIRTY_LOG, (uintptr_t)&log, errs_log,
				"MKVM_GET_DIRTY_LOG", &same);
		else
			vm_call(e, v, v->fd, MKVM_CLEAR_DIRTY_LOG, (uintptr_t)&clr, errs_log,
				"MKVM_CLEAR_DIRTY_LOG", &same);
		return;
	}
	case C_QUERY: {
		int dev = mkvm_open();

		vm_call(e, v, a[1] % 2 || v->fd < 0 ? dev : v->fd, MKVM_CHECK_EXTENSION, a[2] % 16,
			errs_none, "MKVM_CHECK_EXTENSION", &same);
		r = ioctl(dev, MKVM_GET_API_VERSION, a[3] % 4 ? 0 : a[3]);
		err = errno;
		check_errno(e, r, err, errs_einval, false, "MKVM_GET_API_VERSION");
		close(dev);
		return;
	}
	case C_CLOSE:
		if (a[1] % 2)
			vm_close(v);
		else
			vcpu_close(v, a[2] % NVCPUS);
		return;
	case C_BAD_IOCTL: {
		int fd = a[1] % 2 ? v->fd : v->vcpu[a[1] / 2 % NVCPUS].fd;

		if (fd < 0)
			return;
		vm_call(e, v, fd, _IO(MKVMIO, 0xc0 + a[2] % 0x30), 0, errs_bad, "an unknown ioctl",
			&same);
		return;
	}
	case C_STATS: {
		/* A VM's or a vCPU's stats fd, read at an edge, closed. */
		int fd = a[1] % 2 ? v->fd : v->vcpu[a[1] / 2 % NVCPUS].fd;
		char buf[256];

		if (fd < 0)
			return;
		r = vm_call(e, v, fd, MKVM_GET_STATS_FD, a[2] % 4 ? 0 : a[2], errs_stats,
			    "MKVM_GET_STATS_FD", &same);
		if (r < 0 || !same) {
			if (r >= 0)
				close(r);
			return;
		}
		if (pread(r, buf, a[3] % sizeof(buf), a[4] % 4096) < 0)
			finding(e, __LINE__, "reading a stats fd: %s", strerror(errno));
		close(r);
		return;
	}
	case C_PROCESS_WRITE: {
		int rg = a[1] % NREGIONS;
		uint64_t pg = a[2] % REGION_PAGES;
		uint64_t *w = (uint64_t *)(data_of(&e->reg[rg]) + pg * PAGE_SIZE) + a[3] % 512;
		uint64_t word = page_word(e->id * NREGIONS + rg, pg);

		/*
		 * Through /proc/self/mem: the chaos thread may have the page
		 * unmapped for a moment, which is an error here, not a SIGSEGV.
		 */
		if (pwrite(self_mem, &word, sizeof(word), (uintptr_t)w) < 0 && errno != EIO &&
		    errno != EFAULT)
			tap_fail(__FILE__, __LINE__, "/proc/self/mem: %s", strerror(errno));
		return;
	}
	}
}

/*
 * The PCs KCOV gathered in @cover since it was last reset: mark them
 * covered, and say whether they made an edge not seen before.
 */
static bool collect_coverage(unsigned long *cover)
{
	unsigned long n, i, prev = 0;
	bool fresh = false;

	if (!cover)
		return false;
	n = __atomic_load_n(&cover[0], __ATOMIC_RELAXED);
	if (n > COVER_WORDS - 1)
		n = COVER_WORDS - 1;
	pthread_mutex_lock(&corpus_lock);
	for (i = 0; i < n; i++) {
		unsigned long pc = cover[i + 1], h;

		if (pc < text_start || pc - text_start >= text_size)
			continue;
		covered[pc - text_start] = 1;
		h = ((pc * 0x9e3779b97f4a7c15ULL) ^ prev) % EDGE_BITS;
		prev = pc >> 1;
		if (!(edges[h / 8] & (1 << (h % 8)))) {
			edges[h / 8] |= 1 << (h % 8);
			atomic_fetch_add(&edges_n, 1);
			fresh = true;
		}
	}
	pthread_mutex_unlock(&corpus_lock);
	__atomic_store_n(&cover[0], 0, __ATOMIC_RELAXED);
	return fresh;
}

/* The program's new edges make it a corpus input. */
static void corpus_add(const struct prog *p)
{
	pthread_mutex_lock(&corpus_lock);
	if (corpus_n < CORPUS_MAX) {
		corpus[corpus_n++] = *p;
		atomic_fetch_add(&new_inputs, 1);
	}
	pthread_mutex_unlock(&corpus_lock);
}

static void next_prog(struct executor *e)
{
	if (replaying) {
		e->cur = replay[e->id];
		return;
	}
	pthread_mutex_lock(&corpus_lock);
	if (corpus_n && pick(&e->rng, 10) < 7) {
		e->cur = corpus[pick(&e->rng, corpus_n)];
		mutate_prog(&e->rng, &e->cur);	/* may splice: under the lock */
	} else {
		gen_prog(&e->rng, &e->cur);
	}
	pthread_mutex_unlock(&corpus_lock);
}

static void *executor_main(void *arg)
{
	struct executor *e = arg;
	unsigned int i;
	bool fresh;

	while (!atomic_load(&stop) && mkvm_now() < deadline) {
		if (e->idle) {
			usleep(10000);
			continue;
		}
		next_prog(e);
		/*
		 * Coverage since the last program's end: this one's, and what
		 * workers and timers ran meanwhile for VMs this thread made
		 * (remote KCOV), which may belong to the one before.
		 */
		if (e->cover)
			__atomic_store_n(&e->cover[0], 0, __ATOMIC_RELAXED);
		if (e->remote_cover)
			__atomic_store_n(&e->remote_cover[0], 0, __ATOMIC_RELAXED);
		/*
		 * The VM's lock per call, dropped while an ioctl that changes
		 * nothing the executors track runs: the chaos thread replaces
		 * fds and run pages meanwhile, the other executor changes a
		 * shared VM's slots or closes it.
		 */
		for (i = 0; i < e->cur.n && !atomic_load(&stop); i++) {
			struct vm *v = vm_of(e, e->cur.c[i].a[0]);

			e->cur_call = i;
			pthread_mutex_lock(v->lock);
			do_call(e, v, &e->cur.c[i]);
			pthread_mutex_unlock(v->lock);
			atomic_fetch_add(&e->calls, 1);
		}
		/* Each program leaves nothing of its own behind for the next. */
		pthread_mutex_lock(&e->lock);
		for (i = 0; i < NVMS; i++)
			vm_close(&e->vms[i]);
		pthread_mutex_unlock(&e->lock);
		fresh = collect_coverage(e->cover);
		fresh |= collect_coverage(e->remote_cover);
		if (fresh && !replaying)
			corpus_add(&e->cur);
		if (replaying)
			atomic_fetch_add(&replays, 1);
	}
	return NULL;
}

/* Hooks of the test build, armed at random for a few hits. */
static char hook_names[16][64];
static int nhooks;

static void hooks_find(void)
{
	DIR *d = opendir(MKVM_DEBUGFS "/hooks");
	struct dirent *de;

	while (d && (de = readdir(d)) && nhooks < 16)
		if (de->d_name[0] != '.' && strlen(de->d_name) < sizeof(hook_names[0]))
			memcpy(hook_names[nhooks++], de->d_name, strlen(de->d_name) + 1);
	if (d)
		closedir(d);
}

static void hook_arm_random(uint64_t *s)
{
	char path[160], val[32];
	int fd, len;

	if (!nhooks)
		return;
	snprintf(path, sizeof(path), MKVM_DEBUGFS "/hooks/%.63s", hook_names[pick(s, nhooks)]);
	len = snprintf(val, sizeof(val), "%d %d", 1 + (int)pick(s, 20), 1 + (int)pick(s, 3));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, val, len) != len)
			tap_fail(__FILE__, __LINE__, "arming %s: %s", path, strerror(errno));
		close(fd);
	}
}

static void hooks_disarm(void)
{
	char path[160];
	int i, fd;

	for (i = 0; i < nhooks; i++) {
		snprintf(path, sizeof(path), MKVM_DEBUGFS "/hooks/%.63s", hook_names[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "0", 1) != 1)
				tap_fail(__FILE__, __LINE__, "disarming %s", path);
			close(fd);
		}
	}
}

/* Replace a range of a region by fresh memory of the same kind. */
static void region_remap(struct region *rg, char *at, size_t len)
{
	void *p;

	if (rg->memfd >= 0)
		p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, rg->memfd,
			 at - rg->base);
	else
		p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0);
	if (p != at)
		tap_fail(__FILE__, __LINE__, "remap %p + %#zx of region %d (memfd %d): %s",
			 at, len, rg->id, rg->memfd, strerror(errno));
}

/* Changes that keep every page's words 0 or its own (the oracle's rule). */
static void chaos_mm(uint64_t *s)
{
	struct executor *e = &execs[pick(s, NEXEC)];
	struct region *rg = &e->reg[pick(s, NREGIONS)];
	uint64_t first = pick(s, REGION_PAGES), n = 1 + pick(s, 64);
	char *at = data_of(rg) + first * PAGE_SIZE, *tmp;
	size_t len;

	if (first + n > REGION_PAGES)
		n = REGION_PAGES - first;
	len = n * PAGE_SIZE;
	switch (pick(s, 10)) {
	case 0:
		madvise(at, len, MADV_DONTNEED);
		break;
	case 1:
		madvise(at, len, rg->memfd >= 0 ? MADV_DONTNEED : MADV_FREE);
		break;
	case 2:
		madvise(at, len, MADV_PAGEOUT);
		break;
	case 3:
		madvise(data_of(rg), REGION_PAGES * PAGE_SIZE,
			pick(s, 2) ? MADV_HUGEPAGE : MADV_COLLAPSE);
		break;
	case 4:
		pthread_rwlock_wrlock(&holes);
		munmap(at, len);
		usleep(pick(s, 500));
		region_remap(rg, at, len);
		pthread_rwlock_unlock(&holes);
		break;
	case 5:		/* away and back: the pages move with it */
		tmp = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (tmp == MAP_FAILED)
			break;
		pthread_rwlock_wrlock(&holes);
		if (mremap(at, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, tmp) == tmp) {
			usleep(pick(s, 500));
			if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, at) != at)
				tap_fail(__FILE__, __LINE__, "mremap back: %s", strerror(errno));
		} else {
			munmap(tmp, len);
		}
		pthread_rwlock_unlock(&holes);
		break;
	case 6:
		mprotect(at, len, PROT_READ);
		usleep(pick(s, 500));
		mprotect(at, len, PROT_READ | PROT_WRITE);
		break;
	case 7: {	/* a child shares the memory copy-on-write, writes, exits */
		pid_t pid = fork();

		if (pid == 0) {
			memset(at, 0, PAGE_SIZE);
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		break;
	}
	case 8:
		if (rg->memfd >= 0)
			fallocate(rg->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  at - rg->base, len);
		break;
	default:
		hook_arm_random(s);
		break;
	}
}

/* The calling thread's KCOV buffer (fd in *@fd), or NULL without KCOV. */
static unsigned long *kcov_open(int *fd)
{
	unsigned long *cover;

	*fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return NULL;
	if (ioctl(*fd, KCOV_INIT_TRACE, COVER_WORDS))
		tap_fail(__FILE__, __LINE__, "KCOV_INIT_TRACE: %s", strerror(errno));
	cover = mmap(NULL, COVER_WORDS * sizeof(unsigned long), PROT_READ | PROT_WRITE,
		     MAP_SHARED, *fd, 0);
	if (cover == MAP_FAILED)
		tap_fail(__FILE__, __LINE__, "mmap kcov: %s", strerror(errno));
	return cover;
}

static void kcov_close(int fd, unsigned long *cover)
{
	if (!cover)
		return;
	munmap(cover, COVER_WORDS * sizeof(unsigned long));
	close(fd);
}

/* Replace a VM's fd, or a run page, under whoever uses it. */
static void chaos_fds(uint64_t *s)
{
	struct vm *v = pick(s, 3) ? &execs[pick(s, NEXEC)].vms[pick(s, NVMS)] :
				    &shared_vms[pick(s, NSHARED)];

	/* Between calls, or under an ioctl that runs with the lock dropped. */
	if (pthread_mutex_trylock(v->lock))
		return;
	if (v->fd >= 0 && !pick(s, 3)) {
		dup2(devnull, v->fd);
		v->sabotaged = true;
	} else if (v->vcpu[0].fd >= 0 && !pick(s, 2)) {
		dup2(devnull, v->vcpu[0].fd);
		v->sabotaged = true;
	} else if (v->vcpu[0].run) {
		/*
		 * Under a RUN maybe. The fd goes too: a later RUN would run
		 * whatever the kernel's page last held, not what it was given.
		 */
		mmap(v->vcpu[0].run, PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (v->vcpu[0].fd >= 0)
			dup2(devnull, v->vcpu[0].fd);
		v->sabotaged = true;
	}
	if (v->sabotaged)
		atomic_fetch_add(&n_sabotaged, 1);
	pthread_mutex_unlock(v->lock);
}

/* Its own KCOV: the notifier calls its mm changes make count as covered. */
static void *chaos_main(void *arg)
{
	uint64_t s = seed ^ 0xc4a05;
	unsigned long *cover;
	int kcov;

	(void)arg;
	cover = kcov_open(&kcov);
	if (cover && ioctl(kcov, KCOV_ENABLE, KCOV_TRACE_PC))
		tap_fail(__FILE__, __LINE__, "KCOV_ENABLE: %s", strerror(errno));
	while (!atomic_load(&stop) && mkvm_now() < deadline) {
		if (pick(&s, 20))
			chaos_mm(&s);
		else
			chaos_fds(&s);
		collect_coverage(cover);
		atomic_fetch_add(&chaos_ops, 1);
		usleep(pick(&s, 2000));
	}
	kcov_close(kcov, cover);
	atomic_store(&chaos_done, true);
	return NULL;
}

static void region_init(struct region *rg, int id, bool shared)
{
	size_t len = (REGION_PAGES + 2) * PAGE_SIZE;
	uint64_t i, w;

	rg->id = id;
	rg->memfd = -1;
	if (shared) {
		rg->memfd = memfd_create("mkvm-fuzz", MFD_CLOEXEC);
		ASSERT_TRUE(rg->memfd >= 0);
		ASSERT_OK(ftruncate(rg->memfd, len));
		rg->base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, rg->memfd, 0);
	} else {
		rg->base = mkvm_map_2m_aligned(len + (2 << 20), MADV_HUGEPAGE);
		/* Data on a 2M boundary: the canary page just before it. */
		rg->base = (char *)(((uintptr_t)rg->base + (2 << 20)) & ~((2UL << 20) - 1)) -
			   PAGE_SIZE;
	}
	ASSERT_TRUE(rg->base != MAP_FAILED);
	memset(rg->base, 0xca, PAGE_SIZE);
	memset(rg->base + (REGION_PAGES + 1) * PAGE_SIZE, 0xca, PAGE_SIZE);
	for (i = 0; i < REGION_PAGES; i++)
		for (w = 0; w < 8; w++)
			((uint64_t *)(data_of(rg) + i * PAGE_SIZE))[w * 64] = word_of(id, i);
}

static void check_canaries(struct region *rg)
{
	const unsigned char *c[2] = {
		(unsigned char *)rg->base,
		(unsigned char *)rg->base + (REGION_PAGES + 1) * PAGE_SIZE,
	};
	int k, i;

	for (k = 0; k < 2; k++)
		for (i = 0; i < (int)PAGE_SIZE; i++)
			if (c[k][i] != 0xca)
				finding(NULL, __LINE__, "canary page %d of region %d changed at byte %d: %#x",
					k, rg->id, i, c[k][i]);
}

/*
 * Every word of every data page, once the threads are done: a write that
 * went to the wrong page (or a page of another region) shows here even if
 * no read looked at it.
 */
static void check_region_words(struct region *rg)
{
	uint64_t i, w;

	for (i = 0; i < REGION_PAGES; i++) {
		const uint64_t *p = (const uint64_t *)(data_of(rg) + i * PAGE_SIZE);

		for (w = 0; w < PAGE_SIZE / 8; w++)
			if (!word_ok(p[w], word_of(rg->id, i)))
				finding(NULL, __LINE__,
					"word %llu of page %llu of region %d holds %#llx, never written there (0 or %#llx)",
					(unsigned long long)w, (unsigned long long)i, rg->id,
					(unsigned long long)p[w],
					(unsigned long long)word_of(rg->id, i));
	}
}

/* KCOV is per thread: the executor opens its own. */
static void *executor_run(void *arg)
{
	struct executor *e = arg;

	e->cover = kcov_open(&e->kcov);
	if (e->cover && ioctl(e->kcov, KCOV_ENABLE, KCOV_TRACE_PC))
		tap_fail(__FILE__, __LINE__, "KCOV_ENABLE: %s", strerror(errno));
	executor_main(e);
	kcov_close(e->kcov, e->cover);
	return NULL;
}

/*
 * Remote KCOV for what mkvm's workers and timers run on behalf of the VMs
 * an executor creates (mkvm_vm_kcov_start()). A thread in remote mode
 * collects no coverage of its own, so this one takes the common handle and
 * starts the executor, which inherits the handle and collects its own
 * coverage as usual; the executor reads both buffers. Without remote KCOV
 * (an older kernel, or the handle taken) the executor runs alone.
 */
static void *executor_start(void *arg)
{
	static atomic_uint runs;
	struct executor *e = arg;
	struct kcov_remote_arg remote = {
		.trace_mode = KCOV_TRACE_PC,
		.area_size = COVER_WORDS,
		/* KCOV_SUBSYSTEM_COMMON; an instance unique to this thread. */
		.common_handle = (uint64_t)(getpid() & 0xffff) << 16 |
				 (atomic_fetch_add(&runs, 1) & 0xffff),
	};
	pthread_t t;
	int fd;

	e->remote_cover = kcov_open(&fd);
	if (e->remote_cover && ioctl(fd, KCOV_REMOTE_ENABLE, &remote)) {
		kcov_close(fd, e->remote_cover);
		e->remote_cover = NULL;
	}
	ASSERT_EQ(pthread_create(&t, NULL, executor_run, e), 0);
	pthread_join(t, NULL);
	kcov_close(fd, e->remote_cover);
	e->remote_cover = NULL;
	atomic_store(&e->done, true);
	return NULL;
}

/* mkvm's .text: where the PCs KCOV reports must fall to count. */
static void find_text(void)
{
	FILE *f = fopen("/sys/module/mkvm/sections/.text", "r");

	if (!f || fscanf(f, "%lx", &text_start) != 1)
		tap_fail(__FILE__, __LINE__, "mkvm's .text address: %s", strerror(errno));
	fclose(f);
	text_size = strtoul(getenv("MKVM_FUZZ_TEXT_SIZE") ?: "0", NULL, 0);
	sites = strtol(getenv("MKVM_FUZZ_SITES") ?: "0", NULL, 0);
	if (!text_size)
		text_size = 1 << 20;
	covered = calloc(text_size, 1);
	ASSERT_TRUE(covered);
}

static void report(void)
{
	const char *print = getenv("MKVM_FUZZ_PRINT_COVER");
	unsigned long i, pcs = 0, line = 0;
	long calls = 0;
	int k;

	/* For make fuzz's report of what was not reached: the offsets. */
	for (i = 0; i < text_size; i++) {
		if (!covered[i])
			continue;
		pcs++;
		if (print && *print == '1') {
			printf("%s%#lx", line ? " " : "# covered:", i);
			if (++line == 16) {
				printf("\n");
				line = 0;
			}
		}
	}
	if (line)
		printf("\n");
	for (k = 0; k < NEXEC; k++)
		calls += atomic_load(&execs[k].calls);
	printf("# seed %llu: %ld calls (%ld ioctls succeeded, %ld failed as documented), "
	       "%ld reads checked, %ld fds or run pages replaced; corpus %u programs "
	       "(%ld added), %ld edges\n",
	       (unsigned long long)seed, calls, atomic_load(&n_ok), atomic_load(&n_failed),
	       atomic_load(&n_reads_checked), atomic_load(&n_sabotaged), corpus_n,
	       atomic_load(&new_inputs), atomic_load(&edges_n));
	if (sites > 0)
		printf("# coverage: %lu%% of mkvm's instrumented code (%lu of %ld KCOV sites in .text)\n",
		       pcs * 100 / sites, pcs, sites);
	else
		printf("# coverage: unknown (no KCOV here, or the harness gave no site count); %lu PCs\n",
		       pcs);
}

/*
 * The fuzzer's own fault (or memory mkvm wrote where it should not): say
 * where, and what each executor was running, before dying of it. Straight
 * to fd 1: the signal may have interrupted a printf.
 */
static void on_sigsegv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	dprintf(1, "# FUZZ FINDING (seed %llu): signal %d at address %p\n",
		(unsigned long long)seed, sig, si->si_addr);
	print_programs();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Regions, VMs, fds: once per test process. */
static void setup(void)
{
	const char *req = getenv("MKVM_REQUIRE_KCOV");
	struct sigaction sa = { .sa_sigaction = on_sigsegv, .sa_flags = SA_SIGINFO };
	int k, r;

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	find_text();
	if (req && *req == '1' && access("/sys/kernel/debug/kcov", F_OK))
		tap_fail(__FILE__, __LINE__, "the lane promises KCOV, but /sys/kernel/debug/kcov is missing");
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	self_mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_TRUE(devnull >= 0 && self_mem >= 0);
	clock_page = mkvm_map_anon(PAGE_SIZE);
	hooks_find();
	for (k = 0; k < NEXEC; k++) {
		struct executor *e = &execs[k];

		e->id = k;
		e->rng = seed * (k + 1) | 1;
		pthread_mutex_init(&e->lock, NULL);
		for (r = 0; r < NREGIONS; r++) {
			region_init(&e->reg[r], k * NREGIONS + r, r == 1);
			regions[k * NREGIONS + r] = &e->reg[r];
		}
		for (r = 0; r < NVMS; r++)
			vm_init(&e->vms[r], &e->lock, false);
	}
	for (k = 0; k < NSHARED; k++) {
		pthread_mutex_init(&shared_locks[k], NULL);
		vm_init(&shared_vms[k], &shared_locks[k], true);
	}
}

/*
 * The watchdog: every thread still running (an executor with a program, the
 * chaos thread) must complete a call or an mm operation every 60 s, also
 * after the deadline, until it returns: a hang in mkvm (a notifier that
 * never returns, a RUN that never ends) is a finding, not a stuck test.
 */
static bool watchdog(long *last, double *quiet_since)
{
	bool running = false;
	int k;

	for (k = 0; k <= NEXEC; k++) {
		bool done = k < NEXEC ? atomic_load(&execs[k].done) || execs[k].idle :
				 atomic_load(&chaos_done);
		long now = k < NEXEC ? atomic_load(&execs[k].calls) : atomic_load(&chaos_ops);

		if (done)
			continue;
		running = true;
		if (now != last[k]) {
			last[k] = now;
			quiet_since[k] = mkvm_now();
		} else if (mkvm_now() - quiet_since[k] > 60) {
			if (k < NEXEC)
				finding(&execs[k], __LINE__,
					"executor %d completed no call for 60 s: a hang", k);
			finding(NULL, __LINE__,
				"the chaos thread completed no mm operation for 60 s: a hang");
		}
	}
	return running;
}

/*
 * The executors and the chaos thread for @secs; then the oracles on all of
 * memory, and on what is left in the module.
 */
static void fuzz_for(double secs)
{
	double quiet_since[NEXEC + 1];
	long last[NEXEC + 1];
	pthread_t chaos;
	int k;

	atomic_store(&stop, 0);
	atomic_store(&chaos_done, false);
	deadline = mkvm_now() + secs;
	for (k = 0; k <= NEXEC; k++) {
		last[k] = -1;
		quiet_since[k] = mkvm_now();
	}
	for (k = 0; k < NEXEC; k++) {
		execs[k].idle = replaying && !replay[k].n;
		atomic_store(&execs[k].done, false);
		ASSERT_EQ(pthread_create(&execs[k].thread, NULL, executor_start, &execs[k]), 0);
	}
	ASSERT_EQ(pthread_create(&chaos, NULL, chaos_main, NULL), 0);
	while (watchdog(last, quiet_since) && !atomic_load(&stop))
		usleep(200000);
	for (k = 0; k < NEXEC; k++)
		pthread_join(execs[k].thread, NULL);
	pthread_join(chaos, NULL);
	for (k = 0; k < NSHARED; k++) {
		pthread_mutex_lock(shared_vms[k].lock);
		vm_close(&shared_vms[k]);
		pthread_mutex_unlock(shared_vms[k].lock);
	}
	hooks_disarm();
	for (k = 0; k < NEXEC * NREGIONS; k++) {
		check_canaries(regions[k]);
		check_region_words(regions[k]);
	}
	mkvm_assert_no_objects();
}

/* MKVM_FUZZ_PROG: what the printed lines say, with ',' for newlines and ':' for blanks. */
static void replay_from_env(const char *env)
{
	char *text = strdup(env), *c;

	ASSERT_TRUE(text);
	for (c = text; *c; c++)
		*c = *c == ',' ? '\n' : *c == ':' ? ' ' : *c;
	if (!parse_programs(text, replay))
		tap_fail(__FILE__, __LINE__, "MKVM_FUZZ_PROG: not a program");
	free(text);
	replaying = true;
}

TEST_T(fuzz, 86400)
{
	double secs = strtod(getenv("MKVM_FUZZ_SECONDS") ?: "10", NULL);
	const char *req = getenv("MKVM_REQUIRE_KCOV");
	const char *prog = getenv("MKVM_FUZZ_PROG");
	int k;

	seed = strtoull(getenv("MKVM_FUZZ_SEED") ?: "0", NULL, 0);
	if (!seed)
		seed = (uint64_t)(mkvm_now() * 1e6) | 1;
	printf("# seed %llu, %.0f s (make fuzz SEED=%llu runs the same first programs)\n",
	       (unsigned long long)seed, secs, (unsigned long long)seed);
	fflush(stdout);
	setup();
	if (prog && *prog) {
		replay_from_env(prog);
		printf("# replaying, over and over, with the chaos thread on:\n");
		fflush(stdout);
		for (k = 0; k < NEXEC; k++) {
			dprintf(1, "# executor %d\n", k);
			print_prog(&replay[k]);
		}
	}
	fuzz_for(secs);
	report();
	if (replaying)
		printf("# replayed %ld times\n", atomic_load(&replays));
	if (req && *req == '1' && !replaying)
		ASSERT_TRUE(sites > 0 && atomic_load(&edges_n) > 0);
}

/*
 * Every program in tests/fuzz/regress/: whatever the fuzzer ever found,
 * and programs that pin down paths it took long to reach, each replayed
 * for MKVM_FUZZ_REGRESS_SECONDS (default 2) against the same oracles.
 */
TEST_T(fuzz_regressions, 900)
{
	double secs = strtod(getenv("MKVM_FUZZ_REGRESS_SECONDS") ?: "2", NULL);
	unsigned int i;

	seed = 1;
	setup();
	ASSERT_TRUE(ARRAY_SIZE(fuzz_regressions_text) > 0);
	for (i = 0; i < ARRAY_SIZE(fuzz_regressions_text); i++) {
		if (!parse_programs(fuzz_regressions_text[i].text, replay))
			tap_fail(__FILE__, __LINE__, "%s: not a program", fuzz_regressions_text[i].name);
		replaying = true;
		atomic_store(&replays, 0);
		atomic_store(&n_ok, 0);
		atomic_store(&n_failed, 0);
		atomic_store(&n_reads_checked, 0);
		fuzz_for(secs);
		printf("# %s: replayed %ld times; %ld ioctls succeeded, %ld failed as documented, %ld reads checked\n",
		       fuzz_regressions_text[i].name, atomic_load(&replays), atomic_load(&n_ok),
		       atomic_load(&n_failed), atomic_load(&n_reads_checked));
		fflush(stdout);
		ASSERT_TRUE(atomic_load(&replays) > 0);
	}
}

/* Whether @plant, run in a child, makes the child fail: a finding. */
static bool finding_in_child(const char *what, void (*plant)(void))
{
	int status;
	pid_t pid;

	printf("# planted: %s; a FUZZ FINDING must follow\n", what);
	fflush(stdout);
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		plant();
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

/* What a wrong stage-2 translation would do: region 1's word into region 0. */
static void plant_misdirected_write(void)
{
	struct mkvm_guest g;

	mkvm_guest_init(&g, data_of(regions[0]), REGION_PAGES * PAGE_SIZE, 0);
	mkvm_guest_write(&g.vcpu, MKVM_TEST_GPA + 5 * PAGE_SIZE + 64, 8, word_of(1, 5));
	mkvm_guest_close(&g);
	check_region_words(regions[0]);
}

static void plant_undocumented_errno(void)
{
	check_errno(NULL, -1, EPERM, errs_run, false, "MKVM_RUN");
}

static void plant_canary_write(void)
{
	regions[2]->base[100] = 0;
	check_canaries(regions[2]);
}

/* The oracles can fail: each fires on a fault planted where it looks. */
TEST(fuzz_oracles_fire)
{
	seed = 1;
	setup();
	ASSERT_TRUE(finding_in_child("a guest write to the wrong page", plant_misdirected_write));
	ASSERT_TRUE(finding_in_child("an errno docs/api.md does not give",
				     plant_undocumented_errno));
	ASSERT_TRUE(finding_in_child("a write to a canary page", plant_canary_write));
	check_region_words(regions[0]);
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
