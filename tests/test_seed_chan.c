// SPDX-License-Identifier: MIT
/*
 * test_seed_chan.c — the Go examples of the seed's sections on channels,
 * buffered channels, channel synchronisation, select (multiplexing) and
 * closing channels, ported to C, one scenario per example; the table at
 * the end (seed_cases) lists them, in the seed's order.
 *
 * Go's fmt.Println becomes say(), which appends the line to a log
 * instead of printing it; each scenario then compares the log with the
 * output the seed gives.  Where the seed says the order may vary, the
 * test checks what does not vary (the set of lines, the order within one
 * goroutine).  time.Sleep becomes rg_sleep with the durations shortened
 * (seconds to milliseconds); time.After is rg_after, freed with
 * rg_chan_free whether or not it fired.  A Go `chan string` carries
 * a fixed-size text (text_t) by value; `chan struct{}` has element size 0.
 */
#include "helpers/rgcheck.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the output log (fmt.Println) --------------------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[8192];
static size_t log_len;

static void log_reset(void)
{
	pthread_mutex_lock(&log_mu);
	log_len = 0;
	log_buf[0] = 0;
	pthread_mutex_unlock(&log_mu);
}

/* Appends one line.  The lock is held for a copy only: never across a
 * park, so a pthread mutex is fine here. */
static void RG_PRINTF(1, 2) say(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = 0;
	pthread_mutex_lock(&log_mu);
	if (log_len + (size_t)n < sizeof(log_buf)) {
		memcpy(log_buf + log_len, line, (size_t)n + 1);
		log_len += (size_t)n;
	}
	pthread_mutex_unlock(&log_mu);
}

/* The log equals `want` exactly. */
static bool log_is(const char *want)
{
	pthread_mutex_lock(&log_mu);
	bool same = strcmp(log_buf, want) == 0;
	if (!same)
		fprintf(stderr, "output:\n%s--- want:\n%s---\n", log_buf, want);
	pthread_mutex_unlock(&log_mu);
	return same;
}

/* Index of the line `line` in the log (-1: absent). */
static int log_line(const char *line)
{
	int idx = -1, i = 0;
	size_t len = strlen(line);

	pthread_mutex_lock(&log_mu);
	for (const char *p = log_buf; *p; i++) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n == len && memcmp(p, line, len) == 0) {
			idx = i;
			break;
		}
		p += n + (nl ? 1 : 0);
	}
	pthread_mutex_unlock(&log_mu);
	return idx;
}

static int log_lines(void)
{
	int n = 0;

	pthread_mutex_lock(&log_mu);
	for (const char *p = log_buf; *p; p++)
		n += *p == '\n';
	pthread_mutex_unlock(&log_mu);
	return n;
}

/* Runs a scenario as the main goroutine with a fresh log. */
static void run(int (*fn)(void *))
{
	log_reset();
	rgc_main(fn, NULL);
}

/* ---- Go stand-ins ------------------------------------------------- */

/* A Go string sent by value over a channel. */
typedef struct text {
	char s[48];
} text_t;

static text_t text(const char *fmt, ...)
{
	text_t t;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t.s, sizeof(t.s), fmt, ap);
	va_end(ap);
	return t;
}


static rgt_child_t *child(int (*fn)(void *), void *arg)
{
	static rgt_child_t res;

	assert_int_equal(rgt_run_child(fn, arg, 30, &res), 0);
	return &res;
}

/* ==== 2. Channels – communication between goroutines =============== */

static void ch_worker(void *arg)
{
	text_t t = text("task finished");
	rg_chan_send(arg, &t);  /* send data into channel */
}

