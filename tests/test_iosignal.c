// SPDX-License-Identifier: MIT
/*
 * test_iosignal.c — I/O under a signal storm: SIGALRM every 200 µs
 * through a handler installed without SA_RESTART (as libFuzzer's -timeout
 * and tests/fuzz/replay.c's ALARM_US do), while goroutines read a memfd
 * with rg_pread, pass numbered messages over pipes and sockets, and
 * sleep.  A thread outside the runtime sends the signal to each thread
 * of the process in turn (tgkill: a process-directed signal goes to one
 * thread, most often the main one), so that it interrupts whatever
 * syscall every thread is in: an idle M in io_uring_enter or epoll_wait, a futex sleep, a read in
 * rg_syscall_enter.  None of that may reach the caller (no -EINTR, no
 * short or lost data) or lose a wake-up (a goroutine never resumed: the
 * watchdog of rgio_run_isolated kills the case).  Both backends, 1 and 2
 * Ps.  Each worker loops until it has done its share AND the handler has
 * run SIGS_WANTED times, so that every run is interrupted, however the
 * machine schedules it.
 */
#include "helpers/rgio.h"

#include <ringo/chan.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#define FILE_LEN 65536
#define ROUNDS 500
#define SIGS_WANTED 200

static _Atomic int nsig;
static rg_chan_t *done;     /* each worker sends its result (0: good) */
static int memfd;
static unsigned char pattern[FILE_LEN];

static void on_alarm(int sig)
{
	(void)sig;
	atomic_fetch_add_explicit(&nsig, 1, memory_order_relaxed);
}

static _Atomic int storm_stop;

/* The storm: SIGALRM to each thread of the process, every 200 µs (the
 * pause paces the storm; nothing waits on it).  This thread blocks the
 * signal itself. */
