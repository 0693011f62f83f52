// SPDX-License-Identifier: MIT
/*
 * echo_uring — the hand-written io_uring baseline: a single-threaded TCP
 * echo server on liburing, with no runtime.  Benchmark peer for ringo: it
 * stands for the limit, so it should use what measures cheapest on this
 * machine, and it keeps the other techniques selectable to measure them.
 *
 *   echo_uring [--addr HOST:PORT] [--setup defer|coop|plain]
 *              [--recv single|chain|multi] [--regfd on|off]
 *              [--fixed on|off] [--bufs N] [--bufsize BYTES]
 *
 * One ring, one thread.  Every SQE produced while handling a batch of
 * completions goes to the kernel in the next io_uring_submit_and_wait(),
 * together with the wait: one system call per loop turn, however many
 * sends and receives it carries.  Accept is multishot where the kernel has
 * it (one SQE keeps producing connections), otherwise re-armed after each
 * completion.  SIGINT/SIGTERM are read from a signalfd through the ring.
 * The line "listening on ..." on stderr says which options are in effect.
 *
 * Options (each falls back by itself, with a line on stderr, when the
 * kernel refuses it: EINVAL, as from a kernel without the feature;
 * ECHO_URING_REFUSE=defer,coop,bufring,multi provokes that refusal from
 * this kernel by setting a reserved bit, to test the fallbacks):
 *
 *   --setup defer   IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN (6.1):
 *                   completion task work runs only inside our
 *                   io_uring_enter, never in an interrupt of the loop.
 *                   Falls back to coop, then plain.
 *           coop    IORING_SETUP_COOP_TASKRUN | TASKRUN_FLAG (5.19): no
 *                   IPI for a completion; falls back to plain.
 *           plain   no setup flags.
 *   --recv single   one recv per request into the connection's buffer,
 *                   then a send of what arrived (the rest re-sent after a
 *                   short send), each with its completion: per request two
 *                   SQEs, two CQEs.
 *          chain    the same recv, but the send is linked to the next recv
 *                   (IOSQE_IO_LINK), which starts once the send is done,
 *                   and posts no completion when it succeeds
 *                   (IOSQE_CQE_SKIP_SUCCESS, 5.17; MSG_WAITALL, so the
 *                   kernel sends all or fails): two SQEs, one CQE.  A send
 *                   that fails posts its CQE; its linked recv is cancelled
 *                   without one (the kernel skips the CQEs of a failed
 *                   skip-success head's links), and the connection is
 *                   dropped.
 *          multi    multishot recv (IORING_RECV_MULTISHOT, 6.0) into a
 *                   provided-buffer ring (IORING_REGISTER_PBUF_RING, 5.19;
 *                   liburing 2.3 has no io_uring_setup_buf_ring, so the
 *                   ring's memory is mapped here): armed once per
 *                   connection; each arrival is a CQE naming the buffer it
 *                   filled; the buffer is sent, and goes back to the ring
 *                   when its send completes: one SQE, two CQEs.  One send
 *                   in flight per connection, later buffers queue behind it
 *                   in order.  -ENOBUFS (ring empty) ends the multishot:
 *                   the connection re-arms once buffers have come back.
 *                   Falls back to single when the buffer ring cannot be
 *                   registered or the first multishot recv is refused.
 *   --regfd on      io_uring_register_ring_fd (5.18): io_uring_enter takes
 *                   the ring by registered index, no fd lookup.
 *   --fixed on      connections go into a registered file table
 *                   (io_uring_register_files_update; IOSQE_FIXED_FILE):
 *                   no file reference taken and dropped per request.
 *   --bufs N        buffers in the provided ring (a power of two).
 *   --bufsize B     bytes per provided buffer.
 *
 * Defaults: --setup defer --recv multi --regfd on --fixed off --bufs 4096
 * --bufsize 4096: the cheapest in server CPU per request, then req/s, of
 * what was measured here (2026-12-03, Linux 6.18, 2 vCPUs shared with
 * other jobs: load average 1 to 38 during the runs; build/ringo-load -t 1
 * on the same CPUs; CPU = utime+stime of /proc/PID/stat, and
 * sum_exec_runtime of /proc/PID/schedstat, which agreed within 2%, over
 * warmup + run, per request; variants run in turn, the order rotated each
 * round; medians, [ranges]):
 *
 * all rounds of three passes pooled (14 rounds of 2 s, 5 of 1.5 s, 6 of
 * 1.5 s; 4 KiB: 5 to 11 rounds; "old" is what this peer did before:
 * defer, single, no regfd):
 *
 *   us CPU/request      64 B x 64 conns    64 B x 512 conns   4 KiB x 64
 *   multi (default)     6.16 [5.63-9.30]   8.21 [6.41-9.51]   9.45 [8.46-12.4]
 *   single, regfd       6.18 [5.54-8.92]   8.30 [6.02-9.94]   9.39 [7.84-11.6]
 *   chain, regfd        6.37 [5.54-8.15]   8.26 [6.39-10.4]   10.3 [8.13-12.7]
 *   old                 6.33 [5.53-8.15]   8.80 [6.95-12.7]   9.54 [7.95-9.97]
 *
 * req/s in the quietest pass (6 rounds, medians): multi 139k / 101k / 71k,
 * old 130k / 98k / 77k, chain 153k / 108k / 73k; req/s swung 2-4x between
 * runs with the other jobs' load, so CPU per request is the figure to
 * compare.  Context switches: 0.01-0.07 per request for all at 64 B.
 * multi had the lowest median at 64 B, by 0.3-7%; at 4 KiB the four are
 * level but chain.  These differences are far smaller than the spread of
 * single runs on this machine: no option is a large win here, and
 * multishot receive by itself buys a few percent of server CPU at most.
 *
 * Measured and not made default:
 *   chain: the cheapest at 64 B in the last pass, dearer in the others,
 *     and the dearest at 4 KiB.
 *   --setup coop (8 pairs against defer, multi): 0.98 and 1.00 x defer's
 *     CPU at 64 and 512 conns, i.e. level; plain: 1.01 and 1.16 x.
 *   --fixed on (8 pairs, multi): 1.04 and 0.91 x: noise, no clear gain.
 *   --bufs 1024 --bufsize 1024 (1 MiB of buffers, against 16 MiB): level
 *     or better at 64 B in one pass, 8.69 against 7.54 at 512 conns in
 *     the next, and 3x the CPU at 4 KiB (a message spans 4 buffers, so 4
 *     CQEs and 4 sends).  --bufs 1024 --bufsize 4096: level.
 *   MADV_HUGEPAGE on the buffers (THP "madvise" here): 0.94 and 1.00 x
 *     the rest's mean: noise; not kept.
 * Not tried: recv bundles (6.10) and incremental buffers (6.12), which
 * help when several messages wait per connection: a closed-loop client
 * has one in flight.  Sends without a CQE in multi mode: the buffer could
 * not go back to the ring without one (a skip-success send that falls
 * short is silent, and one that waits reports nothing when done).
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
#include <sys/mman.h>
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
#ifndef IORING_RECV_MULTISHOT
#define IORING_RECV_MULTISHOT (1U << 1)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

#define PROG "echo_uring"
#define BUFSZ 16384             /* a connection's own buffer (single, chain) */
#define PBUF_GROUP 0
#define RING_ENTRIES 4096

