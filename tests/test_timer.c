// SPDX-License-Identifier: MIT
/*
 * test_timer.c — the time API: Timer, Ticker, After, AfterFunc, with
 * Go 1.23's Stop/Reset guarantees (no stale value once they return),
 * drift-free tickers, the panics for bad arguments, foreign threads,
 * and churn that AddressSanitizer watches for use after free.
 *
 * Checks of what happened wait for events (a value in a channel, a
 * counter); where the behaviour under test is that nothing happens in
 * time (a stopped timer stays silent), the test sleeps well past the
 * due time and looks.
 */
#include "helpers/rgcheck.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS RG_MILLISECOND

static void run(const char *procs, int (*scenario)(void *), void *arg)
{
	rgt_env("RINGO_PROCS", procs);
	rgc_main(scenario, arg);
}

/* Waits (polling, 1 ms naps) until c holds a value; false after 10 s. */
static bool wait_buffered(rg_chan_t *c)
{
	for (int i = 0; i < 10000; i++) {
		if (rg_chan_len(c) > 0)
			return true;
		rg_sleep(MS);
	}
	return false;
}

/* ---- Timer --------------------------------------------------------- */

/* A timer sends, once, the time it was due: at least d after creation,
 * no later than when it is received. */
static int scen_timer_fires(void *arg)
{
	(void)arg;
	int64_t t0 = rg_now();
	rg_timer_t *t = rg_timer_new(5 * MS);
	CHECK(t != NULL);
	rg_chan_t *c = rg_timer_chan(t);
	CHECK(rg_chan_cap(c) == 1);
	int64_t v = 0;
	CHECK(rg_chan_recv(c, &v));
	int64_t t1 = rg_now();
	CHECK_CMP(v, >=, t0 + 5 * MS);
	CHECK_CMP(v, <=, t1);
	CHECK_CMP(t1, >=, t0 + 5 * MS);
	/* One-shot: nothing more comes. */
	rg_sleep(10 * MS);
	CHECK(rg_chan_try_recv(c, &v, NULL) == -EAGAIN);
	CHECK(!rg_timer_stop(t)); /* received already */
	rg_timer_free(t);
	return 0;
}

static void test_timer_fires(void **state)
{
	(void)state;
	run("2", scen_timer_fires, NULL);
}

/* Stop: true while pending (and then nothing is ever sent), true once
 * it fired with its value unreceived (the value is discarded), false
 * after the value was received or when already stopped. */
static int scen_timer_stop(void *arg)
{
	(void)arg;
	int64_t v;

	/* Pending. */
	rg_timer_t *t = rg_timer_new(20 * MS);
	CHECK(rg_timer_stop(t));
	CHECK(!rg_timer_stop(t));
	rg_sleep(40 * MS);
	CHECK(rg_chan_try_recv(rg_timer_chan(t), &v, NULL) == -EAGAIN);
	rg_timer_free(t);

	/* Fired, value unreceived: discarded. */
	t = rg_timer_new(MS);
	CHECK(wait_buffered(rg_timer_chan(t)));
	CHECK(rg_timer_stop(t));
	CHECK(rg_chan_len(rg_timer_chan(t)) == 0);
	CHECK(rg_chan_try_recv(rg_timer_chan(t), &v, NULL) == -EAGAIN);
	CHECK(!rg_timer_stop(t));
	rg_timer_free(t);

	/* Received. */
	t = rg_timer_new(0);
	CHECK(rg_chan_recv(rg_timer_chan(t), &v));
	CHECK(!rg_timer_stop(t));
	rg_timer_free(t);

	/* Freed while pending: stops it (ASan would see a later fire). */
	t = rg_timer_new(5 * MS);
	rg_timer_free(t);
	rg_sleep(15 * MS);
	return 0;
}

static void test_timer_stop(void **state)
{
	(void)state;
	run("2", scen_timer_stop, NULL);
}

/* Reset: returns what Stop would have; the old period's value is gone;
 * the next value is due d after the reset. */