static void *storm(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pid_t pid = getpid();
	while (!atomic_load(&storm_stop)) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] != '.')
				syscall(SYS_tgkill, pid, atoi(e->d_name), SIGALRM);
		}
		if (d)
			closedir(d);
		struct timespec ts = {0, 200 * 1000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static bool more(int i)
{
	return i < ROUNDS || atomic_load_explicit(&nsig, memory_order_relaxed) < SIGS_WANTED;
}

static void report(int bad)
{
	rg_chan_send(done, &bad);
}

static void file_reader(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg * 7919 + 1;
	unsigned char buf[512];
	int bad = 0;
	for (int i = 0; more(i) && !bad; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		size_t off = (size_t)(seed >> 33) % (FILE_LEN - sizeof(buf));
		ssize_t n = rg_pread(memfd, buf, sizeof(buf), (off_t)off, NULL);
		if (n != (ssize_t)sizeof(buf)) {
			fprintf(stderr, "rg_pread: %zd\n", n);
			bad = 1;
		} else if (memcmp(buf, pattern + off, sizeof(buf)) != 0) {
			fprintf(stderr, "rg_pread: wrong bytes at %zu\n", off);
			bad = 1;
		}
	}
	report(bad);
}

struct stream {
	int rfd, wfd;
	_Atomic int stop; /* the reader has seen every message */
};

/* Sends numbered 4-byte messages until the reader says stop; then one
 * last message that the reader drains. */
static void stream_writer(void *arg)
{
	struct stream *s = arg;
	int bad = 0;
	for (uint32_t i = 0; !atomic_load(&s->stop); i++) {
		ssize_t n = rg_write(s->wfd, &i, sizeof(i), NULL);
		if (n != (ssize_t)sizeof(i)) {
			fprintf(stderr, "rg_write: %zd\n", n);
			bad = 1;
			break;
		}
		if (i % 16 == 0)
			rg_yield();
	}
	rg_close(s->wfd);
	report(bad);
}

static void stream_reader(void *arg)
{
	struct stream *s = arg;
	uint32_t want = 0, v;
	size_t have = 0;
	int bad = 0;
	unsigned char buf[64];
	for (;;) {
		ssize_t n = rg_read(s->rfd, buf, sizeof(buf), NULL);
		if (n == 0)
			break;
		if (n < 0) {
			fprintf(stderr, "rg_read: %zd\n", n);
			bad = 1;
			break;
		}
		for (ssize_t k = 0; k < n; k++) {
			((unsigned char *)&v)[have++] = buf[k];
			if (have < sizeof(v))
				continue;
			have = 0;
			if (v != want) {
				fprintf(stderr, "message %u, want %u\n", v, want);
				bad = 1;
			}
			want++;
		}
		if (bad)
			break;
		if (!more((int)want))
			atomic_store(&s->stop, 1);
	}
	if (bad)
		atomic_store(&s->stop, 1);
	rg_close(s->rfd);
	report(bad);
}

static void sleeper(void *arg)
{
	(void)arg;
	int bad = 0;
	for (int i = 0; more(i * 10) && !bad; i++) {
		int64_t t0 = rg_now();
		rg_sleep(100 * RG_MICROSECOND);
		if (rg_now() - t0 < 100 * RG_MICROSECOND) {
			fprintf(stderr, "rg_sleep woke early\n");
			bad = 1;
		}
	}
	report(bad);
}

static int scen_storm(void *arg)
{
	(void)arg;
	enum { NFILE = 4, NPIPE = 2, NSOCK = 2 };
	struct stream st[NPIPE + NSOCK];
	int nworkers = 0;

	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)(i * 31 + (i >> 8));
	memfd = memfd_create("iosignal", MFD_CLOEXEC);
	CHECK(memfd >= 0);
	CHECK_CMP(write(memfd, pattern, sizeof(pattern)), ==, (ssize_t)sizeof(pattern));
	CHECK((done = RG_CHAN(int, 16)));
	for (int i = 0; i < NPIPE + NSOCK; i++) {
		int fds[2];
		if (i < NPIPE)
			CHECK_CMP(pipe2(fds, O_CLOEXEC), ==, 0);
		else
			CHECK_CMP(rgio_tcp_pair(fds), ==, 0);
		st[i].rfd = fds[i < NPIPE ? 0 : 1];
		st[i].wfd = fds[i < NPIPE ? 1 : 0];
		atomic_store(&st[i].stop, 0);
	}

	atomic_store(&nsig, 0);
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	CHECK_CMP(sigaction(SIGALRM, &sa, NULL), ==, 0);
	pthread_t storm_thread;
	atomic_store(&storm_stop, 0);
	CHECK_CMP(pthread_create(&storm_thread, NULL, storm, NULL), ==, 0);

	for (int i = 0; i < NFILE; i++, nworkers++)
		CHECK_CMP(rg_go(file_reader, (void *)(uintptr_t)i), ==, 0);
	for (int i = 0; i < NPIPE + NSOCK; i++, nworkers += 2) {
		CHECK_CMP(rg_go(stream_reader, &st[i]), ==, 0);
		CHECK_CMP(rg_go(stream_writer, &st[i]), ==, 0);
	}
	CHECK_CMP(rg_go(sleeper, NULL), ==, 0);
	nworkers++;

	int bad = 0;
	for (int i = 0; i < nworkers; i++) {
		int b = 1;
		CHECK(rg_chan_recv(done, &b));
		bad += b;
	}
	atomic_store(&storm_stop, 1);
	pthread_join(storm_thread, NULL);
	signal(SIGALRM, SIG_IGN);
	CHECK_CMP(bad, ==, 0);
	CHECK(atomic_load(&nsig) >= SIGS_WANTED);
	rg_chan_free(done);
	close(memfd);
	return 0;
}

#define STORM(name, backend, procs)                                         \
	static void name(void **state)                                      \
	{                                                                   \
		(void)state;                                                \
		rgio_run_isolated(backend, procs, scen_storm);              \
	}

STORM(storm_1p_uring, "io_uring", "1")
STORM(storm_2p_uring, "io_uring", "2")
STORM(storm_1p_epoll, "epoll", "1")
STORM(storm_2p_epoll, "epoll", "2")

int main(void)
{
	rgio_ignore_sigpipe();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(storm_1p_uring),
		cmocka_unit_test(storm_2p_uring),
		cmocka_unit_test(storm_1p_epoll),
		cmocka_unit_test(storm_2p_epoll),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
