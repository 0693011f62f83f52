// SPDX-License-Identifier: MIT
/*
 * top.c — `ringo-trace top`: a live view of a ringo process, read from
 * the counters the runtime keeps anyway (per P, owner-written; see
 * runtime/trace_abi.h), with process_vm_readv.  No probe is attached,
 * so the traced program pays nothing: not one uprobe hit (a hit costs
 * ~0.6 us, which would make channel ping-pong ~20x slower).
 *
 * Every interval (-i, default 1 s) it reads each P (one read of its
 * counters and run queue) and prints:
 *   goroutines   alive (spawned less exited), and by state: running (Ps
 *                whose M runs a goroutine now), runnable (in local run
 *                queues, runnext slots and the global queue), in a
 *                syscall, and blocked by wait reason (the per-P nwaiting
 *                counters summed);
 *   rates        spawns, switches, parks, steals, channel operations,
 *                contended locks and I/O completions per second;
 *   procs        per P: run-queue length, and its utilisation: the share
 *                of samples (SAMPLE_HZ per second, between intervals) in
 *                which it ran a goroutine;
 *   goroutines   that ran in the most samples, with id and name.
 * The counters are relaxed reads of words other threads write: each is
 * some recent value and the whole is not a consistent cut, so the states
 * may not add up while the program is busy (they do when it is quiet).
 *
 * --json prints one JSON object per interval (fields in ringo-trace(8));
 * -n stops after that many intervals.
 */
#include "trace.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_HZ 100
#define TOP_N 10
#define MAX_P 1024

struct pview {
	uint64_t addr;
	int id;
	uint32_t status;
	uint32_t runq;
	bool runnext;
	int64_t nspawn, nexit, nswitch, npark, nsteal, nchanop, nmutexwait, nio;
	int64_t nwaiting[RT_MAX_REASONS];
	int64_t curgoid;     /* at the snapshot, 0 if none */
	unsigned samples, busy;
};

struct snap {
	int nprocs;
	struct pview p[MAX_P];
	int64_t foreign_spawn, nsyscall, globalq, sched_nio;
	int64_t nwaiting_nop[RT_MAX_REASONS];
	double when;
};

struct gsample {
	int64_t goid;
	unsigned n;
	char name[RT_NAME_LEN];
	uint64_t fn;
};

