// SPDX-License-Identifier: GPL-2.0
/*
 * mkvm's tracepoints (src/trace.h), used the way an engineer uses them:
 * enabled through tracefs (events/mkvm/enable), a known run, then the
 * trace read back. Every event of the run must be there with the values
 * the run gave it: the memslot's creation and deletion, a fault that maps
 * and one that exits to userspace, the invalidation that MADV_DONTNEED
 * makes with the zap inside it, and the release when the VM goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
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
	snprintf(want, sizeof(want), "mkvm_invalidate_end: vm %ld hva %p-%p 0", id, mem,
		 mem + PAGE_SIZE);
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

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
