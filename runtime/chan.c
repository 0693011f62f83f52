// SPDX-License-Identifier: MIT
/*
 * chan.c — channels (Go's chan T): make, send, receive, close, len, cap.
 * select lives in select.c; the shared structures in chan_impl.h.
 *
 * A buffered channel's buffer is a bounded ring in the manner of
 * Vyukov's MPMC queue: a sender and a receiver on different Ps move
 * values without the channel lock while nobody is parked and the ring
 * is neither full (for the sender) nor empty (for the receiver).
 * Waiting stays under the lock, as before.  Unbuffered channels have no
 * ring: every value moves between a sender's and a receiver's frame
 * under the lock.
 *
 * The ring.  Slot i holds a 64-bit stamp and an element.  A position is
 * lap * one_lap + index (one_lap: the smallest power of two above cap,
 * so the index is a mask and the lap the bits above it).  `tail` is the
 * next position a send claims, `head` the next a receive claims, each
 * on its own cache line.  The stamp of the slot at position p says:
 *   p            free for the send that claims p;
 *   p + 1        holds p's value, for the receive that claims p;
 *   p + one_lap  read out, free for the next lap's send.
 * A send CASes tail from p to the next position when the stamp is p,
 * copies its element in and stores stamp p + 1 (release); a receive
 * CASes head when the stamp is p + 1, copies out and stores p + one_lap
 * (release).  Each side's acquire load of the stamp pairs with the
 * other's release: a send happens before the receive of its value, and
 * a slot is read out before it is written again.  Full: the tail slot
 * still holds the previous lap's value; empty: the head slot's stamp is
 * the head itself (free, or claimed by a send still copying: a
 * "pending" slot, which also holds back published values behind it).
 * Zero-size elements have no slots: `tail` is a count (0..cap), moved
 * by CAS, so chan struct{} of any capacity costs its header.
 *
 * Close.  Bit 63 of `tail` (RG_RING_CLOSED), set by close under the
 * lock with a fetch_or, ends every claim: a send's CAS of the tail
 * fails and it takes the lock and panics, so a send either claimed its
 * slot before the close (and its value is delivered) or panics.  A
 * receive that finds the head empty reads the tail: open, not ready;
 * closed with tail == head, closed and drained (nothing can arrive);
 * closed with tail beyond head, a claimed value is still being copied
 * in, so it waits for it (ring_wait_published: a copy, no lock and no
 * park between a claim and its publication).  Close itself hands every
 * value still in the ring, pending ones included, to the parked
 * receivers before it wakes the rest with the close.
 *
 * Waiters and the lost wake-up.  The lock-free paths run only while both
 * queues are empty (queues_empty), so parked waiters keep their FIFO turn
 * and get direct hand-offs; a waiter is always queued under the lock.
 * The race: a receiver finds the ring empty under the lock and queues
 * itself, while a sender, which saw no receiver queued, publishes a
 * value lock-free.  Neither may go on without the other noticing, so
 * both sides run a Dekker pairing with seq_cst fences:
 *   waiter (rg__chan_recheck): queue the record; fence; look at the ring
 *     again (a value at the head for a receiver, a free tail slot for a
 *     sender).  Ready: unqueue and try again instead of parking.
 *   lock-free peer: publish (stamp store); fence; look at the other
 *     side's queue.  Someone there: take the lock and settle.
 * Of two fenced store-then-load sequences at least one load sees the
 * other's store, so either the waiter sees the value and does not park,
 * or the peer sees the waiter and serves it.  A select does the same for
 * every buffered case after queueing all its records (select.c); it
 * holds all its locks, so no waker can have taken a record meanwhile.
 *
 * Settling (settle, c->lock held) serves parked waiters from the ring in
 * queue order: receivers take published values, senders fill free slots
 * (not once closed).  A lock-free peer that looked at the queues before
 * a waiter was queued may take the value (or slot) between our look and
 * our claim; then a plain waiter goes back to the front of its queue,
 * and a select whose flag we already won is woken with RG_SG_RETRY and
 * runs again (a select record cannot be put back: wakers on its other
 * channels that saw the flag set have dropped theirs).  Under the lock,
 * every operation settles first, so it never overtakes a waiter that
 * can be served, and a send hands its value straight to a parked
 * receiver only while the ring is empty, pending slots included (a
 * value there came first: FIFO per sender holds).
 *
 * Invariants (c->lock held), counting live records only (the queues may
 * also hold records of a select already won elsewhere; see the last
 * point):
 *   - At least one of c->sendq and c->recvq is empty, except when a
 *     single select is parked on an unbuffered channel with both a send
 *     and a receive case on it: then both queues hold records of that
 *     one select.
 *   - Buffered: once settled, recvq non-empty implies no published value
 *     at the head, and sendq non-empty implies no free slot at the tail.
 *     Between a lock-free operation and its settle these may be broken
 *     for a moment; the peer that broke them is on its way to the lock.
 *   - Unbuffered channel: every value moves straight from a sender's
 *     element to a receiver's.
 *   - closed never goes back to 0.  Once closed, sendq is empty (close
 *     wakes every sender, which panics) and stays empty (sends panic
 *     before queueing); recvq is empty (close wakes every receiver once
 *     the ring is drained) and stays empty (a receive on a closed
 *     channel never waits).
 *   - A send or receive that has parked never touches c again once
 *     woken: the peer that completed it may free c at once (a select
 *     does touch its channels until it returns; it relocks them).  A
 *     lock-free send still looks at the queues after its value can be
 *     received; it counts itself in `sending` from before its claim to
 *     its last touch, and rg_chan_free waits for the count to drop (the
 *     results pattern: receive every value, then free).
 *   - A queued rg_sudog is on its owner's stack; the owner is parked (or
 *     asleep, on a foreign thread) and cannot leave before a waker sets
 *     its result and wakes it.  A record of a select that another waker
 *     has already won may still sit in a queue: dequeue skips it after
 *     failing the CAS on its `selected` flag, and the select removes
 *     every record it left behind under the channel locks before its
 *     stack frame goes away.
 *
 * Locking rules:
 *   - c->lock protects the queues and `closed`; the ring's words are
 *     atomics that lock-free paths and locked paths both CAS.
 *   - A waker copies the value, sets the record's result and unlinks it
 *     under the lock, and wakes its owner after unlocking (the _locked
 *     operations return a wake list): a woken goroutine lands in our
 *     P's runnext and would otherwise run into the lock we still hold.
 *   - A select locks its channels in address order, each once; no other
 *     code holds two channel locks.  rg__lock_t blocks the thread, so no
 *     channel lock is ever held across a park: the parker's unlockf
 *     releases it once the goroutine is off its stack.
 *   - No allocation and no system call of ours while a lock is held
 *     (waking a foreign thread's futex happens after unlocking; a close
 *     waiting for a pending slot may sched_yield); the one exception is
 *     a select of more than RG_SELECT_STACK live cases, which allocates
 *     its records.
 *
 * Memory order: a send happens before the receive that takes its value
 * (the stamp's release/acquire, c->lock, or the wake-up, which publishes
 * what the waker wrote); close happens before a receive that sees the
 * channel closed (the release fetch_or of the tail's bit and the
 * receive's acquire load of the tail, or c->lock).
 *
 * Profile (issue 8, before the ring; `perf record -g` and uprobes on
 * build/bench/bench_*, RINGO_PROCS=2, 2 busy cores): buffered and
 * workerpool spent 17-19% of their samples in rg__lock_slow and most of
 * the rest in rg__chan_send/recv's inlined lock fast path: the lock word,
 * qcount and both indexes shared one cache line that producer and
 * consumer pulled back and forth on every element, while parks were
 * rare (buffered: 9,503 parks and 2,412 slow locks for 5M elements).
 * With the ring, an element costs each side one CAS on its own line and
 * a stamp in the slot; the lock is taken only when someone waits.
 *
 * Rejected designs:
 *   - A lock-free channel throughout, waiters included (a lock-free
 *     queue of waiters, as proposed for Go in golang.org/issue/8899):
 *     close, select over several channels and FIFO hand-off to parked
 *     waiters all need one consistent view of the queues; the lock is
 *     cheap where it stays (someone is about to sleep anyway).
 *   - The lock-free paths while waiters are queued: a newcomer would
 *     overtake a parked sender or receiver, and a value sent to an
 *     empty ring would sit there while a receiver sleeps.
 *   - Waiting records from a pool or the heap (Go's acquireSudog).  Go
 *     must, because its stacks move; ours never do, so the record lives
 *     in the waiter's frame: no allocation, no failure, no free list.
 *   - A condition variable (or one futex) per channel, every waiter
 *     woken to retry.  Thundering herds, no FIFO order, no direct
 *     hand-off, and it blocks threads where goroutines must park.
 *   - Readying the woken goroutine under the lock.  See above.
 *   - A buffer allocated apart from the channel: one allocation holds
 *     both, and the slots follow the header's cache lines.
 *   - Stamps in an array of their own: a slot's stamp and element share
 *     a line, so a transfer touches one line of the ring, not two.
 */
