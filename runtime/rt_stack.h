// SPDX-License-Identifier: MIT
/*
 * rt_stack.h — goroutine stacks and G records (stack.c), and the context switch
 * (switch_x86_64.S, switch_aarch64.S, switch.c).
 * Part of rt.h (included at its end); include rt.h, not this file.
 */
#ifndef RG_RT_STACK_H
#define RG_RT_STACK_H

#include "rt.h"

/* ---- stacks (stack.c) ---------------------------------------------- */

/* Sets up stack allocation (page size, guard mode from RINGO_GUARD).
 * Returns 0 or -errno. */
int rg__stack_setup(size_t stack_size) RG_HIDDEN;

/* A zeroed G (its TSan fiber kept) from p's cache or the slabs; NULL:
 * out of memory.  p may be NULL (foreign thread). */
rg_g *rg__galloc(rg_p *p) RG_HIDDEN;

/* Returns a G whose stack was released to p's cache (p may be NULL). */
void rg__gfree(rg_p *p, rg_g *g) RG_HIDDEN;

/* A stack slot for a goroutine about to be spawned on p (NULL: foreign
 * thread), mapping address space if needed: 0 or -ENOMEM.  Every
 * reservation is given back with rg__stack_unreserve when its goroutine
 * is gone (any P).  See stack.c. */
int rg__stack_reserve(rg_p *p) RG_HIDDEN;
void rg__stack_unreserve(rg_p *p) RG_HIDDEN;

/* Gives g a stack (warmest first) and sets stack_lo/stack_hi; -ENOMEM
 * only if the reservations were broken (see stack.c). */
int rg__stack_bind(rg_p *p, rg_g *g) RG_HIDDEN;

/* Takes g's stack back (into p's cache, or further). */
void rg__stack_release(rg_p *p, rg_g *g) RG_HIDDEN;

/* Gives the memory of surplus cached stacks back to the kernel (all:
 * every cached one).  Any thread but the hot paths: sysmon calls it. */
void rg__stack_scavenge(bool all) RG_HIDDEN;

/* Unmaps every stack and frees every G.  No goroutine may run. */
void rg__stack_teardown(void) RG_HIDDEN;

/* Calls fn for every G that is not FREE (dumps, deadlock reports).
 * Lock-free and async-signal-safe: slabs are only ever added. */
void rg__for_each_g(void (*fn)(rg_g *g, void *arg), void *arg) RG_HIDDEN;

/* Which guard mechanism is in use: "madvise" or "mprotect". */
const char *rg__stack_guard_mode(void) RG_HIDDEN;

/* If addr lies in a stack guard, the G running on that stack, else NULL. */
rg_g *rg__stack_guard_owner(const void *addr) RG_HIDDEN;

/* ---- context switch (switch_*.S) ----------------------------------- */

/* Saves the callee-saved state on the current stack, stores the stack
 * pointer in *save, loads `load` and returns into that context. */
void rg__ctx_switch(void **save, void *load) RG_HIDDEN;

/* Prepares g's stack so that switching to g->sp calls rg__goentry(g). */
void rg__ctx_init(rg_g *g, void *stack_top) RG_HIDDEN;

/* First frame of every goroutine (never returns). */
_Noreturn void rg__goentry(rg_g *g) RG_HIDDEN;

/* Return address and frame pointer saved by rg__ctx_switch, to walk a
 * parked goroutine's frames. */
void rg__ctx_frame(const void *sp, uintptr_t *pc, uintptr_t *fp) RG_HIDDEN;

#endif
