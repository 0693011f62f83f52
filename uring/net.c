// SPDX-License-Identifier: MIT
/*
 * net.c — sockets: rg_listen, rg_dial, rg_accept, rg_recv, rg_send,
 * rg_recvfrom, rg_sendto.
 *
 * Sockets are close-on-exec.  On the io_uring backend they stay
 * blocking: io_uring arms its own readiness poll for a request that
 * cannot complete at once, and a blocking socket also keeps plain
 * syscalls on foreign threads simple.  On the epoll backend they are
 * non-blocking, so that "not ready" is an EAGAIN that parks the
 * goroutine in rg__epoll_wait_fd instead of blocking its thread.
 *
 * Sends never raise SIGPIPE (MSG_NOSIGNAL): a peer that went away is
 * -EPIPE.  Like rg_write, rg_send and rg_sendto send every byte unless
 * MSG_DONTWAIT asks for one attempt (a datagram goes out whole or not
 * at all, so for datagrams that is one request).
 *
 * Multishot accept (one request, a completion per connection) is left
 * out: a single-shot accept per call is what a blocking-style API
 * needs, and a multishot request would have to queue connections that
 * nobody has asked for yet.
 */
#include "calls.h"
#include "rt_fault.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static inline unsigned clamp(size_t n)
{
	return (unsigned)(n < RG_MAX_RW ? n : RG_MAX_RW);
}

/* ---- listen -------------------------------------------------------- */

static int listen_one(const rg_addrlist_t *al, const rg_addr_t *a)
{
	int one = 1, r;
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC | rg__sock_nonblock(), a->protocol);
	if (fd < 0)
		return -errno;
	rg__io_newfd(fd);
	if (a->family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (a->family == AF_INET6) {
		/* tcp6: IPv6 only; tcp on ":port": dual-stack, whatever the
		 * net.ipv6.bindv6only sysctl says. */
		int v6only = al->v6only;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&a->sa, a->len) < 0)
		goto fail;
	if (a->socktype != SOCK_DGRAM && listen(fd, SOMAXCONN) < 0)
		goto fail;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

/* An address family or address that this host lacks (IPv6 disabled):
 * worth trying the next candidate, unlike EADDRINUSE or EACCES. */
static bool unavailable(int r)
{
	return r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL || r == -EPROTONOSUPPORT;
}

int rg_listen(const char *network, const char *addr)
{
	rg_addrlist_t al;
	int r = rg__addr_resolve(network, addr, true, &al);
	if (r < 0)
		return r;
	for (int i = 0; i < al.n; i++) {
		r = listen_one(&al, &al.a[i]);
		if (r >= 0 || !unavailable(r))
			break;
	}
	return r;
}

/* ---- dial ---------------------------------------------------------- */

/* Waits for a non-blocking connect to finish.  A wake-up that comes too
 * early (SO_ERROR 0 and no peer yet) waits again. */
static int connect_wait(int fd, rg_ctx_t *ctx)
{
	for (;;) {
		int r = rg__io_wait_fd(fd, EPOLLOUT, ctx);
		if (r < 0)
			return r;
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			return -errno;
		if (err == EINPROGRESS || err == EALREADY || err == EINTR)
			continue;
		if (err)
			return -err;
		struct sockaddr_storage ss;
		len = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
			return 0;
		if (errno != ENOTCONN)
			return -errno;
	}
}

static int connect_fd(int fd, const rg_addr_t *a, rg_ctx_t *ctx)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->sa;

	/* A datagram connect only sets the peer: it never waits. */
	if (a->socktype != SOCK_DGRAM && rg__io_path() == RG_PATH_URING) {
		struct io_uring_sqe sqe = {0};
		io_uring_prep_connect(&sqe, fd, sa, a->len);
		return (int)rg__io_call(&sqe, 0, ctx);
	}
	int e = rg_ctx_err(ctx);
	if (e)
		return e;
	bool counted = !rg__getg() && rg__io_thread_begin();
	int r = connect(fd, sa, a->len) == 0 ? 0 : -errno;
	/* EINTR: the connection goes on in the background.  (A unix
	 * socket with a full backlog says EAGAIN: returned as is.) */
	if (r == -EINPROGRESS || r == -EINTR)
		r = connect_wait(fd, ctx);
	rg__io_thread_end(counted);
	return r;
}

static int dial_one(const rg_addr_t *a, rg_ctx_t *ctx)
{
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC | rg__sock_nonblock(), a->protocol);
	if (fd < 0)
		return -errno;
	rg__io_newfd(fd);
	int r = connect_fd(fd, a, ctx);
	if (r < 0) {
		rg__io_close(fd);
		return r;
	}
	return fd;
}

