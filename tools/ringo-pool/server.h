// SPDX-License-Identifier: MIT
/*
 * server.h — the parts of ringo-pool and how they meet.
 *
 *   main.c      flags, start-up, the accept loop, signals, drain, summary
 *   http.c      one goroutine per connection: reads, libhttp_parser,
 *               keep-alive, pipelining, the header/idle/write deadlines,
 *               responses
 *   routes.c    the endpoint table and the small endpoints (health,
 *               readiness, metrics, status page, goroutine dump)
 *   jobs.c      the bounded worker pool: hash, sleep and exec jobs, their
 *               deadlines (504) and the 503 of a full queue
 *   files.c     /v1/files: path checks, openat2(RESOLVE_BENEATH) or the
 *               component walk, streaming with ringo's file I/O
 *   metrics.c   counters, histograms and the Prometheus text
 *   flags.c     Go durations and byte sizes for the flags
 *   status.html the status page, linked in by status.S
 *
 * Who calls what: main.c starts connections (srv_conn_main); http.c
 * parses and calls route(); handlers answer through the resp_* calls of
 * http.c, which own the connection's output buffer.  Everything in
 * `srv` is set before the first connection and read-only afterwards,
 * except the fields marked atomic.
 *
 * It uses only the public API (include/ringo.h), as any user would.
 */
#ifndef RINGO_POOL_SERVER_H
#define RINGO_POOL_SERVER_H

#include <ringo.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

/* Go's `defer cancel()`: cancels ctx and drops the caller's reference.
 * The contract of contexts is changing (issue 14): rg_ctx_cancel used to
 * drop the creator's reference itself; where ctx.h says cancelling and
 * releasing are separate acts (the Makefile looks), it takes both calls.
 * Every context this server makes ends here, so that change is this one
 * line. */
static inline void ctx_end(rg_ctx_t *ctx)
{
	rg_ctx_cancel(ctx);
#if RINGO_POOL_HAVE_CTX_RELEASE
	rg_ctx_release(ctx);
#endif
}

/* ---- configuration (flags) ------------------------------------------ */

typedef struct allow_entry {
	char name[64];     /* what /v1/exec/NAME says */
	char path[4096];   /* the program run, absolute */
} allow_entry_t;

typedef struct srv_config {
	const char *addr;          /* listen address */
	int procs;                 /* Ps (0: CPU count) */
	int workers;               /* pool workers */
	int queue;                 /* jobs waiting beyond the workers */
	int64_t timeout;           /* per-request deadline (ns) */
	double rate;               /* requests/s per client (0: unlimited) */
	int burst;                 /* per-client bucket */
	size_t max_keys;           /* clients the limiter remembers */
	size_t max_body;           /* request body bytes */
	size_t max_header;         /* request line + headers bytes */
	size_t max_output;         /* exec stdout bytes */
	int64_t header_timeout;    /* whole head must arrive within (ns) */
	int64_t idle_timeout;      /* keep-alive wait for the next request */
	int64_t write_timeout;     /* a response must leave within (ns) */
	long max_conns;            /* open connections at most */
	int64_t grace;             /* drain time after SIGTERM/SIGINT */
	const char *root;          /* /v1/files root, NULL: disabled */
	bool debug_remote;         /* /debug/goroutines from anywhere */
	bool quiet;                /* no access log on stderr */
	allow_entry_t *allow;      /* --allow NAME=PATH */
	int nallow;
} srv_config_t;

extern srv_config_t cfg;

/* Parses a Go duration ("300ms", "1.5s", "2m", "1h30m", "0") into *ns.
 * Returns 0 or -EINVAL. */
int parse_duration(const char *s, int64_t *ns);
/* Formats ns as Go does ("1.5s", "300ms", "1m0s") into buf. */
const char *format_duration(int64_t ns, char *buf, size_t n);
/* Parses a byte count: digits with an optional k/K/KiB/M/MiB/G/GiB
 * suffix (powers of 1024).  Returns 0 or -EINVAL. */
int parse_size(const char *s, size_t *out);

/* ---- server state ---------------------------------------------------- */

typedef struct srv_state {
	int64_t started;              /* rg_now() at start */
	_Atomic bool draining;        /* SIGTERM/SIGINT seen: readiness fails */
	rg_ctx_t *idle_ctx;           /* cancelled when draining starts: ends
					 idle keep-alive waits */
	rg_ctx_t *kill_ctx;           /* cancelled when the grace period ends:
					 ends everything, kills exec jobs */
	int root_fd;                  /* O_PATH fd of --root, -1: none */
	bool openat2;                 /* openat2(RESOLVE_BENEATH) works */
} srv_state_t;

extern srv_state_t srv;

/* ---- metrics --------------------------------------------------------- */

enum endpoint {
	EP_HASH, EP_SLEEP, EP_FILES, EP_EXEC, EP_METRICS, EP_HEALTHZ,
	EP_READYZ, EP_GOROUTINES, EP_STATUS, EP_OTHER, EP_COUNT
};

enum reject {
	RJ_RATE,        /* 429 */
	RJ_QUEUE,       /* 503: pool full */
	RJ_DRAINING,    /* 503: job refused while draining */
	RJ_TIMEOUT,     /* 504 */
	RJ_BODY,        /* 413 */
	RJ_HEADER,      /* 431 */
	RJ_BAD,         /* 400 */
	RJ_HEADER_TIMEOUT, /* slowloris cut */
	RJ_CONNS,       /* accept had to wait for a free connection slot */
	RJ_EMFILE,      /* accept backed off: out of descriptors */
	RJ_COUNT
};

