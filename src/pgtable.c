// SPDX-License-Identifier: GPL-2.0
/*
 * The stage-2 table: descriptor format, one walker, and the operations
 * built on it as visitors (map, unmap, age, write-protect, free), in the
 * shape of arm64's hyp/pgtable.c.
 *
 * Locking is the caller's (pgtable.h, struct mkvm_s2). This file never
 * sleeps and never allocates: map takes table pages from a memory cache
 * the caller filled beforehand and fails with -ENOMEM when it is empty.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitfield.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/sched.h>

#include "pgtable.h"

/*
 * Descriptor bits. An entry is a table (levels 0-2, TABLE set) or a leaf
 * (a page at level 3, a block at levels 1-2). Only valid entries mean
 * anything; a zero entry is empty.
 */
#define MKVM_PTE_VALID		BIT_ULL(0)
#define MKVM_PTE_TABLE		BIT_ULL(1)
#define MKVM_PTE_R		BIT_ULL(2)
#define MKVM_PTE_W		BIT_ULL(3)
#define MKVM_PTE_AF_BIT		4
#define MKVM_PTE_AF		BIT_ULL(MKVM_PTE_AF_BIT)
#define MKVM_PTE_ADDR		GENMASK_ULL(51, 12)

#define PTRS_PER_S2		512

static bool s2_pte_valid(u64 pte)
{
	return pte & MKVM_PTE_VALID;
}

static bool s2_pte_is_table(u64 pte, int level)
{
	return level < MKVM_S2_LEAF_LEVEL && s2_pte_valid(pte) &&
	       (pte & MKVM_PTE_TABLE);
}

static u64 *s2_pte_table(u64 pte)
{
	return phys_to_virt(pte & MKVM_PTE_ADDR);
}

static u64 s2_pte_pfn(u64 pte)
{
	return FIELD_GET(MKVM_PTE_ADDR, pte);
}

static unsigned int level_index(u64 addr, int level)
{
	return (addr >> (PAGE_SHIFT + 9 * (MKVM_S2_LEAF_LEVEL - level))) &
	       (PTRS_PER_S2 - 1);
}

int mkvm_memcache_topup(struct mkvm_memcache *mc, int min)
{
	might_sleep();
	while (mc->nobjs < min) {
		void *page = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!page)
			return -ENOMEM;
		mc->objs[mc->nobjs++] = page;
	}
	return 0;
}

void mkvm_memcache_free(struct mkvm_memcache *mc)
{
	while (mc->nobjs)
		free_page((unsigned long)mc->objs[--mc->nobjs]);
}

static void *memcache_take(struct mkvm_memcache *mc)
{
	return mc->nobjs ? mc->objs[--mc->nobjs] : NULL;
}

/* mkvm_s2_split()'s page source from a vCPU's cache (its mutex held). */
void *mkvm_memcache_take(void *mc)
{
	return memcache_take(mc);
}

/* Walk flags: which entries the visitor sees, and when. */
enum s2_walk_flags {
	S2_WALK_LEAF		= BIT(0),	/* every non-table entry, valid or not */
	S2_WALK_TABLE_PRE	= BIT(1),	/* a table entry, before its children */
	S2_WALK_TABLE_POST	= BIT(2),	/* a table entry, after its children */
};

/**
 * struct s2_visit - what a visitor is called with
 * @ptep: the entry
 * @old: its value when the walker read it
 * @addr: the first address the entry maps
 * @start: the first address of the walk's range
 * @end: the end of the walk's range
 * @level: the entry's level
 * @arg: the operation's own data
 */
struct s2_visit {
	u64 *ptep;
	u64 old;
	u64 addr;
	u64 start;
	u64 end;
	int level;
	void *arg;
};

/**
 * struct s2_walker - one operation over a range
 * @cb: the visitor. A non-zero return stops the walk and is returned.
 *	After a LEAF visit the walker reads the entry again, so a table the
 *	visitor installed is walked into (map relies on that).
 * @arg: passed to @cb as visit->arg
 * @flags: enum s2_walk_flags
 */
struct s2_walker {
	int (*cb)(const struct s2_visit *visit, enum s2_walk_flags which);
	void *arg;
	unsigned int flags;
};

