// SPDX-License-Identifier: MIT
/*
 * chan_impl.h — what chan.c and select.c share: the channel, its wait
 * queues and the waiting records (Go's hchan, waitq and sudog).  The
 * invariants and the locking rules are at the top of chan.c.
 */
#ifndef RG_CHAN_IMPL_H
#define RG_CHAN_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rt.h"

/* What a waker did to a waiting record (rg_sudog.result). */
enum rg_sg_result {
	RG_SG_WAITING = 0,  /* nobody has taken it yet */
	RG_SG_DONE,         /* the value was handed over */
	RG_SG_CLOSED,       /* woken by close: no value */
	RG_SG_RETRY,        /* a select woken without a value: a waker
			       won its flag, then lost the buffered value
			       it meant for it to a lock-free receiver
			       (or the free slot to a sender); the
			       select runs again (chan.c, settle) */
};

/*
 * One goroutine (or foreign thread) waiting on one channel: it lives on
 * the waiter's stack for the duration of the wait.  A plain send or
 * receive queues one; a select queues one per case, all sharing the
 * select's `selected` flag and waiter.
 */
typedef struct rg_sudog rg_sudog;
struct rg_sudog {
	rg_sudog *next, *prev;       /* queue links (c->lock); next also
					links the wake list in close */
	rg_chan_t *c;                /* channel waited on (constant) */
	void *elem;                  /* send: the value; receive: its
					destination or NULL (c->lock) */
	rg_waiter_t *w;              /* whom to wake (constant) */
	_Atomic uint32_t *selected;  /* select: the flag that one waker
					CASes 0 -> 1 to win the select;
					NULL for a plain send/receive */
	uint32_t result;             /* enum rg_sg_result, written by the
					waker under c->lock before the
					wake, read by the waiter after it */
};

/* A FIFO of waiting records.  `first` is also read without the lock by
 * the lock-free fast paths, so it is atomic (plain moves on x86). */
typedef struct rg_chanq {
	rg_sudog *_Atomic first;
	rg_sudog *last;
} rg_chanq;

/* Bit 63 of `tail`: the channel is closed; no sender can claim a slot. */
#define RG_RING_CLOSED (UINT64_C(1) << 63)

struct rg_chan {
	/* Constants, the lock and what only the lock writes. */
	rg__lock_t lock;             /* protects the queues and `closed` */
	_Atomic uint32_t closed;     /* 0 or 1; set under lock, read anywhere */
	size_t cap;                  /* buffer slots (constant) */
	size_t elem_size;            /* bytes per element (constant) */
	size_t stride;               /* bytes per ring slot: an 8-byte stamp,
					then the element rounded up to 8; 0
					for elem_size 0, whose "ring" is a
					count in `tail` (constant) */
	uint64_t one_lap;            /* smallest power of two > cap: a ring
					position is lap * one_lap + index
					(constant) */
	rg_chanq recvq;              /* parked receivers (lock) */
	rg_chanq sendq;              /* parked senders (lock) */
	char *buf;                   /* cap * stride bytes right after this
					header, or in sbuf for an owned
					channel whose ring fits there
					(constant); none for cap 0 */
	uint32_t wgen;               /* rg__run_gen when a waiter last
					queued (lock): rg_chan_free tells
					abandoned waiters by it */
	void (*release)(rg_chan_t *c); /* owner's hook for rg_chan_free
					(constant; NULL: plain channel) */
	uint32_t freed;              /* RG_CHAN_FREED once rg_chan_free ran:
					past what malloc's free lists
					overwrite, so a second free panics
					unless the memory was reused */
	/* The ring's two ends, each on a line of its own (chan.c). */
	_Atomic uint64_t tail __attribute__((aligned(RG_CACHELINE)));
					/* next position a send claims, with
					   RG_RING_CLOSED once closed */
	unsigned char sbuf[RG_CACHELINE - 8];
					/* the rest of tail's line: the ring of
					   an owned channel when it fits (a
					   timer's one slot), else unused */
	_Atomic uint64_t head __attribute__((aligned(RG_CACHELINE)));
					/* next position a receive claims */
	_Atomic uint32_t sending __attribute__((aligned(RG_CACHELINE)));
					/* lock-free sends between their start
					   and their last look at c: the
					   receiver of their value may free c,
					   and rg_chan_free waits them out (a
					   line of its own: receivers read the
					   tail's) */
	uint32_t pad_;
	unsigned char spare[RG_CACHELINE - 8];
					/* the rest of sending's line: where an
					   owned channel whose ring is in sbuf
					   puts its owner's bytes (they run on
					   past the end of the struct) */
} __attribute__((aligned(RG_CACHELINE)));

/* An owned channel's ring goes in sbuf when it fits. */
#define RG_CHAN_SBUF_FITS(bytes) ((bytes) <= sizeof(((rg_chan_t *)0)->sbuf))

