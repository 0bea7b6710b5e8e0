/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MKVM_STATS_H
#define MKVM_STATS_H

struct dentry;
struct mkvm_vcpu;
struct mkvm_vm;

/* Module-wide counters, shown in /sys/kernel/debug/mkvm/stats. */
enum mkvm_stat {
	MKVM_STAT_VMS,		/* VMs alive */
	MKVM_STAT_VCPUS,	/* vCPUs alive */
	MKVM_STAT_MEMSLOTS,	/* memslots alive */
	MKVM_STAT_VMS_CREATED,	/* VMs created since load */
	/* VMs destroyed between an invalidation's start and its end */
	MKVM_STAT_UNREGISTERED_MID_INVALIDATION,
	/* stage-2 flushes that found another flush freeing it (seed 000) */
	MKVM_STAT_FLUSH_FOUND_DETACHED,
	/* aging calls that found stage-2 already released (seed 003) */
	MKVM_STAT_AGE_AFTER_RELEASE,
	MKVM_STAT_ROOTS,	/* stage-2 roots alive */
	MKVM_NR_STATS,
};

void mkvm_stat_inc(enum mkvm_stat stat);
void mkvm_stat_dec(enum mkvm_stat stat);

void mkvm_debugfs_init(void);
void mkvm_debugfs_exit(void);
void mkvm_debugfs_vm_add(struct mkvm_vm *vm);
void mkvm_debugfs_vm_remove(struct mkvm_vm *vm);
int mkvm_vm_stats_fd(struct mkvm_vm *vm);
int mkvm_vcpu_stats_fd(struct mkvm_vcpu *vcpu);

#ifdef CONFIG_MKVM_TEST_BUILD
void mkvm_testhooks_init(struct dentry *root);
#else
static inline void mkvm_testhooks_init(struct dentry *root) { }
#endif

#endif /* MKVM_STATS_H */