struct s2_walk_data {
	const struct s2_walker *walker;
	u64 addr;
	u64 start;
	u64 end;
};

static int s2_walk_table(struct s2_walk_data *data, u64 *table, int level);

static int s2_visit(struct s2_walk_data *data, u64 *ptep, int level)
{
	const struct s2_walker *w = data->walker;
	u64 size = mkvm_s2_level_size(level);
	struct s2_visit v = {
		.ptep = ptep,
		.old = READ_ONCE(*ptep),
		.addr = ALIGN_DOWN(data->addr, size),
		.start = data->start,
		.end = data->end,
		.level = level,
		.arg = w->arg,
	};
	bool table = s2_pte_is_table(v.old, level);
	int r = 0;

	if (table && (w->flags & S2_WALK_TABLE_PRE))
		r = w->cb(&v, S2_WALK_TABLE_PRE);
	else if (!table && (w->flags & S2_WALK_LEAF))
		r = w->cb(&v, S2_WALK_LEAF);
	if (r)
		return r;

	/* A visitor may have installed a table here: walk into it then. */
	v.old = READ_ONCE(*ptep);
	if (!s2_pte_is_table(v.old, level)) {
		data->addr = min(v.addr + size, data->end);
		return 0;
	}

	r = s2_walk_table(data, s2_pte_table(v.old), level + 1);
	if (!r && (w->flags & S2_WALK_TABLE_POST))
		r = w->cb(&v, S2_WALK_TABLE_POST);
	return r;
}

static int s2_walk_table(struct s2_walk_data *data, u64 *table, int level)
{
	unsigned int idx;
	int r;

	for (idx = level_index(data->addr, level);
	     idx < PTRS_PER_S2 && data->addr < data->end; idx++) {
		r = s2_visit(data, &table[idx], level);
		if (r)
			return r;
	}
	return 0;
}

static int s2_walk(struct mkvm_s2 *s2, u64 addr, u64 size,
		   const struct s2_walker *walker)
{
	struct s2_walk_data data = {
		.walker = walker,
		.addr = addr,
		.start = addr,
		.end = addr + size,
	};

	if (WARN_ON_ONCE(data.end > 1ULL << MKVM_S2_IA_BITS || data.end <= addr))
		return -EINVAL;
	return s2_walk_table(&data, s2->pgd, 0);
}

int mkvm_s2_init(struct mkvm_s2 *s2)
{
	s2->pgd = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	atomic_long_set(&s2->nr_tables, 0);
	return s2->pgd ? 0 : -ENOMEM;
}

/* Map: the data, the visitor, the wrapper. */
struct s2_map_data {
	struct mkvm_s2 *s2;
	int level;
	u64 pte;
	struct mkvm_memcache *mc;
};

static int s2_map_visitor(const struct s2_visit *v, enum s2_walk_flags which)
{
	struct s2_map_data *d = v->arg;
	u64 *table;

	/* A table where the block should go: the caller maps smaller. */
	if (which == S2_WALK_TABLE_PRE)
		return v->level == d->level ? -ENOTBLK : 0;
	/* Already mapped, by this or a bigger leaf: nothing to do. */
	if (s2_pte_valid(v->old))
		return -EAGAIN;
	/* ordering: none (atomicity: of two racing faults, one leaf wins). */
	if (v->level == d->level)
		return cmpxchg64(v->ptep, 0, d->pte) ? -EAGAIN : 0;

	table = memcache_take(d->mc);
	if (!table)
		return -ENOMEM;
	/*
	 * The table page is zeroed; cmpxchg is fully ordered, so a walker
	 * that sees the new entry (READ_ONCE in s2_visit) sees zeroes in it
	 * (litmus: s2-table-publish).
	 */
	if (cmpxchg64(v->ptep, 0, virt_to_phys(table) | MKVM_PTE_TABLE |
		      MKVM_PTE_VALID)) {
		/* A concurrent map won: give the page back, walk its table. */
		d->mc->objs[d->mc->nobjs++] = table;
		return 0;
	}
	atomic_long_inc(&d->s2->nr_tables);
	return 0;
}

