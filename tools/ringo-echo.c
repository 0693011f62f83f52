// SPDX-License-Identifier: MIT
/*
 * ringo-echo: a TCP echo server, one goroutine per connection.
 *
 *   ringo-echo [--addr HOST:PORT] [--procs N] [--max-conns N] [--grace SECONDS]
 *              [--stats SECONDS]
 *
 * Talk to it with `nc 127.0.0.1 7000`.  On SIGINT or SIGTERM
 * (rg_signal_notify_ctx) it stops accepting, lets open connections
 * finish for up to the grace period, closes the rest, prints its
 * counters and exits 0; a second signal during the drain ends it at
 * once.  --stats N prints a line of counters every N seconds
 * (goroutines, open connections, ...: what `make soak` samples).
 *
 * Hostile clients cost it nothing lasting: a client that vanishes
 * mid-write gets its goroutine's write error and is closed; one that
 * half-closes gets its remaining echo and then a close; one that sends
 * nothing only parks a goroutine; thousands of connects are bounded by
 * --max-conns (the accept loop waits for a free slot, as Go's
 * netutil.LimitListener does); EMFILE from accept backs off.
 *
 * It uses only the public API (include/ringo.h), like any user would.
 *
 * The fuzz harness tests/fuzz/fuzz_echo.c includes this file with
 * RINGO_ECHO_NO_MAIN defined (everything but usage and main) and drives
 * conn_start/conn_main with its inputs.
 */
#include <ringo.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE (16 * 1024)

static struct {
	const char *addr;
	int procs;
	long max_conns;
	double grace_s;
	double stats_s;
} opt = {"127.0.0.1:7000", 0, 10000, 5.0, 0};

static struct {
	atomic_long accepted, active, closed, bytes, errors, accept_backoffs;
} stats;

static rg_ctx_t *conn_ctx;       /* cancelled when the grace period ends */
static rg_waitgroup_t conns;     /* open connections */
static rg_chan_t *slots;         /* one token per connection allowed */

/* Returns a connection slot to the accept loop. */
static void give_slot(void)
{
	char token = 0;
	rg_chan_send(slots, &token);
}

/* Everything a connection holds, given back: its context reference, its
 * fd, its slot and its place in the wait group. */
static void conn_end(int fd)
{
	rg_ctx_release(conn_ctx);
	rg_close(fd);
	atomic_fetch_sub(&stats.active, 1);
	give_slot();
	rg_wg_done(&conns);
}

static void conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(BUF_SIZE);

	while (buf) {
		ssize_t n = rg_read(fd, buf, BUF_SIZE, conn_ctx);
		if (n <= 0) {
			/* 0: the client closed (or half-closed) its side;
			 * < 0: reset, or the grace period ended. */
			if (n < 0 && n != -ECONNRESET && n != -ECANCELED)
				atomic_fetch_add(&stats.errors, 1);
			break;
		}
		ssize_t w = rg_write(fd, buf, (size_t)n, conn_ctx);
		if (w != n) {
			/* Short: an error stopped it after w bytes; writing
			 * the rest would name it, but the connection is over
			 * either way. */
			if (w < 0 && w != -EPIPE && w != -ECONNRESET && w != -ECANCELED)
				atomic_fetch_add(&stats.errors, 1);
			break;
		}
		atomic_fetch_add(&stats.bytes, n);
	}
	free(buf);
	atomic_fetch_add(&stats.closed, 1);
	conn_end(fd);
}

/* Serves an accepted connection (its slot taken) in a goroutine of its
 * own.  The accept loop's half of a connection's life, and what the
 * fuzz harness (tests/fuzz/fuzz_echo.c) calls to drive conn_main with
 * its bytes. */
static void conn_start(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	atomic_fetch_add(&stats.accepted, 1);
	atomic_fetch_add(&stats.active, 1);
	rg_wg_add(&conns, 1);
	/* Each connection holds a reference on conn_ctx: serve's
	 * rg_ctx_cancel drops only its own. */
	rg_ctx_retain(conn_ctx);
	if (rg_go_named("conn", conn_main, (void *)(intptr_t)fd) < 0) {
		atomic_fetch_add(&stats.errors, 1);
		conn_end(fd);
	}
}

