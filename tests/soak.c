// SPDX-License-Identifier: GPL-2.0
/*
 * Soak: many module load / use / unload cycles through libkmod, and a
 * timed run of several processes creating and destroying VMs, passing VM
 * and vCPU fds to each other with SCM_RIGHTS, the creators exiting before
 * the last holders close. The oracles are the harness's: no splat, no
 * object left once everything is closed, and (debug lane) kmemleak.
 *
 * MKVM_SOAK_CYCLES (default 5: kmod.c already cycles 25 times on every
 * lane) sets the cycles and MKVM_SOAK_SECONDS (default 15) the
 * multi-process run's length: the DKMS lane, whose release build loads
 * fastest (no in-module self-tests), runs 1,000 cycles and 30 s. Expects
 * mkvm loaded on entry and leaves it loaded.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mkvm_util.h"
#include "lib/tap.h"

#define GPA		MKVM_TEST_GPA
#define NPAGES		8
#define NPROCS		4

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : def;
}

/* A small xorshift: each process its own, seeded from its pid. */
static unsigned int rnd(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Unreclaimable kernel memory, in KiB: slab (kmalloc) and per-cpu (SRCU's
 * per-VM data), where anything the module allocated and never freed stays
 * after its unload.
 */
static long kernel_kib_kept(void)
{
	static const char * const keys[] = { "SUnreclaim:", "Percpu:" };
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long sum = 0, v;
	unsigned int k;

	ASSERT_TRUE(f);
	while (fgets(line, sizeof(line), f))
		for (k = 0; k < 2; k++)
			if (!strncmp(line, keys[k], strlen(keys[k])) &&
			    sscanf(line + strlen(keys[k]), "%ld", &v) == 1)
				sum += v;
	fclose(f);
	return sum;
}

/* Cycles from which the kept memory is judged: fewer say little. */
#define SOAK_JUDGED_CYCLES	200
/* What they may keep, per cycle: a VM and its vCPU, slot and root are more. */
#define SOAK_KIB_PER_CYCLE	1

/*
 * Load, create a VM with a vCPU and a slot, run it, close, unload. Besides
 * the per-cycle object count, a long run must keep no more unreclaimable
 * kernel memory than noise: kmemleak is on the debug lane only, and the
 * 1,000 cycles run on the DKMS lane.
 */
TEST_T(module_load_use_unload_cycles, 1800)
{
	long cycles = env_long("MKVM_SOAK_CYCLES", 5), i, kept = 0;
	char *mem = mkvm_map_anon(NPAGES * PAGE_SIZE);
	long warm = cycles / 10 ?: 1;
	double start = mkvm_now();

	if (!mkvm_module_loaded())
		ASSERT_EQ(mkvm_module_load(NULL), 0);
	ASSERT_EQ(mkvm_module_unload(), 0);
	for (i = 0; i < cycles; i++) {
		struct mkvm_guest g;

		if (mkvm_module_load(NULL))
			tap_fail(__FILE__, __LINE__, "load %ld of %ld failed", i + 1, cycles);
		mem[PAGE_SIZE] = (char)i;
		mkvm_guest_init(&g, mem, NPAGES * PAGE_SIZE, 0);
		ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + PAGE_SIZE, 1), (uint8_t)i);
		mkvm_guest_write(&g.vcpu, GPA + 2 * PAGE_SIZE, 1, (uint8_t)i);
		ASSERT_EQ(mem[2 * PAGE_SIZE], (char)i);
		mkvm_guest_close(&g);
		mkvm_assert_no_objects();
		if (mkvm_module_unload())
			tap_fail(__FILE__, __LINE__, "unload %ld of %ld failed", i + 1, cycles);
		/* Caches warm: the baseline. */
		if (i + 1 == warm)
			kept = kernel_kib_kept();
	}
	kept = kernel_kib_kept() - kept;
	ASSERT_EQ(mkvm_module_load(NULL), 0);
	printf("# %ld load / use / unload cycles in %.1f s; unreclaimable kernel memory "
	       "(slab + per-cpu) over the last %ld: %+ld KiB\n",
	       cycles, mkvm_now() - start, cycles - warm, kept);
	if (cycles >= SOAK_JUDGED_CYCLES && kept > (cycles - warm) * SOAK_KIB_PER_CYCLE)
		tap_fail(__FILE__, __LINE__, "%ld cycles kept %ld KiB: a leak of about %ld bytes per cycle",
			 cycles - warm, kept, kept * 1024 / (cycles - warm));
}

struct soak_counts {
	long vms, passed, received, eio, creators_exited;
};

/* A VM with a vCPU and a slot over fresh memory, used once. */
static int soak_vm(int *vcpu_fd, unsigned int *seed)
{
	struct mkvm_guest g;
	unsigned int i, n = 1 + rnd(seed) % NPAGES;

	mkvm_guest_init(&g, NULL, NPAGES * PAGE_SIZE, 0);
	for (i = 0; i < n; i++)
		mkvm_guest_write(&g.vcpu, GPA + i * PAGE_SIZE, 8, i);
	for (i = 0; i < n; i++)
		ASSERT_EQ(mkvm_guest_read(&g.vcpu, GPA + i * PAGE_SIZE, 8), i);
	ASSERT_OK(munmap(g.vcpu.run, PAGE_SIZE));
	*vcpu_fd = g.vcpu.fd;
	return g.vm;
}

