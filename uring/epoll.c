// SPDX-License-Identifier: MIT
/*
 * epoll.c — the epoll backend: goroutines wait for a non-blocking fd to
 * become ready, when io_uring is unavailable (kernel.io_uring_disabled,
 * a seccomp profile, an old kernel) or RINGO_BACKEND=epoll.  Go's
 * netpoller, in C.
 *
 * One epoll set for the whole runtime.  A fd joins it on its first wait,
 * once, edge-triggered for both directions (EPOLLIN|EPOLLOUT|EPOLLRDHUP|
 * EPOLLET), and stays until rg__epoll_forget (before close).  Its events
 * carry (seq << 32 | fd): forget bumps seq, so that an event that was
 * already on its way out of the kernel when the fd was forgotten (and
 * its number perhaps reused) is recognised as stale and dropped.
 *
 * Descriptors.  One rg_pd per fd number, in a table indexed by fd:
 * chunks of PD_CHUNK descriptors that are never moved or freed until
 * rg__epoll_stop, listed in a directory that grows by copying (the old
 * directory is kept, retired, until stop).  So a lookup is two acquire
 * loads and no lock, and a descriptor's address is stable: the poller,
 * a context callback and forget may all hold it at once.
 *
 * Per descriptor and direction (read, write), under the descriptor's
 * lock: a FIFO of waiters and a latched "ready" flag.  An edge that
 * finds waiters wakes them all; one that finds none sets the flag, and
 * the next wait consumes it and returns at once (Go's pdReady), so an
 * edge that arrives between the caller's EAGAIN and its park is not
 * lost.  A latched edge may be stale (the caller consumed what it
 * announced before it saw EAGAIN): callers loop, operation then wait.
 *
 * Waking a waiter.  A waiter record lives on the waiting goroutine's
 * stack.  Whoever takes it off its queue under the descriptor lock (the
 * poller, a context callback, forget) is its one claimer: it sets res,
 * then moves state to CLAIMED; if the goroutine had got off its stack
 * (PARKED, set by rg__park's unlockf) it readies it, else the unlockf
 * sees CLAIMED and the goroutine resumes at once.  After that exchange
 * the claimer never touches the record again.  A foreign thread (not a
 * goroutine) is no waiter here: it blocks in poll(2) (wait_foreign).
 *
 * Idle.  At most one M at a time blocks in epoll_wait (pstate), keeping
 * its P, with its next timer as timeout; others give their P back and
 * sleep on their futex.  While one is blocked, the others' non-blocking
 * polls skip the syscall: the blocked one gets the events (Go's
 * sched.lastpoll rule).  Other threads wake it through an eventfd in the
 * set, level-triggered so that a non-blocking poll that happens to see
 * it cannot consume the wake-up (only the blocker drains it); pokes are
 * coalesced by wakeword, as in ring.c.
 *
 * Caller contract (the call layer): fds are non-blocking; try the
 * operation first and wait only on EAGAIN, then try again; call
 * rg__epoll_forget(fd) before close(fd), or a reused fd number would be
 * believed registered while the kernel dropped it with the old file.
 * (A program that closes with close(2) anyway is covered where the new
 * fd comes from the runtime's own calls: rg__epoll_fresh.)
 * epoll refuses regular files and directories (-EPERM): they are always
 * ready, do the blocking call through rg_syscall_enter/exit.
 *
 * Rejected: EPOLLONESHOT re-armed at every wait (an epoll_ctl per wait;
 * Go rejected it too); ADD at every wait and DEL after (two syscalls per
 * wait); level-triggered registration (every poll reports every ready
 * fd nobody drained, and an idle M would spin on them); one epoll set
 * per P (a fd's waiters may sit on any P, and stealing spreads readied
 * goroutines anyway); a hash table from fd (fd numbers are small and
 * dense: the kernel hands out the lowest free one); -EBUSY for a second
 * waiter in one direction (io_uring serves concurrent readers of one fd,
 * e.g. several acceptors on one listener, and the two backends should
 * agree); waking only the first of several waiters on an edge (with
 * edge-triggered readiness the others would sleep through what the
 * first left unconsumed: two connections, one accept).
 */
