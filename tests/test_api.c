// SPDX-License-Identifier: MIT
/*
 * test_api.c — the library's promises as a whole, beyond any one module:
 *
 *   - versions: rg_version() and the RINGO_VERSION_* macros agree;
 *   - growable structs (runtime/version.c): an rg_config_t or rg_stats_t
 *     of an older, smaller layout still works (its missing fields take
 *     defaults / are not written), a newer, larger one too (zero tail
 *     accepted, a non-zero tail is -E2BIG; output tails are zeroed), an
 *     unset size is -EINVAL;
 *   - the error rule (ringo.h): constructors return NULL and set errno
 *     (rg_ctx_with_* out of memory, through a calloc that this binary
 *     wraps: -Wl,--wrap=calloc, see the Makefile); the write-everything
 *     calls return the count written when an error stops them, and
 *     writing the rest returns the error, on both I/O backends;
 *   - signal handlers (runtime/panic.c): the SIGQUIT dump runs on the
 *     alternate signal stack, so a goroutine near the end of its stack
 *     still gets a dump; backtrace() is primed at start, so no handler
 *     ever loads libgcc_s.
 */
#include "helpers/rgio.h"
#include "helpers/rgpark.h"

#include <dlfcn.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#define MiB (1024 * 1024)

/* ---- versions --------------------------------------------------------- */

/* The library is the version the headers say, and the macros agree. */
static void test_version(void **state)
{
	(void)state;
	char s[32];
	snprintf(s, sizeof(s), "%d.%d.%d", RINGO_VERSION_MAJOR, RINGO_VERSION_MINOR,
		 RINGO_VERSION_PATCH);
	assert_string_equal(s, RINGO_VERSION_STRING);
	assert_int_equal(rg_version(), RINGO_VERSION_NUMBER);
	assert_int_equal(rg_version() / 1000000, RINGO_VERSION_MAJOR);
	assert_int_equal(rg_version() / 1000 % 1000, RINGO_VERSION_MINOR);
	assert_int_equal(rg_version() % 1000, RINGO_VERSION_PATCH);
	assert_true(RINGO_VERSION_AT_LEAST(RINGO_VERSION_MAJOR, RINGO_VERSION_MINOR, 0));
	assert_false(RINGO_VERSION_AT_LEAST(RINGO_VERSION_MAJOR, RINGO_VERSION_MINOR + 1, 0));
	assert_false(RINGO_VERSION_AT_LEAST(RINGO_VERSION_MAJOR + 1, 0, 0));
}

/* ---- rg_config_t -------------------------------------------------------- */

/* A caller compiled against an older, smaller rg_config_t (its size is
 * what rg_init passes to rg_init_sized): the fields past its size are
 * not read, whatever the memory there holds. */
static void test_config_older_layout(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgt_env("RINGO_STACK_SIZE", NULL);
	rg_config_t cfg = {.procs = 3, .stack_size = 128 * 1024};

	/* Not even the first field: refused, nothing starts. */
	assert_int_equal(rg_init_sized(&cfg, offsetof(rg_config_t, procs)), -EINVAL);
	assert_int_equal(rg_procs(), 0);

	/* Up to procs: procs is read, stack_size is not. */
	assert_int_equal(rg_init_sized(&cfg, offsetof(rg_config_t, stack_size)), 0);
	assert_int_equal(rg_procs(), 3);
	assert_int_equal(rg__sched.stack_size, 256 * 1024);
	rg_shutdown();

	/* The whole of today's layout, through the plain call. */
	assert_int_equal(rg_init(&cfg), 0);
	assert_int_equal(rg_procs(), 3);
	assert_int_equal(rg__sched.stack_size, 128 * 1024);
	rg_shutdown();
	rgt_env("RINGO_PROCS", NULL);
}

/* A caller compiled against a newer, larger rg_config_t: accepted when
 * the fields this library does not know are zero (their defaults),
 * -E2BIG when one asks for something.  A refused config starts
 * nothing.  The plain forms of the contract need no size. */
