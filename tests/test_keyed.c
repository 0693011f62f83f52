// SPDX-License-Identifier: MIT
/*
 * test_keyed.c — per-key token buckets: each key answers exactly as an
 * rg_limiter of its own (checked call by call against one, at explicit
 * times), keys compare by content, memory stays within max_keys with the
 * least recently used evicted (exact with one shard), idle keys are
 * forgotten, 100,000 keys over 64 shards, concurrency, bad arguments,
 * one real-time run.
 */
#include "helpers/rgcheck.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS RG_MILLISECOND
static const int64_t T0 = 1000 * RG_SECOND;

static bool allow_s(rg_keyed_limiter_t *k, const char *key, int64_t t)
{
	return rg_keyed_allow(k, key, strlen(key), t);
}

/* Each key behaves as a limiter of its own: a random walk over 5 keys
 * and times, every answer compared with a per-key rg_limiter. */
static void test_matches_limiter(void **state)
{
	(void)state;
	double rates[] = {10, 3, 0.7, 0};
	for (int r = 0; r < 4; r++) {
		rg_keyed_limiter_t *k = rg_keyed_limiter_new(rates[r], 3, 100);
		rg_limiter_t *ref[5];
		for (int i = 0; i < 5; i++)
			ref[i] = rg_limiter_new(rates[r], 3);
		uint32_t seed = 7;
		int64_t t = T0;
		for (int step = 0; step < 3000; step++) {
			seed = seed * 1103515245 + 12345;
			int key = (seed >> 16) % 5;
			t += (int64_t)((seed >> 8) % 100) * MS - 20 * MS;  /* may go back */
			char name[8];
			snprintf(name, sizeof(name), "k%d", key);
			bool want = rg_limiter_allow_n(ref[key], t, 1);
			bool got = allow_s(k, name, t);
			if (got != want)
				fail_msg("rate %g step %d key %d: %d want %d", rates[r], step, key,
					 got, want);
		}
		for (int i = 0; i < 5; i++)
			rg_limiter_free(ref[i]);
		rg_keyed_limiter_free(k);
	}
}

/* Keys compare by content (different pointers, same bytes: one bucket;
 * a prefix is another key; the empty key is a key). */
static void test_keys_by_content(void **state)
{
	(void)state;
	rg_keyed_limiter_t *k = rg_keyed_limiter_new(1, 1, 10);
	char a[] = "10.0.0.1", b[] = "10.0.0.1";
	assert_true(rg_keyed_allow(k, a, 8, T0));
	assert_false(rg_keyed_allow(k, b, 8, T0));
	assert_true(rg_keyed_allow(k, a, 7, T0));       /* "10.0.0." */
	assert_true(rg_keyed_allow(k, NULL, 0, T0));
	assert_false(rg_keyed_allow(k, "", 0, T0));
	uint32_t ip = 0x0a000001;
	assert_true(rg_keyed_allow(k, &ip, sizeof(ip), T0));
	assert_int_equal(rg_keyed_len(k), 4);
	rg_keyed_limiter_free(k);
}

/* max_keys bounds the keys held; a key not used since the clock hand
 * last passed goes first (a used one gets a second chance) and comes
 * back with a full bucket (one shard below 4096 keys). */
static void test_lru(void **state)
{
	(void)state;
	rg_keyed_limiter_t *k = rg_keyed_limiter_new(0.001, 1, 3);
	assert_true(allow_s(k, "a", T0));
	assert_true(allow_s(k, "b", T0));
	assert_true(allow_s(k, "c", T0));
	assert_false(allow_s(k, "a", T0));               /* a is now newest */
	assert_true(allow_s(k, "d", T0));                /* evicts b */
	assert_int_equal(rg_keyed_len(k), 3);
	assert_false(allow_s(k, "a", T0));               /* a was kept */
	assert_false(allow_s(k, "c", T0));               /* c was kept */
	assert_true(allow_s(k, "b", T0));                /* b is back, full */
	assert_int_equal(rg_keyed_len(k), 3);
	for (int i = 0; i < 1000; i++) {
		char name[16];
		snprintf(name, sizeof(name), "x%d", i);
		allow_s(k, name, T0);
		assert_true(rg_keyed_len(k) <= 3);
	}
	rg_keyed_limiter_free(k);
}

/* A key whose bucket has refilled is forgotten as new keys come (it
 * would start full anyway); one still in debt is kept. */
