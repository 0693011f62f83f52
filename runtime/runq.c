// SPDX-License-Identifier: MIT
/*
 * Run queues.  See runq.h for the invariants.
 */
#include "runq.h"
#include "probes.h"

#include <stdlib.h>
#include <unistd.h>

#define RQ_MASK RG_RQ_MASK
_Static_assert((RG_RUNQ_SIZE & RQ_MASK) == 0, "run queue size is a power of two");

/* Moves half of p's full queue plus g to the global queue.  Fails (false)
 * if a thief took from the queue meanwhile: the caller retries. */
static bool runqputslow(rg_p *p, rg_g *g, uint32_t h, uint32_t t)
{
	rg_g *batch[RG_RUNQ_SIZE / 2 + 1];
	uint32_t n = (t - h) / 2;

	for (uint32_t i = 0; i < n; i++)
		batch[i] = atomic_load_explicit(&p->runq[(h + i) & RQ_MASK],
						memory_order_relaxed);
	/* Release: our slot reads happen before the owner may reuse them. */
	if (!atomic_compare_exchange_strong_explicit(&p->runqhead, &h, h + n,
			memory_order_release, memory_order_relaxed))
		return false;
	batch[n] = g;
	rg__lock(&rg__sched.lock);
	rg__globrunqputn(batch, (int)n + 1);
	rg__unlock(&rg__sched.lock);
	return true;
}

void rg__runqput_slow(rg_p *p, rg_g *g)
{
	for (;;) {
		uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
		if (t - h < RG_RUNQ_SIZE) {
			atomic_store_explicit(&p->runq[t & RQ_MASK], g, memory_order_relaxed);
			atomic_store_explicit(&p->runqtail, t + 1, memory_order_release);
			return;
		}
		if (runqputslow(p, g, h, t))
			return;
	}
}

/* ---- the inbox ------------------------------------------------------ */

void rg__runqinject(rg_p *p, rg_g *head, rg_g *tail)
{
	/* The stack holds single Gs newest first, so that the taker's one
	 * reversal gives push order across chains as well as inside them:
	 * push the chain back to front (its tail ends on top). */
	rg_g *rev = NULL;
	for (rg_g *g = head, *nx; g; g = nx) {
		nx = g == tail ? NULL : g->schedlink;
		g->schedlink = rev;
		rev = g;
	}
	rg_g *old = atomic_load_explicit(&p->inbox, memory_order_relaxed);
	do
		head->schedlink = old;
	/* seq_cst: a P about to sleep in its ring stores that it polls,
	 * then reads the inbox (ring.c, epoll.c); the pusher pushes, then
	 * reads whether it polls (rg__io_poke_p).  One sees the other. */
	while (!atomic_compare_exchange_weak_explicit(&p->inbox, &old, rev,
			memory_order_seq_cst, memory_order_relaxed));
}

rg_g *rg__runqinbox_take(rg_p *p)
{
	if (!atomic_load_explicit(&p->inbox, memory_order_relaxed))
		return NULL;
	/* Acquire: pairs with the pusher's CAS, so the Gs' fields it wrote
	 * are ours.  Taking the whole stack leaves no ABA to fear. */
	rg_g *g = atomic_exchange_explicit(&p->inbox, NULL, memory_order_acquire);
	/* The stack is newest first, G by G: reverse it into push order. */
	rg_g *fifo = NULL;
	while (g) {
		rg_g *nx = g->schedlink;
		g->schedlink = fifo;
		fifo = g;
		g = nx;
	}
	return fifo;
}

/* Queues the chain locally (owner only). */
static void runqput_chain(rg_p *p, rg_g *g)
{
	while (g) {
		rg_g *nx = g->schedlink;
		g->schedlink = NULL;
		rg__runqput(p, g, false);
		g = nx;
	}
}

void rg__runqinbox(rg_p *p)
{
	runqput_chain(p, rg__runqinbox_take(p));
}

/* The inbox, once the local queue is empty: its first G, the rest
 * queued. */
