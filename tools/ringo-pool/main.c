// SPDX-License-Identifier: MIT
/*
 * ringo-pool: an HTTP/1.1 job server built from ringo's parts.
 *
 *   ringo-pool [--addr HOST:PORT] [--workers N] [--queue N] [--timeout D]
 *              [--rate R --burst B] [--root DIR] [--allow NAME=PATH]...
 *              (ringo-pool --help lists every flag and its default)
 *
 * main.c owns the process: flags, the listener, the accept loop, the
 * connection slots, signals and the drain.  See server.h for the map of
 * the other files.
 *
 * Connections: one goroutine each (http.c).  --max-conns bounds them
 * with a channel of tokens, as ringo-echo and Go's netutil.LimitListener
 * do: the accept loop takes a token before accepting, a closing
 * connection gives it back, so past the limit new clients wait in the
 * kernel's backlog instead of being accepted and dropped.  EMFILE (and
 * its kin) from accept backs off 5 ms, doubling to 1 s, instead of
 * spinning.  At start the soft RLIMIT_NOFILE is raised to the hard
 * limit, as Go 1.19+ does.
 *
 * Drain (SIGTERM or SIGINT, through rg_signal_notify_ctx): the accept
 * context is the signal context, so the first signal ends the accept
 * loop; then
 *   1. srv.draining is set (readiness answers 503, connections close
 *      after the requests they already hold) and srv.idle_ctx is
 *      cancelled (idle keep-alive waits end at once);
 *   2. the listener closes;
 *   3. the connections get up to --grace to finish; past it
 *      srv.kill_ctx is cancelled, which ends every read, write and job
 *      (an exec job's process is killed);
 *   4. the pool is closed and waited for;
 *   5. one summary line on stdout, exit 0.
 * Cancelling the signal context (right after the first signal) stops
 * the notification, so a second signal has its default effect: the
 * process ends at once.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

srv_config_t cfg = {
	.addr = "127.0.0.1:8080",
	.workers = 64,
	.queue = 1024,
	.timeout = 30 * RG_SECOND,
	.rate = 100,
	.burst = 200,
	.max_keys = 100000,
	.max_body = 1 << 20,
	.max_header = 16 << 10,
	.max_output = 1 << 20,
	.header_timeout = 10 * RG_SECOND,
	.idle_timeout = 60 * RG_SECOND,
	.max_conns = 10000,
	.grace = 10 * RG_SECOND,
};

srv_state_t srv = {.root_fd = -1};

static rg_waitgroup_t conns; /* open connections */
static rg_chan_t *slots;     /* one token per connection allowed */

static void give_slot(void)
{
	char token = 0;
	rg_chan_send(slots, &token);
}

/* Everything a connection holds, given back. */
static void conn_end(void)
{
	atomic_fetch_sub_explicit(&m.conns_open, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m.conns_closed, 1, memory_order_relaxed);
	give_slot();
	rg_wg_done(&conns);
}

static void conn_go(void *arg)
{
	conn_main(arg);
	conn_end();
}

/* Waits for a connection slot; false once ctx is cancelled. */
static bool take_slot(rg_ctx_t *ctx)
{
	char token;
	bool ok;
	if (rg_chan_try_recv(slots, &token, &ok) == 0)
		return true;
	metrics_reject(RJ_CONNS);
	rg_case_t cases[] = {RG_RECV(slots, &token), RG_RECV(rg_ctx_done(ctx), NULL)};
	return rg_select(cases, 2, true) == 0;
}

