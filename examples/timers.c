// SPDX-License-Identifier: MIT
/*
 * timers — Go's time.NewTimer, Stop, Reset and time.AfterFunc: one
 * event, some time from now, that can be waited on in a select,
 * cancelled or moved.
 *
 *     timer := time.NewTimer(2 * time.Second)
 *     defer timer.Stop()
 *     select {
 *     case <-done:    fmt.Println("work finished")
 *     case <-timer.C: fmt.Println("timed out")
 *     }
 *
 * rg_timer_chan(t) is t.C.  Stop and Reset have Go 1.23's meaning: once
 * they return, no value from before can be received, so the old
 * `if !t.Stop() { <-t.C }` drain is never needed.  rg_timer_free is
 * `defer t.Stop()` plus the free C needs.  rg_after_func(d, f, arg) runs
 * f in its own goroutine after d.
 */
#include <ringo.h>
#include <stdio.h>

static void finish(void *arg)
{
	rg_chan_close(arg); /* close(done) */
}

static void do_later(void *arg)
{
	printf("do later\n");
	rg_chan_close(arg);
}

static void never(void *arg)
{
	(void)arg;
	printf("this never runs\n");
}

/* The seed's timeout: work finished, or timed out. */
static void wait_for(rg_chan_t *done, int64_t timeout)
{
	rg_timer_t *timer = rg_timer_new(timeout);
	rg_case_t cs[] = {RG_RECV(done, NULL), RG_RECV(rg_timer_chan(timer), NULL)};

	if (rg_select(cs, 2, true) == 0)
		printf("work finished\n");
	else
		printf("timed out\n");
	rg_timer_free(timer); /* defer timer.Stop() */
}

static int run(void *arg)
{
	(void)arg;

	/* A timer fires once; its channel carries the time it was due. */
	int64_t start = rg_now(), when;
	rg_timer_t *t1 = rg_timer_new(50 * RG_MILLISECOND);
	rg_chan_recv(rg_timer_chan(t1), &when);
	printf("Timer 1 fired, not early: %s\n", when - start >= 50 * RG_MILLISECOND ? "yes" : "no");
	rg_timer_free(t1);

	/* Stopped before it fires: Stop says so, and nothing is sent. */
	rg_timer_t *t2 = rg_timer_new(10 * RG_SECOND);
	if (rg_timer_stop(t2))
		printf("Timer 2 stopped\n");
	rg_timer_free(t2);

	/* Timeouts with a timer and a select. */
	rg_chan_t *done = rg_chan_make(0, 0);
	rg_go(finish, done);
	wait_for(done, 10 * RG_SECOND);
	rg_chan_free(done);

	rg_chan_t *never_done = rg_chan_make(0, 0);
	wait_for(never_done, 20 * RG_MILLISECOND);
	rg_chan_free(never_done);

	/* AfterFunc: f runs later in its own goroutine, unless stopped. */
	rg_chan_t *ran = rg_chan_make(0, 0);
	rg_timer_t *later = rg_after_func(10 * RG_MILLISECOND, do_later, ran);
	rg_chan_recv(ran, NULL);
	rg_timer_free(later);
	rg_chan_free(ran);

	rg_timer_t *cancelled = rg_after_func(10 * RG_SECOND, never, NULL);
	if (rg_timer_stop(cancelled))
		printf("AfterFunc stopped before it ran\n");
	rg_timer_free(cancelled);

	/* A reusable idle timer: every event pushes the deadline back with
	 * Reset; the timer fires once the events stop. */
	rg_chan_t *events = RG_CHAN(int, 3);
	for (int i = 1; i <= 3; i++)
		rg_chan_send(events, &i);
	rg_timer_t *idle = rg_timer_new(200 * RG_MILLISECOND);
	for (bool waiting = true; waiting;) {
		int ev;
		rg_case_t cs[] = {RG_RECV(events, &ev), RG_RECV(rg_timer_chan(idle), NULL)};
		switch (rg_select(cs, 2, true)) {
		case 0:
			printf("event %d\n", ev);
			rg_timer_reset(idle, 200 * RG_MILLISECOND); /* no drain needed */
			break;
		case 1:
			printf("idle timeout\n");
			waiting = false;
			break;
		}
	}
	rg_timer_free(idle);
	rg_chan_free(events);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
