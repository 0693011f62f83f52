// SPDX-License-Identifier: MIT
/*
 * cmd.c — rg_cmd_t, Go's exec.Cmd: the description of a command, its
 * pipes, start (spawn.c), wait with its context rules (reap.c), output.
 *
 * Lifetime: NEW (setters, pipes) -> start -> STARTED -> wait -> DONE;
 * a failed start -> FAILED (only free remains).  The command owns the
 * parent's ends of its pipes (closed by wait, or by free) and, until
 * start, the child's ends (closed by start once the child has its
 * copies).  Fds the caller gave (set_stdin..., add_fd) are never
 * closed.
 *
 * Wait and the context (Go's Cmd.Cancel and WaitDelay): the child is
 * waited for with ctx; if ctx ends first, the cancel signal goes out
 * and the child is waited for again, without ctx but for at most the
 * wait delay when one is set; past it, SIGKILL, the pipes are closed,
 * and the wait goes on to the end.  The ctx error is returned once the
 * child has been reaped: a wait never leaves a running child behind.
 *
 * Output: stdout is one pipe read by the calling goroutine until EOF,
 * then the child is waited for.  Combined output makes that pipe the
 * child's stdout and stderr both, as Go does when both are one writer:
 * the bytes keep their order, and a child that writes to both at once
 * cannot fill a pipe nobody reads.  Rejected: two pipes read by two
 * goroutines and merged (the interleaving would be lost).
 */
#include "proc_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"

#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2)
#endif

extern char **environ;

enum { CMD_NEW, CMD_STARTED, CMD_DONE, CMD_FAILED };

#define MAX_EXTRA (RG_SPAWN_MAX_FDS - 3)

struct rg_cmd {
	char *name;
	char **argv;
	char **envp;            /* NULL: inherit */
	char *dir;
	int user_fd[3];         /* the caller's, or -1 */
	int par[3];             /* our end of a pipe, or -1 */
	int chi[3];             /* the child's end, until start */
	bool combined;          /* stderr is stdout's pipe */
	int *extra;
	int nextra;
	bool pgid;
	int pdeathsig;
	int cancel_sig;
	int64_t wait_delay;
	int state;
	_Atomic bool reaped;
	int pid, pidfd;
	int status;             /* wait(2) status; -1 unknown (-ECHILD) */
};

/* ---- building --------------------------------------------------------- */

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* A deep copy of a NULL-terminated vector; first: an element put before
 * v's (NULL: none). */
static char **copy_strv(char *const *v, const char *first)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	size_t k = first ? 1 : 0;
	char **c = calloc(n + k + 1, sizeof(*c));
	if (!c)
		return NULL;
	if (first && !(c[0] = strdup(first)))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (!(c[k + i] = strdup(v[i])))
			goto fail;
	return c;
fail:
	free_strv(c);
	return NULL;
}

rg_cmd_t *rg_command(const char *name, char *const argv[])
{
	if (!name || !*name) {
		errno = EINVAL;
		return NULL;
	}
	rg_cmd_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->name = strdup(name);
	c->argv = argv && argv[0] ? copy_strv(argv, NULL) : copy_strv(NULL, name);
	if (!c->name || !c->argv) {
		free(c->name);
		free_strv(c->argv);
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	for (int i = 0; i < 3; i++)
		c->user_fd[i] = c->par[i] = c->chi[i] = -1;
	c->pid = c->pidfd = -1;
	c->cancel_sig = SIGKILL;
	c->status = -1;
	rg__orphan_reap();
	return c;
}

static void check(const rg_cmd_t *c, const char *fn)
{
	if (!c)
		rg_panic("%s: NULL command", fn);
}

/* Setters after start are programmer errors, as Go's "exec: already
 * started" for the pipes; the plain fields are simply too late. */
static bool settable(const rg_cmd_t *c, const char *fn)
{
	check(c, fn);
	return c->state == CMD_NEW;
}

void rg_cmd_set_env(rg_cmd_t *c, char *const envp[])
{
	if (!settable(c, "rg_cmd_set_env"))
		return;
	char **e = envp ? copy_strv(envp, NULL) : NULL;
	if (envp && !e)
		rg_panic("rg_cmd_set_env: out of memory");
	free_strv(c->envp);
	c->envp = e;
}

void rg_cmd_set_dir(rg_cmd_t *c, const char *dir)
{
	if (!settable(c, "rg_cmd_set_dir"))
		return;
	char *d = dir ? strdup(dir) : NULL;
	if (dir && !d)
		rg_panic("rg_cmd_set_dir: out of memory");
	free(c->dir);
	c->dir = d;
}

/* Our end of a pipe: someone may be blocked on it (rg_close ends that). */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		rg_close(*fd);
	*fd = -1;
}

