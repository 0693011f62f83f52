// SPDX-License-Identifier: MIT
/*
 * test_epoll.c — the epoll backend (uring/epoll.c), white-box: goroutines
 * wait for socketpair ends through rg__epoll_wait_fd with the runtime
 * started as RINGO_BACKEND=epoll.  Readiness both ways, edges latched
 * before the wait, a thousand waiters, several waiters on one fd,
 * cancellation and deadlines, forget, foreign threads, timers and new
 * work while an M sleeps in epoll_wait, and the deadlock detector.
 * Timeouts run twice: epoll_pwait2 (ns) and the millisecond fallback
 * (RINGO_EPOLL_TIMEOUT=ms).
 *
 * Scenarios run as the main goroutine (rgc_main) and check with
 * rgcheck.h: CHECK in the main goroutine, GCHECK elsewhere.
 */
#include "helpers/rgcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctx_cb.h"
#include "backend.h"
#include "rt.h"
#include "helpers/rgpark.h"
#include "helpers/rgio.h"

/* ---- scaffolding --------------------------------------------------- */

static void run_env(const char *procs, const char *timeout_mode,
		    int (*scenario)(void *), void *arg)
{
	rgt_env("RINGO_BACKEND", "epoll");
	rgt_env("RINGO_PROCS", procs);
	rgt_env("RINGO_EPOLL_TIMEOUT", timeout_mode);
	rgc_main(scenario, arg);
}

static void run(const char *procs, int (*scenario)(void *), void *arg)
{
	run_env(procs, NULL, scenario, arg);
}

/* A non-blocking, close-on-exec stream socketpair. */
static int pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
}

/* What the call layer does before close. */
static void pair_close(int sv[2])
{
	for (int i = 0; i < 2; i++) {
		rg__epoll_forget(sv[i]);
		close(sv[i]);
	}
}

static bool put(int fd, char c)
{
	return write(fd, &c, 1) == 1;
}

static int64_t ms_since(int64_t t0)
{
	return (rg_now() - t0) / RG_MILLISECOND;
}

/* Waits until thread `tid` (published by the thread itself; 0: not yet)
 * sleeps in poll(2), which is where a foreign thread's wait blocks: its
 * /proc syscall line starts with the call's number.  The scheduler does
 * not see such a thread, so this is how a test acts only once it waits.
 * Where /proc does not say (no such file on this kernel), it returns at
 * once: the test then checks less, but does not fail for it.  Plain
 * thread sleeps between looks (it also runs with no runtime).  False
 * after RGT_NEVER_MS. */
static bool wait_thread_in_poll(_Atomic pid_t *tid)
{
	int64_t give_up = rgt_ms() + RGT_NEVER_MS;
	while (rgt_ms() < give_up) {
		pid_t t = atomic_load(tid);
		char path[64], line[32] = {0};
		if (t) {
			snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)t);
			FILE *f = fopen(path, "r");
			if (!f)
				return true;
			bool got = fgets(line, sizeof(line), f) != NULL;
			fclose(f);
			if (!got)
				return true;
			long nr = strtol(line, NULL, 10);
			if (nr == SYS_poll || nr == SYS_ppoll)
				return true;
		}
		struct timespec ts = {0, 100 * 1000};
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Writes byte `c` to fd after `ms` milliseconds, on a goroutine. */
struct later {
	int fd;
	int ms;
	char c;
	rg_waitgroup_t wg;
};

static void write_later(void *arg)
{
	struct later *l = arg;
	rg_sleep((int64_t)l->ms * RG_MILLISECOND);
	GCHECK(put(l->fd, l->c));
	rg_wg_done(&l->wg);
}

static void write_later_start(struct later *l, int fd, int ms, char c)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->ms = ms;
	l->c = c;
	rg_wg_add(&l->wg, 1);
	GCHECK(rg_go(write_later, l) == 0);
}

/* Foreign threads: a scheduler reference covers their lifetime (as in
 * test_sync.c), joined with the P released. */
static void thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	rg__sched_ref();
	GCHECK(pthread_create(t, NULL, fn, arg) == 0);
}

static void thread_join(pthread_t t)
{
	rg_syscall_enter();
	pthread_join(t, NULL);
	rg_syscall_exit();
	rg__sched_unref();
}

/* ---- readiness ----------------------------------------------------- */

/* The main goroutine parks until a goroutine writes 10 ms later. */
static int scen_read_wakes(void *arg)
{
	(void)arg;
	int sv[2];
	struct later l;
	char c = 0;

	CHECK(rg__io_backend() == RG_IO_EPOLL);
	CHECK(pair(sv) == 0);
	write_later_start(&l, sv[1], 10, 'x');
	int64_t t0 = rg_now();
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, NULL), ==, 0);
	CHECK_CMP(ms_since(t0), >=, 8);
	CHECK(read(sv[0], &c, 1) == 1 && c == 'x');
	rg_wg_wait(&l.wg);
	pair_close(sv);
	return 0;
}

static void test_read_wakes(void **state)
{
	(void)state;
	run("1", scen_read_wakes, NULL);
	run("4", scen_read_wakes, NULL);
}