/**
 * mkvm_s2_map() - install one leaf
 * @s2: the table
 * @addr: guest-physical address, aligned to the leaf's size
 * @level: MKVM_S2_LEAF_LEVEL for 4K, 2 for a 2M block, 1 for 1G
 * @pfn: first host frame, aligned like @addr
 * @prot: MKVM_PROT_* for the leaf
 * @mc: table pages for missing levels
 *
 * Safe against concurrent maps and lookups (mmu_lock for read).
 *
 * Return: 0; -EAGAIN if a leaf already maps @addr (the caller's access
 * can go ahead); -ENOTBLK if smaller leaves are already there where a
 * block was asked for (map smaller); -ENOMEM if @mc ran out.
 */
int mkvm_s2_map(struct mkvm_s2 *s2, u64 addr, int level, u64 pfn,
		enum mkvm_prot prot, struct mkvm_memcache *mc)
{
	struct s2_map_data d = {
		.s2 = s2,
		.level = level,
		.mc = mc,
		.pte = FIELD_PREP(MKVM_PTE_ADDR, pfn) | MKVM_PTE_VALID |
		       (prot & MKVM_PROT_R ? MKVM_PTE_R : 0) |
		       (prot & MKVM_PROT_W ? MKVM_PTE_W : 0),
	};
	struct s2_walker w = {
		.cb = s2_map_visitor,
		.arg = &d,
		.flags = S2_WALK_LEAF | S2_WALK_TABLE_PRE,
	};
	u64 size = mkvm_s2_level_size(level);

	if (WARN_ON_ONCE(level < 1 || level > MKVM_S2_LEAF_LEVEL ||
			 !IS_ALIGNED(addr, size) ||
			 !IS_ALIGNED(pfn << PAGE_SHIFT, size)))
		return -EINVAL;
	return s2_walk(s2, addr, size, &w);
}

static bool table_empty(const u64 *table)
{
	unsigned int i;

	for (i = 0; i < PTRS_PER_S2; i++)
		if (READ_ONCE(table[i]))
			return false;
	return true;
}

/* Unmap and free share a visitor: clear leaves, free emptied tables. */
struct s2_unmap_data {
	struct mkvm_s2 *s2;
	bool unmapped;
};

static int s2_unmap_visitor(const struct s2_visit *v, enum s2_walk_flags which)
{
	struct s2_unmap_data *d = v->arg;
	u64 size = mkvm_s2_level_size(v->level);
	u64 *table;

	if (which == S2_WALK_LEAF) {
		if (!s2_pte_valid(v->old))
			return 0;
		/* A block only partly in the range goes whole: it refaults smaller. */
		WRITE_ONCE(*v->ptep, 0);
		d->unmapped = true;
		return 0;
	}

	/* TABLE_POST: free the table if the range covered it or it is empty. */
	table = s2_pte_table(v->old);
	if (!(v->addr >= v->start && v->addr + size <= v->end) &&
	    !table_empty(table))
		return 0;
	WRITE_ONCE(*v->ptep, 0);
	free_page((unsigned long)table);
	atomic_long_dec(&d->s2->nr_tables);
	return 0;
}

/**
 * mkvm_s2_unmap() - remove every leaf that maps part of a range
 * @s2: the table (mmu_lock held for write)
 * @addr: start, page aligned
 * @size: bytes, page aligned
 *
 * A block that overlaps the range only in part is removed whole. Tables
 * left empty are freed. Absent subtrees are skipped, so a huge and mostly
 * empty range costs little.
 *
 * Return: true if anything was unmapped.
 */
bool mkvm_s2_unmap(struct mkvm_s2 *s2, u64 addr, u64 size)
{
	struct s2_unmap_data d = { .s2 = s2 };
	struct s2_walker w = {
		.cb = s2_unmap_visitor,
		.arg = &d,
		.flags = S2_WALK_LEAF | S2_WALK_TABLE_POST,
	};

	s2_walk(s2, addr, size, &w);
	return d.unmapped;
}