enum setup { SETUP_PLAIN, SETUP_COOP, SETUP_DEFER };
enum recvmode { RECV_SINGLE, RECV_CHAIN, RECV_MULTI };
enum kind { K_RECV = 0, K_SEND = 1 };   /* low bit of a connection's user_data */

struct conn {
	int fd;                 /* the socket */
	int slot;               /* its index in the fixed table, or -1 */
	unsigned char recv_armed;       /* a recv whose CQE will come */
	unsigned char send_armed;       /* a send whose CQE will come */
	unsigned char dead;             /* drop once nothing is armed */
	unsigned char multi;            /* this connection receives multishot */
	/* single/chain: the pending send is buf[off, off+len) */
	size_t len, off;
	/* multi: filled buffers waiting to be sent, in order (bid lists) */
	int qhead, qtail;
	unsigned qoff;          /* bytes of qhead already sent */
	unsigned char buf[];    /* BUFSZ, single/chain only */
};

/* user_data for the non-connection operations (aligned: low bit free) */
static _Alignas(8) char accept_tag, signal_tag, cancel_tag;

static struct io_uring ring;
static int lfd = -1, sfd = -1;
static int accept_multishot = 1;
static struct signalfd_siginfo siginfo;
static long nconns;

static enum recvmode recvmode = RECV_MULTI;
static int use_fixed = 0;

