// SPDX-License-Identifier: MIT
/*
 * The echo server (build/ringo-echo) as its users meet it: a real process
 * on a loopback port, driven by plain blocking sockets, including clients
 * that misbehave.  Each case starts its own server on an ephemeral port.
 */
#include "helpers/rgtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char server_path[PATH_MAX];

typedef struct server {
	pid_t pid;
	int out;          /* its stdout and stderr */
	int port;
	char log[16384];  /* what it printed */
	size_t len;
} server_t;

/* Reads what the server printed so far (up to timeout_ms for more). */
static void drain(server_t *s, int timeout_ms)
{
	int64_t end = rgt_ms() + timeout_ms;
	for (;;) {
		int left = (int)(end - rgt_ms());
		struct pollfd p = {.fd = s->out, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return;
		ssize_t n = read(s->out, s->log + s->len, sizeof(s->log) - 1 - s->len);
		if (n <= 0)
			return;
		s->len += (size_t)n;
		s->log[s->len] = 0;
	}
}

/* Starts the server with extra arguments; nofile > 0 limits its fds. */
static void start(server_t *s, const char *extra, long nofile)
{
	int pfd[2];
	memset(s, 0, sizeof(*s));
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid_t parent = getpid();
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		rgt_die_with_parent(parent);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (nofile > 0) {
			struct rlimit rl = {.rlim_cur = (rlim_t)nofile, .rlim_max = (rlim_t)nofile};
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		char cmd[PATH_MAX + 256];
		snprintf(cmd, sizeof(cmd), "exec %s --addr 127.0.0.1:0 --procs 2 %s",
			 server_path, extra ? extra : "");
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	s->out = pfd[0];
	for (int i = 0; i < 100 && !strstr(s->log, "listening on"); i++)
		drain(s, 50);
	const char *at = strstr(s->log, "listening on 127.0.0.1:");
	if (!at)
		fail_msg("server did not start:\n%s", s->log);
	s->port = atoi(at + strlen("listening on 127.0.0.1:"));
	assert_true(s->port > 0);
}

/* Sends sig, waits for exit; returns the exit status (-signal if killed). */
static int stop(server_t *s, int sig)
{
	int st;
	kill(s->pid, sig);
	int64_t end = rgt_ms() + 15000;
	while (waitpid(s->pid, &st, WNOHANG) == 0) {
		if (rgt_ms() > end) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &st, 0);
			break;
		}
		drain(s, 20);
	}
	drain(s, 100);
	close(s->out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -errno;
	}
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static bool write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static bool read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* A line comes back as sent; SIGTERM ends the server with status 0 and
 * its counters. */
static void test_echo_and_sigterm(void **state)
{
	(void)state;
	server_t s;
	start(&s, NULL, 0);
	int fd = dial(s.port);
	assert_true(fd >= 0);
	char buf[64];
	assert_true(write_all(fd, "hello, ringo\n", 13));
	assert_true(read_full(fd, buf, 13));
	assert_memory_equal(buf, "hello, ringo\n", 13);
	close(fd);
	assert_int_equal(stop(&s, SIGTERM), 0);
	assert_non_null(strstr(s.log, "accepted 1, closed 1, echoed 13 bytes, errors 0"));
}

/* A large transfer comes back byte for byte while the client reads and
 * writes concurrently (the server's writes block on a full socket). */
static void test_large_transfer(void **state)
{
	(void)state;
	server_t s;
	start(&s, NULL, 0);
	int fd = dial(s.port);
	assert_true(fd >= 0);
	size_t n = 8 << 20;
	unsigned char *out = malloc(n), *in = malloc(n);
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)(i * 131 + (i >> 11));
	pid_t w = fork();
	if (w == 0) {
		_exit(write_all(fd, out, n) ? 0 : 1);
	}
	assert_true(read_full(fd, in, n));
	int st;
	waitpid(w, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_memory_equal(in, out, n);
	free(out);
	free(in);
	close(fd);
	assert_int_equal(stop(&s, SIGINT), 0);
}

/* Clients that half-close, vanish mid-write (reset), or never send do
 * not hurt the server: afterwards it still echoes, and exits cleanly. */
static void test_hostile_clients(void **state)
{
	(void)state;
	server_t s;
	start(&s, "--grace 0.2", 0);

	/* Half-close: the echo of what was sent still arrives, then EOF. */
	int fd = dial(s.port);
	char buf[4096];
	assert_true(write_all(fd, "abc", 3));
	shutdown(fd, SHUT_WR);
	assert_true(read_full(fd, buf, 3));
	assert_int_equal(read(fd, buf, sizeof(buf)), 0);
	close(fd);

	/* Vanish mid-write: send a lot, read nothing, reset. */
	for (int i = 0; i < 20; i++) {
		fd = dial(s.port);
		static char big[1 << 20];
		struct timeval tv = {.tv_usec = 200 * 1000};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		ssize_t w = write(fd, big, sizeof(big));
		(void)w;
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}

	/* Silent clients just hold a goroutine each. */
	int silent[50];
	for (int i = 0; i < 50; i++)
		silent[i] = dial(s.port);

	fd = dial(s.port);
	assert_true(write_all(fd, "still here", 10));
	assert_true(read_full(fd, buf, 10));
	assert_memory_equal(buf, "still here", 10);
	close(fd);

	/* SIGINT with silent clients open: the grace period ends them. */
	int st = stop(&s, SIGINT);
	if (st != 0)
		print_message("server exit %d, output:\n%s\n", st, s.log);
	assert_int_equal(st, 0);
	assert_non_null(strstr(s.log, "grace period over"));
	for (int i = 0; i < 50; i++)
		close(silent[i]);
}

/* A thousand connections at once, each echoed. */
static void test_many_connections(void **state)
{
	(void)state;
	enum { N = 1000 };
	server_t s;
	start(&s, NULL, 0);
	static int fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = dial(s.port);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i < N; i++) {
		char msg[16], got[16];
		int n = snprintf(msg, sizeof(msg), "m%d;", i);
		assert_true(write_all(fds[i], msg, (size_t)n));
		assert_true(read_full(fds[i], got, (size_t)n));
		assert_memory_equal(got, msg, (size_t)n);
	}
	for (int i = 0; i < N; i++)
		close(fds[i]);
	assert_int_equal(stop(&s, SIGTERM), 0);
	assert_non_null(strstr(s.log, "accepted 1000, closed 1000"));
}

