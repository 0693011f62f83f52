// SPDX-License-Identifier: MIT
/*
 * file.c — files: rg_open, rg_close, rg_fsync, rg_stat, rg_read_file,
 * rg_write_file; and rg_io_backend.
 *
 * On the io_uring backend, open, statx and fsync run in the kernel's
 * io-wq workers while the goroutine is parked; on the epoll backend they
 * are plain syscalls with the P released (rg_syscall_enter/exit), which
 * is all epoll can offer a regular file.
 */
#include "calls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/stat.h>

int rg_open(const char *path, int flags, mode_t mode, rg_ctx_t *ctx)
{
	struct io_uring_sqe sqe = {0};
	io_uring_prep_openat(&sqe, AT_FDCWD, path, flags | O_CLOEXEC, mode);
	return (int)rg__io_call(&sqe, 0, ctx);
}

int rg_close(int fd)
{
	return rg__io_close(fd);
}

int rg_fsync(int fd, rg_ctx_t *ctx)
{
	struct io_uring_sqe sqe = {0};
	io_uring_prep_fsync(&sqe, fd, 0);
	return (int)rg__io_call(&sqe, 0, ctx);
}

int rg_stat(const char *path, struct statx *st, rg_ctx_t *ctx)
{
	struct io_uring_sqe sqe = {0};
	io_uring_prep_statx(&sqe, AT_FDCWD, path, 0, STATX_BASIC_STATS, st);
	return (int)rg__io_call(&sqe, 0, ctx);
}

/* The size of an open file, as a hint (0 when unknown: procfs says 0
 * too), and whether it is a FIFO.  A cancelled ctx is an error; a
 * failed statx is not. */
static int size_hint(int fd, size_t *size, bool *fifo, rg_ctx_t *ctx)
{
	struct statx st;
	struct io_uring_sqe sqe = {0};

	*size = 0;
	*fifo = false;
	io_uring_prep_statx(&sqe, fd, "", AT_EMPTY_PATH, STATX_SIZE | STATX_TYPE, &st);
	int r = (int)rg__io_call(&sqe, 0, ctx);
	if (r < 0)
		return rg_ctx_err(ctx) ? r : 0;
	if ((st.stx_mask & STATX_SIZE) && st.stx_size < SIZE_MAX / 2)
		*size = (size_t)st.stx_size;
	*fifo = (st.stx_mask & STATX_TYPE) && S_ISFIFO(st.stx_mode);
	return 0;
}

/*
 * The file is opened O_NONBLOCK, so that nothing blocks the thread
 * where ctx cannot reach it: open(2) of a FIFO without O_NONBLOCK waits
 * for a writer in the kernel, and a read for the writer's data (on the
 * epoll backend, with the thread blocked and ctx ignored).  O_NONBLOCK
 * changes nothing for a regular file.  A FIFO opened so, with no writer
 * yet, reads as end of file at once: so the first read waits for
 * readiness (data, or a writer that came and went), which is how a
 * blocking open and read would have answered, and every wait honours
 * ctx.  The fd is rg_read_file's own: no one else sees its flags.
 */
int rg_read_file(const char *path, void **bufp, size_t *lenp, rg_ctx_t *ctx)
{
	char *buf = NULL;
	size_t cap, len = 0;
	bool fifo;
	ssize_t r;

	*bufp = NULL;
	*lenp = 0;
	int fd = rg_open(path, O_RDONLY | O_NONBLOCK, 0, ctx);
	if (fd < 0)
		return fd;
	if ((r = size_hint(fd, &cap, &fifo, ctx)) < 0)
		goto out;
	if (fifo && (r = rg__io_wait_fd(fd, EPOLLIN, ctx)) < 0)
		goto out;
	/* Room for the size, the NUL, and a file that grows a little
	 * meanwhile; a read that returns 0 ends it. */
	cap += 512;
	for (;;) {
		if (len + 1 >= cap || !buf) {
			if (buf)
				cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		r = rg_read(fd, buf + len, cap - 1 - len, ctx);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	rg__io_close(fd);
	return (int)r;
}

int rg_write_file(const char *path, const void *buf, size_t len, mode_t mode, rg_ctx_t *ctx)
{
	int fd = rg_open(path, O_WRONLY | O_CREAT | O_TRUNC, mode, ctx);
	if (fd < 0)
		return fd;
	/* A short count means an error stopped the write: writing the rest
	 * returns it (see rg_write). */
	size_t done = 0;
	ssize_t r = 0;
	while (done < len && (r = rg_write(fd, (const char *)buf + done, len - done, ctx)) >= 0)
		done += (size_t)r;
	int c = rg__io_close(fd);
	/* A failed close can be the first sign of a failed write (NFS,
	 * quotas), as in Go's WriteFile. */
	if (r < 0)
		return (int)r;
	return c < 0 ? c : 0;
}

const char *rg_io_backend(void)
{
	switch (rg__io_backend()) {
	case RG_IO_URING:
		return "io_uring";
	case RG_IO_EPOLL:
		return "epoll";
	default:
		return "";
	}
}
