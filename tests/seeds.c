// SPDX-License-Identifier: GPL-2.0
/*
 * Reproducers of the seed threads' races (docs/design.md tells each), and of the
 * other teardown race KVM documents. Each arms a delay injection point of
 * the test build (debugfs mkvm/hooks/) in the race window, so the other
 * side of the race lands in it every time, and drives that other side.
 * With the fix they pass, and prove with a counter that moves only in the
 * race window that they entered it (a green run on a slow machine cannot
 * be vacuous); built with the fix reverted (make MKVM_TEST=1
 * MKVM_REVERT=SEED_<seed>) they fail, which the lanes' LANE_MUST_CATCH
 * check on every `make check`, running only the reproducer.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/aging.h"
#include "lib/hooks.h"
#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define MB	(1024UL * 1024)
#define GPA	(1UL << 30)
static void vcpu_touch(struct mkvm_vcpu_ctx *vcpu, uint64_t gpa, uint64_t len)
{
	struct mkvm_guest_op op = {
		.type = MKVM_OP_TOUCH_WRITE, .gpa = gpa, .len = len, .data = 1,
	};

	ASSERT_OK(mkvm_run_ops(vcpu, &op, 1));
	ASSERT_EQ(vcpu->run->exit_reason, MKVM_EXIT_DONE);
}

/*
 * Seed 000: release from exit_mmap and VM destroy flush stage-2 at once.
 * The creator hands its VM fd over and exits; its release stops in the
 * window after detaching stage-2; then the receiver closes the last fd,
 * and destroy's unregister runs release again. Fixed: the detach is under
 * mmu_lock, the second flush finds nothing, while the first is still
 * freeing (flush_found_detached: once per round, or the window was
 * missed). Reverted: both free the same table (KASAN double-free, or a
 * bad page state).
 */
static void seed000_setup(struct mkvm_guest *g)
{
	mkvm_guest_init(g, NULL, 64 * PAGE_SIZE, 0);
	vcpu_touch(&g->vcpu, GPA, 64 * PAGE_SIZE);
}

TEST_T(seed000_release_vs_destroy, 120)
{
	hook_release_vs_destroy(10, seed000_setup);
}

struct fault_thread {
	struct mkvm_vcpu_ctx *vcpu;
	uint64_t value;
};

static void *fault_block(void *p)
{
	struct fault_thread *t = p;

	t->value = mkvm_guest_read(t->vcpu, GPA + 5 * PAGE_SIZE, 1);
	return NULL;
}

/*
 * Seed 001: a fault sizes a 2M block from the host page tables, then the
 * THP under it is split (and one of its pages dropped) before the fault
 * installs anything. Fixed: the invalidation moved the sequence, the fault
 * retries (the vCPU's retry counter says it did) and maps what the host
 * maps now. Reverted (no sequence check): a 2M block of the old huge
 * page, and the guest reads the dropped page.
 */
TEST_T(seed001_thp_split_vs_block_fault, 60)
{
	struct mkvm_vcpu_ctx vcpu;
	struct fault_thread t = { .vcpu = &vcpu };
	char *thp;
	pthread_t th;
	int vm, i;

	mkvm_need_thp();
	thp = mkvm_map_2m_aligned(2 * MB, MADV_HUGEPAGE);
	for (i = 0; i < 512; i++)
		thp[i * PAGE_SIZE] = i & 0x7f;
	vm = mkvm_vm_create();
	ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA, 2 * MB, thp));
	mkvm_vcpu_open(vm, 0, &vcpu);

	hook_arm("fault_sized", 300);
	ASSERT_EQ(pthread_create(&th, NULL, fault_block, &t), 0);
	ASSERT_TRUE(hook_wait("fault_sized", 1, 5000));
	ASSERT_OK(madvise(thp + 7 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED));
	ASSERT_EQ(pthread_join(th, NULL), 0);
	hook_arm("fault_sized", 0);

	ASSERT_EQ(t.value, 5);
	ASSERT_EQ(thp[7 * PAGE_SIZE], 0);
	if (mkvm_guest_read(&vcpu, GPA + 7 * PAGE_SIZE, 1) != 0)
		tap_fail(__FILE__, __LINE__, "guest read the page the THP split dropped");
	/* The window was hit: the parked fault saw the sequence move. */
	ASSERT_TRUE(vcpu.run->stat_retries >= 1);
	for (i = 0; i < 512; i += 37)
		if (i != 7)
			ASSERT_EQ(mkvm_guest_read(&vcpu, GPA + i * PAGE_SIZE, 1), i & 0x7f);
}

/*
 * Seed 003: aging reaches the VM while it is being destroyed. The core mm
 * ages the VM's pages (lib/aging.c), and the young callback stops
 * (busy-waiting, under the page-table lock) before taking mmu_lock;
 * meanwhile the VM's last fd closes and release frees stage-2. Fixed:
 * aging finds no table and returns (age_after_release counts it: the
 * window was hit). Reverted (no NULL check): a NULL pointer dereference.
 */
