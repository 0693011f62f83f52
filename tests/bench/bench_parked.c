// SPDX-License-Identifier: MIT
/*
 * parked: N goroutines (default 1,000,000) parked; reports resident memory
 * per goroutine in bytes = (VmRSS once all are parked - VmRSS before) / N,
 * from /proc/self/status. Mirrors go/parked.go, where the goroutines park
 * on a channel receive. Until channels exist each goroutine bumps a C11
 * atomic counter and parks in rg_sleep(1 hour); main polls with
 * rg_sleep(1 ms) until all have counted, then sleeps 10 ms more (as the Go
 * peer does) so the last ones have really parked. The page-table cost
 * (VmPTE delta per goroutine) is printed on an informational line.
 *
 * 1M goroutines need the runtime to keep stacks in few mappings: Linux
 * allows vm.max_map_count (65530 by default) VMAs per process, and a
 * guard page made with mprotect splits a mapping in two.
 */
#include <ringo.h>
#include <stdatomic.h>

#include "bench.h"

static atomic_long parked;
static rg_chan_t *never;

/* Parks on a channel receive, as the Go peer's goroutines do. */
static void sleeper(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&parked, 1, memory_order_release);
	rg_chan_recv(never, NULL);
}

static int bench_main(void *arg)
{
	long n = *(long *)arg;
	never = rg_chan_make(0, 0);
	long long rss0 = bench_status_bytes("VmRSS");
	long long pte0 = bench_status_bytes("VmPTE");
	int64_t t0 = rg_now();
	for (long i = 0; i < n; i++) {
		int rc = rg_go(sleeper, NULL);
		if (rc != 0) {
			FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
			long maps = -1;
			if (f) {
				if (fscanf(f, "%ld", &maps) != 1)
					maps = -1;
				fclose(f);
			}
			fprintf(stderr,
				"bench_parked: rg_go #%ld: %s "
				"(vm.max_map_count=%ld)\n",
				i, strerror(-rc), maps);
			return 1;
		}
	}
	while (atomic_load_explicit(&parked, memory_order_acquire) < n)
		rg_sleep(RG_MILLISECOND);
	rg_sleep(10 * RG_MILLISECOND);
	int64_t d = rg_now() - t0;
	long long rss1 = bench_status_bytes("VmRSS");
	long long pte1 = bench_status_bytes("VmPTE");

	printf("parked: n=%ld spawn+park=%.0f ms goroutines=%d rss_before=%lld "
	       "rss_after=%lld pte_per_g=%.1f bytes\n",
	       n, (double)d / 1e6, rg_num_goroutines(), rss0, rss1,
	       (double)(pte1 - pte0) / (double)n);
	bench_result("parked", (double)(rss1 - rss0) / (double)n, 0, "bytes/g");
	return 0;
}

int main(int argc, char **argv)
{
	long n = 1000000;
	const struct bench_opt opts[] = {
		{ "n", &n, "goroutines to park" },
		{ NULL, NULL, NULL },
	};
	bench_parse(argc, argv, opts);
	int rc = rg_main(bench_main, &n);
	if (rc < 0) {
		fprintf(stderr, "bench_parked: rg_main: %s\n", strerror(-rc));
		return 1;
	}
	return rc;
}
