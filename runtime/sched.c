// SPDX-License-Identifier: MIT
/*
 * sched.c — the scheduler: Gs, Ms and Ps as in Go (see rt.h for the
 * glossary).  This file is the scheduling loop (findrunnable, schedule,
 * switches, park/ready, spinning Ms, syscalls); sysmon.c is the monitor
 * thread, start.c starts and stops the runtime; sched_impl.h is what the
 * three share.  The I/O layer is reached only through netpoll.h.
 *
 * Where Go and ringo differ, and why:
 *   - Switches go G -> G directly when the P has a next G (rt.h), instead
 *     of always through g0.  After-switch actions keep it safe.
 *   - No asynchronous preemption: C code cannot be stopped at arbitrary
 *     instructions (libc locks, errno, malloc's caches).  Scheduling points
 *     are the blocking calls and rg_yield.  sysmon notes hogs, moves the
 *     hog's queued goroutines to the global queue and runs its expired
 *     timers, so that everything else keeps moving.
 *   - A P with I/O in flight does not give itself back when it runs out
 *     of work: its M sleeps in the P's ring (uring/ring.c), where
 *     completions, timers and pokes from other threads all end the wait.
 *   - rg_main's thread runs no goroutines: it starts the runtime, waits
 *     for the main goroutine and tears down.  A goroutine that never
 *     yields therefore cannot keep rg_main from returning.
 *   - A goroutine made or readied by a thread that holds a P wakes no
 *     other P (Go's wakep starts a spinning M for each while a P is
 *     idle): the P that queued it runs it.  Another P is called in for
 *     a backlog: a burst that fills half the local queue or spills to
 *     the global one (wakep_local), or a queue that has not emptied for
 *     500 us (sysmon.c, BACKLOG_NS).  Why: a second P that steals a
 *     connection's goroutine takes its I/O along, and every completion of
 *     a request its thread submitted wakes that thread (the ring's task
 *     work), so a few readied goroutines bought a context switch per few
 *     requests for as long as the connection lived.  Measured on 2 cores
 *     (64 connections x 64 B, alternating, /proc per-request figures):
 *     ringo-echo --procs 2 went from 89-100k req/s, 9.3-10.5 us of CPU
 *     and 0.23-0.27 context switches per request to 98-138k, 7.1-9.5 us
 *     and 0.007-0.19; bench_workerpool 2 Ps 79 -> 40 ns/job (medians of
 *     5); pingpong, buffered, select, spawn and mutex level within the
 *     noise.  The cost: work readied while its P runs a long goroutine
 *     waits up to BACKLOG_NS for a second P, where Go's waits for none.
 *   - And the second P gives the work back: a P woken in its ring by
 *     completions hands what they readied to a lower P that keeps up
 *     (handback, above findrunnable), so connections end on one P
 *     while it suffices.  Go leaves them wherever they last ran.
 *
 * Rejected designs:
 *   - One global run queue under a lock (libdill-style per thread, or a
 *     work-sharing pool): every spawn and wake-up would contend on it.
 *   - ucontext/swapcontext: a sigprocmask syscall per switch.
 *   - setjmp/longjmp onto new stacks: undefined behaviour, and glibc's
 *     pointer mangling and fortify checks fight it.
 *   - Condition variables for idle Ms: a futex word per M (a note) is
 *     all that is needed and keeps the futex2 path the only path.
 *
 * Profile at 2 Ps (issue 8; counts from uprobes and the USDT probes via
 * perf stat on build/bench/bench_*, RINGO_PROCS=2; the probes slow the
 * runs, the counts hold):
 *   workload (ops)       parks  steals  usleep(3)  startm  futex wakes
 *   buffered (5M)        9,503   1,206      2,427   1,194        3,332
 *   workerpool (1M)     89,050  34,118     18,979     714        2,752
 *   spawn (220k)             0  66,444    113,714   4,150        4,205
 *   pingpong (500k)  1,000,001   2,273      7,376   4,031        6,028
 *   select (2M)          3,577   2,000      1,902     244        1,813
 *   mutex (10M)            402     156        145      64           68
 * Wakes are already rare: wakep starts an M only with an idle P and no
 * spinning M (Go's rule), so a burst of rg_go costs one startm per few
 * hundred spawns, not one each.  What the idle P's M does instead is
 * steal, and its runnext attempts back off with usleep(3) (Go's policy;
 * the timer slack makes it ~50 us): in spawn the idle P's M lives on
 * stealing from the spawner's queue.  buffered and workerpool were bound
 * by the channel lock's cache line, not the scheduler (see chan.c's
 * profile).
 *
 * Locking: sched.lock guards the global queue, the idle P and M lists,
 * the M list and the timer sleeper.  It is never held across a switch or
 * a blocking wait.  P-local state is owned by the M holding the P.
 */
#include "rt.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netpoll.h"
#include "probes.h"
#include "runq.h"
#include "sanitizer.h"
#include "sched_impl.h"

struct rg_sched rg__sched;
_Atomic uint32_t rg__run_gen;
_Atomic int32_t rg__foreign_waiting;

/* The current M.  Initial-exec TLS: a fixed offset from the thread
 * pointer, so reading it is one instruction and needs no call into the
 * dynamic linker. */
__thread rg_m *rg__tls_m __attribute__((tls_model("initial-exec"))) RG_HIDDEN;

#if !defined(__x86_64__)
/* Not inline, and with a compiler barrier: a goroutine can resume on
 * another thread, so the address of a thread-local must never be kept
 * in a register across a switch.  (x86-64 reads it with an asm
 * statement in rt.h instead.) */
__attribute__((noinline)) rg_m *rg__getm_slow(void)
{
	rg_m *m = rg__tls_m;
	__asm__ __volatile__("" ::: "memory");
	return m;
}
#endif

void rg__setm(rg_m *m)
{
	rg__tls_m = m;
}

/* ---- helpers ------------------------------------------------------- */

/* A schedule on p: sysmon's tick, and the end of any preempt request
 * for the goroutine that ran before (rg_syscall_exit). */
static inline void sched_tick(rg_p *p)
{
	rg__tick(&p->schedtick);
	if (atomic_load_explicit(&p->preempt, memory_order_relaxed))
		atomic_store_explicit(&p->preempt, 0, memory_order_relaxed);
}

