// SPDX-License-Identifier: MIT
/*
 * context — Go's context package: cancellation, deadlines and
 * request-scoped values handed down a tree of calls and goroutines.
 *
 *     ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
 *     defer cancel()
 *     select {
 *     case <-time.After(5 * time.Second): fmt.Println("Operation done")
 *     case <-ctx.Done():                  fmt.Println("Timeout:", ctx.Err())
 *     }
 *
 * rg_ctx_done(ctx) is ctx.Done(), a channel to select on; rg_ctx_err is
 * ctx.Err(): -ECANCELED (context.Canceled) or -ETIMEDOUT
 * (context.DeadlineExceeded).  C has no collector, so Go's
 * `defer cancel()` is rg_ctx_cancel then rg_ctx_release.
 */
#include <ringo.h>
#include <stdio.h>

/* What Go's errors print. */
static const char *err_text(int err)
{
	switch (err) {
	case 0:
		return "<nil>";
	case -ECANCELED:
		return "context canceled";
	case -ETIMEDOUT:
		return "context deadline exceeded";
	default:
		return "unexpected error";
	}
}

static void cancel_soon(void *arg)
{
	rg_ctx_t *ctx = arg;
	rg_sleep(20 * RG_MILLISECOND);
	rg_ctx_cancel(ctx); /* signal cancellation */
	rg_ctx_release(ctx); /* the reference main retained for us */
}

/* The seed's fetchData: 5 s of "work", unless ctx ends first. */
static int fetch_data(rg_ctx_t *ctx, const char **result)
{
	rg_chan_t *work = rg_after(5 * RG_SECOND);
	rg_case_t cs[] = {RG_RECV(work, NULL), RG_RECV(rg_ctx_done(ctx), NULL)};
	int err = 0;

	if (rg_select(cs, 2, true) == 0)
		*result = "Fetched data!";
	else
		err = rg_ctx_err(ctx);
	rg_chan_free(work);
	return err;
}

static const char user_id_key; /* keys compare by address */

static void process(rg_ctx_t *ctx)
{
	int *id = rg_ctx_value(ctx, &user_id_key);
	printf("User ID: %d\n", id ? *id : -1);
}

static int run(void *arg)
{
	(void)arg;

	/* WithCancel: another goroutine cancels. */
	rg_ctx_t *ctx = rg_ctx_with_cancel(rg_ctx_background());
	if (!ctx)
		return 1;
	rg_go(cancel_soon, rg_ctx_retain(ctx));
	rg_chan_recv(rg_ctx_done(ctx), NULL); /* case <-ctx.Done(): */
	printf("Cancelled: %s\n", err_text(rg_ctx_err(ctx)));
	rg_ctx_release(ctx);

	/* WithTimeout: the deadline comes before the operation. */
	ctx = rg_ctx_with_timeout(rg_ctx_background(), 30 * RG_MILLISECOND);
	if (!ctx)
		return 1;
	rg_chan_t *op = rg_after(5 * RG_SECOND);
	rg_case_t cs[] = {RG_RECV(op, NULL), RG_RECV(rg_ctx_done(ctx), NULL)};
	if (rg_select(cs, 2, true) == 0)
		printf("Operation done\n");
	else
		printf("Timeout: %s\n", err_text(rg_ctx_err(ctx)));
	rg_chan_free(op);
	rg_ctx_cancel(ctx); /* defer cancel() */
	rg_ctx_release(ctx);

	/* WithDeadline: an absolute time; Deadline() reports it. */
	int64_t deadline = rg_now() + 2 * RG_SECOND, d;
	ctx = rg_ctx_with_deadline(rg_ctx_background(), deadline);
	if (!ctx)
		return 1;
	printf("deadline set: %s, err now: %s\n",
	       rg_ctx_deadline(ctx, &d) && d == deadline ? "yes" : "no", err_text(rg_ctx_err(ctx)));

	/* Cancelling a parent cancels its descendants, and fetchData stops. */
	rg_ctx_t *child = rg_ctx_with_cancel(ctx);
	if (!child)
		return 1;
	const char *result = NULL;
	rg_ctx_cancel(ctx);
	int err = fetch_data(child, &result);
	printf("fetchData: %s\n", err ? err_text(err) : result);
	rg_ctx_release(child);
	rg_ctx_release(ctx);

	/* WithValue: request-scoped data down the call chain. */
	int user = 42;
	ctx = rg_ctx_with_value(rg_ctx_background(), &user_id_key, &user);
	if (!ctx)
		return 1;
	process(ctx);
	rg_ctx_release(ctx);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
