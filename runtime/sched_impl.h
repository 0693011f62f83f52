// SPDX-License-Identifier: MIT
/*
 * sched_impl.h — what the scheduler's three files share and nothing else
 * may call:
 *   sched.c   the scheduling loop: Gs on Ps on Ms, idle lists, spinning,
 *             switches, park/ready, syscalls;
 *   sysmon.c  the monitor thread: hands off Ps stuck in syscalls, moves
 *             the work queued behind a hog, scavenges stacks;
 *   start.c   rg_main, rg_init/rg_shutdown: building the Ps, starting the
 *             backend and sysmon, stopping the Ms, teardown.
 * The split follows Go's proc.go (schedule), proc.go's sysmon/retake and
 * proc.go's schedinit/main; the data they share is rg__sched (rt.h).
 */
#ifndef RG_SCHED_IMPL_H
#define RG_SCHED_IMPL_H

#include "rt.h"

static inline bool rg__stopping(void)
{
	return atomic_load_explicit(&rg__sched.stopping, memory_order_acquire) != 0;
}

/* Idle P and M lists; sched.lock held. */
void rg__pidleput(rg_p *p) RG_HIDDEN;
rg_p *rg__pidleget(void) RG_HIDDEN;
/* Wakes every idle M (shutdown); sched.lock held. */
void rg__wake_all_idle(void) RG_HIDDEN;

/* Runs p (NULL: any idle P) on an idle or new M, spinning or not. */
void rg__startm(rg_p *p, bool spinning) RG_HIDDEN;

/* Sets the calling thread's M (sysmon has an M record of its own). */
void rg__setm(rg_m *m) RG_HIDDEN;

/* The main goroutine's record: rg_main sleeps on done until the main
 * goroutine returns result (or calls rg_exit). */
typedef struct rg__main_arg {
	int (*fn)(void *);
	void *arg;
	rg__note_t done;
	int result;
} rg__main_arg_t;

/* Starts the main goroutine for ma (0 or -errno); NULL forgets the last
 * one once rg_main has stopped the runtime. */
int rg__go_main(rg__main_arg_t *ma) RG_HIDDEN;

/* sysmon's thread body (sysmon.c). */
void *rg__sysmon(void *arg) RG_HIDDEN;

#endif
