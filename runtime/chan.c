// SPDX-License-Identifier: MIT
/*
 * chan.c — channels (Go's chan T): make, send, receive, close, len, cap.
 * select lives in select.c; the shared structures in chan_impl.h.
 *
 * Invariants (c->lock held).  The queues may also hold records of a
 * select that has already been won on another channel (see the last
 * point); the first two invariants count only live records.
 *
 *   - At least one of c->sendq and c->recvq is empty, except when a
 *     single select is parked on an unbuffered channel with both a send
 *     and a receive case on it: then both queues hold records of that
 *     one select, as many as it has cases on c.
 *   - Buffered channel: recvq non-empty implies qcount == 0 (a receiver
 *     parks only when the buffer is empty, and a send hands its value to
 *     a parked receiver before it would fill the buffer); sendq non-empty
 *     implies qcount == cap.
 *   - Unbuffered channel: qcount == 0 always; every value moves straight
 *     from a sender's element to a receiver's.
 *   - closed never goes back to 0.  Once closed, sendq is empty (close
 *     wakes every sender, which panics) and stays empty (sends panic
 *     before queueing); recvq is empty (close wakes every receiver) and
 *     stays empty (a receive on a closed channel never waits).
 *   - A send or receive that has parked never touches c again once
 *     woken: the peer that completed it may free c at once (a select
 *     does touch its channels until it returns; it relocks them).
 *   - A queued rg_sudog is on its owner's stack; the owner is parked (or
 *     asleep, on a foreign thread) and cannot leave before a waker sets
 *     its result and wakes it.  A record of a select that another waker
 *     has already won may still sit in a queue: dequeue skips it after
 *     failing the CAS on its `selected` flag, and the select removes
 *     every record it left behind under the channel locks before its
 *     stack frame goes away.
 *
 * Locking rules:
 *
 *   - c->lock protects every field except the constants (cap,
 *     elem_size, buf) and the two words that fast paths read without it:
 *     `closed` and `qcount` (and the queues' `first`) are atomics,
 *     written only under the lock.
 *   - A waker copies the value, sets the record's result and unlinks it
 *     under the lock, and wakes its owner after unlocking: a woken
 *     goroutine lands in our P's runnext and would otherwise run into the
 *     lock we still hold.
 *   - A select locks its channels in address order, each once; no other
 *     code holds two channel locks.  rg__lock_t blocks the thread, so no
 *     channel lock is ever held across a park: the parker's unlockf
 *     releases it once the goroutine is off its stack.
 *   - No allocation and no system call of ours while a lock is held
 *     (waking a foreign thread's futex happens after unlocking); the
 *     one exception is a select of more than RG_SELECT_STACK live cases,
 *     which allocates its records.
 *
 * Memory order: a send happens before the receive that takes its value
 * (both hold c->lock, or the value travels with the wake-up, which
 * publishes it); close happens before a receive that sees the channel
 * closed (the same lock, or the acquire load of `closed` in the fast
 * path, which pairs with the release store in close).
 *
 * Rejected designs:
 *
 *   - Lock-free channels (a bounded MPMC ring with per-slot sequence
 *     numbers, Vyukov's; proposed for Go in golang.org/issue/8899 and
 *     never merged).
 *     Buffered send/receive get faster under contention, but close,
 *     select over several channels and FIFO hand-off to parked waiters
 *     all need one consistent view of buffer and queues, and the
 *     lock-free version of those is much harder to get right for a
 *     small gain: the lock is uncontended in the common case and held
 *     for tens of instructions.
 *   - Waiting records from a pool or the heap (Go's acquireSudog).  Go
 *     must, because its stacks move; ours never do, so the record lives
 *     in the waiter's frame: no allocation, no failure, no free list.
 *   - A condition variable (or one futex) per channel, every waiter
 *     woken to retry.  Thundering herds, no FIFO order, no direct
 *     hand-off, and it blocks threads where goroutines must park.
 *   - Passing every value through the buffer, even to a parked
 *     receiver.  A direct hand-off is one copy instead of two and
 *     leaves the buffer slot free.
 *   - Readying the woken goroutine under the lock.  See above.
 *   - A buffer allocated apart from the channel: one allocation holds
 *     both, and the element slots follow the header's cache line.
 */
#include "chan_impl.h"

#include <errno.h>
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

/* ---- the buffer ---------------------------------------------------- */

static inline void *slot(rg_chan_t *c, size_t i)
{
	return c->buf + i * c->elem_size;
}

static inline size_t qcount(const rg_chan_t *c)
{
	return atomic_load_explicit(&c->qcount, memory_order_relaxed);
}

/* Release: pairs with the fast paths' acquire loads (see recv_empty). */
static inline void set_qcount(rg_chan_t *c, size_t n)
{
	atomic_store_explicit(&c->qcount, n, memory_order_release);
}

