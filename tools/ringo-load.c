// SPDX-License-Identifier: MIT
/*
 * ringo-load — closed-loop TCP echo load generator.
 *
 * Each of N connections repeatedly writes S bytes, reads S bytes back, checks
 * that they are the bytes it sent, and records the round-trip time.  The
 * connections are spread over T threads; each thread drives its share with
 * one epoll instance.  Plain C (pthreads + epoll): this program does not use
 * libringo's runtime, so it measures every server the same way.
 *
 * Timeline: all threads start together, connect, and run for --warmup
 * seconds without recording; then for --duration seconds every request that
 * completes is counted and its latency recorded.  When the deadline passes
 * each thread stops, whatever its connections are doing, so a run always
 * ends within warmup + duration (plus a millisecond or so, and the initial
 * reachability check, at most 3 s), even against a server that stops
 * answering.
 *
 * Errors (all counted in errors=, and any error makes the exit status 1):
 *   - mismatch: the bytes read back differ from the bytes sent;
 *   - closed:   the server closed or reset a connection mid-run.  That
 *               connection is closed and NOT reopened (a server that drops
 *               connections is broken for this benchmark; reconnecting would
 *               hide that and turn the run into a connect benchmark).  If
 *               every connection of a thread is gone, the thread stops early;
 *               req/s is still computed over the full duration;
 *   - connect:  a connection could not be established during the run;
 *   - stalled:  a connection that stayed open but never got a single reply
 *               (nor finished connecting) in the whole run: a server that
 *               accepts and then says nothing is not a working server.
 *
 * Exit status: 0 success, 1 errors occurred, 2 usage error or the server
 * could not be reached at all.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG "ringo-load"

/* ---------------------------------------------------------------- time */

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ----------------------------------------------------------- histogram */

/*
 * Log-linear histogram (the HdrHistogram idea): values below 2^P are counted
 * exactly; above that, each power of two is split into 2^P equal
 * sub-buckets, so every recorded value is known to within 1/2^P (0.8 % for
 * P = 7).  Fixed size, no allocation while recording.
 */
#define H_P 7
#define H_SUB (1u << H_P)
#define H_BUCKETS ((64 - H_P + 1) * H_SUB)

struct hist {
	uint64_t count;
	uint64_t max;
	uint64_t n[H_BUCKETS];
};

