// SPDX-License-Identifier: MIT
/*
 * pingpong: round trip over unbuffered channels between two goroutines
 * (main sends on ping, an echo goroutine answers on pong); ns per round
 * trip.  Mirrors go/pingpong.go.
 */
#include <ringo.h>

#include "bench.h"

static rg_chan_t *ping, *pong;

static void echo(void *arg)
{
	(void)arg;
	int v;
	while (rg_chan_recv(ping, &v))
		rg_chan_send(pong, &v);
}

static int bench_main(void *arg)
{
	long n = *(long *)arg;
	ping = RG_CHAN(int, 0);
	pong = RG_CHAN(int, 0);
	rg_go(echo, NULL);
	int64_t t0 = rg_now();
	for (long i = 0; i < n; i++) {
		int v = (int)i;
		rg_chan_send(ping, &v);
		rg_chan_recv(pong, &v);
	}
	int64_t d = rg_now() - t0;
	rg_chan_close(ping);
	bench_result("pingpong", (double)d / (double)n, 1, "ns/op");
	return 0;
}

int main(int argc, char **argv)
{
	long n = 500000;
	const struct bench_opt opts[] = {{"n", &n, "round trips"}, {NULL, NULL, NULL}};
	bench_parse(argc, argv, opts);
	return rg_main(bench_main, &n);
}