static int scen_timer_reset(void *arg)
{
	(void)arg;
	int64_t v;

	/* Pending: true, and it fires at the new time instead. */
	rg_timer_t *t = rg_timer_new(RG_SECOND);
	int64_t r0 = rg_now();
	CHECK(rg_timer_reset(t, 5 * MS));
	CHECK(rg_chan_recv(rg_timer_chan(t), &v));
	CHECK_CMP(v, >=, r0 + 5 * MS);
	CHECK_CMP(v, <, r0 + RG_SECOND);

	/* Received: false; fires again. */
	r0 = rg_now();
	CHECK(!rg_timer_reset(t, 2 * MS));
	CHECK(rg_chan_recv(rg_timer_chan(t), &v));
	CHECK_CMP(v, >=, r0 + 2 * MS);

	/* Fired, unreceived: true, the stale value is discarded, the new
	 * one is due after the reset. */
	CHECK(!rg_timer_reset(t, 0));
	CHECK(wait_buffered(rg_timer_chan(t)));
	r0 = rg_now();
	CHECK(rg_timer_reset(t, 3 * MS));
	CHECK(rg_chan_recv(rg_timer_chan(t), &v));
	CHECK_CMP(v, >=, r0 + 3 * MS);

	/* Stopped: false. */
	CHECK(!rg_timer_stop(t));
	CHECK(!rg_timer_reset(t, MS));
	CHECK(rg_chan_recv(rg_timer_chan(t), &v));
	rg_timer_free(t);
	return 0;
}

static void test_timer_reset(void **state)
{
	(void)state;
	run("2", scen_timer_reset, NULL);
}

/*
 * Go 1.23's guarantee under races: timers due now, stopped or reset
 * while their fire is in flight on the other P.  After Stop returns,
 * nothing is received; after Reset(d) returns, the first value is due at
 * or after the reset (never the old period's).  Stop's answer is
 * checked too: true exactly when no value had been received.
 */
static int scen_timer_races(void *arg)
{
	(void)arg;
	int rounds = 3000;
	long trues = 0, falses = 0;
	for (int i = 0; i < rounds; i++) {
		rg_timer_t *t = rg_timer_new(0);
		rg_chan_t *c = rg_timer_chan(t);
		int64_t v;
		if (i % 3 == 2)
			rg_yield();  /* let the fire happen, sometimes */
		if (i % 2 == 0) {
			bool kept = rg_timer_stop(t);
			int rc = rg_chan_try_recv(c, &v, NULL);
			CHECK(rc == -EAGAIN);  /* never a stale value */
			kept ? trues++ : falses++;
			CHECK(kept); /* nobody received it */
		} else {
			int64_t r0 = rg_now();
			CHECK(rg_timer_reset(t, 50 * RG_MICROSECOND));
			CHECK(rg_chan_recv(c, &v));
			/* Due after the reset, and not sent before it was
			 * due (a stale fire carrying the new due time). */
			CHECK_CMP(v, >=, r0 + 50 * RG_MICROSECOND);
			CHECK_CMP(rg_now(), >=, v);
		}
		rg_timer_free(t);
	}
	CHECK(trues > 0 && falses == 0);
	return 0;
}

static void test_timer_races(void **state)
{
	(void)state;
	run("2", scen_timer_races, NULL);
}

/* Durations that overflow the clock saturate to "never"; negative ones
 * fire at once. */
static int scen_timer_extremes(void *arg)
{
	(void)arg;
	int64_t v;
	rg_timer_t *never = rg_timer_new(INT64_MAX);
	rg_timer_t *now = rg_timer_new(-RG_SECOND);
	CHECK(rg_chan_recv(rg_timer_chan(now), &v));
	CHECK(rg_chan_len(rg_timer_chan(never)) == 0);
	CHECK(rg_timer_stop(never));
	CHECK(!rg_timer_reset(never, INT64_MAX - 1));
	rg_timer_free(never);
	rg_timer_free(now);
	rg_timer_free(NULL);
	return 0;
}

static void test_timer_extremes(void **state)
{
	(void)state;
	run("2", scen_timer_extremes, NULL);
}

