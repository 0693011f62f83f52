// SPDX-License-Identifier: MIT
/*
 * test_seed_sync.c — the seed's WaitGroup, channels+WaitGroup, Mutex,
 * atomic-counter, stateful-goroutine and context examples, ported to C.
 *
 * Each example is a Go program of the seed turned into a main goroutine.
 * It runs in a child process (rgt_run_child) with its stdout captured,
 * and the test compares that output with what the seed says the Go
 * program prints: line for line where the output is deterministic, as a
 * set of lines (plus the ordering constraints that do hold) where the
 * seed itself says "order may vary".  The table at the end (examples)
 * pairs each example with its exact output or with its check_ function.
 *
 * Time is scaled: the seed's second becomes 10 ms (SEED_SECOND), which
 * keeps every ordering the seed relies on with margin for a loaded
 * machine and sanitizers.
 * Emoji and the blanks they left in the seed's output are dropped.
 * Go's time.After is rg_after (its channel freed with rg_chan_free
 * whether or not it fired), time.NewTimer rg_timer_new.
 */
#include "helpers/rgtest.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The seed's seconds, scaled down. */
#define SEED_SECOND (10 * RG_MILLISECOND)

#include "helpers/rgexample.h"

/* ---- Go's time.After ----------------------------------------------- */


static const char *ctx_err_str(int err)
{
	switch (err) {
	case 0: return "<nil>";
	case -ECANCELED: return "context canceled";
	case -ETIMEDOUT: return "context deadline exceeded";
	default: return "unexpected error";
	}
}

/* ==== WaitGroup ===================================================== */

struct worker_arg {
	int id;
	rg_waitgroup_t *wg;
	rg_chan_t *jobs, *results;
	const char *api;
};

/* "1. WaitGroup – Wait for Goroutines to Finish" */
static void intro_worker(void *arg)
{
	struct worker_arg *w = arg;
	printf("Worker %d starting\n", w->id);
	/* simulate work */
	printf("Worker %d done\n", w->id);
	rg_wg_done(w->wg);
}

static int ex_wg_intro(void *arg)
{
	(void)arg;
	rg_waitgroup_t wg = {0};
	struct worker_arg w[4];
	for (int i = 1; i <= 3; i++) {
		rg_wg_add(&wg, 1);
		w[i] = (struct worker_arg){.id = i, .wg = &wg};
		rg_go(intro_worker, &w[i]);
	}
	rg_wg_wait(&wg);
	return 0;
}

/* The intro example: three workers start and finish before main ends. */
static void check_wg_intro(const char *out)
{
	assert_int_equal(line_count(out), 6);
	char a[64], b[64];
	for (int i = 1; i <= 3; i++) {
		snprintf(a, sizeof(a), "Worker %d starting", i);
		snprintf(b, sizeof(b), "Worker %d done", i);
		expect_linef_before(out, a, b);
	}
}

/* "WaitGroups in Go": Example: Basic WaitGroup Usage */
static void basic_worker(void *arg)
{
	struct worker_arg *w = arg;
	printf("Worker %d started\n", w->id);
	rg_sleep(SEED_SECOND);
	printf("Worker %d finished\n", w->id);
	rg_wg_done(w->wg);
}

static int ex_wg_basic(void *arg)
{
	(void)arg;
	rg_waitgroup_t wg = {0};
	struct worker_arg w[4];
	for (int i = 1; i <= 3; i++) {
		rg_wg_add(&wg, 1);
		w[i] = (struct worker_arg){.id = i, .wg = &wg};
		rg_go(basic_worker, &w[i]);
	}
	rg_wg_wait(&wg);
	printf("All workers completed\n");
	return 0;
}

/* Each worker starts before it finishes, and the final line comes after
 * every worker finished: what the WaitGroup guarantees.  (That all three
 * start before any finishes is only likely, from the sleep, and not on
 * a loaded machine where the seed's second is scaled down.) */
static void check_wg_basic(const char *out)
{
	char a[64], b[64];
	assert_int_equal(line_count(out), 7);
	for (int i = 1; i <= 3; i++) {
		snprintf(a, sizeof(a), "Worker %d started", i);
		snprintf(b, sizeof(b), "Worker %d finished", i);
		expect_linef_before(out, a, b);
		expect_linef_before(out, b, "All workers completed");
	}
	assert_int_equal(expect_line(out, "All workers completed"), 6);
}

