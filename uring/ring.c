// SPDX-License-Identifier: MIT
/*
 * ring.c — the io_uring backend: one ring per P.
 *
 * Submission.  A goroutine's request is written into its P's SQ and the
 * goroutine parks; queued SQEs reach the kernel together when the P's
 * scheduler next polls (on the g0 path: when its run queue is empty and
 * every RG_GLOBAL_TICK schedules), or at once when a batch is large.
 * The SQ is written under the ring's sqlock: by the P's M, and by a
 * context cancellation on any thread (IORING_OP_ASYNC_CANCEL must go to
 * the ring that holds the request).  Uncontended, the lock costs two
 * atomics per request against the microseconds of a syscall.
 *
 * Completion.  The M holding the P reads its CQ; so does sysmon, for a
 * P whose goroutine has run 10 ms without a scheduling point
 * (rg__ring_poll_stuck: it submits the P's queued SQEs and readies the
 * completed goroutines onto the global queue, so a hog holds its P but
 * not its neighbours' I/O).  One reader at a time: `reaping`, taken by
 * exchange (one atomic per reap); who finds it taken leaves the CQ to
 * the other.  A CQE's user_data
 * is the request record on the parked goroutine's stack (0 for CQEs we
 * ignore: cancels, linked timeouts; RG_WAKE_TAG for the wake request).
 * CQ overflow loses nothing: rings need IORING_FEAT_NODROP (5.5), and
 * when the kernel flags overflow we enter it to flush the backlog.
 *
 * Idle.  A P with requests in flight and nothing to run keeps its P and
 * sleeps in io_uring_enter(GETEVENTS) with its next timer as timeout
 * (EXT_ARG, 5.11): timers, I/O and wake-ups share that one wait.  Other
 * threads wake it through the ring: an IORING_OP_FUTEX_WAIT on the P's
 * wake word, ended by a plain futex_wake (6.7), or else a read on an
 * eventfd, ended by a write.  The probe picks.
 *
 * Setup.  COOP_TASKRUN | TASKRUN_FLAG where the kernel has them (see
 * setup_flags): task work waits for its thread's next kernel entry
 * instead of an IPI, and IORING_SQ_TASKRUN makes a poll enter for it.
 * Each M enters a ring by its own registered index (IORING_REGISTER_
 * RING_FDS), and a scheduler round makes one io_uring_enter (see
 * ring_enter).  Not yet (ARCHITECTURE.md's one ring per M, issue 7):
 * SINGLE_ISSUER | DEFER_TASKRUN tie a ring to one thread, which a ring
 * that follows its P (and that sysmon submits and reaps for a hog) is
 * not; with DEFER_TASKRUN only that thread could
 * even post a hog's completions, so a per-M ring must steer requests
 * away from an M before it runs a goroutine that may not yield, or
 * before rg_syscall_enter.
 *
 * Submission never gives up part way: submit_locked returns only when
 * the kernel has taken every queued SQE (a cancel must have run before
 * its caller returns; see there).  Stop: every request is cancelled and
 * reaped before the rings close and the goroutine stacks go
 * (rg__ring_stop).  Kernels before 5.19 cannot cancel by fd or cancel
 * everything: there requests in flight are kept on a list and cancelled
 * one by one (probe_cancel_fd).
 *
 * Signals.  io-wq (opens, statx, fsync, reads of regular files that
 * would block) creates its worker threads from the submitting thread,
 * and gives up after a few tries when signals keep interrupting that
 * (the kernel's WORKER_INIT_LIMIT): the request completes -ECANCELED
 * without having run.  call.c tells that from rg_close's cancels by
 * rg__ring_close_gen and submits again.
 */
#include "backend.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctx_cb.h"
#include "probes.h"
#include "rt_fault.h"
#include "sanitizer.h"

#ifndef IORING_OP_FUTEX_WAIT
#define IORING_OP_FUTEX_WAIT 51 /* Linux 6.7; liburing 2.3 predates it */
#endif
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE FUTEX_PRIVATE_FLAG
#endif

#define RG_RING_ENTRIES 256
#define RG_SUBMIT_BATCH 32       /* submit at once past this many queued */
#define RG_WAKE_TAG ((uint64_t)1)

/* One request in flight, on the parked goroutine's stack.  state: a
 * request may complete before its goroutine is off its stack (a
 * cancellation or sysmon submits the SQ, and sysmon reaps), so the
 * reaper and the park's unlockf meet on it: whoever comes second readies
 * the goroutine (the reaper) or keeps it running (the unlockf). */
enum { REQ_QUEUED, REQ_PARKED, REQ_DONE };
typedef struct rg_ioreq {
	rg_g *g;
	_Atomic uint32_t state;
	int32_t res;
	uint32_t flags;
	uint8_t opcode;          /* for the io_complete probe */
	int fd;                  /* the SQE's fd (legacy cancellation) */
	struct rg_pring *ring;   /* ring it was queued on, for cancellation */
	struct rg_ioreq *lprev, *lnext; /* the ring's live list (legacy only, sqlock) */
} rg_ioreq;

