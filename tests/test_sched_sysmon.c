// SPDX-License-Identifier: MIT
/*
 * The scheduler's owner-only shortcuts against sysmon: sysmon drains
 * the run queue of a P whose goroutine hogs it (> 10 ms without a
 * scheduling point) and runs that P's expired timers, while the P's
 * owner may stop hogging and touch the same structures at any moment.
 *
 * Each scenario runs in a child process (a goroutine that runs twice
 * may as well crash as miscount) and repeats many times: the races are
 * a few instructions wide, and the hog hands sysmon the moment, by
 * ending its spin as soon as sysmon has counted it (white-box:
 * rg__sched.nhogs), so that the owner's next run-queue operation meets
 * sysmon's drain.
 *
 * And the preempt request: a goroutine making syscalls that never block
 * yields at a syscall exit once it has held its P 10 ms.
 */
#include "helpers/rgcheck.h"
#include "helpers/rgtest.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

#define MS RG_MILLISECOND

/* Runs fn in a child (timeout_s) and fails the test unless it exits 0. */
static void run_child_ok(int (*fn)(void *), void *arg, int timeout_s)
{
	static rgt_child_t res;
	assert_int_equal(rgt_run_child(fn, arg, timeout_s, &res), 0);
	if (!res.exited || res.code != 0) {
		fprintf(stderr, "---- child output:\n%s---- end\n", res.out);
		fail_msg("child: exited %d code %d signal %d", res.exited, res.code, res.sig);
	}
}

/* In a child: rg_main(fn) with RINGO_PROCS=procs; prints the first
 * failed check; exit status 0 only if fn returned 0 and nothing failed. */
static int child_main(int (*fn)(void *), const char *procs)
{
	setenv("RINGO_PROCS", procs, 1);
	atomic_store(&rgc_failed, 0);
	int rc = rg_main(fn, NULL);
	if (atomic_load(&rgc_failed)) {
		fprintf(stderr, "%s\n", rgc_msg);
		return 1;
	}
	return rc;
}

/* Spins until sysmon has counted one more hog than `before` (bounded:
 * a loaded machine may starve sysmon); true if it did. */
static bool spin_until_hog_seen(int64_t before, int64_t bound_ns)
{
	int64_t until = rg__nanotime() + bound_ns;
	while (atomic_load_explicit(&rg__sched.nhogs, memory_order_relaxed) == before)
		if (rg__nanotime() > until)
			return false;
	return true;
}

/* ---- a hog with a full run queue ------------------------------------ */

#define HOG_ROUNDS 40
#define HOG_WORKERS 200     /* fits the 256-slot local queue */

static _Atomic int hog_runs[HOG_WORKERS];
static _Atomic long hog_done;
static _Atomic long hog_seen;    /* rounds in which sysmon drained */

static void hog_worker(void *arg)
{
	atomic_fetch_add(&hog_runs[(uintptr_t)arg], 1);
	atomic_fetch_add(&hog_done, 1);
}

static void hog(void *arg)
{
	int64_t before = (int64_t)(intptr_t)arg;
	/* Return the moment sysmon starts moving our queue: our M's next
	 * rg__runqget then runs into sysmon's drain. */
	if (spin_until_hog_seen(before, 2 * RG_SECOND))
		atomic_fetch_add(&hog_seen, 1);
}

static int hog_main(void *arg)
{
	(void)arg;
	for (int round = 0; round < HOG_ROUNDS; round++) {
		for (int i = 0; i < HOG_WORKERS; i++)
			atomic_store(&hog_runs[i], 0);
		atomic_store(&hog_done, 0);
		for (int i = 0; i < HOG_WORKERS; i++)
			CHECK(rg_go(hog_worker, (void *)(uintptr_t)i) == 0);
		/* Spawned last, it sits in runnext and runs first once we
		 * sleep; the workers wait in the queue behind it. */
		int64_t before = atomic_load(&rg__sched.nhogs);
		CHECK(rg_go_named("hog", hog, (void *)(intptr_t)before) == 0);
		CHECK(rgc_wait_ge(&hog_done, HOG_WORKERS, 10000));
		/* A goroutine queued twice runs again as soon as we sleep:
		 * one P, so everything queued runs before our timer's. */
		rg_sleep(2 * MS);
		CHECK_CMP(atomic_load(&hog_done), ==, HOG_WORKERS);
		for (int i = 0; i < HOG_WORKERS; i++)
			CHECK_CMP(atomic_load(&hog_runs[i]), ==, 1);
	}
	/* The scenario must have happened (sysmon drained while the hog
	 * ended) in most rounds, or this test proves nothing. */
	CHECK_CMP(atomic_load(&hog_seen), >=, HOG_ROUNDS / 2);
	return 0;
}

static int hog_child(void *arg)
{
	return child_main(hog_main, arg);
}

/* One P: a goroutine hogs it past sysmon's threshold with 200 others in
 * its queue, and ends just as sysmon looks at that queue.  Forty times
 * over, every worker runs exactly once. */
static void test_hog_full_runq_runs_each_once(void **state)
{
	(void)state;
	run_child_ok(hog_child, "1", 60);
}

