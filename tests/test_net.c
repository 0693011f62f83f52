// SPDX-License-Identifier: MIT
/*
 * test_net.c — sockets: addresses, listen/dial/accept, reads and writes
 * over loopback TCP, UDP and unix sockets, large and partial transfers,
 * 10,000 concurrent connections, cancellation and deadlines of blocked
 * calls, foreign threads.  Every case runs on both backends (rgio.h).
 */
#include "helpers/rgio.h"
#include "helpers/rgpark.h"

#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>


#define MiB (1024 * 1024)

/* ---- addresses ----------------------------------------------------- */

/* True if this host has IPv6 loopback. */
static bool have_ipv6(void)
{
	int fd = rg_listen("tcp6", "[::1]:0");
	if (fd < 0)
		return false;
	rg_close(fd);
	return true;
}

static int sockopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	return getsockopt(fd, level, name, &v, &len) < 0 ? -errno : v;
}

/* A listener's flags: close-on-exec, SO_REUSEADDR, listening, and
 * non-blocking exactly on the epoll backend. */
static int check_listener(int fd, int family)
{
	CHECK_CMP(fd, >=, 0);
	CHECK_CMP(rgio_family(fd), ==, family);
	CHECK_CMP(rgio_port(fd), >, 0);
	CHECK(rgio_cloexec(fd));
	CHECK(rgio_nonblock(fd) == rgio_epoll());
	CHECK_CMP(sockopt(fd, SOL_SOCKET, SO_REUSEADDR), ==, 1);
	return 0;
}

/* Dials "host:port" and returns 0 if it connected. */
static int dial_ok(const char *fmt, int port)
{
	char addr[64];
	snprintf(addr, sizeof(addr), fmt, port);
	int fd = rg_dial("tcp", addr, NULL);
	if (fd < 0)
		return fd;
	rg_close(fd);
	return 0;
}

/* Go-style addresses listen where they say. */
static int scen_listen_addrs(void *arg)
{
	(void)arg;
	int fd = rg_listen("tcp", "127.0.0.1:0");
	CHECK(check_listener(fd, AF_INET) == 0);
	CHECK_CMP(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), ==, 1);
	CHECK_CMP(dial_ok("127.0.0.1:%d", rgio_port(fd)), ==, 0);
	/* An empty host dials the loopback. */
	CHECK_CMP(dial_ok(":%d", rgio_port(fd)), ==, 0);
	CHECK_CMP(rg_close(fd), ==, 0);

	fd = rg_listen("tcp4", ":0");
	CHECK(check_listener(fd, AF_INET) == 0);
	rg_close(fd);

	fd = rg_listen("tcp", "localhost:0");
	CHECK_CMP(fd, >=, 0);
	CHECK_CMP(dial_ok("localhost:%d", rgio_port(fd)), ==, 0);
	rg_close(fd);

	/* ":port" on tcp: dual-stack [::] when the host has IPv6. */
	fd = rg_listen("tcp", ":0");
	CHECK_CMP(fd, >=, 0);
	int port = rgio_port(fd);
	CHECK_CMP(dial_ok("127.0.0.1:%d", port), ==, 0);
	if (have_ipv6()) {
		CHECK(check_listener(fd, AF_INET6) == 0);
		CHECK_CMP(sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY), ==, 0);
		CHECK_CMP(dial_ok("[::1]:%d", port), ==, 0);
		rg_close(fd);

		fd = rg_listen("tcp6", ":0");
		CHECK(check_listener(fd, AF_INET6) == 0);
		CHECK_CMP(sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY), ==, 1);
		CHECK_CMP(dial_ok("127.0.0.1:%d", rgio_port(fd)), ==, -ECONNREFUSED);
		CHECK_CMP(dial_ok("[::1]:%d", rgio_port(fd)), ==, 0);
		rg_close(fd);

		fd = rg_listen("tcp", "[::1]:0");
		CHECK(check_listener(fd, AF_INET6) == 0);
		rg_close(fd);
	} else {
		print_message("no IPv6 here: IPv6 addresses not tested\n");
		rg_close(fd);
	}

	/* Datagram "listeners" are bound, not listening. */
	fd = rg_listen("udp", "127.0.0.1:0");
	CHECK(check_listener(fd, AF_INET) == 0);
	CHECK_CMP(sockopt(fd, SOL_SOCKET, SO_TYPE), ==, SOCK_DGRAM);
	rg_close(fd);
	fd = rg_listen("udp4", ":0");
	CHECK(check_listener(fd, AF_INET) == 0);
	rg_close(fd);
	return 0;
}
RGIO_CASE(listen_addrs, "2")

/* Malformed addresses and unknown networks are -EINVAL; a port in use
 * is -EADDRINUSE. */
static int scen_bad_addrs(void *arg)
{
	(void)arg;
	static const char *const bad[][2] = {
		{"tcp", "127.0.0.1"},         /* missing port */
		{"tcp", "127.0.0.1:65536"},   /* port out of range */
		{"tcp", "127.0.0.1:-1"},
		{"tcp", "127.0.0.1:no-such-service"},
		{"tcp", "::1:80"},            /* IPv6 without brackets */
		{"tcp", "[::1:80"},
		{"tcp", "[::1]"},
		{"tcp", "[::1]x:80"},
		{"tcp", "[[::1]]:80"},
		{"tcp4", "[::1]:0"},          /* family mismatch */
		{"tcp6", "127.0.0.1:0"},
		{"tcp", "[fe80::1%no-such-if]:0"},
		{"tcpx", "127.0.0.1:0"},      /* unknown network */
		{"", "127.0.0.1:0"},
		{"ip", "127.0.0.1:0"},
		{"unix", ""},                 /* empty path */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = rg_listen(bad[i][0], bad[i][1]);
		if (r != -EINVAL) {
			char what[128];
			snprintf(what, sizeof(what), "rg_listen(%s, %s) = %d, want -EINVAL",
				 bad[i][0], bad[i][1], r);
			rgc_fail(__FILE__, __LINE__, what);
			if (r >= 0)
				rg_close(r);
			return 1;
		}
		CHECK_CMP(rg_dial(bad[i][0], bad[i][1], NULL), ==, -EINVAL);
	}
	CHECK_CMP(rg_listen(NULL, ":0"), ==, -EINVAL);
	CHECK_CMP(rg_listen("tcp", NULL), ==, -EINVAL);
	CHECK_CMP(rg_dial(NULL, ":80", NULL), ==, -EINVAL);

	/* A unix path one byte too long for sun_path. */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	CHECK_CMP(rg_listen("unix", path), ==, -EINVAL);

	/* SO_REUSEADDR does not let two listeners share a port. */
	int fd = rg_listen("tcp", "127.0.0.1:0");
	CHECK_CMP(fd, >=, 0);
	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", rgio_port(fd));
	CHECK_CMP(rg_listen("tcp", addr), ==, -EADDRINUSE);
	rg_close(fd);
	return 0;
}
RGIO_CASE(bad_addrs, "1")

