// SPDX-License-Identifier: MIT
/*
 * test_iolive.c — I/O liveness (issue 7 §1): a goroutine parked in
 * rg_read on a socket whose data has arrived must resume while other
 * goroutines keep every P busy, as Go's scheduler polls the network from
 * findRunnable even when run queues are full.  Table: both backends
 * (rgio.h) x 1 and 2 Ps x two kinds of busy load:
 *   - yield: goroutines looping on rg_yield();
 *   - pingpong: pairs bouncing a token over two unbuffered channels.
 * The busy goroutines stop when the reader has its data (an event, not a
 * time); a run that never wakes the reader would hang, so each case runs
 * in a child process that a 20 s watchdog kills (rgt_run_child) — a
 * bound on failure, never synchronisation.
 *
 * And a goroutine that never yields at all (hog): it holds its P, but
 * not the completions of goroutines parked on that P's ring.  2 Ps: the
 * reader parks in rg_read on P0 (its request queued on P0's ring, perhaps
 * not yet submitted), the hog runs next on P0, writes the reader's data
 * with a plain write(2) and spins without a scheduling point until the
 * reader, which sysmon must submit and reap for and ready elsewhere, sets
 * the flag.  White-box (rt.h): the hog checks that it did land on the
 * reader's P, and a round where it did not is run again.
 *
 * Last, the other side of liveness: connections that a second P served
 * come back to the first once it keeps up (handback, below).
 */
#include "helpers/rgio.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <ringo/chan.h>

#include "backend.h"
#include "rt.h"

#define WATCHDOG_S 20

enum busy_kind { BUSY_YIELD, BUSY_PINGPONG };

static enum busy_kind busy_kind;
static bool want_plain;       /* RINGO_RING_SETUP=plain: no COOP_TASKRUN */

/* On io_uring, the rings run with the setup asked for: COOP_TASKRUN |
 * TASKRUN_FLAG where the kernel has them (5.19), none when forced off. */
static int check_setup(void)
{
	if (rgio_epoll())
		return 0;
	unsigned coop = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	unsigned got = rg__ring_setup_flags() & coop;
	CHECK(want_plain ? got == 0 : got == coop);
	return 0;
}
static _Atomic int stop;      /* set by the reader once it has its data */
static rg_chan_t *exited;     /* each busy goroutine sends once, on exit */
static rg_chan_t *ready;      /* the reader sends once, before rg_read */
static rg_chan_t *got;        /* the reader sends its result */
static int rfd;

static void yielder(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		rg_yield();
	int one = 1;
	rg_chan_send(exited, &one);
}

struct pair {
	rg_chan_t *a, *b;
};

static void ping(void *arg)
{
	struct pair *pr = arg;
	int x = 0;
	while (!atomic_load(&stop)) {
		rg_chan_send(pr->a, &x);
		rg_chan_recv(pr->b, &x);
		x++;
	}
	rg_chan_close(pr->a);
	int one = 1;
	rg_chan_send(exited, &one);
}

static void pong(void *arg)
{
	struct pair *pr = arg;
	int x;
	while (rg_chan_recv(pr->a, &x))
		rg_chan_send(pr->b, &x);
	int one = 1;
	rg_chan_send(exited, &one);
}

static void reader(void *arg)
{
	(void)arg;
	char buf[16] = {0};
	int one = 1;
	rg_chan_send(ready, &one);
	ssize_t n = rg_read(rfd, buf, sizeof(buf), NULL);
	GCHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
	atomic_store(&stop, 1);
	int r = (int)n;
	rg_chan_send(got, &r);
}

