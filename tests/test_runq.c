// SPDX-License-Identifier: MIT
/*
 * The run queues (runtime/runq.c), white box and without a running
 * runtime: Ps and Gs are plain structures made here, and only the queue
 * code touches them.  Each test checks that every goroutine put in comes
 * out exactly once, wherever it went on the way: the local ring,
 * runnext, the inbox another P handed it (handback), the global queue.
 *
 * The scheduler's own tests (test_sched*, test_iolive) see the same
 * code under load, where a lost goroutine shows only as a hang now and
 * then; these make each path happen once, on purpose.
 */
#include "helpers/rgtest.h"

#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "runq.h"

#define NG 1024

static rg_g *gs;          /* NG goroutines; id = index + 1 */
static int seen[NG];      /* times each came out */

static rg_p *new_p(int id)
{
	rg_p *p = aligned_alloc(RG_CACHELINE, (sizeof(rg_p) + RG_CACHELINE - 1) &
					      ~(size_t)(RG_CACHELINE - 1));
	assert_non_null(p);
	memset(p, 0, sizeof(*p));
	p->id = id;
	return p;
}

static int setup(void **state)
{
	(void)state;
	gs = calloc(NG, sizeof(*gs));
	if (!gs)
		return -1;
	for (int i = 0; i < NG; i++)
		gs[i].id = i + 1;
	memset(seen, 0, sizeof(seen));
	/* Several Ps: a lone P's queues take their single-owner paths. */
	rg__sched.nprocs = 4;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rg__globrunqfree();
	rg__sched.nprocs = 0;
	free(gs);
	return 0;
}

/* Links gs[from..to) by schedlink and pushes them on p's inbox. */
static void inject(rg_p *p, int from, int to)
{
	for (int i = from; i < to - 1; i++)
		gs[i].schedlink = &gs[i + 1];
	gs[to - 1].schedlink = NULL;
	rg__runqinject(p, &gs[from], &gs[to - 1]);
}

static void saw(rg_g *g)
{
	assert_true(g >= gs && g < gs + NG);
	seen[g - gs]++;
}

/* Everything p's owner takes, in order, recorded. */
static int take_all(rg_p *p, int *order)
{
	int n = 0;
	rg_g *g;
	while ((g = rg__runqget(p)) != NULL) {
		saw(g);
		if (order)
			order[n] = (int)(g - gs);
		n++;
	}
	return n;
}

/* Everything on the global queue, through p. */
static int take_global(rg_p *p)
{
	int n = 0;
	rg_g *g;
	while ((g = rg__globrunqget(p, 0)) != NULL) {
		saw(g);
		n++;
		n += take_all(p, NULL);
	}
	return n;
}

static void assert_each_once(int from, int to)
{
	for (int i = 0; i < NG; i++)
		assert_int_equal(seen[i], i >= from && i < to ? 1 : 0);
}

/* The owner takes its local queue, then the inbox, in the order each
 * was filled; rg__runqempty and rg__runqlen count the inbox. */
static void test_get_takes_inbox_after_local(void **state)
{
	(void)state;
	rg_p *p = new_p(0);
	for (int i = 0; i < 10; i++)
		rg__runqput(p, &gs[i], false);
	inject(p, 10, 20);
	inject(p, 20, 30);
	assert_false(rg__runqempty(p));
	int order[NG];
	assert_int_equal(take_all(p, order), 30);
	for (int i = 0; i < 30; i++)
		assert_int_equal(order[i], i);
	assert_true(rg__runqempty(p));
	assert_int_equal(rg__runqlen(p), 0);

	inject(p, 30, 31);
	assert_false(rg__runqempty(p));
	assert_int_equal(rg__runqlen(p), 1);
	assert_int_equal(take_all(p, NULL), 1);
	assert_each_once(0, 31);
	free(p);
}

/* A thief that finds no queue takes the victim's inbox whole. */
static void test_steal_takes_inbox(void **state)
{
	(void)state;
	rg_p *victim = new_p(0), *thief = new_p(1);
	inject(victim, 0, 40);
	rg_g *g = rg__runqsteal(thief, victim, true);
	assert_non_null(g);
	saw(g);
	assert_int_equal(take_all(thief, NULL), 39);
	assert_true(rg__runqempty(victim));
	assert_each_once(0, 40);
	free(victim);
	free(thief);
}

/* sysmon's drain of a P held in a syscall moves all it has to the
 * global queue: local ring, runnext, and an inbox larger than a ring.
 * (Handback's first version copied the inbox into its buffer and then
 * overwrote it with the ring's stale slots: the inbox was lost and
 * other goroutines queued twice.) */
static void test_drain_moves_inbox_too(void **state)
{
	(void)state;
	rg_p *p = new_p(1), *q = new_p(0);
	for (int i = 0; i < 100; i++)
		rg__runqput(p, &gs[i], false);
	rg__runqput(p, &gs[100], true);  /* runnext */
	inject(p, 101, 101 + RG_RUNQ_SIZE + 50);
	inject(p, 101 + RG_RUNQ_SIZE + 50, 101 + 2 * RG_RUNQ_SIZE);
	int want = 101 + 2 * RG_RUNQ_SIZE;
	assert_int_equal(rg__runqdrain_global(p), want);
	assert_true(rg__runqempty(p));
	assert_int_equal(rg__sched.runqsize, want);
	assert_int_equal(take_global(q), want);
	assert_each_once(0, want);
	free(p);
	free(q);
}

/* An inbox alone (the ring already empty) is drained as well. */
static void test_drain_inbox_alone(void **state)
{
	(void)state;
	rg_p *p = new_p(1), *q = new_p(0);
	inject(p, 0, 7);
	assert_int_equal(rg__runqdrain_global(p), 7);
	assert_int_equal(take_global(q), 7);
	assert_each_once(0, 7);
	free(p);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_takes_inbox_after_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steal_takes_inbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_moves_inbox_too, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_inbox_alone, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
