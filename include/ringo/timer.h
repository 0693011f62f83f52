// SPDX-License-Identifier: MIT
/* Part of <ringo.h>; include that instead. */
#ifndef RINGO_TIMER_H
#define RINGO_TIMER_H

/*
 * Timers and tickers, Go's time.Timer, time.Ticker, time.After and
 * time.AfterFunc, with Go 1.23's semantics.
 *
 *     rg_timer_t *t = rg_timer_new(2 * RG_SECOND);
 *     rg_case_t cs[] = { RG_RECV(done, NULL), RG_RECV(rg_timer_chan(t), NULL) };
 *     if (rg_select(cs, 2, true) == 1)
 *             puts("timed out");
 *     rg_timer_free(t);               // Go's defer t.Stop(), and the free
 *
 *     rg_chan_t *after = rg_after(RG_SECOND);    // select { case <-time.After(d): }
 *     ...
 *     rg_chan_free(after);            // fired or not: stops its timer too
 *
 * Timers live on the runtime's per-P timer heaps: no goroutine and no
 * thread per timer, so a million pending timers cost memory, not CPU:
 * 128 bytes each, and 320 more once rg_timer_chan has made its channel
 * (an rg_after, channel and all: 384).  They use the rg_now() clock.
 *
 * Channels.  A timer's or ticker's channel has capacity 1 and carries
 * int64_t values: the time (rg_now() clock) at which the timer was due
 * to fire, as Go sends Now() minus the lateness.  The runtime sends
 * without blocking: a ticker whose receiver is slow drops ticks.  The
 * channel belongs to its timer: never send on it, close it or free it
 * yourself (rg_chan_close and rg_chan_free on it panic), except for rg_after's, which is
 * all there is of that timer and is freed with rg_chan_free.
 *
 * Stop and Reset (Go 1.23).  Once rg_timer_stop, rg_timer_reset,
 * rg_ticker_stop or rg_ticker_reset has returned, no value from before
 * the call can be received: one that was buffered is discarded, one that
 * was being sent is not sent.  So the Go idiom `if !t.Stop() { <-t.C }`
 * is never needed (and would block).
 *
 * Durations are int64_t nanoseconds; d <= 0 makes a timer fire at once,
 * a duration too large for the clock saturates to "never".  Every call
 * may be made from any thread, goroutine or foreign, once the runtime
 * runs (rg_main or rg_init); without it they panic.  A timer may be
 * stopped and reset from several threads at once.  Out of memory in a
 * constructor returns NULL with errno ENOMEM.
 */

/* A one-shot timer (Go's *time.Timer).  Opaque. */
typedef struct rg_time_timer rg_timer_t;

/* A periodic ticker (Go's *time.Ticker).  Opaque. */
typedef struct rg_time_ticker rg_ticker_t;

/*
 * time.NewTimer(d): a timer that sends the time on its channel once, d
 * from now.  The caller owns it: free it with rg_timer_free.  NULL with
 * errno ENOMEM.
 */
RG_API rg_timer_t *rg_timer_new(int64_t d);

/* t.C: the timer's channel (int64_t elements, capacity 1), owned by the
 * timer; NULL for an rg_after_func timer.  Always the same channel; the
 * first call makes it, holding the value if the timer already fired
 * (running out of memory there is fatal). */
RG_API rg_chan_t *rg_timer_chan(rg_timer_t *t);

/*
 * t.Stop(): keeps the timer from firing.  Returns true if the call kept
 * this period's value from being received (or, for rg_after_func, fn
 * from being started): the timer was pending, or it had fired and its
 * value was still in the channel, where it is now discarded.  Returns
 * false if the value was already received (fn already started) or the
 * timer was already stopped.
 */
RG_API bool rg_timer_stop(rg_timer_t *t);

/*
 * t.Reset(d): stops the timer as rg_timer_stop does, then arms it to fire
 * d from now.  Returns what rg_timer_stop would have.  No value of the
 * old period can be received once it returns.  For an rg_after_func
 * timer, fn runs (again) after d.
 */
RG_API bool rg_timer_reset(rg_timer_t *t, int64_t d);

/*
 * Stops t and frees it and its channel.  No goroutine may still wait on
 * the channel (that panics, as rg_chan_free does), and t must not be used
 * again; an rg_after_func fn already started goes on running.  NULL is a
 * no-op.
 */
RG_API void rg_timer_free(rg_timer_t *t);

/*
 * time.AfterFunc(d, fn): calls fn(arg) in a new goroutine d from now.
 * rg_timer_stop returns true if it kept fn from starting.  The timer has
 * no channel.  Free it with rg_timer_free (any time: freeing does not
 * wait for a running fn).  NULL with errno ENOMEM or EINVAL (fn NULL).
 */
RG_API rg_timer_t *rg_after_func(int64_t d, void (*fn)(void *), void *arg);

/*
 * time.After(d): a channel that receives the time once, d from now.  The
 * channel is the whole timer: free it with rg_chan_free whether or not it
 * fired (that stops the timer, so an rg_after that lost its select costs
 * nothing afterwards).  NULL with errno ENOMEM.
 */
RG_API rg_chan_t *rg_after(int64_t d);

/*
 * time.NewTicker(d): sends the time on its channel every d, the n-th tick
 * due at start + n*d whatever the lateness of the others (no drift).  A
 * receiver that falls behind misses ticks: the channel holds one.
 * Panics "non-positive interval for rg_ticker_new" when d <= 0, as Go
 * does.  Free it with rg_ticker_free.  NULL with errno ENOMEM.
 */
RG_API rg_ticker_t *rg_ticker_new(int64_t d);

/* tk.C: the ticker's channel (int64_t elements, capacity 1); made by
 * the first call, as rg_timer_chan's. */
RG_API rg_chan_t *rg_ticker_chan(rg_ticker_t *tk);

/* tk.Stop(): no more ticks; a tick not yet received is discarded.  The
 * ticker may be started again with rg_ticker_reset. */
RG_API void rg_ticker_stop(rg_ticker_t *tk);

/* tk.Reset(d): stops the ticker (discarding a pending tick) and starts it
 * again with period d, the first tick d from now.  Panics "non-positive
 * interval for rg_ticker_reset" when d <= 0. */
RG_API void rg_ticker_reset(rg_ticker_t *tk, int64_t d);

/* Stops tk and frees it and its channel (no goroutine may wait on it).
 * NULL is a no-op. */
RG_API void rg_ticker_free(rg_ticker_t *tk);

#endif /* RINGO_TIMER_H */