/* Out of descriptors: accept fails with EMFILE and the server backs off
 * instead of spinning; when clients leave, new ones are served. */
static void test_emfile_backoff(void **state)
{
	(void)state;
	enum { N = 60 };
	server_t s;
	/* --stats: a counters line every 50 ms, which says when the server
	 * has backed off (not a fixed sleep that a loaded machine outruns). */
	start(&s, "--stats 0.05", 40); /* a few for the runtime, ~25 for clients */
	int fds[N];
	for (int i = 0; i < N; i++)
		fds[i] = dial(s.port); /* the kernel queues what accept can't take */
	int64_t give_up = rgt_ms() + RGT_NEVER_MS;
	const char *seen = NULL;
	while (!seen && rgt_ms() < give_up) {
		drain(&s, 20);
		for (const char *l = s.log; !seen && (l = strstr(l, "accept-backoffs ")); l++)
			if (atol(l + strlen("accept-backoffs ")) > 0)
				seen = l;
	}
	if (!seen)
		fail_msg("the server never backed off:\n%s", s.log);
	s.len = 0; /* room for the exit summary, checked below */
	s.log[0] = 0;
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	int fd = dial(s.port);
	assert_true(fd >= 0);
	char buf[8];
	assert_true(write_all(fd, "ok", 2));
	assert_true(read_full(fd, buf, 2));
	close(fd);
	assert_int_equal(stop(&s, SIGTERM), 0);
	const char *b = strstr(s.log, "accept back-offs ");
	assert_non_null(b);
	assert_true(atol(b + strlen("accept back-offs ")) > 0);
}

/* Bad flags: a usage message and status 2, not a crash. */
static void test_bad_arguments(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "%s --procs banana >/dev/null 2>&1", server_path);
	int st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	snprintf(cmd, sizeof(cmd), "%s --addr nowhere:notaport >/dev/null 2>&1", server_path);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
}

int main(int argc, char **argv)
{
	(void)argc;
	/* build-dir/tests/test_echo -> build-dir/ringo-echo */
	char self[PATH_MAX];
	if (!realpath(argv[0], self))
		return 1;
	snprintf(server_path, sizeof(server_path), "%s/../ringo-echo", dirname(self));
	if (access(server_path, X_OK) != 0) {
		fprintf(stderr, "test_echo: %s not built\n", server_path);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_and_sigterm),
		cmocka_unit_test(test_large_transfer),
		cmocka_unit_test(test_hostile_clients),
		cmocka_unit_test(test_many_connections),
		cmocka_unit_test(test_emfile_backoff),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
