// SPDX-License-Identifier: MIT
/*
 * http.c — HTTP/1.1 on one connection: one goroutine reads, parses with
 * Debian's libhttp_parser (nodejs/http-parser 2.9), answers in order,
 * and keeps the connection for the next request.
 *
 * The loop.  Bytes arrive in `in`; [in_off, in_len) is not parsed yet.
 * http_parser_execute runs over it; on_message_complete pauses the
 * parser, so execute returns at each request's end: the request is
 * answered outside the parser's callbacks (a handler may block: a job,
 * a file), then parsing resumes with the bytes after it.  That is
 * pipelining: every request already in the buffer is answered before
 * the next read, and their responses leave in one write.  Output is
 * flushed before any read that may wait, before a handler that may
 * wait (jobs), and when it passes OUT_FLUSH.
 *
 * Invariants:
 *   - The head of the current request (request line and headers) stays
 *     in `in` from req_start until on_headers_complete, which copies the
 *     URL out (to `url`): the callbacks' offsets into `in` (url_off,
 *     hf_off, hv_off) are relative to `in` and shift when the buffer is
 *     compacted (compact() moves them all).  After the head, only the
 *     unparsed bytes matter: the body is copied out by on_body.
 *   - A head larger than max_header is a 431; the buffer never grows
 *     past max_header + IN_MIN.
 *   - Responses leave in request order; exactly one per request.
 *
 * Read deadlines:
 *   - waiting for the first byte of a request ("idle"): --idle-timeout
 *     after the last response (or --header-timeout after accept, for the
 *     first request); draining ends these waits at once;
 *   - the rest of the head: --header-timeout from its first byte
 *     (slowloris: a head trickling in is cut there however often bytes
 *     come);
 *   - the body: --timeout from the start of the request.
 * A read's context has no deadline of its own: an I/O call under a
 * deadline context carries a linked timeout in the kernel, armed and
 * torn down (a second SQE and CQE) on every read, about a tenth of the
 * server's CPU per /healthz at 1,000 connections.  Instead each
 * connection has two cancel contexts, made once: `ictx` (child of
 * srv.idle_ctx, for idle waits) and `kctx` (child of srv.kill_ctx, for
 * the head and body), and one rg_after_func timer, rd_timer.  Before a
 * read the goroutine publishes in rd_at the time from which the read
 * may be cut; rd_fire, the timer's fn, cuts it (rd_at -> RD_FIRED by a
 * CAS, then cancels rd_ctx) only if that time has come, and after the
 * read the goroutine takes rd_at back (exchange with RD_NONE): RD_FIRED
 * there is -ETIMEDOUT.  The timer is reset only when its fire time is
 * not within [deadline - slack, deadline] of the one wanted (slack:
 * idle/16, at most 1 s, for idle waits after the first request; 0
 * otherwise), so a busy keep-alive connection resets it about once a
 * second and a request costs two atomic stores, not a timer; an idle
 * connection is closed between idle-slack and idle after its last
 * response.  A fire that finds no read (a handler running) does
 * nothing; the next read re-arms.  rd_fire runs on a goroutine of its
 * own that may start late, so conn_free counts the runs it knows began
 * (rg_timer_reset or _stop returning false) and waits for that many to
 * end before freeing the connection.
 * Each write that cannot leave at once has a deadline context,
 * --timeout from then (rare: it costs a linked timeout only then).
 *
 * Writes try send(MSG_DONTWAIT) first (a response nearly always fits
 * the socket buffer) and only what is left goes through rg_write with a
 * deadline context, made then.
 *
 * Errors in the request (the parser's, or ours from its callbacks) are
 * answered with 400, 413 or 431 and the connection closes: after a
 * malformed request nothing after it can be trusted.  Closing a socket
 * with unread bytes makes the kernel send RST, which can destroy the
 * error response in flight; so error closes linger: shut the write
 * side, then read and drop for up to LINGER_NS (Go does the same).
 *
 * Rejected designs:
 *   - Parsing by hand: the issue forbids it, and rightly (smuggling,
 *     chunked edge cases).
 *   - Handling the request inside on_message_complete: a handler that
 *     parks would run inside http_parser_execute, and a pipelined
 *     request's bytes could not be moved while it runs.
 *   - A sweeper goroutine for idle and header timeouts (one timer wheel
 *     for all connections, shutdown(2) on expiry): cheaper per request,
 *     but it must race the connection's own close for the fd (an fd
 *     number reused by a new connection could be shut down), and the
 *     context reuse above already makes deadlines cheap.
 *   - A context per read: measured as one malloc, a timer-heap insert
 *     and a parent lock per request.
 *   - A deadline context per phase, reused within the slack: no malloc
 *     per request, but the kernel's linked timeout on every read (see
 *     above).
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_MIN (8 * 1024)        /* first input buffer */
#define OUT_FLUSH (64 * 1024)    /* flush output past this */
#define LINGER_NS (500 * RG_MILLISECOND)
#define LINGER_BYTES (256 * 1024)

