// SPDX-License-Identifier: GPL-2.0
/*
 * Memslots at KVM's scale: every one of the MKVM_CAP_NR_MEMSLOTS ids in
 * use at once, one page each, their guest-physical order scattered
 * against their id and host order, and the guest reads each slot right.
 * With MANY slots (fewer: each create and delete waits for an SRCU grace
 * period, which the debug kernel makes slow), refused requests change
 * nothing, a host invalidation of one page reaches every slot that maps
 * it (through the hva interval tree), and moves keep the gfn lookups right.
 */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define GPA_BASE	(1ULL << 32)
#define NO_GPA		0	/* below GPA_BASE: a slot that is not there */
#define MOVES		512
#define MANY		4096

/* A VM with @nr one-page slots; slot i is backed by page i % @pages. */
struct slots_vm {
	int vm;
	struct mkvm_vcpu_ctx vcpu;
	unsigned int nr;
	unsigned int pages;
	char *mem;
	uint64_t *gpa;		/* per slot; NO_GPA once deleted */
	struct mkvm_guest_op *ops;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static unsigned int cap(long which)
{
	int dev = mkvm_open();
	long v = ASSERT_OK(ioctl(dev, MKVM_CHECK_EXTENSION, which));

	close(dev);
	return v;
}

static uint64_t tag(unsigned int page, unsigned int gen)
{
	return 0x5107000000000000ULL | (uint64_t)gen << 32 | page;
}

static uint64_t *page_word(struct slots_vm *s, unsigned int slot)
{
	return (uint64_t *)(s->mem + (size_t)(slot % s->pages) * PAGE_SIZE);
}

static int set_slot(struct slots_vm *s, unsigned int slot, uint64_t gpa)
{
	return mkvm_set_region(s->vm, slot, 0, gpa, PAGE_SIZE, page_word(s, slot));
}

/* Slot i sits at page 2 * (i * mult % nr) from GPA_BASE: odd pages are gaps. */
static void slots_create(struct slots_vm *s, unsigned int nr, unsigned int pages)
{
	unsigned int i, mult = 7919;
	double t0;

	while (nr % mult == 0)
		mult += 2;
	s->nr = nr;
	s->pages = pages;
	s->mem = mkvm_map_anon((size_t)pages * PAGE_SIZE);
	ASSERT_OK(madvise(s->mem, (size_t)pages * PAGE_SIZE, MADV_NOHUGEPAGE));
	for (i = 0; i < pages; i++)
		*page_word(s, i) = tag(i, 0);
	s->gpa = calloc(nr, sizeof(*s->gpa));
	s->ops = calloc(nr, sizeof(*s->ops));
	ASSERT_TRUE(s->gpa && s->ops);
	s->vm = mkvm_vm_create();
	mkvm_vcpu_open(s->vm, 0, &s->vcpu);
	t0 = now();
	for (i = 0; i < nr; i++) {
		s->gpa[i] = GPA_BASE + 2 * ((uint64_t)i * mult % nr) * PAGE_SIZE;
		ASSERT_OK(set_slot(s, i, s->gpa[i]));
	}
	printf("# %u slots created in %.2f s\n", nr, now() - t0);
}

static void slots_delete_all(struct slots_vm *s)
{
	double t0 = now();
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		if (s->gpa[i] != NO_GPA)
			ASSERT_OK(mkvm_set_region(s->vm, i, 0, 0, 0, NULL));
	printf("# %u slots deleted in %.2f s\n", s->nr, now() - t0);
}

static void slots_close(struct slots_vm *s)
{
	munmap(s->vcpu.run, PAGE_SIZE);
	close(s->vcpu.fd);
	close(s->vm);
	munmap(s->mem, (size_t)s->pages * PAGE_SIZE);
	free(s->gpa);
	free(s->ops);
}

/*
 * The guest reads the first word of every present slot, in MKVM_RUN
 * programs as long as the module takes; each must be what the process
 * sees at the slot's backing.
 */
static void slots_check_all(struct slots_vm *s)
{
	unsigned int i, n = 0, done, max_ops = cap(MKVM_CAP_MAX_RUN_OPS);
	double t0 = now();

	for (i = 0; i < s->nr; i++)
		if (s->gpa[i] != NO_GPA)
			s->ops[n++] = (struct mkvm_guest_op){
				.type = MKVM_OP_READ, .size = 8, .gpa = s->gpa[i],
			};
	for (done = 0; done < n; done += max_ops) {
		unsigned int len = n - done < max_ops ? n - done : max_ops;

		ASSERT_OK(mkvm_run_ops(&s->vcpu, s->ops + done, len));
		ASSERT_EQ(s->vcpu.run->exit_reason, MKVM_EXIT_DONE);
		ASSERT_EQ(s->vcpu.run->next_op, len);
	}
	for (i = 0, n = 0; i < s->nr; i++)
		if (s->gpa[i] != NO_GPA)
			ASSERT_EQ(s->ops[n++].data, *page_word(s, i));
	printf("# guest read %u slots in %.2f s\n", n, now() - t0);
}

/* No slot at @gpa: a guest read of it exits to userspace as MMIO. */
static void assert_mmio(struct slots_vm *s, uint64_t gpa)
{
	struct mkvm_guest_op op = { .type = MKVM_OP_READ, .size = 8, .gpa = gpa };

	ASSERT_OK(mkvm_run_ops(&s->vcpu, &op, 1));
	ASSERT_EQ(s->vcpu.run->exit_reason, MKVM_EXIT_MMIO);
	ASSERT_EQ(s->vcpu.run->mmio.gpa, gpa);
}

/*
 * Every id can hold a slot at once; the guest reads each slot's own page;
 * the module-wide count goes to the cap and back to 0; the cap itself is
 * no id.
 */
TEST_T(anon_max_slots_guest_reads_each, 600)
{
	unsigned int nr = cap(MKVM_CAP_NR_MEMSLOTS);
	struct slots_vm s;

	slots_create(&s, nr, nr);
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "memslots"), nr);
	ASSERT_EQ(mkvm_vm_stat("memslots"), nr);
	ASSERT_ERRNO(set_slot(&s, nr, GPA_BASE - PAGE_SIZE), EINVAL);
	ASSERT_ERRNO(set_slot(&s, -1U, GPA_BASE - PAGE_SIZE), EINVAL);
	slots_check_all(&s);
	ASSERT_TRUE(s.vcpu.run->stat_faults >= nr);
	slots_delete_all(&s);
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "memslots"), 0);
	ASSERT_EQ(mkvm_vm_stat("memslots"), 0);
	assert_mmio(&s, s.gpa[0]);
	slots_close(&s);
	mkvm_assert_no_objects();
}

