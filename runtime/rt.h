// SPDX-License-Identifier: MIT
/*
 * rt.h — the runtime's internal structures and the internal API that the
 * other layers (channels, sync, timers, I/O) are written against.  This
 * file holds G, M, P and the scheduler; the rest is split by concept
 * into rt_timer.h, rt_slab.h, rt_stack.h and rt_fail.h, included at the
 * end, so that a file includes rt.h and gets them all.
 *
 * Glossary (Go's names, Go's design):
 *   G  a goroutine: its saved stack pointer, state, id, wait reason.  G
 *      records live in dense slabs apart from the stacks (stack.c); a G
 *      gets a stack only when it first runs, and a parked goroutine costs
 *      the pages its frames touched.
 *   M  an OS thread running the scheduler loop on its own thread stack
 *      ("g0").  An M must hold a P to run Gs.
 *   P  a logical processor: a local run queue, a runnext slot, a timer
 *      heap, caches.  There are rg_procs() of them.
 *
 * Switching: a goroutine that parks, yields or exits switches directly to
 * the next runnable G of its P when there is one, else to its M's g0,
 * which looks for work (timers, global queue, stealing) or parks the
 * thread.  What must happen once the old G is off its stack (release the
 * lock a parker held, requeue a yielder, free an exited G) is recorded in
 * m->after and done by whichever context runs next (rg__after_switch).
 * This halves the switches on the hot path against Go's always-via-g0
 * mcall, and keeps the one invariant that matters: nobody can make a G
 * runnable until it is off its stack.
 *
 * Waiting: one mechanism, rg__park() / rg__ready(), serves every waiter.
 * Foreign threads (not goroutines) wait through rg_waiter_t on a futex.
 */
#ifndef RG_RT_H
#define RG_RT_H

#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "futex.h"
#include "ringo.h"

#define RG_HIDDEN __attribute__((visibility("hidden")))
#define RG_LIKELY(x) __builtin_expect(!!(x), 1)
#define RG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RG_CACHELINE 64

#define RG_RUNQ_SIZE 256     /* per-P local run queue (Go: 256) */
#define RG_MAX_PROCS 1024
#define RG_GLOBAL_TICK 61    /* check the global queue every N schedules */

typedef struct rg_g rg_g;
typedef struct rg_m rg_m;
typedef struct rg_p rg_p;
typedef struct rg_chunk rg_chunk;

/* ---- goroutines ---------------------------------------------------- */

enum rg_gstatus {
	RG_G_FREE = 0,  /* not in use (zero: a cold, zeroed slot reads FREE) */
	RG_G_RUNNABLE,  /* in a run queue or about to be */
	RG_G_RUNNING,   /* on an M */
	RG_G_WAITING,   /* parked; only rg__ready moves it on */
	RG_G_SYSCALL,   /* between rg_syscall_enter and _exit */
	RG_G_DEAD,      /* returned; being freed */
};

/* Why a goroutine waits: shown in dumps, reported by probes. */
typedef enum rg_wait_reason {
	RG_WAIT_NONE = 0,
	RG_WAIT_SLEEP,
	RG_WAIT_CHAN_SEND,
	RG_WAIT_CHAN_RECV,
	RG_WAIT_CHAN_SEND_NIL,
	RG_WAIT_CHAN_RECV_NIL,
	RG_WAIT_SELECT,
	RG_WAIT_SELECT_NO_CASES,
	RG_WAIT_MUTEX,
	RG_WAIT_RWMUTEX_R,
	RG_WAIT_RWMUTEX_W,
	RG_WAIT_WAITGROUP,
	RG_WAIT_COND,
	RG_WAIT_ONCE,
	RG_WAIT_SEMA,
	RG_WAIT_IO,
	RG_WAIT_TIMER,
	RG_WAIT_SYSCALL_EXIT,
	RG_WAIT_NREASONS
} rg_wait_reason_t;

const char *rg__wait_reason_str(int reason);

/*
 * A goroutine.  Invariants: status says who may touch the rest.  While
 * RUNNING only its M does; while RUNNABLE whoever dequeued it; while
 * WAITING only the code that will call rg__ready.
 *
 * Gs live in dense slabs (stack.c) and get their stack only when they
 * first run (rg__stack_bind): a goroutine that is spawned but not yet
 * started costs one G, and a burst of short goroutines runs on a few
 * recycled, cache-hot stacks instead of one fresh page each.
 */
