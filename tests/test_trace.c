// SPDX-License-Identifier: MIT
/*
 * ringo-trace against programs with a known workload
 * (tests/trace_workload.c, linked statically and with libringo.so):
 *   - top --json counts the goroutines of each state exactly;
 *   - block names the function whose goroutines wait on a channel, and
 *     mutex the function that contends a lock; `go tool pprof -top`
 *     reads their --pprof output and shows those functions;
 *   - profile labels samples with goroutine names;
 *   - chan sees sends, receives and blocked receives (the probes
 *     behind one gate of probes.h);
 *   - record has one track per goroutine the program started;
 *   - -c starts and traces a program (static and dynamic);
 *   - attaching and detaching ten times leaves the program working, its
 *     goroutines as they were and every probe semaphore back at zero.
 *
 * Needs BUILD/ringo-trace (built when the BPF toolchain is there), root
 * and a kernel with BPF and uprobes.  Where one is missing each test
 * skips and says why.  top needs no BPF (it reads the runtime's
 * counters), only ptrace permission.
 *
 * No sleeps as synchronisation: the workload says "ready" on a pipe, and
 * states that take a moment to settle (goroutines parking) are polled
 * through the tool with a bounded number of tries.
 */
#include "helpers/rgtest.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char bdir[PATH_MAX];      /* BUILD */
static char tool[PATH_MAX + 32];
static char tmpdir[64];

static const char *skip_why;     /* set by setup: why every test skips */
static const char *bpf_why;      /* why BPF tests skip (top still runs) */

/* ---- running things --------------------------------------------------- */

/* Runs a shell command line, returns its output (stdout+stderr, malloc'd)
 * and exit status in *rc. */
static char *run(int *rc, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char full[8400];
	snprintf(full, sizeof(full), "ASAN_OPTIONS=detect_leaks=0 timeout -k 5 90 %s 2>&1", cmd);
	FILE *f = popen(full, "r");
	assert_non_null(f);
	size_t cap = 65536, n = 0;
	char *out = malloc(cap);
	size_t r;
	while ((r = fread(out + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n + 1 >= cap) {
			cap *= 2;
			out = realloc(out, cap);
		}
	}
	out[n] = 0;
	int st = pclose(f);
	*rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	return out;
}

struct child {
	pid_t pid;
	FILE *out;   /* its stdout */
};

/* Starts BUILD/tests/<prog> with args and waits for its "ready" line. */
static struct child start(const char *prog, const char *arg1, const char *arg2)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/tests/%s", bdir, prog);
	pid_t parent = getpid();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rgt_die_with_parent(parent);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execl(path, path, arg1, arg2, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	struct child c = {pid, fdopen(p[0], "r")};
	char line[256];
	assert_non_null(fgets(line, sizeof(line), c.out));
	assert_string_equal(line, "ready\n");
	return c;
}

static void stop(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	fclose(c->out);
}

#define SKIP_IF(why)                                                  \
	do {                                                          \
		if (why) {                                            \
			print_message("SKIP: %s\n", why);             \
			skip();                                       \
		}                                                     \
	} while (0)

/* ---- JSON, just enough ------------------------------------------------ */

/* The integer after "key": in the first object of s, or -1. */
static long jint(const char *s, const char *key)
{
	char k[128];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(s, k);
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

/* top --json on pid until it reports the expected steady state. */
static bool steady_state_seen(pid_t pid, char *last, size_t len)
{
	for (int tries = 0; tries < 40; tries++) {
		int rc;
		char *o = run(&rc, "%s top -p %d --json -n 1 -i 0.1", tool, (int)pid);
		snprintf(last, len, "%s", o);
		bool ok = rc == 0 && jint(o, "goroutines") == 16 && jint(o, "running") == 0 &&
			  jint(o, "runnable") == 0 && jint(o, "syscall") == 0 &&
			  jint(o, "chan receive") == 7 && jint(o, "sync.Mutex.Lock") == 5 &&
			  jint(o, "sleep") == 3 && jint(o, "sync.WaitGroup.Wait") == 1 &&
			  strstr(o, "\"procs\":[{\"id\":0") && strstr(o, "\"runq\":0");
		free(o);
		if (ok)
			return true;
	}
	return false;
}

/* ---- setup --------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	snprintf(bdir, sizeof(bdir), "%s", dirname(dirname(exe)));
	snprintf(tool, sizeof(tool), "%s/ringo-trace", bdir);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ringo-trace-test.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	if (access(tool, X_OK) != 0)
		skip_why = "ringo-trace is not built (needs clang, bpftool, libbpf-dev, "
			   "libdw-dev and /sys/kernel/btf/vmlinux; `make trace` says which "
			   "is missing)";
	else if (geteuid() != 0)
		skip_why = "ringo-trace needs root (ptrace, BPF, uprobes)";
	else if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		bpf_why = "the kernel has no BTF (/sys/kernel/btf/vmlinux)";
	else if (access("/sys/bus/event_source/devices/uprobe", F_OK) != 0)
		bpf_why = "the kernel has no uprobe events (CONFIG_UPROBE_EVENTS)";
	if (!skip_why && !bpf_why) {
		/* One real attach: tells us whether BPF works at all here. */
		int rc;
		char *o = run(&rc, "%s runqlat -c '%s/tests/trace-workload spawn 2'", tool, bdir);
		if (rc != 0 && strstr(o, "BPF unavailable")) {
			static char why[512];
			snprintf(why, sizeof(why), "%.*s", (int)strcspn(o, "\n"), o);
			bpf_why = why;
		}
		free(o);
	}
	if (skip_why && !bpf_why)
		bpf_why = skip_why;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	int rc;
	free(run(&rc, "rm -rf %s", tmpdir));
	return 0;
}

