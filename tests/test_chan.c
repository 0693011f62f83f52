// SPDX-License-Identifier: MIT
/*
 * test_chan.c — channel semantics, one at a time, then stress and
 * foreign threads.  Each scenario runs as the main goroutine (rgc_main);
 * goroutines and threads record failures with GCHECK (rgcheck.h), since
 * cmocka's asserts longjmp and may only run on the test's thread.
 * White-box: chan_impl.h lets a test wait until goroutines
 * are really queued on a channel, instead of sleeping and hoping.
 */
#include "helpers/rgcheck.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/rgchan.h"
#include "helpers/rgpark.h"

static void expect_panic(rgt_child_t *r, const char *msg)
{
	if (!strstr(r->out, msg) || !r->signaled || r->sig != SIGABRT)
		fprintf(stderr, "child output:\n%s\n", r->out);
	assert_non_null(strstr(r->out, msg));
	assert_true(r->signaled);
	assert_int_equal(r->sig, SIGABRT);
}

static void expect_deadlock(rgt_child_t *r)
{
	if (!strstr(r->out, "all goroutines are asleep - deadlock!") ||
	    !r->exited || r->code != 2)
		fprintf(stderr, "child output:\n%s\n", r->out);
	assert_non_null(strstr(r->out, "all goroutines are asleep - deadlock!"));
	assert_true(r->exited);
	assert_int_equal(r->code, 2);
}

/* ---- unbuffered rendezvous ---------------------------------------- */

static rg_chan_t *rv_c;
static _Atomic int rv_sent;

static void rv_sender(void *arg)
{
	(void)arg;
	int v = 42;
	rg_chan_send(rv_c, &v);
	atomic_store(&rv_sent, 1);
}

/* A send on an unbuffered channel waits until a receiver takes it. */
static int rendezvous_main(void *arg)
{
	(void)arg;
	rv_c = RG_CHAN(int, 0);
	atomic_store(&rv_sent, 0);
	rg_go(rv_sender, NULL);
	wait_queued(rv_c, true, 1);
	rg_sleep(5 * RG_MILLISECOND);
	GCHECK(atomic_load(&rv_sent) == 0);
	GCHECK(rg_chan_len(rv_c) == 0);
	int v = 0;
	GCHECK(rg_chan_recv(rv_c, &v));
	GCHECK(v == 42);
	while (!atomic_load(&rv_sent))
		rg_yield();
	rg_chan_free(rv_c);
	return 0;
}

static void test_unbuffered_rendezvous(void **state)
{
	(void)state;
	rgc_main(rendezvous_main, NULL);
}

/* A receive on an unbuffered channel waits for a sender, and a parked
 * receiver gets the value handed straight to it: on one P, the sender
 * finds the value already in the receiver's destination when its send
 * returns, before the receiver has run again.  (A path through a buffer
 * that the woken receiver copies from would leave it unwritten.) */
static struct {
	rg_chan_t *c;
	int dst;                /* the receiver's destination */
	_Atomic int resumed;    /* the receiver ran after its receive */
	_Atomic int seen_dst;   /* dst as the sender saw it after sending */
	_Atomic int seen_resumed;
} rr;

static void rr_sender(void *arg)
{
	(void)arg;
	wait_queued(rr.c, false, 1); /* the receiver is parked */
	int v = 7;
	rg_chan_send(rr.c, &v);
	/* No switch since the send: the receiver is runnable, not run. */
	atomic_store(&rr.seen_dst, rr.dst);
	atomic_store(&rr.seen_resumed, atomic_load(&rr.resumed));
}

static int recv_waits_main(void *arg)
{
	(void)arg;
	rr.c = RG_CHAN(int, 0);
	rr.dst = 0;
	atomic_store(&rr.resumed, 0);
	atomic_store(&rr.seen_dst, -1);
	GCHECK(rg_go(rr_sender, NULL) == 0);
	GCHECK(rg_chan_recv(rr.c, &rr.dst));
	atomic_store(&rr.resumed, 1);
	GCHECK(rr.dst == 7);
	GCHECK(rg_chan_len(rr.c) == 0);
	while (atomic_load(&rr.seen_dst) == -1)
		rg_yield();
	GCHECK(atomic_load(&rr.seen_resumed) == 0);
	GCHECK(atomic_load(&rr.seen_dst) == 7);
	rg_chan_free(rr.c);
	return 0;
}

