// SPDX-License-Identifier: MIT
/*
 * test_ctx.c — contexts: cancellation trees, Done channels, deadlines
 * from the timer heap, values, reference counting, cancellation
 * callbacks (the internal API the I/O layer uses), foreign threads.
 *
 * Scenarios run as the main goroutine (rgc_main) and check with
 * rgcheck.h: CHECK in the main goroutine, GCHECK elsewhere.
 */
#include "helpers/rgcheck.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx_cb.h"
#include "helpers/rgpark.h"

#if defined(__SANITIZE_ADDRESS__)
#define RGT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RGT_ASAN 1
#endif
#endif

/* ---- scaffolding --------------------------------------------------- */

static void run(const char *procs, int (*scenario)(void *), void *arg)
{
	rgt_env("RINGO_PROCS", procs);
	rgc_main(scenario, arg);
}

/* Closed: a receive completes at once with ok == false. */
static bool done_closed(rg_ctx_t *ctx)
{
	rg_chan_t *d = rg_ctx_done(ctx);
	bool ok = true;
	return d && rg_chan_try_recv(d, NULL, &ok) == 0 && !ok;
}

/* ---- roots --------------------------------------------------------- */

/* Background, TODO and NULL: never cancelled, no Done channel, no
 * deadline, no values; cancel/retain/release do nothing to them. */
static int scen_roots(void *arg)
{
	(void)arg;
	rg_ctx_t *roots[] = {rg_ctx_background(), rg_ctx_todo(), NULL};
	CHECK(rg_ctx_background() != rg_ctx_todo());
	for (int i = 0; i < 3; i++) {
		rg_ctx_t *r = roots[i];
		int64_t t = 7;
		CHECK(rg_ctx_done(r) == NULL);
		CHECK(rg_ctx_err(r) == 0);
		CHECK(!rg_ctx_deadline(r, &t) && t == 7);
		CHECK(rg_ctx_value(r, &t) == NULL);
		CHECK(rg_ctx_retain(r) == r);
		rg_ctx_release(r);
		rg_ctx_cancel(r);
		rg_ctx_release(r);
		CHECK(rg_ctx_err(r) == 0);
	}
	/* A NULL parent reads as Background. */
	rg_ctx_t *c = rg_ctx_with_cancel(NULL);
	CHECK(rg_ctx_err(c) == 0 && rg_ctx_done(c) != NULL);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	return 0;
}

static void test_roots(void **state)
{
	(void)state;
	run("2", scen_roots, NULL);
}

/* ---- cancellation -------------------------------------------------- */

static const char key_a, key_b;

/* Cancelling a node cancels every descendant, through value nodes, and
 * nothing above or beside it; every Done channel is closed. */
static int scen_cancel_propagates(void *arg)
{
	(void)arg;
	rg_ctx_t *root = rg_ctx_with_cancel(rg_ctx_background());
	rg_ctx_t *a = rg_ctx_with_cancel(root);
	rg_ctx_t *av = rg_ctx_with_value(a, &key_a, "a");
	rg_ctx_t *avc = rg_ctx_with_cancel(av);
	rg_ctx_t *avcc = rg_ctx_with_cancel(avc);
	rg_ctx_t *b = rg_ctx_with_timeout(root, RG_HOUR);
	rg_ctx_t *bc = rg_ctx_with_cancel(b);
	rg_ctx_t *all[] = {root, a, av, avc, avcc, b, bc};

	/* Make some Done channels now, the others after cancellation. */
	rg_chan_t *d_avcc = rg_ctx_done(avcc);
	CHECK(rg_ctx_done(av) == rg_ctx_done(a)); /* shared cancellation */
	CHECK(!done_closed(avcc));

	rg_ctx_cancel(avc);                       /* a subtree only */
	rg_ctx_release(avc);
	CHECK(rg_ctx_err(avc) == -ECANCELED && rg_ctx_err(avcc) == -ECANCELED);
	CHECK(done_closed(avcc) && rg_ctx_done(avcc) == d_avcc);
	CHECK(rg_ctx_err(a) == 0 && rg_ctx_err(av) == 0 && rg_ctx_err(root) == 0);
	CHECK(rg_ctx_err(b) == 0 && !done_closed(a));

	rg_ctx_retain(root);                      /* to look at it after */
	rg_ctx_cancel(root);
	rg_ctx_release(root);
	for (int i = 0; i < 7; i++) {
		if (all[i] == avc)
			continue;                 /* its reference is gone */
		CHECK(rg_ctx_err(all[i]) == -ECANCELED);
		CHECK(done_closed(all[i]));
	}
	rg_ctx_release(root);
	rg_ctx_cancel(a);
	rg_ctx_release(a);
	rg_ctx_release(av);
	rg_ctx_cancel(avcc);
	rg_ctx_release(avcc);
	rg_ctx_cancel(b);
	rg_ctx_release(b);
	rg_ctx_cancel(bc);
	rg_ctx_release(bc);
	return 0;
}

