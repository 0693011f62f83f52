// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * mutex.bpf.c — lock contention (Go's mutex profile).  A contended
 * rg_mutex_lock fires mutex_acquire(mutex, wait_ns) once it has the lock;
 * the unlock that woke (or handed the lock to) a waiter fired
 * mutex_unlock_wake(mutex) before, with the holder's stack.  Each wait
 * is summed under (lock, waiter stack, the last waking holder's stack).
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, RT_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

/* mutex -> stack of the unlock that last woke a waiter */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __s32);
} holder SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct rt_mutex_key);
	__type(value, struct rt_sum);
} sums SEC(".maps");

SEC("usdt")
int BPF_USDT(mutex_unlock_wake, void *mu)
{
	__u64 k = (__u64)mu;
	__s32 id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	bpf_map_update_elem(&holder, &k, &id, BPF_ANY);
	return 0;
}

SEC("usdt")
int BPF_USDT(mutex_acquire, void *mu, long wait_ns)
{
	__u64 m = (__u64)mu;
	__s32 *h = bpf_map_lookup_elem(&holder, &m);
	struct rt_mutex_key k = {
		.mutex = m,
		.wstack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK),
		.hstack = h ? *h : -1,
	};
	struct rt_sum *s = bpf_map_lookup_elem(&sums, &k);
	if (!s) {
		struct rt_sum z = {0};
		bpf_map_update_elem(&sums, &k, &z, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&sums, &k);
		if (!s)
			return 0;
	}
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->total_ns, (__u64)wait_ns);
	if ((__u64)wait_ns > s->max_ns)
		s->max_ns = (__u64)wait_ns;
	return 0;
}
