// SPDX-License-Identifier: MIT
/*
 * test_seed_time.c — the seed's programs on timers, tickers, worker
 * pools and rate limiting, ported to the library calls (rg_timer_*,
 * rg_ticker_*, rg_after, rg_after_func, rg_pool_*, rg_limiter_*,
 * rg_window_*, rg_leaky_*, rg_keyed_*).  Each example runs as the main
 * goroutine of a child process and its stdout is compared with what the
 * seed prints (minus emoji, times and other things that vary); the
 * table at the end (examples, rgexample.h) lists them with the output
 * each must give.
 *
 * Time is scaled: the seed's second is 10 ms here (SEED_SECOND).  The
 * rate-limiter walkthroughs that the seed drives with time.Sleep are fed
 * explicit times instead (their *_n / _at forms), so their output is
 * exact; what a printed "expected output" in the seed gets wrong about
 * its own code is said where it happens.
 *
 * Go 1.23's Stop/Reset: the seed's `if !t.Stop() { <-t.C }` drains are
 * kept where the seed has them; with the new semantics Stop returns
 * false only when the value was already received, which in those loops
 * never happens before a drain (the drain is in the branch that did not
 * receive), so they neither block nor matter.
 */
#include "helpers/rgtest.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED_SECOND (10 * RG_MILLISECOND)
#define MS RG_MILLISECOND

#include "helpers/rgexample.h"

