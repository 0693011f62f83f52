// SPDX-License-Identifier: MIT
/*
 * reap.c — waiting for a child through its pidfd, and the orphan queue.
 *
 * A goroutine on the io_uring backend parks on IORING_OP_WAITID
 * (P_PIDFD, Linux 6.7; liburing 2.3 has no helper: the SQE is filled
 * here); the completion reaps the child and fills the siginfo.  The
 * first -EINVAL for the opcode (an older kernel) switches, once for the
 * process, to the readiness path, which is also the epoll backend's and
 * a foreign thread's: wait until the pidfd is readable (the child has
 * exited: IORING_OP_POLL_ADD, the epoll set, or poll(2)), then
 * waitid(P_PIDFD, WNOHANG).  Either way no thread blocks per child and
 * SIGCHLD plays no part.
 *
 * Someone else reaping the child (a host's SIGCHLD handler looping on
 * waitpid(-1)) makes waitid fail with ECHILD.  The pidfd still knows:
 * since Linux 6.15 ioctl(PIDFD_GET_INFO) with PIDFD_INFO_EXIT returns
 * the exit status of a reaped child, so the status is not lost; before
 * that the wait is -ECHILD.
 *
 * Orphans (rg_cmd_free of a child never waited for): a list of pidfds
 * under a mutex (Tokio's orphan queue, there drained on SIGCHLD), and
 * one reaper thread that sleeps in epoll_wait on an epoll set of those
 * pidfds and reaps each as it becomes readable.  The thread is made by
 * the first orphan and ends when the list is empty; it runs no
 * goroutine, so it reaps with every P busy, without a runtime, and
 * after the runtime stopped, and it keeps neither the deadlock detector
 * nor the runtime's shutdown waiting.  It blocks every signal but the
 * synchronous ones (a host's signals are not taken there).  A fork()ed
 * child starts with an empty queue of its own (pthread_atfork).  Only
 * if the thread could not be made (no memory, no threads) do the later
 * starts, waits and frees reap instead, and try to make it again.
 *
 * Rejected: a goroutine parked on the epoll set (as the signal reader):
 * it needs a running runtime and a P, and rg_cmd_free may run on a
 * plain thread with none; a waiting thread per orphan: a thread per
 * child is what the pidfd design avoids.
 */
#include "proc_impl.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "calls.h"
#include "rt_fault.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define RG_IORING_OP_WAITID 50

/* The kernel's pidfd_info, its first version (64 bytes, Linux 6.13;
 * exit_code filled from 6.15). */
struct rg_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
_Static_assert(sizeof(struct rg_pidfd_info) == 64, "PIDFD_INFO_SIZE_VER0");
#define RG_PIDFD_INFO_EXIT (1ULL << 3)
#define RG_PIDFD_GET_INFO _IOWR(0xFF, 11, struct rg_pidfd_info)

/* 1: IORING_OP_WAITID works; 0: not known yet; -1: use readiness. */
static _Atomic int waitid_state;

static bool force_poll(void)
{
	const char *v = getenv("RINGO_WAITID");
	return v && strcmp(v, "poll") == 0;
}

/* A siginfo from waitid as a wait(2) status. */
static int status_of(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED:
		return (si->si_status & 0xff) << 8;
	case CLD_DUMPED:
		return (si->si_status & 0x7f) | 0x80;
	default:
		return si->si_status & 0x7f;
	}
}

/* Someone else reaped it: the exit status the pidfd kept, if any.  The
 * kernel records it as the reaper releases the task, a moment after our
 * waitid already said ECHILD, hence the few tries. */
static int stolen(int pidfd, int *status)
{
	for (int i = 0; i < 1000; i++) {
		struct rg_pidfd_info info = {.mask = RG_PIDFD_INFO_EXIT};
		if (ioctl(pidfd, RG_PIDFD_GET_INFO, &info) < 0)
			return -ECHILD; /* before Linux 6.13 */
		if (info.mask & RG_PIDFD_INFO_EXIT) {
			*status = info.exit_code;
			return 0;
		}
		sched_yield();
	}
	return -ECHILD; /* before 6.15 (or the reaper is very slow) */
}

