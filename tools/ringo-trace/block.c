// SPDX-License-Identifier: MIT
/*
 * block.c — `ringo-trace block` and `ringo-trace mutex`: where goroutines
 * wait and for how long (Go's block and mutex profiles).
 *
 * block: every park, by wait reason and the user stack at the park
 * (block.bpf.c).  mutex: every contended rg_mutex_lock, by lock, the
 * waiter's stack and the stack of the unlock that woke it (mutex.bpf.c).
 * Both print the top stacks with the user function that waited, and
 * write --folded/--pprof/--svg with two values per stack: contentions
 * (count) and delay (nanoseconds), Go's sample types; folded and SVG use
 * the delay.
 */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>

#include "block.skel.h"
#include "mutex.skel.h"

struct bctx {
	struct target *t;
	struct block_bpf *b;
	struct mutex_bpf *m;
	struct symbolizer *sym;
	bool ready;
};

static void tick(void *arg)
{
	struct bctx *c = arg;
	if (c->ready)
		return;
	c->ready = c->b ? RT_SET_LAYOUT(c->b, c->t) : RT_SET_LAYOUT(c->m, c->t);
	if (c->ready)
		sym_refresh(c->sym);
}

static void summary(struct rt_profile *p, struct symbolizer *sym, const char *what)
{
	long long n = 0, ns = 0;
	for (int i = 0; i < p->n; i++) {
		n += p->s[i].v[0];
		ns += p->s[i].v[1];
	}
	char b[32];
	printf("%lld %s, %s waited in all, %d distinct stacks; top stacks by time "
	       "waited (leaf first):\n", n, what, fmt_ns((double)ns, b, sizeof(b)), p->n);
	prof_print_top(p, sym, 1, 10, stdout);
}

static int run_block(const struct opts *o)
{
	struct target t;
	struct attach a = {0};
	bpf_preflight();
	target_open(&t, o);
	struct block_bpf *skel = block_bpf__open_and_load();
	if (!skel)
		rt_die("cannot load the block BPF program");
	struct bctx c = {.t = &t, .b = skel, .sym = sym_open(t.pid)};
	c.ready = RT_SET_LAYOUT(skel, &t);
	attach_usdt_all(&a, skel->obj, &t);
	double secs = view_run(&t, o, tick, &c);
	attach_destroy(&a);  /* stop counting before reading */
	sym_refresh(c.sym);

	struct rt_profile p = {.vtype = {"contentions", "delay"},
			       .vunit = {"count", "nanoseconds"}, .nvalues = 2,
			       .folded_value = 1, .title = "ringo-trace block: time waited",
			       .duration_ns = (int64_t)(secs * 1e9)};
	int sfd = bpf_map__fd(skel->maps.stacks), mfd = bpf_map__fd(skel->maps.sums);
	struct rt_block_key k, next;
	void *cur = NULL;
	while (bpf_map_get_next_key(mfd, cur, &next) == 0) {
		struct rt_sum v;
		k = next;
		cur = &k;
		if (bpf_map_lookup_elem(mfd, &k, &v) != 0)
			continue;
		struct rt_sample *s = prof_add(&p);
		prof_stack(s, sfd, k.stackid);
		s->v[0] = (int64_t)v.count;
		s->v[1] = (int64_t)v.total_ns;
		snprintf(s->prefix, sizeof(s->prefix), "%s", reason_name(&t, k.reason));
		const char *src, *site = prof_user_site(s, c.sym, &src);
		snprintf(s->label_key[0], sizeof(s->label_key[0]), "site");
		snprintf(s->label_val[0], sizeof(s->label_val[0]), "%s", site ? site : "?");
		s->nlabels = 1;
	}
	printf("Blocking in %d over %.1fs: ", (int)t.pid, secs);
	summary(&p, c.sym, "waits");
	prof_write(&p, c.sym, o);
	prof_free(&p);
	int rc = view_end(&t, NULL);
	sym_close(c.sym);
	block_bpf__destroy(skel);
	return rc;
}