/* A P's ring.  Fields are the P owner's unless marked. */
typedef struct rg_pring {
	struct io_uring ring;
	int id;                         /* its P's id */
	rg__lock_t sqlock;              /* SQ writes and submission */
	_Atomic int inflight;           /* requests queued or submitted, without their CQE yet */
	_Atomic uint32_t reaping;       /* the CQ's reader holds it (reap) */
	_Atomic bool wake_armed;        /* the wake request is in flight */
	_Atomic uint32_t polling;       /* sleeping in rg__ring_idle_wait */
	_Atomic uint32_t wakeword;      /* 1: a poke is pending */
	_Atomic int64_t poll_until;     /* the sleep's timeout (0: none) */
	int efd;                        /* eventfd wake-up, or -1 */
	uint64_t efdbuf;                /* its read buffer */
	rg_ioreq *live;                 /* requests in flight (legacy cancellation; sqlock) */
} rg_pring;

static struct {
	rg_pring **rings;               /* by P id */
	int n;
	bool futex_wake;                /* IORING_OP_FUTEX_WAIT works */
	unsigned setup;                 /* the flags the rings were set up with */
	bool regfd;                     /* Ms enter by registered index */
	bool legacy_cancel;             /* no IORING_ASYNC_CANCEL_FD/_ANY (before 5.19) */
	_Atomic int32_t npolling;
} R;

/* ---- setup --------------------------------------------------------- */

/* Setup flags, best first; a kernel that lacks one answers -EINVAL and
 * the next is tried.  COOP_TASKRUN | TASKRUN_FLAG (5.19): a completion's
 * task work no longer interrupts the submitting thread with an IPI while
 * it runs goroutines; it runs when that thread next enters the kernel
 * (any syscall, or the return from an interrupt), and TASKRUN_FLAG
 * raises IORING_SQ_TASKRUN meanwhile so that a poll knows to enter.
 * RINGO_RING_SETUP=plain starts at the first set without them (to test
 * the fallback). */
static const unsigned setup_flags[] = {
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP | IORING_SETUP_CQSIZE |
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP | IORING_SETUP_CQSIZE,
	IORING_SETUP_CLAMP | IORING_SETUP_CQSIZE,
};

static int ring_init(rg_pring *r)
{
	struct io_uring_params params;
	const char *env = getenv("RINGO_RING_SETUP");
	size_t first = env && strcmp(env, "plain") == 0 ? 1 : 0;
	int ret = rg__fault(RG_FAULT_RING_INIT);

	if (ret < 0)
		return ret;
	ret = -EINVAL;
	for (size_t i = first; i < sizeof(setup_flags) / sizeof(setup_flags[0]); i++) {
		const unsigned *flags = &setup_flags[i];
		memset(&params, 0, sizeof(params));
		params.flags = *flags;
		R.setup = *flags;
		params.cq_entries = RG_RING_ENTRIES * 8;
		ret = io_uring_queue_init_params(RG_RING_ENTRIES, &r->ring, &params);
		if (ret != -EINVAL)
			break;
	}
	if (ret < 0)
		return ret;
	/* NODROP (5.5) keeps overflowed CQEs; EXT_ARG (5.11) lets the idle
	 * wait take a timeout without queueing a timeout request. */
	if (!(params.features & IORING_FEAT_NODROP) || !(params.features & IORING_FEAT_EXT_ARG)) {
		io_uring_queue_exit(&r->ring);
		return -EOPNOTSUPP;
	}
	r->efd = -1;
	return 0;
}

static bool probe_futex_wait(struct io_uring *ring)
{
	struct io_uring_probe *pr = io_uring_get_probe_ring(ring);
	bool ok = pr && io_uring_opcode_supported(pr, IORING_OP_FUTEX_WAIT);
	if (pr)
		io_uring_free_probe(pr);
	return ok;
}

/*
 * Cancellation by fd and of everything (IORING_ASYNC_CANCEL_FD, _ANY:
 * 5.19).  Older kernels (Ubuntu 22.04's 5.15, RHEL 9's 5.14) answer
 * -EINVAL to those flags, and rg_close would leave a reader parked
 * until its peer acts, the stop would wait out RG_STOP_DRAIN_NS.  There
 * each ring keeps its requests in flight on a list (`live`, under
 * sqlock: linked when queued, unlinked when their goroutine returns), and
 * rg_close and the stop cancel them one by one, by address.  The probe
 * asks for a cancel by fd on a fd with nothing in flight: -ENOENT where
 * the flag is known.  RINGO_RING_CANCEL=legacy forces the list (to test
 * it).
 */
