// SPDX-License-Identifier: MIT
/*
 * pool.c — the worker pool: a fixed set of worker goroutines taking
 * jobs (fn, arg) from a bounded FIFO queue, the seed's jobs channel
 * and `for j := range jobs` workers as one object.
 *
 * The queue is a bounded MPMC ring in the manner of Vyukov's: slot i
 * carries a turn number that says whose turn it is.  Position pos maps
 * to slot pos % cap; its producer waits for turn == 2*pos, stores the
 * job and sets 2*pos + 1; its consumer waits for 2*pos + 1, takes the
 * job and sets 2*(pos + cap), the producer turn of the slot's next
 * position (slot i starts at 2*i).  (Vyukov's sequence numbers, pos and
 * pos + 1, cannot tell full from empty with one slot; doubled ones can,
 * for any capacity.)  Turns are positions, not laps, so no position is
 * divided by cap to find its lap: a take walks its slots with an index
 * that wraps and a turn that grows by 2 (with laps, slot_at's division
 * or shift for every slot looked at was a quarter of a job's
 * instructions under callgrind).  Producers claim a
 * position with a CAS on enq, consumers with a CAS on deq; a job is one
 * 16-byte copy each way.  Bit 63 of enq is the closed flag, so
 * close and every successful enqueue are ordered by that one word: a job
 * whose CAS succeeded was queued before the close, and runs.
 *
 * Waiting is outside the ring, under one lock:
 *   - Idle workers: a worker that finds nothing counts itself in
 *     nidle, looks once more and parks on `idle`
 *     (LIFO: the most recently idle worker has the warmest cache).  A
 *     submitter that queued a job loads nidle seq_cst after its claim
 *     (the seq_cst CAS on enq) and wakes one if it is > 0; the worker's
 *     second look reads the head slot and, seq_cst, enq: either it sees
 *     the claim, or the submitter sees it counted (Dekker on enq and
 *     nidle).  A worker that sees a claim whose job is not in its slot
 *     yet does not park (the submitter may have read nidle before the
 *     increment): it yields and looks again, a window of a few
 *     instructions unless the kernel preempted the submitter's thread.
 *     The job's turn store is then a release (a plain store on x86):
 *     as a seq_cst store (an xchg, which waits for the slot's line from
 *     the worker that freed it) it was a quarter to a third of a
 *     submit's time (1M jobs: medians 18.7 -> 13.3 ns/job, 21
 *     interleaved runs on 2 busy cores).
 *   - Workers do not spin for work, as Go's channel receivers do not:
 *     a worker spinning on another core keeps pulling the ring's lines
 *     (the producer's word, the next slot) away from the producer, and
 *     1M tiny jobs took 40-50 ns each with a short spin, 12-18 ns
 *     without (Go's channel pool: about 31).  They never read the
 *     producers' word on the hot path either (head_ready reads deq and
 *     one slot).
 *   - A worker takes half of the jobs ready in a row (at most 8) with
 *     one CAS: a backlog of tiny jobs costs one CAS per few jobs, and a
 *     burst of slow ones is split with the workers that wake for it.
 *   - Full queue: a submitter counts itself in nsub, under the lock
 *     looks once more, and queues on `subq` (FIFO) with its job.  A
 *     worker that takes a job fences and, if nsub > 0 and at least half
 *     the queue is free, puts the waiters' jobs into the ring for them,
 *     in order, and wakes them: a woken submitter is done, it never
 *     retries.  Waking only at half free (not at the first free slot)
 *     lets a blocked producer refill half a queue per wake-up instead
 *     of paying a park and a wake per job.
 *   - While submitters wait, newcomers (submit and try_submit) do not
 *     take the ring's free slots from them: they queue behind (submit)
 *     or get -EAGAIN (try_submit).
 * Invariant: subq non-empty implies the ring was full when its head
 * queued, or a worker will look at nsub after its next take; the last
 * take of a drained ring sees every waiter (half free holds then), so a
 * waiter never sleeps beside an empty ring.
 *
 * Close sets the flag under the lock, wakes every idle worker and fails
 * every waiting submitter with -EPIPE.  Workers drain what was queued and
 * exit when the ring is empty and closed; rg_pool_wait waits for them
 * (a WaitGroup).
 *
 * Rejected designs:
 *   - A ringo channel and workers ranging over it (the seed's code, and
 *     the Go peer's).  Every job then takes the channel's lock twice, and
 *     every wake-up of a blocked producer happens at the first free slot.
 *   - A mutex-protected deque: a lock round trip per job on both sides,
 *     the producer's and the workers' Ps bouncing its line.
 *   - One goroutine per job behind a semaphore (errgroup with a limit):
 *     a spawn and an exit per job instead of a 16-byte copy.
 *   - Rounding the queue up to a power of two: the bound the caller
 *     gives is the one try_submit reports; a division per position is
 *     cheaper than explaining a different bound (powers of two use a
 *     mask).
 */
