// SPDX-License-Identifier: MIT
/*
 * test_limiter.c — the token bucket against golang.org/x/time/rate's
 * behaviour: sequences of calls at explicit times (d = 100 ms steps at
 * rate 10: one token per d) whose token counts, answers and reservation
 * times are x/time/rate's, then waits with contexts, the special rates
 * (zero, infinite), setters, bad arguments, concurrency, and one
 * real-time run with wide tolerances.
 */
#include "helpers/rgcheck.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS RG_MILLISECOND
#define D (100 * MS)
#define T(k) (T0 + (int64_t)(k) * D)
static const int64_t T0 = 1000 * RG_SECOND;

/* ---- explicit times ------------------------------------------------ */

struct step {
	int64_t t;
	double toks;   /* tokens before the call */
	int n;
	bool ok;
};

static void steps(rg_limiter_t *l, const struct step *s, int n)
{
	for (int i = 0; i < n; i++) {
		double toks = rg_limiter_tokens(l, s[i].t);
		if (fabs(toks - s[i].toks) > 1e-9)
			fail_msg("step %d: tokens %.12g want %g", i, toks, s[i].toks);
		bool ok = rg_limiter_allow_n(l, s[i].t, s[i].n);
		if (ok != s[i].ok)
			fail_msg("step %d: allow_n(t%+lld ms, %d) = %d want %d", i,
				 (long long)((s[i].t - T0) / MS), s[i].n, ok, s[i].ok);
	}
}

/* Burst 1 at rate 10: one event per 100 ms; n = 2 never fits. */
static void test_burst1(void **state)
{
	(void)state;
	rg_limiter_t *l = rg_limiter_new(10, 1);
	const struct step s[] = {
		{T(0), 1, 1, true}, {T(0), 0, 1, false}, {T(0), 0, 1, false},
		{T(1), 1, 1, true}, {T(1), 0, 1, false}, {T(1), 0, 1, false},
		{T(2), 1, 2, false}, {T(2), 1, 1, true}, {T(2), 0, 1, false},
	};
	steps(l, s, 9);
	rg_limiter_free(l);
}

/* Burst 3: starts full; refills one per d up to 3; n = 0 always fits. */
static void test_burst3(void **state)
{
	(void)state;
	rg_limiter_t *l = rg_limiter_new(10, 3);
	const struct step s[] = {
		{T(0), 3, 2, true}, {T(0), 1, 2, false}, {T(0), 1, 1, true},
		{T(0), 0, 1, false}, {T(1), 1, 4, false}, {T(2), 2, 1, true},
		{T(3), 2, 1, true}, {T(4), 2, 1, true}, {T(4), 1, 1, true},
		{T(4), 0, 1, false}, {T(4), 0, 1, false}, {T(9), 3, 3, true},
		{T(9), 0, 0, true},
	};
	steps(l, s, 13);
	rg_limiter_free(l);
}

/* A time before the last update counts from that time, as in Go. */
static void test_jump_backwards(void **state)
{
	(void)state;
	rg_limiter_t *l = rg_limiter_new(10, 3);
	const struct step s[] = {
		{T(1), 3, 1, true}, {T(0), 2, 1, true}, {T(0), 1, 1, true},
		{T(0), 0, 1, false}, {T(0), 0, 1, false}, {T(1), 1, 1, true},
		{T(1), 0, 1, false}, {T(1), 0, 1, false}, {T(2), 1, 1, true},
		{T(2), 0, 1, false}, {T(2), 0, 1, false},
	};
	steps(l, s, 11);
	rg_limiter_free(l);
}

/* Special rates: rate 0 spends the burst once; burst 0 allows nothing
 * unless the rate is infinite; a rate whose token period is not a whole
 * number of ns still starts full (x/time/rate issue 34861). */
static void test_special_rates(void **state)
{
	(void)state;
	rg_limiter_t *l = rg_limiter_new(0, 1);
	assert_true(rg_limiter_allow_n(l, T(0), 1));
	assert_false(rg_limiter_allow_n(l, T(100), 1));
	assert_int_equal(rg_limiter_burst(l), 0);  /* Go spends burst itself */
	rg_limiter_free(l);

	l = rg_limiter_new(10, 0);
	assert_false(rg_limiter_allow_n(l, T(0), 1));
	assert_false(rg_limiter_allow_n(l, T(50), 1));
	assert_true(rg_limiter_allow_n(l, T(50), 0));
	rg_limiter_free(l);

	l = rg_limiter_new(RG_INF, 0);
	for (int i = 0; i < 100; i++)
		assert_true(rg_limiter_allow_n(l, T(0), 1000));
	assert_true(isinf(rg_limiter_limit(l)));
	rg_limiter_free(l);

	l = rg_limiter_new(0.7692307692307693, 1);
	assert_true(rg_limiter_allow(l));
	rg_limiter_free(l);
}

