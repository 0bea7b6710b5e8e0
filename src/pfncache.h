/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_PFNCACHE_H
#define MKVM_PFNCACHE_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwlock.h>
#include <linux/types.h>

struct mkvm_vm;
struct page;
struct mkvm_gpc_activate;
struct mkvm_gpc_access;

#define MKVM_NR_GPCS		8

/**
 * struct mkvm_gpc - a gfn-to-pfn cache: a kernel mapping of one page of
 * guest memory (keyed by guest-physical address, through a memslot) or of
 * the creator's memory (keyed by host virtual address, which may lie
 * outside every memslot), usable with interrupts off. KVM's
 * gfn_to_pfn_cache.
 *
 * Locks, outermost first: vm->lock (creates the cache), @refresh_lock,
 * @lock. The notifier takes vm->gpc_lock (the list) and then @lock, with
 * interrupts off. Nothing here holds a page reference: a page stays mapped
 * only while @valid, and invalidate_range_start clears @valid under @lock
 * before the core mm may free the page (pfncache.c).
 */
struct mkvm_gpc {
	struct mkvm_vm *vm;
	/* On vm->gpc_list, under vm->gpc_lock; removed only at VM destroy. */
	struct list_head list;
	u32 id;
	/* Serializes activate, refresh and deactivate: they may sleep. */
	struct mutex refresh_lock;
	/*
	 * Protects everything below. Readers (check and the access through
	 * @khva) hold it for read with interrupts off; refresh and the
	 * notifier hold it for write.
	 */
	rwlock_t lock;
	bool active;
	bool valid;
	bool hva_keyed;
	u64 gpa;		/* GPA-keyed: the key */
	unsigned long uhva;	/* the host address: the key, or the slot's */
	unsigned long len;	/* bytes from the key, within its page */
	u64 generation;		/* GPA-keyed: memslots @uhva was found in */
	struct page *page;
	void *khva;		/* the page's kernel address, plus the offset */
#ifdef CONFIG_MKVM_REVERT_SEED_004_START
	/* Variant 2 of seed 004 (the posted patch), for its reproducer only. */
	unsigned long hva_invalidate_seq;
#endif
};

struct mkvm_gpc *mkvm_gpc_get(struct mkvm_vm *vm, u32 id, bool create);
bool mkvm_gpc_check(struct mkvm_gpc *gpc);
void mkvm_gpc_mark_dirty(struct mkvm_gpc *gpc);
int mkvm_gpc_refresh(struct mkvm_gpc *gpc, unsigned int max_tries);
void mkvm_gpc_release(struct mkvm_vm *vm);

void mkvm_gpc_init_vm(struct mkvm_vm *vm);
void mkvm_gpc_destroy_vm(struct mkvm_vm *vm);
void mkvm_gpc_invalidate_start(struct mkvm_vm *vm, unsigned long start,
			       unsigned long end);
bool mkvm_gpc_invalidate_end(struct mkvm_vm *vm, unsigned long start,
			     unsigned long end);

long mkvm_vm_ioctl_gpc_activate(struct mkvm_vm *vm,
				const struct mkvm_gpc_activate *arg);
long mkvm_vm_ioctl_gpc_deactivate(struct mkvm_vm *vm, unsigned long id);
long mkvm_vm_ioctl_gpc_access(struct mkvm_vm *vm, struct mkvm_gpc_access *arg,
			      bool write);

#endif /* MKVM_PFNCACHE_H */
