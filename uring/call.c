// SPDX-License-Identifier: MIT
/*
 * call.c — one request, three paths: io_uring, syscall + epoll wait, plain
 * syscall (see calls.h).
 *
 * Context rules, the same on every path: a context already cancelled
 * fails the call before anything starts; one cancelled while the request
 * waits ends it with -ECANCELED or -ETIMEDOUT, and the call returns only
 * once the kernel is done with the buffers (io_uring: after the
 * cancelled request's completion; epoll: the syscall never ran).
 */
#include "calls.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

_Static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT,
	       "readiness events are passed to poll(2) and IORING_OP_POLL_ADD as is");

/* ---- the plain syscalls -------------------------------------------- */

static inline ssize_t neg(ssize_t r)
{
	return r < 0 ? -errno : r;
}

static inline void *ptr(uint64_t v)
{
	return (void *)(uintptr_t)v;
}

/* An SQE's file offset: -1 means "the current position" (and is the
 * only offset a stream accepts). */
static inline bool at_pos(const struct io_uring_sqe *sqe)
{
	return sqe->off == (uint64_t)-1;
}

ssize_t rg__io_sys(const struct io_uring_sqe *sqe)
{
	int fd = sqe->fd;
	void *addr = ptr(sqe->addr);
	size_t len = sqe->len;
	off_t off = (off_t)sqe->off;

	switch (sqe->opcode) {
	case IORING_OP_READ:
		return neg(at_pos(sqe) ? read(fd, addr, len) : pread(fd, addr, len, off));
	case IORING_OP_WRITE:
		return neg(at_pos(sqe) ? write(fd, addr, len) : pwrite(fd, addr, len, off));
	case IORING_OP_READV:
		return neg(at_pos(sqe) ? readv(fd, addr, (int)len) : preadv(fd, addr, (int)len, off));
	case IORING_OP_WRITEV:
		return neg(at_pos(sqe) ? writev(fd, addr, (int)len) : pwritev(fd, addr, (int)len, off));
	case IORING_OP_RECV:
		return neg(recv(fd, addr, len, (int)sqe->msg_flags));
	case IORING_OP_SEND:
		return neg(send(fd, addr, len, (int)sqe->msg_flags));
	case IORING_OP_RECVMSG:
		return neg(recvmsg(fd, addr, (int)sqe->msg_flags));
	case IORING_OP_SENDMSG:
		return neg(sendmsg(fd, addr, (int)sqe->msg_flags));
	case IORING_OP_ACCEPT:
		/* Sockets of the epoll backend are non-blocking. */
		return neg(accept4(fd, addr, ptr(sqe->addr2),
				   (int)sqe->accept_flags | rg__sock_nonblock()));
	case IORING_OP_OPENAT:
		return neg(openat(fd, addr, (int)sqe->open_flags, (mode_t)len));
	case IORING_OP_STATX:
		return neg(statx(fd, addr, (int)sqe->statx_flags, (unsigned)len, ptr(sqe->off)));
	case IORING_OP_FSYNC:
		return neg((sqe->fsync_flags & IORING_FSYNC_DATASYNC) ? fdatasync(fd) : fsync(fd));
	case IORING_OP_CLOSE:
		return neg(close(fd));
	default:
		rg__throw("rg__io_sys: unsupported opcode");
	}
}

/* ---- waiting for readiness ----------------------------------------- */

static void prep_copy(struct io_uring_sqe *sqe, void *arg)
{
	memcpy(sqe, arg, sizeof(*sqe));
}

/* A foreign thread waits in poll(2): until the deadline, rechecking a
 * cancellable context every RG_THREAD_POLL_NS. */
