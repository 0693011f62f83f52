// SPDX-License-Identifier: MIT
/*
 * range_over_channels — Go's `for v := range ch`: receive until the
 * channel is closed and drained.
 *
 *     for v := range ch {
 *         fmt.Println("Received:", v)
 *     }
 *
 * RG_RANGE(ch, v) is that loop (break and continue work as usual).  The
 * second part is the seed's fan-in: several senders, a WaitGroup, and a
 * closer goroutine that closes the channel once every sender is done,
 * since no single sender may.  Which sender's value arrives first
 * varies from run to run, so main adds them up instead of printing
 * them in arrival order.
 */
#include <ringo.h>
#include <stdio.h>

struct fan_in {
	rg_chan_t *ch;
	rg_waitgroup_t wg;
};

static void produce(void *arg)
{
	rg_chan_t *ch = arg;
	for (int i = 1; i <= 5; i++)
		rg_chan_send(ch, &i);
	rg_chan_close(ch); /* the only sender closes */
}

struct sender {
	struct fan_in *f;
	int id;
};

static void send_two(void *arg)
{
	struct sender *s = arg;
	for (int j = 1; j <= 2; j++) {
		int v = s->id * 10 + j;
		rg_chan_send(s->f->ch, &v);
	}
	rg_wg_done(&s->f->wg); /* defer wg.Done() */
}

static void closer(void *arg)
{
	struct fan_in *f = arg;
	rg_wg_wait(&f->wg);
	rg_chan_close(f->ch); /* only close once all senders are done */
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *ch = RG_CHAN(int, 0);
	int v;

	rg_go(produce, ch);
	RG_RANGE(ch, v)
		printf("Received: %d\n", v);
	rg_chan_free(ch);

	struct fan_in f = {.ch = RG_CHAN(int, 0)};
	struct sender senders[3];
	for (int i = 0; i < 3; i++) {
		senders[i] = (struct sender){&f, i + 1};
		rg_wg_add(&f.wg, 1);
		rg_go(send_two, &senders[i]);
	}
	rg_go(closer, &f);

	int n = 0, sum = 0;
	RG_RANGE(f.ch, v) {
		n++;
		sum += v;
	}
	printf("fan-in: %d values, sum %d\n", n, sum);
	rg_chan_free(f.ch);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
