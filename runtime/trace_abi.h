// SPDX-License-Identifier: MIT
/*
 * trace_abi.h — what the runtime tells an outside reader (ringo-trace
 * top, profile) about where its counters and structures are.
 *
 * The runtime keeps one rg__trace_desc (trace.c): a magic, a version, the
 * addresses of the scheduler's globals and the offsets of the fields of
 * rg_p, rg_m and rg_g that a reader needs.  A reader finds the
 * descriptor through its symbol (`rg__trace_desc`, in .symtab) or, in a
 * stripped binary, through its section (`.ringo_trace`), adds the load
 * bias of the object that holds it, and then follows the addresses it
 * holds (already relocated: the descriptor is read from the live
 * process's memory, with process_vm_readv or bpf_probe_read_user).
 *
 * Nothing here is written after start: the reader needs no
 * synchronisation with the runtime for the descriptor itself; the
 * counters it points at are relaxed atomics that a reader sees as some
 * recent value (rt.h: rg__count).
 *
 * Compatibility: a reader refuses a descriptor whose magic differs or
 * whose version is newer than it knows; fields are only ever appended
 * (size says how many a runtime has), so a newer runtime stays readable
 * by an older tool of the same version.
 *
 * Rejected: a reader that parses DWARF for struct layouts (needs -g and
 * a DWARF reader in every tool, and fails on stripped binaries); a shared
 * memory file published by the runtime (a file per process, created
 * whether or not anyone traces, and cleaned up after crashes); counting
 * through uprobes (0.6 us per hit: pingpong 20 times slower, see
 * issue 11).
 */
#ifndef RG_TRACE_ABI_H
#define RG_TRACE_ABI_H

#include <stdint.h>

#define RG_TRACE_MAGIC "RINGOTR"   /* 8 bytes with its NUL */
#define RG_TRACE_VERSION 1

struct rg__trace_desc {
	char magic[8];
	uint32_t version;
	uint32_t size;                  /* sizeof the runtime's descriptor */

	/* Addresses in the traced process. */
	uint64_t sched_running;         /* _Atomic int: 1 while running */
	uint64_t sched_nprocs;          /* int */
	uint64_t sched_allp;            /* rg_p ** */
	uint64_t sched_nforeign_spawn;  /* _Atomic int64_t */
	uint64_t sched_nsyscall;        /* _Atomic int32_t */
	uint64_t sched_runqsize;        /* _Atomic int32_t: global queue */
	uint64_t sched_nthreads;        /* _Atomic int64_t */
	uint64_t sched_nio;             /* _Atomic int64_t: I/O not on a P */
	uint64_t reason_names;          /* const char *[nreasons] */
	int64_t tls_m_offset;           /* &rg__tls_m - thread pointer */

	uint32_t runq_size;             /* slots in a P's local queue */
	uint32_t nreasons;              /* entries of p.nwaiting */

	/* Offsets in struct rg_p. */
	uint32_t p_id, p_status, p_m, p_runqhead, p_runqtail, p_runnext;
	uint32_t p_nspawn, p_nexit, p_nswitch, p_npark, p_nsteal;
	uint32_t p_nchanop, p_nmutexwait, p_nio, p_nwaiting;
	/* Offsets in struct rg_m. */
	uint32_t m_curg, m_p, m_id;
	/* Offsets in struct rg_g. */
	uint32_t g_id, g_status, g_waitreason, g_fn, g_name, g_name_len;

	/* Appended (a reader checks size before using it). */
	uint64_t sched_nwaiting_nop;    /* _Atomic int64_t [nreasons] */
};

#endif
