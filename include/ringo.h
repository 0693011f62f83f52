// SPDX-License-Identifier: MIT
/*
 * ringo — Go's concurrency model for C on Linux.
 *
 * The only header users include (it includes its parts in ringo/).
 * Link with $(pkg-config --libs ringo), or -lringo -luring -lpthread.
 *
 * Errors, one rule for every call:
 *   - a call that returns int or ssize_t returns >= 0 on success and
 *     -errno on failure (-EINVAL, -ENOMEM, -ECANCELED, ...), never -1
 *     with errno (errno is left as the syscalls on the way left it: do
 *     not read it after such a call); rg_main passes on the result of
 *     the program's main function;
 *   - a constructor that returns a pointer (rg_chan_make,
 *     rg_ctx_with_*, ...) returns NULL and sets errno (ENOMEM, EINVAL)
 *     when it fails;
 *   - a bool says yes or no; a void call cannot fail (or the failure is
 *     a panic, below);
 *   - a call that writes everything it is given (rg_write, rg_send,
 *     rg_writev, ...) and is stopped by an error after some bytes went
 *     out returns that count, short of n, as Go's Write returns n with
 *     its error: compare the result with n; the error itself is what
 *     the same call on the rest returns (see ringo/io.h);
 *   - programmer errors (send on a closed channel, unlocking an unlocked
 *     mutex, ...) are panics: a Go-style report on stderr, then abort();
 *   - a fault (a NULL handle passed to a call that does not check, a
 *     wild pointer) gets Go's report too ("invalid memory address or nil
 *     pointer dereference", or "unexpected fault address", with the
 *     goroutine's stack), then the signal's default action (a core), unless
 *     the program installed its own SIGSEGV/SIGBUS handler before the
 *     runtime started: that one is called instead.
 *
 * Other conventions:
 *   - time is int64_t nanoseconds on CLOCK_MONOTONIC;
 *   - zero-initialised sync values are ready to use, as in Go;
 *   - a call that only reads an object takes it const;
 *   - "goroutine" marks calls that must run on a goroutine, "any thread"
 *     calls that foreign OS threads may make too (after rg_init/rg_main);
 *   - structs that may grow in later releases (rg_config_t, rg_stats_t)
 *     reach the library through inline wrappers (rg_init, rg_stats) that
 *     pass the sizeof the caller was compiled with; the library reads and
 *     writes only as far as that size says, so a program built against
 *     an older (or newer) ringo.h keeps working, and callers write the
 *     plain forms: rg_init(&cfg), rg_stats(&st);
 *   - this header is valid C11 and C++11.
 */
#ifndef RINGO_H
#define RINGO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RG_API __attribute__((visibility("default")))
#define RG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define RG_NORETURN __attribute__((noreturn))
#else
#define RG_API
#define RG_PRINTF(a, b)
#define RG_NORETURN
#endif

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

#define RG_NANOSECOND ((int64_t)1)
#define RG_MICROSECOND ((int64_t)1000)
#define RG_MILLISECOND ((int64_t)1000000)
#define RG_SECOND ((int64_t)1000000000)
#define RG_MINUTE ((int64_t)60000000000)
#define RG_HOUR ((int64_t)3600000000000)

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC).  Any thread. */
RG_API int64_t rg_now(void);

/* Parks the calling goroutine for at least ns nanoseconds; ns <= 0 returns
 * at once.  On a foreign thread it sleeps the thread.  Any thread. */
RG_API void rg_sleep(int64_t ns);

/* ------------------------------------------------------------------ */
/* Runtime and goroutines                                              */
/* ------------------------------------------------------------------ */

/* Runtime configuration, a growable struct (see the top of this file):
 *     rg_config_t cfg = {.procs = 4};  rg_init(&cfg);
 * Zero fields take their defaults, which the environment may override:
 * RINGO_PROCS, RINGO_STACK_SIZE.  Later releases only append fields. */
typedef struct rg_config {
	int procs;         /* number of Ps; default RINGO_PROCS or CPU count */
	size_t stack_size; /* goroutine stack address space; default 256 KiB */
} rg_config_t;

/* Starts the runtime, runs fn(arg) as the main goroutine (id 1) and
 * returns its result once it returns.  Other goroutines are abandoned,
 * as when a Go program's main returns, and the runtime's memory is
 * released.  Returns -EBUSY if the runtime is already running, -ENOMEM or
 * another -errno if it cannot start (-ENOMEM too for a RINGO_STACK_SIZE
 * or stack_size whose stacks cannot be mapped, 64 TiB say, or whose
 * k/m suffix overflows).  Call from a plain thread. */
RG_API int rg_main(int (*fn)(void *), void *arg);

/* Starts the runtime for embedding in a host program: goroutines run on
 * the runtime's own threads while the caller goes on; rg_go and the sync
 * and channel calls work from the caller's (foreign) threads.  cfg may be
 * NULL (all defaults); it is read during the call only.  Returns 0,
 * -EBUSY if already running, -E2BIG if cfg is a newer layout asking for
 * something this library lacks (a non-zero field it does not know), or
 * another -errno. */
static inline int rg_init(const rg_config_t *cfg);

/* What rg_init calls: cfg_size is the sizeof(rg_config_t) the caller was
 * compiled with (-EINVAL if smaller than the first release's layout).
 * Call rg_init instead. */
RG_API int rg_init_sized(const rg_config_t *cfg, size_t cfg_size);

static inline int rg_init(const rg_config_t *cfg)
{
	return rg_init_sized(cfg, sizeof(rg_config_t));
}

