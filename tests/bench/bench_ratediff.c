// SPDX-License-Identifier: MIT
/*
 * bench_ratediff: the C side of tests/bench/go/ratediff.go: the same
 * random calls on rg_limiter at explicit times (same generator, same
 * order), every answer printed, for tests/bench/ratediff.sh to compare
 * with x/time/rate's.  A correctness check that lives with the
 * benchmarks because it needs the Go peer; not a timing.
 */
#include <ringo.h>
#include <stdio.h>

static uint64_t seed = 12345;

static uint64_t rnd(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return seed >> 33;
}

int main(void)
{
	const int64_t base = 1000 * RG_SECOND;
	const double rates[] = {10, 3, 0.7, 1000, 0, 7.77};
	for (int trial = 0; trial < 200; trial++) {
		double r = rates[rnd() % 6];
		int b = (int)(rnd() % 6);
		rg_limiter_t *l = rg_limiter_new(r, b);
		rg_reservation_t res[64];
		int nres = 0;
		int64_t t = 0;
		for (int step = 0; step < 60; step++) {
			t += (int64_t)(rnd() % 300) * RG_MILLISECOND - 50 * RG_MILLISECOND;
			if (t < 0)
				t = 0;
			int64_t tt = base + t;
			switch (rnd() % 7) {
			case 0:
			case 1: {
				int n = (int)(rnd() % 4);
				printf("A %s\n", rg_limiter_allow_n(l, tt, n) ? "true" : "false");
				break;
			}
			case 2: {
				int n = (int)(rnd() % 4);
				rg_reservation_t x = rg_limiter_reserve_n(l, tt, n);
				res[nres++] = x;
				printf("R %s %lld\n", x.ok ? "true" : "false",
				       (long long)rg_reservation_delay(&x, tt));
				break;
			}
			case 3:
				if (nres > 0) {
					int i = (int)(rnd() % (uint64_t)nres);
					rg_reservation_cancel(&res[i], tt);
					printf("C\n");
				}
				break;
			case 4:
				printf("T %.9g\n", rg_limiter_tokens(l, tt));
				break;
			case 5:
				rg_limiter_set_limit_at(l, tt, rates[rnd() % 6]);
				printf("L\n");
				break;
			default:
				rg_limiter_set_burst_at(l, tt, (int)(rnd() % 6));
				printf("B\n");
				break;
			}
		}
		rg_limiter_free(l);
	}
	return 0;
}
