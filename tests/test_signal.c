// SPDX-License-Identifier: MIT
/*
 * Signals (include/ringo/signals.h): real signals sent with kill(2),
 * raise(3) and tgkill(2), on both I/O backends (helpers/rgio.h), as Go's
 * os/signal tests send themselves SIGHUP and SIGWINCH.
 *
 * Every wait is a channel receive (or a context's Done): no sleep stands
 * in for synchronisation.  A case whose outcome is the default action of
 * a signal (the process dies of it) runs in a child process and checks
 * how the child ended.
 */
#include "helpers/rgio.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static int tgkill_tid(pid_t t, int sig)
{
	return (int)syscall(SYS_tgkill, getpid(), t, sig);
}

/* Receives one int from c. */
static int recv_sig(rg_chan_t *c)
{
	int sig = 0;
	if (!rg_chan_recv(c, &sig))
		return -1;
	return sig;
}

/* ---- errors -------------------------------------------------------- */

/* Signals that cannot be caught, the fault signals, glibc's own and out
 * of range ones are refused; n < 0 too. */
static int scen_refused(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	const int bad[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, 0, 32, 33, 65, -1};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_CMP(rg_signal_notify(c, &bad[i], 1), ==, -EINVAL);
		errno = 0;
		CHECK(rg_signal_notify_ctx(rg_ctx_background(), &bad[i], 1) == NULL);
		CHECK_CMP(errno, ==, EINVAL);
	}
	int ok[] = {SIGUSR1, SIGKILL};
	CHECK_CMP(rg_signal_notify(c, ok, 2), ==, -EINVAL); /* all or nothing */
	CHECK_CMP(rg_signal_notify(c, ok, -1), ==, -EINVAL);
	CHECK_CMP(rg_signal_notify(c, NULL, 1), ==, -EINVAL);
	/* The void calls skip what they cannot touch. */
	rg_signal_ignore(bad, 2);
	rg_signal_reset(bad, 2);
	rg_chan_free(c);
	return 0;
}
RGIO_CASE(refused, "2")

/* Without a runtime, notify is refused. */
static void no_runtime(void **state)
{
	(void)state;
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGUSR1;
	assert_int_equal(rg_signal_notify(c, &s, 1), -EINVAL);
	assert_null(rg_signal_notify_ctx(rg_ctx_background(), &s, 1));
	rg_chan_free(c);
}

/* ---- delivery ------------------------------------------------------ */

/* SIGINT, SIGTERM and SIGHUP sent to the process with kill(2) arrive on
 * the channel, as their numbers. */
static int scen_kill_process(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	CHECK_CMP(rg_signal_notify(c, sigs, 3), ==, 0);
	for (int i = 0; i < 3; i++) {
		CHECK_CMP(kill(getpid(), sigs[i]), ==, 0);
		CHECK_CMP(recv_sig(c), ==, sigs[i]);
	}
	rg_signal_stop(c);
	rg_chan_free(c);
	return 0;
}
RGIO_CASE(kill_process, "2")

/* raise() in a goroutine sends to its own M, which blocks the signal:
 * the M takes it from the signalfd before it sleeps. */
static int scen_raise_in_goroutine(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGUSR2;
	CHECK_CMP(rg_signal_notify(c, &s, 1), ==, 0);
	CHECK_CMP(raise(SIGUSR2), ==, 0);
	CHECK_CMP(recv_sig(c), ==, SIGUSR2);
	rg_signal_stop(c);
	rg_chan_free(c);
	return 0;
}
RGIO_CASE(raise_in_goroutine, "2")

/* A host thread that does not block the signal: tgkill to it runs the
 * forwarding handler there, and the channel still gets the signal. */
struct host {
	_Atomic pid_t tid;
	int go[2]; /* a byte on go[1] lets the thread end */
};