static int count_lines(const char *out, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);
	for (const char *p = out; *p;) {
		if (!strncmp(p, prefix, len))
			n++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

/* ==== Timers: "3) Basic examples" ================================== */

static void finish_after(void *arg)
{
	rg_sleep(SEED_SECOND / 2);
	rg_chan_send(arg, NULL);
}

/* "Timeout using time.NewTimer": the work finishes first, then a second
 * run where it does not. */
static int ex_timer_timeout(void *arg)
{
	(void)arg;
	for (int round = 0; round < 2; round++) {
		rg_chan_t *done = rg_chan_make(0, 1);
		if (round == 0)
			rg_go(finish_after, done);
		rg_timer_t *timer = rg_timer_new(20 * SEED_SECOND);  /* wide margin */
		rg_case_t cs[] = {RG_RECV(done, NULL), RG_RECV(rg_timer_chan(timer), NULL)};
		if (rg_select(cs, 2, true) == 0)
			printf("work finished\n");
		else
			printf("timed out\n");
		rg_timer_free(timer);  /* defer timer.Stop() */
		rg_chan_free(done);
	}
	return 0;
}

/* "Using time.After (convenience)". */
static int ex_after(void *arg)
{
	(void)arg;
	rg_chan_t *done = rg_chan_make(0, 0);
	rg_chan_t *after = rg_after(2 * SEED_SECOND);
	rg_case_t cs[] = {RG_RECV(done, NULL), RG_RECV(after, NULL)};
	if (rg_select(cs, 2, true) == 1)
		printf("timeout\n");
	rg_chan_free(after);
	rg_chan_free(done);
	return 0;
}

static void quit_later(void *arg)
{
	rg_sleep(5 * SEED_SECOND + SEED_SECOND / 2);
	rg_chan_send(arg, NULL);
}

/* "Repeated ticks with Ticker" / "4. Example — Auto-triggered task":
 * a tick per second until done after 5 s: about five ticks. */
static int ex_ticker_loop(void *arg)
{
	(void)arg;
	rg_ticker_t *ticker = rg_ticker_new(SEED_SECOND);
	rg_chan_t *done = rg_chan_make(0, 0);
	int64_t t0 = rg_now(), t;
	int ticks = 0;
	rg_go(quit_later, done);
	for (;;) {
		rg_case_t cs[] = {RG_RECV(rg_ticker_chan(ticker), &t), RG_RECV(done, NULL)};
		if (rg_select(cs, 2, true) == 0) {
			printf("Tick at\n");
			ticks++;
			continue;
		}
		printf("Stopping ticker...\n");
		break;
	}
	/* Never more ticks than periods went by (dropped ones are fine). */
	printf("%s\n", ticks <= (rg_now() - t0) / SEED_SECOND + 1 ? "bounded" : "too many");
	rg_ticker_free(ticker);  /* defer ticker.Stop() */
	rg_chan_free(done);
	return 0;
}

static void check_ticker_loop(const char *out)
{
	/* Five on time; on a loaded machine the quit can come late (more
	 * periods, more ticks) and ticks can be dropped (the channel holds
	 * one): what holds is at least one, and no more than the periods
	 * that went by. */
	assert_true(count_lines(out, "Tick at") >= 1);
	assert_int_equal(count_lines(out, "Stopping ticker..."), 1);
	assert_int_equal(count_lines(out, "bounded"), 1);
}

static _Atomic int later_ran;

static void do_later(void *arg)
{
	(void)arg;
	printf("do later\n");
	fflush(stdout);
	atomic_store(&later_ran, 1);
}

/* "Run a function later with AfterFunc": stopped before it runs, Stop is
 * true and nothing prints; left alone, it runs. */
static int ex_after_func(void *arg)
{
	(void)arg;
	rg_timer_t *t = rg_after_func(50 * SEED_SECOND, do_later, NULL);
	if (rg_timer_stop(t))
		printf("stopped before it fired\n");
	rg_timer_free(t);
	t = rg_after_func(SEED_SECOND / 2, do_later, NULL);
	while (!atomic_load(&later_ran))
		rg_sleep(MS);
	if (!rg_timer_stop(t))
		printf("already fired or running\n");
	rg_timer_free(t);
	return 0;
}

/* ==== Timers: "6) Timers + select", "Pattern in loops" ============= */

struct events {
	rg_chan_t *ch;
	int n;
	int64_t gap;
};

static void send_events(void *arg)
{
	struct events *e = arg;
	for (int i = 0; i < e->n; i++) {
		rg_sleep(e->gap);
		rg_chan_send(e->ch, &i);
	}
}

/* Reset the idle timer on every event; "idle timeout" once they stop.
 * The seed's Stop-and-drain before Reset is kept. */
static int ex_idle_timeout(void *arg)
{
	(void)arg;
	/* Events 1 ms apart, an idle timeout of 0.5 s: the gaps stay far
	 * below the timeout even on a loaded machine under ASan. */
	int64_t timeout = 50 * SEED_SECOND;
	static struct events e;
	e = (struct events){.ch = RG_CHAN(int, 0), .n = 4, .gap = SEED_SECOND / 10};
	rg_go(send_events, &e);
	rg_timer_t *t = rg_timer_new(timeout);
	int got = 0, ev;
	for (;;) {
		rg_case_t cs[] = {RG_RECV(e.ch, &ev), RG_RECV(rg_timer_chan(t), NULL)};
		if (rg_select(cs, 2, true) == 0) {
			got++;
			if (!rg_timer_stop(t))
				rg_chan_recv(rg_timer_chan(t), NULL);
			rg_timer_reset(t, timeout);
			continue;
		}
		printf("events %d\nidle timeout\n", got);
		break;
	}
	rg_timer_free(t);
	rg_chan_free(e.ch);
	return 0;
}

/* ==== "7) Debounce" ================================================= */

static rg_mutex_t deb_mu;
static rg_timer_t *deb_t;
static _Atomic int deb_calls;

static void deb_fn(void *arg)
{
	(void)arg;
	atomic_fetch_add(&deb_calls, 1);
}

/* Debounce(d, f): every call pushes f back by d; f runs once, d after
 * the last call. */
static void debounce(int64_t d)
{
	rg_mutex_lock(&deb_mu);
	if (!deb_t)
		deb_t = rg_after_func(d, deb_fn, NULL);
	else
		rg_timer_reset(deb_t, d);
	rg_mutex_unlock(&deb_mu);
}

static int ex_debounce(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++) {
		debounce(10 * SEED_SECOND);  /* far longer than the gaps */
		rg_sleep(SEED_SECOND / 10);
	}
	while (!atomic_load(&deb_calls))
		rg_sleep(MS);
	rg_sleep(4 * SEED_SECOND);
	printf("f ran %d time(s)\n", atomic_load(&deb_calls));
	rg_timer_free(deb_t);
	return 0;
}

/* ==== "15) Example gallery": doWithTimeout ========================== */

struct work {
	int64_t takes;
	rg_chan_t *result;
};

static void work_fn(void *arg)
{
	struct work *w = arg;
	rg_sleep(w->takes);
	int v = 42;
	rg_chan_send(w->result, &v);
}

static int do_with_timeout(rg_ctx_t *ctx, struct work *w, int64_t timeout, int *v)
{
	rg_timer_t *timer = rg_timer_new(timeout);
	w->result = RG_CHAN(int, 1);
	rg_go(work_fn, w);
	rg_case_t cs[] = {RG_RECV(w->result, v), RG_RECV(rg_ctx_done(ctx), NULL),
			  RG_RECV(rg_timer_chan(timer), NULL)};
	int i = rg_select(cs, 3, true);
	rg_timer_free(timer);
	if (i != 0)
		rg_chan_recv(w->result, NULL);  /* Go's GC would wait for it */
	rg_chan_free(w->result);
	return i == 0 ? 0 : i == 1 ? rg_ctx_err(ctx) : -ETIME;
}

