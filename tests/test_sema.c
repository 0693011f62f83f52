// SPDX-License-Identifier: MIT
/*
 * test_sema.c — the weighted semaphore (x/sync's semaphore.Weighted):
 * weights, FIFO service that does not starve a large waiter, contexts
 * that end a wait (and let those behind through), acquires larger than
 * the size, the panics, foreign threads, and a stress run that checks
 * the bound is never exceeded.
 *
 * White-box: the number of queued waiters is read from the public
 * struct's queue under its lock (waitq.h), so tests wait for "queued"
 * as an event instead of sleeping.
 */
#include "helpers/rgcheck.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitq.h"

#define MS RG_MILLISECOND

static void run(const char *procs, int (*scenario)(void *), void *arg)
{
	rgt_env("RINGO_PROCS", procs);
	rgc_main(scenario, arg);
}

static int queued(rg_sema_t *s)
{
	rg__lock_t *l = rg__qlock(&s->qlock);
	int n = 0;
	rg__lock(l);
	for (rg__wnode_t *w = rg__waitq_first(&s->q); w; w = rg__wnode_next(w))
		n++;
	rg__unlock(l);
	return n;
}

/* Waits until n acquirers are queued on s (false after 10 s). */
static bool wait_queued(rg_sema_t *s, int n)
{
	for (int i = 0; i < 10000; i++) {
		if (queued(s) >= n)
			return true;
		rg_sleep(MS);
	}
	return false;
}

/* ---- basics -------------------------------------------------------- */

/* Weights add up: acquires that fit succeed at once, TryAcquire fails
 * when the weight is not free, releases make it free again. */
static int scen_basics(void *arg)
{
	(void)arg;
	static rg_sema_t s;
	rg_sema_init(&s, 10);
	CHECK(rg_sema_try_acquire(&s, 4));
	CHECK(rg_sema_acquire(&s, 6, NULL) == 0);
	CHECK(!rg_sema_try_acquire(&s, 1));
	rg_sema_release(&s, 4);
	CHECK(!rg_sema_try_acquire(&s, 5));
	CHECK(rg_sema_try_acquire(&s, 4));
	rg_sema_release(&s, 10);
	CHECK(rg_sema_try_acquire(&s, 10));
	rg_sema_release(&s, 10);

	/* Bad weights: -EINVAL / false. */
	CHECK(rg_sema_acquire(&s, 0, NULL) == -EINVAL);
	CHECK(rg_sema_acquire(&s, -3, NULL) == -EINVAL);
	CHECK(!rg_sema_try_acquire(&s, 0));

	/* Size 0: nothing can ever be taken. */
	static rg_sema_t z;
	rg_sema_init(&z, 0);
	CHECK(!rg_sema_try_acquire(&z, 1));
	return 0;
}

static void test_basics(void **state)
{
	(void)state;
	run("2", scen_basics, NULL);
}

/* ---- FIFO ---------------------------------------------------------- */

struct acq {
	rg_sema_t *s;
	int64_t n;
	int id;
	rg_ctx_t *ctx;
	int rc;
	rg_chan_t *done;   /* receives id when the acquire returned */
};

/* a->ctx, if any, carries a reference for this goroutine (the
 * starter's rg_ctx_retain), released here. */
static void acquirer(void *arg)
{
	struct acq *a = arg;
	a->rc = rg_sema_acquire(a->s, a->n, a->ctx);
	rg_ctx_release(a->ctx);
	rg_chan_send(a->done, &a->id);
}

/*
 * A large waiter queued first is served first: small acquirers that come
 * later wait behind it even while their weight is free, so a stream of
 * readers cannot starve a writer-sized acquire (x/sync's example).
 */
static int scen_fifo(void *arg)
{
	(void)arg;
	static rg_sema_t s;
	rg_sema_init(&s, 10);
	rg_chan_t *done = RG_CHAN(int, 16);
	CHECK(rg_sema_acquire(&s, 9, NULL) == 0);  /* one unit free */

	struct acq big = {.s = &s, .n = 10, .id = 100, .done = done};
	rg_go(acquirer, &big);
	CHECK(wait_queued(&s, 1));
	/* The free unit stays free for the big one. */
	CHECK(!rg_sema_try_acquire(&s, 1));
	struct acq small[4];
	for (int i = 0; i < 4; i++) {
		small[i] = (struct acq){.s = &s, .n = 1, .id = i, .done = done};
		rg_go(acquirer, &small[i]);
		CHECK(wait_queued(&s, 2 + i));
	}
	rg_sema_release(&s, 9);          /* now all 10 are free: big first */
	int id;
	CHECK(rg_chan_recv(done, &id) && id == 100);
	CHECK(big.rc == 0);
	CHECK(queued(&s) == 4);
	rg_sema_release(&s, 10);          /* the small ones, in order */
	for (int i = 0; i < 4; i++) {
		CHECK(rg_chan_recv(done, &id));
		CHECK(small[id].rc == 0);
	}
	rg_sema_release(&s, 4);
	CHECK(rg_sema_try_acquire(&s, 10));
	rg_chan_free(done);
	return 0;
}