static void *host_thread(void *arg)
{
	struct host *h = arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	/* A thread made from a goroutine inherits the M's mask. */
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	atomic_store(&h->tid, tid());
	char b;
	while (read(h->go[0], &b, 1) < 0 && errno == EINTR)
		; /* the handler interrupts it (SA_RESTART usually restarts) */
	return NULL;
}

static int scen_tgkill_host_thread(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGUSR1;
	CHECK_CMP(rg_signal_notify(c, &s, 1), ==, 0);
	struct host h = {.tid = 0};
	CHECK_CMP(pipe(h.go), ==, 0);
	pthread_t t;
	CHECK_CMP(pthread_create(&t, NULL, host_thread, &h), ==, 0);
	while (atomic_load(&h.tid) == 0)
		rg_yield(); /* the thread's start, not a timing assumption */
	CHECK_CMP(tgkill_tid(atomic_load(&h.tid), SIGUSR1), ==, 0);
	CHECK_CMP(recv_sig(c), ==, SIGUSR1);
	CHECK_CMP(write(h.go[1], "x", 1), ==, 1);
	pthread_join(t, NULL);
	close(h.go[0]);
	close(h.go[1]);
	rg_signal_stop(c);
	rg_chan_free(c);
	return 0;
}
RGIO_CASE(tgkill_host_thread, "2")

/* kill(2) to the process while the only thread that does not block the
 * signal is a host thread (the runtime's threads and rg_main's block
 * it): the kernel gives it to that thread, the forwarding handler runs
 * there, and the channel gets it. */
static int scen_kill_host_thread(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGUSR1;
	CHECK_CMP(rg_signal_notify(c, &s, 1), ==, 0);
	struct host h = {.tid = 0};
	CHECK_CMP(pipe(h.go), ==, 0);
	pthread_t t;
	CHECK_CMP(pthread_create(&t, NULL, host_thread, &h), ==, 0);
	while (atomic_load(&h.tid) == 0)
		rg_yield(); /* the thread's start, not a timing assumption */
	CHECK_CMP(kill(getpid(), SIGUSR1), ==, 0);
	CHECK_CMP(recv_sig(c), ==, SIGUSR1);
	CHECK_CMP(write(h.go[1], "x", 1), ==, 1);
	pthread_join(t, NULL);
	close(h.go[0]);
	close(h.go[1]);
	rg_signal_stop(c);
	rg_chan_free(c);
	return 0;
}
RGIO_CASE(kill_host_thread, "2")

/* tgkill to the M a goroutine runs on (its own thread): taken when that
 * M runs out of work, as raise. */
static int scen_tgkill_own_m(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGWINCH;
	CHECK_CMP(rg_signal_notify(c, &s, 1), ==, 0);
	CHECK_CMP(tgkill_tid(tid(), SIGWINCH), ==, 0);
	CHECK_CMP(recv_sig(c), ==, SIGWINCH);
	rg_signal_stop(c);
	rg_chan_free(c);
	return 0;
}
RGIO_CASE(tgkill_own_m, "1")

/* One signal, several channels: each gets it.  One channel, several
 * signals: it gets each. */
static int scen_many(void *arg)
{
	(void)arg;
	rg_chan_t *a = RG_CHAN(int, 4), *b = RG_CHAN(int, 4);
	int u1 = SIGUSR1, both[] = {SIGUSR1, SIGUSR2};
	CHECK_CMP(rg_signal_notify(a, &u1, 1), ==, 0);
	CHECK_CMP(rg_signal_notify(b, both, 2), ==, 0);
	CHECK_CMP(rg_signal_notify(b, &u1, 1), ==, 0); /* again: still once */
	CHECK_CMP(kill(getpid(), SIGUSR1), ==, 0);
	CHECK_CMP(recv_sig(a), ==, SIGUSR1);
	CHECK_CMP(recv_sig(b), ==, SIGUSR1);
	CHECK_CMP(kill(getpid(), SIGUSR2), ==, 0);
	CHECK_CMP(recv_sig(b), ==, SIGUSR2);
	/* a never wanted SIGUSR2, and b got SIGUSR1 once. */
	CHECK_CMP(rg_chan_len(a), ==, 0);
	CHECK_CMP(rg_chan_len(b), ==, 0);
	rg_signal_stop(a);
	rg_signal_stop(b);
	rg_chan_free(a);
	rg_chan_free(b);
	return 0;
}
RGIO_CASE(many, "2")

