/* SPDX-License-Identifier: MIT */
/*
 * Context switch for x86-64 System V.
 *
 * void rg__ctx_switch(void **save, void *load)
 *
 * Pushes the callee-saved registers and the floating-point control words
 * (MXCSR and the x87 control word: both are callee-saved under the SysV
 * ABI) on the current stack, stores the stack pointer in *save, switches
 * to `load` and pops the same frame from there.  The caller-saved
 * registers are dead across the call by the ABI, so nothing else needs
 * saving.  Frame, from the saved stack pointer up (switch.c's struct rg_switch_frame mirrors it):
 *
 *   +0  x87 control word (16 bits)     +4  MXCSR (32 bits)
 *   +8  r15   +16 r14   +24 r13   +32 r12   +40 rbx   +48 rbp
 *   +56 return address
 *
 * No signal mask is touched (ucontext's swapcontext makes a syscall for
 * that on every switch; goroutines share their thread's mask).
 */
#if defined(__x86_64__)

	.text
	.globl	rg__ctx_switch
	.hidden	rg__ctx_switch
	.type	rg__ctx_switch, @function
	.p2align 4
rg__ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	$0			/* control-word slot, padding zeroed */
	fnstcw	(%rsp)
	stmxcsr	4(%rsp)
	movq	(%rsp), %rax		/* outgoing control words, both */
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	/* Loading MXCSR and the x87 control word stalls the pipeline, and
	 * the values almost never differ between goroutines: load them
	 * only when the incoming context saved other values than the
	 * outgoing one runs with.  (The padding beside the x87 word is
	 * zero in every frame, so comparing all 64 bits is exact.) */
	cmpq	(%rsp), %rax
	jne	1f
2:	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
1:	fldcw	(%rsp)
	ldmxcsr	4(%rsp)
	jmp	2b
	.cfi_endproc
	.size	rg__ctx_switch, .-rg__ctx_switch

/*
 * First instructions of every goroutine: rg__ctx_init leaves the G in r12
 * and this address as the frame's return address.  The stack pointer is
 * 16-byte aligned here, so the call gives rg__goentry the ABI's alignment.
 * The return address register is marked undefined so that unwinders and
 * debuggers stop here instead of walking off the top of the stack.
 */
	.globl	rg__ctx_entry
	.hidden	rg__ctx_entry
	.type	rg__ctx_entry, @function
	.p2align 4
rg__ctx_entry:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r12, %rdi
	xorl	%ebp, %ebp
	call	rg__goentry
	ud2
	.cfi_endproc
	.size	rg__ctx_entry, .-rg__ctx_entry

#endif
	.section .note.GNU-stack,"",@progbits