/* The refusals that rg_limiter_allow_n decides without the lock (a
 * snapshot of the state, rate.c) give x/time/rate's answers at their
 * edges (each sequence run against Debian's x/time/rate): a deficit worth
 * under a nanosecond at the rate truncates to a wait of 0 and is allowed;
 * n over burst is refused; the setters are seen by the very next call. */
static void test_refusal_edges(void **state)
{
	(void)state;
	/* 3e9/s: 1 token is a third of a nanosecond. */
	rg_limiter_t *l = rg_limiter_new(3e9, 1);
	const bool at0[] = {true, true, true, false, false, false};
	for (int i = 0; i < 6; i++)
		if (rg_limiter_allow_n(l, T0, 1) != at0[i])
			fail_msg("3e9/s at t0, call %d: want %d", i, at0[i]);
	assert_true(fabs(rg_limiter_tokens(l, T0) + 2) < 1e-9);
	for (int i = 0; i < 6; i++)
		if (rg_limiter_allow_n(l, T0 + 1, 1) != at0[i])
			fail_msg("3e9/s at t0+1ns, call %d: want %d", i, at0[i]);
	rg_limiter_free(l);

	l = rg_limiter_new(10, 1);
	assert_true(rg_limiter_allow_n(l, T(0), 1));
	assert_false(rg_limiter_allow_n(l, T(0), 1));
	assert_false(rg_limiter_allow_n(l, T(0), 2));      /* over burst */
	rg_limiter_set_burst_at(l, T(0), 3);
	assert_false(rg_limiter_allow_n(l, T(0), 1));      /* no token yet */
	assert_true(rg_limiter_allow_n(l, T(1), 1));       /* burst 3 now */
	assert_false(rg_limiter_allow_n(l, T(1), 2));
	rg_limiter_set_limit_at(l, T(1), RG_INF);
	assert_true(rg_limiter_allow_n(l, T(1), 5));       /* infinite: all */
	rg_limiter_set_limit_at(l, T(1), 0);
	assert_true(rg_limiter_allow_n(l, T(1), 1));       /* zero: burst spent */
	assert_int_equal(rg_limiter_burst(l), 2);
	rg_limiter_free(l);

	/* A huge rate: a token is worth 1e-291 ns, the deficit waits 0. */
	l = rg_limiter_new(1e300, 1);
	for (int i = 0; i < 4; i++)
		assert_true(rg_limiter_allow_n(l, T0, 1));
	rg_limiter_free(l);
}

/* Many events at a fixed 2 ms pace for 5 s at rate 100, burst 100: the
 * count never exceeds burst + rate * elapsed and gets within 0.1 %. */
static void test_long_run(void **state)
{
	(void)state;
	rg_limiter_t *l = rg_limiter_new(100, 100);
	int ok = 0;
	int64_t t;
	for (t = T0; t < T0 + 5 * RG_SECOND; t += 2 * MS)
		ok += rg_limiter_allow_n(l, t, 1);
	double ideal = 100 + 100.0 * (double)(t - T0) / 1e9;
	assert_true(ok <= (int)(ideal + 1));
	assert_true(ok >= (int)(0.999 * ideal));
	rg_limiter_free(l);
}

/* ---- reservations -------------------------------------------------- */

/* Reserves n at t and checks (ok, time to act rounded to d). */
static rg_reservation_t res(rg_limiter_t *l, int64_t t, int n, int64_t act, bool ok)
{
	rg_reservation_t r = rg_limiter_reserve_n(l, t, n);
	if (r.ok != ok)
		fail_msg("reserve(t%lld, %d).ok = %d want %d", (long long)((t - T0) / D), n,
			 r.ok, ok);
	if (ok) {
		int64_t got = (r.time_to_act - T0 + D / 2) / D;
		int64_t want = (act - T0 + D / 2) / D;
		if (got != want)
			fail_msg("reserve(t%lld, %d) acts at t%lld want t%lld",
				 (long long)((t - T0) / D), n, (long long)got, (long long)want);
	} else {
		assert_int_equal(rg_reservation_delay(&r, t), RG_INF_DURATION);
	}
	return r;
}

