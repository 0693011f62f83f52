// SPDX-License-Identifier: MIT
/*
 * Failure reports: panics, deadlock detection, SIGQUIT dumps, on-demand
 * dumps and the runtime's own fatal errors.
 *
 * Each fatal scenario runs in a child process (rgt_run_child) whose exit
 * status and output are checked.  White-box: the deadlock and bad-ready
 * cases call the internal rg__park/rg__ready (rt.h).
 */
#include "helpers/rgcheck.h"
#include "helpers/rgtest.h"
#include "helpers/rgpark.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt.h"

#define MS RG_MILLISECOND

static rgt_child_t res;

/* Runs fn in a child with the default SIGSEGV action (not the test
 * runner's handler) and fails with the child's output if it did not end
 * as expected: sig > 0, killed by that signal; else exited with code. */
static void run_child(int (*fn)(void *), void *arg, int sig, int code)
{
	assert_int_equal(rgt_run_child(fn, arg, 30, &res), 0);
	if (getenv("RGT_SHOW"))
		fprintf(stderr, "---- child output:\n%s----\n", res.out);
	bool ok = sig > 0 ? res.signaled && res.sig == sig : res.exited && res.code == code;
	if (!ok) {
		fprintf(stderr, "---- child output:\n%s---- end\n", res.out);
		fail_msg("child: exited %d code %d, signal %d (wanted %s %d)", res.exited,
			 res.code, res.sig, sig > 0 ? "signal" : "code", sig > 0 ? sig : code);
	}
}

static void expect_out(const char *what)
{
	if (!strstr(res.out, what)) {
		fprintf(stderr, "---- child output:\n%s---- end\n", res.out);
		fail_msg("child output lacks \"%s\"", what);
	}
}

/* Finds the header line of goroutine `id` (< 0: any) in text: it must
 * show `state` first in its brackets (", hog" or a wait time may follow:
 * sysmon flags a goroutine that a loaded machine kept off the CPU for
 * 10 ms) and the goroutine's quoted name. */
static bool has_goroutine(const char *text, long long id, const char *state, const char *name)
{
	char qname[48];
	snprintf(qname, sizeof(qname), "\"%s\"", name);
	size_t slen = strlen(state);
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, "goroutine ", 10) != 0)
			continue;
		char *end;
		long long gid = strtoll(line + 10, &end, 10);
		if (end == line + 10 || (id >= 0 && gid != id) || strncmp(end, " [", 2) != 0)
			continue;
		const char *st = end + 2;
		if (strncmp(st, state, slen) != 0 || (st[slen] != ']' && st[slen] != ','))
			continue;
		const char *eol = strchr(line, '\n');
		const char *q = strstr(line, qname);
		if (q && (!eol || q < eol))
			return true;
	}
	return false;
}

static void expect_goroutine(long long id, const char *state, const char *name)
{
	if (!has_goroutine(res.out, id, state, name)) {
		fprintf(stderr, "---- child output:\n%s---- end\n", res.out);
		fail_msg("child output lacks goroutine %lld [%s] \"%s\"", id, state, name);
	}
}

static void child_prep(void)
{
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
}

/* Goroutine bodies the dumps name: global, so that -rdynamic exports
 * them and backtrace_symbols shows their names. */
void rgtf_sleeper(void *arg);
void rgtf_parker(void *arg);

/* ---- rg_panic ------------------------------------------------------- */

static void panicker(void *arg)
{
	(void)arg;
	char line[64];
	int n = snprintf(line, sizeof(line), "my goid is %lld\n", (long long)rg_goid());
	if (write(1, line, (size_t)n) < 0)
		return;
	rg_panic("boom %d", 7);
}

static int panic_main(void *arg)
{
	(void)arg;
	rg_go_named("panicker", panicker, NULL);
	rg_sleep(10 * RG_SECOND);
	return 3;
}

static int panic_child(void *arg)
{
	(void)arg;
	child_prep();
	return rg_main(panic_main, NULL);
}

/* rg_panic from a goroutine aborts with "panic: boom 7" and the
 * goroutine's id and name as the running goroutine. */
