// SPDX-License-Identifier: MIT
/*
 * fuzz_addr.c — libFuzzer harness for the address parser behind
 * rg_listen and rg_dial (uring/addr.c, rg__addr_resolve).
 *
 *   make fuzz FUZZ_HARNESSES=addr [FUZZ_SECONDS=60]
 *
 * An input is a network selector byte (one of the nine networks, or a
 * bad name), a passive byte (listen or dial), and the address string
 * (the rest, cut at its first NUL).
 *
 * No DNS: this program defines getaddrinfo, which the library's call
 * binds to (a program's definition comes before libc's), and answers
 * from a table: "localhost" (127.0.0.1 and ::1), names beginning with
 * "many" (more addresses than RG_ADDR_MAX, with duplicates, both
 * families, in an order the parser must sort for listening), "again"
 * (EAI_AGAIN), "sys" (EAI_SYSTEM with ENOMEM), anything else
 * EAI_NONAME.  Service names go to the real getservbyname_r
 * (/etc/services, a local file).
 *
 * The harness checks what every success must hold, and traps when it
 * does not: 1..RG_ADDR_MAX addresses of the network's socket type and
 * family, lengths that match the family, the port a decimal port string
 * names, no duplicate, IPv4 first for a resolved name to listen on, and
 * a unix path copied as given.  Failures must be one of the documented
 * -errno values.
 */
#include "calls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the resolver's stand-in --------------------------------------- */

static struct addrinfo *ai_new(int family, const char *ip, struct addrinfo *next)
{
	struct addrinfo *ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_in6));
	struct sockaddr *sa = (struct sockaddr *)(ai + 1);
	ai->ai_family = family;
	ai->ai_addr = sa;
	ai->ai_next = next;
	if (family == AF_INET) {
		((struct sockaddr_in *)sa)->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &((struct sockaddr_in *)sa)->sin_addr);
		ai->ai_addrlen = sizeof(struct sockaddr_in);
	} else if (family == AF_INET6) {
		((struct sockaddr_in6 *)sa)->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)sa)->sin6_addr);
		ai->ai_addrlen = sizeof(struct sockaddr_in6);
	} else {
		sa->sa_family = (sa_family_t)family; /* AF_UNIX: must be skipped */
		ai->ai_addrlen = sizeof(struct sockaddr);
	}
	return ai;
}

static struct addrinfo *keep(const struct addrinfo *hints, struct addrinfo *list)
{
	/* What the family hint excludes, getaddrinfo would not return. */
	struct addrinfo **pp = &list;
	while (*pp) {
		struct addrinfo *ai = *pp;
		if (hints && hints->ai_family != AF_UNSPEC && ai->ai_family != hints->ai_family) {
			*pp = ai->ai_next;
			free(ai);
		} else {
			pp = &ai->ai_next;
		}
	}
	return list;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	(void)service;
	*res = NULL;
	if (!node)
		return EAI_NONAME;
	if (strcmp(node, "localhost") == 0) {
		*res = keep(hints, ai_new(AF_INET, "127.0.0.1", ai_new(AF_INET6, "::1", NULL)));
	} else if (strncmp(node, "many", 4) == 0) {
		struct addrinfo *l = NULL;
		static const char *ips[] = {"2001:db8::1", "192.0.2.1", "2001:db8::1", "192.0.2.2",
					    "2001:db8::2", "192.0.2.1", "192.0.2.3", "2001:db8::3",
					    "192.0.2.4", "2001:db8::4", "192.0.2.5", "2001:db8::5"};
		l = ai_new(AF_UNIX, NULL, l);
		for (int i = (int)(sizeof(ips) / sizeof(ips[0])) - 1; i >= 0; i--)
			l = ai_new(strchr(ips[i], ':') ? AF_INET6 : AF_INET, ips[i], l);
		*res = keep(hints, l);
	} else if (strcmp(node, "again") == 0) {
		return EAI_AGAIN;
	} else if (strcmp(node, "sys") == 0) {
		errno = ENOMEM;
		return EAI_SYSTEM;
	} else {
		return EAI_NONAME;
	}
	return *res ? 0 : EAI_NONAME;
}

void freeaddrinfo(struct addrinfo *res)
{
	while (res) {
		struct addrinfo *next = res->ai_next;
		free(res);
		res = next;
	}
}

