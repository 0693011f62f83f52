// SPDX-License-Identifier: MIT
/*
 * test_sync.c — Mutex, RWMutex, WaitGroup, Once and Cond, from
 * goroutines on several Ps and from foreign threads.
 *
 * Each case runs its scenario as the main goroutine (rgc_main).  cmocka's
 * assertions longjmp, which must not happen on a goroutine's stack, so
 * scenarios use rgcheck.h: CHECK in the main goroutine, GCHECK in other
 * goroutines and foreign threads, asserted once rg_main has returned.
 * White-box: reads rg__mutex_handoffs and holds a scheduler reference
 * while foreign threads run (rt.h), so that the deadlock detector does
 * not mistake "all goroutines wait for a foreign thread" for a deadlock.
 */
#include "helpers/rgcheck.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitq.h"

/* ---- scaffolding --------------------------------------------------- */

/* Runs scenario as the main goroutine on `procs` Ps; asserts it passed. */
static void run(const char *procs, int (*scenario)(void *), void *arg)
{
	rgt_env("RINGO_PROCS", procs);
	rgc_main(scenario, arg);
}

static void spin_for(int64_t ns)
{
	int64_t end = rg_now() + ns;
	while (rg_now() < end)
		;
}

/* Foreign threads: started from a goroutine, joined with the P
 * released; a scheduler reference covers their lifetime. */
static void threads_start(pthread_t *t, int n, void *(*fn)(void *), void *arg)
{
	rg__sched_ref();
	for (int i = 0; i < n; i++)
		GCHECK(pthread_create(&t[i], NULL, fn, arg) == 0);
}

static void threads_join(pthread_t *t, int n)
{
	rg_syscall_enter();
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	rg_syscall_exit();
	rg__sched_unref();
}

/* Expects fn, run in a child, to panic with `msg` and abort. */
static void expect_panic(int (*fn)(void *), const char *msg)
{
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(fn, NULL, 30, res), 0);
	if (!strstr(res->out, msg) || !res->signaled || res->sig != SIGABRT)
		fprintf(stderr, "child output:\n%s\n", res->out);
	assert_non_null(strstr(res->out, msg));
	assert_true(res->signaled);
	assert_int_equal(res->sig, SIGABRT);
	free(res);
}

/* ---- Mutex --------------------------------------------------------- */

#define COUNTER_ROUNDS 20000

struct counter {
	rg_mutex_t mu;
	long n;                /* guarded by mu; deliberately not atomic */
	rg_waitgroup_t wg;
};

static void counter_work(struct counter *c)
{
	for (int i = 0; i < COUNTER_ROUNDS; i++) {
		rg_mutex_lock(&c->mu);
		c->n++;
		rg_mutex_unlock(&c->mu);
	}
	rg_wg_done(&c->wg);
}

static void counter_goroutine(void *arg)
{
	counter_work(arg);
}

static void *counter_thread(void *arg)
{
	counter_work(arg);
	return NULL;
}

/* Eight goroutines on two Ps increment a plain counter under the mutex:
 * no increment is lost. */
static int scen_mutex_counter(void *arg)
{
	(void)arg;
	static struct counter c;
	memset(&c, 0, sizeof(c));
	rg_wg_add(&c.wg, 8);
	for (int i = 0; i < 8; i++)
		CHECK(rg_go(counter_goroutine, &c) == 0);
	rg_wg_wait(&c.wg);
	CHECK(c.n == 8L * COUNTER_ROUNDS);
	return 0;
}

static void test_mutex_counter(void **state)
{
	(void)state;
	run("2", scen_mutex_counter, NULL);
}

/* Goroutines and foreign threads share one mutex: still exact. */
static int scen_mutex_mixed(void *arg)
{
	(void)arg;
	static struct counter c;
	pthread_t t[4];
	memset(&c, 0, sizeof(c));
	rg_wg_add(&c.wg, 8);
	threads_start(t, 4, counter_thread, &c);
	for (int i = 0; i < 4; i++)
		CHECK(rg_go(counter_goroutine, &c) == 0);
	rg_wg_wait(&c.wg);
	threads_join(t, 4);
	CHECK(c.n == 8L * COUNTER_ROUNDS);
	return 0;
}

static void test_mutex_mixed_threads(void **state)
{
	(void)state;
	run("2", scen_mutex_mixed, NULL);
}

static void trylock_other(void *arg)
{
	struct counter *c = arg;
	GCHECK(!rg_mutex_trylock(&c->mu)); /* main holds it */
	rg_wg_done(&c->wg);
}

/* trylock takes a free mutex, fails on a held one (from any goroutine),
 * and a zero-initialised mutex is unlocked. */
