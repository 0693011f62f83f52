// SPDX-License-Identifier: MIT
/*
 * Goroutine stacks: both guard mechanisms, overflow reports, the stack
 * size setting, deep use of the default stack, and reuse of stacks.
 *
 * Overflows run in child processes (rgt_run_child); the rest run as main
 * goroutines with checks recorded by helpers/rgcheck.h.
 */
#include "helpers/rgcheck.h"
#include "helpers/rgtest.h"
#include "helpers/rgpark.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

#define MS RG_MILLISECOND
#define KiB ((size_t)1024)

/* ---- using the stack ------------------------------------------------ */

/* Recurses with 256-byte frames, touching each, until the frames below
 * `top` span `bytes` (SIZE_MAX: until the guard stops it).  Not a tail
 * call: each frame reads its buffer after the callee returns. */
static __attribute__((noinline)) int dive(char *top, size_t bytes, int depth)
{
	volatile char buf[256];
	buf[0] = (char)depth;
	buf[255] = (char)depth;
	char *here = __builtin_frame_address(0);
	if ((size_t)(top - here) >= bytes)
		return buf[0];
	return dive(top, bytes, depth + 1) + buf[255];
}

static int use_stack(size_t bytes)
{
	return dive(__builtin_frame_address(0), bytes, 0);
}

/* Reads a counter from /proc/self/statm (field 1: resident pages). */
static long statm_field(int field)
{
	long v[7] = {0};
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	int n = fscanf(f, "%ld %ld %ld %ld %ld %ld %ld", &v[0], &v[1], &v[2], &v[3], &v[4],
		       &v[5], &v[6]);
	fclose(f);
	return n > field ? v[field] : -1;
}

static long rss_bytes(void)
{
	return statm_field(1) * sysconf(_SC_PAGESIZE);
}

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	long n = 0;
	int c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* ---- 10k parked goroutines under each guard mode -------------------- */

#define PARK_N RGT_LIVE(10000)
static _Atomic long park_started, park_finished, park_corrupt;
static _Atomic int park_go;
static int64_t park_until;

static void parker(void *arg)
{
	volatile char buf[4096];
	char tag = (char)(uintptr_t)arg;
	for (size_t i = 0; i < sizeof(buf); i += 64)
		buf[i] = (char)(tag + (char)i);
	atomic_fetch_add(&park_started, 1);
	/* Normally one sleep; on a machine too slow to start them all by
	 * park_until, more, until main has seen all of them parked. */
	rg_sleep(park_until - rg_now());
	while (!atomic_load(&park_go))
		rg_sleep(100 * MS);
	for (size_t i = 0; i < sizeof(buf); i += 64)
		if (buf[i] != (char)(tag + (char)i))
			atomic_fetch_add(&park_corrupt, 1);
	atomic_fetch_add(&park_finished, 1);
}

static int park_main(void *arg)
{
	const char *mode = arg;
	atomic_store(&park_started, 0);
	atomic_store(&park_finished, 0);
	atomic_store(&park_corrupt, 0);
	atomic_store(&park_go, 0);
	if (mode)
		CHECK(strcmp(rg__stack_guard_mode(), mode) == 0);
	long maps0 = count_maps();
	park_until = rg_now() + 500 * MS;
	for (uintptr_t i = 0; i < PARK_N; i++)
		CHECK(rg_go(parker, (void *)i) == 0);
	bool started = rgc_wait_ge(&park_started, PARK_N, 30000);
	/* All of them are parked at once: each holds its own stack. */
	long maps1 = count_maps();
	long finished = atomic_load(&park_finished);
	int alive = rg_num_goroutines();
	atomic_store(&park_go, 1);
	CHECK(started);
	CHECK_CMP(finished, ==, 0);
	CHECK_CMP(alive, ==, PARK_N + 1);
	/* mprotect splits every stack's mapping; guard regions do not.
	 * (ThreadSanitizer maps memory for each goroutine's fiber itself.) */
	if (strcmp(rg__stack_guard_mode(), "mprotect") == 0)
		CHECK_CMP(maps1 - maps0, >=, PARK_N);
#ifndef RGT_TSAN
	else
		CHECK_CMP(maps1 - maps0, <, PARK_N / 10);
#endif
	CHECK(rgc_wait_ge(&park_finished, PARK_N, 30000));
	CHECK_CMP(atomic_load(&park_corrupt), ==, 0);
	return 0;
}

