// SPDX-License-Identifier: MIT
/*
 * spawn.c — making a child process without copying the parent.
 *
 * clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND):
 * the child shares the parent's memory (nothing is copied, whatever the
 * parent's size: fork() of a 1 GiB parent copies its page tables, tens
 * of ms) and the calling thread is suspended until the child execs or
 * exits.  The child runs on a stack of its own (CHILD_STACK bytes,
 * malloc'd: the caller's goroutine stack may be small) entered through
 * an assembly trampoline around the raw syscall (the C wrapper's frame
 * would be the parent's), and it runs only raw system calls, no libc
 * state and no sanitizer instrumentation: it shares every byte with the
 * suspended parent.
 *
 * In the child, in order:
 *   - fds: each fds[i] is first copied above the target range
 *     (F_DUPFD, so that a source that is also a target, "stdout to fd 0",
 *     is not overwritten), then dup3'd to i, then everything from nfds
 *     up is closed with close_range(2) (Linux 5.9; before, a loop to
 *     RLIMIT_NOFILE);
 *   - the signal mask is emptied (the parent blocked everything around
 *     the clone, so that no parent handler runs on the child's side of
 *     the shared memory; CLONE_CLEAR_SIGHAND, Linux 5.5, reset the
 *     handlers; on older kernels the child resets them one by one);
 *   - setpgid, pdeathsig, chdir, execve.
 * A failure stores its errno in the request (shared memory: the parent
 * reads it when it resumes, no pipe needed) and the child exits; the
 * parent reaps it and returns the -errno.
 *
 * First fallback (clone3 refused with ENOSYS: a kernel before 5.3, or
 * a seccomp profile that hides it, as container runtimes' did so that
 * glibc falls back, or an emulator without it, qemu-user 7.2;
 * RINGO_SPAWN=clone forces it): the same child made
 * by the legacy clone(2) with CLONE_VM | CLONE_VFORK | CLONE_PIDFD
 * (Linux 5.2), whose pidfd also comes with the child, atomically; the
 * child resets the handlers itself (no CLONE_CLEAR_SIGHAND there).  A
 * kernel before 5.2 ignores CLONE_PIDFD: that child is killed and
 * reaped by its pid (the one place ringo uses a pid so; kernels that old
 * have no pidfd_open either, so the last fallback fails too: ringo's
 * processes need Linux 5.2).
 *
 * Either way, EINVAL from the clone call itself counts as a refusal, as
 * ENOSYS does: the flags are valid on every kernel that has the call,
 * so an EINVAL means an emulator or a filter rejecting one of them
 * (qemu-user 7.2 answers so for CLONE_PIDFD).  An errno of the child's
 * (exec, chdir, dup) never does: it comes back through the shared
 * memory, after a clone that worked.
 *
 * Last fallback (both refused, an architecture without a trampoline
 * here, or RINGO_SPAWN=posix_spawn): glibc's posix_spawn, which uses
 * CLONE_VM|CLONE_VFORK itself, reports exec errors as its result and
 * resets handled signals, with file actions for the fds (closefrom) and
 * the directory, then pidfd_open(pid).  rg_cmd_set_pdeathsig is not
 * applied (posix_spawn has no attribute for it).  The gap between the
 * child's exec and pidfd_open: nothing in ringo waits by pid, so the
 * child stays, at worst, a zombie holding its pid until we open it;
 * only a host that reaps every child (waitpid(-1) in a SIGCHLD handler)
 * can free that pid first.  Then pidfd_open fails (ESRCH), or the pid
 * has gone to another process, which is not our child: waitid(P_PIDFD,
 * WNOWAIT) on it says ECHILD, and the start fails with -ESRCH (the
 * program ran; its status is lost, as the host took it) instead of
 * ringo holding a stranger.  Left: the pid going, within those
 * microseconds, to another child of ours (the kernel hands pids out in
 * order, so a whole cycle of pid_max would have to pass).
 *
 * Rejected: fork()/vfork() from C (fork copies page tables; vfork
 * returns twice on the caller's stack, which the compiler cannot know);
 * a CLOEXEC error pipe (Go's way, needed after fork; with shared memory
 * the child writes its errno where the parent reads it).
 */
