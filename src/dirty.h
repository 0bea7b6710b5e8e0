/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_DIRTY_H
#define MKVM_DIRTY_H

#include <linux/types.h>

#include <linux/mkvm.h>

#include "memslot.h"

struct mkvm_clear_dirty_log;
struct mkvm_dirty_log;
struct mkvm_enable_cap;
struct mkvm_memslot;
struct mkvm_vm;

/**
 * struct mkvm_split_cache - table pages for eager splitting (dirty.c)
 * @nobjs: zeroed pages in @objs
 * @capacity: room in @objs: what splitting one chunk may take
 * @objs: the pages; allocated at the first top-up
 *
 * Owner: the memslot update path, which splits when a slot starts
 * logging. Every access holds vm->slots_lock: top-up (which sleeps, so
 * without mmu_lock), consumption (also under mmu_lock for write), and
 * freeing. Pages left over stay for the next split: nothing frees the
 * cache to save memory behind a split's back. It is freed at VM destroy,
 * when nothing else can reach it, or under slots_lock when the chunk size
 * changes (MKVM_ENABLE_CAP). Never by the notifier's release, which runs
 * without slots_lock and may run twice at once (seed 000: arm64 freed its
 * split_page_cache there and from the commit path, and the two raced).
 */
struct mkvm_split_cache {
	int nobjs;
	int capacity;
	void **objs;
};

/* Bytes of a slot's dirty bitmap: one bit per page, whole 64-bit words. */
static inline size_t mkvm_dirty_bitmap_bytes(u64 npages)
{
	return ALIGN(npages, 64) / 8;
}

static inline bool mkvm_slot_logs_dirty_flags(u32 flags)
{
	return flags & MKVM_MEM_LOG_DIRTY_PAGES;
}

static inline bool mkvm_slot_logs_dirty(const struct mkvm_memslot *slot)
{
	return slot->dirty_bitmap;
}

unsigned long *mkvm_dirty_bitmap_alloc(u64 npages);
void mkvm_dirty_log_start(struct mkvm_vm *vm, struct mkvm_memslot *slot);
void mkvm_mark_page_dirty(struct mkvm_memslot *slot, u64 gfn);

int mkvm_vm_ioctl_enable_cap(struct mkvm_vm *vm, const struct mkvm_enable_cap *cap);
int mkvm_vm_ioctl_get_dirty_log(struct mkvm_vm *vm, const struct mkvm_dirty_log *log);
int mkvm_vm_ioctl_clear_dirty_log(struct mkvm_vm *vm,
				  const struct mkvm_clear_dirty_log *log);

void mkvm_split_cache_free(struct mkvm_split_cache *cache);

#endif /* MKVM_DIRTY_H */