/*
 * A timer's or ticker's channel is made by the first rg_timer_chan (or
 * rg_ticker_chan); a fire before that holds its value for it.  Each
 * check holds whether or not the fire came before the channel was asked
 * for; the naps make "before" the usual case.
 */
static rg_chan_t *shared_chan[2];
static rg_waitgroup_t chan_wg;
static rg_timer_t *chan_race_t;

static void ask_chan(void *arg)
{
	shared_chan[(intptr_t)arg] = rg_timer_chan(chan_race_t);
	rg_wg_done(&chan_wg);
}

static int scen_timer_chan_late(void *arg)
{
	(void)arg;
	int64_t v;

	/* Fired first: the channel starts with the due time. */
	int64_t t0 = rg_now();
	rg_timer_t *t = rg_timer_new(MS);
	rg_sleep(3 * MS);
	rg_chan_t *c = rg_timer_chan(t);
	CHECK(c == rg_timer_chan(t));
	CHECK(rg_chan_recv(c, &v));
	CHECK_CMP(v, >=, t0 + MS);
	CHECK_CMP(v, <=, rg_now());
	CHECK(rg_chan_try_recv(c, &v, NULL) == -EAGAIN);
	CHECK(!rg_timer_stop(t));
	rg_timer_free(t);

	/* Stopped after the fire, before the channel: the value is gone. */
	t = rg_timer_new(0);
	rg_sleep(2 * MS);
	CHECK(rg_timer_stop(t));
	CHECK(!rg_timer_stop(t));
	CHECK(rg_chan_try_recv(rg_timer_chan(t), &v, NULL) == -EAGAIN);
	rg_timer_free(t);

	/* Reset after the fire, before the channel: only the new period's
	 * value comes. */
	t = rg_timer_new(0);
	rg_sleep(2 * MS);
	int64_t r0 = rg_now();
	CHECK(rg_timer_reset(t, 2 * MS));
	CHECK(rg_chan_recv(rg_timer_chan(t), &v));
	CHECK_CMP(v, >=, r0 + 2 * MS);
	rg_timer_free(t);

	/* Fired and freed without its channel ever made (ASan: no leak). */
	t = rg_timer_new(0);
	rg_sleep(2 * MS);
	rg_timer_free(t);

	/* A ticker's channel made late holds one tick, a due time. */
	int64_t k0 = rg_now();
	rg_ticker_t *tk = rg_ticker_new(MS);
	rg_sleep(5 * MS);
	rg_chan_t *tc = rg_ticker_chan(tk);
	CHECK_CMP(rg_chan_len(tc), <=, 1);
	CHECK(rg_chan_recv(tc, &v));
	CHECK_CMP(v, >=, k0 + MS);
	CHECK_CMP(v, <=, rg_now());
	rg_ticker_free(tk);

	/* Two goroutines asking at once get the same channel. */
	for (int i = 0; i < 200; i++) {
		chan_race_t = rg_timer_new(i % 2 ? 0 : RG_SECOND);
		rg_wg_add(&chan_wg, 2);
		rg_go(ask_chan, (void *)(intptr_t)0);
		rg_go(ask_chan, (void *)(intptr_t)1);
		rg_wg_wait(&chan_wg);
		CHECK(shared_chan[0] != NULL && shared_chan[0] == shared_chan[1]);
		rg_timer_free(chan_race_t);
	}
	return 0;
}

static void test_timer_chan_late(void **state)
{
	(void)state;
	run("2", scen_timer_chan_late, NULL);
}

/* ---- AfterFunc ----------------------------------------------------- */

struct afn {
	_Atomic int runs;
	_Atomic int64_t goid;
	rg_waitgroup_t wg;
};

static void afn_fn(void *arg)
{
	struct afn *a = arg;
	atomic_store(&a->goid, rg_goid());
	atomic_fetch_add(&a->runs, 1);
	rg_wg_done(&a->wg);
}

/* fn runs once, in a goroutine of its own; Stop before keeps it from
 * running (true), Stop after says false; Reset runs it again. */
