// SPDX-License-Identifier: MIT
/*
 * waitq.h — the wait queues under the sync primitives (mutex.c,
 * rwmutex.c, waitgroup.c, once_cond.c, sema.c).
 *
 * A wait queue is a FIFO of rg__wnode_t records (the runtime's list,
 * list.h), each on the stack of the goroutine or foreign thread that
 * waits, guarded by a futex lock word (rg__lock_t) that lives beside the
 * queue in the public struct.  The protocol every primitive follows (WebKit's ParkingLot
 * idea, one queue per object):
 *
 *   waiter: take the queue lock; re-check, with the lock held, that it
 *           must wait (and record itself in the object's state word if
 *           the primitive counts waiters); queue its node; park.  The
 *           queue lock is released by rg__waiter_wait's unlockf, i.e.
 *           only once the goroutine is off its stack (a foreign thread:
 *           just before it sleeps).
 *   waker:  take the queue lock; dequeue; release the lock; wake.
 *
 * Invariant: a node is in a queue only while its owner waits; it is
 * removed by the waker under the queue lock before rg__waiter_wake, and
 * the waker reads nothing from it after that call (the owner may return
 * and its stack frame die at once).
 *
 * Because waiters register under the queue lock, a waker holding that
 * lock sees the queue and the state word agree; no primitive needs Go's
 * semaphore tokens for a wake-up that overtakes its waiter, except the
 * counting semaphore itself (rg__sema_t, whose count is those tokens).
 *
 * Rejected: one global hash table of queues keyed by address (Go's
 * semaTable, ParkingLot).  It keeps each object at one word, but every
 * slow path then shares a few bucket locks with unrelated objects and
 * walks a tree; ringo's objects are already several words for the C
 * ABI's sake, so per-object queues cost nothing and never collide.
 */
#ifndef RG_WAITQ_H
#define RG_WAITQ_H

#include "list.h"
#include "rt.h"

/* One waiting goroutine or thread.  Lives on the waiter's stack. */
typedef struct rg__wnode {
	rg__link_t link;                /* queue links (queue lock); first,
					   so that the entry costs nothing */
	rg_waiter_t w;                  /* the wait itself (rt.h) */
	uint32_t ticket;                /* Cond: the notify ticket awaited */
} rg__wnode_t;

/* The node of a queue link (NULL for NULL). */
static inline rg__wnode_t *rg__wnode_of(rg__link_t *l)
{
	return RG__LIST_ENTRY(l, rg__wnode_t, link);
}

/* The rg__lock_t view of a queue-lock word of a public struct. */
_Static_assert(sizeof(rg__lock_t) == sizeof(uint32_t), "rg__lock_t is one word");
_Static_assert(_Alignof(rg__lock_t) == _Alignof(_Atomic uint32_t), "lock word alignment");

static inline rg__lock_t *rg__qlock(_Atomic uint32_t *word)
{
	return (rg__lock_t *)(void *)word;
}

static inline bool rg__waitq_empty(const rg__waitq_t *q)
{
	return rg__list_empty(q);
}

/* The first node, NULL if none; the one after n, NULL at the end
 * (queue lock held). */
static inline rg__wnode_t *rg__waitq_first(const rg__waitq_t *q)
{
	return rg__wnode_of(rg__list_first(q));
}

static inline rg__wnode_t *rg__wnode_next(const rg__wnode_t *n)
{
	return rg__wnode_of(n->link.next);
}

/* Appends n (queue lock held). */
static inline void rg__waitq_push(rg__waitq_t *q, rg__wnode_t *n)
{
	rg__list_push_back(q, &n->link);
}

/* Puts n first (queue lock held): a woken mutex waiter that lost the
 * race to a newcomer keeps its place at the front. */
static inline void rg__waitq_push_front(rg__waitq_t *q, rg__wnode_t *n)
{
	rg__list_push_front(q, &n->link);
}

/* Unlinks n, which must be in q (queue lock held). */
static inline void rg__waitq_remove(rg__waitq_t *q, rg__wnode_t *n)
{
	rg__list_remove(q, &n->link);
}

/* Removes and returns the first node, NULL if empty (queue lock held). */
static inline rg__wnode_t *rg__waitq_pop(rg__waitq_t *q)
{
	return rg__wnode_of(rg__list_pop_front(q));
}

/* Moves the whole queue out (queue lock held) into a list the caller
 * owns; the caller wakes it with rg__wake_list after releasing the
 * lock. */
static inline rg__waitq_t rg__waitq_take_all(rg__waitq_t *q)
{
	return rg__list_take_all(q);
}

/*
 * Parks the caller on n, which the caller has just queued with the
 * queue lock l held.  l is released once the caller is off its stack
 * (goroutine) or about to sleep (foreign thread); returns after a waker
 * dequeued n and woke it.  Any thread (not g0).
 */
void rg__waitq_park(rg__lock_t *l, rg__wnode_t *n, rg_wait_reason_t reason) RG_HIDDEN;

/* Wakes n, already dequeued.  n may be gone when this returns. */
static inline void rg__waitq_wake(rg__wnode_t *n)
{
	rg__waiter_wake(&n->w);
}

