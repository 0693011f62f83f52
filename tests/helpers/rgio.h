// SPDX-License-Identifier: MIT
/*
 * I/O tests: every case runs twice, on the io_uring backend (RINGO_BACKEND
 * unset) and on the epoll backend (RINGO_BACKEND=epoll), as libuv runs
 * its filesystem tests with and without io_uring.  A case whose backend
 * cannot start on this kernel (io_uring disabled: the runtime falls back
 * to epoll; the epoll backend missing) is skipped, not failed.
 *
 *     static int scen_echo(void *arg) { ... CHECK(...); return 0; }
 *     RGIO_CASE(echo, "2")                 // echo_uring, echo_epoll on 2 Ps
 *     ... cmocka tests[] = { RGIO_TESTS(echo), ... };
 *
 * Scenarios run as the main goroutine and check with rgcheck.h (CHECK,
 * CHECK_CMP, GCHECK), never with cmocka's asserts.  Header-only.
 */
#ifndef RGIO_H
#define RGIO_H

#include "helpers/rgcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *rgio_want;     /* backend the running case asked for */
static bool rgio_skipped;
static const char *rgio_skip_why; /* NULL: the backend is unavailable */
static int (*rgio_fn)(void *);

static inline bool rgio_epoll(void)
{
	return strcmp(rg_io_backend(), "epoll") == 0;
}

/* From a scenario: skip the case (a known gap, reported), and return 0. */
static inline int rgio_skip(const char *why)
{
	rgio_skip_why = why;
	rgio_skipped = true;
	return 0;
}

static int rgio_tramp(void *arg)
{
	if (strcmp(rg_io_backend(), rgio_want) != 0) {
		rgio_skipped = true; /* io_uring unavailable: fell back to epoll */
		return 0;
	}
	return rgio_fn(arg);
}

/* Runs fn as the main goroutine on `procs` Ps with backend ("io_uring"
 * or "epoll").  Returns 0 if it passed, 1 if that backend cannot run
 * here, -1 if it failed (rgc_msg says why).  For cases that must clean
 * up before asserting; the others use rgio_run. */
static int rgio_main(const char *backend, const char *procs, int (*fn)(void *), void *arg)
{
	bool epoll = strcmp(backend, "epoll") == 0;
	rgt_env("RINGO_BACKEND", epoll ? "epoll" : NULL);
	rgt_env("RINGO_PROCS", procs);
	rgio_want = backend;
	rgio_fn = fn;
	rgio_skipped = false;
	rgio_skip_why = NULL;
	atomic_store(&rgc_failed, 0);
	rgc_msg[0] = 0;
	int rc = rg_main(rgio_tramp, arg);
	rgt_env("RINGO_BACKEND", NULL);
	if ((rc == -ENOSYS && epoll) || rgio_skipped)
		return 1;
	if (atomic_load(&rgc_failed))
		return -1;
	if (rc != 0) {
		snprintf(rgc_msg, sizeof(rgc_msg), "rg_main returned %d", rc);
		return -1;
	}
	return 0;
}

/* rgio_main, then pass, skip or fail the test. */
static inline void rgio_run(const char *backend, const char *procs, int (*fn)(void *), void *arg)
{
	int r = rgio_main(backend, procs, fn, arg);
	if (r == 1) {
		print_message("%s\n", rgio_skip_why ? rgio_skip_why : "backend unavailable here");
		skip();
	}
	if (r < 0)
		fail_msg("%s", rgc_msg);
}

struct rgio_child_args {
	const char *backend, *procs;
	int (*fn)(void *);
};

static inline int rgio_child(void *arg)
{
	struct rgio_child_args *a = arg;
	int r = rgio_main(a->backend, a->procs, a->fn, NULL);
	if (r < 0)
		fprintf(stderr, "%s\n", rgc_msg);
	return r < 0 ? 1 : r == 1 ? 77 : 0;
}