static void test_unbuffered_recv_waits(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "1");
	rgc_main(recv_waits_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- buffered ----------------------------------------------------- */

/* A buffered channel takes cap values without a receiver and gives
 * them back in order; len and cap report it. */
static int buffered_fifo_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(long, 8);
	GCHECK(rg_chan_cap(c) == 8);
	GCHECK(rg_chan_len(c) == 0);
	/* Wrap the ring a few times. */
	for (long round = 0; round < 5; round++) {
		for (long i = 0; i < 8; i++) {
			long v = round * 100 + i;
			rg_chan_send(c, &v);
			GCHECK(rg_chan_len(c) == (size_t)i + 1);
		}
		GCHECK(rg_chan_try_send(c, &round) == -EAGAIN);
		for (long i = 0; i < 5; i++) {
			long v = -1;
			GCHECK(rg_chan_recv(c, &v));
			GCHECK(v == round * 100 + i);
		}
		GCHECK(rg_chan_len(c) == 3);
		for (long i = 5; i < 8; i++) {
			long v = -1;
			GCHECK(rg_chan_recv(c, &v));
			GCHECK(v == round * 100 + i);
		}
		GCHECK(rg_chan_len(c) == 0);
	}
	rg_chan_free(c);
	return 0;
}

static void test_buffered_fifo(void **state)
{
	(void)state;
	rgc_main(buffered_fifo_main, NULL);
}

/* len and cap: NULL and unbuffered channels have neither; an
 * impossible buffer is refused with ENOMEM. */
static int len_cap_main(void *arg)
{
	(void)arg;
	rg_chan_t *u = RG_CHAN(int, 0), *b = RG_CHAN(int, 3);
	GCHECK(rg_chan_len(NULL) == 0 && rg_chan_cap(NULL) == 0);
	GCHECK(rg_chan_len(u) == 0 && rg_chan_cap(u) == 0);
	int v = 1;
	rg_chan_send(b, &v);
	rg_chan_send(b, &v);
	GCHECK(rg_chan_len(b) == 2 && rg_chan_cap(b) == 3);
	rg_chan_close(b);
	GCHECK(rg_chan_len(b) == 2 && rg_chan_cap(b) == 3);
	rg_chan_free(u);
	rg_chan_free(b);
	/* A buffer whose size overflows is refused like one too big. */
	errno = 0;
	GCHECK(rg_chan_make(SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
	return 0;
}

static void test_len_cap(void **state)
{
	(void)state;
	rgc_main(len_cap_main, NULL);
}

/* Elements of any size travel whole, through buffer and hand-off. */
typedef struct big {
	char bytes[200];
	int id;
} big_t;

static void big_sender(void *arg)
{
	big_t b;
	for (int i = 0; i < 20; i++) {
		memset(b.bytes, 'a' + i, sizeof(b.bytes));
		b.id = i;
		rg_chan_send(arg, &b);
	}
}

static int big_elems_main(void *arg)
{
	(void)arg;
	for (int cap = 0; cap <= 4; cap += 4) {
		rg_chan_t *c = RG_CHAN(big_t, cap);
		rg_go(big_sender, c);
		for (int i = 0; i < 20; i++) {
			big_t b;
			GCHECK(rg_chan_recv(c, &b));
			GCHECK(b.id == i);
			GCHECK(b.bytes[0] == 'a' + i && b.bytes[199] == 'a' + i);
		}
		rg_chan_free(c);
	}
	return 0;
}

static void test_big_elements(void **state)
{
	(void)state;
	rgc_main(big_elems_main, NULL);
}

/* ---- close -------------------------------------------------------- */

static rg_chan_t *cl_c, *cl_done;

static void cl_receiver(void *arg)
{
	(void)arg;
	long v = 12345;
	bool ok = rg_chan_recv(cl_c, &v);
	long r = (!ok && v == 0) ? 1 : 0;
	rg_chan_send(cl_done, &r);
}

/* close wakes every parked receiver with the zero value and false. */
static int close_wakes_main(void *arg)
{
	(void)arg;
	for (int cap = 0; cap <= 2; cap += 2) {
		cl_c = RG_CHAN(long, cap);
		cl_done = RG_CHAN(long, 5);
		for (int i = 0; i < 5; i++)
			rg_go(cl_receiver, NULL);
		wait_queued(cl_c, false, 5);
		rg_chan_close(cl_c);
		for (int i = 0; i < 5; i++) {
			long r = 0;
			GCHECK(rg_chan_recv(cl_done, &r));
			GCHECK(r == 1);
		}
		/* Later receives return at once, zeroed, and so does a
		 * NULL destination. */
		long v = 99;
		GCHECK(!rg_chan_recv(cl_c, &v));
		GCHECK(v == 0);
		GCHECK(!rg_chan_recv(cl_c, NULL));
		rg_chan_free(cl_c);
		rg_chan_free(cl_done);
	}
	return 0;
}

static void test_close_wakes_receivers(void **state)
{
	(void)state;
	rgc_main(close_wakes_main, NULL);
}

/* Values buffered before close are received first, then false. */
static int close_drain_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 3);
	for (int i = 1; i <= 3; i++)
		rg_chan_send(c, &i);
	rg_chan_close(c);
	for (int i = 1; i <= 3; i++) {
		int v = 0;
		GCHECK(rg_chan_recv(c, &v));
		GCHECK(v == i);
	}
	int v = 5;
	GCHECK(!rg_chan_recv(c, &v));
	GCHECK(v == 0);
	bool ok = true;
	v = 5;
	GCHECK(rg_chan_try_recv(c, &v, &ok) == 0);
	GCHECK(!ok && v == 0);
	rg_chan_free(c);
	return 0;
}

