// SPDX-License-Identifier: MIT
/*
 * Architecture glue for the assembly context switch: the initial frame of
 * a new goroutine and reading a parked goroutine's saved frame.  The
 * layouts mirror switch_<arch>.S; the static asserts pin them.
 */
#include "rt.h"

#include <string.h>

void rg__ctx_entry(void); /* switch_<arch>.S */

#if defined(__x86_64__)

/* The frame rg__ctx_switch pops, lowest address first. */
struct rg_switch_frame {
	uint16_t fpucw;
	uint16_t pad;
	uint32_t mxcsr;
	uint64_t r15, r14, r13, r12, rbx, rbp;
	uint64_t ret;
};
_Static_assert(sizeof(struct rg_switch_frame) == 64, "switch_x86_64.S frame");

void rg__ctx_init(rg_g *g, void *stack_top)
{
	/* After `ret` pops the frame the stack pointer must be 16-byte
	 * aligned (rg__ctx_entry then calls with the ABI's alignment). */
	uintptr_t top = (uintptr_t)stack_top & ~(uintptr_t)15;
	struct rg_switch_frame *f = (struct rg_switch_frame *)(top - 16 - sizeof(*f));
	_Static_assert(offsetof(struct rg_switch_frame, ret) == 56, "ret slot");

	memset(f, 0, sizeof(*f));
	f->fpucw = 0x037f;  /* the ABI's initial x87 control word */
	f->mxcsr = 0x1f80;  /* the ABI's initial MXCSR: all exceptions masked */
	f->r12 = (uint64_t)(uintptr_t)g;
	f->ret = (uint64_t)(uintptr_t)rg__ctx_entry;
	g->sp = f;
}

void rg__ctx_frame(const void *sp, uintptr_t *pc, uintptr_t *fp)
{
	const struct rg_switch_frame *f = sp;
	*pc = f->ret;
	*fp = f->rbp;
}

#elif defined(__aarch64__)

struct rg_switch_frame {
	uint64_t x19_28[10];
	uint64_t fp, lr;
	uint64_t d8_15[8];
	uint64_t fpcr, pad;
};
_Static_assert(sizeof(struct rg_switch_frame) == 176, "switch_aarch64.S frame");

void rg__ctx_init(rg_g *g, void *stack_top)
{
	uintptr_t top = (uintptr_t)stack_top & ~(uintptr_t)15;
	struct rg_switch_frame *f = (struct rg_switch_frame *)(top - 16 - sizeof(*f));

	memset(f, 0, sizeof(*f));
	f->x19_28[0] = (uint64_t)(uintptr_t)g;
	f->lr = (uint64_t)(uintptr_t)rg__ctx_entry;
	g->sp = f;
}

void rg__ctx_frame(const void *sp, uintptr_t *pc, uintptr_t *fp)
{
	const struct rg_switch_frame *f = sp;
	*pc = f->lr;
	*fp = f->fp;
}

#else
#error "ringo: no context switch for this architecture (x86-64 and aarch64 only)"
#endif