#include "chan_impl.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "probes.h"
#include "sanitizer.h"
#ifdef RG_SAN_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* ---- wait queues --------------------------------------------------- */

/* Stores to `first` are release so that a fast path that sees a queue
 * empty (an acquire load) also sees what the emptying critical section
 * did before; loads under the lock need no ordering. */
static inline rg_sudog *chanq_first(rg_chanq *q)
{
	return atomic_load_explicit(&q->first, memory_order_relaxed);
}

static inline void chanq_set_first(rg_chanq *q, rg_sudog *sg)
{
	atomic_store_explicit(&q->first, sg, memory_order_release);
}

void rg__chanq_push(rg_chanq *q, rg_sudog *sg)
{
	sg->c->wgen = atomic_load_explicit(&rg__run_gen, memory_order_relaxed);
	sg->next = NULL;
	sg->prev = q->last;
	if (q->last)
		q->last->next = sg;
	else
		chanq_set_first(q, sg);
	q->last = sg;
}

void rg__chanq_remove(rg_chanq *q, rg_sudog *sg)
{
	rg_sudog *p = sg->prev, *n = sg->next;

	/* Not queued: no predecessor and not the head (a waker unlinked
	 * it, leaving both links NULL). */
	if (!p && chanq_first(q) != sg)
		return;
	if (p)
		p->next = n;
	else
		chanq_set_first(q, n);
	if (n)
		n->prev = p;
	else
		q->last = p;
	sg->next = sg->prev = NULL;
}