/* Real-World Example — Parallel Web Requests */
static void fetch_data(void *arg)
{
	struct worker_arg *w = arg;
	printf("Fetching: %s\n", w->api);
	rg_sleep(2 * SEED_SECOND);
	printf("  Done: %s\n", w->api);
	rg_wg_done(w->wg);
}

static int ex_wg_fetch(void *arg)
{
	(void)arg;
	rg_waitgroup_t wg = {0};
	const char *apis[] = {"API-1", "API-2", "API-3"};
	struct worker_arg w[3];
	for (int i = 0; i < 3; i++) {
		rg_wg_add(&wg, 1);
		w[i] = (struct worker_arg){.api = apis[i], .wg = &wg};
		rg_go(fetch_data, &w[i]);
	}
	rg_wg_wait(&wg);
	printf("All API calls finished!\n");
	return 0;
}

static void check_wg_fetch(const char *out)
{
	assert_int_equal(line_count(out), 7);
	expect_linef_before(out, "Fetching: API-1", "  Done: API-2");
	expect_linef_before(out, "Fetching: API-3", "  Done: API-1");
	expect_line(out, "  Done: API-3");
	assert_int_equal(expect_line(out, "All API calls finished!"), 6);
}

/* Bonus: Combine with Channels (results closed after wg.Wait) */
static void double_sender(void *arg)
{
	struct worker_arg *w = arg;
	int v = w->id * 2;
	rg_chan_send(w->results, &v);
	rg_wg_done(w->wg);
}

static void wait_then_close(void *arg)
{
	struct worker_arg *w = arg;
	rg_wg_wait(w->wg);
	rg_chan_close(w->results);
}

static int ex_wg_results(void *arg)
{
	(void)arg;
	rg_waitgroup_t wg = {0};
	rg_chan_t *results = RG_CHAN(int, 0);
	struct worker_arg w[5], closer = {.wg = &wg, .results = results};
	for (int i = 0; i < 5; i++) {
		rg_wg_add(&wg, 1);
		w[i] = (struct worker_arg){.id = i, .wg = &wg, .results = results};
		rg_go(double_sender, &w[i]);
	}
	rg_go(wait_then_close, &closer);
	int res;
	RG_RANGE(results, res)
		printf("%d\n", res);
	rg_chan_free(results);
	return 0;
}

/* Every result arrives once, and the range ends when the closer runs. */
static void check_wg_results(const char *out)
{
	assert_int_equal(line_count(out), 5);
	const char *want[] = {"0", "2", "4", "6", "8"};
	for (int i = 0; i < 5; i++)
		expect_line(out, want[i]);
}

/* "Closing Multiple Producers Case": example with sync.WaitGroup */
static void id_sender(void *arg)
{
	struct worker_arg *w = arg;
	rg_chan_send(w->results, &w->id);
	rg_wg_done(w->wg);
}

static int ex_close_producers(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 0);
	rg_waitgroup_t wg = {0};
	struct worker_arg w[3], closer = {.wg = &wg, .results = ch};
	for (int i = 0; i < 3; i++) {
		rg_wg_add(&wg, 1);
		w[i] = (struct worker_arg){.id = i, .wg = &wg, .results = ch};
		rg_go(id_sender, &w[i]);
	}
	rg_go(wait_then_close, &closer); /* only close once all senders are done */
	int v;
	RG_RANGE(ch, v)
		printf("Received: %d\n", v);
	rg_chan_free(ch);
	return 0;
}

static void check_close_producers(const char *out)
{
	assert_int_equal(line_count(out), 3);
	expect_line(out, "Received: 0");
	expect_line(out, "Received: 1");
	expect_line(out, "Received: 2");
}

/* ==== Channels + WaitGroup ========================================= */

/* Worker pools: "7. Using sync.WaitGroup for graceful shutdown" */
static void pool_worker(void *arg)
{
	struct worker_arg *w = arg;
	int job;
	RG_RANGE(w->jobs, job) {
		printf("Worker %d processing job %d\n", w->id, job);
		rg_sleep(SEED_SECOND);
	}
	rg_wg_done(w->wg);
}

