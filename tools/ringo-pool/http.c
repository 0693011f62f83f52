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
 * Deadlines, all as contexts on the blocking calls (no goroutine or
 * thread per connection beyond this one):
 *   - waiting for the first byte of a request ("idle"): a child of
 *     srv.idle_ctx, so that draining ends these waits at once; deadline
 *     --idle-timeout after the last response (or --header-timeout after
 *     accept, for the first request);
 *   - the rest of the head: --header-timeout from its first byte
 *     (slowloris: a head trickling in is cut there however often bytes
 *     come), under srv.kill_ctx;
 *   - the body: --timeout from the start of the request;
 *   - each write that cannot leave at once: --timeout from then.
 *   An idle-phase context is reused for the next idle wait while its
 *   deadline is within `slack` (idle/16, at most 1 s) of the one wanted:
 *   a busy keep-alive connection makes one context per second, not one
 *   per request; an idle connection is closed between idle-slack and
 *   idle after its last response.
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
 *     and a parent lock per request; the reuse slack removes them.
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

enum phase { PH_NONE, PH_IDLE, PH_HEAD, PH_BODY };

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

	rg_ctx_t *rctx;           /* read context in use, NULL: none */
	int rphase;               /* its phase */
	int64_t rdeadline;        /* its deadline */

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

static void drop_rctx(conn_t *c)
{
	if (c->rctx) {
		ctx_end(c->rctx);
		c->rctx = NULL;
		c->rphase = PH_NONE;
	}
}

/* The context for the next read, by phase (see the header comment). */
static rg_ctx_t *read_ctx(conn_t *c)
{
	int phase;
	int64_t deadline;
	rg_ctx_t *parent;

	if (!c->in_msg) {
		phase = PH_IDLE;
		parent = srv.idle_ctx;
		deadline = c->first ? c->last_done + cfg.header_timeout
				    : c->last_done + cfg.idle_timeout;
	} else if (!c->head_done) {
		phase = PH_HEAD;
		parent = srv.kill_ctx;
		deadline = (c->first ? c->last_done : c->msg_begin) + cfg.header_timeout;
	} else {
		phase = PH_BODY;
		parent = srv.kill_ctx;
		deadline = c->msg_begin + cfg.timeout;
	}
	if (c->rctx && c->rphase == phase) {
		int64_t slack = cfg.idle_timeout / 16;
		if (slack > RG_SECOND)
			slack = RG_SECOND;
		if (phase != PH_IDLE || c->first)
			slack = 0;
		if (c->rdeadline <= deadline && c->rdeadline >= deadline - slack)
			return c->rctx;
	}
	drop_rctx(c);
	c->rctx = rg_ctx_with_deadline(parent, deadline);
	c->rphase = phase;
	c->rdeadline = deadline;
	return c->rctx;
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
	rg_ctx_t *ctx = read_ctx(c);
	ssize_t n = rg_read(c->fd, c->in + c->in_len, c->in_cap - c->in_len, ctx);
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
	return c;
}

void conn_free(conn_t *c)
{
	drop_rctx(c);
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
	drop_rctx(c);
	rg_close(c->fd);
	conn_free(c);
}
