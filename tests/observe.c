// SPDX-License-Identifier: GPL-2.0
/*
 * Observing mkvm the way engineers observe KVM.
 *
 * Tracepoints (src/trace.h): enabled through tracefs (events/mkvm/enable),
 * a known run, then the trace read back. Every event of the run must be
 * there with the values the run gave it: the memslot's creation and
 * deletion, a fault that maps and one that exits to userspace, the
 * invalidation that MADV_DONTNEED makes with the zap inside it, and the
 * release when the VM goes.
 *
 * Binary stats (MKVM_GET_STATS_FD, KVM_GET_STATS_FD's format): the
 * header, id and descriptors as documented, values equal to debugfs's,
 * read afresh each time, the fd keeping the VM alive and readable from
 * another process.
 *
 * tools/mkvm_stat: its one-shot view shows the faults a guest takes
 * between its two reads, and the totals debugfs has.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define TRACEFS		"/sys/kernel/tracing"
#define GPA		MKVM_TEST_GPA
#define NPAGES		8
#define MMIO_GPA	(2 * MKVM_TEST_GPA)

/* tracefs with mkvm's events, mounted if the kernel has it. */
static void need_events(void)
{
	if (access(TRACEFS "/events/mkvm", F_OK) &&
	    mount("nodev", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY)
		mkvm_missing("tracefs", strerror(errno));
	if (access(TRACEFS "/events/mkvm/mkvm_fault", F_OK))
		tap_fail(__FILE__, __LINE__, "tracefs has no events/mkvm/mkvm_fault");
}

static void tracefs_write(const char *file, const char *val)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		tap_fail(__FILE__, __LINE__, "%s: %s", path, strerror(errno));
	close(fd);
}

/* A tracefs file, whole; the caller frees it. */
static char *tracefs_read(const char *file)
{
	size_t len = 0, cap = 1 << 16;
	char path[256], *buf = malloc(cap);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_RDONLY);
	ASSERT_TRUE(fd >= 0 && buf);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			ASSERT_TRUE(buf);
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/* The module's gpc_range_aware parameter (pfncache.c), Y unless a test left it off. */
static bool range_aware(void)
{
	char c = 'Y';
	int fd = open("/sys/module/mkvm/parameters/gpc_range_aware", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = 'Y';
		close(fd);
	}
	return c == 'Y';
}

static void expect_event(const char *trace, const char *want)
{
	if (!strstr(trace, want))
		tap_fail(__FILE__, __LINE__, "no \"%s\" in the trace:\n%s", want, trace);
}

