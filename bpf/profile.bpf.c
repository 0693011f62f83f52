// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * profile.bpf.c — on-CPU sampling (perf CPU-clock events on every CPU).
 * A sample of the target counts under (goroutine, user stack, kernel
 * stack); the goroutine comes from the thread's M (common.bpf.h):
 * RT_GOID_G0 on the scheduler's own stack, RT_GOID_NOM on a thread that
 * is no M.  A goroutine's name and start function are kept at its first
 * sample, for the pprof labels.
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
	__type(key, struct rt_prof_key);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __s64);
	__type(value, struct rt_gname);
} names SEC(".maps");

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	if (!rt_is_target())
		return 0;
	__u64 m = rt_current_m();
	__u64 g = rt_m_curg(m);
	struct rt_prof_key k = {
		.goid = !m ? RT_GOID_NOM : g ? rt_g_id(g) : RT_GOID_G0,
		.ustack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK),
		.kstack = bpf_get_stackid(ctx, &stacks, 0),
	};
	if (g && !bpf_map_lookup_elem(&names, &k.goid)) {
		struct rt_gname n = {};
		bpf_probe_read_user_str(n.name, sizeof(n.name), (void *)(g + off_g_name));
		bpf_probe_read_user(&n.fn, sizeof(n.fn), (void *)(g + off_g_fn));
		bpf_map_update_elem(&names, &k.goid, &n, BPF_ANY);
	}
	__u64 one = 1, *c = bpf_map_lookup_elem(&counts, &k);
	if (c)
		__sync_fetch_and_add(c, 1);
	else
		bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST);
	return 0;
}
