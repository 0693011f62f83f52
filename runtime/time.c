// SPDX-License-Identifier: MIT
/*
 * time.c — the public time API (Go's time.Timer, Ticker, After,
 * AfterFunc) on the per-P timer heaps of timer.c.
 *
 * A public timer (struct rg_time_timer) embeds one heap node (rg_timer,
 * always one-shot).  rg_after's lives in the same block as its channel
 * (one slab block, see slab.c: the channel, its one slot in the rest of
 * the ring tail's line, the timer from the rest of the `sending` line
 * on; chan_impl.h, 384 bytes).  The others are a 128-byte block of
 * their own, and a timer's or ticker's channel is made by the first
 * rg_timer_chan/rg_ticker_chan (a 320-byte block): until then a fire
 * keeps its value in the timer (held, pending), and the channel starts
 * with it.  Nothing can tell: the value is only ever received through
 * the channel.  A million timers that are made and stopped, or that
 * fire before anyone asks for their channel, fault in 128 MB instead of
 * 384.  The node's fn, tmr_fire, runs on a
 * scheduler thread when the node is due: it sends the due time on the
 * channel without blocking (a ticker then re-arms its node for the next
 * multiple of the period), or starts the AfterFunc goroutine.
 *
 * Invariants (t->lock held):
 *   - active: the timer is armed for the current period (a ticker:
 *     running).  A node in a heap implies active; active with the node
 *     not in a heap means a fire is in flight (popped, tmr_fire not yet
 *     past the lock).
 *   - Only code holding t->lock arms the node (rg__timer_add), or the
 *     constructor before anyone else can see t; the heap only ever
 *     disarms it (the pop before fn).  So tmr_fire, once it
 *     holds the lock, knows its fire is stale if the timer was stopped
 *     (!active) or re-armed since the pop (the node is ARMED again): a
 *     stale fire sends nothing.  Two fires in flight at once (re-armed
 *     and popped again before the first took the lock) both find the
 *     node IDLE; the first sends the new period's value and the second
 *     finds !active (one-shot) or the node re-armed (ticker).
 *   - refs counts the owner's reference plus one per arming of the node
 *     (a popped node's fn holds its arming's reference until it is past
 *     the lock).  Whoever drops the last one frees the block.  So the
 *     owner may free a timer whose fire is in flight: rg__timer_del
 *     cannot wait for a one-shot fn, and does not need to.
 *   - Stop and Reset discard a value buffered in the channel (or held
 *     for a channel not yet made), under the lock, after disarming:
 *     together with the stale-fire rule, no value of an earlier period
 *     can be received once they return (Go 1.23).
 *   - c is set once, under the lock (rg_timer_chan), and never changes
 *     after; held is only set while c is NULL, and moves into the channel
 *     when it is made.
 *
 * Lock order: t->lock, then a heap's tlock (arming, disarming), then the
 * channel's lock (sending, discarding).  The channel code never calls
 * back into us while holding its lock (rg_chan_free calls the release
 * hook after unlocking).
 *
 * Rejected designs:
 *   - Tickers as periodic heap nodes (timer.c's period > 0).  Stopping
 *     one must wait for a running fn (rg__timer_del spins on FIRING),
 *     and that fn needs t->lock to check for staleness, which Stop holds:
 *     a deadlock, or a lock dropped and retaken around the wait with the
 *     staleness reasoning redone.  A one-shot node re-armed by its own fn
 *     under t->lock keeps one rule for both kinds; the next due time is
 *     computed from the previous due time, never from "now", so ticks
 *     stay at start + n*d.
 *   - Go's sendLock and seq counter (Go 1.23's time.go).  Go needs them
 *     because its timer lock must not be held across the channel send;
 *     our timer lock is per timer and only ever nests the short heap and
 *     channel locks, so one lock does both jobs.
 *   - Go 1.23's "unbuffered" timer channels (cap 0, the timer queued
 *     only while a receiver blocks).  It needs hooks deep in the
 *     channel's receive and select paths; discarding the buffered value
 *     on Stop/Reset gives the same guarantee with one small call.
 *   - A goroutine per timer (the old tests' time.After stand-in): a
 *     stack per pending timer, and Stop cannot reach into a sleep.
 *   - A pool of freed timers: it would hide use-after-free from
 *     AddressSanitizer, the only detector a C user has.
 */
#include "chan_impl.h"

#include <errno.h>
#include <stdlib.h>

#include "probes.h"

enum {
	TK_TIMER,   /* rg_timer_new: rg_timer_free frees it */
	TK_TICKER,  /* rg_ticker_new */
	TK_AFTER,   /* rg_after: the channel is the handle */
	TK_FUNC,    /* rg_after_func: no channel */
};

