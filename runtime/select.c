// SPDX-License-Identifier: MIT
/*
 * select.c — Go's select over channels (rg_select).
 *
 * A select runs in up to four passes.  Pass 0 holds one lock at a time;
 * the others hold the locks of all its channels, taken in address order,
 * each channel once (a channel may appear in several cases, sends and
 * receives mixed).  Cases on a NULL channel take part in none.
 *
 *   0. In a random order (see select_try_one), the first case that looks
 *      ready from lock-free loads is tried alone, as a non-blocking send
 *      or receive (lock-free on a buffered channel nobody waits on).
 *   1. In a random order (a uniform permutation, so that no ready case
 *      can starve another), the first case that can proceed now runs.
 *      None, and block false: return -1 (default:), as API.md has it:
 *      -1 is the default branch's index, not an error.
 *   2. A waiting record (rg_sudog) for every case goes on its channel's
 *      queue; all share one waiter and one `selected` flag.  The select
 *      parks; the parking's unlockf releases the channel locks once the
 *      goroutine is off its stack.  Before parking, every buffered case
 *      is looked at again (chan.c's Dekker pairing): one that a lock-free
 *      peer made ready before our records were visible sends us back to
 *      pass 1, records unqueued.
 *   3. A waker on one channel has won the flag (a CAS under that
 *      channel's lock: Go's selectDone), completed that case and woken
 *      us.  Wakers on other channels that find one of our records fail
 *      the CAS and drop it.  We lock everything again, unlink every
 *      record that is still queued, unlock, and report the winner.  A
 *      waker that won the flag but then lost the buffered value (or
 *      slot) to a lock-free peer wakes us with RG_SG_RETRY instead: the
 *      select runs again from pass 1.
 *
 * Why pass 3 must take all locks again: our records live in this
 * frame, and a waker on any channel may be looking at one of them until
 * it releases that channel's lock.
 *
 * Why the unlockf may read our frame after the first unlock, when a
 * waker can already have readied us (Go's selparkcommit must not touch
 * the stack; its stacks move, ours do not): a goroutine readied that
 * early runs pass 3, whose first act is to take every lock, so it waits
 * for the unlockf's last unlock, after which the unlockf reads nothing.
 * On a foreign thread the unlockf runs before the thread sleeps.
 *
 * Rejected designs:
 *   - One lock for all selects, or locking channels in case order:
 *     the first serialises unrelated selects, the second deadlocks two
 *     selects that name the same channels in different orders.
 *   - Polling in case order, or from a random start in case order: the
 *     first starves late cases, the second favours a ready case that
 *     follows a run of never-ready ones.  A random permutation costs a
 *     few multiplications per case.
 *   - Waking the select and letting it retry every case (no hand-off):
 *     a second round of locking, and a value could be taken by another
 *     receiver between the wake-up and the retry, so the woken select
 *     could go back to sleep: wake-ups would be lost work.
 *   - Keeping the waiting records in rg_case_t (public, caller-owned
 *     memory): it would triple the case size for every user and put
 *     runtime links in a struct users copy around.  They go on the
 *     stack (the heap beyond RG_SELECT_STACK cases).
 */
#include "chan_impl.h"

#include <errno.h>
#include <stdlib.h>

#include "probes.h"

/* Cases whose ordering and waiting records live in the caller's frame;
 * bigger selects allocate. */
#define RG_SELECT_STACK 32
/* Case indexes are kept in uint16_t, as Go does. */
#define RG_SELECT_MAX 65535

typedef struct selparking {
	rg_case_t *cases;
	const uint16_t *lockorder;
	int n;
} selparking;

/* ---- lock order ---------------------------------------------------- */

static inline uintptr_t caddr(const rg_case_t *cases, uint16_t i)
{
	return (uintptr_t)cases[i].c;
}

static void sort_insertion(const rg_case_t *cases, uint16_t *o, int n)
{
	for (int i = 1; i < n; i++) {
		uint16_t x = o[i];
		int j = i;
		for (; j > 0 && caddr(cases, o[j - 1]) > caddr(cases, x); j--)
			o[j] = o[j - 1];
		o[j] = x;
	}
}

static void sift_down(const rg_case_t *cases, uint16_t *o, int i, int n)
{
	uint16_t x = o[i];
	for (;;) {
		int k = 2 * i + 1;
		if (k >= n)
			break;
		if (k + 1 < n && caddr(cases, o[k + 1]) > caddr(cases, o[k]))
			k++;
		if (caddr(cases, o[k]) <= caddr(cases, x))
			break;
		o[i] = o[k];
		i = k;
	}
	o[i] = x;
}

