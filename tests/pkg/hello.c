// SPDX-License-Identifier: MIT
/*
 * hello.c — a small program built against an installed ringo (by
 * tests/pkg/install.sh, with $(pkg-config --cflags --libs ringo), once
 * shared and once static): goroutines, a channel, select with a
 * context deadline, I/O on a pipe, the growable stats struct and the
 * version.  Prints one line and exits 0 when everything held.
 */
#include <ringo.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void worker(void *arg)
{
	rg_chan_t *results = arg;
	int v = 1;
	rg_chan_send(results, &v);
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *results = RG_CHAN(int, 0);
	int sum = 0, v, p[2];

	for (int i = 0; i < 3; i++)
		if (rg_go(worker, results) < 0)
			return 1;
	for (int i = 0; i < 3; i++)
		if (rg_chan_recv(results, &v))
			sum += v;

	/* Nobody sends any more: the deadline ends the select. */
	rg_ctx_t *ctx = rg_ctx_with_timeout(rg_ctx_background(), 10 * RG_MILLISECOND);
	if (!ctx)
		return 2;
	rg_case_t cs[] = {RG_RECV(results, &v), RG_RECV(rg_ctx_done(ctx), NULL)};
	int chosen = rg_select(cs, 2, true);
	int err = rg_ctx_err(ctx);
	rg_ctx_cancel(ctx);
	rg_ctx_release(ctx);

	char buf[8] = {0};
	if (pipe(p) < 0 || rg_write(p[1], "ring", 4, NULL) != 4 ||
	    rg_read(p[0], buf, sizeof(buf), NULL) != 4 || strcmp(buf, "ring") != 0)
		return 3;
	rg_close(p[0]);
	rg_close(p[1]);

	rg_stats_t st;
	if (rg_stats(&st) != 0 || st.procs != rg_procs() || st.spawned < 4)
		return 4;
	rg_chan_free(results);
	if (sum != 3 || chosen != 1 || err != -ETIMEDOUT)
		return 5;
	printf("hello from ringo %d.%d.%d on %s: %d goroutines done\n",
	       rg_version() / 1000000, rg_version() / 1000 % 1000, rg_version() % 1000,
	       rg_io_backend(), sum);
	return 0;
}

int main(void)
{
	if (rg_version() != RINGO_VERSION_NUMBER) {
		fprintf(stderr, "header %s, library %d\n", RINGO_VERSION_STRING, rg_version());
		return 10;
	}
	return rg_main(run, NULL);
}