static int scen_live(void *arg)
{
	(void)arg;
	int fds[2];
	if (check_setup() != 0)
		return 1;
	CHECK_CMP(rgio_tcp_pair(fds), ==, 0);
	rfd = fds[1];
	atomic_store(&stop, 0);
	int nprocs = rg_procs();
	/* More busy goroutines than Ps: stealing spreads them so that every
	 * P, the reader's included, always has one to run. */
	int nbusy = busy_kind == BUSY_YIELD ? 2 * nprocs : 4 * nprocs;
	struct pair pairs[8];
	CHECK((exited = RG_CHAN(int, 64)) && (ready = RG_CHAN(int, 1)) &&
	      (got = RG_CHAN(int, 1)));

	int one;
	CHECK_CMP(rg_go(reader, NULL), ==, 0);
	CHECK(rg_chan_recv(ready, &one));
	for (int i = 0; i < nbusy; i++) {
		if (busy_kind == BUSY_YIELD) {
			CHECK_CMP(rg_go(yielder, NULL), ==, 0);
		} else if (i % 2 == 0) {
			struct pair *pr = &pairs[i / 2];
			CHECK((pr->a = RG_CHAN(int, 0)) && (pr->b = RG_CHAN(int, 0)));
			CHECK_CMP(rg_go(ping, pr), ==, 0);
			CHECK_CMP(rg_go(pong, pr), ==, 0);
		}
	}
	/* Let the busy goroutines take the Ps (and the reader park) before
	 * the data arrives: yield a while, as one more busy goroutine. */
	for (int i = 0; i < 1000; i++)
		rg_yield();
	/* A plain write(2): the reader's wake-up must not depend on the
	 * writer going through the runtime. */
	CHECK_CMP(write(fds[0], "hello", 5), ==, 5);
	int r = 0;
	CHECK(rg_chan_recv(got, &r));
	CHECK_CMP(r, ==, 5);
	for (int i = 0; i < nbusy; i++)
		CHECK(rg_chan_recv(exited, &one));
	if (busy_kind == BUSY_PINGPONG)
		for (int i = 0; i < nbusy / 2; i++) {
			rg_chan_free(pairs[i].a);
			rg_chan_free(pairs[i].b);
		}
	rg_chan_free(exited);
	rg_chan_free(ready);
	rg_chan_free(got);
	rg_close(fds[0]);
	rg_close(fds[1]);
	return 0;
}

/* ---- a goroutine that never yields --------------------------------- */

static _Atomic(rg_p *) reader_p; /* the P the reader parked on */
static int wfd;

static void hog(void *arg)
{
	(void)arg;
	rg_p *p = rg__getm()->p;
	if (p != atomic_load(&reader_p)) {
		/* Stolen to the other P: the reader's P is free to reap,
		 * which proves nothing.  Say so, and let it finish. */
		atomic_store(&stop, 2);
		GCHECK(write(wfd, "hello", 5) == 5);
	} else {
		GCHECK(write(wfd, "hello", 5) == 5);
		while (!atomic_load(&stop))
			rg__cpu_relax();  /* no scheduling point */
	}
	int one = 1;
	rg_chan_send(exited, &one);
}

static void hog_reader(void *arg)
{
	(void)arg;
	char buf[16] = {0};
	atomic_store(&reader_p, rg__getm()->p);
	/* runnext: the hog runs on this P as soon as the read parks. */
	GCHECK(rg_go(hog, NULL) == 0);
	ssize_t n = rg_read(rfd, buf, sizeof(buf), NULL);
	GCHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
	int r = atomic_load(&stop) == 2 ? 0 : (int)n;
	atomic_store(&stop, 1);
	rg_chan_send(got, &r);
}

static int scen_hog(void *arg)
{
	(void)arg;
	if (check_setup() != 0)
		return 1;
	CHECK((exited = RG_CHAN(int, 4)) && (got = RG_CHAN(int, 1)));
	int landed = 0;
	for (int round = 0; round < 50 && !landed; round++) {
		int fds[2];
		CHECK_CMP(rgio_tcp_pair(fds), ==, 0);
		rfd = fds[1];
		wfd = fds[0];
		atomic_store(&stop, 0);
		CHECK_CMP(rg_go(hog_reader, NULL), ==, 0);
		int r = -1, one;
		CHECK(rg_chan_recv(got, &r));
		CHECK(rg_chan_recv(exited, &one));
		CHECK(r == 0 || r == 5);
		landed = r == 5;
		rg_close(fds[0]);
		rg_close(fds[1]);
	}
	rg_chan_free(exited);
	rg_chan_free(got);
	if (!landed)
		return rgio_skip("the hog never ran on the reader's P");
	return 0;
}