/* Two different signals in quick succession both arrive (standard
 * signals of one number may merge in the kernel; different ones do
 * not); a full channel drops instead of blocking the reader. */
static int scen_quick_succession(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 2), *full = RG_CHAN(int, 1);
	int sigs[] = {SIGUSR1, SIGUSR2};
	CHECK_CMP(rg_signal_notify(c, sigs, 2), ==, 0);
	CHECK_CMP(rg_signal_notify(full, sigs, 2), ==, 0);
	CHECK_CMP(kill(getpid(), SIGUSR1), ==, 0);
	CHECK_CMP(kill(getpid(), SIGUSR2), ==, 0);
	int x = recv_sig(c), y = recv_sig(c);
	CHECK((x == SIGUSR1 && y == SIGUSR2) || (x == SIGUSR2 && y == SIGUSR1));
	/* full took one and dropped the other. */
	CHECK_CMP(rg_chan_len(full), ==, 1);
	rg_signal_stop(c);
	rg_signal_stop(full);
	rg_chan_free(c);
	rg_chan_free(full);
	return 0;
}
RGIO_CASE(quick_succession, "2")

/* Every P busy (goroutines that only yield): the reader still runs, its
 * completion reaped on a busy P's schedule. */
static _Atomic bool spin_stop;

static void spinner(void *arg)
{
	(void)arg;
	while (!atomic_load(&spin_stop))
		rg_yield();
}

static int scen_all_ps_busy(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGHUP;
	atomic_store(&spin_stop, false);
	CHECK_CMP(rg_signal_notify(c, &s, 1), ==, 0);
	CHECK_CMP(rg_go(spinner, NULL), ==, 0);
	CHECK_CMP(kill(getpid(), SIGHUP), ==, 0);
	int got = 0;
	bool ok = false;
	while (rg_chan_try_recv(c, &got, &ok) == -EAGAIN)
		rg_yield(); /* this P stays busy too */
	atomic_store(&spin_stop, true);
	CHECK(ok);
	CHECK_CMP(got, ==, SIGHUP);
	rg_signal_stop(c);
	rg_chan_free(c);
	return 0;
}
RGIO_CASE(all_ps_busy, "2")

/* n == 0: every signal that can be caught. */
static int scen_notify_all(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	CHECK_CMP(rg_signal_notify(c, NULL, 0), ==, 0);
	CHECK_CMP(kill(getpid(), SIGWINCH), ==, 0);
	CHECK_CMP(recv_sig(c), ==, SIGWINCH);
	CHECK_CMP(kill(getpid(), SIGRTMIN + 1), ==, 0);
	CHECK_CMP(recv_sig(c), ==, SIGRTMIN + 1);
	rg_signal_stop(c);
	rg_chan_free(c);
	return 0;
}
RGIO_CASE(notify_all, "2")

/* From a foreign thread (rg_init): notify, and a process-directed
 * signal that lands on this thread (which blocks nothing) is forwarded
 * by the handler. */
static void foreign_thread_case(const char *backend)
{
	rgt_env("RINGO_BACKEND", strcmp(backend, "epoll") == 0 ? "epoll" : NULL);
	rgt_env("RINGO_PROCS", "2");
	int r = rg_init(NULL);
	rgt_env("RINGO_BACKEND", NULL);
	if (r == -ENOSYS)
		skip();
	assert_int_equal(r, 0);
	if (strcmp(rg_io_backend(), backend) != 0) {
		rg_shutdown();
		skip();
	}
	sigset_t none, old;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, &old);
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGUSR1;
	assert_int_equal(rg_signal_notify(c, &s, 1), 0);
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	int got = 0;
	assert_true(rg_chan_recv(c, &got));
	assert_int_equal(got, SIGUSR1);
	rg_signal_stop(c);
	rg_chan_free(c);
	rg_shutdown();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* Shutdown gave SIGUSR1 its default back. */
	struct sigaction cur;
	sigaction(SIGUSR1, NULL, &cur);
	assert_true(cur.sa_handler == SIG_DFL);
}