static void test_close_drains_buffer(void **state)
{
	(void)state;
	rgc_main(close_drain_main, NULL);
}

static int send_closed_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	rg_chan_close(c);
	int v = 1;
	rg_chan_send(c, &v);
	return 0;
}

static int send_closed_child(void *arg)
{
	return rg_main(send_closed_main, arg);
}

/* A send on a closed channel panics. */
static void test_send_on_closed_panics(void **state)
{
	(void)state;
	expect_panic(child(send_closed_child, NULL), "panic: send on closed channel");
}

static void parked_sender(void *arg)
{
	int v = 1;
	rg_chan_send(arg, &v);
}

static int close_parked_sender_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 0);
	rg_go(parked_sender, c);
	wait_queued(c, true, 1);
	rg_chan_close(c);
	rg_sleep(RGT_NEVER_MS * RG_MILLISECOND); /* ends with the sender's panic */
	return 0;
}

static int close_parked_sender_child(void *arg)
{
	return rg_main(close_parked_sender_main, arg);
}

/* A sender parked when the channel closes panics. */
static void test_close_panics_parked_sender(void **state)
{
	(void)state;
	expect_panic(child(close_parked_sender_child, NULL),
		     "panic: send on closed channel");
}

static int try_send_closed_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	rg_chan_close(c);
	int v = 1;
	rg_chan_try_send(c, &v);
	return 0;
}

static int try_send_closed_child(void *arg)
{
	return rg_main(try_send_closed_main, arg);
}

/* try_send on a closed channel panics as send does. */
static void test_try_send_on_closed_panics(void **state)
{
	(void)state;
	expect_panic(child(try_send_closed_child, NULL),
		     "panic: send on closed channel");
}

static int close_closed_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 0);
	rg_chan_close(c);
	rg_chan_close(c);
	return 0;
}

static int close_closed_child(void *arg)
{
	return rg_main(close_closed_main, arg);
}

/* Closing a closed channel panics. */
static void test_close_of_closed_panics(void **state)
{
	(void)state;
	expect_panic(child(close_closed_child, NULL), "panic: close of closed channel");
}

static int close_nil_main(void *arg)
{
	(void)arg;
	rg_chan_close(NULL);
	return 0;
}

static int close_nil_child(void *arg)
{
	return rg_main(close_nil_main, arg);
}

/* Closing a NULL channel panics. */
static void test_close_of_nil_panics(void **state)
{
	(void)state;
	expect_panic(child(close_nil_child, NULL), "panic: close of nil channel");
}

/* ---- FIFO order of parked goroutines ------------------------------ */

typedef struct fifo_arg {
	rg_chan_t *c;
	int v;
} fifo_arg_t;

static void fifo_sender(void *arg)
{
	fifo_arg_t *a = arg;
	rg_chan_send(a->c, &a->v);
}

/* Parked senders are served in the order they parked. */
static int fifo_senders_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 0);
	fifo_arg_t args[6];
	for (int i = 0; i < 6; i++) {
		args[i] = (fifo_arg_t){.c = c, .v = i};
		rg_go(fifo_sender, &args[i]);
		wait_queued(c, true, i + 1);
	}
	for (int i = 0; i < 6; i++) {
		int v = -1;
		GCHECK(rg_chan_recv(c, &v));
		GCHECK(v == i);
	}
	rg_chan_free(c);
	return 0;
}