#include "waitq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CLOSED ((uint64_t)1 << 63)
#define TAKE 8
#define SPIN_CLAIM 64   /* pauses waiting for a claimed slot's store */
#define MAX_QUEUE (1 << 28)
#define MAX_WORKERS (1 << 20)

struct slot {
	_Atomic uint64_t turn;       /* whose turn (see the top) */
	void (*fn)(void *);
	void *arg;
	uint64_t pad_;               /* two slots per cache line */
};

struct rg_pool {
	/* Producers' word. */
	_Atomic uint64_t enq __attribute__((aligned(RG_CACHELINE)));
	/* Consumers' word. */
	_Atomic uint64_t deq __attribute__((aligned(RG_CACHELINE)));

	/* Waiting, under lock (counters also read without it). */
	rg__lock_t lock __attribute__((aligned(RG_CACHELINE)));
	_Atomic int32_t nidle;       /* workers counted idle (changes: lock) */
	_Atomic int32_t nsub;        /* submitters queued (changes: lock) */
	rg__waitq_t idle;            /* parked workers, LIFO (lock) */
	rg__waitq_t subq;            /* waiting submitters, FIFO (lock) */

	/* Constant, on a line of its own: every take and put reads cap and
	 * buf, and beside the waiting fields (as they were) each park or
	 * wake-up cost the other core a miss on them (perf: a quarter of
	 * the workers' samples on the load of cap). */
	uint64_t cap __attribute__((aligned(RG_CACHELINE)));  /* slots */
	uint64_t mask;               /* cap - 1 for a power of two > 1, else 0 */
	uint64_t wake_free;          /* free slots that wake waiting submitters */
	struct slot *buf;
	rg_waitgroup_t wg;           /* workers alive */
};

/* A submitter waiting for room, with its job. */
struct subwait {
	rg__cwait_t w;               /* first: nodes cast back to us */
	void (*fn)(void *);
	void *arg;
};

/* The slot index of a position: pos % cap (a mask for powers of two). */
static inline uint64_t slot_idx(const rg_pool_t *p, uint64_t pos)
{
	return RG_LIKELY(p->mask) ? pos & p->mask : pos % p->cap;
}

/* Claims the next position and stores the job: 0, -EAGAIN (full) or
 * -EPIPE (closed).  Inline: it is all of a submit that finds room. */
