// SPDX-License-Identifier: GPL-2.0
/* The TAP harness behind tap.h. */
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define EXIT_SKIP	4

static struct tap_test *tests, **tests_tail = &tests;

void tap_register(struct tap_test *t)
{
	*tests_tail = t;
	tests_tail = &t->next;
}

void tap_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(1);
}

void tap_skip(const char *fmt, ...)
{
	va_list ap;

	printf("# SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(EXIT_SKIP);
}

static bool selected(const struct tap_test *t, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return true;
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], t->name))
			return true;
	return false;
}

/* Run one test in a child; returns 0 pass, 1 fail, EXIT_SKIP skip. */
static int run_one(const struct tap_test *t)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("# fork: %s\n", strerror(errno));
		return 1;
	}
	if (!pid) {
		setpgid(0, 0);
		/* SIGALRM's default action ends the child: that is the timeout. */
		alarm(t->timeout);
		t->fn();
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0) {
		printf("# waitpid: %s\n", strerror(errno));
		return 1;
	}
	/* Whatever the test left behind in its group goes with it. */
	kill(-pid, SIGKILL);
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGALRM)
			printf("# timeout after %d s\n", t->timeout);
		else
			printf("# killed by signal %d (%s)\n", WTERMSIG(status),
			       strsignal(WTERMSIG(status)));
		return 1;
	}
	if (WEXITSTATUS(status) == EXIT_SKIP)
		return EXIT_SKIP;
	return WEXITSTATUS(status) ? 1 : 0;
}

int tap_main(int argc, char **argv)
{
	int n = 0, pass = 0, fail = 0, skip = 0;
	struct timespec t0, t1;
	struct tap_test *t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (t = tests; t; t = t->next)
		n += selected(t, argc, argv);
	printf("TAP version 13\n1..%d\n", n);
	n = 0;
	for (t = tests; t; t = t->next) {
		int r;

		if (!selected(t, argc, argv))
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = run_one(t);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# %s: %.1f s\n", t->name,
		       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
		n++;
		if (r == EXIT_SKIP) {
			skip++;
			printf("ok %d %s # SKIP\n", n, t->name);
		} else if (r) {
			fail++;
			printf("not ok %d %s\n", n, t->name);
		} else {
			pass++;
			printf("ok %d %s\n", n, t->name);
		}
	}
	printf("# Totals: pass:%d fail:%d skip:%d\n", pass, fail, skip);
	return fail ? 1 : 0;
}