/* 10k goroutines with 4 KiB of live locals park in rg_sleep, then wake
 * with their stacks intact, with the default guard mechanism. */
static void test_park_10k_default_guard(void **state)
{
	(void)state;
	rgt_env("RINGO_GUARD", NULL);
	rgc_main(park_main, NULL);
}

/* The same with RINGO_GUARD=mprotect (one VMA split per stack). */
static void test_park_10k_mprotect_guard(void **state)
{
	(void)state;
	rgt_env("RINGO_GUARD", "mprotect");
	rgc_main(park_main, "mprotect");
	rgt_env("RINGO_GUARD", NULL);
}

/* ---- overflow reports ----------------------------------------------- */

static _Atomic int diver_returned;

static void diver(void *arg)
{
	size_t bytes = (size_t)(uintptr_t)arg;
	use_stack(bytes);
	atomic_store(&diver_returned, 1);
}

struct overflow_case {
	const char *guard;  /* RINGO_GUARD, NULL: default */
	const char *ssize;  /* RINGO_STACK_SIZE, NULL: default */
	size_t bytes;       /* stack the goroutine uses */
};

static int overflow_main(void *arg)
{
	struct overflow_case *oc = arg;
	rg_go_named("deep-diver", diver, (void *)(uintptr_t)oc->bytes);
	for (int i = 0; i < 10000 && !atomic_load(&diver_returned); i++)
		rg_sleep(MS);
	return 3; /* the goroutine returned: no overflow */
}

static int overflow_child(void *arg)
{
	struct overflow_case *oc = arg;
	signal(SIGSEGV, SIG_DFL); /* not the test runner's handler */
	atomic_store(&diver_returned, 0);
	rgt_env("RINGO_GUARD", oc->guard);
	rgt_env("RINGO_STACK_SIZE", oc->ssize);
	return rg_main(overflow_main, oc);
}

static void expect_overflow(struct overflow_case *oc)
{
	static rgt_child_t res;
	assert_int_equal(rgt_run_child(overflow_child, oc, 30, &res), 0);
	if (!res.signaled || res.sig != SIGABRT) {
		fprintf(stderr, "---- child output:\n%s---- end\n", res.out);
		fail_msg("child: exited %d code %d, signal %d", res.exited, res.code, res.sig);
	}
	static const char *const want[] = {"fatal error: stack overflow", "goroutine ",
					   "deep-diver", "RINGO_STACK_SIZE"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(res.out, want[i])) {
			fprintf(stderr, "---- child output:\n%s---- end\n", res.out);
			fail_msg("child output lacks \"%s\"", want[i]);
		}
	}
}

/* Unbounded recursion in a named goroutine hits the guard: SIGABRT with
 * a report naming the goroutine (default guard mechanism). */
static void test_overflow_report_default_guard(void **state)
{
	(void)state;
	expect_overflow(&(struct overflow_case){.bytes = SIZE_MAX});
}

/* The same with RINGO_GUARD=mprotect. */
static void test_overflow_report_mprotect_guard(void **state)
{
	(void)state;
	expect_overflow(&(struct overflow_case){.guard = "mprotect", .bytes = SIZE_MAX});
}

/* ---- RINGO_STACK_SIZE ----------------------------------------------- */

static int small_stack_main(void *arg)
{
	(void)arg;
	atomic_store(&diver_returned, 0);
	CHECK(rg_go(diver, (void *)(uintptr_t)(32 * KiB)) == 0);
	for (int i = 0; i < 10000 && !atomic_load(&diver_returned); i++)
		rg_sleep(MS);
	CHECK(atomic_load(&diver_returned));
	return 0;
}

