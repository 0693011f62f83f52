// SPDX-License-Identifier: MIT
/*
 * signal_ignore — Go's signal.Ignore, Reset and Stop beside Notify (the
 * seed's "catch Ctrl+C" and its notes on Ignore and Reset).
 *
 *     sigs := make(chan os.Signal, 1) // buffered channel recommended
 *     signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
 *     sig := <-sigs
 *     fmt.Println("Received signal:", sig)
 *
 * The channel carries int signal numbers; the runtime sends without
 * blocking, so it needs a buffer.  Here the program sends the signals to
 * itself with kill(2), as `kill -TERM <pid>` would from a shell.
 */
#include <ringo.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *sigs = RG_CHAN(int, 1); /* buffered channel recommended */
	int want[] = {SIGINT, SIGTERM, SIGHUP};
	rg_signal_notify(sigs, want, 3);

	puts("Waiting for SIGINT or SIGTERM...");
	kill(getpid(), SIGTERM); /* kill -TERM <pid> */
	int sig;
	rg_chan_recv(sigs, &sig);
	printf("Received signal: %s\n", strsignal(sig));

	/* signal.Ignore(syscall.SIGHUP) undoes Notify for it: nothing
	 * happens when it comes. */
	int hup = SIGHUP;
	rg_signal_ignore(&hup, 1);
	kill(getpid(), SIGHUP);
	kill(getpid(), SIGINT); /* after it: the lower number is read first */
	rg_chan_recv(sigs, &sig);
	printf("Received signal: %s (SIGHUP was ignored)\n", strsignal(sig));

	/* signal.Stop(sigs), signal.Reset(SIGHUP): the defaults are back. */
	rg_signal_stop(sigs);
	rg_signal_reset(&hup, 1);
	rg_chan_free(sigs);
	puts("Exiting");
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
