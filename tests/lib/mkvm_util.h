/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by mkvm's test programs. */
#ifndef MKVM_UTIL_H
#define MKVM_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/mkvm.h>

#define PAGE_SIZE	4096UL
#define MKVM_DEV	"/dev/mkvm"
#define MKVM_DEBUGFS	"/sys/kernel/debug/mkvm"

/*
 * MKVM_REQUIRE=1: running under the QEMU harness, which provides all a test
 * needs (the module, a 1G hugetlb page): what would be a SKIP elsewhere
 * is a failure.
 */
int mkvm_required(void);
/* /dev/mkvm; a missing device is a SKIP, or a failure under MKVM_REQUIRE=1. */
int mkvm_open(void);
/* A new VM fd from a fresh /dev/mkvm fd (closed again). */
int mkvm_vm_create(void);
int mkvm_set_region(int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		    uint64_t size, const void *uaddr);
void *mkvm_map_anon(size_t size);
/* Anonymous memory starting on a 2M boundary, with madvise(@advice). */
void *mkvm_map_2m_aligned(size_t size, int advice);
/* Transparent hugepages are not disabled ("never"). */
int mkvm_thp_enabled(void);
/*
 * A test that needs THP: SKIP when disabled, or fail under MKVM_REQUIRE=1
 * (the harness's kernels all have it, so its loss there is a lost test).
 */
void mkvm_need_thp(void);
/*
 * A test's prerequisite @what is missing (@why): SKIP, or fail under
 * MKVM_REQUIRE=1, where the harness provides everything.
 */
void mkvm_missing(const char *what, const char *why) __attribute__((noreturn));
/*
 * Keep the calling thread on the CPU it runs on: the mm's LRU batches are
 * per CPU, and madvise() drains only the local CPU's.
 */
void mkvm_pin_cpu(void);
/* Keep the calling thread on CPU @cpu. */
void mkvm_pin_to_cpu(int cpu);

/* "name value" lookup in a debugfs stats file; -1 if absent. */
long mkvm_stat(const char *file, const char *name);
/* The only live VM's debugfs id (vm<N>); fails if not exactly one VM. */
long mkvm_vm_id(void);
/* A counter of the only live VM's debugfs stats. */
long mkvm_vm_stat(const char *name);
/* Fails the test unless every module-wide "alive" counter is zero. */
void mkvm_assert_no_objects(void);

/* A vCPU with its run page mapped. */
struct mkvm_vcpu_ctx {
	int fd;
	struct mkvm_run *run;
};

void mkvm_vcpu_open(int vm, int id, struct mkvm_vcpu_ctx *vcpu);

/* Where the tests put their one memslot. */
#define MKVM_TEST_GPA	(1UL << 30)

/* A VM with one vCPU and one memslot at MKVM_TEST_GPA. */
struct mkvm_guest {
	int vm;
	struct mkvm_vcpu_ctx vcpu;
	char *mem;
	size_t size;
};

/* Backed by @mem, or by new anonymous memory if NULL. */
void mkvm_guest_init(struct mkvm_guest *g, char *mem, size_t size, uint32_t flags);
/* Drops the run page, the vCPU fd and the VM fd (not the memory). */
void mkvm_guest_close(struct mkvm_guest *g);
/* Page i of the @n pages at @mem gets the byte i & 0x7f ... */
void mkvm_fill_pages(char *mem, unsigned int n);
/* ... which the guest reads back from every @step-th page. */
void mkvm_guest_check_pages(struct mkvm_guest *g, unsigned int n, unsigned int step);
/* MKVM_RUN over @ops from op 0; returns the ioctl's result. */
int mkvm_run_ops(struct mkvm_vcpu_ctx *vcpu, struct mkvm_guest_op *ops, unsigned int n);
/* One guest access that must complete; returns what a read read. */
uint64_t mkvm_guest_read(struct mkvm_vcpu_ctx *vcpu, uint64_t gpa, unsigned int size);
void mkvm_guest_write(struct mkvm_vcpu_ctx *vcpu, uint64_t gpa, unsigned int size,
		      uint64_t data);

/* CLOCK_MONOTONIC, in seconds. */
double mkvm_now(void);
/* The median of @n values (sorts @v). */
double mkvm_median(double *v, unsigned int n);

/*
 * A thread on CPU @cpu that sleeps 1 ms at a time and records its worst
 * oversleep: how long something else on that CPU kept it from running.
 */
struct mkvm_probe {
	pthread_t thread;
	int cpu;
	atomic_int stop;
	double worst;	/* seconds; the caller may reset it while it runs */
};

void mkvm_probe_start(struct mkvm_probe *p, int cpu);
/* Stops the probe; returns its worst oversleep in seconds. */
double mkvm_probe_stop(struct mkvm_probe *p);

int mkvm_send_fd(int sock, int fd);
int mkvm_recv_fd(int sock);

/* libkmod: load the module at $MKVM_KO (default ./mkvm.ko), unload it. */
int mkvm_module_load(const char *params);
int mkvm_module_unload(void);
int mkvm_module_loaded(void);

#endif /* MKVM_UTIL_H */
