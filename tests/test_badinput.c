// SPDX-License-Identifier: MIT
/*
 * test_badinput.c — issue 14's bad inputs, one table row each.
 *
 * Owns: the table of careless or hostile calls into the public API and
 * what each must answer: a clean return (the documented -errno, NULL
 * with errno, or plain success where Go's semantics say so) or a
 * Go-style panic with a given text.  Never a crash, a hang, a
 * sanitizer report or success for garbage.
 *
 * Design: every row runs in a child process (rgt_run_child), so a row
 * that crashes, hangs or trips AddressSanitizer fails alone and says
 * why, and a panic is an outcome like any other.  A row's fn runs as
 * the main goroutine (rg_main) or, for "before the runtime starts"
 * rows, on the bare process thread.  Rows that do I/O run once per
 * backend (io_uring, then RINGO_BACKEND=epoll); the others once.
 * Rejected: one cmocka test per case (the table is what issue 14 asks
 * for, so that every new call gets its rows in one place), and running
 * rows in-process (a crashing row would take the whole file down).
 *
 * May call: the public API, tests/helpers (rgtest.h).
 */
#include "helpers/rgtest.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* A row's check failed: the child exits with the line. */
#define CHECK(x)                                                              \
	do {                                                                  \
		if (!(x)) {                                                   \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__,  \
				__LINE__, #x);                                \
			return __LINE__;                                      \
		}                                                             \
	} while (0)

enum { IN_MAIN, BEFORE_RUNTIME };
enum { NO_IO, BOTH_BACKENDS };

typedef struct row {
	const char *name;      /* the call and its bad input */
	int (*fn)(void *);     /* the call; 0 when its answer was right */
	int where;             /* IN_MAIN or BEFORE_RUNTIME */
	int io;                /* NO_IO or BOTH_BACKENDS */
	const char *panic;     /* the panic text expected, or NULL: fn's 0 */
} row_t;

/* ---- contexts ------------------------------------------------------ */

static int ctx_cancel_twice(void *arg)
{
	(void)arg;
	rg_ctx_t *c = rg_ctx_with_cancel(rg_ctx_background());
	CHECK(c);
	rg_ctx_cancel(c);
	rg_ctx_cancel(c);                 /* Go's cancel() is idempotent */
	CHECK(rg_ctx_err(c) == -ECANCELED);
	rg_ctx_release(c);
	return 0;
}

static int ctx_cancel_twice_deadline(void *arg)
{
	(void)arg;
	rg_ctx_t *p = rg_ctx_with_timeout(rg_ctx_background(), RG_HOUR);
	CHECK(p);
	rg_ctx_t *c = rg_ctx_with_cancel(p);
	CHECK(c);
	rg_ctx_cancel(c);
	rg_ctx_cancel(p);
	rg_ctx_cancel(c);
	rg_ctx_cancel(p);
	CHECK(rg_ctx_err(c) == -ECANCELED && rg_ctx_err(p) == -ECANCELED);
	rg_ctx_release(c);
	rg_ctx_release(p);
	return 0;
}

static int ctx_cancel_value_twice(void *arg)
{
	(void)arg;
	static int key;
	rg_ctx_t *v = rg_ctx_with_value(rg_ctx_background(), &key, NULL);
	CHECK(v);
	rg_ctx_cancel(v);                 /* nothing to cancel */
	rg_ctx_cancel(v);
	CHECK(rg_ctx_value(v, &key) == NULL && rg_ctx_err(v) == 0);
	rg_ctx_release(v);
	return 0;
}

/* ---- channels ------------------------------------------------------ */

static int chan_make_absurd(void *arg)
{
	(void)arg;
	static const struct { size_t elem, cap; } bad[] = {
		{SIZE_MAX, 0}, {SIZE_MAX, 1}, {SIZE_MAX / 2, 3},
		{1, SIZE_MAX}, {4, SIZE_MAX / 4}, {(size_t)1 << 40, 0},
		{65536 + 1, 0},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		rg_chan_t *c = rg_chan_make(bad[i].elem, bad[i].cap);
		if (c || (errno != EINVAL && errno != ENOMEM))
			fprintf(stderr, "rg_chan_make(%zu, %zu): %p errno %d\n",
				bad[i].elem, bad[i].cap, (void *)c, errno);
		CHECK(!c);
		CHECK(errno == EINVAL || errno == ENOMEM);
	}
	return 0;
}

static int chan_free_twice(void *arg)
{
	(void)arg;
	rg_chan_t *c = rg_chan_make(4, 2);
	rg_chan_free(c);
	rg_chan_free(c);
	return 1;
}

