// SPDX-License-Identifier: GPL-2.0
/*
 * Memslots backed by what is not private anonymous memory: memfd/shmem
 * (hole punching, truncation), MAP_SHARED files on a real filesystem
 * (ext4: writeback, truncate), and 2M hugetlb pages. Each reaches
 * invalidate_range_start through paths anonymous memory never takes
 * (shmem_fallocate, truncate_pagecache, writeback's folio_mkclean,
 * hugetlb's own unmap), and the guest must follow every one of them.
 *
 * ext4 needs a kernel with ext4 and a RAM disk (/dev/ram0), and
 * mkfs.ext4 in the guest: the stock and debug lanes provide them and set
 * MKVM_REQUIRE_EXT4=1, where their absence is a failure; elsewhere (the
 * other lanes, a lab box without a RAM disk) those tests SKIP.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/hooks.h"
#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define MB	(1024UL * 1024)
#define GPA	MKVM_TEST_GPA

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << MAP_HUGE_SHIFT)
#endif

static int memfd_sized(size_t size)
{
	int fd = ASSERT_OK(memfd_create("mkvm-test", MFD_CLOEXEC));

	ASSERT_OK(ftruncate(fd, size));
	return fd;
}

static char *map_shared(int fd, size_t size)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	ASSERT_TRUE(p != MAP_FAILED);
	return p;
}

static uint64_t file_read64(int fd, off_t off)
{
	uint64_t v = 0;

	ASSERT_EQ(pread(fd, &v, sizeof(v), off), sizeof(v));
	return v;
}

/* What the disk holds at @off, bypassing the page cache (O_DIRECT). */
static uint64_t disk_read64(const char *path, off_t off)
{
	int fd = ASSERT_OK(open(path, O_RDONLY | O_DIRECT));
	uint64_t *buf, v;

	ASSERT_EQ(posix_memalign((void **)&buf, PAGE_SIZE, PAGE_SIZE), 0);
	ASSERT_EQ(pread(fd, buf, PAGE_SIZE, off & ~(PAGE_SIZE - 1)), PAGE_SIZE);
	v = buf[(off & (PAGE_SIZE - 1)) / sizeof(v)];
	free(buf);
	close(fd);
	return v;
}

/* A guest read that must fail with EFAULT: no page behind the slot. */
static void guest_read_efault(struct mkvm_guest *g, uint64_t gpa)
{
	struct mkvm_guest_op op = { .type = MKVM_OP_READ, .size = 8, .gpa = gpa };

	ASSERT_ERRNO(mkvm_run_ops(&g->vcpu, &op, 1), EFAULT);
}

/*
 * memfd (shmem), shared: guest writes reach the file, file writes reach
 * the guest; a punched hole reads as zero in the guest at once (the
 * punch zapped stage-2), and the guest's next write refills it.
 */
TEST(memfd_shared_coherent_and_punch_hole)
{
	const size_t size = 16 * PAGE_SIZE;
	int fd = memfd_sized(size);
	struct mkvm_guest g;
	uint64_t v = 77;

	mkvm_guest_init(&g, map_shared(fd, size), size, 0);
	mkvm_guest_write(&g.vcpu, GPA + 3 * PAGE_SIZE, 8, 0xabcd);
	ASSERT_EQ(file_read64(fd, 3 * PAGE_SIZE), 0xabcd);
	ASSERT_EQ(pwrite(fd, &v, sizeof(v), 5 * PAGE_SIZE), sizeof(v));
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 5 * PAGE_SIZE, 8), 77);

	ASSERT_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    2 * PAGE_SIZE, 4 * PAGE_SIZE));
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 3 * PAGE_SIZE, 8), 0);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 5 * PAGE_SIZE, 8), 0);
	mkvm_guest_write(&g.vcpu, GPA + 3 * PAGE_SIZE, 8, 0x99);
	ASSERT_EQ(file_read64(fd, 3 * PAGE_SIZE), 0x99);
	ASSERT_EQ(g.mem[3 * PAGE_SIZE], (char)0x99);
	close(fd);
}

/*
 * Truncating a memfd under the guest: pages past the new end are gone
 * (the guest gets EFAULT, never the old data); grown again, they read as
 * zero.
 */
TEST(memfd_truncate_under_guest)
{
	const size_t size = 8 * PAGE_SIZE;
	int fd = memfd_sized(size);
	struct mkvm_guest g;

	mkvm_guest_init(&g, map_shared(fd, size), size, 0);
	memset(g.mem, 0x22, size);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 6 * PAGE_SIZE, 1), 0x22);
	ASSERT_OK(ftruncate(fd, 2 * PAGE_SIZE));
	guest_read_efault(&g, GPA + 6 * PAGE_SIZE);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + PAGE_SIZE, 1), 0x22);
	ASSERT_OK(ftruncate(fd, size));
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 6 * PAGE_SIZE, 1), 0);
	close(fd);
}

