// SPDX-License-Identifier: MIT
/*
 * sym.c — addresses to names with elfutils' libdwfl.
 *
 * The process's modules are reported from /proc/PID/maps
 * (dwfl_linux_proc_report) while it lives, and their ELF files are
 * opened at once, so that names can still be looked up after a -c
 * program has exited.  Names come from the symbol tables; file:line from
 * DWARF when the object has it (or a separate debug file that
 * dwfl_standard_find_debuginfo finds).  Results are cached per address.
 */
#include "trace.h"

#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

struct sym_ent {
	uint64_t addr;
	char *name;
	char *src;
	bool rt;        /* the runtime's own code */
};

struct symbolizer {
	pid_t pid;
	Dwfl *dwfl;
	struct sym_ent *tab;
	size_t cap, n;
};

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static int load_module(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start,
		       void *arg)
{
	(void)ud, (void)name, (void)start, (void)arg;
	Dwarf_Addr bias;
	dwfl_module_getelf(mod, &bias);
	return DWARF_CB_OK;
}

void sym_refresh(struct symbolizer *s)
{
	if (!s->dwfl)
		return;
	dwfl_report_begin_add(s->dwfl);
	if (dwfl_linux_proc_report(s->dwfl, s->pid) != 0) {
		dwfl_report_end(s->dwfl, NULL, NULL);
		return;  /* gone: keep what we have */
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	dwfl_getmodules(s->dwfl, load_module, NULL, 0);
}

struct symbolizer *sym_open(pid_t pid)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	if (!s)
		rt_die("out of memory");
	s->pid = pid;
	s->dwfl = dwfl_begin(&callbacks);
	s->cap = 4096;
	s->tab = calloc(s->cap, sizeof(*s->tab));
	if (!s->tab)
		rt_die("out of memory");
	sym_refresh(s);
	return s;
}

static struct sym_ent *slot(struct symbolizer *s, uint64_t addr)
{
	size_t i = (size_t)(addr * 0x9e3779b97f4a7c15ull >> 20) & (s->cap - 1);
	while (s->tab[i].name && s->tab[i].addr != addr)
		i = (i + 1) & (s->cap - 1);
	return &s->tab[i];
}

static void grow(struct symbolizer *s)
{
	struct sym_ent *old = s->tab;
	size_t oldcap = s->cap;
	s->cap *= 2;
	s->tab = calloc(s->cap, sizeof(*s->tab));
	if (!s->tab)
		rt_die("out of memory");
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].name)
			*slot(s, old[i].addr) = old[i];
	free(old);
}

const char *sym_name(struct symbolizer *s, uint64_t addr, bool ret_addr, const char **src)
{
	if (addr >= 0xffff800000000000ull) {  /* kernel (profile's leaf mark) */
		if (src)
			*src = NULL;
		return "[kernel]";
	}
	uint64_t a = ret_addr && addr ? addr - 1 : addr;
	struct sym_ent *e = slot(s, a);
	if (!e->name) {
		if (2 * (s->n + 1) > s->cap) {
			grow(s);
			e = slot(s, a);
		}
		const char *name = NULL;
		char buf[4200];
		e->src = NULL;
		Dwfl_Module *mod = s->dwfl ? dwfl_addrmodule(s->dwfl, a) : NULL;
		if (mod) {
			name = dwfl_module_addrname(mod, a);
			Dwfl_Line *line = dwfl_module_getsrc(mod, a);
			int lineno = 0;
			const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL)
						: NULL;
			if (file) {
				snprintf(buf, sizeof(buf), "%s:%d", file, lineno);
				e->src = strdup(buf);
			}
			if (!name) {
				const char *mname = dwfl_module_info(mod, NULL, NULL, NULL, NULL,
								     NULL, NULL, NULL);
				const char *base = mname ? strrchr(mname, '/') : NULL;
				snprintf(buf, sizeof(buf), "[%s+0x%llx]",
					 base ? base + 1 : (mname ? mname : "?"),
					 (unsigned long long)a);
				name = buf;
			}
		} else {
			snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)a);
			name = buf;
		}
		e->addr = a;
		e->name = strdup(name);
		/* Runtime code: the API and internal names, anything in
		 * libringo.so, and (with debug info) the runtime's sources,
		 * which catch its static functions in a static link. */
		const char *mname = mod ? dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
							   NULL, NULL) : NULL;
		const char *sp = e->src;
		e->rt = !strncmp(e->name, "rg_", 3) || (mname && strstr(mname, "libringo")) ||
			(sp && (!strncmp(sp, "runtime/", 8) || !strncmp(sp, "uring/", 6) ||
				strstr(sp, "/runtime/") || strstr(sp, "/uring/")));
		s->n++;
	}
	if (src)
		*src = e->src;
	return e->name;
}

bool sym_is_runtime(struct symbolizer *s, uint64_t addr, bool ret_addr)
{
	if (addr >= 0xffff800000000000ull)
		return true;
	sym_name(s, addr, ret_addr, NULL);
	return slot(s, ret_addr && addr ? addr - 1 : addr)->rt;
}

void sym_close(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++) {
		free(s->tab[i].name);
		free(s->tab[i].src);
	}
	free(s->tab);
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s);
}