static int hog_child(void *arg)
{
	rgt_env("RINGO_RING_SETUP", want_plain ? "plain" : NULL);
	int r = rgio_main(arg, "2", scen_hog, NULL);
	if (r < 0)
		fprintf(stderr, "%s\n", rgc_msg);
	if (rgio_skip_why)
		fprintf(stderr, "skipped: %s\n", rgio_skip_why);
	return r < 0 ? 1 : r == 1 ? 77 : 0;
}

/* Runs fn(arg) in a child under the watchdog: passes on exit 0, skips
 * on 77 (with what the child said), fails otherwise. */
static void run_case(int (*fn)(void *), void *arg)
{
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(fn, arg, WATCHDOG_S, res), 0);
	int code = res->exited ? res->code : -1;
	if (code != 0)
		print_message("%s%s\n", res->out,
			      res->exited ? "" : "killed by the watchdog: the reader never woke");
	free(res);
	if (code == 77)
		skip();
	assert_int_equal(code, 0);
}

static void run_hog(const char *backend, bool plain)
{
	want_plain = plain;
	run_case(hog_child, (void *)backend);
}

static void hog_2p_uring(void **state)
{
	(void)state;
	run_hog("io_uring", false);
}

/* The fallback where the kernel lacks COOP_TASKRUN (before 5.19). */
static void hog_2p_uring_plain(void **state)
{
	(void)state;
	run_hog("io_uring", true);
}

static void hog_2p_epoll(void **state)
{
	(void)state;
	run_hog("epoll", false);
}

struct live_args {
	const char *backend, *procs;
	enum busy_kind kind;
	bool plain;
};

static int live_child(void *arg)
{
	struct live_args *a = arg;
	busy_kind = a->kind;
	want_plain = a->plain;
	rgt_env("RINGO_RING_SETUP", a->plain ? "plain" : NULL);
	int r = rgio_main(a->backend, a->procs, scen_live, NULL);
	if (r < 0)
		fprintf(stderr, "%s\n", rgc_msg);
	return r < 0 ? 1 : r == 1 ? 77 : 0;
}

static void run_live(const char *backend, const char *procs, enum busy_kind kind, bool plain)
{
	struct live_args a = {backend, procs, kind, plain};
	run_case(live_child, &a);
}

#define LIVE(name, backend, procs, kind)                                    \
	static void name(void **state)                                      \
	{                                                                   \
		(void)state;                                                \
		run_live(backend, procs, kind, false);                      \
	}

/* The rings without COOP_TASKRUN (kernels before 5.19). */
static void pingpong_2p_uring_plain(void **state)
{
	(void)state;
	run_live("io_uring", "2", BUSY_PINGPONG, true);
}

LIVE(yield_1p_uring, "io_uring", "1", BUSY_YIELD)
LIVE(yield_2p_uring, "io_uring", "2", BUSY_YIELD)
LIVE(pingpong_1p_uring, "io_uring", "1", BUSY_PINGPONG)
LIVE(pingpong_2p_uring, "io_uring", "2", BUSY_PINGPONG)
LIVE(yield_1p_epoll, "epoll", "1", BUSY_YIELD)
LIVE(yield_2p_epoll, "epoll", "2", BUSY_YIELD)
LIVE(pingpong_1p_epoll, "epoll", "1", BUSY_PINGPONG)
LIVE(pingpong_2p_epoll, "epoll", "2", BUSY_PINGPONG)

