// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * chan.bpf.c — per-channel activity: operations (chan_send, chan_recv),
 * blocked sends and receives with the time they waited (from
 * chan_*_block to the chan_send/chan_recv that completes the operation,
 * matched by goroutine: the thread may change across the park), the creation site (chan_make's stack) and close.  Counters
 * sit in a per-CPU hash so that no two CPUs write one line.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, RT_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct rt_chan_info);
} info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct rt_chan_stats);
} stats SEC(".maps");

/* goroutine -> when it blocked */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, __s64);
	__type(value, __u64);
} blocked SEC(".maps");

static __always_inline struct rt_chan_stats *st(__u64 c)
{
	struct rt_chan_stats *s = bpf_map_lookup_elem(&stats, &c);
	if (s)
		return s;
	struct rt_chan_stats z = {0};
	bpf_map_update_elem(&stats, &c, &z, BPF_NOEXIST);
	return bpf_map_lookup_elem(&stats, &c);
}

SEC("usdt")
int BPF_USDT(chan_make, void *c, long esize, long cap)
{
	struct rt_chan_info i = {
		.make_stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK),
		.elem_size = (__u64)esize,
		.cap = (__u64)cap,
	};
	__u64 k = (__u64)c;
	bpf_map_update_elem(&info, &k, &i, BPF_ANY);
	return 0;
}

SEC("usdt")
int BPF_USDT(chan_close, void *c)
{
	__u64 k = (__u64)c;
	struct rt_chan_info *i = bpf_map_lookup_elem(&info, &k);
	if (i) {
		i->closed = 1;
	} else {
		struct rt_chan_info n = {.make_stack = -1, .closed = 1};
		bpf_map_update_elem(&info, &k, &n, BPF_NOEXIST);
	}
	return 0;
}

static __always_inline int block_begin(void)
{
	__s64 g = rt_current_goid();
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&blocked, &g, &now, BPF_ANY);
	return 0;
}

/* An operation completed; if its goroutine had blocked in it, the wait
 * ends here. */
static __always_inline int op_done(__u64 c, bool send)
{
	struct rt_chan_stats *s = st(c);
	if (!s)
		return 0;
	if (send)
		s->sends++;
	else
		s->recvs++;
	__s64 g = rt_current_goid();
	__u64 *t = bpf_map_lookup_elem(&blocked, &g);
	if (!t)
		return 0;
	__u64 d = bpf_ktime_get_ns() - *t;
	bpf_map_delete_elem(&blocked, &g);
	if (send) {
		s->send_blocks++;
		s->send_block_ns += d;
	} else {
		s->recv_blocks++;
		s->recv_block_ns += d;
	}
	return 0;
}

SEC("usdt")
int BPF_USDT(chan_send, void *c) { return op_done((__u64)c, true); }
SEC("usdt")
int BPF_USDT(chan_recv, void *c) { return op_done((__u64)c, false); }
SEC("usdt")
int BPF_USDT(chan_send_block, void *c) { return block_begin(); }
SEC("usdt")
int BPF_USDT(chan_recv_block, void *c) { return block_begin(); }
