// SPDX-License-Identifier: MIT
/*
 * atomic_counters — Go's sync/atomic: a counter many goroutines update
 * without a lock.
 *
 *     var counter int64
 *     atomic.AddInt64(&counter, 1) // in each goroutine, 1000 times
 *     wg.Wait()
 *     fmt.Println("Final counter value:", atomic.LoadInt64(&counter))
 *
 * ringo has no atomics of its own: C11's <stdatomic.h> is Go's
 * sync/atomic (atomic_fetch_add is AddInt64, atomic_load LoadInt64,
 * atomic_compare_exchange_weak CompareAndSwapInt64).  A plain
 * `counter++` here would be the seed's data race and lose updates.
 */
#include <ringo.h>
#include <stdatomic.h>
#include <stdio.h>

#define GOROUTINES 5
#define INCREMENTS 1000

static _Atomic int64_t counter;
static _Atomic int64_t max_seen;
static rg_waitgroup_t wg;

static void increment(void *arg)
{
	(void)arg;
	for (int i = 0; i < INCREMENTS; i++) {
		int64_t now = atomic_fetch_add(&counter, 1) + 1; /* atomic.AddInt64 */
		/* A CAS loop: record the largest value any goroutine saw. */
		int64_t old = atomic_load(&max_seen);
		while (now > old && !atomic_compare_exchange_weak(&max_seen, &old, now))
			;
		if (i % 100 == 0)
			rg_yield(); /* let the others interleave */
	}
	rg_wg_done(&wg);
}

static int run(void *arg)
{
	(void)arg;
	rg_wg_add(&wg, GOROUTINES);
	for (int i = 0; i < GOROUTINES; i++)
		rg_go(increment, NULL);
	rg_wg_wait(&wg);
	printf("Final counter value: %lld\n", (long long)atomic_load(&counter));
	printf("Largest value seen: %lld\n", (long long)atomic_load(&max_seen));
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