static void test_panic_report(void **state)
{
	(void)state;
	run_child(panic_child, NULL, SIGABRT, 0);
	long long id = 0;
	const char *p = strstr(res.out, "my goid is ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "my goid is %lld", &id), 1);
	assert_true(id > 1);
	expect_out("panic: boom 7\n");
	expect_goroutine(id, "running", "panicker");
	expect_out("created with start function");
}

static void *foreign_panic(void *arg)
{
	(void)arg;
	rg_panic("from a thread");
}

static int foreign_panic_main(void *arg)
{
	(void)arg;
	pthread_t th;
	pthread_create(&th, NULL, foreign_panic, NULL);
	rg_sleep(10 * RG_SECOND);
	return 3;
}

static int foreign_panic_child(void *arg)
{
	(void)arg;
	child_prep();
	return rg_main(foreign_panic_main, NULL);
}

/* rg_panic on a foreign thread reports it as one. */
static void test_panic_foreign_thread(void **state)
{
	(void)state;
	run_child(foreign_panic_child, NULL, SIGABRT, 0);
	expect_out("panic: from a thread\n");
	expect_out("goroutine 0 [foreign thread]");
}

/* ---- deadlock ------------------------------------------------------- */

static int deadlock_main(void *arg)
{
	(void)arg;
	rg__park(NULL, NULL, RG_WAIT_SELECT_NO_CASES);
	return 3;
}

static int deadlock_child(void *arg)
{
	child_prep();
	if (arg)
		setenv("RINGO_PROCS", arg, 1);
	return rg_main(deadlock_main, NULL);
}

/* The main goroutine parked with no one to wake it: exit status 2 and
 * Go's deadlock message, with main's wait reason. */
static void test_deadlock_main_only(void **state)
{
	(void)state;
	run_child(deadlock_child, NULL, 0, 2);
	expect_out("fatal error: all goroutines are asleep - deadlock!");
	expect_out("goroutine 1 [select (no cases)");
	expect_out("\"main\"");
}

/* The same on one P. */
static void test_deadlock_one_proc(void **state)
{
	(void)state;
	run_child(deadlock_child, "1", 0, 2);
	expect_out("fatal error: all goroutines are asleep - deadlock!");
	expect_out("goroutine 1 [select (no cases)");
}

static rg_chan_t *ref_ch;

/* Sends once main is parked in its receive and every M has gone to
 * sleep, the last one having looked for a deadlock: without the
 * reference, that look would have reported one. */
static void *late_sender(void *arg)
{
	int64_t main_id = *(int64_t *)arg;
	if (!rgp_wait_parked(main_id, NULL, RG_WAIT_CHAN_RECV, 1, RGT_NEVER_MS) ||
	    !rgp_wait_all_idle(RGT_NEVER_MS)) {
		fprintf(stderr, "main never parked, or the Ms never slept\n");
		_exit(5);
	}
	int v = 7;
	rg_chan_send(ref_ch, &v);
	rg_unref();
	return NULL;
}

static int ref_main(void *arg)
{
	(void)arg;
	pthread_t th;
	int v = 0;
	static int64_t self;
	self = rg_goid();
	ref_ch = RG_CHAN(int, 0);
	rg_ref(); /* the thread will wake us later: no deadlock meanwhile */
	pthread_create(&th, NULL, late_sender, &self);
	bool ok = rg_chan_recv(ref_ch, &v);
	pthread_join(th, NULL);
	rg_chan_free(ref_ch);
	return ok && v == 7 ? 0 : 1;
}

static int ref_child(void *arg)
{
	(void)arg;
	child_prep();
	return rg_main(ref_main, NULL);
}

/* A foreign thread that holds rg_ref, and sends only once every M has
 * gone to sleep around main's receive, keeps the detector quiet (no
 * report, exit 0); without the reference the same program is reported
 * as deadlocked. */
static void test_ref_prevents_false_deadlock(void **state)
{
	(void)state;
	run_child(ref_child, NULL, 0, 0);
	assert_null(strstr(res.out, "deadlock"));
}

static _Atomic long parked_count;

void rgtf_parker(void *arg)
{
	atomic_fetch_add(&parked_count, 1);
	rg__park(NULL, NULL, (rg_wait_reason_t)(uintptr_t)arg);
}

static int deadlock_many_main(void *arg)
{
	(void)arg;
	rg_go_named("parker-recv", rgtf_parker, (void *)(uintptr_t)RG_WAIT_CHAN_RECV_NIL);
	rg_go_named("parker-mutex", rgtf_parker, (void *)(uintptr_t)RG_WAIT_MUTEX);
	rg_go_named("parker-wg", rgtf_parker, (void *)(uintptr_t)RG_WAIT_WAITGROUP);
	while (atomic_load(&parked_count) < 3)
		rg_yield();
	rg__park(NULL, NULL, RG_WAIT_SELECT_NO_CASES);
	return 3;
}

static int deadlock_many_child(void *arg)
{
	(void)arg;
	child_prep();
	return rg_main(deadlock_many_main, NULL);
}

/* With several goroutines parked for good, the deadlock report lists
 * every one with its name and wait reason. */
static void test_deadlock_many(void **state)
{
	(void)state;
	run_child(deadlock_many_child, NULL, 0, 2);
	expect_out("fatal error: all goroutines are asleep - deadlock!");
	expect_goroutine(1, "select (no cases)", "main");
	expect_goroutine(-1, "chan receive (nil chan)", "parker-recv");
	expect_goroutine(-1, "sync.Mutex.Lock", "parker-mutex");
	expect_goroutine(-1, "sync.WaitGroup.Wait", "parker-wg");
	expect_out("rgtf_parker");
}

static int sleep_forever_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		rg_sleep(20 * MS);
	return 0;
}