static void foreign_thread_uring(void **state)
{
	(void)state;
	foreign_thread_case("io_uring");
}

static void foreign_thread_epoll(void **state)
{
	(void)state;
	foreign_thread_case("epoll");
}

/* ---- stop, ignore, reset ------------------------------------------- */

/* Stop: once it returns, the channel gets nothing more; the others do. */
static int scen_stop(void *arg)
{
	(void)arg;
	rg_chan_t *a = RG_CHAN(int, 1), *b = RG_CHAN(int, 1);
	int s = SIGUSR1;
	CHECK_CMP(rg_signal_notify(a, &s, 1), ==, 0);
	CHECK_CMP(rg_signal_notify(b, &s, 1), ==, 0);
	rg_signal_stop(a);
	rg_signal_stop(a); /* twice: nothing */
	CHECK_CMP(kill(getpid(), SIGUSR1), ==, 0);
	CHECK_CMP(recv_sig(b), ==, SIGUSR1);
	CHECK_CMP(rg_chan_len(a), ==, 0); /* one dispatch sends to both */
	rg_signal_stop(b);
	rg_chan_free(a);
	rg_chan_free(b);
	return 0;
}
RGIO_CASE(stop, "2")

/* Ignore: the signal is discarded (the process lives, no channel gets
 * it); notify again takes it back. */
static int scen_ignore(void *arg)
{
	(void)arg;
	rg_chan_t *a = RG_CHAN(int, 1), *sync = RG_CHAN(int, 1);
	int u1 = SIGUSR1, u2 = SIGUSR2;
	CHECK_CMP(rg_signal_notify(a, &u1, 1), ==, 0);
	CHECK_CMP(rg_signal_notify(sync, &u2, 1), ==, 0);
	rg_signal_ignore(&u1, 1);
	struct sigaction cur;
	sigaction(SIGUSR1, NULL, &cur);
	CHECK(cur.sa_handler == SIG_IGN);
	CHECK_CMP(kill(getpid(), SIGUSR1), ==, 0);
	/* SIGUSR2 after it: the signalfd gives the lower number first, and
	 * a dispatch handles all it read, so SIGUSR1 is behind us. */
	CHECK_CMP(kill(getpid(), SIGUSR2), ==, 0);
	CHECK_CMP(recv_sig(sync), ==, SIGUSR2);
	CHECK_CMP(rg_chan_len(a), ==, 0);
	CHECK_CMP(rg_signal_notify(a, &u1, 1), ==, 0);
	CHECK_CMP(kill(getpid(), SIGUSR1), ==, 0);
	CHECK_CMP(recv_sig(a), ==, SIGUSR1);
	rg_signal_stop(a);
	rg_signal_stop(sync);
	rg_chan_free(a);
	rg_chan_free(sync);
	return 0;
}
RGIO_CASE(ignore, "2")