static void test_cancel_propagates(void **state)
{
	(void)state;
	run("2", scen_cancel_propagates, NULL);
}

/* A child of a cancelled parent is born cancelled with the parent's
 * reason; the first reason sticks. */
static int scen_born_cancelled(void *arg)
{
	(void)arg;
	rg_ctx_t *p = rg_ctx_with_cancel(rg_ctx_background());
	rg_ctx_retain(p);
	rg_ctx_cancel(p);
	rg_ctx_release(p);
	rg_ctx_t *c = rg_ctx_with_timeout(p, RG_HOUR);
	rg_ctx_t *v = rg_ctx_with_value(c, &key_a, NULL);
	CHECK(rg_ctx_err(c) == -ECANCELED && rg_ctx_err(v) == -ECANCELED);
	CHECK(done_closed(v));
	rg_ctx_release(v);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	rg_ctx_release(p);

	rg_ctx_t *t = rg_ctx_with_timeout(rg_ctx_background(), -RG_SECOND);
	CHECK(rg_ctx_err(t) == -ETIMEDOUT && done_closed(t));
	rg_ctx_t *tc = rg_ctx_with_cancel(t);
	CHECK(rg_ctx_err(tc) == -ETIMEDOUT);
	rg_ctx_cancel(tc);
	rg_ctx_release(tc);
	rg_ctx_retain(t);
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	CHECK(rg_ctx_err(t) == -ETIMEDOUT); /* cancel after: reason kept */
	rg_ctx_release(t);
	return 0;
}

static void test_born_cancelled(void **state)
{
	(void)state;
	run("2", scen_born_cancelled, NULL);
}

struct waiter_arg {
	rg_ctx_t *ctx;
	rg_waitgroup_t wg;
	_Atomic int how;  /* 1: select saw Done closed, 2: recv saw it */
};

static void select_on_done(void *arg)
{
	struct waiter_arg *w = arg;
	rg_chan_t *never = NULL;
	rg_case_t cs[] = {RG_RECV(never, NULL), RG_RECV(rg_ctx_done(w->ctx), NULL)};
	int i = rg_select(cs, 2, true);
	if (i == 1 && !cs[1].ok)
		atomic_fetch_add(&w->how, 1);
	rg_ctx_release(w->ctx);
	rg_wg_done(&w->wg);
}

static void recv_on_done(void *arg)
{
	struct waiter_arg *w = arg;
	if (!rg_chan_recv(rg_ctx_done(w->ctx), NULL))
		atomic_fetch_add(&w->how, 2);
	rg_ctx_release(w->ctx);
	rg_wg_done(&w->wg);
}

/* Goroutines parked in rg_select and rg_chan_recv on Done stay parked
 * until the context is cancelled, then wake; each holds its own
 * reference, so the creator's cancel (which drops the creator's) cannot
 * free it under them. */
static int scen_done_wakes_waiters(void *arg)
{
	(void)arg;
	static struct waiter_arg w;
	memset(&w, 0, sizeof(w));
	w.ctx = rg_ctx_with_cancel(rg_ctx_background());
	rg_ctx_retain(w.ctx);
	rg_ctx_retain(w.ctx);
	rg_wg_add(&w.wg, 2);
	CHECK(rg_go(select_on_done, &w) == 0);
	CHECK(rg_go(recv_on_done, &w) == 0);
	CHECK(rgp_wait_parked(0, select_on_done, -1, 1, RGT_NEVER_MS));
	CHECK(rgp_wait_parked(0, recv_on_done, -1, 1, RGT_NEVER_MS));
	CHECK(atomic_load(&w.how) == 0);
	rg_ctx_cancel(w.ctx);
	rg_ctx_release(w.ctx);
	rg_wg_wait(&w.wg); /* only the cancel can end their waits */
	CHECK(atomic_load(&w.how) == 3);
	return 0;
}

