// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <fcntl.h>
#include <libkmod.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mkvm_util.h"
#include "tap.h"

int mkvm_required(void)
{
	const char *require = getenv("MKVM_REQUIRE");

	return require && *require == '1';
}

int mkvm_open(void)
{
	int fd = open(MKVM_DEV, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT && !mkvm_required())
		tap_skip(MKVM_DEV " missing: is mkvm loaded?");
	tap_fail(__FILE__, __LINE__, "open " MKVM_DEV ": %s", strerror(errno));
}

int mkvm_vm_create(void)
{
	int dev = mkvm_open();
	int vm = ioctl(dev, MKVM_CREATE_VM, 0);

	if (vm < 0)
		tap_fail(__FILE__, __LINE__, "MKVM_CREATE_VM: %s", strerror(errno));
	close(dev);
	return vm;
}

int mkvm_set_region(int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		    uint64_t size, const void *uaddr)
{
	struct mkvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)uaddr,
	};

	return ioctl(vm, MKVM_SET_USER_MEMORY_REGION, &r);
}

void *mkvm_map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		tap_fail(__FILE__, __LINE__, "mmap %zu: %s", size, strerror(errno));
	return p;
}

void *mkvm_map_2m_aligned(size_t size, int advice)
{
	const uintptr_t huge = 2UL << 20;
	char *raw = mkvm_map_anon(size + huge);
	char *p = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));

	if (madvise(p, size, advice))
		tap_fail(__FILE__, __LINE__, "madvise: %s", strerror(errno));
	return p;
}

int mkvm_thp_enabled(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] && !strstr(buf, "[never]");
}

void mkvm_missing(const char *what, const char *why)
{
	if (mkvm_required())
		tap_fail(__FILE__, __LINE__, "the harness provides %s, but: %s", what, why);
	tap_skip("%s: %s", what, why);
}

void mkvm_need_thp(void)
{
	if (!mkvm_thp_enabled())
		mkvm_missing("transparent hugepages", "disabled ([never])");
}

void mkvm_pin_to_cpu(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ASSERT_OK(sched_setaffinity(0, sizeof(one), &one));
}

void mkvm_pin_cpu(void)
{
	mkvm_pin_to_cpu(ASSERT_OK(sched_getcpu()));
}

long mkvm_stat(const char *file, const char *name)
{
	char key[64];
	long val, found = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			found = val;
	fclose(f);
	return found;
}

long mkvm_vm_id(void)
{
	struct dirent *d;
	DIR *dir = opendir(MKVM_DEBUGFS);
	long id = -1;
	int n = 0;

	if (!dir)
		tap_fail(__FILE__, __LINE__, "%s: %s", MKVM_DEBUGFS, strerror(errno));
	while ((d = readdir(dir)))
		if (sscanf(d->d_name, "vm%ld", &id) == 1)
			n++;
	closedir(dir);
	if (n != 1)
		tap_fail(__FILE__, __LINE__, "%d VMs in debugfs, want 1", n);
	return id;
}

long mkvm_vm_stat(const char *name)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/vm%ld/stats", MKVM_DEBUGFS, mkvm_vm_id());
	return mkvm_stat(path, name);
}

void mkvm_assert_no_objects(void)
{
	static const char * const alive[] = { "vms", "vcpus", "memslots", "roots" };
	unsigned int i;

	for (i = 0; i < sizeof(alive) / sizeof(alive[0]); i++) {
		long v = mkvm_stat(MKVM_DEBUGFS "/stats", alive[i]);

		if (v != 0)
			tap_fail(__FILE__, __LINE__, "%s alive: %ld", alive[i], v);
	}
}