/* Ignoring SIGCHLD keeps children waitable (no SIG_IGN auto-reap). */
static int scen_ignore_sigchld(void *arg)
{
	(void)arg;
	int s = SIGCHLD;
	rg_signal_ignore(&s, 1);
	struct sigaction cur;
	sigaction(SIGCHLD, NULL, &cur);
	CHECK(cur.sa_handler != SIG_IGN && cur.sa_handler != SIG_DFL);
	pid_t p = fork();
	if (p == 0)
		_exit(7);
	CHECK(p > 0);
	int st = 0;
	CHECK_CMP(waitpid(p, &st, 0), ==, p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	rg_signal_reset(&s, 1);
	sigaction(SIGCHLD, NULL, &cur);
	CHECK(cur.sa_handler == SIG_DFL);
	return 0;
}
RGIO_CASE(ignore_sigchld, "2")

/* Reset restores what the signal had before ringo: here the program's
 * own SIG_IGN (as Go restores a SIGHUP that nohup ignored). */
static int scen_reset_restores(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGHUP;
	signal(SIGHUP, SIG_IGN);
	CHECK_CMP(rg_signal_notify(c, &s, 1), ==, 0);
	struct sigaction cur;
	sigaction(SIGHUP, NULL, &cur);
	CHECK(cur.sa_handler != SIG_IGN); /* caught now */
	CHECK_CMP(kill(getpid(), SIGHUP), ==, 0);
	CHECK_CMP(recv_sig(c), ==, SIGHUP);
	rg_signal_reset(&s, 1);
	sigaction(SIGHUP, NULL, &cur);
	CHECK(cur.sa_handler == SIG_IGN);
	signal(SIGHUP, SIG_DFL);
	rg_chan_free(c);
	return 0;
}
RGIO_CASE(reset_restores, "2")

/* ---- default actions (child processes) ------------------------------ */

struct death {
	const char *backend;
	int (*fn)(void *);
};

static int death_child(void *arg)
{
	struct death *d = arg;
	int r = rgio_main(d->backend, "2", d->fn, NULL);
	if (r < 0)
		fprintf(stderr, "%s\n", rgc_msg);
	return r == 1 ? 77 : 0; /* 0: it lived */
}

/* Runs fn as rg_main's goroutine in a child and expects the child to be
 * killed by sig. */
static void expect_death(const char *backend, int (*fn)(void *), int sig)
{
	struct death d = {backend, fn};
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(death_child, &d, 60, res), 0);
	bool skipped = res->exited && res->code == 77;
	bool ok = res->signaled && res->sig == sig;
	if (!ok && !skipped)
		print_message("status %d (exited %d code %d, signal %d):\n%s", res->status,
			      res->exited, res->code, res->sig, res->out);
	free(res);
	if (skipped)
		skip();
	assert_true(ok);
}

