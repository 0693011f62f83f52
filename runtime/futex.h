// SPDX-License-Identifier: MIT
/*
 * Futexes, the runtime's own lock and one-shot notes.
 *
 * Threads park on futexes through the futex2 syscalls (futex_wait and
 * futex_wake, Linux >= 6.7) when the kernel has them, else through the
 * classic futex(2) multiplexer.  The choice is probed once at start;
 * RINGO_FUTEX=legacy forces the fallback (tests run both).
 */
#ifndef RG_FUTEX_H
#define RG_FUTEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* A hint to the CPU that we spin-wait. */
static inline void rg__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Probes futex2 (honouring RINGO_FUTEX); call before any wait. */
void rg__futex_setup(void);

/* True when futex2 syscalls are in use. */
bool rg__futex2(void);

/* Sleeps while *addr == val, until woken or until the monotonic deadline
 * (ns; < 0: none).  Returns 0, -EAGAIN (value differed), -ETIMEDOUT or
 * -EINTR.  Spurious returns happen: callers loop on their condition. */
int rg__futex_wait(_Atomic uint32_t *addr, uint32_t val, int64_t deadline);

/* Wakes up to n threads sleeping on addr. */
void rg__futex_wake(_Atomic uint32_t *addr, int n);

/*
 * rg__lock_t: a small futex mutex for the runtime's short critical
 * sections.  It blocks the thread, not the goroutine: never hold one
 * across a park.  Zero value unlocked.
 *
 * The word holds the lock bit (bit 0) and the number of threads asleep
 * on it (bits 1..31).  Unlock wakes a sleeper only when there is one.
 * Rejected: Drepper's three states (0/1/2), where a thread that ever
 * slept re-takes the lock as "2" and every later unlock pays a futex_wake
 * syscall even with nobody asleep: on a contended channel lock between
 * two Ps that was a syscall per operation.
 */
typedef struct rg__lock {
	_Atomic uint32_t state; /* bit 0: locked; bits 1..: sleepers x 2 */
} rg__lock_t;

void rg__lock_slow(rg__lock_t *l);
void rg__unlock_slow(rg__lock_t *l);

static inline void rg__lock(rg__lock_t *l)
{
	uint32_t zero = 0;
	if (!atomic_compare_exchange_strong_explicit(&l->state, &zero, 1,
			memory_order_acquire, memory_order_relaxed))
		rg__lock_slow(l);
}

static inline bool rg__trylock(rg__lock_t *l)
{
	uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
	return !(s & 1) && atomic_compare_exchange_strong_explicit(&l->state, &s, s | 1,
			memory_order_acquire, memory_order_relaxed);
}

static inline void rg__unlock(rg__lock_t *l)
{
	/* Release: the critical section happens before the next owner's. */
	if (atomic_fetch_sub_explicit(&l->state, 1, memory_order_release) != 1)
		rg__unlock_slow(l);
}

/*
 * rg__note_t: a one-shot wake-up for one sleeping thread (Go's note).
 * rg__note_sleep returns once rg__note_wake was called (before or during
 * the sleep) or the deadline passed; it consumes the wake-up.
 */
typedef struct rg__note {
	_Atomic uint32_t key; /* 0 no wake-up pending, 1 woken */
} rg__note_t;

/* Returns true if woken, false on timeout.  deadline < 0: none. */
bool rg__note_sleep(rg__note_t *n, int64_t deadline);
void rg__note_wake(rg__note_t *n);

#endif