static void test_reserve(void **state)
{
	(void)state;
	rg_limiter_t *l = rg_limiter_new(10, 2);
	/* Simple: the second pair waits for two refills. */
	rg_reservation_t r = res(l, T(0), 2, T(0), true);
	assert_int_equal(rg_reservation_delay(&r, T(0)), 0);
	r = res(l, T(0), 2, T(2), true);
	assert_int_equal(rg_reservation_delay(&r, T(1)), rg_reservation_delay(&r, T(0)) - D);
	res(l, T(3), 2, T(4), true);
	rg_limiter_free(l);

	/* Mixed with allow: n > burst is refused; debt makes allow fail. */
	l = rg_limiter_new(10, 2);
	res(l, T(0), 3, 0, false);
	res(l, T(0), 2, T(0), true);
	assert_false(rg_limiter_allow_n(l, T(1), 2));
	res(l, T(1), 2, T(2), true);
	assert_true(fabs(rg_limiter_tokens(l, T(1)) + 1) < 1e-9);
	assert_false(rg_limiter_allow_n(l, T(1), 1));
	assert_true(rg_limiter_allow_n(l, T(3), 1));
	rg_limiter_free(l);
	(void)r;
}

/* Cancel gives back what no later reservation counts on. */
static void test_cancel(void **state)
{
	(void)state;
	rg_limiter_t *l;
	rg_reservation_t r, a, c;

	/* Not ok: no effect. */
	l = rg_limiter_new(10, 2);
	res(l, T(0), 2, T(0), true);
	r = res(l, T(0), 3, 0, false);
	rg_reservation_cancel(&r, T(0));
	res(l, T(0), 2, T(2), true);
	rg_limiter_free(l);

	/* The last reservation: both tokens back. */
	l = rg_limiter_new(10, 2);
	res(l, T(0), 2, T(0), true);
	r = res(l, T(0), 2, T(2), true);
	rg_reservation_cancel(&r, T(1));
	res(l, T(1), 2, T(2), true);
	rg_limiter_free(l);

	/* Too late (its time has passed): no effect. */
	l = rg_limiter_new(10, 2);
	res(l, T(0), 2, T(0), true);
	r = res(l, T(0), 2, T(2), true);
	rg_reservation_cancel(&r, T(3));
	res(l, T(3), 2, T(4), true);
	rg_limiter_free(l);

	/* A later reservation counts on it: nothing back. */
	l = rg_limiter_new(10, 2);
	res(l, T(0), 2, T(0), true);
	r = res(l, T(0), 1, T(1), true);
	res(l, T(0), 1, T(2), true);
	rg_reservation_cancel(&r, T(0));
	res(l, T(0), 1, T(3), true);
	rg_limiter_free(l);

	/* One of two back. */
	l = rg_limiter_new(10, 2);
	res(l, T(0), 2, T(0), true);
	r = res(l, T(0), 2, T(2), true);
	res(l, T(0), 1, T(3), true);
	rg_reservation_cancel(&r, T(2));
	res(l, T(2), 2, T(4), true);
	rg_limiter_free(l);

	/* Several: as if the cancelled ones had never been made; a second
	 * cancel of the same reservation does nothing. */
	l = rg_limiter_new(10, 4);
	res(l, T(0), 4, T(0), true);
	a = res(l, T(0), 3, T(3), true);
	res(l, T(0), 1, T(4), true);
	c = res(l, T(0), 1, T(5), true);
	rg_reservation_cancel(&c, T(1));
	rg_reservation_cancel(&a, T(1));
	rg_reservation_cancel(&a, T(1));
	res(l, T(1), 3, T(5), true);
	rg_limiter_free(l);

	/* Cancel at a time before the limiter's last update. */
	l = rg_limiter_new(10, 2);
	res(l, T(1), 2, T(1), true);
	r = res(l, T(1), 2, T(3), true);
	res(l, T(1), 1, T(4), true);
	rg_reservation_cancel(&r, T(0));
	res(l, T(1), 2, T(4), true);
	rg_limiter_free(l);
}

/* Jumping back in time while reserving, as x/time/rate does. */
static void test_reserve_jump_back(void **state)
{
	(void)state;
	rg_limiter_t *l = rg_limiter_new(10, 2);
	res(l, T(1), 2, T(1), true);
	res(l, T(0), 1, T(1), true);
	res(l, T(2), 2, T(3), true);
	res(l, T(0), 3, 0, false);   /* n > burst: state unchanged */
	res(l, T(2), 1, T(4), true);
	rg_limiter_free(l);
}

/* SetLimit / SetBurst apply from the next call, after bringing the
 * bucket up to date at their time. */
