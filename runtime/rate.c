// SPDX-License-Identifier: MIT
/*
 * rate.c — the token bucket of golang.org/x/time/rate (v0.3.0, the
 * version Debian ships), step for step: the same state (tokens as a
 * double, the time of the last update, the time of the last event), the
 * same lazy refill on each call, the same special cases (an infinite
 * rate allows everything and ignores burst; a zero rate spends burst
 * itself), the same unit conversions (Duration.Seconds(), and a float
 * product truncated to whole nanoseconds), so that a sequence of calls
 * with explicit times gives Go's answers.
 *
 * Differences, all at the edges of the C API: times are int64_t ns on
 * the rg_now() clock (Go's zero Time, "never updated", is INT64_MIN here,
 * and t - INT64_MIN saturates as Go's Sub does, so a new limiter starts
 * full as Go's does); negative n is refused instead of minting tokens;
 * reservations are values; a reservation cancelled once cannot be
 * cancelled again (its tokens are zeroed).
 *
 * Locking: one rg_mutex_t per limiter around each call's arithmetic,
 * never held across a wait (x/time/rate's sync.Mutex, and ours: it
 * spins briefly, then parks the goroutine, so four goroutines hammering
 * one limiter on two Ps do not block threads the way a runtime lock,
 * which sleeps the thread with its P, would on a loaded machine).
 *
 * Refusals without the lock (rg_limiter_allow_n).  A refused call
 * changes nothing, so an Allow that a consistent snapshot of the state
 * refuses is the locked call run at the snapshot.  Every write of the
 * fields a snapshot reads (burst, limit, tokens, last) happens under the
 * lock between two increments of `seq` (odd while a writer is at it), as
 * a seqlock's; a reader takes seq, the fields (relaxed atomic loads: on
 * x86 plain moves), an acquire fence and seq again, and answers "refused"
 * only if seq was even and unchanged and the same arithmetic as
 * reserve's refuses.  Anything else (an allow, a torn snapshot, the
 * special rates) takes the lock as before.  A refused Allow, the common
 * call on a busy limiter, then costs no atomic read-modify-write and does
 * not write the limiter's cache line, so 4 goroutines hammering one
 * limiter share it read-only until a token comes.
 *
 * Rejected: a lock-free GCRA encoding (one int64 "theoretical arrival
 * time" updated by CAS).  It is the same bucket for Allow, but x/time/rate
 * keeps tokens as a float and the time of the last event for Cancel; to
 * give Go's answers exactly the state must stay as Go's, and three words
 * do not fit one CAS.  The seqlock keeps Go's state and only reads it.
 */
#include "bucket.h"

#include <errno.h>
#include <stdlib.h>

#define NEVER INT64_MIN

struct rg_limiter {
	rg_mutex_t lock;             /* guards the rest */
	_Atomic uint32_t seq;        /* odd while a writer (lock held) changes
					the fields below; bumped twice per
					change (set_begin, set_end) */
	/* Written under lock between set_begin and set_end, with relaxed
	 * atomic stores (lock-free readers load them, refused_fast); read
	 * plainly under the lock. */
	int burst;
	double limit;                /* events/s; RG_INF (or >= DBL_MAX): none */
	double tokens;
	int64_t last;                /* last update of tokens; NEVER */
	int64_t last_event;          /* latest event, past or future (lock only) */
};

/* ---- the seqlock around the fields (lock held for the writes) ------- */

#define SET(field, v)                                                    \
	do {                                                             \
		__typeof__(field) v_ = (v);                              \
		__atomic_store(&(field), &v_, __ATOMIC_RELAXED);         \
	} while (0)
#define GET(field)                                                       \
	({                                                               \
		__typeof__(field) v_;                                    \
		__atomic_load(&(field), &v_, __ATOMIC_RELAXED);          \
		v_;                                                      \
	})

static inline void set_begin(rg_limiter_t *l)
{
	uint32_t s = atomic_load_explicit(&l->seq, memory_order_relaxed);
	atomic_store_explicit(&l->seq, s + 1, memory_order_relaxed);
	/* The odd seq is seen before any field it covers changes. */
	atomic_thread_fence(memory_order_release);
}

static inline void set_end(rg_limiter_t *l)
{
	uint32_t s = atomic_load_explicit(&l->seq, memory_order_relaxed);
	/* Release: the fields' new values before the even seq. */
	atomic_store_explicit(&l->seq, s + 1, memory_order_release);
}

