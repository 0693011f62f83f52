// SPDX-License-Identifier: MIT
/*
 * target.c — the traced process.
 *
 * -p PID: the object with ringo's probes is the executable when it was
 * linked with libringo.a, else the libringo.so among its mappings.
 *
 * -c 'COMMAND ARGS': the words are split as the shell would (wordexp,
 * no command substitution) and executed directly under PTRACE_TRACEME,
 * so the child stops right after execve, before its first instruction.
 * If the executable carries the probes we attach there and then.  If
 * not, the child is stepped from system call to system call (ld.so's
 * openat/mmap, a few dozen) until a libringo.so is mapped, then held
 * there while the probes are attached: uprobes placed on the file are
 * installed into the process as it maps it, and the kernel maintains the
 * semaphores from then on.  target_release() detaches ptrace and lets it
 * run.  At the end a still-running -c program gets SIGTERM (then SIGKILL
 * after 2 s) and is reaped; ringo-trace exits with its status.
 *
 * Reads of the target's memory use process_vm_readv (the same permission
 * ptrace needs).  The runtime descriptor (runtime/trace_abi.h) is found
 * through the symbol rg__trace_desc or, in a stripped object, the
 * section .ringo_trace; its tls_m_offset is written by a constructor, so
 * a -c target's descriptor becomes valid only once the program runs.
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wordexp.h>

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- ELF helpers ------------------------------------------------------- */

static Elf *elf_open_path(const char *path, int *fd)
{
	elf_version(EV_CURRENT);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return NULL;
	Elf *e = elf_begin(*fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(*fd);
		return NULL;
	}
	return e;
}

int usdt_notes(const char *path, struct usdt_note **out)
{
	int fd, n = 0, cap = 0;
	struct usdt_note *v = NULL;
	Elf *e = elf_open_path(path, &fd);
	*out = NULL;
	if (!e)
		return 0;
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx) != 0)
		goto done;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		const char *sn = elf_strptr(e, shstrndx, sh.sh_name);
		if (!sn || strcmp(sn, ".note.stapsdt"))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		GElf_Nhdr nh;
		size_t off = 0, noff, doff;
		while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			if (nh.n_type != 3 || nh.n_descsz < 27)
				continue;
			const char *desc = (const char *)d->d_buf + doff;
			const char *end = desc + nh.n_descsz;
			const char *prov = desc + 24;
			const char *name = memchr(prov, 0, (size_t)(end - prov));
			if (!name || strcmp(prov, "ringo"))
				continue;
			name++;
			const char *args = memchr(name, 0, (size_t)(end - name));
			if (!args)
				continue;
			args++;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				v = realloc(v, (size_t)cap * sizeof(*v));
				if (!v)
					rt_die("out of memory");
			}
			memcpy(&v[n].pc, desc, 8);
			memcpy(&v[n].base, desc + 8, 8);
			memcpy(&v[n].sema, desc + 16, 8);
			snprintf(v[n].name, sizeof(v[n].name), "%s", name);
			snprintf(v[n].args, sizeof(v[n].args), "%.*s",
				 (int)strnlen(args, (size_t)(end - args)), args);
			n++;
		}
	}
done:
	elf_end(e);
	close(fd);
	*out = v;
	return n;
}

bool elf_has_ringo_notes(const char *path)
{
	struct usdt_note *v;
	int n = usdt_notes(path, &v);
	free(v);
	return n > 0;
}

/* The descriptor's address in the file: symbol first, then section. */
static uint64_t elf_desc_addr(const char *path)
{
	int fd;
	uint64_t addr = 0, sect = 0;
	Elf *e = elf_open_path(path, &fd);
	if (!e)
		return 0;
	size_t shstrndx;
	elf_getshdrstrndx(e, &shstrndx);
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *sn = elf_strptr(e, shstrndx, sh.sh_name);
		if (sn && !strcmp(sn, ".ringo_trace"))
			sect = sh.sh_addr;
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; d && i < n && !addr; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			const char *nm = elf_strptr(e, sh.sh_link, sym.st_name);
			if (nm && !strcmp(nm, "rg__trace_desc"))
				addr = sym.st_value;
		}
	}
	elf_end(e);
	close(fd);
	return addr ? addr : sect;
}

