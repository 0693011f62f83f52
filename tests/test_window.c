// SPDX-License-Identifier: MIT
/*
 * test_window.c — the window limiters at explicit times: the seed's
 * fixed-window walkthrough and its 2x burst around a restart, which the
 * sliding counter (Cloudflare's weighted previous window, their worked
 * example) and the sliding log do not let through; the log's exactness;
 * time going backwards; bad arguments; concurrency; one real-time run.
 */
#include "helpers/rgcheck.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define MS RG_MILLISECOND
#define S RG_SECOND
static const int64_t T0 = 1000 * RG_SECOND;  /* a multiple of every window */

static int allow_many(rg_window_t *w, int64_t t, int n)
{
	int ok = 0;
	for (int i = 0; i < n; i++)
		ok += rg_window_allow(w, t);
	return ok;
}

/* The seed's table: limit 5 per second; requests at 0.1 .. 0.6 s take
 * the five slots, the one at 0.7 s is denied, the one at 1.1 s opens a
 * new window. */
static void test_fixed_seed_table(void **state)
{
	(void)state;
	rg_window_t *w = rg_window_new(RG_WINDOW_FIXED, 5, S);
	assert_non_null(w);
	int64_t at[] = {100, 200, 300, 500, 600, 700, 1100, 1200};
	bool want[] = {true, true, true, true, true, false, true, true};
	for (int i = 0; i < 8; i++)
		assert_int_equal(rg_window_allow(w, T0 + at[i] * MS), want[i]);
	rg_window_free(w);
}

/* Around a window boundary the fixed window lets nearly 2x through
 * within 0.1 s (the seed's "boundary burst problem"); the sliding
 * counter and the log hold to the limit. */
static void test_boundary_burst(void **state)
{
	(void)state;
	int kinds[] = {RG_WINDOW_FIXED, RG_WINDOW_SLIDING, RG_WINDOW_LOG};
	int got[3];
	for (int k = 0; k < 3; k++) {
		rg_window_t *w = rg_window_new(kinds[k], 5, S);
		assert_true(rg_window_allow(w, T0));        /* opens the window */
		got[k] = allow_many(w, T0 + 950 * MS, 10);   /* end of window 1 */
		got[k] += allow_many(w, T0 + S, 10);         /* start of window 2 */
		rg_window_free(w);
	}
	assert_int_equal(got[0], 4 + 5);  /* 9 within 50 ms: the 2x burst */
	assert_int_equal(got[1], 4 + 0);  /* prev 5 weighs in fully at 1.0 s */
	assert_int_equal(got[2], 4 + 1);  /* only the event at T0 has left */
}

/* Cloudflare's example: limit 50 per minute, 42 in the previous minute,
 * 18 in this one, 15 s into it: 42 * 45/60 + 18 = 49.5 < 50, allowed;
 * then 50.5: denied.  Later in the minute the previous one weighs less. */
static void test_sliding_cloudflare(void **state)
{
	(void)state;
	int64_t min = 60 * S;
	rg_window_t *w = rg_window_new(RG_WINDOW_SLIDING, 50, min);
	assert_int_equal(allow_many(w, T0 * 60 + 10 * S, 42), 42);
	/* 18 at 15 s into the next minute (42 * 45/60 + 17 = 48.5 < 50). */
	assert_int_equal(allow_many(w, T0 * 60 + min + 15 * S, 18), 18);
	assert_true(rg_window_allow(w, T0 * 60 + min + 15 * S));   /* 49.5 */
	assert_false(rg_window_allow(w, T0 * 60 + min + 15 * S));  /* 50.5 */
	/* At 45 s, 42 * 15/60 + 19 = 29.5: twenty more fit (48.5 -> 49.5). */
	assert_int_equal(allow_many(w, T0 * 60 + min + 45 * S, 30), 21);
	/* Two minutes on, both windows are empty. */
	assert_int_equal(allow_many(w, T0 * 60 + 4 * min, 60), 50);
	rg_window_free(w);
}

/* The log: never more than limit in any window-long interval, exactly;
 * an event leaves exactly window ns after it happened. */
static void test_log_exact(void **state)
{
	(void)state;
	rg_window_t *w = rg_window_new(RG_WINDOW_LOG, 3, S);
	assert_true(rg_window_allow(w, T0));
	assert_true(rg_window_allow(w, T0 + 100 * MS));
	assert_true(rg_window_allow(w, T0 + 200 * MS));
	assert_false(rg_window_allow(w, T0 + 500 * MS));
	assert_false(rg_window_allow(w, T0 + S - 1));
	assert_true(rg_window_allow(w, T0 + S));          /* T0 has left */
	assert_false(rg_window_allow(w, T0 + S + 50 * MS));
	assert_true(rg_window_allow(w, T0 + S + 100 * MS));
	rg_window_free(w);

	/* A long run: counts in every sliding second stay <= limit, and the
	 * log's memory is bounded by the limit (refused events are not
	 * logged), whatever the offered load. */
	w = rg_window_new(RG_WINDOW_LOG, 100, S);
	int64_t *ok_at = calloc(20000, sizeof(*ok_at));
	int n = 0;
	for (int64_t t = T0; t < T0 + 10 * S; t += MS / 2)
		if (rg_window_allow(w, t))
			ok_at[n++] = t;
	for (int i = 100; i < n; i++)
		assert_true(ok_at[i] - ok_at[i - 100] >= S);
	assert_true(n >= 999 && n <= 1000);
	free(ok_at);
	rg_window_free(w);
}