static void accept_loop(int lfd, rg_ctx_t *ctx)
{
	int64_t backoff = 0;

	while (take_slot(ctx)) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = rg_accept(lfd, (struct sockaddr *)&ss, &len, ctx);
		if (fd < 0) {
			give_slot();
			if (fd == -ECANCELED || fd == -ETIMEDOUT)
				return;
			if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
				backoff = backoff ? backoff * 2 : 5 * RG_MILLISECOND;
				if (backoff > RG_SECOND)
					backoff = RG_SECOND;
				metrics_reject(RJ_EMFILE);
				rg_sleep(backoff);
				continue;
			}
			continue; /* ECONNABORTED and friends: that client is gone */
		}
		backoff = 0;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conn_t *c = conn_new(fd, &ss, len);
		atomic_fetch_add_explicit(&m.conns_accepted, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&m.conns_open, 1, memory_order_relaxed);
		rg_wg_add(&conns, 1);
		if (!c || rg_go_named("conn", conn_go, c) < 0) {
			if (c)
				conn_free(c);
			rg_close(fd);
			conn_end();
		}
	}
}

/* ---- signals ---------------------------------------------------------- */

static const int stop_sigs[] = {SIGINT, SIGTERM};

/* The accept loop's context: cancelled by the first SIGINT or SIGTERM.
 * The runtime blocks them in its threads and reads them from a
 * signalfd (include/ringo/signals.h). */
static rg_ctx_t *signal_ctx(void)
{
	return rg_signal_notify_ctx(rg_ctx_background(), stop_sigs, 2);
}
static void signal_stop(rg_ctx_t *ctx)
{
	ctx_end(ctx); /* the second signal now has its default effect */
}

/* ---- serving ---------------------------------------------------------- */

static void wait_conns(void *arg)
{
	rg_wg_wait(&conns);
	rg_chan_close(arg);
}

/* The address actually bound (port 0 picks one), "host:port". */
static const char *bound_addr(int fd, char *out, size_t n)
{
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
			snprintf(out, n, "[%s]:%d", host, ntohs(in6->sin6_port));
			return out;
		}
	}
	snprintf(out, n, "%s:%d", host, port);
	return out;
}

