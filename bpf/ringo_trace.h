// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * ringo_trace.h — what the BPF programs (bpf/NAME.bpf.c) and ringo-trace
 * (tools/ringo-trace) share: map keys and values, ring-buffer events and
 * limits.  Plain C types of fixed width only: it is compiled for the BPF
 * target and for the host.
 *
 * Design (libbpf-tools'): one small BPF program per view, aggregating in
 * the kernel where it can (histograms in per-CPU arrays, stacks in a
 * stack map, sums per key in hashes) so that user space reads a few maps
 * at the end; only `record` streams events, through one ring buffer.
 * Goroutine identity in a program that has no goid argument (perf
 * samples, channel and I/O events) comes from the thread: the thread
 * pointer (task->thread.fsbase) plus the runtime's TLS offset of its M
 * (trace_abi.h), then m->curg and g->id, read with bpf_probe_read_user.
 */
#ifndef RINGO_TRACE_H
#define RINGO_TRACE_H

#define RT_NAME_LEN 32       /* rg_g.name */
#define RT_HIST_SLOTS 32     /* log2 buckets */
#define RT_MAX_OPS 256       /* io_uring opcodes, RG_PROBE_OP_EPOLL = 255 */
#define RT_MAX_REASONS 32    /* wait reasons (rt.h has ~20) */
#define RT_STACKS 16384      /* stack map entries */

/* Pseudo goroutine ids for samples that are not on a goroutine. */
#define RT_GOID_G0 0         /* an M on its scheduler stack (g0) */
#define RT_GOID_NOM (-1)     /* a thread that is no M (rg_main's, sysmon) */

/* runqlat */
struct rt_hist {
	unsigned long long slots[RT_HIST_SLOTS];
};

/* block: one entry per (reason, parking stack) */
struct rt_block_key {
	unsigned int reason;
	int stackid;
};
struct rt_sum {
	unsigned long long count;
	unsigned long long total_ns;
	unsigned long long max_ns;
};

/* mutex: one entry per (lock, waiter stack, stack of the unlock that
 * woke it) */
struct rt_mutex_key {
	unsigned long long mutex;
	int wstack;
	int hstack;
};

/* chan: per channel (its address) */
struct rt_chan_info {
	int make_stack;          /* -1: made before we attached */
	unsigned int closed;
	unsigned long long elem_size;
	unsigned long long cap;
};
struct rt_chan_stats {
	unsigned long long sends, recvs;
	unsigned long long send_blocks, recv_blocks;
	unsigned long long send_block_ns, recv_block_ns;
};

/* io: per opcode */
struct rt_io_op {
	unsigned long long submitted, completed, errors;
	unsigned long long slots[RT_HIST_SLOTS];   /* latency, log2 us */
};
struct rt_io_err_key {
	unsigned int op;
	int err;                 /* positive errno */
};

/* profile */
struct rt_prof_key {
	long long goid;
	int ustack;
	int kstack;
};
struct rt_gname {
	char name[RT_NAME_LEN];
	unsigned long long fn;
};

/* record: the ring buffer's events */
enum rt_ev_type {
	RT_EV_CREATE = 1, /* goid, a1 = fn, a2 = creator goid, name */
	RT_EV_START,      /* goid, a1 = P */
	RT_EV_END,        /* goid, a1 = P */
	RT_EV_PARK,       /* goid, a1 = reason */
	RT_EV_READY,      /* goid, a1 = waker goid */
	RT_EV_RESUME,     /* goid, a1 = P */
	RT_EV_YIELD,      /* goid */
	RT_EV_NAME,       /* goid, a1 = fn, name: first sight of a goroutine */
	RT_EV_IO_SUBMIT,  /* goid, a1 = opcode, a2 = fd */
	RT_EV_IO_DONE,    /* goid, a1 = opcode, a2 = res */
	RT_EV_STEAL,      /* a1 = from P, a2 = to P */
};
struct rt_event {
	unsigned long long ts;   /* CLOCK_MONOTONIC ns */
	long long goid;
	long long a1, a2;
	unsigned int type;
	unsigned int tid;
	char name[RT_NAME_LEN];
};

#endif
