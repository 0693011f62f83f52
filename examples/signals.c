// SPDX-License-Identifier: MIT
/*
 * signals — Go's os/signal: deliver signals to a channel, or cancel a
 * context when one arrives.
 *
 *     sigs := make(chan os.Signal, 1) // buffered channel recommended
 *     signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
 *     sig := <-sigs
 *
 *     ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
 *     defer stop()
 *     <-ctx.Done()
 *
 * rg_signal_notify relays signals to a channel of int (the signal
 * numbers), without blocking: give the channel a buffer.
 * rg_signal_notify_ctx is NotifyContext; Go's stop() is rg_ctx_cancel
 * then rg_ctx_release.  The runtime reads the signals from a signalfd
 * in a goroutine of its own, so the handlers' async-signal-safety rules
 * do not apply to the code that receives them.
 *
 * From a terminal one would press Ctrl+C; so that it runs unattended,
 * this program sends the signals to itself with kill(2).
 */
#include <ringo.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *sigs = RG_CHAN(int, 1); /* buffered: delivery never blocks */
	int wanted[] = {SIGINT, SIGTERM};

	if (rg_signal_notify(sigs, wanted, 2) != 0)
		return 1;
	printf("Waiting for SIGINT or SIGTERM (Ctrl+C)...\n");
	kill(getpid(), SIGTERM); /* what `kill PID` would do */
	int sig;
	rg_chan_recv(sigs, &sig);
	printf("Received signal: %s\n", strsignal(sig));
	rg_signal_stop(sigs); /* signal.Stop(sigs) */
	rg_chan_free(sigs);

	/* NotifyContext: the graceful-shutdown pattern. */
	rg_ctx_t *ctx = rg_signal_notify_ctx(rg_ctx_background(), wanted, 2);
	if (!ctx)
		return 1;
	kill(getpid(), SIGINT); /* Ctrl+C */
	rg_chan_recv(rg_ctx_done(ctx), NULL); /* <-ctx.Done() */
	printf("Shutdown signal received: %s\n",
	       rg_ctx_err(ctx) == -ECANCELED ? "context canceled" : "unexpected");
	rg_ctx_cancel(ctx); /* defer stop() */
	rg_ctx_release(ctx);
	printf("Exiting\n");
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