int rg__proc_try_reap(int pidfd, int *status)
{
	siginfo_t si;
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | __WALL) == 0)
			break;
		if (errno == EINTR)
			continue;
		/* Reaped by someone else: ECHILD, or (Linux 6.18, rarely,
		 * for a pid just released) ENOENT or ESRCH. */
		if (errno == ECHILD || errno == ENOENT || errno == ESRCH)
			return stolen(pidfd, status) == 0 ? 1 : -ECHILD;
		return -errno;
	}
	if (si.si_pid == 0)
		return 0;
	*status = status_of(&si);
	return 1;
}

struct waitid_op {
	int pidfd;
	siginfo_t *si;
};

static void prep_waitid(struct io_uring_sqe *sqe, void *arg)
{
	struct waitid_op *w = arg;
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = RG_IORING_OP_WAITID;
	sqe->fd = w->pidfd;         /* the id */
	sqe->len = P_PIDFD;         /* the idtype */
	sqe->file_index = WEXITED | __WALL; /* the options */
	sqe->addr2 = (uint64_t)(uintptr_t)w->si;
}

_Atomic int rg__wait_last;

int rg__proc_wait(int pidfd, rg_ctx_t *ctx, int *status)
{
	int e = rg_ctx_err(ctx);
	if (e)
		return e;
	if (rg__io_path() == RG_PATH_URING && atomic_load(&waitid_state) >= 0 && !force_poll()) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		struct waitid_op w = {pidfd, &si};
		int r;
		do
			r = rg__io_uring_op(prep_waitid, &w, ctx, NULL);
		while (r == -EINTR && !rg_ctx_err(ctx));
		if (r == 0) {
			atomic_store(&waitid_state, 1);
			atomic_store_explicit(&rg__wait_last, RG_WAIT_WAITID, memory_order_relaxed);
			*status = status_of(&si);
			return 0;
		}
		if (r == -ECHILD || r == -ENOENT || r == -ESRCH) /* as try_reap */
			return stolen(pidfd, status);
		if (r != -EINVAL || atomic_load(&waitid_state) > 0)
			return r;
		atomic_store(&waitid_state, -1); /* before Linux 6.7 */
	}
	atomic_store_explicit(&rg__wait_last, RG_WAIT_READY, memory_order_relaxed);
	/* A foreign thread blocked here counts for the deadlock detector, as
	 * in any other ringo call: the child's exit may wake a goroutine. */
	bool counted = rg__io_path() == RG_PATH_THREAD && rg__io_thread_begin();
	int r;
	for (;;) {
		r = rg__proc_try_reap(pidfd, status);
		if (r != 0) {
			r = r < 0 ? r : 0;
			break;
		}
		r = rg__io_wait_fd(pidfd, EPOLLIN, ctx);
		if (r < 0)
			break;
	}
	rg__io_thread_end(counted);
	return r;
}

/* ---- orphans --------------------------------------------------------- */

struct orphan {
	int pid, pidfd;
};

/* The list, the reaper's epoll set and whether the reaper runs, under
 * orph_mu.  epfd >= 0 exactly while the reaper runs. */
static pthread_mutex_t orph_mu = PTHREAD_MUTEX_INITIALIZER;
static struct orphan *orph;
static int norph, caporph;
static int orph_epfd = -1;
static _Atomic int norph_hint; /* norph, while no reaper runs; else 0 */

/* Reaps what has exited; the reaper's epoll set forgets it first (a dup
 * of the pidfd elsewhere would keep it in the set).  orph_mu held. */
static void reap_locked(void)
{
	for (int i = 0; i < norph;) {
		int st;
		if (rg__proc_try_reap(orph[i].pidfd, &st) != 0) {
			if (orph_epfd >= 0)
				epoll_ctl(orph_epfd, EPOLL_CTL_DEL, orph[i].pidfd, NULL);
			close(orph[i].pidfd); /* forgotten by the epoll backend (add) */
			orph[i] = orph[--norph];
		} else {
			i++;
		}
	}
	if (!norph) {
		free(orph);
		orph = NULL;
		caporph = 0;
	}
	atomic_store(&norph_hint, orph_epfd < 0 ? norph : 0);
}

static void *reaper(void *arg)
{
	int epfd = (int)(intptr_t)arg;
	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(epfd, ev, 16, -1);
		if (n < 0 && errno != EINTR) {
			/* Cannot happen with a valid epfd; leave the rest to
			 * the calls' reaping rather than spin. */
			pthread_mutex_lock(&orph_mu);
			break;
		}
		pthread_mutex_lock(&orph_mu);
		reap_locked();
		if (!norph)
			break;
		pthread_mutex_unlock(&orph_mu);
	}
	close(epfd);
	orph_epfd = -1;
	atomic_store(&norph_hint, norph);
	pthread_mutex_unlock(&orph_mu);
	return NULL;
}