/*
 * Takes the first record of q that can still be woken: a plain waiter,
 * or a select's whose `selected` flag we flip first.  A select record
 * whose flag is already set belongs to a select that another channel
 * has won; it is unlinked and skipped.
 */
static rg_sudog *chanq_take(rg_chanq *q)
{
	for (;;) {
		rg_sudog *sg = chanq_first(q);
		if (!sg)
			return NULL;
		rg_sudog *n = sg->next;
		chanq_set_first(q, n);
		if (n)
			n->prev = NULL;
		else
			q->last = NULL;
		sg->next = NULL;
		uint32_t zero = 0;
		/* Only the CAS's atomicity matters: whatever the select
		 * later reads was written under a channel lock or travels
		 * with the wake-up. */
		if (sg->selected &&
		    !atomic_compare_exchange_strong_explicit(sg->selected,
				&zero, 1, memory_order_relaxed,
				memory_order_relaxed))
			continue;
		return sg;
	}
}

/* Puts sg first in q (c->lock held): a plain waiter that a settling
 * waker took but could not serve keeps its place. */
static void chanq_push_front(rg_chanq *q, rg_sudog *sg)
{
	rg_sudog *f = chanq_first(q);
	sg->prev = NULL;
	sg->next = f;
	if (f)
		f->prev = sg;
	else
		q->last = sg;
	chanq_set_first(q, sg);
}

/* The first record of q whose select (if any) has not been won
 * elsewhere; dead ones in front are unlinked.  A snapshot: a select's
 * record can die at any time, never come back. */
static rg_sudog *chanq_live_first(rg_chanq *q)
{
	for (;;) {
		rg_sudog *sg = chanq_first(q);
		if (!sg || !sg->selected ||
		    atomic_load_explicit(sg->selected, memory_order_relaxed) == 0)
			return sg;
		rg__chanq_remove(q, sg);
	}
}

static void wake_append(rg_sudog **list, rg_sudog *sg)
{
	sg->next = NULL;
	while (*list)
		list = &(*list)->next;
	*list = sg;
}

/* ---- the ring ------------------------------------------------------ */

enum { RING_OK, RING_FULL, RING_EMPTY = RING_FULL, RING_CLOSED };

static inline void *stamp_elem(_Atomic uint64_t *st)
{
	return (char *)st + sizeof(uint64_t);
}

/* The position after pos (pos without RG_RING_CLOSED). */
static inline uint64_t ring_next(const rg_chan_t *c, uint64_t pos)
{
	uint64_t idx = pos & (c->one_lap - 1);
	return idx + 1 < c->cap ? pos + 1 : (pos & ~(c->one_lap - 1)) + c->one_lap;
}

/* Claims the tail slot, copies *elem in and publishes it.  RING_FULL
 * when the slot at the tail still holds the previous lap's value (or is
 * being read out of); RING_CLOSED once close set the tail's bit. */
static int ring_put(rg_chan_t *c, const void *elem)
{
	uint64_t t = atomic_load_explicit(&c->tail, memory_order_relaxed);
	if (c->stride == 0) {  /* zero-size elements: a count */
		for (;;) {
			if (RG_UNLIKELY(t & RG_RING_CLOSED))
				return RING_CLOSED;
			if (t >= c->cap)
				return RING_FULL;
			/* Release: orders the sender's earlier writes before
			 * the receive that takes this "value". */
			if (atomic_compare_exchange_weak_explicit(&c->tail, &t, t + 1,
					memory_order_release, memory_order_relaxed))
				return RING_OK;
		}
	}
	for (;;) {
		if (RG_UNLIKELY(t & RG_RING_CLOSED))
			return RING_CLOSED;
		_Atomic uint64_t *st = rg__ring_stamp(c, t);
		/* Acquire: the receiver that freed the slot has finished
		 * reading it before we overwrite it. */
		uint64_t s = atomic_load_explicit(st, memory_order_acquire);
		if (s == t) {
			if (atomic_compare_exchange_weak_explicit(&c->tail, &t,
					ring_next(c, t), memory_order_relaxed,
					memory_order_relaxed)) {
				rg__elem_copy(stamp_elem(st), elem, c->elem_size);
				/* Release: publishes the value with the stamp. */
				atomic_store_explicit(st, t + 1, memory_order_release);
				return RING_OK;
			}
			continue;  /* t reloaded by the CAS */
		}
		uint64_t t2 = atomic_load_explicit(&c->tail, memory_order_relaxed);
		if (s + c->one_lap == t + 1 && t2 == t)
			return RING_FULL;
		t = t2;
	}
}

/* Claims the head slot if its value is published, copies it out (elem
 * may be NULL) and frees the slot for the next lap.  RING_EMPTY when
 * the head slot is empty or claimed by a send still copying. */