/* A closed port refuses; names and service names resolve. */
static int scen_dial_refused(void *arg)
{
	(void)arg;
	char addr[32];
	int ln = rg_listen("tcp", "127.0.0.1:0");
	CHECK_CMP(ln, >=, 0);
	int port = rgio_port(ln);
	CHECK_CMP(rg_close(ln), ==, 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	CHECK_CMP(rg_dial("tcp", addr, NULL), ==, -ECONNREFUSED);
	snprintf(addr, sizeof(addr), "localhost:%d", port);
	CHECK_CMP(rg_dial("tcp", addr, NULL), ==, -ECONNREFUSED);
	/* A service name: "discard" is port 9, resolved, then refused. */
	if (getservbyname("discard", "tcp"))
		CHECK_CMP(rg_dial("tcp4", "127.0.0.1:discard", NULL), ==, -ECONNREFUSED);
	return 0;
}
RGIO_CASE(dial_refused, "2")

/* "localhost:port" resolves (getaddrinfo off the P) and connects to a
 * dual-stack listener. */
static int scen_dial_localhost(void *arg)
{
	(void)arg;
	char addr[32], c;
	int ln = rg_listen("tcp", ":0");
	CHECK_CMP(ln, >=, 0);
	snprintf(addr, sizeof(addr), "localhost:%d", rgio_port(ln));
	int fd = rg_dial("tcp", addr, NULL);
	CHECK_CMP(fd, >=, 0);
	CHECK(rgio_cloexec(fd));
	CHECK(rgio_nonblock(fd) == rgio_epoll());
	int a = rg_accept(ln, NULL, NULL, NULL);
	CHECK_CMP(a, >=, 0);
	CHECK_CMP(rg_write(fd, "x", 1, NULL), ==, 1);
	CHECK_CMP(rg_read(a, &c, 1, NULL), ==, 1);
	CHECK(c == 'x');
	rg_close(a);
	rg_close(fd);
	rg_close(ln);
	return 0;
}
RGIO_CASE(dial_localhost, "2")

/* ---- basic exchange ------------------------------------------------ */

/* Accept fills the peer address; short reads return what is there;
 * recv/send; EOF reads 0; MSG_WAITALL waits for all. */
static int scen_echo_basic(void *arg)
{
	(void)arg;
	char addr[32], buf[100];
	int ln = rg_listen("tcp", "127.0.0.1:0");
	CHECK_CMP(ln, >=, 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", rgio_port(ln));
	int c = rg_dial("tcp", addr, NULL);
	CHECK_CMP(c, >=, 0);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int s = rg_accept(ln, (struct sockaddr *)&ss, &len, NULL);
	CHECK_CMP(s, >=, 0);
	CHECK_CMP(len, ==, sizeof(struct sockaddr_in));
	CHECK_CMP(ss.ss_family, ==, AF_INET);
	CHECK_CMP(ntohs(((struct sockaddr_in *)&ss)->sin_port), ==, rgio_port(c));
	CHECK(rgio_cloexec(s));
	CHECK(rgio_nonblock(s) == rgio_epoll());

	/* Short read: 5 bytes arrive, 100 asked. */
	CHECK_CMP(rg_write(c, "hello", 5, NULL), ==, 5);
	CHECK_CMP(rg_read(s, buf, sizeof(buf), NULL), ==, 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_CMP(rg_send(s, "world", 5, 0, NULL), ==, 5);
	CHECK_CMP(rg_recv(c, buf, sizeof(buf), 0, NULL), ==, 5);
	CHECK(memcmp(buf, "world", 5) == 0);

	/* Zero-length calls make a request and succeed. */
	CHECK_CMP(rg_write(c, buf, 0, NULL), ==, 0);
	CHECK_CMP(rg_send(c, buf, 0, 0, NULL), ==, 0);

	/* MSG_DONTWAIT with nothing there: -EAGAIN, no wait. */
	CHECK_CMP(rg_recv(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), ==, -EAGAIN);
	/* MSG_PEEK leaves the data. */
	CHECK_CMP(rg_write(c, "abc", 3, NULL), ==, 3);
	CHECK_CMP(rg_recv(s, buf, 2, MSG_PEEK, NULL), ==, 2);
	CHECK_CMP(rg_recv(s, buf, 3, MSG_WAITALL, NULL), ==, 3);
	CHECK(memcmp(buf, "abc", 3) == 0);

	/* The peer closes: its data first, then EOF, again and again. */
	CHECK_CMP(rg_write(c, "bye", 3, NULL), ==, 3);
	CHECK_CMP(rg_close(c), ==, 0);
	CHECK_CMP(rg_read(s, buf, sizeof(buf), NULL), ==, 3);
	CHECK_CMP(rg_read(s, buf, sizeof(buf), NULL), ==, 0);
	CHECK_CMP(rg_recv(s, buf, sizeof(buf), 0, NULL), ==, 0);
	CHECK_CMP(rg_read(s, buf, sizeof(buf), NULL), ==, 0);
	rg_close(s);
	rg_close(ln);
	return 0;
}
RGIO_CASE(echo_basic, "2")

struct waitall {
	int fd;
	rg_waitgroup_t wg;
};

static void trickle(void *arg)
{
	struct waitall *w = arg;
	for (int i = 0; i < 10; i++) {
		rg_sleep(RG_MILLISECOND);
		GCHECK(rg_write(w->fd, "0123456789" + i, 1, NULL) == 1);
	}
	rg_wg_done(&w->wg);
}

/* MSG_WAITALL gathers bytes that arrive one at a time (both backends:
 * the epoll one loops on its non-blocking socket). */
static int scen_recv_waitall(void *arg)
{
	(void)arg;
	int p[2];
	char buf[16] = {0};
	CHECK_CMP(rgio_tcp_pair(p), ==, 0);
	struct waitall w = {.fd = p[0]};
	rg_wg_add(&w.wg, 1);
	CHECK_CMP(rg_go(trickle, &w), ==, 0);
	CHECK_CMP(rg_recv(p[1], buf, 10, MSG_WAITALL, NULL), ==, 10);
	CHECK(memcmp(buf, "0123456789", 10) == 0);
	rg_wg_wait(&w.wg);
	rg_close(p[0]);
	rg_close(p[1]);
	return 0;
}
RGIO_CASE(recv_waitall, "2")

/* Calls on a bad descriptor fail with -EBADF (and friends), nothing
 * blocks. */
static int scen_bad_fds(void *arg)
{
	(void)arg;
	char buf[8];
	struct iovec iov = {buf, sizeof(buf)};
	int closed = rg_listen("tcp", "127.0.0.1:0");
	CHECK_CMP(closed, >=, 0);
	CHECK_CMP(rg_close(closed), ==, 0);

	int fds[] = {-1, closed, 1000000};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		int fd = fds[i];
		CHECK_CMP(rg_read(fd, buf, sizeof(buf), NULL), ==, -EBADF);
		CHECK_CMP(rg_write(fd, buf, sizeof(buf), NULL), ==, -EBADF);
		CHECK_CMP(rg_recv(fd, buf, sizeof(buf), 0, NULL), ==, -EBADF);
		CHECK_CMP(rg_send(fd, buf, sizeof(buf), 0, NULL), ==, -EBADF);
		CHECK_CMP(rg_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL, NULL), ==, -EBADF);
		CHECK_CMP(rg_sendto(fd, buf, sizeof(buf), 0, NULL, 0, NULL), ==, -EBADF);
		CHECK_CMP(rg_readv(fd, &iov, 1, NULL), ==, -EBADF);
		CHECK_CMP(rg_writev(fd, &iov, 1, NULL), ==, -EBADF);
		CHECK_CMP(rg_accept(fd, NULL, NULL, NULL), ==, -EBADF);
		CHECK_CMP(rg_close(fd), ==, -EBADF);
	}

	/* A socket that is not listening; a pipe is not a socket. */
	int p[2];
	CHECK_CMP(pipe2(p, O_CLOEXEC), ==, 0);
	CHECK_CMP(rg_accept(p[0], NULL, NULL, NULL), ==, -ENOTSOCK);
	CHECK_CMP(rg_recv(p[0], buf, 1, 0, NULL), ==, -ENOTSOCK);
	CHECK_CMP(rg_send(p[1], buf, 1, 0, NULL), ==, -ENOTSOCK);
	rg_close(p[0]);
	rg_close(p[1]);
	int pair[2];
	CHECK_CMP(rgio_tcp_pair(pair), ==, 0);
	CHECK_CMP(rg_accept(pair[0], NULL, NULL, NULL), ==, -EINVAL);
	rg_close(pair[0]);
	rg_close(pair[1]);
	return 0;
}
RGIO_CASE(bad_fds, "1")

/* Writing to a peer that is gone is -EPIPE (or -ECONNRESET), never a
 * fatal SIGPIPE: sends say MSG_NOSIGNAL, and the binary ignores SIGPIPE
 * for plain writes. */
static int scen_epipe(void *arg)
{
	(void)arg;
	int p[2];
	static char buf[64 * 1024];
	CHECK_CMP(rgio_tcp_pair(p), ==, 0);
	CHECK_CMP(rg_close(p[1]), ==, 0);
	ssize_t r = 0;
	for (int i = 0; i < 100 && r >= 0; i++)
		r = rg_write(p[0], buf, sizeof(buf), NULL);
	CHECK(r == -EPIPE || r == -ECONNRESET);
	r = rg_send(p[0], buf, sizeof(buf), 0, NULL);
	CHECK(r == -EPIPE || r == -ECONNRESET);
	r = rg_send(p[0], buf, sizeof(buf), 0, NULL);
	CHECK_CMP(r, ==, -EPIPE);
	rg_close(p[0]);
	return 0;
}
RGIO_CASE(epipe, "2")

/* ---- large and partial transfers ----------------------------------- */

struct xfer {
	int fd;
	const char *src;
	size_t n;
	ssize_t res;
	rg_waitgroup_t wg;
};

static void xfer_write(void *arg)
{
	struct xfer *x = arg;
	x->res = rg_write(x->fd, x->src, x->n, NULL);
	rg_wg_done(&x->wg);
}

/* 64 MiB between two goroutines over loopback TCP, in one rg_write;
 * the reader's checksum matches, and the rate is printed. */
static int scen_big_transfer(void *arg)
{
	(void)arg;
	const size_t total = 64 * MiB;
	char *src = malloc(total), *dst = malloc(total);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int p[2];
	CHECK(src && dst);
	rgio_fill(&seed, src, total);
	memset(dst, 0, total);
	CHECK_CMP(rgio_tcp_pair(p), ==, 0);

	int64_t t0 = rg_now();
	struct xfer x = {.fd = p[0], .src = src, .n = total};
	rg_wg_add(&x.wg, 1);
	CHECK_CMP(rg_go(xfer_write, &x), ==, 0);
	size_t got = 0;
	for (;;) {
		size_t want = total - got < MiB ? total - got : MiB;
		ssize_t r = rg_read(p[1], dst + got, want ? want : 1, NULL);
		CHECK_CMP(r, >=, 0);
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == total)
			break;
	}
	int64_t dt = rg_now() - t0;
	rg_wg_wait(&x.wg);
	CHECK_CMP(x.res, ==, total);
	CHECK_CMP(got, ==, total);
	rg_close(p[0]);
	char c;
	CHECK_CMP(rg_read(p[1], &c, 1, NULL), ==, 0);
	rg_close(p[1]);
	CHECK(rgio_sum(src, total) == rgio_sum(dst, total));
	print_message("64 MiB over loopback TCP (%s, %d Ps): %.1f ms, %.0f MiB/s\n",
		      rg_io_backend(), rg_procs(), (double)dt / 1e6,
		      64.0 / ((double)dt / 1e9));
	free(src);
	free(dst);
	return 0;
}
RGIO_CASE(big_transfer, "2")

