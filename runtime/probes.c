// SPDX-License-Identifier: MIT
/*
 * probes.c — the USDT semaphores, one per probe of RG_PROBE_LIST
 * (probes.h).
 *
 * Each is a 16-bit counter in section .probes, the section systemtap's
 * and libbpf's tools expect; the note of every site of a probe points at
 * its semaphore.  The kernel adds one while a uprobe with that
 * ref_ctr_offset is attached in this process and subtracts it on detach;
 * no code of ours ever writes them.  Hidden: they are not API, and the
 * tools find them through the notes, not the dynamic symbol table.
 */
#include "probes.h"

#if RG_PROBES_ENABLED
#define RG_PROBE_SEM_DEF_(name, args) \
	volatile unsigned short ringo_##name##_semaphore \
		__attribute__((section(".probes"), used));
RG_PROBE_LIST(RG_PROBE_SEM_DEF_)
#else
typedef int rg__probes_disabled; /* not an empty translation unit */
#endif
