// SPDX-License-Identifier: MIT
/*
 * flags.c — the value syntaxes of ringo-pool's flags.
 *
 * Durations are Go's time.ParseDuration: a sequence of decimal numbers,
 * each with an optional fraction and a unit ("ns", "us", "µs", "ms",
 * "s", "m", "h"), e.g. "300ms", "1.5s", "1h30m"; "0" alone needs no
 * unit.  A leading '-' or '+' is accepted as Go does, but the flags
 * that take durations reject negative values themselves.
 *
 * Sizes are decimal byte counts with an optional suffix in powers of
 * 1024: k/K/KiB, M/MiB, G/GiB ("1MiB", "64k").
 */
#include "server.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	double ns;
} units[] = {
	{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3}, {"ms", 1e6},
	{"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
};

int parse_duration(const char *s, int64_t *ns)
{
	double total = 0;
	bool neg = false;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		if (!((*s >= '0' && *s <= '9') || *s == '.'))
			return -EINVAL;
		char *end;
		double v = strtod(s, &end);
		if (end == s || (end - s == 1 && *s == '.'))
			return -EINVAL;
		/* strtod takes exponents and hex; Go's syntax does not. */
		for (const char *p = s; p < end; p++)
			if (!((*p >= '0' && *p <= '9') || *p == '.'))
				return -EINVAL;
		s = end;
		size_t best = 0;
		double mul = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].name);
			if (n > best && strncmp(s, units[i].name, n) == 0) {
				best = n;
				mul = units[i].ns;
			}
		}
		if (!best)
			return -EINVAL; /* a number without a unit */
		s += best;
		total += v * mul;
		if (total > 9.2e18)
			return -EINVAL;
	}
	*ns = (int64_t)llround(neg ? -total : total);
	return 0;
}

/* Go's Duration.String, shortened: "1h2m3s", "1.5s", "300ms", "0s". */
const char *format_duration(int64_t ns, char *buf, size_t n)
{
	if (ns == 0) {
		snprintf(buf, n, "0s");
	} else if (ns % RG_SECOND && ns < RG_SECOND) {
		if (ns % RG_MILLISECOND == 0)
			snprintf(buf, n, "%lldms", (long long)(ns / RG_MILLISECOND));
		else if (ns % RG_MICROSECOND == 0)
			snprintf(buf, n, "%lldus", (long long)(ns / RG_MICROSECOND));
		else
			snprintf(buf, n, "%lldns", (long long)ns);
	} else {
		long long h = ns / RG_HOUR, mi = (ns % RG_HOUR) / RG_MINUTE;
		double sec = (double)(ns % RG_MINUTE) / 1e9;
		if (h)
			snprintf(buf, n, "%lldh%lldm%gs", h, mi, sec);
		else if (mi)
			snprintf(buf, n, "%lldm%gs", mi, sec);
		else
			snprintf(buf, n, "%gs", sec);
	}
	return buf;
}

int parse_size(const char *s, size_t *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned long long mul = 1;
	if (!strcmp(end, "") || !strcmp(end, "B"))
		mul = 1;
	else if (!strcmp(end, "k") || !strcmp(end, "K") || !strcmp(end, "KiB"))
		mul = 1ull << 10;
	else if (!strcmp(end, "M") || !strcmp(end, "MiB"))
		mul = 1ull << 20;
	else if (!strcmp(end, "G") || !strcmp(end, "GiB"))
		mul = 1ull << 30;
	else
		return -EINVAL;
	if (v > (unsigned long long)SIZE_MAX / mul)
		return -EINVAL;
	*out = (size_t)(v * mul);
	return 0;
}

int64_t parse_uint(const char *s, size_t n)
{
	int64_t v = 0;
	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

const char *query_get(const char *q, size_t qlen, const char *key, size_t *vlen)
{
	size_t kl = strlen(key);
	const char *end = q ? q + qlen : NULL;

	while (q && q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp ? amp : end;
		if ((size_t)(stop - q) >= kl && memcmp(q, key, kl) == 0 &&
		    (q + kl == stop || q[kl] == '=')) {
			const char *v = q + kl + (q + kl < stop ? 1 : 0);
			*vlen = (size_t)(stop - v);
			return v;
		}
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}