/* Heapsort for big selects: O(n log n) without allocating. */
static void sort_heap(const rg_case_t *cases, uint16_t *o, int n)
{
	for (int i = n / 2 - 1; i >= 0; i--)
		sift_down(cases, o, i, n);
	for (int end = n - 1; end > 0; end--) {
		uint16_t t = o[0];
		o[0] = o[end];
		o[end] = t;
		sift_down(cases, o, 0, end);
	}
}

static void sort_by_address(const rg_case_t *cases, uint16_t *o, int n)
{
	if (n <= 16)
		sort_insertion(cases, o, n);
	else
		sort_heap(cases, o, n);
}

static void sellock(const rg_case_t *cases, const uint16_t *lockorder, int n)
{
	rg_chan_t *prev = NULL;

	for (int i = 0; i < n; i++) {
		rg_chan_t *c = cases[lockorder[i]].c;
		if (c != prev)
			rg__lock(&c->lock);
		prev = c;
	}
}

/* Unlocks each channel once.  Reads the next channel before releasing
 * the current one and nothing after the last release (see the top). */
static void selunlock(const rg_case_t *cases, const uint16_t *lockorder, int n)
{
	rg_chan_t *c = cases[lockorder[0]].c;

	for (int i = 1; i < n; i++) {
		rg_chan_t *next = cases[lockorder[i]].c;
		if (next != c)
			rg__unlock(&c->lock);
		c = next;
	}
	rg__unlock(&c->lock);
}

static bool selpark_unlock(rg_g *g, void *arg)
{
	const selparking *sp = arg;

	(void)g;
	selunlock(sp->cases, sp->lockorder, sp->n);
	return true;
}

/* ---- passes 2 and 3 ------------------------------------------------ */

/* select_wait's answers besides a case index. */
enum {
	SEL_AGAIN_LOCKED = -2,  /* a buffered case became ready before our
				   records were visible: nothing queued,
				   channels still locked; poll again */
	SEL_AGAIN = -3,         /* woken with RG_SG_RETRY: channels
				   unlocked; run again */
};

/*
 * Channels locked, no case ready: queue a record per case, park, and
 * once woken find the winner.  Returns its index (the case is complete,
 * channels unlocked), or SEL_AGAIN_LOCKED / SEL_AGAIN.
 */
static __attribute__((noinline)) int
select_wait(rg_case_t *cases, int ncases, const uint16_t *lockorder, int n)
{
	rg_sudog local[n <= RG_SELECT_STACK ? n : 1];
	rg_sudog *sgs = local;
	_Atomic uint32_t selected = 0;
	rg_waiter_t w;
	selparking sp = {.cases = cases, .lockorder = lockorder, .n = n};

	if (n > RG_SELECT_STACK) {
		/* Under the channel locks: rare (a select of more than
		 * RG_SELECT_STACK live cases), and malloc takes no lock of
		 * ours. */
		sgs = malloc((size_t)n * sizeof(*sgs));
		if (!sgs) {
			selunlock(cases, lockorder, n);
			rg_panic("select: out of memory for %d cases", n);
		}
	}
	rg__waiter_init(&w);

	/* Pass 2: queue on every channel, in lock order. */
	for (int k = 0; k < n; k++) {
		rg_case_t *cs = &cases[lockorder[k]];
		rg_sudog *sg = &sgs[k];
		sg->c = cs->c;
		sg->elem = cs->elem;
		sg->w = &w;
		sg->selected = &selected;
		sg->result = RG_SG_WAITING;
		rg__chanq_push(cs->dir == RG_CASE_SEND ? &cs->c->sendq
						       : &cs->c->recvq, sg);
	}
	/* The waiter's half of chan.c's Dekker pairing, for every
	 * buffered case: a lock-free peer that completed before our
	 * records were visible may have made a case ready without seeing
	 * us.  Then unqueue (no waker can have touched a record: we hold
	 * every lock) and poll again. */
	for (int k = 0; k < n; k++) {
		rg_case_t *cs = &cases[lockorder[k]];
		if (!cs->c->cap || !rg__chan_recheck(cs->c, cs->dir == RG_CASE_SEND))
			continue;
		for (int j = 0; j < n; j++) {
			rg_case_t *cj = &cases[lockorder[j]];
			rg__chanq_remove(cj->dir == RG_CASE_SEND ? &cj->c->sendq
								 : &cj->c->recvq, &sgs[j]);
		}
		if (sgs != local)
			free(sgs);
		return SEL_AGAIN_LOCKED;
	}
	RG_PROBE(select_block, ncases);
	/* A foreign thread holds a scheduler reference while it sleeps
	 * (see wait_locked in chan.c). */
	rg__waiter_wait(&w, selpark_unlock, &sp, RG_WAIT_SELECT);

	/* Pass 3: one record was taken by the waker that won; unlink the
	 * rest, which no waker can touch once we hold every lock. */
	int win = -1;
	uint32_t result = RG_SG_WAITING;
	sellock(cases, lockorder, n);
	for (int k = 0; k < n; k++) {
		rg_case_t *cs = &cases[lockorder[k]];
		rg_sudog *sg = &sgs[k];
		if (sg->result != RG_SG_WAITING) {
			if (win >= 0)
				rg__throw("select: two cases won");
			win = lockorder[k];
			result = sg->result;
			continue;
		}
		rg__chanq_remove(cs->dir == RG_CASE_SEND ? &cs->c->sendq
							 : &cs->c->recvq, sg);
	}
	selunlock(cases, lockorder, n);
	if (sgs != local)
		free(sgs);
	if (win < 0)
		rg__throw("select: woken with no case done");
	if (result == RG_SG_RETRY)
		return SEL_AGAIN;
	RG_PROBE(select_wake, win);

	rg_case_t *cs = &cases[win];
	if (cs->dir == RG_CASE_SEND) {
		if (result == RG_SG_CLOSED)
			rg_panic("send on closed channel");
		cs->ok = true;
	} else {
		cs->ok = result == RG_SG_DONE;  /* close zeroed elem */
	}
	return win;
}

