// SPDX-License-Identifier: MIT
/*
 * chan.c — `ringo-trace chan`: per channel, its operations, blocked
 * sends and receives with the time they waited, whether it was closed,
 * and where it was made (the first user frame of chan_make's stack;
 * "(before attach)" for a channel made before we attached: use -c to
 * see every creation site).  Counters are summed in the kernel per CPU
 * (chan.bpf.c) and added up here.
 */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>

#include "chan.skel.h"

struct cctx {
	struct target *t;
	struct chan_bpf *skel;
	struct symbolizer *sym;
	bool ready;
};

static void tick(void *arg)
{
	struct cctx *c = arg;
	if (!c->ready && (c->ready = RT_SET_LAYOUT(c->skel, c->t)))
		sym_refresh(c->sym);
}

struct row {
	uint64_t chan;
	struct rt_chan_stats s;
	struct rt_chan_info i;
	bool have_info;
};

static int cmp_ops(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	unsigned long long ox = x->s.sends + x->s.recvs, oy = y->s.sends + y->s.recvs;
	return ox < oy ? 1 : ox > oy ? -1 : 0;
}

int cmd_chan(const struct opts *o)
{
	struct target t;
	struct attach a = {0};
	bpf_preflight();
	target_open(&t, o);
	struct chan_bpf *skel = chan_bpf__open_and_load();
	if (!skel)
		rt_die("cannot load the chan BPF program");
	struct cctx c = {&t, skel, sym_open(t.pid), false};
	c.ready = RT_SET_LAYOUT(skel, &t);
	attach_usdt_all(&a, skel->obj, &t);
	double secs = view_run(&t, o, tick, &c);
	attach_destroy(&a);
	sym_refresh(c.sym);

	int ncpu = libbpf_num_possible_cpus();
	struct rt_chan_stats *per = calloc((size_t)ncpu, sizeof(*per));
	int sfd = bpf_map__fd(skel->maps.stats), ifd = bpf_map__fd(skel->maps.info);
	int stk = bpf_map__fd(skel->maps.stacks);
	struct row *rows = NULL;
	int n = 0, cap = 0;
	uint64_t k, next;
	void *cur = NULL;
	while (bpf_map_get_next_key(sfd, cur, &next) == 0) {
		k = next;
		cur = &k;
		if (bpf_map_lookup_elem(sfd, &k, per) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			rows = realloc(rows, (size_t)cap * sizeof(*rows));
		}
		struct row *r = &rows[n++];
		memset(r, 0, sizeof(*r));
		r->chan = k;
		for (int i = 0; i < ncpu; i++) {
			r->s.sends += per[i].sends;
			r->s.recvs += per[i].recvs;
			r->s.send_blocks += per[i].send_blocks;
			r->s.recv_blocks += per[i].recv_blocks;
			r->s.send_block_ns += per[i].send_block_ns;
			r->s.recv_block_ns += per[i].recv_block_ns;
		}
		r->have_info = bpf_map_lookup_elem(ifd, &k, &r->i) == 0;
	}
	/* Channels made or closed but not used in the window. */
	cur = NULL;
	while (bpf_map_get_next_key(ifd, cur, &next) == 0) {
		k = next;
		cur = &k;
		int i;
		for (i = 0; i < n && rows[i].chan != k; i++)
			;
		if (i < n)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			rows = realloc(rows, (size_t)cap * sizeof(*rows));
		}
		memset(&rows[n], 0, sizeof(rows[n]));
		rows[n].chan = k;
		rows[n].have_info = bpf_map_lookup_elem(ifd, &k, &rows[n].i) == 0;
		n++;
	}
	free(per);
	qsort(rows, (size_t)n, sizeof(*rows), cmp_ops);
	printf("Channels in %d over %.1fs: %d\n", (int)t.pid, secs, n);
	printf("%-14s %5s %6s %9s %9s %16s %16s %6s  %s\n", "chan", "elem", "cap", "sends",
	       "recvs", "blocked sends", "blocked recvs", "closed", "made at");
	for (int i = 0; i < n; i++) {
		struct row *r = &rows[i];
		char b1[32], b2[32], bs[48], br[48], where[512] = "(before attach)";
		snprintf(bs, sizeof(bs), "%llu/%s", r->s.send_blocks,
			 fmt_ns((double)r->s.send_block_ns, b1, sizeof(b1)));
		snprintf(br, sizeof(br), "%llu/%s", r->s.recv_blocks,
			 fmt_ns((double)r->s.recv_block_ns, b2, sizeof(b2)));
		char elem[16] = "?", capb[16] = "?";
		if (r->have_info && r->i.make_stack >= 0) {
			struct rt_sample s;
			memset(&s, 0, sizeof(s));
			prof_stack(&s, stk, r->i.make_stack);
			const char *src, *site = prof_user_site(&s, c.sym, &src);
			snprintf(where, sizeof(where), "%s %s", site ? site : "?", src ? src : "");
			snprintf(elem, sizeof(elem), "%llu", r->i.elem_size);
			snprintf(capb, sizeof(capb), "%llu", r->i.cap);
		}
		printf("0x%-12llx %5s %6s %9llu %9llu %16s %16s %6s  %s\n",
		       (unsigned long long)r->chan, elem, capb, r->s.sends, r->s.recvs, bs, br,
		       r->have_info && r->i.closed ? "yes" : "", where);
	}
	free(rows);
	int rc = view_end(&t, NULL);
	sym_close(c.sym);
	chan_bpf__destroy(skel);
	return rc;
}
