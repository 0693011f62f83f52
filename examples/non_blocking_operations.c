// SPDX-License-Identifier: MIT
/*
 * non_blocking_operations — Go's `select` with a `default:` branch:
 * try a send or a receive and go on at once when it cannot complete.
 *
 *     select {
 *     case msg := <-messages: fmt.Println("received message", msg)
 *     default:                fmt.Println("no message received")
 *     }
 *
 * rg_chan_try_recv and rg_chan_try_send are the one-case forms (0, or
 * -EAGAIN for the default branch); rg_select with block false is the
 * many-case form (-1 for the default branch).
 */
#include <ringo.h>
#include <stdio.h>

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *messages = RG_CHAN(int, 0);
	rg_chan_t *signals = RG_CHAN(bool, 0);
	int msg = 0;
	bool sig;

	/* Nobody sends: the receive takes the default branch. */
	if (rg_chan_try_recv(messages, &msg, NULL) == 0)
		printf("received message %d\n", msg);
	else
		printf("no message received\n");

	/* Nobody receives and there is no buffer: the send cannot happen. */
	msg = 1;
	if (rg_chan_try_send(messages, &msg) == 0)
		printf("sent message %d\n", msg);
	else
		printf("no message sent\n");

	/* A multi-way select with a default. */
	rg_case_t cs[] = {RG_RECV(messages, &msg), RG_RECV(signals, &sig)};
	switch (rg_select(cs, 2, false)) {
	case 0:
		printf("received message %d\n", msg);
		break;
	case 1:
		printf("received signal %d\n", sig);
		break;
	default:
		printf("no activity\n");
	}

	/* With room in a buffer the same try succeeds: try-send as a queue
	 * that sheds load when full. */
	rg_chan_t *queue = RG_CHAN(int, 2);
	for (int i = 1; i <= 3; i++) {
		if (rg_chan_try_send(queue, &i) == 0)
			printf("queued %d\n", i);
		else
			printf("queue full, dropped %d\n", i);
	}

	rg_chan_free(queue);
	rg_chan_free(signals);
	rg_chan_free(messages);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