static void test_setters(void **state)
{
	(void)state;
	rg_limiter_t *l = rg_limiter_new(5, 2);
	res(l, T(0), 2, T(0), true);
	res(l, T(0), 2, T(4), true);
	rg_limiter_set_limit_at(l, T(2), 10);
	res(l, T(2), 1, T(4), true);
	assert_true(rg_limiter_limit(l) == 10);
	rg_limiter_free(l);

	l = rg_limiter_new(5, 2);
	res(l, T(0), 2, T(0), true);
	res(l, T(0), 2, T(4), true);
	rg_limiter_set_burst_at(l, T(3), 4);
	assert_int_equal(rg_limiter_burst(l), 4);
	res(l, T(0), 4, T(9), true);
	rg_limiter_free(l);

	l = rg_limiter_new(5, 2);
	res(l, T(0), 2, T(0), true);
	rg_reservation_t r = res(l, T(0), 2, T(4), true);
	rg_limiter_set_limit_at(l, T(2), 10);
	rg_reservation_cancel(&r, T(2));
	res(l, T(2), 2, T(3), true);
	rg_limiter_free(l);

	/* From the next call: a burst raised at t allows more at once. */
	l = rg_limiter_new(10, 1);
	assert_true(rg_limiter_allow_n(l, T(0), 1));
	assert_false(rg_limiter_allow_n(l, T(0), 2));
	rg_limiter_set_burst_at(l, T(0), 5);
	assert_false(rg_limiter_allow_n(l, T(0), 1));  /* no tokens yet */
	assert_true(rg_limiter_allow_n(l, T(5), 5));   /* refilled to 5 */
	/* Rate 0, as in Go: burst itself is spent, tokens do not matter. */
	rg_limiter_set_limit_at(l, T(5), 0);
	assert_true(rg_limiter_allow_n(l, T(100), 1));
	assert_int_equal(rg_limiter_burst(l), 4);
	assert_false(rg_limiter_allow_n(l, T(100), 5));
	rg_limiter_set_limit_at(l, T(100), RG_INF);
	assert_true(rg_limiter_allow_n(l, T(100), 50));
	rg_limiter_free(l);
}

/* ---- waits --------------------------------------------------------- */

struct canceller {
	rg_ctx_t *ctx;
	int64_t after;
};

static void cancel_later(void *arg)
{
	struct canceller *c = arg;
	rg_sleep(c->after);
	rg_ctx_cancel(c->ctx);
	rg_ctx_release(c->ctx);
}

/*
 * Wait: an ended ctx fails at once; n > burst is -EINVAL (unless the
 * rate is infinite); tokens at hand return at once; missing ones are
 * waited for; a ctx cancelled meanwhile gives them back; a deadline that
 * comes before the tokens fails at once with -ETIMEDOUT.
 */
static int scen_wait(void *arg)
{
	(void)arg;
	rg_limiter_t *l = rg_limiter_new(100, 3);  /* 10 ms per token */
	rg_ctx_t *gone = rg_ctx_with_cancel(NULL);
	rg_ctx_cancel(gone);
	CHECK(rg_limiter_wait_n(l, 1, gone) == -ECANCELED);
	rg_ctx_release(gone);
	CHECK(rg_limiter_wait_n(l, 4, NULL) == -EINVAL);
	CHECK(rg_limiter_wait_n(l, -1, NULL) == -EINVAL);

	int64_t t0 = rg_now();
	CHECK(rg_limiter_wait_n(l, 2, NULL) == 0);  /* at hand */
	CHECK(rg_limiter_wait_n(l, 3, NULL) == 0);  /* 1 left: waits ~20 ms */
	int64_t el = rg_now() - t0;
	CHECK_CMP(el, >=, 19 * MS);
	CHECK_CMP(el, <, 5 * RG_SECOND);

	/* Cancelled while waiting: the 3 reserved tokens come back. */
	rg_limiter_t *slow = rg_limiter_new(1, 3);  /* 1 s per token */
	CHECK(rg_limiter_wait_n(slow, 2, NULL) == 0);
	rg_ctx_t *c = rg_ctx_with_cancel(NULL);
	static struct canceller cc;
	cc = (struct canceller){rg_ctx_retain(c), 20 * MS};
	rg_go(cancel_later, &cc);
	CHECK(rg_limiter_wait_n(slow, 3, c) == -ECANCELED);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	double toks = rg_limiter_tokens(slow, rg_now());
	CHECK(toks >= 1 && toks <= 3);
	rg_limiter_free(slow);

	/* A deadline before the tokens: -ETIMEDOUT without waiting for it. */
	rg_limiter_t *two = rg_limiter_new(0.1, 3);  /* 10 s per token */
	CHECK(rg_limiter_wait_n(two, 2, NULL) == 0);
	rg_ctx_t *t = rg_ctx_with_timeout(NULL, 5 * RG_SECOND);
	t0 = rg_now();
	CHECK(rg_limiter_wait_n(two, 3, t) == -ETIMEDOUT);  /* needs 20 s */
	CHECK_CMP(rg_now() - t0, <, 2500 * MS);
	CHECK(rg_limiter_wait_n(two, 1, t) == 0);  /* 1 token is there */
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	rg_limiter_free(two);

	/* Infinite rate: burst is ignored. */
	rg_limiter_t *inf = rg_limiter_new(RG_INF, 0);
	CHECK(rg_limiter_wait_n(inf, 3, NULL) == 0);
	CHECK(rg_limiter_wait(inf, NULL) == 0);
	rg_limiter_free(inf);
	rg_limiter_free(l);
	return 0;
}

