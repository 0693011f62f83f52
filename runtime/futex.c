// SPDX-License-Identifier: MIT
/*
 * Futexes, the runtime lock and notes.  See futex.h.
 *
 * Rejected: pthread mutexes and condition variables for the runtime's
 * own locks and thread parking.  They work, but a note needs only one
 * word and one syscall each way, the lock's fast path is a single CAS,
 * and both use the same futex2 path that the sync primitives use, so a
 * kernel without futex2 exercises one fallback, not three.
 */
#include "futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* futex2 (Linux 6.7); the numbers are the same on every architecture
 * that uses the generic syscall table, x86-64 included.  Debian 12's
 * headers predate them. */
#ifndef __NR_futex_wake
#define __NR_futex_wake 454
#endif
#ifndef __NR_futex_wait
#define __NR_futex_wait 455
#endif
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE FUTEX_PRIVATE_FLAG
#endif
#define RG_FUTEX_BITSET_ANY 0xffffffffu

/* Set at each start, read by every thread, a previous runtime's still
 * stopping among them: one relaxed store of the probe's answer (either
 * call wakes the other's waiters: both are the kernel's private futex
 * on the same word). */
static _Atomic bool use_futex2;
#define FUTEX2() atomic_load_explicit(&use_futex2, memory_order_relaxed)

void rg__futex_setup(void)
{
	const char *env = getenv("RINGO_FUTEX");
	static _Atomic uint32_t probe;
	bool yes = false;

	if (!env || strcmp(env, "legacy") != 0) {
		/* Waking nobody succeeds (0) on a kernel that has futex_wake. */
		long r = syscall(__NR_futex_wake, &probe, RG_FUTEX_BITSET_ANY, 1,
				 FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);
		yes = r >= 0;
	}
	atomic_store_explicit(&use_futex2, yes, memory_order_relaxed);
}

bool rg__futex2(void)
{
	return FUTEX2();
}

static void ns_to_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

int rg__futex_wait(_Atomic uint32_t *addr, uint32_t val, int64_t deadline)
{
	struct timespec ts, *tp = NULL;
	long r;

	if (deadline >= 0) {
		ns_to_ts(deadline, &ts);
		tp = &ts;
	}
	if (FUTEX2())
		r = syscall(__NR_futex_wait, addr, (unsigned long)val,
			    (unsigned long)RG_FUTEX_BITSET_ANY,
			    FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, tp, CLOCK_MONOTONIC);
	else
		/* WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline,
		 * unlike FUTEX_WAIT's relative one. */
		r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET_PRIVATE, val, tp,
			    NULL, RG_FUTEX_BITSET_ANY);
	return r < 0 ? -errno : 0;
}

void rg__futex_wake(_Atomic uint32_t *addr, int n)
{
	if (FUTEX2())
		syscall(__NR_futex_wake, addr, (unsigned long)RG_FUTEX_BITSET_ANY,
			n, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);
	else
		syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* ---- lock ---------------------------------------------------------- */

void rg__lock_slow(rg__lock_t *l)
{
	/* Spin first: runtime critical sections are a few dozen
	 * instructions, so the holder is usually about to release. */
	for (int i = 0; i < 200; i++) {
		uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
		if (!(s & 1) && atomic_compare_exchange_weak_explicit(&l->state, &s, s | 1,
				memory_order_acquire, memory_order_relaxed))
			return;
		rg__cpu_relax();
	}
	/* Count ourselves asleep, then sleep while it stays locked.  An
	 * unlock between our load and the futex_wait changes the word, so
	 * the wait returns at once: no wake-up is lost. */
	uint32_t s = atomic_fetch_add_explicit(&l->state, 2, memory_order_relaxed) + 2;
	for (;;) {
		if (!(s & 1)) {
			/* Take it and leave the sleepers in one step. */
			if (atomic_compare_exchange_weak_explicit(&l->state, &s, (s | 1) - 2,
					memory_order_acquire, memory_order_relaxed))
				return;
			continue;
		}
		rg__futex_wait(&l->state, s, -1);
		s = atomic_load_explicit(&l->state, memory_order_relaxed);
	}
}

void rg__unlock_slow(rg__lock_t *l)
{
	/* Somebody counted themselves asleep (they may not sleep yet). */
	rg__futex_wake(&l->state, 1);
}

/* ---- note ---------------------------------------------------------- */

bool rg__note_sleep(rg__note_t *n, int64_t deadline)
{
	for (;;) {
		if (atomic_exchange_explicit(&n->key, 0, memory_order_acquire) == 1)
			return true;
		if (rg__futex_wait(&n->key, 0, deadline) == -ETIMEDOUT)
			return atomic_exchange_explicit(&n->key, 0,
							memory_order_acquire) == 1;
	}
}

void rg__note_wake(rg__note_t *n)
{
	atomic_store_explicit(&n->key, 1, memory_order_release);
	rg__futex_wake(&n->key, 1);
}