struct conn {
	int fd;
	struct sockaddr_storage peer;
	http_parser parser;

	char *in;                 /* input: [0, in_len) bytes, [in_off, in_len) unparsed */
	size_t in_cap, in_len, in_off;
	size_t req_start;         /* where the current request's head starts */
	bool in_msg;              /* between message begin and complete */
	bool head_done;
	int64_t msg_begin;        /* rg_now() at the request's first byte */
	int64_t last_done;        /* rg_now() at the last response (or accept) */
	bool first;               /* no request seen yet */

	size_t url_off, url_len;  /* in `in`, until the head is done */
	size_t hf_off, hf_len, hv_off, hv_len; /* the header being read */
	bool in_value;
	bool expect_continue, continue_sent;
	int err_status;           /* 400/413/431 decided by a callback */

	char *url;                /* the URL, copied at headers complete */
	size_t url_cap;
	char *body;               /* the body, NUL-terminated */
	size_t body_len, body_cap;

	char *out;                /* responses not yet written */
	size_t out_len, out_cap;
	bool close_after;         /* after this response, close */
	int status;               /* of the response being written */
	bool head_sent;           /* resp_head called for this request */
	bool broken;              /* a write failed: stop */
	bool linger;              /* an error answer: close gently */

	/* Read deadlines (see the header comment). */
	rg_ctx_t *ictx;           /* idle waits: child of srv.idle_ctx, or NULL */
	rg_ctx_t *kctx;           /* head and body: child of srv.kill_ctx, or NULL */
	rg_ctx_t *rd_ctx;         /* the one the read in flight uses */
	_Atomic int64_t rd_at;    /* RD_NONE, RD_FIRED, or from when rd_fire
				     may cut the read in flight */
	rg_timer_t *rd_timer;     /* rg_after_func(rd_fire), armed from the
				     first read to conn_free */
	int64_t timer_at;         /* when rd_timer fires (this goroutine's) */
	unsigned fires_started;   /* rd_fire runs started, as counted here */
	_Atomic unsigned fires_done; /* rd_fire runs ended (their last act) */

	char date[40];            /* "Date: ...\r\n", for date_sec */
	time_t date_sec;

	req_t req;
};

static http_parser_settings settings;

/* ---- buffers ---------------------------------------------------------- */

static bool grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 1024;
	while (n < need)
		n *= 2;
	char *p = realloc(*buf, n);
	if (!p)
		return false;
	*buf = p;
	*cap = n;
	return true;
}

static bool out_append(conn_t *c, const void *p, size_t n)
{
	if (!grow(&c->out, &c->out_cap, c->out_len + n))
		return false;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return true;
}

/* A write deadline context, made only when a write must wait. */
rg_ctx_t *conn_write_ctx(conn_t *c)
{
	(void)c;
	return rg_ctx_with_timeout(srv.kill_ctx, cfg.timeout);
}

/* Writes p[0..n) whole: send(2) without waiting first, then rg_write
 * under a deadline for the rest.  0 or -errno. */
static int write_all(conn_t *c, const char *p, size_t n)
{
	if (c->broken)
		return -EPIPE;
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN) {
			c->broken = true;
			return -errno;
		}
		rg_ctx_t *wctx = conn_write_ctx(c);
		ssize_t r = rg_write(c->fd, p, n, wctx);
		ctx_end(wctx);
		if (r < 0) {
			c->broken = true;
			return (int)r;
		}
		break;
	}
	return 0;
}

