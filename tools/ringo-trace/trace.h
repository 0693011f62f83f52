// SPDX-License-Identifier: MIT
/*
 * trace.h — ringo-trace's internal interfaces.
 *
 * The tool is a set of views (top.c, runqlat.c, block.c, mutex.c,
 * chan.c, io.c, profile.c, record.c, list.c) over four services:
 *   target.c  the traced process: -p PID or -c 'COMMAND' (started under
 *             ptrace and held until the probes are attached), the object
 *             that carries ringo's probes (the executable, or the
 *             libringo.so it loaded), the runtime's descriptor
 *             (runtime/trace_abi.h) and reads of its memory;
 *   attach.c  loading a BPF skeleton with the target's layout and
 *             attaching its programs to the USDT probes of the same name
 *             (libbpf's bpf_program__attach_usdt), or to perf events;
 *   sym.c     symbolization with elfutils' libdwfl: function, and
 *             file:line where debug info exists;
 *   stacks.c  stack collections and their writers: text, Brendan Gregg's
 *             folded format, gzipped profile.proto (pprof), SVG flame
 *             graphs.
 *
 * Rejected: bcc (Python and a compiler at run time, not packaged for
 * this use on Debian 12's libbpf); bpftrace scripts (no way to read the
 * runtime's counters or to write pprof and flame graphs; one more
 * run-time dependency); a hand-written ELF/DWARF reader (libdwfl is
 * maintained and handles separate debug files, PIE and shared objects).
 */
#ifndef RINGO_TRACE_TOOL_H
#define RINGO_TRACE_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ringo_trace.h"
#include "trace_abi.h"

struct bpf_object;
struct bpf_link;

/* ---- options (main.c) ---------------------------------------------- */

struct opts {
	const char *cmd;        /* view name */
	pid_t pid;              /* -p */
	const char *command;    /* -c */
	double duration;        /* -d seconds (0: until the target exits) */
	double interval;        /* -i seconds (top) */
	long count;             /* -n intervals (top; 0: forever) */
	bool json;              /* --json */
	int freq;               /* -F Hz (profile) */
	const char *folded;     /* --folded FILE */
	const char *pprof;      /* --pprof FILE */
	const char *svg;        /* --svg FILE */
	const char *out;        /* -o FILE (record) */
	const char *list_arg;   /* list PID|BINARY */
};

extern int rt_verbose;
void rt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void rt_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the target (target.c) ----------------------------------------- */

struct target {
	pid_t pid;
	bool spawned;           /* started by -c: we reap it */
	bool held;              /* -c: stopped under ptrace until released */
	char obj[4096];         /* the file with ringo's probes */
	uint64_t bias;          /* obj's load bias in the process (0: unknown) */
	uint64_t desc_off;      /* rg__trace_desc's address in obj (0: none) */
	bool have_desc;
	struct rg__trace_desc desc;
	char *reasons[RT_MAX_REASONS];
	int nreasons;
	int exit_status;        /* spawned: wait status once reaped, else -1 */
};

/* Sets t up from the options (-p or -c); dies with a message on error. */
void target_open(struct target *t, const struct opts *o);
/* -c: lets the held program run (after the probes are attached). */
void target_release(struct target *t);
/* True while the process exists (reaps a spawned one that exited). */
bool target_alive(struct target *t);
/* Waits up to `secs` (0: until the target exits), returning early when
 * the target exits or on SIGINT/SIGTERM.  Returns false if interrupted. */
bool target_wait(struct target *t, double secs);
/* At the end: a -c program still running gets SIGTERM (SIGKILL after
 * 2 s) and is reaped; a -p program is left alone. */
void target_close(struct target *t);
/* SIGINT or SIGTERM arrived. */
bool rt_interrupted(void);

/* Reads len bytes at addr of the target (process_vm_readv). 0 or -errno. */
int target_read(struct target *t, uint64_t addr, void *buf, size_t len);
/* Reads the runtime descriptor once the runtime has published it (its
 * constructor ran).  Returns true when t->desc is valid. */
bool target_load_desc(struct target *t);
/* A NUL-terminated string at addr, at most len-1 bytes. */
int target_read_str(struct target *t, uint64_t addr, char *buf, size_t len);

/* Finds the ELF file among /proc/PID/maps that carries ringo probes.
 * Returns true and fills path. */
bool find_ringo_object(pid_t pid, char *path, size_t len);
/* True if the ELF file at path has USDT notes of provider "ringo". */
bool elf_has_ringo_notes(const char *path);
/* Load bias of `path` in pid (from /proc/PID/maps), 0 if not mapped. */
uint64_t elf_load_bias(pid_t pid, const char *path);

/* ---- USDT notes (list.c) --------------------------------------------- */

struct usdt_note {
	uint64_t pc, base, sema;
	char name[64];
	char args[256];
};
/* Reads the ringo notes of path; returns how many (malloc'd array). */
int usdt_notes(const char *path, struct usdt_note **out);

/* ---- attaching (attach.c) -------------------------------------------- */

struct attach {
	struct bpf_link **links;
	int nlinks, caplinks;
	int *perf_fds;
	int nperf;
};

/* Attaches every "usdt" program of obj to the probe named like it (a
 * program "x__2" also attaches to probe x) in t's probe object.  Dies if
 * a probe the program needs is missing. */
