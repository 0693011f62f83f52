// SPDX-License-Identifier: MIT
/*
 * rt_signal.h — what the scheduler and start/stop owe the signal layer
 * (signal.c, the public half in include/ringo/signals.h).
 * Part of rt.h (included at its end); include rt.h, not this file.
 *
 * Who calls what:
 *   start.c   rg__sig_runtime_start in rt_start (before any thread), the
 *             notifiable set blocked around sysmon's creation and in
 *             rg_main's thread, rg__sig_runtime_stop in rt_stop (after
 *             the Ms are gone, before panic.c's handlers are restored),
 *             rg__sig_teardown after the I/O backend stopped;
 *   sched.c   rg__sig_block_notifiable around pthread_create (so that a
 *             new M starts with everything blocked), rg__sig_thread_start
 *             first thing in mstart, rg__sig_mcheck at the top of every
 *             findrunnable round, rg__sig_idle before stopm's futex
 *             sleep;
 *   uring/    rg__sig_waitmask for the mask of a sleep in the backend
 *             (ring.c's and epoll.c's idle waits).
 */
#ifndef RG_RT_SIGNAL_H
#define RG_RT_SIGNAL_H

#include <signal.h>

#include "rt.h"

/* Signals ringo has taken over since the runtime started (bit sig-1):
 * in the signalfd's mask and blocked in every M.  Only grows while the
 * runtime runs; zeroed at stop. */
extern _Atomic uint64_t rg__sig_managed RG_HIDDEN;

/* Records the starting thread's mask (new Ms inherit it, as Go's Ms
 * inherit the initial thread's) and resets the signal state. */
void rg__sig_runtime_start(void) RG_HIDDEN;

/* Ends every registration, restores every disposition ringo changed and
 * discards the signals still pending for it.  Caller: the thread that
 * stops the runtime. */
void rg__sig_runtime_stop(void) RG_HIDDEN;

/* Closes the signalfd, eventfd and epoll fd (after rg__io_stop). */
void rg__sig_teardown(void) RG_HIDDEN;

/* Blocks, in the calling thread, every signal rg_signal_notify accepts,
 * saving the old mask in *old (restore it with pthread_sigmask
 * (SIG_SETMASK, old, NULL)). */
void rg__sig_block_notifiable(sigset_t *old) RG_HIDDEN;

/* The new M's mask: the starting thread's, plus what ringo manages. */
void rg__sig_thread_start(rg_m *m) RG_HIDDEN;

/* Blocks in m's thread what ringo took over since m last looked. */
void rg__sig_mupdate(rg_m *m) RG_HIDDEN;

static inline void rg__sig_mcheck(rg_m *m)
{
	if (__builtin_expect(atomic_load_explicit(&rg__sig_managed, memory_order_relaxed) !=
			     m->sigblocked, 0))
		rg__sig_mupdate(m);
}

/* An M about to sleep for want of work takes the signals directed at
 * its own thread (blocked there, so only it can read them: raise() in a
 * goroutine, pthread_kill) and forwards them to the reader goroutine.
 * One non-blocking read, only once signals are in use.  The sleep before
 * stopm's futex wait does it; a sleep in the I/O backend, which can take
 * a signal mask (rg__sig_waitmask), does not need it. */
void rg__sig_idle_slow(void) RG_HIDDEN;

static inline void rg__sig_idle(rg_m *m)
{
	if (m->sigblocked)
		rg__sig_idle_slow();
}

/* The mask for m's sleep in the I/O backend (io_uring_enter's
 * getevents sigmask, epoll_pwait's): m's own, less the signals it
 * blocks for ringo, so that one pending for its thread, or for the
 * process, is taken by the forwarding handler during the sleep and ends
 * it.  The kernel swaps the mask for the sleep only: no syscall pair,
 * and no read of the signalfd per sleep (rg__sig_idle).  NULL while
 * ringo manages no signal (or m is NULL): the sleep keeps m's mask. */
const sigset_t *rg__sig_waitmask(rg_m *m) RG_HIDDEN;

#endif
