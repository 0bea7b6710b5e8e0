// SPDX-License-Identifier: GPL-2.0
/*
 * Counters and their debugfs view.
 *
 *   /sys/kernel/debug/mkvm/stats		module-wide counters
 *   /sys/kernel/debug/mkvm/vm<id>/stats	one VM's counters
 *   /sys/kernel/debug/mkvm/vm<id>/stage2	its stage-2 tables, read-only
 *   MKVM_GET_STATS_FD				a VM's or vCPU's counters, binary
 *
 * The stats files are "name value" lines. Tests use the module-wide
 * "alive" counters to prove that closing every fd frees every object.
 * A per-VM file is removed before its VM is freed, and debugfs removal
 * waits for readers in flight, so a reader always sees a live VM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/overflow.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <linux/mkvm.h>

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
 * A VM's and a vCPU's counters, for both views: debugfs's "name value"
 * lines and the binary stats fd (MKVM_GET_STATS_FD). One snapshot
 * function per object fills every value, so the views cannot disagree.
 */
struct mkvm_stat_desc {
	const char *name;
	u32 flags;		/* MKVM_STATS_TYPE_* | MKVM_STATS_UNIT_* */
};

#define STAT_NOW	(MKVM_STATS_TYPE_INSTANT | MKVM_STATS_UNIT_NONE)
#define STAT_SUM	(MKVM_STATS_TYPE_CUMULATIVE | MKVM_STATS_UNIT_NONE)

enum vcpu_stat {
	VCPU_FAULTS, VCPU_FAULT_RETRIES, VCPU_ROOT_LOADS, VCPU_NR_STATS,
};

static const struct mkvm_stat_desc vcpu_stat_descs[VCPU_NR_STATS] = {
	[VCPU_FAULTS] = { "faults", STAT_SUM },
	[VCPU_FAULT_RETRIES] = { "fault_retries", STAT_SUM },
	[VCPU_ROOT_LOADS] = { "root_loads", STAT_SUM },
};

enum vm_stat {
	VM_MEMSLOTS, VM_MEMSLOT_GENERATION, VM_VCPUS, VM_MEMSLOT_UPDATES,
	VM_FAULTS, VM_FAULT_RETRIES, VM_ROOT_LOADS,	/* the vCPUs', summed */
	VM_GPC_REFRESHES, VM_GPC_RETRIES, VM_CLOCK_WRITES, VM_CLOCK_DEFERRED,
	VM_CLOCK_REFRESH_FAILURES, VM_ZAPS, VM_AGE_CALLS, VM_AGE_YOUNG,
	VM_ROOTS, VM_ROOTS_INVALID, VM_S2_TABLES,
	VM_ROOTS_INVALIDATIONS, VM_ROOTS_TORN_DOWN, VM_ROOTS_FREED,
	VM_INVALID_ROOT_ZAPS,
	/*
	 * A walk of every valid root's table under mmu_lock: debugfs only
	 * (root), never for the stats fd, which any process may hold and read
	 * in a loop. Last, so that the fd's values are the ones before it.
	 */
	VM_S2_BLOCKS, VM_NR_STATS,
};

#define VM_NR_FD_STATS	VM_S2_BLOCKS

static const struct mkvm_stat_desc vm_stat_descs[VM_NR_STATS] = {
	[VM_MEMSLOTS] = { "memslots", STAT_NOW },
	[VM_MEMSLOT_GENERATION] = { "memslot_generation", STAT_SUM },
	[VM_VCPUS] = { "vcpus", STAT_NOW },
	[VM_MEMSLOT_UPDATES] = { "memslot_updates", STAT_SUM },
	[VM_FAULTS] = { "faults", STAT_SUM },
	[VM_FAULT_RETRIES] = { "fault_retries", STAT_SUM },
	[VM_ROOT_LOADS] = { "root_loads", STAT_SUM },
	[VM_GPC_REFRESHES] = { "gpc_refreshes", STAT_SUM },
	[VM_GPC_RETRIES] = { "gpc_retries", STAT_SUM },
	[VM_CLOCK_WRITES] = { "clock_writes", STAT_SUM },
	[VM_CLOCK_DEFERRED] = { "clock_deferred", STAT_SUM },
	[VM_CLOCK_REFRESH_FAILURES] = { "clock_refresh_failures", STAT_SUM },
	[VM_ZAPS] = { "zaps", STAT_SUM },
	[VM_AGE_CALLS] = { "age_calls", STAT_SUM },
	[VM_AGE_YOUNG] = { "age_young", STAT_SUM },
	[VM_ROOTS] = { "roots", STAT_NOW },
	[VM_ROOTS_INVALID] = { "roots_invalid", STAT_NOW },
	[VM_S2_TABLES] = { "s2_tables", STAT_NOW },
	[VM_S2_BLOCKS] = { "s2_blocks", STAT_NOW },
	[VM_ROOTS_INVALIDATIONS] = { "roots_invalidations", STAT_SUM },
	[VM_ROOTS_TORN_DOWN] = { "roots_torn_down", STAT_SUM },
	[VM_ROOTS_FREED] = { "roots_freed", STAT_SUM },
	[VM_INVALID_ROOT_ZAPS] = { "invalid_root_zaps", STAT_SUM },
};