/* Data written before the first wait: registration raises the edge and
 * the wait returns at once.  An edge with no waiter is latched: the next
 * wait consumes it without parking. */
static int scen_ready_before(void *arg)
{
	(void)arg;
	int sv[2];
	char buf[8];
	rg_ctx_t *guard = rg_ctx_with_timeout(rg_ctx_background(), 5 * RG_SECOND);

	CHECK(pair(sv) == 0);
	CHECK(put(sv[1], 'a'));
	int64_t t0 = rg_now();
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, guard), ==, 0);
	CHECK(read(sv[0], buf, sizeof(buf)) == 1);
	CHECK(read(sv[0], buf, sizeof(buf)) < 0 && errno == EAGAIN);

	/* Nobody waits while this edge arrives; poll until some M saw
	 * it (the latch), then the wait must not park. */
	CHECK(put(sv[1], 'b'));
	for (int i = 0; i < 20; i++)
		rg_sleep(RG_MILLISECOND);
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, guard), ==, 0);
	CHECK(read(sv[0], buf, sizeof(buf)) == 1 && buf[0] == 'b');
	CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
	rg_ctx_cancel(guard);
	rg_ctx_release(guard);
	pair_close(sv);
	return 0;
}

static void test_ready_before(void **state)
{
	(void)state;
	run("1", scen_ready_before, NULL);
	run("2", scen_ready_before, NULL);
}

/* Drains fd after `ms`, on a goroutine. */
static void drain_later(void *arg)
{
	struct later *l = arg;
	char buf[4096];
	rg_sleep((int64_t)l->ms * RG_MILLISECOND);
	while (read(l->fd, buf, sizeof(buf)) > 0)
		;
	rg_wg_done(&l->wg);
}

/* A fresh socket is writable at once; a full one parks its writer until
 * the peer drains it. */
static int scen_writable(void *arg)
{
	(void)arg;
	int sv[2];
	struct later l = {0};
	char buf[4096] = {0};

	CHECK(pair(sv) == 0);
	int64_t t0 = rg_now();
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLOUT, NULL), ==, 0);
	CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
	while (write(sv[0], buf, sizeof(buf)) > 0)
		;
	CHECK(errno == EAGAIN);

	l.fd = sv[1];
	l.ms = 10;
	rg_wg_add(&l.wg, 1);
	CHECK(rg_go(drain_later, &l) == 0);
	t0 = rg_now();
	/* Wait, write, until the write goes through (a late edge from
	 * registration may wake us once before the drain). */
	for (;;) {
		CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLOUT, NULL), ==, 0);
		if (write(sv[0], buf, 1) == 1)
			break;
		CHECK(errno == EAGAIN);
	}
	CHECK_CMP(ms_since(t0), >=, 8);
	rg_wg_wait(&l.wg);
	pair_close(sv);
	return 0;
}

static void test_writable(void **state)
{
	(void)state;
	run("1", scen_writable, NULL);
	run("4", scen_writable, NULL);
}

/* Wrong arguments, and fds epoll refuses. */
static int scen_errors(void *arg)
{
	(void)arg;
	int sv[2];
	CHECK(pair(sv) == 0);
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN | EPOLLOUT, NULL), ==, -EINVAL);
	CHECK_CMP(rg__epoll_wait_fd(sv[0], 0, NULL), ==, -EINVAL);
	CHECK_CMP(rg__epoll_wait_fd(-1, EPOLLIN, NULL), ==, -EBADF);
	CHECK_CMP(rg__epoll_wait_fd(100000, EPOLLIN, NULL), ==, -EBADF); /* not open */
	int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC); /* a regular file */
	CHECK(file >= 0);
	CHECK_CMP(rg__epoll_wait_fd(file, EPOLLIN, NULL), ==, -EPERM);
	rg__epoll_forget(file);
	close(file);
	rg__epoll_forget(123456); /* never seen: nothing to do */
	pair_close(sv);
	return 0;
}

static void test_errors(void **state)
{
	(void)state;
	run("2", scen_errors, NULL);
}

/* ---- many waiters -------------------------------------------------- */

#define MANY 1000

struct many {
	int sv[MANY][2];
	int n;
	_Atomic int ok;
	rg_waitgroup_t wg;
};

struct many_arg {
	struct many *m;
	int i;
};

static void many_waiter(void *arg)
{
	struct many_arg *a = arg;
	int fd = a->m->sv[a->i][0];
	char c = 0;
	int r = rg__epoll_wait_fd(fd, EPOLLIN, NULL);
	GCHECK(r == 0);
	if (r == 0 && read(fd, &c, 1) == 1 && c == (char)(a->i & 0x7f))
		atomic_fetch_add(&a->m->ok, 1);
	rg_wg_done(&a->m->wg);
}

static rg_waitgroup_t low_wg;

/* Waits for the low fd of scen_high_fds. */
static void many_waiter_low(void *arg)
{
	int *lo = arg;
	char c = 0;
	GCHECK(rg__epoll_wait_fd(lo[0], EPOLLIN, NULL) == 0);
	GCHECK(read(lo[0], &c, 1) == 1 && c == 'l');
	rg_wg_done(&low_wg);
}