static int out_flush(conn_t *c)
{
	if (!c->out_len)
		return c->broken ? -EPIPE : 0;
	int r = write_all(c, c->out, c->out_len);
	atomic_fetch_add_explicit(&m.bytes_out, (int64_t)c->out_len, memory_order_relaxed);
	c->out_len = 0;
	return r;
}

/* ---- responses -------------------------------------------------------- */

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static const char *date_header(conn_t *c)
{
	time_t now = time(NULL);
	if (now != c->date_sec) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(c->date, sizeof(c->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		c->date_sec = now;
	}
	return c->date;
}

void resp_close_after(req_t *r)
{
	r->conn->close_after = true;
}

int resp_flush(req_t *r)
{
	return out_flush(r->conn);
}

char *req_take_body(req_t *r, size_t *len)
{
	conn_t *c = r->conn;
	char *b = c->body;
	*len = c->body_len;
	c->body = NULL;
	c->body_cap = c->body_len = 0;
	r->body = "";
	r->body_len = 0;
	if (!b)
		b = calloc(1, 1);
	return b;
}

/* Appends lit (a string literal) at *w. */
#define PUT_LIT(w, lit) (memcpy((w), (lit), sizeof(lit) - 1), (w) += sizeof(lit) - 1)

static char *put_str(char *w, const char *s, size_t n)
{
	memcpy(w, s, n);
	return w + n;
}

/* Decimal digits of v at w; returns the end. */
static char *put_uint(char *w, uint64_t v)
{
	char t[20];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*w++ = t[--n];
	return w;
}

int resp_head(req_t *r, int status, const char *ctype, const char *extra, size_t content_length)
{
	conn_t *c = r->conn;

	if (c->head_sent)
		rg_panic("ringo-pool: two responses to one request");
	c->head_sent = true;
	c->status = status;
	if (!r->keep_alive)
		c->close_after = true;
	/* Built with copies, not snprintf: the head is written for every
	 * request, and vfprintf was a third of the server's own
	 * instructions per /healthz (callgrind, 2,240 of 6,230). */
	const char *why = reason(status);
	const char *date = date_header(c);
	size_t why_n = strlen(why), date_n = strlen(date), ctype_n = strlen(ctype);
	size_t extra_n = extra ? strlen(extra) : 0;
	size_t max = 16 + why_n + date_n + 20 + 16 + ctype_n + 20 + 20 + 26 + extra_n + 2;
	if (status < 100 || status > 999)
		return -EINVAL;
	if (!grow(&c->out, &c->out_cap, c->out_len + max)) {
		c->broken = true;
		return -ENOMEM;
	}
	char *w = c->out + c->out_len;
	PUT_LIT(w, "HTTP/1.1 ");
	w = put_uint(w, (uint64_t)status);
	*w++ = ' ';
	w = put_str(w, why, why_n);
	PUT_LIT(w, "\r\n");
	w = put_str(w, date, date_n);
	PUT_LIT(w, "Server: ringo-pool\r\nContent-Type: ");
	w = put_str(w, ctype, ctype_n);
	PUT_LIT(w, "\r\nContent-Length: ");
	w = put_uint(w, content_length);
	PUT_LIT(w, "\r\n");
	if (c->close_after)
		PUT_LIT(w, "Connection: close\r\n");
	else if (c->parser.http_minor == 0)
		PUT_LIT(w, "Connection: keep-alive\r\n");
	if (extra_n)
		w = put_str(w, extra, extra_n);
	PUT_LIT(w, "\r\n");
	c->out_len = (size_t)(w - c->out);
	return 0;
}

int resp_body(req_t *r, const void *p, size_t n)
{
	conn_t *c = r->conn;
	if (r->method == HTTP_HEAD || c->broken)
		return c->broken ? -EPIPE : 0;
	if (c->out_len + n <= OUT_FLUSH)
		return out_append(c, p, n) ? 0 : -ENOMEM;
	int e = out_flush(c);
	if (e < 0)
		return e;
	atomic_fetch_add_explicit(&m.bytes_out, (int64_t)n, memory_order_relaxed);
	return write_all(c, p, n);
}

void resp_send(req_t *r, int status, const char *ctype, const char *extra, const void *body,
	       size_t len)
{
	if (resp_head(r, status, ctype, extra, len) == 0)
		resp_body(r, body, len);
}

void resp_error(req_t *r, int status, const char *extra, const char *msg)
{
	char b[256];
	int n = snprintf(b, sizeof(b), "%s\n", msg ? msg : reason(status));
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(b))
		n = sizeof(b) - 1;
	resp_send(r, status, "text/plain; charset=utf-8", extra, b, (size_t)n);
}