/* Shared anonymous memory is shmem too: a forked child's write reaches the guest. */
TEST(shmem_shared_anon_child_writes)
{
	const size_t size = 4 * PAGE_SIZE;
	char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct mkvm_guest g;
	int status;
	pid_t pid;

	ASSERT_TRUE(mem != MAP_FAILED);
	mkvm_guest_init(&g, mem, size, 0);
	mkvm_guest_write(&g.vcpu, GPA, 8, 1);
	pid = ASSERT_OK(fork());
	if (!pid) {
		*(volatile uint64_t *)mem = 2;
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA, 8), 2);
}

/* nr_hugepages of the 2M pool; -1 if there is none. */
static long hugetlb_2m_pages(const char *what)
{
	char path[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-2048kB/%s", what);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

static void hugetlb_2m_set_pool(long n)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "w");

	if (!f)
		return;
	fprintf(f, "%ld\n", n);
	fclose(f);
}

/*
 * A 2M hugetlb page gets one 2M stage-2 block (no level-3 table); guest
 * writes land in it; munmap zaps the block. Under the harness the test
 * grows the 2M pool itself (guests have memory to spare) and shrinks it
 * back.
 */
TEST(hugetlb_2m_block_mapping)
{
	struct mkvm_guest g;
	long pool = hugetlb_2m_pages("nr_hugepages");
	char *mem;

	if (pool < 0)
		mkvm_missing("2M hugetlb pages", "no hugepages-2048kB pool");
	if (hugetlb_2m_pages("free_hugepages") < 1 && mkvm_required())
		hugetlb_2m_set_pool(pool + 1);
	mem = mmap(NULL, 2 * MB, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	if (mem == MAP_FAILED) {
		hugetlb_2m_set_pool(pool);
		mkvm_missing("a free 2M hugetlb page", strerror(errno));
	}
	mkvm_fill_pages(mem, 512);
	mkvm_guest_init(&g, mem, 2 * MB, 0);
	mkvm_guest_check_pages(&g, 512, 31);
	ASSERT_EQ(mkvm_vm_stat("faults"), 1);
	ASSERT_EQ(mkvm_vm_stat("s2_tables"), 2);
	mkvm_guest_write(&g.vcpu, GPA + 2 * MB - 8, 8, 0x66);
	ASSERT_EQ(*(uint64_t *)(mem + 2 * MB - 8), 0x66);

	ASSERT_OK(munmap(mem, 2 * MB));
	guest_read_efault(&g, GPA);
	hugetlb_2m_set_pool(pool);
}

#define EXT4_DEV	"/dev/ram0"
#define EXT4_DIR	"/tmp/mkvm-ext4"

static bool ext4_supported(void)
{
	char line[128];
	bool found = false;
	FILE *f = fopen("/proc/filesystems", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		found |= !!strstr(line, "\text4\n");
	fclose(f);
	return found;
}

/*
 * A fresh ext4 on the RAM disk, mounted at EXT4_DIR, for one test; the
 * unmount at exit also drops its page cache. SKIP (or fail where the lane
 * requires ext4) without it.
 */
static void ext4_mount(void)
{
	const char *req = getenv("MKVM_REQUIRE_EXT4");
	bool required = req && *req == '1';

	if (!ext4_supported() || access(EXT4_DEV, F_OK)) {
		if (required)
			tap_fail(__FILE__, __LINE__, "the lane provides ext4 on " EXT4_DEV
				 ", but this kernel has no ext4 or no " EXT4_DEV);
		tap_skip("no ext4 or no " EXT4_DEV " in this kernel");
	}
	/* A test that failed before its unmount left this behind. */
	umount2(EXT4_DIR, MNT_DETACH);
	if (system("mkfs.ext4 -q -F " EXT4_DEV " >/tmp/mkfs.log 2>&1")) {
		system("sed 's/^/# /' /tmp/mkfs.log");
		if (required)
			tap_fail(__FILE__, __LINE__, "mkfs.ext4 " EXT4_DEV " failed");
		tap_skip("mkfs.ext4 " EXT4_DEV " failed (no mkfs.ext4?)");
	}
	mkdir(EXT4_DIR, 0700);
	if (mount(EXT4_DEV, EXT4_DIR, "ext4", 0, NULL))
		tap_fail(__FILE__, __LINE__, "mount ext4: %s", strerror(errno));
}

static void ext4_umount(void)
{
	ASSERT_OK(umount(EXT4_DIR));
}

#define EXT4_FILE	EXT4_DIR "/guest-memory"

static int ext4_file(size_t size)
{
	int fd = ASSERT_OK(open(EXT4_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600));

	ASSERT_OK(ftruncate(fd, size));
	return fd;
}

/*
 * A MAP_SHARED ext4 file as guest memory: guest writes reach the disk
 * through writeback (msync cleans the pages, which write-protects the
 * host PTEs and zaps stage-2), a write after writeback is written again,
 * and truncation takes the pages away from the guest.
 */
TEST_T(ext4_shared_file_writeback_and_truncate, 60)
{
	const size_t size = 16 * PAGE_SIZE;
	struct mkvm_guest g;
	char *mem;
	int fd;

	ext4_mount();
	fd = ext4_file(size);
	mem = map_shared(fd, size);
	memset(mem, 0x33, size);
	mkvm_guest_init(&g, mem, size, 0);
	mkvm_guest_write(&g.vcpu, GPA + PAGE_SIZE, 8, 0x1234);
	ASSERT_OK(msync(mem, size, MS_SYNC));
	ASSERT_EQ(disk_read64(EXT4_FILE, PAGE_SIZE), 0x1234);
	/* The clean page is write-protected again: the next write refaults. */
	mkvm_guest_write(&g.vcpu, GPA + PAGE_SIZE, 8, 0x5678);
	ASSERT_OK(msync(mem, size, MS_SYNC));
	ASSERT_EQ(disk_read64(EXT4_FILE, PAGE_SIZE), 0x5678);
	ASSERT_TRUE(mkvm_vm_stat("zaps") >= 1);

	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 12 * PAGE_SIZE, 1), 0x33);
	ASSERT_OK(ftruncate(fd, 4 * PAGE_SIZE));
	guest_read_efault(&g, GPA + 12 * PAGE_SIZE);
	ASSERT_OK(ftruncate(fd, size));
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + 12 * PAGE_SIZE, 1), 0);
	ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + PAGE_SIZE, 8), 0x5678);

	mkvm_guest_close(&g);
	ASSERT_OK(munmap(mem, size));
	close(fd);
	ext4_umount();
}

