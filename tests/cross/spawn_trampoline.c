// SPDX-License-Identifier: MIT
/*
 * spawn_trampoline.c — proc/spawn.c on its own, for an architecture the
 * suite does not run on: scripts/cross-aarch64.sh (make check-aarch64)
 * links it statically with proc/spawn.c for aarch64 and runs it under
 * qemu-aarch64; it also builds and runs natively (the script's -n).
 *
 * It needs libc only (no liburing, no cmocka, no runtime): rg__spawn is
 * called directly and the child waited for with waitid(P_PIDFD), so the
 * clone3 and clone(2) trampolines (the inline assembly that starts the
 * child on a stack of its own) and the posix_spawn fallback are what is
 * tested.  Each way (RINGO_SPAWN unset, =clone, =posix_spawn) runs:
 *   - /bin/true, /bin/false, sh -c 'exit 7': the exit codes;
 *   - sh -c 'kill -TERM $$': a signal status;
 *   - a missing program: -ENOENT from the spawn (through the shared
 *     memory of the vfork on the trampoline paths, posix_spawn's result
 *     on the last), a directory that is not there: -ENOENT;
 *   - stdout given as a pipe and the directory "/": pwd writes "/";
 *   - fds swapped (child 1 from our 2 and 2 from our 1, the case the
 *     F_DUPFD step exists for) and an extra fd 3;
 *   - a fd of ours without O_CLOEXEC not reaching the child (close_range);
 *   - the child's own process group (setpgid).
 * and prints which way each spawn took (rg__spawn_last): an emulator or
 * kernel that refuses clone3 moves the first to clone(2), one that
 * refuses both to posix_spawn.  With RINGO_SPAWN_REQUIRE=clone3|clone
 * the test fails unless that trampoline ran at least once.
 *
 * Under qemu-user the child execs the host's /bin/true and /bin/sh
 * (there is no binfmt_misc here), which does not matter: what is under
 * test runs before the exec.  Prints "ok N - what" / "not ok N - what";
 * exit status 0 when every check passed.
 */
#include "proc_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

static int checks, failed;
static bool saw[4];
static int last_err, last_status; /* the last run's, for a failure's line */

/* Whether a vfork child shares our memory.  qemu-user emulates vfork
 * (and CLONE_VM | CLONE_VFORK) with a plain fork: the parent resumes at
 * once and sees nothing the child wrote, so an exec error cannot come
 * back through memory (posix_spawn's child exits 127 instead) and a
 * setpgid in the child may not have happened yet when the parent looks.
 * Those checks are skipped there, and say so. */
static bool vfork_shares;

static void probe_vfork(void)
{
	static volatile int seen;
	pid_t pid = vfork();
	if (pid == 0) {
		seen = 1;
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	vfork_shares = seen == 1;
}

static void skip(const char *mode, const char *what)
{
	checks++;
	printf("ok %d - %s: %s # SKIP vfork is emulated by fork here\n", checks, mode, what);
}

static void check(bool ok, const char *mode, const char *what)
{
	checks++;
	if (!ok)
		failed++;
	printf("%sok %d - %s: %s", ok ? "" : "not ", checks, mode, what);
	if (!ok)
		printf(" (spawn %d, status %#x)", last_err, last_status);
	printf("\n");
}

/* Waits for the child of pidfd and closes it: its wait(2) status, or -1. */
static int wait_pidfd(int pidfd)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	int r;
	while ((r = waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL)) < 0 && errno == EINTR)
		;
	close(pidfd);
	if (r < 0)
		return -1;
	if (si.si_code == CLD_EXITED)
		return (si.si_status & 0xff) << 8;
	return si.si_status & 0x7f;
}

/* Spawns path/argv with child fds 0..n-1 from fds (NULL: 0, 1, 2) in
 * dir; the wait status, or the spawn's -errno (then *spawn_err is set). */
static int run(const char *path, char *const *argv, const int *fds, int n, const char *dir,
	       bool pgid, int *spawn_err, int *pgid_out)
{
	static const int std[] = {0, 1, 2};
	rg_spawn_t s = {
		.path = path,
		.argv = argv,
		.envp = environ,
		.dir = dir,
		.fds = fds ? fds : std,
		.nfds = fds ? n : 3,
		.pgid = pgid,
	};
	int pid = -1, pidfd = -1;
	int r = rg__spawn(&s, &pid, &pidfd);
	int way = atomic_load(&rg__spawn_last);
	if (way > 0 && way < 4)
		saw[way] = true;
	*spawn_err = last_err = r;
	last_status = -1;
	if (r < 0)
		return r;
	if (pgid_out)
		*pgid_out = getpgid(pid);
	return last_status = wait_pidfd(pidfd);
}

/* Reads what is in the pipe up to EOF (the writers are closed). */
static size_t drain(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t k;
	while (got < cap - 1 && (k = read(fd, buf + got, cap - 1 - got)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)k;
	}
	buf[got] = 0;
	return got;
}