TEST_T(seed003_aging_vs_release, 60)
{
	struct mkvm_vcpu_ctx vcpu;
	size_t size = 16 * PAGE_SIZE;
	const char *late = "age_after_release";
	long before = mkvm_stat(MKVM_DEBUGFS "/stats", late);
	enum mkvm_ager ager;
	char *mem;
	int vm;

	mem = mkvm_map_anon(size);
	vm = mkvm_vm_create();
	ASSERT_OK(mkvm_set_region(vm, 0, 0, GPA, size, mem));
	mkvm_vcpu_open(vm, 0, &vcpu);
	vcpu_touch(&vcpu, GPA, size);
	/*
	 * Leave only the VM fd. munmap() of the run page later would wait for
	 * mmap_lock, which MADV_PAGEOUT holds until aging is done: no race.
	 */
	ASSERT_OK(munmap(vcpu.run, PAGE_SIZE));
	close(vcpu.fd);

	hook_arm("age_before_lock", 300);
	ager = mkvm_ager_start_background(mem, size);
	if (!hook_wait("age_before_lock", 1, 3000)) {
		hook_arm("age_before_lock", 0);
		mkvm_ager_unavailable(ager);
	}
	/*
	 * Aging is in the window. Disarm first (the destroy below waits for
	 * every callback in flight, and the later ones would delay it too),
	 * then destroy the VM under the one in the window.
	 */
	hook_arm("age_before_lock", 0);
	close(vm);
	/* Destroy waited for the parked callback, which found no table. */
	ASSERT_TRUE(mkvm_stat(MKVM_DEBUGFS "/stats", late) > before);
	mkvm_ager_stop();
	mkvm_assert_no_objects();
}

struct dontneed_thread {
	char *mem;
	size_t size;
};

/*
 * Arms the hook for one hit itself, right before its own invalidation:
 * the main thread's writes break copy-on-write sharing with the test
 * harness's parent, and each of those invalidates too.
 */
static void *dontneed(void *p)
{
	struct dontneed_thread *t = p;

	hook_arm_times("invalidate_end", 1000, 1);
	ASSERT_OK(madvise(t->mem, t->size, MADV_DONTNEED));
	return NULL;
}

/*
 * Not a seed thread, but the teardown race KVM documents in
 * kvm_destroy_vm(): the notifier is unregistered between an invalidation's
 * start and its end, so that end never comes and the VM's counts stay
 * raised. Two VMs on one mm: the core mm calls the newer first, and its
 * end stops in the hook; meanwhile the older VM's last fd closes, and its
 * unregister takes it off the list before the core mm gets to its end.
 * The module counts such destroys: exactly one here, or the window was
 * missed. Destroy must cope: no WARN, no hang, nothing left behind. (No
 * revert build proves more: mkvm's destroy has nothing that waits on the
 * count, notifier.c says why.) The newer VM got both calls: its
 * memslots still update (a raised count would block that for ever) and
 * its guest sees what the process maps.
 */
TEST_T(unregister_between_start_and_end, 60)
{
	struct dontneed_thread t = { .size = 16 * PAGE_SIZE };
	const char *mid = "unregistered_mid_invalidation";
	struct mkvm_vcpu_ctx vcpu;
	int older, newer;
	long before;
	pthread_t th;

	t.mem = mkvm_map_anon(t.size);
	memset(t.mem, 7, t.size);
	older = mkvm_vm_create();
	ASSERT_OK(mkvm_set_region(older, 0, 0, GPA, t.size, t.mem));
	newer = mkvm_vm_create();
	ASSERT_OK(mkvm_set_region(newer, 0, 0, GPA, t.size, t.mem));
	mkvm_vcpu_open(newer, 0, &vcpu);
	ASSERT_EQ(mkvm_guest_read(&vcpu, GPA, 1), 7);

	/* Polling reads stdio buffers: break their copy-on-write sharing now. */
	hook_hits("invalidate_end");
	before = mkvm_stat(MKVM_DEBUGFS "/stats", mid);
	ASSERT_EQ(pthread_create(&th, NULL, dontneed, &t), 0);
	ASSERT_TRUE(hook_wait("invalidate_end", 1, 5000));
	/* The newer VM's end sleeps in the hook, which disarmed itself. */
	close(older);	/* destroy: unregister waits out the sleeping end */
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", mid), before + 1);

	ASSERT_EQ(mkvm_guest_read(&vcpu, GPA, 1), 0);
	t.mem[0] = 9;
	ASSERT_EQ(mkvm_guest_read(&vcpu, GPA, 1), 9);
	ASSERT_OK(mkvm_set_region(newer, 0, 0, GPA, 0, t.mem));
	ASSERT_OK(munmap(vcpu.run, PAGE_SIZE));
	close(vcpu.fd);
	close(newer);
	mkvm_assert_no_objects();
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