#include "proc_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif

#define CHILD_STACK (32 * 1024)

/* What the child reads and writes (it shares our memory). */
struct child {
	const rg_spawn_t *s;
	int maxfd;              /* the close loop's end without close_range */
	bool clear_sighand;     /* the kernel cleared the handlers */
	int err;                /* the child's errno; 0: it exec'd */
	bool no_close_range;    /* close_range said ENOSYS */
};

#if defined(__SANITIZE_ADDRESS__)
#define RG_NO_SAN __attribute__((no_sanitize_address, noinline))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RG_NO_SAN __attribute__((no_sanitize_address, noinline))
#endif
#endif
#ifndef RG_NO_SAN
#define RG_NO_SAN __attribute__((noinline))
#endif

/* The kernel's struct sigaction for rt_sigaction. */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/* A raw syscall's result as -errno, without touching errno. */
#if defined(__x86_64__)
static inline long raw6(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}
#elif defined(__aarch64__)
static inline long raw6(long n, long a, long b, long c, long d)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
}
#endif

#if defined(__x86_64__) || defined(__aarch64__)
#define HAVE_TRAMPOLINE 1

static RG_NO_SAN _Noreturn void child_fail(struct child *c, long r)
{
	c->err = (int)-r;
	for (;;)
		raw6(__NR_exit_group, 127, 0, 0, 0);
}

/* The child, between clone3 and execve.  Raw syscalls only. */
static RG_NO_SAN int child_main(void *arg)
{
	struct child *c = arg;
	const rg_spawn_t *s = c->s;
	int hi[RG_SPAWN_MAX_FDS];
	long r;

	/* Handlers back to their default before anything can unblock a
	 * signal: after exec the kernel resets them anyway, but here a
	 * parent handler would run on shared memory. */
	if (!c->clear_sighand) {
		for (int sig = 1; sig < 65; sig++) {
			struct ksigaction old;
			if (sig == SIGKILL || sig == SIGSTOP)
				continue;
			if (raw6(__NR_rt_sigaction, sig, 0, (long)&old, 8) < 0)
				continue;
			if (old.handler == (void *)SIG_IGN || old.handler == (void *)SIG_DFL)
				continue;
			struct ksigaction dfl = {.handler = (void *)SIG_DFL};
			raw6(__NR_rt_sigaction, sig, (long)&dfl, 0, 8);
		}
	}
	for (int i = 0; i < s->nfds; i++) {
		r = raw6(__NR_fcntl, s->fds[i], F_DUPFD, s->nfds, 0);
		if (r < 0)
			child_fail(c, r);
		hi[i] = (int)r;
	}
	for (int i = 0; i < s->nfds; i++) {
		r = raw6(__NR_dup3, hi[i], i, 0, 0);
		if (r < 0)
			child_fail(c, r);
	}
	r = raw6(__NR_close_range, s->nfds, ~0L & 0xffffffffL, 0, 0);
	if (r == -ENOSYS) {
		c->no_close_range = true;
		for (int fd = s->nfds; fd < c->maxfd; fd++)
			raw6(__NR_close, fd, 0, 0, 0);
	}
	if (s->pgid && (r = raw6(__NR_setpgid, 0, 0, 0, 0)) < 0)
		child_fail(c, r);
	if (s->pdeathsig && (r = raw6(__NR_prctl, PR_SET_PDEATHSIG, s->pdeathsig, 0, 0)) < 0)
		child_fail(c, r);
	if (s->dir && (r = raw6(__NR_chdir, (long)s->dir, 0, 0, 0)) < 0)
		child_fail(c, r);
	uint64_t empty = 0;
	raw6(__NR_rt_sigprocmask, SIG_SETMASK, (long)&empty, 0, 8);
	r = raw6(__NR_execve, (long)s->path, (long)s->argv, (long)s->envp, 0);
	child_fail(c, r);
}