static void xfer_writev_send(void *arg)
{
	struct xfer *x = arg;
	/* 1 MiB by rg_write, 2 MiB by rg_writev (three pieces, one empty),
	 * 1 MiB by rg_send: each must go out whole through a tiny buffer. */
	struct iovec iov[4] = {
		{(char *)x->src + 1 * MiB, 512 * 1024},
		{(char *)x->src + 1 * MiB + 512 * 1024, 0},
		{(char *)x->src + 1 * MiB + 512 * 1024, 1 * MiB},
		{(char *)x->src + 2 * MiB + 512 * 1024, 512 * 1024},
	};
	ssize_t a = rg_write(x->fd, x->src, MiB, NULL);
	ssize_t b = rg_writev(x->fd, iov, 4, NULL);
	ssize_t c = rg_send(x->fd, x->src + 3 * MiB, MiB, 0, NULL);
	x->res = (a == MiB && b == 2 * MiB && c == MiB) ? 4 * MiB : -1;
	rg_wg_done(&x->wg);
}

/* With tiny socket buffers every write is partial underneath; rg_write,
 * rg_writev and rg_send still deliver every byte, in order, while the
 * reader drains slowly. */
static int scen_partial_writes(void *arg)
{
	(void)arg;
	const size_t total = 4 * MiB;
	char *src = malloc(total), *dst = malloc(total);
	uint64_t seed = 7;
	int p[2], small = 4096;
	CHECK(src && dst);
	rgio_fill(&seed, src, total);
	CHECK_CMP(rgio_tcp_pair(p), ==, 0);
	/* A tiny send buffer only: a tiny receive window as well would
	 * crawl at one delayed ACK (40 ms) per segment. */
	CHECK_CMP(setsockopt(p[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), ==, 0);

	struct xfer x = {.fd = p[0], .src = src, .n = total};
	rg_wg_add(&x.wg, 1);
	CHECK_CMP(rg_go(xfer_writev_send, &x), ==, 0);
	size_t got = 0;
	int reads = 0;
	while (got < total) {
		if (reads++ < 20)
			rg_sleep(RG_MILLISECOND); /* let the writer fill up first */
		ssize_t r = rg_read(p[1], dst + got, total - got < 3000 ? total - got : 3000, NULL);
		CHECK_CMP(r, >, 0);
		got += (size_t)r;
	}
	rg_wg_wait(&x.wg);
	CHECK_CMP(x.res, ==, total);
	CHECK(memcmp(src, dst, total) == 0);
	rg_close(p[0]);
	rg_close(p[1]);
	free(src);
	free(dst);
	return 0;
}
RGIO_CASE(partial_writes, "2")

/* ---- many goroutines, many connections ----------------------------- */

#define NPAIRS 100
#define PAIR_BYTES (128 * 1024)

struct pairjob {
	int fd;
	uint64_t seed;
	uint64_t sum;
	rg_waitgroup_t *wg;
};

/* Writes PAIR_BYTES in pieces of pseudo-random size. */
static void pair_writer(void *arg)
{
	struct pairjob *j = arg;
	char buf[8192];
	uint64_t seed = j->seed, h = RGIO_FNV0;
	size_t done = 0;
	while (done < PAIR_BYTES) {
		size_t n = 1 + (seed % sizeof(buf));
		if (n > PAIR_BYTES - done)
			n = PAIR_BYTES - done;
		rgio_fill(&seed, buf, n);
		h = rgio_fnv(h, buf, n);
		if (rg_write(j->fd, buf, n, NULL) != (ssize_t)n) {
			GCHECK(!"pair write");
			break;
		}
		done += n;
	}
	j->sum = h;
	rg_close(j->fd);
	rg_wg_done(j->wg);
}

static void pair_reader(void *arg)
{
	struct pairjob *j = arg;
	char buf[5000];
	uint64_t h = RGIO_FNV0;
	size_t got = 0;
	for (;;) {
		ssize_t r = rg_read(j->fd, buf, sizeof(buf), NULL);
		if (r <= 0) {
			GCHECK(r == 0);
			break;
		}
		h = rgio_fnv(h, buf, (size_t)r);
		got += (size_t)r;
	}
	GCHECK(got == PAIR_BYTES);
	j->sum = h;
	rg_close(j->fd);
	rg_wg_done(j->wg);
}

/* NPAIRS connections, a writer and a reader goroutine each, all at once
 * on 2 Ps: every stream arrives intact. */
static int scen_many_goroutines(void *arg)
{
	(void)arg;
	static struct pairjob w[NPAIRS], r[NPAIRS];
	rg_waitgroup_t wg = {0};
	for (int i = 0; i < NPAIRS; i++) {
		int p[2];
		CHECK_CMP(rgio_tcp_pair(p), ==, 0);
		w[i] = (struct pairjob){.fd = p[0], .seed = (uint64_t)i * 7919 + 1, .wg = &wg};
		r[i] = (struct pairjob){.fd = p[1], .wg = &wg};
	}
	rg_wg_add(&wg, 2 * NPAIRS);
	for (int i = 0; i < NPAIRS; i++) {
		CHECK_CMP(rg_go(pair_reader, &r[i]), ==, 0);
		CHECK_CMP(rg_go(pair_writer, &w[i]), ==, 0);
	}
	rg_wg_wait(&wg);
	for (int i = 0; i < NPAIRS; i++)
		CHECK(w[i].sum == r[i].sum);
	rg_stats_t st;
	rg_stats(&st);
	CHECK_CMP(st.io_ops, >, 2 * NPAIRS);
	return 0;
}
RGIO_CASE(many_goroutines, "2")

/* 10,000 concurrent connections: a server process (a child, so that each
 * process holds ~10,000 fds within the hard limit) echoes; this process
 * dials them all, at most DIAL_INFLIGHT handshakes at a time, each sends
 * a message and reads its echo, and all stay open until every one has
 * been echoed. */
#define NCONN RGT_LIVE(10000)
#define DIAL_INFLIGHT 256

static struct {
	int port;
	rg_ctx_t *ctx;           /* bounds the whole exchange */
	rg_chan_t *tokens;       /* dial throttle */
	rg_chan_t *release;      /* closed once all are echoed */
	rg_waitgroup_t echoed, closed;
	_Atomic int ok;
} M;

static void conn_echo(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[256];
	for (;;) {
		ssize_t r = rg_read(fd, buf, sizeof(buf), M.ctx);
		if (r <= 0) {
			GCHECK(r == 0);
			break;
		}
		if (rg_write(fd, buf, (size_t)r, M.ctx) != r) {
			GCHECK(!"echo write");
			break;
		}
	}
	rg_close(fd);
	rg_wg_done(&M.closed);
}

static int scen_conn_server(void *arg)
{
	int pipe_w = (int)(intptr_t)arg;
	int ln = rg_listen("tcp", "127.0.0.1:0");
	CHECK_CMP(ln, >=, 0);
	int port = rgio_port(ln);
	CHECK_CMP(rg_write(pipe_w, &port, sizeof(port), NULL), ==, sizeof(port));
	M.ctx = rg_ctx_with_timeout(NULL, 30 * RG_SECOND);
	for (int i = 0; i < NCONN; i++) {
		int fd = rg_accept(ln, NULL, NULL, M.ctx);
		CHECK_CMP(fd, >=, 0);
		rg_wg_add(&M.closed, 1);
		CHECK_CMP(rg_go(conn_echo, (void *)(intptr_t)fd), ==, 0);
	}
	rg_wg_wait(&M.closed);
	rg_close(ln);
	rg_ctx_cancel(M.ctx);
	rg_ctx_release(M.ctx);
	return 0;
}

static void conn_client(void *arg)
{
	int i = (int)(intptr_t)arg;
	char addr[32], msg[32], buf[32];
	int tok = 0;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", M.port);
	int len = snprintf(msg, sizeof(msg), "hello %d", i);

	rg_chan_send(M.tokens, &tok);
	int fd = rg_dial("tcp", addr, M.ctx);
	bool ok = fd >= 0 && rg_write(fd, msg, (size_t)len, M.ctx) == len;
	int got = 0;
	while (ok && got < len) {
		ssize_t r = rg_read(fd, buf + got, sizeof(buf) - (size_t)got, M.ctx);
		ok = r > 0;
		got += ok ? (int)r : 0;
	}
	ok = ok && got == len && memcmp(buf, msg, (size_t)len) == 0;
	rg_chan_recv(M.tokens, &tok);
	if (ok)
		atomic_fetch_add(&M.ok, 1);
	else
		GCHECK(!"client exchange");
	rg_wg_done(&M.echoed);
	rg_chan_recv(M.release, NULL); /* everyone stays connected till here */
	if (fd >= 0)
		rg_close(fd);
	rg_wg_done(&M.closed);
}

static int scen_conn_clients(void *arg)
{
	int pipe_r = (int)(intptr_t)arg;
	CHECK_CMP(rg_read(pipe_r, &M.port, sizeof(M.port), NULL), ==, sizeof(M.port));
	M.ctx = rg_ctx_with_timeout(NULL, 30 * RG_SECOND);
	M.tokens = rg_chan_make(sizeof(int), DIAL_INFLIGHT);
	M.release = rg_chan_make(1, 0);
	atomic_store(&M.ok, 0);
	int64_t t0 = rg_now();
	rg_wg_add(&M.echoed, NCONN);
	rg_wg_add(&M.closed, NCONN);
	for (int i = 0; i < NCONN; i++)
		CHECK_CMP(rg_go(conn_client, (void *)(intptr_t)i), ==, 0);
	rg_wg_wait(&M.echoed);
	CHECK_CMP(atomic_load(&M.ok), ==, NCONN);
	int64_t t1 = rg_now();
	rg_chan_close(M.release);
	rg_wg_wait(&M.closed);
	print_message("%d connections echoed (%s): %.0f ms\n", NCONN, rg_io_backend(),
		      (double)(t1 - t0) / 1e6);
	rg_chan_free(M.tokens);
	rg_chan_free(M.release);
	rg_ctx_cancel(M.ctx);
	rg_ctx_release(M.ctx);
	return 0;
}

/* Raises the soft RLIMIT_NOFILE to want; false if the hard limit is
 * lower. */
static bool nofile_at_least(rlim_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return false;
	if (rl.rlim_cur >= want)
		return true;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		return false;
	rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

static void many_conns(const char *backend)
{
	int pfd[2];
	memset(&M, 0, sizeof(M));
	if (!nofile_at_least(NCONN + 256)) {
		print_message("RLIMIT_NOFILE hard limit below %d\n", NCONN + 256);
		skip();
	}
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		int r = rgio_main(backend, "2", scen_conn_server, (void *)(intptr_t)pfd[1]);
		if (r < 0)
			fprintf(stderr, "server: %s\n", rgc_msg);
		_exit(r < 0 ? 1 : r == 1 ? 77 : 0);
	}
	close(pfd[1]);
	int r = rgio_main(backend, "2", scen_conn_clients, (void *)(intptr_t)pfd[0]);
	close(pfd[0]);
	if (r != 0)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 1)
		skip();
	if (r < 0)
		fail_msg("%s", rgc_msg);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void many_conns_uring(void **state)
{
	(void)state;
	many_conns("io_uring");
}

static void many_conns_epoll(void **state)
{
	(void)state;
	many_conns("epoll");
}

/* ---- UDP and unix sockets ------------------------------------------ */

/* Datagrams keep their boundaries; recvfrom says who sent; sendto
 * answers; a connected (dialled) UDP socket uses read and write. */
static int scen_udp(void *arg)
{
	(void)arg;
	char addr[32], buf[64];
	int srv = rg_listen("udp", "127.0.0.1:0");
	CHECK_CMP(srv, >=, 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", rgio_port(srv));
	int c = rg_dial("udp", addr, NULL);
	CHECK_CMP(c, >=, 0);
	CHECK(rgio_cloexec(c));
	CHECK(rgio_nonblock(c) == rgio_epoll());

	CHECK_CMP(rg_write(c, "ping", 4, NULL), ==, 4);
	CHECK_CMP(rg_send(c, "second", 6, 0, NULL), ==, 6);
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	CHECK_CMP(rg_recvfrom(srv, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen, NULL),
		  ==, 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	CHECK_CMP(flen, ==, sizeof(struct sockaddr_in));
	CHECK_CMP(ntohs(((struct sockaddr_in *)&from)->sin_port), ==, rgio_port(c));
	CHECK_CMP(rg_recvfrom(srv, buf, sizeof(buf), 0, NULL, NULL, NULL), ==, 6);
	CHECK(memcmp(buf, "second", 6) == 0);

	CHECK_CMP(rg_sendto(srv, "pong", 4, 0, (struct sockaddr *)&from, flen, NULL), ==, 4);
	CHECK_CMP(rg_read(c, buf, sizeof(buf), NULL), ==, 4);
	CHECK(memcmp(buf, "pong", 4) == 0);

	/* An unconnected socket sends to an address. */
	int other = rg_listen("udp4", "127.0.0.1:0");
	CHECK_CMP(other, >=, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)rgio_port(srv))};
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_CMP(rg_sendto(other, "x", 1, 0, (struct sockaddr *)&to, sizeof(to), NULL), ==, 1);
	flen = sizeof(from);
	CHECK_CMP(rg_recvfrom(srv, buf, 1, 0, (struct sockaddr *)&from, &flen, NULL), ==, 1);
	CHECK_CMP(ntohs(((struct sockaddr_in *)&from)->sin_port), ==, rgio_port(other));
	/* A datagram larger than the buffer is truncated to it. */
	CHECK_CMP(rg_sendto(other, "abcdef", 6, 0, (struct sockaddr *)&to, sizeof(to), NULL), ==, 6);
	CHECK_CMP(rg_recv(srv, buf, 2, 0, NULL), ==, 2);
	/* An empty datagram is one. */
	CHECK_CMP(rg_sendto(other, "", 0, 0, (struct sockaddr *)&to, sizeof(to), NULL), ==, 0);
	CHECK_CMP(rg_recv(srv, buf, sizeof(buf), 0, NULL), ==, 0);
	rg_close(other);

	if (have_ipv6()) {
		int s6 = rg_listen("udp6", "[::1]:0");
		CHECK_CMP(s6, >=, 0);
		snprintf(addr, sizeof(addr), "[::1]:%d", rgio_port(s6));
		int c6 = rg_dial("udp", addr, NULL);
		CHECK_CMP(c6, >=, 0);
		CHECK_CMP(rg_write(c6, "six", 3, NULL), ==, 3);
		flen = sizeof(from);
		CHECK_CMP(rg_recvfrom(s6, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen,
				      NULL), ==, 3);
		CHECK_CMP(from.ss_family, ==, AF_INET6);
		rg_close(c6);
		rg_close(s6);
	}
	rg_close(c);
	rg_close(srv);
	return 0;
}
RGIO_CASE(udp, "2")

/* An echo over a unix stream socket at addr. */
static int unix_echo(const char *network, const char *addr)
{
	char buf[16];
	int ln = rg_listen(network, addr);
	CHECK_CMP(ln, >=, 0);
	CHECK(rgio_cloexec(ln));
	int c = rg_dial(network, addr, NULL);
	CHECK_CMP(c, >=, 0);
	int s = rg_accept(ln, NULL, NULL, NULL);
	CHECK_CMP(s, >=, 0);
	CHECK_CMP(rg_write(c, "unix!", 5, NULL), ==, 5);
	CHECK_CMP(rg_read(s, buf, sizeof(buf), NULL), ==, 5);
	CHECK(memcmp(buf, "unix!", 5) == 0);
	CHECK_CMP(rg_write(s, "back", 4, NULL), ==, 4);
	CHECK_CMP(rg_read(c, buf, sizeof(buf), NULL), ==, 4);
	rg_close(c);
	CHECK_CMP(rg_read(s, buf, sizeof(buf), NULL), ==, 0);
	rg_close(s);
	rg_close(ln);
	return 0;
}

/* Unix stream sockets, by path and in the abstract namespace; the
 * datagram kind; a missing path refuses. */
static int scen_unix(void *arg)
{
	(void)arg;
	char dir[] = "/tmp/ringo-net-XXXXXX", path[64], abs[64], buf[16];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	CHECK(unix_echo("unix", path) == 0);
	/* The listener's path stays until removed, as with bind(2). */
	CHECK_CMP(rg_listen("unix", path), ==, -EADDRINUSE);
	CHECK_CMP(unlink(path), ==, 0);
	CHECK_CMP(rg_dial("unix", path, NULL), ==, -ENOENT);

	snprintf(abs, sizeof(abs), "@ringo-test-%d-%s", (int)getpid(), rg_io_backend());
	CHECK(unix_echo("unix", abs) == 0);

	snprintf(path, sizeof(path), "%s/g.sock", dir);
	int srv = rg_listen("unixgram", path);
	CHECK_CMP(srv, >=, 0);
	int c = rg_dial("unixgram", path, NULL);
	CHECK_CMP(c, >=, 0);
	CHECK_CMP(rg_write(c, "dgram", 5, NULL), ==, 5);
	CHECK_CMP(rg_read(srv, buf, sizeof(buf), NULL), ==, 5);
	rg_close(c);
	rg_close(srv);
	unlink(path);
	CHECK_CMP(rmdir(dir), ==, 0);
	return 0;
}
RGIO_CASE(unix, "2")

/* ---- cancellation and deadlines ------------------------------------ */

enum blocked_op { OP_READ, OP_RECV, OP_READV, OP_RECVFROM, OP_ACCEPT, OP_WRITE, OP_DIAL, OP_N };
static const char *const op_names[] = {"read", "recv", "readv", "recvfrom", "accept", "write",
				       "dial"};

/* What a blocked call needs: a connection nobody writes to, a UDP
 * socket nobody sends to, a listener nobody dials, a connection nobody
 * reads from with tiny buffers, a listener whose accept queue is full. */
struct blocked {
	int fd, peer, ln;
	char addr[32];
	char buf[256];
	char *big;
};

static int blocked_setup(enum blocked_op op, struct blocked *b)
{
	int p[2], small = 4096;
	memset(b, 0, sizeof(*b));
	b->fd = b->peer = b->ln = -1;
	switch (op) {
	case OP_RECVFROM:
		b->fd = rg_listen("udp", "127.0.0.1:0");
		CHECK_CMP(b->fd, >=, 0);
		return 0;
	case OP_ACCEPT:
		b->fd = rg_listen("tcp", "127.0.0.1:0");
		CHECK_CMP(b->fd, >=, 0);
		return 0;
	case OP_DIAL: {
		/* Backlog 0 holds one connection; the next SYN is dropped
		 * and the dial waits for a retransmission. */
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t len = sizeof(sa);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		b->ln = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK_CMP(b->ln, >=, 0);
		CHECK_CMP(bind(b->ln, (struct sockaddr *)&sa, len), ==, 0);
		CHECK_CMP(listen(b->ln, 0), ==, 0);
		snprintf(b->addr, sizeof(b->addr), "127.0.0.1:%d", rgio_port(b->ln));
		b->peer = rg_dial("tcp", b->addr, NULL);
		CHECK_CMP(b->peer, >=, 0);
		return 0;
	}
	default:
		CHECK_CMP(rgio_tcp_pair(p), ==, 0);
		b->fd = p[1];
		b->peer = p[0];
		if (op == OP_WRITE) {
			CHECK_CMP(setsockopt(b->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), ==, 0);
			CHECK_CMP(setsockopt(b->peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), ==, 0);
			b->big = malloc(16 * MiB);
			CHECK(b->big != NULL);
		}
		return 0;
	}
}

static void blocked_teardown(struct blocked *b)
{
	if (b->fd >= 0)
		rg_close(b->fd);
	if (b->peer >= 0)
		rg_close(b->peer);
	if (b->ln >= 0)
		rg_close(b->ln);
	free(b->big);
}

static ssize_t blocked_call(enum blocked_op op, struct blocked *b, rg_ctx_t *ctx)
{
	struct iovec iov = {b->buf, sizeof(b->buf)};
	ssize_t r;
	switch (op) {
	case OP_READ:
		return rg_read(b->fd, b->buf, sizeof(b->buf), ctx);
	case OP_RECV:
		return rg_recv(b->fd, b->buf, sizeof(b->buf), 0, ctx);
	case OP_READV:
		return rg_readv(b->fd, &iov, 1, ctx);
	case OP_RECVFROM:
		return rg_recvfrom(b->fd, b->buf, sizeof(b->buf), 0, NULL, NULL, ctx);
	case OP_ACCEPT:
		return rg_accept(b->fd, NULL, NULL, ctx);
	case OP_WRITE:
		return rg_write(b->fd, b->big, 16 * MiB, ctx);
	case OP_DIAL:
		r = rg_dial("tcp", b->addr, ctx);
		if (r >= 0)
			rg_close((int)r);
		return r;
	default:
		return -ENOSYS;
	}
}

struct canceller {
	rg_ctx_t *ctx;
	int64_t goid;         /* the goroutine making the call */
	_Atomic int64_t at;   /* when it cancelled; 0: gave up waiting */
	rg_waitgroup_t wg;
};

/* Cancels c->ctx once the call is parked waiting for I/O. */
static void cancel_when_parked(void *arg)
{
	struct canceller *c = arg;
	bool parked = rgp_wait_parked(c->goid, NULL, RG_WAIT_IO, 1, RGT_NEVER_MS);
	atomic_store(&c->at, parked ? rg_now() : 0);
	rg_ctx_cancel(c->ctx); /* drops the creator's reference */
	rg_ctx_release(c->ctx);
	rg_wg_done(&c->wg);
}

/* A write stopped after some bytes returns their count (ringo/io.h);
 * writing the rest with the same ctx then returns the error.  Other
 * calls, and a write that wrote nothing, return the error itself. */
static ssize_t stopped_result(enum blocked_op op, struct blocked *b, ssize_t r, rg_ctx_t *ctx)
{
	if (op == OP_WRITE && r > 0 && r < 16 * MiB)
		return rg_write(b->fd, b->big + r, 16 * MiB - (size_t)r, ctx);
	return r;
}

static int fail_op(enum blocked_op op, const char *what, long long got)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "%s: %s (%lld)", op_names[op], what, got);
	rgc_fail(__FILE__, __LINE__, msg);
	return 1;
}