/* Lowest PT_LOAD vaddr, page-aligned. */
static uint64_t elf_first_vaddr(const char *path)
{
	int fd;
	uint64_t lo = UINT64_MAX;
	Elf *e = elf_open_path(path, &fd);
	if (!e)
		return 0;
	size_t np;
	if (elf_getphdrnum(e, &np) == 0) {
		for (size_t i = 0; i < np; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    ph.p_vaddr < lo)
				lo = ph.p_vaddr;
		}
	}
	elf_end(e);
	close(fd);
	return lo == UINT64_MAX ? 0 : lo & ~(uint64_t)4095;
}

/* Same file?  (maps shows the path the process opened; compare inodes.) */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

uint64_t elf_load_bias(pid_t pid, const char *path)
{
	char mp[64], line[4608];
	snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(mp, "r");
	if (!f)
		return 0;
	uint64_t bias = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off;
		char perm[8];
		int pos = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s%n", &lo, &hi, perm, &off, &pos) < 4)
			continue;
		char *file = line + pos;
		while (*file == ' ')
			file++;
		file[strcspn(file, "\n")] = 0;
		if (*file != '/' || off != 0)
			continue;
		if (!strcmp(file, path) || same_file(file, path)) {
			bias = lo - elf_first_vaddr(path);
			break;
		}
	}
	fclose(f);
	return bias;
}