static int scen_after_func(void *arg)
{
	(void)arg;
	static struct afn a;
	rg_wg_add(&a.wg, 1);
	rg_timer_t *t = rg_after_func(2 * MS, afn_fn, &a);
	CHECK(t != NULL);
	CHECK(rg_timer_chan(t) == NULL);
	rg_wg_wait(&a.wg);
	CHECK(atomic_load(&a.runs) == 1);
	CHECK(atomic_load(&a.goid) != rg_goid() && atomic_load(&a.goid) > 0);
	CHECK(!rg_timer_stop(t));

	rg_wg_add(&a.wg, 1);
	CHECK(!rg_timer_reset(t, MS));
	rg_wg_wait(&a.wg);
	CHECK(atomic_load(&a.runs) == 2);

	CHECK(!rg_timer_reset(t, RG_SECOND));
	CHECK(rg_timer_stop(t));
	rg_sleep(30 * MS);
	CHECK(atomic_load(&a.runs) == 2);
	rg_timer_free(t);

	/* Freed while pending: never runs. */
	t = rg_after_func(50 * MS, afn_fn, &a);
	rg_timer_free(t);
	rg_sleep(100 * MS);
	CHECK(atomic_load(&a.runs) == 2);

	errno = 0;
	CHECK(rg_after_func(MS, NULL, NULL) == NULL && errno == EINVAL);
	return 0;
}

static void test_after_func(void **state)
{
	(void)state;
	run("2", scen_after_func, NULL);
}

/* ---- After --------------------------------------------------------- */

/* rg_after in a select loses to a ready channel, wins against a nil one;
 * freeing it before it fires stops its timer. */
static int scen_after(void *arg)
{
	(void)arg;
	rg_chan_t *ready = RG_CHAN(int, 1);
	int x = 1;
	rg_chan_send(ready, &x);

	rg_chan_t *a = rg_after(RG_SECOND);
	rg_case_t cs[] = {RG_RECV(ready, &x), RG_RECV(a, NULL)};
	CHECK(rg_select(cs, 2, true) == 0);
	rg_chan_free(a);  /* stops it: nothing left behind */

	int64_t t0 = rg_now(), v = 0;
	a = rg_after(3 * MS);
	rg_case_t cs2[] = {RG_RECV(ready, &x), RG_RECV(a, &v)};
	CHECK(rg_select(cs2, 2, true) == 1);
	CHECK(cs2[1].ok && v >= t0 + 3 * MS);
	rg_chan_free(a);

	/* Fired but never received: freeing is all it takes. */
	a = rg_after(0);
	CHECK(wait_buffered(a));
	rg_chan_free(a);
	rg_chan_free(ready);
	return 0;
}

static void test_after(void **state)
{
	(void)state;
	run("2", scen_after, NULL);
}

/* Many rg_after channels raced against their own fire and freed at
 * once: under ASan a fire touching a freed timer would be reported. */
static int scen_after_churn(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		rg_chan_t *a = rg_after((i % 7) * RG_MICROSECOND);
		if (i % 5 == 0)
			rg_yield();
		rg_chan_free(a);
	}
	rg_sleep(5 * MS); /* let any straggling fire run */
	return 0;
}

static void test_after_churn(void **state)
{
	(void)state;
	run("2", scen_after_churn, NULL);
}

/* ---- Ticker -------------------------------------------------------- */

/* Ticks are due at start + n*d: every received value is a whole number
 * of periods after the first, even when the receiver is slow and ticks
 * are dropped (the channel holds one); after a slow patch, no burst. */
