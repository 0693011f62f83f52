// SPDX-License-Identifier: MIT
/*
 * metrics.c — what ringo-pool counts, and /metrics in Prometheus text
 * format (version 0.0.4).
 *
 * Every counter is a relaxed atomic: each is a statistic on its own,
 * read by a scrape that is not a consistent cut (as Go's expvar and the
 * Prometheus client libraries are not).  Counters that two Ps bump on
 * every request (requests by endpoint and status, the latency
 * histogram) live in per-shard copies, one per cache line, indexed by a
 * hash of the goroutine id, so that two threads answering requests do
 * not bounce one line between them; a scrape sums the shards.
 *
 * Exposed (names follow Prometheus conventions: _total counters,
 * _seconds histograms, base units):
 *   ringo_pool_requests_total{endpoint,code}
 *   ringo_pool_request_duration_seconds{endpoint} (histogram)
 *   ringo_pool_rejections_total{cause}
 *   ringo_pool_connections{state="open"|"active"}, _connections_total,
 *   ringo_pool_connections_idle_closed_total
 *   ringo_pool_workers, ringo_pool_workers_busy, ringo_pool_queue_depth,
 *   ringo_pool_queue_capacity, ringo_pool_jobs_total,
 *   ringo_pool_exec_killed_total, ringo_pool_inflight_requests,
 *   ringo_pool_goroutines{role} (what this server's goroutines are doing,
 *   from its own books: the runtime does not yet say goroutines by state),
 *   ringo_pool_draining, ringo_pool_uptime_seconds, bytes in/out,
 *   ringo_runtime_* (every field of rg_stats: goroutines, threads,
 *   switches, steals, parks, handoffs, hogs, I/O ops, run queues).
 */
#include "server.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

metrics_t m;

const char *const endpoint_names[EP_COUNT] = {
	[EP_HASH] = "hash", [EP_SLEEP] = "sleep", [EP_FILES] = "files",
	[EP_EXEC] = "exec", [EP_METRICS] = "metrics", [EP_HEALTHZ] = "healthz",
	[EP_READYZ] = "readyz", [EP_GOROUTINES] = "goroutines", [EP_STATUS] = "status",
	[EP_OTHER] = "other",
};

const char *const reject_names[RJ_COUNT] = {
	[RJ_RATE] = "rate_limited", [RJ_QUEUE] = "queue_full", [RJ_DRAINING] = "draining",
	[RJ_TIMEOUT] = "deadline", [RJ_BODY] = "body_too_large",
	[RJ_HEADER] = "header_too_large", [RJ_BAD] = "bad_request",
	[RJ_HEADER_TIMEOUT] = "header_timeout", [RJ_CONNS] = "max_conns",
	[RJ_EMFILE] = "emfile",
};

/* Status codes the server sends; anything else counts as "other". */
static const int codes[] = {200, 400, 403, 404, 405, 408, 413, 429, 431, 500, 501, 502, 503, 504, 505, 0};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

/* Histogram bounds in seconds (le), Prometheus' defaults widened down. */
static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
				0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
				5,      10,      30,     60};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

#define NSHARDS 8

typedef struct shard {
	_Atomic int64_t req[EP_COUNT][NCODES];
	_Atomic int64_t hist[EP_COUNT][NBOUNDS + 1]; /* per bucket, not cumulative */
	_Atomic int64_t sum_ns[EP_COUNT];
} __attribute__((aligned(64))) shard_t;

static shard_t shards[NSHARDS];

static int code_index(int status)
{
	for (size_t i = 0; i + 1 < NCODES; i++)
		if (codes[i] == status)
			return (int)i;
	return NCODES - 1;
}

