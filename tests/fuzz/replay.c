// SPDX-License-Identifier: MIT
/*
 * replay.c — runs a libFuzzer harness's inputs without libFuzzer: every
 * file in the given directories, ROUNDS times over, through
 * LLVMFuzzerTestOneInput, in a build of any compiler and sanitizer.
 *
 *   make fuzz-replay [SAN=address]       (fuzz.mk)
 *   build/fuzz/replay_HARNESS ROUNDS DIR...
 *
 * `make check` runs each harness's kept corpus through it once on each
 * backend (tests/fuzz/smoke.sh).  A file that holds no input (a
 * directory, say) is skipped; an input longer than 64 KiB is cut.
 *
 * ALARM_US=N sends the process SIGALRM every N microseconds through a
 * handler without SA_RESTART, as libFuzzer's -timeout does (once a
 * second): that interrupts the runtime's threads and the harness in
 * their syscalls.  It is how the "hang" that `make fuzz-pool` ran into
 * was reproduced without the fuzzer (ALARM_US=1000): the harness took
 * poll's EINTR for a timeout (tests/fuzz/fuzz.h, fuzz_poll, since).
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_INPUTS = 65536, MAX_LEN = 1 << 16 };

static void on_alarm(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s ROUNDS DIR...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	if (getenv("ALARM_US") && atol(getenv("ALARM_US")) > 0) {
		struct sigaction sa = {.sa_sigaction = on_alarm, .sa_flags = SA_SIGINFO};
		sigaction(SIGALRM, &sa, NULL);
		long us = atol(getenv("ALARM_US"));
		struct itimerval it = {{us / 1000000, us % 1000000}, {us / 1000000, us % 1000000}};
		setitimer(ITIMER_REAL, &it, NULL);
	}
	static char *bufs[MAX_INPUTS];
	static size_t lens[MAX_INPUTS];
	int n = 0;
	for (int a = 2; a < argc; a++) {
		DIR *d = opendir(argv[a]);
		struct dirent *e;
		while (d && (e = readdir(d)) && n < MAX_INPUTS) {
			if (e->d_name[0] == '.')
				continue;
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", argv[a], e->d_name);
			FILE *f = fopen(p, "rb");
			if (!f)
				continue;
			bufs[n] = malloc(MAX_LEN);
			lens[n] = fread(bufs[n], 1, MAX_LEN, f);
			fclose(f);
			n++;
		}
		if (d)
			closedir(d);
	}
	int rounds = atoi(argv[1]);
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++)
			LLVMFuzzerTestOneInput((const uint8_t *)bufs[i], lens[i]);
	printf("replayed %d inputs %d times\n", n, rounds);
	return 0;
}