/* Sleeping is not a deadlock: a main goroutine whose only wake-up is a
 * timer returns normally. */
static void test_sleep_is_not_deadlock(void **state)
{
	(void)state;
	rgc_main(sleep_forever_main, NULL);
}

/* ---- SIGQUIT -------------------------------------------------------- */

static _Atomic long sleepers_started;

void rgtf_sleeper(void *arg)
{
	(void)arg;
	atomic_fetch_add(&sleepers_started, 1);
	rg_sleep(10 * RG_SECOND);
}

static int quit_main(void *arg)
{
	(void)arg;
	rg_go_named("sleepy-one", rgtf_sleeper, NULL);
	rg_go_named("sleepy-two", rgtf_sleeper, NULL);
	rg_go_named("sleepy-three", rgtf_sleeper, NULL);
	/* All three parked in their sleep, so the dump shows them so. */
	if (!rgp_wait_parked(0, rgtf_sleeper, RG_WAIT_SLEEP, 3, RGT_NEVER_MS))
		return 4;
	raise(SIGQUIT);
	rg_sleep(10 * RG_SECOND);
	return 3;
}

static int quit_child(void *arg)
{
	(void)arg;
	child_prep();
	return rg_main(quit_main, NULL);
}

/* SIGQUIT dumps every goroutine (names, "sleep") and exits with 2. */
static void test_sigquit_dump(void **state)
{
	(void)state;
	run_child(quit_child, NULL, 0, 2);
	expect_out("SIGQUIT");
	expect_goroutine(-1, "sleep", "sleepy-one");
	expect_goroutine(-1, "sleep", "sleepy-two");
	expect_goroutine(-1, "sleep", "sleepy-three");
	expect_goroutine(1, "running", "main");
	expect_out("rgtf_sleeper");
}

/* ---- rg_dump_goroutines --------------------------------------------- */

static char dump[65536];

/* rg_dump_goroutines into dump (NUL-terminated); false if it wrote
 * nothing. */
static bool dump_now(void)
{
	dump[0] = 0;
	int fd = memfd_create("dump", MFD_CLOEXEC);
	if (fd < 0)
		return false;
	rg_dump_goroutines(fd);
	ssize_t n = pread(fd, dump, sizeof(dump) - 1, 0);
	close(fd);
	dump[n > 0 ? n : 0] = 0;
	return n > 0;
}

static int dump_main(void *arg)
{
	(void)arg;
	atomic_store(&sleepers_started, 0);
	CHECK(rg_go_named("napper-a", rgtf_sleeper, NULL) == 0);
	CHECK(rg_go_named("napper-b", rgtf_sleeper, NULL) == 0);
	CHECK(rgp_wait_parked(0, rgtf_sleeper, RG_WAIT_SLEEP, 2, RGT_NEVER_MS));
	CHECK(dump_now());
	return 0;
}

static void expect_dump(const char *what)
{
	if (!strstr(dump, what)) {
		fprintf(stderr, "---- dump:\n%s---- end\n", dump);
		fail_msg("dump lacks \"%s\"", what);
	}
}

/* rg_dump_goroutines(fd) in-process lists main as running and the named
 * sleepers as sleeping, each with its start function. */
static void test_dump_goroutines(void **state)
{
	(void)state;
	rgc_main(dump_main, NULL);
	if (!has_goroutine(dump, 1, "running", "main")) {
		fprintf(stderr, "---- dump:\n%s---- end\n", dump);
		fail_msg("dump lacks goroutine 1 [running] \"main\"");
	}
	expect_dump("created with start function");
	expect_dump("rgtf_sleeper");
	/* The sleepers are reported as sleeping, not running. */
	if (!has_goroutine(dump, -1, "sleep", "napper-a") ||
	    !has_goroutine(dump, -1, "sleep", "napper-b")) {
		fprintf(stderr, "---- dump:\n%s---- end\n", dump);
		fail_msg("dump lacks the nappers as sleeping");
	}
	/* Without a runtime it says so. */
	assert_true(dump_now());
	expect_dump("not running");
}

