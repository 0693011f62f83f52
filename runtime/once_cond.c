// SPDX-License-Identifier: MIT
/*
 * once_cond.c — rg_once_t (Go's sync.Once) and rg_cond_t (sync.Cond).
 *
 * Once invariants:
 *   - done goes 0 -> 1 exactly once, after fn returned, with the mutex
 *     held; so fn runs at most once, and a caller that sees done == 1
 *     (acquire) sees everything fn wrote.
 *   - Callers that find done == 0 serialise on the mutex, so they all
 *     wait for the running fn instead of returning early (the mistake of
 *     a bare CAS on done that Go's documentation warns about).
 *
 * Cond: Go's notify list.  Each waiter draws a ticket (wait++) while it
 * still holds the user's mutex, then queues with that ticket; signal
 * wakes ticket `notify` and advances it; broadcast advances notify to
 * wait and wakes everyone queued.  Invariants (under qlock):
 *   - notify only grows (mod 2^32) and never passes wait: tickets below
 *     notify are notified, the others are not yet;
 *   - a queued node's ticket is >= notify; a waiter whose ticket was
 *     notified before it reached the queue does not queue at all.
 * That last rule is what prevents lost wake-ups: between the waiter's
 * rg_mutex_unlock and its queueing, a signal for its ticket may come;
 * the waiter then sees ticket < notify and returns at once.  Waiters are
 * woken in ticket order, i.e. the order in which they called wait.
 *
 * Rejected for Cond: a queue without tickets where signal wakes the
 * head.  A signal that comes between a waiter's unlock and its queueing
 * would find no one (or someone who came later) and be lost.
 */
#include "waitq.h"

/* ---- Once ---------------------------------------------------------- */

static void once_slow(rg_once_t *once, void (*fn)(void *), void *arg)
{
	rg__mutex_lock_as(&once->m, RG_WAIT_ONCE);
	if (!atomic_load_explicit(&once->done, memory_order_relaxed)) {
		if (!fn)
			rg_panic("once: NULL function");  /* Go: nil func call */
		fn(arg);
		/* Release: fn's writes happen before any acquire load that
		 * sees done == 1 (the fast path below). */
		atomic_store_explicit(&once->done, 1, memory_order_release);
	}
	rg_mutex_unlock(&once->m);
}

void rg_once_do(rg_once_t *once, void (*fn)(void *), void *arg)
{
	if (RG_LIKELY(atomic_load_explicit(&once->done, memory_order_acquire)))
		return;
	once_slow(once, fn, arg);
}

/* ---- Cond ---------------------------------------------------------- */

/* a < b on the ticket circle. */
static inline bool ticket_less(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

void rg_cond_wait(rg_cond_t *c, rg_mutex_t *mu)
{
	/* Draw a ticket while still holding mu: a signaller that locks mu
	 * after our unlock is ordered after this increment (relaxed is
	 * enough; mu's release/acquire carries it). */
	uint32_t t = atomic_fetch_add_explicit(&c->wait, 1, memory_order_relaxed);
	rg_mutex_unlock(mu);

	rg__lock_t *ql = rg__qlock(&c->qlock);
	rg__lock(ql);
	if (ticket_less(t, atomic_load_explicit(&c->notify, memory_order_relaxed))) {
		rg__unlock(ql); /* notified before we could queue */
	} else {
		rg__wnode_t n;
		n.ticket = t;
		rg__waitq_push(&c->q, &n);
		rg__waitq_park(ql, &n, RG_WAIT_COND);
	}
	rg_mutex_lock(mu);
}

void rg_cond_signal(rg_cond_t *c)
{
	/* Nobody drew a ticket since the last notification: nothing to do.
	 * A waiter racing with this check has not unlocked mu yet, so it
	 * is not "waiting" in Go's sense either. */
	if (atomic_load_explicit(&c->wait, memory_order_relaxed) ==
	    atomic_load_explicit(&c->notify, memory_order_relaxed))
		return;

	rg__lock_t *ql = rg__qlock(&c->qlock);
	rg__lock(ql);
	uint32_t t = atomic_load_explicit(&c->notify, memory_order_relaxed);
	if (t == atomic_load_explicit(&c->wait, memory_order_relaxed)) {
		rg__unlock(ql);
		return;
	}
	atomic_store_explicit(&c->notify, t + 1, memory_order_relaxed);
	/* Ticket t is usually at the head; it may also not have queued
	 * yet, in which case it will see t < notify and not queue. */
	rg__wnode_t *n;
	for (n = rg__waitq_first(&c->q); n; n = rg__wnode_next(n))
		if (n->ticket == t)
			break;
	if (n)
		rg__waitq_remove(&c->q, n);
	rg__unlock(ql);
	if (n)
		rg__waitq_wake(n);
}

void rg_cond_broadcast(rg_cond_t *c)
{
	if (atomic_load_explicit(&c->wait, memory_order_relaxed) ==
	    atomic_load_explicit(&c->notify, memory_order_relaxed))
		return;

	rg__lock_t *ql = rg__qlock(&c->qlock);
	rg__lock(ql);
	atomic_store_explicit(&c->notify,
			      atomic_load_explicit(&c->wait, memory_order_relaxed),
			      memory_order_relaxed);
	rg__waitq_t list = rg__waitq_take_all(&c->q);
	rg__unlock(ql);
	rg__wake_list(&list);
}