static int scen_ticker_no_drift(void *arg)
{
	(void)arg;
	int64_t d = 2 * MS;
	rg_ticker_t *tk = rg_ticker_new(d);
	rg_chan_t *c = rg_ticker_chan(tk);
	int64_t first, v, prev;
	CHECK(rg_chan_recv(c, &first));
	prev = first;
	for (int i = 0; i < 20; i++) {
		if (i % 5 == 4)
			rg_sleep(5 * d);  /* a slow receiver: ticks are dropped */
		CHECK(rg_chan_recv(c, &v));
		CHECK((v - first) % d == 0);
		CHECK_CMP(v, >, prev);
		prev = v;
	}
	/* Dropped, not queued: after a nap of 50 periods one tick waits,
	 * and the next is a fresh one, not the nap's second (the bound
	 * leaves 50 ms for a late fire on a loaded machine). */
	int64_t nap = rg_now();
	rg_sleep(50 * d);
	CHECK(rg_chan_recv(c, &v));
	CHECK(rg_chan_recv(c, &v));
	CHECK_CMP(v, >=, nap + 25 * d);
	CHECK((v - first) % d == 0);
	rg_ticker_free(tk);
	return 0;
}

static void test_ticker_no_drift(void **state)
{
	(void)state;
	run("2", scen_ticker_no_drift, NULL);
}

/* Stop: no more ticks, a pending one is discarded; Reset starts it
 * again with the new period, first tick d after the reset. */
static int scen_ticker_stop_reset(void *arg)
{
	(void)arg;
	rg_ticker_t *tk = rg_ticker_new(MS);
	rg_chan_t *c = rg_ticker_chan(tk);
	int64_t v;
	CHECK(wait_buffered(c));
	rg_ticker_stop(tk);
	CHECK(rg_chan_len(c) == 0);
	rg_sleep(10 * MS);
	CHECK(rg_chan_try_recv(c, &v, NULL) == -EAGAIN);

	int64_t r0 = rg_now();
	rg_ticker_reset(tk, 3 * MS);
	int64_t a, b;
	CHECK(rg_chan_recv(c, &a));
	CHECK_CMP(a, >=, r0 + 3 * MS);
	CHECK(rg_chan_recv(c, &b));
	CHECK((b - a) % (3 * MS) == 0 && b > a);

	/* Reset while running: the buffered tick of the old period goes. */
	CHECK(wait_buffered(c));
	r0 = rg_now();
	rg_ticker_reset(tk, 2 * MS);
	CHECK(rg_chan_recv(c, &a));
	CHECK_CMP(a, >=, r0 + 2 * MS);
	rg_ticker_free(tk);
	rg_ticker_free(NULL);
	return 0;
}

static void test_ticker_stop_reset(void **state)
{
	(void)state;
	run("2", scen_ticker_stop_reset, NULL);
}

/* Tickers stopped and reset while their fires run on the other P: no
 * stale tick ever comes out after Stop/Reset returns. */
static int scen_ticker_races(void *arg)
{
	(void)arg;
	int64_t d = 20 * RG_MICROSECOND;
	rg_ticker_t *tk = rg_ticker_new(d);
	rg_chan_t *c = rg_ticker_chan(tk);
	for (int i = 0; i < 2000; i++) {
		int64_t v;
		if (i % 2) {
			rg_ticker_stop(tk);
			CHECK(rg_chan_try_recv(c, &v, NULL) == -EAGAIN);
			rg_ticker_reset(tk, d);
		} else {
			int64_t r0 = rg_now();
			rg_ticker_reset(tk, d);
			CHECK(rg_chan_recv(c, &v));
			CHECK_CMP(v, >=, r0 + d);
			CHECK_CMP(rg_now(), >=, v);
		}
	}
	rg_ticker_free(tk);
	return 0;
}

static void test_ticker_races(void **state)
{
	(void)state;
	run("2", scen_ticker_races, NULL);
}

/* ---- panics -------------------------------------------------------- */

static int ticker_zero_main(void *arg)
{
	(void)arg;
	rg_ticker_new(0);
	return 0;
}

static int ticker_reset_neg_main(void *arg)
{
	(void)arg;
	rg_ticker_t *tk = rg_ticker_new(RG_SECOND);
	rg_ticker_reset(tk, -1);
	return 0;
}

static int free_timer_chan_main(void *arg)
{
	(void)arg;
	rg_timer_t *t = rg_timer_new(RG_SECOND);
	rg_chan_free(rg_timer_chan(t));
	return 0;
}

