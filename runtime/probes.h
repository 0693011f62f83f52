// SPDX-License-Identifier: MIT
/*
 * USDT probe sites (provider "ringo"), with semaphores.
 *
 * Each site is a nop plus a note in .note.stapsdt, guarded by an
 * is-enabled test: `if (ringo_<name>_semaphore) { nop }`.  The kernel
 * raises a probe's semaphore (a 16-bit counter in section .probes) while
 * a uprobe is attached to it (uprobe ref_ctr_offset, Linux 4.20), so an
 * unattached site costs one load and a not-taken branch, and its
 * arguments are not even computed.  Arguments may therefore cost a little
 * (a rg__getg(), a subtraction), but never a lock or a system call.
 *
 * RG_PROBE_LIST below is the documented list: every probe, its arguments
 * in order, and what they mean.  tests/test_probes.c checks the built
 * library and test binaries against it (every documented probe has a
 * site with as many arguments and a semaphore; no site is undocumented),
 * and tools/ringo-trace reads it for `ringo-trace list`.
 *
 * Sites by layer:
 *   scheduler: a goroutine's life is create -> start -> (park -> ready
 *              -> resume | yield -> resume)* -> end.  `p` is the id of
 *              the P the event happens on; `waker` the goroutine that
 *              readied another (0: the scheduler itself, a timer, an I/O
 *              completion, or a foreign thread).
 *   channels:  per-channel events carry the rg_chan_t pointer as its
 *              identity; chan_make's stack is the creation site.
 *              chan_send/chan_recv fire once per completed operation;
 *              one that waited fires chan_*_block before it parks and
 *              chan_send/chan_recv when it is done (the end of the
 *              wait: no separate unblock probe, which would keep
 *              values alive across the park).  select's cases are
 *              counted by select_block/select_wake only.
 *   sync:      mutex_unlock_wake fires in the unlock that wakes (or hands
 *              the mutex to) a waiter: its stack is the holder's, which
 *              Go's mutex profile charges for the contention.
 *   I/O:       io_submit/io_complete bracket one request; opcode is the
 *              io_uring opcode, or RG_PROBE_OP_EPOLL (255) for a readiness
 *              wait on the epoll backend.  latency_ns is timed only
 *              while io_complete is attached (RG_PROBE_ON: a clock read
 *              per request otherwise), so it is 0 for a request that
 *              began before the tracer attached.
 *
 * Channel operations test one gate, not each site.  Unbuffered
 * ping-pong passes 12 sites per round trip (per side: chan_send_block,
 * go_park, go_resume, chan_send, chan_recv, go_ready), two instructions
 * each: +2.8% instructions against -DRINGO_NO_PROBES.  So rg__chan_send
 * and rg__chan_recv (chan.c) are compiled twice: a quiet body with no
 * probe sites at all, which parks and readies with rg__park_quiet and
 * rg__ready_quiet (sched.c), and a probed one whose sites test their own
 * semaphores.  Each operation first tests its gate, one 8-byte load over
 * the semaphores of every probe it can pass, laid out together by
 * probes.c (the hot block, below), and takes the probed body while any is
 * nonzero.  chan_send_block shares chan_send's semaphore and
 * chan_recv_block chan_recv's, so that each gate covers four counters.
 * A goroutine that parked on the quiet path before a tracer attached
 * resumes without go_resume (the tracer never saw it park either).
 * An I/O request does the same with the I/O gate (16 bytes, two loads):
 * rg__io_uring_op (ring.c) and rg__epoll_wait_fd (epoll.c) are compiled
 * twice, and the quiet copy has none of io_submit or io_wait_fd,
 * io_complete's clock read, go_park, go_resume or io_complete; before,
 * those five tests cost echo +1.9% instructions per request.  What is
 * left on echo's path while nothing is attached: the gate, go_ready's
 * test in the reap, idle_wait_begin/end around the ring's sleep.
 * Unattached cost, measured by tests/bench/probecost.sh (make
 * bench-probes; callgrind instructions, this build against one with
 * -DRINGO_NO_PROBES): pingpong +0.4%; echo +1.4% per request with its
 * idle round, of which the tested sites are ~10 instructions (the I/O
 * gate, go_ready, idle_wait_begin/end) and the rest (~14) is how the
 * scheduler loop compiles around its cold probe blocks (mstart in
 * callgrind), not yet pinned down.  The README's tracing section has
 * the figures.
 *
 * Building without probes: -DRINGO_NO_PROBES (or a system without
 * <sys/sdt.h>) makes every RG_PROBE expand to nothing.  The old name
 * RINGO_NO_USDT is accepted as a synonym.
 *
 * List the sites of a binary with `ringo-trace list BINARY`, `readelf -n
 * build/libringo.so`, or `bpftrace -l 'usdt:build/libringo.so:ringo:*'`.
 *
 * Rejected: no semaphores (the original design: arguments always
 * computed, so a site could only pass what sat in a register); one
 * global "tracing on" flag (every site would turn on at once, and the
 * kernel would not maintain it for us on attach and detach).
 */