/* ---- rg_select ----------------------------------------------------- */

/* One live case: the plain operation, with its lock-free fast path when
 * not blocking (Go's compiler does the same rewrite). */
static int select_one(rg_case_t *cs, int i, bool block)
{
	bool ok = true;

	if (cs->dir == RG_CASE_SEND) {
		if (!rg__chan_send(cs->c, cs->elem, block))
			return -1;
	} else if (!rg__chan_recv(cs->c, cs->elem, block, &ok)) {
		return -1;
	}
	cs->ok = ok;
	return i;
}

/*
 * c->lock held: runs case cs if it can proceed now (*wake as for the
 * _locked operations).  A send on a closed channel unlocks (with
 * unlock(arg)) and panics.
 */
static bool try_case_locked(rg_case_t *cs, rg_sudog **wake,
			    void (*unlock)(void *arg), void *arg)
{
	rg_chan_t *c = cs->c;
	bool ok = true;

	if (cs->dir == RG_CASE_SEND) {
		if (atomic_load_explicit(&c->closed, memory_order_relaxed)) {
			unlock(arg);
			rg_panic("send on closed channel");
		}
		if (!rg__chan_send_locked(c, cs->elem, wake))
			return false;
	} else if (!rg__chan_recv_locked(c, cs->elem, &ok, wake)) {
		return false;
	}
	cs->ok = ok;
	return true;
}

/* Whether cs looks ready, from lock-free loads (a hint; closed counts
 * as ready: it completes or panics). */
static bool case_maybe_ready(const rg_case_t *cs)
{
	rg_chan_t *c = cs->c;

	if (atomic_load_explicit(&c->closed, memory_order_relaxed))
		return true;
	if (cs->dir == RG_CASE_SEND)
		return atomic_load_explicit(&c->recvq.first, memory_order_relaxed) ||
		       (c->cap && rg__ring_has_space(c));
	/* A published value at the head: the head and its slot's stamp,
	 * which the receive reads anyway.  Not the count, which reads the
	 * tail: the senders' line, pulled over for every element (at 2 Ps
	 * the load that missed most in bench_select, perf). */
	return (c->cap && rg__ring_has_value(c)) ||
	       atomic_load_explicit(&c->sendq.first, memory_order_relaxed);
}

/*
 * Pass 0, no locks held: the first case in poll order that looks ready
 * is tried alone, as a non-blocking send or receive (lock-free on a
 * buffered channel nobody waits on).  Returns its index, or -1 if none
 * looked ready or the one tried was taken meanwhile.
 *
 * Choosing a case that can proceed when we try it is always a valid
 * outcome (a case checked earlier may have become ready since; then both
 * were ready and either may be chosen), so this needs neither the other
 * locks nor a consistent snapshot.  What it cannot do is conclude that
 * nothing is ready: default: and parking go through pass 1.  In the
 * common case of a ready channel, a select costs one operation, not n
 * locks.
 */
static int select_try_one(rg_case_t *cases, const uint16_t *pollorder, int n)
{
	for (int k = 0; k < n; k++) {
		rg_case_t *cs = &cases[pollorder[k]];

		if (!case_maybe_ready(cs))
			continue;
		return select_one(cs, pollorder[k], false);
	}
	return -1;
}

