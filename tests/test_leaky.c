// SPDX-License-Identifier: MIT
/*
 * test_leaky.c — the leaky bucket: turns at least 1/rate apart in
 * arrival order, no burst after idle time, -EAGAIN at once when the
 * queue is full, a caller whose context ends gives its place to those
 * behind, foreign threads, bad arguments.
 *
 * Spacing is checked from below exactly (n turns cannot take less than
 * n - 1 intervals: each turn is given by a timer that fires no earlier
 * than the previous turn plus the interval), from above with wide
 * tolerances.  Queue positions are events (rg__leaky_waiting).
 */
#include "helpers/rgcheck.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rg__leaky_waiting(rg_leaky_t *l);

#define MS RG_MILLISECOND

static bool wait_waiting(rg_leaky_t *l, int n)
{
	for (int i = 0; i < 10000; i++) {
		if (rg__leaky_waiting(l) >= n)
			return true;
		rg_sleep(100 * RG_MICROSECOND);
	}
	return false;
}

struct caller {
	rg_leaky_t *l;
	int id;
	rg_ctx_t *ctx;      /* a reference for this goroutine, or NULL */
	int rc;
	rg_chan_t *done;    /* receives id */
};

static void caller(void *arg)
{
	struct caller *c = arg;
	c->rc = rg_leaky_wait(c->l, c->ctx);
	rg_ctx_release(c->ctx);
	rg_chan_send(c->done, &c->id);
}

/* 10 callers at rate 200/s: the last turn comes at least 9 intervals
 * after the first; turns go in arrival order. */
static int scen_spacing(void *arg)
{
	(void)arg;
	rg_leaky_t *l = rg_leaky_new(200, 16);   /* 5 ms */
	rg_chan_t *done = RG_CHAN(int, 16);
	static struct caller cs[10];
	int64_t t0 = rg_now();
	CHECK(rg_leaky_wait(l, NULL) == 0);      /* turn 0, at once */
	for (int i = 0; i < 10; i++) {
		cs[i] = (struct caller){.l = l, .id = i, .done = done};
		rg_go(caller, &cs[i]);
		/* Queued, or already let out (its id is in done): arrival
		 * order is i. */
		bool in = false;
		for (int k = 0; k < 100000 && !in; k++) {
			in = rg__leaky_waiting(l) + (int)rg_chan_len(done) >= i + 1;
			if (!in)
				rg_sleep(50 * RG_MICROSECOND);
		}
		CHECK(in);
	}
	for (int i = 0; i < 10; i++) {
		int id;
		CHECK(rg_chan_recv(done, &id));
		CHECK(id == i && cs[i].rc == 0);  /* FIFO */
	}
	int64_t el = rg_now() - t0;
	CHECK_CMP(el, >=, 10 * 5 * MS);
	CHECK_CMP(el, <, 5 * RG_SECOND);
	rg_chan_free(done);
	rg_leaky_free(l);
	return 0;
}

static void test_spacing(void **state)
{
	(void)state;
	rgc_main(scen_spacing, NULL);
}

/* After a long idle time the first caller goes at once and the next
 * four are still spaced: idle time earns no burst (a token bucket of
 * burst 5 would let all five through at once). */
static int scen_no_burst(void *arg)
{
	(void)arg;
	rg_leaky_t *l = rg_leaky_new(100, 8);    /* 10 ms */
	CHECK(rg_leaky_wait(l, NULL) == 0);
	rg_sleep(100 * MS);                      /* idle for 10 intervals */
	int64_t t0 = rg_now();
	for (int i = 0; i < 5; i++)
		CHECK(rg_leaky_wait(l, NULL) == 0);
	int64_t el = rg_now() - t0;
	CHECK_CMP(el, >=, 4 * 10 * MS);
	CHECK_CMP(el, <, 5 * RG_SECOND);
	rg_leaky_free(l);
	return 0;
}

static void test_no_burst(void **state)
{
	(void)state;
	rgc_main(scen_no_burst, NULL);
}

/* capacity callers waiting: the next gets -EAGAIN at once; capacity 0
 * refuses everyone who would wait. */