/* worker sends "task finished"; main receives and prints it. */
static int intro_channel_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(text_t, 0);
	rg_go(ch_worker, ch);
	text_t msg;
	rg_chan_recv(ch, &msg);  /* receive data */
	say("Message: %s", msg.s);
	GCHECK(log_is("Message: task finished\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== 3. Buffered channels – queue of messages ====================== */

/* Two sends fit in capacity 2 without a receiver; both come back. */
static int intro_buffered_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 2);  /* capacity = 2 */
	int v = 10;
	rg_chan_send(ch, &v);
	v = 20;
	rg_chan_send(ch, &v);
	rg_chan_recv(ch, &v);
	say("%d", v);
	rg_chan_recv(ch, &v);
	say("%d", v);
	GCHECK(log_is("10\n20\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== 4. select – multiplexing channels ============================= */

/* Nothing on ch1 or ch2: the default branch prints "No message". */
static int intro_select_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch1 = RG_CHAN(text_t, 0), *ch2 = RG_CHAN(text_t, 0);
	text_t msg;
	rg_case_t cs[] = {RG_RECV(ch1, &msg), RG_RECV(ch2, &msg)};
	switch (rg_select(cs, 2, false)) {
	case 0:
	case 1:
		say("Received %s", msg.s);
		break;
	default:
		say("No message");
	}
	GCHECK(log_is("No message\n"));
	rg_chan_free(ch1);
	rg_chan_free(ch2);
	return 0;
}

/* ==== Channels in depth: syntax ===================================== */

static void send10(void *arg)
{
	int v = 10;
	rg_chan_send(arg, &v);  /* ch <- 10 */
}

/* var ch chan int is nil; make allocates; ch <- 10 / value := <-ch. */
static int syntax_main(void *arg)
{
	(void)arg;
	rg_chan_t *nilch = NULL;  /* var ch chan int */
	int v = 0;
	GCHECK(rg_chan_try_recv(nilch, &v, NULL) == -EAGAIN);  /* blocks */
	rg_chan_t *ch = RG_CHAN(int, 0);  /* ch := make(chan int) */
	GCHECK(ch != NULL);
	rg_go(send10, ch);
	int value;
	rg_chan_recv(ch, &value);  /* value := <-ch */
	say("%d", value);
	GCHECK(log_is("10\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== Simple goroutine communication ================================ */

static void done_worker(void *arg)
{
	rg_sleep(20 * RG_MILLISECOND);  /* 2 s in the seed */
	text_t t = text("done");
	rg_chan_send(arg, &t);  /* send message */
}

/* main waits on <-ch until the worker sends "done". */
static int simple_comm_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(text_t, 0);
	rg_go(done_worker, ch);
	say("Waiting for worker...");
	text_t msg;
	rg_chan_recv(ch, &msg);  /* blocks until worker sends data */
	say("Worker says: %s", msg.s);
	GCHECK(log_is("Waiting for worker...\nWorker says: done\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== Buffered vs unbuffered ======================================== */

/* Capacity 3 takes three sends; a fourth would block (try says so),
 * and an unbuffered channel blocks on the first. */
static int buffered_vs_unbuffered_main(void *arg)
{
	(void)arg;
	rg_chan_t *u = RG_CHAN(int, 0);  /* unbuffered */
	int v = 1;
	GCHECK(rg_chan_try_send(u, &v) == -EAGAIN);
	rg_chan_t *ch = RG_CHAN(int, 3);  /* capacity = 3 */
	for (v = 1; v <= 3; v++)
		rg_chan_send(ch, &v);
	/* sending a 4th value will block until receiver consumes one */
	GCHECK(rg_chan_try_send(ch, &v) == -EAGAIN);
	rg_chan_recv(ch, NULL);
	GCHECK(rg_chan_try_send(ch, &v) == 0);
	rg_chan_free(u);
	rg_chan_free(ch);
	return 0;
}

/* ==== Closing a channel (range) ===================================== */

/* Two buffered values, close, range: prints 10 and 20. */
static int close_range_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 2);
	int v = 10;
	rg_chan_send(ch, &v);
	v = 20;
	rg_chan_send(ch, &v);
	rg_chan_close(ch);
	int val;
	RG_RANGE(ch, val)
		say("%d", val);
	GCHECK(log_is("10\n20\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== Directional channels ========================================== */

/* C has no chan<- / <-chan types: the contract is by convention. */
static void send_data(void *ch)  /* send-only */
{
	int v = 100;
	rg_chan_send(ch, &v);
}

static void receive_data(rg_chan_t *ch)  /* receive-only */
{
	int v;
	rg_chan_recv(ch, &v);
	say("%d", v);
}

static int directional_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 0);
	rg_go(send_data, ch);
	receive_data(ch);
	GCHECK(log_is("100\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== Select statement (multiplexing), with default ================= */

/* Neither ch1 nor ch2 has a message: "No messages". */
static int select_default_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch1 = RG_CHAN(text_t, 0), *ch2 = RG_CHAN(text_t, 0);
	text_t msg1, msg2;
	rg_case_t cs[] = {RG_RECV(ch1, &msg1), RG_RECV(ch2, &msg2)};
	switch (rg_select(cs, 2, false)) {
	case 0:
		say("Received %s", msg1.s);
		break;
	case 1:
		say("Received %s", msg2.s);
		break;
	default:
		say("No messages");
	}
	GCHECK(log_is("No messages\n"));
	rg_chan_free(ch1);
	rg_chan_free(ch2);
	return 0;
}

/* ==== Real example: worker pool with channels ======================= */

typedef struct pool {
	rg_chan_t *jobs, *results, *exited;
} pool_t;

typedef struct pool_worker {
	pool_t *p;
	int id;
} pool_worker_t;

static void pool_worker(void *arg)
{
	pool_worker_t *w = arg;
	int job;
	RG_RANGE(w->p->jobs, job) {
		say("Worker %d processing job %d", w->id, job);
		rg_sleep(5 * RG_MILLISECOND);  /* time.Second */
		int r = job * 2;
		rg_chan_send(w->p->results, &r);
	}
	rg_chan_send(w->p->exited, NULL);
}

/* 3 workers, 5 jobs: every job processed once, results 2..10 (order
 * may vary, as the seed says). */
static int worker_pool_main(void *arg)
{
	(void)arg;
	pool_t p = {RG_CHAN(int, 5), RG_CHAN(int, 5), rg_chan_make(0, 3)};
	pool_worker_t w[3];
	for (int i = 1; i <= 3; i++) {  /* start 3 workers */
		w[i - 1] = (pool_worker_t){.p = &p, .id = i};
		rg_go(pool_worker, &w[i - 1]);
	}
	for (int j = 1; j <= 5; j++)  /* send jobs */
		rg_chan_send(p.jobs, &j);
	rg_chan_close(p.jobs);
	int sum = 0, seen = 0;
	for (int r = 1; r <= 5; r++) {  /* collect results */
		int v;
		rg_chan_recv(p.results, &v);
		say("Result: %d", v);
		GCHECK(v % 2 == 0 && v >= 2 && v <= 10 && !(seen & (1 << v)));
		seen |= 1 << v;
		sum += v;
	}
	for (int i = 0; i < 3; i++)
		rg_chan_recv(p.exited, NULL);
	GCHECK(sum == 30);
	for (int j = 1; j <= 5; j++) {
		int n = 0;
		for (int id = 1; id <= 3; id++) {
			char line[64];
			snprintf(line, sizeof(line), "Worker %d processing job %d", id, j);
			n += log_line(line) >= 0;
		}
		GCHECK(n == 1);
	}
	GCHECK(log_lines() == 10);
	rg_chan_free(p.jobs);
	rg_chan_free(p.results);
	rg_chan_free(p.exited);
	return 0;
}

/* ==== Execution timeline, case 1: unbuffered ======================== */

static rg_chan_t *tl_ch, *tl_done;

static void tl_sender42(void *arg)
{
	(void)arg;
	int v = 42;
	rg_chan_send(tl_ch, &v);
	say("Sent 42");
	rg_chan_send(tl_done, NULL);
}

/* Send and receive rendezvous; both then print (in either order). */
static int timeline_unbuffered_main(void *arg)
{
	(void)arg;
	tl_ch = RG_CHAN(int, 0);
	tl_done = rg_chan_make(0, 0);
	rg_go(tl_sender42, NULL);
	int val;
	rg_chan_recv(tl_ch, &val);
	say("Received %d", val);
	rg_chan_recv(tl_done, NULL);
	GCHECK(log_line("Sent 42") >= 0 && log_line("Received 42") >= 0);
	GCHECK(log_lines() == 2);
	rg_chan_free(tl_ch);
	rg_chan_free(tl_done);
	return 0;
}

/* ==== Execution timeline, case 2: buffered ========================== */

static void tl_sender123(void *arg)
{
	(void)arg;
	for (int v = 1; v <= 3; v++)
		rg_chan_send(tl_ch, &v);  /* the third blocks: buffer full */
	say("Sent all");
	rg_chan_send(tl_done, NULL);
}

/* Capacity 2, three sends: the third waits for the first receive, whose
 * slot takes it; the receives see 1, 2, 3. */
static int timeline_buffered_main(void *arg)
{
	(void)arg;
	tl_ch = RG_CHAN(int, 2);
	tl_done = rg_chan_make(0, 0);
	rg_go(tl_sender123, NULL);
	rg_sleep(RG_MILLISECOND);  /* give sender time */
	for (int64_t end = rg_now() + RG_SECOND;
	     rg_chan_len(tl_ch) < 2 && rg_now() < end;)
		rg_sleep(RG_MILLISECOND);
	GCHECK(rg_chan_len(tl_ch) == 2);  /* 1 and 2 queued, 3 waits */
	for (int i = 0; i < 3; i++) {
		int v;
		rg_chan_recv(tl_ch, &v);
		say("%d", v);
	}
	rg_chan_recv(tl_done, NULL);
	GCHECK(log_line("1") >= 0 && log_line("1") < log_line("2") &&
	       log_line("2") < log_line("3"));
	GCHECK(log_line("Sent all") >= 0 && log_lines() == 4);
	rg_chan_free(tl_ch);
	rg_chan_free(tl_done);
	return 0;
}

/* ==== Buffered deep dive: example, behaviour & output =============== */

static void bd_sender(void *arg)
{
	(void)arg;
	int v = 1;
	rg_chan_send(tl_ch, &v);  /* does NOT block */
	say("sent 1");
	v = 2;
	rg_chan_send(tl_ch, &v);  /* does NOT block */
	say("sent 2");
	v = 3;
	rg_chan_send(tl_ch, &v);  /* blocks until receiver consumes one */
	say("sent 3");
	rg_chan_send(tl_done, NULL);
}

/* sent 1, sent 2 come first (the buffer takes them); recv 1, 2, 3 in
 * order; sent 3 only once the first receive freed a slot. */
static int buffered_behaviour_main(void *arg)
{
	(void)arg;
	tl_ch = RG_CHAN(int, 2);  /* capacity 2 */
	tl_done = rg_chan_make(0, 0);
	rg_go(bd_sender, NULL);
	rg_sleep(20 * RG_MILLISECOND);  /* let sender run (100 ms) */
	GCHECK(log_is("sent 1\nsent 2\n"));
	for (int i = 0; i < 3; i++) {
		int v;
		rg_chan_recv(tl_ch, &v);
		say("recv: %d", v);
	}
	rg_chan_recv(tl_done, NULL);
	GCHECK(log_line("sent 1") == 0 && log_line("sent 2") == 1);
	GCHECK(log_line("recv: 1") >= 2);
	GCHECK(log_line("recv: 1") < log_line("recv: 2"));
	GCHECK(log_line("recv: 2") < log_line("recv: 3"));
	/* "sent 3" and "recv: 1" race: the first receive wakes the sender,
	 * and both then print. */
	GCHECK(log_line("sent 3") >= 2);
	GCHECK(log_lines() == 6);
	rg_chan_free(tl_ch);
	rg_chan_free(tl_done);
	return 0;
}

/* ==== Closing a buffered channel: v, ok ============================= */

/* 10 true, 20 true, then 0 false (drained and closed). */
static int close_comma_ok_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 2);
	int v = 10;
	rg_chan_send(ch, &v);
	v = 20;
	rg_chan_send(ch, &v);
	rg_chan_close(ch);
	for (int i = 0; i < 3; i++) {
		bool ok = rg_chan_recv(ch, &v);  /* v, ok := <-ch */
		say("%d %s", v, ok ? "true" : "false");
	}
	GCHECK(log_is("10 true\n20 true\n0 false\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== select + buffered channels: non-blocking try ================== */

/* select { case ch <- v: ...; default: ... } succeeds while there is
 * room, then takes the default (buffer full). */
static int try_send_select_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 2);
	for (int v = 1; v <= 3; v++) {
		rg_case_t cs[] = {RG_SEND(ch, &v)};
		if (rg_select(cs, 1, false) == 0)
			say("succeeded %d", v);
		else
			say("buffer full - do alternate action");
	}
	GCHECK(log_is("succeeded 1\nsucceeded 2\nbuffer full - do alternate action\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== Patterns: semaphore / concurrency limiter ===================== */

#define SEM_N 2

static rg_chan_t *sem, *sem_done;
static _Atomic int sem_active, sem_max;

static void sem_task(void *arg)
{
	(void)arg;
	rg_chan_send(sem, NULL);  /* acquire (blocks when N reached) */
	int now = atomic_fetch_add(&sem_active, 1) + 1;
	int m = atomic_load(&sem_max);
	while (now > m && !atomic_compare_exchange_weak(&sem_max, &m, now))
		;
	rg_sleep(2 * RG_MILLISECOND);
	atomic_fetch_sub(&sem_active, 1);
	rg_chan_recv(sem, NULL);  /* release */
	rg_chan_send(sem_done, NULL);
}

/* sem := make(chan struct{}, N): at most N tasks run at once. */
static int semaphore_main(void *arg)
{
	(void)arg;
	sem = rg_chan_make(0, SEM_N);
	sem_done = rg_chan_make(0, 0);
	atomic_store(&sem_active, 0);
	atomic_store(&sem_max, 0);
	for (int i = 0; i < 8; i++)
		rg_go(sem_task, NULL);
	for (int i = 0; i < 8; i++)
		rg_chan_recv(sem_done, NULL);
	GCHECK(atomic_load(&sem_max) >= 1 && atomic_load(&sem_max) <= SEM_N);
	rg_chan_free(sem);
	rg_chan_free(sem_done);
	return 0;
}

/* ==== Synchronisation, case 1: unbuffered done ====================== */

static void sync_worker(void *done)
{
	say("Worker: started");
	rg_sleep(10 * RG_MILLISECOND);  /* 2 s */
	say("Worker: finished");
	bool t = true;
	rg_chan_send(done, &t);  /* notify main goroutine */
}

/* Main blocks on <-done until the worker signals. */
static int sync_unbuffered_main(void *arg)
{
	(void)arg;
	rg_chan_t *done = RG_CHAN(bool, 0);
	rg_go(sync_worker, done);
	rg_chan_recv(done, NULL);  /* wait for worker to finish */
	say("Main: all done");
	GCHECK(log_is("Worker: started\nWorker: finished\nMain: all done\n"));
	rg_chan_free(done);
	return 0;
}

/* ==== Synchronisation, case 2: buffered tasks ======================= */

typedef struct tasks {
	rg_chan_t *tasks, *done;
} tasks_t;

static void task_worker(void *arg)
{
	tasks_t *t = arg;
	for (;;) {
		int task;
		bool more = rg_chan_recv(t->tasks, &task);
		if (!more) {
			say("Worker: all tasks done");
			bool b = true;
			rg_chan_send(t->done, &b);
			return;
		}
		say("Worker: processing task %d", task);
		rg_sleep(2 * RG_MILLISECOND);  /* 500 ms */
	}
}

/* Main queues 5 tasks into capacity 3 (blocking when full), closes, and
 * waits; the worker processes 1..5 in order, then reports. */
static int sync_buffered_main(void *arg)
{
	(void)arg;
	tasks_t t = {RG_CHAN(int, 3), RG_CHAN(bool, 0)};
	rg_go(task_worker, &t);
	for (int i = 1; i <= 5; i++) {
		say("Main: sending task %d", i);
		rg_chan_send(t.tasks, &i);
	}
	rg_chan_close(t.tasks);  /* signals no more tasks */
	rg_chan_recv(t.done, NULL);  /* wait for worker */
	say("Main: worker finished");
	char line[64];
	int prev_send = -1, prev_proc = -1;
	for (int i = 1; i <= 5; i++) {
		snprintf(line, sizeof(line), "Main: sending task %d", i);
		int s = log_line(line);
		snprintf(line, sizeof(line), "Worker: processing task %d", i);
		int p = log_line(line);
		GCHECK(s > prev_send && p > prev_proc && p > s);
		prev_send = s;
		prev_proc = p;
	}
	GCHECK(log_line("Worker: all tasks done") == 10);
	GCHECK(log_line("Main: worker finished") == 11);
	rg_chan_free(t.tasks);
	rg_chan_free(t.done);
	return 0;
}

/* ==== Channel synchronisation deep dive: handshake ================== */

static void handshake_worker(void *done)
{
	say("Working...");
	rg_sleep(10 * RG_MILLISECOND);  /* 2 s */
	say("Done work");
	bool t = true;
	rg_chan_send(done, &t);  /* notify main */
}

/* main only exits after the worker is done. */
static int handshake_main(void *arg)
{
	(void)arg;
	rg_chan_t *done = RG_CHAN(bool, 0);
	rg_go(handshake_worker, done);
	rg_chan_recv(done, NULL);  /* main waits for signal */
	say("Main exits");
	GCHECK(log_is("Working...\nDone work\nMain exits\n"));
	rg_chan_free(done);
	return 0;
}

/* Buffered synchronisation rules: ch <- 1 and ch <- 2 do not block on
 * capacity 2; ch <- 3 would, until someone reads. */
static int sync_buffered_rules_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 2);
	int v = 1;
	GCHECK(rg_chan_try_send(ch, &v) == 0);  /* does not block */
	v = 2;
	GCHECK(rg_chan_try_send(ch, &v) == 0);  /* still fine */
	v = 3;
	GCHECK(rg_chan_try_send(ch, &v) == -EAGAIN);  /* would block */
	rg_chan_recv(ch, NULL);
	GCHECK(rg_chan_try_send(ch, &v) == 0);
	rg_chan_free(ch);
	return 0;
}

/* ==== Synchronisation via closing a channel ========================= */

static void close_producer(void *ch)
{
	for (int i = 1; i <= 3; i++)
		rg_chan_send(ch, &i);
	rg_chan_close(ch);  /* signal: no more data */
}

/* range until the channel closes, then "All done". */
static int sync_close_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 0);
	rg_go(close_producer, ch);
	int v;
	RG_RANGE(ch, v)  /* range until channel closes */
		say("Received: %d", v);
	say("All done");
	GCHECK(log_is("Received: 1\nReceived: 2\nReceived: 3\nAll done\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== Synchronisation with select: timeout ========================== */

static void send_after(void *arg)
{
	rg_chan_t *ch = arg;
	rg_sleep(2 * RG_MILLISECOND);
	text_t t = text("hello");
	rg_chan_send(ch, &t);
}

/* select { case msg := <-ch: ...; case <-time.After(d): "Timeout" }:
 * no message: Timeout; a message in time: Got it. */
static int select_timeout_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(text_t, 1);
	text_t msg;

	rg_chan_t *t = rg_after(20 * RG_MILLISECOND);  /* 2 s */
	rg_case_t cs[] = {RG_RECV(ch, &msg), RG_RECV(t, NULL)};
	switch (rg_select(cs, 2, true)) {
	case 0:
		say("Got: %s", msg.s);
		break;
	case 1:
		say("Timeout");
		break;
	}
	rg_chan_free(t);

	rg_go(send_after, ch);
	t = rg_after(200 * RG_MILLISECOND);
	cs[1] = RG_RECV(t, NULL);
	switch (rg_select(cs, 2, true)) {
	case 0:
		say("Got: %s", msg.s);
		break;
	case 1:
		say("Timeout");
		break;
	}
	GCHECK(log_is("Timeout\nGot: hello\n"));
	rg_chan_free(t);
	rg_chan_free(ch);
	return 0;
}

/* ==== Multiplexing: syntax (receive, send, default) ================= */

/* select { case val := <-ch1; case ch2 <- 42; default }: with ch1 empty
 * and nobody on ch2, default; with room on ch2, the send. */
static int mux_syntax_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch1 = RG_CHAN(int, 0), *ch2 = RG_CHAN(int, 0);
	int val, v42 = 42;
	rg_case_t cs[] = {RG_RECV(ch1, &val), RG_SEND(ch2, &v42)};
	for (int round = 0; round < 2; round++) {
		switch (rg_select(cs, 2, false)) {
		case 0:
			say("Received %d from ch1", val);
			break;
		case 1:
			say("Sent value to ch2");
			break;
		default:
			say("No channel is ready");
		}
		rg_chan_free(ch2);
		ch2 = RG_CHAN(int, 1);  /* now with room */
		cs[1].c = ch2;
	}
	GCHECK(log_is("No channel is ready\nSent value to ch2\n"));
	rg_chan_free(ch1);
	rg_chan_free(ch2);
	return 0;
}

/* ==== 1. Basic multiplexing ========================================= */

typedef struct delayed {
	rg_chan_t *ch;
	int64_t delay;
	const char *msg;
} delayed_t;

static void delayed_send(void *arg)
{
	delayed_t *d = arg;
	rg_sleep(d->delay);
	text_t t = text("%s", d->msg);
	rg_chan_send(d->ch, &t);
}

/* Messages at 1 s and 2 s (here 5 and 60 ms) on two channels: one
 * select loop receives both, ch1's first. */
static int mux_basic_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch1 = RG_CHAN(text_t, 0), *ch2 = RG_CHAN(text_t, 0);
	delayed_t d1 = {ch1, 5 * RG_MILLISECOND, "Message from ch1"};
	delayed_t d2 = {ch2, 60 * RG_MILLISECOND, "Message from ch2"};
	rg_go(delayed_send, &d1);
	rg_go(delayed_send, &d2);
	text_t msg1, msg2;
	rg_case_t cs[] = {RG_RECV(ch1, &msg1), RG_RECV(ch2, &msg2)};
	for (int i = 0; i < 2; i++) {  /* listen on both channels */
		switch (rg_select(cs, 2, true)) {
		case 0:
			say("Received: %s", msg1.s);
			break;
		case 1:
			say("Received: %s", msg2.s);
			break;
		}
	}
	GCHECK(log_is("Received: Message from ch1\nReceived: Message from ch2\n"));
	rg_chan_free(ch1);
	rg_chan_free(ch2);
	return 0;
}

/* ==== 2. default: non-blocking multiplexing ========================= */

/* No data on ch: default runs at once. */
static int mux_default_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(text_t, 0);
	text_t msg;
	rg_case_t cs[] = {RG_RECV(ch, &msg)};
	if (rg_select(cs, 1, false) == 0)
		say("Received: %s", msg.s);
	else
		say("No message, moving on");
	GCHECK(log_is("No message, moving on\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== 3. Timeouts with time.After =================================== */

/* Nothing arrives within the deadline: "Timeout after 2s". */
static int mux_timeout_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(text_t, 0);
	text_t msg;
	int64_t start = rg_now();
	rg_chan_t *t = rg_after(10 * RG_MILLISECOND);
	rg_case_t cs[] = {RG_RECV(ch, &msg), RG_RECV(t, NULL)};
	if (rg_select(cs, 2, true) == 0)
		say("Got message: %s", msg.s);
	else
		say("Timeout after 2s");
	GCHECK(rg_now() - start >= 10 * RG_MILLISECOND);
	GCHECK(log_is("Timeout after 2s\n"));
	rg_chan_free(t);
	rg_chan_free(ch);
	return 0;
}

/* ==== 4. Multiplexing multiple producers ============================ */

typedef struct producer {
	const char *name;
	int64_t delay;
	rg_chan_t *ch;
} producer_t;

static void producer(void *arg)
{
	producer_t *p = arg;
	for (int i = 1; i <= 3; i++) {
		rg_sleep(p->delay);
		text_t t = text("%s produced %d", p->name, i);
		rg_chan_send(p->ch, &t);
	}
}

/* Fast and Slow producers interleave; each one's messages keep their
 * order, all six arrive through one select loop. */
static int mux_producers_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch1 = RG_CHAN(text_t, 0), *ch2 = RG_CHAN(text_t, 0);
	producer_t fast = {"Fast", 2 * RG_MILLISECOND, ch1};
	producer_t slow = {"Slow", 4 * RG_MILLISECOND, ch2};
	rg_go(producer, &fast);
	rg_go(producer, &slow);
	text_t msg;
	rg_case_t cs[] = {RG_RECV(ch1, &msg), RG_RECV(ch2, &msg)};
	for (int i = 0; i < 6; i++) {
		switch (rg_select(cs, 2, true)) {
		case 0:
			say("ch1: %s", msg.s);
			break;
		case 1:
			say("ch2: %s", msg.s);
			break;
		}
	}
	GCHECK(log_lines() == 6);
	GCHECK(log_line("ch1: Fast produced 1") < log_line("ch1: Fast produced 2"));
	GCHECK(log_line("ch1: Fast produced 2") < log_line("ch1: Fast produced 3"));
	GCHECK(log_line("ch2: Slow produced 1") < log_line("ch2: Slow produced 2"));
	GCHECK(log_line("ch2: Slow produced 2") < log_line("ch2: Slow produced 3"));
	GCHECK(log_line("ch1: Fast produced 1") >= 0 && log_line("ch2: Slow produced 1") >= 0);
	rg_chan_free(ch1);
	rg_chan_free(ch2);
	return 0;
}

/* ==== 5. Closing channels in multiplexing =========================== */

/* for { select { case val, ok := <-ch: if !ok { "Channel closed";
 * return } ... } } */
static int mux_closing_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 0);
	rg_go(close_producer, ch);
	int val;
	rg_case_t cs[] = {RG_RECV(ch, &val)};
	for (;;) {
		rg_select(cs, 1, true);
		if (!cs[0].ok) {
			say("Channel closed");
			break;
		}
		say("Got: %d", val);
	}
	GCHECK(log_is("Got: 1\nGot: 2\nGot: 3\nChannel closed\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== Closing: receiving from a closed channel ====================== */

/* 10, 20, then the zero value: closed and empty. */
static int closed_receive_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 2);
	int v = 10;
	rg_chan_send(ch, &v);
	v = 20;
	rg_chan_send(ch, &v);
	rg_chan_close(ch);
	for (int i = 0; i < 3; i++) {
		rg_chan_recv(ch, &v);
		say("%d", v);
	}
	GCHECK(log_is("10\n20\n0\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== Closing: the comma-ok idiom =================================== */

/* ok is true for a value, false once closed and empty. */
static int comma_ok_main(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 1);
	int v = 5;
	rg_chan_send(ch, &v);
	rg_chan_close(ch);
	for (int i = 0; i < 2; i++) {
		int val;
		bool ok = rg_chan_recv(ch, &val);
		if (!ok)
			say("Channel closed!");
		else
			say("Got: %d", val);
	}
	GCHECK(log_is("Got: 5\nChannel closed!\n"));
	rg_chan_free(ch);
	return 0;
}

/* ==== Closing: done signal (chan struct{}) ========================== */

static void signal_done(void *done)
{
	/* do some work */
	rg_chan_close(done);  /* signal completion */
}

/* <-done returns once the goroutine closes it. */
static int done_signal_main(void *arg)
{
	(void)arg;
	rg_chan_t *done = rg_chan_make(0, 0);  /* chan struct{} */
	rg_go(signal_done, done);
	rg_chan_recv(done, NULL);  /* wait until goroutine signals done */
	say("Worker finished");
	GCHECK(log_is("Worker finished\n"));
	rg_chan_free(done);
	return 0;
}

/* ==== Closing with multiple producers (WaitGroup) =================== */

typedef struct fanin {
	rg_chan_t *ch;
	rg_waitgroup_t wg;
	int per;       /* values per sender */
} fanin_t;

typedef struct fanin_sender {
	fanin_t *f;
	int id;
} fanin_sender_t;

static void fanin_send(void *arg)
{
	fanin_sender_t *s = arg;
	for (int j = 1; j <= s->f->per; j++) {
		int v = s->f->per == 1 ? s->id : s->id * 10 + j;
		rg_chan_send(s->f->ch, &v);
	}
	rg_wg_done(&s->f->wg);
}

static void fanin_closer(void *arg)
{
	fanin_t *f = arg;
	rg_wg_wait(&f->wg);
	rg_chan_close(f->ch);  /* only close once all senders are done */
}

/* Runs 3 senders of `per` values and the closer; returns the sum of
 * what range received, logging each. */
static int fanin_run(int first_id, int per, int *count)
{
	fanin_t f = {.ch = RG_CHAN(int, 0), .per = per};
	fanin_sender_t s[3];
	for (int i = 0; i < 3; i++) {
		s[i] = (fanin_sender_t){.f = &f, .id = first_id + i};
		rg_wg_add(&f.wg, 1);
		rg_go(fanin_send, &s[i]);
	}
	rg_go(fanin_closer, &f);
	int v, sum = 0;
	*count = 0;
	RG_RANGE(f.ch, v) {
		say("Received: %d", v);
		sum += v;
		(*count)++;
	}
	rg_chan_free(f.ch);
	return sum;
}

/* Three senders, a closer that waits for them: range sees 0, 1, 2 in
 * some order (the closing section's example). */
static int fanin_wg_main(void *arg)
{
	(void)arg;
	int n;
	GCHECK(fanin_run(0, 1, &n) == 3 && n == 3);
	GCHECK(log_line("Received: 0") >= 0 && log_line("Received: 1") >= 0 &&
	       log_line("Received: 2") >= 0);
	return 0;
}

/* Real-world fan-in: senders 1..3 send id*10+1 and id*10+2; the range
 * stops when the closer has closed after wg.Wait(). */
static int fanin_real_main(void *arg)
{
	(void)arg;
	int n;
	GCHECK(fanin_run(1, 2, &n) == 11 + 12 + 21 + 22 + 31 + 32 && n == 6);
	for (int id = 1; id <= 3; id++) {
		char a[32], b[32];
		snprintf(a, sizeof(a), "Received: %d", id * 10 + 1);
		snprintf(b, sizeof(b), "Received: %d", id * 10 + 2);
		GCHECK(log_line(a) >= 0 && log_line(a) < log_line(b));
	}
	return 0;
}

/* ==== Closing an unbuffered channel: broadcast stop ================= */

static rg_chan_t *stop, *stopped;

static void stop_worker(void *arg)
{
	(void)arg;
	rg_chan_recv(stop, NULL);  /* wait for signal */
	say("Worker stopped");
	rg_chan_send(stopped, NULL);
}

/* close(stop) wakes every worker waiting on it. */
static int broadcast_stop_main(void *arg)
{
	(void)arg;
	stop = rg_chan_make(0, 0);
	stopped = rg_chan_make(0, 0);
	for (int i = 0; i < 4; i++)
		rg_go(stop_worker, NULL);
	rg_sleep(RG_MILLISECOND);
	rg_chan_close(stop);  /* broadcast stop */
	for (int i = 0; i < 4; i++)
		rg_chan_recv(stopped, NULL);
	GCHECK(log_is("Worker stopped\nWorker stopped\nWorker stopped\nWorker stopped\n"));
	rg_chan_free(stop);
	rg_chan_free(stopped);
	return 0;
}

/* ==== Common mistakes: panics ======================================= */

static int mistake_main(void *arg)
{
	rg_chan_t *ch = RG_CHAN(int, 0);
	int v = 1;
	switch ((int)(intptr_t)arg) {
	case 0:  /* sending to a closed channel */
		rg_chan_close(ch);
		rg_chan_send(ch, &v);  /* panic: send on closed channel */
		break;
	case 1:  /* closing a nil channel */
		rg_chan_close(NULL);
		break;
	case 2:  /* closing the same channel twice */
		rg_chan_close(ch);
		rg_chan_close(ch);
		break;
	}
	return 0;
}

static int mistake_child(void *arg)
{
	return rg_main(mistake_main, arg);
}

/* Send on closed, close of nil, double close: each panics. */
static void test_seed_common_mistakes(void **state)
{
	(void)state;
	static const char *const want[] = {
		"panic: send on closed channel",
		"panic: close of nil channel",
		"panic: close of closed channel",
	};
	for (int i = 0; i < 3; i++) {
		rgt_child_t *r = child(mistake_child, (void *)(intptr_t)i);
		if (!strstr(r->out, want[i]))
			fprintf(stderr, "child output:\n%s\n", r->out);
		assert_non_null(strstr(r->out, want[i]));
		assert_true(r->signaled);
		assert_int_equal(r->sig, SIGABRT);
	}
}

/* ==== The table ==================================================== */

/* One row per example: the test's name and its scenario, run as the
 * main goroutine with a fresh log (run) and checking its own output.
 * Examples that need more (child processes that must panic) have a test
 * function of their own, listed after the table in main. */
static const struct seed_case {
	const char *name;
	int (*main)(void *);
} seed_cases[] = {
	{"test_seed_intro_channel", intro_channel_main},
	{"test_seed_intro_buffered", intro_buffered_main},
	{"test_seed_intro_select", intro_select_main},
	{"test_seed_syntax", syntax_main},
	{"test_seed_simple_communication", simple_comm_main},
	{"test_seed_buffered_vs_unbuffered", buffered_vs_unbuffered_main},
	{"test_seed_close_range", close_range_main},
	{"test_seed_directional", directional_main},
	{"test_seed_select_default", select_default_main},
	{"test_seed_worker_pool", worker_pool_main},
	{"test_seed_timeline_unbuffered", timeline_unbuffered_main},
	{"test_seed_timeline_buffered", timeline_buffered_main},
	{"test_seed_buffered_behaviour", buffered_behaviour_main},
	{"test_seed_close_buffered_comma_ok", close_comma_ok_main},
	{"test_seed_select_try_send", try_send_select_main},
	{"test_seed_semaphore", semaphore_main},
	{"test_seed_sync_unbuffered", sync_unbuffered_main},
	{"test_seed_sync_buffered", sync_buffered_main},
	{"test_seed_sync_handshake", handshake_main},
	{"test_seed_sync_buffered_rules", sync_buffered_rules_main},
	{"test_seed_sync_close", sync_close_main},
	{"test_seed_select_timeout", select_timeout_main},
	{"test_seed_mux_syntax", mux_syntax_main},
	{"test_seed_mux_basic", mux_basic_main},
	{"test_seed_mux_default", mux_default_main},
	{"test_seed_mux_timeout", mux_timeout_main},
	{"test_seed_mux_producers", mux_producers_main},
	{"test_seed_mux_closing", mux_closing_main},
	{"test_seed_closed_receive", closed_receive_main},
	{"test_seed_comma_ok", comma_ok_main},
	{"test_seed_done_signal", done_signal_main},
	{"test_seed_close_multiple_producers", fanin_wg_main},
	{"test_seed_fan_in", fanin_real_main},
	{"test_seed_broadcast_stop", broadcast_stop_main},
};

static void seed_case_run(void **state)
{
	const struct seed_case *c = *state;
	run(c->main);
}

int main(void)
{
	enum { N = sizeof(seed_cases) / sizeof(seed_cases[0]) };
	struct CMUnitTest tests[N + 1];
	for (size_t i = 0; i < N; i++)
		tests[i] = (struct CMUnitTest){seed_cases[i].name, seed_case_run, NULL, NULL,
					       (void *)&seed_cases[i]};
	tests[N] = (struct CMUnitTest)cmocka_unit_test(test_seed_common_mistakes);
	if (getenv("RGT_FILTER"))  /* e.g. RGT_FILTER='*mux*' */
		cmocka_set_test_filter(getenv("RGT_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
