/* SPDX-License-Identifier: MIT */
/*
 * status.S — links status.html into ringo-pool as read-only bytes
 * (status_html .. status_html_end, then a NUL), so the binary serves
 * its status page with no file beside it.  .incbin reads the file at
 * build time, relative to the repository root, where make runs.
 */
	.section .rodata
	.globl status_html
	.globl status_html_end
	.balign 16
status_html:
	.incbin "tools/ringo-pool/status.html"
status_html_end:
	.byte 0
	.section .note.GNU-stack,"",@progbits