static int chan_send_null_elem(void *arg)
{
	(void)arg;
	rg_chan_t *c = rg_chan_make(4, 1);
	rg_chan_send(c, NULL);
	return 1;
}

static int chan_recv_before_runtime(void *arg)
{
	(void)arg;
	rg_chan_t *c = rg_chan_make(0, 0);
	rg_chan_recv(c, NULL);
	return 1;
}

static int chan_recv_nil_before_runtime(void *arg)
{
	(void)arg;
	rg_chan_recv(NULL, NULL);
	return 1;
}

static int wg_wait_before_runtime(void *arg)
{
	(void)arg;
	static rg_waitgroup_t wg;
	rg_wg_add(&wg, 1);
	rg_wg_wait(&wg);
	return 1;
}

/* ---- select, once -------------------------------------------------- */

static int select_null_cases(void *arg)
{
	(void)arg;
	rg_select(NULL, 2, true);
	return 1;
}

static int once_do_null_fn(void *arg)
{
	(void)arg;
	static rg_once_t o;
	rg_once_do(&o, NULL, NULL);
	return 1;
}

/* ---- time ---------------------------------------------------------- */

static void sleep_forever(void *arg)
{
	rg_sleep(INT64_MAX);
	rg_chan_send(arg, NULL);          /* must never come */
}

/* rg_sleep(INT64_MAX) sleeps "forever": a 50 ms deadline context fires
 * first.  (An overflowing deadline made it return at once, so the
 * channel was ready before the context's timer.) */
static int sleep_int64_max(void *arg)
{
	(void)arg;
	rg_chan_t *woke = rg_chan_make(0, 1);
	CHECK(rg_go(sleep_forever, woke) == 0);
	rg_ctx_t *c = rg_ctx_with_timeout(rg_ctx_background(), 50 * RG_MILLISECOND);
	rg_case_t cs[] = {RG_RECV(woke, NULL), RG_RECV(rg_ctx_done(c), NULL)};
	CHECK(rg_select(cs, 2, true) == 1);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	return 0;
}

static int deadline_near_end_of_time(void *arg)
{
	(void)arg;
	rg_ctx_t *c = rg_ctx_with_deadline(rg_ctx_background(), INT64_MAX - 1);
	CHECK(c);
	rg_ctx_t *d = rg_ctx_with_timeout(c, INT64_MAX);
	CHECK(d);
	CHECK(rg_ctx_err(d) == 0);
	rg_yield();
	CHECK(rg_ctx_err(d) == 0);
	rg_ctx_cancel(d);
	rg_ctx_release(d);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	return 0;
}

/* ---- I/O ----------------------------------------------------------- */

/* A pipe from pipe(2) is blocking: a read with a deadline must still end
 * at the deadline (on epoll the thread blocked in read(2)), and the fd
 * must stay blocking (the user's file, not ours to change). */
static int read_blocking_pipe_deadline(void *arg)
{
	(void)arg;
	int p[2];
	CHECK(pipe(p) == 0);
	rg_ctx_t *c = rg_ctx_with_timeout(rg_ctx_background(), 20 * RG_MILLISECOND);
	CHECK(c);
	char b[16];
	CHECK(rg_read(p[0], b, sizeof(b), c) == -ETIMEDOUT);
	CHECK(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	/* Data there: read at once, deadline or not. */
	c = rg_ctx_with_timeout(rg_ctx_background(), RG_HOUR);
	CHECK(write(p[1], "abc", 3) == 3);
	CHECK(rg_read(p[0], b, sizeof(b), c) == 3 && memcmp(b, "abc", 3) == 0);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	rg_close(p[0]); /* a fd that waited on epoll: rg_close */
	rg_close(p[1]);
	return 0;
}

/* The same where the kernel refuses RWF_NOWAIT (forced): the fallback
 * polls first. */
static int read_blocking_pipe_deadline_polled(void *arg)
{
	setenv("RINGO_RWF_NOWAIT", "off", 1); /* read on first use */
	return read_blocking_pipe_deadline(arg);
}

/* A write bigger than a blocking pipe holds, nobody reading: the
 * deadline ends it with the count that went in. */
static int write_blocking_pipe_deadline(void *arg)
{
	(void)arg;
	int p[2];
	CHECK(pipe(p) == 0);
	size_t n = 4 << 20;
	char *big = calloc(1, n);
	CHECK(big);
	rg_ctx_t *c = rg_ctx_with_timeout(rg_ctx_background(), 20 * RG_MILLISECOND);
	CHECK(c);
	ssize_t r = rg_write(p[1], big, n, c);
	CHECK(r > 0 && (size_t)r < n);
	CHECK(rg_ctx_err(c) == -ETIMEDOUT);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	free(big);
	rg_close(p[0]);
	rg_close(p[1]);
	return 0;
}

/* A FIFO in a fresh temporary directory; fills path. */
static int make_fifo(char *path, size_t n)
{
	char dir[] = "/tmp/rgbadXXXXXX";
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, n, "%s/fifo", dir);
	return mkfifo(path, 0600);
}

