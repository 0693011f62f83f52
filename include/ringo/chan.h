// SPDX-License-Identifier: MIT
/* Part of <ringo.h>; include that instead. */
#ifndef RINGO_CHAN_H
#define RINGO_CHAN_H

/*
 * Channels and select, as in Go.
 *
 * A channel carries fixed-size elements, copied in and out with memcpy:
 * the sender's element is copied into the channel (or straight into a
 * waiting receiver), the receiver's destination is written from it.
 * Pointers passed to these calls are only used for the duration of the
 * call.  elem_size 0 makes a signal channel (Go's chan struct{}): its
 * element pointers may be NULL.
 *
 * A NULL rg_chan_t * is Go's nil channel: sends and receives on it block
 * forever, it is never ready in a select, closing it panics.
 *
 * Every call below may be made from a goroutine or from a foreign OS
 * thread of the host program (one that is not a goroutine) once the
 * runtime runs (rg_main or rg_init): a goroutine that must wait parks,
 * a foreign thread sleeps on a futex.
 *
 * Memory: as in Go, a send happens before the matching receive
 * completes, and close happens before a receive that returns because
 * the channel is closed.
 */

/* A channel (Go's chan T).  Opaque. */
typedef struct rg_chan rg_chan_t;

/* The largest element a channel carries, as Go's 64 KiB limit. */
#define RG_CHAN_ELEM_MAX 65536

/*
 * Makes a channel of elem_size-byte elements with room for cap of them
 * (cap 0: unbuffered, every send waits for its receiver).  Returns NULL,
 * with errno EINVAL when elem_size is over RG_CHAN_ELEM_MAX, or ENOMEM
 * when memory (or elem_size * cap) runs out.  rg_chan_send panics on a
 * NULL element unless elem_size is 0.  The
 * caller owns it: free it with rg_chan_free.  Any thread.
 */
RG_API rg_chan_t *rg_chan_make(size_t elem_size, size_t cap);

/* make(chan T, n): RG_CHAN(int, 16). */
#define RG_CHAN(T, n) rg_chan_make(sizeof(T), (size_t)(n))

/*
 * Releases c.  Go has a collector; C does not: call this once no
 * goroutine or thread can use c any more (none blocked on it, none about
 * to call into it).  A send or receive whose value has been handed over
 * counts as done even if its call has not returned yet: it no longer
 * touches c.  A select touches its channels until it returns.  Panics if
 * goroutines are still queued on c ("free of a channel that goroutines
 * wait on"), and on a second free ("free of a freed channel").  After
 * rg_main returns (or rg_shutdown), goroutines it abandoned while they
 * waited on c no longer exist and no longer count.  Values left in the
 * buffer are dropped.  NULL is a no-op.  Any thread.
 */
RG_API void rg_chan_free(rg_chan_t *c);

/*
 * ch <- *elem: copies *elem into c, waiting while c has no room (no
 * buffer space and no waiting receiver).  Panics "send on closed
 * channel" if c is closed, or is closed while we wait.  c NULL: blocks
 * forever.  elem may be NULL only when the element size is 0.
 * Any thread.
 */
RG_API void rg_chan_send(rg_chan_t *c, const void *elem);

/*
 * v, ok := <-ch: waits for an element and copies it to *elem.  Returns
 * true when a value was received, false when c is closed and drained (then
 * *elem is zeroed).  elem may be NULL to discard the value.  c NULL:
 * blocks forever.  Any thread.
 */
RG_API bool rg_chan_recv(rg_chan_t *c, void *elem);

/*
 * close(ch): no more values will be sent.  Waiting receivers wake with
 * the zero value and false once the buffer is drained; waiting and later
 * senders panic "send on closed channel".  Panics "close of closed
 * channel" or "close of nil channel", and "close of a receive-only
 * channel" for a context's Done channel or a timer's channel, which are
 * Go's <-chan: their owner closes or sends on them.  Any thread.
 */
RG_API void rg_chan_close(rg_chan_t *c);

/* len(ch): elements queued in the buffer now (0 for NULL).  A snapshot
 * that may be stale by the time it returns.  Any thread. */