/* clone3 with the child entering fn(arg) on the stack in *ca; returns
 * the syscall's result in the parent (the child's pid or -errno). */
static long clone3_run(struct clone_args *ca, int (*fn)(void *), void *arg)
{
#if defined(__x86_64__)
	long r;
	register void *r8 __asm__("r8") = (void *)fn;
	register void *r9 __asm__("r9") = arg;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 /* The child: a fresh stack, no frame above it. */
			 "xor %%ebp, %%ebp\n\t"
			 "mov %%r9, %%rdi\n\t"
			 "call *%%r8\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov $231, %%eax\n\t" /* exit_group */
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(r)
			 : "0"((long)__NR_clone3), "D"(ca), "S"(sizeof(*ca)), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory", "cc");
	return r;
#else
	register long x8 __asm__("x8") = __NR_clone3;
	register long x0 __asm__("x0") = (long)ca;
	register long x1 __asm__("x1") = (long)sizeof(*ca);
	register void *x2 __asm__("x2") = (void *)fn;
	register void *x3 __asm__("x3") = arg;
	__asm__ volatile("svc #0\n\t"
			 "cbnz x0, 1f\n\t"
			 "mov x29, #0\n\t"
			 "mov x30, #0\n\t"
			 "mov x0, x3\n\t"
			 "blr x2\n\t"
			 "mov x8, #94\n\t" /* exit_group */
			 "svc #0\n"
			 "1:"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3)
			 : "memory", "cc");
	return x0;
#endif
}

/* The legacy clone(2) with the child entering fn(arg) on the stack that
 * ends at sp (16-byte aligned); CLONE_PIDFD (Linux 5.2) stores the
 * pidfd in *pidfd, as clone3 does.  The parent's result as clone3_run's. */
static long clone_run(unsigned long flags, void *sp, int *pidfd, int (*fn)(void *), void *arg)
{
#if defined(__x86_64__)
	/* clone(flags, sp, parent_tid, child_tid, tls): no CLONE_SETTLS,
	 * so r8 (tls) is free for fn; arg rides in r9.  The child starts
	 * with every register the parent had but rax, rcx, r11. */
	long r;
	register long r10 __asm__("r10") = 0;
	register void *r8 __asm__("r8") = (void *)fn;
	register void *r9 __asm__("r9") = arg;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "mov %%r9, %%rdi\n\t"
			 "call *%%r8\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov $231, %%eax\n\t" /* exit_group */
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(r)
			 : "0"((long)__NR_clone), "D"(flags), "S"(sp), "d"(pidfd), "r"(r10),
			   "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory", "cc");
	return r;
#else
	/* clone(flags, sp, parent_tid, tls, child_tid). */
	register long x8 __asm__("x8") = __NR_clone;
	register long x0 __asm__("x0") = (long)flags;
	register void *x1 __asm__("x1") = sp;
	register void *x2 __asm__("x2") = pidfd;
	register long x3 __asm__("x3") = 0;
	register long x4 __asm__("x4") = 0;
	register void *x5 __asm__("x5") = (void *)fn;
	register void *x6 __asm__("x6") = arg;
	__asm__ volatile("svc #0\n\t"
			 "cbnz x0, 1f\n\t"
			 "mov x29, #0\n\t"
			 "mov x30, #0\n\t"
			 "mov x0, x6\n\t"
			 "blr x5\n\t"
			 "mov x8, #94\n\t" /* exit_group */
			 "svc #0\n"
			 "1:"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5), "r"(x6)
			 : "memory", "cc");
	return x0;
#endif
}
#endif

/* 1: works; 0: not known yet; -1: refused (ENOSYS or EINVAL; for
 * clone, also CLONE_PIDFD not honoured: before Linux 5.2). */
static _Atomic int clone3_state, clone_state;
static _Atomic bool clear_sighand_bad; /* EINVAL with CLONE_CLEAR_SIGHAND */
static _Atomic bool close_range_bad;