static int serve(void *arg)
{
	(void)arg;
	char addr[INET6_ADDRSTRLEN + 16], d1[32], d2[32];

	srv.started = rg_now();
	int lfd = rg_listen("tcp", cfg.addr);
	if (lfd < 0) {
		fprintf(stderr, "ringo-pool: listen %s: %s\n", cfg.addr, strerror(-lfd));
		return 1;
	}
	if (routes_init() < 0)
		return 1;
	slots = rg_chan_make(1, (size_t)cfg.max_conns);
	for (long i = 0; i < cfg.max_conns; i++)
		give_slot();
	/* Connections make children of these until the last one is gone,
	 * after they are cancelled: the server keeps a reference of its own
	 * on each, dropped at the very end. */
	srv.idle_ctx = rg_ctx_retain(rg_ctx_with_cancel(rg_ctx_background()));
	srv.kill_ctx = rg_ctx_retain(rg_ctx_with_cancel(rg_ctx_background()));
	rg_ctx_t *sig = signal_ctx();
	if (!sig) {
		fprintf(stderr, "ringo-pool: signals: %s\n", strerror(errno));
		return 1;
	}

	printf("ringo-pool: listening on %s (%d Ps, %s backend, %d workers, queue %d, "
	       "timeout %s, rate %g/s burst %d per client, max %ld connections, files %s%s, "
	       "%d commands)\n",
	       bound_addr(lfd, addr, sizeof(addr)), rg_procs(), rg_io_backend(), cfg.workers,
	       cfg.queue, format_duration(cfg.timeout, d1, sizeof(d1)), cfg.rate, cfg.burst,
	       cfg.max_conns, cfg.root ? cfg.root : "off",
	       cfg.root ? (srv.openat2 ? " (openat2)" : " (component walk)") : "", cfg.nallow);
	fflush(stdout);

	accept_loop(lfd, sig);

	/* 1-2: stop accepting, fail readiness, end idle waits. */
	int64_t drain_start = rg_now();
	int64_t open_at_signal = atomic_load(&m.conns_open);
	int64_t inflight_at_signal = atomic_load(&m.inflight);
	atomic_store(&srv.draining, true);
	signal_stop(sig);
	ctx_end(srv.idle_ctx);
	rg_close(lfd);
	fprintf(stderr, "ringo-pool: draining: %lld connections, %lld requests in flight (grace %s)\n",
		(long long)open_at_signal, (long long)inflight_at_signal,
		format_duration(cfg.grace, d2, sizeof(d2)));

	/* 3: the connections, up to the grace period. */
	rg_chan_t *done = rg_chan_make(0, 0);
	rg_go_named("drain", wait_conns, done);
	rg_ctx_t *grace = rg_ctx_with_timeout(rg_ctx_background(), cfg.grace);
	rg_case_t cases[] = {RG_RECV(done, NULL), RG_RECV(rg_ctx_done(grace), NULL)};
	int64_t cut = 0;
	if (rg_select(cases, 2, true) == 1) {
		cut = atomic_load(&m.conns_open);
		fprintf(stderr, "ringo-pool: grace period over, cutting %lld connections\n",
			(long long)cut);
		ctx_end(srv.kill_ctx);
		rg_chan_recv(done, NULL);
	} else {
		/* Jobs whose clients are gone (a 504) may still run: they
		 * end now rather than at their own deadline. */
		ctx_end(srv.kill_ctx);
	}
	ctx_end(grace);
	rg_chan_free(done);

	/* 4: the pool. */
	jobs_drain();
	routes_fini();
	rg_ctx_release(srv.idle_ctx);
	rg_ctx_release(srv.kill_ctx);

	/* 5: the summary. */
	char sum[128];
	metrics_summary(sum, sizeof(sum));
	printf("ringo-pool: drained in %lld ms: %lld requests (%s), %lld connections, "
	       "rejected %lld rate, %lld queue, %lld deadline, %lld cut at grace end\n",
	       (long long)((rg_now() - drain_start) / RG_MILLISECOND),
	       (long long)metrics_requests_total(), sum, (long long)atomic_load(&m.conns_accepted),
	       (long long)atomic_load(&m.rejects[RJ_RATE]),
	       (long long)atomic_load(&m.rejects[RJ_QUEUE]),
	       (long long)atomic_load(&m.rejects[RJ_TIMEOUT]), (long long)cut);
	fflush(stdout);
	if (srv.root_fd >= 0)
		close(srv.root_fd);
	return 0;
}

/* ---- flags ------------------------------------------------------------ */

enum {
	O_ADDR = 1000, O_PROCS, O_WORKERS, O_QUEUE, O_TIMEOUT, O_RATE, O_BURST, O_MAX_BODY,
	O_MAX_HEADER, O_MAX_OUTPUT, O_HEADER_TIMEOUT, O_IDLE_TIMEOUT, O_MAX_CONNS, O_GRACE,
	O_ROOT, O_ALLOW, O_DEBUG_REMOTE, O_RATE_CLIENTS, O_HELP,
};

