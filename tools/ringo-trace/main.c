// SPDX-License-Identifier: MIT
/*
 * ringo-trace — tracing live ringo programs: scheduler, channels, locks
 * and I/O, from the runtime's USDT probes and counters.
 *
 *   ringo-trace top     -p PID [-i SECONDS] [-n COUNT] [--json]
 *   ringo-trace runqlat -p PID -d SECONDS
 *   ringo-trace block   -p PID -d SECONDS [--folded FILE] [--pprof FILE] [--svg FILE]
 *   ringo-trace mutex   -p PID -d SECONDS [--folded FILE] [--pprof FILE] [--svg FILE]
 *   ringo-trace chan    -p PID -d SECONDS
 *   ringo-trace io      -p PID -d SECONDS
 *   ringo-trace profile -p PID -d SECONDS [-F HZ] [--folded FILE] [--pprof FILE] [--svg FILE]
 *   ringo-trace record  -p PID -d SECONDS -o FILE.json
 *   ringo-trace list    PID|BINARY
 *
 * -c 'COMMAND ARGS' in place of -p starts the program and traces it from
 * its first instruction.  The man page is docs/man/ringo-trace.8; the
 * design is in trace.h.
 */
#include "trace.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int rt_verbose;

void rt_log(const char *fmt, ...)
{
	if (!rt_verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ringo-trace: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

void rt_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ringo-trace: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static const char usage[] =
	"usage:\n"
	"  ringo-trace top     -p PID [-i SECONDS] [-n COUNT] [--json]\n"
	"  ringo-trace runqlat -p PID -d SECONDS\n"
	"  ringo-trace block   -p PID -d SECONDS [--folded FILE] [--pprof FILE] [--svg FILE]\n"
	"  ringo-trace mutex   -p PID -d SECONDS [--folded FILE] [--pprof FILE] [--svg FILE]\n"
	"  ringo-trace chan    -p PID -d SECONDS\n"
	"  ringo-trace io      -p PID -d SECONDS\n"
	"  ringo-trace profile -p PID -d SECONDS [-F HZ] [--folded FILE] [--pprof FILE] [--svg FILE]\n"
	"  ringo-trace record  -p PID -d SECONDS -o FILE.json\n"
	"  ringo-trace list    PID|BINARY\n"
	"\n"
	"  -c 'COMMAND ARGS'  start COMMAND and trace it from its first instruction\n"
	"                     (instead of -p; without -d, until it exits)\n"
	"  -v                 say what is attached (twice: libbpf's debug output)\n"
	"See ringo-trace(8).\n";

static const struct {
	const char *name;
	int (*fn)(const struct opts *);
} cmds[] = {
	{"top", cmd_top},         {"runqlat", cmd_runqlat}, {"block", cmd_block},
	{"mutex", cmd_mutex},     {"chan", cmd_chan},       {"io", cmd_io},
	{"profile", cmd_profile}, {"record", cmd_record},   {"list", cmd_list},
};

static double parse_secs(const char *s, const char *what)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || v < 0)
		rt_die("%s: not a number of seconds: %s", what, s);
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	struct opts o = {.cmd = argv[1], .interval = 1, .freq = 99};
	int (*fn)(const struct opts *) = NULL;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, argv[1]))
			fn = cmds[i].fn;
	if (!fn) {
		fprintf(stderr, "ringo-trace: unknown command %s\n%s", argv[1], usage);
		return 2;
	}
	static const struct option lopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"folded", required_argument, NULL, 'f'},
		{"pprof", required_argument, NULL, 'P'},
		{"svg", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	bool have_d = false;
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "p:c:d:i:n:F:o:vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'p': o.pid = (pid_t)atoi(optarg); if (o.pid <= 0) rt_die("-p: bad pid %s", optarg); break;
		case 'c': o.command = optarg; break;
		case 'd': o.duration = parse_secs(optarg, "-d"); have_d = true; break;
		case 'i': o.interval = parse_secs(optarg, "-i"); break;
		case 'n': o.count = atol(optarg); if (o.count <= 0) rt_die("-n: bad count %s", optarg); break;
		case 'F': o.freq = atoi(optarg); if (o.freq <= 0 || o.freq > 10000) rt_die("-F: 1..10000"); break;
		case 'o': o.out = optarg; break;
		case 'j': o.json = true; break;
		case 'f': o.folded = optarg; break;
		case 'P': o.pprof = optarg; break;
		case 's': o.svg = optarg; break;
		case 'v': rt_verbose++; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!strcmp(o.cmd, "list")) {
		if (optind != argc - 1)
			rt_die("list: give one PID or BINARY");
		o.list_arg = argv[optind];
	} else if (optind != argc) {
		rt_die("%s: unexpected argument %s", o.cmd, argv[optind]);
	}
	if (strcmp(o.cmd, "list")) {
		if (o.pid && o.command)
			rt_die("give -p or -c, not both");
		if (!o.pid && !o.command)
			rt_die("%s: give -p PID or -c 'COMMAND'", o.cmd);
		if (strcmp(o.cmd, "top") && !have_d && !o.command)
			rt_die("%s: give -d SECONDS", o.cmd);
		if (o.interval <= 0)
			rt_die("-i must be > 0");
	}
	if (!strcmp(o.cmd, "record") && !o.out)
		rt_die("record: give -o FILE.json");
	if (o.interval < 0.01)
		o.interval = 0.01;
	return fn(&o);
}