/* Stops the runtime started by rg_init: goroutines still alive are
 * abandoned, the runtime's threads exit and its memory is released.
 * Call from a foreign thread, never from a goroutine. */
RG_API void rg_shutdown(void);

/* Starts fn(arg) as a new goroutine.  Returns 0, -ENOMEM, or -EINVAL
 * (no runtime, or fn NULL).  Any thread. */
RG_API int rg_go(void (*fn)(void *), void *arg);

/* rg_go with a name shown in dumps, panics and traces (copied; up to 31
 * bytes kept).  Any thread. */
RG_API int rg_go_named(const char *name, void (*fn)(void *), void *arg);

/* Lets other goroutines run (runtime.Gosched).  Goroutine; a no-op
 * sched_yield() on a foreign thread. */
RG_API void rg_yield(void);

/* Ends the calling goroutine (runtime.Goexit).  Goroutine only; from the
 * main goroutine it ends rg_main with result 0. */
RG_API RG_NORETURN void rg_exit(void);

/* The calling goroutine's id (main is 1), 0 on a foreign thread. */
RG_API int64_t rg_goid(void);

/* Goroutines alive now (runtime.NumGoroutine).  Any thread. */
RG_API int rg_num_goroutines(void);

/* Number of Ps (GOMAXPROCS), 0 when the runtime is not running. */
RG_API int rg_procs(void);

/* Tell the deadlock detector that something outside the goroutines —
 * a foreign thread, a C library's callback thread — may still wake a
 * goroutine (send on a channel, unlock a mutex, call rg_go), so that
 * "all goroutines are asleep" is not reported while it holds a
 * reference.  A foreign thread blocked inside a ringo call counts by
 * itself; between calls it counts only through rg_ref.  Each rg_ref
 * needs one rg_unref.  Any thread, while the runtime runs. */
RG_API void rg_ref(void);
RG_API void rg_unref(void);

/* Brackets a call that blocks the thread outside ringo (a library that
 * waits, getaddrinfo, a foreign lock).  The P is released to other
 * goroutines while the call blocks (Go's entersyscall/exitsyscall).
 * Between the two, make no other ringo call.  No-ops on a foreign thread. */
RG_API void rg_syscall_enter(void);
RG_API void rg_syscall_exit(void);

/* Reports a programmer error as Go does: "panic: <message>", the
 * goroutine's id and name, a backtrace, then abort().  Any thread. */
RG_API RG_NORETURN void rg_panic(const char *fmt, ...) RG_PRINTF(1, 2);

/* Writes every goroutine (id, name, state, wait reason, time waited,
 * start function, backtrace) to fd, as Go's SIGQUIT dump does.  SIGQUIT
 * does the same on stderr and exits with status 2.  Any thread. */
RG_API void rg_dump_goroutines(int fd);

#define RG_STATS_MAX_PROCS 64

/* Runtime counters; cumulative counts start at rg_main/rg_init.  A
 * growable struct (see the top of this file):
 *     rg_stats_t st;  rg_stats(&st);
 * Later releases only append fields. */
typedef struct rg_stats {
	int64_t goroutines;       /* alive now */
	int64_t procs;            /* number of Ps */
	int64_t threads;          /* Ms (OS threads) started */
	int64_t spawned;          /* goroutines created */
	int64_t switches;         /* goroutine switches */
	int64_t parks;            /* goroutines parked */
	int64_t steals;           /* successful steals from another P */
	int64_t handoffs;         /* Ps retaken from a blocked syscall */
	int64_t hogs;             /* goroutines seen holding a P > 10 ms */
	int64_t global_runq;      /* goroutines in the global run queue */
	int64_t io_ops;           /* I/O requests completed */
	uint32_t runq[RG_STATS_MAX_PROCS]; /* per-P local run queue length */
	int64_t handbacks;        /* batches of readied goroutines a P handed to a
				   * lower P with time to spare (consolidation) */
} rg_stats_t;

/* Fills *out with a snapshot (each counter read atomically, the whole
 * not a consistent cut); all zero when the runtime is not running.
 * Returns 0, or -EINVAL (out NULL).  Any thread. */
static inline int rg_stats(rg_stats_t *out);

/* What rg_stats calls: writes out_size bytes of *out (the caller's
 * sizeof(rg_stats_t)), zeroing what this library does not know;
 * -EINVAL if out is NULL or out_size is smaller than the first
 * release's layout.  Call rg_stats instead. */
RG_API int rg_stats_sized(rg_stats_t *out, size_t out_size);

static inline int rg_stats(rg_stats_t *out)
{
	return rg_stats_sized(out, sizeof(rg_stats_t));
}

/* The rest of the API, one part per concept. */
#include "ringo/version.h" /* RINGO_VERSION_*, rg_version */
#include "ringo/chan.h" /* channels and select */
#include "ringo/sync.h" /* Mutex, RWMutex, WaitGroup, Once, Cond */
#include "ringo/ctx.h"  /* contexts */
#include "ringo/io.h"   /* files and sockets through io_uring */
#include "ringo/timer.h" /* Timer, Ticker, After, AfterFunc */
#include "ringo/pool.h"  /* semaphore, errgroup, worker pool */
#include "ringo/limit.h" /* rate limiters */
#include "ringo/process.h" /* processes, as os/exec */
#include "ringo/signals.h" /* os/signal: Notify, Stop, Ignore, Reset, NotifyContext */

#ifdef __cplusplus
}
#endif
#endif /* RINGO_H */