/* ---- how long a goroutine has waited ------------------------------- */

static rg_chan_t *wait_ch;

void rgtf_waiter(void *arg);
void rgtf_waiter(void *arg)
{
	(void)arg;
	int v;
	rg_chan_recv(wait_ch, &v);
}

/* The header line of the goroutine named name in dump, or NULL. */
static const char *header_of(const char *name, char *line, size_t cap)
{
	char qname[48];
	snprintf(qname, sizeof(qname), "\"%s\"", name);
	const char *q = strstr(dump, qname);
	if (!q)
		return NULL;
	const char *b = q;
	while (b > dump && b[-1] != '\n')
		b--;
	const char *e = strchr(q, '\n');
	size_t n = e ? (size_t)(e - b) : strlen(b);
	if (n >= cap)
		n = cap - 1;
	memcpy(line, b, n);
	line[n] = 0;
	return line;
}

static int wait_time_main(void *arg)
{
	(void)arg;
	wait_ch = RG_CHAN(int, 0);
	CHECK(rg_go_named("waited-long", rgtf_waiter, NULL) == 0);
	CHECK(rgp_wait_parked(0, rgtf_waiter, RG_WAIT_CHAN_RECV, 1, RGT_NEVER_MS));
	/* Every P idle for over a second: sysmon sleeps, and its clock
	 * (sched.c coarse_now) with it, until a P is taken again. */
	rg_sleep(1100 * MS);
	CHECK(rg_go_named("waited-short", rgtf_waiter, NULL) == 0);
	CHECK(rgp_wait_parked(0, rgtf_waiter, RG_WAIT_CHAN_RECV, 2, RGT_NEVER_MS));
	CHECK(dump_now());
	rg_chan_close(wait_ch);
	return 0;
}

/* A goroutine's header says how long it has waited, as Go's does: one
 * parked over a second ago shows seconds; one that parked just now,
 * after every P had been idle for that second, shows no time (its
 * park was stamped with the time of its park, not of sysmon's last
 * look before it slept). */
static void test_dump_wait_time(void **state)
{
	(void)state;
	rgc_main(wait_time_main, NULL);
	char a[256], b[256];
	if (!header_of("waited-long", a, sizeof(a)) || !header_of("waited-short", b, sizeof(b))) {
		fprintf(stderr, "---- dump:\n%s---- end\n", dump);
		fail_msg("dump lacks the waiters");
	}
	if (!strstr(a, "[chan receive, ") || !strstr(a, " seconds]"))
		fail_msg("long waiter: \"%s\" (wanted chan receive, N seconds)", a);
	if (!strstr(b, "[chan receive") || strstr(b, "seconds") || strstr(b, "minutes"))
		fail_msg("short waiter: \"%s\" (wanted chan receive, under a second)", b);
}

#define LONG_NAME "abcdefghijklmnopqrstuvwxyz0123456789ABCD" /* 40 bytes */

static int long_name_main(void *arg)
{
	(void)arg;
	atomic_store(&sleepers_started, 0);
	char name[64];
	strcpy(name, LONG_NAME);
	CHECK(rg_go_named(name, rgtf_sleeper, NULL) == 0);
	memset(name, 'X', sizeof(name) - 1); /* the runtime kept a copy */
	CHECK(rgc_wait_ge(&sleepers_started, 1, 10000));
	CHECK(dump_now());
	return 0;
}

/* rg_go_named copies the name and keeps 31 bytes of it (ringo.h). */
static void test_name_copied_31_bytes(void **state)
{
	(void)state;
	rgc_main(long_name_main, NULL);
	char want[40];
	snprintf(want, sizeof(want), "\"%.31s\"", LONG_NAME);
	expect_dump(want);
}

/* ---- runtime fatal errors ------------------------------------------- */

static int bad_ready_main(void *arg)
{
	(void)arg;
	rg__ready(rg__getg());
	return 3;
}

static int bad_ready_child(void *arg)
{
	(void)arg;
	child_prep();
	return rg_main(bad_ready_main, NULL);
}

/* Readying a goroutine that is not waiting is a fatal error (SIGABRT). */
static void test_ready_running_is_fatal(void **state)
{
	(void)state;
	run_child(bad_ready_child, NULL, SIGABRT, 0);
	expect_out("fatal error: ready of a goroutine that is not waiting");
	expect_goroutine(1, "running", "main");
}

static void *exit_thread(void *arg)
{
	(void)arg;
	rg_exit();
}

