// SPDX-License-Identifier: GPL-2.0
/*
 * Self-test of the memslot set (test builds only, #included at the end of
 * memslot.c so it reaches its static helpers). A randomized differential
 * test: random creates, moves and deletes go both to a real set and to a
 * naive model (an array indexed by slot id, searched linearly), and every
 * lookup and overlap answer of the set must match the model's.
 */
#include <linux/random.h>

#define SELFTEST_GFNS	512	/* a small space, so that collisions are common */
#define SELFTEST_ROUNDS	300

/* Two objects per id, so a move never rewrites a slot in place. */
static struct mkvm_memslot selftest_spares[2][MKVM_NR_MEMSLOTS] __initdata;

static struct mkvm_memslot * __init model_lookup(struct mkvm_memslot **model, u64 gfn)
{
	unsigned int i;

	for (i = 0; i < MKVM_NR_MEMSLOTS; i++)
		if (model[i] && gfn - model[i]->base_gfn < model[i]->npages)
			return model[i];
	return NULL;
}

static bool __init model_overlap(struct mkvm_memslot **model, u64 base,
				 u64 npages, struct mkvm_memslot *ignore)
{
	unsigned int i;

	for (i = 0; i < MKVM_NR_MEMSLOTS; i++)
		if (model[i] && model[i] != ignore &&
		    model[i]->base_gfn < base + npages &&
		    base < model[i]->base_gfn + model[i]->npages)
			return true;
	return false;
}

static bool __init selftest_sorted(const struct mkvm_memslots *slots)
{
	unsigned int i;

	for (i = 1; i < slots->nr; i++)
		if (slots->by_gfn[i - 1]->base_gfn + slots->by_gfn[i - 1]->npages >
		    slots->by_gfn[i]->base_gfn)
			return false;
	return true;
}

/* One random create/move/delete; returns false on a mismatch. */
static bool __init selftest_step(struct mkvm_memslots *slots,
				 struct mkvm_memslot **model)
{
	u32 id = get_random_u32_below(MKVM_NR_MEMSLOTS);
	struct mkvm_memslot *old = model[id];
	u64 base = get_random_u32_below(SELFTEST_GFNS);
	u64 npages = 1 + get_random_u32_below(16);
	struct mkvm_memslot *spare;
	bool overlap;

	if (old && get_random_u32_below(3) == 0) {
		slots_replace(slots, old, NULL);
		model[id] = NULL;
		return true;
	}
	if (old)
		npages = old->npages;
	overlap = slots_overlap(slots, base, npages, old);
	if (overlap != model_overlap(model, base, npages, old))
		return false;
	if (overlap)
		return true;

	spare = &selftest_spares[old == &selftest_spares[0][id]][id];
	*spare = (struct mkvm_memslot){ .id = id, .base_gfn = base,
					.npages = npages };
	slots_replace(slots, old, spare);
	model[id] = spare;
	return true;
}

int __init mkvm_memslot_selftest(void)
{
	static struct mkvm_memslots slots __initdata;
	static struct mkvm_memslot *model[MKVM_NR_MEMSLOTS] __initdata;
	unsigned int round, gfn;

	for (round = 0; round < SELFTEST_ROUNDS; round++) {
		if (!selftest_step(&slots, model) || !selftest_sorted(&slots))
			goto fail;
		for (gfn = 0; gfn < SELFTEST_GFNS + 16; gfn++)
			if (mkvm_gfn_to_memslot(&slots, gfn) !=
			    model_lookup(model, gfn))
				goto fail;
	}
	pr_info("memslot self-tests: pass\n");
	return 0;
fail:
	pr_err("memslot self-test %u: FAIL\n", round);
	return -ENOTRECOVERABLE;
}
