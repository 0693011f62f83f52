// SPDX-License-Identifier: MIT
/*
 * start.c — bringing the runtime up and down: rg_main (runs fn as the
 * main goroutine and returns its result), rg_init/rg_shutdown (the
 * embedded form, for a host program that keeps its own main thread), the
 * RINGO_PROCS / RINGO_STACK_SIZE settings, and teardown.
 *
 * Start: the Ps, the stack allocator, the I/O backend (netpoll.h), the
 * runtime's signal handlers, then sysmon.  Signals (signal.c): the
 * starting thread's mask is what new Ms start from; sysmon and rg_main's
 * waiting thread block every notifiable signal; at stop, after the Ms
 * are gone, every registration ends and the dispositions come back.  Stop: every M is woken and
 * leaves at its next scheduling point; one that runs a goroutine that
 * never yields, or sits in a syscall that never returns, cannot be
 * stopped, and after a 500 ms grace the runtime's memory is left to it
 * (leaked, never freed under its feet).
 */
#include "rt.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netpoll.h"
#include "rt_fault.h"
#include "runq.h"
#include "sched_impl.h"

static int env_int(const char *name, long dflt)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return (int)dflt;
	char *end;
	long v = strtol(s, &end, 10);
	return (*end || v <= 0 || v > INT_MAX) ? (int)dflt : (int)v;
}

static size_t env_size(const char *name, size_t dflt)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return dflt;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	int shift = 0;
	if (*end == 'k' || *end == 'K')
		shift = 10, end++;
	else if (*end == 'm' || *end == 'M')
		shift = 20, end++;
	if (*end || v == 0)
		return dflt;
	/* Too large (strtoull's ERANGE, or the suffix overflows): SIZE_MAX,
	 * which the stack setup refuses with -ENOMEM, never a wrap into a
	 * small size. */
	if (v > (unsigned long long)(SIZE_MAX >> shift))
		return SIZE_MAX;
	return (size_t)v << shift;
}

static void teardown(void)
{
	rg__timers_teardown();
	for (int i = 0; i < rg__sched.nprocs; i++)
		free(rg__sched.allp[i]);
	/* Before the stacks go: requests of goroutines abandoned in I/O
	 * may point into them (netpoll.h). */
	bool io_quiet = rg__io_stop();
	rg__sig_teardown();
	free(rg__sched.allp);
	rg__sched.allp = NULL;
	rg__sched.nprocs = 0;
	rg__globrunqfree();
	if (io_quiet)
		rg__stack_teardown(); /* else leaked: the kernel may still write there */
	rg_m *m = rg__sched.allm;
	while (m) {
		rg_m *next = m->alllink;
		free(m);
		m = next;
	}
}

/* One runtime at a time: taken by the start that wins it, given back
 * when its stop has finished (teardown done, or the runtime left to
 * Ms that would not exit).  Outside rg__sched, which each start clears
 * with memset.  Rejected: the CAS on rg__sched.running this was; the
 * memset cleared the flag it had just set, and a second start that
 * came in then (or while a stop was tearing down, after running had
 * gone back to 0) ran beside the first over the same state: two
 * threads looping rg_init/rg_shutdown crashed within a few hundred
 * starts (test_ring's start_race). */
static _Atomic uint32_t rt_owned;

static int rt_start(const rg_config_t *cfg, size_t cfg_size, bool embedded)
{
	uint32_t expected = 0;
	if (!atomic_compare_exchange_strong(&rt_owned, &expected, 1))
		return -EBUSY;

	rg__fault_env();
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int procs = cfg && RG_ABI_HAS(cfg, cfg_size, procs) && cfg->procs > 0
			    ? cfg->procs
			    : env_int("RINGO_PROCS", ncpu > 0 ? ncpu : 1);
	if (procs > RG_MAX_PROCS)
		procs = RG_MAX_PROCS;
	size_t ssize = cfg && RG_ABI_HAS(cfg, cfg_size, stack_size) && cfg->stack_size
			       ? cfg->stack_size
			       : env_size("RINGO_STACK_SIZE", 256 * 1024);

	memset(&rg__sched, 0, sizeof(rg__sched));
	atomic_store(&rg__sched.running, 2);
	atomic_fetch_add(&rg__run_gen, 1);
	atomic_store(&rg__sched.sleep_until, INT64_MAX);
	rg__sched.embedded = embedded;
	rg__sched.stack_size = ssize;
	rg__sig_runtime_start();
	rg__futex_setup();
	int r = -ENOMEM;
	rg__sched.allp = calloc((size_t)procs, sizeof(rg_p *));
	if (!rg__sched.allp)
		goto fail;
	rg__sched.nprocs = procs;
	for (int i = procs - 1; i >= 0; i--) {
		rg_p *p = aligned_alloc(RG_CACHELINE, sizeof(rg_p));
		if (!p)
			goto fail;
		memset(p, 0, sizeof(*p));
		p->id = i;
		p->hb_id = -1;
		p->rand = (uint64_t)rg__nanotime() * 2654435761u + (uint64_t)i;
		rg__sched.allp[i] = p;
		rg__pidleput(p);
	}
	r = rg__stack_setup(ssize);
	if (r < 0)
		goto fail;
	r = rg__io_start();
	if (r < 0) {
		rg__stack_teardown();
		goto fail;
	}
	rg__signals_install();
	rg__trace_keep();
	atomic_store_explicit(&rg__sched.coarse_now, rg__nanotime(), memory_order_relaxed);
	atomic_store_explicit(&rg__sched.running, 1, memory_order_release);
	/* sysmon never takes a signal: it blocks every notifiable one. */
	sigset_t oldmask;
	rg__sig_block_notifiable(&oldmask);
	if (pthread_create(&rg__sched.sysmon, NULL, rg__sysmon, NULL) == 0)
		rg__sched.sysmon_started = true;
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	return 0;
fail:
	if (rg__sched.allp) {
		for (int i = 0; i < procs; i++)
			free(rg__sched.allp[i]);
		free(rg__sched.allp);
	}
	atomic_store(&rg__sched.running, 0);
	atomic_store(&rt_owned, 0);
	return r;
}