static int ring_take(rg_chan_t *c, void *elem)
{
	if (c->stride == 0) {
		uint64_t t = atomic_load_explicit(&c->tail, memory_order_relaxed);
		for (;;) {
			if ((t & ~RG_RING_CLOSED) == 0)
				return RING_EMPTY;
			/* Acquire: pairs with ring_put's release.  The
			 * closed bit stays as it is. */
			if (atomic_compare_exchange_weak_explicit(&c->tail, &t, t - 1,
					memory_order_acquire, memory_order_relaxed))
				return RING_OK;
		}
	}
	uint64_t h = atomic_load_explicit(&c->head, memory_order_relaxed);
	for (;;) {
		_Atomic uint64_t *st = rg__ring_stamp(c, h);
		/* Acquire: pairs with ring_put's release of the stamp. */
		uint64_t s = atomic_load_explicit(st, memory_order_acquire);
		if (s == h + 1) {
			if (atomic_compare_exchange_weak_explicit(&c->head, &h,
					ring_next(c, h), memory_order_relaxed,
					memory_order_relaxed)) {
				if (elem)
					rg__elem_copy(elem, stamp_elem(st), c->elem_size);
				/* Release: our read is done before a sender
				 * that sees the slot free writes it. */
				atomic_store_explicit(st, h + c->one_lap, memory_order_release);
				return RING_OK;
			}
			continue;
		}
		uint64_t h2 = atomic_load_explicit(&c->head, memory_order_relaxed);
		if (s == h && h2 == h)
			return RING_EMPTY;
		h = h2;
	}
}

/* Nothing in the ring, not even a claimed slot still being copied
 * into (c->lock held: for a snapshot that a send can only end). */
static inline bool ring_empty(const rg_chan_t *c)
{
	uint64_t t = atomic_load_explicit(&c->tail, memory_order_relaxed) & ~RG_RING_CLOSED;
	if (c->stride == 0)
		return t == 0;
	return atomic_load_explicit(&c->head, memory_order_relaxed) == t;
}

/* Waits (spinning, then yielding the thread) until the send that
 * claimed position h has published its value, or a receiver took it.
 * Bounded: the sender is between its claim and its release store, a
 * copy with no lock and no park in between. */
static void ring_wait_published(const rg_chan_t *c, uint64_t h)
{
	if (c->stride == 0)
		return;  /* a count has nothing in flight */
	for (int i = 0;; i++) {
		if (atomic_load_explicit(&c->head, memory_order_relaxed) != h ||
		    atomic_load_explicit(rg__ring_stamp(c, h), memory_order_acquire) != h)
			return;
		if (i < 64)
			rg__cpu_relax();
		else
			sched_yield();
	}
}

/* Closed and drained, for a receive that found the head empty: nothing
 * claimed at or after the head (close stopped new claims).  false with
 * *pending set: closed, but a claimed value is still being copied in. */
static bool ring_closed_drained(const rg_chan_t *c, bool *pending, uint64_t *h)
{
	*h = atomic_load_explicit(&c->head, memory_order_relaxed);
	/* Acquire: pairs with close's release of the bit. */
	uint64_t t = atomic_load_explicit(&c->tail, memory_order_acquire);
	*pending = false;
	if (!(t & RG_RING_CLOSED))
		return false;
	if (c->stride == 0)
		*h = 0;  /* the count alone says it */
	if ((t & ~RG_RING_CLOSED) == *h)
		return true;
	*pending = true;
	return false;
}

/*
 * c->lock held, buffered c: serves parked waiters from the ring, in
 * queue order, while both sides are there: receivers take published
 * values, senders fill free slots (not once closed: those senders
 * panic).  A lock-free peer may take the value (or the slot) between
 * our look and our claim; the waiter we took for it then goes back to
 * the front of its queue, or, a select's whose flag we already flipped,
 * is woken with RG_SG_RETRY and runs again.
 */
static void settle(rg_chan_t *c, rg_sudog **wake)
{
	rg_sudog *sg;

	while (chanq_first(&c->recvq) && rg__ring_has_value(c)) {
		if (!(sg = chanq_take(&c->recvq)))
			break;
		if (ring_take(c, sg->elem) != RING_OK) {
			if (sg->selected) {
				sg->result = RG_SG_RETRY;
				wake_append(wake, sg);
			} else {
				chanq_push_front(&c->recvq, sg);
			}
			break;
		}
		sg->result = RG_SG_DONE;
		wake_append(wake, sg);
	}
	while (!atomic_load_explicit(&c->closed, memory_order_relaxed) &&
	       chanq_first(&c->sendq) && rg__ring_has_space(c)) {
		if (!(sg = chanq_take(&c->sendq)))
			break;
		if (ring_put(c, sg->elem) != RING_OK) {
			if (sg->selected) {
				sg->result = RG_SG_RETRY;
				wake_append(wake, sg);
			} else {
				chanq_push_front(&c->sendq, sg);
			}
			break;
		}
		sg->result = RG_SG_DONE;
		wake_append(wake, sg);
	}
}

/* A lock-free operation found a waiter on the other side after it
 * completed (the fast path's half of the Dekker pairing): settle. */
static __attribute__((noinline)) void settle_unlocked(rg_chan_t *c)
{
	rg_sudog *wake = NULL;

	rg__lock(&c->lock);
	settle(c, &wake);
	rg__unlock(&c->lock);
	rg__sudog_wake_list(wake);
}

/* ---- operations under the lock -------------------------------------- */

bool rg__chan_send_locked(rg_chan_t *c, const void *elem, rg_sudog **wake)
{
	rg_sudog *sg;

	if (c->cap) {
		settle(c, wake);
		/* Parked senders go first (the ring had no room for them). */
		if (chanq_live_first(&c->sendq))
			return false;
	}
	/* A parked receiver takes the value straight into its destination,
	 * if nothing is in the ring: a value there, or a send still
	 * copying into its claimed slot (which holds back the published
	 * ones behind it), came first.  Ours then goes behind them, and
	 * the receiver is served from the ring by whoever publishes the
	 * head (the Dekker pairing). */
	if ((!c->cap || ring_empty(c)) && (sg = chanq_take(&c->recvq))) {
		if (sg->elem)
			rg__elem_copy(sg->elem, elem, c->elem_size);
		sg->result = RG_SG_DONE;
		wake_append(wake, sg);
		return true;
	}
	return c->cap && ring_put(c, elem) == RING_OK;
}

