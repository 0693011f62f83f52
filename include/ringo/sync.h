// SPDX-License-Identifier: MIT
/* Part of <ringo.h>; include that instead. */
#ifndef RINGO_SYNC_H
#define RINGO_SYNC_H

/*
 * The sync package: Mutex, RWMutex, WaitGroup, Once, Cond.
 *
 * As in Go, a zero-initialised value is ready to use and must not be
 * copied once used (waiters point into it).  Nothing needs freeing.
 *
 *     static rg_mutex_t mu;            // or: rg_mutex_t mu = {0};
 *     rg_mutex_lock(&mu); counter++; rg_mutex_unlock(&mu);
 *
 * Every call may be made from a goroutine (a goroutine that must wait
 * parks; its P runs other goroutines) or from a foreign OS thread of the
 * host program once the runtime runs (the thread sleeps on a futex).
 * Locks are not owned by a goroutine: one may lock and another unlock,
 * as in Go.
 *
 * Memory: an unlock happens before the lock that acquires next; Done
 * happens before the Wait it releases returns; the function passed to
 * rg_once_do happens before any rg_once_do on the same once returns.
 *
 * Atomics (Go's sync/atomic) are C11 <stdatomic.h>, used directly:
 *
 *     static _Atomic int64_t ops;
 *     atomic_fetch_add_explicit(&ops, 1, memory_order_relaxed);
 *
 * The fields below are private: they are public only so that the values
 * can live in user structs and be zero-initialised.
 */

/* Private: the runtime accesses these words atomically; C++ sees plain
 * integers of the same size and alignment (it never touches them). */
#ifdef __cplusplus
#define RG__ATOMIC(T) T
#else
#define RG__ATOMIC(T) _Atomic T
#endif

/* Private: a FIFO of waiters, guarded by a futex lock word beside it.
 * head/tail point at the links of waiter records on the waiters' own
 * stacks (the runtime's list, runtime/list.h; zero is empty). */
struct rg__link;
typedef struct rg__waitq {
	struct rg__link *head;
	struct rg__link *tail;
} rg__waitq_t;

/* Private: a counting semaphore (Go's runtime sema) under RWMutex. */
typedef struct rg__sema {
	RG__ATOMIC(uint32_t) count;   /* tokens not yet taken */
	RG__ATOMIC(uint32_t) qlock;   /* guards q */
	rg__waitq_t q;
} rg__sema_t;

/* ---- Mutex ------------------------------------------------------- */

/* sync.Mutex.  Zero value: unlocked. */
typedef struct rg_mutex {
	RG__ATOMIC(uint32_t) state;   /* locked, woken, starving, waiters */
	RG__ATOMIC(uint32_t) qlock;   /* guards q and waiter increments */
	rg__waitq_t q;
} rg_mutex_t;

/* Locks mu, waiting while another holds it.  Not reentrant: locking a
 * mutex the caller holds waits forever (the deadlock detector reports
 * it when no goroutine can run).  Any thread. */
RG_API void rg_mutex_lock(rg_mutex_t *mu);

/* Unlocks mu.  Panics "sync: unlock of unlocked mutex" if it is not
 * locked.  Any thread, not necessarily the one that locked it. */
RG_API void rg_mutex_unlock(rg_mutex_t *mu);

/* Locks mu if that needs no waiting; true if it did.  Fails while the
 * mutex is locked or is handing itself to a waiter.  Any thread. */
RG_API bool rg_mutex_trylock(rg_mutex_t *mu);

/* ---- RWMutex ----------------------------------------------------- */

/* sync.RWMutex: any number of readers or one writer.  A writer waiting
 * in rg_rwmutex_lock keeps new readers out, so readers cannot starve
 * it; readers that a writer's unlock releases run before the next
 * writer.  As in Go, a reader must not rlock again while it holds a
 * read lock (a writer queued in between would deadlock both).
 * Zero value: unlocked. */
typedef struct rg_rwmutex {
	rg_mutex_t w;                        /* held by a writer (pending or active) */
	rg__sema_t writer_sem;               /* the writer waits for readers */
	rg__sema_t reader_sem;               /* readers wait for the writer */
	RG__ATOMIC(int32_t) reader_count;    /* readers; < 0: a writer is in */
	RG__ATOMIC(int32_t) reader_wait;     /* readers the writer waits for */
} rg_rwmutex_t;

