// SPDX-License-Identifier: MIT
/*
 * channel_directions — Go's `chan<- T` and `<-chan T`: a function that
 * may only send, or only receive, says so in its signature, and the
 * compiler holds it to that.
 *
 *     func ping(pings chan<- string, msg string) { pings <- msg }
 *     func pong(pings <-chan string, pongs chan<- string) {
 *         msg := <-pings
 *         pongs <- msg
 *     }
 *
 * rg_chan_t has no direction.  The C way to get the same contract is a
 * one-field struct per direction: passing a recv_end where a send_end
 * is expected does not compile, and only the functions below open the
 * wrapper.
 */
#include <ringo.h>
#include <stdio.h>

typedef struct {
	char s[32];
} text_t;

typedef struct {
	rg_chan_t *c;
} send_end; /* chan<- text_t */

typedef struct {
	rg_chan_t *c;
} recv_end; /* <-chan text_t */

static send_end sender(rg_chan_t *c) { return (send_end){c}; }
static recv_end receiver(rg_chan_t *c) { return (recv_end){c}; }
static void send_text(send_end ch, const text_t *v) { rg_chan_send(ch.c, v); }
static bool recv_text(recv_end ch, text_t *v) { return rg_chan_recv(ch.c, v); }

static void ping(send_end pings, const char *msg)
{
	text_t t;
	snprintf(t.s, sizeof(t.s), "%s", msg);
	send_text(pings, &t);
	/* recv_text(pings, &t) would not compile: pings is send-only. */
}

static void pong(recv_end pings, send_end pongs)
{
	text_t t;
	recv_text(pings, &t);
	send_text(pongs, &t);
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *pings = RG_CHAN(text_t, 1), *pongs = RG_CHAN(text_t, 1);
	text_t msg;

	ping(sender(pings), "passed message");
	pong(receiver(pings), sender(pongs));
	recv_text(receiver(pongs), &msg);
	printf("%s\n", msg.s);

	rg_chan_free(pings);
	rg_chan_free(pongs);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