static void one_mode(const char *mode)
{
	int e, st;
	char buf[256];
	if (mode)
		setenv("RINGO_SPAWN", mode, 1);
	else
		unsetenv("RINGO_SPAWN");
	const char *m = mode ? mode : "default";

	char *const av_true[] = {"true", NULL};
	st = run("/bin/true", av_true, NULL, 3, NULL, false, &e, NULL);
	check(e == 0 && st == 0, m, "/bin/true exits 0");
	printf("# %s: spawned by %s\n", m,
	       atomic_load(&rg__spawn_last) == RG_SPAWN_CLONE3  ? "clone3"
	       : atomic_load(&rg__spawn_last) == RG_SPAWN_CLONE ? "clone"
								 : "posix_spawn");

	char *const av_false[] = {"false", NULL};
	st = run("/bin/false", av_false, NULL, 3, NULL, false, &e, NULL);
	check(e == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1, m, "/bin/false exits 1");

	char *const av_7[] = {"sh", "-c", "exit 7", NULL};
	st = run("/bin/sh", av_7, NULL, 3, NULL, false, &e, NULL);
	check(e == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 7, m, "sh -c 'exit 7' exits 7");

	char *const av_term[] = {"sh", "-c", "kill -TERM $$", NULL};
	st = run("/bin/sh", av_term, NULL, 3, NULL, false, &e, NULL);
	check(e == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, m, "a child killed by SIGTERM");

	char *const av_missing[] = {"missing", NULL};
	st = run("/nonexistent/ringo-missing", av_missing, NULL, 3, NULL, false, &e, NULL);
	if (vfork_shares)
		check(e == -ENOENT, m, "a missing program: -ENOENT from the spawn");
	else
		skip(m, "a missing program: -ENOENT from the spawn");
	st = run("/bin/true", av_true, NULL, 3, "/nonexistent-dir", false, &e, NULL);
	if (vfork_shares)
		check(e == -ENOENT, m, "a missing directory: -ENOENT from the spawn");
	else
		skip(m, "a missing directory: -ENOENT from the spawn");

	/* stdout to a pipe, in "/" */
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		check(false, m, "pipe2");
		return;
	}
	int fds1[] = {0, p[1], 2};
	char *const av_pwd[] = {"sh", "-c", "pwd", NULL};
	st = run("/bin/sh", av_pwd, fds1, 3, "/", false, &e, NULL);
	close(p[1]);
	drain(p[0], buf, sizeof(buf));
	close(p[0]);
	check(e == 0 && st == 0 && strcmp(buf, "/\n") == 0, m, "stdout to a pipe, directory /");

	/* fds swapped, and an extra fd: child 1 <- our b, 2 <- our a, where
	 * a and b are our fds 1 and 2 themselves moved (dup2) onto pipes;
	 * the child writes "O" to 1, "E" to 2, "X" to 3. */
	int po[2], pe[2], px[2];
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0 || pipe2(px, O_CLOEXEC) < 0) {
		check(false, m, "pipe2");
		return;
	}
	int save1 = fcntl(1, F_DUPFD_CLOEXEC, 10), save2 = fcntl(2, F_DUPFD_CLOEXEC, 10);
	fflush(stdout);
	dup3(po[1], 1, O_CLOEXEC); /* our 1 is "out" */
	dup3(pe[1], 2, O_CLOEXEC); /* our 2 is "err" */
	int fds2[] = {0, 2, 1, px[1]};
	char *const av_sw[] = {"sh", "-c", "printf O; printf E >&2; printf X >&3", NULL};
	st = run("/bin/sh", av_sw, fds2, 4, NULL, false, &e, NULL);
	dup3(save1, 1, 0);
	dup3(save2, 2, 0);
	close(save1);
	close(save2);
	close(po[1]);
	close(pe[1]);
	close(px[1]);
	char o[16], er[16], x[16];
	drain(po[0], o, sizeof(o));
	drain(pe[0], er, sizeof(er));
	drain(px[0], x, sizeof(x));
	close(po[0]);
	close(pe[0]);
	close(px[0]);
	check(e == 0 && st == 0 && !strcmp(o, "E") && !strcmp(er, "O") && !strcmp(x, "X"), m,
	      "fds 1 and 2 swapped, extra fd 3");

	/* A fd of ours without O_CLOEXEC: closed in the child all the same. */
	int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC, on purpose */
	char script[64];
	snprintf(script, sizeof(script), "[ -e /proc/self/fd/%d ] && exit 3; exit 0", leak);
	char *const av_leak[] = {"sh", "-c", script, NULL};
	st = run("/bin/sh", av_leak, NULL, 3, NULL, false, &e, NULL);
	close(leak);
	check(e == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, m, "a fd without O_CLOEXEC is closed");

	/* Its own process group: the child is a leader (getpgid(pid) ==
	 * pid is read while it is unreaped; sh waits on its stdin). */
	int pin[2];
	if (pipe2(pin, O_CLOEXEC) < 0) {
		check(false, m, "pipe2");
		return;
	}
	int fds3[] = {pin[0], 1, 2};
	char *const av_cat[] = {"sh", "-c", "read x", NULL};
	rg_spawn_t s = {.path = "/bin/sh", .argv = av_cat, .envp = environ, .fds = fds3, .nfds = 3,
			.pgid = true};
	int pid = -1, pidfd = -1;
	e = rg__spawn(&s, &pid, &pidfd);
	int g = e == 0 ? getpgid(pid) : -1;
	close(pin[0]);
	close(pin[1]); /* EOF: read fails, sh exits 1 */
	st = e == 0 ? wait_pidfd(pidfd) : -1;
	if (vfork_shares)
		check(e == 0 && g == pid && g != getpgrp() && WIFEXITED(st), m,
		      "its own process group");
	else
		skip(m, "its own process group");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	probe_vfork();
	printf("# vfork %s\n", vfork_shares ? "shares memory" : "is emulated by fork");
	one_mode(NULL);
	one_mode("clone");
	one_mode("posix_spawn");
	const char *req = getenv("RINGO_SPAWN_REQUIRE");
	if (req && *req) {
		int way = !strcmp(req, "clone3") ? RG_SPAWN_CLONE3 : !strcmp(req, "clone") ? RG_SPAWN_CLONE : 0;
		check(way && saw[way], req, "that trampoline ran");
	}
	printf("1..%d\n# %d of %d checks failed\n", checks, failed, checks);
	return failed ? 1 : 0;
}
