// SPDX-License-Identifier: MIT
/*
 * test_ring.c — the io_uring backend's own correctness (uring/ring.c)
 * and the runtime's start/stop around it (runtime/start.c), issue 7 §4:
 *
 *   submit fault   the kernel refuses a submission (-EAGAIN, injected
 *                  with the ring_submit fault site) while a foreign
 *                  thread cancels a context or rg_closes a fd that a
 *                  goroutine reads, with the goroutine's P asleep in its
 *                  ring: the cancel must reach the kernel anyway, and
 *                  the read end (-ECANCELED, -EBADF) without anything
 *                  else entering the ring.
 *   shutdown       goroutines abandoned in I/O when the runtime stops:
 *                  every request they had in flight is cancelled and
 *                  reaped before the rings close and their stacks are
 *                  unmapped (rg__ring_stop_left stays 0).
 *   regfd          Ms enter their rings by registered index, and with
 *                  RINGO_RING_REGFD=off by fd, with the same results.
 *   start race     two threads looping rg_init/rg_shutdown: exactly one
 *                  runtime at a time, never two starts over one state.
 *
 * White-box: links libringo.a for rt_fault.h and the ring's counters.
 * A scenario that would hang on a bug gives up after RGT_NEVER_MS and
 * unblocks the reader by writing to its pipe, so it fails, never hangs.
 */
#include "helpers/rgcheck.h"
#include "helpers/rgpark.h"
#include "helpers/rgtest.h"

#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "rt_fault.h"

static bool on_uring(void)
{
	return strcmp(rg_io_backend(), "io_uring") == 0;
}

static void nap_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

/* ---- a cancel the kernel refuses at first -------------------------- */

struct refused {
	int64_t reader;          /* goroutine parked in the read */
	int rfd, wfd;            /* the pipe it reads */
	rg_ctx_t *ctx;           /* cancel: cancel this */
	bool close;              /* else: rg_close(rfd) */
	_Atomic bool done;       /* the read returned */
	_Atomic int failed;      /* the thread's verdict: 1 lost, 2 not set up */
	int hits;
};

/* A foreign thread: waits for the reader to park and its P to sleep in
 * the ring, arms one refused submission, then cancels or closes. */
static void *refuse_then_cancel(void *arg)
{
	struct refused *f = arg;
	if (!rgp_wait_parked(f->reader, NULL, RG_WAIT_IO, 1, RGT_NEVER_MS)) {
		atomic_store(&f->failed, 2);
		return NULL;
	}
	int64_t deadline = rgt_ms() + RGT_NEVER_MS;
	while (rg__ring_npolling() < 1 && rgt_ms() < deadline)
		nap_us(200);
	if (rg__ring_npolling() < 1) {
		atomic_store(&f->failed, 2);
		return NULL;
	}
	rg__fault_arm(RG_FAULT_RING_SUBMIT, EAGAIN, 0, 1);
	if (f->close)
		rg_close(f->rfd);
	else
		rg_ctx_cancel(f->ctx);
	f->hits = rg__fault_hits(RG_FAULT_RING_SUBMIT);
	rg__fault_reset();
	deadline = rgt_ms() + RGT_NEVER_MS;
	while (!atomic_load(&f->done) && rgt_ms() < deadline)
		nap_us(1000);
	if (!atomic_load(&f->done)) {
		/* Lost: the cancel never ran.  Wake the read with data. */
		atomic_store(&f->failed, 1);
		ssize_t w = write(f->wfd, "x", 1);
		(void)w;
	}
	return NULL;
}

static int refused_main(void *arg)
{
	bool close_it = *(bool *)arg;
	if (!on_uring())
		return 0; /* io_uring unavailable here: nothing to test */
	int p[2];
	CHECK_CMP(pipe(p), ==, 0);
	struct refused f = {.reader = rg_goid(), .rfd = p[0], .wfd = p[1], .close = close_it};
	f.ctx = rg_ctx_with_cancel(NULL);
	pthread_t t;
	CHECK_CMP(pthread_create(&t, NULL, refuse_then_cancel, &f), ==, 0);
	char buf[8];
	ssize_t r = rg_read(p[0], buf, sizeof(buf), f.ctx);
	atomic_store(&f.done, true);
	pthread_join(t, NULL);
	rg_ctx_cancel(f.ctx);
	rg_ctx_release(f.ctx);
	if (!close_it)
		close(p[0]);
	close(p[1]);
	CHECK_CMP(atomic_load(&f.failed), ==, 0);
	CHECK_CMP(f.hits, ==, 1); /* the refusal was the cancel's */
	CHECK_CMP(r, ==, close_it ? -EBADF : -ECANCELED);
	return 0;
}

/* One P, so that nothing but the cancel itself can submit it. */
static void test_cancel_submit_fault(void **state)
{
	(void)state;
	bool close_it = false;
	rgt_env("RINGO_PROCS", "1");
	rgc_main(refused_main, &close_it);
	rgt_env("RINGO_PROCS", NULL);
}