/*
 * Whether duration_from_tokens(limit, deficit) > 0, for a finite
 * limit > 0 and deficit > 0, i.e. whether the call must wait.  Without
 * the division when the deficit is over two nanoseconds' worth of tokens:
 * then deficit/limit >= 2e-9 within a few ulps and 1e9 times it is over 1
 * however it rounds (a limit under 1e-290 would make limit*2e-9
 * subnormal, so those divide).  Otherwise exactly as Go: a deficit
 * worth under a nanosecond truncates to a wait of 0 and is allowed.
 */
static inline bool must_wait(double limit, double deficit)
{
	if (limit >= 1e-290 && deficit >= limit * 2e-9)
		return true;
	return duration_from_tokens(limit, deficit) > 0;
}

/*
 * True when a consistent snapshot of l refuses allow_n(t, n): the answer
 * the locked reserve would give at that instant, with nothing to write.
 * False means "take the lock" (an allow, a special rate, a writer in the
 * way), never "allowed".
 */
static inline bool refused_fast(rg_limiter_t *l, int64_t t, int n)
{
	uint32_t s0 = atomic_load_explicit(&l->seq, memory_order_acquire);
	if (s0 & 1)
		return false;
	int burst = GET(l->burst);
	double limit = GET(l->limit);
	double tokens = GET(l->tokens);
	int64_t last = GET(l->last);
	/* The loads above before the second look at seq. */
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&l->seq, memory_order_relaxed) != s0)
		return false;
	if (is_inf(limit) || limit == 0)
		return false;
	if (n > burst)
		return true;                 /* reserve: RES_BURST */
	if (t < last)
		last = t;
	tokens = rg__bucket_advance(tokens, limit, burst, sub_sat(t, last)) - (double)n;
	return tokens < 0 && must_wait(limit, -tokens);  /* RES_WAIT at max_wait 0 */
}

/* Go's advance: the tokens at t; t itself is returned unchanged. */
static inline double advance(const rg_limiter_t *l, int64_t t)
{
	int64_t last = l->last;
	if (t < last)
		last = t;
	return rg__bucket_advance(l->tokens, l->limit, l->burst, sub_sat(t, last));
}

rg_limiter_t *rg_limiter_new(double rate, int burst)
{
	if (bad_rate(rate) || burst < 0) {
		errno = EINVAL;
		return NULL;
	}
	rg_limiter_t *l = calloc(1, sizeof(*l));
	if (!l) {
		errno = ENOMEM;
		return NULL;
	}
	l->limit = rate;
	l->burst = burst;
	l->last = NEVER;
	l->last_event = NEVER;
	return l;
}

void rg_limiter_free(rg_limiter_t *l)
{
	free(l);
}

enum { RES_OK, RES_BURST, RES_WAIT };

/* Go's reserveN.  *why says what refused it. */
static rg_reservation_t reserve(rg_limiter_t *l, int64_t t, int n, int64_t max_wait,
				int *why)
{
	rg_reservation_t r = {.lim = l};
	*why = RES_OK;
	if (n < 0) {
		*why = RES_BURST;
		return r;
	}
	rg_mutex_lock(&l->lock);
	if (is_inf(l->limit)) {
		r.ok = true;
		r.tokens = n;
		r.time_to_act = t;
	} else if (l->limit == 0) {
		/* Go's: burst itself is spent, and the reservation records
		 * what is left of it. */
		if (l->burst >= n) {
			r.ok = true;
			set_begin(l);
			SET(l->burst, l->burst - n);
			set_end(l);
		} else {
			*why = RES_BURST;
		}
		r.tokens = l->burst;
		r.time_to_act = t;
	} else {
		double tokens = advance(l, t) - (double)n;
		int64_t wait = 0;
		if (tokens < 0)
			wait = duration_from_tokens(l->limit, -tokens);
		r.limit = l->limit;
		if (n > l->burst)
			*why = RES_BURST;
		else if (wait > max_wait)
			*why = RES_WAIT;
		if (*why == RES_OK) {
			r.ok = true;
			r.tokens = n;
			r.time_to_act = add_sat(t, wait);
			set_begin(l);
			SET(l->last, t);
			SET(l->tokens, tokens);
			l->last_event = r.time_to_act;
			set_end(l);
		}
	}
	rg_mutex_unlock(&l->lock);
	return r;
}

bool rg_limiter_allow_n(rg_limiter_t *l, int64_t now, int n)
{
	if (n >= 0 && refused_fast(l, now, n))
		return false;
	int why;
	return reserve(l, now, n, 0, &why).ok;
}

bool rg_limiter_allow(rg_limiter_t *l)
{
	return rg_limiter_allow_n(l, rg__nanotime(), 1);
}

rg_reservation_t rg_limiter_reserve_n(rg_limiter_t *l, int64_t now, int n)
{
	int why;
	return reserve(l, now, n, RG_INF_DURATION, &why);
}

