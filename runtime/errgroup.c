// SPDX-License-Identifier: MIT
/*
 * errgroup.c — golang.org/x/sync/errgroup's Group: goroutines working
 * on parts of one task, the first error cancelling the rest.
 *
 * A group owns a cancellable child of its parent context, a WaitGroup
 * counting the functions that run, the first error, and for SetLimit a
 * weighted semaphore of `limit` slots (x/sync uses a buffered channel;
 * the semaphore is the same bound without a channel operation per
 * function, and its FIFO keeps Go() callers in order).
 *
 * Invariants:
 *   - The WaitGroup's counter is the number of functions started and
 *     not yet finished (each holds one count and, under a limit, one
 *     semaphore slot); SetLimit and free read it (rg__wg_count) instead
 *     of a counter of their own, which cost two more contended atomic
 *     operations per function.
 *   - err is written once, by the CAS from 0 of the first function that
 *     fails; whoever wins it also cancels the context (at most one
 *     rg_ctx_cancel per group: cancel_once).
 *   - The group holds one reference on its context (the creator's),
 *     dropped by rg_group_free, so the context stays valid (cancelled)
 *     until free.  rg_ctx_cancel is idempotent and drops none; the
 *     cancelled flag only keeps the probe's count of cancels honest.
 *   - limit and sem change only while the counter is 0 (SetLimit panics
 *     otherwise), so a running function always releases into the
 *     semaphore it acquired from.
 *
 * Memory order: a function's writes happen before rg_group_wait
 * returns (the WaitGroup's Done/Wait), and err is published by the same
 * edge.  The SetLimit check reads the counter relaxed (as in Go, it is
 * about a caller's own calls).
 *
 * Cost per function: one WaitGroup add and done, a spawn and an exit.
 * The group, the function and its argument travel in the goroutine's G
 * (rg__go_x), not in a start record: a record from a slab was ~100
 * instructions of ~800 per function under callgrind, and a cache line
 * made on the spawner's thread, read and freed on the runner's and
 * carried back through the slab's lists (a miss at each end).  The
 * WaitGroup, which every finishing function writes, has a cache line of
 * its own, away from the fields every function reads (ctx, limit).
 *
 * Rejected: reusing the finishing goroutine for a Go() caller blocked on
 * the limit (saves a spawn per function under a limit, but the function
 * would then run on a goroutine whose identity and stack history are
 * another function's, and Go gives each its own goroutine).
 */
#include "waitq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rg_group {
	/* Read by every function. */
	rg_ctx_t *ctx;               /* child of the parent (one ref, above) */
	int limit;                   /* < 0: none (changed while no function runs) */
	_Atomic int err;             /* first non-zero result */
	_Atomic int cancelled;       /* rg_ctx_cancel done (once: the cancel probe counts one) */
	/* Keeps the WaitGroup off the line of the fields above whatever
	 * calloc's alignment (an aligned attribute would need an aligned
	 * allocation). */
	char pad_[RG_CACHELINE];
	/* Written by every function. */
	rg_waitgroup_t wg;           /* functions running */
	rg_sema_t sem;               /* limit slots (limit >= 0) */
};

/* A group function, as rg__go_x carries it (a void *). */
typedef int (*group_fn)(rg_ctx_t *ctx, void *arg);

static int running(rg_group_t *g)
{
	return (int)rg__wg_count(&g->wg);
}

static void cancel_once(rg_group_t *g)
{
	if (!atomic_exchange_explicit(&g->cancelled, 1, memory_order_relaxed))
		rg_ctx_cancel(g->ctx);
}

/* A function's goroutine: arg is the group, xarg the function and its
 * argument (start). */
static void group_tramp(void *arg)
{
	rg_group_t *g = arg;
	rg_g *self = rg__getg();
	group_fn fn = (group_fn)self->xarg[0];
	int rc = fn(g->ctx, self->xarg[1]);
	if (rc != 0) {
		int zero = 0;
		if (atomic_compare_exchange_strong_explicit(&g->err, &zero, rc,
				memory_order_relaxed, memory_order_relaxed))
			cancel_once(g);
	}
	if (g->limit >= 0)
		rg_sema_release(&g->sem, 1);
	rg_wg_done(&g->wg);  /* g may be freed by the waiter after this */
}

rg_group_t *rg_group_new(rg_ctx_t *parent)
{
	rg_group_t *g = calloc(1, sizeof(*g));
	if (!g) {
		errno = ENOMEM;
		return NULL;
	}
	g->ctx = rg_ctx_with_cancel(parent);  /* one ref, the group's */
	if (!g->ctx) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	g->limit = -1;
	return g;
}

/* A NULL group: Go's nil pointer dereference, with the call's name. */
#define CHECK_GROUP(g, call)                                                  \
	do {                                                                  \
		if (RG_UNLIKELY(!(g)))                                        \
			rg_panic(call ": nil group");                         \
	} while (0)

rg_ctx_t *rg_group_ctx(rg_group_t *g)
{
	CHECK_GROUP(g, "rg_group_ctx");
	return g->ctx;
}

void rg_group_set_limit(rg_group_t *g, int n)
{
	CHECK_GROUP(g, "rg_group_set_limit");
	int a = running(g);
	if (a != 0)
		rg_panic("errgroup: modify limit while %d goroutines in the group are still active", a);
	if (n >= 0)
		rg_sema_init(&g->sem, n);
	g->limit = n < 0 ? -1 : n;
}

static void start(rg_group_t *g, group_fn fn, void *arg)
{
	rg_wg_add(&g->wg, 1);
	if (rg__go_x(group_tramp, g, (void *)fn, arg) != 0)
		rg__throw("out of memory starting an errgroup goroutine");
}

void rg_group_go(rg_group_t *g, int (*fn)(rg_ctx_t *ctx, void *arg), void *arg)
{
	CHECK_GROUP(g, "rg_group_go");
	if (!fn)
		rg_panic("rg_group_go: nil function");
	if (g->limit >= 0)
		rg_sema_acquire(&g->sem, 1, NULL);  /* waits for a slot */
	start(g, fn, arg);
}

bool rg_group_try_go(rg_group_t *g, int (*fn)(rg_ctx_t *ctx, void *arg), void *arg)
{
	CHECK_GROUP(g, "rg_group_try_go");
	if (!fn)
		rg_panic("rg_group_try_go: nil function");
	if (g->limit >= 0 && !rg_sema_try_acquire(&g->sem, 1))
		return false;
	start(g, fn, arg);
	return true;
}

int rg_group_wait(rg_group_t *g)
{
	CHECK_GROUP(g, "rg_group_wait");
	rg_wg_wait(&g->wg);
	cancel_once(g);
	return atomic_load_explicit(&g->err, memory_order_relaxed);
}

void rg_group_free(rg_group_t *g)
{
	if (!g)
		return;
	int a = running(g);
	if (a != 0)
		rg_panic("rg_group_free while %d functions of the group run", a);
	cancel_once(g);
	rg_ctx_release(g->ctx);
	free(g);
}
