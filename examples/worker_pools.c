// SPDX-License-Identifier: MIT
/*
 * worker_pools — a fixed number of goroutines ranging over a jobs
 * channel and sending on a results channel:
 *
 *     for w := 1; w <= numWorkers; w++ { go worker(w, jobs, results) }
 *     for j := 1; j <= numJobs; j++ { jobs <- Job{ID: j} }
 *     close(jobs)
 *     for a := 1; a <= numJobs; a++ { fmt.Println((<-results).Outcome) }
 *
 * Only numWorkers jobs run at once; closing jobs ends the workers'
 * RG_RANGE loops.  Which worker takes which job, and the order results
 * arrive in, differ from run to run: the workers log that on stderr,
 * and main files each result under its job and prints them in job
 * order on stdout.
 *
 * The second part is the same pool as a library call, rg_pool_t (the
 * jobs channel, its workers, close(jobs) and wg.Wait() in one object),
 * with an atomic counter for the results.
 */
#include <ringo.h>
#include <stdatomic.h>
#include <stdio.h>

#define NUM_JOBS 10
#define NUM_WORKERS 3

typedef struct {
	int id;
} job_t;

typedef struct {
	int job_id;
	int worker;
	int outcome;
} result_t;

/* C has no collector: main frees the channels only once every worker
 * has left its loop (Go would let them be collected). */
static rg_waitgroup_t workers_done;

struct worker {
	int id;
	rg_chan_t *jobs;    /* <-chan Job */
	rg_chan_t *results; /* chan<- Result */
};

static void worker(void *arg)
{
	struct worker *w = arg;
	job_t job;

	RG_RANGE(w->jobs, job) { /* for job := range jobs */
		fprintf(stderr, "Worker %d started job %d\n", w->id, job.id);
		rg_sleep(RG_MILLISECOND); /* simulate heavy work */
		result_t r = {job.id, w->id, job.id * 2};
		rg_chan_send(w->results, &r);
		fprintf(stderr, "Worker %d finished job %d\n", w->id, job.id);
	}
	rg_wg_done(&workers_done);
}

static _Atomic int64_t total;

static void add_job(void *arg)
{
	atomic_fetch_add(&total, (int64_t)(intptr_t)arg * 2);
}

static int run(void *arg)
{
	(void)arg;
	rg_chan_t *jobs = RG_CHAN(job_t, NUM_JOBS);
	rg_chan_t *results = RG_CHAN(result_t, NUM_JOBS);
	struct worker workers[NUM_WORKERS];

	for (int w = 0; w < NUM_WORKERS; w++) { /* start workers */
		workers[w] = (struct worker){w + 1, jobs, results};
		rg_wg_add(&workers_done, 1);
		rg_go(worker, &workers[w]);
	}
	for (int j = 1; j <= NUM_JOBS; j++) { /* send jobs */
		job_t job = {j};
		rg_chan_send(jobs, &job);
	}
	rg_chan_close(jobs); /* no more jobs */

	int outcome[NUM_JOBS + 1];
	for (int a = 0; a < NUM_JOBS; a++) { /* receive all results */
		result_t r;
		rg_chan_recv(results, &r);
		outcome[r.job_id] = r.outcome;
	}
	for (int j = 1; j <= NUM_JOBS; j++)
		printf("Job %d done: %d\n", j, outcome[j]);
	printf("All jobs completed!\n");
	rg_wg_wait(&workers_done);
	rg_chan_free(jobs);
	rg_chan_free(results);

	/* The library's pool: 3 workers, a queue of 16. */
	rg_pool_t *pool = rg_pool_new(NUM_WORKERS, 16);
	for (intptr_t j = 1; j <= 100; j++)
		rg_pool_submit(pool, add_job, (void *)j, NULL); /* waits while the queue is full */
	rg_pool_close(pool);
	rg_pool_wait(pool);
	printf("rg_pool: 100 jobs, total %lld\n", (long long)atomic_load(&total));
	rg_pool_free(pool);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
