// SPDX-License-Identifier: MIT
/*
 * mutexes — Go's sync.Mutex and sync.RWMutex guarding shared state.
 *
 *     type Counter struct {
 *         mu sync.Mutex
 *         n  int
 *     }
 *     func (c *Counter) Inc() { c.mu.Lock(); c.n++; c.mu.Unlock() }
 *
 * rg_mutex_t is ready to use when zeroed, as in Go, and lives inside
 * the struct it guards.  A goroutine that waits for a lock parks; its
 * thread runs other goroutines meanwhile.  rg_rwmutex_t lets many
 * readers in at once and one writer alone.
 */
#include <ringo.h>
#include <stdio.h>

typedef struct {
	rg_mutex_t mu;
	int n;
} counter_t;

static void counter_inc(counter_t *c)
{
	rg_mutex_lock(&c->mu);
	c->n++;
	rg_mutex_unlock(&c->mu);
}

static int counter_value(counter_t *c)
{
	rg_mutex_lock(&c->mu);
	int v = c->n;
	rg_mutex_unlock(&c->mu);
	return v;
}

/* A small table many goroutines read and a few write. */
typedef struct {
	rg_rwmutex_t rw;
	int hits[4];
} table_t;

static counter_t shared;
static table_t table;
static rg_waitgroup_t wg;

static void incrementer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		counter_inc(&shared);
		if (i % 100 == 0)
			rg_yield();
	}
	rg_wg_done(&wg);
}

static void writer(void *arg)
{
	int slot = (int)(intptr_t)arg;
	for (int i = 0; i < 100; i++) {
		rg_rwmutex_lock(&table.rw); /* Writers: Lock */
		table.hits[slot]++;
		rg_rwmutex_unlock(&table.rw);
	}
	rg_wg_done(&wg);
}

static void reader(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++) {
		rg_rwmutex_rlock(&table.rw); /* Readers: RLock */
		int sum = 0;
		for (int k = 0; k < 4; k++)
			sum += table.hits[k];
		rg_rwmutex_runlock(&table.rw);
		if (sum > 400)
			rg_panic("a reader saw %d hits", sum);
	}
	rg_wg_done(&wg);
}

static int run(void *arg)
{
	(void)arg;
	counter_t c = {0};
	counter_inc(&c);
	printf("%d\n", counter_value(&c)); /* 1 */

	rg_wg_add(&wg, 5);
	for (int i = 0; i < 5; i++)
		rg_go(incrementer, NULL);
	rg_wg_wait(&wg);
	printf("5 goroutines x 1000 increments: %d\n", counter_value(&shared));

	rg_wg_add(&wg, 4 + 8);
	for (int k = 0; k < 4; k++)
		rg_go(writer, (void *)(intptr_t)k);
	for (int r = 0; r < 8; r++)
		rg_go(reader, NULL);
	rg_wg_wait(&wg);
	rg_rwmutex_rlock(&table.rw);
	printf("table: %d %d %d %d\n", table.hits[0], table.hits[1], table.hits[2], table.hits[3]);
	rg_rwmutex_runlock(&table.rw);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
