// SPDX-License-Identifier: MIT
/*
 * rt_fail.h — failure reports and the runtime's signal handlers (panic.c), the
 * growable public structs' helpers (version.c), tracing (trace.c).
 * Part of rt.h (included at its end); include rt.h, not this file.
 */
#ifndef RG_RT_FAIL_H
#define RG_RT_FAIL_H

#include "rt.h"

/* ---- failure reports (panic.c) ------------------------------------- */

void rg__signals_install(void) RG_HIDDEN;
void rg__signals_restore(void) RG_HIDDEN;
int rg__sigstack_alloc(rg_m *m) RG_HIDDEN;
void rg__sigstack_free(rg_m *m) RG_HIDDEN;
_Noreturn void rg__fatal_deadlock(void) RG_HIDDEN;
_Noreturn void rg__throw(const char *msg) RG_HIDDEN;

/* Growable public structs (the rule is in version.c); `size` is the
 * caller's sizeof, min_size the smallest layout accepted (one holding
 * the first field).  check_in: 0, or -EINVAL / -E2BIG for a caller's
 * input struct.  copy_out: writes own (own_size bytes) into the caller's
 * output struct as far as size reaches, zeroes what lies beyond ours; 0
 * or -EINVAL.  RG_ABI_HAS: a caller's struct *s of `size` bytes holds
 * field wholly. */
int rg__abi_check_in(const void *user, size_t size, size_t min_size,
		     size_t own_size) RG_HIDDEN;
int rg__abi_copy_out(void *user, size_t size, size_t min_size, const void *own,
		     size_t own_size) RG_HIDDEN;
#define RG_ABI_HAS(s, size, field) \
	(offsetof(__typeof__(*(s)), field) + sizeof((s)->field) <= (size))
#define RG_ABI_MIN(type, first) (offsetof(type, first) + sizeof(((type *)0)->first))

/* ---- tracing (trace.c) --------------------------------------------- */

/* Keeps trace.c's descriptor in statically linked programs (the linker
 * would drop an object nothing calls). */
void rg__trace_keep(void) RG_HIDDEN;

#endif
