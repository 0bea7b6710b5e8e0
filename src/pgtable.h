/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_PGTABLE_H
#define MKVM_PGTABLE_H

#include <linux/bits.h>
#include <linux/mm.h>
#include <linux/types.h>

/*
 * The stage-2 table: guest-physical to host-physical, 4 levels of 512
 * entries (4K granule, 48-bit guest-physical space). Level 3 maps 4K
 * pages; a level 2 entry may be a 2M block, a level 1 entry a 1G block.
 */
#define MKVM_S2_LEVELS		4
#define MKVM_S2_LEAF_LEVEL	3
#define MKVM_S2_IA_BITS		48

enum mkvm_prot {
	MKVM_PROT_R = BIT(0),
	MKVM_PROT_W = BIT(1),
};

/* Bytes one entry at @level maps: 512G, 1G, 2M, 4K. */
static inline u64 mkvm_s2_level_size(int level)
{
	return 1ULL << (PAGE_SHIFT + 9 * (MKVM_S2_LEAF_LEVEL - level));
}

/*
 * Pre-zeroed table pages, filled where sleeping is allowed and consumed
 * under mmu_lock, where it is not. A map needs at most one new table per
 * level below the root.
 */
#define MKVM_MEMCACHE_MIN	(MKVM_S2_LEVELS - 1)
#define MKVM_MEMCACHE_CAPACITY	8

struct mkvm_memcache {
	int nobjs;
	void *objs[MKVM_MEMCACHE_CAPACITY];
};

int mkvm_memcache_topup(struct mkvm_memcache *mc, int min);
void mkvm_memcache_free(struct mkvm_memcache *mc);
void *mkvm_memcache_take(void *mc);

/**
 * struct mkvm_s2 - one stage-2 table
 * @pgd: the level 0 table
 * @nr_tables: table pages in use below @pgd (for stats and tests)
 *
 * The table has no lock of its own: its user's mmu_lock protects it.
 * Mapping may run with mmu_lock held for read, concurrently with other
 * maps and lookups: entries are then installed with cmpxchg and never
 * removed. Everything that removes or rewrites an entry (unmap, age,
 * write-protect) needs mmu_lock for write; two atomic updates that only add
 * to a leaf run with it for read: an access setting the access flag
 * (mkvm_s2_leaf_mkyoung()) and a write fault adding a permission
 * (mkvm_s2_leaf_relax(), by cmpxchg). Tables are freed only by unmap
 * (for write) and by mkvm_s2_destroy() (when nothing can reach the table).
 */
struct mkvm_s2 {
	u64 *pgd;
	atomic_long_t nr_tables;
};

int mkvm_s2_init(struct mkvm_s2 *s2);
void mkvm_s2_destroy(struct mkvm_s2 *s2);

int mkvm_s2_map(struct mkvm_s2 *s2, u64 addr, int level, u64 pfn,
		enum mkvm_prot prot, struct mkvm_memcache *mc);
bool mkvm_s2_unmap(struct mkvm_s2 *s2, u64 addr, u64 size);
bool mkvm_s2_age(struct mkvm_s2 *s2, u64 addr, u64 size, bool clear);
bool mkvm_s2_wrprotect(struct mkvm_s2 *s2, u64 addr, u64 size);
bool mkvm_s2_any_mapped(struct mkvm_s2 *s2, u64 addr, u64 size);
u64 mkvm_s2_next_populated(struct mkvm_s2 *s2, u64 addr, u64 end);
int mkvm_s2_split(struct mkvm_s2 *s2, u64 addr, u64 size,
		  void *(*take)(void *arg), void *arg);
unsigned long mkvm_s2_count_blocks(struct mkvm_s2 *s2);

/**
 * struct mkvm_s2_leaf - what a lookup found
 * @ptep: the entry; valid while the caller holds mmu_lock
 * @pte: its value when read
 * @level: its level (3 for a 4K page)
 */
struct mkvm_s2_leaf {
	u64 *ptep;
	u64 pte;
	int level;
};

bool mkvm_s2_lookup(struct mkvm_s2 *s2, u64 addr, struct mkvm_s2_leaf *leaf);
u64 mkvm_s2_leaf_pfn(const struct mkvm_s2_leaf *leaf, u64 addr);
enum mkvm_prot mkvm_s2_leaf_prot(const struct mkvm_s2_leaf *leaf);
bool mkvm_s2_leaf_young(const struct mkvm_s2_leaf *leaf);
int mkvm_s2_for_each_leaf(struct mkvm_s2 *s2,
			  int (*fn)(void *arg, u64 addr, const struct mkvm_s2_leaf *leaf),
			  void *arg);
void mkvm_s2_leaf_mkyoung(const struct mkvm_s2_leaf *leaf);
void mkvm_s2_leaf_relax(const struct mkvm_s2_leaf *leaf, enum mkvm_prot prot);

#ifdef CONFIG_MKVM_TEST_BUILD
int mkvm_pgtable_selftest(void);
#else
static inline int mkvm_pgtable_selftest(void) { return 0; }
#endif

#endif /* MKVM_PGTABLE_H */