/* fork(): the child has no reaper thread, and the queued pidfds are its
 * parent's children, not its own.  The child starts with an empty queue
 * (closing those pidfds and the reaper's epoll fd, which it shares with
 * the parent's reaper: one that added to it would wake the parent's);
 * orph_mu is held across the fork, so that the child's copy is not held
 * by a thread it does not have. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&orph_mu);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&orph_mu);
}

static void fork_child(void)
{
	for (int i = 0; i < norph; i++)
		close(orph[i].pidfd);
	free(orph);
	orph = NULL;
	norph = caporph = 0;
	if (orph_epfd >= 0)
		close(orph_epfd);
	orph_epfd = -1;
	atomic_store(&norph_hint, 0);
	pthread_mutex_unlock(&orph_mu);
}

static void atfork_once(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* The reaper thread, if none runs.  orph_mu held.  Failing (no memory,
 * no threads) leaves the orphans to the calls' reaping. */
static void reaper_start_locked(void)
{
	if (orph_epfd >= 0)
		return;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return;
	pthread_attr_t at;
	pthread_t t;
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024); /* sanitizers' frames too */
	/* The thread starts with this mask: no host signal lands there. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = -rg__fault(RG_FAULT_REAPER_THREAD);
	if (!r)
		r = pthread_create(&t, &at, reaper, (void *)(intptr_t)epfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&at);
	if (r != 0) {
		close(epfd);
		return;
	}
	orph_epfd = epfd;
	/* The ones queued while no reaper ran (it could not be made). */
	for (int i = 0; i < norph; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = orph[i].pidfd};
		epoll_ctl(epfd, EPOLL_CTL_ADD, orph[i].pidfd, &ev);
	}
}

void rg__orphan_add(int pid, int pidfd)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int st;
	pthread_once(&once, atfork_once);
	if (rg__proc_try_reap(pidfd, &st) != 0) {
		rg__io_close(pidfd);
		return;
	}
	/* From here it is closed with a plain close(2) (the reaper holds a
	 * mutex): the epoll backend must not keep it registered.  No
	 * request is in flight on it (nobody waits). */
	if (rg__io_backend() == RG_IO_EPOLL)
		rg__epoll_forget(pidfd);
	pthread_mutex_lock(&orph_mu);
	if (norph == caporph) {
		int ncap = caporph ? caporph * 2 : 16;
		struct orphan *p = realloc(orph, (size_t)ncap * sizeof(*p));
		if (!p) {
			/* Out of memory: wait for it here rather than leak a
			 * zombie. */
			pthread_mutex_unlock(&orph_mu);
			rg__proc_wait(pidfd, NULL, &st);
			rg__io_close(pidfd);
			return;
		}
		orph = p;
		caporph = ncap;
	}
	orph[norph++] = (struct orphan){pid, pidfd};
	if (orph_epfd >= 0) {
		/* A pidfd that is readable already wakes the reaper now. */
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = pidfd};
		epoll_ctl(orph_epfd, EPOLL_CTL_ADD, pidfd, &ev);
	} else {
		reaper_start_locked();
	}
	atomic_store(&norph_hint, orph_epfd < 0 ? norph : 0);
	pthread_mutex_unlock(&orph_mu);
}

void rg__orphan_reap(void)
{
	if (!atomic_load_explicit(&norph_hint, memory_order_relaxed))
		return;
	pthread_mutex_lock(&orph_mu);
	/* Only where no reaper runs: one that emptied the list under a
	 * running reaper would leave it asleep on an empty set. */
	if (orph_epfd < 0) {
		reaper_start_locked();
		reap_locked();
	}
	pthread_mutex_unlock(&orph_mu);
}

int rg__orphan_count(void)
{
	pthread_mutex_lock(&orph_mu);
	int n = norph;
	pthread_mutex_unlock(&orph_mu);
	return n;
}

bool rg__orphan_reaper_on(void)
{
	pthread_mutex_lock(&orph_mu);
	bool on = orph_epfd >= 0;
	pthread_mutex_unlock(&orph_mu);
	return on;
}