#ifndef RG_PROBES_H
#define RG_PROBES_H

#include <stdbool.h>

/* X(name, "arguments") for every probe, in the order of the layers. */
#define RG_PROBE_LIST(X) \
	X(go_create, "goid, fn, name") \
	X(go_start, "goid, p") \
	X(go_end, "goid, p") \
	X(go_park, "goid, reason") \
	X(go_ready, "goid, waker") \
	X(go_resume, "goid, p") \
	X(go_yield, "goid") \
	X(steal, "from_p, to_p") \
	X(syscall_handoff, "p") \
	X(hog, "p, g") \
	X(chan_make, "chan, elem_size, cap") \
	X(chan_free, "chan") \
	X(chan_send, "chan") \
	X(chan_recv, "chan") \
	X(chan_send_block, "chan") \
	X(chan_recv_block, "chan") \
	X(chan_close, "chan") \
	X(select_block, "ncases") \
	X(select_wake, "index") \
	X(mutex_wait_begin, "mutex") \
	X(mutex_acquire, "mutex, wait_ns") \
	X(mutex_unlock_wake, "mutex") \
	X(ctx_cancel, "ctx, err") \
	X(io_submit, "opcode, fd") \
	X(io_complete, "opcode, res, latency_ns") \
	X(io_wait_fd, "fd, events") \
	X(ring_wake, "ring_fd") \
	X(idle_wait_begin, "p, until") \
	X(idle_wait_end, "p")

/* io_complete's opcode for a readiness wait on the epoll backend. */
#define RG_PROBE_OP_EPOLL 255

#if defined(RINGO_NO_USDT) && !defined(RINGO_NO_PROBES)
#define RINGO_NO_PROBES 1
#endif