/* The VM's memslot count and generation, which a refused request keeps. */
struct slots_state {
	long memslots, generation, updates, module_memslots;
};

static struct slots_state slots_state(void)
{
	return (struct slots_state){
		.memslots = mkvm_vm_stat("memslots"),
		.generation = mkvm_vm_stat("memslot_generation"),
		.updates = mkvm_vm_stat("memslot_updates"),
		.module_memslots = mkvm_stat(MKVM_DEBUGFS "/stats", "memslots"),
	};
}

static void assert_state(struct slots_state a)
{
	struct slots_state b = slots_state();

	ASSERT_EQ(b.memslots, a.memslots);
	ASSERT_EQ(b.generation, a.generation);
	ASSERT_EQ(b.updates, a.updates);
	ASSERT_EQ(b.module_memslots, a.module_memslots);
}

/*
 * With MANY slots present, bad ids, overlaps, illegal changes and
 * deletes of absent slots are refused and change nothing: neither the
 * count, nor the generation, nor what the guest reads.
 */
TEST_T(many_slots_refused_requests_change_nothing, 300)
{
	unsigned int nr = MANY, free_id = nr / 2, cap_nr = cap(MKVM_CAP_NR_MEMSLOTS);
	unsigned int probe[] = { 0, 1, nr / 3, nr - 1 }, k;
	struct slots_state st;
	struct slots_vm s;

	slots_create(&s, nr, nr);
	ASSERT_OK(mkvm_set_region(s.vm, free_id, 0, 0, 0, NULL));
	s.gpa[free_id] = NO_GPA;
	st = slots_state();
	ASSERT_EQ(st.memslots, nr - 1);

	ASSERT_ERRNO(set_slot(&s, cap_nr, GPA_BASE - PAGE_SIZE), EINVAL);
	ASSERT_ERRNO(set_slot(&s, -1U, GPA_BASE - PAGE_SIZE), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(s.vm, cap_nr, 0, 0, 0, NULL), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(s.vm, cap_nr - 1, 0, 0, 0, NULL), EINVAL);
	/* Deleting the free id, twice: nothing to delete. */
	ASSERT_ERRNO(mkvm_set_region(s.vm, free_id, 0, 0, 0, NULL), EINVAL);
	ASSERT_ERRNO(mkvm_set_region(s.vm, free_id, 0, 0, 0, NULL), EINVAL);
	/* The whole range, and each probe's page, and the gap+page around it. */
	ASSERT_ERRNO(mkvm_set_region(s.vm, free_id, 0, GPA_BASE,
				     2ULL * nr * PAGE_SIZE, s.mem), EEXIST);
	for (k = 0; k < sizeof(probe) / sizeof(probe[0]); k++) {
		unsigned int j = probe[k], other = (j + 1) % nr;

		if (j == free_id || other == free_id)
			continue;
		ASSERT_ERRNO(set_slot(&s, free_id, s.gpa[j]), EEXIST);
		ASSERT_ERRNO(mkvm_set_region(s.vm, free_id, 0, s.gpa[j] - PAGE_SIZE,
					     2 * PAGE_SIZE, s.mem), EEXIST);
		/* A move onto another slot; a change of size, backing, flags. */
		ASSERT_ERRNO(set_slot(&s, other, s.gpa[j]), EEXIST);
		ASSERT_ERRNO(mkvm_set_region(s.vm, j, 0, s.gpa[j], 2 * PAGE_SIZE,
					     page_word(&s, j)), EINVAL);
		ASSERT_ERRNO(mkvm_set_region(s.vm, j, 0, s.gpa[j], PAGE_SIZE,
					     page_word(&s, j + 1)), EINVAL);
		ASSERT_ERRNO(mkvm_set_region(s.vm, j, MKVM_MEM_READONLY, s.gpa[j],
					     PAGE_SIZE, page_word(&s, j)), EINVAL);
	}
	assert_state(st);

	/* A real delete, then the same delete again: refused, no change. */
	ASSERT_OK(mkvm_set_region(s.vm, probe[2], 0, 0, 0, NULL));
	s.gpa[probe[2]] = NO_GPA;
	st = slots_state();
	ASSERT_EQ(st.memslots, nr - 2);
	ASSERT_ERRNO(mkvm_set_region(s.vm, probe[2], 0, 0, 0, NULL), EINVAL);
	assert_state(st);
	slots_check_all(&s);

	/* The refused creates left the free id usable. */
	ASSERT_OK(set_slot(&s, free_id, GPA_BASE - PAGE_SIZE));
	ASSERT_EQ(mkvm_vm_stat("memslots"), nr - 1);
	slots_close(&s);
	mkvm_assert_no_objects();
}

