// SPDX-License-Identifier: MIT
/*
 * White-box helpers for the channel and select tests: how many waiters a
 * channel has queued (so tests wait for goroutines to be really parked,
 * not sleep and hope), and child processes for panics and deadlocks.
 */
#ifndef RGCHAN_H
#define RGCHAN_H

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "chan_impl.h"
#include "helpers/rgtest.h"

/* Records queued on c's send (or receive) queue. */
static inline int queued(rg_chan_t *c, bool senders)
{
	int n = 0;

	rg__lock(&c->lock);
	for (rg_sudog *s = senders ? c->sendq.first : c->recvq.first; s; s = s->next)
		n++;
	rg__unlock(&c->lock);
	return n;
}

/* Waits until at least n goroutines are parked on c's queue. */
static inline void wait_queued(rg_chan_t *c, bool senders, int n)
{
	while (queued(c, senders) < n)
		rg_sleep(100 * RG_MICROSECOND);
}

/* Runs fn in a child process; returns its report. */
static inline rgt_child_t *child(int (*fn)(void *), void *arg)
{
	static rgt_child_t res;

	assert_int_equal(rgt_run_child(fn, arg, 30, &res), 0);
	return &res;
}

#endif
