// SPDX-License-Identifier: MIT
/*
 * Failure reports, as Go gives them: panics, fatal errors (deadlock,
 * stack overflow), faults (a nil pointer dereference, an unexpected
 * fault address: reported, then the default action, unless the program
 * had its own handler), and goroutine dumps on SIGQUIT or on demand.
 *
 * Everything that may run in a signal handler formats into a stack
 * buffer and write(2)s it: no stdio, no malloc.  Symbol names come from
 * backtrace_symbols_fd, which writes straight to the fd (programs linked
 * with -rdynamic get function names, others addresses).
 *
 * Parked goroutines' frames are walked through their frame pointers,
 * starting from the frame rg__ctx_switch saved, bounded by the stack's
 * limits: the library is built with -fno-omit-frame-pointer; a user frame
 * without one ends the walk early but never faults it.
 */
#include "rt.h"

#include <execinfo.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

/* ---- async-signal-safe formatting ---------------------------------- */

typedef struct buf {
	char b[1024];
	size_t n;
	int fd;
} buf_t;

static void buf_flush(buf_t *b)
{
	size_t off = 0;
	while (off < b->n) {
		ssize_t r = write(b->fd, b->b + off, b->n - off);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	b->n = 0;
}

static void buf_str(buf_t *b, const char *s)
{
	while (*s) {
		if (b->n == sizeof(b->b))
			buf_flush(b);
		b->b[b->n++] = *s++;
	}
}

static void buf_u64(buf_t *b, uint64_t v, int base)
{
	char tmp[24];
	int i = sizeof(tmp) - 1;
	tmp[i] = 0;
	do {
		tmp[--i] = "0123456789abcdef"[v % (uint64_t)base];
		v /= (uint64_t)base;
	} while (v);
	if (base == 16)
		buf_str(b, "0x");
	buf_str(b, tmp + i);
}

static void buf_i64(buf_t *b, int64_t v)
{
	if (v < 0) {
		buf_str(b, "-");
		buf_u64(b, (uint64_t)(-(v + 1)) + 1, 10);
	} else {
		buf_u64(b, (uint64_t)v, 10);
	}
}

/* ---- goroutine dumps ----------------------------------------------- */

static const char *status_str(rg_g *g)
{
	switch (atomic_load_explicit(&g->status, memory_order_relaxed)) {
	case RG_G_RUNNABLE: return "runnable";
	case RG_G_RUNNING: return "running";
	case RG_G_WAITING: return rg__wait_reason_str((int)RG_LOAD_RELAXED(g->waitreason));
	case RG_G_SYSCALL: return "syscall";
	case RG_G_DEAD: return "dead";
	default: return "free";
	}
}

static void print_waited(buf_t *b, rg_g *g)
{
	if (atomic_load_explicit(&g->status, memory_order_relaxed) != RG_G_WAITING ||
	    !g->waitsince)
		return;
	int64_t d = rg__nanotime() - g->waitsince;  /* (waitsince: sched.c coarse_now) */
	/* Go prints minutes past one; we print the most telling unit. */
	if (d >= RG_MINUTE) {
		buf_str(b, ", ");
		buf_i64(b, d / RG_MINUTE);
		buf_str(b, " minutes");
	} else if (d >= RG_SECOND) {
		buf_str(b, ", ");
		buf_i64(b, d / RG_SECOND);
		buf_str(b, " seconds");
	} else if (d >= RG_MILLISECOND) {
		buf_str(b, ", ");
		buf_i64(b, d / RG_MILLISECOND);
		buf_str(b, " ms");
	}
}

/* Running on a P that sysmon saw held by one goroutine for > 10 ms. */
static bool is_hog(rg_g *g)
{
	if (atomic_load_explicit(&g->status, memory_order_relaxed) != RG_G_RUNNING)
		return false;
	rg_m *m = RG_LOAD_RELAXED(g->m);
	rg_p *p = m ? RG_LOAD_RELAXED(m->p) : NULL;
	return p && RG_LOAD_RELAXED(p->sm_hogging) && RG_LOAD_RELAXED(m->curg) == g;
}

static void print_header(buf_t *b, rg_g *g, const char *state)
{
	buf_str(b, "goroutine ");
	buf_i64(b, g->id);
	buf_str(b, " [");
	buf_str(b, state ? state : status_str(g));
	if (!state)
		print_waited(b, g);
	if (is_hog(g))
		buf_str(b, ", hog");
	buf_str(b, "]");
	if (g->name[0]) {
		buf_str(b, " \"");
		buf_str(b, g->name);
		buf_str(b, "\"");
	}
	buf_str(b, ":\n");
}

static void print_pcs(buf_t *b, void *const *pcs, int n)
{
	buf_flush(b);
	backtrace_symbols_fd(pcs, n, b->fd);
}

static void print_start(buf_t *b, rg_g *g)
{
	void *fn = (void *)g->fn;
	buf_str(b, "created with start function ");
	buf_u64(b, (uint64_t)(uintptr_t)fn, 16);
	buf_str(b, ": ");
	print_pcs(b, &fn, 1);
}

/* Frames of a parked goroutine, from its saved switch frame. */
static void print_parked_frames(buf_t *b, rg_g *g)
{
	void *pcs[32];
	int n = 0;
	uintptr_t pc, fp;
	uintptr_t lo = (uintptr_t)g->stack_lo, hi = (uintptr_t)g->stack_hi;

	if (!hi || !g->sp || (uintptr_t)g->sp < lo || (uintptr_t)g->sp >= hi)
		return;
	rg__ctx_frame(g->sp, &pc, &fp);
	while (pc && n < 32) {
		pcs[n++] = (void *)pc;
		if (fp < lo || fp + 16 > hi || (fp & 7))
			break;
		uintptr_t next = ((uintptr_t *)fp)[0];
		pc = ((uintptr_t *)fp)[1];
		if (next <= fp)
			break;
		fp = next;
	}
	if (n)
		print_pcs(b, pcs, n);
}

static void dump_one(rg_g *g, void *arg)
{
	buf_t *b = arg;
	rg_g *self = rg__getg();
	uint32_t st = atomic_load_explicit(&g->status, memory_order_relaxed);

	if (st == RG_G_DEAD)
		return;
	print_header(b, g, NULL);
	if (g == self) {
		void *pcs[32];
		int n = backtrace(pcs, 32);
		print_pcs(b, pcs, n);
	} else if (st == RG_G_WAITING || st == RG_G_RUNNABLE) {
		print_parked_frames(b, g);
	}
	print_start(b, g);
	buf_str(b, "\n");
}

void rg_dump_goroutines(int fd)
{
	buf_t b = {.fd = fd};
	if (atomic_load(&rg__sched.running) == 0) {
		buf_str(&b, "ringo: runtime not running\n");
		buf_flush(&b);
		return;
	}
	rg__for_each_g(dump_one, &b);
	buf_flush(&b);
}

/* ---- panics and fatal errors --------------------------------------- */

/* The running goroutine's header and stack; from_pc, if not 0, skips
 * the frames above it (a signal handler's, down to the faulting one). */
static void report_current_from(buf_t *b, uintptr_t from_pc)
{
	rg_g *g = rg__getg();
	void *pcs[48];

	if (g) {
		print_header(b, g, "running");
	} else {
		buf_str(b, "goroutine 0 [");
		buf_str(b, rg__getm() ? "scheduler" : "foreign thread");
		buf_str(b, "]:\n");
	}
	int n = backtrace(pcs, 48), skip = 0;
	for (int i = 0; from_pc && i < n; i++)
		if ((uintptr_t)pcs[i] == from_pc) {
			skip = i;
			break;
		}
	print_pcs(b, pcs + skip, n - skip);
	if (g)
		print_start(b, g);
}

static void report_current(buf_t *b)
{
	report_current_from(b, 0);
}

static _Noreturn void die_abort(void)
{
	signal(SIGABRT, SIG_DFL);
	abort();
}

void rg_panic(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	buf_t b = {.fd = 2};

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	buf_str(&b, "panic: ");
	buf_str(&b, msg);
	buf_str(&b, "\n\n");
	report_current(&b);
	buf_flush(&b);
	die_abort();
}

void rg__throw(const char *msg)
{
	buf_t b = {.fd = 2};
	buf_str(&b, "fatal error: ");
	buf_str(&b, msg);
	buf_str(&b, "\n\n");
	report_current(&b);
	buf_flush(&b);
	die_abort();
}

void rg__fatal_deadlock(void)
{
	buf_t b = {.fd = 2};
	fflush(stdout);
	buf_str(&b, "fatal error: all goroutines are asleep - deadlock!\n\n");
	buf_flush(&b);
	rg_dump_goroutines(2);
	_exit(2);
}

/* ---- signals ------------------------------------------------------- */

static struct sigaction old_segv, old_bus, old_quit;
static bool have_quit;

int rg__sigstack_alloc(rg_m *m)
{
	long min = sysconf(_SC_MINSIGSTKSZ);
	size_t size = 64 * 1024;
	if (min > 0 && (size_t)min * 4 > size)
		size = (size_t)min * 4;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	stack_t ss = {.ss_sp = p, .ss_size = size};
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(p, size);
		return -1;
	}
	m->sigstack = p;
	m->sigstack_size = size;
	return 0;
}

