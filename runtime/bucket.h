// SPDX-License-Identifier: MIT
/*
 * bucket.h — token-bucket arithmetic as golang.org/x/time/rate does it,
 * shared by the limiter (rate.c) and the per-key limiter (keyed.c) so
 * that both give Go's answers to the nanosecond.
 */
#ifndef RG_BUCKET_H
#define RG_BUCKET_H

#include <float.h>
#include <math.h>

#include "rt.h"

static inline bool is_inf(double limit)
{
	return limit >= DBL_MAX;  /* RG_INF, and Go's Inf (MaxFloat64) */
}

static inline bool bad_rate(double r)
{
	return isnan(r) || r < 0;
}

/* t - u, saturating as Go's Time.Sub does. */
static inline int64_t sub_sat(int64_t t, int64_t u)
{
	int64_t d;
	if (__builtin_sub_overflow(t, u, &d))
		return t > u ? INT64_MAX : INT64_MIN;
	return d;
}

static inline int64_t add_sat(int64_t t, int64_t d)
{
	int64_t r;
	if (__builtin_add_overflow(t, d, &r))
		return d > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* Go's Duration.Seconds(). */
static inline double seconds(int64_t d)
{
	int64_t sec = d / RG_SECOND, nsec = d % RG_SECOND;
	return (double)sec + (double)nsec / 1e9;
}

/* Go's Limit.tokensFromDuration. */
static inline double tokens_from_duration(double limit, int64_t d)
{
	if (limit <= 0)
		return 0;
	if (is_inf(limit))  /* Go: d.Seconds() * MaxFloat64 */
		return d > 0 ? INFINITY : 0;
	return seconds(d) * limit;
}

/* Go's Limit.durationFromTokens: a float product truncated to ns. */
static inline int64_t duration_from_tokens(double limit, double tokens)
{
	if (limit <= 0)
		return RG_INF_DURATION;
	double ns = 1e9 * (tokens / limit);
	if (ns >= 9.2233720368547758e18)
		return INT64_MAX;
	if (ns <= -9.2233720368547758e18)
		return INT64_MIN;
	return (int64_t)ns;
}

/* Go's advance: tokens after `elapsed` ns (>= 0) at limit, capped at
 * burst. */
static inline double rg__bucket_advance(double tokens, double limit, int burst, int64_t elapsed)
{
	tokens += tokens_from_duration(limit, elapsed);
	if (tokens > (double)burst)
		tokens = (double)burst;
	return tokens;
}

#endif
