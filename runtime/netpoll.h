// SPDX-License-Identifier: MIT
/*
 * netpoll.h — the scheduler's contract with the I/O layer, declared on
 * the scheduler's side (as Go's runtime/netpoll.go declares what each
 * netpoll_*.go implements).  runtime/ includes this and never uring/:
 * the scheduler knows that some backend polls, waits and pokes, not how.
 * uring/io.c implements it by dispatching to the backend chosen at
 * start (io_uring in uring/ring.c, epoll in uring/epoll.c).
 *
 * Who calls what:
 *   start.c      rg__io_start / rg__io_stop, rg__io_poke_before(0) at stop;
 *   sched.c      rg__io_poll from findrunnable (and every RG_GLOBAL_TICK
 *                schedules), rg__io_idle_wait when a P has nothing to
 *                run, rg__io_poke_any / _before when work or a timer
 *                appears and no P is idle, rg__io_poke_p after handing
 *                a P goroutines (handback);
 *   sysmon.c     rg__io_poll_stuck for a P whose goroutine has run 10 ms
 *                without a scheduling point;
 *   signal.c     rg__io_wait_readable, from the signal reader goroutine;
 *   anything     rg__io_backend (rg_io_backend() reports it).
 */
#ifndef RG_NETPOLL_H
#define RG_NETPOLL_H

#include "rt.h"

enum rg_io_backend {
	RG_IO_NONE = 0,    /* not started */
	RG_IO_URING,
	RG_IO_EPOLL,
};

/* Which backend runs (RG_IO_NONE before start). */
int rg__io_backend(void) RG_HIDDEN;

/* Probes and starts the backend for rg__sched.allp (RINGO_BACKEND=epoll
 * forces the fallback).  0 or -errno. */
int rg__io_start(void) RG_HIDDEN;
/* Stops the backend once no M runs.  Returns true when the kernel holds
 * no request of the abandoned goroutines any more (io_uring cancels and
 * reaps them all first); false when some outlived a grace period, and
 * the goroutine stacks their buffers may be on must not be unmapped. */
bool rg__io_stop(void) RG_HIDDEN;

/* Submits what p has queued and readies the goroutines whose requests
 * completed.  Non-blocking; the caller holds p.  Returns true if it
 * readied any. */
bool rg__io_poll(rg_p *p) RG_HIDDEN;

/* rg__io_poll without the submit: for a P about to sleep in
 * rg__io_idle_wait, which submits what p queued in the same system
 * call as its wait.  A caller that finds work instead must call
 * rg__io_flush before it runs it (a goroutine that never yields would
 * otherwise hold p's queued requests back until sysmon's
 * rg__io_poll_stuck). */
bool rg__io_peek(rg_p *p) RG_HIDDEN;

/* Submits what p has queued (the io_uring backend; nothing on epoll). */
void rg__io_flush(rg_p *p) RG_HIDDEN;

/* For a P whose goroutine does not yield, from a thread without a P
 * (sysmon): submits what p has queued and readies, onto the global
 * queue, the goroutines whose requests completed, so that other Ps run
 * them.  Non-blocking.  Returns true if it readied any. */
bool rg__io_poll_stuck(rg_p *p) RG_HIDDEN;

/* If p has requests in flight, sleeps until one completes, a poke, or
 * `until` (monotonic ns, 0: none), keeping p, and returns true; else
 * returns false at once.  The caller holds p and loops back to look for
 * work. */
bool rg__io_idle_wait(rg_p *p, int64_t until) RG_HIDDEN;

/* Wakes one P sleeping in rg__io_idle_wait (work arrived and no P is
 * idle).  Returns true if there was one. */
bool rg__io_poke_any(void) RG_HIDDEN;

/* Wakes p if it sleeps in rg__io_idle_wait: the caller handed it work
 * (its inbox: rg__runqinject, whose seq_cst push this pairs with; a
 * sleeper reads the inbox after it says it polls). */
void rg__io_poke_p(rg_p *p) RG_HIDDEN;

/* Wakes every P sleeping in rg__io_idle_wait past `when` (0: all). */
void rg__io_poke_before(int64_t when) RG_HIDDEN;

/* fd is new: a number the kernel just gave one of the runtime's calls
 * (a socket, an accepted connection, an opened file, a pipe, a pidfd,
 * the signal reader's fds).  The epoll backend drops what it still
 * knows of a file that had that number and was closed behind its back
 * (close(2) where rg_close was due), which would otherwise leave the new
 * file unregistered and its waiters asleep for good.  Cheap: a table
 * lookup, and the descriptor's lock only if it has one.  (uring/io.c.) */
void rg__io_newfd(int fd) RG_HIDDEN;

/* Parks the calling goroutine until fd is readable, on the backend's
 * path (io_uring's POLL_ADD, or the epoll set).  0 or -errno.
 * Goroutine only.  (uring/call.c, over rg__io_wait_fd.) */
int rg__io_wait_readable(int fd) RG_HIDDEN;

#endif