struct rg_g {
	void *sp;                      /* saved stack pointer when switched out */
	_Atomic uint32_t status;       /* enum rg_gstatus */
	uint32_t waitreason;           /* rg_wait_reason_t while WAITING */
	rg_g *schedlink;               /* run queue / free list link (queue owner) */
	rg_m *m;                       /* M running it (RUNNING/SYSCALL), else NULL */
	int64_t id;                    /* goroutine id, > 0 */
	void (*fn)(void *);            /* start function */
	void *arg;
	void *xarg[2];                 /* more start arguments (rg__go_x), else NULL */
	int64_t waitsince;             /* when it parked, by sysmon's clock (sched.c coarse_now) */
	void *param;                   /* set by a waker for the woken (Go's g.param) */
	char *stack_lo;                /* lowest usable byte (above the guard) */
	char *stack_hi;                /* top of the stack; NULL until bound */
	uint8_t is_main;               /* the rg_main goroutine */
	void *asan_fake_stack;         /* AddressSanitizer fiber state */
	void *tsan_fiber;              /* ThreadSanitizer fiber (kept across reuse) */
	char name[32];
};

/* ---- processors ---------------------------------------------------- */

enum rg_pstatus {
	RG_P_IDLE = 0,  /* in the idle list, no M */
	RG_P_RUNNING,   /* owned by an M running Gs or the scheduler */
	RG_P_SYSCALL,   /* its M is in a syscall; sysmon may retake it */
	RG_P_DEAD,
};

typedef struct rg_timer rg_timer;

struct rg_p {
	/* Owner-written, read by thieves and sysmon. */
	int id;
	_Atomic uint32_t status;        /* enum rg_pstatus */
	rg_m *m;                        /* owning M; NULL when idle (sched.lock) */
	rg_p *link;                     /* idle list link (sched.lock) */
	_Atomic uint32_t schedtick;     /* +1 per schedule (owner) */
	_Atomic uint32_t syscalltick;   /* +1 per rg_syscall_enter (owner) */
	/* Set by sysmon when the P's goroutine has run HOG_NS without a
	 * schedule; the goroutine yields at its next rg_syscall_exit, and
	 * the next schedule clears it (sysmon.c, Go's preempt request). */
	_Atomic uint32_t preempt;

	/* Local run queue (Go's): the owner puts at tail, anyone takes from
	 * head with a CAS.  runnext is the G that runs next (the one a
	 * channel peer just readied), ahead of the queue. */
	_Atomic uint32_t runqhead __attribute__((aligned(RG_CACHELINE)));
	_Atomic uint32_t runqtail;
	_Atomic(rg_g *) runnext;
	_Atomic(rg_g *) runq[RG_RUNQ_SIZE];

	/* Goroutines another P handed to this one (rg__runqinject): a
	 * lock-free stack linked through schedlink, pushed by anyone, taken
	 * whole by exchange (runq.h). */
	_Atomic(rg_g *) inbox __attribute__((aligned(RG_CACHELINE)));

	/* Owner only. */
	rg_g *gfree __attribute__((aligned(RG_CACHELINE)));  /* warm G cache */
	int ngfree;
	int64_t goidcache, goidcacheend;                      /* id batch */
	uint64_t rand;                                        /* fastrand state */
	int hb_id;                                            /* hand-back target seen last */
	uint32_t hb_nempty;                                   /* (sched.c handback) its nempty then */

	/* Timers: a 4-ary min-heap of (when, timer) entries, under tlock
	 * (any M may run an idle P's timers); a stopped timer may leave a
	 * tombstone (timer NULL), counted in ndead (timer.c).  timer0
	 * mirrors the earliest `when`, 0 if none, for lock-free peeking. */
	rg__lock_t tlock __attribute__((aligned(RG_CACHELINE)));
	struct rg_tentry *timers;
	int ntimers, captimers, ndead;
	_Atomic int64_t timer0;

	/* Counters (owner writes, relaxed; rg_stats and ringo-trace's top
	 * sum them; see trace.c).  nwaiting[r]: goroutines that parked with
	 * reason r on this P, less those readied on it (rg__ready, by the
	 * readier): one P's entry may go negative; the sum over Ps, less
	 * rg__sched.nwaiting_nop[r], is the number waiting for r now. */
	_Atomic int64_t nspawn, nexit, nswitch, npark, nsteal;
	_Atomic int64_t nchanop, nmutexwait, nio;
	_Atomic int64_t nwaiting[RG_WAIT_NREASONS];

