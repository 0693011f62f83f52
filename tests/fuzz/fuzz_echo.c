// SPDX-License-Identifier: MIT
/*
 * fuzz_echo.c — libFuzzer harness for ringo-echo's connection handling
 * (tools/ringo-echo.c, included here without its main): each input is
 * a script a client plays against one connection served by the real
 * conn_start/conn_main, over real loopback TCP.
 *
 *   make fuzz FUZZ_HARNESSES=echo [FUZZ_SECONDS=60]
 *
 * The script is a sequence of steps, each one byte (op = byte % 8)
 * and maybe arguments:
 *
 *   0 write   next byte n, then n bytes: sent to the server
 *   1 read    what the server has echoed so far (without waiting)
 *   2 shut    shutdown(SHUT_WR): the server must echo the rest and close
 *   3 reset   close with SO_LINGER 0 (an RST): the server must close
 *   4 cancel  the connections' context is cancelled (the grace period
 *             ending): the server must close
 *   5 split   writes the next byte n's worth of input one byte a send
 *   6 drain   reads until everything sent so far has come back
 *   7 big     writes 64 KiB (a pattern) without reading: the echo
 *             fills the socket buffers, and conn_main blocks in write
 *             until a later read or the end of the script reads them
 *
 * The end of the script is a shut if nothing ended the connection.
 * Then the harness checks, and traps on a failure: what came back is
 * exactly what was sent (after a shut), or a prefix of it (after a reset
 * or cancel); conn_main ended (the wait group), closed its descriptor,
 * gave back its slot and context reference, and counted no error.
 * AddressSanitizer's findings and hangs (libFuzzer's -timeout) are
 * crashes too.
 */
#define RINGO_ECHO_NO_MAIN
#include "../../tools/ringo-echo.c"
#include "fuzz.h"

#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>

static int lfd = -1;
static struct sockaddr_in laddr;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("RINGO_PROCS", "2", 0);
	if (rg_init(NULL) != 0)
		abort();
	/* One slot: the harness serves one connection at a time. */
	opt.max_conns = 1;
	slots = rg_chan_make(1, 1);
	give_slot();
	conn_ctx = rg_ctx_with_cancel(rg_ctx_background());

	/* The listener and each connection come from rg_listen and
	 * rg_accept (on this foreign thread), as in the server: on the
	 * epoll backend that makes them non-blocking. */
	socklen_t len = sizeof(laddr);
	lfd = rg_listen("tcp4", "127.0.0.1:0");
	if (lfd < 0 || getsockname(lfd, (struct sockaddr *)&laddr, &len) != 0)
		abort();
	(void)serve; /* the rest of ringo-echo, unused here */
	return 0;
}

typedef struct client {
	int fd;
	char *sent, *got;
	size_t nsent, ngot, cap;
	bool wr_open;
} client_t;

static void fail(const char *why, const client_t *c)
{
	fprintf(stderr, "fuzz_echo: %s (sent %zu, got %zu)\n", why, c->nsent, c->ngot);
	rg_dump_goroutines(2);
	__builtin_trap();
}

/* Reads what is there; with wait_ms, waits up to that long for a byte. */
static ssize_t take(client_t *c, int wait_ms)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (fuzz_poll(&p, 1, wait_ms) <= 0)
		return -EAGAIN;
	char buf[16384];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (c->ngot + (size_t)n > c->nsent)
		fail("more came back than was sent", c);
	memcpy(c->got + c->ngot, buf, (size_t)n);
	c->ngot += (size_t)n;
	if (memcmp(c->got, c->sent, c->ngot) != 0)
		fail("what came back is not what was sent", c);
	return n;
}

/* Sends n bytes, reading the echo whenever the send would block (the
 * server blocks in its write while nobody reads).  len 1 sends: split. */
static void give(client_t *c, const uint8_t *p, size_t n, size_t chunk)
{
	if (!c->wr_open)
		return;
	if (c->nsent + n > c->cap)
		n = c->cap - c->nsent;
	size_t off = 0;
	while (off < n) {
		size_t k = n - off < chunk ? n - off : chunk;
		ssize_t w = send(c->fd, p + off, k, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			memcpy(c->sent + c->nsent, p + off, (size_t)w);
			c->nsent += (size_t)w;
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN)
			fail("send failed", c);
		struct pollfd q = {.fd = c->fd, .events = POLLIN | POLLOUT};
		if (fuzz_poll(&q, 1, 10000) <= 0)
			fail("no progress in 10 s (send)", c);
		if (q.revents & POLLIN)
			take(c, 0);
	}
}

