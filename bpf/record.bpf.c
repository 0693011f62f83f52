// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * record.bpf.c — the event stream behind `ringo-trace record`: every
 * scheduler transition of a goroutine and every I/O request, one
 * rt_event each, through one 64 MiB ring buffer (~900k events) that the
 * tool drains every 100 ms.  Events that do not fit are counted in
 * `dropped` and reported.  The
 * first time a goroutine runs (go_start, or go_resume of one created
 * before we attached) its name is read from the thread's current G.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, __s64);
	__type(value, __u8);
} named SEC(".maps");

__u64 dropped;

static __always_inline struct rt_event *ev(__u32 type, __s64 goid, __s64 a1, __s64 a2)
{
	struct rt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return NULL;
	}
	e->ts = bpf_ktime_get_ns();
	e->type = type;
	e->goid = goid;
	e->a1 = a1;
	e->a2 = a2;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->name[0] = 0;
	return e;
}

static __always_inline int emit(__u32 type, __s64 goid, __s64 a1, __s64 a2)
{
	struct rt_event *e = ev(type, goid, a1, a2);
	if (e)
		bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The name of the goroutine now running on this thread, once. */
static __always_inline void name_current(__s64 goid)
{
	if (bpf_map_lookup_elem(&named, &goid))
		return;
	__u64 g = rt_m_curg(rt_current_m());
	if (!g)
		return;
	__u8 one = 1;
	bpf_map_update_elem(&named, &goid, &one, BPF_ANY);
	__u64 fn = 0;
	bpf_probe_read_user(&fn, sizeof(fn), (void *)(g + off_g_fn));
	struct rt_event *e = ev(RT_EV_NAME, goid, (__s64)fn, 0);
	if (!e)
		return;
	bpf_probe_read_user_str(e->name, sizeof(e->name), (void *)(g + off_g_name));
	bpf_ringbuf_submit(e, 0);
}

SEC("usdt")
int BPF_USDT(go_create, long goid, long fn, const char *name)
{
	__u8 one = 1;
	bpf_map_update_elem(&named, &goid, &one, BPF_ANY);
	struct rt_event *e = ev(RT_EV_CREATE, goid, fn, rt_current_goid());
	if (!e)
		return 0;
	bpf_probe_read_user_str(e->name, sizeof(e->name), name);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("usdt")
int BPF_USDT(go_start, long goid, int p)
{
	name_current(goid);
	emit(RT_EV_START, goid, p, 0);
	return 0;
}

SEC("usdt")
int BPF_USDT(go_resume, long goid, int p)
{
	name_current(goid);
	return emit(RT_EV_RESUME, goid, p, 0);
}

SEC("usdt")
int BPF_USDT(go_end, long goid, int p) { return emit(RT_EV_END, goid, p, 0); }
SEC("usdt")
int BPF_USDT(go_park, long goid, int reason) { return emit(RT_EV_PARK, goid, reason, 0); }
SEC("usdt")
int BPF_USDT(go_ready, long goid, long waker) { return emit(RT_EV_READY, goid, waker, 0); }
SEC("usdt")
int BPF_USDT(go_yield, long goid) { return emit(RT_EV_YIELD, goid, 0, 0); }
SEC("usdt")
int BPF_USDT(steal, int from, int to) { return emit(RT_EV_STEAL, 0, from, to); }

SEC("usdt")
int BPF_USDT(io_submit, long opcode, int fd)
{
	return emit(RT_EV_IO_SUBMIT, rt_current_goid(), opcode, fd);
}

SEC("usdt")
int BPF_USDT(io_wait_fd, int fd)
{
	return emit(RT_EV_IO_SUBMIT, rt_current_goid(), 255, fd);
}

SEC("usdt")
int BPF_USDT(io_complete, long opcode, long res)
{
	return emit(RT_EV_IO_DONE, rt_current_goid(), opcode, res);
}
