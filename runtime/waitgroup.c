// SPDX-License-Identifier: MIT
/*
 * waitgroup.c — rg_waitgroup_t, Go's sync.WaitGroup.
 *
 * State word: counter (signed 32 bits) in the high half, the number of
 * queued waiters in the low half, so that "counter hit zero" and "who
 * waits" are read together.
 *
 * Invariants:
 *   - waiters changes only under wg->qlock: a waiter counts itself and
 *     queues in one critical section; the transition of the counter to
 *     zero while waiters > 0 also happens under qlock, and it detaches
 *     the whole queue and zeroes waiters in the same step.  Hence with
 *     qlock held, waiters == queue length.
 *   - counter == 0 implies waiters == 0 (outside qlock): waiters only
 *     join while counter != 0, and leave exactly when it reaches 0.
 *   - The counter never goes negative: rg_wg_add checks before it
 *     changes anything, then panics.
 *
 * Reuse: the queue is emptied at the zero transition, so a new round
 * (Add, then Wait) may start as soon as the counter is zero, even while
 * the released waiters are still on their way out; a waiter that comes
 * in a later round queues anew and is not woken by the earlier zero.
 *
 * Rejected: Go's scheme (the zero-reaching Add stores 0 and releases a
 * semaphore once per waiter, and concurrent reuse is detected as
 * misuse).  Go needs the semaphore because its waiters count themselves
 * before they queue; registering under the queue lock lets the zeroing
 * Add wake precisely the waiters of its round, so the "reused before
 * previous Wait has returned" race cannot happen here.  The lock-free
 * fast paths (Add that does not release waiters, Wait on zero) are
 * unchanged.
 */
#include "waitq.h"

#define WG_COUNT_SHIFT 32

static inline int64_t wg_count(uint64_t s)
{
	return (int32_t)(uint32_t)(s >> WG_COUNT_SHIFT);
}

static inline uint32_t wg_waiters(uint64_t s)
{
	return (uint32_t)s;
}

static inline uint64_t wg_state(int64_t count, uint32_t waiters)
{
	return ((uint64_t)(uint32_t)count << WG_COUNT_SHIFT) | waiters;
}

static int64_t wg_new_count(uint64_t s, int n)
{
	int64_t c = wg_count(s) + n;
	if (c < 0)
		rg_panic("sync: negative WaitGroup counter");
	if (c > INT32_MAX)
		rg_panic("sync: WaitGroup counter overflow");
	return c;
}

/* The Add that may bring the counter to zero while waiters are queued:
 * done under qlock, so that it detaches exactly the queued waiters. */
static void wg_add_locked(rg_waitgroup_t *wg, int n)
{
	rg__lock_t *ql = rg__qlock(&wg->qlock);
	uint64_t old, new;
	int64_t c;

	rg__lock(ql);
	old = atomic_load_explicit(&wg->state, memory_order_relaxed);
	do {
		c = wg_count(old) + n;
		if (c < 0) {
			rg__unlock(ql);
			rg_panic("sync: negative WaitGroup counter");
		}
		new = c == 0 ? 0 : wg_state(c, wg_waiters(old));
		/* Release: the work before this Done happens before the
		 * waiters (woken below) and Wait's acquire fast path. */
	} while (!atomic_compare_exchange_weak_explicit(&wg->state, &old, new,
			memory_order_release, memory_order_relaxed));
	rg__waitq_t list = {0};
	if (c == 0)
		list = rg__waitq_take_all(&wg->q);
	rg__unlock(ql);
	rg__wake_list(&list);
}

void rg_wg_add(rg_waitgroup_t *wg, int n)
{
	uint64_t old = atomic_load_explicit(&wg->state, memory_order_relaxed);
	for (;;) {
		int64_t c = wg_new_count(old, n);
		if (c == 0 && wg_waiters(old) != 0) {
			wg_add_locked(wg, n);
			return;
		}
		/* Release, as in wg_add_locked: a Done publishes the
		 * goroutine's work to whoever sees the counter at zero. */
		if (atomic_compare_exchange_weak_explicit(&wg->state, &old,
				wg_state(c, wg_waiters(old)),
				memory_order_release, memory_order_relaxed))
			return;
	}
}

void rg_wg_done(rg_waitgroup_t *wg)
{
	rg_wg_add(wg, -1);
}

void rg_wg_wait(rg_waitgroup_t *wg)
{
	/* Acquire: pairs with the Dones' release; every Done is an RMW in
	 * the release sequence that ends in the zero we read. */
	uint64_t s = atomic_load_explicit(&wg->state, memory_order_acquire);
	if (wg_count(s) == 0)
		return;

	rg__lock_t *ql = rg__qlock(&wg->qlock);
	rg__lock(ql);
	s = atomic_load_explicit(&wg->state, memory_order_acquire);
	for (;;) {
		if (wg_count(s) == 0) {
			rg__unlock(ql);
			return;
		}
		if (wg_waiters(s) == UINT32_MAX)
			rg__throw("sync: too many WaitGroup waiters");
		/* Acquire on failure too: we may return on what we read. */
		if (atomic_compare_exchange_weak_explicit(&wg->state, &s, s + 1,
				memory_order_acquire, memory_order_acquire))
			break;
	}
	rg__wnode_t n;
	rg__waitq_push(&wg->q, &n);
	rg__waitq_park(ql, &n, RG_WAIT_WAITGROUP);
	/* Woken by the Add that zeroed the counter; the wake-up orders its
	 * release before our return. */
}