static uint32_t rand_next(uint64_t *s)
{
	/* splitmix64: tiny, fast and good enough for victim selection and
	 * select's case order. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

uint32_t rg__fastrand(void)
{
	static __thread uint64_t foreign_state;
	rg_m *m = rg__getm();
	if (m)
		return rand_next(&m->rand);
	if (!foreign_state)
		foreign_state = (uint64_t)rg__nanotime() ^ (uint64_t)(uintptr_t)&foreign_state;
	return rand_next(&foreign_state);
}

/* When a goroutine parked (g->waitsince, for tracebacks): sysmon's
 * clock (rg_sched.coarse_now), or a clock read where sysmon never
 * started. */
static inline int64_t coarse_now(void)
{
	if (__builtin_expect(!rg__sched.sysmon_started, 0))
		return rg__nanotime();
	return atomic_load_explicit(&rg__sched.coarse_now, memory_order_relaxed);
}

/* ---- idle Ps and Ms (sched.lock held) ------------------------------ */

void rg__pidleput(rg_p *p)
{
	atomic_store_explicit(&p->status, RG_P_IDLE, memory_order_release);
	RG_STORE_RELAXED(p->m, NULL);
	p->link = rg__sched.pidle;
	rg__sched.pidle = p;
	atomic_fetch_add_explicit(&rg__sched.npidle, 1, memory_order_seq_cst);
}

rg_p *rg__pidleget(void)
{
	rg_p *p = rg__sched.pidle;
	if (!p)
		return NULL;
	rg__sched.pidle = p->link;
	p->link = NULL;
	/* seq_cst, paired with sysmon's store of sysmonwait: either sysmon
	 * sees a busy P before sleeping, or we see it asleep and wake it. */
	atomic_fetch_sub_explicit(&rg__sched.npidle, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&rg__sched.sysmonwait, memory_order_seq_cst)) {
		/* sysmon slept, and so did its clock: set it for the parks
		 * before it wakes. */
		atomic_store_explicit(&rg__sched.coarse_now, rg__nanotime(), memory_order_relaxed);
		atomic_store_explicit(&rg__sched.sysmonwait, 0, memory_order_relaxed);
		rg__note_wake(&rg__sched.sysmon_note);
	}
	return p;
}

static void mput(rg_m *m)
{
	m->link = rg__sched.midle;
	rg__sched.midle = m;
	m->idle = true;
	rg__sched.nmidle++;
}

static void mremove(rg_m *m)
{
	for (rg_m **pp = &rg__sched.midle; *pp; pp = &(*pp)->link) {
		if (*pp == m) {
			*pp = m->link;
			m->link = NULL;
			m->idle = false;
			rg__sched.nmidle--;
			return;
		}
	}
}

static rg_m *mget(void)
{
	rg_m *m = rg__sched.midle;
	if (m)
		mremove(m);
	return m;
}

static void acquirep(rg_m *m, rg_p *p)
{
	m->p = p;
	RG_STORE_RELAXED(p->m, m);
	atomic_store_explicit(&p->status, RG_P_RUNNING, memory_order_release);
}

static void releasep(rg_m *m)
{
	rg_p *p = m->p;
	m->p = NULL;
	RG_STORE_RELAXED(p->m, NULL);
}

/* ---- starting and stopping Ms -------------------------------------- */

static void *mstart(void *arg);

/* Starts a new M to run p.  Returns false if no thread could be made. */
static bool newm(rg_p *p, bool spinning)
{
	rg_m *m = calloc(1, sizeof(*m));
	if (!m)
		return false;
	m->nextp = p;
	m->spinning = spinning;
	m->rand = (uint64_t)rg__nanotime() ^ ((uint64_t)(uintptr_t)m << 17);
	rg__lock(&rg__sched.lock);
	m->id = rg__sched.mcount++;
	m->alllink = rg__sched.allm;
	rg__sched.allm = m;
	rg__unlock(&rg__sched.lock);
	atomic_fetch_add_explicit(&rg__sched.nmlive, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rg__sched.nthreads, 1, memory_order_relaxed);

	/* The new thread starts with every notifiable signal blocked (it
	 * inherits the creator's mask, which may be a foreign thread's) and
	 * sets its own first thing (rg__sig_thread_start). */
	pthread_attr_t attr;
	sigset_t oldmask;
	pthread_attr_init(&attr);
	rg__sig_block_notifiable(&oldmask);
	int r = pthread_create(&m->thread, &attr, mstart, m);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		/* The M stays on allm (freed at teardown) but never runs. */
		atomic_fetch_sub_explicit(&rg__sched.nmlive, 1, memory_order_relaxed);
		m->thread = 0;
		return false;
	}
	return true;
}

/* Hands p (or an idle P if p is NULL) to an idle or new M.  spinning: the
 * M starts out spinning (the caller already counted it). */
void rg__startm(rg_p *p, bool spinning)
{
	rg__lock(&rg__sched.lock);
	if (!p) {
		p = rg__pidleget();
		if (!p) {
			rg__unlock(&rg__sched.lock);
			if (spinning)
				atomic_fetch_sub_explicit(&rg__sched.nmspinning, 1,
							  memory_order_seq_cst);
			return;
		}
	}
	rg_m *m = mget();
	if (m && rg__sched.sleeper == m) {
		rg__sched.sleeper = NULL;
		atomic_store_explicit(&rg__sched.sleep_until, INT64_MAX, memory_order_relaxed);
	}
	rg__unlock(&rg__sched.lock);
	if (m) {
		m->spinning = spinning;
		m->nextp = p;
		rg__note_wake(&m->park);
		return;
	}
	if (!newm(p, spinning)) {
		rg__lock(&rg__sched.lock);
		rg__pidleput(p);
		rg__unlock(&rg__sched.lock);
		if (spinning)
			atomic_fetch_sub_explicit(&rg__sched.nmspinning, 1, memory_order_seq_cst);
	}
}

/* For a goroutine that newproc or rg__ready just queued: its P runs it
 * unless the queue is a burst (see the top).  Threads without a P
 * (foreign threads, sysmon, rg_main's) wake one as Go does. */
#define RG_WAKE_BURST (RG_RUNQ_SIZE / 2)
static inline void wakep_local(void)
{
	rg_m *m = rg__getm();
	if (m && m->p && rg__runqlen(m->p) <= RG_WAKE_BURST &&
	    atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed) == 0)
		return;
	rg__wakep();
}

void rg__wakep(void)
{
	/* seq_cst loads pair with the seq_cst updates in findrunnable's
	 * drop-spinning path: either they see our work, or we see no
	 * spinning M and start one. */
	if (atomic_load_explicit(&rg__sched.npidle, memory_order_seq_cst) == 0) {
		/* No idle P, but one may be asleep in its ring waiting for
		 * I/O and could take this work.  Waking it costs a syscall
		 * and a context switch, so only when work piles up: in the
		 * global queue, or more than the one just readied here
		 * (which this P runs next anyway). */
		rg_m *m = rg__getm();
		if (!m || !m->p || rg__runqlen(m->p) > 1 ||
		    atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed) > 0)
			rg__io_poke_any();
		return;
	}
	int32_t zero = 0;
	if (atomic_load_explicit(&rg__sched.nmspinning, memory_order_seq_cst) != 0 ||
	    !atomic_compare_exchange_strong_explicit(&rg__sched.nmspinning, &zero, 1,
			memory_order_seq_cst, memory_order_relaxed))
		return;
	rg__startm(NULL, true);
}