/* ---- the harness --------------------------------------------------- */

static const char *const networks[] = {
	"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix", "unixgram", "unixpacket",
	"", "ip", "TCP", "tcp7", NULL,
};
enum { NNET = sizeof(networks) / sizeof(networks[0]) };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void bad(const char *why, const char *net, const char *addr)
{
	fprintf(stderr, "fuzz_addr: %s: network \"%s\", address \"%s\"\n", why,
		net ? net : "(null)", addr);
	__builtin_trap();
}

/* The port of a "host:port" string when it is all decimal digits, else -1. */
static long decimal_port(const char *addr)
{
	const char *c = strrchr(addr, ':');
	if (!c || c[1] == 0)
		return c ? 0 : -1;
	c++;
	if (c[strspn(c, "0123456789")] != 0)
		return -1;
	long v = 0;
	for (; *c; c++)
		if ((v = v * 10 + (*c - '0')) > 65535)
			return -1;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const char *net = networks[data[0] % NNET];
	bool passive = data[1] & 1;
	char addr[512];
	size_t n = size - 2 < sizeof(addr) - 1 ? size - 2 : sizeof(addr) - 1;
	memcpy(addr, data + 2, n);
	addr[n] = 0;

	rg_addrlist_t out;
	memset(&out, 0xa5, sizeof(out));
	int r = rg__addr_resolve(net, addr, passive, &out);
	if (r < 0) {
		if (r != -EINVAL && r != -ENXIO && r != -EAGAIN && r != -ENOMEM)
			bad("an undocumented error", net, addr);
		return 0;
	}
	if (r != 0)
		bad("a positive return", net, addr);
	if (out.n < 1 || out.n > RG_ADDR_MAX)
		bad("an address count out of range", net, addr);

	bool is_unix = strncmp(net, "unix", 4) == 0;
	int socktype = strstr(net, "gram") || strncmp(net, "udp", 3) == 0 ? SOCK_DGRAM
		       : strcmp(net, "unixpacket") == 0                   ? SOCK_SEQPACKET
									  : SOCK_STREAM;
	int want_family = is_unix ? AF_UNIX : net[3] == '4' ? AF_INET : net[3] == '6' ? AF_INET6 : 0;
	long port = is_unix ? -1 : decimal_port(addr);
	bool seen_v6 = false;

	for (int i = 0; i < out.n; i++) {
		const rg_addr_t *a = &out.a[i];
		if (a->socktype != socktype || a->sa.ss_family != a->family)
			bad("a socket type or family that does not match", net, addr);
		if (want_family && a->family != want_family)
			bad("an address of the wrong family", net, addr);
		if (a->family == AF_INET) {
			const struct sockaddr_in *s = (const struct sockaddr_in *)&a->sa;
			if (a->len != sizeof(*s) || (port >= 0 && ntohs(s->sin_port) != port))
				bad("a bad IPv4 address", net, addr);
			/* A resolved name to listen on: IPv4 first (as Go). */
			if (passive && seen_v6 && !out.wildcard)
				bad("IPv4 after IPv6 for a name to listen on", net, addr);
		} else if (a->family == AF_INET6) {
			const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&a->sa;
			if (a->len != sizeof(*s) || (port >= 0 && ntohs(s->sin6_port) != port))
				bad("a bad IPv6 address", net, addr);
			seen_v6 = true;
		} else if (a->family == AF_UNIX) {
			const struct sockaddr_un *s = (const struct sockaddr_un *)&a->sa;
			size_t k = strlen(addr);
			size_t base = offsetof(struct sockaddr_un, sun_path);
			if (out.n != 1 || k == 0 || memcmp(s->sun_path + 1, addr + 1, k - 1) != 0 ||
			    a->len != base + k + (addr[0] != '@') ||
			    s->sun_path[0] != (addr[0] == '@' ? 0 : addr[0]))
				bad("a unix path not copied as given", net, addr);
		} else {
			bad("an unknown family", net, addr);
		}
		for (int j = 0; j < i; j++)
			if (out.a[j].len == a->len && memcmp(&out.a[j].sa, &a->sa, a->len) == 0)
				bad("a duplicate address", net, addr);
	}
	return 0;
}