static void test_config_newer_layout(void **state)
{
	(void)state;
	struct {
		rg_config_t cfg;
		uint64_t later[3];
	} big;
	memset(&big, 0, sizeof(big));
	big.cfg.procs = 2;
	assert_int_equal(rg_init_sized(&big.cfg, sizeof(big)), 0);
	assert_int_equal(rg_procs(), 2);
	rg_shutdown();

	big.later[2] = 1;
	assert_int_equal(rg_init_sized(&big.cfg, sizeof(big)), -E2BIG);
	assert_int_equal(rg_procs(), 0);

	rg_config_t plain = {.procs = 2};
	assert_int_equal(rg_init(&plain), 0);
	assert_int_equal(rg_procs(), 2);
	rg_shutdown();
	assert_int_equal(rg_init(NULL), 0); /* NULL: all defaults */
	rg_shutdown();
}

/* ---- rg_stats_t ----------------------------------------------------------- */

static bool all_bytes(const void *p, int c, size_t n)
{
	return rgio_all(p, c, n);
}

/* An older, smaller rg_stats_t is filled as far as its size reaches and
 * not a byte further; a newer, larger one gets today's fields and zeros
 * in the rest; a size short of the first field, or NULL, is -EINVAL. */
static void test_stats_layouts(void **state)
{
	(void)state;
	struct {
		rg_stats_t st;
		unsigned char later[64];
	} big;

	/* Not running: all zero, whatever the layout. */
	memset(&big, 0xaa, sizeof(big));
	assert_int_equal(rg_stats_sized(&big.st, sizeof(big)), 0);
	assert_true(all_bytes(&big, 0, sizeof(big)));

	rg_config_t cfg = {.procs = 2};
	assert_int_equal(rg_init(&cfg), 0);

	/* Older: the counters but not runq. */
	memset(&big, 0xaa, sizeof(big));
	assert_int_equal(rg_stats_sized(&big.st, offsetof(rg_stats_t, runq)), 0);
	assert_int_equal(big.st.procs, 2);
	assert_int_equal(big.st.goroutines, 0);
	assert_true(all_bytes(big.st.runq, 0xaa, sizeof(big) - offsetof(rg_stats_t, runq)));

	/* Older still: the first field only. */
	memset(&big, 0xaa, sizeof(big));
	assert_int_equal(rg_stats_sized(&big.st, sizeof(int64_t)), 0);
	assert_int_equal(big.st.goroutines, 0);
	assert_true(all_bytes((char *)&big + sizeof(int64_t), 0xaa, sizeof(big) - sizeof(int64_t)));

	/* Newer: today's fields, then zeros. */
	memset(&big, 0xaa, sizeof(big));
	assert_int_equal(rg_stats_sized(&big.st, sizeof(big)), 0);
	assert_int_equal(big.st.procs, 2);
	assert_true(all_bytes(big.later, 0, sizeof(big.later)));

	/* The plain call, on an uninitialised struct, as the contract has it. */
	rg_stats_t st;
	memset(&st, 0xaa, sizeof(st));
	assert_int_equal(rg_stats(&st), 0);
	assert_int_equal(st.procs, 2);

	assert_int_equal(rg_stats_sized(&big.st, sizeof(int64_t) - 1), -EINVAL);
	assert_int_equal(rg_stats(NULL), -EINVAL);
	rg_shutdown();
}

/* ---- constructors out of memory ----------------------------------------- */

/* The library's calls to calloc come here (-Wl,--wrap=calloc): the next
 * calloc_fail callocs on this thread fail. */
void *__real_calloc(size_t n, size_t size);
static _Thread_local int calloc_fail, calloc_skip;