static bool have_go(void)
{
	return access("/usr/bin/go", X_OK) == 0 || system("command -v go >/dev/null 2>&1") == 0;
}

/* `go tool pprof -top FILE` output. */
static char *pprof_top(const char *file, const char *extra)
{
	int rc;
	char *o = run(&rc, "env HOME=%s GOCACHE=%s/gocache go tool pprof %s -top %s", tmpdir,
		      tmpdir, extra, file);
	if (rc != 0)
		fail_msg("go tool pprof failed on %s:\n%s", file, o);
	return o;
}

/* ---- tests ------------------------------------------------------------------ */

/* top --json counts each state exactly, on a static program. */
static void test_top_counts_exactly(void **state)
{
	(void)state;
	SKIP_IF(skip_why);
	struct child c = start("trace-workload", "steady", NULL);
	char last[8192];
	bool ok = steady_state_seen(c.pid, last, sizeof(last));
	stop(&c);
	if (!ok)
		fail_msg("top never showed 16 goroutines (7 chan receive, 5 mutex, 3 sleep, "
			 "1 wait group); last:\n%s", last);
}

/* The same on a program linked with libringo.so (-p finds the library). */
static void test_top_counts_exactly_shared(void **state)
{
	(void)state;
	SKIP_IF(skip_why);
	struct child c = start("trace-workload-so", "steady", NULL);
	char last[8192];
	bool ok = steady_state_seen(c.pid, last, sizeof(last));
	stop(&c);
	if (!ok)
		fail_msg("top (libringo.so) never showed the steady state; last:\n%s", last);
}

/* block names chan_waiter as where goroutines wait on a channel; pprof
 * reads the profile and shows it. */
static void test_block_names_channel_waiter(void **state)
{
	(void)state;
	SKIP_IF(bpf_why);
	struct child c = start("trace-workload", "busy", NULL);
	char pb[128], folded[128];
	snprintf(pb, sizeof(pb), "%s/block.pb.gz", tmpdir);
	snprintf(folded, sizeof(folded), "%s/block.folded", tmpdir);
	int rc;
	char *o = run(&rc, "%s block -p %d -d 0.5 --pprof %s --folded %s", tool, (int)c.pid, pb,
		      folded);
	stop(&c);
	if (rc != 0 || !strstr(o, "[chan receive]  site=chan_waiter"))
		fail_msg("block did not name chan_waiter for channel waits:\n%s", o);
	free(o);
	o = run(&rc, "grep -c '^chan_receive;.*chan_waiter;rg_chan_recv' %s", folded);
	assert_true(atoi(o) >= 1);
	free(o);
	if (!have_go()) {
		print_message("note: go not installed; pprof check left out\n");
		return;
	}
	o = pprof_top(pb, "");
	if (!strstr(o, "chan_waiter") || !strstr(o, "Type: delay"))
		fail_msg("pprof -top does not show chan_waiter:\n%s", o);
	free(o);
}

/* mutex names lock_hammer as the waiter and the holder; pprof shows it. */
static void test_mutex_names_contender(void **state)
{
	(void)state;
	SKIP_IF(bpf_why);
	struct child c = start("trace-workload", "busy", NULL);
	char pb[128];
	snprintf(pb, sizeof(pb), "%s/mutex.pb.gz", tmpdir);
	int rc;
	char *o = run(&rc, "%s mutex -p %d -d 0.5 --pprof %s", tool, (int)c.pid, pb);
	stop(&c);
	if (rc != 0 || !strstr(o, "waiter=lock_hammer  holder=lock_hammer"))
		fail_msg("mutex did not name lock_hammer:\n%s", o);
	free(o);
	if (!have_go())
		return;
	o = pprof_top(pb, "");
	if (!strstr(o, "lock_hammer"))
		fail_msg("pprof -top does not show lock_hammer:\n%s", o);
	free(o);
}