static void test_idle_expiry(void **state)
{
	(void)state;
	rg_keyed_limiter_t *k = rg_keyed_limiter_new(10, 2, 100);
	for (int i = 0; i < 10; i++) {
		char name[8];
		snprintf(name, sizeof(name), "i%d", i);
		assert_true(allow_s(k, name, T0));
	}
	assert_true(allow_s(k, "busy", T0));
	assert_true(allow_s(k, "busy", T0));
	assert_int_equal(rg_keyed_len(k), 11);
	/* 150 ms later: the idle keys (1 token spent) are full again (100 ms);
	 * "busy" (2 spent) is not.  Each new key moves the hand two steps:
	 * 20 new keys take it round the (at most 31) entries at least once. */
	for (int i = 0; i < 20; i++) {
		char name[8];
		snprintf(name, sizeof(name), "p%d", i);
		allow_s(k, name, T0 + 150 * MS);
	}
	assert_int_equal(rg_keyed_len(k), 1 + 20);       /* busy and the probes */
	assert_false(allow_s(k, "busy", T0 + 150 * MS) && allow_s(k, "busy", T0 + 150 * MS));
	rg_keyed_limiter_free(k);
}

/* 100,000 keys over 64 shards with max_keys 10,000: never more than
 * 10,000 held; every new key starts full. */
static void test_many_keys(void **state)
{
	(void)state;
	rg_keyed_limiter_t *k = rg_keyed_limiter_new(1, 1, 10000);
	for (uint32_t i = 0; i < 100000; i++) {
		assert_true(rg_keyed_allow(k, &i, sizeof(i), T0));
		if (i % 997 == 0)
			assert_true(rg_keyed_len(k) <= 10000);
	}
	assert_true(rg_keyed_len(k) <= 10000 && rg_keyed_len(k) >= 9000);
	rg_keyed_limiter_free(k);
}

/* Bad arguments: NULL with EINVAL; an infinite rate allows all. */
static void test_bad_args(void **state)
{
	(void)state;
	errno = 0;
	assert_null(rg_keyed_limiter_new(-1, 1, 10));
	assert_int_equal(errno, EINVAL);
	assert_null(rg_keyed_limiter_new(1, -1, 10));
	assert_null(rg_keyed_limiter_new(1, 1, 0));
	rg_keyed_limiter_t *k = rg_keyed_limiter_new(RG_INF, 0, 1);
	for (int i = 0; i < 100; i++)
		assert_true(allow_s(k, "x", T0));
	rg_keyed_limiter_free(k);
	rg_keyed_limiter_free(NULL);
}

/* ---- concurrency, real time ---------------------------------------- */

static rg_keyed_limiter_t *ck;
static _Atomic int ck_ok;
static rg_waitgroup_t ck_wg;

static void ck_body(void)
{
	for (int i = 0; i < 2000; i++) {
		uint32_t key = (uint32_t)(i % 50);
		if (rg_keyed_allow(ck, &key, sizeof(key), T0))
			atomic_fetch_add(&ck_ok, 1);
	}
}

static void ck_goroutine(void *arg)
{
	(void)arg;
	ck_body();
	rg_wg_done(&ck_wg);
}

static void *ck_thread(void *arg)
{
	(void)arg;
	ck_body();
	rg_wg_done(&ck_wg);
	return NULL;
}

/* 50 keys of burst 4 at one instant, hammered by goroutines and host
 * threads: exactly 200 pass. */
static void test_concurrent(void **state)
{
	(void)state;
	assert_int_equal(rg_init(NULL), 0);
	ck = rg_keyed_limiter_new(1, 4, 1000);
	atomic_store(&ck_ok, 0);
	rg_wg_add(&ck_wg, 6);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rg_go(ck_goroutine, NULL), 0);
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, ck_thread, NULL), 0);
	rg_wg_wait(&ck_wg);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&ck_ok), 200);
	rg_keyed_limiter_free(ck);
	rg_shutdown();
}

/* Real time: 3 clients at 100/s, burst 5, offered for ~200 ms: each gets
 * its burst plus about rate * elapsed, never more than that allows. */
static int scen_realtime(void *arg)
{
	(void)arg;
	rg_keyed_limiter_t *k = rg_keyed_limiter_new(100, 5, 10);
	int ok[3] = {0};
	int64_t t0 = rg_now(), t;
	while ((t = rg_now()) - t0 < 200 * MS) {
		for (int c = 0; c < 3; c++) {
			char name[4] = {'c', (char)('0' + c), 0};
			ok[c] += allow_s(k, name, t);
		}
		rg_sleep(200 * RG_MICROSECOND);
	}
	double max = 5 + 100.0 * (double)(t - t0) / 1e9 + 1;
	for (int c = 0; c < 3; c++) {
		CHECK_CMP(ok[c], >=, 5);
		CHECK_CMP(ok[c], <=, (int)max);
	}
	rg_keyed_limiter_free(k);
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
		cmocka_unit_test(test_matches_limiter),
		cmocka_unit_test(test_keys_by_content),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_realtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
