// SPDX-License-Identifier: MIT
/*
 * weighted.c — the weighted semaphore (golang.org/x/sync/semaphore's
 * Weighted), and the context-cancellable queue wait (rg__cwait, waitq.h)
 * that it shares with the worker pool.
 *
 * The semaphore's state is one word: available weight << 1 | W, where W
 * says that waiters are queued.  Invariants:
 *   - W is set and cleared only under qlock; W set <=> q non-empty
 *     (outside the critical sections that change both).
 *   - Only an acquire's CAS takes weight, and it expects W clear: while
 *     W is set the fast acquire fails and goes to the lock, so whoever
 *     holds qlock with W set is the only one taking weight.  So nobody
 *     takes weight past a queued waiter: FIFO, and a large waiter at the
 *     head holds back the small ones behind it (x/sync's rule, which
 *     keeps a writer-sized acquire from starving under readers).
 *   - A release adds its weight with one fetch_add, W or not (adding
 *     takes nothing from a waiter; every writer under the lock CASes
 *     against the word and recounts when it moved).  If W was set, it
 *     then takes the lock and grants waiters from the head while the
 *     head fits (notify_locked), handing weight straight to them: a
 *     granted waiter never retries.  Releasing more than is held is
 *     found after the add and panics (fatal: the word's state no longer
 *     matters).
 *   - A waiter that its context cuts short leaves the queue under
 *     qlock; if it was at the head, those behind it may now fit and are
 *     granted (x/sync's notifyWaiters on cancel).
 *
 * Memory order: the fast acquire is an acquire CAS and the release a
 * release fetch_add, so what a releaser did before Release happens before
 * what the next holder does after Acquire; waiters granted under the
 * lock are ordered by the lock and the wake-up.
 *
 * Rejected designs:
 *   - x/sync's plain mutex around size/cur: every uncontended acquire
 *     and release would take and release it (two atomic RMWs instead of
 *     one CAS).
 *   - Barging (a newcomer taking weight that a woken waiter was about to
 *     retry for): starves large waiters; direct grants avoid the retry.
 *   - Building it on the RWMutex's counting semaphore (sema.c): that one
 *     counts single tokens and has no context; the wait queue, its nodes
 *     and its park are what fit, and are reused here.
 */
#include "waitq.h"

#include <errno.h>

/* ---- context-cancellable waits (waitq.h) ---------------------------- */

/* The ctx callback: runs once, on whichever thread ends the context. */
static void cwait_cancel(void *arg, int err)
{
	rg__cwait_t *w = arg;
	rg__waitq_t wake = {0};
	bool self = false;

	rg__lock(w->l);
	if (w->state == RG_CWAIT_QUEUED) {
		rg__waitq_remove(w->q, &w->n);
		w->state = RG_CWAIT_CANCELLED;
		w->result = err;
		self = true;
		if (w->cancelled)
			w->cancelled(w, &wake);
	} else if (w->state == RG_CWAIT_INIT) {
		/* Not queued yet: the waiter sees this under l and gives up. */
		w->state = RG_CWAIT_CANCELLED;
		w->result = err;
	}
	rg__unlock(w->l);
	rg__wake_list(&wake);
	if (self)
		rg__waitq_wake(&w->n);  /* w may be gone after this */
}

bool rg__cwait_begin(rg__cwait_t *w, rg_ctx_t *ctx)
{
	w->state = RG_CWAIT_INIT;
	w->result = 0;
	w->cb.fn = cwait_cancel;
	w->cb.arg = w;
	/* The callback's record needs a reference on ctx until it is
	 * unregistered (ctx.h): the caller's may go (a cancel from another
	 * goroutine drops the creator's) while we still wait. */
	w->ctx = rg_ctx_retain(ctx);
	w->has_cb = rg__ctx_cb_register(ctx, &w->cb);
	if (!w->has_cb) {
		rg_ctx_release(w->ctx);
		w->ctx = NULL;
	}
	if (!w->has_cb && rg_ctx_err(ctx)) {
		/* Already over: the callback ran here and set the result. */
		return false;
	}
	return true;
}

void rg__cwait_end(rg__cwait_t *w)
{
	/* Waits for a callback that is running (it may still be waking
	 * us), so that w can die with our frame. */
	if (w->has_cb) {
		rg__ctx_cb_unregister(&w->cb);
		rg_ctx_release(w->ctx);
	}
	w->has_cb = false;
}

int rg__cwait_park(rg__cwait_t *w, rg_wait_reason_t reason)
{
	if (w->state == RG_CWAIT_CANCELLED) {
		rg__unlock(w->l);
		rg__cwait_end(w);
		return w->result;
	}
	w->state = RG_CWAIT_QUEUED;
	rg__waitq_push(w->q, &w->n);
	rg__waitq_park(w->l, &w->n, reason);
	/* A waker set DONE or the canceller CANCELLED, under l, before
	 * waking us; the wake orders those writes before our reads. */
	rg__cwait_end(w);
	return w->result;
}

/* ---- the weighted semaphore ----------------------------------------- */

#define SEMA_W 1u
#define SEMA_MAX ((int64_t)1 << 62)

static inline int64_t avail_of(uint64_t s)
{
	return (int64_t)(s >> 1);
}

static inline uint64_t mkstate(int64_t avail, bool waiters)
{
	return (uint64_t)avail << 1 | (waiters ? SEMA_W : 0);
}

void rg_sema_init(rg_sema_t *s, int64_t n)
{
	if (n < 0 || n >= SEMA_MAX)
		rg_panic("semaphore: size %lld out of range [0, 2^62)", (long long)n);
	s->size = n;
	atomic_store_explicit(&s->qlock, 0, memory_order_relaxed);
	s->pad_ = 0;
	s->q.head = s->q.tail = NULL;
	/* Release: a thread that is handed s after init sees it whole. */
	atomic_store_explicit(&s->state, mkstate(n, false), memory_order_release);
}