static int scen_trylock(void *arg)
{
	(void)arg;
	struct counter c = {0};
	CHECK(rg_mutex_trylock(&c.mu));
	CHECK(!rg_mutex_trylock(&c.mu));
	rg_wg_add(&c.wg, 1);
	CHECK(rg_go(trylock_other, &c) == 0);
	rg_wg_wait(&c.wg);
	rg_mutex_unlock(&c.mu);
	CHECK(rg_mutex_trylock(&c.mu));
	rg_mutex_unlock(&c.mu);
	rg_mutex_lock(&c.mu);
	rg_mutex_unlock(&c.mu);
	return 0;
}

static void test_mutex_trylock(void **state)
{
	(void)state;
	run("2", scen_trylock, NULL);
}

static int unlock_unlocked_main(void *arg)
{
	(void)arg;
	rg_mutex_t mu = {0};
	rg_mutex_unlock(&mu);
	return 0;
}

static int unlock_unlocked_child(void *arg)
{
	(void)arg;
	return rg_main(unlock_unlocked_main, NULL);
}

/* Unlocking an unlocked mutex panics, as Go's fatal error does. */
static void test_mutex_unlock_unlocked_panics(void **state)
{
	(void)state;
	expect_panic(unlock_unlocked_child, "panic: sync: unlock of unlocked mutex");
}

/* Deterministic orderings on one P: no parallelism, so every step below
 * happens exactly where the comments say. */
static struct {
	rg_mutex_t mu;
	rg_waitgroup_t wg;
	int order[4], n;   /* mu */
} q1;

static void q1_waiter(void *arg)
{
	rg_mutex_lock(&q1.mu);
	q1.order[q1.n++] = (int)(intptr_t)arg;
	rg_mutex_unlock(&q1.mu);
	rg_wg_done(&q1.wg);
}

static void q1_spawn(int id)
{
	rg_wg_add(&q1.wg, 1);
	GCHECK(rg_go(q1_waiter, (void *)(intptr_t)id) == 0);
	rg_yield(); /* it runs and parks on the mutex (one P: no spinning) */
}

/* A waiter woken in normal mode that loses to a barging goroutine goes
 * back to the front of the queue, ahead of a later waiter. */
static int scen_woken_waiter_requeues_first(void *arg)
{
	(void)arg;
	memset(&q1, 0, sizeof(q1));
	rg_mutex_lock(&q1.mu);
	q1_spawn(1);
	q1_spawn(2);                /* queue: 1, 2 */
	rg_mutex_unlock(&q1.mu);    /* wakes 1 */
	rg_mutex_lock(&q1.mu);      /* but we take it first */
	rg_yield();                 /* 1 runs, loses, requeues: 1, 2 */
	CHECK(!(atomic_load(&q1.mu.state) & RG__MUTEX_STARVING));
	rg_mutex_unlock(&q1.mu);    /* wakes the head */
	rg_wg_wait(&q1.wg);
	CHECK(q1.n == 2 && q1.order[0] == 1 && q1.order[1] == 2);
	return 0;
}

static void test_mutex_woken_waiter_requeues_first(void **state)
{
	(void)state;
	run("1", scen_woken_waiter_requeues_first, NULL);
}

/* A waiter that has waited over 1 ms and loses again switches the mutex
 * to starvation mode: newcomers queue behind it, and unlock hands the
 * mutex to it directly (observed through the handoff counter and the
 * state word), until the last waiter switches back. */
static int scen_starvation(void *arg)
{
	(void)arg;
	memset(&q1, 0, sizeof(q1));
	rg_mutex_lock(&q1.mu);
	q1_spawn(1);
	spin_for(2 * RG_MILLISECOND);  /* 1 has waited > 1 ms */
	uint64_t before = atomic_load(&rg__mutex_handoffs);
	rg_mutex_unlock(&q1.mu);       /* normal mode: wakes 1 */
	rg_mutex_lock(&q1.mu);         /* we barge in */
	rg_yield();                    /* 1 loses, starving: mode switch */
	CHECK(atomic_load(&q1.mu.state) & RG__MUTEX_STARVING);
	q1_spawn(2);                   /* a newcomer queues, does not spin */
	CHECK(!rg_mutex_trylock(&q1.mu));
	rg_mutex_unlock(&q1.mu);       /* handoff to 1, then 1 hands to 2 */
	rg_wg_wait(&q1.wg);
	CHECK(q1.n == 2 && q1.order[0] == 1 && q1.order[1] == 2);
	CHECK(atomic_load(&rg__mutex_handoffs) - before == 2);
	/* The last waiter left starvation mode. */
	CHECK(atomic_load(&q1.mu.state) == 0);
	return 0;
}

static void test_mutex_starvation(void **state)
{
	(void)state;
	run("1", scen_starvation, NULL);
}

struct mstress {
	rg_mutex_t mu;
	rg_waitgroup_t wg;
	long n;                /* mu */
	_Atomic int inside;
};

/* Some critical sections outlast the 1 ms starvation threshold, so the
 * mutex keeps entering and leaving starvation mode while goroutines and
 * threads (which sleep on a futex) receive handoffs. */