static void test_done_wakes_waiters(void **state)
{
	(void)state;
	run("2", scen_done_wakes_waiters, NULL);
}

/* ---- deadlines ----------------------------------------------------- */

/* A timeout fires from the timer heap: not before its deadline, with
 * -ETIMEDOUT, and with no goroutine per context.  (How late it fires
 * on a loaded machine is bench_timers' to measure.) */
static int scen_timeout_fires(void *arg)
{
	(void)arg;
	int before = rg_num_goroutines();
	rg_ctx_t *many[100];
	for (int i = 0; i < 100; i++)
		many[i] = rg_ctx_with_timeout(rg_ctx_background(), RG_HOUR);
	CHECK(rg_num_goroutines() == before);

	int64_t t0 = rg_now();
	rg_ctx_t *c = rg_ctx_with_timeout(rg_ctx_background(), 20 * RG_MILLISECOND);
	int64_t dl = 0;
	CHECK(rg_ctx_deadline(c, &dl) && dl >= t0 + 20 * RG_MILLISECOND &&
	      dl <= rg_now() + 20 * RG_MILLISECOND);
	int early = rg_ctx_err(c);
	if (rg_now() < dl)  /* read before the deadline: not fired yet */
		CHECK(early == 0);
	CHECK(!rg_chan_recv(rg_ctx_done(c), NULL));
	int64_t now = rg_now();
	CHECK(now >= dl);                              /* not early */
	CHECK(now - dl < RGT_NEVER_MS * RG_MILLISECOND); /* not lost */
	CHECK(rg_ctx_err(c) == -ETIMEDOUT);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	CHECK(rg_num_goroutines() == before);

	/* Deadline in absolute monotonic time; Done made after it fired
	 * (watched through Err alone until then). */
	rg_ctx_t *d = rg_ctx_with_deadline(rg_ctx_background(), rg_now() + 5 * RG_MILLISECOND);
	int64_t give_up = rg_now() + RGT_NEVER_MS * RG_MILLISECOND;
	while (rg_ctx_err(d) == 0 && rg_now() < give_up)
		rg_sleep(RG_MILLISECOND);
	CHECK(rg_ctx_err(d) == -ETIMEDOUT && done_closed(d));
	rg_ctx_cancel(d);
	rg_ctx_release(d);

	for (int i = 0; i < 100; i++) {
		rg_ctx_cancel(many[i]);                /* disarms their timers */
		rg_ctx_release(many[i]);
	}
	return 0;
}

static void test_timeout_fires(void **state)
{
	(void)state;
	run("2", scen_timeout_fires, NULL);
}

/* A child asking for a later deadline than its parent's keeps the
 * parent's, and times out with it; an earlier one is its own; values
 * report the chain's deadline. */
static int scen_deadline_inheritance(void *arg)
{
	(void)arg;
	int64_t now = rg_now();
	rg_ctx_t *p = rg_ctx_with_deadline(rg_ctx_background(), now + 30 * RG_MILLISECOND);
	rg_ctx_t *late = rg_ctx_with_deadline(p, now + RG_HOUR);
	rg_ctx_t *early = rg_ctx_with_timeout(p, 5 * RG_MILLISECOND);
	int64_t made_early = rg_now();
	rg_ctx_t *v = rg_ctx_with_value(late, &key_a, NULL);
	rg_ctx_t *bv = rg_ctx_with_value(rg_ctx_background(), &key_b, NULL);
	rg_ctx_t *nodl = rg_ctx_with_cancel(bv);
	int64_t tp, tl, te, tv, tn = 0;

	CHECK(rg_ctx_deadline(p, &tp) && tp == now + 30 * RG_MILLISECOND);
	CHECK(rg_ctx_deadline(late, &tl) && tl == tp);
	CHECK(rg_ctx_deadline(early, &te) && te <= tp);
	if (made_early + 5 * RG_MILLISECOND < tp) /* not stalled past p's */
		CHECK(te < tp);
	CHECK(rg_ctx_deadline(v, &tv) && tv == tp);
	CHECK(!rg_ctx_deadline(nodl, &tn) && tn == 0);

	CHECK(!rg_chan_recv(rg_ctx_done(early), NULL));
	/* p may only have expired too if its own deadline has passed (a
	 * loaded machine can run early's timer late): read p's error, then
	 * the clock. */
	int perr = rg_ctx_err(p);
	int64_t after_early = rg_now();
	CHECK(rg_ctx_err(early) == -ETIMEDOUT && (perr == 0 || after_early >= tp));
	CHECK(!rg_chan_recv(rg_ctx_done(v), NULL));
	CHECK(rg_now() >= tp);
	CHECK(rg_ctx_err(p) == -ETIMEDOUT);
	CHECK(rg_ctx_err(late) == -ETIMEDOUT && rg_ctx_err(v) == -ETIMEDOUT);

	rg_ctx_release(v);
	rg_ctx_cancel(late);
	rg_ctx_release(late);
	rg_ctx_cancel(early);
	rg_ctx_release(early);
	rg_ctx_cancel(p);
	rg_ctx_release(p);
	rg_ctx_cancel(nodl);
	rg_ctx_release(nodl);
	rg_ctx_release(bv);
	return 0;
}