static void usage(FILE *f)
{
	char a[32], b[32], c[32], d[32];
	fprintf(f,
		"usage: ringo-pool [flags]\n"
		"An HTTP/1.1 job server: POST /v1/hash, GET /v1/sleep, GET /v1/files/PATH,\n"
		"POST /v1/exec/NAME, GET /metrics /healthz /readyz /debug/goroutines /.\n"
		"Durations are Go's (500ms, 5s, 1m); sizes take k/M/G (1MiB).\n\n"
		"  --addr HOST:PORT       listen address (default %s)\n"
		"  --procs N              Ps to run goroutines on (default: CPU count)\n"
		"  --workers N            jobs running at once (default %d)\n"
		"  --queue N              jobs waiting for a worker; beyond: 503 (default %d)\n"
		"  --timeout D            deadline of each request; past it: 504 (default %s)\n"
		"  --rate R               requests/s per client address, 0: no limit (default %g)\n"
		"  --burst N              a client's bucket size; empty: 429 (default %d)\n"
		"  --rate-clients N       client buckets remembered (default %zu)\n"
		"  --max-body SIZE        request body limit; beyond: 413 (default %zu)\n"
		"  --max-header-bytes SIZE  request head limit; beyond: 431 (default %zu)\n"
		"  --max-output SIZE      exec stdout limit; beyond: 502 (default %zu)\n"
		"  --header-timeout D     a request head must arrive within (default %s)\n"
		"  --idle-timeout D       keep-alive connections idle longer close (default %s)\n"
		"  --max-conns N          open connections at most (default %ld)\n"
		"  --grace D              drain time after SIGTERM/SIGINT (default %s)\n"
		"  --root DIR             serve DIR at /v1/files/ (default: off)\n"
		"  --allow NAME=PATH      let POST /v1/exec/NAME run PATH (repeatable)\n"
		"  --debug-remote         serve /debug/goroutines to any client, not only loopback\n"
		"  --help                 this text\n",
		cfg.addr, cfg.workers, cfg.queue, format_duration(cfg.timeout, a, sizeof(a)),
		cfg.rate, cfg.burst, cfg.max_keys, cfg.max_body, cfg.max_header, cfg.max_output,
		format_duration(cfg.header_timeout, b, sizeof(b)),
		format_duration(cfg.idle_timeout, c, sizeof(c)), cfg.max_conns,
		format_duration(cfg.grace, d, sizeof(d)));
}

static int bad(const char *flag, const char *val)
{
	fprintf(stderr, "ringo-pool: bad value for --%s: '%s'\n", flag, val);
	return 2;
}

static bool int_arg(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int add_allow(const char *spec)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec || !eq[1])
		return bad("allow", spec);
	size_t nl = (size_t)(eq - spec);
	if (nl >= sizeof(cfg.allow[0].name))
		return bad("allow", spec);
	for (size_t i = 0; i < nl; i++)
		if (!(spec[i] == '-' || spec[i] == '_' || spec[i] == '.' ||
		      (spec[i] >= '0' && spec[i] <= '9') || (spec[i] >= 'a' && spec[i] <= 'z') ||
		      (spec[i] >= 'A' && spec[i] <= 'Z')))
			return bad("allow", spec);
	char real[4096];
	if (!realpath(eq + 1, real) || access(real, X_OK) != 0) {
		fprintf(stderr, "ringo-pool: --allow %s: %s is not an executable file\n", spec,
			eq + 1);
		return 2;
	}
	allow_entry_t *a = realloc(cfg.allow, sizeof(*a) * (size_t)(cfg.nallow + 1));
	if (!a)
		return 1;
	cfg.allow = a;
	memcpy(a[cfg.nallow].name, spec, nl);
	a[cfg.nallow].name[nl] = 0;
	snprintf(a[cfg.nallow].path, sizeof(a[cfg.nallow].path), "%s", real);
	cfg.nallow++;
	return 0;
}

