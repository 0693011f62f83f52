// SPDX-License-Identifier: MIT
/*
 * trace.c — the descriptor through which ringo-trace reads a live
 * process's counters (trace_abi.h says what it holds and why).
 *
 * The counters themselves live where their writers are: per P (rt.h:
 * nspawn ... nwaiting, owner-written with plain relaxed stores, so no
 * cache line moves between threads on a hot path) and a few in rg__sched
 * for events without a P.  This file only publishes where they are.
 */
#include "rt.h"

#include <stddef.h>

#include "trace_abi.h"

#define ADDR(x) ((uint64_t)(uintptr_t)&(x))

static const char *reason_names[RG_WAIT_NREASONS];

__attribute__((section(".ringo_trace"), used, visibility("hidden")))
struct rg__trace_desc rg__trace_desc = {
	.magic = RG_TRACE_MAGIC,
	.version = RG_TRACE_VERSION,
	.size = sizeof(struct rg__trace_desc),
	.sched_running = ADDR(rg__sched.running),
	.sched_nprocs = ADDR(rg__sched.nprocs),
	.sched_allp = ADDR(rg__sched.allp),
	.sched_nforeign_spawn = ADDR(rg__sched.nforeign_spawn),
	.sched_nsyscall = ADDR(rg__sched.nsyscall),
	.sched_runqsize = ADDR(rg__sched.runqsize),
	.sched_nthreads = ADDR(rg__sched.nthreads),
	.sched_nio = ADDR(rg__sched.nio),
	.reason_names = ADDR(reason_names),
	.runq_size = RG_RUNQ_SIZE,
	.nreasons = RG_WAIT_NREASONS,
	.p_id = offsetof(rg_p, id),
	.p_status = offsetof(rg_p, status),
	.p_m = offsetof(rg_p, m),
	.p_runqhead = offsetof(rg_p, runqhead),
	.p_runqtail = offsetof(rg_p, runqtail),
	.p_runnext = offsetof(rg_p, runnext),
	.p_nspawn = offsetof(rg_p, nspawn),
	.p_nexit = offsetof(rg_p, nexit),
	.p_nswitch = offsetof(rg_p, nswitch),
	.p_npark = offsetof(rg_p, npark),
	.p_nsteal = offsetof(rg_p, nsteal),
	.p_nchanop = offsetof(rg_p, nchanop),
	.p_nmutexwait = offsetof(rg_p, nmutexwait),
	.p_nio = offsetof(rg_p, nio),
	.p_nwaiting = offsetof(rg_p, nwaiting),
	.m_curg = offsetof(rg_m, curg),
	.m_p = offsetof(rg_m, p),
	.m_id = offsetof(rg_m, id),
	.g_id = offsetof(rg_g, id),
	.g_status = offsetof(rg_g, status),
	.g_waitreason = offsetof(rg_g, waitreason),
	.g_fn = offsetof(rg_g, fn),
	.g_name = offsetof(rg_g, name),
	.g_name_len = sizeof(((rg_g *)0)->name),
	.sched_nwaiting_nop = ADDR(rg__sched.nwaiting_nop),
};

/* What only the loaded process knows: the names' addresses and where the
 * thread-local rg__tls_m sits relative to the thread pointer (initial-
 * exec TLS: the same offset on every thread).  Before main, once. */
__attribute__((constructor)) static void trace_desc_init(void)
{
	for (int i = 0; i < RG_WAIT_NREASONS; i++)
		reason_names[i] = rg__wait_reason_str(i);
	rg__trace_desc.tls_m_offset =
		(int64_t)((char *)&rg__tls_m - (char *)__builtin_thread_pointer());
}

void rg__trace_keep(void)
{
	/* Nothing to do at run time: the call is the reference. */
	__asm__ __volatile__("" ::"r"(&rg__trace_desc));
}
