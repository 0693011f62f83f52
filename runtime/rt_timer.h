// SPDX-License-Identifier: MIT
/*
 * rt_timer.h — the per-P timer heaps (timer.c) and the sleep they serve (time.c).
 * Part of rt.h (included at its end); include rt.h, not this file.
 */
#ifndef RG_RT_TIMER_H
#define RG_RT_TIMER_H

#include "rt.h"

/* ---- timers (timer.c) ---------------------------------------------- */

/* now + ns, saturated: ns <= 0 is now, and an ns past the clock's end
 * is INT64_MAX - 1 ("never", short of the heaps' INT64_MAX sentinel),
 * never a wrap into the past.  Every deadline computed from a caller's
 * duration goes through here (issue 14: rg_sleep(INT64_MAX)). */
static inline int64_t rg__deadline_in(int64_t ns)
{
	int64_t now = rg__nanotime();
	if (ns <= 0)
		return now;
	return ns > INT64_MAX - 1 - now ? INT64_MAX - 1 : now + ns;
}

enum rg_timer_state {
	RG_TIMER_IDLE = 0,   /* not in a heap */
	RG_TIMER_ARMED,      /* in p->timers */
	RG_TIMER_FIRING,     /* fn running */
};

/*
 * A timer in a P's heap.  fn(arg, now) runs on whichever M services that
 * P's heap, holding a P but no lock; it must not block.
 *   One-shot (period <= 0): the timer is IDLE before fn runs and the
 *   runtime never touches it afterwards, so fn may free it (or ready the
 *   goroutine on whose stack it lives).  rg__timer_del returns false once
 *   fn is about to run: an owner that must know fn finished synchronises
 *   in fn (e.g. the timer holds a reference that fn drops, or that the
 *   caller drops when rg__timer_del returns true).
 *   Periodic (period > 0): re-armed after fn returns; rg__timer_del waits
 *   for a running fn, so the owner keeps t alive until del returns.
 */
struct rg_timer {
	int64_t when;                /* monotonic ns */
	int64_t period;              /* > 0: repeats */
	void (*fn)(void *arg, int64_t now);
	void *arg;
	_Atomic(rg_p *) pp;          /* heap it is in (under pp->tlock) */
	_Atomic uint32_t state;      /* enum rg_timer_state */
	int32_t idx;                 /* index in the heap (pp->tlock) */
	rg_m *firing;                /* M running a periodic fn (pp->tlock) */
	/* Last (cold): NULL, or called instead of fn when the runtime stops with t still
	 * armed (teardown): t is IDLE by then and will never fire, so an
	 * owner whose arming holds a reference drops it here. */
	void (*stopped)(void *arg);
};

/* Arms t (t->when, fn, arg, period set by the caller) on the caller's P,
 * or P 0 from a foreign thread.  t must be IDLE. */
void rg__timer_add(rg_timer *t) RG_HIDDEN;

/* Disarms t.  Returns true if it was removed before firing; false if it
 * had fired (or is firing) or was not armed.  For a periodic timer, waits
 * for a running fn to return unless called from that fn. */
bool rg__timer_del(rg_timer *t) RG_HIDDEN;

/* Runs p's expired timers; returns the next `when` (0 if none).  The
 * caller holds a P (fn may ready goroutines onto it). */
int64_t rg__timers_run(rg_p *p, int64_t now) RG_HIDDEN;

/* Earliest timer over all Ps, 0 if none. */
int64_t rg__timers_earliest(void) RG_HIDDEN;

/* Called after a timer was armed for `when`: wakes whoever must notice. */
void rg__timer_wake(int64_t when) RG_HIDDEN;

/* Teardown, every M gone: disarms every timer still armed on any P
 * (IDLE from here on: rg__timer_del answers false, never touching a
 * freed P), calls their `stopped` hooks, and frees the heaps. */
void rg__timers_teardown(void) RG_HIDDEN;

/* Waits d ns or until ctx ends (NULL: never): 0 when the time came, else
 * ctx's error; d <= 0 returns at once (ctx's error if it has ended).
 * Any thread (time.c; the limiters' waits). */
int rg__sleep_ctx(int64_t d, rg_ctx_t *ctx) RG_HIDDEN;

#endif