/* A fd no request can be in flight on (the child's pipe ends, the pidfd
 * once waited for): close(2) without the ring's round trip, after the
 * epoll backend forgets it. */
static void close_plain(int *fd)
{
	if (*fd >= 0) {
		if (rg__io_backend() == RG_IO_EPOLL)
			rg__epoll_forget(*fd);
		close(*fd);
	}
	*fd = -1;
}

static void drop_pipe(rg_cmd_t *c, int i)
{
	close_fd(&c->par[i]);
	close_plain(&c->chi[i]);
}

static void set_std(rg_cmd_t *c, int i, int fd, const char *fn)
{
	if (!settable(c, fn))
		return;
	drop_pipe(c, i);
	if (i == 2)
		c->combined = false;
	c->user_fd[i] = fd < 0 ? -1 : fd;
}

void rg_cmd_set_stdin(rg_cmd_t *c, int fd) { set_std(c, 0, fd, "rg_cmd_set_stdin"); }
void rg_cmd_set_stdout(rg_cmd_t *c, int fd) { set_std(c, 1, fd, "rg_cmd_set_stdout"); }
void rg_cmd_set_stderr(rg_cmd_t *c, int fd) { set_std(c, 2, fd, "rg_cmd_set_stderr"); }

static int make_pipe(rg_cmd_t *c, int i)
{
	check(c, "rg_cmd_*_pipe");
	if (c->state != CMD_NEW)
		return -EBUSY;
	if (c->par[i] >= 0)
		return -EBUSY; /* Go: "Stdout already set" */
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	int mine = i == 0 ? p[1] : p[0];
	rg__io_newfd(mine);
	/* Non-blocking where the backend waits for readiness (as ringo's
	 * sockets are); io_uring waits for a blocking pipe itself. */
	if (rg__io_backend() == RG_IO_EPOLL)
		fcntl(mine, F_SETFL, fcntl(mine, F_GETFL) | O_NONBLOCK);
	c->user_fd[i] = -1;
	c->par[i] = mine;
	c->chi[i] = i == 0 ? p[0] : p[1];
	return mine;
}

int rg_cmd_stdin_pipe(rg_cmd_t *c) { return make_pipe(c, 0); }
int rg_cmd_stdout_pipe(rg_cmd_t *c) { return make_pipe(c, 1); }
int rg_cmd_stderr_pipe(rg_cmd_t *c) { return make_pipe(c, 2); }

void rg_cmd_close_stdin(rg_cmd_t *c)
{
	check(c, "rg_cmd_close_stdin");
	close_fd(&c->par[0]);
}

int rg_cmd_add_fd(rg_cmd_t *c, int fd)
{
	check(c, "rg_cmd_add_fd");
	if (c->state != CMD_NEW)
		return -EBUSY;
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (c->nextra == MAX_EXTRA)
		return -EMFILE;
	int *p = realloc(c->extra, (size_t)(c->nextra + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->extra = p;
	c->extra[c->nextra++] = fd;
	return 2 + c->nextra;
}

void rg_cmd_set_pgid(rg_cmd_t *c, bool own_group)
{
	if (settable(c, "rg_cmd_set_pgid"))
		c->pgid = own_group;
}

void rg_cmd_set_pdeathsig(rg_cmd_t *c, int sig)
{
	if (settable(c, "rg_cmd_set_pdeathsig"))
		c->pdeathsig = sig;
}

void rg_cmd_set_cancel_signal(rg_cmd_t *c, int sig)
{
	check(c, "rg_cmd_set_cancel_signal");
	c->cancel_sig = sig;
}

void rg_cmd_set_wait_delay(rg_cmd_t *c, int64_t d)
{
	check(c, "rg_cmd_set_wait_delay");
	c->wait_delay = d > 0 ? d : 0;
}

/* ---- start ------------------------------------------------------------ */

static bool executable(const char *path, int *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		return false;
	}
	if (S_ISREG(st.st_mode) && access(path, X_OK) == 0)
		return true;
	*err = EACCES; /* there, but not something to run */
	return false;
}

/* exec.LookPath: name has no '/'; the first executable regular file
 * in PATH (unset: /usr/local/bin:/usr/bin:/bin).  Relative entries
 * (and empty ones, "the current directory") are skipped, as Go refuses
 * them since 1.19.  malloc'd path, or NULL with *err. */
static char *look_path(const char *name, int *err)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	size_t nlen = strlen(name);
	*err = ENOENT;
	while (*path) {
		const char *end = strchr(path, ':');
		size_t dlen = end ? (size_t)(end - path) : strlen(path);
		if (dlen && path[0] == '/') {
			char *p = malloc(dlen + nlen + 2);
			if (!p) {
				*err = ENOMEM;
				return NULL;
			}
			memcpy(p, path, dlen);
			p[dlen] = '/';
			memcpy(p + dlen + 1, name, nlen + 1);
			if (executable(p, err))
				return p;
			free(p);
		}
		if (!end)
			break;
		path = end + 1;
	}
	return NULL;
}