/* Reads until ngot == nsent (want_eof: and then the EOF). */
static void drain(client_t *c, bool want_eof)
{
	for (;;) {
		if (c->ngot == c->nsent && !want_eof)
			return;
		ssize_t n = take(c, 10000);
		if (n == 0) {
			if (c->ngot != c->nsent)
				fail(want_eof ? "closed before echoing everything"
					      : "closed while the client still writes", c);
			return;
		}
		if (n == -EAGAIN)
			fail("no progress in 10 s (read)", c);
		if (n < 0)
			fail("read failed", c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t big[65536];
	if (!big[1])
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)(i * 31 + 7);

	client_t c = {.wr_open = true};
	c.cap = size * 256 + 65536 * 4;
	c.sent = malloc(c.cap);
	c.got = malloc(c.cap);
	c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&laddr, sizeof(laddr)) != 0) {
		/* A signal (see fuzz.h) may end connect's wait: the
		 * connection goes on, and finishes on loopback at once. */
		struct pollfd q = {.fd = c.fd, .events = POLLOUT};
		if (c.fd < 0 || errno != EINTR || fuzz_poll(&q, 1, 10000) != 1)
			fail("cannot connect", &c);
	}
	int sfd = rg_accept(lfd, NULL, NULL, NULL);
	if (sfd < 0) {
		fprintf(stderr, "fuzz_echo: rg_accept: %s\n", strerror(-sfd));
		fail("cannot accept", &c);
	}
	/* The accept loop's part: a slot, then conn_start. */
	char token;
	bool ok = false;
	if (rg_chan_try_recv(slots, &token, &ok) != 0 || !ok)
		fail("no free slot before the connection", &c);
	long accepted0 = atomic_load(&stats.accepted);
	conn_start(sfd);

	enum { OPEN, SHUT, RESET, CANCELLED } end = OPEN;
	size_t i = 0;
	while (i < size && end == OPEN) {
		uint8_t op = data[i++] % 8;
		size_t n = i < size ? data[i] : 0;
		switch (op) {
		case 0:
		case 5:
			i++;
			if (n > size - (i < size ? i : size))
				n = size - (i < size ? i : size);
			give(&c, data + i, n, op == 5 ? 1 : n ? n : 1);
			i += n;
			break;
		case 1:
			take(&c, 0);
			break;
		case 2:
			end = SHUT;
			break;
		case 3: {
			struct linger l = {.l_onoff = 1, .l_linger = 0};
			setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			end = RESET;
			break;
		}
		case 4:
			end = CANCELLED;
			break;
		case 6:
			drain(&c, false);
			break;
		case 7:
			give(&c, big, sizeof(big), sizeof(big));
			break;
		}
	}
	switch (end) {
	case OPEN:
	case SHUT:
		shutdown(c.fd, SHUT_WR);
		c.wr_open = false;
		drain(&c, true);
		close(c.fd);
		break;
	case RESET:
		close(c.fd);
		break;
	case CANCELLED:
		rg_ctx_cancel(conn_ctx);
		/* Read until the server closes: a prefix of what was sent. */
		for (;;) {
			ssize_t n = take(&c, 10000);
			if (n == 0 || n == -ECONNRESET)
				break;
			if (n == -EAGAIN)
				fail("no close in 10 s after the cancel", &c);
			if (n < 0)
				fail("read failed after the cancel", &c);
		}
		close(c.fd);
		break;
	}

	/* The server's side of the connection is over and handed back. */
	rg_wg_wait(&conns);
	if (atomic_load(&stats.active) != 0 || atomic_load(&stats.accepted) != accepted0 + 1)
		fail("connection counters off", &c);
	if (atomic_load(&stats.errors) != 0)
		fail("conn_main counted an error", &c);
	if (rg_chan_len(slots) != 1)
		fail("the slot was not given back", &c);
	if (fcntl(sfd, F_GETFD) != -1 || errno != EBADF) {
		/* The number may have been reused by now, but nothing else
		 * in this process opens descriptors between inputs. */
		fail("the server's descriptor is still open", &c);
	}
	if (end == CANCELLED) {
		/* As serve does: the grace period's context is done; a new
		 * one serves the next input. */
		rg_ctx_release(conn_ctx);
		conn_ctx = rg_ctx_with_cancel(rg_ctx_background());
	}
	free(c.sent);
	free(c.got);
	return 0;
}
