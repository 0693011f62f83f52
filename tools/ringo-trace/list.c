// SPDX-License-Identifier: MIT
/*
 * list.c — `ringo-trace list PID|BINARY`: the ringo probes of a program,
 * with the documented arguments (RG_PROBE_LIST in runtime/probes.h),
 * the argument locations of the first site (the note's spec), the
 * number of sites, and for a live process each probe's semaphore: how
 * many tracers are attached to it right now.
 */
#include "trace.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probes.h"

#define DOC(name, args) {#name, args},
static const struct {
	const char *name, *args;
} docs[] = {RG_PROBE_LIST(DOC)};

int cmd_list(const struct opts *o)
{
	const char *arg = o->list_arg;
	char path[4096];
	pid_t pid = 0;
	bool numeric = *arg != 0;
	for (const char *s = arg; *s; s++)
		numeric = numeric && isdigit((unsigned char)*s);
	if (numeric) {
		pid = (pid_t)atoi(arg);
		if (!find_ringo_object(pid, path, sizeof(path)))
			rt_die("process %d has no object with ringo probes", (int)pid);
	} else {
		if (access(arg, R_OK) != 0)
			rt_die("%s: cannot read it", arg);
		snprintf(path, sizeof(path), "%s", arg);
	}
	struct usdt_note *v;
	int n = usdt_notes(path, &v);
	if (n == 0)
		rt_die("%s has no ringo probes (built with -DRINGO_NO_PROBES, or linked with "
		       "libringo.so: list the library, or a running PID)", path);
	struct target t = {.pid = pid};
	snprintf(t.obj, sizeof(t.obj), "%s", path);
	uint64_t bias = pid ? elf_load_bias(pid, path) : 0;
	printf("%s: %d probe sites (provider ringo)\n", path, n);
	printf("%-18s %5s %9s  %-26s %s\n", "probe", "sites", pid ? "attached" : "", "arguments",
	       "first site's argument locations");
	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		int sites = 0, first = -1;
		for (int i = 0; i < n; i++)
			if (!strcmp(v[i].name, docs[d].name)) {
				if (first < 0)
					first = i;
				sites++;
			}
		if (!sites)
			continue;
		char att[16] = "";
		if (pid && v[first].sema) {
			unsigned short sem = 0;
			if (target_read(&t, bias + v[first].sema, &sem, sizeof(sem)) == 0)
				snprintf(att, sizeof(att), "%u", sem);
			else
				snprintf(att, sizeof(att), "?");
		}
		printf("%-18s %5d %9s  %-26s %s\n", docs[d].name, sites, att, docs[d].args,
		       v[first].args);
	}
	for (int i = 0; i < n; i++) {
		bool known = false;
		for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++)
			known = known || !strcmp(v[i].name, docs[d].name);
		if (!known)
			printf("%-18s (not documented in this ringo-trace's probes.h) %s\n",
			       v[i].name, v[i].args);
	}
	free(v);
	return 0;
}
