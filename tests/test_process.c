// SPDX-License-Identifier: MIT
/*
 * test_process.c — rg_command and friends (proc/) with real processes:
 * exit codes and signals, exec errors from start, environment and
 * directory, pipes both ways, 10 MiB on stdout and stderr at once,
 * contexts killing a child (and a process group with its grandchild),
 * the cancel signal and the wait delay, extra fds, no fd leaked into a
 * child, its signal mask, 1,000 concurrent children, orphans reaped by
 * the reaper thread (with every P busy, without a runtime, and by the
 * calls when the thread cannot be made), a host SIGCHLD handler that
 * reaps everything, foreign threads, and (once, not five ways) spawning
 * where clone3 is ENOSYS and clone(2) with CLONE_PIDFD is EINVAL, as
 * qemu-user 7.2 answers (a seccomp filter).
 *
 * Every case runs five ways: io_uring (IORING_OP_WAITID), epoll, io_uring
 * with the readiness wait forced (RINGO_WAITID=poll), and the two spawn
 * fallbacks, clone(2) with CLONE_PIDFD (RINGO_SPAWN=clone) and
 * posix_spawn + pidfd_open (RINGO_SPAWN=posix_spawn).  Synchronisation is by
 * pipes and exits, never by sleeping.
 */
#include "helpers/rgio.h"
#include "helpers/rgpark.h"

#include <dirent.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "proc_impl.h"
#include "rt_fault.h"

/* ---- scaffolding ------------------------------------------------------ */

static void run_mode(const char *backend, const char *spawn, const char *waitid,
		     int (*fn)(void *))
{
	rgt_env("RINGO_SPAWN", spawn);
	rgt_env("RINGO_WAITID", waitid);
	rgio_run(backend, "2", fn, NULL);
	rgt_env("RINGO_SPAWN", NULL);
	rgt_env("RINGO_WAITID", NULL);
}

#define PROC_CASE(name)                                                               \
	static void name##_uring(void **s) { (void)s; run_mode("io_uring", NULL, NULL, scen_##name); } \
	static void name##_epoll(void **s) { (void)s; run_mode("epoll", NULL, NULL, scen_##name); }    \
	static void name##_poll(void **s) { (void)s; run_mode("io_uring", NULL, "poll", scen_##name); } \
	static void name##_posix(void **s) { (void)s; run_mode("io_uring", "posix_spawn", NULL, scen_##name); } \
	static void name##_clone(void **s) { (void)s; run_mode("io_uring", "clone", NULL, scen_##name); }