/* With RINGO_STACK_SIZE=64K a goroutine may use 32 KiB of stack. */
static void test_small_stack_fits(void **state)
{
	(void)state;
	rgt_env("RINGO_STACK_SIZE", "64K");
	rgc_main(small_stack_main, NULL);
	rgt_env("RINGO_STACK_SIZE", NULL);
}

/* With RINGO_STACK_SIZE=64K, 128 KiB of frames overflow, with the report,
 * under both guard mechanisms. */
static void test_small_stack_overflows(void **state)
{
	(void)state;
	expect_overflow(&(struct overflow_case){.ssize = "64K", .bytes = 128 * KiB});
	expect_overflow(&(struct overflow_case){
		.guard = "mprotect", .ssize = "65536", .bytes = 128 * KiB});
}

/* ---- most of the default stack -------------------------------------- */

static _Atomic long big_sum = -1;

static __attribute__((noinline)) void big_frame(void *arg)
{
	(void)arg;
	volatile char big[200 * 1024];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)i;
	long s = 0;
	for (size_t i = 0; i < sizeof(big); i += 4096)
		s += big[i] == (char)i;
	atomic_store(&big_sum, s);
}

static int big_main(void *arg)
{
	(void)arg;
	atomic_store(&big_sum, -1);
	CHECK(rg_go(big_frame, NULL) == 0);
	for (int i = 0; i < 10000 && atomic_load(&big_sum) < 0; i++)
		rg_sleep(MS);
	CHECK_CMP(atomic_load(&big_sum), ==, (long)(200 * 1024 / 4096));
	/* And 200 KiB of small frames. */
	atomic_store(&diver_returned, 0);
	CHECK(rg_go(diver, (void *)(uintptr_t)(200 * KiB)) == 0);
	for (int i = 0; i < 10000 && !atomic_load(&diver_returned); i++)
		rg_sleep(MS);
	CHECK(atomic_load(&diver_returned));
	return 0;
}

/* A goroutine may use 200 KiB of its default 256 KiB stack, in one frame
 * or in many, without a fault. */
static void test_default_stack_200k(void **state)
{
	(void)state;
	rgt_env("RINGO_STACK_SIZE", NULL);
	rgc_main(big_main, NULL);
}

/* ---- reuse ---------------------------------------------------------- */

#define REUSE_BATCH 1000
#define REUSE_BATCHES 10
static uintptr_t reuse_sp[REUSE_BATCH * REUSE_BATCHES];
static _Atomic long reuse_done;

static __attribute__((noinline)) void reuser(void *arg)
{
	use_stack(32 * KiB);
	/* The first frame sits at the same offset in every stack: its
	 * address names the stack. */
	reuse_sp[(uintptr_t)arg] = (uintptr_t)__builtin_frame_address(0);
	atomic_fetch_add(&reuse_done, 1);
}

static int cmp_uptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return (x > y) - (x < y);
}

static int reuse_main(void *arg)
{
	(void)arg;
	long rss2 = 0, rss10 = 0;
	atomic_store(&reuse_done, 0);
	for (int b = 0; b < REUSE_BATCHES; b++) {
		for (int i = 0; i < REUSE_BATCH; i++)
			CHECK(rg_go(reuser, (void *)(uintptr_t)(b * REUSE_BATCH + i)) == 0);
		CHECK(rgc_wait_ge(&reuse_done, (long)(b + 1) * REUSE_BATCH, 30000));
		/* Let the last ones finish exiting. */
		for (int i = 0; i < 1000 && rg_num_goroutines() != 1; i++)
			rg_sleep(MS);
		if (b == 1)
			rss2 = rss_bytes();
		if (b == REUSE_BATCHES - 1)
			rss10 = rss_bytes();
	}
#ifndef RGT_TSAN /* its shadow memory grows with every access */
	CHECK_CMP(rss10 - rss2, <, 4L << 20);
#else
	(void)rss2, (void)rss10;
#endif
	/* The same stacks served batch after batch. */
	qsort(reuse_sp, REUSE_BATCH * REUSE_BATCHES, sizeof(reuse_sp[0]), cmp_uptr);
	long distinct = 0;
	for (int i = 0; i < REUSE_BATCH * REUSE_BATCHES; i++)
		distinct += i == 0 || reuse_sp[i] != reuse_sp[i - 1];
	CHECK_CMP(distinct, <=, 2 * REUSE_BATCH);
	return 0;
}

