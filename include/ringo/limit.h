// SPDX-License-Identifier: MIT
/* Part of <ringo.h>; include that instead. */
#ifndef RINGO_LIMIT_H
#define RINGO_LIMIT_H

/*
 * Rate limiters: the token bucket of golang.org/x/time/rate, the seed's
 * fixed window and its sliding refinements, a leaky bucket that spaces
 * callers out, and a token bucket per key (per client address, per user)
 * with bounded memory.
 *
 *     rg_limiter_t *lim = rg_limiter_new(2, 5);   // rate.NewLimiter(2, 5)
 *     if (rg_limiter_allow(lim)) handle(req);     // lim.Allow()
 *     rg_limiter_wait(lim, ctx);                  // lim.Wait(ctx)
 *
 * Time.  Calls that take `now` use the rg_now() clock (monotonic ns) and
 * let tests and simulations drive time; the others read rg_now().
 * Rates are events per second, doubles; RG_INF means no limit.
 *
 * Threads.  Every limiter is safe to share between goroutines and
 * foreign threads: each call holds a short internal lock (never across a
 * wait).  The calls that wait (rg_limiter_wait*, rg_leaky_wait) take a
 * context last (NULL: none).
 *
 * Errors.  Constructors return NULL with errno EINVAL for bad arguments
 * (a negative or NaN rate, a negative burst or capacity, ...) and ENOMEM.
 * Setters given bad values panic (they return nothing); waits return
 * -EINVAL.  Each call says which.
 */

#include <math.h>

/* No limit (rate.Inf): allows everything, burst ignored. */
#define RG_INF INFINITY

/* ---- token bucket (x/time/rate) ---------------------------------- */

/* A token bucket of size burst refilled at rate tokens/s, starting full
 * (rate.Limiter).  Opaque. */
typedef struct rg_limiter rg_limiter_t;

/*
 * rate.NewLimiter(rate, burst).  rate 0 allows only the initial burst
 * (and, as in x/time/rate, each event spends burst itself); burst 0
 * allows nothing unless rate is RG_INF.  NULL with errno EINVAL if rate
 * is negative or NaN or burst negative, ENOMEM.  Free with
 * rg_limiter_free.
 */
RG_API rg_limiter_t *rg_limiter_new(double rate, int burst);

/* Frees l (nothing may use it any more).  NULL is a no-op. */
RG_API void rg_limiter_free(rg_limiter_t *l);

/* lim.Allow(): rg_limiter_allow_n(l, rg_now(), 1). */
RG_API bool rg_limiter_allow(rg_limiter_t *l);

/* lim.AllowN(now, n): whether n events may happen at now; if so their
 * tokens are spent.  n == 0 is always allowed; n < 0 never. */
RG_API bool rg_limiter_allow_n(rg_limiter_t *l, int64_t now, int n);

/* lim.Wait(ctx): rg_limiter_wait_n(l, 1, ctx). */
RG_API int rg_limiter_wait(rg_limiter_t *l, rg_ctx_t *ctx);

/*
 * lim.WaitN(ctx, n): waits until n events may happen, spends their
 * tokens and returns 0.  -EINVAL if n > burst (unless the rate is
 * RG_INF) or n < 0.  -ETIMEDOUT at once, without waiting, if ctx's
 * deadline comes before the tokens would; ctx's error if it ends first
 * (the reservation is then cancelled, giving its tokens back as far as
 * later reservations allow) or had ended already.
 */
RG_API int rg_limiter_wait_n(rg_limiter_t *l, int n, rg_ctx_t *ctx);

/* lim.TokensAt(now): tokens available at now (may be negative while
 * reservations are outstanding).  Changes nothing. */
RG_API double rg_limiter_tokens(rg_limiter_t *l, int64_t now);

/* lim.Limit(), lim.Burst(). */
RG_API double rg_limiter_limit(rg_limiter_t *l);
RG_API int rg_limiter_burst(rg_limiter_t *l);

/*
 * lim.SetLimitAt(now, rate) / lim.SetBurstAt(now, burst): the bucket is
 * first brought up to date at now with the old values; the new ones
 * apply from the next call.  Panics on a negative or NaN rate or a
 * negative burst.  The plain forms use rg_now().
 */
RG_API void rg_limiter_set_limit(rg_limiter_t *l, double rate);
RG_API void rg_limiter_set_limit_at(rg_limiter_t *l, int64_t now, double rate);
RG_API void rg_limiter_set_burst(rg_limiter_t *l, int burst);
RG_API void rg_limiter_set_burst_at(rg_limiter_t *l, int64_t now, int burst);

/*
 * A reservation (rate.Reservation): n tokens promised at time_to_act.
 * A value the caller owns (nothing to free); valid while its limiter is.
 */
typedef struct rg_reservation {
	bool ok;               /* the limiter could grant it (n <= burst) */
	int tokens;            /* tokens reserved */
	int64_t time_to_act;   /* when the caller may act (rg_now clock) */
	double limit;          /* the limit when reserved */
	rg_limiter_t *lim;
} rg_reservation_t;

