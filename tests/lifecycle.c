// SPDX-License-Identifier: GPL-2.0
/*
 * Object lifetimes: fds closed in every order, a forked child (another mm),
 * fds passed to other processes, processes exiting without closing.
 * After each test every VM, vCPU and memslot must be gone (debugfs counters).
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define STATS	MKVM_DEBUGFS "/stats"

static void wait_child_ok(pid_t pid)
{
	int status;

	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

/* Close /dev/mkvm, the VM and its vCPUs in all 24 orders: nothing leaks. */
TEST(close_orders_all_permutations)
{
	static const int perms[24][4] = {
		{0, 1, 2, 3}, {0, 1, 3, 2}, {0, 2, 1, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {0, 3, 2, 1},
		{1, 0, 2, 3}, {1, 0, 3, 2}, {1, 2, 0, 3}, {1, 2, 3, 0}, {1, 3, 0, 2}, {1, 3, 2, 0},
		{2, 0, 1, 3}, {2, 0, 3, 1}, {2, 1, 0, 3}, {2, 1, 3, 0}, {2, 3, 0, 1}, {2, 3, 1, 0},
		{3, 0, 1, 2}, {3, 0, 2, 1}, {3, 1, 0, 2}, {3, 1, 2, 0}, {3, 2, 0, 1}, {3, 2, 1, 0},
	};
	char *mem = mkvm_map_anon(PAGE_SIZE);
	int p, i;

	for (p = 0; p < 24; p++) {
		int fds[4], closed = 0;

		fds[0] = mkvm_open();
		fds[1] = ASSERT_OK(ioctl(fds[0], MKVM_CREATE_VM, 0));
		fds[2] = ASSERT_OK(ioctl(fds[1], MKVM_CREATE_VCPU, 0));
		fds[3] = ASSERT_OK(ioctl(fds[1], MKVM_CREATE_VCPU, 1));
		ASSERT_OK(mkvm_set_region(fds[1], 0, 0, 0, PAGE_SIZE, mem));
		for (i = 0; i < 4; i++) {
			bool alive;

			close(fds[perms[p][i]]);
			closed |= 1 << perms[p][i];
			/* The VM and its vCPUs live while the VM or a vCPU fd does. */
			alive = (closed & 0xe) != 0xe;
			ASSERT_EQ(mkvm_stat(STATS, "vms"), alive);
			ASSERT_EQ(mkvm_stat(STATS, "vcpus"), alive ? 2 : 0);
		}
		mkvm_assert_no_objects();
	}
}

/* A vCPU fd keeps the VM alive after the VM fd is closed. */
TEST(vcpu_fd_outlives_vm_fd)
{
	int vm = mkvm_vm_create();
	int vcpu = ASSERT_OK(ioctl(vm, MKVM_CREATE_VCPU, 3));
	char *mem = mkvm_map_anon(PAGE_SIZE);

	ASSERT_OK(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE, mem));
	close(vm);
	ASSERT_EQ(mkvm_stat(STATS, "vms"), 1);
	ASSERT_EQ(mkvm_stat(STATS, "vcpus"), 1);
	ASSERT_EQ(mkvm_stat(STATS, "memslots"), 1);
	ASSERT_ERRNO(ioctl(vcpu, 0xdead, 0), ENOTTY);
	close(vcpu);
	mkvm_assert_no_objects();
}

/* A forked child has another mm: VM and vCPU ioctls give EIO, /dev/mkvm works. */
TEST(fork_child_other_mm_eio)
{
	int dev = mkvm_open();
	int vm = ASSERT_OK(ioctl(dev, MKVM_CREATE_VM, 0));
	int vcpu = ASSERT_OK(ioctl(vm, MKVM_CREATE_VCPU, 0));
	char *mem = mkvm_map_anon(2 * PAGE_SIZE);
	pid_t pid;

	pid = ASSERT_OK(fork());
	if (!pid) {
		int own;

		ASSERT_ERRNO(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE, mem), EIO);
		ASSERT_ERRNO(ioctl(vm, MKVM_CREATE_VCPU, 1), EIO);
		ASSERT_ERRNO(ioctl(vm, MKVM_CHECK_EXTENSION, MKVM_CAP_USER_MEMORY), EIO);
		ASSERT_ERRNO(ioctl(vm, 0xdead, 0), EIO);
		ASSERT_ERRNO(ioctl(vcpu, 0xdead, 0), EIO);
		/* The child's own VM is its own. */
		own = ASSERT_OK(ioctl(dev, MKVM_CREATE_VM, 0));
		ASSERT_OK(mkvm_set_region(own, 0, 0, 0, PAGE_SIZE, mem));
		/* Closing inherited fds only drops references. */
		close(vm);
		close(vcpu);
		_exit(0);
	}
	wait_child_ok(pid);
	ASSERT_EQ(mkvm_stat(STATS, "vms"), 1);
	ASSERT_OK(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE, mem));
	close(ASSERT_OK(ioctl(vm, MKVM_CREATE_VCPU, 1)));
	close(vm);
	close(vcpu);
	close(dev);
	mkvm_assert_no_objects();
}