struct rg_time_timer {
	/* What Stop touches fits one cache line, the channel's `sending`
	 * line: the lock and the node's first fields (its cold `stopped`
	 * hook and what follows spill over). */
	rg__lock_t lock;             /* guards what is marked (lock) */
	int16_t refs;                /* owner + one per arming (lock) */
	bool active;                 /* armed for this period (lock) */
	uint8_t kind;                /* TK_* (constant) */
	bool held;                   /* a fire's value waits in pending for
					the channel (c NULL) (lock) */
	rg_timer node;               /* heap node; fn tmr_fire, arg this */
	int64_t period;              /* ticker (lock) */
	int64_t pending;             /* the held value (lock) */
	/* Set once (lock; release), then constant; NULL: not made yet,
	 * and always for TK_FUNC. */
	rg_chan_t *_Atomic c;
	void (*fn)(void *);          /* TK_FUNC (constant) */
	void *arg;
};

/* A ticker is a timer with a period; the distinct type keeps the two
 * APIs apart at compile time. */
struct rg_time_ticker {
	struct rg_time_timer t;
};

typedef struct rg_time_timer tmr;

/* now + d, saturated: d <= 0 is now, a d past the clock's end never. */
static int64_t due_in(int64_t d)
{
	return rg__deadline_in(d);
}

/* Slab blocks (slab.c says why not malloc): rg_after's channel and
 * timer in one (after_slab); the other timers alone (tmr_slab); their
 * channels once asked for (chan_slab). */
static rg__slab_t after_slab, tmr_slab, chan_slab;
static pthread_once_t tmr_slab_once = PTHREAD_ONCE_INIT;
static size_t chan_bytes;

static void tmr_slab_init(void)
{
	chan_bytes = rg__chan_owned_size(sizeof(int64_t), 1);
	rg__slab_init(&after_slab, chan_bytes + sizeof(struct rg_time_timer));
	rg__slab_init(&tmr_slab, sizeof(struct rg_time_timer));
	rg__slab_init(&chan_slab, chan_bytes);
}

static void tmr_destroy(tmr *t)
{
	rg_chan_t *c = atomic_load_explicit(&t->c, memory_order_relaxed);
	if (t->kind == TK_AFTER) {
		RG_PROBE(chan_free, c);  /* its chan_make fired in init_owned */
		rg__slab_free(&after_slab, c);
		return;
	}
	if (c) {
		RG_PROBE(chan_free, c);
		rg__slab_free(&chan_slab, c);
	}
	rg__slab_free(&tmr_slab, t);
}

/* t->lock held: what a fire sends, sent, or held until the channel is
 * made; full (a value already there): dropped, as Go drops it. */
static void deliver_locked(tmr *t, int64_t when)
{
	rg_chan_t *c = atomic_load_explicit(&t->c, memory_order_relaxed);
	if (c) {
		rg__chan_send(c, &when, false);
	} else if (!t->held) {
		t->pending = when;
		t->held = true;
	}
}

/* t->lock held: discards a value waiting to be received; true if there
 * was one. */
static bool discard_locked(tmr *t)
{
	rg_chan_t *c = atomic_load_explicit(&t->c, memory_order_relaxed);
	if (c)
		return rg__chan_discard(c);
	bool h = t->held;
	t->held = false;
	return h;
}

/* t->lock held (or t not yet shared): arms the node for `when`; the
 * arming holds a ref. */
static void arm_locked(tmr *t, int64_t when)
{
	t->node.when = when;
	t->active = true;
	t->refs++;
	rg__timer_add(&t->node);
}

/* t->lock held: disarms t and discards a buffered value.  Returns what
 * Stop returns: whether this period's value (or fn) was kept from being
 * received. */
static bool stop_locked(tmr *t)
{
	if (t->active) {
		t->active = false;
		/* Removed before firing: drop that arming's reference; a
		 * one-shot timer's channel is then empty (every arming
		 * follows a discard, and only its fire fills it), a
		 * ticker's may hold an earlier tick.  Otherwise a fire is in
		 * flight; it will find !active, send nothing and drop its
		 * own reference. */
		if (rg__timer_del(&t->node)) {
			t->refs--;
			if (t->kind != TK_TICKER)
				return true;
		}
		discard_locked(t);
		return true;
	}
	return discard_locked(t);
}

/* t->lock held: drops a reference; true if it was the last (the caller
 * destroys t after unlocking). */
static bool unref_locked(tmr *t)
{
	return --t->refs == 0;
}