#define DEATH_CASE(name, sig)                                              \
	static void name##_uring(void **state)                             \
	{                                                                  \
		(void)state;                                               \
		expect_death("io_uring", scen_##name, sig);                \
	}                                                                  \
	static void name##_epoll(void **state)                             \
	{                                                                  \
		(void)state;                                               \
		expect_death("epoll", scen_##name, sig);                   \
	}

/* After rg_signal_reset, the signal's default action happens (ringo
 * reads it, blocked everywhere, and passes it on). */
static int scen_reset_default(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGUSR1;
	CHECK_CMP(rg_signal_notify(c, &s, 1), ==, 0);
	CHECK_CMP(kill(getpid(), SIGUSR1), ==, 0);
	CHECK_CMP(recv_sig(c), ==, SIGUSR1);
	rg_signal_reset(&s, 1);
	kill(getpid(), SIGUSR1);
	recv_sig(c); /* never: the process dies */
	return 0;
}
DEATH_CASE(reset_default, SIGUSR1)

/* After the last channel stops, the default action again. */
static int scen_stop_default(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGTERM;
	CHECK_CMP(rg_signal_notify(c, &s, 1), ==, 0);
	rg_signal_stop(c);
	kill(getpid(), SIGTERM);
	recv_sig(c);
	return 0;
}
DEATH_CASE(stop_default, SIGTERM)

/* notify_ctx: the first signal cancels the context and ends the
 * notification; the second has its default effect. */
static int scen_ctx_second_signal(void *arg)
{
	(void)arg;
	int s = SIGTERM;
	rg_ctx_t *ctx = rg_signal_notify_ctx(rg_ctx_background(), &s, 1);
	CHECK(ctx != NULL);
	CHECK_CMP(kill(getpid(), SIGTERM), ==, 0);
	CHECK(!rg_chan_recv(rg_ctx_done(ctx), NULL));
	CHECK_CMP(rg_ctx_err(ctx), ==, -ECANCELED);
	kill(getpid(), SIGTERM);
	rg_sleep(RGT_NEVER_MS * RG_MILLISECOND); /* never ends: the process dies */
	return 0;
}
DEATH_CASE(ctx_second_signal, SIGTERM)

/* rg_ctx_cancel on a notify context (Go's stop()) ends the notification
 * before any signal: the signal then has its default effect. */
static int scen_ctx_cancel_default(void *arg)
{
	(void)arg;
	int s = SIGINT;
	rg_ctx_t *ctx = rg_signal_notify_ctx(rg_ctx_background(), &s, 1);
	CHECK(ctx != NULL);
	rg_ctx_cancel(ctx);
	rg_ctx_release(ctx);
	kill(getpid(), SIGINT);
	rg_sleep(RGT_NEVER_MS * RG_MILLISECOND);
	return 0;
}
DEATH_CASE(ctx_cancel_default, SIGINT)

/* SIGQUIT notified goes to the channel instead of the dump; stopped,
 * the runtime's dump (exit 2) is back. */
static int quit_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	int s = SIGQUIT;
	CHECK_CMP(rg_signal_notify(c, &s, 1), ==, 0);
	CHECK_CMP(kill(getpid(), SIGQUIT), ==, 0);
	CHECK_CMP(recv_sig(c), ==, SIGQUIT);
	rg_signal_stop(c);
	kill(getpid(), SIGQUIT);
	rg_sleep(RGT_NEVER_MS * RG_MILLISECOND);
	return 0;
}

static int quit_child(void *arg)
{
	return rgio_main(arg, "2", quit_main, NULL) < 0 ? 1 : 5;
}

static void sigquit_case(const char *backend)
{
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(quit_child, (void *)backend, 60, res), 0);
	bool ok = res->exited && res->code == 2 && strstr(res->out, "SIGQUIT: quit");
	if (!ok)
		print_message("status %d (exited %d code %d, signal %d):\n%s", res->status,
			      res->exited, res->code, res->sig, res->out);
	free(res);
	assert_true(ok);
}

static void sigquit_uring(void **state)
{
	(void)state;
	sigquit_case("io_uring");
}

static void sigquit_epoll(void **state)
{
	(void)state;
	sigquit_case("epoll");
}

/* Fault reports still work with every catchable signal notified: a
 * goroutine's stack overflow is reported and aborts (SIGSEGV is never
 * taken over, nor blocked). */
static volatile int dive_limit = 1 << 30; /* never reached */

static __attribute__((noinline)) int dive(int depth)
{
	volatile char buf[256];
	buf[0] = (char)depth;
	if (depth >= dive_limit)
		return buf[0];
	return dive(depth + 1) + buf[0];
}

static void diver(void *arg)
{
	(void)arg;
	dive(0);
}

static int overflow_main(void *arg)
{
	(void)arg;
	rg_chan_t *c = RG_CHAN(int, 1);
	CHECK_CMP(rg_signal_notify(c, NULL, 0), ==, 0);
	rg_go_named("deep-diver", diver, NULL);
	rg_chan_recv(c, NULL); /* never: the overflow ends the process */
	return 0;
}

static int overflow_child(void *arg)
{
	signal(SIGSEGV, SIG_DFL);
	return rgio_main(arg, "2", overflow_main, NULL) == 1 ? 77 : 0;
}

static void overflow_case(const char *backend)
{
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(overflow_child, (void *)backend, 60, res), 0);
	bool skipped = res->exited && res->code == 77;
	bool ok = res->signaled && res->sig == SIGABRT &&
		  strstr(res->out, "fatal error: stack overflow") && strstr(res->out, "deep-diver");
	if (!ok && !skipped)
		print_message("status %d (exited %d code %d, signal %d):\n%s", res->status,
			      res->exited, res->code, res->sig, res->out);
	free(res);
	if (skipped)
		skip();
	assert_true(ok);
}