static void drop_fifo(const char *path)
{
	unlink(path);
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	rmdir(dir);
}

static int read_file_fifo_no_writer(void *arg)
{
	(void)arg;
	char path[256];
	CHECK(make_fifo(path, sizeof(path)) == 0);
	rg_ctx_t *c = rg_ctx_with_timeout(rg_ctx_background(), 20 * RG_MILLISECOND);
	CHECK(c);
	void *buf = (void *)1;
	size_t len = 1;
	CHECK(rg_read_file(path, &buf, &len, c) == -ETIMEDOUT);
	CHECK(buf == NULL && len == 0);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	drop_fifo(path);
	return 0;
}

static int read_file_fifo_silent_writer(void *arg)
{
	(void)arg;
	char path[256];
	CHECK(make_fifo(path, sizeof(path)) == 0);
	int w = open(path, O_RDWR | O_NONBLOCK); /* a writer that sends nothing */
	CHECK(w >= 0);
	rg_ctx_t *c = rg_ctx_with_timeout(rg_ctx_background(), 20 * RG_MILLISECOND);
	CHECK(c);
	void *buf;
	size_t len;
	CHECK(rg_read_file(path, &buf, &len, c) == -ETIMEDOUT);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	close(w);
	drop_fifo(path);
	return 0;
}

/* A writer thread: opens the FIFO (waiting for the reader), writes,
 * closes. */
static void *fifo_writer(void *arg)
{
	int fd = open(arg, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "hello", 5) != 5)
			abort();
		close(fd);
	}
	return NULL;
}

/* The FIFO path still reads what a writer sends, to its close. */
static int read_file_fifo_writer(void *arg)
{
	(void)arg;
	char path[256];
	pthread_t t;
	CHECK(make_fifo(path, sizeof(path)) == 0);
	CHECK(pthread_create(&t, NULL, fifo_writer, path) == 0);
	rg_ctx_t *c = rg_ctx_with_timeout(rg_ctx_background(), RG_HOUR);
	CHECK(c);
	void *buf;
	size_t len;
	CHECK(rg_read_file(path, &buf, &len, c) == 0);
	CHECK(len == 5 && memcmp(buf, "hello", 6) == 0);
	free(buf);
	pthread_join(t, NULL);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	drop_fifo(path);
	return 0;
}

/* pread(2) and pwrite(2) at an offset on a pipe: -ESPIPE, on both
 * backends (io_uring read and wrote, ignoring the offset). */
static int pread_pwrite_pipe_offset(void *arg)
{
	(void)arg;
	int p[2];
	char b[4] = "abc";
	CHECK(pipe(p) == 0);
	CHECK(rg_pwrite(p[1], b, 3, 0, NULL) == -ESPIPE);
	CHECK(rg_pwrite(p[1], b, 3, 7, NULL) == -ESPIPE);
	CHECK(write(p[1], b, 3) == 3);
	CHECK(rg_pread(p[0], b, 3, 0, NULL) == -ESPIPE);
	CHECK(rg_pread(p[0], b, 3, 5, NULL) == -ESPIPE);
	CHECK(rg_read(p[0], b, 3, NULL) == 3); /* still there */
	close(p[0]);
	close(p[1]);
	return 0;
}

/* sendto(2) refuses an address longer than a sockaddr_storage. */
static int sendto_long_addrlen(void *arg)
{
	(void)arg;
	int fd = rg_listen("udp4", "127.0.0.1:0");
	CHECK(fd >= 0);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	CHECK(getsockname(fd, (struct sockaddr *)&ss, &sl) == 0);
	char big[4096];
	memset(big, 0, sizeof(big));
	memcpy(big, &ss, sl);
	CHECK(rg_sendto(fd, "x", 1, 0, (struct sockaddr *)big, 4096, NULL) == -EINVAL);
	CHECK(rg_sendto(fd, "x", 1, 0, (struct sockaddr *)big, sizeof(ss) + 1, NULL) == -EINVAL);
	CHECK(rg_sendto(fd, "x", 1, 0, (struct sockaddr *)big, sl, NULL) == 1);
	rg_close(fd);
	return 0;
}

