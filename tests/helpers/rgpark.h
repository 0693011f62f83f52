// SPDX-License-Identifier: MIT
/*
 * Waiting until goroutines are parked, instead of sleeping and hoping
 * they are.  A test that must act only once another goroutine blocks
 * (cancel the context it waits under, close the fd it reads, dump its
 * stack) polls the scheduler's own view: the goroutine is WAITING with
 * the wait reason of the call under test.  Polling an event with short
 * sleeps is not sleep-as-synchronisation: it returns as soon as the
 * event happened, however slow the machine.
 *
 * White-box: it walks the goroutine slots through runtime/rt.h (the
 * tests link the static library, which has the hidden symbols).  It
 * reads another thread's goroutine without its lock, so a goroutine
 * that wakes and parks again may be missed once; the next poll sees it.
 * Header-only.
 */
#ifndef RGPARK_H
#define RGPARK_H

#include <stdbool.h>

#include "rt.h"

struct rgp_match {
	int64_t id;          /* 0: any goroutine */
	void (*fn)(void *);  /* its start function; NULL: any */
	int reason;          /* rg_wait_reason_t; -1: any */
	int n;               /* matches found */
};

static void rgp_visit(rg_g *g, void *arg)
{
	struct rgp_match *m = arg;
	/* Acquire: pairs with the parker's release store of WAITING, after
	 * which its wait reason is set. */
	if (atomic_load_explicit(&g->status, memory_order_acquire) != RG_G_WAITING)
		return;
	if (m->id && RG_LOAD_RELAXED(g->id) != m->id)
		return;
	if (m->fn && RG_LOAD_RELAXED(g->fn) != m->fn)
		return;
	if (m->reason >= 0 && (int)RG_LOAD_RELAXED(g->waitreason) != m->reason)
		return;
	m->n++;
}

/* How many goroutines matching (id, fn, reason) are parked now. */
static inline int rgp_parked(int64_t id, void (*fn)(void *), int reason)
{
	struct rgp_match m = {.id = id, .fn = fn, .reason = reason};
	rg__for_each_g(rgp_visit, &m);
	return m.n;
}

/* Waits until at least n goroutines matching (id, fn, reason) are
 * parked at once; false if that has not happened after timeout_ms (a
 * bound that only tells "never" from "slow").  Goroutine or foreign
 * thread. */
static inline bool rgp_wait_parked(int64_t id, void (*fn)(void *), int reason, int n,
				   int timeout_ms)
{
	int64_t deadline = rg_now() + (int64_t)timeout_ms * RG_MILLISECOND;
	while (rgp_parked(id, fn, reason) < n) {
		if (rg_now() > deadline)
			return false;
		rg_sleep(100 * RG_MICROSECOND);
	}
	return true;
}

/* Waits until the scheduler's references (rg_ref's, pending I/O's, a
 * foreign thread's inside a blocking call or a channel wait) number at
 * least n: how a test knows a foreign thread is inside a call that
 * counts for the deadlock detector.  False after timeout_ms. */
static inline bool rgp_wait_refs(int n, int timeout_ms)
{
	int64_t deadline = rg_now() + (int64_t)timeout_ms * RG_MILLISECOND;
	while (atomic_load(&rg__sched.nrefs) < n) {
		if (rg_now() > deadline)
			return false;
		rg_sleep(100 * RG_MICROSECOND);
	}
	return true;
}

/* Waits until every M is asleep in the scheduler with its P given back
 * (none running, spinning or waiting in a ring): the moment the last
 * one went to sleep, it ran the deadlock check (checkdead, under
 * sched.lock together with its going on the idle list, so taking the
 * lock here orders us after it).  A test that must show the detector
 * keeps quiet while something outside it can still wake a goroutine
 * acts only after this.  Called from a foreign thread (a goroutine
 * keeps an M busy); false after timeout_ms.  Only where nothing has
 * I/O in flight: an M with requests on its ring sleeps in the ring,
 * keeping its P, and never looks for a deadlock. */
static inline bool rgp_wait_all_idle(int timeout_ms)
{
	int64_t deadline = rg_now() + (int64_t)timeout_ms * RG_MILLISECOND;
	for (;;) {
		rg__lock(&rg__sched.lock);
		bool idle = rg__sched.nmidle ==
				    atomic_load_explicit(&rg__sched.nmlive, memory_order_relaxed) &&
			    atomic_load(&rg__sched.npidle) == rg__sched.nprocs;
		rg__unlock(&rg__sched.lock);
		if (idle)
			return true;
		if (rg_now() > deadline)
			return false;
		rg_sleep(100 * RG_MICROSECOND);
	}
}

#endif