int rg_cmd_start(rg_cmd_t *c)
{
	check(c, "rg_cmd_start");
	rg__orphan_reap();
	if (c->state != CMD_NEW)
		return -EBUSY;
	int err = 0, devnull = -1, r;
	char *path = strchr(c->name, '/') ? strdup(c->name) : look_path(c->name, &err);
	if (!path) {
		r = err ? -err : -ENOMEM;
		goto fail;
	}
	int fds[RG_SPAWN_MAX_FDS];
	for (int i = 0; i < 3; i++) {
		fds[i] = c->chi[i] >= 0 ? c->chi[i] : c->user_fd[i];
		if (i == 2 && c->combined)
			fds[2] = fds[1];
		if (fds[i] < 0) {
			if (devnull < 0 && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
				r = -errno;
				free(path);
				goto fail;
			}
			fds[i] = devnull;
		}
	}
	for (int j = 0; j < c->nextra; j++)
		fds[3 + j] = c->extra[j];
	rg_spawn_t s = {
		.path = path,
		.argv = c->argv,
		.envp = c->envp ? c->envp : environ,
		.dir = c->dir,
		.fds = fds,
		.nfds = 3 + c->nextra,
		.pgid = c->pgid,
		.pdeathsig = c->pdeathsig,
	};
	/* The calling thread is suspended until the child execs (a
	 * fraction of a millisecond) and keeps its P, as Go's forkExec
	 * does: handing the P off (rg_syscall_enter) cost more than it
	 * saved, sequentially and 16 at once (tests/bench/exec.sh). */
	r = rg__spawn(&s, &c->pid, &c->pidfd);
	if (r >= 0)
		rg__io_newfd(c->pidfd);
	free(path);
	if (devnull >= 0)
		close(devnull);
	for (int i = 0; i < 3; i++)
		close_plain(&c->chi[i]);
	if (r < 0)
		goto fail;
	c->state = CMD_STARTED;
	return 0;
fail:
	c->state = CMD_FAILED;
	for (int i = 0; i < 3; i++)
		drop_pipe(c, i);
	return r;
}

/* ---- signals, wait ---------------------------------------------------- */

int rg_cmd_signal(rg_cmd_t *c, int sig)
{
	check(c, "rg_cmd_signal");
	if (c->pidfd < 0 || sig < 0 || sig > 64)
		return -EINVAL;
	if (atomic_load(&c->reaped))
		return -ESRCH;
	if (c->pgid) {
		/* The group is the child's pid until it is reaped (a zombie
		 * leader keeps its pid); through the pidfd from Linux 6.9. */
		if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, PIDFD_SIGNAL_PROCESS_GROUP) == 0)
			return 0;
		if (errno != EINVAL)
			return -errno;
		return kill(-c->pid, sig) == 0 ? 0 : -errno;
	}
	return syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) == 0 ? 0 : -errno;
}

static void close_pipes(rg_cmd_t *c)
{
	for (int i = 0; i < 3; i++)
		close_fd(&c->par[i]);
}