	/* +1 each time the owner finds its local queue empty (findrunnable):
	 * sysmon tells a backlog, a queue that has not emptied for a while,
	 * by this count standing still (sysmon.c). */
	_Atomic uint32_t nempty;

	/* sysmon's private view. */
	uint32_t sm_schedtick, sm_syscalltick, sm_nempty;
	int64_t sm_schedwhen, sm_syscallwhen, sm_emptywhen;
	bool sm_hogging;                /* its G has held it > 10 ms (dumps read it) */
} __attribute__((aligned(RG_CACHELINE)));

/* ---- threads ------------------------------------------------------- */

enum rg_after {
	RG_AFTER_NONE = 0,
	RG_AFTER_PARK,     /* set WAITING, call unlockf; false: ready again */
	RG_AFTER_YIELD,    /* requeue at the local tail */
	RG_AFTER_EXIT,     /* free the G and its stack */
	RG_AFTER_GLOBAL,   /* put on the global queue (lost its P in a syscall) */
};

typedef bool (*rg_unlockf)(rg_g *g, void *arg);

struct rg_m {
	void *g0sp;             /* g0's saved stack pointer while a G runs */
	rg_g *curg;             /* G running on this M, NULL on g0 */
	rg_p *p;                /* P held, NULL when none */
	rg_p *nextp;            /* P handed over by whoever woke us */
	rg_m *link;             /* idle list (sched.lock) */
	rg_m *alllink;          /* all Ms (sched.lock) */
	rg__note_t park;        /* sleeps here when idle */
	bool spinning;          /* looking for work, counted in nmspinning */
	bool idle;              /* in the idle list (sched.lock) */
	bool is_m0;             /* the thread that called rg_main */
	int id;
	pthread_t thread;

	/* What the next context must do for the G we just left. */
	int after;
	rg_g *after_g;
	rg_unlockf after_unlockf;
	void *after_arg;

	uint64_t rand;
	void *sigstack;             /* alternate signal stack */
	uint64_t sigblocked;        /* rg__sig_managed as this thread blocks it
				       (own thread only) */
	uint64_t sigwait_for;       /* the sigblocked that sigwait was made for */
	sigset_t sigwait;           /* the mask while sleeping in the backend
				       (rg__sig_waitmask; own thread only) */
	size_t sigstack_size;
	void *g0_stack_lo;          /* g0 (thread) stack, for sanitizers */
	size_t g0_stack_size;
	void *g0_asan_fake;
	void *g0_tsan_fiber;
};

/* ---- the scheduler ------------------------------------------------- */

struct rg_sched {
	rg__lock_t lock;               /* protects what is marked (lock) */

	/* Global run queue: a circular array of G pointers (lock), so that
	 * moving a batch touches one dense array, not 128 G headers on 128
	 * different stack pages. */
	rg_g **gq;
	uint32_t gqcap, gqhead;        /* (lock) */
	_Atomic int32_t runqsize;      /* entries; written under lock, read anywhere */

	rg_p *pidle;                   /* idle Ps (lock) */
	_Atomic int32_t npidle;
	rg_m *midle;                   /* idle Ms (lock) */
	int nmidle;                    /* (lock) */
	int mcount;                    /* Ms created (lock) */
	rg_m *allm;                    /* (lock) */
	_Atomic int32_t nmspinning;    /* Ms spinning for work */
	_Atomic int32_t nmlive;        /* M threads not yet exited */
	rg__note_t mexit;              /* woken as Ms exit at shutdown */

	rg_p **allp;
	int nprocs;

	_Atomic int64_t goidgen;
	_Atomic int running;           /* between init and teardown */
	_Atomic int stopping;          /* shutting down: Ms exit */
	_Atomic int stop_claimed;      /* an rg_shutdown is stopping it */
	bool embedded;                 /* started by rg_init */
	int main_result;

	/* The one M that sleeps until the earliest timer (lock). */
	rg_m *sleeper;
	_Atomic int64_t sleep_until;   /* INT64_MAX when none */

	/* Deadlock detection: things outside the Ps that can still wake a
	 * goroutine (foreign threads waiting or holding the runtime, I/O in
	 * flight, goroutines in syscalls). */
	_Atomic int32_t nrefs;
	_Atomic int32_t nsyscall;

	/* sysmon */
	pthread_t sysmon;
	bool sysmon_started;
	rg__note_t sysmon_note;
	_Atomic int sysmonwait;