static void overflow_uring(void **state)
{
	(void)state;
	overflow_case("io_uring");
}

static void overflow_epoll(void **state)
{
	(void)state;
	overflow_case("epoll");
}

/* ---- notify contexts ----------------------------------------------- */

/* The context is cancelled by the signal; its parent's cancellation
 * ends it too; many that end without a signal leave nothing behind
 * (ASan's leak check). */
static int scen_notify_ctx(void *arg)
{
	(void)arg;
	int s = SIGUSR2;
	rg_ctx_t *ctx = rg_signal_notify_ctx(rg_ctx_background(), &s, 1);
	CHECK(ctx != NULL);
	CHECK_CMP(rg_ctx_err(ctx), ==, 0);
	CHECK_CMP(kill(getpid(), SIGUSR2), ==, 0);
	CHECK(!rg_chan_recv(rg_ctx_done(ctx), NULL));
	CHECK_CMP(rg_ctx_err(ctx), ==, -ECANCELED);
	rg_ctx_cancel(ctx);
	rg_ctx_release(ctx);

	rg_ctx_t *parent = rg_ctx_with_cancel(rg_ctx_background());
	ctx = rg_signal_notify_ctx(parent, &s, 1);
	CHECK(ctx != NULL);
	rg_ctx_cancel(parent);
	CHECK(!rg_chan_recv(rg_ctx_done(ctx), NULL));
	rg_ctx_release(ctx);
	rg_ctx_release(parent);

	for (int i = 0; i < 100; i++) {
		ctx = rg_signal_notify_ctx(rg_ctx_background(), &s, 1);
		CHECK(ctx != NULL);
		rg_ctx_cancel(ctx);
		rg_ctx_release(ctx);
	}
	/* One left registered at shutdown: stop ends it. */
	ctx = rg_signal_notify_ctx(rg_ctx_background(), &s, 1);
	CHECK(ctx != NULL);
	rg_ctx_release(ctx);
	return 0;
}
RGIO_CASE(notify_ctx, "2")

/* ---- graceful shutdown (the seed's pattern) ------------------------- */

/* Workers take jobs until the signal context ends, finish the job they
 * hold, and leave; main waits for them and exits 0.  SIGTERM comes from
 * outside the runtime (a thread of the test, as kill from a shell),
 * once every worker has done some work. */
#define WORKERS 4

static rg_waitgroup_t workers_wg;
static _Atomic int jobs_done;

struct worker_arg {
	rg_ctx_t *ctx;
	rg_chan_t *jobs;
	rg_chan_t *ready;
};

static void worker(void *arg)
{
	struct worker_arg *w = arg;
	bool told = false;
	for (;;) {
		int job = 0;
		rg_case_t cs[] = {RG_RECV(rg_ctx_done(w->ctx), NULL), RG_RECV(w->jobs, &job)};
		if (rg_select(cs, 2, true) == 0)
			break; /* drain: stop taking work */
		rg_yield(); /* "work" */
		atomic_fetch_add(&jobs_done, 1);
		if (!told) {
			told = true;
			int one = 1;
			rg_chan_send(w->ready, &one);
		}
	}
	rg_wg_done(&workers_wg);
}

static void producer(void *arg)
{
	struct worker_arg *w = arg;
	for (int i = 0;; i++) {
		rg_case_t cs[] = {RG_RECV(rg_ctx_done(w->ctx), NULL), RG_SEND(w->jobs, &i)};
		if (rg_select(cs, 2, true) == 0)
			break;
	}
	rg_wg_done(&workers_wg);
}

static void *terminator(void *arg)
{
	(void)arg;
	kill(getpid(), SIGTERM);
	return NULL;
}