int rg_dial(const char *network, const char *addr, rg_ctx_t *ctx)
{
	rg_addrlist_t al;
	int e = rg_ctx_err(ctx);
	if (e)
		return e;
	int r = rg__addr_resolve(network, addr, false, &al);
	if (r < 0)
		return r;
	/* Each address in turn, as Go does without Happy Eyeballs; the
	 * first failure is the one reported. */
	int first = 0;
	for (int i = 0; i < al.n; i++) {
		if ((e = rg_ctx_err(ctx)))
			return e;
		r = dial_one(&al.a[i], ctx);
		if (r >= 0)
			return r;
		if (!first)
			first = r;
	}
	return first;
}

/* ---- accept -------------------------------------------------------- */

int rg_accept(int lfd, struct sockaddr *sa, socklen_t *len, rg_ctx_t *ctx)
{
	socklen_t len0 = len ? *len : 0;
	for (;;) {
		struct io_uring_sqe sqe = {0};
		io_uring_prep_accept(&sqe, lfd, sa, len, SOCK_CLOEXEC);
		/* An injected failure (rt_fault.h) stands for the kernel's
		 * answer: no connection is taken. */
		ssize_t r = rg__fault(RG_FAULT_ACCEPT);
		if (r == 0)
			r = rg__io_call(&sqe, EPOLLIN, ctx);
		/* A connection reset before we took it: take the next (Go
		 * does the same). */
		if (r != -ECONNABORTED)
			return (int)r;
		if (len)
			*len = len0;
	}
}

/* ---- send and receive ---------------------------------------------- */

ssize_t rg_recv(int fd, void *buf, size_t n, int flags, rg_ctx_t *ctx)
{
	uint32_t events = (flags & MSG_DONTWAIT) ? 0 : EPOLLIN;
	size_t done = 0;
	bool all = false;

	/* MSG_WAITALL: io_uring waits for all n itself, a non-blocking
	 * socket does not; loop on streams (datagrams ignore the flag). */
	if ((flags & MSG_WAITALL) && !(flags & MSG_DONTWAIT)) {
		int type = 0;
		socklen_t tl = sizeof(type);
		all = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM;
	}
	do {
		struct io_uring_sqe sqe = {0};
		io_uring_prep_recv(&sqe, fd, (char *)buf + done, clamp(n - done), flags);
		ssize_t r = rg__io_call(&sqe, events, ctx);
		if (r < 0)
			return done ? (ssize_t)done : r; /* as recv(2): what arrived counts */
		if (r == 0)
			break;
		done += (size_t)r;
	} while (all && done < n);
	return (ssize_t)done;
}

ssize_t rg_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa,
		    socklen_t *len, rg_ctx_t *ctx)
{
	struct iovec iov = {.iov_base = buf, .iov_len = clamp(n)};
	struct msghdr msg = {
		.msg_name = sa,
		.msg_namelen = sa && len ? *len : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	struct io_uring_sqe sqe = {0};
	io_uring_prep_recvmsg(&sqe, fd, &msg, (unsigned)flags);
	ssize_t r = rg__io_call(&sqe, (flags & MSG_DONTWAIT) ? 0 : EPOLLIN, ctx);
	if (r >= 0 && sa && len)
		*len = msg.msg_namelen;
	return r;
}

/* Sends all n bytes (one datagram, or a stream's bytes however many
 * requests they take); MSG_DONTWAIT: one attempt. */
static ssize_t send_all(int fd, const char *buf, size_t n, int flags, const struct sockaddr *sa,
			socklen_t salen, rg_ctx_t *ctx)
{
	uint32_t events = (flags & MSG_DONTWAIT) ? 0 : EPOLLOUT;
	size_t done = 0;

	if (n > SSIZE_MAX)
		return -EINVAL;
	flags |= MSG_NOSIGNAL;
	do {
		struct io_uring_sqe sqe = {0};
		struct iovec iov = {.iov_base = (char *)buf + done, .iov_len = clamp(n - done)};
		struct msghdr msg = {
			.msg_name = (void *)sa,
			.msg_namelen = salen,
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		if (sa)
			io_uring_prep_sendmsg(&sqe, fd, &msg, (unsigned)flags);
		else
			io_uring_prep_send(&sqe, fd, iov.iov_base, (size_t)iov.iov_len, flags);
		ssize_t r = rg__io_call(&sqe, events, ctx);
		if (r == 0 && done < n)
			r = -EIO;
		if (r < 0)
			return done ? (ssize_t)done : r; /* as rg_write */
		done += (size_t)r;
	} while (done < n && !(flags & MSG_DONTWAIT));
	return (ssize_t)done;
}

ssize_t rg_send(int fd, const void *buf, size_t n, int flags, rg_ctx_t *ctx)
{
	return send_all(fd, buf, n, flags, NULL, 0, ctx);
}

ssize_t rg_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
		  socklen_t len, rg_ctx_t *ctx)
{
	/* sendto(2)'s answer; sendmsg (what both backends send with)
	 * would clip the length and send. */
	if (sa && len > sizeof(struct sockaddr_storage))
		return -EINVAL;
	return send_all(fd, buf, n, flags, sa, len, ctx);
}