/* A reader whose request was cancelled never sees data that arrives
 * after: the buffer keeps its pattern, and the data is still there for
 * the next read. */
static int check_buffer_untouched(enum blocked_op op, struct blocked *b)
{
	if (op > OP_RECVFROM)
		return 0;
	if (!rgio_all(b->buf, 0xa5, sizeof(b->buf)))
		return fail_op(op, "buffer written by the failed call", 0);
	if (op == OP_RECVFROM) {
		struct sockaddr_in to = {.sin_family = AF_INET};
		to.sin_port = htons((uint16_t)rgio_port(b->fd));
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK_CMP(rg_sendto(b->fd, "late", 4, 0, (struct sockaddr *)&to, sizeof(to), NULL),
			  ==, 4);
	} else {
		CHECK_CMP(rg_write(b->peer, "late", 4, NULL), ==, 4);
	}
	rg_sleep(20 * RG_MILLISECOND);
	if (!rgio_all(b->buf, 0xa5, sizeof(b->buf)))
		return fail_op(op, "buffer written after the call returned", 0);
	char got[8];
	CHECK_CMP(rg_recv(b->fd, got, sizeof(got), 0, NULL), ==, 4);
	CHECK(memcmp(got, "late", 4) == 0);
	return 0;
}

/* Each blocking call, parked, returns -ECANCELED when another goroutine
 * cancels its context, not before, and leaves the buffer alone. */
