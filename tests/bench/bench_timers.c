// SPDX-License-Identifier: MIT
/*
 * timers: 10,000 goroutines (-g) each sleep N rounds (-n, default 10), each
 * time for a different duration between 1 and 10 ms (goroutine i, round r:
 * 1 ms + ((i*37 + r*1009) mod 9000) us). Reports the mean oversleep
 * (actual - requested) in ns per sleep; the total wall time and the worst
 * oversleep go on an informational line. Mirrors go/timers.go. Until
 * WaitGroup exists main polls a C11 atomic counter with rg_sleep(1 ms), so
 * the wall time is exact to about 1 ms.
 */
#include <ringo.h>
#include <stdatomic.h>

#include "bench.h"

static long rounds;
static atomic_llong over_total;
static atomic_llong over_max;
static atomic_long finished;

static int64_t dur(long i, long r)
{
	return RG_MILLISECOND + ((i * 37 + r * 1009) % 9000) * RG_MICROSECOND;
}

static void sleeper(void *arg)
{
	long i = (long)(intptr_t)arg;
	long long mine = 0, mx = 0;
	for (long r = 0; r < rounds; r++) {
		int64_t d = dur(i, r);
		int64_t t0 = rg_now();
		rg_sleep(d);
		long long o = rg_now() - t0 - d;
		mine += o;
		if (o > mx)
			mx = o;
	}
	atomic_fetch_add(&over_total, mine);
	long long m = atomic_load(&over_max);
	while (mx > m && !atomic_compare_exchange_weak(&over_max, &m, mx))
		;
	atomic_fetch_add_explicit(&finished, 1, memory_order_release);
}

static int bench_main(void *arg)
{
	long g = *(long *)arg;
	int64_t t0 = rg_now();
	for (long i = 0; i < g; i++) {
		int rc = rg_go(sleeper, (void *)(intptr_t)i);
		if (rc != 0) {
			fprintf(stderr, "bench_timers: rg_go #%ld: %s\n", i,
				strerror(-rc));
			return 1;
		}
	}
	while (atomic_load_explicit(&finished, memory_order_acquire) < g)
		rg_sleep(RG_MILLISECOND);
	int64_t wall = rg_now() - t0;
	printf("timers: goroutines=%ld rounds=%ld wall=%.1f ms "
	       "max_oversleep=%.0f us\n",
	       g, rounds, (double)wall / 1e6,
	       (double)atomic_load(&over_max) / 1e3);
	bench_result("timers",
		     (double)atomic_load(&over_total) / ((double)g * rounds), 0,
		     "ns/sleep");
	return 0;
}

int main(int argc, char **argv)
{
	long g = 10000;
	rounds = 10;
	const struct bench_opt opts[] = {
		{ "n", &rounds, "sleeps per goroutine" },
		{ "g", &g, "goroutines" },
		{ NULL, NULL, NULL },
	};
	bench_parse(argc, argv, opts);
	int rc = rg_main(bench_main, &g);
	if (rc < 0) {
		fprintf(stderr, "bench_timers: rg_main: %s\n", strerror(-rc));
		return 1;
	}
	return rc;
}