/* How many socketpairs fit under RLIMIT_NOFILE (raised to its hard
 * limit), up to MANY. */
static int many_count(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	long room = rl.rlim_cur == RLIM_INFINITY ? 2 * MANY + 200 : (long)rl.rlim_cur;
	long n = (room - 100) / 2;
	return n > MANY ? MANY : (int)n;
}

/* Until n goroutines are parked on I/O; false after RGT_NEVER_MS. */
static bool wait_io_parked(int n)
{
	return rgp_wait_parked(0, NULL, RG_WAIT_IO, n, RGT_NEVER_MS);
}

/* A thousand goroutines each wait on their own socketpair; the peers are
 * written in a shuffled order; every waiter wakes with its own byte. */
static int scen_many(void *arg)
{
	(void)arg;
	static struct many m;
	static struct many_arg args[MANY];
	static int order[MANY];
	memset(&m, 0, sizeof(m));
	m.n = many_count();
	CHECK_CMP(m.n, >=, 100);
	for (int i = 0; i < m.n; i++)
		CHECK(pair(m.sv[i]) == 0);
	rg_wg_add(&m.wg, m.n);
	for (int i = 0; i < m.n; i++) {
		args[i] = (struct many_arg){.m = &m, .i = i};
		CHECK(rg_go(many_waiter, &args[i]) == 0);
	}
	CHECK(wait_io_parked(m.n)); /* all of them park */
	uint32_t seed = 12345;
	for (int i = 0; i < m.n; i++)
		order[i] = i;
	for (int i = m.n - 1; i > 0; i--) {
		seed = seed * 1103515245 + 12345;
		int j = (int)((seed >> 8) % (uint32_t)(i + 1));
		int t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < m.n; i++) {
		int k = order[i];
		CHECK(put(m.sv[k][1], (char)(k & 0x7f)));
		if (i % 64 == 0)
			rg_yield();
	}
	rg_wg_wait(&m.wg);
	CHECK_CMP(atomic_load(&m.ok), ==, m.n);
	for (int i = 0; i < m.n; i++)
		pair_close(m.sv[i]);
	return 0;
}

static void test_many(void **state)
{
	(void)state;
	run("4", scen_many, NULL);
	run("1", scen_many, NULL);
}

/* Sleeps 1 ms at a time until *v >= n; false after RGT_NEVER_MS. */
static bool wait_ge(_Atomic int *v, int n)
{
	int64_t give_up = rg_now() + RGT_NEVER_MS * RG_MILLISECOND;
	while (atomic_load(v) < n && rg_now() < give_up)
		rg_sleep(RG_MILLISECOND);
	return atomic_load(v) >= n;
}

/* Fds far beyond the first directory (4096): the table grows while
 * other goroutines wait on low fds and Ms poll. */
static int scen_high_fds(void *arg)
{
	(void)arg;
	struct rlimit rl;
	int lo[2], sv[2], hi[2];
	struct later a, b;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	int top = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 70000 ? 70000 : (int)rl.rlim_cur;
	CHECK(pair(lo) == 0);
	write_later_start(&a, lo[1], 20, 'l');
	rg_wg_add(&low_wg, 1);
	CHECK(rg_go(many_waiter_low, lo) == 0);
	CHECK(pair(sv) == 0);
	hi[0] = fcntl(sv[0], F_DUPFD_CLOEXEC, top - 2);
	hi[1] = fcntl(sv[1], F_DUPFD_CLOEXEC, top - 2);
	CHECK(hi[0] > 4096 && hi[1] > 4096);
	close(sv[0]);
	close(sv[1]);
	write_later_start(&b, hi[1], 10, 'h');
	CHECK_CMP(rg__epoll_wait_fd(hi[0], EPOLLIN, NULL), ==, 0);
	char c;
	CHECK(read(hi[0], &c, 1) == 1 && c == 'h');
	rg_wg_wait(&b.wg);
	rg_wg_wait(&a.wg);
	rg_wg_wait(&low_wg);
	pair_close(hi);
	pair_close(lo);
	return 0;
}

static void test_high_fds(void **state)
{
	(void)state;
	struct rlimit rl;
	many_count(); /* raises the soft limit to the hard one */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 5000))
		skip();
	run("2", scen_high_fds, NULL);
}

/* Two goroutines wait for one fd: an edge wakes both (with edge-triggered
 * readiness waking one could strand the other); the one that finds no
 * data waits again and gets the next byte. */
struct two {
	int fd;
	_Atomic int wakes, got;
	rg_waitgroup_t wg;
};

static void two_reader(void *arg)
{
	struct two *t = arg;
	for (;;) {
		int r = rg__epoll_wait_fd(t->fd, EPOLLIN, NULL);
		GCHECK(r == 0);
		if (r != 0)
			break;
		atomic_fetch_add(&t->wakes, 1);
		char c;
		if (read(t->fd, &c, 1) == 1) {
			atomic_fetch_add(&t->got, 1);
			break;
		}
		GCHECK(errno == EAGAIN);
	}
	rg_wg_done(&t->wg);
}

