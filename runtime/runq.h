// SPDX-License-Identifier: MIT
/*
 * Run queues: each P's bounded lock-free local queue with its runnext
 * slot, and the global queue.  Go's design (runtime/proc.go runqput,
 * runqget, runqgrab, runqsteal), written for C11 atomics.
 *
 * Local queue invariants: only the owning P's M writes runqtail and the
 * slots at and beyond it; anyone may take from runqhead with a CAS.  So
 * a slot is written (relaxed) before the tail is published (release), and
 * read (relaxed) before the head CAS (release) gives it back to the
 * owner.  runnext is taken by CAS from either side.
 *
 * With one P only its owner ever moves the head (there is no thief, and
 * rg__runqdrain_global refuses a lone P), so rg__runqget advances it
 * with a plain store there.  Anything new that takes from a P's queue
 * from another thread must keep that rule or drop the shortcut.
 */
#ifndef RG_RUNQ_H
#define RG_RUNQ_H

#include "rt.h"

/* Pushes the chain head..tail (linked by schedlink, tail's link
 * overwritten) onto p's inbox; any thread.  The inbox is part of p's
 * run queue: rg__runqget takes it when the local queue is empty,
 * thieves take it whole when there is nothing else to steal, and the
 * drain, rg__runqempty and rg__runqlen count it.  For a P that hands
 * goroutines to another (sched.c handback): only the owner may write
 * the local queue. */
void rg__runqinject(rg_p *p, rg_g *head, rg_g *tail) RG_HIDDEN;

/* Moves p's inbox into its local queue (owner only); every
 * RG_GLOBAL_TICK schedules, so an inbox waits no longer than the
 * global queue does behind a queue that never empties. */
void rg__runqinbox(rg_p *p) RG_HIDDEN;

/* Takes p's inbox whole (any thread): the chain in the order it was
 * pushed, or NULL. */
rg_g *rg__runqinbox_take(rg_p *p) RG_HIDDEN;

/* Puts g on p's local queue (owner only).  next: into runnext, kicking
 * the old runnext to the tail.  A full queue moves half to the global
 * queue. */
static inline void rg__runqput(rg_p *p, rg_g *g, bool next);

/* Takes the next G of p (owner only): runnext first, then the head,
 * then the inbox. */
static inline rg_g *rg__runqget(rg_p *p);

/* Steals half of victim's queue into p's (p's owner only); returns one G
 * to run, or NULL.  stealnext: may take victim's runnext too.  A steal
 * counts in p->nsteal and fires the steal probe. */
rg_g *rg__runqsteal(rg_p *p, rg_p *victim, bool stealnext) RG_HIDDEN;

/* Moves everything queued on p (runnext and inbox included) to the
 * global queue;
 * any thread (sysmon, for a P held by a goroutine that never yields).
 * Returns how many moved: none when p is the only P (nobody else could
 * run them, and the owner's lock-free head relies on it). */
int rg__runqdrain_global(rg_p *p) RG_HIDDEN;

/* True if p has nothing queued (racy, but never wrongly true while the
 * owner is between putting and publishing). */
bool rg__runqempty(rg_p *p) RG_HIDDEN;

/* Local queue length, runnext included, and 1 for a non-empty inbox
 * (racy). */
static inline uint32_t rg__runqlen(rg_p *p);

/* Global queue; sched.lock held. */
void rg__globrunqput(rg_g *g) RG_HIDDEN;
void rg__globrunqputn(rg_g *const *gs, int n) RG_HIDDEN;
void rg__globrunqfree(void) RG_HIDDEN;
/* Takes up to a fair share (max > 0: at most max) for p; returns one. */
rg_g *rg__globrunqget(rg_p *p, int max) RG_HIDDEN;

/* ---- the owner's fast paths, inline --------------------------------
 * Every ready and every schedule passes them: inline, a ping-pong round
 * trip over unbuffered channels takes about 60 instructions fewer than
 * through calls into runq.c (callgrind).  The slow paths stay there. */

#define RG_RQ_MASK (RG_RUNQ_SIZE - 1)

/* The full-queue and racing-thief cases of rg__runqput (runq.c). */
void rg__runqput_slow(rg_p *p, rg_g *g) RG_HIDDEN;
/* rg__runqget past runnext with several Ps: the CAS loop, then the
 * inbox (runq.c). */
rg_g *rg__runqget_slow(rg_p *p) RG_HIDDEN;

static inline void rg__runqput(rg_p *p, rg_g *g, bool next)
{
	if (next) {
		g = atomic_exchange_explicit(&p->runnext, g, memory_order_acq_rel);
		if (!g)
			return;
	}
	/* Acquire: pairs with thieves' release CAS of the head, so the
	 * slots they read are free before we overwrite them. */
	uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
	uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
	if (__builtin_expect(t - h < RG_RUNQ_SIZE, 1)) {
		atomic_store_explicit(&p->runq[t & RG_RQ_MASK], g, memory_order_relaxed);
		/* Release: publishes the slot with the tail. */
		atomic_store_explicit(&p->runqtail, t + 1, memory_order_release);
		return;
	}
	rg__runqput_slow(p, g);
}

static inline rg_g *rg__runqget(rg_p *p)
{
	rg_g *next = atomic_load_explicit(&p->runnext, memory_order_relaxed);
	if (next && atomic_compare_exchange_strong_explicit(&p->runnext, &next, NULL,
			memory_order_acquire, memory_order_relaxed))
		return next;
	if (rg__sched.nprocs != 1)
		return rg__runqget_slow(p);
	/* One P: nobody else moves the head (no thief, and sysmon's drain
	 * leaves a lone P alone: see rg__runqdrain_global), so the owner
	 * needs no CAS; and nobody hands a lone P work (its inbox stays
	 * empty). */
	uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
	if (t == h)
		return NULL;
	rg_g *g = atomic_load_explicit(&p->runq[h & RG_RQ_MASK], memory_order_relaxed);
	atomic_store_explicit(&p->runqhead, h + 1, memory_order_relaxed);
	return g;
}

static inline uint32_t rg__runqlen(rg_p *p)
{
	uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
	uint32_t n = t - h;
	if (n > RG_RUNQ_SIZE)
		n = 0;
	return n + (atomic_load_explicit(&p->runnext, memory_order_relaxed) != NULL) +
	       (atomic_load_explicit(&p->inbox, memory_order_relaxed) != NULL);
}

#endif
