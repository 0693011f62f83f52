// SPDX-License-Identifier: MIT
/*
 * test_chan_ring.c — the lock-free ring of buffered channels (chan.c):
 * stress on several Ps for the race that matters, a waiter that parks
 * while a lock-free peer completes (a lost wake-up hangs the test, and
 * the deadlock detector or the runner's timeout reports it), FIFO order
 * per sender, exactly-once delivery with goroutines, foreign threads
 * and selects mixed, close racing with receives (receivers drain, then
 * see the close) and with sends (the late sender panics, nothing
 * delivered twice or after a close was seen).  Small buffers (1-3
 * slots) keep the ring at empty or full, where the lock-free paths and
 * the parked waiters meet.
 */
#include "helpers/rgcheck.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/rgchan.h"

#if defined(__SANITIZE_ADDRESS__)
#define SCALE 4
#else
#define SCALE 1
#endif

/* ---- one producer, one consumer: FIFO, no lost wake-up --------------- */

typedef struct pair {
	rg_chan_t *c;
	long n;
	bool use_select;    /* the consumer receives through a select */
	rg_chan_t *never;   /* the select's other case: never ready */
} pair_t;

static void pair_producer(void *arg)
{
	pair_t *p = arg;
	for (long i = 0; i < p->n; i++) {
		rg_chan_send(p->c, &i);
		if (i % 97 == 0)
			rg_yield();  /* vary who waits for whom */
	}
	rg_chan_close(p->c);
}

/* Receives until closed; checks 0, 1, 2, ... in order. */
static int pair_consume(pair_t *p)
{
	long want = 0, v;
	for (;;) {
		bool ok;
		if (p->use_select) {
			long dummy;
			rg_case_t cs[2] = {
				RG_RECV(p->c, &v),
				RG_RECV(p->never, &dummy),
			};
			int i = rg_select(cs, 2, true);
			CHECK(i == 0);
			ok = cs[0].ok;
		} else {
			ok = rg_chan_recv(p->c, &v);
		}
		if (!ok)
			break;
		CHECK_CMP(v, ==, want);
		want++;
	}
	CHECK_CMP(want, ==, p->n);
	CHECK(rg_chan_len(p->c) == 0);
	return 0;
}

static int pair_main(void *arg)
{
	(void)arg;
	static const size_t caps[] = {1, 2, 3, 8};
	for (int sel = 0; sel < 2; sel++) {
		for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
			pair_t p = {
				.c = RG_CHAN(long, caps[k]),
				.n = 100000 / SCALE,
				.use_select = sel,
				.never = RG_CHAN(long, 0),
			};
			rg_go(pair_producer, &p);
			int r = pair_consume(&p);
			rg_chan_free(p.c);
			rg_chan_free(p.never);
			if (r)
				return r;
		}
	}
	return 0;
}

/* A single sender and receiver on 2 Ps (then 4): every value arrives,
 * in order, whether the receiver takes it lock-free, parks, or selects.
 * A wake-up lost between the lock-free send and a parking receiver
 * hangs here. */