bool find_ringo_object(pid_t pid, char *path, size_t len)
{
	char exe[64], real[4096];
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(exe, real, sizeof(real) - 1);
	if (n > 0) {
		real[n] = 0;
		if (elf_has_ringo_notes(real)) {
			snprintf(path, len, "%s", real);
			return true;
		}
	}
	char mp[64], line[4608];
	snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(mp, "r");
	if (!f)
		return false;
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/');
		if (!file)
			continue;
		file[strcspn(file, "\n")] = 0;
		if (strstr(file, "libringo") && elf_has_ringo_notes(file)) {
			snprintf(path, len, "%s", file);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* ---- memory ------------------------------------------------------------- */

int target_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = {buf, len}, r = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_readv(t->pid, &l, 1, &r, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int target_read_str(struct target *t, uint64_t addr, char *buf, size_t len)
{
	/* Byte by byte would be slow; strings here are short names. */
	memset(buf, 0, len);
	int r = target_read(t, addr, buf, len - 1);
	if (r < 0) {
		/* The string may end before an unmapped page: try smaller. */
		r = target_read(t, addr, buf, 16 < len - 1 ? 16 : len - 1);
	}
	buf[len - 1] = 0;
	return r;
}

bool target_load_desc(struct target *t)
{
	if (t->have_desc)
		return true;
	if (!t->desc_off)
		return false;
	if (!t->bias)
		t->bias = elf_load_bias(t->pid, t->obj);
	struct rg__trace_desc d;
	if (target_read(t, t->bias + t->desc_off, &d, sizeof(d)) < 0)
		return false;
	if (memcmp(d.magic, RG_TRACE_MAGIC, 8) != 0)
		return false;
	if (d.version > RG_TRACE_VERSION)
		rt_die("the target's runtime descriptor is version %u; this ringo-trace "
		       "knows version %u", d.version, RG_TRACE_VERSION);
	/* The constructor has run once the names are there. */
	uint64_t names[RT_MAX_REASONS];
	unsigned n = d.nreasons < RT_MAX_REASONS ? d.nreasons : RT_MAX_REASONS;
	if (!d.reason_names || target_read(t, d.reason_names, names, n * 8) < 0 ||
	    !names[0])
		return false;
	for (unsigned i = 0; i < n; i++) {
		char buf[64];
		if (target_read_str(t, names[i], buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "reason %u", i);
		t->reasons[i] = strdup(buf);
	}
	t->nreasons = (int)n;
	t->desc = d;
	t->have_desc = true;
	return true;
}

const char *reason_name(struct target *t, unsigned r)
{
	static char buf[32];
	if ((int)r < t->nreasons && t->reasons[r])
		return t->reasons[r];
	snprintf(buf, sizeof(buf), "reason %u", r);
	return buf;
}

/* ---- opening -------------------------------------------------------------- */

static bool ptrace_wait_stop(pid_t pid, int *status)
{
	for (;;) {
		if (waitpid(pid, status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		return WIFSTOPPED(*status);
	}
}

/* Steps a ptrace-stopped child through system calls until a ringo
 * object is mapped.  Returns false if it never appears. */
static bool step_until_ringo(struct target *t)
{
	int status;
	bool at_exit = false;
	for (int i = 0; i < 20000; i++) {
		if (ptrace(PTRACE_SYSCALL, t->pid, 0, 0) < 0)
			return false;
		if (!ptrace_wait_stop(t->pid, &status)) {
			t->exit_status = status;
			t->held = false;
			return false;
		}
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;  /* a signal stop: ignore */
		at_exit = !at_exit;
		if (!at_exit)
			continue;
		struct user_regs_struct regs;
		if (ptrace(PTRACE_GETREGS, t->pid, 0, &regs) < 0)
			return false;
		if (regs.orig_rax != SYS_mmap)
			continue;
		if (find_ringo_object(t->pid, t->obj, sizeof(t->obj)))
			return true;
	}
	return false;
}

static void spawn(struct target *t, const char *command)
{
	wordexp_t we;
	if (wordexp(command, &we, WRDE_NOCMD) != 0 || we.we_wordc == 0)
		rt_die("-c: cannot split '%s' into words", command);
	pid_t pid = fork();
	if (pid < 0)
		rt_die("fork: %s", strerror(errno));
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		execvp(we.we_wordv[0], we.we_wordv);
		fprintf(stderr, "ringo-trace: cannot run %s: %s\n", we.we_wordv[0],
			strerror(errno));
		_exit(127);
	}
	wordfree(&we);
	t->pid = pid;
	t->spawned = true;
	t->held = true;
	int status;
	if (!ptrace_wait_stop(pid, &status))
		rt_die("-c: '%s' did not start", command);
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	if (find_ringo_object(pid, t->obj, sizeof(t->obj)))
		return;
	if (!step_until_ringo(t)) {
		if (t->held)
			kill(pid, SIGKILL);
		rt_die("-c: '%s' maps no object with ringo probes (is it linked "
		       "with ringo?)", command);
	}
}

void target_open(struct target *t, const struct opts *o)
{
	memset(t, 0, sizeof(*t));
	t->exit_status = -1;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o->command) {
		spawn(t, o->command);
	} else {
		if (o->pid <= 0)
			rt_die("%s: give -p PID or -c 'COMMAND'", o->cmd);
		t->pid = o->pid;
		if (kill(t->pid, 0) < 0)
			rt_die("process %d: %s", (int)t->pid, strerror(errno));
		if (!find_ringo_object(t->pid, t->obj, sizeof(t->obj)))
			rt_die("process %d has no object with ringo probes (not a ringo "
			       "program, or built with -DRINGO_NO_PROBES)", (int)t->pid);
	}
	t->desc_off = elf_desc_addr(t->obj);
	t->bias = elf_load_bias(t->pid, t->obj);
	rt_log("target %d, probes in %s (bias 0x%llx)", (int)t->pid, t->obj,
	       (unsigned long long)t->bias);
	target_load_desc(t);
}

void target_release(struct target *t)
{
	if (!t->held)
		return;
	t->held = false;
	ptrace(PTRACE_DETACH, t->pid, 0, 0);
}

bool target_alive(struct target *t)
{
	if (t->spawned) {
		if (t->exit_status != -1)
			return false;
		int st;
		pid_t r = waitpid(t->pid, &st, WNOHANG);
		if (r == t->pid) {
			t->exit_status = st;
			return false;
		}
		return r == 0;
	}
	return kill(t->pid, 0) == 0 || errno == EPERM;
}

bool target_wait(struct target *t, double secs)
{
	double end = now_s() + secs;
	while (!interrupted && target_alive(t)) {
		double left = secs > 0 ? end - now_s() : 0.05;
		if (left <= 0)
			return true;
		struct timespec ts = {0, (long)((left < 0.05 ? left : 0.05) * 1e9)};
		nanosleep(&ts, NULL);
		target_load_desc(t);
	}
	return !interrupted;
}

bool rt_interrupted(void)
{
	return interrupted != 0;
}

void target_close(struct target *t)
{
	target_release(t);
	if (!t->spawned || !target_alive(t))
		return;
	kill(t->pid, SIGTERM);
	for (int i = 0; i < 200 && target_alive(t); i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (target_alive(t)) {
		kill(t->pid, SIGKILL);
		int st;
		if (waitpid(t->pid, &st, 0) == t->pid)
			t->exit_status = st;
	}
}