/* ---- parser callbacks ------------------------------------------------- */

static int on_message_begin(http_parser *p)
{
	conn_t *c = p->data;
	c->in_msg = true;
	c->head_done = false;
	c->msg_begin = rg_now();
	c->url_len = c->hf_len = c->hv_len = 0;
	c->in_value = false;
	c->expect_continue = c->continue_sent = false;
	c->body_len = 0;
	return 0;
}

/* Offsets of the callbacks' data pieces: a field may come in several
 * pieces (one per read), always contiguous in `in` (see the head
 * invariant), so offset of the first piece + total length. */
static void piece(conn_t *c, const char *at, size_t len, size_t *off, size_t *n)
{
	if (*n == 0)
		*off = (size_t)(at - c->in);
	*n += len;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	conn_t *c = p->data;
	piece(c, at, len, &c->url_off, &c->url_len);
	return 0;
}

static bool ieq(const char *a, size_t n, const char *lit)
{
	return n == strlen(lit) && strncasecmp(a, lit, n) == 0;
}

/* A header (field, value) is complete: note what we act on. */
static void header_done(conn_t *c)
{
	const char *f = c->in + c->hf_off, *v = c->in + c->hv_off;
	if (ieq(f, c->hf_len, "expect") && ieq(v, c->hv_len, "100-continue"))
		c->expect_continue = true;
	c->hf_len = c->hv_len = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	conn_t *c = p->data;
	if (c->in_value) {
		header_done(c);
		c->in_value = false;
	}
	piece(c, at, len, &c->hf_off, &c->hf_len);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	conn_t *c = p->data;
	c->in_value = true;
	piece(c, at, len, &c->hv_off, &c->hv_len);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	conn_t *c = p->data;
	if (c->in_value)
		header_done(c);
	c->in_value = false;
	c->head_done = true;
	if (p->http_major != 1) {
		c->err_status = 505; /* Go: "unsupported protocol version" */
		return -1;
	}
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > cfg.max_body) {
		c->err_status = 413;
		return -1;
	}
	if (!grow(&c->url, &c->url_cap, c->url_len + 1)) {
		c->err_status = 500;
		return -1;
	}
	memcpy(c->url, c->in + c->url_off, c->url_len);
	c->url[c->url_len] = 0;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	conn_t *c = p->data;
	if (c->body_len + len > cfg.max_body) {
		c->err_status = 413;
		return -1;
	}
	if (!grow(&c->body, &c->body_cap, c->body_len + len + 1)) {
		c->err_status = 500;
		return -1;
	}
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	conn_t *c = p->data;
	c->in_msg = false;
	http_parser_pause(p, 1);
	return 0;
}

/* ---- requests --------------------------------------------------------- */

bool peer_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
	}
	return ss->ss_family == AF_UNIX;
}

/* Fills c->req from the parser and the copied URL. */
static bool make_req(conn_t *c)
{
	req_t *r = &c->req;
	struct http_parser_url u;

	memset(r, 0, sizeof(*r));
	r->conn = c;
	r->peer = &c->peer;
	r->method = (int)c->parser.method;
	r->keep_alive = http_should_keep_alive(&c->parser) && !c->parser.upgrade;
	r->start = c->msg_begin;
	r->ep = EP_OTHER;
	if (!c->body)
		grow(&c->body, &c->body_cap, 1);
	if (!c->body)
		return false;
	c->body[c->body_len] = 0;
	r->body = c->body;
	r->body_len = c->body_len;

	/* Origin form ("/path?q") only; absolute form and '*' are 400. */
	http_parser_url_init(&u);
	if (c->url_len == 0 || c->url[0] != '/' ||
	    http_parser_parse_url(c->url, c->url_len, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH)))
		return false;
	r->path = c->url + u.field_data[UF_PATH].off;
	r->path_len = u.field_data[UF_PATH].len;
	if (u.field_set & (1 << UF_QUERY)) {
		r->query = c->url + u.field_data[UF_QUERY].off;
		r->query_len = u.field_data[UF_QUERY].len;
	}
	return true;
}

