// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * common.bpf.h — helpers every ringo BPF program includes: the layout
 * constants the tool fills in before loading (from the target's
 * rg__trace_desc, trace_abi.h), the current goroutine of the calling
 * thread, and log2 buckets.
 */
#ifndef RINGO_COMMON_BPF_H
#define RINGO_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "ringo_trace.h"

/* The target's layout, written by ringo-trace through the skeleton's
 * mmap'ed .bss once it knows it: a -c target publishes its TLS offset
 * only when its constructors have run, after we attached.  Until
 * layout_ready is set no goroutine is looked up. */
volatile __u32 layout_ready;
volatile __s64 tls_m_offset;
volatile __u32 off_m_curg;
volatile __u32 off_g_id;
volatile __u32 off_g_name;
volatile __u32 off_g_fn;
volatile __u32 target_tgid;

static __always_inline bool rt_is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

/* The calling thread's M (0: not an M) and goroutine (0: on g0). */
static __always_inline __u64 rt_current_m(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 fsbase = BPF_CORE_READ(t, thread.fsbase);
	__u64 m = 0;
	if (!fsbase || !layout_ready)
		return 0;
	if (bpf_probe_read_user(&m, sizeof(m), (void *)(fsbase + tls_m_offset)))
		return 0;
	return m;
}

static __always_inline __u64 rt_m_curg(__u64 m)
{
	__u64 g = 0;
	if (m)
		bpf_probe_read_user(&g, sizeof(g), (void *)(m + off_m_curg));
	return g;
}

static __always_inline __s64 rt_g_id(__u64 g)
{
	__s64 id = 0;
	bpf_probe_read_user(&id, sizeof(id), (void *)(g + off_g_id));
	return id;
}

/* The current goroutine's id, RT_GOID_G0 on g0, RT_GOID_NOM off any M. */
static __always_inline __s64 rt_current_goid(void)
{
	__u64 m = rt_current_m();
	if (!m)
		return RT_GOID_NOM;
	__u64 g = rt_m_curg(m);
	return g ? rt_g_id(g) : RT_GOID_G0;
}

static __always_inline __u32 rt_log2(__u64 v)
{
	__u32 r = 0;
#pragma unroll
	for (int i = 0; i < 6; i++) {
		__u32 s = 32 >> i;
		if (v >> s) {
			v >>= s;
			r += s;
		}
	}
	return r;
}

/* log2 bucket of a duration in microseconds (0: < 1 us). */
static __always_inline __u32 rt_slot_us(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 s = us ? rt_log2(us) + 1 : 0;
	return s < RT_HIST_SLOTS ? s : RT_HIST_SLOTS - 1;
}

#endif