static void test_fifo(void **state)
{
	(void)state;
	run("2", scen_fifo, NULL);
}

/* A release grants waiters from the head while they fit, and stops at
 * the first that does not (it does not skip ahead to smaller ones). */
static int scen_grant_order(void *arg)
{
	(void)arg;
	static rg_sema_t s;
	rg_sema_init(&s, 6);
	rg_chan_t *done = RG_CHAN(int, 8);
	CHECK(rg_sema_acquire(&s, 6, NULL) == 0);
	int64_t w[] = {2, 3, 4, 1};
	struct acq a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct acq){.s = &s, .n = w[i], .id = i, .done = done};
		rg_go(acquirer, &a[i]);
		CHECK(wait_queued(&s, i + 1));
	}
	rg_sema_release(&s, 6);  /* 2 and 3 fit; 4 does not; 1 must wait */
	int id, got = 0;
	CHECK(rg_chan_recv(done, &id));
	got |= 1 << id;
	CHECK(rg_chan_recv(done, &id));
	got |= 1 << id;
	CHECK(got == 3);
	CHECK(queued(&s) == 2);
	rg_sema_release(&s, 5);  /* 4 and then 1 */
	CHECK(rg_chan_recv(done, &id));
	CHECK(rg_chan_recv(done, &id));
	rg_sema_release(&s, 5);
	CHECK(rg_sema_try_acquire(&s, 6));
	rg_chan_free(done);
	return 0;
}

static void test_grant_order(void **state)
{
	(void)state;
	run("2", scen_grant_order, NULL);
}

/* ---- contexts ------------------------------------------------------ */

/* A waiter whose context ends gives up with its error and leaves the
 * semaphore unchanged; if it was at the head, the waiters behind it that
 * fit now get through. */
static int scen_ctx(void *arg)
{
	(void)arg;
	static rg_sema_t s;
	rg_sema_init(&s, 10);
	rg_chan_t *done = RG_CHAN(int, 8);
	CHECK(rg_sema_acquire(&s, 5, NULL) == 0);   /* 5 free */

	rg_ctx_t *c = rg_ctx_with_cancel(NULL);
	struct acq big = {.s = &s, .n = 8, .id = 1, .ctx = rg_ctx_retain(c), .done = done};
	struct acq small = {.s = &s, .n = 3, .id = 2, .done = done};
	rg_go(acquirer, &big);
	CHECK(wait_queued(&s, 1));
	rg_go(acquirer, &small);
	CHECK(wait_queued(&s, 2));
	rg_ctx_cancel(c);                            /* big leaves the head */
	rg_ctx_release(c);
	/* The canceller wakes both (big with its error, small granted):
	 * their reports may come in either order.  Wait for both before
	 * checking, so that no goroutine outlives this frame. */
	int id, seen = 0;
	CHECK(rg_chan_recv(done, &id));
	seen |= 1 << id;
	CHECK(rg_chan_recv(done, &id));
	seen |= 1 << id;
	CHECK(seen == 6);
	CHECK(big.rc == -ECANCELED && small.rc == 0);
	rg_sema_release(&s, 8);
	CHECK(rg_sema_try_acquire(&s, 10));
	rg_sema_release(&s, 10);

	/* A deadline: -ETIMEDOUT. */
	CHECK(rg_sema_acquire(&s, 10, NULL) == 0);
	rg_ctx_t *t = rg_ctx_with_timeout(NULL, 5 * MS);
	CHECK(rg_sema_acquire(&s, 1, t) == -ETIMEDOUT);
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	CHECK(queued(&s) == 0);

	/* Ended already but weight free: succeeds, as in Go. */
	rg_sema_release(&s, 10);
	rg_ctx_t *gone = rg_ctx_with_cancel(NULL);
	rg_ctx_cancel(gone);
	CHECK(rg_sema_acquire(&s, 4, gone) == 0);
	/* Ended already, weight not free: the error at once. */
	CHECK(rg_sema_acquire(&s, 7, gone) == -ECANCELED);
	rg_ctx_release(gone);
	rg_sema_release(&s, 4);
	rg_chan_free(done);
	return 0;
}

static void test_ctx(void **state)
{
	(void)state;
	run("2", scen_ctx, NULL);
}

/* More than the size can never be granted: the call waits for its
 * context, without holding up the others. */
static int scen_oversize(void *arg)
{
	(void)arg;
	static rg_sema_t s;
	rg_sema_init(&s, 3);
	rg_chan_t *done = RG_CHAN(int, 2);
	rg_ctx_t *c = rg_ctx_with_cancel(NULL);
	struct acq huge = {.s = &s, .n = 4, .id = 7, .ctx = rg_ctx_retain(c), .done = done};
	rg_go(acquirer, &huge);
	rg_yield();
	CHECK(queued(&s) == 0);
	CHECK(rg_sema_acquire(&s, 3, NULL) == 0);   /* others go on */
	rg_sema_release(&s, 3);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	int id;
	CHECK(rg_chan_recv(done, &id) && id == 7 && huge.rc == -ECANCELED);
	rg_ctx_t *t = rg_ctx_with_timeout(NULL, 2 * MS);
	CHECK(rg_sema_acquire(&s, 100, t) == -ETIMEDOUT);
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	rg_chan_free(done);
	return 0;
}

