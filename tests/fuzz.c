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
 * (default 15; the debug lane runs 120), MKVM_FUZZ_SITES and MKVM_FUZZ_TEXT_SIZE (from the
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

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define KCOV_INIT_TRACE		_IOR('c', 1, unsigned long)
#define KCOV_ENABLE		_IO('c', 100)
#define KCOV_DISABLE		_IO('c', 101)
#define KCOV_TRACE_PC		0
#define COVER_WORDS		(64 << 10)

#define NEXEC		2
#define NREGIONS	2		/* per executor */
#define REGION_PAGES	512		/* 2M of data */
#define NVMS		2
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
	C_PROCESS_WRITE, NR_CALL_KINDS,
};

static const char * const call_names[] = {
	"create_vm", "create_vcpu", "set_region", "run", "gpc_activate",
	"gpc_access", "gpc_deactivate", "clock", "invalidate_roots",
	"enable_cap", "get_dirty_log", "clear_dirty_log", "query", "close",
	"bad_ioctl", "process_write",
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
	int region;		/* backing: region and first data page */
	uint64_t first;
};

struct vm {
	int fd;			/* -1: none */
	bool sabotaged;		/* the chaos thread replaced an fd */
	struct slot slots[NSLOTS];
	struct mkvm_vcpu_ctx vcpu[NVCPUS];
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
	struct mkvm_guest_op ops[32];
	struct prog cur;
	unsigned int cur_call;
	int kcov;
	unsigned long *cover;
	atomic_long calls;
};

static struct executor execs[NEXEC];
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

static void print_prog(FILE *f, const struct prog *p)
{
	unsigned int i;

	for (i = 0; i < p->n; i++)
		fprintf(f, "#   %2u %-16s %#llx %#llx %#llx %#llx %#llx %#llx\n", i,
			call_names[p->c[i].kind], (unsigned long long)p->c[i].a[0],
			(unsigned long long)p->c[i].a[1], (unsigned long long)p->c[i].a[2],
			(unsigned long long)p->c[i].a[3], (unsigned long long)p->c[i].a[4],
			(unsigned long long)p->c[i].a[5]);
}

/* A finding: say what, the seed, and the program; fail the test. */
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
	printf("\n# replay: make fuzz SEED=%llu\n", (unsigned long long)seed);
	if (e) {
		printf("# the program:\n");
		print_prog(stdout, &e->cur);
	}
	fflush(stdout);
	tap_fail(__FILE__, line, "fuzz finding, seed %llu", (unsigned long long)seed);
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

/* Byte by byte, @w is 0 or the word of its page. */
static void check_word(struct executor *e, uint64_t w, uint64_t want, const char *what)
{
	int b;

	atomic_fetch_add(&n_reads_checked, 1);
	for (b = 0; b < 64; b += 8) {
		uint64_t got = (w >> b) & 0xff;

		if (got && got != ((want >> b) & 0xff))
			finding(e, __LINE__,
				"%s read %#llx, which was never written there (the page holds 0 or %#llx)",
				what, (unsigned long long)w, (unsigned long long)want);
	}
}