#if defined(RINGO_NO_PROBES) || !__has_include(<sys/sdt.h>)
#define RG_PROBES_ENABLED 0
/* Never called: it only keeps the arguments "used" for the compiler. */
static inline void rg__probe_none(int unused, ...)
{
	(void)unused;
}
#define RG_PROBE(name, ...)                                   \
	do {                                                  \
		if (0)                                        \
			rg__probe_none(0, ##__VA_ARGS__);     \
	} while (0)
#define RG_PROBE_GATE_SEND() 0
#define RG_PROBE_GATE_RECV() 0
#define RG_PROBE_GATE_IO() 0
#define RG_PROBE_ON(name) 0
#else
#define RG_PROBES_ENABLED 1
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

/* The semaphores, defined in probes.c.  volatile: the kernel writes them
 * behind the compiler's back, so each test must really load. */
#define RG_PROBE_SEM_DECL_(name, args) \
	extern volatile unsigned short ringo_##name##_semaphore \
		__attribute__((visibility("hidden")));
RG_PROBE_LIST(RG_PROBE_SEM_DECL_)

#define RG_PROBE_N_(_0, _1, _2, _3, _4, _5, _6, N, ...) N
#define RG_PROBE_CAT_(a, b) a##b
#define RG_PROBE_SEL_(n) RG_PROBE_CAT_(STAP_PROBE, n)
#define RG_PROBE_FIRE_(name, ...) \
	RG_PROBE_SEL_(RG_PROBE_N_(_0, ##__VA_ARGS__, 6, 5, 4, 3, 2, 1, ))(ringo, name, ##__VA_ARGS__)
/* RG_PROBE(name, args...): up to 6 arguments, evaluated only while a
 * tracer is attached to the probe.
 * x86-64: the test is one `cmpw $0, sem(%rip)` and a `jne` to a cold
 * block (asm goto); a C test of a volatile short compiles to three
 * instructions. */
#if defined(__x86_64__)
#define RG_PROBE(name, ...)                                                  \
	do {                                                                 \
		__label__ rg_probe_on_, rg_probe_off_;                       \
		__asm__ goto("cmpw $0, %0\n\tjne %l1"                        \
			     : : "m"(ringo_##name##_semaphore) : "cc"         \
			     : rg_probe_on_);                                \
		goto rg_probe_off_;                                          \
	rg_probe_on_: __attribute__((cold));                                 \
		RG_PROBE_FIRE_(name, ##__VA_ARGS__);                         \
	rg_probe_off_:;                                                      \
	} while (0)
#else
#define RG_PROBE(name, ...)                                                  \
	do {                                                                 \
		if (__builtin_expect(ringo_##name##_semaphore != 0, 0))      \
			RG_PROBE_FIRE_(name, ##__VA_ARGS__);                 \
	} while (0)
#endif

/* RG_PROBE_ON(name): whether a tracer is attached to the probe now,
 * for work that only its arguments need (a clock read before the event
 * it times).  The probe may be attached in between: its RG_PROBE then
 * fires with what was not computed, which the site must allow for. */
#define RG_PROBE_ON(name) __builtin_expect(ringo_##name##_semaphore != 0, 0)

/* The hot block (probes.c): eight 16-bit semaphores, 16 bytes aligned
 * to 16, in this order:
 *
 *   chan_send go_park go_resume go_ready chan_recv io_submit io_complete io_wait_fd
 *
 * chan_send_block shares chan_send's, chan_recv_block chan_recv's.  The
 * send gate is the 8 bytes at chan_send's (chan_send, go_park, go_resume,
 * go_ready), the receive gate the 8 bytes at go_park's (go_park,
 * go_resume, go_ready, chan_recv), and the I/O gate all 16 (an I/O
 * request passes io_submit or io_wait_fd, go_park, go_resume and
 * io_complete; its gate also opens for the channel probes, which costs
 * only while they are attached). */
extern volatile const unsigned long long rg__probe_hot[2] __attribute__((visibility("hidden")));
#if defined(__x86_64__)
/* One `cmpq $0, sem(%rip)` and a `jne`: nonzero while any probe of the
 * gate is attached. */
#define RG_PROBE_GATE_(first)                                                \
	__extension__({                                                      \
		__label__ rg_gate_on_, rg_gate_out_;                         \
		bool rg_gate_;                                               \
		__asm__ goto("cmpq $0, %0\n\tjne %l1"                       \
			     : : "m"(ringo_##first##_semaphore) : "cc"        \
			     : rg_gate_on_);                                 \
		rg_gate_ = false;                                            \
		goto rg_gate_out_;                                           \
	rg_gate_on_: __attribute__((cold));                                  \
		rg_gate_ = true;                                             \
	rg_gate_out_:                                                        \
		rg_gate_;                                                    \
	})
#define RG_PROBE_GATE_SEND() RG_PROBE_GATE_(chan_send)
#define RG_PROBE_GATE_RECV() RG_PROBE_GATE_(go_park)
#else
#define RG_PROBE_GATE_SEND()                                                 \
	__builtin_expect((ringo_chan_send_semaphore | ringo_go_park_semaphore |     \
			  ringo_go_resume_semaphore | ringo_go_ready_semaphore) != 0, 0)
#define RG_PROBE_GATE_RECV()                                                 \
	__builtin_expect((ringo_go_park_semaphore | ringo_go_resume_semaphore |     \
			  ringo_go_ready_semaphore | ringo_chan_recv_semaphore) != 0, 0)
#endif
/* Two loads, an or and a branch. */
#define RG_PROBE_GATE_IO() __builtin_expect((rg__probe_hot[0] | rg__probe_hot[1]) != 0, 0)
#endif

/* RG_PROBE_IF(on, name, args...): RG_PROBE where `on` holds; a site of a
 * path that a gate (above) chose, compiled twice: with `on` a constant
 * false the site and its test are gone. */
#define RG_PROBE_IF(on, name, ...)                                           \
	do {                                                                 \
		if (on)                                                      \
			RG_PROBE(name, ##__VA_ARGS__);                       \
	} while (0)

#endif