static void *thread_set_region(void *vm)
{
	char *mem = mkvm_map_anon(PAGE_SIZE);

	return (void *)(long)mkvm_set_region((int)(long)vm, 5, 0, 0, PAGE_SIZE, mem);
}

/* Threads share the creator's mm: their ioctls succeed. */
TEST(thread_same_mm_ok)
{
	int vm = mkvm_vm_create();
	pthread_t t;
	void *ret;

	ASSERT_EQ(pthread_create(&t, NULL, thread_set_region, (void *)(long)vm), 0);
	ASSERT_EQ(pthread_join(t, &ret), 0);
	ASSERT_EQ((long)ret, 0);
	ASSERT_EQ(mkvm_stat(STATS, "memslots"), 1);
	close(vm);
	mkvm_assert_no_objects();
}

/*
 * The creator passes its VM and vCPU fds over SCM_RIGHTS and exits, its mm
 * torn down: the VM lives on in the receiver, answers EIO there, and is
 * freed when the receiver closes the fds.
 */
TEST(vm_outlives_creator_via_fd_passing)
{
	int sv[2], vm, vcpu;
	pid_t pid;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = ASSERT_OK(fork());
	if (!pid) {
		char *mem = mkvm_map_anon(PAGE_SIZE);
		int cvm = mkvm_vm_create();
		int cvcpu = ASSERT_OK(ioctl(cvm, MKVM_CREATE_VCPU, 0));

		ASSERT_OK(mkvm_set_region(cvm, 0, 0, 0, PAGE_SIZE, mem));
		ASSERT_OK(mkvm_send_fd(sv[1], cvm));
		ASSERT_OK(mkvm_send_fd(sv[1], cvcpu));
		_exit(0);
	}
	close(sv[1]);
	vm = ASSERT_OK(mkvm_recv_fd(sv[0]));
	vcpu = ASSERT_OK(mkvm_recv_fd(sv[0]));
	wait_child_ok(pid);

	ASSERT_EQ(mkvm_stat(STATS, "vms"), 1);
	ASSERT_EQ(mkvm_stat(STATS, "memslots"), 1);
	ASSERT_ERRNO(ioctl(vm, MKVM_CREATE_VCPU, 1), EIO);
	ASSERT_ERRNO(ioctl(vcpu, 0xdead, 0), EIO);
	/*
	 * RUN on a VM whose creator (and so its mm) has exited: refused
	 * before anything else, as from any process but the creator.
	 */
	ASSERT_ERRNO(ioctl(vcpu, MKVM_RUN, 0), EIO);
	close(vm);
	ASSERT_EQ(mkvm_stat(STATS, "vms"), 1);
	close(vcpu);
	close(sv[0]);
	mkvm_assert_no_objects();
}

/* The creator keeps using its VM after another process got and closed a copy. */
TEST(vm_fd_passed_and_closed_by_peer)
{
	char *mem = mkvm_map_anon(PAGE_SIZE);
	int vm = mkvm_vm_create();
	int sv[2];
	pid_t pid;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = ASSERT_OK(fork());
	if (!pid) {
		int got;

		close(vm);
		got = mkvm_recv_fd(sv[1]);
		ASSERT_TRUE(got >= 0);
		ASSERT_ERRNO(mkvm_set_region(got, 0, 0, 0, PAGE_SIZE, mem), EIO);
		close(got);
		_exit(0);
	}
	ASSERT_OK(mkvm_send_fd(sv[0], vm));
	wait_child_ok(pid);
	ASSERT_OK(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE, mem));
	ASSERT_EQ(mkvm_stat(STATS, "memslots"), 1);
	close(vm);
	close(sv[0]);
	close(sv[1]);
	mkvm_assert_no_objects();
}

