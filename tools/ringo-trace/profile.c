// SPDX-License-Identifier: MIT
/*
 * profile.c — `ringo-trace profile`: on-CPU sampling at -F HZ (default
 * 99) with perf CPU-clock events on every CPU, the sample attributed to
 * the goroutine running on the thread (profile.bpf.c).  Every sample
 * carries pprof string labels goroutine=<id> and name=<name, or the
 * start function of an unnamed goroutine>; samples on the scheduler's
 * own stack are labelled goroutine=g0, and those on threads that run no
 * scheduler (rg_main's waiting thread, sysmon) goroutine=thread.  A
 * sample taken in the kernel gets a "[kernel]" leaf frame.
 */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>

#include "profile.skel.h"

struct pctx {
	struct target *t;
	struct profile_bpf *skel;
	struct symbolizer *sym;
	bool ready;
};

static void tick(void *arg)
{
	struct pctx *c = arg;
	if (!c->ready && (c->ready = RT_SET_LAYOUT(c->skel, c->t)))
		sym_refresh(c->sym);
}

struct gsum {
	long long goid;
	long long n;
	char name[64];
};

static int cmp_g(const void *a, const void *b)
{
	const struct gsum *x = a, *y = b;
	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

#define KERNEL_MARK 0xffffffffffffff00ull

int cmd_profile(const struct opts *o)
{
	struct target t;
	struct attach a = {0};
	bpf_preflight();
	target_open(&t, o);
	struct profile_bpf *skel = profile_bpf__open_and_load();
	if (!skel)
		rt_die("cannot load the profile BPF program");
	struct pctx c = {&t, skel, sym_open(t.pid), false};
	c.ready = RT_SET_LAYOUT(skel, &t);
	skel->bss->target_tgid = (uint32_t)t.pid;
	attach_perf_all(&a, skel->obj, "sample", o->freq);
	double secs = view_run(&t, o, tick, &c);
	attach_destroy(&a);
	sym_refresh(c.sym);

	int64_t period = 1000000000ll / o->freq;
	struct rt_profile p = {.vtype = {"samples", "cpu"}, .vunit = {"count", "nanoseconds"},
			       .nvalues = 2, .folded_value = 0, .period = period,
			       .title = "ringo-trace profile: on-CPU samples",
			       .duration_ns = (int64_t)(secs * 1e9)};
	int sfd = bpf_map__fd(skel->maps.stacks), cfd = bpf_map__fd(skel->maps.counts);
	int nfd = bpf_map__fd(skel->maps.names);
	struct gsum *gs = NULL;
	int ng = 0;
	long long total = 0;
	struct rt_prof_key k, next;
	void *cur = NULL;
	while (bpf_map_get_next_key(cfd, cur, &next) == 0) {
		unsigned long long n;
		k = next;
		cur = &k;
		if (bpf_map_lookup_elem(cfd, &k, &n) != 0)
			continue;
		struct rt_sample *s = prof_add(&p);
		prof_stack(s, sfd, k.ustack);
		if (k.kstack >= 0 && s->depth < RT_MAX_DEPTH) {
			memmove(s->ips + 1, s->ips, (size_t)s->depth * sizeof(s->ips[0]));
			s->ips[0] = KERNEL_MARK;
			s->depth++;
		}
		s->v[0] = (int64_t)n;
		s->v[1] = (int64_t)n * period;
		char name[64] = "";
		if (k.goid == RT_GOID_G0) {
			snprintf(s->label_val[0], 64, "g0");
			snprintf(name, sizeof(name), "g0 (scheduler)");
		} else if (k.goid == RT_GOID_NOM) {
			snprintf(s->label_val[0], 64, "thread");
			snprintf(name, sizeof(name), "thread (not an M)");
		} else {
			snprintf(s->label_val[0], 64, "%lld", k.goid);
			struct rt_gname gn;
			if (bpf_map_lookup_elem(nfd, &k.goid, &gn) == 0) {
				gn.name[RT_NAME_LEN - 1] = 0;
				if (gn.name[0])
					snprintf(name, sizeof(name), "%s", gn.name);
				else if (gn.fn)
					snprintf(name, sizeof(name), "%s",
						 sym_name(c.sym, gn.fn, false, NULL));
			}
			if (!name[0])
				snprintf(name, sizeof(name), "?");
		}
		snprintf(s->label_key[0], 16, "goroutine");
		snprintf(s->label_key[1], 16, "name");
		snprintf(s->label_val[1], 64, "%s", name);
		s->nlabels = 2;
		total += (long long)n;
		int i;
		for (i = 0; i < ng && gs[i].goid != k.goid; i++)
			;
		if (i == ng) {
			gs = realloc(gs, (size_t)(ng + 1) * sizeof(*gs));
			gs[ng].goid = k.goid;
			gs[ng].n = 0;
			snprintf(gs[ng].name, sizeof(gs[ng].name), "%s", name);
			ng++;
		}
		gs[i].n += (long long)n;
	}
	printf("On-CPU samples of %d over %.1fs at %d Hz: %lld\n", (int)t.pid, secs, o->freq,
	       total);
	qsort(gs, (size_t)ng, sizeof(*gs), cmp_g);
	printf("\n%-10s %-32s %8s %6s\n", "goroutine", "name", "samples", "%");
	for (int i = 0; i < ng && i < 15; i++) {
		char id[24];
		if (gs[i].goid > 0)
			snprintf(id, sizeof(id), "%lld", gs[i].goid);
		else
			snprintf(id, sizeof(id), "%s", gs[i].goid == 0 ? "g0" : "-");
		printf("%-10s %-32.32s %8lld %5.1f%%\n", id, gs[i].name, gs[i].n,
		       total ? 100.0 * (double)gs[i].n / (double)total : 0.0);
	}
	free(gs);
	printf("\nTop stacks:");
	prof_print_top(&p, c.sym, 0, 5, stdout);
	prof_write(&p, c.sym, o);
	prof_free(&p);
	int rc = view_end(&t, NULL);
	sym_close(c.sym);
	profile_bpf__destroy(skel);
	return rc;
}