static void mstress_work(struct mstress *s, unsigned seed)
{
	for (int i = 0; i < 300; i++) {
		seed = seed * 1103515245u + 12345u;
		rg_mutex_lock(&s->mu);
		GCHECK(atomic_fetch_add(&s->inside, 1) == 0);
		s->n++;
		if (seed % 97 == 0)
			spin_for(1500 * RG_MICROSECOND);
		else if (seed % 5 == 0)
			spin_for(20 * RG_MICROSECOND);
		atomic_fetch_sub(&s->inside, 1);
		rg_mutex_unlock(&s->mu);
		if (seed % 3 == 0)
			rg_yield();
	}
	rg_wg_done(&s->wg);
}

static void mstress_goroutine(void *arg)
{
	mstress_work(arg, (unsigned)rg_goid());
}

static void *mstress_thread(void *arg)
{
	mstress_work(arg, (unsigned)(uintptr_t)pthread_self());
	return NULL;
}

static int scen_mutex_stress(void *arg)
{
	(void)arg;
	static struct mstress s;
	pthread_t t[3];
	memset(&s, 0, sizeof(s));
	uint64_t before = atomic_load(&rg__mutex_handoffs);
	rg_wg_add(&s.wg, 6 + 3);
	threads_start(t, 3, mstress_thread, &s);
	for (int i = 0; i < 6; i++)
		CHECK(rg_go(mstress_goroutine, &s) == 0);
	rg_wg_wait(&s.wg);
	threads_join(t, 3);
	CHECK(s.n == 9 * 300);
	CHECK(atomic_load(&s.mu.state) == 0);
	if (atomic_load(&rg__mutex_handoffs) == before)
		fprintf(stderr, "note: no starvation-mode handoff happened\n");
	return 0;
}

static void test_mutex_stress_starvation(void **state)
{
	(void)state;
	run("3", scen_mutex_stress, NULL);
}

/* ---- RWMutex ------------------------------------------------------- */

#define RW_ROUNDS 3000

struct rwtest {
	rg_rwmutex_t rw;
	rg_waitgroup_t wg;
	_Atomic int readers, writers;   /* inside, as seen by the lock users */
	_Atomic int max_readers;
	long value;                     /* written under the write lock */
};

static void rw_read_once(struct rwtest *t, bool try)
{
	if (try) {
		if (!rg_rwmutex_tryrlock(&t->rw))
			return;
	} else {
		rg_rwmutex_rlock(&t->rw);
	}
	int r = atomic_fetch_add(&t->readers, 1) + 1;
	GCHECK(atomic_load(&t->writers) == 0);
	int m = atomic_load(&t->max_readers);
	while (r > m && !atomic_compare_exchange_weak(&t->max_readers, &m, r))
		;
	volatile long v = t->value; /* a read a writer must not overlap */
	(void)v;
	spin_for(2 * RG_MICROSECOND);  /* give other readers a chance to join */
	atomic_fetch_sub(&t->readers, 1);
	rg_rwmutex_runlock(&t->rw);
}

static void rw_write_once(struct rwtest *t, bool try)
{
	if (try) {
		if (!rg_rwmutex_trylock(&t->rw))
			return;
	} else {
		rg_rwmutex_lock(&t->rw);
	}
	GCHECK(atomic_fetch_add(&t->writers, 1) == 0);
	GCHECK(atomic_load(&t->readers) == 0);
	t->value++;
	GCHECK(atomic_load(&t->readers) == 0);
	atomic_fetch_sub(&t->writers, 1);
	rg_rwmutex_unlock(&t->rw);
}

static void rw_reader(void *arg)
{
	struct rwtest *t = arg;
	for (int i = 0; i < RW_ROUNDS; i++) {
		rw_read_once(t, i % 7 == 0);
		if (i % 64 == 0)
			rg_yield();
	}
	rg_wg_done(&t->wg);
}

static void rw_writer(void *arg)
{
	struct rwtest *t = arg;
	for (int i = 0; i < RW_ROUNDS / 4; i++)
		rw_write_once(t, i % 5 == 0);
	rg_wg_done(&t->wg);
}

static void *rw_reader_thread(void *arg)
{
	rw_reader(arg);
	return NULL;
}

static void *rw_writer_thread(void *arg)
{
	rw_writer(arg);
	return NULL;
}

/* Readers and writers (goroutines on four Ps and foreign threads)
 * hammer one RWMutex: a writer is never inside with anyone else, and
 * readers do overlap. */
