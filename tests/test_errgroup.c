// SPDX-License-Identifier: MIT
/*
 * test_errgroup.c — x/sync's errgroup: every function runs in its own
 * goroutine, Wait returns the first error, which cancels the group's
 * context (as does Wait itself), SetLimit bounds the functions running
 * at once, TryGo, the SetLimit panic, nesting and foreign threads.
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

static _Atomic int ran;
static _Atomic int64_t main_goid;

static int count_fn(rg_ctx_t *ctx, void *arg)
{
	(void)arg;
	GCHECK(rg_ctx_err(ctx) == 0);
	GCHECK(rg_goid() != atomic_load(&main_goid));
	atomic_fetch_add(&ran, 1);
	return 0;
}

static int plain_fn(rg_ctx_t *ctx, void *arg)
{
	(void)arg;
	GCHECK(rg_ctx_err(ctx) == -ECANCELED);
	atomic_fetch_add(&ran, 1);
	return 0;
}

/* All succeed: Wait returns 0 after every function ran, each on its own
 * goroutine; the group's context is cancelled once Wait returns. */
static int scen_all_ok(void *arg)
{
	(void)arg;
	atomic_store(&ran, 0);
	atomic_store(&main_goid, rg_goid());
	rg_group_t *g = rg_group_new(NULL);
	CHECK(g != NULL);
	rg_ctx_t *ctx = rg_group_ctx(g);
	for (int i = 0; i < 100; i++)
		rg_group_go(g, count_fn, NULL);
	CHECK(rg_group_wait(g) == 0);
	CHECK(atomic_load(&ran) == 100);
	CHECK(rg_ctx_err(ctx) == -ECANCELED);  /* Wait cancels it */
	/* Reusable after Wait, as in Go (its context stays cancelled). */
	rg_group_go(g, plain_fn, NULL);
	CHECK(rg_group_wait(g) == 0);
	CHECK(atomic_load(&ran) == 101);
	rg_group_free(g);
	rg_group_free(NULL);
	return 0;
}

static void test_all_ok(void **state)
{
	(void)state;
	run("2", scen_all_ok, NULL);
}

static int fail_fn(rg_ctx_t *ctx, void *arg)
{
	(void)ctx;
	return (int)(intptr_t)arg;
}

/* Waits for the group's cancellation, then reports it. */
static int wait_cancel_fn(rg_ctx_t *ctx, void *arg)
{
	(void)arg;
	rg_chan_recv(rg_ctx_done(ctx), NULL);
	return rg_ctx_err(ctx);
}

/* The first failure cancels the context: functions waiting on it return
 * (with -ECANCELED, a later error that Wait does not report); Wait
 * returns the first. */
static int scen_first_error(void *arg)
{
	(void)arg;
	rg_group_t *g = rg_group_new(rg_ctx_background());
	for (int i = 0; i < 10; i++)
		rg_group_go(g, wait_cancel_fn, NULL);
	rg_group_go(g, fail_fn, (void *)(intptr_t)-EIO);
	CHECK(rg_group_wait(g) == -EIO);
	CHECK(rg_ctx_err(rg_group_ctx(g)) == -ECANCELED);
	rg_group_free(g);
	return 0;
}

static void test_first_error(void **state)
{
	(void)state;
	run("2", scen_first_error, NULL);
}

/* The parent's cancellation reaches the group's context. */
static int scen_parent_cancel(void *arg)
{
	(void)arg;
	rg_ctx_t *parent = rg_ctx_with_cancel(NULL);
	rg_group_t *g = rg_group_new(parent);
	for (int i = 0; i < 4; i++)
		rg_group_go(g, wait_cancel_fn, NULL);
	rg_ctx_cancel(parent);
	rg_ctx_release(parent);
	CHECK(rg_group_wait(g) == -ECANCELED);
	rg_group_free(g);
	return 0;
}

static void test_parent_cancel(void **state)
{
	(void)state;
	run("2", scen_parent_cancel, NULL);
}

static _Atomic int running, peak;

static int limited_fn(rg_ctx_t *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	int r = atomic_fetch_add(&running, 1) + 1;
	int p = atomic_load(&peak);
	while (r > p && !atomic_compare_exchange_weak(&peak, &p, r))
		;
	rg_sleep(200 * RG_MICROSECOND);
	atomic_fetch_sub(&running, 1);
	return 0;
}

/* SetLimit(3): never more than 3 functions at once (and 3 do run at
 * once: Go waits for a slot, it does not serialise). */