static bool probe_cancel_fd(struct io_uring *ring)
{
	const char *env = getenv("RINGO_RING_CANCEL");
	if (env && strcmp(env, "legacy") == 0)
		return false;
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return false;
	io_uring_prep_cancel_fd(sqe, ring->ring_fd, IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data64(sqe, 0);
	struct io_uring_cqe *cqe;
	if (io_uring_submit_and_wait(ring, 1) < 1 || io_uring_peek_cqe(ring, &cqe) != 0)
		return false;
	bool ok = cqe->res != -EINVAL;
	io_uring_cqe_seen(ring, cqe);
	return ok;
}

bool rg__ring_legacy_cancel(void)
{
	return R.legacy_cancel;
}

static void live_link(rg_pring *r, rg_ioreq *q)
{
	q->lprev = NULL;
	q->lnext = r->live;
	if (r->live)
		r->live->lprev = q;
	r->live = q;
}

static void live_unlink(rg_pring *r, rg_ioreq *q)
{
	if (q->lprev)
		q->lprev->lnext = q->lnext;
	else
		r->live = q->lnext;
	if (q->lnext)
		q->lnext->lprev = q->lprev;
}

int rg__ring_start(void)
{
	int n = rg__sched.nprocs;
	R.rings = calloc((size_t)n, sizeof(*R.rings));
	if (!R.rings)
		return -ENOMEM;
	R.n = n;
	atomic_store(&R.npolling, 0);
	for (int i = 0; i < n; i++) {
		rg_pring *r = calloc(1, sizeof(*r));
		if (!r) {
			rg__ring_stop();
			return -ENOMEM;
		}
		r->id = i;
		int ret = ring_init(r);
		if (ret < 0) {
			free(r);
			rg__ring_stop();
			return ret;
		}
		R.rings[i] = r;
	}
	R.legacy_cancel = !probe_cancel_fd(&R.rings[0]->ring);
	const char *rf = getenv("RINGO_RING_REGFD");
	R.regfd = !(rf && strcmp(rf, "off") == 0);
	const char *w = getenv("RINGO_RING_WAKE");
	R.futex_wake = probe_futex_wait(&R.rings[0]->ring) && rg__futex2() &&
		       !(w && strcmp(w, "eventfd") == 0);
	if (!R.futex_wake) {
		for (int i = 0; i < n; i++) {
			R.rings[i]->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (R.rings[i]->efd < 0) {
				int e = -errno;
				rg__ring_stop();
				return e;
			}
		}
	}
	return 0;
}

static inline rg_pring *pring(rg_p *p)
{
	return R.rings[p->id];
}

/* ---- entering the kernel ------------------------------------------- */

/*
 * Every io_uring_enter goes through ring_enter, which cuts two costs.
 *
 * One enter per scheduler round.  A poll submits what its P queued and
 * collects what completed in one call (to_submit, with GETEVENTS when
 * task work or an overflow waits: IORING_SQ_TASKRUN, CQ_OVERFLOW), and
 * the idle wait submits and sleeps in one (to_submit with min_complete
 * 1); liburing's io_uring_submit followed by a wait, or by a peek that
 * finds TASKRUN raised, made two.  Findrunnable's last look before the
 * idle wait does not submit (rg__ring_poll with submit false), so that
 * a round that ends asleep is one enter, not two.  The SQ tail is published under
 * sqlock (flush_sq) and the enter runs outside it, so a canceller on
 * another thread never waits behind a P asleep in its ring: the kernel
 * serialises submitters (uring_lock) and takes at most what is
 * published; whoever finds SQEs still unsubmitted afterwards submits
 * them under the lock (submit_with).
 *
 * Registered ring fds (IORING_REGISTER_RING_FDS, 5.18).  An enter by
 * registered index skips the fd table lookup and its reference count
 * (atomic in a threaded process).  An index belongs to the thread that
 * registered it, and these rings are entered by several threads (the
 * P's M, which changes when a P is handed off; sysmon for a hog; any
 * canceller), so liburing's io_uring_register_ring_fd, which makes every
 * later liburing call on the ring use the index, is not usable.  Each M
 * registers a ring in its own table the first time it enters it (the
 * kernel allows 16 per thread) and keeps the index in thread-local
 * storage; other threads, and an M's rings past its 16th, enter by fd.
 * An M's registrations go with its thread, which exits before teardown
 * closes the rings.  RINGO_RING_REGFD=off enters by fd only (to test
 * that path).
 */
#ifndef IORING_REGISTER_RING_FDS
#define IORING_REGISTER_RING_FDS 20
#endif
#ifndef IORING_ENTER_REGISTERED_RING
#define IORING_ENTER_REGISTERED_RING (1U << 4)
#endif
#define RG_REG_RINGS 64          /* rings an M looks up by id (ids past it: by fd) */

static __thread struct {
	uint32_t gen;                     /* rg__run_gen the table is for */
	int8_t idx[RG_REG_RINGS];         /* 0: not tried; -1: by fd; else index + 1 */
} treg;

/* The registered index of r for this thread, or -1. */
static int reg_index(rg_pring *r)
{
	if (!R.regfd || r->id >= RG_REG_RINGS || !rg__getm())
		return -1;
	uint32_t gen = atomic_load_explicit(&rg__run_gen, memory_order_relaxed);
	if (treg.gen != gen) {
		memset(treg.idx, 0, sizeof(treg.idx));
		treg.gen = gen;
	}
	int8_t v = treg.idx[r->id];
	if (v == 0) {
		struct io_uring_rsrc_update up = {.offset = -1U, .data = (uint64_t)r->ring.ring_fd};
		long n = syscall(__NR_io_uring_register, r->ring.ring_fd, IORING_REGISTER_RING_FDS,
				 &up, 1);
		v = n == 1 && up.offset < 16 ? (int8_t)(up.offset + 1) : -1;
		treg.idx[r->id] = v;
	}
	return v > 0 ? v - 1 : -1;
}

bool rg__ring_registered(rg_p *p)
{
	return reg_index(pring(p)) >= 0;
}

static int ring_enter(rg_pring *r, unsigned submit, unsigned wait, unsigned flags,
		      void *arg, size_t argsz)
{
	int fd = r->ring.ring_fd;
	int idx = reg_index(r);
	if (idx >= 0) {
		fd = idx;
		flags |= IORING_ENTER_REGISTERED_RING;
	}
	long ret = syscall(__NR_io_uring_enter, fd, submit, wait, flags, arg, argsz);
	return ret < 0 ? -errno : (int)ret;
}

/* Publishes the SQEs written since the last flush (the kernel reads up
 * to the tail) and returns how many it has not taken yet.  sqlock held.
 * As liburing's own flush: the SQ index array is the identity. */
static unsigned flush_sq(rg_pring *r)
{
	struct io_uring_sq *sq = &r->ring.sq;
	unsigned tail = sq->sqe_tail;
	for (unsigned i = sq->sqe_head; i != tail; i++)
		sq->array[i & sq->ring_mask] = i & sq->ring_mask;
	sq->sqe_head = tail;
	io_uring_smp_store_release(sq->ktail, tail);
	return tail - io_uring_smp_load_acquire(sq->khead);
}

/* CQEs not reaped yet, as a peek from the P's owner: the head is
 * written by whoever reaps (sysmon too, rg__ring_poll_stuck), so it is
 * read atomically (liburing's io_uring_cq_ready reads it plainly). */
static unsigned cq_pending(rg_pring *r)
{
	return io_uring_smp_load_acquire(r->ring.cq.ktail) -
	       __atomic_load_n(r->ring.cq.khead, __ATOMIC_RELAXED);
}

/* GETEVENTS if completions wait in the kernel for an enter (task work
 * under COOP_TASKRUN, or overflowed CQEs). */
static unsigned cq_flush_flag(rg_pring *r)
{
	return (IO_URING_READ_ONCE(*r->ring.sq.kflags) &
		(IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN))
		       ? IORING_ENTER_GETEVENTS
		       : 0;
}

/* Requests left in flight when the runtime stops: goroutines parked in
 * I/O are abandoned with their stacks, which teardown unmaps next, and
 * a read the kernel still holds would write into whatever is mapped
 * there later (io-wq work owned by a live thread, a receive whose data
 * arrives before the ring's exit work runs, or any of them on a kernel
 * that runs completions of a dying ring).  So each ring cancels
 * everything (IORING_ASYNC_CANCEL_ANY, 5.19, like CANCEL_FD in
 * rg__ring_cancel_fd) and waits for every request's CQE, readying
 * nobody, before io_uring_queue_exit.  A request that outlives the
 * cancel (io-wq work in an uninterruptible sleep) is waited for
 * RG_STOP_DRAIN_NS; past that the stop returns false and teardown
 * leaves the stacks mapped (leaked, as start.c leaves the runtime to an
 * M that does not exit).  Rejected: io_uring_queue_exit alone (what
 * this did: the kernel cancels in its own time, after our munmap).
 * Ms are gone here, so nothing else touches the rings. */
#define RG_STOP_DRAIN_NS (2 * RG_SECOND)
static void submit_with(rg_pring *r, bool (*make_room)(rg_pring *r));
static _Atomic int64_t stop_left; /* requests without a CQE at queue_exit, all stops */

int64_t rg__ring_stop_left(void)
{
	return atomic_load(&stop_left);
}

/* Consumes the CQEs there are without readying anyone.  At stop only. */
static bool drain_cqes(rg_pring *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&r->ring, head, cqe) {
		uint64_t ud = cqe->user_data;
		if (ud == RG_WAKE_TAG)
			atomic_store_explicit(&r->wake_armed, false, memory_order_relaxed);
		else if (ud != 0)
			atomic_fetch_sub_explicit(&r->inflight, 1, memory_order_relaxed);
		n++;
	}
	io_uring_cq_advance(&r->ring, n);
	return n > 0;
}

