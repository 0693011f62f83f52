// SPDX-License-Identifier: MIT
/*
 * workerpool: a producer feeds N jobs into a jobs channel (capacity 256);
 * 2 x P workers each answer job*2+1 on a results channel (capacity 256);
 * main collects all N results; ns per job.  Mirrors go/workerpool.go.
 */
#include <ringo.h>

#include "bench.h"

static rg_chan_t *jobs, *results;
static long n;
static rg_waitgroup_t wg;

static void producer(void *arg)
{
	(void)arg;
	for (long i = 0; i < n; i++) {
		long j = i;
		rg_chan_send(jobs, &j);
	}
	rg_chan_close(jobs);
}

static void worker(void *arg)
{
	(void)arg;
	long j;
	while (rg_chan_recv(jobs, &j)) {
		long r = j * 2 + 1;
		rg_chan_send(results, &r);
	}
	rg_wg_done(&wg);
}

static void closer(void *arg)
{
	(void)arg;
	rg_wg_wait(&wg);
	rg_chan_close(results);
}

static int bench_main(void *arg)
{
	(void)arg;
	jobs = RG_CHAN(long, 256);
	results = RG_CHAN(long, 256);
	int workers = 2 * rg_procs();
	int64_t t0 = rg_now();
	rg_wg_add(&wg, workers);
	for (int i = 0; i < workers; i++)
		rg_go(worker, NULL);
	rg_go(producer, NULL);
	rg_go(closer, NULL);
	long got = 0, sum = 0, r;
	while (rg_chan_recv(results, &r)) {
		got++;
		sum += r;
	}
	int64_t d = rg_now() - t0;
	if (got != n || sum != n * n) {
		fprintf(stderr, "bench_workerpool: got %ld results (sum %ld), want %ld\n", got, sum, n);
		return 1;
	}
	bench_result("workerpool", (double)d / (double)n, 1, "ns/op");
	return 0;
}

int main(int argc, char **argv)
{
	n = 1000000;
	const struct bench_opt opts[] = {{"n", &n, "jobs"}, {NULL, NULL, NULL}};
	bench_parse(argc, argv, opts);
	return rg_main(bench_main, NULL);
}
