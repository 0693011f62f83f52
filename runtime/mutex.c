// SPDX-License-Identifier: MIT
/*
 * mutex.c — rg_mutex_t, Go's sync.Mutex.
 *
 * State word (mu->state):
 *
 *     bit 0  LOCKED    someone holds the mutex
 *     bit 1  WOKEN     a lock caller is awake and contending (a spinner,
 *                      or a waiter an unlock just woke): unlockers need
 *                      not wake another
 *     bit 2  STARVING  starvation mode: ownership passes by handoff
 *     3..31  waiters   lock callers registered in the queue
 *
 * Two modes (Go's):
 *   normal:     a woken waiter does not own the mutex; it competes with
 *               newcomers, who are already on a CPU and usually win.  A
 *               loser goes back to the FRONT of the queue.  Throughput is
 *               good because a running goroutine can take the mutex
 *               many times in a row.
 *   starvation: entered by a waiter that has waited more than 1 ms.
 *               Unlock hands ownership straight to the first waiter
 *               (LOCKED stays clear until the receiver sets it);
 *               newcomers neither take it nor spin, they queue at the
 *               tail.  A receiver that is the last waiter, or that
 *               waited less than 1 ms, switches back to normal mode.
 *
 * Invariants:
 *   - waiters changes only under mu->qlock, except the decrement a
 *     handoff receiver makes for itself (after its unlocker dequeued it).
 *     Hence, with qlock held, in normal mode waiters == queue length; in
 *     starvation mode the same holds once the receiver of the handoff in
 *     flight (at most one: the mutex is logically held meanwhile) has
 *     fixed the word.
 *   - STARVING implies waiters > 0 until a receiver clears it, so a
 *     starving unlock always finds a node to hand to.
 *   - WOKEN is cleared only by the caller that set it or that was woken
 *     with it (its `awoke`), when it takes the mutex or queues again.
 *
 * Lock order: mu->qlock is a leaf (nothing else is taken under it), and
 * is never held across a park except by the parking waiter itself,
 * which releases it once off its stack.
 *
 * Rejected designs:
 *   - Go's exact structure, a semaphore beside the state word: the
 *     waiter bumps `waiters` with a CAS and then queues on the semaphore,
 *     so a wake-up may arrive first and must be banked as a token.
 *     Registering under the queue lock (waitq.h) makes the count and the
 *     queue agree and needs no token word.
 *   - A futex-only mutex (glibc's): parks the OS thread, not the
 *     goroutine, so a contended lock would stall every goroutine of
 *     that P.
 *   - Pure FIFO handoff always (ticket lock): fair but every contended
 *     unlock costs a context switch; Go measured normal mode to be much
 *     faster, and starvation mode bounds the tail latency instead.
 */
#include "waitq.h"
#include "probes.h"
#include "runq.h"

#include <unistd.h>

#define MUTEX_LOCKED   RG__MUTEX_LOCKED
#define MUTEX_WOKEN    RG__MUTEX_WOKEN
#define MUTEX_STARVING RG__MUTEX_STARVING
#define MUTEX_WAITER_SHIFT RG__MUTEX_WAITER_SHIFT
#define MUTEX_WAITER   (1u << MUTEX_WAITER_SHIFT)

/* A waiter that has waited this long switches to starvation mode. */
#define STARVATION_NS (1 * RG_MILLISECOND)

/*
 * Spinning: at most SPIN_ITERS rounds of SPIN_PAUSES pause instructions,
 * re-reading the word after each round.  Go uses 4 rounds of 30 (its
 * active_spin, active_spin_cnt), chosen when PAUSE took ~10 cycles.
 * Skylake raised it to ~140 (Intel's optimization reference manual, on
 * PAUSE latency), and current parts take tens of cycles or more (15 ns
 * on the Xeon this was measured on), so Go's budget is now several
 * microseconds.  Two rounds keep it near one microsecond, the order of
 * a short critical section and well below a park/ready pair.  Spinning longer
 * lost throughput there: every re-read pulls the line away from a
 * holder that is re-locking in a loop.
 */
#define SPIN_ITERS 2
#define SPIN_PAUSES 30

/* Handoffs in starvation mode, for tests (relaxed: a statistic). */
_Atomic uint64_t rg__mutex_handoffs RG_HIDDEN;

static int online_cpus(void)
{
	static _Atomic int ncpu; /* 0: not probed yet; races are benign */
	int n = atomic_load_explicit(&ncpu, memory_order_relaxed);
	if (RG_UNLIKELY(n == 0)) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (int)c : 1;
		atomic_store_explicit(&ncpu, n, memory_order_relaxed);
	}
	return n;
}

/*
 * Spinning pays only if the holder is running on another CPU and will
 * release soon.  Go's conditions: few rounds so far, a multicore
 * machine, at least one other P running, and nothing else runnable on
 * ours (spinning would delay it).  A foreign thread has no P to starve.
 */
