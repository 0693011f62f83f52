// SPDX-License-Identifier: MIT
/*
 * tickers — Go's time.NewTicker: a channel that receives the time at
 * regular intervals, until the ticker is stopped.
 *
 *     ticker := time.NewTicker(time.Second)
 *     defer ticker.Stop()
 *     for {
 *         select {
 *         case t := <-ticker.C: fmt.Println("Tick at", t)
 *         case <-done:          fmt.Println("Stopping ticker..."); return
 *         }
 *     }
 *
 * rg_ticker_chan(tk) is tk.C; each tick carries the time it was due,
 * start + n*interval, whatever the lateness of the others (no drift),
 * so tick times differ by whole intervals.  The seed closes done from
 * a goroutine that sleeps 5 s, and prints wall-clock times; here the
 * loop itself stops the ticker after four ticks and closes done (a
 * stopped ticker has no tick pending, so the next select can only take
 * done), and the times are checked against the grid instead of printed.
 */
#include <ringo.h>
#include <stdio.h>

#define INTERVAL (20 * RG_MILLISECOND)

static int run(void *arg)
{
	(void)arg;
	rg_ticker_t *ticker = rg_ticker_new(INTERVAL);
	rg_chan_t *done = rg_chan_make(0, 0);
	int64_t first = 0, t;
	int n = 0;
	bool on_grid = true;

	for (;;) {
		rg_case_t cs[] = {RG_RECV(rg_ticker_chan(ticker), &t), RG_RECV(done, NULL)};
		if (rg_select(cs, 2, true) == 1) {
			printf("Stopping ticker...\n");
			break;
		}
		if (++n == 1)
			first = t;
		else
			on_grid = on_grid && (t - first) % INTERVAL == 0;
		printf("Tick %d\n", n);
		if (n == 4) {
			rg_ticker_stop(ticker); /* no tick can be received now */
			rg_chan_close(done);
		}
	}
	printf("ticks %d ms apart, no drift: %s\n", (int)(INTERVAL / RG_MILLISECOND),
	       on_grid ? "yes" : "no");

	/* A stopped ticker sends nothing more; Reset starts it again. */
	if (rg_chan_try_recv(rg_ticker_chan(ticker), NULL, NULL) == -EAGAIN)
		printf("stopped: no tick pending\n");
	rg_ticker_reset(ticker, INTERVAL);
	rg_chan_recv(rg_ticker_chan(ticker), NULL);
	printf("Tick after reset\n");

	rg_ticker_free(ticker); /* defer ticker.Stop() */
	rg_chan_free(done);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