/* The same with two Ps, where sysmon does move the hog's queue to the
 * global queue while the other P steals from it and the hog's own M
 * takes from it again. */
static void test_hog_full_runq_two_ps(void **state)
{
	(void)state;
	run_child_ok(hog_child, "2", 60);
}

/* ---- Go's test/chan/goroutines.go ------------------------------------ */

#define CHAIN_N RGT_LIVE(100000)
#define CHAIN_ROUNDS 3

struct link {
	rg_chan_t *left, *right;
};

static void chain_f(void *arg)
{
	struct link *l = arg;
	int v = 0;
	GCHECK(rg_chan_recv(l->right, &v));
	v++;
	rg_chan_send(l->left, &v);
}

static void chain_first(void *arg)
{
	int v = 0;
	rg_chan_send(arg, &v);
}

static int chain_main(void *arg)
{
	(void)arg;
	CHECK_CMP(rg_procs(), ==, 1);
	struct link *links = calloc(CHAIN_N, sizeof(*links));
	rg_chan_t **chans = calloc(CHAIN_N + 1, sizeof(*chans));
	CHECK(links && chans);
	for (int round = 0; round < CHAIN_ROUNDS; round++) {
		for (int i = 0; i <= CHAIN_N; i++)
			CHECK((chans[i] = rg_chan_make(sizeof(int), 0)) != NULL);
		/* The spawning loop alone holds the P for tens of ms, with
		 * its queue full: sysmon drains it meanwhile. */
		for (int i = 0; i < CHAIN_N; i++) {
			links[i].left = chans[i];
			links[i].right = chans[i + 1];
			CHECK(rg_go(chain_f, &links[i]) == 0);
		}
		CHECK(rg_go(chain_first, chans[CHAIN_N]) == 0);
		int v = -1;
		CHECK(rg_chan_recv(chans[0], &v));
		CHECK_CMP(v, ==, CHAIN_N);
		for (int i = 0; i <= CHAIN_N; i++)
			rg_chan_free(chans[i]);
	}
	free(links);
	free(chans);
	return 0;
}

static int chain_child(void *arg)
{
	(void)arg;
	return child_main(chain_main, "1");
}

/* Go's goroutines.go shape with one P: a chain of 100,000 goroutines
 * passes a value along, each adding one; the end of the chain sees
 * exactly 100,000.  Three times. */
static void test_goroutine_chain_one_p(void **state)
{
	(void)state;
	run_child_ok(chain_child, NULL, 120);
}

/* ---- a goroutine whose syscalls never block -------------------------- *
 *
 * One P, the epoll backend: a goroutine reads a socket one byte at a
 * time while the socket holds plenty (its peer filled it first).  Each
 * read is a plain syscall that returns at once, so the goroutine never
 * parks and is never in one syscall long enough for sysmon to retake
 * the P.  The main goroutine, which let it run with rg_yield, must get
 * the P back before the data runs out: sysmon asks for a yield at the
 * next syscall exit once the reader has held the P 10 ms (p->preempt).
 * Before, main ran only when the socket was empty (the read's EAGAIN
 * parked the reader).  On io_uring the reads park in the ring, and the
 * case passes either way. */
static _Atomic long zr_read, zr_filled;
static _Atomic int zr_stop;

static void zr_reader(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char b;
	while (!atomic_load(&zr_stop) && rg_read(fd, &b, 1, NULL) == 1)
		atomic_fetch_add(&zr_read, 1);
	atomic_store(&zr_stop, 2);
}

static int zr_main(void *arg)
{
	(void)arg;
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	int big = 4 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	static char chunk[4096];
	ssize_t w;
	while ((w = write(sv[1], chunk, sizeof(chunk))) > 0)
		atomic_fetch_add(&zr_filled, w);
	CHECK(atomic_load(&zr_filled) > 0);
	CHECK(rg_go(zr_reader, (void *)(intptr_t)sv[0]) == 0);
	while (atomic_load(&zr_read) == 0)
		rg_yield();
	long got = atomic_load(&zr_read);
	atomic_store(&zr_stop, 1);
	close(sv[1]);                /* an empty socket then reads EOF */
	while (atomic_load(&zr_stop) != 2)
		rg_yield();
	rg_close(sv[0]);
	CHECK_CMP(got, <, atomic_load(&zr_filled));
	return 0;
}

static int zr_child(void *arg)
{
	setenv("RINGO_BACKEND", (const char *)arg, 1);
	return child_main(zr_main, "1");
}

static void test_syscall_loop_yields_epoll(void **state)
{
	(void)state;
	run_child_ok(zr_child, "epoll", 60);
}

static void test_syscall_loop_yields_uring(void **state)
{
	(void)state;
	run_child_ok(zr_child, "uring", 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hog_full_runq_runs_each_once),
		cmocka_unit_test(test_hog_full_runq_two_ps),
		cmocka_unit_test(test_goroutine_chain_one_p),
		cmocka_unit_test(test_syscall_loop_yields_epoll),
		cmocka_unit_test(test_syscall_loop_yields_uring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
