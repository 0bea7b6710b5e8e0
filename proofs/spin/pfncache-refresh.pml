/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Protocol 2: a pfn cache refresh against invalidations, for a cache keyed
 * by a host address U outside every memslot (seed 004).
 *
 * Variants (spin -D...):
 *   (none)      mkvm as it ships (gpc_range_aware=Y): per-VM
 *               gpc_invalidate_seq bumped in invalidate_range_end under
 *               mn_invalidate_lock, before the in-flight count drops, if a
 *               cache is keyed in its range (mkvm_gpc_invalidate_end());
 *               refresh retries while an in-flight union covers U, or if
 *               the sequence moved (src/pfncache.c, gpc_retry_range())
 *                                                           Expect: pass
 *   ANY_RANGE   mkvm with gpc_range_aware=N, KVM's rule: every end bumps,
 *               refresh retries while any invalidation is in flight
 *               (gpc_retry())                               Expect: pass
 *   SEED_004    KVM before the fix: count and mmu_invalidate_seq, which
 *               only an invalidation hitting a memslot bumps
 *                                                           Expect: fail
 *   SEED_004_START  the posted patch: a per-cache sequence bumped at
 *               invalidate_range_start for active caches in range (the race
 *               Sean showed: start runs before the cache is active)
 *                                                           Expect: fail
 *   SEED_004_MIXED  the reviewer's diff as posted: the refresh snapshots
 *               mmu_invalidate_seq and compares gpc_invalidate_seq, so once
 *               any invalidation ended every refresh retries for ever
 *                                                           Expect: fail
 *
 * Runs: mkvm=pass ANY_RANGE=pass SEED_004=fail:(!(valid)||(cached==host[U]))
 *       SEED_004_START=fail:(!(valid)||(cached==host[U]))
 *       SEED_004_MIXED=fail:((!(retry)||(count>0))||(ends!=snap_ends))
 *
 * Safety: a valid cache maps the page the host maps at U now; and (for
 * the MIXED diff, a livelock shown as a safety property) a refresh retries
 * only for an invalidation still in flight or one that ended since its
 * snapshot.
 *
 * Bounds: one cache keyed at U (address 0), one refresh, two invalidations
 * each of U or of another address V (1), the host refaulting a zapped page
 * at any time; exhaustive. Lock critical sections (gpc->lock,
 * mn_invalidate_lock) are atomic steps; the barriers are the litmus tests'
 * business (gpc-seq-snapshot, gpc-seq-vs-count).
 */

hidden byte U = 0;		/* the cache's key; V is 1 */

byte host[2] = 1;		/* host page at U and V: version, 0 = zapped */
byte next_version = 2;

bool gpc_active;		/* gpc->active (keyed at U) */
bool valid;			/* gpc->valid */
byte cached;			/* the page the cache maps */

byte count;			/* vm->mn_active_invalidate_count */
byte mn_start;			/* vm->mn_invalidate_range_start/_end: a union */
byte mn_end;
byte gpc_seq;			/* vm->gpc_invalidate_seq */
byte mmu_seq;			/* vm->mmu_invalidate_seq: no memslot here, so never bumped */
byte hva_seq;			/* SEED_004_START: the cache's own sequence */
byte ends;			/* ghost: invalidations ended so far */

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

active proctype refresh()
{
	byte snap, snap_hva, snap_ends, page;
	bool retry;

	atomic { gpc_active = true; valid = false }	/* activate, under gpc->lock */
again:
	atomic {				/* gpc_snapshot() */
#if defined(SEED_004) || defined(SEED_004_MIXED)
		snap = mmu_seq;
#elif defined(SEED_004_START)
		snap = mmu_seq;
		snap_hva = hva_seq;
#else
		snap = gpc_seq;
#endif
		snap_ends = ends
	}
	host_get(U, page);			/* GUP, gpc->lock dropped */
	atomic {				/* write_lock(&gpc->lock): gpc_retry() */
#if defined(SEED_004)
		retry = count > 0 || mmu_seq != snap;
#elif defined(SEED_004_START)
		retry = count > 0 || mmu_seq != snap || hva_seq != snap_hva;
#elif defined(SEED_004_MIXED)
		retry = count > 0 || gpc_seq != snap;
#elif defined(ANY_RANGE)
		retry = count > 0 || gpc_seq != snap;
#else
		retry = (count > 0 && mn_start <= U && U < mn_end) || gpc_seq != snap;
#endif
		/* A retry must have a reason: one in flight, or one ended since. */
		assert(!retry || count > 0 || ends != snap_ends);
		if
		:: !retry -> cached = page; valid = true
		:: else
		fi
	}
	if
	:: retry -> goto again
	:: else
	fi
}

proctype invalidate(byte i)
{
	bool bump;

	atomic {				/* mn_invalidate_lock: count and union */
		if
		:: count == 0 -> mn_start = i; mn_end = i + 1
		:: else ->
			if :: i < mn_start -> mn_start = i :: else fi;
			if :: i + 1 > mn_end -> mn_end = i + 1 :: else fi
		fi;
		count++
	}
	atomic {				/* mkvm_gpc_invalidate_start(), gpc->lock */
		if
		:: i == U ->
#if defined(SEED_004_START)
			if :: gpc_active -> hva_seq++ :: else fi;
#endif
			valid = false
		:: else
		fi
	}
	host[i] = 0;				/* the core mm zaps the PTE: page freed */
#if defined(ANY_RANGE) || defined(SEED_004) || defined(SEED_004_START) || defined(SEED_004_MIXED)
	bump = true;
#else
	bump = gpc_active && i == U;		/* mkvm_gpc_invalidate_end() */
#endif
	atomic {				/* mn_invalidate_lock */
#if !defined(SEED_004) && !defined(SEED_004_START)
		if :: bump -> gpc_seq++ :: else fi;
#endif
		count--;
		ends++
	}
}

init
{
	atomic {
		if :: run invalidate(0) :: run invalidate(1) fi;
		if :: run invalidate(0) :: run invalidate(1) fi
	}
}

active proctype monitor()
{
	assert(!valid || cached == host[U])
}
