// SPDX-License-Identifier: MIT
/*
 * sysmon.c — the monitor thread, as Go's sysmon: it holds no P and runs
 * no goroutines, and every 20 µs to 10 ms (backing off while nothing
 * needs it, asleep while every P is idle) it looks at each P:
 *   - a P in a syscall for longer than 20 µs is retaken and handed to an
 *     M that can use it (Go's rule: one with nothing queued may keep its
 *     syscall for up to 10 ms while other Ms can pick up new work);
 *   - a P whose goroutine has run for 10 ms without a scheduling point is
 *     a hog: there is no preemption in C (sched.c says why), so sysmon
 *     moves the hog's queue to the global queue and runs its expired
 *     timers, and other Ps carry on with them.  It also submits and
 *     reaps the hog's I/O (rg__io_poll_stuck): a goroutine that never
 *     yields holds its P, not the completions of the goroutines parked
 *     on that P's ring; they go to the global queue too.  (ring.c's CQ
 *     reader is whoever holds its `reaping` flag: one atomic exchange
 *     per reap on the owner's side.);
 *     While a hog runs with nothing to move, sysmon backs off as when
 *     idle, but to 1 ms at most (HOG_POLL_NS), not 10, for its I/O;
 *   - a P whose run queue has not emptied for BACKLOG_NS (its nempty
 *     count stood still while the queue held goroutines) has a backlog:
 *     sysmon wakes a P for it (rg__wakep), since the goroutines readied
 *     there woke nobody (sched.c says why), and looks again within half
 *     of BACKLOG_NS while a backlog lasts and some P could take it (one
 *     idle, or on g0: asleep in its ring); while every P runs, its usual
 *     back-off holds;
 *   - once a second it gives surplus cached stacks back to the kernel.
 * It may call into sched.c only through sched_impl.h, and touches a P's
 * structures only where they are built for it (runq.c's drain CASes the
 * head; the timer heap has its lock).
 */
#include "rt.h"

#include <string.h>

#include "probes.h"
#include "runq.h"
#include "netpoll.h"
#include "sched_impl.h"

#define SYSCALL_HANDOFF_NS (20 * RG_MICROSECOND)
#define HOG_NS (10 * RG_MILLISECOND)
/* sysmon's longest delay while a hog runs: completions parked on the
 * hog's ring (rg__io_poll_stuck) wait at most about this long. */
#define HOG_POLL_NS RG_MILLISECOND
/* How long a P's queue may hold goroutines without emptying before
 * another P is woken for them. */
#define BACKLOG_NS (500 * RG_MICROSECOND)

/* Hands a P retaken from a syscall to whoever can use it. */
static void handoffp(rg_p *p)
{
	if (!rg__runqempty(p) || atomic_load(&rg__sched.runqsize) > 0) {
		rg__startm(p, false);
		return;
	}
	int32_t zero = 0;
	if (atomic_load(&rg__sched.nmspinning) + atomic_load(&rg__sched.npidle) == 0 &&
	    atomic_compare_exchange_strong(&rg__sched.nmspinning, &zero, 1)) {
		rg__startm(p, true);
		return;
	}
	rg__lock(&rg__sched.lock);
	rg__pidleput(p);
	rg__unlock(&rg__sched.lock);
	int64_t t0 = atomic_load(&p->timer0);
	if (t0)
		rg__timer_wake(t0);
}

/* Whether p's queue has held goroutines without emptying for
 * BACKLOG_NS; sets *backlog while it holds some without emptying. */
static bool backlogged(rg_p *p, uint32_t st, int64_t now, bool *backlog)
{
	uint32_t ne = atomic_load_explicit(&p->nempty, memory_order_relaxed);
	if (st != RG_P_RUNNING || ne != p->sm_nempty || rg__runqempty(p)) {
		p->sm_nempty = ne;
		p->sm_emptywhen = now;
		return false;
	}
	*backlog = true;
	if (now - p->sm_emptywhen < BACKLOG_NS)
		return false;
	p->sm_emptywhen = now;  /* once per BACKLOG_NS at most */
	return true;
}

/* One pass over the Ps; returns true if it did something, and sets
 * *hogs if a P was hogged, *backlog if a P's queue is not emptying. */