static int ex_pool_graceful(void *arg)
{
	(void)arg;
	rg_chan_t *jobs = RG_CHAN(int, 10);
	rg_waitgroup_t wg = {0};
	struct worker_arg w[4];
	for (int i = 1; i <= 3; i++) {
		rg_wg_add(&wg, 1);
		w[i] = (struct worker_arg){.id = i, .wg = &wg, .jobs = jobs};
		rg_go(pool_worker, &w[i]);
	}
	for (int j = 1; j <= 9; j++)
		rg_chan_send(jobs, &j);
	rg_chan_close(jobs);
	rg_wg_wait(&wg);
	printf("All jobs done\n");
	rg_chan_free(jobs);
	return 0;
}

/* Nine jobs, each processed once by one of three workers, then the
 * final line. */
static void check_pool_graceful(const char *out)
{
	assert_int_equal(line_count(out), 10);
	for (int j = 1; j <= 9; j++) {
		int seen = 0;
		char line[64];
		for (int id = 1; id <= 3; id++) {
			snprintf(line, sizeof(line), "Worker %d processing job %d", id, j);
			seen += line_index(out, line) >= 0;
		}
		assert_int_equal(seen, 1);
	}
	assert_int_equal(expect_line(out, "All jobs done"), 9);
}

/* "Example: Channels + WaitGroup" */
static void pipeline_worker(void *arg)
{
	struct worker_arg *w = arg;
	int job;
	RG_RANGE(w->jobs, job) {
		printf("Worker %d processing job %d\n", w->id, job);
		rg_sleep(SEED_SECOND); /* simulate work */
		int r = job * 2;
		rg_chan_send(w->results, &r);
		printf("Worker %d finished job %d\n", w->id, job);
	}
	rg_wg_done(w->wg);
}

static int ex_chan_wg_pipeline(void *arg)
{
	(void)arg;
	rg_waitgroup_t wg = {0};
	rg_chan_t *jobs = RG_CHAN(int, 5), *results = RG_CHAN(int, 5);
	struct worker_arg w[4], closer = {.wg = &wg, .results = results};
	int num_of_workers = 3;
	for (int i = 1; i <= num_of_workers; i++) {
		rg_wg_add(&wg, 1);
		w[i] = (struct worker_arg){.id = i, .wg = &wg, .jobs = jobs, .results = results};
		rg_go(pipeline_worker, &w[i]);
	}
	for (int j = 1; j <= 5; j++)
		rg_chan_send(jobs, &j);
	rg_chan_close(jobs); /* no more jobs to send */
	rg_go(wait_then_close, &closer);
	int result;
	RG_RANGE(results, result)
		printf("Result: %d\n", result);
	printf("All workers finished and all results received!\n");
	rg_chan_free(jobs);
	rg_chan_free(results);
	return 0;
}

static void check_chan_wg_pipeline(const char *out)
{
	assert_int_equal(line_count(out), 5 * 3 + 1);
	char line[64];
	for (int j = 1; j <= 5; j++) {
		snprintf(line, sizeof(line), "Result: %d", 2 * j);
		expect_line(out, line);
	}
	assert_int_equal(expect_line(out, "All workers finished and all results received!"), 15);
}

/* ==== Mutex ========================================================= */

typedef struct counter {
	rg_mutex_t mu;
	int n;
} counter_t;

static void counter_inc(counter_t *c)
{
	rg_mutex_lock(&c->mu);
	c->n++;
	rg_mutex_unlock(&c->mu);
}

static int counter_value(counter_t *c)
{
	rg_mutex_lock(&c->mu);
	int v = c->n;
	rg_mutex_unlock(&c->mu);
	return v;
}

/* "1) Basic usage": Counter with Inc and Value */
static int ex_mutex_counter(void *arg)
{
	(void)arg;
	counter_t c = {0}; /* the zero value is ready to use */
	counter_inc(&c);
	printf("%d\n", counter_value(&c)); /* 1 */
	return 0;
}


/* "5) TryLock": quick task when free, fallback path when held. */
static rg_mutex_t try_mu;
static rg_waitgroup_t try_wg;