/* Written by the vCPU under its mutex (vcpu.h); a snapshot needs no lock. */
static void vcpu_stats_snapshot(const struct mkvm_vcpu *vcpu, u64 *v)
{
	v[VCPU_FAULTS] = READ_ONCE(vcpu->stat.faults);
	v[VCPU_FAULT_RETRIES] = READ_ONCE(vcpu->stat.fault_retries);
	v[VCPU_ROOT_LOADS] = READ_ONCE(vcpu->stat.root_loads);
}

/*
 * The per-vCPU counters, summed under vm->lock: a vCPU whose fd could not
 * be made is erased and freed under it (vcpu.c), the others live as long
 * as the VM.
 */
static void vm_stats_sum_vcpus(struct mkvm_vm *vm, u64 *v)
{
	u64 one[VCPU_NR_STATS];
	struct mkvm_vcpu *vcpu;
	unsigned long i;

	mutex_lock(&vm->lock);
	xa_for_each(&vm->vcpus, i, vcpu) {
		vcpu_stats_snapshot(vcpu, one);
		v[VM_FAULTS] += one[VCPU_FAULTS];
		v[VM_FAULT_RETRIES] += one[VCPU_FAULT_RETRIES];
		v[VM_ROOT_LOADS] += one[VCPU_ROOT_LOADS];
	}
	mutex_unlock(&vm->lock);
}

static void vm_stats_roots(struct mkvm_vm *vm, u64 *v, bool walk)
{
	struct mkvm_root *root;

	read_lock(&vm->mmu_lock);
	mkvm_for_each_root(vm, root) {
		v[VM_ROOTS]++;
		v[VM_ROOTS_INVALID] += root->invalid;
		if (!root->s2)
			continue;
		v[VM_S2_TABLES] += atomic_long_read(&root->s2->nr_tables);
		if (walk && !root->invalid)
			v[VM_S2_BLOCKS] += mkvm_s2_count_blocks(root->s2);
	}
	read_unlock(&vm->mmu_lock);
	v[VM_ROOTS_INVALIDATIONS] = atomic64_read(&vm->stat_roots_invalidations);
	v[VM_ROOTS_TORN_DOWN] = atomic64_read(&vm->stat_roots_torn_down);
	v[VM_ROOTS_FREED] = atomic64_read(&vm->stat_roots_freed);
	v[VM_INVALID_ROOT_ZAPS] = atomic64_read(&vm->stat_invalid_root_zaps);
}

/*
 * Sleeps: takes vm->lock, mmu_lock and vm->srcu, one at a time. @walk: also
 * VM_S2_BLOCKS, a walk of the tables.
 */
static void vm_stats_snapshot(struct mkvm_vm *vm, u64 *v, bool walk)
{
	struct mkvm_memslots *slots;
	int idx;

	/* The sums and counts below add to zero. */
	memset(v, 0, VM_NR_STATS * sizeof(*v));
	idx = srcu_read_lock(&vm->srcu);
	slots = mkvm_memslots(vm);
	v[VM_MEMSLOTS] = slots->nr;
	v[VM_MEMSLOT_GENERATION] = slots->generation;
	srcu_read_unlock(&vm->srcu, idx);

	/* Written under vm->lock; a snapshot is all a reader needs. */
	v[VM_VCPUS] = READ_ONCE(vm->nr_vcpus);
	v[VM_MEMSLOT_UPDATES] = atomic64_read(&vm->stat_memslot_updates);
	vm_stats_sum_vcpus(vm, v);
	v[VM_GPC_REFRESHES] = atomic64_read(&vm->stat_gpc_refreshes);
	v[VM_GPC_RETRIES] = atomic64_read(&vm->stat_gpc_retries);
	v[VM_CLOCK_WRITES] = atomic64_read(&vm->clock.writes);
	v[VM_CLOCK_DEFERRED] = atomic64_read(&vm->clock.deferred);
	v[VM_CLOCK_REFRESH_FAILURES] = atomic64_read(&vm->clock.refresh_failures);
	v[VM_ZAPS] = atomic64_read(&vm->stat_zapped);
	v[VM_AGE_CALLS] = atomic64_read(&vm->stat_age_calls);
	v[VM_AGE_YOUNG] = atomic64_read(&vm->stat_age_young);
	vm_stats_roots(vm, v, walk);
}

