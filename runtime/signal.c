// SPDX-License-Identifier: MIT
/*
 * signal.c — Go's os/signal over a signalfd (include/ringo/signals.h is
 * the contract).
 *
 * Paths a signal takes to the channels:
 *
 *   1. Process-directed, blocked in every thread (the usual case: the
 *      runtime's threads block what ringo manages, rg_main's thread
 *      blocks everything notifiable): it stays pending in the process,
 *      the signalfd becomes readable, and the reader goroutine
 *      ("signals"), parked on the I/O backend on an epoll fd that holds
 *      the signalfd and an eventfd, reads it.
 *   2. Landing on a thread that does not block it (a host thread, an M
 *      that has not yet blocked a newly managed signal): the forwarding
 *      handler counts it in fwd[sig] and writes the eventfd.
 *   3. Directed at one M (raise() in a goroutine, pthread_kill): only
 *      that thread can read it.  An M that sleeps in the I/O backend
 *      for want of work sleeps with the managed signals unblocked (the
 *      kernel's sigmask argument of io_uring_enter and epoll_pwait,
 *      rg__sig_waitmask), so the signal reaches the forwarding handler
 *      as in 2 and ends the sleep; one about to sleep on its futex
 *      (stopm) reads the signalfd first (rg__sig_idle_slow) and
 *      forwards what it finds as in 2.  A process-directed signal may
 *      also land on a sleeping M that way: the same handler, the same
 *      dispatch.
 * The reader drains both fds, then dispatches under S.lock: a try-send
 * to every channel that wants the signal (a full channel drops it, as
 * Go), a cancel of every notify context (outside the lock: the cancel
 * runs our callback, which takes it), or, when nothing wants it, the
 * signal is ignored or passed on (below).
 *
 * Managed signals.  A signal enters `rg__sig_managed` at its first
 * rg_signal_notify and stays until the runtime stops: it is in the
 * signalfd's mask, and every M blocks it (new Ms from their creation,
 * running ones at their next findrunnable round).  A managed signal that
 * nothing wants any more has its old disposition back, and if it
 * arrives blocked everywhere the reader passes it on: it unblocks it in
 * its own thread and sends it there (tgkill), so the old disposition
 * acts (the default action kills, stops or ignores; a host handler
 * runs).  Unblocking in every M instead would need every M to act on
 * the change, or the signal would sit pending on the one that did not.
 *
 * Dispositions (S.lock): the forwarding handler while a registration
 * wants the signal; SIG_IGN (SIGCHLD: a handler that does nothing, so
 * that children still wait for their waiters) while ignored; otherwise
 * the disposition saved when ringo first changed it (orig[], `changed`).
 *
 * Notify contexts: a registration with a ctx instead of a channel, and a
 * cancellation callback on the ctx (ctx_cb.h).  Whatever cancels the ctx
 * (the signal, rg_ctx_cancel, the parent), the callback unlinks the
 * registration and moves it to S.zombies; the callback may not free it
 * (rg__ctx_cb_unregister must still be called), so the reader goroutine,
 * woken through the eventfd, the next notify_ctx, or the runtime's stop
 * frees it, once the callback has returned (never waiting for it: see
 * reapable).
 *
 * Rejected designs:
 *   - Handlers only, as Go (every signal through a handler and a pipe):
 *     handlers interrupt the runtime's system calls (EINTR) and run on
 *     whatever goroutine's stack is there; blocking and a signalfd keep
 *     signals out of the Ms altogether.
 *   - A signalfd only: a host thread that does not block the signal
 *     would take the default action (SIGTERM kills) or lose it.
 *   - Re-raising forwarded signals into the process from the handler,
 *     so that the signalfd alone is read: the thread that did not block
 *     it would take it again at once, in a loop.
 *   - A goroutine per notify context (what Go does): the notification
 *     would end a scheduling round after the cancel, so a second signal
 *     right after rg_ctx_cancel could still be swallowed.
 *   - Unblocking managed signals in Ms around their futex sleep (so
 *     that a thread-directed signal wakes them): a syscall pair per
 *     park.  The backend's sleep takes a mask in the same syscall, so
 *     there it is what we do (3, above); before, that sleep too read
 *     the signalfd first, one more syscall per idle round (echo at one
 *     connection sleeps once per request).
 */
#include "rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chan_impl.h"
#include "ctx_cb.h"
#include "netpoll.h"
#include "sanitizer.h"

