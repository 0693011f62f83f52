// SPDX-License-Identifier: MIT
/*
 * test_select.c — rg_select: default, mixed directions, repeated
 * channels, NULL channels, fairness, contention, foreign threads and the
 * clean-up of the cases that lost.  Scenarios run as the main goroutine
 * (rgc_main) and record failures with GCHECK (rgcheck.h): cmocka's
 * asserts longjmp and may only run on the test's thread.  White-box:
 * chan_impl.h shows what is queued on a channel.
 */
#include "helpers/rgcheck.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/rgchan.h"
#include "helpers/rgpark.h"

/* ---- default ------------------------------------------------------ */

/* block false is select's default: -1 when nothing is ready, else the
 * ready case runs. */
static int default_main(void *arg)
{
	(void)arg;
	rg_chan_t *a = RG_CHAN(int, 0), *b = RG_CHAN(int, 1);
	int x = -1, y = 5;
	rg_case_t cs[] = {RG_RECV(a, &x), RG_RECV(b, &x)};
	GCHECK(rg_select(cs, 2, false) == -1);
	GCHECK(x == -1);
	rg_chan_send(b, &y);
	GCHECK(rg_select(cs, 2, false) == 1);
	GCHECK(x == 5 && cs[1].ok);
	/* A send case with no room and no receiver is not ready either. */
	rg_chan_send(b, &y);
	rg_case_t ss[] = {RG_SEND(a, &y), RG_SEND(b, &y)};
	GCHECK(rg_select(ss, 2, false) == -1);
	GCHECK(rg_chan_len(b) == 1);
	rg_chan_free(a);
	rg_chan_free(b);
	return 0;
}

static void test_default(void **state)
{
	(void)state;
	rgc_main(default_main, NULL);
}

/* ---- mixed directions --------------------------------------------- */

static void recv_one(void *arg)
{
	int v;
	rg_chan_recv(arg, &v);
	rg_chan_send(arg, &v);  /* echo it back */
}

/* The goroutine whose select the *_later helpers wait for: they act
 * once it is parked in it (acting before would not test the wake-up). */
static int64_t sel_waiter;

static void wait_select_parked(void)
{
	GCHECK(rgp_wait_parked(sel_waiter, NULL, RG_WAIT_SELECT, 1, RGT_NEVER_MS));
}

static void send_later(void *arg)
{
	wait_select_parked();
	int v = 31;
	rg_chan_send(arg, &v);
}

/* Send and receive cases mix: whichever can proceed runs, parked
 * peers included. */
static int mixed_main(void *arg)
{
	(void)arg;
	rg_chan_t *out = RG_CHAN(int, 0), *in = RG_CHAN(int, 0);
	int v = 10, got = -1;

	/* A receiver parked on `out` makes the send case ready. */
	rg_go(recv_one, out);
	wait_queued(out, false, 1);
	rg_case_t cs[] = {RG_RECV(in, &got), RG_SEND(out, &v)};
	GCHECK(rg_select(cs, 2, true) == 1);
	GCHECK(cs[1].ok);
	int echo = 0;
	rg_chan_recv(out, &echo);
	GCHECK(echo == 10);

	/* Nobody receives on `out` now: the select parks and the later
	 * sender on `in` wins. */
	sel_waiter = rg_goid();
	rg_go(send_later, in);
	GCHECK(rg_select(cs, 2, true) == 0);
	GCHECK(cs[0].ok && got == 31);
	GCHECK(queued(out, true) == 0 && queued(in, false) == 0);
	rg_chan_free(out);
	rg_chan_free(in);
	return 0;
}

static void test_mixed_send_recv(void **state)
{
	(void)state;
	rgc_main(mixed_main, NULL);
}

/* ---- the same channel in several cases ---------------------------- */

static void send_val(void *arg)
{
	int v = 5;
	rg_chan_send(arg, &v);
}

static _Atomic int sr_got;

static void take_one(void *arg)
{
	int v = -1;
	rg_chan_recv(arg, &v);
	atomic_store(&sr_got, v);
}

/* One channel in several cases: exactly one case runs, the other
 * records are unlinked; a select sending and receiving on the same
 * unbuffered channel never meets itself. */