/* Answers a request the parser could not make sense of, then closes. */
static void answer_bad(conn_t *c, int status)
{
	req_t *r = &c->req;
	memset(r, 0, sizeof(*r));
	r->conn = c;
	r->peer = &c->peer;
	r->method = HTTP_GET;
	r->start = c->in_msg ? c->msg_begin : rg_now();
	r->ep = EP_OTHER;
	c->close_after = true;
	c->linger = true;
	c->head_sent = false;
	metrics_reject(status == 413 ? RJ_BODY : status == 431 ? RJ_HEADER : RJ_BAD);
	resp_error(r, status, NULL, NULL);
	metrics_request(EP_OTHER, status, rg_now() - r->start);
}

static void serve_one(conn_t *c)
{
	req_t *r = &c->req;

	c->head_sent = false;
	c->status = 0;
	atomic_fetch_add_explicit(&m.inflight, 1, memory_order_relaxed);
	if (!make_req(c)) {
		c->close_after = true;
		r->keep_alive = false;
		metrics_reject(RJ_BAD);
		resp_error(r, 400, NULL, "bad request target");
	} else {
		/* Draining: what is already buffered is answered; after
		 * that the connection closes. */
		if (atomic_load_explicit(&srv.draining, memory_order_relaxed) &&
		    c->in_off >= c->in_len)
			c->close_after = true;
		route(r);
		if (!c->head_sent)
			resp_error(r, 500, NULL, "no response");
	}
	atomic_fetch_sub_explicit(&m.inflight, 1, memory_order_relaxed);
	metrics_request(r->ep, c->status, rg_now() - r->start);
	c->last_done = rg_now();
	c->first = false;
	c->req_start = c->in_off;
	c->head_done = false;
	if (c->out_len >= OUT_FLUSH)
		out_flush(c);
}

/* Moves the bytes still needed to the front of `in`. */
static void compact(conn_t *c)
{
	size_t keep = c->in_msg && !c->head_done ? c->req_start : c->in_off;
	if (keep == 0)
		return;
	memmove(c->in, c->in + keep, c->in_len - keep);
	c->in_len -= keep;
	c->in_off -= keep;
	c->req_start = c->req_start >= keep ? c->req_start - keep : 0;
	if (c->url_len)
		c->url_off -= c->url_off >= keep ? keep : c->url_off;
	if (c->hf_len)
		c->hf_off -= c->hf_off >= keep ? keep : c->hf_off;
	if (c->hv_len)
		c->hv_off -= c->hv_off >= keep ? keep : c->hv_off;
}

/* Parses and answers what is buffered.  Returns false when the
 * connection must close. */
static bool feed(conn_t *c)
{
	while (c->in_off < c->in_len && !c->close_after && !c->broken) {
		if (!c->in_msg)
			c->req_start = c->in_off;
		size_t n = http_parser_execute(&c->parser, &settings, c->in + c->in_off,
					       c->in_len - c->in_off);
		c->in_off += n;
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
		if (e == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			serve_one(c);
			continue;
		}
		if (e != HPE_OK) {
			int st = c->err_status ? c->err_status
				 : e == HPE_HEADER_OVERFLOW ? 431 : 400;
			answer_bad(c, st);
			return false;
		}
		if (c->parser.upgrade) {
			answer_bad(c, 400);
			return false;
		}

	}
	/* A head that has not ended within max_header bytes. */
	if (c->in_msg && !c->head_done && c->in_len - c->req_start > cfg.max_header) {
		answer_bad(c, 431);
		return false;
	}
	return !c->close_after && !c->broken;
}

/* ---- reading with deadlines ------------------------------------------ */

