/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Protocol 5: the aging notifier (clear_young, test_young) against the
 * release that frees stage-2 (seed 003), and against the VM's destroy.
 *
 * Variants (spin -D...):
 *   (none)          mkvm: release sets vm->mmu_released under mmu_lock
 *                   for write, then takes each table off its root under
 *                   the lock and frees it after unlocking (src/root.c,
 *                   mkvm_mmu_flush_all()); aging checks mmu_released under
 *                   mmu_lock before it walks a table (src/mmu.c,
 *                   age_gfn_range()); destroy frees the VM only after
 *                   unregister waited for notifiers in flight (SRCU)
 *                                                           Expect: pass
 *   SEED_003        aging without the check (MKVM_REVERT=SEED_003)
 *                                                           Expect: fail
 *   CHECK_UNLOCKED  aging checks before it takes mmu_lock: the check and
 *                   the walk are not one critical section   Expect: fail
 *
 * Runs: mkvm=pass SEED_003=fail:table CHECK_UNLOCKED=fail:table
 *
 * Safety: no dereference of a detached (NULL) table, of a freed table, or
 * of a freed VM.
 *
 * Bounds: one VM with one root and its table; one aging call from reclaim
 * in another process, which the core mm makes only while the notifier is
 * registered, inside its SRCU read side; the owner's release (exit_mmap,
 * or unregister at destroy), then unregister and the VM's free.
 * Exhaustive. mmu_lock critical sections are atomic steps.
 */

bool released;			/* vm->mmu_released */
bool table = true;		/* root->s2 is set */
bool table_freed;
bool vm_freed;
bool registered = true;		/* the notifier is on the mm's list */
bool aging_in_srcu;		/* the aging call is inside the SRCU read side */

/* mkvm_mn_clear_young() -> age_gfn_range(), from reclaim. */
active proctype aging()
{
	atomic {
		if
		:: registered -> assert(!vm_freed); aging_in_srcu = true
		:: else -> goto out
		fi
	}
#if defined(CHECK_UNLOCKED)
	if
	:: released -> goto unlock
	:: else
	fi;
#endif
	atomic {			/* write_lock(&vm->mmu_lock) */
		assert(!vm_freed);
#if !defined(SEED_003) && !defined(CHECK_UNLOCKED)
		if
		:: released -> goto unlock	/* nothing is young (seed 003) */
		:: else
		fi;
#endif
		assert(table);			/* NULL pointer dereference */
		assert(!table_freed)		/* use after free */
	}
unlock:
	aging_in_srcu = false;
out:
	skip
}

/* The owner: release, then destroy. */
active proctype owner()
{
	atomic { released = true };		/* under mmu_lock for write */
	atomic { table = false };		/* roots_detach_table() */
	table_freed = true;			/* mkvm_s2_destroy(), kfree() */
	registered = false;			/* mmu_notifier_unregister(): unhashed */
	!aging_in_srcu;				/* its synchronize_srcu() */
	vm_freed = true
}

active proctype monitor()
{
	assert(!vm_freed || !aging_in_srcu)
}