rg_reservation_t rg_limiter_reserve(rg_limiter_t *l)
{
	return rg_limiter_reserve_n(l, rg__nanotime(), 1);
}

int64_t rg_reservation_delay(const rg_reservation_t *r, int64_t now)
{
	if (!r->ok)
		return RG_INF_DURATION;
	int64_t d = sub_sat(r->time_to_act, now);
	return d < 0 ? 0 : d;
}

void rg_reservation_cancel(rg_reservation_t *r, int64_t t)
{
	if (!r->ok)
		return;
	rg_limiter_t *l = r->lim;
	rg_mutex_lock(&l->lock);
	if (is_inf(l->limit) || r->tokens == 0 || r->time_to_act < t)
		goto out;
	/* Tokens reserved after r (between r's time and the last event)
	 * are not ours to give back. */
	double restore = (double)r->tokens -
		tokens_from_duration(r->limit, sub_sat(l->last_event, r->time_to_act));
	if (restore <= 0)
		goto out;
	double tokens = advance(l, t) + restore;
	if (tokens > (double)l->burst)
		tokens = (double)l->burst;
	set_begin(l);
	SET(l->last, t);
	SET(l->tokens, tokens);
	if (r->time_to_act == l->last_event) {
		int64_t prev = add_sat(r->time_to_act,
				       duration_from_tokens(r->limit, (double)-r->tokens));
		if (!(prev < t))
			l->last_event = prev;
	}
	set_end(l);
out:
	r->tokens = 0;  /* a second cancel does nothing */
	rg_mutex_unlock(&l->lock);
}

int rg_limiter_wait_n(rg_limiter_t *l, int n, rg_ctx_t *ctx)
{
	int64_t t = rg__nanotime();
	rg_mutex_lock(&l->lock);
	int burst = l->burst;
	double limit = l->limit;
	rg_mutex_unlock(&l->lock);

	if (n < 0 || (n > burst && !is_inf(limit)))
		return -EINVAL;
	int err = rg_ctx_err(ctx);
	if (err)
		return err;
	int64_t max_wait = RG_INF_DURATION, deadline;
	if (rg_ctx_deadline(ctx, &deadline))
		max_wait = sub_sat(deadline, t);
	int why;
	rg_reservation_t r = reserve(l, t, n, max_wait, &why);
	if (!r.ok)
		return why == RES_WAIT ? -ETIMEDOUT : -EINVAL;
	int64_t delay = rg_reservation_delay(&r, t);
	if (delay == 0)
		return 0;
	err = rg__sleep_ctx(delay, ctx);
	if (err)
		rg_reservation_cancel(&r, rg__nanotime());
	return err;
}

int rg_limiter_wait(rg_limiter_t *l, rg_ctx_t *ctx)
{
	return rg_limiter_wait_n(l, 1, ctx);
}

double rg_limiter_tokens(rg_limiter_t *l, int64_t now)
{
	rg_mutex_lock(&l->lock);
	double tokens = advance(l, now);
	rg_mutex_unlock(&l->lock);
	return tokens;
}

double rg_limiter_limit(rg_limiter_t *l)
{
	rg_mutex_lock(&l->lock);
	double r = l->limit;
	rg_mutex_unlock(&l->lock);
	return r;
}

int rg_limiter_burst(rg_limiter_t *l)
{
	rg_mutex_lock(&l->lock);
	int b = l->burst;
	rg_mutex_unlock(&l->lock);
	return b;
}

void rg_limiter_set_limit_at(rg_limiter_t *l, int64_t now, double rate)
{
	if (bad_rate(rate))
		rg_panic("rate: limit %g is negative or NaN", rate);
	rg_mutex_lock(&l->lock);
	double tokens = advance(l, now);
	set_begin(l);
	SET(l->tokens, tokens);
	SET(l->last, now);
	SET(l->limit, rate);
	set_end(l);
	rg_mutex_unlock(&l->lock);
}

void rg_limiter_set_limit(rg_limiter_t *l, double rate)
{
	rg_limiter_set_limit_at(l, rg__nanotime(), rate);
}

void rg_limiter_set_burst_at(rg_limiter_t *l, int64_t now, int burst)
{
	if (burst < 0)
		rg_panic("rate: burst %d is negative", burst);
	rg_mutex_lock(&l->lock);
	double tokens = advance(l, now);
	set_begin(l);
	SET(l->tokens, tokens);
	SET(l->last, now);
	SET(l->burst, burst);
	set_end(l);
	rg_mutex_unlock(&l->lock);
}

void rg_limiter_set_burst(rg_limiter_t *l, int burst)
{
	rg_limiter_set_burst_at(l, rg__nanotime(), burst);
}