#define SIG_TOP 64 /* signals 1..64, bit sig-1 of a uint64_t */
#define BIT(sig) ((uint64_t)1 << ((sig) - 1))

/* A registration: a channel, or a notify context. */
typedef struct sub {
	struct sub *next;   /* S.subs or S.zombies (S.lock) */
	rg_chan_t *c;       /* channel of int, or NULL for a ctx */
	rg_ctx_t *ctx;      /* counted reference (notify_ctx) */
	uint64_t mask;      /* signals it wants (S.lock) */
	rg__ctx_cb_t cb;    /* ctx's cancellation callback */
	bool registered;    /* rg__ctx_cb_register returned true */
	bool armed;         /* notify_ctx is done with it: reapable (S.lock) */
	bool fired;         /* dispatch is cancelling its ctx (S.lock) */
} sub_t;

static struct {
	rg__lock_t lock;
	bool started;                   /* fds made, reader running (lock) */
	int sfd, efd, epfd;             /* -1 when not made (lock; sfd/efd
					   also in sfd_a/efd_a for the lockless) */
	sigset_t fdmask;                /* the signalfd's mask (lock) */
	sub_t *subs;                    /* live registrations (lock) */
	sub_t *zombies;                 /* ended ctx registrations (lock) */
	int nwant[SIG_TOP + 1];         /* registrations wanting each (lock) */
	uint64_t ignored;               /* rg_signal_ignore'd (lock) */
	uint64_t changed;               /* orig[] holds the old disposition (lock) */
	struct sigaction orig[SIG_TOP + 1];
	_Atomic int sfd_a, efd_a;       /* for the handler and idle Ms */
	_Atomic uint32_t fwd[SIG_TOP + 1]; /* forwarded, not yet dispatched */
	sigset_t init_mask;             /* the starting thread's mask */
	uint64_t notifiable;            /* what rg_signal_notify accepts */
} S = {.sfd = -1, .efd = -1, .epfd = -1, .sfd_a = -1, .efd_a = -1};

_Atomic uint64_t rg__sig_managed;

/* ---- sets ---------------------------------------------------------- */

static bool synchronous(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL;
}

/* Can be notified: catchable, not a fault, not glibc's (32, 33). */
static bool notifiable(int sig)
{
	return sig >= 1 && sig <= SIG_TOP && sig != SIGKILL && sig != SIGSTOP &&
	       !synchronous(sig) && (sig < 32 || sig >= SIGRTMIN);
}

static uint64_t notifiable_mask(void)
{
	uint64_t m = 0;
	for (int s = 1; s <= SIG_TOP; s++)
		if (notifiable(s))
			m |= BIT(s);
	return m;
}

static void bits_to_set(uint64_t bits, sigset_t *set)
{
	sigemptyset(set);
	for (int s = 1; s <= SIG_TOP; s++)
		if (bits & BIT(s))
			sigaddset(set, s);
}

/* sigs[0..n) as bits; n == 0: every notifiable signal.  strict: a bad
 * signal is -EINVAL (else skipped). */
static int parse(const int *sigs, int n, bool strict, uint64_t *out)
{
	uint64_t m = 0;
	if (n < 0 || (n > 0 && !sigs))
		return -EINVAL;
	if (n == 0) {
		*out = notifiable_mask();
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (notifiable(sigs[i]))
			m |= BIT(sigs[i]);
		else if (strict)
			return -EINVAL;
	}
	*out = m;
	return 0;
}

/* ---- handlers and dispositions ------------------------------------- */

/* Counts sig for the reader and wakes it.  Async-signal-safe. */
static void forward(int sig)
{
	/* Release: the count is visible before the eventfd write that the
	 * reader's read (then its acquire exchange) follows. */
	atomic_fetch_add_explicit(&S.fwd[sig], 1, memory_order_release);
	int efd = atomic_load_explicit(&S.efd_a, memory_order_acquire);
	if (efd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(efd, &one, sizeof(one));
		(void)w; /* EAGAIN: saturated, the reader is awake anyway */
	}
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)si, (void)uc;
	int saved = errno;
	if (sig >= 1 && sig <= SIG_TOP)
		forward(sig);
	errno = saved;
}

static void on_nothing(int sig)
{
	(void)sig;
}

