/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mkvm's tracepoints: events/mkvm/ in tracefs, for perf and trace-cmd.
 * Every event names its VM by the id of its debugfs directory (vm<id>).
 * Addresses: gpa and gfn are guest-physical, hva the creating process's.
 * docs/api.md lists the events and their fields.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mkvm

#if !defined(MKVM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define MKVM_TRACE_H

#include <linux/tracepoint.h>

#include "mmu.h"
#include "memslot.h"

/* The values behind the names __print_symbolic() prints, for user space. */
TRACE_DEFINE_ENUM(MKVM_FAULT_MAPPED);
TRACE_DEFINE_ENUM(MKVM_FAULT_RETRY_SLOT);
TRACE_DEFINE_ENUM(MKVM_FAULT_RETRY_ROOT);
TRACE_DEFINE_ENUM(MKVM_FAULT_RETRY_INVALIDATION);
TRACE_DEFINE_ENUM(MKVM_FAULT_SPLIT);
TRACE_DEFINE_ENUM(MKVM_FAULT_EXIT_MMIO);
TRACE_DEFINE_ENUM(MKVM_FAULT_ERROR);
TRACE_DEFINE_ENUM(MKVM_SLOT_CREATE);
TRACE_DEFINE_ENUM(MKVM_SLOT_DELETE);
TRACE_DEFINE_ENUM(MKVM_SLOT_MOVE);
TRACE_DEFINE_ENUM(MKVM_SLOT_FLAGS);

/* err: the fault's errno when the outcome is "error", else 0. */
TRACE_EVENT(mkvm_fault,
	    TP_PROTO(unsigned int vm, u32 vcpu, u64 gpa, unsigned long hva, int level,
		     bool write, int outcome, int err),
	    TP_ARGS(vm, vcpu, gpa, hva, level, write, outcome, err),
	    TP_STRUCT__entry(__field(unsigned int, vm)
			     __field(u32, vcpu)
			     __field(u64, gpa)
			     __field(unsigned long, hva)
			     __field(int, level)
			     __field(bool, write)
			     __field(int, outcome)
			     __field(int, err)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->vcpu = vcpu;
			   __entry->gpa = gpa;
			   __entry->hva = hva;
			   __entry->level = level;
			   __entry->write = write;
			   __entry->outcome = outcome;
			   __entry->err = err;),
	    TP_printk("vm %u vcpu %u gpa 0x%llx hva 0x%lx level %d %s %s err %d",
		      __entry->vm, __entry->vcpu, __entry->gpa, __entry->hva, __entry->level,
		      __entry->write ? "write" : "read",
		      __print_symbolic(__entry->outcome,
				       { MKVM_FAULT_MAPPED, "mapped" },
				       { MKVM_FAULT_RETRY_SLOT, "retry-slot-changing" },
				       { MKVM_FAULT_RETRY_ROOT, "retry-root-invalid" },
				       { MKVM_FAULT_RETRY_INVALIDATION, "retry-invalidation" },
				       { MKVM_FAULT_SPLIT, "retry-block-split" },
				       { MKVM_FAULT_EXIT_MMIO, "mmio" },
				       { MKVM_FAULT_ERROR, "error" }),
		      __entry->err)
);

DECLARE_EVENT_CLASS(mkvm_hva_range,
		    TP_PROTO(unsigned int vm, unsigned long start, unsigned long end, bool flag),
		    TP_ARGS(vm, start, end, flag),
		    TP_STRUCT__entry(__field(unsigned int, vm)
				     __field(unsigned long, start)
				     __field(unsigned long, end)
				     __field(bool, flag)),
		    TP_fast_assign(__entry->vm = vm;
				   __entry->start = start;
				   __entry->end = end;
				   __entry->flag = flag;),
		    TP_printk("vm %u hva 0x%lx-0x%lx %d", __entry->vm, __entry->start,
			      __entry->end, __entry->flag)
);

/* flag: the range may block (mmu_notifier_range_blockable()). */
DEFINE_EVENT(mkvm_hva_range, mkvm_invalidate_start,
	     TP_PROTO(unsigned int vm, unsigned long start, unsigned long end, bool flag),
	     TP_ARGS(vm, start, end, flag)
);

/*
 * flag: the VM's pfn cache sequence moved: an active cache overlapped the
 * range (any range, with the gpc_range_aware parameter off).
 */
DEFINE_EVENT(mkvm_hva_range, mkvm_invalidate_end,
	     TP_PROTO(unsigned int vm, unsigned long start, unsigned long end, bool flag),
	     TP_ARGS(vm, start, end, flag)
);

/* flag: an entry in the range was young; clear_young and clear_flush_young. */
DEFINE_EVENT(mkvm_hva_range, mkvm_age,
	     TP_PROTO(unsigned int vm, unsigned long start, unsigned long end, bool flag),
	     TP_ARGS(vm, start, end, flag)
);

/* flag: as mkvm_age, for test_young (which clears nothing). */
DEFINE_EVENT(mkvm_hva_range, mkvm_test_age,
	     TP_PROTO(unsigned int vm, unsigned long start, unsigned long end, bool flag),
	     TP_ARGS(vm, start, end, flag)
);

TRACE_EVENT(mkvm_release,
	    TP_PROTO(unsigned int vm),
	    TP_ARGS(vm),
	    TP_STRUCT__entry(__field(unsigned int, vm)),
	    TP_fast_assign(__entry->vm = vm;),
	    TP_printk("vm %u", __entry->vm)
);

/* A zap of a gfn range in every root; zapped: something was mapped there. */
TRACE_EVENT(mkvm_zap,
	    TP_PROTO(unsigned int vm, u64 start, u64 end, bool zapped),
	    TP_ARGS(vm, start, end, zapped),
	    TP_STRUCT__entry(__field(unsigned int, vm)
			     __field(u64, start)
			     __field(u64, end)
			     __field(bool, zapped)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->start = start;
			   __entry->end = end;
			   __entry->zapped = zapped;),
	    TP_printk("vm %u gfn 0x%llx-0x%llx zapped %d", __entry->vm, __entry->start,
		      __entry->end, __entry->zapped)
);

/* What MKVM_SET_USER_MEMORY_REGION asked for, once it is done. */
TRACE_EVENT(mkvm_memslot_update,
	    TP_PROTO(unsigned int vm, u32 slot, int change, u64 gpa, u64 size, u32 flags),
	    TP_ARGS(vm, slot, change, gpa, size, flags),
	    TP_STRUCT__entry(__field(unsigned int, vm)
			     __field(u32, slot)
			     __field(int, change)
			     __field(u64, gpa)
			     __field(u64, size)
			     __field(u32, flags)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->slot = slot;
			   __entry->change = change;
			   __entry->gpa = gpa;
			   __entry->size = size;
			   __entry->flags = flags;),
	    TP_printk("vm %u slot %u %s gpa 0x%llx size 0x%llx flags 0x%x", __entry->vm,
		      __entry->slot,
		      __print_symbolic(__entry->change,
				       { MKVM_SLOT_CREATE, "create" },
				       { MKVM_SLOT_DELETE, "delete" },
				       { MKVM_SLOT_MOVE, "move" },
				       { MKVM_SLOT_FLAGS, "flags" }),
		      __entry->gpa, __entry->size, __entry->flags)
);

#endif /* MKVM_TRACE_H */

/* Out of tree: define_trace.h finds this file through Kbuild's -I$(src)/src. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
