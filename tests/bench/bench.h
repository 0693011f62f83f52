// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the ringo side of the benchmarks (tests/bench/bench_*.c):
 * Go-flag-style option parsing (-n 5, -n=5, --n 5), reading /proc/self/status
 * and printing the one RESULT line that tests/bench/run.sh reads:
 *
 *     RESULT name=<workload> impl=ringo value=<number> unit=<unit>
 *
 * Header-only so that the Makefile's one-source-per-benchmark rule needs
 * nothing more.
 */
#ifndef RINGO_BENCH_H
#define RINGO_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_opt {
	const char *name; /* without dashes: "n" */
	long *val;
	const char *help;
};

static inline void bench_usage(const char *prog, const struct bench_opt *opts,
			       FILE *f)
{
	fprintf(f, "usage: %s", prog);
	for (const struct bench_opt *o = opts; o->name; o++)
		fprintf(f, " [-%s N]", o->name);
	fprintf(f, "\n");
	for (const struct bench_opt *o = opts; o->name; o++)
		fprintf(f, "  -%s N\t%s (default %ld)\n", o->name, o->help, *o->val);
}

/* Parses argv against opts (terminated by a {NULL} entry); exits with
 * status 2 on an unknown option or a bad number, 0 after -h. */
static inline void bench_parse(int argc, char **argv,
			       const struct bench_opt *opts)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-')
			goto bad;
		a += (a[1] == '-') ? 2 : 1;
		if (!strcmp(a, "h") || !strcmp(a, "help")) {
			bench_usage(argv[0], opts, stdout);
			exit(0);
		}
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const struct bench_opt *o = opts;
		while (o->name && (strlen(o->name) != len ||
				   strncmp(o->name, a, len) != 0))
			o++;
		if (!o->name)
			goto bad;
		const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (!v)
			goto bad;
		char *end;
		errno = 0;
		long x = strtol(v, &end, 10);
		if (errno || end == v || *end || x <= 0)
			goto bad;
		*o->val = x;
	}
	return;
bad:
	bench_usage(argv[0], opts, stderr);
	exit(2);
}

/* A "kB" field of /proc/self/status (VmRSS, VmPTE, ...) in bytes, or -1. */
static inline long long bench_status_bytes(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	char line[256];
	size_t len = strlen(field);
	long long v = -1;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			v = strtoll(line + len + 1, NULL, 10) * 1024;
			break;
		}
	}
	fclose(f);
	return v;
}

/* Prints the RESULT line (prec: digits after the point). */
static inline void bench_result(const char *name, double value, int prec,
				const char *unit)
{
	printf("RESULT name=%s impl=ringo value=%.*f unit=%s\n", name, prec,
	       value, unit);
	fflush(stdout);
}

#endif /* RINGO_BENCH_H */
