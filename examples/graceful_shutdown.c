// SPDX-License-Identifier: MIT
/*
 * graceful_shutdown — the seed's graceful shutdown: a signal-aware
 * context (signal.NotifyContext), workers that stop taking work when it
 * ends and finish what they hold, a shutdown that runs once (sync.Once)
 * and a bounded wait for the drain (context.WithTimeout).
 *
 *     ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
 *     defer stop()
 *     go worker(ctx) ...
 *     <-ctx.Done()
 *     log.Println("Shutdown signal received")
 *     shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
 *
 * stop() is rg_ctx_cancel on the signal context: from then on a second
 * SIGINT or SIGTERM ends the program at once, as Go's default.  The
 * program sends itself SIGTERM once every worker has handled a job, as
 * Kubernetes would at a pod's termination.
 */
#include <ringo.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#define WORKERS 3

static rg_waitgroup_t wg;
static rg_once_t shutdown_once;

struct shared {
	rg_ctx_t *ctx;    /* the signal context */
	rg_chan_t *jobs;  /* int job numbers */
	rg_chan_t *ready; /* a worker's first job is done */
};

static void worker(void *arg)
{
	struct shared *s = arg;
	bool first = true;
	for (;;) {
		int job;
		rg_case_t cs[] = {RG_RECV(rg_ctx_done(s->ctx), NULL), RG_RECV(s->jobs, &job)};
		if (rg_select(cs, 2, true) == 0)
			break; /* <-ctx.Done(): stop taking work */
		rg_sleep(RG_MILLISECOND); /* the job */
		fprintf(stderr, "job %d done\n", job);
		if (first) {
			first = false;
			rg_chan_send(s->ready, &job);
		}
	}
	rg_wg_done(&wg);
}

static void producer(void *arg)
{
	struct shared *s = arg;
	for (int i = 0;; i++) {
		rg_case_t cs[] = {RG_RECV(rg_ctx_done(s->ctx), NULL), RG_SEND(s->jobs, &i)};
		if (rg_select(cs, 2, true) == 0)
			break;
	}
	rg_wg_done(&wg);
}

static void wait_workers(void *arg)
{
	rg_wg_wait(&wg);
	rg_chan_close(arg);
}

static void begin_shutdown(void *arg)
{
	(void)arg;
	puts("starting shutdown...");
}

static int run(void *arg)
{
	(void)arg;
	int sigs[] = {SIGINT, SIGTERM};
	rg_ctx_t *ctx = rg_signal_notify_ctx(rg_ctx_background(), sigs, 2);
	struct shared s = {ctx, RG_CHAN(int, 0), RG_CHAN(int, WORKERS)};

	rg_wg_add(&wg, WORKERS + 1);
	for (int i = 0; i < WORKERS; i++)
		rg_go_named("worker", worker, &s);
	rg_go_named("producer", producer, &s);
	for (int i = 0; i < WORKERS; i++)
		rg_chan_recv(s.ready, NULL);
	puts("all workers busy; sending SIGTERM");
	kill(getpid(), SIGTERM);

	rg_chan_recv(rg_ctx_done(ctx), NULL); /* <-ctx.Done() */
	rg_ctx_cancel(ctx);                   /* stop() */
	puts("Shutdown signal received");
	rg_once_do(&shutdown_once, begin_shutdown, NULL);
	rg_once_do(&shutdown_once, begin_shutdown, NULL); /* idempotent */

	/* Give the workers up to 10 s to finish what they hold. */
	rg_chan_t *done = rg_chan_make(0, 0);
	rg_go(wait_workers, done);
	rg_ctx_t *grace = rg_ctx_with_timeout(rg_ctx_background(), 10 * RG_SECOND);
	rg_case_t cs[] = {RG_RECV(done, NULL), RG_RECV(rg_ctx_done(grace), NULL)};
	if (rg_select(cs, 2, true) == 0)
		puts("workers drained; exiting properly");
	else
		puts("grace period over");
	rg_ctx_cancel(grace);
	rg_ctx_release(grace);
	rg_ctx_release(ctx);
	rg_chan_free(done);
	rg_chan_free(s.jobs);
	rg_chan_free(s.ready);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