static int thread_wait_fd(int fd, uint32_t events, rg_ctx_t *ctx)
{
	bool cancellable = rg_ctx_done(ctx) != NULL;
	int64_t deadline = 0;
	bool has_deadline = rg_ctx_deadline(ctx, &deadline);

	for (;;) {
		int e = rg_ctx_err(ctx);
		if (e)
			return e;
		int64_t wait = -1;
		if (has_deadline) {
			wait = deadline - rg_now();
			if (wait <= 0)
				return -ETIMEDOUT;
		}
		if (cancellable && (wait < 0 || wait > RG_THREAD_POLL_NS))
			wait = RG_THREAD_POLL_NS;
		int ms = wait < 0 ? -1 : (int)((wait + RG_MILLISECOND - 1) / RG_MILLISECOND);
		struct pollfd p = {.fd = fd, .events = (short)events};
		int r = poll(&p, 1, ms);
		if (r > 0)
			return (p.revents & POLLNVAL) ? -EBADF : 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int rg__io_wait_fd(int fd, uint32_t events, rg_ctx_t *ctx)
{
	switch (rg__io_path()) {
	case RG_PATH_URING: {
		struct io_uring_sqe sqe = {0};
		io_uring_prep_poll_add(&sqe, fd, events);
		int r = rg__io_uring_op(prep_copy, &sqe, ctx, NULL);
		return r < 0 ? r : 0;
	}
	case RG_PATH_EPOLL:
		return rg__epoll_wait_fd(fd, events, ctx);
	default:
		return thread_wait_fd(fd, events, ctx);
	}
}

int rg__io_wait_readable(int fd)
{
	return rg__io_wait_fd(fd, EPOLLIN, NULL);
}

/* ---- one request --------------------------------------------------- */

/*
 * Writes to a socket first try the syscall without waiting: a socket
 * with room in its buffer (nearly always, for request/response traffic)
 * takes the bytes at once, and the goroutine goes on without a trip
 * through the ring (queue, park, submit, reap, ready).  Only a full
 * buffer (EAGAIN) waits in the ring.  Go's netpoller works the same way.
 * A regular file or pipe answers ENOTSOCK and goes to the ring.
 * Reads are not tried first: in a request/response loop the next request
 * is rarely there yet, and io_uring tries the read itself before it arms
 * a poll.
 */
static bool try_send_first(const struct io_uring_sqe *sqe, ssize_t *res)
{
	if (sqe->opcode != IORING_OP_WRITE && sqe->opcode != IORING_OP_SEND)
		return false;
	if (sqe->opcode == IORING_OP_WRITE && sqe->off != (uint64_t)-1)
		return false; /* pwrite: a file */
	int flags = MSG_DONTWAIT | MSG_NOSIGNAL;
	if (sqe->opcode == IORING_OP_SEND)
		flags |= (int)sqe->msg_flags;
	ssize_t r = send(sqe->fd, (const void *)(uintptr_t)sqe->addr, sqe->len, flags);
	if (r >= 0) {
		*res = r;
		return true;
	}
	if (errno == EAGAIN || errno == ENOTSOCK || errno == EINTR)
		return false;
	*res = -errno; /* EPIPE, ECONNRESET, EBADF: the ring would say the same */
	return true;
}

static ssize_t call_uring(const struct io_uring_sqe *sqe, uint32_t events, rg_ctx_t *ctx)
{
	ssize_t direct;
	if (try_send_first(sqe, &direct))
		return direct;
	for (;;) {
		uint32_t gen = rg__ring_close_gen(sqe->fd);
		int r = rg__io_uring_op(prep_copy, (void *)sqe, ctx, NULL);
		/* Not cancelled (rg__io_uring_op said so): again, except a
		 * connect, which goes on in the kernel. */
		if (r == -EINTR && sqe->opcode != IORING_OP_CONNECT)
			continue;
		/* Cancelled, but not by ctx (rg__io_uring_op maps those):
		 * rg_close ended it under us, as epoll reports -EBADF; or,
		 * with no close of fd meanwhile, the kernel dropped it before
		 * it ran (io-wq could not start a worker while signals kept
		 * interrupting the thread that asked for one): again. */
		if (r == -ECANCELED && !rg_ctx_err(ctx)) {
			if (rg__ring_close_gen(sqe->fd) != gen || sqe->opcode == IORING_OP_CONNECT)
				return -EBADF;
			continue;
		}
		/* io_uring waits for readiness itself, except on an fd its
		 * owner made non-blocking (O_NONBLOCK is honoured). */
		if (r != -EAGAIN || !events)
			return r;
		r = rg__io_wait_fd(sqe->fd, events, ctx);
		if (r < 0)
			return r;
	}
}

/* ---- blocking fds with a context that can end the wait ------------ */

/*
 * A fd the program made itself (pipe(2), socket(2) without
 * SOCK_NONBLOCK, a FIFO, a tty) may be blocking.  On the epoll and
 * thread paths the syscall would then block the thread until data came,
 * past any deadline or cancellation.  Go's os.File uses the poller only
 * for a fd it can set non-blocking, and sets O_NONBLOCK on the pipes it
 * makes; ringo does not change the program's fd (O_NONBLOCK belongs to
 * the open file description, shared with every process holding it: a
 * child handed the pipe would see EAGAIN).  Instead, when ctx can end
 * the wait, each attempt asks the kernel not to wait for that one call:
 * RWF_NOWAIT (preadv2/pwritev2 at the current position) for read and
 * write, MSG_DONTWAIT for the socket calls.  "Not ready" (-EAGAIN) then
 * waits for readiness with the context, as a non-blocking fd does, and
 * the fd's flags are never touched.  The io_uring backend does the same
 * in the kernel (a request on a blocking pipe is tried without waiting,
 * then polled, and cancellable).
 *
 * Where the kernel refuses RWF_NOWAIT for a file (-EOPNOTSUPP: a tty,
 * inotify, pipes before Linux 5.x; -EINVAL before 4.14), the attempt
 * polls a blocking fd for readiness first (poll(2), timeout 0) and then
 * makes the plain call: a read then never blocks (unless another reader
 * takes the data in between), a write may block once some of it went in
 * and the rest does not fit.  A regular file, a directory or a block
 * device has no readiness: RWF_NOWAIT's -EAGAIN there (a page-cache
 * miss) falls back to the plain call, as without a context.
 */
static bool ctx_can_end(rg_ctx_t *ctx)
{
	int64_t t;
	return ctx && (rg_ctx_deadline(ctx, &t) || rg_ctx_done(ctx));
}

/* The attempt that never waits for *sqe: -EAGAIN when not ready,
 * -EOPNOTSUPP when the kernel cannot say so for this fd or opcode. */
static ssize_t sys_nowait(const struct io_uring_sqe *sqe)
{
	struct iovec one = {.iov_base = ptr(sqe->addr), .iov_len = sqe->len};
	struct io_uring_sqe copy;

	if (!at_pos(sqe) && sqe->opcode != IORING_OP_RECV && sqe->opcode != IORING_OP_SEND &&
	    sqe->opcode != IORING_OP_RECVMSG && sqe->opcode != IORING_OP_SENDMSG)
		return -EOPNOTSUPP; /* an offset: a file (or -ESPIPE), no readiness */
	switch (sqe->opcode) {
	case IORING_OP_READ:
		return neg(preadv2(sqe->fd, &one, 1, -1, RWF_NOWAIT));
	case IORING_OP_WRITE:
		return neg(pwritev2(sqe->fd, &one, 1, -1, RWF_NOWAIT));
	case IORING_OP_READV:
		return neg(preadv2(sqe->fd, ptr(sqe->addr), (int)sqe->len, -1, RWF_NOWAIT));
	case IORING_OP_WRITEV:
		return neg(pwritev2(sqe->fd, ptr(sqe->addr), (int)sqe->len, -1, RWF_NOWAIT));
	case IORING_OP_RECV:
	case IORING_OP_SEND:
	case IORING_OP_RECVMSG:
	case IORING_OP_SENDMSG:
		copy = *sqe;
		copy.msg_flags |= MSG_DONTWAIT;
		return rg__io_sys(&copy);
	default:
		return -EOPNOTSUPP;
	}
}

/* The attempt where RWF_NOWAIT is refused: a blocking fd that poll(2)
 * says is not ready is -EAGAIN; otherwise the plain call. */
static ssize_t sys_polled(const struct io_uring_sqe *sqe, uint32_t events)
{
	int fl = fcntl(sqe->fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK)) {
		struct pollfd p = {.fd = sqe->fd, .events = (short)events};
		int n = poll(&p, 1, 0);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EAGAIN;
	}
	return rg__io_sys(sqe);
}

/* True when fd has no readiness to wait for (a regular file, a
 * directory, a block device): a -EAGAIN of RWF_NOWAIT there means a
 * page-cache miss, and the plain call is what is left. */
static bool no_readiness(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 &&
	       (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode));
}