int rg_cmd_wait(rg_cmd_t *c, rg_ctx_t *ctx)
{
	check(c, "rg_cmd_wait");
	rg__orphan_reap();
	if (c->state != CMD_STARTED)
		return -EINVAL;
	int st = -1, ctx_err = 0;
	int r = rg__proc_wait(c->pidfd, ctx, &st);
	if (r < 0 && r == rg_ctx_err(ctx)) {
		ctx_err = r;
		if (c->cancel_sig)
			rg_cmd_signal(c, c->cancel_sig);
		if (c->wait_delay > 0 && c->cancel_sig != SIGKILL) {
			rg_ctx_t *t = rg_ctx_with_timeout(rg_ctx_background(), c->wait_delay);
			r = t ? rg__proc_wait(c->pidfd, t, &st) : -ETIMEDOUT;
			if (t) {
				rg_ctx_cancel(t);
				rg_ctx_release(t);
			}
			if (r == -ETIMEDOUT) {
				rg_cmd_signal(c, SIGKILL);
				close_pipes(c);
			}
		} else {
			r = -ETIMEDOUT;
		}
		if (r == -ETIMEDOUT)
			r = rg__proc_wait(c->pidfd, NULL, &st);
	}
	if (r == -ECHILD) {
		st = -1;
		r = 0;
		ctx_err = ctx_err ? ctx_err : -ECHILD;
	}
	if (r < 0)
		return r; /* not reaped (out of memory in the ring): may retry */
	c->status = st;
	atomic_store(&c->reaped, true);
	c->state = CMD_DONE;
	close_pipes(c);
	if (ctx_err)
		return ctx_err;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int rg_cmd_run(rg_cmd_t *c, rg_ctx_t *ctx)
{
	int r = rg_cmd_start(c);
	return r < 0 ? r : rg_cmd_wait(c, ctx);
}

static int output(rg_cmd_t *c, char **out, size_t *len, rg_ctx_t *ctx, bool combined)
{
	check(c, combined ? "rg_cmd_combined_output" : "rg_cmd_output");
	if (!out || !len)
		rg_panic("rg_cmd_output: NULL out or len");
	*out = NULL;
	*len = 0;
	if (c->state != CMD_NEW)
		return -EBUSY;
	if (c->par[1] >= 0 || c->user_fd[1] >= 0 ||
	    (combined && (c->par[2] >= 0 || c->user_fd[2] >= 0)))
		return -EINVAL; /* Go: "Stdout already set" */
	int fd = make_pipe(c, 1);
	if (fd < 0)
		return fd;
	c->combined = combined;
	int r = rg_cmd_start(c);
	if (r < 0)
		return r;
	size_t n = 0, cap = 0;
	char *buf = NULL;
	for (;;) {
		if (cap - n < 4096) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *p = ncap > cap ? realloc(buf, ncap + 1) : NULL;
			if (!p) {
				/* Out of memory: no half answer. */
				free(buf);
				rg_cmd_signal(c, SIGKILL);
				close_fd(&c->par[1]);
				rg_cmd_wait(c, NULL);
				return -ENOMEM;
			}
			buf = p;
			cap = ncap;
		}
		ssize_t k = rg_read(fd, buf + n, cap - n, ctx);
		if (k <= 0) {
			/* EOF, or ctx ended (wait below kills), or an error:
			 * closing our end makes a writer fail, not block. */
			if (k < 0)
				close_fd(&c->par[1]);
			break;
		}
		n += (size_t)k;
	}
	r = rg_cmd_wait(c, ctx);
	buf[n] = 0;
	*out = buf;
	*len = n;
	return r;
}

int rg_cmd_output(rg_cmd_t *c, char **out, size_t *len, rg_ctx_t *ctx)
{
	return output(c, out, len, ctx, false);
}

int rg_cmd_combined_output(rg_cmd_t *c, char **out, size_t *len, rg_ctx_t *ctx)
{
	return output(c, out, len, ctx, true);
}

/* ---- state ------------------------------------------------------------ */

int rg_cmd_pid(const rg_cmd_t *c)
{
	check(c, "rg_cmd_pid");
	return c->pid;
}

int rg_cmd_pidfd(const rg_cmd_t *c)
{
	check(c, "rg_cmd_pidfd");
	return c->pidfd;
}

int rg_cmd_exit_code(const rg_cmd_t *c)
{
	check(c, "rg_cmd_exit_code");
	if (c->state != CMD_DONE || c->status < 0 || !WIFEXITED(c->status))
		return -1;
	return WEXITSTATUS(c->status);
}

int rg_cmd_exit_signal(const rg_cmd_t *c)
{
	check(c, "rg_cmd_exit_signal");
	if (c->state != CMD_DONE || c->status < 0 || !WIFSIGNALED(c->status))
		return 0;
	return WTERMSIG(c->status);
}

void rg_cmd_free(rg_cmd_t *c)
{
	if (!c)
		return;
	for (int i = 0; i < 3; i++)
		drop_pipe(c, i);
	if (c->state == CMD_STARTED && !atomic_load(&c->reaped))
		rg__orphan_add(c->pid, c->pidfd);
	else
		close_plain(&c->pidfd);
	free(c->name);
	free_strv(c->argv);
	free_strv(c->envp);
	free(c->dir);
	free(c->extra);
	free(c);
	rg__orphan_reap();
}