#include "backend.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctx_cb.h"
#include "probes.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441 /* Linux 5.11, every architecture */
#endif

#define PD_CHUNK 256                /* descriptors per chunk */
#define PD_DIR0 16                  /* first directory: 16 chunks, 4096 fds */
#define EV_BATCH 128                /* events per epoll_wait */
#define ARM_SPINS 256               /* waiting for an arming M to decide */
#define WAKE_TAG UINT64_MAX         /* the eventfd's epoll data (fd tags
				     * never have fd == -1) */

enum { PD_READ = 0, PD_WRITE = 1 };

enum w_state {
	W_SETUP = 0,    /* queued; the waiter is still on its stack */
	W_PARKED,       /* the goroutine is off its stack: the claimer readies it */
	W_CLAIMED,      /* a claimer took it; res is set */
};

enum p_state {
	P_NONE = 0,     /* no M is (about to be) blocked in epoll_wait */
	P_ARMING,       /* an M holds the role and is re-checking for work */
	P_BLOCKED,      /* it is in epoll_wait, until E.until */
};

typedef struct rg_pd rg_pd;

/* One wait, on the waiting goroutine's stack. */
typedef struct rg_pdwait {
	rg_g *g;
	rg_pd *pd;
	struct rg_pdwait *next, *prev;  /* in pd's queue (pd->lock); next,
					 * once claimed: the claimer's list */
	int dir;                        /* PD_READ or PD_WRITE */
	bool queued;                    /* in pd's queue (pd->lock) */
	int res;                        /* claimer's, before CLAIMED */
	_Atomic uint32_t state;         /* enum w_state */
} rg_pdwait;

/*
 * A fd number's descriptor.  Invariants (under lock): a direction has
 * waiters or a latched edge, not both; registered is true while the fd
 * is in the epoll set under tag (seq, fd).
 */
struct rg_pd {
	rg__lock_t lock;
	int fd;                         /* immutable */
	uint32_t seq;                   /* (lock) +1 per forget */
	bool registered;                /* (lock) */
	bool ready[2];                  /* (lock) an edge that no waiter took */
	rg_pdwait *head[2], *tail[2];   /* (lock) waiters, oldest first */
} __attribute__((aligned(RG_CACHELINE)));

/* One per cache line: waits on neighbouring fds do not share one. */
_Static_assert(sizeof(rg_pd) == RG_CACHELINE, "rg_pd outgrew its cache line");

/* A directory of chunks.  Replaced (never modified in place, except to
 * add a chunk) when it is too small; the old one stays until stop, so a
 * lock-free reader may finish with it. */
typedef struct rg_pddir {
	struct rg_pddir *older;         /* the directory this one replaced */
	size_t n;                       /* chunk slots */
	_Atomic(rg_pd *) chunk[];       /* PD_CHUNK descriptors each, or NULL */
} rg_pddir;

static struct {
	int epfd;                       /* the set; -1 when stopped */
	int efd;                        /* wake-up eventfd, level-triggered */
	bool pwait2;                    /* epoll_pwait2 (5.11): ns timeouts */
	_Atomic(rg_pddir *) dir;        /* read lock-free; replaced under tlock */
	rg__lock_t tlock;               /* growing the table */
	_Atomic int32_t nwait;          /* waiters queued on any fd */
	_Atomic uint32_t pstate;        /* enum p_state */
	_Atomic int64_t until;          /* the blocked M's timeout (0: none) */
	_Atomic uint32_t wakeword;      /* 1: a poke is pending */
} E = {.epfd = -1, .efd = -1};

/* ---- descriptor table ---------------------------------------------- */

/* Adds the chunk for index ci, growing the directory if needed.  tlock
 * held.  NULL: out of memory. */