static int parse_flags(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"addr", required_argument, NULL, O_ADDR},
		{"procs", required_argument, NULL, O_PROCS},
		{"workers", required_argument, NULL, O_WORKERS},
		{"queue", required_argument, NULL, O_QUEUE},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"rate", required_argument, NULL, O_RATE},
		{"burst", required_argument, NULL, O_BURST},
		{"rate-clients", required_argument, NULL, O_RATE_CLIENTS},
		{"max-body", required_argument, NULL, O_MAX_BODY},
		{"max-header-bytes", required_argument, NULL, O_MAX_HEADER},
		{"max-output", required_argument, NULL, O_MAX_OUTPUT},
		{"header-timeout", required_argument, NULL, O_HEADER_TIMEOUT},
		{"idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT},
		{"max-conns", required_argument, NULL, O_MAX_CONNS},
		{"grace", required_argument, NULL, O_GRACE},
		{"root", required_argument, NULL, O_ROOT},
		{"allow", required_argument, NULL, O_ALLOW},
		{"debug-remote", no_argument, NULL, O_DEBUG_REMOTE},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	int c, e;
	long v;
	int64_t d;
	char *end;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *name = "";
		for (const struct option *o = longopts; o->name; o++)
			if (o->val == c)
				name = o->name;
		switch (c) {
		case O_ADDR: cfg.addr = optarg; break;
		case O_PROCS:
			if (!int_arg(optarg, 0, 1024, &v))
				return bad(name, optarg);
			cfg.procs = (int)v;
			break;
		case O_WORKERS:
			if (!int_arg(optarg, 1, 1000000, &v))
				return bad(name, optarg);
			cfg.workers = (int)v;
			break;
		case O_QUEUE:
			if (!int_arg(optarg, 0, 100000000, &v))
				return bad(name, optarg);
			cfg.queue = (int)v;
			break;
		case O_BURST:
			if (!int_arg(optarg, 1, 1000000000, &v))
				return bad(name, optarg);
			cfg.burst = (int)v;
			break;
		case O_RATE_CLIENTS:
			if (!int_arg(optarg, 1, 100000000, &v))
				return bad(name, optarg);
			cfg.max_keys = (size_t)v;
			break;
		case O_MAX_CONNS:
			if (!int_arg(optarg, 1, 10000000, &v))
				return bad(name, optarg);
			cfg.max_conns = v;
			break;
		case O_RATE:
			errno = 0;
			cfg.rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(cfg.rate >= 0) || isinf(cfg.rate))
				return bad(name, optarg);
			break;
		case O_MAX_BODY:
		case O_MAX_HEADER:
		case O_MAX_OUTPUT: {
			size_t sz;
			if (parse_size(optarg, &sz) < 0 || sz == 0)
				return bad(name, optarg);
			*(c == O_MAX_BODY ? &cfg.max_body
			  : c == O_MAX_HEADER ? &cfg.max_header : &cfg.max_output) = sz;
			break;
		}
		case O_TIMEOUT:
		case O_HEADER_TIMEOUT:
		case O_IDLE_TIMEOUT:
		case O_GRACE:
			if (parse_duration(optarg, &d) < 0 || d < 0 || (d == 0 && c != O_GRACE))
				return bad(name, optarg);
			*(c == O_TIMEOUT ? &cfg.timeout
			  : c == O_HEADER_TIMEOUT ? &cfg.header_timeout
			  : c == O_IDLE_TIMEOUT ? &cfg.idle_timeout : &cfg.grace) = d;
			break;
		case O_ROOT: cfg.root = optarg; break;
		case O_ALLOW:
			if ((e = add_allow(optarg)) != 0)
				return e;
			break;
		case O_DEBUG_REMOTE: cfg.debug_remote = true; break;
		case O_HELP: usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ringo-pool: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}

/* Go 1.19+ raises the soft descriptor limit to the hard one at start:
 * a server with many connections needs it, and select(2) (the reason
 * for the low soft default) is not used here. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur < cfg.max_conns + 64)
		fprintf(stderr, "ringo-pool: RLIMIT_NOFILE is %ld, below --max-conns %ld: "
				"accept will back off on EMFILE\n",
			(long)rl.rlim_cur, cfg.max_conns);
}

int main(int argc, char **argv)
{
	int e = parse_flags(argc, argv);
	if (e)
		return e;
	raise_nofile();
	if (cfg.procs > 0) {
		char n[16];
		snprintf(n, sizeof(n), "%d", cfg.procs);
		setenv("RINGO_PROCS", n, 1);
	}
	int rc = rg_main(serve, NULL);
	if (rc < 0) {
		fprintf(stderr, "ringo-pool: cannot start the runtime: %s\n", strerror(-rc));
		return 1;
	}
	return rc;
}
