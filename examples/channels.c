// SPDX-License-Identifier: MIT
/*
 * channels — Go's `ch := make(chan string)`, `ch <- v` and `v := <-ch`:
 * goroutines communicate by passing values instead of sharing memory.
 *
 *     ch := make(chan string)
 *     go worker(ch)                 // worker: ch <- "done"
 *     fmt.Println("Waiting for worker...")
 *     msg := <-ch                   // blocks until worker sends data
 *
 * A ringo channel carries fixed-size values, copied in and out: a Go
 * string becomes a small struct holding the text.  An unbuffered
 * channel (capacity 0) is a rendezvous: the send completes only when
 * main receives, so the two goroutines meet there.
 */
#include <ringo.h>
#include <stdio.h>

typedef struct {
	char s[32];
} text_t;

static void worker(void *arg)
{
	rg_chan_t *ch = arg;
	text_t msg = {"done"};

	rg_sleep(20 * RG_MILLISECOND); /* simulate work */
	rg_chan_send(ch, &msg);        /* ch <- "done" */
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(text_t, 0); /* make(chan string) */
	text_t msg;

	rg_go(worker, ch);
	printf("Waiting for worker...\n");
	rg_chan_recv(ch, &msg); /* blocks until worker sends data */
	printf("Worker says: %s\n", msg.s);

	rg_chan_free(ch);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