static bool ring_busy(rg_pring *r)
{
	return atomic_load_explicit(&r->inflight, memory_order_relaxed) > 0 ||
	       atomic_load_explicit(&r->wake_armed, memory_order_relaxed);
}

static bool ring_drain(rg_pring *r)
{
	if (!ring_busy(r))
		return true;
	struct io_uring_sqe *sqe;
	if (R.legacy_cancel) {
		/* One by one (see probe_cancel_fd), the wake request too. */
		for (rg_ioreq *q = r->live;; q = q->lnext) {
			while ((sqe = io_uring_get_sqe(&r->ring)) == NULL)
				submit_with(r, drain_cqes);
			io_uring_prep_cancel64(sqe, q ? (uint64_t)(uintptr_t)q : RG_WAKE_TAG, 0);
			io_uring_sqe_set_data64(sqe, 0);
			if (!q)
				break;
		}
	} else {
		while ((sqe = io_uring_get_sqe(&r->ring)) == NULL)
			submit_with(r, drain_cqes);
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data64(sqe, 0);
	}
	submit_with(r, drain_cqes);
	int64_t deadline = rg__nanotime() + RG_STOP_DRAIN_NS;
	while (ring_busy(r)) {
		if (drain_cqes(r))
			continue;
		int64_t d = deadline - rg__nanotime();
		if (d <= 0)
			return false;
		if (d > 100 * RG_MILLISECOND)
			d = 100 * RG_MILLISECOND;
		struct __kernel_timespec ts = {.tv_sec = d / RG_SECOND, .tv_nsec = d % RG_SECOND};
		struct io_uring_getevents_arg arg = {.sigmask_sz = _NSIG / 8,
						     .ts = (uint64_t)(uintptr_t)&ts};
		ring_enter(r, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
	}
	return true;
}

bool rg__ring_stop(void)
{
	bool quiet = true;
	for (int i = 0; i < R.n; i++) {
		rg_pring *r = R.rings[i];
		if (!r)
			continue;
		if (!ring_drain(r))
			quiet = false;
		atomic_fetch_add(&stop_left, atomic_load(&r->inflight));
		io_uring_queue_exit(&r->ring);
		if (r->efd >= 0)
			close(r->efd);
		/* The wake request's buffer (efdbuf) is in r: keep r if the
		 * kernel may still hold it. */
		if (!atomic_load(&r->wake_armed))
			free(r);
	}
	free(R.rings);
	R.rings = NULL;
	R.n = 0;
	return quiet;
}

/* ---- submission and completion ------------------------------------- */

static bool reap(rg_pring *r);

/* Submits everything queued: returns only once the kernel has taken
 * every SQE.  sqlock held.  A cancel must have run in the kernel when
 * op_cancel returns (before rg__ctx_cb_unregister lets the goroutine
 * reuse the request's stack address for its next request) and when
 * rg__ring_cancel_fd returns (before rg_close closes the fd and its
 * number is handed out again); a cancel left in the SQ would run only at
 * the ring's next submission, perhaps after both.  The kernel may take
 * fewer SQEs than queued: a short count (without SUBMIT_ALL it stops at
 * the first SQE it rejects, whose CQE carries the error; or it ran out
 * of request memory part way), -EAGAIN (no request memory at all), or,
 * before 5.19, -EBUSY (a CQ backlog it could not flush).  So: again
 * until the SQ is empty, reaping first after -EAGAIN/-EBUSY (the CQ may
 * be what is full; any thread may ready goroutines) or yielding the CPU
 * when another thread holds the CQ.  Rejected: giving up after -EBUSY
 * and leaving the rest to "the reaper right after" (what this did: a
 * thread-path rg_close or a foreign thread's cancel has no reaper after
 * it, and a P asleep in its ring never submits; test_ring's
 * submit_fault cases hung).  The ring_submit fault site (rt_fault.h)
 * stands for the kernel's refusal. */
static void submit_with(rg_pring *r, bool (*make_room)(rg_pring *r))
{
	while (io_uring_sq_ready(&r->ring)) {
		int ret = rg__fault(RG_FAULT_RING_SUBMIT);
		if (ret == 0) {
			unsigned n = flush_sq(r);
			ret = ring_enter(r, n, 0, cq_flush_flag(r), NULL, 0);
		}
		if (ret > 0 || ret == -EINTR)
			continue;
		if (ret == 0 || ret == -EBUSY || ret == -EAGAIN) {
			if (!make_room(r))
				sched_yield();
			continue;
		}
		rg__throw("io_uring_submit failed");
	}
}

static void submit_locked(rg_pring *r)
{
	submit_with(r, reap);
}

/* Gets an SQE, submitting to make room if the SQ is full.  sqlock held. */
static struct io_uring_sqe *get_sqe_locked(rg_pring *r)
{
	struct io_uring_sqe *sqe;
	while ((sqe = io_uring_get_sqe(&r->ring)) == NULL)
		submit_locked(r);
	return sqe;
}

/* Reaps every CQE; readies the goroutines, 64 at a time in completion
 * order (onto the caller's P while its queue has room, else the global
 * queue; all there for sysmon).  The CQ has one reader at a time: the P's
 * owner, or sysmon for a P whose goroutine does not yield (rg__ring_poll_
 * stuck); whoever finds the other reading leaves the CQ to it. */
static bool reap(rg_pring *r)
{
	bool any = false, entered = false;
	if (atomic_exchange_explicit(&r->reaping, 1, memory_order_acquire))
		return false;
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int nready = 0;
		rg_g *ready[64];
		io_uring_for_each_cqe(&r->ring, head, cqe) {
			uint64_t ud = cqe->user_data;
			if (ud == RG_WAKE_TAG) {
				atomic_store_explicit(&r->wake_armed, false, memory_order_relaxed);
			} else if (ud != 0) {
				rg_ioreq *req = (rg_ioreq *)(uintptr_t)ud;
				rg__san_acquire(req);
				rg_g *g = req->g;
				req->res = cqe->res;
				req->flags = cqe->flags;
				atomic_fetch_sub_explicit(&r->inflight, 1, memory_order_relaxed);
				rg__sched_unref();
				/* After the exchange req may be gone. */
				if (atomic_exchange_explicit(&req->state, REQ_DONE,
							     memory_order_acq_rel) == REQ_PARKED)
					ready[nready++] = g;
				any = true;
			}
			if (++n == 64)
				break;
		}
		io_uring_cq_advance(&r->ring, n);
		/* In completion order, behind what waits (rg__ready_n). */
		if (nready)
			rg__ready_n(ready, nready);
		if (n == 64)
			continue;
		/* Overflowed CQEs wait in the kernel until we enter it, and
		 * so, once, does task work (TASKRUN) a poll did not run. */
		unsigned kf = IO_URING_READ_ONCE(*r->ring.sq.kflags);
		if ((kf & IORING_SQ_CQ_OVERFLOW) || (!entered && (kf & IORING_SQ_TASKRUN))) {
			ring_enter(r, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
			entered = true;
			continue;
		}
		atomic_store_explicit(&r->reaping, 0, memory_order_release);
		return any;
	}
}

void rg__ring_flush(rg_p *p)
{
	rg_pring *r = pring(p);
	/* The SQ tail is written under sqlock (a cancellation on another
	 * thread may be queueing), so it is read under it too. */
	rg__lock(&r->sqlock);
	if (io_uring_sq_ready(&r->ring))
		submit_locked(r);
	rg__unlock(&r->sqlock);
}

bool rg__ring_poll(rg_p *p, bool submit)
{
	rg_pring *r = pring(p);
	if (submit)
		rg__ring_flush(p);
	/* TASKRUN: completions wait as task work for their thread to
	 * enter the kernel (COOP_TASKRUN); reap's peek enters once. */
	if (!cq_pending(r) &&
	    !(IO_URING_READ_ONCE(*r->ring.sq.kflags) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)))
		return false;
	return reap(r);
}

