// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * io.bpf.c — I/O requests per opcode: submitted, completed, failed, a
 * log2 latency histogram (io_complete's latency_ns), and errors by
 * errno.  The epoll backend's readiness waits count as opcode 255
 * (io_wait_fd opens one, io_complete with RG_PROBE_OP_EPOLL ends it).
 * Per-CPU arrays: no line is shared between CPUs.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RT_MAX_OPS);
	__type(key, __u32);
	__type(value, struct rt_io_op);
} ops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct rt_io_err_key);
	__type(value, __u64);
} errs SEC(".maps");

static __always_inline struct rt_io_op *op(long opcode)
{
	__u32 k = (__u32)opcode & (RT_MAX_OPS - 1);
	return bpf_map_lookup_elem(&ops, &k);
}

SEC("usdt")
int BPF_USDT(io_submit, long opcode)
{
	struct rt_io_op *o = op(opcode);
	if (o)
		o->submitted++;
	return 0;
}

SEC("usdt")
int BPF_USDT(io_wait_fd, long fd)
{
	struct rt_io_op *o = op(255);
	if (o)
		o->submitted++;
	return 0;
}

SEC("usdt")
int BPF_USDT(io_complete, long opcode, long res, long lat)
{
	struct rt_io_op *o = op(opcode);
	if (!o)
		return 0;
	o->completed++;
	__u32 s = rt_slot_us((__u64)lat);
	if (s < RT_HIST_SLOTS)
		o->slots[s]++;
	if (res < 0) {
		o->errors++;
		struct rt_io_err_key k = {.op = (__u32)opcode & (RT_MAX_OPS - 1), .err = (int)-res};
		__u64 one = 1, *n = bpf_map_lookup_elem(&errs, &k);
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			bpf_map_update_elem(&errs, &k, &one, BPF_NOEXIST);
	}
	return 0;
}