/* ---- the ring (buffered channels; chan.c explains it) -------------- */

static inline _Atomic uint64_t *rg__ring_stamp(const rg_chan_t *c, uint64_t pos)
{
	return (_Atomic uint64_t *)(void *)(c->buf + (pos & (c->one_lap - 1)) * c->stride);
}

/* Whether a published value waits at the head (a hint). */
static inline bool rg__ring_has_value(const rg_chan_t *c)
{
	if (c->stride == 0)
		return (atomic_load_explicit(&c->tail, memory_order_relaxed) &
			~RG_RING_CLOSED) != 0;
	uint64_t h = atomic_load_explicit(&c->head, memory_order_relaxed);
	return atomic_load_explicit(rg__ring_stamp(c, h), memory_order_relaxed) == h + 1;
}

/* Whether the slot at the tail is free for a send (closed: no). */
static inline bool rg__ring_has_space(const rg_chan_t *c)
{
	uint64_t t = atomic_load_explicit(&c->tail, memory_order_relaxed);
	if (c->stride == 0)
		return t < c->cap;  /* also false once closed */
	return !(t & RG_RING_CLOSED) &&
	       atomic_load_explicit(rg__ring_stamp(c, t), memory_order_relaxed) == t;
}

/* Elements in the buffer, claimed sends included (len(ch)).  The head
 * is read first, so the count is never negative; a racing reader may
 * see up to cap. */
static inline size_t rg__chan_qcount(const rg_chan_t *c)
{
	if (c->cap == 0)
		return 0;
	if (c->stride == 0)
		return (size_t)(atomic_load_explicit(&c->tail, memory_order_acquire) &
				~RG_RING_CLOSED);
	uint64_t h = atomic_load_explicit(&c->head, memory_order_acquire);
	uint64_t t = atomic_load_explicit(&c->tail, memory_order_acquire) & ~RG_RING_CLOSED;
	uint64_t mask = c->one_lap - 1, hi = h & mask, ti = t & mask;
	if (hi < ti)
		return (size_t)(ti - hi);
	if (hi > ti)
		return (size_t)(c->cap - hi + ti);
	return t == h ? 0 : c->cap;
}

#define RG_CHAN_FREED 0xf4eed0c5u

/* ---- element copies ----------------------------------------------- */

/* memcpy, with the sizes that channels mostly carry inlined (a call to
 * libc's memcpy costs as much as the rest of a buffered send). */
static inline void rg__elem_copy(void *dst, const void *src, size_t n)
{
	switch (n) {
	case 0:
		return;  /* also keeps NULL pointers away from memcpy */
	case 4:
		__builtin_memcpy(dst, src, 4);
		return;
	case 8:
		__builtin_memcpy(dst, src, 8);
		return;
	case 16:
		__builtin_memcpy(dst, src, 16);
		return;
	default:
		memcpy(dst, src, n);
	}
}

static inline void rg__elem_zero(void *dst, size_t n)
{
	if (dst && n)
		memset(dst, 0, n);
}

/* ---- operations (chan.c) ------------------------------------------- */

/* ch <- *elem.  block false: returns false at once instead of waiting
 * (NULL channel included).  Panics on a closed channel. */
bool rg__chan_send(rg_chan_t *c, const void *elem, bool block) RG_HIDDEN;

/* v, ok := <-ch.  Returns true when a receive completed, with *ok as for
 * rg_chan_recv; block false: returns false at once instead of waiting. */
bool rg__chan_recv(rg_chan_t *c, void *elem, bool block, bool *ok) RG_HIDDEN;

/*
 * c->lock held.  Tries a receive into elem (may be NULL) without
 * waiting.  Returns false if it would wait.  Else true with *ok: true
 * with a value, false when c is closed and drained (elem zeroed).
 * *wake: see above.
 */
bool rg__chan_recv_locked(rg_chan_t *c, void *elem, bool *ok,
			  rg_sudog **wake) RG_HIDDEN;

/*
 * c->lock held and c not closed.  Tries to send *elem without waiting.
 * Returns false if it would wait.  *wake: see above.
 */
bool rg__chan_send_locked(rg_chan_t *c, const void *elem,
			  rg_sudog **wake) RG_HIDDEN;

/* The following run with c->lock held.  *wake is a list (linked through
 * next) of records taken and completed, whose owners the caller wakes
 * with rg__sudog_wake_list once c is unlocked; the caller starts it
 * NULL, and it may grow even when the operation returns false. */
/* c->lock held.  Appends sg to q. */
void rg__chanq_push(rg_chanq *q, rg_sudog *sg) RG_HIDDEN;

/* c->lock held.  Unlinks sg from q if it is still there (a waker that
 * lost the select race may have unlinked it already). */
void rg__chanq_remove(rg_chanq *q, rg_sudog *sg) RG_HIDDEN;