void rg__sigstack_free(rg_m *m)
{
	if (!m->sigstack)
		return;
	stack_t ss = {.ss_flags = SS_DISABLE};
	sigaltstack(&ss, NULL);
	munmap(m->sigstack, m->sigstack_size);
	m->sigstack = NULL;
}

static void chain(const struct sigaction *old, int sig, siginfo_t *si, void *uc)
{
	if (old->sa_flags & SA_SIGINFO) {
		if (old->sa_sigaction) {
			old->sa_sigaction(sig, si, uc);
			return;
		}
	} else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* Default action: reinstall it and return; the faulting instruction
	 * runs again and the kernel delivers the default (a core dump). */
	signal(sig, SIG_DFL);
}

static bool is_default(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) ? !sa->sa_sigaction : sa->sa_handler == SIG_DFL;
}

static uintptr_t fault_pc(void *uc)
{
	const ucontext_t *u = uc;
#if defined(__x86_64__)
	return (uintptr_t)u->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)u->uc_mcontext.pc;
#else
	(void)u;
	return 0;
#endif
}

/*
 * A fault that is no stack overflow, where the program installed no
 * handler of its own: Go's report (a nil pointer dereference below the
 * first page, "unexpected fault address" elsewhere) with the faulting
 * goroutine's stack.  The default action follows, as before: the
 * faulting instruction runs again and the process dies of the signal,
 * with its core.  A handler installed before the runtime started (a
 * sanitizer's, the host's) is chained to instead, unreported.
 */