static void try_once(void)
{
	if (rg_mutex_trylock(&try_mu)) {
		printf("did quick task\n");
		rg_mutex_unlock(&try_mu);
	} else {
		printf("fallback path\n");
	}
}

static void try_other(void *arg)
{
	(void)arg;
	try_once();
	rg_wg_done(&try_wg);
}

static int ex_trylock(void *arg)
{
	(void)arg;
	try_once();
	rg_mutex_lock(&try_mu);
	rg_wg_add(&try_wg, 1);
	rg_go(try_other, NULL);
	rg_wg_wait(&try_wg);
	rg_mutex_unlock(&try_mu);
	return 0;
}


/* "8) sync.Cond (producer/consumer)" */
static struct {
	rg_mutex_t mu;
	rg_cond_t cond;
	int queue[16], len;
	rg_waitgroup_t wg;
} pc;

static void cond_producer(void *arg)
{
	int v = (int)(intptr_t)arg;
	rg_mutex_lock(&pc.mu);
	pc.queue[pc.len++] = v;
	rg_cond_signal(&pc.cond);
	rg_mutex_unlock(&pc.mu);
	rg_wg_done(&pc.wg);
}

static void cond_consumer(void *arg)
{
	(void)arg;
	rg_mutex_lock(&pc.mu);
	while (pc.len == 0)
		rg_cond_wait(&pc.cond, &pc.mu);
	int v = pc.queue[0]; /* consume */
	memmove(pc.queue, pc.queue + 1, (size_t)--pc.len * sizeof(int));
	rg_mutex_unlock(&pc.mu);
	printf("consumed %d\n", v);
	rg_wg_done(&pc.wg);
}

static int ex_cond(void *arg)
{
	(void)arg;
	rg_wg_add(&pc.wg, 6);
	for (int i = 0; i < 3; i++)
		rg_go(cond_consumer, NULL);
	rg_sleep(SEED_SECOND); /* consumers wait on the condition */
	for (int i = 1; i <= 3; i++)
		rg_go(cond_producer, (void *)(intptr_t)i);
	rg_wg_wait(&pc.wg);
	printf("left %d\n", pc.len);
	return 0;
}

static void check_cond(const char *out)
{
	expect_line(out, "consumed 1");
	expect_line(out, "consumed 2");
	expect_line(out, "consumed 3");
	assert_int_equal(expect_line(out, "left 0"), 3);
}

/* "11) Sharded counters (reduce contention)" */
typedef struct sharded {
	struct {
		rg_mutex_t mu;
		int64_t v;
	} shards[8];
} sharded_t;

static void sharded_inc(sharded_t *s, int key)
{
	__typeof__(&s->shards[0]) sh = &s->shards[key % 8];
	rg_mutex_lock(&sh->mu);
	sh->v++;
	rg_mutex_unlock(&sh->mu);
}

static sharded_t shc;
static rg_waitgroup_t sh_wg;

static void sharded_worker(void *arg)
{
	int k = (int)(intptr_t)arg;
	for (int i = 0; i < 10000; i++)
		sharded_inc(&shc, k + i);
	rg_wg_done(&sh_wg);
}

static int ex_sharded(void *arg)
{
	(void)arg;
	rg_wg_add(&sh_wg, 4);
	for (int k = 0; k < 4; k++)
		rg_go(sharded_worker, (void *)(intptr_t)k);
	rg_wg_wait(&sh_wg);
	int64_t total = 0;
	for (int i = 0; i < 8; i++)
		total += shc.shards[i].v;
	printf("total %lld\n", (long long)total);
	return 0;
}


/* ==== Atomic counters ============================================== */

/* "Atomic counter (fast hot path)" snippet */
static int ex_atomic_snippet(void *arg)
{
	(void)arg;
	static _Atomic int64_t cnt;
	atomic_fetch_add(&cnt, 1);   /* atomic.AddInt64(&cnt, 1) */
	int64_t v = atomic_load(&cnt); /* atomic.LoadInt64(&cnt) */
	printf("%lld\n", (long long)v);
	return 0;
}


static _Atomic int64_t a_counter;
static rg_waitgroup_t a_wg;

static void a_increment(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		atomic_fetch_add(&a_counter, 1); /* Atomic increment */
	rg_wg_done(&a_wg);
}

