// SPDX-License-Identifier: MIT
/*
 * record.c — `ringo-trace record -o FILE.json`: a timeline in Chrome's
 * trace-event JSON, which ui.perfetto.dev (and chrome://tracing) opens.
 *
 * The BPF side (record.bpf.c) streams every goroutine transition and I/O
 * request through a ring buffer; here the events are sorted by time and
 * replayed through a small state machine per goroutine:
 *
 *     create/yield/ready -> runnable -> start/resume -> running
 *     running -> park(reason) -> blocked -> ready -> runnable
 *     running -> end
 *
 * and written as three "processes" of tracks:
 *   pid 1 "Ps"          one track per P: which goroutine runs on it;
 *   pid 2 "goroutines"  one track per goroutine: running, runnable and
 *                       "blocked: <reason>" slices, and flow arrows from
 *                       the goroutine that readied (or created) it;
 *   pid 3 "I/O"         one track per goroutine that did I/O: a slice per
 *                       request, named by opcode, with fd and result.
 * Timestamps are microseconds from the first event.  A goroutine that
 * existed before we attached starts with whatever we first see of it.
 *
 * At most RECORD_MAX events are kept (about 300 MB); beyond that, and
 * whatever the ring buffer could not take, is counted and reported.
 */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "record.skel.h"

#define RECORD_MAX (4u << 20)

struct rctx {
	struct target *t;
	struct record_bpf *skel;
	struct ring_buffer *rb;
	struct symbolizer *sym;
	struct rt_event *ev;
	size_t n, cap;
	unsigned long long over;
	bool ready;
};

static int on_event(void *arg, void *data, size_t len)
{
	struct rctx *c = arg;
	if (len < sizeof(struct rt_event))
		return 0;
	if (c->n >= RECORD_MAX) {
		c->over++;
		return 0;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 65536;
		c->ev = realloc(c->ev, c->cap * sizeof(*c->ev));
		if (!c->ev)
			rt_die("out of memory");
	}
	memcpy(&c->ev[c->n++], data, sizeof(struct rt_event));
	return 0;
}

static void tick(void *arg)
{
	struct rctx *c = arg;
	if (!c->ready && (c->ready = RT_SET_LAYOUT(c->skel, c->t)))
		sym_refresh(c->sym);
	ring_buffer__consume(c->rb);
}

static int cmp_ts(const void *a, const void *b)
{
	const struct rt_event *x = a, *y = b;
	return x->ts < y->ts ? -1 : x->ts > y->ts ? 1 : 0;
}

/* ---- per-goroutine state ------------------------------------------------ */

enum gst { G_UNKNOWN, G_RUNNABLE, G_RUNNING, G_BLOCKED, G_DEAD };

struct gstate {
	long long goid;
	enum gst st;
	unsigned long long since;
	int p;
	unsigned reason;
	char name[RT_NAME_LEN];
	uint64_t fn;
	bool io_open;
	unsigned long long io_since;
	long long io_op, io_fd;
	bool did_io;
	bool created;        /* we saw its creation */
};

struct gtab {
	struct gstate *v;
	size_t n, cap;       /* open addressing on goid */
};

static struct gstate *gget(struct gtab *t, long long goid)
{
	if (2 * (t->n + 1) > t->cap) {
		struct gstate *old = t->v;
		size_t oc = t->cap;
		t->cap = t->cap ? 2 * t->cap : 4096;
		t->v = calloc(t->cap, sizeof(*t->v));
		if (!t->v)
			rt_die("out of memory");
		for (size_t i = 0; i < oc; i++) {
			if (!old[i].goid)
				continue;
			size_t j = (size_t)old[i].goid * 0x9e3779b97f4a7c15ull & (t->cap - 1);
			while (t->v[j].goid)
				j = (j + 1) & (t->cap - 1);
			t->v[j] = old[i];
		}
		free(old);
	}
	size_t j = (size_t)goid * 0x9e3779b97f4a7c15ull & (t->cap - 1);
	while (t->v[j].goid && t->v[j].goid != goid)
		j = (j + 1) & (t->cap - 1);
	if (!t->v[j].goid) {
		t->v[j].goid = goid;
		t->v[j].p = -1;
		t->n++;
	}
	return &t->v[j];
}

/* ---- JSON ------------------------------------------------------------------ */

struct out {
	FILE *f;
	unsigned long long t0;
	bool first;
	unsigned long long flows;
};

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void sep(struct out *o)
{
	fputs(o->first ? "\n" : ",\n", o->f);
	o->first = false;
}

static double us(struct out *o, unsigned long long ts)
{
	return ts >= o->t0 ? (double)(ts - o->t0) / 1e3 : 0.0;
}