/* ---- handing connections back (sched.c, handback) ------------------- *
 *
 * 2 Ps, 8 loopback connections whose server goroutines echo one byte at
 * a time, driven by a client on a plain thread (blocking I/O, as the
 * load generator's clients are elsewhere).  The servers start split: a
 * spinner that never yields spawns the first four and waits for them
 * to start, so they run on the other P (the backlog rule), and their
 * requests go on that P's ring; the spinner's P runs the last four.
 * (They may not start split: the spinner's P can lose the last four to
 * the other P's thief first.  Such a set is ended and another started,
 * up to HB_TRIES.)  The client then keeps every connection busy until,
 * for HB_STABLE rounds running, every server has run on one P: on
 * io_uring the higher
 * P hands what its completions ready to P0, which keeps up, so the
 * connections end on one P and the second thread sleeps (here in about
 * HB_STABLE rounds, one handback).  Before handback the servers on P1
 * stayed there (each completion readied them onto the P whose thread
 * submitted their read), and only chance steals ever joined them: 4 of
 * 6 runs had not after 200,000 rounds, the others took 23k and 79k;
 * HB_ROUNDS is 100 times what the handback needs. */
#define HB_CONNS 8
#define HB_STABLE 200
#define HB_ROUNDS 20000
static int hb_cfd[HB_CONNS], hb_sfd[HB_CONNS];
static _Atomic int hb_startp[HB_CONNS], hb_lastp[HB_CONNS];
static _Atomic int hb_started, hb_result;
static rg_waitgroup_t hb_wg;

static int cur_pid(void)
{
	rg_m *m = rg__getm();
	return m && m->p ? m->p->id : -1;
}

static void hb_server(void *arg)
{
	int i = (int)(intptr_t)arg;
	atomic_store(&hb_startp[i], cur_pid());
	atomic_fetch_add(&hb_started, 1);
	char c;
	while (rg_read(hb_sfd[i], &c, 1, NULL) == 1) {
		atomic_store(&hb_lastp[i], cur_pid());
		if (rg_write(hb_sfd[i], &c, 1, NULL) != 1)
			break;
	}
	rg_wg_done(&hb_wg);
}

static void hb_spinner(void *arg)
{
	(void)arg;
	for (int i = 0; i < HB_CONNS / 2; i++)
		GCHECK(rg_go(hb_server, (void *)(intptr_t)i) == 0);
	while (atomic_load(&hb_started) < HB_CONNS / 2)
		;  /* no yield: only the other P can start them */
	for (int i = HB_CONNS / 2; i < HB_CONNS; i++)
		GCHECK(rg_go(hb_server, (void *)(intptr_t)i) == 0);
	rg_wg_done(&hb_wg);
}

/* The client: rounds of one byte out on every connection, then one
 * back from each; hb_result is the rounds it took, or -1. */
static void *hb_client(void *arg)
{
	(void)arg;
	int stable = 0, round;
	for (round = 0; round < HB_ROUNDS && stable < HB_STABLE; round++) {
		for (int i = 0; i < HB_CONNS; i++)
			if (write(hb_cfd[i], "x", 1) != 1)
				goto out;
		for (int i = 0; i < HB_CONNS; i++) {
			char c = 0;
			if (read(hb_cfd[i], &c, 1) != 1 || c != 'x')
				goto out;
		}
		bool one = true;
		for (int i = 1; i < HB_CONNS; i++)
			one &= atomic_load(&hb_lastp[i]) == atomic_load(&hb_lastp[0]);
		stable = one ? stable + 1 : 0;
	}
	atomic_store(&hb_result, stable == HB_STABLE ? round : -1);
	fprintf(stderr, "handback: %d rounds, the last %d on one P\n", round, stable);
out:
	for (int i = 0; i < HB_CONNS; i++)
		close(hb_cfd[i]);
	return NULL;
}

/* Starts the servers and tells whether they started split across the
 * Ps.  They may not: the spinner's P can lose the last four to the other
 * P's thief before it runs them (more so under a sanitizer); the caller
 * then ends this set and starts another. */
static bool hb_start(void)
{
	atomic_store(&hb_started, 0);
	for (int i = 0; i < HB_CONNS; i++) {
		int fds[2];
		CHECK_CMP(rgio_tcp_pair(fds), ==, 0);
		hb_cfd[i] = fds[0];
		hb_sfd[i] = fds[1];
		CHECK_CMP(fcntl(fds[0], F_SETFL, 0), ==, 0);  /* the client blocks */
		atomic_store(&hb_lastp[i], -1);
	}
	rg_wg_add(&hb_wg, HB_CONNS + 1);
	CHECK_CMP(rg_go_named("spinner", hb_spinner, NULL), ==, 0);
	while (atomic_load(&hb_started) < HB_CONNS)
		rg_yield();
	bool split = false;
	for (int i = 1; i < HB_CONNS; i++)
		split |= atomic_load(&hb_startp[i]) != atomic_load(&hb_startp[0]);
	return split;
}

