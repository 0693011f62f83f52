// SPDX-License-Identifier: MIT
/*
 * attach.c — loading and attaching BPF programs.
 *
 * Every program of a skeleton in section "usdt" is attached to the ringo
 * probe of the same name (a name "x__2" also means probe x: two programs
 * on one probe) through libbpf's bpf_program__attach_usdt, which reads
 * the probe's notes in the target's object, places a uprobe on every
 * site with the argument specs, and passes the semaphore's file offset
 * so that the kernel raises it while attached (ref_ctr_offset).  Uprobes
 * are filtered to the target's pid.  perf-event programs (profile) are
 * attached to a CPU-clock event on each CPU and filter by tgid
 * themselves.
 */
#include "trace.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static void push_link(struct attach *a, struct bpf_link *l)
{
	if (a->nlinks == a->caplinks) {
		a->caplinks = a->caplinks ? 2 * a->caplinks : 32;
		a->links = realloc(a->links, (size_t)a->caplinks * sizeof(*a->links));
		if (!a->links)
			rt_die("out of memory");
	}
	a->links[a->nlinks++] = l;
}

void attach_usdt_all(struct attach *a, struct bpf_object *obj, struct target *t)
{
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog);
		if (!sec || strcmp(sec, "usdt") != 0)
			continue;
		char probe[64];
		snprintf(probe, sizeof(probe), "%s", bpf_program__name(prog));
		char *dup = strstr(probe, "__");
		if (dup)
			*dup = 0;
		struct bpf_link *l = bpf_program__attach_usdt(prog, t->pid, t->obj, "ringo",
							      probe, NULL);
		if (!l)
			rt_die("cannot attach to probe ringo:%s in %s: %s (built with "
			       "-DRINGO_NO_PROBES, or an older ringo without it?)",
			       probe, t->obj, strerror(errno));
		push_link(a, l);
	}
	rt_log("attached %d probes", a->nlinks);
}

void attach_perf_all(struct attach *a, struct bpf_object *obj, const char *name, int freq)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	if (!prog)
		rt_die("no BPF program %s", name);
	int ncpu = libbpf_num_possible_cpus();
	a->perf_fds = calloc((size_t)ncpu, sizeof(int));
	for (int cpu = 0; cpu < ncpu; cpu++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.size = sizeof(attr),
			.sample_freq = (unsigned long long)freq,
			.freq = 1,
		};
		int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* CPU offline */
			rt_die("perf_event_open on CPU %d: %s", cpu, strerror(errno));
		}
		a->perf_fds[a->nperf++] = fd;
		struct bpf_link *l = bpf_program__attach_perf_event(prog, fd);
		if (!l)
			rt_die("cannot attach the sampler on CPU %d: %s", cpu, strerror(errno));
		push_link(a, l);
	}
}

void attach_destroy(struct attach *a)
{
	for (int i = 0; i < a->nlinks; i++)
		bpf_link__destroy(a->links[i]);
	for (int i = 0; i < a->nperf; i++)
		close(a->perf_fds[i]);
	free(a->links);
	free(a->perf_fds);
	memset(a, 0, sizeof(*a));
}

void layout_from_target(struct rt_layout *l, struct target *t)
{
	memset(l, 0, sizeof(*l));
	l->target_tgid = (uint32_t)t->pid;
	if (!t->have_desc)
		return;
	l->tls_m_offset = t->desc.tls_m_offset;
	l->off_m_curg = t->desc.m_curg;
	l->off_g_id = t->desc.g_id;
	l->off_g_name = t->desc.g_name;
	l->off_g_fn = t->desc.g_fn;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && rt_verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && !rt_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void bpf_preflight(void)
{
	libbpf_set_print(print_libbpf);
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		rt_die("BPF unavailable: no /sys/kernel/btf/vmlinux (kernel built "
		       "without CONFIG_DEBUG_INFO_BTF)");
	if (access("/sys/bus/event_source/devices/uprobe", F_OK) != 0)
		rt_die("BPF unavailable: no uprobe event source (kernel built "
		       "without CONFIG_UPROBE_EVENTS)");
	int r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL);
	if (r <= 0)
		rt_die("BPF unavailable: cannot load a BPF program (%s; needs root or "
		       "CAP_BPF+CAP_PERFMON)", r < 0 ? strerror(-r) : "not supported");
}