/* Takes a read lock.  Any thread. */
RG_API void rg_rwmutex_rlock(rg_rwmutex_t *rw);

/* Drops a read lock.  Panics "sync: RUnlock of unlocked RWMutex" when
 * none is held.  Any thread. */
RG_API void rg_rwmutex_runlock(rg_rwmutex_t *rw);

/* Takes the write lock, waiting for other writers and then for the
 * readers inside.  Any thread. */
RG_API void rg_rwmutex_lock(rg_rwmutex_t *rw);

/* Drops the write lock.  Panics "sync: Unlock of unlocked RWMutex" when
 * it is not write-locked.  Any thread. */
RG_API void rg_rwmutex_unlock(rg_rwmutex_t *rw);

/* Take a read / the write lock if that needs no waiting.  Any thread. */
RG_API bool rg_rwmutex_tryrlock(rg_rwmutex_t *rw);
RG_API bool rg_rwmutex_trylock(rg_rwmutex_t *rw);

/* ---- WaitGroup --------------------------------------------------- */

/* sync.WaitGroup.  Zero value: counter 0.  Reusable as soon as every
 * Wait of the previous round has returned, and free to release (free the
 * memory it lives in) as soon as a Wait returns, if nothing else will use
 * it: no rg_wg_done touches it after any Wait has returned. */
typedef struct rg_waitgroup {
	RG__ATOMIC(uint64_t) state;   /* counter << 32 | releasing << 31 | waiters */
	RG__ATOMIC(uint32_t) qlock;   /* guards q and the waiter count */
	uint32_t pad_;
	rg__waitq_t q;
} rg_waitgroup_t;

/* Adds n (may be negative) to the counter; when it reaches zero every
 * waiter is released.  Panics "sync: negative WaitGroup counter" if it
 * would go below zero (the counter is left unchanged).  As in Go, call
 * it with n > 0 before starting what will call rg_wg_done, not from it.
 * Any thread. */
RG_API void rg_wg_add(rg_waitgroup_t *wg, int n);

/* rg_wg_add(wg, -1).  Any thread. */
RG_API void rg_wg_done(rg_waitgroup_t *wg);

/* Waits until the counter is zero (returns at once if it is).  Any
 * number of goroutines and threads may wait together.  Any thread. */
RG_API void rg_wg_wait(rg_waitgroup_t *wg);

/* ---- Once -------------------------------------------------------- */

/* sync.Once.  Zero value: not done. */
typedef struct rg_once {
	RG__ATOMIC(uint32_t) done;    /* 1 once fn has returned */
	uint32_t pad_;
	rg_mutex_t m;                 /* held while fn runs */
} rg_once_t;

/* Calls fn(arg) if no call on once has run it yet.  Every caller
 * returns only after that one fn has returned, and sees what it wrote.
 * fn must not call rg_once_do on the same once (it would deadlock, as in
 * Go).  Any thread. */
RG_API void rg_once_do(rg_once_t *once, void (*fn)(void *), void *arg);

/* ---- Cond -------------------------------------------------------- */

/* sync.Cond.  Zero value ready; the mutex is passed to rg_cond_wait
 * (Go binds it at NewCond). */
typedef struct rg_cond {
	RG__ATOMIC(uint32_t) wait;    /* next ticket to hand a waiter */
	RG__ATOMIC(uint32_t) notify;  /* next ticket to wake */
	RG__ATOMIC(uint32_t) qlock;   /* guards q and notify's increments */
	uint32_t pad_;
	rg__waitq_t q;
} rg_cond_t;

/* Unlocks mu (which the caller holds), waits for a signal or broadcast
 * issued after this call began, and locks mu again before returning.
 * Wake-ups are FIFO.  As in Go, re-check the condition in a loop.
 * Any thread. */
RG_API void rg_cond_wait(rg_cond_t *c, rg_mutex_t *mu);

/* Wakes the longest-waiting waiter, if any.  Holding the mutex is
 * allowed, not required.  Any thread. */
RG_API void rg_cond_signal(rg_cond_t *c);

/* Wakes every waiter.  Any thread. */
RG_API void rg_cond_broadcast(rg_cond_t *c);

#endif
