// SPDX-License-Identifier: MIT
/*
 * addr.c — Go-style network addresses: "tcp" "127.0.0.1:8080", ":8080",
 * "[::1]:9000", "localhost:http"; "unix" "/run/x.sock", "@abstract".
 *
 * Literal addresses and numeric ports are parsed here without a syscall.
 * Host names and service names go to the resolver (getaddrinfo,
 * getservbyname_r), which may read files and talk to DNS servers: the
 * P is released meanwhile (rg_syscall_enter/exit), and there is no
 * cancelling it, as in Go's cgo resolver.
 */
#include "calls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

typedef struct rg_net {
	const char *name;
	int family;     /* AF_UNSPEC: either IP family */
	int socktype;
	int protocol;
} rg_net;

static const rg_net nets[] = {
	{"tcp", AF_UNSPEC, SOCK_STREAM, IPPROTO_TCP},
	{"tcp4", AF_INET, SOCK_STREAM, IPPROTO_TCP},
	{"tcp6", AF_INET6, SOCK_STREAM, IPPROTO_TCP},
	{"udp", AF_UNSPEC, SOCK_DGRAM, IPPROTO_UDP},
	{"udp4", AF_INET, SOCK_DGRAM, IPPROTO_UDP},
	{"udp6", AF_INET6, SOCK_DGRAM, IPPROTO_UDP},
	{"unix", AF_UNIX, SOCK_STREAM, 0},
	{"unixgram", AF_UNIX, SOCK_DGRAM, 0},
	{"unixpacket", AF_UNIX, SOCK_SEQPACKET, 0},
};

static const rg_net *net_lookup(const char *network)
{
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		if (strcmp(nets[i].name, network) == 0)
			return &nets[i];
	return NULL;
}

/* ---- unix ---------------------------------------------------------- */

/* A path, or "@name" for the abstract namespace (sun_path[0] == 0, the
 * length without a trailing NUL, as Go does). */
static int unix_addr(const rg_net *nt, const char *path, rg_addrlist_t *out)
{
	rg_addr_t *a = &out->a[0];
	struct sockaddr_un *su = (struct sockaddr_un *)&a->sa;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(su->sun_path) + (path[0] == '@'))
		return -EINVAL;
	su->sun_family = AF_UNIX;
	memcpy(su->sun_path, path, n);
	if (path[0] == '@') {
		su->sun_path[0] = 0;
		a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		su->sun_path[n] = 0;
		a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	a->family = AF_UNIX;
	a->socktype = nt->socktype;
	a->protocol = 0;
	out->n = 1;
	return 0;
}

/* ---- host:port ----------------------------------------------------- */

/* Go's SplitHostPort: "host:port", "[host]:port"; the host part copied
 * into host[hcap]. */
static int split_host_port(const char *addr, char *host, size_t hcap, const char **port)
{
	const char *h, *he;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':')
			return -EINVAL; /* missing ']' or port */
		h = addr + 1;
		he = end;
		*port = end + 2;
	} else {
		const char *colon = strrchr(addr, ':');
		if (!colon)
			return -EINVAL; /* missing port */
		h = addr;
		he = colon;
		*port = colon + 1;
		if (memchr(h, ':', (size_t)(he - h)))
			return -EINVAL; /* too many colons: an IPv6 literal needs [] */
	}
	if (memchr(h, '[', (size_t)(he - h)) || memchr(h, ']', (size_t)(he - h)) ||
	    strchr(*port, '[') || strchr(*port, ']'))
		return -EINVAL;
	if ((size_t)(he - h) >= hcap)
		return -EINVAL;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = 0;
	return 0;
}

/* A decimal port, or a service name from /etc/services; "" is 0. */
static int parse_port(const char *port, int socktype, uint16_t *out)
{
	if (port[0] == 0) {
		*out = 0;
		return 0;
	}
	if (port[strspn(port, "0123456789")] == 0) {
		unsigned long v = 0;
		for (const char *c = port; *c; c++) {
			v = v * 10 + (unsigned long)(*c - '0');
			if (v > 65535)
				return -EINVAL;
		}
		*out = (uint16_t)v;
		return 0;
	}
	struct servent se, *res = NULL;
	char buf[1024];
	rg_syscall_enter();
	int r = getservbyname_r(port, socktype == SOCK_DGRAM ? "udp" : "tcp", &se, buf,
				sizeof(buf), &res);
	rg_syscall_exit();
	if (r != 0 || !res)
		return -EINVAL; /* unknown service */
	*out = ntohs((uint16_t)res->s_port);
	return 0;
}

static void set_ip(rg_addr_t *a, const rg_net *nt, int family, const void *ip, uint16_t port,
		   uint32_t scope)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->socktype = nt->socktype;
	a->protocol = nt->protocol;
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&a->sa;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, ip, sizeof(s->sin_addr));
		a->len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->sa;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		memcpy(&s->sin6_addr, ip, sizeof(s->sin6_addr));
		s->sin6_scope_id = scope;
		a->len = sizeof(*s);
	}
}

/* An IP literal: 1 if host is one (written to out), 0 if not, -EINVAL
 * for one of the wrong family or with an unknown zone. */
