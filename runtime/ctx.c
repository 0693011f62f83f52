// SPDX-License-Identifier: MIT
/*
 * ctx.c — contexts (Go's context package) without a collector.
 *
 * Three kinds of node:
 *   ROOT    Background and TODO: static, never cancelled, not counted.
 *   CANCEL  WithCancel / WithDeadline / WithTimeout: owns a cancellation
 *           (err, Done channel, children, callbacks, maybe a timer).
 *   VALUE   WithValue: a key and a value; shares the cancellation of its
 *           nearest CANCEL ancestor (`canc`), as in Go.
 *
 * Tree and references:
 *   - `urefs` counts the program's references (the creator's, one per
 *     rg_ctx_retain); together they hold one of `refs`, dropped when
 *     urefs reaches 0.  The runtime's own references (children, timer,
 *     canceller) are in `refs` only, so a program that releases more
 *     than it holds meets urefs <= 0 and a panic while the node lives,
 *     instead of freeing it under a child.
 *   - Every node but a root holds one counted reference on `parent`, so
 *     walking up (values, deadline, canc) never meets freed memory while
 *     the caller holds a reference on the node it starts from.
 *   - A CANCEL node is linked into the children list of `anc`, its
 *     nearest CANCEL ancestor, while both are live and it is not
 *     cancelled.  The list holds no reference (it would make a cycle
 *     with the child's reference on its parent): a child leaves it when
 *     it is cancelled or freed, so the list never keeps a dead child.
 *   - The canceller of `anc` takes a reference on each child it finds
 *     (only if the child is not already dying: refs > 0), claims it,
 *     unlinks it, and finishes it outside the locks.  A dying child
 *     (refs == 0) is left in the list; it unlinks itself under
 *     anc->lock before it releases its parent reference, so anc
 *     outlives that.
 *   - An armed deadline timer holds a reference, dropped by whoever
 *     disarms it (rg__timer_del returned true), by the timer's fn when
 *     it has fired, or by its `stopped` hook when the runtime stops
 *     first (teardown disarms every timer).
 *   - The Done channel is an owned channel (rg__chan_init_owned): the
 *     context frees it, and rg_chan_free on it panics.
 *
 * Cancellation: the thread that sets a node's err ("claims" it, once,
 * under the node's lock) owns the rest of that node's cancellation:
 * closing its Done channel, running its callbacks, unlinking it from
 * anc, disarming its timer and claiming its children.  A parent's
 * canceller and a child's own canceller may race; whoever claims the
 * child first does the work, the other skips it.  Descendants are
 * processed from a work list threaded through `work_next`, a field only
 * the claimer touches, not by recursion, so a deep chain cannot
 * overflow a stack (the timer fn runs on the scheduler's stack).
 * Nothing on this path blocks: it takes context locks, the Done
 * channel's lock and a timer heap's lock, so it may run from a timer fn.
 *
 * Locking rules: context locks nest only parent -> child (a canceller
 * claiming a child of the node whose lock it holds); a child never
 * takes its ancestor's lock while holding its own.  No lock is held
 * while calling a callback or closing a channel on cancellation.  Other
 * nestings: ctx->lock -> p->tlock (arming the timer), ctx->lock ->
 * channel lock (rg_ctx_done making a channel for a cancelled context).
 *
 * Rejected designs:
 *   - A goroutine per context waiting on its parent's Done (what Go does
 *     for foreign Context implementations): a goroutine and a select per
 *     node, and cancellation latency of a scheduling round per level.
 *   - Children holding no reference on their parents, with parents
 *     cancelling children on release: a value lookup or Deadline on a
 *     child whose parent was released would walk into freed memory.
 *   - Strong references from parents to children: a cycle; children
 *     would live until the parent is cancelled, which for Background's
 *     direct children is never.
 *   - Creating every Done channel eagerly: most contexts are never
 *     selected on; a channel is an allocation.  It is made on first
 *     rg_ctx_done, closed at once if the context is already cancelled.
 *   - Pooling freed contexts: it would hide use-after-release from
 *     AddressSanitizer, which is the only detector a C user has.
 */
