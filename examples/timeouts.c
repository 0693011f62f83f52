// SPDX-License-Identifier: MIT
/*
 * timeouts — Go's `select` with `case <-time.After(d):`: bound how long
 * a receive may wait.
 *
 *     select {
 *     case msg := <-ch:
 *         fmt.Println("Got message:", msg)
 *     case <-time.After(2 * time.Second):
 *         fmt.Println("Timeout after 2s")
 *     }
 *
 * rg_after(d) is time.After(d): a channel that receives the time once,
 * d from now.  C has no collector, so the channel is freed with
 * rg_chan_free whether it fired or not (that also stops its timer).
 * The second part is the seed's doWithTimeout, with a reusable
 * rg_timer_t (time.NewTimer) and `defer timer.Stop()` as rg_timer_free.
 *
 * What each call waits for is fixed, not raced: the slow work cannot
 * finish before main lets it (it waits on `release`), and the quick
 * work is given a timeout far longer than it needs.
 */
#include <ringo.h>
#include <stdio.h>

struct work {
	rg_chan_t *result;  /* buffered, so the worker never blocks */
	rg_chan_t *release; /* the slow work waits for this to close */
	int value;
};

static void quick_work(void *arg)
{
	struct work *w = arg;
	rg_chan_send(w->result, &w->value);
}

static void slow_work(void *arg)
{
	struct work *w = arg;
	rg_chan_recv(w->release, NULL);
	rg_chan_send(w->result, &w->value);
}

/* The seed's doWithTimeout: run work in a goroutine, wait for its result
 * or for the timer, whichever comes first.  0 and *out, or -ETIMEDOUT. */
static int do_with_timeout(void (*work)(void *), struct work *w, int64_t timeout, int *out)
{
	rg_timer_t *timer = rg_timer_new(timeout);
	int ret = -ETIMEDOUT;

	rg_go(work, w);
	rg_case_t cs[] = {RG_RECV(w->result, out), RG_RECV(rg_timer_chan(timer), NULL)};
	if (rg_select(cs, 2, true) == 0)
		ret = 0;
	rg_timer_free(timer); /* defer timer.Stop() */
	return ret;
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 0); /* nobody ever sends on it */
	rg_chan_t *after = rg_after(50 * RG_MILLISECOND);
	int msg;

	rg_case_t cs[] = {RG_RECV(ch, &msg), RG_RECV(after, NULL)};
	if (rg_select(cs, 2, true) == 1)
		printf("Timeout after 50ms\n");
	else
		printf("Got message: %d\n", msg);
	rg_chan_free(after);
	rg_chan_free(ch);

	struct work quick = {RG_CHAN(int, 1), NULL, 42};
	struct work slow = {RG_CHAN(int, 1), rg_chan_make(0, 0), 7};
	int v;

	if (do_with_timeout(quick_work, &quick, 10 * RG_SECOND, &v) == 0)
		printf("quick work: result %d\n", v);
	if (do_with_timeout(slow_work, &slow, 50 * RG_MILLISECOND, &v) == -ETIMEDOUT)
		printf("slow work: timeout\n");

	/* The slow worker is still waiting: let it finish, take its late
	 * result, then free what it used. */
	rg_chan_close(slow.release);
	rg_chan_recv(slow.result, &v);
	printf("slow work finished later with %d\n", v);

	rg_chan_free(quick.result);
	rg_chan_free(slow.result);
	rg_chan_free(slow.release);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