/* Ends a set: the servers return at the client side's close. */
static void hb_end(void)
{
	rg_wg_wait(&hb_wg);
	for (int i = 0; i < HB_CONNS; i++)
		rg_close(hb_sfd[i]);
}

#define HB_TRIES 20

static int scen_handback(void *arg)
{
	(void)arg;
	atomic_store(&hb_result, -2);
	rg_stats_t st0, st1;
	int tries = 1;
	while (!hb_start()) {
		/* rg_close: rgio_tcp_pair dialled these through the backend
		 * (the epoll set knows them), and the next set reuses the
		 * fd numbers. */
		for (int i = 0; i < HB_CONNS; i++)
			rg_close(hb_cfd[i]);
		hb_end();
		if (++tries > HB_TRIES)
			break;
	}
	CHECK_CMP(tries, <=, HB_TRIES);  /* one set in HB_TRIES started split */
	if (tries > HB_TRIES)
		return 0;
	fprintf(stderr, "handback: the servers started split at try %d\n", tries);
	CHECK_CMP(rg_stats(&st0), ==, 0);  /* after the sets that ended */
	pthread_t t;
	CHECK_CMP(pthread_create(&t, NULL, hb_client, NULL), ==, 0);
	hb_end();
	pthread_join(t, NULL);
	CHECK_CMP(rg_stats(&st1), ==, 0);
	CHECK_CMP(atomic_load(&hb_result), >=, 0);
	/* epoll has one poller, and the P that polls runs what it readies:
	 * its connections are on one P without handing back. */
	if (!rgio_epoll())
		CHECK_CMP(st1.handbacks, >, st0.handbacks);
	return 0;
}

static void handback_uring(void **state)
{
	(void)state;
	rgio_run_isolated("io_uring", "2", scen_handback);
}

static void handback_epoll(void **state)
{
	(void)state;
	rgio_run_isolated("epoll", "2", scen_handback);
}

/* ---- fairness past the local queue (rg__ready_n) -------------------- *
 *
 * One P, FAIR_CONNS echo connections: more goroutines than a P's local
 * queue holds (RG_RUNQ_SIZE), so some always wait in the global queue.
 * A client on a plain thread keeps one byte in flight on every
 * connection (epoll, closed loop) until it has FAIR_ROUNDS round trips
 * per connection on average, and then every connection must have had at
 * least a FAIR_MIN_DIV-th of that.  Before, the reaps that every
 * RG_GLOBAL_TICK schedules refilled the local queue, a full local queue
 * pushed its oldest half to the global one, and the global queue gave
 * one goroutine per RG_GLOBAL_TICK: those connections waited ~100 ms
 * while the rest ran (ringo-echo's p99 at 512 connections): the
 * fewest round trips were 0-14 of 40 on io_uring and 15-30 on epoll in
 * 5 runs each; now 39 in every run on both. */
#define FAIR_CONNS 512
#define FAIR_ROUNDS 40
#define FAIR_MIN_DIV 2
static int fair_cfd[FAIR_CONNS], fair_sfd[FAIR_CONNS];
static int fair_count[FAIR_CONNS];
static _Atomic int fair_min;
static rg_waitgroup_t fair_wg;

static void fair_server(void *arg)
{
	int fd = fair_sfd[(intptr_t)arg];
	char c;
	while (rg_read(fd, &c, 1, NULL) == 1)
		if (rg_write(fd, &c, 1, NULL) != 1)
			break;
	rg_wg_done(&fair_wg);
}