static inline size_t next_index(rg_chan_t *c, size_t i)
{
	return ++i == c->cap ? 0 : i;
}

/* ---- operations under the lock -------------------------------------- */

bool rg__chan_send_locked(rg_chan_t *c, const void *elem, rg_sudog **wake)
{
	size_t n = qcount(c);
	rg_sudog *sg;

	/* A parked receiver (the buffer is then empty) takes the value
	 * straight into its destination. */
	if (n == 0 && (sg = chanq_take(&c->recvq))) {
		if (sg->elem)
			rg__elem_copy(sg->elem, elem, c->elem_size);
		sg->result = RG_SG_DONE;
		*wake = sg;
		return true;
	}
	*wake = NULL;
	if (n < c->cap) {
		rg__elem_copy(slot(c, c->sendx), elem, c->elem_size);
		c->sendx = next_index(c, c->sendx);
		set_qcount(c, n + 1);
		return true;
	}
	return false;
}

bool rg__chan_recv_locked(rg_chan_t *c, void *elem, bool *ok, rg_sudog **wake)
{
	size_t n = qcount(c);
	rg_sudog *sg;

	*wake = NULL;
	if (n > 0) {
		/* Take the head; if the buffer was full, the first parked
		 * sender's value moves into the slot just freed, which is
		 * the new tail: FIFO order holds across buffer and queue. */
		void *p = slot(c, c->recvx);
		if (elem)
			rg__elem_copy(elem, p, c->elem_size);
		if (n == c->cap && (sg = chanq_take(&c->sendq))) {
			rg__elem_copy(p, sg->elem, c->elem_size);
			c->recvx = next_index(c, c->recvx);
			c->sendx = c->recvx;
			sg->result = RG_SG_DONE;
			*wake = sg;
		} else {
			c->recvx = next_index(c, c->recvx);
			set_qcount(c, n - 1);
		}
		*ok = true;
		return true;
	}
	/* Empty buffer: a parked sender means an unbuffered channel; take
	 * the value straight from its frame. */
	if ((sg = chanq_take(&c->sendq))) {
		if (elem)
			rg__elem_copy(elem, sg->elem, c->elem_size);
		sg->result = RG_SG_DONE;
		*wake = sg;
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
 *
 * c->lock held; queues sg (elem and c set) on q and waits until a waker
 * takes it.  Returns with c unlocked and sg->result set.  On a foreign
 * thread rg__waiter_wait holds a reference on the scheduler while it
 * sleeps (it may ready goroutines once woken, so goroutines that all
 * wait around it are not deadlocked yet).
 */
static void wait_locked(rg_chan_t *c, rg_chanq *q, rg_sudog *sg,
			rg_wait_reason_t reason)
{
	rg_waiter_t w;

	rg__waiter_init(&w);
	sg->w = &w;
	sg->selected = NULL;
	sg->result = RG_SG_WAITING;
	rg__chanq_push(q, sg);
	rg__waiter_wait(&w, unlock_chan, c, reason);
}

/* ---- the API ------------------------------------------------------- */

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
	if (posix_memalign(&mem, RG_CACHELINE, sizeof(rg_chan_t) + bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	rg_chan_t *c = mem;
	memset(c, 0, sizeof(*c));
	c->cap = cap;
	c->elem_size = elem_size;
	c->buf = (char *)(c + 1);  /* no bytes there for signal channels */
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
	memset(c, 0, sizeof(*c));
	c->cap = cap;
	c->elem_size = elem_size;
	c->buf = (char *)(c + 1);
	c->release = release;
	RG_PROBE(chan_make, c, elem_size, cap);
	return c;
}

bool rg__chan_discard(rg_chan_t *c)
{
	bool any = false, ok;

	while (rg__chan_recv(c, NULL, false, &ok) && ok)
		any = true;
	return any;
}

/* The non-blocking fast paths (Go's chansend/chanrecv with block false)
 * decide "would wait" from two lock-free loads each.  Each load is of one
 * word that changes only under the lock; the reasoning is Go's. */

/* Send: not closed, then full.  A channel that is open and full at two
 * instants was open and full in between (closing never makes a channel
 * ready for a send that was not), so we report what we would have seen
 * at that moment; the two loads may even be reordered. */
static inline bool send_would_block(rg_chan_t *c)
{
	if (atomic_load_explicit(&c->closed, memory_order_relaxed))
		return false;
	if (c->cap == 0)
		return chanq_first(&c->recvq) == NULL;
	return atomic_load_explicit(&c->qcount, memory_order_relaxed) == c->cap;
}

/* Receive: empty.  The caller then checks closed, and empty again. */
static inline bool recv_empty(rg_chan_t *c)
{
	/* Acquire: the load of `closed` that follows must not move before
	 * this one.  Otherwise "open, then closed and drained" could read
	 * as "open and empty" and we would report a closed channel as
	 * merely not ready. */
	if (c->cap == 0)
		return atomic_load_explicit(&c->sendq.first,
					    memory_order_acquire) == NULL;
	return atomic_load_explicit(&c->qcount, memory_order_acquire) == 0;
}

bool rg__chan_send(rg_chan_t *c, const void *elem, bool block)
{
	rg_sudog *wake;
	rg_sudog sg;

	if (RG_UNLIKELY(!c)) {
		if (!block)
			return false;
		rg__block_forever(RG_WAIT_CHAN_SEND_NIL);
	}
	if (RG_UNLIKELY(!elem && c->elem_size))
		rg_panic("send of a NULL element on a channel of %zu-byte elements",
			 c->elem_size);
	if (!block && send_would_block(c))
		return false;

	rg__lock(&c->lock);
	if (RG_UNLIKELY(atomic_load_explicit(&c->closed, memory_order_relaxed))) {
		rg__unlock(&c->lock);
		rg_panic("send on closed channel");
	}
	if (rg__chan_send_locked(c, elem, &wake)) {
		rg__unlock(&c->lock);
		RG_PROBE(chan_send, c);
		if (wake)
			rg__sudog_wake(wake);
		RG_PCOUNT(nchanop);
		return true;
	}
	if (!block) {
		rg__unlock(&c->lock);
		return false;
	}

	/* Wait until a receiver takes the value from our frame.  Once
	 * woken we must not touch c: the receiver may have freed it. */
	sg.c = c;
	sg.elem = (void *)elem;
	RG_PROBE(chan_send_block, c);
	wait_locked(c, &c->sendq, &sg, RG_WAIT_CHAN_SEND);
	if (sg.result != RG_SG_DONE)
		rg_panic("send on closed channel");
	RG_PCOUNT(nchanop);
	RG_PROBE(chan_send, sg.c);  /* the pointer only: c may be freed */
	return true;
}

bool rg__chan_recv(rg_chan_t *c, void *elem, bool block, bool *ok)
{
	rg_sudog *wake;
	rg_sudog sg;

	if (RG_UNLIKELY(!c)) {
		if (!block)
			return false;
		rg__block_forever(RG_WAIT_CHAN_RECV_NIL);
	}
	if (!block && recv_empty(c)) {
		/* Acquire pairs with the release store in close: a value
		 * sent before the close is visible to the re-check. */
		if (!atomic_load_explicit(&c->closed, memory_order_acquire))
			return false;
		/* Closed for good; a value may have arrived between the
		 * two loads. */
		if (recv_empty(c)) {
			rg__elem_zero(elem, c->elem_size);
			*ok = false;
			return true;
		}
	}

	rg__lock(&c->lock);
	if (rg__chan_recv_locked(c, elem, ok, &wake)) {
		rg__unlock(&c->lock);
		RG_PROBE(chan_recv, c);
		if (wake)
			rg__sudog_wake(wake);
		RG_PCOUNT(nchanop);
		return true;
	}
	if (!block) {
		rg__unlock(&c->lock);
		return false;
	}

	/* Wait until a sender writes into elem, or close zeroes it.  Once
	 * woken we must not touch c (see above). */
	sg.c = c;
	sg.elem = elem;
	RG_PROBE(chan_recv_block, c);
	wait_locked(c, &c->recvq, &sg, RG_WAIT_CHAN_RECV);
	*ok = sg.result == RG_SG_DONE;
	RG_PCOUNT(nchanop);
	RG_PROBE(chan_recv, sg.c);  /* the pointer only: c may be freed */
	return true;
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

void rg_chan_close(rg_chan_t *c)
{
	rg_sudog *sg, *wake = NULL, **tail = &wake;

	if (!c)
		rg_panic("close of nil channel");
	rg__lock(&c->lock);
	if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
		rg__unlock(&c->lock);
		rg_panic("close of closed channel");
	}
	/* Release: see rg__chan_recv's fast path. */
	atomic_store_explicit(&c->closed, 1, memory_order_release);
	RG_PROBE(chan_close, c);

	/* Receivers get the zero value and false; senders panic when they
	 * wake.  Collect them, linked through `next`, and wake them once
	 * the lock is released. */
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

	while (wake) {
		sg = wake;
		wake = sg->next;  /* read before the owner may return */
		rg__sudog_wake(sg);
	}
}

size_t rg_chan_len(const rg_chan_t *c)
{
	return c ? qcount(c) : 0;
}

size_t rg_chan_cap(const rg_chan_t *c)
{
	return c ? c->cap : 0;
}