static void test_close_submit_fault(void **state)
{
	(void)state;
	bool close_it = true;
	rgt_env("RINGO_PROCS", "1");
	rgc_main(refused_main, &close_it);
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- goroutines abandoned in I/O at shutdown ----------------------- */

struct abandoned {
	int rfd;
	int ln;
};

static void read_forever(void *arg)
{
	struct abandoned *a = arg;
	char buf[64];
	rg_read(a->rfd, buf, sizeof(buf), NULL);
}

static void accept_forever(void *arg)
{
	struct abandoned *a = arg;
	rg_accept(a->ln, NULL, NULL, NULL);
}

static int abandon_main(void *arg)
{
	struct abandoned *a = arg;
	if (!on_uring())
		return 0;
	CHECK_CMP(rg_go(read_forever, a), ==, 0);
	CHECK_CMP(rg_go(accept_forever, a), ==, 0);
	/* Returns with both parked in the ring: rg_main stops the runtime
	 * under them. */
	CHECK(rgp_wait_parked(0, read_forever, RG_WAIT_IO, 1, RGT_NEVER_MS));
	CHECK(rgp_wait_parked(0, accept_forever, RG_WAIT_IO, 1, RGT_NEVER_MS));
	return 0;
}

static void test_shutdown_drains(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	for (int procs = 1; procs <= 2; procs++) {
		struct abandoned a = {.rfd = p[0]};
		char np[2] = {(char)('0' + procs), 0};
		rgt_env("RINGO_PROCS", np);
		int64_t before = rg__ring_stop_left();
		/* rg_listen outside the runtime: a plain socket. */
		a.ln = rg_listen("tcp", "127.0.0.1:0");
		assert_true(a.ln >= 0);
		rgc_main(abandon_main, &a);
		assert_int_equal(rg__ring_stop_left() - before, 0);
		close(a.ln);
	}
	rgt_env("RINGO_PROCS", NULL);
	/* The pipe's data is still there: no read outlived its runtime. */
	assert_int_equal(write(p[1], "abc", 3), 3);
	char buf[8];
	assert_int_equal(read(p[0], buf, sizeof(buf)), 3);
	close(p[0]);
	close(p[1]);
}

/* ---- cancellation without CANCEL_FD/_ANY (kernels before 5.19) ------ */

struct lclose {
	int fd;
	int64_t reader;
	rg_waitgroup_t wg;
};

static void lclose_when_parked(void *arg)
{
	struct lclose *c = arg;
	GCHECK(rgp_wait_parked(c->reader, NULL, RG_WAIT_IO, 1, RGT_NEVER_MS));
	GCHECK(rg_close(c->fd) == 0);
	rg_wg_done(&c->wg);
}

/* rg_close of a socket with a parked reader, and of another with none:
 * the reader ends with -EBADF (by its request's address, from the live
 * list), the rest of the ring goes on (a second reader on another socket
 * still gets its data). */
static int legacy_close_main(void *arg)
{
	bool want = *(bool *)arg;
	if (!on_uring())
		return 0;
	CHECK_CMP(rg__ring_legacy_cancel(), ==, want);
	int sv[2], other[2];
	char buf[16];
	CHECK_CMP(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	CHECK_CMP(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, other), ==, 0);
	struct lclose c = {.fd = sv[1], .reader = rg_goid()};
	rg_wg_add(&c.wg, 1);
	CHECK_CMP(rg_go(lclose_when_parked, &c), ==, 0);
	rg_ctx_t *t = rg_ctx_with_timeout(NULL, RGT_NEVER_MS * RG_MILLISECOND);
	ssize_t r = rg_read(sv[1], buf, sizeof(buf), t);
	rg_wg_wait(&c.wg);
	CHECK_CMP(r, ==, -EBADF);
	CHECK_CMP(rg_write(other[0], "abc", 3, NULL), ==, 3);
	CHECK_CMP(rg_read(other[1], buf, sizeof(buf), t), ==, 3);
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	close(sv[0]);
	close(other[0]);
	close(other[1]);
	return 0;
}

static void test_legacy_cancel_close(void **state)
{
	(void)state;
	bool want = false;          /* this kernel (6.18) has CANCEL_FD */
	rgc_main(legacy_close_main, &want);
	want = true;
	rgt_env("RINGO_RING_CANCEL", "legacy");
	for (int procs = 1; procs <= 2; procs++) {
		char np[2] = {(char)('0' + procs), 0};
		rgt_env("RINGO_PROCS", np);
		rgc_main(legacy_close_main, &want);
	}
	rgt_env("RINGO_PROCS", NULL);
	rgt_env("RINGO_RING_CANCEL", NULL);
}

/* The stop cancels abandoned requests one by one: nothing is left for
 * the drain's 2 s to wait out, and the stacks are unmapped. */
static void test_legacy_cancel_shutdown(void **state)
{
	/* A request the stop could not cancel is waited for 2 s and then
	 * counted in rg__ring_stop_left, which test_shutdown_drains checks. */
	rgt_env("RINGO_RING_CANCEL", "legacy");
	test_shutdown_drains(state);
	rgt_env("RINGO_RING_CANCEL", NULL);
}

/* ---- registered ring fds ------------------------------------------- */

static int regfd_main(void *arg)
{
	bool want = *(bool *)arg;
	if (!on_uring())
		return 0;
	/* Traffic through the ring both ways, then the verdict for the
	 * thread the main goroutine runs on now. */
	int sv[2];
	CHECK_CMP(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	for (int i = 0; i < 100; i++) {
		char b[4];
		CHECK_CMP(rg_write(sv[0], "ping", 4, NULL), ==, 4);
		CHECK_CMP(rg_read(sv[1], b, sizeof(b), NULL), ==, 4);
		CHECK(memcmp(b, "ping", 4) == 0);
	}
	close(sv[0]);
	close(sv[1]);
	rg_m *m = rg__getm();
	CHECK(m && m->p);
	CHECK_CMP(rg__ring_registered(m->p), ==, want);
	return 0;
}

static void test_regfd(void **state)
{
	(void)state;
	/* A kernel without IORING_REGISTER_RING_FDS (5.18) enters by fd. */
	struct io_uring probe;
	bool on = false, off = false;
	if (io_uring_queue_init(4, &probe, 0) == 0) {
		on = io_uring_register_ring_fd(&probe) == 1;
		io_uring_queue_exit(&probe);
	}
	rgc_main(regfd_main, &on);
	rgt_env("RINGO_RING_REGFD", "off");
	rgc_main(regfd_main, &off);
	rgt_env("RINGO_RING_REGFD", NULL);
}

/* ---- one runtime at a time ------------------------------------------ */

static _Atomic int holders, doubled, starts, stop_race;

static void start_race_nop(void *arg)
{
	(void)arg;
}

static void *start_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_race)) {
		if (rg_init(NULL) != 0)
			continue;
		if (atomic_fetch_add(&holders, 1) != 0)
			atomic_store(&doubled, 1);
		atomic_fetch_sub(&holders, 1);
		if (atomic_fetch_add(&starts, 1) + 1 >= 300)
			atomic_store(&stop_race, 1);
		rg_shutdown();
	}
	return NULL;
}

