// SPDX-License-Identifier: MIT
/*
 * fuzz_pool_http.c — libFuzzer harness for ringo-pool's request handling:
 * the bytes a client sends, through the real connection goroutine
 * (tools/ringo-pool/http.c: libhttp_parser, pipelining, deadlines,
 * routing, every endpoint but exec), to the bytes it gets back.
 *
 *   make fuzz FUZZ_HARNESSES=pool_http [FUZZ_SECONDS=60]   (fuzz.mk)
 *
 * Each input is one connection: the harness makes a socketpair, starts
 * conn_main on the server end in a goroutine (as the accept loop does),
 * writes the input from this (foreign) thread while reading what comes
 * back, shuts its write side, and reads to EOF.  Then it checks the
 * answer: a sequence of well-formed HTTP/1.1 responses (a status line
 * with a known code, headers, exactly Content-Length body bytes), no
 * 500 (an unanswered request or a handler failure), and never a byte of
 * the file planted outside the files root.  Anything else is a crash
 * (__builtin_trap), as are AddressSanitizer's findings and hangs
 * (libFuzzer's -timeout).
 *
 * The server runs with small limits so that inputs reach them: 2 KiB
 * heads, 4 KiB bodies, 50 ms deadlines (a sleep longer than that is a
 * 504, not a slow input), a rate limit of 1000/s.  The peer address
 * alternates between loopback and 192.0.2.1 (TEST-NET-1, never dialled:
 * it is only the address the server believes it talks to), so that the
 * loopback-only goroutine dump is fuzzed on both sides.  exec is left
 * out: a process per input would make the fuzzer crawl, and its input
 * handling (the allow-list lookup) is the same code as the other routes.
 *
 * This harness links the server's objects except main.c, so it defines
 * the two globals main.c owns (cfg, srv).
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

srv_config_t cfg = {
	.addr = "fuzz",
	.workers = 4,
	.queue = 16,
	.timeout = 50 * RG_MILLISECOND,
	.rate = 1000,
	.burst = 1000,
	.max_keys = 64,
	.max_body = 4096,
	.max_header = 2048,
	.max_output = 4096,
	.header_timeout = 50 * RG_MILLISECOND,
	.idle_timeout = 50 * RG_MILLISECOND,
	.max_conns = 16,
	.grace = 0,
};
srv_state_t srv = {.root_fd = -1};

static char root[64];
static rg_chan_t *finished;

static void conn_go(void *arg)
{
	conn_main(arg);
	char one = 1;
	rg_chan_send(finished, &one);
}

static void plant(const char *dir, const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char top[64] = "/tmp/fuzz_pool_http.XXXXXX", p[256];
	if (!mkdtemp(top))
		abort();
	snprintf(root, sizeof(root), "%s/root", top);
	mkdir(root, 0755);
	plant(top, "secret", "FUZZ-SECRET-OUTSIDE");
	plant(root, "a.txt", "inside\n");
	snprintf(p, sizeof(p), "%s/sub", root);
	mkdir(p, 0755);
	plant(p, "b.txt", "deeper\n");
	snprintf(p, sizeof(p), "%s/link-out", root);
	if (symlink("../secret", p) != 0)
		abort();
	cfg.root = root;

	setenv("RINGO_PROCS", "2", 1);
	if (rg_init(NULL) != 0)
		abort();
	srv.started = rg_now();
	srv.idle_ctx = rg_ctx_with_cancel(rg_ctx_background());
	srv.kill_ctx = rg_ctx_with_cancel(rg_ctx_background());
	finished = rg_chan_make(1, 1);
	if (routes_init() < 0)
		abort();
	return 0;
}

static size_t serve_bytes(const uint8_t *data, size_t size, uint32_t peer_ip, char **outp);

/* Before fuzzing: the goroutine dump is for loopback peers only (the
 * process tests cannot dial from another address; here the peer is
 * whatever the harness says). */
static void check_debug_access(void)
{
	static const char q[] = "GET /debug/goroutines HTTP/1.1\r\nConnection: close\r\n\r\n";
	char *out;
	serve_bytes((const uint8_t *)q, sizeof(q) - 1, 0xc0000201u, &out);
	if (strncmp(out, "HTTP/1.1 403 ", 13) != 0) {
		fprintf(stderr, "fuzz_pool_http: /debug/goroutines from 192.0.2.1: %.40s\n", out);
		abort();
	}
	free(out);
	serve_bytes((const uint8_t *)q, sizeof(q) - 1, INADDR_LOOPBACK, &out);
	if (strncmp(out, "HTTP/1.1 200 ", 13) != 0 || !strstr(out, "goroutine ")) {
		fprintf(stderr, "fuzz_pool_http: /debug/goroutines from loopback: %.40s\n", out);
		abort();
	}
	free(out);
}