unsigned rg__ring_setup_flags(void)
{
	return R.setup;
}

bool rg__ring_poll_stuck(rg_p *p)
{
	rg_pring *r = pring(p);
	if (atomic_load_explicit(&r->inflight, memory_order_relaxed) == 0)
		return false;
	/* The requests the hog's P queued before it ran the hog may still
	 * be in its SQ: submitting them is ours now.  (A request submitted
	 * from here has this thread as its task; its completion's task work
	 * interrupts our sleep and runs then.) */
	rg__lock(&r->sqlock);
	if (io_uring_sq_ready(&r->ring))
		submit_locked(r);
	rg__unlock(&r->sqlock);
	return reap(r);
}

/* ---- idle wait and wake-ups ---------------------------------------- */

static void arm_wake_locked(rg_pring *r)
{
	if (atomic_load_explicit(&r->wake_armed, memory_order_relaxed))
		return;
	struct io_uring_sqe *sqe = get_sqe_locked(r);
	if (R.futex_wake) {
		/* Sleeps while wakeword == 0; a futex_wake on it ends it. */
		io_uring_prep_rw(IORING_OP_FUTEX_WAIT, sqe, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
				 (void *)&r->wakeword, 0, 0);
		sqe->addr3 = FUTEX_BITSET_MATCH_ANY;
	} else {
		io_uring_prep_read(sqe, r->efd, &r->efdbuf, sizeof(r->efdbuf), 0);
	}
	io_uring_sqe_set_data64(sqe, RG_WAKE_TAG);
	atomic_store_explicit(&r->wake_armed, true, memory_order_relaxed);
}

