// SPDX-License-Identifier: MIT
/*
 * test_io.c — files and other non-socket fds: open, write, fsync, stat,
 * read back, pread/pwrite, readv/writev, read_file/write_file, errors,
 * contexts, pipes, many goroutines, foreign threads and no runtime at
 * all.  Every case runs on both backends (rgio.h).
 */
#include "helpers/rgio.h"
#include "helpers/rgpark.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>


#define KiB 1024
#define MiB (1024 * 1024)

/* A scratch directory per case, removed (with its files) afterwards. */
static char tmpdir[64];

static int mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ringo-io-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -errno;
}

static void rm_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[sizeof(tmpdir) + sizeof(e->d_name) + 2];
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

static const char *tmp(const char *name)
{
	static char p[8][128];
	static int i;
	char *s = p[i++ % 8];
	snprintf(s, sizeof(p[0]), "%s/%s", tmpdir, name);
	return s;
}

/* Runs a scenario inside a fresh scratch directory. */
#define FILE_SCEN(name)                                                       \
	static int scen_##name(void *arg)                                     \
	{                                                                     \
		(void)arg;                                                    \
		CHECK_CMP(mk_tmpdir(), ==, 0);                                \
		int r = body_##name();                                        \
		rm_tmpdir();                                                  \
		return r;                                                     \
	}
#define FILE_CASE(name, procs) FILE_SCEN(name) RGIO_CASE(name, procs)

/* ---- the basic cycle ----------------------------------------------- */

/* Create, write, fsync, stat, close, reopen, read back to EOF. */
static int body_file_cycle(void)
{
	const size_t n = 3 * MiB + 123;
	char *src = malloc(n), *dst = malloc(n + 1);
	uint64_t seed = 1;
	CHECK(src && dst);
	rgio_fill(&seed, src, n);

	int fd = rg_open(tmp("a"), O_CREAT | O_RDWR | O_EXCL, 0640, NULL);
	CHECK_CMP(fd, >=, 0);
	CHECK(rgio_cloexec(fd));
	CHECK_CMP(rg_write(fd, src, n, NULL), ==, n);
	CHECK_CMP(rg_fsync(fd, NULL), ==, 0);
	struct statx st;
	CHECK_CMP(rg_stat(tmp("a"), &st, NULL), ==, 0);
	CHECK(st.stx_mask & STATX_SIZE);
	CHECK_CMP(st.stx_size, ==, n);
	CHECK(S_ISREG(st.stx_mode));
	CHECK_CMP(st.stx_mode & 0777 & ~0640, ==, 0); /* within the mode asked (umask) */
	CHECK_CMP(rg_close(fd), ==, 0);

	fd = rg_open(tmp("a"), O_RDONLY, 0, NULL);
	CHECK_CMP(fd, >=, 0);
	size_t got = 0;
	for (;;) {
		ssize_t r = rg_read(fd, dst + got, 64 * KiB, NULL);
		CHECK_CMP(r, >=, 0);
		if (r == 0)
			break;
		got += (size_t)r;
		CHECK_CMP(got, <=, n);
	}
	CHECK_CMP(got, ==, n);
	CHECK(memcmp(src, dst, n) == 0);
	/* At EOF, again: 0. */
	CHECK_CMP(rg_read(fd, dst, 10, NULL), ==, 0);
	/* A short read: 10 bytes left, 100 asked. */
	CHECK_CMP(lseek(fd, -10, SEEK_END), ==, (off_t)n - 10);
	CHECK_CMP(rg_read(fd, dst, 100, NULL), ==, 10);
	CHECK(memcmp(dst, src + n - 10, 10) == 0);
	CHECK_CMP(rg_close(fd), ==, 0);

	/* O_APPEND and fdatasync-free appends land at the end. */
	fd = rg_open(tmp("a"), O_WRONLY | O_APPEND, 0, NULL);
	CHECK_CMP(fd, >=, 0);
	CHECK_CMP(rg_write(fd, "tail", 4, NULL), ==, 4);
	CHECK_CMP(rg_close(fd), ==, 0);
	CHECK_CMP(rg_stat(tmp("a"), &st, NULL), ==, 0);
	CHECK_CMP(st.stx_size, ==, n + 4);
	free(src);
	free(dst);
	return 0;
}
FILE_CASE(file_cycle, "2")