static int scen_two_waiters(void *arg)
{
	(void)arg;
	int sv[2];
	static struct two t;
	memset(&t, 0, sizeof(t));
	CHECK(pair(sv) == 0);
	t.fd = sv[0];
	rg_wg_add(&t.wg, 2);
	CHECK(rg_go(two_reader, &t) == 0);
	CHECK(rg_go(two_reader, &t) == 0);
	CHECK(wait_io_parked(2));
	CHECK(put(sv[1], '1'));
	/* Both wake: one reads, the other finds nothing and waits again. */
	CHECK(wait_ge(&t.got, 1));
	CHECK(wait_ge(&t.wakes, 2));
	rg_sleep(5 * RG_MILLISECOND);
	CHECK_CMP(atomic_load(&t.got), ==, 1);
	CHECK(put(sv[1], '2'));
	rg_wg_wait(&t.wg);
	CHECK_CMP(atomic_load(&t.got), ==, 2);
	CHECK_CMP(atomic_load(&t.wakes), >=, 3);
	pair_close(sv);
	return 0;
}

static void test_two_waiters(void **state)
{
	(void)state;
	run("1", scen_two_waiters, NULL);
	run("4", scen_two_waiters, NULL);
}

/* A reader and a writer wait on one fd at once: each is woken by its
 * own direction only. */
struct outw {
	int fd;
	_Atomic int done;
	rg_waitgroup_t wg;
};

static void out_waiter(void *arg)
{
	struct outw *o = arg;
	GCHECK(rg__epoll_wait_fd(o->fd, EPOLLOUT, NULL) == 0);
	atomic_store(&o->done, 1);
	rg_wg_done(&o->wg);
}

static int scen_both_directions(void *arg)
{
	(void)arg;
	int sv[2];
	char buf[4096] = {0};
	static struct outw o;
	struct later r, d = {0};
	memset(&o, 0, sizeof(o));
	CHECK(pair(sv) == 0);
	/* Registers sv[0] (its write edge) while writable, then fills it. */
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLOUT, NULL), ==, 0);
	while (write(sv[0], buf, sizeof(buf)) > 0)
		;
	o.fd = sv[0];
	rg_wg_add(&o.wg, 1);
	CHECK(rg_go(out_waiter, &o) == 0);

	write_later_start(&r, sv[1], 10, 'r');
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, NULL), ==, 0);
	char c;
	CHECK(read(sv[0], &c, 1) == 1 && c == 'r');
	rg_wg_wait(&r.wg);
	rg_sleep(5 * RG_MILLISECOND);
	CHECK(atomic_load(&o.done) == 0); /* still full: still parked */

	d.fd = sv[1];
	rg_wg_add(&d.wg, 1);
	CHECK(rg_go(drain_later, &d) == 0);
	rg_wg_wait(&o.wg);
	rg_wg_wait(&d.wg);
	pair_close(sv);
	return 0;
}

static void test_both_directions(void **state)
{
	(void)state;
	run("2", scen_both_directions, NULL);
}

/* ---- cancellation and deadlines ------------------------------------ */

struct canceller {
	rg_ctx_t *ctx;       /* the reference it is given, and drops */
	int64_t waiter;      /* the goroutine to cancel once it waits */
	_Atomic int64_t at;  /* when it cancelled; 0: the waiter never parked */
};

/* Cancels once the waiter is parked on I/O (a cancel before the wait
 * would not test the wake-up), from a goroutine or a foreign thread. */
static void cancel_parked(struct canceller *c)
{
	if (rgp_wait_parked(c->waiter, NULL, RG_WAIT_IO, 1, RGT_NEVER_MS))
		atomic_store(&c->at, rg_now());
	rg_ctx_cancel(c->ctx);
	rg_ctx_release(c->ctx);
}

static void cancel_later(void *arg)
{
	cancel_parked(arg);
}

static void *cancel_thread(void *arg)
{
	cancel_parked(arg);
	return NULL;
}

/* Cancelled by a goroutine, by a foreign thread, or before the wait:
 * -ECANCELED, once the cancel came, not before; the fd still works
 * afterwards. */
static int scen_cancel(void *arg)
{
	(void)arg;
	int sv[2];
	CHECK(pair(sv) == 0);

	rg_ctx_t *ctx = rg_ctx_with_cancel(rg_ctx_background());
	struct canceller c = {.ctx = rg_ctx_retain(ctx), .waiter = rg_goid()};
	CHECK(rg_go(cancel_later, &c) == 0);
	int64_t t0 = rg_now();
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, ctx), ==, -ECANCELED);
	int64_t returned = rg_now();
	CHECK(atomic_load(&c.at) != 0);
	CHECK_CMP(returned, >=, atomic_load(&c.at));
	CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, ctx), ==, -ECANCELED);
	rg_ctx_release(ctx);

	pthread_t t;
	ctx = rg_ctx_with_cancel(rg_ctx_background());
	struct canceller ct = {.ctx = rg_ctx_retain(ctx), .waiter = rg_goid()};
	thread_start(&t, cancel_thread, &ct);
	t0 = rg_now();
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, ctx), ==, -ECANCELED);
	returned = rg_now();
	thread_join(t);
	CHECK(atomic_load(&ct.at) != 0);
	CHECK_CMP(returned, >=, atomic_load(&ct.at));
	CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
	rg_ctx_release(ctx);

	struct later l;
	write_later_start(&l, sv[1], 5, 'k');
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, NULL), ==, 0);
	rg_wg_wait(&l.wg);
	pair_close(sv);
	return 0;
}