static int same_chan_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 0);
	int x = -1, y = -1;
	rg_case_t cs[] = {RG_RECV(c, &x), RG_RECV(c, &y), RG_RECV(c, NULL)};
	rg_go(send_val, c);
	int i = rg_select(cs, 3, true);
	GCHECK(i >= 0 && i < 3 && cs[i].ok);
	GCHECK(i != 0 || (x == 5 && y == -1));
	GCHECK(i != 1 || (y == 5 && x == -1));
	GCHECK(i != 2 || (x == -1 && y == -1));
	GCHECK(queued(c, false) == 0);

	/* Send and receive on one unbuffered channel: parks (it cannot
	 * pair with itself) until another goroutine receives. */
	int out = 8, in = -1;
	rg_case_t sr[] = {RG_SEND(c, &out), RG_RECV(c, &in), RG_SEND(c, &out)};
	atomic_store(&sr_got, -1);
	rg_go(take_one, c);
	i = rg_select(sr, 3, true);
	GCHECK(i == 0 || i == 2);
	GCHECK(in == -1);
	while (atomic_load(&sr_got) == -1)
		rg_yield();
	GCHECK(atomic_load(&sr_got) == 8);
	GCHECK(queued(c, false) == 0 && queued(c, true) == 0);

	/* Buffered: every case on c with room or data is a candidate. */
	rg_chan_t *b = RG_CHAN(int, 1);
	rg_case_t bs[] = {RG_SEND(b, &out), RG_RECV(b, &in)};
	GCHECK(rg_select(bs, 2, true) == 0);  /* empty: only the send */
	GCHECK(rg_select(bs, 2, true) == 1);  /* full: only the receive */
	GCHECK(in == 8);
	rg_chan_free(b);
	rg_chan_free(c);
	return 0;
}

static void test_same_channel_several_cases(void **state)
{
	(void)state;
	rgc_main(same_chan_main, NULL);
}

/* ---- zero cases and NULL channels --------------------------------- */

/* select with no cases and a default returns -1. */
static int zero_cases_main(void *arg)
{
	(void)arg;
	GCHECK(rg_select(NULL, 0, false) == -1);
	return 0;
}

static void test_zero_cases_nonblocking(void **state)
{
	(void)state;
	rgc_main(zero_cases_main, NULL);
}

static int zero_block_main(void *arg)
{
	(void)arg;
	rg_select(NULL, 0, true);
	return 0;
}

static int zero_block_child(void *arg)
{
	return rg_main(zero_block_main, arg);
}

/* select {} blocks forever: the deadlock detector reports it. */
static void test_zero_cases_blocking_deadlocks(void **state)
{
	(void)state;
	rgt_child_t *r = child(zero_block_child, NULL);
	if (!strstr(r->out, "all goroutines are asleep - deadlock!"))
		fprintf(stderr, "child output:\n%s\n", r->out);
	assert_non_null(strstr(r->out, "all goroutines are asleep - deadlock!"));
	assert_non_null(strstr(r->out, "select (no cases)"));
	assert_true(r->exited);
	assert_int_equal(r->code, 2);
}

/* A case on a NULL channel is never ready; the other cases still are. */
static int nil_cases_main(void *arg)
{
	(void)arg;
	rg_chan_t *b = RG_CHAN(int, 1);
	int v = 1, x = 0;
	rg_case_t none[] = {RG_RECV(NULL, &x), RG_SEND(NULL, &v)};
	GCHECK(rg_select(none, 2, false) == -1);
	rg_case_t cs[] = {RG_RECV(NULL, &x), RG_SEND(b, &v), RG_SEND(NULL, &v),
			  RG_RECV(b, &x), RG_RECV(NULL, NULL)};
	for (int k = 0; k < 100; k++) {
		v = k;
		GCHECK(rg_select(cs, 5, true) == 1);   /* b empty: send */
		GCHECK(rg_select(cs, 5, true) == 3);   /* b full: receive */
		GCHECK(x == k);
	}
	rg_chan_free(b);
	return 0;
}

static void test_nil_channels_never_ready(void **state)
{
	(void)state;
	rgc_main(nil_cases_main, NULL);
}

static int nil_block_main(void *arg)
{
	(void)arg;
	int x;
	rg_case_t cs[] = {RG_RECV(NULL, &x), RG_RECV(NULL, &x)};
	rg_select(cs, 2, true);
	return 0;
}

static int nil_block_child(void *arg)
{
	return rg_main(nil_block_main, arg);
}