static void tmr_fire(void *arg, int64_t now)
{
	tmr *t = arg;
	void (*fn)(void *) = NULL;
	void *fnarg = NULL;

	rg__lock(&t->lock);
	bool stale = !t->active ||
		     atomic_load_explicit(&t->node.state, memory_order_relaxed) != RG_TIMER_IDLE;
	if (!stale) {
		int64_t when = t->node.when;
		if (t->kind == TK_FUNC) {
			t->active = false;
			fn = t->fn;
			fnarg = t->arg;
		} else {
			deliver_locked(t, when);
			if (t->kind == TK_TICKER) {
				/* The next multiple of the period after now:
				 * late ticks are skipped, never shifted. */
				int64_t p = t->period;
				int64_t skip = now > when ? (now - when) / p : 0;
				int64_t next;
				if (__builtin_mul_overflow(skip + 1, p, &next) ||
				    __builtin_add_overflow(when, next, &next))
					next = INT64_MAX - 1;
				arm_locked(t, next);
			} else {
				t->active = false;
			}
		}
	}
	bool last = unref_locked(t);  /* this arming's reference */
	rg__unlock(&t->lock);
	if (last)
		tmr_destroy(t);
	if (fn && rg_go_named("time.AfterFunc", fn, fnarg) != 0)
		rg__throw("out of memory starting an rg_after_func goroutine");
}

/* The runtime stopped with t armed: the arming's reference goes, as
 * its fire would have dropped it (nothing is sent or run). */
static void tmr_stopped(void *arg)
{
	tmr *t = arg;
	rg__lock(&t->lock);
	t->active = false;
	bool last = unref_locked(t);
	rg__unlock(&t->lock);
	if (last)
		tmr_destroy(t);
}

/* Disarms t and drops the owner's reference (a buffered value goes
 * with the memory: no discard). */
static void tmr_release(tmr *t)
{
	rg__lock(&t->lock);
	if (t->active) {
		t->active = false;
		if (rg__timer_del(&t->node))
			t->refs--;
	}
	bool last = unref_locked(t);
	rg__unlock(&t->lock);
	if (last)
		tmr_destroy(t);
}

/* rg_chan_free on a timer's channel (chan.c calls it once it has checked
 * that nobody waits on c): the whole of an rg_after timer; a mistake for
 * the others, which rg_timer_free frees without going through here. */
static void chan_release(rg_chan_t *c)
{
	tmr *t = rg__chan_extra(c);
	if (t->kind != TK_AFTER)
		rg_panic("rg_chan_free of a timer's or ticker's channel: "
			 "free the timer with rg_timer_free or rg_ticker_free");
	tmr_release(t);
}

/* The same for a channel made by rg_timer_chan: always the mistake. */
static void chan_release_made(rg_chan_t *c)
{
	(void)c;
	rg_panic("rg_chan_free of a timer's or ticker's channel: "
		 "free the timer with rg_timer_free or rg_ticker_free");
}

/* rg_timer_chan's first call: makes the channel, with the held value. */
static __attribute__((noinline)) rg_chan_t *make_chan(tmr *t)
{
	if (t->kind == TK_FUNC)
		return NULL;
	rg__lock(&t->lock);
	rg_chan_t *c = atomic_load_explicit(&t->c, memory_order_relaxed);
	if (!c) {
		void *mem = rg__slab_alloc(&chan_slab);
		if (!mem) {
			rg__unlock(&t->lock);
			rg__throw("out of memory making a timer's channel");
		}
		c = rg__chan_init_owned(mem, sizeof(int64_t), 1, chan_release_made);
		if (t->held) {
			rg__chan_prefill(c, &t->pending);
			t->held = false;
		}
		/* Release: whoever loads c sees it set up. */
		atomic_store_explicit(&t->c, c, memory_order_release);
	}
	rg__unlock(&t->lock);
	return c;
}

static inline rg_chan_t *chan_of(tmr *t)
{
	rg_chan_t *c = atomic_load_explicit(&t->c, memory_order_acquire);
	return RG_LIKELY(c != NULL) ? c : make_chan(t);
}

static tmr *tmr_make(int kind)
{
	tmr *t;
	pthread_once(&tmr_slab_once, tmr_slab_init);
	if (kind != TK_AFTER) {
		t = rg__slab_alloc(&tmr_slab);
		if (!t) {
			errno = ENOMEM;
			return NULL;
		}
		memset(t, 0, sizeof(*t));
	} else {
		void *mem = rg__slab_alloc(&after_slab);
		if (!mem) {
			errno = ENOMEM;
			return NULL;
		}
		rg_chan_t *c = rg__chan_init_owned(mem, sizeof(int64_t), 1, chan_release);
		t = rg__chan_extra(c);
		memset(t, 0, sizeof(*t));
		atomic_init(&t->c, c);
	}
	t->kind = (uint8_t)kind;
	t->refs = 1;
	t->node.fn = tmr_fire;
	t->node.stopped = tmr_stopped;
	t->node.arg = t;
	return t;
}