/* Delay returned for a reservation that is not ok (rate.InfDuration). */
#define RG_INF_DURATION INT64_MAX

/* lim.ReserveN(now, n): reserves n tokens, however far in the future
 * they come; not ok (and nothing reserved) if n > burst or n < 0.
 * rg_limiter_reserve is ReserveN(rg_now(), 1). */
RG_API rg_reservation_t rg_limiter_reserve_n(rg_limiter_t *l, int64_t now, int n);
RG_API rg_reservation_t rg_limiter_reserve(rg_limiter_t *l);

/* r.DelayFrom(now): how long to wait before acting (0: act now);
 * RG_INF_DURATION when not ok. */
RG_API int64_t rg_reservation_delay(const rg_reservation_t *r, int64_t now);

/* r.CancelAt(now): the caller will not act; gives the tokens back, less
 * those that later reservations already count on.  Does nothing for a
 * reservation that is not ok, whose time has passed, or under RG_INF.
 * Cancel at most once. */
RG_API void rg_reservation_cancel(rg_reservation_t *r, int64_t now);

/* ---- windows ------------------------------------------------------- */

enum {
	/* The seed's fixed window: a counter that restarts when a call
	 * finds its window over (the first window opens at the first
	 * call).  Lets up to 2x limit through around a restart. */
	RG_WINDOW_FIXED = 1,
	/* Sliding window counter (Cloudflare's): windows aligned to
	 * multiples of `window`; the previous window's count weighs in
	 * proportionally to how much of it still overlaps the last
	 * `window` ns.  No 2x burst at boundaries; O(1) memory. */
	RG_WINDOW_SLIDING = 2,
	/* Sliding log: the times of the last `limit` allowed events; an
	 * event is allowed while fewer than `limit` lie in (now - window,
	 * now].  Exact; at most `limit` timestamps kept. */
	RG_WINDOW_LOG = 3,
};

/* A window limiter.  Opaque. */
typedef struct rg_window rg_window_t;

/* At most `limit` events per `window` ns (0 <= limit; window > 0; for
 * RG_WINDOW_LOG limit <= 2^24, its memory).  NULL with errno EINVAL or
 * ENOMEM. */
RG_API rg_window_t *rg_window_new(int kind, int64_t limit, int64_t window);

/* Whether an event may happen at now (counted if so).  A now earlier
 * than one seen before counts as that later time. */
RG_API bool rg_window_allow(rg_window_t *w, int64_t now);

/* Frees w.  NULL is a no-op. */
RG_API void rg_window_free(rg_window_t *w);

/* ---- leaky bucket -------------------------------------------------- */

/* A queue of callers let out one at a time, 1/rate apart.  Opaque. */
typedef struct rg_leaky rg_leaky_t;

/* Turns 1/rate s apart (rate > 0; RG_INF: no spacing), at most capacity
 * callers waiting (>= 0).  NULL with errno EINVAL or ENOMEM. */
RG_API rg_leaky_t *rg_leaky_new(double rate, int capacity);

/*
 * Waits for the caller's turn: 0 when it comes.  Turns are at least
 * 1/rate apart and callers get them in arrival order; idle time earns no
 * burst (after a pause the first caller goes at once, the next 1/rate
 * later).  -EAGAIN at once when `capacity` callers already wait; the
 * ctx's error if it ends first, and then the caller's place goes to
 * those behind it.
 */
RG_API int rg_leaky_wait(rg_leaky_t *l, rg_ctx_t *ctx);

/* Frees l.  No caller may be waiting in it (that panics).  NULL is a
 * no-op. */
RG_API void rg_leaky_free(rg_leaky_t *l);

/* ---- per-key token buckets ----------------------------------------- */

/* One token bucket per key, with bounded memory.  Opaque. */
typedef struct rg_keyed_limiter rg_keyed_limiter_t;

/*
 * Token buckets of (rate, burst) per key, at most max_keys of them (>= 1)
 * at once: a key idle long enough to have refilled its bucket is
 * forgotten (nothing changes for it: it comes back full), and when
 * max_keys keys are live the least recently used one is evicted (it too
 * comes back full).  Eviction is least-recently-used within a shard of
 * the keys (64 shards once max_keys >= 4096; exact LRU below).  Memory:
 * about 120 bytes plus the key per live key.  NULL with errno EINVAL
 * (rate negative or NaN, burst negative, max_keys 0) or ENOMEM.
 */
RG_API rg_keyed_limiter_t *rg_keyed_limiter_new(double rate, int burst, size_t max_keys);

/* AllowN(now, 1) on key's bucket (len bytes, compared by content; len 0
 * is a key too).  false also when memory for a new key runs out, and for
 * a NULL key with len > 0 or a key over 4 GiB (bad arguments). */
RG_API bool rg_keyed_allow(rg_keyed_limiter_t *k, const void *key, size_t len, int64_t now);

/* Keys held now (for tests and metrics). */
RG_API size_t rg_keyed_len(rg_keyed_limiter_t *k);

/* Frees k and every bucket.  NULL is a no-op. */
RG_API void rg_keyed_limiter_free(rg_keyed_limiter_t *k);

#endif /* RINGO_LIMIT_H */
