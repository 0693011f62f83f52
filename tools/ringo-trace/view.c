// SPDX-License-Identifier: MIT
/*
 * view.c — the trace window every BPF view shares: release a -c target
 * once attached, wait for the duration, the target's exit or ^C, and
 * finish with the -c program's exit status.
 */
#include "trace.h"

#include <sys/wait.h>
#include <time.h>

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double view_run(struct target *t, const struct opts *o, void (*tick)(void *), void *arg)
{
	double t0 = mono();
	target_release(t);
	if (!o->json)
		fprintf(stderr, "Tracing %s in %d%s... %s\n", o->cmd, (int)t->pid,
			o->duration > 0 ? "" : " until it exits", "Ctrl-C to end.");
	for (;;) {
		double left = o->duration > 0 ? o->duration - (mono() - t0) : 0.1;
		if (left <= 0)
			break;
		if (!target_wait(t, left < 0.1 ? left : 0.1))
			break;
		if (tick)
			tick(arg);
		if (!target_alive(t))
			break;
	}
	if (tick)
		tick(arg);
	return mono() - t0;
}

int view_end(struct target *t, struct attach *a)
{
	if (a)
		attach_destroy(a);
	target_close(t);
	if (t->spawned && t->exit_status != -1) {
		if (WIFEXITED(t->exit_status))
			return WEXITSTATUS(t->exit_status);
		if (WIFSIGNALED(t->exit_status))
			return 128 + WTERMSIG(t->exit_status);
	}
	return 0;
}