static rg_pd *chunk_add(size_t ci)
{
	rg_pddir *d = atomic_load_explicit(&E.dir, memory_order_relaxed);
	if (!d || ci >= d->n) {
		size_t n = d ? d->n * 2 : PD_DIR0;
		while (n <= ci)
			n *= 2;
		rg_pddir *nd = calloc(1, sizeof(*nd) + n * sizeof(nd->chunk[0]));
		if (!nd)
			return NULL;
		nd->n = n;
		nd->older = d;
		for (size_t i = 0; i < n; i++)
			atomic_init(&nd->chunk[i], d && i < d->n
				? atomic_load_explicit(&d->chunk[i], memory_order_relaxed) : NULL);
		/* Release: the copied slots are visible to whoever loads nd. */
		atomic_store_explicit(&E.dir, nd, memory_order_release);
		d = nd;
	}
	rg_pd *c = aligned_alloc(RG_CACHELINE, PD_CHUNK * sizeof(rg_pd));
	if (!c)
		return NULL;
	memset(c, 0, PD_CHUNK * sizeof(rg_pd));
	for (int i = 0; i < PD_CHUNK; i++)
		c[i].fd = (int)(ci * PD_CHUNK + (size_t)i);
	/* Release: initialised descriptors before their chunk is found. */
	atomic_store_explicit(&d->chunk[ci], c, memory_order_release);
	return c;
}

/* fd's descriptor; created if `create`, else NULL if it never was. */
static rg_pd *pd_find(int fd, bool create)
{
	size_t ci = (size_t)fd / PD_CHUNK;
	rg_pddir *d = atomic_load_explicit(&E.dir, memory_order_acquire);
	rg_pd *c = NULL;

	if (RG_LIKELY(d != NULL) && ci < d->n)
		c = atomic_load_explicit(&d->chunk[ci], memory_order_acquire);
	if (RG_LIKELY(c != NULL))
		return &c[fd % PD_CHUNK];
	/* Missing, or only in a newer directory than the one we read. */
	rg__lock(&E.tlock);
	d = atomic_load_explicit(&E.dir, memory_order_relaxed);
	if (d && ci < d->n)
		c = atomic_load_explicit(&d->chunk[ci], memory_order_relaxed);
	if (!c && create)
		c = chunk_add(ci);
	rg__unlock(&E.tlock);
	return c ? &c[fd % PD_CHUNK] : NULL;
}

static void table_free(void)
{
	rg_pddir *d = atomic_load_explicit(&E.dir, memory_order_relaxed);
	/* The newest directory lists every chunk. */
	for (size_t i = 0; d && i < d->n; i++)
		free(atomic_load_explicit(&d->chunk[i], memory_order_relaxed));
	while (d) {
		rg_pddir *older = d->older;
		free(d);
		d = older;
	}
	atomic_store_explicit(&E.dir, NULL, memory_order_relaxed);
}

/* ---- waking waiters ------------------------------------------------ */

/* Waiters claimed under a descriptor lock, woken after it is released. */
typedef struct wlist {
	rg_pdwait *head, *tail;
} wlist;

/* Takes every waiter of pd's direction dir, with result res.  pd->lock
 * held. */
static void claim_all(rg_pd *pd, int dir, int res, wlist *l)
{
	rg_pdwait *h = pd->head[dir];
	if (!h)
		return;
	int n = 0;
	for (rg_pdwait *w = h; w; w = w->next, n++) {
		w->queued = false;
		w->res = res;
	}
	/* The queue, already linked oldest first through next, becomes
	 * the tail of l. */
	if (l->tail)
		l->tail->next = h;
	else
		l->head = h;
	l->tail = pd->tail[dir];
	pd->head[dir] = pd->tail[dir] = NULL;
	atomic_fetch_sub_explicit(&E.nwait, n, memory_order_relaxed);
}

/* Takes one waiter with result res.  pd->lock held, w queued. */
static void claim_one(rg_pd *pd, rg_pdwait *w, int res, wlist *l)
{
	int d = w->dir;
	if (w->prev)
		w->prev->next = w->next;
	else
		pd->head[d] = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		pd->tail[d] = w->prev;
	w->queued = false;
	w->res = res;
	w->next = NULL;
	if (l->tail)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
	atomic_fetch_sub_explicit(&E.nwait, 1, memory_order_relaxed);
}

/* Hands each claimed waiter its result.  No lock held.  Returns true if
 * it readied a goroutine. */
