// SPDX-License-Identifier: MIT
/*
 * buffered_channels — Go's `make(chan int, n)`: a queue of up to n
 * values; a send waits only while the buffer is full, a receive only
 * while it is empty.
 *
 *     ch := make(chan int, 2) // capacity = 2
 *     ch <- 10
 *     ch <- 20                // no receiver needed yet
 *     fmt.Println(<-ch)
 *     fmt.Println(<-ch)
 *
 * RG_CHAN(T, n) is make(chan T, n); rg_chan_len and rg_chan_cap are
 * len(ch) and cap(ch).  A third send would wait for a receiver: the
 * seed shows it from a sender goroutine that blocks on `ch <- 3` until
 * main takes a value; here the sender says so on a second channel, and
 * main, told that the sender is stuck, makes room.
 */
#include <ringo.h>
#include <stdio.h>

static void sender(void *arg)
{
	rg_chan_t **chans = arg;
	rg_chan_t *ch = chans[0], *progress = chans[1];

	for (int v = 1; v <= 3; v++) {
		int note = v;
		if (rg_chan_try_send(ch, &v) != 0) { /* full: tell main, then wait */
			note = -v;
			rg_chan_send(progress, &note);
			rg_chan_send(ch, &v); /* blocks until main receives */
			note = v;
		}
		rg_chan_send(progress, &note);
	}
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 2); /* make(chan int, 2) */
	int v = 10;

	rg_chan_send(ch, &v);
	v = 20;
	rg_chan_send(ch, &v);
	printf("len %zu, cap %zu\n", rg_chan_len(ch), rg_chan_cap(ch));
	rg_chan_recv(ch, &v);
	printf("%d\n", v);
	rg_chan_recv(ch, &v);
	printf("%d\n", v);

	/* A sender that fills the buffer and then blocks. */
	rg_chan_t *progress = RG_CHAN(int, 0);
	rg_chan_t *chans[2] = {ch, progress};
	int note;

	rg_go(sender, chans);
	for (int i = 0; i < 4; i++) { /* sent 1, sent 2, blocked, sent 3 */
		rg_chan_recv(progress, &note);
		if (note > 0) {
			printf("sent %d\n", note);
		} else {
			printf("buffer full, sending %d blocks\n", -note);
			rg_chan_recv(ch, &v); /* frees a slot: the sender goes on */
			printf("recv: %d\n", v);
		}
	}
	while (rg_chan_len(ch) > 0) {
		rg_chan_recv(ch, &v);
		printf("recv: %d\n", v);
	}

	rg_chan_free(progress);
	rg_chan_free(ch);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