/* ---- waits a context can cut short (weighted.c) --------------------- */

#include "ctx_cb.h"

enum rg__cwait_state {
	RG_CWAIT_INIT = 0,   /* not queued yet */
	RG_CWAIT_QUEUED,     /* in q; a waker or the canceller takes it */
	RG_CWAIT_DONE,       /* a waker took it: the wait succeeded */
	RG_CWAIT_CANCELLED,  /* the context ended first: result is its error */
};

/*
 * One wait on a wait queue that a context can cut short (the weighted
 * semaphore's acquire, the worker pool's submit).  Lives on the
 * waiter's stack.  Protocol, with the queue lock l:
 *
 *     rg__cwait_t w = { .l = l, .q = q, .cancelled = hook, .owner = obj };
 *     if (!rg__cwait_begin(&w, ctx)) return w.result;   // ctx over
 *     rg__lock(l);
 *     if (can proceed) { ...; rg__unlock(l); rg__cwait_end(&w); return 0; }
 *     return rg__cwait_park(&w, reason);   // queues, parks, ends
 *
 * A waker takes a node with rg__waitq_pop under l, marks it with
 * rg__cwait_taken (DONE, result 0; it may then set another result, as
 * the pool's close sets -EPIPE) and wakes it after unlocking.  The
 * canceller (a ctx callback, any thread) takes l, unlinks the node if it
 * is still queued, marks it CANCELLED with the ctx's error, calls
 * hook(w, &wake) with l held (the owner's fix-ups: counters, waking the
 * waiters that the departure lets through, pushed onto the list *wake
 * after popping them from q), and wakes them all after unlocking.
 */
typedef struct rg__cwait rg__cwait_t;
struct rg__cwait {
	rg__wnode_t n;                   /* queue node; first member */
	rg__lock_t *l;                   /* the queue's lock (constant) */
	rg__waitq_t *q;                  /* the queue (constant) */
	void (*cancelled)(rg__cwait_t *w, rg__waitq_t *wake); /* may be NULL */
	void *owner;                     /* for the hook */
	int64_t weight;                  /* for the owner (semaphore: n) */
	uint32_t state;                  /* enum rg__cwait_state (l) */
	int result;                      /* 0 or the ctx's error (l) */
	bool has_cb;                     /* cb registered; ctx retained */
	rg_ctx_t *ctx;
	rg__ctx_cb_t cb;
};

/* Registers w's cancellation on ctx.  false: ctx has ended already
 * (w->result is its error); nothing to end. */
bool rg__cwait_begin(rg__cwait_t *w, rg_ctx_t *ctx) RG_HIDDEN;

/* l held, w's condition false: queues w unless ctx ended meanwhile,
 * parks, and ends the wait.  Returns w->result: what the waker set (0
 * unless it said otherwise) or the ctx's error.  l is released. */
int rg__cwait_park(rg__cwait_t *w, rg_wait_reason_t reason) RG_HIDDEN;

/* Ends a wait that did not park (unregisters the ctx callback). */
void rg__cwait_end(rg__cwait_t *w) RG_HIDDEN;

/* l held: marks a node just popped from q as granted. */
static inline rg__cwait_t *rg__cwait_taken(rg__wnode_t *n)
{
	rg__cwait_t *w = (rg__cwait_t *)(void *)n;
	w->state = RG_CWAIT_DONE;
	w->result = 0;
	return w;
}

/* Wakes every node of a list that no lock guards any more (moved out
 * with rg__waitq_take_all, or built by the waker), emptying it. */
static inline void rg__wake_list(rg__waitq_t *list)
{
	rg__link_t *l = rg__list_take_all(list).head;
	while (l) {
		rg__link_t *next = l->next;  /* before its owner returns */
		rg__waitq_wake(rg__wnode_of(l));
		l = next;
	}
}

/* ---- mutex internals (mutex.c) -------------------------------------- */

/* The state word's bits (mutex.c explains them). */
#define RG__MUTEX_LOCKED   1u
#define RG__MUTEX_WOKEN    2u
#define RG__MUTEX_STARVING 4u
#define RG__MUTEX_WAITER_SHIFT 3

/* rg_mutex_lock, reporting `reason` while parked (Once, RWMutex). */
void rg__mutex_lock_as(rg_mutex_t *mu, rg_wait_reason_t reason) RG_HIDDEN;

/* Starvation-mode handoffs so far (tests observe starvation mode). */
extern _Atomic uint64_t rg__mutex_handoffs RG_HIDDEN;

/* ---- WaitGroup internals (waitgroup.c) ------------------------------ */

/* The counter, read relaxed (errgroup.c counts its running functions
 * with it). */
int64_t rg__wg_count(rg_waitgroup_t *wg) RG_HIDDEN;

/* ---- the counting semaphore (sema.c) -------------------------------- */

/* Waits for a token of s and takes it.  Any thread. */
void rg__sema_acquire(rg__sema_t *s, rg_wait_reason_t reason) RG_HIDDEN;

/* Adds a token to s, handing it straight to the first waiter if one is
 * queued.  Any thread; never blocks beyond the queue lock. */
void rg__sema_release(rg__sema_t *s) RG_HIDDEN;

#endif