/* A time before one already seen counts as the latest (for all kinds). */
static void test_time_backwards(void **state)
{
	(void)state;
	int kinds[] = {RG_WINDOW_FIXED, RG_WINDOW_SLIDING, RG_WINDOW_LOG};
	for (int k = 0; k < 3; k++) {
		rg_window_t *w = rg_window_new(kinds[k], 2, S);
		assert_int_equal(allow_many(w, T0 + 5 * S, 2), 2);
		assert_false(rg_window_allow(w, T0));  /* not a fresh window */
		rg_window_free(w);
	}
}

/* Limit 0 allows nothing; bad kinds, limits and windows: NULL/EINVAL. */
static void test_bad_args(void **state)
{
	(void)state;
	rg_window_t *w = rg_window_new(RG_WINDOW_SLIDING, 0, S);
	assert_false(rg_window_allow(w, T0));
	rg_window_free(w);
	errno = 0;
	assert_null(rg_window_new(0, 1, S));
	assert_int_equal(errno, EINVAL);
	assert_null(rg_window_new(RG_WINDOW_FIXED, -1, S));
	assert_null(rg_window_new(RG_WINDOW_FIXED, 1, 0));
	assert_null(rg_window_new(RG_WINDOW_LOG, (int64_t)1 << 30, S));
	rg_window_free(NULL);
}

/* ---- concurrency and real time ------------------------------------- */

static rg_window_t *cw;
static _Atomic int cw_ok;
static rg_waitgroup_t cw_wg;

static void cw_body(void)
{
	for (int i = 0; i < 500; i++)
		if (rg_window_allow(cw, T0 + 10 * MS))
			atomic_fetch_add(&cw_ok, 1);
}

static void cw_goroutine(void *arg)
{
	(void)arg;
	cw_body();
	rg_wg_done(&cw_wg);
}

static void *cw_thread(void *arg)
{
	(void)arg;
	cw_body();
	rg_wg_done(&cw_wg);
	return NULL;
}

/* Goroutines and host threads at one instant: exactly limit pass. */
static void test_concurrent(void **state)
{
	(void)state;
	assert_int_equal(rg_init(NULL), 0);
	int kinds[] = {RG_WINDOW_FIXED, RG_WINDOW_SLIDING, RG_WINDOW_LOG};
	for (int k = 0; k < 3; k++) {
		cw = rg_window_new(kinds[k], 777, S);
		atomic_store(&cw_ok, 0);
		rg_wg_add(&cw_wg, 6);
		for (int i = 0; i < 4; i++)
			assert_int_equal(rg_go(cw_goroutine, NULL), 0);
		pthread_t th[2];
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&th[i], NULL, cw_thread, NULL), 0);
		rg_wg_wait(&cw_wg);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(atomic_load(&cw_ok), 777);
		rg_window_free(cw);
	}
	rg_shutdown();
}

/* Real time, each kind: 20 per 50 ms, offered continuously for ~200 ms:
 * at least one window's worth passes, and no more than the windows the
 * run touched allow (the fixed window up to twice that). */
static int scen_realtime(void *arg)
{
	(void)arg;
	int kinds[] = {RG_WINDOW_FIXED, RG_WINDOW_SLIDING, RG_WINDOW_LOG};
	for (int k = 0; k < 3; k++) {
		rg_window_t *w = rg_window_new(kinds[k], 20, 50 * MS);
		int64_t t0 = rg_now(), t;
		int ok = 0, calls = 0;
		/* At least 20 calls however slowly a loaded machine runs the
		 * loop: no window can refuse any of the first 20. */
		while ((t = rg_now()) - t0 < 200 * MS || calls < 20) {
			ok += rg_window_allow(w, t);
			calls++;
			rg_sleep(100 * RG_MICROSECOND);
		}
		int64_t windows = (t - t0) / (50 * MS) + 2;
		CHECK_CMP(ok, >=, 20);
		CHECK_CMP(ok, <=, 20 * windows * (kinds[k] == RG_WINDOW_FIXED ? 2 : 1));
		rg_window_free(w);
	}
	return 0;
}

static void test_realtime(void **state)
{
	(void)state;
	rgc_main(scen_realtime, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_seed_table),
		cmocka_unit_test(test_boundary_burst),
		cmocka_unit_test(test_sliding_cloudflare),
		cmocka_unit_test(test_log_exact),
		cmocka_unit_test(test_time_backwards),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_realtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
