// SPDX-License-Identifier: MIT
/*
 * fault.c — fault injection: RINGO_FAULT and rg__fault_arm (the rules
 * are in rt_fault.h).
 */
#include "rt_fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Atomic bool rg__fault_on;

static struct {
	_Atomic int skip, times, hits;
	int err;
} site[RG_FAULT_NSITES];

static const struct {
	const char *name;
	int err;
} names[RG_FAULT_NSITES] = {
	[RG_FAULT_STACK_MMAP] = {"stack_mmap", ENOMEM},
	[RG_FAULT_RING_INIT] = {"ring_init", ENOMEM},
	[RG_FAULT_ACCEPT] = {"accept", EMFILE},
	[RG_FAULT_RING_SUBMIT] = {"ring_submit", EAGAIN},
	[RG_FAULT_REAPER_THREAD] = {"reaper_thread", EAGAIN},
};

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{"ENOMEM", ENOMEM}, {"EMFILE", EMFILE}, {"ENFILE", ENFILE},
	{"ECONNABORTED", ECONNABORTED}, {"ENOBUFS", ENOBUFS}, {"EPERM", EPERM},
	{"EACCES", EACCES}, {"ENOSYS", ENOSYS}, {"EAGAIN", EAGAIN}, {"EINVAL", EINVAL},
	{"EPROTO", EPROTO}, {"ECONNRESET", ECONNRESET}, {"EBUSY", EBUSY},
};

static void update_on(void)
{
	bool on = false;
	for (int i = 0; i < RG_FAULT_NSITES; i++)
		on |= atomic_load(&site[i].times) != 0;
	atomic_store(&rg__fault_on, on);
}

void rg__fault_arm(int s, int err, int skip, int times)
{
	if (s < 0 || s >= RG_FAULT_NSITES)
		return;
	site[s].err = err > 0 ? err : names[s].err;
	atomic_store(&site[s].hits, 0);
	atomic_store(&site[s].skip, skip > 0 ? skip : 0);
	atomic_store(&site[s].times, times);
	update_on();
}

void rg__fault_reset(void)
{
	for (int i = 0; i < RG_FAULT_NSITES; i++) {
		atomic_store(&site[i].times, 0);
		atomic_store(&site[i].skip, 0);
		atomic_store(&site[i].hits, 0);
	}
	update_on();
}

int rg__fault_hits(int s)
{
	return s >= 0 && s < RG_FAULT_NSITES ? atomic_load(&site[s].hits) : 0;
}

int rg__fault_take(int s)
{
	int n = atomic_load(&site[s].skip);
	while (n > 0)
		if (atomic_compare_exchange_weak(&site[s].skip, &n, n - 1))
			return 0;
	n = atomic_load(&site[s].times);
	for (;;) {
		if (n == 0)
			return 0;
		if (n < 0 || atomic_compare_exchange_weak(&site[s].times, &n, n - 1))
			break;
	}
	atomic_fetch_add(&site[s].hits, 1);
	return -site[s].err;
}

/* One "SITE[=ERRNO][@SKIP][*TIMES]"; false if malformed. */
static bool parse_one(const char *p, size_t len)
{
	char buf[64];
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, p, len);
	buf[len] = 0;
	int skip = 0, times = 1, err = 0;
	char *star = strchr(buf, '*'), *at = strchr(buf, '@'), *eq = strchr(buf, '=');
	char *end;
	if (star) {
		*star = 0;
		times = (int)strtol(star + 1, &end, 10);
		if (*end || end == star + 1 || times == 0 || times < -1)
			return false;
	}
	if (at) {
		*at = 0;
		skip = (int)strtol(at + 1, &end, 10);
		if (*end || end == at + 1 || skip < 0)
			return false;
	}
	if (eq) {
		*eq = 0;
		for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]) && !err; i++)
			if (strcmp(eq + 1, errnos[i].name) == 0)
				err = errnos[i].err;
		if (!err) {
			err = (int)strtol(eq + 1, &end, 10);
			if (*end || end == eq + 1 || err <= 0 || err > 4095)
				return false;
		}
	}
	for (int s = 0; s < RG_FAULT_NSITES; s++) {
		if (strcmp(buf, names[s].name) == 0) {
			rg__fault_arm(s, err, skip, times);
			return true;
		}
	}
	return false;
}

void rg__fault_env(void)
{
	const char *env = getenv("RINGO_FAULT");
	if (!env || !*env)
		return;
	for (const char *p = env; *p;) {
		size_t len = strcspn(p, ",");
		if (!parse_one(p, len)) {
			fprintf(stderr, "ringo: RINGO_FAULT: cannot parse '%.*s' (SITE[=ERRNO][@SKIP][*TIMES],"
					" SITE one of stack_mmap, ring_init, accept): ignored\n",
				(int)len, p);
		}
		p += len;
		if (*p == ',')
			p++;
	}
}
