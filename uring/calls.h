// SPDX-License-Identifier: MIT
/*
 * calls.h — what the blocking-style I/O calls share (rw.c, net.c,
 * file.c, addr.c).
 *
 * Every call describes its request once, as an io_uring SQE built with
 * liburing's prep helpers, and hands it to rg__io_call, which runs it on
 * the path that fits the caller:
 *
 *   RG_PATH_URING   a goroutine on the io_uring backend: the SQE goes to
 *                   its P's ring (rg__io_uring_op) and the goroutine parks;
 *                   the context cancels the request in the kernel.
 *   RG_PATH_EPOLL   a goroutine on the epoll backend: the equivalent
 *                   syscall between rg_syscall_enter/exit (a regular file
 *                   may block the thread; the P is released meanwhile);
 *                   a socket made by ringo is non-blocking, so "not
 *                   ready" comes back as EAGAIN and the goroutine parks in
 *                   rg__epoll_wait_fd until it is.
 *   RG_PATH_THREAD  a foreign thread, or no runtime: the plain syscall;
 *                   a non-blocking fd that is not ready waits in poll(2),
 *                   which honours the context's deadline and notices its
 *                   cancellation within RG_THREAD_POLL_NS.
 *
 * Rejected: a function pair (io_uring prep + syscall) per call, with an
 * argument struct each — three descriptions of every request where one
 * SQE already holds all of its arguments; and the SQE's own fields read
 * back by rg__io_sys keep the two paths from drifting apart.
 */
#ifndef RG_CALLS_H
#define RG_CALLS_H

#include <sys/socket.h>

#include "backend.h"

enum rg_io_path {
	RG_PATH_URING,
	RG_PATH_EPOLL,
	RG_PATH_THREAD,
};

/* The kernel's cap on one read or write (MAX_RW_COUNT); an SQE's len is
 * 32 bits, so larger requests are clamped (and come back short). */
#define RG_MAX_RW ((size_t)0x7ffff000)

/* A foreign thread waiting in poll(2) rechecks a cancellable context
 * this often. */
#define RG_THREAD_POLL_NS (20 * RG_MILLISECOND)

/* Which path the caller's I/O takes (see above). */
static inline int rg__io_path(void)
{
	int b = rg__io_backend();
	if (b == RG_IO_URING && rg__io_uring_ready())
		return RG_PATH_URING;
	if (b == RG_IO_EPOLL && rg__getg())
		return RG_PATH_EPOLL;
	return RG_PATH_THREAD;
}

/* SOCK_NONBLOCK on the epoll backend (its sockets wait for readiness in
 * epoll), else 0 (io_uring waits for readiness itself). */
static inline int rg__sock_nonblock(void)
{
	return rg__io_backend() == RG_IO_EPOLL ? SOCK_NONBLOCK : 0;
}

/* A foreign thread about to block in a syscall counts for the deadlock
 * detector until rg__io_thread_end, as one blocked in a channel
 * operation does: what it does next may wake a goroutine.  Returns
 * whether it counted (only while the runtime runs). */
static inline bool rg__io_thread_begin(void)
{
	if (rg__io_backend() == RG_IO_NONE)
		return false;
	rg__sched_ref();
	return true;
}

static inline void rg__io_thread_end(bool counted)
{
	if (counted)
		rg__sched_unref();
}

/*
 * Runs the request described by *sqe (built with io_uring_prep_*; flags
 * and user_data left 0) for the caller, on its path.  `events` (EPOLLIN,
 * EPOLLOUT) is the readiness to wait for when the fd is not ready
 * (EAGAIN); 0: return -EAGAIN as is (regular files, MSG_DONTWAIT).
 * Returns the result (>= 0) or -errno; -ECANCELED or -ETIMEDOUT from
 * ctx, which is checked before anything starts.  Buffers the SQE points
 * to are the caller's again when this returns.  Any thread.
 * Supported opcodes: those rg__io_sys knows.
 */
ssize_t rg__io_call(const struct io_uring_sqe *sqe, uint32_t events, rg_ctx_t *ctx) RG_HIDDEN;

/* The plain syscall equivalent to *sqe: >= 0 or -errno.  Never waits
 * for readiness.  Used by rg__io_call's epoll and thread paths. */
ssize_t rg__io_sys(const struct io_uring_sqe *sqe) RG_HIDDEN;

/* Waits until fd is ready for `events` on the caller's path (EPOLL or
 * THREAD; on URING through IORING_OP_POLL_ADD).  0, -ECANCELED,
 * -ETIMEDOUT or -errno. */
int rg__io_wait_fd(int fd, uint32_t events, rg_ctx_t *ctx) RG_HIDDEN;

/* Closes fd on the caller's path, telling the epoll backend first.
 * 0 or -errno (-EINTR reads as 0: Linux has closed the fd anyway). */
int rg__io_close(int fd) RG_HIDDEN;

/* ---- addresses (addr.c) -------------------------------------------- */

#define RG_ADDR_MAX 8

typedef struct rg_addr {
	int family, socktype, protocol;
	socklen_t len;
	struct sockaddr_storage sa;
} rg_addr_t;

/* What an address string names, for one network. */
typedef struct rg_addrlist {
	int n;
	bool wildcard;          /* listen with an empty host: ":8080" */
	bool v6only;            /* network was tcp6/udp6: IPV6_V6ONLY=1 */
	rg_addr_t a[RG_ADDR_MAX];
} rg_addrlist_t;

/*
 * Parses network and addr as Go's net package does and resolves host
 * names (getaddrinfo, with the P released).  passive: for rg_listen (an
 * empty host is the wildcard, IPv4 preferred among resolved names) or
 * for rg_dial (an empty host is the loopback).  Returns 0, -EINVAL for
 * an unknown network or a malformed address (missing or bad port, too
 * many colons, a literal of the wrong family, a unix path too long),
 * -ENXIO for a host name without addresses, -EAGAIN for a temporary
 * resolver failure, or another -errno.  Goroutine or foreign thread.
 */
int rg__addr_resolve(const char *network, const char *addr, bool passive,
		     rg_addrlist_t *out) RG_HIDDEN;

#endif