static void resetspinning(rg_m *m)
{
	m->spinning = false;
	atomic_fetch_sub_explicit(&rg__sched.nmspinning, 1, memory_order_seq_cst);
	/* We found work: another M may find more. */
	rg__wakep();
}

/* Deadlock check, when the last M is about to sleep without a timer.
 * sched.lock held. */
static void checkdead(void)
{
	if (rg__sched.embedded || rg__stopping())
		return;
	if (atomic_load(&rg__sched.nrefs) > 0 || atomic_load(&rg__sched.nsyscall) > 0)
		return;
	if (atomic_load(&rg__sched.npidle) != rg__sched.nprocs)
		return;
	if (atomic_load(&rg__sched.runqsize) > 0)
		return;
	for (int i = 0; i < rg__sched.nprocs; i++)
		if (!rg__runqempty(rg__sched.allp[i]))
			return;
	if (rg__timers_earliest() != 0)
		return;
	rg__fatal_deadlock();
}

/* Parks the M (no P held) until handed a P, woken for timers, or until
 * `until` (monotonic ns, 0: none).  Returns with m->p set or NULL. */
static void stopm(rg_m *m, int64_t until)
{
	bool timed = false;

	rg__lock(&rg__sched.lock);
	if (rg__stopping()) {
		rg__unlock(&rg__sched.lock);
		return;
	}
	mput(m);
	if (until > 0 && (!rg__sched.sleeper ||
			  until < atomic_load_explicit(&rg__sched.sleep_until, memory_order_relaxed))) {
		rg__sched.sleeper = m;
		atomic_store_explicit(&rg__sched.sleep_until, until, memory_order_relaxed);
		timed = true;
	}
	if (!timed)
		checkdead();
	rg__unlock(&rg__sched.lock);

	rg__sig_idle(m);
	bool woken = rg__note_sleep(&m->park, timed ? until : -1);

	rg__lock(&rg__sched.lock);
	if (rg__sched.sleeper == m) {
		rg__sched.sleeper = NULL;
		atomic_store_explicit(&rg__sched.sleep_until, INT64_MAX, memory_order_relaxed);
	}
	if (!woken) {
		if (m->idle) {
			mremove(m);   /* timed out: leave on our own, no P */
		} else {
			/* Someone took us off the idle list and is about to
			 * wake us: wait for it (it may be handing us a P). */
			rg__unlock(&rg__sched.lock);
			rg__note_sleep(&m->park, -1);
			rg__lock(&rg__sched.lock);
		}
	}
	rg__unlock(&rg__sched.lock);
	if (m->nextp) {
		acquirep(m, m->nextp);
		m->nextp = NULL;
	}
}

/* Wakes every idle M (shutdown).  sched.lock held. */
void rg__wake_all_idle(void)
{
	rg_m *m;
	while ((m = mget()) != NULL) {
		m->nextp = NULL;
		rg__note_wake(&m->park);
	}
}

void rg__timer_wake(int64_t when)
{
	rg__io_poke_before(when);
	if (when >= atomic_load_explicit(&rg__sched.sleep_until, memory_order_relaxed))
		return; /* the sleeper wakes early enough */
	rg__lock(&rg__sched.lock);
	rg_m *s = rg__sched.sleeper;
	if (s && when < atomic_load_explicit(&rg__sched.sleep_until, memory_order_relaxed)) {
		mremove(s);
		s->nextp = NULL;
		rg__sched.sleeper = NULL;
		atomic_store_explicit(&rg__sched.sleep_until, INT64_MAX, memory_order_relaxed);
		rg__unlock(&rg__sched.lock);
		rg__note_wake(&s->park);
		return;
	}
	rg__unlock(&rg__sched.lock);
	/* No sleeper: if a P is idle, an M will take it, look at the timers
	 * and become the sleeper. */
	rg__wakep();
}

/* ---- switching ----------------------------------------------------- */

static size_t g_stack_size(rg_g *g)
{
	return (size_t)(g->stack_hi - g->stack_lo);
}

/* Gives a goroutine that is about to run for the first time its stack
 * and initial frame.  Its slot was reserved by rg_go (which says -ENOMEM
 * when none can be), so failing here is a broken invariant. */
static inline void ensure_stack(rg_p *p, rg_g *g)
{
	if (RG_LIKELY(g->stack_hi != NULL))
		return;
	if (rg__stack_bind(p, g) < 0)
		rg__throw("out of memory allocating a goroutine stack");
	rg__ctx_init(g, g->stack_hi);
}

/* Switches from `from` (NULL: g0) to `to` (NULL: g0) on m.  Returns when
 * something switches back to `from`, possibly on another M. */
static void switch_to(rg_m *m, rg_g *from, rg_g *to, bool from_dies)
{
	void **save = from ? &from->sp : &m->g0sp;
	void *load = to ? to->sp : m->g0sp;
	void **fake = from ? &from->asan_fake_stack : &m->g0_asan_fake;

	rg__san_start_switch(from_dies ? NULL : fake,
			     to ? to->stack_lo : m->g0_stack_lo,
			     to ? g_stack_size(to) : m->g0_stack_size);
	rg__san_tsan_switch(to ? to->tsan_fiber : m->g0_tsan_fiber);
	RG_STORE_RELAXED(m->curg, to);
	rg__ctx_switch(save, load);
	rg__san_finish_switch(*fake);
}

/* Runs what the context we just left asked for, now that it is off its
 * stack.  Every resume point calls this first. */
