// SPDX-License-Identifier: GPL-2.0
/*
 * Self-test of the stage-2 table (test builds only, #included at the end
 * of pgtable.c). A randomized differential test: random 4K and 2M maps and
 * random unmaps go both to a real table and to a naive model (one slot per
 * 4K page of a small window, remembering the leaf that maps it), and after
 * every step each page's lookup must match the model: mapped or not, at
 * which level, to which frame. Then a 1G block, aging, write-protect, and
 * teardown, which must leave no table behind.
 */
#include <linux/random.h>
#include <linux/slab.h>

#define ST_BLOCKS	4				/* 2M blocks in the window */
#define ST_PAGES	(ST_BLOCKS * PTRS_PER_S2)
#define ST_BASE		(5ULL << 30)			/* inside one 1G entry */
#define ST_ROUNDS	150

struct st_page {
	u8 level;	/* 0: unmapped */
	u64 pfn;
};

static bool __init st_check(struct mkvm_s2 *s2, const struct st_page *model)
{
	struct mkvm_s2_leaf leaf;
	unsigned int i;

	for (i = 0; i < ST_PAGES; i++) {
		u64 addr = ST_BASE + (u64)i * PAGE_SIZE;
		bool mapped = mkvm_s2_lookup(s2, addr, &leaf);

		if (mapped != !!model[i].level)
			return false;
		if (mapped && (leaf.level != model[i].level ||
			       mkvm_s2_leaf_pfn(&leaf, addr) != model[i].pfn))
			return false;
	}
	return true;
}

/* One random map or unmap; false if the table disagrees with the model. */
static bool __init st_step(struct mkvm_s2 *s2, struct st_page *model,
			   struct mkvm_memcache *mc)
{
	unsigned int op = get_random_u32_below(3), i, first, n, j;
	u64 pfn = get_random_u32_below(1 << 20) * PTRS_PER_S2;
	int r, want;

	if (op == 0) {			/* 4K map */
		i = get_random_u32_below(ST_PAGES);
		want = model[i].level ? -EAGAIN : 0;
		r = mkvm_s2_map(s2, ST_BASE + (u64)i * PAGE_SIZE, 3, pfn, MKVM_PROT_R, mc);
		if (r != want)
			return false;
		if (!r)
			model[i] = (struct st_page){ 3, pfn };
		return true;
	}
	if (op == 1) {			/* 2M map */
		first = get_random_u32_below(ST_BLOCKS) * PTRS_PER_S2;
		want = 0;
		for (j = first; j < first + PTRS_PER_S2; j++)
			if (model[j].level)
				want = model[j].level == 2 ? -EAGAIN : -ENOTBLK;
		r = mkvm_s2_map(s2, ST_BASE + (u64)first * PAGE_SIZE, 2, pfn,
				MKVM_PROT_R | MKVM_PROT_W, mc);
		if (r != want)
			return false;
		for (j = first; !r && j < first + PTRS_PER_S2; j++)
			model[j] = (struct st_page){ 2, pfn + j - first };
		return true;
	}
	/* Unmap: a block touched by the range goes whole. */
	first = get_random_u32_below(ST_PAGES);
	n = 1 + get_random_u32_below(700);
	n = min(n, ST_PAGES - first);
	mkvm_s2_unmap(s2, ST_BASE + (u64)first * PAGE_SIZE, (u64)n * PAGE_SIZE);
	for (j = first; j < first + n; j++) {
		unsigned int b = j - j % PTRS_PER_S2, k;

		if (model[j].level == 2)
			for (k = b; k < b + PTRS_PER_S2; k++)
				model[k].level = 0;
		model[j].level = 0;
	}
	return true;
}

/* A 1G block, its access flag, and its removal by a partial unmap. */
static bool __init st_giant(struct mkvm_s2 *s2, struct mkvm_memcache *mc)
{
	u64 addr = 7ULL << 30;
	struct mkvm_s2_leaf leaf;

	if (mkvm_s2_map(s2, addr, 1, 1ULL << 18, MKVM_PROT_R, mc))
		return false;
	if (!mkvm_s2_lookup(s2, addr + 12345 * PAGE_SIZE, &leaf) || leaf.level != 1 ||
	    mkvm_s2_leaf_pfn(&leaf, addr + 12345 * PAGE_SIZE) != (1ULL << 18) + 12345)
		return false;
	if (mkvm_s2_age(s2, addr, PAGE_SIZE, false))
		return false;
	mkvm_s2_leaf_mkyoung(&leaf);
	if (!mkvm_s2_age(s2, addr + (1ULL << 29), PAGE_SIZE, true) ||
	    mkvm_s2_age(s2, addr, PAGE_SIZE, false))
		return false;
	if (!mkvm_s2_unmap(s2, addr + (1ULL << 20), PAGE_SIZE))
		return false;
	return !mkvm_s2_lookup(s2, addr, &leaf);
}