static bool wake_list(rg_pdwait *w)
{
	bool any = false;
	rg_g *gs[64];
	int n = 0, held = 0;
	while (w) {
		rg_pdwait *next = w->next;
		rg_g *g = w->g;
		/* Release: res is visible to the waiter once it sees CLAIMED.
		 * Acquire: a PARKED goroutine's status is WAITING (the unlockf
		 * runs after rg__park stored it).  From here on the record
		 * may be gone. */
		uint32_t old = atomic_exchange_explicit(&w->state, W_CLAIMED, memory_order_acq_rel);
		if (old == W_PARKED) {
			gs[n++] = g;
			any = true;
		}
		held++;
		w = next;
		/* Readied in order, behind what waits (rg__ready_n); after
		 * the ready, as until a goroutine is in a run queue it must
		 * still count for the deadlock detector. */
		if (n == 64 || !w) {
			if (n)
				rg__ready_n(gs, n);
			for (; held; held--)
				rg__sched_unref();
			n = 0;
		}
	}
	return any;
}

/* ---- events -------------------------------------------------------- */

/* Wakes the waiters of the fds in ev (or latches the edges); skips the
 * eventfd.  Returns true if it readied a goroutine (onto the caller's P
 * when it holds one). */
static bool handle_events(const struct epoll_event *ev, int n)
{
	wlist l = {0};  /* every event's waiters, woken together */
	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		if (tag == WAKE_TAG)
			continue;
		uint32_t e = ev[i].events;
		rg_pd *pd = pd_find((int)(uint32_t)tag, false);
		if (!pd)
			continue;
		rg__lock(&pd->lock);
		if (pd->registered && pd->seq == (uint32_t)(tag >> 32)) {
			/* Go's rule: errors and hang-ups wake both sides; the
			 * retried operation reports them. */
			bool r = e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
			bool w = e & (EPOLLOUT | EPOLLHUP | EPOLLERR);
			for (int d = 0; d < 2; d++) {
				if (!(d == PD_READ ? r : w))
					continue;
				if (pd->head[d])
					claim_all(pd, d, 0, &l);
				else
					pd->ready[d] = true;
			}
		}
		rg__unlock(&pd->lock);
	}
	return wake_list(l.head);
}

/* ---- start and stop ------------------------------------------------ */

/* epoll_pwait2 with a zero timeout: ENOSYS before 5.11, EPERM or ENOSYS
 * under a seccomp profile that predates it. */
static bool probe_pwait2(int epfd)
{
	const char *env = getenv("RINGO_EPOLL_TIMEOUT");
	if (env && strcmp(env, "ms") == 0)
		return false; /* forced: test the millisecond fallback */
	struct epoll_event ev;
	struct timespec ts = {0, 0};
	return syscall(SYS_epoll_pwait2, epfd, &ev, 1, &ts, NULL, 0) >= 0;
}

int rg__epoll_start(void)
{
	/* A previous runtime whose Ms did not all exit skipped stop: its
	 * state is left to them (leaked), never freed under their feet. */
	memset(&E, 0, sizeof(E));
	E.epfd = E.efd = -1;

	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0) {
		int e = -errno;
		close(epfd);
		return e;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) < 0) {
		int e = -errno;
		close(efd);
		close(epfd);
		return e;
	}
	E.pwait2 = probe_pwait2(epfd);
	E.efd = efd;
	E.epfd = epfd;
	return 0;
}

void rg__epoll_stop(void)
{
	/* No M runs any more: goroutines still waiting on fds are dropped
	 * with their stacks. */
	if (E.epfd >= 0)
		close(E.epfd);
	if (E.efd >= 0)
		close(E.efd);
	E.epfd = E.efd = -1;
	table_free();
	atomic_store(&E.nwait, 0);
	atomic_store(&E.pstate, P_NONE);
	atomic_store(&E.wakeword, 0);
}

/* ---- polling, idle wait, wake-ups ---------------------------------- */

bool rg__epoll_poll(rg_p *p)
{
	(void)p;
	if (atomic_load_explicit(&E.nwait, memory_order_relaxed) == 0)
		return false;
	/* An M blocked in epoll_wait gets the events: spare the syscall. */
	if (atomic_load_explicit(&E.pstate, memory_order_relaxed) == P_BLOCKED)
		return false;
	struct epoll_event ev[EV_BATCH];
	int n = epoll_wait(E.epfd, ev, EV_BATCH, 0);
	return n > 0 && handle_events(ev, n);
}

