// SPDX-License-Identifier: MIT
/*
 * closing_channels — Go's `close(ch)` and `v, ok := <-ch`: the sender
 * says no more values will come; receivers drain what is buffered, then
 * get the zero value and ok == false.
 *
 *     ch := make(chan int, 2)
 *     ch <- 10; ch <- 20
 *     close(ch)
 *     fmt.Println(<-ch) // 10
 *     fmt.Println(<-ch) // 20
 *     fmt.Println(<-ch) // 0 (zero value, because channel is closed + empty)
 *
 * rg_chan_recv returns Go's ok.  Closing is also a broadcast: every
 * goroutine waiting on the channel wakes, which is how `close(done)`
 * signals one goroutine and `close(stop)` stops many.  As in Go, only
 * the sender closes; sending on a closed channel, or closing it twice,
 * panics.
 */
#include <ringo.h>
#include <stdio.h>

static rg_waitgroup_t stopped;

static void stoppable_worker(void *arg)
{
	rg_chan_t *stop = arg;
	rg_chan_recv(stop, NULL); /* <-stop: wait for the signal */
	printf("Worker stopped\n");
	rg_wg_done(&stopped);
}

static void finishing_worker(void *arg)
{
	rg_chan_t *done = arg;
	/* do some work */
	rg_chan_close(done); /* signal completion */
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 2);
	int v = 10;

	rg_chan_send(ch, &v);
	v = 20;
	rg_chan_send(ch, &v);
	rg_chan_close(ch);
	for (int i = 0; i < 3; i++) {
		rg_chan_recv(ch, &v);
		printf("%d\n", v); /* 10, 20, then 0: closed and empty */
	}

	/* The comma-ok idiom: v, ok := <-ch. */
	bool ok = rg_chan_recv(ch, &v);
	if (!ok)
		printf("Channel closed!\n");
	else
		printf("Got: %d\n", v);
	rg_chan_free(ch);

	/* close(done) as a signal: chan struct{}, no value ever sent. */
	rg_chan_t *done = rg_chan_make(0, 0);
	rg_go(finishing_worker, done);
	rg_chan_recv(done, NULL); /* wait until the goroutine signals done */
	printf("Worker finished\n");
	rg_chan_free(done);

	/* close(stop) as a broadcast: all three waiters wake. */
	rg_chan_t *stop = rg_chan_make(0, 0);
	rg_wg_add(&stopped, 3);
	for (int i = 0; i < 3; i++)
		rg_go(stoppable_worker, stop);
	rg_chan_close(stop); /* broadcast stop */
	rg_wg_wait(&stopped);
	printf("All workers stopped\n");
	rg_chan_free(stop);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