static void after_switch(rg_m *m)
{
	int a = m->after;
	if (a == RG_AFTER_NONE)
		return;
	rg_g *g = m->after_g;
	m->after = RG_AFTER_NONE;
	m->after_g = NULL;

	switch (a) {
	case RG_AFTER_PARK: {
		rg_unlockf f = m->after_unlockf;
		void *arg = m->after_arg;
		/* Release: the G's saved state is complete before anyone who
		 * finds it WAITING may ready it. */
		atomic_store_explicit(&g->status, RG_G_WAITING, memory_order_release);
		if (f && !f(g, arg)) {
			rg__uncount(&m->p->nwaiting[g->waitreason]);
			atomic_store_explicit(&g->status, RG_G_RUNNABLE, memory_order_relaxed);
			rg__runqput(m->p, g, true);
		}
		break;
	}
	case RG_AFTER_YIELD:
		atomic_store_explicit(&g->status, RG_G_RUNNABLE, memory_order_relaxed);
		/* Go's Gosched queues globally, behind everything waiting
		 * there; we do so only when something waits there, and keep
		 * the lock-free local tail for the common case. */
		if (atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed) > 0) {
			rg__lock(&rg__sched.lock);
			rg__globrunqput(g);
			rg__unlock(&rg__sched.lock);
		} else {
			rg__runqput(m->p, g, false);
		}
		break;
	case RG_AFTER_EXIT:
		rg__stack_release(m->p, g);
		rg__gfree(m->p, g);
		rg__stack_unreserve(m->p);
		break;
	case RG_AFTER_GLOBAL:
		atomic_store_explicit(&g->status, RG_G_RUNNABLE, memory_order_relaxed);
		rg__lock(&rg__sched.lock);
		rg__globrunqput(g);
		rg__unlock(&rg__sched.lock);
		atomic_fetch_sub_explicit(&rg__sched.nsyscall, 1, memory_order_relaxed);
		rg__wakep();
		break;
	}
}

/* Leaves the running goroutine g (m->after set by the caller): straight
 * to the P's next G when there is one, else to g0.  Returns when g runs
 * again. */
static void switch_out(rg_m *m, rg_g *g, bool dies)
{
	rg_p *p = m->p;
	rg_g *next = NULL;

	/* Every RG_GLOBAL_TICK schedules, and when stopping, go through g0:
	 * it checks timers and the global queue. */
	if (p && !rg__stopping()) {
		uint32_t tick = atomic_load_explicit(&p->schedtick, memory_order_relaxed) + 1;
		if (tick % RG_GLOBAL_TICK != 0)
			next = rg__runqget(p);
	}
	if (next) {
		sched_tick(p);
		rg__count(&p->nswitch);
		atomic_store_explicit(&next->status, RG_G_RUNNING, memory_order_relaxed);
		next->m = m;
		ensure_stack(p, next);
		switch_to(m, g, next, dies);
	} else {
		switch_to(m, g, NULL, dies);
	}
	m = rg__getm();
	g->m = m;
	after_switch(m);
}

/* ---- goroutine lifecycle ------------------------------------------- */

static _Noreturn void goexit1(void);

_Noreturn void rg__goentry(rg_g *g)
{
	rg__san_finish_switch(NULL);
	rg_m *m = rg__getm();
	g->m = m;
	after_switch(m);
	RG_PROBE(go_start, g->id, m->p->id);
	g->fn(g->arg);
	goexit1();
}

static rg__main_arg_t *main_arg;

static void main_finished(int result)
{
	main_arg->result = result;
	atomic_store_explicit(&rg__sched.stopping, 1, memory_order_release);
	rg__note_wake(&main_arg->done);
}

static void main_tramp(void *arg)
{
	rg__main_arg_t *ma = arg;
	main_finished(ma->fn(ma->arg));
}

static _Noreturn void goexit1(void)
{
	rg_m *m = rg__getm();
	rg_g *g = m->curg;

	if (g->is_main && !rg__stopping())
		main_finished(0); /* rg_exit from the main goroutine */
	RG_PROBE(go_end, g->id, m->p->id);
	rg__count(&m->p->nexit);
	atomic_store_explicit(&g->status, RG_G_DEAD, memory_order_relaxed);
	m->after = RG_AFTER_EXIT;
	m->after_g = g;
	switch_out(m, g, true);
	__builtin_unreachable();
}

void rg_exit(void)
{
	rg_m *m = rg__getm();
	if (!m || !m->curg)
		rg_panic("rg_exit called outside a goroutine");
	goexit1();
}

static int64_t new_goid(rg_p *p)
{
	if (!p)
		return atomic_fetch_add_explicit(&rg__sched.goidgen, 1, memory_order_relaxed) + 1;
	/* Ids come from the global counter in batches of 16 (Go's goidcache),
	 * so spawning on several Ps does not bounce one cache line. */
	if (p->goidcache == p->goidcacheend) {
		p->goidcache = atomic_fetch_add_explicit(&rg__sched.goidgen, 16,
							 memory_order_relaxed) + 1;
		p->goidcacheend = p->goidcache + 16;
	}
	return p->goidcache++;
}

static int newproc(const char *name, void (*fn)(void *), void *arg, void *x0, void *x1,
		   bool is_main)
{
	if (!fn || !atomic_load_explicit(&rg__sched.running, memory_order_acquire))
		return -EINVAL;
	rg_m *m = rg__getm();
	rg_p *p = m && m->curg ? m->p : NULL;
	if (rg__stack_reserve(p) < 0)
		return -ENOMEM; /* no address space for its stack */
	rg_g *g = rg__galloc(p);
	if (!g) {
		rg__stack_unreserve(p);
		return -ENOMEM;
	}

	/* rg__galloc zeroed it; the stack comes when it first runs. */
	g->fn = fn;
	g->arg = arg;
	g->xarg[0] = x0;
	g->xarg[1] = x1;
	g->is_main = is_main;
	if (name) {
		strncpy(g->name, name, sizeof(g->name) - 1);
		g->name[sizeof(g->name) - 1] = 0;
	}
	RG_STORE_RELAXED(g->id, new_goid(p));
	if (!g->tsan_fiber)
		g->tsan_fiber = rg__san_tsan_create();
	atomic_store_explicit(&g->status, RG_G_RUNNABLE, memory_order_release);
	RG_PROBE(go_create, g->id, fn, g->name);

	if (p) {
		rg__count(&p->nspawn);
		rg__runqput(p, g, true);
	} else {
		atomic_fetch_add_explicit(&rg__sched.nforeign_spawn, 1, memory_order_relaxed);
		rg__lock(&rg__sched.lock);
		rg__globrunqput(g);
		rg__unlock(&rg__sched.lock);
	}
	wakep_local();
	return 0;
}

int rg__go_main(rg__main_arg_t *ma)
{
	main_arg = ma;
	int r = ma ? newproc("main", main_tramp, ma, NULL, NULL, true) : 0;
	if (r < 0 || !ma)
		main_arg = NULL;
	return r;
}

int rg_go(void (*fn)(void *), void *arg)
{
	return newproc(NULL, fn, arg, NULL, NULL, false);
}

int rg_go_named(const char *name, void (*fn)(void *), void *arg)
{
	return newproc(name, fn, arg, NULL, NULL, false);
}

int rg__go_x(void (*fn)(void *), void *arg, void *x0, void *x1)
{
	return newproc(NULL, fn, arg, x0, x1, false);
}

