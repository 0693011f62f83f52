// SPDX-License-Identifier: MIT
/*
 * leaky.c — the leaky bucket as a meter: callers queue, and are let out
 * one at a time, turns at least 1/rate apart, in arrival order; the
 * queue holds at most `capacity` callers, and one more gets -EAGAIN at
 * once (the bucket overflows).  Unlike a token bucket, idle time earns
 * nothing: after a pause the first caller goes at once and the next one
 * interval later.
 *
 * A caller that finds nobody queued and the last turn at least interval
 * ago takes its turn at once (last = now) without queueing.  Otherwise
 * it queues (an rg__cwait, so its context can cut the wait short) and
 * the limiter's heap timer, armed for last + interval while anybody
 * waits, lets the head out: its fn (on a scheduler thread) pops the
 * head, sets last to the time it fired (so turns are never closer than
 * interval, however late a fire is: lateness shifts later turns, it
 * never bunches them) and re-arms for the next.  A caller whose context
 * ends leaves the queue; those behind it move up, and the next turn
 * goes to the new head at the time the old one would have had it.
 *
 * Invariants (lock held):
 *   - armed <=> the timer node is in a heap or its fire is in flight;
 *     armed is set whenever q is non-empty (a fire that finds q empty
 *     just lapses).
 *   - refs = the owner's reference + 1 while the timer is armed; the
 *     fire drops its reference after it is done with l, so rg_leaky_free
 *     never frees a limiter that a fire in flight still touches.
 *   - waiting == the length of q.
 * Lock order: l->lock, then a heap's tlock (arming, disarming).
 *
 * Rejected designs:
 *   - A goroutine that drains a channel on a ticker (the seed's leaky
 *     bucket): a goroutine and a ticker per limiter, ticks that nobody
 *     needs while idle, and a ticker's dropped ticks turn into lost
 *     turns.
 *   - Turns assigned at arrival (turn = max(now, last + interval)) and
 *     each caller sleeping until its own: a cancelled caller's place
 *     cannot be given to those behind it without waking them all to
 *     recompute.
 */
#include "waitq.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

struct rg_leaky {
	rg__lock_t lock;             /* guards the rest */
	int64_t interval;            /* ns between turns (constant); 0: none */
	int capacity;                /* callers that may wait (constant) */
	int waiting;                 /* length of q */
	bool turned;                 /* a turn was given: last is valid */
	bool armed;                  /* timer armed or its fire in flight */
	int refs;                    /* owner + armed timer */
	int64_t last;                /* time of the last turn */
	rg__waitq_t q;               /* waiting callers, FIFO */
	rg_timer timer;              /* lets the head out */
};

static void leaky_fire(void *arg, int64_t now);
static void leaky_stopped(void *arg);

rg_leaky_t *rg_leaky_new(double rate, int capacity)
{
	if (isnan(rate) || rate <= 0 || capacity < 0) {
		errno = EINVAL;
		return NULL;
	}
	rg_leaky_t *l = calloc(1, sizeof(*l));
	if (!l) {
		errno = ENOMEM;
		return NULL;
	}
	double iv = isinf(rate) ? 0 : ceil(1e9 / rate);
	l->interval = iv > 9e18 ? INT64_MAX / 2 : (int64_t)iv;
	l->capacity = capacity;
	l->refs = 1;
	l->timer.fn = leaky_fire;
	l->timer.stopped = leaky_stopped;
	l->timer.arg = l;
	return l;
}

/* lock held: arms the timer for the head's turn. */
static void arm_locked(rg_leaky_t *l, int64_t when)
{
	l->armed = true;
	l->refs++;
	l->timer.when = when;
	rg__timer_add(&l->timer);
}

/* lock held: whether a caller arriving at now may go at once. */
static inline bool turn_free(rg_leaky_t *l, int64_t now)
{
	return rg__waitq_empty(&l->q) && (!l->turned || now - l->last >= l->interval);
}

static void leaky_fire(void *arg, int64_t now)
{
	rg_leaky_t *l = arg;
	rg__lock(&l->lock);
	l->armed = false;
	rg__wnode_t *n = rg__waitq_pop(&l->q);
	if (n) {
		rg__cwait_taken(n);
		l->waiting--;
		l->turned = true;
		l->last = now;
		if (!rg__waitq_empty(&l->q))
			arm_locked(l, now + l->interval);
	}
	bool last_ref = --l->refs == 0;
	rg__unlock(&l->lock);
	if (n)
		rg__waitq_wake(n);
	if (last_ref)
		free(l);
}

/* The runtime stopped with the timer armed: its reference goes. */
static void leaky_stopped(void *arg)
{
	rg_leaky_t *l = arg;
	rg__lock(&l->lock);
	l->armed = false;
	bool last_ref = --l->refs == 0;
	rg__unlock(&l->lock);
	if (last_ref)
		free(l);
}

/* A waiter's context ended (lock held): it has left q. */
static void leaky_cancelled(rg__cwait_t *w, rg__waitq_t *wake)
{
	rg_leaky_t *l = w->owner;
	(void)wake;
	l->waiting--;
	if (rg__waitq_empty(&l->q) && l->armed && rg__timer_del(&l->timer)) {
		l->armed = false;
		l->refs--;  /* never the last: the owner's remains */
	}
}

int rg_leaky_wait(rg_leaky_t *l, rg_ctx_t *ctx)
{
	rg__lock(&l->lock);
	int64_t now = rg__nanotime();
	if (turn_free(l, now)) {
		l->turned = true;
		l->last = now;
		rg__unlock(&l->lock);
		return 0;
	}
	bool full = l->waiting >= l->capacity;
	rg__unlock(&l->lock);
	if (full)
		return -EAGAIN;

	rg__cwait_t w = {.l = &l->lock, .q = &l->q, .cancelled = leaky_cancelled, .owner = l};
	if (!rg__cwait_begin(&w, ctx))
		return w.result;
	rg__lock(&l->lock);
	now = rg__nanotime();
	if (turn_free(l, now) || l->waiting >= l->capacity) {
		int rc = turn_free(l, now) ? 0 : -EAGAIN;
		if (rc == 0) {
			l->turned = true;
			l->last = now;
		}
		rg__unlock(&l->lock);
		rg__cwait_end(&w);
		return rc;
	}
	if (w.state != RG_CWAIT_CANCELLED) {
		l->waiting++;
		if (!l->armed)
			arm_locked(l, l->last + l->interval);
	}
	return rg__cwait_park(&w, RG_WAIT_SEMA);
}

void rg_leaky_free(rg_leaky_t *l)
{
	if (!l)
		return;
	rg__lock(&l->lock);
	if (l->waiting) {
		rg__unlock(&l->lock);
		rg_panic("rg_leaky_free with %d callers waiting", l->waiting);
	}
	if (l->armed && rg__timer_del(&l->timer)) {
		l->armed = false;
		l->refs--;
	}
	bool last_ref = --l->refs == 0;
	rg__unlock(&l->lock);
	if (last_ref)
		free(l);
}

/* For white-box tests: callers queued now. */
int rg__leaky_waiting(rg_leaky_t *l) RG_HIDDEN;

int rg__leaky_waiting(rg_leaky_t *l)
{
	rg__lock(&l->lock);
	int n = l->waiting;
	rg__unlock(&l->lock);
	return n;
}