#define RD_NONE INT64_MAX   /* rd_at: no read in flight */
#define RD_FIRED INT64_MIN  /* rd_at: rd_fire cut the read in flight */

/* rd_timer's fn, on a goroutine of its own: cuts the read in flight if
 * its time has come.  Its last act is the fires_done count, after which
 * the connection may be freed. */
static void rd_fire(void *arg)
{
	conn_t *c = arg;
	int64_t at = atomic_load_explicit(&c->rd_at, memory_order_acquire);
	if (at != RD_NONE && at != RD_FIRED && rg_now() >= at &&
	    atomic_compare_exchange_strong_explicit(&c->rd_at, &at, RD_FIRED,
						    memory_order_acq_rel, memory_order_acquire)) {
		/* The goroutine published rd_ctx before rd_at (release) and
		 * starts no other read before it sees RD_FIRED. */
		rg_ctx_cancel(c->rd_ctx);
	}
	atomic_fetch_add_explicit(&c->fires_done, 1, memory_order_release);
}

/* Stops rd_timer, waits for the rd_fire runs that began, and ends the
 * read contexts.  Only the connection's goroutine (or the accept loop,
 * for a connection that never ran) calls this. */
static void rd_end(conn_t *c)
{
	if (c->rd_timer) {
		if (!rg_timer_stop(c->rd_timer))
			c->fires_started++;
		/* rd_fire neither blocks nor waits for us: a few yields. */
		while (atomic_load_explicit(&c->fires_done, memory_order_acquire) !=
		       c->fires_started)
			rg_yield();
		rg_timer_free(c->rd_timer);
		c->rd_timer = NULL;
	}
	if (c->ictx)
		ctx_end(c->ictx);
	if (c->kctx)
		ctx_end(c->kctx);
	c->ictx = c->kctx = c->rd_ctx = NULL;
}

/* Before a read: picks its context and deadline by phase (see the
 * header comment), re-arms rd_timer if its fire time does not fit, and
 * publishes rd_at.  The context, or NULL out of memory. */
static rg_ctx_t *read_arm(conn_t *c)
{
	int64_t deadline, slack = 0;
	rg_ctx_t **ctx, *parent;

	if (!c->in_msg) {
		ctx = &c->ictx;
		parent = srv.idle_ctx;
		if (c->first) {
			deadline = c->last_done + cfg.header_timeout;
		} else {
			deadline = c->last_done + cfg.idle_timeout;
			slack = cfg.idle_timeout / 16;
			if (slack > RG_SECOND)
				slack = RG_SECOND;
		}
	} else if (!c->head_done) {
		ctx = &c->kctx;
		parent = srv.kill_ctx;
		deadline = (c->first ? c->last_done : c->msg_begin) + cfg.header_timeout;
	} else {
		ctx = &c->kctx;
		parent = srv.kill_ctx;
		deadline = c->msg_begin + cfg.timeout;
	}
	if (!*ctx && !(*ctx = rg_ctx_with_cancel(parent)))
		return NULL;
	int64_t now = rg_now();
	/* A fire time already past may have found no read: re-arm. */
	if (!c->rd_timer || c->timer_at > deadline || c->timer_at < deadline - slack ||
	    c->timer_at <= now) {
		if (!c->rd_timer) {
			c->rd_timer = rg_after_func(deadline - now, rd_fire, c);
			if (!c->rd_timer)
				return NULL;
		} else if (!rg_timer_reset(c->rd_timer, deadline - now)) {
			c->fires_started++; /* the last period's run began */
		}
		c->timer_at = deadline;
	}
	c->rd_ctx = *ctx;
	atomic_store_explicit(&c->rd_at, c->timer_at, memory_order_release);
	return *ctx;
}

/* After the read: takes rd_at back.  true if rd_fire cut the read (its
 * result, whatever it is, stands for -ETIMEDOUT). */
static bool read_disarm(conn_t *c)
{
	return atomic_exchange_explicit(&c->rd_at, RD_NONE, memory_order_acq_rel) == RD_FIRED;
}

/* Reads more into `in`.  > 0 bytes, 0 EOF, or -errno (-ETIMEDOUT: a
 * deadline, -ECANCELED: draining or the grace period ended). */
