// SPDX-License-Identifier: MIT
/*
 * ctx_cb.h — the runtime's internal view of contexts: cancellation
 * callbacks, for layers that must act when a context is cancelled
 * rather than wait on its Done channel (the io_uring layer cancels an
 * in-flight request with IORING_OP_ASYNC_CANCEL; a semaphore acquire
 * dequeues its waiter).
 *
 *     rg__ctx_cb_t cb = { .fn = cancel_my_sqe, .arg = req };
 *     if (rg__ctx_cb_register(ctx, &cb)) {
 *             ...wait for the completion...
 *             rg__ctx_cb_unregister(&cb);   // before cb's frame dies
 *     } else if (rg_ctx_err(ctx)) {
 *             // already cancelled: cancel_my_sqe ran before register returned
 *     }
 */
#ifndef RG_CTX_INTERNAL_H
#define RG_CTX_INTERNAL_H

#include "list.h"
#include "rt.h"

enum rg__ctx_cb_state {
	RG_CTX_CB_IDLE = 0,   /* not registered (or unregistered) */
	RG_CTX_CB_ARMED,      /* in its context's list */
	RG_CTX_CB_FIRING,     /* taken by a canceller; fn running */
	RG_CTX_CB_DONE,       /* fn returned */
};

/*
 * A cancellation callback.  The caller owns the record (typically on
 * its stack), fills fn and arg, and keeps it, and a reference on the
 * context, alive until rg__ctx_cb_unregister returns.
 *
 * fn(arg, err) runs once, with the cancellation reason (-ECANCELED or
 * -ETIMEDOUT), on whichever thread cancels: a goroutine, a foreign
 * thread, or the scheduler running a deadline's timer with no goroutine
 * at all.  So fn must not block or park: it may take short runtime
 * locks (rg__lock_t), ready goroutines, close channels, submit to a
 * ring through a lock-protected path, and nothing else.
 */
typedef struct rg__ctx_cb {
	void (*fn)(void *arg, int err);
	void *arg;
	/* Private. */
	rg__link_t link;                 /* in owner's cbs (owner->lock) */
	rg_ctx_t *owner;                 /* context whose list holds it */
	_Atomic uint32_t state;          /* enum rg__ctx_cb_state */
} rg__ctx_cb_t;

/*
 * Registers cb to run when ctx is cancelled.  Returns true if it was
 * registered (call rg__ctx_cb_unregister later).  Returns false if not:
 * either ctx can never be cancelled (fn is not called), or it is
 * cancelled already, and then fn has run, on the caller, before this
 * returns (rg_ctx_err(ctx) tells which).  Any thread.
 */
bool rg__ctx_cb_register(rg_ctx_t *ctx, rg__ctx_cb_t *cb) RG_HIDDEN;

/*
 * Unregisters cb.  Returns true if fn will never run; false if it ran
 * or was running, in which case this waits until fn has returned.  After
 * it returns the record may be reused or freed.  Call it once per
 * successful register, never from fn itself.  Any thread.
 */
bool rg__ctx_cb_unregister(rg__ctx_cb_t *cb) RG_HIDDEN;

#endif
