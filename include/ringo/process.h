// SPDX-License-Identifier: MIT
/* Part of <ringo.h>; include that instead.
 *
 * Processes, as Go's os/exec.
 *
 *     char *const argv[] = {"sort", "-r", NULL};
 *     rg_cmd_t *c = rg_command("sort", argv);
 *     char *out; size_t len;
 *     int code = rg_cmd_output(c, &out, &len, ctx);  // start, read, wait
 *     if (code < 0) ...-errno: not started, or ctx ended (killed, reaped)
 *     else ...code: the exit status, 128 + signal if one killed it
 *     free(out); rg_cmd_free(c);
 *
 * Spawning copies nothing of the parent's memory: the child is made by
 * clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) on a small stack of its
 * own and runs only raw system calls until it execs (where clone3 is
 * refused, as some seccomp profiles do, the same child by clone(2) with
 * CLONE_PIDFD; posix_spawn plus pidfd_open last, see proc/spawn.c for
 * its one gap).  fork() is never called.  The
 * child gets exactly the fds it is given: stdin, stdout, stderr (unset:
 * /dev/null) and those of rg_cmd_add_fd as 3, 4, ...; every other fd is
 * closed in it, even one the program forgot to mark close-on-exec.  Its
 * signal mask is empty and every signal with a handler is back to its
 * default; ignored signals stay ignored, as across exec(2) (nohup).  A
 * program that cannot be executed (missing, not executable, a bad
 * directory) fails rg_cmd_start with that exec error (-ENOENT,
 * -EACCES, ...); it is never a child that exits 127.
 *
 * Waiting parks the goroutine on the child's pidfd (IORING_OP_WAITID on
 * the io_uring backend, readiness then waitid(P_PIDFD) elsewhere): no
 * thread per child, and nothing depends on SIGCHLD.  A host program's
 * own SIGCHLD handler may run; one that reaps every child
 * (waitpid(-1, ...)) steals the exit status of ringo's children too:
 * rg_cmd_wait still returns it from the pidfd on Linux 6.15 and later
 * (PIDFD_INFO_EXIT), and -ECHILD on older kernels.  A host that reaps
 * only its own pids breaks nothing.
 *
 * No zombies: rg_cmd_free of a child that was started and never waited
 * for does not kill it; it joins an orphan queue (as Tokio's) and is
 * reaped as soon as it exits by one reaper thread of ringo's, made by
 * the first orphan, asleep on their pidfds, gone when the queue is
 * empty.  That works with every P busy, and with no runtime at all.
 *
 * Contexts: when the ctx given to rg_cmd_wait (run, output) ends, the
 * child gets the cancel signal (SIGKILL unless rg_cmd_set_cancel_signal
 * said otherwise: to its whole group with rg_cmd_set_pgid); if it still
 * runs after the wait delay (rg_cmd_set_wait_delay, 0: none), SIGKILL
 * and the command's pipes are closed.  The call returns the ctx error
 * (-ECANCELED, -ETIMEDOUT) only once the child has been reaped.
 *
 * Pipes: the parent's ends are close-on-exec, and non-blocking on the
 * epoll backend (as ringo's sockets); read and write them with rg_read
 * and rg_write.  rg_cmd_combined_output gives the child one pipe as both
 * stdout and stderr (order kept, as Go when both are one writer), so a
 * child that fills both cannot deadlock it; rg_cmd_output reads stdout
 * while stderr goes where it was set (unset: /dev/null).  Output is
 * bounded by memory only.
 *
 * Calls on one command are for one goroutine at a time, except
 * rg_cmd_signal, rg_cmd_pid and rg_cmd_pidfd, which any goroutine may
 * call while another waits.
 */
#ifndef RINGO_PROCESS_H
#define RINGO_PROCESS_H

typedef struct rg_cmd rg_cmd_t;

/* exec.Command(name, argv...): name without '/' is looked up in PATH
 * when the command starts; argv is NULL-terminated, argv[0] the program
 * name (NULL or empty argv: {name}).  argv is copied.  NULL with errno
 * ENOMEM, or EINVAL for a NULL or empty name.  Any thread. */
RG_API rg_cmd_t *rg_command(const char *name, char *const argv[]);

/* cmd.Env: envp (NULL-terminated "K=V" strings) is copied; NULL
 * inherits the environment (the default).  cmd.Dir: the child's working
 * directory (copied; NULL: the parent's). */
RG_API void rg_cmd_set_env(rg_cmd_t *c, char *const envp[]);
RG_API void rg_cmd_set_dir(rg_cmd_t *c, const char *dir);

/* cmd.Stdin/Stdout/Stderr = f: the child's fd 0, 1 or 2 is a copy of fd
 * (which stays the caller's: the command never closes it); -1 (the
 * default) is /dev/null.  Replaces a pipe asked for before. */
