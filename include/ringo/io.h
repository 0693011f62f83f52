// SPDX-License-Identifier: MIT
/* Part of <ringo.h>; include that instead.
 *
 * I/O through io_uring (or, where io_uring is unavailable or
 * RINGO_BACKEND=epoll, through epoll and blocking syscalls).  Blocking
 * from the goroutine's point of view: the goroutine parks and the
 * thread runs others until the kernel completes the request.
 *
 * Every call returns >= 0 or -errno.  Every call that can wait without
 * bound takes ctx last (NULL: none).  A ctx that is already cancelled
 * fails the call with its error (-ECANCELED, or -ETIMEDOUT past its
 * deadline) before anything starts.  Cancelling it while the call waits
 * returns -ECANCELED, a deadline that passes -ETIMEDOUT, and in both
 * cases the request is cancelled in the kernel before the call returns,
 * so the buffer is the caller's again and no data was consumed (past
 * the count a write below returns).
 *
 * Writes that write everything (rg_write, rg_pwrite, rg_writev, rg_send,
 * rg_sendto) return n when all n bytes went out.  When an error stops
 * one, it returns -errno if nothing was written, and otherwise the
 * count written, short of n, as Go's Write returns n with its error:
 * the bytes before that count went out, none after it.  So:
 *     ssize_t r = rg_write(fd, buf, n, ctx);
 *     if (r != (ssize_t)n) ...failed: r < 0 is the error; 0 < r < n
 *         bytes were written, and rg_write(fd, buf + r, n - r, ctx)
 *         returns the error that stopped it (a cancelled or expired ctx,
 *         a broken connection: -EPIPE after a reset, -ENOSPC, ...) or
 *         carries on if the cause has passed
 * A caller that only asks "all or not" compares with n; one that must
 * resume, or account for what the peer may have seen, has the count.
 *
 * From a foreign thread (not a goroutine), and before the runtime
 * starts, the calls are plain syscalls: a done ctx is honoured before
 * the call; while it waits for a socket, pipe or FIFO that is not ready
 * the thread waits in poll(2), which honours deadlines and cancellation.
 *
 * Sockets made by these calls are close-on-exec; on the io_uring backend
 * they are blocking (io_uring waits for readiness itself), on the epoll
 * backend non-blocking.  A fd the program made itself works on both,
 * blocking or not, and its flags are never changed (O_NONBLOCK belongs
 * to the open file, which other processes may share).  With a ctx that
 * can end the wait, a blocking pipe, FIFO or socket is still waited for
 * in the poller with the ctx honoured: each attempt asks the kernel not
 * to wait (RWF_NOWAIT, MSG_DONTWAIT).  Where the kernel cannot (a tty,
 * pipes on kernels before 5.x: see Kbuild-notes.md) the epoll backend
 * polls for readiness first, and a write larger than the room left may
 * then block the thread once part of it went in.  Go's os.File uses its
 * poller only for fds it can make non-blocking; ringo's rule is wider
 * and leaves the fd alone.  A regular file has no readiness: its reads
 * and writes are plain syscalls on the epoll backend (the P released
 * meanwhile), and ctx is honoured between them.
 *
 * Close with rg_close a fd that any call here waited on: on the epoll
 * backend the fd stays registered with the poller until rg_close, and a
 * close(2) behind its back leaves a stale registration under a number
 * the kernel will hand out again (as closing an os.File's fd under Go).
 *
 * SIGPIPE never kills a ringo program: EPIPE comes back as -EPIPE.
 */
#ifndef RINGO_IO_H
#define RINGO_IO_H

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

struct statx;

/*
 * Addresses are Go's.  Networks: "tcp", "tcp4", "tcp6", "udp", "udp4",
 * "udp6" with "host:port" ("127.0.0.1:8080", "[::1]:9000",
 * "localhost:80", "example.com:http"; port 0: any free port, read it
 * with getsockname); "unix", "unixgram", "unixpacket" with a path, or
 * "@name" for Linux's abstract namespace.  Host names and service names
 * are resolved with getaddrinfo with the P released (a host name costs
 * a lookup, which no ctx can interrupt).
 *
 * Errors of both: -EINVAL for an unknown network or a malformed address
 * (missing or bad port, an IPv6 literal without brackets, a literal of
 * the wrong family, a unix path too long); -ENXIO for a host name
 * without addresses; -EAGAIN for a temporary resolver failure.
 */

/* Listens on addr and returns the socket fd (SO_REUSEADDR, backlog
 * SOMAXCONN).  An empty host (":8080") is every interface: for "tcp"
 * and "udp" one dual-stack socket ([::] with IPV6_V6ONLY off), or
 * 0.0.0.0 where the host has no IPv6.  "udp" and "unixgram" give a
 * bound datagram socket.  A unix socket's path stays until the program
 * removes it (unlink).  Any thread. */
RG_API int rg_listen(const char *network, const char *addr);

/* Accepts a connection on a listening socket; sa/len may be NULL.
 * Returns the new fd.  A connection reset before it was accepted is
 * skipped, as Go does. */
RG_API int rg_accept(int lfd, struct sockaddr *sa, socklen_t *len, rg_ctx_t *ctx);

