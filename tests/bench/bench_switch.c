// SPDX-License-Identifier: MIT
/*
 * switch: two goroutines on one P calling rg_yield() in a loop; reports ns
 * per switch = elapsed / total rg_yield calls. Mirrors go/switch.go
 * (GOMAXPROCS(1) and runtime.Gosched()). The main goroutine is one of the
 * two, so exactly two goroutines are runnable. RINGO_PROCS is forced to 1
 * here, as the Go peer calls runtime.GOMAXPROCS(1) itself.
 */
#include <ringo.h>
#include <stdatomic.h>

#include "bench.h"

static long iters;
static atomic_int partner_done;

static void partner(void *arg)
{
	(void)arg;
	for (long i = 0; i < iters; i++)
		rg_yield();
	atomic_store_explicit(&partner_done, 1, memory_order_release);
}

static int bench_main(void *arg)
{
	(void)arg;
	if (rg_procs() != 1)
		fprintf(stderr, "bench_switch: warning: %d Ps, want 1\n",
			rg_procs());
	int64_t t0 = rg_now();
	int rc = rg_go(partner, NULL);
	if (rc != 0) {
		fprintf(stderr, "bench_switch: rg_go: %s\n", strerror(-rc));
		return 1;
	}
	for (long i = 0; i < iters; i++)
		rg_yield();
	long extra = 0;
	while (!atomic_load_explicit(&partner_done, memory_order_acquire)) {
		rg_yield();
		extra++;
	}
	int64_t d = rg_now() - t0;
	bench_result("switch", (double)d / (double)(2 * iters + extra), 1,
		     "ns/op");
	return 0;
}

int main(int argc, char **argv)
{
	iters = 2000000;
	const struct bench_opt opts[] = {
		{ "n", &iters, "rg_yield calls per goroutine" },
		{ NULL, NULL, NULL },
	};
	bench_parse(argc, argv, opts);
	setenv("RINGO_PROCS", "1", 1);
	int rc = rg_main(bench_main, NULL);
	if (rc < 0) {
		fprintf(stderr, "bench_switch: rg_main: %s\n", strerror(-rc));
		return 1;
	}
	return rc;
}