/* pread/pwrite at offsets leave the file position alone; a read past
 * the end is 0, one across it short. */
static int body_pread_pwrite(void)
{
	char buf[64];
	int fd = rg_open(tmp("p"), O_CREAT | O_RDWR, 0600, NULL);
	CHECK_CMP(fd, >=, 0);
	CHECK_CMP(rg_pwrite(fd, "0123456789", 10, 0, NULL), ==, 10);
	CHECK_CMP(rg_pwrite(fd, "abc", 3, 4096, NULL), ==, 3);
	CHECK_CMP(rg_pwrite(fd, "XY", 2, 3, NULL), ==, 2);
	CHECK_CMP(lseek(fd, 0, SEEK_CUR), ==, 0);

	CHECK_CMP(rg_pread(fd, buf, 10, 0, NULL), ==, 10);
	CHECK(memcmp(buf, "012XY56789", 10) == 0);
	CHECK_CMP(rg_pread(fd, buf, sizeof(buf), 4096, NULL), ==, 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	CHECK_CMP(rg_pread(fd, buf, sizeof(buf), 4097, NULL), ==, 2);
	CHECK_CMP(rg_pread(fd, buf, sizeof(buf), 4099, NULL), ==, 0);
	CHECK_CMP(rg_pread(fd, buf, sizeof(buf), 1 << 30, NULL), ==, 0);
	/* The hole reads as zeros. */
	CHECK_CMP(rg_pread(fd, buf, 16, 100, NULL), ==, 16);
	CHECK(rgio_all(buf, 0, 16));
	CHECK_CMP(lseek(fd, 0, SEEK_CUR), ==, 0);
	/* Negative offsets are refused, as pread(2) does (to io_uring -1
	 * would mean "the current position"). */
	CHECK_CMP(rg_pread(fd, buf, 1, -1, NULL), ==, -EINVAL);
	CHECK_CMP(rg_pwrite(fd, buf, 1, -1, NULL), ==, -EINVAL);
	/* Plain read and write still start at position 0. */
	CHECK_CMP(rg_read(fd, buf, 3, NULL), ==, 3);
	CHECK(memcmp(buf, "012", 3) == 0);
	CHECK_CMP(rg_close(fd), ==, 0);

	/* A large pwrite goes out whole at its offset. */
	const size_t n = 2 * MiB;
	char *big = malloc(n), *back = malloc(n);
	uint64_t seed = 3;
	CHECK(big && back);
	rgio_fill(&seed, big, n);
	fd = rg_open(tmp("q"), O_CREAT | O_RDWR | O_TRUNC, 0600, NULL);
	CHECK_CMP(rg_pwrite(fd, big, n, 12345, NULL), ==, n);
	CHECK_CMP(rg_pread(fd, back, n, 12345, NULL), ==, n);
	CHECK(memcmp(big, back, n) == 0);
	CHECK_CMP(rg_close(fd), ==, 0);
	free(big);
	free(back);
	return 0;
}
FILE_CASE(pread_pwrite, "1")

/* writev gathers (empty pieces included), readv scatters. */
static int body_readv_writev(void)
{
	char a[5], b[1], c[7];
	struct iovec out[4] = {
		{"hello", 5}, {"", 0}, {" ", 1}, {"vectors", 7},
	};
	struct iovec in[3] = {{a, sizeof(a)}, {b, sizeof(b)}, {c, sizeof(c)}};
	int fd = rg_open(tmp("v"), O_CREAT | O_RDWR, 0600, NULL);
	CHECK_CMP(fd, >=, 0);
	CHECK_CMP(rg_writev(fd, out, 4, NULL), ==, 13);
	CHECK_CMP(rg_writev(fd, out, 0, NULL), ==, 0);
	CHECK_CMP(lseek(fd, 0, SEEK_SET), ==, 0);
	CHECK_CMP(rg_readv(fd, in, 3, NULL), ==, 13);
	CHECK(memcmp(a, "hello", 5) == 0 && b[0] == ' ' && memcmp(c, "vectors", 7) == 0);
	CHECK_CMP(rg_readv(fd, in, 3, NULL), ==, 0);
	CHECK_CMP(rg_readv(fd, in, -1, NULL), ==, -EINVAL);
	CHECK_CMP(rg_writev(fd, out, -1, NULL), ==, -EINVAL);
	CHECK_CMP(rg_close(fd), ==, 0);

	/* Many pieces (more than the 8 kept on the stack on a retry). */
	struct iovec many[100];
	char piece[100][10];
	for (int i = 0; i < 100; i++) {
		memset(piece[i], 'a' + i % 26, sizeof(piece[i]));
		many[i] = (struct iovec){piece[i], sizeof(piece[i])};
	}
	fd = rg_open(tmp("w"), O_CREAT | O_RDWR, 0600, NULL);
	CHECK_CMP(rg_writev(fd, many, 100, NULL), ==, 1000);
	char back[1000];
	CHECK_CMP(rg_pread(fd, back, sizeof(back), 0, NULL), ==, 1000);
	CHECK(memcmp(back, piece, sizeof(back)) == 0);
	CHECK_CMP(rg_close(fd), ==, 0);
	return 0;
}
FILE_CASE(readv_writev, "1")

/* ---- whole files --------------------------------------------------- */

/* write_file creates with its mode, truncates an existing file;
 * read_file returns the bytes plus a NUL; empty and procfs files. */
static int body_whole_files(void)
{
	const size_t n = 5 * MiB + 17;
	char *src = malloc(n);
	uint64_t seed = 11;
	void *buf = (void *)1;
	size_t len = 7;
	CHECK(src);
	rgio_fill(&seed, src, n);

	CHECK_CMP(rg_write_file(tmp("f"), src, n, 0600, NULL), ==, 0);
	struct statx st;
	CHECK_CMP(rg_stat(tmp("f"), &st, NULL), ==, 0);
	CHECK_CMP(st.stx_size, ==, n);
	CHECK_CMP(st.stx_mode & 0777, ==, 0600);
	CHECK_CMP(rg_read_file(tmp("f"), &buf, &len, NULL), ==, 0);
	CHECK_CMP(len, ==, n);
	CHECK(memcmp(buf, src, n) == 0);
	CHECK(((char *)buf)[n] == 0);
	free(buf);

	/* Truncated, not overwritten in place. */
	CHECK_CMP(rg_write_file(tmp("f"), "short", 5, 0644, NULL), ==, 0);
	CHECK_CMP(rg_read_file(tmp("f"), &buf, &len, NULL), ==, 0);
	CHECK_CMP(len, ==, 5);
	CHECK(strcmp(buf, "short") == 0);
	free(buf);

	CHECK_CMP(rg_write_file(tmp("e"), "", 0, 0644, NULL), ==, 0);
	CHECK_CMP(rg_read_file(tmp("e"), &buf, &len, NULL), ==, 0);
	CHECK_CMP(len, ==, 0);
	CHECK(buf != NULL && ((char *)buf)[0] == 0);
	free(buf);

	/* procfs says size 0 and has more: read until EOF. */
	CHECK_CMP(rg_read_file("/proc/self/status", &buf, &len, NULL), ==, 0);
	CHECK_CMP(len, >, 100);
	CHECK(strlen(buf) == len && strstr(buf, "Name:") != NULL);
	free(buf);

	/* Failures leave *buf NULL and *len 0. */
	buf = (void *)1;
	len = 7;
	CHECK_CMP(rg_read_file(tmp("missing"), &buf, &len, NULL), ==, -ENOENT);
	CHECK(buf == NULL && len == 0);
	CHECK_CMP(rg_read_file(tmpdir, &buf, &len, NULL), ==, -EISDIR);
	CHECK_CMP(rg_write_file(tmp("no/such/dir"), "x", 1, 0644, NULL), ==, -ENOENT);
	free(src);
	return 0;
}
FILE_CASE(whole_files, "2")

/* ---- errors -------------------------------------------------------- */

/* Each call's failure is its -errno. */
static int body_file_errors(void)
{
	char buf[8];
	struct statx st;
	CHECK_CMP(rg_open(tmp("missing"), O_RDONLY, 0, NULL), ==, -ENOENT);
	CHECK_CMP(rg_stat(tmp("missing"), &st, NULL), ==, -ENOENT);
	int fd = rg_open(tmp("x"), O_CREAT | O_EXCL | O_WRONLY, 0600, NULL);
	CHECK_CMP(fd, >=, 0);
	CHECK_CMP(rg_open(tmp("x"), O_CREAT | O_EXCL | O_WRONLY, 0600, NULL), ==, -EEXIST);
	CHECK_CMP(rg_open(tmpdir, O_WRONLY, 0, NULL), ==, -EISDIR);
	CHECK_CMP(rg_open(tmp("x/y"), O_RDONLY, 0, NULL), ==, -ENOTDIR);
	/* Reading a write-only fd. */
	CHECK_CMP(rg_read(fd, buf, sizeof(buf), NULL), ==, -EBADF);
	CHECK_CMP(rg_pread(fd, buf, sizeof(buf), 0, NULL), ==, -EBADF);
	CHECK_CMP(rg_close(fd), ==, 0);
	/* A closed fd. */
	CHECK_CMP(rg_read(fd, buf, sizeof(buf), NULL), ==, -EBADF);
	CHECK_CMP(rg_write(fd, buf, sizeof(buf), NULL), ==, -EBADF);
	CHECK_CMP(rg_pwrite(fd, buf, sizeof(buf), 0, NULL), ==, -EBADF);
	CHECK_CMP(rg_fsync(fd, NULL), ==, -EBADF);
	CHECK_CMP(rg_close(fd), ==, -EBADF);
	CHECK_CMP(rg_fsync(-1, NULL), ==, -EBADF);
	/* Writing a read-only fd. */
	fd = rg_open(tmp("x"), O_RDONLY, 0, NULL);
	CHECK_CMP(fd, >=, 0);
	CHECK_CMP(rg_write(fd, "x", 1, NULL), ==, -EBADF);
	CHECK_CMP(rg_close(fd), ==, 0);
	/* A directory reads as -EISDIR. */
	fd = rg_open(tmpdir, O_RDONLY | O_DIRECTORY, 0, NULL);
	CHECK_CMP(fd, >=, 0);
	CHECK_CMP(rg_read(fd, buf, sizeof(buf), NULL), ==, -EISDIR);
	CHECK_CMP(rg_close(fd), ==, 0);
	return 0;
}
FILE_CASE(file_errors, "1")

/* A context that is done fails the call before the request starts:
 * no file is created, nothing is written. */
static int body_file_ctx(void)
{
	void *buf;
	size_t len;
	struct statx st;
	rg_ctx_t *c = rg_ctx_with_cancel(NULL);
	rg_ctx_retain(c);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	rg_ctx_t *t = rg_ctx_with_timeout(NULL, -1);

	CHECK_CMP(rg_open(tmp("c"), O_CREAT | O_WRONLY, 0600, c), ==, -ECANCELED);
	CHECK_CMP(rg_write_file(tmp("c"), "x", 1, 0600, t), ==, -ETIMEDOUT);
	CHECK_CMP(rg_stat(tmp("c"), &st, NULL), ==, -ENOENT);
	CHECK_CMP(rg_write_file(tmp("d"), "data", 4, 0600, NULL), ==, 0);
	CHECK_CMP(rg_read_file(tmp("d"), &buf, &len, c), ==, -ECANCELED);
	CHECK_CMP(rg_stat(tmp("d"), &st, t), ==, -ETIMEDOUT);
	int fd = rg_open(tmp("d"), O_RDWR, 0, NULL);
	CHECK_CMP(fd, >=, 0);
	CHECK_CMP(rg_write(fd, "XXXX", 4, c), ==, -ECANCELED);
	CHECK_CMP(rg_pwrite(fd, "XXXX", 4, 0, t), ==, -ETIMEDOUT);
	CHECK_CMP(rg_fsync(fd, c), ==, -ECANCELED);
	char b[4];
	CHECK_CMP(rg_read(fd, b, 4, t), ==, -ETIMEDOUT);
	CHECK_CMP(rg_read(fd, b, 4, NULL), ==, 4);
	CHECK(memcmp(b, "data", 4) == 0);
	CHECK_CMP(rg_close(fd), ==, 0);
	rg_ctx_release(c);
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	return 0;
}
FILE_CASE(file_ctx, "1")

/* ---- pipes --------------------------------------------------------- */

struct pipe_job {
	int fd;
	int64_t after;
	rg_waitgroup_t wg;
};

static void pipe_write_later(void *arg)
{
	struct pipe_job *j = arg;
	rg_sleep(j->after);
	GCHECK(rg_write(j->fd, "pipe", 4, NULL) == 4);
	rg_wg_done(&j->wg);
}

/* Pipes that the program made non-blocking itself wait like sockets
 * (io_uring gives back -EAGAIN for O_NONBLOCK; the call polls and
 * retries); a blocked pipe read honours its deadline. */
static int body_pipes(void)
{
	int p[2];
	char buf[16];
	CHECK_CMP(pipe2(p, O_CLOEXEC | O_NONBLOCK), ==, 0);
	struct pipe_job j = {.fd = p[1], .after = 10 * RG_MILLISECOND};
	rg_wg_add(&j.wg, 1);
	CHECK_CMP(rg_go(pipe_write_later, &j), ==, 0);
	CHECK_CMP(rg_read(p[0], buf, sizeof(buf), NULL), ==, 4);
	CHECK(memcmp(buf, "pipe", 4) == 0);
	rg_wg_wait(&j.wg);

	memset(buf, 0xa5, sizeof(buf));
	int64_t t0 = rg_now();
	rg_ctx_t *t = rg_ctx_with_timeout(NULL, 30 * RG_MILLISECOND);
	CHECK_CMP(rg_read(p[0], buf, sizeof(buf), t), ==, -ETIMEDOUT);
	int64_t dt = rg_now() - t0;
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	CHECK_CMP(dt, >=, 30 * RG_MILLISECOND);
	CHECK_CMP(dt, <, 500 * RG_MILLISECOND);
	CHECK(rgio_all(buf, 0xa5, sizeof(buf)));
	/* The write end closed: EOF. */
	CHECK_CMP(rg_close(p[1]), ==, 0);
	CHECK_CMP(rg_read(p[0], buf, sizeof(buf), NULL), ==, 0);
	CHECK_CMP(rg_close(p[0]), ==, 0);

	/* A blocking pipe: io_uring waits for it without a thread, and
	 * cancels it.  (On the epoll backend a blocking fd blocks its
	 * thread, with the P handed off: no deadline there.) */
	if (!rgio_epoll()) {
		CHECK_CMP(pipe2(p, O_CLOEXEC), ==, 0);
		t = rg_ctx_with_timeout(NULL, 30 * RG_MILLISECOND);
		CHECK_CMP(rg_read(p[0], buf, sizeof(buf), t), ==, -ETIMEDOUT);
		rg_ctx_cancel(t);
		rg_ctx_release(t);
		CHECK_CMP(rg_write(p[1], "ok", 2, NULL), ==, 2);
		CHECK_CMP(rg_read(p[0], buf, sizeof(buf), NULL), ==, 2);
		rg_close(p[0]);
		rg_close(p[1]);
	}
	return 0;
}
FILE_CASE(pipes, "2")

/* ---- concurrency --------------------------------------------------- */

#define NFILES 32
#define FILE_BYTES (256 * KiB)

struct file_job {
	int i;
	rg_waitgroup_t *wg;
};

/* Writes its own file in pwrite chunks, fsyncs, reads it back whole. */
static void file_worker(void *arg)
{
	struct file_job *j = arg;
	char path[128], chunk[16 * KiB];
	uint64_t seed = (uint64_t)j->i + 100, h = RGIO_FNV0;
	snprintf(path, sizeof(path), "%s/m%d", tmpdir, j->i);
	int fd = rg_open(path, O_CREAT | O_RDWR | O_TRUNC, 0600, NULL);
	GCHECK(fd >= 0);
	for (size_t off = 0; off < FILE_BYTES; off += sizeof(chunk)) {
		rgio_fill(&seed, chunk, sizeof(chunk));
		h = rgio_fnv(h, chunk, sizeof(chunk));
		GCHECK(rg_pwrite(fd, chunk, sizeof(chunk), (off_t)off, NULL) == sizeof(chunk));
	}
	GCHECK(rg_fsync(fd, NULL) == 0);
	GCHECK(rg_close(fd) == 0);
	void *buf = NULL;
	size_t len = 0;
	GCHECK(rg_read_file(path, &buf, &len, NULL) == 0);
	GCHECK(len == FILE_BYTES && rgio_fnv(RGIO_FNV0, buf, len) == h);
	free(buf);
	rg_wg_done(j->wg);
}

/* NFILES goroutines on 2 Ps doing file I/O at once. */
static int body_many_files(void)
{
	static struct file_job jobs[NFILES];
	rg_waitgroup_t wg = {0};
	rg_wg_add(&wg, NFILES);
	for (int i = 0; i < NFILES; i++) {
		jobs[i] = (struct file_job){.i = i, .wg = &wg};
		CHECK_CMP(rg_go(file_worker, &jobs[i]), ==, 0);
	}
	rg_wg_wait(&wg);
	return 0;
}
FILE_CASE(many_files, "2")

/* ---- foreign threads and no runtime -------------------------------- */

struct plain_io {
	const char *path;
	bool runtime;   /* a runtime runs (contexts with deadlines need one) */
};

/* Whole-file calls, open/read/close and a pipe, all blocking calls on
 * the calling thread. */
static void *plain_thread_io(void *arg)
{
	const struct plain_io *io = arg;
	void *buf = NULL;
	size_t len = 0;
	char b[8];
	GCHECK(rg_write_file(io->path, "foreign", 7, 0600, NULL) == 0);
	GCHECK(rg_read_file(io->path, &buf, &len, NULL) == 0);
	GCHECK(len == 7 && buf && strcmp(buf, "foreign") == 0);
	free(buf);
	int fd = rg_open(io->path, O_RDONLY, 0, NULL);
	GCHECK(fd >= 0);
	GCHECK(rg_pread(fd, b, 3, 4, NULL) == 3 && memcmp(b, "ign", 3) == 0);
	GCHECK(rg_close(fd) == 0);
	GCHECK(rg_close(fd) == -EBADF);
	if (!io->runtime)
		return NULL;
	rg_ctx_t *c = rg_ctx_with_cancel(NULL);
	rg_ctx_retain(c);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	GCHECK(rg_open(io->path, O_RDONLY, 0, c) == -ECANCELED);
	rg_ctx_release(c);
	/* A non-blocking pipe with nothing in it: the thread polls, within
	 * the deadline. */
	int p[2];
	GCHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	int64_t t0 = rg_now();
	rg_ctx_t *t = rg_ctx_with_timeout(NULL, 20 * RG_MILLISECOND);
	GCHECK(rg_read(p[0], b, sizeof(b), t) == -ETIMEDOUT);
	GCHECK(rg_now() - t0 >= 20 * RG_MILLISECOND);
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	close(p[0]);
	close(p[1]);
	return NULL;
}

static int body_foreign_thread(void)
{
	pthread_t th;
	struct plain_io io = {.path = tmp("t"), .runtime = true};
	rg_ref();
	CHECK_CMP(pthread_create(&th, NULL, plain_thread_io, &io), ==, 0);
	rg_syscall_enter();
	pthread_join(th, NULL);
	rg_syscall_exit();
	rg_unref();
	return 0;
}
FILE_CASE(foreign_thread, "2")

struct blocked_thread {
	int rfd, wfd;
	rg_chan_t *done;
	int64_t main_id;    /* the goroutine that waits on done */
};

/* Blocks in rg_read on a pipe, then tells a goroutine. */
static void *read_then_send(void *arg)
{
	struct blocked_thread *b = arg;
	char c;
	GCHECK(rg_read(b->rfd, &c, 1, NULL) == 1);
	int v = 1;
	rg_chan_send(b->done, &v);
	return NULL;
}

/* Writes the pipe once main is parked on done, making no ringo call
 * but the look at main (invisible to the deadlock detector). */
static void *write_later(void *arg)
{
	struct blocked_thread *b = arg;
	GCHECK(rgp_wait_parked(b->main_id, NULL, RG_WAIT_CHAN_RECV, 1, RGT_NEVER_MS));
	GCHECK(write(b->wfd, "x", 1) == 1);
	return NULL;
}

/* A foreign thread blocked in an I/O call may still wake a goroutine
 * afterwards: while it is blocked there, every goroutine asleep is not a
 * deadlock. */
static int body_foreign_blocked_counts(void)
{
	int p[2], v = 0;
	pthread_t reader, writer;
	struct blocked_thread b = {.done = rg_chan_make(sizeof(int), 0), .main_id = rg_goid()};
	CHECK_CMP(pipe2(p, O_CLOEXEC), ==, 0);
	b.rfd = p[0];
	b.wfd = p[1];
	rg_ref(); /* until the reader is inside rg_read */
	CHECK_CMP(pthread_create(&reader, NULL, read_then_send, &b), ==, 0);
	CHECK_CMP(pthread_create(&writer, NULL, write_later, &b), ==, 0);
	/* Ours and the reader's (inside rg_read, or past it and waiting to
	 * send on done): it counts by now. */
	CHECK(rgp_wait_refs(2, RGT_NEVER_MS));
	rg_unref();
	/* Every goroutine asleep; only the blocked reader can wake us. */
	CHECK(rg_chan_recv(b.done, &v) && v == 1);
	rg_syscall_enter();
	pthread_join(reader, NULL);
	pthread_join(writer, NULL);
	rg_syscall_exit();
	close(p[0]);
	close(p[1]);
	rg_chan_free(b.done);
	return 0;
}
FILE_SCEN(foreign_blocked_counts)
RGIO_CASE_ISOLATED(foreign_blocked_counts, "2")

/* Before any runtime starts (or after it stopped), the calls are plain
 * syscalls.  (Contexts need a runtime: not used here.) */
static void no_runtime(void **state)
{
	(void)state;
	atomic_store(&rgc_failed, 0);
	assert_string_equal(rg_io_backend(), "");
	assert_int_equal(mk_tmpdir(), 0);
	struct plain_io io = {.path = tmp("n")};
	plain_thread_io(&io);
	rm_tmpdir();
	rgc_assert_clean();
}

/* The backend in use is named. */
static int scen_backend_name(void *arg)
{
	(void)arg;
	const char *env = getenv("RINGO_BACKEND");
	CHECK(strcmp(rg_io_backend(), env && strcmp(env, "epoll") == 0 ? "epoll" : "io_uring") == 0);
	return 0;
}
RGIO_CASE(backend_name, "1")

int main(void)
{
	rgio_ignore_sigpipe();
	const struct CMUnitTest tests[] = {
		RGIO_TESTS(backend_name),
		RGIO_TESTS(file_cycle),
		RGIO_TESTS(pread_pwrite),
		RGIO_TESTS(readv_writev),
		RGIO_TESTS(whole_files),
		RGIO_TESTS(file_errors),
		RGIO_TESTS(file_ctx),
		RGIO_TESTS(pipes),
		RGIO_TESTS(many_files),
		RGIO_TESTS(foreign_thread),
		RGIO_TESTS(foreign_blocked_counts),
		cmocka_unit_test(no_runtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
