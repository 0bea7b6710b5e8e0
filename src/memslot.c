// SPDX-License-Identifier: GPL-2.0
/*
 * Memory slots, the data structure: the two sets, their trees, the gfn
 * and hva lookups, the id map, and the three steps of a swap. The update
 * path that decides what changes, and in which order slots, stage-2 and
 * the notifier move, is memslot_update.c's.
 *
 * As in KVM, a VM keeps two sets of slots. Readers (vm->srcu) only ever
 * see the active one. One change, under vm->slots_lock:
 *   1. mkvm_memslots_prepare() applies it to the inactive set, which no
 *      reader can see;
 *   2. mkvm_memslots_activate() publishes that set (rcu_assign_pointer);
 *   3. after a grace period of vm->srcu, no reader is still inside the
 *      previously active set: mkvm_memslots_complete() applies the same
 *      change to it, making the two sets equal again, and frees the slot
 *      the change retired, which neither set holds now.
 * Readers never block writers and writers never block readers; a reader
 * sees either the whole old layout or the whole new one.
 *
 * Each set is an rbtree by base_gfn and an interval tree by host range
 * (KVM's layout, up to its 32764 slots). The nodes are embedded in the
 * slot, one per set, so a slot both sets hold is linked into each through
 * its own node, and a step relinks only the slots it changes: one
 * prepare or complete is O(log n) in either tree, the id map is an
 * xarray (O(log n) too, with no allocation past the reservation that
 * memslot_update.c takes before a create), and nothing else in a swap
 * depends on the number of slots: synchronize_srcu waits for readers,
 * not slots, and the stage-2 zap of a retired slot is as big as that
 * slot. The gfn lookup and the overlap check are one descent, the hva
 * walk O(log n) per slot it finds. Only mkvm_memslots_destroy() visits
 * every slot, once each.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interval_tree_generic.h>
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include <linux/mkvm.h>

#include "memslot.h"
#include "stats.h"
#include "vm.h"

/*
 * The hva interval tree. Ours, not lib/interval_tree.c's exported one:
 * that needs CONFIG_INTERVAL_TREE, a hidden symbol a kernel may lack.
 * static inline, so the unused generated helpers cost no warning.
 */
#define HVA_START(n)	((n)->start)
#define HVA_LAST(n)	((n)->last)
INTERVAL_TREE_DEFINE(struct mkvm_hva_node, rb, unsigned long, __subtree_last,
		     HVA_START, HVA_LAST, static inline, slot_hva)

static struct mkvm_memslots *slots_active(struct mkvm_vm *vm)
{
	return rcu_dereference_protected(vm->memslots,
					 lockdep_is_held(&vm->slots_lock));
}

static struct mkvm_memslots *slots_inactive(struct mkvm_vm *vm)
{
	struct mkvm_memslots *active = slots_active(vm);

	return active == &vm->__memslots[0] ? &vm->__memslots[1] :
					      &vm->__memslots[0];
}

/* The slot a node of @slots' gfn tree is embedded in. */
static struct mkvm_memslot *gfn_node_slot(const struct mkvm_memslots *slots,
					  struct rb_node *node)
{
	return container_of(node, struct mkvm_memslot,
			    gfn_node[slots->node_idx]);
}

static struct mkvm_memslot *hva_node_slot(const struct mkvm_memslots *slots,
					  struct mkvm_hva_node *node)
{
	return node ? container_of(node, struct mkvm_memslot,
				   hva_node[slots->node_idx]) : NULL;
}

/* The gfn tree's node of the slot with the greatest base_gfn below @end. */
static struct rb_node *slots_last_below(const struct mkvm_memslots *slots,
					u64 end)
{
	struct rb_node *node = slots->gfn_tree.rb_node, *found = NULL;

	while (node) {
		if (gfn_node_slot(slots, node)->base_gfn < end) {
			found = node;
			node = node->rb_right;
		} else {
			node = node->rb_left;
		}
	}
	return found;
}

/**
 * mkvm_gfn_to_memslot() - find the slot that maps a guest frame
 * @slots: a set obtained from mkvm_memslots() under vm->srcu
 * @gfn: guest frame number, below MKVM_MAX_GFN
 *
 * Return: the slot, valid until srcu_read_unlock(), or NULL.
 */
struct mkvm_memslot *mkvm_gfn_to_memslot(struct mkvm_memslots *slots, u64 gfn)
{
	struct rb_node *node = slots_last_below(slots, gfn + 1);
	struct mkvm_memslot *slot;

	if (!node)
		return NULL;
	/* Slots never overlap: only the last one starting at or below can hold it. */
	slot = gfn_node_slot(slots, node);
	return gfn - slot->base_gfn < slot->npages ? slot : NULL;
}

