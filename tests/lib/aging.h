/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Aging through the core mm, so that mkvm's young callbacks are asked the
 * way the kernel asks them, never called directly. See aging.c for which
 * kernel path is used where.
 */
#ifndef MKVM_AGING_H
#define MKVM_AGING_H

#include <stdbool.h>
#include <stddef.h>

enum mkvm_ager {
	MKVM_AGER_NONE,		/* not started */
	MKVM_AGER_PAGEOUT,	/* MADV_PAGEOUT; asks the callbacks on 6.1 only */
	MKVM_AGER_DAMON,	/* a kdamond samples the pages (6.12 on) */
};

/*
 * Start aging [@mem, @mem + @size), which must be populated. With DAMON,
 * aging runs from now until mkvm_ager_stop(); with MADV_PAGEOUT, each
 * mkvm_age() is one round, or, started in the background, a thread
 * repeats it until mkvm_ager_stop().
 */
enum mkvm_ager mkvm_ager_start(void *mem, size_t size);
enum mkvm_ager mkvm_ager_start_background(void *mem, size_t size);
/*
 * One more round of aging, observed through the only VM's age_calls:
 * false if the callbacks were not asked within a few seconds.
 */
bool mkvm_age(void);
/* Neither way reaches the callbacks: SKIP, or fail under MKVM_REQUIRE=1. */
void mkvm_ager_unavailable(enum mkvm_ager ager) __attribute__((noreturn));
void mkvm_ager_stop(void);
const char *mkvm_ager_name(enum mkvm_ager ager);

#endif /* MKVM_AGING_H */