static void test_cancel(void **state)
{
	(void)state;
	run("1", scen_cancel, NULL);
	run("4", scen_cancel, NULL);
}

/* A deadline: -ETIMEDOUT when it passes, not much later. */
static int scen_deadline(void *arg)
{
	(void)arg;
	int sv[2];
	CHECK(pair(sv) == 0);
	for (int i = 0; i < 3; i++) {
		int dir = i == 2 ? EPOLLOUT : EPOLLIN;
		if (dir == EPOLLOUT) {
			char buf[4096] = {0};
			while (write(sv[0], buf, sizeof(buf)) > 0)
				;
			/* Consume the edge latched at registration, if any. */
			rg_ctx_t *c = rg_ctx_with_timeout(rg_ctx_background(), RG_MILLISECOND);
			rg__epoll_wait_fd(sv[0], EPOLLOUT, c);
			rg_ctx_cancel(c);
			rg_ctx_release(c);
		}
		int64_t t0 = rg_now();
		rg_ctx_t *ctx = rg_ctx_with_timeout(rg_ctx_background(), 30 * RG_MILLISECOND);
		int r;
		char c = 0;
		/* A late edge from registration may wake the writer once:
		 * the write then still fails, and it waits again (what the
		 * call layer does). */
		while ((r = rg__epoll_wait_fd(sv[0], (uint32_t)dir, ctx)) == 0 && dir == EPOLLOUT)
			CHECK(write(sv[0], &c, 1) < 0 && errno == EAGAIN);
		CHECK_CMP(r, ==, -ETIMEDOUT);
		CHECK_CMP(ms_since(t0), >=, 25);
		CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
		rg_ctx_cancel(ctx);
		rg_ctx_release(ctx);
	}
	pair_close(sv);
	return 0;
}

static void test_deadline(void **state)
{
	(void)state;
	run("1", scen_deadline, NULL);
	run("4", scen_deadline, NULL);
	run_env("1", "ms", scen_deadline, NULL);
}

/* ---- forget -------------------------------------------------------- */

struct forget_arg {
	int fd;
	rg_g *waiter;   /* the goroutine that is to wait on fd */
};

/* True once g is parked waiting for I/O (its record is queued: the
 * waiter queues before it parks). */
static bool parked_on_io(rg_g *g)
{
	return atomic_load_explicit(&g->status, memory_order_acquire) == RG_G_WAITING &&
	       __atomic_load_n(&g->waitreason, __ATOMIC_RELAXED) == RG_WAIT_IO;
}

/* Forgets fd once the waiter waits on it.  Not after a fixed sleep: a
 * forget that comes before the wait finds nobody to wake, the wait then
 * registers fd afresh and never ends (a hang the child-process tests
 * reported as empty output). */
static void forget_later(void *arg)
{
	struct forget_arg *f = arg;
	while (!parked_on_io(f->waiter))
		rg_sleep(RG_MILLISECOND);
	rg__epoll_forget(f->fd);
}

/* Forget wakes the waiter with -EBADF; after close, the fd number is
 * reused by a new socketpair, which waits normally. */
static int scen_forget(void *arg)
{
	(void)arg;
	int sv[2];
	CHECK(pair(sv) == 0);
	struct forget_arg f = {.fd = sv[0], .waiter = rg__getg()};
	CHECK(rg_go(forget_later, &f) == 0);
	int64_t t0 = rg_now();
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, NULL), ==, -EBADF);
	CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
	int old = sv[0];
	pair_close(sv);

	CHECK(pair(sv) == 0);
	CHECK(sv[0] == old || sv[1] == old); /* lowest free numbers */
	for (int i = 0; i < 3; i++) {
		struct later l;
		write_later_start(&l, sv[1], 5, 'n');
		CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, NULL), ==, 0);
		char c;
		CHECK(read(sv[0], &c, 1) == 1 && c == 'n');
		rg_wg_wait(&l.wg);
	}
	/* Forget with nobody waiting, then wait again: registered anew. */
	rg__epoll_forget(sv[0]);
	struct later l;
	write_later_start(&l, sv[1], 5, 'm');
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, NULL), ==, 0);
	rg_wg_wait(&l.wg);
	pair_close(sv);
	return 0;
}

static void test_forget(void **state)
{
	(void)state;
	run("1", scen_forget, NULL);
	run("4", scen_forget, NULL);
}