/* Waits for a connection slot; false once accept_ctx is cancelled. */
static bool take_slot(rg_ctx_t *accept_ctx)
{
	char token;
	rg_case_t cases[] = {
		RG_RECV(slots, &token),
		RG_RECV(rg_ctx_done(accept_ctx), NULL),
	};
	return rg_select(cases, 2, true) == 0;
}

static void accept_loop(int lfd, rg_ctx_t *accept_ctx)
{
	int64_t backoff = 0;

	while (take_slot(accept_ctx)) {
		int fd = rg_accept(lfd, NULL, NULL, accept_ctx);
		if (fd < 0) {
			give_slot();
			if (fd == -ECANCELED)
				return;
			if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
				/* Out of descriptors: wait for connections to
				 * close rather than spin on accept. */
				backoff = backoff ? backoff * 2 : 5 * RG_MILLISECOND;
				if (backoff > RG_SECOND)
					backoff = RG_SECOND;
				atomic_fetch_add(&stats.accept_backoffs, 1);
				rg_sleep(backoff);
				continue;
			}
			/* ECONNABORTED and friends: that client is gone. */
			atomic_fetch_add(&stats.errors, 1);
			continue;
		}
		backoff = 0;
		conn_start(fd);
	}
}

/* --stats: a line of counters every opt.stats_s seconds, until the
 * runtime stops (abandoned then, as Go's program end abandons it). */
static void stats_printer(void *arg)
{
	(void)arg;
	for (;;) {
		rg_sleep((int64_t)(opt.stats_s * RG_SECOND));
		rg_stats_t st;
		rg_stats(&st);
		printf("ringo-echo: stats goroutines %lld threads %lld active %ld accepted %ld "
		       "closed %ld errors %ld accept-backoffs %ld\n",
		       (long long)st.goroutines, (long long)st.threads, atomic_load(&stats.active),
		       atomic_load(&stats.accepted), atomic_load(&stats.closed),
		       atomic_load(&stats.errors), atomic_load(&stats.accept_backoffs));
		fflush(stdout);
	}
}

static void wait_conns(void *arg)
{
	rg_wg_wait(&conns);
	rg_chan_close(arg);
}

/* The address actually bound (port 0 picks one), "host:port". */
static const char *bound_addr(int fd)
{
	static char out[INET6_ADDRSTRLEN + 16];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
			snprintf(out, sizeof(out), "[%s]:%d", host, port);
			return out;
		}
	}
	snprintf(out, sizeof(out), "%s:%d", host, port);
	return out;
}