/* RINGO_RWF_NOWAIT=off forces the poll(2) fallback (for its tests),
 * read once, on first use. */
static bool nowait_refused(void)
{
	static _Atomic int mode; /* 0: not read yet, 1: use it, 2: off */
	int m = atomic_load_explicit(&mode, memory_order_relaxed);
	if (!m) {
		const char *e = getenv("RINGO_RWF_NOWAIT");
		m = e && strcmp(e, "off") == 0 ? 2 : 1;
		atomic_store_explicit(&mode, m, memory_order_relaxed);
	}
	return m == 2;
}

/* One attempt at *sqe; nowait: as sys_nowait, falling back to
 * sys_polled where the kernel refuses it. */
static ssize_t sys_attempt(const struct io_uring_sqe *sqe, uint32_t events, bool nowait)
{
	if (!nowait)
		return rg__io_sys(sqe);
	ssize_t r = nowait_refused() ? -EOPNOTSUPP : sys_nowait(sqe);
	if (r == -EOPNOTSUPP || r == -EINVAL)
		r = sys_polled(sqe, events);
	return r;
}

static ssize_t call_epoll(const struct io_uring_sqe *sqe, uint32_t events, rg_ctx_t *ctx)
{
	bool nowait = events && ctx_can_end(ctx);
	for (;;) {
		/* errno is read on this thread, before rg_syscall_exit. */
		rg_syscall_enter();
		ssize_t r = sys_attempt(sqe, events, nowait);
		rg_syscall_exit();
		/* Interrupted: again, after a scheduling point.  Without it a
		 * signal storm starves the P: each EINTR and re-entry ticks
		 * syscalltick, so sysmon never sees the same syscall twice
		 * and never retakes the P, while the goroutine that would
		 * make a blocking pipe read return (its writer) waits in the
		 * P's queue (test_iosignal, 1 P). */
		if (r == -EINTR) {
			rg_yield();
			continue;
		}
		if (r != -EAGAIN || !events) {
			RG_PCOUNT(nio);
			return r;
		}
		int w = rg__epoll_wait_fd(sqe->fd, events, ctx);
		if (w == -EPERM && nowait) {
			/* epoll refuses a regular file: no readiness. */
			nowait = false;
			continue;
		}
		if (w < 0)
			return w;
	}
}