static int scen_cancel_blocked(void *arg)
{
	(void)arg;
	for (int op = 0; op < OP_N; op++) {
		struct blocked b;
		if (blocked_setup(op, &b))
			return 1;
		memset(b.buf, 0xa5, sizeof(b.buf));
		struct canceller c = {.ctx = rg_ctx_with_cancel(NULL), .goid = rg_goid()};
		rg_ctx_t *ctx = rg_ctx_retain(c.ctx); /* ours, for the call */
		rg_wg_add(&c.wg, 1);
		CHECK_CMP(rg_go(cancel_when_parked, &c), ==, 0);
		ssize_t r = blocked_call(op, &b, ctx);
		int64_t returned = rg_now();
		rg_wg_wait(&c.wg);
		r = stopped_result(op, &b, r, ctx);
		rg_ctx_release(ctx);
		if (!atomic_load(&c.at))
			return fail_op(op, "call never parked on I/O", r);
		if (r != -ECANCELED)
			return fail_op(op, "cancelled call returned", r);
		if (returned < atomic_load(&c.at))
			return fail_op(op, "call returned before its cancel (ns)",
				       atomic_load(&c.at) - returned);
		if (check_buffer_untouched(op, &b))
			return 1;
		blocked_teardown(&b);
	}
	return 0;
}
RGIO_CASE(cancel_blocked, "2")