/* "2. Basic Example" of atomic counters */
static int ex_atomic_basic(void *arg)
{
	(void)arg;
	int num_of_goroutines = 5;
	rg_wg_add(&a_wg, num_of_goroutines);
	for (int i = 0; i < num_of_goroutines; i++)
		rg_go(a_increment, NULL);
	rg_wg_wait(&a_wg);
	printf("Final counter value: %lld\n", (long long)atomic_load(&a_counter));
	return 0;
}


static void a_load_add_worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int j = 0; j < 1000; j++)
		atomic_fetch_add(&a_counter, 1);
	int64_t val = atomic_load(&a_counter); /* safe read */
	printf("Worker %d finished. Current count: %lld\n", id, (long long)val);
	rg_wg_done(&a_wg);
}

/* "7. Practical Example — Mixing Load & Add safely" */
static int ex_atomic_load_add(void *arg)
{
	(void)arg;
	int num_of_goroutines = 3;
	rg_wg_add(&a_wg, num_of_goroutines);
	for (int i = 0; i < num_of_goroutines; i++)
		rg_go(a_load_add_worker, (void *)(intptr_t)i);
	rg_wg_wait(&a_wg);
	printf("Final counter: %lld\n", (long long)atomic_load(&a_counter));
	return 0;
}

/* Each worker sees at least its own 1000 increments; the total is exact. */
static void check_atomic_load_add(const char *out)
{
	assert_int_equal(line_count(out), 4);
	for (int id = 0; id < 3; id++) {
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "Worker %d finished. Current count: ", id);
		const char *p = strstr(out, prefix);
		assert_non_null(p);
		long v = strtol(p + strlen(prefix), NULL, 10);
		assert_true(v >= 1000 && v <= 3000);
	}
	assert_int_equal(expect_line(out, "Final counter: 3000"), 3);
}

/* "Mutex-based counters vs Atomic counters": mutexCounter, atomicCounter */
static struct {
	rg_mutex_t mu;
	int counter;
	_Atomic int64_t acounter;
	rg_waitgroup_t wg;
} mva;

#define INCREMENTS_PER_GOROUTINE 1000000

static void mva_mutex_worker(void *arg)
{
	(void)arg;
	for (int j = 0; j < INCREMENTS_PER_GOROUTINE; j++) {
		rg_mutex_lock(&mva.mu);
		mva.counter++;
		rg_mutex_unlock(&mva.mu);
	}
	rg_wg_done(&mva.wg);
}

static void mva_atomic_worker(void *arg)
{
	(void)arg;
	for (int64_t j = 0; j < INCREMENTS_PER_GOROUTINE; j++)
		atomic_fetch_add(&mva.acounter, 1);
	rg_wg_done(&mva.wg);
}

static void mutex_counter(void)
{
	int num_goroutines = 5;
	rg_wg_add(&mva.wg, num_goroutines);
	int64_t start = rg_now();
	for (int i = 0; i < num_goroutines; i++)
		rg_go(mva_mutex_worker, NULL);
	rg_wg_wait(&mva.wg);
	int64_t elapsed = rg_now() - start;
	printf("Mutex Counter: %d | Time: %lldms\n", mva.counter,
	       (long long)(elapsed / RG_MILLISECOND));
}

static void atomic_counter(void)
{
	int num_goroutines = 5;
	rg_wg_add(&mva.wg, num_goroutines);
	int64_t start = rg_now();
	for (int i = 0; i < num_goroutines; i++)
		rg_go(mva_atomic_worker, NULL);
	rg_wg_wait(&mva.wg);
	int64_t elapsed = rg_now() - start;
	printf("Atomic Counter: %lld | Time: %lldms\n",
	       (long long)atomic_load(&mva.acounter),
	       (long long)(elapsed / RG_MILLISECOND));
}

static int ex_mutex_vs_atomic(void *arg)
{
	(void)arg;
	mutex_counter();
	atomic_counter();
	return 0;
}

/* Both counters reach 5000000; the times vary. */
static void check_mutex_vs_atomic(const char *out)
{
	assert_int_equal(line_count(out), 2);
	assert_true(strncmp(out, "Mutex Counter: 5000000 | Time: ", 31) == 0);
	assert_non_null(strstr(out, "\nAtomic Counter: 5000000 | Time: "));
}