static inline __attribute__((always_inline)) int enqueue(rg_pool_t *p, void (*fn)(void *),
							 void *arg)
{
	struct slot *buf = p->buf;
	uint64_t pos = atomic_load_explicit(&p->enq, memory_order_relaxed);
	for (;;) {
		if (RG_UNLIKELY(pos & CLOSED))
			return -EPIPE;
		struct slot *s = &buf[slot_idx(p, pos)];
		/* Acquire: the consumer that freed the slot read it first. */
		uint64_t turn = atomic_load_explicit(&s->turn, memory_order_acquire);
		int64_t dif = (int64_t)(turn - 2 * pos);
		if (RG_LIKELY(dif == 0)) {
			/* seq_cst: the claim comes before wake_worker's load
			 * of nidle (the Dekker pair with worker_idle; see the
			 * top).  A locked cmpxchg on x86 whatever the order. */
			if (RG_LIKELY(atomic_compare_exchange_weak_explicit(&p->enq, &pos, pos + 1,
					memory_order_seq_cst, memory_order_relaxed))) {
				s->fn = fn;
				s->arg = arg;
				/* Release: the job is in the slot before its
				 * consumer sees the turn. */
				atomic_store_explicit(&s->turn, 2 * pos + 1, memory_order_release);
				return 0;
			}
		} else if (dif < 0) {
			return -EAGAIN;  /* still the last lap's job: full */
		} else {
			pos = atomic_load_explicit(&p->enq, memory_order_relaxed);
		}
	}
}

struct job {
	void (*fn)(void *);
	void *arg;
};

/* Takes the oldest jobs: half of those ready in a row (rounded up), at
 * most max; 0 if none is ready (empty, or its producer is still storing
 * it).  One CAS on deq claims them all. */
static int dequeue(rg_pool_t *p, struct job *out, int max)
{
	struct slot *buf = p->buf;
	uint64_t cap = p->cap;
	uint64_t pos = atomic_load_explicit(&p->deq, memory_order_relaxed);
	for (;;) {
		uint64_t i0 = slot_idx(p, pos);
		/* Acquire: pairs with the producer's store of the turn. */
		uint64_t turn = atomic_load_explicit(&buf[i0].turn, memory_order_acquire);
		int64_t dif = (int64_t)(turn - (2 * pos + 1));
		if (dif < 0)
			return 0;
		if (dif > 0) {  /* another consumer took pos */
			pos = atomic_load_explicit(&p->deq, memory_order_relaxed);
			continue;
		}
		/* Ready jobs in a row, up to 2 * max; we take half of them,
		 * leaving the rest to the other workers. */
		int k = 1;
		uint64_t i = i0, want = 2 * pos + 3;
		while (k < 2 * max) {
			if (++i == cap)
				i = 0;
			if (atomic_load_explicit(&buf[i].turn, memory_order_acquire) != want)
				break;
			k++;
			want += 2;
		}
		k = (k + 1) / 2;
		if (!atomic_compare_exchange_weak_explicit(&p->deq, &pos, pos + (uint64_t)k,
				memory_order_relaxed, memory_order_relaxed))
			continue;
		i = i0;
		uint64_t next = 2 * (pos + cap);
		for (int j = 0; j < k; j++) {
			struct slot *s = &buf[i];
			out[j].fn = s->fn;
			out[j].arg = s->arg;
			/* Release: our reads of the slot come before the next
			 * lap's producer writes it; seq_cst for the last, which
			 * wake_submitters' load of nsub follows (Dekker with
			 * submit_slow). */
			atomic_store_explicit(&s->turn, next,
					      j == k - 1 ? memory_order_seq_cst : memory_order_release);
			next += 2;
			if (++i == cap)
				i = 0;
		}
		return k;
	}
}

/* Jobs queued or being queued (positions claimed, not yet taken). */
static inline uint64_t pending(rg_pool_t *p)
{
	uint64_t e = atomic_load_explicit(&p->enq, memory_order_relaxed) & ~CLOSED;
	uint64_t d = atomic_load_explicit(&p->deq, memory_order_relaxed);
	return e - d;
}

/* Whether the oldest position holds a job (reads the consumers' word and
 * one slot, not the producers' word, so that spinning workers do not
 * pull enq away from a producer on another core). */
static inline bool head_ready(rg_pool_t *p)
{
	uint64_t pos = atomic_load_explicit(&p->deq, memory_order_relaxed);
	struct slot *s = &p->buf[slot_idx(p, pos)];
	return atomic_load_explicit(&s->turn, memory_order_relaxed) == 2 * pos + 1;
}

static inline bool is_closed(rg_pool_t *p)
{
	return atomic_load_explicit(&p->enq, memory_order_relaxed) & CLOSED;
}