/* ---- parking ------------------------------------------------------- */

/* The caller's goroutine id, 0 off a goroutine: inline, so that a probe
 * argument makes no call (a call in a probe's arguments makes the
 * compiler keep live values in callee-saved registers, which costs the
 * unattached path pushes and pops). */
static inline int64_t cur_goid(void)
{
	rg_g *g = rg__getg();
	return g ? g->id : 0;
}

/* rg__park and rg__park_quiet; probes: whether go_park and go_resume
 * fire (a constant: probes.h's gates). */
static inline __attribute__((always_inline)) void
park(rg_unlockf unlockf, void *arg, rg_wait_reason_t reason, bool probes)
{
	rg_m *m = rg__getm();
	rg_g *g = m->curg;

	RG_STORE_RELAXED(g->waitreason, (uint32_t)reason);
	g->waitsince = coarse_now();
	rg__count(&m->p->npark);
	rg__count(&m->p->nwaiting[reason]);
	RG_PROBE_IF(probes, go_park, g->id, (int)reason);
	m->after = RG_AFTER_PARK;
	m->after_g = g;
	m->after_unlockf = unlockf;
	m->after_arg = arg;
	switch_out(m, g, false);
	RG_PROBE_IF(probes, go_resume, g->id, g->m->p->id);
	RG_STORE_RELAXED(g->waitreason, (uint32_t)RG_WAIT_NONE);
}

void rg__park(rg_unlockf unlockf, void *arg, rg_wait_reason_t reason)
{
	park(unlockf, arg, reason, true);
}

void rg__park_quiet(rg_unlockf unlockf, void *arg, rg_wait_reason_t reason)
{
	park(unlockf, arg, reason, false);
}

/* WAITING -> RUNNABLE, with the probe (if probes) and the wait counts. */
static inline __attribute__((always_inline)) void
make_runnable(rg_m *m, rg_g *g, bool probes)
{
	uint32_t st = RG_G_WAITING;
	/* Acquire: pairs with the parker's release store of WAITING. */
	if (!atomic_compare_exchange_strong_explicit(&g->status, &st, RG_G_RUNNABLE,
			memory_order_acquire, memory_order_relaxed))
		rg__throw("ready of a goroutine that is not waiting");
	RG_PROBE_IF(probes, go_ready, g->id, cur_goid());
	/* No longer waiting: the readier's P takes it off the count (the
	 * reason is still in g until it runs); a thread without a P uses
	 * the shared counter (timers on sysmon, foreign threads). */
	if (m && m->p)
		rg__uncount(&m->p->nwaiting[g->waitreason]);
	else
		atomic_fetch_add_explicit(&rg__sched.nwaiting_nop[g->waitreason], 1,
					  memory_order_relaxed);
}

void rg__ready_n(rg_g *const *gs, int n)
{
	rg_m *m = rg__getm();
	rg_p *p = m ? m->p : NULL;
	for (int i = 0; i < n; i++)
		make_runnable(m, gs[i], true);
	int local = 0;
	if (p) {
		int room = RG_WAKE_BURST - (int)rg__runqlen(p);
		local = room < 0 ? 0 : room < n ? room : n;
		for (int i = 0; i < local; i++)
			rg__runqput(p, gs[i], false);
	}
	if (local < n) {
		rg__lock(&rg__sched.lock);
		rg__globrunqputn(gs + local, n - local);
		rg__unlock(&rg__sched.lock);
	}
	wakep_local();
}

static inline __attribute__((always_inline)) void ready(rg_g *g, bool probes)
{
	rg_m *m = rg__getm();
	make_runnable(m, g, probes);
	if (m && m->p) {
		rg__runqput(m->p, g, true);
	} else {
		rg__lock(&rg__sched.lock);
		rg__globrunqput(g);
		rg__unlock(&rg__sched.lock);
	}
	wakep_local();
}

void rg__ready(rg_g *g)
{
	ready(g, true);
}

void rg__ready_quiet(rg_g *g)
{
	ready(g, false);
}

void rg_yield(void)
{
	rg_m *m = rg__getm();
	if (!m || !m->curg) {
		sched_yield();
		return;
	}
	rg_g *g = m->curg;
	RG_PROBE(go_yield, g->id);
	m->after = RG_AFTER_YIELD;
	m->after_g = g;
	switch_out(m, g, false);
	RG_PROBE(go_resume, g->id, g->m->p->id);
}

void rg__waiter_init(rg_waiter_t *w)
{
	w->g = rg__getg();
	atomic_store_explicit(&w->woken, 0, memory_order_relaxed);
}

void rg__waiter_wait(rg_waiter_t *w, rg_unlockf unlockf, void *arg,
		     rg_wait_reason_t reason)
{
	if (w->g) {
		rg__park(unlockf, arg, reason);
		return;
	}
	/* No goroutine and no runtime (before rg_init or rg_main, or after
	 * it stopped): nobody could ever wake us.  Timers say the same. */
	if (atomic_load_explicit(&rg__sched.running, memory_order_acquire) == 0)
		rg_panic("waiting (%s) needs the runtime: call rg_init or rg_main first",
			 rg__wait_reason_str(reason));
	/* A foreign thread: it counts as something that may still wake a
	 * goroutine, so the deadlock detector leaves the program alone. */
	rg__sched_ref();
	atomic_fetch_add_explicit(&rg__foreign_waiting, 1, memory_order_relaxed);
	if (unlockf && !unlockf(NULL, arg)) {
		atomic_fetch_sub_explicit(&rg__foreign_waiting, 1, memory_order_relaxed);
		rg__sched_unref();
		return;
	}
	while (atomic_load_explicit(&w->woken, memory_order_acquire) == 0)
		rg__futex_wait(&w->woken, 0, -1);
	atomic_fetch_sub_explicit(&rg__foreign_waiting, 1, memory_order_relaxed);
	rg__sched_unref();
}

void rg__waiter_wake(rg_waiter_t *w)
{
	rg_g *g = w->g;
	if (g) {
		rg__ready(g);
		return;
	}
	/* Release: what the waker wrote for the waiter is visible once the
	 * waiter sees woken == 1.  After the store the record may be gone;
	 * a wake on a dead address is harmless (waiters loop on a value). */
	atomic_store_explicit(&w->woken, 1, memory_order_release);
	rg__futex_wake(&w->woken, 1);
}

/* ---- finding work -------------------------------------------------- */