static int max_fd(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 20))
		return 1 << 20;
	return (int)rl.rlim_cur;
}

static void reap_now(int pidfd)
{
	siginfo_t si;
	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
		;
}

#ifdef HAVE_TRAMPOLINE
/* spawn_vm's answer when the kernel (or an emulator, or a seccomp
 * filter) refuses the way itself: positive, so that no -errno of the
 * child's (an execve's ENOSYS, say) reads as a refusal. */
#define SPAWN_REFUSED 1

/* The child by clone3 (legacy false) or by clone(2) (true: where clone3
 * is refused; no CLONE_CLEAR_SIGHAND there, the child resets the
 * handlers itself): 0, the child's or the clone's -errno, or
 * SPAWN_REFUSED. */
static int spawn_vm(const rg_spawn_t *s, int *pid, int *pidfd, bool legacy)
{
	struct child c = {.s = s, .clear_sighand = !legacy && !atomic_load(&clear_sighand_bad)};
	if (atomic_load(&close_range_bad))
		c.maxfd = max_fd();
	char *stack = malloc(CHILD_STACK);
	if (!stack)
		return -ENOMEM;
	int fd = -1;
	struct clone_args ca = {
		.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD |
			 (c.clear_sighand ? CLONE_CLEAR_SIGHAND : 0),
		.pidfd = (uint64_t)(uintptr_t)&fd,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)stack,
		.stack_size = CHILD_STACK,
	};
	sigset_t all, old;
	sigfillset(&all);
	long r;
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (legacy)
		r = clone_run(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, stack + CHILD_STACK, &fd,
			      child_main, &c);
	else
		r = clone3_run(&ca, child_main, &c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == -EINVAL && c.clear_sighand) {
		/* Before Linux 5.5: the child resets the handlers itself. */
		atomic_store(&clear_sighand_bad, true);
		c.clear_sighand = false;
		ca.flags &= ~(uint64_t)CLONE_CLEAR_SIGHAND;
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = clone3_run(&ca, child_main, &c);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	free(stack);
	/* ENOSYS, or EINVAL from the clone itself: our flags are valid on
	 * any kernel that has the call, so an EINVAL is an emulator or a
	 * filter rejecting one of them (qemu-user 7.2 answers EINVAL for
	 * CLONE_PIDFD, and ENOSYS for clone3).  The child's errors come
	 * as c.err below, never as this. */
	if (r == -ENOSYS || r == -EINVAL)
		return SPAWN_REFUSED;
	if (r < 0)
		return (int)r;
	if (fd < 0) {
		/* clone(2) before Linux 5.2 ignores CLONE_PIDFD (the bit was
		 * CLONE_PID's, long gone): a child with no pidfd, and none to
		 * be had (pidfd_open is 5.3).  It is ours, nothing reaps it
		 * but us: kill and reap it by pid. */
		kill((pid_t)r, SIGKILL);
		while (waitpid((pid_t)r, NULL, __WALL) < 0 && errno == EINTR)
			;
		return SPAWN_REFUSED;
	}
	if (c.no_close_range && !atomic_load(&close_range_bad)) {
		/* That child closed nothing: it is killed, the next ones
		 * loop.  (Once per process, on kernels before 5.9.) */
		atomic_store(&close_range_bad, true);
		if (!c.err) {
			syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
			reap_now(fd);
			close(fd);
			return spawn_vm(s, pid, pidfd, legacy);
		}
	}
	if (c.err) {
		reap_now(fd);
		close(fd);
		return -c.err;
	}
	*pid = (int)r;
	*pidfd = fd;
	return 0;
}
#endif