/* profile: every sample carries goroutine labels; -tagfocus selects the
 * hammers, which spin in lock_hammer. */
static void test_profile_labels(void **state)
{
	(void)state;
	SKIP_IF(bpf_why);
	struct child c = start("trace-workload", "busy", NULL);
	char pb[128];
	snprintf(pb, sizeof(pb), "%s/cpu.pb.gz", tmpdir);
	int rc;
	char *o = run(&rc, "%s profile -p %d -d 0.7 -F 499 --pprof %s", tool, (int)c.pid, pb);
	stop(&c);
	if (rc != 0 || !strstr(o, "hammer"))
		fail_msg("profile saw no hammer goroutine:\n%s", o);
	free(o);
	if (!have_go())
		return;
	o = pprof_top(pb, "-tagfocus=name=hammer");
	if (!strstr(o, "lock_hammer"))
		fail_msg("pprof -tagfocus=name=hammer -top does not show lock_hammer:\n%s", o);
	free(o);
}

/* chan, which attaches only the channel probes, sees the feeder's
 * sends, the waiters' receives and their blocked receives: a channel
 * operation tests one gate (probes.h) covering every probe it can pass,
 * and each of these must open it. */
static void test_chan_counts_blocked_receives(void **state)
{
	(void)state;
	SKIP_IF(bpf_why);
	struct child c = start("trace-workload", "busy", NULL);
	int rc;
	char *o = run(&rc, "%s chan -p %d -d 0.5", tool, (int)c.pid);
	stop(&c);
	const char *row = strstr(o, "\n0x");
	unsigned long long sends = 0, recvs = 0, bsends = 0, brecvs = 0;
	char elem[16], cap[16];
	if (rc != 0 || !row ||
	    sscanf(row + 1, "%*s %15s %15s %llu %llu %llu/%*s %llu/", elem, cap, &sends, &recvs,
		   &bsends, &brecvs) != 6 ||
	    sends == 0 || recvs == 0 || brecvs == 0)
		fail_msg("chan missed sends, receives or blocked receives:\n%s", o);
	free(o);
}

/* io times each request while it is attached (the runtime reads the
 * clock for io_complete only then): a read that waits ~2 ms for its
 * byte lands in a bucket of 512 us or more. */
/* backend: RINGO_BACKEND for the workload.  On either, the request
 * path tests one gate (probes.h) and takes the probed body once the
 * tool attaches io_complete. */
static void io_times(const char *backend)
{
	SKIP_IF(bpf_why);
	setenv("RINGO_BACKEND", backend, 1);
	struct child c = start("trace-workload", "io", NULL);
	unsetenv("RINGO_BACKEND");
	int rc;
	char *o = run(&rc, "%s io -p %d -d 0.5", tool, (int)c.pid);
	stop(&c);
	bool slow = false;
	for (const char *l = o; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		unsigned long long lo, hi, n;
		if (sscanf(l, " %llu -> %llu : %llu", &lo, &hi, &n) == 3 && lo >= 512 && n > 0)
			slow = true;
	}
	if (rc != 0 || !strstr(o, "completed") || !slow)
		fail_msg("io did not time the 2 ms reads (%s):\n%s", backend, o);
	free(o);
}

static void test_io_times_requests(void **state)
{
	(void)state;
	io_times("uring");
}

static void test_io_times_requests_epoll(void **state)
{
	(void)state;
	io_times("epoll");
}

/* Counts the goroutine tracks (thread_name metadata of pid 2) of a
 * record file, and how many of them are named `name`. */
static int tracks(const char *file, const char *name, int *named)
{
	int rc;
	char *o = run(&rc, "grep -o '\"pid\":2,\"tid\":[0-9]*,\"name\":\"thread_name\","
			   "\"args\":{\"name\":\"G[0-9]* [a-z]*\"' %s", file);
	int n = 0;
	*named = 0;
	for (char *l = strtok(o, "\n"); l; l = strtok(NULL, "\n")) {
		n++;
		char want[64];
		snprintf(want, sizeof(want), " %s\"", name);
		if (strstr(l, want))
			(*named)++;
	}
	free(o);
	return n;
}

/* record -c: one track per goroutine the program started (20 children
 * and main), each with slices. */