/* Runs the expired timers of every P (the caller holds a P). */
static void run_all_timers(int64_t now)
{
	for (int i = 0; i < rg__sched.nprocs; i++) {
		rg_p *pp = rg__sched.allp[i];
		int64_t t0 = atomic_load_explicit(&pp->timer0, memory_order_relaxed);
		if (t0 != 0 && t0 <= now)
			rg__timers_run(pp, now);
	}
}

static rg_g *stealwork(rg_p *p)
{
	int n = rg__sched.nprocs;
	for (int round = 0; round < 4; round++) {
		bool last = round == 3;
		uint32_t start = rg__fastrand() % (uint32_t)n;
		for (int i = 0; i < n; i++) {
			if (rg__stopping())
				return NULL;
			rg_p *v = rg__sched.allp[(start + (uint32_t)i) % (uint32_t)n];
			if (v == p)
				continue;
			/* (Counts and probes the steal itself.) */
			rg_g *g = rg__runqsteal(p, v, last);
			if (g)
				return g;
		}
	}
	return NULL;
}

/*
 * Handing work back (issue 7).  A P woke in its ring with completions
 * (rg__io_idle_wait returned and readied them onto its queue).  If a
 * lower-numbered P is running goroutines and its queue has emptied
 * since we last looked (nempty moved: it has time to spare), the
 * readied goroutines go to that P's inbox instead of running here, and
 * this P goes back to sleep.  Their next requests are then submitted
 * from that P's thread, so their completions wake it, not this one:
 * connections drift to the lowest P that keeps up, and a second P's
 * thread stays asleep unless the first falls behind (the backlog rule
 * in sysmon.c brings it back then, and it steals).  Why: on a machine
 * whose other cores run the clients, a second thread woken for every
 * few completions costs a context switch per few requests and a core
 * the clients need; measured on 2 cores, 64 connections x 64 B
 * (ringo-echo --procs 2), see the commit that brought this.
 *
 * Time to spare: the P is on g0 (between goroutines with nothing
 * queued, or asleep in its ring, where handback pokes it: one more
 * wake-up, once per connection that moves), or its queue emptied
 * between two of our looks (hb_id, hb_nempty; the first look only
 * records).  A P whose queue has not emptied since is kept out of it.
 * Only towards lower ids: two Ps handing to each other would trade
 * connections for ever; and only to a running P (an idle one has no
 * thread).  Rejected: the global queue as the hand-over (every
 * rg__ready with a non-empty global queue wakes an idle P, which takes
 * the work back).
 */
static rg_p *handback_target(rg_p *p)
{
	for (int i = 0; i < p->id; i++) {
		rg_p *q = rg__sched.allp[i];
		if (atomic_load_explicit(&q->status, memory_order_relaxed) != RG_P_RUNNING)
			continue;
		rg_m *qm = RG_LOAD_RELAXED(q->m);
		if (!qm)
			continue;
		/* On g0: between goroutines with an empty queue (a P with
		 * queued work switches G to G), or asleep in its ring. */
		bool spare = !RG_LOAD_RELAXED(qm->curg);
		uint32_t ne = atomic_load_explicit(&q->nempty, memory_order_relaxed);
		spare |= p->hb_id == i && p->hb_nempty != ne;
		p->hb_id = i;
		p->hb_nempty = ne;
		return spare ? q : NULL;
	}
	return NULL;
}

/* Hands p's queue to a lower P that has time for it; true if it did
 * (the caller then sleeps again rather than steal it back). */
static bool handback(rg_p *p)
{
	if (p->id == 0 || rg__runqempty(p))
		return false;
	rg_p *q = handback_target(p);
	if (!q)
		return false;
	rg_g *head = NULL, *tail = NULL, *g;
	while ((g = rg__runqget(p)) != NULL) {
		g->schedlink = NULL;
		if (tail)
			tail->schedlink = g;
		else
			head = g;
		tail = g;
	}
	if (!head)
		return false;
	rg__runqinject(q, head, tail);
	/* q may have given its P back since we looked: its owner checks
	 * the inbox under sched.lock before it does (findrunnable), so
	 * under the lock either it saw ours or we see it gone. */
	rg__lock(&rg__sched.lock);
	bool gone = atomic_load_explicit(&q->status, memory_order_relaxed) == RG_P_IDLE;
	rg_g *back = gone ? rg__runqinbox_take(q) : NULL;
	rg__unlock(&rg__sched.lock);
	if (gone) {
		while (back) {
			rg_g *nx = back->schedlink;
			back->schedlink = NULL;
			rg__runqput(p, back, false);
			back = nx;
		}
		return false;
	}
	atomic_fetch_add_explicit(&rg__sched.nhandback, 1, memory_order_relaxed);
	rg__io_poke_p(q);  /* asleep in its ring since: wake it */
	return true;
}

/* Finds a runnable G for m, parking the thread while there is none.
 * Returns NULL when the runtime is stopping.  On g0. */