/* One set for every P: sysmon's look on behalf of a hogged P is an
 * ordinary poll (Go's sysmon polls the network when nobody has for
 * 10 ms); what it readies goes to the global queue. */
bool rg__epoll_poll_stuck(rg_p *p)
{
	return rg__epoll_poll(p);
}

/* Blocks in epoll_pwait until an event or `until` (0: none), with the
 * thread's signal mask `mask` for the wait (rg__sig_waitmask; NULL: its
 * own).  Returns the number of events, 0 on timeout or EINTR. */
static int epoll_block(struct epoll_event *ev, int64_t until, const sigset_t *mask)
{
	int n;
	if (until <= 0) {
		n = epoll_pwait(E.epfd, ev, EV_BATCH, -1, mask);
	} else {
		int64_t d = until - rg__nanotime();
		if (d < 0)
			d = 0;
		if (E.pwait2) {
			struct timespec ts = {.tv_sec = d / RG_SECOND, .tv_nsec = d % RG_SECOND};
			n = (int)syscall(SYS_epoll_pwait2, E.epfd, ev, EV_BATCH, &ts, mask,
					 mask ? (size_t)(_NSIG / 8) : (size_t)0);
		} else {
			/* Rounded up: waking before the timer is due would
			 * only bring us back here to wait the rest. */
			int64_t ms = (d + RG_MILLISECOND - 1) / RG_MILLISECOND;
			n = epoll_pwait(E.epfd, ev, EV_BATCH, ms > INT_MAX ? INT_MAX : (int)ms, mask);
		}
	}
	return n > 0 ? n : 0;
}

static void drain_efd(void)
{
	uint64_t v;
	ssize_t r = read(E.efd, &v, sizeof(v));
	(void)r; /* EAGAIN: the poke's write has not landed yet; the next
		  * sleep returns at once and drains it then */
}

bool rg__epoll_idle_wait(rg_p *p, int64_t until)
{
	if (atomic_load_explicit(&E.nwait, memory_order_relaxed) == 0)
		return false;
	for (int spins = 0;; spins++) {
		uint32_t s = P_NONE;
		if (atomic_compare_exchange_strong_explicit(&E.pstate, &s, P_ARMING,
				memory_order_seq_cst, memory_order_relaxed))
			break;
		/* Blocked: it polls for everyone, give our P back.  Arming:
		 * within a few loads it blocks, or leaves to run work it saw
		 * and the role is ours (else nobody would poll until it
		 * idles again); unless its thread was descheduled. */
		if (s == P_BLOCKED || spins == ARM_SPINS)
			return false;
		rg__cpu_relax();
	}

	/* From here pokers poke us.  Work and timers that arrived before
	 * they could see that did not: look once more.  The fence pairs
	 * with the pokers' fence between publishing work (a run queue
	 * entry, a timer in a heap, stopping) and reading pstate. */
	atomic_thread_fence(memory_order_seq_cst);
	int64_t t = rg__timers_earliest();
	if (t != 0 && (until == 0 || t < until))
		until = t;
	atomic_store_explicit(&E.until, until, memory_order_relaxed);
	/* Release: a poker that sees BLOCKED reads this until. */
	atomic_store_explicit(&E.pstate, P_BLOCKED, memory_order_release);
	bool work = atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed) > 0 ||
		    atomic_load_explicit(&rg__sched.stopping, memory_order_relaxed) ||
		    atomic_load_explicit(&E.wakeword, memory_order_relaxed) != 0 ||
		    atomic_load_explicit(&p->inbox, memory_order_relaxed) != NULL;

	struct epoll_event ev[EV_BATCH];
	int n = 0;
	if (!work) {
		RG_PROBE(idle_wait_begin, p->id, until);
		n = epoll_block(ev, until, rg__sig_waitmask(rg__getm()));
		RG_PROBE(idle_wait_end, p->id);
	}
	/* Consume the poke while still the poller: a later poke must wake
	 * a later sleep. */
	bool woke = false;
	for (int i = 0; i < n && !woke; i++)
		woke = ev[i].data.u64 == WAKE_TAG;
	if (atomic_exchange_explicit(&E.wakeword, 0, memory_order_acq_rel) || woke)
		drain_efd();
	/* Give up the role before readying: rg__ready's wakep would poke
	 * us otherwise.  Seq_cst: see the fence above. */
	atomic_store_explicit(&E.pstate, P_NONE, memory_order_seq_cst);
	handle_events(ev, n);
	return true;
}