static void report_fault(int sig, siginfo_t *si, void *uc)
{
	uintptr_t addr = (uintptr_t)si->si_addr;
	buf_t b = {.fd = 2};
	if (sig == SIGSEGV && addr < 4096)
		buf_str(&b, "panic: runtime error: invalid memory address or nil pointer dereference\n");
	else {
		buf_str(&b, "unexpected fault address ");
		buf_u64(&b, addr, 16);
		buf_str(&b, "\nfatal error: fault\n");
	}
	buf_str(&b, sig == SIGSEGV ? "[signal SIGSEGV: segmentation violation code="
				   : "[signal SIGBUS: bus error code=");
	buf_u64(&b, (uint64_t)(uint32_t)si->si_code, 16);
	buf_str(&b, " addr=");
	buf_u64(&b, addr, 16);
	buf_str(&b, " pc=");
	buf_u64(&b, fault_pc(uc), 16);
	buf_str(&b, "]\n\n");
	report_current_from(&b, fault_pc(uc));
	buf_flush(&b);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	rg_g *g = rg__stack_guard_owner(si->si_addr);
	if (!g) {
		const struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
		if (is_default(old))
			report_fault(sig, si, uc);
		chain(old, sig, si, uc);
		return;
	}
	buf_t b = {.fd = 2};
	buf_str(&b, "fatal error: stack overflow\n\ngoroutine ");
	buf_i64(&b, g->id);
	if (g->name[0]) {
		buf_str(&b, " [");
		buf_str(&b, g->name);
		buf_str(&b, "]");
	}
	buf_str(&b, " stack overflow: fault at ");
	buf_u64(&b, (uint64_t)(uintptr_t)si->si_addr, 16);
	buf_str(&b, ", stack ");
	buf_u64(&b, (uint64_t)(uintptr_t)g->stack_lo, 16);
	buf_str(&b, "-");
	buf_u64(&b, (uint64_t)(uintptr_t)g->stack_hi, 16);
	buf_str(&b, " (");
	buf_u64(&b, (uint64_t)(g->stack_hi - g->stack_lo), 10);
	buf_str(&b, " bytes; RINGO_STACK_SIZE raises it)\n");
	print_start(&b, g);
	buf_flush(&b);
	die_abort();
}

