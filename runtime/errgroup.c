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
 * Cost per function: a start record from a slab (slab.c: per-thread
 * caches, so a record made on the spawner's thread and freed on the
 * worker's is no malloc arena lock round trip), one WaitGroup add and
 * done, a spawn and an exit.  The WaitGroup, which every finishing
 * function writes, has a cache line of its own, away from the fields
 * every function reads (ctx, limit).
 *
 * Rejected: reusing the finishing goroutine for a Go() caller blocked on
 * the limit (saves a spawn per function under a limit, but the function
 * would then run on a goroutine whose identity and stack history are
 * another function's, and Go gives each its own goroutine).
 */
#include "waitq.h"

#include <errno.h>
#include <pthread.h>
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

/* One function's start record: a goroutine takes one pointer. */
struct gofn {
	rg_group_t *g;
	int (*fn)(rg_ctx_t *ctx, void *arg);
	void *arg;
};

/* Start records: one slab block each (slab.c; malloc'd one by one under
 * the sanitizers). */
static rg__slab_t gofn_slab;
static pthread_once_t gofn_once = PTHREAD_ONCE_INIT;

static void gofn_init(void)
{
	rg__slab_init(&gofn_slab, sizeof(struct gofn));
}

static int running(rg_group_t *g)
{
	return (int)rg__wg_count(&g->wg);
}

static void cancel_once(rg_group_t *g)
{
	if (!atomic_exchange_explicit(&g->cancelled, 1, memory_order_relaxed))
		rg_ctx_cancel(g->ctx);
}

static void group_tramp(void *p)
{
	struct gofn r = *(struct gofn *)p;
	rg__slab_free(&gofn_slab, p);
	rg_group_t *g = r.g;
	int rc = r.fn(g->ctx, r.arg);
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

static void start(rg_group_t *g, int (*fn)(rg_ctx_t *, void *), void *arg)
{
	pthread_once(&gofn_once, gofn_init);
	struct gofn *r = rg__slab_alloc(&gofn_slab);
	if (!r)
		rg__throw("out of memory starting an errgroup function");
	r->g = g;
	r->fn = fn;
	r->arg = arg;
	rg_wg_add(&g->wg, 1);
	if (rg_go(group_tramp, r) != 0)
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
