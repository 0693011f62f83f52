// SPDX-License-Identifier: MIT
/*
 * channel_synchronization — Go's `done := make(chan bool)` and `<-done`:
 * an unbuffered channel as a rendezvous that tells main a goroutine has
 * finished its work.
 *
 *     go worker(done) // worker: ...; done <- true
 *     <-done          // wait for worker to finish
 *     fmt.Println("Main: all done")
 *
 * No mutex or condition variable: the send happens before the receive
 * completes, so whatever the worker did before `done <- true` is
 * visible to main after `<-done`.
 */
#include <ringo.h>
#include <stdio.h>

static int result; /* written by the worker, read by main after <-done */

static void worker(void *arg)
{
	rg_chan_t *done = arg;
	bool yes = true;

	printf("Worker: started\n");
	rg_sleep(20 * RG_MILLISECOND); /* simulate work */
	result = 42;
	printf("Worker: finished\n");
	rg_chan_send(done, &yes); /* notify main */
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *done = RG_CHAN(bool, 0);
	bool ok;

	rg_go(worker, done);
	rg_chan_recv(done, &ok); /* wait for worker to finish */
	printf("Main: all done, the worker's result is %d\n", result);

	rg_chan_free(done);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