/**
 * mkvm_s2_next_populated() - skip what maps nothing
 * @s2: the table (mmu_lock held, or nobody else can reach it)
 * @addr: where to start, page aligned
 * @end: where to stop
 *
 * For walks that yield between steps of at most 2M (teardown, the
 * notifier's zaps): each step then costs at most one last-level table,
 * and empty space costs one read per absent entry at the highest level
 * it is absent at.
 *
 * Return: the first address in [@addr, @end) whose 2M region has an
 * entry down to level 2 (a table or a leaf), or @end.
 */
u64 mkvm_s2_next_populated(struct mkvm_s2 *s2, u64 addr, u64 end)
{
	while (addr < end) {
		u64 *table = s2->pgd;
		int level;

		for (level = 0; level <= 2; level++) {
			u64 pte = READ_ONCE(table[level_index(addr, level)]);

			if (!s2_pte_valid(pte))
				break;
			if (level == 2 || !s2_pte_is_table(pte, level))
				return addr;
			table = s2_pte_table(pte);
		}
		addr = ALIGN(addr + 1, mkvm_s2_level_size(level));
	}
	return end;
}

/**
 * mkvm_s2_destroy() - free a table that nothing can reach any more
 * @s2: the table, already unpublished by its owner
 *
 * Needs no lock, since nobody else can see @s2, and may sleep: it yields
 * after every populated 2M step, so freeing gigabytes never hogs a CPU.
 */
void mkvm_s2_destroy(struct mkvm_s2 *s2)
{
	struct s2_unmap_data d = { .s2 = s2 };
	struct s2_walker w = {
		.cb = s2_unmap_visitor,
		.arg = &d,
		.flags = S2_WALK_LEAF | S2_WALK_TABLE_POST,
	};
	u64 step = mkvm_s2_level_size(2), end = 1ULL << MKVM_S2_IA_BITS;
	u64 addr = 0;

	might_sleep();
	if (!s2->pgd)
		return;
	while ((addr = mkvm_s2_next_populated(s2, addr, end)) < end) {
		s2_walk(s2, addr, step, &w);
		addr += step;
		cond_resched();
	}
	WARN_ON_ONCE(atomic_long_read(&s2->nr_tables));
	free_page((unsigned long)s2->pgd);
	s2->pgd = NULL;
}

/* Age and write-protect: one attribute updater over valid leaves. */
struct s2_attr_data {
	u64 test;	/* any leaf with one of these bits set counts */
	u64 clear;	/* bits to clear in every valid leaf */
	bool found;
};

static int s2_attr_visitor(const struct s2_visit *v, enum s2_walk_flags which)
{
	struct s2_attr_data *d = v->arg;

	if (!s2_pte_valid(v->old))
		return 0;
	d->found |= !!(v->old & d->test);
	if (v->old & d->clear)
		WRITE_ONCE(*v->ptep, v->old & ~d->clear);
	return 0;
}

static bool s2_update_attrs(struct mkvm_s2 *s2, u64 addr, u64 size, u64 test,
			    u64 clear)
{
	struct s2_attr_data d = { .test = test, .clear = clear };
	struct s2_walker w = {
		.cb = s2_attr_visitor,
		.arg = &d,
		.flags = S2_WALK_LEAF,
	};

	s2_walk(s2, addr, size, &w);
	return d.found;
}

/**
 * mkvm_s2_age() - test, and optionally clear, the access flags of a range
 * @s2: the table (mmu_lock held for write)
 * @addr: start
 * @size: bytes
 * @clear: clear the flags it finds
 *
 * Return: true if a leaf in the range had its access flag set.
 */
bool mkvm_s2_age(struct mkvm_s2 *s2, u64 addr, u64 size, bool clear)
{
	return s2_update_attrs(s2, addr, size, MKVM_PTE_AF,
			       clear ? MKVM_PTE_AF : 0);
}

/* Split: replace each block leaf by a table of the next level's leaves. */
struct s2_split_data {
	struct mkvm_s2 *s2;
	void *(*take)(void *arg);
	void *arg;
	bool split;
};