static bool retake(int64_t now, bool *hogs, bool *backlog)
{
	bool acted = false, helper = false;
	for (int i = 0; i < rg__sched.nprocs; i++) {
		rg_p *p = rg__sched.allp[i];
		uint32_t st = atomic_load_explicit(&p->status, memory_order_acquire);
		if (backlogged(p, st, now, backlog))
			rg__wakep();
		rg_m *pm = RG_LOAD_RELAXED(p->m);
		if (st == RG_P_IDLE || (st == RG_P_RUNNING && pm && !RG_LOAD_RELAXED(pm->curg)))
			helper = true;
		if (st == RG_P_SYSCALL) {
			/* A goroutine whose syscalls each return at once (a
			 * blocking fd that always has data, on the epoll
			 * backend) is never in one long enough to be retaken,
			 * and never parks: ask it to yield when it comes out
			 * (rg_syscall_exit), as Go preempts at syscall exit. */
			uint32_t tk = atomic_load_explicit(&p->schedtick, memory_order_relaxed);
			if (p->sm_schedtick != tk) {
				p->sm_schedtick = tk;
				p->sm_schedwhen = now;
			} else if (now - p->sm_schedwhen >= HOG_NS) {
				atomic_store_explicit(&p->preempt, 1, memory_order_relaxed);
			}
			uint32_t t = atomic_load_explicit(&p->syscalltick, memory_order_relaxed);
			if (p->sm_syscalltick != t) {
				p->sm_syscalltick = t;
				p->sm_syscallwhen = now;
				continue;
			}
			if (now - p->sm_syscallwhen < SYSCALL_HANDOFF_NS)
				continue;
			/* Go's rule: leave a P with nothing queued to its
			 * syscall while others can pick up new work, for up
			 * to 10 ms. */
			if (rg__runqempty(p) &&
			    atomic_load(&rg__sched.nmspinning) + atomic_load(&rg__sched.npidle) > 0 &&
			    now - p->sm_syscallwhen < HOG_NS)
				continue;
			uint32_t sys = RG_P_SYSCALL;
			if (atomic_compare_exchange_strong(&p->status, &sys, RG_P_IDLE)) {
				atomic_fetch_add(&rg__sched.nhandoff, 1);
				RG_PROBE(syscall_handoff, p->id);
				handoffp(p);
				acted = true;
			}
		} else if (st == RG_P_RUNNING) {
			uint32_t t = atomic_load_explicit(&p->schedtick, memory_order_relaxed);
			if (p->sm_schedtick != t) {
				p->sm_schedtick = t;
				p->sm_schedwhen = now;
				RG_STORE_RELAXED(p->sm_hogging, false);
				continue;
			}
			if (now - p->sm_schedwhen < HOG_NS)
				continue;
			/* On g0 with no goroutine: asleep in its ring waiting
			 * for I/O (rg__io_idle_wait), not hogging. */
			rg_m *hm = RG_LOAD_RELAXED(p->m);
			if (!hm || !RG_LOAD_RELAXED(hm->curg))
				continue;
			*hogs = true;
			/* It yields if it makes a syscall (rg_syscall_exit). */
			atomic_store_explicit(&p->preempt, 1, memory_order_relaxed);
			if (!p->sm_hogging) {
				/* Counted once per scheduling tick. */
				RG_STORE_RELAXED(p->sm_hogging, true);
				rg_m *m = RG_LOAD_RELAXED(p->m);
				RG_PROBE(hog, p->id, m ? RG_LOAD_RELAXED(m->curg) : NULL);
				atomic_fetch_add(&rg__sched.nhogs, 1);
			}
			/* Without preemption the hog's P schedules nothing: move
			 * what waits on it where other Ps will find it — its
			 * queue to the global queue, its expired timers run
			 * here (their goroutines go to the global queue). */
			/* Goroutines will be in our hands, in no queue: count a
			 * reference, under the lock checkdead holds, so it sees
			 * either the reference or the work still queued. */
			rg__lock(&rg__sched.lock);
			rg__sched_ref();
			rg__unlock(&rg__sched.lock);
			int moved = rg__runqdrain_global(p);
			int64_t t0 = atomic_load_explicit(&p->timer0, memory_order_relaxed);
			bool readied = false;
			if (t0 && t0 <= now) {
				int32_t before = atomic_load_explicit(&rg__sched.runqsize,
								      memory_order_relaxed);
				rg__timers_run(p, now);
				readied = atomic_load_explicit(&rg__sched.runqsize,
							       memory_order_relaxed) > before;
			}
			bool polled = rg__io_poll_stuck(p);
			rg__sched_unref();
			/* Only a hog that had something to move keeps sysmon
			 * at its shortest delay: one that merely runs on (a
			 * loop making a million timers) would otherwise have
			 * sysmon wake, lock and wake an M every 20 us for as
			 * long as it runs, on a core the hog's helpers need.
			 * Expired timers count only if their fns readied
			 * goroutines (the global queue grew): timers that
			 * fire into channels nobody waits on (the hog makes
			 * them and receives later) kept sysmon at 20 us,
			 * waking an M each time, 14,000 preemptions of the
			 * hog's thread a second on 2 cores; an idle P's M
			 * sleeps until the earliest timer anyway, so those
			 * still fire on time.  Go's sysmon, too, backs off
			 * while it only preempts;
			 * here no further than HOG_POLL_NS while a hog runs. */
			if (moved || polled || readied) {
				rg__wakep();
				acted = true;
			}
		}
	}
	/* Timers of a P whose M is busy for long: make sure someone looks. */
	int64_t t0 = rg__timers_earliest();
	if (t0 && t0 < now - HOG_NS)  /* not t0 + HOG_NS: t0 may be near INT64_MAX */
		rg__wakep();
	if (!helper)
		*backlog = false;  /* nobody to wake: no reason to look sooner */
	return acted;
}