static void set_action(int sig, struct sigaction *sa)
{
	if (!(S.changed & BIT(sig))) {
		sigaction(sig, NULL, &S.orig[sig]);
		S.changed |= BIT(sig);
	}
	sigaction(sig, sa, NULL);
}

/* Puts sig's disposition where its state says.  S.lock held. */
static void update(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (S.nwant[sig] > 0) {
		sa.sa_sigaction = on_signal;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
		set_action(sig, &sa);
	} else if (S.ignored & BIT(sig)) {
		sa.sa_handler = sig == SIGCHLD ? on_nothing : SIG_IGN;
		sa.sa_flags = SA_RESTART;
		set_action(sig, &sa);
	} else if (S.changed & BIT(sig)) {
		sigaction(sig, &S.orig[sig], NULL);
		S.changed &= ~BIT(sig);
	}
}

/* Sends sig again to this thread, unblocked for the moment, so that
 * its current (restored) disposition acts.  Called off the lock. */
static void pass_on(int sig)
{
	sigset_t one, old;
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, &old);
	syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- registrations ------------------------------------------------- */

static void want(uint64_t mask, int delta)
{
	for (int s = 1; s <= SIG_TOP; s++) {
		if (!(mask & BIT(s)))
			continue;
		int before = S.nwant[s];
		S.nwant[s] += delta;
		if ((before == 0) != (S.nwant[s] == 0))
			update(s);
	}
}

/* Drops the bits of `mask` from every registration; channel
 * registrations left with none are freed.  S.lock held. */
static void unwant_all(uint64_t mask)
{
	for (sub_t **pp = &S.subs; *pp;) {
		sub_t *s = *pp;
		uint64_t drop = s->mask & mask;
		s->mask &= ~mask;
		want(drop, -1);
		if (!s->mask && s->c) {
			*pp = s->next;
			free(s);
			continue;
		}
		pp = &s->next;
	}
}

static void reader(void *arg);

/* The fds and the reader goroutine, at the first registration.
 * S.lock held. */
static int start_locked(void)
{
	if (S.started)
		return 0;
	sigemptyset(&S.fdmask);
	int sfd = signalfd(-1, &S.fdmask, SFD_NONBLOCK | SFD_CLOEXEC);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	int r = 0;
	if (sfd < 0 || efd < 0 || epfd < 0)
		r = -errno;
	rg__io_newfd(sfd);
	rg__io_newfd(efd);
	rg__io_newfd(epfd);
	struct epoll_event ev = {.events = EPOLLIN};
	if (!r) {
		ev.data.fd = sfd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev) < 0)
			r = -errno;
	}
	if (!r) {
		ev.data.fd = efd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) < 0)
			r = -errno;
	}
	/* The reader reads S.sfd, S.efd and S.epfd: set before it starts. */
	S.sfd = sfd, S.efd = efd, S.epfd = epfd;
	if (!r)
		r = rg_go_named("signals", reader, NULL);
	if (r < 0) {
		if (sfd >= 0)
			close(sfd);
		if (efd >= 0)
			close(efd);
		if (epfd >= 0)
			close(epfd);
		S.sfd = S.efd = S.epfd = -1;
		return r;
	}
	atomic_store_explicit(&S.sfd_a, sfd, memory_order_release);
	atomic_store_explicit(&S.efd_a, efd, memory_order_release);
	S.started = true;
	return 0;
}

/* Adds `mask` to s's signals, and links s when it is new.  S.lock
 * held. */
static int subscribe_locked(sub_t *s, uint64_t mask, bool link)
{
	if (atomic_load_explicit(&rg__sched.running, memory_order_acquire) != 1)
		return -EINVAL;
	int r = start_locked();
	if (r < 0)
		return r;
	/* Handlers first (a delivery to a thread that does not block it
	 * is forwarded), then the signalfd's mask, then the Ms' masks. */
	mask &= ~s->mask;
	s->mask |= mask;
	S.ignored &= ~mask;
	want(mask, +1);
	uint64_t fresh = mask & ~atomic_load_explicit(&rg__sig_managed, memory_order_relaxed);
	if (fresh) {
		for (int sig = 1; sig <= SIG_TOP; sig++)
			if (fresh & BIT(sig))
				sigaddset(&S.fdmask, sig);
		signalfd(S.sfd, &S.fdmask, SFD_NONBLOCK | SFD_CLOEXEC);
		/* TSan counts a signalfd's new mask as a write to the fd,
		 * which idle Ms read without our lock: read_sfd acquires. */
		rg__san_release(&S.sfd_a);
		atomic_fetch_or_explicit(&rg__sig_managed, fresh, memory_order_relaxed);
		/* The M making this call blocks them now rather than at its
		 * next round, so that a raise() right after is read from the
		 * signalfd. */
		rg_m *m = rg__getm();
		if (m)
			rg__sig_mupdate(m);
	}
	if (link) {
		s->next = S.subs;
		S.subs = s;
	}
	return 0;
}