struct top {
	struct target *t;
	struct symbolizer *sym;
	unsigned char *pbuf;
	size_t plen;
	struct gsample *gs;
	int ngs, capgs;
	unsigned nsamples;
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t rd64(const unsigned char *b, uint32_t off)
{
	int64_t v;
	memcpy(&v, b + off, 8);
	return v;
}

static uint32_t rd32(const unsigned char *b, uint32_t off)
{
	uint32_t v;
	memcpy(&v, b + off, 4);
	return v;
}

/* The goroutine an M runs now: id (0: none), name and start function. */
static int64_t curg_of_p(struct top *tp, uint64_t paddr, char *name, uint64_t *fn)
{
	struct rg__trace_desc *d = &tp->t->desc;
	uint64_t m = 0, g = 0;
	int64_t id = 0;
	if (target_read(tp->t, paddr + d->p_m, &m, 8) < 0 || !m)
		return 0;
	if (target_read(tp->t, m + d->m_curg, &g, 8) < 0 || !g)
		return 0;
	if (target_read(tp->t, g + d->g_id, &id, 8) < 0)
		return 0;
	if (name) {
		char nb[RT_NAME_LEN];
		if (target_read(tp->t, g + d->g_name, nb, sizeof(nb)) < 0)
			nb[0] = 0;
		nb[sizeof(nb) - 1] = 0;
		memcpy(name, nb, sizeof(nb));
	}
	if (fn && target_read(tp->t, g + d->g_fn, fn, 8) < 0)
		*fn = 0;
	return id;
}

static bool read_snap(struct top *tp, struct snap *s)
{
	struct target *t = tp->t;
	struct rg__trace_desc *d = &t->desc;
	int running = 0, nprocs = 0;
	uint64_t allp = 0;
	if (target_read(t, d->sched_running, &running, 4) < 0 || running != 1)
		return false;
	if (target_read(t, d->sched_nprocs, &nprocs, 4) < 0 || nprocs <= 0)
		return false;
	if (nprocs > MAX_P)
		nprocs = MAX_P;
	if (target_read(t, d->sched_allp, &allp, 8) < 0 || !allp)
		return false;
	uint64_t paddrs[MAX_P];
	if (target_read(t, allp, paddrs, (size_t)nprocs * 8) < 0)
		return false;
	int32_t nsys = 0, gq = 0;
	target_read(t, d->sched_nforeign_spawn, &s->foreign_spawn, 8);
	target_read(t, d->sched_nsyscall, &nsys, 4);
	target_read(t, d->sched_runqsize, &gq, 4);
	target_read(t, d->sched_nio, &s->sched_nio, 8);
	s->nsyscall = nsys;
	s->globalq = gq;
	s->nprocs = nprocs;
	unsigned nr = d->nreasons < RT_MAX_REASONS ? d->nreasons : RT_MAX_REASONS;
	memset(s->nwaiting_nop, 0, sizeof(s->nwaiting_nop));
	if (d->size >= offsetof(struct rg__trace_desc, sched_nwaiting_nop) + 8 &&
	    d->sched_nwaiting_nop)
		target_read(t, d->sched_nwaiting_nop, s->nwaiting_nop, nr * 8);
	for (int i = 0; i < nprocs; i++) {
		struct pview *p = &s->p[i];
		unsigned samples = p->samples, busy = p->busy;
		memset(p, 0, sizeof(*p));
		p->samples = samples, p->busy = busy;
		p->addr = paddrs[i];
		if (target_read(t, paddrs[i], tp->pbuf, tp->plen) < 0)
			return false;
		const unsigned char *b = tp->pbuf;
		p->id = (int)rd32(b, d->p_id);
		p->status = rd32(b, d->p_status);
		uint32_t h = rd32(b, d->p_runqhead), tl = rd32(b, d->p_runqtail);
		p->runq = tl - h <= d->runq_size ? tl - h : 0;
		p->runnext = rd64(b, d->p_runnext) != 0;
		p->nspawn = rd64(b, d->p_nspawn);
		p->nexit = rd64(b, d->p_nexit);
		p->nswitch = rd64(b, d->p_nswitch);
		p->npark = rd64(b, d->p_npark);
		p->nsteal = rd64(b, d->p_nsteal);
		p->nchanop = rd64(b, d->p_nchanop);
		p->nmutexwait = rd64(b, d->p_nmutexwait);
		p->nio = rd64(b, d->p_nio);
		for (unsigned r = 0; r < nr; r++)
			p->nwaiting[r] = rd64(b, d->p_nwaiting + 8 * r);
		p->curgoid = curg_of_p(tp, paddrs[i], NULL, NULL);
	}
	s->when = mono();
	return true;
}

static void sample(struct top *tp, struct snap *s)
{
	tp->nsamples++;
	for (int i = 0; i < s->nprocs; i++) {
		char name[RT_NAME_LEN];
		uint64_t fn = 0;
		int64_t id = curg_of_p(tp, s->p[i].addr, name, &fn);
		s->p[i].samples++;
		if (!id)
			continue;
		s->p[i].busy++;
		int k;
		for (k = 0; k < tp->ngs && tp->gs[k].goid != id; k++)
			;
		if (k == tp->ngs) {
			if (tp->ngs == tp->capgs) {
				tp->capgs = tp->capgs ? 2 * tp->capgs : 64;
				tp->gs = realloc(tp->gs, (size_t)tp->capgs * sizeof(*tp->gs));
				if (!tp->gs)
					rt_die("out of memory");
			}
			tp->gs[k] = (struct gsample){.goid = id, .fn = fn};
			memcpy(tp->gs[k].name, name, sizeof(name));
			tp->ngs++;
		}
		tp->gs[k].n++;
	}
}

static int cmp_gs(const void *a, const void *b)
{
	const struct gsample *x = a, *y = b;
	return x->n < y->n ? 1 : x->n > y->n ? -1 : (x->goid > y->goid) - (x->goid < y->goid);
}

struct totals {
	int64_t goroutines, running, runnable, syscall, blocked_sum;
	int64_t blocked[RT_MAX_REASONS];
	int64_t spawn, sw, park, steal, chanop, mutex, io;
};

static void totals(struct target *t, const struct snap *s, struct totals *o)
{
	memset(o, 0, sizeof(*o));
	int64_t exits = 0;
	o->spawn = s->foreign_spawn;
	o->io = s->sched_nio;
	unsigned nr = t->desc.nreasons < RT_MAX_REASONS ? t->desc.nreasons : RT_MAX_REASONS;
	for (int i = 0; i < s->nprocs; i++) {
		const struct pview *p = &s->p[i];
		o->spawn += p->nspawn;
		exits += p->nexit;
		o->sw += p->nswitch;
		o->park += p->npark;
		o->steal += p->nsteal;
		o->chanop += p->nchanop;
		o->mutex += p->nmutexwait;
		o->io += p->nio;
		o->runnable += p->runq + (p->runnext ? 1 : 0);
		o->running += p->curgoid != 0;
		for (unsigned r = 0; r < nr; r++)
			o->blocked[r] += p->nwaiting[r];
	}
	for (unsigned r = 0; r < nr; r++) {
		o->blocked[r] -= s->nwaiting_nop[r];
		if (o->blocked[r] < 0)
			o->blocked[r] = 0;
		o->blocked_sum += o->blocked[r];
	}
	o->runnable += s->globalq;
	o->syscall = s->nsyscall;
	o->goroutines = o->spawn - exits;
}

static const char *pstatus(uint32_t st)
{
	static const char *const n[] = {"idle", "running", "syscall", "dead"};
	return st < 4 ? n[st] : "?";
}

static const char *g_label(struct top *tp, const struct gsample *g, char *buf, size_t len)
{
	if (g->name[0])
		snprintf(buf, len, "%s", g->name);
	else if (g->fn)
		snprintf(buf, len, "%s", sym_name(tp->sym, g->fn, false, NULL));
	else
		snprintf(buf, len, "?");
	return buf;
}

static void jstr(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(struct top *tp, const struct snap *s, const struct totals *a,
		       const struct totals *b, double dt)
{
	struct target *t = tp->t;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	printf("{\"time\":%.3f,\"pid\":%d,\"interval_s\":%.3f,\"goroutines\":%lld,"
	       "\"runnable\":%lld,\"running\":%lld,\"syscall\":%lld,\"blocked\":{",
	       (double)now.tv_sec + now.tv_nsec / 1e9, (int)t->pid, dt,
	       (long long)b->goroutines, (long long)b->runnable, (long long)b->running,
	       (long long)b->syscall);
	bool first = true;
	for (int r = 0; r < t->nreasons; r++) {
		if (!b->blocked[r])
			continue;
		if (!first)
			putchar(',');
		first = false;
		jstr(reason_name(t, (unsigned)r));
		printf(":%lld", (long long)b->blocked[r]);
	}
#define RATE(f) ((double)(b->f - a->f) / dt)
	printf("},\"spawns\":%.1f,\"switches\":%.1f,\"parks\":%.1f,\"steals\":%.1f,"
	       "\"chan_ops\":%.1f,\"mutex_contended\":%.1f,\"io_done\":%.1f,",
	       RATE(spawn), RATE(sw), RATE(park), RATE(steal), RATE(chanop), RATE(mutex),
	       RATE(io));
	printf("\"totals\":{\"spawns\":%lld,\"switches\":%lld,\"parks\":%lld,\"steals\":%lld,"
	       "\"chan_ops\":%lld,\"mutex_contended\":%lld,\"io_done\":%lld},\"procs\":[",
	       (long long)b->spawn, (long long)b->sw, (long long)b->park, (long long)b->steal,
	       (long long)b->chanop, (long long)b->mutex, (long long)b->io);
	for (int i = 0; i < s->nprocs; i++) {
		const struct pview *p = &s->p[i];
		printf("%s{\"id\":%d,\"status\":\"%s\",\"runq\":%u,\"runnext\":%s,"
		       "\"util\":%.3f,\"goroutine\":%lld}", i ? "," : "", p->id,
		       pstatus(p->status), p->runq, p->runnext ? "true" : "false",
		       p->samples ? (double)p->busy / p->samples : 0.0, (long long)p->curgoid);
	}
	printf("],\"top\":[");
	for (int i = 0; i < tp->ngs && i < TOP_N; i++) {
		char nb[128];
		printf("%s{\"goid\":%lld,\"name\":", i ? "," : "", (long long)tp->gs[i].goid);
		jstr(g_label(tp, &tp->gs[i], nb, sizeof(nb)));
		printf(",\"cpu\":%.3f}", tp->nsamples ? (double)tp->gs[i].n / tp->nsamples : 0.0);
	}
	printf("]}\n");
	fflush(stdout);
}

#define BOLD "\033[1m"
#define REV "\033[7m"
#define CYAN "\033[36m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define OFF "\033[0m"

static void print_text(struct top *tp, const struct snap *s, const struct totals *a,
		       const struct totals *b, double dt)
{
	struct target *t = tp->t;
	printf("\033[H\033[2J");
	time_t now = time(NULL);
	char tb[32];
	strftime(tb, sizeof(tb), "%H:%M:%S", localtime(&now));
	printf(BOLD "ringo-trace top" OFF " - pid %d - %s - every %.1fs - %d Ps\n\n",
	       (int)t->pid, tb, dt, s->nprocs);
	printf(BOLD "Goroutines: %lld" OFF "   " GREEN "running %lld" OFF "   " YELLOW
	       "runnable %lld" OFF "   syscall %lld   blocked %lld\n",
	       (long long)b->goroutines, (long long)b->running, (long long)b->runnable,
	       (long long)b->syscall, (long long)b->blocked_sum);
	int col = 0;
	for (int r = 0; r < t->nreasons; r++) {
		if (!b->blocked[r])
			continue;
		printf("%s%-22s %8lld", col % 3 ? "   " : "  ", reason_name(t, (unsigned)r),
		       (long long)b->blocked[r]);
		if (++col % 3 == 0)
			printf("\n");
	}
	if (col % 3)
		printf("\n");
	printf("\n" BOLD "Per second:" OFF "\n");
	printf("  spawns %10.0f   switches %10.0f   parks %10.0f   steals %8.0f\n",
	       RATE(spawn), RATE(sw), RATE(park), RATE(steal));
	printf("  chan ops %8.0f   contended locks %3.0f   I/O done %7.0f\n\n", RATE(chanop),
	       RATE(mutex), RATE(io));
	printf(REV "  P  status    runq  runnext   util  running                          " OFF
	       "\n");
	for (int i = 0; i < s->nprocs; i++) {
		const struct pview *p = &s->p[i];
		double u = p->samples ? (double)p->busy / p->samples : 0;
		char bar[11];
		int w = (int)(u * 10 + 0.5);
		memset(bar, '#', (size_t)w);
		memset(bar + w, '.', (size_t)(10 - w));
		bar[10] = 0;
		char cur[24] = "-";
		if (p->curgoid)
			snprintf(cur, sizeof(cur), "G%lld", (long long)p->curgoid);
		printf("%3d  %-8s %5u  %-7s %5.1f%% " CYAN "%s" OFF "  %s\n", p->id,
		       pstatus(p->status), p->runq, p->runnext ? "yes" : "-", 100 * u, bar, cur);
	}
	printf("\n" REV "  GOID  NAME                              CPU%%                      "
	       "    " OFF "\n");
	for (int i = 0; i < tp->ngs && i < TOP_N; i++) {
		char nb[128];
		printf("%6lld  %-32.32s %5.1f\n", (long long)tp->gs[i].goid,
		       g_label(tp, &tp->gs[i], nb, sizeof(nb)),
		       tp->nsamples ? 100.0 * tp->gs[i].n / tp->nsamples : 0.0);
	}
	if (!tp->ngs)
		printf("  (no goroutine ran in a sample)\n");
	fflush(stdout);
#undef RATE
}

int cmd_top(const struct opts *o)
{
	struct target t;
	target_open(&t, o);
	target_release(&t);
	/* A -c program publishes its descriptor once its constructors ran. */
	for (int i = 0; i < 500 && !target_load_desc(&t) && target_alive(&t); i++)
		usleep(10000);
	if (!t.have_desc)
		rt_die("no ringo runtime descriptor in %s (ringo older than this tool?)", t.obj);
	struct top tp = {.t = &t, .sym = sym_open(t.pid)};
	struct rg__trace_desc *d = &t.desc;
	uint32_t need = d->p_nwaiting + 8 * d->nreasons;
	uint32_t offs[] = {d->p_nspawn, d->p_nexit, d->p_nswitch, d->p_npark, d->p_nsteal,
			   d->p_nchanop, d->p_nmutexwait, d->p_nio, d->p_runnext, d->p_m};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		if (offs[i] + 8 > need)
			need = offs[i] + 8;
	tp.plen = need;
	tp.pbuf = malloc(need);
	static struct snap s0, s1;
	/* Wait for the runtime to start (a -c program may not have yet). */
	bool ok = false;
	for (int i = 0; i < 500 && !(ok = read_snap(&tp, &s0)) && target_alive(&t); i++)
		usleep(10000);
	if (!ok)
		rt_die("process %d: the ringo runtime is not running", (int)t.pid);
	long n = 0;
	int rc = 0;
	while (!rt_interrupted()) {
		double end = s0.when + o->interval;
		tp.ngs = 0;
		tp.nsamples = 0;
		for (int i = 0; i < s0.nprocs; i++)
			s0.p[i].samples = s0.p[i].busy = 0;
		s1 = s0;
		while (!rt_interrupted()) {
			double left = end - mono();
			if (left <= 0)
				break;
			double step = 1.0 / SAMPLE_HZ;
			struct timespec ts = {0, (long)((left < step ? left : step) * 1e9)};
			nanosleep(&ts, NULL);
			if (!target_alive(&t))
				break;
			sample(&tp, &s1);
		}
		if (!target_alive(&t))
			break;
		if (!read_snap(&tp, &s1))
			break;  /* the runtime stopped */
		struct totals a, b;
		totals(&t, &s0, &a);
		totals(&t, &s1, &b);
		qsort(tp.gs, (size_t)tp.ngs, sizeof(*tp.gs), cmp_gs);
		double dt = s1.when - s0.when;
		if (o->json)
			print_json(&tp, &s1, &a, &b, dt > 0 ? dt : o->interval);
		else
			print_text(&tp, &s1, &a, &b, dt > 0 ? dt : o->interval);
		s0 = s1;
		if (o->count && ++n >= o->count)
			break;
	}
	free(tp.pbuf);
	free(tp.gs);
	sym_close(tp.sym);
	rc = view_end(&t, NULL);
	return rc;
}