static void test_fifo_parked_senders(void **state)
{
	(void)state;
	rgc_main(fifo_senders_main, NULL);
}

static rg_chan_t *fr_c, *fr_out;

static void fifo_receiver(void *arg)
{
	int id = (int)(intptr_t)arg, v = -1;
	rg_chan_recv(fr_c, &v);
	int pair[2] = {id, v};
	rg_chan_send(fr_out, pair);
}

/* Parked receivers are served in the order they parked. */
static int fifo_receivers_main(void *arg)
{
	(void)arg;
	for (int cap = 0; cap <= 3; cap += 3) {
		fr_c = RG_CHAN(int, cap);
		fr_out = rg_chan_make(2 * sizeof(int), 6);
		for (int i = 0; i < 6; i++) {
			rg_go(fifo_receiver, (void *)(intptr_t)i);
			wait_queued(fr_c, false, i + 1);
		}
		for (int i = 0; i < 6; i++) {
			int v = 100 + i;
			rg_chan_send(fr_c, &v);
		}
		for (int i = 0; i < 6; i++) {
			int pair[2];
			GCHECK(rg_chan_recv(fr_out, pair));
			GCHECK(pair[1] == 100 + pair[0]);
		}
		rg_chan_free(fr_c);
		rg_chan_free(fr_out);
	}
	return 0;
}

static void test_fifo_parked_receivers(void **state)
{
	(void)state;
	rgc_main(fifo_receivers_main, NULL);
}

/* A receive from a full buffer with parked senders takes the head and
 * moves the first sender's value in behind the rest: order holds. */
static int handoff_full_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 2);
	fifo_arg_t args[5];
	for (int i = 0; i < 2; i++)
		rg_chan_send(c, &i);
	for (int i = 2; i < 5; i++) {
		args[i] = (fifo_arg_t){.c = c, .v = i};
		rg_go(fifo_sender, &args[i]);
		wait_queued(c, true, i - 1);
	}
	GCHECK(rg_chan_len(c) == 2);
	for (int i = 0; i < 5; i++) {
		int v = -1;
		GCHECK(rg_chan_recv(c, &v));
		GCHECK(v == i);
		/* The buffer stays full while senders wait. */
		if (i < 3)
			GCHECK(rg_chan_len(c) == 2);
	}
	GCHECK(rg_chan_len(c) == 0);
	GCHECK(queued(c, true) == 0);
	rg_chan_free(c);
	return 0;
}

static void test_handoff_from_full_buffer(void **state)
{
	(void)state;
	rgc_main(handoff_full_main, NULL);
}

/* ---- zero-size elements ------------------------------------------- */

static void signal_sender(void *arg)
{
	rg_chan_send(arg, NULL);
	rg_chan_send(arg, NULL);
	rg_chan_close(arg);
}

/* Zero-size elements (chan struct{}): no buffer, NULL pointers fine,
 * len still counts them. */
static int zero_size_main(void *arg)
{
	(void)arg;
	/* A thousand-slot signal channel is just its header. */
	rg_chan_t *big = rg_chan_make(0, 1000);
	GCHECK(malloc_usable_size(big) < sizeof(*big) + RG_CACHELINE);
	rg_chan_free(big);

	rg_chan_t *b = rg_chan_make(0, 3);
	for (int i = 0; i < 3; i++)
		GCHECK(rg_chan_try_send(b, NULL) == 0);
	GCHECK(rg_chan_try_send(b, NULL) == -EAGAIN);
	GCHECK(rg_chan_len(b) == 3 && rg_chan_cap(b) == 3);
	for (int i = 0; i < 3; i++)
		GCHECK(rg_chan_recv(b, NULL));
	GCHECK(rg_chan_len(b) == 0);
	rg_chan_free(b);

	rg_chan_t *u = rg_chan_make(0, 0);
	rg_go(signal_sender, u);
	int n = 0;
	while (rg_chan_recv(u, NULL))
		n++;
	GCHECK(n == 2);
	rg_chan_free(u);
	return 0;
}

static void test_zero_size_elements(void **state)
{
	(void)state;
	rgc_main(zero_size_main, NULL);
}