static int exit_foreign_main(void *arg)
{
	(void)arg;
	pthread_t th;
	pthread_create(&th, NULL, exit_thread, NULL);
	rg_sleep(10 * RG_SECOND);
	return 3;
}

static int exit_foreign_child(void *arg)
{
	(void)arg;
	child_prep();
	return rg_main(exit_foreign_main, NULL);
}

/* rg_exit on a foreign thread is a panic. */
static void test_exit_foreign_panics(void **state)
{
	(void)state;
	run_child(exit_foreign_child, NULL, SIGABRT, 0);
	expect_out("panic: rg_exit called outside a goroutine");
}

static int *volatile null_ptr;

void rgtf_null_deref(void *arg);

void rgtf_null_deref(void *arg)
{
	(void)arg;
	*null_ptr = 1;
}

static int segv_main(void *arg)
{
	(void)arg;
	rg_go_named("crasher", rgtf_null_deref, NULL);
	rg_sleep(10 * RG_SECOND);
	return 3;
}

static int segv_child(void *arg)
{
	(void)arg;
	child_prep();
	return rg_main(segv_main, NULL);
}

/* A fault outside any stack guard is not reported as an overflow.  With
 * no handler of the program's own it is Go's nil dereference report,
 * naming the goroutine and its frames, and then the default action. */
static void test_segv_not_overflow(void **state)
{
	(void)state;
	run_child(segv_child, NULL, SIGSEGV, 0);
	assert_null(strstr(res.out, "stack overflow"));
	expect_out("panic: runtime error: invalid memory address or nil pointer dereference\n"
		   "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x");
	expect_out("[running] \"crasher\":\n");
	/* The stack starts at the faulting frame, not in the handler. */
	const char *hdr = strstr(res.out, "\"crasher\":\n");
	const char *first = hdr + strlen("\"crasher\":\n");
	if (!strstr(first, "rgtf_null_deref") ||
	    strstr(first, "rgtf_null_deref") > strchr(first, '\n')) {
		fprintf(stderr, "---- child output:\n%s---- end\n", res.out);
		fail_msg("the crasher's first frame is not rgtf_null_deref");
	}
}

static void wild_deref(void *arg)
{
	*(volatile int *)arg = 1;
}

/* A page that faults (PROT_NONE): a fixed wild address could fall in a
 * sanitizer's shadow gap, which its check would touch first. */
static int wild_main(void *arg)
{
	(void)arg;
	void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 4;
	rg_go_named("wild", wild_deref, page);
	rg_sleep(10 * RG_SECOND);
	return 3;
}

static int wild_child(void *arg)
{
	(void)arg;
	child_prep();
	return rg_main(wild_main, NULL);
}

/* Above the first page it is no nil dereference: Go's "unexpected
 * fault address". */
static void test_segv_wild_address(void **state)
{
	(void)state;
	run_child(wild_child, NULL, SIGSEGV, 0);
	expect_out("unexpected fault address 0x");
	expect_out("\nfatal error: fault\n[signal SIGSEGV: segmentation violation code=0x2 addr=0x");
	expect_out("[running] \"wild\":\n");
}

static void host_segv(int sig)
{
	(void)sig;
	static const char msg[] = "host handler\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(43);
	_exit(42);
}

static int host_handler_child(void *arg)
{
	(void)arg;
	child_prep();
	signal(SIGSEGV, host_segv);
	return rg_main(segv_main, NULL);
}

/* A handler the program installed before the runtime started gets the
 * fault, and the runtime says nothing over it. */
static void test_segv_host_handler_chained(void **state)
{
	(void)state;
	run_child(host_handler_child, NULL, 0, 42);
	expect_out("host handler\n");
	assert_null(strstr(res.out, "nil pointer dereference"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_panic_report),
		cmocka_unit_test(test_panic_foreign_thread),
		cmocka_unit_test(test_deadlock_main_only),
		cmocka_unit_test(test_deadlock_one_proc),
		cmocka_unit_test(test_deadlock_many),
		cmocka_unit_test(test_ref_prevents_false_deadlock),
		cmocka_unit_test(test_sleep_is_not_deadlock),
		cmocka_unit_test(test_sigquit_dump),
		cmocka_unit_test(test_dump_goroutines),
		cmocka_unit_test(test_dump_wait_time),
		cmocka_unit_test(test_name_copied_31_bytes),
		cmocka_unit_test(test_ready_running_is_fatal),
		cmocka_unit_test(test_exit_foreign_panics),
		cmocka_unit_test(test_segv_not_overflow),
		cmocka_unit_test(test_segv_wild_address),
		cmocka_unit_test(test_segv_host_handler_chained),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