int rg_signal_notify(rg_chan_t *c, const int *sigs, int n)
{
	if (!c)
		rg_panic("rg_signal_notify: nil channel");
	if (c->elem_size != sizeof(int))
		rg_panic("rg_signal_notify: the channel carries %zu-byte elements, not int",
			 c->elem_size);
	uint64_t mask;
	int r = parse(sigs, n, true, &mask);
	if (r < 0)
		return r;
	rg__lock(&S.lock);
	/* Go: Notify on a channel already registered adds to its set. */
	sub_t *s = S.subs;
	while (s && s->c != c)
		s = s->next;
	bool fresh = !s;
	if (fresh && !(s = calloc(1, sizeof(*s)))) {
		rg__unlock(&S.lock);
		return -ENOMEM;
	}
	s->c = c;
	r = subscribe_locked(s, mask, fresh);
	if (r < 0 && fresh)
		free(s);
	rg__unlock(&S.lock);
	return r;
}

void rg_signal_stop(rg_chan_t *c)
{
	if (!c)
		return;
	rg__lock(&S.lock);
	for (sub_t **pp = &S.subs; *pp; pp = &(*pp)->next) {
		sub_t *s = *pp;
		if (s->c != c)
			continue;
		*pp = s->next;
		want(s->mask, -1);
		free(s);
		break;
	}
	rg__unlock(&S.lock);
}

void rg_signal_ignore(const int *sigs, int n)
{
	uint64_t mask;
	if (parse(sigs, n, false, &mask) < 0)
		return;
	rg__lock(&S.lock);
	S.ignored |= mask;
	unwant_all(mask);
	for (int s = 1; s <= SIG_TOP; s++)
		if (mask & BIT(s))
			update(s);
	rg__unlock(&S.lock);
}

void rg_signal_reset(const int *sigs, int n)
{
	uint64_t mask;
	if (parse(sigs, n, false, &mask) < 0)
		return;
	rg__lock(&S.lock);
	S.ignored &= ~mask;
	unwant_all(mask);
	for (int s = 1; s <= SIG_TOP; s++)
		if (mask & BIT(s))
			update(s);
	rg__unlock(&S.lock);
}

/* ---- notify contexts ----------------------------------------------- */

static void wake_reader(void)
{
	int efd = atomic_load_explicit(&S.efd_a, memory_order_acquire);
	if (efd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(efd, &one, sizeof(one));
		(void)w;
	}
}

/* The ctx ended, whatever ended it: the registration ends with it.
 * Runs on the canceller's thread; may not free s (see the top). */
static void ctx_ended(void *arg, int err)
{
	(void)err;
	sub_t *s = arg;
	rg__lock(&S.lock);
	for (sub_t **pp = &S.subs; *pp; pp = &(*pp)->next) {
		if (*pp != s)
			continue;
		*pp = s->next;
		want(s->mask, -1);
		s->mask = 0;
		s->next = S.zombies;
		S.zombies = s;
		break;
	}
	rg__unlock(&S.lock);
	wake_reader();
}

/* Whether z can be freed now: notify_ctx is done with it, and its
 * callback is not running (rg__ctx_cb_unregister would wait for it by
 * yielding, and a reader that yields in the middle of this may never
 * run again if the runtime stops: the registration would leak). */
static bool reapable(sub_t *z)
{
	return z->armed && (!z->registered || atomic_load_explicit(&z->cb.state,
			memory_order_acquire) != RG_CTX_CB_FIRING);
}

/* Frees the ended ctx registrations that can be (reapable).  One whose
 * callback is still returning stays for the next call. */
static void reap(void)
{
	for (;;) {
		rg__lock(&S.lock);
		sub_t **pp = &S.zombies;
		while (*pp && !reapable(*pp))
			pp = &(*pp)->next;
		sub_t *s = *pp;
		if (s)
			*pp = s->next;
		rg__unlock(&S.lock);
		if (!s)
			return;
		if (s->registered)
			rg__ctx_cb_unregister(&s->cb); /* DONE or ARMED: no wait */
		rg_ctx_release(s->ctx);
		free(s);
	}
}