void *__wrap_calloc(size_t n, size_t size)
{
	if (calloc_fail > 0 && calloc_skip > 0) {
		calloc_skip--; /* this one succeeds, a later one fails */
		return __real_calloc(n, size);
	}
	if (calloc_fail > 0) {
		calloc_fail--;
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}

/* Every rg_ctx_with_* returns NULL with errno ENOMEM when its allocation
 * fails, takes nothing from its parent (which then frees normally:
 * LeakSanitizer would report a reference kept), and works again once
 * memory is back. */
static void test_ctx_constructors_out_of_memory(void **state)
{
	(void)state;
	static const char key;
	assert_int_equal(rg_init(NULL), 0);
	rg_ctx_t *parent = rg_ctx_with_cancel(rg_ctx_background());
	assert_non_null(parent);
	for (int which = 0; which < 4; which++) {
		rg_ctx_t *c = NULL;
		errno = 0;
		calloc_fail = 1;
		switch (which) {
		case 0: c = rg_ctx_with_cancel(parent); break;
		case 1: c = rg_ctx_with_timeout(parent, RG_SECOND); break;
		case 2: c = rg_ctx_with_deadline(parent, rg_now() + RG_SECOND); break;
		case 3: c = rg_ctx_with_value(parent, &key, &c); break;
		}
		assert_int_equal(calloc_fail, 0); /* it did allocate, and failed */
		assert_null(c);
		assert_int_equal(errno, ENOMEM);
	}
	/* Memory back: the same calls succeed. */
	rg_ctx_t *v = rg_ctx_with_value(parent, &key, parent);
	rg_ctx_t *t = rg_ctx_with_timeout(v, RG_HOUR);
	assert_non_null(v);
	assert_non_null(t);
	assert_ptr_equal(rg_ctx_value(t, &key), parent);
	rg_ctx_cancel(parent); /* cancels t too */
	rg_ctx_release(parent);
	assert_int_equal(rg_ctx_err(t), -ECANCELED);
	rg_ctx_cancel(t);
	rg_ctx_release(t);
	rg_ctx_cancel(v);
	rg_ctx_release(v);
	/* rg_chan_make, the other constructor, follows the same rule. */
	errno = 0;
	assert_null(rg_chan_make(SIZE_MAX / 2, 4));
	assert_int_equal(errno, ENOMEM);
	rg_shutdown();
}

/* rg_group_new whose context cannot be made (its second calloc): NULL
 * with ENOMEM, not a group whose context reads as Background (issue 14:
 * it did not check rg_ctx_with_cancel). */
static void test_group_new_out_of_memory(void **state)
{
	(void)state;
	assert_int_equal(rg_init(NULL), 0);
	errno = 0;
	calloc_skip = 1;
	calloc_fail = 1;
	rg_group_t *g = rg_group_new(rg_ctx_background());
	int e = errno, left = calloc_fail;
	calloc_skip = calloc_fail = 0;
	rg_group_t *g2 = rg_group_new(rg_ctx_background());
	int w = g2 ? rg_group_wait(g2) : -1;
	rg_group_free(g2);
	if (g) /* the bug: a group without its context */
		rg_group_free(g);
	rg_shutdown();              /* before asserting: the next tests start their own */
	assert_int_equal(left, 0);
	assert_null(g);
	assert_int_equal(e, ENOMEM);
	assert_non_null(g2);
	assert_int_equal(w, 0);
}

/* ---- writes stopped part-way ------------------------------------------- */

enum { W_WRITE, W_WRITEV, W_SEND, W_N };
static const char *const w_names[] = {"rg_write", "rg_writev", "rg_send"};

static ssize_t do_write(int op, int fd, const char *p, size_t n, rg_ctx_t *ctx)
{
	struct iovec iov[2] = {{(void *)p, n / 2}, {(void *)(p + n / 2), n - n / 2}};
	switch (op) {
	case W_WRITE:
		return rg_write(fd, p, n, ctx);
	case W_WRITEV:
		return rg_writev(fd, iov, 2, ctx);
	default:
		return rg_send(fd, p, n, 0, ctx);
	}
}

struct stopper {
	rg_ctx_t *ctx;
	int64_t writer;     /* goroutine id */
	int reader_fd;      /* where the written bytes arrive */
	rg_waitgroup_t wg;
};

/* Cancels once the writer is parked with some of its bytes out: the
 * peer has bytes to read and the writer waits for room. */
static void cancel_mid_write(void *arg)
{
	struct stopper *s = arg;
	int avail = 0;
	int64_t give_up = rg_now() + RGT_NEVER_MS * RG_MILLISECOND;
	while (rg_now() < give_up &&
	       (ioctl(s->reader_fd, FIONREAD, &avail) < 0 || avail == 0 ||
		!rgp_parked(s->writer, NULL, RG_WAIT_IO)))
		rg_sleep(100 * RG_MICROSECOND);
	rg_ctx_cancel(s->ctx);
	rg_ctx_release(s->ctx);
	rg_wg_done(&s->wg);
}

/* A write of 16 MiB into a connection nobody reads, cancelled once it
 * is parked: it returns the bytes that went out (0 < r < n); the peer
 * then reads exactly those r bytes, in order; writing the rest with the
 * cancelled context returns -ECANCELED. */
static int scen_write_stopped(void *arg)
{
	(void)arg;
	const size_t n = 16 * MiB;
	char *src = malloc(n);
	char *got = malloc(n);
	CHECK(src && got);
	for (size_t i = 0; i < n; i++)
		src[i] = (char)(i * 7 + i / 4096);
	for (int op = 0; op < W_N; op++) {
		int p[2], small = 4096;
		CHECK_CMP(rgio_tcp_pair(p), ==, 0);
		CHECK_CMP(setsockopt(p[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), ==, 0);
		CHECK_CMP(setsockopt(p[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), ==, 0);
		struct stopper s = {.ctx = rg_ctx_with_cancel(NULL), .writer = rg_goid(),
				    .reader_fd = p[0]};
		CHECK(s.ctx != NULL);
		rg_ctx_t *ctx = rg_ctx_retain(s.ctx);
		rg_wg_add(&s.wg, 1);
		CHECK_CMP(rg_go(cancel_mid_write, &s), ==, 0);
		ssize_t r = do_write(op, p[1], src, n, ctx);
		rg_wg_wait(&s.wg);
		if (r <= 0 || (size_t)r >= n) {
			fprintf(stderr, "%s returned %zd\n", w_names[op], r);
			CHECK(r > 0 && (size_t)r < n);
		}
		ssize_t rest = do_write(op, p[1], src + r, n - (size_t)r, ctx);
		if (rest != -ECANCELED)
			fprintf(stderr, "%s of the rest returned %zd\n", w_names[op], rest);
		CHECK_CMP(rest, ==, -ECANCELED);
		rg_ctx_release(ctx);

		/* The peer sees exactly the r bytes, then end of stream. */
		CHECK_CMP(shutdown(p[1], SHUT_WR), ==, 0);
		size_t total = 0;
		for (;;) {
			ssize_t k = rg_read(p[0], got + total, n - total, NULL);
			CHECK_CMP(k, >=, 0);
			if (k == 0)
				break;
			total += (size_t)k;
		}
		if (total != (size_t)r)
			fprintf(stderr, "%s: returned %zd, the peer read %zu\n", w_names[op], r, total);
		CHECK_CMP(total, ==, r);
		CHECK(memcmp(got, src, total) == 0);
		rg_close(p[0]);
		rg_close(p[1]);
	}
	free(src);
	free(got);
	return 0;
}
RGIO_CASE(write_stopped, "2")

/* ---- signal handlers ------------------------------------------------------ */

/* After start, SIGQUIT's handler is ringo's and runs on the alternate
 * stack (SA_ONSTACK). */
static void test_sigquit_on_altstack(void **state)
{
	(void)state;
	signal(SIGQUIT, SIG_DFL);
	assert_int_equal(rg_init(NULL), 0);
	struct sigaction cur;
	assert_int_equal(sigaction(SIGQUIT, NULL, &cur), 0);
	rg_shutdown();
	assert_true(cur.sa_flags & SA_SIGINFO);
	assert_true(cur.sa_flags & SA_ONSTACK);
}

/* Recurses until less than `left` bytes of the goroutine's stack
 * remain, then raises SIGQUIT there. */
void rgta_deep_quit(size_t left); /* not static: named in backtraces */
void rgta_deep_quit(size_t left)
{
	volatile char pad[256];
	pad[0] = 1;
	char *sp = __builtin_frame_address(0);
	if ((size_t)(sp - rg__getg()->stack_lo) > left)
		rgta_deep_quit(left);
	else
		raise(SIGQUIT); /* the handler exits the process */
	pad[1] = pad[0]; /* after the call: not a tail call */
}

static void deep_goroutine(void *arg)
{
	(void)arg;
	/* Bind raise's PLT slot now: the dynamic linker's first-call
	 * resolver saves the vector registers on the stack (KiBs). */
	raise(0);
	rgta_deep_quit(3000);
}

static int quit_deep_main(void *arg)
{
	(void)arg;
	rg_go(deep_goroutine, NULL);
	rg_sleep(RGT_NEVER_MS * RG_MILLISECOND);
	return 3;
}

static int quit_deep_child(void *arg)
{
	(void)arg;
	signal(SIGQUIT, SIG_DFL);
	return rg_main(quit_deep_main, NULL);
}

/* SIGQUIT raised on a goroutine with 3000 bytes of stack left still
 * dumps the goroutines and exits 2: the handler's frames (a 1 KiB line
 * buffer, the unwinder) are on the alternate stack, not on the
 * goroutine's, where they would run into its guard page. */
static void test_sigquit_deep_in_a_stack(void **state)
{
	(void)state;
	static rgt_child_t res;
	assert_int_equal(rgt_run_child(quit_deep_child, NULL, 60, &res), 0);
	if (!res.exited || res.code != 2 || !strstr(res.out, "SIGQUIT: quit"))
		fail_msg("status %d (exited %d code %d, signal %d), output:\n%s", res.status,
			 res.exited, res.code, res.sig, res.out);
	assert_non_null(strstr(res.out, "rgta_deep_quit"));
}

/* In a fresh process (this binary again, with RGT_API_PRIMED set: a
 * forked child would inherit what earlier tests loaded): 0 if rg_init
 * loaded libgcc_s, 2 if not, 77 if it was loaded before (sanitizer
 * runtimes may load it). */
static int primed_check(void)
{
	if (dlopen("libgcc_s.so.1", RTLD_LAZY | RTLD_NOLOAD))
		return 77;
	if (rg_init(NULL) != 0)
		return 1;
	bool loaded = dlopen("libgcc_s.so.1", RTLD_LAZY | RTLD_NOLOAD) != NULL;
	rg_shutdown();
	return loaded ? 0 : 2;
}

static int primed_child(void *arg)
{
	(void)arg;
	setenv("RGT_API_PRIMED", "1", 1);
	execl("/proc/self/exe", "test_api", (char *)NULL);
	return 126;
}

/* The first backtrace() loads libgcc_s's unwinder (dlopen: malloc and
 * the loader's lock, neither safe in a signal handler): the runtime
 * makes that call at start, before any handler can need it. */
static void test_backtrace_primed_at_start(void **state)
{
	(void)state;
	static rgt_child_t res;
	assert_int_equal(rgt_run_child(primed_child, NULL, 30, &res), 0);
	if (res.exited && res.code == 77)
		skip();
	if (!res.exited || res.code != 0)
		fail_msg("libgcc_s not loaded by rg_init (status %d): %s", res.status, res.out);
}

int main(void)
{
	if (getenv("RGT_API_PRIMED"))
		return primed_check();
	rgio_ignore_sigpipe();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_config_older_layout),
		cmocka_unit_test(test_config_newer_layout),
		cmocka_unit_test(test_stats_layouts),
		cmocka_unit_test(test_ctx_constructors_out_of_memory),
		cmocka_unit_test(test_group_new_out_of_memory),
		RGIO_TESTS(write_stopped),
		cmocka_unit_test(test_sigquit_on_altstack),
		cmocka_unit_test(test_sigquit_deep_in_a_stack),
		cmocka_unit_test(test_backtrace_primed_at_start),
	};
	if (getenv("RGT_FILTER"))
		cmocka_set_test_filter(getenv("RGT_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
