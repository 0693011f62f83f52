// SPDX-License-Identifier: MIT
/*
 * echo_epoll — the hand-written baseline: a single-threaded epoll TCP echo
 * server with no runtime at all.  Benchmark peer for ringo's echo server.
 *
 *   echo_epoll [--addr HOST:PORT]      (default 127.0.0.1:7001)
 *
 * Level-triggered epoll.  Each readable connection gets one read into its
 * own buffer, and the bytes are written straight back.  If the write is
 * short, the rest waits in the buffer: the connection stops watching
 * EPOLLIN and watches EPOLLOUT until the buffer has drained (so a slow
 * reader cannot make the server buffer without bound).  SIGINT and SIGTERM
 * arrive through a signalfd in the same epoll set and end the loop cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROG "echo_epoll"
#define BUFSZ 16384
#define MAXEV 256

struct conn {
	int fd;
	size_t len;             /* bytes in buf still to write */
	size_t off;             /* first of them */
	unsigned char buf[BUFSZ];
};

/* epoll data.ptr tags for the two non-connection fds */
static char tag_listen, tag_signal;

static int ep = -1;
static int spare_fd = -1;       /* kept to recover from EMFILE on accept */
static long nconns;

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
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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

static void drop(struct conn *c)
{
	close(c->fd);           /* also removes it from the epoll set */
	free(c);
	nconns--;
}

static void set_events(struct conn *c, unsigned ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) < 0) {
		fprintf(stderr, PROG ": epoll_ctl: %s\n", strerror(errno));
		drop(c);
	}
}

/* Write what is buffered.  Returns 1 drained, 0 would block, -1 dropped. */
static int flush(struct conn *c)
{
	while (c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			drop(c);
			return -1;
		}
		c->off += (size_t)n;
		c->len -= (size_t)n;
	}
	c->off = 0;
	return 1;
}

static void on_readable(struct conn *c)
{
	ssize_t n = recv(c->fd, c->buf, BUFSZ, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		drop(c);        /* EOF or error */
		return;
	}
	c->off = 0;
	c->len = (size_t)n;
	if (flush(c) == 0)
		set_events(c, EPOLLOUT);        /* stop reading until drained */
}

static void on_writable(struct conn *c)
{
	if (flush(c) == 1)
		set_events(c, EPOLLIN);
}

static void on_accept(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
				/* shed one pending connection rather than spin */
				close(spare_fd);
				fd = accept(lfd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				fprintf(stderr, PROG ": out of file descriptors, "
					"refused a connection\n");
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, PROG ": accept: %s\n", strerror(errno));
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = malloc(sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = c->off = 0;
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) {
			close(fd);
			free(c);
			continue;
		}
		nconns++;
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *addr = "127.0.0.1:7001";
	int o;
	while ((o = getopt_long(argc, argv, "a:h", lo, NULL)) != -1) {
		if (o == 'a') {
			addr = optarg;
		} else {
			fprintf(o == 'h' ? stdout : stderr,
				"usage: " PROG " [--addr HOST:PORT]  (default 127.0.0.1:7001)\n");
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
	int sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);

	int lfd = listen_on(addr);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ep < 0 || sfd < 0) {
		if (lfd >= 0)
			fprintf(stderr, PROG ": setup: %s\n", strerror(errno));
		return 1;
	}
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &tag_listen };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
	e.data.ptr = &tag_signal;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e);

	fprintf(stderr, PROG ": listening on %s\n", addr);
	int quit = 0;
	struct epoll_event evs[MAXEV];
	while (!quit) {
		int n = epoll_wait(ep, evs, MAXEV, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, PROG ": epoll_wait: %s\n", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			uint32_t ev = evs[i].events;
			if (p == &tag_listen) {
				on_accept(lfd);
			} else if (p == &tag_signal) {
				quit = 1;
			} else {
				struct conn *c = p;
				if (c->len)
					on_writable(c);
				else if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
					on_readable(c);
			}
		}
	}

	/*
	 * Connections are not tracked in a list (the epoll set is the only
	 * index), so at exit the process lets the kernel close them.
	 */
	fprintf(stderr, PROG ": exiting (%ld connections open)\n", nconns);
	close(lfd);
	close(ep);
	return 0;
}