TEST(events_of_a_known_run)
{
	struct mkvm_guest_op op = { .type = MKVM_OP_READ, .size = 8, .gpa = MMIO_GPA };
	char want[256], *trace, *mem;
	struct mkvm_vcpu_ctx vcpu;
	int vm;
	long id;

	need_events();
	tracefs_write("events/mkvm/enable", "1");
	tracefs_write("trace", "");
	mem = mkvm_map_2m_aligned(NPAGES * PAGE_SIZE, MADV_NOHUGEPAGE);
	vm = mkvm_vm_create();
	id = mkvm_vm_id();
	ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA, NPAGES * PAGE_SIZE, mem));
	mkvm_vcpu_open(vm, 0, &vcpu);
	mkvm_guest_write(&vcpu, GPA, 8, 0x7ace);
	ASSERT_OK(mkvm_run_ops(&vcpu, &op, 1));
	ASSERT_EQ(vcpu.run->exit_reason, MKVM_EXIT_MMIO);
	ASSERT_OK(madvise(mem, PAGE_SIZE, MADV_DONTNEED));
	ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA, 0, mem));
	munmap(vcpu.run, PAGE_SIZE);
	close(vcpu.fd);
	close(vm);
	tracefs_write("events/mkvm/enable", "0");
	trace = tracefs_read("trace");

	snprintf(want, sizeof(want), "mkvm_memslot_update: vm %ld slot 0 create gpa 0x%lx size 0x%lx flags 0x0",
		 id, GPA, NPAGES * PAGE_SIZE);
	expect_event(trace, want);
	snprintf(want, sizeof(want), "mkvm_fault: vm %ld vcpu 0 gpa 0x%lx hva %p level 3 write mapped err 0",
		 id, GPA, mem);
	expect_event(trace, want);
	snprintf(want, sizeof(want), "mkvm_fault: vm %ld vcpu 0 gpa 0x%lx hva 0x0 level -1 read mmio err 0",
		 id, MMIO_GPA);
	expect_event(trace, want);
	snprintf(want, sizeof(want), "mkvm_invalidate_start: vm %ld hva %p-%p 1", id, mem,
		 mem + PAGE_SIZE);
	expect_event(trace, want);
	snprintf(want, sizeof(want), "mkvm_zap: vm %ld gfn 0x%lx-0x%lx zapped 1", id,
		 GPA / PAGE_SIZE, GPA / PAGE_SIZE + 1);
	expect_event(trace, want);
	/* No pfn cache: its sequence stays, unless range-awareness is off. */
	snprintf(want, sizeof(want), "mkvm_invalidate_end: vm %ld hva %p-%p %d", id, mem,
		 mem + PAGE_SIZE, !range_aware());
	expect_event(trace, want);
	snprintf(want, sizeof(want), "mkvm_memslot_update: vm %ld slot 0 delete gpa 0x%lx size 0x0",
		 id, GPA);
	expect_event(trace, want);
	snprintf(want, sizeof(want), "mkvm_release: vm %ld", id);
	expect_event(trace, want);
	free(trace);

	/* The format user-space tools read: the fields and the names behind the values. */
	trace = tracefs_read("events/mkvm/mkvm_fault/format");
	expect_event(trace, "field:u64 gpa;");
	expect_event(trace, "field:int outcome;");
	expect_event(trace, "\"retry-invalidation\"");
	free(trace);
	munmap(mem, NPAGES * PAGE_SIZE);
	mkvm_assert_no_objects();
}

/* A stats fd's whole file: the header at the start. */
static struct mkvm_stats_header *stats_read_all(int fd, size_t *len)
{
	struct mkvm_stats_header h;
	size_t size;
	char *buf;

	ASSERT_EQ(pread(fd, &h, sizeof(h), 0), sizeof(h));
	size = h.data_offset + (size_t)h.num_desc * sizeof(uint64_t);
	buf = malloc(size + 64);
	ASSERT_TRUE(buf);
	/* Past the end: nothing more. */
	ASSERT_EQ(pread(fd, buf, size + 64, 0), size);
	ASSERT_EQ(pread(fd, buf + size, 64, size), 0);
	*len = size;
	return (struct mkvm_stats_header *)buf;
}

static struct mkvm_stats_desc *stats_desc(struct mkvm_stats_header *h, unsigned int i)
{
	return (struct mkvm_stats_desc *)((char *)h + h->desc_offset +
		i * (sizeof(struct mkvm_stats_desc) + h->name_size));
}

/* The value named @name, or -1. */
static long long stats_value(struct mkvm_stats_header *h, const char *name)
{
	unsigned int i;

	for (i = 0; i < h->num_desc; i++) {
		struct mkvm_stats_desc *d = stats_desc(h, i);

		if (!strcmp(d->name, name))
			return *(uint64_t *)((char *)h + h->data_offset + d->offset);
	}
	return -1;
}

/*
 * The layout KVM's readers expect, and every value what debugfs says: read
 * between two debugfs reads, as the mm may zap or age meanwhile.
 */