/* rgio_run in a child process: for cases whose failure is fatal to the
 * process (a false deadlock report aborts), so that it fails one case,
 * not the binary. */
static inline void rgio_run_isolated(const char *backend, const char *procs, int (*fn)(void *))
{
	struct rgio_child_args a = {backend, procs, fn};
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(rgio_child, &a, 60, res), 0);
	int code = res->exited ? res->code : -1;
	if (code != 0 && code != 77)
		print_message("%s", res->out);
	free(res);
	if (code == 77)
		skip();
	assert_int_equal(code, 0);
}

#define RGIO_CASE_ISOLATED(name, procs)                                     \
	static void name##_uring(void **state)                              \
	{                                                                   \
		(void)state;                                                \
		rgio_run_isolated("io_uring", procs, scen_##name);          \
	}                                                                   \
	static void name##_epoll(void **state)                              \
	{                                                                   \
		(void)state;                                                \
		rgio_run_isolated("epoll", procs, scen_##name);             \
	}

#define RGIO_CASE(name, procs)                                              \
	static void name##_uring(void **state)                              \
	{                                                                   \
		(void)state;                                                \
		rgio_run("io_uring", procs, scen_##name, NULL);             \
	}                                                                   \
	static void name##_epoll(void **state)                              \
	{                                                                   \
		(void)state;                                                \
		rgio_run("epoll", procs, scen_##name, NULL);                \
	}

#define RGIO_TESTS(name) cmocka_unit_test(name##_uring), cmocka_unit_test(name##_epoll)

/* ---- helpers for scenarios ----------------------------------------- */

/* The port a socket is bound to. */
static inline int rgio_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* The address family a socket is bound to. */
static inline int rgio_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	return ss.ss_family;
}

/* A connected loopback TCP pair (fds[0] dialled, fds[1] accepted).
 * Goroutine only.  0 or -errno. */
static inline int rgio_tcp_pair(int fds[2])
{
	char addr[32];
	int ln = rg_listen("tcp", "127.0.0.1:0");
	if (ln < 0)
		return ln;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", rgio_port(ln));
	fds[0] = rg_dial("tcp", addr, NULL);
	if (fds[0] < 0) {
		rg_close(ln);
		return fds[0];
	}
	fds[1] = rg_accept(ln, NULL, NULL, NULL);
	rg_close(ln);
	if (fds[1] < 0) {
		rg_close(fds[0]);
		return fds[1];
	}
	return 0;
}

/* FNV-1a, fed incrementally: h = rgio_fnv(h, p, n), starting from
 * RGIO_FNV0. */
#define RGIO_FNV0 0xcbf29ce484222325ull
static inline uint64_t rgio_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* A checksum of a whole buffer, 8 bytes at a time (for large ones;
 * rgio_fnv for data that arrives in pieces). */
static inline uint64_t rgio_sum(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = RGIO_FNV0, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	return rgio_fnv(h, b + i, n - i);
}

/* Fills p with pseudo-random bytes from *seed (xorshift64). */
static inline void rgio_fill(uint64_t *seed, void *p, size_t n)
{
	unsigned char *b = p;
	uint64_t x = *seed ? *seed : 1;
	for (size_t i = 0; i < n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(b + i, &x, n - i < 8 ? n - i : 8);
	}
	*seed = x;
}

/* True if every byte of p[0..n) is c. */
static inline bool rgio_all(const void *p, int c, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)c)
			return false;
	return true;
}

/* Descriptor flags. */
static inline bool rgio_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);
	return f >= 0 && (f & FD_CLOEXEC);
}

static inline bool rgio_nonblock(int fd)
{
	int f = fcntl(fd, F_GETFL);
	return f >= 0 && (f & O_NONBLOCK);
}

/* Makes SIGPIPE harmless for this test binary: IORING_OP_WRITE on a
 * socket whose peer is gone raises it.  The runtime is to do this itself
 * at start (rg__signals_install); until it does, binaries that provoke
 * EPIPE call this first. */
static inline void rgio_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

#endif