/* ==== Stateful goroutines ========================================== */

typedef struct command {
	const char *action;
	rg_chan_t *resp;   /* chan int, optional */
} command_t;

/* count is private state, only accessible inside this goroutine */
static void counter_actor(void *arg)
{
	rg_chan_t *cmds = arg;
	int count = 0;
	command_t cmd;
	RG_RANGE(cmds, cmd) {
		if (strcmp(cmd.action, "increment") == 0)
			count++;
		else if (strcmp(cmd.action, "get") == 0)
			rg_chan_send(cmd.resp, &count);
	}
}

/* "3. Example: Stateful Counter Goroutine" */
static int ex_counter_actor(void *arg)
{
	(void)arg;
	rg_chan_t *cmds = RG_CHAN(command_t, 0);
	rg_go(counter_actor, cmds);
	for (int i = 0; i < 5; i++)
		rg_chan_send(cmds, &(command_t){.action = "increment"});
	rg_chan_t *resp = RG_CHAN(int, 0);
	rg_chan_send(cmds, &(command_t){.action = "get", .resp = resp});
	int v;
	rg_chan_recv(resp, &v);
	printf("Counter Value: %d\n", v);
	rg_sleep(SEED_SECOND);
	return 0;
}


typedef struct txn {
	const char *action;
	int amount;
	rg_chan_t *resp;
} txn_t;

struct account_arg {
	int balance;
	rg_chan_t *txns;
};

static void account(void *arg)
{
	struct account_arg *a = arg;
	int balance = a->balance;
	txn_t t;
	RG_RANGE(a->txns, t) {
		if (strcmp(t.action, "deposit") == 0) {
			balance += t.amount;
		} else if (strcmp(t.action, "withdraw") == 0) {
			if (balance >= t.amount)
				balance -= t.amount;
		} else if (strcmp(t.action, "balance") == 0) {
			rg_chan_send(t.resp, &balance);
		}
	}
}

/* "5. Advanced Example: Concurrent Banking System" */
static int ex_bank(void *arg)
{
	(void)arg;
	static struct account_arg acct;
	acct = (struct account_arg){.balance = 1000, .txns = RG_CHAN(txn_t, 0)};
	rg_go(account, &acct);
	rg_chan_send(acct.txns, &(txn_t){.action = "deposit", .amount = 200});
	rg_chan_send(acct.txns, &(txn_t){.action = "withdraw", .amount = 500});
	rg_chan_t *resp = RG_CHAN(int, 0);
	rg_chan_send(acct.txns, &(txn_t){.action = "balance", .resp = resp});
	int b;
	rg_chan_recv(resp, &b);
	printf("Current Balance: %d\n", b);
	return 0;
}


/* ==== Context ======================================================= */

static void cancel_after(void *arg)
{
	rg_sleep(2 * SEED_SECOND);
	rg_ctx_cancel(arg); /* signal cancellation */
	rg_ctx_release(arg);
}

/* "1. WithCancel" */
static int ex_ctx_with_cancel(void *arg)
{
	(void)arg;
	rg_ctx_t *ctx = rg_ctx_with_cancel(rg_ctx_background());
	rg_ctx_retain(ctx); /* ours; the goroutine gets the creator's */
	rg_go(cancel_after, ctx);
	rg_case_t cs[] = {RG_RECV(rg_ctx_done(ctx), NULL)};
	if (rg_select(cs, 1, true) == 0)
		printf("Cancelled: %s\n", ctx_err_str(rg_ctx_err(ctx)));
	rg_ctx_release(ctx);
	return 0;
}


/* "2. WithTimeout" */
static int ex_ctx_with_timeout(void *arg)
{
	(void)arg;
	rg_ctx_t *ctx = rg_ctx_with_timeout(rg_ctx_background(), 3 * SEED_SECOND);
	rg_chan_t *a = rg_after(5 * SEED_SECOND);
	rg_case_t cs[] = {RG_RECV(a, NULL), RG_RECV(rg_ctx_done(ctx), NULL)};
	switch (rg_select(cs, 2, true)) {
	case 0:
		printf("Operation done\n");
		break;
	case 1:
		printf("Timeout: %s\n", ctx_err_str(rg_ctx_err(ctx)));
		break;
	}
	rg_ctx_cancel(ctx); /* defer cancel() */
	rg_ctx_release(ctx);
	rg_chan_free(a);
	return 0;
}


