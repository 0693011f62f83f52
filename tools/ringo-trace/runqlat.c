// SPDX-License-Identifier: MIT
/*
 * runqlat.c — `ringo-trace runqlat`: how long goroutines wait in run
 * queues, from runnable (created, readied, yielded) to running, as a
 * log2 histogram in microseconds (bcc's runqlat, for goroutines instead
 * of threads).  Everything is summed in the kernel (runqlat.bpf.c).
 */
#include "trace.h"

#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <stdlib.h>

#include "runqlat.skel.h"

struct rq_ctx {
	struct runqlat_bpf *skel;
	struct target *t;
	bool ready;
};

static void tick(void *arg)
{
	struct rq_ctx *c = arg;
	if (!c->ready)
		c->ready = RT_SET_LAYOUT(c->skel, c->t);
}

int cmd_runqlat(const struct opts *o)
{
	struct target t;
	struct attach a = {0};
	bpf_preflight();
	target_open(&t, o);
	struct runqlat_bpf *skel = runqlat_bpf__open_and_load();
	if (!skel)
		rt_die("cannot load the runqlat BPF program");
	struct rq_ctx c = {skel, &t, RT_SET_LAYOUT(skel, &t)};
	attach_usdt_all(&a, skel->obj, &t);
	double secs = view_run(&t, o, tick, &c);

	int ncpu = libbpf_num_possible_cpus();
	struct rt_hist *per = calloc((size_t)ncpu, sizeof(*per));
	struct rt_hist sum = {{0}};
	unsigned zero = 0;
	if (per && bpf_map__lookup_elem(skel->maps.hist, &zero, sizeof(zero), per,
					(size_t)ncpu * sizeof(*per), 0) == 0)
		for (int i = 0; i < ncpu; i++)
			for (int s = 0; s < RT_HIST_SLOTS; s++)
				sum.slots[s] += per[i].slots[s];
	free(per);
	unsigned long long n = 0;
	for (int s = 0; s < RT_HIST_SLOTS; s++)
		n += sum.slots[s];
	printf("Run-queue latency of goroutines in %d over %.1fs (%llu runs):\n",
	       (int)t.pid, secs, n);
	print_hist(stdout, sum.slots, RT_HIST_SLOTS, "usecs");
	int rc = view_end(&t, &a);
	runqlat_bpf__destroy(skel);
	return rc;
}