static int spawn_posix(const rg_spawn_t *s, int *pid, int *pidfd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int hi[RG_SPAWN_MAX_FDS];
	int n = 0, e;
	pid_t p;

	/* Sources copied above the targets first, as the child does on
	 * the clone3 path. */
	for (; n < s->nfds; n++) {
		hi[n] = fcntl(s->fds[n], F_DUPFD_CLOEXEC, s->nfds);
		if (hi[n] < 0) {
			e = -errno;
			goto out_fds;
		}
	}
	if ((e = -posix_spawn_file_actions_init(&fa)))
		goto out_fds;
	if ((e = -posix_spawnattr_init(&at)))
		goto out_fa;
	for (int i = 0; i < s->nfds && !e; i++)
		e = -posix_spawn_file_actions_adddup2(&fa, hi[i], i);
	if (!e)
		e = -posix_spawn_file_actions_addclosefrom_np(&fa, s->nfds);
	if (!e && s->dir)
		e = -posix_spawn_file_actions_addchdir_np(&fa, s->dir);
	sigset_t empty;
	sigemptyset(&empty);
	short flags = POSIX_SPAWN_SETSIGMASK | (s->pgid ? POSIX_SPAWN_SETPGROUP : 0);
	if (!e)
		e = -posix_spawnattr_setsigmask(&at, &empty);
	if (!e)
		e = -posix_spawnattr_setpgroup(&at, 0);
	if (!e)
		e = -posix_spawnattr_setflags(&at, flags);
	if (!e)
		e = -posix_spawn(&p, s->path, &fa, &at, s->argv, s->envp);
	posix_spawnattr_destroy(&at);
out_fa:
	posix_spawn_file_actions_destroy(&fa);
out_fds:
	for (int i = 0; i < n; i++)
		close(hi[i]);
	if (e)
		return e;
	int fd = (int)syscall(SYS_pidfd_open, p, 0);
	if (fd < 0) {
		/* Before Linux 5.3: no pidfd, no way to wait without a
		 * thread or SIGCHLD. */
		e = -errno;
		if (e != -ESRCH) { /* ESRCH: someone reaped it already */
			kill(p, SIGKILL);
			while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
				;
		}
		return e;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* The gap: had a host reaped the child already (waitpid(-1)) and
	 * the pid gone to another process, fd would be that process's.
	 * It is no child of ours then: waitid on it is ECHILD (WNOWAIT
	 * leaves ours, running or a zombie, as it is).  See the top for
	 * what is left. */
	siginfo_t si;
	int w;
	while ((w = waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG | WNOWAIT | __WALL)) < 0 &&
	       errno == EINTR)
		;
	if (w < 0) {
		e = -errno;
		close(fd);
		return e == -ECHILD || e == -ENOENT ? -ESRCH : e;
	}
	*pid = p;
	*pidfd = fd;
	return 0;
}

/* RINGO_SPAWN: "clone" starts at clone(2), "posix_spawn" at the
 * last fallback; anything else (unset) at clone3. */
static int forced(void)
{
	const char *v = getenv("RINGO_SPAWN");
	if (v && strcmp(v, "posix_spawn") == 0)
		return RG_SPAWN_POSIX;
	if (v && strcmp(v, "clone") == 0)
		return RG_SPAWN_CLONE;
	return RG_SPAWN_CLONE3;
}

_Atomic int rg__spawn_last;

int rg__spawn(const rg_spawn_t *s, int *pid, int *pidfd)
{
	if (s->nfds > RG_SPAWN_MAX_FDS)
		return -EINVAL;
	int from = forced();
#ifdef HAVE_TRAMPOLINE
	static _Atomic int *const state[] = {[RG_SPAWN_CLONE3] = &clone3_state,
					     [RG_SPAWN_CLONE] = &clone_state};
	for (int way = from; way <= RG_SPAWN_CLONE; way++) {
		if (atomic_load(state[way]) < 0)
			continue;
		int r = spawn_vm(s, pid, pidfd, way == RG_SPAWN_CLONE);
		if (r != SPAWN_REFUSED) {
			atomic_store(state[way], 1);
			atomic_store_explicit(&rg__spawn_last, way, memory_order_relaxed);
			return r;
		}
		atomic_store(state[way], -1);
	}
#else
	(void)from;
#endif
	atomic_store_explicit(&rg__spawn_last, RG_SPAWN_POSIX, memory_order_relaxed);
	return spawn_posix(s, pid, pidfd);
}
