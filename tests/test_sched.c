// SPDX-License-Identifier: MIT
/*
 * The scheduler: spawning, yielding, sleeping, several Ms, foreign
 * threads and embedding, ids, rg_exit, rg_main's result, counters,
 * syscall hand-off, argument errors, and the legacy futex path.
 *
 * Every scenario runs as a main goroutine; goroutine code records failed
 * checks (helpers/rgcheck.h) and the test asserts once rg_main returned.
 * Waiting uses C11 atomics polled with rg_sleep/rg_yield only.
 */
#include "helpers/rgcheck.h"
#include "helpers/rgtest.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

#define MS RG_MILLISECOND

/* ---- 100k goroutines ------------------------------------------------ */

#define SPAWN_N RGT_LIVE(100000)
static _Atomic long spawn_done;
static _Atomic long long spawn_sum;

static void spawn_add(void *arg)
{
	atomic_fetch_add(&spawn_sum, (long long)(uintptr_t)arg);
	atomic_fetch_add(&spawn_done, 1);
}

static int spawn_main(void *arg)
{
	(void)arg;
	atomic_store(&spawn_done, 0);
	atomic_store(&spawn_sum, 0);
	for (long i = 1; i <= SPAWN_N; i++)
		CHECK_CMP(rg_go(spawn_add, (void *)(uintptr_t)i), ==, 0);
	CHECK(rgc_wait_ge(&spawn_done, SPAWN_N, 30000));
	CHECK_CMP(atomic_load(&spawn_sum), ==, (long long)SPAWN_N * (SPAWN_N + 1) / 2);
	/* Every one of them has exited: only main is left. */
	int64_t give_up = rg_now() + RGT_NEVER_MS * MS;
	while (rg_num_goroutines() != 1 && rg_now() < give_up)
		rg_sleep(MS);
	CHECK_CMP(rg_num_goroutines(), ==, 1);
	return 0;
}

/* 100k goroutines each add their argument to a counter: the sum is exact. */
static void test_spawn_100k(void **state)
{
	(void)state;
	rgc_main(spawn_main, NULL);
}

/* ---- yields interleave ---------------------------------------------- */

#define YIELD_N 1000
static char ylog[2 * YIELD_N + 8];
static _Atomic int ylen;
static _Atomic long ydone;

static void yielder(void *arg)
{
	char c = (char)(uintptr_t)arg;
	for (int i = 0; i < YIELD_N; i++) {
		int at = atomic_fetch_add(&ylen, 1);
		if (at < (int)sizeof(ylog))
			ylog[at] = c;
		rg_yield();
	}
	atomic_fetch_add(&ydone, 1);
}

static int yield_main(void *arg)
{
	(void)arg;
	atomic_store(&ylen, 0);
	atomic_store(&ydone, 0);
	memset(ylog, 0, sizeof(ylog));
	CHECK_CMP(rg_procs(), ==, 1);
	CHECK(rg_go(yielder, (void *)(uintptr_t)'A') == 0);
	CHECK(rg_go(yielder, (void *)(uintptr_t)'B') == 0);
	CHECK(rgc_wait_ge(&ydone, 2, 10000));
	CHECK_CMP(atomic_load(&ylen), ==, 2 * YIELD_N);
	for (int i = 1; i < 2 * YIELD_N; i++)
		CHECK_CMP(ylog[i], !=, ylog[i - 1]);
	return 0;
}

/* On one P, two goroutines that yield after each log append alternate
 * strictly (ABAB... or BABA...). */
static void test_yield_interleaves(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "1");
	rgc_main(yield_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- rg_sleep ------------------------------------------------------- */

static int sleep_main(void *arg)
{
	(void)arg;
	static const int64_t ds[] = {1 * MS, 5 * MS, 20 * MS};
	for (int rep = 0; rep < 3; rep++) {
		for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
			int64_t t0 = rg_now();
			rg_sleep(ds[i]);
			int64_t el = rg_now() - t0;
			CHECK_CMP(el, >=, ds[i]);
			CHECK_CMP(el, <, ds[i] + RGT_NEVER_MS * MS);
		}
	}
	/* Non-positive durations return at once: without parking (the only
	 * goroutine's park count stays as it was). */
	rg_stats_t before, after;
	CHECK(rg_stats(&before) == 0);
	rg_sleep(0);
	rg_sleep(-5 * MS);
	CHECK(rg_stats(&after) == 0);
	CHECK_CMP(after.parks, ==, before.parks);
	return 0;
}

/* rg_sleep(d) for 1, 5, 20 ms takes at least d, and ends (how late on a
 * loaded machine is for bench_timers to measure, not a test to bound);
 * d <= 0 returns without parking. */
static void test_sleep_accuracy(void **state)
{
	(void)state;
	rgc_main(sleep_main, NULL);
}

#define SLEEPERS 100
static struct sleeper {
	int64_t d, deadline, elapsed, wake;
	long order;
} sleepers[SLEEPERS];
static _Atomic long sleep_woken;