static void test_oversize(void **state)
{
	(void)state;
	run("2", scen_oversize, NULL);
}

/* ---- panics -------------------------------------------------------- */

static int over_release_main(void *arg)
{
	(void)arg;
	static rg_sema_t s;
	rg_sema_init(&s, 2);
	CHECK(rg_sema_acquire(&s, 1, NULL) == 0);
	rg_sema_release(&s, 2);
	return 0;
}

static int over_release_waiters_main(void *arg)
{
	(void)arg;
	static rg_sema_t s;
	static struct acq a;
	rg_sema_init(&s, 2);
	CHECK(rg_sema_acquire(&s, 2, NULL) == 0);
	a = (struct acq){.s = &s, .n = 2, .done = RG_CHAN(int, 1)};
	rg_go(acquirer, &a);
	CHECK(wait_queued(&s, 1));
	rg_sema_release(&s, 3);  /* the slow path checks too */
	return 0;
}

static int release_zero_main(void *arg)
{
	(void)arg;
	static rg_sema_t s;
	rg_sema_init(&s, 2);
	rg_sema_release(&s, 0);
	return 0;
}

static int init_negative_main(void *arg)
{
	(void)arg;
	static rg_sema_t s;
	rg_sema_init(&s, -1);
	return 0;
}

/* Releasing more than is held panics (fast and slow paths); so do a
 * non-positive release and a bad size. */
static void test_panics(void **state)
{
	(void)state;
	rgt_expect_panic(over_release_main, "panic: semaphore: released more than held");
	rgt_expect_panic(over_release_waiters_main, "panic: semaphore: released more than held");
	rgt_expect_panic(release_zero_main, "panic: semaphore: release of a non-positive weight");
	rgt_expect_panic(init_negative_main, "panic: semaphore: size -1 out of range");
}

/* ---- stress -------------------------------------------------------- */

static rg_sema_t st_sem;
static _Atomic int64_t st_held, st_max;
static rg_waitgroup_t st_wg;
#define ST_SIZE 6
#define ST_ROUNDS 3000

static void st_body(uint32_t seed)
{
	for (int i = 0; i < ST_ROUNDS; i++) {
		seed = seed * 1103515245 + 12345;
		int64_t n = 1 + (seed >> 16) % 4;
		bool got;
		if ((seed >> 8) % 5 == 0) {
			got = rg_sema_try_acquire(&st_sem, n);
		} else {
			rg_ctx_t *c = NULL;
			if ((seed >> 10) % 7 == 0)
				c = rg_ctx_with_timeout(NULL, 20 * RG_MICROSECOND);
			got = rg_sema_acquire(&st_sem, n, c) == 0;
			rg_ctx_cancel(c);
			rg_ctx_release(c);
		}
		if (!got)
			continue;
		int64_t h = atomic_fetch_add(&st_held, n) + n;
		GCHECK(h <= ST_SIZE);
		int64_t m = atomic_load(&st_max);
		while (h > m && !atomic_compare_exchange_weak(&st_max, &m, h))
			;
		if (i % 3 == 0)
			rg_yield();
		atomic_fetch_sub(&st_held, n);
		rg_sema_release(&st_sem, n);
	}
}

static void st_goroutine(void *arg)
{
	st_body((uint32_t)(uintptr_t)arg);
	rg_wg_done(&st_wg);
}

static void *st_thread(void *arg)
{
	st_body((uint32_t)(uintptr_t)arg);
	rg_wg_done(&st_wg);
	return NULL;
}

/* Goroutines and foreign threads hammer one semaphore with mixed weights,
 * try-acquires and short deadlines: the weight held never exceeds the
 * size, and all of it is free at the end. */
static void test_stress(void **state)
{
	(void)state;
	assert_int_equal(rg_init(NULL), 0);
	rg_sema_init(&st_sem, ST_SIZE);
	pthread_t th[2];
	rg_wg_add(&st_wg, 8);
	for (int i = 0; i < 6; i++)
		assert_int_equal(rg_go(st_goroutine, (void *)(uintptr_t)(i + 1)), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, st_thread,
						(void *)(uintptr_t)(100 + i)), 0);
	rg_wg_wait(&st_wg);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_true(rg_sema_try_acquire(&st_sem, ST_SIZE));
	assert_true(atomic_load(&st_max) <= ST_SIZE && atomic_load(&st_max) > 1);
	rg_shutdown();
	rgc_assert_clean();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basics),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_grant_order),
		cmocka_unit_test(test_ctx),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_panics),
		cmocka_unit_test(test_stress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
