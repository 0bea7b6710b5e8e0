/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Protocol 3: the notifier's release from exit_mmap against VM destroy
 * from the last fd's close (seed 000), with the eager-split cache.
 *
 * Variants (spin -D...):
 *   (none)          mkvm: each table is taken off its root under mmu_lock
 *                   for write and freed after (src/root.c,
 *                   mkvm_mmu_flush_all()); the split cache is touched only
 *                   under slots_lock and freed only at destroy, after
 *                   unregister waited for the other release (src/dirty.c,
 *                   src/vm.c)                               Expect: pass
 *   SEED_000        the table taken without mmu_lock (MKVM_REVERT=SEED_000)
 *                                                           Expect: fail
 *   SEED_000_SPLIT  release frees the split cache, without slots_lock, as
 *                   kvm_uninit_stage2_mmu() did (MKVM_REVERT=SEED_000_SPLIT)
 *                                                           Expect: fail
 *
 * Runs: mkvm=pass SEED_000=fail SEED_000_SPLIT=fail
 *
 * Safety: nothing is freed twice, and nothing is used after it was freed;
 * and, so that the check is not vacuous, at the end all was freed once.
 *
 * Bounds: one root with one table; the creator's exit_mmap calls release
 * once; the other process first changes a memslot (which splits from the
 * cache under slots_lock, topping it up if empty), then closes the last VM
 * fd: destroy calls release itself (mmu_notifier_unregister), waits for
 * SRCU readers (the exit_mmap release is one), and frees the cache.
 * Exhaustive. mmu_lock and slots_lock critical sections are atomic steps,
 * or, where the variant has no lock, separate steps.
 */

bool table = true;		/* root->s2: the table is attached */
bool table_freed;
bool cache;			/* vm->split_cache holds pages */
bool cache_freed;		/* the pages it held were freed */
bool exit_release_done;		/* SRCU: the exit_mmap release has returned */

inline free_table()
{
	assert(!table_freed);		/* double free */
	table_freed = true
}

inline free_cache()
{
	assert(!cache_freed);		/* double free */
	cache_freed = true
}

/* mkvm_mmu_flush_all() */
inline flush_all()
{
	bool took;

#if defined(SEED_000)
	took = table;			/* READ_ONCE(root->s2), no lock */
	table = false;			/* WRITE_ONCE(root->s2, NULL) */
#else
	atomic { took = table; table = false }	/* roots_detach_table() */
#endif
	if
	:: took -> free_table()
	:: else
	fi;
#if defined(SEED_000_SPLIT)
	{
		bool had;

		had = cache;		/* a copy of vm->split_cache, no lock */
		cache = false;		/* memset */
		if
		:: had -> free_cache()
		:: else
		fi
	}
#endif
	skip
}

/* The creator's exit: exit_mmap -> __mmu_notifier_release. */
active proctype exit_mmap()
{
	flush_all();
	exit_release_done = true
}

/* The other process: a memslot change, then the last close. */
active proctype other()
{
	atomic {			/* slots_lock: enable logging, split */
		if
		:: !cache -> cache = true; cache_freed = false	/* top up: new pages */
		:: else
		fi;
		assert(!cache_freed)	/* take pages from it */
	}
	/* close -> mkvm_vm_destroy(): mkvm_notifier_unregister() calls release */
	flush_all();
	exit_release_done;		/* unregister's synchronize_srcu() */
	flush_all();			/* mkvm_vm_destroy() flushes once more */
	if				/* mkvm_split_cache_free() at destroy */
	:: cache -> cache = false; free_cache()
	:: else
	fi;
	assert(table_freed && cache_freed)	/* no leak */
}