static void sleeper(void *arg)
{
	struct sleeper *s = arg;
	int64_t t0 = rg_now();
	s->deadline = t0 + s->d;
	rg_sleep(s->d);
	s->wake = rg_now();
	s->elapsed = s->wake - t0;
	s->order = atomic_fetch_add(&sleep_woken, 1);
}

static int sleep_many_main(void *arg)
{
	(void)arg;
	atomic_store(&sleep_woken, 0);
	int64_t base = rg_now();
	for (int i = 0; i < SLEEPERS; i++) {
		sleepers[i] = (struct sleeper){.d = ((i * 7) % 40 + 1) * MS};
		CHECK(rg_go(sleeper, &sleepers[i]) == 0);
	}
	CHECK(rgc_wait_ge(&sleep_woken, SLEEPERS, 10000));
	for (int i = 0; i < SLEEPERS; i++)
		CHECK_CMP(sleepers[i].elapsed, >=, sleepers[i].d);
	/* Wake order follows the deadlines: no goroutine wakes while one
	 * whose deadline passed 15 ms before its own still sleeps.  When a
	 * loaded machine stalls the process, the timers that expired
	 * meanwhile are run P by P and their goroutines in queue order, and
	 * an M preempted by the kernel delays what it had readied: so, as
	 * for a single sleep, 50 ms of slack. */
	for (int i = 0; i < SLEEPERS; i++) {
		for (int j = 0; j < SLEEPERS; j++) {
			struct sleeper *a = &sleepers[i], *b = &sleepers[j];
			if (a->deadline + 15 * MS <= b->deadline && a->order > b->order &&
			    a->wake > b->wake + 50 * MS) {
				char w[256];
				snprintf(w, sizeof(w),
					 "sleeper %d (d %lld ms, deadline +%lld us) woke at +%lld us, "
					 "after sleeper %d (d %lld ms, deadline +%lld us) at +%lld us",
					 i, (long long)(a->d / MS), (long long)(a->deadline - base) / 1000,
					 (long long)(a->wake - base) / 1000, j, (long long)(b->d / MS),
					 (long long)(b->deadline - base) / 1000,
					 (long long)(b->wake - base) / 1000);
				rgc_fail(__FILE__, __LINE__, w);
				return 1;
			}
		}
	}
	return 0;
}

/* 100 goroutines sleeping 1..40 ms: none wakes early, and they wake in
 * the order of their deadlines (with slack, see above). */
static void test_sleep_many_ordered(void **state)
{
	(void)state;
	rgc_main(sleep_many_main, NULL);
}

/* ---- two Ms --------------------------------------------------------- */

#define THR_MAX 16
static pthread_t test_thread;
static _Atomic unsigned long thr_seen[THR_MAX];
static _Atomic int thr_nseen;
static _Atomic long thr_done;

static void note_thread(void)
{
	unsigned long self = (unsigned long)pthread_self();
	int n = atomic_load(&thr_nseen);
	for (int i = 0; i < n && i < THR_MAX; i++)
		if (atomic_load(&thr_seen[i]) == self)
			return;
	int at = atomic_fetch_add(&thr_nseen, 1);
	if (at < THR_MAX)
		atomic_store(&thr_seen[at], self);
}

static int distinct_threads(void)
{
	int n = atomic_load(&thr_nseen);
	if (n > THR_MAX)
		n = THR_MAX;
	int d = 0;
	for (int i = 0; i < n; i++) {
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= atomic_load(&thr_seen[j]) == atomic_load(&thr_seen[i]);
		d += !dup;
	}
	return d;
}

static void busy_worker(void *arg)
{
	(void)arg;
	int64_t deadline = rg_now() + 3 * RG_SECOND;
	for (int k = 0; k < 20 || (distinct_threads() < 2 && rg_now() < deadline); k++) {
		GCHECK(!pthread_equal(pthread_self(), test_thread));
		note_thread();
		int64_t until = rg_now() + 50 * RG_MICROSECOND;
		while (rg_now() < until)
			;
		rg_yield();
	}
	atomic_fetch_add(&thr_done, 1);
}

static int two_ms_main(void *arg)
{
	(void)arg;
	atomic_store(&thr_nseen, 0);
	atomic_store(&thr_done, 0);
	CHECK_CMP(rg_procs(), ==, 2);
	for (int i = 0; i < 64; i++)
		CHECK(rg_go(busy_worker, NULL) == 0);
	CHECK(rgc_wait_ge(&thr_done, 64, 20000));
	CHECK_CMP(distinct_threads(), >=, 2);
	return 0;
}

/* With two Ps, goroutines that work and yield run on two OS threads,
 * neither of them rg_main's caller. */
