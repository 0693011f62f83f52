/*
 * USDT probe sites (provider "ringo").
 *
 * Each site is a single nop plus a note in .note.stapsdt until a tracer
 * (the bpf tool, bpftrace, perf) attaches a uprobe to it.  We use no
 * semaphores: arguments must be cheap to compute, since they are always
 * evaluated (a register or a field load).
 *
 * Sites by layer (arguments in order; the bpf tool consumes them):
 *   scheduler: go_create(goid, fn), go_start(goid), go_end(goid),
 *              go_park(goid, reason), go_ready(goid), steal(from_p, to_p),
 *              syscall_handoff(p), hog(p, g)
 *   channels:  chan_send_block/chan_send_unblock(chan, elem_size),
 *              chan_recv_block/chan_recv_unblock(chan, elem_size),
 *              select_block(ncases), select_wake(index), chan_close(chan)
 *   sync:      mutex_wait_begin(mutex), mutex_acquire(mutex, wait_ns),
 *              ctx_cancel(ctx, err)
 *   I/O:       io_submit(opcode, fd), io_complete(opcode, res, latency_ns),
 *              io_wait_fd(fd, events) (epoll), ring_wake(ring_fd),
 *              idle_wait_begin(p, until), idle_wait_end(p)
 *
 * List them on a binary with `readelf -n build/libringo.so` or
 * `bpftrace -l 'usdt:build/libringo.so:ringo:*'`.
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
