// SPDX-License-Identifier: MIT
/*
 * waitgroups — Go's sync.WaitGroup: wait for a collection of goroutines
 * to finish.
 *
 *     var wg sync.WaitGroup
 *     for _, api := range apis {
 *         wg.Add(1)          // before the go statement, never inside it
 *         go fetchData(api, &wg)
 *     }
 *     wg.Wait()              // block until all goroutines finish
 *
 * rg_waitgroup_t is ready to use when zeroed, as in Go, and, as in Go,
 * passed by pointer, never copied.  The goroutines finish in any
 * order; each writes its result into its own slot, and main prints
 * the slots in order once Wait has returned (Done happens before the
 * Wait it releases returns, so main sees every slot written).
 *
 * The second part is the seed's WaitGroup with channels: a goroutine
 * closes the results channel once the group is done, so main can range
 * over it.
 */
#include <ringo.h>
#include <stdio.h>
#include <string.h>

struct fetch {
	const char *api;
	char result[32];
	rg_waitgroup_t *wg;
};

static void fetch_data(void *arg)
{
	struct fetch *f = arg;
	rg_sleep(RG_MILLISECOND); /* simulate the call */
	snprintf(f->result, sizeof(f->result), "%zu bytes", strlen(f->api) * 100);
	rg_wg_done(f->wg); /* defer wg.Done() */
}

struct doubler {
	int i;
	rg_chan_t *results;
	rg_waitgroup_t *wg;
};

static void double_it(void *arg)
{
	struct doubler *d = arg;
	int v = d->i * 2;
	rg_chan_send(d->results, &v);
	rg_wg_done(d->wg);
}

static void close_when_done(void *arg)
{
	struct doubler *d = arg; /* any of them: they share results and wg */
	rg_wg_wait(d->wg);
	rg_chan_close(d->results);
}

static int run(void *arg)
{
	(void)arg;
	rg_waitgroup_t wg = {0};
	struct fetch calls[] = {{.api = "API-1"}, {.api = "API-22"}, {.api = "API-333"}};

	for (int i = 0; i < 3; i++) {
		calls[i].wg = &wg;
		rg_wg_add(&wg, 1); /* increment counter */
		rg_go(fetch_data, &calls[i]);
	}
	rg_wg_wait(&wg); /* block until all goroutines finish */
	for (int i = 0; i < 3; i++)
		printf("  Done: %s, %s\n", calls[i].api, calls[i].result);
	printf("All API calls finished!\n");

	/* Fan-out, fan-in: close(results) after wg.Wait(). */
	rg_waitgroup_t wg2 = {0};
	rg_chan_t *results = RG_CHAN(int, 0);
	struct doubler d[5];
	for (int i = 0; i < 5; i++) {
		d[i] = (struct doubler){i, results, &wg2};
		rg_wg_add(&wg2, 1);
		rg_go(double_it, &d[i]);
	}
	rg_go(close_when_done, &d[0]);
	int sum = 0, n = 0, v;
	RG_RANGE(results, v) {
		sum += v;
		n++;
	}
	printf("%d results, sum %d\n", n, sum);
	rg_chan_free(results);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
