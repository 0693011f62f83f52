// SPDX-License-Identifier: MIT
/*
 * backend.h — the I/O backends' internal API: what the blocking-style
 * calls (io.c, net.c, rw.c, call.c) are built on, and each backend's
 * implementation of the scheduler's contract (runtime/netpoll.h, which
 * io.c dispatches to the backend chosen at start).
 *
 * Two backends, chosen once at start:
 *   io_uring (ring.c): one ring per P.  A goroutine's request goes into
 *     its P's submission queue and the goroutine parks; queued requests
 *     are submitted together at scheduling boundaries; the P's scheduler
 *     reaps completions and readies the goroutines.  A P with requests
 *     in flight and nothing to run sleeps in io_uring_enter until a
 *     completion, a poke from another thread, or its next timer.
 *   epoll (epoll.c): when io_uring is unavailable (kernel.io_uring_disabled,
 *     a seccomp profile, an old kernel) or RINGO_BACKEND=epoll.  Sockets
 *     are non-blocking and wait for readiness in one epoll set; files go
 *     through rg_syscall_enter/exit.
 *
 * Rejected: one ring shared by all Ps (a lock on every submission and
 * every reap, and completions for one P's goroutines landing wherever);
 * SQPOLL (a kernel thread spinning per ring: two cores here); SINGLE_ISSUER
 * and DEFER_TASKRUN (they tie a ring to one thread, and a P moves between
 * Ms when sysmon hands it off from a blocked syscall, and sysmon submits
 * and reaps for a P whose goroutine does not yield: rg__ring_poll_stuck).
 * COOP_TASKRUN | TASKRUN_FLAG is used where the kernel has it (ring.c).
 */
#ifndef RG_IO_H
#define RG_IO_H

#include <liburing.h>

#include "netpoll.h"
#include "rt.h"

/* ---- requests (io_uring backend) ----------------------------------- */

/* True when the caller is a goroutine on a P with a ring. */
bool rg__io_uring_ready(void) RG_HIDDEN;

/* Fills an SQE for one request (opcode, fd, buffers).  user_data and
 * link flags are the backend's. */
typedef void (*rg_io_prep_fn)(struct io_uring_sqe *sqe, void *arg);

/*
 * Runs one request for the calling goroutine on its P's ring and parks
 * until its completion arrives.  Returns the CQE's res (>= 0 or -errno);
 * -ECANCELED when ctx was cancelled, -ETIMEDOUT when ctx's deadline
 * passed (the request is cancelled in the kernel, and this returns only
 * after its completion: buffers are the caller's again).  *cqe_flags, if
 * not NULL, receives the CQE flags.  Goroutine on a P only
 * (rg__io_uring_ready()).
 */
int rg__io_uring_op(rg_io_prep_fn prep, void *arg, rg_ctx_t *ctx,
		    uint32_t *cqe_flags) RG_HIDDEN;

/* Cancels every request on fd on every ring (before it is closed):
 * their callers resume with -ECANCELED.  Any thread. */
void rg__ring_cancel_fd(int fd) RG_HIDDEN;

/* A count of rg__ring_cancel_fd calls on fds that share fd's slot (fd
 * modulo a small table).  A request that ends in -ECANCELED with no
 * context to blame was ended by rg_close if this moved while it was in
 * flight; if it did not, the kernel cancelled it by itself (io-wq fails
 * a request whose worker thread it cannot create, and creating one
 * fails while signals keep arriving) and the call tries again. */
uint32_t rg__ring_close_gen(int fd) RG_HIDDEN;

/* ---- the epoll backend (epoll.c) ----------------------------------- */

int rg__epoll_start(void) RG_HIDDEN;
void rg__epoll_stop(void) RG_HIDDEN;
bool rg__epoll_poll(rg_p *p) RG_HIDDEN;
bool rg__epoll_poll_stuck(rg_p *p) RG_HIDDEN;
bool rg__epoll_idle_wait(rg_p *p, int64_t until) RG_HIDDEN;
bool rg__epoll_poke_any(void) RG_HIDDEN;
void rg__epoll_poke_p(rg_p *p) RG_HIDDEN;
void rg__epoll_poke_before(int64_t when) RG_HIDDEN;

/* Parks the calling goroutine until fd (non-blocking) is ready for
 * `events` (EPOLLIN, EPOLLOUT), ctx is cancelled or its deadline passes.
 * Returns 0, -ECANCELED, -ETIMEDOUT or -errno.  Goroutine only. */
int rg__epoll_wait_fd(int fd, uint32_t events, rg_ctx_t *ctx) RG_HIDDEN;

/* Forgets fd (before it is closed). */
void rg__epoll_forget(int fd) RG_HIDDEN;

/* fd was just made (rg__io_newfd): a registration left by an earlier
 * file with that number, closed without rg__epoll_forget, is dropped. */
void rg__epoll_fresh(int fd) RG_HIDDEN;

/* ---- the io_uring backend (ring.c) ---------------------------------- */

int rg__ring_start(void) RG_HIDDEN;
/* Cancels and reaps every request, then closes the rings: true when
 * none is left in flight (false: the kernel still held some after a
 * grace period, and their buffers must stay mapped). */
bool rg__ring_stop(void) RG_HIDDEN;
/* Requests still in flight when a stop closed their ring, over every
 * stop (white-box tests: 0 unless a stop returned false). */
int64_t rg__ring_stop_left(void) RG_HIDDEN;
bool rg__ring_poll(rg_p *p, bool submit) RG_HIDDEN;
void rg__ring_flush(rg_p *p) RG_HIDDEN;
bool rg__ring_poll_stuck(rg_p *p) RG_HIDDEN;
/* The IORING_SETUP_* flags the rings run with (white-box tests). */
unsigned rg__ring_setup_flags(void) RG_HIDDEN;
bool rg__ring_idle_wait(rg_p *p, int64_t until) RG_HIDDEN;
/* Whether the calling thread enters p's ring by a registered index
 * (white-box tests; registers it now if it can). */
bool rg__ring_registered(rg_p *p) RG_HIDDEN;
/* Whether cancellation goes request by request (no CANCEL_FD/_ANY:
 * before 5.19, or RINGO_RING_CANCEL=legacy). */
bool rg__ring_legacy_cancel(void) RG_HIDDEN;
/* How many Ps sleep in their ring now (white-box tests). */
int rg__ring_npolling(void) RG_HIDDEN;
bool rg__ring_poke_any(void) RG_HIDDEN;
void rg__ring_poke_p(rg_p *p) RG_HIDDEN;
void rg__ring_poke_before(int64_t when) RG_HIDDEN;

#endif