bool rg__chan_recv_locked(rg_chan_t *c, void *elem, bool *ok, rg_sudog **wake)
{
	rg_sudog *sg;

	if (c->cap == 0) {
		/* A parked sender's value moves straight from its frame. */
		if ((sg = chanq_take(&c->sendq))) {
			if (elem)
				rg__elem_copy(elem, sg->elem, c->elem_size);
			sg->result = RG_SG_DONE;
			wake_append(wake, sg);
			*ok = true;
			return true;
		}
		if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
			rg__elem_zero(elem, c->elem_size);
			*ok = false;
			return true;
		}
		return false;
	}
	for (;;) {
		settle(c, wake);
		/* Parked receivers go first (the ring had no value for them). */
		if (chanq_live_first(&c->recvq))
			return false;
		if (ring_take(c, elem) == RING_OK) {
			/* A slot is free: the first parked sender fills it. */
			if (chanq_first(&c->sendq))
				settle(c, wake);
			*ok = true;
			return true;
		}
		bool pending;
		uint64_t h;
		if (ring_closed_drained(c, &pending, &h)) {
			rg__elem_zero(elem, c->elem_size);
			*ok = false;
			return true;
		}
		if (!pending)
			return false;
		ring_wait_published(c, h);
	}
}

/* ---- blocking ------------------------------------------------------ */

static bool unlock_chan(rg_g *g, void *arg)
{
	(void)g;
	rg__unlock(&((rg_chan_t *)arg)->lock);
	return true;
}

static bool stay_parked(rg_g *g, void *arg)
{
	(void)g;
	(void)arg;
	return true;
}

_Noreturn void rg__block_forever(rg_wait_reason_t reason)
{
	if (atomic_load_explicit(&rg__sched.running, memory_order_acquire) == 0)
		rg_panic("blocking on a nil channel needs the runtime: call rg_init or rg_main first");
	if (rg__getg())
		for (;;)  /* nobody can ready us: no record of us exists */
			rg__park(stay_parked, NULL, reason);
	/* A foreign thread sleeps without rg__waiter_wait, which would
	 * count it as a reference on the scheduler: it can never wake
	 * anyone, so goroutines all blocked around it are deadlocked. */
	static _Atomic uint32_t never;
	for (;;)
		rg__futex_wait(&never, 0, -1);
}

/*
 * NEEDS-CORE: a foreign thread counts for the deadlock detector only
 * while it sleeps in rg__waiter_wait (which takes rg__sched_ref; rt.h
 * should say so, since we rely on it).  Between two channel calls it is
 * invisible, so goroutines that all wait for its next send can be
 * reported as deadlocked while it is still running.  Wanted: a public
 * way for a host thread to count as live (rg_thread_attach/detach), or
 * a reference taken on a thread's first ringo call and dropped by a
 * thread-exit destructor.  The tests hold rg__sched_ref while their
 * threads run.
 */

/*
 * c->lock held, the operation could not proceed: queues sg (elem and c
 * set) on q and waits until a waker takes it.  Returns false, c still
 * locked and sg unqueued, when the caller must try again instead: the
 * ring became ready for it before the record was visible (the recheck
 * of the Dekker pairing at the top), or *wake holds records to wake
 * first (they are woken with c unlocked, and c relocked).  Returns true
 * with c unlocked and sg->result set.  On a foreign thread
 * rg__waiter_wait holds a reference on the scheduler while it sleeps
 * (it may ready goroutines once woken, so goroutines that all wait
 * around it are not deadlocked yet).
 */
static inline __attribute__((always_inline)) bool
wait_locked(rg_chan_t *c, rg_chanq *q, rg_sudog *sg, rg_sudog **wake,
	    rg_wait_reason_t reason, bool probes)
{
	rg_waiter_t w;

	if (*wake) {
		rg__unlock(&c->lock);
		rg__sudog_wake_list_p(*wake, probes);
		*wake = NULL;
		rg__lock(&c->lock);
		return false;
	}
	rg__waiter_init(&w);
	sg->w = &w;
	sg->selected = NULL;
	sg->result = RG_SG_WAITING;
	rg__chanq_push(q, sg);
	if (c->cap && rg__chan_recheck(c, q == &c->sendq)) {
		rg__chanq_remove(q, sg);
		return false;
	}
	rg__waiter_wait_p(&w, unlock_chan, c, reason, probes);
	return true;
}

/* ---- the API ------------------------------------------------------- */

/* Sets up the ring of a zeroed channel: slot i starts free for lap 0. */
static void ring_init(rg_chan_t *c, size_t elem_size, size_t cap, char *buf)
{
	c->cap = cap;
	c->elem_size = elem_size;
	c->stride = rg__chan_stride(elem_size);
	c->one_lap = 1;
	while (c->one_lap <= cap)
		c->one_lap <<= 1;
	c->buf = buf;
	for (size_t i = 0; c->stride && i < cap; i++)
		atomic_init(rg__ring_stamp(c, i), i);
}