static void *fair_client(void *arg)
{
	(void)arg;
	int ep = epoll_create1(EPOLL_CLOEXEC), total = 0, min = -1;
	if (ep < 0)
		goto out;
	for (int i = 0; i < FAIR_CONNS; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fair_cfd[i], &ev) < 0 ||
		    write(fair_cfd[i], "x", 1) != 1)
			goto out;
	}
	while (total < FAIR_CONNS * FAIR_ROUNDS) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno != EINTR)
			goto out;
		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;
			char c;
			if (read(fair_cfd[i], &c, 1) != 1 || write(fair_cfd[i], "x", 1) != 1)
				goto out;
			fair_count[i]++;
			total++;
		}
	}
	min = fair_count[0];
	for (int i = 1; i < FAIR_CONNS; i++)
		min = fair_count[i] < min ? fair_count[i] : min;
out:
	atomic_store(&fair_min, min);
	if (ep >= 0)
		close(ep);
	for (int i = 0; i < FAIR_CONNS; i++)
		close(fair_cfd[i]);
	return NULL;
}

static int scen_fair(void *arg)
{
	(void)arg;
	struct rlimit rl;
	CHECK_CMP(getrlimit(RLIMIT_NOFILE, &rl), ==, 0);
	if (rl.rlim_cur < 4 * FAIR_CONNS) {
		if (rl.rlim_max < 4 * FAIR_CONNS)
			return rgio_skip("RLIMIT_NOFILE too low for the fairness case");
		rl.rlim_cur = 4 * FAIR_CONNS;
		CHECK_CMP(setrlimit(RLIMIT_NOFILE, &rl), ==, 0);
	}
	memset(fair_count, 0, sizeof(fair_count));
	for (int i = 0; i < FAIR_CONNS; i++) {
		int sv[2];
		CHECK_CMP(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
		fair_cfd[i] = sv[0];
		fair_sfd[i] = sv[1];
		/* As rg_accept's are on epoll (a blocking one would keep its
		 * goroutine in read(2) with the P: a case of its own). */
		if (rgio_epoll())
			CHECK_CMP(fcntl(sv[1], F_SETFL, O_NONBLOCK), ==, 0);
	}
	rg_wg_add(&fair_wg, FAIR_CONNS);
	for (int i = 0; i < FAIR_CONNS; i++)
		CHECK_CMP(rg_go(fair_server, (void *)(intptr_t)i), ==, 0);
	pthread_t t;
	CHECK_CMP(pthread_create(&t, NULL, fair_client, NULL), ==, 0);
	rg_wg_wait(&fair_wg);  /* the servers end at the client's close */
	pthread_join(t, NULL);
	for (int i = 0; i < FAIR_CONNS; i++)
		rg_close(fair_sfd[i]);
	fprintf(stderr, "fair: fewest round trips %d of %d on average\n",
		atomic_load(&fair_min), FAIR_ROUNDS);
	CHECK_CMP(atomic_load(&fair_min), >=, FAIR_ROUNDS / FAIR_MIN_DIV);
	return 0;
}

static void fair_uring(void **state)
{
	(void)state;
	rgio_run_isolated("io_uring", "1", scen_fair);
}

static void fair_epoll(void **state)
{
	(void)state;
	rgio_run_isolated("epoll", "1", scen_fair);
}

int main(void)
{
	rgio_ignore_sigpipe();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(yield_1p_uring),
		cmocka_unit_test(yield_2p_uring),
		cmocka_unit_test(pingpong_1p_uring),
		cmocka_unit_test(pingpong_2p_uring),
		cmocka_unit_test(yield_1p_epoll),
		cmocka_unit_test(yield_2p_epoll),
		cmocka_unit_test(pingpong_1p_epoll),
		cmocka_unit_test(pingpong_2p_epoll),
		cmocka_unit_test(hog_2p_uring),
		cmocka_unit_test(hog_2p_uring_plain),
		cmocka_unit_test(pingpong_2p_uring_plain),
		cmocka_unit_test(handback_uring),
		cmocka_unit_test(handback_epoll),
		cmocka_unit_test(fair_uring),
		cmocka_unit_test(fair_epoll),
		cmocka_unit_test(hog_2p_epoll),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