static void test_deadline_inheritance(void **state)
{
	(void)state;
	run("2", scen_deadline_inheritance, NULL);
}

/* ---- values -------------------------------------------------------- */

/* Value lookup walks up the chain through cancellable nodes; the
 * nearest binding of a key wins; keys compare by address.  Values over
 * Background have no Done channel. */
static int scen_values(void *arg)
{
	(void)arg;
	static const char key_c;
	int one = 1, two = 2, three = 3;
	rg_ctx_t *v1 = rg_ctx_with_value(rg_ctx_background(), &key_a, &one);
	rg_ctx_t *v2 = rg_ctx_with_value(v1, &key_b, &two);
	rg_ctx_t *c = rg_ctx_with_cancel(v2);
	rg_ctx_t *v3 = rg_ctx_with_value(c, &key_a, &three);

	CHECK(rg_ctx_done(v2) == NULL && rg_ctx_err(v2) == 0);
	CHECK(rg_ctx_value(v3, &key_a) == &three);   /* shadowed */
	CHECK(rg_ctx_value(c, &key_a) == &one);
	CHECK(rg_ctx_value(v3, &key_b) == &two);
	CHECK(rg_ctx_value(v3, &key_c) == NULL);
	CHECK(rg_ctx_value(v1, &key_b) == NULL);    /* not downwards */
	CHECK(rg_ctx_done(v3) == rg_ctx_done(c));

	/* The seed's context.WithValue(ctx, "userID", 42). */
	static const char user_id_key;
	int user_id = 42;
	rg_ctx_t *req = rg_ctx_with_value(rg_ctx_background(), &user_id_key, &user_id);
	CHECK(*(int *)rg_ctx_value(req, &user_id_key) == 42);
	rg_ctx_release(req);

	rg_ctx_cancel(v3);   /* a value node: just drops the reference */
	rg_ctx_release(v3);
	CHECK(rg_ctx_err(c) == 0);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	rg_ctx_release(v2);
	rg_ctx_release(v1);
	return 0;
}

static void test_values(void **state)
{
	(void)state;
	run("2", scen_values, NULL);
}

/* ---- references ---------------------------------------------------- */

struct holder {
	rg_ctx_t *ctx;
	rg_chan_t *released;  /* the creator dropped its last reference */
	rg_waitgroup_t wg;
	_Atomic int saw;
};

static void holder_goroutine(void *arg)
{
	struct holder *h = arg;
	rg_chan_recv(h->released, NULL); /* outlive the creator's reference */
	if (rg_ctx_err(h->ctx) == -ECANCELED && done_closed(h->ctx) &&
	    *(int *)rg_ctx_value(h->ctx, &key_a) == 7)
		atomic_store(&h->saw, 1);
	rg_ctx_release(h->ctx);
	rg_wg_done(&h->wg);
}

/* A goroutine's own reference keeps a context (and its ancestors)
 * valid after the creator cancelled it and dropped every reference of
 * its own; a released child leaves its parent's list, so cancelling the
 * parent later never touches it (ASan would report it). */