/* ---- try_send / try_recv ------------------------------------------ */

static void try_recv_parker(void *arg)
{
	int v = 0;
	rg_chan_recv(arg, &v);
	rg_chan_send(arg, &v);  /* echo back, to prove what arrived */
}

/* try_send/try_recv succeed exactly when the blocking call would not
 * wait, and say -EAGAIN otherwise; NULL channels are never ready. */
static int try_main(void *arg)
{
	(void)arg;
	int v = 1;
	bool ok = false;
	rg_chan_t *u = RG_CHAN(int, 0);
	GCHECK(rg_chan_try_send(u, &v) == -EAGAIN);
	GCHECK(rg_chan_try_recv(u, &v, &ok) == -EAGAIN);
	GCHECK(rg_chan_try_send(NULL, &v) == -EAGAIN);
	GCHECK(rg_chan_try_recv(NULL, &v, &ok) == -EAGAIN);

	/* A parked receiver makes an unbuffered try_send succeed. */
	rg_go(try_recv_parker, u);
	wait_queued(u, false, 1);
	v = 77;
	GCHECK(rg_chan_try_send(u, &v) == 0);
	v = 0;
	GCHECK(rg_chan_recv(u, &v));
	GCHECK(v == 77);

	/* A parked sender makes an unbuffered try_recv succeed. */
	fifo_arg_t a = {.c = u, .v = 5};
	rg_go(fifo_sender, &a);
	wait_queued(u, true, 1);
	v = 0;
	ok = false;
	GCHECK(rg_chan_try_recv(u, &v, &ok) == 0);
	GCHECK(ok && v == 5);

	rg_chan_t *b = RG_CHAN(int, 2);
	GCHECK(rg_chan_try_recv(b, &v, NULL) == -EAGAIN);
	v = 1;
	GCHECK(rg_chan_try_send(b, &v) == 0);
	v = 2;
	GCHECK(rg_chan_try_send(b, &v) == 0);
	GCHECK(rg_chan_try_send(b, &v) == -EAGAIN);
	v = 0;
	GCHECK(rg_chan_try_recv(b, &v, &ok) == 0 && ok && v == 1);
	GCHECK(rg_chan_try_recv(b, NULL, NULL) == 0);
	GCHECK(rg_chan_try_recv(b, &v, &ok) == -EAGAIN);
	rg_chan_close(u);
	v = 3;
	GCHECK(rg_chan_try_recv(u, &v, &ok) == 0 && !ok && v == 0);
	rg_chan_free(u);
	rg_chan_free(b);
	return 0;
}

static void test_try_send_try_recv(void **state)
{
	(void)state;
	rgc_main(try_main, NULL);
}

/* ---- RG_RANGE ----------------------------------------------------- */

static void range_producer(void *arg)
{
	for (int i = 1; i <= 10; i++)
		rg_chan_send(arg, &i);
	rg_chan_close(arg);
}

/* RG_RANGE receives until the channel is closed and drained; break
 * leaves early. */
static int range_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 3);
	rg_go(range_producer, c);
	int v, sum = 0, n = 0;
	RG_RANGE(c, v) {
		sum += v;
		n++;
	}
	GCHECK(n == 10 && sum == 55);
	rg_chan_free(c);

	c = RG_CHAN(int, 0);
	rg_go(range_producer, c);
	n = 0;
	RG_RANGE(c, v) {
		if (v == 4)
			break;
		n++;
	}
	GCHECK(n == 3);
	RG_RANGE(c, v) /* the rest */
		n++;
	GCHECK(n == 9);
	rg_chan_free(c);
	return 0;
}

static void test_range(void **state)
{
	(void)state;
	rgc_main(range_main, NULL);
}

/* ---- NULL channels ------------------------------------------------ */

static int nil_recv_main(void *arg)
{
	(void)arg;
	int v;
	rg_chan_recv(NULL, &v);
	return 0;
}

static int nil_recv_child(void *arg)
{
	return rg_main(nil_recv_main, arg);
}

/* Receiving on a NULL channel blocks forever: with nothing else to
 * run, the deadlock detector reports it. */
static void test_nil_recv_blocks_forever(void **state)
{
	(void)state;
	rgt_child_t *r = child(nil_recv_child, NULL);
	expect_deadlock(r);
	assert_non_null(strstr(r->out, "chan receive (nil chan)"));
}

