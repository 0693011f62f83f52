// SPDX-License-Identifier: MIT
/*
 * test_cxx.cc — ringo.h from C++ (built with -std=c++11 -pedantic-errors,
 * see the Makefile): the select-case macros, RG_CHAN and RG_RANGE, the
 * sync types zero-initialised as C++ value-initialises them, contexts,
 * the growable stats struct, and goroutines whose frames hold C++
 * objects with destructors.  That it compiles is half the test; each
 * case then runs the calls and checks what they did.
 *
 * Goroutines cannot use cmocka's asserts (they longjmp to the runner's
 * stack), so checks inside goroutines record the first failure in
 * `failed` and the test asserts on it after rg_main returns.
 */
#include <atomic>
#include <csetjmp>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

extern "C" { /* cmocka.h declares its functions without it */
#include <cmocka.h>
}
#include <ringo.h>

static std::atomic<int> failed_line(0);

#define GCHECK(c)                                             \
	do {                                                  \
		if (!(c)) {                                   \
			int zero = 0;                         \
			failed_line.compare_exchange_strong(zero, __LINE__); \
		}                                             \
	} while (0)

static void run_main(int (*fn)(void *))
{
	failed_line = 0;
	int rc = rg_main(fn, nullptr);
	if (failed_line)
		fail_msg("check failed at test_cxx.cc:%d", failed_line.load());
	assert_int_equal(rc, 0);
}

/* A trivially copyable element: channels copy elements with memcpy. */
struct point {
	int x, y;
};

/* ---- channels and select --------------------------------------------- */

static void producer(void *arg)
{
	rg_chan_t *c = static_cast<rg_chan_t *>(arg);
	for (int i = 1; i <= 3; i++) {
		point p = {i, 10 * i};
		rg_chan_send(c, &p);
	}
	rg_chan_close(c);
}

/* RG_CHAN, rg_go, RG_RANGE over a struct channel, then select with
 * RG_SEND and RG_RECV built in an array initialiser. */
static int chan_main(void *)
{
	rg_chan_t *c = RG_CHAN(point, 0);
	GCHECK(c != nullptr);
	GCHECK(rg_go(producer, c) == 0);
	int sum = 0;
	point p;
	RG_RANGE(c, p) { sum += p.x + p.y; }
	GCHECK(sum == 66);
	rg_chan_free(c);

	rg_chan_t *a = RG_CHAN(int, 1), *b = RG_CHAN(int, 1);
	const int one = 1;
	int got = 0;
	rg_case_t cs[] = {RG_SEND(a, &one), RG_RECV(b, &got), RG_RECV(nullptr, NULL)};
	GCHECK(rg_select(cs, 3, true) == 0);            /* only the send is ready */
	GCHECK(cs[0].ok && rg_chan_len(a) == 1);
	GCHECK(rg_select(cs + 1, 2, false) == -1);      /* default: */
	GCHECK(rg_chan_try_send(b, &one) == 0);
	GCHECK(rg_select(cs + 1, 2, true) == 0 && cs[1].ok && got == 1);
	rg_chan_free(a);
	rg_chan_free(b);
	return 0;
}

static void test_channels_and_select(void **)
{
	run_main(chan_main);
}

/* ---- sync, with C++ objects on goroutine stacks --------------------- */

struct shared {
	rg_mutex_t mu;
	rg_waitgroup_t wg;
	std::vector<std::string> log; /* guarded by mu */
};

static void appender(void *arg)
{
	shared *s = static_cast<shared *>(arg);
	for (int i = 0; i < 100; i++) {
		std::string line = "goroutine " + std::to_string(rg_goid()) + " line " +
				   std::to_string(i);
		rg_mutex_lock(&s->mu);
		s->log.push_back(line);
		rg_mutex_unlock(&s->mu);
		if (i % 10 == 0)
			rg_yield(); /* a switch with live C++ objects in the frame */
	}
	rg_wg_done(&s->wg);
}

/* Value-initialised rg_mutex_t and rg_waitgroup_t are ready (as zeroed
 * C values are); goroutines that hold std::string and grow a
 * std::vector under the mutex switch and finish cleanly. */
static int sync_main(void *)
{
	shared *s = new shared(); /* value-initialised: the sync words are 0 */
	rg_wg_add(&s->wg, 8);
	for (int i = 0; i < 8; i++)
		GCHECK(rg_go(appender, s) == 0);
	rg_wg_wait(&s->wg);
	GCHECK(s->log.size() == 800);
	delete s;
	return 0;
}

static void test_sync_with_cxx_objects(void **)
{
	run_main(sync_main);
}

/* ---- contexts, stats, version ----------------------------------------- */

static int ctx_main(void *)
{
	rg_ctx_t *ctx = rg_ctx_with_timeout(rg_ctx_background(), 5 * RG_MILLISECOND);
	GCHECK(ctx != nullptr);
	rg_case_t cs[] = {RG_RECV(rg_ctx_done(ctx), NULL)};
	GCHECK(rg_select(cs, 1, true) == 0 && !cs[0].ok);
	GCHECK(rg_ctx_err(ctx) == -ETIMEDOUT);
	const rg_ctx_t *ro = ctx; /* queries take a const context */
	int64_t t = 0;
	GCHECK(rg_ctx_deadline(ro, &t) && t > 0);
	GCHECK(rg_ctx_value(ro, &t) == nullptr);
	rg_ctx_cancel(ctx);
	rg_ctx_release(ctx);

	rg_stats_t st;
	GCHECK(rg_stats(&st) == 0 && st.procs == rg_procs() && st.goroutines >= 1);
	GCHECK(rg_version() == RINGO_VERSION_NUMBER);
	return 0;
}

static void test_ctx_stats_version(void **)
{
	run_main(ctx_main);
}

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_channels_and_select),
		cmocka_unit_test(test_sync_with_cxx_objects),
		cmocka_unit_test(test_ctx_stats_version),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
