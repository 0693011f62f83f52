// SPDX-License-Identifier: MIT
/*
 * goroutines — Go's `go f(x)`: start a function in a new goroutine.
 *
 *     go printMessage("goroutine") // runs concurrently
 *     printMessage("main")         // runs in the main goroutine
 *
 * rg_go(fn, arg) is the go statement: fn(arg) starts in a new goroutine
 * and the caller goes on at once.  rg_main runs the program's main
 * goroutine; when it returns, goroutines still running are abandoned,
 * as when Go's main returns, so main must wait for what it started.
 *
 * The seed lets the two goroutines interleave by sleeping 500 ms
 * between lines.  Here they take turns explicitly (a `turn` channel
 * each way, Go's chan struct{}), so the interleaving is the same on
 * every run; the goroutine's last turn handed back tells main it is done.
 * The channels hold one turn each, so the last hand-over needs no taker.
 */
#include <ringo.h>
#include <stdio.h>

struct printer {
	const char *msg;
	rg_chan_t *mine;   /* receives the turn */
	rg_chan_t *theirs; /* gives it back */
};

static void print_message(struct printer *p)
{
	for (int i = 0; i < 5; i++) {
		rg_chan_recv(p->mine, NULL); /* wait for our turn */
		printf("%s %d\n", p->msg, i);
		rg_chan_send(p->theirs, NULL);
	}
}

static void print_message_goroutine(void *arg)
{
	print_message(arg);
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *to_g = rg_chan_make(0, 1); /* make(chan struct{}, 1) */
	rg_chan_t *to_main = rg_chan_make(0, 1);
	struct printer g = {"goroutine", to_g, to_main};
	struct printer m = {"main", to_main, to_g};

	rg_go(print_message_goroutine, &g); /* go printMessage("goroutine") */
	rg_chan_send(to_g, NULL);           /* the goroutine goes first */
	print_message(&m);                  /* printMessage("main") */

	rg_chan_free(to_g);
	rg_chan_free(to_main);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