static int vm_stats_show(struct seq_file *m, void *unused)
{
	u64 v[VM_NR_STATS];
	int i;

	vm_stats_snapshot(m->private, v, true);
	for (i = 0; i < VM_NR_STATS; i++)
		seq_printf(m, "%s %llu\n", vm_stat_descs[i].name, v[i]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vm_stats);

/*
 * The binary stats fd: the header, id and descriptors are built once, at
 * creation; the values are a fresh snapshot at every read that reaches
 * them. It holds a reference to the VM, which keeps the vCPU alive too
 * (vCPUs are freed with their VM).
 */
struct mkvm_stats_file {
	struct mkvm_vm *vm;
	struct mkvm_vcpu *vcpu;		/* NULL: the VM's stats */
	unsigned int nr;
	size_t data_offset;
	u8 head[];			/* header, id, descriptors */
};

static ssize_t stats_file_read(struct file *file, char __user *buf, size_t size,
			       loff_t *ppos)
{
	struct mkvm_stats_file *sf = file->private_data;
	size_t total = sf->data_offset + sf->nr * sizeof(u64), done = 0, n;
	u64 v[VM_NR_STATS];
	loff_t pos = *ppos;

	if (pos < 0)
		return -EINVAL;
	if (pos >= total)
		return 0;
	size = min_t(size_t, size, total - pos);
	if (pos < sf->data_offset) {
		n = min_t(size_t, size, sf->data_offset - pos);
		if (copy_to_user(buf, sf->head + pos, n))
			return -EFAULT;
		done = n;
		pos += n;
	}
	if (done < size) {
		if (sf->vcpu)
			vcpu_stats_snapshot(sf->vcpu, v);
		else
			vm_stats_snapshot(sf->vm, v, false);
		n = size - done;
		if (copy_to_user(buf + done, (u8 *)v + (pos - sf->data_offset), n))
			return -EFAULT;
		done += n;
		pos += n;
	}
	*ppos = pos;
	return done;
}

static int stats_file_release(struct inode *inode, struct file *file)
{
	struct mkvm_stats_file *sf = file->private_data;

	mkvm_vm_put(sf->vm);
	kfree(sf);
	return 0;
}

static const struct file_operations mkvm_stats_fops = {
	.owner = THIS_MODULE,
	.read = stats_file_read,
	.release = stats_file_release,
	.llseek = noop_llseek,
};

static int stats_fd_create(struct mkvm_vm *vm, struct mkvm_vcpu *vcpu, const char *id,
			   const struct mkvm_stat_desc *descs, unsigned int nr)
{
	const size_t desc_size = sizeof(struct mkvm_stats_desc) + MKVM_STATS_NAME_SIZE;
	const size_t desc_offset = sizeof(struct mkvm_stats_header) + MKVM_STATS_NAME_SIZE;
	size_t data_offset = desc_offset + nr * desc_size;
	struct mkvm_stats_header *h;
	struct mkvm_stats_file *sf;
	struct file *file;
	unsigned int i;
	int fd;

	sf = kzalloc(struct_size(sf, head, data_offset), GFP_KERNEL_ACCOUNT);
	if (!sf)
		return -ENOMEM;
	h = (struct mkvm_stats_header *)sf->head;
	h->name_size = MKVM_STATS_NAME_SIZE;
	h->num_desc = nr;
	h->id_offset = sizeof(*h);
	h->desc_offset = desc_offset;
	h->data_offset = data_offset;
	strscpy(sf->head + h->id_offset, id, MKVM_STATS_NAME_SIZE);
	for (i = 0; i < nr; i++) {
		struct mkvm_stats_desc *d = (void *)(sf->head + desc_offset + i * desc_size);

		d->flags = descs[i].flags;
		d->size = 1;
		d->offset = i * sizeof(u64);
		strscpy(d->name, descs[i].name, MKVM_STATS_NAME_SIZE);
	}
	sf->vm = vm;
	sf->vcpu = vcpu;
	sf->nr = nr;
	sf->data_offset = data_offset;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		goto err_free;
	file = anon_inode_getfile("mkvm-stats", &mkvm_stats_fops, sf, O_RDONLY);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		fd = PTR_ERR(file);
		goto err_free;
	}
	/* Readers pread() the part they want, as KVM's do. */
	file->f_mode |= FMODE_PREAD;
	mkvm_vm_get(vm);
	fd_install(fd, file);
	return fd;

err_free:
	kfree(sf);
	return fd;
}

/* MKVM_GET_STATS_FD on a VM fd. */
int mkvm_vm_stats_fd(struct mkvm_vm *vm)
{
	char id[MKVM_STATS_NAME_SIZE];

	snprintf(id, sizeof(id), "mkvm-vm%u", vm->id);
	return stats_fd_create(vm, NULL, id, vm_stat_descs, VM_NR_FD_STATS);
}

/* MKVM_GET_STATS_FD on a vCPU fd. */
int mkvm_vcpu_stats_fd(struct mkvm_vcpu *vcpu)
{
	char id[MKVM_STATS_NAME_SIZE];

	snprintf(id, sizeof(id), "mkvm-vm%u/vcpu-%u", vcpu->vm->id, vcpu->id);
	return stats_fd_create(vcpu->vm, vcpu, id, vcpu_stat_descs, VCPU_NR_STATS);
}

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
