// SPDX-License-Identifier: MIT
/*
 * fuzz.h — what the harnesses share.
 */
#ifndef RG_FUZZ_H
#define RG_FUZZ_H

#include <errno.h>
#include <poll.h>
#include <time.h>

/* poll(2) for up to ms milliseconds in all, through signals: libFuzzer's
 * -timeout interrupts the process with SIGALRM once a second (and
 * replay.c's ALARM_US as often as asked), and poll is never restarted.
 * Taking that EINTR for a timeout reported hangs that were not there. */
static inline int fuzz_poll(struct pollfd *p, nfds_t n, int ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long gone = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		int left = ms > gone ? (int)(ms - gone) : 0;
		int r = poll(p, n, left);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

#endif
