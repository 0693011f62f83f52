// SPDX-License-Identifier: MIT
/*
 * Checks that run inside goroutines.
 *
 * cmocka's assertions longjmp back to the test runner, which lives on
 * another thread's stack: from a goroutine that would be undefined
 * behaviour.  So code running on goroutines records the first failed
 * check here and returns; the test asserts on it once rg_main returned
 * (rgc_main).  Header-only: each test binary gets its own copy.
 */
#ifndef RGCHECK_H
#define RGCHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "helpers/rgtest.h"

static _Atomic int rgc_failed;
static char rgc_msg[512];

static inline void rgc_fail(const char *file, int line, const char *what)
{
	int zero = 0;
	if (atomic_compare_exchange_strong(&rgc_failed, &zero, 1))
		snprintf(rgc_msg, sizeof(rgc_msg), "%s:%d: check failed: %s", file, line, what);
}

/* In a function returning int (a main goroutine): record and return 1. */
#define CHECK(c)                                                  \
	do {                                                      \
		if (!(c)) {                                       \
			rgc_fail(__FILE__, __LINE__, #c);         \
			return 1;                                 \
		}                                                 \
	} while (0)

/* As CHECK, with the two values printed (integers). */
#define CHECK_CMP(a, op, b)                                                     \
	do {                                                                    \
		long long rgc_a = (long long)(a), rgc_b = (long long)(b);       \
		if (!(rgc_a op rgc_b)) {                                        \
			char rgc_w[256];                                        \
			snprintf(rgc_w, sizeof(rgc_w), "%s %s %s (%lld vs %lld)", \
				 #a, #op, #b, rgc_a, rgc_b);                    \
			rgc_fail(__FILE__, __LINE__, rgc_w);                    \
			return 1;                                               \
		}                                                               \
	} while (0)

/* Anywhere (void goroutines, foreign threads): record, carry on. */
#define GCHECK(c)                                                 \
	do {                                                      \
		if (!(c))                                         \
			rgc_fail(__FILE__, __LINE__, #c);         \
	} while (0)

/* Runs fn as the main goroutine; fails the test with the first recorded
 * check, or if fn's result is not 0. */
static inline void rgc_main(int (*fn)(void *), void *arg)
{
	atomic_store(&rgc_failed, 0);
	rgc_msg[0] = 0;
	int rc = rg_main(fn, arg);
	if (atomic_load(&rgc_failed))
		fail_msg("%s", rgc_msg);
	assert_int_equal(rc, 0);
}

/* Fails the test if a check failed outside rgc_main (embedding tests). */
static inline void rgc_assert_clean(void)
{
	if (atomic_load(&rgc_failed))
		fail_msg("%s", rgc_msg);
}

/* Polls *v with rg_sleep(1 ms) (a thread sleep on a foreign thread) until
 * it reaches at least target; false after timeout_ms. */
static inline bool rgc_wait_ge(_Atomic long *v, long target, int timeout_ms)
{
	int64_t deadline = rg_now() + (int64_t)timeout_ms * RG_MILLISECOND;
	while (atomic_load(v) < target) {
		if (rg_now() > deadline)
			return false;
		rg_sleep(RG_MILLISECOND);
	}
	return true;
}

#endif