static void test_pair_fifo(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgc_main(pair_main, NULL);
	rgt_env("RINGO_PROCS", "4");
	rgc_main(pair_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- ping-pong over one-slot channels: every wake-up counts ------------ */

#define PP_N (200000 / SCALE)

typedef struct pp {
	rg_chan_t *ping, *pong;
} pp_t;

static void pp_echo(pp_t *p)
{
	long v;
	while (rg_chan_recv(p->ping, &v)) {
		v++;
		rg_chan_send(p->pong, &v);
	}
}

static void pp_echo_g(void *arg) { pp_echo(arg); }
static void *pp_echo_t(void *arg) { pp_echo(arg); return NULL; }

static int pp_main(void *arg)
{
	(void)arg;
	for (int thread = 0; thread < 2; thread++) {
		pp_t p = {RG_CHAN(long, 1), RG_CHAN(long, 1)};
		pthread_t th;
		if (thread) {
			rg__sched_ref();
			pthread_create(&th, NULL, pp_echo_t, &p);
		} else {
			rg_go(pp_echo_g, &p);
		}
		long n = thread ? PP_N / 10 : PP_N;
		for (long i = 0; i < n; i++) {
			long v = i;
			rg_chan_send(p.ping, &v);
			CHECK(rg_chan_recv(p.pong, &v));
			CHECK_CMP(v, ==, i + 1);
		}
		rg_chan_close(p.ping);
		if (thread) {
			rg_syscall_enter();
			pthread_join(th, NULL);
			rg_syscall_exit();
			rg__sched_unref();
		}
		rg_chan_free(p.ping);
		rg_chan_free(p.pong);
	}
	return 0;
}

/* Each value is sent lock-free into an empty one-slot channel whose
 * receiver is just parking: the receiver is the only one who can
 * answer, so a wake-up lost between the two (the race chan.c's Dekker
 * pairing closes) stops the exchange, and the deadlock detector ends
 * the run. */
static void test_pingpong_no_lost_wakeup(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgc_main(pp_main, NULL);
	rgt_env("RINGO_PROCS", "4");
	rgc_main(pp_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- many to many: exactly once, FIFO per producer, close --------------- */

#define MP_PROD 6
#define MP_CONS 6
#define MP_PER (12000 / SCALE)
#define MP_TOTAL (MP_PROD * MP_PER)

typedef struct mp {
	rg_chan_t *c;
	rg_chan_t *pdone;   /* one signal per producer */
	rg_chan_t *sums;    /* one count per consumer */
	rg_chan_t *never;   /* unbuffered, never ready: selects' other case */
	_Atomic uint64_t seen[(MP_TOTAL + 63) / 64];
	_Atomic int errors;
	_Atomic long after_close;  /* values received after a !ok */
} mp_t;

typedef struct mp_worker {
	mp_t *m;
	int id;
	int kind;  /* consumers: 0 plain, 1 select, 2 try_recv loop */
} mp_worker_t;

static void mp_error(mp_t *m, const char *what, long v)
{
	fprintf(stderr, "mp: %s (%ld)\n", what, v);
	atomic_fetch_add(&m->errors, 1);
}

static void mp_produce(mp_worker_t *w)
{
	mp_t *m = w->m;
	for (long i = 0; i < MP_PER; i++) {
		long v = (long)w->id * MP_PER + i;
		if (w->id % 3 == 2) {
			/* A select sender: a full ring parks it on sendq,
			 * where a lock-free receiver must move it in. */
			long x;
			rg_case_t cs[2] = {RG_SEND(m->c, &v), RG_RECV(m->never, &x)};
			int r = rg_select(cs, 2, true);
			if (r != 0)
				mp_error(m, "select send chose", r);
		} else {
			rg_chan_send(m->c, &v);
		}
	}
	rg_chan_send(m->pdone, NULL);
}

static void mp_consume(mp_worker_t *w)
{
	mp_t *m = w->m;
	long last[MP_PROD], count = 0, v;
	for (int i = 0; i < MP_PROD; i++)
		last[i] = -1;
	for (;;) {
		bool ok;
		if (w->kind == 1) {
			long dummy;
			rg_case_t cs[2] = {RG_RECV(m->never, &dummy), RG_RECV(m->c, &v)};
			int r = rg_select(cs, 2, true);
			if (r != 1)
				mp_error(m, "select recv chose", r);
			ok = cs[1].ok;
		} else if (w->kind == 2) {
			int r = rg_chan_try_recv(m->c, &v, &ok);
			if (r == -EAGAIN) {
				rg_yield();
				continue;
			}
		} else {
			ok = rg_chan_recv(m->c, &v);
		}
		if (!ok)
			break;
		if (v < 0 || v >= MP_TOTAL) {
			mp_error(m, "out of range", v);
			continue;
		}
		uint64_t bit = 1ull << (v % 64);
		if (atomic_fetch_or(&m->seen[v / 64], bit) & bit)
			mp_error(m, "received twice", v);
		int p = (int)(v / MP_PER);
		if (v <= last[p])
			mp_error(m, "out of order", v);
		last[p] = v;
		count++;
	}
	/* Closed and drained stays so. */
	for (int i = 0; i < 3; i++) {
		bool ok = true;
		if (rg_chan_try_recv(m->c, &v, &ok) != 0 || ok)
			atomic_fetch_add(&m->after_close, 1);
	}
	rg_chan_send(m->sums, &count);
}

static void g_producer(void *arg) { mp_produce(arg); }
static void g_consumer(void *arg) { mp_consume(arg); }
static void *t_producer(void *arg) { mp_produce(arg); return NULL; }
static void *t_consumer(void *arg) { mp_consume(arg); return NULL; }

static int mp_main(void *arg)
{
	(void)arg;
	static const size_t caps[] = {1, 2, 3};
	rg__sched_ref();  /* threads between calls: see NEEDS-CORE in chan.c */
	for (int round = 0; round < 6; round++) {
		mp_t *m = calloc(1, sizeof(*m));
		m->c = RG_CHAN(long, caps[round % 3]);
		m->pdone = rg_chan_make(0, 0);
		m->sums = RG_CHAN(long, MP_CONS);
		m->never = RG_CHAN(long, 0);
		mp_worker_t w[MP_PROD + MP_CONS];
		pthread_t th[MP_PROD + MP_CONS];
		int nth = 0;
		bool threads = round >= 3;
		for (int i = 0; i < MP_CONS; i++) {
			w[i] = (mp_worker_t){.m = m, .id = i, .kind = i % 3};
			if (threads && i % 2)
				pthread_create(&th[nth++], NULL, t_consumer, &w[i]);
			else
				rg_go(g_consumer, &w[i]);
		}
		for (int i = 0; i < MP_PROD; i++) {
			mp_worker_t *pw = &w[MP_CONS + i];
			*pw = (mp_worker_t){.m = m, .id = i};
			if (threads && i % 2)
				pthread_create(&th[nth++], NULL, t_producer, pw);
			else
				rg_go(g_producer, pw);
		}
		for (int i = 0; i < MP_PROD; i++)
			rg_chan_recv(m->pdone, NULL);
		/* Races with consumers parked, selecting, polling and
		 * in the middle of lock-free receives. */
		rg_chan_close(m->c);
		long total = 0;
		for (int i = 0; i < MP_CONS; i++) {
			long n;
			CHECK(rg_chan_recv(m->sums, &n));
			total += n;
		}
		rg_syscall_enter();
		for (int i = 0; i < nth; i++)
			pthread_join(th[i], NULL);
		rg_syscall_exit();
		CHECK_CMP(atomic_load(&m->errors), ==, 0);
		CHECK_CMP(atomic_load(&m->after_close), ==, 0);
		CHECK_CMP(total, ==, MP_TOTAL);
		for (int i = 0; i < MP_TOTAL / 64; i++)
			CHECK(atomic_load(&m->seen[i]) == ~0ull);
		rg_chan_free(m->c);
		rg_chan_free(m->pdone);
		rg_chan_free(m->sums);
		rg_chan_free(m->never);
		free(m);
	}
	rg__sched_unref();
	return 0;
}

/* Producers and consumers, goroutines and foreign threads, plain,
 * select and polling, over 1-3 slots, closed while consumers race for
 * the last values: each value exactly once, each producer's in order,
 * and a consumer that saw the close never sees a value again. */
static void test_many_exactly_once(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgc_main(mp_main, NULL);
	rgt_env("RINGO_PROCS", "4");
	rgc_main(mp_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- close racing with sends ------------------------------------------ */

static rg_chan_t *cs_c;
static _Atomic long cs_next[4];

static void cs_sender(void *arg)
{
	long id = (long)(intptr_t)arg;
	for (long i = 0;; i++) {
		long v = id << 32 | i;
		rg_chan_send(cs_c, &v);  /* panics once cs_c is closed */
	}
}

static void cs_receiver(void *arg)
{
	(void)arg;
	long v;
	while (rg_chan_recv(cs_c, &v)) {
		long id = v >> 32, i = v & 0xffffffff;
		if (id < 0 || id >= 4 || i != atomic_load(&cs_next[id])) {
			fprintf(stderr, "VIOLATION: %ld:%ld\n", id, i);
			fflush(stderr);
			abort();
		}
		atomic_store(&cs_next[id], i + 1);
	}
	bool ok = true;
	if (rg_chan_try_recv(cs_c, &v, &ok) != 0 || ok) {
		fprintf(stderr, "VIOLATION: a value after the close\n");
		fflush(stderr);
		abort();
	}
}

static int close_sends_main(void *arg)
{
	(void)arg;
	cs_c = RG_CHAN(long, 2);
	for (long i = 0; i < 4; i++)
		rg_go(cs_sender, (void *)(intptr_t)i);
	rg_go(cs_receiver, NULL);
	while (atomic_load(&cs_next[0]) + atomic_load(&cs_next[3]) < 2000)
		rg_yield();
	rg_chan_close(cs_c);
	for (;;)
		rg_yield();  /* a sender's panic ends the process */
	return 0;
}

static int close_sends_child(void *arg)
{
	return rg_main(close_sends_main, arg);
}

/* Close while four senders keep sending: the process dies of "send on
 * closed channel" (a send that had not completed when close ran), and
 * the one receiver (the only one, so it sees every sender's values in
 * order) got no value twice, none out of order, none after the close. */
static void test_close_races_sends(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	for (int i = 0; i < 5; i++) {
		rgt_child_t *r = child(close_sends_child, NULL);
		if (strstr(r->out, "VIOLATION") || !strstr(r->out, "send on closed channel"))
			fprintf(stderr, "child output:\n%s\n", r->out);
		assert_null(strstr(r->out, "VIOLATION"));
		assert_non_null(strstr(r->out, "panic: send on closed channel"));
		assert_true(r->signaled);
		assert_int_equal(r->sig, SIGABRT);
	}
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- selects on both sides ------------------------------------------- */

#define SS_N (40000 / SCALE)

typedef struct ss {
	rg_chan_t *a, *b;     /* buffered, 1 slot each */
	_Atomic long got[2];  /* values received from a and b */
	rg_chan_t *done;
} ss_t;

/* Sends 0..SS_N-1 on whichever of a and b is ready. */
static void ss_sender(void *arg)
{
	ss_t *s = arg;
	for (long i = 0; i < SS_N; i++) {
		rg_case_t cs[2] = {RG_SEND(s->a, &i), RG_SEND(s->b, &i)};
		rg_select(cs, 2, true);
	}
	rg_chan_send(s->done, NULL);
}

static void ss_receiver(void *arg)
{
	ss_t *s = arg;
	long v, w;
	for (;;) {
		rg_case_t cs[2] = {RG_RECV(s->a, &v), RG_RECV(s->b, &w)};
		int i = rg_select(cs, 2, true);
		if (!cs[i].ok)
			break;
		atomic_fetch_add(&s->got[i], 1);
	}
	rg_chan_send(s->done, NULL);
}

static void plain_receiver(void *arg)
{
	ss_t *s = arg;
	long v;
	while (rg_chan_recv(s->a, &v))
		atomic_fetch_add(&s->got[0], 1);
	rg_chan_send(s->done, NULL);
}

static int ss_main(void *arg)
{
	(void)arg;
	ss_t s = {.a = RG_CHAN(long, 1), .b = RG_CHAN(long, 1), .done = rg_chan_make(0, 0)};
	for (int i = 0; i < 3; i++)
		rg_go(ss_sender, &s);
	for (int i = 0; i < 2; i++)
		rg_go(ss_receiver, &s);
	rg_go(plain_receiver, &s);
	for (int i = 0; i < 3; i++)
		rg_chan_recv(s.done, NULL);
	/* Senders done: closing a ends the plain receiver; the select
	 * receivers end on the first closed case they see, so close b
	 * too, and the rest is drained by whoever is left. */
	rg_chan_close(s.a);
	rg_chan_close(s.b);
	for (int i = 0; i < 3; i++)
		rg_chan_recv(s.done, NULL);
	long v;
	while (rg_chan_recv(s.b, &v))
		atomic_fetch_add(&s.got[1], 1);
	while (rg_chan_recv(s.a, &v))
		atomic_fetch_add(&s.got[0], 1);
	CHECK_CMP(atomic_load(&s.got[0]) + atomic_load(&s.got[1]), ==, 3L * SS_N);
	rg_chan_free(s.a);
	rg_chan_free(s.b);
	rg_chan_free(s.done);
	return 0;
}

/* Select senders and select receivers on the same one-slot channels,
 * with a plain receiver taking values lock-free: settling hands values
 * to parked selects, and a select whose value was taken by a lock-free
 * peer runs again (RG_SG_RETRY).  Nothing is lost: the count matches. */
static void test_select_both_sides(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgc_main(ss_main, NULL);
	rgt_env("RINGO_PROCS", "4");
	rgc_main(ss_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* ---- signal channels (a count, no slots) ------------------------------ */

static void sig_sender(void *arg)
{
	for (int i = 0; i < 20000 / SCALE; i++)
		rg_chan_send(arg, NULL);
}

static int sig_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = rg_chan_make(0, 2);
	rg_chan_t *huge = rg_chan_make(0, (size_t)1 << 40);  /* no slots */
	CHECK(huge && rg_chan_cap(huge) == (size_t)1 << 40);
	for (int i = 0; i < 100; i++)
		CHECK(rg_chan_try_send(huge, NULL) == 0);
	CHECK(rg_chan_len(huge) == 100);
	rg_chan_close(huge);
	int n = 0;
	while (rg_chan_recv(huge, NULL))
		n++;
	CHECK_CMP(n, ==, 100);
	rg_chan_free(huge);

	for (int i = 0; i < 4; i++)
		rg_go(sig_sender, c);
	for (long i = 0; i < 4L * (20000 / SCALE); i++)
		CHECK(rg_chan_recv(c, NULL));
	CHECK(rg_chan_len(c) == 0);
	CHECK(rg_chan_try_recv(c, NULL, NULL) == -EAGAIN);
	rg_chan_close(c);
	bool ok = true;
	CHECK(rg_chan_try_recv(c, NULL, &ok) == 0 && !ok);
	rg_chan_free(c);
	return 0;
}

/* Zero-size elements keep a count instead of slots: a channel of 2^40
 * "slots" costs its header, senders and receivers on several Ps meet,
 * and close still lets receivers drain the count first. */
static void test_signal_channels(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgc_main(sig_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_fifo),
		cmocka_unit_test(test_pingpong_no_lost_wakeup),
		cmocka_unit_test(test_many_exactly_once),
		cmocka_unit_test(test_close_races_sends),
		cmocka_unit_test(test_select_both_sides),
		cmocka_unit_test(test_signal_channels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
