// SPDX-License-Identifier: MIT
/*
 * sema.c — parking on a wait queue, and the counting semaphore that the
 * RWMutex is built on (Go's runtime_Semacquire / runtime_Semrelease).
 *
 * Semaphore invariants (s->q under s->qlock):
 *   - s->count is the number of tokens released and not yet taken;
 *   - the queue is non-empty only while count is 0: a release finding a
 *     waiter hands its token straight to it instead of counting it, and
 *     an acquire queues only after seeing count == 0 with the lock held.
 * So a token is never both counted and owed to a waiter, and waiters
 * are served in FIFO order.
 *
 * Rejected: Go's scheme of counting first and letting the woken waiter
 * race newcomers for the token (semrelease without handoff).  Go needs
 * it because its semaphores are shared address-keyed tables; here a
 * release already holds the queue lock, so the direct handoff is free
 * and removes a retry loop.  The RWMutex protocol releases exactly as
 * many tokens as there are (present or imminent) waiters, so barging
 * would buy nothing there.
 */
#include "waitq.h"

static bool unlock_queue(rg_g *g, void *arg)
{
	(void)g;
	rg__unlock(arg);
	return true; /* stay parked: the waker will come */
}

void rg__waitq_park(rg__lock_t *l, rg__wnode_t *n, rg_wait_reason_t reason)
{
	rg__waiter_init(&n->w);
	rg__waiter_wait(&n->w, unlock_queue, l, reason);
}

void rg__sema_acquire(rg__sema_t *s, rg_wait_reason_t reason)
{
	uint32_t c = atomic_load_explicit(&s->count, memory_order_relaxed);

	/* Fast path: take a counted token.  Acquire: what the releaser did
	 * before its release (a reader's critical section, a writer's)
	 * happens before what we do next. */
	while (c > 0)
		if (atomic_compare_exchange_weak_explicit(&s->count, &c, c - 1,
				memory_order_acquire, memory_order_relaxed))
			return;

	rg__lock_t *l = rg__qlock(&s->qlock);
	rg__lock(l);
	c = atomic_load_explicit(&s->count, memory_order_relaxed);
	while (c > 0) {
		if (atomic_compare_exchange_weak_explicit(&s->count, &c, c - 1,
				memory_order_acquire, memory_order_relaxed)) {
			rg__unlock(l);
			return;
		}
	}
	rg__wnode_t n;
	rg__waitq_push(&s->q, &n);
	rg__waitq_park(l, &n, reason);
	/* The releaser handed us its token; its lock release and the wake
	 * order its earlier writes before our return. */
}

void rg__sema_release(rg__sema_t *s)
{
	rg__lock_t *l = rg__qlock(&s->qlock);
	rg__lock(l);
	rg__wnode_t *n = rg__waitq_pop(&s->q);
	if (!n)
		/* Release: pairs with the acquire CAS that takes the token. */
		atomic_fetch_add_explicit(&s->count, 1, memory_order_release);
	rg__unlock(l);
	if (n)
		rg__waitq_wake(n);
}
