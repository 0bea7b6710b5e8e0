// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hooks.h"
#include "mkvm_util.h"
#include "tap.h"

#define HOOKS	MKVM_DEBUGFS "/hooks/"

static void hook_path(char *path, size_t size, const char *name)
{
	snprintf(path, size, HOOKS "%s", name);
	if (!access(path, F_OK))
		return;
	/* A release build (the DKMS lane's) has none: nothing to test. */
	if (access(MKVM_DEBUGFS "/test", F_OK))
		tap_skip("a release build of mkvm has no delay hooks");
	tap_fail(__FILE__, __LINE__, "a test build of mkvm without %s", path);
}

void hook_arm_times(const char *name, int ms, int times)
{
	char path[128], val[32];
	int fd, n;

	hook_path(path, sizeof(path), name);
	fd = ASSERT_OK(open(path, O_WRONLY));
	if (times)
		n = snprintf(val, sizeof(val), "%d %d", ms, times);
	else
		n = snprintf(val, sizeof(val), "%d", ms);
	ASSERT_EQ(write(fd, val, n), n);
	close(fd);
}

void hook_arm(const char *name, int ms)
{
	hook_arm_times(name, ms, 0);
}

long hook_hits(const char *name)
{
	char path[128];
	long delay = -1, hits = -1;
	FILE *f;

	hook_path(path, sizeof(path), name);
	f = fopen(path, "r");
	ASSERT_TRUE(f);
	ASSERT_EQ(fscanf(f, "%ld %ld", &delay, &hits), 2);
	fclose(f);
	return hits;
}

bool hook_wait(const char *name, long n, int ms)
{
	while (hook_hits(name) < n && ms-- > 0)
		usleep(1000);
	if (hook_hits(name) >= n)
		return true;
	/* Never leave a hook armed for whatever runs next. */
	hook_arm(name, 0);
	return false;
}

void hook_release_vs_destroy(int rounds, void (*setup)(struct mkvm_guest *g))
{
	const char *raced = "flush_found_detached";
	long before = mkvm_stat(MKVM_DEBUGFS "/stats", raced);
	int i;

	for (i = 0; i < rounds; i++) {
		int sv[2], vm, status;
		pid_t pid;
		char c;

		ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
		hook_arm("flush_detached", 300);
		pid = ASSERT_OK(fork());
		if (!pid) {
			struct mkvm_guest g;

			setup(&g);
			ASSERT_OK(mkvm_send_fd(sv[1], g.vm));
			ASSERT_EQ(read(sv[1], &c, 1), 1);
			/* Only the receiver's fd may keep the VM: drop ours. */
			mkvm_guest_close(&g);
			_exit(0);	/* exit_mmap: release */
		}
		vm = ASSERT_OK(mkvm_recv_fd(sv[0]));
		ASSERT_EQ(write(sv[0], "k", 1), 1);
		ASSERT_TRUE(hook_wait("flush_detached", 1, 5000));
		close(vm);		/* destroy: unregister: release again */
		ASSERT_EQ(waitpid(pid, &status, 0), pid);
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(sv[0]);
		close(sv[1]);
		mkvm_assert_no_objects();
		ASSERT_EQ(mkvm_stat(MKVM_DEBUGFS "/stats", raced), before + i + 1);
	}
	hook_arm("flush_detached", 0);
}