/* A program that closes a waited-on socket with close(2) instead of
 * rg_close (io.h asks for rg_close) leaves the set's table believing the
 * number registered.  The runtime's own calls that make a fd drop that
 * (rg__io_newfd): a socket that rg_dial or rg_accept gets with the old
 * number waits and wakes normally.  Before, the first wait on it never
 * woke: the kernel had dropped the old file's registration and nobody
 * registered the new one. */
static int scen_close_behind(void *arg)
{
	(void)arg;
	char addr[32];
	int ln = rg_listen("tcp", "127.0.0.1:0");
	CHECK(ln >= 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", rgio_port(ln));
	rg_ctx_t *ctx = rg_ctx_with_timeout(rg_ctx_background(), RGT_NEVER_MS * RG_MILLISECOND);
	for (int round = 0; round < 3; round++) {
		int a = rg_dial("tcp", addr, ctx);
		CHECK(a >= 0);
		int b = rg_accept(ln, NULL, NULL, ctx);
		CHECK(b >= 0);
		/* Both numbers waited on once (registered): a read that
		 * parks until the other side writes. */
		struct later l;
		write_later_start(&l, b, 5, 'x');
		char c = 0;
		CHECK_CMP(rg_read(a, &c, 1, ctx), ==, 1);
		rg_wg_wait(&l.wg);
		write_later_start(&l, a, 5, 'y');
		CHECK_CMP(rg_read(b, &c, 1, ctx), ==, 1);
		rg_wg_wait(&l.wg);
		close(a);  /* behind the runtime's back */
		close(b);
	}
	CHECK_CMP(rg_ctx_err(ctx), ==, 0);
	rg_ctx_cancel(ctx);
	rg_ctx_release(ctx);
	rg_close(ln);
	return 0;
}

static void test_close_behind(void **state)
{
	(void)state;
	run("1", scen_close_behind, NULL);
	run("2", scen_close_behind, NULL);
}

/* ---- foreign threads ----------------------------------------------- */

struct foreign {
	int fd;
	rg_ctx_t *ctx;
	int res;
	char c;
	_Atomic pid_t tid;  /* the waiting thread */
	rg_waitgroup_t wg;
};

static void *foreign_waiter(void *arg)
{
	struct foreign *f = arg;
	atomic_store(&f->tid, (pid_t)syscall(SYS_gettid));
	f->res = rg__epoll_wait_fd(f->fd, EPOLLIN, f->ctx);
	if (f->res == 0 && read(f->fd, &f->c, 1) != 1)
		f->c = 0;
	rg_wg_done(&f->wg);
	return NULL;
}

/* A foreign thread waits too (in poll(2)): woken by readiness, by its
 * ctx's deadline and by its cancellation. */
static int scen_foreign(void *arg)
{
	(void)arg;
	int sv[2];
	static struct foreign f;
	pthread_t t;
	CHECK(pair(sv) == 0);

	memset(&f, 0, sizeof(f));
	f.fd = sv[0];
	rg_wg_add(&f.wg, 1);
	thread_start(&t, foreign_waiter, &f);
	CHECK(wait_thread_in_poll(&f.tid));
	CHECK(put(sv[1], 'f'));
	rg_wg_wait(&f.wg);
	thread_join(t);
	CHECK_CMP(f.res, ==, 0);
	CHECK(f.c == 'f');

	memset(&f, 0, sizeof(f));
	f.fd = sv[0];
	f.ctx = rg_ctx_with_timeout(rg_ctx_background(), 20 * RG_MILLISECOND);
	rg_wg_add(&f.wg, 1);
	int64_t t0 = rg_now();
	thread_start(&t, foreign_waiter, &f);
	rg_wg_wait(&f.wg);
	thread_join(t);
	CHECK_CMP(f.res, ==, -ETIMEDOUT);
	CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
	rg_ctx_cancel(f.ctx);
	rg_ctx_release(f.ctx);

	memset(&f, 0, sizeof(f));
	f.fd = sv[0];
	f.ctx = rg_ctx_with_cancel(rg_ctx_background());
	rg_ctx_retain(f.ctx); /* the thread's */
	rg_wg_add(&f.wg, 1);
	thread_start(&t, foreign_waiter, &f);
	CHECK(wait_thread_in_poll(&f.tid));
	t0 = rg_now();
	rg_ctx_cancel(f.ctx);
	rg_ctx_release(f.ctx);
	rg_wg_wait(&f.wg);
	thread_join(t);
	rg_ctx_release(f.ctx);
	CHECK_CMP(f.res, ==, -ECANCELED);
	CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
	pair_close(sv);
	return 0;
}

struct poll_writer {
	int fd;
	_Atomic pid_t tid;  /* the thread that waits */
};

/* Writes once the waiting thread sleeps in poll(2). */
static void *write_once_polling(void *arg)
{
	struct poll_writer *w = arg;
	if (!wait_thread_in_poll(&w->tid))
		return (void *)0;
	put(w->fd, 'o');
	return (void *)1;
}

/* With no runtime at all, a thread still waits (poll(2)). */
static void test_foreign_no_runtime(void **state)
{
	(void)state;
	int sv[2];
	pthread_t t;
	void *polled;
	assert_int_equal(pair(sv), 0);
	struct poll_writer w = {.fd = sv[1], .tid = (pid_t)syscall(SYS_gettid)};
	assert_int_equal(pthread_create(&t, NULL, write_once_polling, &w), 0);
	assert_int_equal(rg__epoll_wait_fd(sv[0], EPOLLIN, NULL), 0);
	pthread_join(t, &polled);
	assert_true(polled == (void *)1);
	assert_int_equal(rg__epoll_wait_fd(sv[1], EPOLLOUT, NULL), 0);
	close(sv[0]);
	close(sv[1]);
}

static void test_foreign(void **state)
{
	(void)state;
	run("1", scen_foreign, NULL);
	run("2", scen_foreign, NULL);
}

/* ---- the idle M in epoll_wait -------------------------------------- */

static int timer_fd;
static rg_timer timer_rec;

static void timer_write(void *arg, int64_t now)
{
	(void)arg, (void)now;
	GCHECK(put(timer_fd, 't'));
}

/* Arms the timer once the main goroutine waits on the fd (its M then
 * goes to sleep in epoll_wait: one P, nothing else to run). */
static void *arm_timer_thread(void *arg)
{
	int64_t waiter = *(int64_t *)arg;
	GCHECK(rgp_wait_parked(waiter, NULL, RG_WAIT_IO, 1, RGT_NEVER_MS));
	memset(&timer_rec, 0, sizeof(timer_rec));
	timer_rec.when = rg__nanotime() + 20 * RG_MILLISECOND;
	timer_rec.fn = timer_write;
	rg__timer_add(&timer_rec);
	return NULL;
}

/* One P, its M asleep in epoll_wait with no timeout; a foreign thread
 * arms a timer (poke_before must wake the M to shorten its sleep) whose
 * fn makes the fd readable. */
static int scen_timer_poke(void *arg)
{
	(void)arg;
	int sv[2];
	pthread_t t;
	CHECK(pair(sv) == 0);
	timer_fd = sv[1];
	int64_t t0 = rg_now();
	static int64_t self;
	self = rg_goid();
	thread_start(&t, arm_timer_thread, &self);
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, NULL), ==, 0);
	int64_t woke = rg_now();
	thread_join(t);
	CHECK_CMP(woke, >=, timer_rec.when);  /* the timer's doing */
	CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
	pair_close(sv);
	return 0;
}