static void poke(void)
{
	if (atomic_exchange_explicit(&E.wakeword, 1, memory_order_seq_cst) == 1)
		return; /* one is pending already */
	uint64_t one = 1;
	ssize_t w = write(E.efd, &one, sizeof(one));
	(void)w; /* EAGAIN: the counter is saturated, a wake is pending */
}

bool rg__epoll_poke_any(void)
{
	/* Pairs with the fence in rg__epoll_idle_wait: either it sees the
	 * work our caller published, or we see it arming or blocked. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&E.pstate, memory_order_relaxed) == P_NONE)
		return false;
	poke();
	return true;
}

/* One P polls for all: p is woken if it is the one polling, and so is
 * whichever other P polls (harmless: it looks and sleeps again). */
void rg__epoll_poke_p(rg_p *p)
{
	(void)p;
	rg__epoll_poke_any();
}

void rg__epoll_poke_before(int64_t when)
{
	atomic_thread_fence(memory_order_seq_cst);
	uint32_t s = atomic_load_explicit(&E.pstate, memory_order_acquire);
	if (s == P_NONE)
		return;
	/* While arming its timeout is not known yet: poke. */
	if (s == P_BLOCKED && when != 0) {
		int64_t u = atomic_load_explicit(&E.until, memory_order_relaxed);
		if (u != 0 && u <= when)
			return; /* it wakes early enough */
	}
	poke();
}

/* ---- waiting for a fd ---------------------------------------------- */

/* Registers pd's fd in the set.  pd->lock held. */
static int pd_register(rg_pd *pd)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.u64 = (uint64_t)pd->seq << 32 | (uint32_t)pd->fd,
	};
	/* A fd already ready raises its edge at once: the first wait does
	 * not miss what arrived before it. */
	if (epoll_ctl(E.epfd, EPOLL_CTL_ADD, pd->fd, &ev) < 0)
		return -errno;
	pd->registered = true;
	pd->ready[PD_READ] = pd->ready[PD_WRITE] = false;
	return 0;
}

/* The goroutine is off its stack: unless a claimer came first, it is
 * now the claimer's to ready. */
static bool pd_commit(rg_g *g, void *arg)
{
	(void)g;
	rg_pdwait *w = arg;
	uint32_t s = W_SETUP;
	/* Release: pairs with the claimer's acquire exchange (our WAITING
	 * status, stored before this runs, is visible to its rg__ready).
	 * Acquire on failure: res is visible when we resume. */
	return atomic_compare_exchange_strong_explicit(&w->state, &s, W_PARKED,
			memory_order_acq_rel, memory_order_acquire);
}

/* Context cancellation or deadline, on any thread: claims the waiter
 * if nobody did yet.  Never blocks (a short descriptor lock). */
/* A waiter claimed by someone other than the poller (a cancel, a
 * forget) may have been the set's last: a poller blocked with no
 * timeout would sleep on with nothing to wait for, its M (and P) hidden
 * from the deadlock detector (test_epoll's test_refs_balance hung so).
 * Poke it: it wakes, sees nwait == 0 and goes idle. */
static void poke_if_unwatched(void)
{
	if (atomic_load_explicit(&E.nwait, memory_order_seq_cst) == 0)
		rg__epoll_poke_any();
}

static void pd_cancel(void *arg, int err)
{
	rg_pdwait *w = arg;
	rg_pd *pd = w->pd;
	wlist l = {0};
	rg__lock(&pd->lock);
	if (w->queued)
		claim_one(pd, w, err, &l);
	rg__unlock(&pd->lock);
	wake_list(l.head);
	poke_if_unwatched();
}

/* A foreign thread's wait: its cancellation wakes poll(2) through an
 * eventfd. */
struct fwait {
	int efd;
};