static tmr *tmr_start(int kind, int64_t d, int64_t period)
{
	tmr *t = tmr_make(kind);
	if (!t)
		return NULL;
	/* Not yet shared: no lock.  The node may fire on another thread the
	 * moment it is in a heap; the heap's lock (taken by the add, and by
	 * the runner before the fire) orders these writes before tmr_fire. */
	t->period = period;
	arm_locked(t, due_in(d));
	return t;
}

/* ---- Timer ----------------------------------------------------------- */

/* Go panics on a nil *Timer too (a nil dereference); say which call. */
#define NOT_NULL(t, what)                                   \
	do {                                                \
		if (RG_UNLIKELY(!(t)))                      \
			rg_panic(what ": nil timer");       \
	} while (0)

rg_timer_t *rg_timer_new(int64_t d)
{
	return tmr_start(TK_TIMER, d, 0);
}

rg_chan_t *rg_timer_chan(rg_timer_t *t)
{
	NOT_NULL(t, "rg_timer_chan");
	return chan_of(t);
}

bool rg_timer_stop(rg_timer_t *t)
{
	NOT_NULL(t, "rg_timer_stop");
	rg__lock(&t->lock);
	bool kept = stop_locked(t);
	rg__unlock(&t->lock);
	return kept;
}

bool rg_timer_reset(rg_timer_t *t, int64_t d)
{
	NOT_NULL(t, "rg_timer_reset");
	rg__lock(&t->lock);
	bool kept = stop_locked(t);
	arm_locked(t, due_in(d));
	rg__unlock(&t->lock);
	return kept;
}

void rg_timer_free(rg_timer_t *t)
{
	if (!t)
		return;
	rg_chan_t *c = atomic_load_explicit(&t->c, memory_order_acquire);
	if (c && rg__chan_has_waiters(c))
		rg_panic("free of a channel that goroutines wait on");
	tmr_release(t);
}

rg_timer_t *rg_after_func(int64_t d, void (*fn)(void *), void *arg)
{
	if (!fn) {
		errno = EINVAL;
		return NULL;
	}
	tmr *t = tmr_make(TK_FUNC);
	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	arm_locked(t, due_in(d));  /* unshared: see tmr_start */
	return t;
}

rg_chan_t *rg_after(int64_t d)
{
	tmr *t = tmr_start(TK_AFTER, d, 0);
	return t ? atomic_load_explicit(&t->c, memory_order_relaxed) : NULL;
}

/* ---- Ticker ---------------------------------------------------------- */

rg_ticker_t *rg_ticker_new(int64_t d)
{
	if (d <= 0)
		rg_panic("non-positive interval for rg_ticker_new");
	return (rg_ticker_t *)tmr_start(TK_TICKER, d, d);
}

rg_chan_t *rg_ticker_chan(rg_ticker_t *tk)
{
	NOT_NULL(tk, "rg_ticker_chan");
	return chan_of(&tk->t);
}

void rg_ticker_stop(rg_ticker_t *tk)
{
	NOT_NULL(tk, "rg_ticker_stop");
	rg_timer_stop(&tk->t);
}

void rg_ticker_reset(rg_ticker_t *tk, int64_t d)
{
	NOT_NULL(tk, "rg_ticker_reset");
	if (d <= 0)
		rg_panic("non-positive interval for rg_ticker_reset");
	tmr *t = &tk->t;
	rg__lock(&t->lock);
	stop_locked(t);
	t->period = d;
	arm_locked(t, due_in(d));
	rg__unlock(&t->lock);
}

void rg_ticker_free(rg_ticker_t *tk)
{
	if (tk)
		rg_timer_free(&tk->t);
}

/* ---- internal: a sleep that a context can cut short (rt.h) ----------- */

int rg__sleep_ctx(int64_t d, rg_ctx_t *ctx)
{
	int err = rg_ctx_err(ctx);
	if (err || d <= 0)
		return err;
	rg_chan_t *done = rg_ctx_done(ctx);
	if (!done) {
		rg_sleep(d);
		return 0;
	}
	rg_ctx_retain(ctx);  /* the caller's may go while we wait */
	/* TK_AFTER: channel and timer in one block, made at once. */
	tmr *t = tmr_start(TK_AFTER, d, 0);
	if (!t)
		rg__throw("out of memory arming a timer");
	rg_case_t cs[] = {RG_RECV(atomic_load_explicit(&t->c, memory_order_relaxed), NULL),
			  RG_RECV(done, NULL)};
	int i = rg_select(cs, 2, true);
	rg_timer_free(t);
	err = i == 0 ? 0 : rg_ctx_err(ctx);
	rg_ctx_release(ctx);
	return err;
}
