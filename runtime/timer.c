// SPDX-License-Identifier: MIT
/*
 * Timers: a 4-ary min-heap per P (Go's layout: shallower than a binary
 * heap, and a node's four children share a cache line or two), rg_sleep
 * and rg_now.
 *
 * A timer lives in the heap of the P that armed it.  Any M holding a P
 * may run another P's expired timers (an idle P's timers are run by the
 * M that wakes for them), so each heap has its own lock, tlock.
 * p->timer0 mirrors the root's `when` so that schedulers can peek
 * without the lock.
 *
 * States (t->state): IDLE -> ARMED (rg__timer_add) -> FIRING (popped by
 * rg__timers_run, fn running, no lock held) -> IDLE, or back to ARMED for
 * periodic timers.  rg__timer_del of an ARMED timer removes it under the
 * lock; of a FIRING one it waits for fn to return (unless called by fn).
 *
 * Rejected: a timer wheel.  Wheels win with huge numbers of timers that
 * are mostly cancelled (TCP retransmits); goroutine sleeps and context
 * deadlines mostly fire, want exact ordering, and number in the
 * thousands per P, where a heap's O(log n) is a handful of cache lines.
 */
#include "rt.h"

#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "probes.h"

/* ---- heap (p->tlock held) ------------------------------------------ */

/*
 * The heap holds (when, timer) pairs, not timer pointers: sifting
 * compares the whens of four children in one cache line instead of
 * chasing four pointers into four timers (Go 1.23 made the same change),
 * which is what a heap of a million timers costs.
 *
 * Deletion leaves a tombstone (timer NULL) in place unless the entry is
 * the root or the last one, so that stopping a timer is O(1), as Go's
 * deltimer is; the timer itself is IDLE at once and its owner may free
 * it (the heap never looks at a tombstone's timer).  Tombstones are
 * dropped when they reach the root (the root is kept live, so timer0 is
 * exact) and all at once when they pass half of the heap (a quarter
 * made stopping a million timers rebuild three million entries; half
 * rebuilds one million, for at most twice the live entries in memory).
 */
struct rg_tentry {
	int64_t when;
	rg_timer *t;                 /* NULL: a stopped timer's tombstone */
};

static inline void heap_set(rg_p *p, int i, struct rg_tentry e)
{
	p->timers[i] = e;
	if (e.t)
		e.t->idx = i;
}

static void sift_up(rg_p *p, int i)
{
	struct rg_tentry e = p->timers[i];
	while (i > 0) {
		int parent = (i - 1) / 4;
		if (p->timers[parent].when <= e.when)
			break;
		heap_set(p, i, p->timers[parent]);
		i = parent;
	}
	heap_set(p, i, e);
}

/* The 4-ary sift down over h[0..n); set_idx: each moved timer learns
 * its new index (heap_set), else none does (compact writes them all
 * once it is done).  A constant at each call. */
static inline __attribute__((always_inline)) void
sift_down_in(struct rg_tentry *h, int n, int i, bool set_idx)
{
	struct rg_tentry e = h[i];
	for (;;) {
		int c = 4 * i + 1;
		if (c >= n)
			break;
		int best = c;
		int end = c + 4 < n ? c + 4 : n;
		for (int k = c + 1; k < end; k++)
			if (h[k].when < h[best].when)
				best = k;
		if (h[best].when >= e.when)
			break;
		h[i] = h[best];
		if (set_idx && h[i].t)
			h[i].t->idx = i;
		i = best;
	}
	h[i] = e;
	if (set_idx && e.t)
		e.t->idx = i;
}

static void sift_down(rg_p *p, int i)
{
	sift_down_in(p->timers, p->ntimers, i, true);
}

static bool heap_push(rg_p *p, rg_timer *t)
{
	if (p->ntimers == p->captimers) {
		int cap = p->captimers ? p->captimers * 2 : 64;
		struct rg_tentry *a = realloc(p->timers, (size_t)cap * sizeof(*a));
		if (!a)
			return false;
		p->timers = a;
		p->captimers = cap;
	}
	int i = p->ntimers++;
	heap_set(p, i, (struct rg_tentry){t->when, t});
	sift_up(p, i);
	return true;
}

static void heap_remove(rg_p *p, int i)
{
	int last = --p->ntimers;
	if (i != last) {
		heap_set(p, i, p->timers[last]);
		sift_down(p, i);
		sift_up(p, i);
	}
}

/* Drops tombstones at the root, so that the root is a live timer. */
static void clean_root(rg_p *p)
{
	while (p->ntimers && !p->timers[0].t) {
		heap_remove(p, 0);
		p->ndead--;
	}
}

/* sift_down on entries alone: no timer's idx is written (compact
 * writes them all once it is done). */
