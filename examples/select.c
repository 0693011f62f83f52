// SPDX-License-Identifier: MIT
/*
 * select — Go's `select`: wait on several channel operations at once
 * and run the one that is ready (multiplexing).
 *
 *     for i := 0; i < 2; i++ {
 *         select {
 *         case msg1 := <-ch1: fmt.Println("Received:", msg1)
 *         case msg2 := <-ch2: fmt.Println("Received:", msg2)
 *         }
 *     }
 *
 * rg_select takes an array of cases built with RG_RECV and RG_SEND and
 * returns the index of the one that ran; block false adds Go's
 * default: branch (-1 when nothing is ready).  The seed's producers
 * sleep 1 s and 2 s; here the second one waits until the first one's
 * message has been received, so "ch1" comes first on every run while
 * main still waits on both channels each time.
 */
#include <ringo.h>
#include <stdio.h>

typedef struct {
	char s[32];
} text_t;

struct producers {
	rg_chan_t *ch1, *ch2;
	rg_chan_t *first_taken; /* closed once ch1's message is received */
};

static void producer1(void *arg)
{
	struct producers *p = arg;
	text_t msg = {"Message from ch1"};

	rg_chan_send(p->ch1, &msg); /* unbuffered: returns once main has it */
	rg_chan_close(p->first_taken);
}

static void producer2(void *arg)
{
	struct producers *p = arg;
	text_t msg = {"Message from ch2"};

	rg_chan_recv(p->first_taken, NULL);
	rg_chan_send(p->ch2, &msg);
}

static int run(void *arg)
{
	(void)arg;
	struct producers p = {RG_CHAN(text_t, 0), RG_CHAN(text_t, 0), rg_chan_make(0, 0)};
	text_t msg;

	/* select with a default branch: nothing has been sent yet. */
	rg_case_t poll[] = {RG_RECV(p.ch1, &msg)};
	if (rg_select(poll, 1, false) == -1)
		printf("No message, moving on\n");

	rg_go(producer2, &p);
	rg_go(producer1, &p);
	for (int i = 0; i < 2; i++) {
		rg_case_t cs[] = {RG_RECV(p.ch1, &msg), RG_RECV(p.ch2, &msg)};
		switch (rg_select(cs, 2, true)) {
		case 0:
			printf("Received: %s\n", msg.s);
			break;
		case 1:
			printf("Received: %s\n", msg.s);
			break;
		}
	}

	rg_chan_free(p.ch1);
	rg_chan_free(p.ch2);
	rg_chan_free(p.first_taken);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