/* Each blocking call, blocked, returns -ETIMEDOUT at its context's
 * deadline (30 ms): not before, and not so late that the deadline was
 * lost (RGT_NEVER_MS). */
static int scen_deadline_blocked(void *arg)
{
	(void)arg;
	for (int op = 0; op < OP_N; op++) {
		struct blocked b;
		if (blocked_setup(op, &b))
			return 1;
		memset(b.buf, 0xa5, sizeof(b.buf));
		int64_t t0 = rg_now(); /* before the deadline is set */
		rg_ctx_t *ctx = rg_ctx_with_timeout(NULL, 30 * RG_MILLISECOND);
		ssize_t r = blocked_call(op, &b, ctx);
		int64_t dt = rg_now() - t0;
		r = stopped_result(op, &b, r, ctx);
		rg_ctx_cancel(ctx);
		rg_ctx_release(ctx);
		if (r != -ETIMEDOUT)
			return fail_op(op, "call past its deadline returned", r);
		if (dt < 30 * RG_MILLISECOND || dt >= RGT_NEVER_MS * RG_MILLISECOND)
			return fail_op(op, "call with a 30 ms deadline took (ms)", dt / RG_MILLISECOND);
		if (check_buffer_untouched(op, &b))
			return 1;
		blocked_teardown(&b);
	}
	return 0;
}
RGIO_CASE(deadline_blocked, "2")