static void test_record_tracks_per_goroutine(void **state)
{
	(void)state;
	SKIP_IF(bpf_why);
	char out[128];
	snprintf(out, sizeof(out), "%s/rec.json", tmpdir);
	int rc;
	char *o = run(&rc, "%s record -c '%s/tests/trace-workload spawn 20' -o %s", tool, bdir,
		      out);
	if (rc != 0)
		fail_msg("record -c failed (%d):\n%s", rc, o);
	free(o);
	int children;
	int n = tracks(out, "child", &children);
	assert_int_equal(children, 20);
	assert_int_equal(n, 21);  /* and main */
	o = run(&rc, "grep -c '\"name\":\"running\"' %s; grep -c '\"ph\":\"f\"' %s", out, out);
	int running = atoi(o), flows = atoi(strchr(o, '\n') + 1);
	free(o);
	assert_true(running >= 21);
	assert_true(flows >= 20);  /* main readied / created every child */
}

/* -c on a program linked with libringo.so: the library is found as the
 * loader maps it, before main. */
static void test_c_shared(void **state)
{
	(void)state;
	SKIP_IF(bpf_why);
	char out[128];
	snprintf(out, sizeof(out), "%s/rec-so.json", tmpdir);
	int rc;
	char *o = run(&rc, "%s record -c '%s/tests/trace-workload-so spawn 5' -o %s", tool, bdir,
		      out);
	if (rc != 0)
		fail_msg("record -c (shared) failed (%d):\n%s", rc, o);
	free(o);
	int children;
	assert_int_equal(tracks(out, "child", &children), 6);
	assert_int_equal(children, 5);
}

/* -c passes the program's exit status through. */
static void test_c_exit_status(void **state)
{
	(void)state;
	SKIP_IF(bpf_why);
	int rc;
	char *o = run(&rc, "%s runqlat -c '%s/tests/trace-workload nosuchmode'", tool, bdir);
	free(o);
	assert_int_equal(rc, 2);
}

static long report_ops(struct child *c)
{
	kill(c->pid, SIGUSR1);
	char line[128];
	if (!fgets(line, sizeof(line), c->out))
		return -1;
	long n = -1;
	sscanf(line, "ops %ld", &n);
	return n;
}

/* Ten attach/detach cycles: the program keeps working, its goroutines
 * are the same, and no probe stays enabled. */
static void test_attach_detach_ten_times(void **state)
{
	(void)state;
	SKIP_IF(bpf_why);
	struct child c = start("trace-workload", "busy", NULL);
	int rc;
	char *o = run(&rc, "%s top -p %d --json -n 1 -i 0.1", tool, (int)c.pid);
	long g0 = jint(o, "goroutines");
	free(o);
	assert_int_equal(g0, 10);  /* 4 waiters, 4 hammers, feeder, main */
	long ops0 = report_ops(&c);
	assert_true(ops0 >= 0);
	const char *views[] = {"block", "mutex", "chan", "io", "runqlat"};
	for (int i = 0; i < 10; i++) {
		o = run(&rc, "%s %s -p %d -d 0.05", tool, views[i % 5], (int)c.pid);
		if (rc != 0)
			fail_msg("cycle %d (%s) failed:\n%s", i, views[i % 5], o);
		free(o);
	}
	long ops1 = report_ops(&c);
	assert_true(ops1 > ops0);
	o = run(&rc, "%s top -p %d --json -n 1 -i 0.1", tool, (int)c.pid);
	assert_int_equal(jint(o, "goroutines"), g0);
	free(o);
	/* Every semaphore back at 0: column 3 of list's table. */
	o = run(&rc, "%s list %d | awk 'NR > 2 && $3 != 0'", tool, (int)c.pid);
	assert_int_equal(rc, 0);
	if (o[0])
		fail_msg("probes still enabled after detaching:\n%s", o);
	free(o);
	long ops2 = report_ops(&c);
	assert_true(ops2 > ops1);
	stop(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_counts_exactly),
		cmocka_unit_test(test_top_counts_exactly_shared),
		cmocka_unit_test(test_block_names_channel_waiter),
		cmocka_unit_test(test_mutex_names_contender),
		cmocka_unit_test(test_profile_labels),
		cmocka_unit_test(test_chan_counts_blocked_receives),
		cmocka_unit_test(test_io_times_requests),
		cmocka_unit_test(test_io_times_requests_epoll),
		cmocka_unit_test(test_record_tracks_per_goroutine),
		cmocka_unit_test(test_c_shared),
		cmocka_unit_test(test_c_exit_status),
		cmocka_unit_test(test_attach_detach_ten_times),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
