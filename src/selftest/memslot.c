// SPDX-License-Identifier: GPL-2.0
/*
 * Self-test of the memslot sets (test builds only, #included at the end of
 * memslot.c so it reaches its static helpers). A randomized differential
 * test: random creates, moves and deletes go both to a pair of real sets,
 * swapped as the update path swaps them (a move or delete goes through an
 * invalid copy first), and to a naive model (an array indexed by slot id,
 * searched linearly). After every step both sets' gfn lookups, overlap
 * answers, tree order and hva walks must match the model's. Ids stay
 * small: the trees do not care about the id space, and the test runs at
 * every module load.
 */
#include <linux/random.h>

#define SELFTEST_IDS		128
#define SELFTEST_GFNS		512	/* a small space, so that collisions are common */
#define SELFTEST_HVA_BASE	0x10000000UL
#define SELFTEST_HVA_PAGES	256	/* host ranges may overlap, and often do */
#define SELFTEST_HVA_QUERIES	16
#define SELFTEST_ROUNDS		300

/* Three objects per id: the slot in the sets, an invalid copy, the next one. */
static struct mkvm_memslot selftest_spares[3][SELFTEST_IDS] __initdata;
static struct mkvm_memslots selftest_sets[2] __initdata;
static struct mkvm_memslot *selftest_model[SELFTEST_IDS] __initdata;
/* The model's answer for each gfn, rebuilt after each step. */
static struct mkvm_memslot *selftest_by_gfn[SELFTEST_GFNS + 16] __initdata;
static unsigned int selftest_active __initdata;

static bool __init model_overlap(u64 base, u64 npages,
				 struct mkvm_memslot *ignore)
{
	struct mkvm_memslot *s;
	unsigned int i;

	for (i = 0; i < SELFTEST_IDS; i++) {
		s = selftest_model[i];
		if (s && s != ignore && s->base_gfn < base + npages &&
		    base < s->base_gfn + s->npages)
			return true;
	}
	return false;
}

static void __init model_index(void)
{
	struct mkvm_memslot *s;
	unsigned int i;
	u64 g;

	memset(selftest_by_gfn, 0, sizeof(selftest_by_gfn));
	for (i = 0; i < SELFTEST_IDS; i++) {
		s = selftest_model[i];
		for (g = 0; s && g < s->npages; g++)
			selftest_by_gfn[s->base_gfn + g] = s;
	}
}

static bool __init hva_meets(const struct mkvm_memslot *s, unsigned long start,
			     unsigned long last)
{
	return s->userspace_addr <= last &&
	       start <= s->userspace_addr + (s->npages << PAGE_SHIFT) - 1;
}

/* Both steps of a swap, @old replaced by @new, as the update path does them. */
static void __init selftest_swap(struct mkvm_memslot *old,
				 struct mkvm_memslot *new)
{
	slots_replace(&selftest_sets[!selftest_active], old, new);
	selftest_active = !selftest_active;
	slots_replace(&selftest_sets[!selftest_active], old, new);
}

/* Which of the three spares of @id @slot is (0 for none). */
static unsigned int __init spare_index(struct mkvm_memslot *slot, u32 id)
{
	unsigned int k;

	for (k = 1; k < 3; k++)
		if (slot == &selftest_spares[k][id])
			return k;
	return 0;
}

