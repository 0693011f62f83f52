// SPDX-License-Identifier: MIT
/*
 * Fault injection: the runtime keeps working, or fails with the
 * documented error, when the kernel refuses it resources.  Each case
 * is injected (runtime/rt_fault.h: rg__fault_arm here, RINGO_FAULT for
 * the ringo-echo process) and, where a real limit can do it, made real
 * too: RLIMIT_AS for stacks, a seccomp filter for io_uring_setup, a
 * client that resets before its accept.
 */
#include "helpers/rgcheck.h"
#include "helpers/rgtest.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_fault.h"

#if defined(__SANITIZE_ADDRESS__)
#define FT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FT_ASAN 1
#endif
#endif
/* An address-space limit is for the runtime's mappings, not for a
 * sanitizer's shadow (ASan's, TSan's: their allocators die first). */
#if defined(FT_ASAN) || defined(RGT_TSAN)
#define FT_SHADOW 1
#endif

static char echo_path[PATH_MAX];

/* Open descriptors, and how many of them are io_uring instances. */
static int count_fds(int *urings)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, u = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[300], t[128];
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(p, t, sizeof(t) - 1);
		if (k > 0) {
			t[k] = 0;
			u += strstr(t, "io_uring") != NULL;
		}
		n++;
	}
	closedir(d);
	if (urings)
		*urings = u;
	return n - 1; /* the directory's own */
}