void metrics_request(int ep, int status, int64_t ns)
{
	shard_t *s = &shards[(uint64_t)rg_goid() % NSHARDS];
	if (ep < 0 || ep >= EP_COUNT)
		ep = EP_OTHER;
	if (ns < 0)
		ns = 0;
	atomic_fetch_add_explicit(&s->req[ep][code_index(status)], 1, memory_order_relaxed);
	double sec = (double)ns / 1e9;
	size_t b = 0;
	while (b < NBOUNDS && sec > bounds[b])
		b++;
	atomic_fetch_add_explicit(&s->hist[ep][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_ns[ep], ns, memory_order_relaxed);
}

void metrics_reject(int cause)
{
	atomic_fetch_add_explicit(&m.rejects[cause], 1, memory_order_relaxed);
}

static int64_t load(_Atomic int64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

int64_t metrics_requests_total(void)
{
	int64_t t = 0;
	for (int s = 0; s < NSHARDS; s++)
		for (int e = 0; e < EP_COUNT; e++)
			for (size_t c = 0; c < NCODES; c++)
				t += load(&shards[s].req[e][c]);
	return t;
}

void metrics_summary(char *buf, size_t n)
{
	int64_t cls[6] = {0};
	for (int s = 0; s < NSHARDS; s++)
		for (int e = 0; e < EP_COUNT; e++)
			for (size_t c = 0; c < NCODES; c++) {
				int k = codes[c] / 100;
				cls[k >= 1 && k <= 5 ? k : 0] += load(&shards[s].req[e][c]);
			}
	snprintf(buf, n, "2xx %lld, 4xx %lld, 5xx %lld", (long long)cls[2], (long long)cls[4],
		 (long long)cls[5]);
}

/* ---- the text format ------------------------------------------------- */

typedef struct out {
	char *p;
	size_t len, cap;
	bool oom;
} out_t;

static void put(out_t *o, const char *fmt, ...) RG_PRINTF(2, 3);

static void put(out_t *o, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = o->cap - o->len;
		int n = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0 || o->oom)
			return;
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap ? o->cap * 2 : 16384;
		while (cap - o->len <= (size_t)n)
			cap *= 2;
		char *q = realloc(o->p, cap);
		if (!q) {
			o->oom = true;
			return;
		}
		o->p = q;
		o->cap = cap;
	}
}

static void help(out_t *o, const char *name, const char *type, const char *text)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void gauge(out_t *o, const char *name, const char *text, double v)
{
	help(o, name, "gauge", text);
	put(o, "%s %.17g\n", name, v);
}

static void counter(out_t *o, const char *name, const char *text, int64_t v)
{
	help(o, name, "counter", text);
	put(o, "%s %lld\n", name, (long long)v);
}

static void render_requests(out_t *o)
{
	help(o, "ringo_pool_requests_total", "counter", "Requests answered, by endpoint and status code.");
	for (int e = 0; e < EP_COUNT; e++)
		for (size_t c = 0; c < NCODES; c++) {
			int64_t v = 0;
			for (int s = 0; s < NSHARDS; s++)
				v += load(&shards[s].req[e][c]);
			if (!v && !(c == 0 && e <= EP_EXEC))
				continue;
			if (codes[c])
				put(o, "ringo_pool_requests_total{endpoint=\"%s\",code=\"%d\"} %lld\n",
				    endpoint_names[e], codes[c], (long long)v);
			else
				put(o, "ringo_pool_requests_total{endpoint=\"%s\",code=\"other\"} %lld\n",
				    endpoint_names[e], (long long)v);
		}
	help(o, "ringo_pool_request_duration_seconds", "histogram",
	     "Time from a request's first byte to its answer.");
	for (int e = 0; e < EP_COUNT; e++) {
		int64_t cum = 0, sum = 0, per[NBOUNDS + 1];
		for (size_t b = 0; b <= NBOUNDS; b++) {
			per[b] = 0;
			for (int s = 0; s < NSHARDS; s++)
				per[b] += load(&shards[s].hist[e][b]);
		}
		for (int s = 0; s < NSHARDS; s++)
			sum += load(&shards[s].sum_ns[e]);
		for (size_t b = 0; b < NBOUNDS; b++) {
			cum += per[b];
			put(o, "ringo_pool_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %lld\n",
			    endpoint_names[e], bounds[b], (long long)cum);
		}
		cum += per[NBOUNDS];
		put(o, "ringo_pool_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %lld\n",
		    endpoint_names[e], (long long)cum);
		put(o, "ringo_pool_request_duration_seconds_sum{endpoint=\"%s\"} %.9f\n",
		    endpoint_names[e], (double)sum / 1e9);
		put(o, "ringo_pool_request_duration_seconds_count{endpoint=\"%s\"} %lld\n",
		    endpoint_names[e], (long long)cum);
	}
}