rg_ctx_t *rg_signal_notify_ctx(rg_ctx_t *parent, const int *sigs, int n)
{
	reap(); /* what the reader left (a callback still returning) */
	uint64_t mask;
	int r = parse(sigs, n, true, &mask);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	sub_t *s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	rg_ctx_t *ctx = rg_ctx_with_cancel(parent);
	if (!ctx) {
		free(s);
		return NULL;
	}
	s->ctx = rg_ctx_retain(ctx);
	s->cb.fn = ctx_ended;
	s->cb.arg = s;
	rg__lock(&S.lock);
	r = subscribe_locked(s, mask, true);
	rg__unlock(&S.lock);
	if (r < 0) {
		rg_ctx_cancel(ctx);
		rg_ctx_release(ctx);
		rg_ctx_release(ctx);
		free(s);
		errno = -r;
		return NULL;
	}
	/* A signal or the parent may cancel ctx from here on; if it is
	 * cancelled already, ctx_ended runs here before this returns. */
	bool reg = rg__ctx_cb_register(ctx, &s->cb);
	rg__lock(&S.lock);
	s->registered = reg;
	s->armed = true;
	bool ended = !reg;
	rg__unlock(&S.lock);
	if (ended)
		reap();
	return ctx;
}

/* ---- the reader ---------------------------------------------------- */

/* Delivers counts[sig] arrivals of each signal.  Reader only. */
static void dispatch(uint32_t *counts)
{
	uint64_t pass = 0;

	rg__lock(&S.lock);
	for (int sig = 1; sig <= SIG_TOP; sig++) {
		if (!counts[sig])
			continue;
		if (S.nwant[sig] == 0) {
			if (!(S.ignored & BIT(sig)))
				pass |= BIT(sig);
			continue;
		}
		for (sub_t *s = S.subs; s; s = s->next) {
			if (!(s->mask & BIT(sig)))
				continue;
			if (!s->c) {
				s->fired = true;
				continue;
			}
			for (uint32_t i = 0; i < counts[sig]; i++)
				if (rg_chan_try_send(s->c, &sig) < 0)
					break; /* full: dropped, as Go */
		}
	}
	rg__unlock(&S.lock);

	/* Cancel the fired contexts, one at a time off the lock: the
	 * cancel runs ctx_ended, which takes it. */
	for (;;) {
		rg_ctx_t *ctx = NULL;
		rg__lock(&S.lock);
		for (sub_t *s = S.subs; s; s = s->next) {
			if (s->fired) {
				s->fired = false;
				ctx = rg_ctx_retain(s->ctx);
				break;
			}
		}
		rg__unlock(&S.lock);
		if (!ctx)
			break;
		rg_ctx_cancel(ctx);
		rg_ctx_release(ctx);
	}
	for (int sig = 1; sig <= SIG_TOP; sig++)
		if (pass & BIT(sig))
			pass_on(sig);
}

/* Reads what the signalfd holds for this thread and the process into
 * counts.  Returns whether it read any. */
static bool read_sfd(int sfd, uint32_t *counts)
{
	struct signalfd_siginfo si[16];
	bool any = false;
	rg__san_acquire(&S.sfd_a);
	for (;;) {
		ssize_t r = read(sfd, si, sizeof(si));
		if (r <= 0)
			return any;
		for (size_t i = 0; i < (size_t)r / sizeof(si[0]); i++)
			if (si[i].ssi_signo >= 1 && si[i].ssi_signo <= SIG_TOP)
				counts[si[i].ssi_signo]++, any = true;
		if ((size_t)r < sizeof(si))
			return any;
	}
}

static void reader(void *arg)
{
	(void)arg;
	for (;;) {
		uint32_t counts[SIG_TOP + 1] = {0};
		uint64_t v;
		/* The eventfd before the counts: a forward after our
		 * exchange writes it again, so the next wait sees it. */
		ssize_t e = read(S.efd, &v, sizeof(v));
		(void)e;
		for (int sig = 1; sig <= SIG_TOP; sig++)
			counts[sig] += atomic_exchange_explicit(&S.fwd[sig], 0, memory_order_acquire);
		read_sfd(S.sfd, counts);
		dispatch(counts);
		reap();
		int r = rg__io_wait_readable(S.epfd);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -ECANCELED)
			return; /* the backend is gone: the runtime stops */
	}
}