static int start_race_child(void *arg)
{
	(void)arg;
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, start_loop, NULL) != 0)
			return 3;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return atomic_load(&doubled) ? 1 : 0;
}

/* In a child: two starts over one state crash or hang it. */
static void test_start_race(void **state)
{
	(void)state;
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(start_race_child, NULL, 120, res), 0);
	if (!res->exited || res->code != 0)
		fprintf(stderr, "start race child: exited %d code %d signaled %d sig %d "
				"timed out %d\n%s\n",
			res->exited, res->code, res->signaled, res->sig, res->timed_out, res->out);
	assert_true(res->exited && res->code == 0);
	free(res);
}

/* Two threads stopping one embedded runtime at once: one stops it, the
 * other returns once it has stopped (never a second teardown over the
 * first), and after both the runtime is gone. */
static void *shutdown_thread(void *arg)
{
	pthread_barrier_t *b = arg;
	pthread_barrier_wait(b);
	rg_shutdown();
	/* Stopped, whichever thread did it. */
	if (rg_go(start_race_nop, NULL) != -EINVAL)
		atomic_store(&doubled, 1);
	return NULL;
}

static int shutdown_race_child(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++) {
		if (rg_init(NULL) != 0)
			return 3;
		pthread_barrier_t b;
		pthread_barrier_init(&b, NULL, 2);
		pthread_t t[2];
		for (int k = 0; k < 2; k++)
			if (pthread_create(&t[k], NULL, shutdown_thread, &b) != 0)
				return 4;
		for (int k = 0; k < 2; k++)
			pthread_join(t[k], NULL);
		pthread_barrier_destroy(&b);
		if (atomic_load(&doubled))
			return 1;
	}
	return 0;
}

static void test_shutdown_race(void **state)
{
	(void)state;
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(shutdown_race_child, NULL, 120, res), 0);
	if (!res->exited || res->code != 0)
		fprintf(stderr, "shutdown race child: exited %d code %d signaled %d sig %d "
				"timed out %d\n%s\n",
			res->exited, res->code, res->signaled, res->sig, res->timed_out, res->out);
	assert_true(res->exited && res->code == 0);
	free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cancel_submit_fault),
		cmocka_unit_test(test_close_submit_fault),
		cmocka_unit_test(test_shutdown_drains),
		cmocka_unit_test(test_regfd),
		cmocka_unit_test(test_start_race),
		cmocka_unit_test(test_shutdown_race),
		cmocka_unit_test(test_legacy_cancel_close),
		cmocka_unit_test(test_legacy_cancel_shutdown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