static void slice(struct out *o, int pid, long long tid, const char *name, const char *cat,
		  unsigned long long from, unsigned long long to, const char *args)
{
	if (to < from)
		to = from;
	sep(o);
	fprintf(o->f, "{\"ph\":\"X\",\"pid\":%d,\"tid\":%lld,\"ts\":%.3f,\"dur\":%.3f,\"name\":",
		pid, tid, us(o, from), (double)(to - from) / 1e3);
	jstr(o->f, name);
	fprintf(o->f, ",\"cat\":\"%s\"%s%s}", cat, args ? ",\"args\":" : "", args ? args : "");
}

static void meta(struct out *o, const char *what, int pid, long long tid, const char *name)
{
	sep(o);
	fprintf(o->f, "{\"ph\":\"M\",\"pid\":%d,\"tid\":%lld,\"name\":\"%s\",\"args\":{\"name\":",
		pid, tid, what);
	jstr(o->f, name);
	fputs("}}", o->f);
}

static void flow(struct out *o, long long from, long long to, unsigned long long ts,
		 const char *name)
{
	unsigned long long id = ++o->flows;
	sep(o);
	fprintf(o->f, "{\"ph\":\"s\",\"pid\":2,\"tid\":%lld,\"ts\":%.3f,\"id\":%llu,"
		      "\"name\":\"%s\",\"cat\":\"wake\"}", from, us(o, ts), id, name);
	sep(o);
	fprintf(o->f, "{\"ph\":\"f\",\"bp\":\"e\",\"pid\":2,\"tid\":%lld,\"ts\":%.3f,"
		      "\"id\":%llu,\"name\":\"%s\",\"cat\":\"wake\"}", to, us(o, ts), id, name);
}

static const char *gname(struct rctx *c, struct gstate *g, char *buf, size_t len)
{
	if (g->name[0])
		snprintf(buf, len, "G%lld %s", g->goid, g->name);
	else if (g->fn)
		snprintf(buf, len, "G%lld %s", g->goid, sym_name(c->sym, g->fn, false, NULL));
	else
		snprintf(buf, len, "G%lld", g->goid);
	return buf;
}

/* Ends g's current slice at ts. */
static void close_state(struct rctx *c, struct out *o, struct gstate *g, unsigned long long ts)
{
	char nm[128], args[96];
	switch (g->st) {
	case G_RUNNABLE:
		slice(o, 2, g->goid, "runnable", "runnable", g->since, ts, NULL);
		break;
	case G_RUNNING:
		snprintf(args, sizeof(args), "{\"P\":%d}", g->p);
		slice(o, 2, g->goid, "running", "running", g->since, ts, args);
		if (g->p >= 0)
			slice(o, 1, g->p, gname(c, g, nm, sizeof(nm)), "running", g->since, ts,
			      NULL);
		break;
	case G_BLOCKED:
		snprintf(nm, sizeof(nm), "blocked: %s", reason_name(c->t, g->reason));
		slice(o, 2, g->goid, nm, "blocked", g->since, ts, NULL);
		break;
	default:
		break;
	}
}

static const char *io_name(long long op)
{
	static const char *const n[] = {
		[1] = "READV", [2] = "WRITEV", [3] = "FSYNC", [6] = "POLL_ADD",
		[9] = "SENDMSG", [10] = "RECVMSG", [11] = "TIMEOUT", [13] = "ACCEPT",
		[14] = "ASYNC_CANCEL", [16] = "CONNECT", [18] = "OPENAT", [19] = "CLOSE",
		[21] = "STATX", [22] = "READ", [23] = "WRITE", [26] = "SEND", [27] = "RECV",
	};
	if (op == 255)
		return "epoll wait";
	if (op >= 0 && op < (long long)(sizeof(n) / sizeof(n[0])) && n[op])
		return n[op];
	return "I/O";
}