static rg_g *inbox_get(rg_p *p)
{
	rg_g *g = rg__runqinbox_take(p);
	if (g) {
		runqput_chain(p, g->schedlink);
		g->schedlink = NULL;
	}
	return g;
}

/* ---- the local queue ------------------------------------------------ */

rg_g *rg__runqget_slow(rg_p *p)
{
	for (;;) {
		uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
		if (t == h)
			return inbox_get(p);
		rg_g *g = atomic_load_explicit(&p->runq[h & RQ_MASK], memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&p->runqhead, &h, h + 1,
				memory_order_release, memory_order_relaxed))
			return g;
	}
}

/* Copies half of p's queue into batch[] starting at bhead; returns how
 * many.  Any thread. */
static uint32_t runqgrab(rg_p *p, _Atomic(rg_g *) *batch, uint32_t bhead, bool stealnext)
{
	for (;;) {
		uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
		/* Acquire: the owner's slot stores happen before its tail store. */
		uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_acquire);
		uint32_t n = t - h;
		n = n - n / 2;
		if (n == 0) {
			if (!stealnext)
				return 0;
			rg_g *next = atomic_load_explicit(&p->runnext, memory_order_relaxed);
			if (!next)
				return 0;
			if (atomic_load_explicit(&p->status, memory_order_relaxed) == RG_P_RUNNING) {
				/* The owner is probably about to run it (a channel
				 * peer readied it and is parking): give it a moment
				 * before stealing, or producer/consumer and ping-pong
				 * pairs get split across threads and fight over the
				 * channel's lock.  Sleep, as Go does (usleep(3), in
				 * practice the timer slack): polling runnext would
				 * bounce the owner's cache line on every ready. */
				usleep(3);
			}
			if (!atomic_compare_exchange_strong_explicit(&p->runnext,
					&next, NULL, memory_order_acquire, memory_order_relaxed))
				continue;
			atomic_store_explicit(&batch[bhead & RQ_MASK], next, memory_order_relaxed);
			return 1;
		}
		if (n > RG_RUNQ_SIZE / 2)
			continue; /* read head and tail at different times: retry */
		for (uint32_t i = 0; i < n; i++) {
			rg_g *g = atomic_load_explicit(&p->runq[(h + i) & RQ_MASK],
						       memory_order_relaxed);
			atomic_store_explicit(&batch[(bhead + i) & RQ_MASK], g,
					      memory_order_relaxed);
		}
		if (atomic_compare_exchange_strong_explicit(&p->runqhead, &h, h + n,
				memory_order_release, memory_order_relaxed))
			return n;
	}
}

/* A steal's bookkeeping: here, not in the caller's loop (stealwork),
 * so that the loop keeps nothing of the victim across the call, with
 * or without probes: the probed build's loop had kept the victim in
 * a register for the probe and spilled its round flag instead. */
static rg_g *stolen(rg_p *p, rg_p *victim, rg_g *g)
{
	rg__count(&p->nsteal);
	RG_PROBE(steal, victim->id, p->id);
	return g;
}

rg_g *rg__runqsteal(rg_p *p, rg_p *victim, bool stealnext)
{
	uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
	uint32_t n = runqgrab(victim, p->runq, t, stealnext);
	if (n == 0) {
		/* Nothing queued: what was handed to the victim, if any,
		 * is better run here than left until its queue empties. */
		rg_g *g = rg__runqinbox_take(victim);
		if (!g)
			return NULL;
		runqput_chain(p, g->schedlink);
		g->schedlink = NULL;
		return stolen(p, victim, g);
	}
	n--;
	rg_g *g = atomic_load_explicit(&p->runq[(t + n) & RQ_MASK], memory_order_relaxed);
	/* Release: publishes the stolen slots to our own consumers. */
	if (n != 0)
		atomic_store_explicit(&p->runqtail, t + n, memory_order_release);
	return stolen(p, victim, g);
}

