// SPDX-License-Identifier: MIT
/* Part of <ringo.h>; include that instead. */
#ifndef RINGO_CTX_H
#define RINGO_CTX_H

/*
 * Contexts, Go's context package: cancellation, deadlines and
 * request-scoped values carried down a tree of calls and goroutines.
 *
 *     rg_ctx_t *ctx = rg_ctx_with_timeout(rg_ctx_background(), 3 * RG_SECOND);
 *     rg_case_t cs[] = { RG_RECV(results, &r), RG_RECV(rg_ctx_done(ctx), NULL) };
 *     if (rg_select(cs, 2, true) == 1)
 *             printf("gave up: %s\n", strerror(-rg_ctx_err(ctx)));
 *     rg_ctx_cancel(ctx);             // Go's defer cancel()
 *     rg_ctx_release(ctx);            // what Go's collector would do
 *
 * Ownership.  C has no collector, so contexts are reference counted.
 * Every rg_ctx_with_* call returns a context holding one reference, the
 * creator's (or NULL with errno ENOMEM when out of memory).
 * As in Go, cancelling and freeing are two separate acts: rg_ctx_cancel cancels
 * (Go's cancel(): idempotent, call it as often as you like) and drops
 * no reference; rg_ctx_release drops one, and the last one frees the
 * context.  So Go's `defer cancel()` is rg_ctx_cancel then
 * rg_ctx_release, once each, from the creator.  Hand a context to a goroutine that may
 * outlive the caller's reference with rg_ctx_retain, and have the
 * goroutine rg_ctx_release it.  A child holds a reference on its parent,
 * so a parent stays valid while any descendant does; that reference is
 * the runtime's, counted apart from the program's, so releasing more
 * than the program holds (a second rg_ctx_release by the creator, say)
 * panics "context: release of a released context" even while a child
 * keeps the memory, and so do rg_ctx_retain and rg_ctx_with_* on a
 * context the program released.  Once the memory is freed that panic is
 * what AddressSanitizer builds give; other builds give it until the
 * memory is reused, and a use-after-free after that.  Background and
 * TODO are static: retain, release and cancel do nothing to them.
 *
 * When the runtime stops (rg_main returns, rg_shutdown), a deadline not
 * yet reached never fires: the context is not cancelled by it, a later
 * rg_ctx_cancel works as before, and a context already released is
 * freed then (its timer's reference goes with the runtime).
 *
 * NULL is accepted wherever a context is (as the I/O calls do): it reads
 * as Background.
 *
 * Every call here may be made from any thread (goroutine or foreign),
 * once the runtime runs.
 */

/* A context (Go's context.Context).  Opaque. */
typedef struct rg_ctx rg_ctx_t;

/* context.Background() / context.TODO(): static roots, never cancelled,
 * no deadline, no values. */
RG_API rg_ctx_t *rg_ctx_background(void);
RG_API rg_ctx_t *rg_ctx_todo(void);

/*
 * context.WithCancel(parent): a child of parent cancelled by
 * rg_ctx_cancel or when parent is.  If parent is already cancelled the
 * child is born cancelled, with parent's reason.  Returns the context
 * with one reference (the creator's; drop it with rg_ctx_release), or
 * NULL with errno ENOMEM when out of memory.  Check it: the calls that
 * take a context read NULL as Background, so an unchecked failure would
 * wait without the cancellation or deadline meant for it.
 */
RG_API rg_ctx_t *rg_ctx_with_cancel(rg_ctx_t *parent);

/*
 * context.WithDeadline(parent, t): as rg_ctx_with_cancel, and also
 * cancelled with -ETIMEDOUT when the monotonic clock (rg_now) reaches t.
 * If parent's deadline comes first, the child keeps parent's (and is
 * cancelled with it); if t has passed, it is born timed out.  The
 * deadline fires from the runtime's timer heap: no thread or goroutine
 * per context.
 */
RG_API rg_ctx_t *rg_ctx_with_deadline(rg_ctx_t *parent, int64_t t);

/* context.WithTimeout(parent, d): rg_ctx_with_deadline(parent, rg_now() + d). */
RG_API rg_ctx_t *rg_ctx_with_timeout(rg_ctx_t *parent, int64_t d);

/*
 * context.WithValue(parent, key, val): a child carrying key -> val.
 * Keys compare by address: use the address of a private static object
 * (static const char user_key; ... &user_key), never a string's
 * contents.  key must not be NULL (that panics).  val is not owned.
 * NULL with errno ENOMEM when out of memory, as rg_ctx_with_cancel.  A value context
 * has no cancellation of its own: it is cancelled, times out and reports
 * Done and Err exactly as its nearest cancellable ancestor does (so
 * rg_ctx_cancel on it does nothing).
 */
RG_API rg_ctx_t *rg_ctx_with_value(rg_ctx_t *parent, const void *key, void *val);

/*
 * Go's cancel(): cancels ctx and every descendant (reason -ECANCELED,
 * unless it was cancelled already: the first reason stays), closes their
 * Done channels.  Idempotent, as Go's cancel(): a second call does
 * nothing.  It drops no reference: rg_ctx_release does that, and using
 * ctx after its last release is a use-after-free.
 */
RG_API void rg_ctx_cancel(rg_ctx_t *ctx);

/* Takes one more reference for the program; returns ctx.  Panics on a
 * context whose references the program has all released. */
RG_API rg_ctx_t *rg_ctx_retain(rg_ctx_t *ctx);

/* Drops one of the program's references: the creator's (the one
 * rg_ctx_with_* returned) or one taken by rg_ctx_retain.  The last one
 * frees the context once no child or pending deadline needs it (a
 * context that was never cancelled is unhooked from its parent, not
 * cancelled: release is not cancel).  Panics when the program holds no
 * reference: more releases than rg_ctx_with_* plus rg_ctx_retain. */
RG_API void rg_ctx_release(rg_ctx_t *ctx);

/*
 * ctx.Done(): a channel of zero-size elements that is closed when ctx is
 * cancelled (receive from it in rg_select).  NULL, which is never ready,
 * for a context that can never be cancelled (Background, TODO, values
 * over them).  Contexts that share a cancellation share the channel.
 * The channel belongs to the context: never close or free it (rg_chan_close
 * on it panics "close of a receive-only channel", rg_chan_free "rg_chan_free
 * of a context's Done channel"; rg_ctx_release frees it), and use it only
 * while holding a reference.  The channel is made on the first
 * call; running out of memory then is fatal ("fatal error: out of
 * memory"), as in Go: NULL would read as "never done".
 */
RG_API rg_chan_t *rg_ctx_done(rg_ctx_t *ctx);

/* ctx.Err(): 0 while not cancelled, then -ECANCELED (cancelled) or
 * -ETIMEDOUT (deadline exceeded), Go's Canceled and DeadlineExceeded. */
RG_API int rg_ctx_err(const rg_ctx_t *ctx);

/* ctx.Deadline(): true and *t set to the earliest deadline of ctx and
 * its ancestors, false (and *t untouched) when none has one. */
RG_API bool rg_ctx_deadline(const rg_ctx_t *ctx, int64_t *t);

/* ctx.Value(key): the value of the nearest value context with key on
 * the way up from ctx, NULL if none. */
RG_API void *rg_ctx_value(const rg_ctx_t *ctx, const void *key);

#endif