/* Checks the server's answer; traps on anything malformed. */
static void check(const char *out, size_t len)
{
	if (memmem(out, len, "FUZZ-SECRET-OUTSIDE", 19))
		__builtin_trap(); /* a file from outside the root */
	size_t at = 0;
	while (at < len) {
		const char *p = out + at;
		size_t left = len - at;
		const char *end = memmem(p, left, "\r\n\r\n", 4);
		if (left < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0 || !end)
			__builtin_trap();
		int code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
		if (code < 100 || code > 599 || code == 500)
			__builtin_trap();
		size_t hl = (size_t)(end - p) + 4;
		size_t body = 0;
		if (code != 100) {
			const char *cl = memmem(p, hl, "\r\nContent-Length: ", 18);
			if (!cl)
				__builtin_trap();
			body = strtoul(cl + 18, NULL, 10);
		}
		/* A HEAD response carries the length but no body: one that
		 * is followed at once by the next status line, where its body
		 * would not be, had none (no body the server sends starts
		 * with a status line).  The only short body allowed is the
		 * last (the connection closed). */
		bool next_here = left >= hl + 9 && memcmp(p + hl, "HTTP/1.1 ", 9) == 0;
		bool next_after = left >= hl + body + 9 && memcmp(p + hl + body, "HTTP/1.1 ", 9) == 0;
		if (body && next_here && !next_after)
			body = 0;
		if (hl + body > left)
			return;
		at += hl + body;
	}
}

/* One connection: data in, the server's bytes out (*outp, malloc'd,
 * NUL-terminated); returns their length. */
static size_t serve_bytes(const uint8_t *data, size_t size, uint32_t peer_ip, char **outp)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	struct sockaddr_storage peer = {0};
	struct sockaddr_in *in = (struct sockaddr_in *)&peer;
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(peer_ip);
	conn_t *c = conn_new(sv[1], &peer, sizeof(*in));
	if (!c || rg_go(conn_go, c) != 0)
		abort();

	/* Write the input while reading what comes back, so that neither
	 * side's buffer fills while the other waits. */
	size_t cap = 1 << 16, len = 0, off = 0;
	char *out = malloc(cap + 1);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	bool wr_open = true;
	int64_t last = rg_now();
	for (;;) {
		struct pollfd p = {.fd = sv[0], .events = POLLIN | (wr_open ? POLLOUT : 0)};
		int pr = poll(&p, 1, 1000);
		/* A signal ends poll early (EINTR: libFuzzer's -timeout alarm
		 * and replay.c's ALARM_US storm): that is no sign of a stuck
		 * server, only 10 s without a ready event is. */
		if (pr > 0)
			last = rg_now();
		else if (pr < 0 && errno != EINTR)
			abort();
		if (pr <= 0 && rg_now() - last < 10 * RG_SECOND)
			continue;
		if (pr <= 0) {
			/* The server neither reads nor answers: show where
			 * every goroutine is, then fail. */
			fprintf(stderr, "fuzz_pool_http: no progress in 10 s\n");
			rg_dump_goroutines(2);
			__builtin_trap();
		}
		if (p.revents & POLLOUT) {
			ssize_t w = off < size ? send(sv[0], data + off, size - off, MSG_NOSIGNAL) : 0;
			if (w > 0)
				off += (size_t)w;
			if (off >= size || (w < 0 && errno != EAGAIN)) {
				shutdown(sv[0], SHUT_WR);
				wr_open = false;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (len == cap)
				out = realloc(out, (cap *= 2) + 1);
			ssize_t n = read(sv[0], out + len, cap - len);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				break;
			if (n > 0)
				len += (size_t)n;
		}
	}
	close(sv[0]);
	rg_chan_recv(finished, NULL); /* conn_main has closed its end */
	out[len] = 0;
	*outp = out;
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned turn;
	static bool checked;
	if (!checked) {
		check_debug_access();
		checked = true;
	}
	char *out;
	size_t len = serve_bytes(data, size, turn++ % 2 ? INADDR_LOOPBACK : 0xc0000201u, &out);
	check(out, len);
	free(out);
	return 0;
}