rg_chan_t *rg_chan_make(size_t elem_size, size_t cap)
{
	size_t bytes;
	void *mem;

	if (__builtin_mul_overflow(elem_size, cap, &bytes) ||
	    bytes > SIZE_MAX - sizeof(rg_chan_t)) {
		errno = ENOMEM;
		return NULL;
	}
	/* Go refuses element types over 64 KiB (at compile time); a
	 * larger elem_size is a wrong argument even with cap 0 (SIZE_MAX
	 * included), not a channel whose elements are never stored. */
	if (elem_size > RG_CHAN_ELEM_MAX) {
		errno = EINVAL;
		return NULL;
	}
	/* Each slot also holds its stamp.  Positions need a bit above the
	 * index for the lap, and bit 63 is the closed flag. */
	if (__builtin_mul_overflow(rg__chan_stride(elem_size), cap, &bytes) ||
	    bytes > SIZE_MAX - sizeof(rg_chan_t) || cap >= (UINT64_C(1) << 62)) {
		errno = ENOMEM;
		return NULL;
	}
	if (posix_memalign(&mem, RG_CACHELINE, sizeof(rg_chan_t) + bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	rg_chan_t *c = mem;
	memset(c, 0, sizeof(*c));
	ring_init(c, elem_size, cap, (char *)(c + 1));  /* no bytes there for cap 0 */
	RG_PROBE(chan_make, c, elem_size, cap);
	return c;
}

void rg_chan_free(rg_chan_t *c)
{
	if (!c)
		return;
	/* Go panics on a second close; a second free is the same mistake.
	 * Under ASan freed memory is poisoned (quarantined), so ask it
	 * rather than read the state word and be reported for that. */
#ifdef RG_SAN_ASAN
	if (__asan_address_is_poisoned(&c->freed))
		rg_panic("free of a freed channel");
#endif
	if (*(volatile uint32_t *)&c->freed == RG_CHAN_FREED)
		rg_panic("free of a freed channel");
	rg__lock(&c->lock);
	bool busy = chanq_first(&c->recvq) || chanq_first(&c->sendq);
	/* Waiters queued under a runtime that has stopped were goroutines
	 * abandoned with it (their stacks, and the records on them, are
	 * gone: not read here), unless a foreign thread still sleeps in a
	 * wait somewhere, which may be on c. */
	bool abandoned = busy && rg__gen_gone(c->wgen) &&
			 atomic_load_explicit(&rg__foreign_waiting, memory_order_relaxed) == 0;
	rg__unlock(&c->lock);
	if (busy && !abandoned)
		rg_panic("free of a channel that goroutines wait on");
	/* A lock-free send whose value was just received may still be
	 * looking at the queues (or settling): bounded, it parks nowhere. */
	for (int i = 0; atomic_load_explicit(&c->sending, memory_order_acquire); i++) {
		if (i < 64)
			rg__cpu_relax();
		else
			sched_yield();
	}
	if (c->release) {
		c->release(c);  /* a timer's channel: its timer frees it (and
				   fires chan_free when it does) */
		return;
	}
	RG_PROBE(chan_free, c);
	/* volatile: a store just before free is dead to the compiler. */
	*(volatile uint32_t *)&c->freed = RG_CHAN_FREED;
	free(c);
}

rg_chan_t *rg__chan_init_owned(void *mem, size_t elem_size, size_t cap,
			       void (*release)(rg_chan_t *c))
{
	rg_chan_t *c = mem;
	size_t bytes = cap * rg__chan_stride(elem_size);
	memset(c, 0, sizeof(*c));  /* before the owner's bytes are set */
	ring_init(c, elem_size, cap,
		  bytes && RG_CHAN_SBUF_FITS(bytes) ? (char *)c->sbuf : (char *)(c + 1));
	c->release = release;
	RG_PROBE(chan_make, c, elem_size, cap);
	return c;
}

void rg__chan_prefill(rg_chan_t *c, const void *elem)
{
	if (RG_PROBE_GATE_SEND()) {
		rg__chan_send(c, elem, false);  /* a tracer sees the send */
		return;
	}
	/* Slot 0 of a fresh ring, as ring_put fills it, with nobody to race:
	 * the owner's publication of c (a release) orders these writes. */
	_Atomic uint64_t *st = rg__ring_stamp(c, 0);
	rg__elem_copy(stamp_elem(st), elem, c->elem_size);
	atomic_store_explicit(st, 1, memory_order_relaxed);
	atomic_store_explicit(&c->tail, ring_next(c, 0), memory_order_relaxed);
}

bool rg__chan_discard(rg_chan_t *c)
{
	bool any = false, ok;

	while (rg__chan_recv(c, NULL, false, &ok) && ok)
		any = true;
	return any;
}

/* Whether nobody is parked on c: the lock-free paths run only then, so
 * that parked waiters keep their FIFO turn and get direct hand-offs. */
static inline bool queues_empty(const rg_chan_t *c)
{
	return !atomic_load_explicit(&c->recvq.first, memory_order_relaxed) &&
	       !atomic_load_explicit(&c->sendq.first, memory_order_relaxed);
}

/* The non-blocking answer for an unbuffered channel from lock-free
 * loads (Go's chansend/chanrecv with block false; the reasoning is
 * Go's).  Send: not closed, then no receiver; a channel that is open
 * and not ready at two instants was so in between (closing never makes
 * a channel ready for a send that was not). */
static inline bool unbuf_send_would_block(rg_chan_t *c)
{
	if (atomic_load_explicit(&c->closed, memory_order_relaxed))
		return false;
	return chanq_first(&c->recvq) == NULL;
}

/* rg__chan_send's body, twice: probes false for the path the send gate
 * found unattached (no probe tests at all, rg__park_quiet and
 * rg__ready_quiet), true for the other, where every site tests its own
 * semaphore. */
static inline __attribute__((always_inline)) bool
chan_send(rg_chan_t *c, const void *elem, bool block, bool probes)
{
	rg_sudog *wake = NULL;
	rg_sudog sg;

	if (RG_UNLIKELY(!c)) {
		if (!block)
			return false;
		rg__block_forever(RG_WAIT_CHAN_SEND_NIL);
	}
	if (RG_UNLIKELY(!elem && c->elem_size))
		rg_panic("send of a NULL element on a channel of %zu-byte elements",
			 c->elem_size);
	if (c->cap) {
		/* The lock-free path: nobody parked, room in the ring. */
		if (queues_empty(c)) {
			/* Once our value is published its receiver may free
			 * c (the results pattern), while we still look at
			 * the queues: rg_chan_free waits for `sending` to
			 * drop.  Relaxed is enough here: the publication's
			 * release orders it before the receive. */
			atomic_fetch_add_explicit(&c->sending, 1, memory_order_relaxed);
			int r = ring_put(c, elem);
			if (RG_LIKELY(r == RING_OK)) {
				/* Dekker with a receiver that parked before
				 * our value was visible: it pushed its record,
				 * fenced and found the ring empty; we fence
				 * and find its record. */
				atomic_thread_fence(memory_order_seq_cst);
				if (RG_UNLIKELY(chanq_first(&c->recvq) != NULL))
					settle_unlocked(c);
				RG_PROBE_IF(probes, chan_send, c);
				/* Release: our last touch of c; pairs with
				 * rg_chan_free's acquire. */
				atomic_fetch_sub_explicit(&c->sending, 1, memory_order_release);
				RG_PCOUNT(nchanop);
				return true;
			}
			atomic_fetch_sub_explicit(&c->sending, 1, memory_order_release);
			/* Full and open at the moment ring_put looked. */
			if (r == RING_FULL && !block)
				return false;
		}
	} else if (!block && unbuf_send_would_block(c)) {
		return false;
	}

	rg__lock(&c->lock);
	for (;;) {
		if (RG_UNLIKELY(atomic_load_explicit(&c->closed, memory_order_relaxed))) {
			rg__unlock(&c->lock);
			rg__sudog_wake_list_p(wake, probes);
			rg_panic("send on closed channel");
		}
		if (rg__chan_send_locked(c, elem, &wake)) {
			rg__unlock(&c->lock);
			RG_PROBE_IF(probes, chan_send, c);
			rg__sudog_wake_list_p(wake, probes);
			RG_PCOUNT(nchanop);
			return true;
		}
		if (!block) {
			rg__unlock(&c->lock);
			rg__sudog_wake_list_p(wake, probes);
			return false;
		}
		/* Wait until a receiver takes the value from our frame (or
		 * moves it into the ring).  Once woken we must not touch c:
		 * the receiver may have freed it. */
		sg.c = c;
		sg.elem = (void *)elem;
		RG_PROBE_IF(probes, chan_send_block, c);
		if (wait_locked(c, &c->sendq, &sg, &wake, RG_WAIT_CHAN_SEND, probes))
			break;
	}
	if (sg.result != RG_SG_DONE)
		rg_panic("send on closed channel");
	RG_PCOUNT(nchanop);
	RG_PROBE_IF(probes, chan_send, sg.c);  /* the pointer only: c may be freed */
	return true;
}

/* rg__chan_recv's body, twice (see chan_send). */
static inline __attribute__((always_inline)) bool
chan_recv(rg_chan_t *c, void *elem, bool block, bool *ok, bool probes)
{
	rg_sudog *wake = NULL;
	rg_sudog sg;

	if (RG_UNLIKELY(!c)) {
		if (!block)
			return false;
		rg__block_forever(RG_WAIT_CHAN_RECV_NIL);
	}
	if (c->cap) {
		/* The lock-free path: nobody parked, a value in the ring. */
		if (queues_empty(c)) {
			if (RG_LIKELY(ring_take(c, elem) == RING_OK)) {
				/* Dekker with a sender that parked before our
				 * free slot was visible (see rg__chan_send). */
				atomic_thread_fence(memory_order_seq_cst);
				if (RG_UNLIKELY(chanq_first(&c->sendq) != NULL))
					settle_unlocked(c);
				*ok = true;
				RG_PROBE_IF(probes, chan_recv, c);
				RG_PCOUNT(nchanop);
				return true;
			}
			/* Empty when ring_take looked, and open now (so then
			 * too): not ready.  Closed: the lock decides between
			 * drained and a value still being copied in. */
			if (!block && !(atomic_load_explicit(&c->tail,
					memory_order_acquire) & RG_RING_CLOSED))
				return false;
		}
	} else if (!block && atomic_load_explicit(&c->sendq.first,
						  memory_order_acquire) == NULL) {
		/* Unbuffered, no sender.  Acquire: the load of `closed`
		 * must not move before this one, or "open, then closed"
		 * could read as "open and empty"; it pairs with the
		 * release store in close. */
		if (!atomic_load_explicit(&c->closed, memory_order_acquire))
			return false;
		if (atomic_load_explicit(&c->sendq.first, memory_order_acquire) == NULL) {
			rg__elem_zero(elem, c->elem_size);
			*ok = false;
			return true;
		}
	}

	rg__lock(&c->lock);
	for (;;) {
		if (rg__chan_recv_locked(c, elem, ok, &wake)) {
			rg__unlock(&c->lock);
			RG_PROBE_IF(probes, chan_recv, c);
			rg__sudog_wake_list_p(wake, probes);
			RG_PCOUNT(nchanop);
			return true;
		}
		if (!block) {
			rg__unlock(&c->lock);
			rg__sudog_wake_list_p(wake, probes);
			return false;
		}
		/* Wait until a sender writes into elem, or close zeroes it.
		 * Once woken we must not touch c (see above). */
		sg.c = c;
		sg.elem = elem;
		RG_PROBE_IF(probes, chan_recv_block, c);
		if (wait_locked(c, &c->recvq, &sg, &wake, RG_WAIT_CHAN_RECV, probes))
			break;
	}
	*ok = sg.result == RG_SG_DONE;
	RG_PCOUNT(nchanop);
	RG_PROBE_IF(probes, chan_recv, sg.c);  /* the pointer only: c may be freed */
	return true;
}

static __attribute__((noinline, cold)) bool
chan_send_probed(rg_chan_t *c, const void *elem, bool block)
{
	return chan_send(c, elem, block, true);
}

static __attribute__((noinline, cold)) bool
chan_recv_probed(rg_chan_t *c, void *elem, bool block, bool *ok)
{
	return chan_recv(c, elem, block, ok, true);
}

/* One test per operation while nothing is attached: the gate reads the
 * semaphores of every probe the operation can pass (probes.h). */
bool rg__chan_send(rg_chan_t *c, const void *elem, bool block)
{
	if (RG_PROBE_GATE_SEND())
		return chan_send_probed(c, elem, block);
	return chan_send(c, elem, block, false);
}

bool rg__chan_recv(rg_chan_t *c, void *elem, bool block, bool *ok)
{
	if (RG_PROBE_GATE_RECV())
		return chan_recv_probed(c, elem, block, ok);
	return chan_recv(c, elem, block, ok, false);
}

void rg_chan_send(rg_chan_t *c, const void *elem)
{
	rg__chan_send(c, elem, true);
}

bool rg_chan_recv(rg_chan_t *c, void *elem)
{
	bool ok;

	rg__chan_recv(c, elem, true, &ok);
	return ok;
}

int rg_chan_try_send(rg_chan_t *c, const void *elem)
{
	return rg__chan_send(c, elem, false) ? 0 : -EAGAIN;
}

int rg_chan_try_recv(rg_chan_t *c, void *elem, bool *ok)
{
	bool got;

	if (!rg__chan_recv(c, elem, false, &got))
		return -EAGAIN;
	if (ok)
		*ok = got;
	return 0;
}

/* Owned channels (a context's Done, a timer's) are receive-only for
 * their users, as Go's types make them: only the owner closes them,
 * through rg__chan_close. */
void rg_chan_close(rg_chan_t *c)
{
	if (!c)
		rg_panic("close of nil channel");
	if (c->release)
		rg_panic("close of a receive-only channel (a context's Done or a "
			 "timer's channel: cancel or stop its owner instead)");
	rg__chan_close(c);
}

void rg__chan_close(rg_chan_t *c)
{
	rg_sudog *sg, *wake = NULL;

	rg__lock(&c->lock);
	if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
		rg__unlock(&c->lock);
		rg_panic("close of closed channel");
	}
	/* Release: see rg__chan_recv's fast path. */
	atomic_store_explicit(&c->closed, 1, memory_order_release);
	RG_PROBE(chan_close, c);

	if (c->cap) {
		/* No send can claim a slot from here on.  Parked receivers
		 * get every value still in the ring first, claimed ones
		 * included (their senders are copying them in); only the
		 * receivers left over once it is drained see the close. */
		atomic_fetch_or_explicit(&c->tail, RG_RING_CLOSED, memory_order_acq_rel);
		for (;;) {
			bool pending;
			uint64_t h;
			settle(c, &wake);
			if (!chanq_live_first(&c->recvq) ||
			    ring_closed_drained(c, &pending, &h) || !pending)
				break;
			ring_wait_published(c, h);
		}
	}

	/* Receivers get the zero value and false; senders panic when they
	 * wake.  Appended behind what settle took, linked through next. */
	rg_sudog **tail = &wake;
	while (*tail)
		tail = &(*tail)->next;
	while ((sg = chanq_take(&c->recvq))) {
		rg__elem_zero(sg->elem, c->elem_size);
		sg->result = RG_SG_CLOSED;
		*tail = sg;
		tail = &sg->next;
	}
	while ((sg = chanq_take(&c->sendq))) {
		sg->result = RG_SG_CLOSED;
		*tail = sg;
		tail = &sg->next;
	}
	*tail = NULL;
	rg__unlock(&c->lock);
	rg__sudog_wake_list(wake);
}

size_t rg_chan_len(const rg_chan_t *c)
{
	return c ? rg__chan_qcount(c) : 0;
}

size_t rg_chan_cap(const rg_chan_t *c)
{
	return c ? c->cap : 0;
}