static int scen_rw_invariants(void *arg)
{
	(void)arg;
	static struct rwtest t;
	pthread_t th[3];
	memset(&t, 0, sizeof(t));
	rg_wg_add(&t.wg, 6 + 2 + 3);
	threads_start(th, 2, rw_reader_thread, &t);
	threads_start(th + 2, 1, rw_writer_thread, &t);
	for (int i = 0; i < 6; i++)
		CHECK(rg_go(rw_reader, &t) == 0);
	for (int i = 0; i < 2; i++)
		CHECK(rg_go(rw_writer, &t) == 0);
	rg_wg_wait(&t.wg);
	threads_join(th, 2);
	threads_join(th + 2, 1);
	CHECK(atomic_load(&t.readers) == 0 && atomic_load(&t.writers) == 0);
	CHECK(t.value > 0);
	/* Overlap is likely, not certain, on a loaded machine: report. */
	if (atomic_load(&t.max_readers) < 2)
		fprintf(stderr, "note: readers never overlapped\n");
	/* Everything was released: both kinds of try succeed. */
	CHECK(rg_rwmutex_tryrlock(&t.rw));
	CHECK(rg_rwmutex_tryrlock(&t.rw));
	CHECK(!rg_rwmutex_trylock(&t.rw));
	rg_rwmutex_runlock(&t.rw);
	rg_rwmutex_runlock(&t.rw);
	CHECK(rg_rwmutex_trylock(&t.rw));
	CHECK(!rg_rwmutex_tryrlock(&t.rw));
	rg_rwmutex_unlock(&t.rw);
	return 0;
}

static void test_rwmutex_invariants(void **state)
{
	(void)state;
	run("4", scen_rw_invariants, NULL);
}

struct rwshare {
	rg_rwmutex_t rw;
	rg_waitgroup_t inside, done;
};

static void rws_share_reader(void *arg)
{
	struct rwshare *s = arg;
	rg_rwmutex_rlock(&s->rw);
	rg_wg_done(&s->inside);
	rg_wg_wait(&s->inside); /* every reader holds the lock at once */
	rg_rwmutex_runlock(&s->rw);
	rg_wg_done(&s->done);
}

/* Readers hold the lock together: three of them meet inside. */
static int scen_rw_readers_share(void *arg)
{
	(void)arg;
	static struct rwshare s;
	memset(&s, 0, sizeof(s));
	rg_rwmutex_rlock(&s.rw); /* and the main goroutine makes four */
	rg_wg_add(&s.inside, 3);
	rg_wg_add(&s.done, 3);
	for (int i = 0; i < 3; i++)
		CHECK(rg_go(rws_share_reader, &s) == 0);
	rg_wg_wait(&s.done);
	CHECK(!rg_rwmutex_trylock(&s.rw));
	rg_rwmutex_runlock(&s.rw);
	CHECK(rg_rwmutex_trylock(&s.rw));
	rg_rwmutex_unlock(&s.rw);
	return 0;
}

static void test_rwmutex_readers_share(void **state)
{
	(void)state;
	run("2", scen_rw_readers_share, NULL);
}

#define RWS_READERS 4

struct rwstarve {
	rg_rwmutex_t rw;
	rg_waitgroup_t wg;       /* readers and the watchdog */
	_Atomic int stop;
	_Atomic int reading;     /* readers inside now */
	_Atomic long acquired;   /* read locks taken so far */
	_Atomic int round_done;  /* the writer got in this round */
	rg_waitgroup_t observed; /* the round's observer returned */
	_Atomic long at_announce; /* `acquired` once the writer was seen
				     waiting; -1: not seen */
	_Atomic int starved;     /* the watchdog had to stop the readers */
};

/* Keeps the read lock held nearly all the time, overlapping with the
 * other readers, so that some reader is always inside. */
static void rws_reader(void *arg)
{
	struct rwstarve *s = arg;
	while (!atomic_load(&s->stop)) {
		rg_rwmutex_rlock(&s->rw);
		atomic_fetch_add(&s->acquired, 1);
		atomic_fetch_add(&s->reading, 1);
		rg_sleep(200 * RG_MICROSECOND);
		atomic_fetch_sub(&s->reading, 1);
		rg_rwmutex_runlock(&s->rw);
	}
	rg_wg_done(&s->wg);
}

/* Sees the writer waiting (reader_count < 0: it has announced itself)
 * and notes how many read locks had been taken by then. */
static void rws_observer(void *arg)
{
	struct rwstarve *s = arg;
	while (!atomic_load(&s->round_done)) {
		if (atomic_load(&s->rw.reader_count) < 0) {
			atomic_store(&s->at_announce, atomic_load(&s->acquired));
			break;
		}
		rg_yield();
	}
	rg_wg_done(&s->observed);
}

/* A writer that never gets in would wait for the readers to stop, which
 * nothing else makes them do: after RGT_NEVER_MS, stop them, and say so. */
static void rws_watchdog(void *arg)
{
	struct rwstarve *s = arg;
	int64_t deadline = rg_now() + RGT_NEVER_MS * RG_MILLISECOND;
	while (!atomic_load(&s->stop) && rg_now() < deadline)
		rg_sleep(RG_MILLISECOND);
	if (!atomic_load(&s->stop)) {
		atomic_store(&s->starved, 1);
		atomic_store(&s->stop, 1);
	}
	rg_wg_done(&s->wg);
}