/* sysmon's identity: not a scheduler M (no P, no g0 to switch to), but
 * it runs timers of hogged Ps, and a timer fn that stops its own
 * periodic timer must see the thread that fires it as itself. */
static rg_m sysmon_m;

void *rg__sysmon(void *arg)
{
	(void)arg;
	memset(&sysmon_m, 0, sizeof(sysmon_m));
	sysmon_m.id = -1;
	sysmon_m.rand = (uint64_t)rg__nanotime();
	rg__setm(&sysmon_m);
	int64_t delay = 20 * RG_MICROSECOND;
	int64_t last_scavenge = rg__nanotime();
	int idle = 0;

	while (!rg__stopping()) {
		int64_t now = rg__nanotime();
		atomic_store_explicit(&rg__sched.coarse_now, now, memory_order_relaxed);
		if (now - last_scavenge >= RG_SECOND) {
			last_scavenge = now;
			rg__stack_scavenge(false);
		}
		bool hogs = false, backlog = false;
		if (retake(now, &hogs, &backlog)) {
			idle = 0;
			delay = 20 * RG_MICROSECOND;
		} else if (++idle > 50 && delay < 10 * RG_MILLISECOND) {
			delay *= 2;
		}
		if (hogs && delay > HOG_POLL_NS)
			delay = HOG_POLL_NS;
		if (backlog && delay > BACKLOG_NS / 2)
			delay = BACKLOG_NS / 2;
		if (atomic_load(&rg__sched.npidle) == rg__sched.nprocs) {
			/* All Ps idle: nothing to retake.  Sleep until a P is
			 * taken (pidleget wakes us).  seq_cst: see pidleget. */
			atomic_store_explicit(&rg__sched.sysmonwait, 1, memory_order_seq_cst);
			if (atomic_load_explicit(&rg__sched.npidle, memory_order_seq_cst) ==
			    rg__sched.nprocs) {
				/* Going idle: give cached stacks back first. */
				rg__stack_scavenge(false);
				rg__note_sleep(&rg__sched.sysmon_note, -1);
			}
			atomic_store(&rg__sched.sysmonwait, 0);
			idle = 0;
			delay = 20 * RG_MICROSECOND;
			continue;
		}
		rg__note_sleep(&rg__sched.sysmon_note, rg__nanotime() + delay);
	}
	return NULL;
}