	/* counters not owned by a P */
	_Atomic int64_t nforeign_spawn, nthreads, nhandoff, nhogs, nio;
	_Atomic int64_t nhandback;      /* sched.c handback: batches handed to a lower P */
	/* A clock for g->waitsince (sched.c park): rg__nanotime() as
	 * sysmon last read it, and as rg__pidleget read it when it woke
	 * sysmon.  While any P runs, sysmon reads it at least every
	 * 10 ms (its longest delay), so a park is stamped at most that
	 * late; a clock read per park cost 16-26 ns on this VM, a fifth
	 * of an unbuffered round trip. */
	_Atomic int64_t coarse_now;
	_Atomic int64_t nwaiting_nop[RG_WAIT_NREASONS]; /* readied off a P */

	size_t stack_size;             /* bytes per stack slot, guard included */
};

extern struct rg_sched rg__sched RG_HIDDEN;

/* Outside rg__sched, which each start clears.  rg__run_gen: +1 at every
 * start, so a record stamped with it tells waiters of a runtime that has
 * stopped (their goroutines and stacks are gone) from live ones.
 * rg__foreign_waiting: foreign threads asleep in rg__waiter_wait now
 * (they outlive a runtime). */
extern _Atomic uint32_t rg__run_gen RG_HIDDEN;
extern _Atomic int32_t rg__foreign_waiting RG_HIDDEN;

/* True when goroutines queued under generation gen are gone: the
 * runtime that ran them stopped. */
static inline bool rg__gen_gone(uint32_t gen)
{
	return atomic_load_explicit(&rg__sched.running, memory_order_acquire) != 1 ||
	       atomic_load_explicit(&rg__run_gen, memory_order_relaxed) != gen;
}

/* ---- internal API -------------------------------------------------- */

/* The calling thread's M, or NULL on a foreign thread.  Never cached
 * across a park: a goroutine may resume on another thread.  The read is
 * an asm statement (x86-64) or an opaque call, so the compiler cannot
 * keep the thread-local's address, computed on the old thread, in a
 * register across a switch. */
extern __thread rg_m *rg__tls_m __attribute__((tls_model("initial-exec"))) RG_HIDDEN;
#if defined(__x86_64__)
static inline rg_m *rg__getm(void)
{
	rg_m *m;
	__asm__ __volatile__("movq rg__tls_m@gottpoff(%%rip), %0\n\t"
			     "movq %%fs:(%0), %0"
			     : "=r"(m));
	return m;
}
#else
rg_m *rg__getm_slow(void) RG_HIDDEN;
static inline rg_m *rg__getm(void)
{
	return rg__getm_slow();
}
#endif

/* The calling goroutine, or NULL on g0 or a foreign thread. */
static inline rg_g *rg__getg(void)
{
	rg_m *m = rg__getm();
	return m ? m->curg : NULL;
}

/* rg_go with two more start arguments, which fn reads from its G's
 * xarg: for the runtime's own trampolines that would otherwise allocate
 * a record per goroutine for them (errgroup.c: the group, the function
 * and its argument).  0 or -errno, as rg_go. */
int rg__go_x(void (*fn)(void *), void *arg, void *x0, void *x1) RG_HIDDEN;

/*
 * Parks the calling goroutine.  Once it is off its stack, unlockf(g, arg)
 * runs on the next context (typically releasing the lock under which the
 * goroutine was queued as a waiter); if it returns false the goroutine is
 * made runnable again at once.  Returns when someone calls rg__ready(g).
 * Goroutine only.
 */
void rg__park(rg_unlockf unlockf, void *arg, rg_wait_reason_t reason) RG_HIDDEN;

/* Makes a parked goroutine runnable, on the caller's P when it has one
 * (in runnext: the woken runs next), else on the global queue.  Any
 * thread.  Panics if g is not parked. */
void rg__ready(rg_g *g) RG_HIDDEN;

/* Makes a batch of parked goroutines runnable, in order, behind what
 * already waits: onto the tail of the caller's queue while it is under
 * half full, the rest onto the global queue's tail (in one lock), or
 * all there for a caller without a P.  For the I/O reapers: a reap made
 * while the queue is long must not push the oldest half of it out to
 * the global queue (as a full local queue does) and so let fresh
 * completions overtake goroutines that waited longest.  Any thread. */
void rg__ready_n(rg_g *const *gs, int n) RG_HIDDEN;

/* Counts something outside the scheduler that may still ready a
 * goroutine (a foreign thread blocked in a channel, I/O in flight), so
 * that the deadlock detector does not fire while it exists. */