/* Waits (a plain poll(2), no ringo call) until fd is readable: data,
 * or a connection to accept, has arrived.  False after RGT_NEVER_MS. */
static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, RGT_NEVER_MS) == 1 && (p.revents & POLLIN);
}

/* A context cancelled (or expired) before the call: its error, and the
 * request never starts: pending data stays, pending connections stay,
 * nothing is sent. */
static int scen_ctx_done_before(void *arg)
{
	(void)arg;
	char buf[8], addr[32];
	int p[2];
	rg_ctx_t *cancelled = rg_ctx_with_cancel(NULL);
	rg_ctx_t *expired = rg_ctx_with_timeout(NULL, -1);
	rg_ctx_retain(cancelled);
	rg_ctx_cancel(cancelled);
	rg_ctx_release(cancelled);
	CHECK_CMP(rg_ctx_err(expired), ==, -ETIMEDOUT);

	CHECK_CMP(rgio_tcp_pair(p), ==, 0);
	CHECK_CMP(rg_write(p[0], "data", 4, NULL), ==, 4);
	CHECK(readable(p[1])); /* pending, for the refused reads to leave */
	CHECK_CMP(rg_read(p[1], buf, sizeof(buf), cancelled), ==, -ECANCELED);
	CHECK_CMP(rg_recv(p[1], buf, sizeof(buf), 0, expired), ==, -ETIMEDOUT);
	CHECK_CMP(rg_write(p[1], "no", 2, cancelled), ==, -ECANCELED);
	CHECK_CMP(rg_send(p[1], "no", 2, 0, expired), ==, -ETIMEDOUT);
	CHECK_CMP(rg_recv(p[1], buf, sizeof(buf), MSG_DONTWAIT, NULL), ==, 4);
	CHECK_CMP(rg_recv(p[0], buf, sizeof(buf), MSG_DONTWAIT, NULL), ==, -EAGAIN);

	int ln = rg_listen("tcp", "127.0.0.1:0");
	CHECK_CMP(ln, >=, 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", rgio_port(ln));
	CHECK_CMP(rg_dial("tcp", addr, cancelled), ==, -ECANCELED);
	CHECK_CMP(rg_dial("tcp", addr, expired), ==, -ETIMEDOUT);
	int c = rg_dial("tcp", addr, NULL);
	CHECK_CMP(c, >=, 0);
	CHECK(readable(ln)); /* queued, for the refused accept to leave */
	CHECK_CMP(rg_accept(ln, NULL, NULL, cancelled), ==, -ECANCELED);
	/* The one connection that was dialled is still there: the
	 * refused dials made none. */
	int s = rg_accept(ln, NULL, NULL, NULL);
	CHECK_CMP(s, >=, 0);
	rg_ctx_t *t = rg_ctx_with_timeout(NULL, 20 * RG_MILLISECOND);
	CHECK_CMP(rg_accept(ln, NULL, NULL, t), ==, -ETIMEDOUT);
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	rg_close(s);
	rg_close(c);
	rg_close(ln);
	rg_close(p[0]);
	rg_close(p[1]);
	rg_ctx_release(cancelled);
	rg_ctx_cancel(expired);
	rg_ctx_release(expired);
	return 0;
}
RGIO_CASE(ctx_done_before, "2")

struct closer {
	int fd;
	int64_t reader;     /* goroutine id */
	rg_waitgroup_t wg;
};

/* Closes the fd once the reader is parked in its read: a close before
 * the read starts would give -EBADF without testing the wake-up. */
static void close_when_parked(void *arg)
{
	struct closer *c = arg;
	GCHECK(rgp_wait_parked(c->reader, NULL, RG_WAIT_IO, 1, RGT_NEVER_MS));
	GCHECK(rg_close(c->fd) == 0);
	rg_wg_done(&c->wg);
}

/* Closing a socket that another goroutine is parked reading from ends
 * that read with -EBADF (Go: "use of closed network connection"): epoll
 * forgets the fd and wakes the reader; io_uring cancels the fd's
 * requests on every ring before closing it.  (If the close did not wake
 * it, the read would end at its context's deadline, -ETIMEDOUT.) */
static int scen_close_wakes_reader(void *arg)
{
	(void)arg;
	int p[2];
	char buf[16];
	CHECK_CMP(rgio_tcp_pair(p), ==, 0);
	struct closer c = {.fd = p[1], .reader = rg_goid()};
	rg_wg_add(&c.wg, 1);
	CHECK_CMP(rg_go(close_when_parked, &c), ==, 0);
	rg_ctx_t *t = rg_ctx_with_timeout(NULL, RGT_NEVER_MS * RG_MILLISECOND);
	ssize_t r = rg_read(p[1], buf, sizeof(buf), t);
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	rg_wg_wait(&c.wg);
	rg_close(p[0]);
	CHECK_CMP(r, ==, -EBADF);
	return 0;
}
RGIO_CASE(close_wakes_reader, "2")

/* ---- foreign threads ----------------------------------------------- */

struct foreign {
	char addr[32];
	bool epoll;
	rg_waitgroup_t wg;
};

/* A plain thread dials, writes, reads the echo: blocking calls. */
static void *foreign_client(void *arg)
{
	struct foreign *f = arg;
	char buf[16];
	int fd = rg_dial("tcp", f->addr, NULL);
	GCHECK(fd >= 0);
	GCHECK(rg_write(fd, "thread", 6, NULL) == 6);
	GCHECK(rg_read(fd, buf, sizeof(buf), NULL) == 6);
	GCHECK(memcmp(buf, "thread", 6) == 0);

	/* A cancelled context fails at once, on any backend. */
	rg_ctx_t *cancelled = rg_ctx_with_cancel(NULL);
	rg_ctx_retain(cancelled);
	rg_ctx_cancel(cancelled);
	rg_ctx_release(cancelled);
	GCHECK(rg_read(fd, buf, sizeof(buf), cancelled) == -ECANCELED);
	rg_ctx_release(cancelled);
	/* On the epoll backend the socket is non-blocking: the thread
	 * waits in poll(2), which keeps the deadline. */
	if (f->epoll) {
		int64_t t0 = rg_now();
		rg_ctx_t *t = rg_ctx_with_timeout(NULL, 30 * RG_MILLISECOND);
		GCHECK(rg_read(fd, buf, sizeof(buf), t) == -ETIMEDOUT);
		GCHECK(rg_now() - t0 >= 30 * RG_MILLISECOND);
		rg_ctx_cancel(t);
		rg_ctx_release(t);
	}
	GCHECK(rg_close(fd) == 0);
	return NULL;
}

static int scen_foreign_thread(void *arg)
{
	(void)arg;
	struct foreign f = {.epoll = rgio_epoll()};
	char buf[16];
	pthread_t th;
	int ln = rg_listen("tcp", "127.0.0.1:0");
	CHECK_CMP(ln, >=, 0);
	snprintf(f.addr, sizeof(f.addr), "127.0.0.1:%d", rgio_port(ln));
	rg_ref(); /* the thread may wake us: not a deadlock */
	CHECK_CMP(pthread_create(&th, NULL, foreign_client, &f), ==, 0);
	int s = rg_accept(ln, NULL, NULL, NULL);
	CHECK_CMP(s, >=, 0);
	ssize_t n = rg_read(s, buf, sizeof(buf), NULL);
	CHECK_CMP(n, ==, 6);
	CHECK_CMP(rg_write(s, buf, (size_t)n, NULL), ==, n);
	CHECK_CMP(rg_read(s, buf, sizeof(buf), NULL), ==, 0);
	rg_syscall_enter();
	pthread_join(th, NULL);
	rg_syscall_exit();
	rg_unref();
	rg_close(s);
	rg_close(ln);
	return 0;
}
RGIO_CASE(foreign_thread, "2")

/* ---- SIGPIPE ------------------------------------------------------- */

static const char *sigpipe_backend;

static int sigpipe_child(void *arg)
{
	(void)arg;
	signal(SIGPIPE, SIG_DFL);
	return rgio_main(sigpipe_backend, "2", scen_epipe, NULL) < 0 ? 1 : 0;
}

/* With SIGPIPE at its default (fatal) action, as a program that never
 * touched it has it, a write to a closed connection still comes back
 * as -EPIPE: the runtime makes SIGPIPE harmless at start. */
static void sigpipe_default(const char *backend)
{
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	sigpipe_backend = backend;
	assert_int_equal(rgt_run_child(sigpipe_child, NULL, 30, res), 0);
	bool killed = res->signaled && res->sig == SIGPIPE;
	bool ok = res->exited && res->code == 0;
	if (!ok && !killed)
		print_message("%s\n", res->out);
	free(res);
	if (killed)
		print_message("SIGPIPE killed the program\n");
	assert_true(ok);
}

static void sigpipe_default_uring(void **state)
{
	(void)state;
	sigpipe_default("io_uring");
}

static void sigpipe_default_epoll(void **state)
{
	(void)state;
	sigpipe_default("epoll");
}

int main(void)
{
	rgio_ignore_sigpipe();
	const struct CMUnitTest tests[] = {
		RGIO_TESTS(listen_addrs),
		RGIO_TESTS(bad_addrs),
		RGIO_TESTS(dial_refused),
		RGIO_TESTS(dial_localhost),
		RGIO_TESTS(echo_basic),
		RGIO_TESTS(recv_waitall),
		RGIO_TESTS(bad_fds),
		RGIO_TESTS(epipe),
		RGIO_TESTS(big_transfer),
		RGIO_TESTS(partial_writes),
		RGIO_TESTS(many_goroutines),
		cmocka_unit_test(many_conns_uring),
		cmocka_unit_test(many_conns_epoll),
		RGIO_TESTS(udp),
		RGIO_TESTS(unix),
		RGIO_TESTS(cancel_blocked),
		RGIO_TESTS(deadline_blocked),
		RGIO_TESTS(ctx_done_before),
		RGIO_TESTS(close_wakes_reader),
		RGIO_TESTS(foreign_thread),
		cmocka_unit_test(sigpipe_default_uring),
		cmocka_unit_test(sigpipe_default_epoll),
	};
	if (getenv("RGT_FILTER")) /* e.g. RGT_FILTER='*close*' */
		cmocka_set_test_filter(getenv("RGT_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