RG_API size_t rg_chan_len(const rg_chan_t *c);

/* cap(ch): the buffer's capacity (0 for NULL or unbuffered).  Any thread. */
RG_API size_t rg_chan_cap(const rg_chan_t *c);

/*
 * select { case ch <- *elem: return 0; default: return -EAGAIN }
 * Returns 0 if sent without waiting (a receiver was waiting or there was
 * buffer space), -EAGAIN otherwise (NULL channel included).  Panics, as
 * rg_chan_send does, if c is closed.  Any thread, and also from code
 * that must not block (timer callbacks).
 */
RG_API int rg_chan_try_send(rg_chan_t *c, const void *elem);

/*
 * select { case v, ok := <-ch: return 0; default: return -EAGAIN }
 * Returns 0 if a receive completed without waiting: *ok (when ok is not
 * NULL) is true with a value in *elem, or false if c is closed and
 * drained (*elem zeroed).  -EAGAIN if nothing was ready (NULL channel
 * included); *elem and *ok are then untouched.  elem may be NULL.
 * Any thread.
 */
RG_API int rg_chan_try_recv(rg_chan_t *c, void *elem, bool *ok);

/*
 * for var := range ch { ... }: receives into var (an lvalue of the
 * channel's element type) until c is closed and drained.  ch is
 * evaluated once.  break and continue work as in any loop.
 *
 *     int v;
 *     RG_RANGE(jobs, v) { sum += v; }
 */
#define RG_RANGE(ch, var) \
	for (rg_chan_t *rg_range_c_ = (ch); rg_chan_recv(rg_range_c_, &(var));)

/* ---- select ------------------------------------------------------- */

enum { RG_CASE_RECV = 0, RG_CASE_SEND = 1 };

/*
 * One case of a select.  Build it with RG_SEND / RG_RECV; the runtime
 * writes only `ok`.
 */
typedef struct rg_case {
	rg_chan_t *c;  /* channel; NULL: the case is never ready */
	void *elem;    /* send: the value to send; recv: where to store the
			  value (NULL: discard it) */
	int dir;       /* RG_CASE_SEND or RG_CASE_RECV */
	bool ok;       /* set on the chosen case: recv true with a value,
			  false if the channel was closed; send true */
} rg_case_t;

/*
 * The cases, built by value.  Inline functions, not compound literals:
 * they are the same code in C and C++ (which has no compound literals,
 * and designated initializers only from C++20), and they check that ch
 * is a channel.  An automatic array of cases may be initialised with
 * them, as with any expression.
 */
static inline rg_case_t rg_case_make(rg_chan_t *c, const void *elem, int dir)
{
	rg_case_t k;
	k.c = c;
	k.elem = (void *)elem; /* a send only reads it */
	k.dir = dir;
	k.ok = false;
	return k;
}

/* case ch <- *ptr: */
#define RG_SEND(ch, ptr) rg_case_make((ch), (ptr), RG_CASE_SEND)
/* case v, ok := <-ch:  (ptr may be NULL) */
#define RG_RECV(ch, ptr) rg_case_make((ch), (ptr), RG_CASE_RECV)

/*
 * select over cases[0..n-1].  When several cases are ready one is chosen
 * uniformly at random; block true waits until one is, block false is a
 * select with a default: branch: it returns -1 at once when none is
 * ready (the default branch's index, not an error code).
 * Returns the index of the case that ran; a chosen send to a closed
 * channel panics, a chosen receive sets cases[i].ok.  The same channel
 * may appear in several cases, sends and receives mixed.  n == 0 with
 * block true blocks forever (select {}).  At most 65535 cases.
 * Any thread.
 *
 *     int v; bool stop;
 *     rg_case_t cs[] = { RG_RECV(jobs, &v), RG_RECV(quit, NULL) };
 *     switch (rg_select(cs, 2, true)) {
 *     case 0: if (!cs[0].ok) ...closed...; break;
 *     case 1: stop = true; break;
 *     }
 */
RG_API int rg_select(rg_case_t *cases, int n, bool block);

#endif /* RINGO_CHAN_H */