/* The fast path: takes n if it fits and nobody waits. */
static inline bool try_take(rg_sema_t *s, int64_t n)
{
	uint64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
	while (!(st & SEMA_W) && avail_of(st) >= n) {
		/* Acquire: pairs with the release that gave this weight. */
		if (atomic_compare_exchange_weak_explicit(&s->state, &st,
				st - ((uint64_t)n << 1), memory_order_acquire,
				memory_order_relaxed))
			return true;
	}
	return false;
}

/*
 * qlock held: grants weight to waiters from the head while the head fits,
 * moving the granted onto *wake, and sets W to whether any remain.  Any
 * state: W may be clear here (a cancel emptied the queue), so the word
 * is updated by CAS against concurrent fast paths.
 */
static void notify_locked(rg_sema_t *s, rg__waitq_t *wake)
{
	uint64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
	for (;;) {
		int64_t avail = avail_of(st);
		rg__wnode_t *n = rg__waitq_first(&s->q);
		while (n && ((rg__cwait_t *)(void *)n)->weight <= avail) {
			avail -= ((rg__cwait_t *)(void *)n)->weight;
			n = rg__wnode_next(n);
		}
		uint64_t want = mkstate(avail, n != NULL);
		/* Release: pairs with the fast paths' acquire CAS once W is
		 * clear again; the granted get their weight through the lock
		 * and the wake-up. */
		if (!atomic_compare_exchange_weak_explicit(&s->state, &st, want,
				memory_order_release, memory_order_relaxed))
			continue;  /* a fast path moved it: count again */
		while (rg__waitq_first(&s->q) != n) {
			rg__wnode_t *g = rg__waitq_pop(&s->q);
			rg__cwait_taken(g);
			rg__waitq_push(wake, g);
		}
		return;
	}
}

/* A waiter left through its context: those behind it may fit now. */
static void sema_cancelled(rg__cwait_t *w, rg__waitq_t *wake)
{
	notify_locked(w->owner, wake);
}

static int acquire_slow(rg_sema_t *s, int64_t n, rg_ctx_t *ctx);
static void release_slow(rg_sema_t *s);

int rg_sema_acquire(rg_sema_t *s, int64_t n, rg_ctx_t *ctx)
{
	if (n <= 0)
		return -EINVAL;
	if (RG_LIKELY(try_take(s, n)))
		return 0;
	return acquire_slow(s, n, ctx);
}

/* Out of line: the fast path's frame stays small. */
static __attribute__((noinline)) int acquire_slow(rg_sema_t *s, int64_t n, rg_ctx_t *ctx)
{
	if (n > s->size) {
		/* Never grantable: don't make the queue wait behind it.  Our
		 * own reference, as rg__cwait_begin takes one. */
		rg_ctx_retain(ctx);
		rg_chan_recv(rg_ctx_done(ctx), NULL);  /* NULL: forever */
		int err = rg_ctx_err(ctx);
		rg_ctx_release(ctx);
		return err;
	}

	rg__lock_t *l = rg__qlock(&s->qlock);
	rg__cwait_t w = {.l = l, .q = &s->q, .cancelled = sema_cancelled,
			 .owner = s, .weight = n};
	if (!rg__cwait_begin(&w, ctx))
		return try_take(s, n) ? 0 : w.result;  /* Go: free weight wins */
	rg__lock(l);
	uint64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
	for (;;) {
		if (st & SEMA_W)
			break;                       /* queue behind the others */
		if (avail_of(st) >= n) {
			if (atomic_compare_exchange_weak_explicit(&s->state, &st,
					st - ((uint64_t)n << 1), memory_order_acquire,
					memory_order_relaxed)) {
				rg__unlock(l);
				rg__cwait_end(&w);
				return 0;
			}
			continue;
		}
		if (w.state == RG_CWAIT_CANCELLED)
			break;                       /* park gives up at once, W untouched */
		/* Set W: from now on the fast paths come to the lock. */
		if (atomic_compare_exchange_weak_explicit(&s->state, &st, st | SEMA_W,
				memory_order_relaxed, memory_order_relaxed))
			break;
	}
	return rg__cwait_park(&w, RG_WAIT_SEMA);
}

bool rg_sema_try_acquire(rg_sema_t *s, int64_t n)
{
	return n > 0 && try_take(s, n);
}

void rg_sema_release(rg_sema_t *s, int64_t n)
{
	if (n <= 0)
		rg_panic("semaphore: release of a non-positive weight %lld", (long long)n);
	if (RG_UNLIKELY(n > s->size))
		rg_panic("semaphore: released more than held");
	/* One add, no load-and-CAS loop (see the top).  Release: pairs with
	 * the next acquirer's acquire CAS. */
	uint64_t st = atomic_fetch_add_explicit(&s->state, (uint64_t)n << 1,
						memory_order_release);
	if (RG_UNLIKELY(avail_of(st) + n > s->size))
		rg_panic("semaphore: released more than held");
	if (RG_UNLIKELY(st & SEMA_W))
		release_slow(s);
}

/* Waiters were queued when our weight went in: grant what now fits. */
static __attribute__((noinline)) void release_slow(rg_sema_t *s)
{
	rg__lock_t *l = rg__qlock(&s->qlock);
	rg__waitq_t wake = {0};
	rg__lock(l);
	notify_locked(s, &wake);
	rg__unlock(l);
	rg__wake_list(&wake);
}
