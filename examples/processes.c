// SPDX-License-Identifier: MIT
/*
 * processes — the seed's os/exec chapter: run a command for its output,
 * kill it when a context ends, stream its stdout and stderr while it
 * runs, feed its stdin, read its exit status, kill a process group,
 * choose its directory, environment and extra fds, reap it from a
 * goroutine.
 *
 *     out, err := exec.Command("echo", "hello").Output()
 *     ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
 *     err = exec.CommandContext(ctx, "sleep", "10").Run() // killed
 *
 * rg_command is exec.Command; the context goes to the call that waits
 * (rg_cmd_run, rg_cmd_wait, rg_cmd_output), which kills the child when
 * it ends and returns the context's error once the child is reaped.
 * Results are the exit status (128 + signal if one ended it) or -errno.
 */
#include <ringo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A NULL-terminated argv for `sh -c script` (static storage). */
static char **shell(const char *script)
{
	static char *argv[4];
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = (char *)script;
	argv[3] = NULL;
	return argv;
}

/* io.Copy of a pipe into a prefixed line buffer, on its own goroutine. */
struct copier {
	int fd;
	char buf[256];
	size_t n;
	rg_waitgroup_t *wg;
};

static void copy_pipe(void *arg)
{
	struct copier *c = arg;
	ssize_t k;
	while ((k = rg_read(c->fd, c->buf + c->n, sizeof(c->buf) - 1 - c->n, NULL)) > 0)
		c->n += (size_t)k;
	c->buf[c->n] = 0;
	rg_wg_done(c->wg);
}

struct bg {
	rg_cmd_t *cmd;
	rg_waitgroup_t wg;
};

static void reap(void *arg)
{
	struct bg *b = arg;
	int code = rg_cmd_wait(b->cmd, NULL); /* go func() { cmd.Wait() }() */
	printf("background child exited: %d\n", code);
	rg_cmd_free(b->cmd);
	rg_wg_done(&b->wg);
}

static int run(void *arg)
{
	(void)arg;
	char *out;
	size_t len;

	/* 2) Output: run, wait, return stdout. */
	char *const echo[] = {"echo", "hello", "from", "a", "child", NULL};
	rg_cmd_t *cmd = rg_command("echo", echo);
	int code = rg_cmd_output(cmd, &out, &len, NULL);
	printf("Output: %s", out);
	printf("exit %d\n", code);
	free(out);
	rg_cmd_free(cmd);

	/* CommandContext: sleep 10 killed when the timeout passes. */
	rg_ctx_t *ctx = rg_ctx_with_timeout(rg_ctx_background(), 50 * RG_MILLISECOND);
	char *const sleep10[] = {"sleep", "10", NULL};
	cmd = rg_command("sleep", sleep10);
	code = rg_cmd_run(cmd, ctx);
	printf("sleep 10 with a 50 ms timeout: %s, killed by signal %d\n",
	       code == -ETIMEDOUT ? "context deadline exceeded" : "?", rg_cmd_exit_signal(cmd));
	rg_cmd_free(cmd);
	rg_ctx_cancel(ctx);
	rg_ctx_release(ctx);

	/* 3) Streaming: stdout and stderr consumed concurrently. */
	cmd = rg_command("sh", shell("echo to stdout; echo to stderr >&2"));
	rg_waitgroup_t wg = {0};
	struct copier o = {.fd = rg_cmd_stdout_pipe(cmd), .wg = &wg};
	struct copier e = {.fd = rg_cmd_stderr_pipe(cmd), .wg = &wg};
	rg_cmd_start(cmd);
	rg_wg_add(&wg, 2);
	rg_go(copy_pipe, &o);
	rg_go(copy_pipe, &e);
	rg_wg_wait(&wg);
	code = rg_cmd_wait(cmd, NULL);
	printf("streamed: stdout %sstreamed: stderr %sexit %d\n", o.buf, e.buf, code);
	rg_cmd_free(cmd);

	/* 4) Feeding stdin through a pipe. */
	char *const tr[] = {"tr", "a-z", "A-Z", NULL};
	cmd = rg_command("tr", tr);
	int in = rg_cmd_stdin_pipe(cmd);
	int up = rg_cmd_stdout_pipe(cmd);
	rg_cmd_start(cmd);
	rg_write(in, "shout this\n", 11, NULL);
	rg_cmd_close_stdin(cmd); /* EOF */
	char buf[64] = {0};
	size_t n = 0;
	ssize_t k;
	while ((k = rg_read(up, buf + n, sizeof(buf) - 1 - n, NULL)) > 0)
		n += (size_t)k;
	rg_cmd_wait(cmd, NULL);
	printf("tr said: %s", buf);
	rg_cmd_free(cmd);

	/* 5) Exit status: ProcessState. */
	cmd = rg_command("sh", shell("exit 3"));
	code = rg_cmd_run(cmd, NULL);
	printf("exit status %d, ExitCode() %d\n", code, rg_cmd_exit_code(cmd));
	rg_cmd_free(cmd);
	char *const missing[] = {"no-such-program", NULL};
	cmd = rg_command("no-such-program", missing);
	code = rg_cmd_start(cmd);
	printf("start of a missing program: %s\n", strerror(-code));
	rg_cmd_free(cmd);

	/* 6) and 14) Process groups: the shell and its grandchild die
	 * together. */
	cmd = rg_command("sh", shell("sleep 10 & sleep 10; wait"));
	rg_cmd_set_pgid(cmd, true);
	rg_cmd_start(cmd);
	rg_cmd_signal(cmd, SIGTERM); /* syscall.Kill(-pgid, SIGTERM) */
	code = rg_cmd_wait(cmd, NULL);
	printf("group signalled: exit %d (128 + SIGTERM)\n", code);
	rg_cmd_free(cmd);

	/* 7) Dir and Env, as os.StartProcess's ProcAttr. */
	char *const envp[] = {"PATH=/usr/bin:/bin", "GREETING=hi", NULL};
	cmd = rg_command("sh", shell("echo \"$GREETING from $(pwd)\""));
	rg_cmd_set_dir(cmd, "/");
	rg_cmd_set_env(cmd, envp);
	rg_cmd_output(cmd, &out, &len, NULL);
	printf("%s", out);
	free(out);
	rg_cmd_free(cmd);

	/* 8) ExtraFiles: our pipe is the child's fd 3. */
	int p[2];
	if (pipe(p) < 0)
		return 1;
	cmd = rg_command("sh", shell("echo written to fd 3 >&3"));
	printf("extra fd is the child's %d\n", rg_cmd_add_fd(cmd, p[1]));
	rg_cmd_run(cmd, NULL);
	rg_cmd_free(cmd);
	close(p[1]);
	memset(buf, 0, sizeof(buf));
	n = (size_t)read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	printf("parent read: %s", buf);

	/* 11) Reaping from a goroutine: no zombie. */
	struct bg b = {.cmd = rg_command("true", NULL)};
	rg_cmd_start(b.cmd);
	rg_wg_add(&b.wg, 1);
	rg_go(reap, &b);
	rg_wg_wait(&b.wg);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