static void test_wait(void **state)
{
	(void)state;
	rgc_main(scen_wait, NULL);
}

/* Real time: rate 200/s, burst 1: 20 waits take at least 19 periods
 * (exact lower bound: each token exists only after its period), and not
 * absurdly longer even under ASan on a busy machine. */
static int scen_realtime(void *arg)
{
	(void)arg;
	rg_limiter_t *l = rg_limiter_new(200, 1);
	int64_t t0 = rg_now();
	for (int i = 0; i < 20; i++)
		CHECK(rg_limiter_wait(l, NULL) == 0);
	int64_t el = rg_now() - t0;
	CHECK_CMP(el, >=, 19 * 5 * MS - MS);
	CHECK_CMP(el, <, 3 * RG_SECOND);
	/* Allow against the clock: nothing more within the period. */
	CHECK(!rg_limiter_allow(l) || !rg_limiter_allow(l));
	rg_limiter_free(l);
	return 0;
}

static void test_realtime(void **state)
{
	(void)state;
	rgc_main(scen_realtime, NULL);
}

/* ---- concurrency --------------------------------------------------- */

static rg_limiter_t *cc_lim;
static _Atomic int cc_ok;
static rg_waitgroup_t cc_wg;

static void cc_goroutine(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		if (rg_limiter_allow_n(cc_lim, T(0), 1))
			atomic_fetch_add(&cc_ok, 1);
	rg_wg_done(&cc_wg);
}

static void *cc_thread(void *arg)
{
	cc_goroutine(arg);
	return NULL;
}

/* Goroutines and host threads race for one limiter's burst at one
 * instant: exactly burst of them win. */
static void test_concurrent(void **state)
{
	(void)state;
	assert_int_equal(rg_init(NULL), 0);
	cc_lim = rg_limiter_new(1, 500);
	atomic_store(&cc_ok, 0);
	rg_wg_add(&cc_wg, 6);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rg_go(cc_goroutine, NULL), 0);
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, cc_thread, NULL), 0);
	rg_wg_wait(&cc_wg);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&cc_ok), 500);
	rg_limiter_free(cc_lim);
	rg_shutdown();
}

/* ---- bad arguments ------------------------------------------------- */

static int set_limit_neg_main(void *arg)
{
	(void)arg;
	rg_limiter_set_limit(rg_limiter_new(1, 1), -2);
	return 0;
}

static int set_burst_neg_main(void *arg)
{
	(void)arg;
	rg_limiter_set_burst(rg_limiter_new(1, 1), -1);
	return 0;
}

/* Constructors: NULL/EINVAL; setters: panics; negative n: refused. */
static void test_bad_args(void **state)
{
	(void)state;
	errno = 0;
	assert_null(rg_limiter_new(-1, 1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(rg_limiter_new(NAN, 1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(rg_limiter_new(1, -1));
	assert_int_equal(errno, EINVAL);
	rg_limiter_t *l = rg_limiter_new(10, 5);
	assert_false(rg_limiter_allow_n(l, T(0), -1));
	rg_reservation_t r = rg_limiter_reserve_n(l, T(0), -1);
	assert_false(r.ok);
	rg_reservation_cancel(&r, T(0));
	assert_true(fabs(rg_limiter_tokens(l, T(0)) - 5) < 1e-9);
	rg_limiter_free(l);
	rg_limiter_free(NULL);
	rgt_expect_panic(set_limit_neg_main, "panic: rate: limit -2 is negative or NaN");
	rgt_expect_panic(set_burst_neg_main, "panic: rate: burst -1 is negative");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst1),
		cmocka_unit_test(test_burst3),
		cmocka_unit_test(test_jump_backwards),
		cmocka_unit_test(test_special_rates),
		cmocka_unit_test(test_refusal_edges),
		cmocka_unit_test(test_long_run),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_reserve_jump_back),
		cmocka_unit_test(test_setters),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_realtime),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