/* ---- waking ---------------------------------------------------------- */

static void wake_worker_slow(rg_pool_t *p);

/* After queueing a job: wake an idle worker if one is counted. */
static inline void wake_worker(rg_pool_t *p)
{
	/* seq_cst: after enqueue's seq_cst claim, paired with the seq_cst
	 * increment of nidle and load of enq in worker_idle. */
	if (RG_UNLIKELY(atomic_load_explicit(&p->nidle, memory_order_seq_cst) != 0))
		wake_worker_slow(p);
}

/* Out of line, so that a submit that wakes nobody saves no registers
 * for the lock and the wake-up. */
static __attribute__((noinline)) void wake_worker_slow(rg_pool_t *p)
{
	rg__lock(&p->lock);
	rg__wnode_t *n = rg__waitq_pop(&p->idle);
	if (n)
		atomic_fetch_sub_explicit(&p->nidle, 1, memory_order_relaxed);
	rg__unlock(&p->lock);
	if (n)
		rg__waitq_wake(n);
}

/* lock held: puts the jobs of waiting submitters into the ring, in order,
 * while it has room; moves the served onto *wake. */
static void serve_submitters_locked(rg_pool_t *p, rg__waitq_t *wake)
{
	rg__wnode_t *n;
	while ((n = rg__waitq_first(&p->subq)) != NULL) {
		struct subwait *sw = (struct subwait *)(void *)n;
		if (enqueue(p, sw->fn, sw->arg) != 0)
			break;
		rg__waitq_pop(&p->subq);
		rg__cwait_taken(n);
		atomic_fetch_sub_explicit(&p->nsub, 1, memory_order_relaxed);
		rg__waitq_push(wake, n);
	}
}

/* After taking a job: serve waiting submitters once half the ring is
 * free. */
static inline void wake_submitters(rg_pool_t *p)
{
	/* seq_cst: after dequeue's seq_cst store of the last turn, paired
	 * with the seq_cst increment of nsub in submit_slow. */
	if (RG_LIKELY(atomic_load_explicit(&p->nsub, memory_order_seq_cst) == 0))
		return;
	if (p->cap - pending(p) < p->wake_free)
		return;
	rg__waitq_t wake = {0};
	rg__lock(&p->lock);
	serve_submitters_locked(p, &wake);
	rg__unlock(&p->lock);
	rg__wake_list(&wake);
}

/* ---- workers --------------------------------------------------------- */

/* The ring looked empty: park until a submitter or close wakes us (no
 * spinning: see the top).  Returns false when the pool is closed and drained. */
static bool worker_idle(rg_pool_t *p)
{
	if (head_ready(p))
		return true;
	rg__lock(&p->lock);
	/* seq_cst: pairs with the submitter's claim and load of nidle (see
	 * the top).  Closed, the claims in flight must land before the last
	 * worker leaves: pending. */
	atomic_fetch_add_explicit(&p->nidle, 1, memory_order_seq_cst);
	if (head_ready(p) || is_closed(p)) {
		atomic_fetch_sub_explicit(&p->nidle, 1, memory_order_relaxed);
		bool more = pending(p) != 0;
		rg__unlock(&p->lock);
		return more || !is_closed(p);
	}
	/* seq_cst: a claim we see here may belong to a submitter that read
	 * nidle before our increment and wakes nobody; one we do not see
	 * will see us counted.  Its job is a few instructions away: look
	 * again instead of parking. */
	uint64_t e = atomic_load_explicit(&p->enq, memory_order_seq_cst) & ~CLOSED;
	if (e != atomic_load_explicit(&p->deq, memory_order_relaxed)) {
		atomic_fetch_sub_explicit(&p->nidle, 1, memory_order_relaxed);
		rg__unlock(&p->lock);
		rg_yield();
		return true;
	}
	rg__wnode_t n;
	rg__waitq_push_front(&p->idle, &n);
	rg__waitq_park(&p->lock, &n, RG_WAIT_CHAN_RECV);
	return true;
}

