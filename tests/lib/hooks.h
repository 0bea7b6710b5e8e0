/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test build's delay injection points (/sys/kernel/debug/mkvm/hooks/,
 * src/testhooks.h): arm one in a race window, wait until something is
 * parked in it, drive the other side of the race. A release build has
 * none: the test SKIPs there; a test build without one fails.
 */
#ifndef MKVM_HOOKS_H
#define MKVM_HOOKS_H

#include <stdbool.h>

/* Delay @ms for the next @times hits, or every hit (0); 0 ms disarms. */
void hook_arm_times(const char *name, int ms, int times);
void hook_arm(const char *name, int ms);
/* Hits since the hook was last armed. */
long hook_hits(const char *name);
/* Wait up to @ms for @n hits; false on timeout, with the hook disarmed. */
bool hook_wait(const char *name, long n, int ms);

struct mkvm_guest;

/*
 * Seed 000's race, @rounds times: a child process builds a VM with
 * @setup, hands its VM fd over, drops its own fds and exits; its
 * release (exit_mmap) stops in the flush_detached hook after taking the
 * table; this process closes the last fd meanwhile, and destroy's
 * unregister runs release again. Each round must see the second release
 * find the table taken (flush_found_detached), or the window was missed.
 */
void hook_release_vs_destroy(int rounds, void (*setup)(struct mkvm_guest *g));

#endif /* MKVM_HOOKS_H */