void mkvm_vcpu_open(int vm, int id, struct mkvm_vcpu_ctx *vcpu)
{
	vcpu->fd = ioctl(vm, MKVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		tap_fail(__FILE__, __LINE__, "MKVM_CREATE_VCPU: %s", strerror(errno));
	vcpu->run = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		tap_fail(__FILE__, __LINE__, "mmap vCPU: %s", strerror(errno));
}

void mkvm_guest_init(struct mkvm_guest *g, char *mem, size_t size, uint32_t flags)
{
	g->vm = mkvm_vm_create();
	g->size = size;
	g->mem = mem ? mem : mkvm_map_anon(size);
	ASSERT_OK(mkvm_set_region(g->vm, 0, flags, MKVM_TEST_GPA, size, g->mem));
	mkvm_vcpu_open(g->vm, 0, &g->vcpu);
}

void mkvm_guest_close(struct mkvm_guest *g)
{
	ASSERT_OK(munmap(g->vcpu.run, PAGE_SIZE));
	close(g->vcpu.fd);
	close(g->vm);
}

void mkvm_fill_pages(char *mem, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		mem[i * PAGE_SIZE] = i & 0x7f;
}

void mkvm_guest_check_pages(struct mkvm_guest *g, unsigned int n, unsigned int step)
{
	unsigned int i;

	for (i = 0; i < n; i += step)
		ASSERT_EQ(mkvm_guest_read(&g->vcpu, MKVM_TEST_GPA + i * PAGE_SIZE, 1),
			  i & 0x7f);
}

int mkvm_run_ops(struct mkvm_vcpu_ctx *vcpu, struct mkvm_guest_op *ops, unsigned int n)
{
	vcpu->run->ops = (uintptr_t)ops;
	vcpu->run->nr_ops = n;
	vcpu->run->next_op = 0;
	vcpu->run->op_progress = 0;
	/* A new program: abandon whatever MMIO access was pending. */
	vcpu->run->exit_reason = 0;
	return ioctl(vcpu->fd, MKVM_RUN, 0);
}

static uint64_t guest_access(struct mkvm_vcpu_ctx *vcpu, uint32_t type, uint64_t gpa,
			     unsigned int size, uint64_t data)
{
	struct mkvm_guest_op op = { .type = type, .size = size, .gpa = gpa, .data = data };

	if (mkvm_run_ops(vcpu, &op, 1))
		tap_fail(__FILE__, __LINE__, "MKVM_RUN at 0x%llx: %s",
			 (unsigned long long)gpa, strerror(errno));
	if (vcpu->run->exit_reason != MKVM_EXIT_DONE || vcpu->run->next_op != 1)
		tap_fail(__FILE__, __LINE__, "MKVM_RUN at 0x%llx: exit %u, next_op %u",
			 (unsigned long long)gpa, vcpu->run->exit_reason, vcpu->run->next_op);
	return op.data;
}

uint64_t mkvm_guest_read(struct mkvm_vcpu_ctx *vcpu, uint64_t gpa, unsigned int size)
{
	return guest_access(vcpu, MKVM_OP_READ, gpa, size, 0);
}

void mkvm_guest_write(struct mkvm_vcpu_ctx *vcpu, uint64_t gpa, unsigned int size,
		      uint64_t data)
{
	guest_access(vcpu, MKVM_OP_WRITE, gpa, size, data);
}

double mkvm_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double mkvm_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void *probe_run(void *arg)
{
	struct mkvm_probe *p = arg;
	struct timespec ms = { 0, 1000000 };

	mkvm_pin_to_cpu(p->cpu);
	while (!p->stop) {
		double t0 = mkvm_now(), late;

		nanosleep(&ms, NULL);
		late = mkvm_now() - t0 - 1e-3;
		if (late > p->worst)
			p->worst = late;
	}
	return NULL;
}

void mkvm_probe_start(struct mkvm_probe *p, int cpu)
{
	p->cpu = cpu;
	p->stop = 0;
	p->worst = 0;
	if (pthread_create(&p->thread, NULL, probe_run, p))
		tap_fail(__FILE__, __LINE__, "pthread_create: probe");
}

double mkvm_probe_stop(struct mkvm_probe *p)
{
	p->stop = 1;
	ASSERT_EQ(pthread_join(p->thread, NULL), 0);
	return p->worst;
}

int mkvm_send_fd(int sock, int fd)
{
	char data = 'F';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} u = { 0 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

int mkvm_recv_fd(int sock)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static struct kmod_ctx *kmod(void)
{
	static struct kmod_ctx *ctx;

	if (!ctx) {
		ctx = kmod_new(NULL, NULL);
		/* Tests check the errors themselves: keep libkmod quiet. */
		if (ctx)
			kmod_set_log_priority(ctx, 0);
	}
	return ctx;
}

/* Returns 0 or a negative errno, as libkmod does. */
int mkvm_module_load(const char *params)
{
	const char *path = getenv("MKVM_KO");
	struct kmod_module *mod;
	int r;

	if (!kmod())
		return -ENOMEM;
	r = kmod_module_new_from_path(kmod(), path ? path : "./mkvm.ko", &mod);
	if (r < 0)
		return r;
	r = kmod_module_insert_module(mod, 0, params);
	kmod_module_unref(mod);
	return r;
}

int mkvm_module_unload(void)
{
	struct kmod_module *mod;
	int r;

	if (!kmod())
		return -ENOMEM;
	r = kmod_module_new_from_name(kmod(), "mkvm", &mod);
	if (r < 0)
		return r;
	r = kmod_module_remove_module(mod, 0);
	kmod_module_unref(mod);
	return r;
}

/* 1 if loaded, 0 if not. */
int mkvm_module_loaded(void)
{
	struct kmod_module *mod;
	int state;

	if (!kmod() || kmod_module_new_from_name(kmod(), "mkvm", &mod) < 0)
		return 0;
	state = kmod_module_get_initstate(mod);
	kmod_module_unref(mod);
	return state == KMOD_MODULE_LIVE;
}
