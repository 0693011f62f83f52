// SPDX-License-Identifier: MIT
/* Part of <ringo.h>; include that instead. */
#ifndef RINGO_POOL_H
#define RINGO_POOL_H

/*
 * Bounding concurrency: a weighted semaphore (golang.org/x/sync's
 * semaphore.Weighted), a group of goroutines with error propagation
 * (x/sync's errgroup.Group) and a worker pool with a bounded queue (the
 * seed's jobs-channel pattern as one object).
 *
 *     rg_sema_t sem;                         // sem := semaphore.NewWeighted(4)
 *     rg_sema_init(&sem, 4);
 *     if (rg_sema_acquire(&sem, 1, ctx) == 0) { work(); rg_sema_release(&sem, 1); }
 *
 *     rg_group_t *g = rg_group_new(ctx);     // g, gctx := errgroup.WithContext(ctx)
 *     for (int i = 0; i < n; i++)
 *             rg_group_go(g, fetch, &urls[i]);   // fetch(gctx, arg) returns 0 or -errno
 *     int err = rg_group_wait(g);            // the first error; gctx is cancelled
 *     rg_group_free(g);
 *
 *     rg_pool_t *p = rg_pool_new(8, 256);    // 8 workers, 256 queued jobs at most
 *     rg_pool_submit(p, job, arg, ctx);      // parks while the queue is full
 *     rg_pool_close(p);                      // close(jobs)
 *     rg_pool_wait(p);                       // every queued job has run
 *     rg_pool_free(p);
 *
 * Every call may be made from a goroutine or a foreign thread once the
 * runtime runs.  Calls that wait take a context last (NULL: none) where
 * the wait can be cut short; rg_group_go and rg_group_wait wait only for
 * the group's own functions, as Go's do.  Programmer errors (releasing
 * more than is held, changing a group's limit while it runs, bad sizes
 * given to a semaphore, a NULL group or pool, a job waiting for its own
 * pool) panic; bad arguments to calls that return an
 * error give -EINVAL, to constructors NULL with errno EINVAL.
 */

/* ---- Weighted semaphore ------------------------------------------ */

/* Private: a waiter queue guarded by a futex lock word (sync.h). */
typedef struct rg_sema {
	RG__ATOMIC(uint64_t) state;   /* available << 1 | waiters queued */
	int64_t size;                 /* the weight it was set up with */
	RG__ATOMIC(uint32_t) qlock;   /* guards q */
	uint32_t pad_;
	rg__waitq_t q;                /* FIFO of waiting acquirers */
} rg_sema_t;

/* semaphore.NewWeighted(n): sets up s with total weight n (0 <= n <
 * 2^62; otherwise it panics).  The caller owns s (a static, a struct
 * member, a local that outlives its users); nothing to free.  Do not
 * init a semaphore that has waiters. */
RG_API void rg_sema_init(rg_sema_t *s, int64_t n);

/*
 * s.Acquire(ctx, n): takes weight n, waiting until it is free and every
 * earlier waiter has been served (FIFO: a large waiter is not starved by
 * later small ones).  Returns 0, or the ctx's error (-ECANCELED,
 * -ETIMEDOUT) if ctx ends first, leaving s unchanged; as in Go an
 * acquire that can proceed at once succeeds even if ctx has ended.  n
 * larger than the semaphore's size can never be granted: the call waits
 * for ctx and returns its error (with ctx NULL it waits forever, which
 * the deadlock detector reports).  -EINVAL if n <= 0.
 */
RG_API int rg_sema_acquire(rg_sema_t *s, int64_t n, rg_ctx_t *ctx);

/* s.TryAcquire(n): takes n if it is free and nobody waits (false while
 * others wait, as x/sync).  false for n <= 0. */
RG_API bool rg_sema_try_acquire(rg_sema_t *s, int64_t n);

/* s.Release(n): gives back n, waking the waiters at the head of the
 * queue that now fit.  Panics "semaphore: released more than held" if
 * that would exceed the size, and on n <= 0. */
RG_API void rg_sema_release(rg_sema_t *s, int64_t n);

/* ---- errgroup ---------------------------------------------------- */

/* A group of goroutines working on parts of one task.  Opaque. */
typedef struct rg_group rg_group_t;