/* Write-protect: clears W from the leaf it reaches, and says so once. */
static bool __init st_wrprotect(struct mkvm_s2 *s2, struct mkvm_memcache *mc)
{
	u64 addr = 9ULL << 30;
	struct mkvm_s2_leaf leaf;

	if (mkvm_s2_map(s2, addr, 2, 1ULL << 9, MKVM_PROT_R | MKVM_PROT_W, mc))
		return false;
	if (mkvm_s2_wrprotect(s2, addr + (1ULL << 21), PAGE_SIZE) ||
	    !mkvm_s2_wrprotect(s2, addr + 3 * PAGE_SIZE, PAGE_SIZE) ||
	    mkvm_s2_wrprotect(s2, addr, 1ULL << 21))
		return false;
	return mkvm_s2_lookup(s2, addr + 5 * PAGE_SIZE, &leaf) &&
	       mkvm_s2_leaf_prot(&leaf) == MKVM_PROT_R;
}

/*
 * Split: a 1G block split for one page becomes 2M blocks and, around that
 * page, 4K pages, every one translating as the block did, with its
 * permissions; a second split there finds nothing left to split; and an
 * empty page source stops it with -ENOMEM, leaving the block whole.
 */
static void * __init st_take_none(void *arg)
{
	return NULL;
}

static bool __init st_split(struct mkvm_s2 *s2, struct mkvm_memcache *mc)
{
	u64 addr = 11ULL << 30, pfn = 3ULL << 18;
	u64 probe[] = { 0, 77, 511, 512, 262143 };
	unsigned long blocks = mkvm_s2_count_blocks(s2);
	struct mkvm_s2_leaf leaf;
	unsigned int i;

	if (mkvm_s2_map(s2, addr, 1, pfn, MKVM_PROT_R, mc) ||
	    mkvm_s2_split(s2, addr, PAGE_SIZE, st_take_none, NULL) != -ENOMEM ||
	    !mkvm_s2_lookup(s2, addr, &leaf) || leaf.level != 1)
		return false;
	if (mkvm_s2_split(s2, addr + 77 * PAGE_SIZE, PAGE_SIZE, mkvm_memcache_take, mc) != 1 ||
	    mkvm_s2_split(s2, addr + 77 * PAGE_SIZE, PAGE_SIZE, mkvm_memcache_take, mc) != 0)
		return false;
	for (i = 0; i < ARRAY_SIZE(probe); i++) {
		u64 a = addr + probe[i] * PAGE_SIZE;

		if (!mkvm_s2_lookup(s2, a, &leaf) ||
		    leaf.level != (probe[i] < 512 ? MKVM_S2_LEAF_LEVEL : 2) ||
		    mkvm_s2_leaf_pfn(&leaf, a) != pfn + probe[i] ||
		    mkvm_s2_leaf_prot(&leaf) != MKVM_PROT_R)
			return false;
	}
	/* The 1G block is now 511 2M blocks and 512 pages. */
	return mkvm_s2_count_blocks(s2) == blocks + 511;
}

int __init mkvm_pgtable_selftest(void)
{
	struct mkvm_memcache mc = { 0 };
	struct st_page *model;
	struct mkvm_s2 s2;
	unsigned int round = 0;
	int r = -ENOTRECOVERABLE;

	model = kcalloc(ST_PAGES, sizeof(*model), GFP_KERNEL);
	if (!model || mkvm_s2_init(&s2)) {
		kfree(model);
		return -ENOMEM;
	}
	for (round = 0; round < ST_ROUNDS; round++) {
		if (mkvm_memcache_topup(&mc, MKVM_MEMCACHE_MIN))
			goto out;
		if (!st_step(&s2, model, &mc) || !st_check(&s2, model))
			goto out;
	}
	if (!st_giant(&s2, &mc) || mkvm_memcache_topup(&mc, MKVM_MEMCACHE_MIN) ||
	    !st_wrprotect(&s2, &mc) || mkvm_memcache_topup(&mc, MKVM_MEMCACHE_MIN) ||
	    !st_split(&s2, &mc))
		goto out;
	/* Unmapping everything frees every table below the root. */
	mkvm_s2_unmap(&s2, 0, 1ULL << MKVM_S2_IA_BITS);
	if (atomic_long_read(&s2.nr_tables))
		goto out;
	r = 0;
out:
	mkvm_s2_destroy(&s2);
	mkvm_memcache_free(&mc);
	kfree(model);
	if (r)
		pr_err("pgtable self-test %u: FAIL\n", round);
	else
		pr_info("pgtable self-tests: pass\n");
	return r;
}
