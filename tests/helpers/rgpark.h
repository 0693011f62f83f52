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

#endif