static rg_g *findrunnable(rg_m *m)
{
	rg_g *g;
	bool handed = false;
	/* Since rg__io_peek below, p's queued requests may be waiting for
	 * the idle wait's enter: flushed before we run anything or let p go. */
	bool unflushed = false;

	for (;;) {
		/* Just handed our queue back: don't steal it again. */
		bool nosteal = handed;
		handed = false;
		if (rg__stopping())
			return NULL;
		rg__sig_mcheck(m);
		if (!m->p) {
			rg__lock(&rg__sched.lock);
			rg_p *p = rg__pidleget();
			rg__unlock(&rg__sched.lock);
			if (p)
				acquirep(m, p);
			else
				stopm(m, 0);
			continue;
		}
		rg_p *p = m->p;

		int64_t t0 = atomic_load_explicit(&p->timer0, memory_order_relaxed);
		if (t0 != 0) {
			int64_t now = rg__nanotime();
			if (t0 <= now)
				rg__timers_run(p, now);
		}
		/* The schedule that will make schedtick a multiple of
		 * RG_GLOBAL_TICK (switch_out sends it here) looks at the
		 * global queue first, so it cannot starve. */
		uint32_t tick = atomic_load_explicit(&p->schedtick, memory_order_relaxed) + 1;
		if (tick % RG_GLOBAL_TICK == 0) {
			/* Go takes one G from the global queue here.  We take
			 * what fits under half the local queue: the reap below
			 * refills the local queue at every such schedule, and
			 * one G per RG_GLOBAL_TICK would let a long global
			 * queue (connections past the local queue's size) wait
			 * for as long as completions keep coming (100 ms at
			 * 512 echo connections on one P).  Under the lock the
			 * batch must fit: runqput's overflow takes the lock. */
			rg_g *gg = NULL;
			if (atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed) > 0) {
				int room = RG_WAKE_BURST - (int)rg__runqlen(p);
				rg__lock(&rg__sched.lock);
				gg = rg__globrunqget(p, room > 1 ? room : 1);
				rg__unlock(&rg__sched.lock);
			}
			/* That schedule also reaps the P's completions, however
			 * full its queue: goroutines parked on its I/O must not
			 * wait for the queue to empty (issue 7; Go polls the
			 * network from findRunnable whatever its queue holds).
			 * Non-blocking, and a few loads when nothing is in
			 * flight; what it readies queues behind the global
			 * batch (rg__ready_n). */
			rg__io_poll(p);
			/* And it ends a runnext chain: a ping-pong pair readying
			 * each other into runnext would otherwise run forever
			 * ahead of the queue (Go ends such a chain when its
			 * inherited time slice runs out; without preemption we
			 * count schedules).  runnext goes to the tail. */
			rg_g *nx = atomic_exchange_explicit(&p->runnext, NULL, memory_order_acq_rel);
			if (nx)
				rg__runqput(p, nx, false);
			/* What other Ps handed us waits no longer either. */
			rg__runqinbox(p);
			if (gg) {
				g = gg;
				goto found;
			}
		}
		if ((g = rg__runqget(p)) != NULL)
			goto found;
		rg__tick(&p->nempty);  /* no backlog (sysmon's check) */
		/* The local queue is empty here, so a fair share of the global
		 * queue fits in it (globrunqget must not overflow under the
		 * lock). */
		if (atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed) > 0) {
			rg__lock(&rg__sched.lock);
			g = rg__globrunqget(p, 0);
			rg__unlock(&rg__sched.lock);
			if (g) {
				/* More left: an idle P could take its share. */
				if (atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed) > 0)
					rg__wakep();
				goto found;
			}
		}
		/* Completions on our ring, other Ps' timers, then their queues.
		 * What our goroutines queued on the ring is submitted by the
		 * idle wait's own enter (one system call, not two: echo at
		 * one connection sleeps once per request), or at found: if we
		 * find work first. */
		rg__io_peek(p);
		unflushed = true;
		run_all_timers(rg__nanotime());
		if ((g = rg__runqget(p)) != NULL)
			goto found;
		/* Steal, spinning, while fewer than half the busy Ps spin.  A
		 * lone P has nobody to steal from: stealwork's four rounds
		 * would only find itself (echo at one connection, one idle
		 * round per request, spent 1,684 -> 1,448 instructions per
		 * request on them). */
		int busy = rg__sched.nprocs -
			   atomic_load_explicit(&rg__sched.npidle, memory_order_relaxed);
		if (!nosteal && rg__sched.nprocs > 1 && (m->spinning ||
		    2 * atomic_load_explicit(&rg__sched.nmspinning, memory_order_relaxed) < busy)) {
			if (!m->spinning) {
				m->spinning = true;
				atomic_fetch_add_explicit(&rg__sched.nmspinning, 1,
							  memory_order_seq_cst);
			}
			if ((g = stealwork(p)) != NULL)
				goto found;
		}

		if (m->spinning) {
			/* Drop spinning, then look once more: a G readied
			 * while we were counted as spinning woke nobody
			 * (wakep saw us).  We still hold the P: on finding
			 * work, go round again. */
			m->spinning = false;
			atomic_fetch_sub_explicit(&rg__sched.nmspinning, 1, memory_order_seq_cst);
			bool work = atomic_load(&rg__sched.runqsize) > 0;
			for (int i = 0; i < rg__sched.nprocs && !work; i++)
				work = !rg__runqempty(rg__sched.allp[i]);
			if (work)
				continue;
		}
		/* Requests in flight on our ring: sleep in it, keeping the P,
		 * until a completion, a poke or the next timer. */
		/* (The backend's sleep takes m's signals: rg__sig_waitmask.) */
		if (rg__io_idle_wait(p, rg__timers_earliest())) {
			handed = handback(p);
			continue;
		}

		/* Nothing: give the P back and sleep.  (With nothing in
		 * flight nothing is queued, but a request being queued
		 * meanwhile must not stay behind on the P we let go.) */
		if (unflushed) {
			rg__io_flush(p);
			unflushed = false;
		}
		rg__lock(&rg__sched.lock);
		if (rg__stopping()) {
			rg__unlock(&rg__sched.lock);
			return NULL;
		}
		if (atomic_load_explicit(&rg__sched.runqsize, memory_order_relaxed) > 0) {
			g = rg__globrunqget(p, 0);
			rg__unlock(&rg__sched.lock);
			if (g)
				goto found;
			continue;
		}
		/* Handed work since we looked (handback checks under the
		 * lock whether we are gone). */
		if (atomic_load_explicit(&p->inbox, memory_order_relaxed)) {
			rg__unlock(&rg__sched.lock);
			continue;
		}
		releasep(m);
		rg__pidleput(p);
		rg__unlock(&rg__sched.lock);
		stopm(m, rg__timers_earliest());
		continue;
found:
		if (unflushed)
			rg__io_flush(p);
		if (m->spinning)
			resetspinning(m);
		return g;
	}
}

/* Runs g on m until it switches back to g0. */
static void execute(rg_m *m, rg_g *g)
{
	rg_p *p = m->p;
	sched_tick(p);
	rg__count(&p->nswitch);
	atomic_store_explicit(&g->status, RG_G_RUNNING, memory_order_relaxed);
	g->m = m;
	ensure_stack(p, g);
	switch_to(m, NULL, g, false);
	after_switch(m);
}

static void schedule(rg_m *m)
{
	rg_g *g;
	while ((g = findrunnable(m)) != NULL)
		execute(m, g);
}

static void *mstart(void *arg)
{
	rg_m *m = arg;
	rg__sig_thread_start(m);
	rg__setm(m);
	rg__sigstack_alloc(m);
	rg__san_thread_start(&m->g0_stack_lo, &m->g0_stack_size, &m->g0_tsan_fiber);
	if (m->nextp) {
		acquirep(m, m->nextp);
		m->nextp = NULL;
	}
	schedule(m);
	if (m->p) {
		rg__lock(&rg__sched.lock);
		rg_p *p = m->p;
		releasep(m);
		rg__pidleput(p);
		rg__unlock(&rg__sched.lock);
	}
	rg__sigstack_free(m);
	rg__setm(NULL);
	atomic_fetch_sub_explicit(&rg__sched.nmlive, 1, memory_order_release);
	rg__note_wake(&rg__sched.mexit);
	return NULL;
}

/* ---- syscalls ------------------------------------------------------ */