/*
 * The active set; the caller holds vm->srcu for reading or vm->slots_lock.
 * Pairs with mkvm_memslots_activate() (litmus: memslots-publish).
 */
struct mkvm_memslots *mkvm_memslots(struct mkvm_vm *vm)
{
	return srcu_dereference_check(vm->memslots, &vm->srcu,
				      lockdep_is_held(&vm->slots_lock));
}

/**
 * mkvm_memslot_hva_first() - start a walk of the slots meeting a host range
 * @slots: a set obtained from mkvm_memslots() under vm->srcu
 * @start: first host address
 * @last: last host address, inclusive
 *
 * For mkvm_for_each_memslot_in_hva_range(), which is what callers use.
 * Return: the walk, at the slot with the lowest host start in the range.
 */
struct mkvm_memslot_hva_iter mkvm_memslot_hva_first(struct mkvm_memslots *slots,
						    unsigned long start,
						    unsigned long last)
{
	struct mkvm_hva_node *node;

	node = slot_hva_iter_first(&slots->hva_tree, start, last);
	return (struct mkvm_memslot_hva_iter){
		.slots = slots,
		.start = start,
		.last = last,
		.cur = hva_node_slot(slots, node),
	};
}

/* Step a walk to the next slot meeting its range, or to NULL. */
void mkvm_memslot_hva_next(struct mkvm_memslot_hva_iter *iter)
{
	struct mkvm_hva_node *node =
		&iter->cur->hva_node[iter->slots->node_idx];

	node = slot_hva_iter_next(node, iter->start, iter->last);
	iter->cur = hva_node_slot(iter->slots, node);
}

/* Does [base, base + npages) overlap any slot of @slots but @ignore? */
static bool slots_overlap(const struct mkvm_memslots *slots, u64 base,
			  u64 npages, const struct mkvm_memslot *ignore)
{
	struct rb_node *node;

	/*
	 * Only the slots starting below the range's end can overlap, and of
	 * those only the last one can reach into the range: they are
	 * disjoint. @ignore is skipped, once, by looking one further back.
	 */
	for (node = slots_last_below(slots, base + npages); node;
	     node = rb_prev(node)) {
		struct mkvm_memslot *s = gfn_node_slot(slots, node);

		if (s == ignore)
			continue;
		return s->base_gfn + s->npages > base;
	}
	return false;
}

static void slots_gfn_insert(struct mkvm_memslots *slots,
			     struct mkvm_memslot *new)
{
	struct rb_node **link = &slots->gfn_tree.rb_node, *parent = NULL;
	int idx = slots->node_idx;

	while (*link) {
		parent = *link;
		if (new->base_gfn < gfn_node_slot(slots, parent)->base_gfn)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&new->gfn_node[idx], parent, link);
	rb_insert_color(&new->gfn_node[idx], &slots->gfn_tree);
}

/*
 * Replace @old by @new in @slots; either may be NULL. Only this set's
 * nodes of the two slots are touched: O(log n) in both trees.
 */
static void slots_replace(struct mkvm_memslots *slots,
			  struct mkvm_memslot *old, struct mkvm_memslot *new)
{
	int idx = slots->node_idx;

	if (old && new && old->base_gfn == new->base_gfn) {
		/* The invalid copy of a slot takes its place (no rebalance). */
		rb_replace_node(&old->gfn_node[idx], &new->gfn_node[idx],
				&slots->gfn_tree);
	} else {
		if (old)
			rb_erase(&old->gfn_node[idx], &slots->gfn_tree);
		if (new)
			slots_gfn_insert(slots, new);
	}

	if (old) {
		slot_hva_remove(&old->hva_node[idx], &slots->hva_tree);
		slots->nr--;
	}
	if (new) {
		new->hva_node[idx].start = new->userspace_addr;
		new->hva_node[idx].last = new->userspace_addr +
					  (new->npages << PAGE_SHIFT) - 1;
		slot_hva_insert(&new->hva_node[idx], &slots->hva_tree);
		slots->nr++;
	}
}

/**
 * mkvm_memslots_overlap() - would a slot collide with the active set?
 * @vm: the VM, with vm->slots_lock held
 * @base_gfn: the slot's first guest frame
 * @npages: its size
 * @ignore: a slot of the set that does not count (the one moving), or NULL
 */
bool mkvm_memslots_overlap(struct mkvm_vm *vm, u64 base_gfn, u64 npages,
			   const struct mkvm_memslot *ignore)
{
	return slots_overlap(slots_active(vm), base_gfn, npages, ignore);
}

