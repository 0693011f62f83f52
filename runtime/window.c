// SPDX-License-Identifier: MIT
/*
 * window.c — window rate limiters: the seed's fixed window, Cloudflare's
 * sliding window counter, and the sliding log.  "At most limit events
 * per window ns", three ways:
 *
 *   FIXED    A counter and the start of its window.  A call that finds
 *            the window over restarts it at its own time (the seed's
 *            code: windowStart = now, requests = 0), so windows are not
 *            aligned to a grid and, as the seed shows, limit events just
 *            before a restart and limit just after pass within moments.
 *   SLIDING  Windows aligned to multiples of `window`.  The estimate at
 *            now is prev * (window - elapsed) / window + cur, where
 *            elapsed is now's offset in its window: the previous window
 *            counts for the part of it that the last `window` ns still
 *            cover (Cloudflare's "sliding window counter", which assumes
 *            the previous window's events were spread evenly).  An event
 *            is allowed while the estimate is below limit.  Computed in
 *            integers (128-bit products), so explicit times give exact
 *            answers.
 *   LOG      The times of the allowed events still inside (now - window,
 *            now], oldest first, in a ring of at most `limit` entries
 *            (grown by doubling, so memory follows use); refused events
 *            are not logged.  Exact: never more than limit events in any
 *            window-long interval.
 *
 * Time: a now earlier than the latest seen counts as the latest (the
 * monotonic clock never goes back; explicit times in a test might).
 * One rg_mutex_t per limiter around each call (see rate.c).
 *
 * Rejected: a log of every request (allowed or not), as some write-ups
 * of the sliding log do: memory grows with the offered load instead of
 * with the limit, and refused requests would keep a client refused.
 */
#include "rt.h"

#include <errno.h>
#include <stdlib.h>

#define LOG_MAX ((int64_t)1 << 24)

struct rg_window {
	rg_mutex_t lock;             /* guards the rest */
	int kind;                    /* RG_WINDOW_* (constant) */
	int64_t limit, window;       /* constant */
	int64_t latest;              /* latest now seen */
	bool started;
	/* FIXED: count in the window that began at start.
	 * SLIDING: cur in the window [start, start + window), prev in the
	 * one before. */
	int64_t start, cur, prev;
	/* LOG: a ring of times, oldest at head. */
	int64_t *ring;
	int64_t cap, head, len;
};

rg_window_t *rg_window_new(int kind, int64_t limit, int64_t window)
{
	if ((kind != RG_WINDOW_FIXED && kind != RG_WINDOW_SLIDING && kind != RG_WINDOW_LOG) ||
	    limit < 0 || window <= 0 || (kind == RG_WINDOW_LOG && limit > LOG_MAX)) {
		errno = EINVAL;
		return NULL;
	}
	rg_window_t *w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->kind = kind;
	w->limit = limit;
	w->window = window;
	return w;
}

void rg_window_free(rg_window_t *w)
{
	if (!w)
		return;
	free(w->ring);
	free(w);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool fixed_allow(rg_window_t *w, int64_t now)
{
	if (!w->started || now - w->start >= w->window) {
		w->started = true;
		w->start = now;
		w->cur = 0;
	}
	if (w->cur < w->limit) {
		w->cur++;
		return true;
	}
	return false;
}

static bool sliding_allow(rg_window_t *w, int64_t now)
{
	int64_t start = floor_div(now, w->window) * w->window;
	if (!w->started) {
		w->started = true;
		w->start = start;
	} else if (start != w->start) {
		/* The next window: the current becomes the previous; further
		 * on, both are empty. */
		w->prev = start - w->start == w->window ? w->cur : 0;
		w->cur = 0;
		w->start = start;
	}
	__int128 elapsed = now - start;
	__int128 est = (__int128)w->prev * (w->window - elapsed) + (__int128)w->cur * w->window;
	if (est < (__int128)w->limit * w->window) {
		w->cur++;
		return true;
	}
	return false;
}

static bool log_allow(rg_window_t *w, int64_t now)
{
	/* Forget what has left (now - window, now]. */
	while (w->len && w->ring[w->head] <= now - w->window) {
		w->head = w->head + 1 == w->cap ? 0 : w->head + 1;
		w->len--;
	}
	if (w->len >= w->limit)
		return false;
	if (w->len == w->cap) {
		int64_t cap = w->cap ? w->cap * 2 : 16;
		if (cap > w->limit)
			cap = w->limit;
		int64_t *r = malloc(sizeof(*r) * (size_t)cap);
		if (!r)
			return false;  /* out of memory: refuse, never overrun */
		for (int64_t i = 0; i < w->len; i++)
			r[i] = w->ring[(w->head + i) % w->cap];
		free(w->ring);
		w->ring = r;
		w->cap = cap;
		w->head = 0;
	}
	w->ring[(w->head + w->len) % w->cap] = now;
	w->len++;
	return true;
}

bool rg_window_allow(rg_window_t *w, int64_t now)
{
	bool ok;
	rg_mutex_lock(&w->lock);
	if (w->started || w->len) {
		if (now < w->latest)
			now = w->latest;
	}
	w->latest = now;
	switch (w->kind) {
	case RG_WINDOW_FIXED:
		ok = fixed_allow(w, now);
		break;
	case RG_WINDOW_SLIDING:
		ok = sliding_allow(w, now);
		break;
	default:
		w->started = true;
		ok = log_allow(w, now);
		break;
	}
	rg_mutex_unlock(&w->lock);
	return ok;
}