/* A blocking select over NULL channels only never returns. */
static void test_nil_only_blocks_forever(void **state)
{
	(void)state;
	rgt_child_t *r = child(nil_block_child, NULL);
	assert_non_null(strstr(r->out, "all goroutines are asleep - deadlock!"));
	assert_int_equal(r->code, 2);
}

/* ---- closed channels ---------------------------------------------- */

static void close_later(void *arg)
{
	wait_select_parked();
	rg_chan_close(arg);
}

/* A receive case on a closed channel is ready, with ok false and the
 * zero value, both at once and when close wakes a parked select. */
static int closed_recv_main(void *arg)
{
	(void)arg;
	rg_chan_t *a = RG_CHAN(long, 0), *b = RG_CHAN(long, 0);
	long x = 7;
	rg_case_t cs[] = {RG_RECV(a, &x), RG_RECV(b, &x)};
	sel_waiter = rg_goid();
	rg_go(close_later, b);
	GCHECK(rg_select(cs, 2, true) == 1);
	GCHECK(!cs[1].ok && x == 0);
	GCHECK(queued(a, false) == 0);
	x = 7;
	GCHECK(rg_select(cs, 2, false) == 1);
	GCHECK(!cs[1].ok && x == 0);
	rg_chan_free(a);
	rg_chan_free(b);
	return 0;
}

static void test_closed_recv_case(void **state)
{
	(void)state;
	rgc_main(closed_recv_main, NULL);
}

static int closed_send_main(void *arg)
{
	(void)arg;
	rg_chan_t *a = RG_CHAN(int, 0), *b = RG_CHAN(int, 0);
	int v = 1, x;
	rg_case_t cs[] = {RG_RECV(a, &x), RG_SEND(b, &v)};
	sel_waiter = rg_goid();
	rg_go(close_later, b);
	rg_select(cs, 2, true);
	return 0;
}

static int closed_send_child(void *arg)
{
	return rg_main(closed_send_main, arg);
}

/* A send case parked in a select panics when its channel closes. */
static void test_closed_send_case_panics(void **state)
{
	(void)state;
	rgt_child_t *r = child(closed_send_child, NULL);
	assert_non_null(strstr(r->out, "panic: send on closed channel"));
	assert_true(r->signaled);
	assert_int_equal(r->sig, SIGABRT);
}

/* ---- fairness ----------------------------------------------------- */

/* Cases that are always ready are chosen uniformly: of 10,000 selects
 * between two ready channels each wins 40..60%; of four, 18..32%. */
static int fairness_main(void *arg)
{
	(void)arg;
	enum { N = 10000 };
	rg_chan_t *c[4];
	long v = 1;
	for (int i = 0; i < 4; i++) {
		c[i] = RG_CHAN(long, 1);
		rg_chan_send(c[i], &v);
	}
	for (int ncases = 2; ncases <= 4; ncases += 2) {
		rg_case_t cs[4];
		int wins[4] = {0};
		for (int i = 0; i < ncases; i++)
			cs[i] = RG_RECV(c[i], &v);
		for (int k = 0; k < N; k++) {
			int i = rg_select(cs, ncases, true);
			GCHECK(i >= 0 && i < ncases);
			if (i < 0)
				break;
			wins[i]++;
			rg_chan_send(c[i], &v);  /* ready again */
		}
		for (int i = 0; i < ncases; i++) {
			double share = (double)wins[i] / N;
			if (ncases == 2)
				GCHECK(share >= 0.40 && share <= 0.60);
			else
				GCHECK(share >= 0.18 && share <= 0.32);
		}
	}
	/* The same with a send case and a receive case. */
	rg_chan_t *e = RG_CHAN(long, 1);
	int wins[2] = {0};
	rg_case_t mix[] = {RG_RECV(c[0], &v), RG_SEND(e, &v)};
	for (int k = 0; k < N; k++) {
		int i = rg_select(mix, 2, true);
		wins[i]++;
		if (i == 0)
			rg_chan_send(c[0], &v);
		else
			rg_chan_recv(e, NULL);
	}
	GCHECK(wins[0] >= 4000 && wins[0] <= 6000);
	rg_chan_free(e);
	for (int i = 0; i < 4; i++)
		rg_chan_free(c[i]);
	return 0;
}

static void test_fairness(void **state)
{
	(void)state;
	rgc_main(fairness_main, NULL);
}

/* ---- losers are dequeued ------------------------------------------ */