/*
 * errgroup.WithContext(parent): a group whose context (rg_group_ctx) is
 * a child of parent (NULL: Background), cancelled the first time a
 * function returns non-zero or when rg_group_wait returns.  No limit on
 * functions running at once until rg_group_set_limit.  Free it with
 * rg_group_free.  NULL with errno ENOMEM.
 */
RG_API rg_group_t *rg_group_new(rg_ctx_t *parent);

/* The group's context, passed to every function; valid until
 * rg_group_free (retain it to keep it longer). */
RG_API rg_ctx_t *rg_group_ctx(rg_group_t *g);

/*
 * g.SetLimit(n): at most n functions run at once (n < 0: no limit; 0:
 * rg_group_go waits forever, rg_group_try_go always fails).  Panics
 * "errgroup: modify limit while N goroutines in the group are still
 * active" if functions are running (Go panics when a limit is in force;
 * ringo whenever any function runs).
 */
RG_API void rg_group_set_limit(rg_group_t *g, int n);

/*
 * g.Go(f): runs fn(group ctx, arg) in a new goroutine, first waiting
 * while the limit's worth of functions run.  fn returns 0 or a -errno;
 * the first non-zero result is kept and cancels the group's context.
 * Functions may start more functions.  Panics if fn is NULL; out of
 * memory is fatal, as a failing `go` statement is in Go.
 */
RG_API void rg_group_go(rg_group_t *g, int (*fn)(rg_ctx_t *ctx, void *arg), void *arg);

/* g.TryGo(f): as rg_group_go if that needs no waiting; false (fn not
 * started) when the limit's worth of functions run. */
RG_API bool rg_group_try_go(rg_group_t *g, int (*fn)(rg_ctx_t *ctx, void *arg), void *arg);

/* g.Wait(): waits until every function started so far has returned,
 * cancels the group's context and returns the first non-zero result, or
 * 0.  The group may be reused afterwards (its context stays cancelled,
 * as in Go). */
RG_API int rg_group_wait(rg_group_t *g);

/* Frees the group (and drops its context).  Panics if functions are
 * still running: call rg_group_wait first.  NULL is a no-op. */
RG_API void rg_group_free(rg_group_t *g);

/* ---- worker pool ------------------------------------------------- */

/* A fixed set of worker goroutines taking jobs from a bounded queue.
 * Opaque. */
typedef struct rg_pool rg_pool_t;

/*
 * Starts `workers` goroutines (named "rg_pool worker", so a job that
 * panics is reported as Go reports a panicking goroutine) that run jobs
 * from a queue of at most `queue` jobs, in the order they were
 * submitted.  NULL with errno EINVAL (workers < 1, queue < 1, or either
 * too large) or ENOMEM.
 */
RG_API rg_pool_t *rg_pool_new(int workers, int queue);

/*
 * Queues fn(arg), waiting while the queue is full (submitters that wait
 * are let in in the order they came).  Returns 0, -EPIPE once the pool
 * is closed (also when it is closed while we wait), the ctx's error if
 * ctx ends first (the job is then not queued), or -EINVAL (fn NULL).
 * Jobs must not block forever on something only a later job would do.
 */
RG_API int rg_pool_submit(rg_pool_t *p, void (*fn)(void *), void *arg, rg_ctx_t *ctx);

/* Queues fn(arg) if there is room: 0, -EAGAIN when the queue is full,
 * -EPIPE once closed, -EINVAL (fn NULL).  Never waits. */
RG_API int rg_pool_try_submit(rg_pool_t *p, void (*fn)(void *), void *arg);

/* close(jobs): no more submissions (they get -EPIPE, waiting submitters
 * too); jobs already queued still run, then the workers exit.  Closing
 * twice is a no-op. */
RG_API void rg_pool_close(rg_pool_t *p);

/* Waits until the pool is closed and every job queued before has run
 * and the workers have exited.  From one of the pool's own jobs it
 * panics (it would wait for itself); a job may wait for another pool. */
RG_API void rg_pool_wait(rg_pool_t *p);

/* Closes the pool if needed, waits as rg_pool_wait does, and frees it.
 * NULL is a no-op.  Panics from one of the pool's own jobs, as
 * rg_pool_wait does. */
RG_API void rg_pool_free(rg_pool_t *p);

#endif /* RINGO_POOL_H */
