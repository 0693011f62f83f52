// SPDX-License-Identifier: MIT
/*
 * Shared test helpers for the cmocka suite.
 */
#ifndef RGTEST_H
#define RGTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>

#include <ringo.h>

/* ThreadSanitizer keeps a "thread" per goroutine (its fiber) and dies
 * past 8128 of them: under it, tests cap how many goroutines live at
 * once.  Elsewhere RGT_LIVE(n) is n. */
#if defined(__SANITIZE_THREAD__)
#define RGT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RGT_TSAN 1
#endif
#endif
#ifdef RGT_TSAN
#define RGT_LIVE(n) ((n) > 2000 ? 2000 : (n))
#else
#define RGT_LIVE(n) (n)
#endif

/* How long a test waits for something that must happen (a timer to
 * fire, a goroutine to park, a cancelled call to return) before calling
 * it lost.  Tests must hold on 2 busy cores under AddressSanitizer, so
 * an upper bound on time only tells "never" (or "for some other
 * reason") from "late"; how fast things are is for the benchmarks. */
#define RGT_NEVER_MS 10000

/* Called first in a forked child that runs a server or a workload for
 * the test: the child is killed when the test process dies, so a test
 * that crashes, times out or is interrupted leaves no server behind
 * (orphans skew every later measurement).  The death signal survives
 * exec; the getppid() check closes the race with a parent that died
 * before prctl. */
static inline void rgt_die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
}

/* The outcome of a function run in a child process. */
typedef struct rgt_child {
	int status;       /* raw wait status */
	int exited;       /* WIFEXITED */
	int code;         /* WEXITSTATUS when exited */
	int signaled;     /* WIFSIGNALED */
	int sig;          /* WTERMSIG when signaled */
	int timed_out;    /* stopped after timeout_s (out says so too) */
	char out[65536];  /* stdout and stderr together, NUL-terminated */
} rgt_child_t;

/* Forks, runs fn(arg) in the child with stdout+stderr captured, exits the
 * child with fn's return value, and fills *res.  timeout_s bounds it:
 * then the child gets SIGQUIT (a ringo child dumps its goroutines into
 * out, as Go does), and SIGKILL 3 s later.  Returns 0 or -errno. */
int rgt_run_child(int (*fn)(void *), void *arg, int timeout_s, rgt_child_t *res);

/* Runs fn as the main goroutine (rg_main) and asserts it returned 0. */
void rgt_main(int (*fn)(void *), void *arg);

/* Sets an environment variable for the next rg_main (NULL unsets). */
void rgt_env(const char *name, const char *value);

/* Runs main_fn as the main goroutine (rg_main) of a child process and
 * asserts that it panicked: killed by SIGABRT with `msg` in its output
 * (which is printed when it is not). */
void rgt_expect_panic(int (*main_fn)(void *), const char *msg);

/* True if process pid exists and is a zombie (exited, not reaped). */
bool rgt_zombie(int pid);

/* Monotonic milliseconds, for test bookkeeping. */
int64_t rgt_ms(void);

#endif
