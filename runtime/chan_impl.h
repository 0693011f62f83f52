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
 * the non-blocking fast paths, so it is atomic (plain moves on x86). */
typedef struct rg_chanq {
	rg_sudog *_Atomic first;
	rg_sudog *last;
} rg_chanq;

struct rg_chan {
	rg__lock_t lock;             /* protects everything but constants */
	_Atomic uint32_t closed;     /* 0 or 1; set under lock, read anywhere */
	_Atomic size_t qcount;       /* elements in buf; written under lock,
					read anywhere (len, fast paths) */
	size_t cap;                  /* buffer slots (constant) */
	size_t elem_size;            /* bytes per element (constant) */
	size_t sendx;                /* next slot a send fills (lock) */
	size_t recvx;                /* next slot a receive takes (lock) */
	rg_chanq recvq;              /* parked receivers (lock) */
	rg_chanq sendq;              /* parked senders (lock) */
	char *buf;                   /* cap * elem_size bytes right after
					this header (constant); none for
					elem_size 0 */
	uint32_t wgen;               /* rg__run_gen when a waiter last
					queued (lock): rg_chan_free tells
					abandoned waiters by it */
	void (*release)(rg_chan_t *c); /* owner's hook for rg_chan_free
					(constant; NULL: plain channel) */
	uint32_t freed;              /* RG_CHAN_FREED once rg_chan_free ran:
					last, past what malloc's free lists
					overwrite, so a second free panics
					unless the memory was reused */
} __attribute__((aligned(RG_CACHELINE)));

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

/* The following run with c->lock held. */

/*
 * c->lock held.  Tries a receive into elem (may be NULL) without
 * waiting.  Returns false if it would wait.  Else true with *ok: true
 * with a value, false when c is closed and drained (elem zeroed).
 * *wake: a parked sender to wake once c is unlocked (rg__sudog_wake), or
 * NULL.
 */
bool rg__chan_recv_locked(rg_chan_t *c, void *elem, bool *ok,
			  rg_sudog **wake) RG_HIDDEN;

/*
 * c->lock held and c not closed.  Tries to send *elem without waiting.
 * Returns false if it would wait.  *wake: a parked receiver to wake once
 * c is unlocked, or NULL.
 */
bool rg__chan_send_locked(rg_chan_t *c, const void *elem,
			  rg_sudog **wake) RG_HIDDEN;

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

/* ---- channels owned by another object (time.c) --------------------- */

/*
 * A timer's channel and its timer are one block: the channel, its
 * buffer, then the owner's bytes (at rg__chan_extra(c), 16-byte
 * aligned).  The owner allocates the block (rg__chan_owned_size(elem,
 * cap) + its own bytes, 64-byte aligned), sets the channel up in it with
 * rg__chan_init_owned, and frees it itself.  rg_chan_free(c) checks that
 * nobody waits on c, then calls release(c) instead of freeing.
 */
static inline size_t rg__chan_owned_size(size_t elem_size, size_t cap)
{
	size_t buf = (cap * elem_size + 15) & ~(size_t)15;
	return sizeof(rg_chan_t) + buf;
}

rg_chan_t *rg__chan_init_owned(void *mem, size_t elem_size, size_t cap,
			       void (*release)(rg_chan_t *c)) RG_HIDDEN;

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