/* ---- the runtime's side (rt_signal.h) ------------------------------ */

void rg__sig_runtime_start(void)
{
	S.notifiable = notifiable_mask();
	pthread_sigmask(SIG_SETMASK, NULL, &S.init_mask);
	sigdelset(&S.init_mask, SIGSEGV);
	sigdelset(&S.init_mask, SIGBUS);
	sigdelset(&S.init_mask, SIGFPE);
	sigdelset(&S.init_mask, SIGILL);
	atomic_store_explicit(&rg__sig_managed, 0, memory_order_relaxed);
}

void rg__sig_block_notifiable(sigset_t *old)
{
	sigset_t all;
	bits_to_set(notifiable_mask(), &all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

void rg__sig_thread_start(rg_m *m)
{
	uint64_t managed = atomic_load_explicit(&rg__sig_managed, memory_order_relaxed);
	sigset_t set = S.init_mask;
	for (int s = 1; s <= SIG_TOP; s++)
		if (managed & BIT(s))
			sigaddset(&set, s);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	m->sigblocked = managed;
}

void rg__sig_mupdate(rg_m *m)
{
	uint64_t managed = atomic_load_explicit(&rg__sig_managed, memory_order_relaxed);
	sigset_t set;
	bits_to_set(managed & ~m->sigblocked, &set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	m->sigblocked = managed;
}

const sigset_t *rg__sig_waitmask(rg_m *m)
{
	if (!m || !m->sigblocked)
		return NULL;
	if (m->sigwait_for != m->sigblocked) {
		/* m's mask is S.init_mask plus sigblocked
		 * (rg__sig_thread_start, rg__sig_mupdate). */
		m->sigwait = S.init_mask;
		for (int s = 1; s <= SIG_TOP; s++)
			if (m->sigblocked & BIT(s))
				sigdelset(&m->sigwait, s);
		m->sigwait_for = m->sigblocked;
	}
	return &m->sigwait;
}

void rg__sig_idle_slow(void)
{
	int sfd = atomic_load_explicit(&S.sfd_a, memory_order_acquire);
	if (sfd < 0)
		return;
	uint32_t counts[SIG_TOP + 1] = {0};
	if (!read_sfd(sfd, counts))
		return;
	for (int sig = 1; sig <= SIG_TOP; sig++)
		for (uint32_t i = 0; i < counts[sig]; i++)
			forward(sig);
}

void rg__sig_runtime_stop(void)
{
	rg__lock(&S.lock);
	/* Registrations end; the contexts keep only their owners' refs. */
	sub_t *list = S.subs;
	S.subs = NULL;
	while (list) {
		sub_t *s = list;
		list = s->next;
		want(s->mask, -1);
		if (s->c) {
			free(s);
		} else {
			s->next = S.zombies;
			S.zombies = s;
		}
	}
	S.ignored = 0;
	for (int sig = 1; sig <= SIG_TOP; sig++)
		update(sig);
	rg__unlock(&S.lock);
	/* A ctx registration is armed once its notify_ctx returned; none
	 * can be running now (the Ms are gone). */
	for (sub_t *z = S.zombies; z; z = z->next)
		z->armed = true;
	reap();
	/* Discard what is still pending for us (blocked everywhere): it
	 * would otherwise take its restored default action at the next
	 * unblock. */
	if (S.sfd >= 0) {
		uint32_t counts[SIG_TOP + 1];
		read_sfd(S.sfd, counts);
	}
	atomic_store_explicit(&S.efd_a, -1, memory_order_release);
	atomic_store_explicit(&S.sfd_a, -1, memory_order_release);
	for (int sig = 1; sig <= SIG_TOP; sig++)
		atomic_store_explicit(&S.fwd[sig], 0, memory_order_relaxed);
	atomic_store_explicit(&rg__sig_managed, 0, memory_order_relaxed);
	S.started = false;
}

void rg__sig_teardown(void)
{
	if (S.sfd >= 0)
		close(S.sfd);
	if (S.efd >= 0)
		close(S.efd);
	if (S.epfd >= 0)
		close(S.epfd);
	S.sfd = S.efd = S.epfd = -1;
	sigemptyset(&S.fdmask);
}
