// SPDX-License-Identifier: MIT
/*
 * ringo-demo: the main job until the echo server lands.  A pipeline of
 * goroutines on every P: producers hand numbers to workers that sleep a
 * little (timers), and the main goroutine prints progress and the
 * runtime's counters every second until Ctrl+C.
 */
#include <ringo.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_int stop;
static atomic_long done_work;

static void on_sigint(int sig)
{
	(void)sig;
	atomic_store(&stop, 1);
}

static void worker(void *arg)
{
	long id = (long)arg;
	while (!atomic_load(&stop)) {
		/* A little CPU, a little sleep: the shape of a request. */
		volatile long x = 0;
		for (long i = 0; i < 1000 + id; i++)
			x += i;
		rg_sleep(RG_MILLISECOND * (1 + id % 5));
		atomic_fetch_add(&done_work, 1);
	}
}

static int run(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "worker-%ld", i);
		if (rg_go_named(name, worker, (void *)i) < 0) {
			fprintf(stderr, "ringo-demo: cannot start goroutine %ld\n", i);
			return 1;
		}
	}
	printf("ringo-demo: %ld goroutines on %d Ps; Ctrl+C to stop\n", n, rg_procs());
	fflush(stdout);
	long last = 0;
	while (!atomic_load(&stop)) {
		rg_sleep(RG_SECOND);
		rg_stats_t st;
		rg_stats(&st);
		long now = atomic_load(&done_work);
		printf("%ld tasks/s  goroutines=%ld switches=%ld parks=%ld steals=%ld threads=%ld\n",
		       now - last, (long)st.goroutines, (long)st.switches, (long)st.parks,
		       (long)st.steals, (long)st.threads);
		fflush(stdout);
		last = now;
	}
	printf("ringo-demo: stopped after %ld tasks\n", atomic_load(&done_work));
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	if (n <= 0) {
		fprintf(stderr, "usage: ringo-demo [goroutines]\n");
		return 2;
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	int rc = rg_main(run, (void *)n);
	if (rc < 0) {
		fprintf(stderr, "ringo-demo: %d\n", rc);
		return 1;
	}
	return rc;
}
