// SPDX-License-Identifier: MIT
/*
 * jobs.c — the work that runs on the bounded pool: hash, sleep, exec.
 *
 * A job request goes:
 *
 *   connection goroutine                  pool worker
 *   --------------------                  -----------
 *   job = {refs 2, ctx = deadline}
 *   rg_pool_try_submit ── full: 503 ──┐
 *   flush earlier responses           │   job_run: queued--, busy++
 *   select { job->done, ctx done }    │   run (checks ctx as it goes)
 *     done first: answer its result   │   busy--, send job->done
 *     ctx first:  504                 │   unref
 *   ctx_end(ctx)        ──────────────┘   (a job past its deadline
 *   unref                                  sees ctx cancelled: hash
 *                                          stops, sleep wakes, exec
 *                                          is killed)
 *
 * Ownership: the job is shared by the connection and the worker, and
 * freed by whichever drops the last of its two references (refs, an
 * atomic: acq_rel on the decrement, so the freeing side sees every
 * write the other side made to the job).  The job owns its body (taken
 * from the connection, which may move on to the next request after a
 * 504 while the worker still reads it) and its output.  The deadline
 * context is created by the connection (which cancels it when it stops
 * waiting: that is what tells a late job to stop) and retained by the
 * job for the worker.  `done` has capacity 1, so the worker's send
 * never blocks, even when nobody waits any more.
 *
 * Why a pool and not a goroutine per job: the pool is the bound.  A
 * CPU-bound hash of a million rounds holds its worker for a while; with
 * --workers W and --queue Q, at most W run and Q wait, and the next one
 * is told 503 at once instead of piling up memory and latency.
 *
 * The hash job yields (rg_yield) and checks its context every
 * HASH_SLICE rounds: ringo does not preempt, so a long hash would
 * otherwise hold its P and starve the connections scheduled on it.
 *
 * Sleep waits on a child context with the requested timeout: its Done
 * channel closes at the time asked for, or earlier if the request's
 * deadline (the parent) passes; that is Go's
 *     select { case <-time.After(d): case <-ctx.Done(): }
 * without a separate timer.
 *
 * Exec runs only programs named with --allow at start, by absolute path,
 * with argv[0] = NAME and no other argument, a fixed small environment,
 * the body as stdin (a memfd: no writer goroutine, no pipe deadlock),
 * stdout read through a pipe up to --max-output, in its own process
 * group, and with the request's context on every wait: past the
 * deadline the process group is killed and reaped.
 */
#include "server.h"

#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HASH_SLICE 1024
#define MAX_ROUNDS 1000000
#define MAX_SLEEP_MS 60000

enum { JOB_HASH, JOB_SLEEP, JOB_EXEC };

typedef struct job {
	_Atomic int refs;
	int kind;
	rg_ctx_t *ctx;           /* the request's deadline (retained) */
	rg_chan_t *done;         /* cap 1: the worker's "finished" */
	char *body;              /* owned */
	size_t body_len;
	int64_t rounds, ms;      /* hash, sleep */
	const allow_entry_t *prog; /* exec */
	int status;              /* result */
	const char *ctype;
	char *out;               /* owned, malloc'd */
	size_t out_len;
	char extra[96];          /* extra response headers */
} job_t;

static rg_pool_t *pool;
static const EVP_MD *sha256;

int jobs_init(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256) {
		fprintf(stderr, "ringo-pool: OpenSSL has no SHA256\n");
		return -ENOSYS;
	}
	pool = rg_pool_new(cfg.workers, cfg.queue);
	if (!pool) {
		fprintf(stderr, "ringo-pool: rg_pool_new(%d, %d): %s\n", cfg.workers, cfg.queue,
			strerror(errno));
		return -errno;
	}
	return 0;
}

void jobs_drain(void)
{
	if (!pool)
		return;
	rg_pool_close(pool);
	rg_pool_wait(pool);
	rg_pool_free(pool);
	pool = NULL;
	EVP_MD_free((EVP_MD *)sha256);
	sha256 = NULL;
}

static void job_unref(job_t *j)
{
	/* acq_rel: the last one out sees every write the other made. */
	if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
		return;
	rg_ctx_release(j->ctx);
	rg_chan_free(j->done);
	free(j->body);
	free(j->out);
	free(j);
}

static void job_result(job_t *j, int status, const char *text)
{
	j->status = status;
	j->ctype = "text/plain; charset=utf-8";
	free(j->out);
	j->out = strdup(text);
	j->out_len = j->out ? strlen(j->out) : 0;
}

/* ---- hash ------------------------------------------------------------ */

