// SPDX-License-Identifier: MIT
/* Part of <ringo.h>; include that instead. */
#ifndef RINGO_SIGNALS_H
#define RINGO_SIGNALS_H

/*
 * Signals, Go's os/signal: Notify, Stop, Ignore, Reset, NotifyContext.
 *
 *     rg_ctx_t *ctx = rg_signal_notify_ctx(rg_ctx_background(),
 *                                          (int[]){SIGINT, SIGTERM}, 2);
 *     ... serve until rg_ctx_done(ctx) is closed ...
 *     rg_ctx_cancel(ctx);             // Go's stop(): a second signal now
 *     rg_ctx_release(ctx);            // has its default effect
 *
 *     rg_chan_t *c = RG_CHAN(int, 1); // buffered: delivery never blocks
 *     int sigs[] = {SIGHUP};
 *     rg_signal_notify(c, sigs, 1);
 *     int sig;
 *     while (rg_chan_recv(c, &sig))   // for sig := range c
 *             reload_config();
 *
 * Delivery.  A signal sent to the process is read from a signalfd by a
 * goroutine of the runtime (named "signals", started by the first
 * rg_signal_notify) that waits for it on the I/O backend, and sent to
 * every channel registered for it without blocking: a channel that is
 * full drops it, as Go does, so give channels a buffer (capacity 1 is
 * enough to learn that a signal came; standard signals sent faster than
 * they are read merge in the kernel anyway).  Values are the signal
 * numbers, as int.
 *
 * Masks.  Every signal ever passed to rg_signal_notify is blocked in
 * every thread the runtime owns (its Ms, from their creation, and the
 * ones already running at their next scheduling pass; sysmon blocks
 * every signal these calls accept), and rg_main blocks them all in its
 * calling thread while it runs.  Threads created from a goroutine
 * inherit that mask, and so would a child process: the children that
 * ringo spawns reset their mask and dispositions before exec; a program
 * that forks from a goroutine should do the same.  The synchronous
 * signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL) are never blocked.
 *
 * Host threads (rg_init, or threads made outside the runtime): the
 * kernel gives a process-directed signal to any thread that does not
 * block it.  For a signal that is registered, ringo installs a handler
 * that forwards what lands on such a thread to the same goroutine, so
 * none is lost; but the handler interrupts that thread's system calls
 * (SA_RESTART restarts most).  To keep signals off host threads, block
 * them there (pthread_sigmask, in main before creating any thread, so
 * that every thread inherits it) and let ringo take them.  A signal
 * directed at one runtime thread (pthread_kill, tgkill, raise() in a
 * goroutine) is taken when that thread next runs out of work.  One
 * directed at a host thread that blocks it stays pending on that thread
 * (only that thread can take it: by sigwait, or by unblocking it, which
 * runs the forwarding handler); so a host that sends signals to its own
 * threads leaves those signals unblocked there.
 *
 * Default actions.  A registered signal that is no longer wanted (after
 * rg_signal_stop of its last channel, rg_signal_reset, or the end of its
 * notify context) gets back the disposition it had before ringo took it:
 * the default action in most programs.  When it arrives while blocked
 * everywhere, the runtime passes it on: it unblocks it in one of its
 * threads and sends it there again, so the default action (or the
 * program's own handler) happens as if ringo had never looked.
 *
 * The runtime's own uses: SIGQUIT prints the goroutine dump unless
 * SIGQUIT is registered (the channels get it instead, as in Go);
 * SIGPIPE is harmless unless registered (writes return -EPIPE either
 * way).  SIGSEGV, SIGBUS, SIGFPE and SIGILL are the fault reports' and
 * are refused (-EINVAL), as are SIGKILL and SIGSTOP, which cannot be
 * caught, and glibc's internal real-time signals (32, 33).
 *
 * Shutdown.  When rg_main returns or rg_shutdown runs, every
 * registration ends, every disposition ringo changed (ignore included)
 * is restored, and signals still pending for ringo are discarded.
 *
 * Every call may be made from any thread, goroutine or foreign, while
 * the runtime runs (rg_signal_ignore and rg_signal_reset also before).
 */

/* Relays the signals sigs[0..n) to c, a channel of int (rg_chan_make
 * (sizeof(int), cap) or RG_CHAN(int, cap)), on top of what c already
 * receives.  n == 0: every signal that can be caught, as Go's
 * Notify(c).  Undoes rg_signal_ignore for those signals.  Returns 0;
 * -EINVAL for a signal that cannot be notified (see above), n < 0, or
 * the runtime not running; -ENOMEM; or the errno of signalfd, eventfd
 * or epoll at the first call.  c NULL, or not a channel of int, panics.
 * Any thread. */
RG_API int rg_signal_notify(rg_chan_t *c, const int *sigs, int n);

/* Stops relaying signals to c.  When it returns, c receives no more
 * signals (one already in its buffer stays there).  A signal no channel
 * wants any more gets back its old disposition.  c not registered: does
 * nothing.  Any thread. */
RG_API void rg_signal_stop(rg_chan_t *c);

/* Ignores sigs[0..n) (n == 0: every signal that can be caught): they
 * are discarded on arrival, and no channel receives them any more.
 * SIGCHLD is ignored with a handler that does nothing, not SIG_IGN,
 * which would make the kernel reap child processes before the waits
 * that ringo's process calls and the program's own waitpid make.  Signals that cannot be
 * notified are skipped.  Any thread. */
RG_API void rg_signal_ignore(const int *sigs, int n);

/* Undoes rg_signal_notify and rg_signal_ignore for sigs[0..n) (n == 0:
 * every signal): no channel receives them, and each gets back the
 * disposition it had before ringo changed it.  Signals that cannot be
 * notified are skipped.  Any thread. */
RG_API void rg_signal_reset(const int *sigs, int n);

/* Go's signal.NotifyContext: a context, child of parent, cancelled
 * (-ECANCELED) when the first of sigs[0..n) arrives (n == 0: any
 * signal that can be caught).  The notification ends when the context
 * ends, whatever ends it: that signal, rg_ctx_cancel on it (Go's
 * stop()), or parent; from then on those signals have their default
 * effect again (a second Ctrl+C ends the program), unless other
 * registrations want them.  Unlike Go, where a second signal before
 * stop() is swallowed, ringo ends the notification with the first.
 * The caller owns one reference, as rg_ctx_with_cancel's: rg_ctx_cancel
 * then rg_ctx_release.  Returns NULL with errno EINVAL (a bad signal,
 * n < 0, the runtime not running) or ENOMEM.  Any thread. */
RG_API rg_ctx_t *rg_signal_notify_ctx(rg_ctx_t *parent, const int *sigs, int n);

#endif /* RINGO_SIGNALS_H */