static int s2_split_visitor(const struct s2_visit *v, enum s2_walk_flags which)
{
	struct s2_split_data *d = v->arg;
	u64 child = mkvm_s2_level_size(v->level + 1) >> PAGE_SHIFT;
	u64 *table;
	unsigned int i;

	if (v->level == MKVM_S2_LEAF_LEVEL || !s2_pte_valid(v->old))
		return 0;
	table = d->take(d->arg);
	if (!table)
		return -ENOMEM;
	/* Same page, same permissions and access flag, one level down. */
	for (i = 0; i < PTRS_PER_S2; i++)
		table[i] = v->old + FIELD_PREP(MKVM_PTE_ADDR, i * child);
	/*
	 * mmu_lock is held for write: no walker can see the entry between
	 * the block and the table, so no break-before-make is needed, and a
	 * plain store publishes the table (litmus: s2-table-split-locked;
	 * without the lock it could not: s2-table-publish-no-cmpxchg). The
	 * walker then goes into the new table and splits its blocks too.
	 */
	WRITE_ONCE(*v->ptep, virt_to_phys(table) | MKVM_PTE_TABLE | MKVM_PTE_VALID);
	atomic_long_inc(&d->s2->nr_tables);
	d->split = true;
	return 0;
}

/**
 * mkvm_s2_split() - map a range with 4K leaves only
 * @s2: the table (mmu_lock held for write)
 * @addr: start, page aligned
 * @size: bytes, page aligned
 * @take: gives a zeroed table page, or NULL when none is left
 * @arg: for @take
 *
 * Every block leaf that maps part of the range is split, a 1G block into
 * 2M ones first, each with the block's permissions. On -ENOMEM the blocks
 * split so far stay split: calling again goes on where it stopped.
 *
 * Return: 1 if a block was split, 0 if there was none, or -ENOMEM.
 */
int mkvm_s2_split(struct mkvm_s2 *s2, u64 addr, u64 size,
		  void *(*take)(void *arg), void *arg)
{
	struct s2_split_data d = { .s2 = s2, .take = take, .arg = arg };
	struct s2_walker w = {
		.cb = s2_split_visitor,
		.arg = &d,
		.flags = S2_WALK_LEAF,
	};
	int r = s2_walk(s2, addr, size, &w);

	return r ? r : d.split;
}

struct s2_leaf_iter {
	int (*fn)(void *arg, u64 addr, const struct mkvm_s2_leaf *leaf);
	void *arg;
};

static int s2_leaf_iter_visitor(const struct s2_visit *v, enum s2_walk_flags which)
{
	const struct s2_leaf_iter *it = v->arg;
	struct mkvm_s2_leaf leaf = { .ptep = v->ptep, .pte = v->old, .level = v->level };

	return s2_pte_valid(v->old) ? it->fn(it->arg, v->addr, &leaf) : 0;
}

/**
 * mkvm_s2_for_each_leaf() - every valid leaf, in address order
 * @s2: the table (mmu_lock held, for read or write)
 * @fn: called with the first address a leaf maps and the leaf; must not
 *	sleep; a non-zero return stops the walk
 * @arg: passed to @fn
 *
 * Return: what @fn returned to stop the walk, or 0.
 */
int mkvm_s2_for_each_leaf(struct mkvm_s2 *s2,
			  int (*fn)(void *arg, u64 addr, const struct mkvm_s2_leaf *leaf),
			  void *arg)
{
	struct s2_leaf_iter it = { .fn = fn, .arg = arg };
	struct s2_walker w = {
		.cb = s2_leaf_iter_visitor,
		.arg = &it,
		.flags = S2_WALK_LEAF,
	};
	u64 end = BIT_ULL(MKVM_S2_IA_BITS), addr = 0, step = mkvm_s2_level_size(1);
	int r;

	/* 1G at a time from what is populated: empty space costs little. */
	while ((addr = mkvm_s2_next_populated(s2, addr, end)) < end) {
		u64 next = min(ALIGN(addr + 1, step), end);

		r = s2_walk(s2, addr, next - addr, &w);
		if (r)
			return r;
		addr = next;
	}
	return 0;
}

static int s2_count_block(void *arg, u64 addr, const struct mkvm_s2_leaf *leaf)
{
	unsigned long *blocks = arg;

	if (leaf->level < MKVM_S2_LEAF_LEVEL)
		(*blocks)++;
	return 0;
}