static void check_stats_file(int fd, const char *id, const char *debugfs_stats)
{
	size_t len, desc_size = sizeof(struct mkvm_stats_desc) + MKVM_STATS_NAME_SIZE;
	struct mkvm_stats_header *h = stats_read_all(fd, &len);
	long before[64], after;
	unsigned int i;

	ASSERT_TRUE(h->num_desc <= 64);
	for (i = 0; i < h->num_desc; i++)
		before[i] = mkvm_stat(debugfs_stats, stats_desc(h, i)->name);
	free(h);
	h = stats_read_all(fd, &len);

	ASSERT_EQ(h->flags, 0);
	ASSERT_EQ(h->name_size, MKVM_STATS_NAME_SIZE);
	ASSERT_EQ(h->id_offset, sizeof(*h));
	ASSERT_EQ(h->desc_offset, h->id_offset + h->name_size);
	ASSERT_EQ(h->data_offset, h->desc_offset + h->num_desc * desc_size);
	ASSERT_TRUE(h->num_desc > 0);
	if (strcmp((char *)h + h->id_offset, id))
		tap_fail(__FILE__, __LINE__, "id %s, want %s", (char *)h + h->id_offset, id);
	for (i = 0; i < h->num_desc; i++) {
		struct mkvm_stats_desc *d = stats_desc(h, i);
		uint32_t type = d->flags & MKVM_STATS_TYPE_MASK;

		ASSERT_EQ(d->size, 1);
		ASSERT_EQ(d->offset, i * sizeof(uint64_t));
		ASSERT_EQ(d->bucket_size, 0);
		ASSERT_EQ(d->exponent, 0);
		ASSERT_EQ(d->flags & MKVM_STATS_UNIT_MASK, MKVM_STATS_UNIT_NONE);
		ASSERT_TRUE(type == MKVM_STATS_TYPE_CUMULATIVE || type == MKVM_STATS_TYPE_INSTANT);
		ASSERT_TRUE(strnlen(d->name, h->name_size) < h->name_size);
		after = mkvm_stat(debugfs_stats, d->name);
		if (stats_value(h, d->name) < (before[i] < after ? before[i] : after) ||
		    stats_value(h, d->name) > (before[i] < after ? after : before[i]))
			tap_fail(__FILE__, __LINE__, "%s: %s is %lld in the stats fd, %ld then %ld in debugfs",
				 id, d->name, stats_value(h, d->name), before[i], after);
	}
	free(h);
}

