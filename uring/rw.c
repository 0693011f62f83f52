// SPDX-License-Identifier: MIT
/*
 * rw.c — reading and writing any fd: rg_read, rg_write, rg_readv,
 * rg_writev, rg_pread, rg_pwrite.
 *
 * Reads make one request and may come back short, as read(2) does (and
 * Go's Read).  Writes loop until every byte is written, as Go's Write
 * does: a short write (a socket's send buffer filled, a signal, a
 * request over RG_MAX_RW) continues where it stopped.  An error ends
 * the loop: with nothing written the call returns it; after some bytes
 * it returns their count, as Go's Write returns n with its error, so
 * that the caller knows what went out (see ringo/io.h).
 */
#include "calls.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#define AT_POS ((uint64_t)-1) /* an SQE offset: the file's current position */

static inline unsigned clamp(size_t n)
{
	return (unsigned)(n < RG_MAX_RW ? n : RG_MAX_RW);
}

ssize_t rg_read(int fd, void *buf, size_t n, rg_ctx_t *ctx)
{
	struct io_uring_sqe sqe = {0};
	io_uring_prep_read(&sqe, fd, buf, clamp(n), AT_POS);
	return rg__io_call(&sqe, EPOLLIN, ctx);
}

/* io_uring ignores the offset of a request on a stream (a pipe, a
 * FIFO, a socket: FMODE_STREAM) and reads or writes as at the current
 * position, where pread(2), pwrite(2) and the epoll backend say -ESPIPE.
 * One lseek(2) tells: it fails with ESPIPE exactly where pread(2)
 * would.  Only the io_uring path asks (the others make the syscall). */
static int offset_refused(int fd)
{
	if (rg__io_path() != RG_PATH_URING)
		return 0;
	return lseek(fd, 0, SEEK_CUR) < 0 && errno == ESPIPE ? -ESPIPE : 0;
}

ssize_t rg_pread(int fd, void *buf, size_t n, off_t off, rg_ctx_t *ctx)
{
	if (off < 0)
		return -EINVAL; /* as pread(2); to io_uring -1 means "current position" */
	int e = offset_refused(fd);
	if (e)
		return e;
	struct io_uring_sqe sqe = {0};
	io_uring_prep_read(&sqe, fd, buf, clamp(n), (uint64_t)off);
	return rg__io_call(&sqe, EPOLLIN, ctx);
}

ssize_t rg_readv(int fd, const struct iovec *iov, int iovcnt, rg_ctx_t *ctx)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	struct io_uring_sqe sqe = {0};
	io_uring_prep_readv(&sqe, fd, iov, (unsigned)iovcnt, AT_POS);
	return rg__io_call(&sqe, EPOLLIN, ctx);
}

/* Writes n bytes at off (AT_POS: the current position), all of them. */
static ssize_t write_all(int fd, const char *p, size_t n, uint64_t off, rg_ctx_t *ctx)
{
	size_t done = 0;

	if (n > SSIZE_MAX)
		return -EINVAL;
	do {
		struct io_uring_sqe sqe = {0};
		io_uring_prep_write(&sqe, fd, p + done, clamp(n - done),
				    off == AT_POS ? AT_POS : off + done);
		ssize_t r = rg__io_call(&sqe, EPOLLOUT, ctx);
		if (r == 0 && done < n)
			r = -EIO; /* no progress and no error: don't spin */
		if (r < 0)
			return done ? (ssize_t)done : r;
		done += (size_t)r;
	} while (done < n);
	return (ssize_t)done;
}

ssize_t rg_write(int fd, const void *buf, size_t n, rg_ctx_t *ctx)
{
	return write_all(fd, buf, n, AT_POS, ctx);
}

ssize_t rg_pwrite(int fd, const void *buf, size_t n, off_t off, rg_ctx_t *ctx)
{
	if (off < 0)
		return -EINVAL;
	int e = offset_refused(fd);
	if (e)
		return e;
	return write_all(fd, buf, n, (uint64_t)off, ctx);
}

/* Drops the first k written bytes from v[0..*cnt), which the caller
 * owns; returns the new start. */
static struct iovec *iov_advance(struct iovec *v, int *cnt, size_t k)
{
	while (*cnt > 0 && k >= v->iov_len) {
		k -= v->iov_len;
		v++;
		(*cnt)--;
	}
	if (*cnt > 0) {
		v->iov_base = (char *)v->iov_base + k;
		v->iov_len -= k;
	}
	return v;
}

ssize_t rg_writev(int fd, const struct iovec *iov, int iovcnt, rg_ctx_t *ctx)
{
	struct iovec small[8], *copy = NULL;
	const struct iovec *v = iov;
	int cnt = iovcnt;
	size_t total = 0, done = 0;
	ssize_t r;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SSIZE_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	for (;;) {
		struct io_uring_sqe sqe = {0};
		io_uring_prep_writev(&sqe, fd, v, (unsigned)cnt, AT_POS);
		r = rg__io_call(&sqe, EPOLLOUT, ctx);
		if (r < 0)
			goto out;
		done += (size_t)r;
		if (done >= total)
			break;
		if (r == 0) {
			r = -EIO;
			goto out;
		}
		/* A short write: continue from a private copy of the rest. */
		if (!copy) {
			copy = cnt <= 8 ? small : malloc((size_t)cnt * sizeof(*copy));
			if (!copy) {
				r = -ENOMEM;
				goto out;
			}
			memcpy(copy, v, (size_t)cnt * sizeof(*copy));
			v = copy;
		}
		v = iov_advance((struct iovec *)v, &cnt, (size_t)r);
	}
	r = (ssize_t)done;
out:
	if (copy && copy != small)
		free(copy);
	return r < 0 && done ? (ssize_t)done : r;
}
