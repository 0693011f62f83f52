// SPDX-License-Identifier: MIT
/*
 * waitgroup.c — rg_waitgroup_t, Go's sync.WaitGroup.
 *
 * State word: counter (signed 32 bits) in the high half, the number of
 * queued waiters in the low half's 31 low bits, so that "counter hit
 * zero" and "who waits" are read together; the low half's top bit is
 * RELEASING (below).
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
 *   - RELEASING is set only with counter 0 and waiters 0, by the
 *     locked zero transition, and nobody but that releaser changes the
 *     word until it clears it.
 *
 * Reuse: the queue is emptied at the zero transition, so a new round
 * (Add, then Wait) may start as soon as the counter is zero, even while
 * the released waiters are still on their way out; a waiter that comes
 * in a later round queues anew and is not woken by the earlier zero.
 *
 * Free after Wait (Go's wg.Wait() and then forgetting wg; in C, free):
 * once any Wait has returned, no Done may touch the WaitGroup again.
 * The lock-free Done that reaches zero touches nothing after its CAS.
 * The locked one still detaches the queue and releases qlock after its
 * CAS, so that CAS stores RELEASING (counter 0, no waiters) rather than
 * 0, and the Done's last access is the store of 0 after the unlock.
 * Wait, Add and the locked path all wait (yielding the thread: the
 * window is a few instructions, and the releasing goroutine cannot be
 * descheduled by us, only by the kernel) while RELEASING is set, so the
 * WaitGroup does not change under the releaser and a Wait that returns
 * has seen its store.  The zeroing CAS is acquire-release: it takes the
 * other Dones' releases (their CASes are in the release sequence it
 * reads), and the wake-up, or the final store, hands them to waiters.
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

#include <sched.h>

#define WG_COUNT_SHIFT 32

/* In the waiter half: the locked zero transition is finishing (above). */
#define WG_RELEASING ((uint64_t)1 << 31)
#define WG_WAITERS_MAX ((uint32_t)WG_RELEASING - 1)

static inline int64_t wg_count(uint64_t s)
{
	return (int32_t)(uint32_t)(s >> WG_COUNT_SHIFT);
}

static inline uint32_t wg_waiters(uint64_t s)
{
	return (uint32_t)(s & ~WG_RELEASING);
}

/* Waits until no zero transition is finishing; returns the state then
 * (acquire: the releaser's work happens before what the caller does). */
static uint64_t wg_settle(rg_waitgroup_t *wg)
{
	uint64_t s;
	while ((s = atomic_load_explicit(&wg->state, memory_order_acquire)) & WG_RELEASING)
		sched_yield();
	return s;
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
 * done under qlock, so that it detaches exactly the queued waiters.
 * false: a release was finishing; the caller retries. */
static bool wg_add_locked(rg_waitgroup_t *wg, int n)
{
	rg__lock_t *ql = rg__qlock(&wg->qlock);
	uint64_t old, new;
	int64_t c;

	rg__lock(ql);
	old = atomic_load_explicit(&wg->state, memory_order_relaxed);
	do {
		if (old & WG_RELEASING) {
			rg__unlock(ql);
			wg_settle(wg);
			return false;
		}
		c = wg_count(old) + n;
		if (c < 0) {
			rg__unlock(ql);
			rg_panic("sync: negative WaitGroup counter");
		}
		new = c == 0 ? WG_RELEASING : wg_state(c, wg_waiters(old));
		/* Release: the work before this Done happens before the
		 * waiters (woken below) and Wait's acquire fast path;
		 * acquire: so do the other Dones' (see the file comment). */
	} while (!atomic_compare_exchange_weak_explicit(&wg->state, &old, new,
			memory_order_acq_rel, memory_order_relaxed));
	if (c != 0) {
		rg__unlock(ql);
		return true;
	}
	rg__waitq_t list = rg__waitq_take_all(&wg->q);
	rg__unlock(ql);
	/* The last touch of wg: a Wait may return and free it from here. */
	atomic_store_explicit(&wg->state, 0, memory_order_release);
	rg__wake_list(&list);
	return true;
}

void rg_wg_add(rg_waitgroup_t *wg, int n)
{
	uint64_t old = atomic_load_explicit(&wg->state, memory_order_relaxed);
	for (;;) {
		if (old & WG_RELEASING) {
			old = wg_settle(wg);
			continue;
		}
		int64_t c = wg_new_count(old, n);
		if (c == 0 && wg_waiters(old) != 0) {
			if (wg_add_locked(wg, n))
				return;
			old = atomic_load_explicit(&wg->state, memory_order_relaxed);
			continue;
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
	if (s == 0)
		return;
	if (wg_count(s) == 0) {
		wg_settle(wg);  /* RELEASING: until the releaser is done */
		return;
	}

	rg__lock_t *ql = rg__qlock(&wg->qlock);
	rg__lock(ql);
	s = atomic_load_explicit(&wg->state, memory_order_acquire);
	for (;;) {
		if (wg_count(s) == 0) {
			rg__unlock(ql);
			if (s & WG_RELEASING)
				wg_settle(wg);
			return;
		}
		if (wg_waiters(s) == WG_WAITERS_MAX)
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
	 * release (and, through its acquire, every Done's) before our
	 * return.  That Add reads nothing of wg after waking us. */
}

int64_t rg__wg_count(rg_waitgroup_t *wg)
{
	return wg_count(atomic_load_explicit(&wg->state, memory_order_relaxed));
}
