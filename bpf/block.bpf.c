// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * block.bpf.c — where goroutines wait, and for how long (Go's block
 * profile, for every wait reason).  go_park stashes the time, reason and
 * user stack of the parking goroutine under its id; go_ready ends the
 * wait and adds it to the sum for (reason, stack).  A goroutine still
 * parked at the end is not counted (as in Go: a wait counts once it
 * ends).
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct parked {
	__u64 ts;
	__u32 reason;
	__s32 stackid;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, __s64);
	__type(value, struct parked);
} parked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, RT_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct rt_block_key);
	__type(value, struct rt_sum);
} sums SEC(".maps");

SEC("usdt")
int BPF_USDT(go_park, long goid, int reason)
{
	struct parked p = {
		.ts = bpf_ktime_get_ns(),
		.reason = (__u32)reason,
		.stackid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK),
	};
	bpf_map_update_elem(&parked, &goid, &p, BPF_ANY);
	return 0;
}

SEC("usdt")
int BPF_USDT(go_ready, long goid)
{
	struct parked *p = bpf_map_lookup_elem(&parked, &goid);
	if (!p)
		return 0;
	__u64 d = bpf_ktime_get_ns() - p->ts;
	struct rt_block_key k = {.reason = p->reason, .stackid = p->stackid};
	bpf_map_delete_elem(&parked, &goid);
	struct rt_sum *s = bpf_map_lookup_elem(&sums, &k);
	if (!s) {
		struct rt_sum z = {0};
		bpf_map_update_elem(&sums, &k, &z, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&sums, &k);
		if (!s)
			return 0;
	}
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->total_ns, d);
	if (d > s->max_ns)
		s->max_ns = d;
	return 0;
}