extern const char *const endpoint_names[EP_COUNT];
extern const char *const reject_names[RJ_COUNT];

typedef struct metrics {
	_Atomic int64_t conns_accepted, conns_open, conns_closed;
	_Atomic int64_t conns_idle_closed;      /* closed at --idle-timeout */
	_Atomic int64_t conns_active;           /* reading or answering a request */
	_Atomic int64_t jobs_queued;            /* submitted, not started */
	_Atomic int64_t jobs_busy;              /* running on a worker */
	_Atomic int64_t jobs_done;              /* finished (any outcome) */
	_Atomic int64_t exec_killed;            /* exec jobs killed by a deadline */
	_Atomic int64_t inflight;               /* requests being answered */
	_Atomic int64_t bytes_in, bytes_out;
	_Atomic int64_t rejects[RJ_COUNT];
} metrics_t;

extern metrics_t m;

/* Counts one answered request: endpoint, status, seconds it took. */
void metrics_request(int ep, int status, int64_t ns);
void metrics_reject(int cause);
/* Appends the Prometheus text exposition to a malloc'd buffer. */
char *metrics_render(size_t *len);
/* Requests answered so far, all endpoints. */
int64_t metrics_requests_total(void);
/* "2xx 123, 4xx 4, 5xx 0" style totals for the summary line. */
void metrics_summary(char *buf, size_t n);

/* ---- connections and requests ---------------------------------------- */

typedef struct conn conn_t;

typedef struct req {
	int method;                 /* enum http_method */
	const char *path;           /* raw (still percent-encoded) path */
	size_t path_len;
	const char *query;          /* after '?', NULL if none */
	size_t query_len;
	const char *body;           /* whole body (NUL-terminated copy) */
	size_t body_len;
	bool keep_alive;            /* the client allows another request */
	int64_t start;              /* rg_now() when the head was complete */
	int ep;                     /* enum endpoint (set by route) */
	const struct sockaddr_storage *peer;
	conn_t *conn;
} req_t;

/* The connection goroutine: serves HTTP on fd (owned) until the client
 * leaves, a deadline passes or the server drains.  arg is a conn_t made
 * by conn_new. */
conn_t *conn_new(int fd, const struct sockaddr_storage *peer, socklen_t len);
void conn_main(void *arg);
/* Frees a connection that never ran (conn_main frees its own). */
void conn_free(conn_t *c);

/* Responses.  A handler calls exactly one of resp_send / resp_error /
 * (resp_head + resp_body* + resp_end).  Extra headers (each ending in
 * "\r\n") may be given to resp_send and resp_head, or NULL. */
void resp_send(req_t *r, int status, const char *ctype, const char *extra,
	       const void *body, size_t len);
void resp_error(req_t *r, int status, const char *extra, const char *msg);
/* Starts a response of known length; the body follows in resp_body
 * calls (streamed: large bodies leave as they are produced).  Returns 0
 * or -errno (the connection is then closed). */
int resp_head(req_t *r, int status, const char *ctype, const char *extra,
	      size_t content_length);
int resp_body(req_t *r, const void *p, size_t n);
/* Ends the request: the connection closes after this response. */
void resp_close_after(req_t *r);
/* Writes out the responses buffered so far (before a handler waits).
 * 0 or -errno. */
int resp_flush(req_t *r);
/* Takes the request's body buffer (malloc'd, NUL-terminated; the
 * caller frees it); the request's body is empty afterwards. */
char *req_take_body(req_t *r, size_t *len);
/* The connection's write context (write deadline under kill_ctx). */
rg_ctx_t *conn_write_ctx(conn_t *c);

/* Is the peer on the loopback (127/8, ::1, ::ffff:127/104)? */
bool peer_is_loopback(const struct sockaddr_storage *ss);

/* ---- handlers --------------------------------------------------------- */

/* Picks the endpoint, applies the rate limit, and answers. */
void route(req_t *r);
/* Called once before serving: limiter, pool, files root.  0 or -errno
 * with a message printed. */
int routes_init(void);
void routes_fini(void);

int jobs_init(void);
/* Closes the pool and waits for every job to end (after the
 * connections are gone). */
void jobs_drain(void);
void handle_hash(req_t *r);
void handle_sleep(req_t *r);
void handle_exec(req_t *r, const char *name, size_t name_len);

int files_init(void);
void handle_files(req_t *r, const char *rest, size_t rest_len);
/* Percent-decodes src into dst (room for n bytes + NUL); -1 on a bad
 * escape, an encoded NUL, or no room. */
ssize_t url_decode(const char *src, size_t len, char *dst, size_t n);
/* Opens rel (decoded, relative) under the root: an fd or -errno
 * (-ENOENT for every path that escapes the root). */
int files_open_beneath(const char *rel);

/* The status page (status.html linked in by status.S). */
extern const char status_html[];
extern const char status_html_end[];

/* Query parameter lookup: the value of key in q (not decoded), or NULL. */
const char *query_get(const char *q, size_t qlen, const char *key, size_t *vlen);
/* Parses an unsigned decimal of at most 19 digits; -1 if not one. */
int64_t parse_uint(const char *s, size_t n);

#endif