/* "3. WithDeadline": an absolute time instead of a duration */
static int ex_ctx_with_deadline(void *arg)
{
	(void)arg;
	int64_t deadline = rg_now() + 2 * SEED_SECOND;
	rg_ctx_t *ctx = rg_ctx_with_deadline(rg_ctx_background(), deadline);
	int64_t d;
	if (rg_ctx_deadline(ctx, &d) && d == deadline)
		printf("deadline set\n");
	rg_chan_recv(rg_ctx_done(ctx), NULL);
	if (rg_now() >= deadline)
		printf("%s\n", ctx_err_str(rg_ctx_err(ctx)));
	rg_ctx_cancel(ctx);
	rg_ctx_release(ctx);
	return 0;
}


/* "4. WithValue" */
static const char user_id_key; /* the seed's "userID" key */

static void process(rg_ctx_t *ctx)
{
	printf("User ID: %d\n", *(int *)rg_ctx_value(ctx, &user_id_key));
}

static int ex_ctx_with_value(void *arg)
{
	(void)arg;
	static int user_id = 42;
	rg_ctx_t *ctx = rg_ctx_with_value(rg_ctx_background(), &user_id_key, &user_id);
	process(ctx);
	rg_ctx_release(ctx);
	return 0;
}


/* "Typical Use Case (Web Server)": fetchData gives up when the
 * request's context is cancelled (the client went away). */
static int fetch_data_ctx(rg_ctx_t *ctx, const char **result)
{
	/* The seed's 5 s of work; 50 here, so that on a loaded machine the
	 * client's cancel after 1 still comes first. */
	rg_chan_t *a = rg_after(50 * SEED_SECOND); /* simulate work */
	rg_case_t cs[] = {RG_RECV(a, NULL), RG_RECV(rg_ctx_done(ctx), NULL)};
	int err = 0;
	if (rg_select(cs, 2, true) == 0)
		*result = "Fetched data!";
	else
		err = rg_ctx_err(ctx);
	rg_chan_free(a);
	return err;
}

static void handle(rg_ctx_t *ctx)
{
	const char *result = NULL;
	int err = fetch_data_ctx(ctx, &result);
	if (err) {
		printf("Error: %s\n", ctx_err_str(err));
		return;
	}
	printf("Result: %s\n", result);
}

static int ex_ctx_web(void *arg)
{
	(void)arg;
	/* A request whose client stays. */
	rg_ctx_t *r1 = rg_ctx_with_cancel(rg_ctx_background());
	handle(r1);
	rg_ctx_cancel(r1);
	rg_ctx_release(r1);
	/* A request whose client closes the browser after 1 s. */
	rg_ctx_t *r2 = rg_ctx_with_cancel(rg_ctx_background());
	rg_ctx_retain(r2);
	rg_go(cancel_after, r2);
	handle(r2);
	rg_ctx_release(r2);
	return 0;
}


/* Timers section, "Timeout pattern (safe)": doWithTimeout */
struct work_result {
	int v, e;
};

struct work_arg {
	int64_t takes;
	rg_chan_t *result_ch; /* buffered 1: the worker never blocks */
};

static void work(void *arg)
{
	struct work_arg *w = arg;
	rg_sleep(w->takes);
	struct work_result r = {.v = 7};
	rg_chan_send(w->result_ch, &r);
	free(w);
}

static int do_with_timeout(rg_ctx_t *ctx, int64_t takes, int64_t timeout, int *v)
{
	rg_timer_t *timer = rg_timer_new(timeout);  /* time.NewTimer */
	rg_chan_t *result_ch = RG_CHAN(struct work_result, 1);
	struct work_arg *w = malloc(sizeof(*w));
	*w = (struct work_arg){.takes = takes, .result_ch = result_ch};
	rg_go(work, w);
	struct work_result r;
	rg_case_t cs[] = {
		RG_RECV(result_ch, &r),
		RG_RECV(rg_ctx_done(ctx), NULL),
		RG_RECV(rg_timer_chan(timer), NULL),
	};
	int ret, chosen = rg_select(cs, 3, true);
	switch (chosen) {
	case 0:
		*v = r.v;
		ret = r.e;
		break;
	case 1:
		ret = rg_ctx_err(ctx);
		break;
	default:
		ret = -ETIME; /* fmt.Errorf("timeout") */
		break;
	}
	rg_timer_free(timer);  /* defer timer.Stop() */
	/* Go's collector frees result_ch once the worker is done with it;
	 * here we wait for its value first. */
	if (chosen != 0)
		rg_chan_recv(result_ch, NULL);
	rg_chan_free(result_ch);
	return ret;
}

