// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * runqlat.bpf.c — run-queue latency of goroutines: from the moment a
 * goroutine becomes runnable (go_create, go_ready, go_yield) to the
 * moment it runs (go_start, go_resume), as a log2 histogram in
 * microseconds, summed in a per-CPU array.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, __s64);
	__type(value, __u64);
} ready_at SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rt_hist);
} hist SEC(".maps");

static __always_inline int mark(__s64 goid)
{
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&ready_at, &goid, &now, BPF_ANY);
	return 0;
}

static __always_inline int run(__s64 goid)
{
	__u64 *t = bpf_map_lookup_elem(&ready_at, &goid);
	if (!t)
		return 0;
	__u64 d = bpf_ktime_get_ns() - *t;
	bpf_map_delete_elem(&ready_at, &goid);
	__u32 zero = 0;
	struct rt_hist *h = bpf_map_lookup_elem(&hist, &zero);
	if (h) {
		__u32 s = rt_slot_us(d);
		if (s < RT_HIST_SLOTS)
			h->slots[s]++;
	}
	return 0;
}

SEC("usdt")
int BPF_USDT(go_create, long goid) { return mark(goid); }
SEC("usdt")
int BPF_USDT(go_ready, long goid) { return mark(goid); }
SEC("usdt")
int BPF_USDT(go_yield, long goid) { return mark(goid); }
SEC("usdt")
int BPF_USDT(go_start, long goid) { return run(goid); }
SEC("usdt")
int BPF_USDT(go_resume, long goid) { return run(goid); }
