/* SPDX-License-Identifier: MIT */
/*
 * Context switch for AArch64 (AAPCS64).  Compiled only on aarch64; not
 * yet exercised by CI (x86-64 only there).
 *
 * void rg__ctx_switch(void **save, void *load)
 *
 * Saves x19-x28, fp (x29), lr (x30), d8-d15 and FPCR on the current
 * stack, stores sp in *save, loads `load` and restores the same frame.
 * Frame, from the saved stack pointer up (switch.c's struct rg_switch_frame mirrors it):
 *
 *   +0 x19 x20  +16 x21 x22  +32 x23 x24  +48 x25 x26  +64 x27 x28
 *   +80 x29 (fp)  +88 x30 (lr)  +96 d8 d9  +112 d10 d11  +128 d12 d13
 *   +144 d14 d15  +160 fpcr  +168 (pad)     size 176
 */
#if defined(__aarch64__)

	.text
	.globl	rg__ctx_switch
	.hidden	rg__ctx_switch
	.type	rg__ctx_switch, %function
	.p2align 4
rg__ctx_switch:
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr
	str	x9, [sp, #160]
	mov	x9, sp
	str	x9, [x0]
	mov	sp, x1
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	ldr	x9, [sp, #160]
	msr	fpcr, x9
	add	sp, sp, #176
	ret
	.size	rg__ctx_switch, .-rg__ctx_switch

/* First instructions of every goroutine: the G is in x19. */
	.globl	rg__ctx_entry
	.hidden	rg__ctx_entry
	.type	rg__ctx_entry, %function
	.p2align 4
rg__ctx_entry:
	.cfi_startproc
	.cfi_undefined x30
	mov	x0, x19
	mov	x29, #0
	bl	rg__goentry
	brk	#0
	.cfi_endproc
	.size	rg__ctx_entry, .-rg__ctx_entry

#endif
	.section .note.GNU-stack,"",@progbits