void attach_usdt_all(struct attach *a, struct bpf_object *obj, struct target *t);
/* Attaches prog to a CPU-clock perf event on every CPU at freq Hz. */
void attach_perf_all(struct attach *a, struct bpf_object *obj, const char *prog, int freq);
void attach_destroy(struct attach *a);
/* Copies t's layout into a skeleton's data section (common.bpf.h). */
struct rt_layout {
	int64_t tls_m_offset;
	uint32_t off_m_curg, off_g_id, off_g_name, off_g_fn, target_tgid;
};
void layout_from_target(struct rt_layout *l, struct target *t);
/* Checks that the kernel can run us (BPF, uprobes); dies with why not. */
void bpf_preflight(void);

/* ---- symbols (sym.c) ------------------------------------------------- */

struct symbolizer;
/* Snapshot of pid's mappings now (call while it lives; again later to
 * pick up new libraries). */
struct symbolizer *sym_open(pid_t pid);
void sym_refresh(struct symbolizer *s);
/* "function" (or "0xADDR" if unknown); file:line in *src when known.
 * ret_addr: the address is a return address (look up addr - 1).  The
 * strings live as long as s. */
const char *sym_name(struct symbolizer *s, uint64_t addr, bool ret_addr, const char **src);
/* True for the runtime's own frames (rg_* names, libringo.so, and code
 * from runtime/ and uring/ where debug info says so). */
bool sym_is_runtime(struct symbolizer *s, uint64_t addr, bool ret_addr);
void sym_close(struct symbolizer *s);

/* ---- stacks and their writers (stacks.c) ------------------------------- */

#define RT_MAX_DEPTH 127

/* One aggregated sample: a stack (leaf first, as the kernel gives it),
 * its values and labels. */
struct rt_sample {
	uint64_t ips[RT_MAX_DEPTH];
	int depth;
	int64_t v[2];           /* e.g. count, nanoseconds */
	char label_key[2][16];  /* up to two string labels */
	char label_val[2][64];
	int nlabels;
	char prefix[64];        /* a frame put at the root (e.g. a reason) */
	uint64_t hips[RT_MAX_DEPTH];  /* mutex: the waking holder's stack */
	int hdepth;
};

struct rt_profile {
	const char *vtype[2], *vunit[2];   /* sample types, e.g. contentions/count */
	int nvalues;
	int folded_value;                  /* which value folded/svg use */
	const char *title;
	int64_t period;                    /* profile: ns per sample */
	int64_t duration_ns;
	struct rt_sample *s;
	int n, cap;
};

struct rt_sample *prof_add(struct rt_profile *p);
/* Reads stack id from the stack map fd into s (0 frames if id < 0). */
void prof_stack(struct rt_sample *s, int stack_map_fd, int stackid);
/* Writes the requested files (any of folded, pprof, svg may be NULL). */
void prof_write(struct rt_profile *p, struct symbolizer *sym, const struct opts *o);
/* Prints the top n stacks by value v with their frames. */
void prof_print_top(struct rt_profile *p, struct symbolizer *sym, int v, int n, FILE *f);
/* The first frame that is not the runtime's own (rg_*, the goroutine
 * trampolines): where user code waited.  NULL if none. */
const char *prof_user_site(struct rt_sample *s, struct symbolizer *sym, const char **src);
void prof_free(struct rt_profile *p);

/* Duration formatting: "1.23ms". */
const char *fmt_ns(double ns, char *buf, size_t len);
/* Prints a log2 histogram of microsecond slots. */
void print_hist(FILE *f, const unsigned long long *slots, int n, const char *unit);

/* ---- the common shape of a BPF view (view.c) ------------------------- */

/* Copies the target's layout into a skeleton's .bss (common.bpf.h) once
 * its descriptor is known.  Returns true when it is. */
#define RT_SET_LAYOUT(skel, t)                                             \
	({                                                                 \
		struct rt_layout l_;                                       \
		layout_from_target(&l_, (t));                              \
		(skel)->bss->tls_m_offset = l_.tls_m_offset;               \
		(skel)->bss->off_m_curg = l_.off_m_curg;                   \
		(skel)->bss->off_g_id = l_.off_g_id;                       \
		(skel)->bss->off_g_name = l_.off_g_name;                   \
		(skel)->bss->off_g_fn = l_.off_g_fn;                       \
		(skel)->bss->target_tgid = l_.target_tgid;                 \
		__sync_synchronize();                                      \
		(skel)->bss->layout_ready = (t)->have_desc;                \
		(t)->have_desc;                                            \
	})

/* Runs the trace window: lets a -c target go, then waits -d seconds
 * (or until the target exits, or ^C), calling tick(arg) every 100 ms
 * (NULL: none).  Returns the seconds traced. */
double view_run(struct target *t, const struct opts *o, void (*tick)(void *), void *arg);
/* Ends: detaches, stops a -c target; returns the exit code for main. */
int view_end(struct target *t, struct attach *a);

/* ---- views ----------------------------------------------------------- */

int cmd_top(const struct opts *o);
int cmd_runqlat(const struct opts *o);
int cmd_block(const struct opts *o);
int cmd_mutex(const struct opts *o);
int cmd_chan(const struct opts *o);
int cmd_io(const struct opts *o);
int cmd_profile(const struct opts *o);
int cmd_record(const struct opts *o);
int cmd_list(const struct opts *o);

/* The name of a wait reason, from the target (or "reason N"). */
const char *reason_name(struct target *t, unsigned r);

#endif
