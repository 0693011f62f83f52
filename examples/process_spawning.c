// SPDX-License-Identifier: MIT
/*
 * process_spawning — Go's os/exec: run a program, capture its output,
 * feed its input, read its exit status, and kill it when a context
 * ends.
 *
 *     cmd := exec.Command("ls", "-la", "/tmp")
 *     out, err := cmd.Output() // runs, waits, returns stdout
 *
 *     ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
 *     defer cancel()
 *     cmd := exec.CommandContext(ctx, "sleep", "10")
 *     err := cmd.Run()         // killed when ctx.Done() triggers
 *
 * rg_command(name, argv) is exec.Command; rg_cmd_output, rg_cmd_run,
 * rg_cmd_start and rg_cmd_wait are Output, Run, Start and Wait.  Go's
 * CommandContext is the ctx passed to the call that waits.  Waiting
 * parks the goroutine on the child's pidfd: no thread per child.
 * Results: >= 0 is the exit code (128 + the signal that killed it),
 * < 0 an -errno (the program could not be started, or the ctx ended).
 */
#include <ringo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run(void *arg)
{
	(void)arg;

	/* Output: run, wait, and take what it wrote on stdout. */
	char *const echo_argv[] = {"echo", "hello from a child process", NULL};
	rg_cmd_t *cmd = rg_command("echo", echo_argv);
	char *out;
	size_t len;
	int code = rg_cmd_output(cmd, &out, &len, NULL);
	printf("echo exited %d and wrote: %s", code, out ? out : "(nothing)\n");
	free(out);
	rg_cmd_free(cmd);

	/* StdinPipe and StdoutPipe: write to sort while it runs, read what
	 * it sorted. */
	char *const sort_argv[] = {"sort", NULL};
	cmd = rg_command("sort", sort_argv);
	int in = rg_cmd_stdin_pipe(cmd), from = rg_cmd_stdout_pipe(cmd);
	if (in < 0 || from < 0 || rg_cmd_start(cmd) != 0) {
		printf("sort: could not start\n");
		return 1;
	}
	const char *words = "cherry\napple\nbanana\n";
	rg_write(in, words, strlen(words), NULL);
	rg_cmd_close_stdin(cmd); /* EOF: sort may now print */
	char buf[256];
	size_t got = 0;
	ssize_t n;
	while ((n = rg_read(from, buf + got, sizeof(buf) - 1 - got, NULL)) > 0)
		got += (size_t)n;
	buf[got] = 0;
	code = rg_cmd_wait(cmd, NULL);
	printf("sort exited %d:\n%s", code, buf);
	rg_cmd_free(cmd);

	/* The exit status of a program that fails. */
	char *const sh_argv[] = {"sh", "-c", "exit 3", NULL};
	cmd = rg_command("sh", sh_argv);
	printf("sh -c 'exit 3': exit code %d\n", rg_cmd_run(cmd, NULL));
	rg_cmd_free(cmd);

	/* A program that does not exist fails to start, with exec's error. */
	char *const none_argv[] = {"no-such-program-here", NULL};
	cmd = rg_command("no-such-program-here", none_argv);
	code = rg_cmd_run(cmd, NULL);
	printf("no-such-program-here: %s\n", code == -ENOENT ? "not found (-ENOENT)" : "unexpected");
	rg_cmd_free(cmd);

	/* CommandContext: sleep 10, but the context ends after 50 ms; the
	 * child is killed and reaped before the call returns. */
	rg_ctx_t *ctx = rg_ctx_with_timeout(rg_ctx_background(), 50 * RG_MILLISECOND);
	if (!ctx)
		return 1;
	char *const sleep_argv[] = {"sleep", "10", NULL};
	cmd = rg_command("sleep", sleep_argv);
	code = rg_cmd_run(cmd, ctx);
	printf("sleep 10 with a 50 ms timeout: %s, killed by signal %d\n",
	       code == -ETIMEDOUT ? "deadline exceeded" : "unexpected", rg_cmd_exit_signal(cmd));
	rg_cmd_free(cmd);
	rg_ctx_cancel(ctx); /* defer cancel() */
	rg_ctx_release(ctx);
	return 0;
}

int main(void)
{
	return rg_main(run, NULL);
}