/* provided-buffer ring (multi) */
static struct io_uring_buf_ring *br;
static unsigned char *pbufs;
static unsigned nbufs = 4096;
static unsigned pbuf_size = 4096;    /* one provided buffer */
static int *bnext;              /* per buffer: the next in its conn's queue */
static unsigned *blen;          /* per buffer: bytes received into it */
static int bring_adds;          /* buffers given back since the last advance */
static unsigned bufs_out;       /* buffers the kernel filled, not yet back */

/* connections waiting to re-arm after -ENOBUFS */
static struct conn **rearm;
static size_t nrearm, rearm_cap;

/* fixed-file slots */
static int *free_slots;
static int nfree_slots;
static unsigned max_fixed = 65536;   /* lowered to RLIMIT_NOFILE */

/*
 * ECHO_URING_REFUSE=defer,coop,bufring,multi makes the kernel refuse that
 * feature, to test the fallbacks: a reserved bit or field set in the
 * request, which the kernel answers with EINVAL as an older one would.
 */
static int refuse_defer, refuse_coop, refuse_bufring, refuse_multi;
#define RESERVED_SETUP_BIT (1U << 31)
#define RESERVED_RECV_BIT (1U << 15)

static void parse_refuse(void)
{
	const char *e = getenv("ECHO_URING_REFUSE");
	if (!e)
		return;
	refuse_defer = strstr(e, "defer") != NULL;
	refuse_coop = strstr(e, "coop") != NULL;
	refuse_bufring = strstr(e, "bufring") != NULL;
	refuse_multi = strstr(e, "multi") != NULL;
}

static void *ud(struct conn *c, enum kind k)
{
	return (void *)((uintptr_t)c | (uintptr_t)k);
}

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