static int ex_do_with_timeout(void *arg)
{
	(void)arg;
	int v = 0;
	rg_ctx_t *ctx = rg_ctx_with_cancel(rg_ctx_background());
	/* The seed's 5 s stands for "much later": 50 here, so that on a
	 * loaded machine the side that must lose still loses. */
	int e = do_with_timeout(ctx, SEED_SECOND, 50 * SEED_SECOND, &v);
	printf("%d %s\n", v, e ? "error" : "<nil>");
	e = do_with_timeout(ctx, 50 * SEED_SECOND, SEED_SECOND, &v);
	printf("%s\n", e == -ETIME ? "timeout" : "unexpected");
	rg_ctx_t *parent = rg_ctx_with_timeout(ctx, SEED_SECOND);
	e = do_with_timeout(parent, 50 * SEED_SECOND, 100 * SEED_SECOND, &v);
	printf("parent cancelled: %s\n", ctx_err_str(e));
	rg_ctx_cancel(parent);
	rg_ctx_release(parent);
	rg_ctx_cancel(ctx);
	rg_ctx_release(ctx);
	return 0;
}


/* ==== The table ==================================================== */

static const struct example examples[] = {
	{"test_wg_intro", ex_wg_intro, check_wg_intro, NULL},
	{"test_wg_basic", ex_wg_basic, check_wg_basic, NULL},
	{"test_wg_fetch", ex_wg_fetch, check_wg_fetch, NULL},
	{"test_wg_results", ex_wg_results, check_wg_results, NULL},
	{"test_close_producers", ex_close_producers, check_close_producers, NULL},
	{"test_pool_graceful", ex_pool_graceful, check_pool_graceful, NULL},
	{"test_chan_wg_pipeline", ex_chan_wg_pipeline, check_chan_wg_pipeline, NULL},
	{"test_mutex_counter", ex_mutex_counter, NULL, "1\n"},
	{"test_trylock", ex_trylock, NULL, "did quick task\nfallback path\n"},
	{"test_cond", ex_cond, check_cond, NULL},
	{"test_sharded", ex_sharded, NULL, "total 40000\n"},
	{"test_atomic_snippet", ex_atomic_snippet, NULL, "1\n"},
	{"test_atomic_basic", ex_atomic_basic, NULL, "Final counter value: 5000\n"},
	{"test_atomic_load_add", ex_atomic_load_add, check_atomic_load_add, NULL},
	{"test_mutex_vs_atomic", ex_mutex_vs_atomic, check_mutex_vs_atomic, NULL},
	{"test_counter_actor", ex_counter_actor, NULL, "Counter Value: 5\n"},
	{"test_bank", ex_bank, NULL, "Current Balance: 700\n"},
	{"test_ctx_with_cancel", ex_ctx_with_cancel, NULL, "Cancelled: context canceled\n"},
	{"test_ctx_with_timeout", ex_ctx_with_timeout, NULL, "Timeout: context deadline exceeded\n"},
	{"test_ctx_with_deadline", ex_ctx_with_deadline, NULL, "deadline set\ncontext deadline exceeded\n"},
	{"test_ctx_with_value", ex_ctx_with_value, NULL, "User ID: 42\n"},
	{"test_ctx_web", ex_ctx_web, NULL, "Result: Fetched data!\nError: context canceled\n"},
	{"test_do_with_timeout", ex_do_with_timeout, NULL, "7 <nil>\ntimeout\nparent cancelled: context deadline exceeded\n"},
};

int main(void)
{
	return run_examples(examples, sizeof(examples) / sizeof(examples[0]));
}