static void poke(rg_pring *r)
{
	/* seq_cst store, then the wake: pairs with the sleeper's seq_cst
	 * polling store and its re-check of wakeword before it sleeps. */
	if (atomic_exchange_explicit(&r->wakeword, 1, memory_order_seq_cst) == 1)
		return; /* a poke is pending already */
	RG_PROBE(ring_wake, r->ring.ring_fd);
	if (R.futex_wake) {
		rg__futex_wake(&r->wakeword, 1);
	} else {
		uint64_t one = 1;
		ssize_t w = write(r->efd, &one, sizeof(one));
		(void)w; /* EAGAIN: the counter is saturated, a wake is pending */
	}
}

bool rg__ring_idle_wait(rg_p *p, int64_t until)
{
	rg_pring *r = pring(p);
	if (atomic_load_explicit(&r->inflight, memory_order_relaxed) == 0)
		return false;

	atomic_store_explicit(&r->poll_until, until, memory_order_relaxed);
	atomic_store_explicit(&r->polling, 1, memory_order_seq_cst);
	atomic_fetch_add_explicit(&R.npolling, 1, memory_order_seq_cst);

	/* Work that arrived before we advertised ourselves did not poke us:
	 * look once more. */
	bool work = atomic_load_explicit(&rg__sched.runqsize, memory_order_seq_cst) > 0 ||
		    atomic_load_explicit(&rg__sched.stopping, memory_order_seq_cst) ||
		    atomic_load_explicit(&r->wakeword, memory_order_seq_cst) != 0 ||
		    atomic_load_explicit(&p->inbox, memory_order_seq_cst) != NULL;

	if (!work) {
		/* Submit and sleep in one enter (see ring_enter): the SQ,
		 * the wake request included, is published under the lock
		 * and submitted by the enter that waits.  If the kernel took
		 * fewer than published (another thread submitted some, or it
		 * refused), it did not wait either: what is left goes in
		 * under the lock, and the scheduler comes round again. */
		rg__lock(&r->sqlock);
		arm_wake_locked(r);
		unsigned n = flush_sq(r);
		rg__unlock(&r->sqlock);
		unsigned wait = cq_pending(r) ? 0 : 1;
		struct __kernel_timespec ts;
		struct io_uring_getevents_arg arg = {.sigmask_sz = _NSIG / 8};
		const sigset_t *mask = rg__sig_waitmask(rg__getm());
		if (mask)
			arg.sigmask = (uint64_t)(uintptr_t)mask;
		if (until > 0) {
			int64_t d = until - rg__nanotime();
			if (d < 0)
				d = 0;
			ts.tv_sec = d / RG_SECOND;
			ts.tv_nsec = d % RG_SECOND;
			arg.ts = (uint64_t)(uintptr_t)&ts;
		}
		int took = 0;
		if (wait) {
			RG_PROBE(idle_wait_begin, p->id, until);
			took = ring_enter(r, n, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
					  &arg, sizeof(arg));
			RG_PROBE(idle_wait_end, p->id);
		} else if (n || cq_flush_flag(r)) {
			took = ring_enter(r, n, 0, cq_flush_flag(r), NULL, 0);
		}
		/* The enter returns how many it submitted, whatever its wait
		 * ended with.  Fewer than n (or an error): SQEs may be left,
		 * and the SQ tail is only read under the lock (a cancel on
		 * another thread writes it). */
		if (n && took < (int)n) {
			rg__lock(&r->sqlock);
			submit_locked(r);
			rg__unlock(&r->sqlock);
		}
	}
	atomic_fetch_sub_explicit(&R.npolling, 1, memory_order_seq_cst);
	atomic_store_explicit(&r->polling, 0, memory_order_seq_cst);
	/* Consume the poke: a later one must wake a later sleep.  With the
	 * eventfd, drain its counter unless a read is still armed on it. */
	if (atomic_exchange_explicit(&r->wakeword, 0, memory_order_acq_rel) && !R.futex_wake &&
	    !atomic_load_explicit(&r->wake_armed, memory_order_relaxed)) {
		uint64_t v;
		ssize_t n = read(r->efd, &v, sizeof(v));
		(void)n;
	}
	reap(r);
	return true;
}

