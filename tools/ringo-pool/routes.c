// SPDX-License-Identifier: MIT
/*
 * routes.c — the endpoint table, the per-client rate limit, and the
 * endpoints that answer at once (health, readiness, metrics, the status
 * page, the goroutine dump).
 *
 *   POST /v1/hash?rounds=N     job (jobs.c)
 *   GET  /v1/sleep?ms=N        job (jobs.c)
 *   POST /v1/exec/NAME         job (jobs.c)
 *   GET  /v1/files/PATH        files.c, on the connection's goroutine
 *   GET  /metrics /healthz /readyz /debug/goroutines /   here
 *
 * Paths are matched as sent (still percent-encoded): "/v1/%68ash" is
 * not "/v1/hash", it is a 404, as with Go's ServeMux on RawPath.
 *
 * Rate limit: every /v1/ request takes a token from its client's bucket
 * (rg_keyed_allow, keyed by the peer's IP address bytes): an empty
 * bucket is a 429 with Retry-After, the seconds until a token is due
 * (at least 1).  Health, readiness, metrics and the status page are
 * not limited: probes and scrapers must never be turned away by the
 * load they watch.
 */
#include "server.h"

#include <errno.h>
#include <http_parser.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static rg_keyed_limiter_t *limiter;

int routes_init(void)
{
	if (cfg.rate > 0) {
		limiter = rg_keyed_limiter_new(cfg.rate, cfg.burst, cfg.max_keys);
		if (!limiter) {
			fprintf(stderr, "ringo-pool: keyed limiter: %s\n", strerror(errno));
			return -errno;
		}
	}
	int e = files_init();
	if (e < 0)
		return e;
	return jobs_init();
}

void routes_fini(void)
{
	if (limiter)
		rg_keyed_limiter_free(limiter);
	limiter = NULL;
}

/* The peer's address bytes: the key of its bucket. */
static const void *peer_key(const struct sockaddr_storage *ss, size_t *len)
{
	if (ss->ss_family == AF_INET) {
		*len = 4;
		return &((const struct sockaddr_in *)(const void *)ss)->sin_addr;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			*len = 4;
			return a->s6_addr + 12; /* the same client as over IPv4 */
		}
		*len = 16;
		return a;
	}
	*len = 1;
	return "";
}

/* true: go on; false: answered 429. */
static bool rate_ok(req_t *r)
{
	if (!limiter)
		return true;
	size_t len;
	const void *key = peer_key(r->peer, &len);
	if (rg_keyed_allow(limiter, key, len, rg_now()))
		return true;
	char extra[64];
	long secs = (long)ceil(1.0 / cfg.rate);
	snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", secs < 1 ? 1 : secs);
	metrics_reject(RJ_RATE);
	resp_error(r, 429, extra, "rate limit exceeded");
	return false;
}

static bool method_is(req_t *r, int method, const char *allow)
{
	if (r->method == method || (method == HTTP_GET && r->method == HTTP_HEAD))
		return true;
	char extra[64];
	snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	resp_error(r, 405, extra, NULL);
	return false;
}

static void handle_metrics(req_t *r)
{
	size_t len = 0;
	char *text = metrics_render(&len);
	if (!text) {
		resp_error(r, 500, NULL, "out of memory");
		return;
	}
	resp_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", "Cache-Control: no-store\r\n",
		  text, len);
	free(text);
}

static void handle_goroutines(req_t *r)
{
	if (!cfg.debug_remote && !peer_is_loopback(r->peer)) {
		resp_error(r, 403, NULL, "the goroutine dump is served to loopback clients only "
					 "(--debug-remote to change that)");
		return;
	}
	/* rg_dump_goroutines writes to an fd: a memfd, read back. */
	int fd = memfd_create("ringo-pool-dump", MFD_CLOEXEC);
	if (fd < 0) {
		resp_error(r, 500, NULL, "memfd_create failed");
		return;
	}
	rg_dump_goroutines(fd);
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf = size > 0 ? malloc((size_t)size) : NULL;
	ssize_t n = buf ? rg_pread(fd, buf, (size_t)size, 0, NULL) : 0;
	rg_close(fd);
	if (n < 0)
		n = 0;
	resp_send(r, 200, "text/plain; charset=utf-8", NULL, buf ? buf : "", (size_t)n);
	free(buf);
}

static bool path_is(req_t *r, const char *p)
{
	size_t n = strlen(p);
	return r->path_len == n && memcmp(r->path, p, n) == 0;
}

static bool path_has_prefix(req_t *r, const char *p, const char **rest, size_t *rest_len)
{
	size_t n = strlen(p);
	if (r->path_len < n || memcmp(r->path, p, n) != 0)
		return false;
	*rest = r->path + n;
	*rest_len = r->path_len - n;
	return true;
}

void route(req_t *r)
{
	const char *rest;
	size_t rest_len;

	if (path_is(r, "/healthz")) {
		r->ep = EP_HEALTHZ;
		if (method_is(r, HTTP_GET, "GET, HEAD"))
			resp_send(r, 200, "text/plain; charset=utf-8", NULL, "ok\n", 3);
	} else if (path_is(r, "/readyz")) {
		r->ep = EP_READYZ;
		if (!method_is(r, HTTP_GET, "GET, HEAD"))
			return;
		if (atomic_load_explicit(&srv.draining, memory_order_relaxed))
			resp_send(r, 503, "text/plain; charset=utf-8", NULL, "draining\n", 9);
		else
			resp_send(r, 200, "text/plain; charset=utf-8", NULL, "ready\n", 6);
	} else if (path_is(r, "/metrics")) {
		r->ep = EP_METRICS;
		if (method_is(r, HTTP_GET, "GET, HEAD"))
			handle_metrics(r);
	} else if (path_is(r, "/") || path_is(r, "/index.html")) {
		r->ep = EP_STATUS;
		if (method_is(r, HTTP_GET, "GET, HEAD"))
			resp_send(r, 200, "text/html; charset=utf-8", "Cache-Control: no-store\r\n",
				  status_html, (size_t)(status_html_end - status_html));
	} else if (path_is(r, "/debug/goroutines")) {
		r->ep = EP_GOROUTINES;
		if (method_is(r, HTTP_GET, "GET, HEAD"))
			handle_goroutines(r);
	} else if (path_is(r, "/v1/hash")) {
		r->ep = EP_HASH;
		if (method_is(r, HTTP_POST, "POST") && rate_ok(r))
			handle_hash(r);
	} else if (path_is(r, "/v1/sleep")) {
		r->ep = EP_SLEEP;
		if (method_is(r, HTTP_GET, "GET") && rate_ok(r))
			handle_sleep(r);
	} else if (path_has_prefix(r, "/v1/files/", &rest, &rest_len)) {
		r->ep = EP_FILES;
		if (rate_ok(r))
			handle_files(r, rest, rest_len);
	} else if (path_has_prefix(r, "/v1/exec/", &rest, &rest_len)) {
		r->ep = EP_EXEC;
		if (method_is(r, HTTP_POST, "POST") && rate_ok(r))
			handle_exec(r, rest, rest_len);
	} else {
		resp_error(r, 404, NULL, "not found");
	}
}