static ssize_t fill(conn_t *c)
{
	compact(c);
	size_t want = c->in_len + IN_MIN / 2;
	if (want > cfg.max_header + IN_MIN)
		want = cfg.max_header + IN_MIN;
	if (c->in_cap - c->in_len < IN_MIN / 4 && !grow(&c->in, &c->in_cap, want))
		return -ENOMEM;
	if (c->in_cap <= c->in_len)
		return -ENOBUFS;
	rg_ctx_t *ctx = read_arm(c);
	if (!ctx)
		return -ENOMEM;
	/* recv, not read: io_uring's read sets up a file iterator
	 * (io_rw_init_file, __io_prep_rw) that a socket does not need. */
	ssize_t n = rg_recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0, ctx);
	if (read_disarm(c))
		return -ETIMEDOUT;
	if (n > 0) {
		c->in_len += (size_t)n;
		atomic_fetch_add_explicit(&m.bytes_in, n, memory_order_relaxed);
	}
	return n;
}

/* Shuts the write side and reads what the client still sends, so that
 * closing does not reset the connection under the response. */
static void linger_close(conn_t *c)
{
	shutdown(c->fd, SHUT_WR);
	rg_ctx_t *ctx = rg_ctx_with_timeout(srv.kill_ctx, LINGER_NS);
	char buf[4096];
	size_t total = 0;
	while (total < LINGER_BYTES) {
		ssize_t n = rg_read(c->fd, buf, sizeof(buf), ctx);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	ctx_end(ctx);
}

/* ---- the connection --------------------------------------------------- */

static rg_once_t settings_once;

static void settings_init(void *arg)
{
	(void)arg;
	http_parser_settings_init(&settings);
	settings.on_message_begin = on_message_begin;
	settings.on_url = on_url;
	settings.on_header_field = on_header_field;
	settings.on_header_value = on_header_value;
	settings.on_headers_complete = on_headers_complete;
	settings.on_body = on_body;
	settings.on_message_complete = on_message_complete;
	/* The parser's own cap counts header bytes (not the request line);
	 * ours (feed) counts the whole head; the parser's is a backstop. */
	http_parser_set_max_header_size((uint32_t)(cfg.max_header < UINT32_MAX ? cfg.max_header
									   : UINT32_MAX));
}

conn_t *conn_new(int fd, const struct sockaddr_storage *peer, socklen_t len)
{
	rg_once_do(&settings_once, settings_init, NULL);
	conn_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	if (peer && len <= sizeof(c->peer))
		memcpy(&c->peer, peer, len);
	c->in = malloc(IN_MIN);
	if (!c->in) {
		free(c);
		return NULL;
	}
	c->in_cap = IN_MIN;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->first = true;
	c->last_done = rg_now();
	atomic_init(&c->rd_at, RD_NONE);
	return c;
}

void conn_free(conn_t *c)
{
	rd_end(c);
	free(c->in);
	free(c->out);
	free(c->url);
	free(c->body);
	free(c);
}

void conn_main(void *arg)
{
	conn_t *c = arg;

	for (;;) {
		if (!feed(c))
			break;
		/* 100 Continue: the client waits for it before the body. */
		if (c->in_msg && c->head_done && c->expect_continue && !c->continue_sent) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			out_append(c, cont, sizeof(cont) - 1);
			c->continue_sent = true;
		}
		if (out_flush(c) < 0)
			break;
		if (!c->in_msg && atomic_load_explicit(&srv.draining, memory_order_relaxed))
			break;
		ssize_t n = fill(c);
		if (n == -ETIMEDOUT) {
			if (!c->in_msg) {
				atomic_fetch_add_explicit(&m.conns_idle_closed, 1,
							  memory_order_relaxed);
			} else if (!c->head_done) {
				metrics_reject(RJ_HEADER_TIMEOUT);
			} else {
				answer_bad(c, 408);
			}
			break;
		}
		if (n == -ENOBUFS) {
			answer_bad(c, 431);
			break;
		}
		if (n <= 0)
			break;
	}
	out_flush(c);
	if (c->linger && !c->broken)
		linger_close(c);
	rg_close(c->fd);
	conn_free(c);
}