static bool mutex_can_spin(int iter)
{
	if (iter >= SPIN_ITERS || online_cpus() <= 1)
		return false;
	rg_m *m = rg__getm();
	if (!m || !m->p)
		return true;
	int32_t idle = atomic_load_explicit(&rg__sched.npidle, memory_order_relaxed) +
		       atomic_load_explicit(&rg__sched.nmspinning, memory_order_relaxed);
	if (rg__sched.nprocs <= idle + 1)
		return false;
	return rg__runqempty(m->p);
}

static void mutex_spin(void)
{
	for (int i = 0; i < SPIN_PAUSES; i++)
		rg__cpu_relax();
}

static _Noreturn void mutex_inconsistent(void)
{
	rg__throw("sync: inconsistent mutex state");
}

/*
 * Registers the caller as a waiter and parks it, unless the mutex turns
 * out to be free in normal mode once the queue lock is held (returns
 * false: try to take it).  Returns true once woken.  starving: set
 * starvation mode if the mutex is locked.  awoke: the caller owns the
 * WOKEN flag and clears it here.  front: queue at the head (a woken
 * waiter that lost the race).
 */
static bool mutex_wait(rg_mutex_t *mu, bool starving, bool awoke, bool front,
		       rg_wait_reason_t reason)
{
	rg__lock_t *ql = rg__qlock(&mu->qlock);
	rg__wnode_t n;

	rg__lock(ql);
	/* Relaxed: qlock orders us against unlockers' queue handling, and
	 * the acquire that matters comes after the wake-up. */
	uint32_t old = atomic_load_explicit(&mu->state, memory_order_relaxed);
	for (;;) {
		if (!(old & (MUTEX_LOCKED | MUTEX_STARVING))) {
			rg__unlock(ql);
			return false;
		}
		uint32_t new = old + MUTEX_WAITER;
		if ((new >> MUTEX_WAITER_SHIFT) == 0)
			rg__throw("sync: too many concurrent mutex waiters");
		/* Only while locked: a starving mode must have an unlock to
		 * come that will hand off to us. */
		if (starving && (old & MUTEX_LOCKED))
			new |= MUTEX_STARVING;
		if (awoke) {
			if (!(old & MUTEX_WOKEN))
				mutex_inconsistent();
			new &= ~MUTEX_WOKEN;
		}
		if (atomic_compare_exchange_weak_explicit(&mu->state, &old, new,
				memory_order_relaxed, memory_order_relaxed))
			break;
	}
	if (front)
		rg__waitq_push_front(&mu->q, &n);
	else
		rg__waitq_push(&mu->q, &n);
	rg__waitq_park(ql, &n, reason);
	return true;
}

static void mutex_lock_slow(rg_mutex_t *mu, rg_wait_reason_t reason)
{
	int64_t wait_start = 0;
	bool starving = false; /* we have waited > STARVATION_NS */
	bool awoke = false;    /* we own the WOKEN flag */
	bool queued = false;   /* we have been queued (and woken) before */
	int iter = 0;
	uint32_t old = atomic_load_explicit(&mu->state, memory_order_relaxed);

	for (;;) {
		/* Spin while it is locked in normal mode and spinning may pay.
		 * Starvation mode goes to the waiters, so spinning is futile. */
		if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED &&
		    mutex_can_spin(iter)) {
			/* Claim WOKEN so that the unlock does not wake a parked
			 * waiter while we are about to take the mutex. */
			if (!awoke && !(old & MUTEX_WOKEN) &&
			    (old >> MUTEX_WAITER_SHIFT) != 0 &&
			    atomic_compare_exchange_weak_explicit(&mu->state, &old,
					old | MUTEX_WOKEN, memory_order_relaxed,
					memory_order_relaxed))
				awoke = true;
			mutex_spin();
			iter++;
			old = atomic_load_explicit(&mu->state, memory_order_relaxed);
			continue;
		}

		if (!(old & (MUTEX_LOCKED | MUTEX_STARVING))) {
			/* Free, normal mode: take it.  Acquire: the previous
			 * holder's critical section happens before ours. */
			uint32_t new = old | MUTEX_LOCKED;
			if (awoke) {
				if (!(old & MUTEX_WOKEN))
					mutex_inconsistent();
				new &= ~MUTEX_WOKEN;
			}
			if (atomic_compare_exchange_weak_explicit(&mu->state, &old,
					new, memory_order_acquire, memory_order_relaxed)) {
				if (wait_start)
					RG_PROBE(mutex_acquire, mu,
						 rg__nanotime() - wait_start);
				return;
			}
			continue; /* old was reloaded by the failed CAS */
		}

		/* Locked, or being handed to a waiter: queue. */
		if (!wait_start) {
			wait_start = rg__nanotime();
			RG_PCOUNT(nmutexwait);
			RG_PROBE(mutex_wait_begin, mu);
		}
		if (!mutex_wait(mu, starving, awoke, queued, reason)) {
			old = atomic_load_explicit(&mu->state, memory_order_relaxed);
			continue;
		}
		queued = true;
		awoke = false;

		int64_t now = rg__nanotime();
		starving = starving || now - wait_start > STARVATION_NS;
		old = atomic_load_explicit(&mu->state, memory_order_relaxed);
		if (old & MUTEX_STARVING) {
			/* Handed off: the mutex is ours, but the word still
			 * counts us as a waiter and LOCKED is clear.  Fix both
			 * in one add; leave starvation mode if we are the last
			 * waiter or did not really starve. */
			if ((old & (MUTEX_LOCKED | MUTEX_WOKEN)) ||
			    (old >> MUTEX_WAITER_SHIFT) == 0)
				mutex_inconsistent();
			uint32_t delta = MUTEX_LOCKED - MUTEX_WAITER;
			if (!starving || (old >> MUTEX_WAITER_SHIFT) == 1)
				delta -= MUTEX_STARVING;
			/* Acquire: pairs with the handing unlock's release. */
			atomic_fetch_add_explicit(&mu->state, delta,
						  memory_order_acquire);
			RG_PROBE(mutex_acquire, mu, now - wait_start);
			return;
		}
		/* Woken in normal mode: the unlocker set WOKEN for us and
		 * took us off the count.  Compete again. */
		awoke = true;
		iter = 0;
	}
}