static void foreign_cancel(void *arg, int err)
{
	(void)err; /* the waiter reads it with rg_ctx_err */
	struct fwait *f = arg;
	uint64_t one = 1;
	ssize_t w = write(f->efd, &one, sizeof(one));
	(void)w;
}

/*
 * A foreign thread (not a goroutine) has nothing to park: it blocks in
 * poll(2) on fd, and on an eventfd that ctx's cancellation writes; a
 * deadline is also poll's timeout, so this works even with the runtime
 * stopping under it.  Not through the runtime's poller: that would need
 * an M polling for a thread the scheduler knows nothing about (it would
 * have to wake one, and an M giving its P back just then can miss that)
 * and the set's state to outlive the runtime.  rg__epoll_forget does
 * not wake it (close(2) does not end a poll on the fd in another
 * thread either); its edge may stay latched for a later goroutine
 * waiter, which then makes one spurious retry.
 */
static int wait_foreign(int fd, uint32_t events, rg_ctx_t *ctx)
{
	struct fwait f = {.efd = -1};
	rg__ctx_cb_t cb = {.fn = foreign_cancel, .arg = &f};
	int64_t deadline = 0;
	bool has_deadline = ctx && rg_ctx_deadline(ctx, &deadline);
	bool registered = false;
	int res;

	if (ctx) {
		f.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (f.efd < 0)
			return -errno;
		registered = rg__ctx_cb_register(ctx, &cb);
	}
	for (;;) {
		/* Cancellation sets err before it runs the callbacks. */
		if (ctx && (res = rg_ctx_err(ctx)) != 0)
			break;
		int timeout = -1;
		if (has_deadline) {
			int64_t d = deadline - rg__nanotime();
			if (d <= 0) {
				res = -ETIMEDOUT;
				break;
			}
			int64_t ms = (d + RG_MILLISECOND - 1) / RG_MILLISECOND;
			timeout = ms > INT_MAX ? INT_MAX : (int)ms;
		}
		struct pollfd pf[2] = {
			{.fd = fd, .events = events == EPOLLIN ? POLLIN : POLLOUT},
			{.fd = f.efd, .events = POLLIN},
		};
		int n = poll(pf, f.efd >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno != EINTR) {
			res = -errno;
			break;
		}
		if (n > 0 && pf[0].revents) {
			/* Errors and hang-ups count as ready, as in the set. */
			res = pf[0].revents & POLLNVAL ? -EBADF : 0;
			break;
		}
	}
	if (registered)
		rg__ctx_cb_unregister(&cb);
	if (f.efd >= 0)
		close(f.efd);
	return res;
}

/*
 * As backend.h says, and: events is exactly EPOLLIN or EPOLLOUT (else
 * -EINVAL); several goroutines may wait on one fd and direction (an
 * edge wakes them all; those that find nothing wait again); -EPERM for
 * a fd epoll refuses (regular files, directories), -EBADF for one not
 * open or forgotten while we waited.  A foreign thread may call it too
 * (it blocks in poll(2)); the scheduler's own stack (g0: timer fns) may
 * not (-EPERM).
 */
/* rg__epoll_wait_fd's body, compiled twice (probes: a constant), as
 * ring.c's uring_op: one gate per wait while no tracer is attached. */