static rg_chan_t *lo_a, *lo_b, *lo_done;

static void lo_selector(void *arg)
{
	(void)arg;
	int x = -1;
	rg_case_t cs[] = {RG_RECV(lo_a, &x), RG_RECV(lo_b, &x)};
	int i = rg_select(cs, 2, true);
	int r = i * 100 + x;
	rg_chan_send(lo_done, &r);
}

static _Atomic int lo_got;

static void lo_receiver(void *arg)
{
	(void)arg;
	int v = -1;
	rg_chan_recv(lo_a, &v);
	atomic_store(&lo_got, v);
}

/* A select that won on B leaves nothing behind on A: a later send on
 * A finds no receiver, then goes to the receiver that comes next. */
static int losers_main(void *arg)
{
	(void)arg;
	lo_a = RG_CHAN(int, 0);
	lo_b = RG_CHAN(int, 0);
	lo_done = RG_CHAN(int, 1);
	rg_go(lo_selector, NULL);
	wait_queued(lo_a, false, 1);
	wait_queued(lo_b, false, 1);
	int v = 2;
	rg_chan_send(lo_b, &v);
	int r = -1;
	rg_chan_recv(lo_done, &r);
	GCHECK(r == 102);
	GCHECK(queued(lo_a, false) == 0 && queued(lo_b, false) == 0);
	v = 3;
	GCHECK(rg_chan_try_send(lo_a, &v) == -EAGAIN);
	atomic_store(&lo_got, -1);
	rg_go(lo_receiver, NULL);
	rg_chan_send(lo_a, &v);
	while (atomic_load(&lo_got) == -1)
		rg_yield();
	GCHECK(atomic_load(&lo_got) == 3);
	rg_chan_free(lo_a);
	rg_chan_free(lo_b);
	rg_chan_free(lo_done);
	return 0;
}

static void test_losers_dequeued(void **state)
{
	(void)state;
	rgc_main(losers_main, NULL);
}

/* Many selects parked on the same channels, woken one value at a time
 * by plain senders: every value goes to exactly one select, and when
 * all are done no record is left on any channel. */
#define PS_N 16

static rg_chan_t *ps_ch[3], *ps_res;

static void ps_selector(void *arg)
{
	(void)arg;
	int x = -1;
	rg_case_t cs[] = {RG_RECV(ps_ch[0], &x), RG_RECV(ps_ch[1], &x),
			  RG_RECV(ps_ch[2], &x), RG_RECV(ps_ch[1], &x)};
	rg_select(cs, 4, true);
	rg_chan_send(ps_res, &x);
}

static int parked_selects_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		ps_ch[i] = RG_CHAN(int, 0);
	ps_res = RG_CHAN(int, PS_N);
	for (int i = 0; i < PS_N; i++)
		rg_go(ps_selector, NULL);
	wait_queued(ps_ch[0], false, PS_N);
	wait_queued(ps_ch[1], false, 2 * PS_N);
	for (int i = 0; i < PS_N; i++)
		rg_chan_send(ps_ch[i % 3], &i);
	uint32_t seen = 0;
	for (int i = 0; i < PS_N; i++) {
		int x = -1;
		rg_chan_recv(ps_res, &x);
		GCHECK(x >= 0 && x < PS_N && !(seen & (1u << x)));
		if (x >= 0 && x < PS_N)
			seen |= 1u << x;
	}
	GCHECK(seen == (1u << PS_N) - 1);
	for (int i = 0; i < 3; i++) {
		GCHECK(queued(ps_ch[i], false) == 0);
		rg_chan_free(ps_ch[i]);
	}
	rg_chan_free(ps_res);
	return 0;
}

static void test_parked_selects_each_value_once(void **state)
{
	(void)state;
	rgc_main(parked_selects_main, NULL);
}

/* ---- many cases (the heap path) ----------------------------------- */

#define MANY 100

static void send_to_one(void *arg)
{
	rg_chan_t **cs = arg;
	wait_select_parked();
	int v = 77;
	rg_chan_send(cs[63], &v);
}

/* A select of more cases than fit on the stack: ready at once, and
 * parked until a sender comes. */