static int ex_do_with_timeout(void *arg)
{
	(void)arg;
	static struct work fast = {.takes = SEED_SECOND / 2}, slow = {.takes = 30 * SEED_SECOND};
	int v = 0;
	int rc = do_with_timeout(rg_ctx_background(), &fast, 20 * SEED_SECOND, &v);
	printf("%d %d\n", rc, v);
	rc = do_with_timeout(rg_ctx_background(), &slow, SEED_SECOND, &v);
	printf("%s\n", rc == -ETIME ? "timeout" : "?");
	return 0;
}

/* ==== Tickers: "4. Rate limiting", "9. Resetting a Ticker" ========== */

/* `<-limiter.C` before each request: requests come at least one period
 * apart; Reset changes the period. */
static int ex_ticker_throttle(void *arg)
{
	(void)arg;
	int64_t period = SEED_SECOND / 5;  /* 200 ms */
	rg_ticker_t *limiter = rg_ticker_new(period);
	int64_t prev = 0, t;
	bool spaced = true;
	for (int req = 1; req <= 5; req++) {
		rg_chan_recv(rg_ticker_chan(limiter), &t);  /* throttle requests */
		if (prev && t - prev < period)
			spaced = false;
		prev = t;
		printf("Processed request %d\n", req);
	}
	rg_ticker_reset(limiter, period / 2);
	rg_chan_recv(rg_ticker_chan(limiter), &t);
	rg_chan_recv(rg_ticker_chan(limiter), &prev);
	printf("spaced %s, reset period %s\n", spaced ? "yes" : "no",
	       prev - t == period / 2 || (prev - t) % (period / 2) == 0 ? "yes" : "no");
	rg_ticker_free(limiter);
	return 0;
}

/* ==== Worker pools: "4. Minimal Example", "7. WaitGroup" ============ */

struct job {
	int id;
	rg_chan_t *results;
};

static _Atomic int busy, most_busy;

static void worker_job(void *arg)
{
	struct job *j = arg;
	int b = atomic_fetch_add(&busy, 1) + 1;
	int m = atomic_load(&most_busy);
	while (b > m && !atomic_compare_exchange_weak(&most_busy, &m, b))
		;
	rg_sleep(SEED_SECOND);  /* simulate heavy work */
	atomic_fetch_sub(&busy, 1);
	if (j->results)
		rg_chan_send(j->results, &j->id);
}

/* 3 workers, 10 jobs, a results channel: every job done, never more than
 * 3 at once, then "All jobs completed!". */
static int ex_pool_minimal(void *arg)
{
	(void)arg;
	int num_jobs = 10, num_workers = 3;
	rg_chan_t *results = RG_CHAN(int, 10);
	rg_pool_t *p = rg_pool_new(num_workers, num_jobs);
	static struct job jobs[10];
	for (int j = 0; j < num_jobs; j++) {
		jobs[j] = (struct job){.id = j + 1, .results = results};
		rg_pool_submit(p, worker_job, &jobs[j], NULL);
	}
	rg_pool_close(p);  /* close(jobs) */
	int seen = 0, id;
	for (int a = 0; a < num_jobs; a++) {
		rg_chan_recv(results, &id);
		seen |= 1 << id;
	}
	printf("jobs done: %s, at most %d at once\n", seen == 0x7fe ? "all" : "some",
	       atomic_load(&most_busy));
	printf("All jobs completed!\n");
	rg_pool_free(p);
	rg_chan_free(results);
	return 0;
}

/* The WaitGroup version: no results channel; Wait (rg_pool_wait) after
 * close returns once the 9 jobs ran. */
static int ex_pool_wait(void *arg)
{
	(void)arg;
	rg_pool_t *p = rg_pool_new(3, 10);
	static struct job jobs[9];
	atomic_store(&most_busy, 0);
	for (int j = 0; j < 9; j++) {
		jobs[j] = (struct job){.id = j + 1};
		rg_pool_submit(p, worker_job, &jobs[j], NULL);
	}
	rg_pool_close(p);
	rg_pool_wait(p);
	printf("All jobs done (busy %d, at most %d)\n", atomic_load(&busy),
	       atomic_load(&most_busy));
	rg_pool_free(p);
	return 0;
}

/* ==== Rate limiting: x/time/rate examples =========================== */

/* "rate.NewLimiter(2, 5)", 10 requests 200 ms apart (explicit times):
 * the burst of 5 plus 0.4 tokens per step carries requests 1-7 and 9. */