/* A writer gets in although a stream of overlapping readers never
 * leaves the lock free: once it waits, new readers queue behind it.
 * Counted, not timed: between the moment the writer is seen waiting and
 * the moment it holds the lock, at most the readers already past their
 * rlock (one each) take a read lock; without writer preference they
 * would go on taking them as long as the writer waits. */
static int scen_rw_writer_not_starved(void *arg)
{
	(void)arg;
	static struct rwstarve s;
	memset(&s, 0, sizeof(s));
	rg_wg_add(&s.wg, RWS_READERS + 1);
	for (int i = 0; i < RWS_READERS; i++)
		CHECK(rg_go(rws_reader, &s) == 0);
	CHECK(rg_go(rws_watchdog, &s) == 0);
	while (atomic_load(&s.acquired) < 4 * RWS_READERS) /* the stream runs */
		rg_sleep(RG_MILLISECOND);
	int seen = 0;
	for (int round = 0; round < 20 && seen < 5; round++) {
		atomic_store(&s.round_done, 0);
		atomic_store(&s.at_announce, -1);
		rg_wg_add(&s.observed, 1);
		CHECK(rg_go(rws_observer, &s) == 0);
		rg_rwmutex_lock(&s.rw);
		long in_lock = atomic_load(&s.acquired);
		int inside = atomic_load(&s.reading);
		atomic_store(&s.round_done, 1);
		rg_rwmutex_unlock(&s.rw);
		CHECK(inside == 0);
		CHECK(!atomic_load(&s.starved));
		rg_wg_wait(&s.observed);
		long at = atomic_load(&s.at_announce);
		if (at >= 0) { /* -1: it missed the wait; no count this round */
			seen++;
			CHECK_CMP(in_lock - at, <=, RWS_READERS);
		}
		rg_sleep(2 * RG_MILLISECOND);
	}
	CHECK_CMP(seen, >, 0);
	atomic_store(&s.stop, 1);
	rg_wg_wait(&s.wg);
	CHECK(!atomic_load(&s.starved));
	return 0;
}

static void test_rwmutex_writer_not_starved(void **state)
{
	(void)state;
	run("2", scen_rw_writer_not_starved, NULL);
}

static int runlock_unlocked_main(void *arg)
{
	(void)arg;
	rg_rwmutex_t rw = {0};
	rg_rwmutex_runlock(&rw);
	return 0;
}

static int runlock_unlocked_child(void *arg)
{
	(void)arg;
	return rg_main(runlock_unlocked_main, NULL);
}

static int wunlock_unlocked_main(void *arg)
{
	(void)arg;
	rg_rwmutex_t rw = {0};
	rg_rwmutex_rlock(&rw);  /* read-locked is not write-locked */
	rg_rwmutex_unlock(&rw);
	return 0;
}

static int wunlock_unlocked_child(void *arg)
{
	(void)arg;
	return rg_main(wunlock_unlocked_main, NULL);
}

/* RUnlock and Unlock of an RWMutex not so locked panic, as in Go. */
static void test_rwmutex_misuse_panics(void **state)
{
	(void)state;
	expect_panic(runlock_unlocked_child, "panic: sync: RUnlock of unlocked RWMutex");
	expect_panic(wunlock_unlocked_child, "panic: sync: Unlock of unlocked RWMutex");
}

/* ---- WaitGroup ----------------------------------------------------- */

struct wgtest {
	rg_waitgroup_t wg;
	rg_waitgroup_t started;
	_Atomic int work;
	_Atomic int released;
	int round;
};

static void wg_worker(void *arg)
{
	struct wgtest *t = arg;
	rg_sleep((int64_t)(rg__fastrand() % 200) * RG_MICROSECOND);
	atomic_fetch_add_explicit(&t->work, 1, memory_order_relaxed);
	rg_wg_done(&t->wg);
}

/* Wait returns only after every Done, and sees the workers' writes. */
static int scen_wg_wait(void *arg)
{
	(void)arg;
	struct wgtest t = {0};
	rg_wg_wait(&t.wg); /* zero: returns at once */
	rg_wg_add(&t.wg, 50);
	for (int i = 0; i < 50; i++)
		CHECK(rg_go(wg_worker, &t) == 0);
	rg_wg_wait(&t.wg);
	CHECK(atomic_load_explicit(&t.work, memory_order_relaxed) == 50);
	return 0;
}

static void test_wg_wait(void **state)
{
	(void)state;
	run("2", scen_wg_wait, NULL);
}

/* One WaitGroup serves many rounds of Add/Done/Wait. */
static int scen_wg_reuse(void *arg)
{
	(void)arg;
	struct wgtest t = {0};
	for (int round = 1; round <= 100; round++) {
		int n = 1 + round % 7;
		rg_wg_add(&t.wg, n);
		for (int i = 0; i < n; i++)
			CHECK(rg_go(wg_worker, &t) == 0);
		rg_wg_wait(&t.wg);
		t.round += n;
		CHECK(atomic_load(&t.work) == t.round);
	}
	return 0;
}

