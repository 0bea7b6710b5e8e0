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
 * Runs: mkvm=pass SEED_000=fail:!(table_freed) SEED_000_SPLIT=fail:((page==4)||(page==3))
 *
 * (pan prints the page's mtype values as numbers: NONE is 4, IN_CACHE 3.)
 *
 * Safety: nothing is freed twice, and nothing is used after it was freed:
 * the table, and the split cache's page, which a split may have taken into
 * the table by then. So that the check is not vacuous: at the end both
 * the table and the cache's page were freed (no leak).
 *
 * Bounds: one root with one table; a split cache of one page; the
 * creator's exit_mmap calls release once; the other process turns dirty
 * logging on for a memslot, which tops the cache up under slots_lock and
 * then splits in two chunks, each under mmu_lock for write (release, which
 * cannot take slots_lock, may run between any two steps); then it closes
 * the last VM fd: destroy calls release itself (mmu_notifier_unregister),
 * waits for SRCU readers (the exit_mmap release is one), flushes once more
 * and frees the cache. Exhaustive. A critical section is an atomic step,
 * or, where the variant has no lock, separate steps.
 */

/* The cache's page: not allocated, in the cache, taken by a split into
 * the table (which uses it), freed. */
mtype = { NONE, IN_CACHE, IN_TABLE, FREED };

bool table = true;		/* root->s2: the table is attached */
bool table_freed;
mtype page = NONE;		/* the split cache's one page */
bool exit_release_done;		/* SRCU: the exit_mmap release has returned */

inline free_table()
{
	assert(!table_freed);		/* double free */
	table_freed = true
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

		had = (page == IN_CACHE);	/* a copy of vm->split_cache, no lock */
		/* memset(&vm->split_cache, 0, ...): the cache is empty now */
		atomic { if :: page == IN_CACHE -> page = NONE :: else fi };
		if
		:: had ->
			/* mkvm_split_cache_free(&copy) */
			assert(page == NONE || page == IN_CACHE);	/* in a table, or freed */
			page = FREED
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

/* One chunk of split_slot(), mmu_lock held for write. */
inline split_chunk()
{
	atomic {
		if
		:: table ->			/* root->s2, read again */
			assert(!table_freed);
			if			/* split_cache_take() */
			:: page == IN_CACHE -> page = IN_TABLE
			:: else
			fi
		:: else
		fi
	}
}

/* The other process: dirty logging on, then the last close. */
active proctype other()
{
	/* slots_lock, held to the end of the memslot change */
	if					/* split_cache_topup() */
	:: page == NONE -> page = IN_CACHE
	:: else
	fi;
	split_chunk();
	split_chunk();
	/* close -> mkvm_vm_destroy(): mkvm_notifier_unregister() calls release */
	flush_all();
	exit_release_done;		/* unregister's synchronize_srcu() */
	flush_all();			/* mkvm_vm_destroy() flushes once more */
	if				/* mkvm_split_cache_free() at destroy */
	:: page == IN_CACHE -> page = FREED
	:: else
	fi;
	/* A page a split took is freed with the table. */
	assert(table_freed && page != IN_CACHE)	/* no leak */
}