static void test_two_ms(void **state)
{
	(void)state;
	test_thread = pthread_self();
	rgt_env("RINGO_PROCS", "2");
	rgc_main(two_ms_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

static _Atomic int spin_release, spin_running;
static _Atomic long spin_others;

static void spinner(void *arg)
{
	(void)arg;
	atomic_store(&spin_running, 1);
	while (!atomic_load(&spin_release))
		;
}

static void spin_other(void *arg)
{
	rg_sleep((int64_t)(uintptr_t)arg * RG_MICROSECOND);
	atomic_fetch_add(&spin_others, 1);
}

static int spin_main(void *arg)
{
	(void)arg;
	atomic_store(&spin_release, 0);
	atomic_store(&spin_running, 0);
	atomic_store(&spin_others, 0);
	CHECK(rg_go_named("spinner", spinner, NULL) == 0);
	for (int i = 0; i < 100; i++)
		CHECK(rg_go(spin_other, (void *)(uintptr_t)(100 + 50 * i)) == 0);
	bool ok = rgc_wait_ge(&spin_others, 100, 10000);
	bool ran = atomic_load(&spin_running);
	/* Keep the spinner at it until sysmon calls it a hog (it does once
	 * the spinner has held its P for HOG_NS). */
	rg_stats_t st;
	int64_t give_up = rg_now() + RGT_NEVER_MS * MS;
	do {
		rg_sleep(MS);
		rg_stats(&st);
	} while (st.hogs < 1 && rg_now() < give_up);
	atomic_store(&spin_release, 1);
	CHECK(ok);
	CHECK(ran);
	CHECK_CMP(st.hogs, >=, 1);
	return 0;
}

/* A goroutine readied behind one that runs on and never yields: with
 * two Ps it still runs, on the other P's thread, while the first goes
 * on (the backlog rule in sysmon.c wakes a P for it; before sysmon's
 * hog rule, which would also move it).  Its P runs it first, so no P is
 * woken at the rg_go itself (sched.c, wakep_local). */
static _Atomic int backlog_ran;
static _Atomic(pthread_t) backlog_thread;

static void backlog_child(void *arg)
{
	(void)arg;
	atomic_store(&backlog_thread, pthread_self());
	atomic_store(&backlog_ran, 1);
}

static void backlog_spinner(void *arg)
{
	rg_waitgroup_t *wg = arg;
	atomic_store(&backlog_ran, 0);
	GCHECK(rg_go(backlog_child, NULL) == 0);
	int64_t give_up = rg_now() + RGT_NEVER_MS * MS;
	while (!atomic_load(&backlog_ran) && rg_now() < give_up)
		;  /* no yield: only another P can run the child */
	GCHECK(atomic_load(&backlog_ran));
	GCHECK(!pthread_equal(atomic_load(&backlog_thread), pthread_self()));
	rg_wg_done(wg);
}

static int backlog_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++) {
		rg_waitgroup_t wg = {0};
		rg_wg_add(&wg, 1);
		CHECK(rg_go_named("spinner", backlog_spinner, &wg) == 0);
		rg_wg_wait(&wg);
	}
	return 0;
}