static int scen_lifetimes(void *arg)
{
	(void)arg;
	static struct holder h;
	static int seven = 7;
	memset(&h, 0, sizeof(h));
	h.released = rg_chan_make(0, 0);
	rg_ctx_t *v = rg_ctx_with_value(rg_ctx_background(), &key_a, &seven);
	h.ctx = rg_ctx_with_cancel(v);
	rg_ctx_release(v);            /* h.ctx keeps v alive */
	rg_wg_add(&h.wg, 1);
	rg_ctx_retain(h.ctx);         /* the goroutine's reference */
	CHECK(rg_go(holder_goroutine, &h) == 0);
	rg_ctx_cancel(h.ctx);         /* creator done: the goroutine's ref remains */
	rg_ctx_release(h.ctx);
	rg_chan_close(h.released);
	rg_wg_wait(&h.wg);
	rg_chan_free(h.released);
	CHECK(atomic_load(&h.saw) == 1);

	/* Children released (not cancelled) and cancelled before their
	 * parent: all gone from its list by the time it is cancelled. */
	rg_ctx_t *p = rg_ctx_with_cancel(rg_ctx_background());
	for (int i = 0; i < 1000; i++) {
		rg_ctx_t *c = rg_ctx_with_timeout(p, RG_HOUR);
		rg_ctx_t *cc = rg_ctx_with_cancel(c);
		if (i % 2)
			rg_ctx_release(cc);
		else {
			rg_ctx_cancel(cc);
			rg_ctx_release(cc);
		}
		if (i % 3)
			rg_ctx_release(c);   /* its timer keeps it until disarmed... */
		else {
			rg_ctx_cancel(c);
			rg_ctx_release(c);
		}
	}
	rg_ctx_cancel(p);            /* ...which the parent's cancel does */
	rg_ctx_release(p);
	return 0;
}

static void test_lifetimes(void **state)
{
	(void)state;
	run("2", scen_lifetimes, NULL);
}

static int uaf_main(void *arg)
{
	(void)arg;
	rg_ctx_t *c = rg_ctx_with_cancel(rg_ctx_background());
	rg_ctx_cancel(c);               /* the last reference */
	rg_ctx_release(c);
	return rg_ctx_err(c) == 0 ? 3 : 4; /* use after release */
}

static int uaf_child(void *arg)
{
	(void)arg;
	return rg_main(uaf_main, NULL);
}

/* Using a context after its last release is caught by AddressSanitizer
 * (contexts are freed, not pooled).  Only meaningful under SAN=address. */
static void test_use_after_release_asan(void **state)
{
	(void)state;
#ifdef RGT_ASAN
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(uaf_child, NULL, 60, res), 0);
	if (!strstr(res->out, "heap-use-after-free"))
		fprintf(stderr, "child output:\n%s\n", res->out);
	assert_non_null(strstr(res->out, "heap-use-after-free"));
	assert_false(res->exited && (res->code == 3 || res->code == 4));
	free(res);
#else
	(void)uaf_child;
	skip();
#endif
}

/* ---- callbacks ----------------------------------------------------- */

struct cbcount {
	_Atomic int calls;
	_Atomic int err;
};

static void count_cb(void *arg, int err)
{
	struct cbcount *c = arg;
	atomic_fetch_add(&c->calls, 1);
	atomic_store(&c->err, err);
}

/* A registered callback runs exactly once, with the reason, when its
 * context (or an ancestor) is cancelled; an unregistered one never; one
 * registered on a cancelled context runs at once; a context that can
 * never be cancelled registers nothing. */