static ssize_t call_thread(const struct io_uring_sqe *sqe, uint32_t events, rg_ctx_t *ctx)
{
	bool counted = rg__io_thread_begin();
	bool nowait = events && ctx_can_end(ctx);
	ssize_t r;
	for (;;) {
		r = sys_attempt(sqe, events, nowait);
		if (r == -EINTR)
			continue;
		if (r != -EAGAIN || !events)
			break;
		if (nowait && no_readiness(sqe->fd)) {
			nowait = false;
			continue;
		}
		int w = thread_wait_fd(sqe->fd, events, ctx);
		if (w < 0) {
			r = w;
			break;
		}
	}
	rg__io_thread_end(counted);
	return r;
}

ssize_t rg__io_call(const struct io_uring_sqe *sqe, uint32_t events, rg_ctx_t *ctx)
{
	int e = rg_ctx_err(ctx);
	if (e)
		return e;
	ssize_t r;
	switch (rg__io_path()) {
	case RG_PATH_URING:
		r = call_uring(sqe, events, ctx);
		break;
	case RG_PATH_EPOLL:
		r = call_epoll(sqe, events, ctx);
		break;
	default:
		r = call_thread(sqe, events, ctx);
		break;
	}
	if (r >= 0 && (sqe->opcode == IORING_OP_ACCEPT || sqe->opcode == IORING_OP_OPENAT))
		rg__io_newfd((int)r);
	return r;
}

int rg__io_close(int fd)
{
	if (fd < 0)
		return -EBADF;
	if (rg__io_backend() == RG_IO_EPOLL)
		rg__epoll_forget(fd);
	else if (rg__io_backend() == RG_IO_URING)
		rg__ring_cancel_fd(fd); /* blocked readers/writers get -EBADF */
	struct io_uring_sqe sqe = {0};
	io_uring_prep_close(&sqe, fd);
	/* Not through rg__io_call: no context, and no retry on EINTR (the
	 * fd is gone whatever close says). */
	ssize_t r;
	switch (rg__io_path()) {
	case RG_PATH_URING:
		r = rg__io_uring_op(prep_copy, &sqe, NULL, NULL);
		break;
	case RG_PATH_EPOLL:
		/* close may block: SO_LINGER, a file's last flush on NFS. */
		rg_syscall_enter();
		r = rg__io_sys(&sqe);
		rg_syscall_exit();
		break;
	default:
		r = rg__io_sys(&sqe);
		break;
	}
	return r == -EINTR ? 0 : (int)r;
}
