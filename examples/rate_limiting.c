// SPDX-License-Identifier: MIT
/*
 * rate_limiting — golang.org/x/time/rate's token bucket, and the seed's
 * fixed window:
 *
 *     limiter := rate.NewLimiter(2, 5) // 2 events/sec, burst 5
 *     if limiter.Allow() { ... } else { ... }
 *     err := limiter.Wait(ctx)         // blocks until a token is available
 *
 * rg_limiter_new(rate, burst) is rate.NewLimiter; rg_limiter_allow is
 * Allow(), rg_limiter_wait is Wait(ctx).  The seed spaces its requests
 * with time.Sleep(200ms) and prints time.Now(); the calls that take a
 * time (AllowN(now, n), the windows' allow) let this program say when
 * each request comes instead of sleeping, so the answers are the same
 * on every run.  Only the Wait part waits for real.
 */
#include <ringo.h>
#include <stdio.h>
#include <string.h>

static int run(void *arg)
{
	(void)arg;
	int64_t t0 = rg_now();

	/* Allow: a burst of 5, then 2 tokens a second.  One request every
	 * 200 ms: the burst carries the first ones, then the bucket is
	 * empty and a request passes only when 0.4 s have refilled a token. */
	rg_limiter_t *lim = rg_limiter_new(2, 5);
	for (int i = 1; i <= 10; i++) {
		int64_t now = t0 + (i - 1) * 200 * RG_MILLISECOND;
		printf("Request %d at %4d ms %s\n", i, (int)((now - t0) / RG_MILLISECOND),
		       rg_limiter_allow_n(lim, now, 1) ? "allowed" : "rejected");
	}
	rg_limiter_free(lim);

	/* Wait: 20 a second, burst 3.  The first 3 pass at once, the other
	 * 3 one token (50 ms) apart. */
	lim = rg_limiter_new(20, 3);
	int64_t start = rg_now();
	for (int i = 1; i <= 6; i++) {
		int err = rg_limiter_wait(lim, NULL);
		if (err) {
			printf("Error: %d\n", err);
			continue;
		}
		printf("Request %d processed\n", i);
	}
	printf("6 requests took at least 150 ms: %s\n",
	       rg_now() - start >= 150 * RG_MILLISECOND ? "yes" : "no");
	rg_limiter_free(lim);

	/* Per user: one bucket per key (rate 1, burst 3), as the seed's
	 * map[string]*rate.Limiter, with bounded memory. */
	rg_keyed_limiter_t *users = rg_keyed_limiter_new(1, 3, 1024);
	const char *who[] = {"alice", "bob", "alice", "bob", "alice", "alice", "alice", "alice"};
	for (int i = 0; i < 8; i++) {
		int64_t now = t0 + i * 200 * RG_MILLISECOND;
		printf("  %-5s %s\n", who[i],
		       rg_keyed_allow(users, who[i], strlen(who[i]), now) ? "allowed" : "blocked");
	}
	rg_keyed_limiter_free(users);

	/* The seed's fixed window: 5 requests per second.  Its requests are
	 * 200 ms apart plus what Sleep overshoots, and its output has the
	 * 6th land inside the first window; 190 ms apart does that
	 * exactly: the 6th (at 950 ms) is denied, the 7th (1140 ms) opens
	 * the next window. */
	rg_window_t *win = rg_window_new(RG_WINDOW_FIXED, 5, RG_SECOND);
	for (int i = 1; i <= 10; i++) {
		int64_t now = t0 + (i - 1) * 190 * RG_MILLISECOND;
		printf("Request %s %d\n", rg_window_allow(win, now) ? "allowed" : "denied", i);
	}
	rg_window_free(win);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
