// SPDX-License-Identifier: MIT
/*
 * bench_patterns: the time, limiter and pool workloads (ringo side),
 * one per run:   bench_patterns WORKLOAD [-n N]
 * Each mirrors the same workload in go/patterns.go and prints one RESULT
 * line (tests/bench/patterns.sh runs both and makes the table rows).
 *
 *   timer_stop   N timers (default 1M) created, all pending (1-2 s), then
 *                each stopped and freed: ns per timer (create + stop)
 *   timer_fire   N timers due 1-2 ms after creation, then each value
 *                received in creation order: ns per timer
 *   limiter      rg_limiter_allow, one goroutine: ns per call
 *   limiter_4g   rg_limiter_allow, 4 goroutines on one limiter: ns per call
 *   keyed_100k   rg_keyed_allow (rate 1, burst 5) over 100,000 keys (4-byte), random
 *                order: ns per call (Go: the seed's map of limiters)
 *   sema         rg_sema_acquire(1) + rg_sema_release(1), uncontended: ns
 *                per pair
 *   errgroup     rounds of 10,000 functions (return 0) and a wait: ns per
 *                function
 *   pool         N tiny jobs (an atomic add) through a pool of 4 workers,
 *                queue 256: ns per job
 *   ticker_p99   a 1 ms ticker, 2,000 ticks: p99 lateness of the receive
 *                after the n-th due time (start + n*d), in us
 */
#include <ringo.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "bench.h"

static long n_arg;
static const char *wl;

static double ns_per(int64_t t0, long n)
{
	return (double)(rg_now() - t0) / (double)n;
}

/* ---- timers ---------------------------------------------------------- */

static int timer_stop(long n)
{
	rg_timer_t **ts = malloc(sizeof(*ts) * (size_t)n);
	int64_t t0 = rg_now();
	for (long i = 0; i < n; i++)
		ts[i] = rg_timer_new(RG_SECOND + (i * 7919 % 1000) * RG_MILLISECOND);
	for (long i = 0; i < n; i++) {
		rg_timer_stop(ts[i]);
		rg_timer_free(ts[i]);
	}
	bench_result(wl, ns_per(t0, n), 1, "ns/op");
	free(ts);
	return 0;
}

static int timer_fire(long n)
{
	rg_timer_t **ts = malloc(sizeof(*ts) * (size_t)n);
	int64_t t0 = rg_now();
	for (long i = 0; i < n; i++)
		ts[i] = rg_timer_new(RG_MILLISECOND + (i % 1000) * RG_MICROSECOND);
	for (long i = 0; i < n; i++) {
		rg_chan_recv(rg_timer_chan(ts[i]), NULL);
		rg_timer_free(ts[i]);
	}
	bench_result(wl, ns_per(t0, n), 1, "ns/op");
	free(ts);
	return 0;
}

static int ticker_p99(long n)
{
	int64_t d = RG_MILLISECOND;
	int64_t *late = malloc(sizeof(*late) * (size_t)n);
	int64_t t0 = rg_now();
	rg_ticker_t *tk = rg_ticker_new(d);
	long k = 0;
	for (long i = 0; i < n; i++) {
		rg_chan_recv(rg_ticker_chan(tk), NULL);
		int64_t now = rg_now();
		long due = (long)((now - t0) / d);
		k = due > k + 1 ? due : k + 1;
		late[i] = now - (t0 + k * d);
		if (late[i] < 0)
			late[i] = 0;
	}
	rg_ticker_free(tk);
	/* insertion sort is fine for 2000 */
	for (long i = 1; i < n; i++)
		for (long j = i; j > 0 && late[j] < late[j - 1]; j--) {
			int64_t x = late[j];
			late[j] = late[j - 1];
			late[j - 1] = x;
		}
	printf("ticker: p50 %.1f us, p99 %.1f us, max %.1f us\n", late[n / 2] / 1e3,
	       late[n * 99 / 100] / 1e3, late[n - 1] / 1e3);
	bench_result(wl, late[n * 99 / 100] / 1e3, 1, "us");
	free(late);
	return 0;
}

/* ---- limiters -------------------------------------------------------- */

static rg_limiter_t *lim;
static long per_g;
static rg_waitgroup_t wg;
static _Atomic long allowed;

static void allow_loop(void *arg)
{
	(void)arg;
	long ok = 0;
	for (long i = 0; i < per_g; i++)
		ok += rg_limiter_allow(lim);
	atomic_fetch_add(&allowed, ok);
	rg_wg_done(&wg);
}