static void test_timer_poke(void **state)
{
	(void)state;
	run("1", scen_timer_poke, NULL);
	run_env("1", "ms", scen_timer_poke, NULL);
}

/* One P: a goroutine waits on a fd forever while the main goroutine
 * sleeps: the M sleeping in epoll_wait wakes for the timer. */
static void wait_forgotten(void *arg)
{
	struct later *l = arg;
	GCHECK(rg__epoll_wait_fd(l->fd, EPOLLIN, NULL) == -EBADF);
	rg_wg_done(&l->wg);
}

static int scen_sleep_while_polling(void *arg)
{
	(void)arg;
	int sv[2];
	struct later l = {0};
	CHECK(pair(sv) == 0);
	l.fd = sv[0];
	rg_wg_add(&l.wg, 1);
	CHECK(rg_go(wait_forgotten, &l) == 0);
	for (int i = 0; i < 5; i++) {
		int64_t t0 = rg_now();
		rg_sleep(15 * RG_MILLISECOND);
		CHECK_CMP(ms_since(t0), >=, 14);
		CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
	}
	rg__epoll_forget(sv[0]);
	rg_wg_wait(&l.wg);
	pair_close(sv);
	return 0;
}

static void test_sleep_while_polling(void **state)
{
	(void)state;
	run("1", scen_sleep_while_polling, NULL);
	run_env("1", "ms", scen_sleep_while_polling, NULL);
	run("3", scen_sleep_while_polling, NULL);
}

/* One P asleep in epoll_wait; a foreign thread starts a goroutine (new
 * work, no idle P): poke_any wakes the M to run it, and it writes the
 * fd the main goroutine waits on. */
static int64_t work_poke_waiter;

static void *spawn_writer_thread(void *arg)
{
	struct later *l = arg;
	GCHECK(rgp_wait_parked(work_poke_waiter, NULL, RG_WAIT_IO, 1, RGT_NEVER_MS));
	GCHECK(rg_go(write_later, l) == 0);
	return NULL;
}

static int scen_work_poke(void *arg)
{
	(void)arg;
	int sv[2];
	struct later l = {0};
	pthread_t t;
	CHECK(pair(sv) == 0);
	l.fd = sv[1];
	l.c = 'w';
	rg_wg_add(&l.wg, 1);
	int64_t t0 = rg_now();
	work_poke_waiter = rg_goid();
	thread_start(&t, spawn_writer_thread, &l);
	CHECK_CMP(rg__epoll_wait_fd(sv[0], EPOLLIN, NULL), ==, 0);
	CHECK_CMP(ms_since(t0), <, RGT_NEVER_MS);
	rg_wg_wait(&l.wg);
	thread_join(t);
	pair_close(sv);
	return 0;
}