static void test_wg_reuse(void **state)
{
	(void)state;
	run("2", scen_wg_reuse, NULL);
}

static void wg_waiter(void *arg)
{
	struct wgtest *t = arg;
	rg_wg_done(&t->started);
	rg_wg_wait(&t->wg);
	atomic_fetch_add(&t->released, 1);
	rg_wg_done(&t->started);
}

static void *wg_waiter_thread(void *arg)
{
	wg_waiter(arg);
	return NULL;
}

/* Many goroutines and foreign threads wait on one WaitGroup; the last
 * Done releases them all at once. */
static int scen_wg_many_waiters(void *arg)
{
	(void)arg;
	static struct wgtest t;
	pthread_t th[3];
	memset(&t, 0, sizeof(t));
	rg_wg_add(&t.wg, 2);
	rg_wg_add(&t.started, 20 + 3);
	threads_start(th, 3, wg_waiter_thread, &t);
	for (int i = 0; i < 20; i++)
		CHECK(rg_go(wg_waiter, &t) == 0);
	rg_wg_wait(&t.started);
	rg_sleep(5 * RG_MILLISECOND);
	CHECK(atomic_load(&t.released) == 0);
	rg_wg_add(&t.started, 20 + 3);
	rg_wg_done(&t.wg);
	rg_sleep(2 * RG_MILLISECOND);
	CHECK(atomic_load(&t.released) == 0); /* one Done to go */
	rg_wg_done(&t.wg);
	rg_wg_wait(&t.started);
	CHECK(atomic_load(&t.released) == 23);
	threads_join(th, 3);
	return 0;
}

static void test_wg_many_waiters(void **state)
{
	(void)state;
	run("2", scen_wg_many_waiters, NULL);
}

/*
 * Wait, then free (Go lets a goroutine drop a WaitGroup the moment Wait
 * returns; in C that is free).  Each round's WaitGroup is on the heap:
 * workers write plain data, then Done; the main goroutine waits, reads
 * the data and frees the block.  In odd rounds a second waiter queues
 * first, so that the last Done takes the locked path (it wakes a queue)
 * while the main goroutine may return from Wait's lock-free fast path.
 * Nothing of the runtime may touch the block once Wait has returned
 * (AddressSanitizer: use after free), and every worker's write happens
 * before Wait's return (ThreadSanitizer: the free and the reads race
 * with the workers' writes unless each Done's release reaches the
 * waiter, also through the Done that wakes it).
 */
#define WGF_ROUNDS 3000
#define WGF_WORKERS 3

struct wgfree {
	rg_waitgroup_t wg;
	_Atomic int next;
	int data[WGF_WORKERS];   /* plain: each worker's write */
};

static rg_waitgroup_t wgf_second;  /* the second waiters, all rounds */

static void wgf_worker(void *arg)
{
	struct wgfree *f = arg;
	int i = atomic_fetch_add_explicit(&f->next, 1, memory_order_relaxed);
	f->data[i] = i + 1;
	rg_wg_done(&f->wg);
}

static void wgf_waiter(void *arg)
{
	struct wgfree *f = arg;
	rg_wg_wait(&f->wg);   /* queued: touches nothing of f after this */
	rg_wg_done(&wgf_second);
}

static int scen_wg_free_after_wait(void *arg)
{
	(void)arg;
	memset(&wgf_second, 0, sizeof(wgf_second));
	for (int r = 0; r < WGF_ROUNDS; r++) {
		struct wgfree *f = calloc(1, sizeof(*f));
		CHECK(f != NULL);
		rg_wg_add(&f->wg, WGF_WORKERS);
		if (r & 1) {
			rg_wg_add(&wgf_second, 1);
			CHECK(rg_go(wgf_waiter, f) == 0);
			/* White-box: until it has counted itself a waiter. */
			while ((uint32_t)atomic_load(&f->wg.state) == 0)
				rg_yield();
		}
		for (int i = 0; i < WGF_WORKERS; i++)
			CHECK(rg_go(wgf_worker, f) == 0);
		if (r % 3 == 0)
			rg_yield();  /* let the workers finish first sometimes */
		rg_wg_wait(&f->wg);
		for (int i = 0; i < WGF_WORKERS; i++)
			CHECK(f->data[i] != 0);
		free(f);
	}
	rg_wg_wait(&wgf_second);
	return 0;
}

static void test_wg_free_after_wait(void **state)
{
	(void)state;
	run("2", scen_wg_free_after_wait, NULL);
}

static int wg_negative_main(void *arg)
{
	(void)arg;
	rg_waitgroup_t wg = {0};
	rg_wg_add(&wg, 1);
	rg_wg_done(&wg);
	rg_wg_done(&wg);
	return 0;
}

static int wg_negative_child(void *arg)
{
	(void)arg;
	return rg_main(wg_negative_main, NULL);
}