static const row_t rows[] = {
	{"rg_ctx_cancel twice", ctx_cancel_twice, IN_MAIN, NO_IO, NULL},
	{"rg_ctx_cancel twice, deadline parent", ctx_cancel_twice_deadline, IN_MAIN, NO_IO, NULL},
	{"rg_ctx_cancel twice on a value ctx", ctx_cancel_value_twice, IN_MAIN, NO_IO, NULL},
	{"rg_chan_make(SIZE_MAX, 0) and absurd sizes", chan_make_absurd, IN_MAIN, NO_IO, NULL},
	{"rg_chan_free twice", chan_free_twice, IN_MAIN, NO_IO, "free of a freed channel"},
	{"rg_chan_send(4-byte chan, NULL)", chan_send_null_elem, IN_MAIN, NO_IO,
	 "send of a NULL element"},
	{"rg_select(NULL, 2, true)", select_null_cases, IN_MAIN, NO_IO, "select: NULL cases"},
	{"rg_once_do(&o, NULL)", once_do_null_fn, IN_MAIN, NO_IO, "once: NULL function"},
	{"rg_sleep(INT64_MAX)", sleep_int64_max, IN_MAIN, NO_IO, NULL},
	{"deadline INT64_MAX - 1, timeout INT64_MAX", deadline_near_end_of_time, IN_MAIN, NO_IO, NULL},
	{"rg_chan_recv before the runtime", chan_recv_before_runtime, BEFORE_RUNTIME, NO_IO,
	 "needs the runtime"},
	{"rg_chan_recv(NULL) before the runtime", chan_recv_nil_before_runtime, BEFORE_RUNTIME, NO_IO,
	 "needs the runtime"},
	{"rg_wg_wait before the runtime", wg_wait_before_runtime, BEFORE_RUNTIME, NO_IO,
	 "needs the runtime"},
	{"rg_read, deadline, blocking pipe", read_blocking_pipe_deadline, IN_MAIN, BOTH_BACKENDS, NULL},
	{"rg_read, deadline, blocking pipe, RINGO_RWF_NOWAIT=off", read_blocking_pipe_deadline_polled,
	 IN_MAIN, BOTH_BACKENDS, NULL},
	{"rg_write, deadline, blocking pipe full", write_blocking_pipe_deadline, IN_MAIN, BOTH_BACKENDS,
	 NULL},
	{"rg_read_file, deadline, FIFO without writer", read_file_fifo_no_writer, IN_MAIN,
	 BOTH_BACKENDS, NULL},
	{"rg_read_file, deadline, FIFO with a silent writer", read_file_fifo_silent_writer, IN_MAIN,
	 BOTH_BACKENDS, NULL},
	{"rg_read_file, FIFO with a writer", read_file_fifo_writer, IN_MAIN, BOTH_BACKENDS, NULL},
	{"rg_pread/rg_pwrite at an offset on a pipe", pread_pwrite_pipe_offset, IN_MAIN,
	 BOTH_BACKENDS, NULL},
	{"rg_sendto, address length 4096", sendto_long_addrlen, IN_MAIN, BOTH_BACKENDS, NULL},
};

static int row_child(void *arg)
{
	const row_t *r = arg;
	if (r->where == BEFORE_RUNTIME)
		return r->fn(NULL);
	return rg_main(r->fn, NULL);
}

/* Runs row r under the backend named (NULL: the default); true when its
 * answer was the one expected, saying what happened when not. */
static bool run_row(const row_t *r, const char *backend)
{
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	rgt_env("RINGO_BACKEND", backend);
	assert_int_equal(rgt_run_child(row_child, (void *)r, 30, res), 0);
	rgt_env("RINGO_BACKEND", NULL);
	bool ok;
	if (r->panic)
		ok = res->signaled && res->sig == SIGABRT && strstr(res->out, r->panic) &&
		     strstr(res->out, "panic");
	else
		ok = res->exited && res->code == 0;
	if (!ok)
		fprintf(stderr, "row \"%s\"%s%s: want %s%s%s; got %s %d%s, output:\n%s\n",
			r->name, backend ? " on " : "", backend ? backend : "",
			r->panic ? "a panic with \"" : "a clean return",
			r->panic ? r->panic : "", r->panic ? "\"" : "",
			res->timed_out ? "a hang," : res->signaled ? "signal" : "exit",
			res->signaled ? res->sig : res->code,
			"", res->out);
	free(res);
	return ok;
}

static void test_badinput_table(void **state)
{
	(void)state;
	int bad = 0;
	/* RGT_ROWS=text runs only the rows whose name has text in it. */
	const char *only = getenv("RGT_ROWS");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (only && !strstr(rows[i].name, only))
			continue;
		bad += !run_row(&rows[i], NULL);
		if (rows[i].io == BOTH_BACKENDS)
			bad += !run_row(&rows[i], "epoll");
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_badinput_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
