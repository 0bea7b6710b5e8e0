// SPDX-License-Identifier: GPL-2.0
/*
 * Counters and their debugfs view.
 *
 *   /sys/kernel/debug/mkvm/stats		module-wide counters
 *   /sys/kernel/debug/mkvm/vm<id>/stats	one VM's counters
 *   /sys/kernel/debug/mkvm/vm<id>/stage2	its stage-2 tables, read-only
 *
 * The stats files are "name value" lines. Tests use the module-wide
 * "alive" counters to prove that closing every fd frees every object.
 * A per-VM file is removed before its VM is freed, and debugfs removal
 * waits for readers in flight, so a reader always sees a live VM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "pgtable.h"
#include "root.h"
#include "vcpu.h"
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
	[MKVM_STAT_ROOTS] = "roots",
};

static struct dentry *mkvm_debugfs_root;

void mkvm_stat_inc(enum mkvm_stat stat)
{
	atomic_long_inc(&mkvm_stats[stat]);
}

void mkvm_stat_dec(enum mkvm_stat stat)
{
	/* ordering: none (a counter: only its value matters). */
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

/*
 * The per-vCPU counters, summed under vm->lock: a vCPU whose fd could not
 * be made is erased and freed under it (vcpu.c), the others live until
 * after this file is gone.
 */
static void vm_stats_show_vcpus(struct seq_file *m, struct mkvm_vm *vm)
{
	struct mkvm_vcpu_stat sum = { };
	struct mkvm_vcpu *vcpu;
	unsigned long i;

	mutex_lock(&vm->lock);
	xa_for_each(&vm->vcpus, i, vcpu) {
		sum.faults += READ_ONCE(vcpu->stat.faults);
		sum.fault_retries += READ_ONCE(vcpu->stat.fault_retries);
		sum.root_loads += READ_ONCE(vcpu->stat.root_loads);
	}
	mutex_unlock(&vm->lock);
	seq_printf(m, "faults %llu\n", sum.faults);
	seq_printf(m, "fault_retries %llu\n", sum.fault_retries);
	seq_printf(m, "root_loads %llu\n", sum.root_loads);
}

static void vm_stats_show_roots(struct seq_file *m, struct mkvm_vm *vm)
{
	unsigned long roots = 0, invalid = 0, tables = 0, blocks = 0;
	struct mkvm_root *root;

	read_lock(&vm->mmu_lock);
	mkvm_for_each_root(vm, root) {
		roots++;
		invalid += root->invalid;
		if (!root->s2)
			continue;
		tables += atomic_long_read(&root->s2->nr_tables);
		/* A walk: cheap enough for a debugfs read, not for a hot path. */
		if (!root->invalid)
			blocks += mkvm_s2_count_blocks(root->s2);
	}
	read_unlock(&vm->mmu_lock);
	seq_printf(m, "roots %lu\n", roots);
	seq_printf(m, "roots_invalid %lu\n", invalid);
	seq_printf(m, "s2_tables %lu\n", tables);
	seq_printf(m, "s2_blocks %lu\n", blocks);
	seq_printf(m, "roots_invalidations %lld\n",
		   atomic64_read(&vm->stat_roots_invalidations));
	seq_printf(m, "roots_torn_down %lld\n",
		   atomic64_read(&vm->stat_roots_torn_down));
	seq_printf(m, "roots_freed %lld\n", atomic64_read(&vm->stat_roots_freed));
	seq_printf(m, "invalid_root_zaps %lld\n",
		   atomic64_read(&vm->stat_invalid_root_zaps));
}

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
	vm_stats_show_vcpus(m, vm);
	seq_printf(m, "gpc_refreshes %lld\n", atomic64_read(&vm->stat_gpc_refreshes));
	seq_printf(m, "gpc_retries %lld\n", atomic64_read(&vm->stat_gpc_retries));
	seq_printf(m, "clock_writes %lld\n", atomic64_read(&vm->clock.writes));
	seq_printf(m, "clock_deferred %lld\n", atomic64_read(&vm->clock.deferred));
	seq_printf(m, "clock_refresh_failures %lld\n",
		   atomic64_read(&vm->clock.refresh_failures));
	seq_printf(m, "zaps %lld\n", atomic64_read(&vm->stat_zapped));
	seq_printf(m, "age_calls %lld\n", atomic64_read(&vm->stat_age_calls));
	seq_printf(m, "age_young %lld\n", atomic64_read(&vm->stat_age_young));
	vm_stats_show_roots(m, vm);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vm_stats);

/*
 * The stage-2 dump, like arm64's stage2_page_tables: per root, runs of
 * leaves that map contiguous guest-physical addresses with the same
 * size, permissions and access flag, one line each. No host addresses.
 */
struct s2_dump {
	struct seq_file *m;
	u64 start, end;		/* the run so far: [start, end) */
	unsigned long n;	/* its leaves; 0: no run */
	int level;
	enum mkvm_prot prot;
	bool young;
};

static void s2_dump_run(struct s2_dump *d)
{
	static const char * const sizes[] = { "512G", "1G", "2M", "4K" };

	if (d->n)
		seq_printf(d->m, "0x%016llx-0x%016llx %4s x%-6lu %c%c %s\n", d->start, d->end,
			   sizes[d->level], d->n, d->prot & MKVM_PROT_R ? 'r' : '-',
			   d->prot & MKVM_PROT_W ? 'w' : '-', d->young ? "young" : "old");
	d->n = 0;
}

static int s2_dump_leaf(void *arg, u64 addr, const struct mkvm_s2_leaf *leaf)
{
	enum mkvm_prot prot = mkvm_s2_leaf_prot(leaf);
	bool young = mkvm_s2_leaf_young(leaf);
	struct s2_dump *d = arg;

	if (!d->n || addr != d->end || leaf->level != d->level || prot != d->prot ||
	    young != d->young) {
		s2_dump_run(d);
		d->start = addr;
		d->level = leaf->level;
		d->prot = prot;
		d->young = young;
	}
	d->end = addr + mkvm_s2_level_size(leaf->level);
	d->n++;
	return 0;
}

/*
 * Under mmu_lock for read, as faults walk: roots stay on the list and
 * their tables stay allocated until the worker takes both out under it
 * for write (root.c).
 */
static int vm_stage2_show(struct seq_file *m, void *unused)
{
	struct s2_dump d = { .m = m };
	struct mkvm_vm *vm = m->private;
	struct mkvm_root *root;
	unsigned int i = 0;

	seq_puts(m, "# gpa range (start-end) entry-size xcount perms access\n");
	read_lock(&vm->mmu_lock);
	mkvm_for_each_root(vm, root) {
		seq_printf(m, "root %u: %s, refcount %u, %ld tables\n", i++,
			   root->invalid ? "invalid" : "valid", refcount_read(&root->refcount),
			   root->s2 ? atomic_long_read(&root->s2->nr_tables) : 0);
		if (!root->s2)
			continue;
		mkvm_s2_for_each_leaf(root->s2, s2_dump_leaf, &d);
		s2_dump_run(&d);
	}
	read_unlock(&vm->mmu_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vm_stage2);

void mkvm_debugfs_vm_add(struct mkvm_vm *vm)
{
	char name[16];

	snprintf(name, sizeof(name), "vm%u", vm->id);
	vm->debugfs_dir = debugfs_create_dir(name, mkvm_debugfs_root);
	debugfs_create_file("stats", 0444, vm->debugfs_dir, vm, &vm_stats_fops);
	debugfs_create_file("stage2", 0444, vm->debugfs_dir, vm, &vm_stage2_fops);
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