#include "ctx_cb.h"

#include "chan_impl.h"

#include <errno.h>
#include <stdlib.h>

#include "probes.h"
#include "sanitizer.h"
#ifdef RG_SAN_ASAN
#include <sanitizer/asan_interface.h>
#endif

enum { CTX_ROOT, CTX_CANCEL, CTX_VALUE };

#define CTX_NO_DEADLINE INT64_MAX

struct rg_ctx {
	/* The first 16 bytes are what malloc's free lists overwrite in
	 * freed memory: nothing there that a late release would read. */
	rg_ctx_t *parent;            /* counted; NULL for roots (immutable) */
	rg_ctx_t *canc;              /* nearest CANCEL node at or above, NULL
					if none; alive through parent (immutable) */
	_Atomic int32_t urefs;       /* the program's references: the
					creator's and rg_ctx_retain's; they
					hold one of refs between them */
	_Atomic int32_t refs;        /* references: the program's (one),
					children's, an armed timer's, the
					canceller's; unused by roots */
	uint8_t kind;                /* CTX_* (immutable) */
	bool has_timer;              /* deadline timer armed once (lock) */
	bool linked;                 /* in anc's children (anc->lock) */
	int64_t deadline;            /* earliest in the chain (immutable) */
	const void *key;             /* VALUE (immutable) */
	void *val;

	/* CANCEL nodes only. */
	rg__lock_t lock;             /* guards what is marked (lock) */
	_Atomic int err;             /* 0, then the reason: set once (lock) */
	_Atomic(rg_chan_t *) done;   /* made lazily (lock); closed on cancel */
	rg__list_t children;         /* linked CANCEL descendants, by sib (lock) */
	rg__list_t cbs;              /* armed callbacks (lock) */
	rg_ctx_t *anc;               /* list we are linked in (immutable) */
	rg__link_t sib;              /* link in anc->children (anc->lock) */
	rg_ctx_t *work_next;         /* canceller's work list (claimer) */
	rg_chan_t *claim_done;       /* Done as it was when claimed (claimer) */
	rg_timer timer;              /* the deadline (has_timer) */
};

static rg_ctx_t ctx_background = {.kind = CTX_ROOT, .deadline = CTX_NO_DEADLINE};
static rg_ctx_t ctx_todo = {.kind = CTX_ROOT, .deadline = CTX_NO_DEADLINE};

rg_ctx_t *rg_ctx_background(void)
{
	return &ctx_background;
}

rg_ctx_t *rg_ctx_todo(void)
{
	return &ctx_todo;
}

/* ---- references ---------------------------------------------------- */

static void done_free(rg_chan_t *c);

static bool counted(const rg_ctx_t *c)
{
	return c && c->kind != CTX_ROOT;
}

/* Takes a reference on c unless it is already dying.  Used on children
 * found through a list, which holds none. */
static bool ctx_tryget(rg_ctx_t *c)
{
	int32_t r = atomic_load_explicit(&c->refs, memory_order_relaxed);
	while (r > 0)
		if (atomic_compare_exchange_weak_explicit(&c->refs, &r, r + 1,
				memory_order_relaxed, memory_order_relaxed))
			return true;
	return false;
}

static void children_unlink(rg_ctx_t *anc, rg_ctx_t *c)
{
	rg__list_remove(&anc->children, &c->sib);
	c->linked = false;
}

/* Takes c out of its ancestor's children if it is still there. */
static void ctx_unhook(rg_ctx_t *c)
{
	rg_ctx_t *anc = c->anc;
	if (!anc)
		return;
	rg__lock(&anc->lock);
	if (c->linked)
		children_unlink(anc, c);
	rg__unlock(&anc->lock);
}

/* Frees c, whose last reference is gone, then drops its reference on
 * its parent, and so on up (a loop: chains may be long). */