TEST(binary_stats_fd)
{
	char path[300], id[64];
	struct mkvm_guest g;
	size_t len;
	struct mkvm_stats_header *h;
	int vmfd, vcpufd, dev, i;
	long long faults;
	long vm;
	pid_t pid;

	dev = mkvm_open();
	ASSERT_EQ(ioctl(dev, MKVM_CHECK_EXTENSION, MKVM_CAP_BINARY_STATS_FD), 1);
	close(dev);
	mkvm_guest_init(&g, NULL, NPAGES * PAGE_SIZE, 0);
	for (i = 0; i < 4; i++)
		mkvm_guest_write(&g.vcpu, GPA + i * PAGE_SIZE, 8, i);
	vm = mkvm_vm_id();
	ASSERT_ERRNO(ioctl(g.vm, MKVM_GET_STATS_FD, 1), EINVAL);
	ASSERT_ERRNO(ioctl(g.vcpu.fd, MKVM_GET_STATS_FD, 1), EINVAL);
	vmfd = ASSERT_OK(ioctl(g.vm, MKVM_GET_STATS_FD, 0));
	vcpufd = ASSERT_OK(ioctl(g.vcpu.fd, MKVM_GET_STATS_FD, 0));
	ASSERT_TRUE(fcntl(vmfd, F_GETFD) & FD_CLOEXEC);

	snprintf(path, sizeof(path), MKVM_DEBUGFS "/vm%ld/stats", vm);
	snprintf(id, sizeof(id), "mkvm-vm%ld", vm);
	check_stats_file(vmfd, id, path);
	h = stats_read_all(vmfd, &len);
	ASSERT_EQ(stats_value(h, "memslots"), 1);
	ASSERT_EQ(stats_value(h, "vcpus"), 1);
	ASSERT_EQ(stats_value(h, "s2_blocks"), -1);	/* debugfs only: a walk of the tables */
	faults = stats_value(h, "faults");
	ASSERT_TRUE(faults >= 4);
	free(h);

	/* The vCPU's own: the only vCPU has all the VM's faults. */
	h = stats_read_all(vcpufd, &len);
	snprintf(id, sizeof(id), "mkvm-vm%ld/vcpu-0", vm);
	if (strcmp((char *)h + h->id_offset, id))
		tap_fail(__FILE__, __LINE__, "vCPU id %s, want %s", (char *)h + h->id_offset, id);
	ASSERT_EQ(stats_value(h, "faults"), faults);
	free(h);

	/* Values are read afresh; the rest is fixed. */
	mkvm_guest_write(&g.vcpu, GPA + 5 * PAGE_SIZE, 8, 5);
	h = stats_read_all(vcpufd, &len);
	ASSERT_EQ(stats_value(h, "faults"), faults + 1);
	free(h);

	/* Another process reads it too (its ioctls on the VM would fail). */
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		struct mkvm_stats_header *c = stats_read_all(vmfd, &len);

		_exit(stats_value(c, "faults") == faults + 1 ? 0 : 1);
	}
	ASSERT_EQ(waitpid(pid, &i, 0), pid);
	ASSERT_TRUE(WIFEXITED(i) && WEXITSTATUS(i) == 0);

	/* The stats fds keep the VM: still readable once every other fd is gone. */
	mkvm_guest_close(&g);
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", "vms"), 1);
	h = stats_read_all(vmfd, &len);
	ASSERT_EQ(stats_value(h, "faults"), faults + 1);
	free(h);
	close(vcpufd);
	close(vmfd);
	munmap(g.mem, g.size);
	mkvm_assert_no_objects();
}

/* tools/mkvm_stat, which the tests' build puts next to this program. */
static void tool_path(char *path, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", path, len - 16);

	ASSERT_TRUE(n > 0);
	path[n] = 0;
	strcpy(strrchr(path, '/') + 1, "mkvm_stat");
}

TEST(mkvm_stat_one_shot)
{
	char tool[300], cmd[400], line[256], vmline[32];
	long total = -1, change = -1, id;
	bool in_vm = false;
	struct mkvm_guest g;
	double rate;
	FILE *out;
	int i;

	tool_path(tool, sizeof(tool));
	snprintf(cmd, sizeof(cmd), "%s -i x 2>/dev/null", tool);
	ASSERT_EQ(WEXITSTATUS(system(cmd)), 2);
	mkvm_guest_init(&g, NULL, 16 * PAGE_SIZE, 0);
	id = mkvm_vm_id();
	snprintf(cmd, sizeof(cmd), "%s -1 -i 4", tool);
	out = popen(cmd, "r");
	ASSERT_TRUE(out);
	/* Between its two reads: ten faults. */
	usleep(1500 * 1000);
	for (i = 0; i < 10; i++)
		mkvm_guest_write(&g.vcpu, GPA + i * PAGE_SIZE, 8, i);
	snprintf(vmline, sizeof(vmline), "vm%ld\n", id);
	while (fgets(line, sizeof(line), out)) {
		printf("# | %s", line);
		if (line[0] != ' ')
			in_vm = !strcmp(line, vmline);
		else if (in_vm && sscanf(line, " faults %ld %ld %lf", &total, &change, &rate) == 3)
			in_vm = false;
	}
	ASSERT_EQ(pclose(out), 0);
	ASSERT_EQ(change, 10);
	ASSERT_EQ(total, mkvm_vm_stat("faults"));
	ASSERT_TRUE(rate > 2.45 && rate < 2.55);	/* 10 in 4 s */
	mkvm_guest_close(&g);
	munmap(g.mem, g.size);
	mkvm_assert_no_objects();
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