/*
 * A fd from another process: its VM is not this process's, so every VM
 * and vCPU ioctl is EIO, checked before the ioctl number (docs/api.md),
 * and it lives on until closed here, perhaps after its creator exited.
 */
static void soak_foreign(int fd, struct soak_counts *n)
{
	errno = 0;
	if (ioctl(fd, MKVM_INVALIDATE_ROOTS, 0) != -1 || errno != EIO)
		tap_fail(__FILE__, __LINE__, "a passed fd did not answer EIO: %s",
			 strerror(errno));
	n->eio++;
}

/*
 * One soak process, until @deadline: create VMs; pass some of their fds to
 * the next process (through @out), or to a child that creates and passes
 * its own and exits at once (a creator exiting first); take what the
 * previous process passed (through @in) and keep it a while.
 */
static void soak_proc(int in, int out, double deadline, struct soak_counts *n)
{
	unsigned int seed = 0x9e3779b9u * (getpid() + 1);
	int held[16], nheld = 0, i, fd;

	while (mkvm_now() < deadline) {
		int vcpu, vm;

		switch (rnd(&seed) % 4) {
		case 0:	/* make and drop */
			vm = soak_vm(&vcpu, &seed);
			close(vcpu);
			close(vm);
			n->vms++;
			break;
		case 1:	/* make and pass both fds on */
			vm = soak_vm(&vcpu, &seed);
			n->vms++;
			if (!mkvm_send_fd(out, vm) && !mkvm_send_fd(out, vcpu))
				n->passed += 2;
			close(vcpu);
			close(vm);
			break;
		case 2: {	/* a child creates, passes, exits first */
			pid_t pid = fork();

			int status;

			if (pid == 0) {
				vm = soak_vm(&vcpu, &seed);
				/* A full socket is no error: 2 says "not passed". */
				_exit(mkvm_send_fd(out, vm) || mkvm_send_fd(out, vcpu) ? 2 : 0);
			}
			ASSERT_TRUE(pid > 0);
			ASSERT_EQ(waitpid(pid, &status, 0), pid);
			if (!WIFEXITED(status) || (WEXITSTATUS(status) && WEXITSTATUS(status) != 2))
				tap_fail(__FILE__, __LINE__, "creator child failed (status %#x)",
					 status);
			n->creators_exited++;
			if (!WEXITSTATUS(status))
				n->passed += 2;
			break;
		}
		default:	/* take what came in; drop what is old */
			while ((fd = mkvm_recv_fd(in)) >= 0) {
				n->received++;
				soak_foreign(fd, n);
				if (nheld < 16)
					held[nheld++] = fd;
				else
					close(fd);
			}
			if (nheld && rnd(&seed) % 2) {
				i = rnd(&seed) % nheld;
				close(held[i]);
				held[i] = held[--nheld];
			}
			break;
		}
	}
	/* Drain: nothing may stay in a socket once the run ends. */
	while ((fd = mkvm_recv_fd(in)) >= 0) {
		n->received++;
		close(fd);
	}
	for (i = 0; i < nheld; i++)
		close(held[i]);
}

TEST_T(multi_process_vms_with_fd_passing, 600)
{
	double secs = env_long("MKVM_SOAK_SECONDS", 15), deadline;
	struct soak_counts *counts;
	int socks[NPROCS][2], i;
	struct soak_counts total = { 0 };
	pid_t pids[NPROCS];

	counts = mmap(NULL, sizeof(*counts) * NPROCS, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(counts != MAP_FAILED);
	memset(counts, 0, sizeof(*counts) * NPROCS);
	/* Process i reads socks[i][0]; process i - 1 writes socks[i][1]. */
	for (i = 0; i < NPROCS; i++)
		ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, socks[i]));
	deadline = mkvm_now() + secs;
	for (i = 0; i < NPROCS; i++) {
		pids[i] = fork();
		ASSERT_TRUE(pids[i] >= 0);
		if (!pids[i]) {
			soak_proc(socks[i][0], socks[(i + 1) % NPROCS][1],
				  deadline, &counts[i]);
			_exit(0);
		}
	}
	for (i = 0; i < NPROCS; i++) {
		int status;

		ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			tap_fail(__FILE__, __LINE__, "soak process %d failed (status %#x)",
				 i, status);
	}
	/* Fds still in flight are closed with the sockets. */
	for (i = 0; i < NPROCS; i++) {
		close(socks[i][0]);
		close(socks[i][1]);
		total.vms += counts[i].vms;
		total.passed += counts[i].passed;
		total.received += counts[i].received;
		total.eio += counts[i].eio;
		total.creators_exited += counts[i].creators_exited;
	}
	mkvm_assert_no_objects();
	printf("# %.0f s, %d processes: %ld VMs made and used, %ld fds passed, %ld received "
	       "(each EIO for the receiver), %ld creators exited first\n",
	       secs, NPROCS, total.vms + total.creators_exited, total.passed,
	       total.received, total.creators_exited);
	/* The run did what it is for: every kind of step, more than once. */
	ASSERT_TRUE(total.vms > NPROCS && total.received > NPROCS &&
		    total.creators_exited > NPROCS);
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