static void run_hash(job_t *j)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *h = EVP_MD_CTX_new();

	if (!h || !EVP_DigestInit_ex(h, sha256, NULL) ||
	    !EVP_DigestUpdate(h, j->body, j->body_len) || !EVP_DigestFinal_ex(h, md, &mdlen)) {
		EVP_MD_CTX_free(h);
		job_result(j, 500, "hash failed\n");
		return;
	}
	for (int64_t i = 1; i < j->rounds; i++) {
		if (i % HASH_SLICE == 0) {
			if (rg_ctx_err(j->ctx)) {
				EVP_MD_CTX_free(h);
				job_result(j, 504, "deadline exceeded\n");
				return;
			}
			rg_yield();
		}
		if (!EVP_DigestInit_ex(h, NULL, NULL) || !EVP_DigestUpdate(h, md, mdlen) ||
		    !EVP_DigestFinal_ex(h, md, &mdlen))
			break;
	}
	EVP_MD_CTX_free(h);
	char hex[2 * EVP_MAX_MD_SIZE + 2];
	static const char digits[] = "0123456789abcdef";
	for (unsigned i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * mdlen] = '\n';
	hex[2 * mdlen + 1] = 0;
	job_result(j, 200, hex);
}

/* ---- sleep ----------------------------------------------------------- */

static void run_sleep(job_t *j)
{
	rg_ctx_t *t = rg_ctx_with_timeout(j->ctx, j->ms * RG_MILLISECOND);
	rg_chan_recv(rg_ctx_done(t), NULL);
	ctx_end(t);
	if (rg_ctx_err(j->ctx)) {
		job_result(j, 504, "deadline exceeded\n");
		return;
	}
	char msg[64];
	snprintf(msg, sizeof(msg), "slept %lld ms\n", (long long)j->ms);
	job_result(j, 200, msg);
}

/* ---- exec ------------------------------------------------------------ */

static void run_exec(job_t *j)
{
	static char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", NULL};
	char *const argv[] = {(char *)j->prog->name, NULL};
	int in = -1;
	rg_cmd_t *cmd = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	bool too_big = false;

	in = memfd_create("ringo-pool-stdin", MFD_CLOEXEC);
	if (in < 0 || (j->body_len && rg_pwrite(in, j->body, j->body_len, 0, NULL) < 0)) {
		job_result(j, 500, "cannot stage stdin\n");
		goto out;
	}
	cmd = rg_command(j->prog->path, argv);
	if (!cmd) {
		job_result(j, 500, "cannot make the command\n");
		goto out;
	}
	rg_cmd_set_env(cmd, envp);
	rg_cmd_set_stdin(cmd, in);
	rg_cmd_set_pgid(cmd, true);
	rg_cmd_set_pdeathsig(cmd, SIGKILL);
	int outfd = rg_cmd_stdout_pipe(cmd);
	if (outfd < 0) {
		job_result(j, 500, "cannot make a pipe\n");
		goto out;
	}
	int e = rg_cmd_start(cmd);
	if (e < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "cannot start %s: %s\n", j->prog->name, strerror(-e));
		job_result(j, 500, msg);
		goto out;
	}
	for (;;) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *p = realloc(buf, ncap + 1);
			if (!p)
				break;
			buf = p;
			cap = ncap;
		}
		ssize_t n = rg_read(outfd, buf + len, cap - len, j->ctx);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > cfg.max_output) {
			too_big = true;
			rg_cmd_signal(cmd, SIGKILL);
			break;
		}
	}
	/* With the ctx past its deadline this kills the group and reaps. */
	int code = rg_cmd_wait(cmd, j->ctx);
	if (code < 0 && rg_ctx_err(j->ctx)) {
		atomic_fetch_add_explicit(&m.exec_killed, 1, memory_order_relaxed);
		job_result(j, 504, "deadline exceeded: the process was killed\n");
	} else if (code < 0) {
		char msg[96];
		snprintf(msg, sizeof(msg), "wait failed: %s\n", strerror(-code));
		job_result(j, 500, msg);
	} else if (too_big) {
		job_result(j, 502, "output larger than --max-output\n");
	} else {
		j->status = 200;
		j->ctype = "application/octet-stream";
		free(j->out);
		j->out = buf ? buf : strdup("");
		j->out_len = len;
		buf = NULL;
		snprintf(j->extra, sizeof(j->extra), "X-Exit-Code: %d\r\n", code);
	}
out:
	free(buf);
	if (cmd)
		rg_cmd_free(cmd);
	if (in >= 0)
		rg_close(in);
}

/* ---- the pool side ---------------------------------------------------- */