static void test_backlog_gets_a_p(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgc_main(backlog_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* A goroutine spinning without yielding holds one of two Ps; 100 others
 * that sleep and count all finish on the other (and main's timer fires). */
static void test_spinner_does_not_starve(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgc_main(spin_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* A hog on one P, a goroutine that keeps yielding on the other: the
 * hog's P is never scheduled again, so what waits on it (its run queue,
 * its timers) must be taken care of by the busy P's M. */
static _Atomic unsigned long peer_thread;
static _Atomic int peer_release;
static _Atomic long peer_workers;

static void busy_peer(void *arg)
{
	(void)arg;
	atomic_store(&peer_thread, (unsigned long)pthread_self());
	while (!atomic_load(&peer_release))
		rg_yield();
}

static void peer_worker(void *arg)
{
	(void)arg;
	atomic_fetch_add(&peer_workers, 1);
}

static int hog_peer_main(void *arg)
{
	(void)arg;
	atomic_store(&spin_release, 0);
	atomic_store(&peer_release, 0);
	atomic_store(&peer_thread, 0);
	atomic_store(&peer_workers, 0);
	/* The yielder first, and wait (without yielding) until the other
	 * M has stolen it: it then runs on the other P for good. */
	CHECK(rg_go_named("yielder", busy_peer, NULL) == 0);
	int64_t deadline = rg_now() + 5 * RG_SECOND;
	while (atomic_load(&peer_thread) == 0 ||
	       atomic_load(&peer_thread) == (unsigned long)pthread_self()) {
		CHECK(rg_now() < deadline);
	}
	/* Then the spinner and ten workers on this P, and sleep here: our
	 * timer is in this P's heap, and the spinner takes the P. */
	CHECK(rg_go_named("spinner", spinner, NULL) == 0);
	for (int i = 0; i < 10; i++)
		CHECK(rg_go(peer_worker, NULL) == 0);
	int64_t t0 = rg_now();
	rg_sleep(10 * MS);
	int64_t slept = rg_now() - t0;
	bool workers = rgc_wait_ge(&peer_workers, 10, 5000);
	atomic_store(&spin_release, 1);
	atomic_store(&peer_release, 1);
	/* Only main's waking releases the spinner: a timer left in the
	 * hog's heap would never fire (the watchdog says so). */
	CHECK_CMP(slept, <, RGT_NEVER_MS * MS);
	CHECK(workers);
	return 0;
}

/* In the child: if the scenario hangs, shows where everyone is. */
static void *hog_peer_watchdog(void *arg)
{
	(void)arg;
	sleep(RGT_NEVER_MS / 1000);
	rg_stats_t st;
	rg_stats(&st);
	fprintf(stderr, "hung: workers done %ld, hogs %lld, steals %lld, runq %u %u, global %lld\n",
		atomic_load(&peer_workers), (long long)st.hogs, (long long)st.steals, st.runq[0],
		st.runq[1], (long long)st.global_runq);
	rg_dump_goroutines(2);
	_exit(9);
}

static int hog_peer_child(void *arg)
{
	(void)arg;
	pthread_t wd;
	pthread_create(&wd, NULL, hog_peer_watchdog, NULL);
	setenv("RINGO_PROCS", "2", 1);
	atomic_store(&rgc_failed, 0);
	int rc = rg_main(hog_peer_main, NULL);
	if (atomic_load(&rgc_failed))
		fprintf(stderr, "%s\n", rgc_msg);
	return rc;
}

/* With two Ps, one held by a spinner and the other kept busy by a
 * goroutine that yields in a loop, the timers and queued goroutines of
 * the spinner's P still run (in a child: a watchdog reports a hang after
 * RGT_NEVER_MS). */
static void test_spinner_with_busy_peer(void **state)
{
	(void)state;
	static rgt_child_t res;
	assert_int_equal(rgt_run_child(hog_peer_child, NULL, 3 * RGT_NEVER_MS / 1000, &res), 0);
	if (!res.exited || res.code != 0) {
		fprintf(stderr, "---- child output:\n%s---- end\n", res.out);
		fail_msg("child: exited %d code %d signal %d", res.exited, res.code, res.sig);
	}
}

/* Two goroutines that hand the P to each other with rg__ready/rg__park
 * (white-box: what a channel ping-pong does) switch G to G and never
 * leave the local queue empty.  The global queue must still be looked
 * at every RG_GLOBAL_TICK schedules. */
static rg_g *_Atomic pp_a, *_Atomic pp_b;
static _Atomic int pp_stop, pp_a_stopped, pp_victim_ran;
static _Atomic long pp_rounds, pp_finished;

static void pp_goroutine_b(void *arg)
{
	(void)arg;
	atomic_store(&pp_b, rg__getg());
	for (;;) {
		rg__park(NULL, NULL, RG_WAIT_SEMA);
		if (atomic_load(&pp_a_stopped))
			break;
		rg__ready(atomic_load(&pp_a));
	}
	atomic_fetch_add(&pp_finished, 1);
}

static void pp_goroutine_a(void *arg)
{
	(void)arg;
	atomic_store(&pp_a, rg__getg());
	/* One P: once B has run up to its park and we run again, B is
	 * parked. */
	while (atomic_load(&pp_b) == NULL)
		rg_yield();
	rg_yield();
	for (;;) {
		bool stop = atomic_load(&pp_stop);
		if (stop)
			atomic_store(&pp_a_stopped, 1);
		rg__ready(atomic_load(&pp_b));
		if (stop)
			break;
		atomic_fetch_add(&pp_rounds, 1);
		rg__park(NULL, NULL, RG_WAIT_SEMA);
	}
	atomic_fetch_add(&pp_finished, 1);
}

static void pp_victim(void *arg)
{
	(void)arg;
	atomic_store(&pp_victim_ran, 1);
}

static void *pp_foreign(void *arg)
{
	(void)arg;
	GCHECK(rg_go(pp_victim, NULL) == 0); /* from a foreign thread: global queue */
	return NULL;
}

static int pingpong_main(void *arg)
{
	(void)arg;
	pthread_t th;
	atomic_store(&pp_a, NULL);
	atomic_store(&pp_b, NULL);
	atomic_store(&pp_stop, 0);
	atomic_store(&pp_a_stopped, 0);
	atomic_store(&pp_victim_ran, 0);
	atomic_store(&pp_rounds, 0);
	atomic_store(&pp_finished, 0);
	CHECK_CMP(rg_procs(), ==, 1);
	CHECK(rg_go_named("pong", pp_goroutine_b, NULL) == 0);
	CHECK(rg_go_named("ping", pp_goroutine_a, NULL) == 0);
	CHECK(rgc_wait_ge(&pp_rounds, 1000, 5000));
	CHECK(pthread_create(&th, NULL, pp_foreign, NULL) == 0);
	pthread_join(th, NULL);
	/* Nothing stops the two but us: a victim left in the global queue
	 * would never run. */
	int64_t deadline = rg_now() + RGT_NEVER_MS * MS;
	while (!atomic_load(&pp_victim_ran) && rg_now() < deadline)
		rg_sleep(MS);
	bool ran = atomic_load(&pp_victim_ran);
	long rounds = atomic_load(&pp_rounds);
	atomic_store(&pp_stop, 1);
	CHECK(rgc_wait_ge(&pp_finished, 2, 5000));
	if (!ran) {
		char w[128];
		snprintf(w, sizeof(w), "goroutine in the global queue starved for %d ms "
			 "while %ld local switches ran", RGT_NEVER_MS, rounds);
		rgc_fail(__FILE__, __LINE__, w);
		return 1;
	}
	return 0;
}

/* On one P, a goroutine queued globally (spawned by a foreign thread)
 * runs although two goroutines keep switching G to G (and would until
 * it ran). */
static void test_global_queue_not_starved(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "1");
	rgc_main(pingpong_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* sysmon runs the expired timers of a P held by a hog.  A timer it has
 * taken off the heap but not yet fired is invisible to the deadlock
 * check: if the last M goes idle meanwhile, it must not call that a
 * deadlock.  White-box: a slow timer fn (it spins, it does not block)
 * widens the window that a loaded machine opens by preempting sysmon. */
static _Atomic int slow_fired_by_sysmon;

static void slow_fire(void *arg, int64_t now)
{
	(void)now;
	rg_m *m = rg__getm();
	atomic_store(&slow_fired_by_sysmon, m && m->id < 0);
	int64_t until = rg__nanotime() + 60 * MS;
	while (rg__nanotime() < until)
		;
	rg__ready(arg);
}

static bool arm_timer(rg_g *g, void *t)
{
	(void)g;
	rg__timer_add(t);
	return true;
}

static void hog_40ms(void *arg)
{
	(void)arg;
	int64_t until = rg_now() + 40 * MS;
	while (rg_now() < until)
		;
}

static int sysmon_timer_main(void *arg)
{
	(void)arg;
	/* The hog takes the only P once we park; our timer expires while
	 * it holds it, so sysmon fires the timer, slowly; the hog ends
	 * and the M goes idle with nothing visible left. */
	rg_go_named("hog", hog_40ms, NULL);
	rg_timer t = {.when = rg_now() + 2 * MS, .fn = slow_fire, .arg = rg__getg()};
	rg__park(arm_timer, &t, RG_WAIT_TIMER);
	return atomic_load(&slow_fired_by_sysmon) ? 0 : 4;
}

static int sysmon_timer_child(void *arg)
{
	(void)arg;
	setenv("RINGO_PROCS", "1", 1);
	return rg_main(sysmon_timer_main, NULL);
}

/* A timer that sysmon is firing for a hogged P is not a deadlock.  (If
 * the M got to the timer first, as on a loaded machine it may, the run
 * proves nothing: try again, and skip after five such runs.) */
static void test_sysmon_timer_not_deadlock(void **state)
{
	(void)state;
	static rgt_child_t res;
	for (int attempt = 0; attempt < 5; attempt++) {
		assert_int_equal(rgt_run_child(sysmon_timer_child, NULL, 10, &res), 0);
		if (res.exited && res.code == 0)
			return;
		if (res.exited && res.code == 4)
			continue;
		fprintf(stderr, "---- child output:\n%s---- end\n", res.out);
		fail_msg("child: exited %d code %d signal %d (2: a false deadlock)", res.exited,
			 res.code, res.sig);
	}
	skip();
}

/* ---- foreign threads and embedding ---------------------------------- */

#define FOREIGN_N 1000
static _Atomic long foreign_count, foreign_spawner_done;

static void foreign_inc(void *arg)
{
	(void)arg;
	GCHECK(rg_goid() > 0);
	atomic_fetch_add(&foreign_count, 1);
}

static void *foreign_spawner(void *arg)
{
	(void)arg;
	GCHECK(rg_goid() == 0);
	for (int i = 0; i < FOREIGN_N; i++)
		GCHECK(rg_go(foreign_inc, NULL) == 0);
	atomic_store(&foreign_spawner_done, 1);
	return NULL;
}

static int foreign_main(void *arg)
{
	(void)arg;
	pthread_t th;
	atomic_store(&foreign_count, 0);
	atomic_store(&foreign_spawner_done, 0);
	CHECK(pthread_create(&th, NULL, foreign_spawner, NULL) == 0);
	bool spawned = rgc_wait_ge(&foreign_spawner_done, 1, 10000);
	bool ran = rgc_wait_ge(&foreign_count, FOREIGN_N, 10000);
	pthread_join(th, NULL);
	CHECK(spawned);
	CHECK(ran);
	CHECK_CMP(atomic_load(&foreign_count), ==, FOREIGN_N);
	return 0;
}

/* A pthread started by the main goroutine spawns 1000 goroutines with
 * rg_go: all of them run. */
static void test_go_from_foreign_thread(void **state)
{
	(void)state;
	rgc_main(foreign_main, NULL);
}

static int trivial_main(void *arg)
{
	(void)arg;
	return 0;
}

/* Embedding: rg_init from the test thread, rg_go from it, wait with
 * atomics, rg_shutdown; a second rg_init and an rg_main meanwhile are
 * refused with -EBUSY; after shutdown rg_go is refused with -EINVAL. */
static void test_embed_init_go_shutdown(void **state)
{
	(void)state;
	atomic_store(&rgc_failed, 0);
	atomic_store(&foreign_count, 0);
	assert_int_equal(rg_procs(), 0);
	assert_int_equal(rg_init(NULL), 0);
	assert_true(rg_procs() > 0);
	assert_int_equal(rg_init(NULL), -EBUSY);
	assert_int_equal(rg_main(trivial_main, NULL), -EBUSY);
	assert_int_equal(rg_goid(), 0);
	for (int i = 0; i < FOREIGN_N; i++)
		assert_int_equal(rg_go(foreign_inc, NULL), 0);
	int64_t deadline = rgt_ms() + 10000;
	while (atomic_load(&foreign_count) < FOREIGN_N && rgt_ms() < deadline)
		rg_sleep(MS); /* a plain thread sleep here */
	long n = atomic_load(&foreign_count);
	rg_shutdown();
	assert_int_equal(n, FOREIGN_N);
	rgc_assert_clean();
	assert_int_equal(rg_procs(), 0);
	assert_int_equal(rg_go(foreign_inc, NULL), -EINVAL);
	/* The runtime starts again afterwards, embedded or not. */
	rgc_main(trivial_main, NULL);
	assert_int_equal(rg_init(&(rg_config_t){.procs = 3}), 0);
	assert_int_equal(rg_procs(), 3);
	rg_shutdown();
}

static _Atomic long nested_rc_main, nested_rc_init, nested_rc_thread;

static void *nested_thread(void *arg)
{
	(void)arg;
	atomic_store(&nested_rc_thread, rg_main(trivial_main, NULL));
	return NULL;
}

static int nested_main(void *arg)
{
	(void)arg;
	pthread_t th;
	atomic_store(&nested_rc_main, rg_main(trivial_main, NULL));
	atomic_store(&nested_rc_init, rg_init(NULL));
	CHECK(pthread_create(&th, NULL, nested_thread, NULL) == 0);
	pthread_join(th, NULL);
	return 0;
}

/* rg_main or rg_init from inside a goroutine, and rg_main from another
 * thread while one runs, return -EBUSY. */
static void test_nested_main_ebusy(void **state)
{
	(void)state;
	rgc_main(nested_main, NULL);
	assert_int_equal(atomic_load(&nested_rc_main), -EBUSY);
	assert_int_equal(atomic_load(&nested_rc_init), -EBUSY);
	assert_int_equal(atomic_load(&nested_rc_thread), -EBUSY);
}

/* ---- goroutine ids -------------------------------------------------- */

#define IDS_N RGT_LIVE(10000)
static int64_t ids[IDS_N];
static _Atomic long ids_done;
static _Atomic long long foreign_goid = -1;

static void record_id(void *arg)
{
	ids[(uintptr_t)arg] = rg_goid();
	atomic_fetch_add(&ids_done, 1);
}

static void *goid_thread(void *arg)
{
	(void)arg;
	atomic_store(&foreign_goid, rg_goid());
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int ids_main(void *arg)
{
	(void)arg;
	pthread_t th;
	CHECK_CMP(rg_goid(), ==, 1);
	atomic_store(&ids_done, 0);
	memset(ids, 0, sizeof(ids));
	for (uintptr_t i = 0; i < IDS_N; i++)
		CHECK(rg_go(record_id, (void *)i) == 0);
	CHECK(rgc_wait_ge(&ids_done, IDS_N, 20000));
	qsort(ids, IDS_N, sizeof(ids[0]), cmp_i64);
	CHECK_CMP(ids[0], >, 1);
	for (int i = 1; i < IDS_N; i++)
		CHECK_CMP(ids[i], >, ids[i - 1]);
	CHECK(pthread_create(&th, NULL, goid_thread, NULL) == 0);
	pthread_join(th, NULL);
	CHECK_CMP(atomic_load(&foreign_goid), ==, 0);
	return 0;
}

/* 10k goroutines get distinct ids, all above main's, which is 1; a
 * foreign thread's id is 0. */
static void test_goid_unique(void **state)
{
	(void)state;
	rgc_main(ids_main, NULL);
	assert_int_equal(rg_goid(), 0);
}

/* ---- rg_exit -------------------------------------------------------- */

static _Atomic long exit_reached, exit_after;

static void exit_deep(int depth);
/* Called through a volatile pointer: GCC takes the recursion that ends
 * in a _Noreturn call for an infinite one. */
static void (*volatile exit_deep_p)(int) = exit_deep;

static __attribute__((noinline)) void exit_deep(int depth)
{
	volatile char pad[64];
	pad[0] = (char)depth;
	if (depth > 0) {
		exit_deep_p(depth - 1);
	} else {
		atomic_fetch_add(&exit_reached, 1);
		rg_exit();
	}
	atomic_fetch_add(&exit_after, 1); /* never runs */
	(void)pad[0];
}

static void exiter(void *arg)
{
	exit_deep((int)(uintptr_t)arg);
	atomic_fetch_add(&exit_after, 1); /* never runs */
}

static int exit_main(void *arg)
{
	(void)arg;
	atomic_store(&exit_reached, 0);
	atomic_store(&exit_after, 0);
	for (int i = 0; i < 100; i++)
		CHECK(rg_go(exiter, (void *)(uintptr_t)(i % 10)) == 0);
	CHECK(rgc_wait_ge(&exit_reached, 100, 10000));
	/* They are gone: only main counts as alive. */
	int64_t give_up = rg_now() + RGT_NEVER_MS * MS;
	while (rg_num_goroutines() != 1 && rg_now() < give_up)
		rg_sleep(MS);
	CHECK_CMP(rg_num_goroutines(), ==, 1);
	CHECK_CMP(atomic_load(&exit_after), ==, 0);
	/* Their stacks are fine for reuse. */
	atomic_store(&spawn_done, 0);
	for (int i = 0; i < 200; i++)
		CHECK(rg_go(spawn_add, NULL) == 0);
	CHECK(rgc_wait_ge(&spawn_done, 200, 10000));
	return 0;
}

/* rg_exit ends a goroutine from nested calls: nothing after it runs, and
 * the goroutine is no longer counted. */
static void test_exit_goroutine(void **state)
{
	(void)state;
	rgc_main(exit_main, NULL);
}

static _Atomic int main_after_exit;

static void main_exit_helper(void)
{
	rg_exit();
}

static int exit_from_main(void *arg)
{
	(void)arg;
	rg_go(spawn_add, NULL);
	main_exit_helper();
	atomic_store(&main_after_exit, 1);
	return 7;
}

/* rg_exit from the main goroutine ends rg_main with 0. */
static void test_exit_main(void **state)
{
	(void)state;
	atomic_store(&main_after_exit, 0);
	assert_int_equal(rg_main(exit_from_main, NULL), 0);
	assert_int_equal(atomic_load(&main_after_exit), 0);
	assert_int_equal(rg_procs(), 0);
}

/* ---- rg_main's result ----------------------------------------------- */

static int result_main(void *arg)
{
	int i = (int)(intptr_t)arg;
	atomic_store(&spawn_done, 0);
	for (int k = 0; k < 10; k++)
		CHECK(rg_go(spawn_add, NULL) == 0);
	CHECK(rgc_wait_ge(&spawn_done, 10, 5000));
	return 42 + i;
}

/* rg_main returns what the main function returned, ten times in a row. */
static void test_main_result_repeat(void **state)
{
	(void)state;
	for (int i = 0; i < 10; i++) {
		atomic_store(&rgc_failed, 0);
		assert_int_equal(rg_main(result_main, (void *)(intptr_t)i), 42 + i);
		rgc_assert_clean();
	}
	assert_int_equal(rg_main(NULL, NULL), -EINVAL);
}

/* ---- counters ------------------------------------------------------- */

static _Atomic long counted_started;

static void hour_sleeper(void *arg)
{
	(void)arg;
	atomic_fetch_add(&counted_started, 1);
	rg_sleep(RG_HOUR);
}

static int counters_main(void *arg)
{
	(void)arg;
	rg_stats_t st;
	atomic_store(&counted_started, 0);
	CHECK_CMP(rg_num_goroutines(), ==, 1);
	for (int i = 0; i < 50; i++)
		CHECK(rg_go(hour_sleeper, NULL) == 0);
	CHECK_CMP(rg_num_goroutines(), ==, 51);
	CHECK(rgc_wait_ge(&counted_started, 50, 10000));
	/* Each counts its park just before switching out. */
	int64_t deadline = rg_now() + RGT_NEVER_MS * MS;
	do {
		rg_sleep(MS);
		rg_stats(&st);
	} while (st.parks < 50 && rg_now() < deadline);
	CHECK_CMP(rg_num_goroutines(), ==, 51);
	CHECK_CMP(st.goroutines, ==, 51);
	CHECK_CMP(st.procs, ==, rg_procs());
	CHECK_CMP(st.procs, ==, 3);
	CHECK_CMP(st.threads, >=, 1);
	CHECK_CMP(st.spawned, >=, 51);
	CHECK_CMP(st.switches, >=, 51);
	CHECK_CMP(st.parks, >=, 50);
	CHECK_CMP(st.steals, >=, 0);
	CHECK_CMP(st.handoffs, >=, 0);
	CHECK_CMP(st.global_runq, >=, 0);
	int64_t sw = st.switches;
	for (int i = 0; i < 10; i++)
		rg_yield();
	rg_sleep(MS);
	rg_stats(&st);
	CHECK_CMP(st.switches, >, sw);
	return 0;
}

/* rg_num_goroutines and rg_stats count 50 goroutines parked for an hour
 * (abandoned when main returns); procs follows RINGO_PROCS. */
static void test_counters(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "3");
	rgc_main(counters_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
	rg_stats_t st;
	rg_stats(&st);
	assert_int_equal(st.procs, 0);
	assert_int_equal(rg_num_goroutines(), 0);
}

/* ---- syscalls ------------------------------------------------------- */

static _Atomic int sys_in, sys_done;
static _Atomic long sys_progress, sys_finished;

static void sys_blocker(void *arg)
{
	(void)arg;
	rg_syscall_enter();
	atomic_store(&sys_in, 1);
	/* In the "syscall" until the worker has counted 10 times (only a
	 * hand-off of our P lets it run), or RGT_NEVER_MS. */
	int64_t give_up = rgt_ms() + RGT_NEVER_MS;
	while (atomic_load(&sys_progress) < 10 && rgt_ms() < give_up)
		usleep(1000);
	atomic_store(&sys_in, 0);
	rg_syscall_exit();
	atomic_store(&sys_done, 1);
	atomic_fetch_add(&sys_finished, 1);
}

static void sys_worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&sys_done)) {
		if (atomic_load(&sys_in))
			atomic_fetch_add(&sys_progress, 1);
		rg_sleep(MS);
	}
	atomic_fetch_add(&sys_finished, 1);
}

static int syscall_main(void *arg)
{
	(void)arg;
	atomic_store(&sys_in, 0);
	atomic_store(&sys_done, 0);
	atomic_store(&sys_progress, 0);
	atomic_store(&sys_finished, 0);
	CHECK_CMP(rg_procs(), ==, 1);
	CHECK(rg_go_named("blocker", sys_blocker, NULL) == 0);
	CHECK(rg_go_named("worker", sys_worker, NULL) == 0);
	CHECK(rgc_wait_ge(&sys_finished, 2, 10000));
	rg_stats_t st;
	rg_stats(&st);
	CHECK_CMP(atomic_load(&sys_progress), >=, 10);
	CHECK_CMP(st.handoffs, >=, 1);
	return 0;
}

/* On one P, a goroutine blocked between rg_syscall_enter/exit (until
 * the other has counted ten times) does not stop another from sleeping
 * and counting: sysmon hands the P off. */
static void test_syscall_handoff(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "1");
	rgc_main(syscall_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- argument errors ------------------------------------------------ */

static int einval_main(void *arg)
{
	(void)arg;
	CHECK_CMP(rg_go(NULL, NULL), ==, -EINVAL);
	CHECK_CMP(rg_go_named("x", NULL, NULL), ==, -EINVAL);
	return 0;
}

/* rg_go with a NULL function, or with no runtime running, is -EINVAL;
 * calls that need no runtime are harmless without one. */
static void test_go_einval(void **state)
{
	(void)state;
	assert_int_equal(rg_go(spawn_add, NULL), -EINVAL);
	rgc_main(einval_main, NULL);
	assert_int_equal(rg_go(spawn_add, NULL), -EINVAL);
	assert_int_equal(rg_go_named("late", spawn_add, NULL), -EINVAL);
	assert_int_equal(rg_num_goroutines(), 0);
	rg_yield();            /* sched_yield on a foreign thread */
	rg_syscall_enter();    /* no-ops on a foreign thread */
	rg_syscall_exit();
	rg_shutdown();         /* nothing to stop */
	int64_t t0 = rg_now();
	rg_sleep(2 * MS);      /* a thread sleep */
	assert_true(rg_now() - t0 >= 2 * MS);
}

/* ---- legacy futexes ------------------------------------------------- */

static int legacy_setup(void **state)
{
	(void)state;
	rgt_env("RINGO_FUTEX", "legacy");
	return 0;
}

static int legacy_teardown(void **state)
{
	(void)state;
	rgt_env("RINGO_FUTEX", NULL);
	return 0;
}

static int legacy_check_main(void *arg)
{
	(void)arg;
	CHECK(!rg__futex2());
	return 0;
}

/* RINGO_FUTEX=legacy selects futex(2) instead of futex2. */
static void test_legacy_selected(void **state)
{
	(void)state;
	rgc_main(legacy_check_main, NULL);
}

/* The same scenarios on futex(2). */
static void test_legacy_spawn_100k(void **state)
{
	test_spawn_100k(state);
}

static void test_legacy_sleep_accuracy(void **state)
{
	test_sleep_accuracy(state);
}

static void test_legacy_sleep_many_ordered(void **state)
{
	test_sleep_many_ordered(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawn_100k),
		cmocka_unit_test(test_yield_interleaves),
		cmocka_unit_test(test_sleep_accuracy),
		cmocka_unit_test(test_sleep_many_ordered),
		cmocka_unit_test(test_two_ms),
		cmocka_unit_test(test_spinner_does_not_starve),
		cmocka_unit_test(test_backlog_gets_a_p),
		cmocka_unit_test(test_spinner_with_busy_peer),
		cmocka_unit_test(test_global_queue_not_starved),
		cmocka_unit_test(test_sysmon_timer_not_deadlock),
		cmocka_unit_test(test_go_from_foreign_thread),
		cmocka_unit_test(test_embed_init_go_shutdown),
		cmocka_unit_test(test_nested_main_ebusy),
		cmocka_unit_test(test_goid_unique),
		cmocka_unit_test(test_exit_goroutine),
		cmocka_unit_test(test_exit_main),
		cmocka_unit_test(test_main_result_repeat),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_syscall_handoff),
		cmocka_unit_test(test_go_einval),
		cmocka_unit_test_setup_teardown(test_legacy_selected, legacy_setup, legacy_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_spawn_100k, legacy_setup,
						legacy_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_sleep_accuracy, legacy_setup,
						legacy_teardown),
		cmocka_unit_test_setup_teardown(test_legacy_sleep_many_ordered, legacy_setup,
						legacy_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