/* Block leaves (1G and 2M) in the whole table (mmu_lock held). */
unsigned long mkvm_s2_count_blocks(struct mkvm_s2 *s2)
{
	unsigned long blocks = 0;

	mkvm_s2_for_each_leaf(s2, s2_count_block, &blocks);
	return blocks;
}

/* Does any valid leaf map part of the range? (mmu_lock held) */
bool mkvm_s2_any_mapped(struct mkvm_s2 *s2, u64 addr, u64 size)
{
	return s2_update_attrs(s2, addr, size, MKVM_PTE_VALID, 0);
}

/* Remove write permission from a range (mmu_lock for write). */
bool mkvm_s2_wrprotect(struct mkvm_s2 *s2, u64 addr, u64 size)
{
	return s2_update_attrs(s2, addr, size, MKVM_PTE_W, MKVM_PTE_W);
}

/* Lookup: stop at the first leaf, valid or not. */
static int s2_lookup_visitor(const struct s2_visit *v, enum s2_walk_flags which)
{
	struct mkvm_s2_leaf *leaf = v->arg;

	leaf->ptep = v->ptep;
	leaf->pte = v->old;
	leaf->level = v->level;
	return 1;
}

/**
 * mkvm_s2_lookup() - find the leaf that maps an address
 * @s2: the table (mmu_lock held, for read or write)
 * @addr: guest-physical address
 * @leaf: filled in
 *
 * Return: true if a valid leaf maps @addr.
 */
bool mkvm_s2_lookup(struct mkvm_s2 *s2, u64 addr, struct mkvm_s2_leaf *leaf)
{
	struct s2_walker w = {
		.cb = s2_lookup_visitor,
		.arg = leaf,
		.flags = S2_WALK_LEAF,
	};

	leaf->pte = 0;
	s2_walk(s2, ALIGN_DOWN(addr, PAGE_SIZE), PAGE_SIZE, &w);
	return s2_pte_valid(leaf->pte);
}

/* The host frame that backs @addr inside a valid leaf. */
u64 mkvm_s2_leaf_pfn(const struct mkvm_s2_leaf *leaf, u64 addr)
{
	u64 offset = addr & (mkvm_s2_level_size(leaf->level) - 1);

	return s2_pte_pfn(leaf->pte) + (offset >> PAGE_SHIFT);
}

enum mkvm_prot mkvm_s2_leaf_prot(const struct mkvm_s2_leaf *leaf)
{
	return (leaf->pte & MKVM_PTE_R ? MKVM_PROT_R : 0) |
	       (leaf->pte & MKVM_PTE_W ? MKVM_PROT_W : 0);
}

/* Whether the leaf's access flag is set: accessed since aging last cleared it. */
bool mkvm_s2_leaf_young(const struct mkvm_s2_leaf *leaf)
{
	return leaf->pte & MKVM_PTE_AF;
}

/*
 * An access sets the access flag. Accesses run with mmu_lock for read, so
 * several may set it at once: an atomic bit op. Aging clears it only with
 * mmu_lock for write, when no access runs.
 */
void mkvm_s2_leaf_mkyoung(const struct mkvm_s2_leaf *leaf)
{
	if (!(leaf->pte & MKVM_PTE_AF))
		set_bit(MKVM_PTE_AF_BIT, (unsigned long *)leaf->ptep);
}

/*
 * Add permissions to a leaf (a write fault on a read-only entry), with
 * mmu_lock for read: cmpxchg, so a racing change wins and the access that
 * needed the permission faults again.
 */
void mkvm_s2_leaf_relax(const struct mkvm_s2_leaf *leaf, enum mkvm_prot prot)
{
	u64 new = leaf->pte | (prot & MKVM_PROT_R ? MKVM_PTE_R : 0) |
		  (prot & MKVM_PROT_W ? MKVM_PTE_W : 0);

	/* ordering: none (atomicity only). */
	cmpxchg64(leaf->ptep, leaf->pte, new);
}

#ifdef CONFIG_MKVM_TEST_BUILD
#include "selftest/pgtable.c"
#endif
