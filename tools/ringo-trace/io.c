// SPDX-License-Identifier: MIT
/*
 * io.c — `ringo-trace io`: I/O requests per opcode (io_uring's names;
 * "epoll wait" for the epoll backend's readiness waits): submitted,
 * completed, failed, in flight at the end of the window (submitted less
 * completed, counting only requests submitted while attached), a log2
 * latency histogram, and errors by errno.
 */
#include "trace.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>

#include "io.skel.h"

static const char *const opnames[] = {
	"NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED", "POLL_ADD",
	"POLL_REMOVE", "SYNC_FILE_RANGE", "SENDMSG", "RECVMSG", "TIMEOUT",
	"TIMEOUT_REMOVE", "ACCEPT", "ASYNC_CANCEL", "LINK_TIMEOUT", "CONNECT",
	"FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE", "STATX", "READ", "WRITE",
	"FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2", "EPOLL_CTL", "SPLICE",
	"PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE", "SHUTDOWN", "RENAMEAT",
	"UNLINKAT", "MKDIRAT", "SYMLINKAT", "LINKAT", "MSG_RING", "FSETXATTR",
	"SETXATTR", "FGETXATTR", "GETXATTR", "SOCKET", "URING_CMD", "SEND_ZC",
	"SENDMSG_ZC", "READ_MULTISHOT", "WAITID", "FUTEX_WAIT", "FUTEX_WAKE",
	"FUTEX_WAITV", "FIXED_FD_INSTALL", "FTRUNCATE", "BIND", "LISTEN",
};

static const char *opname(unsigned op, char *buf, size_t len)
{
	if (op == 255)
		return "epoll wait";
	if (op < sizeof(opnames) / sizeof(opnames[0]))
		return opnames[op];
	snprintf(buf, len, "op %u", op);
	return buf;
}

int cmd_io(const struct opts *o)
{
	struct target t;
	struct attach a = {0};
	bpf_preflight();
	target_open(&t, o);
	struct io_bpf *skel = io_bpf__open_and_load();
	if (!skel)
		rt_die("cannot load the io BPF program");
	attach_usdt_all(&a, skel->obj, &t);
	double secs = view_run(&t, o, NULL, NULL);
	attach_destroy(&a);

	int ncpu = libbpf_num_possible_cpus();
	struct rt_io_op *per = calloc((size_t)ncpu, sizeof(*per));
	int fd = bpf_map__fd(skel->maps.ops);
	printf("I/O in %d over %.1fs:\n", (int)t.pid, secs);
	int shown = 0;
	for (unsigned op = 0; op < RT_MAX_OPS; op++) {
		if (bpf_map_lookup_elem(fd, &op, per) != 0)
			continue;
		struct rt_io_op s;
		memset(&s, 0, sizeof(s));
		for (int i = 0; i < ncpu; i++) {
			s.submitted += per[i].submitted;
			s.completed += per[i].completed;
			s.errors += per[i].errors;
			for (int j = 0; j < RT_HIST_SLOTS; j++)
				s.slots[j] += per[i].slots[j];
		}
		if (!s.submitted && !s.completed)
			continue;
		char b[32];
		long long inflight = (long long)s.submitted - (long long)s.completed;
		printf("\n%s: %llu submitted, %llu completed (%.0f/s), %llu failed, %lld in "
		       "flight\n", opname(op, b, sizeof(b)), s.submitted, s.completed,
		       secs > 0 ? (double)s.completed / secs : 0.0, s.errors,
		       inflight > 0 ? inflight : 0);
		print_hist(stdout, s.slots, RT_HIST_SLOTS, "usecs");
		shown++;
	}
	if (!shown)
		printf("  (no I/O requests)\n");
	free(per);
	int efd = bpf_map__fd(skel->maps.errs);
	struct rt_io_err_key k, next;
	void *cur = NULL;
	bool head = false;
	while (bpf_map_get_next_key(efd, cur, &next) == 0) {
		k = next;
		cur = &k;
		unsigned long long n;
		if (bpf_map_lookup_elem(efd, &k, &n) != 0)
			continue;
		if (!head) {
			printf("\nErrors:\n");
			head = true;
		}
		char b[32];
		printf("  %-12s %-24s %llu\n", opname(k.op, b, sizeof(b)), strerror(k.err), n);
	}
	int rc = view_end(&t, NULL);
	io_bpf__destroy(skel);
	return rc;
}