static int shutdown_main(void *arg)
{
	(void)arg;
	int sigs[] = {SIGINT, SIGTERM};
	rg_ctx_t *ctx = rg_signal_notify_ctx(rg_ctx_background(), sigs, 2);
	if (!ctx)
		return 3;
	struct worker_arg w = {ctx, RG_CHAN(int, 0), RG_CHAN(int, WORKERS)};
	rg_wg_add(&workers_wg, WORKERS + 1);
	for (int i = 0; i < WORKERS; i++)
		rg_go_named("worker", worker, &w);
	rg_go_named("producer", producer, &w);
	for (int i = 0; i < WORKERS; i++)
		rg_chan_recv(w.ready, NULL); /* all of them at work */
	pthread_t t;
	pthread_create(&t, NULL, terminator, NULL);
	rg_chan_recv(rg_ctx_done(ctx), NULL); /* <-ctx.Done() */
	rg_ctx_cancel(ctx);                   /* stop() */
	rg_wg_wait(&workers_wg);              /* the drain */
	pthread_join(t, NULL);
	rg_ctx_release(ctx);
	rg_chan_free(w.jobs);
	rg_chan_free(w.ready);
	printf("drained after %d jobs\n", atomic_load(&jobs_done));
	return atomic_load(&jobs_done) >= WORKERS ? 0 : 4;
}

static int shutdown_child(void *arg)
{
	int r = rgio_main(arg, "2", shutdown_main, NULL);
	return r == 1 ? 77 : r < 0 ? 1 : 0;
}

static void graceful_case(const char *backend)
{
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(shutdown_child, (void *)backend, 60, res), 0);
	bool skipped = res->exited && res->code == 77;
	bool ok = res->exited && res->code == 0 && strstr(res->out, "drained after");
	if (!ok && !skipped)
		print_message("status %d (exited %d code %d, signal %d):\n%s", res->status,
			      res->exited, res->code, res->sig, res->out);
	free(res);
	if (skipped)
		skip();
	assert_true(ok);
}

static void graceful_uring(void **state)
{
	(void)state;
	graceful_case("io_uring");
}

static void graceful_epoll(void **state)
{
	(void)state;
	graceful_case("epoll");
}

#ifdef RGT_TSAN
/* TSan runs a signal's handler at the next interception point of the
 * thread it landed in; a process-directed signal may land in TSan's own
 * background thread (which blocks nothing) and wait there for ever: the
 * kill(2) cases hang, as no program of ours would outside TSan. */
static void tsan_defers_signals(void **state)
{
	(void)state;
	skip();
}
#endif

int main(void)
{
#ifdef RGT_TSAN
	const struct CMUnitTest skipped[] = {cmocka_unit_test(tsan_defers_signals)};
	return cmocka_run_group_tests(skipped, NULL, NULL);
#endif
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_runtime),
		RGIO_TESTS(refused),
		RGIO_TESTS(kill_process),
		RGIO_TESTS(raise_in_goroutine),
		RGIO_TESTS(tgkill_host_thread),
		RGIO_TESTS(kill_host_thread),
		RGIO_TESTS(tgkill_own_m),
		RGIO_TESTS(many),
		RGIO_TESTS(quick_succession),
		RGIO_TESTS(all_ps_busy),
		RGIO_TESTS(notify_all),
		cmocka_unit_test(foreign_thread_uring),
		cmocka_unit_test(foreign_thread_epoll),
		RGIO_TESTS(stop),
		RGIO_TESTS(ignore),
		RGIO_TESTS(ignore_sigchld),
		RGIO_TESTS(reset_restores),
		RGIO_TESTS(reset_default),
		RGIO_TESTS(stop_default),
		RGIO_TESTS(ctx_second_signal),
		RGIO_TESTS(ctx_cancel_default),
		cmocka_unit_test(sigquit_uring),
		cmocka_unit_test(sigquit_epoll),
		cmocka_unit_test(overflow_uring),
		cmocka_unit_test(overflow_epoll),
		RGIO_TESTS(notify_ctx),
		cmocka_unit_test(graceful_uring),
		cmocka_unit_test(graceful_epoll),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
