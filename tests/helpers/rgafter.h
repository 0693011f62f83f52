/*
 * Go's time.After for the seed-example tests, until the Time API lands:
 * a goroutine that sleeps d, then sends the time on a channel of
 * capacity 1.  after_free waits for that goroutine, then frees (what
 * Go's collector would do).
 */
#ifndef RGAFTER_H
#define RGAFTER_H

#include <stdlib.h>

#include <ringo.h>

typedef struct after {
	rg_chan_t *c;          /* receives the time once */
	int64_t d;
	rg_waitgroup_t wg;
} after_t;

static inline void after_fire(void *arg)
{
	after_t *a = arg;
	rg_sleep(a->d);
	int64_t now = rg_now();
	rg_chan_try_send(a->c, &now);
	rg_wg_done(&a->wg);
}

static inline after_t *after(int64_t d)
{
	after_t *a = calloc(1, sizeof(*a));
	a->c = RG_CHAN(int64_t, 1);
	a->d = d;
	rg_wg_add(&a->wg, 1);
	rg_go(after_fire, a);
	return a;
}

static inline void after_free(after_t *a)
{
	rg_wg_wait(&a->wg);
	rg_chan_free(a->c);
	free(a);
}

#endif