int rg__runqdrain_global(rg_p *p)
{
	_Atomic(rg_g *) buf[RG_RUNQ_SIZE];
	rg_g *gs[RG_RUNQ_SIZE];
	int total = 0;

	/* A lone P: no other P could run what we moved, and its owner's
	 * rg__runqget advances the head with a plain store, which a CAS of
	 * ours would race with (the head moved back, and the moved Gs sat
	 * in both queues and ran twice). */
	if (rg__sched.nprocs == 1)
		return 0;
	for (;;) {
		uint32_t n = runqgrab(p, buf, 0, true);
		if (n == 0)
			break;
		for (uint32_t i = 0; i < n; i++)
			gs[i] = atomic_load_explicit(&buf[i], memory_order_relaxed);
		rg__lock(&rg__sched.lock);
		rg__globrunqputn(gs, (int)n);
		rg__unlock(&rg__sched.lock);
		total += (int)n;
	}
	/* Then the inbox, in chunks of the same size. */
	rg_g *g = rg__runqinbox_take(p);
	while (g) {
		int n = 0;
		for (; g && n < RG_RUNQ_SIZE; g = g->schedlink)
			gs[n++] = g;
		rg__lock(&rg__sched.lock);
		rg__globrunqputn(gs, n);
		rg__unlock(&rg__sched.lock);
		total += n;
	}
	return total;
}

bool rg__runqempty(rg_p *p)
{
	/* Re-read the tail: runqput may move runnext to the queue between
	 * our loads, which would otherwise look empty for a moment. */
	for (;;) {
		uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_acquire);
		rg_g *next = atomic_load_explicit(&p->runnext, memory_order_acquire);
		if (atomic_load_explicit(&p->runqtail, memory_order_acquire) == t)
			return h == t && next == NULL &&
			       atomic_load_explicit(&p->inbox, memory_order_acquire) == NULL;
	}
}

static void gq_grow(uint32_t need)
{
	uint32_t cap = rg__sched.gqcap ? rg__sched.gqcap : 1024;
	while (cap < need)
		cap *= 2;
	rg_g **a = malloc(cap * sizeof(*a));
	if (!a)
		rg__throw("out of memory growing the global run queue");
	uint32_t size = (uint32_t)atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed);
	for (uint32_t i = 0; i < size; i++)
		a[i] = rg__sched.gq[(rg__sched.gqhead + i) & (rg__sched.gqcap - 1)];
	free(rg__sched.gq);
	rg__sched.gq = a;
	rg__sched.gqcap = cap;
	rg__sched.gqhead = 0;
}

void rg__globrunqputn(rg_g *const *gs, int n)
{
	uint32_t size = (uint32_t)atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed);
	if (size + (uint32_t)n > rg__sched.gqcap)
		gq_grow(size + (uint32_t)n);
	uint32_t mask = rg__sched.gqcap - 1;
	for (int i = 0; i < n; i++)
		rg__sched.gq[(rg__sched.gqhead + size + (uint32_t)i) & mask] = gs[i];
	atomic_store_explicit(&rg__sched.runqsize, (int32_t)(size + (uint32_t)n),
			      memory_order_relaxed);
}

void rg__globrunqput(rg_g *g)
{
	rg__globrunqputn(&g, 1);
}

void rg__globrunqfree(void)
{
	free(rg__sched.gq);
	rg__sched.gq = NULL;
	rg__sched.gqcap = rg__sched.gqhead = 0;
}

rg_g *rg__globrunqget(rg_p *p, int max)
{
	int size = atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed);
	if (size == 0)
		return NULL;
	int n = size / rg__sched.nprocs + 1;
	if (n > size)
		n = size;
	if (max > 0 && n > max)
		n = max;
	if (n > RG_RUNQ_SIZE / 2)
		n = RG_RUNQ_SIZE / 2;
	atomic_store_explicit(&rg__sched.runqsize, size - n, memory_order_relaxed);

	uint32_t mask = rg__sched.gqcap - 1;
	rg_g *g = rg__sched.gq[rg__sched.gqhead];
	for (int i = 1; i < n; i++)
		rg__runqput(p, rg__sched.gq[(rg__sched.gqhead + (uint32_t)i) & mask], false);
	rg__sched.gqhead = (rg__sched.gqhead + (uint32_t)n) & mask;
	return g;
}