static int limiter(long n, int g)
{
	lim = rg_limiter_new(1e6, 100);
	per_g = n / g;
	rg_wg_add(&wg, g);
	int64_t t0 = rg_now();
	for (int i = 0; i < g; i++)
		rg_go(allow_loop, NULL);
	rg_wg_wait(&wg);
	double r = ns_per(t0, per_g * g);
	printf("%s: allowed %ld of %ld\n", wl, atomic_load(&allowed), per_g * g);
	bench_result(wl, r, 1, "ns/op");
	rg_limiter_free(lim);
	return 0;
}

static int keyed(long n)
{
	rg_keyed_limiter_t *k = rg_keyed_limiter_new(1, 5, 100000);
	uint32_t x = 1;
	long ok = 0;
	int64_t t0 = rg_now();
	for (long i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		uint32_t key = (x >> 8) % 100000;
		ok += rg_keyed_allow(k, &key, sizeof(key), rg_now());
	}
	double r = ns_per(t0, n);
	printf("keyed: allowed %ld of %ld, keys %zu\n", ok, n, rg_keyed_len(k));
	bench_result(wl, r, 1, "ns/op");
	rg_keyed_limiter_free(k);
	return 0;
}

/* ---- semaphore, errgroup, pool ---------------------------------------- */

static int sema(long n)
{
	static rg_sema_t s;
	rg_sema_init(&s, 10);
	int64_t t0 = rg_now();
	for (long i = 0; i < n; i++) {
		rg_sema_acquire(&s, 1, NULL);
		rg_sema_release(&s, 1);
	}
	bench_result(wl, ns_per(t0, n), 1, "ns/op");
	return 0;
}

static int nop_fn(rg_ctx_t *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return 0;
}

static int errgroup(long n)
{
	long rounds = n / 10000 ? n / 10000 : 1;
	int64_t t0 = rg_now();
	for (long r = 0; r < rounds; r++) {
		rg_group_t *g = rg_group_new(NULL);
		for (int i = 0; i < 10000; i++)
			rg_group_go(g, nop_fn, NULL);
		rg_group_wait(g);
		rg_group_free(g);
	}
	bench_result(wl, ns_per(t0, rounds * 10000), 1, "ns/op");
	return 0;
}

static _Atomic long job_sum;

static void tiny_job(void *arg)
{
	atomic_fetch_add_explicit(&job_sum, (long)(intptr_t)arg, memory_order_relaxed);
}

static int pool(long n)
{
	int64_t t0 = rg_now();
	rg_pool_t *p = rg_pool_new(4, 256);
	for (long i = 0; i < n; i++)
		rg_pool_submit(p, tiny_job, (void *)(intptr_t)1, NULL);
	rg_pool_close(p);
	rg_pool_wait(p);
	double r = ns_per(t0, n);
	rg_pool_free(p);
	if (atomic_load(&job_sum) != n) {
		fprintf(stderr, "pool: sum %ld, want %ld\n", atomic_load(&job_sum), n);
		return 1;
	}
	bench_result(wl, r, 1, "ns/op");
	return 0;
}

static int bench_main(void *arg)
{
	(void)arg;
	long n = n_arg;
	if (!strcmp(wl, "timer_stop"))
		return timer_stop(n ? n : 1000000);
	if (!strcmp(wl, "timer_fire"))
		return timer_fire(n ? n : 1000000);
	if (!strcmp(wl, "ticker_p99"))
		return ticker_p99(n ? n : 2000);
	if (!strcmp(wl, "limiter"))
		return limiter(n ? n : 10000000, 1);
	if (!strcmp(wl, "limiter_4g"))
		return limiter(n ? n : 4000000, 4);
	if (!strcmp(wl, "keyed_100k"))
		return keyed(n ? n : 2000000);
	if (!strcmp(wl, "sema"))
		return sema(n ? n : 10000000);
	if (!strcmp(wl, "errgroup"))
		return errgroup(n ? n : 200000);
	if (!strcmp(wl, "pool"))
		return pool(n ? n : 1000000);
	fprintf(stderr, "bench_patterns: unknown workload %s\n", wl);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s WORKLOAD [-n N]\n", argv[0]);
		return 2;
	}
	wl = argv[1];
	const struct bench_opt opts[] = {
		{"n", &n_arg, "iterations (default: the workload's)"},
		{NULL, NULL, NULL},
	};
	argv[1] = argv[0];
	bench_parse(argc - 1, argv + 1, opts);
	int rc = rg_main(bench_main, NULL);
	return rc < 0 ? 1 : rc;
}