void rg_syscall_enter(void)
{
	rg_m *m = rg__getm();
	if (!m || !m->curg)
		return;
	rg_p *p = m->p;
	atomic_store_explicit(&m->curg->status, RG_G_SYSCALL, memory_order_relaxed);
	atomic_fetch_add_explicit(&rg__sched.nsyscall, 1, memory_order_relaxed);
	rg__tick(&p->syscalltick);
	/* Release: the P's state is consistent for whoever retakes it. */
	atomic_store_explicit(&p->status, RG_P_SYSCALL, memory_order_release);
}

void rg_syscall_exit(void)
{
	rg_m *m = rg__getm();
	if (!m || !m->curg)
		return;
	rg_g *g = m->curg;
	rg_p *p = m->p;
	uint32_t st = RG_P_SYSCALL;

	if (atomic_compare_exchange_strong_explicit(&p->status, &st, RG_P_RUNNING,
			memory_order_acquire, memory_order_relaxed)) {
		atomic_store_explicit(&g->status, RG_G_RUNNING, memory_order_relaxed);
		atomic_fetch_sub_explicit(&rg__sched.nsyscall, 1, memory_order_relaxed);
		/* Held the P HOG_NS without a schedule (sysmon asked):
		 * let the rest of its queue run. */
		if (atomic_load_explicit(&p->preempt, memory_order_relaxed)) {
			atomic_store_explicit(&p->preempt, 0, memory_order_relaxed);
			rg_yield();
		}
		return;
	}
	/* sysmon handed our P to someone else.  Take an idle one, or queue
	 * ourselves globally and let this M go idle. */
	m->p = NULL;
	rg__lock(&rg__sched.lock);
	rg_p *np = rg__stopping() ? NULL : rg__pidleget();
	rg__unlock(&rg__sched.lock);
	if (np) {
		acquirep(m, np);
		atomic_store_explicit(&g->status, RG_G_RUNNING, memory_order_relaxed);
		atomic_fetch_sub_explicit(&rg__sched.nsyscall, 1, memory_order_relaxed);
		return;
	}
	RG_STORE_RELAXED(g->waitreason, (uint32_t)RG_WAIT_SYSCALL_EXIT);
	m->after = RG_AFTER_GLOBAL;
	m->after_g = g;
	switch_to(m, g, NULL, false);
	m = rg__getm();
	g->m = m;
	RG_STORE_RELAXED(g->waitreason, (uint32_t)RG_WAIT_NONE);
	after_switch(m);
	RG_PROBE(go_resume, g->id, m->p->id);
}

/* ---- queries ------------------------------------------------------- */

void rg_ref(void)
{
	rg__sched_ref();
}

void rg_unref(void)
{
	if (atomic_fetch_sub_explicit(&rg__sched.nrefs, 1, memory_order_relaxed) <= 0)
		rg_panic("rg_unref without rg_ref");
}

int64_t rg_goid(void)
{
	rg_g *g = rg__getg();
	return g ? g->id : 0;
}

int rg_procs(void)
{
	return atomic_load(&rg__sched.running) == 1 ? rg__sched.nprocs : 0;
}

int rg_num_goroutines(void)
{
	if (atomic_load(&rg__sched.running) != 1)
		return 0;
	int64_t n = atomic_load_explicit(&rg__sched.nforeign_spawn, memory_order_relaxed);
	for (int i = 0; i < rg__sched.nprocs; i++) {
		rg_p *p = rg__sched.allp[i];
		n += atomic_load_explicit(&p->nspawn, memory_order_relaxed) -
		     atomic_load_explicit(&p->nexit, memory_order_relaxed);
	}
	return n > 0 ? (int)n : 0;
}

static void stats_fill(rg_stats_t *out)
{
	if (atomic_load(&rg__sched.running) != 1)
		return;
	out->procs = rg__sched.nprocs;
	out->goroutines = rg_num_goroutines();
	out->threads = atomic_load(&rg__sched.nthreads);
	out->spawned = atomic_load(&rg__sched.nforeign_spawn);
	out->handoffs = atomic_load(&rg__sched.nhandoff);
	out->handbacks = atomic_load(&rg__sched.nhandback);
	out->hogs = atomic_load(&rg__sched.nhogs);
	out->io_ops = atomic_load(&rg__sched.nio);
	out->global_runq = atomic_load(&rg__sched.runqsize);
	for (int i = 0; i < rg__sched.nprocs; i++) {
		rg_p *p = rg__sched.allp[i];
		out->spawned += atomic_load_explicit(&p->nspawn, memory_order_relaxed);
		out->switches += atomic_load_explicit(&p->nswitch, memory_order_relaxed);
		out->parks += atomic_load_explicit(&p->npark, memory_order_relaxed);
		out->steals += atomic_load_explicit(&p->nsteal, memory_order_relaxed);
		out->io_ops += atomic_load_explicit(&p->nio, memory_order_relaxed);
		if (i < RG_STATS_MAX_PROCS)
			out->runq[i] = rg__runqlen(p);
	}
}

int rg_stats_sized(rg_stats_t *out, size_t out_size)
{
	rg_stats_t st = {0};
	if (!out)
		return -EINVAL;
	stats_fill(&st);
	return rg__abi_copy_out(out, out_size, RG_ABI_MIN(rg_stats_t, goroutines), &st,
				sizeof(st));
}

const char *rg__wait_reason_str(int r)
{
	static const char *const names[RG_WAIT_NREASONS] = {
		[RG_WAIT_NONE] = "runnable",
		[RG_WAIT_SLEEP] = "sleep",
		[RG_WAIT_CHAN_SEND] = "chan send",
		[RG_WAIT_CHAN_RECV] = "chan receive",
		[RG_WAIT_CHAN_SEND_NIL] = "chan send (nil chan)",
		[RG_WAIT_CHAN_RECV_NIL] = "chan receive (nil chan)",
		[RG_WAIT_SELECT] = "select",
		[RG_WAIT_SELECT_NO_CASES] = "select (no cases)",
		[RG_WAIT_MUTEX] = "sync.Mutex.Lock",
		[RG_WAIT_RWMUTEX_R] = "sync.RWMutex.RLock",
		[RG_WAIT_RWMUTEX_W] = "sync.RWMutex.Lock",
		[RG_WAIT_WAITGROUP] = "sync.WaitGroup.Wait",
		[RG_WAIT_COND] = "sync.Cond.Wait",
		[RG_WAIT_ONCE] = "sync.Once.Do",
		[RG_WAIT_SEMA] = "semacquire",
		[RG_WAIT_IO] = "IO wait",
		[RG_WAIT_TIMER] = "timer",
		[RG_WAIT_SYSCALL_EXIT] = "syscall exit",
	};
	if (r < 0 || r >= RG_WAIT_NREASONS || !names[r])
		return "unknown";
	return names[r];
}