static int scen_callbacks(void *arg)
{
	(void)arg;
	struct cbcount n1 = {0}, n2 = {0}, n3 = {0}, n4 = {0}, n5 = {0};
	rg__ctx_cb_t cb1 = {.fn = count_cb, .arg = &n1};
	rg__ctx_cb_t cb2 = {.fn = count_cb, .arg = &n2};
	rg__ctx_cb_t cb3 = {.fn = count_cb, .arg = &n3};
	rg__ctx_cb_t cb4 = {.fn = count_cb, .arg = &n4};
	rg__ctx_cb_t cb5 = {.fn = count_cb, .arg = &n5};

	rg_ctx_t *p = rg_ctx_with_cancel(rg_ctx_background());
	rg_ctx_t *v = rg_ctx_with_value(p, &key_a, NULL);
	rg_ctx_t *c = rg_ctx_with_timeout(v, RG_HOUR);
	CHECK(rg__ctx_cb_register(v, &cb1));    /* lands on p */
	CHECK(rg__ctx_cb_register(c, &cb2));
	CHECK(rg__ctx_cb_register(c, &cb3));
	CHECK(rg__ctx_cb_unregister(&cb3));     /* will never run */
	CHECK(!rg__ctx_cb_register(rg_ctx_background(), &cb4));
	CHECK(atomic_load(&n1.calls) == 0 && atomic_load(&n2.calls) == 0);

	rg_ctx_retain(p);
	rg_ctx_cancel(p);
	rg_ctx_release(p);
	CHECK(atomic_load(&n1.calls) == 1 && atomic_load(&n1.err) == -ECANCELED);
	CHECK(atomic_load(&n2.calls) == 1 && atomic_load(&n2.err) == -ECANCELED);
	CHECK(!rg__ctx_cb_unregister(&cb1));    /* ran: nothing to remove */
	CHECK(!rg__ctx_cb_unregister(&cb2));
	CHECK(atomic_load(&n3.calls) == 0 && atomic_load(&n4.calls) == 0);

	CHECK(!rg__ctx_cb_register(c, &cb5));   /* cancelled: runs now */
	CHECK(atomic_load(&n5.calls) == 1 && atomic_load(&n5.err) == -ECANCELED);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	CHECK(atomic_load(&n1.calls) == 1 && atomic_load(&n2.calls) == 1);
	rg_ctx_release(v);
	rg_ctx_release(p);

	/* A deadline runs callbacks from the timer heap, with -ETIMEDOUT. */
	struct cbcount n6 = {0};
	rg__ctx_cb_t cb6 = {.fn = count_cb, .arg = &n6};
	rg_ctx_t *t = rg_ctx_with_timeout(rg_ctx_background(), 5 * RG_MILLISECOND);
	/* Armed, or (a stalled machine) past its deadline already and run
	 * at once: either way it runs once, with -ETIMEDOUT. */
	(void)rg__ctx_cb_register(t, &cb6);
	rg_chan_recv(rg_ctx_done(t), NULL);
	/* Done closes just before the callbacks run, on the timer's M. */
	int64_t give_up = rg_now() + RGT_NEVER_MS * RG_MILLISECOND;
	while (!atomic_load(&n6.calls) && rg_now() < give_up)
		rg_sleep(RG_MILLISECOND);
	CHECK(atomic_load(&n6.calls) == 1 && atomic_load(&n6.err) == -ETIMEDOUT);
	CHECK(!rg__ctx_cb_unregister(&cb6));
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	return 0;
}

static void test_callbacks(void **state)
{
	(void)state;
	run("2", scen_callbacks, NULL);
}

struct slowcb {
	rg_ctx_t *ctx;
	rg_waitgroup_t wg;
	_Atomic int running, finished;
};

static void slow_cb(void *arg, int err)
{
	struct slowcb *s = arg;
	(void)err;
	atomic_store(&s->running, 1);
	int64_t end = rg_now() + 20 * RG_MILLISECOND;
	while (rg_now() < end)
		; /* busy, not blocked: callbacks must not park */
	atomic_store(&s->finished, 1);
}

static void slow_canceller(void *arg)
{
	struct slowcb *s = arg;
	rg_ctx_cancel(s->ctx);
	rg_ctx_release(s->ctx);
	rg_wg_done(&s->wg);
}

/* Unregistering a callback that a canceller is running waits until it
 * has returned, so the caller may then free what it uses. */
static int scen_unregister_waits(void *arg)
{
	(void)arg;
	static struct slowcb s;
	memset(&s, 0, sizeof(s));
	rg__ctx_cb_t cb = {.fn = slow_cb, .arg = &s};
	s.ctx = rg_ctx_with_cancel(rg_ctx_background());
	rg_ctx_t *mine = rg_ctx_retain(s.ctx);
	CHECK(rg__ctx_cb_register(mine, &cb));
	rg_wg_add(&s.wg, 1);
	CHECK(rg_go(slow_canceller, &s) == 0);
	while (!atomic_load(&s.running))
		rg_yield();
	CHECK(!rg__ctx_cb_unregister(&cb));
	CHECK(atomic_load(&s.finished) == 1);
	rg_wg_wait(&s.wg);
	rg_ctx_release(mine);
	return 0;
}

static void test_unregister_waits(void **state)
{
	(void)state;
	run("2", scen_unregister_waits, NULL);
}

/* ---- foreign threads and races ------------------------------------- */

struct foreign_cancel {
	rg_ctx_t *ctx;       /* the thread's reference */
	int64_t waiter;      /* the goroutine that waits on Done */
};

