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
 * Orphans (rg_cmd_free of a child never waited for): a list of pidfds,
 * under a mutex, tried with WNOHANG on every later start, wait and free
 * (Tokio's orphan queue, there drained on SIGCHLD).  No goroutine or
 * thread waits for them, so they keep neither the deadlock detector nor
 * the runtime's shutdown waiting.
 */
#include "proc_impl.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "calls.h"

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
		if (errno == ECHILD)
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
		if (r == -ECHILD)
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

static pthread_mutex_t orph_mu = PTHREAD_MUTEX_INITIALIZER;
static struct orphan *orph;
static int norph, caporph;
static _Atomic int norph_hint;

void rg__orphan_add(int pid, int pidfd)
{
	int st;
	if (rg__proc_try_reap(pidfd, &st) != 0) {
		rg__io_close(pidfd);
		return;
	}
	/* From here it is closed with a plain close(2) (rg__orphan_reap
	 * holds a mutex): the epoll backend must not keep it registered.
	 * No request is in flight on it (nobody waits). */
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
	atomic_store(&norph_hint, norph);
	pthread_mutex_unlock(&orph_mu);
}

void rg__orphan_reap(void)
{
	if (!atomic_load_explicit(&norph_hint, memory_order_relaxed))
		return;
	pthread_mutex_lock(&orph_mu);
	for (int i = 0; i < norph;) {
		int st;
		if (rg__proc_try_reap(orph[i].pidfd, &st) != 0) {
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
	atomic_store(&norph_hint, norph);
	pthread_mutex_unlock(&orph_mu);
}

int rg__orphan_count(void)
{
	pthread_mutex_lock(&orph_mu);
	int n = norph;
	pthread_mutex_unlock(&orph_mu);
	return n;
}