static void test_work_poke(void **state)
{
	(void)state;
	run("1", scen_work_poke, NULL);
	run("2", scen_work_poke, NULL);
}

/* The runtime starts and stops many times in one process; each start
 * gets a fresh epoll set and table. */
static void test_restart(void **state)
{
	(void)state;
	for (int i = 0; i < 10; i++)
		run(i % 2 ? "2" : "1", scen_read_wakes, NULL);
}

/* ---- the deadlock detector ----------------------------------------- */

struct dl {
	int fd;
	const char *procs;
};

struct dl_writer {
	int fd;
	int64_t waiter;
};

/* Writes once the main goroutine waits on the fd: every goroutine is
 * asleep by then, and the Ms have gone idle around the pending wait. */
static void *write_once_waiting(void *arg)
{
	struct dl_writer *w = arg;
	if (!rgp_wait_parked(w->waiter, NULL, RG_WAIT_IO, 1, RGT_NEVER_MS))
		return (void *)0;
	put(w->fd, 'd');
	return (void *)1;
}

/* Every goroutine waits: the main one for a fd that only a foreign
 * thread, unknown to the runtime, will write.  Not a deadlock. */
static int scen_io_not_deadlock(void *arg)
{
	(void)arg;
	int sv[2];
	pthread_t t;
	if (pair(sv) != 0)
		return 2;
	static struct dl_writer w;
	w = (struct dl_writer){.fd = sv[1], .waiter = rg_goid()};
	if (pthread_create(&t, NULL, write_once_waiting, &w) != 0)
		return 3;
	int r = rg__epoll_wait_fd(sv[0], EPOLLIN, NULL);
	void *waited;
	pthread_join(t, &waited); /* written already: joins at once */
	pair_close(sv);
	return r != 0 ? 4 : waited != (void *)1 ? 5 : 0;
}

static int child_not_deadlock(void *arg)
{
	rgt_env("RINGO_BACKEND", "epoll");
	rgt_env("RINGO_PROCS", arg);
	return rg_main(scen_io_not_deadlock, NULL);
}

static void test_no_deadlock_while_waiting(void **state)
{
	(void)state;
	const char *procs[] = {"1", "4"};
	for (int i = 0; i < 2; i++) {
		rgt_child_t *res = malloc(sizeof(*res));
		assert_non_null(res);
		assert_int_equal(rgt_run_child(child_not_deadlock, (void *)procs[i], 30, res), 0);
		if (!res->exited || res->code != 0)
			fprintf(stderr, "child output:\n%s\n", res->out);
		assert_true(res->exited);
		assert_int_equal(res->code, 0);
		assert_null(strstr(res->out, "deadlock"));
		free(res);
	}
}

/* The references balance: after waits that ended by readiness, deadline
 * and forget, a goroutine blocked for ever is a deadlock again. */
static int scen_refs_balance(void *arg)
{
	(void)arg;
	int sv[2];
	if (pair(sv) != 0)
		return 2;
	put(sv[1], 'r');
	if (rg__epoll_wait_fd(sv[0], EPOLLIN, NULL) != 0)
		return 3;
	rg_ctx_t *ctx = rg_ctx_with_timeout(rg_ctx_background(), 10 * RG_MILLISECOND);
	char c;
	read(sv[0], &c, 1);
	if (rg__epoll_wait_fd(sv[0], EPOLLIN, ctx) != -ETIMEDOUT)
		return 4;
	rg_ctx_cancel(ctx);
	rg_ctx_release(ctx);
	struct forget_arg f = {.fd = sv[0], .waiter = rg__getg()};
	rg_go(forget_later, &f);
	if (rg__epoll_wait_fd(sv[0], EPOLLIN, NULL) != -EBADF)
		return 5;
	rg_chan_recv(NULL, NULL); /* for ever */
	return 6;
}

static int child_refs_balance(void *arg)
{
	rgt_env("RINGO_BACKEND", "epoll");
	rgt_env("RINGO_PROCS", arg);
	return rg_main(scen_refs_balance, NULL);
}

static void test_refs_balance(void **state)
{
	(void)state;
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(child_refs_balance, "2", 30, res), 0);
	if (!strstr(res->out, "deadlock") || !res->exited || res->code != 2)
		fprintf(stderr, "child output:\n%s\n", res->out);
	assert_non_null(strstr(res->out, "all goroutines are asleep - deadlock"));
	assert_true(res->exited);
	assert_int_equal(res->code, 2); /* Go's exit status for fatal errors */
	free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_wakes),
		cmocka_unit_test(test_ready_before),
		cmocka_unit_test(test_writable),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_high_fds),
		cmocka_unit_test(test_two_waiters),
		cmocka_unit_test(test_both_directions),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_close_behind),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_foreign_no_runtime),
		cmocka_unit_test(test_timer_poke),
		cmocka_unit_test(test_sleep_while_polling),
		cmocka_unit_test(test_work_poke),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_no_deadlock_while_waiting),
		cmocka_unit_test(test_refs_balance),
	};
	/* RGT_FILTER=test_name runs one case (for stress loops). */
	const char *only = getenv("RGT_FILTER");
	if (only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