static int ip_literal(const rg_net *nt, const char *host, uint16_t port, rg_addrlist_t *out)
{
	struct in_addr v4;
	struct in6_addr v6;
	char buf[INET6_ADDRSTRLEN + 1];
	uint32_t scope = 0;

	if (inet_pton(AF_INET, host, &v4) == 1) {
		if (nt->family == AF_INET6)
			return -EINVAL;
		set_ip(&out->a[0], nt, AF_INET, &v4, port, 0);
		out->n = 1;
		return 1;
	}
	const char *zone = strchr(host, '%');
	size_t n = zone ? (size_t)(zone - host) : strlen(host);
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, host, n);
	buf[n] = 0;
	if (inet_pton(AF_INET6, buf, &v6) != 1)
		return 0;
	if (nt->family == AF_INET)
		return -EINVAL;
	if (zone) {
		zone++;
		if (*zone && zone[strspn(zone, "0123456789")] == 0)
			scope = (uint32_t)strtoul(zone, NULL, 10);
		else if ((scope = if_nametoindex(zone)) == 0)
			return -EINVAL;
	}
	set_ip(&out->a[0], nt, AF_INET6, &v6, port, scope);
	out->n = 1;
	return 1;
}

/* The empty host: the wildcard to listen on (IPv6 first: a dual-stack
 * socket, when the network allows both), the loopback to dial. */
static void empty_host(const rg_net *nt, bool passive, uint16_t port, rg_addrlist_t *out)
{
	struct in_addr v4 = {htonl(passive ? INADDR_ANY : INADDR_LOOPBACK)};
	struct in6_addr v6 = passive ? in6addr_any : in6addr_loopback;
	int n = 0;

	if (passive && nt->family != AF_INET)
		set_ip(&out->a[n++], nt, AF_INET6, &v6, port, 0);
	if (nt->family != AF_INET6)
		set_ip(&out->a[n++], nt, AF_INET, &v4, port, 0);
	if (!passive && nt->family != AF_INET)
		set_ip(&out->a[n++], nt, AF_INET6, &v6, port, 0);
	out->n = n;
	out->wildcard = passive;
}

static int gai_errno(int r, int sys_errno)
{
	switch (r) {
	case EAI_NONAME:
	case EAI_NODATA:
	case EAI_ADDRFAMILY:
	case EAI_FAIL:
		return -ENXIO;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return sys_errno ? -sys_errno : -EIO;
	default:
		return -EINVAL;
	}
}

/* A host name through getaddrinfo: distinct addresses in its order;
 * to listen on, IPv4 ones first (as Go does). */
static int resolve_name(const rg_net *nt, const char *host, bool passive, uint16_t port,
			rg_addrlist_t *out)
{
	struct addrinfo hints = {
		.ai_family = nt->family,
		.ai_socktype = nt->socktype,
		.ai_protocol = nt->protocol,
	};
	struct addrinfo *res = NULL;

	bool counted = !rg__getg() && rg__io_thread_begin();
	rg_syscall_enter();
	int r = getaddrinfo(host, NULL, &hints, &res);
	int sys_errno = errno;
	rg_syscall_exit();
	rg__io_thread_end(counted);
	if (r != 0)
		return gai_errno(r, sys_errno);

	int n = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (struct addrinfo *ai = res; ai && n < RG_ADDR_MAX; ai = ai->ai_next) {
			bool v4 = ai->ai_family == AF_INET;
			if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
				continue;
			/* pass 0: what comes first; pass 1: the rest. */
			if (passive ? (pass == 0) != v4 : pass == 1)
				continue;
			rg_addr_t a;
			if (v4)
				set_ip(&a, nt, AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr,
				       port, 0);
			else
				set_ip(&a, nt, AF_INET6,
				       &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, port,
				       ((struct sockaddr_in6 *)ai->ai_addr)->sin6_scope_id);
			bool dup = false;
			for (int i = 0; i < n && !dup; i++)
				dup = out->a[i].len == a.len && memcmp(&out->a[i].sa, &a.sa, a.len) == 0;
			if (!dup)
				out->a[n++] = a;
		}
	}
	freeaddrinfo(res);
	out->n = n;
	return n > 0 ? 0 : -ENXIO;
}

int rg__addr_resolve(const char *network, const char *addr, bool passive, rg_addrlist_t *out)
{
	const rg_net *nt = network ? net_lookup(network) : NULL;
	char host[256];
	const char *port_s;
	uint16_t port;
	int r;

	memset(out, 0, offsetof(rg_addrlist_t, a));
	if (!nt || !addr)
		return -EINVAL;
	if (nt->family == AF_UNIX)
		return unix_addr(nt, addr, out);
	out->v6only = nt->family == AF_INET6;
	if ((r = split_host_port(addr, host, sizeof(host), &port_s)) < 0)
		return r;
	if ((r = parse_port(port_s, nt->socktype, &port)) < 0)
		return r;
	if (host[0] == 0) {
		empty_host(nt, passive, port, out);
		return 0;
	}
	if ((r = ip_literal(nt, host, port, out)) != 0)
		return r < 0 ? r : 0;
	return resolve_name(nt, host, passive, port, out);
}