/* aim an SQE at the connection's fixed slot, if it has one */
static void sqe_target(struct io_uring_sqe *sqe, struct conn *c)
{
	if (c->slot >= 0) {
		sqe->fd = c->slot;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

static void arm_accept(void)
{
	struct io_uring_sqe *sqe = sqe_get();
	if (accept_multishot)
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
	if (c->multi) {
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = PBUF_GROUP;
		if (refuse_multi)
			sqe->ioprio |= RESERVED_RECV_BIT;
	} else {
		io_uring_prep_recv(sqe, c->fd, c->buf, BUFSZ, 0);
	}
	sqe_target(sqe, c);
	io_uring_sqe_set_data(sqe, ud(c, K_RECV));
	c->recv_armed = 1;
}

/* single: send buf[off, off+len), its completion then arms the recv */
static void arm_send(struct conn *c)
{
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_send(sqe, c->fd, c->buf + c->off, c->len, MSG_NOSIGNAL);
	sqe_target(sqe, c);
	io_uring_sqe_set_data(sqe, ud(c, K_SEND));
	c->send_armed = 1;
}

/*
 * chain: send buf[0, len) all or nothing, with no CQE on success, linked
 * to the next recv into the same buffer (which starts once the send is
 * done).  Both SQEs must go in one submission: a link does not survive
 * the end of a submit.
 */
static void arm_send_recv(struct conn *c)
{
	if (io_uring_sq_space_left(&ring) < 2)
		io_uring_submit(&ring);
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_send(sqe, c->fd, c->buf, c->len, MSG_NOSIGNAL | MSG_WAITALL);
	sqe_target(sqe, c);
	sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data(sqe, ud(c, K_SEND));
	arm_recv(c);
}

/* multi: send the buffer at the head of the queue (from qoff) */
static void arm_send_buf(struct conn *c)
{
	int bid = c->qhead;
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_send(sqe, c->fd, pbufs + (size_t)bid * pbuf_size + c->qoff,
			   blen[bid] - c->qoff, MSG_NOSIGNAL);
	sqe_target(sqe, c);
	io_uring_sqe_set_data(sqe, ud(c, K_SEND));
	c->send_armed = 1;
}

static void buf_return(int bid)
{
	io_uring_buf_ring_add(br, pbufs + (size_t)bid * pbuf_size, pbuf_size,
			      (unsigned short)bid, io_uring_buf_ring_mask(nbufs),
			      bring_adds++);
	bufs_out--;
}

/* the connection is finished: end what is armed, free it once nothing is */
static void kill_conn(struct conn *c)
{
	if (!c->dead && c->recv_armed && c->multi) {
		/* a multishot recv would stay armed: cancel it */
		struct io_uring_sqe *sqe = sqe_get();
		io_uring_prep_cancel(sqe, ud(c, K_RECV), 0);
		io_uring_sqe_set_data(sqe, &cancel_tag);
	}
	c->dead = 1;
	if (c->recv_armed || c->send_armed)
		return;
	/* nothing of ours is in flight on it: safe to free */
	while (c->qhead >= 0) {
		int bid = c->qhead;
		c->qhead = bnext[bid];
		buf_return(bid);
	}
	if (c->slot >= 0) {
		int minus1 = -1;
		io_uring_register_files_update(&ring, (unsigned)c->slot, &minus1, 1);
		free_slots[nfree_slots++] = c->slot;
	}
	close(c->fd);
	free(c);
	nconns--;
}

static void on_accept(struct io_uring_cqe *cqe)
{
	int res = cqe->res;
	int more = (cqe->flags & IORING_CQE_F_MORE) != 0;

	if (res >= 0) {
		size_t extra = recvmode == RECV_MULTI ? 0 : BUFSZ;
		struct conn *c = malloc(sizeof *c + extra);
		if (!c) {
			close(res);
		} else {
			int one = 1;
			setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			memset(c, 0, sizeof *c);
			c->fd = res;
			c->slot = -1;
			c->qhead = c->qtail = -1;
			c->multi = recvmode == RECV_MULTI;
			if (use_fixed && nfree_slots > 0) {
				int slot = free_slots[nfree_slots - 1];
				if (io_uring_register_files_update(&ring, (unsigned)slot, &res, 1) == 1) {
					c->slot = slot;
					nfree_slots--;
				}
			}
			nconns++;
			arm_recv(c);
		}
	} else if (accept_multishot && (res == -EINVAL || res == -EOPNOTSUPP)) {
		/* this kernel has no multishot accept: fall back */
		accept_multishot = 0;
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

/* multishot refused by this kernel: this and later connections go single */
static void multi_refused(struct conn *c)
{
	static int said;
	if (!said++)
		fprintf(stderr, PROG ": multishot recv refused, using --recv single\n");
	recvmode = RECV_SINGLE;
	struct conn *n = realloc(c, sizeof *c + BUFSZ);
	if (!n) {
		kill_conn(c);
		return;
	}
	n->multi = 0;
	arm_recv(n);
}

static void on_recv_multi(struct conn *c, struct io_uring_cqe *cqe)
{
	int res = cqe->res;
	if (!(cqe->flags & IORING_CQE_F_MORE))
		c->recv_armed = 0;
	if (res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		bufs_out++;
		if (c->dead) {
			buf_return(bid);
		} else {
			blen[bid] = (unsigned)res;
			bnext[bid] = -1;
			if (c->qhead < 0) {
				c->qhead = c->qtail = bid;
				c->qoff = 0;
				arm_send_buf(c);
			} else {
				bnext[c->qtail] = bid;
				c->qtail = bid;
			}
		}
	} else if (res == -EINVAL && !c->dead && c->qhead < 0 && !c->send_armed) {
		multi_refused(c);
		return;
	} else if (res == -ENOBUFS && !c->dead) {
		/* the buffer ring ran dry: re-arm once buffers came back */
		if (nrearm == rearm_cap) {
			size_t cap = rearm_cap ? 2 * rearm_cap : 64;
			struct conn **r = realloc(rearm, cap * sizeof *r);
			if (!r) {
				kill_conn(c);
				return;
			}
			rearm = r;
			rearm_cap = cap;
		}
		rearm[nrearm++] = c;
		c->recv_armed = 1;      /* counts as armed: it will be */
		return;
	} else if (res <= 0 && res != -EINTR && res != -EAGAIN) {
		kill_conn(c);           /* EOF, error, or cancelled */
		return;
	}
	if (c->dead) {
		kill_conn(c);
	} else if (!c->recv_armed) {
		arm_recv(c);    /* the multishot ended (overflow, EINTR): again */
	}
}

static void on_send_multi(struct conn *c, int res)
{
	c->send_armed = 0;
	if (c->dead) {
		kill_conn(c);
		return;
	}
	if (res < 0 && res != -EINTR && res != -EAGAIN) {
		kill_conn(c);
		return;
	}
	if (res > 0)
		c->qoff += (unsigned)res;
	int bid = c->qhead;
	if (c->qoff < blen[bid]) {
		arm_send_buf(c);        /* short send: the rest */
		return;
	}
	c->qhead = bnext[bid];
	c->qoff = 0;
	buf_return(bid);
	if (c->qhead >= 0)
		arm_send_buf(c);
	else
		c->qtail = -1;
}

static void on_recv_single(struct conn *c, struct io_uring_cqe *cqe)
{
	int res = cqe->res;
	c->recv_armed = 0;
	if (c->dead || res == 0 || (res < 0 && res != -EINTR && res != -EAGAIN)) {
		kill_conn(c);   /* EOF, error, or cancelled by a failed send */
		return;
	}
	if (res < 0) {
		arm_recv(c);
		return;
	}
	c->off = 0;
	c->len = (size_t)res;
	if (recvmode == RECV_CHAIN)
		arm_send_recv(c);
	else
		arm_send(c);
}

static void on_send_single(struct conn *c, int res)
{
	if (recvmode == RECV_CHAIN) {
		/*
		 * Only a failed send posts a CQE here.  Its linked recv is
		 * cancelled and posts none: a head that fails with
		 * CQE_SKIP_SUCCESS skips the CQEs of its links (the kernel's
		 * REQ_F_SKIP_LINK_CQES).  Nothing is left in flight.
		 */
		c->recv_armed = 0;
		kill_conn(c);
		return;
	}
	c->send_armed = 0;
	if (c->dead || (res < 0 && res != -EINTR && res != -EAGAIN)) {
		kill_conn(c);
		return;
	}
	if (res > 0) {
		c->off += (size_t)res;
		c->len -= (size_t)res;
	}
	if (c->len)
		arm_send(c);    /* short send: the rest */
	else
		arm_recv(c);
}

static void on_conn(void *data, struct io_uring_cqe *cqe)
{
	struct conn *c = (struct conn *)((uintptr_t)data & ~(uintptr_t)1);
	enum kind k = (enum kind)((uintptr_t)data & 1);
	if (c->multi)
		k == K_RECV ? on_recv_multi(c, cqe) : on_send_multi(c, cqe->res);
	else
		k == K_RECV ? on_recv_single(c, cqe) : on_send_single(c, cqe->res);
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

static const char *const setup_names[] = { "plain", "coop", "defer" };
static enum setup setup_used;

static int ring_init(enum setup want)
{
	/* best first; each later set works on older kernels */
	static const unsigned flagsets[] = {
		[SETUP_DEFER] = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		[SETUP_COOP] = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		[SETUP_PLAIN] = 0,
	};
	int rc = -EINVAL;
	for (int s = (int)want; s >= 0; s--) {
		struct io_uring_params p;
		memset(&p, 0, sizeof p);
		p.flags = flagsets[s];
		if ((s == SETUP_DEFER && refuse_defer) || (s == SETUP_COOP && refuse_coop))
			p.flags |= RESERVED_SETUP_BIT;
		rc = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
		if (rc == 0) {
			setup_used = (enum setup)s;
			if (s != (int)want)
				fprintf(stderr, PROG ": --setup %s refused, using %s\n",
					setup_names[want], setup_names[s]);
			return 0;
		}
		if (rc != -EINVAL)
			break;
	}
	fprintf(stderr, PROG ": io_uring_queue_init: %s\n", strerror(-rc));
	return -1;
}

/*
 * The provided-buffer ring: liburing 2.3 has no io_uring_setup_buf_ring,
 * so map the ring's memory here (page-aligned, as the kernel wants) and
 * register it.  Returns 0, or -errno with nothing left registered.
 */
static int bufring_init(void)
{
	size_t rsz = (size_t)nbufs * sizeof(struct io_uring_buf);
	void *mem = mmap(NULL, rsz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	br = mem;
	io_uring_buf_ring_init(br);
	struct io_uring_buf_reg reg;
	memset(&reg, 0, sizeof reg);
	reg.ring_addr = (uintptr_t)br;
	reg.ring_entries = nbufs;
	reg.bgid = PBUF_GROUP;
	if (refuse_bufring)
		reg.resv[0] = 1;
	int rc = io_uring_register_buf_ring(&ring, &reg, 0);
	if (rc < 0) {
		munmap(mem, rsz);
		br = NULL;
		return rc;
	}
	pbufs = mmap(NULL, (size_t)nbufs * pbuf_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bnext = calloc(nbufs, sizeof *bnext);
	blen = calloc(nbufs, sizeof *blen);
	if (pbufs == MAP_FAILED || !bnext || !blen)
		return -ENOMEM;         /* main exits: nothing to undo */
	for (unsigned i = 0; i < nbufs; i++) {
		bufs_out++;
		buf_return((int)i);
	}
	io_uring_buf_ring_advance(br, bring_adds);
	bring_adds = 0;
	return 0;
}

static int parse_onoff(const char *s, const char *opt)
{
	if (!strcmp(s, "on"))
		return 1;
	if (!strcmp(s, "off"))
		return 0;
	fprintf(stderr, PROG ": %s wants on or off, not '%s'\n", opt, s);
	exit(2);
}

static const char usage[] =
	"usage: " PROG " [--addr HOST:PORT] [--setup defer|coop|plain]\n"
	"                  [--recv single|chain|multi] [--regfd on|off]\n"
	"                  [--fixed on|off] [--bufs N] [--bufsize BYTES]\n"
	"  defaults: --addr 127.0.0.1:7002 --setup defer --recv multi\n"
	"            --regfd on --fixed off --bufs 4096 --bufsize 4096\n";

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "setup", required_argument, NULL, 'S' },
		{ "recv", required_argument, NULL, 'R' },
		{ "regfd", required_argument, NULL, 'F' },
		{ "fixed", required_argument, NULL, 'X' },
		{ "bufs", required_argument, NULL, 'B' },
		{ "bufsize", required_argument, NULL, 'Z' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *addr = "127.0.0.1:7002";
	enum setup setup = SETUP_DEFER;
	int regfd = 1;
	int o;
	while ((o = getopt_long(argc, argv, "a:h", lo, NULL)) != -1) {
		switch (o) {
		case 'a':
			addr = optarg;
			break;
		case 'S':
			if (!strcmp(optarg, "defer")) setup = SETUP_DEFER;
			else if (!strcmp(optarg, "coop")) setup = SETUP_COOP;
			else if (!strcmp(optarg, "plain")) setup = SETUP_PLAIN;
			else goto bad;
			break;
		case 'R':
			if (!strcmp(optarg, "single")) recvmode = RECV_SINGLE;
			else if (!strcmp(optarg, "chain")) recvmode = RECV_CHAIN;
			else if (!strcmp(optarg, "multi")) recvmode = RECV_MULTI;
			else goto bad;
			break;
		case 'F':
			regfd = parse_onoff(optarg, "--regfd");
			break;
		case 'X':
			use_fixed = parse_onoff(optarg, "--fixed");
			break;
		case 'B': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || n < 1 || n > 32768 || (n & (n - 1)))
				goto bad;
			nbufs = (unsigned)n;
			break;
		}
		case 'Z': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || n < 64 || n > 65536)
				goto bad;
			pbuf_size = (unsigned)n;
			break;
		}
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
		bad:
			fputs(usage, stderr);
			return 2;
		}
	}

	parse_refuse();

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* the kernel refuses a file table larger than RLIMIT_NOFILE */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < max_fixed)
		max_fixed = (unsigned)rl.rlim_cur;
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
	if (ring_init(setup) < 0)
		return 1;
	if (regfd && io_uring_register_ring_fd(&ring) < 0) {
		fprintf(stderr, PROG ": io_uring_register_ring_fd refused, "
			"entering by fd\n");
		regfd = 0;
	}
	if (recvmode == RECV_MULTI) {
		int rc = bufring_init();
		if (rc == -ENOMEM) {
			fprintf(stderr, PROG ": no memory for %u buffers\n", nbufs);
			return 1;
		}
		if (rc < 0) {
			fprintf(stderr, PROG ": provided-buffer ring refused (%s), "
				"using --recv single\n", strerror(-rc));
			recvmode = RECV_SINGLE;
		}
	}
	if (use_fixed) {
		int rc = io_uring_register_files_sparse(&ring, max_fixed);
		free_slots = malloc(max_fixed * sizeof *free_slots);
		if (rc < 0 || !free_slots) {
			fprintf(stderr, PROG ": fixed file table refused (%s), "
				"using plain fds\n", strerror(rc < 0 ? -rc : ENOMEM));
			use_fixed = 0;
		} else {
			for (unsigned i = 0; i < max_fixed; i++)
				free_slots[i] = (int)(max_fixed - 1 - i);
			nfree_slots = (int)max_fixed;
		}
	}

	arm_signal();
	arm_accept();
	static const char *const recv_names[] = { "single", "chain", "multi" };
	fprintf(stderr, PROG ": listening on %s (--setup %s --recv %s "
		"--regfd %s --fixed %s)\n", addr, setup_names[setup_used],
		recv_names[recvmode], regfd ? "on" : "off",
		use_fixed ? "on" : "off");

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
			void *d = io_uring_cqe_get_data(cqe);
			seen++;
			if (d == &accept_tag)
				on_accept(cqe);
			else if (d == &signal_tag)
				quit = 1;
			else if (d != &cancel_tag)
				on_conn(d, cqe);
		}
		io_uring_cq_advance(&ring, seen);
		if (bring_adds) {
			/* buffers sent this turn go back in one store */
			io_uring_buf_ring_advance(br, bring_adds);
			bring_adds = 0;
		}
		if (nrearm && bufs_out < nbufs) {
			/* -ENOBUFS earlier, and the ring has buffers again */
			size_t n = nrearm;
			nrearm = 0;
			for (size_t i = 0; i < n; i++) {
				struct conn *c = rearm[i];
				c->recv_armed = 0;
				if (c->dead)
					kill_conn(c);
				else
					arm_recv(c);
			}
		}
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