static void nil_sender(void *arg)
{
	(void)arg;
	int v = 1;
	rg_chan_send(NULL, &v);
}

static int nil_send_main(void *arg)
{
	(void)arg;
	rg_go(nil_sender, NULL);
	rg_chan_t *c = RG_CHAN(int, 0);
	rg_chan_recv(c, NULL);  /* nobody will ever send */
	return 0;
}

static int nil_send_child(void *arg)
{
	return rg_main(nil_send_main, arg);
}

/* Sending on a NULL channel blocks forever too. */
static void test_nil_send_blocks_forever(void **state)
{
	(void)state;
	rgt_child_t *r = child(nil_send_child, NULL);
	expect_deadlock(r);
	assert_non_null(strstr(r->out, "chan send (nil chan)"));
}

static int free_busy_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 0);
	rg_go(parked_sender, c);
	wait_queued(c, true, 1);
	rg_chan_free(c);
	return 0;
}

static int free_busy_child(void *arg)
{
	return rg_main(free_busy_main, arg);
}

/* Freeing a channel that goroutines wait on is caught. */
static void test_free_with_waiters_panics(void **state)
{
	(void)state;
	expect_panic(child(free_busy_child, NULL), "panic: free of a channel");
}

/* ---- stress: exactly-once delivery -------------------------------- */

#define ST_PROD 8
#define ST_CONS 8
#define ST_PER 20000
#define ST_TOTAL (ST_PROD * ST_PER)

typedef struct stress {
	rg_chan_t *c;         /* the values */
	rg_chan_t *pdone;     /* one signal per producer */
	rg_chan_t *sums;      /* one sum per consumer */
	_Atomic uint64_t seen[(ST_TOTAL + 63) / 64];
	_Atomic int dups;
} stress_t;

typedef struct worker {
	stress_t *s;
	int id;
} worker_t;

static void st_mark(stress_t *s, long v)
{
	uint64_t bit = 1ull << (v % 64);
	if (v < 0 || v >= ST_TOTAL ||
	    (atomic_fetch_or(&s->seen[v / 64], bit) & bit))
		atomic_fetch_add(&s->dups, 1);
}

static void st_produce(stress_t *s, int id)
{
	for (long i = 0; i < ST_PER; i++) {
		long v = (long)id * ST_PER + i;
		rg_chan_send(s->c, &v);
	}
	rg_chan_send(s->pdone, NULL);
}

static void st_consume(stress_t *s)
{
	long v, sum = 0;
	RG_RANGE(s->c, v) {
		st_mark(s, v);
		sum += v;
	}
	rg_chan_send(s->sums, &sum);
}

static void st_producer(void *arg)
{
	worker_t *w = arg;
	st_produce(w->s, w->id);
}

static void st_consumer(void *arg)
{
	worker_t *w = arg;
	st_consume(w->s);
}

/* Waits for every producer, closes, collects the consumers' sums and
 * checks that every value arrived exactly once. */
static void st_finish(stress_t *s, int nprod, int ncons)
{
	for (int i = 0; i < nprod; i++)
		rg_chan_recv(s->pdone, NULL);
	rg_chan_close(s->c);
	long total = 0;
	for (int i = 0; i < ncons; i++) {
		long sum;
		GCHECK(rg_chan_recv(s->sums, &sum));
		total += sum;
	}
	GCHECK(atomic_load(&s->dups) == 0);
	GCHECK(total == (long)ST_TOTAL * (ST_TOTAL - 1) / 2);
	for (int i = 0; i < ST_TOTAL / 64; i++)
		GCHECK(atomic_load(&s->seen[i]) == ~0ull);
}

static stress_t *st_new(size_t cap)
{
	stress_t *s = calloc(1, sizeof(*s));
	s->c = RG_CHAN(long, cap);
	s->pdone = rg_chan_make(0, 0);
	s->sums = RG_CHAN(long, 0);
	return s;
}

static void st_free(stress_t *s)
{
	rg_chan_free(s->c);
	rg_chan_free(s->pdone);
	rg_chan_free(s->sums);
	free(s);
}

/* Many producers and consumers over unbuffered and buffered channels:
 * every value is received exactly once. */