#define PROC_TESTS(name)                                                              \
	cmocka_unit_test(name##_uring), cmocka_unit_test(name##_epoll),                \
		cmocka_unit_test(name##_poll), cmocka_unit_test(name##_posix),         \
		cmocka_unit_test(name##_clone)

static bool posix_mode(void)
{
	const char *v = getenv("RINGO_SPAWN");
	return v && strcmp(v, "posix_spawn") == 0;
}

/* sh -c script, with its output (stdout, or combined) in *out. */
static int sh_output(const char *script, char **out, size_t *len, bool combined, rg_ctx_t *ctx)
{
	char *const argv[] = {"sh", "-c", (char *)script, NULL};
	rg_cmd_t *c = rg_command("sh", argv);
	if (!c)
		return -ENOMEM;
	int r = combined ? rg_cmd_combined_output(c, out, len, ctx)
			 : rg_cmd_output(c, out, len, ctx);
	rg_cmd_free(c);
	return r;
}

static int sh_run(const char *script)
{
	char *const argv[] = {"sh", "-c", (char *)script, NULL};
	rg_cmd_t *c = rg_command("sh", argv);
	if (!c)
		return -ENOMEM;
	int r = rg_cmd_run(c, NULL);
	rg_cmd_free(c);
	return r;
}

/* Blocks the thread in poll(2) until fd is readable, with the P given
 * up; false after RGT_NEVER_MS. */
static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	rg_syscall_enter();
	int r = poll(&p, 1, RGT_NEVER_MS);
	rg_syscall_exit();
	return r == 1;
}

/* ---- exit status ------------------------------------------------------ */

static int scen_exit_status(void *arg)
{
	(void)arg;
	char *const t[] = {"true", NULL};
	rg_cmd_t *c = rg_command("true", t);
	CHECK(c);
	CHECK_CMP(rg_cmd_pid(c), ==, -1);
	CHECK_CMP(rg_cmd_wait(c, NULL), ==, -EINVAL); /* not started */
	CHECK_CMP(rg_cmd_signal(c, SIGTERM), ==, -EINVAL);
	CHECK_CMP(rg_cmd_run(c, NULL), ==, 0);
	CHECK_CMP(rg_cmd_pid(c), >, 0);
	CHECK_CMP(rg_cmd_exit_code(c), ==, 0);
	CHECK_CMP(rg_cmd_exit_signal(c), ==, 0);
	CHECK_CMP(rg_cmd_wait(c, NULL), ==, -EINVAL); /* waited already */
	CHECK_CMP(rg_cmd_start(c), ==, -EBUSY);
	CHECK_CMP(rg_cmd_signal(c, SIGTERM), ==, -ESRCH);
	rg_cmd_free(c);

	char *const e3[] = {"sh", "-c", "exit 3", NULL};
	c = rg_command("/bin/sh", e3);
	CHECK(c);
	CHECK_CMP(rg_cmd_run(c, NULL), ==, 3);
	CHECK_CMP(rg_cmd_exit_code(c), ==, 3);
	CHECK_CMP(rg_cmd_exit_signal(c), ==, 0);
	rg_cmd_free(c);

	char *const k[] = {"sh", "-c", "kill -TERM $$", NULL};
	c = rg_command("sh", k);
	CHECK(c);
	CHECK_CMP(rg_cmd_run(c, NULL), ==, 128 + SIGTERM);
	CHECK_CMP(rg_cmd_exit_code(c), ==, -1);
	CHECK_CMP(rg_cmd_exit_signal(c), ==, SIGTERM);
	rg_cmd_free(c);

	/* Signalled by the parent, through the pidfd. */
	char *const cat[] = {"cat", NULL};
	c = rg_command("cat", cat);
	CHECK(c);
	CHECK(rg_cmd_stdin_pipe(c) >= 0);
	CHECK_CMP(rg_cmd_start(c), ==, 0);
	CHECK(rg_cmd_pidfd(c) >= 0);
	CHECK_CMP(rg_cmd_signal(c, 0), ==, 0);
	CHECK_CMP(rg_cmd_signal(c, SIGUSR1), ==, 0);
	CHECK_CMP(rg_cmd_wait(c, NULL), ==, 128 + SIGUSR1);
	CHECK_CMP(rg_cmd_exit_signal(c), ==, SIGUSR1);
	rg_cmd_free(c);

	/* argv NULL: {name}. */
	c = rg_command("true", NULL);
	CHECK(c);
	CHECK_CMP(rg_cmd_run(c, NULL), ==, 0);
	rg_cmd_free(c);
	return 0;
}
PROC_CASE(exit_status)

/* ---- exec errors come from start ------------------------------------- */

static int start_err(const char *name, const char *dir)
{
	char *const argv[] = {(char *)name, NULL};
	rg_cmd_t *c = rg_command(name, argv);
	if (!c)
		return -ENOMEM;
	if (dir)
		rg_cmd_set_dir(c, dir);
	int r = rg_cmd_start(c);
	rg_cmd_free(c);
	return r;
}

static int scen_exec_errors(void *arg)
{
	(void)arg;
	CHECK_CMP(start_err("/nonexistent/program", NULL), ==, -ENOENT);
	CHECK_CMP(start_err("no-such-program-in-path-ringo", NULL), ==, -ENOENT);
	CHECK_CMP(start_err("/etc/passwd", NULL), ==, -EACCES); /* not executable */
	CHECK_CMP(start_err("/bin/true", "/nonexistent-dir"), ==, -ENOENT);
	CHECK_CMP(start_err("/bin/true", "/etc/passwd"), ==, -ENOTDIR);
	/* A failed start leaves no child and no fd behind: the next one
	 * runs as usual. */
	CHECK_CMP(sh_run("exit 0"), ==, 0);
	errno = 0;
	CHECK(rg_command("", NULL) == NULL && errno == EINVAL);
	return 0;
}
PROC_CASE(exec_errors)

/* ---- environment and directory --------------------------------------- */

static int scen_env_dir(void *arg)
{
	(void)arg;
	char dir[] = "/tmp/ringo-proc-XXXXXX";
	CHECK(mkdtemp(dir));
	char real[PATH_MAX];
	CHECK(realpath(dir, real));
	char *const envp[] = {"RINGO_TEST_VAR=hello there", "PATH=/usr/bin:/bin", NULL};
	char *const argv[] = {"sh", "-c", "printf '%s|%s' \"$RINGO_TEST_VAR\" \"$(pwd -P)\"", NULL};
	rg_cmd_t *c = rg_command("sh", argv);
	CHECK(c);
	rg_cmd_set_env(c, envp);
	rg_cmd_set_dir(c, dir);
	char *out;
	size_t len;
	CHECK_CMP(rg_cmd_output(c, &out, &len, NULL), ==, 0);
	rg_cmd_free(c);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "hello there|%s", real);
	CHECK(strcmp(out, want) == 0);
	CHECK_CMP(len, ==, strlen(want));
	free(out);

	/* Inherited environment by default. */
	setenv("RINGO_TEST_INHERIT", "yes", 1);
	CHECK_CMP(sh_output("printf %s \"$RINGO_TEST_INHERIT\"", &out, &len, false, NULL), ==, 0);
	unsetenv("RINGO_TEST_INHERIT");
	CHECK(strcmp(out, "yes") == 0);
	free(out);
	rmdir(dir);
	return 0;
}
PROC_CASE(env_dir)

/* ---- pipes ------------------------------------------------------------ */

#define CAT_BYTES (3 * 1024 * 1024 + 17)

struct feeder {
	rg_cmd_t *c;
	int fd;
	const char *data;
	size_t n;
	rg_waitgroup_t wg;
};

static void feed(void *arg)
{
	struct feeder *f = arg;
	GCHECK(rg_write(f->fd, f->data, f->n, NULL) == (ssize_t)f->n);
	rg_cmd_close_stdin(f->c); /* EOF */
	rg_wg_done(&f->wg);
}

static int scen_cat_pipes(void *arg)
{
	(void)arg;
	char *data = malloc(CAT_BYTES);
	CHECK(data);
	uint64_t seed = 42;
	rgio_fill(&seed, data, CAT_BYTES);
	char *const argv[] = {"cat", NULL};
	rg_cmd_t *c = rg_command("cat", argv);
	CHECK(c);
	int in = rg_cmd_stdin_pipe(c);
	int out = rg_cmd_stdout_pipe(c);
	CHECK(in >= 0 && out >= 0);
	CHECK(rgio_cloexec(in) && rgio_cloexec(out));
	CHECK(rgio_nonblock(out) == rgio_epoll());
	CHECK_CMP(rg_cmd_stdout_pipe(c), ==, -EBUSY);
	CHECK_CMP(rg_cmd_start(c), ==, 0);
	struct feeder f = {.c = c, .fd = in, .data = data, .n = CAT_BYTES};
	rg_wg_add(&f.wg, 1);
	CHECK(rg_go(feed, &f) == 0);
	/* Reading while the feeder writes: neither side's pipe fills. */
	char *got = malloc(CAT_BYTES);
	CHECK(got);
	size_t n = 0;
	for (;;) {
		ssize_t k = rg_read(out, got + n, CAT_BYTES - n, NULL);
		CHECK(k >= 0);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	rg_wg_wait(&f.wg);
	CHECK_CMP(rg_cmd_wait(c, NULL), ==, 0);
	CHECK_CMP(n, ==, CAT_BYTES);
	CHECK(memcmp(got, data, CAT_BYTES) == 0);
	rg_cmd_free(c);
	free(got);
	free(data);
	return 0;
}
PROC_CASE(cat_pipes)

/* ---- 10 MiB on stdout and 10 MiB on stderr at once -------------------- */

#define BIG "10485760"
#define BIG_N ((size_t)10485760)
static const char both[] = "head -c " BIG " /dev/zero & head -c " BIG " /dev/zero >&2; wait";

struct drain {
	int fd;
	size_t n;
	bool zeros;
	rg_waitgroup_t *wg;
};

static void drain(void *arg)
{
	struct drain *d = arg;
	char buf[65536];
	d->zeros = true;
	for (;;) {
		ssize_t k = rg_read(d->fd, buf, sizeof(buf), NULL);
		GCHECK(k >= 0);
		if (k <= 0)
			break;
		d->zeros = d->zeros && rgio_all(buf, 0, (size_t)k);
		d->n += (size_t)k;
	}
	rg_wg_done(d->wg);
}

static int scen_big_output(void *arg)
{
	(void)arg;
	char *out;
	size_t len;
	/* Combined: one pipe for both, 20 MiB. */
	CHECK_CMP(sh_output(both, &out, &len, true, NULL), ==, 0);
	CHECK_CMP(len, ==, 2 * BIG_N);
	CHECK(rgio_all(out, 0, len) && out[len] == 0);
	free(out);
	/* Output: stdout, stderr to /dev/null. */
	CHECK_CMP(sh_output(both, &out, &len, false, NULL), ==, 0);
	CHECK_CMP(len, ==, BIG_N);
	free(out);
	/* Two pipes, each drained by its own goroutine. */
	char *const argv[] = {"sh", "-c", (char *)both, NULL};
	rg_cmd_t *c = rg_command("sh", argv);
	CHECK(c);
	rg_waitgroup_t wg = {0};
	struct drain d[2] = {{.fd = rg_cmd_stdout_pipe(c), .wg = &wg},
			     {.fd = rg_cmd_stderr_pipe(c), .wg = &wg}};
	CHECK(d[0].fd >= 0 && d[1].fd >= 0);
	CHECK_CMP(rg_cmd_start(c), ==, 0);
	rg_wg_add(&wg, 2);
	CHECK(rg_go(drain, &d[0]) == 0 && rg_go(drain, &d[1]) == 0);
	rg_wg_wait(&wg);
	CHECK_CMP(rg_cmd_wait(c, NULL), ==, 0);
	CHECK_CMP(d[0].n, ==, BIG_N);
	CHECK_CMP(d[1].n, ==, BIG_N);
	CHECK(d[0].zeros && d[1].zeros);
	rg_cmd_free(c);
	return 0;
}
PROC_CASE(big_output)

/* ---- contexts --------------------------------------------------------- */

static int scen_ctx_kill(void *arg)
{
	(void)arg;
	/* A deadline kills sleep 1000 (SIGKILL by default). */
	char *const argv[] = {"sleep", "1000", NULL};
	rg_cmd_t *c = rg_command("sleep", argv);
	CHECK(c);
	rg_ctx_t *ctx = rg_ctx_with_timeout(NULL, 20 * RG_MILLISECOND);
	CHECK(ctx);
	CHECK_CMP(rg_cmd_run(c, ctx), ==, -ETIMEDOUT);
	CHECK_CMP(rg_cmd_exit_signal(c), ==, SIGKILL);
	CHECK_CMP(rg_cmd_signal(c, 0), ==, -ESRCH); /* reaped */
	rg_cmd_free(c);
	rg_ctx_release(ctx);

	/* Cancelled while it waits, cancel signal SIGTERM. */
	c = rg_command("sleep", argv);
	CHECK(c);
	rg_cmd_set_cancel_signal(c, SIGTERM);
	ctx = rg_ctx_with_cancel(NULL);
	CHECK(ctx);
	CHECK_CMP(rg_cmd_start(c), ==, 0);
	rg_ctx_cancel(ctx);
	CHECK_CMP(rg_cmd_wait(c, ctx), ==, -ECANCELED);
	CHECK_CMP(rg_cmd_exit_signal(c), ==, SIGTERM);
	rg_cmd_free(c);

	/* A child that ignores the cancel signal: SIGKILL after the wait
	 * delay.  (sh blocks reading the stdin pipe nobody writes.) */
	char *const ign[] = {"sh", "-c", "trap '' TERM; echo ready; read x", NULL};
	c = rg_command("sh", ign);
	CHECK(c);
	CHECK(rg_cmd_stdin_pipe(c) >= 0);
	int ready = rg_cmd_stdout_pipe(c);
	CHECK(ready >= 0);
	rg_cmd_set_cancel_signal(c, SIGTERM);
	rg_cmd_set_wait_delay(c, 30 * RG_MILLISECOND);
	CHECK_CMP(rg_cmd_start(c), ==, 0);
	char rbuf[8];
	CHECK_CMP(rg_read(ready, rbuf, sizeof(rbuf), NULL), ==, 6); /* the trap is set */
	CHECK_CMP(rg_cmd_wait(c, ctx), ==, -ECANCELED); /* ctx is cancelled already */
	CHECK_CMP(rg_cmd_exit_signal(c), ==, SIGKILL);
	rg_cmd_free(c);
	rg_ctx_release(ctx);

	/* Output bounded by the ctx: the read stops, the child is killed. */
	char *out = (char *)1;
	size_t len;
	ctx = rg_ctx_with_timeout(NULL, 20 * RG_MILLISECOND);
	CHECK(ctx);
	CHECK_CMP(sh_output("echo started; exec sleep 1000", &out, &len, false, ctx), ==, -ETIMEDOUT);
	/* What came before the deadline is kept: all of "started\n", or on
	 * a loaded machine, where the deadline can pass before the shell
	 * writes, a prefix of it (the kill is what is checked here). */
	CHECK(out && len <= 8 && strlen(out) == len && strncmp(out, "started\n", len) == 0);
	free(out);
	rg_ctx_release(ctx);
	return 0;
}
PROC_CASE(ctx_kill)

/* A shell's grandchild dies with its group. */
static int scen_pgid_kill(void *arg)
{
	(void)arg;
	char *const argv[] = {"sh", "-c", "sleep 1000 & echo $!; wait", NULL};
	rg_cmd_t *c = rg_command("sh", argv);
	CHECK(c);
	rg_cmd_set_pgid(c, true);
	int out = rg_cmd_stdout_pipe(c);
	CHECK(out >= 0);
	CHECK_CMP(rg_cmd_start(c), ==, 0);
	char line[32] = {0};
	size_t n = 0;
	while (n < sizeof(line) - 1 && !memchr(line, '\n', n)) {
		ssize_t k = rg_read(out, line + n, sizeof(line) - 1 - n, NULL);
		CHECK(k > 0);
		n += (size_t)k;
	}
	int gpid = atoi(line);
	CHECK(gpid > 0);
	CHECK_CMP(getpgid(gpid), ==, rg_cmd_pid(c));
	int gfd = (int)syscall(SYS_pidfd_open, gpid, 0);
	CHECK(gfd >= 0);
	rg_ctx_t *ctx = rg_ctx_with_cancel(NULL);
	CHECK(ctx);
	rg_ctx_cancel(ctx);
	CHECK_CMP(rg_cmd_wait(c, ctx), ==, -ECANCELED);
	CHECK_CMP(rg_cmd_exit_signal(c), ==, SIGKILL);
	/* The grandchild (not ours: reparented) is gone too. */
	CHECK(readable(gfd));
	close(gfd);
	rg_cmd_free(c);
	rg_ctx_release(ctx);
	return 0;
}
PROC_CASE(pgid_kill)

/* ---- fds -------------------------------------------------------------- */

/* The child's /proc/self/fd, as "0 1 2 3 " (ls' own directory fd is
 * the lowest free number). */
static int child_fds(rg_cmd_t *c, char *list, size_t size)
{
	char *out;
	size_t len;
	int r = rg_cmd_output(c, &out, &len, NULL);
	if (r != 0)
		return r < 0 ? r : -r;
	list[0] = 0;
	for (char *tok = strtok(out, "\n"); tok; tok = strtok(NULL, "\n")) {
		strncat(list, tok, size - strlen(list) - 2);
		strcat(list, " ");
	}
	free(out);
	return 0;
}

static int scen_fds(void *arg)
{
	(void)arg;
	/* fds the program forgot to mark close-on-exec do not leak. */
	int leak1 = open("/dev/null", O_RDONLY);
	int lp[2];
	CHECK(leak1 >= 0 && pipe(lp) == 0);
	char *const ls[] = {"ls", "/proc/self/fd", NULL};
	char list[256];
	rg_cmd_t *c = rg_command("ls", ls);
	CHECK(c);
	CHECK_CMP(child_fds(c, list, sizeof(list)), ==, 0);
	rg_cmd_free(c);
	CHECK(strcmp(list, "0 1 2 3 ") == 0);

	/* Extra fds: 3, 4; the caller keeps its own. */
	c = rg_command("ls", ls);
	CHECK(c);
	CHECK_CMP(rg_cmd_add_fd(c, lp[1]), ==, 3);
	CHECK_CMP(rg_cmd_add_fd(c, leak1), ==, 4);
	CHECK_CMP(rg_cmd_add_fd(c, 999), ==, -EBADF);
	CHECK_CMP(child_fds(c, list, sizeof(list)), ==, 0);
	rg_cmd_free(c);
	CHECK(strcmp(list, "0 1 2 3 4 5 ") == 0);
	CHECK(fcntl(lp[1], F_GETFD) >= 0 && fcntl(leak1, F_GETFD) >= 0);

	/* The child writes to its fd 3; stdin from a file of ours. */
	char *const sh[] = {"sh", "-c", "cat >&3", NULL};
	c = rg_command("sh", sh);
	CHECK(c);
	int in = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	char want[64];
	ssize_t wn = pread(in, want, sizeof(want), 0);
	CHECK(wn > 0);
	rg_cmd_set_stdin(c, in);
	CHECK_CMP(rg_cmd_add_fd(c, lp[1]), ==, 3);
	CHECK_CMP(rg_cmd_run(c, NULL), ==, 0);
	rg_cmd_free(c);
	close(in);
	close(lp[1]); /* the last writer: the read below ends */
	char got[64];
	ssize_t gn = read(lp[0], got, sizeof(got));
	CHECK_CMP(gn, ==, wn);
	CHECK(memcmp(got, want, (size_t)wn) == 0);
	close(lp[0]);
	close(leak1);

	/* Stdout and stderr set to one fd of ours. */
	int sp[2];
	CHECK(pipe2(sp, O_CLOEXEC) == 0);
	char *const two[] = {"sh", "-c", "echo out; echo err >&2", NULL};
	c = rg_command("sh", two);
	CHECK(c);
	rg_cmd_set_stdout(c, sp[1]);
	rg_cmd_set_stderr(c, sp[1]);
	CHECK_CMP(rg_cmd_run(c, NULL), ==, 0);
	rg_cmd_free(c);
	close(sp[1]);
	char buf[16] = {0};
	CHECK_CMP(read(sp[0], buf, sizeof(buf) - 1), ==, 8);
	CHECK(strcmp(buf, "out\nerr\n") == 0);
	close(sp[0]);
	return 0;
}
PROC_CASE(fds)

/* ---- the child's signal state ------------------------------------------ */

static void on_usr2(int sig)
{
	(void)sig;
}

static int scen_sigmask(void *arg)
{
	(void)arg;
	struct sigaction sa = {.sa_handler = on_usr2}, old;
	sigaction(SIGUSR2, &sa, &old);
	sigset_t block, prev;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	char *const argv[] = {"cat", "/proc/self/status", NULL};
	rg_cmd_t *c = rg_command("cat", argv);
	CHECK(c);
	int fd = rg_cmd_stdout_pipe(c);
	CHECK(fd >= 0);
	/* The goroutine stays on this thread until it parks: start does
	 * not park. */
	pthread_sigmask(SIG_BLOCK, &block, &prev);
	int r = rg_cmd_start(c);
	pthread_sigmask(SIG_SETMASK, &prev, NULL);
	sigaction(SIGUSR2, &old, NULL);
	CHECK_CMP(r, ==, 0);
	char out[16384];
	size_t len = 0;
	for (;;) {
		ssize_t k = rg_read(fd, out + len, sizeof(out) - 1 - len, NULL);
		CHECK(k >= 0);
		if (k == 0)
			break;
		len += (size_t)k;
	}
	out[len] = 0;
	r = rg_cmd_wait(c, NULL);
	CHECK_CMP(r, ==, 0);
	CHECK(strstr(out, "SigBlk:\t0000000000000000\n"));
	CHECK(strstr(out, "SigCgt:\t0000000000000000\n"));
	rg_cmd_free(c);
	return 0;
}
PROC_CASE(sigmask)

/* ---- many at once ------------------------------------------------------ */

#define MANY 1000

struct many {
	int in;                 /* the shared stdin: a pipe nobody writes */
	rg_waitgroup_t started, done;
	_Atomic int ok;
};

static void one_child(void *arg)
{
	struct many *m = arg;
	char *const argv[] = {"cat", NULL};
	rg_cmd_t *c = rg_command("/bin/cat", argv);
	GCHECK(c);
	rg_cmd_set_stdin(c, m->in);
	int r = c ? rg_cmd_start(c) : -ENOMEM;
	GCHECK(r == 0);
	rg_wg_done(&m->started);
	if (r == 0 && rg_cmd_wait(c, NULL) == 0)
		atomic_fetch_add(&m->ok, 1);
	rg_cmd_free(c);
	rg_wg_done(&m->done);
}

static int threads_now(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

static int scen_many(void *arg)
{
	(void)arg;
	struct many m = {0};
	int p[2];
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	m.in = p[0];
	rg_wg_add(&m.started, MANY);
	rg_wg_add(&m.done, MANY);
	for (int i = 0; i < MANY; i++)
		CHECK(rg_go(one_child, &m) == 0);
	rg_wg_wait(&m.started);
	/* All MANY children live (cat blocks on the pipe) and each has a
	 * goroutine parked in its wait; threads stay few. */
	int threads = threads_now();
	close(p[1]); /* EOF for all of them */
	rg_wg_wait(&m.done);
	close(p[0]);
	CHECK_CMP(atomic_load(&m.ok), ==, MANY);
	CHECK_CMP(threads, <, MANY / 4);
	CHECK_CMP(rg__orphan_count(), ==, 0);
	return 0;
}
PROC_CASE(many)

/* ---- no zombies -------------------------------------------------------- */

/* Whether the child of pidfd (a dup of the command's) has been reaped
 * by someone: a zombie still answers waitid (WNOWAIT leaves it be), a
 * reaped child is ECHILD (Linux 6.18 also says ENOENT, once in a few
 * hundred, for a pid just released). */
static bool reaped(int pidfd)
{
	siginfo_t si;
	int r;
	memset(&si, 0, sizeof(si));
	while ((r = waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | WNOWAIT)) < 0 &&
	       errno == EINTR)
		;
	return r < 0 && (errno == ECHILD || errno == ENOENT || errno == ESRCH);
}

static int scen_orphans(void *arg)
{
	(void)arg;
	char *const argv[] = {"cat", NULL};
	rg_cmd_t *c = rg_command("cat", argv);
	CHECK(c);
	CHECK(rg_cmd_stdin_pipe(c) >= 0);
	CHECK_CMP(rg_cmd_start(c), ==, 0);
	int pid = rg_cmd_pid(c);
	int mine = dup(rg_cmd_pidfd(c));
	CHECK(mine >= 0);
	/* Freed while it runs: not killed (its stdin closes, so cat ends). */
	rg_cmd_free(c);
	CHECK(readable(mine)); /* it has exited */
	/* The reaper takes it; meanwhile other commands come and go. */
	CHECK_CMP(sh_run("exit 0"), ==, 0);
	int64_t t0 = rgt_ms();
	while (!reaped(mine) && rgt_ms() - t0 < RGT_NEVER_MS)
		rg_yield();
	CHECK(reaped(mine));
	CHECK_CMP(rg__orphan_count(), ==, 0);
	CHECK(!rgt_zombie(pid));
	close(mine);
	return 0;
}
PROC_CASE(orphans)

/* The orphan exits after rg_cmd_free and no rg_cmd call follows: the
 * background reaper takes it, with every P busy (goroutines that only
 * yield, this one included), so it does not need the scheduler. */
static _Atomic bool orph_spin_stop;

static void orph_spinner(void *arg)
{
	(void)arg;
	while (!atomic_load(&orph_spin_stop))
		rg_yield();
}

static int scen_orphan_busy(void *arg)
{
	(void)arg;
	char *const argv[] = {"cat", NULL};
	rg_cmd_t *c = rg_command("cat", argv);
	CHECK(c);
	CHECK(rg_cmd_stdin_pipe(c) >= 0);
	CHECK_CMP(rg_cmd_start(c), ==, 0);
	int pid = rg_cmd_pid(c);
	int mine = dup(rg_cmd_pidfd(c));
	CHECK(mine >= 0);
	atomic_store(&orph_spin_stop, false);
	for (int i = 0; i < 2; i++)
		CHECK(rg_go(orph_spinner, NULL) == 0);
	/* Its stdin closes here: cat ends on its own. */
	rg_cmd_free(c);
	int64_t t0 = rgt_ms();
	while (!reaped(mine) && rgt_ms() - t0 < RGT_NEVER_MS)
		rg_yield(); /* this P stays busy too */
	bool ok = reaped(mine);
	atomic_store(&orph_spin_stop, true);
	CHECK(ok);
	CHECK(!rgt_zombie(pid));
	close(mine);
	return 0;
}
PROC_CASE(orphan_busy)

/* Many orphans at once, some exiting early, some late: every one is
 * reaped without another rg_cmd call. */
static int scen_orphan_many(void *arg)
{
	(void)arg;
	enum { N = 20 };
	int mine[N], pid[N], p[2];
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	for (int i = 0; i < N; i++) {
		char *const argv[] = {"cat", NULL};
		rg_cmd_t *c = rg_command("cat", argv);
		CHECK(c);
		if (i % 2)
			rg_cmd_set_stdin(c, p[0]); /* ends when p[1] closes */
		CHECK_CMP(rg_cmd_start(c), ==, 0);
		pid[i] = rg_cmd_pid(c);
		mine[i] = dup(rg_cmd_pidfd(c));
		CHECK(mine[i] >= 0);
		rg_cmd_free(c);
	}
	close(p[1]);
	int64_t t0 = rgt_ms();
	for (int i = 0; i < N; i++) {
		while (!reaped(mine[i]) && rgt_ms() - t0 < RGT_NEVER_MS)
			rg_yield();
		CHECK(reaped(mine[i]));
		CHECK(!rgt_zombie(pid[i]));
		close(mine[i]);
	}
	close(p[0]);
	CHECK_CMP(rg__orphan_count(), ==, 0);
	return 0;
}
PROC_CASE(orphan_many)

/* ---- a host that reaps every child -------------------------------------- */

static _Atomic int host_reaped;

static void reap_all(int sig)
{
	(void)sig;
	int e = errno;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		atomic_fetch_add(&host_reaped, 1);
	errno = e;
}

static bool kernel_at_least(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > maj || (a == maj && b >= min);
}

static int scen_host_sigchld(void *arg)
{
	(void)arg;
	struct sigaction sa = {.sa_handler = reap_all, .sa_flags = SA_RESTART}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, &old);
	atomic_store(&host_reaped, 0);
	int bad = 0;
	for (int i = 0; i < 20; i++) {
		int r = sh_run("exit 5");
		/* posix_spawn's child may be reaped by the host before
		 * pidfd_open (the fallback's documented gap): -ESRCH. */
		if (r != 5 && !(r == -ECHILD && !kernel_at_least(6, 15)) &&
		    !(r == -ESRCH && posix_mode()))
			bad = r ? r : -1000;
	}
	sigaction(SIGCHLD, &old, NULL);
	CHECK_CMP(bad, ==, 0);
	/* Whether the handler won a race or not, nothing is left over. */
	CHECK_CMP(rg__orphan_count(), ==, 0);
	return 0;
}
PROC_CASE(host_sigchld)

/* ---- a foreign thread -------------------------------------------------- */

static void *foreign(void *arg)
{
	int *res = arg;
	char *out = NULL;
	size_t len = 0;
	res[0] = sh_output("echo from a thread", &out, &len, false, NULL);
	res[1] = out && strcmp(out, "from a thread\n") == 0;
	free(out);
	return NULL;
}

static int scen_foreign_thread(void *arg)
{
	(void)arg;
	int res[2] = {-1, 0};
	pthread_t t;
	rg__sched_ref();
	CHECK(pthread_create(&t, NULL, foreign, res) == 0);
	rg_syscall_enter();
	pthread_join(t, NULL);
	rg_syscall_exit();
	rg__sched_unref();
	CHECK_CMP(res[0], ==, 0);
	CHECK(res[1]);
	return 0;
}
PROC_CASE(foreign_thread)

/* A foreign thread blocked waiting for a child counts for the deadlock
 * detector: main sleeps on a channel that only the thread will fill,
 * once its child (sleep 0.3: the window the detector has) exits.  As
 * test_io's foreign_blocked_counts: main holds a reference until the
 * thread's own counts (rgp_wait_refs).  Isolated: a false "all goroutines are
 * asleep" aborts the process. */
struct fwait {
	rg_chan_t *done;
	_Atomic int waiting;  /* rg_cmd_start returned: the wait comes next */
	int code;
};

static void *foreign_wait(void *arg)
{
	struct fwait *f = arg;
	char *const argv[] = {"sleep", "0.3", NULL};
	rg_cmd_t *c = rg_command("sleep", argv);
	f->code = c ? rg_cmd_start(c) : -ENOMEM;
	atomic_store(&f->waiting, 1);
	if (f->code == 0)
		f->code = rg_cmd_wait(c, NULL);
	rg_cmd_free(c);
	int one = 1;
	rg_chan_send(f->done, &one);
	return NULL;
}

static int scen_foreign_wait_counts(void *arg)
{
	(void)arg;
	struct fwait f = {.done = rg_chan_make(sizeof(int), 0), .code = -1};
	CHECK(f.done);
	pthread_t t;
	rg_ref(); /* until the thread is about to wait */
	CHECK(pthread_create(&t, NULL, foreign_wait, &f) == 0);
	/* Past its start (which may count for a while too), then ours and
	 * the thread's (inside rg_cmd_wait, or past it and waiting to send
	 * on done): it counts by now. */
	while (!atomic_load(&f.waiting))
		rg_sleep(RG_MILLISECOND);
	CHECK(rgp_wait_refs(2, RGT_NEVER_MS));
	rg_unref();
	/* Every goroutine asleep; only the waiting thread can wake us. */
	int v = 0;
	CHECK(rg_chan_recv(f.done, &v) && v == 1);
	rg_syscall_enter();
	pthread_join(t, NULL);
	rg_syscall_exit();
	CHECK_CMP(f.code, ==, 0);
	rg_chan_free(f.done);
	return 0;
}
RGIO_CASE_ISOLATED(foreign_wait_counts, "2")

/* Pdeathsig: the child gets it when the thread that started it exits
 * (a foreign thread here, which leaves the command to main to wait
 * for).  Not applied on the posix_spawn fallback. */
static void *start_and_exit(void *arg)
{
	rg_cmd_t *c = arg;
	return (void *)(intptr_t)rg_cmd_start(c);
}

static int scen_pdeathsig(void *arg)
{
	(void)arg;
	char *const argv[] = {"sleep", "100", NULL};
	rg_cmd_t *c = rg_command("sleep", argv);
	CHECK(c);
	rg_cmd_set_pdeathsig(c, SIGKILL);
	pthread_t t;
	void *r = NULL;
	CHECK(pthread_create(&t, NULL, start_and_exit, c) == 0);
	rg_syscall_enter();
	pthread_join(t, &r);
	rg_syscall_exit();
	CHECK_CMP((int)(intptr_t)r, ==, 0);
	if (posix_mode())
		CHECK_CMP(rg_cmd_signal(c, SIGKILL), ==, 0); /* it still runs */
	/* Bounded: a pdeathsig that never came fails, it does not hang. */
	rg_ctx_t *ctx = rg_ctx_with_timeout(rg_ctx_background(), RGT_NEVER_MS * RG_MILLISECOND);
	CHECK(ctx);
	CHECK_CMP(rg_cmd_wait(c, ctx), ==, 128 + SIGKILL);
	rg_ctx_cancel(ctx);
	rg_ctx_release(ctx);
	CHECK_CMP(rg_cmd_exit_signal(c), ==, SIGKILL);
	rg_cmd_free(c);
	return 0;
}
PROC_CASE(pdeathsig)

/* Which path ran: the modes are what they say.  (pdeathsig is set to
 * show that it does not get in the way; the fallback ignores it.) */
static int scen_modes(void *arg)
{
	(void)arg;
	char *const argv[] = {"grep", "^PPid", "/proc/self/status", NULL};
	rg_cmd_t *c = rg_command("grep", argv);
	CHECK(c);
	rg_cmd_set_pdeathsig(c, SIGKILL);
	char *out;
	size_t len;
	CHECK_CMP(rg_cmd_output(c, &out, &len, NULL), ==, 0);
	char want[64];
	snprintf(want, sizeof(want), "PPid:\t%d\n", getpid());
	CHECK(strcmp(out, want) == 0);
	free(out);
	rg_cmd_free(c);
	const char *sp = getenv("RINGO_SPAWN");
	CHECK_CMP(rg__spawn_last, ==, posix_mode() ? RG_SPAWN_POSIX
				    : sp && strcmp(sp, "clone") == 0 ? RG_SPAWN_CLONE
								     : RG_SPAWN_CLONE3);
	const char *w = getenv("RINGO_WAITID");
	bool ready = rgio_epoll() || (w && strcmp(w, "poll") == 0) || !kernel_at_least(6, 7);
	CHECK_CMP(rg__wait_last, ==, ready ? RG_WAIT_READY : RG_WAIT_WAITID);
	return 0;
}
PROC_CASE(modes)

/* clone3 refused with ENOSYS and clone(2) with CLONE_PIDFD with EINVAL,
 * as qemu-user 7.2 answers (and a seccomp profile that rejects flags it
 * does not know): the spawns go to posix_spawn + pidfd_open, and an
 * exec error still comes from start.  Threads (clone without
 * CLONE_PIDFD) are allowed. */
static int scen_refused(void *arg)
{
	(void)arg;
	CHECK_CMP(sh_run("exit 3"), ==, 3);
	CHECK_CMP(rg__spawn_last, ==, RG_SPAWN_POSIX);
	CHECK_CMP(start_err("/nonexistent/program", NULL), ==, -ENOENT);
	CHECK_CMP(sh_run("exit 0"), ==, 0);
	return 0;
}

static int refused_child(void *arg)
{
	(void)arg;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* the flags' low word (little-endian) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_PIDFD, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return 20;
	unsetenv("RINGO_SPAWN");
	return rg_main(scen_refused, NULL);
}

static void clone_pidfd_refused(void **state)
{
	(void)state;
#ifdef RGT_TSAN
	/* The orphan reaper's thread lives on in this process, and TSan
	 * kills a child forked with threads once it starts its own. */
	skip();
#endif
	static rgt_child_t c;
	assert_int_equal(rgt_run_child(refused_child, NULL, 60, &c), 0);
	if (!c.exited || c.code != 0)
		fail_msg("child: exited %d code %d signal %d:\n%s", c.exited, c.code, c.sig, c.out);
}

/* Without a runtime: plain blocking calls. */
static void no_runtime(void **state)
{
	(void)state;
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(sh_output("echo plain; exit 4", &out, &len, false, NULL), 4);
	assert_string_equal(out, "plain\n");
	free(out);
}

/* The reaper thread cannot be made (reaper_thread fault, at the free
 * and at its retry at the end of the free): the orphan stays a zombie
 * until the next ringo process call, which reaps it and makes the
 * thread, which then reaps the next orphan on its own. */
static int scen_orphan_no_thread(void *arg)
{
	(void)arg;
	char *const argv[] = {"cat", NULL};
	/* The reaper of the cases before ends once it has reaped theirs. */
	int64_t t0 = rgt_ms();
	while (rg__orphan_reaper_on() && rgt_ms() - t0 < RGT_NEVER_MS)
		rg_yield();
	CHECK(!rg__orphan_reaper_on());
	rg__fault_arm(RG_FAULT_REAPER_THREAD, 0, 0, 2);
	rg_cmd_t *c = rg_command("cat", argv);
	CHECK(c);
	CHECK(rg_cmd_stdin_pipe(c) >= 0);
	CHECK_CMP(rg_cmd_start(c), ==, 0);
	int pid = rg_cmd_pid(c);
	int mine = dup(rg_cmd_pidfd(c));
	CHECK(mine >= 0);
	rg_cmd_free(c);
	CHECK_CMP(rg__fault_hits(RG_FAULT_REAPER_THREAD), ==, 2);
	rg__fault_reset();
	CHECK(!rg__orphan_reaper_on());
	CHECK(readable(mine));
	CHECK(rgt_zombie(pid)); /* nobody reaped it */
	CHECK_CMP(rg__orphan_count(), ==, 1);
	c = rg_command("cat", argv); /* reaps it, makes the thread */
	CHECK(c);
	CHECK(reaped(mine));
	CHECK(!rgt_zombie(pid));
	CHECK_CMP(rg__orphan_count(), ==, 0);
	close(mine);
	/* The next orphan goes to a thread again. */
	CHECK(rg_cmd_stdin_pipe(c) >= 0);
	CHECK_CMP(rg_cmd_start(c), ==, 0);
	mine = dup(rg_cmd_pidfd(c));
	CHECK(mine >= 0);
	rg_cmd_free(c);
	t0 = rgt_ms();
	while (!reaped(mine) && rgt_ms() - t0 < RGT_NEVER_MS)
		rg_yield();
	CHECK(reaped(mine));
	close(mine);
	return 0;
}
PROC_CASE(orphan_no_thread)

/* fork() with the reaper running: the child has no reaper thread and
 * its queue is not the parent's.  An orphan of the child's own is
 * reaped there (by a reaper of its own: it shares the parent's epoll
 * set otherwise), and the parent's orphan is still the parent's. */
static void orphan_fork(void **state)
{
	(void)state;
#ifdef RGT_TSAN
	/* The orphan reaper's thread lives on in this process, and TSan
	 * kills a child forked with threads once it starts its own. */
	skip();
#endif
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	char *const argv[] = {"cat", NULL};
	rg_cmd_t *c = rg_command("cat", argv);
	assert_non_null(c);
	rg_cmd_set_stdin(c, p[0]); /* runs until p[1] closes */
	assert_int_equal(rg_cmd_start(c), 0);
	int pid = rg_cmd_pid(c);
	int mine = dup(rg_cmd_pidfd(c));
	assert_true(mine >= 0);
	rg_cmd_free(c);
	assert_true(rg__orphan_reaper_on());
	pid_t k = fork();
	assert_true(k >= 0);
	if (k == 0) {
		close(p[1]);
		bool ok = rg__orphan_count() == 0 && !rg__orphan_reaper_on();
		char *const t[] = {"true", NULL};
		rg_cmd_t *d = rg_command("true", t);
		ok = ok && d && rg_cmd_start(d) == 0;
		int dmine = d ? dup(rg_cmd_pidfd(d)) : -1;
		int dpid = d ? rg_cmd_pid(d) : -1;
		rg_cmd_free(d);
		int64_t t0 = rgt_ms();
		while (ok && !reaped(dmine) && rgt_ms() - t0 < RGT_NEVER_MS)
			sched_yield();
		ok = ok && reaped(dmine) && !rgt_zombie(dpid);
		_exit(ok ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(k, &st, 0), k);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_false(reaped(mine)); /* cat still runs, still ours */
	close(p[1]);
	close(p[0]);
	int64_t t0 = rgt_ms();
	while (!reaped(mine) && rgt_ms() - t0 < RGT_NEVER_MS)
		sched_yield();
	assert_true(reaped(mine));
	assert_false(rgt_zombie(pid));
	close(mine);
}

/* Without a runtime, and no ringo call after the free. */
static void orphan_no_runtime(void **state)
{
	(void)state;
	char *const argv[] = {"cat", NULL};
	rg_cmd_t *c = rg_command("cat", argv);
	assert_non_null(c);
	assert_true(rg_cmd_stdin_pipe(c) >= 0);
	assert_int_equal(rg_cmd_start(c), 0);
	int pid = rg_cmd_pid(c);
	int mine = dup(rg_cmd_pidfd(c));
	assert_true(mine >= 0);
	rg_cmd_free(c);
	int64_t t0 = rgt_ms();
	while (!reaped(mine) && rgt_ms() - t0 < RGT_NEVER_MS)
		sched_yield();
	assert_true(reaped(mine));
	assert_false(rgt_zombie(pid));
	close(mine);
}

int main(void)
{
	rgio_ignore_sigpipe();
	const struct CMUnitTest tests[] = {
		PROC_TESTS(exit_status),
		PROC_TESTS(exec_errors),
		PROC_TESTS(env_dir),
		PROC_TESTS(cat_pipes),
		PROC_TESTS(big_output),
		PROC_TESTS(ctx_kill),
		PROC_TESTS(pgid_kill),
		PROC_TESTS(fds),
		PROC_TESTS(sigmask),
		PROC_TESTS(many),
		PROC_TESTS(orphans),
		PROC_TESTS(orphan_busy),
		PROC_TESTS(orphan_many),
		PROC_TESTS(orphan_no_thread),
		cmocka_unit_test(orphan_no_runtime),
		cmocka_unit_test(orphan_fork),
		PROC_TESTS(host_sigchld),
		PROC_TESTS(foreign_thread),
		RGIO_TESTS(foreign_wait_counts),
		PROC_TESTS(pdeathsig),
		PROC_TESTS(modes),
		cmocka_unit_test(clone_pidfd_refused),
		cmocka_unit_test(no_runtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