static int stop_null_main(void *arg)
{
	(void)arg;
	rg_timer_stop(NULL);
	return 0;
}

/* Go's rules: a non-positive ticker interval panics; so do freeing a
 * timer's channel behind its back and a nil timer. */
static void test_panics(void **state)
{
	(void)state;
	rgt_expect_panic(ticker_zero_main, "non-positive interval for rg_ticker_new");
	rgt_expect_panic(ticker_reset_neg_main, "non-positive interval for rg_ticker_reset");
	rgt_expect_panic(free_timer_chan_main, "rg_chan_free of a timer's or ticker's channel");
	rgt_expect_panic(stop_null_main, "rg_timer_stop: nil timer");
}

/* ---- foreign threads ----------------------------------------------- */

static void *foreign_timers(void *arg)
{
	(void)arg;
	int64_t v, t0 = rg_now();
	rg_timer_t *t = rg_timer_new(2 * MS);
	GCHECK(rg_chan_recv(rg_timer_chan(t), &v) && v >= t0 + 2 * MS);
	GCHECK(rg_timer_reset(t, RG_SECOND) == false);
	GCHECK(rg_timer_stop(t));
	rg_timer_free(t);

	rg_ticker_t *tk = rg_ticker_new(MS);
	int64_t a, b;
	GCHECK(rg_chan_recv(rg_ticker_chan(tk), &a));
	GCHECK(rg_chan_recv(rg_ticker_chan(tk), &b));
	GCHECK(b > a && (b - a) % MS == 0);
	rg_ticker_free(tk);

	rg_chan_t *af = rg_after(MS);
	GCHECK(rg_chan_recv(af, &v));
	rg_chan_free(af);
	return NULL;
}

/* Embedded runtime: a host thread uses timers, tickers and After. */
static void test_foreign_thread(void **state)
{
	(void)state;
	assert_int_equal(rg_init(NULL), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, foreign_timers, NULL), 0);
	pthread_join(th, NULL);
	rg_shutdown();
	rgc_assert_clean();
}

/* ---- many timers --------------------------------------------------- */

/* 100,000 pending timers on the heaps, then stopped in a scattered
 * order; 10,000 more fire and are all received. */
static int scen_many(void *arg)
{
	(void)arg;
	int n = 100000;
	rg_timer_t **ts = malloc(sizeof(*ts) * (size_t)n);
	CHECK(ts != NULL);
	for (int i = 0; i < n; i++) {
		ts[i] = rg_timer_new(RG_MINUTE + (i * 7919 % 1000) * MS);
		CHECK(ts[i] != NULL);
	}
	for (int i = 0; i < n; i++) {
		int k = (int)((i * 48271LL) % n);
		CHECK(rg_timer_stop(ts[k]));
		rg_timer_free(ts[k]);
		ts[k] = NULL;
	}
	int m = 10000;
	for (int i = 0; i < m; i++)
		ts[i] = rg_timer_new((i % 50) * RG_MICROSECOND);
	for (int i = 0; i < m; i++) {
		int64_t v;
		CHECK(rg_chan_recv(rg_timer_chan(ts[i]), &v));
		rg_timer_free(ts[i]);
	}
	free(ts);
	return 0;
}

static void test_many(void **state)
{
	(void)state;
	run("2", scen_many, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_fires),
		cmocka_unit_test(test_timer_stop),
		cmocka_unit_test(test_timer_reset),
		cmocka_unit_test(test_timer_races),
		cmocka_unit_test(test_timer_extremes),
		cmocka_unit_test(test_timer_chan_late),
		cmocka_unit_test(test_after_func),
		cmocka_unit_test(test_after),
		cmocka_unit_test(test_after_churn),
		cmocka_unit_test(test_ticker_no_drift),
		cmocka_unit_test(test_ticker_stop_reset),
		cmocka_unit_test(test_ticker_races),
		cmocka_unit_test(test_panics),
		cmocka_unit_test(test_foreign_thread),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
