/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Protocol 4: the teardown of an invalidated root, yielding mmu_lock,
 * against an mmu_notifier invalidation (seed 002); and two invalidations
 * of all roots racing (MKVM_INVALIDATE_ROOTS and the notifier's release).
 *
 * Variants (spin -D...):
 *   (none)      mkvm (src/root.c): invalidating marks the root invalid
 *               under mmu_lock for write, once, and hands the VM's
 *               reference to the one teardown worker; the root stays on
 *               vm->roots while the worker zaps it in steps, dropping
 *               mmu_lock between them, so notifiers still zap it; only the
 *               worker frees, at zero, an empty root.     Expect: pass
 *   SEED_002    the 5.16 proposal (MKVM_REVERT=SEED_002): the last put
 *               takes the root off the list and zaps it inline, yielding
 *                                                         Expect: fail
 *   DOUBLE_PUT  every invalidation puts the VM's reference, without the
 *               "already invalid" check: two put it twice  Expect: fail
 *
 * Runs: mkvm=pass DOUBLE_PUT=fail:(refs>0)
 *       SEED_002=fail:(freed||!(((maps[0]&&host_zapped[0])||(maps[1]&&host_zapped[1]))))
 *
 * Safety: a root that still maps a page the host dropped is a translation
 * whose host page was invalidated (the zapper would then write back to a
 * freed struct page); no root is freed twice, freed while referenced, or
 * used after it was freed; at the end the root is freed and empty.
 *
 * Bounds: one root mapping two pages (A=0, B=1), referenced by the VM and
 * one vCPU; the vCPU moves off it (puts its reference) after an
 * invalidate-all; a second invalidate-all (release) races the first; one
 * notifier invalidation of page A or page B, one that may block or one
 * that may not (all four). Exhaustive.
 * mmu_lock critical sections are atomic steps; a yield ends one.
 */

bool on_list = true;		/* on vm->roots */
bool invalid;			/* root->invalid */
byte refs = 2;			/* the VM's and the vCPU's */
bool maps[2] = true;		/* the root's entries for pages A and B */
bool freed;
bool host_zapped[2];		/* the host dropped the page */
byte handoffs;			/* VM references handed to the worker */

inline use_root()
{
	assert(!freed)			/* use after free */
}

inline free_root()
{
	assert(!freed && refs == 0 && !maps[0] && !maps[1]);
	freed = true
}

/* Zap the root with yielding: one page per mmu_lock section. */
inline zap_yielding()
{
	atomic { use_root(); maps[0] = false };	/* mkvm_root_walk(), step */
	/* cond_resched_rwlock_write(): mmu_lock dropped here */
	atomic { use_root(); maps[1] = false }
}

/* mkvm_roots_invalidate_locked(), from MKVM_INVALIDATE_ROOTS or release. */
proctype invalidate_all()
{
#if defined(SEED_002)
	bool last;

	atomic {				/* for each root on the list */
		if
		:: on_list && !invalid ->
			use_root();
			invalid = true;
			refs--;			/* the VM's reference */
			last = (refs == 0);
			if :: last -> on_list = false :: else fi	/* list_del on the last put */
		:: else
		fi
	}
	if
	:: last -> zap_yielding(); atomic { free_root() }
	:: else
	fi;
#elif defined(DOUBLE_PUT)
	atomic {				/* for each root on the list */
		if
		:: on_list ->
			use_root();
			invalid = true;
			handoffs++		/* the VM's reference, again */
		:: else
		fi
	}
#else
	atomic {				/* for each root on the list */
		if
		:: on_list && !invalid ->
			use_root();
			invalid = true;
			handoffs++		/* the worker owns the VM's ref */
		:: else
		fi
	}
#endif
}

/* The teardown worker (roots_teardown_work): the only one that frees. */
active proctype worker()
{
#if !defined(SEED_002)
	atomic { handoffs > 0 };
	zap_yielding();
	do
	:: atomic {
		handoffs > 0 ->
		use_root();
		assert(refs > 0);		/* refcount underflow */
		refs--;				/* a handed reference */
		handoffs--
	   }
	:: atomic { handoffs == 0 && refs == 0 -> on_list = false; free_root() };
	   break
	od
#else
	skip
#endif
}

/* The vCPU: moves off the invalid root (mkvm_vcpu_load_root()). */
active proctype vcpu()
{
	bool last;

	atomic { invalid };
	atomic {
		use_root();
		assert(refs > 0);
		refs--;
		last = (refs == 0)
	}
#if defined(SEED_002)
	if
	:: last -> atomic { on_list = false }; zap_yielding(); atomic { free_root() }
	:: else
	fi
#endif
}

/*
 * One invalidate_range_start of page @i, then the host drops it. One that
 * may block walks with mkvm_root_next(), which skips roots whose count is
 * zero (they map nothing: the rule this model checks); one that may not
 * walks every root on the list (mkvm_for_each_root).
 */
proctype notifier(byte i; bool blockable)
{
	atomic {				/* mmu_lock held for write */
		if
		:: on_list && (refs > 0 || !blockable) -> use_root(); maps[i] = false
		:: else
		fi
	}
	host_zapped[i] = true
}

init
{
	atomic {
		run invalidate_all();
		run invalidate_all();
		if
		:: run notifier(0, true)
		:: run notifier(1, true)
		:: run notifier(0, false)
		:: run notifier(1, false)
		fi
	}
}

active proctype monitor()
{
	assert(freed || !((maps[0] && host_zapped[0]) || (maps[1] && host_zapped[1])))
}