struct guest_writer {
	struct mkvm_vcpu_ctx *vcpu;
	uint64_t gpa, value;
};

static void *guest_writer(void *p)
{
	struct guest_writer *w = p;

	mkvm_guest_write(w->vcpu, w->gpa, 8, w->value);
	return NULL;
}

/*
 * The ext4 half of dirtying under mmu_lock (mmu.c has the MADV_FREE
 * half). A guest write fault installs a writable entry and parks after
 * dropping mmu_lock (hook fault_installed), where the dirtying used to
 * be. Meanwhile writeback cleans the page (msync: folio_mkclean zaps the
 * entry) and MADV_PAGEOUT reclaims what it can: the parked fault's
 * reference keeps the folio, but reclaim strips its buffers first. The
 * fixed fault dirtied the page before the zap; dirtying it now
 * (MKVM_REVERT=DIRTY_UNLOCKED) re-dirties a folio with no buffers and
 * no stage-2 entry: ext4_dirty_folio() WARNs. Either way the guest's
 * write, redone through a new fault, reaches the disk (read back with
 * O_DIRECT, not from the page cache the guest wrote).
 */
TEST_T(ext4_dirtied_under_mmu_lock, 60)
{
	const size_t size = 4 * PAGE_SIZE;
	struct guest_writer w = { .gpa = GPA, .value = 0xfeed };
	struct mkvm_guest g;
	pthread_t th;
	char *mem;
	int fd;

	/* MADV_PAGEOUT drains only this CPU's LRU batches (the writer inherits). */
	mkvm_pin_cpu();
	ext4_mount();
	fd = ext4_file(size);
	mem = map_shared(fd, size);
	/* Dirty and writable in the host: the guest's fault maps it writable. */
	memset(mem, 0x44, size);
	mkvm_guest_init(&g, mem, size, 0);
	w.vcpu = &g.vcpu;
	hook_hits("fault_installed");
	hook_arm_times("fault_installed", 1000, 1);
	ASSERT_EQ(pthread_create(&th, NULL, guest_writer, &w), 0);
	ASSERT_TRUE(hook_wait("fault_installed", 1, 5000));
	ASSERT_OK(msync(mem, size, MS_SYNC));
	ASSERT_OK(madvise(mem, size, MADV_PAGEOUT));
	ASSERT_OK(madvise(mem, size, MADV_PAGEOUT));
	ASSERT_EQ(pthread_join(th, NULL), 0);

	ASSERT_EQ(*(uint64_t *)mem, 0xfeed);
	ASSERT_OK(msync(mem, size, MS_SYNC));
	ASSERT_EQ(disk_read64(EXT4_FILE, 0), 0xfeed);

	mkvm_guest_close(&g);
	ASSERT_OK(munmap(mem, size));
	close(fd);
	ext4_umount();
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