static void write_json(struct rctx *c, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		rt_die("%s: %s", path, strerror(errno));
	struct out o = {.f = f, .t0 = c->n ? c->ev[0].ts : 0, .first = true};
	struct gtab gt = {0};
	int maxp = -1;
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", f);
	unsigned long long last = c->n ? c->ev[c->n - 1].ts : 0;

	for (size_t i = 0; i < c->n; i++) {
		struct rt_event *e = &c->ev[i];
		if (e->type == RT_EV_STEAL)
			continue;
		if (e->goid <= 0 && e->type != RT_EV_IO_SUBMIT && e->type != RT_EV_IO_DONE)
			continue;
		if (e->goid <= 0)
			continue;  /* I/O off a goroutine */
		struct gstate *g = gget(&gt, e->goid);
		switch (e->type) {
		case RT_EV_CREATE:
			g->created = true;
			g->fn = (uint64_t)e->a1;
			memcpy(g->name, e->name, RT_NAME_LEN);
			g->name[RT_NAME_LEN - 1] = 0;
			g->st = G_RUNNABLE;
			g->since = e->ts;
			if (e->a2 > 0)
				flow(&o, e->a2, e->goid, e->ts, "go");
			break;
		case RT_EV_NAME:
			g->fn = (uint64_t)e->a1;
			if (!g->name[0]) {
				memcpy(g->name, e->name, RT_NAME_LEN);
				g->name[RT_NAME_LEN - 1] = 0;
			}
			break;
		case RT_EV_START:
		case RT_EV_RESUME:
			close_state(c, &o, g, e->ts);
			g->st = G_RUNNING;
			g->since = e->ts;
			g->p = (int)e->a1;
			if (g->p > maxp)
				maxp = g->p;
			break;
		case RT_EV_PARK:
			close_state(c, &o, g, e->ts);
			g->st = G_BLOCKED;
			g->reason = (unsigned)e->a1;
			g->since = e->ts;
			break;
		case RT_EV_YIELD:
			close_state(c, &o, g, e->ts);
			g->st = G_RUNNABLE;
			g->since = e->ts;
			break;
		case RT_EV_READY:
			close_state(c, &o, g, e->ts);
			g->st = G_RUNNABLE;
			g->since = e->ts;
			if (e->a1 > 0)
				flow(&o, e->a1, e->goid, e->ts, "ready");
			break;
		case RT_EV_END:
			close_state(c, &o, g, e->ts);
			g->st = G_DEAD;
			break;
		case RT_EV_IO_SUBMIT:
			g->io_open = true;
			g->did_io = true;
			g->io_since = e->ts;
			g->io_op = e->a1;
			g->io_fd = e->a2;
			break;
		case RT_EV_IO_DONE:
			if (g->io_open) {
				char args[96];
				snprintf(args, sizeof(args), "{\"fd\":%lld,\"res\":%lld}", g->io_fd,
					 e->a2);
				slice(&o, 3, g->goid, io_name(g->io_op), "io", g->io_since, e->ts,
				      args);
				g->io_open = false;
			}
			break;
		}
	}
	/* Close what is still open; name the tracks. */
	meta(&o, "process_name", 1, 0, "Ps");
	meta(&o, "process_name", 2, 0, "goroutines");
	meta(&o, "process_name", 3, 0, "I/O");
	for (int p = 0; p <= maxp; p++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "P%d", p);
		meta(&o, "thread_name", 1, p, nm);
	}
	size_t ngor = 0;
	for (size_t i = 0; i < gt.cap; i++) {
		struct gstate *g = &gt.v[i];
		if (!g->goid)
			continue;
		close_state(c, &o, g, last);
		char nm[128];
		gname(c, g, nm, sizeof(nm));
		meta(&o, "thread_name", 2, g->goid, nm);
		sep(&o);
		fprintf(f, "{\"ph\":\"M\",\"pid\":2,\"tid\":%lld,\"name\":\"thread_sort_index\","
			   "\"args\":{\"sort_index\":%lld}}", g->goid, g->goid);
		if (g->did_io)
			meta(&o, "thread_name", 3, g->goid, nm);
		ngor++;
	}
	fputs("\n]}\n", f);
	if (fclose(f) != 0)
		rt_die("%s: %s", path, strerror(errno));
	fprintf(stderr, "wrote %s: %zu events, %zu goroutines, %d Ps%s\n", path, c->n, ngor,
		maxp + 1, "; open it in ui.perfetto.dev");
	free(gt.v);
}

int cmd_record(const struct opts *o)
{
	struct target t;
	struct attach a = {0};
	bpf_preflight();
	target_open(&t, o);
	struct record_bpf *skel = record_bpf__open_and_load();
	if (!skel)
		rt_die("cannot load the record BPF program");
	struct rctx c = {.t = &t, .skel = skel, .sym = sym_open(t.pid)};
	c.ready = RT_SET_LAYOUT(skel, &t);
	c.rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, &c, NULL);
	if (!c.rb)
		rt_die("cannot open the ring buffer: %s", strerror(errno));
	attach_usdt_all(&a, skel->obj, &t);
	double secs = view_run(&t, o, tick, &c);
	attach_destroy(&a);
	ring_buffer__consume(c.rb);
	sym_refresh(c.sym);
	unsigned long long dropped = skel->bss->dropped + c.over;
	qsort(c.ev, c.n, sizeof(*c.ev), cmp_ts);
	fprintf(stderr, "recorded %.1fs of %d\n", secs, (int)t.pid);
	if (dropped)
		fprintf(stderr, "warning: %llu events lost (ring buffer full or more than %u "
				"events); the timeline has gaps\n", dropped, RECORD_MAX);
	write_json(&c, o->out);
	ring_buffer__free(c.rb);
	free(c.ev);
	int rc = view_end(&t, NULL);
	sym_close(c.sym);
	record_bpf__destroy(skel);
	return rc;
}