/* One random create, move or delete; returns false on a mismatch. */
static bool __init selftest_step(void)
{
	u32 id = get_random_u32_below(SELFTEST_IDS);
	struct mkvm_memslot *old = selftest_model[id], *invalid, *new = NULL;
	unsigned int cur = spare_index(old, id);
	u64 base = get_random_u32_below(SELFTEST_GFNS);
	u64 npages = 1 + get_random_u32_below(16);
	unsigned long hva = SELFTEST_HVA_BASE +
			    (get_random_u32_below(SELFTEST_HVA_PAGES) << PAGE_SHIFT);
	bool overlap;

	invalid = &selftest_spares[(cur + 1) % 3][id];
	if (!old || get_random_u32_below(3)) {
		if (old) {
			npages = old->npages;
			hva = old->userspace_addr;
		}
		overlap = slots_overlap(&selftest_sets[selftest_active], base,
					npages, old);
		if (overlap != model_overlap(base, npages, old))
			return false;
		if (overlap)
			return true;
		new = &selftest_spares[(cur + 2) % 3][id];
		*new = (struct mkvm_memslot){ .id = id, .base_gfn = base,
					      .npages = npages,
					      .userspace_addr = hva };
	}
	if (old) {
		*invalid = *old;
		invalid->flags |= MKVM_MEMSLOT_INVALID;
		selftest_swap(old, invalid);
		old = invalid;
	}
	selftest_swap(old, new);
	selftest_model[id] = new;
	model_index();
	return true;
}

/* In-order walk of the gfn tree: sorted, disjoint, and holding @nr slots. */
static bool __init selftest_sorted(const struct mkvm_memslots *slots,
				   unsigned int nr)
{
	struct mkvm_memslot *s, *prev = NULL;
	struct rb_node *node;
	unsigned int n = 0;

	for (node = rb_first(&slots->gfn_tree); node; node = rb_next(node)) {
		s = gfn_node_slot(slots, node);
		if (selftest_model[s->id] != s ||
		    (prev && prev->base_gfn + prev->npages > s->base_gfn))
			return false;
		prev = s;
		n++;
	}
	return n == nr && slots->nr == nr;
}

/* Random host ranges: the walk finds each slot meeting one exactly once. */
static bool __init selftest_hva(struct mkvm_memslots *slots)
{
	DECLARE_BITMAP(seen, SELFTEST_IDS);
	unsigned long start, last, prev;
	struct mkvm_memslot *s;
	unsigned int q, i;

	for (q = 0; q < SELFTEST_HVA_QUERIES; q++) {
		start = SELFTEST_HVA_BASE - PAGE_SIZE +
			get_random_u32_below((SELFTEST_HVA_PAGES + 24) << PAGE_SHIFT);
		last = start + get_random_u32_below(8 << PAGE_SHIFT);
		bitmap_zero(seen, SELFTEST_IDS);
		prev = 0;
		mkvm_for_each_memslot_in_hva_range(s, slots, start, last) {
			if (selftest_model[s->id] != s ||
			    __test_and_set_bit(s->id, seen) ||
			    !hva_meets(s, start, last) || s->userspace_addr < prev)
				return false;
			prev = s->userspace_addr;
		}
		for (i = 0; i < SELFTEST_IDS; i++)
			if (selftest_model[i] && !test_bit(i, seen) &&
			    hva_meets(selftest_model[i], start, last))
				return false;
	}
	return true;
}

static bool __init selftest_check(void)
{
	unsigned int i, gfn, nr = 0;

	for (i = 0; i < SELFTEST_IDS; i++)
		nr += !!selftest_model[i];
	for (i = 0; i < 2; i++) {
		struct mkvm_memslots *slots = &selftest_sets[i];

		if (!selftest_sorted(slots, nr) || !selftest_hva(slots))
			return false;
		for (gfn = 0; gfn < ARRAY_SIZE(selftest_by_gfn); gfn++)
			if (mkvm_gfn_to_memslot(slots, gfn) !=
			    selftest_by_gfn[gfn])
				return false;
	}
	return true;
}

int __init mkvm_memslot_selftest(void)
{
	unsigned int round;

	slots_init(&selftest_sets[0], 0);
	slots_init(&selftest_sets[1], 1);
	for (round = 0; round < SELFTEST_ROUNDS; round++)
		if (!selftest_step() || !selftest_check())
			goto fail;
	pr_info("memslot self-tests: pass\n");
	return 0;
fail:
	pr_err("memslot self-test %u: FAIL\n", round);
	return -ENOTRECOVERABLE;
}