/* Taking the counter below zero panics. */
static void test_wg_negative_panics(void **state)
{
	(void)state;
	expect_panic(wg_negative_child, "panic: sync: negative WaitGroup counter");
}

/* ---- Once ---------------------------------------------------------- */

struct oncetest {
	rg_once_t once;
	rg_waitgroup_t wg;
	_Atomic int calls;
	int value;      /* written by the once function only */
};

static void once_init(void *arg)
{
	struct oncetest *t = arg;
	atomic_fetch_add(&t->calls, 1);
	rg_sleep(5 * RG_MILLISECOND); /* others must wait, not return */
	t->value = 42;
}

static void once_caller(void *arg)
{
	struct oncetest *t = arg;
	rg_once_do(&t->once, once_init, t);
	GCHECK(t->value == 42);
	rg_wg_done(&t->wg);
}

static void *once_thread(void *arg)
{
	once_caller(arg);
	return NULL;
}

/* Concurrent callers (goroutines and threads): the function runs
 * exactly once and every caller returns after it, seeing its effect. */
static int scen_once(void *arg)
{
	(void)arg;
	static struct oncetest t;
	pthread_t th[2];
	memset(&t, 0, sizeof(t));
	rg_wg_add(&t.wg, 16 + 2);
	threads_start(th, 2, once_thread, &t);
	for (int i = 0; i < 16; i++)
		CHECK(rg_go(once_caller, &t) == 0);
	rg_wg_wait(&t.wg);
	threads_join(th, 2);
	CHECK(atomic_load(&t.calls) == 1);
	rg_once_do(&t.once, once_init, &t);
	CHECK(atomic_load(&t.calls) == 1);
	return 0;
}

static void test_once(void **state)
{
	(void)state;
	run("2", scen_once, NULL);
}

/* ---- Cond ---------------------------------------------------------- */

struct condtest {
	rg_mutex_t mu;
	rg_cond_t cond;
	rg_waitgroup_t wg;
	int queue[64], qlen;   /* mu */
	int waiting;           /* mu: waiters that drew their ticket */
	int order[16], norder; /* mu */
	int go;                /* mu */
	long consumed;         /* mu */
};

static void cond_consumer(void *arg)
{
	struct condtest *t = arg;
	for (int k = 0; k < 100; k++) {
		rg_mutex_lock(&t->mu);
		while (t->qlen == 0)
			rg_cond_wait(&t->cond, &t->mu);
		t->consumed += t->queue[--t->qlen];
		rg_mutex_unlock(&t->mu);
	}
	rg_wg_done(&t->wg);
}

/* The seed's producer/consumer: Signal per item, consumers re-check in a
 * loop; every item is consumed exactly once. */
static int scen_cond_signal(void *arg)
{
	(void)arg;
	static struct condtest t;
	memset(&t, 0, sizeof(t));
	rg_wg_add(&t.wg, 4);
	for (int i = 0; i < 4; i++)
		CHECK(rg_go(cond_consumer, &t) == 0);
	long expect = 0;
	for (int i = 1; i <= 400; i++) {
		rg_mutex_lock(&t.mu);
		while (t.qlen == 64) { /* full: let consumers catch up */
			rg_mutex_unlock(&t.mu);
			rg_yield();
			rg_mutex_lock(&t.mu);
		}
		t.queue[t.qlen++] = i;
		expect += i;
		rg_cond_signal(&t.cond);
		rg_mutex_unlock(&t.mu);
	}
	rg_wg_wait(&t.wg);
	CHECK(t.consumed == expect);
	CHECK(t.qlen == 0);
	return 0;
}

static void test_cond_signal(void **state)
{
	(void)state;
	run("2", scen_cond_signal, NULL);
}

struct cond_waiter_arg {
	struct condtest *t;
	int id;
};

static void cond_ordered_waiter(void *arg)
{
	struct cond_waiter_arg *a = arg;
	struct condtest *t = a->t;
	rg_mutex_lock(&t->mu);
	t->waiting++;
	rg_cond_wait(&t->cond, &t->mu);
	t->order[t->norder++] = a->id;
	rg_mutex_unlock(&t->mu);
	rg_wg_done(&t->wg);
}

/* Signal wakes waiters one at a time in the order they began to wait. */
static int scen_cond_fifo(void *arg)
{
	(void)arg;
	static struct condtest t;
	static struct cond_waiter_arg args[8];
	memset(&t, 0, sizeof(t));
	rg_wg_add(&t.wg, 8);
	for (int i = 0; i < 8; i++) {
		args[i] = (struct cond_waiter_arg){&t, i};
		CHECK(rg_go(cond_ordered_waiter, &args[i]) == 0);
		/* Once we hold mu and see it counted, waiter i has its
		 * ticket (it draws it before releasing mu). */
		for (;;) {
			rg_mutex_lock(&t.mu);
			int w = t.waiting;
			rg_mutex_unlock(&t.mu);
			if (w == i + 1)
				break;
			rg_yield();
		}
	}
	for (int i = 0; i < 8; i++) {
		rg_cond_signal(&t.cond);
		for (;;) {
			rg_mutex_lock(&t.mu);
			int n = t.norder;
			rg_mutex_unlock(&t.mu);
			if (n == i + 1)
				break;
			rg_yield();
		}
	}
	rg_wg_wait(&t.wg);
	for (int i = 0; i < 8; i++)
		CHECK(t.order[i] == i);
	return 0;
}

