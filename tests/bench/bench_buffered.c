// SPDX-License-Identifier: MIT
/*
 * buffered: one producer, one consumer, a channel of int with capacity
 * 1024; ns per element.  Mirrors go/buffered.go.
 */
#include <ringo.h>

#include "bench.h"

static rg_chan_t *ch;
static long n;

static void producer(void *arg)
{
	(void)arg;
	for (long i = 0; i < n; i++) {
		int v = (int)i;
		rg_chan_send(ch, &v);
	}
	rg_chan_close(ch);
}

static int bench_main(void *arg)
{
	(void)arg;
	ch = RG_CHAN(int, 1024);
	int64_t t0 = rg_now();
	rg_go(producer, NULL);
	long got = 0;
	int v;
	while (rg_chan_recv(ch, &v))
		got++;
	int64_t d = rg_now() - t0;
	if (got != n) {
		fprintf(stderr, "bench_buffered: got %ld of %ld\n", got, n);
		return 1;
	}
	bench_result("buffered", (double)d / (double)n, 1, "ns/op");
	return 0;
}

int main(int argc, char **argv)
{
	n = 5000000;
	const struct bench_opt opts[] = {{"n", &n, "elements"}, {NULL, NULL, NULL}};
	bench_parse(argc, argv, opts);
	return rg_main(bench_main, NULL);
}