static void on_quit(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	buf_t b = {.fd = 2};
	buf_str(&b, "SIGQUIT: quit\n\n");
	buf_flush(&b);
	rg_dump_goroutines(2);
	_exit(2);
}

static struct sigaction old_pipe;
static bool have_pipe;

/* SIGPIPE's handler: nothing to do, the write returns EPIPE. */
static void on_pipe(int sig)
{
	(void)sig;
}

void rg__signals_install(void)
{
	struct sigaction sa;
	void *warm[1];

	/* The first backtrace() dlopens libgcc_s's unwinder (malloc, the
	 * loader's lock: neither async-signal-safe): do it now, before any
	 * handler is installed, never in one.  (tests/test_api.c checks
	 * that libgcc_s is loaded once rg_init returns.) */
	backtrace(warm, 1);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sa.sa_sigaction = on_fault;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);

	have_quit = false;
	struct sigaction cur;
	if (sigaction(SIGQUIT, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
	    cur.sa_handler == SIG_DFL) {
		/* On the M's alternate stack, as the fault handler: SIGQUIT
		 * lands on whatever thread runs, often a goroutine with
		 * little stack left, and the dump needs a few KiB (its line
		 * buffer, the unwinder).  A thread without one (a foreign
		 * thread) runs it where it is. */
		sa.sa_sigaction = on_quit;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigaction(SIGQUIT, &sa, &old_quit);
		have_quit = true;
	}

	/* A write to a socket whose peer is gone raises SIGPIPE, and
	 * IORING_OP_WRITE cannot ask for MSG_NOSIGNAL: make it harmless
	 * unless the program chose a disposition itself.  A handler, not
	 * SIG_IGN: exec resets handlers, so child processes still start
	 * with the default. */
	have_pipe = false;
	if (sigaction(SIGPIPE, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
	    cur.sa_handler == SIG_DFL) {
		struct sigaction sp;
		memset(&sp, 0, sizeof(sp));
		sigemptyset(&sp.sa_mask);
		sp.sa_handler = on_pipe;
		sp.sa_flags = SA_RESTART;
		sigaction(SIGPIPE, &sp, &old_pipe);
		have_pipe = true;
	}
}

void rg__signals_restore(void)
{
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	if (have_quit)
		sigaction(SIGQUIT, &old_quit, NULL);
	have_quit = false;
	if (have_pipe)
		sigaction(SIGPIPE, &old_pipe, NULL);
	have_pipe = false;
}