static int run_mutex(const struct opts *o)
{
	struct target t;
	struct attach a = {0};
	bpf_preflight();
	target_open(&t, o);
	struct mutex_bpf *skel = mutex_bpf__open_and_load();
	if (!skel)
		rt_die("cannot load the mutex BPF program");
	struct bctx c = {.t = &t, .m = skel, .sym = sym_open(t.pid)};
	c.ready = RT_SET_LAYOUT(skel, &t);
	attach_usdt_all(&a, skel->obj, &t);
	double secs = view_run(&t, o, tick, &c);
	attach_destroy(&a);
	sym_refresh(c.sym);

	struct rt_profile p = {.vtype = {"contentions", "delay"},
			       .vunit = {"count", "nanoseconds"}, .nvalues = 2,
			       .folded_value = 1, .title = "ringo-trace mutex: time waited for locks",
			       .duration_ns = (int64_t)(secs * 1e9)};
	int sfd = bpf_map__fd(skel->maps.stacks), mfd = bpf_map__fd(skel->maps.sums);
	struct rt_mutex_key k, next;
	void *cur = NULL;
	/* Per lock totals, for the table. */
	struct lk { uint64_t mu; long long n, ns; } *locks = NULL;
	int nlocks = 0;
	while (bpf_map_get_next_key(mfd, cur, &next) == 0) {
		struct rt_sum v;
		k = next;
		cur = &k;
		if (bpf_map_lookup_elem(mfd, &k, &v) != 0)
			continue;
		struct rt_sample *s = prof_add(&p);
		prof_stack(s, sfd, k.wstack);
		s->v[0] = (int64_t)v.count;
		s->v[1] = (int64_t)v.total_ns;
		const char *src, *site = prof_user_site(s, c.sym, &src);
		struct rt_sample hs;
		memset(&hs, 0, sizeof(hs));
		prof_stack(&hs, sfd, k.hstack);
		const char *hsite = hs.depth ? prof_user_site(&hs, c.sym, NULL) : NULL;
		memcpy(s->hips, hs.ips, sizeof(hs.ips));
		s->hdepth = hs.depth;
		snprintf(s->label_key[0], 16, "waiter");
		snprintf(s->label_val[0], 64, "%s", site ? site : "?");
		snprintf(s->label_key[1], 16, "holder");
		snprintf(s->label_val[1], 64, "%s", hsite ? hsite : "?");
		s->nlabels = 2;
		snprintf(s->prefix, sizeof(s->prefix), "lock 0x%llx", (unsigned long long)k.mutex);
		int i;
		for (i = 0; i < nlocks && locks[i].mu != k.mutex; i++)
			;
		if (i == nlocks) {
			locks = realloc(locks, (size_t)(nlocks + 1) * sizeof(*locks));
			locks[nlocks++] = (struct lk){k.mutex, 0, 0};
		}
		locks[i].n += (long long)v.count;
		locks[i].ns += (long long)v.total_ns;
	}
	printf("Lock contention in %d over %.1fs:\n%-18s %10s %12s\n", (int)t.pid, secs,
	       "lock", "waits", "waited");
	for (int i = 0; i < nlocks; i++) {
		char b[32];
		printf("0x%-16llx %10lld %12s\n", (unsigned long long)locks[i].mu, locks[i].n,
		       fmt_ns((double)locks[i].ns, b, sizeof(b)));
	}
	free(locks);
	summary(&p, c.sym, "contended acquisitions");
	prof_write(&p, c.sym, o);
	prof_free(&p);
	int rc = view_end(&t, NULL);
	sym_close(c.sym);
	mutex_bpf__destroy(skel);
	return rc;
}

int cmd_block(const struct opts *o)
{
	return run_block(o);
}

int cmd_mutex(const struct opts *o)
{
	return run_mutex(o);
}