/* Cancels once the waiter is parked (in its select on Done: a cancel
 * before it would not test the wake-up). */
static void *cancel_thread(void *arg)
{
	struct foreign_cancel *f = arg;
	bool parked = rgp_wait_parked(f->waiter, NULL, -1, 1, RGT_NEVER_MS);
	rg_ctx_cancel(f->ctx);
	rg_ctx_release(f->ctx);
	return (void *)(intptr_t)parked;
}

/* A foreign thread cancels a context (with a deadline timer to disarm)
 * that a goroutine waits on. */
static int scen_foreign_cancel(void *arg)
{
	(void)arg;
	rg_ctx_t *c = rg_ctx_with_timeout(rg_ctx_background(), RG_HOUR);
	rg_ctx_t *child = rg_ctx_with_cancel(c);
	pthread_t t;
	static struct foreign_cancel f;
	f = (struct foreign_cancel){.ctx = rg_ctx_retain(c), .waiter = rg_goid()};
	rg__sched_ref();                /* the thread will wake us */
	CHECK(pthread_create(&t, NULL, cancel_thread, &f) == 0);
	rg_case_t cs[] = {RG_RECV(rg_ctx_done(child), NULL)};
	CHECK(rg_select(cs, 1, true) == 0 && !cs[0].ok);
	CHECK(rg_ctx_err(child) == -ECANCELED);
	void *parked;
	rg_syscall_enter();
	pthread_join(t, &parked);
	rg_syscall_exit();
	CHECK(parked == (void *)1);
	rg__sched_unref();
	rg_ctx_cancel(child);
	rg_ctx_release(child);
	rg_ctx_cancel(c);
	rg_ctx_release(c);
	return 0;
}

static void test_foreign_cancel(void **state)
{
	(void)state;
	run("2", scen_foreign_cancel, NULL);
}

struct churn {
	rg_ctx_t *parent;
	rg_waitgroup_t wg;
};

static void churn_goroutine(void *arg)
{
	struct churn *ch = arg;
	for (int i = 0; i < 300; i++) {
		rg_ctx_t *c = (i % 3) ? rg_ctx_with_cancel(ch->parent)
				      : rg_ctx_with_timeout(ch->parent, (i % 5) * RG_MICROSECOND);
		rg_ctx_t *v = rg_ctx_with_value(c, &key_a, NULL);
		rg_ctx_t *cc = rg_ctx_with_cancel(v);
		if (i % 2)
			rg_ctx_cancel(c);
		rg_ctx_done(cc);
		rg_ctx_release(v);
		rg_ctx_cancel(cc);
		rg_ctx_release(cc);
		rg_ctx_release(c);
		if (i % 16 == 0)
			rg_yield();
	}
	rg_ctx_release(ch->parent);
	rg_wg_done(&ch->wg);
}

/* Children come and go (cancelled, released, timing out) on four Ps
 * while their parent is cancelled under them: no crash, no leak, no
 * use after free (under ASan), and late children are born cancelled. */
static int scen_churn(void *arg)
{
	(void)arg;
	for (int round = 0; round < 10; round++) {
		static struct churn ch;
		memset(&ch, 0, sizeof(ch));
		ch.parent = rg_ctx_with_cancel(rg_ctx_background());
		rg_wg_add(&ch.wg, 6);
		for (int i = 0; i < 6; i++) {
			rg_ctx_retain(ch.parent); /* each goroutine's */
			CHECK(rg_go(churn_goroutine, &ch) == 0);
		}
		rg_sleep((round % 4) * 100 * RG_MICROSECOND);
		rg_ctx_cancel(ch.parent);
		rg_ctx_release(ch.parent);
		rg_wg_wait(&ch.wg);
	}
	return 0;
}

static void test_churn(void **state)
{
	(void)state;
	run("4", scen_churn, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_cancel_propagates),
		cmocka_unit_test(test_born_cancelled),
		cmocka_unit_test(test_done_wakes_waiters),
		cmocka_unit_test(test_timeout_fires),
		cmocka_unit_test(test_deadline_inheritance),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_lifetimes),
		cmocka_unit_test(test_use_after_release_asan),
		cmocka_unit_test(test_callbacks),
		cmocka_unit_test(test_unregister_waits),
		cmocka_unit_test(test_foreign_cancel),
		cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
