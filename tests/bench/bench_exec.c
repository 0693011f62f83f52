// SPDX-License-Identifier: MIT
/*
 * bench_exec — spawn and wait, the ringo side of tests/bench/exec.sh
 * (its Go peer: tests/bench/go/exec.go).  One workload per run:
 *
 *   bench_exec seq [-n N]       N times rg_command("/bin/true") + run, one
 *                               after the other: spawns/s
 *   bench_exec par16 [-n N]     the same from 16 goroutines at once
 *   bench_exec seq_1g, par16_1g the same with 1 GiB resident in the
 *                               parent (touched, in 4 KiB pages as the Go
 *                               peer's): spawning copies none of it
 *   bench_exec raw, raw_1g      the C floor: vfork + execve + waitpid in a
 *                               loop on one thread, no runtime
 *   bench_exec many [-n N]      N children (cat on one shared pipe) alive
 *                               at once, each waited for by its goroutine;
 *                               EOF for all, until all are reaped: ms
 */
#include <ringo.h>

#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

static long n_arg;
static const char *wl;
static char *const true_argv[] = {"true", NULL};

static void touch_1g(void)
{
	size_t sz = (size_t)1 << 30;
	char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (size_t i = 0; i < sz; i += 4096)
		p[i] = (char)i;
	/* kept for the whole run */
}

static bool one(void)
{
	rg_cmd_t *c = rg_command("/bin/true", true_argv);
	int r = c ? rg_cmd_run(c, NULL) : -1;
	rg_cmd_free(c);
	return r == 0;
}

struct par {
	long n;
	rg_waitgroup_t wg;
	_Atomic long bad;
};

static void par_worker(void *arg)
{
	struct par *p = arg;
	for (long i = 0; i < p->n; i++)
		if (!one())
			atomic_fetch_add(&p->bad, 1);
	rg_wg_done(&p->wg);
}

struct many {
	int in;
	rg_waitgroup_t started, done;
	_Atomic long bad;
};

static void many_child(void *arg)
{
	struct many *m = arg;
	char *const argv[] = {"cat", NULL};
	rg_cmd_t *c = rg_command("/bin/cat", argv);
	rg_cmd_set_stdin(c, m->in);
	int r = rg_cmd_start(c);
	rg_wg_done(&m->started);
	if (r < 0 || rg_cmd_wait(c, NULL) != 0)
		atomic_fetch_add(&m->bad, 1);
	rg_cmd_free(c);
	rg_wg_done(&m->done);
}

static int bench_main(void *arg)
{
	(void)arg;
	bool big = strstr(wl, "_1g") != NULL;
	if (big)
		touch_1g();
	if (!strncmp(wl, "seq", 3)) {
		long n = n_arg ? n_arg : 2000;
		int64_t t0 = rg_now();
		for (long i = 0; i < n; i++)
			if (!one())
				return 1;
		bench_result(wl, (double)n * RG_SECOND / (double)(rg_now() - t0), 1, "spawns/s");
	} else if (!strncmp(wl, "par16", 5)) {
		long n = n_arg ? n_arg : 4000;
		struct par p = {.n = n / 16};
		rg_wg_add(&p.wg, 16);
		int64_t t0 = rg_now();
		for (int i = 0; i < 16; i++)
			rg_go(par_worker, &p);
		rg_wg_wait(&p.wg);
		if (atomic_load(&p.bad))
			return 1;
		bench_result(wl, (double)(p.n * 16) * RG_SECOND / (double)(rg_now() - t0), 1,
			     "spawns/s");
	} else if (!strcmp(wl, "many")) {
		long n = n_arg ? n_arg : 1000;
		struct many m = {0};
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return 1;
		m.in = p[0];
		rg_wg_add(&m.started, (int)n);
		rg_wg_add(&m.done, (int)n);
		int64_t t0 = rg_now();
		for (long i = 0; i < n; i++)
			rg_go(many_child, &m);
		rg_wg_wait(&m.started);
		long long threads = -1;
		FILE *f = fopen("/proc/self/status", "r");
		char line[128];
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "Threads: %lld", &threads) == 1)
				break;
		if (f)
			fclose(f);
		close(p[1]);
		rg_wg_wait(&m.done);
		fprintf(stderr, "many: %ld children alive at once, %lld threads\n", n, threads);
		if (atomic_load(&m.bad))
			return 1;
		bench_result(wl, (double)(rg_now() - t0) / RG_MILLISECOND, 1, "ms");
	} else {
		fprintf(stderr, "bench_exec: unknown workload %s\n", wl);
		return 2;
	}
	return 0;
}

/* The floor: what a C program that knows it is single-threaded does. */
static int raw(void)
{
	long n = n_arg ? n_arg : 2000;
	if (strstr(wl, "_1g"))
		touch_1g();
	int64_t t0 = rg_now();
	for (long i = 0; i < n; i++) {
		pid_t pid = vfork();
		if (pid == 0) {
			execve("/bin/true", true_argv, environ);
			_exit(127);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0)
			return 1;
	}
	printf("RESULT name=%s impl=raw value=%.1f unit=spawns/s\n", wl,
	       (double)n * RG_SECOND / (double)(rg_now() - t0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s WORKLOAD [-n N]\n", argv[0]);
		return 2;
	}
	wl = argv[1];
	const struct bench_opt opts[] = {
		{"n", &n_arg, "iterations (default: the workload's)"},
		{NULL, NULL, NULL},
	};
	argv[1] = argv[0];
	bench_parse(argc - 1, argv + 1, opts);
	if (!strncmp(wl, "raw", 3))
		return raw();
	int rc = rg_main(bench_main, NULL);
	return rc < 0 ? 1 : rc;
}