static void test_cond_fifo(void **state)
{
	(void)state;
	run("2", scen_cond_fifo, NULL);
}

static void cond_flag_waiter(void *arg)
{
	struct condtest *t = arg;
	rg_mutex_lock(&t->mu);
	t->waiting++;
	while (!t->go)
		rg_cond_wait(&t->cond, &t->mu);
	t->norder++;
	rg_mutex_unlock(&t->mu);
	rg_wg_done(&t->wg);
}

static void *cond_flag_thread(void *arg)
{
	cond_flag_waiter(arg);
	return NULL;
}

/* Broadcast wakes every waiter, goroutines and threads; a signal with
 * nobody waiting is not remembered. */
static int scen_cond_broadcast(void *arg)
{
	(void)arg;
	static struct condtest t;
	pthread_t th[2];
	memset(&t, 0, sizeof(t));
	rg_cond_signal(&t.cond);     /* nobody waits: a no-op */
	rg_cond_broadcast(&t.cond);
	rg_wg_add(&t.wg, 10 + 2);
	threads_start(th, 2, cond_flag_thread, &t);
	for (int i = 0; i < 10; i++)
		CHECK(rg_go(cond_flag_waiter, &t) == 0);
	for (;;) {
		rg_mutex_lock(&t.mu);
		int w = t.waiting;
		rg_mutex_unlock(&t.mu);
		if (w == 12)
			break;
		rg_sleep(RG_MILLISECOND);
	}
	rg_mutex_lock(&t.mu);
	t.go = 1;
	rg_cond_broadcast(&t.cond);
	rg_mutex_unlock(&t.mu);
	rg_wg_wait(&t.wg);
	threads_join(th, 2);
	CHECK(t.norder == 12);
	return 0;
}

static void test_cond_broadcast(void **state)
{
	(void)state;
	run("2", scen_cond_broadcast, NULL);
}

/* ---- atomics ------------------------------------------------------- */

static _Atomic int64_t atomic_ops;
static rg_waitgroup_t atomic_wg;

static void atomic_adder(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10000; i++)
		atomic_fetch_add_explicit(&atomic_ops, 1, memory_order_relaxed);
	rg_wg_done(&atomic_wg);
}

/* C11 atomics are sync/atomic: concurrent adds on several Ps are exact,
 * and CAS behaves as Go's CompareAndSwap. */
static int scen_atomics(void *arg)
{
	(void)arg;
	atomic_store(&atomic_ops, 0);
	rg_wg_add(&atomic_wg, 8);
	for (int i = 0; i < 8; i++)
		CHECK(rg_go(atomic_adder, NULL) == 0);
	rg_wg_wait(&atomic_wg);
	CHECK(atomic_load(&atomic_ops) == 80000);
	int64_t old = 80000;
	CHECK(atomic_compare_exchange_strong(&atomic_ops, &old, 1));
	CHECK(!atomic_compare_exchange_strong(&atomic_ops, &old, 2) && old == 1);
	CHECK(atomic_exchange(&atomic_ops, 99) == 1);
	return 0;
}

static void test_atomics(void **state)
{
	(void)state;
	run("2", scen_atomics, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutex_counter),
		cmocka_unit_test(test_mutex_mixed_threads),
		cmocka_unit_test(test_mutex_trylock),
		cmocka_unit_test(test_mutex_unlock_unlocked_panics),
		cmocka_unit_test(test_mutex_woken_waiter_requeues_first),
		cmocka_unit_test(test_mutex_starvation),
		cmocka_unit_test(test_mutex_stress_starvation),
		cmocka_unit_test(test_rwmutex_invariants),
		cmocka_unit_test(test_rwmutex_readers_share),
		cmocka_unit_test(test_rwmutex_writer_not_starved),
		cmocka_unit_test(test_rwmutex_misuse_panics),
		cmocka_unit_test(test_wg_wait),
		cmocka_unit_test(test_wg_reuse),
		cmocka_unit_test(test_wg_many_waiters),
		cmocka_unit_test(test_wg_free_after_wait),
		cmocka_unit_test(test_wg_negative_panics),
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_cond_signal),
		cmocka_unit_test(test_cond_fifo),
		cmocka_unit_test(test_cond_broadcast),
		cmocka_unit_test(test_atomics),
	};
	if (getenv("RGT_FILTER")) /* e.g. RGT_FILTER='*rwmutex*' */
		cmocka_set_test_filter(getenv("RGT_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