/* The slot with this id, or NULL (also for a reserved id); vm->slots_lock held. */
struct mkvm_memslot *mkvm_memslot_by_id(struct mkvm_vm *vm, u32 id)
{
	lockdep_assert_held(&vm->slots_lock);
	return xa_load(&vm->slots_by_id, id);
}

/**
 * mkvm_memslot_reserve_id() - make room in the id map for a new slot
 * @vm: the VM, with vm->slots_lock held
 * @id: a free id
 *
 * Allocates, accounted to the caller's memcg, what mkvm_memslots_complete()
 * will store into without allocating: so that once a create is validated,
 * nothing in its commit can fail. mkvm_memslot_release_id() undoes it if
 * the create fails before its commit.
 *
 * Return: 0 or -ENOMEM.
 */
int mkvm_memslot_reserve_id(struct mkvm_vm *vm, u32 id)
{
	lockdep_assert_held(&vm->slots_lock);
	return xa_reserve(&vm->slots_by_id, id, GFP_KERNEL_ACCOUNT);
}

void mkvm_memslot_release_id(struct mkvm_vm *vm, u32 id)
{
	lockdep_assert_held(&vm->slots_lock);
	xa_release(&vm->slots_by_id, id);
}

/* Step 1 of a swap: @old replaced by @new (either NULL) in the inactive set. */
void mkvm_memslots_prepare(struct mkvm_vm *vm, struct mkvm_memslot *old,
			   struct mkvm_memslot *new)
{
	struct mkvm_memslots *next = slots_inactive(vm);

	lockdep_assert_held(&vm->slots_lock);
	slots_replace(next, old, new);
	next->generation = slots_active(vm)->generation + 1;
}

/* Step 2: the prepared set becomes the one readers see. */
void mkvm_memslots_activate(struct mkvm_vm *vm)
{
	lockdep_assert_held(&vm->slots_lock);
	/* Filled before found: pairs with mkvm_memslots() (litmus: memslots-publish). */
	rcu_assign_pointer(vm->memslots, slots_inactive(vm));
}

/*
 * Step 3, after a grace period of vm->srcu since step 2: bring the set
 * no reader can be inside any more up to date, and free what @old was.
 * Cannot fail: @new's id is in the map already, as @old or as a
 * reservation, so storing it allocates nothing.
 */
void mkvm_memslots_complete(struct mkvm_vm *vm, struct mkvm_memslot *old,
			    struct mkvm_memslot *new)
{
	struct mkvm_memslots *active = slots_active(vm);
	struct mkvm_memslots *stale = slots_inactive(vm);

	lockdep_assert_held(&vm->slots_lock);
	slots_replace(stale, old, new);
	stale->generation = active->generation;
	WARN_ON_ONCE(stale->nr != active->nr);

	/* Same id when both are given: a store replaces, an erase would free. */
	if (new)
		WARN_ON_ONCE(xa_is_err(xa_store(&vm->slots_by_id, new->id, new,
						GFP_NOWAIT)));
	else if (old)
		xa_erase(&vm->slots_by_id, old->id);

	if (old)
		mkvm_stat_dec(MKVM_STAT_MEMSLOTS);
	if (new)
		mkvm_stat_inc(MKVM_STAT_MEMSLOTS);
	/* The log goes with the last copy of the slot that holds it. */
	if (old && (!new || new->dirty_bitmap != old->dirty_bitmap))
		kvfree(old->dirty_bitmap);
	kfree(old);
}

static void slots_init(struct mkvm_memslots *slots, int node_idx)
{
	slots->node_idx = node_idx;
	slots->gfn_tree = RB_ROOT;
	slots->hva_tree = RB_ROOT_CACHED;
}

void mkvm_memslots_init(struct mkvm_vm *vm)
{
	slots_init(&vm->__memslots[0], 0);
	slots_init(&vm->__memslots[1], 1);
	xa_init(&vm->slots_by_id);
	RCU_INIT_POINTER(vm->memslots, &vm->__memslots[0]);
}

/*
 * Called from VM destroy, when no fd and hence no reader or writer is
 * left: both sets hold the same slots, each once in the id map.
 */
void mkvm_memslots_destroy(struct mkvm_vm *vm)
{
	struct mkvm_memslot *slot;
	unsigned long id;

	xa_for_each(&vm->slots_by_id, id, slot) {
		kvfree(slot->dirty_bitmap);
		kfree(slot);
		mkvm_stat_dec(MKVM_STAT_MEMSLOTS);
	}
	xa_destroy(&vm->slots_by_id);
}

#ifdef CONFIG_MKVM_TEST_BUILD
#include "selftest/memslot.c"
#endif