/* A process that exits holding VMs, vCPUs and slots leaves nothing behind. */
TEST(exit_without_closing)
{
	pid_t pid = ASSERT_OK(fork());

	if (!pid) {
		char *mem = mkvm_map_anon(8 * PAGE_SIZE);
		int i, vm;

		for (i = 0; i < 8; i++) {
			vm = mkvm_vm_create();
			ASSERT_OK(ioctl(vm, MKVM_CREATE_VCPU, i));
			ASSERT_OK(mkvm_set_region(vm, i, 0, i * PAGE_SIZE, PAGE_SIZE,
						  mem + i * PAGE_SIZE));
		}
		ASSERT_EQ(mkvm_stat(STATS, "vms"), 8);
		_exit(0);
	}
	wait_child_ok(pid);
	mkvm_assert_no_objects();
}

struct reader_arg {
	int stop;
	long reads, bad;
};

static void *stats_reader(void *p)
{
	struct reader_arg *a = p;
	long gen, last = 0;

	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		/* Each read is one SRCU section over one memslot set. */
		long n = mkvm_vm_stat("memslots");

		gen = mkvm_vm_stat("memslot_generation");
		a->bad += n != 2 || gen < last;
		last = gen;
		a->reads++;
	}
	return NULL;
}

/*
 * Readers of the memslot set never see a half-done update: while one
 * thread keeps moving two slots around, readers always find exactly two
 * slots and a generation that never goes back.
 */
TEST_T(memslot_moves_vs_readers, 120)
{
	int vm = mkvm_vm_create();
	char *mem = mkvm_map_anon(2 * PAGE_SIZE);
	struct reader_arg args[2] = { 0 };
	pthread_t t[2];
	int i;

	ASSERT_OK(mkvm_set_region(vm, 0, 0, 0, PAGE_SIZE, mem));
	ASSERT_OK(mkvm_set_region(vm, 1, 0, 16 * PAGE_SIZE, PAGE_SIZE, mem + PAGE_SIZE));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, stats_reader, &args[i]), 0);
	for (i = 0; i < 2000; i++) {
		ASSERT_OK(mkvm_set_region(vm, 0, 0, (i % 8 + 1) * PAGE_SIZE, PAGE_SIZE, mem));
		ASSERT_OK(mkvm_set_region(vm, 1, 0, (i % 8 + 17) * PAGE_SIZE, PAGE_SIZE,
					  mem + PAGE_SIZE));
	}
	for (i = 0; i < 2; i++) {
		__atomic_store_n(&args[i].stop, 1, __ATOMIC_RELEASE);
		ASSERT_EQ(pthread_join(t[i], NULL), 0);
		ASSERT_EQ(args[i].bad, 0);
		ASSERT_TRUE(args[i].reads > 0);
	}
	/* Two creates, then 4000 moves of two publications each. */
	ASSERT_EQ(mkvm_vm_stat("memslot_generation"), 8002);
	close(vm);
	mkvm_assert_no_objects();
}

/* A VM's debugfs file opened before the VM died answers EIO, never stale data. */
TEST(debugfs_stats_outlived_by_reader)
{
	int vm = mkvm_vm_create();
	char path[300], buf[256];
	int fd;

	snprintf(path, sizeof(path), "%s/vm%ld/stats", MKVM_DEBUGFS,
		 mkvm_vm_id());
	fd = ASSERT_OK(open(path, O_RDONLY));
	ASSERT_TRUE(read(fd, buf, sizeof(buf)) > 0);
	close(vm);
	mkvm_assert_no_objects();
	ASSERT_ERRNO(read(fd, buf, sizeof(buf)), EIO);
	close(fd);
}

struct churn_arg {
	int id;
	long failures;
};

static void *churn(void *p)
{
	struct churn_arg *a = p;
	char *mem = mkvm_map_anon(4 * PAGE_SIZE);
	int i;

	for (i = 0; i < 200; i++) {
		int vm = mkvm_vm_create();
		int vcpu = ioctl(vm, MKVM_CREATE_VCPU, a->id);

		a->failures += vcpu < 0;
		a->failures += mkvm_set_region(vm, 0, 0, 0, 4 * PAGE_SIZE, mem) != 0;
		a->failures += mkvm_set_region(vm, 0, 0, 8 * PAGE_SIZE, 4 * PAGE_SIZE, mem) != 0;
		if (i & 1) {
			close(vm);
			close(vcpu);
		} else {
			close(vcpu);
			close(vm);
		}
	}
	return NULL;
}

/* Four threads create, change and close VMs at once: no failure, no leak. */
TEST_T(concurrent_create_close_churn, 120)
{
	struct churn_arg args[4];
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++) {
		args[i] = (struct churn_arg){ .id = i };
		ASSERT_EQ(pthread_create(&t[i], NULL, churn, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(pthread_join(t[i], NULL), 0);
		ASSERT_EQ(args[i].failures, 0);
	}
	mkvm_assert_no_objects();
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