static int serve(void *arg)
{
	(void)arg;
	int lfd = rg_listen("tcp", opt.addr);
	if (lfd < 0) {
		fprintf(stderr, "ringo-echo: listen %s: %s\n", opt.addr, strerror(-lfd));
		return 1;
	}
	slots = rg_chan_make(1, (size_t)opt.max_conns);
	for (long i = 0; i < opt.max_conns; i++)
		give_slot();
	conn_ctx = rg_ctx_with_cancel(rg_ctx_background());
	/* signal.NotifyContext: the first SIGINT or SIGTERM cancels it and
	 * ends the accept loop. */
	static const int stop_sigs[] = {SIGINT, SIGTERM};
	rg_ctx_t *accept_ctx = rg_signal_notify_ctx(rg_ctx_background(), stop_sigs, 2);
	if (!accept_ctx) {
		fprintf(stderr, "ringo-echo: signals: %s\n", strerror(errno));
		return 1;
	}

	printf("ringo-echo: listening on %s (%d Ps, %s backend, max %ld connections)\n",
	       bound_addr(lfd), rg_procs(), rg_io_backend(), opt.max_conns);
	fflush(stdout);
	if (opt.stats_s > 0)
		rg_go_named("stats", stats_printer, NULL);
	accept_loop(lfd, accept_ctx);
	/* Go's stop(): a second signal now has its default effect (a second
	 * Ctrl+C ends the drain at once). */
	rg_ctx_cancel(accept_ctx);
	rg_ctx_release(accept_ctx);
	fprintf(stderr, "ringo-echo: signal received, draining connections (grace %.1f s)\n",
		opt.grace_s);
	rg_close(lfd);

	/* Drain: wait for the connections, up to the grace period. */
	rg_chan_t *done = rg_chan_make(0, 0);
	rg_go_named("drain", wait_conns, done);
	rg_ctx_t *grace = rg_ctx_with_timeout(rg_ctx_background(),
					      (int64_t)(opt.grace_s * RG_SECOND));
	rg_case_t cases[] = {RG_RECV(done, NULL), RG_RECV(rg_ctx_done(grace), NULL)};
	if (rg_select(cases, 2, true) == 1) {
		fprintf(stderr, "ringo-echo: grace period over, closing %ld connections\n",
			atomic_load(&stats.active));
		rg_ctx_cancel(conn_ctx);
		rg_ctx_release(conn_ctx);
		rg_chan_recv(done, NULL);
	} else {
		rg_ctx_cancel(conn_ctx);
		rg_ctx_release(conn_ctx);
	}
	rg_ctx_cancel(grace);
	rg_ctx_release(grace);
	rg_chan_free(done);
	printf("ringo-echo: accepted %ld, closed %ld, echoed %ld bytes, errors %ld, "
	       "accept back-offs %ld\n",
	       atomic_load(&stats.accepted), atomic_load(&stats.closed),
	       atomic_load(&stats.bytes), atomic_load(&stats.errors),
	       atomic_load(&stats.accept_backoffs));
	fflush(stdout);
	return 0;
}

#ifndef RINGO_ECHO_NO_MAIN
static void usage(FILE *f)
{
	fprintf(f, "usage: ringo-echo [--addr HOST:PORT] [--procs N] [--max-conns N] "
		   "[--grace SECONDS] [--stats SECONDS]\n"
		   "  --addr       listen address (default 127.0.0.1:7000)\n"
		   "  --procs      Ps to run goroutines on (default: CPU count)\n"
		   "  --max-conns  open connections at most (default 10000)\n"
		   "  --grace      seconds open connections get after SIGINT/SIGTERM (default 5)\n"
		   "  --stats      print counters every SECONDS (default: never)\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"addr", required_argument, NULL, 'a'},
		{"procs", required_argument, NULL, 'p'},
		{"max-conns", required_argument, NULL, 'm'},
		{"grace", required_argument, NULL, 'g'},
		{"stats", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "a:p:m:g:s:h", longopts, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'a': opt.addr = optarg; break;
		case 'p': opt.procs = (int)strtol(optarg, &end, 10); break;
		case 'm': opt.max_conns = strtol(optarg, &end, 10); break;
		case 'g': opt.grace_s = strtod(optarg, &end); break;
		case 's': opt.stats_s = strtod(optarg, &end); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (end && (*end || end == optarg)) {
			fprintf(stderr, "ringo-echo: bad value '%s'\n", optarg);
			return 2;
		}
	}
	if (optind != argc || opt.procs < 0 || opt.max_conns <= 0 || opt.grace_s < 0 ||
	    opt.stats_s < 0) {
		usage(stderr);
		return 2;
	}

	if (opt.procs > 0) {
		char n[16];
		snprintf(n, sizeof(n), "%d", opt.procs);
		setenv("RINGO_PROCS", n, 1);
	}
	int rc = rg_main(serve, NULL);
	if (rc < 0) {
		fprintf(stderr, "ringo-echo: cannot start the runtime: %s\n", strerror(-rc));
		return 1;
	}
	return rc;
}
#endif /* RINGO_ECHO_NO_MAIN */