static inline unsigned h_index(uint64_t v)
{
	if (v < H_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned e = msb - H_P;               /* >= 0 */
	unsigned sub = (unsigned)(v >> e);    /* in [H_SUB, 2*H_SUB) */
	return (e + 1) * H_SUB + (sub - H_SUB);
}

/* Highest value that falls into bucket i (conservative, like HDR). */
static uint64_t h_high(unsigned i)
{
	if (i < H_SUB)
		return i;
	unsigned e = i / H_SUB - 1;
	uint64_t sub = H_SUB + i % H_SUB;
	return ((sub + 1) << e) - 1;
}

static inline void h_record(struct hist *h, uint64_t v)
{
	h->n[h_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

static void h_merge(struct hist *dst, const struct hist *src)
{
	for (unsigned i = 0; i < H_BUCKETS; i++)
		dst->n[i] += src->n[i];
	dst->count += src->count;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* Value at quantile ppm/1e6; 0 when empty. */
static uint64_t h_quantile(const struct hist *h, uint64_t ppm)
{
	if (h->count == 0)
		return 0;
	uint64_t rank = (h->count * ppm + 999999) / 1000000;
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < H_BUCKETS; i++) {
		seen += h->n[i];
		if (seen >= rank) {
			uint64_t v = h_high(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

/* ------------------------------------------------------------- options */

static const char *opt_addr = "127.0.0.1:7000";
static const char *opt_label = "server";
static long opt_conns = 64;
static long opt_size = 64;
static double opt_duration = 5.0;
static double opt_warmup = 0.5;
static long opt_threads = 1;
static int opt_quiet;

static struct sockaddr_storage g_sa;
static socklen_t g_salen;

static void usage(FILE *f)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	fprintf(f,
"usage: " PROG " [options]\n"
"Closed-loop TCP echo load: each connection writes SIZE bytes, reads them\n"
"back, checks them, records the round trip, and repeats until the deadline.\n"
"\n"
"  -a, --addr HOST:PORT   server to load (default 127.0.0.1:7000)\n"
"  -c, --conns N          concurrent connections (default 64)\n"
"  -s, --size BYTES       message size (default 64)\n"
"  -d, --duration SECS    measured time, fractions allowed (default 5)\n"
"      --warmup SECS      unmeasured time before it (default 0.5)\n"
"  -t, --threads T        load threads (default 1).  This machine has %ld\n"
"                         CPU%s and the server under test runs on the same\n"
"                         ones: every thread given to the load generator is\n"
"                         taken from the server, so keep T small and compare\n"
"                         servers only at the same T.\n"
"  -l, --label NAME       impl= name in the RESULT line (default \"server\")\n"
"  -q, --quiet            only the RESULT line\n"
"  -h, --help             this text\n"
"\n"
"Output: one human-readable line, then exactly one machine line:\n"
"  RESULT name=echo impl=NAME conns=N size=S rps=R p50_us=X p99_us=Y errors=E\n"
"Errors: echoed bytes that differ, connections the server closes (those are\n"
"not reopened), connections that fail to open, and connections that never\n"
"get a single reply.  The run always ends at warmup + duration, whatever\n"
"the server does (after a reachability check of at most 3 s).\n"
"Exit status: 0 clean, 1 if errors > 0, 2 on bad usage or if the server\n"
"cannot be reached.\n", ncpu, ncpu == 1 ? "" : "s");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_secs(const char *s, double lo, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo) || v > 86400.0)
		return -1;
	*out = v;
	return 0;
}

static int resolve(const char *addr)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || !colon[1] ||
	    (size_t)(colon - addr) >= sizeof host) {
		fprintf(stderr, PROG ": bad address '%s' (want HOST:PORT)\n", addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	/* allow [v6addr]:port */
	char *h = host;
	size_t hl = strlen(h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h[hl - 1] = '\0';
		h++;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	int rc = getaddrinfo(h, colon + 1, &hints, &res);
	if (rc) {
		fprintf(stderr, PROG ": cannot resolve '%s': %s\n", addr,
			gai_strerror(rc));
		return -1;
	}
	memcpy(&g_sa, res->ai_addr, res->ai_addrlen);
	g_salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* One blocking-with-timeout connect, to fail fast with a clear message. */
static int probe(void)
{
	int fd = socket(g_sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
		return -1;
	}
	int err = 0;
	if (connect(fd, (struct sockaddr *)&g_sa, g_salen) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int n = poll(&p, 1, 3000);
			if (n == 0) {
				err = ETIMEDOUT;
			} else if (n < 0) {
				err = errno;
			} else {
				socklen_t l = sizeof err;
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
			}
		}
	}
	close(fd);
	if (err) {
		fprintf(stderr, PROG ": cannot connect to %s: %s\n", opt_addr,
			strerror(err));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- the engine */

enum cstate { C_CONNECTING, C_BUSY, C_IDLE, C_DEAD };

struct conn {
	int fd;
	enum cstate st;
	uint32_t id;
	uint32_t seq;
	uint64_t replies;       /* complete replies, warmup included */
	size_t wr, rd;          /* bytes of this request written, read back */
	uint64_t t0;            /* request start */
	unsigned char *wbuf;
	unsigned char *rbuf;
};

struct worker {
	pthread_t th;
	int idx;
	struct conn *conns;
	long nconns;
	long live;
	uint64_t done;          /* requests completed in the window */
	uint64_t mismatch, closed, connfail, stalled;
	const char *first_err;  /* the first failure, for the report */
	struct hist *h;
};

static uint64_t g_t_start, g_t_measure, g_t_end;
static pthread_barrier_t g_barrier;

static void fill(struct conn *c)
{
	/* a different pattern per connection and per request */
	unsigned char b = (unsigned char)(c->id * 131u + c->seq * 7u + 1u);
	for (long i = 0; i < opt_size; i++)
		c->wbuf[i] = (unsigned char)(b + (unsigned char)i * 13u);
}

static void kill_conn(struct worker *w, struct conn *c, int ep)
{
	if (c->st == C_DEAD)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->st = C_DEAD;
	w->live--;
}

static void note_err(struct worker *w, int err)
{
	if (!w->first_err)
		w->first_err = err ? strerror(err) : "closed by the server";
}

static void start_request(struct conn *c, uint64_t t)
{
	c->seq++;
	fill(c);
	c->wr = c->rd = 0;
	c->t0 = t;
	c->st = C_BUSY;
}

/*
 * Drive one connection without blocking.  Edge-triggered epoll: a return
 * happens at EAGAIN (for reading, and for writing while the request is not
 * fully written), at a dead connection, past the deadline, or right after
 * a new request has been written in full.  That last case does not try to
 * read the reply: its arrival raises a fresh EPOLLIN edge, so the
 * connection goes to the back of the ready list.  Reading on at once would
 * let one connection monopolise the thread whenever the server runs on the
 * same CPU and answers within the send() (wakeup preemption), which skews
 * the latency distribution badly.  Reading goes on while writing is
 * incomplete, so messages larger than the socket buffers cannot deadlock
 * against the server.
 */
static void drive(struct worker *w, struct conn *c, int ep, uint32_t evs)
{
	const size_t size = (size_t)opt_size;

	if (c->st == C_IDLE || c->st == C_DEAD)
		return;
	if (c->st == C_CONNECTING) {
		if (!(evs & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		int err = 0;
		socklen_t l = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			w->connfail++;
			note_err(w, err);
			kill_conn(w, c, ep);
			return;
		}
		start_request(c, now_ns());
	}
	int fresh = c->wr == 0;         /* nothing of this request sent yet */
	for (;;) {
		int wblocked = 0;
		if (c->wr < size) {
			ssize_t n = send(c->fd, c->wbuf + c->wr, size - c->wr,
					 MSG_NOSIGNAL);
			if (n >= 0) {
				c->wr += (size_t)n;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				wblocked = 1;
			} else if (errno != EINTR) {
				w->closed++;
				note_err(w, errno);
				kill_conn(w, c, ep);
				return;
			}
		}
		if (fresh && c->wr == size)
			return;         /* wait for the reply's EPOLLIN edge */
		fresh = 0;
		ssize_t n = recv(c->fd, c->rbuf + c->rd, size - c->rd, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (c->wr == size || wblocked)
					return;
				continue;       /* short write: write more */
			}
			if (errno == EINTR)
				continue;
			w->closed++;
			note_err(w, errno);
			kill_conn(w, c, ep);
			return;
		}
		if (n == 0) {
			w->closed++;
			note_err(w, 0);
			kill_conn(w, c, ep);
			return;
		}
		c->rd += (size_t)n;
		if (c->rd < size)
			continue;
		uint64_t t = now_ns();
		c->replies++;
		if (c->wr < size || memcmp(c->rbuf, c->wbuf, size) != 0) {
			/* (a full reply before the full request: not an echo) */
			w->mismatch++;
			if (!w->first_err)
				w->first_err = "echoed bytes differ";
		} else if (t >= g_t_measure && t < g_t_end) {
			w->done++;
			h_record(w->h, t - c->t0);
		}
		if (t >= g_t_end) {
			c->st = C_IDLE;         /* past the deadline: stop here */
			return;
		}
		start_request(c, t);
		fresh = 1;
	}
}

static int open_conn(struct worker *w, struct conn *c, int ep)
{
	int fd = socket(g_sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		note_err(w, errno);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	c->st = C_CONNECTING;
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP,
		.data.ptr = c,
	};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		note_err(w, errno);
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&g_sa, g_salen) < 0 &&
	    errno != EINPROGRESS) {
		note_err(w, errno);
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		close(fd);
		return -1;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	pthread_barrier_wait(&g_barrier);
	if (ep < 0) {
		note_err(w, errno);
		w->connfail += (uint64_t)w->nconns;
		return NULL;
	}
	w->live = 0;
	for (long i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		if (open_conn(w, c, ep) < 0) {
			c->st = C_DEAD;
			c->fd = -1;
			w->connfail++;
		} else {
			w->live++;
		}
	}

	struct epoll_event evs[256];
	while (w->live > 0) {
		uint64_t t = now_ns();
		if (t >= g_t_end)
			break;
		uint64_t left = g_t_end - t;
		int ms = (int)((left + 999999) / 1000000);
		int n = epoll_wait(ep, evs, 256, ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			note_err(w, errno);
			break;
		}
		for (int i = 0; i < n; i++)
			drive(w, evs[i].data.ptr, ep, evs[i].events);
	}
	for (long i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		if (c->st == C_DEAD)
			continue;
		if (c->replies == 0) {
			w->stalled++;
			if (!w->first_err)
				w->first_err = "no reply from the server";
		}
		close(c->fd);
	}
	close(ep);
	return NULL;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "conns", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "label", required_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "a:c:s:d:t:l:qh", lo, NULL)) != -1) {
		switch (o) {
		case 'a': opt_addr = optarg; break;
		case 'l': opt_label = optarg; break;
		case 'q': opt_quiet = 1; break;
		case 'c':
			if (parse_long(optarg, 1, 1000000, &opt_conns)) goto bad;
			break;
		case 's':
			if (parse_long(optarg, 1, 64L << 20, &opt_size)) goto bad;
			break;
		case 't':
			if (parse_long(optarg, 1, 1024, &opt_threads)) goto bad;
			break;
		case 'd':
			if (parse_secs(optarg, 0.001, &opt_duration)) goto bad;
			break;
		case 'w':
			if (parse_secs(optarg, 0.0, &opt_warmup)) goto bad;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		continue;
bad:
		for (const struct option *x = lo; x->name; x++)
			if (x->val == o)
				fprintf(stderr, PROG ": bad value '%s' for --%s\n",
					optarg, x->name);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	for (const char *p = opt_label; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '=') {
			fprintf(stderr, PROG ": --label must not contain blanks or '='\n");
			return 2;
		}
	if (opt_threads > opt_conns)
		opt_threads = opt_conns;

	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (resolve(opt_addr) < 0 || probe() < 0)
		return 2;

	struct worker *ws = calloc((size_t)opt_threads, sizeof *ws);
	struct conn *cs = calloc((size_t)opt_conns, sizeof *cs);
	unsigned char *bufs = malloc((size_t)opt_conns * 2 * (size_t)opt_size);
	if (!ws || !cs || !bufs) {
		fprintf(stderr, PROG ": out of memory\n");
		return 2;
	}
	for (long i = 0; i < opt_conns; i++) {
		cs[i].id = (uint32_t)i;
		cs[i].fd = -1;
		cs[i].wbuf = bufs + (size_t)i * 2 * (size_t)opt_size;
		cs[i].rbuf = cs[i].wbuf + opt_size;
	}
	long per = opt_conns / opt_threads, extra = opt_conns % opt_threads;
	long at = 0;
	for (long t = 0; t < opt_threads; t++) {
		ws[t].idx = (int)t;
		ws[t].conns = cs + at;
		ws[t].nconns = per + (t < extra);
		at += ws[t].nconns;
		ws[t].h = calloc(1, sizeof(struct hist));
		if (!ws[t].h) {
			fprintf(stderr, PROG ": out of memory\n");
			return 2;
		}
	}

	pthread_barrier_init(&g_barrier, NULL, (unsigned)opt_threads + 1);
	for (long t = 0; t < opt_threads; t++) {
		int rc = pthread_create(&ws[t].th, NULL, worker_main, &ws[t]);
		if (rc) {
			fprintf(stderr, PROG ": pthread_create: %s\n", strerror(rc));
			return 2;
		}
	}
	g_t_start = now_ns();
	g_t_measure = g_t_start + (uint64_t)(opt_warmup * 1e9);
	g_t_end = g_t_measure + (uint64_t)(opt_duration * 1e9);
	pthread_barrier_wait(&g_barrier);

	struct hist *h = calloc(1, sizeof *h);
	uint64_t done = 0, mism = 0, closed = 0, cfail = 0, stalled = 0;
	const char *first_err = NULL;
	for (long t = 0; t < opt_threads; t++) {
		pthread_join(ws[t].th, NULL);
		h_merge(h, ws[t].h);
		done += ws[t].done;
		mism += ws[t].mismatch;
		closed += ws[t].closed;
		cfail += ws[t].connfail;
		stalled += ws[t].stalled;
		if (!first_err)
			first_err = ws[t].first_err;
	}
	uint64_t errors = mism + closed + cfail + stalled;

	double rps = (double)done / opt_duration;
	double p50 = (double)h_quantile(h, 500000) / 1e3;
	double p99 = (double)h_quantile(h, 990000) / 1e3;
	double p999 = (double)h_quantile(h, 999000) / 1e3;
	double mx = (double)h->max / 1e3;

	if (!opt_quiet) {
		printf("echo %s %s: %ld conns x %ld B, %ld thread%s, %.2f s: "
		       "%.0f req/s, p50 %.1f us, p99 %.1f us, p999 %.1f us, "
		       "max %.1f us, errors %llu",
		       opt_label, opt_addr, opt_conns, opt_size, opt_threads,
		       opt_threads == 1 ? "" : "s", opt_duration, rps, p50, p99,
		       p999, mx, (unsigned long long)errors);
		if (errors)
			printf(" (mismatch %llu, closed %llu, connect %llu, "
			       "stalled %llu; first: %s)",
			       (unsigned long long)mism, (unsigned long long)closed,
			       (unsigned long long)cfail, (unsigned long long)stalled,
			       first_err ? first_err : "?");
		printf("\n");
	}
	printf("RESULT name=echo impl=%s conns=%ld size=%ld rps=%.0f "
	       "p50_us=%.1f p99_us=%.1f errors=%llu\n",
	       opt_label, opt_conns, opt_size, rps, p50, p99,
	       (unsigned long long)errors);
	fflush(stdout);

	int rc = errors ? 1 : 0;
	if (cfail == (uint64_t)opt_conns) {
		fprintf(stderr, PROG ": no connection to %s could be opened: %s\n",
			opt_addr, first_err ? first_err : "?");
		rc = 2;
	} else if (cfail) {
		fprintf(stderr, PROG ": %llu connection%s to %s failed to open\n",
			(unsigned long long)cfail, cfail == 1 ? "" : "s", opt_addr);
	}
	if (mism)
		fprintf(stderr, PROG ": %llu echoed messages differed from what was sent\n",
			(unsigned long long)mism);
	if (closed)
		fprintf(stderr, PROG ": %s closed %llu connection%s mid-run\n",
			opt_addr, (unsigned long long)closed, closed == 1 ? "" : "s");
	if (stalled)
		fprintf(stderr, PROG ": %llu connection%s to %s never got a reply\n",
			(unsigned long long)stalled, stalled == 1 ? "" : "s", opt_addr);

	for (long t = 0; t < opt_threads; t++)
		free(ws[t].h);
	free(h);
	free(ws);
	free(cs);
	free(bufs);
	pthread_barrier_destroy(&g_barrier);
	return rc;
}