static void worker(void *arg)
{
	rg_pool_t *p = arg;
	struct job jobs[TAKE];
	int spins = 0;
	for (;;) {
		int k = dequeue(p, jobs, TAKE);  /* half of a backlog */
		if (k) {
			spins = 0;
			wake_submitters(p);
			for (int i = 0; i < k; i++)
				jobs[i].fn(jobs[i].arg);
			continue;
		}
		if (pending(p) && ++spins < SPIN_CLAIM) {
			/* A producer is between its claim and its store: a
			 * few instructions, unless the kernel took its thread
			 * away, when we park instead (worker_idle). */
			rg__cpu_relax();
			continue;
		}
		spins = 0;
		if (!worker_idle(p))
			break;
	}
	rg_wg_done(&p->wg);
}

/* ---- the API --------------------------------------------------------- */

rg_pool_t *rg_pool_new(int workers, int queue)
{
	if (workers < 1 || workers > MAX_WORKERS || queue < 1 || queue > MAX_QUEUE) {
		errno = EINVAL;
		return NULL;
	}
	void *mem;
	if (posix_memalign(&mem, RG_CACHELINE, sizeof(rg_pool_t))) {
		errno = ENOMEM;
		return NULL;
	}
	rg_pool_t *p = mem;
	memset(p, 0, sizeof(*p));
	p->cap = (uint64_t)queue;
	p->mask = p->cap > 1 && (p->cap & (p->cap - 1)) == 0 ? p->cap - 1 : 0;
	p->wake_free = (p->cap + 1) / 2;
	if (posix_memalign(&mem, RG_CACHELINE, sizeof(struct slot) * p->cap)) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->buf = mem;
	for (uint64_t i = 0; i < p->cap; i++) {
		atomic_init(&p->buf[i].turn, 2 * i);
		p->buf[i].fn = NULL;
		p->buf[i].arg = NULL;
	}
	rg_wg_add(&p->wg, workers);
	for (int i = 0; i < workers; i++) {
		if (rg_go_named("rg_pool worker", worker, p) != 0) {
			/* Those started exit once closed; the rest never ran. */
			rg_wg_add(&p->wg, -(workers - i));
			rg_pool_close(p);
			rg_wg_wait(&p->wg);
			free(p->buf);
			free(p);
			errno = ENOMEM;
			return NULL;
		}
	}
	return p;
}

static void submit_cancelled(rg__cwait_t *w, rg__waitq_t *wake);

/* The ring is full, or others wait: queue behind them. */
static __attribute__((noinline)) int submit_slow(rg_pool_t *p, void (*fn)(void *), void *arg,
						 rg_ctx_t *ctx)
{
	struct subwait sw = {.w = {.l = &p->lock, .q = &p->subq, .owner = p,
				   .cancelled = submit_cancelled},
			     .fn = fn, .arg = arg};
	if (!rg__cwait_begin(&sw.w, ctx))
		return sw.w.result;
	rg__lock(&p->lock);
	/* seq_cst: pairs with the worker's fence in wake_submitters. */
	atomic_fetch_add_explicit(&p->nsub, 1, memory_order_seq_cst);
	int rc = rg__waitq_empty(&p->subq) ? enqueue(p, fn, arg) : -EAGAIN;
	if (rc != -EAGAIN || sw.w.state == RG_CWAIT_CANCELLED) {
		atomic_fetch_sub_explicit(&p->nsub, 1, memory_order_relaxed);
		rg__unlock(&p->lock);
		rg__cwait_end(&sw.w);
		if (rc == 0)
			wake_worker(p);
		return rc == -EAGAIN ? sw.w.result : rc;
	}
	rc = rg__cwait_park(&sw.w, RG_WAIT_CHAN_SEND);
	if (rc == 0)
		wake_worker(p);  /* our job is in the ring */
	return rc;
}

/* A submitter's context ended while it waited (lock held). */
static void submit_cancelled(rg__cwait_t *w, rg__waitq_t *wake)
{
	rg_pool_t *p = w->owner;
	(void)wake;
	atomic_fetch_sub_explicit(&p->nsub, 1, memory_order_relaxed);
}