static void ctx_free(rg_ctx_t *c)
{
	while (c) {
		if (c->kind == CTX_CANCEL) {
			ctx_unhook(c);
			/* Children and callbacks would hold references. */
			if (!rg__list_empty(&c->children) || !rg__list_empty(&c->cbs))
				rg__throw("context freed with children or callbacks");
			done_free(atomic_load_explicit(&c->done, memory_order_relaxed));
		}
		rg_ctx_t *p = c->parent;
		free(c);
		c = NULL;
		/* acq_rel: our uses of p happen before whoever frees it, and
		 * if that is us we see everyone else's. */
		if (counted(p) &&
		    atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
			c = p;
	}
}

static void ctx_put(rg_ctx_t *c)
{
	if (!counted(c))
		return;
	int32_t r = atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel);
	if (r == 1)
		ctx_free(c);
	else if (RG_UNLIKELY(r <= 0))
		rg__throw("context: internal reference count below zero");
}

/* An internal reference (a child's on its parent, a canceller's). */
static rg_ctx_t *ctx_get(rg_ctx_t *c)
{
	if (counted(c))
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

/*
 * The program's references are counted apart from the runtime's
 * (children, timer, canceller), so that releasing more than was
 * retained panics while the context lives, even when a child still
 * holds it: one count for both would free it under the child.  Once it
 * is freed, urefs reads 0 until the memory is reused (it lies past what
 * malloc's free lists write), and under AddressSanitizer the freed
 * memory is poisoned: both say "released" instead of corrupting memory.
 */
static void uref_check(const rg_ctx_t *c, const char *what)
{
#ifdef RG_SAN_ASAN
	if (c && __asan_address_is_poisoned(&c->urefs))
		rg_panic("context: %s of a released context", what);
#else
	(void)c, (void)what;
#endif
}

rg_ctx_t *rg_ctx_retain(rg_ctx_t *ctx)
{
	uref_check(ctx, "retain"); /* before counted() reads the node */
	if (!counted(ctx))
		return ctx;
	/* Relaxed: the caller already holds a reference, which orders
	 * everything that matters (as for shared_ptr copies). */
	if (atomic_fetch_add_explicit(&ctx->urefs, 1, memory_order_relaxed) <= 0)
		rg_panic("context: retain of a released context");
	return ctx;
}

void rg_ctx_release(rg_ctx_t *ctx)
{
	uref_check(ctx, "release");
	if (!counted(ctx))
		return;
	int32_t r = atomic_fetch_sub_explicit(&ctx->urefs, 1, memory_order_acq_rel);
	if (RG_UNLIKELY(r <= 0)) {
		atomic_fetch_add_explicit(&ctx->urefs, 1, memory_order_relaxed);
		rg_panic("context: release of a released context "
			 "(more rg_ctx_release than rg_ctx_with_* and rg_ctx_retain)");
	}
	if (r == 1)
		ctx_put(ctx); /* the program's reference */
}

/* ---- cancellation -------------------------------------------------- */

/*
 * Claims c's cancellation for the caller (c->lock held, c->err == 0):
 * sets err, and snapshots the Done channel that exists now (one made
 * later by rg_ctx_done is born closed).  The claimer alone owns
 * claim_done and work_next from here on, and must ctx_finish(c).
 */
static void ctx_claim_locked(rg_ctx_t *c, int err)
{
	/* Release: what the canceller did before is visible to those who
	 * see err (rg_ctx_err's acquire load). */
	atomic_store_explicit(&c->err, err, memory_order_release);
	c->claim_done = atomic_load_explicit(&c->done, memory_order_relaxed);
}

/*
 * Carries out the cancellation of c, which the caller claimed: claims
 * its live children (appending them, referenced, to *work), closes its
 * Done channel, runs its callbacks, unhooks it from anc and disarms its
 * timer.  After the claim nothing new can join c (children are born
 * cancelled, callbacks run at once, timers are not armed), so the lists
 * taken here are final.  Runs on any thread, timer fns included: it
 * blocks on nothing.
 */
static void ctx_finish(rg_ctx_t *c, int err, rg_ctx_t **work)
{
	rg__lock(&c->lock);
	for (rg__link_t *l = rg__list_first(&c->children), *next; l; l = next) {
		rg_ctx_t *ch = RG__LIST_ENTRY(l, rg_ctx_t, sib);
		next = l->next;
		/* Parent before child: the only place two context locks
		 * nest.  Skip a child claimed by another canceller (it
		 * unhooks itself when it finishes) or already dying (refs
		 * 0: it unhooks itself before it is freed). */
		rg__lock(&ch->lock);
		bool take = !atomic_load_explicit(&ch->err, memory_order_relaxed) &&
			    ctx_tryget(ch);
		if (take)
			ctx_claim_locked(ch, err);
		rg__unlock(&ch->lock);
		if (!take)
			continue;
		children_unlink(c, ch);
		ch->work_next = *work;
		*work = ch;
	}
	rg__list_t cbs = rg__list_take_all(&c->cbs);
	RG__LIST_FOR_EACH(l, &cbs)
		atomic_store_explicit(&RG__LIST_ENTRY(l, rg__ctx_cb_t, link)->state,
				      RG_CTX_CB_FIRING, memory_order_relaxed);
	bool timer = c->has_timer;
	rg__unlock(&c->lock);

	RG_PROBE(ctx_cancel, c, err);
	if (c->claim_done)
		rg__chan_close(c->claim_done);
	for (rg__link_t *l = cbs.head, *next; l; l = next) {
		rg__ctx_cb_t *cb = RG__LIST_ENTRY(l, rg__ctx_cb_t, link);
		/* After DONE the record may vanish (its unregister returns). */
		next = l->next;
		cb->fn(cb->arg, err);
		/* Release: fn's effects happen before unregister returns. */
		atomic_store_explicit(&cb->state, RG_CTX_CB_DONE, memory_order_release);
	}
	ctx_unhook(c);
	/* A one-shot timer that fired (we may be its fn) reads IDLE: del
	 * returns false and the fn drops the reference itself. */
	if (timer && rg__timer_del(&c->timer))
		ctx_put(c);
}

/* Cancels root (on which the caller holds a reference) and every
 * descendant with err, unless root was cancelled already. */
static void ctx_cancel_tree(rg_ctx_t *root, int err)
{
	rg__lock(&root->lock);
	bool mine = !atomic_load_explicit(&root->err, memory_order_relaxed);
	if (mine)
		ctx_claim_locked(root, err);
	rg__unlock(&root->lock);
	if (!mine)
		return;
	/* A work list, not recursion: chains may be deep, and a timer fn
	 * runs on the scheduler's stack. */
	rg_ctx_t *work = ctx_get(root);
	root->work_next = NULL;
	while (work) {
		rg_ctx_t *c = work;
		work = c->work_next;
		ctx_finish(c, err, &work);
		ctx_put(c);
	}
}

static void ctx_timer_fire(void *arg, int64_t now)
{
	rg_ctx_t *c = arg;
	(void)now;
	ctx_cancel_tree(c, -ETIMEDOUT);
	ctx_put(c); /* the timer's reference */
}

/* The runtime stopped before the deadline: the timer will never fire,
 * and its reference goes (a context released but not cancelled is freed
 * here, not leaked).  The context is not cancelled: its deadline did
 * not pass.  A later rg_ctx_cancel finds the timer IDLE and drops
 * nothing more. */
static void ctx_timer_stopped(void *arg)
{
	ctx_put(arg);
}

/* Go's cancel(): idempotent (ctx_cancel_tree does nothing to a node
 * cancelled already), and it drops no reference: freeing is the
 * reference count's business alone (rg_ctx_release), so a second
 * cancel, deferred-cleanup style, never meets freed memory. */
void rg_ctx_cancel(rg_ctx_t *ctx)
{
	if (counted(ctx) && ctx->kind == CTX_CANCEL)
		ctx_cancel_tree(ctx, -ECANCELED);
}

/* ---- creation ------------------------------------------------------ */

/* A node under parent holding one reference, or NULL with errno ENOMEM
 * (nothing taken: the constructors return that NULL as it is). */
static rg_ctx_t *ctx_alloc(rg_ctx_t *parent, int kind)
{
	uref_check(parent, "child");
	if (counted(parent) && atomic_load_explicit(&parent->urefs, memory_order_relaxed) <= 0)
		rg_panic("context: child of a released context");
	rg_ctx_t *c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	atomic_init(&c->refs, 1);
	atomic_init(&c->urefs, 1);
	c->kind = (uint8_t)kind;
	c->parent = ctx_get(parent);
	c->canc = parent->canc;
	c->deadline = parent->deadline;
	return c;
}

/* A CANCEL node under parent with its own deadline `when`
 * (CTX_NO_DEADLINE: none). */
static rg_ctx_t *ctx_new_cancel(rg_ctx_t *parent, int64_t when)
{
	if (!parent)
		parent = &ctx_background;
	rg_ctx_t *c = ctx_alloc(parent, CTX_CANCEL);
	if (!c)
		return NULL;
	rg_ctx_t *anc = parent->canc;
	bool own_deadline = when < c->deadline;
	int born = 0;

	c->canc = c;
	c->anc = anc;
	if (own_deadline)
		c->deadline = when;
	if (own_deadline && when <= rg__nanotime())
		born = -ETIMEDOUT;

	/* Link under anc's lock, so that anc's cancellation either sees
	 * us in its list or happened before and is inherited here. */
	if (anc) {
		rg__lock(&anc->lock);
		int perr = atomic_load_explicit(&anc->err, memory_order_relaxed);
		if (perr)
			born = perr; /* the parent's reason wins, as in Go */
		if (!born) {
			rg__list_push_front(&anc->children, &c->sib);
			c->linked = true;
		}
		rg__unlock(&anc->lock);
	}
	if (born) {
		/* Not yet shared: no lock needed, and nothing to close. */
		atomic_store_explicit(&c->err, born, memory_order_relaxed);
		RG_PROBE(ctx_cancel, c, born);
		return c;
	}
	if (own_deadline) {
		/* Under our lock, against a concurrent cancellation through
		 * anc: either it sees has_timer and disarms, or we see err
		 * and arm nothing. */
		rg__lock(&c->lock);
		if (!atomic_load_explicit(&c->err, memory_order_relaxed)) {
			atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
			c->has_timer = true;
			c->timer.when = when;
			c->timer.fn = ctx_timer_fire;
			c->timer.stopped = ctx_timer_stopped;
			c->timer.arg = c;
			rg__timer_add(&c->timer);
		}
		rg__unlock(&c->lock);
	}
	return c;
}

rg_ctx_t *rg_ctx_with_cancel(rg_ctx_t *parent)
{
	return ctx_new_cancel(parent, CTX_NO_DEADLINE);
}

rg_ctx_t *rg_ctx_with_deadline(rg_ctx_t *parent, int64_t t)
{
	return ctx_new_cancel(parent, t);
}

rg_ctx_t *rg_ctx_with_timeout(rg_ctx_t *parent, int64_t d)
{
	int64_t now = rg__nanotime();
	/* Saturate: a huge timeout is no deadline, not an overflow. */
	int64_t t = d > CTX_NO_DEADLINE - now ? CTX_NO_DEADLINE - 1 : now + d;
	return ctx_new_cancel(parent, t);
}

rg_ctx_t *rg_ctx_with_value(rg_ctx_t *parent, const void *key, void *val)
{
	if (!key)
		rg_panic("context: nil key");
	rg_ctx_t *c = ctx_alloc(parent ? parent : &ctx_background, CTX_VALUE);
	if (!c)
		return NULL;
	c->key = key;
	c->val = val;
	return c;
}

/* ---- queries ------------------------------------------------------- */

/* rg_chan_free on a Done channel: the context owns it (ctx_free frees
 * it); freeing it under the context would make its cancellation close
 * freed memory ("close of closed channel", or worse). */
static void done_release(rg_chan_t *c)
{
	(void)c;
	rg_panic("rg_chan_free of a context's Done channel: it belongs to the "
		 "context (rg_ctx_release frees it)");
}

/* A Done channel: an owned channel (rg__chan_init_owned), so that
 * rg_chan_free on it panics with what went wrong. */
static rg_chan_t *done_make(void)
{
	void *mem = NULL;
	if (posix_memalign(&mem, RG_CACHELINE, rg__chan_owned_size(0, 0)))
		rg__throw("out of memory making a context's Done channel");
	return rg__chan_init_owned(mem, 0, 0, done_release);
}

static void done_free(rg_chan_t *c)
{
	if (!c)
		return;
	if (rg__chan_has_waiters(c) && !rg__gen_gone(c->wgen))
		rg__throw("context freed while goroutines wait on its Done channel");
	RG_PROBE(chan_free, c); /* its chan_make fired in init_owned */
	free(c);
}

rg_chan_t *rg_ctx_done(rg_ctx_t *ctx)
{
	rg_ctx_t *k = ctx ? ctx->canc : NULL;
	if (!k)
		return NULL;
	/* Acquire: pairs with the release store below (the channel is
	 * fully made before another thread uses it). */
	rg_chan_t *d = atomic_load_explicit(&k->done, memory_order_acquire);
	if (d)
		return d;
	rg__lock(&k->lock);
	d = atomic_load_explicit(&k->done, memory_order_relaxed);
	if (!d) {
		d = done_make();
		/* Cancelled already: born closed (the claim's snapshot did
		 * not include it).  Otherwise a claim, under this lock, will
		 * snapshot it and its claimer will close it. */
		if (atomic_load_explicit(&k->err, memory_order_relaxed))
			rg__chan_close(d);
		atomic_store_explicit(&k->done, d, memory_order_release);
	}
	rg__unlock(&k->lock);
	return d;
}

int rg_ctx_err(const rg_ctx_t *ctx)
{
	const rg_ctx_t *k = ctx ? ctx->canc : NULL;
	/* Acquire: pairs with the canceller's release store. */
	return k ? atomic_load_explicit(&k->err, memory_order_acquire) : 0;
}

bool rg_ctx_deadline(const rg_ctx_t *ctx, int64_t *t)
{
	if (!ctx || ctx->deadline == CTX_NO_DEADLINE)
		return false;
	*t = ctx->deadline;
	return true;
}

void *rg_ctx_value(const rg_ctx_t *ctx, const void *key)
{
	for (; ctx; ctx = ctx->parent)
		if (ctx->kind == CTX_VALUE && ctx->key == key)
			return ctx->val;
	return NULL;
}

/* ---- callbacks (ctx.h) --------------------------------------------- */

bool rg__ctx_cb_register(rg_ctx_t *ctx, rg__ctx_cb_t *cb)
{
	rg_ctx_t *k = ctx ? ctx->canc : NULL;

	cb->owner = k;
	cb->link.next = cb->link.prev = NULL;
	atomic_store_explicit(&cb->state, RG_CTX_CB_IDLE, memory_order_relaxed);
	if (!k)
		return false;
	rg__lock(&k->lock);
	int err = atomic_load_explicit(&k->err, memory_order_relaxed);
	if (!err) {
		rg__list_push_front(&k->cbs, &cb->link);
		atomic_store_explicit(&cb->state, RG_CTX_CB_ARMED, memory_order_relaxed);
	}
	rg__unlock(&k->lock);
	if (!err)
		return true;
	cb->owner = NULL;
	cb->fn(cb->arg, err);
	atomic_store_explicit(&cb->state, RG_CTX_CB_DONE, memory_order_relaxed);
	return false;
}

bool rg__ctx_cb_unregister(rg__ctx_cb_t *cb)
{
	rg_ctx_t *k = cb->owner;
	if (!k)
		return false;
	rg__lock(&k->lock);
	if (atomic_load_explicit(&cb->state, memory_order_relaxed) == RG_CTX_CB_ARMED) {
		rg__list_remove(&k->cbs, &cb->link);
		atomic_store_explicit(&cb->state, RG_CTX_CB_IDLE, memory_order_relaxed);
		rg__unlock(&k->lock);
		cb->owner = NULL;
		return true;
	}
	rg__unlock(&k->lock);
	/* A canceller took it: fn runs without blocking, so wait by
	 * yielding.  Acquire: pairs with the canceller's DONE store. */
	while (atomic_load_explicit(&cb->state, memory_order_acquire) != RG_CTX_CB_DONE)
		rg_yield();
	cb->owner = NULL;
	return false;
}
