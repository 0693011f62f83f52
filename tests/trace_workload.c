// SPDX-License-Identifier: MIT
/*
 * trace_workload — a ringo program with a known workload, traced by
 * tests/test_trace.c through ringo-trace.  Built twice: linked with
 * libringo.a (trace-workload) and with libringo.so (trace-workload-so).
 *
 *   trace-workload steady
 *       exactly 16 goroutines, all parked for good: 7 "chanwait" in
 *       rg_chan_recv, 5 "lockwait" in rg_mutex_lock (main holds the
 *       lock), 3 "sleeper" in rg_sleep, and main in rg_wg_wait.
 *   trace-workload busy [SECONDS]
 *       waits that end, so that block and mutex see them: 4 "chanwaiter"
 *       goroutines receive from a channel fed every 200 us by "feeder";
 *       4 "hammer" goroutines take one mutex in turns, holding it ~20 us.
 *       Runs SECONDS (default: until killed); prints "ops N" on SIGUSR1's
 *       next feeder round, and "done" at the end.
 *   trace-workload spawn N
 *       main starts N goroutines named "child", each yields once and
 *       receives one value; main sends them and waits; then it exits.
 *   trace-workload io
 *       "ioreader" reads a socket one byte at a time with rg_read;
 *       "iowriter" writes a byte every 2 ms: each read waits ~2 ms
 *       (a non-blocking socket under RINGO_BACKEND=epoll).
 *       Runs until killed.
 *
 * Every mode prints "ready" once its goroutines are started.
 */
#include <ringo.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static rg_chan_t *ch;
static rg_mutex_t mu;
static rg_waitgroup_t wg;
static _Atomic long ops;
static volatile sig_atomic_t want_report;
static double seconds;

static __attribute__((noinline)) void chan_wait(void *arg)
{
	(void)arg;
	rg_chan_recv(ch, NULL);
}

static __attribute__((noinline)) void lock_wait(void *arg)
{
	(void)arg;
	rg_mutex_lock(&mu);
	rg_mutex_unlock(&mu);
}

static __attribute__((noinline)) void sleeper(void *arg)
{
	(void)arg;
	rg_sleep(3600 * RG_SECOND);
}

static int steady(void)
{
	ch = rg_chan_make(sizeof(int), 0);
	rg_mutex_lock(&mu);
	rg_wg_add(&wg, 1);
	for (int i = 0; i < 7; i++)
		rg_go_named("chanwait", chan_wait, NULL);
	for (int i = 0; i < 5; i++)
		rg_go_named("lockwait", lock_wait, NULL);
	for (int i = 0; i < 3; i++)
		rg_go_named("sleeper", sleeper, NULL);
	printf("ready\n");
	fflush(stdout);
	rg_wg_wait(&wg);  /* nobody calls done: parked until killed */
	return 0;
}

/* ---- busy ---------------------------------------------------------------- */

static void burn_us(int us)
{
	int64_t end = rg_now() + us * RG_MICROSECOND;
	while (rg_now() < end)
		;
}

static __attribute__((noinline)) void chan_waiter(void *arg)
{
	(void)arg;
	int v;
	while (rg_chan_recv(ch, &v))
		atomic_fetch_add(&ops, 1);
}

static __attribute__((noinline)) void lock_hammer(void *arg)
{
	(void)arg;
	for (;;) {
		rg_mutex_lock(&mu);
		burn_us(20);
		rg_mutex_unlock(&mu);
		atomic_fetch_add(&ops, 1);
		rg_yield();
	}
}

static __attribute__((noinline)) void feeder(void *arg)
{
	(void)arg;
	int64_t end = seconds > 0 ? rg_now() + (int64_t)(seconds * 1e9) : INT64_MAX;
	for (int i = 0; rg_now() < end; i++) {
		rg_chan_send(ch, &i);
		rg_sleep(200 * RG_MICROSECOND);
		if (want_report) {
			want_report = 0;
			printf("ops %ld\n", atomic_load(&ops));
			fflush(stdout);
		}
	}
	rg_wg_done(&wg);
}

static void on_usr1(int sig)
{
	(void)sig;
	want_report = 1;
}

static int busy(void)
{
	signal(SIGUSR1, on_usr1);
	ch = rg_chan_make(sizeof(int), 0);
	rg_wg_add(&wg, 1);
	for (int i = 0; i < 4; i++)
		rg_go_named("chanwaiter", chan_waiter, NULL);
	for (int i = 0; i < 4; i++)
		rg_go_named("hammer", lock_hammer, NULL);
	rg_go_named("feeder", feeder, NULL);
	printf("ready\n");
	fflush(stdout);
	rg_wg_wait(&wg);
	printf("done %ld\n", atomic_load(&ops));
	fflush(stdout);
	_exit(0);  /* the hammers never stop */
}

/* ---- spawn ---------------------------------------------------------------- */

static __attribute__((noinline)) void child(void *arg)
{
	(void)arg;
	rg_yield();
	rg_chan_recv(ch, NULL);
	rg_wg_done(&wg);
}

static int spawn(int n)
{
	ch = rg_chan_make(sizeof(int), 0);
	rg_wg_add(&wg, n);
	for (int i = 0; i < n; i++)
		rg_go_named("child", child, NULL);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < n; i++)
		rg_chan_send(ch, &i);
	rg_wg_wait(&wg);
	return 0;
}

/* ---- io ------------------------------------------------------------------- */

static int iosv[2];

static __attribute__((noinline)) void io_reader(void *arg)
{
	(void)arg;
	char b;
	while (rg_read(iosv[0], &b, 1, NULL) == 1)
		;
}

static __attribute__((noinline)) void io_writer(void *arg)
{
	(void)arg;
	for (;;) {
		rg_sleep(2 * RG_MILLISECOND);
		if (rg_write(iosv[1], "x", 1, NULL) != 1)
			return;
	}
}

static int io(void)
{
	/* On the epoll backend a blocking socket's read is a blocking
	 * syscall (off the P), with no readiness wait to trace. */
	const char *be = getenv("RINGO_BACKEND");
	int nb = be && !strcmp(be, "epoll") ? SOCK_NONBLOCK : 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | nb, 0, iosv) != 0)
		return 1;
	rg_go_named("ioreader", io_reader, NULL);
	rg_go_named("iowriter", io_writer, NULL);
	printf("ready\n");
	fflush(stdout);
	rg_sleep(3600 * RG_SECOND);
	return 0;
}

static int mode_n;
static const char *mode;

static int main_g(void *arg)
{
	(void)arg;
	if (!strcmp(mode, "steady"))
		return steady();
	if (!strcmp(mode, "busy"))
		return busy();
	if (!strcmp(mode, "spawn"))
		return spawn(mode_n);
	if (!strcmp(mode, "io"))
		return io();
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s steady | busy [SECONDS] | spawn N | io\n", argv[0]);
		return 2;
	}
	mode = argv[1];
	if (argc > 2) {
		seconds = atof(argv[2]);
		mode_n = atoi(argv[2]);
	}
	if (!strcmp(mode, "spawn") && mode_n <= 0)
		mode_n = 10;
	return rg_main(main_g, NULL);
}