static int ex_rate_allow(void *arg)
{
	(void)arg;
	rg_limiter_t *limiter = rg_limiter_new(2, 5);
	int64_t t0 = rg_now();
	for (int i = 1; i <= 10; i++) {
		if (rg_limiter_allow_n(limiter, t0 + (i - 1) * 200 * MS, 1))
			printf("Request %d allowed\n", i);
		else
			printf("Request %d rejected\n", i);
	}
	rg_limiter_free(limiter);
	return 0;
}

/* "Example 2: Using Wait()": rate 1/s (scaled), burst 3: three at once,
 * then one per period. */
static int ex_rate_wait(void *arg)
{
	(void)arg;
	rg_limiter_t *limiter = rg_limiter_new(1e9 / (double)SEED_SECOND, 3);
	int64_t t0 = rg_now();
	for (int i = 1; i <= 6; i++) {
		if (rg_limiter_wait(limiter, rg_ctx_background()) != 0)
			printf("Error\n");
		printf("Request %d processed\n", i);
	}
	printf("took at least 3 periods: %s\n",
	       rg_now() - t0 >= 3 * SEED_SECOND - MS ? "yes" : "no");
	rg_limiter_free(limiter);
	return 0;
}

/* "Example 3: Rate-Limiting API Requests Per User": the seed's map of
 * limiters is rg_keyed (rate 1, burst 3), users 200 ms apart. */
static int ex_rate_per_user(void *arg)
{
	(void)arg;
	rg_keyed_limiter_t *ul = rg_keyed_limiter_new(1, 3, 1000);
	const char *users[] = {"alice", "bob", "alice", "bob", "alice", "alice", "alice"};
	int64_t t0 = rg_now();
	for (int i = 0; i < 7; i++) {
		/* The seventh comes at once after the sixth: alice's bucket
		 * is empty by then. */
		int64_t t = t0 + (i < 6 ? i : 5) * 200 * MS;
		printf("%s %s\n", users[i],
		       rg_keyed_allow(ul, users[i], strlen(users[i]), t) ? "allowed" : "blocked");
	}
	rg_keyed_limiter_free(ul);
	return 0;
}

/* "Implementing Token Bucket in Golang (Manual)": rate 2, capacity 5,
 * requests 300 ms apart: the refill keeps up (0.6 per step), all 10
 * pass.  The limiter gives it, with fractional tokens. */
static int ex_token_bucket_manual(void *arg)
{
	(void)arg;
	rg_limiter_t *bucket = rg_limiter_new(2, 5);
	int64_t t0 = rg_now();
	int ok = 0;
	for (int i = 1; i <= 10; i++)
		ok += rg_limiter_allow_n(bucket, t0 + (i - 1) * 300 * MS, 1);
	printf("%d of 10 allowed\n", ok);
	/* Without the pauses the burst runs out after 5. */
	rg_limiter_t *b2 = rg_limiter_new(2, 5);
	ok = 0;
	for (int i = 1; i <= 10; i++)
		ok += rg_limiter_allow_n(b2, t0, 1);
	printf("%d of 10 allowed at once\n", ok);
	rg_limiter_free(bucket);
	rg_limiter_free(b2);
	return 0;
}

/* "Fixed Window Algorithm": NewFixedWindowLimiter(5, time.Second), 10
 * requests 200 ms apart (explicit times).  The seed prints "Request
 * denied 6", but its own code restarts the window at the sixth request
 * (1.0 s after the first: now.Sub(windowStart) >= windowSize), so all
 * ten pass; the sixth is denied only if it comes before 1 s, which is
 * what its table shows (requests at 0.1 .. 0.7 s). */
static int ex_fixed_window(void *arg)
{
	(void)arg;
	rg_window_t *limiter = rg_window_new(RG_WINDOW_FIXED, 5, RG_SECOND);
	int64_t t0 = rg_now();
	int ok = 0;
	for (int i = 1; i <= 10; i++)
		ok += rg_window_allow(limiter, t0 + (i - 1) * 200 * MS);
	printf("at 200 ms steps: %d allowed\n", ok);
	rg_window_free(limiter);
	limiter = rg_window_new(RG_WINDOW_FIXED, 5, RG_SECOND);
	for (int i = 1; i <= 10; i++)
		printf("Request %s %d\n",
		       rg_window_allow(limiter, t0 + (i - 1) * 180 * MS) ? "allowed" : "denied", i);
	rg_window_free(limiter);
	return 0;
}

