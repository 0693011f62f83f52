// SPDX-License-Identifier: MIT
/*
 * Shared test helpers: child processes for panics and fatal reports.
 */
#include "rgtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t rgt_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rgt_run_child(int (*fn)(void *), void *arg, int timeout_s, rgt_child_t *res)
{
	int pfd[2];
	size_t len = 0;

	memset(res, 0, sizeof(*res));
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		/* Sanitizers would turn an intended abort into their report,
		 * and cmocka's fault handlers (inherited from the runner)
		 * would catch a fault before the runtime could report it:
		 * the child starts with a fresh program's dispositions. */
		signal(SIGABRT, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		int rc = fn(arg);
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	close(pfd[1]);
	int64_t deadline = rgt_ms() + (int64_t)timeout_s * 1000;
	bool quit_sent = false;
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int64_t left = deadline - rgt_ms();
		if (left <= 0 && !quit_sent) {
			/* A ringo child dumps its goroutines on SIGQUIT, as Go
			 * does: what each waits on goes into the report. */
			kill(pid, SIGQUIT);
			quit_sent = true;
			res->timed_out = 1;
			deadline = rgt_ms() + 3000;
			continue;
		}
		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue;
		ssize_t r = read(pfd[0], res->out + len, sizeof(res->out) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == sizeof(res->out) - 1)
			break;
	}
	close(pfd[0]);
	if (res->timed_out) {
		/* Say so in the output: an empty report from a hung child
		 * reads like a crash otherwise. */
		int n = snprintf(res->out + len, sizeof(res->out) - len,
				 "\n[rgtest: child stopped (SIGQUIT, then SIGKILL) after %d s without finishing]\n",
				 timeout_s);
		if (n > 0)
			len += (size_t)n < sizeof(res->out) - len ? (size_t)n
								   : sizeof(res->out) - 1 - len;
	}
	res->out[len] = 0;
	while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR)
		;
	res->exited = WIFEXITED(res->status);
	res->code = res->exited ? WEXITSTATUS(res->status) : -1;
	res->signaled = WIFSIGNALED(res->status);
	res->sig = res->signaled ? WTERMSIG(res->status) : 0;
	return 0;
}

void rgt_main(int (*fn)(void *), void *arg)
{
	int rc = rg_main(fn, arg);
	assert_int_equal(rc, 0);
}

void rgt_env(const char *name, const char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

static int panic_child(void *arg)
{
	int (*const *fn)(void *) = arg;
	return rg_main(*fn, NULL);
}

void rgt_expect_panic(int (*main_fn)(void *), const char *msg)
{
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(panic_child, &main_fn, 30, res), 0);
	if (!res->signaled || res->sig != SIGABRT || !strstr(res->out, msg))
		fprintf(stderr, "child output (want a panic with \"%s\"):\n%s\n", msg, res->out);
	assert_true(res->signaled && res->sig == SIGABRT);
	assert_non_null(strstr(res->out, msg));
	free(res);
}

bool rgt_zombie(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* "pid (comm) S ...": comm may hold spaces and parentheses. */
	char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] == 'Z';
}