static void sift_down_raw(struct rg_tentry *h, int n, int i)
{
	sift_down_in(h, n, i, false);
}

/* Drops every tombstone and rebuilds the heap (O(n)).  Each live
 * timer's idx is written once, at the end: those writes are a cache
 * miss per timer in a heap of a million, where the entries are one
 * sequential pass. */
static void compact(rg_p *p)
{
	struct rg_tentry *h = p->timers;
	int n = 0;
	for (int i = 0; i < p->ntimers; i++)
		if (h[i].t)
			h[n++] = h[i];
	p->ntimers = n;
	p->ndead = 0;
	for (int i = (n - 2) / 4; i >= 0; i--)
		sift_down_raw(h, n, i);
	for (int i = 0; i < n; i++)
		h[i].t->idx = i;
}

static void update_timer0(rg_p *p)
{
	atomic_store_explicit(&p->timer0, p->ntimers ? p->timers[0].when : 0,
			      memory_order_relaxed);
}

/* ---- internal API -------------------------------------------------- */

void rg__timer_add(rg_timer *t)
{
	if (atomic_load_explicit(&rg__sched.running, memory_order_acquire) != 1)
		rg_panic("a timer or deadline needs the runtime: call rg_init or rg_main first");
	rg_m *m = rg__getm();
	rg_p *p = m && m->p ? m->p : rg__sched.allp[0];

	rg__lock(&p->tlock);
	atomic_store_explicit(&t->state, RG_TIMER_ARMED, memory_order_relaxed);
	atomic_store_explicit(&t->pp, p, memory_order_relaxed);
	if (!heap_push(p, t)) {
		rg__unlock(&p->tlock);
		rg__throw("out of memory growing a timer heap");
	}
	bool first = p->timers[0].t == t;
	int64_t when = t->when;
	update_timer0(p);
	rg__unlock(&p->tlock);
	/* t may be gone now: another M can fire it (a sleeping goroutine's
	 * timer lives on its stack) the moment the lock is dropped. */
	if (first)
		rg__timer_wake(when);
}

bool rg__timer_del(rg_timer *t)
{
	for (;;) {
		uint32_t st = atomic_load_explicit(&t->state, memory_order_acquire);
		if (st == RG_TIMER_IDLE)
			return false;
		if (st == RG_TIMER_FIRING) {
			/* A periodic timer's fn is running on t->firing.  From
			 * fn itself: stop the re-arm.  Elsewhere: wait for fn. */
			uint32_t f = RG_TIMER_FIRING;
			if (rg__getm() == t->firing &&
			    atomic_compare_exchange_strong_explicit(&t->state, &f, RG_TIMER_IDLE,
					memory_order_relaxed, memory_order_relaxed))
				return false;
			sched_yield();
			continue;
		}
		rg_p *p = atomic_load_explicit(&t->pp, memory_order_acquire);
		if (!p)
			continue; /* being moved by a runner: look again */
		rg__lock(&p->tlock);
		if (atomic_load_explicit(&t->pp, memory_order_relaxed) == p &&
		    atomic_load_explicit(&t->state, memory_order_relaxed) == RG_TIMER_ARMED) {
			int i = t->idx;
			if (i == 0 || i == p->ntimers - 1) {
				heap_remove(p, i);
				clean_root(p);
			} else {
				p->timers[i].t = NULL;  /* O(1): a tombstone */
				if (++p->ndead > p->ntimers / 2 && p->ntimers > 64)
					compact(p);
			}
			update_timer0(p);
			atomic_store_explicit(&t->pp, NULL, memory_order_relaxed);
			atomic_store_explicit(&t->state, RG_TIMER_IDLE, memory_order_release);
			rg__unlock(&p->tlock);
			return true;
		}
		rg__unlock(&p->tlock);
	}
}

/* One-shot fires popped under the lock and run after it (at most this
 * many per round trip of p->tlock). */
#define FIRE_BATCH 32

struct fire {
	void (*fn)(void *, int64_t);
	void *arg;
};

/* Runs popped one-shot fires with no lock held. */
static void run_fires(struct fire *f, int n, int64_t now)
{
	for (int i = 0; i < n; i++)
		f[i].fn(f[i].arg, now);
}