int rg__ring_npolling(void)
{
	return atomic_load_explicit(&R.npolling, memory_order_seq_cst);
}

void rg__ring_poke_p(rg_p *p)
{
	rg_pring *r = pring(p);
	/* seq_cst: pairs with the sleeper's polling store and its read of
	 * the inbox (see rg__ring_idle_wait). */
	if (atomic_load_explicit(&r->polling, memory_order_seq_cst))
		poke(r);
}

bool rg__ring_poke_any(void)
{
	if (atomic_load_explicit(&R.npolling, memory_order_seq_cst) == 0)
		return false;
	for (int i = 0; i < R.n; i++) {
		rg_pring *r = R.rings[i];
		if (atomic_load_explicit(&r->polling, memory_order_seq_cst)) {
			poke(r);
			return true;
		}
	}
	return false;
}

void rg__ring_poke_before(int64_t when)
{
	if (atomic_load_explicit(&R.npolling, memory_order_seq_cst) == 0)
		return;
	for (int i = 0; i < R.n; i++) {
		rg_pring *r = R.rings[i];
		if (!atomic_load_explicit(&r->polling, memory_order_seq_cst))
			continue;
		int64_t u = atomic_load_explicit(&r->poll_until, memory_order_relaxed);
		if (when == 0 || u == 0 || when < u)
			poke(r);
	}
}

/* ---- requests ------------------------------------------------------ */

/* rg_close: ends every request on fd, on every ring, before fd goes:
 * each parked goroutine resumes with -ECANCELED.  Submitted at once:
 * the kernel finds the requests by fd's file, so fd must still be open
 * when the cancel runs (5.19: IORING_ASYNC_CANCEL_FD). */
#define RG_CLOSE_GENS 256
static _Atomic uint32_t close_gen[RG_CLOSE_GENS];

uint32_t rg__ring_close_gen(int fd)
{
	return atomic_load_explicit(&close_gen[(unsigned)fd % RG_CLOSE_GENS], memory_order_acquire);
}

void rg__ring_cancel_fd(int fd)
{
	/* Before the cancels: a reader that sees -ECANCELED sees this. */
	atomic_fetch_add_explicit(&close_gen[(unsigned)fd % RG_CLOSE_GENS], 1, memory_order_release);
	for (int i = 0; i < R.n; i++) {
		rg_pring *r = R.rings[i];
		/* A ring with nothing in flight holds nothing on fd.  The
		 * count is read under sqlock: rg__io_uring_op raises it under
		 * that lock before it writes the SQE, so a request whose
		 * queueing began first is seen, and is submitted ahead of the
		 * cancel (one SQ, in order).  (A request queued after this
		 * look is a use of fd racing its close: the caller's bug, as
		 * with close(2).)  Rejected: the lock-free look this was
		 * (a relaxed load outside the lock could miss a request being
		 * queued at that moment). */
		rg__lock(&r->sqlock);
		if (R.legacy_cancel) {
			/* By address, each request on fd (probe_cancel_fd).
			 * Its goroutine unlinks it under this lock, so the
			 * address is the request's until the cancel has run. */
			bool any = false;
			for (rg_ioreq *q = r->live; q; q = q->lnext) {
				if (q->fd != fd)
					continue;
				struct io_uring_sqe *sqe = get_sqe_locked(r);
				io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)q, 0);
				io_uring_sqe_set_data64(sqe, 0);
				any = true;
			}
			if (any)
				submit_locked(r);
		} else if (atomic_load_explicit(&r->inflight, memory_order_relaxed) != 0) {
			struct io_uring_sqe *sqe = get_sqe_locked(r);
			io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
			io_uring_sqe_set_data64(sqe, 0);
			submit_locked(r);
		}
		rg__unlock(&r->sqlock);
	}
}

bool rg__io_uring_ready(void)
{
	rg_m *m = rg__getm();
	return m && m->curg && m->p && R.rings;
}

