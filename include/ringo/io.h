/* Part of <ringo.h>; include that instead.
 *
 * I/O through io_uring (or, where io_uring is unavailable or
 * RINGO_BACKEND=epoll, through epoll and blocking syscalls).  Blocking
 * from the goroutine's point of view: the goroutine parks and the
 * thread runs others until the kernel completes the request.
 *
 * Every call returns >= 0 or -errno.  Every call that can wait without
 * bound takes ctx last (NULL: none): cancelling it returns -ECANCELED,
 * a passed deadline -ETIMEDOUT, and in both cases the request is
 * cancelled in the kernel before the call returns, so the buffer is the
 * caller's again.  From a foreign thread the calls block the thread.
 * SIGPIPE never kills a ringo program: EPIPE comes back as -EPIPE.
 */
#ifndef RINGO_IO_H
#define RINGO_IO_H

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

struct statx;

/* Listens on addr: "tcp", "tcp4", "tcp6" ("127.0.0.1:8080", ":8080",
 * "[::1]:9000", "localhost:80"), "udp" (a bound datagram socket), "unix"
 * (a path).  Returns the socket fd (SO_REUSEADDR, close-on-exec). */
RG_API int rg_listen(const char *network, const char *addr);

/* Accepts a connection; sa/len may be NULL.  Returns the new fd
 * (close-on-exec). */
RG_API int rg_accept(int lfd, struct sockaddr *sa, socklen_t *len, rg_ctx_t *ctx);

/* Connects to addr (as rg_listen; host names are resolved with
 * getaddrinfo, outside the P).  Returns the connected fd. */
RG_API int rg_dial(const char *network, const char *addr, rg_ctx_t *ctx);

/* Reads up to n bytes; 0 at end of file. */
RG_API ssize_t rg_read(int fd, void *buf, size_t n, rg_ctx_t *ctx);

/* Writes all n bytes (retrying short writes, as Go's Write does):
 * returns n, or -errno with nothing said about how much was written. */
RG_API ssize_t rg_write(int fd, const void *buf, size_t n, rg_ctx_t *ctx);

RG_API ssize_t rg_recv(int fd, void *buf, size_t n, int flags, rg_ctx_t *ctx);
RG_API ssize_t rg_send(int fd, const void *buf, size_t n, int flags, rg_ctx_t *ctx);
RG_API ssize_t rg_recvfrom(int fd, void *buf, size_t n, int flags,
			   struct sockaddr *sa, socklen_t *len, rg_ctx_t *ctx);
RG_API ssize_t rg_sendto(int fd, const void *buf, size_t n, int flags,
			 const struct sockaddr *sa, socklen_t len, rg_ctx_t *ctx);
RG_API ssize_t rg_readv(int fd, const struct iovec *iov, int iovcnt, rg_ctx_t *ctx);
RG_API ssize_t rg_writev(int fd, const struct iovec *iov, int iovcnt, rg_ctx_t *ctx);
RG_API ssize_t rg_pread(int fd, void *buf, size_t n, off_t off, rg_ctx_t *ctx);
RG_API ssize_t rg_pwrite(int fd, const void *buf, size_t n, off_t off, rg_ctx_t *ctx);

/* Files. */
RG_API int rg_open(const char *path, int flags, mode_t mode, rg_ctx_t *ctx);
RG_API int rg_close(int fd);
RG_API int rg_fsync(int fd, rg_ctx_t *ctx);
RG_API int rg_stat(const char *path, struct statx *st, rg_ctx_t *ctx);

/* Reads a whole file into a malloc'd buffer (*buf, *len; free() it).
 * The buffer has one extra NUL byte after the data. */
RG_API int rg_read_file(const char *path, void **buf, size_t *len, rg_ctx_t *ctx);

/* Creates or truncates path (mode for a new file) and writes buf. */
RG_API int rg_write_file(const char *path, const void *buf, size_t len, mode_t mode,
			 rg_ctx_t *ctx);

/* The I/O backend in use: "io_uring" or "epoll" ("" before start). */
RG_API const char *rg_io_backend(void);

#endif