/* Guest reads of both slots backed by host page @page (the only two). */
static void assert_pair_reads(struct slots_vm *s, unsigned int page, uint64_t want)
{
	ASSERT_EQ(mkvm_guest_read(&s->vcpu, s->gpa[page], 8), want);
	ASSERT_EQ(mkvm_guest_read(&s->vcpu, s->gpa[page + s->pages], 8), want);
}

/*
 * Among MANY slots, two per host page: MADV_DONTNEED of a
 * page, and munmap plus a new mapping in its place, zap both slots that
 * map it; the guest then reads zeroes, and the new data once the process
 * writes it. (The zap count moves by at least two: the guest kernel's
 * background compaction may migrate other slots' pages meanwhile.)
 */
TEST_T(many_slots_shared_page_dontneed_zaps_both, 300)
{
	unsigned int nr = MANY;
	unsigned int victims[] = { 0, nr / 4 + 1, nr / 2 - 1 }, k;
	struct slots_vm s;
	long zaps;

	slots_create(&s, nr, nr / 2);
	slots_check_all(&s);
	for (k = 0; k < sizeof(victims) / sizeof(victims[0]); k++) {
		unsigned int p = victims[k];
		char *page = (char *)page_word(&s, p);

		zaps = mkvm_vm_stat("zaps");
		ASSERT_OK(madvise(page, PAGE_SIZE, MADV_DONTNEED));
		ASSERT_TRUE(mkvm_vm_stat("zaps") >= zaps + 2);
		assert_pair_reads(&s, p, 0);
		*page_word(&s, p) = tag(p, 1);
		assert_pair_reads(&s, p, tag(p, 1));

		zaps = mkvm_vm_stat("zaps");
		ASSERT_OK(munmap(page, PAGE_SIZE));
		ASSERT_TRUE(mkvm_vm_stat("zaps") >= zaps + 2);
		ASSERT_TRUE(mmap(page, PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == page);
		*page_word(&s, p) = tag(p, 2);
		assert_pair_reads(&s, p, tag(p, 2));
	}
	/* Every other slot still reads its own page. */
	slots_check_all(&s);
	slots_close(&s);
	mkvm_assert_no_objects();
}

/*
 * Among MANY slots, random moves into gaps, into places other moves
 * left, and to the top of the guest-physical space: each slot reads its
 * page at its new place, its old place is no slot's, and every slot
 * still reads right at the end.
 */
TEST_T(many_slots_moves_keep_lookups, 300)
{
	unsigned int nr = MANY, m, slot, i, moved = 0;
	uint64_t top = (1ULL << 48) - PAGE_SIZE, old, gpa;
	unsigned char *used = calloc(2 * nr, 1);
	struct slots_state st;
	struct slots_vm s;
	int top_slot = -1;

	ASSERT_TRUE(used);
	srand(12);
	slots_create(&s, nr, nr);
	for (i = 0; i < nr; i++)
		used[(s.gpa[i] - GPA_BASE) / PAGE_SIZE] = 1;
	st = slots_state();
	for (m = 0; m < MOVES; m++) {
		slot = rand() % nr;
		old = s.gpa[slot];
		/* Now and then, the last page there is: taken, or free. */
		if (m % 64 == 63 && top_slot >= 0 && (unsigned int)top_slot != slot) {
			ASSERT_ERRNO(set_slot(&s, slot, top), EEXIST);
			continue;
		}
		if (m % 64 == 63 && top_slot < 0) {
			gpa = top;
			top_slot = slot;
		} else {
			do
				i = rand() % (2 * nr);
			while (used[i]);
			used[i] = 1;
			gpa = GPA_BASE + (uint64_t)i * PAGE_SIZE;
			if ((unsigned int)top_slot == slot)
				top_slot = -1;
		}
		ASSERT_OK(set_slot(&s, slot, gpa));
		moved++;
		if (old != top)
			used[(old - GPA_BASE) / PAGE_SIZE] = 0;
		s.gpa[slot] = gpa;
		ASSERT_EQ(mkvm_guest_read(&s.vcpu, gpa, 8), *page_word(&s, slot));
		assert_mmio(&s, old);
	}
	ASSERT_EQ(mkvm_vm_stat("memslot_updates"), st.updates + moved);
	ASSERT_EQ(mkvm_vm_stat("memslots"), nr);
	slots_check_all(&s);
	slots_close(&s);
	free(used);
	mkvm_assert_no_objects();
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
