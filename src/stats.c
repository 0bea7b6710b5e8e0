// SPDX-License-Identifier: GPL-2.0
/*
 * Counters and their debugfs view.
 *
 *   /sys/kernel/debug/mkvm/stats		module-wide counters
 *   /sys/kernel/debug/mkvm/vm<id>/stats	one VM's counters
 *
 * Each file is "name value" lines. Tests use the module-wide "alive"
 * counters to prove that closing every fd frees every object.
 * A per-VM file is removed before its VM is freed, and debugfs removal
 * waits for readers in flight, so a reader always sees a live VM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "pgtable.h"
#include "stats.h"
#include "vm.h"

static atomic_long_t mkvm_stats[MKVM_NR_STATS];
static const char * const mkvm_stat_names[MKVM_NR_STATS] = {
	[MKVM_STAT_VMS] = "vms",
	[MKVM_STAT_VCPUS] = "vcpus",
	[MKVM_STAT_MEMSLOTS] = "memslots",
	[MKVM_STAT_VMS_CREATED] = "vms_created",
	[MKVM_STAT_UNREGISTERED_MID_INVALIDATION] = "unregistered_mid_invalidation",
	[MKVM_STAT_FLUSH_FOUND_DETACHED] = "flush_found_detached",
	[MKVM_STAT_AGE_AFTER_RELEASE] = "age_after_release",
};

static struct dentry *mkvm_debugfs_root;

void mkvm_stat_inc(enum mkvm_stat stat)
{
	atomic_long_inc(&mkvm_stats[stat]);
}

void mkvm_stat_dec(enum mkvm_stat stat)
{
	WARN_ON_ONCE(atomic_long_dec_return(&mkvm_stats[stat]) < 0);
}

static int module_stats_show(struct seq_file *m, void *unused)
{
	int i;

	for (i = 0; i < MKVM_NR_STATS; i++)
		seq_printf(m, "%s %ld\n", mkvm_stat_names[i],
			   atomic_long_read(&mkvm_stats[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(module_stats);

static int vm_stats_show(struct seq_file *m, void *unused)
{
	struct mkvm_vm *vm = m->private;
	struct mkvm_memslots *slots;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	slots = mkvm_memslots(vm);
	seq_printf(m, "memslots %u\n", slots->nr);
	seq_printf(m, "memslot_generation %llu\n", slots->generation);
	srcu_read_unlock(&vm->srcu, idx);

	/* Written under vm->lock; a snapshot is all a reader needs. */
	seq_printf(m, "vcpus %u\n", READ_ONCE(vm->nr_vcpus));
	seq_printf(m, "memslot_updates %lld\n",
		   atomic64_read(&vm->stat_memslot_updates));
	seq_printf(m, "faults %lld\n", atomic64_read(&vm->stat_faults));
	seq_printf(m, "gpc_refreshes %lld\n", atomic64_read(&vm->stat_gpc_refreshes));
	seq_printf(m, "gpc_retries %lld\n", atomic64_read(&vm->stat_gpc_retries));
	seq_printf(m, "clock_writes %lld\n", atomic64_read(&vm->clock.writes));
	seq_printf(m, "clock_deferred %lld\n", atomic64_read(&vm->clock.deferred));
	seq_printf(m, "clock_refresh_failures %lld\n",
		   atomic64_read(&vm->clock.refresh_failures));
	seq_printf(m, "zaps %lld\n", atomic64_read(&vm->stat_zapped));
	seq_printf(m, "age_calls %lld\n", atomic64_read(&vm->stat_age_calls));
	seq_printf(m, "age_young %lld\n", atomic64_read(&vm->stat_age_young));
	read_lock(&vm->mmu_lock);
	seq_printf(m, "s2_tables %ld\n",
		   vm->s2 ? atomic_long_read(&vm->s2->nr_tables) : 0);
	read_unlock(&vm->mmu_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vm_stats);

void mkvm_debugfs_vm_add(struct mkvm_vm *vm)
{
	char name[16];

	snprintf(name, sizeof(name), "vm%u", vm->id);
	vm->debugfs_dir = debugfs_create_dir(name, mkvm_debugfs_root);
	debugfs_create_file("stats", 0444, vm->debugfs_dir, vm, &vm_stats_fops);
}

void mkvm_debugfs_vm_remove(struct mkvm_vm *vm)
{
	debugfs_remove(vm->debugfs_dir);
}

void mkvm_debugfs_init(void)
{
	mkvm_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0444, mkvm_debugfs_root, NULL,
			    &module_stats_fops);
	mkvm_testhooks_init(mkvm_debugfs_root);
}

void mkvm_debugfs_exit(void)
{
	debugfs_remove(mkvm_debugfs_root);
}