static void render_runtime(out_t *o)
{
	rg_stats_t st;
	if (rg_stats(&st) < 0)
		return;
	gauge(o, "ringo_runtime_goroutines", "Goroutines alive.", (double)st.goroutines);
	gauge(o, "ringo_runtime_procs", "Ps (GOMAXPROCS).", (double)st.procs);
	counter(o, "ringo_runtime_threads_total", "OS threads (Ms) started.", st.threads);
	counter(o, "ringo_runtime_goroutines_spawned_total", "Goroutines created.", st.spawned);
	counter(o, "ringo_runtime_switches_total", "Goroutine switches.", st.switches);
	counter(o, "ringo_runtime_parks_total", "Goroutines parked.", st.parks);
	counter(o, "ringo_runtime_steals_total", "Successful steals between Ps.", st.steals);
	counter(o, "ringo_runtime_handoffs_total", "Ps retaken from blocked syscalls.", st.handoffs);
	counter(o, "ringo_runtime_hogs_total", "Goroutines seen holding a P over 10 ms.", st.hogs);
	counter(o, "ringo_runtime_io_ops_total", "I/O requests completed.", st.io_ops);
	gauge(o, "ringo_runtime_global_runq", "Goroutines in the global run queue.",
	      (double)st.global_runq);
	help(o, "ringo_runtime_runq", "gauge", "Goroutines in each P's local run queue.");
	for (int i = 0; i < st.procs && i < RG_STATS_MAX_PROCS; i++)
		put(o, "ringo_runtime_runq{p=\"%d\"} %u\n", i, st.runq[i]);
	put(o, "# HELP ringo_runtime_info The I/O backend in use.\n"
	       "# TYPE ringo_runtime_info gauge\nringo_runtime_info{backend=\"%s\"} 1\n",
	    rg_io_backend());
}

char *metrics_render(size_t *len)
{
	out_t o = {0};
	int64_t open = load(&m.conns_open), inflight = load(&m.inflight);
	int64_t busy = load(&m.jobs_busy), queued = load(&m.jobs_queued);

	render_requests(&o);
	help(&o, "ringo_pool_rejections_total", "counter", "Requests or connections refused, by cause.");
	for (int i = 0; i < RJ_COUNT; i++)
		put(&o, "ringo_pool_rejections_total{cause=\"%s\"} %lld\n", reject_names[i],
		    (long long)load(&m.rejects[i]));
	gauge(&o, "ringo_pool_workers", "Workers in the job pool (--workers).", cfg.workers);
	gauge(&o, "ringo_pool_workers_busy", "Workers running a job.", (double)busy);
	gauge(&o, "ringo_pool_queue_depth", "Jobs waiting for a worker.", (double)queued);
	gauge(&o, "ringo_pool_queue_capacity", "Jobs that may wait (--queue).", cfg.queue);
	counter(&o, "ringo_pool_jobs_total", "Jobs finished, whatever their outcome.", load(&m.jobs_done));
	counter(&o, "ringo_pool_exec_killed_total", "Exec jobs killed by their deadline.",
		load(&m.exec_killed));
	gauge(&o, "ringo_pool_inflight_requests", "Requests being answered.", (double)inflight);
	help(&o, "ringo_pool_connections", "gauge", "Client connections.");
	put(&o, "ringo_pool_connections{state=\"open\"} %lld\n", (long long)open);
	put(&o, "ringo_pool_connections{state=\"max\"} %ld\n", cfg.max_conns);
	counter(&o, "ringo_pool_connections_total", "Connections accepted.", load(&m.conns_accepted));
	counter(&o, "ringo_pool_connections_idle_closed_total",
		"Keep-alive connections closed at --idle-timeout.", load(&m.conns_idle_closed));
	help(&o, "ringo_pool_goroutines", "gauge",
	     "This server's goroutines by what they do (connection goroutines reading or "
	     "answering, workers running or waiting).");
	int64_t conn_busy = inflight < open ? inflight : open;
	put(&o, "ringo_pool_goroutines{role=\"conn\",state=\"waiting\"} %lld\n",
	    (long long)(open - conn_busy));
	put(&o, "ringo_pool_goroutines{role=\"conn\",state=\"answering\"} %lld\n",
	    (long long)conn_busy);
	put(&o, "ringo_pool_goroutines{role=\"worker\",state=\"running\"} %lld\n", (long long)busy);
	put(&o, "ringo_pool_goroutines{role=\"worker\",state=\"waiting\"} %lld\n",
	    (long long)(cfg.workers > busy ? cfg.workers - busy : 0));
	counter(&o, "ringo_pool_received_bytes_total", "Bytes read from clients.", load(&m.bytes_in));
	counter(&o, "ringo_pool_sent_bytes_total", "Bytes written to clients.", load(&m.bytes_out));
	gauge(&o, "ringo_pool_draining", "1 while draining after SIGTERM/SIGINT.",
	      atomic_load(&srv.draining) ? 1 : 0);
	gauge(&o, "ringo_pool_uptime_seconds", "Seconds since start.",
	      (double)(rg_now() - srv.started) / 1e9);
	render_runtime(&o);
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	*len = o.len;
	return o.p;
}