static uint64_t page_word(struct executor *e, int r, uint64_t i)
{
	return word_of(e->id * NREGIONS + r, i);
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

/* The VM a call's arguments name; used under e->lock. */
static struct vm *vm_of(struct executor *e, uint64_t a)
{
	return &e->vms[a % NVMS];
}

static void vm_init(struct vm *v)
{
	int i;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	for (i = 0; i < NVCPUS; i++)
		v->vcpu[i].fd = -1;
}

static void vm_close(struct vm *v)
{
	int i;

	for (i = 0; i < NVCPUS; i++) {
		if (v->vcpu[i].run)
			munmap(v->vcpu[i].run, PAGE_SIZE);
		if (v->vcpu[i].fd >= 0)
			close(v->vcpu[i].fd);
		v->vcpu[i].fd = -1;
		v->vcpu[i].run = NULL;
	}
	if (v->fd >= 0)
		close(v->fd);
	vm_init(v);
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
	uint64_t s = a[2];
	struct mkvm_run *run = v->vcpu[vi].run;
	struct slot *sl;
	long r;
	int err;

	struct slot *used[NSLOTS];
	int nused = 0;

	if (v->vcpu[vi].fd < 0 || !run)
		return;
	for (i = 0; i < NSLOTS; i++)
		if (v->slots[i].used)
			used[nused++] = &v->slots[i];
	for (i = 0; i < n; i++) {
		struct mkvm_guest_op *op = &e->ops[i];
		uint64_t gpa;

		memset(op, 0, sizeof(*op));
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

			op->type = MKVM_OP_WRITE;
			op->size = 8;
			op->data = at ? page_word(e, at->region,
						  at->first + (gpa - at->gpa) / PAGE_SIZE) : 0;
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
	 * page meanwhile (it never closes an fd, so the numbers stay ours).
	 */
	pthread_mutex_unlock(&e->lock);
	r = mkvm_run_ops(&v->vcpu[vi], e->ops, n);
	err = errno;
	pthread_mutex_lock(&e->lock);
	check_errno(e, r, err, errs_run, v->sabotaged, "MKVM_RUN");
	if (r || v->sabotaged)
		return;
	/* Every read that ran read what its page holds. */
	for (i = 0; i < (int)run->next_op && i < n; i++) {
		struct mkvm_guest_op *op = &e->ops[i];

		if (op->type != MKVM_OP_READ || op->size != 8 || (op->gpa & 7))
			continue;
		sl = slot_at(v, op->gpa);
		if (sl)
			check_word(e, op->data, page_word(e, sl->region,
				   sl->first + (op->gpa - sl->gpa) / PAGE_SIZE), "a guest read");
	}
}

/*
 * The word a pfn cache's page holds (its key's page, now) in @word; false
 * when that is unknown here: a key in no data page, or in a slot with an
 * id this program does not track.
 */
static bool gpc_word(struct executor *e, struct vm *v, unsigned int id, uint64_t *word)
{
	uint64_t key = v->gpc[id].key;
	struct slot *sl;
	int r;

	if (v->gpc[id].hva) {
		for (r = 0; r < NREGIONS; r++) {
			uintptr_t d = (uintptr_t)data_of(&e->reg[r]);

			if (key >= d && key - d < REGION_PAGES * PAGE_SIZE) {
				*word = page_word(e, r, (key - d) / PAGE_SIZE);
				return true;
			}
		}
		return false;
	}
	sl = slot_at(v, key);
	if (!sl)
		return false;
	*word = page_word(e, sl->region, sl->first + (key - sl->gpa) / PAGE_SIZE);
	return true;
}

static void do_call(struct executor *e, const struct call *c)
{
	struct vm *v = vm_of(e, c->a[0]);
	const uint64_t *a = c->a;
	long r = 0;
	int err = 0, i;

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
		int reg = pick(&s, NREGIONS);
		uint32_t flags = pick(&s, 4) ? (pick(&s, 3) ? 0 : MKVM_MEM_LOG_DIRTY_PAGES) :
				 (uint32_t)rnd(&s) & 7;
		uint64_t gpa = pick_gpa(&s) & ~(PAGE_SIZE - 1);
		uint64_t hva = (uintptr_t)data_of(&e->reg[reg]) + first * PAGE_SIZE;
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
			hva = (uintptr_t)data_of(&e->reg[reg]) + first * PAGE_SIZE;
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
		r = ioctl(v->fd, MKVM_GPC_READ, &acc);
		err = errno;
		check_errno(e, r, err, errs_gpc_access, v->sabotaged, "MKVM_GPC_READ");
		if (!r && !v->sabotaged && acc.id < 3 && v->gpc[acc.id].active &&
		    gpc_word(e, v, acc.id, &want))
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
			.id = a[1] % 8 ? 3 : (uint32_t)a[1],
			.flags = a[2] % 8 ? 0 : (uint32_t)a[2],
			.period_ns = a[3] % 4 ? MKVM_CLOCK_MIN_PERIOD_NS * (1 + a[3] % 50) : a[3],
		};

		if (v->fd < 0)
			return;
		if (a[4] % 2) {
			r = ioctl(v->fd, MKVM_CLOCK_DISABLE, a[5] % 8 ? 0 : a[5]);
		} else {
			ioctl(v->fd, MKVM_GPC_ACTIVATE, &act);
			r = ioctl(v->fd, MKVM_CLOCK_ENABLE, &ce);
		}
		err = errno;
		check_errno(e, r, err, errs_clock, v->sabotaged, "MKVM_CLOCK_*");
		return;
	}
	case C_INVALIDATE_ROOTS:
		if (v->fd < 0)
			return;
		r = ioctl(v->fd, MKVM_INVALIDATE_ROOTS, a[1] % 8 ? 0 : a[1]);
		err = errno;
		check_errno(e, r, err, errs_einval, v->sabotaged, "MKVM_INVALIDATE_ROOTS");
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
		r = ioctl(v->fd, MKVM_ENABLE_CAP, &cap);
		err = errno;
		check_errno(e, r, err, errs_enable_cap, v->sabotaged, "MKVM_ENABLE_CAP");
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
			r = ioctl(v->fd, MKVM_GET_DIRTY_LOG, &log);
		else
			r = ioctl(v->fd, MKVM_CLEAR_DIRTY_LOG, &clr);
		err = errno;
		check_errno(e, r, err, errs_log, v->sabotaged, "dirty log");
		return;
	}
	case C_QUERY: {
		int dev = mkvm_open();

		r = ioctl(a[1] % 2 || v->fd < 0 ? dev : v->fd, MKVM_CHECK_EXTENSION, a[2] % 16);
		err = errno;
		check_errno(e, r, err, errs_none, v->sabotaged, "MKVM_CHECK_EXTENSION");
		r = ioctl(dev, MKVM_GET_API_VERSION, a[3] % 4 ? 0 : a[3]);
		err = errno;
		check_errno(e, r, err, errs_einval, false, "MKVM_GET_API_VERSION");
		close(dev);
		return;
	}
	case C_CLOSE:
		if (a[1] % 2) {
			vm_close(v);
		} else {
			i = a[2] % NVCPUS;
			if (v->vcpu[i].fd >= 0) {
				if (v->vcpu[i].run)
					munmap(v->vcpu[i].run, PAGE_SIZE);
				close(v->vcpu[i].fd);
				v->vcpu[i].fd = -1;
				v->vcpu[i].run = NULL;
			}
		}
		return;
	case C_BAD_IOCTL: {
		int fd = a[1] % 2 ? v->fd : v->vcpu[a[1] / 2 % NVCPUS].fd;

		if (fd < 0)
			return;
		r = ioctl(fd, _IO(MKVMIO, 0xc0 + a[2] % 0x30), 0);
		err = errno;
		check_errno(e, r, err, errs_bad, v->sabotaged, "an unknown ioctl");
		return;
	}
	case C_PROCESS_WRITE: {
		int rg = a[1] % NREGIONS;
		uint64_t pg = a[2] % REGION_PAGES;
		uint64_t *w = (uint64_t *)(data_of(&e->reg[rg]) + pg * PAGE_SIZE) + a[3] % 512;
		uint64_t word = page_word(e, rg, pg);

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

/* The KCOV PCs of the last program: new edges join the corpus. */
static bool collect_coverage(struct executor *e)
{
	unsigned long n, i, prev = 0;
	bool fresh = false;

	if (!e->cover)
		return false;
	n = __atomic_load_n(&e->cover[0], __ATOMIC_RELAXED);
	if (n > COVER_WORDS - 1)
		n = COVER_WORDS - 1;
	pthread_mutex_lock(&corpus_lock);
	for (i = 0; i < n; i++) {
		unsigned long pc = e->cover[i + 1], h;

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
	if (fresh && corpus_n < CORPUS_MAX) {
		corpus[corpus_n++] = e->cur;
		atomic_fetch_add(&new_inputs, 1);
	}
	pthread_mutex_unlock(&corpus_lock);
	return fresh;
}

static void *executor_main(void *arg)
{
	struct executor *e = arg;
	unsigned int i;

	while (!atomic_load(&stop) && mkvm_now() < deadline) {
		pthread_mutex_lock(&corpus_lock);
		if (corpus_n && pick(&e->rng, 10) < 7) {
			e->cur = corpus[pick(&e->rng, corpus_n)];
			mutate_prog(&e->rng, &e->cur);	/* may splice: under the lock */
		} else {
			gen_prog(&e->rng, &e->cur);
		}
		pthread_mutex_unlock(&corpus_lock);
		if (e->cover) {
			__atomic_store_n(&e->cover[0], 0, __ATOMIC_RELAXED);
			ioctl(e->kcov, KCOV_ENABLE, KCOV_TRACE_PC);
		}
		/*
		 * e->lock per call, and dropped while RUN runs: the chaos thread
		 * replaces fds and run pages between calls and under a RUN.
		 */
		for (i = 0; i < e->cur.n && !atomic_load(&stop); i++) {
			e->cur_call = i;
			pthread_mutex_lock(&e->lock);
			do_call(e, &e->cur.c[i]);
			pthread_mutex_unlock(&e->lock);
			atomic_fetch_add(&e->calls, 1);
		}
		/* Each program leaves nothing behind for the next. */
		pthread_mutex_lock(&e->lock);
		for (i = 0; i < NVMS; i++)
			vm_close(&e->vms[i]);
		pthread_mutex_unlock(&e->lock);
		if (e->cover)
			ioctl(e->kcov, KCOV_DISABLE, 0);
		collect_coverage(e);
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

/* Replace a VM's fd, or a run page, under its executor. */
static void chaos_fds(uint64_t *s)
{
	struct executor *e = &execs[pick(s, NEXEC)];
	struct vm *v = &e->vms[pick(s, NVMS)];

	/* Between calls, or under a RUN: the executor drops its lock then. */
	if (pthread_mutex_trylock(&e->lock))
		return;
	if (v->fd >= 0 && !pick(s, 3)) {
		dup2(devnull, v->fd);
		v->sabotaged = true;
	} else if (v->vcpu[0].fd >= 0 && !pick(s, 2)) {
		dup2(devnull, v->vcpu[0].fd);
		v->sabotaged = true;
	} else if (v->vcpu[0].run) {
		mmap(v->vcpu[0].run, PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		v->sabotaged = true;
	}
	if (v->sabotaged)
		atomic_fetch_add(&n_sabotaged, 1);
	pthread_mutex_unlock(&e->lock);
}

static void *chaos_main(void *arg)
{
	uint64_t s = seed ^ 0xc4a05;

	(void)arg;
	while (!atomic_load(&stop) && mkvm_now() < deadline) {
		if (pick(&s, 20))
			chaos_mm(&s);
		else
			chaos_fds(&s);
		usleep(pick(&s, 2000));
	}
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

static void kcov_open(struct executor *e)
{
	e->kcov = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
	e->cover = NULL;
	if (e->kcov < 0)
		return;
	if (ioctl(e->kcov, KCOV_INIT_TRACE, COVER_WORDS))
		tap_fail(__FILE__, __LINE__, "KCOV_INIT_TRACE: %s", strerror(errno));
	e->cover = mmap(NULL, COVER_WORDS * sizeof(unsigned long), PROT_READ | PROT_WRITE,
			MAP_SHARED, e->kcov, 0);
	if (e->cover == MAP_FAILED)
		tap_fail(__FILE__, __LINE__, "mmap kcov: %s", strerror(errno));
}

/* KCOV is per thread: the executor opens its own. */
static void *executor_start(void *arg)
{
	kcov_open(arg);
	return executor_main(arg);
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
 * where, and what each executor was running, before dying of it.
 */
static void on_sigsegv(int sig, siginfo_t *si, void *uc)
{
	int k;

	(void)uc;
	printf("# FUZZ FINDING (seed %llu): signal %d at address %p\n",
	       (unsigned long long)seed, sig, si->si_addr);
	for (k = 0; k < NEXEC; k++) {
		printf("# executor %d at call %u of:\n", k, execs[k].cur_call);
		print_prog(stdout, &execs[k].cur);
	}
	fflush(stdout);
	signal(sig, SIG_DFL);
	raise(sig);
}

TEST_T(fuzz, 86400)
{
	struct sigaction sa = { .sa_sigaction = on_sigsegv, .sa_flags = SA_SIGINFO };
	double secs = strtod(getenv("MKVM_FUZZ_SECONDS") ?: "15", NULL);
	const char *req = getenv("MKVM_REQUIRE_KCOV");
	pthread_t chaos;
	long last = -1, now;
	double quiet_since;
	int k, r;

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	seed = strtoull(getenv("MKVM_FUZZ_SEED") ?: "0", NULL, 0);
	if (!seed)
		seed = (uint64_t)(mkvm_now() * 1e6) | 1;
	printf("# seed %llu, %.0f s (replay: make fuzz SEED=%llu)\n", (unsigned long long)seed,
	       secs, (unsigned long long)seed);
	fflush(stdout);
	find_text();
	if (req && *req == '1' && access("/sys/kernel/debug/kcov", F_OK))
		tap_fail(__FILE__, __LINE__, "the lane promises KCOV, but /sys/kernel/debug/kcov is missing");
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	self_mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_TRUE(devnull >= 0 && self_mem >= 0);
	clock_page = mkvm_map_anon(PAGE_SIZE);
	hooks_find();
	deadline = mkvm_now() + secs;
	for (k = 0; k < NEXEC; k++) {
		struct executor *e = &execs[k];

		e->id = k;
		e->rng = seed * (k + 1) | 1;
		pthread_mutex_init(&e->lock, NULL);
		for (r = 0; r < NREGIONS; r++)
			region_init(&e->reg[r], k * NREGIONS + r, r == 1);
		for (r = 0; r < NVMS; r++)
			vm_init(&e->vms[r]);
		ASSERT_EQ(pthread_create(&e->thread, NULL, executor_start, e), 0);
	}
	ASSERT_EQ(pthread_create(&chaos, NULL, chaos_main, NULL), 0);
	/* The watchdog: calls must keep completing. */
	quiet_since = mkvm_now();
	while (mkvm_now() < deadline && !atomic_load(&stop)) {
		sleep(1);
		for (now = 0, k = 0; k < NEXEC; k++)
			now += atomic_load(&execs[k].calls);
		if (now != last) {
			last = now;
			quiet_since = mkvm_now();
		} else if (mkvm_now() - quiet_since > 60) {
			for (k = 0; k < NEXEC; k++) {
				printf("# executor %d is at call %u of:\n", k, execs[k].cur_call);
				print_prog(stdout, &execs[k].cur);
			}
			finding(NULL, __LINE__, "no call completed for 60 s: a hang");
		}
	}
	for (k = 0; k < NEXEC; k++)
		pthread_join(execs[k].thread, NULL);
	pthread_join(chaos, NULL);
	hooks_disarm();
	for (k = 0; k < NEXEC; k++)
		for (r = 0; r < NREGIONS; r++)
			check_canaries(&execs[k].reg[r]);
	report();
	mkvm_assert_no_objects();
	if (req && *req == '1')
		ASSERT_TRUE(sites > 0 && atomic_load(&edges_n) > 0);
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