static int many_cases_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch[MANY];
	rg_case_t cs[MANY];
	int x = -1;
	for (int i = 0; i < MANY; i++) {
		ch[i] = RG_CHAN(int, 1);
		cs[i] = RG_RECV(ch[i], &x);
	}
	GCHECK(rg_select(cs, MANY, false) == -1);
	int v = 5;
	rg_chan_send(ch[41], &v);
	GCHECK(rg_select(cs, MANY, true) == 41 && x == 5);
	sel_waiter = rg_goid();
	rg_go(send_to_one, ch);
	GCHECK(rg_select(cs, MANY, true) == 63 && x == 77);
	for (int i = 0; i < MANY; i++) {
		GCHECK(queued(ch[i], false) == 0);
		rg_chan_free(ch[i]);
	}
	return 0;
}

static void test_many_cases(void **state)
{
	(void)state;
	rgc_main(many_cases_main, NULL);
}

/* ---- contention: exactly once ------------------------------------- */

#define CT_CH 8
#define CT_PROD 6
#define CT_CONS 6
#define CT_PER 10000
#define CT_TOTAL (CT_PROD * CT_PER)

typedef struct contention {
	rg_chan_t *ch[CT_CH];
	rg_chan_t *pdone, *sums;
	_Atomic uint64_t seen[(CT_TOTAL + 63) / 64];
	_Atomic int dups;
} contention_t;

typedef struct ct_worker {
	contention_t *s;
	int id;
} ct_worker_t;

/* Sends each value through a select over every channel (some cases
 * repeated, and one NULL case). */
static void ct_produce(contention_t *s, int id)
{
	long v;
	rg_case_t cs[CT_CH + 2];
	for (int i = 0; i < CT_CH; i++)
		cs[i] = RG_SEND(s->ch[i], &v);
	cs[CT_CH] = RG_SEND(s->ch[id % CT_CH], &v);
	cs[CT_CH + 1] = RG_SEND(NULL, &v);
	for (long i = 0; i < CT_PER; i++) {
		v = (long)id * CT_PER + i;
		int k = rg_select(cs, CT_CH + 2, true);
		if (k < 0 || k > CT_CH)
			atomic_fetch_add(&s->dups, 1);
	}
	rg_chan_send(s->pdone, NULL);
}

/* Receives through a select over every channel until all are closed;
 * a closed channel's case becomes NULL (never ready). */
static void ct_consume(contention_t *s)
{
	long v, sum = 0;
	int open = CT_CH;
	rg_case_t cs[CT_CH];
	for (int i = 0; i < CT_CH; i++)
		cs[i] = RG_RECV(s->ch[i], &v);
	while (open > 0) {
		int k = rg_select(cs, CT_CH, true);
		if (!cs[k].ok) {
			cs[k].c = NULL;
			open--;
			continue;
		}
		uint64_t bit = 1ull << (v % 64);
		if (v < 0 || v >= CT_TOTAL ||
		    (atomic_fetch_or(&s->seen[v / 64], bit) & bit))
			atomic_fetch_add(&s->dups, 1);
		sum += v;
	}
	rg_chan_send(s->sums, &sum);
}

static void ct_producer(void *arg)
{
	ct_worker_t *w = arg;
	ct_produce(w->s, w->id);
}

static void ct_consumer(void *arg)
{
	ct_worker_t *w = arg;
	ct_consume(w->s);
}

static void *ct_producer_thread(void *arg)
{
	ct_producer(arg);
	return NULL;
}

static void *ct_consumer_thread(void *arg)
{
	ct_consumer(arg);
	return NULL;
}

/*
 * Producers select-send and consumers select-receive over the same
 * channels (unbuffered, then buffered); every value arrives exactly
 * once.  With `threads`, half of each are foreign threads; the test then
 * holds a scheduler reference while they live (a thread between two
 * calls is invisible to the deadlock detector; see NEEDS-CORE in
 * runtime/chan.c).
 */