static inline __attribute__((always_inline)) int
wait_fd(int fd, uint32_t events, rg_ctx_t *ctx, bool probes)
{
	int dir;
	if (events == EPOLLIN)
		dir = PD_READ;
	else if (events == EPOLLOUT)
		dir = PD_WRITE;
	else
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	rg_m *m = rg__getm();
	if (!m)
		return wait_foreign(fd, events, ctx);
	if (!m->curg)
		return -EPERM; /* the scheduler's own stack must not block */
	if (E.epfd < 0)
		return -ENOSYS; /* the epoll backend is not running */
	if (ctx) {
		int e = rg_ctx_err(ctx);
		if (e)
			return e;
	}
	rg_pd *pd = pd_find(fd, true);
	if (!pd)
		return -ENOMEM;

	rg_pdwait w = {.g = m->curg, .pd = pd, .dir = dir};
	atomic_init(&w.state, W_SETUP);
	rg__lock(&pd->lock);
	if (!pd->registered) {
		int r = pd_register(pd);
		if (r < 0) {
			rg__unlock(&pd->lock);
			return r;
		}
	}
	if (pd->ready[dir]) {
		pd->ready[dir] = false;
		rg__unlock(&pd->lock);
		return 0;
	}
	w.prev = pd->tail[dir];
	if (w.prev)
		w.prev->next = &w;
	else
		pd->head[dir] = &w;
	pd->tail[dir] = &w;
	w.queued = true;
	/* I/O pending: the deadlock detector waits for it (the claimer
	 * drops the reference), and idle Ms block in epoll_wait for it. */
	rg__sched_ref();
	atomic_fetch_add_explicit(&E.nwait, 1, memory_order_seq_cst);
	rg__unlock(&pd->lock);
	RG_PROBE_IF(probes, io_wait_fd, fd, events);
	/* For io_complete's latency only (0: not attached when we began). */
	int64_t t0 = probes && RG_PROBE_ON(io_complete) ? rg__nanotime() : 0;

	/* A cancelled or expired ctx claims the waiter through pd_cancel:
	 * at once (inside register) if it already is. */
	rg__ctx_cb_t cb = {.fn = pd_cancel, .arg = &w};
	bool registered = ctx && rg__ctx_cb_register(ctx, &cb);

	if (atomic_load_explicit(&w.state, memory_order_acquire) != W_CLAIMED) {
		if (probes)
			rg__park(pd_commit, &w, RG_WAIT_IO);
		else
			rg__park_quiet(pd_commit, &w, RG_WAIT_IO);
	}

	/* Waits for a pd_cancel still running on another thread: it may
	 * be about to look at w. */
	if (registered)
		rg__ctx_cb_unregister(&cb);
	RG_PROBE_IF(probes, io_complete, RG_PROBE_OP_EPOLL, w.res, t0 ? rg__nanotime() - t0 : 0);
	return w.res;
}

int rg__epoll_wait_fd(int fd, uint32_t events, rg_ctx_t *ctx)
{
	if (RG_PROBE_GATE_IO())
		return wait_fd(fd, events, ctx, true);
	return wait_fd(fd, events, ctx, false);
}

/* Ends pd's life as the old file's (pd->lock held): its events are
 * stale from now on (seq), no edge stays latched, and its waiters are
 * taken into l with -EBADF (the caller wakes them after the unlock). */
static void pd_retire_locked(rg_pd *pd, wlist *l)
{
	pd->registered = false;
	pd->seq++;
	pd->ready[PD_READ] = pd->ready[PD_WRITE] = false;
	claim_all(pd, PD_READ, -EBADF, l);
	claim_all(pd, PD_WRITE, -EBADF, l);
}

/* rg__epoll_forget (forget: the fd is about to close; its registration
 * goes, and its waiters get -EBADF, whatever state it is in) and
 * rg__epoll_fresh (only a registration left from an earlier file). */
static void pd_drop(int fd, bool forget)
{
	if (fd < 0 || E.epfd < 0)
		return;
	rg_pd *pd = pd_find(fd, false);
	if (!pd)
		return;
	wlist l = {0};
	rg__lock(&pd->lock);
	bool was = pd->registered;
	if (forget && was) {
		/* Fails with EBADF if the caller closed fd already; the
		 * kernel then dropped it (unless a dup keeps the file). */
		struct epoll_event ev = {0};
		epoll_ctl(E.epfd, EPOLL_CTL_DEL, fd, &ev);
	}
	bool retire = forget || was;
	if (retire)
		pd_retire_locked(pd, &l);
	rg__unlock(&pd->lock);
	if (retire) {
		wake_list(l.head);
		poke_if_unwatched();
	}
}

/*
 * A number the kernel just handed out is a new file: a registration the
 * table still holds for it belonged to a file closed behind our back.
 * Drop it, so that the first wait registers the new file.  No
 * epoll_ctl: the kernel removed the old file from the set when it
 * closed (unless a dup keeps it open; its late events carry the old seq
 * and are dropped).  Goroutines still queued on the old file get
 * -EBADF, as rg_close would have given them.
 */
void rg__epoll_fresh(int fd)
{
	pd_drop(fd, false);
}

void rg__epoll_forget(int fd)
{
	pd_drop(fd, true);
}
