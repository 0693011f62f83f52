// SPDX-License-Identifier: MIT
/*
 * echo_uring — the hand-written io_uring baseline: a single-threaded TCP
 * echo server on liburing, with no runtime.  Benchmark peer for ringo.
 *
 *   echo_uring [--addr HOST:PORT]      (default 127.0.0.1:7002)
 *
 * One ring.  Accept is multishot where the kernel has it (one SQE keeps
 * producing connections), otherwise an ordinary accept re-armed after each
 * completion.  Each connection has exactly one operation in flight at any
 * time: a recv into its buffer, then a send of what arrived (re-issued for
 * the rest after a short send), then the next recv.  Every new SQE produced
 * while handling a batch of completions goes to the kernel in the next
 * io_uring_submit_and_wait(), together with the wait: one system call per
 * loop turn.  SIGINT/SIGTERM are read from a signalfd through the ring.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

/* Newer than some liburing headers: define what we use if missing. */
#ifndef IORING_CQE_F_MORE
#define IORING_CQE_F_MORE (1U << 1)
#endif
#ifndef IORING_ACCEPT_MULTISHOT
#define IORING_ACCEPT_MULTISHOT (1U << 0)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

#define PROG "echo_uring"
#define BUFSZ 16384
#define RING_ENTRIES 4096

enum op { OP_ACCEPT, OP_SIGNAL, OP_RECV, OP_SEND };

struct conn {
	enum op op;             /* the one operation in flight */
	int fd;
	size_t len, off;        /* pending send: buf[off, off+len) */
	unsigned char buf[BUFSZ];
};

/* user_data for the two non-connection operations */
static struct conn accept_tag = { .op = OP_ACCEPT, .fd = -1 };
static struct conn signal_tag = { .op = OP_SIGNAL, .fd = -1 };

static struct io_uring ring;
static int lfd = -1, sfd = -1;
static int multishot = 1;
static struct signalfd_siginfo siginfo;
static long nconns;

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	while (!sqe) {
		/* SQ full: hand what is queued to the kernel, then retry */
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void arm_accept(void)
{
	struct io_uring_sqe *sqe = sqe_get();
	if (multishot)
		io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data(sqe, &accept_tag);
}

static void arm_signal(void)
{
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_read(sqe, sfd, &siginfo, sizeof siginfo, 0);
	io_uring_sqe_set_data(sqe, &signal_tag);
}

static void arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = sqe_get();
	c->op = OP_RECV;
	io_uring_prep_recv(sqe, c->fd, c->buf, BUFSZ, 0);
	io_uring_sqe_set_data(sqe, c);
}

static void arm_send(struct conn *c)
{
	struct io_uring_sqe *sqe = sqe_get();
	c->op = OP_SEND;
	io_uring_prep_send(sqe, c->fd, c->buf + c->off, c->len, MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, c);
}

/* Safe: the connection has no operation in flight when this runs. */
static void drop(struct conn *c)
{
	close(c->fd);
	free(c);
	nconns--;
}

static void on_accept(struct io_uring_cqe *cqe)
{
	int res = cqe->res;
	int more = (cqe->flags & IORING_CQE_F_MORE) != 0;

	if (res >= 0) {
		struct conn *c = malloc(sizeof *c);
		if (!c) {
			close(res);
		} else {
			int one = 1;
			setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			c->fd = res;
			c->len = c->off = 0;
			nconns++;
			arm_recv(c);
		}
	} else if (multishot && (res == -EINVAL || res == -EOPNOTSUPP)) {
		/* this kernel has no multishot accept: fall back */
		multishot = 0;
		fprintf(stderr, PROG ": multishot accept unsupported, "
			"using re-armed accept\n");
	} else if (res != -EINTR && res != -ECONNABORTED && res != -EAGAIN) {
		static unsigned reported;
		if (reported++ < 10)    /* e.g. EMFILE: say so, don't flood */
			fprintf(stderr, PROG ": accept: %s\n", strerror(-res));
	}
	if (!more)
		arm_accept();   /* single-shot, or the multishot ended */
}

static void on_conn(struct conn *c, int res)
{
	if (c->op == OP_RECV) {
		if (res <= 0) {
			if (res == -EINTR || res == -EAGAIN) {
				arm_recv(c);
				return;
			}
			drop(c);        /* EOF or error */
			return;
		}
		c->off = 0;
		c->len = (size_t)res;
		arm_send(c);
		return;
	}
	/* OP_SEND */
	if (res < 0) {
		if (res == -EINTR || res == -EAGAIN) {
			arm_send(c);
			return;
		}
		drop(c);
		return;
	}
	c->off += (size_t)res;
	c->len -= (size_t)res;
	if (c->len)
		arm_send(c);    /* short send: the rest */
	else
		arm_recv(c);
}

static int listen_on(const char *addr)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof host) {
		fprintf(stderr, PROG ": bad address '%s' (want HOST:PORT)\n", addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc) {
		fprintf(stderr, PROG ": cannot resolve '%s': %s\n", addr, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		fprintf(stderr, PROG ": cannot listen on %s: %s\n", addr, strerror(errno));
		freeaddrinfo(res);
		close(fd);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int ring_init(void)
{
	/* best first; each later set works on older kernels */
	static const unsigned flagsets[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int rc = -EINVAL;
	for (size_t i = 0; i < sizeof flagsets / sizeof flagsets[0]; i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof p);
		p.flags = flagsets[i];
		rc = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
		if (rc == 0)
			return 0;
		if (rc != -EINVAL)
			break;
	}
	fprintf(stderr, PROG ": io_uring_queue_init: %s\n", strerror(-rc));
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *addr = "127.0.0.1:7002";
	int o;
	while ((o = getopt_long(argc, argv, "a:h", lo, NULL)) != -1) {
		if (o == 'a') {
			addr = optarg;
		} else {
			fprintf(o == 'h' ? stdout : stderr,
				"usage: " PROG " [--addr HOST:PORT]  (default 127.0.0.1:7002)\n");
			return o == 'h' ? 0 : 2;
		}
	}

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);

	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	sfd = signalfd(-1, &ss, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, PROG ": signalfd: %s\n", strerror(errno));
		return 1;
	}
	lfd = listen_on(addr);
	if (lfd < 0)
		return 1;
	if (ring_init() < 0)
		return 1;

	arm_signal();
	arm_accept();
	fprintf(stderr, PROG ": listening on %s\n", addr);

	int quit = 0;
	while (!quit) {
		int rc = io_uring_submit_and_wait(&ring, 1);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			fprintf(stderr, PROG ": io_uring_submit_and_wait: %s\n",
				strerror(-rc));
			break;
		}
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			struct conn *c = io_uring_cqe_get_data(cqe);
			seen++;
			if (c == &accept_tag)
				on_accept(cqe);
			else if (c == &signal_tag)
				quit = 1;
			else
				on_conn(c, cqe->res);
		}
		io_uring_cq_advance(&ring, seen);
	}

	/*
	 * Connections still open have operations in flight that point at
	 * their buffers; tearing the ring down cancels those first, so free
	 * nothing before it.  The kernel closes the sockets at exit.
	 */
	fprintf(stderr, PROG ": exiting (%ld connections open)\n", nconns);
	/*
	 * The ring is torn down asynchronously after exit, and the pending
	 * accept keeps the listening socket alive until then: shut it down
	 * now so the port is free the moment this process is gone.
	 */
	shutdown(lfd, SHUT_RDWR);
	io_uring_queue_exit(&ring);
	close(lfd);
	close(sfd);
	return 0;
}