static void job_run(void *arg)
{
	job_t *j = arg;

	atomic_fetch_sub_explicit(&m.jobs_queued, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m.jobs_busy, 1, memory_order_relaxed);
	if (rg_ctx_err(j->ctx)) {
		job_result(j, 504, "deadline exceeded before a worker was free\n");
	} else {
		switch (j->kind) {
		case JOB_HASH: run_hash(j); break;
		case JOB_SLEEP: run_sleep(j); break;
		case JOB_EXEC: run_exec(j); break;
		}
	}
	atomic_fetch_sub_explicit(&m.jobs_busy, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m.jobs_done, 1, memory_order_relaxed);
	char one = 1;
	rg_chan_send(j->done, &one);
	job_unref(j);
}

/* The connection's side: submit, wait for the result or the deadline,
 * answer.  Takes the request's body. */
static void submit(req_t *r, job_t *j)
{
	j->refs = 2;
	j->done = rg_chan_make(1, 1);
	j->ctx = rg_ctx_with_deadline(srv.kill_ctx, r->start + cfg.timeout);
	rg_ctx_retain(j->ctx); /* the job's own reference, for the worker */
	j->body = req_take_body(r, &j->body_len);

	atomic_fetch_add_explicit(&m.jobs_queued, 1, memory_order_relaxed);
	int e = j->done ? rg_pool_try_submit(pool, job_run, j) : -ENOMEM;
	if (e < 0) {
		atomic_fetch_sub_explicit(&m.jobs_queued, 1, memory_order_relaxed);
		ctx_end(j->ctx);
		job_unref(j); /* the worker's reference: it never got the job */
		job_unref(j);
		if (e == -EPIPE) {
			metrics_reject(RJ_DRAINING);
			resp_error(r, 503, "Retry-After: 1\r\n", "shutting down");
		} else {
			metrics_reject(RJ_QUEUE);
			resp_error(r, 503, "Retry-After: 1\r\n", "all workers busy and the queue is full");
		}
		return;
	}
	/* Earlier pipelined answers leave now, not after this job. */
	resp_flush(r);
	rg_case_t cases[] = {RG_RECV(j->done, NULL), RG_RECV(rg_ctx_done(j->ctx), NULL)};
	int which = rg_select(cases, 2, true);
	if (which == 1) {
		/* The deadline won, or the grace period ended. */
		metrics_reject(RJ_TIMEOUT);
		ctx_end(j->ctx); /* tells the job to stop */
		resp_error(r, 504, NULL, "deadline exceeded");
	} else {
		ctx_end(j->ctx);
		if (j->status == 504)
			metrics_reject(RJ_TIMEOUT);
		resp_send(r, j->status, j->ctype, j->extra[0] ? j->extra : NULL, j->out,
			  j->out_len);
	}
	job_unref(j);
}


/* ---- the endpoints ---------------------------------------------------- */

static job_t *job_new(int kind)
{
	job_t *j = calloc(1, sizeof(*j));
	if (j)
		j->kind = kind;
	return j;
}

void handle_hash(req_t *r)
{
	size_t vlen;
	const char *v = query_get(r->query, r->query_len, "rounds", &vlen);
	int64_t rounds = v ? parse_uint(v, vlen) : 1;
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		metrics_reject(RJ_BAD);
		resp_error(r, 400, NULL, "rounds must be an integer from 1 to 1000000");
		return;
	}
	job_t *j = job_new(JOB_HASH);
	if (!j) {
		resp_error(r, 500, NULL, "out of memory");
		return;
	}
	j->rounds = rounds;
	submit(r, j);
}

void handle_sleep(req_t *r)
{
	size_t vlen;
	const char *v = query_get(r->query, r->query_len, "ms", &vlen);
	int64_t ms = v ? parse_uint(v, vlen) : -1;
	if (ms < 0 || ms > MAX_SLEEP_MS) {
		metrics_reject(RJ_BAD);
		resp_error(r, 400, NULL, "ms must be an integer from 0 to 60000");
		return;
	}
	job_t *j = job_new(JOB_SLEEP);
	if (!j) {
		resp_error(r, 500, NULL, "out of memory");
		return;
	}
	j->ms = ms;
	submit(r, j);
}

void handle_exec(req_t *r, const char *name, size_t name_len)
{
	const allow_entry_t *prog = NULL;
	for (int i = 0; i < cfg.nallow; i++)
		if (strlen(cfg.allow[i].name) == name_len &&
		    memcmp(cfg.allow[i].name, name, name_len) == 0)
			prog = &cfg.allow[i];
	if (!prog) {
		resp_error(r, 404, NULL, "no such command (not in the --allow list)");
		return;
	}
	job_t *j = job_new(JOB_EXEC);
	if (!j) {
		resp_error(r, 500, NULL, "out of memory");
		return;
	}
	j->prog = prog;
	submit(r, j);
}