static void contention_run(size_t cap, bool threads)
{
	contention_t *s = calloc(1, sizeof(*s));
	ct_worker_t w[CT_PROD + CT_CONS];
	pthread_t th[CT_PROD + CT_CONS];
	int nth = 0;

	for (int i = 0; i < CT_CH; i++)
		s->ch[i] = RG_CHAN(long, cap);
	s->pdone = rg_chan_make(0, 0);
	s->sums = RG_CHAN(long, 0);
	for (int i = 0; i < CT_PROD + CT_CONS; i++) {
		bool prod = i < CT_PROD;
		w[i] = (ct_worker_t){.s = s, .id = prod ? i : i - CT_PROD};
		if (threads && i % 2)
			pthread_create(&th[nth++], NULL,
				       prod ? ct_producer_thread : ct_consumer_thread,
				       &w[i]);
		else
			rg_go(prod ? ct_producer : ct_consumer, &w[i]);
	}
	for (int i = 0; i < CT_PROD; i++)
		rg_chan_recv(s->pdone, NULL);
	for (int i = 0; i < CT_CH; i++)
		rg_chan_close(s->ch[i]);
	long total = 0;
	for (int i = 0; i < CT_CONS; i++) {
		long sum = 0;
		GCHECK(rg_chan_recv(s->sums, &sum));
		total += sum;
	}
	GCHECK(atomic_load(&s->dups) == 0);
	GCHECK(total == (long)CT_TOTAL * (CT_TOTAL - 1) / 2);
	for (int i = 0; i < CT_TOTAL / 64; i++)
		GCHECK(atomic_load(&s->seen[i]) == ~0ull);
	rg_syscall_enter();
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	rg_syscall_exit();
	for (int i = 0; i < CT_CH; i++) {
		GCHECK(queued(s->ch[i], false) == 0 && queued(s->ch[i], true) == 0);
		rg_chan_free(s->ch[i]);
	}
	rg_chan_free(s->pdone);
	rg_chan_free(s->sums);
	free(s);
}

static int contention_main(void *arg)
{
	(void)arg;
	contention_run(0, false);
	contention_run(4, false);
	return 0;
}

static void test_contention_exactly_once(void **state)
{
	(void)state;
	rgc_main(contention_main, NULL);
	rgt_env("RINGO_PROCS", "4");
	rgc_main(contention_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- foreign threads ---------------------------------------------- */

static int foreign_main(void *arg)
{
	(void)arg;
	rg__sched_ref();
	contention_run(0, true);
	contention_run(4, true);
	rg__sched_unref();
	return 0;
}

/* Foreign threads select (send and receive) alongside goroutines. */
static void test_foreign_threads_select(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgc_main(foreign_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

static rg_chan_t *fs_a, *fs_b;

static void *fs_thread(void *arg)
{
	(void)arg;
	int x = -1;
	rg_case_t cs[] = {RG_RECV(fs_a, &x), RG_RECV(fs_b, &x)};
	int i = rg_select(cs, 2, true);
	return (void *)(intptr_t)(i * 100 + x);
}

/* A foreign thread parked in a select is woken by a goroutine's send
 * and leaves nothing queued on the other channel. */
static int foreign_parked_main(void *arg)
{
	(void)arg;
	fs_a = RG_CHAN(int, 0);
	fs_b = RG_CHAN(int, 0);
	pthread_t th;
	pthread_create(&th, NULL, fs_thread, NULL);
	wait_queued(fs_a, false, 1);
	wait_queued(fs_b, false, 1);
	int v = 9;
	rg_chan_send(fs_a, &v);
	void *res;
	rg_syscall_enter();
	pthread_join(th, &res);
	rg_syscall_exit();
	GCHECK(res == (void *)9);
	GCHECK(queued(fs_b, false) == 0);
	rg_chan_free(fs_a);
	rg_chan_free(fs_b);
	return 0;
}

static void test_foreign_thread_parked_select(void **state)
{
	(void)state;
	rgc_main(foreign_parked_main, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_mixed_send_recv),
		cmocka_unit_test(test_same_channel_several_cases),
		cmocka_unit_test(test_zero_cases_nonblocking),
		cmocka_unit_test(test_zero_cases_blocking_deadlocks),
		cmocka_unit_test(test_nil_channels_never_ready),
		cmocka_unit_test(test_nil_only_blocks_forever),
		cmocka_unit_test(test_closed_recv_case),
		cmocka_unit_test(test_closed_send_case_panics),
		cmocka_unit_test(test_fairness),
		cmocka_unit_test(test_losers_dequeued),
		cmocka_unit_test(test_parked_selects_each_value_once),
		cmocka_unit_test(test_many_cases),
		cmocka_unit_test(test_contention_exactly_once),
		cmocka_unit_test(test_foreign_threads_select),
		cmocka_unit_test(test_foreign_thread_parked_select),
	};
	if (getenv("RGT_FILTER"))  /* e.g. RGT_FILTER='*fair*' */
		cmocka_set_test_filter(getenv("RGT_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
