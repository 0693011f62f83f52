// SPDX-License-Identifier: MIT
/*
 * spawn: start N goroutines that each signal completion, wait for all;
 * reports ns per goroutine (whole batch / N). Mirrors go/spawn.go, where
 * each goroutine calls wg.Done(). Until rg_waitgroup_t exists each
 * goroutine bumps a C11 atomic counter and the main goroutine waits with
 * rg_yield() until the count is reached. As in the Go peer, one batch of
 * N/10 runs first as a warm-up (stack caches, run-queue growth).
 */
#include <ringo.h>
#include <stdatomic.h>

#include "bench.h"

static atomic_long finished;

static void child(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&finished, 1, memory_order_release);
}

/* Returns the batch's elapsed ns, or -1 if rg_go failed. */
static int64_t batch(long n)
{
	atomic_store(&finished, 0);
	int64_t t0 = rg_now();
	for (long i = 0; i < n; i++) {
		int rc = rg_go(child, NULL);
		if (rc != 0) {
			fprintf(stderr, "bench_spawn: rg_go #%ld: %s\n", i,
				strerror(-rc));
			return -1;
		}
	}
	while (atomic_load_explicit(&finished, memory_order_acquire) < n)
		rg_yield();
	return rg_now() - t0;
}

static int bench_main(void *arg)
{
	long n = *(long *)arg;
	if (batch(n / 10 > 0 ? n / 10 : 1) < 0)
		return 1;
	int64_t d = batch(n);
	if (d < 0)
		return 1;
	bench_result("spawn", (double)d / (double)n, 1, "ns/op");
	return 0;
}

int main(int argc, char **argv)
{
	long n = 200000;
	const struct bench_opt opts[] = {
		{ "n", &n, "goroutines to start" },
		{ NULL, NULL, NULL },
	};
	bench_parse(argc, argv, opts);
	int rc = rg_main(bench_main, &n);
	if (rc < 0) {
		fprintf(stderr, "bench_spawn: rg_main: %s\n", strerror(-rc));
		return 1;
	}
	return rc;
}