/* Wakes the owner of sg, whose result is set.  Call with no channel
 * lock held; sg may be gone once this returns. */
static inline void rg__sudog_wake(rg_sudog *sg)
{
	rg__waiter_wake(sg->w);
}

/* Wakes every record of a list linked through next (no lock held);
 * _p: go_ready fires only if probes (rg__waiter_wake_p). */
static inline void rg__sudog_wake_list_p(rg_sudog *sg, bool probes)
{
	while (sg) {
		rg_sudog *next = sg->next;  /* before its owner returns */
		rg__waiter_wake_p(sg->w, probes);
		sg = next;
	}
}

static inline void rg__sudog_wake_list(rg_sudog *sg)
{
	rg__sudog_wake_list_p(sg, true);
}

/*
 * c->lock held, buffered c, a record of the caller's just pushed on the
 * queue of direction `send`: whether the buffer became ready for it
 * meanwhile (a lock-free peer that came before the record was visible).
 * Then the caller must unlink its record and try again instead of
 * parking.  The fence is the waiter's half of chan.c's Dekker pairing.
 */
static inline bool rg__chan_recheck(const rg_chan_t *c, bool send)
{
	atomic_thread_fence(memory_order_seq_cst);
	return send ? rg__ring_has_space(c) : rg__ring_has_value(c);
}

/* ---- channels owned by another object (time.c) --------------------- */

/*
 * A timer's channel and its timer are one block: the channel, its
 * buffer, then the owner's bytes (at rg__chan_extra(c), 8-byte
 * aligned).  A ring that fits in the rest of tail's line (sbuf: a
 * timer's one 16-byte slot) goes there, and the owner's bytes then start
 * in the rest of sending's line (spare) and run on past the struct: a
 * timer block is 384 bytes instead of 448 (less memory to fault in and
 * to write when a million are made).  The owner allocates the block
 * (rg__chan_owned_size(elem, cap) + its own bytes, 64-byte aligned),
 * sets the channel up in it with
 * rg__chan_init_owned, and frees it itself.  rg_chan_free(c) checks that
 * nobody waits on c, then calls release(c) instead of freeing; users may
 * not close it (rg_chan_close panics), the owner closes it with
 * rg__chan_close.  A context's Done channel is owned the same way.
 */
static inline size_t rg__chan_stride(size_t elem_size)
{
	return elem_size ? sizeof(uint64_t) + ((elem_size + 7) & ~(size_t)7) : 0;
}

static inline size_t rg__chan_owned_size(size_t elem_size, size_t cap)
{
	size_t bytes = cap * rg__chan_stride(elem_size);
	if (bytes && RG_CHAN_SBUF_FITS(bytes))
		return offsetof(rg_chan_t, spare);
	return sizeof(rg_chan_t) + ((bytes + 15) & ~(size_t)15);
}

rg_chan_t *rg__chan_init_owned(void *mem, size_t elem_size, size_t cap,
			       void (*release)(rg_chan_t *c)) RG_HIDDEN;

/* rg_chan_close for the owner of an owned channel (rg_chan_close
 * panics on one: it is receive-only for everyone else).  c is not NULL. */
void rg__chan_close(rg_chan_t *c) RG_HIDDEN;

/* Whether goroutines or threads are queued on c (rg_chan_free's check,
 * without the lock: a diagnostic for a freeing owner, who must already
 * know that nobody can come). */
static inline bool rg__chan_has_waiters(rg_chan_t *c)
{
	return atomic_load_explicit(&c->recvq.first, memory_order_relaxed) ||
	       atomic_load_explicit(&c->sendq.first, memory_order_relaxed);
}

/* The owner's bytes of a channel set up by rg__chan_init_owned. */
static inline void *rg__chan_extra(rg_chan_t *c)
{
	return (char *)c + rg__chan_owned_size(c->elem_size, c->cap);
}

/* Puts elem in the empty ring of c (cap >= 1, elem_size > 0) while
 * nobody else can see c: an owned channel just set up, not yet
 * published (a timer's channel made with the value its timer held).
 * What a non-blocking rg__chan_send would do, without its atomics. */
void rg__chan_prefill(rg_chan_t *c, const void *elem) RG_HIDDEN;

/* Drops every value buffered in c without waiting (Go 1.23's
 * timerchandrain: a stopped or reset timer leaves no stale value).
 * Returns true if it dropped one.  Never blocks beyond c's lock; any
 * thread, timer callbacks included.  Only for channels that have no
 * parked senders (a timer's). */
bool rg__chan_discard(rg_chan_t *c) RG_HIDDEN;

/* Parks the caller forever (a nil channel, select {}); the deadlock
 * detector reports it once nothing else runs.  A foreign thread sleeps
 * forever without counting as a reference on the scheduler. */
_Noreturn void rg__block_forever(rg_wait_reason_t reason) RG_HIDDEN;

#endif
