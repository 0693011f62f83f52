// SPDX-License-Identifier: MIT
/*
 * select: one consumer selecting over two buffered channels (capacity
 * 1024 each) fed by two producers, N/2 elements each; ns per received
 * element.  Mirrors go/select.go.
 */
#include <ringo.h>

#include "bench.h"

static rg_chan_t *a, *b;
static long n;

static void producer(void *arg)
{
	rg_chan_t *c = arg;
	for (long i = 0; i < n / 2; i++) {
		int v = (int)i;
		rg_chan_send(c, &v);
	}
}

static int bench_main(void *arg)
{
	(void)arg;
	a = RG_CHAN(int, 1024);
	b = RG_CHAN(int, 1024);
	int64_t t0 = rg_now();
	rg_go(producer, a);
	rg_go(producer, b);
	int va, vb;
	rg_case_t cases[] = {RG_RECV(a, &va), RG_RECV(b, &vb)};
	for (long i = 0; i < (n / 2) * 2; i++)
		rg_select(cases, 2, true);
	int64_t d = rg_now() - t0;
	bench_result("select", (double)d / (double)n, 1, "ns/op");
	return 0;
}

int main(int argc, char **argv)
{
	n = 2000000;
	const struct bench_opt opts[] = {{"n", &n, "elements in total"}, {NULL, NULL, NULL}};
	bench_parse(argc, argv, opts);
	return rg_main(bench_main, NULL);
}