static int scen_full(void *arg)
{
	(void)arg;
	rg_leaky_t *l = rg_leaky_new(2, 2);      /* 500 ms */
	rg_chan_t *done = RG_CHAN(int, 4);
	static struct caller cs[2];
	CHECK(rg_leaky_wait(l, NULL) == 0);
	for (int i = 0; i < 2; i++) {
		cs[i] = (struct caller){.l = l, .id = i, .done = done};
		rg_go(caller, &cs[i]);
		CHECK(wait_waiting(l, i + 1));
	}
	int64_t t0 = rg_now();
	CHECK(rg_leaky_wait(l, NULL) == -EAGAIN);
	CHECK_CMP(rg_now() - t0, <, 400 * MS);  /* not a wait for a turn */
	int id;
	CHECK(rg_chan_recv(done, &id) && id == 0);
	CHECK(rg_chan_recv(done, &id) && id == 1);
	rg_leaky_free(l);

	l = rg_leaky_new(10, 0);
	CHECK(rg_leaky_wait(l, NULL) == 0);
	CHECK(rg_leaky_wait(l, NULL) == -EAGAIN);
	rg_leaky_free(l);
	rg_chan_free(done);
	return 0;
}

static void test_full(void **state)
{
	(void)state;
	rgc_main(scen_full, NULL);
}

/* A waiter whose context ends gives up its place: the ones behind move
 * up (the next turn goes to the new head), and the queue has room again.
 * A deadline gives -ETIMEDOUT. */
static int scen_ctx(void *arg)
{
	(void)arg;
	rg_leaky_t *l = rg_leaky_new(4, 3);      /* 250 ms */
	rg_chan_t *done = RG_CHAN(int, 4);
	static struct caller cs[3];
	rg_ctx_t *c = rg_ctx_with_cancel(NULL);
	CHECK(rg_leaky_wait(l, NULL) == 0);
	for (int i = 0; i < 3; i++) {
		cs[i] = (struct caller){.l = l, .id = i, .done = done,
					.ctx = i == 0 ? rg_ctx_retain(c) : NULL};
		rg_go(caller, &cs[i]);
		CHECK(wait_waiting(l, i + 1));
	}
	rg_ctx_cancel(c);                        /* the head leaves */
	rg_ctx_release(c);
	int id;
	CHECK(rg_chan_recv(done, &id) && id == 0 && cs[0].rc == -ECANCELED);
	CHECK(rg__leaky_waiting(l) == 2);
	CHECK(rg_chan_recv(done, &id) && id == 1 && cs[1].rc == 0);
	CHECK(rg_chan_recv(done, &id) && id == 2 && cs[2].rc == 0);

	rg_ctx_t *t = rg_ctx_with_timeout(NULL, 5 * MS);
	CHECK(rg_leaky_wait(l, t) == -ETIMEDOUT);
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	CHECK(rg__leaky_waiting(l) == 0);
	rg_chan_free(done);
	rg_leaky_free(l);
	return 0;
}

static void test_ctx(void **state)
{
	(void)state;
	rgc_main(scen_ctx, NULL);
}

/* ---- threads, infinity, bad arguments ------------------------------ */

static rg_leaky_t *tl;

static void *thr(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++)
		GCHECK(rg_leaky_wait(tl, NULL) == 0);
	return NULL;
}

/* Host threads wait on the futex; 10 turns at 500/s take >= 9 * 2 ms. */
static void test_foreign(void **state)
{
	(void)state;
	assert_int_equal(rg_init(NULL), 0);
	tl = rg_leaky_new(500, 4);
	int64_t t0 = rg_now();
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thr, NULL), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_true(rg_now() - t0 >= 9 * 2 * MS);
	rg_leaky_free(tl);
	rg_shutdown();
	rgc_assert_clean();
}

static int free_waiting_main(void *arg)
{
	(void)arg;
	rg_leaky_t *l = rg_leaky_new(1, 4);
	static struct caller c;
	c = (struct caller){.l = l, .done = RG_CHAN(int, 1)};
	rg_leaky_wait(l, NULL);
	rg_go(caller, &c);
	while (rg__leaky_waiting(l) == 0)
		rg_sleep(MS);
	rg_leaky_free(l);
	return 0;
}

static int scen_inf(void *arg)
{
	(void)arg;
	rg_leaky_t *l = rg_leaky_new(RG_INF, 0);
	for (int i = 0; i < 1000; i++)
		CHECK(rg_leaky_wait(l, NULL) == 0);
	rg_leaky_free(l);
	return 0;
}

/* RG_INF spaces nobody; bad arguments: NULL/EINVAL; freeing with
 * waiters panics. */
static void test_bad_args(void **state)
{
	(void)state;
	rgc_main(scen_inf, NULL);
	errno = 0;
	assert_null(rg_leaky_new(0, 1));
	assert_int_equal(errno, EINVAL);
	assert_null(rg_leaky_new(-1, 1));
	assert_null(rg_leaky_new(1, -1));
	rg_leaky_free(NULL);
	rgt_expect_panic(free_waiting_main, "panic: rg_leaky_free with 1 callers waiting");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spacing),
		cmocka_unit_test(test_no_burst),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_ctx),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