static void rt_stop(void)
{
	atomic_store_explicit(&rg__sched.stopping, 1, memory_order_release);
	rg__lock(&rg__sched.lock);
	rg__wake_all_idle();
	rg__unlock(&rg__sched.lock);
	rg__io_poke_before(0);
	rg__note_wake(&rg__sched.sysmon_note);
	if (rg__sched.sysmon_started)
		pthread_join(rg__sched.sysmon, NULL);

	/* Ms exit at their next scheduling point.  One that runs a
	 * goroutine which never yields, or sits in a syscall that never
	 * returns, cannot be stopped: after the grace period we leave the
	 * runtime's memory to it (leaked, never freed under its feet). */
	int64_t deadline = rg__nanotime() + 500 * RG_MILLISECOND;
	while (atomic_load_explicit(&rg__sched.nmlive, memory_order_acquire) > 0) {
		if (!rg__note_sleep(&rg__sched.mexit, deadline) && rg__nanotime() >= deadline)
			break;
		rg__lock(&rg__sched.lock);
		rg__wake_all_idle();
		rg__unlock(&rg__sched.lock);
		rg__io_poke_before(0);
	}
	bool all_exited = atomic_load(&rg__sched.nmlive) == 0;
	for (rg_m *m = rg__sched.allm; m; m = m->alllink) {
		if (!m->thread)
			continue;
		if (all_exited)
			pthread_join(m->thread, NULL);
		else
			pthread_detach(m->thread);
	}
	rg__sig_runtime_stop();
	rg__signals_restore();
	/* Not running from here on: calls that arrive now fail cleanly
	 * (-EINVAL, or a panic for deadlines) instead of touching what
	 * teardown frees. */
	atomic_store_explicit(&rg__sched.running, 0, memory_order_release);
	if (all_exited)
		teardown();
	atomic_store_explicit(&rt_owned, 0, memory_order_release);
	rg__futex_wake(&rt_owned, INT_MAX);  /* rg_shutdowns that lost the claim */
}

int rg_init_sized(const rg_config_t *cfg, size_t cfg_size)
{
	if (rg__getm())
		return -EBUSY;
	int r = cfg ? rg__abi_check_in(cfg, cfg_size, RG_ABI_MIN(rg_config_t, procs),
				       sizeof(*cfg))
		    : 0;
	return r < 0 ? r : rt_start(cfg, cfg_size, true);
}

void rg_shutdown(void)
{
	rg_m *m = rg__getm();
	if (m)
		rg_panic("rg_shutdown called from a goroutine");
	if (atomic_load(&rg__sched.running) != 1 || !rg__sched.embedded)
		return;
	/* One stop per runtime.  A thread that loses the claim returns once
	 * the winner's stop has finished (or a new runtime has started),
	 * so that after any rg_shutdown the runtime it saw is gone. */
	uint32_t gen = atomic_load(&rg__run_gen);
	if (atomic_exchange(&rg__sched.stop_claimed, 1)) {
		while (atomic_load(&rt_owned) && atomic_load(&rg__run_gen) == gen)
			rg__futex_wait(&rt_owned, 1, -1);
		return;
	}
	rt_stop();
}

int rg_main(int (*fn)(void *), void *arg)
{
	if (!fn)
		return -EINVAL;
	if (rg__getm())
		return -EBUSY;
	int r = rt_start(NULL, 0, false);
	if (r < 0)
		return r;
	/* This thread only waits: it blocks every notifiable signal while
	 * the runtime runs, so that one ringo manages is read from the
	 * signalfd and one it does not goes to an M (signals.h). */
	sigset_t oldmask;
	rg__sig_block_notifiable(&oldmask);
	rg__main_arg_t ma = {.fn = fn, .arg = arg};
	r = rg__go_main(&ma);
	if (r < 0) {
		rt_stop();
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		return r;
	}
	rg__note_sleep(&ma.done, -1);
	rt_stop();
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	rg__go_main(NULL);
	return ma.result;
}