void rg__mutex_lock_as(rg_mutex_t *mu, rg_wait_reason_t reason)
{
	/* Load, then CAS from what we saw: under contention the word
	 * carries waiter bits while the mutex is free, and a CAS expecting
	 * 0 would fail (a locked RMW for nothing) before the slow path
	 * retried.  On the mutex workload (tests/bench/bench_mutex.c, as
	 * the project's BENCH.md runs it) this is ~20% faster at two Ps; an
	 * uncontended lock costs the same (the line is local).
	 * Acquire: the previous holder's critical section happens before
	 * ours. */
	uint32_t old = atomic_load_explicit(&mu->state, memory_order_relaxed);
	if (RG_LIKELY(!(old & (MUTEX_LOCKED | MUTEX_STARVING))) &&
	    atomic_compare_exchange_strong_explicit(&mu->state, &old,
			old | MUTEX_LOCKED, memory_order_acquire,
			memory_order_relaxed))
		return;
	mutex_lock_slow(mu, reason);
}

void rg_mutex_lock(rg_mutex_t *mu)
{
	rg__mutex_lock_as(mu, RG_WAIT_MUTEX);
}

bool rg_mutex_trylock(rg_mutex_t *mu)
{
	uint32_t old = atomic_load_explicit(&mu->state, memory_order_relaxed);
	if (old & (MUTEX_LOCKED | MUTEX_STARVING))
		return false;
	return atomic_compare_exchange_strong_explicit(&mu->state, &old,
			old | MUTEX_LOCKED, memory_order_acquire,
			memory_order_relaxed);
}

static void mutex_unlock_slow(rg_mutex_t *mu, uint32_t new)
{
	rg__lock_t *ql = rg__qlock(&mu->qlock);

	if (!((new + MUTEX_LOCKED) & MUTEX_LOCKED))
		rg_panic("sync: unlock of unlocked mutex");

	if (new & MUTEX_STARVING) {
		/* Hand ownership to the first waiter.  LOCKED stays clear, but
		 * STARVING keeps newcomers out until the receiver sets it. */
		rg__lock(ql);
		rg__wnode_t *n = rg__waitq_pop(&mu->q);
		rg__unlock(ql);
		if (!n)
			mutex_inconsistent();
		atomic_fetch_add_explicit(&rg__mutex_handoffs, 1, memory_order_relaxed);
		RG_PROBE(mutex_unlock_wake, mu);
		rg__waitq_wake(n);
		/* The receiver sits in our runnext: let it run now rather
		 * than when we next block, or the handoff buys no latency. */
		if (rg__getg())
			rg_yield();
		return;
	}

	/* Normal mode: wake one waiter unless none is registered or someone
	 * else will take care of it (the mutex was re-locked, a contender
	 * is awake, or a starving waiter switched modes). */
	uint32_t old = new;
	if ((old >> MUTEX_WAITER_SHIFT) == 0 ||
	    (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING)))
		return;
	rg__lock(ql);
	old = atomic_load_explicit(&mu->state, memory_order_relaxed);
	for (;;) {
		if ((old >> MUTEX_WAITER_SHIFT) == 0 ||
		    (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING))) {
			rg__unlock(ql);
			return;
		}
		/* Take the waiter off the count and mark it awake, as one
		 * step, so that no other unlock wakes a second one. */
		if (atomic_compare_exchange_weak_explicit(&mu->state, &old,
				(old - MUTEX_WAITER) | MUTEX_WOKEN,
				memory_order_relaxed, memory_order_relaxed))
			break;
	}
	rg__wnode_t *n = rg__waitq_pop(&mu->q);
	rg__unlock(ql);
	if (!n)
		mutex_inconsistent();
	RG_PROBE(mutex_unlock_wake, mu);
	rg__waitq_wake(n);
}

void rg_mutex_unlock(rg_mutex_t *mu)
{
	/* Release: our critical section happens before the next holder's. */
	uint32_t new = atomic_fetch_sub_explicit(&mu->state, MUTEX_LOCKED,
						 memory_order_release) - MUTEX_LOCKED;
	if (RG_UNLIKELY(new != 0))
		mutex_unlock_slow(mu, new);
}