static int scen_limit(void *arg)
{
	(void)arg;
	atomic_store(&running, 0);
	atomic_store(&peak, 0);
	rg_group_t *g = rg_group_new(NULL);
	rg_group_set_limit(g, 3);
	for (int i = 0; i < 40; i++)
		rg_group_go(g, limited_fn, NULL);
	CHECK(rg_group_wait(g) == 0);
	CHECK_CMP(atomic_load(&peak), <=, 3);
	CHECK_CMP(atomic_load(&peak), >=, 2);
	/* Limits can change between rounds; -1 removes it. */
	rg_group_set_limit(g, -1);
	atomic_store(&peak, 0);
	for (int i = 0; i < 10; i++)
		rg_group_go(g, limited_fn, NULL);
	CHECK(rg_group_wait(g) == 0);
	rg_group_free(g);
	return 0;
}

static void test_limit(void **state)
{
	(void)state;
	run("2", scen_limit, NULL);
}

static int block_fn(rg_ctx_t *ctx, void *arg)
{
	(void)ctx;
	rg_chan_recv(arg, NULL);
	return 0;
}

/* TryGo starts a function only while below the limit. */
static int scen_try_go(void *arg)
{
	(void)arg;
	rg_chan_t *gate = rg_chan_make(0, 0);
	rg_group_t *g = rg_group_new(NULL);
	rg_group_set_limit(g, 1);
	CHECK(rg_group_try_go(g, block_fn, gate));
	CHECK(!rg_group_try_go(g, block_fn, gate));
	rg_chan_close(gate);
	CHECK(rg_group_wait(g) == 0);
	CHECK(rg_group_try_go(g, block_fn, gate));  /* a slot is free again */
	CHECK(rg_group_wait(g) == 0);
	rg_group_set_limit(g, 0);
	CHECK(!rg_group_try_go(g, block_fn, gate));
	rg_group_free(g);
	rg_chan_free(gate);
	return 0;
}

static void test_try_go(void **state)
{
	(void)state;
	run("2", scen_try_go, NULL);
}

static int nested_fn(rg_ctx_t *ctx, void *arg)
{
	(void)ctx;
	rg_group_t *g = arg;
	for (int i = 0; i < 5; i++)
		rg_group_go(g, count_fn, NULL);
	return 0;
}

/* A function may start more functions; Wait covers them all. */
static int scen_nested(void *arg)
{
	(void)arg;
	atomic_store(&ran, 0);
	atomic_store(&main_goid, rg_goid());
	rg_group_t *g = rg_group_new(NULL);
	for (int i = 0; i < 4; i++)
		rg_group_go(g, nested_fn, g);
	CHECK(rg_group_wait(g) == 0);
	CHECK(atomic_load(&ran) == 20);
	rg_group_free(g);
	return 0;
}

static void test_nested(void **state)
{
	(void)state;
	run("2", scen_nested, NULL);
}

/* ---- panics -------------------------------------------------------- */

static int set_limit_running_main(void *arg)
{
	(void)arg;
	rg_chan_t *gate = rg_chan_make(0, 0);
	rg_group_t *g = rg_group_new(NULL);
	rg_group_set_limit(g, 2);
	rg_group_go(g, block_fn, gate);
	rg_group_set_limit(g, 5);
	return 0;
}

static int go_nil_main(void *arg)
{
	(void)arg;
	rg_group_go(rg_group_new(NULL), NULL, NULL);
	return 0;
}

static int free_running_main(void *arg)
{
	(void)arg;
	rg_chan_t *gate = rg_chan_make(0, 0);
	rg_group_t *g = rg_group_new(NULL);
	rg_group_go(g, block_fn, gate);
	rg_group_free(g);
	return 0;
}

/* SetLimit while functions run panics, as in Go; so do a nil function
 * and freeing a group that still runs. */
static void test_panics(void **state)
{
	(void)state;
	rgt_expect_panic(set_limit_running_main,
		     "panic: errgroup: modify limit while 1 goroutines in the group are still active");
	rgt_expect_panic(go_nil_main, "panic: rg_group_go: nil function");
	rgt_expect_panic(free_running_main, "panic: rg_group_free while 1 functions");
}

/* ---- foreign threads ----------------------------------------------- */

static void *foreign(void *arg)
{
	(void)arg;
	rg_group_t *g = rg_group_new(NULL);
	rg_group_set_limit(g, 2);
	for (int i = 0; i < 50; i++)
		rg_group_go(g, limited_fn, NULL);
	rg_group_go(g, fail_fn, (void *)(intptr_t)-EPERM);
	GCHECK(rg_group_wait(g) == -EPERM);
	rg_group_free(g);
	return NULL;
}

/* A host thread runs a limited group; its Go calls wait on the futex. */
static void test_foreign(void **state)
{
	(void)state;
	atomic_store(&peak, 0);
	assert_int_equal(rg_init(NULL), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, foreign, NULL), 0);
	pthread_join(th, NULL);
	rg_shutdown();
	rgc_assert_clean();
	assert_true(atomic_load(&peak) <= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_ok),
		cmocka_unit_test(test_first_error),
		cmocka_unit_test(test_parent_cancel),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_try_go),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_panics),
		cmocka_unit_test(test_foreign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