typedef struct selunlocking {
	const rg_case_t *cases;
	const uint16_t *lockorder;
	int n;
} selunlocking;

static void unlock_all(void *arg)
{
	const selunlocking *u = arg;
	selunlock(u->cases, u->lockorder, u->n);
}

/*
 * Pass 1, channels locked: runs the first ready case in poll order.
 * Returns its index (channels still locked; *wake as for the _locked
 * operations), or -1.  A send case on a closed channel panics.
 */
static int select_poll(rg_case_t *cases, const uint16_t *pollorder, int n,
		       const uint16_t *lockorder, rg_sudog **wake)
{
	selunlocking u = {.cases = cases, .lockorder = lockorder, .n = n};

	for (int k = 0; k < n; k++)
		if (try_case_locked(&cases[pollorder[k]], wake, unlock_all, &u))
			return pollorder[k];
	return -1;
}

/* rg_select, with -1 for "none ready and block false". */
static int select_cases(rg_case_t *cases, int ncases, bool block)
{
	uint16_t local[2 * RG_SELECT_STACK];
	uint16_t *pollorder = local, *lockorder;
	rg_sudog *wake;
	int n = 0, i;

	if (RG_UNLIKELY(ncases < 0 || ncases > RG_SELECT_MAX))
		rg_panic("select: %d cases (at most %d)", ncases, RG_SELECT_MAX);
	if (RG_UNLIKELY(!cases && ncases > 0))
		rg_panic("select: NULL cases array with %d cases", ncases);
	if (RG_UNLIKELY(ncases > RG_SELECT_STACK)) {
		pollorder = malloc(2 * (size_t)ncases * sizeof(uint16_t));
		if (!pollorder)
			rg_panic("select: out of memory for %d cases", ncases);
	}
	lockorder = pollorder + ncases;

	/* A uniform random permutation of the live cases, built inside
	 * out (Fisher-Yates): a NULL channel is never ready, so it is left
	 * out of every pass. */
	for (i = 0; i < ncases; i++) {
		if (cases[i].dir != RG_CASE_SEND && cases[i].dir != RG_CASE_RECV)
			rg_panic("select: case %d: bad direction %d", i,
				 cases[i].dir);
		if (!cases[i].c)
			continue;
		/* As rg_chan_send: a NULL value would be read from address 0. */
		if (RG_UNLIKELY(cases[i].dir == RG_CASE_SEND && !cases[i].elem &&
				cases[i].c->elem_size))
			rg_panic("select: case %d: send of a NULL element on a channel of "
				 "%zu-byte elements", i, cases[i].c->elem_size);
		/* The first live case goes to slot 0 whatever the draw. */
		uint32_t j = n == 0 ? 0 : (uint32_t)(((uint64_t)rg__fastrand() *
							(uint32_t)(n + 1)) >> 32);
		if (j != (uint32_t)n)
			pollorder[n] = pollorder[j];
		pollorder[j] = (uint16_t)i;
		n++;
	}

	if (n <= 1) {
		int only = n ? pollorder[0] : -1;
		if (pollorder != local)
			free(pollorder);
		if (n == 1)
			return select_one(&cases[only], only, block);
		if (!block)
			return -1;
		rg__block_forever(ncases == 0 ? RG_WAIT_SELECT_NO_CASES
					      : RG_WAIT_SELECT);
	}

	i = select_try_one(cases, pollorder, n);
	if (i >= 0)
		goto out;

	memcpy(lockorder, pollorder, (size_t)n * sizeof(uint16_t));
	sort_by_address(cases, lockorder, n);

	sellock(cases, lockorder, n);
	for (;;) {
		wake = NULL;
		i = select_poll(cases, pollorder, n, lockorder, &wake);
		if (i >= 0 || !block) {
			selunlock(cases, lockorder, n);
			rg__sudog_wake_list(wake);
			break;
		}
		if (wake) {
			/* Settling served waiters of a channel but no case
			 * of ours: wake them before we park, then poll
			 * again. */
			selunlock(cases, lockorder, n);
			rg__sudog_wake_list(wake);
			sellock(cases, lockorder, n);
			continue;
		}
		i = select_wait(cases, ncases, lockorder, n);
		if (i == SEL_AGAIN_LOCKED)
			continue;
		if (i == SEL_AGAIN) {
			sellock(cases, lockorder, n);
			continue;
		}
		break;
	}
out:
	if (pollorder != local)
		free(pollorder);
	return i;
}

int rg_select(rg_case_t *cases, int ncases, bool block)
{
	return select_cases(cases, ncases, block);
}