/* Echoes one message through a socketpair with rg_read/rg_write. */
static int echo_once(void)
{
	int sv[2];
	CHECK_CMP(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	CHECK_CMP(rg_write(sv[0], "ping", 4, NULL), ==, 4);
	char buf[8] = {0};
	CHECK_CMP(rg_read(sv[1], buf, sizeof(buf), NULL), ==, 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

/* ---- goroutine stacks ---------------------------------------------- */

static rg_chan_t *hold;
static rg_waitgroup_t held;

static void parker(void *arg)
{
	(void)arg;
	rg_chan_recv(hold, NULL); /* until hold is closed */
	rg_wg_done(&held);
}

/* Waits until the parkers have exited, not only said done (their stacks
 * are given back as they exit). */
static bool all_exited(void)
{
	int64_t end = rgt_ms() + RGT_NEVER_MS;
	while (rg_num_goroutines() > 1 && rgt_ms() < end)
		rg_sleep(RG_MILLISECOND);
	return rg_num_goroutines() == 1;
}

/* Spawns parkers until rg_go fails (at most max); returns how many run. */
static int spawn_until_fail(int max, int *err)
{
	int n = 0;
	*err = 0;
	while (n < max) {
		rg_wg_add(&held, 1);
		int r = rg_go(parker, NULL);
		if (r < 0) {
			rg_wg_done(&held);
			*err = r;
			break;
		}
		n++;
	}
	return n;
}

static int stack_fault_main(void *arg)
{
	(void)arg;
	hold = rg_chan_make(0, 0);
	rg__fault_arm(RG_FAULT_STACK_MMAP, 0, 0, -1); /* every mmap from now */
	int err;
	int n = spawn_until_fail(100000, &err);
	/* The chunks mapped before could hold only so many: rg_go said so,
	 * instead of a fatal error at the goroutine's first run. */
	CHECK_CMP(err, ==, -ENOMEM);
	CHECK(n > 0);
	CHECK(rg__fault_hits(RG_FAULT_STACK_MMAP) >= 1);
	/* The program goes on: every spawned goroutine runs, and once
	 * they are gone their stacks serve new ones, mmap still refused. */
	rg_chan_close(hold);
	rg_wg_wait(&held);
	CHECK(all_exited());
	rg_chan_free(hold);
	hold = rg_chan_make(0, 0);
	int again = spawn_until_fail(n, &err);
	CHECK_CMP(err, ==, 0);
	CHECK_CMP(again, ==, n);
	rg_chan_close(hold);
	rg_wg_wait(&held);
	rg_chan_free(hold);
	rg__fault_reset();
	/* Disarmed, the runtime maps again. */
	hold = rg_chan_make(0, 0);
	int more = spawn_until_fail(4 * n + 100, &err);
	CHECK_CMP(err, ==, 0);
	CHECK_CMP(more, ==, 4 * n + 100);
	rg_chan_close(hold);
	rg_wg_wait(&held);
	rg_chan_free(hold);
	return 0;
}

static void test_stack_mmap_fault(void **state)
{
	(void)state;
	rgt_env("RINGO_PROCS", "2");
	rgc_main(stack_fault_main, NULL);
	rgt_env("RINGO_PROCS", NULL);
}

/* The main goroutine's stack refused: rg_main says -ENOMEM, and the
 * next rg_main runs. */
static int nop_main(void *arg)
{
	(void)arg;
	return 0;
}

static void test_stack_mmap_fault_main(void **state)
{
	(void)state;
	rg__fault_arm(RG_FAULT_STACK_MMAP, 0, 0, -1);
	assert_int_equal(rg_main(nop_main, NULL), -ENOMEM);
	rg__fault_reset();
	assert_int_equal(rg_main(nop_main, NULL), 0);
}

/* The real limit: RLIMIT_AS a little above what the process has mapped
 * once the runtime runs.  (Not under ASan, whose shadow memory needs
 * terabytes of address space.) */
static long vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

static int rlimit_main(void *arg)
{
	(void)arg;
	/* Both rounds' channels are made before the limit: once the stacks
	 * fill the address space, malloc may fail too (a new thread's arena
	 * is an mmap), and that is not what this test is about. */
	rg_chan_t *second = rg_chan_make(0, 0);
	hold = rg_chan_make(0, 0);
	if (!second || !hold)
		return 9;
	CHECK(echo_once() == 0); /* the I/O path's threads and buffers exist */
	struct rlimit rl = {.rlim_cur = (rlim_t)vm_size() + (64 << 20), .rlim_max = RLIM_INFINITY};
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		return 10;
	int err;
	int n = spawn_until_fail(1000000, &err);
	if (err != -ENOMEM || n == 0)
		return 11;
	printf("rlimit: %d goroutines, then %s\n", n, strerror(-err));
	rg_chan_close(hold);
	rg_wg_wait(&held);
	CHECK(all_exited());
	/* The same number fit again, in the same stacks. */
	rg_chan_free(hold);
	hold = second;
	int again = spawn_until_fail(n, &err);
	if (err != 0 || again != n)
		return 12;
	rg_chan_close(hold);
	rg_wg_wait(&held);
	rg_chan_free(hold);
	return 0;
}

static int rlimit_child(void *arg)
{
	(void)arg;
	setenv("RINGO_PROCS", "2", 1);
	return rg_main(rlimit_main, NULL);
}

static void test_stack_rlimit_as(void **state)
{
	(void)state;
#ifdef FT_SHADOW
	skip();
#endif
	static rgt_child_t c;
	assert_int_equal(rgt_run_child(rlimit_child, NULL, 120, &c), 0);
	if (!c.exited || c.code != 0)
		fail_msg("child: exited %d code %d signal %d:\n%s", c.exited, c.code, c.sig, c.out);
	assert_non_null(strstr(c.out, "then Cannot allocate memory"));
}

/* ---- io_uring setup ------------------------------------------------ */

static int backend_main(void *arg)
{
	const char *want = arg;
	int urings;
	count_fds(&urings);
	CHECK(strcmp(rg_io_backend(), want) == 0);
	if (strcmp(want, "epoll") == 0)
		CHECK_CMP(urings, ==, 0); /* the rings made first were closed */
	CHECK(echo_once() == 0);
	return 0;
}

/* The third of four rings fails: the two made are closed, and the
 * runtime runs on epoll, leaking nothing. */
static void test_ring_init_fault_after_some(void **state)
{
	(void)state;
	int fds0 = count_fds(NULL);
	rgt_env("RINGO_PROCS", "4");
	rg__fault_arm(RG_FAULT_RING_INIT, 0, 2, 1);
	rgc_main(backend_main, "epoll");
	assert_int_equal(rg__fault_hits(RG_FAULT_RING_INIT), 1);
	rg__fault_reset();
	assert_int_equal(count_fds(NULL), fds0);
	/* And the next start has its rings again. */
	rgc_main(backend_main, "io_uring");
	rgt_env("RINGO_PROCS", NULL);
	assert_int_equal(count_fds(NULL), fds0);
}

/* The real refusal: io_uring_setup fails with EPERM under a seccomp
 * filter (as in containers that forbid io_uring).  RINGO_BACKEND=uring
 * asked for io_uring by name, so the fallback says so. */
static int seccomp_child(void *arg)
{
	(void)arg;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return 20;
	setenv("RINGO_BACKEND", "uring", 1);
	setenv("RINGO_PROCS", "2", 1);
	return rg_main(backend_main, "epoll");
}

static void test_ring_refused_by_seccomp(void **state)
{
	(void)state;
	static rgt_child_t c;
	assert_int_equal(rgt_run_child(seccomp_child, NULL, 60, &c), 0);
	if (!c.exited || c.code != 0)
		fail_msg("child: exited %d code %d signal %d:\n%s", c.exited, c.code, c.sig, c.out);
	assert_non_null(strstr(c.out, "ringo: RINGO_BACKEND=uring, but io_uring setup failed "
				      "(Operation not permitted): using epoll"));
}

/* ---- accept -------------------------------------------------------- */

static int dial_port(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	return ntohs(a.sin_port);
}

/* EMFILE and ENFILE: rg_accept says so and takes nothing; the client
 * stays in the backlog and the next rg_accept takes it. */
static int accept_full_main(void *arg)
{
	int err = (int)(intptr_t)arg;
	int lfd = rg_listen("tcp4", "127.0.0.1:0");
	CHECK(lfd >= 0);
	int c = dial_port(port_of(lfd));
	CHECK(c >= 0);
	rg__fault_arm(RG_FAULT_ACCEPT, err, 0, 2);
	CHECK_CMP(rg_accept(lfd, NULL, NULL, NULL), ==, -err);
	CHECK_CMP(rg_accept(lfd, NULL, NULL, NULL), ==, -err);
	int s = rg_accept(lfd, NULL, NULL, NULL);
	CHECK(s >= 0);
	CHECK_CMP(rg__fault_hits(RG_FAULT_ACCEPT), ==, 2);
	rg__fault_reset();
	CHECK_CMP(write(c, "x", 1), ==, 1);
	char b;
	CHECK_CMP(rg_read(s, &b, 1, NULL), ==, 1);
	close(c);
	rg_close(s);
	rg_close(lfd);
	return 0;
}

static void test_accept_emfile(void **state)
{
	(void)state;
	rgc_main(accept_full_main, (void *)(intptr_t)EMFILE);
	rgc_main(accept_full_main, (void *)(intptr_t)ENFILE);
}

/* ECONNABORTED: a client gone before its accept; rg_accept goes on to
 * the next (as Go's accept does), and the caller never sees it. */
static int accept_aborted_main(void *arg)
{
	(void)arg;
	int lfd = rg_listen("tcp4", "127.0.0.1:0");
	CHECK(lfd >= 0);
	int c = dial_port(port_of(lfd));
	CHECK(c >= 0);
	rg__fault_arm(RG_FAULT_ACCEPT, ECONNABORTED, 0, 3);
	int s = rg_accept(lfd, NULL, NULL, NULL);
	CHECK(s >= 0);
	CHECK_CMP(rg__fault_hits(RG_FAULT_ACCEPT), ==, 3);
	rg__fault_reset();
	rg_close(s);
	close(c);

	/* For real: a client that connects and resets before the accept.
	 * Linux hands the connection over anyway; reading it says reset
	 * (or EOF), and the server goes on to the next client. */
	c = dial_port(port_of(lfd));
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(c);
	int c2 = dial_port(port_of(lfd));
	s = rg_accept(lfd, NULL, NULL, NULL);
	CHECK(s >= 0);
	char b;
	ssize_t r = rg_read(s, &b, 1, NULL);
	CHECK(r == 0 || r == -ECONNRESET);
	rg_close(s);
	s = rg_accept(lfd, NULL, NULL, NULL);
	CHECK(s >= 0);
	CHECK_CMP(write(c2, "y", 1), ==, 1);
	CHECK_CMP(rg_read(s, &b, 1, NULL), ==, 1);
	CHECK_CMP(b, ==, 'y');
	rg_close(s);
	close(c2);
	rg_close(lfd);
	return 0;
}

static void test_accept_aborted(void **state)
{
	(void)state;
	rgc_main(accept_aborted_main, NULL);
}

/* ---- ringo-echo under RINGO_FAULT ---------------------------------- */

typedef struct proc {
	pid_t pid;
	int out;
	char log[8192];
	size_t len;
} proc_t;

static void proc_read(proc_t *p, int ms, const char *until)
{
	int64_t end = rgt_ms() + ms;
	while (!(until && strstr(p->log, until))) {
		int left = (int)(end - rgt_ms());
		struct pollfd q = {.fd = p->out, .events = POLLIN};
		if (left <= 0 || poll(&q, 1, left) <= 0)
			return;
		ssize_t n = read(p->out, p->log + p->len, sizeof(p->log) - 1 - p->len);
		if (n <= 0)
			return;
		p->len += (size_t)n;
		p->log[p->len] = 0;
	}
}

static int echo_start(proc_t *p, const char *fault)
{
	int pfd[2];
	memset(p, 0, sizeof(*p));
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		setenv("RINGO_FAULT", fault, 1);
		execl(echo_path, echo_path, "--addr", "127.0.0.1:0", "--procs", "2", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	p->out = pfd[0];
	proc_read(p, RGT_NEVER_MS, "listening on 127.0.0.1:");
	const char *at = strstr(p->log, "listening on 127.0.0.1:");
	if (!at)
		fail_msg("ringo-echo did not start:\n%s", p->log);
	return atoi(at + strlen("listening on 127.0.0.1:"));
}

static void echo_stop(proc_t *p)
{
	kill(p->pid, SIGTERM);
	proc_read(p, RGT_NEVER_MS, "accept back-offs");
	int st;
	waitpid(p->pid, &st, 0);
	close(p->out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A client is served although its accept failed first, as the fault
 * says; returns after one echo. */
static void echo_client(int port)
{
	int c = dial_port(port);
	assert_true(c >= 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(write(c, "hello", 5), 5);
	char b[5];
	size_t got = 0;
	while (got < 5) {
		ssize_t r = read(c, b + got, 5 - got);
		/* Seen after the in-process cases, with no signal delivered
		 * that strace shows: EINTR from a read with SO_RCVTIMEO. */
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail_msg("read from ringo-echo: %zd (%s)", r, r < 0 ? strerror(errno) : "EOF");
		got += (size_t)r;
	}
	assert_memory_equal(b, "hello", 5);
	close(c);
}

/* ENFILE (the system's table full: no setrlimit can make it here) on
 * three accepts: the server backs off three times, then serves. */
static void test_echo_enfile(void **state)
{
	(void)state;
	proc_t p;
	int port = echo_start(&p, "accept=ENFILE*3");
	echo_client(port);
	echo_stop(&p);
	assert_non_null(strstr(p.log, "errors 0, accept back-offs 3"));
}

/* ECONNABORTED, many times: the library skips them, the server never
 * sees one and counts nothing. */
static void test_echo_aborted(void **state)
{
	(void)state;
	proc_t p;
	int port = echo_start(&p, "accept=ECONNABORTED*20");
	echo_client(port);
	echo_client(port);
	echo_stop(&p);
	assert_non_null(strstr(p.log, "accepted 2, closed 2"));
	assert_non_null(strstr(p.log, "errors 0, accept back-offs 0"));
}

/* A RINGO_FAULT that does not parse is reported and ignored. */
static void test_fault_env_malformed(void **state)
{
	(void)state;
	proc_t p;
	int port = echo_start(&p, "accept=EMFILE*x,nosuchsite");
	echo_client(port);
	echo_stop(&p);
	assert_non_null(strstr(p.log, "RINGO_FAULT: cannot parse 'accept=EMFILE*x'"));
	assert_non_null(strstr(p.log, "RINGO_FAULT: cannot parse 'nosuchsite'"));
	assert_non_null(strstr(p.log, "accept back-offs 0"));
}

int main(int argc, char **argv)
{
	(void)argc;
	char self[PATH_MAX];
	if (!realpath(argv[0], self))
		return 1;
	snprintf(echo_path, sizeof(echo_path), "%s/../ringo-echo", dirname(self));
	if (access(echo_path, X_OK) != 0) {
		fprintf(stderr, "test_faults: %s not built\n", echo_path);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_mmap_fault),
		cmocka_unit_test(test_stack_mmap_fault_main),
		cmocka_unit_test(test_stack_rlimit_as),
		cmocka_unit_test(test_ring_init_fault_after_some),
		cmocka_unit_test(test_ring_refused_by_seccomp),
		cmocka_unit_test(test_accept_emfile),
		cmocka_unit_test(test_accept_aborted),
		cmocka_unit_test(test_echo_enfile),
		cmocka_unit_test(test_echo_aborted),
		cmocka_unit_test(test_fault_env_malformed),
	};
	if (getenv("RGT_ONLY")) /* one test by name, while debugging */
		cmocka_set_test_filter(getenv("RGT_ONLY"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
