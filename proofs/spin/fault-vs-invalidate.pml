/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Protocol 1: a stage-2 fault against invalidate_range_start/end, with
 * the sequence, the in-progress count and the in-flight range union.
 *
 * Variants (spin -D...):
 *   (none)            mkvm: src/mmu.c, mmu_invalidate_retry()   Expect: pass
 *   SEQ_ONLY          no in-progress check (MKVM_REVERT=IN_PROGRESS)
 *                                                               Expect: fail
 *   IN_PROGRESS_ONLY  no sequence check                         Expect: fail
 *
 * Runs: mkvm=pass SEQ_ONLY=fail:((s2[0]==0)||(s2[0]==host[0]))
 *       IN_PROGRESS_ONLY=fail:((s2[0]==0)||(s2[0]==host[0]))
 *
 * Safety: whatever stage-2 maps, the host maps at that address now
 * (s2[i] == 0 or s2[i] == host[i]); a stage-2 entry for a page the host
 * dropped is an access through an invalidated translation.
 *
 * Bounds: two host pages (0 and 1), one vCPU faulting page 0 (retrying as
 * often as the checks say), two invalidations each of page 0 or page 1
 * (all four choices), the host refaulting a zapped page at any time. The
 * search is exhaustive for these bounds. mmu_lock's critical sections are
 * atomic steps (the fault's read side and the notifier's write side
 * exclude each other); the barriers are the litmus tests' business
 * (mmu-seq-snapshot, mmu-seq-vs-in-progress).
 */

byte host[2] = 1;	/* host page at each address: version, 0 = zapped */
byte s2[2];		/* what stage-2 maps for each page: version, 0 = none */
byte next_version = 2;

byte seq;		/* vm->mmu_invalidate_seq */
byte in_progress;	/* vm->mmu_invalidate_in_progress */
byte range_start;	/* vm->mmu_invalidate_range_start/_end: a union */
byte range_end;

/* Host: a missing page is faulted in afresh (GUP or the process itself). */
inline host_get(i, page)
{
	atomic {
		if
		:: host[i] == 0 -> host[i] = next_version; next_version++
		:: else
		fi;
		page = host[i]
	}
}

/* The vCPU: mkvm_mmu_fault() for page 0. */
active proctype fault()
{
	byte snap, page;
	bool retry;

again:
	snap = seq;			/* READ_ONCE(mmu_invalidate_seq); smp_rmb() */
	host_get(0, page);		/* fault_get_page() */
	atomic {			/* read_lock(&vm->mmu_lock) */
#if defined(SEQ_ONLY)
		retry = (seq != snap);
#elif defined(IN_PROGRESS_ONLY)
		retry = (in_progress > 0 && range_start <= 0 && 0 < range_end);
#else
		retry = (in_progress > 0 && range_start <= 0 && 0 < range_end) ||
			seq != snap;
#endif
		if
		:: !retry -> s2[0] = page	/* fault_map() */
		:: else
		fi
	}				/* read_unlock() */
	if
	:: retry -> goto again
	:: else
	fi
}

/* One invalidation of page @i: the core mm's start, zap, end. */
proctype invalidate(byte i)
{
	atomic {			/* mkvm_mmu_invalidate_begin() + zap */
		if
		:: in_progress == 0 -> range_start = i; range_end = i + 1
		:: else ->
			if :: i < range_start -> range_start = i :: else fi;
			if :: i + 1 > range_end -> range_end = i + 1 :: else fi
		fi;
		in_progress++;
		s2[i] = 0			/* mkvm_unmap_gfn_range() */
	}
	host[i] = 0;			/* the core mm zaps its PTE: page freed */
	atomic {			/* mkvm_mmu_invalidate_end() */
		seq++;
		in_progress--
	}
}

init
{
	atomic {
		if :: run invalidate(0) :: run invalidate(1) fi;
		if :: run invalidate(0) :: run invalidate(1) fi
	}
}

/* The safety property, checked in every reachable state. */
active proctype monitor()
{
	assert(s2[0] == 0 || s2[0] == host[0]);
	assert(s2[1] == 0 || s2[1] == host[1])
}