RG_API void rg_cmd_set_stdin(rg_cmd_t *c, int fd);
RG_API void rg_cmd_set_stdout(rg_cmd_t *c, int fd);
RG_API void rg_cmd_set_stderr(rg_cmd_t *c, int fd);

/* StdinPipe, StdoutPipe, StderrPipe: a pipe to the child's fd 0, 1 or 2;
 * returns the parent's end, or -errno (-EBUSY after start).  The command
 * owns it: rg_cmd_close_stdin sends EOF early, wait closes the rest;
 * never rg_close them yourself. */
RG_API int rg_cmd_stdin_pipe(rg_cmd_t *c);
RG_API int rg_cmd_stdout_pipe(rg_cmd_t *c);
RG_API int rg_cmd_stderr_pipe(rg_cmd_t *c);
RG_API void rg_cmd_close_stdin(rg_cmd_t *c);

/* ExtraFiles: the child sees a copy of fd as 3, 4, ... in the order of
 * the calls; returns that number, or -errno (-EBADF, -EBUSY after
 * start, -ENOMEM).  fd stays the caller's. */
RG_API int rg_cmd_add_fd(rg_cmd_t *c, int fd);

/* Setpgid: the child leads a process group of its own, and the
 * command's signals (rg_cmd_signal, the cancel signal, the wait delay's
 * SIGKILL) go to the whole group. */
RG_API void rg_cmd_set_pgid(rg_cmd_t *c, bool own_group);

/* Pdeathsig: sig is sent to the child when the thread that started it
 * exits (prctl(PR_SET_PDEATHSIG); the runtime's threads live as long as
 * the runtime).  0: none.  Not applied on the last fallback
 * (posix_spawn: no attribute for it). */
RG_API void rg_cmd_set_pdeathsig(rg_cmd_t *c, int sig);

/* Cmd.Cancel, Cmd.WaitDelay: what the child gets when wait's ctx ends
 * (default SIGKILL), and how long after that it may run before SIGKILL
 * and the pipes are closed (d <= 0: no delay, the default). */
RG_API void rg_cmd_set_cancel_signal(rg_cmd_t *c, int sig);
RG_API void rg_cmd_set_wait_delay(rg_cmd_t *c, int64_t d);

/* Start: 0, or -errno: the program's exec error (-ENOENT, -EACCES,
 * -ENOEXEC, ...), the directory's (-ENOENT, -ENOTDIR), -EBUSY if started
 * already, -EMFILE, -ENOMEM.  After a failure the command may be freed
 * only.  Any thread. */
RG_API int rg_cmd_start(rg_cmd_t *c);

/* Wait: parks until the child exits and reaps it, then closes the
 * command's remaining pipes.  >= 0: the exit code, or 128 + the signal
 * number that ended it; < 0: -EINVAL (not started, or waited already),
 * the ctx error once the child, signalled as above, was reaped, or
 * -ECHILD (its status was reaped by someone else, before Linux 6.15).
 * Goroutine or foreign thread. */
RG_API int rg_cmd_wait(rg_cmd_t *c, rg_ctx_t *ctx);

/* Run: start, then wait; start's error or wait's result. */
RG_API int rg_cmd_run(rg_cmd_t *c, rg_ctx_t *ctx);

/* Output, CombinedOutput: start with stdout (combined: stdout and
 * stderr, one pipe) read into *out, then wait; results as rg_cmd_run.
 * *out is malloc'd and NUL-terminated (the NUL not counted in *len),
 * what was read even when the result is < 0 after start; NULL (and *len
 * 0) when start failed or memory ran out (-ENOMEM, the child killed and
 * reaped).  The ctx bounds the reading and the wait alike. */
RG_API int rg_cmd_output(rg_cmd_t *c, char **out, size_t *len, rg_ctx_t *ctx);
RG_API int rg_cmd_combined_output(rg_cmd_t *c, char **out, size_t *len, rg_ctx_t *ctx);

/* Process.Pid, the child's pidfd (the command's: do not close it), -1
 * before start.  Any goroutine, also while another waits. */
RG_API int rg_cmd_pid(const rg_cmd_t *c);
RG_API int rg_cmd_pidfd(const rg_cmd_t *c);

/* Process.Signal: sends sig (0: only checks) to the child, or to its
 * group with rg_cmd_set_pgid, through its pidfd (no pid reuse race).
 * 0, -ESRCH once it was reaped, -EINVAL before start or for a bad sig. */
RG_API int rg_cmd_signal(rg_cmd_t *c, int sig);

/* ProcessState: after wait, the exit code (-1 if a signal ended it or
 * it was not waited for) and the signal that ended it (0 if none). */
RG_API int rg_cmd_exit_code(const rg_cmd_t *c);
RG_API int rg_cmd_exit_signal(const rg_cmd_t *c);

/* Frees the command and closes the fds it owns.  A child still running
 * is not killed: the runtime reaps it when it exits (see the top). */
RG_API void rg_cmd_free(rg_cmd_t *c);

#endif