/* 10 batches of 1000 goroutines, each using 32 KiB of stack: the slots
 * are reused, and RSS does not grow between batch 2 and batch 10. */
static void test_stacks_reused(void **state)
{
	(void)state;
	rgc_main(reuse_main, NULL);
}

/* ---- the memory a stack costs once its goroutine is gone ------------- */

#define SHADOW_N RGT_LIVE(10000)
static rg_chan_t *shadow_gate;
static _Atomic long shadow_done;

static void shadow_waiter(void *arg)
{
	(void)arg;
	rg_chan_recv(shadow_gate, NULL);
	atomic_fetch_add(&shadow_done, 1);
}

static int shadow_main(void *arg)
{
	(void)arg;
	shadow_gate = rg_chan_make(0, 0);
	CHECK(shadow_gate);
	atomic_store(&shadow_done, 0);
	long rss0 = rss_bytes();
	for (int i = 0; i < SHADOW_N; i++)
		CHECK(rg_go(shadow_waiter, NULL) == 0);
	/* All of them hold a stack at once, then exit. */
	for (int i = 0; i < 30000 && rgp_parked(0, shadow_waiter, -1) < SHADOW_N; i++)
		rg_sleep(MS);
	CHECK_CMP(rgp_parked(0, shadow_waiter, -1), ==, SHADOW_N);
	long parked = (rss_bytes() - rss0) / SHADOW_N;
	print_message("  %ld bytes resident per parked goroutine\n", parked);
	rg_chan_close(shadow_gate);
	CHECK(rgc_wait_ge(&shadow_done, SHADOW_N, 30000));
	for (int i = 0; i < 30000 && rg_num_goroutines() != 1; i++)
		rg_sleep(MS);
	long per = (rss_bytes() - rss0) / SHADOW_N;
	print_message("  %ld bytes resident per goroutine, parked then gone\n", per);
#ifdef RGT_TSAN /* its shadow grows with every access */
	(void)parked, (void)per;
#else
	/* A page or two of stack each, and its shadow.  Under ASan each
	 * new chunk's whole shadow was written (2 MiB per 64 stacks: 32 KiB
	 * a goroutine), and a stack's again on release: 37 KiB a goroutine
	 * measured before the fix, 8 after (issue 14). */
	CHECK_CMP(parked, <, (long)(24 * KiB));
	CHECK_CMP(per, <, (long)(24 * KiB));
#endif
	rg_chan_free(shadow_gate);
	return 0;
}

/* The child re-executes this program (main runs shadow_main alone when
 * RGT_SHADOW_CHILD is set): a fresh address space, whose shadow no
 * earlier test's stacks at the same addresses have committed (a fork
 * would share the parent's). */
static int shadow_child(void *arg)
{
	(void)arg;
	setenv("RGT_SHADOW_CHILD", "1", 1);
	execl("/proc/self/exe", "test_stack", (char *)NULL);
	return 127;
}

static void test_stack_shadow_used_part(void **state)
{
	(void)state;
	rgt_child_t *res = malloc(sizeof(*res));
	assert_non_null(res);
	assert_int_equal(rgt_run_child(shadow_child, NULL, 120, res), 0);
	print_message("%s", res->out);
	assert_true(res->exited);
	assert_int_equal(res->code, 0);
	free(res);
}

int main(void)
{
	if (getenv("RGT_SHADOW_CHILD"))
		return rg_main(shadow_main, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_park_10k_default_guard),
		cmocka_unit_test(test_park_10k_mprotect_guard),
		cmocka_unit_test(test_overflow_report_default_guard),
		cmocka_unit_test(test_overflow_report_mprotect_guard),
		cmocka_unit_test(test_small_stack_fits),
		cmocka_unit_test(test_small_stack_overflows),
		cmocka_unit_test(test_default_stack_200k),
		cmocka_unit_test(test_stacks_reused),
		cmocka_unit_test(test_stack_shadow_used_part),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