/* "3. Leaky Bucket Algorithm": a bucket that drains at a constant rate
 * and drops what overflows: capacity 3, five requests at once: one goes
 * straight through, three queue and leak out one per interval, the
 * fifth overflows. */
struct leak_req {
	rg_leaky_t *l;
	int id;
	rg_chan_t *out;
};

static void leak_req(void *arg)
{
	struct leak_req *r = arg;
	int rc = rg_leaky_wait(r->l, NULL);
	int v = rc == 0 ? r->id : -r->id;
	rg_chan_send(r->out, &v);
}

static int ex_leaky(void *arg)
{
	(void)arg;
	int64_t leak = 20 * SEED_SECOND;  /* one per 200 ms: starting four
					  * goroutines takes far less */
	rg_leaky_t *l = rg_leaky_new(1e9 / (double)leak, 3);
	rg_chan_t *out = RG_CHAN(int, 8);
	static struct leak_req rs[5];
	int64_t t0 = rg_now();
	for (int i = 0; i < 5; i++)
		rs[i] = (struct leak_req){l, i + 1, out};
	leak_req(&rs[0]);                 /* the bucket is empty: straight out */
	for (int i = 1; i < 5; i++)       /* four at once: three fit */
		rg_go(leak_req, &rs[i]);
	int processed = 0, dropped = 0, v;
	for (int i = 0; i < 5; i++) {
		rg_chan_recv(out, &v);
		v > 0 ? processed++ : dropped++;
	}
	printf("processed %d, dropped %d, steady: %s\n", processed, dropped,
	       rg_now() - t0 >= 3 * leak ? "yes" : "no");
	rg_chan_free(out);
	rg_leaky_free(l);
	return 0;
}

/* ==== The table ==================================================== */

static const struct example examples[] = {
	{"test_timer_timeout", ex_timer_timeout, NULL, "work finished\ntimed out\n"},
	{"test_after", ex_after, NULL, "timeout\n"},
	{"test_ticker_loop", ex_ticker_loop, check_ticker_loop, NULL},
	{"test_after_func", ex_after_func, NULL,
	 "stopped before it fired\ndo later\nalready fired or running\n"},
	{"test_idle_timeout", ex_idle_timeout, NULL, "events 4\nidle timeout\n"},
	{"test_debounce", ex_debounce, NULL, "f ran 1 time(s)\n"},
	{"test_do_with_timeout", ex_do_with_timeout, NULL, "0 42\ntimeout\n"},
	{"test_ticker_throttle", ex_ticker_throttle, NULL,
	 "Processed request 1\nProcessed request 2\nProcessed request 3\n"
	 "Processed request 4\nProcessed request 5\nspaced yes, reset period yes\n"},
	{"test_pool_minimal", ex_pool_minimal, NULL,
	 "jobs done: all, at most 3 at once\nAll jobs completed!\n"},
	{"test_pool_wait", ex_pool_wait, NULL, "All jobs done (busy 0, at most 3)\n"},
	{"test_rate_allow", ex_rate_allow, NULL,
	 "Request 1 allowed\nRequest 2 allowed\nRequest 3 allowed\n"
	 "Request 4 allowed\nRequest 5 allowed\nRequest 6 allowed\n"
	 "Request 7 allowed\nRequest 8 rejected\nRequest 9 allowed\n"
	 "Request 10 rejected\n"},
	{"test_rate_wait", ex_rate_wait, NULL,
	 "Request 1 processed\nRequest 2 processed\nRequest 3 processed\n"
	 "Request 4 processed\nRequest 5 processed\nRequest 6 processed\n"
	 "took at least 3 periods: yes\n"},
	{"test_rate_per_user", ex_rate_per_user, NULL,
	 "alice allowed\nbob allowed\nalice allowed\nbob allowed\n"
	 "alice allowed\nalice allowed\nalice blocked\n"},
	{"test_token_bucket_manual", ex_token_bucket_manual, NULL,
	 "10 of 10 allowed\n5 of 10 allowed at once\n"},
	{"test_fixed_window", ex_fixed_window, NULL,
	 "at 200 ms steps: 10 allowed\n"
	 "Request allowed 1\nRequest allowed 2\nRequest allowed 3\n"
	 "Request allowed 4\nRequest allowed 5\nRequest denied 6\n"
	 "Request allowed 7\nRequest allowed 8\nRequest allowed 9\n"
	 "Request allowed 10\n"},
	{"test_leaky", ex_leaky, NULL, "processed 4, dropped 1, steady: yes\n"},
};

int main(void)
{
	return run_examples(examples, sizeof(examples) / sizeof(examples[0]));
}