static inline void rg__sched_ref(void)
{
	atomic_fetch_add_explicit(&rg__sched.nrefs, 1, memory_order_relaxed);
}
static inline void rg__sched_unref(void)
{
	atomic_fetch_sub_explicit(&rg__sched.nrefs, 1, memory_order_relaxed);
}

/*
 * rg_waiter_t: one wait, by a goroutine (parks) or a foreign thread
 * (sleeps on a futex).  Every blocking primitive queues one of these and
 * whoever satisfies the wait calls rg__waiter_wake exactly once.
 */
typedef struct rg_waiter {
	rg_g *g;                  /* NULL: a foreign thread */
	_Atomic uint32_t woken;   /* foreign thread: 0 asleep, 1 woken */
} rg_waiter_t;

/* Binds w to the caller (goroutine or foreign thread). */
void rg__waiter_init(rg_waiter_t *w) RG_HIDDEN;

/* Waits until rg__waiter_wake(w).  unlockf as for rg__park (on a foreign
 * thread it runs on the caller before sleeping, with g == NULL).  A
 * foreign thread holds a scheduler reference (rg__sched_ref) while it
 * sleeps here, so the deadlock detector does not fire meanwhile. */
void rg__waiter_wait(rg_waiter_t *w, rg_unlockf unlockf, void *arg,
		     rg_wait_reason_t reason) RG_HIDDEN;

/* Ends the wait.  The waiter's record may be gone once this returns. */
void rg__waiter_wake(rg_waiter_t *w) RG_HIDDEN;

/* rg__park and rg__ready without their probes (go_park, go_resume,
 * go_ready), and rg__waiter_wait/_wake over them when probes is false:
 * for a path that probes.h's gate found unattached (chan.c). */
void rg__park_quiet(rg_unlockf unlockf, void *arg, rg_wait_reason_t reason) RG_HIDDEN;
void rg__ready_quiet(rg_g *g) RG_HIDDEN;
static inline void rg__waiter_wait_p(rg_waiter_t *w, rg_unlockf unlockf, void *arg,
				     rg_wait_reason_t reason, bool probes)
{
	if (!probes && w->g)
		rg__park_quiet(unlockf, arg, reason); /* as rg__waiter_wait */
	else
		rg__waiter_wait(w, unlockf, arg, reason);
}
static inline void rg__waiter_wake_p(rg_waiter_t *w, bool probes)
{
	rg_g *g = w->g;
	if (!probes && g)
		rg__ready_quiet(g); /* as rg__waiter_wake */
	else
		rg__waiter_wake(w);
}

/* Wakes an M to run a P if one is idle and none is spinning. */
void rg__wakep(void) RG_HIDDEN;

/* A cheap per-thread random number (per-P on a goroutine). */
uint32_t rg__fastrand(void) RG_HIDDEN;

/* ---- small helpers ------------------------------------------------- */

/* Fields that one thread owns but sysmon or a dump reads while it runs
 * (m->curg, p->m, g->id, p->sm_hogging): relaxed atomic accesses on plain
 * fields.  A plain mov on x86-64; they tell the compiler (and
 * ThreadSanitizer) that the race is intended and a stale value is fine. */
#define RG_LOAD_RELAXED(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define RG_STORE_RELAXED(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Bumps a counter that only one thread writes (a P's, by its owner):
 * a plain load and store, not a locked read-modify-write; readers on
 * other threads see some recent value. */
static inline void rg__count(_Atomic int64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static inline void rg__uncount(_Atomic int64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - 1,
			      memory_order_relaxed);
}

/* Bumps counter `field` of the calling thread's P (owner-written, as
 * rg__count); a thread without a P (foreign, sysmon) counts nothing. */
#define RG_PCOUNT(field)                                        \
	do {                                                    \
		rg_m *pc_m_ = rg__getm();                       \
		if (RG_LIKELY(pc_m_ && pc_m_->p))               \
			rg__count(&pc_m_->p->field);            \
	} while (0)

static inline void rg__tick(_Atomic uint32_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static inline int64_t rg__nanotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the rest, by concept ------------------------------------------
 * (as Go splits runtime2.go from time.go and stack.go) */
#include "rt_timer.h"   /* per-P timer heaps (timer.c) */
#include "rt_slab.h"    /* fixed-size blocks (slab.c) */
#include "rt_stack.h"   /* stacks and the context switch (stack.c, switch_*.S) */
#include "rt_fail.h"    /* failure reports, growable structs, tracing */
#include "rt_signal.h"  /* the signal layer's hooks (signal.c) */

#endif