static int stress_main(void *arg)
{
	(void)arg;
	static const size_t caps[] = {0, 1, 64};
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		stress_t *s = st_new(caps[k]);
		worker_t w[ST_PROD + ST_CONS];
		for (int i = 0; i < ST_CONS; i++) {
			w[i] = (worker_t){.s = s, .id = i};
			rg_go(st_consumer, &w[i]);
		}
		for (int i = 0; i < ST_PROD; i++) {
			w[ST_CONS + i] = (worker_t){.s = s, .id = i};
			rg_go(st_producer, &w[ST_CONS + i]);
		}
		st_finish(s, ST_PROD, ST_CONS);
		st_free(s);
	}
	return 0;
}

static void test_stress_exactly_once(void **state)
{
	(void)state;
	rgc_main(stress_main, NULL);
	rgt_env("RINGO_PROCS", "4");
	rgc_main(stress_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- foreign threads ---------------------------------------------- */

static void *ft_producer(void *arg)
{
	worker_t *w = arg;
	st_produce(w->s, w->id);
	return NULL;
}

static void *ft_consumer(void *arg)
{
	worker_t *w = arg;
	st_consume(w->s);
	return NULL;
}

typedef struct ft_closer {
	stress_t *s;
	int nprod;
} ft_closer_t;

/* A foreign thread that waits for the producers and closes. */
static void *ft_close(void *arg)
{
	ft_closer_t *fc = arg;
	for (int i = 0; i < fc->nprod; i++)
		rg_chan_recv(fc->s->pdone, NULL);
	rg_chan_close(fc->s->c);
	return NULL;
}

/*
 * Foreign threads (pthreads) send, receive and close alongside
 * goroutines, on unbuffered and buffered channels.  Half the producers
 * and consumers are threads; the closer is a thread in the second
 * round.  The test holds a scheduler reference while its threads live:
 * a thread between two channel calls is invisible to the deadlock
 * detector (see NEEDS-CORE in runtime/chan.c).
 */
static int foreign_main(void *arg)
{
	(void)arg;
	rg__sched_ref();
	for (int round = 0; round < 4; round++) {
		stress_t *s = st_new(round % 2 ? 16 : 0);
		bool thread_closes = round >= 2;
		worker_t w[ST_PROD + ST_CONS];
		pthread_t th[ST_PROD + ST_CONS + 1];
		int nth = 0;
		for (int i = 0; i < ST_CONS; i++) {
			w[i] = (worker_t){.s = s, .id = i};
			if (i % 2)
				pthread_create(&th[nth++], NULL, ft_consumer, &w[i]);
			else
				rg_go(st_consumer, &w[i]);
		}
		for (int i = 0; i < ST_PROD; i++) {
			worker_t *pw = &w[ST_CONS + i];
			*pw = (worker_t){.s = s, .id = i};
			if (i % 2)
				pthread_create(&th[nth++], NULL, ft_producer, pw);
			else
				rg_go(st_producer, pw);
		}
		ft_closer_t fc = {.s = s, .nprod = ST_PROD};
		if (thread_closes) {
			/* The thread waits for the producers and closes;
			 * we only collect. */
			pthread_create(&th[nth++], NULL, ft_close, &fc);
			long total = 0;
			for (int i = 0; i < ST_CONS; i++) {
				long sum;
				GCHECK(rg_chan_recv(s->sums, &sum));
				total += sum;
			}
			GCHECK(atomic_load(&s->dups) == 0);
			GCHECK(total == (long)ST_TOTAL * (ST_TOTAL - 1) / 2);
		} else {
			st_finish(s, ST_PROD, ST_CONS);
		}
		rg_syscall_enter();
		for (int i = 0; i < nth; i++)
			pthread_join(th[i], NULL);
		rg_syscall_exit();
		st_free(s);
	}
	rg__sched_unref();
	return 0;
}

static void test_foreign_threads(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgc_main(foreign_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

static rg_chan_t *fw_c;

static void *fw_waiter(void *arg)
{
	(void)arg;
	int v = 9;
	bool ok = rg_chan_recv(fw_c, &v);
	return (void *)(intptr_t)(!ok && v == 0);
}

static rg_chan_t *fw_go;

/* Tells main to close once every M has gone to sleep with main parked:
 * the last one to sleep looked for a deadlock, and only the blocked
 * waiter (a foreign thread, which counts) stood in its way. */
static void *fw_kicker(void *arg)
{
	(void)arg;
	if (!rgp_wait_all_idle(RGT_NEVER_MS))
		return (void *)0;
	int v = 1;
	rg_chan_send(fw_go, &v); /* buffered: never blocks */
	return (void *)1;
}

/* A foreign thread blocked in a receive wakes when a goroutine closes
 * the channel; while it sleeps, the deadlock detector keeps quiet: main
 * parks (no timer) until every M has slept. */
static int foreign_close_main(void *arg)
{
	(void)arg;
	fw_c = RG_CHAN(int, 0);
	fw_go = RG_CHAN(int, 1);
	pthread_t th, kick;
	pthread_create(&th, NULL, fw_waiter, NULL);
	wait_queued(fw_c, false, 1);
	pthread_create(&kick, NULL, fw_kicker, NULL);
	GCHECK(rg_chan_recv(fw_go, NULL));
	rg_chan_close(fw_c);
	void *res, *kicked;
	rg_syscall_enter();
	pthread_join(th, &res);
	pthread_join(kick, &kicked);
	rg_syscall_exit();
	GCHECK(res == (void *)1);
	GCHECK(kicked == (void *)1);
	rg_chan_free(fw_go);
	rg_chan_free(fw_c);
	return 0;
}

static void test_foreign_recv_woken_by_close(void **state)
{
	(void)state;
	rgc_main(foreign_close_main, NULL);
}

/* ---- embedding: the host's own thread ----------------------------- */

static void emb_echo(void *arg)
{
	rg_chan_t **cs = arg;
	int v;
	RG_RANGE(cs[0], v)
		rg_chan_send(cs[1], &v);
	rg_chan_close(cs[1]);
}

/* With rg_init, the host's thread (not a goroutine) sends, receives,
 * selects and closes, sleeping on a futex while it waits. */
static void test_embedded_host_thread(void **state)
{
	(void)state;
	assert_int_equal(rg_init(NULL), 0);
	rg_chan_t *cs[2] = {RG_CHAN(int, 0), RG_CHAN(int, 0)};
	rg_chan_t *never = RG_CHAN(int, 0);
	assert_int_equal(rg_go(emb_echo, cs), 0);
	for (int i = 0; i < 1000; i++) {
		int v = -1;
		rg_chan_send(cs[0], &i);
		assert_true(rg_chan_recv(cs[1], &v));
		assert_int_equal(v, i);
	}
	for (int i = 0; i < 100; i++) {
		int v = -1;
		rg_case_t sel[] = {RG_RECV(never, &v), RG_SEND(cs[0], &i)};
		assert_int_equal(rg_select(sel, 2, true), 1);
		rg_case_t back[] = {RG_RECV(never, &v), RG_RECV(cs[1], &v)};
		assert_int_equal(rg_select(back, 2, true), 1);
		assert_true(back[1].ok);
		assert_int_equal(v, i);
	}
	rg_chan_close(cs[0]);
	assert_false(rg_chan_recv(cs[1], NULL));
	rg_shutdown();
	rg_chan_free(cs[0]);
	rg_chan_free(cs[1]);
	rg_chan_free(never);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unbuffered_rendezvous),
		cmocka_unit_test(test_unbuffered_recv_waits),
		cmocka_unit_test(test_buffered_fifo),
		cmocka_unit_test(test_len_cap),
		cmocka_unit_test(test_big_elements),
		cmocka_unit_test(test_close_wakes_receivers),
		cmocka_unit_test(test_close_drains_buffer),
		cmocka_unit_test(test_send_on_closed_panics),
		cmocka_unit_test(test_close_panics_parked_sender),
		cmocka_unit_test(test_try_send_on_closed_panics),
		cmocka_unit_test(test_close_of_closed_panics),
		cmocka_unit_test(test_close_of_nil_panics),
		cmocka_unit_test(test_fifo_parked_senders),
		cmocka_unit_test(test_fifo_parked_receivers),
		cmocka_unit_test(test_handoff_from_full_buffer),
		cmocka_unit_test(test_zero_size_elements),
		cmocka_unit_test(test_try_send_try_recv),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_nil_recv_blocks_forever),
		cmocka_unit_test(test_nil_send_blocks_forever),
		cmocka_unit_test(test_free_with_waiters_panics),
		cmocka_unit_test(test_stress_exactly_once),
		cmocka_unit_test(test_foreign_threads),
		cmocka_unit_test(test_foreign_recv_woken_by_close),
		cmocka_unit_test(test_embedded_host_thread),
	};
	if (getenv("RGT_FILTER"))  /* e.g. RGT_FILTER='*close*' */
		cmocka_set_test_filter(getenv("RGT_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
