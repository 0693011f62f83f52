// SPDX-License-Identifier: MIT
/*
 * proc_impl.h — what the process layer's files share: making a child
 * (spawn.c), waiting for one and reaping orphans (reap.c), for the
 * rg_cmd calls (cmd.c).
 *
 * A child is always held by its pidfd: waits, signals and the orphan
 * queue go through it, never through a pid that could be reused.
 */
#ifndef RG_PROC_IMPL_H
#define RG_PROC_IMPL_H

#include <signal.h>
#include <stdbool.h>

#include "rt.h"

/* The most fds a child gets: 0, 1, 2 and the extra ones. */
#define RG_SPAWN_MAX_FDS 256

/* One spawn's request. */
typedef struct rg_spawn {
	const char *path;          /* resolved: contains a '/' */
	char *const *argv;
	char *const *envp;         /* never NULL (environ when inherited) */
	const char *dir;           /* NULL: the parent's */
	const int *fds;            /* child fd i is a copy of fds[i] */
	int nfds;                  /* 3 + extra, <= RG_SPAWN_MAX_FDS */
	bool pgid;                 /* setpgid(0, 0) */
	int pdeathsig;             /* 0: none */
} rg_spawn_t;

/*
 * Makes the child: *pid and *pidfd (close-on-exec) on success, 0.  An
 * exec failure (or a failure on the way: chdir, dup) comes back as its
 * -errno with the child already reaped.  Any thread.
 * RINGO_SPAWN=clone starts at the first fallback (clone(2)),
 * RINGO_SPAWN=posix_spawn at the last (posix_spawn + pidfd_open).
 */
int rg__spawn(const rg_spawn_t *s, int *pid, int *pidfd) RG_HIDDEN;

/*
 * Waits until the child of pidfd exits and reaps it: 0 and *status (a
 * wait(2) status: WIFEXITED, WTERMSIG...), or the ctx error (the child
 * still runs), -ECHILD (someone else reaped it, and the kernel kept no
 * exit status for the pidfd), another -errno.  Goroutine (parks) or
 * foreign thread (blocks).  RINGO_WAITID=poll forces the readiness
 * path on the io_uring backend.
 */
int rg__proc_wait(int pidfd, rg_ctx_t *ctx, int *status) RG_HIDDEN;

/* Reaps the child of pidfd if it has exited: 1 (and *status), 0 if it
 * runs, -ECHILD, -errno.  Never blocks. */
int rg__proc_try_reap(int pidfd, int *status) RG_HIDDEN;

/* Hands a started, unwaited child to the orphan queue: the reaper
 * thread reaps it (and closes pidfd) once it has exited.  Any thread. */
void rg__orphan_add(int pid, int pidfd) RG_HIDDEN;

/* Where the reaper thread could not be made: reaps the queued orphans
 * that have exited, and tries to make it again.  Any thread; one
 * relaxed load when no orphan waits without a reaper. */
void rg__orphan_reap(void) RG_HIDDEN;

/* For tests: how the last spawn and the last wait ran. */
enum { RG_SPAWN_CLONE3 = 1, RG_SPAWN_CLONE, RG_SPAWN_POSIX, RG_WAIT_WAITID = 1, RG_WAIT_READY };
extern _Atomic int rg__spawn_last RG_HIDDEN;
extern _Atomic int rg__wait_last RG_HIDDEN;

/* Orphans not yet reaped, and whether the reaper thread runs (tests;
 * it ends, a moment after the last orphan, on its own). */
int rg__orphan_count(void) RG_HIDDEN;
bool rg__orphan_reaper_on(void) RG_HIDDEN;

#endif