struct op_park {
	rg_pring *r;
	rg_ioreq *req;
	bool submit;
};

/* Once the goroutine is off its stack: submit a large batch now rather
 * than at the next scheduling boundary; stay parked unless the request
 * has completed meanwhile (see rg_ioreq). */
static bool op_parked(rg_g *g, void *arg)
{
	(void)g;
	struct op_park *op = arg;
	if (op->submit) {
		rg__lock(&op->r->sqlock);
		submit_locked(op->r);
		rg__unlock(&op->r->sqlock);
	}
	return atomic_exchange_explicit(&op->req->state, REQ_PARKED, memory_order_acq_rel) !=
	       REQ_DONE;
}

/* Context cancellation: runs on the cancelling thread, takes the ring's
 * SQ lock and submits the cancel itself, so that it reaches the kernel
 * before rg__ctx_cb_unregister can return (and before the goroutine can
 * reuse the request's address for another request). */
static void op_cancel(void *arg, int err)
{
	(void)err;
	rg_ioreq *req = arg;
	rg_pring *r = req->ring;
	rg__lock(&r->sqlock);
	struct io_uring_sqe *sqe = get_sqe_locked(r);
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)req, 0);
	io_uring_sqe_set_data64(sqe, 0);
	submit_locked(r);
	rg__unlock(&r->sqlock);
}

/* rg__io_uring_op's body, compiled twice (probes: a constant).  With
 * probes false it has no probe sites at all and parks with
 * rg__park_quiet: rg__io_uring_op tests one gate per request (probes.h)
 * where it would otherwise test five semaphores. */
static inline __attribute__((always_inline)) int
uring_op(rg_io_prep_fn prep, void *arg, rg_ctx_t *ctx, uint32_t *cqe_flags, bool probes)
{
	rg_m *m = rg__getm();
	rg_p *p = m->p;
	rg_pring *r = pring(p);
	rg_ioreq req = {.g = m->curg, .ring = r};
	int64_t deadline = 0;
	bool has_deadline = ctx && rg_ctx_deadline(ctx, &deadline);
	struct __kernel_timespec ts;

	if (ctx) {
		int e = rg_ctx_err(ctx);
		if (e)
			return e;
	}
	rg__lock(&r->sqlock);
	/* Counted before the SQE exists: rg__ring_cancel_fd, which skips a
	 * ring with nothing in flight, must not miss a request queued but
	 * not yet counted; nor may sysmon (rg__ring_poll_stuck). */
	atomic_fetch_add_explicit(&r->inflight, 1, memory_order_relaxed);
	rg__sched_ref();
	struct io_uring_sqe *sqe = get_sqe_locked(r);
	prep(sqe, arg);
	req.opcode = sqe->opcode;
	req.fd = sqe->fd;
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)&req);
	/* The record reaches its reaper through the kernel, which TSan
	 * cannot see: reap acquires what this releases. */
	rg__san_release(&req);
	if (R.legacy_cancel)
		live_link(r, &req);
	if (has_deadline) {
		/* The deadline becomes a linked timeout on the request.  The
		 * kernel reads ts when the SQE is submitted, and we stay
		 * parked (ts alive) until well after that. */
		ts.tv_sec = deadline / RG_SECOND;
		ts.tv_nsec = deadline % RG_SECOND;
		sqe->flags |= IOSQE_IO_LINK;
		struct io_uring_sqe *t = get_sqe_locked(r);
		io_uring_prep_link_timeout(t, &ts, IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(t, 0);
	}
	bool big = io_uring_sq_ready(&r->ring) >= RG_SUBMIT_BATCH;
	rg__unlock(&r->sqlock);
	RG_PROBE_IF(probes, io_submit, req.opcode, sqe->fd);
	/* For io_complete's latency only (0: not attached when we began). */
	int64_t t0 = probes && RG_PROBE_ON(io_complete) ? rg__nanotime() : 0;

	rg__ctx_cb_t cb = {.fn = op_cancel, .arg = &req};
	bool registered = ctx && rg__ctx_cb_register(ctx, &cb);

	struct op_park op = {.r = r, .req = &req, .submit = big};
	if (probes)
		rg__park(op_parked, &op, RG_WAIT_IO);
	else
		rg__park_quiet(op_parked, &op, RG_WAIT_IO);

	if (R.legacy_cancel) {
		rg__lock(&r->sqlock);
		live_unlink(r, &req);
		rg__unlock(&r->sqlock);
	}
	if (registered)
		rg__ctx_cb_unregister(&cb);
	RG_PROBE_IF(probes, io_complete, req.opcode, req.res, t0 ? rg__nanotime() - t0 : 0);
	RG_PCOUNT(nio);
	if (cqe_flags)
		*cqe_flags = req.flags;
	if (req.res == -ECANCELED || req.res == -EINTR) {
		int e = ctx ? rg_ctx_err(ctx) : 0;
		if (e)
			return e;
		if (has_deadline && rg__nanotime() >= deadline)
			return -ETIMEDOUT;
	}
	return req.res;
}

int rg__io_uring_op(rg_io_prep_fn prep, void *arg, rg_ctx_t *ctx, uint32_t *cqe_flags)
{
	if (RG_PROBE_GATE_IO())
		return uring_op(prep, arg, ctx, cqe_flags, true);
	return uring_op(prep, arg, ctx, cqe_flags, false);
}