/* A NULL pool: Go's nil pointer dereference, with the call's name. */
#define CHECK_POOL(p, call)                                                   \
	do {                                                                  \
		if (RG_UNLIKELY(!(p)))                                        \
			rg_panic(call ": nil pool");                          \
	} while (0)

/* A job of p waiting for p to drain would wait for itself.  Its
 * goroutine is one of p's workers: started as worker(p), which a G
 * records (fn, arg) for as long as it lives. */
static void check_not_own_job(rg_pool_t *p, const char *call)
{
	rg_g *g = rg__getg();
	if (RG_UNLIKELY(g && g->fn == worker && g->arg == p))
		rg_panic("%s from one of the pool's own jobs: it would wait for itself", call);
}

int rg_pool_submit(rg_pool_t *p, void (*fn)(void *), void *arg, rg_ctx_t *ctx)
{
	CHECK_POOL(p, "rg_pool_submit");
	if (RG_UNLIKELY(!fn))
		return -EINVAL;
	if (RG_LIKELY(atomic_load_explicit(&p->nsub, memory_order_relaxed) == 0)) {
		int rc = enqueue(p, fn, arg);
		if (RG_LIKELY(rc == 0)) {
			wake_worker(p);
			return 0;
		}
		if (rc == -EPIPE)
			return rc;
	}
	return submit_slow(p, fn, arg, ctx);
}

int rg_pool_try_submit(rg_pool_t *p, void (*fn)(void *), void *arg)
{
	CHECK_POOL(p, "rg_pool_try_submit");
	if (RG_UNLIKELY(!fn))
		return -EINVAL;
	if (atomic_load_explicit(&p->nsub, memory_order_relaxed) != 0)
		return is_closed(p) ? -EPIPE : -EAGAIN;
	int rc = enqueue(p, fn, arg);
	if (rc == 0)
		wake_worker(p);
	return rc;
}

void rg_pool_close(rg_pool_t *p)
{
	CHECK_POOL(p, "rg_pool_close");
	rg__lock(&p->lock);
	if (is_closed(p)) {
		rg__unlock(&p->lock);
		return;
	}
	/* Release: jobs queued before are visible to the workers that see
	 * the flag (they also see them through the slots). */
	atomic_fetch_or_explicit(&p->enq, CLOSED, memory_order_release);
	rg__waitq_t workers = rg__waitq_take_all(&p->idle);
	atomic_store_explicit(&p->nidle, 0, memory_order_relaxed);
	for (rg__wnode_t *n = rg__waitq_first(&p->subq); n; n = rg__wnode_next(n))
		rg__cwait_taken(n)->result = -EPIPE;
	rg__waitq_t subs = rg__waitq_take_all(&p->subq);
	atomic_store_explicit(&p->nsub, 0, memory_order_relaxed);
	rg__unlock(&p->lock);
	rg__wake_list(&workers);
	rg__wake_list(&subs);
}

void rg_pool_wait(rg_pool_t *p)
{
	CHECK_POOL(p, "rg_pool_wait");
	check_not_own_job(p, "rg_pool_wait");
	rg_wg_wait(&p->wg);
}

void rg_pool_free(rg_pool_t *p)
{
	if (!p)
		return;
	check_not_own_job(p, "rg_pool_free");
	rg_pool_close(p);
	rg_pool_wait(p);
	free(p->buf);
	free(p);
}

/* For white-box tests: submitters waiting for room, workers idle. */
int rg__pool_waiting(rg_pool_t *p) RG_HIDDEN;
int rg__pool_idle(rg_pool_t *p) RG_HIDDEN;

int rg__pool_waiting(rg_pool_t *p)
{
	return atomic_load_explicit(&p->nsub, memory_order_relaxed);
}

int rg__pool_idle(rg_pool_t *p)
{
	return atomic_load_explicit(&p->nidle, memory_order_relaxed);
}
