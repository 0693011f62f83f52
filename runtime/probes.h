/*
 * USDT probe sites (provider "ringo").
 *
 * Each site is a single nop plus a note in .note.stapsdt until a tracer
 * (the bpf tool, bpftrace, perf) attaches a uprobe to it.  We use no
 * semaphores: arguments must be cheap to compute, since they are always
 * evaluated (a register or a field load).
 *
 * Sites by layer (see Kbuild-notes.md and bpf/ for consumers):
 *   scheduler: go_create(goid, fn), go_start(goid), go_end(goid),
 *              go_park(goid, reason), go_ready(goid), steal(from, to, n),
 *              syscall_handoff(p), hog(goid, p)
 *   channels:  chan_send_block/unblock, chan_recv_block/unblock,
 *              select_block/wake, chan_close
 *   sync:      mutex_wait_begin, mutex_acquire, ctx_cancel
 */
#ifndef RG_PROBES_H
#define RG_PROBES_H

#if defined(RINGO_NO_USDT) || !__has_include(<sys/sdt.h>)
#define RG_PROBE(name, ...) ((void)0)
#else
#include <sys/sdt.h>
#define RG_PROBE_N_(_0, _1, _2, _3, _4, _5, _6, N, ...) N
#define RG_PROBE_CAT_(a, b) a##b
#define RG_PROBE_SEL_(n) RG_PROBE_CAT_(STAP_PROBE, n)
/* RG_PROBE(name, args...): up to 6 arguments. */
#define RG_PROBE(name, ...) \
	RG_PROBE_SEL_(RG_PROBE_N_(_0, ##__VA_ARGS__, 6, 5, 4, 3, 2, 1, ))(ringo, name, ##__VA_ARGS__)
#endif

#endif