int64_t rg__timers_run(rg_p *p, int64_t now)
{
	rg_m *m = rg__getm();
	struct fire batch[FIRE_BATCH];
	int nb = 0;

	rg__lock(&p->tlock);
	clean_root(p);
	while (p->ntimers && p->timers[0].when <= now) {
		rg_timer *t = p->timers[0].t;
		void (*fn)(void *, int64_t) = t->fn;
		void *arg = t->arg;
		int64_t period = t->period;

		if (period <= 0) {
			heap_remove(p, 0);
			clean_root(p);
			/* One-shot: t may be gone the moment fn runs (a
			 * sleeping goroutine's timer lives on its stack), so
			 * it is IDLE before fn and never touched after; fns
			 * are batched so that a burst of expiries takes the
			 * lock once per FIRE_BATCH (rg__timer_del already
			 * answers false once the timer is popped). */
			atomic_store_explicit(&t->pp, NULL, memory_order_relaxed);
			atomic_store_explicit(&t->state, RG_TIMER_IDLE, memory_order_release);
			batch[nb++] = (struct fire){fn, arg};
			if (nb == FIRE_BATCH) {
				update_timer0(p);
				rg__unlock(&p->tlock);
				run_fires(batch, nb, now);
				nb = 0;
				rg__lock(&p->tlock);
			}
			continue;
		}
		if (nb) {
			/* Keep the order of `when`: earlier fires first. */
			update_timer0(p);
			rg__unlock(&p->tlock);
			run_fires(batch, nb, now);
			nb = 0;
			rg__lock(&p->tlock);
			continue;  /* the root may have changed */
		}
		heap_remove(p, 0);
		clean_root(p);
		update_timer0(p);
		atomic_store_explicit(&t->pp, NULL, memory_order_relaxed);
		t->firing = m;
		atomic_store_explicit(&t->state, RG_TIMER_FIRING, memory_order_relaxed);
		rg__unlock(&p->tlock);
		fn(arg, now);
		/* Re-arm unless fn stopped it (a concurrent del waits for us).
		 * Missed periods are skipped, as Go's tickers do. */
		rg__lock(&p->tlock);
		t->firing = NULL;
		if (atomic_load_explicit(&t->state, memory_order_relaxed) != RG_TIMER_FIRING)
			continue;
		t->when += period * (1 + (now - t->when) / period);
		atomic_store_explicit(&t->pp, p, memory_order_relaxed);
		bool ok = heap_push(p, t);
		atomic_store_explicit(&t->state, ok ? RG_TIMER_ARMED : RG_TIMER_IDLE,
				      memory_order_release);
		update_timer0(p);
	}
	update_timer0(p);
	int64_t next = p->ntimers ? p->timers[0].when : 0;
	rg__unlock(&p->tlock);
	run_fires(batch, nb, now);
	return next;
}

int64_t rg__timers_earliest(void)
{
	int64_t best = 0;
	for (int i = 0; i < rg__sched.nprocs; i++) {
		int64_t w = atomic_load_explicit(&rg__sched.allp[i]->timer0, memory_order_relaxed);
		if (w && (!best || w < best))
			best = w;
	}
	return best;
}

void rg__timers_teardown(void)
{
	/* All disarmed before any hook runs: a hook (a context's last
	 * reference going) may touch other timers' owners. */
	for (int i = 0; i < rg__sched.nprocs; i++) {
		rg_p *p = rg__sched.allp[i];
		for (int k = 0; k < p->ntimers; k++) {
			rg_timer *t = p->timers[k].t;
			if (!t)
				continue;
			atomic_store_explicit(&t->pp, NULL, memory_order_relaxed);
			atomic_store_explicit(&t->state, RG_TIMER_IDLE, memory_order_release);
		}
	}
	for (int i = 0; i < rg__sched.nprocs; i++) {
		rg_p *p = rg__sched.allp[i];
		for (int k = 0; k < p->ntimers; k++) {
			rg_timer *t = p->timers[k].t;
			/* A sleep's timer may live on an abandoned stack: read
			 * before the stacks go (teardown frees them after). */
			if (t && t->stopped)
				t->stopped(t->arg);
		}
		free(p->timers);
		p->timers = NULL;
		p->ntimers = p->captimers = p->ndead = 0;
	}
}

/* ---- public API ---------------------------------------------------- */

int64_t rg_now(void)
{
	return rg__nanotime();
}

static void sleep_fire(void *arg, int64_t now)
{
	(void)now;
	rg__ready(arg);
}

/* Arms the sleep timer once the goroutine is off its stack, so that the
 * timer cannot ready it before it is parked. */
static bool sleep_arm(rg_g *g, void *arg)
{
	(void)g;
	rg__timer_add(arg);
	return true;
}

void rg_sleep(int64_t ns)
{
	if (ns <= 0)
		return;
	rg_g *g = rg__getg();
	if (!g) {
		struct timespec ts = {.tv_sec = ns / RG_SECOND, .tv_nsec = ns % RG_SECOND};
		while (nanosleep(&ts, &ts) != 0)
			;
		return;
	}
	rg_timer t = {
		.when = rg__deadline_in(ns),
		.fn = sleep_fire,
		.arg = g,
	};
	rg__park(sleep_arm, &t, RG_WAIT_SLEEP);
}
