// SPDX-License-Identifier: MIT
/*
 * mutex: 4 goroutines incrementing one counter under an rg_mutex_t, N/4
 * increments each; ns per increment.  RINGO_PROCS comes from the
 * environment (the harness sets 2).  Mirrors go/mutex.go.
 */
#include <ringo.h>

#include "bench.h"

static rg_mutex_t mu;
static long counter, n;
static rg_waitgroup_t wg;

static void worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < n / 4; i++) {
		rg_mutex_lock(&mu);
		counter++;
		rg_mutex_unlock(&mu);
	}
	rg_wg_done(&wg);
}

static int bench_main(void *arg)
{
	(void)arg;
	int64_t t0 = rg_now();
	rg_wg_add(&wg, 4);
	for (int i = 0; i < 4; i++)
		rg_go(worker, NULL);
	rg_wg_wait(&wg);
	int64_t d = rg_now() - t0;
	if (counter != (n / 4) * 4) {
		fprintf(stderr, "bench_mutex: counter %ld, want %ld\n", counter, (n / 4) * 4);
		return 1;
	}
	bench_result("mutex", (double)d / (double)counter, 1, "ns/op");
	return 0;
}

int main(int argc, char **argv)
{
	n = 10000000;
	const struct bench_opt opts[] = {{"n", &n, "increments in total"}, {NULL, NULL, NULL}};
	bench_parse(argc, argv, opts);
	return rg_main(bench_main, NULL);
}