/* Connects to addr (as rg_listen; an empty host is the loopback) and
 * returns the connected fd.  A name with several addresses is tried in
 * order; the first error is returned if none connects.  -ECONNREFUSED:
 * nothing listens there. */
RG_API int rg_dial(const char *network, const char *addr, rg_ctx_t *ctx);

/* Reads up to n bytes (one request: a short count is normal); 0 at end
 * of file. */
RG_API ssize_t rg_read(int fd, void *buf, size_t n, rg_ctx_t *ctx);

/* Writes all n bytes (retrying short writes, as Go's Write does):
 * returns n; or, stopped by an error, -errno when nothing was written
 * and the count written otherwise (see the top of this file). */
RG_API ssize_t rg_write(int fd, const void *buf, size_t n, rg_ctx_t *ctx);

/* recv(2) on a socket.  MSG_DONTWAIT: -EAGAIN instead of waiting;
 * MSG_WAITALL on a stream: waits for all n bytes (fewer only at EOF or
 * on an error after some arrived, as recv(2)). */
RG_API ssize_t rg_recv(int fd, void *buf, size_t n, int flags, rg_ctx_t *ctx);

/* Sends all n bytes (as rg_write, short only when an error stopped it;
 * a datagram goes whole), with MSG_NOSIGNAL added.  MSG_DONTWAIT: one
 * attempt, possibly short, or -EAGAIN. */
RG_API ssize_t rg_send(int fd, const void *buf, size_t n, int flags, rg_ctx_t *ctx);

/* recvfrom(2): *len (in: the size of sa) receives the sender's address
 * length; sa/len may be NULL. */
RG_API ssize_t rg_recvfrom(int fd, void *buf, size_t n, int flags,
			   struct sockaddr *sa, socklen_t *len, rg_ctx_t *ctx);

/* sendto(2), sending all n bytes as rg_send; sa NULL: the connected
 * peer.  -EINVAL for len > sizeof(struct sockaddr_storage), as sendto(2). */
RG_API ssize_t rg_sendto(int fd, const void *buf, size_t n, int flags,
			 const struct sockaddr *sa, socklen_t len, rg_ctx_t *ctx);

/* readv(2): one request, possibly short. */
RG_API ssize_t rg_readv(int fd, const struct iovec *iov, int iovcnt, rg_ctx_t *ctx);

/* writev(2), writing every byte of every piece (iov itself is not
 * modified): returns the total, or as rg_write when an error stops it. */
RG_API ssize_t rg_writev(int fd, const struct iovec *iov, int iovcnt, rg_ctx_t *ctx);

/* pread(2) at off (>= 0, else -EINVAL): one request, possibly short; 0
 * at or past the end.  The file position is not used or moved.  -ESPIPE
 * on a pipe, FIFO or socket, as pread(2), on both backends. */
RG_API ssize_t rg_pread(int fd, void *buf, size_t n, off_t off, rg_ctx_t *ctx);

/* pwrite(2) at off (>= 0), writing all n bytes as rg_write does;
 * -ESPIPE as rg_pread. */
RG_API ssize_t rg_pwrite(int fd, const void *buf, size_t n, off_t off, rg_ctx_t *ctx);

/* Files. */

/* openat(AT_FDCWD, path, flags | O_CLOEXEC, mode): the fd.  Opening a
 * FIFO without O_NONBLOCK waits in the kernel for the other end (on the
 * epoll backend with the thread blocked and ctx unheard until it
 * returns): pass O_NONBLOCK to be able to give up, as rg_read_file does. */
RG_API int rg_open(const char *path, int flags, mode_t mode, rg_ctx_t *ctx);

/* Closes fd: 0 or -errno (-EBADF: not open).  A goroutine waiting on fd
 * (a read, write, accept...) is woken with -EBADF, on both backends, as
 * Go's "use of closed network connection": on io_uring its request is
 * cancelled in the kernel before the fd goes, so nothing runs against a
 * reused fd number (test_net's close_wakes_reader).  A foreign thread
 * blocked in a call on fd is not woken (as with close(2)). */
RG_API int rg_close(int fd);

/* fsync(2). */
RG_API int rg_fsync(int fd, rg_ctx_t *ctx);

/* statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, st): follows symlinks. */
RG_API int rg_stat(const char *path, struct statx *st, rg_ctx_t *ctx);

/* Reads a whole file into a malloc'd buffer (*buf, *len; free() it):
 * reads until end of file, so a file that grows, or one whose size
 * stat does not know (procfs), reads whole.  The buffer has one extra
 * NUL byte after the data.  Returns 0, or -errno with *buf NULL and
 * *len 0.  A FIFO reads until its writer closes; waiting for a writer,
 * and for its data, honours ctx (the file is opened O_NONBLOCK). */
RG_API int rg_read_file(const char *path, void **buf, size_t *len, rg_ctx_t *ctx);

/* Creates or truncates path (mode for a new file, less the umask) and
 * writes buf; returns 0 or -errno (a failed close counts). */
RG_API int rg_write_file(const char *path, const void *buf, size_t len, mode_t mode,
			 rg_ctx_t *ctx);

/* The I/O backend in use: "io_uring" or "epoll" ("" when the runtime is
 * not running). */
RG_API const char *rg_io_backend(void);

#endif
